/*
 * cipher_server - an echo server restricted to chosen TLS 1.2 ciphers. It
 * prints the ciphers the configuration enables (JSON), then for every client
 * the cipher the handshake picked.
 *
 *   cipher_server HOST PORT CERT KEY [COUNT]
 *
 * The list 'ECDHE+AESGCM:DHE+AESGCM' only governs TLS 1.2; TLS 1.3 suites
 * are configured apart (tlskit_config_set_ciphersuites) and stay enabled.
 *
 *   $ ./cipher_server localhost 5566 server.pem server.key &
 *   $ openssl s_client -connect localhost:5566 -tls1_2 -quiet
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

#define CIPHERS "ECDHE+AESGCM:DHE+AESGCM"

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
		fprintf(stderr, "cipher_server: resolving '%s': %s\n", host,
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
		perror("cipher_server: listening");
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
		fprintf(stderr, "cipher_server: %s: timed out\n", what);
	else
		fprintf(stderr, "cipher_server: %s: %s\n", what,
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
		fprintf(stderr, "cipher_server: out of memory\n");
		return;
	}
	rc = tlskit_accept_fd(conn, fd);
	if (rc == 0)
		rc = tlskit_handshake(conn);
	if (rc != 0) {
		report("handshake", conn, rc);
		goto out;
	}
	printf("cipher: %s (%s, %d bits)\n", tlskit_conn_cipher(conn),
	       tlskit_conn_version(conn), tlskit_conn_cipher_bits(conn));
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

/* Cipher names are plain ASCII, but a JSON printer should not assume it. */
static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_field(const char *name, const char *value, int last)
{
	printf("    \"%s\": ", name);
	print_json_string(value);
	printf("%s\n", last ? "" : ",");
}

/* The enabled ciphers as a JSON array, in preference order. */
static int print_ciphers(tlskit_config *cfg)
{
	struct tlskit_cipher_info *ciphers;
	ssize_t n = tlskit_config_ciphers(cfg, TLSKIT_SERVER, &ciphers);

	if (n < 0) {
		fprintf(stderr, "cipher_server: %s\n", tlskit_config_error(cfg));
		return -1;
	}
	printf("[\n");
	for (ssize_t i = 0; i < n; i++) {
		const struct tlskit_cipher_info *c = &ciphers[i];

		printf("  {\n");
		print_field("name", c->name, 0);
		print_field("iana", c->iana, 0);
		print_field("protocol", c->protocol, 0);
		printf("    \"id\": %u,\n", (unsigned)c->id);
		printf("    \"bits\": %d,\n", c->bits);
		print_field("kx", c->kx, 0);
		print_field("auth", c->auth, 0);
		print_field("enc", c->enc, 0);
		printf("    \"aead\": %s\n", c->aead ? "true" : "false");
		printf("  }%s\n", i + 1 < n ? "," : "");
	}
	printf("]\n");
	fflush(stdout);
	free(ciphers);
	return 0;
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

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: cipher_server HOST PORT CERT KEY [COUNT]\n");
		return 2;
	}
	if (argc == 6 && parse_count(argv[5], &count) < 0) {
		fprintf(stderr, "cipher_server: COUNT '%s' is not a positive number\n",
			argv[5]);
		return 2;
	}
	/* A client that goes away mid-write is an error to report, not a
	 * reason to die. */
	signal(SIGPIPE, SIG_IGN);
	cfg = tlskit_config_new();
	if (!cfg) {
		fprintf(stderr, "cipher_server: out of memory\n");
		return 1;
	}
	if (tlskit_config_set_cert_file(cfg, argv[3]) < 0 ||
	    tlskit_config_set_key_file(cfg, argv[4]) < 0 ||
	    tlskit_config_set_ciphers(cfg, CIPHERS) < 0 ||
	    tlskit_config_check(cfg, TLSKIT_SERVER) < 0) {
		fprintf(stderr, "cipher_server: %s\n", tlskit_config_error(cfg));
		goto out;
	}
	if (print_ciphers(cfg) < 0)
		goto out;
	lfd = listen_on(argv[1], argv[2]);
	if (lfd < 0)
		goto out;
	print_listening(lfd);
	for (long served = 0; count < 0 || served < count;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0) {
			perror("cipher_server: accept");
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
