/*
 * mtls_server - mutual TLS, server side: like echo_server, but every client
 * must present a certificate that chains to CA_FILE; the handshake fails
 * without one. The server prints each client's subject.
 *
 *   mtls_server HOST PORT CERT KEY CA_FILE [COUNT]
 *
 *   $ ./mtls_server localhost 5566 server.pem server.key ca.pem &
 *   $ ./mtls_client localhost 5566 alice.pem alice.key ca.pem
 */
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

/* A client that connects and says nothing must not stall the server. */
#define CLIENT_TIMEOUT_SECONDS 10

static int listen_on(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	int fd = -1, one = 1, rc;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "mtls_server: resolving '%s': %s\n", host,
			gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 16) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		perror("mtls_server: listening");
	return fd;
}

static void print_listening(int fd)
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

/* The socket is blocking with a timeout, so "want read/write" means the
 * timeout expired. */
static void report(const char *what, tlskit_conn *conn, long rc)
{
	if (rc == TLSKIT_WANT_READ || rc == TLSKIT_WANT_WRITE)
		fprintf(stderr, "mtls_server: %s: timed out\n", what);
	else
		fprintf(stderr, "mtls_server: %s: %s\n", what,
			tlskit_conn_error(conn));
}

/* One client: handshake, read once, echo, close. */
static void serve(tlskit_config *cfg, int fd)
{
	tlskit_conn *conn = tlskit_server_new(cfg);
	char buf[1024];
	ssize_t n;
	int rc;

	if (!conn) {
		fprintf(stderr, "mtls_server: out of memory\n");
		return;
	}
	rc = tlskit_accept_fd(conn, fd);
	if (rc == 0)
		rc = tlskit_handshake(conn);
	if (rc != 0) {
		report("handshake", conn, rc);
		goto out;
	}
	/* REQUIRE guarantees a verified certificate once the handshake is done. */
	printf("client: %s\n", tlskit_cert_subject(tlskit_conn_peer_cert(conn)));
	fflush(stdout);
	n = tlskit_read(conn, buf, sizeof(buf));
	if (n < 0) {
		report("reading", conn, n);
		goto out;
	}
	if (n > 0 && (rc = (int)tlskit_write(conn, buf, (size_t)n)) < 0) {
		report("writing", conn, rc);
		goto out;
	}
	printf("echoed %zd bytes\n", n);
	fflush(stdout);
	tlskit_close(conn);
out:
	tlskit_conn_free(conn);
}

static int parse_count(const char *text, long *out)
{
	char *end;
	long v = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || v <= 0)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct timeval timeout = { .tv_sec = CLIENT_TIMEOUT_SECONDS };
	tlskit_config *cfg;
	long count = -1;
	int lfd, rc = 1;

	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: mtls_server HOST PORT CERT KEY CA_FILE [COUNT]\n");
		return 2;
	}
	if (argc == 7 && parse_count(argv[6], &count) < 0) {
		fprintf(stderr, "mtls_server: COUNT '%s' is not a positive number\n",
			argv[6]);
		return 2;
	}
	/* A client that goes away mid-write is an error to report, not a
	 * reason to die. */
	signal(SIGPIPE, SIG_IGN);
	cfg = tlskit_config_new();
	if (!cfg) {
		fprintf(stderr, "mtls_server: out of memory\n");
		return 1;
	}
	if (tlskit_config_set_cert_file(cfg, argv[3]) < 0 ||
	    tlskit_config_set_key_file(cfg, argv[4]) < 0 ||
	    tlskit_config_set_ca_file(cfg, argv[5]) < 0 ||
	    tlskit_config_set_verify_client(cfg, TLSKIT_VERIFY_CLIENT_REQUIRE) < 0 ||
	    tlskit_config_check(cfg, TLSKIT_SERVER) < 0) {
		fprintf(stderr, "mtls_server: %s\n", tlskit_config_error(cfg));
		goto out;
	}
	lfd = listen_on(argv[1], argv[2]);
	if (lfd < 0)
		goto out;
	print_listening(lfd);
	for (long served = 0; count < 0 || served < count;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0) {
			perror("mtls_server: accept");
			break;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
		serve(cfg, fd);
		close(fd);
		served++;
	}
	close(lfd);
	rc = 0;
out:
	tlskit_config_free(cfg);
	return rc;
}
