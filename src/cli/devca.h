/*
 * devca.h - the per-user development CA and localhost certificate that
 * `tlskit echo` serves when given no --cert.
 */
#ifndef TLSKIT_CLI_DEVCA_H
#define TLSKIT_CLI_DEVCA_H

#include <limits.h>

#include "tlskit.h"

struct devca {
	char dir[PATH_MAX];     /* the state directory (mode 0700) */
	char ca_cert[PATH_MAX]; /* DIR/dev-ca.pem: what clients trust */
	char cert[PATH_MAX];    /* DIR/localhost.pem (SANs localhost, 127.0.0.1, ::1) */
	char key[PATH_MAX];     /* DIR/localhost.key */
	int created_ca;         /* made (or remade) by this call */
	int created_leaf;
};

/*
 * Finds, or makes once, the development CA and a localhost certificate it
 * signed, in $TLSKIT_HOME, else $XDG_STATE_HOME/tlskit, else
 * ~/.local/state/tlskit. The CA is kept for good (clients trust it); the
 * leaf is remade when missing, unreadable, issued by another CA or expiring
 * within 30 days. 0, or -1 with err set.
 */
int devca_ensure(struct devca *out, struct tlskit_error *err)
	__attribute__((warn_unused_result));

#endif
