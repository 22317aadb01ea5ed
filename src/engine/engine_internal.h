/*
 * engine_internal.h - what loop.c, listener.c, conn.c, log.c and server.c
 * share.
 */
#ifndef TLSKIT_ENGINE_INTERNAL_H
#define TLSKIT_ENGINE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine.h"

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define NS_PER_MS 1000000ull
#define DEADLINE_NEVER UINT64_MAX

struct engine_listener {
	struct engine_io io;
	struct engine *eng;
	const struct engine_handler *handler;
	void *handler_arg;
	tlskit_config *cfg;
	union engine_sockaddr addr;   /* as bound (the real port) */
	uint32_t events;              /* as registered (EPOLLEXCLUSIVE or not) */
	bool dual_stack;              /* [::] taking IPv4 as well */
	struct engine_listener *next;
};

/*
 * Counters: written by the worker only, read by the main thread. Relaxed
 * atomic loads and stores compile to plain moves: no lock, no fence.
 */
struct engine_counters {
	_Atomic uint64_t open, accepted, handshakes, resumed;
	_Atomic uint64_t hs_failed[ENGINE_HS_FAIL_COUNT];
	_Atomic uint64_t errors, bytes_in, bytes_out;
	_Atomic uint64_t timeouts_handshake, timeouts_idle, accept_pauses;
};

#define STAT_ADD(eng, field, n) \
	atomic_store_explicit(&(eng)->counters.field, \
		atomic_load_explicit(&(eng)->counters.field, \
				     memory_order_relaxed) + (n), \
		memory_order_relaxed)

struct conn_list {
	struct engine_conn *head, *tail;
};

/* What the main thread asks a worker to do (bits of engine.commands). */
#define ENGINE_CMD_DRAIN 1u
#define ENGINE_CMD_STOP 2u
#define ENGINE_CMD_RELOAD 4u

/* What every worker of one server shares (read-only but for open_total). */
struct engine_shared {
	_Atomic long open_total;      /* connections open, all workers */
	long max_conns;
	uint64_t handshake_timeout_ns; /* DEADLINE_NEVER: none */
	uint64_t idle_timeout_ns;
	uint64_t drain_timeout_ns;
	char hs_timeout_reason[96];
	char idle_timeout_reason[96];
	enum engine_log_format log_format;
};

struct engine {
	int epfd;
	int ctl_fd;                   /* eventfd: the main thread's commands */
	struct engine_io ctl_io;
	_Atomic unsigned int commands;
	_Atomic(tlskit_config *) pending_cfg; /* SIGHUP: for new connections */
	unsigned int id;              /* worker number, for the logs */
	struct engine_shared *sh;
	uint64_t now_ns;              /* this wake-up's time */
	bool stopping;
	bool draining;
	uint64_t drain_deadline_ns;
	bool accept_paused;
	bool paused_by_limit;
	uint64_t accept_resume_ns;
	uint64_t limit_logged_ns;
	enum engine_log_format log_format;
	struct engine_listener *listeners;
	struct engine_listener *closed_listeners;
	struct conn_list handshaking; /* by handshake deadline */
	struct conn_list established; /* by idle deadline */
	struct engine_conn *ready_head;  /* run queue (budget spent, woken) */
	struct engine_conn **ready_tail;
	struct engine_conn *zombies;  /* closed this wake-up, freed after it */
	struct engine_buf *free_bufs;
	unsigned int free_buf_count;
	/* Most connections open at once since memory was last given back
	 * (loop.c: trim_after_crowd). */
	size_t conn_peak;
	/* A failed send's reason, for the log line written right after. */
	char send_reason[128];
	struct engine_counters counters;
};

/* ---- loop.c ---------------------------------------------------------------- */

struct engine *engine_new(struct engine_shared *sh, unsigned int id,
			  struct tlskit_error *err);
/* Closes every listener and connection (each logged) and frees it all. */
void engine_free(struct engine *eng);
/* Runs until stopped or drained: 0, or -1 with err set. */
int engine_run(struct engine *eng, struct tlskit_error *err)
	ENGINE_MUST_CHECK;
/* From another thread: sets command bits and wakes the loop. */
void engine_command(struct engine *eng, unsigned int cmd);
/* A consistent-enough copy of the counters (any thread). */
void engine_read_stats(struct engine *eng, struct engine_stats *out);

/* ---- conn.c ---------------------------------------------------------------- */

/* Takes over fd, just accepted by l from peer. */
void conn_accepted(struct engine_listener *l, int fd,
		   const union engine_sockaddr *peer);
/* Runs the queued connections once each. */
void conn_run_queue(struct engine *eng);
/* Frees the connections closed during this wake-up. */
void conn_free_zombies(struct engine *eng);
/* Closes every open connection, with one try at close_notify. */
void conn_close_all(struct engine *eng);
/* Ends the connections whose deadline passed; the next deadline or
 * DEADLINE_NEVER. */
uint64_t conn_expire(struct engine *eng);
static inline size_t conn_count(const struct engine *eng)
{
	return (size_t)atomic_load_explicit(&eng->counters.open,
					    memory_order_relaxed);
}

/* ---- listener.c ------------------------------------------------------------ */

/* Closes every listener; the structs live until listener_free_closed(),
 * after the wake-up whose events may still point at them. */
void listener_close_all(struct engine *eng);
void listener_free_closed(struct engine *eng);
/* Stops watching the listeners for a while (limit reached, EMFILE). */
void listener_pause(struct engine *eng, uint64_t resume_ns, bool by_limit);
/* Time to look again: watches the listeners again if there is room. */
void listener_try_resume(struct engine *eng);
/* Adds a listener on an already bound socket (fd taken over). */
int listener_adopt(struct engine *eng, const struct engine_listen_opts *o,
		   int fd, const union engine_sockaddr *addr, bool exclusive,
		   struct tlskit_error *err) ENGINE_MUST_CHECK;

/* Another socket bound to src's address (SO_REUSEPORT in o), for eng. */
int listener_clone(struct engine *eng, const struct engine_listener *src,
		   const struct engine_listen_opts *o, struct tlskit_error *err)
	ENGINE_MUST_CHECK;

/* ---- log.c -------------------------------------------------------------------- */

enum conn_outcome {
	CONN_OUTCOME_CLOSED,           /* close_notify both ways */
	CONN_OUTCOME_HANDSHAKE_FAILED,
	CONN_OUTCOME_ERROR,            /* failed after the handshake */
	CONN_OUTCOME_TIMEOUT,          /* idle timeout */
	CONN_OUTCOME_STOPPED,          /* the server stopped */
};

/* Everything one connection's log line says, whatever the format. */
struct conn_report {
	const char *handler;
	unsigned int worker;
	char peer[64];
	const char *version;   /* NULL before the handshake completed */
	const char *cipher;
	const char *client;    /* client certificate subject, or NULL */
	int resumed;
	uint64_t bytes_in, bytes_out;
	double seconds;
	enum conn_outcome outcome;
	const char *reason;    /* for HANDSHAKE_FAILED, ERROR, TIMEOUT */
};

void log_conn(enum engine_log_format format, const struct conn_report *r);
/* An engine-level event: "tlskit: echo: message" (or a JSON object). */
void log_event(enum engine_log_format format, const char *handler,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The counters as one line: text, or one JSON object. */
void log_stats(enum engine_log_format format, const char *what,
	       const struct engine_stats *st, unsigned int worker_count,
	       const struct engine_stats *per_worker);

uint64_t engine_now_ns(void);

#endif
