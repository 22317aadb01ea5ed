/*
 * tlskit.h - the one public header of libtlskit.
 *
 * A small, safe-by-default TLS API over OpenSSL 3.
 *
 *   config      built once, shared (reference-counted) by many connections
 *               and threads; safe defaults with no calls at all.
 *   conn        one TLS connection, client or server, over a socket the
 *               caller owns or over caller-supplied read/write callbacks.
 *   cert        a parsed X.509 certificate: subject, SANs, dates, ...
 *   certgen     key and certificate generation (development CA, leaves).
 *
 * Conventions
 *   - Functions returning int return 0 on success and -1 on failure.
 *   - Functions returning a pointer return NULL on failure.
 *   - I/O functions return a byte count, TLSKIT_WANT_READ or
 *     TLSKIT_WANT_WRITE (non-blocking sockets only: wait until the socket is
 *     readable/writable and repeat the same call), or -1.
 *   - Every failure leaves a category and a message on the object it was
 *     called on (tlskit_config_error(), tlskit_conn_error()); functions that
 *     have no object take a struct tlskit_error *.
 *   - _free(NULL) is a no-op. Setters copy their input. Getters return memory
 *     owned by the object; it stays valid until the object is freed (or, for
 *     connection getters, until the next handshake on it).
 *   - The library never prints, exits or aborts.
 *   - Anything that weakens security has "insecure" in its name.
 */
#ifndef TLSKIT_H
#define TLSKIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TLSKIT_API __attribute__((visibility("default")))
#else
#define TLSKIT_API
#endif

#define TLSKIT_VERSION_STRING "0.1.0"

/* I/O results besides byte counts and -1. */
#define TLSKIT_WANT_READ  (-2)
#define TLSKIT_WANT_WRITE (-3)

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

enum tlskit_error_category {
	TLSKIT_ERR_NONE = 0,
	TLSKIT_ERR_SYSTEM,   /* out of memory, a system call failed */
	TLSKIT_ERR_USAGE,    /* the API was called wrongly (bad argument, state) */
	TLSKIT_ERR_CONFIG,   /* file missing or unreadable, bad key, bad list */
	TLSKIT_ERR_CONNECT,  /* resolve, refused, unreachable, connect timeout */
	TLSKIT_ERR_PROTOCOL, /* handshake or record layer: version, cipher, alert */
	TLSKIT_ERR_VERIFY,   /* peer certificate verification, hostname */
	TLSKIT_ERR_IO,       /* socket error after the connection was up */
	TLSKIT_ERR_CLOSED,   /* peer closed without close_notify (truncation) */
};

#define TLSKIT_ERROR_MAX 512

struct tlskit_error {
	enum tlskit_error_category category;
	char message[TLSKIT_ERROR_MAX];
};

/* "system", "usage", "config", ... ; "none" for TLSKIT_ERR_NONE. */
TLSKIT_API const char *tlskit_error_category_name(enum tlskit_error_category c);

/* ------------------------------------------------------------------ */
/* Library                                                            */
/* ------------------------------------------------------------------ */

/* "tlskit 0.1.0". */
TLSKIT_API const char *tlskit_version(void);
/* The OpenSSL the library runs on, e.g. "OpenSSL 3.0.19 27 Jan 2026". */
TLSKIT_API const char *tlskit_openssl_version(void);

/* ------------------------------------------------------------------ */
/* Configuration                                                      */
/* ------------------------------------------------------------------ */

typedef struct tlskit_config tlskit_config;

enum tlskit_protocol {
	TLSKIT_TLS1_0 = 0x0301, /* only reachable at security level 0 */
	TLSKIT_TLS1_1 = 0x0302,
	TLSKIT_TLS1_2 = 0x0303,
	TLSKIT_TLS1_3 = 0x0304,
};

enum tlskit_verify_client {
	TLSKIT_VERIFY_CLIENT_NONE = 0, /* server default: no certificate asked */
	TLSKIT_VERIFY_CLIENT_OPTIONAL, /* asked; verified if sent */
	TLSKIT_VERIFY_CLIENT_REQUIRE,  /* asked; handshake fails without one */
};

/*
 * A new configuration with safe defaults: TLS 1.2 minimum, Mozilla
 * "intermediate" ciphers with server preference, peer and hostname
 * verification on against the system trust store, SNI on clients,
 * compression and renegotiation off. Reference count 1.
 */
TLSKIT_API tlskit_config *tlskit_config_new(void);
/* Adds a reference; every reference is released by tlskit_config_free(). */
TLSKIT_API tlskit_config *tlskit_config_ref(tlskit_config *cfg);
TLSKIT_API void tlskit_config_free(tlskit_config *cfg);

/* The last error of a config call (valid until the next call on it). */
TLSKIT_API const char *tlskit_config_error(const tlskit_config *cfg);
TLSKIT_API enum tlskit_error_category
tlskit_config_error_category(const tlskit_config *cfg);

/*
 * Certificate chain (leaf first) and private key, PEM, from files or memory.
 * The passphrase, if any, decrypts an encrypted key; it is wiped on free.
 * The key is checked against the certificate when the config is first used
 * by a connection or by tlskit_config_check().
 */
TLSKIT_API int tlskit_config_set_cert_file(tlskit_config *cfg, const char *path);
TLSKIT_API int tlskit_config_set_key_file(tlskit_config *cfg, const char *path);
TLSKIT_API int tlskit_config_set_cert_mem(tlskit_config *cfg, const void *pem,
					  size_t len);
TLSKIT_API int tlskit_config_set_key_mem(tlskit_config *cfg, const void *pem,
					 size_t len);
TLSKIT_API int tlskit_config_set_key_passphrase(tlskit_config *cfg,
						const char *passphrase);

/* Trust anchors. Setting any of these replaces the system store. */
TLSKIT_API int tlskit_config_set_ca_file(tlskit_config *cfg, const char *path);
TLSKIT_API int tlskit_config_set_ca_dir(tlskit_config *cfg, const char *path);
TLSKIT_API int tlskit_config_set_ca_mem(tlskit_config *cfg, const void *pem,
					size_t len);

/* Servers: whether clients must present a certificate. */
TLSKIT_API int tlskit_config_set_verify_client(tlskit_config *cfg,
					       enum tlskit_verify_client mode);
/* Maximum chain depth (intermediates) accepted; default 10. */
TLSKIT_API int tlskit_config_set_verify_depth(tlskit_config *cfg, int depth);

/* Clients: the default SNI and name checked (per connection overrides it). */
TLSKIT_API int tlskit_config_set_servername(tlskit_config *cfg,
					    const char *name);

/* Clients: skip certificate (chain) or hostname verification. */
TLSKIT_API void tlskit_config_insecure_noverifycert(tlskit_config *cfg);
TLSKIT_API void tlskit_config_insecure_noverifyname(tlskit_config *cfg);

/* Protocol range; 0 leaves a bound at its default (min 1.2, max 1.3). */
TLSKIT_API int tlskit_config_set_protocols(tlskit_config *cfg,
					   enum tlskit_protocol min,
					   enum tlskit_protocol max);
/* Parses "1.0" "1.1" "1.2" "1.3" (also "tls1.2", "TLSv1.2"). */
TLSKIT_API int tlskit_protocol_parse(const char *text, enum tlskit_protocol *out);

/*
 * TLS 1.2 cipher list (OpenSSL syntax), TLS 1.3 ciphersuites, key exchange
 * groups (colon or comma separated). Every element must be known to
 * OpenSSL: an unknown one is an error naming it.
 */
TLSKIT_API int tlskit_config_set_ciphers(tlskit_config *cfg, const char *list);
TLSKIT_API int tlskit_config_set_ciphersuites(tlskit_config *cfg,
					      const char *list);
TLSKIT_API int tlskit_config_set_groups(tlskit_config *cfg, const char *list);

/* ALPN protocols in preference order, comma separated: "h2,http/1.1". */
TLSKIT_API int tlskit_config_set_alpn(tlskit_config *cfg, const char *list);

/*
 * Whether each connection gives its TLS read and write buffers (about
 * 34 KiB) back while no data is in flight. release 1 is the default:
 * idle connections stay small. release 0 keeps them for the connection's
 * life, which saves two allocations per record: for a few busy
 * connections (a load generator) rather than many idle ones. Unlike the
 * other setters it may also follow tlskit_config_check(), but must come
 * before the config's first connection.
 */
TLSKIT_API int tlskit_config_set_release_buffers(tlskit_config *cfg,
						 int release);

/*
 * Builds the OpenSSL contexts now, so that a bad certificate, key or trust
 * file is reported at start rather than at the first connection.
 * role: TLSKIT_CLIENT or TLSKIT_SERVER. After the first successful use the
 * config is frozen: further setters fail with a usage error.
 */
enum tlskit_role { TLSKIT_CLIENT = 1, TLSKIT_SERVER = 2 };
TLSKIT_API int tlskit_config_check(tlskit_config *cfg, enum tlskit_role role);

/*
 * Validity of the configured certificate: 0 if it is valid now, else -1 and
 * a message in *err ("certificate 'CN=x' expired on 2024-01-01 00:00:00 UTC").
 * Servers serve such certificates (tests need them) but should warn.
 */
TLSKIT_API int tlskit_config_cert_validity(tlskit_config *cfg,
					   struct tlskit_error *err);

/* One cipher the configuration would offer or accept. */
struct tlskit_cipher_info {
	char name[64];     /* OpenSSL name: "ECDHE-ECDSA-AES128-GCM-SHA256" */
	char iana[80];     /* standard name: "TLS_ECDHE_ECDSA_WITH_..." */
	char protocol[16]; /* "TLSv1.2", "TLSv1.3" */
	uint16_t id;       /* IANA code point */
	int bits;          /* symmetric key strength */
	char kx[16];       /* key exchange: "ECDH", "any" (TLS 1.3) */
	char auth[16];     /* authentication: "ECDSA", "RSA", "any" */
	char enc[32];      /* "AESGCM(128)" */
	int aead;          /* 1 if an AEAD cipher */
	char mac[16];      /* "AEAD", or the record MAC: "SHA256", "SHA1" */
};
/*
 * The ciphers this configuration enables for role, in preference order,
 * after the protocol range and security level. Needs no certificate and does
 * not freeze the config. *out is malloc'ed; free it with free(). Returns the
 * count or -1.
 */
TLSKIT_API ssize_t tlskit_config_ciphers(tlskit_config *cfg,
					 enum tlskit_role role,
					 struct tlskit_cipher_info **out);

/* ------------------------------------------------------------------ */
/* Connections                                                        */
/* ------------------------------------------------------------------ */

typedef struct tlskit_conn tlskit_conn;

/*
 * A new connection using cfg (which gains a reference). NULL only when out
 * of memory. Nothing happens on the network until a connect/accept call.
 */
TLSKIT_API tlskit_conn *tlskit_client_new(tlskit_config *cfg);
TLSKIT_API tlskit_conn *tlskit_server_new(tlskit_config *cfg);
TLSKIT_API void tlskit_conn_free(tlskit_conn *conn);

TLSKIT_API const char *tlskit_conn_error(const tlskit_conn *conn);
TLSKIT_API enum tlskit_error_category
tlskit_conn_error_category(const tlskit_conn *conn);

/*
 * Transport callbacks: like read(2)/write(2). Return a byte count (read: 0
 * at end of stream), TLSKIT_WANT_READ / TLSKIT_WANT_WRITE when they would
 * block, or -1 with errno set.
 */
typedef ssize_t (*tlskit_read_cb)(void *arg, void *buf, size_t len);
typedef ssize_t (*tlskit_write_cb)(void *arg, const void *buf, size_t len);

/*
 * Clients. servername sets SNI and the name verified; NULL takes the
 * config's (with neither, -1: a usage error, unless name or certificate
 * verification is turned off insecurely). An IP literal is verified against
 * the certificate's IP SANs and sends no SNI. The caller keeps ownership of
 * fd.
 */
TLSKIT_API int tlskit_connect_fd(tlskit_conn *conn, int fd,
				 const char *servername);
TLSKIT_API int tlskit_connect_cbs(tlskit_conn *conn, tlskit_read_cb rcb,
				  tlskit_write_cb wcb, void *arg,
				  const char *servername);

/*
 * Resolves "host:port" ("[::1]:443" for IPv6 literals) and tries every
 * address, IPv4 and IPv6, in turn, each bounded by timeout_ms (0: 10 s).
 * The host also becomes the servername unless the config sets one. The
 * library owns (and closes) this socket. With nonblocking the socket is left
 * non-blocking after the TCP connect, so the handshake and I/O may return
 * TLSKIT_WANT_*.
 */
TLSKIT_API int tlskit_connect(tlskit_conn *conn, const char *hostport,
			      int timeout_ms, int nonblocking);

/* Servers. The caller keeps ownership of fd. */
TLSKIT_API int tlskit_accept_fd(tlskit_conn *conn, int fd);
TLSKIT_API int tlskit_accept_cbs(tlskit_conn *conn, tlskit_read_cb rcb,
				 tlskit_write_cb wcb, void *arg);

/* The socket (the caller's, or the one tlskit_connect made); -1 if none. */
TLSKIT_API int tlskit_conn_fd(const tlskit_conn *conn);

/*
 * Runs the handshake: 0 when done, TLSKIT_WANT_READ/WRITE, or -1 (protocol
 * or verify error with the reason). tlskit_read/write handshake implicitly.
 */
TLSKIT_API int tlskit_handshake(tlskit_conn *conn);

/*
 * Reads up to len (> 0) bytes: > 0 bytes read, 0 when the peer sent
 * close_notify, TLSKIT_WANT_*, or -1 (a peer closing TCP without
 * close_notify is -1 with category TLSKIT_ERR_CLOSED). After -1 the
 * connection is dead: further I/O fails with the same error.
 */
TLSKIT_API ssize_t tlskit_read(tlskit_conn *conn, void *buf, size_t len);
/* Writes all of buf (> 0 is always len), TLSKIT_WANT_* or -1. After a
 * TLSKIT_WANT_*, repeat with the same buf and len. */
TLSKIT_API ssize_t tlskit_write(tlskit_conn *conn, const void *buf, size_t len);
/* Sends close_notify: 0, TLSKIT_WANT_*, or -1. Does not wait for the peer's.
 * Returns 0 without sending anything if the handshake never completed, the
 * connection already failed, or close_notify was already sent. */
TLSKIT_API int tlskit_close(tlskit_conn *conn);
/* Bytes already decrypted and buffered, readable without touching the fd. */
TLSKIT_API size_t tlskit_pending(const tlskit_conn *conn);
/*
 * 1 if the library holds bytes from the peer that it has not handed out:
 * decrypted data (tlskit_pending) or, with read-ahead, received records not
 * yet decrypted. A read may then make progress without the fd being
 * readable (or may need more bytes: it says so with TLSKIT_WANT_READ).
 */
TLSKIT_API int tlskit_has_pending(const tlskit_conn *conn);
/*
 * Read-ahead (off by default): the library reads as much as the socket
 * holds, up to a record buffer, instead of one record header and body at a
 * time: fewer read calls (about a quarter fewer per handshake, a third per
 * small request/response). The catch: data can then sit in the library
 * while the fd is no longer readable, so a caller that waits for
 * readability (poll, epoll) must keep reading until tlskit_read returns
 * TLSKIT_WANT_READ, or check tlskit_has_pending() before it waits, or it
 * stalls on data already received. Call before the handshake (any time
 * after tlskit_*_new). 0, or -1 for a NULL conn.
 */
TLSKIT_API int tlskit_conn_set_read_ahead(tlskit_conn *conn, int on);

/* After the handshake. Strings are owned by conn. */
TLSKIT_API const char *tlskit_conn_version(const tlskit_conn *conn);
TLSKIT_API const char *tlskit_conn_cipher(const tlskit_conn *conn);
TLSKIT_API int tlskit_conn_cipher_bits(const tlskit_conn *conn);
TLSKIT_API const char *tlskit_conn_alpn(const tlskit_conn *conn); /* or NULL */
TLSKIT_API const char *tlskit_conn_group(const tlskit_conn *conn); /* or NULL */
TLSKIT_API int tlskit_conn_resumed(const tlskit_conn *conn);
/* Clients: 1 if the server asked for a certificate (the configured one, if
 * any, was then sent), else 0. */
TLSKIT_API int tlskit_conn_cert_requested(const tlskit_conn *conn);
/* The SNI the client asked for (servers) or sent (clients), or NULL. */
TLSKIT_API const char *tlskit_conn_servername(const tlskit_conn *conn);
/* "ok", "not verified (insecure)", "no certificate", or the failure reason. */
TLSKIT_API const char *tlskit_conn_verify_result(const tlskit_conn *conn);

/* ------------------------------------------------------------------ */
/* Sessions                                                           */
/* ------------------------------------------------------------------ */

/*
 * Client session resumption. A session is reference-counted and may be
 * shared between threads; free every one obtained with
 * tlskit_session_free().
 */
typedef struct tlskit_session tlskit_session;

/*
 * The session a client connection can resume later, or NULL (none yet, or
 * not resumable). With TLS 1.3 the server sends it after the handshake, so
 * ask after the first application data has been read.
 */
TLSKIT_API tlskit_session *tlskit_conn_session_get(tlskit_conn *conn);
/*
 * Offers session on a client connection: after a connect call, before its
 * handshake. The server may still choose a full handshake;
 * tlskit_conn_resumed() tells afterwards. The connection takes its own
 * reference.
 */
TLSKIT_API int tlskit_conn_session_set(tlskit_conn *conn,
				       tlskit_session *session);
TLSKIT_API void tlskit_session_free(tlskit_session *session);
/*
 * A session in a file (PEM "SSL SESSION PARAMETERS", what openssl s_client
 * -sess_out writes), so a later process can resume it. The file holds the
 * session's secrets: it is created with mode 0600, replacing an existing
 * one. Saving and loading do not check the session still resumes.
 * Remember a connection ended without close_notify makes OpenSSL stop
 * resuming its session: close it with tlskit_close() first.
 */
TLSKIT_API int tlskit_session_save_file(const tlskit_session *session,
					const char *path,
					struct tlskit_error *err);
TLSKIT_API tlskit_session *tlskit_session_load_file(const char *path,
						    struct tlskit_error *err);

/* ------------------------------------------------------------------ */
/* Certificates                                                       */
/* ------------------------------------------------------------------ */

typedef struct tlskit_cert tlskit_cert;

/*
 * The peer's leaf certificate, or NULL if it sent none. Owned by conn.
 */
TLSKIT_API const tlskit_cert *tlskit_conn_peer_cert(tlskit_conn *conn);

/*
 * Parses one certificate: PEM (the first CERTIFICATE block; other blocks
 * before it are skipped) or DER (exactly one certificate, nothing after).
 * Free with tlskit_cert_free(). Files are limited to 1 MiB; errors name the
 * file: "loading certificate 'c.pem': no PEM or DER certificate found".
 */
TLSKIT_API tlskit_cert *tlskit_cert_parse(const void *data, size_t len,
					  struct tlskit_error *err);
TLSKIT_API tlskit_cert *tlskit_cert_load_file(const char *path,
					      struct tlskit_error *err);
TLSKIT_API void tlskit_cert_free(tlskit_cert *cert);

/* One-line RFC 2253 names: "CN=localhost,O=tlskit"; control bytes and
 * non-ASCII escaped as \XX (names come from peers). */
TLSKIT_API const char *tlskit_cert_subject(const tlskit_cert *cert);
TLSKIT_API const char *tlskit_cert_issuer(const tlskit_cert *cert);
/*
 * Subject alternative names as "DNS:x", "IP:1.2.3.4", "IP:::1", "email:x",
 * "URI:x", in certificate order; other name types are left out. Control
 * bytes, non-ASCII and backslashes in names appear as \xHH.
 */
TLSKIT_API size_t tlskit_cert_san_count(const tlskit_cert *cert);
TLSKIT_API const char *tlskit_cert_san(const tlskit_cert *cert, size_t i);
TLSKIT_API time_t tlskit_cert_not_before(const tlskit_cert *cert);
TLSKIT_API time_t tlskit_cert_not_after(const tlskit_cert *cert);
/* Serial as lowercase hex without separators. */
TLSKIT_API const char *tlskit_cert_serial(const tlskit_cert *cert);
/* SHA-256 of the DER, lowercase hex without separators. */
TLSKIT_API const char *tlskit_cert_fingerprint_sha256(const tlskit_cert *cert);
/* SHA-1 of the DER, lowercase hex (what older tools still print). */
TLSKIT_API const char *tlskit_cert_fingerprint_sha1(const tlskit_cert *cert);
/*
 * The public key pin "sha256//BASE64": SHA-256 of the DER
 * SubjectPublicKeyInfo, base64; the form curl --pinnedpubkey and HPKP take.
 * It survives renewals that keep the key.
 */
TLSKIT_API const char *tlskit_cert_pin_sha256(const tlskit_cert *cert);
/* The public key as people name it: "EC P-256", "EC P-384", "RSA 2048",
 * "Ed25519", "Ed448"; and its size in bits as OpenSSL gives it (256 for
 * P-256 and Ed25519, 2048). */
TLSKIT_API const char *tlskit_cert_key_type(const tlskit_cert *cert);
TLSKIT_API int tlskit_cert_key_bits(const tlskit_cert *cert);
/* The signature algorithm as `openssl x509 -text` names it:
 * "ecdsa-with-SHA256", "sha256WithRSAEncryption", "ED25519"; a dotted OID
 * when OpenSSL does not know it. */
TLSKIT_API const char *tlskit_cert_signature_algorithm(const tlskit_cert *cert);
/*
 * keyUsage as RFC 5280 words in RFC order: "digitalSignature",
 * "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
 * "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly". Count 0: no
 * keyUsage extension.
 */
TLSKIT_API size_t tlskit_cert_key_usage_count(const tlskit_cert *cert);
TLSKIT_API const char *tlskit_cert_key_usage(const tlskit_cert *cert, size_t i);
/* extendedKeyUsage in certificate order, as OpenSSL's short names
 * ("serverAuth", "clientAuth", "codeSigning", "emailProtection",
 * "timeStamping", "OCSPSigning") or dotted OIDs. Count 0: no extension. */
TLSKIT_API size_t tlskit_cert_ext_key_usage_count(const tlskit_cert *cert);
TLSKIT_API const char *tlskit_cert_ext_key_usage(const tlskit_cert *cert,
						 size_t i);
/* basicConstraints: 1 if the extension is present (then *ca is its CA flag
 * and *pathlen its path length limit, -1 for none), else 0. Either pointer
 * may be NULL. */
TLSKIT_API int tlskit_cert_basic_constraints(const tlskit_cert *cert, int *ca,
					     int *pathlen);
/* 1 if the certificate names itself as issuer and its own key verifies
 * its signature (a root, or a self-signed leaf). */
TLSKIT_API int tlskit_cert_self_signed(const tlskit_cert *cert);
TLSKIT_API const unsigned char *tlskit_cert_der(const tlskit_cert *cert,
						size_t *len);

/*
 * Lists of certificates: a PEM bundle, or a chain. Certificates keep their
 * order (a chain: leaf first). Getters return certificates owned by the
 * list, valid until tlskit_cert_list_free().
 */
typedef struct tlskit_cert_list tlskit_cert_list;

/*
 * Every CERTIFICATE block of PEM data, in order (other blocks such as keys
 * are skipped), or exactly one DER certificate. A block that does not parse
 * fails the whole call naming it ("certificate #2 is truncated or
 * malformed"); no certificate at all is an error too. Files are limited to
 * 1 MiB.
 */
TLSKIT_API tlskit_cert_list *tlskit_cert_list_parse(const void *data,
						    size_t len,
						    struct tlskit_error *err);
TLSKIT_API tlskit_cert_list *tlskit_cert_list_load_file(const char *path,
							struct tlskit_error *err);
TLSKIT_API void tlskit_cert_list_free(tlskit_cert_list *list);
TLSKIT_API size_t tlskit_cert_list_count(const tlskit_cert_list *list);
TLSKIT_API const tlskit_cert *tlskit_cert_list_get(const tlskit_cert_list *list,
						   size_t i);

/*
 * The certificates the peer sent, as sent (leaf first, then whatever
 * intermediates it chose to send). Available as soon as they arrived, so
 * also after a handshake that failed later (on verification, or because a
 * server demanded a client certificate). A new list: free it with
 * tlskit_cert_list_free(). NULL when the peer sent none (yet), with the
 * reason in err.
 */
TLSKIT_API tlskit_cert_list *tlskit_conn_peer_chain(const tlskit_conn *conn,
						    struct tlskit_error *err);

/*
 * Verifies chain (leaf first; the rest are untrusted intermediates, in any
 * order) against cfg's trust anchors (its CA file/dir, else the system
 * store) and verify depth, as a handshake would: for peer_role
 * TLSKIT_SERVER the leaf must be fit for a TLS server and valid for name
 * (a DNS name, or an IP address checked against IP SANs; NULL: no name
 * check), for TLSKIT_CLIENT fit for a TLS client. Returns 0 if it verifies;
 * -1 otherwise, with err in the words of handshakes
 * ("certificate verify failed at depth 0 (CN=x): certificate has expired
 * (notAfter ...)", "hostname mismatch: ...", category TLSKIT_ERR_VERIFY)
 * or another category when it could not be tried. *built (if built is not
 * NULL) receives the chain verification built, leaf to trust anchor, or as
 * far as it got when it failed; free it with tlskit_cert_list_free(). Uses
 * (and so freezes) cfg's client context.
 */
TLSKIT_API int tlskit_cert_list_verify(const tlskit_cert_list *chain,
				       tlskit_config *cfg,
				       enum tlskit_role peer_role,
				       const char *name,
				       tlskit_cert_list **built,
				       struct tlskit_error *err);

/* ------------------------------------------------------------------ */
/* Certificate generation                                             */
/* ------------------------------------------------------------------ */

enum tlskit_cert_kind {
	TLSKIT_CERT_CA = 1,       /* root CA; with an issuer, an intermediate */
	TLSKIT_CERT_SERVER,       /* leaf, serverAuth, signed by an issuer */
	TLSKIT_CERT_CLIENT,       /* leaf, clientAuth, signed by an issuer */
	TLSKIT_CERT_SELF_SIGNED,  /* leaf, serverAuth+clientAuth, self-signed */
	TLSKIT_CERT_INTERMEDIATE, /* CA signed by an issuer (required) */
};

enum tlskit_key_type {
	TLSKIT_KEY_EC_P256 = 0, /* default */
	TLSKIT_KEY_EC_P384,
	TLSKIT_KEY_ED25519,
	TLSKIT_KEY_RSA2048,
	TLSKIT_KEY_RSA3072,
	TLSKIT_KEY_RSA4096,
};

/*
 * Profiles: CAs get basicConstraints critical CA:TRUE (a root without a
 * path length limit unless pathlen_set, an intermediate pathlen 0 unless
 * pathlen_set), keyUsage keyCertSign, cRLSign, digitalSignature and no
 * extendedKeyUsage (one intermediate serves servers and clients); leaves get
 * critical CA:FALSE, keyUsage digitalSignature (+ keyEncipherment for RSA
 * server keys) and extendedKeyUsage serverAuth, clientAuth or both
 * (self-signed). Every certificate has subject and authority key
 * identifiers.
 */
struct tlskit_certgen {
	enum tlskit_cert_kind kind;
	enum tlskit_key_type key_type;
	const char *common_name;  /* NULL: the first SAN's value; CAs without
				   * SANs: "tlskit development CA" */
	/* "localhost", "127.0.0.1", "::1" (bare addresses are IP SANs, other
	 * bare names DNS), "DNS:x", "IP:x", "email:x", "URI:scheme:x". SERVER
	 * and SELF_SIGNED without SANs get their CN as one. */
	const char *const *sans;
	size_t san_count;
	time_t not_before;        /* 0: now (minus 5 minutes of clock skew) */
	time_t not_after;         /* 0: not_before + days */
	int days;                 /* 0: 825 for leaves, 3650 for CAs */
	/* PEM; required for SERVER, CLIENT and INTERMEDIATE. The first
	 * certificate is the issuer; further ones (its own intermediates) go
	 * into chain_file. */
	const char *issuer_cert_file;
	const char *issuer_key_file;  /* PEM; must match the issuer cert */
	/* Fields below were added later; zero keeps the behaviour above. */
	/* More subject fields, before the CN: "/O=Example/OU=Ops" ("\/" is a
	 * slash in a value). A CN here is the CN unless common_name is set. */
	const char *subject;
	/* Certify this PEM private key instead of generating one (renewal);
	 * key_type is then ignored. It is written to key_path again. */
	const char *key_file;
	/* Encrypts the written key (PKCS#8, AES-256-CBC) and decrypts an
	 * encrypted key_file. Without it, an encrypted key_file is an error. */
	const char *passphrase;
	const char *issuer_passphrase; /* decrypts issuer_key_file */
	int pathlen_set;          /* CAs: limit the path length to pathlen */
	int pathlen;
	/* If set and the issuer is not self-signed (an intermediate): also
	 * write the new certificate followed by the issuer file's non-root
	 * certificates here, ready to serve as a chain. */
	const char *chain_file;
};

/*
 * Generates a key and a certificate as params say and writes them to
 * cert_path (PEM) and key_path (PEM PKCS#8, mode 0600; encrypted with a
 * passphrase). Refuses to overwrite an existing file unless overwrite is
 * set; nothing is written unless all were generated. The serial is 128
 * random bits; the signature digest follows the signing key: SHA-256 (P-256,
 * RSA), SHA-384 (P-384), none (Ed25519). Explicit dates may lie in the past
 * (expired test certificates) and are not forced inside the issuer's.
 * Invalid SANs fail with a message naming the entry.
 * Returns 0, or 1 when chain_file was written too; -1 on failure.
 */
TLSKIT_API int tlskit_certgen_write(const struct tlskit_certgen *params,
				    const char *cert_path, const char *key_path,
				    int overwrite, struct tlskit_error *err);

/* ------------------------------------------------------------------ */
/* Certificate requests, signing, revocation                          */
/* ------------------------------------------------------------------ */

/*
 * A key (generated, or params->key_file) and a certificate signing request
 * for it: subject from common_name/subject/sans as for certificates, SANs
 * as a requested extension. Uses key_type, common_name, subject, sans,
 * key_file and passphrase of params; the rest is ignored. Files as
 * tlskit_certgen_write: csr_path PEM, key_path mode 0600.
 */
TLSKIT_API int tlskit_csr_write(const struct tlskit_certgen *params,
				const char *csr_path, const char *key_path,
				int overwrite, struct tlskit_error *err);

/*
 * Signs the request in csr_path (PEM or DER; its signature is checked) with
 * the issuer of params into cert_path, with the profile of params->kind
 * (SERVER, CLIENT or INTERMEDIATE). The subject comes from the request
 * unless params->common_name or params->subject is set; the SANs come from
 * the request unless params->sans is set. No other requested extension is
 * copied. Dates, pathlen and chain_file as tlskit_certgen_write; key_type,
 * key_file and passphrase are ignored. Returns 0, 1 (chain written) or -1.
 */
TLSKIT_API int tlskit_csr_sign(const struct tlskit_certgen *params,
			       const char *csr_path, const char *cert_path,
			       int overwrite, struct tlskit_error *err);

struct tlskit_crlgen {
	const char *issuer_cert_file; /* the CA (PEM; first certificate) */
	const char *issuer_key_file;
	const char *issuer_passphrase; /* decrypts issuer_key_file */
	/* Each a certificate file (PEM or DER) issued by the CA, or a serial
	 * in hex ("0x" and ':' separators allowed). A name is a file when one
	 * exists at that path. */
	const char *const *revoke;
	size_t revoke_count;
	time_t this_update;           /* 0: now */
	int days;                     /* nextUpdate: this_update + days (0: 30) */
};

/*
 * Writes a signed CRL (v2, PEM, with authority key identifier and a CRL
 * number) listing the revoked serials, revoked at this_update. May list
 * none. Refuses to overwrite crl_path unless overwrite is set.
 */
TLSKIT_API int tlskit_crl_write(const struct tlskit_crlgen *params,
				const char *crl_path, int overwrite,
				struct tlskit_error *err);

/* ------------------------------------------------------------------ */
/* Chain verification                                                 */
/* ------------------------------------------------------------------ */

enum tlskit_purpose {
	TLSKIT_PURPOSE_ANY = 0,
	TLSKIT_PURPOSE_SERVER, /* TLS server (extendedKeyUsage serverAuth) */
	TLSKIT_PURPOSE_CLIENT, /* TLS client (extendedKeyUsage clientAuth) */
};

struct tlskit_verify_params {
	/* The certificate (PEM or DER). Further PEM certificates in the same
	 * file are untrusted intermediates (a -chain.pem works as is). */
	const char *cert_file;
	const char *ca_file;        /* trust anchors (PEM); NULL: system store */
	const char *untrusted_file; /* more intermediates (PEM), or NULL */
	const char *hostname;       /* DNS name or IP address to check, or NULL */
	enum tlskit_purpose purpose;
	time_t at;                  /* 0: now */
};

/*
 * Builds and verifies the chain as a TLS peer would. 0 when it verifies;
 * else -1 with category TLSKIT_ERR_VERIFY and the reason in the words of
 * handshakes ("certificate verify failed at depth 0 (CN=x): certificate has
 * expired (notAfter ...)", "hostname mismatch: certificate is valid for
 * localhost, 127.0.0.1; not example.test"), or TLSKIT_ERR_CONFIG for a file
 * that cannot be read or holds no certificate.
 */
TLSKIT_API int tlskit_chain_verify(const struct tlskit_verify_params *params,
				   struct tlskit_error *err);

/* ------------------------------------------------------------------ */
/* Security policy: client authorization, pinning, verification hook  */
/* ------------------------------------------------------------------ */

/*
 * Servers: which clients may connect, checked during the handshake after the
 * client's chain verified. Rules are repeatable; any one match admits. Any
 * rule makes the server require a client certificate (as
 * TLSKIT_VERIFY_CLIENT_REQUIRE, whatever tlskit_config_set_verify_client
 * says). A refused client gets a fatal alert (bad_certificate: OpenSSL 3.0
 * cannot send access_denied from verification) and no application byte of
 * it is ever read; the server's connection error (category
 * TLSKIT_ERR_VERIFY) names the rules and what the certificate holds:
 * "client certificate not authorized: CN=mallory, DNS:none, URI:none match
 * none of --allow-cn alice, --allow-san-uri spiffe://x/z".
 */
enum tlskit_allow_kind {
	TLSKIT_ALLOW_CN = 1,      /* a subject commonName, exactly */
	TLSKIT_ALLOW_SAN_DNS,     /* a DNS SAN, ASCII case-insensitively */
	TLSKIT_ALLOW_SAN_URI,     /* a URI SAN exactly (SPIFFE IDs) */
	TLSKIT_ALLOW_OU,          /* a subject organizationalUnitName */
	TLSKIT_ALLOW_FINGERPRINT, /* "sha256:HEX" of the certificate's DER
				   * (colons allowed, any case) */
};
TLSKIT_API int tlskit_config_add_allow(tlskit_config *cfg,
				       enum tlskit_allow_kind kind,
				       const char *value);

/*
 * Clients: pins on the server certificate's public key, "sha256//BASE64"
 * (tlskit_cert_pin_sha256(), `tlskit cert show`, curl --pinnedpubkey).
 * Repeatable; the leaf's key must match one of them. By default in addition
 * to the usual chain and hostname verification. A mismatch fails the
 * handshake (TLSKIT_ERR_VERIFY) naming the pins expected and the one seen.
 */
TLSKIT_API int tlskit_config_add_pin(tlskit_config *cfg, const char *pin);
/*
 * Clients: trust the pins alone: the chain, its dates and the hostname are
 * NOT checked (a self-signed server whose key you know). Needs at least one
 * pin when the config is built.
 */
TLSKIT_API void tlskit_config_insecure_pin_only(tlskit_config *cfg);

/* What a verification hook sees. Everything is valid during the call only. */
struct tlskit_verify_info {
	enum tlskit_role peer_role;    /* TLSKIT_SERVER: we are the client */
	const tlskit_cert_list *chain; /* as the peer sent it, leaf first */
	const char *servername;        /* clients: the name checked, or NULL */
	int library_ok;                /* 1: chain, name, pins, allow rules ok */
	const char *library_reason;    /* "ok", or why the library refused */
};

enum tlskit_verify_decision {
	TLSKIT_VERIFY_REJECT = 0,
	TLSKIT_VERIFY_ACCEPT = 1,
};

/*
 * A verification hook, run during the handshake whenever the peer sends a
 * certificate, after the library's own checks. Return TLSKIT_VERIFY_REJECT
 * to fail the handshake: the message written to msg (msg_len bytes, NUL
 * terminated; may be left empty) becomes the connection's error
 * ("verification hook rejected the certificate: <msg>", TLSKIT_ERR_VERIFY).
 * TLSKIT_VERIFY_ACCEPT keeps the library's verdict: a chain the library
 * refused stays refused unless tlskit_config_insecure_verify_hook_override()
 * was called. Runs on the thread doing the handshake; must not block long.
 */
typedef enum tlskit_verify_decision (*tlskit_verify_hook)(
	void *arg, const struct tlskit_verify_info *info, char *msg,
	size_t msg_len);
TLSKIT_API int tlskit_config_set_verify_hook(tlskit_config *cfg,
					     tlskit_verify_hook hook,
					     void *arg);
/* Lets the hook accept a chain the library refused (untrusted, expired,
 * wrong name...): the hook alone then decides. */
TLSKIT_API void tlskit_config_insecure_verify_hook_override(tlskit_config *cfg);

/* ------------------------------------------------------------------ */
/* Revocation: CRLs, OCSP stapling                                    */
/* ------------------------------------------------------------------ */

/*
 * Certificate revocation lists (PEM, possibly several per file, or one DER),
 * repeatable, for both roles. Read when set: a missing or bad file fails
 * with TLSKIT_ERR_CONFIG naming it. With any CRL the check is fail-closed:
 * a peer certificate that is revoked ("certificate verify failed at depth 0
 * (CN=x): certificate revoked (serial 01AB...)"), whose issuer has no CRL
 * among those given, or whose issuer's CRL has expired fails verification
 * (TLSKIT_ERR_VERIFY).
 */
TLSKIT_API int tlskit_config_add_crl_file(tlskit_config *cfg, const char *path);

enum tlskit_crl_check {
	TLSKIT_CRL_CHECK_LEAF = 0, /* default: the peer's own certificate */
	TLSKIT_CRL_CHECK_CHAIN,    /* every certificate up to the trust anchor */
};
/* Which certificates the CRLs must cover; only effective with a CRL. */
TLSKIT_API int tlskit_config_set_crl_check(tlskit_config *cfg,
					   enum tlskit_crl_check check);
/* "leaf", "chain" -> 0; -1 for anything else. */
TLSKIT_API int tlskit_crl_check_parse(const char *text,
				      enum tlskit_crl_check *out);

/*
 * Servers: staple this OCSP response (DER, as `openssl ocsp -respout`
 * writes it) for clients that ask. Read and checked to be a successful
 * response when set (TLSKIT_ERR_CONFIG naming the file otherwise).
 */
TLSKIT_API int tlskit_config_set_ocsp_staple_file(tlskit_config *cfg,
						  const char *path);

enum tlskit_ocsp_mode {
	TLSKIT_OCSP_OFF = 0,  /* default: no status request */
	TLSKIT_OCSP_CHECK,    /* ask; a stapled response must verify (signed
			       * by the CA or its responder, about the leaf,
			       * current) and not say revoked */
	TLSKIT_OCSP_REQUIRE,  /* as CHECK, and a "good" response is required */
};
/* Clients: request and check a stapled OCSP response. A failure is a
 * TLSKIT_ERR_VERIFY handshake error saying why. */
TLSKIT_API int tlskit_config_set_ocsp(tlskit_config *cfg,
				      enum tlskit_ocsp_mode mode);
/* Clients with OCSP on, after the handshake: "good (this update ..., next
 * update ...)", "revoked (...)", "unknown (...)", "none (the server stapled
 * no response)"; NULL when OCSP was not asked for. */
TLSKIT_API const char *tlskit_conn_ocsp_status(const tlskit_conn *conn);

/* ------------------------------------------------------------------ */
/* Hardened profiles                                                  */
/* ------------------------------------------------------------------ */

/*
 * Mozilla's server-side TLS configurations (v5.7): protocol range, TLS 1.2
 * ciphers, TLS 1.3 ciphersuites and groups in one call (later setters still
 * override single settings). INTERMEDIATE is the default; MODERN is TLS 1.3
 * only; OLD allows TLS 1.0 and 1.1 and Mozilla's old cipher list at OpenSSL
 * security level 0 (weak: warn whoever chose it).
 */
enum tlskit_profile {
	TLSKIT_PROFILE_INTERMEDIATE = 0,
	TLSKIT_PROFILE_MODERN,
	TLSKIT_PROFILE_OLD,
};
TLSKIT_API int tlskit_config_set_profile(tlskit_config *cfg,
					 enum tlskit_profile profile);
/* "modern", "intermediate", "old" -> 0; -1 for anything else. */
TLSKIT_API int tlskit_profile_parse(const char *name,
				    enum tlskit_profile *out);
TLSKIT_API const char *tlskit_profile_name(enum tlskit_profile profile);

/* ------------------------------------------------------------------ */
/* Key logging (debugging only)                                       */
/* ------------------------------------------------------------------ */

/*
 * Appends every connection's secrets to path in the NSS key log format
 * (what Wireshark and SSLKEYLOGFILE use); the file is created with mode
 * 0600. Anyone who reads it can decrypt the traffic: debugging only. The
 * library never looks at SSLKEYLOGFILE by itself.
 */
TLSKIT_API int tlskit_config_insecure_keylog_file(tlskit_config *cfg,
						  const char *path);

/* ------------------------------------------------------------------ */
/* Session tickets (servers)                                          */
/* ------------------------------------------------------------------ */

/*
 * Servers issue TLS 1.2 session tickets and TLS 1.3 tickets by default,
 * encrypted with keys the library makes and rotates (a new key every 12
 * hours; the previous one still decrypts for another interval). Every
 * connection of one config uses the same keys, whichever thread runs it.
 * enabled 0 turns tickets and the session cache off: no resumption.
 */
TLSKIT_API int tlskit_config_set_tickets(tlskit_config *cfg, int enabled);
/* Seconds between rotations of the library's own keys (> 0). */
TLSKIT_API int tlskit_config_set_ticket_rotation(tlskit_config *cfg,
						 long seconds);
/*
 * Shared ticket keys from a file in nginx's format: 80 random bytes (key
 * name 16, HMAC-SHA256 key 32, AES-256-CBC key 32) or 48 (name 16,
 * AES-128 key 16, HMAC key 16); `openssl rand 80 > file` makes one.
 * Repeatable: the first file's key encrypts new tickets, every file's key
 * decrypts, so servers given the same files resume each other's sessions.
 * Replaces the library's own rotating keys. A file of another size is a
 * TLSKIT_ERR_CONFIG error naming it.
 */
TLSKIT_API int tlskit_config_add_ticket_key_file(tlskit_config *cfg,
						 const char *path);
/*
 * For a reload: cfg (without key files; built or not) takes over the
 * library's own ticket keys of from (a server config in use), so tickets
 * issued before the reload still resume after it. Call it before cfg
 * serves connections. Nothing to take (from
 * uses key files, has tickets off, or issued none yet) is not an error.
 */
TLSKIT_API int tlskit_config_inherit_tickets(tlskit_config *cfg,
					     tlskit_config *from);

/* ------------------------------------------------------------------ */
/* Several certificates by SNI (servers)                              */
/* ------------------------------------------------------------------ */

/*
 * Another certificate (PEM chain, leaf first) and its unencrypted key for
 * the server, next to the one of tlskit_config_set_cert_file, which stays
 * the default. A client's server name (SNI) selects every certificate
 * whose own names (DNS SANs, else the CN; wildcards included) hold it, so
 * an RSA and an ECDSA certificate for the same names are both offered and
 * OpenSSL serves the one the client's signature algorithms accept.
 * Clients without SNI, or asking for a name no certificate holds, get the
 * default certificate (and any other holding all of its DNS names).
 */
TLSKIT_API int tlskit_config_add_cert_key_file(tlskit_config *cfg,
					       const char *cert_path,
					       const char *key_path);
/* strict: refuse such clients instead, with an unrecognized_name alert. */
TLSKIT_API int tlskit_config_set_sni_strict(tlskit_config *cfg, int strict);

#ifdef __cplusplus
}
#endif

#endif /* TLSKIT_H */
