/*
 * bench_loop.c - one thread of `tlskit bench`: an edge-triggered epoll loop
 * driving its share of the client connections ("slots") through connect,
 * handshake, echo and close, counting what happens.
 *
 * Each slot is driven until every step it wants would block, so one edge
 * per readiness change is enough. A slot that must start over (the next
 * handshake, a reconnect after an error) is queued and started after the
 * current batch of events: a refused connect never recurses, and a new
 * socket never receives an event meant for the old one.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define EVENTS_MAX 256
#define WRITE_MAX (16 * 1024) /* one TLS record */
#define TICK_MS 50            /* stop flag and timeouts are checked this often */
/* Idle mode opens at most this many connections at once per thread: a
 * burst of thousands of SYNs overflows the server's backlog and turns into
 * one-second retransmissions, measuring the kernel instead of the server. */
#define IDLE_OPENING_MAX 64

enum slot_state {
	SLOT_IDLE,       /* queued to start its next operation */
	SLOT_CONNECTING, /* TCP connect in progress */
	SLOT_HANDSHAKE,
	SLOT_ECHO,       /* writing the payload and reading it back */
	SLOT_HOLD,       /* idle mode: connection up, waiting */
	SLOT_DONE,
};

struct slot {
	enum slot_state state;
	int fd;
	tlskit_conn *conn;
	tlskit_session *session; /* resume: the last one the server gave */
	size_t addr;             /* index of the address being tried */
	size_t addr_tries;
	int checking;            /* idle: the round trip after the hold */
	int claimed;             /* holds an operation not yet begun */
	int64_t op_start;        /* ns */
	int64_t deadline;        /* ns: the current step's timeout */
	/* Bytes of this connection: written, echoed back, to be echoed. */
	uint64_t sent, recvd, target;
	size_t wpending;         /* a write that returned WANT: retry as is */
	uint64_t chunks_done;    /* throughput: chunks fully echoed */
	int64_t *chunk_start;    /* throughput: write time of chunks in flight */
	size_t chunk_slots;
};

struct loop {
	struct bench_worker *w;
	struct bench_shared *sh;
	int epfd;
	struct slot *slots;
	int nslots;
	int active;          /* slots not DONE */
	int opening;         /* idle mode: slots not yet held or failed */
	struct slot **queue; /* ring of IDLE slots */
	int qhead, qlen;
	size_t first_addr;   /* the address that worked last */
	int idle_phase;
	long long done_unpublished; /* ops not yet added to sh->done */
	unsigned char rbuf[BENCH_READ_MAX];
};

int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- statistics --------------------------------------------------------- */

static size_t hist_index(uint64_t us)
{
	int msb, shift;

	if (us < 2 * BENCH_HIST_SUB)
		return (size_t)us;
	msb = 63 - __builtin_clzll(us);
	shift = msb - 6; /* keeps the top 7 bits: 64..127 */
	if (shift + 1 >= BENCH_HIST_BUCKETS / BENCH_HIST_SUB)
		return BENCH_HIST_BUCKETS - 1;
	return (size_t)shift * BENCH_HIST_SUB + (size_t)(us >> shift);
}

/* The smallest value that falls in bucket i. */
static uint64_t hist_value(size_t i)
{
	size_t shift = i / BENCH_HIST_SUB;

	if (i < 2 * BENCH_HIST_SUB)
		return i;
	shift -= 1;
	return (uint64_t)(i - shift * BENCH_HIST_SUB) << shift;
}

void bench_hist_add(struct bench_stats *st, uint64_t us)
{
	st->hist[hist_index(us)]++;
	st->lat_count++;
	if (us > st->lat_max)
		st->lat_max = us;
}

uint64_t bench_hist_percentile(const struct bench_stats *st, double p)
{
	uint64_t rank, seen = 0;

	if (st->lat_count == 0)
		return 0;
	rank = (uint64_t)(p / 100.0 * (double)st->lat_count + 0.5);
	if (rank < 1)
		rank = 1;
	for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += st->hist[i];
		if (seen >= rank) {
			uint64_t v = hist_value(i);

			return v < st->lat_max ? v : st->lat_max;
		}
	}
	return st->lat_max;
}

const char *bench_err_kind_name(enum bench_err_kind kind)
{
	static const char *const names[] = {
		[BENCH_ERR_CONNECT] = "connect",
		[BENCH_ERR_HANDSHAKE] = "handshake",
		[BENCH_ERR_VERIFY] = "verify",
		[BENCH_ERR_TIMEOUT] = "timeout",
		[BENCH_ERR_MISMATCH] = "mismatch",
		[BENCH_ERR_IO] = "io",
	};

	return kind < BENCH_ERR_KINDS ? names[kind] : "other";
}

static void add_cause(struct bench_stats *st, enum bench_err_kind kind,
		      const char *text, uint64_t count)
{
	for (size_t i = 0; i < st->ncauses; i++) {
		struct bench_cause *c = &st->causes[i];

		if (c->kind == kind && strcmp(c->text, text) == 0) {
			c->count += count;
			return;
		}
	}
	if (st->ncauses == BENCH_CAUSES_MAX) {
		st->causes_dropped += count;
		return;
	}
	st->causes[st->ncauses].kind = kind;
	st->causes[st->ncauses].count = count;
	snprintf(st->causes[st->ncauses].text, BENCH_CAUSE_LEN, "%s", text);
	st->ncauses++;
}

void bench_stats_error(struct bench_stats *st, enum bench_err_kind kind,
		       const char *text)
{
	st->errors++;
	st->errors_by_kind[kind]++;
	add_cause(st, kind, text, 1);
}

void bench_stats_merge(struct bench_stats *into, const struct bench_stats *from)
{
	into->ops += from->ops;
	into->bytes += from->bytes;
	into->handshakes += from->handshakes;
	into->offered += from->offered;
	into->resumed += from->resumed;
	into->tcp_connects += from->tcp_connects;
	into->errors += from->errors;
	for (int k = 0; k < BENCH_ERR_KINDS; k++)
		into->errors_by_kind[k] += from->errors_by_kind[k];
	into->causes_dropped += from->causes_dropped;
	for (size_t i = 0; i < from->ncauses; i++)
		add_cause(into, from->causes[i].kind, from->causes[i].text,
			  from->causes[i].count);
	into->idle_held += from->idle_held;
	into->idle_up += from->idle_up;
	into->lat_count += from->lat_count;
	if (from->lat_max > into->lat_max)
		into->lat_max = from->lat_max;
	for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++)
		into->hist[i] += from->hist[i];
}

/* ---- slots -------------------------------------------------------------- */

static int long_lived(const struct bench_shared *sh)
{
	return sh->mode == BENCH_RR || sh->mode == BENCH_THROUGHPUT;
}

/* Takes one operation from the shared budget: 0 when it is spent. */
static int claim_op(struct bench_shared *sh)
{
	if (atomic_load_explicit(&sh->stop, memory_order_relaxed))
		return 0;
	if (sh->max_ops == 0)
		return 1;
	if (atomic_fetch_add(&sh->claimed, 1) < sh->max_ops)
		return 1;
	return 0;
}

static void enqueue(struct loop *lp, struct slot *s)
{
	s->state = SLOT_IDLE;
	lp->queue[(lp->qhead + lp->qlen) % lp->nslots] = s;
	lp->qlen++;
}

/* Closes the connection; graceful sends close_notify first (best effort:
 * one small record, which a socket with room takes at once). */
static void slot_teardown(struct slot *s, int graceful)
{
	if (s->conn) {
		if (graceful)
			(void)tlskit_close(s->conn);
		tlskit_conn_free(s->conn);
		s->conn = NULL;
	}
	if (s->fd >= 0) {
		close(s->fd); /* also leaves the epoll set */
		s->fd = -1;
	}
	s->sent = s->recvd = s->target = 0;
	s->wpending = 0;
	s->chunks_done = 0;
}

static void slot_finish(struct loop *lp, struct slot *s, int graceful)
{
	slot_teardown(s, graceful);
	s->state = SLOT_DONE;
	lp->active--;
}

/* Counts an error and decides what the slot does next. */
static void slot_fail(struct loop *lp, struct slot *s,
		      enum bench_err_kind kind, const char *text)
{
	struct bench_shared *sh = lp->sh;

	bench_stats_error(&lp->w->st, kind, text);
	atomic_fetch_add_explicit(&sh->failed, 1, memory_order_relaxed);
	if (sh->mode == BENCH_IDLE) {
		if (!s->checking) {
			atomic_fetch_add(&sh->idle_settled, 1);
			lp->opening--;
		}
		slot_finish(lp, s, 0);
		return;
	}
	slot_teardown(s, 0);
	enqueue(lp, s);
}

static void fail_conn(struct loop *lp, struct slot *s, const char *what)
{
	char text[BENCH_CAUSE_LEN];
	enum tlskit_error_category cat = tlskit_conn_error_category(s->conn);
	enum bench_err_kind kind = BENCH_ERR_IO;

	if (s->state == SLOT_HANDSHAKE)
		kind = cat == TLSKIT_ERR_VERIFY ? BENCH_ERR_VERIFY :
						  BENCH_ERR_HANDSHAKE;
	snprintf(text, sizeof(text), "%s%s", what, tlskit_conn_error(s->conn));
	slot_fail(lp, s, kind, text);
}

/* Counts a completed operation; returns the time it ended, which is also
 * when the slot's next request starts (one clock read for both). The
 * shared progress count is updated once per batch of events. */
static int64_t op_done(struct loop *lp, struct slot *s, int64_t start)
{
	int64_t now = bench_now_ns();
	int64_t us = (now - start) / 1000;

	bench_hist_add(&lp->w->st, us > 0 ? (uint64_t)us : 0);
	lp->w->st.ops++;
	lp->done_unpublished++;
	s->deadline = now + lp->sh->timeout_ns;
	return now;
}

static void publish_done(struct loop *lp)
{
	if (lp->done_unpublished == 0)
		return;
	atomic_fetch_add_explicit(&lp->sh->done, lp->done_unpublished,
				  memory_order_relaxed);
	lp->done_unpublished = 0;
}

static int connect_next_addr(struct loop *lp, struct slot *s);

/* The slot's next operation: a new connection, or the next request on
 * the one it has. */
static void slot_start(struct loop *lp, struct slot *s)
{
	struct bench_shared *sh = lp->sh;

	if (atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		slot_finish(lp, s, 1);
		return;
	}
	/* Every connection attempt takes an operation from the budget, so
	 * that errors use it up too; a long-lived connection spends it on
	 * its first request. */
	if (sh->mode != BENCH_IDLE && !claim_op(sh)) {
		slot_finish(lp, s, 1);
		return;
	}
	s->claimed = long_lived(sh);
	if (sh->mode == BENCH_IDLE)
		lp->opening++;
	s->op_start = bench_now_ns();
	s->addr = lp->first_addr;
	s->addr_tries = 0;
	(void)connect_next_addr(lp, s);
}

static void connect_failed(struct loop *lp, struct slot *s, int err)
{
	char text[BENCH_CAUSE_LEN];
	const struct bench_addr *a = &lp->sh->addrs[s->addr];

	close(s->fd);
	s->fd = -1;
	s->addr = (s->addr + 1) % lp->sh->naddrs;
	if (++s->addr_tries < lp->sh->naddrs) {
		(void)connect_next_addr(lp, s);
		return;
	}
	snprintf(text, sizeof(text), "connecting to %s: %s", a->text,
		 strerror(err));
	slot_fail(lp, s, BENCH_ERR_CONNECT, text);
}

/* Starts a non-blocking TCP connect to the slot's current address. */
static int connect_next_addr(struct loop *lp, struct slot *s)
{
	const struct bench_addr *a = &lp->sh->addrs[s->addr];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP |
					    EPOLLET,
				  .data.ptr = s };
	int one = 1;

	s->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       IPPROTO_TCP);
	if (s->fd < 0) {
		char text[BENCH_CAUSE_LEN];

		snprintf(text, sizeof(text), "creating a socket: %s",
			 strerror(errno));
		slot_fail(lp, s, BENCH_ERR_CONNECT, text);
		return -1;
	}
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->state = SLOT_CONNECTING;
	s->deadline = bench_now_ns() + lp->sh->timeout_ns;
	if (connect(s->fd, (const struct sockaddr *)&a->sa, a->len) < 0 &&
	    errno != EINPROGRESS) {
		connect_failed(lp, s, errno);
		return -1;
	}
	if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		connect_failed(lp, s, errno);
		return -1;
	}
	return 0;
}

/* Connected: 1 to go on with the handshake, 0 to wait, -1 failed. */
static int finish_connect(struct loop *lp, struct slot *s)
{
	struct bench_shared *sh = lp->sh;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return 0;
	if (err) {
		connect_failed(lp, s, err);
		return -1;
	}
	/* Not yet established means no error and no writability yet. */
	if (connect(s->fd, (const struct sockaddr *)&sh->addrs[s->addr].sa,
		    sh->addrs[s->addr].len) < 0 && errno != EISCONN) {
		if (errno == EALREADY || errno == EINPROGRESS)
			return 0;
		connect_failed(lp, s, errno);
		return -1;
	}
	lp->first_addr = s->addr;
	lp->w->st.tcp_connects++;
	s->conn = tlskit_client_new(sh->cfg);
	if (!s->conn) {
		slot_fail(lp, s, BENCH_ERR_IO, "creating a TLS connection: out of memory");
		return -1;
	}
	if (tlskit_connect_fd(s->conn, s->fd, sh->servername) < 0) {
		fail_conn(lp, s, "");
		return -1;
	}
	if (sh->mode == BENCH_RESUME && s->session) {
		if (tlskit_conn_session_set(s->conn, s->session) < 0) {
			fail_conn(lp, s, "");
			return -1;
		}
		lp->w->st.offered++;
	}
	s->state = SLOT_HANDSHAKE;
	s->deadline = bench_now_ns() + sh->timeout_ns;
	return 1;
}

/* The next request on a connection, starting at now (ns; 0: read the
 * clock): its bytes are due back in full. */
static int begin_request(struct loop *lp, struct slot *s, int64_t now)
{
	if (s->claimed)
		s->claimed = 0;
	else if (!claim_op(lp->sh))
		return 0;
	s->op_start = now ? now : bench_now_ns();
	s->target = s->sent + lp->sh->size;
	s->deadline = s->op_start + lp->sh->timeout_ns;
	return 1;
}

static int setup_chunks(struct loop *lp, struct slot *s)
{
	struct bench_shared *sh = lp->sh;

	if (!s->chunk_start) {
		s->chunk_slots = sh->window / sh->size + 2;
		s->chunk_start = calloc(s->chunk_slots, sizeof(int64_t));
		if (!s->chunk_start) {
			slot_fail(lp, s, BENCH_ERR_IO, "allocating chunk timers: out of memory");
			return -1;
		}
	}
	s->target = UINT64_MAX; /* until the budget or time runs out */
	s->deadline = bench_now_ns() + sh->timeout_ns;
	return 0;
}

/* Handshake done: 1 to echo, -1 when the slot moved on. */
static int after_handshake(struct loop *lp, struct slot *s)
{
	struct bench_shared *sh = lp->sh;

	lp->w->st.handshakes++;
	if (tlskit_conn_resumed(s->conn))
		lp->w->st.resumed++;
	s->state = SLOT_ECHO;
	switch (sh->mode) {
	case BENCH_THROUGHPUT:
		return setup_chunks(lp, s) < 0 ? -1 : 1;
	case BENCH_RR:
		if (!begin_request(lp, s, 0)) {
			slot_finish(lp, s, 1);
			return -1;
		}
		return 1;
	default:
		s->target = sh->size;
		s->deadline = bench_now_ns() + sh->timeout_ns;
		return 1;
	}
}

/* An echo completed (not throughput): 1 to keep pumping, 0 moved on. */
static int echo_complete(struct loop *lp, struct slot *s)
{
	struct bench_shared *sh = lp->sh;

	switch (sh->mode) {
	case BENCH_RR:
		if (begin_request(lp, s, op_done(lp, s, s->op_start)))
			return 1;
		slot_finish(lp, s, 1);
		return 0;
	case BENCH_IDLE:
		if (s->checking) {
			lp->w->st.idle_up++;
			slot_finish(lp, s, 1);
			return 0;
		}
		op_done(lp, s, s->op_start);
		lp->w->st.idle_held++;
		atomic_fetch_add(&sh->idle_settled, 1);
		lp->opening--;
		s->state = SLOT_HOLD;
		return 0;
	case BENCH_RESUME:
		tlskit_session_free(s->session);
		s->session = tlskit_conn_session_get(s->conn);
		/* fall through */
	default:
		op_done(lp, s, s->op_start);
		slot_teardown(s, 1);
		enqueue(lp, s);
		return 0;
	}
}

/* Throughput: the write that starts a chunk claims it as an operation. */
static size_t next_write_len(struct loop *lp, struct slot *s)
{
	struct bench_shared *sh = lp->sh;
	uint64_t in_flight = s->sent - s->recvd;
	size_t n = WRITE_MAX;

	if (s->wpending)
		return s->wpending;
	if (s->sent >= s->target || in_flight >= sh->window)
		return 0;
	if (sh->mode == BENCH_THROUGHPUT) {
		uint64_t off = s->sent % sh->size;

		if (off == 0) {
			if (s->claimed) {
				s->claimed = 0;
			} else if (!claim_op(sh)) {
				s->target = s->sent; /* drain, then done */
				return 0;
			}
			s->chunk_start[(s->sent / sh->size) % s->chunk_slots] =
				bench_now_ns();
		}
		if (n > sh->size - off)
			n = sh->size - off;
	}
	if (n > s->target - s->sent)
		n = s->target - s->sent;
	if (n > sh->window - in_flight)
		n = sh->window - in_flight;
	return n;
}

/* Writes what the window allows: 1 progress, 0 blocked or nothing, -1. */
static int pump_write(struct loop *lp, struct slot *s)
{
	size_t n = next_write_len(lp, s);
	const unsigned char *p;
	ssize_t r;

	if (n == 0)
		return 0;
	p = lp->sh->pattern + s->sent % BENCH_PATTERN_PERIOD;
	r = tlskit_write(s->conn, p, n);
	if (r == TLSKIT_WANT_READ || r == TLSKIT_WANT_WRITE) {
		s->wpending = n;
		return 0;
	}
	if (r < 0) {
		fail_conn(lp, s, "");
		return -1;
	}
	s->wpending = 0;
	s->sent += n;
	return 1;
}

static void throughput_progress(struct loop *lp, struct slot *s)
{
	struct bench_shared *sh = lp->sh;

	while (s->recvd >= (s->chunks_done + 1) * sh->size) {
		op_done(lp, s, s->chunk_start[s->chunks_done % s->chunk_slots]);
		s->chunks_done++;
	}
	s->deadline = bench_now_ns() + sh->timeout_ns;
}

/* Reads and checks echoed bytes: 1 progress, 0 blocked, -1 failed. */
static int pump_read(struct loop *lp, struct slot *s)
{
	struct bench_shared *sh = lp->sh;
	char text[BENCH_CAUSE_LEN];
	ssize_t r = tlskit_read(s->conn, lp->rbuf, sizeof(lp->rbuf));

	if (r == TLSKIT_WANT_READ || r == TLSKIT_WANT_WRITE)
		return 0;
	if (r < 0) {
		fail_conn(lp, s, "");
		return -1;
	}
	if (r == 0) {
		snprintf(text, sizeof(text),
			 "server closed the connection (close_notify) before echoing everything");
		slot_fail(lp, s, BENCH_ERR_IO, text);
		return -1;
	}
	if ((uint64_t)r > s->sent - s->recvd) {
		slot_fail(lp, s, BENCH_ERR_MISMATCH,
			  "echo mismatch: the server sent more bytes than it was sent");
		return -1;
	}
	if (memcmp(lp->rbuf, sh->pattern + s->recvd % BENCH_PATTERN_PERIOD,
		   (size_t)r) != 0) {
		slot_fail(lp, s, BENCH_ERR_MISMATCH,
			  "echo mismatch: the bytes echoed differ from those sent");
		return -1;
	}
	s->recvd += (uint64_t)r;
	lp->w->st.bytes += (uint64_t)r;
	if (sh->mode == BENCH_THROUGHPUT)
		throughput_progress(lp, s);
	return 1;
}

/* A request (not a throughput stream) is out whole, its echo not yet in. */
static int awaiting_echo(const struct loop *lp, const struct slot *s)
{
	return lp->sh->mode != BENCH_THROUGHPUT && s->sent == s->target &&
	       s->recvd < s->target;
}

/* After a read found the socket empty and a write went out: writes what
 * may still go, without reading again (a syscall bound to fail), since any
 * byte that arrives from now on is a new edge. 1 if the slot failed, else
 * 0: wait. */
static int write_rest(struct loop *lp, struct slot *s)
{
	int w;

	while ((w = pump_write(lp, s)) > 0)
		;
	return w < 0;
}

/*
 * 1 when the slot changed state (drive on), 0 to wait for events.
 * Syscalls per request are what a client pays most for, so no read is
 * tried that must find nothing: none right after a request went out whole
 * (its echo can only arrive later, as a new edge), and none after one
 * that would block.
 */
static int pump(struct loop *lp, struct slot *s)
{
	for (;;) {
		int w, r;

		if ((w = pump_write(lp, s)) < 0)
			return 1;
		if (w > 0 && awaiting_echo(lp, s))
			return 0;
		if ((r = pump_read(lp, s)) < 0)
			return 1;
		if (s->recvd == s->target ||
		    (lp->sh->mode == BENCH_THROUGHPUT && s->recvd == s->sent &&
		     s->sent == s->target)) {
			if (lp->sh->mode == BENCH_THROUGHPUT) {
				slot_finish(lp, s, 1);
				return 1;
			}
			if (!echo_complete(lp, s))
				return 1;
			continue;
		}
		/* Nothing read: a write that found nothing to do, or
		 * blocked, has nothing new to go on either. */
		if (r == 0)
			return w > 0 ? write_rest(lp, s) : 0;
	}
}

/* Idle mode, holding: only a closed or failed connection wakes us. */
static void check_held(struct loop *lp, struct slot *s)
{
	ssize_t r = tlskit_read(s->conn, lp->rbuf, sizeof(lp->rbuf));

	if (r == TLSKIT_WANT_READ || r == TLSKIT_WANT_WRITE)
		return;
	s->checking = 1; /* settled already: do not count it twice */
	if (r == 0)
		slot_fail(lp, s, BENCH_ERR_IO,
			  "server closed the connection (close_notify) while it was held");
	else if (r < 0)
		fail_conn(lp, s, "while held: ");
	else
		slot_fail(lp, s, BENCH_ERR_MISMATCH,
			  "echo mismatch: the server sent bytes while the connection was held");
}

static void drive(struct loop *lp, struct slot *s)
{
	int r;

	for (;;) {
		switch (s->state) {
		case SLOT_CONNECTING:
			if (finish_connect(lp, s) <= 0)
				return;
			break;
		case SLOT_HANDSHAKE:
			r = tlskit_handshake(s->conn);
			if (r == TLSKIT_WANT_READ || r == TLSKIT_WANT_WRITE)
				return;
			if (r < 0) {
				fail_conn(lp, s, "");
				return;
			}
			if (after_handshake(lp, s) < 0)
				return;
			break;
		case SLOT_ECHO:
			if (!pump(lp, s))
				return;
			break;
		case SLOT_HOLD:
			check_held(lp, s);
			return;
		default:
			return;
		}
	}
}

static void check_timeouts(struct loop *lp, int64_t now)
{
	static const char *const steps[] = {
		[SLOT_CONNECTING] = "TCP connect",
		[SLOT_HANDSHAKE] = "TLS handshake",
		[SLOT_ECHO] = "echo",
	};
	char text[BENCH_CAUSE_LEN];

	for (int i = 0; i < lp->nslots; i++) {
		struct slot *s = &lp->slots[i];

		if (s->state != SLOT_CONNECTING && s->state != SLOT_HANDSHAKE &&
		    s->state != SLOT_ECHO)
			continue;
		if (now < s->deadline)
			continue;
		snprintf(text, sizeof(text), "timeout: %s with %s took over %g s",
			 steps[s->state], lp->sh->addrs[s->addr].text,
			 (double)lp->sh->timeout_ns / 1e9);
		slot_fail(lp, s, BENCH_ERR_TIMEOUT, text);
	}
}

/* Idle mode, after the hold: one more round trip on every held slot. */
static void start_checks(struct loop *lp)
{
	for (int i = 0; i < lp->nslots; i++) {
		struct slot *s = &lp->slots[i];

		if (s->state != SLOT_HOLD)
			continue;
		s->checking = 1;
		s->state = SLOT_ECHO;
		s->target = s->sent + lp->sh->size;
		s->deadline = bench_now_ns() + lp->sh->timeout_ns;
		drive(lp, s);
	}
}

/* 1 if queued slots may start now. */
static int queue_runnable(const struct loop *lp)
{
	return lp->qlen > 0 && (lp->sh->mode != BENCH_IDLE ||
				lp->opening < IDLE_OPENING_MAX);
}

static void run_queue(struct loop *lp)
{
	int n = lp->qlen;

	/* Slots queued while this runs wait for the next round. */
	while (n-- > 0 && queue_runnable(lp)) {
		struct slot *s = lp->queue[lp->qhead];

		lp->qhead = (lp->qhead + 1) % lp->nslots;
		lp->qlen--;
		slot_start(lp, s);
		if (s->state == SLOT_CONNECTING)
			drive(lp, s);
	}
}

static int loop_init(struct loop *lp, struct bench_worker *w)
{
	lp->w = w;
	lp->sh = w->sh;
	lp->nslots = w->nslots;
	lp->epfd = epoll_create1(EPOLL_CLOEXEC);
	lp->slots = calloc((size_t)w->nslots, sizeof(*lp->slots));
	lp->queue = calloc((size_t)w->nslots, sizeof(*lp->queue));
	if (lp->epfd < 0 || !lp->slots || !lp->queue) {
		snprintf(w->setup_error, sizeof(w->setup_error),
			 "starting an event loop: %s",
			 lp->epfd < 0 ? strerror(errno) : "out of memory");
		return -1;
	}
	for (int i = 0; i < w->nslots; i++) {
		lp->slots[i].fd = -1;
		enqueue(lp, &lp->slots[i]);
	}
	lp->active = w->nslots;
	return 0;
}

static void loop_free(struct loop *lp)
{
	publish_done(lp);
	for (int i = 0; lp->slots && i < lp->nslots; i++) {
		slot_teardown(&lp->slots[i], 1);
		tlskit_session_free(lp->slots[i].session);
		free(lp->slots[i].chunk_start);
	}
	free(lp->slots);
	free(lp->queue);
	if (lp->epfd >= 0)
		close(lp->epfd);
}

static void loop_run(struct loop *lp)
{
	struct epoll_event ev[EVENTS_MAX];
	int64_t next_tick = 0;

	while (lp->active > 0 &&
	       !atomic_load_explicit(&lp->sh->stop, memory_order_relaxed)) {
		int64_t now;
		int n;

		run_queue(lp);
		n = epoll_wait(lp->epfd, ev, EVENTS_MAX,
			       queue_runnable(lp) ? 0 : TICK_MS);
		for (int i = 0; i < n; i++)
			drive(lp, ev[i].data.ptr);
		publish_done(lp);
		now = bench_now_ns();
		if (now < next_tick)
			continue;
		next_tick = now + (int64_t)TICK_MS * 1000000;
		check_timeouts(lp, now);
		if (lp->idle_phase < 2 &&
		    atomic_load(&lp->sh->idle_phase) == 2) {
			lp->idle_phase = 2;
			start_checks(lp);
		}
	}
}

void *bench_worker_run(void *arg)
{
	struct bench_worker *w = arg;
	struct loop *lp = calloc(1, sizeof(*lp));

	if (!lp) {
		snprintf(w->setup_error, sizeof(w->setup_error),
			 "starting an event loop: out of memory");
	} else {
		lp->epfd = -1;
		if (loop_init(lp, w) == 0)
			loop_run(lp);
		loop_free(lp);
		free(lp);
	}
	w->end_ns = bench_now_ns();
	atomic_fetch_add(&w->sh->workers_done, 1);
	return NULL;
}
