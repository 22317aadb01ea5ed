/*
 * test_tickets.c - session tickets on servers: on by default, shared key
 * files (nginx format), rotation of the library's own keys, turning them
 * off; over in-memory TLS 1.2 handshakes (the session is there as soon as
 * the handshake ends).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "throwaway_pki.h"
#include "internal.h"

static int setup(void **state)
{
	(void)state;
	if (pki_make_dir("test-tickets") < 0)
		return -1;
	pki_gen(TLSKIT_CERT_CA, "ca", "tlskit test CA", NULL, 0, 0);
	pki_gen(TLSKIT_CERT_SERVER, "server", "localhost", "ca", 0, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pki_remove_dir();
	return 0;
}

static void write_bytes(const char *path, size_t len, unsigned char seed)
{
	unsigned char buf[256];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0 && len <= sizeof(buf));
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed + i * 7);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* ---- in-memory connections ----------------------------------------------- */

struct pipe_buf {
	unsigned char data[1 << 16];
	size_t len;
};

struct end {
	struct pipe_buf *in, *out;
};

static ssize_t mem_read(void *arg, void *buf, size_t len)
{
	struct end *e = arg;

	if (e->in->len == 0)
		return TLSKIT_WANT_READ;
	if (len > e->in->len)
		len = e->in->len;
	memcpy(buf, e->in->data, len);
	memmove(e->in->data, e->in->data + len, e->in->len - len);
	e->in->len -= len;
	return (ssize_t)len;
}

static ssize_t mem_write(void *arg, const void *buf, size_t len)
{
	struct end *e = arg;
	size_t room = sizeof(e->out->data) - e->out->len;

	if (room == 0)
		return TLSKIT_WANT_WRITE;
	if (len > room)
		len = room;
	memcpy(e->out->data + e->out->len, buf, len);
	e->out->len += len;
	return (ssize_t)len;
}

static int is_want(int r)
{
	return r == TLSKIT_WANT_READ || r == TLSKIT_WANT_WRITE;
}

static tlskit_config *client_config(void)
{
	tlskit_config *cfg = tlskit_config_new();

	assert_non_null(cfg);
	assert_int_equal(tlskit_config_set_ca_file(cfg, pki("ca.pem")), 0);
	assert_int_equal(tlskit_config_set_protocols(cfg, TLSKIT_TLS1_2,
						     TLSKIT_TLS1_2), 0);
	return cfg;
}

static tlskit_config *server_config(void)
{
	tlskit_config *cfg = tlskit_config_new();

	assert_non_null(cfg);
	assert_int_equal(tlskit_config_set_cert_file(cfg, pki("server.pem")), 0);
	assert_int_equal(tlskit_config_set_key_file(cfg, pki("server.key")), 0);
	return cfg;
}

/*
 * One handshake between a client of ccfg offering *session (if any) and a
 * server of scfg; replaces *session with the new one. 1 if resumed.
 */
static int handshake(tlskit_config *ccfg, tlskit_config *scfg,
		     tlskit_session **session)
{
	struct pipe_buf *c2s = calloc(1, sizeof(*c2s));
	struct pipe_buf *s2c = calloc(1, sizeof(*s2c));
	struct end cend = { s2c, c2s }, send = { c2s, s2c };
	tlskit_conn *c = tlskit_client_new(ccfg);
	tlskit_conn *s = tlskit_server_new(scfg);
	int rc = TLSKIT_WANT_READ, rs = TLSKIT_WANT_READ, resumed;

	assert_non_null(c2s);
	assert_non_null(s2c);
	assert_int_equal(tlskit_connect_cbs(c, mem_read, mem_write, &cend,
					    "localhost"), 0);
	assert_int_equal(tlskit_accept_cbs(s, mem_read, mem_write, &send), 0);
	if (*session)
		assert_int_equal(tlskit_conn_session_set(c, *session), 0);
	for (int i = 0; i < 100 && (is_want(rc) || is_want(rs)); i++) {
		if (is_want(rc))
			rc = tlskit_handshake(c);
		if (is_want(rs))
			rs = tlskit_handshake(s);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(rs, 0);
	resumed = tlskit_conn_resumed(c);
	assert_int_equal(resumed, tlskit_conn_resumed(s));
	tlskit_session_free(*session);
	*session = tlskit_conn_session_get(c);
	/* OpenSSL stops resuming a session whose connection ended without
	 * close_notify. */
	assert_int_equal(tlskit_close(c), 0);
	tlskit_conn_free(c);
	tlskit_conn_free(s);
	free(c2s);
	free(s2c);
	return resumed;
}

/* ---- tests --------------------------------------------------------------- */

static void test_on_by_default(void **state)
{
	tlskit_config *ccfg = client_config(), *scfg = server_config();
	tlskit_session *session = NULL;

	(void)state;
	assert_int_equal(handshake(ccfg, scfg, &session), 0);
	assert_non_null(session);
	assert_int_equal(handshake(ccfg, scfg, &session), 1);
	assert_int_equal(handshake(ccfg, scfg, &session), 1);
	tlskit_session_free(session);
	tlskit_config_free(ccfg);
	tlskit_config_free(scfg);
}

/* A config whose client side was built first (and froze it) still gets
 * its ticket keys when the server side is built. */
static void test_server_built_after_client(void **state)
{
	tlskit_config *ccfg = client_config(), *scfg = server_config();
	tlskit_session *session = NULL;

	(void)state;
	assert_int_equal(tlskit_config_check(scfg, TLSKIT_CLIENT), 0);
	handshake(ccfg, scfg, &session);
	assert_int_equal(handshake(ccfg, scfg, &session), 1);
	tlskit_session_free(session);
	tlskit_config_free(ccfg);
	tlskit_config_free(scfg);
}

static void test_off(void **state)
{
	tlskit_config *ccfg = client_config(), *scfg = server_config();
	tlskit_session *session = NULL;

	(void)state;
	assert_int_equal(tlskit_config_set_tickets(scfg, 0), 0);
	handshake(ccfg, scfg, &session);
	assert_int_equal(handshake(ccfg, scfg, &session), 0);
	tlskit_session_free(session);
	tlskit_config_free(ccfg);
	tlskit_config_free(scfg);
}

/* Two servers (two processes, or machines) with one key file. */
static void test_shared_key_file(void **state)
{
	tlskit_config *ccfg = client_config();
	tlskit_config *a = server_config(), *b = server_config();
	tlskit_config *c = server_config(), *d = server_config();
	tlskit_session *session = NULL;

	(void)state;
	write_bytes(pki("k80"), 80, 1);
	write_bytes(pki("k48"), 48, 2);
	assert_int_equal(tlskit_config_add_ticket_key_file(a, pki("k80")), 0);
	assert_int_equal(tlskit_config_add_ticket_key_file(b, pki("k48")), 0);
	assert_int_equal(tlskit_config_add_ticket_key_file(b, pki("k80")), 0);
	handshake(ccfg, a, &session);
	/* b decrypts with its second key... */
	assert_int_equal(handshake(ccfg, b, &session), 1);
	/* ...and its new ticket is under k48, which a lacks. */
	assert_int_equal(handshake(ccfg, a, &session), 0);
	/* Servers with keys of their own do not share them. */
	handshake(ccfg, c, &session);
	assert_int_equal(handshake(ccfg, d, &session), 0);
	tlskit_session_free(session);
	tlskit_config_free(ccfg);
	tlskit_config_free(a);
	tlskit_config_free(b);
	tlskit_config_free(c);
	tlskit_config_free(d);
}

/* A ticket survives one rotation (previous key) but not two. */
static void test_rotation(void **state)
{
	tlskit_config *ccfg = client_config(), *scfg = server_config();
	tlskit_session *session = NULL, *old;

	(void)state;
	assert_int_equal(tlskit_config_set_ticket_rotation(scfg, 1), 0);
	handshake(ccfg, scfg, &session);
	/* Keep the first session: handshakes replace session. */
	old = session;
	assert_true(SSL_SESSION_up_ref((SSL_SESSION *)old) == 1);
	sleep(1);
	usleep(100 * 1000);
	assert_int_equal(handshake(ccfg, scfg, &session), 1);
	sleep(1);
	usleep(100 * 1000);
	/* Another rotation: old's key is gone now. */
	assert_int_equal(handshake(ccfg, scfg, &old), 0);
	tlskit_session_free(old);
	tlskit_session_free(session);
	tlskit_config_free(ccfg);
	tlskit_config_free(scfg);
}

/* A reloaded config keeps resuming the old one's tickets. */
static void test_inherit(void **state)
{
	tlskit_config *ccfg = client_config(), *old = server_config();
	tlskit_config *reloaded = server_config(), *fresh = server_config();
	tlskit_session *session = NULL, *first;

	(void)state;
	handshake(ccfg, old, &session);
	first = session;
	assert_true(SSL_SESSION_up_ref((SSL_SESSION *)first) == 1);
	assert_int_equal(tlskit_config_inherit_tickets(reloaded, old), 0);
	assert_int_equal(tlskit_config_inherit_tickets(fresh, fresh), 0);
	assert_int_equal(handshake(ccfg, reloaded, &session), 1);
	assert_int_equal(handshake(ccfg, fresh, &first), 0);
	tlskit_session_free(first);
	tlskit_session_free(session);
	tlskit_config_free(ccfg);
	tlskit_config_free(old);
	tlskit_config_free(reloaded);
	tlskit_config_free(fresh);
}

static void test_bad_files(void **state)
{
	tlskit_config *cfg = server_config();

	(void)state;
	assert_int_equal(tlskit_config_add_ticket_key_file(cfg, pki("absent")), -1);
	assert_int_equal(tlskit_config_error_category(cfg), TLSKIT_ERR_CONFIG);
	assert_contains(tlskit_config_error(cfg), "absent'");
	assert_contains(tlskit_config_error(cfg), "No such file");
	write_bytes(pki("k79"), 79, 3);
	assert_int_equal(tlskit_config_add_ticket_key_file(cfg, pki("k79")), -1);
	assert_contains(tlskit_config_error(cfg), "k79': 79 bytes");
	write_bytes(pki("k81"), 81, 3);
	assert_int_equal(tlskit_config_add_ticket_key_file(cfg, pki("k81")), -1);
	assert_contains(tlskit_config_error(cfg), "more than 80 bytes");
	assert_int_equal(tlskit_config_set_ticket_rotation(cfg, 0), -1);
	/* Frozen once built. */
	assert_int_equal(tlskit_config_check(cfg, TLSKIT_SERVER), 0);
	write_bytes(pki("k80b"), 80, 4);
	assert_int_equal(tlskit_config_add_ticket_key_file(cfg, pki("k80b")), -1);
	assert_int_equal(tlskit_config_set_tickets(cfg, 0), -1);
	tlskit_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_on_by_default),
		cmocka_unit_test(test_server_built_after_client),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_shared_key_file),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_inherit),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
