/*
 * The Vonage Verify v2 dialect under /v2/verify: start (POST, 202), check
 * (POST /{id}), cancel (DELETE /{id}, 204) and next_workflow.  Bodies are
 * JSON objects with nested workflows, parsed here with jansson; replies are
 * JSON with real HTTP statuses, and every refusal an RFC 7807
 * application/problem+json from the one table in api_v2_codes.c.
 */
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "api.h"
#include "api_v2.h"
#include "api_vonage.h"
#include "engine.h"
#include "jdump.h"
#include "log.h"
#include "sms.h"
#include "util.h"
#include "verify.h"

#define V2_PREFIX "/v2/verify"
#define V2_NEXT "/next_workflow"
/* Vonage's default channel_timeout and its bounds, in seconds. */
#define CHANNEL_TIMEOUT_DEFAULT 180
#define CHANNEL_TIMEOUT_MIN 15
#define CHANNEL_TIMEOUT_MAX 900
#define DLT_ID_MAX 30

/* A call of a v2 endpoint; the parsed body lives as long as the call. */
struct v2_ctx {
	struct api_ctx base;
	char id[ENGINE_REQUEST_ID_LEN + 1]; /* the path's id, "" for none */
	char uuid[V2_UUID_LEN + 1];         /* the same, as given back */
	json_t *body;
	int wait;
	struct verify_pending *pending;
	char number[16];
	char block_reason[96];
	/* A start with an Idempotency-Key: its write records it. */
	struct verify_idem_op idem;
};

struct v2_endpoint {
	struct api_handler h;
	enum api_run (*run)(struct v2_ctx *ctx);
};

/* ---- replies ---- */

static void v2_send(struct http_req *req, unsigned int status, const char *type,
		    json_t *o)
{
	size_t len = 0;
	char *text = jdump_compact(o, &len);

	json_decref(o);
	/* jdump_compact allocates with malloc, which http.c frees. */
	http_reply(req, status, type, text, len);
}

void v2_reply(struct http_req *req, unsigned int status, json_t *o)
{
	if (!o) {
		v2_problem(req, V2_INTERNAL, NULL, 0, NULL, NULL);
		return;
	}
	v2_send(req, status, "application/json", o);
}

/* A reply without a body (204, and next_workflow's 200). */
void v2_send_empty(struct http_req *req, unsigned int status)
{
	http_reply_copy(req, status, "text/plain", "");
}

/* A fresh random UUID (version 4): each problem's `instance`. */
static void v2_instance(char out[V2_UUID_LEN + 1])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	uuid_v4(b, out);
}

/*
 * The only place a condition becomes a reply: `arg` and `num` fill the
 * detail, `rid` (may be NULL) is the request_id member (the live
 * verification of a conflict), `invalid` (may be NULL, taken) the
 * invalid_parameters array of a 422.
 */
void v2_problem(struct http_req *req, enum v2_cond cond, const char *arg,
		int num, const char *rid, json_t *invalid)
{
	const struct v2_problem *pb = v2_problem_of(cond);
	char detail[PARAMS_VALUE_MAX + 256];
	char instance[V2_UUID_LEN + 1];
	json_t *o = json_object();

	api_text_format(detail, sizeof(detail), pb->detail, arg, num);
	v2_instance(instance);
	json_object_set_new(o, "type", json_string(pb->type));
	json_object_set_new(o, "title", json_string(pb->title));
	json_object_set_new(o, "detail", json_string(detail));
	json_object_set_new(o, "instance", json_string(instance));
	if (rid)
		json_object_set_new(o, "request_id", json_string(rid));
	if (invalid)
		json_object_set_new(o, "invalid_parameters", invalid);
	v2_send(req, pb->status, "application/problem+json", o);
}

static void v2_fail(struct v2_ctx *ctx, enum v2_cond cond)
{
	if (cond == V2_THROTTLED && !ctx->base.req->retry_after[0])
		api_retry_after(ctx->base.req, ctx->wait);
	v2_problem(ctx->base.req, cond, ctx->uuid, 0, NULL, NULL);
}

/* A 422 naming one parameter. */
static void v2_fail_param(struct v2_ctx *ctx, const char *name,
			  const char *reason)
{
	json_t *inv = json_array();

	json_array_append_new(inv, json_pack("{s:s,s:s}", "name", name,
					     "reason", reason));
	v2_problem(ctx->base.req, V2_INVALID_PARAMS, NULL, 0, NULL, inv);
}

/* ---- the shared front ---- */

/* Why a call did not reach its endpoint, as a problem. */
static const enum v2_cond admit_conds[] = {
	[API_READY] = V2_INTERNAL,
	[API_BAD_INPUT] = V2_INVALID_JSON,
	[API_TOO_BIG] = V2_TOO_BIG,
	[API_NO_CREDENTIALS] = V2_UNAUTHORIZED,
	[API_BAD_CREDENTIALS] = V2_UNAUTHORIZED,
	[API_INTERNAL] = V2_INTERNAL,
	[API_THROTTLED] = V2_THROTTLED,
	[API_ORIGIN] = V2_FORBIDDEN,
	[API_BROWSER_SECRET] = V2_FORBIDDEN,
	[API_PUBLISHABLE] = V2_FORBIDDEN,
};

void v2_refuse(struct http_req *req, enum api_fail f)
{
	v2_problem(req, admit_conds[f], NULL, 0, NULL, NULL);
}

/*
 * The path's request id (the segment after /v2/verify/), in both forms;
 * a segment that is no UUID leaves id "" (it matches no verification).
 */
static void v2_path_id(struct v2_ctx *ctx)
{
	const char *seg = ctx->base.req->path + strlen(V2_PREFIX "/");
	size_t n = strcspn(seg, "/");
	char given[V2_UUID_LEN + 1];

	ctx->id[0] = '\0';
	ctx->uuid[0] = '\0';
	if (n != V2_UUID_LEN)
		return;
	memcpy(given, seg, n);
	given[n] = '\0';
	if (v2_id_from_uuid(given, ctx->id) != 0)
		return;
	v2_uuid_from_id(ctx->id, ctx->uuid);
	log_context_request_id(ctx->id);
}

json_t *v2_body_object(struct http_req *req)
{
	const struct buf *b = &req->body;
	json_error_t err;
	json_t *o;

	if (b->len == 0)
		return json_object();
	o = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &err);
	if (!o || !json_is_object(o)) {
		v2_problem(req, V2_INVALID_JSON,
			   o ? "The request body must be a JSON object."
			     : "The request body is not valid JSON.",
			   0, NULL, NULL);
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The body as a JSON object ({} when empty), or a 400 answered. */
static int v2_body(struct v2_ctx *ctx)
{
	ctx->body = v2_body_object(ctx->base.req);
	return ctx->body ? 0 : -1;
}

static enum api_run v2_run(struct api_ctx *base, enum api_fail f)
{
	struct v2_ctx *ctx = (struct v2_ctx *)base;
	const struct v2_endpoint *ep =
		(const struct v2_endpoint *)base->handler;

	if (strlen(base->req->path) > strlen(V2_PREFIX "/"))
		v2_path_id(ctx);
	if (f != API_READY) {
		v2_fail(ctx, admit_conds[f]);
		return API_RUN_DONE;
	}
	if (v2_body(ctx) != 0)
		return API_RUN_DONE;
	return ep->run(ctx);
}

static void v2_release(struct api_ctx *base)
{
	struct v2_ctx *ctx = (struct v2_ctx *)base;

	json_decref(ctx->body);
}

static enum api_run v2_write(struct v2_ctx *ctx,
			     void (*then)(struct api_ctx *base, int rc))
{
	return api_ctx_write(&ctx->base, verify_pending_run, ctx->pending,
			     then);
}

/* ---- start ---- */

/*
 * What a start's body asks for, read into `in`: every invalid parameter
 * goes into *invalid ({name, reason} objects, in order).  Strings point
 * into the body.  Returns the V2_COND_COUNT when the body is usable, else
 * the condition to answer (V2_INVALID_PARAMS with *invalid, V2_FORBIDDEN).
 */
struct v2_start {
	struct verify_request_in in;
	json_t *invalid;
	enum v2_channel channels[ENGINE_MAX_STEPS];
	size_t nsteps;
	int channel_timeout;
	const char *dlt_ids[2]; /* the first sms step's entity_id, content_id */
	const char *template_id;                   /* NULL: the key's default */
	char template_chosen[TEMPLATE_ID_LEN + 1]; /* "" for none */
};

static void invalid_add(struct v2_start *st, const char *name,
			const char *reason)
{
	json_array_append_new(st->invalid, json_pack("{s:s,s:s}", "name", name,
						     "reason", reason));
}

/* A string member, or NULL; a member of another type is invalid. */
static const char *str_member(struct v2_start *st, json_t *o, const char *name,
			      const char *path)
{
	json_t *v = json_object_get(o, name);

	if (v && !json_is_string(v)) {
		invalid_add(st, path, "Must be a string.");
		return NULL;
	}
	return json_string_value(v);
}

/* An integer member in [lo, hi], or 0 when absent; else invalid. */
static int int_member(struct v2_start *st, json_t *o, const char *name, int lo,
		      int hi)
{
	json_t *v = json_object_get(o, name);
	json_int_t n;

	if (!v)
		return 0;
	n = json_is_integer(v) ? json_integer_value(v) : (json_int_t)lo - 1;
	if (n < lo || n > hi) {
		char reason[64];

		snprintf(reason, sizeof(reason), "An integer from %d to %d.",
			 lo, hi);
		invalid_add(st, name, reason);
		return 0;
	}
	return (int)n;
}

static int all_digits(const char *s, size_t lo, size_t hi)
{
	size_t n = s ? strlen(s) : 0;

	if (n < lo || n > hi)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* An sms step's own members (the first sms step's are the ones used). */
static void sms_step_read(struct v2_start *st, json_t *step, int first)
{
	static const char *const ids[] = {"entity_id", "content_id"};
	const char *from = str_member(st, step, "from", "from");
	const char *hash = str_member(st, step, "app_hash", "app_hash");

	if (from && !vonage_sender_id_valid(from) && !all_digits(from, 1, 15))
		invalid_add(st, "from",
			    "1 to 11 letters and digits, or up to 15 digits.");
	if (hash && !sms_app_hash_valid(hash))
		invalid_add(st, "app_hash",
			    "11 characters of A-Z, a-z, 0-9, + and /.");
	/* DLT ids: their form here, the template set's in dlt_ids_check(). */
	for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
		const char *id = str_member(st, step, ids[i], ids[i]);

		if (id && !all_digits(id, 1, DLT_ID_MAX))
			invalid_add(st, ids[i], "1 to 30 digits.");
	}
	if (first) {
		st->in.sender_id = from;
		st->in.app_hash = hash;
		st->dlt_ids[0] = str_member(st, step, ids[0], ids[0]);
		st->dlt_ids[1] = str_member(st, step, ids[1], ids[1]);
	}
}

/* One step of workflow[]: its channel and number (the same in every step). */
static void step_read(struct v2_start *st, json_t *step, size_t i)
{
	const char *channel, *to;
	enum v2_channel ch;

	if (!json_is_object(step)) {
		invalid_add(st, "workflow", "Each step must be an object.");
		return;
	}
	channel = str_member(st, step, "channel", "channel");
	to = str_member(st, step, "to", "to");
	ch = v2_channel_find(channel);
	if (ch == V2_CH_ELSEWHERE)
		invalid_add(st, "channel",
			    "This server sends codes by sms and voice only.");
	else if (ch == V2_CH_UNKNOWN)
		invalid_add(st, "channel",
			    "Must be one of sms, voice, whatsapp, "
			    "whatsapp_interactive, email, silent_auth, rcs.");
	if (!to)
		invalid_add(st, "to", "A phone number is required.");
	else if (st->in.number && strcmp(to, st->in.number) != 0)
		invalid_add(st, "to", "Every step must go to the same number.");
	else
		st->in.number = to;
	if (ch == V2_CH_SMS)
		sms_step_read(st, step,
			      st->in.sender_id == NULL &&
				      st->in.app_hash == NULL);
	st->channels[i] = ch;
}

static void workflow_read(struct v2_start *st, json_t *body)
{
	json_t *wf = json_object_get(body, "workflow");
	size_t n = json_array_size(wf);

	if (!json_is_array(wf) || n < 1 || n > ENGINE_MAX_STEPS) {
		invalid_add(st, "workflow", "An array of 1 to 3 steps.");
		return;
	}
	st->nsteps = n;
	for (size_t i = 0; i < n; i++)
		step_read(st, json_array_get(wf, i), i);
	if (json_array_size(st->invalid) == 0 &&
	    (st->in.req.workflow_id = v2_workflow_id(st->channels, n)) < 0)
		invalid_add(st, "workflow",
			    "This server runs sms, voice, sms+voice, sms+sms, "
			    "voice+voice, sms+sms+voice or sms+voice+voice.");
}

/*
 * DLT: the SMS goes out as the template set's registered text, so an
 * entity_id or content_id given must be the set's, for the locale.
 */
static void dlt_ids_check(struct v2_start *st)
{
	const struct sms_template *t = sms_template_pin(st->in.lg);

	if (!t)
		return;
	if (st->dlt_ids[0] && strcmp(st->dlt_ids[0], t->entity_id) != 0)
		invalid_add(
			st, "entity_id",
			"Not this server's DLT entity (see its templates).");
	if (st->dlt_ids[1] && strcmp(st->dlt_ids[1], t->template_id) != 0)
		invalid_add(st, "content_id",
			    "Not the DLT template this server sends for the "
			    "locale (see its templates).");
}

static enum v2_cond start_read(struct v2_start *st, json_t *body)
{
	json_t *fraud = json_object_get(body, "fraud_check");
	const char *brand = str_member(st, body, "brand", "brand");
	const char *locale = str_member(st, body, "locale", "locale");
	const char *ref = str_member(st, body, "client_ref", "client_ref");
	const char *code = str_member(st, body, "code", "code");

	if (!brand || !vonage_brand_valid(brand) || strpbrk(brand, "/{}:$"))
		invalid_add(st, "brand",
			    "1 to 18 characters, none of / { } : $.");
	st->in.brand = brand;
	workflow_read(st, body);
	if (locale && !(st->in.lg = vonage_lg_find(locale)))
		invalid_add(st, "locale", "Not one of Vonage's locales.");
	dlt_ids_check(st);
	st->channel_timeout = int_member(st, body, "channel_timeout",
					 CHANNEL_TIMEOUT_MIN,
					 CHANNEL_TIMEOUT_MAX);
	st->in.req.code_length = int_member(st, body, "code_length",
					    ENGINE_PIN_MIN, ENGINE_PIN_MAX);
	if (ref && (strlen(ref) < 1 || strlen(ref) > VF_CLIENT_REF_MAX))
		invalid_add(st, "client_ref", "1 to 40 characters.");
	st->in.client_ref = ref;
	st->in.v2 = 1;
	if (code && !all_digits(code, ENGINE_PIN_MIN, ENGINE_PIN_MAX))
		invalid_add(st, "code", "4 to 10 digits on this server.");
	else if (code && st->in.req.code_length &&
		 (size_t)st->in.req.code_length != strlen(code))
		invalid_add(st, "code_length", "Must be the code's length.");
	st->in.pin = code;
	st->template_id = str_member(st, body, "template_id", "template_id");
	if (fraud && !json_is_boolean(fraud))
		invalid_add(st, "fraud_check", "Must be a boolean.");
	if (json_array_size(st->invalid))
		return V2_INVALID_PARAMS;
	/* Turning the fraud checks off is an account capability we lack. */
	if (json_is_false(fraud))
		return V2_FORBIDDEN;
	return V2_COND_COUNT;
}

/*
 * channel_timeout is the wait after each step; the code lives for the
 * whole workflow, as in v2 (so no step draws a new one).
 */
static void start_timing(struct v2_start *st)
{
	int t = st->channel_timeout ? st->channel_timeout
				    : CHANNEL_TIMEOUT_DEFAULT;
	int life = t * (int)st->nsteps;

	st->in.req.next_event_wait_s = t;
	st->in.req.pin_expiry_s =
		life < ENGINE_PIN_EXPIRY_MAX_S ? life : ENGINE_PIN_EXPIRY_MAX_S;
}

/* The v2 name of a parameter the service refused. */
static const char *v2_param_name(const char *bad)
{
	static const struct {
		const char *service, *v2;
	} names[] = {
		{"next_event_wait", "channel_timeout"},
		{"pin_expiry", "channel_timeout"},
		{"workflow_id", "workflow"},
		{"sender_id", "from"},
		{"lg", "locale"},
		{"number", "to"},
	};

	for (size_t i = 0; bad && i < ARRAY_LEN(names); i++)
		if (strcmp(bad, names[i].service) == 0)
			return names[i].v2;
	return bad ? bad : "to";
}

static void v2_start_reply(struct v2_ctx *ctx, enum verify_result r,
			   const char *rid, const char *bad)
{
	char uuid[V2_UUID_LEN + 1];

	if (rid && *rid)
		v2_uuid_from_id(rid, uuid);
	switch (r) {
	case VERIFY_OK:
		v2_send(ctx->base.req, 202, "application/json",
			json_pack("{s:s}", "request_id", uuid));
		return;
	case VERIFY_CONCURRENT:
		v2_problem(ctx->base.req, V2_CONCURRENT, NULL, 0,
			   rid && *rid ? uuid : NULL, NULL);
		return;
	case VERIFY_BAD_NUMBER:
		v2_fail_param(ctx, "to", "Not a valid phone number.");
		return;
	case VERIFY_UNREACHABLE:
		v2_fail_param(ctx, "to", bad ? bad : "Cannot receive codes.");
		return;
	case VERIFY_BAD_PARAM:
		v2_fail_param(ctx, v2_param_name(bad), "Out of range.");
		return;
	case VERIFY_THROTTLED:
		v2_fail(ctx, V2_THROTTLED);
		return;
	case VERIFY_NOT_PERMITTED:
		v2_fail(ctx, V2_FORBIDDEN);
		return;
	case VERIFY_BLOCKED:
		v2_fail(ctx, V2_BLOCKED);
		return;
	default:
		v2_fail(ctx, V2_INTERNAL);
	}
}

/*
 * A start's Idempotency-Key: the record of an earlier start answers, or
 * ctx->idem is set for this one's write.  The request is its body.
 * Returns 1 when the call is answered.
 */
static int v2_idem_begin(struct v2_ctx *ctx)
{
	const struct buf *b = &ctx->base.req->body;
	char rid[ENGINE_REQUEST_ID_LEN + 1];
	unsigned char hash[32];

	crypto_generichash(hash, sizeof(hash), (const unsigned char *)b->data,
			   b->len, NULL, 0);
	switch (api_idem_begin(&ctx->base.call, hash, &ctx->idem, rid)) {
	case API_IDEM_NONE:
	case API_IDEM_NEW:
		return 0;
	case API_IDEM_REPLAY:
		v2_start_reply(ctx, VERIFY_OK, rid, NULL);
		return 1;
	case API_IDEM_BAD_KEY:
		v2_fail_param(ctx, "Idempotency-Key",
			      "1 to 255 printable ASCII characters.");
		return 1;
	case API_IDEM_MISMATCH:
		v2_fail(ctx, V2_IDEMPOTENCY);
		return 1;
	default:
		v2_fail(ctx, V2_INTERNAL);
		return 1;
	}
}

static void v2_start_then(struct api_ctx *base, int rc)
{
	struct v2_ctx *ctx = (struct v2_ctx *)base;
	char rid[ENGINE_REQUEST_ID_LEN + 1];
	enum verify_result r =
		verify_request_finish(ctx->pending, rc, rid, NULL, &ctx->wait);

	/*
	 * A retry that raced its first request to the writer finds the
	 * number's live verification: the first one's, which the record
	 * committed with it names.
	 */
	if (r == VERIFY_CONCURRENT && api_idem_raced(&ctx->idem, rid))
		r = VERIFY_OK;
	v2_start_reply(ctx, r, rid, NULL);
}

static enum api_run v2_start_run(struct v2_ctx *ctx)
{
	struct v2_start st;
	const char *bad = NULL;
	enum verify_result r;
	enum v2_cond cond;

	if (v2_idem_begin(ctx))
		return API_RUN_DONE;
	memset(&st, 0, sizeof(st));
	st.invalid = json_array();
	cond = start_read(&st, ctx->body);
	if (cond != V2_COND_COUNT) {
		v2_problem(ctx->base.req, cond, NULL, 0, NULL,
			   cond == V2_INVALID_PARAMS ? st.invalid : NULL);
		if (cond != V2_INVALID_PARAMS)
			json_decref(st.invalid);
		return API_RUN_DONE;
	}
	json_decref(st.invalid);
	if (v2_start_template(ctx->base.req, ctx->base.call.key_id,
			      st.template_id, st.in.lg, st.channels, st.nsteps,
			      st.template_chosen))
		return API_RUN_DONE;
	st.in.template_id = st.template_chosen;
	start_timing(&st);
	st.in.countries = ctx->base.call.countries;
	st.in.block_reason = ctx->block_reason;
	st.in.block_reason_len = sizeof(ctx->block_reason);
	r = verify_request_start(ctx->base.call.key_id, &st.in, &bad,
				 &ctx->wait, &ctx->pending);
	if (r == VERIFY_PENDING && ctx->idem.idem_key) {
		ctx->idem.p = ctx->pending;
		return api_ctx_write(&ctx->base, verify_idem_run, &ctx->idem,
				     v2_start_then);
	}
	if (r == VERIFY_PENDING)
		return v2_write(ctx, v2_start_then);
	v2_start_reply(ctx, r, NULL, bad);
	return API_RUN_DONE;
}

/* ---- check ---- */

static const enum v2_cond check_conds[] = {
	[CHECK_OK] = V2_COND_COUNT, /* not a refusal */
	[CHECK_WRONG] = V2_INVALID_CODE,
	[CHECK_WRONG_LAST] = V2_TOO_MANY_WRONG,
	[CHECK_FAILED] = V2_TOO_MANY_WRONG,
	[CHECK_ALREADY_VERIFIED] = V2_NOT_FOUND,
	[CHECK_CANCELLED] = V2_NOT_FOUND,
	[CHECK_EXPIRED] = V2_EXPIRED,
	[CHECK_COMPARE] = V2_INTERNAL, /* never an outcome */
};

/* A result other than VERIFY_OK of a call on one verification. */
static enum v2_cond id_cond(enum verify_result r)
{
	if (r == VERIFY_NOT_FOUND)
		return V2_NOT_FOUND;
	if (r == VERIFY_THROTTLED)
		return V2_THROTTLED;
	return V2_INTERNAL;
}

static void v2_check_reply(struct v2_ctx *ctx, enum verify_result r,
			   enum check_outcome oc)
{
	enum v2_cond cond = r == VERIFY_OK ? check_conds[oc] : id_cond(r);

	if (cond != V2_COND_COUNT) {
		v2_fail(ctx, cond);
		return;
	}
	v2_send(ctx->base.req, 200, "application/json",
		json_pack("{s:s,s:s}", "request_id", ctx->uuid, "status",
			  "completed"));
}

static void v2_check_then(struct api_ctx *base, int rc)
{
	struct v2_ctx *ctx = (struct v2_ctx *)base;
	enum check_outcome oc = CHECK_OK;
	enum verify_result r =
		verify_check_finish(ctx->pending, rc, &oc, ctx->number);

	ctx->wait = 0;
	v2_check_reply(ctx, r, oc);
}

static enum api_run v2_check_run(struct v2_ctx *ctx)
{
	const char *code =
		json_string_value(json_object_get(ctx->body, "code"));
	enum verify_result r;

	if (!code) {
		v2_fail_param(ctx, "code", "A string is required.");
		return API_RUN_DONE;
	}
	if (!vonage_code_valid(code)) {
		v2_fail_param(ctx, "code", "The code is 1 to 10 digits.");
		return API_RUN_DONE;
	}
	if (!ctx->id[0]) {
		v2_fail(ctx, V2_NOT_FOUND);
		return API_RUN_DONE;
	}
	r = verify_check_start(ctx->base.call.key_id, ctx->id, NULL, code,
			       ctx->base.req->client_ip, &ctx->wait,
			       &ctx->pending);
	if (r == VERIFY_PENDING)
		return v2_write(ctx, v2_check_then);
	v2_check_reply(ctx, r, CHECK_OK);
	return API_RUN_DONE;
}

/* ---- cancel and next_workflow ---- */

static const enum v2_cond control_conds[] = {
	[CONTROL_OK] = V2_COND_COUNT, /* not a refusal */
	[CONTROL_NOT_ACTIVE] = V2_NOT_FOUND,
	[CONTROL_TOO_EARLY] = V2_CANCEL_TOO_EARLY,
	[CONTROL_TOO_LATE] = V2_CANCEL_TOO_LATE,
	[CONTROL_NO_MORE_EVENTS] = V2_NO_MORE_EVENTS,
	[CONTROL_COOLDOWN] = V2_INTERNAL, /* never: no resend in v2 */
	[CONTROL_RESEND_CAP] = V2_INTERNAL,
};

static void v2_control_then(struct api_ctx *base, int rc)
{
	struct v2_ctx *ctx = (struct v2_ctx *)base;
	enum control_outcome oc = CONTROL_OK;
	enum verify_result r =
		verify_control_finish(ctx->pending, rc, &oc, &ctx->wait);
	enum v2_cond cond = r == VERIFY_OK ? control_conds[oc] : id_cond(r);

	if (cond == V2_CANCEL_TOO_EARLY)
		v2_problem(base->req, cond, NULL,
			   verify_settings()->cancel_min_age_s, NULL, NULL);
	else if (cond != V2_COND_COUNT)
		v2_fail(ctx, cond);
	else
		/* Vonage: 204 for a cancel, an empty 200 for next_workflow. */
		v2_send_empty(base->req,
			      base->req->method == HTTP_DELETE ? 204 : 200);
}

static enum api_run v2_control(struct v2_ctx *ctx, enum verify_cmd cmd)
{
	enum verify_result r;

	if (!ctx->id[0]) {
		v2_fail(ctx, V2_NOT_FOUND);
		return API_RUN_DONE;
	}
	r = verify_control_start(ctx->base.call.key_id, ctx->id, NULL, cmd, 1,
				 &ctx->pending);
	if (r == VERIFY_PENDING)
		return v2_write(ctx, v2_control_then);
	v2_fail(ctx, id_cond(r));
	return API_RUN_DONE;
}

static enum api_run v2_cancel_run(struct v2_ctx *ctx)
{
	return v2_control(ctx, CMD_CANCEL);
}

static enum api_run v2_next_run(struct v2_ctx *ctx)
{
	return v2_control(ctx, CMD_TRIGGER_NEXT);
}

/* ---- routes ---- */

#define V2_ENDPOINT(run_)                                                      \
	{                                                                      \
		{sizeof(struct v2_ctx), NULL, API_RAW_BODY | API_JWT_OK,       \
		 v2_run, v2_release},                                          \
			run_                                                   \
	}

enum { EP_START, EP_CHECK, EP_CANCEL, EP_NEXT };

static const struct v2_endpoint endpoints[] = {
	[EP_START] = V2_ENDPOINT(v2_start_run),
	[EP_CHECK] = V2_ENDPOINT(v2_check_run),
	[EP_CANCEL] = V2_ENDPOINT(v2_cancel_run),
	[EP_NEXT] = V2_ENDPOINT(v2_next_run),
};

/* What a path under /v2/verify names. */
enum v2_shape { SHAPE_NONE, SHAPE_ROOT, SHAPE_ID, SHAPE_NEXT };

static enum v2_shape v2_path_shape(const char *rest)
{
	const char *slash;

	if (rest[0] == '\0' || strcmp(rest, "/") == 0)
		return SHAPE_ROOT;
	if (rest[0] != '/' || rest[1] == '/')
		return SHAPE_NONE;
	slash = strchr(rest + 1, '/');
	if (!slash)
		return SHAPE_ID;
	return strcmp(slash, V2_NEXT) == 0 ? SHAPE_NEXT : SHAPE_NONE;
}

static const struct {
	enum v2_shape shape;
	enum http_method method;
	int ep;
} v2_dispatch[] = {
	{SHAPE_ROOT, HTTP_POST, EP_START},
	{SHAPE_ID, HTTP_POST, EP_CHECK},
	{SHAPE_ID, HTTP_DELETE, EP_CANCEL},
	{SHAPE_NEXT, HTTP_POST, EP_NEXT},
};

/*
 * Every path under /v2/verify: the endpoint its shape and method name, or
 * a 404 or 405 problem (before any authentication, as for unknown paths).
 */
static void v2_entry(struct http_req *req)
{
	enum v2_shape shape = v2_path_shape(req->path + strlen(V2_PREFIX));

	for (size_t i = 0; i < ARRAY_LEN(v2_dispatch); i++)
		if (v2_dispatch[i].shape == shape &&
		    v2_dispatch[i].method == req->method) {
			api_serve(req, &endpoints[v2_dispatch[i].ep].h);
			return;
		}
	v2_problem(req, shape != SHAPE_NONE ? V2_METHOD : V2_NO_ROUTE, NULL, 0,
		   NULL, NULL);
}

/*
 * GET and PATCH are for the templates only: elsewhere http.c answers them
 * 405 as for any other method a path does not serve.  The templates'
 * route comes first, so it takes every method under its prefix.
 */
const struct route v2_routes[] = {
	{V2_PREFIX, v2_entry, HTTP_POST, 0, NULL},
	{V2_TEMPLATES, v2_templates,
	 HTTP_GET | HTTP_POST | HTTP_PATCH | HTTP_DELETE, 1, NULL},
	{V2_PREFIX "/", v2_entry, HTTP_POST | HTTP_DELETE, 1, NULL},
	{NULL, NULL, 0, 0, NULL},
};
