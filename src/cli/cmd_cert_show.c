/*
 * cmd_cert_show.c - `tlskit cert show SOURCE`: every certificate of a file
 * (PEM bundle or DER) or of a live server, readable or as JSON
 * (docs/json-schema.md), and --check-days for cron and monitoring.
 *
 * A server's chain is shown even when it does not verify: the handshake
 * runs with verification recorded but not enforced (nothing is sent over
 * the connection), and the library verifies the chain the server sent
 * against the trust anchors in the same words a failed handshake uses.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "json.h"

#define CMD "cert show"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_CHECK_DAYS 36500
#define DAY 86400

static const char show_usage[] =
	"usage: tlskit cert show SOURCE [options]\n"
	"\n"
	"Shows every certificate of SOURCE: subject, issuer, serial, validity\n"
	"with the days left, SANs, key type and size, signature algorithm, key\n"
	"usage, extended key usage, basic constraints, SHA-256 and SHA-1\n"
	"fingerprints and the public key pin (sha256//BASE64, as curl\n"
	"--pinnedpubkey takes it).\n"
	"\n"
	"SOURCE is a file when a file of that name exists (PEM, one certificate\n"
	"or a bundle, or DER), else HOST:PORT ([IPv6]:PORT) of a TLS server. For\n"
	"a server it also shows the TLS version, cipher and ALPN, the chain as\n"
	"sent and the chain as built to a trust anchor, and the verification\n"
	"verdict with its reason. The chain is shown even when it does not\n"
	"verify or the server demands a client certificate; the verdict does not\n"
	"change the exit status.\n"
	"\n"
	"  --ca FILE           trust anchors (PEM) for the verdict instead of the\n"
	"                      system store; with a file SOURCE, verify it too\n"
	"  --servername NAME   SNI sent and name verified (default: HOST)\n"
	"  --json              one JSON document on stdout (schema tlskit/1,\n"
	"                      docs/json-schema.md)\n"
	"  --check-days N      exit 7, naming the certificate, if any certificate\n"
	"                      shown expires within N days, has expired or is not\n"
	"                      yet valid (0: only expired or not yet valid)\n"
	"  --timeout SECS      bounds connecting and the handshake; default 10\n"
	"  -h, --help          this help\n"
	"\n"
	"Examples: tlskit cert show server-chain.pem\n"
	"          tlskit cert show localhost:8443 --ca ca.pem --check-days 30\n"
	"\n";

enum {
	OPT_JSON = OPT_CLI_TLS_LAST,
	OPT_CHECK_DAYS,
	OPT_TIMEOUT,
};

static const struct option show_options[] = {
	{ "ca", required_argument, NULL, OPT_CA },
	{ "servername", required_argument, NULL, OPT_SERVERNAME },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "check-days", required_argument, NULL, OPT_CHECK_DAYS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct show_args {
	const char *source;
	const char *ca;
	const char *servername;
	int json;
	int check_days; /* -1: no check */
	int timeout_ms;
	int help;
};

/* What was found out about SOURCE; the printers take it from here. */
struct report {
	const struct show_args *args;
	time_t now;
	int is_server;
	char name[256];             /* server: the name verified */
	tlskit_cert_list *certs;    /* file order, or as the server sent them */
	tlskit_cert_list *built;    /* chain as built (NULL: not verified) */
	int verified;               /* verification ran */
	int verify_ok;
	char verify_reason[TLSKIT_ERROR_MAX];
	tlskit_conn *conn;          /* server: the connection */
	int handshake_ok;
	char handshake_error[TLSKIT_ERROR_MAX];
};

/* ---- arguments --------------------------------------------------------- */

static int usage_error(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	cli_error(CMD, "%s (see 'tlskit cert show --help')", msg);
	return CLI_EXIT_USAGE;
}


static int parse_days(const char *text, int *out)
{
	char *end;
	long days;

	errno = 0;
	days = strtol(text, &end, 10);
	if (errno || end == text || *end || days < 0 || days > MAX_CHECK_DAYS)
		return usage_error("--check-days: '%s' is not a number of days (0 to 36500)",
				   text);
	*out = (int)days;
	return 0;
}

static int option_error(int c, char **argv)
{
	char opt[64];

	if (optopt > 0 && optopt < 256)
		snprintf(opt, sizeof(opt), "-%c", optopt);
	else
		snprintf(opt, sizeof(opt), "%s", argv[optind - 1]);
	if (c == ':')
		return usage_error("option '%s' needs an argument", opt);
	return usage_error("unknown option '%s'", opt);
}

static int parse_option(struct show_args *a, int c, char **argv)
{
	switch (c) {
	case 'h':
		a->help = 1;
		return 0;
	case OPT_CA:
		a->ca = optarg;
		return 0;
	case OPT_SERVERNAME:
		a->servername = optarg;
		return 0;
	case OPT_JSON:
		a->json = 1;
		return 0;
	case OPT_CHECK_DAYS:
		return parse_days(optarg, &a->check_days);
	case OPT_TIMEOUT:
		return cli_parse_timeout(CMD, optarg, &a->timeout_ms);
	}
	return option_error(c, argv);
}

static int parse_args(int argc, char **argv, struct show_args *a)
{
	int c, rc;

	a->check_days = -1;
	a->timeout_ms = DEFAULT_TIMEOUT_MS;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", show_options, NULL)) != -1) {
		if ((rc = parse_option(a, c, argv)) != 0)
			return rc;
		if (a->help)
			return 0;
	}
	if (optind == argc)
		return usage_error("%s", "missing SOURCE (a certificate file or HOST:PORT)");
	if (optind != argc - 1)
		return usage_error("unexpected argument '%s' (one SOURCE only)",
				   argv[optind + 1]);
	a->source = argv[optind];
	return 0;
}

/* ---- times -------------------------------------------------------------- */

/* RFC 3339 UTC: "2026-11-23T12:00:00Z". */
static void rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
}

enum validity { VALID, EXPIRED, NOT_YET_VALID };

static enum validity cert_validity(const tlskit_cert *c, time_t now)
{
	if (now < tlskit_cert_not_before(c))
		return NOT_YET_VALID;
	if (now > tlskit_cert_not_after(c))
		return EXPIRED;
	return VALID;
}

/* Whole days until notAfter, rounded down; negative once expired. */
static long long days_left(const tlskit_cert *c, time_t now)
{
	long long secs = (long long)tlskit_cert_not_after(c) - (long long)now;

	return secs >= 0 ? secs / DAY : -((-secs + DAY - 1) / DAY);
}

/* "824 days left", "expired 3 days ago", "not yet valid (starts in 5 days)" */
static void validity_words(const tlskit_cert *c, time_t now, char *buf,
			   size_t len)
{
	long long secs;

	switch (cert_validity(c, now)) {
	case NOT_YET_VALID:
		secs = (long long)tlskit_cert_not_before(c) - (long long)now;
		snprintf(buf, len, "not yet valid (starts in %lld day%s)",
			 secs / DAY, secs / DAY == 1 ? "" : "s");
		return;
	case EXPIRED:
		secs = (long long)now - (long long)tlskit_cert_not_after(c);
		if (secs < DAY)
			snprintf(buf, len, "expired less than a day ago");
		else
			snprintf(buf, len, "expired %lld day%s ago", secs / DAY,
				 secs / DAY == 1 ? "" : "s");
		return;
	case VALID:
		break;
	}
	secs = days_left(c, now);
	if (secs == 0)
		snprintf(buf, len, "valid, less than a day left");
	else
		snprintf(buf, len, "valid, %lld day%s left", secs,
			 secs == 1 ? "" : "s");
}

/* ---- text output -------------------------------------------------------- */

static void print_field(const char *label, const char *value)
{
	printf("  %-19s %s\n", label, value);
}

typedef const char *(*list_item_fn)(const tlskit_cert *c, size_t i);

static void print_list(const char *label, const tlskit_cert *c, size_t n,
		       list_item_fn item, const char *none)
{
	printf("  %-19s ", label);
	if (n == 0)
		fputs(none, stdout);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", item(c, i));
	putchar('\n');
}

static void basic_constraints_words(const tlskit_cert *c, char *buf,
				    size_t len)
{
	int ca, pathlen;

	if (!tlskit_cert_basic_constraints(c, &ca, &pathlen))
		snprintf(buf, len, "(none)");
	else if (!ca)
		snprintf(buf, len, "CA:FALSE (not a CA)");
	else if (pathlen < 0)
		snprintf(buf, len, "CA:TRUE, no path length limit");
	else
		snprintf(buf, len, "CA:TRUE, path length %d", pathlen);
}

static void print_cert(const tlskit_cert *c, time_t now)
{
	char from[32], until[32], when[80], line[160];

	rfc3339(tlskit_cert_not_before(c), from, sizeof(from));
	rfc3339(tlskit_cert_not_after(c), until, sizeof(until));
	validity_words(c, now, when, sizeof(when));
	print_field("subject:", tlskit_cert_subject(c));
	print_field("issuer:", tlskit_cert_issuer(c));
	if (tlskit_cert_self_signed(c))
		print_field("", "(self-signed)");
	print_field("serial:", tlskit_cert_serial(c));
	print_field("not before:", from);
	snprintf(line, sizeof(line), "%s (%s)", until, when);
	print_field("not after:", line);
	print_list("SANs:", c, tlskit_cert_san_count(c), tlskit_cert_san,
		   "(none)");
	snprintf(line, sizeof(line), "%s (%d bits)", tlskit_cert_key_type(c),
		 tlskit_cert_key_bits(c));
	print_field("public key:", line);
	print_field("signature:", tlskit_cert_signature_algorithm(c));
	print_list("key usage:", c, tlskit_cert_key_usage_count(c),
		   tlskit_cert_key_usage, "(none)");
	print_list("extended usage:", c, tlskit_cert_ext_key_usage_count(c),
		   tlskit_cert_ext_key_usage, "(none)");
	basic_constraints_words(c, line, sizeof(line));
	print_field("basic constraints:", line);
	print_field("SHA-256:", tlskit_cert_fingerprint_sha256(c));
	print_field("SHA-1:", tlskit_cert_fingerprint_sha1(c));
	print_field("pin:", tlskit_cert_pin_sha256(c));
}

static void print_certs(const char *title, const tlskit_cert_list *list,
			time_t now)
{
	size_t n = tlskit_cert_list_count(list);

	printf("%s (%zu certificate%s)\n", title, n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		printf("\n[%zu]\n", i);
		print_cert(tlskit_cert_list_get(list, i), now);
	}
}

static int in_list(const tlskit_cert_list *list, const tlskit_cert *c)
{
	const char *fp = tlskit_cert_fingerprint_sha256(c);

	for (size_t i = 0; i < tlskit_cert_list_count(list); i++)
		if (strcmp(tlskit_cert_fingerprint_sha256(
				   tlskit_cert_list_get(list, i)), fp) == 0)
			return 1;
	return 0;
}

/* The built chain in one line per certificate; in full only those the
 * server did not send (the trust anchor, usually). */
static void print_built(const struct report *r)
{
	size_t n = tlskit_cert_list_count(r->built);

	printf("\nChain as built to a trust anchor (%zu certificate%s)%s\n", n,
	       n == 1 ? "" : "s", r->verify_ok ? "" : ", as far as it got");
	for (size_t i = 0; i < n; i++) {
		const tlskit_cert *c = tlskit_cert_list_get(r->built, i);
		int sent = in_list(r->certs, c);

		printf("  [%zu] %s (%s)\n", i, tlskit_cert_subject(c),
		       !sent ? "from the trust store" :
		       r->is_server ? "sent" : "in the file");
	}
	for (size_t i = 0; i < n; i++) {
		const tlskit_cert *c = tlskit_cert_list_get(r->built, i);

		if (in_list(r->certs, c))
			continue;
		printf("\n[built %zu]\n", i);
		print_cert(c, r->now);
	}
}

static void print_connection(const struct report *r)
{
	const char *alpn = tlskit_conn_alpn(r->conn);
	char line[TLSKIT_ERROR_MAX + 32];

	printf("Server %s (name verified: %s)\n", r->args->source, r->name);
	if (r->handshake_ok) {
		snprintf(line, sizeof(line), "%s, %s, ALPN %s",
			 tlskit_conn_version(r->conn),
			 tlskit_conn_cipher(r->conn), alpn ? alpn : "(none)");
		print_field("connection:", line);
	} else {
		snprintf(line, sizeof(line), "failed after the certificates: %s",
			 r->handshake_error);
		print_field("handshake:", line);
	}
	print_field("client cert:", tlskit_conn_cert_requested(r->conn) ?
					    "requested by the server" :
					    "not requested");
}

static void print_verdict(const struct report *r)
{
	char line[TLSKIT_ERROR_MAX + 16];

	snprintf(line, sizeof(line), "%s%s", r->verify_ok ? "" : "FAILED: ",
		 r->verify_reason);
	print_field("verification:", line);
}

static void print_text(const struct report *r)
{
	if (r->is_server) {
		print_connection(r);
		print_verdict(r);
		putchar('\n');
		print_certs("Chain as sent", r->certs, r->now);
	} else {
		printf("File %s\n", r->args->source);
		if (r->verified)
			print_verdict(r);
		putchar('\n');
		print_certs("Certificates", r->certs, r->now);
	}
	if (r->verified)
		print_built(r);
}

/* ---- JSON output -------------------------------------------------------- */

typedef const char *(*json_item_fn)(const tlskit_cert *c, size_t i);

static void json_list(struct json *j, const char *key, const tlskit_cert *c,
		      size_t n, json_item_fn item)
{
	json_key(j, key);
	json_begin_array(j);
	for (size_t i = 0; i < n; i++)
		json_string(j, item(c, i));
	json_end_array(j);
}

static void json_time(struct json *j, const char *key, time_t t)
{
	char buf[32];

	rfc3339(t, buf, sizeof(buf));
	json_kv_string(j, key, buf);
}

static void json_basic_constraints(struct json *j, const tlskit_cert *c)
{
	int ca, pathlen;

	json_key(j, "basic_constraints");
	if (!tlskit_cert_basic_constraints(c, &ca, &pathlen)) {
		json_null(j);
		return;
	}
	json_begin_object(j);
	json_kv_bool(j, "ca", ca);
	if (pathlen >= 0)
		json_kv_int(j, "path_len", pathlen);
	else
		json_kv_null(j, "path_len");
	json_end_object(j);
}

static const char *validity_name(enum validity v)
{
	return v == EXPIRED ? "expired" :
	       v == NOT_YET_VALID ? "not_yet_valid" : "valid";
}

static void json_cert(struct json *j, const tlskit_cert *c, time_t now)
{
	json_begin_object(j);
	json_kv_string(j, "subject", tlskit_cert_subject(c));
	json_kv_string(j, "issuer", tlskit_cert_issuer(c));
	json_kv_bool(j, "self_signed", tlskit_cert_self_signed(c));
	json_kv_string(j, "serial", tlskit_cert_serial(c));
	json_time(j, "not_before", tlskit_cert_not_before(c));
	json_time(j, "not_after", tlskit_cert_not_after(c));
	json_kv_string(j, "validity", validity_name(cert_validity(c, now)));
	json_kv_int(j, "days_remaining", days_left(c, now));
	json_list(j, "sans", c, tlskit_cert_san_count(c), tlskit_cert_san);
	json_key(j, "public_key");
	json_begin_object(j);
	json_kv_string(j, "type", tlskit_cert_key_type(c));
	json_kv_int(j, "bits", tlskit_cert_key_bits(c));
	json_end_object(j);
	json_kv_string(j, "signature_algorithm",
		       tlskit_cert_signature_algorithm(c));
	json_list(j, "key_usage", c, tlskit_cert_key_usage_count(c),
		  tlskit_cert_key_usage);
	json_list(j, "extended_key_usage", c,
		  tlskit_cert_ext_key_usage_count(c), tlskit_cert_ext_key_usage);
	json_basic_constraints(j, c);
	json_kv_string(j, "fingerprint_sha256",
		       tlskit_cert_fingerprint_sha256(c));
	json_kv_string(j, "fingerprint_sha1", tlskit_cert_fingerprint_sha1(c));
	json_kv_string(j, "pin_sha256", tlskit_cert_pin_sha256(c));
	json_end_object(j);
}

static void json_certs(struct json *j, const char *key,
		       const tlskit_cert_list *list, time_t now)
{
	json_key(j, key);
	json_begin_array(j);
	for (size_t i = 0; i < tlskit_cert_list_count(list); i++)
		json_cert(j, tlskit_cert_list_get(list, i), now);
	json_end_array(j);
}

static void json_source(struct json *j, const struct report *r)
{
	json_key(j, "source");
	json_begin_object(j);
	json_kv_string(j, "type", r->is_server ? "server" : "file");
	json_kv_string(j, r->is_server ? "address" : "path", r->args->source);
	if (r->is_server)
		json_kv_string(j, "servername", r->name);
	json_end_object(j);
}

static void json_connection(struct json *j, const struct report *r)
{
	json_key(j, "connection");
	json_begin_object(j);
	json_kv_string(j, "version", tlskit_conn_version(r->conn));
	json_kv_string(j, "cipher", tlskit_conn_cipher(r->conn));
	json_kv_string(j, "alpn", tlskit_conn_alpn(r->conn));
	json_kv_bool(j, "client_certificate_requested",
		     tlskit_conn_cert_requested(r->conn));
	json_key(j, "handshake");
	json_begin_object(j);
	json_kv_bool(j, "ok", r->handshake_ok);
	json_kv_string(j, "error", r->handshake_ok ? NULL : r->handshake_error);
	json_end_object(j);
	json_end_object(j);
}

static void json_verification(struct json *j, const struct report *r)
{
	json_key(j, "verification");
	if (!r->verified) {
		json_null(j);
		return;
	}
	json_begin_object(j);
	json_kv_bool(j, "ok", r->verify_ok);
	json_kv_string(j, "reason", r->verify_reason);
	json_end_object(j);
}

static int print_json(const struct report *r, const char *problems[],
		      size_t problem_count)
{
	struct json j;
	int rc;

	json_init(&j, JSON_PRETTY);
	json_begin_object(&j);
	json_kv_string(&j, "schema", "tlskit/1");
	json_source(&j, r);
	if (r->is_server)
		json_connection(&j, r);
	json_certs(&j, "certificates", r->certs, r->now);
	if (r->verified)
		json_certs(&j, "verified_chain", r->built, r->now);
	else
		json_kv_null(&j, "verified_chain");
	json_verification(&j, r);
	if (r->args->check_days >= 0) {
		json_key(&j, "check");
		json_begin_object(&j);
		json_kv_int(&j, "days", r->args->check_days);
		json_kv_bool(&j, "ok", problem_count == 0);
		json_key(&j, "problems");
		json_begin_array(&j);
		for (size_t i = 0; i < problem_count; i++)
			json_string(&j, problems[i]);
		json_end_array(&j);
		json_end_object(&j);
	}
	json_end_object(&j);
	rc = json_finish(&j);
	if (rc == 0)
		fwrite(json_text(&j), 1, json_length(&j), stdout);
	else
		cli_error(CMD, "writing JSON: out of memory");
	json_free(&j);
	return rc;
}

/* ---- --check-days ------------------------------------------------------- */

#define MAX_PROBLEMS 64

/* A problem with c, or NULL: malloc'ed words naming the certificate. */
static char *check_cert(const tlskit_cert *c, const char *where, int days,
			time_t now)
{
	char when[32], *msg = NULL;
	int n = -1;

	switch (cert_validity(c, now)) {
	case NOT_YET_VALID:
		rfc3339(tlskit_cert_not_before(c), when, sizeof(when));
		n = asprintf(&msg, "certificate %s (%s) is not yet valid (notBefore %s)",
			     where, tlskit_cert_subject(c), when);
		break;
	case EXPIRED:
		rfc3339(tlskit_cert_not_after(c), when, sizeof(when));
		n = asprintf(&msg, "certificate %s (%s) has expired (notAfter %s)",
			     where, tlskit_cert_subject(c), when);
		break;
	case VALID:
		if ((long long)tlskit_cert_not_after(c) - (long long)now >=
		    (long long)days * DAY)
			return NULL;
		rfc3339(tlskit_cert_not_after(c), when, sizeof(when));
		n = asprintf(&msg, "certificate %s (%s) expires in %lld day%s (notAfter %s), within --check-days %d",
			     where, tlskit_cert_subject(c), days_left(c, now),
			     days_left(c, now) == 1 ? "" : "s", when, days);
		break;
	}
	return n < 0 ? NULL : msg;
}

/* Checks every certificate shown: the file's or the chain sent, and the
 * built chain's others (the trust anchor expires too). */
static size_t check_days(const struct report *r, char *problems[],
			 size_t max)
{
	size_t count = 0;
	char where[64];

	for (size_t i = 0; i < tlskit_cert_list_count(r->certs) && count < max;
	     i++) {
		snprintf(where, sizeof(where), "#%zu", i);
		problems[count] = check_cert(tlskit_cert_list_get(r->certs, i),
					     where, r->args->check_days, r->now);
		count += problems[count] != NULL;
	}
	for (size_t i = 0; i < tlskit_cert_list_count(r->built) && count < max;
	     i++) {
		const tlskit_cert *c = tlskit_cert_list_get(r->built, i);

		if (in_list(r->certs, c))
			continue;
		snprintf(where, sizeof(where), "#%zu of the built chain", i);
		problems[count] = check_cert(c, where, r->args->check_days,
					     r->now);
		count += problems[count] != NULL;
	}
	return count;
}

/* ---- verification ------------------------------------------------------- */

static int verify(struct report *r, tlskit_config *cfg, const char *name)
{
	struct tlskit_error err = { 0 };

	r->verified = 1;
	if (tlskit_cert_list_verify(r->certs, cfg, TLSKIT_SERVER, name,
				    &r->built, &err) == 0) {
		r->verify_ok = 1;
		snprintf(r->verify_reason, sizeof(r->verify_reason), "ok");
		return 0;
	}
	if (err.category != TLSKIT_ERR_VERIFY) {
		cli_error(CMD, "%s", err.message);
		return cli_exit_code(err.category) ? cli_exit_code(err.category) :
						      CLI_EXIT_IO;
	}
	snprintf(r->verify_reason, sizeof(r->verify_reason), "%s", err.message);
	return 0;
}

/* A config whose verification is recorded, never enforced: the chain is
 * verified afterwards with tlskit_cert_list_verify. */
static int make_config(const struct show_args *a, tlskit_config **out)
{
	tlskit_config *cfg = tlskit_config_new();
	int rc;

	*out = NULL;
	if (!cfg) {
		cli_error(CMD, "creating the TLS configuration: out of memory");
		return CLI_EXIT_IO;
	}
	if ((a->ca && tlskit_config_set_ca_file(cfg, a->ca) < 0) ||
	    (a->servername &&
	     tlskit_config_set_servername(cfg, a->servername) < 0))
		goto fail;
	tlskit_config_insecure_noverifycert(cfg);
	tlskit_config_insecure_noverifyname(cfg);
	if (tlskit_config_check(cfg, TLSKIT_CLIENT) < 0)
		goto fail;
	*out = cfg;
	return 0;
fail:
	cli_error(CMD, "%s%s", a->ca ? "--ca: " : "", tlskit_config_error(cfg));
	rc = cli_exit_code(tlskit_config_error_category(cfg));
	tlskit_config_free(cfg);
	return rc ? rc : CLI_EXIT_CONFIG;
}

/* ---- a file ------------------------------------------------------------- */

static int load_file(struct report *r)
{
	struct tlskit_error err = { 0 };
	tlskit_config *cfg = NULL;
	int rc;

	r->certs = tlskit_cert_list_load_file(r->args->source, &err);
	if (!r->certs) {
		cli_error(CMD, "%s", err.message);
		return cli_exit_code(err.category) ? cli_exit_code(err.category) :
						      CLI_EXIT_CONFIG;
	}
	if (!r->args->ca)
		return 0;
	if ((rc = make_config(r->args, &cfg)) != 0)
		return rc;
	rc = verify(r, cfg, r->args->servername);
	tlskit_config_free(cfg);
	return rc;
}

/* ---- a server ----------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The host of "host:port" or "[v6]:port" (port checked by the library). */
static void host_of(const char *hostport, char *buf, size_t len)
{
	const char *end;

	if (hostport[0] == '[' && (end = strchr(hostport, ']')) != NULL) {
		snprintf(buf, len, "%.*s", (int)(end - hostport - 1),
			 hostport + 1);
		return;
	}
	end = strrchr(hostport, ':');
	snprintf(buf, len, "%.*s",
		 (int)(end ? (size_t)(end - hostport) : strlen(hostport)),
		 hostport);
}

/* 0 when the handshake finished or failed (r says which), else an exit
 * code: a timeout or a broken poll. */
static int run_handshake(struct report *r, int64_t deadline)
{
	struct pollfd p = { .fd = tlskit_conn_fd(r->conn) };
	int ret;

	for (;;) {
		int64_t left = deadline - now_ms();

		ret = tlskit_handshake(r->conn);
		if (ret == 0) {
			r->handshake_ok = 1;
			return 0;
		}
		if (ret != TLSKIT_WANT_READ && ret != TLSKIT_WANT_WRITE) {
			/* We never send one, so a request explains most
			 * failures after it better than the alert does. */
			snprintf(r->handshake_error, sizeof(r->handshake_error),
				 "%s%s", tlskit_conn_error(r->conn),
				 tlskit_conn_cert_requested(r->conn) ?
					 " (the server asked for a client certificate; none was sent)" :
					 "");
			return 0;
		}
		p.events = ret == TLSKIT_WANT_READ ? POLLIN : POLLOUT;
		ret = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			cli_error(CMD, "waiting for the TLS handshake with %s: %s",
				  r->args->source, strerror(errno));
			return CLI_EXIT_IO;
		}
		if (ret == 0) {
			cli_error(CMD, "TLS handshake with %s: no answer within %g s (is it a TLS server?)",
				  r->args->source, r->args->timeout_ms / 1000.0);
			return CLI_EXIT_CONNECT;
		}
	}
}

static int handshake_exit_code(enum tlskit_error_category cat)
{
	if (cat == TLSKIT_ERR_CLOSED || cat == TLSKIT_ERR_IO ||
	    cat == TLSKIT_ERR_NONE)
		return CLI_EXIT_TLS;
	return cli_exit_code(cat);
}

/* Connects, handshakes and collects the chain; exit code on failure. */
static int fetch_chain(struct report *r, tlskit_config *cfg)
{
	int64_t deadline = now_ms() + r->args->timeout_ms;
	struct tlskit_error err = { 0 };
	int rc;

	r->conn = tlskit_client_new(cfg);
	if (!r->conn) {
		cli_error(CMD, "creating a connection: out of memory");
		return CLI_EXIT_IO;
	}
	if (tlskit_connect(r->conn, r->args->source, r->args->timeout_ms, 1) < 0) {
		cli_error(CMD, "%s", tlskit_conn_error(r->conn));
		return cli_exit_code(tlskit_conn_error_category(r->conn));
	}
	if ((rc = run_handshake(r, deadline)) != 0)
		return rc;
	r->certs = tlskit_conn_peer_chain(r->conn, &err);
	if (r->certs)
		return 0;
	/* Nothing to show: the handshake failed before the certificates. */
	if (!r->handshake_ok) {
		cli_error(CMD, "%s", r->handshake_error);
		return handshake_exit_code(tlskit_conn_error_category(r->conn));
	}
	cli_error(CMD, "%s: %s", r->args->source, err.message);
	return handshake_exit_code(err.category);
}

static int load_server(struct report *r)
{
	tlskit_config *cfg = NULL;
	int rc;

	if (!strchr(r->args->source, ':')) {
		cli_error(CMD, "'%s': no such file, and not HOST:PORT (SOURCE is a certificate file or a server)",
			  r->args->source);
		return CLI_EXIT_CONFIG;
	}
	r->is_server = 1;
	if (r->args->servername)
		snprintf(r->name, sizeof(r->name), "%s", r->args->servername);
	else
		host_of(r->args->source, r->name, sizeof(r->name));
	if ((rc = make_config(r->args, &cfg)) != 0)
		return rc;
	rc = fetch_chain(r, cfg);
	if (rc == 0)
		rc = verify(r, cfg, r->name);
	/* We only looked: say goodbye politely if the handshake finished. */
	if (r->conn && r->handshake_ok)
		(void)tlskit_close(r->conn);
	tlskit_config_free(cfg);
	return rc;
}

/* ---- main --------------------------------------------------------------- */

static int finish(struct report *r)
{
	char *problems[MAX_PROBLEMS];
	size_t count = 0;
	int rc = CLI_EXIT_OK;

	if (r->args->check_days >= 0)
		count = check_days(r, problems, MAX_PROBLEMS);
	if (r->args->json) {
		if (print_json(r, (const char **)problems, count) < 0)
			rc = CLI_EXIT_IO;
	} else {
		print_text(r);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(CMD, "writing to standard output: %s", strerror(errno));
		rc = CLI_EXIT_IO;
	}
	for (size_t i = 0; i < count; i++) {
		cli_error(CMD, "%s", problems[i]);
		free(problems[i]);
	}
	if (count && rc == CLI_EXIT_OK)
		rc = CLI_EXIT_CHECK;
	return rc;
}

int cmd_cert_show(int argc, char **argv)
{
	struct show_args args = { 0 };
	struct report r = { .args = &args };
	struct stat st;
	int rc;

	if ((rc = parse_args(argc, argv, &args)) != 0)
		return rc;
	if (args.help) {
		fputs(show_usage, stdout);
		fputs(cli_exit_codes_help, stdout);
		return CLI_EXIT_OK;
	}
	r.now = time(NULL);
	rc = stat(args.source, &st) == 0 ? load_file(&r) : load_server(&r);
	if (rc == 0)
		rc = finish(&r);
	tlskit_cert_list_free(r.certs);
	tlskit_cert_list_free(r.built);
	tlskit_conn_free(r.conn);
	return rc;
}
