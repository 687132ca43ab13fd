/*
 * Applications: what lets Vonage's v2 SDKs authenticate unchanged.  An
 * application is a public key bound to one secret API key; a call carries
 * a JWT signed with its private key (RS256), which apps_authenticate()
 * checks strictly: the algorithm pinned, the signature, the times, and a
 * jti used once (in the store, so the window holds across nodes).
 */
#ifndef KV_APPS_H
#define KV_APPS_H

#include <stdint.h>

#include "keys.h"
#include "model.h"

struct store_tx;

/* Seconds of clock skew allowed on iat, nbf and exp. */
#define APPS_SKEW_S 60
/* The longest life (exp - iat) a token may claim: its jti is kept as long. */
#define APPS_TOKEN_LIFE_MAX_S 86400

/*
 * Registers an application for secret key `api_key` with the PEM public
 * key `pem` (RSA, at least 2048 bits) on connection c; app_id receives its
 * new id (a UUID).  Returns 0, KV_EINVAL (pem unusable), KV_ENOTFOUND (no
 * active secret key api_key) or KV_EDB.
 */
int apps_add(struct store_tx *c, const char *api_key, const char *pem,
	     char app_id[APP_ID_LEN + 1]);

/*
 * Authenticates the JWT of an "Authorization: Bearer" header: 0 with *out
 * the bound key's (and app_id the application's), KV_EAUTH for any token
 * that is not a fresh, well-signed RS256 token of a registered application
 * of an active secret key (*why says which check refused it, for the
 * log), KV_EDB when the store failed.
 */
int apps_authenticate(const char *token, struct key_auth *out,
		      char app_id[APP_ID_LEN + 1], char *api_key,
		      size_t api_key_len, const char **why);

/* 1 when s is a UUID in lower case (an application id), else 0. */
int apps_id_valid(const char *s);

#endif
