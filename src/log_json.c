/*
 * JSON log lines (log_format = json): one compact object per line built
 * with jansson: time, level, event, request_id, key, number (masked), then
 * the event's fields in the order given.  jansson escapes every value.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log_line.h"

/*
 * A JSON string of n bytes of s.  jansson refuses bytes that are not
 * UTF-8: such a value is kept with each non-ASCII byte as '?'.
 */
static json_t *value_string(const char *s, size_t n)
{
	char copy[LOG_VALUE_MAX];
	json_t *v;

	if (n > LOG_VALUE_MAX)
		n = LOG_VALUE_MAX;
	v = json_stringn(s, n);
	if (v)
		return v;
	for (size_t i = 0; i < n; i++) {
		copy[i] = s[i];
		if ((unsigned char)s[i] >= 0x80)
			copy[i] = '?';
	}
	return json_stringn(copy, n);
}

static json_t *field_value(const struct log_line *l, size_t i)
{
	const struct log_field *f = &l->fields[i];

	switch (f->type) {
	case LOG_FIELD_INT:
		return json_integer(f->num);
	case LOG_FIELD_DOUBLE:
		/* Three decimals, as in text; JSON has no NaN. */
		return f->real == f->real
			       ? json_real(round(f->real * 1e3) / 1e3)
			       : json_null();
	case LOG_FIELD_NUMBER:
		return json_string(l->masked[i]);
	default:
		if (!f->str)
			return json_null();
		return value_string(
			f->str, f->len >= 0 ? strnlen(f->str, (size_t)f->len)
					    : strlen(f->str));
	}
}

static int put(json_t *o, const char *key, json_t *v)
{
	return v ? json_object_set_new(o, key, v) : -1;
}

static int put_context(json_t *o, const char *key, const char *v)
{
	return v[0] ? put(o, key, value_string(v, strlen(v))) : 0;
}

size_t log_render_json(const struct log_line *l, char *out, size_t cap)
{
	json_t *o = json_object();
	size_t n = 0;
	int rc;

	if (!o)
		return 0;
	rc = put(o, "time", json_string(l->time));
	rc |= put(o, "level", json_string(l->level));
	rc |= put(o, "event", value_string(l->event, strlen(l->event)));
	rc |= put_context(o, "request_id", l->request_id);
	rc |= put_context(o, "key", l->key);
	rc |= put_context(o, "number", l->number);
	for (size_t i = 0; i < l->nfields; i++) {
		const struct log_field *f = &l->fields[i];

		/* A field may not replace what the line says about itself. */
		if (f->type == LOG_FIELD_SKIP || !f->key ||
		    json_object_get(o, f->key))
			continue;
		rc |= put(o, f->key, field_value(l, i));
	}
	if (rc == 0) {
		n = json_dumpb(o, out, cap - 1,
			       JSON_COMPACT | JSON_REAL_PRECISION(12));
		if (n == 0 || n > cap - 1)
			n = 0; /* too long: the caller writes it as text */
		else
			out[n++] = '\n';
	}
	json_decref(o);
	return n;
}
