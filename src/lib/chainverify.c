/*
 * chainverify.c - verifying a certificate file as a TLS peer would, with the
 * same words for the verdict as a failed handshake.
 */
#include <arpa/inet.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "internal.h"

struct chain_job {
	const struct tlskit_verify_params *params;
	STACK_OF(X509) *certs;     /* the certificate and what came with it */
	STACK_OF(X509) *untrusted; /* everything after the first */
	X509_STORE *store;
	X509_STORE_CTX *ctx;
};

/* Appends every certificate of from to to (new references). */
static int add_all(STACK_OF(X509) *to, STACK_OF(X509) *from, int first)
{
	for (int i = first; i < sk_X509_num(from); i++)
		if (!X509_add_cert(to, sk_X509_value(from, i),
				   X509_ADD_FLAG_UP_REF))
			return -1;
	return 0;
}

static int load_untrusted(struct chain_job *job, struct tlskit_error *err)
{
	const struct tlskit_verify_params *p = job->params;
	STACK_OF(X509) *more = NULL;
	int rc;

	if (certgen_load_certs("certificate", p->cert_file, &job->certs, err) < 0)
		return -1;
	if (p->untrusted_file &&
	    certgen_load_certs("untrusted certificates", p->untrusted_file,
			       &more, err) < 0)
		return -1;
	job->untrusted = sk_X509_new_null();
	rc = job->untrusted && add_all(job->untrusted, job->certs, 1) == 0 &&
	     add_all(job->untrusted, more, 0) == 0 ? 0 : -1;
	sk_X509_pop_free(more, X509_free);
	if (rc < 0)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "verifying '%s'",
				     p->cert_file);
	return 0;
}

static int load_trust(struct chain_job *job, struct tlskit_error *err)
{
	const char *ca_file = job->params->ca_file;
	STACK_OF(X509) *anchors = NULL;
	int ok = 1;

	job->store = X509_STORE_new();
	if (!job->store)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "verifying");
	if (!ca_file) {
		if (X509_STORE_set_default_paths(job->store) != 1)
			return error_set_ssl(err, TLSKIT_ERR_CONFIG,
					     "loading the system trust store");
		return 0;
	}
	if (certgen_load_certs("CA file", ca_file, &anchors, err) < 0)
		return -1;
	for (int i = 0; ok && i < sk_X509_num(anchors); i++)
		ok = X509_STORE_add_cert(job->store, sk_X509_value(anchors, i));
	sk_X509_pop_free(anchors, X509_free);
	if (!ok)
		return error_set_ssl(err, TLSKIT_ERR_CONFIG, "loading CA file '%s'",
				     ca_file);
	return 0;
}

/* Purpose, name and time as a TLS peer checks them. */
static int set_checks(struct chain_job *job, struct tlskit_error *err)
{
	const struct tlskit_verify_params *p = job->params;
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(job->ctx);
	int ok = 1;

	if (p->purpose == TLSKIT_PURPOSE_SERVER)
		ok = X509_STORE_CTX_set_purpose(job->ctx, X509_PURPOSE_SSL_SERVER);
	else if (p->purpose == TLSKIT_PURPOSE_CLIENT)
		ok = X509_STORE_CTX_set_purpose(job->ctx, X509_PURPOSE_SSL_CLIENT);
	if (ok && p->hostname)
		ok = verify_param_set_name(vp, p->hostname) == 1;
	if (p->at)
		X509_VERIFY_PARAM_set_time(vp, p->at);
	if (!ok)
		return error_set_ssl(err, TLSKIT_ERR_USAGE,
				     "verifying '%s': setting up the checks",
				     p->cert_file);
	return 0;
}

static int run_verify(struct chain_job *job, struct tlskit_error *err)
{
	char reason[TLSKIT_ERROR_MAX];
	X509 *leaf = sk_X509_value(job->certs, 0);

	job->ctx = X509_STORE_CTX_new();
	if (!job->ctx ||
	    !X509_STORE_CTX_init(job->ctx, job->store, leaf, job->untrusted))
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "verifying '%s'",
				     job->params->cert_file);
	if (set_checks(job, err) < 0)
		return -1;
	if (X509_verify_cert(job->ctx) == 1)
		return 0;
	verify_describe(X509_STORE_CTX_get_error(job->ctx),
			X509_STORE_CTX_get_error_depth(job->ctx),
			X509_STORE_CTX_get_current_cert(job->ctx),
			job->params->hostname, reason, sizeof(reason));
	return error_set(err, TLSKIT_ERR_VERIFY, "%s", reason);
}

int tlskit_chain_verify(const struct tlskit_verify_params *params,
			struct tlskit_error *err)
{
	struct chain_job job = { .params = params };
	int rc = -1;

	error_clear(err);
	if (!params || !params->cert_file)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "verifying: a certificate file is required");
	if (params->purpose < TLSKIT_PURPOSE_ANY ||
	    params->purpose > TLSKIT_PURPOSE_CLIENT)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "verifying: unknown purpose %d",
				 (int)params->purpose);
	if (load_untrusted(&job, err) == 0 && load_trust(&job, err) == 0)
		rc = run_verify(&job, err);
	X509_STORE_CTX_free(job.ctx);
	X509_STORE_free(job.store);
	sk_X509_pop_free(job.untrusted, X509_free);
	sk_X509_pop_free(job.certs, X509_free);
	ERR_clear_error();
	return rc;
}
