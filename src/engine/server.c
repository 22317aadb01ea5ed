/*
 * server.c - N workers (one engine per thread) and the main thread that
 * handles signals, reloads and the stats timer.
 *
 * The main thread never touches a worker's connections: it sets command
 * bits and wakes the worker's control eventfd (drain, stop, reload), and
 * reads the counters with relaxed loads. A reload hands each worker a
 * reference to the new configuration; its listeners switch to it, while
 * established connections keep the configuration they started with
 * (tlskit_config is reference-counted).
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "engine_internal.h"

/* Descriptors kept back from --max-conns' default: listeners, epoll and
 * eventfds, log files, a reload's certificate files. */
#define FD_RESERVE 64

struct worker {
	struct engine_server *srv;
	struct engine *eng;
	pthread_t thread;
	bool started;
	int rc;
	struct tlskit_error err;
};

struct engine_server {
	struct engine_server_opts opts;
	struct engine_shared sh;
	unsigned int nworkers;
	struct worker *workers;
	tlskit_config *cfg;       /* for new connections; swapped by SIGHUP */
	int sigfd;
	int done_fd;              /* eventfd: a worker finished */
	int stop_signal;
	unsigned int signals_seen;
};

unsigned int engine_cpu_count(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	return n > 0 ? (unsigned int)n : 1;
}

static int sys_error(struct tlskit_error *err, const char *what)
{
	err->category = TLSKIT_ERR_SYSTEM;
	snprintf(err->message, sizeof(err->message), "%s: %s", what,
		 strerror(errno));
	return -1;
}

static uint64_t ms_to_ns(unsigned int ms)
{
	return ms ? (uint64_t)ms * NS_PER_MS : DEADLINE_NEVER;
}

static void set_limits(struct engine_server *srv)
{
	const struct engine_server_opts *o = &srv->opts;
	struct engine_shared *sh = &srv->sh;
	long fds = engine_raise_fd_limit();

	sh->max_conns = o->max_conns;
	if (sh->max_conns <= 0) {
		sh->max_conns = fds - FD_RESERVE - 4 * (long)srv->nworkers;
		if (sh->max_conns < 1)
			sh->max_conns = 1;
	}
	sh->handshake_timeout_ns = ms_to_ns(o->handshake_timeout_ms);
	sh->idle_timeout_ns = ms_to_ns(o->idle_timeout_ms);
	/* 0: close at once (not "wait forever", as for the other two). */
	sh->drain_timeout_ns = (uint64_t)o->drain_timeout_ms * NS_PER_MS;
	sh->log_format = o->log_format;
	snprintf(sh->hs_timeout_reason, sizeof(sh->hs_timeout_reason),
		 "handshake timeout (not complete within %u.%03u s of accept)",
		 o->handshake_timeout_ms / 1000, o->handshake_timeout_ms % 1000);
	snprintf(sh->idle_timeout_reason, sizeof(sh->idle_timeout_reason),
		 "idle timeout (no data for %u.%03u s)",
		 o->idle_timeout_ms / 1000, o->idle_timeout_ms % 1000);
}

/* Blocked in every thread (the workers inherit the mask) and read by the
 * main thread from a signalfd. */
static int take_signals(struct engine_server *srv, struct tlskit_error *err)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return sys_error(err, "blocking signals");
	srv->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (srv->sigfd < 0)
		return sys_error(err, "watching signals (signalfd)");
	return 0;
}

static struct engine_listen_opts listen_opts(const struct engine_server *srv,
					     const char *address)
{
	struct engine_listen_opts lo = {
		.address = address,
		.backlog = srv->opts.backlog,
		.handler = srv->opts.handler,
		.handler_arg = srv->opts.handler_arg,
		.cfg = srv->cfg,
		.reuseport = srv->nworkers > 1 &&
			     srv->opts.balance == ENGINE_BALANCE_REUSEPORT,
	};

	if (lo.backlog <= 0)
		lo.backlog = ENGINE_BACKLOG_DEFAULT;
	return lo;
}

/* One listening socket shared by every worker, each woken alone. */
static int share_listeners(struct engine_server *srv, struct engine *eng,
			   struct tlskit_error *err)
{
	struct engine *first = srv->workers[0].eng;
	struct engine_listen_opts lo = listen_opts(srv, NULL);

	for (struct engine_listener *l = first->listeners; l; l = l->next) {
		int fd = dup(l->io.fd);

		if (fd < 0)
			return sys_error(err, "sharing a listening socket");
		if (listener_adopt(eng, &lo, fd, &l->addr, true, err) < 0)
			return -1;
	}
	return 0;
}

static int make_exclusive(struct engine *eng, struct tlskit_error *err)
{
	for (struct engine_listener *l = eng->listeners; l; l = l->next) {
		(void)epoll_ctl(eng->epfd, EPOLL_CTL_DEL, l->io.fd, NULL);
		l->events |= EPOLLEXCLUSIVE;
		if (engine_watch(eng, &l->io, l->events) < 0)
			return sys_error(err, "watching a listening socket (EPOLLEXCLUSIVE)");
	}
	return 0;
}

static int bind_listeners(struct engine_server *srv, struct tlskit_error *err)
{
	struct engine *first = srv->workers[0].eng;
	bool exclusive = srv->opts.balance == ENGINE_BALANCE_EXCLUSIVE;

	for (size_t i = 0; i < srv->opts.listen_count; i++) {
		struct engine_listen_opts lo = listen_opts(srv, srv->opts.listen[i]);

		if (engine_listen(first, &lo, err) < 0)
			return -1;
	}
	if (srv->nworkers > 1 && exclusive && make_exclusive(first, err) < 0)
		return -1;
	for (unsigned int w = 1; w < srv->nworkers; w++) {
		struct engine *eng = srv->workers[w].eng;
		struct engine_listen_opts lo = listen_opts(srv, NULL);

		if (exclusive) {
			if (share_listeners(srv, eng, err) < 0)
				return -1;
			continue;
		}
		/* Same addresses, real ports (port 0 was resolved by the
		 * first worker's bind). */
		for (struct engine_listener *l = first->listeners; l; l = l->next)
			if (listener_clone(eng, l, &lo, err) < 0)
				return -1;
	}
	return 0;
}

struct engine_server *engine_server_new(const struct engine_server_opts *o,
					struct tlskit_error *err)
{
	struct engine_server *srv = calloc(1, sizeof(*srv));

	if (!srv) {
		sys_error(err, "creating the server");
		return NULL;
	}
	srv->opts = *o;
	srv->sigfd = -1;
	srv->nworkers = o->workers ? o->workers : engine_cpu_count();
	srv->cfg = tlskit_config_ref(o->cfg);
	set_limits(srv);
	srv->done_fd = eventfd(0, EFD_CLOEXEC);
	srv->workers = calloc(srv->nworkers, sizeof(*srv->workers));
	if (srv->done_fd < 0 || !srv->workers) {
		sys_error(err, "creating the server");
		goto fail;
	}
	if (take_signals(srv, err) < 0)
		goto fail;
	for (unsigned int w = 0; w < srv->nworkers; w++) {
		srv->workers[w].srv = srv;
		srv->workers[w].eng = engine_new(&srv->sh, w, err);
		if (!srv->workers[w].eng)
			goto fail;
	}
	if (bind_listeners(srv, err) < 0)
		goto fail;
	return srv;
fail:
	engine_server_free(srv);
	return NULL;
}

void engine_server_free(struct engine_server *srv)
{
	if (!srv)
		return;
	for (unsigned int w = 0; srv->workers && w < srv->nworkers; w++)
		engine_free(srv->workers[w].eng);
	free(srv->workers);
	tlskit_config_free(srv->cfg);
	if (srv->sigfd >= 0)
		close(srv->sigfd);
	if (srv->done_fd >= 0)
		close(srv->done_fd);
	free(srv);
}

int engine_server_listener_name(const struct engine_server *srv, size_t i,
				char *buf, size_t len)
{
	return engine_listener_name(srv->workers[0].eng, i, buf, len);
}

unsigned int engine_server_workers(const struct engine_server *srv)
{
	return srv->nworkers;
}

long engine_server_max_conns(const struct engine_server *srv)
{
	return srv->sh.max_conns;
}

int engine_server_stop_signal(const struct engine_server *srv)
{
	return srv->stop_signal;
}

int engine_drop_privileges(const char *user, struct tlskit_error *err)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		err->category = TLSKIT_ERR_USAGE;
		snprintf(err->message, sizeof(err->message),
			 "dropping privileges to user '%s': %s", user,
			 errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		int e = errno;

		err->category = TLSKIT_ERR_SYSTEM;
		snprintf(err->message, sizeof(err->message),
			 "dropping privileges to user '%s': %s", user,
			 strerror(e));
		return -1;
	}
	/* Root must not be able to come back. */
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		err->category = TLSKIT_ERR_SYSTEM;
		snprintf(err->message, sizeof(err->message),
			 "dropping privileges to user '%s': root privileges could be regained",
			 user);
		return -1;
	}
	return 0;
}

/* ---- running ---------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t one = 1;

	w->rc = engine_run(w->eng, &w->err);
	(void)!write(w->srv->done_fd, &one, sizeof(one));
	return NULL;
}

static void command_all(struct engine_server *srv, unsigned int cmd)
{
	for (unsigned int w = 0; w < srv->nworkers; w++)
		if (srv->workers[w].started)
			engine_command(srv->workers[w].eng, cmd);
}

static const char *name(const struct engine_server *srv)
{
	return srv->opts.handler->name;
}

static void print_stats(struct engine_server *srv, const char *why)
{
	struct engine_stats total = { 0 };
	struct engine_stats *per = calloc(srv->nworkers, sizeof(*per));

	if (!per)
		return;
	for (unsigned int w = 0; w < srv->nworkers; w++) {
		uint64_t *dst = (uint64_t *)(void *)&total;
		const uint64_t *src = (const uint64_t *)(void *)&per[w];

		engine_read_stats(srv->workers[w].eng, &per[w]);
		for (size_t i = 0; i < sizeof(total) / sizeof(uint64_t); i++)
			dst[i] += src[i];
	}
	log_stats(srv->opts.log_format, why, &total, srv->nworkers, per);
	free(per);
}

static void reload(struct engine_server *srv)
{
	struct tlskit_error err = { 0 };
	tlskit_config *cfg;

	if (!srv->opts.reload) {
		log_event(srv->opts.log_format, name(srv),
			  "reload failed: not supported; keeping the previous configuration");
		return;
	}
	cfg = srv->opts.reload(srv->opts.reload_arg, &err);
	if (!cfg) {
		log_event(srv->opts.log_format, name(srv),
			  "reload failed: %s; keeping the previous configuration",
			  err.message[0] ? err.message : "unknown error");
		return;
	}
	for (unsigned int w = 0; w < srv->nworkers; w++) {
		struct engine *eng = srv->workers[w].eng;

		tlskit_config_free(atomic_exchange(&eng->pending_cfg,
						   tlskit_config_ref(cfg)));
		engine_command(eng, ENGINE_CMD_RELOAD);
	}
	tlskit_config_free(srv->cfg);
	srv->cfg = cfg;
	log_event(srv->opts.log_format, name(srv),
		  "reloaded certificates and keys (SIGHUP): new connections use them");
}

static const char *signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

static void stop_requested(struct engine_server *srv, int sig)
{
	struct engine_stats st;
	uint64_t open = 0;

	for (unsigned int w = 0; w < srv->nworkers; w++) {
		engine_read_stats(srv->workers[w].eng, &st);
		open += st.open;
	}
	if (srv->signals_seen++ == 0) {
		srv->stop_signal = sig;
		log_event(srv->opts.log_format, name(srv),
			  "stopping (%s): not accepting; %llu connections may finish within %g s (a second signal stops at once)",
			  signal_name(sig), (unsigned long long)open,
			  srv->opts.drain_timeout_ms / 1000.0);
		command_all(srv, ENGINE_CMD_DRAIN);
		return;
	}
	log_event(srv->opts.log_format, name(srv),
		  "stopping now (second signal, %s): closing %llu connections",
		  signal_name(sig), (unsigned long long)open);
	command_all(srv, ENGINE_CMD_STOP);
}

static void on_signals(struct engine_server *srv)
{
	struct signalfd_siginfo si;

	while (read(srv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload(srv);
			break;
		case SIGUSR1:
			print_stats(srv, name(srv));
			break;
		default:
			stop_requested(srv, (int)si.ssi_signo);
			break;
		}
	}
}

static int start_workers(struct engine_server *srv, struct tlskit_error *err)
{
	for (unsigned int w = 0; w < srv->nworkers; w++) {
		struct worker *wk = &srv->workers[w];
		char tname[16];
		int rc = pthread_create(&wk->thread, NULL, worker_main, wk);

		if (rc != 0) {
			errno = rc;
			return sys_error(err, "starting a worker thread");
		}
		wk->started = true;
		snprintf(tname, sizeof(tname), "tlskit-w%u", w % 10000);
		(void)pthread_setname_np(wk->thread, tname);
	}
	return 0;
}

/* The main thread's loop: signals, the stats timer, finished workers. */
static void supervise(struct engine_server *srv, unsigned int running)
{
	uint64_t interval = srv->opts.stats_interval_ms * NS_PER_MS;
	uint64_t next_stats = engine_now_ns() + interval;

	while (running > 0) {
		struct pollfd fds[2] = {
			{ .fd = srv->sigfd, .events = POLLIN },
			{ .fd = srv->done_fd, .events = POLLIN },
		};
		uint64_t now = engine_now_ns();
		int timeout = -1;

		if (interval)
			timeout = next_stats <= now ? 0 :
				(int)((next_stats - now + NS_PER_MS - 1) / NS_PER_MS);
		if (poll(fds, 2, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN)
			on_signals(srv);
		if (fds[1].revents & POLLIN) {
			uint64_t done = 0;

			if (read(srv->done_fd, &done, sizeof(done)) == sizeof(done))
				running -= done > running ? running : (unsigned int)done;
			/* A worker failed on its own: the others stop too. */
			if (running > 0 && !srv->signals_seen++)
				command_all(srv, ENGINE_CMD_STOP);
		}
		if (interval && engine_now_ns() >= next_stats) {
			print_stats(srv, name(srv));
			next_stats += interval;
			if (next_stats < engine_now_ns())
				next_stats = engine_now_ns() + interval;
		}
	}
}

int engine_server_run(struct engine_server *srv, struct tlskit_error *err)
{
	int rc = start_workers(srv, err);
	unsigned int running = 0;

	for (unsigned int w = 0; w < srv->nworkers; w++)
		running += srv->workers[w].started;
	if (rc < 0)
		command_all(srv, ENGINE_CMD_STOP);
	supervise(srv, running);
	for (unsigned int w = 0; w < srv->nworkers; w++) {
		struct worker *wk = &srv->workers[w];

		if (!wk->started)
			continue;
		pthread_join(wk->thread, NULL);
		wk->started = false;
		if (wk->rc < 0 && rc == 0) {
			*err = wk->err;
			rc = -1;
		}
	}
	return rc;
}
