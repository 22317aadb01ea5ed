/*
 * test_certgen.c - tlskit_certgen_write: every kind and key type, checked
 * by parsing the result back and verifying it with OpenSSL; bad input.
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

static void path_in(const struct fixture *fx, const char *name, char *buf,
		    size_t len)
{
	int n = snprintf(buf, len, "%s/%s", fx->dir, name);

	assert_true(n > 0 && (size_t)n < len);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/tlskit-certgen-XXXXXX");
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

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
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

/* Writes NAME.pem and NAME.key; issuer is the name of an earlier one. */
static int gen(const struct fixture *fx, const char *name,
	       struct tlskit_certgen *p, const char *issuer,
	       struct tlskit_error *err)
{
	char cert[256], key[256], icert[256], ikey[256], file[128];

	snprintf(file, sizeof(file), "%s.pem", name);
	path_in(fx, file, cert, sizeof(cert));
	snprintf(file, sizeof(file), "%s.key", name);
	path_in(fx, file, key, sizeof(key));
	if (issuer) {
		snprintf(file, sizeof(file), "%s.pem", issuer);
		path_in(fx, file, icert, sizeof(icert));
		snprintf(file, sizeof(file), "%s.key", issuer);
		path_in(fx, file, ikey, sizeof(ikey));
		p->issuer_cert_file = icert;
		p->issuer_key_file = ikey;
	}
	return tlskit_certgen_write(p, cert, key, 0, err);
}

static void gen_ok(const struct fixture *fx, const char *name,
		   struct tlskit_certgen *p, const char *issuer)
{
	struct tlskit_error err = { 0 };

	if (gen(fx, name, p, issuer, &err) < 0)
		fail_msg("generating %s: %s", name, err.message);
}

static void gen_ca(const struct fixture *fx, const char *name)
{
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_CA,
				    .common_name = "Test CA" };

	gen_ok(fx, name, &p, NULL);
}

static X509 *read_x509(const struct fixture *fx, const char *name)
{
	char path[256], file[128];
	FILE *f;
	X509 *x;

	snprintf(file, sizeof(file), "%s.pem", name);
	path_in(fx, file, path, sizeof(path));
	f = fopen(path, "r");
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static tlskit_cert *load(const struct fixture *fx, const char *name)
{
	struct tlskit_error err = { 0 };
	char path[256], file[128];
	tlskit_cert *cert;

	snprintf(file, sizeof(file), "%s.pem", name);
	path_in(fx, file, path, sizeof(path));
	cert = tlskit_cert_load_file(path, &err);
	if (!cert)
		fail_msg("loading %s: %s", name, err.message);
	return cert;
}

/* X509_verify_cert of leaf against ca as the only trust anchor; the
 * purpose (sslserver, sslclient) is checked too. */
static int verify(const struct fixture *fx, const char *ca, const char *leaf,
		  int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *anchor = read_x509(fx, ca), *x = read_x509(fx, leaf);
	int rc;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, anchor), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
	if (purpose)
		X509_STORE_CTX_set_purpose(ctx, purpose);
	rc = X509_verify_cert(ctx) == 1 ? 0 : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(anchor);
	X509_free(x);
	return rc;
}

static int file_mode(const struct fixture *fx, const char *file)
{
	char path[256];
	struct stat st;

	path_in(fx, file, path, sizeof(path));
	if (stat(path, &st) < 0)
		return -1;
	return (int)(st.st_mode & 0777);
}

static void test_ca_and_server(void **state)
{
	const struct fixture *fx = *state;
	const char *sans[] = { "localhost", "127.0.0.1", "::1", "DNS:api.test" };
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_SERVER, .sans = sans,
				    .san_count = 4 };
	tlskit_cert *cert;
	time_t now = time(NULL);
	X509 *x;

	gen_ca(fx, "ca");
	gen_ok(fx, "server", &p, "ca");
	assert_int_equal(verify(fx, "ca", "server", X509_PURPOSE_SSL_SERVER), 0);
	assert_int_equal(file_mode(fx, "server.key"), 0600);
	assert_int_equal(file_mode(fx, "ca.key"), 0600);

	cert = load(fx, "server");
	assert_string_equal(tlskit_cert_subject(cert), "CN=localhost");
	assert_string_equal(tlskit_cert_issuer(cert), "CN=Test CA");
	assert_int_equal(tlskit_cert_san_count(cert), 4);
	assert_string_equal(tlskit_cert_san(cert, 0), "DNS:localhost");
	assert_string_equal(tlskit_cert_san(cert, 1), "IP:127.0.0.1");
	assert_string_equal(tlskit_cert_san(cert, 2), "IP:::1");
	assert_string_equal(tlskit_cert_san(cert, 3), "DNS:api.test");
	/* Defaults: valid from 5 minutes ago for 825 days. */
	assert_true(tlskit_cert_not_before(cert) <= now - 290);
	assert_true(tlskit_cert_not_before(cert) >= now - 310);
	assert_int_equal(tlskit_cert_not_after(cert) - tlskit_cert_not_before(cert),
			 825 * 86400);
	tlskit_cert_free(cert);

	x = read_x509(fx, "server");
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_false(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_non_null(X509_get0_authority_key_id(x));
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	X509_free(x);

	x = read_x509(fx, "ca");
	assert_int_equal(X509_check_ca(x), 1);
	assert_true(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(x) & KU_CRL_SIGN);
	assert_int_equal(X509_get_extended_key_usage(x), UINT32_MAX);
	X509_free(x);

	cert = load(fx, "ca");
	assert_int_equal(tlskit_cert_not_after(cert) - tlskit_cert_not_before(cert),
			 3650 * 86400);
	tlskit_cert_free(cert);
}

static void test_client(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_CLIENT,
				    .common_name = "alice" };
	tlskit_cert *cert;
	X509 *x;

	gen_ca(fx, "ca");
	gen_ok(fx, "client", &p, "ca");
	assert_int_equal(verify(fx, "ca", "client", X509_PURPOSE_SSL_CLIENT), 0);
	assert_int_not_equal(verify(fx, "ca", "client", X509_PURPOSE_SSL_SERVER), 0);
	cert = load(fx, "client");
	assert_string_equal(tlskit_cert_subject(cert), "CN=alice");
	assert_int_equal(tlskit_cert_san_count(cert), 0);
	tlskit_cert_free(cert);
	x = read_x509(fx, "client");
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_false(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	X509_free(x);
}

static void test_self_signed(void **state)
{
	const struct fixture *fx = *state;
	const char *sans[] = { "IP:127.0.0.1", "localhost" };
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_SELF_SIGNED,
				    .sans = sans, .san_count = 2 };
	tlskit_cert *cert;
	X509 *x;

	gen_ok(fx, "self", &p, NULL);
	assert_int_equal(verify(fx, "self", "self", X509_PURPOSE_SSL_SERVER), 0);
	assert_int_equal(verify(fx, "self", "self", X509_PURPOSE_SSL_CLIENT), 0);
	cert = load(fx, "self");
	/* The CN defaults to the first SAN's value. */
	assert_string_equal(tlskit_cert_subject(cert), "CN=127.0.0.1");
	assert_string_equal(tlskit_cert_issuer(cert), "CN=127.0.0.1");
	tlskit_cert_free(cert);
	x = read_x509(fx, "self");
	assert_int_equal(X509_check_ca(x), 0);
	X509_free(x);
}

/* A server certificate with only a CN gets that CN as a DNS SAN. */
static void test_cn_becomes_san(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_SERVER,
				    .common_name = "only-cn.test" };
	tlskit_cert *cert;

	gen_ca(fx, "ca");
	gen_ok(fx, "leaf", &p, "ca");
	cert = load(fx, "leaf");
	assert_int_equal(tlskit_cert_san_count(cert), 1);
	assert_string_equal(tlskit_cert_san(cert, 0), "DNS:only-cn.test");
	tlskit_cert_free(cert);
}

static void test_expired(void **state)
{
	const struct fixture *fx = *state;
	const char *sans[] = { "localhost" };
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_SERVER, .sans = sans,
				    .san_count = 1,
				    .not_before = 1577836800,  /* 2020-01-01 */
				    .not_after = 1609459200 }; /* 2021-01-01 */
	tlskit_cert *cert;

	gen_ca(fx, "ca");
	gen_ok(fx, "expired", &p, "ca");
	assert_int_equal(verify(fx, "ca", "expired", 0),
			 X509_V_ERR_CERT_HAS_EXPIRED);
	cert = load(fx, "expired");
	assert_int_equal(tlskit_cert_not_before(cert), 1577836800);
	assert_int_equal(tlskit_cert_not_after(cert), 1609459200);
	tlskit_cert_free(cert);
}

static void test_days(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_CA, .days = 7,
				    .not_before = 2000000000 };
	tlskit_cert *cert;

	gen_ok(fx, "future", &p, NULL);
	assert_int_equal(verify(fx, "future", "future", 0),
			 X509_V_ERR_CERT_NOT_YET_VALID);
	cert = load(fx, "future");
	assert_int_equal(tlskit_cert_not_before(cert), 2000000000);
	assert_int_equal(tlskit_cert_not_after(cert), 2000000000 + 7 * 86400);
	assert_string_equal(tlskit_cert_subject(cert), "CN=tlskit development CA");
	tlskit_cert_free(cert);
}

struct key_case {
	enum tlskit_key_type type;
	int pkey_id;
	int bits;
	int sig_nid; /* when it signs its own certificate */
};

static void check_key_type(const struct fixture *fx, const struct key_case *kc)
{
	const char *sans[] = { "localhost" };
	struct tlskit_certgen ca = { .kind = TLSKIT_CERT_CA, .key_type = kc->type };
	struct tlskit_certgen leaf = { .kind = TLSKIT_CERT_SERVER,
				       .key_type = kc->type, .sans = sans,
				       .san_count = 1 };
	char ca_name[32], leaf_name[32];
	X509 *x;
	EVP_PKEY *pk;

	snprintf(ca_name, sizeof(ca_name), "ca%d", (int)kc->type);
	snprintf(leaf_name, sizeof(leaf_name), "leaf%d", (int)kc->type);
	gen_ok(fx, ca_name, &ca, NULL);
	gen_ok(fx, leaf_name, &leaf, ca_name);
	assert_int_equal(verify(fx, ca_name, leaf_name, X509_PURPOSE_SSL_SERVER), 0);
	x = read_x509(fx, leaf_name);
	pk = X509_get0_pubkey(x);
	assert_int_equal(EVP_PKEY_get_base_id(pk), kc->pkey_id);
	assert_int_equal(EVP_PKEY_get_bits(pk), kc->bits);
	assert_int_equal(X509_get_signature_nid(x), kc->sig_nid);
	if (kc->pkey_id == EVP_PKEY_RSA)
		assert_true(X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT);
	else
		assert_false(X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT);
	X509_free(x);
}

static void test_key_types(void **state)
{
	static const struct key_case cases[] = {
		{ TLSKIT_KEY_EC_P256, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA256 },
		{ TLSKIT_KEY_EC_P384, EVP_PKEY_EC, 384, NID_ecdsa_with_SHA384 },
		{ TLSKIT_KEY_ED25519, EVP_PKEY_ED25519, 256, NID_ED25519 },
		{ TLSKIT_KEY_RSA2048, EVP_PKEY_RSA, 2048, NID_sha256WithRSAEncryption },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_key_type(*state, &cases[i]);
}

/* The digest follows the signer: a P-256 leaf under a P-384 CA is SHA-384. */
static void test_digest_follows_issuer(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_certgen ca = { .kind = TLSKIT_CERT_CA,
				     .key_type = TLSKIT_KEY_EC_P384 };
	struct tlskit_certgen leaf = { .kind = TLSKIT_CERT_CLIENT,
				       .common_name = "bob" };
	X509 *x;

	gen_ok(fx, "ca384", &ca, NULL);
	gen_ok(fx, "bob", &leaf, "ca384");
	x = read_x509(fx, "bob");
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 256);
	X509_free(x);
}

/* An intermediate: a CA signed by another CA; leaves under it verify. */
static void test_intermediate(void **state)
{
	const struct fixture *fx = *state;
	const char *sans[] = { "localhost" };
	struct tlskit_certgen mid = { .kind = TLSKIT_CERT_CA,
				      .common_name = "Intermediate" };
	struct tlskit_certgen leaf = { .kind = TLSKIT_CERT_SERVER,
				       .sans = sans, .san_count = 1 };
	tlskit_cert *cert;

	gen_ca(fx, "root");
	gen_ok(fx, "mid", &mid, "root");
	gen_ok(fx, "leaf", &leaf, "mid");
	assert_int_equal(verify(fx, "root", "mid", 0), 0);
	cert = load(fx, "mid");
	assert_string_equal(tlskit_cert_issuer(cert), "CN=Test CA");
	tlskit_cert_free(cert);
	cert = load(fx, "leaf");
	assert_string_equal(tlskit_cert_issuer(cert), "CN=Intermediate");
	tlskit_cert_free(cert);
}

static void test_serials(void **state)
{
	const struct fixture *fx = *state;
	tlskit_cert *a, *b;

	gen_ca(fx, "a");
	gen_ca(fx, "b");
	a = load(fx, "a");
	b = load(fx, "b");
	/* 128 bits, top bit clear and the next set: always 32 hex digits. */
	assert_int_equal(strlen(tlskit_cert_serial(a)), 32);
	assert_int_equal(strlen(tlskit_cert_serial(b)), 32);
	assert_true(strchr("4567", tlskit_cert_serial(a)[0]) != NULL);
	assert_string_not_equal(tlskit_cert_serial(a), tlskit_cert_serial(b));
	tlskit_cert_free(a);
	tlskit_cert_free(b);
}

static int exists(const struct fixture *fx, const char *file)
{
	return file_mode(fx, file) >= 0;
}

static void expect_san_error(const struct fixture *fx, const char *san,
			     const char *message)
{
	const char *sans[] = { "localhost", san };
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_SELF_SIGNED,
				    .sans = sans, .san_count = 2 };
	struct tlskit_error err = { 0 };

	assert_int_equal(gen(fx, "bad", &p, NULL, &err), -1);
	assert_int_equal(err.category, TLSKIT_ERR_USAGE);
	assert_string_equal(err.message, message);
	assert_false(exists(fx, "bad.pem"));
	assert_false(exists(fx, "bad.key"));
}

static void test_bad_sans(void **state)
{
	const struct fixture *fx = *state;

	expect_san_error(fx, "", "generating certificate: empty SAN entry");
	expect_san_error(fx, "a b",
			 "generating certificate: SAN 'a b': not a valid DNS name or IP address (letters, digits, '-', '.', leading '*.')");
	expect_san_error(fx, "DNS:x..y",
			 "generating certificate: SAN 'DNS:x..y': not a valid DNS name or IP address (letters, digits, '-', '.', leading '*.')");
	expect_san_error(fx, "a.*.test",
			 "generating certificate: SAN 'a.*.test': not a valid DNS name or IP address (letters, digits, '-', '.', leading '*.')");
	expect_san_error(fx, "IP:300.1.1.1",
			 "generating certificate: SAN 'IP:300.1.1.1': not a valid IPv4 or IPv6 address");
	expect_san_error(fx, "email:nobody",
			 "generating certificate: SAN 'email:nobody': not a valid email address");
	expect_san_error(fx, "URI:no-scheme",
			 "generating certificate: SAN 'URI:no-scheme': not a valid URI (scheme:rest)");
}

static void test_all_san_types(void **state)
{
	const struct fixture *fx = *state;
	const char *sans[] = { "*.wild.test", "IP:10.0.0.1", "fe80::1",
			       "email:ops@example.test", "URI:spiffe://test/svc" };
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_SELF_SIGNED,
				    .common_name = "svc", .sans = sans,
				    .san_count = 5 };
	tlskit_cert *cert;

	gen_ok(fx, "all", &p, NULL);
	cert = load(fx, "all");
	assert_int_equal(tlskit_cert_san_count(cert), 5);
	assert_string_equal(tlskit_cert_san(cert, 0), "DNS:*.wild.test");
	assert_string_equal(tlskit_cert_san(cert, 1), "IP:10.0.0.1");
	assert_string_equal(tlskit_cert_san(cert, 2), "IP:fe80::1");
	assert_string_equal(tlskit_cert_san(cert, 3), "email:ops@example.test");
	assert_string_equal(tlskit_cert_san(cert, 4), "URI:spiffe://test/svc");
	tlskit_cert_free(cert);
}

static void test_overwrite(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_CA };
	struct tlskit_error err = { 0 };
	char cert[256], key[256], msg[600];
	tlskit_cert *before, *after;

	gen_ca(fx, "ca");
	before = load(fx, "ca");
	path_in(fx, "ca.pem", cert, sizeof(cert));
	path_in(fx, "ca.key", key, sizeof(key));
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, &err), -1);
	snprintf(msg, sizeof(msg),
		 "writing key '%s': file exists (use --force to overwrite)", key);
	assert_string_equal(err.message, msg);
	assert_int_equal(err.category, TLSKIT_ERR_CONFIG);

	/* A key left world-readable is tightened when overwritten. */
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 1, &err), 0);
	assert_int_equal(file_mode(fx, "ca.key"), 0600);
	after = load(fx, "ca");
	assert_string_not_equal(tlskit_cert_fingerprint_sha256(before),
				tlskit_cert_fingerprint_sha256(after));
	tlskit_cert_free(before);
	tlskit_cert_free(after);

	/* Only the certificate exists: still refused, and no key appears. */
	assert_int_equal(unlink(key), 0);
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, &err), -1);
	assert_non_null(strstr(err.message, "file exists"));
	assert_false(exists(fx, "ca.key"));
}

static void test_issuer_errors(void **state)
{
	const struct fixture *fx = *state;
	const char *sans[] = { "localhost" };
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_SERVER, .sans = sans,
				    .san_count = 1 };
	struct tlskit_error err = { 0 };
	char cert[256], key[256], icert[256], ikey[256], msg[1200];

	gen_ca(fx, "ca");
	gen_ca(fx, "other");
	path_in(fx, "leaf.pem", cert, sizeof(cert));
	path_in(fx, "leaf.key", key, sizeof(key));

	/* Issuer key of another CA. */
	path_in(fx, "ca.pem", icert, sizeof(icert));
	path_in(fx, "other.key", ikey, sizeof(ikey));
	p.issuer_cert_file = icert;
	p.issuer_key_file = ikey;
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, &err), -1);
	snprintf(msg, sizeof(msg),
		 "loading issuer key '%s': it does not match issuer certificate '%s'",
		 ikey, icert);
	assert_string_equal(err.message, msg);

	/* Missing issuer certificate. */
	path_in(fx, "missing.pem", icert, sizeof(icert));
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, &err), -1);
	snprintf(msg, sizeof(msg),
		 "loading issuer certificate '%s': No such file or directory",
		 icert);
	assert_string_equal(err.message, msg);
	assert_int_equal(err.category, TLSKIT_ERR_CONFIG);

	/* A key file as the issuer certificate. */
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, &err), -1);
	p.issuer_cert_file = ikey;
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, &err), -1);
	assert_non_null(strstr(err.message, "no PEM or DER certificate found"));

	/* A leaf is not an issuer. */
	p.issuer_cert_file = NULL;
	p.issuer_key_file = NULL;
	p.kind = TLSKIT_CERT_SELF_SIGNED;
	gen_ok(fx, "leaf", &p, NULL);
	p.kind = TLSKIT_CERT_SERVER;
	assert_int_equal(gen(fx, "leaf2", &p, "leaf", &err), -1);
	assert_non_null(strstr(err.message, "not a CA certificate"));

	/* Server without any issuer. */
	p.issuer_cert_file = NULL;
	p.issuer_key_file = NULL;
	assert_int_equal(gen(fx, "leaf3", &p, NULL, &err), -1);
	assert_int_equal(err.category, TLSKIT_ERR_USAGE);
	assert_false(exists(fx, "leaf2.key"));
	assert_false(exists(fx, "leaf3.key"));
}

static void test_bad_params(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_SELF_SIGNED };
	struct tlskit_error err = { 0 };
	char cert[256], key[256];

	path_in(fx, "x.pem", cert, sizeof(cert));
	path_in(fx, "x.key", key, sizeof(key));
	/* No CN and no SAN for a leaf. */
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, &err), -1);
	assert_non_null(strstr(err.message, "common name"));
	p.common_name = "x";
	p.not_before = 2000000000;
	p.not_after = 1900000000;
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, &err), -1);
	assert_non_null(strstr(err.message, "not_after"));
	p.not_after = 0;
	p.days = -1;
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, &err), -1);
	p.days = 0;
	p.key_type = 99;
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, &err), -1);
	assert_non_null(strstr(err.message, "key type"));
	p.key_type = TLSKIT_KEY_EC_P256;
	assert_int_equal(tlskit_certgen_write(&p, cert, cert, 0, &err), -1);
	assert_int_equal(tlskit_certgen_write(NULL, cert, key, 0, &err), -1);
	assert_int_equal(tlskit_certgen_write(&p, NULL, key, 0, &err), -1);
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, NULL), 0);
	/* Writing into a missing directory names the file and the cause. */
	path_in(fx, "nodir/y.pem", cert, sizeof(cert));
	path_in(fx, "nodir/y.key", key, sizeof(key));
	assert_int_equal(tlskit_certgen_write(&p, cert, key, 0, &err), -1);
	assert_non_null(strstr(err.message, "writing key '"));
	assert_non_null(strstr(err.message, "No such file or directory"));
	assert_int_equal(ERR_peek_error(), 0);
}

/* The pathlen a CA certificate carries, -1 for none, -2 for not a CA. */
static long pathlen_of(const struct fixture *fx, const char *name)
{
	X509 *x = read_x509(fx, name);
	long len = X509_check_ca(x) ? X509_get_pathlen(x) : -2;

	X509_free(x);
	return len;
}

static void test_intermediate_kind_and_pathlen(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_certgen root = { .kind = TLSKIT_CERT_CA };
	struct tlskit_certgen root2 = { .kind = TLSKIT_CERT_CA,
					.pathlen_set = 1, .pathlen = 2 };
	struct tlskit_certgen mid = { .kind = TLSKIT_CERT_INTERMEDIATE };
	struct tlskit_certgen mid3 = { .kind = TLSKIT_CERT_INTERMEDIATE,
				       .pathlen_set = 1, .pathlen = 3 };
	struct tlskit_error err = { 0 };
	tlskit_cert *cert;

	gen_ok(fx, "root", &root, NULL);
	gen_ok(fx, "root2", &root2, NULL);
	gen_ok(fx, "mid", &mid, "root");
	gen_ok(fx, "mid3", &mid3, "root");
	assert_int_equal(pathlen_of(fx, "root"), -1);
	assert_int_equal(pathlen_of(fx, "root2"), 2);
	assert_int_equal(pathlen_of(fx, "mid"), 0);
	assert_int_equal(pathlen_of(fx, "mid3"), 3);
	assert_int_equal(verify(fx, "root", "mid", 0), 0);
	cert = load(fx, "mid");
	assert_string_equal(tlskit_cert_subject(cert), "CN=tlskit intermediate CA");
	tlskit_cert_free(cert);
	/* An intermediate needs an issuer (gen() left mid pointing at one). */
	mid.issuer_cert_file = NULL;
	mid.issuer_key_file = NULL;
	assert_int_equal(gen(fx, "lonely", &mid, NULL, &err), -1);
	assert_int_equal(err.category, TLSKIT_ERR_USAGE);
	assert_non_null(strstr(err.message, "intermediate certificates need an issuer"));
}

/* A leaf under an intermediate gets a chain file (leaf + intermediate);
 * under a root it does not, and the return value says which. */
static void test_chain_file(void **state)
{
	const struct fixture *fx = *state;
	const char *sans[] = { "localhost" };
	struct tlskit_certgen mid = { .kind = TLSKIT_CERT_INTERMEDIATE };
	struct tlskit_certgen leaf = { .kind = TLSKIT_CERT_SERVER,
				       .sans = sans, .san_count = 1 };
	struct tlskit_error err = { 0 };
	char chain[256];
	STACK_OF(X509_INFO) *infos;
	FILE *f;

	gen_ca(fx, "root");
	gen_ok(fx, "mid", &mid, "root");
	path_in(fx, "leaf-chain.pem", chain, sizeof(chain));
	leaf.chain_file = chain;
	assert_int_equal(gen(fx, "rootleaf", &leaf, "root", &err), 0);
	assert_false(exists(fx, "leaf-chain.pem"));
	assert_int_equal(gen(fx, "leaf", &leaf, "mid", &err), 1);
	f = fopen(chain, "r");
	assert_non_null(f);
	infos = PEM_X509_INFO_read(f, NULL, NULL, NULL);
	fclose(f);
	assert_int_equal(sk_X509_INFO_num(infos), 2);
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	/* An existing chain file is refused like the others. */
	assert_int_equal(unlink(chain) == 0 ? 0 : -1, 0);
	assert_int_equal(gen(fx, "leaf", &leaf, "mid", &err), -1);
	assert_non_null(strstr(err.message, "file exists"));
}

static void test_subject_fields(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_CA,
				    .subject = "/C=DE/O=Ex\\/ample/OU=Ops" };
	struct tlskit_certgen cn_in_subject = {
		.kind = TLSKIT_CERT_SELF_SIGNED, .subject = "/O=x/CN=svc.test" };
	struct tlskit_error err = { 0 };
	tlskit_cert *cert;

	gen_ok(fx, "ca", &p, NULL);
	cert = load(fx, "ca");
	assert_string_equal(tlskit_cert_subject(cert),
			    "CN=tlskit development CA,OU=Ops,O=Ex/ample,C=DE");
	tlskit_cert_free(cert);
	gen_ok(fx, "svc", &cn_in_subject, NULL);
	cert = load(fx, "svc");
	assert_string_equal(tlskit_cert_subject(cert), "CN=svc.test,O=x");
	/* A DNS-like CN of a self-signed leaf becomes its SAN. */
	assert_int_equal(tlskit_cert_san_count(cert), 1);
	assert_string_equal(tlskit_cert_san(cert, 0), "DNS:svc.test");
	tlskit_cert_free(cert);

	cn_in_subject.common_name = "other";
	assert_int_equal(gen(fx, "twice", &cn_in_subject, NULL, &err), -1);
	assert_non_null(strstr(err.message, "common name is given twice"));
	p.subject = "O=no-slash";
	assert_int_equal(gen(fx, "bad1", &p, NULL, &err), -1);
	assert_non_null(strstr(err.message, "expected /FIELD=value"));
	p.subject = "/NOPE=x";
	assert_int_equal(gen(fx, "bad2", &p, NULL, &err), -1);
	assert_non_null(strstr(err.message, "field 'NOPE'"));
	p.subject = "/O=";
	assert_int_equal(gen(fx, "bad3", &p, NULL, &err), -1);
	assert_int_equal(err.category, TLSKIT_ERR_USAGE);
	assert_false(exists(fx, "bad3.key"));
}

static char *pubkey_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *copy;
	long len;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PUBKEY(bio, X509_get0_pubkey(x)), 1);
	len = BIO_get_mem_data(bio, &data);
	copy = strndup(data, (size_t)len);
	BIO_free(bio);
	return copy;
}

/* Renewal with key_file, and a passphrase both ways. */
static void test_key_file_and_passphrase(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_certgen enc = { .kind = TLSKIT_CERT_CA,
				      .passphrase = "s3cret" };
	struct tlskit_certgen renew = { .kind = TLSKIT_CERT_CA };
	struct tlskit_error err = { 0 };
	char key[256], text[4096];
	X509 *a, *b;
	char *pa, *pb;
	FILE *f;
	size_t n;

	gen_ok(fx, "enc", &enc, NULL);
	path_in(fx, "enc.key", key, sizeof(key));
	f = fopen(key, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	assert_non_null(strstr(text, "BEGIN ENCRYPTED PRIVATE KEY"));

	renew.key_file = key;
	assert_int_equal(gen(fx, "renew", &renew, NULL, &err), -1);
	assert_int_equal(err.category, TLSKIT_ERR_CONFIG);
	assert_non_null(strstr(err.message, "the key is encrypted and no passphrase was given"));
	renew.passphrase = "wrong";
	assert_int_equal(gen(fx, "renew", &renew, NULL, &err), -1);
	assert_non_null(strstr(err.message, "wrong passphrase"));
	renew.passphrase = "s3cret";
	gen_ok(fx, "renew", &renew, NULL);
	a = read_x509(fx, "enc");
	b = read_x509(fx, "renew");
	pa = pubkey_pem(a);
	pb = pubkey_pem(b);
	assert_string_equal(pa, pb);
	free(pa);
	free(pb);
	X509_free(a);
	X509_free(b);
}

static void test_encrypted_issuer_key(void **state)
{
	const struct fixture *fx = *state;
	const char *sans[] = { "localhost" };
	struct tlskit_certgen ca = { .kind = TLSKIT_CERT_CA,
				     .passphrase = "pw" };
	struct tlskit_certgen leaf = { .kind = TLSKIT_CERT_CLIENT,
				       .sans = sans, .san_count = 1 };
	struct tlskit_error err = { 0 };

	gen_ok(fx, "ca", &ca, NULL);
	assert_int_equal(gen(fx, "leaf", &leaf, "ca", &err), -1);
	assert_non_null(strstr(err.message, "loading issuer key '"));
	assert_non_null(strstr(err.message, "no passphrase was given"));
	leaf.issuer_passphrase = "pw";
	assert_int_equal(gen(fx, "leaf", &leaf, "ca", &err), 0);
	assert_int_equal(verify(fx, "ca", "leaf", X509_PURPOSE_SSL_CLIENT), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ca_and_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cn_becomes_san, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_days, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_follows_issuer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intermediate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_san_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issuer_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intermediate_kind_and_pathlen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subject_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_file_and_passphrase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encrypted_issuer_key, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
