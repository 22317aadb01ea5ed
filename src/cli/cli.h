/*
 * cli.h - what the tlskit subcommands share.
 */
#ifndef TLSKIT_CLI_H
#define TLSKIT_CLI_H

#include <stdarg.h>
#include <stddef.h>

#include "tlskit.h"

/* Exit codes, shared by every subcommand (documented in README and --help). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_IO = 1,      /* error after the connection was up */
	CLI_EXIT_USAGE = 2,   /* bad flags or arguments */
	CLI_EXIT_CONFIG = 3,  /* file missing/unreadable, key mismatch, bad list */
	CLI_EXIT_CONNECT = 4, /* resolve, refused, timeout */
	CLI_EXIT_TLS = 5,     /* handshake or protocol */
	CLI_EXIT_VERIFY = 6,  /* certificate verification */
	CLI_EXIT_CHECK = 7,   /* a check found a problem */
};

/* The exit code for a library error category. */
int cli_exit_code(enum tlskit_error_category cat);

/* "tlskit: CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "tlskit: CMD: warning: message" on stderr. */
void cli_warn(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* While buf is set (len > 0), this thread's cli_error()/cli_warn() keep
 * their first message in buf instead of printing it; (NULL, 0) ends it.
 * For callers that report a failure in one line of their own (SIGHUP
 * reload: "reload failed: <reason>; keeping ..."). */
void cli_capture_errors(char *buf, size_t len);

/* The exit-code table, for every --help. */
extern const char cli_exit_codes_help[];

/* getopt_long codes of the TLS options shared by echo, connect (and later
 * bench, proxy). Each command lists the ones it takes in its own option
 * table and hands them to cli_tls_opt(). */
enum cli_tls_optcode {
	OPT_CA = 256,
	OPT_CERT,
	OPT_KEY,
	OPT_SERVERNAME,
	OPT_VERIFY_CLIENT,
	OPT_MIN_VERSION,
	OPT_MAX_VERSION,
	OPT_CIPHERS,
	OPT_CIPHERSUITES,
	OPT_GROUPS,
	OPT_ALPN,
	OPT_INSECURE,
	OPT_ALLOW_CN,
	OPT_ALLOW_SAN_DNS,
	OPT_ALLOW_SAN_URI,
	OPT_ALLOW_OU,
	OPT_ALLOW_FINGERPRINT,
	OPT_PIN,
	OPT_PIN_ONLY,
	OPT_PROFILE,
	OPT_KEYLOG,
	OPT_TICKET_KEYS,
	OPT_NO_TICKETS,
	OPT_SNI_STRICT,
	OPT_CRL,
	OPT_CRL_CHECK,
	OPT_OCSP_STAPLE,
	OPT_OCSP,
	OPT_REQUIRE_OCSP,
	OPT_CLI_TLS_LAST /* commands number their own options from here */
};

#define CLI_TLS_MAX_REPEAT 64

struct cli_tls_opts {
	const char *ca;
	const char *cert;
	const char *key;
	const char *servername;
	const char *verify_client; /* none|optional|require */
	const char *min_version;
	const char *max_version;
	const char *ciphers;
	const char *ciphersuites;
	const char *groups;
	const char *alpn;
	int insecure;
	/* Security policy: --allow-* (servers), --pin (clients), both
	 * repeatable; --profile; --keylog FILE or "env" ($SSLKEYLOGFILE). */
	struct cli_allow {
		enum tlskit_allow_kind kind;
		const char *value;
	} allow[CLI_TLS_MAX_REPEAT];
	size_t allow_count;
	const char *pins[CLI_TLS_MAX_REPEAT];
	size_t pin_count;
	int pin_only;
	const char *profile;
	const char *keylog;
	/* Servers: --ticket-keys FILE (repeatable), --no-tickets. */
	const char *ticket_keys[CLI_TLS_MAX_REPEAT];
	size_t ticket_key_count;
	int no_tickets;
	/* Servers: the second and later --cert/--key pairs (chosen by SNI;
	 * the first pair, in cert/key above, is the default); --sni-strict. */
	const char *more_certs[CLI_TLS_MAX_REPEAT];
	size_t more_cert_count;
	const char *more_keys[CLI_TLS_MAX_REPEAT];
	size_t more_key_count;
	int sni_strict;
	/* Revocation: --crl FILE (repeatable), --crl-check leaf|chain. */
	const char *crls[CLI_TLS_MAX_REPEAT];
	size_t crl_count;
	const char *crl_check;
	/* OCSP: --ocsp-staple FILE (servers); --ocsp, --require-ocsp
	 * (clients: enum tlskit_ocsp_mode). */
	const char *ocsp_staple;
	int ocsp;
	const char *too_many; /* a repeatable option given too often */
};

/* Records a shared TLS option; 1 if c was one, 0 if not. */
int cli_tls_opt(struct cli_tls_opts *opts, int c, const char *arg);

/* --timeout SECS ("10", "0.5"; at least 1 ms) into *out_ms: 0, or the
 * usage exit code after saying so. */
int cli_parse_timeout(const char *cmd, const char *text, int *out_ms);

/*
 * Builds and checks a config for role from opts. On failure prints the
 * error (naming the option/file) and returns the exit code; 0 on success.
 * Warns loudly for --insecure.
 */
int cli_tls_config(const char *cmd, const struct cli_tls_opts *opts,
		   enum tlskit_role role, tlskit_config **out);

int cmd_echo(int argc, char **argv);
int cmd_connect(int argc, char **argv);
int cmd_cert(int argc, char **argv);
/* `tlskit cert show ...`: argv[0] is "show". */
int cmd_cert_show(int argc, char **argv);
int cmd_ciphers(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
