/*
 * The shared front and back of every Verify call (api.h): the one lifecycle
 * of a call (context, run, write, continuation), parameter parsing by
 * content type, credentials, authentication, CORS preflights and reply
 * rendering.  XML is written with libxml2's xmlTextWriter, never by pasting
 * strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/xmlwriter.h>
#include <sodium.h>

#include "api.h"
#include "apps.h"
#include "crypto.h"
#include "store.h"
#include "err.h"
#include "jdump.h"
#include "keys.h"
#include "log.h"
#include "sms.h"
#include "util.h"
#include "verify.h"

static int content_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	return ct && strncasecmp(ct, want, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static enum api_fail parse_input(struct http_req *req, struct params *p,
				 unsigned int flags)
{
	int rc = 0;

	if (req->body_too_big)
		return API_TOO_BIG;
	if (req->query_len)
		rc = params_parse_query(p, req->query, req->query_len);
	if (rc == 0 && req->body.len && !(flags & API_RAW_BODY)) {
		if (content_type_is(req->content_type, "application/json"))
			rc = params_parse_json(p, req->body.data,
					       req->body.len);
		else
			/* Form is the default, as curl -d sends. */
			rc = params_parse_form(p, req->body.data,
					       req->body.len);
	}
	if (rc == KV_ETOOBIG)
		return API_TOO_BIG;
	return rc == 0 ? API_READY : API_BAD_INPUT;
}

/* The publishable half of authenticate(): no secret, a listed origin. */
static enum api_fail authenticate_publishable(struct api_call *call,
					      const char *key,
					      const char *secret,
					      unsigned int flags)
{
	struct key_auth auth;
	int rc;

	if (secret && *secret)
		return API_BAD_CREDENTIALS; /* a publishable key has none */
	rc = keys_authenticate_publishable(key, call->req->origin, &auth);
	if (rc == KV_EAUTH)
		return API_BAD_CREDENTIALS;
	if (rc == KV_EPERM)
		return API_ORIGIN;
	if (rc != 0)
		return API_INTERNAL;
	if (!(flags & API_PUBLISHABLE_OK))
		return API_PUBLISHABLE;
	call->key_id = auth.key_id;
	call->publishable = 1;
	memcpy(call->countries, auth.countries, sizeof(call->countries));
	memcpy(call->brand, auth.brand, sizeof(call->brand));
	return API_READY;
}

/*
 * The log context of an authenticated call: its key's public id, and the
 * request id it names (only the form we issue: a client's other text
 * stays out of the logs).
 */
static void log_context_call(const struct api_call *call)
{
	const char *id = params_get(&call->params, "request_id");

	if (call->key_id)
		log_context_key(call->api_key);
	if (id && strlen(id) == 32 && is_hex(id, 32))
		log_context_request_id(id);
}

static int is_bearer(const char *authorization)
{
	return authorization && strncasecmp(authorization, "Bearer ", 7) == 0;
}

/*
 * An application's JWT (API_JWT_OK endpoints): the call gets the rights of
 * the key the application is bound to.  Refusals count as failed
 * authentications of the address, as a wrong secret does.
 */
static enum api_fail authenticate_jwt(struct api_call *call)
{
	char app_id[APP_ID_LEN + 1];
	const char *why = NULL;
	struct key_auth auth;
	int rc = verify_auth_wait(call->req->client_ip);

	if (rc > 0) {
		api_retry_after(call->req, rc);
		return API_THROTTLED;
	}
	if (call->req->origin)
		return API_BROWSER_SECRET;
	rc = apps_authenticate(call->req->authorization + 7, &auth, app_id,
			       call->api_key, sizeof(call->api_key), &why);
	if (rc == KV_EAUTH) {
		log_info("api.jwt_refused", LOG_STR("reason", why));
		verify_auth_failed(call->req->client_ip);
		return API_BAD_CREDENTIALS;
	}
	if (rc != 0)
		return API_INTERNAL;
	call->key_id = auth.key_id;
	memcpy(call->countries, auth.countries, sizeof(call->countries));
	log_context_call(call);
	rc = verify_rate_key(call->key_id, 0, call->req->client_ip);
	if (rc > 0) {
		api_retry_after(call->req, rc);
		return API_THROTTLED;
	}
	return API_READY;
}

static enum api_fail authenticate(struct api_call *call, unsigned int flags)
{
	char *user = NULL, *pass = NULL;
	const char *key = api_param(call, "api_key");
	const char *secret = api_param(call, "api_secret");
	enum api_fail result = API_READY;
	struct key_auth auth;
	int rc;

	if ((!key || !secret) && call->req->authorization &&
	    params_parse_basic_auth(call->req->authorization, &user, &pass) ==
		    0) {
		key = user;
		secret = pass;
	}
	if (key && *key)
		snprintf(call->api_key, sizeof(call->api_key), "%s", key);
	/* An address that keeps failing is refused before any hashing. */
	rc = key && *key ? verify_auth_wait(call->req->client_ip) : 0;
	if (rc > 0) {
		api_retry_after(call->req, rc);
		result = API_THROTTLED;
	} else if (key && keys_is_publishable(key)) {
		result = authenticate_publishable(call, key, secret, flags);
	} else if (!key || !secret || !*key || !*secret) {
		result = API_NO_CREDENTIALS;
	} else if (call->req->origin) {
		/* A page holding a secret leaks it to every visitor. */
		result = API_BROWSER_SECRET;
	} else {
		rc = keys_authenticate(key, secret, &auth);
		if (rc == KV_EAUTH) {
			result = API_BAD_CREDENTIALS;
		} else if (rc != 0) {
			result = API_INTERNAL;
		} else {
			call->key_id = auth.key_id;
			memcpy(call->countries, auth.countries,
			       sizeof(call->countries));
		}
	}
	if (result == API_BAD_CREDENTIALS)
		verify_auth_failed(call->req->client_ip);
	log_context_call(call);
	if (result == API_READY &&
	    (rc = verify_rate_key(call->key_id, call->publishable,
				  call->req->client_ip)) > 0) {
		api_retry_after(call->req, rc);
		result = API_THROTTLED;
	}
	if (pass)
		sodium_memzero(pass, strlen(pass));
	free(user);
	free(pass);
	/* The secret is not needed past this point: wipe it from the table. */
	for (size_t i = 0; i < call->params.count; i++) {
		struct param *pr = &call->params.items[i];

		if (strcmp(pr->name, "api_secret") == 0)
			sodium_memzero(pr->value, strlen(pr->value));
	}
	params_remove(&call->params, "api_secret");
	return result;
}

/* CORS: a page of an origin some publishable key lists may read replies. */
static void cors_allow(struct http_req *req)
{
	int known = 0;

	/* A store error leaves the reply without CORS headers. */
	if (req->origin && keys_origin_known(req->origin, &known) == 0 && known)
		req->cors_allow = req->origin;
}

enum api_fail api_prepare(struct http_req *req, struct api_call *call,
			  const char *const *single, unsigned int flags)
{
	enum api_fail f;

	memset(call, 0, sizeof(*call));
	call->req = req;
	params_init(&call->params);
	/*
	 * Every read of this call sees one snapshot; its credentials may come
	 * from the readers' key cache instead (store_cache.h), at most 1 s old.
	 */
	store_read_begin();
	cors_allow(req);
	f = parse_input(req, &call->params, flags);
	if (f != API_READY)
		return f;
	for (; single && *single; single++)
		if (params_count(&call->params, *single) > 1) {
			call->duplicate = *single;
			break;
		}
	if ((flags & API_JWT_OK) && is_bearer(req->authorization))
		f = authenticate_jwt(call);
	else
		f = authenticate(call, flags);
	if (f == API_ORIGIN || f == API_BROWSER_SECRET)
		req->status = 403;
	return f;
}

void api_call_release(struct api_call *call)
{
	store_read_end();
	params_release(&call->params);
}

void api_call_junk(const struct api_call *call)
{
	if (call->publishable)
		verify_rate_junk(call->key_id, call->req->client_ip);
}

void api_retry_after(struct http_req *req, int seconds)
{
	snprintf(req->retry_after, sizeof(req->retry_after), "%d",
		 seconds > 0 ? seconds : 1);
}

const char *api_param(const struct api_call *call, const char *name)
{
	const char *v = params_get(&call->params, name);

	return v && *v ? v : NULL;
}

/* The WebOTP host of the page's origin, "" where WebOTP cannot use it. */
static void page_host(const struct api_call *call, char *host, size_t hostlen)
{
	char norm[KEYS_ORIGIN_MAX];

	if (!call->req->origin ||
	    keys_origin_normalize(call->req->origin, norm) != 0 ||
	    keys_origin_host(norm, host, hostlen) != 0)
		host[0] = '\0';
}

int api_autofill_read(const struct api_call *call, struct verify_request_in *in,
		      char *host, size_t hostlen, const char **why)
{
	const char *hash = api_param(call, "app_hash");
	const char *origin = api_param(call, "origin");
	char norm[KEYS_ORIGIN_MAX];
	int listed = 0, rc;

	*why = NULL;
	host[0] = '\0';
	if (hash && !sms_app_hash_valid(hash)) {
		*why = "Invalid value for parameter app_hash: 11 characters "
		       "of A-Z, a-z, 0-9, + and /";
		return KV_EINVAL;
	}
	in->app_hash = hash;
	in->origin_host = host;
	if (call->publishable) {
		page_host(call, host, hostlen);
		return 0;
	}
	if (!origin)
		return 0;
	if (keys_origin_normalize(origin, norm) != 0) {
		*why = "Invalid value for parameter origin: an origin such as "
		       "https://shop.example";
		return KV_EINVAL;
	}
	rc = keys_origin_listed(call->key_id, norm, &listed);
	if (rc != 0)
		return rc;
	if (!listed) {
		*why = "Parameter origin is not one of this key's origins";
		return KV_EPERM;
	}
	if (keys_origin_host(norm, host, hostlen) != 0) {
		*why = "Parameter origin cannot be used for SMS autofill: "
		       "WebOTP needs a domain name of at most 30 characters "
		       "and the scheme's default port";
		return KV_EINVAL;
	}
	return 0;
}

/*
 * The reply's request id (one verification's) goes into the thread's log
 * context, so the access log and later lines carry it.
 */
static void log_request_id_of(const json_t *obj)
{
	const char *id = json_string_value(json_object_get(obj, "request_id"));

	if (id)
		log_context_request_id(id);
}

void api_reply_json(struct http_req *req, json_t *obj)
{
	size_t len = 0;
	char *text = jdump_compact(obj, &len);

	log_request_id_of(obj);
	json_decref(obj);
	/* jdump_compact allocates with malloc, which http.c frees. */
	http_reply(req, req->status, "application/json", text, len);
}

/* Element name for each member of an array (Vonage's XML forms). */
static const char *xml_item_name(const char *array)
{
	static const struct {
		const char *array, *item;
	} names[] = {
		{"checks", "check"},
		{"events", "event"},
		{"verification_requests", "verify_request"},
	};

	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcmp(array, names[i].array) == 0)
			return names[i].item;
	return "item";
}

/*
 * The two writers recurse into nested objects; our replies nest at most three
 * levels deep, and no client input decides the shape.
 */
// NOLINTNEXTLINE(misc-no-recursion)
static int xml_write_value(xmlTextWriterPtr w, const char *name, json_t *v);

// NOLINTNEXTLINE(misc-no-recursion)
static int xml_write_object(xmlTextWriterPtr w, json_t *obj)
{
	const char *key;
	json_t *v;

	json_object_foreach (obj, key, v) {
		if (json_is_array(v)) {
			size_t i;
			json_t *item;

			if (xmlTextWriterStartElement(w, (const xmlChar *)key) <
			    0)
				return -1;
			json_array_foreach (v, i, item) {
				if (xml_write_value(w, xml_item_name(key),
						    item) < 0)
					return -1;
			}
			if (xmlTextWriterEndElement(w) < 0)
				return -1;
		} else if (xml_write_value(w, key, v) < 0) {
			return -1;
		}
	}
	return 0;
}

// NOLINTNEXTLINE(misc-no-recursion)
static int xml_write_value(xmlTextWriterPtr w, const char *name, json_t *v)
{
	char num[32];
	const char *text = "";

	if (xmlTextWriterStartElement(w, (const xmlChar *)name) < 0)
		return -1;
	if (json_is_object(v)) {
		if (xml_write_object(w, v) < 0)
			return -1;
		return xmlTextWriterEndElement(w);
	}
	if (json_is_string(v)) {
		text = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		text = num;
	} else if (json_is_boolean(v)) {
		text = json_is_true(v) ? "true" : "false";
	}
	if (xmlTextWriterWriteString(w, (const xmlChar *)text) < 0)
		return -1;
	return xmlTextWriterEndElement(w);
}

void api_reply_xml(struct http_req *req, const char *root, json_t *obj)
{
	xmlBufferPtr xb = xmlBufferCreate();
	xmlTextWriterPtr w = xb ? xmlNewTextWriterMemory(xb, 0) : NULL;
	char *text = NULL;
	size_t len = 0;

	log_request_id_of(obj);
	if (!w || xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0 ||
	    xmlTextWriterStartElement(w, (const xmlChar *)root) < 0 ||
	    xml_write_object(w, obj) < 0 || xmlTextWriterEndDocument(w) < 0) {
		log_error("api.xml_failed");
		goto out;
	}
	xmlFreeTextWriter(w); /* flushes into xb */
	w = NULL;
	len = (size_t)xmlBufferLength(xb);
	text = malloc(len + 1);
	if (text) {
		memcpy(text, xmlBufferContent(xb), len);
		text[len] = '\0';
	}
out:
	if (w)
		xmlFreeTextWriter(w);
	if (xb)
		xmlBufferFree(xb);
	json_decref(obj);
	http_reply(req, req->status, "text/xml; charset=UTF-8", text,
		   text ? len : 0);
}

json_t *api_datetime(int64_t ms)
{
	char out[20];

	if (ms <= 0)
		return json_string("");
	format_datetime(ms / 1000, out);
	return json_string(out);
}

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

void api_text_format(char *text, size_t len, const char *tmpl, const char *arg,
		     int num)
{
	char digits[16];
	size_t at = 0;

	if (len)
		text[0] = '\0';
	for (const char *t = tmpl ? tmpl : ""; *t; t++) {
		if (t[0] == '%' && t[1] == 's') {
			text_put(text, len, &at, arg ? arg : "",
				 arg ? strlen(arg) : 0);
			t++;
		} else if (t[0] == '%' && t[1] == 'd') {
			snprintf(digits, sizeof(digits), "%d", num);
			text_put(text, len, &at, digits, strlen(digits));
			t++;
		} else {
			text_put(text, len, &at, t, 1);
		}
	}
}

/* ---- idempotent starts ---- */

static int idem_key_valid(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > IDEM_KEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x20 || key[i] > 0x7e)
			return 0;
	return 1;
}

enum api_idem api_idem_begin(const struct api_call *call,
			     const unsigned char request_hash[32],
			     struct verify_idem_op *op, char *request_id)
{
	const char *key = call->req->idempotency_key;
	unsigned char hash[32];

	if (!key)
		return API_IDEM_NONE;
	if (!idem_key_valid(key))
		return API_IDEM_BAD_KEY;
	/*
	 * Stored keyed: the request holds the phone number, which a plain
	 * hash would give away to a guess.
	 */
	crypto_tag_raw(request_hash, 32, hash);
	switch (verify_idem_find(call->key_id, key, hash, request_id)) {
	case IDEM_NEW:
		memset(op, 0, sizeof(*op));
		op->key_id = call->key_id;
		op->idem_key = key;
		memcpy(op->hash, hash, sizeof(op->hash));
		return API_IDEM_NEW;
	case IDEM_REPLAY:
		return API_IDEM_REPLAY;
	case IDEM_MISMATCH:
		return API_IDEM_MISMATCH;
	default:
		return API_IDEM_ERROR;
	}
}

int api_idem_raced(const struct verify_idem_op *op, char *request_id)
{
	return op->idem_key &&
	       verify_idem_find(op->key_id, op->idem_key, op->hash,
				request_id) == IDEM_REPLAY;
}

void api_params_hash(const struct api_call *call, unsigned char out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	for (size_t i = 0; i < call->params.count; i++) {
		const struct param *p = &call->params.items[i];

		/* The key is the call's, by parameter or by Basic alike. */
		if (strcmp(p->name, "api_key") == 0)
			continue;
		/* Each string with its NUL: no two tables hash alike. */
		crypto_generichash_update(&st, (const unsigned char *)p->name,
					  strlen(p->name) + 1);
		crypto_generichash_update(&st, (const unsigned char *)p->value,
					  strlen(p->value) + 1);
	}
	crypto_generichash_final(&st, out, 32);
}

/* ---- the lifecycle ---- */

static void api_ctx_free(struct api_ctx *ctx)
{
	if (ctx->handler->release)
		ctx->handler->release(ctx);
	api_call_release(&ctx->call);
	free(ctx);
}

/* http_write()'s continuation: the dialect answers, then the call ends. */
static void api_write_then(struct http_req *req, int rc, void *arg)
{
	struct api_ctx *ctx = arg;

	log_context_restore(&ctx->log);
	ctx->then(ctx, rc);
	api_ctx_free(ctx);
}

void api_serve(struct http_req *req, const struct api_handler *h)
{
	struct api_ctx *ctx = calloc(1, h->ctx_size);
	enum api_fail f;

	if (!ctx)
		return; /* no reply: http.c answers "Internal Error" */
	ctx->handler = h;
	ctx->req = req;
	f = api_prepare(req, &ctx->call, h->single, h->flags);
	if (h->run(ctx, f) == API_RUN_PENDING && ctx->then) {
		log_context_save(&ctx->log);
		/* From here the continuation owns ctx (it may be gone). */
		http_write(req, ctx->write_fn, verify_write_lead(ctx->write_fn),
			   ctx->write_arg, api_write_then, ctx);
		return;
	}
	api_ctx_free(ctx);
}

enum api_run api_ctx_write(struct api_ctx *ctx,
			   int (*fn)(struct store_tx *c, void *arg), void *arg,
			   void (*then)(struct api_ctx *ctx, int rc))
{
	ctx->write_fn = fn;
	ctx->write_arg = arg;
	ctx->then = then;
	return API_RUN_PENDING;
}

/* OPTIONS on the Verify API: a browser asks before a JSON POST. */
void api_cors_preflight(struct http_req *req)
{
	int known = 0;

	/* A store error refuses the preflight, as an unknown origin. */
	if (req->origin && keys_origin_preflight(req->origin, &known) != 0)
		known = 0;
	if (!known) {
		/* No CORS headers: the browser refuses the real request. */
		http_reply_copy(req, 403, "application/json",
				"{\"status\":\"4\",\"error_text\":\"Origin not "
				"allowed\"}");
		return;
	}
	req->cors_allow = req->origin;
	req->preflight = 1;
	http_reply_copy(req, 204, "text/plain", "");
}
