/*
 * The log module: level filtering, the thread's request context, and each
 * event rendered as one text line (here) or one JSON object (log_json.c),
 * written to stderr with a single fwrite so lines never mix.  Values are
 * escaped so that no input can split a line or forge a field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "log_line.h"
#include "phone.h"
#include "util.h"

/* Fields past this many in one call are dropped. */
#define LOG_FIELDS_MAX 16

static enum log_level min_level = LOG_INFO;
static enum log_format format = LOG_FORMAT_TEXT;
static FILE *out_stream; /* NULL: stderr */
static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"text", "json"};

static _Thread_local struct log_context ctx;

_Static_assert(LOG_MASKED_LEN >= PHONE_REDACT_LEN, "masked number room");

void log_set_level(enum log_level level)
{
	min_level = level;
}

void log_set_format(enum log_format f)
{
	format = f;
}

void log_set_stream(FILE *f)
{
	out_stream = f;
}

static int word_parse(const char *name, const char *const *words, size_t n)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(name, words[i]) == 0)
			return (int)i;
	return -1;
}

int log_level_parse(const char *name)
{
	return word_parse(name, level_names,
			  sizeof(level_names) / sizeof(level_names[0]));
}

int log_format_parse(const char *name)
{
	return word_parse(name, format_names,
			  sizeof(format_names) / sizeof(format_names[0]));
}

int log_enabled(enum log_level level)
{
	return level >= min_level;
}

/* ---- the request context ---- */

static void context_put(char *dst, size_t size, const char *v)
{
	snprintf(dst, size, "%s", v ? v : "");
}

void log_context_request_id(const char *request_id)
{
	context_put(ctx.request_id, sizeof(ctx.request_id), request_id);
}

void log_context_key(const char *key)
{
	context_put(ctx.key, sizeof(ctx.key), key);
}

void log_context_number(const char *e164)
{
	if (e164 && *e164)
		phone_redact(e164, ctx.number, sizeof(ctx.number));
	else
		ctx.number[0] = '\0';
}

void log_context_save(struct log_context *out)
{
	*out = ctx;
}

void log_context_restore(const struct log_context *in)
{
	ctx = *in;
}

void log_context_clear(void)
{
	/* Called twice per HTTP request: the first bytes are enough. */
	ctx.request_id[0] = '\0';
	ctx.key[0] = '\0';
	ctx.number[0] = '\0';
}

const char *log_context_get_request_id(void)
{
	return ctx.request_id;
}

/* ---- text lines ---- */

/* A bounded writer: appends past the end are dropped, never overrun. */
struct out {
	char *p;
	size_t len, cap;
};

static void out_bytes(struct out *o, const char *s, size_t n)
{
	if (o->len + n >= o->cap)
		n = o->len + 1 < o->cap ? o->cap - o->len - 1 : 0;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void out_str(struct out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

/* Printed bare: letters, digits and a few marks that need no quoting. */
static int is_bare(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("._:/+-@*()[],", c));
}

/*
 * A value as it is, when every byte is bare; else in double quotes with
 * '"' and '\' escaped and every control or non-ASCII byte as \xNN, so a
 * value never ends the line or fakes a "k=v" of its own.
 */
static void out_value(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	while (i < n && is_bare((unsigned char)s[i]))
		i++;
	if (n && i == n) {
		out_bytes(o, s, n);
		return;
	}
	out_bytes(o, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};

		if (c == '"' || c == '\\') {
			out_bytes(o, esc, 1);
			out_bytes(o, s + i, 1);
		} else if (c < 0x20 || c >= 0x7f)
			out_bytes(o, esc, 4);
		else
			out_bytes(o, s + i, 1);
	}
	out_bytes(o, "\"", 1);
}

static void out_pair(struct out *o, const char *key, const char *v, size_t n)
{
	out_bytes(o, " ", 1);
	out_value(o, key, strlen(key));
	out_bytes(o, "=", 1);
	out_value(o, v, n);
}

/* The value of field i as text: its bytes, or a number in buf. */
static const char *field_text(const struct log_line *l, size_t i, char *buf,
			      size_t size, size_t *n)
{
	const struct log_field *f = &l->fields[i];
	const char *s;

	switch (f->type) {
	case LOG_FIELD_INT:
		snprintf(buf, size, "%lld", f->num);
		s = buf;
		break;
	case LOG_FIELD_DOUBLE:
		snprintf(buf, size, "%.3f", f->real);
		s = buf;
		break;
	case LOG_FIELD_NUMBER:
		s = l->masked[i];
		break;
	default:
		s = f->str ? f->str : "-";
		if (f->str && f->len >= 0) {
			*n = strnlen(s, (size_t)f->len);
			return s;
		}
		break;
	}
	*n = strlen(s);
	return s;
}

static size_t render_text(const struct log_line *l, char *buf, size_t cap)
{
	struct out o = {buf, 0, cap};
	char num[32];

	out_str(&o, l->time);
	out_bytes(&o, " ", 1);
	out_str(&o, l->level);
	out_bytes(&o, " ", 1);
	out_value(&o, l->event, strlen(l->event));
	if (l->request_id[0])
		out_pair(&o, "request_id", l->request_id,
			 strlen(l->request_id));
	if (l->key[0])
		out_pair(&o, "key", l->key, strlen(l->key));
	if (l->number[0])
		out_pair(&o, "number", l->number, strlen(l->number));
	for (size_t i = 0; i < l->nfields; i++) {
		size_t n;
		const char *v;

		if (l->fields[i].type == LOG_FIELD_SKIP || !l->fields[i].key)
			continue;
		v = field_text(l, i, num, sizeof(num), &n);
		out_pair(&o, l->fields[i].key, v,
			 n > LOG_VALUE_MAX ? LOG_VALUE_MAX : n);
	}
	buf[o.len++] = '\n'; /* out_bytes kept one byte for it */
	return o.len;
}

/* ---- writing ---- */

static void emit(enum log_level level, const char *event,
		 const struct log_field *fields, size_t n)
{
	char masked[LOG_FIELDS_MAX][LOG_MASKED_LEN];
	char buf[LOG_LINE_MAX];
	struct log_line l = {
		.level = level_names[level],
		.event = event && *event ? event : "log",
		.request_id = ctx.request_id,
		.key = ctx.key,
		.number = ctx.number,
		.fields = fields,
		.nfields = n < LOG_FIELDS_MAX ? n : LOG_FIELDS_MAX,
		.masked = masked,
	};
	size_t len = 0;

	format_iso_ms(now_ms(), l.time);
	for (size_t i = 0; i < l.nfields; i++)
		if (fields[i].type == LOG_FIELD_NUMBER)
			phone_redact(fields[i].str ? fields[i].str : "",
				     masked[i], sizeof(masked[i]));
	if (format == LOG_FORMAT_JSON)
		len = log_render_json(&l, buf, sizeof(buf));
	if (!len)
		len = render_text(&l, buf, sizeof(buf));
	fwrite(buf, 1, len, out_stream ? out_stream : stderr);
}

void log_write(enum log_level level, const char *event,
	       const struct log_field *fields, size_t n)
{
	if (level < min_level || level > LOG_ERROR)
		return;
	emit(level, event, fields, n);
}

void log_fatal(const char *event, const struct log_field *fields, size_t n)
{
	emit(LOG_ERROR, event, fields, n);
	exit(1);
}
