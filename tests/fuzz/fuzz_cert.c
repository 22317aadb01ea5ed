/*
 * fuzz_cert - certificate input from anywhere (files, peers, `cert show`):
 * tlskit_cert_list_parse and tlskit_cert_parse on arbitrary bytes, every
 * getter on what parses, and chain verification against a fixed trust
 * store. Nothing may crash, leak or read out of bounds; parse failures
 * must come with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlskit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tlskit_config *verify_cfg;

/* Touches every getter, so each string is produced and read in full. */
static size_t inspect(const tlskit_cert *c)
{
	size_t sum = 0, n, der_len = 0;
	int ca = 0, pathlen = 0;

	sum += strlen(tlskit_cert_subject(c)) + strlen(tlskit_cert_issuer(c));
	n = tlskit_cert_san_count(c);
	for (size_t i = 0; i < n; i++)
		sum += strlen(tlskit_cert_san(c, i));
	sum += (size_t)(tlskit_cert_not_before(c) ^ tlskit_cert_not_after(c));
	sum += strlen(tlskit_cert_serial(c));
	sum += strlen(tlskit_cert_fingerprint_sha256(c));
	sum += strlen(tlskit_cert_fingerprint_sha1(c));
	sum += strlen(tlskit_cert_pin_sha256(c));
	sum += strlen(tlskit_cert_key_type(c)) + (size_t)tlskit_cert_key_bits(c);
	sum += strlen(tlskit_cert_signature_algorithm(c));
	n = tlskit_cert_key_usage_count(c);
	for (size_t i = 0; i < n; i++)
		sum += strlen(tlskit_cert_key_usage(c, i));
	n = tlskit_cert_ext_key_usage_count(c);
	for (size_t i = 0; i < n; i++)
		sum += strlen(tlskit_cert_ext_key_usage(c, i));
	sum += (size_t)tlskit_cert_basic_constraints(c, &ca, &pathlen);
	sum += (size_t)tlskit_cert_self_signed(c);
	if (tlskit_cert_der(c, &der_len))
		sum += der_len;
	return sum;
}

static void must_explain(const struct tlskit_error *err, const char *what)
{
	if (err->message[0] == '\0') {
		fprintf(stderr, "%s failed without a message\n", what);
		abort();
	}
}

static void verify(const tlskit_cert_list *list)
{
	struct tlskit_error err = { 0 };
	tlskit_cert_list *built = NULL;

	if (tlskit_cert_list_verify(list, verify_cfg, TLSKIT_SERVER,
				    "localhost", &built, &err) < 0)
		must_explain(&err, "tlskit_cert_list_verify");
	tlskit_cert_list_free(built);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlskit_error err = { 0 };
	tlskit_cert_list *list;
	tlskit_cert *one;
	volatile size_t sink = 0;

	if (!verify_cfg && !(verify_cfg = tlskit_config_new()))
		abort();
	list = tlskit_cert_list_parse(data, size, &err);
	if (list) {
		for (size_t i = 0; i < tlskit_cert_list_count(list); i++)
			sink += inspect(tlskit_cert_list_get(list, i));
		verify(list);
		tlskit_cert_list_free(list);
	} else {
		must_explain(&err, "tlskit_cert_list_parse");
	}
	memset(&err, 0, sizeof(err));
	one = tlskit_cert_parse(data, size, &err);
	if (one) {
		sink += inspect(one);
		tlskit_cert_free(one);
	} else {
		must_explain(&err, "tlskit_cert_parse");
	}
	(void)sink;
	return 0;
}
