/*
 * policy.c - who may connect and whom we trust, beyond "signed by my CA":
 * allow rules on servers, key pins on clients, a caller's verification hook,
 * and the key log for debugging.
 *
 * Everything runs inside the handshake, in OpenSSL's certificate
 * verification callback: a refused peer fails the handshake with an alert
 * before the application can read a byte from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define SHA256_LEN 32
#define PIN_PREFIX "sha256//"
#define PIN_B64_LEN 44 /* base64 of 32 bytes, one '=' of padding */

struct allow_rule {
	enum tlskit_allow_kind kind;
	char *value;
	unsigned char fingerprint[SHA256_LEN];
};

struct policy {
	struct allow_rule *rules;
	size_t rule_count;
	char **pins;
	size_t pin_count;
	int pin_only;
	tlskit_verify_hook hook;
	void *hook_arg;
	int hook_override;
	int keylog_fd;
};

static pthread_once_t index_once = PTHREAD_ONCE_INIT;
static int ctx_policy_index = -1;

static void index_init(void)
{
	ctx_policy_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->rule_count; i++)
		free(p->rules[i].value);
	free(p->rules);
	for (size_t i = 0; i < p->pin_count; i++)
		free(p->pins[i]);
	free(p->pins);
	if (p->keylog_fd >= 0)
		close(p->keylog_fd);
	free(p);
}

/* The config's policy, made on first use; NULL (error set) when out of
 * memory or the config is frozen. */
static struct policy *policy_for_change(tlskit_config *cfg, const char *what)
{
	struct policy **slot = config_policy_slot(cfg);

	if (config_settable(cfg, what) < 0)
		return NULL;
	if (!*slot) {
		*slot = calloc(1, sizeof(**slot));
		if (!*slot) {
			error_set(config_error_slot(cfg), TLSKIT_ERR_SYSTEM,
				  "setting %s: out of memory", what);
			return NULL;
		}
		(*slot)->keylog_fd = -1;
	}
	return *slot;
}

/* ---- setters ------------------------------------------------------------ */

static const char *allow_option(enum tlskit_allow_kind kind)
{
	switch (kind) {
	case TLSKIT_ALLOW_CN: return "--allow-cn";
	case TLSKIT_ALLOW_SAN_DNS: return "--allow-san-dns";
	case TLSKIT_ALLOW_SAN_URI: return "--allow-san-uri";
	case TLSKIT_ALLOW_OU: return "--allow-ou";
	case TLSKIT_ALLOW_FINGERPRINT: return "--allow-fingerprint";
	}
	return "--allow-?";
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "sha256:AB:CD..." or "sha256:abcd..." into 32 bytes. */
static TLSKIT_MUST_CHECK int parse_fingerprint(const char *text,
					       unsigned char *out)
{
	size_t n = 0;
	const char *p;

	if (strncasecmp(text, "sha256:", 7) != 0)
		return -1;
	for (p = text + 7; *p; p++) {
		int hi, lo;

		if (*p == ':')
			continue;
		hi = hex_value(p[0]);
		lo = p[1] ? hex_value(p[1]) : -1;
		if (hi < 0 || lo < 0 || n == SHA256_LEN)
			return -1;
		out[n++] = (unsigned char)(hi << 4 | lo);
		p++;
	}
	return n == SHA256_LEN ? 0 : -1;
}

int tlskit_config_add_allow(tlskit_config *cfg, enum tlskit_allow_kind kind,
			    const char *value)
{
	struct policy *p;
	struct allow_rule rule = { .kind = kind }, *grown;

	if (!cfg)
		return -1;
	if (!(p = policy_for_change(cfg, "client allow rules")))
		return -1;
	if (kind < TLSKIT_ALLOW_CN || kind > TLSKIT_ALLOW_FINGERPRINT)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_USAGE,
				 "adding an allow rule: unknown kind %d",
				 (int)kind);
	if (!value || !*value)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_USAGE,
				 "adding allow rule %s: empty value",
				 allow_option(kind));
	if (kind == TLSKIT_ALLOW_FINGERPRINT &&
	    parse_fingerprint(value, rule.fingerprint) < 0)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_USAGE,
				 "adding allow rule %s '%s': expected sha256: and 64 hex digits (colons allowed)",
				 allow_option(kind), value);
	grown = realloc(p->rules, (p->rule_count + 1) * sizeof(*grown));
	if (!grown || !(rule.value = strdup(value))) {
		if (grown)
			p->rules = grown;
		return error_set(config_error_slot(cfg), TLSKIT_ERR_SYSTEM,
				 "adding allow rule: out of memory");
	}
	p->rules = grown;
	p->rules[p->rule_count++] = rule;
	/* A rule on a certificate means nobody gets in without one. */
	return tlskit_config_set_verify_client(cfg,
					       TLSKIT_VERIFY_CLIENT_REQUIRE);
}

static int valid_pin(const char *pin)
{
	unsigned char raw[PIN_B64_LEN];
	const char *b64;

	if (strncmp(pin, PIN_PREFIX, strlen(PIN_PREFIX)) != 0)
		return 0;
	b64 = pin + strlen(PIN_PREFIX);
	if (strlen(b64) != PIN_B64_LEN || b64[PIN_B64_LEN - 1] != '=' ||
	    b64[PIN_B64_LEN - 2] == '=')
		return 0;
	/* EVP_DecodeBlock counts the padding byte: 33 for 32. */
	return EVP_DecodeBlock(raw, (const unsigned char *)b64, PIN_B64_LEN) ==
	       SHA256_LEN + 1;
}

int tlskit_config_add_pin(tlskit_config *cfg, const char *pin)
{
	struct policy *p;
	char **grown;

	if (!cfg)
		return -1;
	if (!(p = policy_for_change(cfg, "certificate pins")))
		return -1;
	if (!pin || !valid_pin(pin))
		return error_set(config_error_slot(cfg), TLSKIT_ERR_USAGE,
				 "adding pin '%s': expected sha256// and the base64 SHA-256 of a public key (44 characters), as `tlskit cert show` prints it",
				 pin ? pin : "(null)");
	grown = realloc(p->pins, (p->pin_count + 1) * sizeof(*grown));
	if (grown)
		p->pins = grown;
	if (!grown || !(p->pins[p->pin_count] = strdup(pin)))
		return error_set(config_error_slot(cfg), TLSKIT_ERR_SYSTEM,
				 "adding pin: out of memory");
	p->pin_count++;
	return 0;
}

void tlskit_config_insecure_pin_only(tlskit_config *cfg)
{
	struct policy *p = cfg ? policy_for_change(cfg, "insecure pin-only") :
				 NULL;

	if (p)
		p->pin_only = 1;
}

int tlskit_config_set_verify_hook(tlskit_config *cfg, tlskit_verify_hook hook,
				  void *arg)
{
	struct policy *p;

	if (!cfg)
		return -1;
	if (!(p = policy_for_change(cfg, "verification hook")))
		return -1;
	p->hook = hook;
	p->hook_arg = arg;
	return 0;
}

void tlskit_config_insecure_verify_hook_override(tlskit_config *cfg)
{
	struct policy *p = cfg ? policy_for_change(
					 cfg, "insecure verification hook override") :
				 NULL;

	if (p)
		p->hook_override = 1;
}

int tlskit_config_insecure_keylog_file(tlskit_config *cfg, const char *path)
{
	struct policy *p;
	int fd;

	if (!cfg)
		return -1;
	if (!(p = policy_for_change(cfg, "key log file")))
		return -1;
	if (!path || !*path)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_USAGE,
				 "opening key log file: no file name");
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
		  0600);
	if (fd < 0)
		return error_set_errno(config_error_slot(cfg), TLSKIT_ERR_CONFIG,
				       "opening key log file '%s'", path);
	if (p->keylog_fd >= 0)
		close(p->keylog_fd);
	p->keylog_fd = fd;
	return 0;
}

/* ---- describing certificates ------------------------------------------- */

/* Appends to buf (NUL terminated, of size len) without overflowing; peer
 * bytes that are not printable ASCII become \xHH. */
static void append(char *buf, size_t len, const char *text, size_t n,
		   int escape)
{
	size_t used = strlen(buf);

	for (size_t i = 0; i < n && used + 1 < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (escape && (c < 0x20 || c >= 0x7f || c == '\\')) {
			if (used + 5 >= len)
				break;
			snprintf(buf + used, len - used, "\\x%02x", c);
			used += 4;
			continue;
		}
		buf[used++] = (char)c;
		buf[used] = '\0';
	}
}

static void append_str(char *buf, size_t len, const char *text)
{
	append(buf, len, text, strlen(text), 0);
}

/* Each value of one kind a certificate holds. visit returns 1 to stop. */
typedef int (*value_visit)(void *arg, const char *value, size_t len);

static int visit_name(X509 *x, int nid, value_visit visit, void *arg)
{
	X509_NAME *name = X509_get_subject_name(x);
	int i = -1, stop = 0;

	while (!stop && (i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(
			X509_NAME_get_entry(name, i));
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8, s);

		if (n >= 0)
			stop = visit(arg, (const char *)utf8, (size_t)n);
		OPENSSL_free(utf8);
	}
	return stop;
}

static int visit_san(X509 *x, int type, value_visit visit, void *arg)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
						NULL);
	int stop = 0;

	for (int i = 0; !stop && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

		if (g->type == type)
			stop = visit(arg, (const char *)ASN1_STRING_get0_data(
						  g->d.ia5),
				     (size_t)ASN1_STRING_length(g->d.ia5));
	}
	GENERAL_NAMES_free(names);
	ERR_clear_error();
	return stop;
}

static int visit_values(X509 *x, enum tlskit_allow_kind kind,
			value_visit visit, void *arg)
{
	switch (kind) {
	case TLSKIT_ALLOW_CN:
		return visit_name(x, NID_commonName, visit, arg);
	case TLSKIT_ALLOW_OU:
		return visit_name(x, NID_organizationalUnitName, visit, arg);
	case TLSKIT_ALLOW_SAN_DNS:
		return visit_san(x, GEN_DNS, visit, arg);
	case TLSKIT_ALLOW_SAN_URI:
		return visit_san(x, GEN_URI, visit, arg);
	case TLSKIT_ALLOW_FINGERPRINT:
		break;
	}
	return 0;
}

struct match_ctx {
	const struct allow_rule *rule;
};

/* Embedded NULs never match: the lengths must agree. */
static int value_matches(void *arg, const char *value, size_t len)
{
	const struct allow_rule *rule = ((struct match_ctx *)arg)->rule;

	if (strlen(rule->value) != len)
		return 0;
	if (rule->kind == TLSKIT_ALLOW_SAN_DNS)
		return strncasecmp(rule->value, value, len) == 0;
	return memcmp(rule->value, value, len) == 0;
}

static int rule_matches(const struct allow_rule *rule, X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	struct match_ctx mc = { rule };

	if (rule->kind != TLSKIT_ALLOW_FINGERPRINT)
		return visit_values(x, rule->kind, value_matches, &mc);
	if (X509_digest(x, EVP_sha256(), md, &md_len) != 1) {
		ERR_clear_error();
		return 0;
	}
	return md_len == SHA256_LEN && memcmp(md, rule->fingerprint, md_len) == 0;
}

struct list_ctx {
	char *buf;
	size_t len;
	const char *prefix;
	int count;
};

static int list_value(void *arg, const char *value, size_t len)
{
	struct list_ctx *lc = arg;

	if (lc->count++)
		append_str(lc->buf, lc->len, " ");
	append_str(lc->buf, lc->len, lc->prefix);
	append(lc->buf, lc->len, value, len, 1);
	return 0;
}

static void describe_kind(X509 *x, enum tlskit_allow_kind kind,
			  const char *prefix, char *buf, size_t len)
{
	struct list_ctx lc = { buf, len, prefix, 0 };

	if (buf[0])
		append_str(buf, len, ", ");
	visit_values(x, kind, list_value, &lc);
	if (!lc.count) {
		append_str(buf, len, prefix);
		append_str(buf, len, "none");
	}
}

static int has_rule_kind(const struct policy *p, enum tlskit_allow_kind kind)
{
	for (size_t i = 0; i < p->rule_count; i++)
		if (p->rules[i].kind == kind)
			return 1;
	return 0;
}

/* "CN=mallory, DNS:none, URI:spiffe://x/y" (+ OU and sha256 when a rule
 * asks about them). */
static void describe_holdings(const struct policy *p, X509 *x, char *buf,
			      size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	buf[0] = '\0';
	describe_kind(x, TLSKIT_ALLOW_CN, "CN=", buf, len);
	if (has_rule_kind(p, TLSKIT_ALLOW_OU))
		describe_kind(x, TLSKIT_ALLOW_OU, "OU=", buf, len);
	describe_kind(x, TLSKIT_ALLOW_SAN_DNS, "DNS:", buf, len);
	describe_kind(x, TLSKIT_ALLOW_SAN_URI, "URI:", buf, len);
	if (has_rule_kind(p, TLSKIT_ALLOW_FINGERPRINT) &&
	    X509_digest(x, EVP_sha256(), md, &md_len) == 1) {
		append_str(buf, len, ", sha256:");
		for (unsigned int i = 0; i < md_len; i++) {
			char hex[3];

			snprintf(hex, sizeof(hex), "%02x", md[i]);
			append_str(buf, len, hex);
		}
	}
	ERR_clear_error();
}

static int check_allow_rules(const struct policy *p, X509 *leaf, char *msg,
			     size_t len)
{
	char holds[TLSKIT_ERROR_MAX];

	for (size_t i = 0; i < p->rule_count; i++)
		if (rule_matches(&p->rules[i], leaf))
			return 0;
	describe_holdings(p, leaf, holds, sizeof(holds));
	snprintf(msg, len, "client certificate not authorized: ");
	append_str(msg, len, holds);
	append_str(msg, len, " match none of ");
	for (size_t i = 0; i < p->rule_count; i++) {
		if (i)
			append_str(msg, len, ", ");
		append_str(msg, len, allow_option(p->rules[i].kind));
		append_str(msg, len, " ");
		append_str(msg, len, p->rules[i].value);
	}
	return -1;
}

static int check_pins(const struct policy *p, X509 *leaf, char *msg,
		      size_t len)
{
	struct tlskit_error err = { 0 };
	tlskit_cert *cert = certinfo_from_x509(leaf, &err);
	const char *seen = cert ? tlskit_cert_pin_sha256(cert) : NULL;
	char name[256];
	int ret = -1;

	if (!seen) {
		snprintf(msg, len, "checking the certificate pin: %.200s",
			 err.message[0] ? err.message : "no public key");
		goto out;
	}
	for (size_t i = 0; i < p->pin_count; i++) {
		if (strcmp(p->pins[i], seen) == 0) {
			ret = 0;
			goto out;
		}
	}
	certinfo_short_name(leaf, name, sizeof(name));
	snprintf(msg, len, "certificate pin mismatch: the server's key (%.200s) is %.60s; expected ",
		 name, seen);
	for (size_t i = 0; i < p->pin_count; i++) {
		if (i)
			append_str(msg, len, " or ");
		append_str(msg, len, p->pins[i]);
	}
out:
	tlskit_cert_free(cert);
	return ret;
}

/* ---- the handshake's verification -------------------------------------- */

/* The chain as the peer sent it, leaf first. */
static tlskit_cert_list *peer_chain(X509_STORE_CTX *store)
{
	STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(store);
	X509 *leaf = X509_STORE_CTX_get0_cert(store);
	struct tlskit_error err = { 0 };
	tlskit_cert_list *list = certlist_new();

	if (!list)
		return NULL;
	if (leaf && (sk_X509_num(sent) == 0 || sk_X509_value(sent, 0) != leaf) &&
	    certlist_push_x509(list, leaf, &err) < 0)
		goto fail;
	for (int i = 0; i < sk_X509_num(sent); i++)
		if (certlist_push_x509(list, sk_X509_value(sent, i), &err) < 0)
			goto fail;
	return list;
fail:
	tlskit_cert_list_free(list);
	return NULL;
}

struct verdict {
	int ok;
	int insecure;                     /* accepted over a library refusal */
	char reason[TLSKIT_ERROR_MAX];    /* why not ok */
	char note[160];                   /* what the insecure accept skipped */
};

static enum tlskit_verify_decision run_hook(const struct policy *p,
					    X509_STORE_CTX *store,
					    tlskit_conn *conn, int server,
					    struct verdict *v)
{
	struct tlskit_verify_info info = { 0 };
	enum tlskit_verify_decision d;
	char msg[TLSKIT_ERROR_MAX] = "";
	tlskit_cert_list *chain = peer_chain(store);

	if (!chain) {
		snprintf(v->reason, sizeof(v->reason),
			 "verification hook: out of memory copying the chain");
		return TLSKIT_VERIFY_REJECT;
	}
	info.peer_role = server ? TLSKIT_CLIENT : TLSKIT_SERVER;
	info.chain = chain;
	info.servername = conn ? conn_checked_name(conn) : NULL;
	info.library_ok = v->ok && !v->insecure;
	info.library_reason = info.library_ok ? "ok" : v->reason;
	d = p->hook(p->hook_arg, &info, msg, sizeof(msg));
	tlskit_cert_list_free(chain);
	msg[sizeof(msg) - 1] = '\0';
	if (d == TLSKIT_VERIFY_ACCEPT)
		return d;
	snprintf(v->reason, sizeof(v->reason),
		 "verification hook rejected the certificate%s", msg[0] ? ": " : "");
	append(v->reason, sizeof(v->reason), msg, strlen(msg), 0);
	return TLSKIT_VERIFY_REJECT;
}

/* The library's own verdict: chain (unless insecurely skipped), then the
 * allow rules or pins. */
static void library_verdict(tlskit_config *cfg, const struct policy *p,
			    X509_STORE_CTX *store, tlskit_conn *conn,
			    int server, struct verdict *v)
{
	X509 *leaf = X509_STORE_CTX_get0_cert(store);
	const char *why;

	v->ok = X509_verify_cert(store) > 0;
	if (!v->ok) {
		why = conn ? conn_verify_failure(conn) : NULL;
		if (why)
			snprintf(v->reason, sizeof(v->reason), "%s", why);
		else
			verify_describe_result(X509_STORE_CTX_get_error(store),
					       v->reason, sizeof(v->reason));
		if (server || !(p->pin_only || config_noverifycert(cfg)))
			return;
		/* Pin-only: the pin is the whole of the trust. */
		v->insecure = 1;
		snprintf(v->note, sizeof(v->note),
			 "ok (pin matched; chain, dates and hostname not checked: insecure)");
	}
	if (server && p->rule_count)
		v->ok = check_allow_rules(p, leaf, v->reason,
					  sizeof(v->reason)) == 0;
	else if (!server && p->pin_count)
		v->ok = check_pins(p, leaf, v->reason, sizeof(v->reason)) == 0;
	else
		v->ok = 1;
	if (!v->ok)
		v->insecure = 0;
	else if (v->insecure && !p->pin_count)
		snprintf(v->note, sizeof(v->note), "not verified (insecure)");
}

static int policy_verify_cb(X509_STORE_CTX *store, void *arg)
{
	tlskit_config *cfg = arg;
	const struct policy *p = *config_policy_slot(cfg);
	SSL *ssl = X509_STORE_CTX_get_ex_data(
		store, SSL_get_ex_data_X509_STORE_CTX_idx());
	tlskit_conn *conn = conn_from_ssl(ssl);
	int server = ssl && SSL_is_server(ssl);
	struct verdict v = { 0 };

	library_verdict(cfg, p, store, conn, server, &v);
	if (p->hook) {
		if (run_hook(p, store, conn, server, &v) == TLSKIT_VERIFY_REJECT) {
			v.ok = 0;
		} else if (!v.ok && p->hook_override) {
			v.ok = 1;
			v.insecure = 1;
			snprintf(v.note, sizeof(v.note),
				 "ok (accepted by the verification hook over: %.100s; insecure)",
				 v.reason);
		}
	}
	if (v.ok) {
		if (v.insecure && conn)
			conn_set_verify_note(conn, v.note);
		X509_STORE_CTX_set_error(store, X509_V_OK);
		return 1;
	}
	if (conn)
		conn_set_verify_failure(conn, v.reason);
	if (X509_STORE_CTX_get_error(store) == X509_V_OK)
		X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
	return 0;
}

int policy_digest(tlskit_config *cfg, EVP_MD_CTX *md)
{
	const struct policy *p = *config_policy_slot(cfg);
	int ok = 1;

	if (!p)
		return 1;
	for (size_t i = 0; ok && i < p->rule_count; i++) {
		int kind = (int)p->rules[i].kind;

		ok = EVP_DigestUpdate(md, &kind, sizeof(kind)) &&
		     EVP_DigestUpdate(md, p->rules[i].value,
				      strlen(p->rules[i].value) + 1);
	}
	for (size_t i = 0; ok && i < p->pin_count; i++)
		ok = EVP_DigestUpdate(md, p->pins[i], strlen(p->pins[i]) + 1);
	/* A hook is code: which one, and with what, is all we can tell. */
	if (ok && p->hook)
		ok = EVP_DigestUpdate(md, &p->hook, sizeof(p->hook)) &&
		     EVP_DigestUpdate(md, &p->hook_arg, sizeof(p->hook_arg));
	return ok;
}

/* ---- key log ----------------------------------------------------------- */

static void keylog_cb(const SSL *ssl, const char *line)
{
	const struct policy *p =
		SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_policy_index);
	struct iovec iov[2] = {
		{ (void *)line, strlen(line) },
		{ (void *)"\n", 1 },
	};

	/* One writev on an O_APPEND file: lines of concurrent connections
	 * (and processes) do not interleave. Nothing to do on failure: the
	 * handshake must not depend on a debugging aid. */
	if (p && p->keylog_fd >= 0 && writev(p->keylog_fd, iov, 2) < 0)
		return;
}

/* ---- installing on a context ------------------------------------------- */

int policy_install(tlskit_config *cfg, SSL_CTX *ctx, enum tlskit_role role,
		   struct tlskit_error *err)
{
	const struct policy *p = *config_policy_slot(cfg);
	int server = role == TLSKIT_SERVER;
	int checks;

	if (!p)
		return 0;
	pthread_once(&index_once, index_init);
	if (ctx_policy_index < 0 ||
	    SSL_CTX_set_ex_data(ctx, ctx_policy_index, (void *)p) != 1)
		return error_set(err, TLSKIT_ERR_SYSTEM,
				 "setting up the security policy: out of memory");
	if (!server && p->pin_only && !p->pin_count)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "building client configuration: pin-only needs at least one pin");
	if (p->keylog_fd >= 0)
		SSL_CTX_set_keylog_callback(ctx, keylog_cb);
	checks = server ? p->rule_count || p->hook :
			  p->pin_count || p->hook || p->pin_only;
	if (!checks)
		return 0;
	/* Allow rules need a certificate whatever the verify-client mode says;
	 * pins and hooks on clients must be able to fail the handshake even
	 * when chain verification was turned off. */
	if (server && p->rule_count)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
					SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else if (!server)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, policy_verify_cb, cfg);
	return 0;
}
