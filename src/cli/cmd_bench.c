/*
 * cmd_bench.c - `tlskit bench MODE HOST:PORT`: a TLS load generator.
 *
 * The options, the threads (one event loop each, in bench_loop.c), the
 * live progress line and the final report in words or JSON. Every run is
 * bounded: by -d (default 10 s) or -n, each step by --timeout, and the
 * whole process by an alarm well beyond both.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "json.h"

#define CMD "bench"
#define THREADS_MAX 64
#define CONNS_MAX 1000000
#define ADDRS_MAX 16
#define SIZE_MAX_BYTES (64u * 1024 * 1024)
#define TICK_NS 100000000 /* the main thread looks around ten times a second */

static const char bench_usage[] =
	"usage: tlskit bench MODE HOST:PORT [options]\n"
	"\n"
	"A TLS load generator for echo servers (tlskit echo, or any TLS server\n"
	"that sends back what it receives). Every byte echoed is checked.\n"
	"\n"
	"Modes:\n"
	"  handshake    per operation: connect, full handshake, echo --size\n"
	"               bytes, close with close_notify\n"
	"  resume       the same, offering the connection slot's last session;\n"
	"               reports the share of handshakes resumed\n"
	"  throughput   bulk echo on -c long connections (MB/s); an operation\n"
	"               is one --size chunk echoed back\n"
	"  rr           request/response: --size bytes out and back per\n"
	"               operation on -c long connections\n"
	"  idle         open -c connections, one round trip each, hold them\n"
	"               --hold seconds, then count how many still answer\n"
	"\n"
	"  -c, --connections N   concurrent connections (default 8)\n"
	"  -d, --duration SECS   run this long (default 10, or unlimited with -n)\n"
	"  -n, --requests N      stop after N operations (exactly)\n"
	"  -j, --threads N       threads, each its own event loop (default 1)\n"
	"      --size BYTES      bytes per request or chunk (default 32; 16384\n"
	"                        for throughput); k and m suffixes allowed;\n"
	"                        0: no echo (handshake, idle: any TLS server;\n"
	"                        TLS 1.3 sessions then arrive too late to resume)\n"
	"      --window BYTES    throughput: unacknowledged bytes per connection\n"
	"                        at most (default 256k)\n"
	"      --timeout SECS    bounds each connect, handshake and echo\n"
	"                        (default 10); an expiry is an error\n"
	"      --hold SECS       idle: how long to hold (default 5)\n"
	"      --server-pid PID  also report the CPU time the server (same host)\n"
	"                        used and operations per second of it; idle:\n"
	"                        its memory per connection (Pss from\n"
	"                        /proc/PID/smaps_rollup)\n"
	"      --json            the report as one JSON document on stdout\n"
	"  TLS options as 'tlskit connect' has them:\n"
	"      --ca FILE, --cert FILE --key FILE, --servername NAME,\n"
	"      --min-version V, --max-version V, --ciphers LIST,\n"
	"      --ciphersuites LIST, --groups LIST, --alpn LIST\n"
	"      --insecure        do NOT verify the server (raw speed tests only)\n"
	"  -h, --help            this help\n"
	"\n"
	"HOST may resolve to several addresses: each is tried in turn, as\n"
	"'tlskit connect' does. A live progress line goes to stderr when it is a\n"
	"terminal. The report gives the rate, latency percentiles (p50, p90,\n"
	"p99, max) and errors by cause.\n"
	"\n"
	"Exit status: 0 if at least one operation succeeded (errors, if any,\n"
	"are in the report); with none: 4 no TCP connection could be made,\n"
	"6 every handshake failed certificate verification, 5 handshakes failed\n"
	"otherwise, 1 handshakes worked but no echo completed; 2 bad usage,\n"
	"3 a TLS option's file or list is bad.\n"
	"\n"
	"Example: tlskit bench handshake localhost:8443 --ca ca.pem -c 16 -d 5\n"
	"\n";

enum {
	OPT_SIZE = OPT_CLI_TLS_LAST,
	OPT_WINDOW,
	OPT_TIMEOUT,
	OPT_HOLD,
	OPT_SERVER_PID,
	OPT_JSON,
};

static const struct option bench_options[] = {
	{ "ca", required_argument, NULL, OPT_CA },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "servername", required_argument, NULL, OPT_SERVERNAME },
	{ "min-version", required_argument, NULL, OPT_MIN_VERSION },
	{ "max-version", required_argument, NULL, OPT_MAX_VERSION },
	{ "ciphers", required_argument, NULL, OPT_CIPHERS },
	{ "ciphersuites", required_argument, NULL, OPT_CIPHERSUITES },
	{ "groups", required_argument, NULL, OPT_GROUPS },
	{ "alpn", required_argument, NULL, OPT_ALPN },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "connections", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "requests", required_argument, NULL, 'n' },
	{ "threads", required_argument, NULL, 'j' },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "server-pid", required_argument, NULL, OPT_SERVER_PID },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *const mode_names[] = {
	[BENCH_HANDSHAKE] = "handshake",
	[BENCH_RESUME] = "resume",
	[BENCH_THROUGHPUT] = "throughput",
	[BENCH_RR] = "rr",
	[BENCH_IDLE] = "idle",
};

struct bench_args {
	struct cli_tls_opts tls;
	enum bench_mode mode;
	const char *hostport;
	char host[256];
	char port[16];
	long conns;
	double duration;  /* 0: not given */
	long long requests;
	long threads;
	size_t size;
	int size_set;
	size_t window;
	double timeout;
	double hold;
	long server_pid;  /* 0: none */
	int json;
	int help;
};

/* What the run measured, besides the merged statistics. */
struct bench_run {
	double elapsed;       /* seconds */
	long pss_before_kib;  /* idle with --server-pid; -1 if unknown */
	long pss_after_kib;
	double server_cpu;    /* seconds of the server's CPU; -1 if unknown */
	int interrupted;
};

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void on_alarm(int sig)
{
	static const char msg[] =
		"tlskit: bench: the run overran its hard time limit; stopping\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(CLI_EXIT_IO);
}

static int usage_error(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	cli_error(CMD, "%s (see 'tlskit bench --help')", msg);
	return CLI_EXIT_USAGE;
}

/* ---- options ------------------------------------------------------------ */

static int parse_long(const char *opt, const char *text, long min, long max,
		      long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%s: '%%s' is not a number from %ld to %ld",
			 opt, min, max);
		return usage_error(msg, text);
	}
	*out = v;
	return 0;
}

static int parse_secs(const char *opt, const char *text, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(v) || v < 0.001 ||
	    v > 86400) {
		char msg[128];

		snprintf(msg, sizeof(msg),
			 "%s: '%%s' is not a number of seconds (0.001 to 86400)",
			 opt);
		return usage_error(msg, text);
	}
	*out = v;
	return 0;
}

/* "512", "16k", "1m"; 0 only where allow_zero. */
static int parse_bytes(const char *opt, const char *text, int allow_zero,
		       size_t *out)
{
	char *end;
	unsigned long long v;
	char msg[128];

	errno = 0;
	v = text[0] == '-' ? 0 : strtoull(text, &end, 10);
	if (text[0] != '-' && !errno && end != text) {
		if (*end == 'k' || *end == 'K')
			v *= 1024, end++;
		else if (*end == 'm' || *end == 'M')
			v *= 1024 * 1024, end++;
		if (!*end && v >= (allow_zero ? 0 : 1) && v <= SIZE_MAX_BYTES) {
			*out = (size_t)v;
			return 0;
		}
	}
	snprintf(msg, sizeof(msg),
		 "%s: '%%s' is not a byte count from %d to 64m", opt,
		 allow_zero ? 0 : 1);
	return usage_error(msg, text);
}

static int parse_mode(const char *text, enum bench_mode *out)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(text, mode_names[i]) == 0) {
			*out = (enum bench_mode)i;
			return 0;
		}
	}
	return usage_error("unknown mode '%s' (handshake, resume, throughput, rr, idle)",
			   text);
}

static int option_error(int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		return usage_error("option '%s' needs an argument", opt);
	return usage_error("unknown option '%s'", opt);
}

static int parse_option(struct bench_args *a, int c, char **argv)
{
	long v;

	if (cli_tls_opt(&a->tls, c, optarg))
		return 0;
	switch (c) {
	case 'h': a->help = 1; return 0;
	case 'c': return parse_long("-c", optarg, 1, CONNS_MAX, &a->conns);
	case 'j': return parse_long("-j", optarg, 1, THREADS_MAX, &a->threads);
	case 'd': return parse_secs("-d", optarg, &a->duration);
	case 'n':
		if (parse_long("-n", optarg, 1, LONG_MAX, &v) != 0)
			return CLI_EXIT_USAGE;
		a->requests = v;
		return 0;
	case OPT_SIZE:
		a->size_set = 1;
		return parse_bytes("--size", optarg, 1, &a->size);
	case OPT_WINDOW: return parse_bytes("--window", optarg, 0, &a->window);
	case OPT_TIMEOUT: return parse_secs("--timeout", optarg, &a->timeout);
	case OPT_HOLD: return parse_secs("--hold", optarg, &a->hold);
	case OPT_SERVER_PID:
		return parse_long("--server-pid", optarg, 1, INT_MAX,
				  &a->server_pid);
	case OPT_JSON: a->json = 1; return 0;
	default: return option_error(c, argv);
	}
}

/* "host:port", "[v6]:port" */
static int split_hostport(struct bench_args *a)
{
	const char *hp = a->hostport, *colon, *host = hp;
	size_t hlen;

	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');

		if (!close || close[1] != ':')
			return usage_error("'%s' is not HOST:PORT ([IPv6]:PORT for IPv6 addresses)",
					   hp);
		host = hp + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon || strchr(hp, ':') != colon)
			return usage_error("'%s' is not HOST:PORT ([IPv6]:PORT for IPv6 addresses)",
					   hp);
		hlen = (size_t)(colon - hp);
	}
	if (hlen == 0 || hlen >= sizeof(a->host) || !colon[1] ||
	    strlen(colon + 1) >= sizeof(a->port))
		return usage_error("'%s' is not HOST:PORT", hp);
	memcpy(a->host, host, hlen);
	a->host[hlen] = '\0';
	strcpy(a->port, colon + 1);
	return 0;
}

static int check_args(struct bench_args *a)
{
	if (a->mode != BENCH_IDLE && a->hold > 0)
		return usage_error("%s", "--hold is for idle mode only");
	if (a->mode == BENCH_IDLE && (a->requests || a->duration))
		return usage_error("%s", "-n and -d are not for idle mode (-c sets how many connections, --hold how long)");
	if (a->mode != BENCH_THROUGHPUT && a->window)
		return usage_error("%s", "--window is for throughput mode only");
	if (!a->size_set)
		a->size = a->mode == BENCH_THROUGHPUT ? 16384 : 32;
	else if (!a->size && (a->mode == BENCH_THROUGHPUT || a->mode == BENCH_RR))
		return usage_error("%s", "--size 0 is for handshake, resume and idle only");
	if (!a->window)
		a->window = 256 * 1024;
	if (a->window < a->size)
		a->window = a->size;
	/* Chunk timers per connection stay small. */
	if (a->size && a->window / a->size > 4096)
		a->window = a->size * 4096;
	if (a->threads > a->conns)
		a->threads = a->conns;
	if (!a->duration && !a->requests)
		a->duration = 10;
	return split_hostport(a);
}

static int parse_args(int argc, char **argv, struct bench_args *a)
{
	int c, rc;

	memset(a, 0, sizeof(*a));
	a->conns = 8;
	a->threads = 1;
	a->timeout = 10;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hc:d:n:j:", bench_options,
				NULL)) != -1) {
		if ((rc = parse_option(a, c, argv)) != 0)
			return rc;
	}
	if (a->help)
		return 0;
	if (optind >= argc)
		return usage_error("%s", "missing MODE (handshake, resume, throughput, rr, idle)");
	if ((rc = parse_mode(argv[optind], &a->mode)) != 0)
		return rc;
	if (optind + 1 >= argc)
		return usage_error("%s", "missing HOST:PORT");
	if (optind + 2 < argc)
		return usage_error("unexpected argument '%s' (one MODE and one HOST:PORT)",
				   argv[optind + 2]);
	a->hostport = argv[optind + 1];
	rc = check_args(a);
	if (rc == 0 && a->mode == BENCH_IDLE && !a->hold)
		a->hold = 5;
	return rc;
}

/* ---- setup -------------------------------------------------------------- */

static int resolve(const struct bench_args *a, struct bench_addr *addrs,
		   size_t *count)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_protocol = IPPROTO_TCP };
	struct addrinfo *res = NULL;
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	int rc = getaddrinfo(a->host, a->port, &hints, &res);

	if (rc != 0) {
		cli_error(CMD, "resolving '%s': %s", a->host,
			  rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return CLI_EXIT_CONNECT;
	}
	*count = 0;
	for (struct addrinfo *ai = res; ai && *count < ADDRS_MAX;
	     ai = ai->ai_next) {
		struct bench_addr *b = &addrs[*count];

		if (ai->ai_addrlen > sizeof(b->sa))
			continue;
		memcpy(&b->sa, ai->ai_addr, ai->ai_addrlen);
		b->len = ai->ai_addrlen;
		b->family = ai->ai_family;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host),
				serv, sizeof(serv),
				NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			continue;
		snprintf(b->text, sizeof(b->text),
			 ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
			 serv);
		(*count)++;
	}
	freeaddrinfo(res);
	if (*count == 0) {
		cli_error(CMD, "resolving '%s': no usable address", a->host);
		return CLI_EXIT_CONNECT;
	}
	return 0;
}

/* Thousands of connections need thousands of descriptors. */
static void raise_fd_limit(long conns)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && conns > 1000)
		cli_warn(CMD, "raising the open file limit: %s", strerror(errno));
}

static unsigned char *make_pattern(void)
{
	size_t len = BENCH_PATTERN_PERIOD + BENCH_READ_MAX + 16384;
	unsigned char *p = malloc(len);

	if (!p)
		return NULL;
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)('a' + (i % BENCH_PATTERN_PERIOD) % 26 +
				       (i % BENCH_PATTERN_PERIOD) / 26);
	return p;
}

/* Pss of a process in KiB, or -1. */
static long read_pss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Pss: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

/* User plus system CPU seconds of a process (all its threads), or -1. */
static double read_cpu_secs(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past the
	 * last ')'; then state is field 3, utime 14, stime 15. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- running ------------------------------------------------------------ */

static void progress_line(const struct bench_shared *sh, double elapsed,
			  int final)
{
	long long done = atomic_load(&sh->done);
	long long failed = atomic_load(&sh->failed);

	fprintf(stderr, "\r\033[K  %6.1f s  %lld ops  %.0f/s  errors %lld%s",
		elapsed, done, elapsed > 0 ? (double)done / elapsed : 0.0,
		failed, final ? "\n" : "");
	fflush(stderr);
}

static double seconds_since(int64_t start)
{
	return (double)(bench_now_ns() - start) / 1e9;
}

static void sleep_tick(void)
{
	struct timespec ts = { 0, TICK_NS };

	nanosleep(&ts, NULL);
}

/* Idle mode's phases, driven from here: open, hold, check. */
static void run_idle(struct bench_shared *sh, const struct bench_args *a,
		     struct bench_run *run, int64_t start, int workers)
{
	int64_t open_deadline = start + (int64_t)((a->timeout * 3 + 5) * 1e9);
	int64_t hold_end;

	while (atomic_load(&sh->idle_settled) < a->conns && !interrupted &&
	       atomic_load(&sh->workers_done) < workers &&
	       bench_now_ns() < open_deadline)
		sleep_tick();
	if (a->server_pid)
		run->pss_after_kib = read_pss_kib(a->server_pid);
	atomic_store(&sh->idle_phase, 1);
	hold_end = bench_now_ns() + (int64_t)(a->hold * 1e9);
	while (!interrupted && bench_now_ns() < hold_end) {
		if (isatty(STDERR_FILENO))
			progress_line(sh, seconds_since(start), 0);
		sleep_tick();
	}
	atomic_store(&sh->idle_phase, 2);
	hold_end = bench_now_ns() + (int64_t)((a->timeout + 1) * 1e9);
	while (!interrupted && atomic_load(&sh->workers_done) < workers &&
	       bench_now_ns() < hold_end)
		sleep_tick();
}

static void run_timed(struct bench_shared *sh, const struct bench_args *a,
		      int64_t start, int workers)
{
	int tty = isatty(STDERR_FILENO);

	while (!interrupted && atomic_load(&sh->workers_done) < workers) {
		if (a->duration && seconds_since(start) >= a->duration)
			break;
		sleep_tick();
		if (tty)
			progress_line(sh, seconds_since(start), 0);
	}
}

static int start_workers(struct bench_worker *w, int n, struct bench_shared *sh,
			 long conns)
{
	for (int i = 0; i < n; i++) {
		w[i].sh = sh;
		w[i].nslots = (int)(conns / n + (i < conns % n ? 1 : 0));
		if (pthread_create(&w[i].thread, NULL, bench_worker_run,
				   &w[i]) != 0) {
			cli_error(CMD, "starting thread %d: %s", i + 1,
				  strerror(errno));
			return -1;
		}
		w[i].started = 1;
	}
	return 0;
}

static int run_bench(struct bench_shared *sh, const struct bench_args *a,
		     struct bench_worker *w, struct bench_run *run)
{
	int n = (int)a->threads;
	int64_t start, stopped, last_end = 0;
	double cpu_before = -1, cpu_after;
	int rc = 0;

	run->pss_before_kib = run->pss_after_kib = -1;
	run->server_cpu = -1;
	if (a->server_pid) {
		cpu_before = read_cpu_secs(a->server_pid);
		if (cpu_before < 0)
			cli_warn(CMD, "reading /proc/%ld/stat: %s; no server CPU figures",
				 a->server_pid, strerror(errno));
	}
	if (a->server_pid && a->mode == BENCH_IDLE) {
		run->pss_before_kib = read_pss_kib(a->server_pid);
		if (run->pss_before_kib < 0)
			cli_warn(CMD, "reading /proc/%ld/smaps_rollup: %s; no memory figures",
				 a->server_pid, strerror(errno));
	}
	start = bench_now_ns();
	if (start_workers(w, n, sh, a->conns) < 0) {
		rc = CLI_EXIT_IO;
		atomic_store(&sh->stop, 1);
	} else if (a->mode == BENCH_IDLE) {
		run_idle(sh, a, run, start, n);
	} else {
		run_timed(sh, a, start, n);
	}
	stopped = bench_now_ns();
	atomic_store(&sh->stop, 1);
	for (int i = 0; i < n; i++) {
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
		if (w[i].end_ns > last_end)
			last_end = w[i].end_ns;
	}
	/* Loops that ran out of work ended before the main thread noticed. */
	if (last_end && last_end < stopped)
		stopped = last_end;
	run->elapsed = (double)(stopped - start) / 1e9;
	if (cpu_before >= 0 && (cpu_after = read_cpu_secs(a->server_pid)) >= 0)
		run->server_cpu = cpu_after - cpu_before;
	if (isatty(STDERR_FILENO) && rc == 0)
		progress_line(sh, run->elapsed, 1);
	run->interrupted = interrupted;
	for (int i = 0; i < n; i++) {
		if (w[i].setup_error[0]) {
			cli_error(CMD, "%s", w[i].setup_error);
			rc = CLI_EXIT_IO;
		}
	}
	return rc;
}

/* ---- report ------------------------------------------------------------- */

static double per_second(uint64_t count, double secs)
{
	return secs > 0 ? (double)count / secs : 0;
}

static void print_latency(FILE *out, uint64_t us)
{
	if (us < 10000)
		fprintf(out, "%.3f ms", (double)us / 1000);
	else
		fprintf(out, "%.1f ms", (double)us / 1000);
}

static void print_report(const struct bench_args *a, const struct bench_stats *st,
			 const struct bench_run *run)
{
	static const double pcts[] = { 50, 90, 99 };
	FILE *out = stdout;

	fprintf(out, "tlskit bench %s %s: %ld connection%s, %ld thread%s, %.2f s%s\n",
		mode_names[a->mode], a->hostport, a->conns,
		a->conns == 1 ? "" : "s", a->threads,
		a->threads == 1 ? "" : "s", run->elapsed,
		run->interrupted ? " (interrupted)" : "");
	fprintf(out, "  operations  %llu  (%.1f/s)\n", (unsigned long long)st->ops,
		per_second(st->ops, run->elapsed));
	fprintf(out, "  echoed      %llu bytes  (%.2f MB/s)\n",
		(unsigned long long)st->bytes,
		per_second(st->bytes, run->elapsed) / 1e6);
	fprintf(out, "  handshakes  %llu  (%.1f/s), resumed %llu\n",
		(unsigned long long)st->handshakes,
		per_second(st->handshakes, run->elapsed),
		(unsigned long long)st->resumed);
	if (a->mode == BENCH_RESUME)
		fprintf(out, "  resumption  %.3f of %llu handshakes (%llu offered a session)\n",
			st->handshakes ? (double)st->resumed / (double)st->handshakes : 0,
			(unsigned long long)st->handshakes,
			(unsigned long long)st->offered);
	if (a->mode == BENCH_IDLE) {
		fprintf(out, "  idle        %llu of %ld opened, %llu still up after %.1f s\n",
			(unsigned long long)st->idle_held, a->conns,
			(unsigned long long)st->idle_up, a->hold);
		if (run->pss_before_kib >= 0 && run->pss_after_kib >= 0 &&
		    st->idle_held)
			fprintf(out, "  server      Pss %ld KiB before, %ld KiB held: %.1f KiB per connection\n",
				run->pss_before_kib, run->pss_after_kib,
				(double)(run->pss_after_kib - run->pss_before_kib) /
					(double)st->idle_held);
	}
	if (run->server_cpu >= 0)
		fprintf(out, "  server CPU  %.2f s: %.1f operations, %.1f handshakes, %.2f MB per CPU second\n",
			run->server_cpu, per_second(st->ops, run->server_cpu),
			per_second(st->handshakes, run->server_cpu),
			per_second(st->bytes, run->server_cpu) / 1e6);
	fputs("  latency    ", out);
	for (size_t i = 0; i < 3; i++) {
		fprintf(out, "  p%g ", pcts[i]);
		print_latency(out, bench_hist_percentile(st, pcts[i]));
	}
	fputs("  max ", out);
	print_latency(out, st->lat_max);
	fprintf(out, "\n  errors      %llu\n", (unsigned long long)st->errors);
	for (size_t i = 0; i < st->ncauses; i++)
		fprintf(out, "    %8llu  %s: %s\n",
			(unsigned long long)st->causes[i].count,
			bench_err_kind_name(st->causes[i].kind),
			st->causes[i].text);
	if (st->causes_dropped)
		fprintf(out, "    %8llu  (other causes)\n",
			(unsigned long long)st->causes_dropped);
}

static void json_latency(struct json *j, const struct bench_stats *st)
{
	json_key(j, "latency_us");
	if (st->lat_count == 0) {
		json_null(j);
		return;
	}
	json_begin_object(j);
	json_kv_int(j, "p50", (long long)bench_hist_percentile(st, 50));
	json_kv_int(j, "p90", (long long)bench_hist_percentile(st, 90));
	json_kv_int(j, "p99", (long long)bench_hist_percentile(st, 99));
	json_kv_int(j, "max", (long long)st->lat_max);
	json_end_object(j);
}

static void json_server_cpu(struct json *j, const struct bench_stats *st,
			    const struct bench_run *run)
{
	json_key(j, "server_cpu");
	if (run->server_cpu < 0) {
		json_null(j);
		return;
	}
	json_begin_object(j);
	json_kv_int(j, "cpu_ms", (long long)(run->server_cpu * 1000 + 0.5));
	json_kv_double(j, "ops_per_cpu_s", per_second(st->ops, run->server_cpu));
	json_kv_double(j, "handshakes_per_cpu_s",
		       per_second(st->handshakes, run->server_cpu));
	json_kv_double(j, "mb_per_cpu_s",
		       per_second(st->bytes, run->server_cpu) / 1e6);
	json_end_object(j);
}

static void json_errors(struct json *j, const struct bench_stats *st)
{
	json_key(j, "errors");
	json_begin_object(j);
	json_kv_int(j, "total", (long long)st->errors);
	json_key(j, "by_kind");
	json_begin_object(j);
	for (int k = 0; k < BENCH_ERR_KINDS; k++)
		json_kv_int(j, bench_err_kind_name(k),
			    (long long)st->errors_by_kind[k]);
	json_end_object(j);
	json_key(j, "by_cause");
	json_begin_array(j);
	for (size_t i = 0; i < st->ncauses; i++) {
		json_begin_object(j);
		json_kv_string(j, "kind", bench_err_kind_name(st->causes[i].kind));
		json_kv_string(j, "cause", st->causes[i].text);
		json_kv_int(j, "count", (long long)st->causes[i].count);
		json_end_object(j);
	}
	json_end_array(j);
	json_kv_int(j, "other_causes", (long long)st->causes_dropped);
	json_end_object(j);
}

static void json_mode_details(struct json *j, const struct bench_args *a,
			      const struct bench_stats *st,
			      const struct bench_run *run)
{
	json_key(j, "resumption");
	if (a->mode == BENCH_RESUME) {
		json_begin_object(j);
		json_kv_int(j, "offered", (long long)st->offered);
		json_kv_int(j, "resumed", (long long)st->resumed);
		json_kv_double(j, "ratio", st->handshakes ?
			       (double)st->resumed / (double)st->handshakes : 0);
		json_end_object(j);
	} else {
		json_null(j);
	}
	json_key(j, "idle");
	if (a->mode != BENCH_IDLE) {
		json_null(j);
		return;
	}
	json_begin_object(j);
	json_kv_int(j, "opened", (long long)st->idle_held);
	json_kv_int(j, "still_up", (long long)st->idle_up);
	json_kv_int(j, "hold_ms", (long long)(a->hold * 1000 + 0.5));
	if (run->pss_before_kib >= 0 && run->pss_after_kib >= 0) {
		json_kv_int(j, "server_pss_before_kib", run->pss_before_kib);
		json_kv_int(j, "server_pss_after_kib", run->pss_after_kib);
		json_kv_double(j, "server_kib_per_conn", st->idle_held ?
			       (double)(run->pss_after_kib - run->pss_before_kib) /
				       (double)st->idle_held : 0);
	} else {
		json_kv_null(j, "server_pss_before_kib");
		json_kv_null(j, "server_pss_after_kib");
		json_kv_null(j, "server_kib_per_conn");
	}
	json_end_object(j);
}

static int print_json(const struct bench_args *a, const struct bench_stats *st,
		      const struct bench_run *run)
{
	struct json j;
	int rc = 0;

	json_init(&j, JSON_PRETTY);
	json_begin_object(&j);
	json_kv_string(&j, "schema", "tlskit/1");
	json_kv_string(&j, "command", "bench");
	json_kv_string(&j, "mode", mode_names[a->mode]);
	json_kv_string(&j, "target", a->hostport);
	json_kv_int(&j, "connections", a->conns);
	json_kv_int(&j, "threads", a->threads);
	json_kv_int(&j, "size", (long long)a->size);
	json_kv_int(&j, "elapsed_ms", (long long)(run->elapsed * 1000 + 0.5));
	json_kv_bool(&j, "interrupted", run->interrupted);
	json_kv_int(&j, "operations", (long long)st->ops);
	json_kv_double(&j, "ops_per_s", per_second(st->ops, run->elapsed));
	json_kv_int(&j, "bytes", (long long)st->bytes);
	json_kv_double(&j, "mb_per_s", per_second(st->bytes, run->elapsed) / 1e6);
	json_kv_int(&j, "tcp_connects", (long long)st->tcp_connects);
	json_kv_int(&j, "handshakes", (long long)st->handshakes);
	json_kv_int(&j, "resumed", (long long)st->resumed);
	json_server_cpu(&j, st, run);
	json_latency(&j, st);
	json_errors(&j, st);
	json_mode_details(&j, a, st, run);
	json_end_object(&j);
	if (json_finish(&j) == 0) {
		fputs(json_text(&j), stdout);
	} else {
		cli_error(CMD, "writing the JSON report: out of memory");
		rc = CLI_EXIT_IO;
	}
	json_free(&j);
	return rc;
}

/* See the usage text: 0 if anything worked, else the deepest failure. */
static int exit_status(const struct bench_stats *st)
{
	const uint64_t *k = st->errors_by_kind;

	if (st->ops > 0)
		return CLI_EXIT_OK;
	if (st->tcp_connects == 0)
		return CLI_EXIT_CONNECT;
	if (st->handshakes == 0 && k[BENCH_ERR_VERIFY] > 0 &&
	    k[BENCH_ERR_HANDSHAKE] == 0)
		return CLI_EXIT_VERIFY;
	if (st->handshakes == 0)
		return CLI_EXIT_TLS;
	return CLI_EXIT_IO;
}

/* ---- the command -------------------------------------------------------- */

static void install_signals(const struct bench_args *a)
{
	struct sigaction sa;
	double limit = (a->duration ? a->duration : 0) + a->hold +
		       3 * a->timeout + 30;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	/* -n alone has no duration: the alarm then only catches a hang. */
	if (!a->duration)
		limit += 3600;
	alarm((unsigned int)limit);
}

static int bench_with_config(const struct bench_args *a, tlskit_config *cfg)
{
	struct bench_addr addrs[ADDRS_MAX];
	struct bench_shared sh;
	struct bench_worker *w = NULL;
	struct bench_stats *total = NULL;
	struct bench_run run;
	unsigned char *pattern = NULL;
	int rc;

	memset(&sh, 0, sizeof(sh));
	memset(&run, 0, sizeof(run));
	if ((rc = resolve(a, addrs, &sh.naddrs)) != 0)
		return rc;
	pattern = make_pattern();
	w = calloc((size_t)a->threads, sizeof(*w));
	total = calloc(1, sizeof(*total));
	if (!pattern || !w || !total) {
		cli_error(CMD, "setting up: out of memory");
		rc = CLI_EXIT_IO;
		goto out;
	}
	sh.mode = a->mode;
	sh.cfg = cfg;
	sh.servername = a->tls.servername ? NULL : a->host;
	sh.addrs = addrs;
	sh.size = a->size;
	sh.window = a->window;
	sh.timeout_ns = (int64_t)(a->timeout * 1e9);
	sh.max_ops = a->requests;
	sh.pattern = pattern;
	raise_fd_limit(a->conns);
	install_signals(a);
	rc = run_bench(&sh, a, w, &run);
	alarm(0);
	for (long i = 0; i < a->threads; i++)
		bench_stats_merge(total, &w[i].st);
	if (rc == 0) {
		rc = a->json ? print_json(a, total, &run) :
			       (print_report(a, total, &run), 0);
		if (rc == 0)
			rc = exit_status(total);
	}
out:
	free(total);
	free(w);
	free(pattern);
	return rc;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_args a;
	tlskit_config *cfg = NULL;
	int rc = parse_args(argc, argv, &a);

	if (rc != 0)
		return rc;
	if (a.help) {
		fputs(bench_usage, stdout);
		return CLI_EXIT_OK;
	}
	rc = cli_tls_config(CMD, &a.tls, TLSKIT_CLIENT, &cfg);
	if (rc != 0)
		return rc;
	/* A busy connection that gives its buffers back after every record
	 * pays two large allocations per request; only idle mode, holding
	 * thousands of quiet connections, wants the memory back. */
	if (a.mode != BENCH_IDLE &&
	    tlskit_config_set_release_buffers(cfg, 0) < 0) {
		cli_error(CMD, "%s", tlskit_config_error(cfg));
		tlskit_config_free(cfg);
		return CLI_EXIT_IO;
	}
	rc = bench_with_config(&a, cfg);
	tlskit_config_free(cfg);
	return rc;
}
