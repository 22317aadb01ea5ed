/*
 * revocation.c - certificate revocation lists given by the user, and OCSP
 * stapling.
 *
 * CRLs are parsed when set (a bad file fails at start, naming it) and put
 * into each context's trust store when it is built, with OpenSSL's CRL
 * checking on. That makes the check fail-closed: a certificate whose issuer
 * has no CRL among those given, or whose CRL has expired, does not verify.
 *
 * OCSP: a server staples a DER response read from a file; a client asks
 * for one and checks it in the status callback, which OpenSSL runs after
 * the chain verified and before the handshake completes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "internal.h"

struct revocation {
	STACK_OF(X509_CRL) *crls;
	enum tlskit_crl_check check;
	unsigned char *staple; /* servers: DER OCSP response */
	size_t staple_len;
	enum tlskit_ocsp_mode ocsp; /* clients */
};

/* What a client connection learned from the stapled response. */
#define OCSP_STATUS_MAX 256

static pthread_once_t index_once = PTHREAD_ONCE_INIT;
static int ssl_ocsp_index = -1;

static void free_ocsp_status(void *parent, void *ptr, CRYPTO_EX_DATA *ad,
			     int idx, long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static void index_init(void)
{
	ssl_ocsp_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
					      free_ocsp_status);
}

void revocation_free(struct revocation *r)
{
	if (!r)
		return;
	sk_X509_CRL_pop_free(r->crls, X509_CRL_free);
	OPENSSL_free(r->staple);
	free(r);
}

static struct revocation *revocation_for_change(tlskit_config *cfg,
						const char *what)
{
	struct revocation **slot = config_revocation_slot(cfg);

	if (config_settable(cfg, what) < 0)
		return NULL;
	if (!*slot) {
		*slot = calloc(1, sizeof(**slot));
		if (*slot && !((*slot)->crls = sk_X509_CRL_new_null())) {
			free(*slot);
			*slot = NULL;
		}
		if (!*slot) {
			error_set(config_error_slot(cfg), TLSKIT_ERR_SYSTEM,
				  "setting %s: out of memory", what);
			return NULL;
		}
	}
	return *slot;
}

/* Every PEM CRL of the file, or else its one DER CRL, onto crls. */
static TLSKIT_MUST_CHECK int read_crls(BIO *bio, STACK_OF(X509_CRL) *crls)
{
	X509_CRL *crl;
	int found = 0;

	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL))) {
		if (!sk_X509_CRL_push(crls, crl)) {
			X509_CRL_free(crl);
			return -1;
		}
		found++;
	}
	if (found) {
		ERR_clear_error();
		return found;
	}
	if (BIO_reset(bio) != 0)
		return -1;
	ERR_clear_error();
	crl = d2i_X509_CRL_bio(bio, NULL);
	if (!crl)
		return 0;
	if (!sk_X509_CRL_push(crls, crl)) {
		X509_CRL_free(crl);
		return -1;
	}
	return 1;
}

int tlskit_config_add_crl_file(tlskit_config *cfg, const char *path)
{
	struct tlskit_error *err;
	struct revocation *r;
	STACK_OF(X509_CRL) *loaded = NULL;
	BIO *bio = NULL;
	int n, ret = -1;

	if (!cfg)
		return -1;
	err = config_error_slot(cfg);
	if (!(r = revocation_for_change(cfg, "CRL files")))
		return -1;
	if (!path || !*path)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "loading CRL file: no file name");
	ERR_clear_error();
	bio = BIO_new_file(path, "rb");
	if (!bio) {
		error_set_errno(err, TLSKIT_ERR_CONFIG, "loading CRL file '%s'",
				path);
		goto out;
	}
	if (!(loaded = sk_X509_CRL_new_null())) {
		error_set(err, TLSKIT_ERR_SYSTEM, "loading CRL file '%s': out of memory",
			  path);
		goto out;
	}
	n = read_crls(bio, loaded);
	if (n <= 0) {
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading CRL file '%s': %s", path,
			  n < 0 ? "out of memory" :
				  "no CRL in it (expected PEM or DER X.509 CRLs)");
		ERR_clear_error();
		goto out;
	}
	while (sk_X509_CRL_num(loaded) > 0) {
		X509_CRL *crl = sk_X509_CRL_shift(loaded);

		if (!sk_X509_CRL_push(r->crls, crl)) {
			X509_CRL_free(crl);
			error_set(err, TLSKIT_ERR_SYSTEM,
				  "loading CRL file '%s': out of memory", path);
			goto out;
		}
	}
	ret = 0;
out:
	sk_X509_CRL_pop_free(loaded, X509_CRL_free);
	BIO_free(bio);
	return ret;
}

int tlskit_config_set_crl_check(tlskit_config *cfg, enum tlskit_crl_check check)
{
	struct revocation *r;

	if (!cfg)
		return -1;
	if (check != TLSKIT_CRL_CHECK_LEAF && check != TLSKIT_CRL_CHECK_CHAIN)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_USAGE,
				 "setting the CRL check: unknown mode %d",
				 (int)check);
	if (!(r = revocation_for_change(cfg, "CRL check")))
		return -1;
	r->check = check;
	return 0;
}

int tlskit_crl_check_parse(const char *text, enum tlskit_crl_check *out)
{
	if (text && strcmp(text, "leaf") == 0)
		*out = TLSKIT_CRL_CHECK_LEAF;
	else if (text && strcmp(text, "chain") == 0)
		*out = TLSKIT_CRL_CHECK_CHAIN;
	else
		return -1;
	return 0;
}

/* ---- OCSP stapling ------------------------------------------------------ */

int tlskit_config_set_ocsp_staple_file(tlskit_config *cfg, const char *path)
{
	struct tlskit_error *err;
	struct revocation *r;
	OCSP_RESPONSE *resp = NULL;
	unsigned char *der = NULL;
	BIO *bio = NULL;
	int len, ret = -1;

	if (!cfg)
		return -1;
	err = config_error_slot(cfg);
	if (!(r = revocation_for_change(cfg, "OCSP staple")))
		return -1;
	if (!path || !*path)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "loading OCSP response: no file name");
	ERR_clear_error();
	if (!(bio = BIO_new_file(path, "rb"))) {
		error_set_errno(err, TLSKIT_ERR_CONFIG,
				"loading OCSP response '%s'", path);
		goto out;
	}
	resp = d2i_OCSP_RESPONSE_bio(bio, NULL);
	if (!resp) {
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading OCSP response '%s': not a DER OCSP response",
			  path);
		goto out;
	}
	if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading OCSP response '%s': the responder said '%s', not successful",
			  path,
			  OCSP_response_status_str(OCSP_response_status(resp)));
		goto out;
	}
	len = i2d_OCSP_RESPONSE(resp, &der);
	if (len <= 0) {
		error_set(err, TLSKIT_ERR_SYSTEM,
			  "loading OCSP response '%s': out of memory", path);
		goto out;
	}
	OPENSSL_free(r->staple);
	r->staple = der;
	r->staple_len = (size_t)len;
	ret = 0;
out:
	ERR_clear_error();
	OCSP_RESPONSE_free(resp);
	BIO_free(bio);
	return ret;
}

int tlskit_config_set_ocsp(tlskit_config *cfg, enum tlskit_ocsp_mode mode)
{
	struct revocation *r;

	if (!cfg)
		return -1;
	if (mode != TLSKIT_OCSP_OFF && mode != TLSKIT_OCSP_CHECK &&
	    mode != TLSKIT_OCSP_REQUIRE)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_USAGE,
				 "setting OCSP: unknown mode %d", (int)mode);
	if (!(r = revocation_for_change(cfg, "OCSP")))
		return -1;
	r->ocsp = mode;
	return 0;
}

const char *tlskit_conn_ocsp_status(const tlskit_conn *conn)
{
	SSL *ssl = conn_ssl(conn);

	if (!ssl || ssl_ocsp_index < 0)
		return NULL;
	return SSL_get_ex_data(ssl, ssl_ocsp_index);
}

static int server_status_cb(SSL *ssl, void *arg)
{
	const struct revocation *r = arg;
	unsigned char *copy = OPENSSL_memdup(r->staple, r->staple_len);

	/* OpenSSL frees the copy with the connection. Without one, no
	 * staple is sent: the client decides whether that is fatal. */
	if (!copy)
		return SSL_TLSEXT_ERR_NOACK;
	if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)r->staple_len) != 1) {
		OPENSSL_free(copy);
		return SSL_TLSEXT_ERR_NOACK;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* The issuer of leaf: from the verified chain, else among what was sent. */
static X509 *leaf_issuer(SSL *ssl, X509 *leaf)
{
	STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);

	if (sk_X509_num(chain) > 1)
		return sk_X509_value(chain, 1);
	chain = SSL_get_peer_cert_chain(ssl);
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (x != leaf && X509_check_issued(x, leaf) == X509_V_OK)
			return x;
	}
	return NULL;
}

static void append_dates(char *buf, size_t len, ASN1_GENERALIZEDTIME *thisupd,
			 ASN1_GENERALIZEDTIME *nextupd)
{
	char a[64], b[64];
	size_t used = strlen(buf);

	format_time_utc(asn1_time_to_time_t(thisupd), a, sizeof(a));
	if (nextupd)
		format_time_utc(asn1_time_to_time_t(nextupd), b, sizeof(b));
	else
		snprintf(b, sizeof(b), "none given");
	snprintf(buf + used, len - used, " (this update %s, next update %s)",
		 a, b);
}

/*
 * Checks a stapled response: signed by someone the trust store vouches for
 * (the CA or its delegated responder), about this leaf, current. Writes
 * the status ("good (...)") to status; returns 1 if it is good, 0 if it
 * says revoked or unknown, -1 if it cannot be trusted (reason in why).
 */
static int check_staple(SSL *ssl, const unsigned char *der, long len,
			char *status, char *why, size_t size)
{
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	X509 *issuer = leaf ? leaf_issuer(ssl, leaf) : NULL;
	X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &der, len);
	OCSP_BASICRESP *basic = NULL;
	OCSP_CERTID *id = NULL;
	ASN1_GENERALIZEDTIME *revtime = NULL, *thisupd = NULL, *nextupd = NULL;
	int st = -1, reason = -1, ret = -1;

	if (!resp) {
		snprintf(why, size, "the stapled OCSP response is not valid DER");
		goto out;
	}
	if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		snprintf(why, size, "the stapled OCSP response says '%s'",
			 OCSP_response_status_str(OCSP_response_status(resp)));
		goto out;
	}
	if (!(basic = OCSP_response_get1_basic(resp))) {
		snprintf(why, size, "the stapled OCSP response holds no basic response");
		goto out;
	}
	if (OCSP_basic_verify(basic, SSL_get_peer_cert_chain(ssl), store, 0) <= 0) {
		snprintf(why, size,
			 "the stapled OCSP response's signature does not verify against the trusted CAs");
		goto out;
	}
	if (!issuer || !(id = OCSP_cert_to_id(NULL, leaf, issuer)) ||
	    OCSP_resp_find_status(basic, id, &st, &reason, &revtime, &thisupd,
				  &nextupd) != 1) {
		snprintf(why, size,
			 "the stapled OCSP response is not about the server's certificate");
		goto out;
	}
	snprintf(status, OCSP_STATUS_MAX, "%s", OCSP_cert_status_str(st));
	append_dates(status, OCSP_STATUS_MAX, thisupd, nextupd);
	if (OCSP_check_validity(thisupd, nextupd, 300, -1) != 1) {
		snprintf(why, size, "the stapled OCSP response is out of date: %s",
			 status);
		goto out;
	}
	ret = st == V_OCSP_CERTSTATUS_GOOD ? 1 : 0;
	if (st == V_OCSP_CERTSTATUS_REVOKED) {
		char when[64];

		format_time_utc(asn1_time_to_time_t(revtime), when, sizeof(when));
		snprintf(why, size,
			 "the server's certificate is revoked (stapled OCSP response: revoked on %s%s%s)",
			 when, reason >= 0 ? ", reason " : "",
			 reason >= 0 ? OCSP_crl_reason_str(reason) : "");
	} else if (st != V_OCSP_CERTSTATUS_GOOD) {
		snprintf(why, size,
			 "the stapled OCSP response does not know the server's certificate (status unknown)");
	}
out:
	ERR_clear_error();
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(basic);
	OCSP_RESPONSE_free(resp);
	return ret;
}

static int client_status_cb(SSL *ssl, void *arg)
{
	const struct revocation *r = arg;
	const unsigned char *der = NULL;
	long len = SSL_get_tlsext_status_ocsp_resp(ssl, &der);
	char why[TLSKIT_ERROR_MAX] = "", *status;
	tlskit_conn *conn = conn_from_ssl(ssl);
	int verdict, ok;

	/* Kept on the connection (freed with it) for tlskit_conn_ocsp_status. */
	status = SSL_get_ex_data(ssl, ssl_ocsp_index);
	if (!status && (status = calloc(1, OCSP_STATUS_MAX)) &&
	    SSL_set_ex_data(ssl, ssl_ocsp_index, status) != 1) {
		free(status);
		status = NULL;
	}
	if (!status) {
		if (conn)
			conn_set_verify_failure(conn, "checking the OCSP response: out of memory");
		return 0;
	}
	status[0] = '\0';
	if (!der || len <= 0) {
		snprintf(status, OCSP_STATUS_MAX, "none (the server stapled no response)");
		if (r->ocsp != TLSKIT_OCSP_REQUIRE)
			return 1;
		snprintf(why, sizeof(why),
			 "OCSP response required but the server stapled none");
		goto fail;
	}
	verdict = check_staple(ssl, der, len, status, why, sizeof(why));
	if (verdict < 0 && !status[0])
		snprintf(status, OCSP_STATUS_MAX, "invalid");
	/* Revoked or untrustworthy always fails; unknown only when a good
	 * response is required. */
	ok = verdict == 1 ||
	     (verdict == 0 && r->ocsp != TLSKIT_OCSP_REQUIRE &&
	      strncmp(status, "unknown", 7) == 0);
	if (ok)
		return 1;
fail:
	if (conn)
		conn_set_verify_failure(conn, why);
	return 0;
}

static TLSKIT_MUST_CHECK int install_ocsp(const struct revocation *r,
					  SSL_CTX *ctx, enum tlskit_role role,
					  struct tlskit_error *err)
{
	if (role == TLSKIT_SERVER && r->staple) {
		SSL_CTX_set_tlsext_status_cb(ctx, server_status_cb);
		SSL_CTX_set_tlsext_status_arg(ctx, (void *)r);
	} else if (role == TLSKIT_CLIENT && r->ocsp != TLSKIT_OCSP_OFF) {
		pthread_once(&index_once, index_init);
		if (ssl_ocsp_index < 0)
			return error_set(err, TLSKIT_ERR_SYSTEM,
					 "setting up OCSP: out of memory");
		SSL_CTX_set_tlsext_status_type(ctx, TLSEXT_STATUSTYPE_ocsp);
		SSL_CTX_set_tlsext_status_cb(ctx, client_status_cb);
		SSL_CTX_set_tlsext_status_arg(ctx, (void *)r);
	}
	return 0;
}

int revocation_install(tlskit_config *cfg, SSL_CTX *ctx,
		       enum tlskit_role role, struct tlskit_error *err)
{
	const struct revocation *r = *config_revocation_slot(cfg);
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	unsigned long flags = X509_V_FLAG_CRL_CHECK;

	if (!r)
		return 0;
	if (install_ocsp(r, ctx, role, err) < 0)
		return -1;
	/* A CRL check mode alone (no CRL) would refuse every peer. */
	if (sk_X509_CRL_num(r->crls) == 0)
		return 0;
	for (int i = 0; i < sk_X509_CRL_num(r->crls); i++) {
		if (X509_STORE_add_crl(store, sk_X509_CRL_value(r->crls, i)) != 1)
			return error_set_ssl(err, TLSKIT_ERR_CONFIG,
					     "adding a CRL to the trust store");
	}
	if (r->check == TLSKIT_CRL_CHECK_CHAIN)
		flags |= X509_V_FLAG_CRL_CHECK_ALL;
	/* Both: connections take the context's parameters, chain checks
	 * (tlskit_cert_list_verify) the store's. */
	if (X509_STORE_set_flags(store, flags) != 1 ||
	    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), flags) != 1)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "turning CRL checking on");
	return 0;
}

int revocation_digest(tlskit_config *cfg, EVP_MD_CTX *md)
{
	const struct revocation *r = *config_revocation_slot(cfg);
	unsigned char fp[EVP_MAX_MD_SIZE];
	unsigned int len;
	int check, ok = 1;

	if (!r)
		return 1;
	check = (int)r->check;
	ok = EVP_DigestUpdate(md, &check, sizeof(check));
	for (int i = 0; ok && i < sk_X509_CRL_num(r->crls); i++)
		ok = X509_CRL_digest(sk_X509_CRL_value(r->crls, i),
				     EVP_sha256(), fp, &len) == 1 &&
		     EVP_DigestUpdate(md, fp, len);
	return ok;
}
