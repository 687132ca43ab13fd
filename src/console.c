/*
 * The operator console over HTTP: its page (/operator/, static files from
 * the console_dir directory, under a strict Content-Security-Policy) and
 * its JSON endpoints (/operator/api/...), every one behind the operator
 * token (operator.h); no API key opens them.  The figures are
 * verify_console.c's.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "api.h"
#include "browser.h"
#include "console.h"
#include "err.h"
#include "http.h"
#include "jdump.h"
#include "log.h"
#include "operator.h"
#include "util.h"
#include "verify_console.h"

#define API_PREFIX "/operator/api/"

static const char page_policy[] =
	"default-src 'none'; script-src 'self'; style-src 'self'; "
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
	"form-action 'none'; frame-ancestors 'none'";
static const char data_policy[] = "default-src 'none'; frame-ancestors 'none'";

/* A console call, and the write it may need. */
struct console_ctx {
	struct api_ctx base;
	struct verify_console_op op;
};

static void reply_error(struct http_req *req, unsigned int status,
			const char *text)
{
	json_t *o = json_pack("{s:s}", "error", text);
	size_t len = 0;
	char *body = jdump_compact(o, &len);

	json_decref(o);
	http_reply(req, status, "application/json", body, len);
}

static void reply_obj(struct http_req *req, unsigned int status, json_t *o)
{
	size_t len = 0;
	char *body = jdump_compact(o, &len);

	json_decref(o);
	if (!body) {
		reply_error(req, 500, "out of memory");
		return;
	}
	http_reply(req, status, "application/json", body, len);
}

/* A read's answer: the object, or the error its code means. */
static enum api_run reply_read(struct http_req *req, int rc, json_t *o,
			       const char *missing)
{
	if (rc == 0)
		reply_obj(req, 200, o);
	else if (rc == KV_ENOTFOUND)
		reply_error(req, 404, missing);
	else
		reply_error(req, 500, "the store failed; try again");
	return API_RUN_DONE;
}

/*
 * An optional integer parameter in [min, max], default `def`: 0, or -1
 * with the error reply set.
 */
static int int_param(struct console_ctx *cc, const char *name, int min, int max,
		     int def, int *out)
{
	const char *v = api_param(&cc->base.call, name);
	char text[96];

	*out = def;
	if (!v || parse_int(v, min, max, out) == 0)
		return 0;
	snprintf(text, sizeof(text), "%s must be a whole number from %d to %d",
		 name, min, max);
	reply_error(cc->base.req, 400, text);
	return -1;
}

/*
 * A required text parameter of at most len - 1 bytes of [allowed], into
 * out: 0, or -1 with the error reply set.
 */
static int text_param(struct console_ctx *cc, const char *name,
		      const char *allowed, char *out, size_t len)
{
	const char *v = api_param(&cc->base.call, name);
	char text[128];

	if (v && strlen(v) < len && strspn(v, allowed) == strlen(v)) {
		memcpy(out, v, strlen(v) + 1);
		return 0;
	}
	snprintf(text, sizeof(text), "%s is %s", name,
		 v ? "not a valid value" : "missing");
	reply_error(cc->base.req, 400, text);
	return -1;
}

static enum api_run run_summary(struct console_ctx *cc)
{
	json_t *o = NULL;
	int minutes, rc;

	if (int_param(cc, "minutes", 1, CONSOLE_MINUTES_MAX, 60, &minutes))
		return API_RUN_DONE;
	rc = verify_console_summary(minutes, now_ms(), &o);
	return reply_read(cc->base.req, rc, o, "");
}

static enum api_run run_prefixes(struct console_ctx *cc)
{
	json_t *o = NULL;
	int minutes, limit, rc;

	if (int_param(cc, "minutes", 1, CONSOLE_MINUTES_MAX, 60, &minutes) ||
	    int_param(cc, "limit", 1, CONSOLE_LIST_MAX, 10, &limit))
		return API_RUN_DONE;
	rc = verify_console_prefixes(minutes, limit, now_ms(), &o);
	return reply_read(cc->base.req, rc, o, "");
}

static enum api_run run_blocks(struct console_ctx *cc)
{
	json_t *o = NULL;
	int rc = verify_console_blocks(now_ms(), &o);

	return reply_read(cc->base.req, rc, o, "");
}

static enum api_run run_keys(struct console_ctx *cc)
{
	json_t *o = NULL;
	int rc = verify_console_keys(&o);

	return reply_read(cc->base.req, rc, o, "");
}

static enum api_run run_recent(struct console_ctx *cc)
{
	json_t *o = NULL;
	int limit, rc;

	if (int_param(cc, "limit", 1, CONSOLE_LIST_MAX, 20, &limit))
		return API_RUN_DONE;
	rc = verify_console_recent(limit, &o);
	return reply_read(cc->base.req, rc, o, "");
}

static enum api_run run_timeline(struct console_ctx *cc)
{
	const char *id =
		cc->base.req->path + strlen(API_PREFIX "verifications/");
	json_t *o = NULL;
	int rc = verify_console_timeline(id, &o);

	return reply_read(cc->base.req, rc, o, "no verification has this id");
}

/* After a write: `ok` built by the caller, or the error its code means. */
static void reply_write(struct console_ctx *cc, int rc, json_t *ok,
			const char *missing)
{
	if (rc == 0) {
		reply_obj(cc->base.req, 200, ok);
		return;
	}
	json_decref(ok);
	if (rc == KV_ENOTFOUND)
		reply_error(cc->base.req, 404, missing);
	else
		reply_error(cc->base.req, 500, "the store failed; try again");
}

static void lift_then(struct api_ctx *ctx, int rc)
{
	struct console_ctx *cc = (struct console_ctx *)ctx;

	if (rc == 0)
		log_info("console.block_lifted",
			 LOG_STR("prefix", cc->op.prefix));
	reply_write(cc, rc,
		    json_pack("{s:s, s:b}", "prefix", cc->op.prefix, "lifted",
			      1),
		    "no block on this prefix is in force");
}

static enum api_run run_lift(struct console_ctx *cc)
{
	if (text_param(cc, "prefix", "0123456789", cc->op.prefix,
		       sizeof(cc->op.prefix)))
		return API_RUN_DONE;
	cc->op.now = now_ms();
	return api_ctx_write(&cc->base, verify_console_lift_run, &cc->op,
			     lift_then);
}

static void create_then(struct api_ctx *ctx, int rc)
{
	struct console_ctx *cc = (struct console_ctx *)ctx;

	if (rc == 0)
		log_info("console.key_created",
			 LOG_STR("api_key", cc->op.api_key));
	reply_write(cc, rc,
		    json_pack("{s:s, s:s, s:s, s:s}", "api_key", cc->op.api_key,
			      "api_secret", cc->op.api_secret, "name",
			      cc->op.name, "countries", cc->op.countries),
		    "");
	sodium_memzero(cc->op.api_secret, sizeof(cc->op.api_secret));
}

/* 1 when `s` is UTF-8 without control characters (a key's name). */
static int text_printable(const char *s)
{
	json_t *t = json_string(s);

	json_decref(t);
	if (!t)
		return 0;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	}
	return 1;
}

static enum api_run run_create(struct console_ctx *cc)
{
	const char *countries = api_param(&cc->base.call, "countries");
	const char *name = api_param(&cc->base.call, "name");

	if (!name || strlen(name) >= sizeof(cc->op.name) ||
	    !text_printable(name)) {
		reply_error(cc->base.req, 400,
			    "name is missing, longer than 63 bytes, not UTF-8 "
			    "or holds a control character");
		return API_RUN_DONE;
	}
	if (countries && !verify_console_countries_ok(countries)) {
		reply_error(cc->base.req, 400,
			    "countries must be * or ISO codes such as IN,GB");
		return API_RUN_DONE;
	}
	snprintf(cc->op.name, sizeof(cc->op.name), "%s", name);
	snprintf(cc->op.countries, sizeof(cc->op.countries), "%s",
		 countries ? countries : "IN");
	cc->op.now = now_ms();
	return api_ctx_write(&cc->base, verify_console_key_create_run, &cc->op,
			     create_then);
}

static void revoke_then(struct api_ctx *ctx, int rc)
{
	struct console_ctx *cc = (struct console_ctx *)ctx;

	if (rc == 0)
		log_info("console.key_revoked",
			 LOG_STR("api_key", cc->op.api_key));
	reply_write(cc, rc,
		    json_pack("{s:s, s:b}", "api_key", cc->op.api_key,
			      "revoked", 1),
		    "no active key has this id");
}

static enum api_run run_revoke(struct console_ctx *cc)
{
	/* Not `api_key`: that one is a credential (api_prepare). */
	if (text_param(cc, "key", "abcdefghijklmnopqrstuvwxyz0123456789_",
		       cc->op.api_key, sizeof(cc->op.api_key)))
		return API_RUN_DONE;
	cc->op.now = now_ms();
	return api_ctx_write(&cc->base, verify_console_key_revoke_run, &cc->op,
			     revoke_then);
}

/* An endpoint: the lifecycle's handler first, then the console's run. */
struct console_endpoint {
	struct api_handler base;
	enum api_run (*run)(struct console_ctx *cc);
};

static enum api_run console_run(struct api_ctx *ctx, enum api_fail f)
{
	struct console_ctx *cc = (struct console_ctx *)ctx;
	const struct console_endpoint *ep =
		(const struct console_endpoint *)ctx->handler;
	struct http_req *req = ctx->req;

	req->security_policy = data_policy;
	/* The operator's token, whatever tenant credential came with it. */
	if (!operator_request_ok(req)) {
		req->www_authenticate =
			"Bearer realm=\"kookooverify operator\"";
		reply_error(req, 401,
			    "the operator token is required "
			    "(Authorization: Bearer; kookooverify "
			    "operator-token prints it)");
		return API_RUN_DONE;
	}
	if (f == API_BAD_INPUT && ctx->call.params.error[0]) {
		reply_error(req, 400, ctx->call.params.error);
		return API_RUN_DONE;
	}
	if (f == API_BAD_INPUT || f == API_TOO_BIG) {
		reply_error(req, 400,
			    f == API_TOO_BIG ? "the request is too large"
					     : "the parameters are malformed");
		return API_RUN_DONE;
	}
	if (f == API_INTERNAL) {
		reply_error(req, 500, "the store failed; try again");
		return API_RUN_DONE;
	}
	return ep->run(cc);
}

/* One route handler per endpoint, each serving its table row. */
#define CONSOLE_ENDPOINT(fn, run_fn)                                           \
	static void fn(struct http_req *req)                                   \
	{                                                                      \
		static const struct console_endpoint ep = {                    \
			{sizeof(struct console_ctx), NULL, 0, console_run,     \
			 NULL},                                                \
			run_fn};                                               \
		api_serve(req, &ep.base);                                      \
	}

CONSOLE_ENDPOINT(api_summary, run_summary)
CONSOLE_ENDPOINT(api_prefixes, run_prefixes)
CONSOLE_ENDPOINT(api_blocks, run_blocks)
CONSOLE_ENDPOINT(api_lift, run_lift)
CONSOLE_ENDPOINT(api_keys, run_keys)
CONSOLE_ENDPOINT(api_create, run_create)
CONSOLE_ENDPOINT(api_revoke, run_revoke)
CONSOLE_ENDPOINT(api_recent, run_recent)
CONSOLE_ENDPOINT(api_timeline, run_timeline)

/* The page's directory (console_dir, found at start). */
static char page_dir[512] = "console";

void console_init(const struct config *cfg)
{
	char index[600];

	snprintf(page_dir, sizeof(page_dir), "%s", cfg->console_dir);
	snprintf(index, sizeof(index), "%s/index.html", page_dir);
	if (access(index, R_OK) != 0)
		log_warn("console.missing", LOG_STR("path", index));
}

static void console_page(struct http_req *req)
{
	const char *rest = req->path + strlen("/operator");

	req->security_policy = page_policy;
	if (*rest == '\0') {
		/* The page's relative URLs need the trailing slash. */
		req->location = "/operator/";
		http_reply_copy(req, 301, "text/plain", "");
		return;
	}
	rest++;
	browser_file(req, page_dir, *rest ? rest : "index.html");
}

const struct route console_routes[] = {
	{"/operator/api/summary", api_summary, HTTP_GET, 0, NULL},
	{"/operator/api/prefixes", api_prefixes, HTTP_GET, 0, NULL},
	{"/operator/api/blocks", api_blocks, HTTP_GET, 0, NULL},
	{"/operator/api/blocks/lift", api_lift, HTTP_POST, 0, NULL},
	{"/operator/api/keys", api_keys, HTTP_GET, 0, NULL},
	{"/operator/api/keys/create", api_create, HTTP_POST, 0, NULL},
	{"/operator/api/keys/revoke", api_revoke, HTTP_POST, 0, NULL},
	{"/operator/api/verifications", api_recent, HTTP_GET, 0, NULL},
	{"/operator/api/verifications/", api_timeline, HTTP_GET, 1, NULL},
	{"/operator", console_page, HTTP_GET | HTTP_HEAD, 0, NULL},
	/* The page's files, each by name: nothing else under /operator/. */
	{"/operator/", console_page, HTTP_GET | HTTP_HEAD, 0, NULL},
	{"/operator/console.js", console_page, HTTP_GET | HTTP_HEAD, 0, NULL},
	{"/operator/charts.js", console_page, HTTP_GET | HTTP_HEAD, 0, NULL},
	{"/operator/console.css", console_page, HTTP_GET | HTTP_HEAD, 0, NULL},
	{NULL, NULL, 0, 0, NULL},
};
