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

#endif
