/*
 * error.c - the per-object last error, and small helpers every module uses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/opensslv.h>

#include "internal.h"

void error_clear(struct tlskit_error *err)
{
	if (!err)
		return;
	err->category = TLSKIT_ERR_NONE;
	err->message[0] = '\0';
}

static void error_vset(struct tlskit_error *err, enum tlskit_error_category cat,
		       const char *fmt, va_list ap)
{
	err->category = cat;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

static void error_append(struct tlskit_error *err, const char *suffix)
{
	size_t used = strlen(err->message);

	if (used < sizeof(err->message) - 1)
		snprintf(err->message + used, sizeof(err->message) - used,
			 ": %s", suffix);
}

int error_set(struct tlskit_error *err, enum tlskit_error_category cat,
	      const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	error_vset(err, cat, fmt, ap);
	va_end(ap);
	return -1;
}

int error_set_ssl(struct tlskit_error *err, enum tlskit_error_category cat,
		  const char *fmt, ...)
{
	unsigned long code = ERR_peek_error();
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		error_vset(err, cat, fmt, ap);
		va_end(ap);
		if (code && ERR_reason_error_string(code))
			error_append(err, ERR_reason_error_string(code));
	}
	ERR_clear_error();
	return -1;
}

int error_set_errno(struct tlskit_error *err, enum tlskit_error_category cat,
		    const char *fmt, ...)
{
	int saved = errno;
	char reason[128];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	error_vset(err, cat, fmt, ap);
	va_end(ap);
	error_append(err, strerror_r(saved, reason, sizeof(reason)));
	errno = saved;
	return -1;
}

const char *tlskit_error_category_name(enum tlskit_error_category c)
{
	switch (c) {
	case TLSKIT_ERR_NONE:
		return "none";
	case TLSKIT_ERR_SYSTEM:
		return "system";
	case TLSKIT_ERR_USAGE:
		return "usage";
	case TLSKIT_ERR_CONFIG:
		return "config";
	case TLSKIT_ERR_CONNECT:
		return "connect";
	case TLSKIT_ERR_PROTOCOL:
		return "protocol";
	case TLSKIT_ERR_VERIFY:
		return "verify";
	case TLSKIT_ERR_IO:
		return "io";
	case TLSKIT_ERR_CLOSED:
		return "closed";
	}
	return "unknown";
}

const char *tlskit_version(void)
{
	return "tlskit " TLSKIT_VERSION_STRING;
}

const char *tlskit_openssl_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

void format_time_utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (len == 0)
		return;
	if (!gmtime_r(&t, &tm) ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "(time %lld)", (long long)t);
}

time_t asn1_time_to_time_t(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return timegm(&tm);
}
