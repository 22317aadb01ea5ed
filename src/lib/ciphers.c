/*
 * ciphers.c - checking cipher, ciphersuite and group lists element by
 * element, and listing the ciphers a configuration enables.
 *
 * OpenSSL silently drops names it does not know as long as something else in
 * the list matches, so a typo would quietly weaken or change a configuration.
 * Each element is therefore tried alone on a scratch context.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "internal.h"

#define MAX_ELEMENT 128

typedef int (*element_check_fn)(SSL_CTX *scratch, const char *element);

/* Calls check on each element of list (split at any of seps, surrounding
 * blanks ignored); reports the first one it rejects. */
static TLSKIT_MUST_CHECK int check_elements(const char *list,
					    const char *seps, const char *what,
					    const char *noun,
					    element_check_fn check,
					    struct tlskit_error *err)
{
	char element[MAX_ELEMENT];
	SSL_CTX *scratch;
	const char *p = list;
	int ret = 0;

	ERR_clear_error();
	scratch = SSL_CTX_new(TLS_method());
	if (!scratch)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "setting %s: creating a scratch context",
				     what);
	while (*p && ret == 0) {
		size_t n = strcspn(p, seps);
		size_t start = 0;

		while (start < n && isspace((unsigned char)p[start]))
			start++;
		while (n > start && isspace((unsigned char)p[n - 1]))
			n--;
		if (n - start >= sizeof(element)) {
			ret = error_set(err, TLSKIT_ERR_CONFIG,
					"setting %s: %s '%.*s...' is too long",
					what, noun, 32, p + start);
			break;
		}
		memcpy(element, p + start, n - start);
		element[n - start] = '\0';
		if (element[0] && !check(scratch, element))
			ret = error_set(err, TLSKIT_ERR_CONFIG,
					"setting %s: unknown %s '%s'", what,
					noun, element);
		p += strcspn(p, seps);
		if (*p)
			p++;
	}
	SSL_CTX_free(scratch);
	ERR_clear_error();
	return ret;
}

static int count_tls13(SSL_CTX *ctx)
{
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
	int n = 0;

	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++)
		if (SSL_CIPHER_get_protocol_id(sk_SSL_CIPHER_value(sk, i)) >>
		    8 == 0x13)
			n++;
	return n;
}

static int known_cipher_rule(SSL_CTX *scratch, const char *element)
{
	const char *word = element;
	const char *level;

	if (*word == '@') {
		if (strcmp(word, "@STRENGTH") == 0)
			return 1;
		level = word + strlen("@SECLEVEL=");
		return strncmp(word, "@SECLEVEL=", strlen("@SECLEVEL=")) == 0 &&
		       level[0] >= '0' && level[0] <= '5' && level[1] == '\0';
	}
	if (*word == '!' || *word == '-' || *word == '+')
		word++;
	if (!*word)
		return 0;
	return SSL_CTX_set_cipher_list(scratch, word) == 1;
}

static int known_suite(SSL_CTX *scratch, const char *element)
{
	if (SSL_CTX_set_ciphersuites(scratch, element) != 1)
		return 0;
	return count_tls13(scratch) > 0;
}

static int known_group(SSL_CTX *scratch, const char *element)
{
	return SSL_CTX_set1_groups_list(scratch, element) == 1;
}

int ciphers_check_list(const char *list, struct tlskit_error *err)
{
	return check_elements(list, ":, ;", "TLS 1.2 cipher list", "cipher",
			      known_cipher_rule, err);
}

int ciphers_check_suites(const char *list, struct tlskit_error *err)
{
	return check_elements(list, ":,", "TLS 1.3 ciphersuites", "ciphersuite",
			      known_suite, err);
}

int ciphers_check_groups(const char *list, struct tlskit_error *err)
{
	return check_elements(list, ":,", "groups", "group", known_group, err);
}

char *ciphers_normalize(const char *list)
{
	char *out = malloc(strlen(list) + 1);
	size_t n = 0;

	if (!out)
		return NULL;
	for (const char *p = list; *p; p++) {
		if (isspace((unsigned char)*p))
			continue;
		out[n++] = *p == ',' ? ':' : *p;
	}
	out[n] = '\0';
	return out;
}

/* ---- listing ---------------------------------------------------------- */

/* The value of "Key=" in SSL_CIPHER_description's line, e.g. Kx=ECDH. */
static void description_field(const char *desc, const char *key, char *out,
			      size_t len)
{
	const char *p = strstr(desc, key);
	size_t n;

	if (!p) {
		snprintf(out, len, "?");
		return;
	}
	p += strlen(key);
	n = strcspn(p, " \n");
	snprintf(out, len, "%.*s", (int)n, p);
}

static void cipher_info(const SSL_CIPHER *c, struct tlskit_cipher_info *info)
{
	char desc[256];
	const char *iana = SSL_CIPHER_standard_name(c);

	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", SSL_CIPHER_get_name(c));
	snprintf(info->iana, sizeof(info->iana), "%s", iana ? iana : "");
	snprintf(info->protocol, sizeof(info->protocol), "%s",
		 SSL_CIPHER_get_version(c));
	info->id = SSL_CIPHER_get_protocol_id(c);
	info->bits = SSL_CIPHER_get_bits(c, NULL);
	info->aead = SSL_CIPHER_is_aead(c);
	if (!SSL_CIPHER_description(c, desc, sizeof(desc)))
		desc[0] = '\0';
	description_field(desc, " Kx=", info->kx, sizeof(info->kx));
	description_field(desc, " Au=", info->auth, sizeof(info->auth));
	description_field(desc, " Enc=", info->enc, sizeof(info->enc));
	description_field(desc, " Mac=", info->mac, sizeof(info->mac));
}

ssize_t tlskit_config_ciphers(tlskit_config *cfg, enum tlskit_role role,
			      struct tlskit_cipher_info **out)
{
	struct tlskit_error *err;
	struct tlskit_cipher_info *infos = NULL;
	STACK_OF(SSL_CIPHER) *sk = NULL;
	SSL_CTX *ctx;
	SSL *ssl = NULL;
	ssize_t n = -1;

	if (!cfg || !out)
		return -1;
	*out = NULL;
	err = config_error_slot(cfg);
	error_clear(err);
	/* A scratch context: listing needs no certificate and must not
	 * freeze the config. */
	ctx = config_algorithms_ctx(cfg, role, err);
	if (!ctx)
		return -1;
	ssl = SSL_new(ctx);
	/* Only what the protocol range and security level leave usable. */
	sk = ssl ? SSL_get1_supported_ciphers(ssl) : NULL;
	if (!sk) {
		if (ssl)
			error_set(err, TLSKIT_ERR_CONFIG,
				  "listing ciphers: no cipher is usable with this configuration");
		else
			error_set_ssl(err, TLSKIT_ERR_SYSTEM, "listing ciphers");
		goto out;
	}
	n = sk_SSL_CIPHER_num(sk);
	if (n > 0 && !(infos = calloc((size_t)n, sizeof(*infos)))) {
		n = error_set(err, TLSKIT_ERR_SYSTEM,
			      "listing ciphers: out of memory");
		goto out;
	}
	for (ssize_t i = 0; i < n; i++)
		cipher_info(sk_SSL_CIPHER_value(sk, (int)i), &infos[i]);
	*out = infos;
out:
	sk_SSL_CIPHER_free(sk);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return n;
}
