/*
 * certgen.c - keys and certificates for development and test PKI: root and
 * intermediate CAs, leaves they sign, self-signed leaves, certificates for
 * someone else's request. OpenSSL builds, signs and encodes everything; this
 * file decides what goes in (the profiles) and writes the files safely.
 * csr.c and crl.c share its loaders and writers (internal.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define CLOCK_SKEW_SECONDS (5 * 60)
#define DAY_SECONDS (24 * 60 * 60)
#define LEAF_DAYS 825
#define CA_DAYS 3650
#define MAX_DAYS 36500
#define MAX_PATHLEN 100
#define SERIAL_BYTES 16
#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63
#define DEFAULT_CA_NAME "tlskit development CA"
#define DEFAULT_INTERMEDIATE_NAME "tlskit intermediate CA"

struct certgen_job {
	const struct tlskit_certgen *params;
	X509_NAME *subject;
	GENERAL_NAMES *sans;
	X509 *issuer_cert;            /* NULL when self-signed */
	STACK_OF(X509) *issuer_chain; /* its own intermediates, for chain_file */
	EVP_PKEY *issuer_key;
	EVP_PKEY *key;       /* the certified key: private, or public (CSR) */
	X509 *cert;
	BIO *cert_pem;
	BIO *chain_pem;      /* NULL: no chain file to write */
	BIO *key_pem;        /* secure memory: wiped when freed */
};

static int is_ca_kind(enum tlskit_cert_kind kind)
{
	return kind == TLSKIT_CERT_CA || kind == TLSKIT_CERT_INTERMEDIATE;
}

static int needs_issuer(enum tlskit_cert_kind kind)
{
	return kind == TLSKIT_CERT_SERVER || kind == TLSKIT_CERT_CLIENT ||
	       kind == TLSKIT_CERT_INTERMEDIATE;
}

/* ---- parameters ------------------------------------------------------ */

static int check_issuer_params(const struct tlskit_certgen *p,
			       struct tlskit_error *err)
{
	if (needs_issuer(p->kind) &&
	    (!p->issuer_cert_file || !p->issuer_key_file))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: %s certificates need an issuer certificate and key (--ca, --ca-key)",
				 p->kind == TLSKIT_CERT_INTERMEDIATE ?
				 "intermediate" : "server and client");
	if (p->kind == TLSKIT_CERT_SELF_SIGNED &&
	    (p->issuer_cert_file || p->issuer_key_file))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: a self-signed certificate takes no issuer");
	if (!p->issuer_cert_file != !p->issuer_key_file)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: the issuer needs both a certificate and a key");
	return 0;
}

static int check_params(const struct tlskit_certgen *p,
			struct tlskit_error *err)
{
	if (p->kind < TLSKIT_CERT_CA || p->kind > TLSKIT_CERT_INTERMEDIATE)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: unknown certificate kind %d",
				 (int)p->kind);
	if (p->key_type < TLSKIT_KEY_EC_P256 || p->key_type > TLSKIT_KEY_RSA4096)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: unknown key type %d",
				 (int)p->key_type);
	if (p->days < 0 || p->days > MAX_DAYS)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: days %d is not from 1 to %d",
				 p->days, MAX_DAYS);
	if (p->san_count && !p->sans)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: san_count is %zu but sans is NULL",
				 p->san_count);
	if (p->pathlen_set && !is_ca_kind(p->kind))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: a path length applies to CA certificates only");
	if (p->pathlen_set && (p->pathlen < 0 || p->pathlen > MAX_PATHLEN))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: path length %d is not from 0 to %d",
				 p->pathlen, MAX_PATHLEN);
	return check_issuer_params(p, err);
}

static int check_paths(const char *a, const char *b, struct tlskit_error *err)
{
	if (a && b && strcmp(a, b) == 0)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: two outputs have the same path ('%s')",
				 a);
	return 0;
}

/* Printable ASCII without spaces: what email and URI SANs may hold here. */
static int is_plain_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

static int is_dns_label(const char *s, size_t len)
{
	if (len == 0 || len > DNS_LABEL_MAX || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* Host names, with a wildcard allowed only as a whole leftmost label. */
static int is_dns_name(const char *name)
{
	const char *label = name;

	if (!*name || strlen(name) > DNS_NAME_MAX)
		return 0;
	if (strncmp(name, "*.", 2) == 0)
		label = name + 2;
	for (;;) {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);

		if (!is_dns_label(label, len))
			return 0;
		if (!dot)
			return 1;
		label = dot + 1;
	}
}

static int is_email(const char *s)
{
	const char *at = strchr(s, '@');

	return is_plain_token(s) && at && at != s && at[1] &&
	       !strchr(at + 1, '@');
}

/* scheme ":" rest, with scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static int is_uri(const char *s)
{
	const char *p = s;

	if (!is_plain_token(s) || !isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	return *p == ':' && p[1];
}

static int add_ia5_name(GENERAL_NAMES *gens, int type, const char *value)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (!gn || !s || !ASN1_STRING_set(s, value, (int)strlen(value)))
		goto fail;
	GENERAL_NAME_set0_value(gn, type, s);
	s = NULL;
	if (!sk_GENERAL_NAME_push(gens, gn))
		goto fail;
	return 0;
fail:
	ASN1_IA5STRING_free(s);
	GENERAL_NAME_free(gn);
	return -1;
}

static int add_ip_name(GENERAL_NAMES *gens, const char *text)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(text);

	if (!gn || !ip)
		goto fail;
	GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
	ip = NULL;
	if (!sk_GENERAL_NAME_push(gens, gn))
		goto fail;
	return 0;
fail:
	ASN1_OCTET_STRING_free(ip);
	GENERAL_NAME_free(gn);
	return -1;
}

static int is_ip_address(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* One SAN entry: "name", "1.2.3.4", "DNS:x", "IP:x", "email:x", "URI:x". */
static int add_san(GENERAL_NAMES *gens, const char *entry,
		   struct tlskit_error *err)
{
	const char *v;
	int rc;

	if (!entry || !*entry)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: empty SAN entry");
	if (has_prefix(entry, "DNS:")) {
		v = entry + 4;
		if (!is_dns_name(v))
			goto bad_dns;
		rc = add_ia5_name(gens, GEN_DNS, v);
	} else if (has_prefix(entry, "IP:")) {
		if (!is_ip_address(entry + 3))
			return error_set(err, TLSKIT_ERR_USAGE,
					 "generating certificate: SAN '%s': not a valid IPv4 or IPv6 address",
					 entry);
		rc = add_ip_name(gens, entry + 3);
	} else if (has_prefix(entry, "email:")) {
		if (!is_email(entry + 6))
			return error_set(err, TLSKIT_ERR_USAGE,
					 "generating certificate: SAN '%s': not a valid email address",
					 entry);
		rc = add_ia5_name(gens, GEN_EMAIL, entry + 6);
	} else if (has_prefix(entry, "URI:")) {
		if (!is_uri(entry + 4))
			return error_set(err, TLSKIT_ERR_USAGE,
					 "generating certificate: SAN '%s': not a valid URI (scheme:rest)",
					 entry);
		rc = add_ia5_name(gens, GEN_URI, entry + 4);
	} else if (is_ip_address(entry)) {
		rc = add_ip_name(gens, entry);
	} else {
		v = entry;
		if (!is_dns_name(v))
			goto bad_dns;
		rc = add_ia5_name(gens, GEN_DNS, v);
	}
	if (rc < 0)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "generating certificate: adding SAN '%s'", entry);
	return 0;
bad_dns:
	return error_set(err, TLSKIT_ERR_USAGE,
			 "generating certificate: SAN '%s': not a valid DNS name or IP address (letters, digits, '-', '.', leading '*.')",
			 entry);
}

/* The value of a SAN entry without its type prefix, for a default CN. */
static const char *san_value(const char *entry)
{
	static const char *const prefixes[] = { "DNS:", "IP:", "email:", "URI:" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (has_prefix(entry, prefixes[i]))
			return entry + strlen(prefixes[i]);
	return entry;
}

static int has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}


/* One "/FIELD=value" element of a subject into name; "\x" escapes x. */
static int add_subject_field(X509_NAME *name, const char *subject,
			     const char **pos, struct tlskit_error *err)
{
	char field[64], value[256];
	size_t nf = 0, nv = 0;
	const char *s = *pos;

	while (*s && *s != '=' && *s != '/' && nf < sizeof(field) - 1)
		field[nf++] = *s++;
	field[nf] = '\0';
	if (*s != '=' || nf == 0)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: subject '%s': expected /FIELD=value (e.g. /O=Example/OU=Ops)",
				 subject);
	for (s++; *s && *s != '/' && nv < sizeof(value) - 1; s++) {
		if (*s == '\\' && s[1])
			s++;
		value[nv++] = *s;
	}
	value[nv] = '\0';
	if (nv == 0 || (*s && *s != '/') || has_control_chars(value))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: subject '%s': field %s has an empty, too long or unprintable value",
				 subject, field);
	if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
					(const unsigned char *)value, -1, -1, 0))
		return error_set_ssl(err, TLSKIT_ERR_USAGE,
				     "generating certificate: subject '%s': field '%s'",
				     subject, field);
	*pos = s;
	return 0;
}

static int parse_subject(X509_NAME *name, const char *subject,
			 struct tlskit_error *err)
{
	const char *pos = subject;

	if (*pos != '/')
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: subject '%s': expected /FIELD=value (e.g. /O=Example/OU=Ops)",
				 subject);
	while (*pos == '/') {
		pos++;
		if (!*pos)
			break;
		if (add_subject_field(name, subject, &pos, err) < 0)
			return -1;
	}
	return 0;
}

static const char *default_cn(const struct tlskit_certgen *p)
{
	if (p->san_count)
		return san_value(p->sans[0]);
	if (p->kind == TLSKIT_CERT_INTERMEDIATE ||
	    (p->kind == TLSKIT_CERT_CA && p->issuer_cert_file))
		return DEFAULT_INTERMEDIATE_NAME;
	if (p->kind == TLSKIT_CERT_CA)
		return DEFAULT_CA_NAME;
	return NULL;
}

int certgen_subject(const struct tlskit_certgen *p, X509_NAME **out,
		    struct tlskit_error *err)
{
	X509_NAME *name = X509_NAME_new();
	const char *cn = p->common_name;
	int has_cn;

	if (!name)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "generating certificate");
	if (p->subject && parse_subject(name, p->subject, err) < 0)
		goto fail;
	has_cn = X509_NAME_get_index_by_NID(name, NID_commonName, -1) >= 0;
	if (has_cn && cn) {
		error_set(err, TLSKIT_ERR_USAGE,
			  "generating certificate: the common name is given twice (in the subject and on its own)");
		goto fail;
	}
	if (!has_cn && !cn)
		cn = default_cn(p);
	if (!has_cn && (!cn || !*cn)) {
		error_set(err, TLSKIT_ERR_USAGE,
			  "generating certificate: a common name or at least one SAN is required");
		goto fail;
	}
	if (cn && has_control_chars(cn)) {
		error_set(err, TLSKIT_ERR_USAGE,
			  "generating certificate: common name contains control characters");
		goto fail;
	}
	if (cn && !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					      (const unsigned char *)cn, -1, -1, 0)) {
		error_set_ssl(err, TLSKIT_ERR_USAGE,
			      "generating certificate: common name '%s'", cn);
		goto fail;
	}
	*out = name;
	return 0;
fail:
	X509_NAME_free(name);
	return -1;
}

int certgen_sans(const struct tlskit_certgen *p, GENERAL_NAMES **out,
		 struct tlskit_error *err)
{
	GENERAL_NAMES *sans = sk_GENERAL_NAME_new_null();

	if (!sans)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "generating certificate");
	for (size_t i = 0; i < p->san_count; i++) {
		if (add_san(sans, p->sans[i], err) < 0) {
			GENERAL_NAMES_free(sans);
			return -1;
		}
	}
	*out = sans;
	return 0;
}

/* The CN's text, or NULL. Points into name. */
static const char *subject_cn(const X509_NAME *name)
{
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	const ASN1_STRING *s;

	if (i < 0)
		return NULL;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	return memchr(ASN1_STRING_get0_data(s), 0, (size_t)ASN1_STRING_length(s)) ?
	       NULL : (const char *)ASN1_STRING_get0_data(s);
}

/*
 * A leaf made for servers with a CN but no SANs gets its CN as a SAN too:
 * clients ignore the CN, so it would match nothing otherwise.
 */
static int cn_as_san(struct certgen_job *job, struct tlskit_error *err)
{
	enum tlskit_cert_kind kind = job->params->kind;
	const char *cn = subject_cn(job->subject);
	char buf[DNS_NAME_MAX + 1];

	if (sk_GENERAL_NAME_num(job->sans) > 0 || !cn ||
	    (kind != TLSKIT_CERT_SERVER && kind != TLSKIT_CERT_SELF_SIGNED))
		return 0;
	if (strlen(cn) >= sizeof(buf))
		return 0;
	snprintf(buf, sizeof(buf), "%s", cn);
	if (!is_dns_name(buf) && !is_ip_address(buf))
		return 0;
	return add_san(job->sans, buf, err);
}

/* ---- issuer ------------------------------------------------------------ */

/* The issuer file's further certificates that are not roots: the
 * intermediates a chain file carries after the new certificate. */
static STACK_OF(X509) *chain_after_issuer(STACK_OF(X509) *certs)
{
	STACK_OF(X509) *chain = sk_X509_new_null();

	for (int i = 0; chain && i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (X509_self_signed(x, 0) == 1)
			continue;
		if (!sk_X509_push(chain, x)) {
			sk_X509_free(chain);
			return NULL;
		}
		X509_up_ref(x);
	}
	return chain;
}

static int load_issuer_cert(const char *path, X509 **cert,
			    STACK_OF(X509) **chain, struct tlskit_error *err)
{
	STACK_OF(X509) *certs = NULL;

	if (certgen_load_certs("issuer certificate", path, &certs, err) < 0)
		return -1;
	*cert = sk_X509_shift(certs);
	if (chain)
		*chain = chain_after_issuer(certs);
	sk_X509_pop_free(certs, X509_free);
	if (chain && !*chain)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "loading issuer certificate '%s'", path);
	if (X509_check_ca(*cert) != 1)
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading issuer certificate '%s': not a CA certificate (basicConstraints CA:TRUE missing)",
				 path);
	return 0;
}

int certgen_load_issuer(const char *cert_path, const char *key_path,
			const char *passphrase, X509 **cert,
			STACK_OF(X509) **chain, EVP_PKEY **key,
			struct tlskit_error *err)
{
	if (load_issuer_cert(cert_path, cert, chain, err) < 0)
		return -1;
	*key = certgen_load_key("issuer key", key_path, passphrase, err);
	if (!*key)
		return -1;
	if (X509_check_private_key(*cert, *key) != 1) {
		ERR_clear_error();
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading issuer key '%s': it does not match issuer certificate '%s'",
				 key_path, cert_path);
	}
	return 0;
}

static int load_issuer(struct certgen_job *job, struct tlskit_error *err)
{
	const struct tlskit_certgen *p = job->params;

	if (!p->issuer_cert_file)
		return 0;
	return certgen_load_issuer(p->issuer_cert_file, p->issuer_key_file,
				   p->issuer_passphrase, &job->issuer_cert,
				   p->chain_file ? &job->issuer_chain : NULL,
				   &job->issuer_key, err);
}

/* ---- key and certificate ------------------------------------------------ */

static const char *key_type_name(enum tlskit_key_type type)
{
	switch (type) {
	case TLSKIT_KEY_EC_P256: return "EC P-256";
	case TLSKIT_KEY_EC_P384: return "EC P-384";
	case TLSKIT_KEY_ED25519: return "Ed25519";
	case TLSKIT_KEY_RSA2048: return "RSA 2048";
	case TLSKIT_KEY_RSA3072: return "RSA 3072";
	case TLSKIT_KEY_RSA4096: return "RSA 4096";
	}
	return "unknown";
}

static EVP_PKEY *generate_key(enum tlskit_key_type type)
{
	switch (type) {
	case TLSKIT_KEY_EC_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case TLSKIT_KEY_EC_P384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case TLSKIT_KEY_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case TLSKIT_KEY_RSA2048:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case TLSKIT_KEY_RSA3072:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	case TLSKIT_KEY_RSA4096:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	}
	return NULL;
}

EVP_PKEY *certgen_make_key(const struct tlskit_certgen *p,
			   struct tlskit_error *err)
{
	EVP_PKEY *key;

	if (p->key_file)
		return certgen_load_key("key", p->key_file, p->passphrase, err);
	key = generate_key(p->key_type);
	if (!key)
		error_set_ssl(err, TLSKIT_ERR_SYSTEM, "generating %s key",
			      key_type_name(p->key_type));
	return key;
}

/*
 * 128 random bits with the top bit cleared (serials are positive) and the
 * next one set, so the serial is never zero and always 16 bytes long.
 */
static int set_serial(X509 *x)
{
	unsigned char bytes[SERIAL_BYTES];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(bytes, sizeof(bytes)) != 1)
		return -1;
	bytes[0] = (unsigned char)((bytes[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(bytes, sizeof(bytes), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	OPENSSL_cleanse(bytes, sizeof(bytes));
	return ok ? 0 : -1;
}

static int set_names(struct certgen_job *job, struct tlskit_error *err)
{
	X509_NAME *issuer = job->issuer_cert ?
			    X509_get_subject_name(job->issuer_cert) : job->subject;

	if (!X509_set_subject_name(job->cert, job->subject) ||
	    !X509_set_issuer_name(job->cert, issuer))
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "generating certificate: setting names");
	return 0;
}

static int set_validity(struct certgen_job *job, struct tlskit_error *err)
{
	const struct tlskit_certgen *p = job->params;
	int days = p->days ? p->days : is_ca_kind(p->kind) ? CA_DAYS : LEAF_DAYS;
	time_t nb = p->not_before ? p->not_before : time(NULL) - CLOCK_SKEW_SECONDS;
	time_t na = p->not_after ? p->not_after : nb + (time_t)days * DAY_SECONDS;

	if (na <= nb)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: not_after is not later than not_before");
	if (!ASN1_TIME_set(X509_getm_notBefore(job->cert), nb) ||
	    !ASN1_TIME_set(X509_getm_notAfter(job->cert), na))
		return error_set_ssl(err, TLSKIT_ERR_USAGE,
				     "generating certificate: validity dates out of range");
	return 0;
}

struct ext_spec {
	int nid;
	const char *value;
};

static const char *key_usage(const struct certgen_job *job)
{
	int rsa = EVP_PKEY_get_base_id(job->key) == EVP_PKEY_RSA;

	switch (job->params->kind) {
	case TLSKIT_CERT_CA:
	case TLSKIT_CERT_INTERMEDIATE:
		return "critical,keyCertSign,cRLSign,digitalSignature";
	case TLSKIT_CERT_CLIENT:
		return "critical,digitalSignature";
	default:
		return rsa ? "critical,digitalSignature,keyEncipherment" :
			     "critical,digitalSignature";
	}
}

static const char *extended_key_usage(enum tlskit_cert_kind kind)
{
	switch (kind) {
	case TLSKIT_CERT_SERVER: return "serverAuth";
	case TLSKIT_CERT_CLIENT: return "clientAuth";
	case TLSKIT_CERT_SELF_SIGNED: return "serverAuth,clientAuth";
	default: return NULL;
	}
}

/* A root has no path length limit unless asked; an intermediate defaults to
 * 0 (it signs leaves only), the safe choice for a test PKI. */
static void basic_constraints(const struct certgen_job *job, char *buf,
			      size_t len)
{
	const struct tlskit_certgen *p = job->params;

	if (!is_ca_kind(p->kind))
		snprintf(buf, len, "critical,CA:FALSE");
	else if (p->pathlen_set)
		snprintf(buf, len, "critical,CA:TRUE,pathlen:%d", p->pathlen);
	else if (job->issuer_cert)
		snprintf(buf, len, "critical,CA:TRUE,pathlen:0");
	else
		snprintf(buf, len, "critical,CA:TRUE");
}

/* The subject key identifier must exist before the authority one, which
 * a self-signed certificate copies from itself. */
static int add_extensions(struct certgen_job *job, struct tlskit_error *err)
{
	char bc[64];
	const struct ext_spec exts[] = {
		{ NID_basic_constraints, bc },
		{ NID_key_usage, key_usage(job) },
		{ NID_ext_key_usage, extended_key_usage(job->params->kind) },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	X509V3_CTX ctx;

	basic_constraints(job, bc, sizeof(bc));
	X509V3_set_ctx(&ctx, job->issuer_cert ? job->issuer_cert : job->cert,
		       job->cert, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		X509_EXTENSION *ext;
		int ok;

		if (!exts[i].value)
			continue;
		ext = X509V3_EXT_nconf_nid(NULL, &ctx, exts[i].nid,
					   exts[i].value);
		ok = ext && X509_add_ext(job->cert, ext, -1);
		X509_EXTENSION_free(ext);
		if (!ok)
			return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
					     "generating certificate: adding extension %s",
					     OBJ_nid2sn(exts[i].nid));
	}
	if (sk_GENERAL_NAME_num(job->sans) > 0 &&
	    !X509_add1_ext_i2d(job->cert, NID_subject_alt_name, job->sans, 0,
			       X509V3_ADD_DEFAULT))
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "generating certificate: adding subjectAltName");
	return 0;
}

/* SHA-384 for P-384 (matching strengths), none for Ed25519 (built in). */
const EVP_MD *certgen_digest(EVP_PKEY *signer)
{
	int id = EVP_PKEY_get_base_id(signer);

	if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448)
		return NULL;
	if (id == EVP_PKEY_EC && EVP_PKEY_get_bits(signer) >= 384)
		return EVP_sha384();
	return EVP_sha256();
}

static int build_cert(struct certgen_job *job, struct tlskit_error *err)
{
	EVP_PKEY *signer = job->issuer_key ? job->issuer_key : job->key;

	job->cert = X509_new();
	if (!job->cert || !X509_set_version(job->cert, X509_VERSION_3) ||
	    set_serial(job->cert) < 0 || !X509_set_pubkey(job->cert, job->key))
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "generating certificate");
	if (set_names(job, err) < 0 || set_validity(job, err) < 0 ||
	    add_extensions(job, err) < 0)
		return -1;
	if (X509_sign(job->cert, signer, certgen_digest(signer)) <= 0)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "signing certificate");
	return 0;
}

BIO *certgen_key_pem(EVP_PKEY *key, const char *passphrase,
		     struct tlskit_error *err)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	int ok;

	if (!bio)
		goto fail;
	if (passphrase)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(),
						   passphrase,
						   (int)strlen(passphrase),
						   NULL, NULL);
	else
		ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
					      NULL);
	if (ok)
		return bio;
fail:
	BIO_free(bio);
	error_set_ssl(err, TLSKIT_ERR_SYSTEM, "encoding private key");
	return NULL;
}

/* The chain file goes with certificates whose issuer is an intermediate:
 * servers must send it, and nobody remembers to. */
static int wants_chain(const struct certgen_job *job)
{
	return job->params->chain_file && job->issuer_cert &&
	       X509_self_signed(job->issuer_cert, 0) != 1;
}

static int encode_chain(struct certgen_job *job, struct tlskit_error *err)
{
	int ok;

	ERR_clear_error();
	if (!wants_chain(job))
		return 0;
	job->chain_pem = BIO_new(BIO_s_mem());
	ok = job->chain_pem && PEM_write_bio_X509(job->chain_pem, job->cert) &&
	     PEM_write_bio_X509(job->chain_pem, job->issuer_cert);
	for (int i = 0; ok && i < sk_X509_num(job->issuer_chain); i++)
		ok = PEM_write_bio_X509(job->chain_pem,
					sk_X509_value(job->issuer_chain, i));
	if (!ok)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "encoding certificate chain");
	return 0;
}

static int encode_pem(struct certgen_job *job, int with_key,
		      struct tlskit_error *err)
{
	job->cert_pem = BIO_new(BIO_s_mem());
	if (!job->cert_pem || !PEM_write_bio_X509(job->cert_pem, job->cert))
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "encoding certificate");
	if (with_key) {
		job->key_pem = certgen_key_pem(job->key, job->params->passphrase,
					       err);
		if (!job->key_pem)
			return -1;
	}
	return encode_chain(job, err);
}

/* Key, certificate, chain: on a failure, what was written is removed so no
 * half set stays behind. */
static int write_outputs(struct certgen_job *job, const char *cert_path,
			 const char *key_path, int overwrite,
			 struct tlskit_error *err)
{
	const char *chain_path = job->params->chain_file;

	if (key_path && certgen_write_file("key", key_path, job->key_pem, 0600,
					   overwrite, err) < 0)
		return -1;
	if (certgen_write_file("certificate", cert_path, job->cert_pem, 0644,
			       overwrite, err) < 0)
		goto fail_cert;
	if (job->chain_pem &&
	    certgen_write_file("certificate chain", chain_path, job->chain_pem,
			       0644, overwrite, err) < 0)
		goto fail_chain;
	return job->chain_pem ? 1 : 0;
fail_chain:
	unlink(cert_path);
fail_cert:
	if (key_path)
		unlink(key_path);
	return -1;
}

/* Checked before any work so that a refusal is quick and leaves nothing
 * written; certgen_write_file's O_EXCL still catches a file created
 * meanwhile. */
static int check_outputs(const struct tlskit_certgen *p, const char *cert_path,
			 const char *key_path, int overwrite,
			 struct tlskit_error *err)
{
	if (check_paths(cert_path, key_path, err) < 0 ||
	    check_paths(cert_path, p->chain_file, err) < 0 ||
	    check_paths(key_path, p->chain_file, err) < 0)
		return -1;
	if (certgen_check_absent("key", key_path, overwrite, err) < 0 ||
	    certgen_check_absent("certificate", cert_path, overwrite, err) < 0 ||
	    certgen_check_absent("certificate chain", p->chain_file, overwrite,
				 err) < 0)
		return -1;
	return 0;
}

static void job_release(struct certgen_job *job)
{
	X509_NAME_free(job->subject);
	GENERAL_NAMES_free(job->sans);
	X509_free(job->issuer_cert);
	sk_X509_pop_free(job->issuer_chain, X509_free);
	EVP_PKEY_free(job->issuer_key);
	EVP_PKEY_free(job->key);
	X509_free(job->cert);
	BIO_free(job->cert_pem);
	BIO_free(job->chain_pem);
	BIO_free(job->key_pem);
}

/* From names and key on: issuer, certificate, files. */
static int finish_job(struct certgen_job *job, const char *cert_path,
		      const char *key_path, int overwrite,
		      struct tlskit_error *err)
{
	if (cn_as_san(job, err) < 0 || build_cert(job, err) < 0 ||
	    encode_pem(job, key_path != NULL, err) < 0)
		return -1;
	return write_outputs(job, cert_path, key_path, overwrite, err);
}

int tlskit_certgen_write(const struct tlskit_certgen *params,
			 const char *cert_path, const char *key_path,
			 int overwrite, struct tlskit_error *err)
{
	struct certgen_job job = { .params = params };
	int rc = -1;

	error_clear(err);
	if (!params || !cert_path || !key_path || !*cert_path || !*key_path)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: parameters, certificate path and key path are required");
	if (check_params(params, err) < 0 ||
	    check_outputs(params, cert_path, key_path, overwrite, err) < 0)
		return -1;
	if (certgen_sans(params, &job.sans, err) < 0 ||
	    certgen_subject(params, &job.subject, err) < 0 ||
	    load_issuer(&job, err) < 0)
		goto out;
	job.key = certgen_make_key(params, err);
	if (job.key)
		rc = finish_job(&job, cert_path, key_path, overwrite, err);
out:
	job_release(&job);
	ERR_clear_error();
	return rc;
}

/* A request's names, unless params replace them. */
static int request_names(struct certgen_job *job, const X509_NAME *subject,
			 const GENERAL_NAMES *sans, struct tlskit_error *err)
{
	const struct tlskit_certgen *p = job->params;

	if (p->common_name || p->subject) {
		if (certgen_subject(p, &job->subject, err) < 0)
			return -1;
	} else if (!(job->subject = X509_NAME_dup(subject))) {
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "signing request");
	}
	if (p->san_count)
		return certgen_sans(p, &job->sans, err);
	job->sans = sans ? ASN1_item_dup(ASN1_ITEM_rptr(GENERAL_NAMES), sans) :
			   sk_GENERAL_NAME_new_null();
	if (!job->sans)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "signing request");
	return 0;
}

int certgen_issue(const struct tlskit_certgen *params, EVP_PKEY *pubkey,
		  const X509_NAME *subject, const GENERAL_NAMES *sans,
		  const char *cert_path, int overwrite,
		  struct tlskit_error *err)
{
	struct certgen_job job = { .params = params };
	int rc = -1;

	if (!needs_issuer(params->kind))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "signing request: the kind must be server, client or intermediate");
	if (check_params(params, err) < 0 ||
	    check_outputs(params, cert_path, NULL, overwrite, err) < 0)
		return -1;
	if (request_names(&job, subject, sans, err) < 0 ||
	    load_issuer(&job, err) < 0 || !EVP_PKEY_up_ref(pubkey))
		goto out;
	job.key = pubkey;
	rc = finish_job(&job, cert_path, NULL, overwrite, err);
out:
	job_release(&job);
	ERR_clear_error();
	return rc;
}
