/*
 * loop.c - one worker's epoll loop: watched descriptors, the control
 * eventfd, timers, drain, the run queue, the buffer free list.
 */
#include <errno.h>
#include <malloc.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "engine_internal.h"

/* Events taken per epoll_wait; more simply wait for the next call. */
#define LOOP_MAX_EVENTS 256
/* Free buffers kept for reuse; beyond this they go back to malloc. */
#define BUF_FREE_MAX 64
/* The longest single sleep (deadlines are re-read after it anyway). */
#define LOOP_MAX_SLEEP_MS 3600000

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

/* Starts using the configuration the main thread left after SIGHUP. */
static void take_new_config(struct engine *eng)
{
	tlskit_config *cfg = atomic_exchange(&eng->pending_cfg, NULL);

	if (!cfg)
		return;
	for (struct engine_listener *l = eng->listeners; l; l = l->next) {
		tlskit_config_free(l->cfg);
		l->cfg = tlskit_config_ref(cfg);
	}
	tlskit_config_free(cfg);
}

/* Stop accepting; open connections finish until the drain deadline. */
static void start_drain(struct engine *eng)
{
	if (eng->draining)
		return;
	eng->draining = true;
	eng->accept_paused = false;
	listener_close_all(eng);
	eng->drain_deadline_ns = eng->sh->drain_timeout_ns == DEADLINE_NEVER ?
		DEADLINE_NEVER : eng->now_ns + eng->sh->drain_timeout_ns;
}

static void on_control(struct engine_io *io, uint32_t events)
{
	struct engine *eng = container_of(io, struct engine, ctl_io);
	uint64_t count;
	unsigned int cmd;

	(void)events;
	(void)!read(io->fd, &count, sizeof(count));
	cmd = atomic_exchange(&eng->commands, 0);
	if (cmd & ENGINE_CMD_RELOAD)
		take_new_config(eng);
	if (cmd & ENGINE_CMD_DRAIN)
		start_drain(eng);
	if (cmd & ENGINE_CMD_STOP) {
		listener_close_all(eng);
		conn_close_all(eng);
		eng->stopping = true;
	}
}

void engine_command(struct engine *eng, unsigned int cmd)
{
	uint64_t one = 1;

	atomic_fetch_or(&eng->commands, cmd);
	(void)!write(eng->ctl_fd, &one, sizeof(one));
}

struct engine *engine_new(struct engine_shared *sh, unsigned int id,
			  struct tlskit_error *err)
{
	struct engine *eng = calloc(1, sizeof(*eng));

	if (!eng) {
		set_err(err, TLSKIT_ERR_SYSTEM, "creating the event loop");
		return NULL;
	}
	eng->sh = sh;
	eng->id = id;
	eng->ctl_fd = -1;
	eng->log_format = sh->log_format;
	eng->ready_tail = &eng->ready_head;
	eng->now_ns = engine_now_ns();
	eng->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (eng->epfd < 0) {
		set_err(err, TLSKIT_ERR_SYSTEM, "creating the event loop (epoll)");
		goto fail;
	}
	eng->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	eng->ctl_io.fd = eng->ctl_fd;
	eng->ctl_io.on_events = on_control;
	if (eng->ctl_fd < 0 || engine_watch(eng, &eng->ctl_io, EPOLLIN) < 0) {
		set_err(err, TLSKIT_ERR_SYSTEM, "creating the event loop (eventfd)");
		goto fail;
	}
	return eng;
fail:
	engine_free(eng);
	return NULL;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Fires what is due; returns the next deadline. */
static uint64_t run_timers(struct engine *eng)
{
	uint64_t next = conn_expire(eng);

	if (eng->accept_paused && eng->now_ns >= eng->accept_resume_ns)
		listener_try_resume(eng);
	if (eng->accept_paused)
		next = earliest(next, eng->accept_resume_ns);
	if (!eng->draining)
		return next;
	if (conn_count(eng) == 0) {
		eng->stopping = true;
	} else if (eng->now_ns >= eng->drain_deadline_ns) {
		log_event(eng->log_format, "server",
			  "worker %u: drain timeout: closing %zu connections",
			  eng->id, conn_count(eng));
		conn_close_all(eng);
		eng->stopping = true;
	}
	return earliest(next, eng->drain_deadline_ns);
}

/*
 * glibc keeps freed memory for reuse, so after a crowd of connections has
 * gone (a burst, a flood of silent ones cut by the handshake timeout) the
 * server would keep its peak size. Once the open count has fallen to half
 * its peak, and by at least TRIM_STEP connections, give it back: a few
 * malloc_trim calls per burst, none while the count is steady.
 */
#define TRIM_STEP 256

static void trim_after_crowd(struct engine *eng)
{
	size_t open = conn_count(eng);

	if (open >= eng->conn_peak) {
		eng->conn_peak = open;
		return;
	}
	if (eng->conn_peak - open < TRIM_STEP || open * 2 > eng->conn_peak)
		return;
	malloc_trim(0);
	eng->conn_peak = open;
}

static int wait_ms(const struct engine *eng, uint64_t deadline)
{
	uint64_t ms;

	/* Queued connections have work now: only poll, never sleep. */
	if (eng->ready_head || eng->stopping)
		return 0;
	if (deadline == DEADLINE_NEVER)
		return -1;
	if (deadline <= eng->now_ns)
		return 0;
	ms = (deadline - eng->now_ns + NS_PER_MS - 1) / NS_PER_MS;
	return ms > LOOP_MAX_SLEEP_MS ? LOOP_MAX_SLEEP_MS : (int)ms;
}

int engine_run(struct engine *eng, struct tlskit_error *err)
{
	struct epoll_event events[LOOP_MAX_EVENTS];
	uint64_t next = DEADLINE_NEVER;

	eng->now_ns = engine_now_ns();
	while (!eng->stopping) {
		int n = epoll_wait(eng->epfd, events, LOOP_MAX_EVENTS,
				   wait_ms(eng, next));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_err(err, TLSKIT_ERR_SYSTEM, "waiting for events");
			return -1;
		}
		eng->now_ns = engine_now_ns();
		for (int i = 0; i < n; i++) {
			struct engine_io *io = events[i].data.ptr;

			io->on_events(io, events[i].events);
		}
		conn_run_queue(eng);
		next = run_timers(eng);
		conn_free_zombies(eng);
		trim_after_crowd(eng);
		listener_free_closed(eng);
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
	listener_close_all(eng);
	listener_free_closed(eng);
	tlskit_config_free(atomic_exchange(&eng->pending_cfg, NULL));
	while (eng->free_bufs) {
		struct engine_buf *b = eng->free_bufs;

		eng->free_bufs = b->next_free;
		free(b);
	}
	if (eng->ctl_fd >= 0)
		close(eng->ctl_fd);
	if (eng->epfd >= 0)
		close(eng->epfd);
	free(eng);
}

#define LOAD(field) atomic_load_explicit(&c->field, memory_order_relaxed)

void engine_read_stats(struct engine *eng, struct engine_stats *out)
{
	const struct engine_counters *c = &eng->counters;

	out->open = LOAD(open);
	out->accepted = LOAD(accepted);
	out->handshakes = LOAD(handshakes);
	out->resumed = LOAD(resumed);
	for (int i = 0; i < ENGINE_HS_FAIL_COUNT; i++)
		out->hs_failed[i] = LOAD(hs_failed[i]);
	out->errors = LOAD(errors);
	out->bytes_in = LOAD(bytes_in);
	out->bytes_out = LOAD(bytes_out);
	out->timeouts_handshake = LOAD(timeouts_handshake);
	out->timeouts_idle = LOAD(timeouts_idle);
	out->accept_pauses = LOAD(accept_pauses);
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
	return rl.rlim_cur > LONG_MAX ? LONG_MAX : (long)rl.rlim_cur;
}
