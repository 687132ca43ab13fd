/*
 * The Vonage (Nexmo) Verify v1 dialect: /verify/{json,xml} and its check,
 * search and control siblings.  Every value is a string, HTTP is always 200,
 * and every refusal goes through one table of codes and texts
 * (api_vonage_codes.c).  XML roots: verify_response (request, check; and a
 * search of several request_ids, which wraps <verification_requests>),
 * verify_request (search), response (control).
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "api_vonage.h"
#include "browser.h"
#include "engine.h"
#include "util.h"
#include "verify.h"

#define SEARCH_IDS_MAX 10
#define PRICE_ZERO "0.00000000"
#define CURRENCY "EUR"

/* ---- one call: its parameters and how it is answered ---- */

enum { ECHO_NONE, ECHO_EMPTY, ECHO_GIVEN };

/*
 * A call of a Vonage endpoint.  The pending write and the facts its reply
 * needs live here until the continuation has answered.
 */
struct vonage_ctx {
	struct api_ctx base;
	const char *root; /* XML root of the reply */
	int xml;          /* the path ends in /xml */
	const char *rid;  /* request_id of error replies, NULL for none */
	int wait;         /* Retry-After of a throttled call */
	struct verify_pending *pending;
	struct browser_redeem_op redeem; /* token: the redemption */
	const char *cmd_name;            /* control: the command given */
	char number[16];                 /* check: the verification's number */
	char block_reason[96];      /* request: why the number is blocked */
	struct verify_idem_op idem; /* request: its Idempotency-Key's write */
};

struct vonage_endpoint {
	struct api_handler h;
	const char *root; /* XML root element */
	int echo_id;      /* ECHO_*: request_id in error replies */
	enum api_run (*run)(struct vonage_ctx *ctx);
};

static json_t *status_string(int status)
{
	char s[12];

	snprintf(s, sizeof(s), "%d", status);
	return json_string(s);
}

static void vonage_send(struct vonage_ctx *ctx, json_t *o)
{
	if (ctx->xml)
		api_reply_xml(ctx->base.req, ctx->root, o);
	else
		api_reply_json(ctx->base.req, o);
}

/* The only place a condition becomes a reply. */
static void vonage_fail(struct vonage_ctx *ctx, enum vonage_cond cond,
			const char *arg)
{
	char text[VONAGE_TEXT_MAX];
	unsigned int flags = vonage_cond_flags(cond);
	int status;
	json_t *o;

	if (flags & VONAGE_F_JUNK)
		api_call_junk(&ctx->base.call);
	/* A throttle found by api_prepare() has set its own wait already. */
	if ((flags & VONAGE_F_RETRY) && !ctx->base.req->retry_after[0])
		api_retry_after(ctx->base.req, ctx->wait);
	if (flags & VONAGE_F_RESEND)
		api_retry_after(ctx->base.req, ctx->wait > 0 ? ctx->wait : 1);
	if (flags & VONAGE_F_RID) {
		ctx->rid = arg;
		arg = NULL;
	}
	status = vonage_error_text(cond, arg, text, sizeof(text));
	o = json_object();
	if (ctx->rid)
		json_object_set_new(o, "request_id", json_string(ctx->rid));
	json_object_set_new(o, "status", status_string(status));
	json_object_set_new(o, "error_text", json_string(text));
	/* Our extension: the wait in the body too, for pages and scripts. */
	if (flags & VONAGE_F_RESEND)
		json_object_set_new(o, "resend_in",
				    status_string(ctx->wait > 0 ? ctx->wait
								: 1));
	vonage_send(ctx, o);
}

/*
 * A service result through a reply table: `id` is the call's request_id,
 * `bad` the parameter the service refused, `rid` the request id it gave.
 */
static void vonage_fail_reply(struct vonage_ctx *ctx,
			      const struct vonage_reply *rp, const char *id,
			      const char *bad, const char *rid)
{
	const char *const args[] = {
		[VONAGE_ARG_ID] = id,
		[VONAGE_ARG_BAD] = bad ? bad : rp->dflt,
		[VONAGE_ARG_RID] = rid,
		[VONAGE_ARG_DEFAULT] = rp->dflt,
	};
	const char *arg = args[rp->arg];
	char text[VONAGE_TEXT_MAX];

	if (rp->wrap) {
		api_text_format(text, sizeof(text), rp->wrap, arg, 0);
		arg = text;
	}
	vonage_fail(ctx, rp->cond, arg);
}

/*
 * The handle a call through a publishable key proves its verification
 * with: what the page sent, "" for nothing (which matches none); NULL for
 * a secret key, whose calls are not bound to a page.
 */
static const char *page_handle(const struct vonage_ctx *ctx)
{
	const char *h = api_param(&ctx->base.call, "handle");

	if (!ctx->base.call.publishable)
		return NULL;
	return h ? h : "";
}

static int path_is_xml(const char *path)
{
	size_t n = path ? strlen(path) : 0;

	return n >= 4 && strcmp(path + n - 4, "/xml") == 0;
}

/* The shared front: parameters, credentials and duplicates, then the run. */
static enum api_run vonage_run(struct api_ctx *base, enum api_fail f)
{
	struct vonage_ctx *ctx = (struct vonage_ctx *)base;
	const struct vonage_endpoint *ep =
		(const struct vonage_endpoint *)base->handler;
	const char *const rids[] = {
		[ECHO_NONE] = NULL,
		[ECHO_EMPTY] = "",
		[ECHO_GIVEN] = params_get(&base->call.params, "request_id"),
	};
	const char *arg = NULL;

	ctx->root = ep->root;
	ctx->xml = path_is_xml(base->req->path);
	ctx->rid = rids[ep->echo_id];
	if (ep->echo_id == ECHO_GIVEN && !ctx->rid)
		ctx->rid = "";
	if (f == API_READY && base->call.duplicate) {
		vonage_fail(ctx, VONAGE_BAD_VALUE, base->call.duplicate);
		return API_RUN_DONE;
	}
	if (f == API_READY)
		return ep->run(ctx);
	if (f == API_BAD_INPUT)
		arg = base->call.params.error;
	else if (f == API_NO_CREDENTIALS)
		arg = api_param(&base->call, "api_key") ? "api_secret"
							: "api_key";
	vonage_fail(ctx, vonage_admit_conds[f], arg);
	return API_RUN_DONE;
}

/* The usual write of an endpoint: the verification's pending one. */
static enum api_run vonage_write(struct vonage_ctx *ctx,
				 void (*then)(struct api_ctx *base, int rc))
{
	return api_ctx_write(&ctx->base, verify_pending_run, ctx->pending,
			     then);
}

/* ---- request ---- */

static void vonage_request_reply(struct vonage_ctx *ctx, enum verify_result r,
				 const char *rid, const char *handle,
				 const char *bad, const char *did,
				 int expires_in)
{
	json_t *o;

	if (vonage_request_replies[r].cond != VONAGE_OK) {
		vonage_fail_reply(ctx, &vonage_request_replies[r], NULL, bad,
				  rid);
		return;
	}
	o = json_object();
	json_object_set_new(o, "request_id", json_string(rid));
	json_object_set_new(o, "status", json_string("0"));
	/* The page's proof that this verification is its own. */
	if (handle && *handle)
		json_object_set_new(o, "handle", json_string(handle));
	/* This server's extension: the number to give a missed call to. */
	if (did && *did) {
		json_object_set_new(o, "missed_call_number", json_string(did));
		json_object_set_new(o, "missed_call_expires_in",
				    status_string(expires_in));
	}
	vonage_send(ctx, o);
}

static void vonage_request_then(struct api_ctx *base, int rc)
{
	struct vonage_ctx *ctx = (struct vonage_ctx *)base;
	char rid[ENGINE_REQUEST_ID_LEN + 1];
	char handle[CRYPTO_HANDLE_LEN + 1];
	char did[17];
	int expires_in = 0;
	enum verify_result r;

	verify_request_missed(ctx->pending, did, &expires_in);
	r = verify_request_finish(ctx->pending, rc, rid, handle, &ctx->wait);
	/* Two copies of one keyed request raced: both answer with the first. */
	if (r == VERIFY_CONCURRENT && api_idem_raced(&ctx->idem, rid))
		r = VERIFY_OK;
	vonage_request_reply(ctx, r, rid, handle, NULL, did, expires_in);
}

/*
 * A secret key's request with an Idempotency-Key: the record of an
 * earlier one answers (its request_id, status 0), or ctx->idem is set for
 * this one's write.  The request is its parameters.  Returns 1 when the
 * call is answered.
 */
static int vonage_idem_begin(struct vonage_ctx *ctx)
{
	char rid[ENGINE_REQUEST_ID_LEN + 1];
	unsigned char hash[32];

	api_params_hash(&ctx->base.call, hash);
	switch (api_idem_begin(&ctx->base.call, hash, &ctx->idem, rid)) {
	case API_IDEM_NONE:
	case API_IDEM_NEW:
		return 0;
	case API_IDEM_REPLAY:
		vonage_request_reply(ctx, VERIFY_OK, rid, NULL, NULL, NULL, 0);
		return 1;
	case API_IDEM_BAD_KEY:
	case API_IDEM_MISMATCH:
		vonage_fail(ctx, VONAGE_BAD_VALUE, "Idempotency-Key");
		return 1;
	default:
		vonage_fail(ctx, VONAGE_INTERNAL, NULL);
		return 1;
	}
}

/*
 * A page's visitor sets only the number, brand, language and country: a
 * workflow, timing or PIN of their choosing would be the site's to decide.
 * Returns the first parameter a publishable key may not set, or NULL.
 */
static const char *pk_refused_param(struct vonage_ctx *ctx)
{
	static const char *const refused[] = {
		"pin_code",
		"code_length",
		"workflow_id",
		"pin_expiry",
		"next_event_wait",
		"sender_id",
		/* the page's own origin is the one its SMS names */
		"origin",
	};

	for (size_t i = 0; i < ARRAY_LEN(refused); i++)
		if (params_count(&ctx->base.call.params, refused[i]))
			return refused[i];
	return NULL;
}

static enum api_run vonage_request_run(struct vonage_ctx *ctx)
{
	struct verify_request_in in;
	char host[API_AUTOFILL_HOST_MAX];
	const char *bad = NULL;
	enum verify_result r;
	int rc;

	memset(&in, 0, sizeof(in));
	in.number = api_param(&ctx->base.call, "number");
	in.brand = api_param(&ctx->base.call, "brand");
	if (ctx->base.call.brand[0]) {
		/* A key with a fixed brand names it, whatever the page says. */
		if (in.brand && strcmp(in.brand, ctx->base.call.brand) != 0) {
			vonage_fail(ctx, VONAGE_PK_BRAND, ctx->base.call.brand);
			return API_RUN_DONE;
		}
		in.brand = ctx->base.call.brand;
	}
	if (!in.number || !in.brand) {
		vonage_fail(ctx, VONAGE_MISSING,
			    in.number ? "brand" : "number");
		return API_RUN_DONE;
	}
	if (ctx->base.call.publishable &&
	    (bad = pk_refused_param(ctx)) != NULL) {
		vonage_fail(ctx, VONAGE_PK_PARAM, bad);
		return API_RUN_DONE;
	}
	/* Custom PINs are an account capability Vonage sells; we have none. */
	if (api_param(&ctx->base.call, "pin_code")) {
		vonage_fail(ctx, VONAGE_PIN_CODE, NULL);
		return API_RUN_DONE;
	}
	bad = vonage_request_read(&ctx->base.call.params, &in);
	if (bad) {
		vonage_fail(ctx, VONAGE_BAD_VALUE, bad);
		return API_RUN_DONE;
	}
	rc = api_autofill_read(&ctx->base.call, &in, host, sizeof(host), &bad);
	if (rc != 0) {
		vonage_fail(ctx, bad ? VONAGE_BAD_INPUT : VONAGE_INTERNAL, bad);
		return API_RUN_DONE;
	}
	/* A page retries by its handle instead. */
	if (!ctx->base.call.publishable && vonage_idem_begin(ctx))
		return API_RUN_DONE;
	in.countries = ctx->base.call.countries;
	in.block_reason = ctx->block_reason;
	in.block_reason_len = sizeof(ctx->block_reason);
	if (ctx->base.call.publishable) {
		in.browser_ip = ctx->base.req->client_ip;
		in.publishable = 1;
		in.handle = api_param(&ctx->base.call, "handle");
	}
	r = verify_request_start(ctx->base.call.key_id, &in, &bad, &ctx->wait,
				 &ctx->pending);
	if (r == VERIFY_PENDING && ctx->idem.idem_key) {
		ctx->idem.p = ctx->pending;
		return api_ctx_write(&ctx->base, verify_idem_run, &ctx->idem,
				     vonage_request_then);
	}
	if (r == VERIFY_PENDING)
		return vonage_write(ctx, vonage_request_then);
	vonage_request_reply(ctx, r, NULL, NULL, bad, NULL, 0);
	return API_RUN_DONE;
}

/* ---- check ---- */

/*
 * A check through a publishable key proves the number to the page, which
 * the site's backend cannot trust: the reply carries a signed token the
 * backend can.
 */
static int add_token(struct vonage_ctx *ctx, json_t *o, const char *id,
		     const char *number)
{
	char token[VTOKEN_MAX];

	if (browser_token_issue(ctx->base.call.api_key, id, number, token) != 0)
		return -1;
	return json_object_set_new(o, "token", json_string(token));
}

static void vonage_check_ok(struct vonage_ctx *ctx, const char *id)
{
	char event_id[17];
	size_t i;
	json_t *o = json_object();

	/* A stable id of the one successful check: the request's first half. */
	for (i = 0; i < sizeof(event_id) - 1 && id[i]; i++)
		event_id[i] = (char)(id[i] >= 'a' && id[i] <= 'f'
					     ? id[i] - 'a' + 'A'
					     : id[i]);
	event_id[i] = '\0';
	json_object_set_new(o, "request_id", json_string(id));
	json_object_set_new(o, "event_id", json_string(event_id));
	json_object_set_new(o, "status", json_string("0"));
	json_object_set_new(o, "price", json_string(PRICE_ZERO));
	json_object_set_new(o, "currency", json_string(CURRENCY));
	if (ctx->base.call.publishable &&
	    add_token(ctx, o, id, ctx->number) != 0) {
		json_decref(o);
		vonage_fail(ctx, VONAGE_INTERNAL, NULL);
		return;
	}
	vonage_send(ctx, o);
}

static void vonage_check_reply(struct vonage_ctx *ctx, enum verify_result r,
			       enum check_outcome oc)
{
	const char *id = api_param(&ctx->base.call, "request_id");
	enum vonage_cond cond = r == VERIFY_OK ? vonage_check_conds[oc]
					       : vonage_id_conds[r];

	if (cond != VONAGE_OK)
		vonage_fail(ctx, cond, id);
	else
		vonage_check_ok(ctx, id);
}

static void vonage_check_then(struct api_ctx *base, int rc)
{
	struct vonage_ctx *ctx = (struct vonage_ctx *)base;
	enum check_outcome oc = CHECK_OK;
	enum verify_result r =
		verify_check_finish(ctx->pending, rc, &oc, ctx->number);

	ctx->wait = 0;
	vonage_check_reply(ctx, r, oc);
}

static enum api_run vonage_check_run(struct vonage_ctx *ctx)
{
	const char *id = api_param(&ctx->base.call, "request_id");
	const char *code = api_param(&ctx->base.call, "code");
	enum verify_result r;

	if (!id || !code) {
		vonage_fail(ctx, VONAGE_MISSING, id ? "code" : "request_id");
		return API_RUN_DONE;
	}
	if (!vonage_code_valid(code)) {
		vonage_fail(ctx, VONAGE_BAD_VALUE, "code");
		return API_RUN_DONE;
	}
	r = verify_check_start(ctx->base.call.key_id, id, page_handle(ctx),
			       code, ctx->base.req->client_ip, &ctx->wait,
			       &ctx->pending);
	if (r == VERIFY_PENDING)
		return vonage_write(ctx, vonage_check_then);
	vonage_check_reply(ctx, r, CHECK_OK);
	return API_RUN_DONE;
}

/* ---- search ---- */

static int check_to_json(const struct vf_check *ch, void *arg)
{
	json_t *c = json_object();

	json_object_set_new(c, "date_received", api_datetime(ch->created_ms));
	json_object_set_new(c, "code", json_string(ch->code));
	json_object_set_new(c, "status",
			    json_string(ch->valid ? "VALID" : "INVALID"));
	json_object_set_new(c, "ip_address", json_string(ch->ip));
	return json_array_append_new(arg, c);
}

static int event_to_json(const struct vf_event *ev, void *arg)
{
	const char *type = vonage_event_type(ev);
	json_t *e;

	if (!type)
		return 0;
	e = json_object();
	json_object_set_new(e, "type", json_string(type));
	json_object_set_new(e, "id", json_string(ev->provider_id));
	return json_array_append_new(arg, e);
}

/* Adds a string member (`value` may be NULL for ""). */
static void set_str(json_t *o, const char *name, const char *value)
{
	json_object_set_new(o, name, json_string(value ? value : ""));
}

/* The search object of one verification, or NULL (*r says why). */
static json_t *search_object(struct vonage_ctx *ctx, const char *id,
			     enum verify_result *r)
{
	struct vf_record rec;
	json_t *o = NULL, *checks = json_array(), *events = json_array();

	*r = verify_search(ctx->base.call.key_id, id, page_handle(ctx), &rec);
	if (*r != VERIFY_OK)
		goto out;
	if (verify_checks_foreach(&rec, check_to_json, checks) != 0 ||
	    verify_events_foreach(&rec, event_to_json, events) != 0) {
		*r = VERIFY_ERROR;
		goto out;
	}
	o = json_object();
	set_str(o, "request_id", rec.v.request_id);
	set_str(o, "account_id", ctx->base.call.api_key);
	set_str(o, "number", rec.number);
	set_str(o, "sender_id", rec.sender_id[0] ? rec.sender_id : "verify");
	json_object_set_new(o, "date_submitted",
			    api_datetime(rec.v.created_ms));
	json_object_set_new(o, "date_finalized",
			    api_datetime(rec.v.finalized_ms));
	json_object_set_new(o, "first_event_date",
			    api_datetime(rec.first_event_ms));
	json_object_set_new(o, "last_event_date",
			    api_datetime(rec.last_event_ms));
	set_str(o, "price", PRICE_ZERO);
	set_str(o, "currency", CURRENCY);
	set_str(o, "estimated_price_messages_sent", PRICE_ZERO);
	set_str(o, "status", engine_state_name(rec.v.state));
	json_object_set_new(o, "checks", checks);
	json_object_set_new(o, "events", events);
	/* A page learns of a missed call (or a key press) by its search. */
	if (ctx->base.call.publishable && rec.v.state == VF_SUCCESS &&
	    add_token(ctx, o, rec.v.request_id, rec.number) != 0) {
		json_decref(o);
		*r = VERIFY_ERROR;
		return NULL;
	}
	return o;
out:
	json_decref(checks);
	json_decref(events);
	return NULL;
}

static void search_one(struct vonage_ctx *ctx, const char *id)
{
	enum verify_result r;
	json_t *o = search_object(ctx, id, &r);

	if (o)
		vonage_send(ctx, o);
	else
		vonage_fail(ctx, vonage_search_conds[r], NULL);
}

/* Several ids: the ones found, in order; unknown ids are left out. */
static void search_many(struct vonage_ctx *ctx, const char **ids, size_t n)
{
	json_t *list = json_array(), *o;
	enum verify_result r;
	size_t given = 0;

	for (size_t i = 0; i < n; i++) {
		if (!*ids[i])
			continue;
		given++;
		o = search_object(ctx, ids[i], &r);
		if (o) {
			json_array_append_new(list, o);
		} else if (r != VERIFY_NOT_FOUND) {
			json_decref(list);
			vonage_fail(ctx, VONAGE_INTERNAL, NULL);
			return;
		}
	}
	if (json_array_size(list) == 0) {
		json_decref(list);
		vonage_fail(ctx, given ? VONAGE_NO_RESPONSE : VONAGE_MISSING,
			    given ? NULL : "request_id");
		return;
	}
	o = json_object();
	json_object_set_new(o, "verification_requests", list);
	ctx->root = "verify_response";
	vonage_send(ctx, o);
}

static enum api_run vonage_search_run(struct vonage_ctx *ctx)
{
	const char *ids[SEARCH_IDS_MAX];
	const char *id = api_param(&ctx->base.call, "request_id");
	size_t n;

	if (id) {
		search_one(ctx, id);
		return API_RUN_DONE;
	}
	if (ctx->base.call.publishable) {
		/* A page looks up the one verification it started. */
		if (params_count(&ctx->base.call.params, "request_ids"))
			vonage_fail(ctx, VONAGE_PK_PARAM, "request_ids");
		else
			vonage_fail(ctx, VONAGE_MISSING, "request_id");
		return API_RUN_DONE;
	}
	n = params_get_all(&ctx->base.call.params, "request_ids", ids,
			   SEARCH_IDS_MAX);
	if (n > SEARCH_IDS_MAX)
		vonage_fail(ctx, VONAGE_BAD_VALUE, "request_ids");
	else
		search_many(ctx, ids, n);
	return API_RUN_DONE;
}

/* ---- control ---- */

static void vonage_control_reply(struct vonage_ctx *ctx, enum verify_result r,
				 enum control_outcome oc)
{
	const char *id = api_param(&ctx->base.call, "request_id");
	enum vonage_cond cond = r == VERIFY_OK ? vonage_control_conds[oc]
					       : vonage_id_conds[r];
	json_t *o;

	if (cond != VONAGE_OK) {
		vonage_fail(ctx, cond, id);
		return;
	}
	o = json_object();
	json_object_set_new(o, "status", json_string("0"));
	json_object_set_new(o, "command", json_string(ctx->cmd_name));
	if (ctx->wait > 0)
		json_object_set_new(o, "resend_in", status_string(ctx->wait));
	vonage_send(ctx, o);
}

static void vonage_control_then(struct api_ctx *base, int rc)
{
	struct vonage_ctx *ctx = (struct vonage_ctx *)base;
	enum control_outcome oc = CONTROL_OK;
	enum verify_result r =
		verify_control_finish(ctx->pending, rc, &oc, &ctx->wait);

	vonage_control_reply(ctx, r, oc);
}

static enum api_run vonage_control_run(struct vonage_ctx *ctx)
{
	static const struct {
		const char *name;
		enum verify_cmd cmd;
	} cmds[] = {
		{"cancel", CMD_CANCEL},
		{"trigger_next_event", CMD_TRIGGER_NEXT},
		{"resend", CMD_RESEND},
	};
	const char *id = api_param(&ctx->base.call, "request_id");
	const char *cmd = api_param(&ctx->base.call, "cmd");
	enum verify_result r;
	size_t i;

	if (!id || !cmd) {
		vonage_fail(ctx, VONAGE_MISSING, id ? "cmd" : "request_id");
		return API_RUN_DONE;
	}
	for (i = 0; i < ARRAY_LEN(cmds); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			break;
	if (i == ARRAY_LEN(cmds)) {
		vonage_fail(ctx, VONAGE_BAD_VALUE, "cmd");
		return API_RUN_DONE;
	}
	/* A page may stop or resend its own; moving the workflow is not its. */
	if (ctx->base.call.publishable && cmds[i].cmd == CMD_TRIGGER_NEXT) {
		vonage_fail(ctx, VONAGE_PK_PARAM, "cmd=trigger_next_event");
		return API_RUN_DONE;
	}
	ctx->cmd_name = cmds[i].name;
	r = verify_control_start(ctx->base.call.key_id, id, page_handle(ctx),
				 cmds[i].cmd, 1, &ctx->pending);
	if (r == VERIFY_PENDING)
		return vonage_write(ctx, vonage_control_then);
	vonage_control_reply(ctx, r, CONTROL_OK);
	return API_RUN_DONE;
}

/* ---- verification tokens (secret keys: the site's backend) ---- */

/* A redemption's answer; every refusal names the token parameter. */
static const enum vonage_cond redeem_conds[] = {
	[REDEEM_OK] = VONAGE_OK,
	[REDEEM_INVALID] = VONAGE_BAD_VALUE,
	[REDEEM_EXPIRED] = VONAGE_TOKEN_EXPIRED,
	[REDEEM_USED] = VONAGE_TOKEN_USED,
	[REDEEM_ERROR] = VONAGE_INTERNAL,
	[REDEEM_PENDING] = VONAGE_INTERNAL, /* never: a write ran */
};

static void vonage_token_reply(struct vonage_ctx *ctx, enum browser_redeem r)
{
	const struct vtoken_claims *c = &ctx->redeem.claims;
	json_t *o;

	if (redeem_conds[r] != VONAGE_OK) {
		vonage_fail(ctx, redeem_conds[r], "token");
		return;
	}
	o = json_object();
	set_str(o, "status", "0");
	set_str(o, "number", c->number);
	set_str(o, "request_id", c->request_id);
	set_str(o, "api_key", c->api_key);
	json_object_set_new(o, "verified_at", api_datetime(c->iat * 1000));
	json_object_set_new(o, "expires_at", api_datetime(c->exp * 1000));
	set_str(o, "token_id", c->jti);
	vonage_send(ctx, o);
}

static void vonage_token_then(struct api_ctx *base, int rc)
{
	struct vonage_ctx *ctx = (struct vonage_ctx *)base;

	vonage_token_reply(ctx, browser_redeem_finish(&ctx->redeem, rc));
}

static enum api_run vonage_token_run(struct vonage_ctx *ctx)
{
	const char *token = api_param(&ctx->base.call, "token");
	const char *once = api_param(&ctx->base.call, "single_use");
	enum browser_redeem r;

	if (!token) {
		vonage_fail(ctx, VONAGE_MISSING, "token");
		return API_RUN_DONE;
	}
	if (once && strcmp(once, "true") != 0 && strcmp(once, "false") != 0) {
		vonage_fail(ctx, VONAGE_BAD_VALUE, "single_use");
		return API_RUN_DONE;
	}
	r = browser_redeem_start(token, once && strcmp(once, "true") == 0,
				 ctx->base.call.key_id, &ctx->redeem);
	if (r == REDEEM_PENDING)
		return api_ctx_write(&ctx->base, browser_redeem_run,
				     &ctx->redeem, vonage_token_then);
	vonage_token_reply(ctx, r);
	return API_RUN_DONE;
}

/* ---- routes ---- */

static const char *const request_single[] = {
	"number",      "country", "brand",      "sender_id",
	"code_length", "lg",      "pin_expiry", "next_event_wait",
	"workflow_id", "handle",  "origin",     "app_hash",
	NULL,
};
static const char *const check_single[] = {"request_id", "code", "handle",
					   NULL};
static const char *const search_single[] = {"request_id", "handle", NULL};
static const char *const control_single[] = {"request_id", "cmd", "handle",
					     NULL};
static const char *const token_single[] = {"token", "single_use", NULL};

#define VONAGE_ENDPOINT(root_, single_, run_, echo_, flags_)                   \
	{                                                                      \
		{sizeof(struct vonage_ctx), single_, flags_, vonage_run,       \
		 NULL},                                                        \
			root_, echo_, run_                                     \
	}

enum { EP_REQUEST, EP_CHECK, EP_SEARCH, EP_CONTROL, EP_TOKEN };

static const struct vonage_endpoint endpoints[] = {
	[EP_REQUEST] = VONAGE_ENDPOINT("verify_response", request_single,
				       vonage_request_run, ECHO_EMPTY,
				       API_PUBLISHABLE_OK),
	[EP_CHECK] = VONAGE_ENDPOINT("verify_response", check_single,
				     vonage_check_run, ECHO_GIVEN,
				     API_PUBLISHABLE_OK),
	[EP_SEARCH] = VONAGE_ENDPOINT("verify_request", search_single,
				      vonage_search_run, ECHO_NONE,
				      API_PUBLISHABLE_OK),
	[EP_CONTROL] = VONAGE_ENDPOINT("response", control_single,
				       vonage_control_run, ECHO_NONE,
				       API_PUBLISHABLE_OK),
	/* Redemption is for the site's backend: secret keys only. */
	[EP_TOKEN] = VONAGE_ENDPOINT("token_response", token_single,
				     vonage_token_run, ECHO_NONE, 0),
};

static void vonage_request(struct http_req *req)
{
	api_serve(req, &endpoints[EP_REQUEST].h);
}

static void vonage_check(struct http_req *req)
{
	api_serve(req, &endpoints[EP_CHECK].h);
}

static void vonage_search(struct http_req *req)
{
	api_serve(req, &endpoints[EP_SEARCH].h);
}

static void vonage_control(struct http_req *req)
{
	api_serve(req, &endpoints[EP_CONTROL].h);
}

static void vonage_token(struct http_req *req)
{
	api_serve(req, &endpoints[EP_TOKEN].h);
}

#define GP (HTTP_GET | HTTP_POST)
/* Pages call the Verify endpoints; token redemption is the backend's. */
#define PAGES api_cors_preflight

const struct route vonage_routes[] = {
	{"/verify/json", vonage_request, GP, 0, PAGES},
	{"/verify/xml", vonage_request, GP, 0, PAGES},
	{"/verify/check/json", vonage_check, GP, 0, PAGES},
	{"/verify/check/xml", vonage_check, GP, 0, PAGES},
	{"/verify/search/json", vonage_search, GP, 0, PAGES},
	{"/verify/search/xml", vonage_search, GP, 0, PAGES},
	{"/verify/control/json", vonage_control, GP, 0, PAGES},
	{"/verify/control/xml", vonage_control, GP, 0, PAGES},
	{"/verify/token/json", vonage_token, GP, 0, NULL},
	{"/verify/token/xml", vonage_token, GP, 0, NULL},
	{NULL, NULL, 0, 0, NULL},
};
