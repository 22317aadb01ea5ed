/*
 * example_net.h - the plumbing the examples share: argument checks, the
 * listening socket, the one-client-at-a-time accept loop, the echo of one
 * message and the client's request/reply exchange. What each example is
 * about (its config, and what it shows of a connection) stays in the
 * example; the tlskit calls every connection makes are here, once:
 *
 *   server  tlskit_server_new, tlskit_accept_fd, tlskit_handshake,
 *           tlskit_read, tlskit_write, tlskit_close, tlskit_conn_free
 *   client  tlskit_client_new, tlskit_connect, tlskit_handshake,
 *           tlskit_write, tlskit_read, tlskit_close, tlskit_conn_free
 *
 * Define EXAMPLE_NAME, the prefix of every message, before including it:
 *
 *   #define EXAMPLE_NAME "echo_server"
 *   #include "example_net.h"
 *
 * Everything is static inline, so that an example that uses only part of
 * it compiles without warnings about the rest.
 */
#ifndef EXAMPLE_NET_H
#define EXAMPLE_NET_H

#ifndef EXAMPLE_NAME
#error "define EXAMPLE_NAME before including example_net.h"
#endif

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <tlskit.h>

/* A peer that connects and says nothing must not stall an example. */
#define EXAMPLE_TIMEOUT_SECONDS 10
/* Room for a burst of clients while the server is busy with one. */
#define EXAMPLE_BACKLOG 128

/* ---- messages, arguments, timeouts ------------------------------------- */

/* Returns the exit status: main can `return example_out_of_memory()`. */
static inline int example_out_of_memory(void)
{
	fprintf(stderr, EXAMPLE_NAME ": out of memory\n");
	return 1;
}

/*
 * Reports a failed connection step. The sockets here block with a timeout,
 * so "want read/write" means the timeout expired. Returns the exit status.
 */
static inline int example_fail(const char *what, tlskit_conn *conn, long rc)
{
	if (rc == TLSKIT_WANT_READ || rc == TLSKIT_WANT_WRITE)
		fprintf(stderr, EXAMPLE_NAME ": %s: timed out\n", what);
	else
		fprintf(stderr, EXAMPLE_NAME ": %s: %s\n", what,
			tlskit_conn_error(conn));
	return 1;
}

/* COUNT, the servers' optional last argument: exit after that many clients. */
static inline int example_parse_count(const char *text, long *count)
{
	char *end;
	long v = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || v <= 0) {
		fprintf(stderr, EXAMPLE_NAME ": COUNT '%s' is not a positive number\n",
			text);
		return -1;
	}
	*count = v;
	return 0;
}

/* "host:port" for tlskit_connect, bracketing IPv6 literals: "[::1]:5566". */
static inline int example_host_port(const char *host, const char *port,
				    char *buf, size_t len)
{
	const char *fmt = strchr(host, ':') ? "[%s]:%s" : "%s:%s";
	int n = snprintf(buf, len, fmt, host, port);

	if (n > 0 && (size_t)n < len)
		return 0;
	fprintf(stderr, EXAMPLE_NAME ": host name too long\n");
	return -1;
}

/* Blocking reads and writes that give up after EXAMPLE_TIMEOUT_SECONDS. */
static inline void example_set_timeouts(int fd)
{
	struct timeval timeout = { .tv_sec = EXAMPLE_TIMEOUT_SECONDS };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

/* ---- servers ----------------------------------------------------------- */

/* With PORT 0 the kernel picks the port: this line is how users and tests
 * learn which. */
static inline void example_print_listening(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	printf("listening on %s port %s\n", host, port);
	fflush(stdout);
}

/*
 * A TCP socket listening on HOST PORT, the first address that works; PORT 0
 * picks a free port. sock_flags are added to the socket type (for instance
 * SOCK_NONBLOCK). Prints the "listening on" line; -1 on failure, reported.
 */
static inline int example_listen(const char *host, const char *port,
				 int sock_flags)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	int fd = -1, one = 1, rc;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, EXAMPLE_NAME ": resolving '%s': %s\n", host,
			gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | sock_flags | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, EXAMPLE_BACKLOG) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		perror(EXAMPLE_NAME ": listening");
		return -1;
	}
	example_print_listening(fd);
	return fd;
}

/* What a server shows of a client once its handshake is done. */
typedef void example_on_handshake(tlskit_conn *conn);

/*
 * One client on a blocking socket: the handshake, one read echoed back,
 * close_notify. on_handshake may be NULL.
 */
static inline void example_echo_one(tlskit_config *cfg, int fd,
				    example_on_handshake *on_handshake)
{
	tlskit_conn *conn = tlskit_server_new(cfg);
	char buf[1024];
	ssize_t n, written = 0;
	int rc;

	if (!conn) {
		example_out_of_memory();
		return;
	}
	rc = tlskit_accept_fd(conn, fd);
	if (rc == 0)
		rc = tlskit_handshake(conn);
	if (rc != 0) {
		example_fail("handshake", conn, rc);
		goto out;
	}
	if (on_handshake)
		on_handshake(conn);
	n = tlskit_read(conn, buf, sizeof(buf));
	if (n < 0) {
		example_fail("reading", conn, n);
		goto out;
	}
	if (n > 0)
		written = tlskit_write(conn, buf, (size_t)n);
	if (written < 0) {
		example_fail("writing", conn, written);
		goto out;
	}
	printf("echoed %zd bytes\n", n);
	fflush(stdout);
	tlskit_close(conn);
out:
	tlskit_conn_free(conn);
}

/*
 * Serves clients one at a time on HOST PORT with example_echo_one, until
 * count connections (-1: no limit) or an accept error. Returns the exit
 * status: 1 when it cannot listen, else 0.
 */
static inline int example_serve(tlskit_config *cfg, const char *host,
				const char *port, long count,
				example_on_handshake *on_handshake)
{
	int lfd;

	/* A client that goes away mid-write is an error to report, not a
	 * reason to die. */
	signal(SIGPIPE, SIG_IGN);
	lfd = example_listen(host, port, 0);
	if (lfd < 0)
		return 1;
	for (long served = 0; count < 0 || served < count;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0) {
			perror(EXAMPLE_NAME ": accept");
			break;
		}
		example_set_timeouts(fd);
		example_echo_one(cfg, fd, on_handshake);
		close(fd);
		served++;
	}
	close(lfd);
	return 0;
}

/* ---- clients ----------------------------------------------------------- */

/*
 * Connects to hostport and runs the handshake, on a socket whose reads and
 * writes time out; NULL on failure, reported.
 */
static inline tlskit_conn *example_connect(tlskit_config *cfg,
					   const char *hostport)
{
	const int timeout_ms = EXAMPLE_TIMEOUT_SECONDS * 1000;
	tlskit_conn *conn = tlskit_client_new(cfg);
	int rc;

	if (!conn) {
		example_out_of_memory();
		return NULL;
	}
	if (tlskit_connect(conn, hostport, timeout_ms, 0) < 0) {
		example_fail("connecting", conn, -1);
		goto fail;
	}
	example_set_timeouts(tlskit_conn_fd(conn));
	rc = tlskit_handshake(conn);
	if (rc != 0) {
		example_fail("handshake", conn, rc);
		goto fail;
	}
	return conn;
fail:
	tlskit_conn_free(conn);
	return NULL;
}

/* Reads until a newline, the end of the stream or a full buffer. */
static inline ssize_t example_read_line(tlskit_conn *conn, char *buf,
					size_t len)
{
	size_t used = 0;

	while (used < len - 1 && !memchr(buf, '\n', used)) {
		ssize_t n = tlskit_read(conn, buf + used, len - 1 - used);

		if (n == 0)
			break;
		if (n < 0)
			return n;
		used += (size_t)n;
	}
	buf[used] = '\0';
	return (ssize_t)used;
}

/*
 * The clients' exchange: connects, prints the protocol version and the
 * cipher, sends message and a newline, prints the first line of the reply.
 * Returns the exit status.
 */
static inline int example_talk(tlskit_config *cfg, const char *hostport,
			       const char *message)
{
	tlskit_conn *conn;
	char line[1024], reply[4096];
	ssize_t n;
	int rc = 1;

	/* A server that goes away mid-write is an error, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	conn = example_connect(cfg, hostport);
	if (!conn)
		return 1;
	printf("version: %s\n", tlskit_conn_version(conn));
	printf("cipher: %s (%d bits)\n", tlskit_conn_cipher(conn),
	       tlskit_conn_cipher_bits(conn));
	/* One write, one record: a server that reads once gets the line. */
	snprintf(line, sizeof(line), "%s\n", message);
	n = tlskit_write(conn, line, strlen(line));
	if (n < 0) {
		example_fail("writing", conn, n);
		goto out;
	}
	n = example_read_line(conn, reply, sizeof(reply));
	if (n < 0) {
		example_fail("reading", conn, n);
		goto out;
	}
	printf("reply: %s%s", reply, n && reply[n - 1] == '\n' ? "" : "\n");
	tlskit_close(conn);
	rc = 0;
out:
	tlskit_conn_free(conn);
	return rc;
}

#endif /* EXAMPLE_NET_H */
