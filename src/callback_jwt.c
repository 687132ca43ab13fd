/*
 * The signature of a status callback, as Vonage signs its webhooks: a JWT
 * in "Authorization: Bearer", HS256 under the key's signature secret, whose
 * claims carry iat, a jti that stays the same on every attempt (receivers
 * drop duplicates by it) and payload_hash, the SHA-256 of the body in hex.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "callback.h"
#include "err.h"
#include "util.h"

/* Appends base64url (no padding) of in to out at *pos; KV_ERANGE if full. */
static int b64_append(char *out, size_t outlen, size_t *pos,
		      const unsigned char *in, size_t n)
{
	const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

	if (outlen - *pos < sodium_base64_ENCODED_LEN(n, v))
		return KV_ERANGE;
	sodium_bin2base64(out + *pos, outlen - *pos, in, n, v);
	*pos += strlen(out + *pos);
	return 0;
}

static int dot_append(char *out, size_t outlen, size_t *pos)
{
	if (outlen - *pos < 2)
		return KV_ERANGE;
	out[(*pos)++] = '.';
	out[*pos] = '\0';
	return 0;
}

void callback_payload_hash(const char *body, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)body, strlen(body));
	hex_encode(h, sizeof(h), out);
}

int callback_jwt(const struct callback_claims *cl, const char *secret,
		 char *out, size_t outlen)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char hash[65];
	char *claims = NULL;
	json_t *o = json_object();
	size_t pos = 0;
	int rc = KV_ENOMEM;

	if (!o || outlen == 0)
		goto out;
	out[0] = '\0';
	callback_payload_hash(cl->body, hash);
	json_object_set_new(o, "iat", json_integer(cl->iat));
	json_object_set_new(o, "jti", json_string(cl->jti));
	json_object_set_new(o, "iss", json_string("KookooVerify"));
	json_object_set_new(o, "payload_hash", json_string(hash));
	if (cl->api_key && cl->api_key[0])
		json_object_set_new(o, "api_key", json_string(cl->api_key));
	claims = json_dumps(o, JSON_COMPACT);
	if (!claims)
		goto out;
	rc = b64_append(out, outlen, &pos, (const unsigned char *)header,
			strlen(header));
	if (rc == 0)
		rc = dot_append(out, outlen, &pos);
	if (rc == 0)
		rc = b64_append(out, outlen, &pos,
				(const unsigned char *)claims, strlen(claims));
	if (rc != 0)
		goto out;
	/* The MAC covers "header.claims", the text written so far. */
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
				    strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)out, pos);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	rc = dot_append(out, outlen, &pos);
	if (rc == 0)
		rc = b64_append(out, outlen, &pos, mac, sizeof(mac));
out:
	free(claims);
	json_decref(o);
	return rc;
}
