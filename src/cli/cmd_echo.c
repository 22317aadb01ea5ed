/*
 * cmd_echo.c - `tlskit echo`: a TLS echo server on the engine.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "devca.h"
#include "engine/engine.h"

#define ECHO_LISTEN_DEFAULT "127.0.0.1:8443"

static const char echo_usage[] =
	"usage: tlskit echo [options]\n"
	"\n"
	"A TLS echo server: every byte a client sends comes back. One line per\n"
	"connection on stderr (peer, TLS version, cipher, client certificate,\n"
	"bytes, duration, or why the handshake failed).\n"
	"SIGTERM/SIGINT: stop accepting, let open connections finish (up to\n"
	"--drain-timeout), then close the rest; a second signal stops at once.\n"
	"SIGHUP: reload certificates, keys and CA files for new connections.\n"
	"SIGUSR1: print the counters.\n"
	"\n"
	"  --listen HOST:PORT     where to listen (default " ECHO_LISTEN_DEFAULT ");\n"
	"                         [::1]:8443 for IPv6, *:8443 for every address,\n"
	"                         port 0 for any free port (the real one is printed);\n"
	"                         repeatable\n"
	"  --workers N            worker threads (default: the CPUs this process may\n"
	"                         run on)\n"
	"  --max-conns N          connections open at once, whole server (default:\n"
	"                         from the open-files limit); at the limit new\n"
	"                         clients wait in the backlog\n"
	"  --backlog N            listen backlog (default 1024)\n"
	"  --handshake-timeout S  seconds from accept to a complete handshake\n"
	"                         (default 10; 0: none)\n"
	"  --idle-timeout S       seconds without data after the handshake (default\n"
	"                         300; 0: none)\n"
	"  --drain-timeout S      seconds open connections get after SIGTERM\n"
	"                         (default 30; 0: close them at once)\n"
	"  --stats-interval S     print the counters every S seconds (default: only\n"
	"                         on SIGUSR1)\n"
	"  --log-format F         text (default) or json (one object per line)\n"
	"  --user NAME            run as NAME after binding and loading the keys\n"
	"  --balance MODE         reuseport (default: a socket per worker) or\n"
	"                         exclusive (one socket, EPOLLEXCLUSIVE)\n"
	"  --cert FILE --key FILE the server certificate chain and its key (PEM);\n"
	"                         without them a development CA and a localhost\n"
	"                         certificate are made once in $TLSKIT_HOME (default\n"
	"                         ~/.local/state/tlskit) and reused. Repeatable, in\n"
	"                         pairs: the client's SNI picks every certificate\n"
	"                         whose names (SANs, else CN; wildcards) hold it, so\n"
	"                         an RSA and an ECDSA one may serve the same names;\n"
	"                         the first is the default (no SNI, unknown name)\n"
	"  --sni-strict           refuse clients without SNI or asking for a name no\n"
	"                         certificate holds (unrecognized_name alert)\n"
	"  --ca FILE              CAs trusted for client certificates\n"
	"  --verify-client MODE   none (default), optional, require\n"
	"  --min-version V        lowest TLS version accepted: 1.2 (default), 1.3\n"
	"  --max-version V        highest TLS version accepted (default 1.3)\n"
	"  --ciphers LIST         TLS 1.2 ciphers (OpenSSL syntax)\n"
	"  --ciphersuites LIST    TLS 1.3 ciphersuites\n"
	"  --groups LIST          key exchange groups, e.g. X25519:P-256\n"
	"  --alpn LIST            ALPN protocols in preference order, e.g. h2,http/1.1\n"
	"  --allow-cn NAME        admit only clients whose certificate has this CN,\n"
	"  --allow-san-dns NAME   this DNS SAN,\n"
	"  --allow-san-uri URI    this URI SAN (a SPIFFE ID),\n"
	"  --allow-ou NAME        this OU,\n"
	"  --allow-fingerprint sha256:HEX\n"
	"                         or this SHA-256 fingerprint. Repeatable, any match\n"
	"                         admits; checked after the chain verifies; implies\n"
	"                         --verify-client require. A refused client gets an\n"
	"                         alert and a log line saying why\n"
	"  --profile NAME         Mozilla profile: modern (TLS 1.3 only),\n"
	"                         intermediate (default), old (TLS 1.0+, weak)\n"
	"  --keylog FILE|env      append TLS secrets to FILE (env: $SSLKEYLOGFILE)\n"
	"                         for Wireshark; debugging only\n"
	"  --ticket-keys FILE     shared session ticket keys (nginx format: 48 or\n"
	"                         80 random bytes, e.g. openssl rand 80); repeatable:\n"
	"                         the first encrypts, all decrypt. Default: keys of\n"
	"                         our own, rotated every 12 hours\n"
	"  --no-tickets           no session tickets, no session cache: no resumption\n"
	"  --crl FILE             CRL (PEM or DER) to check client certificates\n"
	"                         against; repeatable. Fail-closed: an issuer\n"
	"                         without a CRL here, or with an expired one, fails\n"
	"  --crl-check MODE       leaf (default: the client's certificate) or chain\n"
	"                         (every certificate up to the CA)\n"
	"  --ocsp-staple FILE     staple this OCSP response (DER, e.g. from\n"
	"                         `openssl ocsp -respout`) for clients that ask\n"
	"  -h, --help             this help\n"
	"\n";

enum {
	OPT_LISTEN = OPT_CLI_TLS_LAST,
	OPT_WORKERS,
	OPT_MAX_CONNS,
	OPT_BACKLOG,
	OPT_HANDSHAKE_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_DRAIN_TIMEOUT,
	OPT_STATS_INTERVAL,
	OPT_LOG_FORMAT,
	OPT_USER,
	OPT_BALANCE,
};

static const struct option echo_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "backlog", required_argument, NULL, OPT_BACKLOG },
	{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "user", required_argument, NULL, OPT_USER },
	{ "balance", required_argument, NULL, OPT_BALANCE },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "verify-client", required_argument, NULL, OPT_VERIFY_CLIENT },
	{ "min-version", required_argument, NULL, OPT_MIN_VERSION },
	{ "max-version", required_argument, NULL, OPT_MAX_VERSION },
	{ "ciphers", required_argument, NULL, OPT_CIPHERS },
	{ "ciphersuites", required_argument, NULL, OPT_CIPHERSUITES },
	{ "groups", required_argument, NULL, OPT_GROUPS },
	{ "alpn", required_argument, NULL, OPT_ALPN },
	{ "allow-cn", required_argument, NULL, OPT_ALLOW_CN },
	{ "allow-san-dns", required_argument, NULL, OPT_ALLOW_SAN_DNS },
	{ "allow-san-uri", required_argument, NULL, OPT_ALLOW_SAN_URI },
	{ "allow-ou", required_argument, NULL, OPT_ALLOW_OU },
	{ "allow-fingerprint", required_argument, NULL, OPT_ALLOW_FINGERPRINT },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "keylog", required_argument, NULL, OPT_KEYLOG },
	{ "ticket-keys", required_argument, NULL, OPT_TICKET_KEYS },
	{ "no-tickets", no_argument, NULL, OPT_NO_TICKETS },
	{ "sni-strict", no_argument, NULL, OPT_SNI_STRICT },
	{ "crl", required_argument, NULL, OPT_CRL },
	{ "crl-check", required_argument, NULL, OPT_CRL_CHECK },
	{ "ocsp-staple", required_argument, NULL, OPT_OCSP_STAPLE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define ECHO_LISTEN_MAX 16

struct echo_args {
	struct cli_tls_opts tls;
	const char *listen[ECHO_LISTEN_MAX];
	size_t listen_count;
	struct engine_server_opts srv;
	const char *user;
	int help;
	/* Our reference to the config serving now: a reload takes over its
	 * own session ticket keys, so tickets resume across SIGHUP. */
	tlskit_config *live;
};

static int usage_error(const char *what, const char *arg)
{
	cli_error("echo", "%s '%s' (see 'tlskit echo --help')", what, arg);
	return CLI_EXIT_USAGE;
}

/* The option getopt stopped at, as the user wrote it. */
static const char *bad_option(char **argv, char *buf, size_t len)
{
	if (optopt > 0 && optopt < 256) {
		snprintf(buf, len, "-%c", optopt);
		return buf;
	}
	return argv[optind - 1];
}

/* A whole number from min to max. */
static int parse_count(const char *opt, const char *text, long min, long max,
		       long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		cli_error("echo", "%s: '%s' is not a whole number from %ld to %ld",
			  opt, text, min, max);
		return CLI_EXIT_USAGE;
	}
	*out = v;
	return 0;
}

/* Seconds (fractions allowed) into milliseconds; 0 allowed if zero_ok. */
static int parse_seconds(const char *opt, const char *text, int zero_ok,
			 unsigned int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(v) || v < 0 ||
	    v > 1e6 || (!zero_ok && v * 1000 < 1)) {
		cli_error("echo", "%s: '%s' is not a number of seconds from %s to 1000000",
			  opt, text, zero_ok ? "0" : "0.001");
		return CLI_EXIT_USAGE;
	}
	*ms = (unsigned int)(v * 1000 + 0.5);
	return 0;
}

static int parse_choice(const char *opt, const char *text, const char *a,
			const char *b, int *out)
{
	if (strcmp(text, a) == 0 || strcmp(text, b) == 0) {
		*out = strcmp(text, b) == 0;
		return 0;
	}
	cli_error("echo", "%s: unknown value '%s' (%s, %s)", opt, text, a, b);
	return CLI_EXIT_USAGE;
}

static int add_listen(struct echo_args *a, const char *address)
{
	struct tlskit_error err = { 0 };

	if (a->listen_count == ECHO_LISTEN_MAX) {
		cli_error("echo", "--listen: given too often (at most %d)",
			  ECHO_LISTEN_MAX);
		return CLI_EXIT_USAGE;
	}
	if (engine_check_address(address, &err) < 0) {
		cli_error("echo", "%s", err.message);
		return CLI_EXIT_USAGE;
	}
	a->listen[a->listen_count++] = address;
	return 0;
}

/* The engine's options; 1 if c was one (rc set), 0 if not. */
static int server_opt(struct echo_args *a, int c, const char *arg, int *rc)
{
	struct engine_server_opts *o = &a->srv;
	long v = 0;
	int choice = 0;

	switch (c) {
	case OPT_LISTEN:
		*rc = add_listen(a, arg);
		return 1;
	case OPT_WORKERS:
		*rc = parse_count("--workers", arg, 1, 1024, &v);
		o->workers = (unsigned int)v;
		return 1;
	case OPT_MAX_CONNS:
		*rc = parse_count("--max-conns", arg, 1, 100000000, &o->max_conns);
		return 1;
	case OPT_BACKLOG:
		*rc = parse_count("--backlog", arg, 1, 1000000, &v);
		o->backlog = (int)v;
		return 1;
	case OPT_HANDSHAKE_TIMEOUT:
		*rc = parse_seconds("--handshake-timeout", arg, 1,
				    &o->handshake_timeout_ms);
		return 1;
	case OPT_IDLE_TIMEOUT:
		*rc = parse_seconds("--idle-timeout", arg, 1, &o->idle_timeout_ms);
		return 1;
	case OPT_DRAIN_TIMEOUT:
		*rc = parse_seconds("--drain-timeout", arg, 1, &o->drain_timeout_ms);
		return 1;
	case OPT_STATS_INTERVAL:
		*rc = parse_seconds("--stats-interval", arg, 0,
				    &o->stats_interval_ms);
		return 1;
	case OPT_LOG_FORMAT:
		*rc = parse_choice("--log-format", arg, "text", "json", &choice);
		o->log_format = choice ? ENGINE_LOG_JSON : ENGINE_LOG_TEXT;
		return 1;
	case OPT_BALANCE:
		*rc = parse_choice("--balance", arg, "reuseport", "exclusive",
				   &choice);
		o->balance = choice ? ENGINE_BALANCE_EXCLUSIVE :
				      ENGINE_BALANCE_REUSEPORT;
		return 1;
	case OPT_USER:
		a->user = arg;
		return 1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct echo_args *a)
{
	char opt[8];
	int c, rc = 0;

	a->srv.handshake_timeout_ms = 10 * 1000;
	a->srv.idle_timeout_ms = 300 * 1000;
	a->srv.drain_timeout_ms = 30 * 1000;
	optind = 1;
	/* '+': stop at the first operand; ':': we word the errors ourselves. */
	while ((c = getopt_long(argc, argv, "+:h", echo_options, NULL)) != -1) {
		if (c == 'h') {
			a->help = 1;
			return 0;
		}
		if (server_opt(a, c, optarg, &rc)) {
			if (rc != 0)
				return rc;
			continue;
		}
		if (cli_tls_opt(&a->tls, c, optarg))
			continue;
		if (c == ':')
			return usage_error("missing argument for option",
					   bad_option(argv, opt, sizeof(opt)));
		return usage_error("unknown option",
				   bad_option(argv, opt, sizeof(opt)));
	}
	if (optind < argc)
		return usage_error("echo takes only options; unexpected argument",
				   argv[optind]);
	if (a->listen_count == 0)
		a->listen[a->listen_count++] = ECHO_LISTEN_DEFAULT;
	return 0;
}

/* No --cert: the development certificate, made once and reused. */
static int use_dev_cert(struct echo_args *a, struct devca *dev)
{
	struct tlskit_error err = { 0 };

	if (devca_ensure(dev, &err) < 0) {
		cli_error("echo", "development certificate: %s", err.message);
		return err.category == TLSKIT_ERR_NONE ?
			       CLI_EXIT_CONFIG : cli_exit_code(err.category);
	}
	if (dev->created_ca)
		cli_error("echo", "created a development CA: %s", dev->ca_cert);
	a->tls.cert = dev->cert;
	a->tls.key = dev->key;
	return 0;
}

static void warn_validity(tlskit_config *cfg)
{
	struct tlskit_error err = { 0 };

	if (tlskit_config_cert_validity(cfg, &err) < 0)
		cli_warn("echo", "%s; serving it anyway", err.message);
}

/* Tests read the port from this line when they listen on port 0. */
static void print_listening(const struct engine_server *srv)
{
	char name[96];

	for (size_t i = 0;
	     engine_server_listener_name(srv, i, name, sizeof(name)) == 0; i++)
		fprintf(stderr, "tlskit: echo: listening on %s\n", name);
	fprintf(stderr, "tlskit: echo: %u workers, max-conns %ld\n",
		engine_server_workers(srv), engine_server_max_conns(srv));
}

/* SIGHUP: the same options, the files read again. The reason of a failure
 * comes back in err, for the server's one-line report. */
static tlskit_config *reload_config(void *arg, struct tlskit_error *err)
{
	struct echo_args *a = arg;
	tlskit_config *cfg = NULL;
	int rc;

	cli_capture_errors(err->message, sizeof(err->message));
	rc = cli_tls_config("echo", &a->tls, TLSKIT_SERVER, &cfg);
	cli_capture_errors(NULL, 0);
	if (rc != 0) {
		err->category = TLSKIT_ERR_CONFIG;
		return NULL;
	}
	if (a->live && tlskit_config_inherit_tickets(cfg, a->live) < 0) {
		*err = (struct tlskit_error){ .category = TLSKIT_ERR_SYSTEM };
		snprintf(err->message, sizeof(err->message), "%s",
			 tlskit_config_error(cfg));
		tlskit_config_free(cfg);
		return NULL;
	}
	tlskit_config_free(a->live);
	a->live = tlskit_config_ref(cfg);
	return cfg;
}

static int serve(struct echo_args *a, tlskit_config *cfg)
{
	struct tlskit_error err = { 0 };
	struct engine_server *srv;
	int rc = CLI_EXIT_OK;

	a->srv.listen = a->listen;
	a->srv.listen_count = a->listen_count;
	a->srv.handler = &engine_echo_handler;
	a->srv.cfg = cfg;
	a->srv.reload = reload_config;
	a->srv.reload_arg = a;
	srv = engine_server_new(&a->srv, &err);
	if (!srv) {
		cli_error("echo", "%s", err.message);
		return cli_exit_code(err.category);
	}
	a->live = tlskit_config_ref(cfg);
	if (a->user && engine_drop_privileges(a->user, &err) < 0) {
		cli_error("echo", "%s", err.message);
		rc = cli_exit_code(err.category);
		goto out;
	}
	print_listening(srv);
	if (engine_server_run(srv, &err) < 0) {
		cli_error("echo", "%s", err.message);
		rc = CLI_EXIT_IO;
		goto out;
	}
	if (engine_server_stop_signal(srv))
		cli_error("echo", "stopped (%s)",
			  engine_server_stop_signal(srv) == SIGINT ? "SIGINT" :
								   "SIGTERM");
out:
	engine_server_free(srv);
	tlskit_config_free(a->live);
	a->live = NULL;
	return rc;
}

int cmd_echo(int argc, char **argv)
{
	struct echo_args a = { 0 };
	struct devca dev;
	tlskit_config *cfg = NULL;
	int use_dev, rc = parse_args(argc, argv, &a);

	if (rc != 0)
		return rc;
	if (a.help) {
		fputs(echo_usage, stdout);
		fputs(cli_exit_codes_help, stdout);
		return CLI_EXIT_OK;
	}
	use_dev = !a.tls.cert && !a.tls.key;
	if (use_dev && (rc = use_dev_cert(&a, &dev)) != 0)
		return rc;
	rc = cli_tls_config("echo", &a.tls, TLSKIT_SERVER, &cfg);
	if (rc != 0)
		return rc;
	warn_validity(cfg);
	if (use_dev)
		fprintf(stderr, "tlskit: echo: using development certificate %s; "
			"clients verify with --ca %s\n", dev.cert, dev.ca_cert);
	rc = serve(&a, cfg);
	tlskit_config_free(cfg);
	return rc;
}
