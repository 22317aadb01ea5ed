/*
 * test_policy.c - allow rules, pins, the verification hook, profiles and the
 * key log, over in-memory handshakes between two tlskit connections.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "throwaway_pki.h"
#include "test_mem_transport.h"
#include "internal.h"

/* ---- PKI ----------------------------------------------------------------- */

static int fds_at_start;

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

static void gen(enum tlskit_cert_kind kind, const char *name, const char *cn,
		const char *subject, const char *const *sans, size_t n)
{
	struct tlskit_certgen p = { .kind = kind, .common_name = cn,
				    .subject = subject, .sans = sans,
				    .san_count = n };
	struct tlskit_error err = { 0 };
	char cert[64], key[64];

	if (kind != TLSKIT_CERT_SELF_SIGNED) {
		p.issuer_cert_file = pki("ca.pem");
		p.issuer_key_file = pki("ca.key");
	}
	snprintf(cert, sizeof(cert), "%s.pem", name);
	snprintf(key, sizeof(key), "%s.key", name);
	if (tlskit_certgen_write(&p, pki(cert), pki(key), 0, &err) < 0) {
		fprintf(stderr, "certgen %s: %s\n", name, err.message);
		abort();
	}
}

static int setup(void **state)
{
	static const char *const alice_sans[] = { "DNS:alice.test",
						  "URI:spiffe://x/alice" };
	static const char *const mallory_sans[] = { "URI:spiffe://x/y" };
	static const char *const cn_only_sans[] = { "DNS:other.test" };
	static const char *const self_sans[] = { "localhost" };

	(void)state;
	fds_at_start = count_fds();
	if (pki_make_dir("test-policy") < 0)
		return -1;
	pki_gen(TLSKIT_CERT_CA, "ca", "tlskit test CA", NULL, 0, 0);
	pki_gen(TLSKIT_CERT_SERVER, "server", "localhost", "ca", 0, 0);
	gen(TLSKIT_CERT_CLIENT, "alice", "alice", "/OU=ops", alice_sans, 2);
	gen(TLSKIT_CERT_CLIENT, "mallory", "mallory", NULL, mallory_sans, 1);
	/* The CN an --allow-cn alice admits, but not the SAN. */
	gen(TLSKIT_CERT_CLIENT, "cn-only", "alice", NULL, cn_only_sans, 1);
	gen(TLSKIT_CERT_SELF_SIGNED, "self", "localhost", NULL, self_sans, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pki_remove_dir();
	/* Key log files and everything else the configs opened are closed. */
	if (count_fds() != fds_at_start) {
		fprintf(stderr, "descriptor leak: %d open, %d at start\n",
			count_fds(), fds_at_start);
		return -1;
	}
	return 0;
}

static tlskit_config *server_config(const char *leaf)
{
	tlskit_config *cfg = tlskit_config_new();
	char cert[64], key[64];

	snprintf(cert, sizeof(cert), "%s.pem", leaf);
	snprintf(key, sizeof(key), "%s.key", leaf);
	assert_non_null(cfg);
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki(cert)), 0);
	assert_int_equal(tlskit_config_set_key_file(cfg, pki(key)), 0);
	assert_int_equal(tlskit_config_set_ca_file(cfg, pki("ca.pem")), 0);
	return cfg;
}

/* A client trusting the test CA, with the named client certificate. */
static tlskit_config *client_config(const char *leaf)
{
	tlskit_config *cfg = tlskit_config_new();
	char cert[64], key[64];

	assert_non_null(cfg);
	assert_int_equal(tlskit_config_set_ca_file(cfg, pki("ca.pem")), 0);
	if (leaf) {
		snprintf(cert, sizeof(cert), "%s.pem", leaf);
		snprintf(key, sizeof(key), "%s.key", leaf);
		assert_int_equal(tlskit_config_set_cert_file(cfg, pki(cert)), 0);
		assert_int_equal(tlskit_config_set_key_file(cfg, pki(key)), 0);
	}
	return cfg;
}

static const char *pin_of(const char *file, char *buf, size_t len)
{
	struct tlskit_error err = { 0 };
	tlskit_cert *c = tlskit_cert_load_file(pki(file), &err);

	assert_non_null(c);
	snprintf(buf, len, "%s", tlskit_cert_pin_sha256(c));
	tlskit_cert_free(c);
	return buf;
}

/* ---- in-memory pair (test_mem_transport.h) ------------------------------ */

struct pair {
	tlskit_config *ccfg, *scfg;
	tlskit_conn *c, *s;
	struct pipe_buf c2s, s2c;
	struct end cend, send;
	int rc, rs;
};

static int is_want(int r)
{
	return r == TLSKIT_WANT_READ || r == TLSKIT_WANT_WRITE;
}

/* Handshakes both sides; a side that fails hangs up. Then the client
 * writes "hi" and the server tries to read it, as an echo server would. */
static struct pair *run_pair(tlskit_config *ccfg, tlskit_config *scfg)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->ccfg = ccfg;
	p->scfg = scfg;
	p->cend = (struct end){ &p->s2c, &p->c2s };
	p->send = (struct end){ &p->c2s, &p->s2c };
	p->c = tlskit_client_new(ccfg);
	p->s = tlskit_server_new(scfg);
	assert_int_equal(tlskit_connect_cbs(p->c, mem_read, mem_write, &p->cend,
					    "localhost"), 0);
	assert_int_equal(tlskit_accept_cbs(p->s, mem_read, mem_write, &p->send), 0);
	p->rc = p->rs = TLSKIT_WANT_READ;
	for (int i = 0; i < 100 && (is_want(p->rc) || is_want(p->rs)); i++) {
		if (is_want(p->rc) && (p->rc = tlskit_handshake(p->c)) == -1)
			p->c2s.closed = 1;
		if (is_want(p->rs) && (p->rs = tlskit_handshake(p->s)) == -1)
			p->s2c.closed = 1;
	}
	return p;
}

static void pair_free(struct pair *p)
{
	tlskit_conn_free(p->c);
	tlskit_conn_free(p->s);
	tlskit_config_free(p->ccfg);
	tlskit_config_free(p->scfg);
	free(p);
}

/* The server never reads a byte the refused client sends. */
static void assert_no_data(struct pair *p)
{
	char buf[16];

	if (p->rc == 0)
		(void)tlskit_write(p->c, "hi", 2);
	assert_int_equal(p->rs, -1);
	assert_int_equal(tlskit_read(p->s, buf, sizeof(buf)), -1);
}

static void admitted(const char *client, enum tlskit_allow_kind kind,
		     const char *value)
{
	tlskit_config *scfg = server_config("server");
	struct pair *p;
	char buf[16];

	assert_int_equal(tlskit_config_add_allow(scfg, kind, value), 0);
	p = run_pair(client_config(client), scfg);
	assert_int_equal(p->rc, 0);
	assert_int_equal(p->rs, 0);
	assert_int_equal(tlskit_write(p->c, "hi", 2), 2);
	assert_int_equal(tlskit_read(p->s, buf, sizeof(buf)), 2);
	assert_string_equal(tlskit_conn_verify_result(p->s), "ok");
	pair_free(p);
}

/* Refused: the server's error says why, the client learns by an alert. */
static void refused(const char *client, enum tlskit_allow_kind kind,
		    const char *value, const char *message)
{
	tlskit_config *scfg = server_config("server");
	struct pair *p;
	char buf[16];

	assert_int_equal(tlskit_config_add_allow(scfg, kind, value), 0);
	p = run_pair(client_config(client), scfg);
	assert_no_data(p);
	assert_int_equal(tlskit_conn_error_category(p->s), TLSKIT_ERR_VERIFY);
	assert_contains(tlskit_conn_error(p->s), message);
	if (p->rc == 0) /* TLS 1.3: the client hears it when it reads */
		assert_int_equal(tlskit_read(p->c, buf, sizeof(buf)), -1);
	assert_contains(tlskit_conn_error(p->c), "peer sent alert 'bad certificate'");
	pair_free(p);
}

/* ---- allow rules ---------------------------------------------------------- */

static void test_allow_cn(void **state)
{
	(void)state;
	admitted("alice", TLSKIT_ALLOW_CN, "alice");
	refused("mallory", TLSKIT_ALLOW_CN, "alice",
		"client certificate not authorized: CN=mallory, DNS:none, "
		"URI:spiffe://x/y match none of --allow-cn alice");
}

static void test_allow_san_dns(void **state)
{
	(void)state;
	admitted("alice", TLSKIT_ALLOW_SAN_DNS, "ALICE.test");
	/* The CN says alice; the SAN rule is not fooled by it. */
	refused("cn-only", TLSKIT_ALLOW_SAN_DNS, "alice.test",
		"CN=alice, DNS:other.test, URI:none match none of --allow-san-dns alice.test");
}

static void test_allow_san_uri(void **state)
{
	(void)state;
	admitted("alice", TLSKIT_ALLOW_SAN_URI, "spiffe://x/alice");
	refused("mallory", TLSKIT_ALLOW_SAN_URI, "spiffe://x/z",
		"URI:spiffe://x/y match none of --allow-san-uri spiffe://x/z");
	/* URIs are exact: no case folding, no prefix match. */
	refused("alice", TLSKIT_ALLOW_SAN_URI, "spiffe://x/ALICE",
		"--allow-san-uri spiffe://x/ALICE");
	refused("alice", TLSKIT_ALLOW_SAN_URI, "spiffe://x/ali", "not authorized");
}

static void test_allow_ou(void **state)
{
	(void)state;
	admitted("alice", TLSKIT_ALLOW_OU, "ops");
	refused("mallory", TLSKIT_ALLOW_OU, "ops",
		"CN=mallory, OU=none, DNS:none, URI:spiffe://x/y match none of --allow-ou ops");
}

static void test_allow_fingerprint(void **state)
{
	struct tlskit_error err = { 0 };
	tlskit_cert *c = tlskit_cert_load_file(pki("alice.pem"), &err);
	char rule[128], upper[128];

	(void)state;
	assert_non_null(c);
	snprintf(rule, sizeof(rule), "sha256:%s", tlskit_cert_fingerprint_sha256(c));
	tlskit_cert_free(c);
	admitted("alice", TLSKIT_ALLOW_FINGERPRINT, rule);
	for (size_t i = 0; i <= strlen(rule); i++)
		upper[i] = (char)(i > 7 ? toupper((unsigned char)rule[i]) : rule[i]);
	admitted("alice", TLSKIT_ALLOW_FINGERPRINT, upper);
	refused("mallory", TLSKIT_ALLOW_FINGERPRINT, rule, ", sha256:");
}

static void test_allow_any_of_several(void **state)
{
	tlskit_config *scfg = server_config("server");
	struct pair *p;

	(void)state;
	assert_int_equal(tlskit_config_add_allow(scfg, TLSKIT_ALLOW_CN, "bob"), 0);
	assert_int_equal(tlskit_config_add_allow(scfg, TLSKIT_ALLOW_SAN_URI,
						 "spiffe://x/alice"), 0);
	p = run_pair(client_config("alice"), tlskit_config_ref(scfg));
	assert_int_equal(p->rs, 0);
	pair_free(p);
	p = run_pair(client_config("mallory"), scfg);
	assert_no_data(p);
	assert_contains(tlskit_conn_error(p->s),
			"match none of --allow-cn bob, --allow-san-uri spiffe://x/alice");
	pair_free(p);
}

static void test_allow_requires_cert(void **state)
{
	tlskit_config *scfg = server_config("server");
	struct pair *p;

	(void)state;
	/* Even when asked for "optional" after the rule. */
	assert_int_equal(tlskit_config_add_allow(scfg, TLSKIT_ALLOW_CN, "alice"), 0);
	assert_int_equal(tlskit_config_set_verify_client(
				 scfg, TLSKIT_VERIFY_CLIENT_OPTIONAL), 0);
	p = run_pair(client_config(NULL), scfg);
	assert_no_data(p);
	assert_contains(tlskit_conn_error(p->s), "peer did not return a certificate");
	pair_free(p);
}

static void test_allow_bad_values(void **state)
{
	tlskit_config *cfg = tlskit_config_new();

	(void)state;
	assert_int_equal(tlskit_config_add_allow(cfg, TLSKIT_ALLOW_FINGERPRINT,
						 "sha256:abcd"), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_USAGE);
	assert_contains(tlskit_config_error(cfg), "expected sha256: and 64 hex digits");
	assert_int_equal(tlskit_config_add_allow(cfg, TLSKIT_ALLOW_CN, ""), -1);
	assert_contains(tlskit_config_error(cfg), "--allow-cn: empty value");
	assert_int_equal(tlskit_config_add_allow(cfg, (enum tlskit_allow_kind)99,
						 "x"), -1);
	tlskit_config_free(cfg);
}

/* ---- pins ------------------------------------------------------------------ */

static void test_pin_match(void **state)
{
	tlskit_config *ccfg = client_config(NULL);
	struct pair *p;
	char pin[128];

	(void)state;
	assert_int_equal(tlskit_config_add_pin(ccfg, pin_of("server.pem", pin,
							    sizeof(pin))), 0);
	p = run_pair(ccfg, server_config("server"));
	assert_int_equal(p->rc, 0);
	assert_string_equal(tlskit_conn_verify_result(p->c), "ok");
	pair_free(p);
}

static void test_pin_mismatch(void **state)
{
	tlskit_config *ccfg = client_config(NULL);
	struct pair *p;
	char pin[128], seen[128], msg[512];

	(void)state;
	pin_of("alice.pem", pin, sizeof(pin));
	assert_int_equal(tlskit_config_add_pin(ccfg, pin), 0);
	p = run_pair(ccfg, server_config("server"));
	assert_int_equal(p->rc, -1);
	assert_int_equal(tlskit_conn_error_category(p->c), TLSKIT_ERR_VERIFY);
	snprintf(msg, sizeof(msg),
		 "certificate pin mismatch: the server's key (CN=localhost) is %s; expected %s",
		 pin_of("server.pem", seen, sizeof(seen)), pin);
	assert_string_equal(tlskit_conn_error(p->c), msg);
	pair_free(p);
}

static void test_pin_still_verifies_chain(void **state)
{
	tlskit_config *ccfg = client_config(NULL);
	struct pair *p;
	char pin[128];

	(void)state;
	assert_int_equal(tlskit_config_add_pin(ccfg, pin_of("self.pem", pin,
							    sizeof(pin))), 0);
	p = run_pair(ccfg, server_config("self"));
	assert_int_equal(p->rc, -1);
	assert_contains(tlskit_conn_error(p->c), "certificate verify failed at depth 0");
	pair_free(p);
}

static void test_pin_only(void **state)
{
	tlskit_config *ccfg = client_config(NULL);
	struct pair *p;
	char pin[128];

	(void)state;
	assert_int_equal(tlskit_config_add_pin(ccfg, pin_of("self.pem", pin,
							    sizeof(pin))), 0);
	tlskit_config_insecure_pin_only(ccfg);
	p = run_pair(ccfg, server_config("self"));
	assert_int_equal(p->rc, 0);
	assert_contains(tlskit_conn_verify_result(p->c), "pin matched");
	assert_contains(tlskit_conn_verify_result(p->c), "insecure");
	pair_free(p);

	/* Pin-only still refuses another key. */
	ccfg = client_config(NULL);
	assert_int_equal(tlskit_config_add_pin(ccfg, pin_of("server.pem", pin,
							    sizeof(pin))), 0);
	tlskit_config_insecure_pin_only(ccfg);
	p = run_pair(ccfg, server_config("self"));
	assert_int_equal(p->rc, -1);
	assert_contains(tlskit_conn_error(p->c), "certificate pin mismatch");
	pair_free(p);
}

static void test_pin_bad_values(void **state)
{
	tlskit_config *cfg = tlskit_config_new();

	(void)state;
	assert_int_equal(tlskit_config_add_pin(cfg, "sha256//abc="), -1);
	assert_contains(tlskit_config_error(cfg), "adding pin 'sha256//abc='");
	assert_int_equal(tlskit_config_add_pin(cfg, "md5//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), -1);
	assert_int_equal(tlskit_config_add_pin(cfg, "sha256//!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!="), -1);
	assert_int_equal(tlskit_config_add_pin(cfg, NULL), -1);
	/* Pin-only without a pin cannot be built. */
	tlskit_config_insecure_pin_only(cfg);
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_CLIENT), -1);
	assert_contains(tlskit_config_error(cfg), "pin-only needs at least one pin");
	tlskit_config_free(cfg);
}

/* ---- verification hook ---------------------------------------------------- */

struct hook_seen {
	int calls;
	size_t chain_len;
	int library_ok;
	char reason[512];
	char leaf[256];
	enum tlskit_verify_decision answer;
	const char *message;
};

static enum tlskit_verify_decision hook(void *arg,
					const struct tlskit_verify_info *info,
					char *msg, size_t len)
{
	struct hook_seen *h = arg;

	h->calls++;
	h->chain_len = tlskit_cert_list_count(info->chain);
	h->library_ok = info->library_ok;
	snprintf(h->reason, sizeof(h->reason), "%s", info->library_reason);
	snprintf(h->leaf, sizeof(h->leaf), "%s",
		 tlskit_cert_subject(tlskit_cert_list_get(info->chain, 0)));
	if (h->message)
		snprintf(msg, len, "%s", h->message);
	return h->answer;
}

static void test_hook_accepts(void **state)
{
	struct hook_seen h = { .answer = TLSKIT_VERIFY_ACCEPT };
	tlskit_config *ccfg = client_config(NULL);
	struct pair *p;

	(void)state;
	assert_int_equal(tlskit_config_set_verify_hook(ccfg, hook, &h), 0);
	p = run_pair(ccfg, server_config("server"));
	assert_int_equal(p->rc, 0);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.library_ok, 1);
	assert_string_equal(h.reason, "ok");
	assert_string_equal(h.leaf, "CN=localhost");
	assert_true(h.chain_len >= 1);
	pair_free(p);
}

static void test_hook_rejects(void **state)
{
	struct hook_seen h = { .answer = TLSKIT_VERIFY_REJECT,
			       .message = "not on the list of the day" };
	tlskit_config *scfg = server_config("server");
	struct pair *p;

	(void)state;
	/* On a server, seeing the client's chain. */
	assert_int_equal(tlskit_config_set_verify_client(
				 scfg, TLSKIT_VERIFY_CLIENT_REQUIRE), 0);
	assert_int_equal(tlskit_config_set_verify_hook(scfg, hook, &h), 0);
	p = run_pair(client_config("alice"), scfg);
	assert_no_data(p);
	assert_string_equal(h.leaf, "CN=alice,OU=ops");
	assert_int_equal(tlskit_conn_error_category(p->s), TLSKIT_ERR_VERIFY);
	assert_string_equal(tlskit_conn_error(p->s),
			    "verification hook rejected the certificate: not on the list of the day");
	pair_free(p);
}

static void test_hook_cannot_accept_refused_chain(void **state)
{
	struct hook_seen h = { .answer = TLSKIT_VERIFY_ACCEPT };
	tlskit_config *ccfg = client_config(NULL);
	struct pair *p;

	(void)state;
	assert_int_equal(tlskit_config_set_verify_hook(ccfg, hook, &h), 0);
	p = run_pair(ccfg, server_config("self"));
	assert_int_equal(p->rc, -1);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.library_ok, 0);
	assert_contains(h.reason, "certificate verify failed at depth 0");
	assert_contains(tlskit_conn_error(p->c), "certificate verify failed at depth 0");
	pair_free(p);
}

static void test_hook_insecure_override(void **state)
{
	struct hook_seen h = { .answer = TLSKIT_VERIFY_ACCEPT };
	tlskit_config *ccfg = client_config(NULL);
	struct pair *p;

	(void)state;
	assert_int_equal(tlskit_config_set_verify_hook(ccfg, hook, &h), 0);
	tlskit_config_insecure_verify_hook_override(ccfg);
	p = run_pair(ccfg, server_config("self"));
	assert_int_equal(p->rc, 0);
	assert_contains(tlskit_conn_verify_result(p->c),
			"accepted by the verification hook over: certificate verify failed");
	pair_free(p);

	/* Overriding does not stop the hook from rejecting. */
	h.answer = TLSKIT_VERIFY_REJECT;
	h.message = NULL;
	ccfg = client_config(NULL);
	assert_int_equal(tlskit_config_set_verify_hook(ccfg, hook, &h), 0);
	tlskit_config_insecure_verify_hook_override(ccfg);
	p = run_pair(ccfg, server_config("server"));
	assert_int_equal(p->rc, -1);
	assert_string_equal(tlskit_conn_error(p->c),
			    "verification hook rejected the certificate");
	pair_free(p);
}

/* ---- profiles, hardening ---------------------------------------------------- */

static void test_profile_names(void **state)
{
	enum tlskit_profile pr;

	(void)state;
	assert_int_equal(tlskit_profile_parse("modern", &pr), 0);
	assert_int_equal(pr, TLSKIT_PROFILE_MODERN);
	assert_int_equal(tlskit_profile_parse("old", &pr), 0);
	assert_string_equal(tlskit_profile_name(pr), "old");
	assert_int_equal(tlskit_profile_parse("intermediate", &pr), 0);
	assert_int_equal(tlskit_profile_parse("Modern", &pr), -1);
	assert_int_equal(tlskit_profile_parse("", &pr), -1);
}

static void test_profile_modern_refuses_tls12(void **state)
{
	tlskit_config *scfg = server_config("server");
	tlskit_config *ccfg = client_config(NULL);
	struct pair *p;

	(void)state;
	assert_int_equal(tlskit_config_set_profile(scfg, TLSKIT_PROFILE_MODERN), 0);
	assert_int_equal(tlskit_config_set_protocols(ccfg, 0, TLSKIT_TLS1_2), 0);
	p = run_pair(ccfg, scfg);
	assert_int_equal(p->rs, -1);
	assert_contains(tlskit_conn_error(p->s), "unsupported protocol");
	pair_free(p);
}

static int has_cipher(tlskit_config *cfg, const char *name)
{
	struct tlskit_cipher_info *list = NULL;
	ssize_t n = tlskit_config_ciphers(cfg, TLSKIT_SERVER, &list);
	int found = 0;

	assert_true(n > 0);
	for (ssize_t i = 0; i < n; i++)
		found |= strcmp(list[i].name, name) == 0;
	free(list);
	return found;
}

static void test_profile_old_and_intermediate(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	tlskit_config *inter = tlskit_config_new();

	(void)state;
	assert_int_equal(tlskit_config_set_profile(cfg, TLSKIT_PROFILE_OLD), 0);
	assert_true(has_cipher(cfg, "ECDHE-RSA-AES128-SHA"));
	assert_true(has_cipher(cfg, "AES128-SHA"));
	assert_int_equal(config_min_protocol(cfg), TLS1_VERSION);
	assert_int_equal(tlskit_config_set_profile(inter,
						   TLSKIT_PROFILE_INTERMEDIATE), 0);
	assert_false(has_cipher(inter, "ECDHE-RSA-AES128-SHA"));
	assert_true(has_cipher(inter, "ECDHE-RSA-AES128-GCM-SHA256"));
	assert_int_equal(config_min_protocol(inter), TLS1_2_VERSION);
	tlskit_config_free(cfg);
	tlskit_config_free(inter);
}

/* Renegotiation refused, compression never offered, in both roles. */
static void test_no_renegotiation_no_compression(void **state)
{
	tlskit_config *cfg = server_config("server");

	(void)state;
	for (int role = TLSKIT_CLIENT; role <= TLSKIT_SERVER; role++) {
		SSL_CTX *ctx = config_ctx(cfg, (enum tlskit_role)role, NULL);
		uint64_t opts;

		assert_non_null(ctx);
		opts = SSL_CTX_get_options(ctx);
		assert_true(opts & SSL_OP_NO_RENEGOTIATION);
		assert_true(opts & SSL_OP_NO_COMPRESSION);
	}
	tlskit_config_free(cfg);
}

/* ---- key log ----------------------------------------------------------------- */

static void test_keylog(void **state)
{
	tlskit_config *ccfg = client_config(NULL);
	struct stat st;
	struct pair *p;
	char *text;
	size_t len;

	(void)state;
	assert_int_equal(tlskit_config_insecure_keylog_file(ccfg, pki("keys.log")), 0);
	p = run_pair(ccfg, server_config("server"));
	assert_int_equal(p->rc, 0);
	pair_free(p);
	assert_int_equal(stat(pki("keys.log"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	text = test_read_file(pki("keys.log"), &len);
	text[len < 65535 ? len : 65535] = '\0';
	assert_contains(text, "CLIENT_TRAFFIC_SECRET_0 ");
	assert_contains(text, "CLIENT_HANDSHAKE_TRAFFIC_SECRET ");
	assert_true(len > 0 && text[len - 1] == '\n');
	free(text);

	ccfg = tlskit_config_new();
	assert_int_equal(tlskit_config_insecure_keylog_file(ccfg, "/nonexistent/dir/k"), -1);
	assert_string_equal(tlskit_config_error(ccfg),
			    "opening key log file '/nonexistent/dir/k': No such file or directory");
	tlskit_config_free(ccfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_cn),
		cmocka_unit_test(test_allow_san_dns),
		cmocka_unit_test(test_allow_san_uri),
		cmocka_unit_test(test_allow_ou),
		cmocka_unit_test(test_allow_fingerprint),
		cmocka_unit_test(test_allow_any_of_several),
		cmocka_unit_test(test_allow_requires_cert),
		cmocka_unit_test(test_allow_bad_values),
		cmocka_unit_test(test_pin_match),
		cmocka_unit_test(test_pin_mismatch),
		cmocka_unit_test(test_pin_still_verifies_chain),
		cmocka_unit_test(test_pin_only),
		cmocka_unit_test(test_pin_bad_values),
		cmocka_unit_test(test_hook_accepts),
		cmocka_unit_test(test_hook_rejects),
		cmocka_unit_test(test_hook_cannot_accept_refused_chain),
		cmocka_unit_test(test_hook_insecure_override),
		cmocka_unit_test(test_profile_names),
		cmocka_unit_test(test_profile_modern_refuses_tls12),
		cmocka_unit_test(test_profile_old_and_intermediate),
		cmocka_unit_test(test_no_renegotiation_no_compression),
		cmocka_unit_test(test_keylog),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
