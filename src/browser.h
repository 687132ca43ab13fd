/*
 * What the server does for web pages: the public key verification tokens
 * are checked with (a JWK Set at a well-known URL), issuing and redeeming
 * those tokens, and the demo page (/demo) when the `demo` setting is on.
 * CORS preflights are the API layer's (api.c).  Publishable keys themselves are in
 * keys.c; which calls they may make is decided by the dialect (api_vonage.c).
 */
#ifndef KV_BROWSER_H
#define KV_BROWSER_H

#include "config.h"
#include "model.h"

struct store_tx;
#include "vtoken.h"

/* Path of the public key set (JWKS). */
#define BROWSER_JWKS_PATH "/.well-known/kookooverify/jwks.json"

/* Reads the token lifetime and the demo settings.  Call before serving. */
void browser_init(const struct config *cfg);

/*
 * Signs a verification token for a successful check through publishable
 * key `api_key`: out must hold VTOKEN_MAX bytes.  Returns 0 or KV_E*.
 */
int browser_token_issue(const char *api_key, const char *request_id,
			const char *number, char *out);

enum browser_redeem {
	REDEEM_OK = 0,
	REDEEM_INVALID, /* malformed, forged, or another server's */
	REDEEM_EXPIRED,
	REDEEM_USED,    /* single use asked, and it was used before */
	REDEEM_ERROR,   /* the store failed */
	REDEEM_PENDING, /* single use: the write must run first */
};

/* A backend's redemption of a token, from its check to its answer. */
struct browser_redeem_op {
	struct vtoken_claims claims; /* filled by browser_redeem_start() */
	int64_t now_ms;
	int used;
};

/*
 * Checks a token for the backend of secret key `caller_key_id`.  A token
 * whose publishable key that secret key does not own (or that has no
 * owner) answers REDEEM_INVALID, as a forged one does, and is not spent.
 * A token once redeemed with single_use answers REDEEM_USED to every
 * later redemption, with single_use or without.
 * Without single_use the answer is final;
 * with it, a valid token answers REDEEM_PENDING: run browser_redeem_run()
 * through the writer (store_write() or http_write()) with `op`, then
 * browser_redeem_finish() with what the write returned.  The use is
 * recorded durably before the answer, so a token is accepted once.
 */
enum browser_redeem browser_redeem_start(const char *token, int single_use,
					 int64_t caller_key_id,
					 struct browser_redeem_op *op);
int browser_redeem_run(struct store_tx *c, void *op);
enum browser_redeem browser_redeem_finish(const struct browser_redeem_op *op,
					  int rc);

/*
 * Serves <dir>/<name> whole (a flat name with a known type:
 * .html, .js, .mjs, .css, .svg, .json; at most 1 MiB), or a JSON 404.
 */
struct http_req;
void browser_file(struct http_req *req, const char *dir, const char *name);

#endif
