/*
 * sni.c - several certificates on one server, chosen by the name the client
 * asks for (SNI).
 *
 * The config's own certificate (tlskit_config_set_cert_file) comes first
 * and is the default; further ones are added with their keys. Each is
 * chosen by its own names (DNS SANs, else the CN; wildcards as a client
 * would match them). Every certificate holding the name is put on the
 * connection, so an RSA and an ECDSA certificate for the same names sit
 * side by side and OpenSSL serves the one the client's signature
 * algorithms accept.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define MAX_SNI_CERTS 64

struct sni_entry {
	X509 *leaf;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
};

struct sni {
	int strict;
	/* [0] is the config's own certificate, filled in when the server
	 * context is built; the rest were added. */
	struct sni_entry entries[MAX_SNI_CERTS + 1];
	size_t count; /* including [0] */
};

static void entry_clear(struct sni_entry *e)
{
	X509_free(e->leaf);
	sk_X509_pop_free(e->chain, X509_free);
	EVP_PKEY_free(e->key);
	memset(e, 0, sizeof(*e));
}

void sni_free(struct sni *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++)
		entry_clear(&s->entries[i]);
	free(s);
}

static struct sni *sni_for_change(tlskit_config *cfg, const char *what)
{
	struct sni **slot = config_sni_slot(cfg);

	if (config_settable(cfg, what) < 0)
		return NULL;
	if (!*slot) {
		*slot = calloc(1, sizeof(**slot));
		if (!*slot) {
			error_set(config_error_slot(cfg), TLSKIT_ERR_SYSTEM,
				  "setting %s: out of memory", what);
			return NULL;
		}
		(*slot)->count = 1;
	}
	return *slot;
}

/* ---- setters ------------------------------------------------------------ */

int tlskit_config_set_sni_strict(tlskit_config *cfg, int strict)
{
	struct sni *s;

	if (!cfg)
		return -1;
	s = sni_for_change(cfg, "strict SNI");
	if (!s)
		return -1;
	s->strict = !!strict;
	return 0;
}

static TLSKIT_MUST_CHECK int load_entry(struct sni_entry *e,
					const char *cert_path,
					const char *key_path,
					struct tlskit_error *err)
{
	STACK_OF(X509) *certs = NULL;

	if (certgen_load_certs("certificate", cert_path, &certs, err) < 0)
		return -1;
	e->leaf = sk_X509_shift(certs);
	e->chain = certs;
	if (!e->leaf) {
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading certificate '%s': no certificate in it",
			  cert_path);
		return -1;
	}
	e->key = certgen_load_key("private key", key_path, NULL, err);
	if (!e->key)
		return -1;
	ERR_clear_error();
	if (!X509_check_private_key(e->leaf, e->key)) {
		ERR_clear_error();
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading private key '%s': it does not match certificate '%s'",
				 key_path, cert_path);
	}
	return 0;
}

int tlskit_config_add_cert_key_file(tlskit_config *cfg, const char *cert_path,
				    const char *key_path)
{
	struct sni_entry e = { 0 };
	struct sni *s;

	if (!cfg)
		return -1;
	if (!cert_path || !key_path)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_USAGE,
				 "adding a certificate: it needs a certificate file and a key file");
	s = sni_for_change(cfg, "another certificate");
	if (!s)
		return -1;
	if (s->count == MAX_SNI_CERTS + 1)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_CONFIG,
				 "adding certificate '%s': more than %d certificates",
				 cert_path, MAX_SNI_CERTS + 1);
	if (load_entry(&e, cert_path, key_path, config_error_slot(cfg)) < 0) {
		entry_clear(&e);
		return -1;
	}
	s->entries[s->count++] = e;
	return 0;
}

/* ---- choosing ----------------------------------------------------------- */

static int holds_name(X509 *x, const char *name)
{
	return X509_check_host(x, name, 0,
			       X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

/* The first certificate's first name: what the default set is made of. */
static int in_default_set(const struct sni *s, size_t i)
{
	GENERAL_NAMES *sans;
	int ret = 0;

	if (i == 0)
		return 1;
	/* Same names as the default certificate: its twin of another key
	 * type. Compared by "holds every DNS name the default holds". */
	sans = X509_get_ext_d2i(s->entries[0].leaf, NID_subject_alt_name,
				NULL, NULL);
	for (int j = 0; j < sk_GENERAL_NAME_num(sans); j++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, j);

		if (g->type != GEN_DNS)
			continue;
		ret = holds_name(s->entries[i].leaf,
				 (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		if (!ret)
			break;
	}
	GENERAL_NAMES_free(sans);
	return ret;
}

static TLSKIT_MUST_CHECK int use_entry(SSL *ssl, const struct sni_entry *e)
{
	return SSL_use_cert_and_key(ssl, e->leaf, e->key, e->chain, 1) == 1 ?
		       0 : -1;
}

/* Puts every certificate for name (NULL: the default set) on ssl; the
 * number put. */
static int use_matching(SSL *ssl, const struct sni *s, const char *name)
{
	int used = 0;

	for (size_t i = 0; i < s->count; i++) {
		if (name ? !holds_name(s->entries[i].leaf, name) :
			   !in_default_set(s, i))
			continue;
		if (use_entry(ssl, &s->entries[i]) < 0)
			return -1;
		used++;
	}
	return used;
}

static int refuse(SSL *ssl, int *alert, const char *name)
{
	char msg[TLSKIT_ERROR_MAX];
	tlskit_conn *conn = conn_from_ssl(ssl);

	if (name)
		snprintf(msg, sizeof(msg),
			 "refusing client: it asked for server name '%s' (SNI), which no certificate holds (strict SNI)",
			 name);
	else
		snprintf(msg, sizeof(msg),
			 "refusing client: it sent no server name (SNI) (strict SNI)");
	if (conn)
		conn_set_verify_failure(conn, msg);
	*alert = SSL_AD_UNRECOGNIZED_NAME;
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int servername_cb(SSL *ssl, int *alert, void *arg)
{
	const struct sni *s = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	int used = 0;

	/* Count first: nothing changes on a connection we refuse. */
	for (size_t i = 0; name && i < s->count && !used; i++)
		used = holds_name(s->entries[i].leaf, name);
	if (!used && s->strict)
		return refuse(ssl, alert, name);
	SSL_certs_clear(ssl);
	if (use_matching(ssl, s, used ? name : NULL) <= 0) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* ---- building ----------------------------------------------------------- */

/* Entry [0] from what build_identity put on ctx. */
static TLSKIT_MUST_CHECK int take_default(struct sni *s, SSL_CTX *ctx)
{
	struct sni_entry *e = &s->entries[0];
	STACK_OF(X509) *chain = NULL;

	entry_clear(e);
	e->leaf = SSL_CTX_get0_certificate(ctx);
	e->key = SSL_CTX_get0_privatekey(ctx);
	if (!e->leaf || !e->key) {
		e->leaf = NULL;
		e->key = NULL;
		return -1;
	}
	X509_up_ref(e->leaf);
	EVP_PKEY_up_ref(e->key);
	if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1 && chain) {
		e->chain = X509_chain_up_ref(chain);
		if (!e->chain)
			return -1;
	}
	return 0;
}

int sni_install(tlskit_config *cfg, SSL_CTX *ctx, enum tlskit_role role,
		struct tlskit_error *err)
{
	struct sni *s = *config_sni_slot(cfg);

	if (role != TLSKIT_SERVER || !s)
		return 0;
	if (take_default(s, ctx) < 0)
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "choosing certificates by server name: the server has no certificate and key of its own (the default)");
	SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, s);
	return 0;
}
