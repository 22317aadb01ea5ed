/*
 * json.c - the JSON writer of json.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

void json_init(struct json *j, enum json_style style)
{
	memset(j, 0, sizeof(*j));
	j->style = style;
}

void json_free(struct json *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

static int reserve(struct json *j, size_t more)
{
	size_t cap;
	char *buf;

	if (j->failed)
		return -1;
	if (j->len + more + 1 <= j->cap)
		return 0;
	cap = j->cap ? j->cap : 256;
	while (cap < j->len + more + 1) {
		if (cap > SIZE_MAX / 2) {
			j->failed = 1;
			return -1;
		}
		cap *= 2;
	}
	buf = realloc(j->buf, cap);
	if (!buf) {
		j->failed = 1;
		return -1;
	}
	j->buf = buf;
	j->cap = cap;
	return 0;
}

static void put(struct json *j, const char *s, size_t n)
{
	if (reserve(j, n) < 0)
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void puts_(struct json *j, const char *s)
{
	put(j, s, strlen(s));
}

static void newline_indent(struct json *j)
{
	if (j->style != JSON_PRETTY)
		return;
	put(j, "\n", 1);
	for (int i = 0; i < j->depth; i++)
		put(j, "  ", 2);
}

/* Separator and indentation before a value or a key; a value right after
 * its key gets neither. Misplaced values mark the writer failed. */
static void before_item(struct json *j, int is_key)
{
	if (j->failed)
		return;
	if (j->key_pending) {
		if (is_key)
			j->failed = 1;
		j->key_pending = 0;
		return;
	}
	if (j->depth == 0) {
		/* one top-level value per document */
		if (is_key || j->len > 0)
			j->failed = 1;
		return;
	}
	if ((j->kind[j->depth] == '{') != is_key) {
		j->failed = 1;
		return;
	}
	if (j->count[j->depth]++ > 0)
		put(j, ",", 1);
	newline_indent(j);
}

static void begin(struct json *j, char kind)
{
	before_item(j, 0);
	if (j->failed)
		return;
	if (j->depth >= JSON_MAX_DEPTH) {
		j->failed = 1;
		return;
	}
	put(j, kind == '{' ? "{" : "[", 1);
	j->depth++;
	j->kind[j->depth] = kind;
	j->count[j->depth] = 0;
}

static void end(struct json *j, char kind)
{
	int had_members;

	if (j->failed)
		return;
	if (j->depth == 0 || j->kind[j->depth] != kind || j->key_pending) {
		j->failed = 1;
		return;
	}
	had_members = j->count[j->depth] > 0;
	j->depth--;
	if (had_members)
		newline_indent(j);
	put(j, kind == '{' ? "}" : "]", 1);
}

void json_begin_object(struct json *j)
{
	begin(j, '{');
}

void json_end_object(struct json *j)
{
	end(j, '{');
}

void json_begin_array(struct json *j)
{
	begin(j, '[');
}

void json_end_array(struct json *j)
{
	end(j, '[');
}

/*
 * The length of the valid UTF-8 sequence at s (at most n bytes), or 0:
 * overlong forms, surrogates and code points past U+10FFFF are invalid
 * (RFC 3629).
 */
static size_t utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static void put_escape(struct json *j, uint32_t cp)
{
	char esc[16];

	switch (cp) {
	case '"': puts_(j, "\\\""); return;
	case '\\': puts_(j, "\\\\"); return;
	case '\b': puts_(j, "\\b"); return;
	case '\f': puts_(j, "\\f"); return;
	case '\n': puts_(j, "\\n"); return;
	case '\r': puts_(j, "\\r"); return;
	case '\t': puts_(j, "\\t"); return;
	}
	snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)(cp & 0xffff));
	puts_(j, esc);
}

/* Controls of every kind are escaped: the output goes to terminals and
 * logs, and C1 controls are terminal escapes too. U+2028/2029 are escaped
 * so the text is also valid JavaScript. */
static int needs_escape(uint32_t cp)
{
	return cp < 0x20 || cp == '"' || cp == '\\' ||
	       (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029;
}

void json_string_len(struct json *j, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (!s) {
		json_null(j);
		return;
	}
	before_item(j, 0);
	put(j, "\"", 1);
	while (i < n && !j->failed) {
		uint32_t cp = 0;
		size_t len = utf8_sequence(p + i, n - i, &cp);

		if (len == 0) {
			puts_(j, "\\ufffd");
			i++;
		} else if (needs_escape(cp)) {
			put_escape(j, cp);
			i += len;
		} else {
			put(j, (const char *)p + i, len);
			i += len;
		}
	}
	put(j, "\"", 1);
}

void json_string(struct json *j, const char *s)
{
	json_string_len(j, s, s ? strlen(s) : 0);
}

void json_key(struct json *j, const char *key)
{
	before_item(j, 1);
	if (j->failed)
		return;
	/* written as a string value would be, without its separator logic */
	j->key_pending = 1;
	json_string(j, key ? key : "");
	put(j, j->style == JSON_PRETTY ? ": " : ":", j->style == JSON_PRETTY ? 2 : 1);
	j->key_pending = 1;
}

void json_int(struct json *j, long long v)
{
	char num[32];

	before_item(j, 0);
	snprintf(num, sizeof(num), "%lld", v);
	puts_(j, num);
}

void json_double(struct json *j, double v)
{
	char num[64];

	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	before_item(j, 0);
	/* the shortest of these that reads back as the same number */
	snprintf(num, sizeof(num), "%.15g", v);
	if (strtod(num, NULL) != v)
		snprintf(num, sizeof(num), "%.17g", v);
	puts_(j, num);
}

void json_bool(struct json *j, int v)
{
	before_item(j, 0);
	puts_(j, v ? "true" : "false");
}

void json_null(struct json *j)
{
	before_item(j, 0);
	puts_(j, "null");
}

void json_kv_string(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

void json_kv_int(struct json *j, const char *key, long long v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kv_double(struct json *j, const char *key, double v)
{
	json_key(j, key);
	json_double(j, v);
}

void json_kv_bool(struct json *j, const char *key, int v)
{
	json_key(j, key);
	json_bool(j, v);
}

void json_kv_null(struct json *j, const char *key)
{
	json_key(j, key);
	json_null(j);
}

int json_finish(struct json *j)
{
	if (j->failed || j->depth != 0 || j->key_pending || j->len == 0) {
		j->failed = 1;
		return -1;
	}
	put(j, "\n", 1);
	return j->failed ? -1 : 0;
}

const char *json_text(const struct json *j)
{
	return j->buf && !j->failed ? j->buf : "";
}

size_t json_length(const struct json *j)
{
	return j->buf && !j->failed ? j->len : 0;
}
