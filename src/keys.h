/*
 * API keys: creation for the CLI and authentication of every API call.
 * Secret keys (a key and a secret, for backends) store the secret only as a
 * keyed hash compared in constant time.  Publishable keys ("pk_...", for
 * browsers) have no secret: they work only from the origins listed for them.
 */
#ifndef KV_KEYS_H
#define KV_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "model.h"

struct store_tx;

#define KEYS_PUBLISHABLE_PREFIX "pk_"
#define KEYS_PUBLISHABLE_LEN 27 /* "pk_" and 24 hex characters */
#define KEYS_ORIGIN_MAX 256     /* an origin with its NUL */
#define KEYS_ORIGINS_MAX 16     /* origins per publishable key */
#define KEYS_WEBOTP_HOST_MAX 30 /* a DLT {#var#} slot */

/* Who a call authenticated as. */
struct key_auth {
	int64_t key_id;
	int kind;           /* KEY_SECRET or KEY_PUBLISHABLE */
	char countries[64]; /* the key's country allow-list */
	char brand[80];     /* a publishable key's fixed brand, or "" */
};

/*
 * Creates a secret key named `name` on connection `c` and writes the new
 * api_key and api_secret into the caller's buffers.  The secret is not
 * stored: this is the only time it exists in clear.  Returns 0 or KV_E*.
 */
int keys_create(struct store_tx *c, const char *name, int voice_confirm,
		const char *countries, char api_key[CRYPTO_API_KEY_LEN + 1],
		char api_secret[CRYPTO_API_SECRET_LEN + 1]);

/*
 * keys_create() with `n` origins (normalised, 0 to KEYS_ORIGINS_MAX) the
 * key's requests may name for SMS autofill (the `origin` parameter), in
 * one transaction.  A secret key's origins open no CORS to browsers.
 */
int keys_create_origins(struct store_tx *c, const char *name, int voice_confirm,
			const char *countries, const char *const *origins,
			size_t n, char api_key[CRYPTO_API_KEY_LEN + 1],
			char api_secret[CRYPTO_API_SECRET_LEN + 1]);

/*
 * Creates a publishable key for `n` origins (already normalised by
 * keys_origin_normalize(), 1 to KEYS_ORIGINS_MAX) in one transaction.
 * `brand` (NULL or "": any) is then the only brand its requests may name.
 * `owner` (NULL: none) is the api_key of the active secret key whose
 * backend alone may redeem the new key's tokens online.  Returns 0,
 * KV_ENOTFOUND when `owner` is not an active secret key, or KV_E*.
 */
int keys_create_publishable(struct store_tx *c, const char *name,
			    int voice_confirm, const char *countries,
			    const char *brand, const char *owner,
			    const char *const *origins, size_t n,
			    char api_key[KEYS_PUBLISHABLE_LEN + 1]);

/*
 * Writes `in` as a browser sends it in the Origin header: lower case,
 * "http" or "https", a host, a port only when not the scheme's default, no
 * path (one trailing '/' is dropped).  Returns 0, or KV_EINVAL for anything
 * else (paths, queries, user info, "null", wildcards).
 */
int keys_origin_normalize(const char *in, char out[KEYS_ORIGIN_MAX]);

/*
 * The host an SMS's WebOTP line names ("@host #code") for a normalised
 * origin, into host (hostlen bytes).  WebOTP takes a host alone, so the
 * origin must have the scheme's default port and a domain name, not an IP
 * address (KV_EINVAL otherwise); the host fills a DLT slot, so at most
 * KEYS_WEBOTP_HOST_MAX characters (KV_ERANGE).  Returns 0 or those.
 */
int keys_origin_host(const char *origin, char *host, size_t hostlen);

/*
 * Whether key_id (secret or publishable) lists the normalised `origin`:
 * *listed 1 or 0, on the calling thread's reader.  0 or KV_EDB.
 */
int keys_origin_listed(int64_t key_id, const char *origin, int *listed);

/* Whether an api_key names a publishable key (by its prefix). */
int keys_is_publishable(const char *api_key);

/*
 * Authenticates a secret key and secret on the calling thread's reader.
 * Returns 0 and fills *out, KV_EAUTH for an unknown, revoked or wrong pair
 * or a publishable key (the same work is done in every case, so timing does
 * not tell them apart), or KV_EDB.
 */
int keys_authenticate(const char *api_key, const char *api_secret,
		      struct key_auth *out);

/*
 * Authenticates a publishable key used from `origin` (the request's Origin
 * header, NULL when absent).  Returns 0 and fills *out, KV_EAUTH for an
 * unknown or revoked key, KV_EPERM when the origin is missing or not one of
 * the key's, or KV_EDB.
 */
int keys_authenticate_publishable(const char *api_key, const char *origin,
				  struct key_auth *out);

/*
 * Sets *known to whether some active publishable key lists `origin`, in
 * the caller's read transaction.  Returns 0, or KV_EDB (*known then 0).
 * Decides the CORS headers of a reply and the answer to a preflight.
 */
int keys_origin_known(const char *origin, int *known);
/* The same for a CORS preflight, which reads nothing else: in a read
 * transaction of its own. */
int keys_origin_preflight(const char *origin, int *known);

/*
 * Whether the secret key owner_key_id owns the publishable key `api_key`:
 * *owns 1 or 0 (0 too when there is no such key).  Returns 0 or KV_E*.
 */
int keys_owner_check(const char *api_key, int64_t owner_key_id, int *owns);

#endif
