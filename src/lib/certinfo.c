/*
 * certinfo.c - a parsed X.509 certificate: names, SANs, dates, serial,
 * fingerprint, DER. OpenSSL does all parsing; this file only turns its
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

static int load_digest_and_der(tlskit_cert *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	unsigned char *der = NULL;
	int len;

	if (!X509_digest(cert->x509, EVP_sha256(), md, &md_len))
		return -1;
	cert->fingerprint = hex_string(md, md_len);
	if (!cert->fingerprint)
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
	if (load_sans(cert) < 0)
		return -1;
	return load_digest_and_der(cert);
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

tlskit_cert *tlskit_cert_load_file(const char *path, struct tlskit_error *err)
{
	char what[64 + PATH_MAX];
	unsigned char *data = NULL;
	tlskit_cert *cert = NULL;
	size_t len = 0;
	FILE *f;

	error_clear(err);
	if (!path) {
		error_set(err, TLSKIT_ERR_USAGE, "loading certificate: no file name");
		return NULL;
	}
	snprintf(what, sizeof(what), "loading certificate '%s'", path);
	f = fopen(path, "rb");
	if (!f) {
		error_set_errno(err, TLSKIT_ERR_CONFIG, "%s", what);
		return NULL;
	}
	if (read_small_file(f, &data, &len) < 0) {
		error_set_errno(err, TLSKIT_ERR_CONFIG, "%s", what);
		goto out;
	}
	cert = parse_cert(data, len, what, err);
out:
	free(data);
	fclose(f);
	return cert;
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
