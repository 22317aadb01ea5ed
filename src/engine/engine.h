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
 * A server (server.c) is N engines, one per worker thread, each with its
 * own listening sockets (SO_REUSEPORT) or its own wake-ups of one shared
 * socket (EPOLLEXCLUSIVE), sharing one reference-counted tlskit_config. The
 * main thread only handles signals and the stats timer and talks to the
 * workers through a control eventfd each: nothing on the per-connection
 * path takes a lock (--max-conns costs one atomic add at accept and one
 * subtract at close).
 *
 * SO_REUSEPORT is the default spread: against EPOLLEXCLUSIVE on this 2-core
 * machine, full handshakes per second of server CPU tied (2483 and 2408 vs
 * 2527 and 2462), but the kernel's hash spread 64 long-lived connections
 * 32/32 and 31/33 where EPOLLEXCLUSIVE gave 45/19, and each worker accepts
 * from its own queue. --balance exclusive keeps the other for comparison.
 *
 * Timeouts cost no system call: each kind has a fixed duration, so a list
 * per kind (handshake, established) kept in deadline order by appending is
 * enough; the loop's epoll_wait timeout is the earliest head.
 *
 * Growth point: forward (the proxy), a handler that registers its backend
 * socket with engine_watch() and wakes its connection with
 * engine_conn_wake().
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

/* ---- the server: workers, limits, signals -------------------------------- */

enum engine_log_format {
	ENGINE_LOG_TEXT = 0,
	ENGINE_LOG_JSON,    /* one JSON object per line */
};

/* How accepted connections are spread over the workers. */
enum engine_balance {
	ENGINE_BALANCE_REUSEPORT = 0, /* a listening socket per worker */
	ENGINE_BALANCE_EXCLUSIVE,     /* one socket, EPOLLEXCLUSIVE wake-ups */
};

/* Why a handshake failed, for the counters. */
enum engine_hs_fail {
	ENGINE_HS_TIMEOUT,   /* --handshake-timeout */
	ENGINE_HS_CLOSED,    /* peer closed or reset the connection */
	ENGINE_HS_HTTP,      /* plain HTTP instead of TLS */
	ENGINE_HS_VERIFY,    /* client certificate */
	ENGINE_HS_PROTOCOL,  /* not TLS, version, cipher, alert, ... */
	ENGINE_HS_FAIL_COUNT,
};

/* Counters of one worker (or the sum of all). */
struct engine_stats {
	uint64_t open;             /* connections open now */
	uint64_t accepted;
	uint64_t handshakes;       /* completed */
	uint64_t resumed;          /* of which resumed sessions */
	uint64_t hs_failed[ENGINE_HS_FAIL_COUNT];
	uint64_t errors;           /* failed after the handshake */
	uint64_t bytes_in;         /* application data */
	uint64_t bytes_out;
	uint64_t timeouts_handshake;
	uint64_t timeouts_idle;
	uint64_t accept_pauses;    /* max-conns or EMFILE/ENFILE */
};

struct engine_server_opts {
	const char *const *listen; /* "HOST:PORT" each (see engine_listen) */
	size_t listen_count;
	int backlog;               /* 0: ENGINE_BACKLOG_DEFAULT */
	unsigned int workers;      /* 0: the CPUs in the affinity mask */
	enum engine_balance balance;
	long max_conns;            /* whole server; 0: from RLIMIT_NOFILE */
	unsigned int handshake_timeout_ms; /* absolute from accept; 0: none */
	unsigned int idle_timeout_ms;      /* after the handshake; 0: none */
	unsigned int drain_timeout_ms;     /* after SIGTERM/SIGINT */
	unsigned int stats_interval_ms;    /* 0: only on SIGUSR1 */
	enum engine_log_format log_format;
	const struct engine_handler *handler;
	void *handler_arg;
	tlskit_config *cfg;        /* gains a reference */
	/* SIGHUP: a new, checked configuration, or NULL with err set. */
	tlskit_config *(*reload)(void *arg, struct tlskit_error *err);
	void *reload_arg;
};

struct engine_server;

/*
 * Binds every listener (for every worker) and blocks the signals it
 * handles (SIGINT, SIGTERM, SIGHUP, SIGUSR1; SIGPIPE ignored). Call before
 * starting any other thread. NULL with err set on failure.
 */
struct engine_server *engine_server_new(const struct engine_server_opts *o,
					struct tlskit_error *err);
void engine_server_free(struct engine_server *srv);

/* The i-th bound address (of the first worker); -1 past the end. */
int engine_server_listener_name(const struct engine_server *srv, size_t i,
				char *buf, size_t len);
unsigned int engine_server_workers(const struct engine_server *srv);
long engine_server_max_conns(const struct engine_server *srv);

/* setgid/initgroups/setuid to user (after binding and loading keys). */
int engine_drop_privileges(const char *user, struct tlskit_error *err)
	ENGINE_MUST_CHECK;

/*
 * Starts the workers and handles signals until the server stopped:
 * SIGTERM/SIGINT drain (a second one stops at once), SIGHUP reloads,
 * SIGUSR1 prints the counters. 0, or -1 with err set.
 */
int engine_server_run(struct engine_server *srv, struct tlskit_error *err)
	ENGINE_MUST_CHECK;
/* The first signal that stopped the server, or 0. */
int engine_server_stop_signal(const struct engine_server *srv);

/* Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft. */
long engine_raise_fd_limit(void);
/* The CPUs in this process's affinity mask (at least 1). */
unsigned int engine_cpu_count(void);

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
	/* The engine's handshake or established list, ordered by deadline. */
	struct engine_conn *prev, *next;
	struct engine_conn *ready_next;     /* run queue */
	uint64_t start_ns;
	uint64_t deadline_ns;               /* handshake or idle timeout */
	uint64_t bytes_in, bytes_out;       /* handler counts app data here */
	union engine_sockaddr peer;
	/* TLS output collected during one run, sent with one send() at its
	 * end; held (bounded) only while the socket cannot take it. */
	struct engine_buf *out;
	uint8_t state;
	uint8_t ready;  /* edges seen and not yet used up: CAN_READ/CAN_WRITE */
	uint8_t wait;   /* what the last step waits for */
	uint8_t queued;
	uint8_t out_blocked; /* out waits for the socket: nothing else runs */
	uint8_t send_failed; /* sending failed (errno in the reason) */
	uint8_t peer_shut;   /* the peer shut its side (or the socket failed) */
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
	int reuseport;         /* SO_REUSEPORT (one socket per worker) */
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
