/*
 * common.c - what every tlskit subcommand shares: messages, exit codes and
 * the TLS options that become a tlskit_config.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char cli_exit_codes_help[] =
	"Exit codes:\n"
	"  0  success\n"
	"  1  error after the connection was up (I/O, peer reset)\n"
	"  2  usage (bad options or arguments)\n"
	"  3  configuration (file missing or unreadable, key does not match,\n"
	"     invalid cipher list)\n"
	"  4  connection (resolve, refused, timeout)\n"
	"  5  TLS handshake or protocol (version, no shared cipher, alert)\n"
	"  6  certificate verification (untrusted, expired, not yet valid,\n"
	"     hostname, pin, revoked)\n"
	"  7  a check that found a problem\n";

int cli_exit_code(enum tlskit_error_category cat)
{
	switch (cat) {
	case TLSKIT_ERR_NONE:
		return CLI_EXIT_OK;
	case TLSKIT_ERR_USAGE:
		return CLI_EXIT_USAGE;
	case TLSKIT_ERR_CONFIG:
		return CLI_EXIT_CONFIG;
	case TLSKIT_ERR_CONNECT:
		return CLI_EXIT_CONNECT;
	case TLSKIT_ERR_PROTOCOL:
		return CLI_EXIT_TLS;
	case TLSKIT_ERR_VERIFY:
		return CLI_EXIT_VERIFY;
	case TLSKIT_ERR_SYSTEM:
	case TLSKIT_ERR_IO:
	case TLSKIT_ERR_CLOSED:
		break;
	}
	return CLI_EXIT_IO;
}

/* cli_capture_errors(): the first message of this thread goes here. */
static _Thread_local char *capture_buf;
static _Thread_local size_t capture_len;

void cli_capture_errors(char *buf, size_t len)
{
	capture_buf = len ? buf : NULL;
	capture_len = len;
	if (capture_buf)
		capture_buf[0] = '\0';
}

static void print_message(const char *cmd, const char *kind, const char *fmt,
			  va_list ap)
{
	/* One buffer and one write, so concurrent writers (workers, other
	 * processes on the same terminal) do not interleave halves of lines. */
	char line[2048];
	int n;

	if (capture_buf) {
		if (!capture_buf[0])
			vsnprintf(capture_buf, capture_len, fmt, ap);
		return;
	}
	n = snprintf(line, sizeof(line), "tlskit: %s: %s", cmd, kind);

	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_message(cmd, "", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_message(cmd, "warning: ", fmt, ap);
	va_end(ap);
}

static void add_allow(struct cli_tls_opts *opts, enum tlskit_allow_kind kind,
		      const char *value)
{
	if (opts->allow_count == CLI_TLS_MAX_REPEAT) {
		opts->too_many = "--allow-*";
		return;
	}
	opts->allow[opts->allow_count].kind = kind;
	opts->allow[opts->allow_count++].value = value;
}

static void add_pin(struct cli_tls_opts *opts, const char *pin)
{
	if (opts->pin_count == CLI_TLS_MAX_REPEAT)
		opts->too_many = "--pin";
	else
		opts->pins[opts->pin_count++] = pin;
}

/* The security policy options (issue 5); 1 if c was one. */
static int policy_opt(struct cli_tls_opts *opts, int c, const char *arg)
{
	switch (c) {
	case OPT_ALLOW_CN: add_allow(opts, TLSKIT_ALLOW_CN, arg); return 1;
	case OPT_ALLOW_SAN_DNS: add_allow(opts, TLSKIT_ALLOW_SAN_DNS, arg); return 1;
	case OPT_ALLOW_SAN_URI: add_allow(opts, TLSKIT_ALLOW_SAN_URI, arg); return 1;
	case OPT_ALLOW_OU: add_allow(opts, TLSKIT_ALLOW_OU, arg); return 1;
	case OPT_ALLOW_FINGERPRINT:
		add_allow(opts, TLSKIT_ALLOW_FINGERPRINT, arg);
		return 1;
	case OPT_PIN: add_pin(opts, arg); return 1;
	case OPT_PIN_ONLY: opts->pin_only = 1; return 1;
	case OPT_PROFILE: opts->profile = arg; return 1;
	case OPT_KEYLOG: opts->keylog = arg; return 1;
	case OPT_TICKET_KEYS:
		if (opts->ticket_key_count == CLI_TLS_MAX_REPEAT)
			opts->too_many = "--ticket-keys";
		else
			opts->ticket_keys[opts->ticket_key_count++] = arg;
		return 1;
	case OPT_NO_TICKETS: opts->no_tickets = 1; return 1;
	case OPT_SNI_STRICT: opts->sni_strict = 1; return 1;
	}
	return 0;
}

/* --cert and --key again: one more certificate, chosen by SNI. */
static void add_more(const char **list, size_t *count,
		     struct cli_tls_opts *opts, const char *option,
		     const char *arg)
{
	if (*count == CLI_TLS_MAX_REPEAT)
		opts->too_many = option;
	else
		list[(*count)++] = arg;
}

/* The revocation options; 1 if c was one. */
static int revocation_opt(struct cli_tls_opts *opts, int c, const char *arg)
{
	switch (c) {
	case OPT_CRL:
		if (opts->crl_count == CLI_TLS_MAX_REPEAT)
			opts->too_many = "--crl";
		else
			opts->crls[opts->crl_count++] = arg;
		return 1;
	case OPT_CRL_CHECK: opts->crl_check = arg; return 1;
	case OPT_OCSP_STAPLE: opts->ocsp_staple = arg; return 1;
	case OPT_OCSP:
		if (opts->ocsp < TLSKIT_OCSP_CHECK)
			opts->ocsp = TLSKIT_OCSP_CHECK;
		return 1;
	case OPT_REQUIRE_OCSP: opts->ocsp = TLSKIT_OCSP_REQUIRE; return 1;
	}
	return 0;
}

int cli_parse_timeout(const char *cmd, const char *text, int *out_ms)
{
	char *end;
	double secs;

	errno = 0;
	secs = strtod(text, &end);
	if (errno || end == text || *end || !(secs * 1000 >= 1) ||
	    secs * 1000 > INT_MAX / 2) {
		cli_error(cmd, "--timeout: '%s' is not a number of seconds (at least 0.001) (see 'tlskit %s --help')",
			  text, cmd);
		return CLI_EXIT_USAGE;
	}
	*out_ms = (int)(secs * 1000);
	return 0;
}

int cli_tls_opt(struct cli_tls_opts *opts, int c, const char *arg)
{
	if (policy_opt(opts, c, arg) || revocation_opt(opts, c, arg))
		return 1;
	switch (c) {
	case OPT_CA: opts->ca = arg; return 1;
	case OPT_CERT:
		if (opts->cert)
			add_more(opts->more_certs, &opts->more_cert_count,
				 opts, "--cert", arg);
		else
			opts->cert = arg;
		return 1;
	case OPT_KEY:
		if (opts->key)
			add_more(opts->more_keys, &opts->more_key_count, opts,
				 "--key", arg);
		else
			opts->key = arg;
		return 1;
	case OPT_SERVERNAME: opts->servername = arg; return 1;
	case OPT_VERIFY_CLIENT: opts->verify_client = arg; return 1;
	case OPT_MIN_VERSION: opts->min_version = arg; return 1;
	case OPT_MAX_VERSION: opts->max_version = arg; return 1;
	case OPT_CIPHERS: opts->ciphers = arg; return 1;
	case OPT_CIPHERSUITES: opts->ciphersuites = arg; return 1;
	case OPT_GROUPS: opts->groups = arg; return 1;
	case OPT_ALPN: opts->alpn = arg; return 1;
	case OPT_INSECURE: opts->insecure = 1; return 1;
	}
	return 0;
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	cli_error(cmd, "%s (see 'tlskit %s --help')", msg, cmd);
	return CLI_EXIT_USAGE;
}

/* A failed setter: the option, then the library's own explanation. */
static int config_error(const char *cmd, const char *option,
			const tlskit_config *cfg)
{
	int rc = cli_exit_code(tlskit_config_error_category(cfg));

	cli_error(cmd, "%s: %s", option, tlskit_config_error(cfg));
	return rc == CLI_EXIT_OK ? CLI_EXIT_CONFIG : rc;
}

static int parse_verify_client(const char *cmd, const char *text,
			       enum tlskit_verify_client *out)
{
	static const struct {
		const char *name;
		enum tlskit_verify_client mode;
	} modes[] = {
		{ "none", TLSKIT_VERIFY_CLIENT_NONE },
		{ "optional", TLSKIT_VERIFY_CLIENT_OPTIONAL },
		{ "require", TLSKIT_VERIFY_CLIENT_REQUIRE },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(text, modes[i].name) == 0) {
			*out = modes[i].mode;
			return 0;
		}
	}
	return usage_error(cmd,
			   "--verify-client: unknown mode '%s' (none, optional, require)",
			   text);
}

static int parse_protocols(const char *cmd, const struct cli_tls_opts *opts,
			   enum tlskit_protocol *min, enum tlskit_protocol *max)
{
	*min = 0;
	*max = 0;
	if (opts->min_version &&
	    tlskit_protocol_parse(opts->min_version, min) < 0)
		return usage_error(cmd,
				   "--min-version: unknown TLS version '%s' (1.0, 1.1, 1.2, 1.3)",
				   opts->min_version);
	if (opts->max_version &&
	    tlskit_protocol_parse(opts->max_version, max) < 0)
		return usage_error(cmd,
				   "--max-version: unknown TLS version '%s' (1.0, 1.1, 1.2, 1.3)",
				   opts->max_version);
	return 0;
}

static int check_policy_combinations(const char *cmd,
				     const struct cli_tls_opts *opts,
				     enum tlskit_role role)
{
	if (opts->too_many)
		return usage_error(cmd, "%s: given too often (at most 64)",
				   opts->too_many);
	if (role == TLSKIT_CLIENT && opts->allow_count)
		return usage_error(cmd, "%s", "--allow-* rules are for servers only");
	if (role == TLSKIT_SERVER && (opts->pin_count || opts->pin_only))
		return usage_error(cmd, "%s", "--pin and --pin-only are for clients only");
	if (opts->pin_only && !opts->pin_count)
		return usage_error(cmd, "%s", "--pin-only needs at least one --pin");
	if (opts->pin_only && opts->insecure)
		return usage_error(cmd, "%s", "--pin-only and --insecure exclude each other");
	if (opts->allow_count && opts->verify_client &&
	    strcmp(opts->verify_client, "require") != 0)
		return usage_error(cmd, "--allow-* rules imply --verify-client require, not '%s'",
				   opts->verify_client);
	return 0;
}

static int apply_profile(const char *cmd, const struct cli_tls_opts *opts,
			 tlskit_config *cfg)
{
	enum tlskit_profile profile;

	if (!opts->profile)
		return 0;
	if (tlskit_profile_parse(opts->profile, &profile) < 0)
		return usage_error(cmd, "--profile: unknown profile '%s' (modern, intermediate, old)",
				   opts->profile);
	if (tlskit_config_set_profile(cfg, profile) < 0)
		return config_error(cmd, "--profile", cfg);
	if (profile == TLSKIT_PROFILE_OLD)
		cli_warn(cmd, "--profile old: TLS 1.0 and 1.1 and CBC ciphers with SHA-1 are enabled at OpenSSL security level 0; only for clients that can do nothing better");
	return 0;
}

static int apply_keylog(const char *cmd, const struct cli_tls_opts *opts,
			tlskit_config *cfg)
{
	const char *path = opts->keylog;

	if (!path)
		return 0;
	if (strcmp(path, "env") == 0) {
		path = getenv("SSLKEYLOGFILE");
		if (!path || !*path)
			return usage_error(cmd, "%s", "--keylog env: SSLKEYLOGFILE is not set");
	}
	if (tlskit_config_insecure_keylog_file(cfg, path) < 0)
		return config_error(cmd, "--keylog", cfg);
	cli_warn(cmd, "--keylog: writing TLS secrets to '%s': anyone who reads it can decrypt this traffic (debugging only)",
		 path);
	return 0;
}

static int apply_policy(const char *cmd, const struct cli_tls_opts *opts,
			tlskit_config *cfg)
{
	for (size_t i = 0; i < opts->allow_count; i++)
		if (tlskit_config_add_allow(cfg, opts->allow[i].kind,
					    opts->allow[i].value) < 0)
			return config_error(cmd, "--allow-*", cfg);
	for (size_t i = 0; i < opts->pin_count; i++)
		if (tlskit_config_add_pin(cfg, opts->pins[i]) < 0)
			return config_error(cmd, "--pin", cfg);
	if (opts->pin_only) {
		tlskit_config_insecure_pin_only(cfg);
		cli_error(cmd, "WARNING: --pin-only: only the pinned key is checked; the server's chain, dates and hostname are NOT verified");
	}
	return apply_keylog(cmd, opts, cfg);
}

static int apply_sni(const char *cmd, const struct cli_tls_opts *opts,
		     enum tlskit_role role, tlskit_config *cfg)
{
	if (opts->more_cert_count != opts->more_key_count)
		return usage_error(cmd, "%s", "--cert and --key come in pairs, in order (one --key after each --cert)");
	if (role == TLSKIT_CLIENT && opts->more_cert_count)
		return usage_error(cmd, "%s", "several --cert/--key pairs are for servers only");
	if (role == TLSKIT_CLIENT && opts->sni_strict)
		return usage_error(cmd, "%s", "--sni-strict is for servers only");
	for (size_t i = 0; i < opts->more_cert_count; i++)
		if (tlskit_config_add_cert_key_file(cfg, opts->more_certs[i],
						    opts->more_keys[i]) < 0)
			return config_error(cmd, "--cert", cfg);
	if (opts->sni_strict && tlskit_config_set_sni_strict(cfg, 1) < 0)
		return config_error(cmd, "--sni-strict", cfg);
	return 0;
}

static int apply_tickets(const char *cmd, const struct cli_tls_opts *opts,
			 tlskit_config *cfg)
{
	if (opts->no_tickets && opts->ticket_key_count)
		return usage_error(cmd, "%s", "--no-tickets and --ticket-keys contradict each other");
	if (opts->no_tickets && tlskit_config_set_tickets(cfg, 0) < 0)
		return config_error(cmd, "--no-tickets", cfg);
	for (size_t i = 0; i < opts->ticket_key_count; i++)
		if (tlskit_config_add_ticket_key_file(cfg, opts->ticket_keys[i]) < 0)
			return config_error(cmd, "--ticket-keys", cfg);
	return 0;
}

static int apply_revocation(const char *cmd, const struct cli_tls_opts *opts,
			    enum tlskit_role role, tlskit_config *cfg)
{
	enum tlskit_crl_check check;

	if (role == TLSKIT_CLIENT && opts->ocsp_staple)
		return usage_error(cmd, "%s", "--ocsp-staple is for servers only");
	if (role == TLSKIT_SERVER && opts->ocsp)
		return usage_error(cmd, "%s", "--ocsp and --require-ocsp are for clients only");
	if (opts->crl_check && !opts->crl_count)
		return usage_error(cmd, "%s", "--crl-check needs at least one --crl");
	if (opts->crl_check &&
	    tlskit_crl_check_parse(opts->crl_check, &check) < 0)
		return usage_error(cmd, "--crl-check: unknown mode '%s' (leaf, chain)",
				   opts->crl_check);
	if (opts->crl_check && tlskit_config_set_crl_check(cfg, check) < 0)
		return config_error(cmd, "--crl-check", cfg);
	for (size_t i = 0; i < opts->crl_count; i++)
		if (tlskit_config_add_crl_file(cfg, opts->crls[i]) < 0)
			return config_error(cmd, "--crl", cfg);
	if (opts->ocsp_staple &&
	    tlskit_config_set_ocsp_staple_file(cfg, opts->ocsp_staple) < 0)
		return config_error(cmd, "--ocsp-staple", cfg);
	if (opts->ocsp && tlskit_config_set_ocsp(cfg, opts->ocsp) < 0)
		return config_error(cmd, "--ocsp", cfg);
	return 0;
}

/* Flags that make no sense for the role, or only make sense together. */
static int check_combinations(const char *cmd, const struct cli_tls_opts *opts,
			      enum tlskit_role role)
{
	if (opts->cert && !opts->key)
		return usage_error(cmd, "%s", "--cert needs --key (the certificate's private key)");
	if (opts->key && !opts->cert)
		return usage_error(cmd, "%s", "--key needs --cert (the certificate for that key)");
	if (role == TLSKIT_SERVER && opts->insecure)
		return usage_error(cmd, "%s", "--insecure is for clients only");
	if (role == TLSKIT_CLIENT && opts->verify_client)
		return usage_error(cmd, "%s", "--verify-client is for servers only");
	return check_policy_combinations(cmd, opts, role);
}

static int apply_files(const char *cmd, const struct cli_tls_opts *opts,
		       tlskit_config *cfg)
{
	if (opts->ca && tlskit_config_set_ca_file(cfg, opts->ca) < 0)
		return config_error(cmd, "--ca", cfg);
	if (opts->cert && tlskit_config_set_cert_file(cfg, opts->cert) < 0)
		return config_error(cmd, "--cert", cfg);
	if (opts->key && tlskit_config_set_key_file(cfg, opts->key) < 0)
		return config_error(cmd, "--key", cfg);
	return 0;
}

static int apply_lists(const char *cmd, const struct cli_tls_opts *opts,
		       tlskit_config *cfg)
{
	if (opts->ciphers && tlskit_config_set_ciphers(cfg, opts->ciphers) < 0)
		return config_error(cmd, "--ciphers", cfg);
	if (opts->ciphersuites &&
	    tlskit_config_set_ciphersuites(cfg, opts->ciphersuites) < 0)
		return config_error(cmd, "--ciphersuites", cfg);
	if (opts->groups && tlskit_config_set_groups(cfg, opts->groups) < 0)
		return config_error(cmd, "--groups", cfg);
	if (opts->alpn && tlskit_config_set_alpn(cfg, opts->alpn) < 0)
		return config_error(cmd, "--alpn", cfg);
	return 0;
}

static int apply_options(const char *cmd, const struct cli_tls_opts *opts,
			 enum tlskit_role role, tlskit_config *cfg)
{
	enum tlskit_protocol min, max;
	enum tlskit_verify_client mode = TLSKIT_VERIFY_CLIENT_NONE;
	int rc;

	if ((rc = check_combinations(cmd, opts, role)) != 0 ||
	    (rc = parse_protocols(cmd, opts, &min, &max)) != 0 ||
	    (rc = apply_profile(cmd, opts, cfg)) != 0)
		return rc;
	if ((min || max) && tlskit_config_set_protocols(cfg, min, max) < 0)
		return config_error(cmd, "--min-version/--max-version", cfg);
	if (opts->verify_client) {
		if ((rc = parse_verify_client(cmd, opts->verify_client, &mode)) != 0)
			return rc;
		if (tlskit_config_set_verify_client(cfg, mode) < 0)
			return config_error(cmd, "--verify-client", cfg);
	}
	if (opts->servername &&
	    tlskit_config_set_servername(cfg, opts->servername) < 0)
		return config_error(cmd, "--servername", cfg);
	if ((rc = apply_files(cmd, opts, cfg)) != 0 ||
	    (rc = apply_lists(cmd, opts, cfg)) != 0 ||
	    (rc = apply_policy(cmd, opts, cfg)) != 0 ||
	    (rc = apply_revocation(cmd, opts, role, cfg)) != 0)
		return rc;
	if ((rc = apply_tickets(cmd, opts, cfg)) != 0 ||
	    (rc = apply_sni(cmd, opts, role, cfg)) != 0)
		return rc;
	if (opts->insecure) {
		tlskit_config_insecure_noverifycert(cfg);
		tlskit_config_insecure_noverifyname(cfg);
		cli_error(cmd, "WARNING: --insecure: the server's certificate is NOT verified; anyone can impersonate it");
	}
	return 0;
}

int cli_tls_config(const char *cmd, const struct cli_tls_opts *opts,
		   enum tlskit_role role, tlskit_config **out)
{
	tlskit_config *cfg = tlskit_config_new();
	int rc;

	*out = NULL;
	if (!cfg) {
		cli_error(cmd, "creating the TLS configuration: out of memory");
		return CLI_EXIT_IO;
	}
	rc = apply_options(cmd, opts, role, cfg);
	if (rc != 0)
		goto fail;
	/* Load every file now: a typo in a path fails at start, not at the
	 * first connection. */
	if (tlskit_config_check(cfg, role) < 0) {
		cli_error(cmd, "%s", tlskit_config_error(cfg));
		rc = cli_exit_code(tlskit_config_error_category(cfg));
		if (rc == CLI_EXIT_OK)
			rc = CLI_EXIT_CONFIG;
		goto fail;
	}
	*out = cfg;
	return CLI_EXIT_OK;
fail:
	tlskit_config_free(cfg);
	return rc;
}
