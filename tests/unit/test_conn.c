/*
 * test_conn.c - connections: handshakes in memory (callbacks) and over
 * socketpairs and loopback TCP, I/O, close, and the messages of failures.
 *
 * The PKI is generated once per run in a mkdtemp directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tlskit.h"
#include "throwaway_pki.h"
#include "test_mem_transport.h"

/* ---- test PKI ---------------------------------------------------------- */

static int fds_at_start;

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

static int pki_setup(void **state)
{
	(void)state;
	fds_at_start = count_fds();
	if (pki_make_dir("test-conn") < 0)
		return -1;
	pki_gen(TLSKIT_CERT_CA, "ca", "tlskit test CA", NULL, 0, 0);
	pki_gen(TLSKIT_CERT_CA, "other-ca", "Other CA", NULL, 0, 0);
	pki_gen(TLSKIT_CERT_SERVER, "server", "localhost", "ca", 0, 0);
	pki_gen(TLSKIT_CERT_CLIENT, "client", "client", "ca", 0, 0);
	/* 2020-01-01 .. 2024-01-01 */
	pki_gen(TLSKIT_CERT_SERVER, "expired", "localhost", "ca", 1577836800,
		1704067200);
	pki_gen(TLSKIT_CERT_SERVER, "foreign", "localhost", "other-ca", 0, 0);
	return 0;
}

static int pki_teardown(void **state)
{
	(void)state;
	pki_remove_dir();
	/* Every test closed what it opened, and the library what it did. */
	if (count_fds() != fds_at_start) {
		fprintf(stderr, "descriptor leak: %d open, %d at start\n",
			count_fds(), fds_at_start);
		return -1;
	}
	return 0;
}

/* A server config with the named leaf (server, expired, foreign). */
static tlskit_config *server_config(const char *leaf)
{
	tlskit_config *cfg = tlskit_config_new();
	char cert[64], key[64];

	snprintf(cert, sizeof(cert), "%s.pem", leaf);
	snprintf(key, sizeof(key), "%s.key", leaf);
	assert_non_null(cfg);
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki(cert)), 0);
	assert_int_equal(tlskit_config_set_key_file(cfg, pki(key)), 0);
	return cfg;
}

/* A client config trusting the named CA. */
static tlskit_config *client_config(const char *ca)
{
	tlskit_config *cfg = tlskit_config_new();
	char file[64];

	snprintf(file, sizeof(file), "%s.pem", ca);
	assert_non_null(cfg);
	assert_int_equal(tlskit_config_set_ca_file(cfg, pki(file)), 0);
	return cfg;
}

/* ---- in-memory pair (test_mem_transport.h) ------------------------------ */

struct pair {
	tlskit_config *ccfg, *scfg;
	tlskit_conn *c, *s;
	struct pipe_buf c2s, s2c;
	struct end cend, send;
	int rc, rs;
	int wants;
};

static struct pair *pair_new(tlskit_config *ccfg, tlskit_config *scfg,
			     const char *servername)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->ccfg = ccfg;
	p->scfg = scfg;
	p->cend.in = &p->s2c;
	p->cend.out = &p->c2s;
	p->send.in = &p->c2s;
	p->send.out = &p->s2c;
	p->c = tlskit_client_new(ccfg);
	p->s = tlskit_server_new(scfg);
	assert_non_null(p->c);
	assert_non_null(p->s);
	assert_int_equal(tlskit_connect_cbs(p->c, mem_read, mem_write, &p->cend,
					    servername),
			 0);
	assert_int_equal(tlskit_accept_cbs(p->s, mem_read, mem_write, &p->send),
			 0);
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

static int is_want(int r)
{
	return r == TLSKIT_WANT_READ || r == TLSKIT_WANT_WRITE;
}

/* Steps both handshakes by hand until neither wants more; a side that
 * fails hangs up so the other sees it. */
static void pair_handshake(struct pair *p)
{
	p->rc = p->rs = TLSKIT_WANT_READ;
	for (int i = 0; i < 100 && (is_want(p->rc) || is_want(p->rs)); i++) {
		if (is_want(p->rc)) {
			p->rc = tlskit_handshake(p->c);
			p->wants += is_want(p->rc);
			if (p->rc == -1)
				p->c2s.closed = 1;
		}
		if (is_want(p->rs)) {
			p->rs = tlskit_handshake(p->s);
			p->wants += is_want(p->rs);
			if (p->rs == -1)
				p->s2c.closed = 1;
		}
	}
}

/* ---- tests --------------------------------------------------------------- */

static void test_handshake_in_memory(void **state)
{
	struct pair *p = pair_new(client_config("ca"), server_config("server"),
				  "localhost");
	char buf[64];

	(void)state;
	pair_handshake(p);
	assert_int_equal(p->rc, 0);
	assert_int_equal(p->rs, 0);
	assert_true(p->wants > 0);
	assert_string_equal(tlskit_conn_version(p->c), "TLSv1.3");
	assert_string_equal(tlskit_conn_cipher(p->c), tlskit_conn_cipher(p->s));
	assert_string_equal(tlskit_conn_cipher(p->c), "TLS_AES_128_GCM_SHA256");
	assert_int_equal(tlskit_conn_cipher_bits(p->c), 128);
	assert_string_equal(tlskit_conn_group(p->c), "X25519");
	assert_string_equal(tlskit_conn_verify_result(p->c), "ok");
	assert_string_equal(tlskit_conn_verify_result(p->s), "no certificate");
	assert_string_equal(tlskit_conn_servername(p->s), "localhost");
	assert_string_equal(tlskit_conn_servername(p->c), "localhost");
	assert_null(tlskit_conn_alpn(p->c));
	assert_int_equal(tlskit_conn_resumed(p->c), 0);
	assert_non_null(tlskit_conn_peer_cert(p->c));
	assert_null(tlskit_conn_peer_cert(p->s));

	assert_int_equal(tlskit_write(p->c, "hello", 5), 5);
	assert_int_equal(tlskit_read(p->s, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(tlskit_write(p->s, "world!", 6), 6);
	assert_int_equal(tlskit_read(p->c, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "world!", 6);
	/* Nothing more yet: WANT_READ, not an error. */
	assert_int_equal(tlskit_read(p->s, buf, sizeof(buf)), TLSKIT_WANT_READ);

	assert_int_equal(tlskit_close(p->c), 0);
	assert_int_equal(tlskit_read(p->s, buf, sizeof(buf)), 0);
	assert_int_equal(tlskit_close(p->s), 0);
	assert_int_equal(tlskit_read(p->c, buf, sizeof(buf)), 0);
	pair_free(p);
}

/* Runs a handshake expected to fail on both sides. */
static struct pair *failing_pair(tlskit_config *ccfg, tlskit_config *scfg,
				 const char *servername)
{
	struct pair *p = pair_new(ccfg, scfg, servername);

	pair_handshake(p);
	return p;
}

static void test_untrusted_ca(void **state)
{
	struct pair *p = failing_pair(client_config("other-ca"),
				      server_config("server"), "localhost");

	(void)state;
	assert_int_equal(p->rc, -1);
	assert_int_equal(tlskit_conn_error_category(p->c), TLSKIT_ERR_VERIFY);
	assert_string_equal(tlskit_conn_error(p->c),
			    "certificate verify failed at depth 0 (CN=localhost): "
			    "unable to get local issuer certificate: issuer "
			    "'CN=tlskit test CA' is not trusted");
	assert_int_equal(p->rs, -1);
	assert_int_equal(tlskit_conn_error_category(p->s), TLSKIT_ERR_VERIFY);
	assert_string_equal(tlskit_conn_error(p->s),
			    "TLS handshake failed: peer sent alert 'unknown ca' "
			    "\u2014 it does not trust our certificate");
	pair_free(p);
}

static void test_expired(void **state)
{
	struct pair *p = failing_pair(client_config("ca"),
				      server_config("expired"), "localhost");

	(void)state;
	assert_int_equal(p->rc, -1);
	assert_int_equal(tlskit_conn_error_category(p->c), TLSKIT_ERR_VERIFY);
	assert_string_equal(tlskit_conn_error(p->c),
			    "certificate verify failed at depth 0 (CN=localhost): "
			    "certificate has expired (notAfter 2024-01-01 00:00:00 UTC)");
	assert_int_equal(p->rs, -1);
	assert_contains(tlskit_conn_error(p->s), "certificate expired");
	pair_free(p);
}

static void test_hostname_mismatch(void **state)
{
	struct pair *p = failing_pair(client_config("ca"),
				      server_config("server"), "example.test");

	(void)state;
	assert_int_equal(p->rc, -1);
	assert_int_equal(tlskit_conn_error_category(p->c), TLSKIT_ERR_VERIFY);
	assert_string_equal(tlskit_conn_error(p->c),
			    "hostname mismatch: certificate is valid for "
			    "localhost, 127.0.0.1; not example.test");
	/* The server saw the name asked for. */
	assert_int_equal(p->rs, -1);
	pair_free(p);
}

static void test_ip_servername(void **state)
{
	struct pair *p = pair_new(client_config("ca"), server_config("server"),
				  "127.0.0.1");

	(void)state;
	pair_handshake(p);
	assert_int_equal(p->rc, 0);
	assert_int_equal(p->rs, 0);
	/* Addresses are checked against IP SANs and never sent as SNI. */
	assert_null(tlskit_conn_servername(p->s));
	assert_null(tlskit_conn_servername(p->c));
	pair_free(p);

	p = failing_pair(client_config("ca"), server_config("server"),
			 "10.1.2.3");
	assert_int_equal(p->rc, -1);
	assert_string_equal(tlskit_conn_error(p->c),
			    "hostname mismatch: certificate is valid for "
			    "localhost, 127.0.0.1; not 10.1.2.3");
	pair_free(p);
}

static void test_no_servername_refused(void **state)
{
	tlskit_config *cfg = client_config("ca");
	tlskit_conn *c = tlskit_client_new(cfg);
	struct pipe_buf a = { .len = 0 }, b = { .len = 0 };
	struct end e = { &a, &b };

	(void)state;
	assert_int_equal(tlskit_connect_cbs(c, mem_read, mem_write, &e, NULL),
			 -1);
	assert_int_equal(tlskit_conn_error_category(c), TLSKIT_ERR_USAGE);
	assert_contains(tlskit_conn_error(c), "no server name");
	tlskit_conn_free(c);
	tlskit_config_free(cfg);
}

static void test_insecure_noverifycert(void **state)
{
	tlskit_config *ccfg = client_config("other-ca");
	struct pair *p;

	(void)state;
	tlskit_config_insecure_noverifycert(ccfg);
	p = pair_new(ccfg, server_config("expired"), "localhost");
	pair_handshake(p);
	assert_int_equal(p->rc, 0);
	assert_int_equal(p->rs, 0);
	assert_string_equal(tlskit_conn_verify_result(p->c),
			    "not verified (insecure)");
	pair_free(p);
}

static tlskit_config *mtls_server_config(enum tlskit_verify_client mode)
{
	tlskit_config *cfg = server_config("server");

	assert_int_equal(tlskit_config_set_ca_file(cfg, pki("ca.pem")), 0);
	assert_int_equal(tlskit_config_set_verify_client(cfg, mode), 0);
	return cfg;
}

static void test_client_cert_required_missing(void **state)
{
	struct pair *p = failing_pair(
		client_config("ca"),
		mtls_server_config(TLSKIT_VERIFY_CLIENT_REQUIRE), "localhost");
	char buf[16];

	(void)state;
	assert_int_equal(p->rs, -1);
	assert_int_equal(tlskit_conn_error_category(p->s), TLSKIT_ERR_VERIFY);
	assert_contains(tlskit_conn_error(p->s),
			"TLS handshake failed: peer did not return a certificate");
	assert_contains(tlskit_conn_error(p->s),
			"client certificate required but none was sent");
	/* In TLS 1.3 the client learns it only when it reads. */
	if (p->rc == 0)
		assert_int_equal(tlskit_read(p->c, buf, sizeof(buf)), -1);
	assert_contains(tlskit_conn_error(p->c),
			"peer sent alert 'certificate required'");
	pair_free(p);
}

static void test_client_cert_ok(void **state)
{
	tlskit_config *ccfg = client_config("ca");
	struct pair *p;

	(void)state;
	assert_int_equal(tlskit_config_set_cert_file(ccfg, pki("client.pem")), 0);
	assert_int_equal(tlskit_config_set_key_file(ccfg, pki("client.key")), 0);
	p = pair_new(ccfg, mtls_server_config(TLSKIT_VERIFY_CLIENT_REQUIRE),
		     "localhost");
	pair_handshake(p);
	assert_int_equal(p->rc, 0);
	assert_int_equal(p->rs, 0);
	assert_string_equal(tlskit_conn_verify_result(p->s), "ok");
	assert_non_null(tlskit_conn_peer_cert(p->s));
	assert_string_equal(tlskit_cert_subject(tlskit_conn_peer_cert(p->s)),
			    "CN=client");
	pair_free(p);
}

static void test_client_cert_untrusted(void **state)
{
	tlskit_config *ccfg = client_config("ca");
	struct pair *p;
	char buf[16];

	(void)state;
	/* A certificate the server's CA did not sign. */
	assert_int_equal(tlskit_config_set_cert_file(ccfg, pki("foreign.pem")), 0);
	assert_int_equal(tlskit_config_set_key_file(ccfg, pki("foreign.key")), 0);
	p = failing_pair(ccfg, mtls_server_config(TLSKIT_VERIFY_CLIENT_OPTIONAL),
			 "localhost");
	assert_int_equal(p->rs, -1);
	assert_int_equal(tlskit_conn_error_category(p->s), TLSKIT_ERR_VERIFY);
	assert_contains(tlskit_conn_error(p->s),
			"certificate verify failed at depth 0 (CN=localhost): "
			"unable to get local issuer certificate: issuer 'CN=Other CA'");
	if (p->rc == 0)
		assert_int_equal(tlskit_read(p->c, buf, sizeof(buf)), -1);
	assert_contains(tlskit_conn_error(p->c), "peer sent alert 'unknown ca'");
	pair_free(p);
}

static void test_version_below_minimum(void **state)
{
	tlskit_config *ccfg = client_config("ca");
	struct pair *p;

	(void)state;
	/* TLS 1.1 needs security level 0 and ciphers that predate 1.2. */
	assert_int_equal(tlskit_config_set_protocols(ccfg, TLSKIT_TLS1_0,
						     TLSKIT_TLS1_1),
			 0);
	assert_int_equal(tlskit_config_set_ciphers(ccfg, "DEFAULT:@SECLEVEL=0"), 0);
	p = failing_pair(ccfg, server_config("server"), "localhost");
	assert_int_equal(p->rs, -1);
	assert_int_equal(tlskit_conn_error_category(p->s), TLSKIT_ERR_PROTOCOL);
	assert_string_equal(tlskit_conn_error(p->s),
			    "TLS handshake failed: unsupported protocol (peer "
			    "offers TLS 1.1 or lower; minimum is TLS 1.2)");
	assert_int_equal(p->rc, -1);
	assert_contains(tlskit_conn_error(p->c),
			"peer sent alert 'protocol version'");
	pair_free(p);
}

static void test_version_above_peer_maximum(void **state)
{
	tlskit_config *scfg = server_config("server");
	struct pair *p;

	(void)state;
	assert_int_equal(tlskit_config_set_protocols(scfg, TLSKIT_TLS1_0,
						     TLSKIT_TLS1_1),
			 0);
	assert_int_equal(tlskit_config_set_ciphers(scfg, "DEFAULT:@SECLEVEL=0"), 0);
	p = failing_pair(client_config("ca"), scfg, "localhost");
	assert_int_equal(p->rs, -1);
	assert_int_equal(tlskit_conn_error_category(p->s), TLSKIT_ERR_PROTOCOL);
	assert_string_equal(tlskit_conn_error(p->s),
			    "TLS handshake failed: unsupported protocol (no "
			    "version in common; we accept TLS 1.0 to TLS 1.1)");
	assert_int_equal(p->rc, -1);
	assert_string_equal(tlskit_conn_error(p->c),
			    "TLS handshake failed: peer sent alert 'protocol "
			    "version' (no TLS version in common)");
	pair_free(p);
}

static void test_no_shared_cipher(void **state)
{
	tlskit_config *ccfg = client_config("ca");
	tlskit_config *scfg = server_config("server");
	struct pair *p;

	(void)state;
	assert_int_equal(tlskit_config_set_protocols(ccfg, 0, TLSKIT_TLS1_2), 0);
	assert_int_equal(tlskit_config_set_ciphers(ccfg,
						   "ECDHE-ECDSA-AES128-GCM-SHA256"),
			 0);
	assert_int_equal(tlskit_config_set_ciphers(scfg,
						   "ECDHE-ECDSA-AES256-GCM-SHA384"),
			 0);
	p = failing_pair(ccfg, scfg, "localhost");
	assert_int_equal(p->rs, -1);
	assert_string_equal(tlskit_conn_error(p->s),
			    "TLS handshake failed: no shared cipher");
	assert_int_equal(p->rc, -1);
	assert_string_equal(tlskit_conn_error(p->c),
			    "TLS handshake failed: peer sent alert 'handshake "
			    "failure' (no shared cipher?)");
	pair_free(p);
}

static void test_tls12_session(void **state)
{
	tlskit_config *ccfg = client_config("ca");
	struct pair *p;

	(void)state;
	assert_int_equal(tlskit_config_set_protocols(ccfg, 0, TLSKIT_TLS1_2), 0);
	p = pair_new(ccfg, server_config("server"), "localhost");
	pair_handshake(p);
	assert_int_equal(p->rc, 0);
	assert_int_equal(p->rs, 0);
	assert_string_equal(tlskit_conn_version(p->s), "TLSv1.2");
	/* An EC P-256 key: the server prefers ChaCha only if the client
	 * does; the client's order puts AES-128-GCM first. */
	assert_string_equal(tlskit_conn_cipher(p->s),
			    "ECDHE-ECDSA-AES128-GCM-SHA256");
	assert_string_equal(tlskit_conn_group(p->s), "X25519");
	pair_free(p);
}

static void test_alpn(void **state)
{
	tlskit_config *ccfg = client_config("ca");
	tlskit_config *scfg = server_config("server");
	struct pair *p;

	(void)state;
	assert_int_equal(tlskit_config_set_alpn(ccfg, "h2,http/1.1"), 0);
	assert_int_equal(tlskit_config_set_alpn(scfg, "http/1.1,h2"), 0);
	p = pair_new(ccfg, scfg, "localhost");
	pair_handshake(p);
	assert_int_equal(p->rc, 0);
	assert_int_equal(p->rs, 0);
	/* The server's preference wins. */
	assert_string_equal(tlskit_conn_alpn(p->c), "http/1.1");
	assert_string_equal(tlskit_conn_alpn(p->s), "http/1.1");
	pair_free(p);

	ccfg = client_config("ca");
	scfg = server_config("server");
	assert_int_equal(tlskit_config_set_alpn(ccfg, "h2"), 0);
	assert_int_equal(tlskit_config_set_alpn(scfg, "imap"), 0);
	p = failing_pair(ccfg, scfg, "localhost");
	assert_int_equal(p->rs, -1);
	assert_contains(tlskit_conn_error(p->s), "no ALPN protocol in common");
	assert_int_equal(p->rc, -1);
	assert_contains(tlskit_conn_error(p->c),
			"peer sent alert 'no application protocol'");
	pair_free(p);

	/* A client without ALPN still talks to a server with a list. */
	scfg = server_config("server");
	assert_int_equal(tlskit_config_set_alpn(scfg, "h2"), 0);
	p = pair_new(client_config("ca"), scfg, "localhost");
	pair_handshake(p);
	assert_int_equal(p->rc, 0);
	assert_null(tlskit_conn_alpn(p->s));
	pair_free(p);
}

static void test_unexpected_eof_in_memory(void **state)
{
	struct pair *p = pair_new(client_config("ca"), server_config("server"),
				  "localhost");
	char buf[16];

	(void)state;
	pair_handshake(p);
	assert_int_equal(p->rc, 0);
	p->c2s.closed = 1;
	assert_int_equal(tlskit_read(p->s, buf, sizeof(buf)), -1);
	assert_int_equal(tlskit_conn_error_category(p->s), TLSKIT_ERR_CLOSED);
	assert_string_equal(tlskit_conn_error(p->s),
			    "reading from peer: connection closed without "
			    "close_notify (data may be truncated)");
	/* The connection is dead: reads keep failing, close is quiet. */
	assert_int_equal(tlskit_read(p->s, buf, sizeof(buf)), -1);
	assert_int_equal(tlskit_close(p->s), 0);
	pair_free(p);
}

static void test_big_write_in_memory(void **state)
{
	struct pair *p = pair_new(client_config("ca"), server_config("server"),
				  "localhost");
	size_t total = 300000, got = 0;
	unsigned char *out = malloc(total), *in = malloc(total);
	ssize_t w = TLSKIT_WANT_WRITE, r;
	int write_wants = 0;

	(void)state;
	assert_non_null(out);
	assert_non_null(in);
	for (size_t i = 0; i < total; i++)
		out[i] = (unsigned char)(i * 7);
	pair_handshake(p);
	assert_int_equal(p->rc, 0);
	for (int i = 0; i < 1000 && (is_want((int)w) || got < total); i++) {
		if (is_want((int)w)) {
			w = tlskit_write(p->c, out, total);
			write_wants += w == TLSKIT_WANT_WRITE;
		}
		r = tlskit_read(p->s, in + got, total - got);
		if (r > 0)
			got += (size_t)r;
		else
			assert_true(is_want((int)r));
	}
	assert_int_equal(w, (ssize_t)total);
	assert_true(write_wants > 0);
	assert_int_equal(got, total);
	assert_memory_equal(in, out, total);
	free(out);
	free(in);
	pair_free(p);
}

static void test_not_connected(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	tlskit_conn *c = tlskit_client_new(cfg);
	char buf[4];

	(void)state;
	assert_int_equal(tlskit_handshake(c), -1);
	assert_int_equal(tlskit_conn_error_category(c), TLSKIT_ERR_USAGE);
	assert_int_equal(tlskit_read(c, buf, sizeof(buf)), -1);
	assert_int_equal(tlskit_write(c, "x", 1), -1);
	assert_int_equal(tlskit_close(c), 0);
	assert_int_equal(tlskit_conn_fd(c), -1);
	assert_int_equal(tlskit_accept_fd(c, 0), -1);
	assert_contains(tlskit_conn_error(c), "this is a client connection");
	assert_null(tlskit_server_new(NULL));
	tlskit_conn_free(c);
	tlskit_conn_free(NULL);
	tlskit_config_free(cfg);
}

static void test_server_without_cert(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	tlskit_conn *s = tlskit_server_new(cfg);
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(tlskit_accept_fd(s, sv[0]), -1);
	assert_int_equal(tlskit_conn_error_category(s), TLSKIT_ERR_CONFIG);
	assert_contains(tlskit_conn_error(s), "no certificate");
	tlskit_conn_free(s);
	tlskit_config_free(cfg);
	close(sv[0]);
	close(sv[1]);
}

/* ---- sockets ------------------------------------------------------------ */

static void set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	assert_true(flags >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

static short want_events(int r)
{
	return r == TLSKIT_WANT_WRITE ? POLLOUT : POLLIN;
}

/* Handshakes two non-blocking connections on their sockets with poll. */
static void poll_handshake(tlskit_conn *c, tlskit_conn *s, int *rc, int *rs,
			   int *wants)
{
	*rc = tlskit_handshake(c);
	*rs = tlskit_handshake(s);
	*wants = is_want(*rc) + is_want(*rs);
	for (int i = 0; i < 200 && (is_want(*rc) || is_want(*rs)); i++) {
		struct pollfd pfd[2] = {
			{ tlskit_conn_fd(c), is_want(*rc) ? want_events(*rc) : 0, 0 },
			{ tlskit_conn_fd(s), is_want(*rs) ? want_events(*rs) : 0, 0 },
		};

		assert_true(poll(pfd, 2, 5000) > 0);
		if (is_want(*rc) && pfd[0].revents) {
			*rc = tlskit_handshake(c);
			*wants += is_want(*rc);
		}
		if (is_want(*rs) && pfd[1].revents) {
			*rs = tlskit_handshake(s);
			*wants += is_want(*rs);
		}
	}
}

static void test_nonblocking_socketpair(void **state)
{
	tlskit_config *ccfg = client_config("ca"), *scfg = server_config("server");
	tlskit_conn *c = tlskit_client_new(ccfg), *s = tlskit_server_new(scfg);
	size_t total = 1 << 20, got = 0;
	unsigned char *out = malloc(total), *in = malloc(total);
	ssize_t w = TLSKIT_WANT_WRITE, r = TLSKIT_WANT_READ;
	int sv[2], rc, rs, wants, write_wants = 0;

	(void)state;
	assert_non_null(out);
	assert_non_null(in);
	memset(out, 'x', total);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	set_nonblocking(sv[0]);
	set_nonblocking(sv[1]);
	assert_int_equal(tlskit_connect_fd(c, sv[0], "localhost"), 0);
	assert_int_equal(tlskit_accept_fd(s, sv[1]), 0);
	assert_int_equal(tlskit_conn_fd(c), sv[0]);
	poll_handshake(c, s, &rc, &rs, &wants);
	assert_int_equal(rc, 0);
	assert_int_equal(rs, 0);
	assert_true(wants > 0);

	for (int i = 0; i < 10000 && (is_want((int)w) || got < total); i++) {
		struct pollfd pfd[2] = {
			{ sv[0], is_want((int)w) ? want_events((int)w) : 0, 0 },
			{ sv[1], want_events((int)r), 0 },
		};

		assert_true(poll(pfd, 2, 5000) > 0);
		if (is_want((int)w) && pfd[0].revents) {
			w = tlskit_write(c, out, total);
			write_wants += is_want((int)w);
		}
		if (pfd[1].revents) {
			while ((r = tlskit_read(s, in + got, total - got)) > 0)
				got += (size_t)r;
			assert_true(is_want((int)r) || got == total);
		}
	}
	assert_int_equal(w, (ssize_t)total);
	assert_true(write_wants > 0);
	assert_int_equal(got, total);
	assert_memory_equal(in, out, total);

	/* close_notify reaches the peer as a 0 read. */
	assert_int_equal(tlskit_close(c), 0);
	for (int i = 0; i < 100; i++) {
		struct pollfd pfd = { sv[1], POLLIN, 0 };

		assert_true(poll(&pfd, 1, 5000) > 0);
		r = tlskit_read(s, in, 16);
		if (!is_want((int)r))
			break;
	}
	assert_int_equal(r, 0);
	tlskit_conn_free(c);
	tlskit_conn_free(s);
	/* The caller's descriptors stay open. */
	assert_int_equal(fcntl(sv[0], F_GETFD), FD_CLOEXEC & 0);
	close(sv[0]);
	close(sv[1]);
	tlskit_config_free(ccfg);
	tlskit_config_free(scfg);
	free(out);
	free(in);
}

static void test_unexpected_eof_socket(void **state)
{
	tlskit_config *ccfg = client_config("ca"), *scfg = server_config("server");
	tlskit_conn *c = tlskit_client_new(ccfg), *s = tlskit_server_new(scfg);
	int sv[2], rc, rs, wants;
	char buf[16];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	set_nonblocking(sv[0]);
	set_nonblocking(sv[1]);
	assert_int_equal(tlskit_connect_fd(c, sv[0], "localhost"), 0);
	assert_int_equal(tlskit_accept_fd(s, sv[1]), 0);
	poll_handshake(c, s, &rc, &rs, &wants);
	assert_int_equal(rc, 0);
	assert_int_equal(rs, 0);
	/* The server sends its data, then the client hangs up without
	 * close_notify. The server's session tickets are left unread. */
	assert_int_equal(tlskit_write(s, "bye", 3), 3);
	assert_int_equal(tlskit_read(c, buf, sizeof(buf)), 3);
	tlskit_conn_free(c);
	close(sv[0]);
	/* Blocking now: the read must end with an error, not hang. */
	assert_int_equal(fcntl(sv[1], F_SETFL, 0), 0);
	assert_int_equal(tlskit_read(s, buf, sizeof(buf)), -1);
	assert_int_equal(tlskit_conn_error_category(s), TLSKIT_ERR_CLOSED);
	assert_string_equal(tlskit_conn_error(s),
			    "reading from peer: connection closed without "
			    "close_notify (data may be truncated)");
	tlskit_conn_free(s);
	close(sv[1]);
	tlskit_config_free(ccfg);
	tlskit_config_free(scfg);
}

/* A loopback listener on an ephemeral port. */
static int listen_loopback(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void test_connect_tcp(void **state)
{
	tlskit_config *ccfg = client_config("ca"), *scfg = server_config("server");
	tlskit_conn *c = tlskit_client_new(ccfg), *s = tlskit_server_new(scfg);
	struct linger lg = { 1, 0 };
	int port, lfd = listen_loopback(&port), sfd, rc, rs, wants;
	char hostport[64], buf[16];

	(void)state;
	snprintf(hostport, sizeof(hostport), "localhost:%d", port);
	/* localhost may resolve to ::1 first; the IPv4 listener still wins
	 * because every address is tried. */
	assert_int_equal(tlskit_connect(c, hostport, 2000, 1), 0);
	assert_true(tlskit_conn_fd(c) >= 0);
	sfd = accept(lfd, NULL, NULL);
	assert_true(sfd >= 0);
	set_nonblocking(sfd);
	assert_int_equal(tlskit_accept_fd(s, sfd), 0);
	poll_handshake(c, s, &rc, &rs, &wants);
	assert_int_equal(rc, 0);
	assert_int_equal(rs, 0);
	/* The dialled host became the server name. */
	assert_string_equal(tlskit_conn_servername(s), "localhost");

	/* A reset, not a close: the client's read reports the socket error. */
	assert_int_equal(setsockopt(sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
			 0);
	tlskit_conn_free(s);
	close(sfd);
	for (int i = 0; i < 100; i++) {
		struct pollfd pfd = { tlskit_conn_fd(c), POLLIN, 0 };
		ssize_t r;

		assert_true(poll(&pfd, 1, 5000) > 0);
		r = tlskit_read(c, buf, sizeof(buf));
		if (!is_want((int)r)) {
			assert_int_equal(r, -1);
			break;
		}
	}
	assert_int_equal(tlskit_conn_error_category(c), TLSKIT_ERR_IO);
	assert_string_equal(tlskit_conn_error(c),
			    "reading from peer: Connection reset by peer");
	tlskit_conn_free(c);
	close(lfd);
	tlskit_config_free(ccfg);
	tlskit_config_free(scfg);
}

static void test_connect_blocking_io(void **state)
{
	tlskit_config *ccfg = client_config("ca"), *scfg = server_config("server");
	tlskit_conn *c = tlskit_client_new(ccfg), *s = tlskit_server_new(scfg);
	int port, lfd = listen_loopback(&port), sfd, rc, rs, wants;
	char hostport[64], buf[16];

	(void)state;
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
	assert_int_equal(tlskit_connect(c, hostport, 0, 0), 0);
	sfd = accept(lfd, NULL, NULL);
	assert_true(sfd >= 0);
	set_nonblocking(sfd);
	assert_int_equal(tlskit_accept_fd(s, sfd), 0);
	/* The client socket is blocking: drive the server first by hand. */
	set_nonblocking(tlskit_conn_fd(c));
	poll_handshake(c, s, &rc, &rs, &wants);
	assert_int_equal(rc, 0);
	assert_int_equal(rs, 0);
	assert_null(tlskit_conn_servername(s)); /* an address: no SNI */
	assert_int_equal(fcntl(tlskit_conn_fd(c), F_SETFL, 0), 0);
	assert_int_equal(fcntl(sfd, F_SETFL, 0), 0);
	assert_int_equal(tlskit_write(c, "ping", 4), 4);
	assert_int_equal(tlskit_read(s, buf, sizeof(buf)), 4);
	assert_int_equal(tlskit_write(s, "pong", 4), 4);
	assert_int_equal(tlskit_close(s), 0);
	assert_int_equal(tlskit_read(c, buf, sizeof(buf)), 4);
	assert_int_equal(tlskit_read(c, buf, sizeof(buf)), 0);
	assert_int_equal(tlskit_close(c), 0);
	assert_int_equal(tlskit_write(c, "late", 4), -1);
	assert_int_equal(tlskit_conn_error_category(c), TLSKIT_ERR_USAGE);
	tlskit_conn_free(c);
	tlskit_conn_free(s);
	close(sfd);
	close(lfd);
	tlskit_config_free(ccfg);
	tlskit_config_free(scfg);
}

static void test_connect_errors(void **state)
{
	tlskit_config *cfg = client_config("ca");
	tlskit_conn *c;
	int port, lfd = listen_loopback(&port);
	char hostport[64], expect[128];

	(void)state;
	close(lfd); /* nobody listens there now */
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
	c = tlskit_client_new(cfg);
	assert_int_equal(tlskit_connect(c, hostport, 2000, 0), -1);
	assert_int_equal(tlskit_conn_error_category(c), TLSKIT_ERR_CONNECT);
	snprintf(expect, sizeof(expect),
		 "connecting to %s (127.0.0.1): Connection refused", hostport);
	assert_string_equal(tlskit_conn_error(c), expect);
	tlskit_conn_free(c);

	static const char *const bad[] = { "localhost", "::1:443", "[::1]",
					   ":443", "host:", "[::1]443" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = tlskit_client_new(cfg);
		assert_int_equal(tlskit_connect(c, bad[i], 0, 0), -1);
		assert_int_equal(tlskit_conn_error_category(c), TLSKIT_ERR_USAGE);
		assert_contains(tlskit_conn_error(c), bad[i]);
		tlskit_conn_free(c);
	}

	c = tlskit_client_new(cfg);
	assert_int_equal(tlskit_connect(c, "no-such-host.invalid:443", 1000, 0),
			 -1);
	assert_int_equal(tlskit_conn_error_category(c), TLSKIT_ERR_CONNECT);
	assert_contains(tlskit_conn_error(c),
			"connecting to no-such-host.invalid:443: cannot resolve "
			"'no-such-host.invalid'");
	tlskit_conn_free(c);
	tlskit_config_free(cfg);
}

static void test_not_tls_peer(void **state)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char reply[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
	struct pair *p = pair_new(client_config("ca"), server_config("server"),
				  "localhost");

	(void)state;
	/* A plain HTTP client talking to our server. */
	memcpy(p->c2s.data, http, sizeof(http) - 1);
	p->c2s.len = sizeof(http) - 1;
	assert_int_equal(tlskit_handshake(p->s), -1);
	assert_int_equal(tlskit_conn_error_category(p->s), TLSKIT_ERR_PROTOCOL);
	assert_string_equal(tlskit_conn_error(p->s),
			    "TLS handshake failed: peer sent a plain HTTP "
			    "request, not TLS");
	/* Our client talking to a plain HTTP server. */
	assert_int_equal(tlskit_handshake(p->c), TLSKIT_WANT_READ);
	memcpy(p->s2c.data, reply, sizeof(reply) - 1);
	p->s2c.len = sizeof(reply) - 1;
	assert_int_equal(tlskit_handshake(p->c), -1);
	assert_string_equal(tlskit_conn_error(p->c),
			    "TLS handshake failed: wrong version number (is "
			    "the peer speaking TLS?)");
	pair_free(p);
}

static ssize_t failing_read(void *arg, void *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	errno = ENETDOWN;
	return -1;
}

static void test_callback_errors(void **state)
{
	tlskit_config *cfg = client_config("ca");
	tlskit_conn *c = tlskit_client_new(cfg);
	struct pipe_buf a = { .len = 0 }, b = { .len = 0 };
	struct end e = { &a, &b };

	(void)state;
	assert_int_equal(tlskit_connect_cbs(c, NULL, mem_write, &e, "x"), -1);
	assert_int_equal(tlskit_conn_error_category(c), TLSKIT_ERR_USAGE);
	assert_int_equal(tlskit_connect_cbs(c, failing_read, mem_write, &e,
					    "localhost"),
			 0);
	assert_int_equal(tlskit_connect_cbs(c, failing_read, mem_write, &e,
					    "localhost"),
			 -1);
	assert_contains(tlskit_conn_error(c), "already set up");
	assert_int_equal(tlskit_handshake(c), -1);
	assert_int_equal(tlskit_conn_error_category(c), TLSKIT_ERR_IO);
	assert_string_equal(tlskit_conn_error(c),
			    "TLS handshake failed: Network is down");
	tlskit_conn_free(c);
	tlskit_config_free(cfg);
}

static void test_write_after_peer_gone(void **state)
{
	tlskit_config *ccfg = client_config("ca"), *scfg = server_config("server");
	tlskit_conn *c = tlskit_client_new(ccfg), *s = tlskit_server_new(scfg);
	char chunk[4096] = { 0 };
	int sv[2], rc, rs, wants;
	ssize_t w = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	set_nonblocking(sv[0]);
	set_nonblocking(sv[1]);
	assert_int_equal(tlskit_connect_fd(c, sv[0], "localhost"), 0);
	assert_int_equal(tlskit_accept_fd(s, sv[1]), 0);
	poll_handshake(c, s, &rc, &rs, &wants);
	assert_int_equal(rc, 0);
	tlskit_conn_free(s);
	close(sv[1]);
	/* No SIGPIPE: an error the caller can report. */
	for (int i = 0; i < 10 && w >= 0; i++)
		w = tlskit_write(c, chunk, sizeof(chunk));
	assert_int_equal(w, -1);
	assert_int_equal(tlskit_conn_error_category(c), TLSKIT_ERR_IO);
	assert_string_equal(tlskit_conn_error(c), "writing to peer: Broken pipe");
	tlskit_conn_free(c);
	close(sv[0]);
	tlskit_config_free(ccfg);
	tlskit_config_free(scfg);
}

/* ---- one config, many threads ----------------------------------------- */

struct shared {
	tlskit_config *ccfg, *scfg;
	int ok;
};

static void *handshake_thread(void *arg)
{
	struct shared *sh = arg;

	for (int i = 0; i < 10; i++) {
		struct pair *p = pair_new(tlskit_config_ref(sh->ccfg),
					  tlskit_config_ref(sh->scfg),
					  "localhost");
		char buf[8];

		pair_handshake(p);
		if (p->rc == 0 && p->rs == 0 && tlskit_write(p->c, "hi", 2) == 2 &&
		    tlskit_read(p->s, buf, sizeof(buf)) == 2)
			__atomic_add_fetch(&sh->ok, 1, __ATOMIC_SEQ_CST);
		pair_free(p);
	}
	return NULL;
}

static void test_shared_config_threads(void **state)
{
	struct shared sh = { client_config("ca"), server_config("server"), 0 };
	pthread_t t[4];

	(void)state;
	/* The contexts are built lazily by whichever thread comes first. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, handshake_thread, &sh),
				 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(sh.ok, 40);
	tlskit_config_free(sh.ccfg);
	tlskit_config_free(sh.scfg);
}

/* Two records from the client, read by a server with and without
 * read-ahead: with it, one read of the transport takes both, and the second
 * is served from what the library holds (tlskit_has_pending says so, though
 * nothing is decrypted yet); without it, the second stays in the pipe. */
static void check_two_records(int read_ahead)
{
	struct pair *p = pair_new(client_config("ca"), server_config("server"),
				  "localhost");
	char buf[64];

	assert_int_equal(tlskit_conn_set_read_ahead(p->s, read_ahead), 0);
	pair_handshake(p);
	assert_int_equal(p->rs, 0);
	assert_int_equal(tlskit_has_pending(p->s), 0);
	assert_int_equal(tlskit_write(p->c, "one", 3), 3);
	assert_int_equal(tlskit_write(p->c, "two", 3), 3);
	assert_int_equal(tlskit_read(p->s, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "one", 3);
	assert_int_equal(tlskit_pending(p->s), 0);
	if (read_ahead) {
		assert_int_equal(p->c2s.len, 0);
		assert_int_equal(tlskit_has_pending(p->s), 1);
	} else {
		assert_true(p->c2s.len > 0);
		assert_int_equal(tlskit_has_pending(p->s), 0);
	}
	assert_int_equal(tlskit_read(p->s, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "two", 3);
	assert_int_equal(tlskit_has_pending(p->s), 0);
	assert_int_equal(tlskit_read(p->s, buf, sizeof(buf)), TLSKIT_WANT_READ);
	pair_free(p);
}

static void test_read_ahead(void **state)
{
	(void)state;
	check_two_records(1);
	check_two_records(0);
	assert_int_equal(tlskit_conn_set_read_ahead(NULL, 1), -1);
	assert_int_equal(tlskit_has_pending(NULL), 0);
}

/* Errors are recorded on demand: a new connection has none to report. */
static void test_no_error_before_one(void **state)
{
	tlskit_config *cfg = tlskit_config_new();
	tlskit_conn *c = tlskit_server_new(cfg);

	(void)state;
	assert_string_equal(tlskit_conn_error(c), "");
	assert_int_equal(tlskit_conn_error_category(c), TLSKIT_ERR_NONE);
	assert_null(tlskit_conn_alpn(c));
	assert_null(tlskit_conn_group(c));
	assert_null(tlskit_conn_servername(c));
	assert_string_equal(tlskit_conn_verify_result(c), "no handshake");
	tlskit_conn_free(c);
	tlskit_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_in_memory),
		cmocka_unit_test(test_untrusted_ca),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_hostname_mismatch),
		cmocka_unit_test(test_ip_servername),
		cmocka_unit_test(test_no_servername_refused),
		cmocka_unit_test(test_insecure_noverifycert),
		cmocka_unit_test(test_client_cert_required_missing),
		cmocka_unit_test(test_client_cert_ok),
		cmocka_unit_test(test_client_cert_untrusted),
		cmocka_unit_test(test_version_below_minimum),
		cmocka_unit_test(test_version_above_peer_maximum),
		cmocka_unit_test(test_no_shared_cipher),
		cmocka_unit_test(test_tls12_session),
		cmocka_unit_test(test_alpn),
		cmocka_unit_test(test_unexpected_eof_in_memory),
		cmocka_unit_test(test_big_write_in_memory),
		cmocka_unit_test(test_not_connected),
		cmocka_unit_test(test_server_without_cert),
		cmocka_unit_test(test_nonblocking_socketpair),
		cmocka_unit_test(test_unexpected_eof_socket),
		cmocka_unit_test(test_connect_tcp),
		cmocka_unit_test(test_connect_blocking_io),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_not_tls_peer),
		cmocka_unit_test(test_callback_errors),
		cmocka_unit_test(test_write_after_peer_gone),
		cmocka_unit_test(test_shared_config_threads),
		cmocka_unit_test(test_read_ahead),
		cmocka_unit_test(test_no_error_before_one),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
