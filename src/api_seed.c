/*
 * The seed dialect: the original KookooVerify URLs and JSON (numeric status,
 * the original error texts, search's string status), with credentials and
 * the fixes DESIGN.md makes (FAILED state, no silent cancel of unknown ids).
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "engine.h"
#include "log.h"
#include "util.h"
#include "verify.h"

/* Every condition a seed endpoint can answer, mapped once to code and text. */
enum seed_cond {
	SEED_MISSING,
	SEED_BAD_VALUE,
	SEED_THROTTLED,
	SEED_NO_CREDENTIALS,
	SEED_BAD_CREDENTIALS,
	SEED_INTERNAL,
	SEED_NOT_FOUND,
	SEED_CONCURRENT,
	SEED_LIMIT,
	SEED_WRONG_CODE,
	SEED_VERIFIED_ALREADY,
	SEED_CANCELLED,
	SEED_NO_RESPONSE,
	SEED_INVALID_COMMAND,
	SEED_NOT_PERMITTED,
	SEED_BLOCKED,
};

static const struct {
	int status;
	const char *text;
} seed_codes[] = {
	[SEED_MISSING] = {2, NULL}, /* text names the endpoint's parameters */
	[SEED_BAD_VALUE] = {3, NULL},
	[SEED_THROTTLED] = {1, "Throttled"},
	[SEED_NO_CREDENTIALS] = {2, "api_key and api_secret parameters "
				    "required!"},
	[SEED_BAD_CREDENTIALS] = {4, "Bad Credentials"},
	[SEED_INTERNAL] = {5, "Internal Error"},
	[SEED_NOT_FOUND] = {6, "Request ID does not exist or is expired"},
	[SEED_CONCURRENT] = {10, "Concurrent verifications to the same number "
				 "are not allowed"},
	[SEED_LIMIT] = {15, "Verify Limit Exceeded"},
	[SEED_WRONG_CODE] = {16, "The code provided does not match the "
				 "expected value"},
	[SEED_VERIFIED_ALREADY] = {18, "Verified already"},
	[SEED_CANCELLED] = {19, "Verification cancelled"},
	[SEED_NO_RESPONSE] = {101, "No response found"},
	[SEED_INVALID_COMMAND] = {1, NULL},
	[SEED_BLOCKED] = {7, NULL}, /* "Number blocked: <reason>" */
	[SEED_NOT_PERMITTED] = {29, "Non-Permitted Destination: the number's "
				    "country is not allowed for this API key"},
};

static void seed_error(struct http_req *req, enum seed_cond cond,
		       const char *text)
{
	json_t *o = json_object();

	json_object_set_new(o, "status", json_integer(seed_codes[cond].status));
	json_object_set_new(o, "error_text",
			    json_string(text ? text : seed_codes[cond].text));
	api_reply_json(req, o);
}

static void seed_bad_value(struct http_req *req, const char *param)
{
	char text[96];

	snprintf(text, sizeof(text), "Invalid value for parameter %s", param);
	seed_error(req, SEED_BAD_VALUE, text);
}

/*
 * The shared front of every seed endpoint.  Returns 1 when the handler may
 * go on; otherwise the error reply is set and `call` is already released.
 */
static int seed_prepare(struct http_req *req, struct api_call *call,
			const char *const *single)
{
	/* The original's API is for backends: no publishable keys. */
	enum api_fail f = api_prepare(req, call, single, 0);
	static const enum seed_cond conds[] = {
		[API_NO_CREDENTIALS] = SEED_NO_CREDENTIALS,
		[API_BAD_CREDENTIALS] = SEED_BAD_CREDENTIALS,
		[API_INTERNAL] = SEED_INTERNAL,
		[API_THROTTLED] = SEED_THROTTLED,
		[API_ORIGIN] = SEED_BAD_CREDENTIALS,
		[API_BROWSER_SECRET] = SEED_BAD_CREDENTIALS,
		[API_PUBLISHABLE] = SEED_BAD_CREDENTIALS,
	};

	if (f == API_READY && !call->duplicate)
		return 1;
	if (f == API_READY)
		seed_bad_value(req, call->duplicate);
	else if (f == API_BAD_INPUT)
		seed_error(req, SEED_BAD_VALUE, call->params.error);
	else if (f == API_TOO_BIG)
		seed_error(req, SEED_BAD_VALUE, "Request too large");
	else
		seed_error(req, conds[f], NULL);
	api_call_release(call);
	return 0;
}

/*
 * A call of an endpoint that writes.  Its write goes through http_write()
 * (the connection is suspended, its HTTP thread serves others meanwhile),
 * so the call lives on the heap until the continuation has answered.
 */
struct seed_ctx {
	struct http_req *req;
	struct api_call call;
	struct verify_pending *pending;
	size_t cmd;      /* control: the command's index in seed_cmds */
	int *handed_off; /* set once the continuation owns the context */
};

static void seed_ctx_free(struct seed_ctx *ctx)
{
	api_call_release(&ctx->call);
	free(ctx);
}

/* The front of seed_request, seed_check and seed_control. */
static void seed_serve(struct http_req *req, const char *const *single,
		       void (*run)(struct seed_ctx *ctx))
{
	struct seed_ctx *ctx = calloc(1, sizeof(*ctx));
	int handed_off = 0;

	if (!ctx)
		return; /* no reply: http.c answers "Internal Error" */
	ctx->req = req;
	ctx->handed_off = &handed_off;
	if (!seed_prepare(req, &ctx->call, single)) {
		free(ctx);
		return;
	}
	run(ctx);
	/* Once handed off, ctx may be gone already (a synchronous write). */
	if (!handed_off)
		seed_ctx_free(ctx);
}

/* Hands the pending write to the writer; `then` answers and frees ctx. */
static void seed_write(struct seed_ctx *ctx,
		       void (*then)(struct http_req *req, int rc, void *arg))
{
	*ctx->handed_off = 1;
	ctx->handed_off = NULL;
	http_write(ctx->req, verify_pending_run, ctx->pending, then, ctx);
}

/* Codes must be digits: anything else could never match a PIN. */
static int code_is_valid(const char *code)
{
	size_t n = strlen(code);

	return n >= 1 && n <= ENGINE_PIN_MAX && strspn(code, "0123456789") == n;
}

static void seed_request_reply(struct http_req *req, enum verify_result r,
			       const char *request_id, const char *bad,
			       int wait)
{
	json_t *o;

	switch (r) {
	case VERIFY_OK:
		o = json_object();
		json_object_set_new(o, "status", json_integer(0));
		json_object_set_new(o, "request_id", json_string(request_id));
		api_reply_json(req, o);
		break;
	case VERIFY_CONCURRENT:
		o = json_object();
		json_object_set_new(
			o, "status",
			json_integer(seed_codes[SEED_CONCURRENT].status));
		json_object_set_new(o, "request_id", json_string(request_id));
		json_object_set_new(
			o, "error_text",
			json_string(seed_codes[SEED_CONCURRENT].text));
		api_reply_json(req, o);
		break;
	case VERIFY_BAD_NUMBER:
		seed_bad_value(req, "phone_no");
		break;
	case VERIFY_BAD_PARAM:
		seed_bad_value(req, bad ? bad : "phone_no");
		break;
	case VERIFY_THROTTLED:
		api_retry_after(req, wait);
		seed_error(req, SEED_THROTTLED, NULL);
		break;
	case VERIFY_NOT_PERMITTED:
		seed_error(req, SEED_NOT_PERMITTED, NULL);
		break;
	case VERIFY_BLOCKED: {
		char text[128];

		snprintf(text, sizeof(text), "Number blocked: %s",
			 bad ? bad : "fraud");
		seed_error(req, SEED_BLOCKED, text);
		break;
	}
	case VERIFY_UNREACHABLE: {
		char text[160];

		snprintf(text, sizeof(text),
			 "Invalid value for parameter phone_no: %s",
			 bad ? bad : "this number cannot receive codes");
		seed_error(req, SEED_BAD_VALUE, text);
		break;
	}
	default:
		seed_error(req, SEED_INTERNAL, NULL);
		break;
	}
}

static void seed_request_then(struct http_req *req, int rc, void *arg)
{
	struct seed_ctx *ctx = arg;
	char request_id[ENGINE_REQUEST_ID_LEN + 1];
	int wait = 0;
	enum verify_result r = verify_request_finish(ctx->pending, rc,
						     request_id, NULL, &wait);

	seed_request_reply(req, r, request_id, NULL, wait);
	seed_ctx_free(ctx);
}

static void seed_request_run(struct seed_ctx *ctx)
{
	struct http_req *req = ctx->req;
	struct verify_request_in in;
	const char *bad = NULL;
	enum verify_result r;
	int wait = 0;

	memset(&in, 0, sizeof(in));
	in.number = api_param(&ctx->call, "phone_no");
	in.brand = api_param(&ctx->call, "brand");
	if (!in.number || !in.brand) {
		seed_error(req, SEED_MISSING,
			   "phone_no and brand parameters required!");
		return;
	}
	if (strlen(in.brand) > 63) {
		seed_bad_value(req, "brand");
		return;
	}
	in.countries = ctx->call.countries;
	r = verify_request_start(ctx->call.key_id, &in, &bad, &wait,
				 &ctx->pending);
	if (r == VERIFY_PENDING)
		seed_write(ctx, seed_request_then);
	else
		seed_request_reply(req, r, NULL, bad, wait);
}

static void seed_request(struct http_req *req)
{
	static const char *const single[] = {"phone_no", "brand", NULL};

	seed_serve(req, single, seed_request_run);
}

/* The seed code of a finished or refused check. */
static enum seed_cond check_cond(enum check_outcome oc)
{
	static const enum seed_cond conds[] = {
		[CHECK_WRONG] = SEED_WRONG_CODE,
		[CHECK_WRONG_LAST] = SEED_WRONG_CODE,
		[CHECK_FAILED] = SEED_LIMIT,
		[CHECK_ALREADY_VERIFIED] = SEED_VERIFIED_ALREADY,
		[CHECK_CANCELLED] = SEED_CANCELLED,
		[CHECK_EXPIRED] = SEED_NOT_FOUND,
	};

	return conds[oc];
}

static void seed_check_reply(struct http_req *req, enum verify_result r,
			     enum check_outcome oc, int wait, const char *id)
{
	json_t *o;

	switch (r) {
	case VERIFY_OK:
		if (oc != CHECK_OK) {
			seed_error(req, check_cond(oc), NULL);
			break;
		}
		o = json_object();
		json_object_set_new(o, "status", json_integer(0));
		json_object_set_new(o, "message",
				    json_string("Verified successfully"));
		json_object_set_new(o, "request_id", json_string(id));
		api_reply_json(req, o);
		break;
	case VERIFY_NOT_FOUND:
		seed_error(req, SEED_NOT_FOUND, NULL);
		break;
	case VERIFY_THROTTLED:
		api_retry_after(req, wait);
		seed_error(req, SEED_THROTTLED, NULL);
		break;
	default:
		seed_error(req, SEED_INTERNAL, NULL);
		break;
	}
}

static void seed_check_then(struct http_req *req, int rc, void *arg)
{
	struct seed_ctx *ctx = arg;
	enum check_outcome oc = CHECK_WRONG;
	enum verify_result r = verify_check_finish(ctx->pending, rc, &oc, NULL);

	seed_check_reply(req, r, oc, 0, api_param(&ctx->call, "request_id"));
	seed_ctx_free(ctx);
}

static void seed_check_run(struct seed_ctx *ctx)
{
	struct http_req *req = ctx->req;
	const char *id = api_param(&ctx->call, "request_id");
	const char *code = api_param(&ctx->call, "code");
	enum verify_result r;
	int wait = 0;

	if (!id || !code) {
		seed_error(req, SEED_MISSING,
			   "request_id and code parameters required!");
		return;
	}
	if (!code_is_valid(code)) {
		seed_bad_value(req, "code");
		return;
	}
	r = verify_check_start(ctx->call.key_id, id, NULL, code, req->client_ip,
			       &wait, &ctx->pending);
	if (r == VERIFY_PENDING)
		seed_write(ctx, seed_check_then);
	else
		seed_check_reply(req, r, CHECK_WRONG, wait, id);
}

static void seed_check(struct http_req *req)
{
	static const char *const single[] = {"request_id", "code", NULL};

	seed_serve(req, single, seed_check_run);
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
	json_object_set_new(e, "created_at", api_datetime(ev->created_ms));
	return json_array_append_new(arg, e);
}

static void seed_search_id(struct http_req *req, struct api_call *call,
			   const char *id)
{
	struct vf_record r;
	json_t *o, *checks, *events;

	switch (verify_search(call->key_id, id, NULL, &r)) {
	case VERIFY_OK:
		break;
	case VERIFY_NOT_FOUND:
		seed_error(req, SEED_NO_RESPONSE, NULL);
		return;
	default:
		seed_error(req, SEED_INTERNAL, NULL);
		return;
	}
	checks = json_array();
	events = json_array();
	if (verify_checks_foreach(&r, check_to_json, checks) != 0 ||
	    verify_events_foreach(&r, event_to_json, events) != 0) {
		json_decref(checks);
		json_decref(events);
		seed_error(req, SEED_INTERNAL, NULL);
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
	api_reply_json(req, o);
}

static void seed_search_number(struct http_req *req, struct api_call *call,
			       const char *number)
{
	struct vf_verified vr;
	char digits[16];
	json_t *o;

	switch (verify_number_status(call->key_id, number, digits, &vr)) {
	case VERIFY_OK:
		o = json_object();
		json_object_set_new(o, "phone_no", json_string(digits));
		json_object_set_new(o, "status", json_string("VERIFIED"));
		json_object_set_new(o, "verified_at",
				    api_datetime(vr.verified_ms));
		json_object_set_new(o, "verified_until",
				    api_datetime(vr.verified_ms +
						 verify_verified_ttl_ms()));
		json_object_set_new(o, "request_id",
				    json_string(vr.request_id));
		api_reply_json(req, o);
		break;
	case VERIFY_NOT_FOUND:
		o = json_object();
		json_object_set_new(o, "phone_no", json_string(digits));
		json_object_set_new(o, "status", json_string("NOT VERIFIED"));
		api_reply_json(req, o);
		break;
	case VERIFY_BAD_NUMBER:
		seed_bad_value(req, "phone_no");
		break;
	default:
		seed_error(req, SEED_INTERNAL, NULL);
		break;
	}
}

static void seed_search(struct http_req *req)
{
	static const char *const single[] = {"request_id", "phone_no", NULL};
	struct api_call call;
	const char *id, *number;

	if (!seed_prepare(req, &call, single))
		return;
	id = api_param(&call, "request_id");
	number = api_param(&call, "phone_no");
	if (id)
		seed_search_id(req, &call, id);
	else if (number)
		seed_search_number(req, &call, number);
	else
		seed_error(req, SEED_MISSING,
			   "request_id parameters required!");
	api_call_release(&call);
}

static void seed_control_reply(struct http_req *req, int status,
			       const char *response)
{
	json_t *o = json_object();

	json_object_set_new(o, "status", json_integer(status));
	json_object_set_new(o, "response", json_string(response));
	api_reply_json(req, o);
}

/* Why a control command was refused, for a verification we did find. */
static void seed_control_refused(struct http_req *req, const char *id,
				 struct api_call *call, enum control_outcome oc)
{
	struct vf_record r;
	static const enum seed_cond by_state[] = {
		[VF_IN_PROGRESS] = SEED_THROTTLED, /* resend cooldown or cap */
		[VF_SUCCESS] = SEED_VERIFIED_ALREADY,
		[VF_FAILED] = SEED_LIMIT,
		[VF_EXPIRED] = SEED_NOT_FOUND,
		[VF_CANCELLED] = SEED_CANCELLED,
	};

	if (oc != CONTROL_NOT_ACTIVE) {
		const char *why = oc == CONTROL_RESEND_CAP
					  ? "Throttled: no resends left"
					  : "Throttled: resent too recently";

		if (oc == CONTROL_COOLDOWN)
			api_retry_after(req,
					verify_resend_wait(call->key_id, id));
		seed_error(req, SEED_THROTTLED, why);
		return;
	}
	if (verify_search(call->key_id, id, NULL, &r) != VERIFY_OK) {
		seed_error(req, SEED_INTERNAL, NULL);
		return;
	}
	seed_error(req, by_state[r.v.state], NULL);
}

static const struct {
	const char *name;
	enum verify_cmd cmd;
	const char *done;
} seed_cmds[] = {
	{"cancel", CMD_CANCEL, "CANCELLED"},
	{"resend", CMD_RESEND, "RESENT"},
};

static void seed_control_reply_of(struct seed_ctx *ctx, enum verify_result r,
				  enum control_outcome oc)
{
	struct http_req *req = ctx->req;

	switch (r) {
	case VERIFY_OK:
		if (oc == CONTROL_OK)
			seed_control_reply(req, 0, seed_cmds[ctx->cmd].done);
		else
			seed_control_refused(
				req, api_param(&ctx->call, "request_id"),
				&ctx->call, oc);
		break;
	case VERIFY_NOT_FOUND:
		seed_error(req, SEED_NOT_FOUND, NULL);
		break;
	default:
		seed_error(req, SEED_INTERNAL, NULL);
		break;
	}
}

static void seed_control_then(struct http_req *req, int rc, void *arg)
{
	struct seed_ctx *ctx = arg;
	enum control_outcome oc = CONTROL_OK;
	enum verify_result r = verify_control_finish(ctx->pending, rc, &oc);

	seed_control_reply_of(ctx, r, oc);
	seed_ctx_free(ctx);
}

static void seed_control_run(struct seed_ctx *ctx)
{
	const char *id = api_param(&ctx->call, "request_id");
	const char *cmd = api_param(&ctx->call, "cmd");
	enum verify_result r;

	if (!id || !cmd) {
		seed_error(ctx->req, SEED_MISSING,
			   "request_id and cmd parameters required!");
		return;
	}
	for (ctx->cmd = 0; ctx->cmd < ARRAY_LEN(seed_cmds); ctx->cmd++)
		if (strcmp(cmd, seed_cmds[ctx->cmd].name) == 0)
			break;
	if (ctx->cmd == ARRAY_LEN(seed_cmds)) {
		seed_control_reply(ctx->req, 1, "INVALID COMMAND");
		return;
	}
	r = verify_control_start(ctx->call.key_id, id, NULL,
				 seed_cmds[ctx->cmd].cmd, 0, &ctx->pending);
	if (r == VERIFY_PENDING)
		seed_write(ctx, seed_control_then);
	else
		seed_control_reply_of(ctx, r, CONTROL_OK);
}

static void seed_control(struct http_req *req)
{
	static const char *const single[] = {"request_id", "cmd", NULL};

	seed_serve(req, single, seed_control_run);
}

const struct route seed_routes[] = {
	{"/kookooverify", seed_request, HTTP_GET | HTTP_POST, 0, 0},
	{"/kookooverify/", seed_request, HTTP_GET | HTTP_POST, 0, 0},
	{"/kookooverify/check", seed_check, HTTP_GET | HTTP_POST, 0, 0},
	{"/kookooverify/search", seed_search, HTTP_GET | HTTP_POST, 0, 0},
	{"/kookooverify/control", seed_control, HTTP_GET | HTTP_POST, 0, 0},
	{NULL, NULL, 0, 0, 0},
};
