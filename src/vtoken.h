/*
 * Verification tokens: what a browser gets from a successful check through a
 * publishable key, for the app's backend to trust.  A JWT (compact JWS)
 * signed with the server's Ed25519 key, naming the number, the key, the
 * request and the time; verifiable offline with the public key (JWKS).
 */
#ifndef KV_VTOKEN_H
#define KV_VTOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The longest token we issue or accept, with its NUL. */
#define VTOKEN_MAX 768
/* Issuer claim of every token. */
#define VTOKEN_ISSUER "kookooverify"

struct vtoken_claims {
	char number[16];     /* sub: E.164 digits, no '+' */
	char api_key[40];    /* aud: the publishable key that checked */
	char request_id[33]; /* rid */
	char jti[33];        /* unique id, for single use */
	int64_t iat;         /* unix seconds of the successful check */
	int64_t exp;         /* unix seconds it stops being accepted */
};

enum vtoken_result {
	VTOKEN_OK = 0,
	VTOKEN_MALFORMED, /* not a token of ours: syntax, alg, kid, claims */
	VTOKEN_FORGED,    /* the signature does not verify */
	VTOKEN_EXPIRED,   /* valid, but past exp (or issued in the future) */
};

/*
 * Signs the claims into out (outlen >= VTOKEN_MAX).  An empty c->jti gets a
 * random one (copied back into c).  Returns 0, or KV_ETOOBIG / KV_ENOMEM.
 */
int vtoken_issue(struct vtoken_claims *c, char *out, size_t outlen);

/*
 * Checks a token's form, key id, signature and times at now_s; on
 * VTOKEN_OK (and VTOKEN_EXPIRED) *out holds its claims.
 */
enum vtoken_result vtoken_verify(const char *token, int64_t now_s,
				 struct vtoken_claims *out);

/* The key id of the current signing key: 16 hex characters in kid[17]. */
void vtoken_kid(char kid[17]);

/*
 * The public key as a JWK Set ({"keys":[{kty, crv, alg, use, kid, x}]}),
 * new reference for the caller, or NULL on allocation failure.
 */
json_t *vtoken_jwks(void);

#endif
