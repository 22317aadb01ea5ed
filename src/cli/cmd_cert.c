/*
 * cmd_cert.c - `tlskit cert new`: keys and certificates for test PKI.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char cert_usage[] =
	"usage: tlskit cert new KIND --out PREFIX [options]\n"
	"\n"
	"Writes PREFIX.pem (certificate) and PREFIX.key (private key, mode 0600).\n"
	"\n"
	"KIND: ca (root CA), server, client (both signed by --ca/--ca-key),\n"
	"      self-signed (a leaf for serverAuth and clientAuth)\n"
	"\n"
	"  --out PREFIX          where to write PREFIX.pem and PREFIX.key\n"
	"  --cn NAME             subject common name (leaves: default the first SAN)\n"
	"  --san LIST            comma list: DNS names, IP addresses, DNS:x, IP:x,\n"
	"                        email:x, URI:x\n"
	"  --ca FILE --ca-key FILE  the issuer (server, client)\n"
	"  --key-type TYPE       ec-p256 (default), ec-p384, ed25519, rsa2048,\n"
	"                        rsa3072, rsa4096\n"
	"  --days N              validity (default 825 for leaves, 3650 for CAs)\n"
	"  --not-before DATE     YYYY-MM-DD or 2020-01-01T00:00:00Z (may be past,\n"
	"  --not-after DATE      to make expired or not-yet-valid test certificates)\n"
	"  --force               overwrite existing files\n"
	"  -h, --help            this help\n"
	"\n";

struct name_value {
	const char *name;
	int value;
};

static const struct name_value cert_kinds[] = {
	{ "ca", TLSKIT_CERT_CA },
	{ "server", TLSKIT_CERT_SERVER },
	{ "client", TLSKIT_CERT_CLIENT },
	{ "self-signed", TLSKIT_CERT_SELF_SIGNED },
	{ NULL, 0 },
};

static const struct name_value key_types[] = {
	{ "ec-p256", TLSKIT_KEY_EC_P256 }, { "ec-p384", TLSKIT_KEY_EC_P384 },
	{ "ed25519", TLSKIT_KEY_ED25519 }, { "rsa2048", TLSKIT_KEY_RSA2048 },
	{ "rsa3072", TLSKIT_KEY_RSA3072 }, { "rsa4096", TLSKIT_KEY_RSA4096 },
	{ NULL, 0 },
};

static int lookup(const struct name_value *table, const char *name, int *out)
{
	for (; table->name; table++) {
		if (strcmp(table->name, name) == 0) {
			*out = table->value;
			return 0;
		}
	}
	return -1;
}

/* "2020-01-01" or "2020-01-01T00:00:00Z", always UTC. */
static int parse_date(const char *text, time_t *out)
{
	struct tm tm = { 0 };
	const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);

	if (!end || *end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(text, "%Y-%m-%d", &tm);
	}
	if (!end || *end)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* Splits a comma list in place into at most max entries. */
static size_t split_commas(char *list, const char **out, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *tok = strtok_r(list, ",", &save); tok && n < max;
	     tok = strtok_r(NULL, ",", &save))
		out[n++] = tok;
	return n;
}

enum { OPT_OUT = OPT_CLI_TLS_LAST, OPT_CN, OPT_SAN, OPT_CA_KEY, OPT_KEY_TYPE,
       OPT_DAYS, OPT_NOT_BEFORE, OPT_NOT_AFTER, OPT_FORCE };

static const struct option cert_options[] = {
	{ "out", required_argument, NULL, OPT_OUT },
	{ "cn", required_argument, NULL, OPT_CN },
	{ "san", required_argument, NULL, OPT_SAN },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "ca-key", required_argument, NULL, OPT_CA_KEY },
	{ "key-type", required_argument, NULL, OPT_KEY_TYPE },
	{ "days", required_argument, NULL, OPT_DAYS },
	{ "not-before", required_argument, NULL, OPT_NOT_BEFORE },
	{ "not-after", required_argument, NULL, OPT_NOT_AFTER },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define MAX_SANS 64

struct cert_new_args {
	struct tlskit_certgen params;
	const char *out;
	const char *sans[MAX_SANS];
	char *san_list;
	int force;
};

static int usage_error(const char *fmt, const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg);
	cli_error("cert", "%s (see 'tlskit cert --help')", msg);
	return CLI_EXIT_USAGE;
}

static int parse_cert_option(struct cert_new_args *a, int c, const char *arg)
{
	int v;
	char *end;

	switch (c) {
	case OPT_OUT: a->out = arg; return 0;
	case OPT_CN: a->params.common_name = arg; return 0;
	case OPT_CA: a->params.issuer_cert_file = arg; return 0;
	case OPT_CA_KEY: a->params.issuer_key_file = arg; return 0;
	case OPT_FORCE: a->force = 1; return 0;
	case OPT_SAN:
		free(a->san_list);
		a->san_list = strdup(arg);
		a->params.san_count = split_commas(a->san_list, a->sans, MAX_SANS);
		a->params.sans = a->sans;
		return 0;
	case OPT_KEY_TYPE:
		if (lookup(key_types, arg, &v) < 0)
			return usage_error("unknown key type '%s'", arg);
		a->params.key_type = v;
		return 0;
	case OPT_DAYS:
		a->params.days = (int)strtol(arg, &end, 10);
		if (*end || a->params.days <= 0 || a->params.days > 36500)
			return usage_error("--days: '%s' is not a number of days from 1 to 36500", arg);
		return 0;
	case OPT_NOT_BEFORE:
		if (parse_date(arg, &a->params.not_before) < 0)
			return usage_error("--not-before: '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", arg);
		return 0;
	case OPT_NOT_AFTER:
		if (parse_date(arg, &a->params.not_after) < 0)
			return usage_error("--not-after: '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", arg);
		return 0;
	}
	return CLI_EXIT_USAGE;
}

static int write_cert(struct cert_new_args *a)
{
	struct tlskit_error err = { 0 };
	char cert_path[4096], key_path[4096];

	snprintf(cert_path, sizeof(cert_path), "%s.pem", a->out);
	snprintf(key_path, sizeof(key_path), "%s.key", a->out);
	if (tlskit_certgen_write(&a->params, cert_path, key_path, a->force,
				 &err) < 0) {
		cli_error("cert", "%s", err.message);
		return cli_exit_code(err.category);
	}
	printf("%s\n%s\n", cert_path, key_path);
	return CLI_EXIT_OK;
}

static int cert_new(int argc, char **argv)
{
	struct cert_new_args a = { 0 };
	int c, v, rc = CLI_EXIT_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", cert_options, NULL)) != -1) {
		if (c == 'h') {
			fputs(cert_usage, stdout);
			fputs(cli_exit_codes_help, stdout);
			rc = CLI_EXIT_OK;
			goto out;
		}
		if (c == '?' || (rc = parse_cert_option(&a, c, optarg)) != 0) {
			rc = CLI_EXIT_USAGE;
			goto out;
		}
		rc = CLI_EXIT_USAGE;
	}
	if (optind != argc - 1) {
		rc = usage_error("%s", "cert new takes one KIND: ca, server, client or self-signed");
		goto out;
	}
	if (lookup(cert_kinds, argv[optind], &v) < 0) {
		rc = usage_error("unknown certificate kind '%s' (ca, server, client, self-signed)",
				 argv[optind]);
		goto out;
	}
	a.params.kind = v;
	if (!a.out) {
		rc = usage_error("%s", "--out PREFIX is required");
		goto out;
	}
	rc = write_cert(&a);
out:
	free(a.san_list);
	return rc;
}

int cmd_cert(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "new") == 0)
		return cert_new(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return cmd_cert_show(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		fputs(cert_usage, stdout);
		fputs(cli_exit_codes_help, stdout);
		return CLI_EXIT_OK;
	}
	cli_error("cert", "expected a subcommand: new (see 'tlskit cert --help')");
	return CLI_EXIT_USAGE;
}
