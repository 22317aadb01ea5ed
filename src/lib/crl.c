/*
 * crl.c - certificate revocation lists for the test CA, so revocation can
 * be tested without the openssl command.
 */
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define CRL_DEFAULT_DAYS 30
#define CRL_MAX_DAYS 36500
#define SERIAL_MAX_HEX 40 /* 20 bytes: RFC 5280's limit */

struct crl_job {
	const struct tlskit_crlgen *params;
	X509 *ca;
	EVP_PKEY *key;
	X509_CRL *crl;
	BIO *pem;
	time_t now;
};

/* "0x1f:2a" style hex into an INTEGER; NULL if it is not one. */
static ASN1_INTEGER *parse_serial(const char *text)
{
	char hex[SERIAL_MAX_HEX + 1];
	size_t n = 0;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;

	if (strncasecmp(text, "0x", 2) == 0)
		text += 2;
	for (; *text; text++) {
		if (*text == ':')
			continue;
		if (!isxdigit((unsigned char)*text) || n == SERIAL_MAX_HEX)
			return NULL;
		hex[n++] = *text;
	}
	hex[n] = '\0';
	if (n && BN_hex2bn(&bn, hex) == (int)n)
		serial = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return serial;
}

/* The serial of a certificate file, which must be one the CA issued. */
static ASN1_INTEGER *serial_of_file(const struct crl_job *job,
				    const char *path, struct tlskit_error *err)
{
	STACK_OF(X509) *certs = NULL;
	ASN1_INTEGER *serial = NULL;
	X509 *x;

	if (certgen_load_certs("certificate to revoke", path, &certs, err) < 0)
		return NULL;
	x = sk_X509_value(certs, 0);
	if (X509_check_issued(job->ca, x) != X509_V_OK)
		error_set(err, TLSKIT_ERR_CONFIG,
			  "revoking certificate '%s': it was not issued by CA '%s'",
			  path, job->params->issuer_cert_file);
	else if (!(serial = ASN1_INTEGER_dup(X509_get0_serialNumber(x))))
		error_set_ssl(err, TLSKIT_ERR_SYSTEM, "revoking certificate '%s'",
			      path);
	sk_X509_pop_free(certs, X509_free);
	return serial;
}

static int add_revoked(struct crl_job *job, const char *entry,
		       struct tlskit_error *err)
{
	ASN1_INTEGER *serial;
	X509_REVOKED *rev;
	ASN1_TIME *when;
	int ok;

	if (access(entry, F_OK) == 0)
		serial = serial_of_file(job, entry, err);
	else if (!(serial = parse_serial(entry)))
		error_set(err, TLSKIT_ERR_USAGE,
			  "revoking '%s': no such certificate file, and not a hexadecimal serial",
			  entry);
	if (!serial)
		return -1;
	rev = X509_REVOKED_new();
	when = ASN1_TIME_set(NULL, job->now);
	ok = rev && when && X509_REVOKED_set_serialNumber(rev, serial) &&
	     X509_REVOKED_set_revocationDate(rev, when) &&
	     X509_CRL_add0_revoked(job->crl, rev);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	if (!ok) {
		X509_REVOKED_free(rev);
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "revoking '%s'",
				     entry);
	}
	return 0;
}

/* AKI lets verifiers pick the CA's key; the CRL number (the time: each
 * CRL of this CA gets a larger one) lets them prefer the newest. */
static int add_crl_extensions(struct crl_job *job, struct tlskit_error *err)
{
	X509V3_CTX ctx;
	X509_EXTENSION *aki;
	ASN1_INTEGER *number = ASN1_INTEGER_new();
	int ok;

	X509V3_set_ctx(&ctx, job->ca, NULL, NULL, job->crl, 0);
	aki = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier,
				   "keyid:always");
	ok = aki && X509_CRL_add_ext(job->crl, aki, -1) && number &&
	     ASN1_INTEGER_set_int64(number, (int64_t)job->now) &&
	     X509_CRL_add1_ext_i2d(job->crl, NID_crl_number, number, 0, 0);
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(number);
	if (!ok)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "generating CRL: adding extensions");
	return 0;
}

static int set_crl_dates(struct crl_job *job, struct tlskit_error *err)
{
	int days = job->params->days ? job->params->days : CRL_DEFAULT_DAYS;
	ASN1_TIME *last = ASN1_TIME_set(NULL, job->now);
	ASN1_TIME *next = ASN1_TIME_set(NULL, job->now + (time_t)days * 86400);
	int ok = last && next && X509_CRL_set1_lastUpdate(job->crl, last) &&
		 X509_CRL_set1_nextUpdate(job->crl, next);

	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	if (!ok)
		return error_set_ssl(err, TLSKIT_ERR_USAGE,
				     "generating CRL: dates out of range");
	return 0;
}

static int build_crl(struct crl_job *job, struct tlskit_error *err)
{
	const struct tlskit_crlgen *p = job->params;

	job->crl = X509_CRL_new();
	if (!job->crl || !X509_CRL_set_version(job->crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(job->crl, X509_get_subject_name(job->ca)))
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "generating CRL");
	if (set_crl_dates(job, err) < 0)
		return -1;
	for (size_t i = 0; i < p->revoke_count; i++)
		if (add_revoked(job, p->revoke[i], err) < 0)
			return -1;
	if (add_crl_extensions(job, err) < 0 || !X509_CRL_sort(job->crl))
		return -1;
	if (X509_CRL_sign(job->crl, job->key, certgen_digest(job->key)) <= 0)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "signing CRL");
	job->pem = BIO_new(BIO_s_mem());
	if (!job->pem || !PEM_write_bio_X509_CRL(job->pem, job->crl))
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "encoding CRL");
	return 0;
}

static int check_crl_params(const struct tlskit_crlgen *p, const char *path,
			    struct tlskit_error *err)
{
	if (!p || !path || !*path || !p->issuer_cert_file ||
	    !p->issuer_key_file)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating CRL: the CA certificate and key (--ca, --ca-key) and an output path are required");
	if (p->revoke_count && !p->revoke)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating CRL: revoke_count is %zu but revoke is NULL",
				 p->revoke_count);
	if (p->days < 0 || p->days > CRL_MAX_DAYS)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating CRL: days %d is not from 1 to %d",
				 p->days, CRL_MAX_DAYS);
	return 0;
}

int tlskit_crl_write(const struct tlskit_crlgen *params, const char *crl_path,
		     int overwrite, struct tlskit_error *err)
{
	struct crl_job job = { .params = params };
	int rc = -1;

	error_clear(err);
	if (check_crl_params(params, crl_path, err) < 0 ||
	    certgen_check_absent("CRL", crl_path, overwrite, err) < 0)
		return -1;
	job.now = params->this_update ? params->this_update : time(NULL);
	if (certgen_load_issuer(params->issuer_cert_file,
				params->issuer_key_file,
				params->issuer_passphrase, &job.ca, NULL,
				&job.key, err) == 0 &&
	    build_crl(&job, err) == 0)
		rc = certgen_write_file("CRL", crl_path, job.pem, 0644,
					overwrite, err);
	X509_free(job.ca);
	EVP_PKEY_free(job.key);
	X509_CRL_free(job.crl);
	BIO_free(job.pem);
	ERR_clear_error();
	return rc;
}
