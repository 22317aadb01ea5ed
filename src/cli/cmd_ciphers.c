/*
 * cmd_ciphers.c - `tlskit ciphers`: what a cipher configuration resolves to
 * (the tutorial's get_ciphers()), as a table or JSON.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"

#define CMD "ciphers"

static const char ciphers_usage[] =
	"usage: tlskit ciphers [options]\n"
	"\n"
	"Lists the ciphers a configuration enables, in preference order, after\n"
	"the protocol range and the security level: OpenSSL and IANA names,\n"
	"protocol version, key exchange, authentication, symmetric cipher and\n"
	"its bits, and AEAD or the record MAC. Without options: tlskit's own\n"
	"defaults (Mozilla \"intermediate\", TLS 1.2 and 1.3).\n"
	"\n"
	"  --ciphers LIST        TLS 1.2 ciphers (OpenSSL syntax), e.g. ECDHE+AESGCM\n"
	"  --ciphersuites LIST   TLS 1.3 ciphersuites (colon separated)\n"
	"  --min-version V       lowest TLS version: 1.0, 1.1, 1.2 (default), 1.3\n"
	"  --max-version V       highest TLS version (default 1.3)\n"
	"  --profile NAME        a Mozilla profile: modern, intermediate, old\n"
	"                        (the options above refine it)\n"
	"  --json                one JSON document on stdout (schema tlskit/1,\n"
	"                        docs/json-schema.md)\n"
	"  -h, --help            this help\n"
	"\n"
	"An element of a list that OpenSSL does not know is an error naming it.\n"
	"\n";

enum { OPT_JSON = OPT_CLI_TLS_LAST };

static const struct option ciphers_options[] = {
	{ "ciphers", required_argument, NULL, OPT_CIPHERS },
	{ "ciphersuites", required_argument, NULL, OPT_CIPHERSUITES },
	{ "min-version", required_argument, NULL, OPT_MIN_VERSION },
	{ "max-version", required_argument, NULL, OPT_MAX_VERSION },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct ciphers_args {
	struct cli_tls_opts tls;
	int json;
	int help;
};

static int usage_error(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	cli_error(CMD, "%s (see 'tlskit ciphers --help')", msg);
	return CLI_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct ciphers_args *a)
{
	char opt[64];
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", ciphers_options, NULL)) != -1) {
		if (cli_tls_opt(&a->tls, c, optarg))
			continue;
		if (c == OPT_JSON) {
			a->json = 1;
			continue;
		}
		if (c == 'h') {
			a->help = 1;
			return 0;
		}
		if (optopt > 0 && optopt < 256)
			snprintf(opt, sizeof(opt), "-%c", optopt);
		else
			snprintf(opt, sizeof(opt), "%s", argv[optind - 1]);
		return usage_error(c == ':' ? "option '%s' needs an argument" :
					      "unknown option '%s'",
				   opt);
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}

static void print_table(const struct tlskit_cipher_info *ci, size_t n)
{
	printf("%-30s %-46s %-8s %-6s %-6s %-26s %5s %s\n", "NAME", "IANA NAME",
	       "VERSION", "KX", "AUTH", "CIPHER", "BITS", "MAC");
	for (size_t i = 0; i < n; i++)
		printf("%-30s %-46s %-8s %-6s %-6s %-26s %5d %s\n", ci[i].name,
		       ci[i].iana, ci[i].protocol, ci[i].kx, ci[i].auth,
		       ci[i].enc, ci[i].bits, ci[i].mac);
}

static void json_settings(struct json *j, const struct cli_tls_opts *o)
{
	json_key(j, "settings");
	json_begin_object(j);
	json_kv_string(j, "ciphers", o->ciphers);
	json_kv_string(j, "ciphersuites", o->ciphersuites);
	json_kv_string(j, "min_version", o->min_version);
	json_kv_string(j, "max_version", o->max_version);
	json_kv_string(j, "profile", o->profile);
	json_end_object(j);
}

static void json_cipher(struct json *j, const struct tlskit_cipher_info *c)
{
	char id[8];

	snprintf(id, sizeof(id), "0x%04x", c->id);
	json_begin_object(j);
	json_kv_string(j, "name", c->name);
	json_kv_string(j, "iana_name", c->iana[0] ? c->iana : NULL);
	json_kv_string(j, "id", id);
	json_kv_string(j, "protocol", c->protocol);
	json_kv_string(j, "key_exchange", c->kx);
	json_kv_string(j, "authentication", c->auth);
	json_kv_string(j, "encryption", c->enc);
	json_kv_int(j, "bits", c->bits);
	json_kv_bool(j, "aead", c->aead);
	json_kv_string(j, "mac", c->mac);
	json_end_object(j);
}

static int print_json(const struct cli_tls_opts *o,
		      const struct tlskit_cipher_info *ci, size_t n)
{
	struct json j;
	int rc;

	json_init(&j, JSON_PRETTY);
	json_begin_object(&j);
	json_kv_string(&j, "schema", "tlskit/1");
	json_settings(&j, o);
	json_key(&j, "ciphers");
	json_begin_array(&j);
	for (size_t i = 0; i < n; i++)
		json_cipher(&j, &ci[i]);
	json_end_array(&j);
	json_end_object(&j);
	rc = json_finish(&j);
	if (rc == 0)
		fwrite(json_text(&j), 1, json_length(&j), stdout);
	else
		cli_error(CMD, "writing JSON: out of memory");
	json_free(&j);
	return rc;
}

int cmd_ciphers(int argc, char **argv)
{
	struct ciphers_args a = { 0 };
	struct tlskit_cipher_info *ci = NULL;
	tlskit_config *cfg = NULL;
	ssize_t n;
	int rc;

	if ((rc = parse_args(argc, argv, &a)) != 0)
		return rc;
	if (a.help) {
		fputs(ciphers_usage, stdout);
		fputs(cli_exit_codes_help, stdout);
		return CLI_EXIT_OK;
	}
	if ((rc = cli_tls_config(CMD, &a.tls, TLSKIT_CLIENT, &cfg)) != 0)
		return rc;
	n = tlskit_config_ciphers(cfg, TLSKIT_CLIENT, &ci);
	if (n < 0) {
		cli_error(CMD, "%s", tlskit_config_error(cfg));
		rc = cli_exit_code(tlskit_config_error_category(cfg));
		goto out;
	}
	if (a.json)
		rc = print_json(&a.tls, ci, (size_t)n) < 0 ? CLI_EXIT_IO : 0;
	else
		print_table(ci, (size_t)n);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(CMD, "writing to standard output failed");
		rc = CLI_EXIT_IO;
	}
out:
	free(ci);
	tlskit_config_free(cfg);
	return rc ? rc : CLI_EXIT_OK;
}
