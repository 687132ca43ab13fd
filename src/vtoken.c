/*
 * Verification tokens (vtoken.h): JWT encoding with base64url parts, the
 * Ed25519 signature from crypto.c, and a strict reader that accepts exactly
 * what we issue: alg EdDSA, our key id, our issuer and well-formed claims.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "util.h"
#include "vtoken.h"

/* Part sizes: a header or payload of ours is far below this. */
#define PART_MAX 512
/* Tolerated clock difference for iat in the future, seconds. */
#define IAT_SKEW 60

/* base64url without padding of n bytes into out; its length, or 0. */
static size_t b64url(const void *in, size_t n, char *out, size_t outlen)
{
	const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

	if (sodium_base64_encoded_len(n, v) > outlen)
		return 0;
	sodium_bin2base64(out, outlen, in, n, v);
	return strlen(out);
}

/* Decodes exactly `len` characters of base64url; bytes written, or -1. */
static long unb64url(const char *in, size_t len, unsigned char *out,
		     size_t outlen)
{
	size_t n = 0;

	if (sodium_base642bin(out, outlen, in, len, NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	return (long)n;
}

void vtoken_kid(char kid[17])
{
	unsigned char pk[CRYPTO_SIGN_PUBLIC_LEN];
	unsigned char h[crypto_generichash_BYTES_MIN];

	crypto_sign_public(pk);
	crypto_generichash(h, sizeof(h), pk, sizeof(pk), NULL, 0);
	hex_encode(h, 8, kid);
}

/* Appends the base64url of a JSON object's compact text at out[*at]. */
static int put_json_part(json_t *o, char *out, size_t outlen, size_t *at)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t n;

	if (!text)
		return KV_ENOMEM;
	n = b64url(text, strlen(text), out + *at, outlen - *at);
	free(text);
	if (n == 0)
		return KV_ETOOBIG;
	*at += n;
	return 0;
}

int vtoken_issue(struct vtoken_claims *c, char *out, size_t outlen)
{
	unsigned char sig[CRYPTO_SIGN_LEN];
	unsigned char raw[16];
	char kid[17];
	json_t *header, *payload;
	size_t at = 0, n;
	int rc;

	if (!c->jti[0]) {
		randombytes_buf(raw, sizeof(raw));
		hex_encode(raw, sizeof(raw), c->jti);
	}
	vtoken_kid(kid);
	header = json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "typ", "JWT",
			   "kid", kid);
	payload = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss",
			    VTOKEN_ISSUER, "sub", c->number, "aud", c->api_key,
			    "rid", c->request_id, "iat", (json_int_t)c->iat,
			    "exp", (json_int_t)c->exp, "jti", c->jti);
	rc = put_json_part(header, out, outlen, &at);
	if (rc == 0 && at + 1 < outlen) {
		out[at++] = '.';
		rc = put_json_part(payload, out, outlen, &at);
	} else if (rc == 0) {
		rc = KV_ETOOBIG;
	}
	if (rc != 0)
		goto out;
	/* The signature covers "header.payload", as JWS says. */
	crypto_sign_detached_msg(out, at, sig);
	if (at + 1 >= outlen) {
		rc = KV_ETOOBIG;
		goto out;
	}
	out[at++] = '.';
	n = b64url(sig, sizeof(sig), out + at, outlen - at);
	if (n == 0)
		rc = KV_ETOOBIG;
out:
	json_decref(header);
	json_decref(payload);
	return rc;
}

/* Decodes one part into a JSON object, or NULL. */
static json_t *part_json(const char *in, size_t len)
{
	unsigned char raw[PART_MAX];
	long n = unb64url(in, len, raw, sizeof(raw));

	if (n <= 0)
		return NULL;
	return json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES,
			  NULL);
}

/* A string member of at most max-1 characters from `set`, copied to out. */
static int claim_str(json_t *o, const char *name, const char *set, size_t min,
		     size_t max, char *out)
{
	const char *v = json_string_value(json_object_get(o, name));
	size_t n = v ? strlen(v) : 0;

	if (!v || n < min || n >= max || strspn(v, set) != n)
		return -1;
	memcpy(out, v, n + 1);
	return 0;
}

static int claims_read(json_t *p, struct vtoken_claims *c)
{
	static const char hex[] = "0123456789abcdef";
	static const char key[] = "abcdefghijklmnopqrstuvwxyz"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
	json_t *iat = json_object_get(p, "iat");
	json_t *exp = json_object_get(p, "exp");
	const char *iss = json_string_value(json_object_get(p, "iss"));

	if (!iss || strcmp(iss, VTOKEN_ISSUER) != 0 || !json_is_integer(iat) ||
	    !json_is_integer(exp))
		return -1;
	if (claim_str(p, "sub", "0123456789", 5, sizeof(c->number),
		      c->number) != 0 ||
	    claim_str(p, "aud", key, 1, sizeof(c->api_key), c->api_key) != 0 ||
	    claim_str(p, "rid", hex, 32, sizeof(c->request_id),
		      c->request_id) != 0 ||
	    claim_str(p, "jti", hex, 32, sizeof(c->jti), c->jti) != 0)
		return -1;
	c->iat = json_integer_value(iat);
	c->exp = json_integer_value(exp);
	return 0;
}

enum vtoken_result vtoken_verify(const char *token, int64_t now_s,
				 struct vtoken_claims *out)
{
	unsigned char sig[CRYPTO_SIGN_LEN + 1];
	size_t len = strnlen(token, VTOKEN_MAX);
	const char *d1 = memchr(token, '.', len), *d2;
	enum vtoken_result r = VTOKEN_MALFORMED;
	json_t *header = NULL, *payload = NULL;
	const char *alg, *kid;
	char ours[17];

	memset(out, 0, sizeof(*out));
	if (len == VTOKEN_MAX || !d1)
		return VTOKEN_MALFORMED;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
		return VTOKEN_MALFORMED;
	header = part_json(token, (size_t)(d1 - token));
	alg = json_string_value(json_object_get(header, "alg"));
	kid = json_string_value(json_object_get(header, "kid"));
	vtoken_kid(ours);
	/* Only our algorithm and key: never "none", never a key named by us. */
	if (!alg || strcmp(alg, "EdDSA") != 0 || !kid || strcmp(kid, ours) != 0)
		goto out;
	if (unb64url(d2 + 1, len - (size_t)(d2 + 1 - token), sig,
		     sizeof(sig)) != CRYPTO_SIGN_LEN)
		goto out;
	if (crypto_sign_check(token, (size_t)(d2 - token), sig) != 0) {
		r = VTOKEN_FORGED;
		goto out;
	}
	payload = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!payload || claims_read(payload, out) != 0)
		goto out;
	if (now_s >= out->exp || out->iat > now_s + IAT_SKEW)
		r = VTOKEN_EXPIRED;
	else
		r = VTOKEN_OK;
out:
	json_decref(header);
	json_decref(payload);
	return r;
}

json_t *vtoken_jwks(void)
{
	unsigned char pk[CRYPTO_SIGN_PUBLIC_LEN];
	char x[64], kid[17];

	crypto_sign_public(pk);
	if (b64url(pk, sizeof(pk), x, sizeof(x)) == 0)
		return NULL;
	vtoken_kid(kid);
	return json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:s}]}", "keys", "kty",
			 "OKP", "crv", "Ed25519", "alg", "EdDSA", "use", "sig",
			 "kid", kid, "x", x);
}
