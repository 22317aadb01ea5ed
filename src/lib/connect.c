/*
 * connect.c - tlskit_connect: resolve "host:port" and open a TCP connection
 * to the first address that answers, each attempt bounded in time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000

struct target {
	char host[256];
	char port[32];
};

static TLSKIT_MUST_CHECK int parse_hostport(const char *text, struct target *t,
					    struct tlskit_error *err)
{
	const char *host = text, *colon, *end;
	size_t hlen;

	if (text[0] == '[') {
		host = text + 1;
		end = strchr(host, ']');
		if (!end || end[1] != ':')
			return error_set(err, TLSKIT_ERR_USAGE,
					 "connecting to '%s': expected [address]:port",
					 text);
		colon = end + 1;
		hlen = (size_t)(end - host);
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return error_set(err, TLSKIT_ERR_USAGE,
					 "connecting to '%s': missing port (use host:port)",
					 text);
		if (memchr(text, ':', (size_t)(colon - text)))
			return error_set(err, TLSKIT_ERR_USAGE,
					 "connecting to '%s': IPv6 addresses need brackets, as in [::1]:443",
					 text);
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= sizeof(t->host))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "connecting to '%s': %s host name", text,
				 hlen ? "overlong" : "empty");
	if (colon[1] == '\0' || strlen(colon + 1) >= sizeof(t->port))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "connecting to '%s': bad or missing port", text);
	/* getaddrinfo wraps numeric ports modulo 65536: check the range. */
	if (strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	    (strlen(colon + 1) > 5 || atol(colon + 1) < 1 ||
	     atol(colon + 1) > 65535))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "connecting to '%s': port '%s' is not from 1 to 65535",
				 text, colon + 1);
	memcpy(t->host, host, hlen);
	t->host[hlen] = '\0';
	snprintf(t->port, sizeof(t->port), "%s", colon + 1);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for a non-blocking connect; 0, or -1 with errno (ETIMEDOUT). */
static TLSKIT_MUST_CHECK int wait_connected(int fd, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int soerr = 0, r;

	for (;;) {
		long long left = deadline - now_ms();

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			break;
		if (r == 0 || errno != EINTR) {
			if (r == 0)
				errno = ETIMEDOUT;
			return -1;
		}
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -1;
	if (soerr) {
		errno = soerr;
		return -1;
	}
	return 0;
}

/* One address: a connected non-blocking socket, or -1 with errno. */
static TLSKIT_MUST_CHECK int try_address(const struct addrinfo *ai, int timeout_ms)
{
	int fd, saved;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if ((errno == EINPROGRESS || errno == EINTR) &&
	    wait_connected(fd, timeout_ms) == 0)
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static void address_string(const struct addrinfo *ai, char *buf, size_t len)
{
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, (socklen_t)len, NULL,
			0, NI_NUMERICHOST) != 0)
		snprintf(buf, len, "?");
}

static TLSKIT_MUST_CHECK int finish_socket(int fd, int nonblocking)
{
	int one = 1;

	/* TLS records are whole messages: do not let Nagle hold them. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		return -1;
	if (!nonblocking) {
		int flags = fcntl(fd, F_GETFL);

		if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
			return -1;
	}
	return 0;
}

/* A connected socket to t, or -1 with the error set. */
static TLSKIT_MUST_CHECK int open_connection(const char *hostport, const struct target *t,
					     int timeout_ms, int nonblocking,
					     struct tlskit_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *ai;
	char addr[INET6_ADDRSTRLEN + 8] = "";
	int fd = -1, r, last_errno = 0;

	r = getaddrinfo(t->host, t->port, &hints, &res);
	if (r != 0)
		return error_set(err, TLSKIT_ERR_CONNECT,
				 "connecting to %s: cannot resolve '%s': %s",
				 hostport, t->host,
				 r == EAI_SYSTEM ? strerror(errno) :
						   gai_strerror(r));
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		address_string(ai, addr, sizeof(addr));
		fd = try_address(ai, timeout_ms);
		if (fd < 0)
			last_errno = errno;
	}
	if (fd >= 0 && finish_socket(fd, nonblocking) < 0) {
		last_errno = errno;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		if (last_errno == ETIMEDOUT)
			error_set(err, TLSKIT_ERR_CONNECT,
				  "connecting to %s (%s): timed out after %d ms",
				  hostport, addr, timeout_ms);
		else
			error_set(err, TLSKIT_ERR_CONNECT,
				  "connecting to %s (%s): %s", hostport, addr,
				  strerror(last_errno ? last_errno : EIO));
	}
	freeaddrinfo(res);
	return fd;
}

int tlskit_connect(tlskit_conn *conn, const char *hostport, int timeout_ms,
		   int nonblocking)
{
	struct tlskit_error *err;
	struct target t;
	int fd;

	if (!conn)
		return -1;
	err = conn_error_slot(conn);
	error_clear(err);
	if (!hostport)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "connecting: no host:port given");
	if (timeout_ms < 0)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "connecting to %s: negative timeout %d ms",
				 hostport, timeout_ms);
	if (conn_check_unused(conn, TLSKIT_CLIENT) < 0)
		return -1;
	if (parse_hostport(hostport, &t, err) < 0)
		return -1;
	fd = open_connection(hostport, &t,
			     timeout_ms ? timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS,
			     nonblocking, err);
	if (fd < 0)
		return -1;
	return conn_start_client(conn, fd, t.host, 1);
}
