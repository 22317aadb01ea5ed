/*
 * bench.h - what cmd_bench.c (options, threads, report) and bench_loop.c
 * (one epoll loop per thread driving many TLS client connections) share.
 */
#ifndef TLSKIT_CLI_BENCH_H
#define TLSKIT_CLI_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cli.h"

enum bench_mode {
	BENCH_HANDSHAKE,  /* a new connection and a full handshake per op */
	BENCH_RESUME,     /* the same, offering the slot's last session */
	BENCH_THROUGHPUT, /* bulk echo on long connections; op = one chunk */
	BENCH_RR,         /* request/response on long connections */
	BENCH_IDLE,       /* open, one round trip, hold, check */
};

/* What went wrong, coarsely; the text says the rest. */
enum bench_err_kind {
	BENCH_ERR_CONNECT,
	BENCH_ERR_HANDSHAKE,
	BENCH_ERR_VERIFY,
	BENCH_ERR_TIMEOUT,
	BENCH_ERR_MISMATCH,
	BENCH_ERR_IO,
	BENCH_ERR_KINDS
};

#define BENCH_CAUSES_MAX 32
#define BENCH_CAUSE_LEN 240

struct bench_cause {
	enum bench_err_kind kind;
	uint64_t count;
	char text[BENCH_CAUSE_LEN];
};

/* Latency histogram: exact below 128 us, then 64 buckets per power of two
 * (under 1.6 % error), up to 2^32 us. */
#define BENCH_HIST_SUB 64
#define BENCH_HIST_BUCKETS (BENCH_HIST_SUB * 28)

struct bench_stats {
	uint64_t ops;        /* operations that completed */
	uint64_t bytes;      /* bytes echoed back and checked */
	uint64_t handshakes; /* handshakes completed */
	uint64_t offered;    /* resume: handshakes that offered a session */
	uint64_t resumed;    /* handshakes the server resumed */
	uint64_t tcp_connects;
	uint64_t errors;
	uint64_t errors_by_kind[BENCH_ERR_KINDS];
	uint64_t causes_dropped; /* errors whose text did not fit the table */
	size_t ncauses;
	struct bench_cause causes[BENCH_CAUSES_MAX];
	uint64_t idle_held;  /* idle: connections up after the round trip */
	uint64_t idle_up;    /* idle: still answering after the hold */
	uint64_t lat_count, lat_max;
	uint64_t hist[BENCH_HIST_BUCKETS];
};

struct bench_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	int family;
	char text[80]; /* "127.0.0.1:4433", "[::1]:4433" */
};

/* Set up by cmd_bench before the threads start; only the atomics change. */
struct bench_shared {
	enum bench_mode mode;
	tlskit_config *cfg;
	const char *servername; /* for tlskit_connect_fd; NULL: the config's */
	const struct bench_addr *addrs;
	size_t naddrs;
	size_t size;            /* bytes per request / chunk */
	size_t window;          /* throughput: unacknowledged bytes at most */
	int64_t timeout_ns;     /* each connect, handshake and echo */
	long long max_ops;      /* 0: until stopped */
	const unsigned char *pattern; /* PATTERN_PERIOD + BENCH_READ_MAX */

	atomic_llong claimed;   /* operations started (bounded by max_ops) */
	atomic_llong done;      /* operations completed, for progress */
	atomic_llong failed;    /* errors, for progress */
	atomic_int stop;        /* main thread: wind down now */
	atomic_int idle_phase;  /* 0 opening, 1 holding, 2 checking */
	atomic_int idle_settled; /* idle: slots up or failed in phase 0 */
	atomic_int workers_done;
};

#define BENCH_PATTERN_PERIOD 251 /* prime: a shifted echo never matches */
#define BENCH_READ_MAX (64 * 1024)

struct bench_worker {
	struct bench_shared *sh;
	int nslots;
	pthread_t thread;
	int started;
	int64_t end_ns;        /* when its loop ended */
	char setup_error[256]; /* non-empty if the loop could not start */
	struct bench_stats st;
};

/* The thread body: runs the loop until stopped or every slot is done. */
void *bench_worker_run(void *arg);

int64_t bench_now_ns(void);
void bench_hist_add(struct bench_stats *st, uint64_t us);
/* The p-th percentile (0 < p <= 100) in microseconds, never above max. */
uint64_t bench_hist_percentile(const struct bench_stats *st, double p);
void bench_stats_merge(struct bench_stats *into,
		       const struct bench_stats *from);
void bench_stats_error(struct bench_stats *st, enum bench_err_kind kind,
		       const char *text);
const char *bench_err_kind_name(enum bench_err_kind kind);

#endif
