/*
 * listener.c - listening sockets: parsing HOST:PORT, binding, accepting in
 * batches.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "engine_internal.h"

/*
 * Connections accepted per wake-up of one listener. The listening socket is
 * level-triggered (registered once, never re-armed), so a backlog longer
 * than this wakes the loop again after the accepted ones had their turn.
 */
#define ACCEPT_BATCH 64

#define HOST_MAX 256

/* At --max-conns, how often a worker looks whether another one freed a
 * slot (its own closing connections wake it at once). */
#define LIMIT_RECHECK_NS (10 * NS_PER_MS)
#define LIMIT_LOG_EVERY_NS (1000 * NS_PER_MS)
/* EMFILE, ENFILE: accepting pauses this long. */
#define ACCEPT_ERROR_PAUSE_NS (100 * NS_PER_MS)

struct listen_addr {
	char host[HOST_MAX]; /* empty: any address */
	char port[8];
};

static int addr_error(struct tlskit_error *err, const char *address,
		      const char *why)
{
	err->category = TLSKIT_ERR_USAGE;
	snprintf(err->message, sizeof(err->message),
		 "listen address '%s': %s (expected HOST:PORT, e.g. "
		 "127.0.0.1:8443, [::1]:8443, *:8443)", address, why);
	return -1;
}

static int parse_port(const char *text, char *out, size_t len)
{
	char *end;
	long port;

	if (!*text || strspn(text, "0123456789") != strlen(text))
		return -1;
	port = strtol(text, &end, 10);
	if (port < 0 || port > 65535)
		return -1;
	snprintf(out, len, "%ld", port);
	return 0;
}

/* "host:port", "[v6]:port", "*:port", ":port" (any). */
static int parse_address(const char *address, struct listen_addr *out,
			 struct tlskit_error *err)
{
	const char *colon, *host = address;
	size_t host_len;

	if (address[0] == '[') {
		const char *close = strchr(address, ']');

		if (!close || close[1] != ':')
			return addr_error(err, address, "unterminated '[' or no port");
		host = address + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(address, ':');
		if (!colon)
			return addr_error(err, address, "no port");
		host_len = (size_t)(colon - address);
		if (memchr(address, ':', host_len))
			return addr_error(err, address,
					  "IPv6 addresses need brackets");
	}
	if (host_len >= sizeof(out->host))
		return addr_error(err, address, "host name too long");
	if (parse_port(colon + 1, out->port, sizeof(out->port)) < 0)
		return addr_error(err, address, "the port is not a number from 0 to 65535");
	memcpy(out->host, host, host_len);
	out->host[host_len] = '\0';
	if (strcmp(out->host, "*") == 0)
		out->host[0] = '\0';
	return 0;
}

void engine_format_addr(const union engine_sockaddr *addr, char *buf,
			size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (addr->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &addr->in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(addr->in6.sin6_port));
	} else if (addr->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &addr->in.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(addr->in.sin_port));
	} else {
		snprintf(buf, len, "(unknown address)");
	}
}

static void set_port(union engine_sockaddr *addr, in_port_t port)
{
	if (addr->sa.sa_family == AF_INET6)
		addr->in6.sin6_port = port;
	else
		addr->in.sin_port = port;
}

static in_port_t get_port(const union engine_sockaddr *addr)
{
	return addr->sa.sa_family == AF_INET6 ? addr->in6.sin6_port :
						addr->in.sin_port;
}

/* Slots of --max-conns are taken before accept(), so that the limit holds
 * across workers without a lock: one atomic add per connection. */
static bool take_slot(struct engine *eng)
{
	struct engine_shared *sh = eng->sh;

	if (atomic_fetch_add(&sh->open_total, 1) < sh->max_conns)
		return true;
	atomic_fetch_sub(&sh->open_total, 1);
	return false;
}

void listener_pause(struct engine *eng, uint64_t resume_ns, bool by_limit)
{
	if (!eng->accept_paused) {
		/* Level-triggered listeners would wake the loop for nothing:
		 * stop watching them; the kernel backlog queues meanwhile. */
		for (struct engine_listener *l = eng->listeners; l; l = l->next)
			(void)epoll_ctl(eng->epfd, EPOLL_CTL_DEL, l->io.fd, NULL);
		STAT_ADD(eng, accept_pauses, 1);
	}
	eng->accept_paused = true;
	eng->paused_by_limit = by_limit;
	eng->accept_resume_ns = resume_ns;
}

void listener_try_resume(struct engine *eng)
{
	struct engine_shared *sh = eng->sh;

	if (eng->paused_by_limit &&
	    atomic_load(&sh->open_total) >= sh->max_conns) {
		/* Another worker may free a slot: look again soon. */
		eng->accept_resume_ns = eng->now_ns + LIMIT_RECHECK_NS;
		return;
	}
	for (struct engine_listener *l = eng->listeners; l; l = l->next) {
		if (engine_watch(eng, &l->io, l->events) < 0 && errno != EEXIST)
			log_event(eng->log_format, l->handler->name,
				  "watching a listening socket again: %s",
				  strerror(errno));
	}
	eng->accept_paused = false;
	eng->paused_by_limit = false;
}

static void limit_reached(struct engine_listener *l)
{
	struct engine *eng = l->eng;

	listener_pause(eng, eng->now_ns + LIMIT_RECHECK_NS, true);
	/* One line per episode, not one per refused wake-up. */
	if (eng->limit_logged_ns &&
	    eng->now_ns - eng->limit_logged_ns < LIMIT_LOG_EVERY_NS)
		return;
	eng->limit_logged_ns = eng->now_ns;
	log_event(eng->log_format, l->handler->name,
		  "max-conns %ld reached: not accepting until a connection closes (new clients wait in the backlog)",
		  eng->sh->max_conns);
}

static void accept_failed(struct engine_listener *l, int error)
{
	char name[64];

	engine_format_addr(&l->addr, name, sizeof(name));
	log_event(l->eng->log_format, l->handler->name,
		  "accepting on %s: %s; pausing accepts for %llu ms", name,
		  strerror(error),
		  (unsigned long long)(ACCEPT_ERROR_PAUSE_NS / NS_PER_MS));
	/* EMFILE/ENFILE (or ENOBUFS...) stay until something closes: retrying
	 * at once would only spin. */
	listener_pause(l->eng, l->eng->now_ns + ACCEPT_ERROR_PAUSE_NS, false);
}

static void listener_on_events(struct engine_io *io, uint32_t events)
{
	struct engine_listener *l = container_of(io, struct engine_listener, io);
	struct engine *eng = l->eng;

	(void)events;
	/* An event of this wake-up from before a pause or a close. */
	if (eng->accept_paused || io->fd < 0)
		return;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		union engine_sockaddr peer;
		socklen_t len = sizeof(peer);
		int fd;

		if (!take_slot(eng)) {
			limit_reached(l);
			return;
		}
		fd = accept4(io->fd, &peer.sa, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int e = errno;

			atomic_fetch_sub(&eng->sh->open_total, 1);
			if (e == EAGAIN || e == EWOULDBLOCK)
				return;
			if (e == EINTR || e == ECONNABORTED)
				continue;
			accept_failed(l, e);
			return;
		}
		conn_accepted(l, fd, &peer);
	}
}

static int bind_error(struct tlskit_error *err, const union engine_sockaddr *a,
		      const char *what)
{
	char name[64];
	int saved = errno;

	engine_format_addr(a, name, sizeof(name));
	err->category = TLSKIT_ERR_CONNECT;
	snprintf(err->message, sizeof(err->message), "%s %s: %s", what, name,
		 strerror(saved));
	errno = saved;
	return -1;
}

static void set_sockopt_int(int fd, int level, int name, int value)
{
	/* Failures only cost performance (NODELAY) or a restart's convenience
	 * (REUSEADDR); bind and listen report what matters. */
	(void)setsockopt(fd, level, name, &value, sizeof(value));
}

/* A listening socket on addr; dual_stack lets [::] take IPv4 as well. */
static int open_listen_socket(union engine_sockaddr *addr, socklen_t len,
			      const struct engine_listen_opts *o, int dual_stack,
			      struct tlskit_error *err)
{
	int fd = socket(addr->sa.sa_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return bind_error(err, addr, "listening on");
	set_sockopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (o->reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &(int){ 1 }, sizeof(int)) < 0) {
		bind_error(err, addr, "listening (SO_REUSEPORT) on");
		close(fd);
		return -1;
	}
	/* Accepted sockets inherit it: no setsockopt per connection. Without
	 * it a TLS 1.3 server waits on Nagle for ~40 ms per handshake. */
	set_sockopt_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (addr->sa.sa_family == AF_INET6)
		set_sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, !dual_stack);
	if (bind(fd, &addr->sa, len) < 0 || listen(fd, o->backlog) < 0) {
		bind_error(err, addr, "listening on");
		close(fd);
		return -1;
	}
	len = sizeof(*addr);
	if (getsockname(fd, &addr->sa, &len) < 0) {
		bind_error(err, addr, "listening on");
		close(fd);
		return -1;
	}
	return fd;
}

int listener_adopt(struct engine *eng, const struct engine_listen_opts *o,
		   int fd, const union engine_sockaddr *addr, bool exclusive,
		   struct tlskit_error *err)
{
	struct engine_listener *l = calloc(1, sizeof(*l));
	struct engine_listener **tail = &eng->listeners;

	if (!l) {
		bind_error(err, addr, "listening on");
		close(fd);
		return -1;
	}
	l->io.fd = fd;
	l->io.on_events = listener_on_events;
	l->eng = eng;
	l->handler = o->handler;
	l->handler_arg = o->handler_arg;
	l->cfg = tlskit_config_ref(o->cfg);
	l->addr = *addr;
	l->events = EPOLLIN | (exclusive ? EPOLLEXCLUSIVE : 0);
	if (engine_watch(eng, &l->io, l->events) < 0) {
		bind_error(err, addr, "listening on");
		tlskit_config_free(l->cfg);
		close(fd);
		free(l);
		return -1;
	}
	while (*tail)
		tail = &(*tail)->next;
	*tail = l;
	return 0;
}

/* "*": [::] taking IPv4 too, or 0.0.0.0 where IPv6 is missing. */
static int listen_any(struct engine *eng, const struct engine_listen_opts *o,
		      const char *port, struct tlskit_error *err)
{
	union engine_sockaddr a = { 0 };
	int fd;

	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_addr = in6addr_any;
	a.in6.sin6_port = htons((uint16_t)atoi(port));
	fd = open_listen_socket(&a, sizeof(a.in6), o, 1, err);
	if (fd < 0 && errno == EAFNOSUPPORT) {
		memset(&a, 0, sizeof(a));
		a.in.sin_family = AF_INET;
		a.in.sin_addr.s_addr = htonl(INADDR_ANY);
		a.in.sin_port = htons((uint16_t)atoi(port));
		fd = open_listen_socket(&a, sizeof(a.in), o, 0, err);
	}
	if (fd < 0 || listener_adopt(eng, o, fd, &a, false, err) < 0)
		return -1;
	if (a.sa.sa_family == AF_INET6) {
		struct engine_listener *l = eng->listeners;

		while (l->next)
			l = l->next;
		l->dual_stack = true;
	}
	return 0;
}

static int listen_resolved(struct engine *eng,
			   const struct engine_listen_opts *o,
			   const struct listen_addr *la,
			   struct tlskit_error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	in_port_t port = 0;
	int rc = getaddrinfo(la->host, la->port, &hints, &res);

	if (rc != 0) {
		err->category = TLSKIT_ERR_CONNECT;
		snprintf(err->message, sizeof(err->message),
			 "resolving listen address '%s': %s", la->host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	rc = 0;
	for (struct addrinfo *ai = res; ai && rc == 0; ai = ai->ai_next) {
		union engine_sockaddr a = { 0 };
		int fd;

		if (ai->ai_addrlen > sizeof(a))
			continue;
		memcpy(&a, ai->ai_addr, ai->ai_addrlen);
		/* Port 0 on a name with several addresses: one port for all. */
		if (port)
			set_port(&a, port);
		fd = open_listen_socket(&a, ai->ai_addrlen, o, 0, err);
		if (fd < 0 || listener_adopt(eng, o, fd, &a, false, err) < 0)
			rc = -1;
		else
			port = get_port(&a);
	}
	freeaddrinfo(res);
	return rc;
}

int engine_listen(struct engine *eng, const struct engine_listen_opts *opts,
		  struct tlskit_error *err)
{
	struct engine_listen_opts o = *opts;
	struct listen_addr la;

	if (o.backlog <= 0)
		o.backlog = ENGINE_BACKLOG_DEFAULT;
	if (parse_address(o.address, &la, err) < 0)
		return -1;
	if (!la.host[0])
		return listen_any(eng, &o, la.port, err);
	return listen_resolved(eng, &o, &la, err);
}

int engine_check_address(const char *address, struct tlskit_error *err)
{
	struct listen_addr la;

	return parse_address(address, &la, err);
}

int engine_listener_name(const struct engine *eng, size_t i, char *buf,
			 size_t len)
{
	const struct engine_listener *l = eng->listeners;

	while (l && i--)
		l = l->next;
	if (!l)
		return -1;
	engine_format_addr(&l->addr, buf, len);
	return 0;
}

int listener_clone(struct engine *eng, const struct engine_listener *src,
		   const struct engine_listen_opts *o, struct tlskit_error *err)
{
	union engine_sockaddr a = src->addr;
	socklen_t len = a.sa.sa_family == AF_INET6 ? sizeof(a.in6) : sizeof(a.in);
	int fd = open_listen_socket(&a, len, o, src->dual_stack, err);

	if (fd < 0 || listener_adopt(eng, o, fd, &a, false, err) < 0)
		return -1;
	return 0;
}

void listener_close_all(struct engine *eng)
{
	while (eng->listeners) {
		struct engine_listener *l = eng->listeners;

		eng->listeners = l->next;
		close(l->io.fd);
		l->io.fd = -1;
		tlskit_config_free(l->cfg);
		l->cfg = NULL;
		/* Events of this wake-up may still point at it. */
		l->next = eng->closed_listeners;
		eng->closed_listeners = l;
	}
}

void listener_free_closed(struct engine *eng)
{
	while (eng->closed_listeners) {
		struct engine_listener *l = eng->closed_listeners;

		eng->closed_listeners = l->next;
		free(l);
	}
}
