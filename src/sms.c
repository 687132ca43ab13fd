/*
 * The SMS template set (sms.h): one file per kind and language, read and
 * validated once at start, then filled exactly: each {#var#} slot takes its
 * value as is and a text over one segment is refused, never shortened.  The
 * file format is in docs/OPERATIONS.md ("SMS templates and DLT").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "sms.h"
#include "util.h"

#define SLOT "{#var#}"
#define SLOT_LEN (sizeof(SLOT) - 1)
#define LINE_MAX_LEN 1024

/* The languages shipped, as the IVR's; English is the fallback. */
static const char *const languages[] = {"en", "hi"};

static const char *const value_names[SMS_VALUE_COUNT] = {
	[SMS_VALUE_CODE] = "code",
	[SMS_VALUE_BRAND] = "brand",
	[SMS_VALUE_MINUTES] = "minutes",
};

static struct sms_template pin_set[ARRAY_LEN(languages)];
static int pin_loaded;

const char *sms_language(const char *lg)
{
	for (size_t i = 0; lg && i < ARRAY_LEN(languages); i++) {
		size_t n = strlen(languages[i]);

		/* "hi", "hi-in", "HI_IN" all pick Hindi. */
		if (strncasecmp(lg, languages[i], n) == 0 &&
		    (lg[n] == '\0' || lg[n] == '-' || lg[n] == '_'))
			return languages[i];
	}
	return "en";
}

/* ---- filling ---- */

/* Appends n bytes of s to out (SMS_TEXT_MAX bytes) at *len. */
static int put(char *out, size_t *len, const char *s, size_t n)
{
	if (*len + n >= SMS_TEXT_MAX)
		return KV_ERANGE;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

/* A slot's value, checked against the slot's 30 characters. */
static int slot_value(enum sms_value v, const struct sms_fill_in *in,
		      const char *minutes, const char **val, const char **bad)
{
	int n;

	*val = v == SMS_VALUE_CODE    ? in->code
	       : v == SMS_VALUE_BRAND ? in->brand
				      : minutes;
	n = sms_chars(*val);
	if (n < 0) {
		*bad = value_names[v];
		return KV_EINVAL;
	}
	if (n > SMS_SLOT_MAX) {
		*bad = value_names[v];
		return KV_ERANGE;
	}
	return 0;
}

/* The last line: "@host #code", then the app hash, space-separated. */
static int put_autofill(const struct sms_fill_in *in, char *out, size_t *len)
{
	int has_host = in->host && *in->host;
	int has_hash = in->app_hash && *in->app_hash;
	int rc = 0;

	if (!has_host && !has_hash)
		return 0;
	rc = put(out, len, "\n", 1);
	if (rc == 0 && has_host) {
		rc = put(out, len, "@", 1);
		if (rc == 0)
			rc = put(out, len, in->host, strlen(in->host));
		if (rc == 0)
			rc = put(out, len, " #", 2);
		if (rc == 0)
			rc = put(out, len, in->code, strlen(in->code));
		if (rc == 0 && has_hash)
			rc = put(out, len, " ", 1);
	}
	if (rc == 0 && has_hash)
		rc = put(out, len, in->app_hash, strlen(in->app_hash));
	return rc;
}

int sms_fill(const struct sms_template *t, const struct sms_fill_in *in,
	     char *out, struct sms_count *cnt, const char **bad)
{
	char minutes[16];
	const char *p = t->text, *slot, *val;
	size_t len = 0;
	int i = 0, rc;

	*bad = NULL;
	out[0] = '\0';
	snprintf(minutes, sizeof(minutes), "%d", in->minutes);
	if (in->host && sms_chars(in->host) > SMS_SLOT_MAX) {
		*bad = "origin";
		return KV_ERANGE;
	}
	while ((slot = strstr(p, SLOT)) != NULL && i < t->nvalues) {
		rc = put(out, &len, p, (size_t)(slot - p));
		if (rc == 0)
			rc = slot_value(t->values[i], in, minutes, &val, bad);
		if (rc == 0)
			rc = put(out, &len, val, strlen(val));
		if (rc != 0) {
			if (!*bad)
				*bad = value_names[t->values[i]];
			return rc;
		}
		p = slot + SLOT_LEN;
		i++;
	}
	rc = put(out, &len, p, strlen(p));
	if (rc == 0)
		rc = put_autofill(in, out, &len);
	if (rc == 0)
		rc = sms_count(out, cnt);
	if (rc == 0 && cnt->segments > 1)
		rc = KV_ERANGE;
	if (rc != 0 && !*bad)
		*bad = "brand"; /* the one value a client writes freely */
	return rc;
}

int sms_pin_fits(const char *lg, const char *brand, int code_length,
		 int minutes, const char *host, const char *app_hash,
		 const char **bad)
{
	static const char nines[] = "9999999999999999999999999999999";
	const struct sms_template *t = sms_template_pin(lg);
	struct sms_fill_in in = {
		.code = nines + sizeof(nines) - 1 -
			(size_t)(code_length < 0              ? 0
				 : code_length > SMS_SLOT_MAX ? SMS_SLOT_MAX
							      : code_length),
		.brand = brand,
		.minutes = minutes,
		.host = host,
		.app_hash = app_hash,
	};
	char text[SMS_TEXT_MAX];
	struct sms_count cnt;
	int n = sms_chars(brand);

	*bad = NULL;
	if (n < 0 || n > SMS_SLOT_MAX) {
		*bad = "brand";
		return KV_ERANGE;
	}
	if (!t)
		return 0;
	return sms_fill(t, &in, text, &cnt, bad) == 0 ? 0 : KV_ERANGE;
}

/* ---- the files ---- */

struct parse {
	const char *path;
	int line;
	char *err;
	size_t errlen;
	int text_line; /* where the text starts, for its errors */
};

static int parse_fail(struct parse *ps, const char *why)
{
	if (ps->line > 0)
		snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->path, ps->line,
			 why);
	else
		snprintf(ps->err, ps->errlen, "%s: %s", ps->path, why);
	return KV_EINVAL;
}

static int all_digits(const char *s, size_t lo, size_t hi)
{
	size_t n = strlen(s);

	return n >= lo && n <= hi && strspn(s, "0123456789") == n;
}

static int parse_values(struct parse *ps, char *v, struct sms_template *t)
{
	char *save = NULL;

	for (char *w = strtok_r(v, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		int found = -1;

		for (int i = 0; i < SMS_VALUE_COUNT; i++)
			if (strcmp(w, value_names[i]) == 0)
				found = i;
		if (found < 0)
			return parse_fail(ps, "unknown value name (values are "
					      "code, brand and minutes)");
		if (t->nvalues == SMS_SLOTS_MAX)
			return parse_fail(ps, "too many values");
		t->values[t->nvalues++] = (enum sms_value)found;
	}
	return 0;
}

static int parse_text(struct parse *ps, const char *v, struct sms_template *t)
{
	size_t len = strlen(t->text), n = strlen(v);

	if (sms_chars(v) < 0)
		return parse_fail(ps, "text is not UTF-8");
	if (len + n + 2 > sizeof(t->text))
		return parse_fail(ps, "text too long");
	if (len > 0)
		t->text[len++] = '\n';
	else
		ps->text_line = ps->line;
	memcpy(t->text + len, v, n + 1);
	return 0;
}

/* One "name = value" line; `seen` marks the fields set once. */
static int parse_field(struct parse *ps, const char *name, char *v,
		       struct sms_template *t, unsigned *seen)
{
	static const char *const once[] = {"template_id", "entity_id", "header",
					   "values"};
	size_t n = strlen(v);

	for (size_t i = 0; i < ARRAY_LEN(once); i++)
		if (strcmp(name, once[i]) == 0) {
			if (*seen & (1u << i))
				return parse_fail(ps, "field set twice");
			*seen |= 1u << i;
		}
	if (strcmp(name, "text") == 0)
		return parse_text(ps, v, t);
	if (strcmp(name, "values") == 0)
		return parse_values(ps, v, t);
	if (strcmp(name, "template_id") == 0) {
		if (!all_digits(v, SMS_TEMPLATE_ID_LEN, SMS_TEMPLATE_ID_LEN))
			return parse_fail(ps, "template_id must be 19 digits");
		memcpy(t->template_id, v, n + 1);
	} else if (strcmp(name, "entity_id") == 0) {
		if (!all_digits(v, 1, SMS_ENTITY_ID_MAX))
			return parse_fail(ps, "entity_id must be 1 to 31 "
					      "digits");
		memcpy(t->entity_id, v, n + 1);
	} else if (strcmp(name, "header") == 0) {
		if (n != SMS_HEADER_LEN ||
		    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
			      "vwxyz") != n)
			return parse_fail(ps, "header must be 6 letters");
		memcpy(t->header, v, n + 1);
	} else {
		return parse_fail(ps, "unknown field (fields are template_id, "
				      "entity_id, header, values, text)");
	}
	return 0;
}

/* Splits "name = value" in place; trailing blanks of the value go. */
static int split_line(struct parse *ps, char *s, char **name, char **value)
{
	char *eq = strchr(s, '='), *end;

	if (!eq)
		return parse_fail(ps, "expected name = value");
	end = eq;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	*name = s;
	s = eq + 1;
	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	*value = s;
	return 0;
}

static int read_lines(struct parse *ps, FILE *f, struct sms_template *t,
		      unsigned *seen)
{
	char buf[LINE_MAX_LEN], *name = NULL, *value = NULL, *s;
	int rc;

	while (fgets(buf, sizeof(buf), f)) {
		ps->line++;
		if (!strchr(buf, '\n') && !feof(f))
			return parse_fail(ps, "line too long");
		buf[strcspn(buf, "\r\n")] = '\0';
		s = buf + strspn(buf, " \t");
		if (*s == '\0' || *s == '#')
			continue;
		rc = split_line(ps, s, &name, &value);
		if (rc == 0)
			rc = parse_field(ps, name, value, t, seen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int slots_in(const char *text)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, SLOT)) != NULL; p += SLOT_LEN)
		n++;
	return n;
}

/* The worst case: every value at its longest, both autofill lines. */
static int check_worst(struct parse *ps, const struct sms_template *t,
		       const struct sms_limits *lim)
{
	static const char nines[] = "9999999999999999999999999999999999999";
	char minutes[16], text[SMS_TEXT_MAX], why[160];
	char brand[SMS_SLOT_MAX + 1], host[SMS_SLOT_MAX + 1];
	struct sms_count cnt;
	const char *bad = NULL;
	struct sms_fill_in in = {
		.brand = brand, .host = host, .app_hash = "AAAAAAAAAAA"};
	int rc;

	memset(brand, 'X', SMS_SLOT_MAX);
	brand[SMS_SLOT_MAX] = '\0';
	memcpy(host, brand, sizeof(host));
	in.minutes = lim->minutes_max;
	snprintf(minutes, sizeof(minutes), "%d", lim->minutes_max);
	in.code = lim->code_max >= (int)sizeof(nines)
			  ? nines
			  : nines + sizeof(nines) - 1 - lim->code_max;
	rc = sms_fill(t, &in, text, &cnt, &bad);
	ps->line = ps->text_line;
	if (rc == KV_ERANGE && strcmp(bad, "brand") != 0 &&
	    strcmp(bad, "origin") != 0) {
		snprintf(why, sizeof(why),
			 "the %s slot could hold more than %d characters", bad,
			 SMS_SLOT_MAX);
		return parse_fail(ps, why);
	}
	if (rc != 0 && sms_count(text, &cnt) == 0) {
		snprintf(why, sizeof(why),
			 "text over one SMS segment with the longest values "
			 "and both autofill lines (%d %s units, at most %d)",
			 cnt.units, sms_encoding_name(cnt.encoding),
			 cnt.encoding == SMS_GSM7 ? 160 : 70);
		return parse_fail(ps, why);
	}
	return rc == 0 ? 0 : parse_fail(ps, "text cannot be filled");
}

int sms_template_parse(const char *path, const struct sms_limits *lim,
		       struct sms_template *out, char *err, size_t errlen)
{
	struct parse ps = {.path = path, .err = err, .errlen = errlen};
	unsigned seen = 0;
	FILE *f = fopen(path, "r");
	int rc;

	memset(out, 0, sizeof(*out));
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return KV_EIO;
	}
	rc = read_lines(&ps, f, out, &seen);
	fclose(f);
	if (rc != 0)
		return rc;
	ps.line = 0;
	if (seen != 0xFu || !out->text[0])
		return parse_fail(&ps, "needs template_id, entity_id, header, "
				       "values and text");
	ps.line = ps.text_line;
	if (slots_in(out->text) != out->nvalues)
		return parse_fail(&ps, "the text's {#var#} slots and the "
				       "values do not pair up");
	return check_worst(&ps, out, lim);
}

int sms_templates_load(const char *dir, const struct sms_limits *lim, char *err,
		       size_t errlen)
{
	struct sms_template set[ARRAY_LEN(languages)];
	char path[1100];

	for (size_t i = 0; i < ARRAY_LEN(languages); i++) {
		int rc;

		snprintf(path, sizeof(path), "%s/%s/pin.txt", dir,
			 languages[i]);
		rc = sms_template_parse(path, lim, &set[i], err, errlen);
		if (rc != 0)
			return rc;
	}
	memcpy(pin_set, set, sizeof(pin_set));
	pin_loaded = 1;
	return 0;
}

const struct sms_template *sms_template_pin(const char *lg)
{
	const char *lang = sms_language(lg);

	if (!pin_loaded)
		return NULL;
	for (size_t i = 0; i < ARRAY_LEN(languages); i++)
		if (strcmp(languages[i], lang) == 0)
			return &pin_set[i];
	return &pin_set[0];
}
