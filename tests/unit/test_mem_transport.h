/*
 * test_mem_transport.h - an in-memory transport for the unit tests: two
 * byte pipes and tlskit_read_cb/tlskit_write_cb over them, so a client and
 * a server connection can be stepped by hand (tlskit_connect_cbs /
 * tlskit_accept_cbs) without sockets.
 */
#ifndef TEST_MEM_TRANSPORT_H
#define TEST_MEM_TRANSPORT_H

#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "tlskit.h"

/* One direction: bytes written and not yet read; closed = end of stream. */
struct pipe_buf {
	unsigned char data[1 << 16];
	size_t len;
	int closed;
};

struct end {
	struct pipe_buf *in;
	struct pipe_buf *out;
};

static ssize_t mem_read(void *arg, void *buf, size_t len)
{
	struct end *e = arg;

	if (e->in->len == 0)
		return e->in->closed ? 0 : TLSKIT_WANT_READ;
	if (len > e->in->len)
		len = e->in->len;
	memcpy(buf, e->in->data, len);
	memmove(e->in->data, e->in->data + len, e->in->len - len);
	e->in->len -= len;
	return (ssize_t)len;
}

static ssize_t mem_write(void *arg, const void *buf, size_t len)
{
	struct end *e = arg;
	size_t room = sizeof(e->out->data) - e->out->len;

	if (e->out->closed) {
		errno = EPIPE;
		return -1;
	}
	if (room == 0)
		return TLSKIT_WANT_WRITE;
	if (len > room)
		len = room;
	memcpy(e->out->data + e->out->len, buf, len);
	e->out->len += len;
	return (ssize_t)len;
}

#endif
