/*
 * What every Verify endpoint does before and after its own work, in both
 * dialects: one lifecycle from the request to the reply (api_serve), the
 * parameters from the query and the body, credentials, CORS preflights, and
 * replies rendered as JSON (jansson) or XML (libxml2) from one jansson object.
 */
#ifndef KV_API_H
#define KV_API_H

#include <stdint.h>

#include <jansson.h>

#include "http.h"
#include "log.h"
#include "params.h"

struct store_tx;          /* the store's transaction (store.h) */
struct verify_idem_op;    /* an idempotent start's write (verify.h) */
struct verify_request_in; /* a verification request (verify.h) */

/* Why a call could not reach its handler's own logic. */
enum api_fail {
	API_READY = 0,
	API_BAD_INPUT,       /* malformed body/query; text in params.error */
	API_TOO_BIG,         /* body or query past its cap */
	API_NO_CREDENTIALS,  /* api_key or api_secret missing */
	API_BAD_CREDENTIALS, /* unknown, revoked or wrong */
	API_INTERNAL,        /* the store failed */
	API_THROTTLED,       /* the key's request rate; Retry-After is set */
	API_ORIGIN,          /* publishable key, origin not listed (403) */
	API_BROWSER_SECRET,  /* a secret key sent by a browser (403) */
	API_PUBLISHABLE,     /* publishable key where only secret keys may */
};

/* api_prepare() flags. */
#define API_PUBLISHABLE_OK 1u /* the endpoint accepts publishable keys */
/* The body is the dialect's to parse (nested JSON): only the query is read. */
#define API_RAW_BODY 2u
/* "Authorization: Bearer" takes an application's JWT (apps.h): Verify v2. */
#define API_JWT_OK 4u

struct api_call {
	struct http_req *req;
	struct params params;
	int64_t key_id;
	char api_key[40];
	char countries[64]; /* the key's allow-list */
	int publishable;    /* authenticated with a publishable key */
	char brand[80];     /* a publishable key's fixed brand, or "" */
	/* Set by api_prepare(): a parameter given twice where one is allowed. */
	const char *duplicate;
};

/*
 * Parses the query and the body (form or JSON, by Content-Type), takes the
 * credentials (parameters or HTTP Basic), removes api_secret from the table
 * and authenticates.  `single` lists parameter names that may appear only
 * once (NULL-terminated); a repeat sets call->duplicate (the call is still
 * API_READY: the dialect answers it as a bad value).  `flags`: 0 or
 * API_PUBLISHABLE_OK.  A request from a browser origin some publishable key
 * lists gets CORS headers, errors included, so the page can read them.
 * Always pair with api_call_release().
 */
enum api_fail api_prepare(struct http_req *req, struct api_call *call,
			  const char *const *single, unsigned int flags);
void api_call_release(struct api_call *call);

/*
 * The call, authenticated, was answered as junk (an unknown id, a refused
 * parameter): through a publishable key, its address pays extra for it
 * (verify_rate_junk()).  Nothing for secret keys.
 */
void api_call_junk(const struct api_call *call);

/* Sets the reply's Retry-After header (a throttled call). */
void api_retry_after(struct http_req *req, int seconds);

/* A parameter's value, or NULL when absent or empty. */
const char *api_param(const struct api_call *call, const char *name);

/* A buffer for api_autofill_read()'s host (the model's origin_host). */
#define API_AUTOFILL_HOST_MAX 64

/*
 * The SMS autofill of a verification request, into in->app_hash and
 * in->origin_host (pointing at host, hostlen bytes, "" for none): the
 * `app_hash` parameter (11 of [A-Za-z0-9+/]); through a publishable key
 * the page's own origin, where WebOTP can name it (else none, silently);
 * through a secret key the `origin` parameter, which must be one of the
 * key's origins and name a domain of at most 30 characters on the default
 * port.  Returns 0; KV_EINVAL or KV_EPERM with the reply's sentence in
 * *why; KV_EDB when the store failed.
 */
int api_autofill_read(const struct api_call *call, struct verify_request_in *in,
		      char *host, size_t hostlen, const char **why);

/*
 * A start's Idempotency-Key header (docs/API.md), for either Vonage
 * dialect: API_IDEM_NONE without the header; API_IDEM_BAD_KEY unless it is
 * 1 to IDEM_KEY_MAX printable ASCII characters; API_IDEM_REPLAY with
 * request_id (33 bytes) the verification a start with the same key and
 * request hash (BLAKE2b-256 of what the dialect calls the request, stored
 * keyed with a subkey of the server secret) made in the last 24 h; API_IDEM_MISMATCH when the key was used with another
 * request; API_IDEM_NEW with *op ready for verify_idem_run (its p still to
 * set); API_IDEM_ERROR when the store failed.
 */
enum api_idem {
	API_IDEM_NONE,
	API_IDEM_NEW,
	API_IDEM_REPLAY,
	API_IDEM_MISMATCH,
	API_IDEM_BAD_KEY,
	API_IDEM_ERROR,
};
enum api_idem api_idem_begin(const struct api_call *call,
			     const unsigned char hash[32],
			     struct verify_idem_op *op, char *request_id);

/*
 * After the write of a start with a key (op->idem_key set): a start that
 * found the number's live verification answers with it when the record of
 * the same key and hash names it (two copies raced to the writer).
 * Returns 1 with request_id set when it does.
 */
int api_idem_raced(const struct verify_idem_op *op, char *request_id);

/*
 * The request's parameters, but for the credentials, as one BLAKE2b-256
 * hash.
 */
void api_params_hash(const struct api_call *call, unsigned char out[32]);

/* Sends `obj` as compact JSON and releases it. */
void api_reply_json(struct http_req *req, json_t *obj);

/*
 * Sends `obj` as XML under <root> and releases it.  String, integer and
 * boolean members become elements; arrays repeat an element named by
 * api_xml_item(); nested objects nest.
 */
void api_reply_xml(struct http_req *req, const char *root, json_t *obj);

/* "YYYY-MM-DD HH:MM:SS" (UTC) of a millisecond time, or "" for 0. */
json_t *api_datetime(int64_t ms);

/*
 * Fills a dialect's error template into text (size len, NUL-terminated,
 * truncated if needed): "%s" becomes `arg` (NULL reads as ""), "%d" becomes
 * `num`; every other byte is copied.
 */
void api_text_format(char *text, size_t len, const char *tmpl, const char *arg,
		     int num);

/* ---- one lifecycle for every endpoint of every dialect ---- */

/* What an endpoint's run did with its call. */
enum api_run {
	API_RUN_DONE,    /* the reply is set: the context is freed at once */
	API_RUN_PENDING, /* api_ctx_write() was called: its `then` answers */
};

struct api_ctx;

/*
 * An endpoint: how big its dialect's context is (a struct that begins with
 * struct api_ctx), what api_prepare() is given, and its run, which answers
 * a refused call (f != API_READY) itself and otherwise does its work.
 * Dialects embed it first in their own endpoint structs and reach those
 * from ctx->handler.
 */
struct api_handler {
	size_t ctx_size;
	const char *const *single; /* single-valued parameters */
	unsigned int flags;        /* api_prepare() flags */
	enum api_run (*run)(struct api_ctx *ctx, enum api_fail f);
	/* Frees what the run kept in its context (NULL: nothing). */
	void (*release)(struct api_ctx *ctx);
};

/*
 * One call from api_serve() to its reply.  It lives on the heap: a write
 * goes through http_write(), whose continuation answers after the HTTP
 * thread has moved on to other connections.
 */
struct api_ctx {
	const struct api_handler *handler;
	struct http_req *req;
	struct api_call call;
	/* Set by api_ctx_write(): the write and what answers after it. */
	int (*write_fn)(struct store_tx *c, void *arg);
	void *write_arg;
	void (*then)(struct api_ctx *ctx, int rc);
	/* The thread's log context when the write was asked for. */
	struct log_context log;
};

/*
 * Serves one request through handler `h`: allocates its context, prepares
 * the call, runs it, and either frees the context (API_RUN_DONE) or hands
 * the write the run asked for to http_write(), whose continuation calls
 * ctx->then() and frees the context.  Without memory nothing is replied
 * (http.c answers "Internal Error").
 */
void api_serve(struct http_req *req, const struct api_handler *h);

/*
 * Asks for fn(conn, arg) on the writer once the run has returned, then
 * then(ctx, rc) with its result; `arg` must live as long as ctx (usually
 * it is inside it).  Returns API_RUN_PENDING, which the run returns.
 */
enum api_run api_ctx_write(struct api_ctx *ctx,
			   int (*fn)(struct store_tx *c, void *arg), void *arg,
			   void (*then)(struct api_ctx *ctx, int rc));

/*
 * OPTIONS on a route web pages may call: a CORS preflight, allowed (204
 * with the CORS headers) for an origin some publishable key lists, else
 * refused (403 without them, so the browser refuses the real request).
 */
void api_cors_preflight(struct http_req *req);

#endif
