/*
 * What every Verify endpoint does before and after its own work, in both
 * dialects: parameters from the query and the body, credentials, and replies
 * rendered as JSON (jansson) or XML (libxml2) from one jansson object.
 */
#ifndef KV_API_H
#define KV_API_H

#include <stdint.h>

#include <jansson.h>

#include "http.h"
#include "params.h"

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

#endif
