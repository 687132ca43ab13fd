/*
 * Verify v2 templates, read only: the server's DLT template set seen as one
 * Vonage template whose fragments are its registered SMS texts, one per
 * locale, with Vonage's ${code}, ${brand} and ${time-limit} where the DLT
 * text has its {#var#} slots.  The set is changed on disk and registered
 * with DLT, never through the API: writes answer 403.
 */
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "api.h"
#include "api_v2.h"
#include "sms.h"
#include "util.h"

/* The one template: a fixed id, so every node names it alike. */
#define TEMPLATE_ID "6b1f4ad2-0c4e-4d63-9a51-2f7d3c8e9b10"
#define TEMPLATE_NAME "dlt"
#define FRAGMENTS_PATH "/template_fragments"

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

/* A fragment's id: a UUID made from its DLT template id, stable. */
static void fragment_id(const struct sms_template *t, char out[UUID_LEN + 1])
{
	unsigned char h[16];

	crypto_generichash(h, sizeof(h), (const unsigned char *)t->template_id,
			   strlen(t->template_id), NULL, 0);
	uuid_v4(h, out);
}

/* The registered text with Vonage's variables in its slots. */
static json_t *fragment_text(const struct sms_template *t)
{
	static const char slot[] = "{#var#}";
	char out[SMS_TEXT_MAX * 2];
	const char *s = t->text;
	size_t at = 0;
	int v = 0;

	while (*s && at + 1 < sizeof(out)) {
		const char *put = NULL;
		size_t n = 1;

		if (strncmp(s, slot, sizeof(slot) - 1) == 0 && v < t->nvalues) {
			put = slot_names[t->values[v++]];
			s += sizeof(slot) - 2;
		}
		if (put)
			n = strlen(put);
		if (at + n >= sizeof(out))
			break;
		memcpy(out + at, put ? put : s, n);
		at += n;
		s++;
	}
	out[at] = '\0';
	return json_string(out);
}

static json_t *links_self(const char *path)
{
	return json_pack("{s:{s:s}}", "self", "href", path);
}

static json_t *fragment_json(size_t i, const struct sms_template *t)
{
	char id[UUID_LEN + 1];
	char href[160];

	fragment_id(t, id);
	snprintf(href, sizeof(href),
		 V2_TEMPLATES "/" TEMPLATE_ID FRAGMENTS_PATH "/%s", id);
	return json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:o}",
			 "template_fragment_id", id, "channel", "sms", "locale",
			 locales[i].locale, "text", fragment_text(t),
			 "dlt_template_id", t->template_id, "dlt_entity_id",
			 t->entity_id, "dlt_header", t->header, "_links",
			 links_self(href));
}

static json_t *template_json(void)
{
	return json_pack("{s:s,s:s,s:b,s:o}", "template_id", TEMPLATE_ID,
			 "name", TEMPLATE_NAME, "is_default", 1, "_links",
			 links_self(V2_TEMPLATES "/" TEMPLATE_ID));
}

/* One page holding every item (the set has a handful). */
static json_t *page_json(const char *name, json_t *items, const char *self)
{
	size_t n = json_array_size(items);

	return json_pack("{s:I,s:i,s:i,s:I,s:{s:o},s:o}", "page_size",
			 (json_int_t)(n ? n : 1), "page", 1, "total_pages", 1,
			 "total_items", (json_int_t)n, "_embedded", name, items,
			 "_links", links_self(self));
}

static json_t *fragments_json(void)
{
	json_t *list = json_array();

	for (size_t i = 0; i < ARRAY_LEN(locales); i++) {
		const struct sms_template *t =
			sms_template_pin(locales[i].lang);

		/* A language without a set of its own falls back: skip it. */
		if (t && (i == 0 || t != sms_template_pin(locales[0].lang)))
			json_array_append_new(list, fragment_json(i, t));
	}
	return list;
}

/* The fragment of id `id`, or NULL. */
static json_t *fragment_find(const char *id)
{
	json_t *list = fragments_json(), *v, *found = NULL;
	size_t i;

	json_array_foreach (list, i, v) {
		const char *fid = json_string_value(
			json_object_get(v, "template_fragment_id"));

		if (fid && strcmp(fid, id) == 0)
			found = json_incref(v);
	}
	json_decref(list);
	return found;
}

static void send_json(struct http_req *req, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	http_reply(req, 200, "application/json", text, text ? strlen(text) : 0);
}

/*
 * What the path after /v2/verify/templates names: "" the list, "/ID" the
 * template, "/ID/template_fragments" its fragments, and one more segment a
 * fragment.  NULL-terminated segments into `seg` (up to 3); returns how
 * many, or -1 for a path of another shape.
 */
static int split_path(const char *rest, char seg[3][64])
{
	int n = 0;

	while (*rest == '/' && n < 3) {
		size_t len = strcspn(rest + 1, "/");

		if (len == 0 || len >= sizeof(seg[0]))
			return -1;
		memcpy(seg[n], rest + 1, len);
		seg[n][len] = '\0';
		n++;
		rest += len + 1;
	}
	return *rest ? -1 : n;
}

static void templates_answer(struct http_req *req)
{
	const char *rest = req->path + strlen(V2_TEMPLATES);
	char seg[3][64];
	int n = split_path(rest, seg);
	json_t *o = NULL;

	if (n < 0 || (n >= 1 && strcmp(seg[0], TEMPLATE_ID) != 0) ||
	    (n >= 2 && strcmp(seg[1], FRAGMENTS_PATH + 1) != 0)) {
		v2_problem(req, V2_NO_ROUTE, NULL, 0, NULL, NULL);
		return;
	}
	if (req->method != HTTP_GET) {
		/* The set is registered with DLT: it changes on disk only. */
		v2_problem(req, V2_FORBIDDEN, NULL, 0, NULL, NULL);
		return;
	}
	if (n == 0)
		o = page_json("templates", json_pack("[o]", template_json()),
			      V2_TEMPLATES);
	else if (n == 1)
		o = template_json();
	else if (n == 2)
		o = page_json("template_fragments", fragments_json(),
			      req->path);
	else
		o = fragment_find(seg[2]);
	if (!o) {
		v2_problem(req, V2_NO_ROUTE, NULL, 0, NULL, NULL);
		return;
	}
	send_json(req, o);
}

static enum api_run templates_run(struct api_ctx *ctx, enum api_fail f)
{
	if (f != API_READY)
		v2_refuse(ctx->req, f);
	else
		templates_answer(ctx->req);
	return API_RUN_DONE;
}

static const struct api_handler templates_handler = {
	sizeof(struct api_ctx), NULL, API_RAW_BODY | API_JWT_OK,
	templates_run,          NULL,
};

void v2_templates(struct http_req *req)
{
	api_serve(req, &templates_handler);
}
