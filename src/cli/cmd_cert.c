/*
 * cmd_cert.c - `tlskit cert new|csr|sign|verify|crl`: a small CA for tests
 * and development. `cert show` lives in cmd_cert_show.c. The library does
 * the work; this file maps options onto its parameters and prints.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char cert_usage[] =
	"usage: tlskit cert new KIND --out PREFIX [options]\n"
	"       tlskit cert csr --out PREFIX [--cn NAME] [--san LIST] [--subject DN]\n"
	"                       [--key-type TYPE | --key FILE] [--passphrase-file FILE]\n"
	"       tlskit cert sign CSR --ca FILE --ca-key FILE --out PREFIX\n"
	"                       [--kind server|client|intermediate] [--san LIST] [dates]\n"
	"       tlskit cert verify CERT [--ca FILE] [--untrusted FILE]\n"
	"                       [--hostname NAME] [--purpose server|client]\n"
	"       tlskit cert crl --ca FILE --ca-key FILE --revoke CERT|SERIAL ...\n"
	"                       [--days N] --out FILE\n"
	"       tlskit cert show SOURCE ...   (see 'tlskit cert show --help')\n"
	"\n"
	"new: writes PREFIX.pem (certificate) and PREFIX.key (private key, mode\n"
	"0600); a certificate signed by an intermediate also gets PREFIX-chain.pem\n"
	"(the certificate and its intermediates, ready for --cert).\n"
	"  KIND: ca (root CA), intermediate, server, client (signed by --ca/--ca-key),\n"
	"        self-signed (a leaf for serverAuth and clientAuth)\n"
	"csr: writes a key and PREFIX.csr, a request for another CA to sign.\n"
	"sign: signs CSR (its signature is checked) into PREFIX.pem with the profile\n"
	"of --kind (default server); subject and SANs come from the request unless\n"
	"--cn/--subject/--san are given.\n"
	"verify: builds and checks the chain as a TLS peer would; prints 'CERT: OK'\n"
	"or the reason, and exits 6 when it does not verify.\n"
	"crl: writes a CRL (PEM) of --ca listing the certificates (files it issued)\n"
	"or hex serials given to --revoke (repeatable, or several after it).\n"
	"\n"
	"  --out PREFIX|FILE     where to write (crl: the file itself)\n"
	"  --cn NAME             subject common name (leaves: default the first SAN)\n"
	"  --san LIST            comma list: DNS names, IPv4/IPv6 addresses, DNS:x,\n"
	"                        IP:x, email:x, uri:x (e.g. uri:spiffe://td/svc); a\n"
	"                        bare entry is an IP address if it parses as one\n"
	"  --subject DN          more subject fields: \"/O=Example/OU=Ops\"\n"
	"  --ca FILE --ca-key FILE  the issuer (intermediate, server, client, sign,\n"
	"                        crl); verify: the trust anchors (default: system)\n"
	"  --key-type TYPE       ec-p256 (default), ec-p384, ed25519, rsa2048,\n"
	"                        rsa3072, rsa4096\n"
	"  --key FILE            certify this existing key instead (renewal)\n"
	"  --passphrase-file F   first line: encrypts the written key (AES-256\n"
	"                        PKCS#8) and decrypts an encrypted --key/--ca-key\n"
	"  --days N              validity (default 825 for leaves, 3650 for CAs;\n"
	"                        crl: until the next update, default 30)\n"
	"  --not-before DATE     YYYY-MM-DD or RFC 3339 (2020-01-01T00:00:00Z); may be\n"
	"  --not-after DATE      past, for expired or not-yet-valid test certificates\n"
	"  --pathlen N           CAs: path length limit (root: none unless given;\n"
	"                        intermediate: 0 unless given)\n"
	"  --kind KIND           sign: server (default), client, intermediate\n"
	"  --untrusted FILE      verify: more intermediates (PEM)\n"
	"  --hostname NAME       verify: the DNS name or IP address to match\n"
	"  --purpose P           verify: server or client (extendedKeyUsage)\n"
	"  --revoke CERT|SERIAL  crl: a certificate file or a hex serial\n"
	"  --force               overwrite existing files\n"
	"  -h, --help            this help\n"
	"\n";

struct name_value {
	const char *name;
	int value;
};

static const struct name_value cert_kinds[] = {
	{ "ca", TLSKIT_CERT_CA },
	{ "intermediate", TLSKIT_CERT_INTERMEDIATE },
	{ "server", TLSKIT_CERT_SERVER },
	{ "client", TLSKIT_CERT_CLIENT },
	{ "self-signed", TLSKIT_CERT_SELF_SIGNED },
	{ NULL, 0 },
};

static const struct name_value sign_kinds[] = {
	{ "server", TLSKIT_CERT_SERVER },
	{ "client", TLSKIT_CERT_CLIENT },
	{ "intermediate", TLSKIT_CERT_INTERMEDIATE },
	{ NULL, 0 },
};

static const struct name_value key_types[] = {
	{ "ec-p256", TLSKIT_KEY_EC_P256 }, { "ec-p384", TLSKIT_KEY_EC_P384 },
	{ "ed25519", TLSKIT_KEY_ED25519 }, { "rsa2048", TLSKIT_KEY_RSA2048 },
	{ "rsa3072", TLSKIT_KEY_RSA3072 }, { "rsa4096", TLSKIT_KEY_RSA4096 },
	{ NULL, 0 },
};

static const struct name_value purposes[] = {
	{ "server", TLSKIT_PURPOSE_SERVER },
	{ "client", TLSKIT_PURPOSE_CLIENT },
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

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_error("cert", "%s (see 'tlskit cert --help')", msg);
	return CLI_EXIT_USAGE;
}

/* ---- dates --------------------------------------------------------------- */

/* "+HH:MM" / "-HH:MM" into seconds east of UTC. */
static int parse_offset(const char *p, long *out)
{
	if ((p[0] != '+' && p[0] != '-') || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || p[3] != ':' ||
	    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]) ||
	    p[6])
		return -1;
	*out = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600L +
	       ((p[4] - '0') * 10 + (p[5] - '0')) * 60L;
	if (*out >= 24 * 3600L)
		return -1;
	if (p[0] == '-')
		*out = -*out;
	return 0;
}

/* After the date: "THH:MM:SS[.frac](Z|+HH:MM|-HH:MM)". */
static int parse_clock(const char *p, struct tm *tm, long *offset)
{
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p = strptime(p + 1, "%H:%M:%S", tm);
	if (!p)
		return -1;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && !p[1])
		return 0;
	return parse_offset(p, offset);
}

/* "2020-01-01" (midnight UTC) or RFC 3339 "2020-01-01T00:00:00Z". A date
 * that does not exist (2021-02-30) is refused, not normalized. */
static int parse_date(const char *text, time_t *out)
{
	struct tm tm = { 0 }, want, check;
	long offset = 0;
	const char *p;
	time_t t;

	if (!isdigit((unsigned char)text[0]))
		return -1;
	p = strptime(text, "%Y-%m-%d", &tm);
	if (!p || (*p && parse_clock(p, &tm, &offset) < 0))
		return -1;
	want = tm; /* timegm() normalizes its argument */
	t = timegm(&tm);
	if (t == (time_t)-1 || !gmtime_r(&t, &check) ||
	    check.tm_year != want.tm_year || check.tm_mon != want.tm_mon ||
	    check.tm_mday != want.tm_mday || check.tm_hour != want.tm_hour ||
	    check.tm_min != want.tm_min || check.tm_sec != want.tm_sec)
		return -1;
	*out = t - offset;
	return 0;
}

/* ---- options ------------------------------------------------------------- */

enum {
	OPT_OUT = OPT_CLI_TLS_LAST, OPT_CN, OPT_SAN, OPT_SUBJECT, OPT_CA_KEY,
	OPT_KEY_TYPE, OPT_KEY_FILE, OPT_PASSPHRASE_FILE, OPT_DAYS,
	OPT_NOT_BEFORE, OPT_NOT_AFTER, OPT_PATHLEN, OPT_KIND, OPT_UNTRUSTED,
	OPT_HOSTNAME, OPT_PURPOSE, OPT_REVOKE, OPT_FORCE, OPT_CERT_LAST
};

static const struct option cert_options[] = {
	{ "out", required_argument, NULL, OPT_OUT },
	{ "cn", required_argument, NULL, OPT_CN },
	{ "san", required_argument, NULL, OPT_SAN },
	{ "subject", required_argument, NULL, OPT_SUBJECT },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "ca-key", required_argument, NULL, OPT_CA_KEY },
	{ "key-type", required_argument, NULL, OPT_KEY_TYPE },
	{ "key", required_argument, NULL, OPT_KEY_FILE },
	{ "passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE },
	{ "days", required_argument, NULL, OPT_DAYS },
	{ "not-before", required_argument, NULL, OPT_NOT_BEFORE },
	{ "not-after", required_argument, NULL, OPT_NOT_AFTER },
	{ "pathlen", required_argument, NULL, OPT_PATHLEN },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "untrusted", required_argument, NULL, OPT_UNTRUSTED },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "purpose", required_argument, NULL, OPT_PURPOSE },
	{ "revoke", required_argument, NULL, OPT_REVOKE },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define BIT(opt) (1UL << ((opt) - OPT_CA))
#define NAME_OPTS (BIT(OPT_CN) | BIT(OPT_SAN) | BIT(OPT_SUBJECT))
#define DATE_OPTS (BIT(OPT_DAYS) | BIT(OPT_NOT_BEFORE) | BIT(OPT_NOT_AFTER))
#define ISSUER_OPTS (BIT(OPT_CA) | BIT(OPT_CA_KEY) | BIT(OPT_PASSPHRASE_FILE))

struct cert_args {
	struct tlskit_certgen params;
	unsigned long seen;      /* BIT() of every option given */
	const char *out;
	const char **sans;       /* every --san entry, split */
	size_t san_count;
	const char **san_lists;  /* the copies the entries point into */
	size_t san_list_count;
	const char **revoke;
	size_t revoke_count;
	const char *passphrase_file;
	char passphrase[1024];
	const char *untrusted;
	const char *hostname;
	int purpose;
	int kind;                /* --kind of sign */
	int force;
};

static int push(const char ***array, size_t *count, const char *item)
{
	const char **grown = realloc(*array, (*count + 1) * sizeof(**array));

	if (!grown)
		return -1;
	grown[(*count)++] = item;
	*array = grown;
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* Empty entries are kept: the library names them as errors. */
static int add_san_list(struct cert_args *a, const char *arg)
{
	char *copy = strdup(arg), *rest, *tok;

	if (!copy || push(&a->san_lists, &a->san_list_count, copy) < 0) {
		free(copy);
		return -1;
	}
	rest = copy;
	while ((tok = strsep(&rest, ",")) != NULL)
		if (push(&a->sans, &a->san_count, trim(tok)) < 0)
			return -1;
	a->params.sans = a->sans;
	a->params.san_count = a->san_count;
	return 0;
}

static int parse_int(const char *opt, const char *arg, int min, int max,
		     int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		return usage_error("%s: '%s' is not a number from %d to %d", opt,
				   arg, min, max);
	*out = (int)v;
	return 0;
}

static int parse_name(const char *opt, const struct name_value *table,
		      const char *arg, int *out)
{
	if (lookup(table, arg, out) == 0)
		return 0;
	return usage_error("%s: unknown value '%s'", opt, arg);
}

static int parse_date_opt(const char *opt, const char *arg, time_t *out)
{
	if (parse_date(arg, out) == 0)
		return 0;
	return usage_error("%s: '%s' is not a date (YYYY-MM-DD or RFC 3339 such as 2020-01-01T00:00:00Z)",
			   opt, arg);
}

static int parse_option(struct cert_args *a, int c, const char *arg)
{
	struct tlskit_certgen *p = &a->params;
	int v = 0;

	switch (c) {
	case OPT_OUT: a->out = arg; return 0;
	case OPT_CN: p->common_name = arg; return 0;
	case OPT_SUBJECT: p->subject = arg; return 0;
	case OPT_CA: p->issuer_cert_file = arg; return 0;
	case OPT_CA_KEY: p->issuer_key_file = arg; return 0;
	case OPT_KEY_FILE: p->key_file = arg; return 0;
	case OPT_PASSPHRASE_FILE: a->passphrase_file = arg; return 0;
	case OPT_UNTRUSTED: a->untrusted = arg; return 0;
	case OPT_HOSTNAME: a->hostname = arg; return 0;
	case OPT_FORCE: a->force = 1; return 0;
	case OPT_SAN:
		return add_san_list(a, arg) < 0 ? CLI_EXIT_IO : 0;
	case OPT_REVOKE:
		return push(&a->revoke, &a->revoke_count, arg) < 0 ? CLI_EXIT_IO : 0;
	case OPT_KEY_TYPE:
		if (parse_name("--key-type", key_types, arg, &v))
			return CLI_EXIT_USAGE;
		p->key_type = v;
		return 0;
	case OPT_KIND: return parse_name("--kind", sign_kinds, arg, &a->kind);
	case OPT_PURPOSE: return parse_name("--purpose", purposes, arg, &a->purpose);
	case OPT_DAYS: return parse_int("--days", arg, 1, 36500, &p->days);
	case OPT_PATHLEN:
		p->pathlen_set = 1;
		return parse_int("--pathlen", arg, 0, 100, &p->pathlen);
	case OPT_NOT_BEFORE:
		return parse_date_opt("--not-before", arg, &p->not_before);
	case OPT_NOT_AFTER:
		return parse_date_opt("--not-after", arg, &p->not_after);
	}
	return CLI_EXIT_USAGE;
}

static void free_args(struct cert_args *a)
{
	for (size_t i = 0; i < a->san_list_count; i++)
		free((char *)a->san_lists[i]);
	free(a->san_lists);
	free(a->sans);
	free(a->revoke);
	explicit_bzero(a->passphrase, sizeof(a->passphrase));
}

static const char *option_name(int code)
{
	for (const struct option *o = cert_options; o->name; o++)
		if (o->val == code)
			return o->name;
	return "?";
}

/* Options a subcommand does not take are errors, not silently ignored. */
static int check_allowed(const struct cert_args *a, const char *sub,
			 unsigned long allowed)
{
	for (int c = OPT_CA; c < OPT_CERT_LAST; c++)
		if ((a->seen & BIT(c)) && !(allowed & BIT(c)))
			return usage_error("cert %s does not take --%s", sub,
					   option_name(c));
	if ((a->seen & BIT(OPT_NOT_AFTER)) && (a->seen & BIT(OPT_DAYS)))
		return usage_error("%s", "--days and --not-after exclude each other");
	if ((a->seen & BIT(OPT_KEY_FILE)) && (a->seen & BIT(OPT_KEY_TYPE)))
		return usage_error("%s", "--key-type does not apply with --key (the key has its type)");
	return 0;
}

/* argv[0] is the subcommand; on return argv[optind..] are its operands. */
static int parse_args(int argc, char **argv, struct cert_args *a)
{
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", cert_options, NULL)) != -1) {
		if (c == 'h') {
			fputs(cert_usage, stdout);
			fputs(cli_exit_codes_help, stdout);
			return -1;
		}
		if (c == '?')
			return CLI_EXIT_USAGE;
		if (c >= OPT_CA && c < OPT_CERT_LAST)
			a->seen |= BIT(c);
		rc = parse_option(a, c, optarg);
		if (rc)
			return rc;
	}
	return 0;
}

/* The first line of the file, without its line end. */
static int read_passphrase(struct cert_args *a)
{
	FILE *f;
	size_t len;

	if (!a->passphrase_file)
		return 0;
	f = fopen(a->passphrase_file, "r");
	if (!f) {
		cli_error("cert", "reading passphrase file '%s': %s",
			  a->passphrase_file, strerror(errno));
		return CLI_EXIT_CONFIG;
	}
	if (!fgets(a->passphrase, sizeof(a->passphrase), f))
		a->passphrase[0] = '\0';
	fclose(f);
	len = strcspn(a->passphrase, "\r\n");
	a->passphrase[len] = '\0';
	if (len == 0) {
		cli_error("cert", "reading passphrase file '%s': its first line is empty",
			  a->passphrase_file);
		return CLI_EXIT_CONFIG;
	}
	a->params.passphrase = a->passphrase;
	a->params.issuer_passphrase = a->passphrase;
	return 0;
}

static int lib_error(const struct tlskit_error *err)
{
	cli_error("cert", "%s", err->message);
	return cli_exit_code(err->category);
}

static int make_path(char *buf, size_t len, const char *prefix,
		     const char *suffix)
{
	int n = snprintf(buf, len, "%s%s", prefix, suffix);

	if (n < 0 || (size_t)n >= len)
		return usage_error("--out: '%s' is too long", prefix);
	return 0;
}

/* ---- subcommands --------------------------------------------------------- */

#define PATH_LEN 4096

static int cert_new(struct cert_args *a, int argc, char **argv)
{
	struct tlskit_error err = { 0 };
	char cert[PATH_LEN], key[PATH_LEN], chain[PATH_LEN];
	int v, rc;

	if (optind != argc - 1)
		return usage_error("cert new takes one KIND: ca, intermediate, server, client or self-signed");
	if (lookup(cert_kinds, argv[optind], &v) < 0)
		return usage_error("unknown certificate kind '%s' (ca, intermediate, server, client, self-signed)",
				   argv[optind]);
	a->params.kind = v;
	if (!a->out)
		return usage_error("--out PREFIX is required");
	if ((rc = check_allowed(a, "new", NAME_OPTS | DATE_OPTS | ISSUER_OPTS |
				BIT(OPT_OUT) | BIT(OPT_KEY_TYPE) |
				BIT(OPT_KEY_FILE) | BIT(OPT_PATHLEN) |
				BIT(OPT_FORCE))) ||
	    (rc = make_path(cert, sizeof(cert), a->out, ".pem")) ||
	    (rc = make_path(key, sizeof(key), a->out, ".key")) ||
	    (rc = make_path(chain, sizeof(chain), a->out, "-chain.pem")) ||
	    (rc = read_passphrase(a)))
		return rc;
	a->params.chain_file = chain;
	rc = tlskit_certgen_write(&a->params, cert, key, a->force, &err);
	if (rc < 0)
		return lib_error(&err);
	printf("%s\n%s\n", cert, key);
	if (rc == 1)
		printf("%s\n", chain);
	return CLI_EXIT_OK;
}

static int cert_csr(struct cert_args *a, int argc, char **argv)
{
	struct tlskit_error err = { 0 };
	char csr[PATH_LEN], key[PATH_LEN];
	int rc;

	(void)argv;
	if (optind != argc)
		return usage_error("cert csr takes no operands");
	if (!a->out)
		return usage_error("--out PREFIX is required");
	if ((rc = check_allowed(a, "csr", NAME_OPTS | BIT(OPT_OUT) |
				BIT(OPT_KEY_TYPE) | BIT(OPT_KEY_FILE) |
				BIT(OPT_PASSPHRASE_FILE) | BIT(OPT_FORCE))) ||
	    (rc = make_path(csr, sizeof(csr), a->out, ".csr")) ||
	    (rc = make_path(key, sizeof(key), a->out, ".key")) ||
	    (rc = read_passphrase(a)))
		return rc;
	if (tlskit_csr_write(&a->params, csr, key, a->force, &err) < 0)
		return lib_error(&err);
	printf("%s\n%s\n", csr, key);
	return CLI_EXIT_OK;
}

static int cert_sign(struct cert_args *a, int argc, char **argv)
{
	struct tlskit_error err = { 0 };
	char cert[PATH_LEN], chain[PATH_LEN];
	int rc;

	if (optind != argc - 1)
		return usage_error("cert sign takes one CSR file");
	if (!a->out || !a->params.issuer_cert_file || !a->params.issuer_key_file)
		return usage_error("cert sign needs --ca, --ca-key and --out");
	if ((rc = check_allowed(a, "sign", NAME_OPTS | DATE_OPTS | ISSUER_OPTS |
				BIT(OPT_OUT) | BIT(OPT_KIND) |
				BIT(OPT_PATHLEN) | BIT(OPT_FORCE))) ||
	    (rc = make_path(cert, sizeof(cert), a->out, ".pem")) ||
	    (rc = make_path(chain, sizeof(chain), a->out, "-chain.pem")) ||
	    (rc = read_passphrase(a)))
		return rc;
	a->params.kind = a->kind ? a->kind : TLSKIT_CERT_SERVER;
	a->params.chain_file = chain;
	a->params.passphrase = NULL; /* no key is written */
	rc = tlskit_csr_sign(&a->params, argv[optind], cert, a->force, &err);
	if (rc < 0)
		return lib_error(&err);
	printf("%s\n", cert);
	if (rc == 1)
		printf("%s\n", chain);
	return CLI_EXIT_OK;
}

static int cert_verify(struct cert_args *a, int argc, char **argv)
{
	struct tlskit_error err = { 0 };
	struct tlskit_verify_params vp = { 0 };
	int rc;

	if (optind != argc - 1)
		return usage_error("cert verify takes one CERT file");
	if ((rc = check_allowed(a, "verify", BIT(OPT_CA) | BIT(OPT_UNTRUSTED) |
				BIT(OPT_HOSTNAME) | BIT(OPT_PURPOSE))))
		return rc;
	vp.cert_file = argv[optind];
	vp.ca_file = a->params.issuer_cert_file;
	vp.untrusted_file = a->untrusted;
	vp.hostname = a->hostname;
	vp.purpose = a->purpose;
	if (tlskit_chain_verify(&vp, &err) < 0) {
		if (err.category == TLSKIT_ERR_VERIFY)
			cli_error("cert", "%s: %s", vp.cert_file, err.message);
		else
			cli_error("cert", "%s", err.message);
		return cli_exit_code(err.category);
	}
	printf("%s: OK\n", vp.cert_file);
	return CLI_EXIT_OK;
}

static int cert_crl(struct cert_args *a, int argc, char **argv)
{
	struct tlskit_error err = { 0 };
	struct tlskit_crlgen cp = { 0 };
	int rc;

	/* "--revoke a.pem b.pem": the operands are revocations too. */
	for (int i = optind; i < argc; i++)
		if (push(&a->revoke, &a->revoke_count, argv[i]) < 0)
			return CLI_EXIT_IO;
	if (!a->out || !a->params.issuer_cert_file || !a->params.issuer_key_file)
		return usage_error("cert crl needs --ca, --ca-key and --out");
	if ((rc = check_allowed(a, "crl", ISSUER_OPTS | BIT(OPT_OUT) |
				BIT(OPT_REVOKE) | BIT(OPT_DAYS) |
				BIT(OPT_FORCE))) ||
	    (rc = read_passphrase(a)))
		return rc;
	cp.issuer_cert_file = a->params.issuer_cert_file;
	cp.issuer_key_file = a->params.issuer_key_file;
	cp.issuer_passphrase = a->params.issuer_passphrase;
	cp.revoke = a->revoke;
	cp.revoke_count = a->revoke_count;
	cp.days = a->params.days;
	if (tlskit_crl_write(&cp, a->out, a->force, &err) < 0)
		return lib_error(&err);
	printf("%s\n", a->out);
	return CLI_EXIT_OK;
}

struct subcommand {
	const char *name;
	int (*run)(struct cert_args *a, int argc, char **argv);
};

static const struct subcommand subcommands[] = {
	{ "new", cert_new }, { "csr", cert_csr }, { "sign", cert_sign },
	{ "verify", cert_verify }, { "crl", cert_crl },
};

static int run_subcommand(const struct subcommand *sub, int argc, char **argv)
{
	struct cert_args a = { 0 };
	int rc = parse_args(argc, argv, &a);

	if (rc == 0)
		rc = sub->run(&a, argc, argv);
	else if (rc < 0)
		rc = CLI_EXIT_OK; /* --help */
	free_args(&a);
	return rc;
}

int cmd_cert(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return cmd_cert_show(argc - 1, argv + 1);
	for (size_t i = 0; argc >= 2 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return run_subcommand(&subcommands[i], argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		fputs(cert_usage, stdout);
		fputs(cli_exit_codes_help, stdout);
		return CLI_EXIT_OK;
	}
	if (argc >= 2)
		return usage_error("unknown subcommand '%s' (new, csr, sign, verify, crl, show)",
				   argv[1]);
	return usage_error("expected a subcommand: new, csr, sign, verify, crl or show");
}
