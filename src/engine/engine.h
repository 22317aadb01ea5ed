/*
 * engine.h - the event loop under `tlskit echo` (and, later, proxy).
 *
 * One struct engine is one epoll loop, run by one thread. It owns its
 * listeners and the connections they accept, and drives every connection
 * through the same life:
 *
 *   accepted -> handshake -> handler -> close_notify -> closed (one log line)
 *
 * The handler (echo now; forward later) is chosen per listener and only sees
 * an established TLS connection. Every socket is registered with epoll once,
 * edge-triggered, for both directions; the library's TLSKIT_WANT_READ/WRITE
 * become "wait for readable/writable" in one place (conn.c: conn_run), so
 * neither the handshake nor a handler ever calls epoll_ctl.
 *
 * Growth points (kept in mind, not built yet):
 *   - workers: one engine per thread, each with its own SO_REUSEPORT
 *     listeners sharing one (reference-counted) tlskit_config;
 *   - timeouts and limits: a deadline per connection, checked by the loop;
 *   - reload: a listener's config is swapped, live connections keep theirs;
 *   - drain: listeners close first, connections finish, then the loop ends;
 *   - forward: a handler that registers its backend socket with
 *     engine_watch() and wakes its connection with engine_conn_wake().
 */
#ifndef TLSKIT_ENGINE_H
#define TLSKIT_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tlskit.h"

#define ENGINE_MUST_CHECK __attribute__((warn_unused_result))

struct engine;
struct engine_listener;
struct engine_conn;

/* ---- watched descriptors ---------------------------------------------- */

/*
 * Anything the loop watches: a listener, a connection, the signal fd, later
 * a backend socket. epoll's data.ptr points here; on_events gets the
 * EPOLL* bits of one wake-up.
 */
struct engine_io {
	int fd;
	void (*on_events)(struct engine_io *io, uint32_t events);
};

/* Registers io->fd once for events (EPOLLET etc. included by the caller). */
int engine_watch(struct engine *eng, struct engine_io *io, uint32_t events)
	ENGINE_MUST_CHECK;

/* ---- the loop ----------------------------------------------------------- */

enum engine_log_format {
	ENGINE_LOG_TEXT = 0,
	/* ENGINE_LOG_JSON: a sibling of log_text() in log.c */
};

struct engine_stats {
	uint64_t accepted;
	uint64_t handshakes;        /* completed */
	uint64_t handshake_failures;
	uint64_t errors;            /* failed after the handshake */
	uint64_t bytes_in;          /* application data, all connections */
	uint64_t bytes_out;
	uint32_t active;            /* connections open now */
};

/* A new loop. NULL with err set on failure. */
struct engine *engine_new(enum engine_log_format format,
			  struct tlskit_error *err);
/* Closes every listener and connection (each logged) and frees it all. */
void engine_free(struct engine *eng);

/*
 * Makes SIGINT and SIGTERM stop the loop (blocked, read from a signalfd);
 * SIGPIPE is ignored. Call before starting threads.
 */
int engine_handle_signals(struct engine *eng, struct tlskit_error *err)
	ENGINE_MUST_CHECK;

/* Runs until engine_stop() or a handled signal: 0, or -1 with err set. */
int engine_run(struct engine *eng, struct tlskit_error *err)
	ENGINE_MUST_CHECK;
/* Makes engine_run() return after the current wake-up. */
void engine_stop(struct engine *eng);
/* The signal that stopped the loop, or 0. */
int engine_stop_signal(const struct engine *eng);

const struct engine_stats *engine_stats(const struct engine *eng);

/* Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft. */
long engine_raise_fd_limit(void);

/* ---- connections and handlers ------------------------------------------- */

/*
 * What a step of a connection asks for next. The WANT codes equal the
 * library's, so a handler may return tlskit_read()/tlskit_write()'s result.
 */
enum engine_next {
	ENGINE_WANT_READ = TLSKIT_WANT_READ,   /* run again once readable */
	ENGINE_WANT_WRITE = TLSKIT_WANT_WRITE, /* run again once writable */
	ENGINE_AGAIN = 1,  /* work left, budget spent: run again soon */
	ENGINE_CLOSE,      /* finished: send close_notify, then close */
	ENGINE_ABORT,      /* failed: close now (reason: library's or c->reason) */
};

struct engine_handler {
	const char *name; /* "echo": the log prefix */
	/*
	 * Called once the handshake is done, and again whenever the wait it
	 * asked for is over. Must bound its work per call (return
	 * ENGINE_AGAIN) and return a WANT code only when the library returned
	 * one, since only then is the socket drained and an edge sure to come.
	 */
	enum engine_next (*run)(struct engine_conn *c);
	/* Frees c->handler_data; called once, whatever the connection's fate. */
	void (*release)(struct engine_conn *c);
};

union engine_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/*
 * One connection: a small fixed struct (handlers keep their state in
 * handler_data only while they need it). Fields a handler may use are
 * marked; the rest belong to conn.c.
 */
struct engine_conn {
	struct engine_io io;
	struct engine *eng;                 /* handler may use */
	/* Copied from the listener, which may go (reload) before c does. */
	const struct engine_handler *handler;
	void *handler_arg;                  /* engine_listen_opts.handler_arg */
	tlskit_conn *tls;                   /* handler may use */
	void *handler_data;                 /* handler's own */
	const char *reason;                 /* handler may set before ABORT */
	struct engine_conn *prev, *next;    /* the engine's connections */
	struct engine_conn *ready_next;     /* run queue */
	uint64_t start_ns;
	uint64_t bytes_in, bytes_out;       /* handler counts app data here */
	union engine_sockaddr peer;
	uint8_t state;
	uint8_t ready;  /* edges seen and not yet used up: CAN_READ/CAN_WRITE */
	uint8_t wait;   /* what the last step waits for */
	uint8_t queued;
};

/* Runs c again soon (from outside its own step, e.g. a backend's event). */
void engine_conn_wake(struct engine_conn *c);

/* ---- buffers ------------------------------------------------------------ */

#define ENGINE_BUF_SIZE 16384

/* A record-sized buffer, taken only while data is in flight. */
struct engine_buf {
	struct engine_buf *next_free;
	size_t len;
	unsigned char data[ENGINE_BUF_SIZE];
};

/* From the engine's free list (or malloc); NULL when out of memory. */
struct engine_buf *engine_buf_get(struct engine *eng);
/* Back to the free list (bounded; the surplus is freed). NULL is a no-op. */
void engine_buf_put(struct engine *eng, struct engine_buf *buf);

/* ---- listeners ------------------------------------------------------------ */

#define ENGINE_BACKLOG_DEFAULT 1024

struct engine_listen_opts {
	const char *address;   /* "HOST:PORT", "[::1]:PORT", "*:PORT" */
	int backlog;           /* 0: ENGINE_BACKLOG_DEFAULT */
	const struct engine_handler *handler;
	void *handler_arg;     /* for the handler (e.g. a backend); outlives
				* the engine's connections */
	tlskit_config *cfg;    /* gains a reference per listener */
};

/*
 * Binds and listens on every address HOST resolves to (port 0: the kernel
 * picks one, shared by all of them). Errors: USAGE for a malformed address,
 * CONNECT for resolve/bind failures ("listening on 127.0.0.1:8443: Address
 * already in use"), SYSTEM otherwise.
 */
int engine_listen(struct engine *eng, const struct engine_listen_opts *opts,
		  struct tlskit_error *err) ENGINE_MUST_CHECK;

/* Only checks that address is well formed (USAGE error if not), so a
 * command can refuse it before doing any work. */
int engine_check_address(const char *address, struct tlskit_error *err)
	ENGINE_MUST_CHECK;

/* The i-th listener's bound address ("127.0.0.1:8443", "[::1]:8443") into
 * buf; -1 if there is no i-th listener. */
int engine_listener_name(const struct engine *eng, size_t i, char *buf,
			 size_t len);

/* "127.0.0.1:8443" / "[::1]:8443". */
void engine_format_addr(const union engine_sockaddr *addr, char *buf,
			size_t len);

/* ---- handlers ------------------------------------------------------------- */

extern const struct engine_handler engine_echo_handler;

#endif
