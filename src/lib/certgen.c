/*
 * certgen.c - keys and certificates for development and test PKI: a root
 * CA, leaves it signs, self-signed leaves. OpenSSL builds, signs and encodes
 * everything; this file decides what goes in and writes the files safely.
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
#define SERIAL_BYTES 16
#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63
#define DEFAULT_CA_NAME "tlskit development CA"

struct certgen_job {
	const struct tlskit_certgen *params;
	const char *common_name;
	GENERAL_NAMES *sans;
	X509 *issuer_cert;   /* NULL when self-signed */
	EVP_PKEY *issuer_key;
	EVP_PKEY *key;
	X509 *cert;
	BIO *cert_pem;
	BIO *key_pem;        /* secure memory: wiped when freed */
};

static int is_leaf(enum tlskit_cert_kind kind)
{
	return kind != TLSKIT_CERT_CA;
}

/* ---- parameters ------------------------------------------------------ */

static int check_params(const struct tlskit_certgen *p, const char *cert_path,
			const char *key_path, struct tlskit_error *err)
{
	if (!p || !cert_path || !key_path || !*cert_path || !*key_path)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: parameters, certificate path and key path are required");
	if (strcmp(cert_path, key_path) == 0)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: certificate and key paths are the same ('%s')",
				 cert_path);
	if (p->kind < TLSKIT_CERT_CA || p->kind > TLSKIT_CERT_SELF_SIGNED)
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
	if ((p->kind == TLSKIT_CERT_SERVER || p->kind == TLSKIT_CERT_CLIENT) &&
	    (!p->issuer_cert_file || !p->issuer_key_file))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: server and client certificates need an issuer certificate and key (--ca, --ca-key)");
	if (p->kind == TLSKIT_CERT_SELF_SIGNED &&
	    (p->issuer_cert_file || p->issuer_key_file))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: a self-signed certificate takes no issuer");
	if (!p->issuer_cert_file != !p->issuer_key_file)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: the issuer needs both a certificate and a key");
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

/*
 * SANs and CN. A leaf made for servers with a CN but no SANs gets its CN
 * as a SAN too: clients ignore the CN, so it would match nothing otherwise.
 */
static int prepare_names(struct certgen_job *job, struct tlskit_error *err)
{
	const struct tlskit_certgen *p = job->params;

	job->sans = sk_GENERAL_NAME_new_null();
	if (!job->sans)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM, "generating certificate");
	for (size_t i = 0; i < p->san_count; i++)
		if (add_san(job->sans, p->sans[i], err) < 0)
			return -1;
	job->common_name = p->common_name;
	if (!job->common_name && p->san_count)
		job->common_name = san_value(p->sans[0]);
	if (!job->common_name && p->kind == TLSKIT_CERT_CA)
		job->common_name = DEFAULT_CA_NAME;
	if (!job->common_name || !*job->common_name)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: a common name or at least one SAN is required");
	if (has_control_chars(job->common_name))
		return error_set(err, TLSKIT_ERR_USAGE,
				 "generating certificate: common name contains control characters");
	if (!p->san_count && (p->kind == TLSKIT_CERT_SERVER ||
			      p->kind == TLSKIT_CERT_SELF_SIGNED) &&
	    (is_dns_name(job->common_name) || is_ip_address(job->common_name)))
		return add_san(job->sans, job->common_name, err);
	return 0;
}

/* ---- issuer ------------------------------------------------------------ */

/* Encrypted keys are not supported yet; never let OpenSSL prompt on a tty. */
static int no_passphrase(char *buf, int size, int rwflag, void *asked)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)asked = 1;
	return -1;
}

static int load_issuer_cert(struct certgen_job *job, struct tlskit_error *err)
{
	const char *path = job->params->issuer_cert_file;
	FILE *f = fopen(path, "r");

	if (!f)
		return error_set_errno(err, TLSKIT_ERR_CONFIG,
				       "loading issuer certificate '%s'", path);
	job->issuer_cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!job->issuer_cert) {
		ERR_clear_error();
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading issuer certificate '%s': no PEM certificate found",
				 path);
	}
	if (X509_check_ca(job->issuer_cert) != 1)
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading issuer certificate '%s': not a CA certificate (basicConstraints CA:TRUE missing)",
				 path);
	return 0;
}

static int load_issuer_key(struct certgen_job *job, struct tlskit_error *err)
{
	const char *path = job->params->issuer_key_file;
	FILE *f = fopen(path, "r");
	int asked = 0;

	if (!f)
		return error_set_errno(err, TLSKIT_ERR_CONFIG,
				       "loading issuer key '%s'", path);
	job->issuer_key = PEM_read_PrivateKey(f, NULL, no_passphrase, &asked);
	fclose(f);
	if (!job->issuer_key && asked) {
		ERR_clear_error();
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading issuer key '%s': encrypted keys are not supported",
				 path);
	}
	if (!job->issuer_key) {
		ERR_clear_error();
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading issuer key '%s': no PEM private key found",
				 path);
	}
	return 0;
}

static int load_issuer(struct certgen_job *job, struct tlskit_error *err)
{
	const struct tlskit_certgen *p = job->params;

	if (!p->issuer_cert_file)
		return 0;
	if (load_issuer_cert(job, err) < 0 || load_issuer_key(job, err) < 0)
		return -1;
	if (X509_check_private_key(job->issuer_cert, job->issuer_key) != 1) {
		ERR_clear_error();
		return error_set(err, TLSKIT_ERR_CONFIG,
				 "loading issuer key '%s': it does not match issuer certificate '%s'",
				 p->issuer_key_file, p->issuer_cert_file);
	}
	return 0;
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

static int generate_key(struct certgen_job *job, struct tlskit_error *err)
{
	enum tlskit_key_type type = job->params->key_type;

	switch (type) {
	case TLSKIT_KEY_EC_P256:
		job->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case TLSKIT_KEY_EC_P384:
		job->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case TLSKIT_KEY_ED25519:
		job->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case TLSKIT_KEY_RSA2048:
		job->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case TLSKIT_KEY_RSA3072:
		job->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case TLSKIT_KEY_RSA4096:
		job->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	}
	if (!job->key)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "generating %s key", key_type_name(type));
	return 0;
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

static int set_subject(struct certgen_job *job, struct tlskit_error *err)
{
	X509_NAME *name = X509_get_subject_name(job->cert);
	const unsigned char *cn = (const unsigned char *)job->common_name;

	if (!X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					cn, -1, -1, 0))
		return error_set_ssl(err, TLSKIT_ERR_USAGE,
				     "generating certificate: common name '%s'",
				     job->common_name);
	if (!X509_set_issuer_name(job->cert, job->issuer_cert ?
				  X509_get_subject_name(job->issuer_cert) : name))
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "generating certificate: setting issuer");
	return 0;
}

static int set_validity(struct certgen_job *job, struct tlskit_error *err)
{
	const struct tlskit_certgen *p = job->params;
	int days = p->days ? p->days : is_leaf(p->kind) ? LEAF_DAYS : CA_DAYS;
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

/* The subject key identifier must exist before the authority one, which
 * a self-signed certificate copies from itself. */
static int add_extensions(struct certgen_job *job, struct tlskit_error *err)
{
	enum tlskit_cert_kind kind = job->params->kind;
	const struct ext_spec exts[] = {
		{ NID_basic_constraints,
		  is_leaf(kind) ? "critical,CA:FALSE" : "critical,CA:TRUE" },
		{ NID_key_usage, key_usage(job) },
		{ NID_ext_key_usage, extended_key_usage(kind) },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	X509V3_CTX ctx;

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
static const EVP_MD *signature_digest(EVP_PKEY *signer)
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
	if (set_subject(job, err) < 0 || set_validity(job, err) < 0 ||
	    add_extensions(job, err) < 0)
		return -1;
	if (X509_sign(job->cert, signer, signature_digest(signer)) <= 0)
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "signing certificate");
	return 0;
}

static int encode_pem(struct certgen_job *job, struct tlskit_error *err)
{
	job->cert_pem = BIO_new(BIO_s_mem());
	job->key_pem = BIO_new(BIO_s_secmem());
	if (!job->cert_pem || !job->key_pem ||
	    !PEM_write_bio_X509(job->cert_pem, job->cert) ||
	    !PEM_write_bio_PrivateKey(job->key_pem, job->key, NULL, NULL, 0,
				      NULL, NULL))
		return error_set_ssl(err, TLSKIT_ERR_SYSTEM,
				     "encoding certificate and key");
	return 0;
}

/* ---- files ----------------------------------------------------------------- */

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int refuse_existing(const char *what, const char *path,
			   struct tlskit_error *err)
{
	return error_set(err, TLSKIT_ERR_CONFIG,
			 "writing %s '%s': file exists (use --force to overwrite)",
			 what, path);
}

/*
 * Writes bio's contents to path with mode. Without overwrite, O_EXCL makes
 * the existence check and the creation one step; with it, an existing file
 * is also brought to mode (a key must not stay world-readable).
 */
static int write_file(const char *what, const char *path, BIO *bio, mode_t mode,
		      int overwrite, struct tlskit_error *err)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
		    (overwrite ? O_TRUNC : O_EXCL);
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	int fd = open(path, flags, mode);

	if (fd < 0 && errno == EEXIST)
		return refuse_existing(what, path, err);
	if (fd < 0)
		return error_set_errno(err, TLSKIT_ERR_CONFIG, "writing %s '%s'",
				       what, path);
	if ((overwrite && fchmod(fd, mode) < 0) ||
	    write_all(fd, data, (size_t)len) < 0) {
		error_set_errno(err, TLSKIT_ERR_CONFIG, "writing %s '%s'", what,
				path);
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return error_set_errno(err, TLSKIT_ERR_CONFIG,
				       "writing %s '%s'", what, path);
	return 0;
}

/*
 * Checked before any work so that a refusal is quick and leaves neither file
 * written; write_file's O_EXCL still catches a file created meanwhile.
 */
static int check_outputs(const char *cert_path, const char *key_path,
			 int overwrite, struct tlskit_error *err)
{
	struct stat st;

	if (!overwrite && lstat(key_path, &st) == 0)
		return refuse_existing("key", key_path, err);
	if (!overwrite && lstat(cert_path, &st) == 0)
		return refuse_existing("certificate", cert_path, err);
	return 0;
}

static int write_outputs(struct certgen_job *job, const char *cert_path,
			 const char *key_path, int overwrite,
			 struct tlskit_error *err)
{
	if (write_file("key", key_path, job->key_pem, 0600, overwrite, err) < 0)
		return -1;
	if (write_file("certificate", cert_path, job->cert_pem, 0644,
		       overwrite, err) < 0) {
		unlink(key_path);
		return -1;
	}
	return 0;
}

static void job_release(struct certgen_job *job)
{
	GENERAL_NAMES_free(job->sans);
	X509_free(job->issuer_cert);
	EVP_PKEY_free(job->issuer_key);
	EVP_PKEY_free(job->key);
	X509_free(job->cert);
	BIO_free(job->cert_pem);
	BIO_free(job->key_pem);
}

int tlskit_certgen_write(const struct tlskit_certgen *params,
			 const char *cert_path, const char *key_path,
			 int overwrite, struct tlskit_error *err)
{
	struct certgen_job job = { .params = params };
	int rc = -1;

	error_clear(err);
	if (check_params(params, cert_path, key_path, err) < 0 ||
	    check_outputs(cert_path, key_path, overwrite, err) < 0)
		return -1;
	if (prepare_names(&job, err) < 0 || load_issuer(&job, err) < 0 ||
	    generate_key(&job, err) < 0 || build_cert(&job, err) < 0 ||
	    encode_pem(&job, err) < 0)
		goto out;
	rc = write_outputs(&job, cert_path, key_path, overwrite, err);
out:
	job_release(&job);
	ERR_clear_error();
	return rc;
}
