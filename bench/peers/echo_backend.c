/*
 * echo_backend: the plaintext echo server that the TLS terminators of
 * bench/compare.sh (haproxy, nginx, hitch, stunnel) forward to.
 *
 *   echo_backend PORT        listens on 127.0.0.1:PORT, one thread, epoll
 *
 * It must cost as little as possible, because its CPU time is counted
 * with the terminator's: level-triggered epoll, one 16 KiB read per
 * event, and a per-connection buffer only while a write is incomplete
 * (then reading stops until the peer drains it, so memory stays bounded).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK 16384
#define MAX_EVENTS 256

struct conn {
	int fd;
	size_t pending;         /* bytes of buf not yet written back */
	size_t offset;          /* where the unwritten part starts */
	char *buf;              /* allocated only while a write is incomplete */
};

static int epfd;
static char scratch[CHUNK];

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((unsigned short)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0) {
		perror("echo_backend: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4096) < 0) {
		fprintf(stderr, "echo_backend: listen on 127.0.0.1:%d: %s\n",
			port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void set_events(struct conn *c, unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void drop(struct conn *c)
{
	close(c->fd);
	free(c->buf);
	free(c);
}

static void accept_all(int lfd)
{
	int one = 1;

	/* Bounded: at most one backlog's worth per wakeup. */
	for (int i = 0; i < 4096; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		struct conn *c;
		struct epoll_event ev = { .events = EPOLLIN };

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			drop(c);
	}
}

/* Writes what is pending; returns -1 when the connection is gone. */
static int flush_pending(struct conn *c)
{
	while (c->pending > 0) {
		ssize_t n = write(c->fd, c->buf + c->offset, c->pending);

		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->offset += (size_t)n;
		c->pending -= (size_t)n;
	}
	free(c->buf);
	c->buf = NULL;
	c->offset = 0;
	set_events(c, EPOLLIN);
	return 0;
}

/* Reads one chunk and echoes it; keeps the unwritten tail if any. */
static int echo_once(struct conn *c)
{
	ssize_t n = read(c->fd, scratch, sizeof(scratch));
	ssize_t w;

	if (n == 0 || (n < 0 && errno != EAGAIN))
		return -1;
	if (n < 0)
		return 0;
	w = write(c->fd, scratch, (size_t)n);
	if (w < 0 && errno != EAGAIN)
		return -1;
	if (w < 0)
		w = 0;
	if (w < n) {
		c->buf = malloc((size_t)(n - w));
		if (!c->buf)
			return -1;
		memcpy(c->buf, scratch + w, (size_t)(n - w));
		c->pending = (size_t)(n - w);
		c->offset = 0;
		set_events(c, EPOLLOUT);
	}
	return 0;
}

static void serve(int lfd)
{
	struct epoll_event events[MAX_EVENTS];
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };

	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
	for (;;) {
		int n = epoll_wait(epfd, events, MAX_EVENTS, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			int rc;

			if (!c) {
				accept_all(lfd);
				continue;
			}
			rc = c->pending ? flush_pending(c) : echo_once(c);
			if (rc < 0)
				drop(c);
		}
		if (n < 0 && errno != EINTR) {
			perror("echo_backend: epoll_wait");
			return;
		}
	}
}

int main(int argc, char **argv)
{
	int lfd;

	if (argc != 2) {
		fprintf(stderr, "usage: echo_backend PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(atoi(argv[1]));
	if (lfd < 0)
		return 1;
	epfd = epoll_create1(0);
	if (epfd < 0) {
		perror("echo_backend: epoll_create1");
		return 1;
	}
	serve(lfd);
	return 1;
}
