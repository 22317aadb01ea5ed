/*
 * test_json.c - the CLI's JSON writer (src/cli/json.c): structure, string
 * escaping of hostile input, and misuse reported once by json_finish().
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/json.h"

static const char *compact(void (*build)(struct json *), int *rc)
{
	static char out[4096];
	struct json j;

	json_init(&j, JSON_COMPACT);
	build(&j);
	*rc = json_finish(&j);
	snprintf(out, sizeof(out), "%s", json_text(&j));
	json_free(&j);
	return out;
}

static void build_document(struct json *j)
{
	json_begin_object(j);
	json_kv_string(j, "schema", "tlskit/1");
	json_kv_int(j, "count", -3);
	json_kv_bool(j, "ok", 1);
	json_kv_null(j, "reason");
	json_key(j, "list");
	json_begin_array(j);
	json_int(j, 1);
	json_double(j, 2.5);
	json_double(j, NAN);
	json_string(j, NULL);
	json_begin_object(j);
	json_end_object(j);
	json_end_array(j);
	json_end_object(j);
}

static void test_document(void **state)
{
	int rc;
	const char *out = compact(build_document, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(out, "{\"schema\":\"tlskit/1\",\"count\":-3,"
				 "\"ok\":true,\"reason\":null,"
				 "\"list\":[1,2.5,null,null,{}]}\n");
}

static void build_hostile_strings(struct json *j)
{
	json_begin_array(j);
	json_string(j, "quote\" backslash\\ newline\n tab\t");
	json_string(j, "\x01\x1f\x7f");
	json_string(j, "\xc2\x9b" "31m");      /* C1 CSI: escaped */
	json_string(j, "caf\xc3\xa9");          /* valid UTF-8: kept */
	json_string(j, "bad\xff\xc3");          /* invalid bytes: \ufffd each */
	json_string_len(j, "nul\0byte", 8);
	json_end_array(j);
}

static void test_string_escaping(void **state)
{
	int rc;
	const char *out = compact(build_hostile_strings, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"quote\\\" backslash\\\\ newline\\n tab\\t\""));
	assert_non_null(strstr(out, "\"\\u0001\\u001f\\u007f\""));
	assert_non_null(strstr(out, "\"\\u009b31m\""));
	assert_non_null(strstr(out, "\"caf\xc3\xa9\""));
	assert_non_null(strstr(out, "\"bad\\ufffd\\ufffd\""));
	assert_non_null(strstr(out, "\"nul\\u0000byte\""));
	for (const char *p = out; *p; p++)
		assert_true((unsigned char)*p >= 0x20 || *p == '\n');
}

static void build_value_without_key(struct json *j)
{
	json_begin_object(j);
	json_int(j, 1);
	json_end_object(j);
}

static void build_unclosed(struct json *j)
{
	json_begin_array(j);
	json_begin_object(j);
	json_end_object(j);
}

static void build_too_deep(struct json *j)
{
	for (int i = 0; i < JSON_MAX_DEPTH + 2; i++)
		json_begin_array(j);
	for (int i = 0; i < JSON_MAX_DEPTH + 2; i++)
		json_end_array(j);
}

static void build_mismatched_end(struct json *j)
{
	json_begin_array(j);
	json_end_object(j);
}

static void test_misuse_fails_once(void **state)
{
	void (*const builds[])(struct json *) = {
		build_value_without_key, build_unclosed, build_too_deep,
		build_mismatched_end,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		int rc;
		const char *out = compact(builds[i], &rc);

		assert_int_equal(rc, -1);
		assert_string_equal(out, "");
	}
}

static void test_pretty_is_indented(void **state)
{
	struct json j;

	(void)state;
	json_init(&j, JSON_PRETTY);
	json_begin_object(&j);
	json_kv_string(&j, "a", "b");
	json_end_object(&j);
	assert_int_equal(json_finish(&j), 0);
	assert_string_equal(json_text(&j), "{\n  \"a\": \"b\"\n}\n");
	assert_int_equal(json_length(&j), strlen(json_text(&j)));
	json_free(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_string_escaping),
		cmocka_unit_test(test_misuse_fails_once),
		cmocka_unit_test(test_pretty_is_indented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
