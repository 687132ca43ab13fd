/*
 * Compact JSON text of a jansson value (jdump.h).  The output is byte for
 * byte json_dumps(v, JSON_COMPACT)'s: members in the object's order, no
 * spaces, only '"', '\\' and the control characters escaped (the five with
 * a short form by it, the others as \u00XX in upper case), other UTF-8 as
 * it is.  Reals, which no reply holds, are left to jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jdump.h"

struct out {
	char *p;
	size_t len, cap;
	int failed;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 512;
		char *p;

		while (cap < o->len + n + 1)
			cap *= 2;
		p = realloc(o->p, cap);
		if (!p) {
			o->failed = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/*
 * The length of the UTF-8 sequence at s (at most n bytes), or 0 when it is
 * not one (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF), as jansson's own check reads it.
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t len;

	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

static void out_string(struct out *o, const char *str, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0, i = 0;

	out_put(o, "\"", 1);
	while (i < n) {
		unsigned char c = s[i];
		char esc[6] = {'\\', 'u', '0', '0', 0, 0};
		size_t elen = 2;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t k = utf8_seq(s + i, n - i);

			if (k == 0) {
				o->failed = 1;
				return;
			}
			i += k;
			continue;
		}
		out_put(o, str + run, i - run);
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xF];
			elen = 6;
		}
		out_put(o, esc, elen);
		run = ++i;
	}
	out_put(o, str + run, n - run);
	out_put(o, "\"", 1);
}

/* What jansson writes for a value this writer leaves to it (a real). */
static void out_by_jansson(struct out *o, json_t *v)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!t) {
		o->failed = 1;
		return;
	}
	out_put(o, t, strlen(t));
	free(t);
}

/* Replies nest a few levels deep; depth bounds the recursion all the same. */
// NOLINTNEXTLINE(misc-no-recursion)
static void out_value(struct out *o, json_t *v, int depth)
{
	char num[24];
	const char *key;
	json_t *item;
	size_t i;
	int first = 1;

	if (depth > JDUMP_DEPTH_MAX) {
		o->failed = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		out_put(o, "{", 1);
		json_object_foreach (v, key, item) {
			if (!first)
				out_put(o, ",", 1);
			first = 0;
			out_string(o, key, strlen(key));
			out_put(o, ":", 1);
			out_value(o, item, depth + 1);
		}
		out_put(o, "}", 1);
		break;
	case JSON_ARRAY:
		out_put(o, "[", 1);
		json_array_foreach (v, i, item) {
			if (i)
				out_put(o, ",", 1);
			out_value(o, item, depth + 1);
		}
		out_put(o, "]", 1);
		break;
	case JSON_STRING:
		out_string(o, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		out_put(o, num,
			(size_t)snprintf(num, sizeof(num),
					 "%" JSON_INTEGER_FORMAT,
					 json_integer_value(v)));
		break;
	case JSON_TRUE:
		out_put(o, "true", 4);
		break;
	case JSON_FALSE:
		out_put(o, "false", 5);
		break;
	case JSON_NULL:
		out_put(o, "null", 4);
		break;
	default:
		out_by_jansson(o, v);
	}
}

char *jdump_compact(json_t *v, size_t *len)
{
	struct out o = {0};

	if (!v)
		return NULL;
	out_value(&o, v, 0);
	if (o.failed) {
		free(o.p);
		return NULL;
	}
	o.p[o.len] = '\0';
	if (len)
		*len = o.len;
	return o.p;
}
