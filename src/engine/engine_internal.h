/*
 * engine_internal.h - what loop.c, listener.c, conn.c and log.c share.
 */
#ifndef TLSKIT_ENGINE_INTERNAL_H
#define TLSKIT_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct engine_listener {
	struct engine_io io;
	struct engine *eng;
	const struct engine_handler *handler;
	void *handler_arg;
	tlskit_config *cfg;
	union engine_sockaddr addr;   /* as bound (the real port) */
	struct engine_listener *next;
};

struct engine {
	int epfd;
	int sigfd;
	struct engine_io sig_io;
	int reserve_fd;               /* given up to shed a connection at EMFILE */
	bool stopping;
	int stop_signal;
	enum engine_log_format log_format;
	struct engine_listener *listeners;
	struct engine_conn *conns;    /* open connections */
	struct engine_conn *ready_head;  /* run queue (budget spent, woken) */
	struct engine_conn **ready_tail;
	struct engine_conn *zombies;  /* closed this wake-up, freed after it */
	struct engine_buf *free_bufs;
	unsigned int free_buf_count;
	struct engine_stats stats;
};

/* ---- conn.c ---------------------------------------------------------------- */

/* Takes over fd, just accepted by l from peer. */
void conn_accepted(struct engine_listener *l, int fd,
		   const union engine_sockaddr *peer);
/* Runs the queued connections once each. */
void conn_run_queue(struct engine *eng);
/* Frees the connections closed during this wake-up. */
void conn_free_zombies(struct engine *eng);
/* Closes every open connection (server stopping). */
void conn_close_all(struct engine *eng);

/* ---- listener.c ------------------------------------------------------------ */

void listener_free_all(struct engine *eng);

/* ---- log.c -------------------------------------------------------------------- */

enum conn_outcome {
	CONN_OUTCOME_CLOSED,           /* close_notify both ways */
	CONN_OUTCOME_HANDSHAKE_FAILED,
	CONN_OUTCOME_ERROR,            /* failed after the handshake */
	CONN_OUTCOME_STOPPED,          /* the server stopped */
};

/* Everything one connection's log line says, whatever the format. */
struct conn_report {
	const char *handler;
	char peer[64];
	const char *version;   /* NULL before the handshake completed */
	const char *cipher;
	const char *client;    /* client certificate subject, or NULL */
	uint64_t bytes_in, bytes_out;
	double seconds;
	enum conn_outcome outcome;
	const char *reason;    /* for HANDSHAKE_FAILED and ERROR */
};

void log_conn(enum engine_log_format format, const struct conn_report *r);
/* An engine-level event: "tlskit: echo: message". */
void log_event(const char *handler, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

uint64_t engine_now_ns(void);

#endif
