/*
 * certinfo.c - a parsed X.509 certificate: names, SANs, dates, serial,
 * fingerprints, SPKI pin, public key, signature algorithm, key usages,
 * basic constraints, DER. OpenSSL does all parsing; this file only turns its
 * answers into strings that stay valid as long as the tlskit_cert.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

/* Bigger than any sane certificate, small enough to refuse /dev/zero. */
#define CERT_FILE_MAX (1024 * 1024)

/*
 * Names come from peers: RFC 2253 escaping turns control bytes and anything
 * beyond ASCII into \XX, so no name can carry terminal escapes (UTF-8 C1
 * controls included) into logs.
 */
#define NAME_FLAGS XN_FLAG_RFC2253

struct tlskit_cert {
	X509 *x509;
	char *subject;
	char *issuer;
	char **sans;
	size_t san_count;
	time_t not_before;
	time_t not_after;
	char *serial;
	char *fingerprint;
	char *fingerprint_sha1;
	char *pin;
	char *key_type;
	int key_bits;
	char *sig_alg;
	const char *key_usage[9]; /* static words, RFC 5280 order */
	size_t key_usage_count;
	char **eku;
	size_t eku_count;
	int has_bc, is_ca, pathlen;
	int self_signed;
	unsigned char *der;
	size_t der_len;
};

/* The contents of a memory BIO as a C string; frees the BIO. */
static char *bio_to_string(BIO *bio)
{
	char *data, *out = NULL;
	long len = BIO_get_mem_data(bio, &data);

	if (len >= 0)
		out = strndup(len ? data : "", (size_t)len);
	BIO_free(bio);
	return out;
}

static char *name_to_string(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (!bio)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0, NAME_FLAGS) < 0) {
		BIO_free(bio);
		return NULL;
	}
	return bio_to_string(bio);
}

static char *hex_string(const unsigned char *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *out = malloc(len * 2 + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	out[len * 2] = '\0';
	return out;
}

static char *serial_to_string(const ASN1_INTEGER *serial)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = NULL, *out = NULL;

	if (!bn)
		return NULL;
	hex = BN_bn2hex(bn);
	if (!hex)
		goto out;
	out = strdup(hex);
	for (char *p = out; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return out;
}

/*
 * "PREFIX:value" from an IA5String. Names come from the peer, so control
 * bytes, non-ASCII and embedded NULs are shown as \xHH rather than passed
 * on to terminals and logs.
 */
static char *ia5_san(const char *prefix, const ASN1_STRING *s)
{
	const unsigned char *data = ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s);
	size_t plen = strlen(prefix), n = plen;
	char *out;

	if (len < 0)
		return NULL;
	out = malloc(plen + (size_t)len * 4 + 1);
	if (!out)
		return NULL;
	memcpy(out, prefix, plen);
	for (int i = 0; i < len; i++) {
		unsigned char c = data[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[n++] = (char)c;
		else
			n += (size_t)sprintf(out + n, "\\x%02x", c);
	}
	out[n] = '\0';
	return out;
}

static char *ip_san(const ASN1_OCTET_STRING *s)
{
	char text[INET6_ADDRSTRLEN + 3] = "IP:";
	const unsigned char *data = ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s), family;

	if (len == 4)
		family = AF_INET;
	else if (len == 16)
		family = AF_INET6;
	else
		return strdup("IP:<invalid>");
	if (!inet_ntop(family, data, text + 3, sizeof(text) - 3))
		return strdup("IP:<invalid>");
	return strdup(text);
}

/* NULL with *skip set for name types we do not show. */
static char *general_name_to_string(const GENERAL_NAME *gn, int *skip)
{
	*skip = 0;
	switch (gn->type) {
	case GEN_DNS:
		return ia5_san("DNS:", gn->d.dNSName);
	case GEN_IPADD:
		return ip_san(gn->d.iPAddress);
	case GEN_EMAIL:
		return ia5_san("email:", gn->d.rfc822Name);
	case GEN_URI:
		return ia5_san("URI:", gn->d.uniformResourceIdentifier);
	}
	*skip = 1;
	return NULL;
}

static int load_sans(tlskit_cert *cert)
{
	GENERAL_NAMES *names;
	int count, rc = -1;

	names = X509_get_ext_d2i(cert->x509, NID_subject_alt_name, NULL, NULL);
	if (!names)
		return 0;
	count = sk_GENERAL_NAME_num(names);
	cert->sans = calloc(count > 0 ? (size_t)count : 1, sizeof(char *));
	if (!cert->sans)
		goto out;
	for (int i = 0; i < count; i++) {
		int skip;
		char *s = general_name_to_string(sk_GENERAL_NAME_value(names, i),
						 &skip);

		if (skip)
			continue;
		if (!s)
			goto out;
		cert->sans[cert->san_count++] = s;
	}
	rc = 0;
out:
	GENERAL_NAMES_free(names);
	return rc;
}

/* Lowercase hex of the digest of the whole DER certificate. */
static char *cert_digest(X509 *x, const EVP_MD *md)
{
	unsigned char buf[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!md || !X509_digest(x, md, buf, &len))
		return NULL;
	return hex_string(buf, len);
}

/*
 * "sha256//" + base64(SHA-256(DER SubjectPublicKeyInfo)): what curl's
 * --pinnedpubkey and HPKP take. X509_pubkey_digest would hash only the key
 * bits, not the whole SPKI, so the DER is hashed here.
 */
static char *spki_pin(X509 *x)
{
	static const char prefix[] = "sha256//";
	unsigned char md[EVP_MAX_MD_SIZE], *spki = NULL;
	unsigned int md_len = 0;
	char *out = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);

	if (len <= 0)
		return NULL;
	if (!EVP_Digest(spki, (size_t)len, md, &md_len, EVP_sha256(), NULL))
		goto out;
	/* base64 of 32 bytes: 44 characters and a NUL */
	out = malloc(sizeof(prefix) + 4 * ((md_len + 2) / 3));
	if (!out)
		goto out;
	memcpy(out, prefix, sizeof(prefix) - 1);
	EVP_EncodeBlock((unsigned char *)out + sizeof(prefix) - 1, md,
			(int)md_len);
out:
	OPENSSL_free(spki);
	return out;
}

/* "P-256" for prime256v1; the group's own name for curves NIST never
 * named (brainpoolP256r1). */
static void ec_curve_name(EVP_PKEY *pkey, char *buf, size_t len)
{
	char group[64] = "";
	const char *nist = NULL;
	size_t glen = 0;

	if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) == 1)
		nist = EC_curve_nid2nist(OBJ_sn2nid(group));
	snprintf(buf, len, "%s", nist ? nist : group[0] ? group : "?");
}

/* "EC P-256", "RSA 2048", "Ed25519": how people name keys. */
static int load_key_type(tlskit_cert *cert)
{
	EVP_PKEY *pkey = X509_get0_pubkey(cert->x509);
	char text[96], curve[64];
	int id;

	if (!pkey)
		return (cert->key_type = strdup("unknown")) ? 0 : -1;
	id = EVP_PKEY_get_base_id(pkey);
	cert->key_bits = EVP_PKEY_get_bits(pkey);
	switch (id) {
	case EVP_PKEY_EC:
		ec_curve_name(pkey, curve, sizeof(curve));
		snprintf(text, sizeof(text), "EC %s", curve);
		break;
	case EVP_PKEY_ED25519:
		snprintf(text, sizeof(text), "Ed25519");
		break;
	case EVP_PKEY_ED448:
		snprintf(text, sizeof(text), "Ed448");
		break;
	case EVP_PKEY_RSA_PSS:
		snprintf(text, sizeof(text), "RSA-PSS %d", cert->key_bits);
		break;
	default:
		/* RSA, DSA and whatever OpenSSL names itself */
		snprintf(text, sizeof(text), "%s %d",
			 id == EVP_PKEY_RSA ? "RSA" :
			 id == EVP_PKEY_DSA ? "DSA" :
			 EVP_PKEY_get0_type_name(pkey) ?
					   EVP_PKEY_get0_type_name(pkey) : "unknown",
			 cert->key_bits);
	}
	cert->key_type = strdup(text);
	return cert->key_type ? 0 : -1;
}

/* OpenSSL's long name, as `openssl x509 -text` prints it; the dotted
 * OID for algorithms it does not know. */
static char *object_text(const ASN1_OBJECT *obj)
{
	char text[128];

	if (!obj || OBJ_obj2txt(text, sizeof(text), obj, 0) <= 0)
		return strdup("unknown");
	return strdup(text);
}

static int load_signature_algorithm(tlskit_cert *cert)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;

	X509_get0_signature(NULL, &alg, cert->x509);
	if (alg)
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
	cert->sig_alg = object_text(obj);
	return cert->sig_alg ? 0 : -1;
}

/* The keyUsage bits in RFC 5280's words and order. */
static void load_key_usage(tlskit_cert *cert)
{
	static const struct {
		uint32_t bit;
		const char *word;
	} bits[] = {
		{ KU_DIGITAL_SIGNATURE, "digitalSignature" },
		{ KU_NON_REPUDIATION, "nonRepudiation" },
		{ KU_KEY_ENCIPHERMENT, "keyEncipherment" },
		{ KU_DATA_ENCIPHERMENT, "dataEncipherment" },
		{ KU_KEY_AGREEMENT, "keyAgreement" },
		{ KU_KEY_CERT_SIGN, "keyCertSign" },
		{ KU_CRL_SIGN, "cRLSign" },
		{ KU_ENCIPHER_ONLY, "encipherOnly" },
		{ KU_DECIPHER_ONLY, "decipherOnly" },
	};
	uint32_t usage;

	if (!(X509_get_extension_flags(cert->x509) & EXFLAG_KUSAGE))
		return;
	usage = X509_get_key_usage(cert->x509);
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (usage & bits[i].bit)
			cert->key_usage[cert->key_usage_count++] = bits[i].word;
}

/* extendedKeyUsage purposes: OpenSSL's short names (serverAuth, ...),
 * dotted OIDs for the rest. */
static int load_ext_key_usage(tlskit_cert *cert)
{
	EXTENDED_KEY_USAGE *eku;
	int count, rc = -1;

	eku = X509_get_ext_d2i(cert->x509, NID_ext_key_usage, NULL, NULL);
	if (!eku)
		return 0;
	count = sk_ASN1_OBJECT_num(eku);
	cert->eku = calloc(count > 0 ? (size_t)count : 1, sizeof(char *));
	if (!cert->eku)
		goto out;
	for (int i = 0; i < count; i++) {
		const ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, i);
		int nid = OBJ_obj2nid(obj);
		char *word = nid != NID_undef ? strdup(OBJ_nid2sn(nid)) :
						object_text(obj);

		if (!word)
			goto out;
		cert->eku[cert->eku_count++] = word;
	}
	rc = 0;
out:
	EXTENDED_KEY_USAGE_free(eku);
	return rc;
}

static void load_basic_constraints(tlskit_cert *cert)
{
	uint32_t flags = X509_get_extension_flags(cert->x509);

	cert->pathlen = -1;
	if (!(flags & EXFLAG_BCONS))
		return;
	cert->has_bc = 1;
	cert->is_ca = (flags & EXFLAG_CA) != 0;
	if (cert->is_ca)
		cert->pathlen = (int)X509_get_pathlen(cert->x509);
}

static int load_digests_and_der(tlskit_cert *cert)
{
	unsigned char *der = NULL;
	int len;

	cert->fingerprint = cert_digest(cert->x509, EVP_sha256());
	cert->fingerprint_sha1 = cert_digest(cert->x509, EVP_sha1());
	cert->pin = spki_pin(cert->x509);
	if (!cert->fingerprint || !cert->fingerprint_sha1 || !cert->pin)
		return -1;
	len = i2d_X509(cert->x509, &der);
	if (len <= 0)
		return -1;
	cert->der = der;
	cert->der_len = (size_t)len;
	return 0;
}

static int load_fields(tlskit_cert *cert)
{
	X509 *x = cert->x509;

	cert->subject = name_to_string(X509_get_subject_name(x));
	cert->issuer = name_to_string(X509_get_issuer_name(x));
	cert->serial = serial_to_string(X509_get0_serialNumber(x));
	if (!cert->subject || !cert->issuer || !cert->serial)
		return -1;
	cert->not_before = asn1_time_to_time_t(X509_get0_notBefore(x));
	cert->not_after = asn1_time_to_time_t(X509_get0_notAfter(x));
	load_key_usage(cert);
	load_basic_constraints(cert);
	/* Issuer name matches and its own key verifies the signature. */
	cert->self_signed = X509_self_signed(x, 1) == 1;
	ERR_clear_error();
	if (load_sans(cert) < 0 || load_ext_key_usage(cert) < 0 ||
	    load_key_type(cert) < 0 || load_signature_algorithm(cert) < 0)
		return -1;
	return load_digests_and_der(cert);
}

tlskit_cert *certinfo_from_x509(X509 *x, struct tlskit_error *err)
{
	tlskit_cert *cert;

	if (!x) {
		error_set(err, TLSKIT_ERR_USAGE, "reading certificate: no certificate");
		return NULL;
	}
	cert = calloc(1, sizeof(*cert));
	if (!cert) {
		error_set_errno(err, TLSKIT_ERR_SYSTEM, "reading certificate");
		return NULL;
	}
	X509_up_ref(x);
	cert->x509 = x;
	if (load_fields(cert) < 0) {
		error_set_ssl(err, TLSKIT_ERR_SYSTEM,
			      "reading certificate: out of memory or malformed certificate");
		tlskit_cert_free(cert);
		return NULL;
	}
	return cert;
}

X509 *certinfo_x509(const tlskit_cert *cert)
{
	return cert ? cert->x509 : NULL;
}

/* The first CN of x, escaped like the whole subject (free it), or NULL. */
static char *common_name(X509 *x)
{
	X509_NAME *name = X509_get_subject_name(x);
	int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	BIO *bio;

	if (idx < 0)
		return NULL;
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return NULL;
	if (ASN1_STRING_print_ex(bio, X509_NAME_ENTRY_get_data(
				X509_NAME_get_entry(name, idx)),
				 ASN1_STRFLGS_RFC2253) < 0) {
		BIO_free(bio);
		return NULL;
	}
	return bio_to_string(bio);
}

void certinfo_short_name(X509 *x, char *buf, size_t len)
{
	char *cn, *subject;

	if (!len)
		return;
	buf[0] = '\0';
	if (!x)
		return;
	cn = common_name(x);
	if (cn) {
		snprintf(buf, len, "CN=%s", cn);
		free(cn);
		return;
	}
	subject = name_to_string(X509_get_subject_name(x));
	snprintf(buf, len, "%s", subject ? subject : "");
	free(subject);
}

/* Appends ", item" (or "item" at the start) to buf without overflowing. */
static void append_name(char *buf, size_t len, const char *item)
{
	size_t used = strlen(buf);

	if (used + 1 >= len)
		return;
	snprintf(buf + used, len - used, "%s%s", used ? ", " : "", item);
}

void certinfo_names(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES *names;
	char *cn;

	if (!len)
		return;
	buf[0] = '\0';
	if (!x)
		return;
	names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		char *s;

		if (gn->type != GEN_DNS && gn->type != GEN_IPADD)
			continue;
		s = gn->type == GEN_DNS ? ia5_san("", gn->d.dNSName) :
					  ip_san(gn->d.iPAddress);
		if (s)
			append_name(buf, len, gn->type == GEN_DNS ? s : s + 3);
		free(s);
	}
	GENERAL_NAMES_free(names);
	if (buf[0])
		return;
	cn = common_name(x);
	if (cn)
		snprintf(buf, len, "%s", cn);
	free(cn);
}

/* Whether data looks like PEM: a BEGIN line anywhere in it. */
static int looks_like_pem(const unsigned char *data, size_t len)
{
	static const char marker[] = "-----BEGIN ";

	return memmem(data, len, marker, sizeof(marker) - 1) != NULL;
}

static X509 *parse_pem(const unsigned char *data, size_t len)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	X509 *x;

	if (!bio)
		return NULL;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return x;
}

/* DER must be exactly one certificate: trailing bytes mean it is not DER. */
static X509 *parse_der(const unsigned char *data, size_t len)
{
	const unsigned char *p = data;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	if (x && p != data + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* what: "parsing certificate" or "loading certificate 'x.pem'". */
static tlskit_cert *parse_cert(const void *data, size_t len, const char *what,
			       struct tlskit_error *err)
{
	tlskit_cert *cert;
	X509 *x;

	if (!data || !len) {
		error_set(err, TLSKIT_ERR_CONFIG, "%s: empty input", what);
		return NULL;
	}
	if (len > INT_MAX) {
		error_set(err, TLSKIT_ERR_CONFIG, "%s: input too large", what);
		return NULL;
	}
	x = looks_like_pem(data, len) ? parse_pem(data, len) :
					parse_der(data, len);
	ERR_clear_error();
	if (!x) {
		error_set(err, TLSKIT_ERR_CONFIG,
			  "%s: no PEM or DER certificate found", what);
		return NULL;
	}
	cert = certinfo_from_x509(x, err);
	X509_free(x);
	return cert;
}

tlskit_cert *tlskit_cert_parse(const void *data, size_t len,
			       struct tlskit_error *err)
{
	error_clear(err);
	return parse_cert(data, len, "parsing certificate", err);
}

/* Reads at most CERT_FILE_MAX bytes; -1 with errno set on failure. */
static int read_small_file(FILE *f, unsigned char **out, size_t *out_len)
{
	unsigned char *buf = malloc(CERT_FILE_MAX + 1);
	size_t n;

	if (!buf)
		return -1;
	n = fread(buf, 1, CERT_FILE_MAX + 1, f);
	if (ferror(f)) {
		free(buf);
		return -1;
	}
	if (n > CERT_FILE_MAX) {
		free(buf);
		errno = EFBIG;
		return -1;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

/* The whole of a small file; what names it in errors. */
static TLSKIT_MUST_CHECK int load_small_file(const char *path, const char *what,
					     unsigned char **data, size_t *len,
					     struct tlskit_error *err)
{
	FILE *f = fopen(path, "rb");
	int rc;

	if (!f)
		return error_set_errno(err, TLSKIT_ERR_CONFIG, "%s", what);
	rc = read_small_file(f, data, len);
	if (rc < 0)
		error_set_errno(err, TLSKIT_ERR_CONFIG, "%s", what);
	fclose(f);
	return rc;
}

tlskit_cert *tlskit_cert_load_file(const char *path, struct tlskit_error *err)
{
	char what[64 + PATH_MAX];
	unsigned char *data = NULL;
	tlskit_cert *cert;
	size_t len = 0;

	error_clear(err);
	if (!path) {
		error_set(err, TLSKIT_ERR_USAGE, "loading certificate: no file name");
		return NULL;
	}
	snprintf(what, sizeof(what), "loading certificate '%s'", path);
	if (load_small_file(path, what, &data, &len, err) < 0)
		return NULL;
	cert = parse_cert(data, len, what, err);
	free(data);
	return cert;
}

/* ---- lists of certificates: bundles and chains ------------------------ */

struct tlskit_cert_list {
	tlskit_cert **certs;
	size_t count;
	size_t cap;
};

tlskit_cert_list *certlist_new(void)
{
	return calloc(1, sizeof(struct tlskit_cert_list));
}

int certlist_push_x509(tlskit_cert_list *list, X509 *x,
		       struct tlskit_error *err)
{
	tlskit_cert *cert;

	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 4;
		tlskit_cert **certs = realloc(list->certs, cap * sizeof(*certs));

		if (!certs)
			return error_set(err, TLSKIT_ERR_SYSTEM,
					 "reading certificates: out of memory");
		list->certs = certs;
		list->cap = cap;
	}
	cert = certinfo_from_x509(x, err);
	if (!cert)
		return -1;
	list->certs[list->count++] = cert;
	return 0;
}

void tlskit_cert_list_free(tlskit_cert_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		tlskit_cert_free(list->certs[i]);
	free(list->certs);
	free(list);
}

size_t tlskit_cert_list_count(const tlskit_cert_list *list)
{
	return list ? list->count : 0;
}

const tlskit_cert *tlskit_cert_list_get(const tlskit_cert_list *list,
					size_t i)
{
	if (!list || i >= list->count)
		return NULL;
	return list->certs[i];
}

/* The name of the first PEM block ("PRIVATE KEY"), for telling people what
 * a file holds instead of a certificate; "" if none. */
static void first_pem_block(const unsigned char *data, size_t len,
			    char *buf, size_t buflen)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	char *name = NULL, *header = NULL;
	unsigned char *body = NULL;
	long body_len = 0;

	buf[0] = '\0';
	if (bio && PEM_read_bio(bio, &name, &header, &body, &body_len) == 1)
		snprintf(buf, buflen, "%s", name);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(body);
	BIO_free(bio);
	ERR_clear_error();
}

static int no_certificate_error(const unsigned char *data, size_t len,
				const char *what, struct tlskit_error *err)
{
	char block[80];

	first_pem_block(data, len, block, sizeof(block));
	if (block[0])
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "%s: no certificate found (the file holds a PEM '%s' block)",
				 what, block);
	return error_set(err, TLSKIT_ERR_CONFIG,
			 "%s: no PEM or DER certificate found", what);
}

/* Whether the last error only says "no more PEM blocks". */
static int pem_at_end(void)
{
	unsigned long e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_PEM &&
	       ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

/* Every CERTIFICATE block, in order; other blocks are skipped. A block
 * that does not parse (truncated, corrupt) is an error naming it. */
static TLSKIT_MUST_CHECK int parse_pem_bundle(tlskit_cert_list *list,
					      const unsigned char *data,
					      size_t len, const char *what,
					      struct tlskit_error *err)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	int rc = 0;

	if (!bio)
		return error_set(err, TLSKIT_ERR_SYSTEM, "%s: out of memory",
				 what);
	while (rc == 0) {
		X509 *x;

		ERR_clear_error();
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (!x) {
			if (!pem_at_end())
				rc = error_set_ssl(err, TLSKIT_ERR_CONFIG,
						   "%s: certificate #%zu is truncated or malformed",
						   what, list->count + 1);
			else if (list->count == 0)
				rc = no_certificate_error(data, len, what, err);
			break;
		}
		rc = certlist_push_x509(list, x, err);
		X509_free(x);
	}
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

static tlskit_cert_list *parse_list(const unsigned char *data, size_t len,
				    const char *what, struct tlskit_error *err)
{
	tlskit_cert_list *list;
	X509 *x;
	int rc;

	if (!data || !len) {
		error_set(err, TLSKIT_ERR_CONFIG, "%s: empty input", what);
		return NULL;
	}
	if (len > INT_MAX) {
		error_set(err, TLSKIT_ERR_CONFIG, "%s: input too large", what);
		return NULL;
	}
	if (!(list = certlist_new())) {
		error_set(err, TLSKIT_ERR_SYSTEM, "%s: out of memory", what);
		return NULL;
	}
	if (looks_like_pem(data, len)) {
		rc = parse_pem_bundle(list, data, len, what, err);
	} else if ((x = parse_der(data, len)) != NULL) {
		rc = certlist_push_x509(list, x, err);
		X509_free(x);
	} else {
		rc = error_set(err, TLSKIT_ERR_CONFIG,
			       "%s: no PEM or DER certificate found", what);
	}
	ERR_clear_error();
	if (rc < 0) {
		tlskit_cert_list_free(list);
		return NULL;
	}
	return list;
}

tlskit_cert_list *tlskit_cert_list_parse(const void *data, size_t len,
					 struct tlskit_error *err)
{
	error_clear(err);
	return parse_list(data, len, "parsing certificates", err);
}

tlskit_cert_list *tlskit_cert_list_load_file(const char *path,
					     struct tlskit_error *err)
{
	char what[64 + PATH_MAX];
	unsigned char *data = NULL;
	tlskit_cert_list *list;
	size_t len = 0;

	error_clear(err);
	if (!path) {
		error_set(err, TLSKIT_ERR_USAGE,
			  "loading certificates: no file name");
		return NULL;
	}
	snprintf(what, sizeof(what), "loading certificates '%s'", path);
	if (load_small_file(path, what, &data, &len, err) < 0)
		return NULL;
	list = parse_list(data, len, what, err);
	free(data);
	return list;
}

void tlskit_cert_free(tlskit_cert *cert)
{
	if (!cert)
		return;
	for (size_t i = 0; i < cert->san_count; i++)
		free(cert->sans[i]);
	free(cert->sans);
	free(cert->subject);
	free(cert->issuer);
	free(cert->serial);
	free(cert->fingerprint);
	free(cert->fingerprint_sha1);
	free(cert->pin);
	free(cert->key_type);
	free(cert->sig_alg);
	for (size_t i = 0; i < cert->eku_count; i++)
		free(cert->eku[i]);
	free(cert->eku);
	OPENSSL_free(cert->der);
	X509_free(cert->x509);
	free(cert);
}

const char *tlskit_cert_subject(const tlskit_cert *cert)
{
	return cert ? cert->subject : NULL;
}

const char *tlskit_cert_issuer(const tlskit_cert *cert)
{
	return cert ? cert->issuer : NULL;
}

size_t tlskit_cert_san_count(const tlskit_cert *cert)
{
	return cert ? cert->san_count : 0;
}

const char *tlskit_cert_san(const tlskit_cert *cert, size_t i)
{
	if (!cert || i >= cert->san_count)
		return NULL;
	return cert->sans[i];
}

time_t tlskit_cert_not_before(const tlskit_cert *cert)
{
	return cert ? cert->not_before : 0;
}

time_t tlskit_cert_not_after(const tlskit_cert *cert)
{
	return cert ? cert->not_after : 0;
}

const char *tlskit_cert_serial(const tlskit_cert *cert)
{
	return cert ? cert->serial : NULL;
}

const char *tlskit_cert_fingerprint_sha256(const tlskit_cert *cert)
{
	return cert ? cert->fingerprint : NULL;
}

const unsigned char *tlskit_cert_der(const tlskit_cert *cert, size_t *len)
{
	if (len)
		*len = cert ? cert->der_len : 0;
	return cert ? cert->der : NULL;
}

const char *tlskit_cert_fingerprint_sha1(const tlskit_cert *cert)
{
	return cert ? cert->fingerprint_sha1 : NULL;
}

const char *tlskit_cert_pin_sha256(const tlskit_cert *cert)
{
	return cert ? cert->pin : NULL;
}

const char *tlskit_cert_key_type(const tlskit_cert *cert)
{
	return cert ? cert->key_type : NULL;
}

int tlskit_cert_key_bits(const tlskit_cert *cert)
{
	return cert ? cert->key_bits : 0;
}

const char *tlskit_cert_signature_algorithm(const tlskit_cert *cert)
{
	return cert ? cert->sig_alg : NULL;
}

size_t tlskit_cert_key_usage_count(const tlskit_cert *cert)
{
	return cert ? cert->key_usage_count : 0;
}

const char *tlskit_cert_key_usage(const tlskit_cert *cert, size_t i)
{
	if (!cert || i >= cert->key_usage_count)
		return NULL;
	return cert->key_usage[i];
}

size_t tlskit_cert_ext_key_usage_count(const tlskit_cert *cert)
{
	return cert ? cert->eku_count : 0;
}

const char *tlskit_cert_ext_key_usage(const tlskit_cert *cert, size_t i)
{
	if (!cert || i >= cert->eku_count)
		return NULL;
	return cert->eku[i];
}

int tlskit_cert_basic_constraints(const tlskit_cert *cert, int *ca,
				  int *pathlen)
{
	if (ca)
		*ca = cert && cert->is_ca;
	if (pathlen)
		*pathlen = cert ? cert->pathlen : -1;
	return cert && cert->has_bc;
}

int tlskit_cert_self_signed(const tlskit_cert *cert)
{
	return cert && cert->self_signed;
}
