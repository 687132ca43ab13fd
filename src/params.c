/*
 * Request parameters: bounded parsing of query strings, urlencoded forms and
 * JSON object bodies into one small table, and HTTP Basic credentials.  Input
 * comes straight from clients, so every byte is checked and every failure
 * leaves the table as it was.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "err.h"
#include "params.h"

static int params_fail(struct params *p, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int params_fail(struct params *p, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	return err;
}

/*
 * True when s[0..n) is valid UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF) and holds no C0 control character (NUL included), no
 * DEL and neither U+FFFE nor U+FFFF, which XML 1.0 cannot carry (parameter
 * text reaches the IVR's answers and the /xml replies).  Applied to every
 * name and value, whatever the encoding was.
 */
static int params_text_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned int c = u[i], lo = 0x80, hi = 0xbf;
		size_t k, j;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return 0; /* continuation, overlong or past 0x10ffff */
		/* The second byte's range is what rules out the overlong
		 * 3- and 4-byte forms, surrogates and code points too big. */
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (n - i <= k || u[i + 1] < lo || u[i + 1] > hi)
			return 0;
		for (j = 2; j <= k; j++)
			if ((u[i + j] & 0xc0) != 0x80)
				return 0;
		if (c == 0xef && u[i + 1] == 0xbf && u[i + 2] >= 0xbe)
			return 0; /* U+FFFE, U+FFFF */
		i += k + 1;
	}
	return 1;
}

static void params_free_item(struct param *it)
{
	/* Values may be secrets (api_secret): wipe the shared block. */
	sodium_memzero(it->name, strlen(it->name) + 1 + strlen(it->value));
	free(it->name);
	it->name = NULL;
	it->value = NULL;
	it->repeated = 0;
}

/* Drops the entries from index start on and recomputes `repeated`. */
static void params_truncate(struct params *p, size_t start)
{
	size_t i;

	while (p->count > start)
		params_free_item(&p->items[--p->count]);
	for (i = 0; i < p->count; i++)
		p->items[i].repeated = params_count(p, p->items[i].name) > 1;
}

static int params_check_name(struct params *p, const char *name, size_t n)
{
	if (n == 0)
		return params_fail(p, KV_EINVAL, "Empty parameter name");
	if (n > PARAMS_NAME_MAX)
		return params_fail(p, KV_ETOOBIG, "Parameter name too long");
	if (!params_text_valid(name, n))
		return params_fail(p, KV_EINVAL,
				   "Invalid characters in parameter name");
	return 0;
}

/* Checks and appends one pair; name and value are not NUL-terminated. */
static int params_add(struct params *p, const char *name, size_t nlen,
		      const char *value, size_t vlen)
{
	struct param *it;
	char *block;
	size_t i;
	int err;

	err = params_check_name(p, name, nlen);
	if (err)
		return err;
	if (vlen > PARAMS_VALUE_MAX)
		return params_fail(p, KV_ETOOBIG, "Parameter '%.*s' too long",
				   (int)nlen, name);
	if (!params_text_valid(value, vlen))
		return params_fail(p, KV_EINVAL,
				   "Invalid characters in parameter '%.*s'",
				   (int)nlen, name);
	if (p->count == PARAMS_MAX)
		return params_fail(p, KV_ETOOBIG, "Too many parameters");
	block = malloc(nlen + vlen + 2);
	if (!block)
		return params_fail(p, KV_ENOMEM, "Out of memory");
	memcpy(block, name, nlen);
	block[nlen] = '\0';
	memcpy(block + nlen + 1, value, vlen);
	block[nlen + 1 + vlen] = '\0';
	it = &p->items[p->count];
	it->name = block;
	it->value = block + nlen + 1;
	it->repeated = 0;
	for (i = 0; i < p->count; i++) {
		if (strcmp(p->items[i].name, block) == 0) {
			p->items[i].repeated = 1;
			it->repeated = 1;
		}
	}
	p->count++;
	return 0;
}

static int params_hex_digit(char ch)
{
	unsigned char c = (unsigned char)ch;

	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Percent-decodes s[0..n) into out, which holds max + 1 bytes, turning '+'
 * into a space.  Stops after max + 1 bytes, so *outlen > max means too long.
 * Returns 0 or KV_EINVAL on a bad or truncated escape.
 */
static int params_decode(const char *s, size_t n, char *out, size_t max,
			 size_t *outlen)
{
	size_t i = 0, o = 0;
	int hi, lo;

	while (i < n && o <= max) {
		if (s[i] != '%') {
			out[o] = s[i++];
			if (out[o] == '+')
				out[o] = ' ';
			o++;
			continue;
		}
		if (n - i < 3)
			return KV_EINVAL;
		hi = params_hex_digit(s[i + 1]);
		lo = params_hex_digit(s[i + 2]);
		if (hi < 0 || lo < 0)
			return KV_EINVAL;
		out[o++] = (char)(hi << 4 | lo);
		i += 3;
	}
	*outlen = o;
	return 0;
}

static int params_parse_urlencoded(struct params *p, const char *s, size_t len)
{
	char name[PARAMS_NAME_MAX + 1], value[PARAMS_VALUE_MAX + 1];
	size_t start = p->count, pos = 0;
	int err = 0;

	while (pos < len) {
		const char *seg = s + pos, *amp, *eq;
		size_t seglen, nraw, nlen, vlen = 0;

		amp = memchr(seg, '&', len - pos);
		seglen = amp ? (size_t)(amp - seg) : len - pos;
		pos += seglen + 1;
		if (seglen == 0)
			continue;
		eq = memchr(seg, '=', seglen);
		nraw = eq ? (size_t)(eq - seg) : seglen;
		err = params_decode(seg, nraw, name, PARAMS_NAME_MAX, &nlen);
		if (!err && eq)
			err = params_decode(eq + 1, seglen - nraw - 1, value,
					    PARAMS_VALUE_MAX, &vlen);
		if (err) {
			params_fail(p, err, "Malformed parameter encoding");
			goto out;
		}
		err = params_add(p, name, nlen, value, vlen);
		if (err)
			goto out;
	}
out:
	if (err)
		params_truncate(p, start);
	return err;
}

/* Whole numbers as "300" (not "3e+02"), others as the shortest "%g" text
 * that reads back as the same double ("0.5", not "0.50000000000000000"). */
static void params_format_real(double d, char *out, size_t size)
{
	int prec;

	if (d > -1e15 && d < 1e15 && d == (double)(long long)d) {
		snprintf(out, size, "%.0f", d);
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(out, size, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

/* Appends one scalar JSON member; nulls are absent. */
static int params_add_json_scalar(struct params *p, const char *key,
				  size_t klen, const json_t *v)
{
	char num[40];
	const char *s = num;
	size_t n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		n = json_string_length(v);
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		n = strlen(num);
		break;
	case JSON_REAL:
		params_format_real(json_real_value(v), num, sizeof(num));
		n = strlen(num);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		s = json_is_true(v) ? "true" : "false";
		n = strlen(s);
		break;
	case JSON_NULL:
		return 0;
	default:
		return params_fail(p, KV_EINVAL,
				   "Invalid value for parameter '%.*s'",
				   (int)klen, key);
	}
	return params_add(p, key, klen, s, n);
}

static int params_add_json_member(struct params *p, const char *key,
				  size_t klen, const json_t *v)
{
	size_t i;
	int err;

	err = params_check_name(p, key, klen);
	if (err)
		return err;
	if (!json_is_array(v))
		return params_add_json_scalar(p, key, klen, v);
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *item = json_array_get(v, i);

		if (json_is_array(item))
			return params_fail(p, KV_EINVAL,
					   "Invalid value for parameter '%.*s'",
					   (int)klen, key);
		err = params_add_json_scalar(p, key, klen, item);
		if (err)
			return err;
	}
	return 0;
}

int params_parse_json(struct params *p, const char *body, size_t len)
{
	json_t *root = NULL, *v;
	json_error_t jerr;
	const char *key;
	size_t klen, start = p->count;
	int dup, err = 0;

	/* jansson bounds nesting (JSON_PARSER_MAX_DEPTH) and refuses
	 * invalid UTF-8 and, without JSON_ALLOW_NUL, NUL in strings. */
	root = json_loadb(body ? body : "", body ? len : 0,
			  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		dup = json_error_code(&jerr) == json_error_duplicate_key;
		err = params_fail(p, KV_EINVAL, "%s",
				  dup ? "Duplicate key in JSON body"
				      : "Invalid JSON body");
		goto out;
	}
	if (!json_is_object(root)) {
		err = params_fail(p, KV_EINVAL, "JSON body must be an object");
		goto out;
	}
	json_object_keylen_foreach (root, key, klen, v) {
		err = params_add_json_member(p, key, klen, v);
		if (err)
			goto out;
	}
out:
	json_decref(root);
	if (err)
		params_truncate(p, start);
	return err;
}

void params_init(struct params *p)
{
	memset(p, 0, sizeof(*p));
}

void params_release(struct params *p)
{
	params_truncate(p, 0);
	p->error[0] = '\0';
}

int params_parse_query(struct params *p, const char *query, size_t len)
{
	return params_parse_urlencoded(p, query, query ? len : 0);
}

int params_parse_form(struct params *p, const char *body, size_t len)
{
	return params_parse_urlencoded(p, body, body ? len : 0);
}

size_t params_get_all(const struct params *p, const char *name,
		      const char **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < p->count; i++) {
		if (strcmp(p->items[i].name, name) != 0)
			continue;
		if (n < max)
			out[n] = p->items[i].value;
		n++;
	}
	return n;
}

const char *params_get(const struct params *p, const char *name)
{
	const char *v = NULL;

	params_get_all(p, name, &v, 1);
	return v;
}

size_t params_count(const struct params *p, const char *name)
{
	return params_get_all(p, name, NULL, 0);
}

void params_remove(struct params *p, const char *name)
{
	char copy[PARAMS_NAME_MAX + 1];
	size_t i, kept = 0, n = strlen(name);

	/* name may be p->items[k].name itself, freed on the way. */
	if (n > PARAMS_NAME_MAX)
		return;
	memcpy(copy, name, n + 1);
	for (i = 0; i < p->count; i++) {
		if (strcmp(p->items[i].name, copy) == 0)
			params_free_item(&p->items[i]);
		else
			p->items[kept++] = p->items[i];
	}
	for (i = kept; i < p->count; i++)
		memset(&p->items[i], 0, sizeof(p->items[i]));
	p->count = kept;
}

int params_parse_basic_auth(const char *header, char **user, char **pass)
{
	unsigned char *bin = NULL;
	const char *b64, *end, *raw, *colon;
	size_t b64len, binmax = 0, binlen;
	int err = KV_EINVAL;

	*user = NULL;
	*pass = NULL;
	if (!header || strncasecmp(header, "Basic", 5) != 0 ||
	    (header[5] != ' ' && header[5] != '\t'))
		goto out;
	b64 = header + 5;
	b64 += strspn(b64, " \t");
	b64len = strlen(b64);
	while (b64len > 0 && strchr(" \t", b64[b64len - 1]))
		b64len--;
	if (b64len == 0 || b64len > PARAMS_AUTH_MAX)
		goto out;
	binmax = b64len / 4 * 3 + 3;
	bin = malloc(binmax);
	if (!bin) {
		err = KV_ENOMEM;
		goto out;
	}
	/* Without an ignore set, decoding stops at the first byte that is not
	 * base64: only a fully consumed input is accepted. */
	if (sodium_base642bin(bin, binmax, b64, b64len, NULL, &binlen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + b64len)
		goto out;
	raw = (const char *)bin;
	colon = memchr(raw, ':', binlen);
	if (!colon || colon == raw || !params_text_valid(raw, binlen))
		goto out;
	*user = strndup(raw, (size_t)(colon - raw));
	*pass = strndup(colon + 1, binlen - (size_t)(colon - raw) - 1);
	err = *user && *pass ? 0 : KV_ENOMEM;
out:
	if (bin) {
		sodium_memzero(bin, binmax);
		free(bin);
	}
	if (err) {
		free(*user);
		if (*pass)
			sodium_memzero(*pass, strlen(*pass));
		free(*pass);
		*user = NULL;
		*pass = NULL;
	}
	return err;
}
