/*
 * test_config.c - configurations: defaults, loading certificates and keys
 * (files, memory, passphrases), lists checked element by element, freezing,
 * and the small library helpers.
 */
#include <errno.h>
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

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "internal.h"
#include "tlskit.h"
#include "throwaway_pki.h"

/* ---- test PKI ---------------------------------------------------------- */

/* server.key again, encrypted with passphrase "sesame". */
static void write_encrypted_key(void)
{
	static const char pass[] = "sesame";
	FILE *in = fopen(pki("server.key"), "r");
	FILE *out = fopen(pki("server-enc.key"), "w");
	EVP_PKEY *pkey;

	if (!in || !out)
		abort();
	pkey = PEM_read_PrivateKey(in, NULL, NULL, NULL);
	if (!pkey || !PEM_write_PrivateKey(out, pkey, EVP_aes_256_cbc(),
					   (const unsigned char *)pass,
					   (int)strlen(pass), NULL, NULL))
		abort();
	EVP_PKEY_free(pkey);
	fclose(in);
	fclose(out);
}

static void write_text(const char *name, const char *text)
{
	FILE *f = fopen(pki(name), "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static int pki_setup(void **state)
{
	(void)state;
	if (pki_make_dir("test-config") < 0)
		return -1;
	pki_gen(TLSKIT_CERT_CA, "ca", "tlskit test CA", NULL, 0, 0);
	pki_gen(TLSKIT_CERT_SERVER, "server", "localhost", "ca", 0, 0);
	pki_gen(TLSKIT_CERT_CLIENT, "client", "client", "ca", 0, 0);
	pki_gen(TLSKIT_CERT_SERVER, "expired", "old.test", "ca", 1577836800,
		1704067200);
	pki_gen(TLSKIT_CERT_SERVER, "future", "new.test", "ca", 4102444800,
		4133980800);
	write_encrypted_key();
	write_text("garbage.pem", "this is not a certificate\n");
	return 0;
}

static int pki_teardown(void **state)
{
	(void)state;
	pki_remove_dir();
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_library_strings(void **state)
{
	(void)state;
	assert_string_equal(tlskit_version(), "tlskit 0.1.0");
	assert_contains(tlskit_openssl_version(), "OpenSSL 3.");
	assert_string_equal(tlskit_error_category_name(TLSKIT_ERR_NONE), "none");
	assert_string_equal(tlskit_error_category_name(TLSKIT_ERR_VERIFY),
			    "verify");
	assert_string_equal(tlskit_error_category_name(TLSKIT_ERR_CLOSED),
			    "closed");
	assert_string_equal(tlskit_error_category_name(
				    (enum tlskit_error_category)99),
			    "unknown");
}

static void test_protocol_parse(void **state)
{
	static const struct {
		const char *text;
		enum tlskit_protocol value;
	} good[] = {
		{ "1.0", TLSKIT_TLS1_0 },     { "1.1", TLSKIT_TLS1_1 },
		{ "1.2", TLSKIT_TLS1_2 },     { "1.3", TLSKIT_TLS1_3 },
		{ "tls1.2", TLSKIT_TLS1_2 },  { "TLSv1.3", TLSKIT_TLS1_3 },
		{ "TLS1.3", TLSKIT_TLS1_3 },  { "tlsv1.1", TLSKIT_TLS1_1 },
	};
	static const char *const bad[] = { "", "1.4", "2", "ssl3", "tls",
					   "1.2x", "TLSv" };
	enum tlskit_protocol p;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(tlskit_protocol_parse(good[i].text, &p), 0);
		assert_int_equal(p, good[i].value);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tlskit_protocol_parse(bad[i], &p), -1);
	assert_int_equal(tlskit_protocol_parse(NULL, &p), -1);
}

static void test_defaults(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	struct tlskit_cipher_info *ci = NULL;
	ssize_t n;

	(void)state;
	assert_non_null(cfg);
	/* A client needs nothing but the system store. */
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_CLIENT), 0);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_NONE);
	n = tlskit_config_ciphers(cfg, TLSKIT_CLIENT, &ci);
	/* 3 TLS 1.3 suites + Mozilla intermediate's 9 TLS 1.2 ciphers. */
	assert_int_equal(n, 12);
	assert_string_equal(ci[0].name, "TLS_AES_128_GCM_SHA256");
	assert_string_equal(ci[0].protocol, "TLSv1.3");
	assert_int_equal(ci[0].id, 0x1301);
	assert_string_equal(ci[0].kx, "any");
	assert_string_equal(ci[0].auth, "any");
	assert_int_equal(ci[0].aead, 1);
	assert_string_equal(ci[3].name, "ECDHE-ECDSA-AES128-GCM-SHA256");
	assert_string_equal(ci[3].iana,
			    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
	assert_string_equal(ci[3].protocol, "TLSv1.2");
	assert_int_equal(ci[3].id, 0xc02b);
	assert_int_equal(ci[3].bits, 128);
	assert_string_equal(ci[3].kx, "ECDH");
	assert_string_equal(ci[3].auth, "ECDSA");
	assert_string_equal(ci[3].enc, "AESGCM(128)");
	assert_string_equal(ci[11].name, "DHE-RSA-CHACHA20-POLY1305");
	for (ssize_t i = 0; i < n; i++) {
		assert_int_equal(ci[i].aead, 1);
		assert_null(strstr(ci[i].name, "CBC"));
	}
	free(ci);

	/* A server needs a certificate. */
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_CONFIG);
	assert_contains(tlskit_config_error(cfg), "no certificate and key");
	assert_int_equal(tlskit_config_check(cfg, (enum tlskit_role)7), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_USAGE);
	tlskit_config_free(cfg);
	tlskit_config_free(NULL);
}

static void test_ciphers_listing(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	struct tlskit_cipher_info *ci = NULL;
	ssize_t n;

	(void)state;
	/* Listing needs no certificate and does not freeze. */
	n = tlskit_config_ciphers(cfg, TLSKIT_SERVER, &ci);
	assert_int_equal(n, 12);
	free(ci);
	assert_int_equal(tlskit_config_set_protocols(cfg, 0, TLSKIT_TLS1_2), 0);
	n = tlskit_config_ciphers(cfg, TLSKIT_CLIENT, &ci);
	assert_int_equal(n, 9);
	for (ssize_t i = 0; i < n; i++)
		assert_string_equal(ci[i].protocol, "TLSv1.2");
	free(ci);
	assert_int_equal(tlskit_config_set_protocols(cfg, TLSKIT_TLS1_3, 0), 0);
	n = tlskit_config_ciphers(cfg, TLSKIT_CLIENT, &ci);
	assert_int_equal(n, 3);
	free(ci);
	assert_int_equal(tlskit_config_ciphers(cfg, (enum tlskit_role)0, &ci), -1);
	assert_null(ci);
	tlskit_config_free(cfg);
}

static void test_frozen_after_use(void **state)
{
	tlskit_config *cfg = tlskit_config_new();

	(void)state;
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_CLIENT), 0);
	assert_int_equal(tlskit_config_set_ciphers(cfg, "ECDHE+AESGCM"), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_USAGE);
	assert_string_equal(tlskit_config_error(cfg),
			    "setting TLS 1.2 cipher list: the configuration is "
			    "already in use and can no longer change");
	assert_int_equal(tlskit_config_set_alpn(cfg, "h2"), -1);
	assert_int_equal(tlskit_config_set_ca_file(cfg, pki("ca.pem")), -1);
	/* A second check of the same role is cheap and fine. */
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_CLIENT), 0);
	tlskit_config_free(cfg);
}

static void test_refcount(void **state)
{
	tlskit_config *cfg = tlskit_config_new();

	(void)state;
	assert_ptr_equal(tlskit_config_ref(cfg), cfg);
	assert_ptr_equal(tlskit_config_ref(cfg), cfg);
	tlskit_config_free(cfg);
	tlskit_config_free(cfg);
	/* Still alive: one reference left. */
	assert_int_equal(tlskit_config_set_servername(cfg, "example.test"), 0);
	tlskit_config_free(cfg);
}

static void test_server_files(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	struct tlskit_error err = { 0 };

	(void)state;
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki("server.pem")), 0);
	assert_int_equal(tlskit_config_set_key_file(cfg, pki("server.key")), 0);
	assert_int_equal(tlskit_config_set_ca_file(cfg, pki("ca.pem")), 0);
	assert_int_equal(tlskit_config_set_verify_client(
				 cfg, TLSKIT_VERIFY_CLIENT_REQUIRE),
			 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), 0);
	assert_int_equal(tlskit_config_cert_validity(cfg, &err), 0);
	assert_int_equal(err.category, TLSKIT_ERR_NONE);
	tlskit_config_free(cfg);
}

static void test_mem(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	size_t clen, klen, calen;
	char *cert = test_read_file(pki("server.pem"), &clen);
	char *key = test_read_file(pki("server.key"), &klen);
	char *ca = test_read_file(pki("ca.pem"), &calen);

	(void)state;
	assert_int_equal(tlskit_config_set_cert_mem(cfg, cert, clen), 0);
	assert_int_equal(tlskit_config_set_key_mem(cfg, key, klen), 0);
	assert_int_equal(tlskit_config_set_ca_mem(cfg, ca, calen), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_CLIENT), 0);
	tlskit_config_free(cfg);

	cfg = tlskit_config_new();
	assert_int_equal(tlskit_config_set_cert_mem(cfg, "junk", 4), -1);
	assert_string_equal(tlskit_config_error(cfg),
			    "loading certificate from memory: no PEM certificate found");
	assert_int_equal(tlskit_config_set_key_mem(cfg, "junk", 4), 0);
	assert_int_equal(tlskit_config_set_cert_mem(cfg, cert, clen), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), -1);
	assert_string_equal(tlskit_config_error(cfg),
			    "loading private key from memory: no PEM private key found (or a damaged one)");
	assert_int_equal(tlskit_config_set_cert_mem(cfg, NULL, 0), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_USAGE);
	tlskit_config_free(cfg);
	free(cert);
	free(key);
	free(ca);
}

static void test_bad_files(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	char expect[256];

	(void)state;
	assert_int_equal(tlskit_config_set_cert_file(cfg, "/nonexistent/c.pem"),
			 -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_CONFIG);
	assert_string_equal(tlskit_config_error(cfg),
			    "loading certificate '/nonexistent/c.pem': No such "
			    "file or directory");
	assert_int_equal(tlskit_config_set_key_file(cfg, "/nonexistent/k.pem"),
			 -1);
	assert_string_equal(tlskit_config_error(cfg),
			    "loading private key '/nonexistent/k.pem': No such "
			    "file or directory");
	assert_int_equal(tlskit_config_set_ca_file(cfg, "/nonexistent/ca.pem"),
			 -1);
	assert_string_equal(tlskit_config_error(cfg),
			    "loading CA file '/nonexistent/ca.pem': No such "
			    "file or directory");
	assert_int_equal(tlskit_config_set_ca_dir(cfg, "/nonexistent"), -1);
	assert_string_equal(tlskit_config_error(cfg),
			    "loading CA directory '/nonexistent': No such file "
			    "or directory");
	assert_int_equal(tlskit_config_set_ca_dir(cfg, pki("ca.pem")), -1);
	assert_contains(tlskit_config_error(cfg), "not a directory");
	assert_int_equal(tlskit_config_set_ca_dir(cfg, pki_dir), 0);

	/* A directory where a file should be. */
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki_dir), -1);
	snprintf(expect, sizeof(expect),
		 "loading certificate '%s': Is a directory", pki_dir);
	assert_string_equal(tlskit_config_error(cfg), expect);

	assert_int_equal(tlskit_config_set_cert_file(cfg, pki("garbage.pem")),
			 -1);
	snprintf(expect, sizeof(expect),
		 "loading certificate '%s': no PEM certificate found",
		 pki("garbage.pem"));
	assert_string_equal(tlskit_config_error(cfg), expect);
	/* A key is not a certificate either. */
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki("server.key")), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_CONFIG);

	/* Unreadable: only meaningful when not running as root. */
	if (geteuid() != 0) {
		assert_int_equal(chmod(pki("client.key"), 0), 0);
		assert_int_equal(tlskit_config_set_key_file(cfg, pki("client.key")),
				 -1);
		assert_contains(tlskit_config_error(cfg), "Permission denied");
		assert_int_equal(chmod(pki("client.key"), 0600), 0);
	}
	tlskit_config_free(cfg);
}

static void test_key_mismatch(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	char expect[512];

	(void)state;
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki("server.pem")), 0);
	assert_int_equal(tlskit_config_set_key_file(cfg, pki("client.key")), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_CONFIG);
	snprintf(expect, sizeof(expect),
		 "loading private key '%s': it does not match certificate '%s'",
		 pki("client.key"), pki("server.pem"));
	assert_string_equal(tlskit_config_error(cfg), expect);
	/* Not frozen by a failed build: fix it and go on. */
	assert_int_equal(tlskit_config_set_key_file(cfg, pki("server.key")), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), 0);
	tlskit_config_free(cfg);

	cfg = tlskit_config_new();
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki("server.pem")), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), -1);
	assert_contains(tlskit_config_error(cfg), "no private key was given");
	tlskit_config_free(cfg);
}

static void test_encrypted_key(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	char expect[512];

	(void)state;
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki("server.pem")), 0);
	assert_int_equal(tlskit_config_set_key_file(cfg, pki("server-enc.key")),
			 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), -1);
	snprintf(expect, sizeof(expect),
		 "loading private key '%s': the key is encrypted and no "
		 "passphrase was given",
		 pki("server-enc.key"));
	assert_string_equal(tlskit_config_error(cfg), expect);

	assert_int_equal(tlskit_config_set_key_passphrase(cfg, "wrong"), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), -1);
	assert_contains(tlskit_config_error(cfg), "wrong passphrase");

	assert_int_equal(tlskit_config_set_key_passphrase(cfg, "sesame"), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), 0);
	tlskit_config_free(cfg);
}

static void test_cipher_lists(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	struct tlskit_cipher_info *ci = NULL;
	ssize_t n;

	(void)state;
	assert_int_equal(tlskit_config_set_ciphers(
				 cfg, "ECDHE-ECDSA-AES128-GCM-SHA256:FOO-BAR"),
			 -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_CONFIG);
	assert_string_equal(tlskit_config_error(cfg),
			    "setting TLS 1.2 cipher list: unknown cipher 'FOO-BAR'");
	assert_int_equal(tlskit_config_set_ciphers(cfg, "!NOPE:HIGH"), -1);
	assert_string_equal(tlskit_config_error(cfg),
			    "setting TLS 1.2 cipher list: unknown cipher '!NOPE'");
	assert_int_equal(tlskit_config_set_ciphers(cfg, "@SECLEVEL=9"), -1);
	assert_int_equal(tlskit_config_set_ciphers(cfg, "HIGH:!"), -1);
	/* OpenSSL's operators, aliases and separators are fine. */
	assert_int_equal(tlskit_config_set_ciphers(
				 cfg, "ECDHE+AESGCM:!aNULL:-SHA1:+AES256, "
				      "ECDHE-RSA-CHACHA20-POLY1305 @SECLEVEL=2"),
			 0);

	assert_int_equal(tlskit_config_set_ciphersuites(
				 cfg, "TLS_AES_256_GCM_SHA384:TLS_FOO"),
			 -1);
	assert_string_equal(tlskit_config_error(cfg),
			    "setting TLS 1.3 ciphersuites: unknown ciphersuite 'TLS_FOO'");
	assert_int_equal(tlskit_config_set_ciphersuites(
				 cfg, "TLS_CHACHA20_POLY1305_SHA256, TLS_AES_256_GCM_SHA384"),
			 0);

	assert_int_equal(tlskit_config_set_groups(cfg, "X25519,P-999"), -1);
	assert_string_equal(tlskit_config_error(cfg),
			    "setting groups: unknown group 'P-999'");
	assert_int_equal(tlskit_config_set_groups(cfg, "x25519, P-256:secp384r1"),
			 0);

	assert_int_equal(tlskit_config_check(cfg, TLSKIT_CLIENT), 0);
	n = tlskit_config_ciphers(cfg, TLSKIT_CLIENT, &ci);
	assert_true(n > 2);
	/* The suites in the order given, then the TLS 1.2 list. */
	assert_string_equal(ci[0].name, "TLS_CHACHA20_POLY1305_SHA256");
	assert_string_equal(ci[1].name, "TLS_AES_256_GCM_SHA384");
	assert_string_equal(ci[2].protocol, "TLSv1.2");
	assert_string_equal(ci[2].kx, "ECDH");
	free(ci);
	tlskit_config_free(cfg);
}

static void test_other_setters(void **state)
{
	tlskit_config *cfg = tlskit_config_new();

	(void)state;
	assert_int_equal(tlskit_config_set_alpn(cfg, "h2,,http/1.1"), -1);
	assert_contains(tlskit_config_error(cfg), "empty protocol name");
	assert_int_equal(tlskit_config_set_alpn(cfg, "h2,http/1.1"), 0);
	assert_int_equal(tlskit_config_set_protocols(cfg, TLSKIT_TLS1_3,
						     TLSKIT_TLS1_2),
			 -1);
	assert_string_equal(tlskit_config_error(cfg),
			    "setting protocol versions: minimum TLS 1.3 is "
			    "above maximum TLS 1.2");
	assert_int_equal(tlskit_config_set_protocols(
				 cfg, (enum tlskit_protocol)0x0200, 0),
			 -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_USAGE);
	assert_int_equal(tlskit_config_set_protocols(cfg, TLSKIT_TLS1_3, 0), 0);
	assert_int_equal(tlskit_config_set_verify_depth(cfg, -1), -1);
	assert_int_equal(tlskit_config_set_verify_depth(cfg, 3), 0);
	assert_int_equal(tlskit_config_set_verify_client(
				 cfg, (enum tlskit_verify_client)9),
			 -1);
	assert_int_equal(tlskit_config_set_servername(cfg, ""), -1);
	assert_int_equal(tlskit_config_set_servername(cfg, "example.test"), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_CLIENT), 0);
	tlskit_config_free(cfg);
}

static void test_cert_validity(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	struct tlskit_error err = { 0 };

	(void)state;
	assert_int_equal(tlskit_config_cert_validity(cfg, &err), -1);
	assert_int_equal(err.category, TLSKIT_ERR_USAGE);
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki("expired.pem")), 0);
	assert_int_equal(tlskit_config_cert_validity(cfg, &err), -1);
	assert_string_equal(err.message, "certificate 'CN=old.test' expired on "
					 "2024-01-01 00:00:00 UTC");
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki("future.pem")), 0);
	assert_int_equal(tlskit_config_cert_validity(cfg, &err), -1);
	assert_string_equal(err.message,
			    "certificate 'CN=new.test' is not valid before "
			    "2100-01-01 00:00:00 UTC");
	/* Servers may still serve it (tests need that). */
	assert_int_equal(tlskit_config_set_key_file(cfg, pki("future.key")), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), 0);
	tlskit_config_free(cfg);
}

static int releases_buffers(tlskit_config *cfg, enum tlskit_role role)
{
	SSL_CTX *ctx = config_ctx(cfg, role, NULL);

	assert_non_null(ctx);
	return (SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS) != 0;
}

/* Released by default; the choice reaches contexts built before or after
 * it, and leaves the other modes alone. */
static void test_release_buffers(void **state)
{
	tlskit_config *cfg = tlskit_config_new();

	(void)state;
	assert_int_equal(tlskit_config_set_release_buffers(NULL, 0), -1);
	assert_int_equal(releases_buffers(cfg, TLSKIT_CLIENT), 1);
	assert_int_equal(tlskit_config_set_release_buffers(cfg, 0), 0);
	assert_int_equal(releases_buffers(cfg, TLSKIT_CLIENT), 0);
	assert_true(SSL_CTX_get_mode(config_ctx(cfg, TLSKIT_CLIENT, NULL)) &
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki("server.pem")), -1);
	tlskit_config_free(cfg);

	cfg = tlskit_config_new();
	assert_int_equal(tlskit_config_set_release_buffers(cfg, 0), 0);
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki("server.pem")), 0);
	assert_int_equal(tlskit_config_set_key_file(cfg, pki("server.key")), 0);
	assert_int_equal(releases_buffers(cfg, TLSKIT_SERVER), 0);
	assert_int_equal(tlskit_config_set_release_buffers(cfg, 1), 0);
	assert_int_equal(releases_buffers(cfg, TLSKIT_SERVER), 1);
	tlskit_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_library_strings),
		cmocka_unit_test(test_protocol_parse),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_ciphers_listing),
		cmocka_unit_test(test_frozen_after_use),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_server_files),
		cmocka_unit_test(test_mem),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_key_mismatch),
		cmocka_unit_test(test_encrypted_key),
		cmocka_unit_test(test_cipher_lists),
		cmocka_unit_test(test_other_setters),
		cmocka_unit_test(test_cert_validity),
		cmocka_unit_test(test_release_buffers),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
