/* bench/loop-choice/uvecho.c - the same TLS echo as `tlskit echo`, on libuv's
 * uv_poll with interest switched per TLSKIT_WANT_*, as a libuv user must do.
 * Built only by run.sh, to measure the event-loop choice; not part of tlskit. */
#include <uv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "tlskit.h"

static tlskit_config *cfg;
struct c { uv_poll_t p; tlskit_conn *t; int fd; int hs; char buf[16384]; size_t n, off; };

static void on_ev(uv_poll_t *p, int st, int ev);
static void done(struct c *c) { uv_poll_stop(&c->p); tlskit_conn_free(c->t); close(c->fd); free(c); }
static void want(struct c *c, int r) { uv_poll_start(&c->p, r == TLSKIT_WANT_WRITE ? UV_WRITABLE : UV_READABLE, on_ev); }
static void on_ev(uv_poll_t *p, int st, int ev)
{
	struct c *c = p->data; (void)st; (void)ev;
	for (;;) {
		if (!c->hs) {
			int r = tlskit_handshake(c->t);
			if (r == TLSKIT_WANT_READ || r == TLSKIT_WANT_WRITE) { want(c, r); return; }
			if (r < 0) { done(c); return; }
			c->hs = 1;
		}
		if (c->n) {
			ssize_t w = tlskit_write(c->t, c->buf + c->off, c->n - c->off);
			if (w == TLSKIT_WANT_READ || w == TLSKIT_WANT_WRITE) { want(c, (int)w); return; }
			if (w < 0) { done(c); return; }
			c->n = c->off = 0;
		}
		ssize_t r = tlskit_read(c->t, c->buf, sizeof c->buf);
		if (r == TLSKIT_WANT_READ || r == TLSKIT_WANT_WRITE) { want(c, (int)r); return; }
		if (r <= 0) { if (r == 0) tlskit_close(c->t); done(c); return; }
		c->n = (size_t)r;
	}
}
static void on_accept(uv_poll_t *lp, int st, int ev)
{
	int lfd = *(int *)lp->data; (void)st; (void)ev;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (fd < 0) return;
		struct c *c = calloc(1, sizeof *c);
		c->fd = fd; c->t = tlskit_server_new(cfg);
		tlskit_accept_fd(c->t, fd);
		uv_poll_init(uv_default_loop(), &c->p, fd); c->p.data = c;
		uv_poll_start(&c->p, UV_READABLE, on_ev);
	}
}
int main(int argc, char **argv)
{
	cfg = tlskit_config_new();
	tlskit_config_set_cert_file(cfg, argv[2]); tlskit_config_set_key_file(cfg, argv[3]);
	if (tlskit_config_check(cfg, TLSKIT_SERVER)) { fprintf(stderr, "%s\n", tlskit_config_error(cfg)); return 1; }
	static int lfd; lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1; setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, 4); setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, 4);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) }; a.sin_addr.s_addr = htonl(0x7f000001);
	if (bind(lfd, (void *)&a, sizeof a) || listen(lfd, 1024)) { perror("bind"); return 1; }
	uv_poll_t lp; uv_poll_init(uv_default_loop(), &lp, lfd); lp.data = &lfd;
	uv_poll_start(&lp, UV_READABLE, on_accept);
	return uv_run(uv_default_loop(), UV_RUN_DEFAULT);
}
