/*
 * test_certinfo.c - tlskit_cert: parsing PEM and DER, every getter checked
 * against what OpenSSL itself says, bad input, the internal name helpers.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "internal.h"

struct fixture {
	char dir[64];
	char ca_pem[128];
	char ca_key[128];
	char leaf_pem[128];
	char leaf_key[128];
};

static int setup(void **state)
{
	const char *sans[] = { "localhost", "127.0.0.1", "IP:::1",
			       "email:ops@example.test", "URI:https://example.test/x" };
	struct tlskit_certgen ca = { .kind = TLSKIT_CERT_CA,
				     .common_name = "Info CA" };
	struct tlskit_certgen leaf = { .kind = TLSKIT_CERT_SERVER,
				       .sans = sans, .san_count = 5,
				       .not_before = 1700000000,
				       .not_after = 1900000000 };
	struct tlskit_error err = { 0 };
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/tlskit-certinfo-XXXXXX");
	if (!mkdtemp(fx->dir))
		goto fail;
	snprintf(fx->ca_pem, sizeof(fx->ca_pem), "%s/ca.pem", fx->dir);
	snprintf(fx->ca_key, sizeof(fx->ca_key), "%s/ca.key", fx->dir);
	snprintf(fx->leaf_pem, sizeof(fx->leaf_pem), "%s/leaf.pem", fx->dir);
	snprintf(fx->leaf_key, sizeof(fx->leaf_key), "%s/leaf.key", fx->dir);
	leaf.issuer_cert_file = fx->ca_pem;
	leaf.issuer_key_file = fx->ca_key;
	*state = fx;
	if (tlskit_certgen_write(&ca, fx->ca_pem, fx->ca_key, 0, &err) < 0 ||
	    tlskit_certgen_write(&leaf, fx->leaf_pem, fx->leaf_key, 0, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.message);
		return -1;
	}
	return 0;
fail:
	free(fx);
	return -1;
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

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(65536);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static X509 *read_x509(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static tlskit_cert *load_ok(const char *path)
{
	struct tlskit_error err = { 0 };
	tlskit_cert *cert = tlskit_cert_load_file(path, &err);

	if (!cert)
		fail_msg("%s", err.message);
	assert_int_equal(err.category, TLSKIT_ERR_NONE);
	return cert;
}

static void to_hex(const unsigned char *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
	out[2 * len] = '\0';
}

static void test_fields(void **state)
{
	const struct fixture *fx = *state;
	tlskit_cert *cert = load_ok(fx->leaf_pem);

	assert_string_equal(tlskit_cert_subject(cert), "CN=localhost");
	assert_string_equal(tlskit_cert_issuer(cert), "CN=Info CA");
	assert_int_equal(tlskit_cert_san_count(cert), 5);
	assert_string_equal(tlskit_cert_san(cert, 0), "DNS:localhost");
	assert_string_equal(tlskit_cert_san(cert, 1), "IP:127.0.0.1");
	assert_string_equal(tlskit_cert_san(cert, 2), "IP:::1");
	assert_string_equal(tlskit_cert_san(cert, 3), "email:ops@example.test");
	assert_string_equal(tlskit_cert_san(cert, 4), "URI:https://example.test/x");
	assert_null(tlskit_cert_san(cert, 5));
	assert_int_equal(tlskit_cert_not_before(cert), 1700000000);
	assert_int_equal(tlskit_cert_not_after(cert), 1900000000);
	tlskit_cert_free(cert);
}

/* Serial, fingerprint and DER are exactly what OpenSSL computes. */
static void test_matches_openssl(void **state)
{
	const struct fixture *fx = *state;
	tlskit_cert *cert = load_ok(fx->leaf_pem);
	X509 *x = read_x509(fx->leaf_pem);
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int md_len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	const unsigned char *our_der;
	size_t our_len = 0;
	int der_len;

	assert_int_equal(X509_digest(x, EVP_sha256(), md, &md_len), 1);
	to_hex(md, md_len, hex);
	assert_string_equal(tlskit_cert_fingerprint_sha256(cert), hex);
	assert_int_equal(strlen(hex), 64);

	assert_non_null(bn);
	assert_int_equal(BN_num_bytes(bn), 16);
	assert_true(BN_bn2bin(bn, md) == 16);
	to_hex(md, 16, hex);
	assert_string_equal(tlskit_cert_serial(cert), hex);
	BN_free(bn);

	der_len = i2d_X509(x, &der);
	assert_true(der_len > 0);
	our_der = tlskit_cert_der(cert, &our_len);
	assert_int_equal(our_len, (size_t)der_len);
	assert_memory_equal(our_der, der, (size_t)der_len);
	OPENSSL_free(der);
	X509_free(x);
	tlskit_cert_free(cert);
}

/* The same certificate from PEM in memory, DER in memory and a DER file. */
static void test_parse_pem_and_der(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_error err = { 0 };
	tlskit_cert *file = load_ok(fx->leaf_pem), *pem, *der, *der_file;
	char path[256];
	size_t pem_len, der_len;
	char *pem_data = read_file(fx->leaf_pem, &pem_len);
	const unsigned char *der_data = tlskit_cert_der(file, &der_len);

	pem = tlskit_cert_parse(pem_data, pem_len, &err);
	assert_non_null(pem);
	der = tlskit_cert_parse(der_data, der_len, &err);
	assert_non_null(der);
	snprintf(path, sizeof(path), "%s/leaf.der", fx->dir);
	write_file(path, der_data, der_len);
	der_file = load_ok(path);
	assert_string_equal(tlskit_cert_fingerprint_sha256(pem),
			    tlskit_cert_fingerprint_sha256(file));
	assert_string_equal(tlskit_cert_fingerprint_sha256(der),
			    tlskit_cert_fingerprint_sha256(file));
	assert_string_equal(tlskit_cert_fingerprint_sha256(der_file),
			    tlskit_cert_fingerprint_sha256(file));
	free(pem_data);
	tlskit_cert_free(pem);
	tlskit_cert_free(der);
	tlskit_cert_free(der_file);
	tlskit_cert_free(file);
}

/* A key before the certificate in one PEM file is skipped. */
static void test_pem_with_key_first(void **state)
{
	const struct fixture *fx = *state;
	size_t key_len, cert_len;
	char *key = read_file(fx->leaf_key, &key_len);
	char *pem = read_file(fx->leaf_pem, &cert_len);
	char *both = malloc(key_len + cert_len);
	struct tlskit_error err = { 0 };
	tlskit_cert *cert;

	assert_non_null(both);
	memcpy(both, key, key_len);
	memcpy(both + key_len, pem, cert_len);
	cert = tlskit_cert_parse(both, key_len + cert_len, &err);
	assert_non_null(cert);
	assert_string_equal(tlskit_cert_subject(cert), "CN=localhost");
	tlskit_cert_free(cert);
	/* ...but a key alone is no certificate. */
	assert_null(tlskit_cert_parse(key, key_len, &err));
	assert_string_equal(err.message,
			    "parsing certificate: no PEM or DER certificate found");
	free(both);
	free(key);
	free(pem);
}

static void expect_load_error(const char *path, const char *reason)
{
	struct tlskit_error err = { 0 };
	char msg[600];

	assert_null(tlskit_cert_load_file(path, &err));
	snprintf(msg, sizeof(msg), "loading certificate '%s': %s", path, reason);
	assert_string_equal(err.message, msg);
	assert_int_equal(err.category, TLSKIT_ERR_CONFIG);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_load_errors(void **state)
{
	const struct fixture *fx = *state;
	char path[256];
	struct tlskit_error err = { 0 };

	snprintf(path, sizeof(path), "%s/missing.pem", fx->dir);
	expect_load_error(path, "No such file or directory");
	snprintf(path, sizeof(path), "%s/garbage.pem", fx->dir);
	write_file(path, "not a certificate\n", 18);
	expect_load_error(path, "no PEM or DER certificate found");
	snprintf(path, sizeof(path), "%s/empty.pem", fx->dir);
	write_file(path, "", 0);
	expect_load_error(path, "empty input");
	snprintf(path, sizeof(path), "%s/broken.pem", fx->dir);
	write_file(path, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 58);
	expect_load_error(path, "no PEM or DER certificate found");
	expect_load_error(fx->dir, "Is a directory");
	assert_null(tlskit_cert_load_file(NULL, &err));
	assert_int_equal(err.category, TLSKIT_ERR_USAGE);
	/* No error struct: still NULL, no crash. */
	assert_null(tlskit_cert_load_file(path, NULL));
}

static void test_parse_errors(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_error err = { 0 };
	tlskit_cert *cert = load_ok(fx->leaf_pem);
	size_t len;
	const unsigned char *der = tlskit_cert_der(cert, &len);
	unsigned char *longer = malloc(len + 1);

	assert_null(tlskit_cert_parse(NULL, 0, &err));
	assert_string_equal(err.message, "parsing certificate: empty input");
	/* Truncated DER, and DER with a trailing byte. */
	assert_null(tlskit_cert_parse(der, len - 1, &err));
	assert_string_equal(err.message,
			    "parsing certificate: no PEM or DER certificate found");
	assert_non_null(longer);
	memcpy(longer, der, len);
	longer[len] = 0;
	assert_null(tlskit_cert_parse(longer, len + 1, &err));
	assert_int_equal(err.category, TLSKIT_ERR_CONFIG);
	free(longer);
	tlskit_cert_free(cert);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_null_getters(void **state)
{
	size_t len = 99;

	(void)state;
	assert_null(tlskit_cert_subject(NULL));
	assert_null(tlskit_cert_issuer(NULL));
	assert_int_equal(tlskit_cert_san_count(NULL), 0);
	assert_null(tlskit_cert_san(NULL, 0));
	assert_int_equal(tlskit_cert_not_before(NULL), 0);
	assert_int_equal(tlskit_cert_not_after(NULL), 0);
	assert_null(tlskit_cert_serial(NULL));
	assert_null(tlskit_cert_fingerprint_sha256(NULL));
	assert_null(tlskit_cert_der(NULL, &len));
	assert_int_equal(len, 0);
	tlskit_cert_free(NULL);
}

static void add_name(X509_NAME *name, const char *field, const char *value)
{
	assert_int_equal(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
						    (const unsigned char *)value,
						    -1, -1, 0), 1);
}

static void add_dns(GENERAL_NAMES *gens, const char *value, int len)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	assert_non_null(gn);
	assert_non_null(s);
	assert_int_equal(ASN1_STRING_set(s, value, len), 1);
	GENERAL_NAME_set0_value(gn, GEN_DNS, s);
	assert_true(sk_GENERAL_NAME_push(gens, gn) > 0);
}

/*
 * A certificate a hostile peer might send: a SAN with a newline and a NUL,
 * a multi-valued subject without CN, UTF-8; built directly with OpenSSL.
 */
static X509 *odd_cert(const char *cn, int with_sans)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();

	assert_non_null(key);
	assert_non_null(x);
	assert_non_null(name);
	assert_non_null(gens);
	add_name(name, "O", "Ünïcode, Inc.");
	add_name(name, "OU", "ops");
	if (cn)
		add_name(name, "CN", cn);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (with_sans) {
		add_dns(gens, "evil\n.test", 10);
		add_dns(gens, "a\0b", 3);
		add_dns(gens, "good.test", 9);
		assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name,
						   gens, 0, 0), 1);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	return x;
}

static void test_hostile_names(void **state)
{
	struct tlskit_error err = { 0 };
	X509 *x = odd_cert(NULL, 1);
	tlskit_cert *cert = certinfo_from_x509(x, &err);
	char buf[256];

	(void)state;
	assert_non_null(cert);
	assert_ptr_equal(certinfo_x509(cert), x);
	/* Beyond ASCII is escaped: names must not smuggle terminal codes. */
	assert_string_equal(tlskit_cert_subject(cert),
			    "OU=ops,O=\\C3\\9Cn\\C3\\AFcode\\, Inc.");
	assert_string_equal(tlskit_cert_serial(cert), "01");
	assert_int_equal(tlskit_cert_san_count(cert), 3);
	assert_string_equal(tlskit_cert_san(cert, 0), "DNS:evil\\x0a.test");
	assert_string_equal(tlskit_cert_san(cert, 1), "DNS:a\\x00b");
	assert_string_equal(tlskit_cert_san(cert, 2), "DNS:good.test");
	/* No CN: the short name is the whole subject. */
	certinfo_short_name(x, buf, sizeof(buf));
	assert_string_equal(buf, "OU=ops,O=\\C3\\9Cn\\C3\\AFcode\\, Inc.");
	certinfo_names(x, buf, sizeof(buf));
	assert_string_equal(buf, "evil\\x0a.test, a\\x00b, good.test");
	/* The wrapper holds its own reference. */
	X509_free(x);
	assert_string_equal(tlskit_cert_san(cert, 2), "DNS:good.test");
	tlskit_cert_free(cert);
}

static void test_name_helpers(void **state)
{
	const struct fixture *fx = *state;
	X509 *leaf = read_x509(fx->leaf_pem);
	X509 *cn_only = odd_cert("odd.test", 0);
	char buf[64], tiny[8];

	certinfo_short_name(leaf, buf, sizeof(buf));
	assert_string_equal(buf, "CN=localhost");
	certinfo_names(leaf, buf, sizeof(buf));
	assert_string_equal(buf, "localhost, 127.0.0.1, ::1");
	/* Truncated, never overflowing. */
	certinfo_names(leaf, tiny, sizeof(tiny));
	assert_true(strlen(tiny) < sizeof(tiny));
	/* No SANs: the CN. */
	certinfo_names(cn_only, buf, sizeof(buf));
	assert_string_equal(buf, "odd.test");
	certinfo_short_name(cn_only, buf, sizeof(buf));
	assert_string_equal(buf, "CN=odd.test");
	certinfo_short_name(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "");
	certinfo_names(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_null(certinfo_from_x509(NULL, NULL));
	X509_free(leaf);
	X509_free(cn_only);
}

/* A CN with an escape sequence reaches messages defanged. */
static void test_control_chars_in_cn(void **state)
{
	X509 *x = odd_cert("bad\x1b[31m\xc2\x9b", 0);
	char buf[128];

	(void)state;
	certinfo_short_name(x, buf, sizeof(buf));
	assert_string_equal(buf, "CN=bad\\1B[31m\\C2\\9B");
	certinfo_names(x, buf, sizeof(buf));
	assert_string_equal(buf, "bad\\1B[31m\\C2\\9B");
	X509_free(x);
}

/* ---- key, signature, usages, constraints, SHA-1, pin ------------------ */

/* Writes a self-signed certificate of key type t; returns its path. */
static const char *make_cert(const struct fixture *fx, const char *name,
			     enum tlskit_key_type t, char *path, size_t len)
{
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_SELF_SIGNED,
				    .key_type = t, .common_name = name };
	struct tlskit_error err = { 0 };
	char key[256];

	snprintf(path, len, "%s/%s.pem", fx->dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", fx->dir, name);
	if (tlskit_certgen_write(&p, path, key, 1, &err) < 0)
		fail_msg("certgen %s: %s", name, err.message);
	return path;
}

static void test_key_types(void **state)
{
	static const struct {
		enum tlskit_key_type type;
		const char *words;
		int bits;
		const char *sig;
	} cases[] = {
		{ TLSKIT_KEY_EC_P256, "EC P-256", 256, "ecdsa-with-SHA256" },
		{ TLSKIT_KEY_EC_P384, "EC P-384", 384, "ecdsa-with-SHA384" },
		{ TLSKIT_KEY_ED25519, "Ed25519", 256, "ED25519" },
		{ TLSKIT_KEY_RSA2048, "RSA 2048", 2048, "sha256WithRSAEncryption" },
	};
	const struct fixture *fx = *state;
	char path[256], name[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tlskit_cert *cert;

		snprintf(name, sizeof(name), "kt%zu", i);
		cert = load_ok(make_cert(fx, name, cases[i].type, path,
					 sizeof(path)));
		assert_string_equal(tlskit_cert_key_type(cert), cases[i].words);
		assert_int_equal(tlskit_cert_key_bits(cert), cases[i].bits);
		assert_string_equal(tlskit_cert_signature_algorithm(cert),
				    cases[i].sig);
		assert_true(tlskit_cert_self_signed(cert));
		tlskit_cert_free(cert);
	}
}

/* Key usage, EKU and basic constraints agree with OpenSSL's own flags. */
static void check_usages(const char *path)
{
	static const uint32_t bits[] = { KU_DIGITAL_SIGNATURE, KU_NON_REPUDIATION,
					 KU_KEY_ENCIPHERMENT, KU_DATA_ENCIPHERMENT,
					 KU_KEY_AGREEMENT, KU_KEY_CERT_SIGN,
					 KU_CRL_SIGN, KU_ENCIPHER_ONLY,
					 KU_DECIPHER_ONLY };
	tlskit_cert *cert = load_ok(path);
	X509 *x = read_x509(path);
	uint32_t flags = X509_get_extension_flags(x);
	uint32_t ku = X509_get_key_usage(x);
	size_t expect = 0;
	int ca = -1, pathlen = -2;

	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		expect += (flags & EXFLAG_KUSAGE) && (ku & bits[i]);
	assert_int_equal(tlskit_cert_key_usage_count(cert), expect);
	if (flags & EXFLAG_XKUSAGE) {
		uint32_t xku = X509_get_extended_key_usage(x);
		int server = 0, client = 0;

		for (size_t i = 0; i < tlskit_cert_ext_key_usage_count(cert); i++) {
			server |= !strcmp(tlskit_cert_ext_key_usage(cert, i), "serverAuth");
			client |= !strcmp(tlskit_cert_ext_key_usage(cert, i), "clientAuth");
		}
		assert_int_equal(server, (xku & XKU_SSL_SERVER) != 0);
		assert_int_equal(client, (xku & XKU_SSL_CLIENT) != 0);
	} else {
		assert_int_equal(tlskit_cert_ext_key_usage_count(cert), 0);
	}
	assert_int_equal(tlskit_cert_basic_constraints(cert, &ca, &pathlen),
			 (flags & EXFLAG_BCONS) != 0);
	assert_int_equal(ca, (flags & EXFLAG_CA) != 0);
	assert_int_equal(pathlen, ca ? (int)X509_get_pathlen(x) : -1);
	X509_free(x);
	tlskit_cert_free(cert);
}

static void test_usages_and_constraints(void **state)
{
	const struct fixture *fx = *state;
	tlskit_cert *ca = load_ok(fx->ca_pem), *leaf = load_ok(fx->leaf_pem);
	int is_ca = 0, pathlen = 0;

	check_usages(fx->ca_pem);
	check_usages(fx->leaf_pem);
	/* the profiles: a root is a CA without a limit, a server is not */
	assert_int_equal(tlskit_cert_basic_constraints(ca, &is_ca, &pathlen), 1);
	assert_true(is_ca);
	assert_int_equal(pathlen, -1);
	assert_true(tlskit_cert_self_signed(ca));
	assert_false(tlskit_cert_self_signed(leaf));
	assert_string_equal(tlskit_cert_ext_key_usage(leaf, 0), "serverAuth");
	assert_string_equal(tlskit_cert_key_usage(leaf, 0), "digitalSignature");
	assert_null(tlskit_cert_key_usage(leaf, 99));
	assert_null(tlskit_cert_ext_key_usage(leaf, 99));
	tlskit_cert_free(ca);
	tlskit_cert_free(leaf);
}

/* SHA-1 of the DER; the pin: SHA-256 of the SPKI DER (i2d_PUBKEY, not the
 * bare key bits), base64. */
static void test_sha1_and_pin(void **state)
{
	const struct fixture *fx = *state;
	tlskit_cert *cert = load_ok(fx->leaf_pem);
	X509 *x = read_x509(fx->leaf_pem);
	unsigned char md[EVP_MAX_MD_SIZE], *spki = NULL;
	unsigned char b64[64];
	unsigned int md_len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1], pin[80];
	int spki_len;

	assert_int_equal(X509_digest(x, EVP_sha1(), md, &md_len), 1);
	to_hex(md, md_len, hex);
	assert_string_equal(tlskit_cert_fingerprint_sha1(cert), hex);
	spki_len = i2d_PUBKEY(X509_get0_pubkey(x), &spki);
	assert_true(spki_len > 0);
	SHA256(spki, (size_t)spki_len, md);
	EVP_EncodeBlock(b64, md, 32);
	snprintf(pin, sizeof(pin), "sha256//%s", b64);
	assert_string_equal(tlskit_cert_pin_sha256(cert), pin);
	assert_int_equal(strlen(pin), 8 + 44);
	OPENSSL_free(spki);
	X509_free(x);
	tlskit_cert_free(cert);
}

/* ---- lists -------------------------------------------------------------- */

static char *concat_files(const char *a, const char *b, size_t cut_b,
			  size_t *len)
{
	size_t alen, blen;
	char *da = read_file(a, &alen), *db = read_file(b, &blen);
	char *out = malloc(alen + blen + 1);

	assert_non_null(out);
	if (cut_b && cut_b < blen)
		blen = cut_b;
	memcpy(out, da, alen);
	memcpy(out + alen, db, blen);
	*len = alen + blen;
	free(da);
	free(db);
	return out;
}

static void test_list_bundle(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_error err = { 0 };
	size_t len;
	char *both = concat_files(fx->leaf_pem, fx->ca_pem, 0, &len);
	tlskit_cert_list *list = tlskit_cert_list_parse(both, len, &err);
	char path[256];

	assert_non_null(list);
	assert_int_equal(tlskit_cert_list_count(list), 2);
	assert_string_equal(tlskit_cert_subject(tlskit_cert_list_get(list, 0)),
			    "CN=localhost");
	assert_string_equal(tlskit_cert_subject(tlskit_cert_list_get(list, 1)),
			    "CN=Info CA");
	assert_null(tlskit_cert_list_get(list, 2));
	tlskit_cert_list_free(list);
	snprintf(path, sizeof(path), "%s/bundle.pem", fx->dir);
	write_file(path, both, len);
	list = tlskit_cert_list_load_file(path, &err);
	assert_non_null(list);
	assert_int_equal(tlskit_cert_list_count(list), 2);
	tlskit_cert_list_free(list);
	free(both);
	/* a key first is skipped; one DER certificate is a list of one */
	both = concat_files(fx->leaf_key, fx->leaf_pem, 0, &len);
	list = tlskit_cert_list_parse(both, len, &err);
	assert_int_equal(tlskit_cert_list_count(list), 1);
	{
		size_t der_len;
		const unsigned char *der = tlskit_cert_der(
			tlskit_cert_list_get(list, 0), &der_len);
		tlskit_cert_list *one = tlskit_cert_list_parse(der, der_len, &err);

		assert_int_equal(tlskit_cert_list_count(one), 1);
		tlskit_cert_list_free(one);
	}
	tlskit_cert_list_free(list);
	free(both);
	tlskit_cert_list_free(NULL);
	assert_int_equal(tlskit_cert_list_count(NULL), 0);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_list_errors(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_error err = { 0 };
	size_t len;
	char *cut = concat_files(fx->leaf_pem, fx->ca_pem, 200, &len);

	assert_null(tlskit_cert_list_parse(cut, len, &err));
	assert_string_equal(err.message,
			    "parsing certificates: certificate #2 is truncated or malformed: bad end line");
	assert_int_equal(err.category, TLSKIT_ERR_CONFIG);
	free(cut);
	cut = read_file(fx->leaf_key, &len);
	assert_null(tlskit_cert_list_parse(cut, len, &err));
	assert_string_equal(err.message,
			    "parsing certificates: no certificate found (the file holds a PEM 'PRIVATE KEY' block)");
	free(cut);
	assert_null(tlskit_cert_list_parse("junk", 4, &err));
	assert_string_equal(err.message,
			    "parsing certificates: no PEM or DER certificate found");
	assert_null(tlskit_cert_list_load_file(NULL, &err));
	assert_int_equal(err.category, TLSKIT_ERR_USAGE);
	assert_null(tlskit_cert_list_load_file(fx->dir, &err));
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_list_verify(void **state)
{
	const struct fixture *fx = *state;
	struct tlskit_error err = { 0 };
	tlskit_cert_list *chain = tlskit_cert_list_load_file(fx->leaf_pem, &err);
	tlskit_cert_list *built = NULL;
	tlskit_config *cfg = tlskit_config_new(), *other = tlskit_config_new();

	assert_non_null(chain);
	assert_int_equal(tlskit_config_set_ca_file(cfg, fx->ca_pem), 0);
	assert_int_equal(tlskit_cert_list_verify(chain, cfg, TLSKIT_SERVER,
						 "localhost", &built, &err), 0);
	assert_int_equal(tlskit_cert_list_count(built), 2);
	assert_string_equal(tlskit_cert_subject(tlskit_cert_list_get(built, 1)),
			    "CN=Info CA");
	tlskit_cert_list_free(built);
	assert_int_equal(tlskit_cert_list_verify(chain, cfg, TLSKIT_SERVER,
						 "127.0.0.1", NULL, &err), 0);
	/* the library's words: names, then an unknown issuer */
	assert_int_equal(tlskit_cert_list_verify(chain, cfg, TLSKIT_SERVER,
						 "example.test", &built, &err), -1);
	assert_int_equal(err.category, TLSKIT_ERR_VERIFY);
	assert_non_null(strstr(err.message, "hostname mismatch: certificate is valid for localhost, 127.0.0.1, ::1; not example.test"));
	tlskit_cert_list_free(built);
	/* a server certificate is not for clients */
	assert_int_equal(tlskit_cert_list_verify(chain, cfg, TLSKIT_CLIENT, NULL,
						 NULL, &err), -1);
	assert_non_null(strstr(err.message, "unsuitable certificate purpose"));
	assert_int_equal(tlskit_config_set_ca_file(other, fx->leaf_pem), 0);
	assert_int_equal(tlskit_cert_list_verify(chain, other, TLSKIT_SERVER,
						 "localhost", &built, &err), -1);
	assert_string_equal(err.message,
			    "certificate verify failed at depth 0 (CN=localhost): unable to get local issuer certificate: issuer 'CN=Info CA' is not trusted");
	assert_int_equal(tlskit_cert_list_count(built), 1);
	tlskit_cert_list_free(built);
	assert_int_equal(tlskit_cert_list_verify(NULL, cfg, TLSKIT_SERVER, NULL,
						 &built, &err), -1);
	assert_null(built);
	assert_int_equal(err.category, TLSKIT_ERR_USAGE);
	assert_int_equal(ERR_peek_error(), 0);
	tlskit_config_free(cfg);
	tlskit_config_free(other);
	tlskit_cert_list_free(chain);
}

static void test_new_getters_null(void **state)
{
	int ca = 7, pathlen = 7;

	(void)state;
	assert_null(tlskit_cert_fingerprint_sha1(NULL));
	assert_null(tlskit_cert_pin_sha256(NULL));
	assert_null(tlskit_cert_key_type(NULL));
	assert_int_equal(tlskit_cert_key_bits(NULL), 0);
	assert_null(tlskit_cert_signature_algorithm(NULL));
	assert_int_equal(tlskit_cert_key_usage_count(NULL), 0);
	assert_null(tlskit_cert_key_usage(NULL, 0));
	assert_int_equal(tlskit_cert_ext_key_usage_count(NULL), 0);
	assert_null(tlskit_cert_ext_key_usage(NULL, 0));
	assert_int_equal(tlskit_cert_basic_constraints(NULL, &ca, &pathlen), 0);
	assert_int_equal(ca, 0);
	assert_int_equal(pathlen, -1);
	assert_int_equal(tlskit_cert_self_signed(NULL), 0);
	assert_null(tlskit_conn_peer_chain(NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_matches_openssl),
		cmocka_unit_test(test_parse_pem_and_der),
		cmocka_unit_test(test_pem_with_key_first),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_null_getters),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_name_helpers),
		cmocka_unit_test(test_control_chars_in_cn),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_usages_and_constraints),
		cmocka_unit_test(test_sha1_and_pin),
		cmocka_unit_test(test_list_bundle),
		cmocka_unit_test(test_list_errors),
		cmocka_unit_test(test_list_verify),
		cmocka_unit_test(test_new_getters_null),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
