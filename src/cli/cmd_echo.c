/*
 * cmd_echo.c - `tlskit echo`: a TLS echo server on the engine.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
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
	"bytes, duration, or why the handshake failed). SIGINT or SIGTERM stop it.\n"
	"\n"
	"  --listen HOST:PORT     where to listen (default " ECHO_LISTEN_DEFAULT ");\n"
	"                         [::1]:8443 for IPv6, *:8443 for every address,\n"
	"                         port 0 for any free port (the real one is printed)\n"
	"  --cert FILE --key FILE the server certificate chain and its key (PEM);\n"
	"                         without them a development CA and a localhost\n"
	"                         certificate are made once in $TLSKIT_HOME (default\n"
	"                         ~/.local/state/tlskit) and reused\n"
	"  --ca FILE              CAs trusted for client certificates\n"
	"  --verify-client MODE   none (default), optional, require\n"
	"  --min-version V        lowest TLS version accepted: 1.2 (default), 1.3\n"
	"  --max-version V        highest TLS version accepted (default 1.3)\n"
	"  --ciphers LIST         TLS 1.2 ciphers (OpenSSL syntax)\n"
	"  --ciphersuites LIST    TLS 1.3 ciphersuites\n"
	"  --groups LIST          key exchange groups, e.g. X25519:P-256\n"
	"  --alpn LIST            ALPN protocols in preference order, e.g. h2,http/1.1\n"
	"  -h, --help             this help\n"
	"\n";

enum { OPT_LISTEN = OPT_CLI_TLS_LAST };

static const struct option echo_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
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
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct echo_args {
	struct cli_tls_opts tls;
	const char *listen;
	int help;
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

static int parse_args(int argc, char **argv, struct echo_args *a)
{
	struct tlskit_error err = { 0 };
	char opt[8];
	int c;

	a->listen = ECHO_LISTEN_DEFAULT;
	optind = 1;
	/* '+': stop at the first operand; ':': we word the errors ourselves. */
	while ((c = getopt_long(argc, argv, "+:h", echo_options, NULL)) != -1) {
		if (c == 'h') {
			a->help = 1;
			return 0;
		}
		if (c == OPT_LISTEN) {
			a->listen = optarg;
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
	if (engine_check_address(a->listen, &err) < 0) {
		cli_error("echo", "%s", err.message);
		return CLI_EXIT_USAGE;
	}
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
static void print_listening(const struct engine *eng)
{
	char name[96];

	for (size_t i = 0; engine_listener_name(eng, i, name, sizeof(name)) == 0;
	     i++)
		fprintf(stderr, "tlskit: echo: listening on %s\n", name);
}

static int serve(tlskit_config *cfg, const char *listen)
{
	struct tlskit_error err = { 0 };
	struct engine_listen_opts lo = {
		.address = listen,
		.handler = &engine_echo_handler,
		.cfg = cfg,
	};
	struct engine *eng;
	int rc = CLI_EXIT_OK;

	engine_raise_fd_limit();
	eng = engine_new(ENGINE_LOG_TEXT, &err);
	if (!eng) {
		cli_error("echo", "%s", err.message);
		return CLI_EXIT_IO;
	}
	if (engine_handle_signals(eng, &err) < 0 ||
	    engine_listen(eng, &lo, &err) < 0) {
		cli_error("echo", "%s", err.message);
		rc = cli_exit_code(err.category);
		goto out;
	}
	print_listening(eng);
	if (engine_run(eng, &err) < 0) {
		cli_error("echo", "%s", err.message);
		rc = CLI_EXIT_IO;
		goto out;
	}
	if (engine_stop_signal(eng))
		cli_error("echo", "stopping (%s)",
			  engine_stop_signal(eng) == SIGINT ? "SIGINT" : "SIGTERM");
out:
	engine_free(eng);
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
	rc = serve(cfg, a.listen);
	tlskit_config_free(cfg);
	return rc;
}
