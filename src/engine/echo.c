/*
 * echo.c - the echo handler: every byte read is written back.
 *
 * A connection holds a buffer only while echoed data is in flight: taken
 * from the engine's free list for a read, given back when the read finds
 * nothing or its data is fully written. While a write waits, nothing more
 * is read (backpressure): a slow reader costs one buffer and stalls nobody.
 */
#include "engine.h"

/* Records echoed per run; then the connection goes to the back of the run
 * queue so that one fast sender cannot starve the others. */
#define ECHO_ROUNDS 16

/* Reads into a fresh buffer; keeps it only if data came. */
static int echo_read(struct engine_conn *c)
{
	struct engine_buf *b = engine_buf_get(c->eng);
	ssize_t n;

	if (!b) {
		c->reason = "echo: out of memory";
		return ENGINE_ABORT;
	}
	n = tlskit_read(c->tls, b->data, sizeof(b->data));
	if (n <= 0) {
		engine_buf_put(c->eng, b);
		if (n == 0)
			return ENGINE_CLOSE; /* close_notify: answer it */
		return n == TLSKIT_WANT_READ || n == TLSKIT_WANT_WRITE ?
			       (int)n : ENGINE_ABORT;
	}
	b->len = (size_t)n;
	c->bytes_in += (uint64_t)n;
	c->handler_data = b;
	return 0;
}

/* Writes the buffer back (a retry repeats the same buffer and length). */
static int echo_write(struct engine_conn *c)
{
	struct engine_buf *b = c->handler_data;
	ssize_t n = tlskit_write(c->tls, b->data, b->len);

	if (n == TLSKIT_WANT_READ || n == TLSKIT_WANT_WRITE)
		return (int)n;
	if (n < 0)
		return ENGINE_ABORT;
	c->bytes_out += b->len;
	c->handler_data = NULL;
	engine_buf_put(c->eng, b);
	return 0;
}

static enum engine_next echo_run(struct engine_conn *c)
{
	for (int round = 0; round < ECHO_ROUNDS; round++) {
		int rc;

		if (!c->handler_data) {
			rc = echo_read(c);
			if (rc != 0)
				return (enum engine_next)rc;
		}
		rc = echo_write(c);
		if (rc != 0)
			return (enum engine_next)rc;
	}
	return ENGINE_AGAIN;
}

static void echo_release(struct engine_conn *c)
{
	engine_buf_put(c->eng, c->handler_data);
	c->handler_data = NULL;
}

const struct engine_handler engine_echo_handler = {
	.name = "echo",
	.run = echo_run,
	.release = echo_release,
};
