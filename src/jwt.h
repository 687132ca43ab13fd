/*
 * JSON Web Tokens (RFC 7519) in compact form: base64url (RFC 4648 §5,
 * unpadded), splitting a token into its header, claims and signature, and
 * RS256 signatures (RSASSA-PKCS1-v1_5 with SHA-256) checked with OpenSSL's
 * libcrypto against a PEM public key.  No policy: callers pin algorithms
 * and check claims.
 */
#ifndef KV_JWT_H
#define KV_JWT_H

#include <stddef.h>

#include <jansson.h>

/* The longest token accepted (bytes); a longer one is KV_EINVAL. */
#define JWT_TOKEN_MAX 8192
/* The longest signature (an RSA key of up to 8192 bits). */
#define JWT_SIG_MAX 1024

/*
 * Decodes unpadded base64url in[0..inlen) into out (cap bytes); *outlen
 * receives the length.  Returns 0, or KV_EINVAL (a character outside the
 * alphabet, padding, a length no encoding has, or non-zero trailing bits)
 * or KV_ETOOBIG (out too small).
 */
int jwt_b64url_decode(const char *in, size_t inlen, unsigned char *out,
		      size_t cap, size_t *outlen);

/*
 * Encodes in[0..len) as unpadded base64url into out (cap bytes, with room
 * for the NUL).  Returns the length written, or 0 when out is too small
 * (out is then "").
 */
size_t jwt_b64url_encode(const unsigned char *in, size_t len, char *out,
			 size_t cap);

/* A token split into its parts; jwt_parse() fills it, jwt_release() frees. */
struct jwt {
	json_t *header;    /* a JSON object */
	json_t *claims;    /* a JSON object */
	size_t signed_len; /* bytes of the token that the signature covers */
	unsigned char sig[JWT_SIG_MAX];
	size_t sig_len;
};

/*
 * Splits `token` (three base64url segments joined by '.') and decodes its
 * header and claims, each of which must be a JSON object without duplicate
 * members.  Returns 0 (release *out after), KV_EINVAL for anything
 * malformed (then *out holds nothing to release), or KV_ENOMEM.
 */
int jwt_parse(const char *token, struct jwt *out);
void jwt_release(struct jwt *j);

/*
 * Checks an RS256 signature of data[0..len) against the RSA public key in
 * `pem` (SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----", at least 2048
 * bits).  Returns 0 when it verifies, KV_EAUTH when it does not, KV_EINVAL
 * when pem holds no usable RSA public key.
 */
int jwt_rs256_verify(const char *pem, const char *data, size_t len,
		     const unsigned char *sig, size_t sig_len);

/* KV_EINVAL unless pem is an RSA public key jwt_rs256_verify() takes. */
int jwt_rs256_key_check(const char *pem);

#endif
