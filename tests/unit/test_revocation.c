/*
 * test_revocation.c - CRLs on a config: loading (PEM, DER, bad files),
 * settings, and verification of revoked, unrevoked and uncovered
 * certificates through tlskit_cert_list_verify (the handshake's checks).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "throwaway_pki.h"

static int setup(void **state)
{
	const char *revoke_bob[] = { NULL };
	struct tlskit_crlgen g = { 0 };
	struct tlskit_error err = { 0 };

	(void)state;
	if (pki_make_dir("test-revocation") < 0)
		return -1;
	pki_gen(TLSKIT_CERT_CA, "ca", "Rev CA", NULL, 0, 0);
	pki_gen(TLSKIT_CERT_CA, "other", "Other CA", NULL, 0, 0);
	pki_gen(TLSKIT_CERT_SERVER, "good", "localhost", "ca", 0, 0);
	pki_gen(TLSKIT_CERT_SERVER, "bad", "localhost", "ca", 0, 0);
	revoke_bob[0] = pki("bad.pem");
	g.issuer_cert_file = pki("ca.pem");
	g.issuer_key_file = pki("ca.key");
	g.revoke = revoke_bob;
	g.revoke_count = 1;
	if (tlskit_crl_write(&g, pki("ca.crl"), 0, &err) < 0) {
		fprintf(stderr, "crl: %s\n", err.message);
		return -1;
	}
	/* An expired CRL: this update 60 days ago, next update 30 days
	 * later. */
	g.this_update = time(NULL) - 60 * 86400;
	g.days = 30;
	if (tlskit_crl_write(&g, pki("expired.crl"), 0, &err) < 0) {
		fprintf(stderr, "crl: %s\n", err.message);
		return -1;
	}
	g.issuer_cert_file = pki("other.pem");
	g.issuer_key_file = pki("other.key");
	g.revoke_count = 0;
	g.this_update = 0;
	g.days = 0;
	if (tlskit_crl_write(&g, pki("other.crl"), 0, &err) < 0) {
		fprintf(stderr, "crl: %s\n", err.message);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pki_remove_dir();
	return 0;
}

static tlskit_config *config_with(const char *crl1, const char *crl2)
{
	tlskit_config *cfg = tlskit_config_new();

	assert_non_null(cfg);
	assert_int_equal(tlskit_config_set_ca_file(cfg, pki("ca.pem")), 0);
	if (crl1)
		assert_int_equal(tlskit_config_add_crl_file(cfg, crl1), 0);
	if (crl2)
		assert_int_equal(tlskit_config_add_crl_file(cfg, crl2), 0);
	return cfg;
}

/* Verifies NAME.pem as a server for localhost; returns the verdict and
 * leaves the message in err. */
static int verify(tlskit_config *cfg, const char *name,
		  struct tlskit_error *err)
{
	struct tlskit_error lerr = { 0 };
	char file[64];
	tlskit_cert_list *chain;
	int r;

	snprintf(file, sizeof(file), "%s.pem", name);
	chain = tlskit_cert_list_load_file(pki(file), &lerr);
	assert_non_null(chain);
	r = tlskit_cert_list_verify(chain, cfg, TLSKIT_SERVER, "localhost",
				    NULL, err);
	tlskit_cert_list_free(chain);
	return r;
}

static void test_revoked_and_good(void **state)
{
	struct tlskit_error err = { 0 };
	tlskit_config *cfg = config_with(pki("ca.crl"), NULL);
	tlskit_cert *bad = tlskit_cert_load_file(pki("bad.pem"), &err);
	char want[256];

	(void)state;
	assert_non_null(bad);
	assert_int_equal(verify(cfg, "good", &err), 0);
	assert_int_equal(verify(cfg, "bad", &err), -1);
	assert_int_equal(err.category, TLSKIT_ERR_VERIFY);
	assert_contains(err.message,
			"certificate verify failed at depth 0 (CN=localhost): certificate revoked (serial ");
	/* The serial as `openssl x509 -serial` prints it: upper case, no
	 * colons. */
	snprintf(want, sizeof(want), "(serial ");
	for (const char *p = tlskit_cert_serial(bad); *p; p++)
		if (*p != ':')
			snprintf(want + strlen(want), sizeof(want) - strlen(want),
				 "%c", toupper((unsigned char)*p));
	assert_contains(err.message, want);
	tlskit_cert_free(bad);
	tlskit_config_free(cfg);
}

static void test_no_crl_for_issuer(void **state)
{
	struct tlskit_error err = { 0 };
	tlskit_config *cfg = config_with(pki("other.crl"), NULL);

	(void)state;
	assert_int_equal(verify(cfg, "good", &err), -1);
	assert_int_equal(err.category, TLSKIT_ERR_VERIFY);
	assert_contains(err.message, "no CRL from issuer 'CN=Rev CA'");
	tlskit_config_free(cfg);
}

static void test_expired_crl(void **state)
{
	struct tlskit_error err = { 0 };
	tlskit_config *cfg = config_with(pki("expired.crl"), NULL);

	(void)state;
	assert_int_equal(verify(cfg, "good", &err), -1);
	assert_contains(err.message, "the CRL of issuer 'CN=Rev CA' has expired");
	tlskit_config_free(cfg);
}

static void test_without_crl_no_check(void **state)
{
	struct tlskit_error err = { 0 };
	tlskit_config *cfg = config_with(NULL, NULL);

	(void)state;
	assert_int_equal(verify(cfg, "bad", &err), 0);
	/* A check mode alone turns nothing on. */
	tlskit_config_free(cfg);
	cfg = config_with(NULL, NULL);
	assert_int_equal(tlskit_config_set_crl_check(cfg, TLSKIT_CRL_CHECK_CHAIN),
			 0);
	assert_int_equal(verify(cfg, "bad", &err), 0);
	tlskit_config_free(cfg);
}

static void test_chain_mode(void **state)
{
	struct tlskit_error err = { 0 };
	tlskit_config *cfg = config_with(pki("ca.crl"), NULL);

	(void)state;
	/* The root's own CRL covers the root too. */
	assert_int_equal(tlskit_config_set_crl_check(cfg, TLSKIT_CRL_CHECK_CHAIN),
			 0);
	assert_int_equal(verify(cfg, "good", &err), 0);
	assert_int_equal(verify(cfg, "bad", &err), -1);
	assert_contains(err.message, "certificate revoked");
	tlskit_config_free(cfg);
}

static void test_bad_files_and_usage(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	enum tlskit_crl_check check;

	(void)state;
	assert_int_equal(tlskit_config_add_crl_file(cfg, pki("none.crl")), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_CONFIG);
	assert_contains(tlskit_config_error(cfg), "none.crl': No such file");
	assert_int_equal(tlskit_config_add_crl_file(cfg, pki("good.pem")), -1);
	assert_contains(tlskit_config_error(cfg), "no CRL in it");
	assert_int_equal(tlskit_config_add_crl_file(cfg, NULL), -1);
	assert_int_equal(tlskit_config_set_crl_check(cfg, 7), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_USAGE);
	assert_int_equal(tlskit_crl_check_parse("leaf", &check), 0);
	assert_int_equal(check, TLSKIT_CRL_CHECK_LEAF);
	assert_int_equal(tlskit_crl_check_parse("chain", &check), 0);
	assert_int_equal(check, TLSKIT_CRL_CHECK_CHAIN);
	assert_int_equal(tlskit_crl_check_parse("all", &check), -1);
	assert_int_equal(tlskit_config_add_crl_file(NULL, "x"), -1);
	/* Frozen once used. */
	assert_int_equal(tlskit_config_add_crl_file(cfg, pki("ca.crl")), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_CLIENT), 0);
	assert_int_equal(tlskit_config_add_crl_file(cfg, pki("ca.crl")), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_USAGE);
	tlskit_config_free(cfg);
}

static void test_ocsp_settings(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	FILE *f;

	(void)state;
	assert_int_equal(tlskit_config_set_ocsp_staple_file(cfg, pki("none.der")),
			 -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_CONFIG);
	assert_contains(tlskit_config_error(cfg),
			"loading OCSP response '");
	assert_contains(tlskit_config_error(cfg), "No such file");
	f = fopen(pki("junk.der"), "wb");
	assert_non_null(f);
	fputs("0\x03junk", f);
	fclose(f);
	assert_int_equal(tlskit_config_set_ocsp_staple_file(cfg, pki("junk.der")),
			 -1);
	assert_contains(tlskit_config_error(cfg), "not a DER OCSP response");
	/* A CRL is not an OCSP response either. */
	assert_int_equal(tlskit_config_set_ocsp_staple_file(cfg, pki("ca.crl")),
			 -1);
	assert_int_equal(tlskit_config_set_ocsp(cfg, 9), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_USAGE);
	assert_int_equal(tlskit_config_set_ocsp(cfg, TLSKIT_OCSP_REQUIRE), 0);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_CLIENT), 0);
	assert_int_equal(tlskit_config_set_ocsp(cfg, TLSKIT_OCSP_OFF), -1);
	assert_null(tlskit_conn_ocsp_status(NULL));
	tlskit_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revoked_and_good),
		cmocka_unit_test(test_no_crl_for_issuer),
		cmocka_unit_test(test_expired_crl),
		cmocka_unit_test(test_without_crl_no_check),
		cmocka_unit_test(test_chain_mode),
		cmocka_unit_test(test_bad_files_and_usage),
		cmocka_unit_test(test_ocsp_settings),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
