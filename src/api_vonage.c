/*
 * The Vonage (Nexmo) Verify v1 dialect: /verify/{json,xml} and its check,
 * search and control siblings.  Every value is a string, HTTP is always 200,
 * and every refusal goes through one table of codes and texts.  XML roots:
 * verify_response (request, check; and a search of several request_ids,
 * which wraps <verification_requests>), verify_request (search), response
 * (control).
 */
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "api_vonage.h"
#include "browser.h"
#include "engine.h"
#include "phone.h"
#include "util.h"
#include "verify.h"

#define SEARCH_IDS_MAX 10
#define BRAND_MAX 18
#define SENDER_ID_MAX 11
#define PRICE_ZERO "0.00000000"
#define CURRENCY "EUR"

/* The one table: "%s" stands for the argument, "%d" for cancel_min_age. */
static const struct {
	int status;
	const char *text;
} vonage_codes[VONAGE_COND_COUNT] = {
	[VONAGE_THROTTLED] = {1, "Throttled"},
	[VONAGE_MISSING] = {2, "Your request is incomplete and missing the "
			       "mandatory parameter `%s`"},
	[VONAGE_BAD_VALUE] = {3, "Invalid value for parameter `%s`"},
	[VONAGE_BAD_INPUT] = {3, "%s"},
	[VONAGE_TOO_BIG] = {3, "Request too large"},
	[VONAGE_BAD_CREDENTIALS] = {4, "Invalid credentials were provided"},
	[VONAGE_INTERNAL] = {5, "Internal Error"},
	[VONAGE_NOT_FOUND] = {6, "The Vonage platform was unable to process "
				 "this message for the following reason: "
				 "Request '%s' was not found or it has been "
				 "verified already."},
	[VONAGE_CONCURRENT] = {10, "Concurrent verifications to the same "
				   "number are not allowed."},
	[VONAGE_WRONG_CODE] = {16, "The code provided does not match the "
				   "expected value"},
	[VONAGE_WRONG_TOO_MANY] = {17, "The wrong code was provided too many "
				       "times"},
	[VONAGE_CANCEL_TOO_EARLY] = {19, "Verification request ['%s'] can't "
					 "be cancelled within the first %d "
					 "seconds."},
	[VONAGE_CANCEL_TOO_LATE] = {19, "Verification request  ['%s'] can't "
					"be cancelled now. Too many attempts "
					"to re-deliver have already been "
					"made."},
	[VONAGE_NO_MORE_EVENTS] = {19, "No more events are left to execute "
				       "for the request ['%s']"},
	[VONAGE_NO_RESPONSE] = {101, "No response found"},
	[VONAGE_NOT_PERMITTED] = {29, "Non-Permitted Destination"},
	[VONAGE_PIN_CODE] = {20, "This account does not support the parameter: "
				 "pin_code."},
	[VONAGE_BLOCKED] = {7, "The number you are trying to verify is "
			       "blacklisted for verification."},
	[VONAGE_ORIGIN] = {4, "Origin not allowed for this key"},
	[VONAGE_BROWSER_SECRET] = {4, "Secret keys are not accepted from a "
				      "browser (the request has an Origin "
				      "header); use a publishable key"},
	[VONAGE_PK_ENDPOINT] = {4, "Publishable keys cannot use this "
				   "endpoint; call it from your backend "
				   "with a secret key"},
	[VONAGE_PK_PARAM] = {3, "Parameter `%s` is not allowed with a "
				"publishable key"},
	[VONAGE_TOKEN_EXPIRED] = {6, "The token has expired"},
	[VONAGE_TOKEN_USED] = {6, "The token was already used"},
	[VONAGE_RESEND_COOLDOWN] = {1, "Throttled: resent too recently"},
	[VONAGE_RESEND_CAP] = {1, "Throttled: no resends left"},
	[VONAGE_PK_BRAND] = {3, "Parameter `brand` must be this publishable "
				"key's brand, `%s`"},
};

/* Appends n bytes of s at *at, truncating; text stays NUL-terminated. */
static void text_put(char *text, size_t len, size_t *at, const char *s,
		     size_t n)
{
	if (*at + 1 >= len)
		return;
	if (n > len - 1 - *at)
		n = len - 1 - *at;
	memcpy(text + *at, s, n);
	*at += n;
	text[*at] = '\0';
}

int vonage_error_text(enum vonage_cond cond, const char *arg, char *text,
		      size_t len)
{
	const char *t;
	char num[16];
	size_t at = 0;

	if (len)
		text[0] = '\0';
	if ((unsigned int)cond >= VONAGE_COND_COUNT)
		return -1;
	for (t = vonage_codes[cond].text; *t; t++) {
		if (t[0] == '%' && t[1] == 's') {
			text_put(text, len, &at, arg ? arg : "",
				 arg ? strlen(arg) : 0);
			t++;
		} else if (t[0] == '%' && t[1] == 'd') {
			snprintf(num, sizeof(num), "%d",
				 verify_settings()->cancel_min_age_s);
			text_put(text, len, &at, num, strlen(num));
			t++;
		} else {
			text_put(text, len, &at, t, 1);
		}
	}
	return vonage_codes[cond].status;
}

const char *vonage_lg_find(const char *lg)
{
	static const char *const locales[] = {
		"ar-xa", "cs-cz",  "cy-cy", "cy-gb", "da-dk", "de-de", "el-gr",
		"en-au", "en-gb",  "en-in", "en-us", "es-es", "es-mx", "es-us",
		"fi-fi", "fil-ph", "fr-ca", "fr-fr", "hi-in", "hu-hu", "id-id",
		"is-is", "it-it",  "ja-jp", "ko-kr", "nb-no", "nl-nl", "pl-pl",
		"pt-br", "pt-pt",  "ro-ro", "ru-ru", "sv-se", "th-th", "tr-tr",
		"vi-vn", "yue-cn", "zh-cn", "zh-tw",
	};

	for (size_t i = 0; lg && i < ARRAY_LEN(locales); i++)
		if (strcasecmp(lg, locales[i]) == 0)
			return locales[i];
	return NULL;
}

size_t vonage_utf8_count(const char *s)
{
	size_t n = 0;

	/* Count every byte that does not continue a sequence (10xxxxxx). */
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int all_of(const char *s, const char *set, size_t lo, size_t hi)
{
	size_t n = strlen(s);

	return n >= lo && n <= hi && strspn(s, set) == n;
}

int vonage_brand_valid(const char *brand)
{
	size_t n = vonage_utf8_count(brand);

	return n >= 1 && n <= BRAND_MAX;
}

int vonage_sender_id_valid(const char *sender_id)
{
	return all_of(sender_id,
		      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789",
		      1, SENDER_ID_MAX);
}

int vonage_code_valid(const char *code)
{
	return all_of(code, "0123456789", 1, ENGINE_PIN_MAX);
}

const char *vonage_event_type(const struct vf_event *ev)
{
	/*
	 * Vonage lists one event per message that went out: the accepted
	 * deliveries (first sends and resends) on the sms and tts channels.
	 * Retries, refusals and the IVR's own callbacks stay in the seed
	 * dialect's fuller events[].
	 */
	if (strcmp(ev->result, "accepted") != 0)
		return NULL;
	if (strcmp(ev->channel, "sms") == 0)
		return "sms";
	if (strcmp(ev->channel, "tts") == 0)
		return "tts";
	return NULL;
}

/* ---- one call: its parameters and how it is answered ---- */

enum { ECHO_NONE, ECHO_EMPTY, ECHO_GIVEN };

struct vonage_ctx {
	struct http_req *req;
	struct api_call call;
	const char *root; /* XML root of the reply */
	int xml;          /* the path ends in /xml */
	const char *rid;  /* request_id of error replies, NULL for none */
	/* A call waiting for its write (http_write): its state and facts. */
	struct verify_pending *pending;
	struct browser_redeem_op redeem; /* token: the redemption */
	const char *cmd_name;            /* control: the command given */
	char number[16];                 /* check: the verification's number */
	int *handed_off; /* set once the continuation owns the context */
};

struct vonage_endpoint {
	const char *root;          /* XML root element */
	const char *const *single; /* single-valued parameters */
	void (*run)(struct vonage_ctx *ctx);
	int echo_id;        /* ECHO_*: request_id in error replies */
	unsigned int flags; /* api_prepare() flags */
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
		api_reply_xml(ctx->req, ctx->root, o);
	else
		api_reply_json(ctx->req, o);
}

/* The only place a condition becomes a reply. */
/*
 * Refusals that a visitor's page does not cause when it works as written:
 * through a publishable key, the sender's address pays extra for them.
 */
static const unsigned char vonage_junk[VONAGE_COND_COUNT] = {
	[VONAGE_MISSING] = 1,   [VONAGE_BAD_VALUE] = 1,
	[VONAGE_BAD_INPUT] = 1, [VONAGE_TOO_BIG] = 1,
	[VONAGE_NOT_FOUND] = 1, [VONAGE_NO_RESPONSE] = 1,
	[VONAGE_PIN_CODE] = 1,  [VONAGE_PK_ENDPOINT] = 1,
	[VONAGE_PK_PARAM] = 1,  [VONAGE_PK_BRAND] = 1,
};

static void vonage_fail(struct vonage_ctx *ctx, enum vonage_cond cond,
			const char *arg)
{
	char text[VONAGE_TEXT_MAX];
	int status = vonage_error_text(cond, arg, text, sizeof(text));
	json_t *o = json_object();

	if ((unsigned int)cond < VONAGE_COND_COUNT && vonage_junk[cond])
		api_call_junk(&ctx->call);

	if (ctx->rid)
		json_object_set_new(o, "request_id", json_string(ctx->rid));
	json_object_set_new(o, "status", status_string(status));
	json_object_set_new(o, "error_text", json_string(text));
	vonage_send(ctx, o);
}

/*
 * The handle a call through a publishable key proves its verification
 * with: what the page sent, "" for nothing (which matches none); NULL for
 * a secret key, whose calls are not bound to a page.
 */
static const char *page_handle(const struct vonage_ctx *ctx)
{
	const char *h = api_param(&ctx->call, "handle");

	if (!ctx->call.publishable)
		return NULL;
	return h ? h : "";
}

/* Condition of a service result other than VERIFY_OK. */
static enum vonage_cond result_cond(enum verify_result r)
{
	return r == VERIFY_NOT_FOUND ? VONAGE_NOT_FOUND : VONAGE_INTERNAL;
}

static int path_is_xml(const char *path)
{
	size_t n = path ? strlen(path) : 0;

	return n >= 4 && strcmp(path + n - 4, "/xml") == 0;
}

/*
 * The shared front: parameters, credentials and duplicates.  Returns 1 when
 * the endpoint may run; otherwise the error reply is set.
 */
static int vonage_admit(struct vonage_ctx *ctx, enum api_fail f)
{
	static const enum vonage_cond conds[] = {
		[API_BAD_INPUT] = VONAGE_BAD_INPUT,
		[API_TOO_BIG] = VONAGE_TOO_BIG,
		[API_NO_CREDENTIALS] = VONAGE_MISSING,
		[API_BAD_CREDENTIALS] = VONAGE_BAD_CREDENTIALS,
		[API_INTERNAL] = VONAGE_INTERNAL,
		[API_THROTTLED] = VONAGE_THROTTLED,
		[API_ORIGIN] = VONAGE_ORIGIN,
		[API_BROWSER_SECRET] = VONAGE_BROWSER_SECRET,
		[API_PUBLISHABLE] = VONAGE_PK_ENDPOINT,
	};
	const char *arg = NULL;

	if (f == API_READY && !ctx->call.duplicate)
		return 1;
	if (f == API_READY) {
		vonage_fail(ctx, VONAGE_BAD_VALUE, ctx->call.duplicate);
		return 0;
	}
	if (f == API_BAD_INPUT)
		arg = ctx->call.params.error;
	else if (f == API_NO_CREDENTIALS)
		arg = api_param(&ctx->call, "api_key") ? "api_secret"
						       : "api_key";
	vonage_fail(ctx, conds[f], arg);
	return 0;
}

static void vonage_ctx_free(struct vonage_ctx *ctx)
{
	api_call_release(&ctx->call);
	free(ctx);
}

/*
 * The context lives on the heap: an endpoint that writes hands it to
 * http_write(), and its continuation answers and frees it.
 */
static void vonage_serve(struct http_req *req, const struct vonage_endpoint *ep)
{
	struct vonage_ctx *ctx = calloc(1, sizeof(*ctx));
	int handed_off = 0;
	enum api_fail f;

	if (!ctx)
		return; /* no reply: http.c answers "Internal Error" */
	ctx->req = req;
	ctx->handed_off = &handed_off;
	ctx->root = ep->root;
	f = api_prepare(req, &ctx->call, ep->single, ep->flags);
	ctx->xml = path_is_xml(req->path);
	if (ep->echo_id == ECHO_EMPTY)
		ctx->rid = "";
	else if (ep->echo_id == ECHO_GIVEN)
		ctx->rid = params_get(&ctx->call.params, "request_id");
	if (ep->echo_id == ECHO_GIVEN && !ctx->rid)
		ctx->rid = "";
	if (vonage_admit(ctx, f))
		ep->run(ctx);
	/* Once handed off, ctx may be gone already (a synchronous write). */
	if (!handed_off)
		vonage_ctx_free(ctx);
}

/*
 * Hands the call's write fn(arg) to the writer; `then` answers and frees
 * ctx.  vonage_write() is the usual one: the verification's pending write.
 */
static void vonage_write_fn(struct vonage_ctx *ctx,
			    int (*fn)(struct store_tx *c, void *arg), void *arg,
			    void (*then)(struct http_req *req, int rc,
					 void *arg))
{
	*ctx->handed_off = 1;
	ctx->handed_off = NULL;
	http_write(ctx->req, fn, arg, then, ctx);
}

static void vonage_write(struct vonage_ctx *ctx,
			 void (*then)(struct http_req *req, int rc, void *arg))
{
	vonage_write_fn(ctx, verify_pending_run, ctx->pending, then);
}

/* ---- request ---- */

/* Sets an int member of engine_request: digits only, at least 1. */
static int read_int_params(struct vonage_ctx *ctx, struct engine_request *er,
			   const char **bad)
{
	static const struct {
		const char *name;
		size_t offset;
		int max;
	} ints[] = {
		{"code_length", offsetof(struct engine_request, code_length),
		 INT_MAX},
		{"pin_expiry", offsetof(struct engine_request, pin_expiry_s),
		 INT_MAX},
		{"next_event_wait",
		 offsetof(struct engine_request, next_event_wait_s), INT_MAX},
		{"workflow_id", offsetof(struct engine_request, workflow_id),
		 7},
	};

	for (size_t i = 0; i < ARRAY_LEN(ints); i++) {
		const char *v = params_get(&ctx->call.params, ints[i].name);
		int n;

		if (!v)
			continue;
		if (strspn(v, "0123456789") != strlen(v) ||
		    parse_int(v, 1, ints[i].max, &n) != 0) {
			*bad = ints[i].name;
			return -1;
		}
		memcpy((char *)er + ints[i].offset, &n, sizeof(n));
	}
	return 0;
}

static int country_valid(const char *country)
{
	return all_of(country,
		      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 2,
		      2) &&
	       phone_check_region(country) == 0;
}

static int lg_valid(const char *lg)
{
	return vonage_lg_find(lg) != NULL;
}

/*
 * Fills `in` from the parameters (number and brand are present).  Returns
 * the name of the first invalid parameter, or NULL.
 */
static const char *read_request(struct vonage_ctx *ctx,
				struct verify_request_in *in)
{
	static const struct {
		const char *name;
		int (*valid)(const char *v);
	} strs[] = {
		{"brand", vonage_brand_valid},
		{"sender_id", vonage_sender_id_valid},
		{"country", country_valid},
		{"lg", lg_valid},
	};
	const char *bad = NULL;

	for (size_t i = 0; i < ARRAY_LEN(strs); i++) {
		const char *v = api_param(&ctx->call, strs[i].name);

		if (v && !strs[i].valid(v))
			return strs[i].name;
	}
	in->sender_id = api_param(&ctx->call, "sender_id");
	in->country = api_param(&ctx->call, "country");
	in->lg = vonage_lg_find(api_param(&ctx->call, "lg"));
	if (read_int_params(ctx, &in->req, &bad) != 0)
		return bad;
	return NULL;
}

static void vonage_request_reply(struct vonage_ctx *ctx, enum verify_result r,
				 const char *rid, const char *handle,
				 const char *bad, int wait)
{
	json_t *o;

	if (r == VERIFY_OK) {
		o = json_object();
		json_object_set_new(o, "request_id", json_string(rid));
		json_object_set_new(o, "status", json_string("0"));
		/* The page's proof that this verification is its own. */
		if (handle && *handle)
			json_object_set_new(o, "handle", json_string(handle));
		vonage_send(ctx, o);
	} else if (r == VERIFY_CONCURRENT) {
		ctx->rid = rid;
		vonage_fail(ctx, VONAGE_CONCURRENT, NULL);
	} else if (r == VERIFY_BAD_NUMBER || r == VERIFY_BAD_PARAM) {
		vonage_fail(ctx, VONAGE_BAD_VALUE,
			    r == VERIFY_BAD_PARAM && bad ? bad : "number");
	} else if (r == VERIFY_THROTTLED) {
		api_retry_after(ctx->req, wait);
		vonage_fail(ctx, VONAGE_THROTTLED, NULL);
	} else if (r == VERIFY_NOT_PERMITTED) {
		vonage_fail(ctx, VONAGE_NOT_PERMITTED, NULL);
	} else if (r == VERIFY_BLOCKED) {
		vonage_fail(ctx, VONAGE_BLOCKED, NULL);
	} else if (r == VERIFY_UNREACHABLE) {
		char text[160];

		snprintf(text, sizeof(text),
			 "Invalid value for parameter `number`: %s",
			 bad ? bad : "this number cannot receive codes");
		vonage_fail(ctx, VONAGE_BAD_INPUT, text);
	} else {
		vonage_fail(ctx, VONAGE_INTERNAL, NULL);
	}
}

static void vonage_request_then(struct http_req *req, int rc, void *arg)
{
	struct vonage_ctx *ctx = arg;
	char rid[ENGINE_REQUEST_ID_LEN + 1];
	char handle[CRYPTO_HANDLE_LEN + 1];
	int wait = 0;
	enum verify_result r =
		verify_request_finish(ctx->pending, rc, rid, handle, &wait);

	vonage_request_reply(ctx, r, rid, handle, NULL, wait);
	vonage_ctx_free(ctx);
}

/*
 * A page's visitor sets only the number, brand, language and country: a
 * workflow, timing or PIN of their choosing would be the site's to decide.
 * Returns the first parameter a publishable key may not set, or NULL.
 */
static const char *pk_refused_param(struct vonage_ctx *ctx)
{
	static const char *const refused[] = {
		"pin_code",   "code_length",     "workflow_id",
		"pin_expiry", "next_event_wait", "sender_id",
	};

	for (size_t i = 0; i < ARRAY_LEN(refused); i++)
		if (params_count(&ctx->call.params, refused[i]))
			return refused[i];
	return NULL;
}

static void vonage_request_run(struct vonage_ctx *ctx)
{
	struct verify_request_in in;
	const char *bad = NULL;
	enum verify_result r;
	int wait = 0;

	memset(&in, 0, sizeof(in));
	in.number = api_param(&ctx->call, "number");
	in.brand = api_param(&ctx->call, "brand");
	if (ctx->call.brand[0]) {
		/* A key with a fixed brand names it, whatever the page says. */
		if (in.brand && strcmp(in.brand, ctx->call.brand) != 0) {
			vonage_fail(ctx, VONAGE_PK_BRAND, ctx->call.brand);
			return;
		}
		in.brand = ctx->call.brand;
	}
	if (!in.number || !in.brand) {
		vonage_fail(ctx, VONAGE_MISSING,
			    in.number ? "brand" : "number");
		return;
	}
	if (ctx->call.publishable && (bad = pk_refused_param(ctx)) != NULL) {
		vonage_fail(ctx, VONAGE_PK_PARAM, bad);
		return;
	}
	/* Custom PINs are an account capability Vonage sells; we have none. */
	if (api_param(&ctx->call, "pin_code")) {
		vonage_fail(ctx, VONAGE_PIN_CODE, NULL);
		return;
	}
	bad = read_request(ctx, &in);
	if (bad) {
		vonage_fail(ctx, VONAGE_BAD_VALUE, bad);
		return;
	}
	in.countries = ctx->call.countries;
	if (ctx->call.publishable) {
		in.browser_ip = ctx->req->client_ip;
		in.publishable = 1;
		in.handle = api_param(&ctx->call, "handle");
	}
	r = verify_request_start(ctx->call.key_id, &in, &bad, &wait,
				 &ctx->pending);
	if (r == VERIFY_PENDING)
		vonage_write(ctx, vonage_request_then);
	else
		vonage_request_reply(ctx, r, NULL, NULL, bad, wait);
}

/* ---- check ---- */

/*
 * A check through a publishable key proves the number to the page, which
 * the site's backend cannot trust: the reply carries a signed token the
 * backend can.
 */
static int add_token(struct vonage_ctx *ctx, json_t *o, const char *id)
{
	char token[VTOKEN_MAX];

	if (browser_token_issue(ctx->call.api_key, id, ctx->number, token) != 0)
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
	if (ctx->call.publishable && add_token(ctx, o, id) != 0) {
		json_decref(o);
		vonage_fail(ctx, VONAGE_INTERNAL, NULL);
		return;
	}
	vonage_send(ctx, o);
}

static void vonage_check_reply(struct vonage_ctx *ctx, enum verify_result r,
			       enum check_outcome oc, int wait)
{
	static const enum vonage_cond conds[] = {
		[CHECK_WRONG] = VONAGE_WRONG_CODE,
		[CHECK_WRONG_LAST] = VONAGE_WRONG_TOO_MANY,
		[CHECK_FAILED] = VONAGE_WRONG_TOO_MANY,
		[CHECK_ALREADY_VERIFIED] = VONAGE_NOT_FOUND,
		[CHECK_CANCELLED] = VONAGE_NOT_FOUND,
		[CHECK_EXPIRED] = VONAGE_NOT_FOUND,
	};
	const char *id = api_param(&ctx->call, "request_id");

	if (r == VERIFY_THROTTLED) {
		api_retry_after(ctx->req, wait);
		vonage_fail(ctx, VONAGE_THROTTLED, NULL);
	} else if (r != VERIFY_OK)
		vonage_fail(ctx, result_cond(r), id);
	else if (oc != CHECK_OK)
		vonage_fail(ctx, conds[oc], id);
	else
		vonage_check_ok(ctx, id);
}

static void vonage_check_then(struct http_req *req, int rc, void *arg)
{
	struct vonage_ctx *ctx = arg;
	enum check_outcome oc = CHECK_OK;
	enum verify_result r =
		verify_check_finish(ctx->pending, rc, &oc, ctx->number);

	vonage_check_reply(ctx, r, oc, 0);
	vonage_ctx_free(ctx);
}

static void vonage_check_run(struct vonage_ctx *ctx)
{
	const char *id = api_param(&ctx->call, "request_id");
	const char *code = api_param(&ctx->call, "code");
	enum verify_result r;
	int wait = 0;

	if (!id || !code) {
		vonage_fail(ctx, VONAGE_MISSING, id ? "code" : "request_id");
		return;
	}
	if (!vonage_code_valid(code)) {
		vonage_fail(ctx, VONAGE_BAD_VALUE, "code");
		return;
	}
	r = verify_check_start(ctx->call.key_id, id, page_handle(ctx), code,
			       ctx->req->client_ip, &wait, &ctx->pending);
	if (r == VERIFY_PENDING)
		vonage_write(ctx, vonage_check_then);
	else
		vonage_check_reply(ctx, r, CHECK_OK, wait);
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

	*r = verify_search(ctx->call.key_id, id, page_handle(ctx), &rec);
	if (*r != VERIFY_OK)
		goto out;
	if (verify_checks_foreach(&rec, check_to_json, checks) != 0 ||
	    verify_events_foreach(&rec, event_to_json, events) != 0) {
		*r = VERIFY_ERROR;
		goto out;
	}
	o = json_object();
	set_str(o, "request_id", rec.v.request_id);
	set_str(o, "account_id", ctx->call.api_key);
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
		vonage_fail(ctx,
			    r == VERIFY_NOT_FOUND ? VONAGE_NO_RESPONSE
						  : VONAGE_INTERNAL,
			    NULL);
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

static void vonage_search_run(struct vonage_ctx *ctx)
{
	const char *ids[SEARCH_IDS_MAX];
	const char *id = api_param(&ctx->call, "request_id");
	size_t n;

	if (id) {
		search_one(ctx, id);
		return;
	}
	if (ctx->call.publishable) {
		/* A page looks up the one verification it started. */
		if (params_count(&ctx->call.params, "request_ids"))
			vonage_fail(ctx, VONAGE_PK_PARAM, "request_ids");
		else
			vonage_fail(ctx, VONAGE_MISSING, "request_id");
		return;
	}
	n = params_get_all(&ctx->call.params, "request_ids", ids,
			   SEARCH_IDS_MAX);
	if (n > SEARCH_IDS_MAX)
		vonage_fail(ctx, VONAGE_BAD_VALUE, "request_ids");
	else
		search_many(ctx, ids, n);
}

/* ---- control ---- */

static void vonage_control_reply(struct vonage_ctx *ctx, enum verify_result r,
				 enum control_outcome oc)
{
	static const enum vonage_cond conds[] = {
		[CONTROL_NOT_ACTIVE] = VONAGE_NOT_FOUND,
		[CONTROL_TOO_EARLY] = VONAGE_CANCEL_TOO_EARLY,
		[CONTROL_TOO_LATE] = VONAGE_CANCEL_TOO_LATE,
		[CONTROL_NO_MORE_EVENTS] = VONAGE_NO_MORE_EVENTS,
		[CONTROL_COOLDOWN] = VONAGE_RESEND_COOLDOWN,
		[CONTROL_RESEND_CAP] = VONAGE_RESEND_CAP,
	};
	const char *id = api_param(&ctx->call, "request_id");
	json_t *o;

	if (r != VERIFY_OK) {
		vonage_fail(ctx, result_cond(r), id);
	} else if (oc != CONTROL_OK) {
		if (oc == CONTROL_COOLDOWN)
			api_retry_after(ctx->req,
					verify_resend_wait(ctx->call.key_id,
							   id));
		vonage_fail(ctx, conds[oc], id);
	} else {
		o = json_object();
		json_object_set_new(o, "status", json_string("0"));
		json_object_set_new(o, "command", json_string(ctx->cmd_name));
		vonage_send(ctx, o);
	}
}

static void vonage_control_then(struct http_req *req, int rc, void *arg)
{
	struct vonage_ctx *ctx = arg;
	enum control_outcome oc = CONTROL_OK;
	enum verify_result r = verify_control_finish(ctx->pending, rc, &oc);

	vonage_control_reply(ctx, r, oc);
	vonage_ctx_free(ctx);
}

static void vonage_control_run(struct vonage_ctx *ctx)
{
	static const struct {
		const char *name;
		enum verify_cmd cmd;
	} cmds[] = {
		{"cancel", CMD_CANCEL},
		{"trigger_next_event", CMD_TRIGGER_NEXT},
		{"resend", CMD_RESEND},
	};
	const char *id = api_param(&ctx->call, "request_id");
	const char *cmd = api_param(&ctx->call, "cmd");
	enum verify_result r;
	size_t i;

	if (!id || !cmd) {
		vonage_fail(ctx, VONAGE_MISSING, id ? "cmd" : "request_id");
		return;
	}
	for (i = 0; i < ARRAY_LEN(cmds); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			break;
	if (i == ARRAY_LEN(cmds)) {
		vonage_fail(ctx, VONAGE_BAD_VALUE, "cmd");
		return;
	}
	/* A page may stop or resend its own; moving the workflow is not its. */
	if (ctx->call.publishable && cmds[i].cmd == CMD_TRIGGER_NEXT) {
		vonage_fail(ctx, VONAGE_PK_PARAM, "cmd=trigger_next_event");
		return;
	}
	ctx->cmd_name = cmds[i].name;
	r = verify_control_start(ctx->call.key_id, id, page_handle(ctx),
				 cmds[i].cmd, 1, &ctx->pending);
	if (r == VERIFY_PENDING)
		vonage_write(ctx, vonage_control_then);
	else
		vonage_control_reply(ctx, r, CONTROL_OK);
}

/* ---- verification tokens (secret keys: the site's backend) ---- */

static void vonage_token_reply(struct vonage_ctx *ctx, enum browser_redeem r)
{
	static const enum vonage_cond conds[] = {
		[REDEEM_INVALID] = VONAGE_BAD_VALUE,
		[REDEEM_EXPIRED] = VONAGE_TOKEN_EXPIRED,
		[REDEEM_USED] = VONAGE_TOKEN_USED,
		[REDEEM_ERROR] = VONAGE_INTERNAL,
		[REDEEM_PENDING] = VONAGE_INTERNAL, /* never: a write ran */
	};
	const struct vtoken_claims *c = &ctx->redeem.claims;
	json_t *o;

	if (r != REDEEM_OK) {
		vonage_fail(ctx, conds[r], "token");
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

static void vonage_token_then(struct http_req *req, int rc, void *arg)
{
	struct vonage_ctx *ctx = arg;

	vonage_token_reply(ctx, browser_redeem_finish(&ctx->redeem, rc));
	vonage_ctx_free(ctx);
}

static void vonage_token_run(struct vonage_ctx *ctx)
{
	const char *token = api_param(&ctx->call, "token");
	const char *once = api_param(&ctx->call, "single_use");
	enum browser_redeem r;

	if (!token) {
		vonage_fail(ctx, VONAGE_MISSING, "token");
		return;
	}
	if (once && strcmp(once, "true") != 0 && strcmp(once, "false") != 0) {
		vonage_fail(ctx, VONAGE_BAD_VALUE, "single_use");
		return;
	}
	r = browser_redeem_start(token, once && strcmp(once, "true") == 0,
				 ctx->call.key_id, &ctx->redeem);
	if (r == REDEEM_PENDING)
		vonage_write_fn(ctx, browser_redeem_run, &ctx->redeem,
				vonage_token_then);
	else
		vonage_token_reply(ctx, r);
}

/* ---- routes ---- */

static const char *const request_single[] = {
	"number",      "country", "brand",      "sender_id",
	"code_length", "lg",      "pin_expiry", "next_event_wait",
	"workflow_id", "handle",  NULL,
};
static const char *const check_single[] = {"request_id", "code", "handle",
					   NULL};
static const char *const search_single[] = {"request_id", "handle", NULL};
static const char *const control_single[] = {"request_id", "cmd", "handle",
					     NULL};
static const char *const token_single[] = {"token", "single_use", NULL};

enum { EP_REQUEST, EP_CHECK, EP_SEARCH, EP_CONTROL, EP_TOKEN };

static const struct vonage_endpoint endpoints[] = {
	[EP_REQUEST] = {"verify_response", request_single, vonage_request_run,
			ECHO_EMPTY, API_PUBLISHABLE_OK},
	[EP_CHECK] = {"verify_response", check_single, vonage_check_run,
		      ECHO_GIVEN, API_PUBLISHABLE_OK},
	[EP_SEARCH] = {"verify_request", search_single, vonage_search_run,
		       ECHO_NONE, API_PUBLISHABLE_OK},
	[EP_CONTROL] = {"response", control_single, vonage_control_run,
			ECHO_NONE, API_PUBLISHABLE_OK},
	[EP_TOKEN] = {"token_response", token_single, vonage_token_run,
		      ECHO_NONE, 0},
};

static void vonage_request(struct http_req *req)
{
	vonage_serve(req, &endpoints[EP_REQUEST]);
}

static void vonage_check(struct http_req *req)
{
	vonage_serve(req, &endpoints[EP_CHECK]);
}

static void vonage_search(struct http_req *req)
{
	vonage_serve(req, &endpoints[EP_SEARCH]);
}

static void vonage_control(struct http_req *req)
{
	vonage_serve(req, &endpoints[EP_CONTROL]);
}

static void vonage_token(struct http_req *req)
{
	vonage_serve(req, &endpoints[EP_TOKEN]);
}

#define GP (HTTP_GET | HTTP_POST)

const struct route vonage_routes[] = {
	{"/verify/json", vonage_request, GP, 0, 1},
	{"/verify/xml", vonage_request, GP, 0, 1},
	{"/verify/check/json", vonage_check, GP, 0, 1},
	{"/verify/check/xml", vonage_check, GP, 0, 1},
	{"/verify/search/json", vonage_search, GP, 0, 1},
	{"/verify/search/xml", vonage_search, GP, 0, 1},
	{"/verify/control/json", vonage_control, GP, 0, 1},
	{"/verify/control/xml", vonage_control, GP, 0, 1},
	{"/verify/token/json", vonage_token, GP, 0, 0},
	{"/verify/token/xml", vonage_token, GP, 0, 0},
	{NULL, NULL, 0, 0, 0},
};
