/*
 * nonblocking_server - many TLS clients in one thread: non-blocking sockets
 * and epoll. Every tlskit call that would block returns TLSKIT_WANT_READ or
 * TLSKIT_WANT_WRITE; the server then waits for that readiness on that socket
 * and repeats the same call. Each client gets its data echoed until it
 * closes.
 *
 *   nonblocking_server HOST PORT CERT KEY [COUNT]
 *
 * Exits after COUNT connections have finished, or on SIGINT / SIGTERM.
 *
 *   $ ./nonblocking_server localhost 5566 server.pem server.key &
 *   $ for i in 1 2 3; do echo hi | openssl s_client -connect localhost:5566 -quiet & done
 */
#include <sys/epoll.h>
#include <time.h>

#define EXAMPLE_NAME "nonblocking_server"
#include "example_net.h"

#define MAX_CLIENTS 1000
#define MAX_EVENTS 64
#define IDLE_SECONDS 30
/* Calls per client per turn, so that one busy client cannot starve the
 * others; a client that used them all gets another turn right away. */
#define STEPS_PER_TURN 32

enum client_state { HANDSHAKING, READING, WRITING };

struct client {
	int fd;
	tlskit_conn *conn;
	enum client_state state;
	uint32_t events;    /* what epoll watches for it now */
	int more;           /* it ran out of steps, not of work */
	time_t last_active;
	size_t echoed;
	char buf[4096];
	size_t len;         /* bytes in buf waiting to be written back */
	struct client *prev, *next;
};

struct server {
	tlskit_config *cfg;
	int epfd;
	int lfd;
	struct client *clients;
	int nclients;
	long finished;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void client_close(struct server *srv, struct client *c,
			 const char *why)
{
	if (why)
		fprintf(stderr, EXAMPLE_NAME ": client %d: %s\n", c->fd, why);
	else
		printf("client %d done: %zu bytes echoed\n", c->fd, c->echoed);
	fflush(stdout);
	/* Best effort: a close_notify that would block is simply not sent. */
	if (c->state != HANDSHAKING)
		(void)tlskit_close(c->conn);
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	tlskit_conn_free(c->conn);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nclients--;
	srv->finished++;
	free(c);
}

/* Watch for what the last call asked for: readable or writable. */
static int wait_for(struct server *srv, struct client *c, int want)
{
	uint32_t events = want == TLSKIT_WANT_WRITE ? EPOLLOUT : EPOLLIN;
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (events == c->events)
		return 0;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		return -1;
	c->events = events;
	return 0;
}

/*
 * One step of the client's state machine: > 0 to go on, 0 when it waits for
 * the socket, -1 when it is finished (c is freed).
 */
static int client_step(struct server *srv, struct client *c)
{
	ssize_t n;

	switch (c->state) {
	case HANDSHAKING:
		n = tlskit_handshake(c->conn);
		if (n == 0) {
			printf("client %d: %s, %s\n", c->fd,
			       tlskit_conn_version(c->conn),
			       tlskit_conn_cipher(c->conn));
			c->state = READING;
		}
		break;
	case READING:
		n = tlskit_read(c->conn, c->buf, sizeof(c->buf));
		/* Many clients just close the socket without a close_notify;
		 * between two messages nothing is lost by that. */
		if (n == 0 || (n == -1 && tlskit_conn_error_category(c->conn) ==
					  TLSKIT_ERR_CLOSED)) {
			client_close(srv, c, NULL);
			return -1;
		}
		if (n > 0) {
			c->len = (size_t)n;
			c->state = WRITING;
		}
		break;
	case WRITING:
		/* After a WANT_*, the same buffer and length again. */
		n = tlskit_write(c->conn, c->buf, c->len);
		if (n > 0) {
			c->echoed += c->len;
			c->state = READING;
		}
		break;
	default:
		n = -1;
	}
	if (n == TLSKIT_WANT_READ || n == TLSKIT_WANT_WRITE) {
		if (wait_for(srv, c, (int)n) < 0) {
			client_close(srv, c, "epoll_ctl failed");
			return -1;
		}
		return 0;
	}
	if (n < 0) {
		client_close(srv, c, tlskit_conn_error(c->conn));
		return -1;
	}
	return 1;
}

static void client_run(struct server *srv, struct client *c)
{
	int steps = 0, rc;

	c->last_active = time(NULL);
	c->more = 0;
	while ((rc = client_step(srv, c)) > 0) {
		if (++steps == STEPS_PER_TURN) {
			c->more = 1;
			return;
		}
	}
}

static void client_add(struct server *srv, int fd)
{
	struct client *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!c || !(c->conn = tlskit_server_new(srv->cfg))) {
		example_out_of_memory();
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->events = EPOLLIN;
	ev.data.ptr = c;
	if (tlskit_accept_fd(c->conn, fd) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		fprintf(stderr, EXAMPLE_NAME ": accepting: %s\n",
			tlskit_conn_error(c->conn));
		tlskit_conn_free(c->conn);
		free(c);
		close(fd);
		return;
	}
	c->next = srv->clients;
	if (c->next)
		c->next->prev = c;
	srv->clients = c;
	srv->nclients++;
	client_run(srv, c);
}

/* Accepts what is waiting, but never more than MAX_CLIENTS at a time. */
static void accept_clients(struct server *srv)
{
	for (int i = 0; i < MAX_EVENTS; i++) {
		int fd = accept4(srv->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				perror(EXAMPLE_NAME ": accept");
			return;
		}
		if (srv->nclients >= MAX_CLIENTS) {
			close(fd);
			continue;
		}
		client_add(srv, fd);
	}
}

/* Closes idle clients and gives a turn to those that had work left;
 * returns whether any still has work left. */
static int sweep_clients(struct server *srv)
{
	time_t now = time(NULL);
	struct client *c = srv->clients, *next;
	int more = 0;

	for (; c; c = next) {
		next = c->next;
		if (c->more) {
			client_run(srv, c);
			continue;
		}
		if (now - c->last_active > IDLE_SECONDS)
			client_close(srv, c, "idle timeout");
	}
	for (c = srv->clients; c; c = c->next)
		more |= c->more;
	return more;
}

static void run(struct server *srv, long count)
{
	struct epoll_event events[MAX_EVENTS];
	int more = 0;

	while (!stop_requested && (count < 0 || srv->finished < count)) {
		int n = epoll_wait(srv->epfd, events, MAX_EVENTS,
				   more ? 0 : 1000);

		if (n < 0 && errno != EINTR) {
			perror(EXAMPLE_NAME ": epoll_wait");
			return;
		}
		for (int i = 0; i < n; i++) {
			if (events[i].data.ptr == NULL)
				accept_clients(srv);
			else
				client_run(srv, events[i].data.ptr);
		}
		more = sweep_clients(srv);
	}
}

static int setup(struct server *srv, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	srv->cfg = tlskit_config_new();
	if (!srv->cfg) {
		example_out_of_memory();
		return -1;
	}
	if (tlskit_config_set_cert_file(srv->cfg, argv[3]) < 0 ||
	    tlskit_config_set_key_file(srv->cfg, argv[4]) < 0 ||
	    tlskit_config_check(srv->cfg, TLSKIT_SERVER) < 0) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n",
			tlskit_config_error(srv->cfg));
		return -1;
	}
	srv->lfd = example_listen(argv[1], argv[2], SOCK_NONBLOCK);
	if (srv->lfd < 0)
		return -1;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->lfd, &ev) < 0) {
		perror(EXAMPLE_NAME ": epoll");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct server srv = { .epfd = -1, .lfd = -1 };
	long count = -1;
	int rc = 1;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: nonblocking_server HOST PORT CERT KEY [COUNT]\n");
		return 2;
	}
	if (argc == 6 && example_parse_count(argv[5], &count) < 0)
		return 2;
	/* No SA_RESTART: a signal must interrupt epoll_wait. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (setup(&srv, argv) == 0) {
		run(&srv, count);
		rc = 0;
	}
	while (srv.clients)
		client_close(&srv, srv.clients, "server stopping");
	if (srv.epfd >= 0)
		close(srv.epfd);
	if (srv.lfd >= 0)
		close(srv.lfd);
	tlskit_config_free(srv.cfg);
	if (rc == 0)
		printf("served %ld connections\n", srv.finished);
	return rc;
}
