/*
 * Verify v2 templates and India's DLT: the server's DLT template set shown
 * as one read-only template of a fixed id (its fragments the registered SMS
 * texts, one per locale, with Vonage's ${code}, ${brand} and ${time-limit}
 * where the text has its {#var#} slots); which texts an sms fragment may
 * have (a registered one); and the template a start uses.
 */
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "api.h"
#include "api_v2.h"
#include "err.h"
#include "model.h"
#include "sms.h"
#include "util.h"
#include "verify_templates.h"

/* The languages of the set, as Vonage's locales. */
static const struct {
	const char *lang, *locale;
} locales[] = {
	{"en", "en-us"},
	{"hi", "hi-in"},
};

static const char *const slot_names[SMS_VALUE_COUNT] = {
	[SMS_VALUE_CODE] = "${code}",
	[SMS_VALUE_BRAND] = "${brand}",
	[SMS_VALUE_MINUTES] = "${time-limit}",
};

#define UNIT_VAR "${time-limit-unit}"
#define VTEXT_MAX ((size_t)SMS_TEXT_MAX * 2)

int v2_builtin_is(const char *id)
{
	return strcmp(id, V2_BUILTIN_ID) == 0;
}

/* A fragment's id: a UUID made from its DLT template id, stable. */
static void fragment_id(const struct sms_template *t, char out[UUID_LEN + 1])
{
	unsigned char h[16];

	crypto_generichash(h, sizeof(h), (const unsigned char *)t->template_id,
			   strlen(t->template_id), NULL, 0);
	uuid_v4(h, out);
}

/* The registered text with Vonage's variables in its slots, into out. */
static void vonage_text(const struct sms_template *t, char out[VTEXT_MAX])
{
	static const char slot[] = "{#var#}";
	const char *s = t->text;
	size_t at = 0;
	int v = 0;

	while (*s && at + 1 < VTEXT_MAX) {
		const char *put = NULL;
		size_t n = 1;

		if (strncmp(s, slot, sizeof(slot) - 1) == 0 && v < t->nvalues) {
			put = slot_names[t->values[v++]];
			s += sizeof(slot) - 2;
		}
		if (put)
			n = strlen(put);
		if (at + n >= VTEXT_MAX)
			break;
		memcpy(out + at, put ? put : s, n);
		at += n;
		s++;
	}
	out[at] = '\0';
}

static json_t *links_self(const char *path)
{
	return json_pack("{s:{s:s}}", "self", "href", path);
}

static json_t *builtin_fragment_json(size_t i, const struct sms_template *t)
{
	char id[UUID_LEN + 1], text[VTEXT_MAX];
	char href[160];

	fragment_id(t, id);
	vonage_text(t, text);
	snprintf(href, sizeof(href),
		 V2_TEMPLATES "/" V2_BUILTIN_ID "/template_fragments/%s", id);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}",
			 "template_fragment_id", id, "channel", "sms", "locale",
			 locales[i].locale, "text", text, "dlt_template_id",
			 t->template_id, "dlt_entity_id", t->entity_id,
			 "dlt_header", t->header, "_links", links_self(href));
}

json_t *v2_builtin_json(int is_default)
{
	return v2_template_json(V2_BUILTIN_ID, V2_BUILTIN_NAME, is_default);
}

json_t *v2_builtin_fragments(void)
{
	json_t *list = json_array();

	for (size_t i = 0; i < ARRAY_LEN(locales); i++) {
		const struct sms_template *t =
			sms_template_pin(locales[i].lang);

		/* A language without a set of its own falls back: skip it. */
		if (t && (i == 0 || t != sms_template_pin(locales[0].lang)))
			json_array_append_new(list,
					      builtin_fragment_json(i, t));
	}
	return list;
}

json_t *v2_builtin_fragment(const char *fid)
{
	json_t *list = v2_builtin_fragments(), *v, *found = NULL;
	size_t i;

	json_array_foreach (list, i, v) {
		const char *id = json_string_value(
			json_object_get(v, "template_fragment_id"));

		if (id && strcmp(id, fid) == 0)
			found = json_incref(v);
	}
	json_decref(list);
	return found;
}

/* ---- what a fragment may say ---- */

const char *v2_fragment_text_check(const char *text)
{
	static const char *const vars[] = {"${code}", "${brand}",
					   "${time-limit}", UNIT_VAR};
	const char *p = text;

	if (strlen(text) >= FRAGMENT_TEXT_MAX)
		return "At most 1023 bytes.";
	while ((p = strstr(p, "${")) != NULL) {
		size_t n = strcspn(p, "}") + 1, i = 0;

		while (i < ARRAY_LEN(vars) &&
		       !(strlen(vars[i]) == n && strncmp(p, vars[i], n) == 0))
			i++;
		if (i == ARRAY_LEN(vars))
			return "The variables are ${code}, ${brand}, "
			       "${time-limit} and ${time-limit-unit}.";
		p += n;
	}
	if (!strstr(text, "${code}"))
		return "Must contain ${code}.";
	return NULL;
}

const char *v2_voice_text_check(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return "A voice text is plain text: no control "
			       "characters (tabs and line breaks included).";
		/* U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8. */
		if (p[0] == 0xef && p[1] == 0xbf &&
		    (p[2] == 0xbe || p[2] == 0xbf))
			return "A voice text cannot hold U+FFFE or U+FFFF.";
	}
	return NULL;
}

/*
 * The unit word of a registered text (with Vonage's variables): the word
 * right after "${time-limit} ", up to a blank or punctuation.  The time
 * limit always goes in minutes, so this is the registration's own word
 * for them ("min").  0, or -1 when the text has none.
 */
static int unit_word(const char *vtext, char *out, size_t len)
{
	static const char after[] = "${time-limit} ";
	const char *p = strstr(vtext, after);
	size_t n;

	if (!p)
		return -1;
	p += sizeof(after) - 1;
	n = strcspn(p, " \t\n.,;:!?()");
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* text with each ${time-limit-unit} replaced by unit, into out. */
static int unit_expand(const char *text, const char *unit, char *out,
		       size_t len)
{
	size_t at = 0, ul = strlen(unit), vl = strlen(UNIT_VAR);

	while (*text) {
		int is_var = strncmp(text, UNIT_VAR, vl) == 0;
		size_t n = is_var ? ul : 1;

		if (at + n >= len)
			return -1;
		memcpy(out + at, is_var ? unit : text, n);
		at += n;
		text += is_var ? vl : 1;
	}
	out[at] = '\0';
	return 0;
}

const struct sms_template *v2_dlt_match(const char *locale, const char *text)
{
	const struct sms_template *t = sms_template_pin(locale);
	char reg[VTEXT_MAX], unit[64], expanded[VTEXT_MAX];

	if (!t)
		return NULL;
	vonage_text(t, reg);
	if (strstr(text, UNIT_VAR)) {
		if (unit_word(reg, unit, sizeof(unit)) != 0 ||
		    unit_expand(text, unit, expanded, sizeof(expanded)) != 0)
			return NULL;
		text = expanded;
	}
	return strcmp(text, reg) == 0 ? t : NULL;
}

/* ---- a start's template ---- */

/* Why the start's template will not do (NULL: it will), or -1 in *err
 * when the store failed.  The template it chose goes to chosen ("" for
 * none: the built-in set). */
static const char *start_refusal(int64_t key_id, const char *template_id,
				 const char *locale, int has_sms, int *err,
				 char chosen[TEMPLATE_ID_LEN + 1])
{
	struct vf_template t;
	struct vf_fragment f;
	const struct sms_template *reg;
	char id[TEMPLATE_ID_LEN + 1];
	int rc;

	*err = 0;
	chosen[0] = '\0';
	if (template_id) {
		if (v2_template_id_read(template_id, strlen(template_id), id))
			return "No template of this key has this id.";
		if (v2_builtin_is(id))
			return NULL;
	}
	rc = verify_template_pick(key_id, template_id ? id : NULL, "sms",
				  locale, &t, &f);
	if (rc == KV_ENOTFOUND)
		return "No template of this key has this id.";
	*err = rc != 0;
	if (rc == 0)
		memcpy(chosen, t.id, sizeof(t.id));
	if (rc != 0 || !has_sms || !f.id[0])
		return NULL;
	/* The set on disk may have changed since the fragment was made. */
	reg = v2_dlt_match(locale, f.text);
	if (!reg || strcmp(reg->template_id, f.dlt_template_id) != 0)
		return "The template's sms fragment for this locale is no "
		       "longer one of this server's registered DLT texts.";
	return NULL;
}

int v2_start_template(struct http_req *req, int64_t key_id,
		      const char *template_id, const char *locale,
		      const enum v2_channel *channels, size_t n,
		      char chosen[TEMPLATE_ID_LEN + 1])
{
	int has_sms = 0, err;
	const char *why;

	for (size_t i = 0; i < n; i++)
		has_sms |= channels[i] == V2_CH_SMS;
	why = start_refusal(key_id, template_id, locale ? locale : "en-us",
			    has_sms, &err, chosen);
	if (err)
		v2_problem(req, V2_INTERNAL, NULL, 0, NULL, NULL);
	else if (why)
		v2_problem(req, V2_INVALID_PARAMS, NULL, 0, NULL,
			   json_pack("[{s:s,s:s}]", "name", "template_id",
				     "reason", why));
	return err || why ? -1 : 0;
}
