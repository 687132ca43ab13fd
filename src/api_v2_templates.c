/*
 * Verify v2 templates (docs/API.md, "Templates"): each key's own templates
 * and fragments, and beside them the server's DLT template set as one
 * read-only template of a fixed id.  An sms fragment's text must be a
 * registered DLT text with Vonage's variables in its slots
 * (api_v2_dlt.c); the writes and their rules are the service's
 * (verify_templates.c).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "api_v2.h"
#include "api_vonage.h"
#include "err.h"
#include "sms.h"
#include "util.h"
#include "verify_templates.h"

#define FRAGMENTS "template_fragments"
#define PAGE_SIZE_DEFAULT 10
#define PAGE_SIZE_MAX 1000
#define HREF_MAX 256

struct tpl_ctx {
	struct api_ctx base;
	struct tpl_op op;
	json_t *body;
	/* template id, "template_fragments", fragment id */
	char seg[3][TEMPLATE_ID_LEN + 1];
	int nseg;
};

/* ---- rendering ---- */

/* "2026-12-06T02:56:11.123Z", as Vonage's dates. */
static json_t *iso_time(int64_t ms)
{
	char out[25];

	format_iso_ms(ms, out);
	return json_string(out);
}

static json_t *href(const char *path)
{
	return json_pack("{s:s}", "href", path);
}

json_t *v2_template_json(const char *id, const char *name, int is_default)
{
	char self[HREF_MAX], frags[HREF_MAX + 32];

	snprintf(self, sizeof(self), V2_TEMPLATES "/%s", id);
	snprintf(frags, sizeof(frags), "%s/" FRAGMENTS, self);
	return json_pack("{s:s,s:s,s:b,s:{s:o,s:o}}", "template_id", id, "name",
			 name, "is_default", is_default, "_links", "self",
			 href(self), "fragments", href(frags));
}

static json_t *fragment_json(const struct vf_fragment *f)
{
	char self[HREF_MAX * 2], tpl[HREF_MAX];
	json_t *o;

	snprintf(tpl, sizeof(tpl), V2_TEMPLATES "/%s", f->template_id);
	snprintf(self, sizeof(self), "%s/" FRAGMENTS "/%s", tpl, f->id);
	o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "template_fragment_id",
		      f->id, "channel", f->channel, "locale", f->locale, "text",
		      f->text, "date_updated", iso_time(f->updated_ms),
		      "date_created", iso_time(f->created_ms));
	if (o && f->dlt_template_id[0]) {
		json_object_set_new(o, "dlt_template_id",
				    json_string(f->dlt_template_id));
		json_object_set_new(o, "dlt_entity_id",
				    json_string(f->dlt_entity_id));
	}
	if (o)
		json_object_set_new(o, "_links",
				    json_pack("{s:o,s:o}", "self", href(self),
					      "template", href(tpl)));
	return o;
}

/* ---- lists, a page at a time ---- */

struct paging {
	json_int_t size, page;
};

/* page_size (1 to 1000, default 10) and page (from 1); 422 answered. */
static int paging_read(struct tpl_ctx *ctx, struct paging *pg)
{
	static const struct {
		const char *name;
		json_int_t lo, hi, dflt;
		const char *reason;
	} members[] = {
		{"page_size", 1, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT,
		 "An integer from 1 to 1000."},
		{"page", 1, 1000000, 1, "An integer from 1."},
	};
	json_int_t *out[] = {&pg->size, &pg->page};

	for (size_t i = 0; i < ARRAY_LEN(members); i++) {
		const char *v = api_param(&ctx->base.call, members[i].name);
		char *end = NULL;
		long long n = v ? strtoll(v, &end, 10) : members[i].dflt;

		if (v && (*end || end == v || n < members[i].lo ||
			  n > members[i].hi)) {
			v2_problem(ctx->base.req, V2_INVALID_PARAMS, NULL, 0,
				   NULL,
				   json_pack("[{s:s,s:s}]", "name",
					     members[i].name, "reason",
					     members[i].reason));
			return -1;
		}
		*out[i] = n;
	}
	return 0;
}

static json_t *page_link(const char *path, json_int_t size, json_int_t page)
{
	char h[HREF_MAX + 64];

	snprintf(h, sizeof(h), "%s?page_size=%lld&page=%lld", path,
		 (long long)size, (long long)page);
	return href(h);
}

/* One page of `all` (taken) under _embedded.name, with its links. */
static json_t *page_json(const char *path, const char *name, json_t *all,
			 const struct paging *pg)
{
	json_int_t total = (json_int_t)json_array_size(all);
	json_int_t pages = total ? (total + pg->size - 1) / pg->size : 1;
	json_t *items = json_array(), *links;

	for (json_int_t i = (pg->page - 1) * pg->size;
	     i < total && i < pg->page * pg->size; i++)
		json_array_append(items, json_array_get(all, (size_t)i));
	json_decref(all);
	links = json_pack("{s:o,s:o,s:o}", "self",
			  page_link(path, pg->size, pg->page), "first",
			  page_link(path, pg->size, 1), "last",
			  page_link(path, pg->size, pages));
	if (pg->page < pages)
		json_object_set_new(links, "next",
				    page_link(path, pg->size, pg->page + 1));
	if (pg->page > 1 && pg->page <= pages)
		json_object_set_new(links, "prev",
				    page_link(path, pg->size, pg->page - 1));
	return json_pack("{s:I,s:I,s:I,s:I,s:{s:o},s:o}", "page_size", pg->size,
			 "page", pg->page, "total_pages", pages, "total_items",
			 total, "_embedded", name, items, "_links", links);
}

/* The key's templates: the built-in set first, then its own. */
struct tpl_list {
	json_t *all;
	int has_default;
};

static int tpl_list_row(const struct vf_template *t, void *arg)
{
	struct tpl_list *l = arg;

	l->has_default |= t->is_default;
	json_array_append_new(l->all,
			      v2_template_json(t->id, t->name, t->is_default));
	return 0;
}

static int frag_list_row(const struct vf_fragment *f, void *arg)
{
	json_array_append_new(arg, fragment_json(f));
	return 0;
}

/* ---- the answers ---- */

static void answer_store_error(struct http_req *req, int rc)
{
	v2_problem(req, rc == KV_ENOTFOUND ? V2_NO_ROUTE : V2_INTERNAL, NULL, 0,
		   NULL, NULL);
}

static void answer_list(struct tpl_ctx *ctx)
{
	const char *path = ctx->base.req->path;
	int64_t key_id = ctx->base.call.key_id;
	struct paging pg;
	json_t *all = json_array();
	int rc;

	if (paging_read(ctx, &pg) != 0)
		goto out;
	if (ctx->nseg == 0) {
		struct tpl_list l = {json_array(), 0};

		rc = verify_templates_list(key_id, tpl_list_row, &l);
		json_array_append_new(all, v2_builtin_json(!l.has_default));
		json_array_extend(all, l.all);
		json_decref(l.all);
	} else if (v2_builtin_is(ctx->seg[0])) {
		json_t *b = v2_builtin_fragments();

		rc = 0;
		json_array_extend(all, b);
		json_decref(b);
	} else {
		struct vf_template t;

		rc = verify_template_get(key_id, ctx->seg[0], &t);
		if (rc == 0)
			rc = verify_fragments_list(key_id, t.id, frag_list_row,
						   all);
	}
	if (rc != 0) {
		answer_store_error(ctx->base.req, rc);
		goto out;
	}
	v2_reply(ctx->base.req, 200,
		 page_json(path, ctx->nseg ? FRAGMENTS : "templates", all,
			   &pg));
	return;
out:
	json_decref(all);
}

static void answer_one(struct tpl_ctx *ctx)
{
	int64_t key_id = ctx->base.call.key_id;
	struct vf_template t;
	struct vf_fragment f;
	json_t *o = NULL;
	int rc = 0;

	if (v2_builtin_is(ctx->seg[0])) {
		struct tpl_list l = {json_array(), 0};

		if (ctx->nseg == 1)
			rc = verify_templates_list(key_id, tpl_list_row, &l);
		json_decref(l.all);
		o = ctx->nseg == 1 ? v2_builtin_json(!l.has_default)
				   : v2_builtin_fragment(ctx->seg[2]);
		if (rc == 0 && !o)
			rc = KV_ENOTFOUND;
	} else if (ctx->nseg == 1) {
		rc = verify_template_get(key_id, ctx->seg[0], &t);
		if (rc == 0)
			o = v2_template_json(t.id, t.name, t.is_default);
	} else {
		rc = verify_fragment_get(key_id, ctx->seg[0], ctx->seg[2], &f);
		if (rc == 0)
			o = fragment_json(&f);
	}
	if (rc != 0) {
		json_decref(o);
		answer_store_error(ctx->base.req, rc);
		return;
	}
	v2_reply(ctx->base.req, 200, o);
}

/* ---- writes: the body, checked, becomes ctx->op ---- */

static void invalid_add(json_t *inv, const char *name, const char *reason)
{
	json_array_append_new(inv, json_pack("{s:s,s:s}", "name", name,
					     "reason", reason));
}

/* A string member (NULL when absent); another type is invalid. */
static const char *str_member(json_t *body, const char *name, json_t *inv)
{
	json_t *v = json_object_get(body, name);

	if (v && !json_is_string(v))
		invalid_add(inv, name, "Must be a string.");
	return json_string_value(v);
}

static void template_read(struct tpl_ctx *ctx, json_t *inv, int create)
{
	struct tpl_op *op = &ctx->op;
	const char *name = str_member(ctx->body, "name", inv);
	json_t *dflt = json_object_get(ctx->body, "is_default");

	if (name && (!*name || strlen(name) > TEMPLATE_NAME_MAX))
		invalid_add(inv, "name", "1 to 64 bytes.");
	else if (name)
		memcpy(op->t.name, name, strlen(name) + 1);
	else if (create && !json_object_get(ctx->body, "name"))
		invalid_add(inv, "name", "A name is required.");
	if (dflt && !json_is_boolean(dflt))
		invalid_add(inv, "is_default", "Must be a boolean.");
	op->set_name = name != NULL;
	op->set_default = json_is_boolean(dflt);
	op->t.is_default = json_is_true(dflt);
}

/* The text of a fragment of `channel` and `locale`, checked into op->f. */
static void text_read(struct tpl_ctx *ctx, json_t *inv, const char *channel,
		      const char *locale)
{
	const char *text = str_member(ctx->body, "text", inv);
	const char *why = text ? v2_fragment_text_check(text) : NULL;
	int voice = channel && strcmp(channel, "voice") == 0;
	struct vf_fragment *f = &ctx->op.f;
	const struct sms_template *t;

	if (!text) {
		if (!json_object_get(ctx->body, "text"))
			invalid_add(inv, "text", "A text is required.");
		return;
	}
	if (!why && voice)
		why = v2_voice_text_check(text);
	if (why) {
		invalid_add(inv, "text", why);
		return;
	}
	memcpy(f->text, text, strlen(text) + 1);
	if (!channel || strcmp(channel, "sms") != 0 || !locale)
		return;
	/* DLT: the SMS goes out as a registered text, or not at all. */
	t = v2_dlt_match(locale, text);
	if (!t) {
		invalid_add(inv, "text",
			    "Not a registered DLT template: an sms text must "
			    "be one of this server's registered DLT texts for "
			    "the locale, with ${code}, ${brand} and "
			    "${time-limit} in its slots (see the built-in "
			    "template's fragments).");
		return;
	}
	snprintf(f->dlt_template_id, sizeof(f->dlt_template_id), "%s",
		 t->template_id);
	snprintf(f->dlt_entity_id, sizeof(f->dlt_entity_id), "%s",
		 t->entity_id);
}

static void fragment_read(struct tpl_ctx *ctx, json_t *inv)
{
	const char *channel = str_member(ctx->body, "channel", inv);
	const char *locale = str_member(ctx->body, "locale", inv);
	const char *lg = locale ? vonage_lg_find(locale) : NULL;
	struct vf_fragment *f = &ctx->op.f;

	if (!channel)
		invalid_add(inv, "channel", "A channel is required.");
	else if (strcmp(channel, "sms") != 0 && strcmp(channel, "voice") != 0)
		invalid_add(inv, "channel", "Must be sms or voice.");
	if (!lg)
		invalid_add(inv, "locale", "One of Vonage's locales.");
	else
		memcpy(f->locale, lg, strlen(lg) + 1);
	if (channel && strlen(channel) < sizeof(f->channel))
		memcpy(f->channel, channel, strlen(channel) + 1);
	text_read(ctx, inv, channel, lg);
}

/* A fragment's update: the text, checked for the fragment's channel and
 * locale (read here; the write finds it again). 0, or a store error. */
static int fragment_patch_read(struct tpl_ctx *ctx, json_t *inv)
{
	struct vf_fragment cur;
	int rc = verify_fragment_get(ctx->base.call.key_id, ctx->seg[0],
				     ctx->seg[2], &cur);

	if (rc == 0)
		text_read(ctx, inv, cur.channel, cur.locale);
	return rc;
}

static void conflict(struct http_req *req, const struct tpl_op *op,
		     enum tpl_result r)
{
	char why[TEMPLATE_NAME_MAX + 160];

	if (r == TPL_DUP_NAME)
		snprintf(why, sizeof(why),
			 "This key has a template named '%s' already.",
			 op->t.name);
	else if (r == TPL_DUP_FRAGMENT)
		snprintf(why, sizeof(why),
			 "The template has a %s fragment for %s already.",
			 op->f.channel, op->f.locale);
	else if (r == TPL_HAS_FRAGMENTS)
		snprintf(why, sizeof(why),
			 "The template has fragments: delete them first.");
	else
		snprintf(why, sizeof(why),
			 "This key has %d templates, the most it may have.",
			 TEMPLATES_PER_KEY_MAX);
	v2_problem(req, V2_CONFLICT, why, 0, NULL, NULL);
}

static void write_then(struct api_ctx *base, int rc)
{
	struct tpl_ctx *ctx = (struct tpl_ctx *)base;
	const struct tpl_op *op = &ctx->op;
	enum tpl_result r = verify_template_result(op, rc);

	if (r == TPL_NOT_FOUND)
		v2_problem(base->req, V2_NO_ROUTE, NULL, 0, NULL, NULL);
	else if (r == TPL_ERROR)
		v2_problem(base->req, V2_INTERNAL, NULL, 0, NULL, NULL);
	else if (r != TPL_OK)
		conflict(base->req, op, r);
	else if (op->what == TPL_DELETE || op->what == FRAG_DELETE)
		v2_send_empty(base->req, 204);
	else if (op->what == TPL_CREATE || op->what == TPL_UPDATE)
		v2_reply(base->req, op->what == TPL_CREATE ? 201 : 200,
			 v2_template_json(op->t.id, op->t.name,
					  op->t.is_default));
	else
		v2_reply(base->req, op->what == FRAG_CREATE ? 201 : 200,
			 fragment_json(&op->f));
}

/* Which write a method on a path of n segments asks for, or -1. */
static int write_of(enum http_method m, int n)
{
	static const struct {
		enum http_method m;
		int n;
		enum tpl_write what;
	} writes[] = {
		{HTTP_POST, 0, TPL_CREATE},   {HTTP_PATCH, 1, TPL_UPDATE},
		{HTTP_DELETE, 1, TPL_DELETE}, {HTTP_POST, 2, FRAG_CREATE},
		{HTTP_PATCH, 3, FRAG_UPDATE}, {HTTP_DELETE, 3, FRAG_DELETE},
	};

	for (size_t i = 0; i < ARRAY_LEN(writes); i++)
		if (writes[i].m == m && writes[i].n == n)
			return (int)writes[i].what;
	return -1;
}

static enum api_run answer_write(struct tpl_ctx *ctx, enum tpl_write what)
{
	struct tpl_op *op = &ctx->op;
	json_t *inv = json_array();
	int rc = 0;

	op->what = what;
	op->key_id = ctx->base.call.key_id;
	snprintf(op->t.id, sizeof(op->t.id), "%s", ctx->seg[0]);
	snprintf(op->f.template_id, sizeof(op->f.template_id), "%s",
		 ctx->seg[0]);
	snprintf(op->f.id, sizeof(op->f.id), "%s", ctx->seg[2]);
	if (what == TPL_CREATE || what == TPL_UPDATE)
		template_read(ctx, inv, what == TPL_CREATE);
	else if (what == FRAG_CREATE)
		fragment_read(ctx, inv);
	else if (what == FRAG_UPDATE)
		rc = fragment_patch_read(ctx, inv);
	if (rc == 0 && op->set_name && strcmp(op->t.name, V2_BUILTIN_NAME) == 0)
		invalid_add(inv, "name", "The built-in template's name.");
	if (rc != 0) {
		json_decref(inv);
		answer_store_error(ctx->base.req, rc);
		return API_RUN_DONE;
	}
	if (json_array_size(inv)) {
		v2_problem(ctx->base.req, V2_INVALID_PARAMS, NULL, 0, NULL,
			   inv);
		return API_RUN_DONE;
	}
	json_decref(inv);
	return api_ctx_write(&ctx->base, verify_template_run, op, write_then);
}

/* ---- routing ---- */

int v2_template_id_read(const char *s, size_t len,
			char out[TEMPLATE_ID_LEN + 1])
{
	if (len > TEMPLATE_ID_LEN)
		return -1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	out[len] = '\0';
	return 0;
}

/*
 * The path after /v2/verify/templates into ctx->seg: "" the list, "/ID"
 * a template, "/ID/template_fragments" its fragments, one more segment a
 * fragment (ids lower-cased).  Returns 0, or -1 for a path of another
 * shape.
 */
static int split_path(struct tpl_ctx *ctx)
{
	const char *rest = ctx->base.req->path + strlen(V2_TEMPLATES);
	int n = 0;

	while (*rest == '/' && n < 3) {
		size_t len = strcspn(rest + 1, "/");

		if (len == 0 || v2_template_id_read(rest + 1, len, ctx->seg[n]))
			return -1;
		n++;
		rest += len + 1;
	}
	ctx->nseg = n;
	if (*rest || (n >= 2 && strcmp(ctx->seg[1], FRAGMENTS) != 0))
		return -1;
	return 0;
}

static enum api_run templates_answer(struct tpl_ctx *ctx)
{
	struct http_req *req = ctx->base.req;
	int what = write_of(req->method, ctx->nseg);

	if (req->method == HTTP_GET) {
		if (ctx->nseg == 0 || ctx->nseg == 2)
			answer_list(ctx);
		else
			answer_one(ctx);
		return API_RUN_DONE;
	}
	if (what < 0) {
		v2_problem(req, V2_METHOD, NULL, 0, NULL, NULL);
		return API_RUN_DONE;
	}
	/* The DLT set is registered with DLT: it changes on disk only. */
	if (ctx->nseg > 0 && v2_builtin_is(ctx->seg[0])) {
		v2_problem(req, V2_FORBIDDEN, NULL, 0, NULL, NULL);
		return API_RUN_DONE;
	}
	ctx->body = v2_body_object(req);
	if (!ctx->body)
		return API_RUN_DONE;
	return answer_write(ctx, (enum tpl_write)what);
}

static enum api_run templates_run(struct api_ctx *base, enum api_fail f)
{
	struct tpl_ctx *ctx = (struct tpl_ctx *)base;

	if (f != API_READY)
		v2_refuse(base->req, f);
	else if (split_path(ctx) != 0)
		v2_problem(base->req, V2_NO_ROUTE, NULL, 0, NULL, NULL);
	else
		return templates_answer(ctx);
	return API_RUN_DONE;
}

static void templates_release(struct api_ctx *base)
{
	json_decref(((struct tpl_ctx *)base)->body);
}

static const struct api_handler templates_handler = {
	sizeof(struct tpl_ctx), NULL, API_RAW_BODY | API_JWT_OK, templates_run,
	templates_release,
};

void v2_templates(struct http_req *req)
{
	api_serve(req, &templates_handler);
}
