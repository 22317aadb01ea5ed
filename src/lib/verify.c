/*
 * verify.c - saying in words why a peer was not trusted, or what the alert
 * it sent us means.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "internal.h"

/* "CN=Other CA" (or the whole RFC 2253 name without a CN). */
static void issuer_short_name(X509 *x, char *buf, size_t len)
{
	const X509_NAME *name = X509_get_issuer_name(x);
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	BIO *bio;
	char *mem;
	long n;

	snprintf(buf, len, "?");
	if (i >= 0 &&
	    ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
					       X509_NAME_get_entry(name, i))) >= 0) {
		snprintf(buf, len, "CN=%s", (char *)utf8);
		OPENSSL_free(utf8);
		return;
	}
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(bio, &mem)) > 0)
		snprintf(buf, len, "%.*s", (int)n, mem);
	BIO_free(bio);
}

/* The serial in hex, as `openssl x509 -serial` prints it. */
static void serial_hex(X509 *x, char *buf, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	snprintf(buf, len, "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
}

static void describe_reason(int x509_err, X509 *cert, char *buf, size_t len)
{
	char when[64], issuer[256];

	switch (x509_err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		format_time_utc(asn1_time_to_time_t(X509_get0_notAfter(cert)),
				when, sizeof(when));
		snprintf(buf, len, "certificate has expired (notAfter %s)", when);
		return;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		format_time_utc(asn1_time_to_time_t(X509_get0_notBefore(cert)),
				when, sizeof(when));
		snprintf(buf, len, "certificate is not yet valid (notBefore %s)",
			 when);
		return;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		issuer_short_name(cert, issuer, sizeof(issuer));
		snprintf(buf, len, "%s: issuer '%s' is not trusted",
			 X509_verify_cert_error_string(x509_err), issuer);
		return;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		snprintf(buf, len, "self-signed certificate not trusted");
		return;
	case X509_V_ERR_CERT_REVOKED:
		serial_hex(cert, when, sizeof(when));
		snprintf(buf, len, "certificate revoked (serial %s)", when);
		return;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		issuer_short_name(cert, issuer, sizeof(issuer));
		snprintf(buf, len,
			 "no CRL from issuer '%s' among the CRLs given (revocation is checked fail-closed)",
			 issuer);
		return;
	case X509_V_ERR_CRL_HAS_EXPIRED:
		issuer_short_name(cert, issuer, sizeof(issuer));
		snprintf(buf, len,
			 "the CRL of issuer '%s' has expired (past its nextUpdate; get a fresh one)",
			 issuer);
		return;
	case X509_V_ERR_CRL_NOT_YET_VALID:
		issuer_short_name(cert, issuer, sizeof(issuer));
		snprintf(buf, len, "the CRL of issuer '%s' is not yet valid",
			 issuer);
		return;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		snprintf(buf, len,
			 "self-signed certificate in chain not trusted (root CA unknown)");
		return;
	}
	snprintf(buf, len, "%s", X509_verify_cert_error_string(x509_err));
}

void verify_describe(int x509_err, int depth, X509 *cert, const char *host,
		     char *buf, size_t len)
{
	char who[256], reason[384], names[256];

	if (x509_err == X509_V_ERR_HOSTNAME_MISMATCH ||
	    x509_err == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		if (cert)
			certinfo_names(cert, names, sizeof(names));
		else
			snprintf(names, sizeof(names), "other names");
		snprintf(buf, len,
			 "hostname mismatch: certificate is valid for %s; not %s",
			 names[0] ? names : "no names", host ? host : "(none)");
		return;
	}
	if (!cert) {
		verify_describe_result(x509_err, buf, len);
		return;
	}
	certinfo_short_name(cert, who, sizeof(who));
	describe_reason(x509_err, cert, reason, sizeof(reason));
	snprintf(buf, len, "certificate verify failed at depth %d (%s): %s",
		 depth, who, reason);
}

void verify_describe_result(long x509_err, char *buf, size_t len)
{
	snprintf(buf, len, "certificate verify failed: %s",
		 X509_verify_cert_error_string(x509_err));
}

/* RFC 8446 6.2 and RFC 5246 7.2 names, as people write them. */
int verify_is_ip_literal(const char *name)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, addr) == 1 ||
	       inet_pton(AF_INET6, name, addr) == 1;
}

int verify_param_set_name(X509_VERIFY_PARAM *param, const char *name)
{
	if (verify_is_ip_literal(name))
		return X509_VERIFY_PARAM_set1_ip_asc(param, name);
	X509_VERIFY_PARAM_set_hostflags(param,
					X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return X509_VERIFY_PARAM_set1_host(param, name, 0);
}

const char *alert_name(int alert)
{
	switch (alert) {
	case SSL_AD_CLOSE_NOTIFY:
		return "close notify";
	case SSL_AD_UNEXPECTED_MESSAGE:
		return "unexpected message";
	case SSL_AD_BAD_RECORD_MAC:
		return "bad record mac";
	case SSL_AD_RECORD_OVERFLOW:
		return "record overflow";
	case SSL_AD_DECOMPRESSION_FAILURE:
		return "decompression failure";
	case SSL_AD_HANDSHAKE_FAILURE:
		return "handshake failure";
	case SSL_AD_NO_CERTIFICATE:
		return "no certificate";
	case SSL_AD_BAD_CERTIFICATE:
		return "bad certificate";
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
		return "unsupported certificate";
	case SSL_AD_CERTIFICATE_REVOKED:
		return "certificate revoked";
	case SSL_AD_CERTIFICATE_EXPIRED:
		return "certificate expired";
	case SSL_AD_CERTIFICATE_UNKNOWN:
		return "certificate unknown";
	case SSL_AD_ILLEGAL_PARAMETER:
		return "illegal parameter";
	case SSL_AD_UNKNOWN_CA:
		return "unknown ca";
	case SSL_AD_ACCESS_DENIED:
		return "access denied";
	case SSL_AD_DECODE_ERROR:
		return "decode error";
	case SSL_AD_DECRYPT_ERROR:
		return "decrypt error";
	case SSL_AD_PROTOCOL_VERSION:
		return "protocol version";
	case SSL_AD_INSUFFICIENT_SECURITY:
		return "insufficient security";
	case SSL_AD_INTERNAL_ERROR:
		return "internal error";
	case SSL_AD_INAPPROPRIATE_FALLBACK:
		return "inappropriate fallback";
	case SSL_AD_USER_CANCELLED:
		return "user canceled";
	case SSL_AD_NO_RENEGOTIATION:
		return "no renegotiation";
	case SSL_AD_MISSING_EXTENSION:
		return "missing extension";
	case SSL_AD_UNSUPPORTED_EXTENSION:
		return "unsupported extension";
	case SSL_AD_UNRECOGNIZED_NAME:
		return "unrecognized name";
	case SSL_AD_BAD_CERTIFICATE_STATUS_RESPONSE:
		return "bad certificate status response";
	case SSL_AD_UNKNOWN_PSK_IDENTITY:
		return "unknown psk identity";
	case SSL_AD_CERTIFICATE_REQUIRED:
		return "certificate required";
	case SSL_AD_NO_APPLICATION_PROTOCOL:
		return "no application protocol";
	}
	return "unknown alert";
}

const char *alert_hint(int alert)
{
	switch (alert) {
	case SSL_AD_HANDSHAKE_FAILURE:
	case SSL_AD_INSUFFICIENT_SECURITY:
		return " (no shared cipher?)";
	case SSL_AD_UNKNOWN_CA:
		return " \u2014 it does not trust our certificate";
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_UNKNOWN:
		return " \u2014 it rejected our certificate";
	case SSL_AD_CERTIFICATE_EXPIRED:
		return " \u2014 it says our certificate has expired";
	case SSL_AD_CERTIFICATE_REVOKED:
		return " \u2014 it says our certificate is revoked";
	case SSL_AD_CERTIFICATE_REQUIRED:
		return " \u2014 it requires a client certificate";
	case SSL_AD_PROTOCOL_VERSION:
		return " (no TLS version in common)";
	case SSL_AD_NO_APPLICATION_PROTOCOL:
		return " (no ALPN protocol in common)";
	case SSL_AD_UNRECOGNIZED_NAME:
		return " (it does not serve this server name)";
	case SSL_AD_DECRYPT_ERROR:
		return " (signature or key exchange check failed)";
	}
	return "";
}
