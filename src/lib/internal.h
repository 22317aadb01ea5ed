/*
 * internal.h - what the library's modules share; nothing here is exported.
 */
#ifndef TLSKIT_INTERNAL_H
#define TLSKIT_INTERNAL_H

#include <stdarg.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tlskit.h"

#define TLSKIT_HIDDEN __attribute__((visibility("hidden")))
#define TLSKIT_MUST_CHECK __attribute__((warn_unused_result))
#define TLSKIT_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ---- error.c ---------------------------------------------------------- */

TLSKIT_HIDDEN void error_clear(struct tlskit_error *err);
/* Sets category and message; always returns -1 so callers can
 * `return error_set(...)`. A NULL err is allowed and ignored. */
TLSKIT_HIDDEN int error_set(struct tlskit_error *err,
			    enum tlskit_error_category cat, const char *fmt,
			    ...) TLSKIT_PRINTF(3, 4);
/* Like error_set, then appends ": <reason>" from the first OpenSSL error on
 * this thread's queue (if any) and clears the queue. */
TLSKIT_HIDDEN int error_set_ssl(struct tlskit_error *err,
				enum tlskit_error_category cat,
				const char *fmt, ...) TLSKIT_PRINTF(3, 4);
/* Like error_set, then appends ": strerror(errno)". */
TLSKIT_HIDDEN int error_set_errno(struct tlskit_error *err,
				  enum tlskit_error_category cat,
				  const char *fmt, ...) TLSKIT_PRINTF(3, 4);

/* "2024-01-01 00:00:00 UTC" */
TLSKIT_HIDDEN void format_time_utc(time_t t, char *buf, size_t len);
/* ASN1_TIME to time_t; 0 on failure. */
TLSKIT_HIDDEN time_t asn1_time_to_time_t(const ASN1_TIME *t);

/* ---- config.c --------------------------------------------------------- */

/* The SSL_CTX for role, built on first use (under the config's lock) and
 * frozen after. Not a new reference: valid while cfg lives. On failure NULL
 * with the reason in err (and on the config). */
TLSKIT_HIDDEN SSL_CTX *config_ctx(tlskit_config *cfg, enum tlskit_role role,
				  struct tlskit_error *err) TLSKIT_MUST_CHECK;
/* The config's servername (NULL if none), its verify switches and min/max
 * protocol versions, for connections. */
/* A new context with only the config's versions, ciphers and groups (no
 * certificate or trust): what it would offer. Does not freeze the config.
 * The caller frees it. */
TLSKIT_HIDDEN SSL_CTX *config_algorithms_ctx(tlskit_config *cfg,
					     enum tlskit_role role,
					     struct tlskit_error *err)
	TLSKIT_MUST_CHECK;
/* Where config calls in other modules leave their error. */
TLSKIT_HIDDEN struct tlskit_error *config_error_slot(tlskit_config *cfg);
TLSKIT_HIDDEN const char *config_servername(const tlskit_config *cfg);
TLSKIT_HIDDEN int config_noverifycert(const tlskit_config *cfg);
TLSKIT_HIDDEN int config_noverifyname(const tlskit_config *cfg);
TLSKIT_HIDDEN int config_min_protocol(const tlskit_config *cfg);
TLSKIT_HIDDEN int config_max_protocol(const tlskit_config *cfg);
/* "TLS 1.2" for 0x0303; "TLS 1.x?" style fallback for others. */
TLSKIT_HIDDEN const char *protocol_name(int version);

/* ---- conn.c ----------------------------------------------------------- */

/* Sets conn up as a client over fd; with owned, conn closes fd on free. */
TLSKIT_HIDDEN int conn_start_client(tlskit_conn *conn, int fd,
				    const char *servername,
				    int owned) TLSKIT_MUST_CHECK;
TLSKIT_HIDDEN struct tlskit_error *conn_error_slot(tlskit_conn *conn);
/* 0 if conn has the role and is not set up yet; else a usage error. */
TLSKIT_HIDDEN int conn_check_unused(tlskit_conn *conn,
				    enum tlskit_role role) TLSKIT_MUST_CHECK;

/* ---- ciphers.c -------------------------------------------------------- */

/* Check every element of a list against OpenSSL; 0, or -1 with an error
 * naming the first unknown element. what: "TLS 1.2 cipher list" etc. */
TLSKIT_HIDDEN int ciphers_check_list(const char *list,
				     struct tlskit_error *err) TLSKIT_MUST_CHECK;
TLSKIT_HIDDEN int ciphers_check_suites(const char *list,
				       struct tlskit_error *err) TLSKIT_MUST_CHECK;
TLSKIT_HIDDEN int ciphers_check_groups(const char *list,
				       struct tlskit_error *err) TLSKIT_MUST_CHECK;
/* A malloc'ed copy of a ciphersuite or group list with commas turned into
 * the colons OpenSSL wants and blanks removed; NULL when out of memory. */
TLSKIT_HIDDEN char *ciphers_normalize(const char *list);

/* ---- verify.c --------------------------------------------------------- */

/* The first verification failure of a handshake, as the verify callback saw
 * it: "certificate verify failed at depth 0 (CN=x): certificate has expired
 * (notAfter ...)" or "hostname mismatch: ...". host: the name checked. */
TLSKIT_HIDDEN void verify_describe(int x509_err, int depth, X509 *cert,
				   const char *host, char *buf, size_t len);
/* The same from the verify result alone (no certificate at hand). */
TLSKIT_HIDDEN void verify_describe_result(long x509_err, char *buf,
					  size_t len);
/* 1 if name is an IPv4 or IPv6 address literal. */
TLSKIT_HIDDEN int verify_is_ip_literal(const char *name);
/* Makes param check name as a TLS client does: an IP literal against IP
 * SANs, else a host name without partial wildcards. 1 on success. */
TLSKIT_HIDDEN int verify_param_set_name(X509_VERIFY_PARAM *param,
					const char *name);
/* Words for a TLS alert: "handshake failure", "unknown ca". */
TLSKIT_HIDDEN const char *alert_name(int alert);
/* What a received alert most likely means for us, or "". */
TLSKIT_HIDDEN const char *alert_hint(int alert);

/* ---- certgen.c, pkifile.c (also used by csr.c, crl.c, chainverify.c) - */

#include <openssl/x509v3.h>

/* Every certificate of a PEM file (or the one of a DER file) into a new
 * stack. what names the object in errors: "issuer certificate". */
TLSKIT_HIDDEN int certgen_load_certs(const char *what, const char *path,
				     STACK_OF(X509) **out,
				     struct tlskit_error *err) TLSKIT_MUST_CHECK;
/* A PEM private key; passphrase (or NULL) decrypts an encrypted one. */
TLSKIT_HIDDEN EVP_PKEY *certgen_load_key(const char *what, const char *path,
					 const char *passphrase,
					 struct tlskit_error *err)
	TLSKIT_MUST_CHECK;
/* A CA certificate (the file's first), optionally the file's further
 * non-root certificates, and its key, checked to match. On failure the
 * caller still frees whatever was set. */
TLSKIT_HIDDEN int certgen_load_issuer(const char *cert_path,
				      const char *key_path,
				      const char *passphrase, X509 **cert,
				      STACK_OF(X509) **chain, EVP_PKEY **key,
				      struct tlskit_error *err)
	TLSKIT_MUST_CHECK;
/* The key params ask for: generated, or loaded from key_file. */
TLSKIT_HIDDEN EVP_PKEY *certgen_make_key(const struct tlskit_certgen *p,
					 struct tlskit_error *err)
	TLSKIT_MUST_CHECK;
/* Subject (subject fields + CN with its defaults) and SANs of params. */
TLSKIT_HIDDEN int certgen_subject(const struct tlskit_certgen *p,
				  X509_NAME **out,
				  struct tlskit_error *err) TLSKIT_MUST_CHECK;
TLSKIT_HIDDEN int certgen_sans(const struct tlskit_certgen *p,
			       GENERAL_NAMES **out,
			       struct tlskit_error *err) TLSKIT_MUST_CHECK;
/* Signature digest for a signing key (NULL for Ed25519). */
TLSKIT_HIDDEN const EVP_MD *certgen_digest(EVP_PKEY *signer);
/* PEM PKCS#8 of key in secure memory, AES-256 encrypted with passphrase. */
TLSKIT_HIDDEN BIO *certgen_key_pem(EVP_PKEY *key, const char *passphrase,
				   struct tlskit_error *err) TLSKIT_MUST_CHECK;
/* Refuses an existing path (NULL: nothing to check) unless overwrite. */
TLSKIT_HIDDEN int certgen_check_absent(const char *what, const char *path,
				       int overwrite,
				       struct tlskit_error *err)
	TLSKIT_MUST_CHECK;
/* Writes a memory BIO to path with mode; O_EXCL unless overwrite. */
TLSKIT_HIDDEN int certgen_write_file(const char *what, const char *path,
				     BIO *bio, mode_t mode, int overwrite,
				     struct tlskit_error *err)
	TLSKIT_MUST_CHECK;
/* Certifies pubkey (from a request) with the issuer and profile of params,
 * writing cert_path and chain_file. 0, 1 (chain written) or -1. */
TLSKIT_HIDDEN int certgen_issue(const struct tlskit_certgen *params,
				EVP_PKEY *pubkey, const X509_NAME *subject,
				const GENERAL_NAMES *sans,
				const char *cert_path, int overwrite,
				struct tlskit_error *err) TLSKIT_MUST_CHECK;

/* ---- certinfo.c ------------------------------------------------------- */

/* Wraps x (takes a new reference on it). NULL and err set on failure. */
TLSKIT_HIDDEN tlskit_cert *certinfo_from_x509(X509 *x, struct tlskit_error *err);
TLSKIT_HIDDEN X509 *certinfo_x509(const tlskit_cert *cert);
/* "CN=localhost" style short name for messages: CN if present, else the
 * whole RFC 2253 subject. Written into buf. */
TLSKIT_HIDDEN void certinfo_short_name(X509 *x, char *buf, size_t len);
/* The names a certificate is valid for, for hostname-mismatch messages:
 * "localhost, 127.0.0.1" (DNS and IP SANs, else the CN). */
TLSKIT_HIDDEN void certinfo_names(X509 *x, char *buf, size_t len);
/* An empty certificate list (NULL when out of memory), and appending a
 * copy of x's information to it (x gains a reference). */
TLSKIT_HIDDEN tlskit_cert_list *certlist_new(void);
TLSKIT_HIDDEN int certlist_push_x509(tlskit_cert_list *list, X509 *x,
				     struct tlskit_error *err) TLSKIT_MUST_CHECK;

/* ---- chaininfo.c ------------------------------------------------------ */

/* The connection's SSL object (NULL before connect/accept). Defined in
 * conn.c; chaininfo.c reads the peer's chain through it. */
TLSKIT_HIDDEN SSL *conn_ssl(const tlskit_conn *conn);

/* ---- policy.c, profile.c: allow rules, pins, hook, key log ------------ */

struct policy;
TLSKIT_HIDDEN void policy_free(struct policy *p);
/* Puts the config's policy (certificate verification callback, forced
 * client verification, key logging) on a context being built for role. */
TLSKIT_HIDDEN int policy_install(tlskit_config *cfg, SSL_CTX *ctx,
				 enum tlskit_role role,
				 struct tlskit_error *err) TLSKIT_MUST_CHECK;
/* config.c: where the policy lives, and the frozen check for its setters. */
TLSKIT_HIDDEN struct policy **config_policy_slot(tlskit_config *cfg);
/* Feeds the allow rules, pins and hook (whom the server admits) into md,
 * for the session id context: 1 on success. */
TLSKIT_HIDDEN int policy_digest(tlskit_config *cfg, EVP_MD_CTX *md);
TLSKIT_HIDDEN int config_settable(tlskit_config *cfg,
				  const char *what) TLSKIT_MUST_CHECK;
/* conn.c: the connection of an SSL (NULL if none); its first verification
 * failure (NULL if none) and the name it checks; replacing that failure
 * (policy refusals), and a note that replaces "ok" in
 * tlskit_conn_verify_result (insecure acceptances). */
TLSKIT_HIDDEN tlskit_conn *conn_from_ssl(SSL *ssl);
TLSKIT_HIDDEN const char *conn_verify_failure(const tlskit_conn *conn);
TLSKIT_HIDDEN const char *conn_checked_name(const tlskit_conn *conn);
TLSKIT_HIDDEN void conn_set_verify_failure(tlskit_conn *conn, const char *msg);
TLSKIT_HIDDEN void conn_set_verify_note(tlskit_conn *conn, const char *note);

/* ---- tickets.c: session ticket keys ------------------------------------ */

struct tickets;
TLSKIT_HIDDEN void tickets_free(struct tickets *t);
/* Puts the config's ticket keys (or "no tickets") on a server context. */
TLSKIT_HIDDEN int tickets_install(tlskit_config *cfg, SSL_CTX *ctx,
				  enum tlskit_role role,
				  struct tlskit_error *err) TLSKIT_MUST_CHECK;
/* config.c: where they live. */
TLSKIT_HIDDEN struct tickets **config_tickets_slot(tlskit_config *cfg);

/* ---- sni.c: several certificates chosen by SNI ------------------------- */

struct sni;
TLSKIT_HIDDEN void sni_free(struct sni *s);
/* After the config's own certificate is on ctx: the SNI callback. */
TLSKIT_HIDDEN int sni_install(tlskit_config *cfg, SSL_CTX *ctx,
			      enum tlskit_role role,
			      struct tlskit_error *err) TLSKIT_MUST_CHECK;
TLSKIT_HIDDEN struct sni **config_sni_slot(tlskit_config *cfg);

/* ---- revocation.c: CRLs, OCSP stapling -------------------------------- */

struct revocation;
TLSKIT_HIDDEN void revocation_free(struct revocation *r);
/* Puts the config's CRLs into ctx's trust store (built already) and turns
 * CRL checking on; installs the OCSP status callback (servers: the staple;
 * clients: request and check). */
TLSKIT_HIDDEN int revocation_install(tlskit_config *cfg, SSL_CTX *ctx,
				     enum tlskit_role role,
				     struct tlskit_error *err) TLSKIT_MUST_CHECK;
/* config.c: where the CRLs live. */
TLSKIT_HIDDEN struct revocation **config_revocation_slot(tlskit_config *cfg);
/* Feeds the CRLs and the check mode into md (see policy_digest). */
TLSKIT_HIDDEN int revocation_digest(tlskit_config *cfg, EVP_MD_CTX *md);

#endif
