/*
 * log.c - one line per connection on stderr.
 *
 * Each line is formatted whole and written with one write(2), so lines of
 * several workers never interleave. A new format (--log-format json) is a
 * sibling of log_text() chosen in log_conn().
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"

#define LOG_LINE_MAX 2048

static void write_line(char *line, size_t len)
{
	if (len >= LOG_LINE_MAX - 1) {
		len = LOG_LINE_MAX - 2;
	}
	line[len++] = '\n';
	/* Nothing sensible to do if stderr is gone. */
	(void)!write(STDERR_FILENO, line, len);
}

static const char *outcome_text(enum conn_outcome outcome)
{
	switch (outcome) {
	case CONN_OUTCOME_CLOSED: return "closed";
	case CONN_OUTCOME_HANDSHAKE_FAILED: return "handshake failed";
	case CONN_OUTCOME_ERROR: return "error";
	case CONN_OUTCOME_STOPPED: return "stopped (server stopping)";
	}
	return "?";
}

/*
 * tlskit: echo: 127.0.0.1:53422 TLSv1.3 TLS_AES_128_GCM_SHA256
 *     client="CN=alice" in=5 out=5 time=0.004s closed
 * tlskit: echo: 127.0.0.1:53424 handshake failed: <reason>
 */
/* The library's reasons may start with what the log line already says. */
static const char *handshake_reason(const char *reason)
{
	static const char prefix[] = "TLS handshake failed: ";

	if (reason && strncmp(reason, prefix, sizeof(prefix) - 1) == 0)
		return reason + sizeof(prefix) - 1;
	return reason;
}

static size_t log_text(const struct conn_report *r, char *buf, size_t size)
{
	const char *reason = r->reason;
	int n;

	if (r->outcome == CONN_OUTCOME_HANDSHAKE_FAILED)
		reason = handshake_reason(reason);

	if (r->outcome == CONN_OUTCOME_HANDSHAKE_FAILED || !r->version)
		n = snprintf(buf, size, "tlskit: %s: %s %s%s%s", r->handler,
			     r->peer,
			     r->outcome == CONN_OUTCOME_HANDSHAKE_FAILED ?
				     "handshake failed" : outcome_text(r->outcome),
			     reason ? ": " : "", reason ? reason : "");
	else
		n = snprintf(buf, size,
			     "tlskit: %s: %s %s %s%s%s%s in=%llu out=%llu "
			     "time=%.3fs %s%s%s",
			     r->handler, r->peer, r->version,
			     r->cipher ? r->cipher : "-",
			     r->client ? " client=\"" : "",
			     r->client ? r->client : "", r->client ? "\"" : "",
			     (unsigned long long)r->bytes_in,
			     (unsigned long long)r->bytes_out, r->seconds,
			     outcome_text(r->outcome), r->reason ? ": " : "",
			     r->reason ? r->reason : "");
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

void log_conn(enum engine_log_format format, const struct conn_report *r)
{
	char line[LOG_LINE_MAX];
	size_t len = 0;

	switch (format) {
	case ENGINE_LOG_TEXT:
		len = log_text(r, line, sizeof(line));
		break;
	}
	write_line(line, len);
}

void log_event(const char *handler, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	int n, m;

	n = snprintf(line, sizeof(line), "tlskit: %s: ", handler);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	write_line(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
