/*
 * tickets.c - session ticket keys for servers (TLS 1.2 session tickets and
 * TLS 1.3 stateless tickets).
 *
 * The keys live in the config, not in OpenSSL's context: every connection
 * built from one config (every worker thread of one server) encrypts and
 * decrypts with the same keys. Without key files the library makes its own
 * keys and rotates them: a new encryption key every rotation interval, the
 * previous one still decrypting for one more interval. With key files (the
 * format nginx uses, so existing rotation tooling works) the first file's key
 * encrypts and every file's key decrypts; several processes or machines
 * given the same files resume each other's sessions.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "internal.h"

#define KEY_NAME_LEN 16
#define FILE_SHORT 48 /* name 16, AES-128 key 16, HMAC key 16 */
#define FILE_LONG 80  /* name 16, HMAC key 32, AES-256 key 32 */
#define MAX_KEY_FILES 64
#define DEFAULT_ROTATION (12L * 3600)

struct ticket_key {
	unsigned char name[KEY_NAME_LEN];
	unsigned char aes[32];
	unsigned char hmac[32];
	size_t len; /* 16 (AES-128, 48-byte file) or 32 */
};

/*
 * Our own keys, when no file was given: a ring of generations. The key of
 * generation g is in ring[g % KEY_RING]; generation gen encrypts, gen and
 * gen - 1 decrypt. Handshakes only read (gen with acquire, then the slot):
 * no lock on the per-connection path. A writer (rotation, a reload's
 * inheritance) fills the next slots under the lock, then publishes gen
 * with release. A slot is refilled only KEY_RING - 2 publications after
 * it stopped decrypting, which at one rotation interval each (or one
 * reload each) no reader's copy of 88 bytes outlasts.
 */
#define KEY_RING 8

struct key_slot {
	struct ticket_key key;
	time_t since; /* when it began encrypting */
	int set;
};

struct tickets {
	int disabled;
	long rotation;
	struct ticket_key files[MAX_KEY_FILES];
	size_t file_count;
	pthread_mutex_t lock; /* writers of the ring only */
	int lock_ready;
	struct key_slot ring[KEY_RING];
	unsigned int gen; /* atomic; 0: no key made yet */
};

static pthread_once_t index_once = PTHREAD_ONCE_INIT;
static int ctx_tickets_index = -1;

static void index_init(void)
{
	ctx_tickets_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

void tickets_free(struct tickets *t)
{
	if (!t)
		return;
	if (t->lock_ready)
		pthread_mutex_destroy(&t->lock);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

static struct tickets *tickets_new(void)
{
	struct tickets *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->rotation = DEFAULT_ROTATION;
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return NULL;
	}
	t->lock_ready = 1;
	return t;
}

static struct tickets *tickets_for_change(tlskit_config *cfg, const char *what)
{
	struct tickets **slot = config_tickets_slot(cfg);

	if (config_settable(cfg, what) < 0)
		return NULL;
	if (!*slot && !(*slot = tickets_new()))
		error_set(config_error_slot(cfg), TLSKIT_ERR_SYSTEM,
			  "setting %s: out of memory", what);
	return *slot;
}

/* ---- setters ------------------------------------------------------------ */

int tlskit_config_set_tickets(tlskit_config *cfg, int enabled)
{
	struct tickets *t;

	if (!cfg)
		return -1;
	t = tickets_for_change(cfg, "session tickets");
	if (!t)
		return -1;
	t->disabled = !enabled;
	return 0;
}

int tlskit_config_set_ticket_rotation(tlskit_config *cfg, long seconds)
{
	struct tickets *t;

	if (!cfg)
		return -1;
	if (seconds <= 0)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_USAGE,
				 "setting the ticket key rotation: %ld seconds is not a positive interval",
				 seconds);
	t = tickets_for_change(cfg, "the ticket key rotation");
	if (!t)
		return -1;
	t->rotation = seconds;
	return 0;
}

static void key_from_bytes(struct ticket_key *k, const unsigned char *buf,
			   size_t len)
{
	memcpy(k->name, buf, KEY_NAME_LEN);
	if (len == FILE_SHORT) {
		k->len = 16;
		memcpy(k->aes, buf + 16, 16);
		memcpy(k->hmac, buf + 32, 16);
	} else {
		k->len = 32;
		memcpy(k->hmac, buf + 16, 32);
		memcpy(k->aes, buf + 48, 32);
	}
}

/* Reads at most FILE_LONG + 1 bytes: enough to tell a wrong size. */
static TLSKIT_MUST_CHECK int read_key_file(const char *path,
					   unsigned char *buf, size_t *len,
					   struct tlskit_error *err)
{
	FILE *f = fopen(path, "rb");
	int ret = 0;

	if (!f)
		return error_set_errno(err, TLSKIT_ERR_CONFIG,
				       "loading ticket keys '%s'", path);
	*len = fread(buf, 1, FILE_LONG + 1, f);
	if (ferror(f))
		ret = error_set_errno(err, TLSKIT_ERR_CONFIG,
				      "loading ticket keys '%s'", path);
	else if (*len != FILE_SHORT && *len != FILE_LONG)
		ret = error_set(err, TLSKIT_ERR_CONFIG,
				"loading ticket keys '%s': %s%zu bytes; a ticket key file holds exactly 48 or 80 random bytes (e.g. openssl rand 80)",
				path, *len > FILE_LONG ? "more than " : "",
				*len > FILE_LONG ? (size_t)FILE_LONG : *len);
	fclose(f);
	return ret;
}

int tlskit_config_add_ticket_key_file(tlskit_config *cfg, const char *path)
{
	unsigned char buf[FILE_LONG + 1];
	struct tickets *t;
	size_t len = 0;
	int ret = -1;

	if (!cfg)
		return -1;
	if (!path)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_USAGE,
				 "loading ticket keys: no file name");
	t = tickets_for_change(cfg, "ticket keys");
	if (!t)
		return -1;
	if (t->file_count == MAX_KEY_FILES)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_CONFIG,
				 "loading ticket keys '%s': more than %d key files",
				 path, MAX_KEY_FILES);
	if (read_key_file(path, buf, &len, config_error_slot(cfg)) < 0)
		goto out;
	key_from_bytes(&t->files[t->file_count++], buf, len);
	ret = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

static void inherit_keys(struct tickets *t, struct tickets *src);

int tlskit_config_inherit_tickets(tlskit_config *cfg, tlskit_config *from)
{
	struct tickets *src, *t;

	if (!cfg || !from)
		return -1;
	src = *config_tickets_slot(from);
	if (!src || src->disabled || src->file_count ||
	    src == *config_tickets_slot(cfg))
		return 0;
	/* cfg may be built (and frozen) already: its keys change under
	 * their lock, as rotation changes them. */
	t = *config_tickets_slot(cfg);
	if (!t)
		t = tickets_for_change(cfg, "inherited ticket keys");
	if (!t)
		return -1;
	if (t->disabled || t->file_count)
		return 0;
	inherit_keys(t, src);
	return 0;
}

/* ---- the callback ------------------------------------------------------- */

static TLSKIT_MUST_CHECK int new_key(struct ticket_key *k)
{
	k->len = 32;
	return RAND_bytes(k->name, sizeof(k->name)) == 1 &&
	       RAND_priv_bytes(k->aes, sizeof(k->aes)) == 1 &&
	       RAND_priv_bytes(k->hmac, sizeof(k->hmac)) == 1 ? 0 : -1;
}

static struct key_slot *slot_of(struct tickets *t, unsigned int gen)
{
	return &t->ring[gen % KEY_RING];
}

static unsigned int published(struct tickets *t)
{
	return __atomic_load_n(&t->gen, __ATOMIC_ACQUIRE);
}

/* Generation 0 means "none": skipped when the count wraps. */
static unsigned int next_gen(unsigned int gen)
{
	return gen + 1 ? gen + 1 : 1;
}

static int due(struct tickets *t, unsigned int gen, time_t now)
{
	return gen == 0 || now - slot_of(t, gen)->since >= t->rotation;
}

/* Under t->lock: the slot of generation gen filled, then published. */
static void publish(struct tickets *t, unsigned int gen,
		    const struct ticket_key *key, time_t since)
{
	struct key_slot *k = slot_of(t, gen);

	k->key = *key;
	k->since = since;
	k->set = 1;
	__atomic_store_n(&t->gen, gen, __ATOMIC_RELEASE);
}

/* The encrypting generation, a new one first when the interval is over
 * (rare: only then is the lock taken); 0 if no key could be made. */
static unsigned int current_gen(struct tickets *t)
{
	time_t now = time(NULL);
	unsigned int gen = published(t);
	struct ticket_key fresh;

	if (!due(t, gen, now))
		return gen;
	pthread_mutex_lock(&t->lock);
	gen = published(t); /* another thread may have rotated meanwhile */
	if (due(t, gen, now) && new_key(&fresh) == 0) {
		gen = next_gen(gen);
		publish(t, gen, &fresh, now);
	}
	OPENSSL_cleanse(&fresh, sizeof(fresh));
	pthread_mutex_unlock(&t->lock);
	return gen;
}

/* A reload's new config takes over the old one's keys, so that clients
 * resume across it: src's current and previous keys become t's. */
static void inherit_keys(struct tickets *t, struct tickets *src)
{
	unsigned int from = published(src);
	struct key_slot cur, prev;
	unsigned int gen;

	if (from == 0)
		return;
	cur = *slot_of(src, from);
	prev = *slot_of(src, from - 1);
	pthread_mutex_lock(&t->lock);
	gen = published(t);
	if (prev.set && from - 1 != 0) {
		gen = next_gen(gen);
		publish(t, gen, &prev.key, prev.since);
	}
	publish(t, next_gen(gen), &cur.key, cur.since);
	pthread_mutex_unlock(&t->lock);
	OPENSSL_cleanse(&cur, sizeof(cur));
	OPENSSL_cleanse(&prev, sizeof(prev));
}

static TLSKIT_MUST_CHECK int encrypt_key(struct tickets *t,
					 struct ticket_key *out)
{
	unsigned int gen;

	if (t->file_count) {
		*out = t->files[0];
		return 0;
	}
	gen = current_gen(t);
	if (gen == 0)
		return -1;
	*out = slot_of(t, gen)->key;
	return 0;
}

/* 1: the encrypting key; 2: an older one (the client gets a fresh ticket);
 * 0: no key of that name. */
static int decrypt_key(struct tickets *t, const unsigned char *name,
		       struct ticket_key *out)
{
	unsigned int gen;
	int found = 0;

	for (size_t i = 0; i < t->file_count; i++)
		if (!memcmp(t->files[i].name, name, KEY_NAME_LEN)) {
			*out = t->files[i];
			return i == 0 ? 1 : 2;
		}
	if (t->file_count)
		return 0;
	/* Rotating here too keeps a key from decrypting longer than two
	 * intervals on a server that issues no new tickets. */
	gen = current_gen(t);
	for (unsigned int age = 0; gen && age < 2 && !found; age++) {
		const struct key_slot *k = slot_of(t, gen - age);

		if (gen - age != 0 && k->set &&
		    !memcmp(k->key.name, name, KEY_NAME_LEN)) {
			*out = k->key;
			found = age == 0 ? 1 : 2;
		}
	}
	return found;
}

static int key_init(const struct ticket_key *k, unsigned char *iv,
		    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	const EVP_CIPHER *cipher =
		k->len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(hctx, k->hmac, k->len, params) != 1)
		return 0;
	if (enc)
		return EVP_EncryptInit_ex(cctx, cipher, NULL, k->aes, iv) == 1;
	return EVP_DecryptInit_ex(cctx, cipher, NULL, k->aes, iv) == 1;
}

static int ticket_key_cb(SSL *ssl, unsigned char name[16],
			 unsigned char iv[EVP_MAX_IV_LENGTH],
			 EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct tickets *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
						ctx_tickets_index);
	struct ticket_key key;
	int ret = -1;

	if (!t)
		return enc ? -1 : 0;
	if (enc) {
		if (encrypt_key(t, &key) < 0 ||
		    RAND_bytes(iv, EVP_CIPHER_iv_length(EVP_aes_256_cbc())) != 1)
			goto out;
		memcpy(name, key.name, KEY_NAME_LEN);
		ret = key_init(&key, iv, cctx, hctx, 1) ? 1 : -1;
	} else {
		int found = decrypt_key(t, name, &key);

		/* An unknown key is no error: the client gets a full
		 * handshake and a new ticket. */
		if (!found)
			return 0;
		/* TLS 1.3 tickets are for one use (RFC 8446 C.4: clients
		 * that care for privacy never offer one twice): a resumed
		 * session gets a new ticket, or every other connection of
		 * such a client would be a full handshake. */
		if (SSL_version(ssl) >= TLS1_3_VERSION)
			found = 2;
		ret = key_init(&key, iv, cctx, hctx, 0) ? found : -1;
	}
out:
	OPENSSL_cleanse(&key, sizeof(key));
	return ret;
}

/* ---- building ----------------------------------------------------------- */

static void disable(SSL_CTX *ctx)
{
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	/* Or TLS 1.2 clients would still resume by session ID. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
}

int tickets_install(tlskit_config *cfg, SSL_CTX *ctx, enum tlskit_role role,
		    struct tlskit_error *err)
{
	struct tickets **slot = config_tickets_slot(cfg);
	struct tickets *t = *slot;

	if (role != TLSKIT_SERVER)
		return 0;
	if (t && t->disabled) {
		disable(ctx);
		return 0;
	}
	if (!t) {
		/* Tickets are on by default: our own rotating keys. The
		 * config may be frozen already (its client side built). */
		t = *slot = tickets_new();
		if (!t)
			return error_set(err, TLSKIT_ERR_SYSTEM,
					 "setting up session tickets: out of memory");
	}
	pthread_once(&index_once, index_init);
	if (ctx_tickets_index < 0 ||
	    SSL_CTX_set_ex_data(ctx, ctx_tickets_index, t) != 1 ||
	    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb) != 1)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "setting up session tickets");
	return 0;
}
