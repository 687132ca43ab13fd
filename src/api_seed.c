/*
 * The seed dialect: the original KookooVerify URLs and JSON (numeric status,
 * the original error texts, search's string status), with credentials and
 * two fixes to the original (a FAILED state; an unknown id is refused, never
 * silently "cancelled").  Every reply comes from the condition tables (api_seed_codes.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_seed.h"
#include "engine.h"
#include "log.h"
#include "util.h"
#include "verify.h"

/*
 * A call of a seed endpoint.  The pending write and the facts its reply
 * needs live here until the continuation has answered.
 */
struct seed_ctx {
	struct api_ctx base;
	struct verify_pending *pending;
	size_t cmd;            /* control: the command's index in seed_cmds */
	int wait;              /* Retry-After of a throttled call */
	char block_reason[96]; /* request: why the number is blocked */
};

struct seed_endpoint {
	struct api_handler h;
	enum api_run (*run)(struct seed_ctx *ctx);
};

/* The only place a condition becomes a reply. */
static void seed_fail(struct seed_ctx *ctx, enum seed_cond cond,
		      const char *arg)
{
	struct http_req *req = ctx->base.req;
	unsigned int flags = seed_cond_flags(cond);
	char text[SEED_TEXT_MAX];
	int status;
	json_t *o;

	/* A throttle found by api_prepare() has set its own wait already. */
	if ((flags & SEED_RETRY) && !ctx->base.req->retry_after[0])
		api_retry_after(req, ctx->wait);
	if (flags & SEED_RESEND)
		api_retry_after(req, ctx->wait > 0 ? ctx->wait : 1);
	status = seed_error_text(cond, flags & SEED_RID ? NULL : arg, text,
				 sizeof(text));
	o = json_object();
	json_object_set_new(o, "status", json_integer(status));
	if (flags & SEED_RID)
		json_object_set_new(o, "request_id", json_string(arg));
	json_object_set_new(o, "error_text", json_string(text));
	if (flags & SEED_RESEND)
		json_object_set_new(o, "resend_in",
				    json_integer(ctx->wait > 0 ? ctx->wait
							       : 1));
	api_reply_json(req, o);
}

/* A service result through a reply table. */
static void seed_fail_reply(struct seed_ctx *ctx, const struct seed_reply *rp,
			    const char *bad, const char *rid)
{
	const char *arg = rp->arg == SEED_ARG_RID          ? rid
			  : rp->arg == SEED_ARG_BAD && bad ? bad
							   : rp->dflt;
	char text[SEED_TEXT_MAX];

	if (rp->wrap) {
		api_text_format(text, sizeof(text), rp->wrap, arg, 0);
		arg = text;
	}
	seed_fail(ctx, rp->cond, arg);
}

/* The shared front of every seed endpoint, then the endpoint's own run. */
static enum api_run seed_run(struct api_ctx *base, enum api_fail f)
{
	struct seed_ctx *ctx = (struct seed_ctx *)base;
	const struct seed_endpoint *ep =
		(const struct seed_endpoint *)base->handler;

	if (f == API_READY && base->call.duplicate) {
		seed_fail(ctx, SEED_BAD_VALUE, base->call.duplicate);
		return API_RUN_DONE;
	}
	if (f != API_READY) {
		seed_fail(ctx, seed_admit_conds[f],
			  f == API_BAD_INPUT ? base->call.params.error : NULL);
		return API_RUN_DONE;
	}
	return ep->run(ctx);
}

/* Codes must be digits: anything else could never match a PIN. */
static int code_is_valid(const char *code)
{
	size_t n = strlen(code);

	return n >= 1 && n <= ENGINE_PIN_MAX && strspn(code, "0123456789") == n;
}

static void seed_request_reply(struct seed_ctx *ctx, enum verify_result r,
			       const char *request_id, const char *bad,
			       const char *did, int expires_in)
{
	json_t *o;

	if (seed_request_replies[r].cond != SEED_OK) {
		seed_fail_reply(ctx, &seed_request_replies[r], bad, request_id);
		return;
	}
	o = json_object();
	json_object_set_new(o, "status", json_integer(0));
	json_object_set_new(o, "request_id", json_string(request_id));
	if (did && *did) {
		json_object_set_new(o, "missed_call_number", json_string(did));
		json_object_set_new(o, "missed_call_expires_in",
				    json_integer(expires_in));
	}
	api_reply_json(ctx->base.req, o);
}

static void seed_request_then(struct api_ctx *base, int rc)
{
	struct seed_ctx *ctx = (struct seed_ctx *)base;
	char request_id[ENGINE_REQUEST_ID_LEN + 1];
	char did[17];
	int expires_in = 0;
	enum verify_result r;

	verify_request_missed(ctx->pending, did, &expires_in);
	r = verify_request_finish(ctx->pending, rc, request_id, NULL,
				  &ctx->wait);
	/* A block decided in the write (a shared store) says why there. */
	seed_request_reply(ctx, r, request_id,
			   r == VERIFY_BLOCKED ? ctx->block_reason : NULL, did,
			   expires_in);
}

/*
 * missed_call=1: verify by a missed call only (workflow 8); missed_call=sms:
 * a missed call, then the SMS after the window (workflow 9).
 */
static int seed_missed_param(const char *v, struct engine_request *req)
{
	if (!v)
		return 0;
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
		req->workflow_id = ENGINE_WF_MISSED;
	else if (strcmp(v, "sms") == 0)
		req->workflow_id = ENGINE_WF_MISSED_SMS;
	else if (strcmp(v, "0") != 0 && strcmp(v, "false") != 0)
		return -1;
	return 0;
}

static enum api_run seed_request_run(struct seed_ctx *ctx)
{
	struct api_call *call = &ctx->base.call;
	struct verify_request_in in;
	char host[API_AUTOFILL_HOST_MAX];
	const char *bad = NULL;
	enum verify_result r;
	int rc;

	memset(&in, 0, sizeof(in));
	in.number = api_param(call, "phone_no");
	in.brand = api_param(call, "brand");
	if (!in.number || !in.brand) {
		seed_fail(ctx, SEED_MISSING,
			  "phone_no and brand parameters required!");
		return API_RUN_DONE;
	}
	if (strlen(in.brand) > 63) {
		seed_fail(ctx, SEED_BAD_VALUE, "brand");
		return API_RUN_DONE;
	}
	rc = api_autofill_read(call, &in, host, sizeof(host), &bad);
	if (rc != 0) {
		seed_fail(ctx, bad ? SEED_BAD_INPUT : SEED_INTERNAL, bad);
		return API_RUN_DONE;
	}
	if (seed_missed_param(api_param(call, "missed_call"), &in.req) != 0) {
		seed_fail(ctx, SEED_BAD_VALUE, "missed_call");
		return API_RUN_DONE;
	}
	in.countries = call->countries;
	in.block_reason = ctx->block_reason;
	in.block_reason_len = sizeof(ctx->block_reason);
	r = verify_request_start(call->key_id, &in, &bad, &ctx->wait,
				 &ctx->pending);
	if (r == VERIFY_PENDING)
		return api_ctx_write(&ctx->base, verify_pending_run,
				     ctx->pending, seed_request_then);
	seed_request_reply(ctx, r, NULL, bad, NULL, 0);
	return API_RUN_DONE;
}

static void seed_check_reply(struct seed_ctx *ctx, enum verify_result r,
			     enum check_outcome oc)
{
	const char *id = api_param(&ctx->base.call, "request_id");
	enum seed_cond cond = r == VERIFY_OK ? seed_check_conds[oc]
					     : seed_id_conds[r];
	json_t *o;

	if (cond != SEED_OK) {
		seed_fail(ctx, cond, NULL);
		return;
	}
	o = json_object();
	json_object_set_new(o, "status", json_integer(0));
	json_object_set_new(o, "message", json_string("Verified successfully"));
	json_object_set_new(o, "request_id", json_string(id));
	api_reply_json(ctx->base.req, o);
}

static void seed_check_then(struct api_ctx *base, int rc)
{
	struct seed_ctx *ctx = (struct seed_ctx *)base;
	enum check_outcome oc = CHECK_WRONG;
	enum verify_result r = verify_check_finish(ctx->pending, rc, &oc, NULL);

	ctx->wait = 0;
	seed_check_reply(ctx, r, oc);
}

static enum api_run seed_check_run(struct seed_ctx *ctx)
{
	struct api_call *call = &ctx->base.call;
	const char *id = api_param(call, "request_id");
	const char *code = api_param(call, "code");
	enum verify_result r;

	if (!id || !code) {
		seed_fail(ctx, SEED_MISSING,
			  "request_id and code parameters required!");
		return API_RUN_DONE;
	}
	if (!code_is_valid(code)) {
		seed_fail(ctx, SEED_BAD_VALUE, "code");
		return API_RUN_DONE;
	}
	r = verify_check_start(call->key_id, id, NULL, code,
			       ctx->base.req->client_ip, &ctx->wait,
			       &ctx->pending);
	if (r == VERIFY_PENDING)
		return api_ctx_write(&ctx->base, verify_pending_run,
				     ctx->pending, seed_check_then);
	seed_check_reply(ctx, r, CHECK_WRONG);
	return API_RUN_DONE;
}

static int check_to_json(const struct vf_check *ch, void *arg)
{
	json_t *c = json_object();

	json_object_set_new(c, "code", json_string(ch->code));
	json_object_set_new(c, "created_at", api_datetime(ch->created_ms));
	json_object_set_new(c, "status",
			    json_string(ch->valid ? "VALID" : "INVALID"));
	return json_array_append_new(arg, c);
}

static int event_to_json(const struct vf_event *ev, void *arg)
{
	json_t *e = json_object();

	json_object_set_new(e, "type", json_string(ev->type));
	json_object_set_new(e, "channel", json_string(ev->channel));
	json_object_set_new(e, "id", json_string(ev->provider_id));
	json_object_set_new(e, "result", json_string(ev->result));
	json_object_set_new(e, "detail", json_string(ev->detail));
	/* An SMS sent: how it went over the air. */
	if (ev->encoding[0]) {
		json_object_set_new(e, "encoding", json_string(ev->encoding));
		json_object_set_new(e, "segments", json_integer(ev->segments));
	}
	json_object_set_new(e, "created_at", api_datetime(ev->created_ms));
	return json_array_append_new(arg, e);
}

static void seed_search_id(struct seed_ctx *ctx, const char *id)
{
	struct api_call *call = &ctx->base.call;
	struct vf_record r;
	json_t *o, *checks, *events;
	enum seed_cond cond =
		seed_search_conds[verify_search(call->key_id, id, NULL, &r)];

	if (cond != SEED_OK) {
		seed_fail(ctx, cond, NULL);
		return;
	}
	checks = json_array();
	events = json_array();
	if (verify_checks_foreach(&r, check_to_json, checks) != 0 ||
	    verify_events_foreach(&r, event_to_json, events) != 0) {
		json_decref(checks);
		json_decref(events);
		seed_fail(ctx, SEED_INTERNAL, NULL);
		return;
	}
	o = json_object();
	json_object_set_new(o, "request_id", json_string(r.v.request_id));
	json_object_set_new(o, "phone_no", json_string(r.number));
	json_object_set_new(o, "brand", json_string(r.brand));
	json_object_set_new(o, "created_at", api_datetime(r.v.created_ms));
	json_object_set_new(o, "status",
			    json_string(engine_state_name(r.v.state)));
	json_object_set_new(o, "checks", checks);
	json_object_set_new(o, "events", events);
	api_reply_json(ctx->base.req, o);
}

static void seed_search_number(struct seed_ctx *ctx, const char *number)
{
	struct api_call *call = &ctx->base.call;
	struct vf_verified vr;
	char digits[16];
	enum verify_result r =
		verify_number_status(call->key_id, number, digits, &vr);
	json_t *o;

	if (seed_number_conds[r] != SEED_OK) {
		seed_fail(ctx, seed_number_conds[r], "phone_no");
		return;
	}
	o = json_object();
	json_object_set_new(o, "phone_no", json_string(digits));
	if (r != VERIFY_OK) {
		json_object_set_new(o, "status", json_string("NOT VERIFIED"));
		api_reply_json(ctx->base.req, o);
		return;
	}
	json_object_set_new(o, "status", json_string("VERIFIED"));
	json_object_set_new(o, "verified_at", api_datetime(vr.verified_ms));
	json_object_set_new(
		o, "verified_until",
		api_datetime(vr.verified_ms + verify_verified_ttl_ms()));
	json_object_set_new(o, "request_id", json_string(vr.request_id));
	api_reply_json(ctx->base.req, o);
}

static enum api_run seed_search_run(struct seed_ctx *ctx)
{
	const char *id = api_param(&ctx->base.call, "request_id");
	const char *number = api_param(&ctx->base.call, "phone_no");

	if (id)
		seed_search_id(ctx, id);
	else if (number)
		seed_search_number(ctx, number);
	else
		seed_fail(ctx, SEED_MISSING, "request_id parameters required!");
	return API_RUN_DONE;
}

static const struct {
	const char *name;
	enum verify_cmd cmd;
	const char *done;
} seed_cmds[] = {
	{"cancel", CMD_CANCEL, "CANCELLED"},
	{"resend", CMD_RESEND, "RESENT"},
};

static void seed_control_done(struct seed_ctx *ctx, int status,
			      const char *response)
{
	json_t *o = json_object();

	json_object_set_new(o, "status", json_integer(status));
	json_object_set_new(o, "response", json_string(response));
	if (status == 0 && ctx->wait > 0)
		json_object_set_new(o, "resend_in", json_integer(ctx->wait));
	api_reply_json(ctx->base.req, o);
}

/* A verification no longer live: why, from its state. */
static enum seed_cond seed_state_cond(struct seed_ctx *ctx)
{
	const char *id = api_param(&ctx->base.call, "request_id");
	struct vf_record r;

	if (verify_search(ctx->base.call.key_id, id, NULL, &r) != VERIFY_OK)
		return SEED_INTERNAL;
	return seed_state_conds[r.v.state];
}

static void seed_control_reply(struct seed_ctx *ctx, enum verify_result r,
			       enum control_outcome oc)
{
	enum seed_cond cond = r == VERIFY_OK ? seed_control_conds[oc]
					     : seed_id_conds[r];

	if (cond == SEED_BY_STATE)
		cond = seed_state_cond(ctx);
	if (cond != SEED_OK)
		seed_fail(ctx, cond, NULL);
	else
		seed_control_done(ctx, 0, seed_cmds[ctx->cmd].done);
}

static void seed_control_then(struct api_ctx *base, int rc)
{
	struct seed_ctx *ctx = (struct seed_ctx *)base;
	enum control_outcome oc = CONTROL_OK;
	enum verify_result r =
		verify_control_finish(ctx->pending, rc, &oc, &ctx->wait);

	seed_control_reply(ctx, r, oc);
}

static enum api_run seed_control_run(struct seed_ctx *ctx)
{
	const char *id = api_param(&ctx->base.call, "request_id");
	const char *cmd = api_param(&ctx->base.call, "cmd");
	enum verify_result r;

	if (!id || !cmd) {
		seed_fail(ctx, SEED_MISSING,
			  "request_id and cmd parameters required!");
		return API_RUN_DONE;
	}
	for (ctx->cmd = 0; ctx->cmd < ARRAY_LEN(seed_cmds); ctx->cmd++)
		if (strcmp(cmd, seed_cmds[ctx->cmd].name) == 0)
			break;
	if (ctx->cmd == ARRAY_LEN(seed_cmds)) {
		seed_control_done(ctx, 1, "INVALID COMMAND");
		return API_RUN_DONE;
	}
	r = verify_control_start(ctx->base.call.key_id, id, NULL,
				 seed_cmds[ctx->cmd].cmd, 0, &ctx->pending);
	if (r == VERIFY_PENDING)
		return api_ctx_write(&ctx->base, verify_pending_run,
				     ctx->pending, seed_control_then);
	seed_control_reply(ctx, r, CONTROL_OK);
	return API_RUN_DONE;
}

/* ---- routes ---- */

static const char *const request_single[] = {
	"phone_no", "brand", "origin", "app_hash", "missed_call", NULL};
static const char *const check_single[] = {"request_id", "code", NULL};
static const char *const search_single[] = {"request_id", "phone_no", NULL};
static const char *const control_single[] = {"request_id", "cmd", NULL};

#define SEED_ENDPOINT(single_, run_)                                           \
	{                                                                      \
		{sizeof(struct seed_ctx), single_, 0, seed_run, NULL}, run_    \
	}

enum { EP_REQUEST, EP_CHECK, EP_SEARCH, EP_CONTROL };

static const struct seed_endpoint endpoints[] = {
	[EP_REQUEST] = SEED_ENDPOINT(request_single, seed_request_run),
	[EP_CHECK] = SEED_ENDPOINT(check_single, seed_check_run),
	[EP_SEARCH] = SEED_ENDPOINT(search_single, seed_search_run),
	[EP_CONTROL] = SEED_ENDPOINT(control_single, seed_control_run),
};

static void seed_request(struct http_req *req)
{
	api_serve(req, &endpoints[EP_REQUEST].h);
}

static void seed_check(struct http_req *req)
{
	api_serve(req, &endpoints[EP_CHECK].h);
}

static void seed_search(struct http_req *req)
{
	api_serve(req, &endpoints[EP_SEARCH].h);
}

static void seed_control(struct http_req *req)
{
	api_serve(req, &endpoints[EP_CONTROL].h);
}

const struct route seed_routes[] = {
	{"/kookooverify", seed_request, HTTP_GET | HTTP_POST, 0, NULL},
	{"/kookooverify/", seed_request, HTTP_GET | HTTP_POST, 0, NULL},
	{"/kookooverify/check", seed_check, HTTP_GET | HTTP_POST, 0, NULL},
	{"/kookooverify/search", seed_search, HTTP_GET | HTTP_POST, 0, NULL},
	{"/kookooverify/control", seed_control, HTTP_GET | HTTP_POST, 0, NULL},
	{NULL, NULL, 0, 0, NULL},
};
