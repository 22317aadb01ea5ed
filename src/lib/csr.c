/*
 * csr.c - certificate signing requests: a key and a request to send to
 * another CA, and signing someone else's request with our profiles.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

struct csr_job {
	X509_NAME *subject;
	GENERAL_NAMES *sans;
	EVP_PKEY *key;
	X509_REQ *req;
	BIO *req_pem;
	BIO *key_pem;
};

static int check_csr_params(const struct tlskit_certgen *p,
			    const char *csr_path, const char *key_path,
			    struct tlskit_error *err)
{
	if (!p || !csr_path || !key_path || !*csr_path || !*key_path)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating request: parameters, request path and key path are required");
	if (strcmp(csr_path, key_path) == 0)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating request: request and key paths are the same ('%s')",
				 csr_path);
	if (p->key_type < TLSKIT_KEY_EC_P256 || p->key_type > TLSKIT_KEY_RSA4096)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating request: unknown key type %d",
				 (int)p->key_type);
	if (p->san_count && !p->sans)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating request: san_count is %zu but sans is NULL",
				 p->san_count);
	return 0;
}

/* SANs travel as a requested extension; the CA decides what to copy. */
static int add_requested_sans(struct csr_job *job, struct tlskit_error *err)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int ok;

	if (sk_GENERAL_NAME_num(job->sans) == 0)
		return 0;
	ok = X509V3_add1_i2d(&exts, NID_subject_alt_name, job->sans, 0,
			     X509V3_ADD_DEFAULT) == 1 &&
	     X509_REQ_add_extensions(job->req, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (!ok)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "generating request: adding subjectAltName");
	return 0;
}

static int build_request(struct csr_job *job, const char *passphrase,
			 struct tlskit_error *err)
{
	job->req = X509_REQ_new();
	if (!job->req || !X509_REQ_set_version(job->req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(job->req, job->subject) ||
	    !X509_REQ_set_pubkey(job->req, job->key))
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "generating request");
	if (add_requested_sans(job, err) < 0)
		return -1;
	if (X509_REQ_sign(job->req, job->key, certgen_digest(job->key)) <= 0)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "signing request");
	job->req_pem = BIO_new(BIO_s_mem());
	if (!job->req_pem || !PEM_write_bio_X509_REQ(job->req_pem, job->req))
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "encoding request");
	job->key_pem = certgen_key_pem(job->key, passphrase, err);
	return job->key_pem ? 0 : -1;
}

static int write_request(struct csr_job *job, const char *csr_path,
			 const char *key_path, int overwrite,
			 struct tlskit_error *err)
{
	if (certgen_write_file("key", key_path, job->key_pem, 0600, overwrite,
			       err) < 0)
		return -1;
	if (certgen_write_file("request", csr_path, job->req_pem, 0644,
			       overwrite, err) < 0) {
		unlink(key_path);
		return -1;
	}
	return 0;
}

int tlskit_csr_write(const struct tlskit_certgen *params, const char *csr_path,
		     const char *key_path, int overwrite,
		     struct tlskit_error *err)
{
	struct csr_job job = { 0 };
	int rc = -1;

	error_clear(err);
	if (check_csr_params(params, csr_path, key_path, err) < 0 ||
	    certgen_check_absent("key", key_path, overwrite, err) < 0 ||
	    certgen_check_absent("request", csr_path, overwrite, err) < 0)
		return -1;
	if (certgen_sans(params, &job.sans, err) < 0 ||
	    certgen_subject(params, &job.subject, err) < 0)
		goto out;
	job.key = certgen_make_key(params, err);
	if (job.key && build_request(&job, params->passphrase, err) == 0)
		rc = write_request(&job, csr_path, key_path, overwrite, err);
out:
	X509_NAME_free(job.subject);
	GENERAL_NAMES_free(job.sans);
	EVP_PKEY_free(job.key);
	X509_REQ_free(job.req);
	BIO_free(job.req_pem);
	BIO_free(job.key_pem);
	ERR_clear_error();
	return rc;
}

/* PEM, else DER. */
static X509_REQ *load_request(const char *path, struct tlskit_error *err)
{
	BIO *bio = BIO_new_file(path, "rb");
	X509_REQ *req;

	if (!bio) {
		ERR_clear_error();
		error_set_errno(err, TLSKIT_ERR_CONFIG, "loading request '%s'",
				path);
		return NULL;
	}
	req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	if (!req && BIO_reset(bio) == 0)
		req = d2i_X509_REQ_bio(bio, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (!req)
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading request '%s': no PEM or DER certificate request found",
			  path);
	return req;
}

/* The request's own signature proves its sender holds the key. Without
 * names of our own, the request must bring some. */
static int check_request(X509_REQ *req, const char *path,
			 const GENERAL_NAMES *sans, int need_names,
			 struct tlskit_error *err)
{
	EVP_PKEY *pub = X509_REQ_get0_pubkey(req);

	if (!pub || X509_REQ_verify(req, pub) != 1) {
		ERR_clear_error();
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading request '%s': its signature does not verify (altered or damaged)",
				 path);
	}
	if (need_names &&
	    X509_NAME_entry_count(X509_REQ_get_subject_name(req)) == 0 &&
	    sk_GENERAL_NAME_num(sans) <= 0)
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading request '%s': it names no subject and no SANs",
				 path);
	return 0;
}

int tlskit_csr_sign(const struct tlskit_certgen *params, const char *csr_path,
		    const char *cert_path, int overwrite,
		    struct tlskit_error *err)
{
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *sans;
	X509_REQ *req;
	int own_names, rc = -1;

	error_clear(err);
	if (!params || !csr_path || !cert_path || !*cert_path)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "signing request: parameters, request path and certificate path are required");
	req = load_request(csr_path, err);
	if (!req)
		return -1;
	exts = X509_REQ_get_extensions(req);
	sans = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	ERR_clear_error();
	own_names = params->san_count || params->common_name || params->subject;
	if (check_request(req, csr_path, sans, !own_names, err) == 0)
		rc = certgen_issue(params, X509_REQ_get0_pubkey(req),
				   X509_REQ_get_subject_name(req), sans,
				   cert_path, overwrite, err);
	GENERAL_NAMES_free(sans);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	ERR_clear_error();
	return rc;
}
