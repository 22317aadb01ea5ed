/*
 * chaininfo.c - certificate chains: the one a peer sent, and verifying a
 * chain against a configuration's trust anchors in the words handshakes
 * use, with the chain verification built.
 *
 * Inspecting a server (tlskit cert show) must show its chain even when the
 * chain does not verify: the chain is read from the connection as soon as it
 * arrived, and verified here independently of whether the handshake
 * enforced verification or finished at all.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "internal.h"

static TLSKIT_MUST_CHECK int push_stack(tlskit_cert_list *list,
					STACK_OF(X509) *sk,
					struct tlskit_error *err)
{
	for (int i = 0; i < sk_X509_num(sk); i++)
		if (certlist_push_x509(list, sk_X509_value(sk, i), err) < 0)
			return -1;
	return 0;
}

tlskit_cert_list *tlskit_conn_peer_chain(const tlskit_conn *conn,
					 struct tlskit_error *err)
{
	SSL *ssl = conn ? conn_ssl(conn) : NULL;
	STACK_OF(X509) *sent = ssl ? SSL_get_peer_cert_chain(ssl) : NULL;
	X509 *leaf = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	tlskit_cert_list *list;

	error_clear(err);
	if (!ssl) {
		error_set(err, TLSKIT_ERR_USAGE,
			  "reading the peer's certificates: not connected");
		return NULL;
	}
	if (sk_X509_num(sent) <= 0 && !leaf) {
		error_set(err, TLSKIT_ERR_PROTOCOL,
			  "reading the peer's certificates: the peer sent none");
		return NULL;
	}
	if (!(list = certlist_new())) {
		error_set(err, TLSKIT_ERR_SYSTEM,
			  "reading the peer's certificates: out of memory");
		return NULL;
	}
	/* Servers' view of a client chain leaves the leaf out. */
	if (SSL_is_server(ssl) && leaf &&
	    certlist_push_x509(list, leaf, err) < 0)
		goto fail;
	if (push_stack(list, sent, err) < 0)
		goto fail;
	return list;
fail:
	tlskit_cert_list_free(list);
	return NULL;
}

/* ---- verification ------------------------------------------------------ */

struct verify_state {
	const char *name;
	int failed;
	char reason[TLSKIT_ERROR_MAX];
};

/* The first failure in the handshake's words; the verdict itself is
 * OpenSSL's. */
static int record_failure(int ok, X509_STORE_CTX *sctx)
{
	struct verify_state *st = X509_STORE_CTX_get_app_data(sctx);

	if (!ok && st && !st->failed) {
		st->failed = 1;
		verify_describe(X509_STORE_CTX_get_error(sctx),
				X509_STORE_CTX_get_error_depth(sctx),
				X509_STORE_CTX_get_current_cert(sctx), st->name,
				st->reason, sizeof(st->reason));
	}
	return ok;
}

static TLSKIT_MUST_CHECK int set_name(X509_VERIFY_PARAM *param,
				      const char *name,
				      struct tlskit_error *err)
{
	if (!name)
		return 0;
	if (verify_param_set_name(param, name) != 1)
		return error_set_ssl(err, TLSKIT_ERR_USAGE,
				     "verifying certificates: bad name '%s'",
				     name);
	return 0;
}

/* The leaf's companions, as OpenSSL wants them: not owned by the stack. */
static STACK_OF(X509) *untrusted_stack(const tlskit_cert_list *chain)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	for (size_t i = 1; sk && i < tlskit_cert_list_count(chain); i++) {
		if (!sk_X509_push(sk, certinfo_x509(
					      tlskit_cert_list_get(chain, i)))) {
			sk_X509_free(sk);
			return NULL;
		}
	}
	return sk;
}

/* Sets sctx up like a handshake's verification for peer_role. */
static TLSKIT_MUST_CHECK int setup_store_ctx(X509_STORE_CTX *sctx,
					     SSL_CTX *ctx,
					     const tlskit_cert_list *chain,
					     STACK_OF(X509) *untrusted,
					     enum tlskit_role peer_role,
					     struct verify_state *st,
					     struct tlskit_error *err)
{
	X509 *leaf = certinfo_x509(tlskit_cert_list_get(chain, 0));

	if (X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(ctx), leaf,
				untrusted) != 1)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "verifying certificates");
	/* What ssl_verify_cert_chain does: the purpose of the peer's role,
	 * then the context's own parameters (depth, flags). */
	X509_STORE_CTX_set_default(sctx, peer_role == TLSKIT_SERVER ?
						 "ssl_server" : "ssl_client");
	if (X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(sctx),
				   SSL_CTX_get0_param(ctx)) != 1)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "verifying certificates");
	if (set_name(X509_STORE_CTX_get0_param(sctx), st->name, err) < 0)
		return -1;
	X509_STORE_CTX_set_verify_cb(sctx, record_failure);
	X509_STORE_CTX_set_app_data(sctx, st);
	return 0;
}

static TLSKIT_MUST_CHECK int built_chain(X509_STORE_CTX *sctx,
					 tlskit_cert_list **built,
					 struct tlskit_error *err)
{
	if (!built)
		return 0;
	if (!(*built = certlist_new()))
		return error_set(err, TLSKIT_ERR_SYSTEM,
				 "verifying certificates: out of memory");
	return push_stack(*built, X509_STORE_CTX_get0_chain(sctx), err);
}

int tlskit_cert_list_verify(const tlskit_cert_list *chain, tlskit_config *cfg,
			    enum tlskit_role peer_role, const char *name,
			    tlskit_cert_list **built, struct tlskit_error *err)
{
	struct verify_state st = { .name = name };
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *sctx = NULL;
	SSL_CTX *ctx;
	int rc = -1, verdict = 0, ok;

	error_clear(err);
	if (built)
		*built = NULL;
	if (!cfg || tlskit_cert_list_count(chain) == 0)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "verifying certificates: no certificate or no configuration");
	ctx = config_ctx(cfg, TLSKIT_CLIENT, err);
	if (!ctx)
		return -1;
	ERR_clear_error();
	untrusted = untrusted_stack(chain);
	sctx = X509_STORE_CTX_new();
	if (!untrusted || !sctx) {
		error_set(err, TLSKIT_ERR_SYSTEM,
			  "verifying certificates: out of memory");
		goto out;
	}
	if (setup_store_ctx(sctx, ctx, chain, untrusted, peer_role, &st,
			    err) < 0)
		goto out;
	ok = X509_verify_cert(sctx) == 1;
	if (built_chain(sctx, built, err) < 0)
		goto out;
	verdict = 1;
	if (ok) {
		rc = 0;
		goto out;
	}
	if (!st.failed)
		verify_describe(X509_STORE_CTX_get_error(sctx),
				X509_STORE_CTX_get_error_depth(sctx),
				X509_STORE_CTX_get_current_cert(sctx), name,
				st.reason, sizeof(st.reason));
	error_set(err, TLSKIT_ERR_VERIFY, "%s", st.reason);
out:
	if (!verdict && built) {
		tlskit_cert_list_free(*built);
		*built = NULL;
	}
	X509_STORE_CTX_free(sctx);
	sk_X509_free(untrusted);
	ERR_clear_error();
	return rc;
}
