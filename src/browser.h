/*
 * What the server does for web pages: CORS preflights of the Verify API,
 * the public key verification tokens are checked with (a JWK Set at a
 * well-known URL), issuing and redeeming those tokens, and the demo page
 * (/demo) when the `demo` setting is on.  Publishable keys themselves are in
 * keys.c; which calls they may make is decided by the dialect (api_vonage.c).
 */
#ifndef KV_BROWSER_H
#define KV_BROWSER_H

#include "config.h"
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
	REDEEM_USED,  /* single use asked, and it was used before */
	REDEEM_ERROR, /* the store failed */
};

/*
 * Checks a token for a backend; with single_use the token is accepted only
 * the first time (recorded durably before the answer).  *claims is filled
 * on REDEEM_OK and REDEEM_USED.
 */
enum browser_redeem browser_token_redeem(const char *token, int single_use,
					 struct vtoken_claims *claims);

#endif
