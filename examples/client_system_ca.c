/*
 * client_system_ca - a TLS client that trusts what the system trusts: the
 * default config verifies the server's certificate chain against the system
 * store and checks that the certificate is valid for HOST.
 *
 *   client_system_ca HOST PORT [MESSAGE]
 *
 * Sends MESSAGE (default "Hello TLS") and a newline, prints the protocol
 * version, the cipher and the first line of the reply. OpenSSL honours
 * SSL_CERT_FILE and SSL_CERT_DIR, so a test can point it at its own CA:
 *
 *   $ SSL_CERT_FILE=ca.pem ./client_system_ca localhost 5566
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <tlskit.h>

#define TIMEOUT_MS 10000

/* "host:port", bracketing IPv6 literals: "[::1]:5566". */
static int join_host_port(const char *host, const char *port, char *buf,
			  size_t len)
{
	const char *fmt = strchr(host, ':') ? "[%s]:%s" : "%s:%s";
	int n = snprintf(buf, len, fmt, host, port);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* The socket is blocking with a timeout, so "want read/write" means the
 * timeout expired. */
static int fail(const char *what, tlskit_conn *conn, long rc)
{
	if (rc == TLSKIT_WANT_READ || rc == TLSKIT_WANT_WRITE)
		fprintf(stderr, "client_system_ca: %s: timed out\n", what);
	else
		fprintf(stderr, "client_system_ca: %s: %s\n", what,
			tlskit_conn_error(conn));
	return 1;
}

/* Reads until a newline, the end of the stream or a full buffer. */
static ssize_t read_reply(tlskit_conn *conn, char *buf, size_t len)
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

/* Connects, sends message and a newline, prints what came back. */
static int talk(tlskit_config *cfg, const char *hostport, const char *message)
{
	struct timeval timeout = { .tv_sec = TIMEOUT_MS / 1000 };
	tlskit_conn *conn = tlskit_client_new(cfg);
	char line[1024], reply[4096];
	ssize_t n;
	int rc = 1;

	if (!conn) {
		fprintf(stderr, "client_system_ca: out of memory\n");
		return 1;
	}
	if (tlskit_connect(conn, hostport, TIMEOUT_MS, 0) < 0) {
		rc = fail("connecting", conn, -1);
		goto out;
	}
	setsockopt(tlskit_conn_fd(conn), SOL_SOCKET, SO_RCVTIMEO, &timeout,
		   sizeof(timeout));
	setsockopt(tlskit_conn_fd(conn), SOL_SOCKET, SO_SNDTIMEO, &timeout,
		   sizeof(timeout));
	n = tlskit_handshake(conn);
	if (n != 0) {
		rc = fail("handshake", conn, n);
		goto out;
	}
	printf("version: %s\n", tlskit_conn_version(conn));
	printf("cipher: %s (%d bits)\n", tlskit_conn_cipher(conn),
	       tlskit_conn_cipher_bits(conn));
	/* One write, one record: a server that reads once gets the line. */
	snprintf(line, sizeof(line), "%s\n", message);
	n = tlskit_write(conn, line, strlen(line));
	if (n < 0) {
		rc = fail("writing", conn, n);
		goto out;
	}
	n = read_reply(conn, reply, sizeof(reply));
	if (n < 0) {
		rc = fail("reading", conn, n);
		goto out;
	}
	printf("reply: %s%s", reply, n && reply[n - 1] == '\n' ? "" : "\n");
	tlskit_close(conn);
	rc = 0;
out:
	tlskit_conn_free(conn);
	return rc;
}

int main(int argc, char **argv)
{
	const char *message = argc == 4 ? argv[3] : "Hello TLS";
	char hostport[512];
	tlskit_config *cfg;
	int rc = 1;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: client_system_ca HOST PORT [MESSAGE]\n");
		return 2;
	}
	if (join_host_port(argv[1], argv[2], hostport, sizeof(hostport)) < 0) {
		fprintf(stderr, "client_system_ca: host name too long\n");
		return 2;
	}
	/* A server that goes away mid-write is an error, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	cfg = tlskit_config_new();
	if (!cfg) {
		fprintf(stderr, "client_system_ca: out of memory\n");
		return 1;
	}
	/* Nothing to set: verification against the system store is the
	 * default. Checking now reports an unreadable store before we connect. */
	if (tlskit_config_check(cfg, TLSKIT_CLIENT) < 0) {
		fprintf(stderr, "client_system_ca: %s\n", tlskit_config_error(cfg));
		goto out;
	}
	rc = talk(cfg, hostport, message);
out:
	tlskit_config_free(cfg);
	return rc;
}
