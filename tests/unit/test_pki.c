/*
 * test_pki.c - the small CA's other calls: tlskit_csr_write, tlskit_csr_sign,
 * tlskit_crl_write and tlskit_chain_verify, checked with OpenSSL directly.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

struct fixture {
	char dir[64];
};

#define RING 16

/* A path in the fixture's directory; valid for the next RING - 1 calls. */
static const char *P(struct fixture *fx, const char *name)
{
	static char ring[RING][256];
	static int next;
	char *out = ring[next++ % RING];

	snprintf(out, sizeof(ring[0]), "%s/%s", fx->dir, name);
	return out;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/tlskit-pki-XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	DIR *d = opendir(fx->dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		char path[512];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", fx->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* NAME.pem/NAME.key of kind, signed by issuer (a name) or not. */
static void make(struct fixture *fx, const char *name,
		 enum tlskit_cert_kind kind, const char *issuer,
		 const char *san)
{
	char cert[256], key[256], icert[256], ikey[256], chain[256];
	struct tlskit_certgen p = { .kind = kind, .common_name = name };
	struct tlskit_error err = { 0 };

	snprintf(cert, sizeof(cert), "%s/%s.pem", fx->dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", fx->dir, name);
	snprintf(chain, sizeof(chain), "%s/%s-chain.pem", fx->dir, name);
	p.chain_file = chain;
	if (san) {
		p.sans = &san;
		p.san_count = 1;
		p.common_name = NULL;
	}
	if (issuer) {
		snprintf(icert, sizeof(icert), "%s/%s.pem", fx->dir, issuer);
		snprintf(ikey, sizeof(ikey), "%s/%s.key", fx->dir, issuer);
		p.issuer_cert_file = icert;
		p.issuer_key_file = ikey;
	}
	if (tlskit_certgen_write(&p, cert, key, 0, &err) < 0)
		fail_msg("making %s: %s", name, err.message);
}

static X509_REQ *read_req(const char *path)
{
	FILE *f = fopen(path, "r");
	X509_REQ *req;

	assert_non_null(f);
	req = PEM_read_X509_REQ(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(req);
	return req;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static void test_csr_write(void **state)
{
	struct fixture *fx = *state;
	const char *sans[] = { "api.test", "127.0.0.1" };
	struct tlskit_certgen p = { .key_type = TLSKIT_KEY_EC_P384,
				    .subject = "/O=Example", .sans = sans,
				    .san_count = 2 };
	struct tlskit_error err = { 0 };
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens;
	X509_REQ *req;
	struct stat st;
	char name[256];

	assert_int_equal(tlskit_csr_write(&p, P(fx, "r.csr"), P(fx, "r.key"), 0,
					  &err), 0);
	assert_int_equal(stat(P(fx, "r.key"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	req = read_req(P(fx, "r.csr"));
	assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
	X509_NAME_oneline(X509_REQ_get_subject_name(req), name, sizeof(name));
	assert_string_equal(name, "/O=Example/CN=api.test");
	assert_int_equal(X509_REQ_get_signature_nid(req), NID_ecdsa_with_SHA384);
	exts = X509_REQ_get_extensions(req);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 2);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);

	/* No overwrite without asking; a bad SAN names itself. */
	assert_int_equal(tlskit_csr_write(&p, P(fx, "r.csr"), P(fx, "r.key"), 0,
					  &err), -1);
	assert_non_null(strstr(err.message, "file exists"));
	sans[1] = "bad name";
	assert_int_equal(tlskit_csr_write(&p, P(fx, "s.csr"), P(fx, "s.key"), 0,
					  &err), -1);
	assert_string_equal(err.message,
			    "generating certificate: SAN 'bad name': not a valid DNS name or IP address (letters, digits, '-', '.', leading '*.')");
	assert_int_equal(access(P(fx, "s.key"), F_OK), -1);
	assert_int_equal(tlskit_csr_write(NULL, P(fx, "s.csr"), P(fx, "s.key"),
					  0, &err), -1);
	assert_int_equal(err.category, TLSKIT_ERR_USAGE);
}

static void test_csr_sign(void **state)
{
	struct fixture *fx = *state;
	const char *sans[] = { "svc.test" };
	const char *other[] = { "email:a@b.test" };
	struct tlskit_certgen req = { .sans = sans, .san_count = 1 };
	struct tlskit_certgen sign = { .kind = TLSKIT_CERT_SERVER, .days = 10 };
	struct tlskit_error err = { 0 };
	char cert[256];
	X509 *x;

	make(fx, "ca", TLSKIT_CERT_CA, NULL, NULL);
	make(fx, "mid", TLSKIT_CERT_INTERMEDIATE, "ca", NULL);
	assert_int_equal(tlskit_csr_write(&req, P(fx, "r.csr"), P(fx, "r.key"),
					  0, &err), 0);
	sign.issuer_cert_file = P(fx, "mid.pem");
	sign.issuer_key_file = P(fx, "mid.key");
	sign.chain_file = P(fx, "out-chain.pem");
	snprintf(cert, sizeof(cert), "%s", P(fx, "out.pem"));
	assert_int_equal(tlskit_csr_sign(&sign, P(fx, "r.csr"), cert, 0, &err),
			 1);
	x = read_cert(cert);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_int_equal(X509_check_host(x, "svc.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ca(x), 0);
	X509_free(x);

	/* SANs replaced, client profile, no chain file under a root. */
	sign.kind = TLSKIT_CERT_CLIENT;
	sign.sans = other;
	sign.san_count = 1;
	sign.issuer_cert_file = P(fx, "ca.pem");
	sign.issuer_key_file = P(fx, "ca.key");
	sign.chain_file = P(fx, "c-chain.pem");
	snprintf(cert, sizeof(cert), "%s", P(fx, "c.pem"));
	assert_int_equal(tlskit_csr_sign(&sign, P(fx, "r.csr"), cert, 0, &err),
			 0);
	x = read_cert(cert);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_int_equal(X509_check_email(x, "a@b.test", 0, 0), 1);
	assert_int_equal(X509_check_host(x, "svc.test", 0,
					 X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL), 0);
	X509_free(x);
	assert_int_equal(access(P(fx, "c-chain.pem"), F_OK), -1);

	/* Kinds that do not sign requests, and input that is not one. */
	sign.kind = TLSKIT_CERT_SELF_SIGNED;
	assert_int_equal(tlskit_csr_sign(&sign, P(fx, "r.csr"), P(fx, "x.pem"),
					 0, &err), -1);
	assert_int_equal(err.category, TLSKIT_ERR_USAGE);
	sign.kind = TLSKIT_CERT_SERVER;
	assert_int_equal(tlskit_csr_sign(&sign, P(fx, "ca.pem"), P(fx, "x.pem"),
					 0, &err), -1);
	assert_non_null(strstr(err.message, "no PEM or DER certificate request found"));
	assert_int_equal(err.category, TLSKIT_ERR_CONFIG);
	assert_int_equal(ERR_peek_error(), 0);
}

static int revoked_count(const char *path)
{
	FILE *f = fopen(path, "r");
	X509_CRL *crl;
	int n;

	assert_non_null(f);
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(crl);
	n = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
	X509_CRL_free(crl);
	return n < 0 ? 0 : n;
}

static void test_crl(void **state)
{
	struct fixture *fx = *state;
	const char *revoke[] = { NULL, "0x1f:ff", "not-hex" };
	struct tlskit_crlgen p = { .revoke = revoke, .revoke_count = 2 };
	struct tlskit_verify_params vp = { 0 };
	struct tlskit_error err = { 0 };
	char leaf[256], crl[256];

	make(fx, "ca", TLSKIT_CERT_CA, NULL, NULL);
	make(fx, "other", TLSKIT_CERT_CA, NULL, NULL);
	make(fx, "leaf", TLSKIT_CERT_SERVER, "ca", "localhost");
	snprintf(leaf, sizeof(leaf), "%s", P(fx, "leaf.pem"));
	snprintf(crl, sizeof(crl), "%s", P(fx, "ca.crl"));
	revoke[0] = leaf;
	p.issuer_cert_file = P(fx, "ca.pem");
	p.issuer_key_file = P(fx, "ca.key");
	assert_int_equal(tlskit_crl_write(&p, crl, 0, &err), 0);
	assert_int_equal(revoked_count(crl), 2);
	assert_int_equal(tlskit_crl_write(&p, crl, 0, &err), -1);
	assert_non_null(strstr(err.message, "file exists"));

	/* The leaf still verifies (tlskit_chain_verify does not read CRLs). */
	vp.cert_file = leaf;
	vp.ca_file = P(fx, "ca.pem");
	assert_int_equal(tlskit_chain_verify(&vp, &err), 0);

	p.revoke_count = 3;
	assert_int_equal(tlskit_crl_write(&p, P(fx, "x.crl"), 0, &err), -1);
	assert_string_equal(err.message,
			    "revoking 'not-hex': no such certificate file, and not a hexadecimal serial");
	p.revoke_count = 1;
	p.issuer_cert_file = P(fx, "other.pem");
	p.issuer_key_file = P(fx, "other.key");
	assert_int_equal(tlskit_crl_write(&p, P(fx, "x.crl"), 0, &err), -1);
	assert_non_null(strstr(err.message, "it was not issued by CA"));
	p.issuer_key_file = P(fx, "ca.key");
	assert_int_equal(tlskit_crl_write(&p, P(fx, "x.crl"), 0, &err), -1);
	assert_non_null(strstr(err.message, "does not match issuer certificate"));
	assert_int_equal(access(P(fx, "x.crl"), F_OK), -1);
}

static void expect_verdict(struct tlskit_verify_params *vp,
			   enum tlskit_error_category cat, const char *words)
{
	struct tlskit_error err = { 0 };

	assert_int_equal(tlskit_chain_verify(vp, &err), -1);
	assert_int_equal(err.category, cat);
	if (!strstr(err.message, words))
		fail_msg("'%s' not in '%s'", words, err.message);
}

static void test_chain_verify(void **state)
{
	struct fixture *fx = *state;
	struct tlskit_verify_params vp = { 0 };
	struct tlskit_error err = { 0 };
	char chain[256], ca[256], cli[256];

	make(fx, "ca", TLSKIT_CERT_CA, NULL, NULL);
	make(fx, "mid", TLSKIT_CERT_INTERMEDIATE, "ca", NULL);
	make(fx, "srv", TLSKIT_CERT_SERVER, "mid", "localhost");
	make(fx, "cli", TLSKIT_CERT_CLIENT, "ca", NULL);
	snprintf(chain, sizeof(chain), "%s", P(fx, "srv-chain.pem"));
	snprintf(ca, sizeof(ca), "%s", P(fx, "ca.pem"));
	snprintf(cli, sizeof(cli), "%s", P(fx, "cli.pem"));

	vp.cert_file = chain;
	vp.ca_file = ca;
	vp.hostname = "localhost";
	vp.purpose = TLSKIT_PURPOSE_SERVER;
	assert_int_equal(tlskit_chain_verify(&vp, &err), 0);
	assert_int_equal(err.category, TLSKIT_ERR_NONE);

	vp.hostname = "other.test";
	expect_verdict(&vp, TLSKIT_ERR_VERIFY,
		       "hostname mismatch: certificate is valid for localhost; not other.test");
	vp.hostname = "127.0.0.1";
	expect_verdict(&vp, TLSKIT_ERR_VERIFY, "not 127.0.0.1");
	vp.hostname = NULL;
	vp.at = 4102444800; /* 2100-01-01: long after it expires */
	expect_verdict(&vp, TLSKIT_ERR_VERIFY, "certificate has expired");
	vp.at = 0;
	vp.cert_file = P(fx, "srv.pem"); /* without its intermediate */
	expect_verdict(&vp, TLSKIT_ERR_VERIFY,
		       "certificate verify failed at depth 0 (CN=localhost): unable to get local issuer certificate: issuer 'CN=mid' is not trusted");
	vp.untrusted_file = P(fx, "mid.pem");
	assert_int_equal(tlskit_chain_verify(&vp, &err), 0);

	vp.cert_file = cli;
	vp.untrusted_file = NULL;
	expect_verdict(&vp, TLSKIT_ERR_VERIFY, "unsuitable certificate purpose");
	vp.purpose = TLSKIT_PURPOSE_CLIENT;
	assert_int_equal(tlskit_chain_verify(&vp, &err), 0);

	vp.cert_file = P(fx, "missing.pem");
	expect_verdict(&vp, TLSKIT_ERR_CONFIG, "No such file or directory");
	vp.cert_file = P(fx, "ca.key");
	expect_verdict(&vp, TLSKIT_ERR_CONFIG, "no PEM or DER certificate found");
	vp.cert_file = cli;
	vp.ca_file = P(fx, "nope.pem");
	expect_verdict(&vp, TLSKIT_ERR_CONFIG, "loading CA file '");
	vp.ca_file = ca;
	vp.purpose = 42;
	expect_verdict(&vp, TLSKIT_ERR_USAGE, "unknown purpose");
	assert_int_equal(tlskit_chain_verify(NULL, &err), -1);
	assert_int_equal(ERR_peek_error(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_csr_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csr_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_verify, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
