/*
 * JWT mechanics (jwt.h): strict unpadded base64url, the three segments of
 * a compact token, and RS256 verification with libcrypto (EVP, OpenSSL 3).
 * Policy (which algorithm, which claims) is the caller's.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "err.h"
#include "jwt.h"

/* The JSON of a header or claims segment, decoded. */
#define JWT_PART_MAX 4096
#define RSA_MIN_BITS 2048

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(char c)
{
	const char *p = c ? strchr(b64url, c) : NULL;

	return p ? (int)(p - b64url) : -1;
}

int jwt_b64url_decode(const char *in, size_t inlen, unsigned char *out,
		      size_t cap, size_t *outlen)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	*outlen = 0;
	if (inlen % 4 == 1)
		return KV_EINVAL; /* no encoding has this length */
	for (size_t i = 0; i < inlen; i++) {
		int v = b64url_value(in[i]);

		if (v < 0)
			return KV_EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return KV_ETOOBIG;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* Left-over bits must be zero: one encoding per value. */
	if (bits && (acc & ((1u << bits) - 1u)) != 0)
		return KV_EINVAL;
	*outlen = n;
	return 0;
}

size_t jwt_b64url_encode(const unsigned char *in, size_t len, char *out,
			 size_t cap)
{
	size_t need = (len * 8 + 5) / 6;
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (need + 1 > cap)
		return 0;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = b64url[(acc >> bits) & 63u];
		}
	}
	if (bits)
		out[n++] = b64url[(acc << (6 - bits)) & 63u];
	out[n] = '\0';
	return n;
}

/* One JSON object segment, or NULL. */
static json_t *segment_json(const char *s, size_t len)
{
	unsigned char buf[JWT_PART_MAX];
	size_t n = 0;
	json_t *o;

	if (jwt_b64url_decode(s, len, buf, sizeof(buf), &n) != 0)
		return NULL;
	o = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
	if (o && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int jwt_parse(const char *token, struct jwt *out)
{
	const char *dot1, *dot2;
	size_t len = token ? strnlen(token, JWT_TOKEN_MAX + 1) : 0;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > JWT_TOKEN_MAX)
		return KV_EINVAL;
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot2 || strchr(dot2 + 1, '.'))
		return KV_EINVAL;
	out->header = segment_json(token, (size_t)(dot1 - token));
	out->claims = segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	out->signed_len = (size_t)(dot2 - token);
	if (!out->header || !out->claims ||
	    jwt_b64url_decode(dot2 + 1, strlen(dot2 + 1), out->sig,
			      sizeof(out->sig), &out->sig_len) != 0) {
		jwt_release(out);
		return KV_EINVAL;
	}
	return 0;
}

void jwt_release(struct jwt *j)
{
	json_decref(j->header);
	json_decref(j->claims);
	j->header = NULL;
	j->claims = NULL;
}

/* The RSA public key of pem (at least RSA_MIN_BITS), or NULL. */
static EVP_PKEY *rsa_key_load(const char *pem)
{
	BIO *bio = pem ? BIO_new_mem_buf(pem, -1) : NULL;
	EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (key && (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
		    EVP_PKEY_get_bits(key) < RSA_MIN_BITS)) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

int jwt_rs256_key_check(const char *pem)
{
	EVP_PKEY *key = rsa_key_load(pem);

	EVP_PKEY_free(key);
	return key ? 0 : KV_EINVAL;
}

int jwt_rs256_verify(const char *pem, const char *data, size_t len,
		     const unsigned char *sig, size_t sig_len)
{
	EVP_PKEY *key = rsa_key_load(pem);
	EVP_MD_CTX *md = NULL;
	int rc = KV_EAUTH;

	if (!key)
		return KV_EINVAL;
	md = EVP_MD_CTX_new();
	/* EVP_PKEY_RSA keys verify PKCS#1 v1.5 by default: RS256 exactly. */
	if (md &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)data,
			     len) == 1)
		rc = 0;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return rc;
}
