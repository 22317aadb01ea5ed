/*
 * loop.c - the epoll loop: watching descriptors, signals, the run queue,
 * the buffer free list.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "engine_internal.h"

/* Events taken per epoll_wait; more simply wait for the next call. */
#define LOOP_MAX_EVENTS 256
/* Free buffers kept for reuse; beyond this they go back to malloc. */
#define BUF_FREE_MAX 64

static void set_err(struct tlskit_error *err, enum tlskit_error_category cat,
		    const char *what)
{
	if (!err)
		return;
	err->category = cat;
	snprintf(err->message, sizeof(err->message), "%s: %s", what,
		 strerror(errno));
}

uint64_t engine_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int engine_watch(struct engine *eng, struct engine_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	return epoll_ctl(eng->epfd, EPOLL_CTL_ADD, io->fd, &ev);
}

struct engine *engine_new(enum engine_log_format format,
			  struct tlskit_error *err)
{
	struct engine *eng = calloc(1, sizeof(*eng));

	if (!eng) {
		set_err(err, TLSKIT_ERR_SYSTEM, "creating the event loop");
		return NULL;
	}
	eng->sigfd = -1;
	eng->reserve_fd = -1;
	eng->log_format = format;
	eng->ready_tail = &eng->ready_head;
	eng->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (eng->epfd < 0) {
		set_err(err, TLSKIT_ERR_SYSTEM, "creating the event loop (epoll)");
		goto fail;
	}
	/* Kept so that at EMFILE a connection can still be accepted and shed
	 * instead of the level-triggered listener spinning. */
	eng->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return eng;
fail:
	engine_free(eng);
	return NULL;
}

static void on_signal(struct engine_io *io, uint32_t events)
{
	struct engine *eng = container_of(io, struct engine, sig_io);
	struct signalfd_siginfo si;

	(void)events;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (!eng->stop_signal)
			eng->stop_signal = (int)si.ssi_signo;
		engine_stop(eng);
	}
}

int engine_handle_signals(struct engine *eng, struct tlskit_error *err)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		set_err(err, TLSKIT_ERR_SYSTEM, "blocking SIGINT and SIGTERM");
		return -1;
	}
	eng->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (eng->sigfd < 0) {
		set_err(err, TLSKIT_ERR_SYSTEM, "watching signals (signalfd)");
		return -1;
	}
	eng->sig_io.fd = eng->sigfd;
	eng->sig_io.on_events = on_signal;
	if (engine_watch(eng, &eng->sig_io, EPOLLIN) < 0) {
		set_err(err, TLSKIT_ERR_SYSTEM, "watching signals (epoll)");
		return -1;
	}
	return 0;
}

void engine_stop(struct engine *eng)
{
	eng->stopping = true;
}

int engine_stop_signal(const struct engine *eng)
{
	return eng->stop_signal;
}

const struct engine_stats *engine_stats(const struct engine *eng)
{
	return &eng->stats;
}

int engine_run(struct engine *eng, struct tlskit_error *err)
{
	struct epoll_event events[LOOP_MAX_EVENTS];

	while (!eng->stopping) {
		/* Queued connections have work now: only poll, never sleep. */
		int timeout = eng->ready_head ? 0 : -1;
		int n = epoll_wait(eng->epfd, events, LOOP_MAX_EVENTS, timeout);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_err(err, TLSKIT_ERR_SYSTEM, "waiting for events");
			return -1;
		}
		for (int i = 0; i < n; i++) {
			struct engine_io *io = events[i].data.ptr;

			io->on_events(io, events[i].events);
		}
		conn_run_queue(eng);
		conn_free_zombies(eng);
	}
	return 0;
}

void engine_free(struct engine *eng)
{
	if (!eng)
		return;
	/* Connections first: their log lines may still name their listener. */
	conn_close_all(eng);
	conn_free_zombies(eng);
	listener_free_all(eng);
	while (eng->free_bufs) {
		struct engine_buf *b = eng->free_bufs;

		eng->free_bufs = b->next_free;
		free(b);
	}
	if (eng->sigfd >= 0)
		close(eng->sigfd);
	if (eng->reserve_fd >= 0)
		close(eng->reserve_fd);
	if (eng->epfd >= 0)
		close(eng->epfd);
	free(eng);
}

struct engine_buf *engine_buf_get(struct engine *eng)
{
	struct engine_buf *b = eng->free_bufs;

	if (!b)
		return malloc(sizeof(*b));
	eng->free_bufs = b->next_free;
	eng->free_buf_count--;
	return b;
}

void engine_buf_put(struct engine *eng, struct engine_buf *buf)
{
	if (!buf)
		return;
	if (eng->free_buf_count >= BUF_FREE_MAX) {
		free(buf);
		return;
	}
	buf->next_free = eng->free_bufs;
	eng->free_bufs = buf;
	eng->free_buf_count++;
}

long engine_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur != rl.rlim_max) {
		struct rlimit want = rl;

		/* An unlimited hard limit is still capped by fs.nr_open. */
		want.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	return (long)rl.rlim_cur;
}
