/*
 * cmd_connect.c - `tlskit connect HOST:PORT`: a friendly openssl s_client.
 *
 * Connects, verifies, prints a short summary of the handshake on stderr,
 * then relays stdin to the connection and the connection to stdout, both at
 * once, until the end of stdin has been sent (with close_notify) and the
 * peer has closed. Every wait is bounded by --timeout.
 *
 * stdin and stdout are left in blocking mode (their file descriptions are
 * shared with the shell and other processes, and a crash would leave them
 * non-blocking); instead they are only read after poll() says readable, and
 * pipes and terminals are written at most PIPE_BUF bytes per poll() that
 * says writable, which never blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define CMD "connect"
#define DEFAULT_TIMEOUT_MS 10000
#define UP_SIZE (16 * 1024)	/* stdin -> TLS: one record at a time */
#define DOWN_SIZE (64 * 1024)	/* TLS -> stdout: a few records of slack */
#define PUMP_ROUNDS_MAX 64	/* then poll again, so no side starves */

static const char connect_usage[] =
	"usage: tlskit connect HOST:PORT [options]\n"
	"\n"
	"Connects to a TLS server, verifies its certificate and name, prints a\n"
	"short summary of the handshake on stderr, then copies stdin to the\n"
	"connection and the connection to stdout, both at once. At the end of\n"
	"stdin it sends close_notify and keeps reading until the server closes.\n"
	"\n"
	"HOST is a name, an IPv4 address or an [IPv6] address. The certificate\n"
	"must be valid for it (an IP address is checked against IP SANs and no\n"
	"SNI is sent).\n"
	"\n"
	"  --ca FILE             trust the CA certificates in FILE (PEM) instead\n"
	"                        of the system store\n"
	"  --cert FILE --key FILE\n"
	"                        a client certificate (PEM, chain leaf first) and\n"
	"                        its private key, sent if the server asks\n"
	"  --servername NAME     the SNI sent and the name verified (default HOST)\n"
	"  --min-version V       lowest TLS version: 1.0, 1.1, 1.2 (default), 1.3\n"
	"  --max-version V       highest TLS version (default 1.3)\n"
	"  --ciphers LIST        TLS 1.2 ciphers (OpenSSL syntax)\n"
	"  --ciphersuites LIST   TLS 1.3 ciphersuites (colon separated)\n"
	"  --groups LIST         key exchange groups, e.g. X25519:P-256\n"
	"  --alpn LIST           ALPN protocols to offer, e.g. h2,http/1.1\n"
	"  --pin sha256//BASE64  the server's public key must match this pin (as\n"
	"                        `tlskit cert show` prints it); repeatable, any\n"
	"                        match; in addition to CA and name verification\n"
	"  --pin-only            trust the pin alone: chain, dates and hostname are\n"
	"                        NOT checked (self-signed servers; insecure)\n"
	"  --profile NAME        modern (TLS 1.3 only), intermediate (default), old\n"
	"  --keylog FILE|env     append TLS secrets to FILE (env: $SSLKEYLOGFILE)\n"
	"                        for Wireshark; debugging only\n"
	"  --crl FILE            CRL (PEM or DER) to check the server's certificate\n"
	"                        against; repeatable. Fail-closed: an issuer\n"
	"                        without a CRL here, or with an expired one, fails\n"
	"  --crl-check MODE      leaf (default: the server's certificate) or chain\n"
	"                        (every certificate up to the CA)\n"
	"  --ocsp                ask for the server's stapled OCSP response, show\n"
	"                        it and check it (a revoked or invalid one fails)\n"
	"  --require-ocsp        as --ocsp, and fail unless a good one is stapled\n"
	"  --timeout SECS        bounds connecting, the handshake, and idle time\n"
	"                        (no bytes either way); default 10\n"
	"  --insecure            do NOT verify the server's certificate or name\n"
	"                        (tests only: anyone can impersonate the server)\n"
	"  --reconnect N         after the first connection, connect N more times\n"
	"                        (handshake and close) offering its session, and\n"
	"                        report \"resumed K of N\" on stderr\n"
	"  --session-in FILE     offer the session saved in FILE (PEM, as\n"
	"                        --session-out or openssl s_client -sess_out\n"
	"                        write it) and say whether it resumed\n"
	"  --session-out FILE    save the session at the end (mode 0600: it holds\n"
	"                        the session's secrets)\n"
	"  -q, --quiet           no handshake summary\n"
	"  -h, --help            this help\n"
	"\n"
	"Example: echo hi | tlskit connect localhost:8443 --ca ca.pem\n"
	"\n";

enum {
	OPT_TIMEOUT = OPT_CLI_TLS_LAST,
	OPT_QUIET,
	OPT_RECONNECT,
	OPT_SESSION_IN,
	OPT_SESSION_OUT,
};

#define MAX_RECONNECT 1000

static const struct option connect_options[] = {
	{ "ca", required_argument, NULL, OPT_CA },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "servername", required_argument, NULL, OPT_SERVERNAME },
	{ "min-version", required_argument, NULL, OPT_MIN_VERSION },
	{ "max-version", required_argument, NULL, OPT_MAX_VERSION },
	{ "ciphers", required_argument, NULL, OPT_CIPHERS },
	{ "ciphersuites", required_argument, NULL, OPT_CIPHERSUITES },
	{ "groups", required_argument, NULL, OPT_GROUPS },
	{ "alpn", required_argument, NULL, OPT_ALPN },
	{ "pin", required_argument, NULL, OPT_PIN },
	{ "pin-only", no_argument, NULL, OPT_PIN_ONLY },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "keylog", required_argument, NULL, OPT_KEYLOG },
	{ "crl", required_argument, NULL, OPT_CRL },
	{ "crl-check", required_argument, NULL, OPT_CRL_CHECK },
	{ "ocsp", no_argument, NULL, OPT_OCSP },
	{ "require-ocsp", no_argument, NULL, OPT_REQUIRE_OCSP },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "reconnect", required_argument, NULL, OPT_RECONNECT },
	{ "session-in", required_argument, NULL, OPT_SESSION_IN },
	{ "session-out", required_argument, NULL, OPT_SESSION_OUT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct connect_args {
	struct cli_tls_opts tls;
	const char *hostport;
	int timeout_ms;
	int quiet;
	int help;
	int reconnect;
	const char *session_in;
	const char *session_out;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "10", "0.5": the timeout as the user wrote it, for messages. */
static void format_secs(int ms, char *buf, size_t len)
{
	snprintf(buf, len, "%g", ms / 1000.0);
}

static int usage_error(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	cli_error(CMD, "%s (see 'tlskit connect --help')", msg);
	return CLI_EXIT_USAGE;
}


/* getopt_long's '?' and ':', in our own words (opterr is off). */
static int option_error(int c, char **argv)
{
	char opt[64];

	if (optopt > 0 && optopt < 256)
		snprintf(opt, sizeof(opt), "-%c", optopt);
	else
		snprintf(opt, sizeof(opt), "%s", argv[optind - 1]);
	if (c == ':')
		return usage_error("option '%s' needs an argument", opt);
	return usage_error("unknown option '%s'", opt);
}

static int parse_reconnect(const char *text, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(text, &end, 10);
	if (errno || end == text || *end || n < 1 || n > MAX_RECONNECT)
		return usage_error("--reconnect: '%s' is not a count from 1 to "
				   "1000", text);
	*out = (int)n;
	return 0;
}

static int parse_option(struct connect_args *a, int c, char **argv)
{
	if (cli_tls_opt(&a->tls, c, optarg))
		return 0;
	switch (c) {
	case 'h':
		a->help = 1;
		return 0;
	case 'q':
		a->quiet = 1;
		return 0;
	case OPT_TIMEOUT:
		return cli_parse_timeout(CMD, optarg, &a->timeout_ms);
	case OPT_RECONNECT:
		return parse_reconnect(optarg, &a->reconnect);
	case OPT_SESSION_IN:
		a->session_in = optarg;
		return 0;
	case OPT_SESSION_OUT:
		a->session_out = optarg;
		return 0;
	}
	return option_error(c, argv);
}

static int parse_args(int argc, char **argv, struct connect_args *a)
{
	int c, rc;

	a->timeout_ms = DEFAULT_TIMEOUT_MS;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hq", connect_options, NULL)) != -1) {
		if ((rc = parse_option(a, c, argv)) != 0)
			return rc;
		if (a->help)
			return 0;
	}
	if (optind == argc)
		return usage_error("%s", "missing HOST:PORT");
	if (optind != argc - 1)
		return usage_error("unexpected argument '%s' (one HOST:PORT only)",
				   argv[optind + 1]);
	a->hostport = argv[optind];
	return 0;
}

/*
 * Waits until fd is ready for events or the deadline passes: 1 ready, 0
 * timed out, -1 with errno on failure.
 */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		n = poll(&p, 1, (int)left);
		if (n >= 0)
			return n > 0;
		if (errno != EINTR)
			return -1;
	}
}

/* The handshake cannot fail "after the connection was up": a peer that
 * hangs up or resets in the middle is a failed handshake. */
static int handshake_exit_code(enum tlskit_error_category cat)
{
	if (cat == TLSKIT_ERR_CLOSED || cat == TLSKIT_ERR_IO)
		return CLI_EXIT_TLS;
	return cli_exit_code(cat);
}

static int run_handshake(tlskit_conn *conn, const struct connect_args *a)
{
	int64_t deadline = now_ms() + a->timeout_ms;
	char secs[32];
	int r, ready;

	for (;;) {
		r = tlskit_handshake(conn);
		if (r == 0)
			return CLI_EXIT_OK;
		if (r != TLSKIT_WANT_READ && r != TLSKIT_WANT_WRITE) {
			cli_error(CMD, "%s", tlskit_conn_error(conn));
			return handshake_exit_code(tlskit_conn_error_category(conn));
		}
		ready = wait_fd(tlskit_conn_fd(conn),
				r == TLSKIT_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (ready < 0) {
			cli_error(CMD, "waiting for the TLS handshake with %s: %s",
				  a->hostport, strerror(errno));
			return CLI_EXIT_IO;
		}
		if (ready == 0) {
			format_secs(a->timeout_ms, secs, sizeof(secs));
			cli_error(CMD, "TLS handshake with %s: no answer from the server within %s s (is it a TLS server?)",
				  a->hostport, secs);
			return CLI_EXIT_CONNECT;
		}
	}
}

/* ---- the handshake summary --------------------------------------------- */

static void peer_address(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sslen) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, sslen, buf, (socklen_t)len,
			NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, len, "address unknown");
}

static void print_expiry(time_t not_after)
{
	char when[64];
	struct tm tm;
	long days;

	if (!gmtime_r(&not_after, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm)) {
		fprintf(stderr, "  expires   unknown\n");
		return;
	}
	days = (long)(difftime(not_after, time(NULL)) / 86400);
	if (not_after >= time(NULL))
		fprintf(stderr, "  expires   %s (in %ld days)\n", when, days);
	else
		fprintf(stderr, "  expires   %s (EXPIRED %ld days ago)\n", when,
			-days);
}

static void print_peer(tlskit_conn *conn)
{
	const tlskit_cert *peer = tlskit_conn_peer_cert(conn);

	if (!peer) {
		fprintf(stderr, "  peer      no certificate\n");
		return;
	}
	fprintf(stderr, "  peer      %s\n", tlskit_cert_subject(peer));
	fprintf(stderr, "  issuer    %s\n", tlskit_cert_issuer(peer));
	print_expiry(tlskit_cert_not_after(peer));
}

/* Our certificate, if the server asked for one: "none" tells the user
 * that the server wanted one they did not give. */
static void print_client_cert(tlskit_conn *conn, const char *path)
{
	struct tlskit_error err = { 0 };
	tlskit_cert *cert;

	if (!tlskit_conn_cert_requested(conn))
		return;
	if (!path) {
		fprintf(stderr, "  client    none (the server asked for a certificate)\n");
		return;
	}
	cert = tlskit_cert_load_file(path, &err);
	if (!cert)
		return;
	fprintf(stderr, "  client    %s\n", tlskit_cert_subject(cert));
	tlskit_cert_free(cert);
}

static void print_summary(tlskit_conn *conn, const struct connect_args *a)
{
	const char *group = tlskit_conn_group(conn);
	const char *alpn = tlskit_conn_alpn(conn);
	char addr[NI_MAXHOST];

	peer_address(tlskit_conn_fd(conn), addr, sizeof(addr));
	fprintf(stderr, "tlskit: connect: connected to %s (%s)\n", a->hostport,
		addr);
	fprintf(stderr, "  protocol  %s, cipher %s (%d bits)",
		tlskit_conn_version(conn), tlskit_conn_cipher(conn),
		tlskit_conn_cipher_bits(conn));
	if (group)
		fprintf(stderr, ", group %s", group);
	fprintf(stderr, "\n  alpn      %s\n", alpn ? alpn : "none");
	print_peer(conn);
	if (a->tls.insecure)
		fprintf(stderr, "  verified  NOT VERIFIED (--insecure)\n");
	else
		fprintf(stderr, "  verified  %s\n", tlskit_conn_verify_result(conn));
	if (tlskit_conn_ocsp_status(conn))
		fprintf(stderr, "  ocsp      %s\n", tlskit_conn_ocsp_status(conn));
	print_client_cert(conn, a->tls.cert);
}

/* ---- the relay ---------------------------------------------------------- */

enum peer_state { PEER_OPEN, PEER_CLOSE_NOTIFY, PEER_TRUNCATED, PEER_FAILED };

struct relay {
	tlskit_conn *conn;
	int fd;
	int timeout_ms;
	int64_t idle_deadline;
	int rc;			/* exit code once failed */
	/* A TLS error is reported only after stdout has every byte read
	 * before it: the server's last words often explain it. */
	char tls_error[TLSKIT_ERROR_MAX];
	int tls_error_rc;
	int write_failed;
	int stdout_is_file;	/* regular file: a write never blocks */

	/* stdin -> TLS. A write that returned WANT_* is repeated with the
	 * same bytes, so up[] is refilled only once it has gone out. */
	char up[UP_SIZE];
	size_t up_len;
	short write_wait;	/* 0: may try now, else the poll event needed */
	int stdin_ready;
	int stdin_eof;
	int close_sent;

	/* TLS -> stdout */
	char down[DOWN_SIZE];
	size_t down_off, down_len;
	short read_wait;
	int stdout_ready;
	enum peer_state peer;
};

static void touch(struct relay *r)
{
	r->idle_deadline = now_ms() + r->timeout_ms;
}

static int fail(struct relay *r, int rc)
{
	r->rc = rc;
	return -1;
}

/* Keeps the first TLS error for the end. */
static void save_tls_error(struct relay *r)
{
	int rc = cli_exit_code(tlskit_conn_error_category(r->conn));

	if (r->tls_error_rc)
		return;
	snprintf(r->tls_error, sizeof(r->tls_error), "%s",
		 tlskit_conn_error(r->conn));
	r->tls_error_rc = rc == CLI_EXIT_OK ? CLI_EXIT_IO : rc;
}

static short want_event(int want)
{
	return want == TLSKIT_WANT_READ ? POLLIN : POLLOUT;
}

static int read_stdin(struct relay *r)
{
	ssize_t n;

	if (!r->stdin_ready || r->stdin_eof || r->up_len || r->write_failed ||
	    r->peer != PEER_OPEN)
		return 0;
	r->stdin_ready = 0;
	n = read(STDIN_FILENO, r->up, sizeof(r->up));
	if (n > 0) {
		r->up_len = (size_t)n;
		touch(r);
		return 1;
	}
	if (n == 0) {
		r->stdin_eof = 1;
		return 1;
	}
	if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	cli_error(CMD, "reading standard input: %s", strerror(errno));
	return fail(r, CLI_EXIT_IO);
}

/* Sends up[], or close_notify once stdin is done and up[] is empty. */
static int write_tls(struct relay *r)
{
	ssize_t n;

	if (r->write_wait || r->write_failed || r->peer != PEER_OPEN ||
	    r->close_sent)
		return 0;
	if (r->up_len) {
		n = tlskit_write(r->conn, r->up, r->up_len);
		if (n > 0) {
			r->up_len = 0;
			touch(r);
			return 1;
		}
	} else if (r->stdin_eof) {
		n = tlskit_close(r->conn);
		if (n == 0) {
			r->close_sent = 1;
			return 1;
		}
	} else {
		return 0;
	}
	if (n == TLSKIT_WANT_READ || n == TLSKIT_WANT_WRITE) {
		r->write_wait = want_event((int)n);
		return 0;
	}
	/* Stop sending but keep reading: what the peer said before it
	 * went away still goes to stdout. */
	save_tls_error(r);
	r->write_failed = 1;
	return 1;
}

static size_t down_space(struct relay *r)
{
	if (r->down_len == 0)
		r->down_off = 0;
	/* Slide the unwritten bytes to the front when the tail gets short. */
	if (r->down_off && DOWN_SIZE - r->down_off - r->down_len < UP_SIZE) {
		memmove(r->down, r->down + r->down_off, r->down_len);
		r->down_off = 0;
	}
	return DOWN_SIZE - r->down_off - r->down_len;
}

static int read_tls(struct relay *r)
{
	size_t space = down_space(r);
	ssize_t n;

	if (r->read_wait || r->peer != PEER_OPEN || space == 0)
		return 0;
	n = tlskit_read(r->conn, r->down + r->down_off + r->down_len, space);
	if (n > 0) {
		r->down_len += (size_t)n;
		touch(r);
		return 1;
	}
	if (n == 0) {
		r->peer = PEER_CLOSE_NOTIFY;
		return 1;
	}
	if (n == TLSKIT_WANT_READ || n == TLSKIT_WANT_WRITE) {
		r->read_wait = want_event((int)n);
		return 0;
	}
	if (tlskit_conn_error_category(r->conn) == TLSKIT_ERR_CLOSED) {
		r->peer = PEER_TRUNCATED;
		return 1;
	}
	save_tls_error(r);
	r->peer = PEER_FAILED;
	return 1;
}

static int write_stdout(struct relay *r)
{
	size_t len = r->down_len;
	ssize_t n;

	if (!len || (!r->stdout_ready && !r->stdout_is_file))
		return 0;
	r->stdout_ready = 0;
	/* Up to PIPE_BUF bytes fit in a pipe or terminal that poll() called
	 * writable, so this write cannot block. */
	if (!r->stdout_is_file && len > PIPE_BUF)
		len = PIPE_BUF;
	n = write(STDOUT_FILENO, r->down + r->down_off, len);
	if (n > 0) {
		r->down_off += (size_t)n;
		r->down_len -= (size_t)n;
		touch(r);
		return 1;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	cli_error(CMD, "writing to standard output: %s",
		  n < 0 ? strerror(errno) : "nothing written");
	return fail(r, CLI_EXIT_IO);
}

/* Moves bytes until nothing moves: 0, or -1 on failure (r->rc). */
static int pump(struct relay *r)
{
	int moved, tls_moved;

	for (int round = 0; round < PUMP_ROUNDS_MAX; round++) {
		moved = read_stdin(r);
		if (moved < 0)
			return -1;
		tls_moved = write_tls(r);
		if (tls_moved < 0)
			return -1;
		moved = read_tls(r);
		if (moved < 0)
			return -1;
		tls_moved |= moved;
		if (tls_moved) {
			/* Either call may have pulled in the record the
			 * other was waiting for (post-handshake messages):
			 * a call waiting for input tries again. Waiting for
			 * socket space is left to poll(). */
			if (r->read_wait == POLLIN)
				r->read_wait = 0;
			if (r->write_wait == POLLIN)
				r->write_wait = 0;
		}
		moved = write_stdout(r);
		if (moved < 0)
			return -1;
		if (!moved && !tls_moved)
			return 0;
	}
	return 0;
}

/* Whether pump() could move something without waiting for an event. */
static int has_work(struct relay *r)
{
	if (r->peer != PEER_OPEN)
		return r->down_len && r->stdout_is_file;
	if (!r->read_wait && down_space(r))
		return 1;
	if (!r->write_wait && !r->write_failed && !r->close_sent &&
	    (r->up_len || r->stdin_eof))
		return 1;
	return r->down_len && r->stdout_is_file;
}

enum { PFD_STDIN, PFD_STDOUT, PFD_TLS, PFD_COUNT };

static void build_pollfds(struct relay *r, struct pollfd *p)
{
	short tls = 0;

	p[PFD_STDIN].fd = -1;
	if (!r->stdin_eof && !r->up_len && !r->write_failed &&
	    r->peer == PEER_OPEN)
		p[PFD_STDIN].fd = STDIN_FILENO;
	p[PFD_STDIN].events = POLLIN;

	p[PFD_STDOUT].fd = -1;
	if (r->down_len && !r->stdout_is_file)
		p[PFD_STDOUT].fd = STDOUT_FILENO;
	p[PFD_STDOUT].events = POLLOUT;

	if (r->peer == PEER_OPEN) {
		tls |= r->read_wait;
		if (!r->close_sent && !r->write_failed)
			tls |= r->write_wait;
	}
	p[PFD_TLS].fd = tls ? r->fd : -1;
	p[PFD_TLS].events = tls;
	for (int i = 0; i < PFD_COUNT; i++)
		p[i].revents = 0;
}

static void note_events(struct relay *r, const struct pollfd *p)
{
	short tls = p[PFD_TLS].revents;

	if (p[PFD_STDIN].revents)
		r->stdin_ready = 1;
	if (p[PFD_STDOUT].revents)
		r->stdout_ready = 1;
	if (tls & (POLLERR | POLLHUP | POLLNVAL)) {
		/* Let both calls run into the error and report it. */
		r->read_wait = 0;
		r->write_wait = 0;
	}
	if (r->read_wait & tls)
		r->read_wait = 0;
	if (r->write_wait & tls)
		r->write_wait = 0;
}

/* One poll(): 0 to go on, -1 on failure (r->rc). */
static int wait_events(struct relay *r)
{
	struct pollfd p[PFD_COUNT];
	int64_t left = r->idle_deadline - now_ms();
	char secs[32];
	int n;

	if (left <= 0 && r->tls_error_rc) {
		cli_error(CMD, "%s", r->tls_error);
		return fail(r, r->tls_error_rc);
	}
	if (left <= 0) {
		format_secs(r->timeout_ms, secs, sizeof(secs));
		cli_error(CMD, "no data for %s s; giving up", secs);
		return fail(r, CLI_EXIT_IO);
	}
	build_pollfds(r, p);
	n = poll(p, PFD_COUNT, has_work(r) ? 0 : (int)left);
	if (n < 0 && errno != EINTR) {
		cli_error(CMD, "waiting for data: %s", strerror(errno));
		return fail(r, CLI_EXIT_IO);
	}
	if (n > 0)
		note_events(r, p);
	return 0;
}

/* The peer is done and stdout has everything: how the session ends. */
static int finish(struct relay *r)
{
	int stdin_sent = r->stdin_eof && !r->up_len && !r->write_failed;

	if (r->peer == PEER_CLOSE_NOTIFY && !r->close_sent && !r->write_failed) {
		/* Answer with ours, best effort: the peer may be gone. */
		if (tlskit_close(r->conn) == 0)
			r->close_sent = 1;
	}
	if (r->peer == PEER_TRUNCATED)
		cli_warn(CMD, "peer closed the connection without close_notify; the data may be truncated");
	if (r->tls_error_rc) {
		cli_error(CMD, "%s", r->tls_error);
		return r->tls_error_rc;
	}
	if (r->peer == PEER_TRUNCATED && !stdin_sent)
		return CLI_EXIT_IO;
	return CLI_EXIT_OK;
}

static int stdout_is_regular_file(void)
{
	struct stat st;

	return fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode);
}

static int relay(tlskit_conn *conn, int timeout_ms)
{
	struct relay *r = calloc(1, sizeof(*r));
	int rc;

	if (!r) {
		cli_error(CMD, "allocating the relay buffers: out of memory");
		return CLI_EXIT_IO;
	}
	r->conn = conn;
	r->fd = tlskit_conn_fd(conn);
	r->timeout_ms = timeout_ms;
	r->stdout_is_file = stdout_is_regular_file();
	touch(r);
	for (;;) {
		if (pump(r) < 0)
			break;
		if (r->peer != PEER_OPEN && !r->down_len) {
			r->rc = finish(r);
			break;
		}
		if (wait_events(r) < 0)
			break;
	}
	rc = r->rc;
	free(r);
	return rc;
}

/* ---- the command -------------------------------------------------------- */

/* Whatever goes wrong before the TCP connection is up is a connect error,
 * unless the library knows better (a bad HOST:PORT, out of memory). */
static int connect_exit_code(enum tlskit_error_category cat)
{
	switch (cat) {
	case TLSKIT_ERR_USAGE:
	case TLSKIT_ERR_CONFIG:
	case TLSKIT_ERR_SYSTEM:
		return cli_exit_code(cat);
	default:
		return CLI_EXIT_CONNECT;
	}
}

/* --session-in: offer the saved session; 0 or an exit code. */
static int offer_saved_session(tlskit_conn *conn, const char *path)
{
	struct tlskit_error err = { 0 };
	tlskit_session *saved = tlskit_session_load_file(path, &err);
	int rc = CLI_EXIT_OK;

	if (!saved) {
		cli_error(CMD, "--session-in: %s", err.message);
		return cli_exit_code(err.category);
	}
	if (tlskit_conn_session_set(conn, saved) < 0) {
		cli_error(CMD, "--session-in: %s", tlskit_conn_error(conn));
		rc = CLI_EXIT_CONFIG;
	}
	tlskit_session_free(saved);
	return rc;
}

/* With --reconnect or --session-out, the session the first connection
 * ends with (TLS 1.3 tickets arrive after the handshake: the relay has
 * read them by now). */
static int connect_and_relay(tlskit_config *cfg, const struct connect_args *a,
			     tlskit_session **session)
{
	tlskit_conn *conn = tlskit_client_new(cfg);
	int rc;

	if (!conn) {
		cli_error(CMD, "creating the connection: out of memory");
		return CLI_EXIT_IO;
	}
	if (tlskit_connect(conn, a->hostport, a->timeout_ms, 1) < 0) {
		rc = connect_exit_code(tlskit_conn_error_category(conn));
		cli_error(CMD, "%s", tlskit_conn_error(conn));
		goto out;
	}
	if (a->session_in &&
	    (rc = offer_saved_session(conn, a->session_in)) != CLI_EXIT_OK)
		goto out;
	rc = run_handshake(conn, a);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (!a->quiet)
		print_summary(conn, a);
	if (!a->quiet && a->session_in)
		fprintf(stderr, "tlskit: connect: session from '%s' %s\n",
			a->session_in, tlskit_conn_resumed(conn) ?
			"resumed" : "not resumed (full handshake)");
	rc = relay(conn, a->timeout_ms);
	if (rc == CLI_EXIT_OK && (a->reconnect || a->session_out))
		*session = tlskit_conn_session_get(conn);
out:
	tlskit_conn_free(conn);
	return rc;
}

/* close_notify, bounded by the timeout; errors do not matter any more. */
static void close_politely(tlskit_conn *conn, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int r;

	while ((r = tlskit_close(conn)) == TLSKIT_WANT_READ ||
	       r == TLSKIT_WANT_WRITE)
		if (wait_fd(tlskit_conn_fd(conn),
			    r == TLSKIT_WANT_READ ? POLLIN : POLLOUT,
			    deadline) <= 0)
			return;
}

/* One more handshake offering session (if any): 0 or an exit code. */
static int reconnect_once(tlskit_config *cfg, const struct connect_args *a,
			  tlskit_session *session, int *resumed)
{
	tlskit_conn *conn = tlskit_client_new(cfg);
	int rc;

	if (!conn) {
		cli_error(CMD, "creating the connection: out of memory");
		return CLI_EXIT_IO;
	}
	if (tlskit_connect(conn, a->hostport, a->timeout_ms, 1) < 0) {
		rc = connect_exit_code(tlskit_conn_error_category(conn));
		cli_error(CMD, "reconnecting: %s", tlskit_conn_error(conn));
		goto out;
	}
	if (session && tlskit_conn_session_set(conn, session) < 0) {
		rc = CLI_EXIT_IO;
		cli_error(CMD, "%s", tlskit_conn_error(conn));
		goto out;
	}
	rc = run_handshake(conn, a);
	if (rc != CLI_EXIT_OK)
		goto out;
	*resumed = tlskit_conn_resumed(conn);
	close_politely(conn, a->timeout_ms);
out:
	tlskit_conn_free(conn);
	return rc;
}

static int reconnect_all(tlskit_config *cfg, const struct connect_args *a,
			 tlskit_session *session)
{
	int rc = CLI_EXIT_OK, resumed_count = 0;

	if (!session && !a->quiet)
		fprintf(stderr, "tlskit: connect: the server gave no session to resume\n");
	for (int i = 1; i <= a->reconnect && rc == CLI_EXIT_OK; i++) {
		int resumed = 0;

		rc = reconnect_once(cfg, a, session, &resumed);
		if (rc != CLI_EXIT_OK)
			break;
		resumed_count += resumed;
		if (!a->quiet)
			fprintf(stderr, "tlskit: connect: reconnect %d of %d: %s\n",
				i, a->reconnect,
				resumed ? "resumed" : "full handshake");
	}
	fprintf(stderr, "tlskit: connect: resumed %d of %d\n", resumed_count,
		a->reconnect);
	return rc;
}

static int save_session(tlskit_session *session, const char *path)
{
	struct tlskit_error err = { 0 };

	if (!session) {
		cli_error(CMD, "--session-out: the server gave no session to save (session tickets off?)");
		return CLI_EXIT_TLS;
	}
	if (tlskit_session_save_file(session, path, &err) < 0) {
		cli_error(CMD, "--session-out: %s", err.message);
		return cli_exit_code(err.category);
	}
	return CLI_EXIT_OK;
}

int cmd_connect(int argc, char **argv)
{
	struct connect_args a = { 0 };
	tlskit_session *session = NULL;
	tlskit_config *cfg = NULL;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc != 0)
		return rc;
	if (a.help) {
		fputs(connect_usage, stdout);
		fputs(cli_exit_codes_help, stdout);
		return CLI_EXIT_OK;
	}
	rc = cli_tls_config(CMD, &a.tls, TLSKIT_CLIENT, &cfg);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = connect_and_relay(cfg, &a, &session);
	if (rc == CLI_EXIT_OK && a.session_out)
		rc = save_session(session, a.session_out);
	if (rc == CLI_EXIT_OK && a.reconnect)
		rc = reconnect_all(cfg, &a, session);
	tlskit_session_free(session);
	tlskit_config_free(cfg);
	return rc;
}
