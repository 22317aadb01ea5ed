/*
 * security_settings - the settings a hardened server states explicitly:
 * TLS 1.2 as the oldest protocol and only forward-secret AEAD ciphers.
 * Compression and renegotiation are already off in every tlskit config and
 * the server's cipher order already wins, so there is nothing to set for them.
 *
 *   security_settings [HOST PORT CERT KEY [COUNT]]
 *
 * Prints the minimum version and how many ciphers the configuration enables;
 * given a certificate it then serves echo clients like echo_server, printing
 * what each one negotiated.
 *
 *   $ ./security_settings
 *   $ ./security_settings localhost 5566 server.pem server.key &
 *   $ openssl s_client -connect localhost:5566 -tls1_1    # refused
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

#define CIPHERS "ECDHE+AESGCM:DHE+AESGCM:!aNULL:!MD5:!DSS"

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
		fprintf(stderr, "security_settings: resolving '%s': %s\n", host,
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
		perror("security_settings: listening");
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
		fprintf(stderr, "security_settings: %s: timed out\n", what);
	else
		fprintf(stderr, "security_settings: %s: %s\n", what,
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
		fprintf(stderr, "security_settings: out of memory\n");
		return;
	}
	rc = tlskit_accept_fd(conn, fd);
	if (rc == 0)
		rc = tlskit_handshake(conn);
	if (rc != 0) {
		report("handshake", conn, rc);
		goto out;
	}
	printf("client negotiated %s with %s\n", tlskit_conn_version(conn),
	       tlskit_conn_cipher(conn));
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

/*
 * Counts the enabled ciphers by protocol: the list above only governs
 * TLS 1.2; TLS 1.3 has its own, all of them AEAD. A server configuration
 * cannot be built without its certificate, so without one the same settings
 * are listed as a client would offer them.
 */
static int print_settings(tlskit_config *cfg, enum tlskit_role role)
{
	struct tlskit_cipher_info *ciphers;
	ssize_t n = tlskit_config_ciphers(cfg, role, &ciphers);
	int tls12 = 0, tls13 = 0;

	if (n < 0) {
		fprintf(stderr, "security_settings: %s\n", tlskit_config_error(cfg));
		return -1;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (strcmp(ciphers[i].protocol, "TLSv1.3") == 0)
			tls13++;
		else
			tls12++;
	}
	free(ciphers);
	printf("min version: TLSv1.2\n");
	printf("ciphers: %zd (TLSv1.2: %d, TLSv1.3: %d)\n", n, tls12, tls13);
	fflush(stdout);
	return 0;
}

static int serve_forever(tlskit_config *cfg, const char *host,
			 const char *port, long count)
{
	struct timeval timeout = { .tv_sec = CLIENT_TIMEOUT_SECONDS };
	int lfd = listen_on(host, port);

	if (lfd < 0)
		return 1;
	print_listening(lfd);
	for (long served = 0; count < 0 || served < count;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0) {
			perror("security_settings: accept");
			break;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
		serve(cfg, fd);
		close(fd);
		served++;
	}
	close(lfd);
	return 0;
}

int main(int argc, char **argv)
{
	tlskit_config *cfg;
	long count = -1;
	int rc = 1;

	if (argc != 1 && argc != 5 && argc != 6) {
		fprintf(stderr, "usage: security_settings [HOST PORT CERT KEY [COUNT]]\n");
		return 2;
	}
	if (argc == 6 && parse_count(argv[5], &count) < 0) {
		fprintf(stderr, "security_settings: COUNT '%s' is not a positive number\n",
			argv[5]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	cfg = tlskit_config_new();
	if (!cfg) {
		fprintf(stderr, "security_settings: out of memory\n");
		return 1;
	}
	if (tlskit_config_set_protocols(cfg, TLSKIT_TLS1_2, 0) < 0 ||
	    tlskit_config_set_ciphers(cfg, CIPHERS) < 0 ||
	    (argc > 1 && (tlskit_config_set_cert_file(cfg, argv[3]) < 0 ||
			  tlskit_config_set_key_file(cfg, argv[4]) < 0 ||
			  tlskit_config_check(cfg, TLSKIT_SERVER) < 0))) {
		fprintf(stderr, "security_settings: %s\n", tlskit_config_error(cfg));
		goto out;
	}
	if (print_settings(cfg, argc > 1 ? TLSKIT_SERVER : TLSKIT_CLIENT) < 0)
		goto out;
	rc = argc > 1 ? serve_forever(cfg, argv[1], argv[2], count) : 0;
out:
	tlskit_config_free(cfg);
	return rc;
}
