/*
 * conn.c - one TLS connection: set up over a socket or callbacks, handshake,
 * read, write, close, and what was negotiated.
 *
 * The transport is our own BIO so that sockets and caller callbacks share
 * one code path, writes never raise SIGPIPE (MSG_NOSIGNAL) and the errno of
 * a failed system call survives until we describe it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "internal.h"

struct transport {
	int fd; /* -1 when the callbacks carry the bytes */
	int not_socket; /* learnt from the first send(): ENOTSOCK */
	tlskit_read_cb rcb;
	tlskit_write_cb wcb;
	void *arg;
	int eof;
	int last_errno;
};

struct tlskit_conn {
	tlskit_config *cfg;
	enum tlskit_role role;
	SSL *ssl;
	struct transport tr;
	int owned_fd; /* the socket tlskit_connect made, or -1 */
	/* The last error, allocated when the first one happens: most
	 * connections never need its 516 bytes. err_oom: it could not be. */
	struct tlskit_error *err;
	int err_oom;
	int read_ahead;

	int handshake_done;
	int failed; /* a fatal error: no more I/O, no close_notify */
	int closed; /* our close_notify is out */
	int cert_requested; /* client: the server sent a CertificateRequest */

	char *servername;   /* client: the name we check and send */
	int servername_sni; /* client: whether it went out as SNI */

	/*
	 * Text is allocated only when there is some: an idle connection's
	 * memory is mostly OpenSSL's own, and fixed buffers here would add
	 * kilobytes to every one of them.
	 */
	/* The first verification failure, as the verify callback saw it. */
	char *vfail_msg;
	/* Replaces "ok" in verify_result when a policy accepted insecurely. */
	char *verify_note;

	/* What the handshake settled, kept so getters can be const. version,
	 * cipher and group point into OpenSSL's tables or the context (which
	 * the SSL holds); verify_result at a literal or at verify_text. */
	const char *version;
	const char *cipher;
	const char *group;
	int bits;
	int resumed;
	char *alpn;
	const char *verify_result;
	char *verify_text;
	tlskit_cert *peer;
};

/* ---- process-wide OpenSSL indexes ------------------------------------- */

static pthread_once_t globals_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *transport_method;
static int conn_ex_index = -1;

static int transport_read(BIO *b, char *buf, int len);
static int transport_write(BIO *b, const char *buf, int len);
static long transport_ctrl(BIO *b, int cmd, long num, void *ptr);

static void globals_init(void)
{
	BIO_METHOD *m;

	conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
			 "tlskit transport");
	if (!m)
		return;
	if (!BIO_meth_set_read(m, transport_read) ||
	    !BIO_meth_set_write(m, transport_write) ||
	    !BIO_meth_set_ctrl(m, transport_ctrl)) {
		BIO_meth_free(m);
		return;
	}
	transport_method = m;
}

/* Before each SSL call on the data path: OpenSSL's error queue must be
 * empty for SSL_get_error() to be right. Clearing an empty queue still
 * walks all its slots (about 800 instructions, twice per echoed request),
 * so look first. */
static void clear_stale_errors(void)
{
	if (ERR_peek_error())
		ERR_clear_error();
}

/* ---- transport BIO ---------------------------------------------------- */

static int would_block(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK;
}

static ssize_t fd_read(struct transport *tr, char *buf, size_t len)
{
	ssize_t n;

	do
		n = read(tr->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && would_block(errno))
		return TLSKIT_WANT_READ;
	return n;
}

static ssize_t fd_write(struct transport *tr, const char *buf, size_t len)
{
	ssize_t n;

	/* send() for MSG_NOSIGNAL; a pipe or file answers ENOTSOCK once, and
	 * write() from then on (cheaper than an fstat per connection). */
	do {
		if (tr->not_socket)
			n = write(tr->fd, buf, len);
		else if ((n = send(tr->fd, buf, len, MSG_NOSIGNAL)) < 0 &&
			 errno == ENOTSOCK) {
			tr->not_socket = 1;
			n = write(tr->fd, buf, len);
		}
	} while (n < 0 && errno == EINTR);
	if (n < 0 && would_block(errno))
		return TLSKIT_WANT_WRITE;
	return n;
}

/* Maps a transport result onto the BIO's retry flags. */
static int transport_result(BIO *b, struct transport *tr, ssize_t n, int len)
{
	if (n == TLSKIT_WANT_READ) {
		BIO_set_retry_read(b);
		return -1;
	}
	if (n == TLSKIT_WANT_WRITE) {
		BIO_set_retry_write(b);
		return -1;
	}
	if (n > len) {
		tr->last_errno = EINVAL;
		return -1;
	}
	if (n < 0) {
		tr->last_errno = errno ? errno : EIO;
		return -1;
	}
	return (int)n;
}

static int transport_read(BIO *b, char *buf, int len)
{
	struct transport *tr = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	n = tr->fd >= 0 ? fd_read(tr, buf, (size_t)len) :
			  tr->rcb(tr->arg, buf, (size_t)len);
	if (n == 0)
		tr->eof = 1;
	return transport_result(b, tr, n, len);
}

static int transport_write(BIO *b, const char *buf, int len)
{
	struct transport *tr = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	n = tr->fd >= 0 ? fd_write(tr, buf, (size_t)len) :
			  tr->wcb(tr->arg, buf, (size_t)len);
	return transport_result(b, tr, n, len);
}

static long transport_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct transport *tr = BIO_get_data(b);

	(void)num;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_EOF:
		return tr->eof;
	case BIO_C_GET_FD:
		if (ptr && tr->fd >= 0)
			*(int *)ptr = tr->fd;
		return tr->fd;
	}
	return 0;
}

/* ---- lifecycle -------------------------------------------------------- */

static tlskit_conn *conn_new(tlskit_config *cfg, enum tlskit_role role)
{
	tlskit_conn *conn;

	if (!cfg)
		return NULL;
	conn = calloc(1, sizeof(*conn));
	if (!conn)
		return NULL;
	conn->cfg = tlskit_config_ref(cfg);
	conn->role = role;
	conn->tr.fd = -1;
	conn->owned_fd = -1;
	return conn;
}

tlskit_conn *tlskit_client_new(tlskit_config *cfg)
{
	return conn_new(cfg, TLSKIT_CLIENT);
}

tlskit_conn *tlskit_server_new(tlskit_config *cfg)
{
	return conn_new(cfg, TLSKIT_SERVER);
}

void tlskit_conn_free(tlskit_conn *conn)
{
	if (!conn)
		return;
	SSL_free(conn->ssl);
	if (conn->owned_fd >= 0)
		close(conn->owned_fd);
	tlskit_cert_free(conn->peer);
	free(conn->servername);
	free(conn->err);
	free(conn->vfail_msg);
	free(conn->verify_note);
	free(conn->alpn);
	free(conn->verify_text);
	tlskit_config_free(conn->cfg);
	free(conn);
}

#define ERR_OOM_MESSAGE "out of memory (recording the connection's error)"

/* Where an error goes; NULL (which error_set ignores) when out of memory. */
static struct tlskit_error *conn_err(tlskit_conn *conn)
{
	if (!conn->err) {
		conn->err = malloc(sizeof(*conn->err));
		if (!conn->err) {
			conn->err_oom = 1;
			return NULL;
		}
		error_clear(conn->err);
	}
	conn->err_oom = 0;
	return conn->err;
}

static void conn_clear_error(tlskit_conn *conn)
{
	conn->err_oom = 0;
	if (conn->err)
		error_clear(conn->err);
}

const char *tlskit_conn_error(const tlskit_conn *conn)
{
	if (!conn)
		return "no connection";
	if (conn->err_oom)
		return ERR_OOM_MESSAGE;
	return conn->err ? conn->err->message : "";
}

enum tlskit_error_category tlskit_conn_error_category(const tlskit_conn *conn)
{
	if (!conn)
		return TLSKIT_ERR_USAGE;
	if (conn->err_oom)
		return TLSKIT_ERR_SYSTEM;
	return conn->err ? conn->err->category : TLSKIT_ERR_NONE;
}

/* A failed write is an I/O error even when the peer's leaving caused it. */
static void closed_means_io(tlskit_conn *conn)
{
	if (conn->err && conn->err->category == TLSKIT_ERR_CLOSED)
		conn->err->category = TLSKIT_ERR_IO;
}

struct tlskit_error *conn_error_slot(tlskit_conn *conn)
{
	return conn_err(conn);
}

SSL *conn_ssl(const tlskit_conn *conn)
{
	return conn ? conn->ssl : NULL;
}

int tlskit_conn_fd(const tlskit_conn *conn)
{
	return conn ? conn->tr.fd : -1;
}

/* ---- setting up ------------------------------------------------------- */

static int verify_cb(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
		store, SSL_get_ex_data_X509_STORE_CTX_idx());
	tlskit_conn *conn = ssl ? SSL_get_ex_data(ssl, conn_ex_index) : NULL;

	/* Out of memory, the failure is described from the verify result
	 * later on. */
	if (!ok && conn && !conn->vfail_msg &&
	    (conn->vfail_msg = malloc(TLSKIT_ERROR_MAX)))
		verify_describe(X509_STORE_CTX_get_error(store),
				X509_STORE_CTX_get_error_depth(store),
				X509_STORE_CTX_get_current_cert(store),
				conn->servername, conn->vfail_msg,
				TLSKIT_ERROR_MAX);
	return ok;
}

tlskit_conn *conn_from_ssl(SSL *ssl)
{
	return ssl && conn_ex_index >= 0 ? SSL_get_ex_data(ssl, conn_ex_index) :
					   NULL;
}

const char *conn_verify_failure(const tlskit_conn *conn)
{
	return conn->vfail_msg;
}

const char *conn_checked_name(const tlskit_conn *conn)
{
	return conn->servername;
}

void conn_set_verify_failure(tlskit_conn *conn, const char *msg)
{
	char *copy = strndup(msg, TLSKIT_ERROR_MAX - 1);

	/* Out of memory, an earlier failure (or the verify result) stays. */
	if (!copy)
		return;
	free(conn->vfail_msg);
	conn->vfail_msg = copy;
}

/* A policy's note is a short phrase; longer ones are cut here. */
#define VERIFY_NOTE_MAX 160

void conn_set_verify_note(tlskit_conn *conn, const char *note)
{
	char *copy = strndup(note, VERIFY_NOTE_MAX - 1);

	if (!copy)
		return; /* "ok" is then reported: nothing is lost but words */
	free(conn->verify_note);
	conn->verify_note = copy;
}

/* SNI and the name (or address) the certificate must carry. */
static TLSKIT_MUST_CHECK int setup_servername(tlskit_conn *conn, const char *servername)
{
	const char *name = servername ? servername :
					config_servername(conn->cfg);
	int check = !config_noverifycert(conn->cfg) &&
		    !config_noverifyname(conn->cfg);
	int ip;

	if (!name) {
		if (!check)
			return 0;
		return error_set(conn_err(conn), TLSKIT_ERR_USAGE,
				 "connecting: no server name to verify the certificate against (give one, or use insecure_noverifyname)");
	}
	if (!(conn->servername = strdup(name)))
		return error_set(conn_err(conn), TLSKIT_ERR_SYSTEM, "out of memory");
	ip = verify_is_ip_literal(name);
	if (check) {
		X509_VERIFY_PARAM *param = SSL_get0_param(conn->ssl);
		int ok;

		X509_VERIFY_PARAM_set_hostflags(
			param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name) :
			  SSL_set1_host(conn->ssl, name);
		if (ok != 1)
			return error_set_ssl(conn_err(conn), TLSKIT_ERR_USAGE,
					     "setting server name '%s'", name);
	}
	/* RFC 6066: literal addresses are not sent as SNI. */
	if (!ip) {
		if (SSL_set_tlsext_host_name(conn->ssl, name) != 1)
			return error_set_ssl(conn_err(conn), TLSKIT_ERR_USAGE,
					     "setting server name '%s'", name);
		conn->servername_sni = 1;
	}
	return 0;
}

int conn_check_unused(tlskit_conn *conn, enum tlskit_role role)
{
	if (conn->role != role)
		return error_set(conn_err(conn), TLSKIT_ERR_USAGE,
				 role == TLSKIT_CLIENT ?
					 "connecting: this is a server connection" :
					 "accepting: this is a client connection");
	if (conn->ssl)
		return error_set(conn_err(conn), TLSKIT_ERR_USAGE,
				 "%s: the connection is already set up",
				 role == TLSKIT_CLIENT ? "connecting" :
							 "accepting");
	return 0;
}

/* OpenSSL calls this on a client exactly when the server asks for a
 * certificate, which is the only way to learn that it did. */
static int cert_requested_cb(SSL *ssl, void *arg)
{
	(void)ssl;
	((tlskit_conn *)arg)->cert_requested = 1;
	return 1;
}

static TLSKIT_MUST_CHECK int setup_ssl(tlskit_conn *conn, enum tlskit_role role)
{
	struct tlskit_error err, *slot;
	SSL_CTX *ctx;
	BIO *bio;

	if (conn_check_unused(conn, role) < 0)
		return -1;
	pthread_once(&globals_once, globals_init);
	if (!transport_method || conn_ex_index < 0)
		return error_set(conn_err(conn), TLSKIT_ERR_SYSTEM,
				 "initializing OpenSSL: out of memory");
	/* The error record is allocated only if this fails. */
	ctx = config_ctx(conn->cfg, role, &err);
	if (!ctx) {
		if ((slot = conn_err(conn)))
			*slot = err;
		return -1;
	}
	ERR_clear_error();
	conn->ssl = SSL_new(ctx);
	bio = BIO_new(transport_method);
	if (!conn->ssl || !bio) {
		BIO_free(bio);
		return error_set_ssl(conn_err(conn), TLSKIT_ERR_SYSTEM,
				     "creating a TLS connection");
	}
	BIO_set_data(bio, &conn->tr);
	BIO_set_init(bio, 1);
	SSL_set_bio(conn->ssl, bio, bio);
	SSL_set_ex_data(conn->ssl, conn_ex_index, conn);
	SSL_set_verify(conn->ssl, SSL_get_verify_mode(conn->ssl), verify_cb);
	if (conn->read_ahead)
		SSL_set_read_ahead(conn->ssl, 1);
	if (role == TLSKIT_SERVER) {
		SSL_set_accept_state(conn->ssl);
	} else {
		SSL_set_connect_state(conn->ssl);
		SSL_set_cert_cb(conn->ssl, cert_requested_cb, conn);
	}
	return 0;
}

static void set_fd_transport(tlskit_conn *conn, int fd)
{
	conn->tr.fd = fd;
	conn->tr.not_socket = 0;
}

static void set_cb_transport(tlskit_conn *conn, tlskit_read_cb rcb,
			     tlskit_write_cb wcb, void *arg)
{
	conn->tr.fd = -1;
	conn->tr.rcb = rcb;
	conn->tr.wcb = wcb;
	conn->tr.arg = arg;
}

int conn_start_client(tlskit_conn *conn, int fd, const char *servername,
		      int owned)
{
	conn_clear_error(conn);
	if (owned) {
		/* The host we dialled yields to a configured servername. */
		conn->owned_fd = fd;
		conn->tr.fd = fd;
		if (config_servername(conn->cfg))
			servername = NULL;
	}
	if (setup_ssl(conn, TLSKIT_CLIENT) < 0)
		return -1;
	set_fd_transport(conn, fd);
	return setup_servername(conn, servername);
}

int tlskit_connect_fd(tlskit_conn *conn, int fd, const char *servername)
{
	if (!conn)
		return -1;
	if (fd < 0)
		return error_set(conn_err(conn), TLSKIT_ERR_USAGE,
				 "connecting: invalid file descriptor %d", fd);
	return conn_start_client(conn, fd, servername, 0);
}

/* Either role over the caller's callbacks. */
static TLSKIT_MUST_CHECK int start_cbs(tlskit_conn *conn, enum tlskit_role role,
				       tlskit_read_cb rcb, tlskit_write_cb wcb,
				       void *arg)
{
	if (!conn)
		return -1;
	conn_clear_error(conn);
	if (!rcb || !wcb)
		return error_set(conn_err(conn), TLSKIT_ERR_USAGE,
				 "%s: read and write callbacks are required",
				 role == TLSKIT_CLIENT ? "connecting" : "accepting");
	if (setup_ssl(conn, role) < 0)
		return -1;
	set_cb_transport(conn, rcb, wcb, arg);
	return 0;
}

int tlskit_connect_cbs(tlskit_conn *conn, tlskit_read_cb rcb,
		       tlskit_write_cb wcb, void *arg, const char *servername)
{
	if (start_cbs(conn, TLSKIT_CLIENT, rcb, wcb, arg) < 0)
		return -1;
	return setup_servername(conn, servername);
}

int tlskit_accept_fd(tlskit_conn *conn, int fd)
{
	if (!conn)
		return -1;
	conn_clear_error(conn);
	if (fd < 0)
		return error_set(conn_err(conn), TLSKIT_ERR_USAGE,
				 "accepting: invalid file descriptor %d", fd);
	if (setup_ssl(conn, TLSKIT_SERVER) < 0)
		return -1;
	set_fd_transport(conn, fd);
	return 0;
}

int tlskit_accept_cbs(tlskit_conn *conn, tlskit_read_cb rcb,
		      tlskit_write_cb wcb, void *arg)
{
	return start_cbs(conn, TLSKIT_SERVER, rcb, wcb, arg);
}

/* ---- describing failures ---------------------------------------------- */

/* The first error the SSL library queued (the cause; later ones are
 * consequences), or 0. */
static unsigned long first_ssl_error(void)
{
	unsigned long code;
	int i = 0;

	while ((code = ERR_peek_error()) != 0 && i++ < 32) {
		if (ERR_GET_LIB(code) == ERR_LIB_SSL)
			return code;
		ERR_get_error();
	}
	return code;
}

/* The alert a reason code stands for (it sent us one), or -1. */
static int received_alert(int reason)
{
	if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256)
		return reason - SSL_AD_REASON_OFFSET;
	return -1;
}

static int alert_is_about_our_cert(int alert)
{
	switch (alert) {
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_REQUIRED:
		return 1;
	}
	return 0;
}

static void describe_version_failure(tlskit_conn *conn)
{
	int min = config_min_protocol(conn->cfg);
	int max = config_max_protocol(conn->cfg);
	int peer = conn->role == TLSKIT_SERVER ? SSL_client_version(conn->ssl) :
						 0;

	if (peer > 0 && peer < min)
		error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL,
			  "TLS handshake failed: unsupported protocol (peer offers %s or lower; minimum is %s)",
			  protocol_name(peer), protocol_name(min));
	else
		error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL,
			  "TLS handshake failed: unsupported protocol (no version in common; we accept %s to %s)",
			  protocol_name(min), protocol_name(max));
}

static void describe_verify_failure(tlskit_conn *conn)
{
	char msg[TLSKIT_ERROR_MAX];

	if (conn->vfail_msg)
		error_set(conn_err(conn), TLSKIT_ERR_VERIFY, "%s", conn->vfail_msg);
	else {
		verify_describe_result(SSL_get_verify_result(conn->ssl), msg,
				       sizeof(msg));
		error_set(conn_err(conn), TLSKIT_ERR_VERIFY, "%s", msg);
	}
}

/* A handshake failure reported as SSL_ERROR_SSL, from its reason code. */
static void describe_ssl_failure(tlskit_conn *conn, unsigned long code)
{
	const char *what = "TLS handshake failed";
	int reason = ERR_GET_REASON(code);
	int alert = received_alert(reason);
	const char *text;

	if (ERR_GET_LIB(code) == ERR_LIB_SSL && alert >= 0) {
		error_set(conn_err(conn),
			  alert_is_about_our_cert(alert) ? TLSKIT_ERR_VERIFY :
							   TLSKIT_ERR_PROTOCOL,
			  "%s: peer sent alert '%s'%s", what, alert_name(alert),
			  alert_hint(alert));
		return;
	}
	if (ERR_GET_LIB(code) != ERR_LIB_SSL)
		reason = 0;
	switch (reason) {
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
	case SSL_R_INVALID_STATUS_RESPONSE: /* OCSP check (revocation.c) */
		describe_verify_failure(conn);
		return;
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		error_set(conn_err(conn), TLSKIT_ERR_VERIFY,
			  "%s: peer did not return a certificate (client certificate required but none was sent)",
			  what);
		return;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
		describe_version_failure(conn);
		return;
	case SSL_R_NO_SHARED_CIPHER:
		error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL,
			  "%s: no shared cipher", what);
		return;
	case SSL_R_NO_SHARED_GROUPS:
	case SSL_R_NO_SUITABLE_KEY_SHARE:
		error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL,
			  "%s: no shared key exchange group", what);
		return;
	case SSL_R_NO_APPLICATION_PROTOCOL:
		error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL,
			  "%s: no ALPN protocol in common with the peer", what);
		return;
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_NO_CIPHERS_AVAILABLE:
		error_set(conn_err(conn), TLSKIT_ERR_CONFIG,
			  "%s: no protocol version or cipher enabled (check the minimum/maximum version and cipher lists; TLS 1.0/1.1 need @SECLEVEL=0)",
			  what);
		return;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL,
			  "%s: peer closed the connection during the handshake",
			  what);
		return;
	case SSL_R_WRONG_VERSION_NUMBER:
		error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL,
			  "%s: wrong version number (is the peer speaking TLS?)",
			  what);
		return;
	case SSL_R_HTTP_REQUEST:
		error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL,
			  "%s: peer sent a plain HTTP request, not TLS", what);
		return;
	case SSL_R_CALLBACK_FAILED:
		/* Our own callbacks (SNI selection) say why they refused. */
		if (conn->vfail_msg) {
			error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL, "%s: %s",
				  what, conn->vfail_msg);
			return;
		}
		break;
	}
	text = code ? ERR_reason_error_string(code) : NULL;
	error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL, "%s: %s", what,
		  text ? text : "unknown OpenSSL error");
}

static void describe_handshake_failure(tlskit_conn *conn, int ssl_err)
{
	int e = conn->tr.last_errno;

	if (ssl_err == SSL_ERROR_SYSCALL) {
		if (e)
			error_set(conn_err(conn), TLSKIT_ERR_IO,
				  "TLS handshake failed: %s", strerror(e));
		else
			error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL,
				  "TLS handshake failed: peer closed the connection during the handshake");
	} else {
		describe_ssl_failure(conn, first_ssl_error());
	}
	ERR_clear_error();
}

/* Describes a failed SSL_read/SSL_write/SSL_shutdown; what: "reading from
 * peer". */
static void describe_io_failure(tlskit_conn *conn, int ssl_err,
				const char *what)
{
	unsigned long code = ssl_err == SSL_ERROR_SSL ? first_ssl_error() : 0;
	int reason = ERR_GET_LIB(code) == ERR_LIB_SSL ? ERR_GET_REASON(code) : 0;
	const char *text;
	int alert;

	if (ssl_err == SSL_ERROR_SYSCALL && conn->tr.last_errno)
		error_set(conn_err(conn), TLSKIT_ERR_IO, "%s: %s", what,
			  strerror(conn->tr.last_errno));
	else if (ssl_err == SSL_ERROR_SYSCALL ||
		 reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		error_set(conn_err(conn), TLSKIT_ERR_CLOSED,
			  "%s: connection closed without close_notify (data may be truncated)",
			  what);
	else if ((alert = received_alert(reason)) >= 0)
		error_set(conn_err(conn),
			  alert_is_about_our_cert(alert) ? TLSKIT_ERR_VERIFY :
							   TLSKIT_ERR_PROTOCOL,
			  "%s: peer sent alert '%s'%s", what, alert_name(alert),
			  alert_hint(alert));
	else if (code && (text = ERR_reason_error_string(code)))
		error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL, "%s: %s", what, text);
	else
		error_set(conn_err(conn), TLSKIT_ERR_PROTOCOL, "%s: TLS error %d",
			  what, ssl_err);
	ERR_clear_error();
}

/* ---- handshake -------------------------------------------------------- */

/* The selected ALPN protocol as a string (it is not one on the wire);
 * NULL when none (or out of memory: then none is reported). */
static char *alpn_copy(const unsigned char *alpn, unsigned int len)
{
	char *copy;

	if (!alpn || len == 0 || !(copy = malloc(len + 1)))
		return NULL;
	memcpy(copy, alpn, len);
	copy[len] = '\0';
	return copy;
}

/* The group's name lives in OpenSSL's tables or in the context, which the
 * SSL keeps alive as long as conn. */
static const char *negotiated_group(SSL *ssl)
{
	int nid = SSL_get_negotiated_group(ssl);
	const char *name = NULL;

	if (nid <= 0)
		return NULL;
	if (!(nid & TLSEXT_nid_unknown))
		name = OBJ_nid2sn(nid);
	if (!name)
		name = SSL_group_to_name(ssl, nid);
	return name && *name ? name : NULL;
}

/* text (a failure's description) as the verify result, in memory of its
 * own: the failure slot may still be replaced. */
static void verify_result_text(tlskit_conn *conn, const char *text)
{
	conn->verify_text = strdup(text);
	conn->verify_result = conn->verify_text ? conn->verify_text :
		"verification failed (out of memory describing why)";
}

static void record_verify_result(tlskit_conn *conn)
{
	X509 *peer = SSL_get0_peer_certificate(conn->ssl);
	long result = SSL_get_verify_result(conn->ssl);
	char msg[TLSKIT_ERROR_MAX];

	if (conn->verify_note) {
		verify_result_text(conn, conn->verify_note);
	} else if (conn->role == TLSKIT_CLIENT &&
		   config_noverifycert(conn->cfg)) {
		conn->verify_result = "not verified (insecure)";
	} else if (!peer) {
		conn->verify_result = "no certificate";
	} else if (result != X509_V_OK && conn->vfail_msg) {
		verify_result_text(conn, conn->vfail_msg);
	} else if (result != X509_V_OK) {
		verify_describe_result(result, msg, sizeof(msg));
		verify_result_text(conn, msg);
	} else if (conn->role == TLSKIT_CLIENT &&
		   config_noverifyname(conn->cfg)) {
		conn->verify_result = "ok (name not verified: insecure)";
	} else {
		conn->verify_result = "ok";
	}
}

static void record_session(tlskit_conn *conn)
{
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;

	conn->version = SSL_get_version(conn->ssl);
	conn->cipher = SSL_get_cipher_name(conn->ssl);
	conn->bits = SSL_get_cipher_bits(conn->ssl, NULL);
	conn->resumed = SSL_session_reused(conn->ssl);
	SSL_get0_alpn_selected(conn->ssl, &alpn, &alpn_len);
	conn->alpn = alpn_copy(alpn, alpn_len);
	conn->group = negotiated_group(conn->ssl);
	record_verify_result(conn);
	tlskit_cert_free(conn->peer);
	conn->peer = NULL;
	conn->handshake_done = 1;
}

/* Common entry checks of handshake/read/write: 0 to go on. */
static int conn_usable(tlskit_conn *conn, const char *what)
{
	if (!conn->ssl)
		return error_set(conn_err(conn), TLSKIT_ERR_USAGE,
				 "%s: not connected (call a connect or accept function first)",
				 what);
	if (conn->failed)
		return -1; /* the error that ended it stays */
	return 0;
}

/* Before each SSL call that may fail: nothing stale for SSL_get_error()
 * or for the errno our transport records. */
static void begin_ssl_call(tlskit_conn *conn)
{
	clear_stale_errors();
	conn->tr.last_errno = 0;
}

/* SSL_get_error()'s "call again when ..." as our code; 0 for a failure. */
static int want_code(int ssl_err)
{
	if (ssl_err == SSL_ERROR_WANT_READ)
		return TLSKIT_WANT_READ;
	if (ssl_err == SSL_ERROR_WANT_WRITE)
		return TLSKIT_WANT_WRITE;
	return 0;
}

int tlskit_handshake(tlskit_conn *conn)
{
	int r, e;

	if (!conn)
		return -1;
	if (conn_usable(conn, "TLS handshake") < 0)
		return -1;
	if (conn->handshake_done)
		return 0;
	begin_ssl_call(conn);
	r = SSL_do_handshake(conn->ssl);
	if (r == 1) {
		record_session(conn);
		return 0;
	}
	e = SSL_get_error(conn->ssl, r);
	if (want_code(e))
		return want_code(e);
	describe_handshake_failure(conn, e);
	conn->failed = 1;
	return -1;
}

/* ---- I/O -------------------------------------------------------------- */

ssize_t tlskit_read(tlskit_conn *conn, void *buf, size_t len)
{
	size_t n = 0;
	int r, e;

	if (!conn)
		return -1;
	if (conn_usable(conn, "reading from peer") < 0)
		return -1;
	if (!buf || len == 0)
		return error_set(conn_err(conn), TLSKIT_ERR_USAGE,
				 "reading from peer: empty buffer");
	if (!conn->handshake_done && (r = tlskit_handshake(conn)) != 0)
		return r;
	begin_ssl_call(conn);
	if (SSL_read_ex(conn->ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	e = SSL_get_error(conn->ssl, 0);
	if (want_code(e))
		return want_code(e);
	if (e == SSL_ERROR_ZERO_RETURN) {
		clear_stale_errors();
		return 0;
	}
	describe_io_failure(conn, e, "reading from peer");
	conn->failed = 1;
	return -1;
}

ssize_t tlskit_write(tlskit_conn *conn, const void *buf, size_t len)
{
	size_t n = 0;
	int r, e;

	if (!conn)
		return -1;
	if (conn_usable(conn, "writing to peer") < 0)
		return -1;
	if (len == 0)
		return 0;
	if (!buf)
		return error_set(conn_err(conn), TLSKIT_ERR_USAGE,
				 "writing to peer: no buffer");
	if (conn->closed)
		return error_set(conn_err(conn), TLSKIT_ERR_USAGE,
				 "writing to peer: the connection is already closed");
	if (!conn->handshake_done && (r = tlskit_handshake(conn)) != 0)
		return r;
	begin_ssl_call(conn);
	/* Without partial writes, SSL_write_ex sends all of len or keeps its
	 * place for the caller's repeat after TLSKIT_WANT_*. */
	if (SSL_write_ex(conn->ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	e = SSL_get_error(conn->ssl, 0);
	if (want_code(e))
		return want_code(e);
	describe_io_failure(conn, e, "writing to peer");
	closed_means_io(conn);
	conn->failed = 1;
	return -1;
}

int tlskit_close(tlskit_conn *conn)
{
	int r, e;

	if (!conn)
		return -1;
	/* Nothing to say to a peer we never finished meeting, or after a
	 * fatal error (OpenSSL forbids shutdown then). */
	if (!conn->ssl || !conn->handshake_done || conn->failed || conn->closed)
		return 0;
	begin_ssl_call(conn);
	r = SSL_shutdown(conn->ssl);
	if (r >= 0) {
		conn->closed = 1;
		return 0;
	}
	e = SSL_get_error(conn->ssl, r);
	if (want_code(e))
		return want_code(e);
	describe_io_failure(conn, e, "sending close_notify");
	closed_means_io(conn);
	conn->failed = 1;
	return -1;
}

int tlskit_has_pending(const tlskit_conn *conn)
{
	return conn && conn->ssl && SSL_has_pending(conn->ssl);
}

int tlskit_conn_set_read_ahead(tlskit_conn *conn, int on)
{
	if (!conn)
		return -1;
	conn->read_ahead = on != 0;
	if (conn->ssl)
		SSL_set_read_ahead(conn->ssl, conn->read_ahead);
	return 0;
}

size_t tlskit_pending(const tlskit_conn *conn)
{
	int n;

	if (!conn || !conn->ssl)
		return 0;
	n = SSL_pending(conn->ssl);
	return n > 0 ? (size_t)n : 0;
}

/* ---- after the handshake ---------------------------------------------- */

const char *tlskit_conn_version(const tlskit_conn *conn)
{
	return conn && conn->handshake_done ? conn->version : NULL;
}

const char *tlskit_conn_cipher(const tlskit_conn *conn)
{
	return conn && conn->handshake_done ? conn->cipher : NULL;
}

int tlskit_conn_cipher_bits(const tlskit_conn *conn)
{
	return conn && conn->handshake_done ? conn->bits : 0;
}

const char *tlskit_conn_alpn(const tlskit_conn *conn)
{
	return conn && conn->handshake_done ? conn->alpn : NULL;
}

const char *tlskit_conn_group(const tlskit_conn *conn)
{
	return conn && conn->handshake_done ? conn->group : NULL;
}

int tlskit_conn_cert_requested(const tlskit_conn *conn)
{
	return conn && conn->cert_requested;
}

int tlskit_conn_resumed(const tlskit_conn *conn)
{
	return conn && conn->handshake_done ? conn->resumed : 0;
}

const char *tlskit_conn_servername(const tlskit_conn *conn)
{
	if (!conn)
		return NULL;
	/* A server asks OpenSSL each time (what the handshake settled stays
	 * in the SSL, which lives as long as conn): no copy per connection. */
	if (conn->handshake_done && conn->role == TLSKIT_SERVER) {
		const char *sni = SSL_get_servername(conn->ssl,
						     TLSEXT_NAMETYPE_host_name);

		return sni && *sni ? sni : NULL;
	}
	return conn->servername_sni ? conn->servername : NULL;
}

const char *tlskit_conn_verify_result(const tlskit_conn *conn)
{
	if (!conn)
		return NULL;
	if (!conn->handshake_done)
		return conn->vfail_msg ? conn->vfail_msg : "no handshake";
	return conn->verify_result;
}

const tlskit_cert *tlskit_conn_peer_cert(tlskit_conn *conn)
{
	struct tlskit_error err, *slot;
	X509 *x;

	if (!conn || !conn->ssl || !conn->handshake_done)
		return NULL;
	if (conn->peer)
		return conn->peer;
	x = SSL_get0_peer_certificate(conn->ssl);
	if (!x)
		return NULL;
	/* The error record is allocated only if this fails. */
	conn->peer = certinfo_from_x509(x, &err);
	if (!conn->peer && (slot = conn_err(conn)))
		*slot = err;
	return conn->peer;
}
