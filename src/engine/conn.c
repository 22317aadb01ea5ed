/*
 * conn.c - a connection's life: handshake, handler, close_notify, close.
 *
 * Edge-triggered readiness: `ready` remembers the edges seen (readable,
 * writable) until an operation returns TLSKIT_WANT_* for that direction,
 * which proves the socket drained (or its buffer full) so that a new edge
 * is sure to come. A connection runs when an edge it waits for arrives, or
 * from the run queue when it stopped with work left (budget, or data that
 * OpenSSL already holds). conn_run() is the one place where the library's
 * WANT codes become waits.
 *
 * The TLS connection runs over our own callbacks: reads go straight to the
 * socket (with read-ahead on, as much as it holds), writes are collected in
 * c->out during a run and leave with one send() at its end, so a handshake
 * flight, a session ticket and echoed records cost one system call per
 * wake-up. Output the socket cannot take waits in c->out (bounded); until it
 * has gone, the connection does nothing else, so reading stops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "engine_internal.h"

enum conn_state {
	CONN_HANDSHAKE = 1,
	CONN_RUNNING,
	CONN_CLOSING,
	CONN_DEAD,
};

#define CAN_READ 1u
#define CAN_WRITE 2u

/* What a step ends in besides engine_next's waits and ENGINE_AGAIN. */
enum step_end {
	STEP_CLOSED = 100,         /* close_notify sent */
	STEP_HANDSHAKE_FAILED,
	STEP_FAILED,
};

/* ---- transport ------------------------------------------------------ */

static bool would_block(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK;
}

/*
 * The library's read callback: the socket itself. CAN_READ clear means the
 * socket was found drained since its last edge, so a read would only say
 * EAGAIN: it is not made. A short read proves that as well as EAGAIN does
 * (what arrives after it raises a new edge), which saves the EAGAIN read
 * per wake-up, except once the peer shut its side: a FIN taken with the
 * data raises no new edge, and the read that returns 0 must still happen.
 */
static ssize_t conn_recv(void *arg, void *buf, size_t len)
{
	struct engine_conn *c = arg;
	ssize_t n;

	if (!(c->ready & CAN_READ))
		return TLSKIT_WANT_READ;
	do
		n = read(c->io.fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && would_block(errno)) {
		c->ready &= (uint8_t)~CAN_READ;
		return TLSKIT_WANT_READ;
	}
	if (n > 0 && (size_t)n < len && !c->peer_shut)
		c->ready &= (uint8_t)~CAN_READ;
	return n;
}

/* The collected output, then len bytes of data, in one system call: how
 * much of both went, or -1 with errno set. */
static ssize_t send_out(struct engine_conn *c, const void *data, size_t len)
{
	struct iovec iov[2];
	struct msghdr msg = { .msg_iov = iov };
	ssize_t n;

	if (c->out && c->out->len)
		iov[msg.msg_iovlen++] = (struct iovec){ c->out->data,
							 c->out->len };
	if (len)
		iov[msg.msg_iovlen++] = (struct iovec){ (void *)data, len };
	do
		n = msg.msg_iovlen == 1 ?
			send(c->io.fd, iov[0].iov_base, iov[0].iov_len,
			     MSG_NOSIGNAL) :
			sendmsg(c->io.fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && would_block(errno))
		c->ready &= (uint8_t)~CAN_WRITE;
	return n;
}

/* Drops n sent bytes from the front of the collected output (its buffer
 * goes back once empty); returns how many of n were beyond it. */
static size_t out_consume(struct engine_conn *c, size_t n)
{
	struct engine_buf *b = c->out;
	size_t held = b ? b->len : 0;

	if (n >= held) {
		engine_buf_put(c->eng, b);
		c->out = NULL;
		return n - held;
	}
	/* Short of what was held: the socket is full, the rest waits. */
	memmove(b->data, b->data + n, held - n);
	b->len = held - n;
	c->ready &= (uint8_t)~CAN_WRITE;
	return 0;
}

static bool out_append(struct engine_conn *c, const void *data, size_t len)
{
	if (!c->out) {
		c->out = engine_buf_get(c->eng);
		if (!c->out) {
			errno = ENOMEM;
			return false;
		}
		c->out->len = 0;
	}
	memcpy(c->out->data + c->out->len, data, len);
	c->out->len += len;
	return true;
}

/*
 * The library's write callback: collects. What does not fit (a full-sized
 * record) leaves at once with what was collected before it; what the
 * socket then cannot take is kept as far as the buffer goes, so the
 * library sees TLSKIT_WANT_WRITE only when the buffer is full and the
 * socket too.
 */
static ssize_t conn_send(void *arg, const void *data, size_t len)
{
	struct engine_conn *c = arg;
	size_t held = c->out ? c->out->len : 0;
	size_t sent, keep;
	ssize_t n;

	if (len <= ENGINE_BUF_SIZE - held)
		return out_append(c, data, len) ? (ssize_t)len : -1;
	n = send_out(c, data, len);
	if (n < 0)
		return would_block(errno) ? TLSKIT_WANT_WRITE : -1;
	sent = out_consume(c, (size_t)n);
	if (sent == len)
		return (ssize_t)len;
	c->ready &= (uint8_t)~CAN_WRITE; /* a short send: the socket is full */
	if (c->out)
		return TLSKIT_WANT_WRITE;
	keep = len - sent < ENGINE_BUF_SIZE ? len - sent : ENGINE_BUF_SIZE;
	if (!out_append(c, (const char *)data + sent, keep))
		return sent ? (ssize_t)sent : -1;
	return (ssize_t)(sent + keep);
}

/* Sends what a run collected: 0 once all of it went, ENGINE_WANT_WRITE
 * while some waits for the socket, -1 (errno set) if sending failed. */
static int flush_out(struct engine_conn *c)
{
	ssize_t n;

	if (!c->out)
		return 0;
	/* Known full since the last send: only an edge can change that. */
	if (!(c->ready & CAN_WRITE))
		return ENGINE_WANT_WRITE;
	n = send_out(c, NULL, 0);
	if (n < 0)
		return would_block(errno) ? ENGINE_WANT_WRITE : -1;
	out_consume(c, (size_t)n);
	return c->out ? ENGINE_WANT_WRITE : 0;
}

static void conn_end(struct engine_conn *c, enum conn_outcome outcome);

/* A failed send ends the connection; its log line says why. */
static void end_on_send_failure(struct engine_conn *c, int error)
{
	struct engine *eng = c->eng;

	snprintf(eng->send_reason, sizeof(eng->send_reason), "%s: %s",
		 c->state == CONN_HANDSHAKE ? "TLS handshake failed" :
					      "writing to peer",
		 strerror(error));
	c->reason = eng->send_reason;
	c->send_failed = 1;
	conn_end(c, c->state == CONN_HANDSHAKE ? CONN_OUTCOME_HANDSHAKE_FAILED :
						 CONN_OUTCOME_ERROR);
}

/* ---- life --------------------------------------------------------------- */

static void queue_conn(struct engine_conn *c)
{
	struct engine *eng = c->eng;

	c->queued = 1;
	c->ready_next = NULL;
	*eng->ready_tail = c;
	eng->ready_tail = &c->ready_next;
}

void engine_conn_wake(struct engine_conn *c)
{
	if (c->state == CONN_DEAD || c->queued)
		return;
	c->wait = 0;
	queue_conn(c);
}

static struct conn_list *conn_list_of(struct engine_conn *c)
{
	return c->state == CONN_HANDSHAKE ? &c->eng->handshaking :
					    &c->eng->established;
}

static void list_remove(struct conn_list *list, struct engine_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		list->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		list->tail = c->prev;
	c->prev = c->next = NULL;
}

/* Every deadline of a list has the same duration, so appending keeps it in
 * deadline order. */
static void list_append(struct conn_list *list, struct engine_conn *c)
{
	c->next = NULL;
	c->prev = list->tail;
	if (list->tail)
		list->tail->next = c;
	else
		list->head = c;
	list->tail = c;
}

static uint64_t deadline_after(const struct engine *eng, uint64_t timeout_ns)
{
	return timeout_ns == DEADLINE_NEVER ? DEADLINE_NEVER :
					      eng->now_ns + timeout_ns;
}

/* Activity on an established connection: its idle deadline moves on. The
 * time is the wake-up's, so a connection moves at most once per wake-up. */
static void touch(struct engine_conn *c)
{
	struct engine *eng = c->eng;
	uint64_t deadline = deadline_after(eng, eng->sh->idle_timeout_ns);

	if (c->deadline_ns == deadline || c->state == CONN_DEAD)
		return;
	c->deadline_ns = deadline;
	if (eng->established.tail == c)
		return;
	list_remove(&eng->established, c);
	list_append(&eng->established, c);
}

static void fill_report(struct engine_conn *c, enum conn_outcome outcome,
			struct conn_report *r)
{
	memset(r, 0, sizeof(*r));
	r->handler = c->handler->name;
	r->worker = c->eng->id;
	engine_format_addr(&c->peer, r->peer, sizeof(r->peer));
	r->outcome = outcome;
	r->bytes_in = c->bytes_in;
	r->bytes_out = c->bytes_out;
	r->seconds = (double)(engine_now_ns() - c->start_ns) / 1e9;
	if (c->state != CONN_HANDSHAKE && c->tls) {
		const tlskit_cert *peer = tlskit_conn_peer_cert(c->tls);

		r->version = tlskit_conn_version(c->tls);
		r->cipher = tlskit_conn_cipher(c->tls);
		r->client = peer ? tlskit_cert_subject(peer) : NULL;
		r->resumed = tlskit_conn_resumed(c->tls);
	}
	if (outcome == CONN_OUTCOME_HANDSHAKE_FAILED ||
	    outcome == CONN_OUTCOME_ERROR || outcome == CONN_OUTCOME_TIMEOUT) {
		r->reason = c->reason;
		if (!r->reason && c->tls)
			r->reason = tlskit_conn_error(c->tls);
		if (!r->reason || !*r->reason)
			r->reason = "unknown error";
	}
}

/* The counter a failed handshake's reason belongs to. */
static enum engine_hs_fail hs_fail_kind(const struct engine_conn *c)
{
	const char *msg = c->reason ? c->reason :
		(c->tls ? tlskit_conn_error(c->tls) : "");

	if (c->reason == c->eng->sh->hs_timeout_reason)
		return ENGINE_HS_TIMEOUT;
	if (c->send_failed)
		return ENGINE_HS_CLOSED;
	if (strstr(msg, "HTTP"))
		return ENGINE_HS_HTTP;
	if (c->tls && tlskit_conn_error_category(c->tls) == TLSKIT_ERR_VERIFY)
		return ENGINE_HS_VERIFY;
	if (strstr(msg, "closed the connection") ||
	    (c->tls && tlskit_conn_error_category(c->tls) == TLSKIT_ERR_IO))
		return ENGINE_HS_CLOSED;
	return ENGINE_HS_PROTOCOL;
}

static void count_end(struct engine *eng, const struct engine_conn *c,
		      enum conn_outcome outcome)
{
	STAT_ADD(eng, open, -1);
	atomic_fetch_sub(&eng->sh->open_total, 1);
	if (outcome == CONN_OUTCOME_HANDSHAKE_FAILED) {
		enum engine_hs_fail kind = hs_fail_kind(c);

		STAT_ADD(eng, hs_failed[kind], 1);
		if (kind == ENGINE_HS_TIMEOUT)
			STAT_ADD(eng, timeouts_handshake, 1);
	} else if (outcome == CONN_OUTCOME_ERROR) {
		STAT_ADD(eng, errors, 1);
	} else if (outcome == CONN_OUTCOME_TIMEOUT) {
		STAT_ADD(eng, timeouts_idle, 1);
	}
	/* A slot is free: a listener paused at --max-conns looks again. */
	if (eng->paused_by_limit)
		eng->accept_resume_ns = eng->now_ns;
}

/* Logs, releases and closes c; the struct itself is freed after this
 * wake-up, since other events of the same batch may still point at it. */
static void conn_end(struct engine_conn *c, enum conn_outcome outcome)
{
	struct engine *eng = c->eng;
	struct conn_report report;

	fill_report(c, outcome, &report);
	log_conn(eng->log_format, &report);
	count_end(eng, c, outcome);
	if (c->state != CONN_HANDSHAKE && c->handler->release)
		c->handler->release(c);
	c->handler_data = NULL;
	tlskit_conn_free(c->tls);
	c->tls = NULL;
	/* One try at what is still collected (an alert, a close_notify). */
	if (c->out && (c->ready & CAN_WRITE) && !c->send_failed)
		(void)send_out(c, NULL, 0);
	engine_buf_put(eng, c->out);
	c->out = NULL;
	close(c->io.fd); /* also removes it from epoll */
	c->io.fd = -1;
	list_remove(conn_list_of(c), c);
	c->state = CONN_DEAD;
	c->next = eng->zombies;
	eng->zombies = c;
}

static int tls_result(int rc, enum step_end failure)
{
	if (rc == TLSKIT_WANT_READ || rc == TLSKIT_WANT_WRITE)
		return rc;
	return (int)failure;
}

static void handshake_done(struct engine_conn *c)
{
	struct engine *eng = c->eng;

	STAT_ADD(eng, handshakes, 1);
	if (tlskit_conn_resumed(c->tls))
		STAT_ADD(eng, resumed, 1);
	list_remove(&eng->handshaking, c);
	c->state = CONN_RUNNING;
	c->deadline_ns = deadline_after(eng, eng->sh->idle_timeout_ns);
	list_append(&eng->established, c);
}

/* Moves c forward as far as it goes without waiting. */
static int conn_step(struct engine_conn *c)
{
	int rc;

	switch (c->state) {
	case CONN_HANDSHAKE:
		rc = tlskit_handshake(c->tls);
		if (rc != 0)
			return tls_result(rc, STEP_HANDSHAKE_FAILED);
		handshake_done(c);
		/* Data may have come with the client's Finished. */
		__attribute__((fallthrough));
	case CONN_RUNNING:
		rc = c->handler->run(c);
		if (rc == ENGINE_ABORT)
			return STEP_FAILED;
		if (rc != ENGINE_CLOSE)
			return rc;
		c->state = CONN_CLOSING;
		__attribute__((fallthrough));
	case CONN_CLOSING:
		rc = tlskit_close(c->tls);
		/* A peer that already left cannot take our close_notify; the
		 * exchange was still complete from its side. */
		return rc == 0 ? STEP_CLOSED : tls_result(rc, STEP_CLOSED);
	}
	return STEP_FAILED;
}

/* Output that waited for the socket goes first: true when the step may
 * run (all of it went, and what the step waits for is there). */
static bool flush_held(struct engine_conn *c)
{
	int rc = flush_out(c);

	if (rc == ENGINE_WANT_WRITE)
		return false;
	if (rc == -1) {
		end_on_send_failure(c, errno);
		return false;
	}
	c->out_blocked = 0;
	return !c->wait || (c->ready & c->wait);
}

/* What a step's result asks for: the wait (0: run again soon), or the
 * connection ends (false). flushed: what sending its output came to. */
static bool next_wait(struct engine_conn *c, int next, int flushed)
{
	switch (next) {
	case ENGINE_WANT_READ:
		c->wait = CAN_READ;
		/* With read-ahead the library may hold records the socket no
		 * longer signals: run again rather than wait for an edge that
		 * may never come. A socket found drained (conn_recv cleared
		 * CAN_READ) does signal, so a partial record waits. */
		if ((c->ready & CAN_READ) && tlskit_has_pending(c->tls))
			c->wait = 0;
		else
			c->ready &= (uint8_t)~CAN_READ;
		return true;
	case ENGINE_WANT_WRITE:
		c->ready &= (uint8_t)~CAN_WRITE;
		c->wait = CAN_WRITE;
		return true;
	case ENGINE_AGAIN:
		c->wait = 0;
		return true;
	case STEP_CLOSED:
		/* Our close_notify (and the data before it) must go first; a
		 * peer that already left cannot take it, and the exchange was
		 * complete from its side. */
		if (flushed == ENGINE_WANT_WRITE) {
			c->wait = 0;
			return true;
		}
		conn_end(c, CONN_OUTCOME_CLOSED);
		return false;
	case STEP_HANDSHAKE_FAILED:
		conn_end(c, CONN_OUTCOME_HANDSHAKE_FAILED);
		return false;
	default:
		conn_end(c, CONN_OUTCOME_ERROR);
		return false;
	}
}

/* The one place where WANT codes become waits. */
static void conn_run(struct engine_conn *c)
{
	struct engine *eng = c->eng;
	uint64_t in = c->bytes_in, out = c->bytes_out;
	int next, flushed, error;

	if (c->out_blocked && !flush_held(c))
		return;
	next = conn_step(c);
	if (c->bytes_in != in || c->bytes_out != out) {
		STAT_ADD(eng, bytes_in, c->bytes_in - in);
		STAT_ADD(eng, bytes_out, c->bytes_out - out);
	}
	if (c->state != CONN_HANDSHAKE)
		touch(c);
	/* Everything this run produced, in one send(). */
	flushed = flush_out(c);
	error = errno;
	if (!next_wait(c, next, flushed))
		return;
	if (flushed == -1) {
		end_on_send_failure(c, error);
		return;
	}
	if (flushed == ENGINE_WANT_WRITE)
		c->out_blocked = 1; /* backpressure: nothing runs until it went */
	else if (!c->wait)
		queue_conn(c);
}

static void conn_on_events(struct engine_io *io, uint32_t events)
{
	struct engine_conn *c = container_of(io, struct engine_conn, io);

	if (c->state == CONN_DEAD)
		return;
	/* Errors and hang-ups wake both directions: the next operation
	 * reports what happened. */
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->ready |= CAN_READ;
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->peer_shut = 1;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		c->ready |= CAN_WRITE;
	if (c->queued)
		return;
	if (c->out_blocked ? (c->ready & CAN_WRITE) : (c->ready & c->wait))
		conn_run(c);
}

void conn_accepted(struct engine_listener *l, int fd,
		   const union engine_sockaddr *peer)
{
	struct engine *eng = l->eng;
	struct engine_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		char name[64];

		engine_format_addr(peer, name, sizeof(name));
		log_event(eng->log_format, l->handler->name,
			  "%s: dropped: out of memory", name);
		atomic_fetch_sub(&eng->sh->open_total, 1);
		close(fd);
		return;
	}
	c->io.fd = fd;
	c->io.on_events = conn_on_events;
	c->eng = eng;
	c->handler = l->handler;
	c->handler_arg = l->handler_arg;
	c->peer = *peer;
	c->start_ns = engine_now_ns();
	c->state = CONN_HANDSHAKE;
	c->deadline_ns = deadline_after(eng, eng->sh->handshake_timeout_ns);
	/* The ClientHello usually arrives with or just after the accept; the
	 * edge from registering says when, at no extra system call. A new
	 * socket can be written to. */
	c->wait = CAN_READ;
	c->ready = CAN_WRITE;
	list_append(&eng->handshaking, c);
	STAT_ADD(eng, accepted, 1);
	STAT_ADD(eng, open, 1);

	c->tls = tlskit_server_new(l->cfg);
	if (!c->tls) {
		c->reason = "out of memory";
		conn_end(c, CONN_OUTCOME_HANDSHAKE_FAILED);
		return;
	}
	/* Read-ahead: one read takes all the socket holds (conn_run then
	 * runs on while the library holds data). */
	if (tlskit_conn_set_read_ahead(c->tls, 1) < 0 ||
	    tlskit_accept_cbs(c->tls, conn_recv, conn_send, c) < 0) {
		conn_end(c, CONN_OUTCOME_HANDSHAKE_FAILED);
		return;
	}
	if (engine_watch(eng, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP |
					      EPOLLET) < 0) {
		c->reason = strerror(errno);
		conn_end(c, CONN_OUTCOME_HANDSHAKE_FAILED);
	}
}

void conn_run_queue(struct engine *eng)
{
	struct engine_conn *c = eng->ready_head;

	/* Connections queued while this batch runs wait for the next wake-up,
	 * after fresh events: no connection can hog the loop. */
	eng->ready_head = NULL;
	eng->ready_tail = &eng->ready_head;
	while (c) {
		struct engine_conn *next = c->ready_next;

		c->ready_next = NULL;
		c->queued = 0;
		if (c->state != CONN_DEAD)
			conn_run(c);
		c = next;
	}
}

void conn_free_zombies(struct engine *eng)
{
	struct engine_conn **link = &eng->zombies;

	while (*link) {
		struct engine_conn *c = *link;

		/* Still in the run queue: freed once the queue let go of it. */
		if (c->queued) {
			link = &c->next;
			continue;
		}
		*link = c->next;
		free(c);
	}
}

static void close_list(struct conn_list *list)
{
	while (list->head) {
		struct engine_conn *c = list->head;

		/* One try at close_notify, so clients see a clean end. */
		if (c->state == CONN_RUNNING)
			(void)tlskit_close(c->tls);
		conn_end(c, CONN_OUTCOME_STOPPED);
	}
}

void conn_close_all(struct engine *eng)
{
	for (struct engine_conn *c = eng->ready_head; c; c = c->ready_next)
		c->queued = 0;
	eng->ready_head = NULL;
	eng->ready_tail = &eng->ready_head;
	close_list(&eng->handshaking);
	close_list(&eng->established);
}

static uint64_t earliest_head(const struct engine *eng)
{
	uint64_t hs = eng->handshaking.head ? eng->handshaking.head->deadline_ns :
					       DEADLINE_NEVER;
	uint64_t idle = eng->established.head ?
		eng->established.head->deadline_ns : DEADLINE_NEVER;

	return hs < idle ? hs : idle;
}

uint64_t conn_expire(struct engine *eng)
{
	struct engine_conn *c;

	while ((c = eng->handshaking.head) && c->deadline_ns <= eng->now_ns) {
		c->reason = eng->sh->hs_timeout_reason;
		conn_end(c, CONN_OUTCOME_HANDSHAKE_FAILED);
	}
	while ((c = eng->established.head) && c->deadline_ns <= eng->now_ns) {
		c->reason = eng->sh->idle_timeout_reason;
		/* One try at close_notify: an idle peer is usually listening. */
		if (c->state == CONN_RUNNING)
			(void)tlskit_close(c->tls);
		conn_end(c, CONN_OUTCOME_TIMEOUT);
	}
	return earliest_head(eng);
}
