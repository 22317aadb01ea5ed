/*
 * config.c - the shared, reference-counted configuration and the OpenSSL
 * contexts built from it.
 *
 * Setters only record (and check) their input; the SSL_CTX for a role is
 * built on first use under the config's lock, after which the config is
 * frozen so that connections on other threads never see it change.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "internal.h"

/* Mozilla "intermediate" (v5.7). */
#define DEFAULT_CIPHERS                                                     \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"        \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"        \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"        \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"              \
	"DHE-RSA-CHACHA20-POLY1305"
#define DEFAULT_CIPHERSUITES                                                \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"                    \
	"TLS_CHACHA20_POLY1305_SHA256"
#define DEFAULT_GROUPS "X25519:prime256v1:secp384r1"
#define DEFAULT_VERIFY_DEPTH 10

/* Cap on what we read from a PEM file: a large CA bundle is ~250 KB. */
#define MAX_PEM_FILE (16L * 1024 * 1024)

enum { ROLE_CLIENT = 0, ROLE_SERVER = 1, ROLE_COUNT };

struct tlskit_config {
	atomic_int refs;
	atomic_int frozen;
	pthread_mutex_t lock;
	struct tlskit_error err;
	SSL_CTX *ctx[ROLE_COUNT];

	/* Certificate chain, parsed when set; key kept as PEM (wiped on
	 * free) because it may need a passphrase given later. */
	X509 *leaf;
	STACK_OF(X509) *chain;
	char *cert_label;
	char *key_pem;
	size_t key_len;
	char *key_label;
	char *passphrase;

	STACK_OF(X509) *ca_certs;
	char *ca_dir;

	enum tlskit_verify_client verify_client;
	int verify_depth;
	char *servername;
	int noverifycert;
	int noverifyname;
	int min_proto;
	int max_proto;
	char *ciphers;
	char *ciphersuites;
	char *groups;
	unsigned char *alpn; /* wire format: length-prefixed names */
	size_t alpn_len;
	struct policy *policy; /* allow rules, pins, hook, key log (policy.c) */
	struct tickets *tickets; /* session ticket keys (tickets.c) */
	struct sni *sni; /* more certificates, chosen by SNI (sni.c) */
	struct revocation *revocation; /* CRLs (revocation.c) */
	int keep_buffers; /* no SSL_MODE_RELEASE_BUFFERS (set_release_buffers) */
};

const char *protocol_name(int version)
{
	switch (version) {
	case TLS1_VERSION:
		return "TLS 1.0";
	case TLS1_1_VERSION:
		return "TLS 1.1";
	case TLS1_2_VERSION:
		return "TLS 1.2";
	case TLS1_3_VERSION:
		return "TLS 1.3";
	case SSL3_VERSION:
		return "SSL 3.0";
	}
	return "an unknown TLS version";
}

tlskit_config *tlskit_config_new(void)
{
	tlskit_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	if (pthread_mutex_init(&cfg->lock, NULL) != 0) {
		free(cfg);
		return NULL;
	}
	atomic_init(&cfg->refs, 1);
	atomic_init(&cfg->frozen, 0);
	cfg->verify_depth = DEFAULT_VERIFY_DEPTH;
	cfg->min_proto = TLS1_2_VERSION;
	return cfg;
}

tlskit_config *tlskit_config_ref(tlskit_config *cfg)
{
	if (cfg)
		atomic_fetch_add(&cfg->refs, 1);
	return cfg;
}

static void free_certs(STACK_OF(X509) *certs)
{
	sk_X509_pop_free(certs, X509_free);
}

static void free_secret(char *s, size_t len)
{
	if (s)
		OPENSSL_clear_free(s, len);
}

void tlskit_config_free(tlskit_config *cfg)
{
	if (!cfg || atomic_fetch_sub(&cfg->refs, 1) != 1)
		return;
	for (int i = 0; i < ROLE_COUNT; i++)
		SSL_CTX_free(cfg->ctx[i]);
	X509_free(cfg->leaf);
	free_certs(cfg->chain);
	free(cfg->cert_label);
	free_secret(cfg->key_pem, cfg->key_len + 1);
	free(cfg->key_label);
	if (cfg->passphrase)
		free_secret(cfg->passphrase, strlen(cfg->passphrase));
	free_certs(cfg->ca_certs);
	free(cfg->ca_dir);
	free(cfg->servername);
	free(cfg->ciphers);
	free(cfg->ciphersuites);
	free(cfg->groups);
	free(cfg->alpn);
	policy_free(cfg->policy);
	tickets_free(cfg->tickets);
	sni_free(cfg->sni);
	revocation_free(cfg->revocation);
	pthread_mutex_destroy(&cfg->lock);
	free(cfg);
}

const char *tlskit_config_error(const tlskit_config *cfg)
{
	if (!cfg)
		return "no configuration";
	return cfg->err.message;
}

enum tlskit_error_category tlskit_config_error_category(const tlskit_config *cfg)
{
	return cfg ? cfg->err.category : TLSKIT_ERR_USAGE;
}

struct tlskit_error *config_error_slot(tlskit_config *cfg)
{
	return &cfg->err;
}

const char *config_servername(const tlskit_config *cfg)
{
	return cfg->servername;
}

int config_noverifycert(const tlskit_config *cfg)
{
	return cfg->noverifycert;
}

int config_noverifyname(const tlskit_config *cfg)
{
	return cfg->noverifyname;
}

int config_min_protocol(const tlskit_config *cfg)
{
	return cfg->min_proto;
}

int config_max_protocol(const tlskit_config *cfg)
{
	return cfg->max_proto ? cfg->max_proto : TLS1_3_VERSION;
}

/* 0 if the config may still change; else a usage error naming what. */
static TLSKIT_MUST_CHECK int config_mutable(tlskit_config *cfg, const char *what)
{
	error_clear(&cfg->err);
	if (atomic_load(&cfg->frozen))
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "setting %s: the configuration is already in use and can no longer change",
				 what);
	return 0;
}

int config_settable(tlskit_config *cfg, const char *what)
{
	return config_mutable(cfg, what);
}

struct sni **config_sni_slot(tlskit_config *cfg)
{
	return &cfg->sni;
}

struct tickets **config_tickets_slot(tlskit_config *cfg)
{
	return &cfg->tickets;
}

struct policy **config_policy_slot(tlskit_config *cfg)
{
	return &cfg->policy;
}

struct revocation **config_revocation_slot(tlskit_config *cfg)
{
	return &cfg->revocation;
}

static TLSKIT_MUST_CHECK int replace_string(tlskit_config *cfg, char **slot,
					    const char *value)
{
	char *copy = NULL;

	if (value && !(copy = strdup(value)))
		return error_set(&cfg->err, TLSKIT_ERR_SYSTEM, "out of memory");
	free(*slot);
	*slot = copy;
	return 0;
}

static TLSKIT_MUST_CHECK int replace_normalized(tlskit_config *cfg, char **slot,
						const char *list)
{
	char *copy = ciphers_normalize(list);

	if (!copy)
		return error_set(&cfg->err, TLSKIT_ERR_SYSTEM, "out of memory");
	free(*slot);
	*slot = copy;
	return 0;
}

static char *quoted(const char *path)
{
	char *s = NULL;

	if (asprintf(&s, "'%s'", path) < 0)
		return NULL;
	return s;
}

/* Reads a whole file (pipes too); what names it in errors ("certificate").
 * The buffer is wiped when freed because it may hold a private key. */
static TLSKIT_MUST_CHECK int read_file(const char *path, const char *what,
				       char **data, size_t *len,
				       struct tlskit_error *err)
{
	size_t size = 0, cap = 4096;
	char *buf = NULL, *bigger;
	struct stat st;
	ssize_t n;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		error_set_errno(err, TLSKIT_ERR_CONFIG, "loading %s '%s'", what,
				path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		error_set_errno(err, TLSKIT_ERR_CONFIG, "loading %s '%s'", what,
				path);
		goto out;
	}
	for (;;) {
		if (!buf || size + 1 >= cap) {
			if (buf)
				cap *= 2;
			if (cap > MAX_PEM_FILE) {
				error_set(err, TLSKIT_ERR_CONFIG,
					  "loading %s '%s': file larger than %ld bytes",
					  what, path, MAX_PEM_FILE);
				goto out;
			}
			bigger = OPENSSL_clear_realloc(buf, size, cap);
			if (!bigger) {
				error_set(err, TLSKIT_ERR_SYSTEM,
					  "loading %s '%s': out of memory",
					  what, path);
				goto out;
			}
			buf = bigger;
		}
		n = read(fd, buf + size, cap - size - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_set_errno(err, TLSKIT_ERR_CONFIG,
					"loading %s '%s'", what, path);
			goto out;
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	buf[size] = '\0';
	*data = buf;
	*len = size;
	buf = NULL;
	ret = 0;
out:
	if (buf)
		OPENSSL_clear_free(buf, cap);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Every PEM certificate in data, in order. NULL (err set) if none. */
static STACK_OF(X509) *parse_certs(const void *data, size_t len,
				   const char *what, const char *label,
				   struct tlskit_error *err)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	BIO *bio = NULL;
	X509 *x;

	if (!certs || len > INT_MAX ||
	    !(bio = BIO_new_mem_buf(data, (int)len))) {
		error_set(err, TLSKIT_ERR_SYSTEM, "loading %s %s: out of memory",
			  what, label);
		goto fail;
	}
	ERR_clear_error();
	while ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL))) {
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			error_set(err, TLSKIT_ERR_SYSTEM,
				  "loading %s %s: out of memory", what, label);
			goto fail;
		}
	}
	/* Running out of PEM blocks is how the loop ends; anything else is
	 * a broken certificate. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE &&
	    ERR_peek_last_error() != 0) {
		error_set_ssl(err, TLSKIT_ERR_CONFIG, "loading %s %s: bad PEM",
			      what, label);
		goto fail;
	}
	ERR_clear_error();
	if (sk_X509_num(certs) == 0) {
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading %s %s: no PEM certificate found", what, label);
		goto fail;
	}
	BIO_free(bio);
	return certs;
fail:
	BIO_free(bio);
	free_certs(certs);
	return NULL;
}

static TLSKIT_MUST_CHECK int set_cert(tlskit_config *cfg, const void *pem, size_t len,
				      char *label)
{
	STACK_OF(X509) *certs;

	if (!label)
		return error_set(&cfg->err, TLSKIT_ERR_SYSTEM, "out of memory");
	certs = parse_certs(pem, len, "certificate", label, &cfg->err);
	if (!certs) {
		free(label);
		return -1;
	}
	X509_free(cfg->leaf);
	free_certs(cfg->chain);
	free(cfg->cert_label);
	cfg->leaf = sk_X509_shift(certs);
	cfg->chain = certs;
	cfg->cert_label = label;
	return 0;
}

int tlskit_config_set_cert_file(tlskit_config *cfg, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	int ret;

	if (!cfg)
		return -1;
	if (config_mutable(cfg, "certificate") < 0)
		return -1;
	if (!path)
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "loading certificate: no file name");
	if (read_file(path, "certificate", &data, &len, &cfg->err) < 0)
		return -1;
	ret = set_cert(cfg, data, len, quoted(path));
	OPENSSL_clear_free(data, len);
	return ret;
}

int tlskit_config_set_cert_mem(tlskit_config *cfg, const void *pem, size_t len)
{
	if (!cfg)
		return -1;
	if (config_mutable(cfg, "certificate") < 0)
		return -1;
	if (!pem || len == 0)
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "loading certificate from memory: empty input");
	return set_cert(cfg, pem, len, strdup("from memory"));
}

/* Takes ownership of data (a secret of len bytes plus a NUL) and label. */
static TLSKIT_MUST_CHECK int set_key(tlskit_config *cfg, char *data,
				     size_t len, char *label)
{
	if (!label) {
		free_secret(data, len + 1);
		return error_set(&cfg->err, TLSKIT_ERR_SYSTEM, "out of memory");
	}
	free_secret(cfg->key_pem, cfg->key_len + 1);
	free(cfg->key_label);
	cfg->key_pem = data;
	cfg->key_len = len;
	cfg->key_label = label;
	return 0;
}

int tlskit_config_set_key_file(tlskit_config *cfg, const char *path)
{
	char *data = NULL;
	size_t len = 0;

	if (!cfg)
		return -1;
	if (config_mutable(cfg, "private key") < 0)
		return -1;
	if (!path)
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "loading private key: no file name");
	if (read_file(path, "private key", &data, &len, &cfg->err) < 0)
		return -1;
	return set_key(cfg, data, len, quoted(path));
}

int tlskit_config_set_key_mem(tlskit_config *cfg, const void *pem, size_t len)
{
	char *copy;

	if (!cfg)
		return -1;
	if (config_mutable(cfg, "private key") < 0)
		return -1;
	if (!pem || len == 0)
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "loading private key from memory: empty input");
	copy = OPENSSL_malloc(len + 1);
	if (!copy)
		return error_set(&cfg->err, TLSKIT_ERR_SYSTEM, "out of memory");
	memcpy(copy, pem, len);
	copy[len] = '\0';
	return set_key(cfg, copy, len, strdup("from memory"));
}

int tlskit_config_set_key_passphrase(tlskit_config *cfg, const char *passphrase)
{
	char *copy = NULL;

	if (!cfg)
		return -1;
	if (config_mutable(cfg, "key passphrase") < 0)
		return -1;
	if (passphrase && !(copy = OPENSSL_strdup(passphrase)))
		return error_set(&cfg->err, TLSKIT_ERR_SYSTEM, "out of memory");
	if (cfg->passphrase)
		free_secret(cfg->passphrase, strlen(cfg->passphrase));
	cfg->passphrase = copy;
	return 0;
}

static TLSKIT_MUST_CHECK int add_ca_certs(tlskit_config *cfg, const void *pem, size_t len,
					  const char *label)
{
	STACK_OF(X509) *certs;
	X509 *x;

	certs = parse_certs(pem, len, "CA file", label, &cfg->err);
	if (!certs)
		return -1;
	if (!cfg->ca_certs && !(cfg->ca_certs = sk_X509_new_null()))
		goto oom;
	while ((x = sk_X509_shift(certs))) {
		if (!sk_X509_push(cfg->ca_certs, x)) {
			X509_free(x);
			goto oom;
		}
	}
	sk_X509_free(certs);
	return 0;
oom:
	free_certs(certs);
	return error_set(&cfg->err, TLSKIT_ERR_SYSTEM, "out of memory");
}

int tlskit_config_set_ca_file(tlskit_config *cfg, const char *path)
{
	char *data = NULL, *label;
	size_t len = 0;
	int ret;

	if (!cfg)
		return -1;
	if (config_mutable(cfg, "CA file") < 0)
		return -1;
	if (!path)
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "loading CA file: no file name");
	if (read_file(path, "CA file", &data, &len, &cfg->err) < 0)
		return -1;
	label = quoted(path);
	ret = label ? add_ca_certs(cfg, data, len, label) :
		      error_set(&cfg->err, TLSKIT_ERR_SYSTEM, "out of memory");
	free(label);
	OPENSSL_clear_free(data, len);
	return ret;
}

int tlskit_config_set_ca_mem(tlskit_config *cfg, const void *pem, size_t len)
{
	if (!cfg)
		return -1;
	if (config_mutable(cfg, "CA certificates") < 0)
		return -1;
	if (!pem || len == 0)
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "loading CA certificates from memory: empty input");
	return add_ca_certs(cfg, pem, len, "from memory");
}

int tlskit_config_set_ca_dir(tlskit_config *cfg, const char *path)
{
	struct stat st;

	if (!cfg)
		return -1;
	if (config_mutable(cfg, "CA directory") < 0)
		return -1;
	if (!path)
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "loading CA directory: no directory name");
	if (stat(path, &st) < 0)
		return error_set_errno(&cfg->err, TLSKIT_ERR_CONFIG,
				       "loading CA directory '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return error_set(&cfg->err, TLSKIT_ERR_CONFIG,
				 "loading CA directory '%s': not a directory",
				 path);
	return replace_string(cfg, &cfg->ca_dir, path);
}

int tlskit_config_set_verify_client(tlskit_config *cfg,
				    enum tlskit_verify_client mode)
{
	if (!cfg)
		return -1;
	if (config_mutable(cfg, "client verification") < 0)
		return -1;
	if (mode != TLSKIT_VERIFY_CLIENT_NONE &&
	    mode != TLSKIT_VERIFY_CLIENT_OPTIONAL &&
	    mode != TLSKIT_VERIFY_CLIENT_REQUIRE)
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "setting client verification: unknown mode %d",
				 (int)mode);
	cfg->verify_client = mode;
	return 0;
}

int tlskit_config_set_verify_depth(tlskit_config *cfg, int depth)
{
	if (!cfg)
		return -1;
	if (config_mutable(cfg, "verify depth") < 0)
		return -1;
	if (depth < 0 || depth > 100)
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "setting verify depth: %d is out of range (0-100)",
				 depth);
	cfg->verify_depth = depth;
	return 0;
}

int tlskit_config_set_servername(tlskit_config *cfg, const char *name)
{
	if (!cfg)
		return -1;
	if (config_mutable(cfg, "servername") < 0)
		return -1;
	if (name && (name[0] == '\0' || strlen(name) > 255))
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "setting servername '%s': must be 1 to 255 characters",
				 name);
	return replace_string(cfg, &cfg->servername, name);
}

void tlskit_config_insecure_noverifycert(tlskit_config *cfg)
{
	if (cfg && config_mutable(cfg, "insecure no-verify-cert") == 0)
		cfg->noverifycert = 1;
}

void tlskit_config_insecure_noverifyname(tlskit_config *cfg)
{
	if (cfg && config_mutable(cfg, "insecure no-verify-name") == 0)
		cfg->noverifyname = 1;
}

static int valid_protocol(int v)
{
	return v == 0 || v == TLSKIT_TLS1_0 || v == TLSKIT_TLS1_1 ||
	       v == TLSKIT_TLS1_2 || v == TLSKIT_TLS1_3;
}

int tlskit_config_set_protocols(tlskit_config *cfg, enum tlskit_protocol min,
				enum tlskit_protocol max)
{
	int lo = min ? (int)min : TLS1_2_VERSION;
	int hi = max ? (int)max : TLS1_3_VERSION;

	if (!cfg)
		return -1;
	if (config_mutable(cfg, "protocol versions") < 0)
		return -1;
	if (!valid_protocol((int)min) || !valid_protocol((int)max))
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "setting protocol versions: unknown version 0x%04x",
				 valid_protocol((int)min) ? (unsigned)max :
							    (unsigned)min);
	if (lo > hi)
		return error_set(&cfg->err, TLSKIT_ERR_USAGE,
				 "setting protocol versions: minimum %s is above maximum %s",
				 protocol_name(lo), protocol_name(hi));
	cfg->min_proto = lo;
	cfg->max_proto = max ? (int)max : 0;
	return 0;
}

int tlskit_protocol_parse(const char *text, enum tlskit_protocol *out)
{
	static const struct {
		const char *name;
		enum tlskit_protocol value;
	} names[] = {
		{ "1.0", TLSKIT_TLS1_0 }, { "1", TLSKIT_TLS1_0 },
		{ "1.1", TLSKIT_TLS1_1 }, { "1.2", TLSKIT_TLS1_2 },
		{ "1.3", TLSKIT_TLS1_3 }, { "1_0", TLSKIT_TLS1_0 },
		{ "1_1", TLSKIT_TLS1_1 }, { "1_2", TLSKIT_TLS1_2 },
		{ "1_3", TLSKIT_TLS1_3 },
	};
	const char *p = text;

	if (!text || !out)
		return -1;
	if (strncasecmp(p, "tls", 3) == 0) {
		p += 3;
		if (*p == 'v' || *p == 'V')
			p++;
		else if (*p == ' ' || *p == '-')
			p++;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(p, names[i].name) == 0) {
			*out = names[i].value;
			return 0;
		}
	}
	return -1;
}

int tlskit_config_set_ciphers(tlskit_config *cfg, const char *list)
{
	if (!cfg)
		return -1;
	if (config_mutable(cfg, "TLS 1.2 cipher list") < 0)
		return -1;
	if (!list)
		return replace_string(cfg, &cfg->ciphers, NULL);
	if (ciphers_check_list(list, &cfg->err) < 0)
		return -1;
	return replace_string(cfg, &cfg->ciphers, list);
}

int tlskit_config_set_ciphersuites(tlskit_config *cfg, const char *list)
{
	if (!cfg)
		return -1;
	if (config_mutable(cfg, "TLS 1.3 ciphersuites") < 0)
		return -1;
	if (!list)
		return replace_string(cfg, &cfg->ciphersuites, NULL);
	if (ciphers_check_suites(list, &cfg->err) < 0)
		return -1;
	return replace_normalized(cfg, &cfg->ciphersuites, list);
}

int tlskit_config_set_groups(tlskit_config *cfg, const char *list)
{
	if (!cfg)
		return -1;
	if (config_mutable(cfg, "groups") < 0)
		return -1;
	if (!list)
		return replace_string(cfg, &cfg->groups, NULL);
	if (ciphers_check_groups(list, &cfg->err) < 0)
		return -1;
	return replace_normalized(cfg, &cfg->groups, list);
}

int tlskit_config_set_alpn(tlskit_config *cfg, const char *list)
{
	unsigned char *wire;
	size_t n = 0, out = 0, len;
	const char *p;

	if (!cfg)
		return -1;
	if (config_mutable(cfg, "ALPN protocols") < 0)
		return -1;
	if (!list || !*list) {
		free(cfg->alpn);
		cfg->alpn = NULL;
		cfg->alpn_len = 0;
		return 0;
	}
	/* Each name grows by one length byte and loses its comma. */
	len = strlen(list);
	wire = malloc(len + 1);
	if (!wire)
		return error_set(&cfg->err, TLSKIT_ERR_SYSTEM, "out of memory");
	for (p = list;; p += n + 1) {
		n = strcspn(p, ",");
		if (n == 0 || n > 255) {
			free(wire);
			return error_set(&cfg->err, TLSKIT_ERR_USAGE,
					 "setting ALPN protocols '%s': %s", list,
					 n ? "a name is longer than 255 bytes" :
					     "empty protocol name");
		}
		wire[out++] = (unsigned char)n;
		memcpy(wire + out, p, n);
		out += n;
		if (p[n] == '\0')
			break;
	}
	free(cfg->alpn);
	cfg->alpn = wire;
	cfg->alpn_len = out;
	return 0;
}

/* ---- building the OpenSSL context ------------------------------------- */

struct passphrase_ctx {
	const char *passphrase;
	int asked;
};

static int passphrase_cb(char *buf, int size, int rwflag, void *arg)
{
	struct passphrase_ctx *pc = arg;
	size_t len;

	(void)rwflag;
	pc->asked = 1;
	if (!pc->passphrase || size <= 0)
		return -1;
	len = strlen(pc->passphrase);
	if (len > (size_t)size)
		return -1;
	memcpy(buf, pc->passphrase, len);
	return (int)len;
}

static EVP_PKEY *load_key(tlskit_config *cfg, struct tlskit_error *err)
{
	struct passphrase_ctx pc = { cfg->passphrase, 0 };
	EVP_PKEY *pkey;
	BIO *bio;

	bio = BIO_new_mem_buf(cfg->key_pem, (int)cfg->key_len);
	if (!bio) {
		error_set(err, TLSKIT_ERR_SYSTEM, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	pkey = PEM_read_bio_PrivateKey(bio, NULL, passphrase_cb, &pc);
	BIO_free(bio);
	if (pkey) {
		ERR_clear_error();
		return pkey;
	}
	if (pc.asked && !cfg->passphrase)
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading private key %s: the key is encrypted and no passphrase was given",
			  cfg->key_label);
	else if (pc.asked)
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading private key %s: wrong passphrase (decryption failed)",
			  cfg->key_label);
	else
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading private key %s: no PEM private key found (or a damaged one)",
			  cfg->key_label);
	ERR_clear_error();
	return NULL;
}

static TLSKIT_MUST_CHECK int build_identity(tlskit_config *cfg, SSL_CTX *ctx, int role,
					    struct tlskit_error *err)
{
	EVP_PKEY *pkey;
	int ret = -1;

	if (!cfg->leaf && !cfg->key_pem) {
		if (role == ROLE_SERVER)
			return error_set(err, TLSKIT_ERR_CONFIG,
					 "building server configuration: no certificate and key (a server needs both)");
		return 0;
	}
	if (!cfg->leaf)
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading private key %s: no certificate was given for it",
				 cfg->key_label);
	if (!cfg->key_pem)
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading certificate %s: no private key was given for it",
				 cfg->cert_label);
	pkey = load_key(cfg, err);
	if (!pkey)
		return -1;
	if (!X509_check_private_key(cfg->leaf, pkey)) {
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading private key %s: it does not match certificate %s",
			  cfg->key_label, cfg->cert_label);
		goto out;
	}
	if (SSL_CTX_use_cert_and_key(ctx, cfg->leaf, pkey, cfg->chain, 1) != 1) {
		error_set_ssl(err, TLSKIT_ERR_CONFIG,
			      "using certificate %s with private key %s",
			      cfg->cert_label, cfg->key_label);
		goto out;
	}
	ret = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	return ret;
}

/* Servers asking for client certificates name the CAs they accept. */
static TLSKIT_MUST_CHECK int build_client_ca_list(tlskit_config *cfg, SSL_CTX *ctx,
						  struct tlskit_error *err)
{
	STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();

	if (!names)
		return error_set(err, TLSKIT_ERR_SYSTEM, "out of memory");
	for (int i = 0; i < sk_X509_num(cfg->ca_certs); i++) {
		X509_NAME *n = X509_NAME_dup(
			X509_get_subject_name(sk_X509_value(cfg->ca_certs, i)));

		if (!n || !sk_X509_NAME_push(names, n)) {
			X509_NAME_free(n);
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			return error_set(err, TLSKIT_ERR_SYSTEM, "out of memory");
		}
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	return 0;
}

static TLSKIT_MUST_CHECK int build_trust(tlskit_config *cfg, SSL_CTX *ctx, int role,
					 struct tlskit_error *err)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);

	if (!cfg->ca_certs && !cfg->ca_dir) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1)
			return error_set_ssl(err, TLSKIT_ERR_CONFIG,
					     "loading the system trust store");
		return 0;
	}
	for (int i = 0; i < sk_X509_num(cfg->ca_certs); i++) {
		if (X509_STORE_add_cert(store, sk_X509_value(cfg->ca_certs, i)) != 1 &&
		    ERR_GET_REASON(ERR_peek_last_error()) !=
			    X509_R_CERT_ALREADY_IN_HASH_TABLE)
			return error_set_ssl(err, TLSKIT_ERR_CONFIG,
					     "adding CA certificate");
		ERR_clear_error();
	}
	if (cfg->ca_dir && SSL_CTX_load_verify_dir(ctx, cfg->ca_dir) != 1)
		return error_set_ssl(err, TLSKIT_ERR_CONFIG,
				     "loading CA directory '%s'", cfg->ca_dir);
	if (role == ROLE_SERVER && cfg->ca_certs &&
	    cfg->verify_client != TLSKIT_VERIFY_CLIENT_NONE)
		return build_client_ca_list(cfg, ctx, err);
	return 0;
}

static int build_verify(tlskit_config *cfg, SSL_CTX *ctx, int role)
{
	int mode = SSL_VERIFY_PEER;

	if (role == ROLE_CLIENT) {
		if (cfg->noverifycert)
			mode = SSL_VERIFY_NONE;
	} else if (cfg->verify_client == TLSKIT_VERIFY_CLIENT_NONE) {
		mode = SSL_VERIFY_NONE;
	} else if (cfg->verify_client == TLSKIT_VERIFY_CLIENT_REQUIRE) {
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	}
	/* Connections install the callback that records why it failed. */
	SSL_CTX_set_verify(ctx, mode, NULL);
	SSL_CTX_set_verify_depth(ctx, cfg->verify_depth);
	return 0;
}

static int alpn_select_cb(SSL *ssl, const unsigned char **out,
			  unsigned char *outlen, const unsigned char *in,
			  unsigned int inlen, void *arg)
{
	tlskit_config *cfg = arg;
	unsigned char *chosen = NULL;

	(void)ssl;
	if (!cfg->alpn)
		return SSL_TLSEXT_ERR_NOACK;
	/* Our list first: the server's preference wins. */
	if (SSL_select_next_proto(&chosen, outlen, cfg->alpn,
				  (unsigned int)cfg->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = chosen;
	return SSL_TLSEXT_ERR_OK;
}

static TLSKIT_MUST_CHECK int build_algorithms(tlskit_config *cfg, SSL_CTX *ctx,
					      struct tlskit_error *err)
{
	const char *ciphers = cfg->ciphers ? cfg->ciphers : DEFAULT_CIPHERS;
	const char *suites =
		cfg->ciphersuites ? cfg->ciphersuites : DEFAULT_CIPHERSUITES;
	const char *groups = cfg->groups ? cfg->groups : DEFAULT_GROUPS;

	if (SSL_CTX_set_min_proto_version(ctx, cfg->min_proto) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, cfg->max_proto) != 1)
		return error_set_ssl(err, TLSKIT_ERR_CONFIG,
				     "setting protocol versions");
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
		return error_set_ssl(err, TLSKIT_ERR_CONFIG,
				     "setting TLS 1.2 cipher list '%s'", ciphers);
	if (SSL_CTX_set_ciphersuites(ctx, suites) != 1)
		return error_set_ssl(err, TLSKIT_ERR_CONFIG,
				     "setting TLS 1.3 ciphersuites '%s'", suites);
	if (SSL_CTX_set1_groups_list(ctx, groups) != 1)
		return error_set_ssl(err, TLSKIT_ERR_CONFIG,
				     "setting groups '%s'", groups);
	return 0;
}

/*
 * A resumed session skips certificate verification, so it may only resume
 * under the rules it was admitted by: the session id context (which
 * OpenSSL compares before resuming, tickets included) is a digest of
 * everything that decides whom this server admits. Tickets shared with
 * another process or kept over a reload then resume only where the trust
 * anchors, client verification, allow rules, pins and CRLs are the same.
 */
static TLSKIT_MUST_CHECK int set_session_context(tlskit_config *cfg,
						 SSL_CTX *ctx,
						 struct tlskit_error *err)
{
	static const char label[] = "tlskit session context 1";
	unsigned char sid[EVP_MAX_MD_SIZE], fp[EVP_MAX_MD_SIZE];
	unsigned int sid_len = 0, fp_len;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int mode = (int)cfg->verify_client, ok;

	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, label, sizeof(label)) &&
	     EVP_DigestUpdate(md, &mode, sizeof(mode)) &&
	     EVP_DigestUpdate(md, &cfg->verify_depth, sizeof(cfg->verify_depth));
	for (int i = 0; ok && i < sk_X509_num(cfg->ca_certs); i++)
		ok = X509_digest(sk_X509_value(cfg->ca_certs, i), EVP_sha256(),
				 fp, &fp_len) == 1 &&
		     EVP_DigestUpdate(md, fp, fp_len);
	if (ok && cfg->ca_dir)
		ok = EVP_DigestUpdate(md, cfg->ca_dir, strlen(cfg->ca_dir) + 1);
	ok = ok && policy_digest(cfg, md) && revocation_digest(cfg, md) &&
	     EVP_DigestFinal_ex(md, sid, &sid_len) &&
	     SSL_CTX_set_session_id_context(ctx, sid, sid_len) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "setting the session id context");
	return 0;
}

static TLSKIT_MUST_CHECK int build_role(tlskit_config *cfg, SSL_CTX *ctx, int role,
					struct tlskit_error *err)
{
	long mode = SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;

	if (!cfg->keep_buffers)
		mode |= SSL_MODE_RELEASE_BUFFERS;

	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
					 SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, mode);
	if (role == ROLE_SERVER) {
		SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
						 SSL_OP_PRIORITIZE_CHACHA);
		SSL_CTX_set_dh_auto(ctx, 1);
		/* One ticket is enough for one resumption and costs less. */
		SSL_CTX_set_num_tickets(ctx, 1);
		if (set_session_context(cfg, ctx, err) < 0)
			return -1;
		if (cfg->alpn)
			SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, cfg);
	} else if (cfg->alpn &&
		   SSL_CTX_set_alpn_protos(ctx, cfg->alpn,
					   (unsigned int)cfg->alpn_len) != 0) {
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "setting ALPN protocols");
	}
	if (build_algorithms(cfg, ctx, err) < 0 ||
	    build_identity(cfg, ctx, role, err) < 0 ||
	    build_trust(cfg, ctx, role, err) < 0 ||
	    revocation_install(cfg, ctx,
			       role == ROLE_SERVER ? TLSKIT_SERVER : TLSKIT_CLIENT,
			       err) < 0)
		return -1;
	build_verify(cfg, ctx, role);
	if (tickets_install(cfg, ctx,
			    role == ROLE_SERVER ? TLSKIT_SERVER : TLSKIT_CLIENT,
			    err) < 0 ||
	    sni_install(cfg, ctx,
			role == ROLE_SERVER ? TLSKIT_SERVER : TLSKIT_CLIENT,
			err) < 0)
		return -1;
	return policy_install(cfg, ctx,
			      role == ROLE_SERVER ? TLSKIT_SERVER : TLSKIT_CLIENT,
			      err);
}

static SSL_CTX *build_ctx(tlskit_config *cfg, int role, struct tlskit_error *err)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(role == ROLE_SERVER ? TLS_server_method() :
						TLS_client_method());
	if (!ctx) {
		error_set_ssl(err, TLSKIT_ERR_SYSTEM,
			      "creating the OpenSSL context");
		return NULL;
	}
	if (build_role(cfg, ctx, role, err) < 0) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return NULL;
	}
	return ctx;
}

SSL_CTX *config_ctx(tlskit_config *cfg, enum tlskit_role role,
		    struct tlskit_error *err)
{
	struct tlskit_error local;
	SSL_CTX *ctx;
	int i;

	if (role != TLSKIT_CLIENT && role != TLSKIT_SERVER) {
		error_set(err, TLSKIT_ERR_USAGE, "unknown role %d", (int)role);
		return NULL;
	}
	i = role == TLSKIT_SERVER ? ROLE_SERVER : ROLE_CLIENT;
	/* Built once, then only read: every connection after the first
	 * takes it without the lock (the release store below publishes a
	 * context that is complete). */
	ctx = __atomic_load_n(&cfg->ctx[i], __ATOMIC_ACQUIRE);
	if (ctx)
		return ctx;
	pthread_mutex_lock(&cfg->lock);
	ctx = cfg->ctx[i];
	if (!ctx) {
		error_clear(&local);
		ctx = build_ctx(cfg, i, &local);
		if (ctx) {
			__atomic_store_n(&cfg->ctx[i], ctx, __ATOMIC_RELEASE);
			atomic_store(&cfg->frozen, 1);
		} else {
			cfg->err = local;
			if (err)
				*err = local;
		}
	}
	pthread_mutex_unlock(&cfg->lock);
	return ctx;
}

SSL_CTX *config_algorithms_ctx(tlskit_config *cfg, enum tlskit_role role,
			       struct tlskit_error *err)
{
	SSL_CTX *ctx;
	int failed;

	if (role != TLSKIT_CLIENT && role != TLSKIT_SERVER) {
		error_set(err, TLSKIT_ERR_USAGE, "unknown role %d", (int)role);
		return NULL;
	}
	ERR_clear_error();
	ctx = SSL_CTX_new(role == TLSKIT_SERVER ? TLS_server_method() :
						  TLS_client_method());
	if (!ctx) {
		error_set_ssl(err, TLSKIT_ERR_SYSTEM,
			      "creating the OpenSSL context");
		return NULL;
	}
	pthread_mutex_lock(&cfg->lock);
	failed = build_algorithms(cfg, ctx, err) < 0;
	pthread_mutex_unlock(&cfg->lock);
	if (failed) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int tlskit_config_check(tlskit_config *cfg, enum tlskit_role role)
{
	if (!cfg)
		return -1;
	error_clear(&cfg->err);
	return config_ctx(cfg, role, &cfg->err) ? 0 : -1;
}

/* Unlike the other setters this one may follow tlskit_config_check(): the
 * mode is a per-connection buffer policy that SSL_new() copies, so the
 * built contexts take it too, before any connection is made from them. */
int tlskit_config_set_release_buffers(tlskit_config *cfg, int release)
{
	if (!cfg)
		return -1;
	error_clear(&cfg->err);
	pthread_mutex_lock(&cfg->lock);
	cfg->keep_buffers = !release;
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (!cfg->ctx[i])
			continue;
		if (release)
			SSL_CTX_set_mode(cfg->ctx[i], SSL_MODE_RELEASE_BUFFERS);
		else
			SSL_CTX_clear_mode(cfg->ctx[i], SSL_MODE_RELEASE_BUFFERS);
	}
	pthread_mutex_unlock(&cfg->lock);
	return 0;
}

int tlskit_config_cert_validity(tlskit_config *cfg, struct tlskit_error *err)
{
	char name[256], when[64];
	time_t now = time(NULL), t;

	if (!cfg)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "checking certificate validity: no configuration");
	if (!cfg->leaf)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "checking certificate validity: no certificate configured");
	certinfo_short_name(cfg->leaf, name, sizeof(name));
	t = asn1_time_to_time_t(X509_get0_notAfter(cfg->leaf));
	if (X509_cmp_time(X509_get0_notAfter(cfg->leaf), &now) < 0) {
		format_time_utc(t, when, sizeof(when));
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "certificate '%s' expired on %s", name, when);
	}
	t = asn1_time_to_time_t(X509_get0_notBefore(cfg->leaf));
	if (X509_cmp_time(X509_get0_notBefore(cfg->leaf), &now) > 0) {
		format_time_utc(t, when, sizeof(when));
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "certificate '%s' is not valid before %s", name,
				 when);
	}
	error_clear(err);
	return 0;
}
