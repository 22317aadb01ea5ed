/*
 * log.c - one line per connection (and per engine event) on stderr, as
 * text or as one JSON object (schema tlskit/1, docs/json-schema.md).
 *
 * Each line is formatted whole on the stack and written with one write(2),
 * so lines of several workers never interleave and logging costs no
 * allocation. JSON is written by a tiny local escaper because the engine
 * does not depend on src/cli; every string it escapes is ASCII by the
 * schema's rules (addresses, RFC 2253 names, OpenSSL's words).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine_internal.h"

#define LOG_LINE_MAX 2048
/* A stats line: the total and each worker. */
#define STATS_PART_MAX 512

/* A line being formatted; buf is not cleared first (no memset per line). */
struct line {
	char *buf;
	size_t cap, len;
};

static void put(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* One byte stays free for the newline. */
	if (l->len >= l->cap - 2)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, l->cap - 1 - l->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	l->len += (size_t)n;
	if (l->len > l->cap - 2)
		l->len = l->cap - 2;
}

/* A JSON string, or null. */
static void put_json_string(struct line *l, const char *s)
{
	if (!s) {
		put(l, "null");
		return;
	}
	put(l, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			put(l, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			put(l, "\\u%04x", *p);
		else if (*p >= 0x80)
			put(l, "\\ufffd"); /* our strings are ASCII; be safe */
		else
			put(l, "%c", *p);
	}
	put(l, "\"");
}

/*
 * The start of every JSON line: schema, then when it was written, UTC to
 * the millisecond ("2026-11-23T15:52:01.123Z"), since JSON logs end up in
 * files and collectors. The date and time of day are formatted once a
 * second per thread.
 */
static void put_json_head(struct line *l)
{
	static _Thread_local time_t cached_sec = -1;
	static _Thread_local char cached[32] = "1970-01-01T00:00:00";
	struct timespec ts;
	struct tm tm;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		ts = (struct timespec){ 0 };
	if (ts.tv_sec != cached_sec && gmtime_r(&ts.tv_sec, &tm) &&
	    strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm))
		cached_sec = ts.tv_sec;
	put(l, "{\"schema\":\"tlskit/1\",\"time\":\"%s.%03ldZ\",", cached,
	    ts.tv_nsec / 1000000);
}

static void write_line(struct line *l)
{
	l->buf[l->len++] = '\n';
	/* Nothing sensible to do if stderr is gone. */
	(void)!write(STDERR_FILENO, l->buf, l->len);
}

static const char *outcome_text(enum conn_outcome outcome)
{
	switch (outcome) {
	case CONN_OUTCOME_CLOSED: return "closed";
	case CONN_OUTCOME_HANDSHAKE_FAILED: return "handshake failed";
	case CONN_OUTCOME_ERROR: return "error";
	case CONN_OUTCOME_TIMEOUT: return "timed out";
	case CONN_OUTCOME_STOPPED: return "stopped (server stopping)";
	}
	return "?";
}

static const char *outcome_key(enum conn_outcome outcome)
{
	switch (outcome) {
	case CONN_OUTCOME_CLOSED: return "closed";
	case CONN_OUTCOME_HANDSHAKE_FAILED: return "handshake_failed";
	case CONN_OUTCOME_ERROR: return "error";
	case CONN_OUTCOME_TIMEOUT: return "timeout";
	case CONN_OUTCOME_STOPPED: return "stopped";
	}
	return "?";
}

/* The library's reasons may start with what the log line already says. */
static const char *handshake_reason(const char *reason)
{
	static const char prefix[] = "TLS handshake failed: ";

	if (reason && strncmp(reason, prefix, sizeof(prefix) - 1) == 0)
		return reason + sizeof(prefix) - 1;
	return reason;
}

/*
 * tlskit: echo: 127.0.0.1:53422 TLSv1.3 TLS_AES_128_GCM_SHA256
 *     client="CN=alice" in=5 out=5 time=0.004s closed
 * tlskit: echo: 127.0.0.1:53424 handshake failed: <reason>
 */
static void log_text(const struct conn_report *r, struct line *l)
{
	const char *reason = r->reason;

	put(l, "tlskit: %s: %s ", r->handler, r->peer);
	if (r->outcome == CONN_OUTCOME_HANDSHAKE_FAILED || !r->version) {
		if (r->outcome == CONN_OUTCOME_HANDSHAKE_FAILED)
			reason = handshake_reason(reason);
		put(l, "%s%s%s", outcome_text(r->outcome), reason ? ": " : "",
		    reason ? reason : "");
		return;
	}
	put(l, "%s %s", r->version, r->cipher ? r->cipher : "-");
	if (r->client)
		put(l, " client=\"%s\"", r->client);
	put(l, "%s in=%llu out=%llu time=%.3fs %s%s%s",
	    r->resumed ? " resumed" : "", (unsigned long long)r->bytes_in,
	    (unsigned long long)r->bytes_out, r->seconds,
	    outcome_text(r->outcome), reason ? ": " : "", reason ? reason : "");
}

static void log_json(const struct conn_report *r, struct line *l)
{
	const char *reason = r->outcome == CONN_OUTCOME_HANDSHAKE_FAILED ?
				     handshake_reason(r->reason) : r->reason;

	put_json_head(l);
	put(l, "\"event\":\"connection\",\"handler\":");
	put_json_string(l, r->handler);
	put(l, ",\"worker\":%u,\"peer\":", r->worker);
	put_json_string(l, r->peer);
	put(l, ",\"outcome\":\"%s\",\"reason\":", outcome_key(r->outcome));
	put_json_string(l, reason);
	put(l, ",\"version\":");
	put_json_string(l, r->version);
	put(l, ",\"cipher\":");
	put_json_string(l, r->cipher);
	put(l, ",\"client\":");
	put_json_string(l, r->client);
	put(l, ",\"resumed\":%s,\"bytes_in\":%llu,\"bytes_out\":%llu,"
	    "\"duration_ms\":%llu}", r->resumed ? "true" : "false",
	    (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
	    (unsigned long long)(r->seconds * 1000.0));
}

void log_conn(enum engine_log_format format, const struct conn_report *r)
{
	char buf[LOG_LINE_MAX];
	struct line l = { .buf = buf, .cap = sizeof(buf), .len = 0 };

	if (format == ENGINE_LOG_JSON)
		log_json(r, &l);
	else
		log_text(r, &l);
	write_line(&l);
}

void log_event(enum engine_log_format format, const char *handler,
	       const char *fmt, ...)
{
	char msg[LOG_LINE_MAX - 128], buf[LOG_LINE_MAX];
	struct line l = { .buf = buf, .cap = sizeof(buf), .len = 0 };
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	if (format == ENGINE_LOG_JSON) {
		put_json_head(&l);
		put(&l, "\"event\":\"log\",\"source\":");
		put_json_string(&l, handler);
		put(&l, ",\"message\":");
		put_json_string(&l, msg);
		put(&l, "}");
	} else {
		put(&l, "tlskit: %s: %s", handler, msg);
	}
	write_line(&l);
}

static const char *const hs_fail_names[ENGINE_HS_FAIL_COUNT] = {
	[ENGINE_HS_TIMEOUT] = "timeout",
	[ENGINE_HS_CLOSED] = "closed",
	[ENGINE_HS_HTTP] = "http",
	[ENGINE_HS_VERIFY] = "verify",
	[ENGINE_HS_PROTOCOL] = "protocol",
};

static uint64_t hs_failed_total(const struct engine_stats *st)
{
	uint64_t n = 0;

	for (int i = 0; i < ENGINE_HS_FAIL_COUNT; i++)
		n += st->hs_failed[i];
	return n;
}

static void stats_text(struct line *l, const struct engine_stats *st)
{
	put(l, "open=%llu accepted=%llu handshakes=%llu resumed=%llu "
	    "hs_failed=%llu (", (unsigned long long)st->open,
	    (unsigned long long)st->accepted,
	    (unsigned long long)st->handshakes,
	    (unsigned long long)st->resumed,
	    (unsigned long long)hs_failed_total(st));
	for (int i = 0; i < ENGINE_HS_FAIL_COUNT; i++)
		put(l, "%s%s=%llu", i ? " " : "", hs_fail_names[i],
		    (unsigned long long)st->hs_failed[i]);
	put(l, ") errors=%llu bytes_in=%llu bytes_out=%llu "
	    "timeouts_handshake=%llu timeouts_idle=%llu accept_pauses=%llu",
	    (unsigned long long)st->errors, (unsigned long long)st->bytes_in,
	    (unsigned long long)st->bytes_out,
	    (unsigned long long)st->timeouts_handshake,
	    (unsigned long long)st->timeouts_idle,
	    (unsigned long long)st->accept_pauses);
}

static void stats_json(struct line *l, const struct engine_stats *st)
{
	put(l, "{\"open\":%llu,\"accepted\":%llu,\"handshakes\":%llu,"
	    "\"resumed\":%llu,\"handshakes_failed\":{",
	    (unsigned long long)st->open, (unsigned long long)st->accepted,
	    (unsigned long long)st->handshakes,
	    (unsigned long long)st->resumed);
	for (int i = 0; i < ENGINE_HS_FAIL_COUNT; i++)
		put(l, "%s\"%s\":%llu", i ? "," : "", hs_fail_names[i],
		    (unsigned long long)st->hs_failed[i]);
	put(l, "},\"errors\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
	    "\"timeouts_handshake\":%llu,\"timeouts_idle\":%llu,"
	    "\"accept_pauses\":%llu}",
	    (unsigned long long)st->errors, (unsigned long long)st->bytes_in,
	    (unsigned long long)st->bytes_out,
	    (unsigned long long)st->timeouts_handshake,
	    (unsigned long long)st->timeouts_idle,
	    (unsigned long long)st->accept_pauses);
}

/*
 * tlskit: stats: total open=1 accepted=... | worker 0 open=1 ... | worker 1 ...
 * {"schema":"tlskit/1","event":"stats","total":{...},"workers":[{...},...]}
 */
void log_stats(enum engine_log_format format, const char *what,
	       const struct engine_stats *st, unsigned int worker_count,
	       const struct engine_stats *per_worker)
{
	struct line l = { .cap = STATS_PART_MAX * ((size_t)worker_count + 1),
			  .len = 0 };

	l.buf = malloc(l.cap);
	if (!l.buf)
		return;
	if (format == ENGINE_LOG_JSON) {
		put_json_head(&l);
		put(&l, "\"event\":\"stats\",\"source\":");
		put_json_string(&l, what);
		put(&l, ",\"total\":");
		stats_json(&l, st);
		put(&l, ",\"workers\":[");
		for (unsigned int i = 0; i < worker_count; i++) {
			put(&l, "%s", i ? "," : "");
			stats_json(&l, &per_worker[i]);
		}
		put(&l, "]}");
	} else {
		put(&l, "tlskit: %s: stats: total ", what);
		stats_text(&l, st);
		for (unsigned int i = 0; i < worker_count; i++) {
			put(&l, " | worker %u ", i);
			stats_text(&l, &per_worker[i]);
		}
	}
	write_line(&l);
	free(l.buf);
}
