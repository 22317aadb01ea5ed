/*
 * json.h - a small JSON writer for every subcommand's --json output
 * (schema: docs/json-schema.md). The engine's log lines have their own
 * allocation-free writer (src/engine/log.c): one line per connection must
 * not cost a malloc.
 *
 * The document grows in a buffer the writer owns, so it can go out in one
 * write (log lines from several workers must not interleave). Calls never
 * fail one by one: misuse (a value where a key is due, too deep nesting)
 * or running out of memory marks the writer failed, and json_finish()
 * reports it once.
 *
 *   struct json j;
 *   json_init(&j, JSON_PRETTY);
 *   json_begin_object(&j);
 *   json_kv_string(&j, "schema", "tlskit/1");
 *   json_end_object(&j);
 *   if (json_finish(&j) == 0) fputs(json_text(&j), stdout);
 *   json_free(&j);
 */
#ifndef TLSKIT_CLI_JSON_H
#define TLSKIT_CLI_JSON_H

#include <stddef.h>

#define JSON_MAX_DEPTH 32

enum json_style {
	JSON_COMPACT = 0, /* one line: {"a":1,"b":[true,null]} */
	JSON_PRETTY = 1,  /* indented by two spaces, one member a line */
};

struct json {
	char *buf;
	size_t len, cap;
	enum json_style style;
	int depth;
	int failed;
	int key_pending;                  /* a key was written, value due */
	int count[JSON_MAX_DEPTH + 1];    /* members written at each level */
	char kind[JSON_MAX_DEPTH + 1];    /* '{' or '[' at each level */
};

void json_init(struct json *j, enum json_style style);
void json_free(struct json *j);

void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
/* The next member's name (objects only). */
void json_key(struct json *j, const char *key);

/*
 * Strings are UTF-8: quotes, backslashes and control characters (C0, DEL
 * and C1) are escaped, and each byte that is not part of valid UTF-8
 * becomes U+FFFD, so any input yields valid JSON. NULL writes null.
 */
void json_string(struct json *j, const char *s);
void json_string_len(struct json *j, const char *s, size_t len);
void json_int(struct json *j, long long v);
/* Finite numbers only: NaN and infinities write null. */
void json_double(struct json *j, double v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);

/* key + value in one call. */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_int(struct json *j, const char *key, long long v);
void json_kv_double(struct json *j, const char *key, double v);
void json_kv_bool(struct json *j, const char *key, int v);
void json_kv_null(struct json *j, const char *key);

/* Checks the document is complete (every object and array closed) and adds
 * a final newline: 0, or -1 if anything went wrong on the way. */
int json_finish(struct json *j);
/* The document so far, NUL-terminated ("" if nothing or failed). */
const char *json_text(const struct json *j);
size_t json_length(const struct json *j);

#endif
