/*
 * Applications and their JWTs (apps.h).  The checks run cheapest first and
 * the signature before the jti is spent, so a forged token never uses up
 * anything; every refusal is KV_EAUTH with its reason for the log only.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "apps.h"
#include "err.h"
#include "jwt.h"
#include "store.h"
#include "util.h"

#define JTI_MAX 128

int apps_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n != APP_ID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

/* A new random application id (a version 4 UUID). */
static void app_id_new(char out[APP_ID_LEN + 1])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	uuid_v4(b, out);
}

int apps_add(struct store_tx *c, const char *api_key, const char *pem,
	     char app_id[APP_ID_LEN + 1])
{
	struct app_info a;
	struct key_info k;
	int rc;

	if (!pem || strlen(pem) >= sizeof(a.public_key) ||
	    jwt_rs256_key_check(pem) != 0)
		return KV_EINVAL;
	rc = store_key_get(c, api_key, &k);
	if (rc == 0 && (k.revoked_ms != 0 || k.kind != KEY_SECRET))
		rc = KV_ENOTFOUND;
	if (rc != 0)
		return rc;
	memset(&a, 0, sizeof(a));
	app_id_new(a.app_id);
	a.key_id = k.id;
	snprintf(a.public_key, sizeof(a.public_key), "%s", pem);
	a.created_ms = now_ms();
	rc = store_app_insert(c, &a);
	if (rc == 0)
		memcpy(app_id, a.app_id, sizeof(a.app_id));
	return rc;
}

/* An integer claim, or -1 when absent or not a non-negative integer. */
static json_int_t int_claim(const json_t *claims, const char *name)
{
	const json_t *v = json_object_get(claims, name);

	return json_is_integer(v) && json_integer_value(v) >= 0
		       ? json_integer_value(v)
		       : -1;
}

/* The header: RS256 and nothing this verifier would have to understand. */
static const char *header_refusal(const json_t *h)
{
	const char *alg = json_string_value(json_object_get(h, "alg"));
	const json_t *typ = json_object_get(h, "typ");

	if (!alg || strcmp(alg, "RS256") != 0)
		return "algorithm not RS256";
	if (typ && (!json_is_string(typ) ||
		    strcasecmp(json_string_value(typ), "JWT") != 0))
		return "typ not JWT";
	if (json_object_get(h, "crit"))
		return "crit header";
	return NULL;
}

/* The claims' times against now (seconds); NULL when they hold. */
static const char *times_refusal(const json_t *claims, int64_t now)
{
	json_int_t iat = int_claim(claims, "iat");
	json_int_t exp = int_claim(claims, "exp");
	json_int_t nbf = int_claim(claims, "nbf");

	if (iat < 0 || exp < 0)
		return "iat or exp missing";
	if (json_object_get(claims, "nbf") && nbf < 0)
		return "nbf not a time";
	if (iat > now + APPS_SKEW_S)
		return "issued in the future";
	if (nbf > now + APPS_SKEW_S)
		return "not yet valid";
	if (exp + APPS_SKEW_S <= now)
		return "expired";
	if (exp <= iat || exp - iat > APPS_TOKEN_LIFE_MAX_S)
		return "lifetime out of range";
	return NULL;
}

/* The jti's single use, on the writer: KV_EDUP when it was used. */
struct jti_use {
	char name[APP_ID_LEN + JTI_MAX + 8];
	int64_t exp_ms, now_ms;
};

static int jti_use_run(struct store_tx *c, void *arg)
{
	struct jti_use *u = arg;

	return store_token_use(c, u->name, u->exp_ms, u->now_ms);
}

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return KV_EAUTH;
}

/* Signature, application and key; then the jti is spent. */
static int token_accept(const char *token, const struct jwt *j,
			struct app_info *a, const char **why)
{
	const char *id =
		json_string_value(json_object_get(j->claims, "application_id"));
	const char *jti = json_string_value(json_object_get(j->claims, "jti"));
	struct store_tx *c = store_reader();
	struct jti_use u;
	int rc;

	if (!id || !apps_id_valid(id))
		return refuse(why, "application_id missing or not a UUID");
	if (!jti || !*jti || strlen(jti) > JTI_MAX)
		return refuse(why, "jti missing or too long");
	if (!c)
		return KV_EDB;
	rc = store_app_get(c, id, a);
	if (rc == KV_ENOTFOUND)
		return refuse(why, "unknown application");
	if (rc != 0)
		return rc;
	if (a->key_revoked_ms != 0 || a->key_kind != KEY_SECRET)
		return refuse(why, "the application's key is revoked");
	if (jwt_rs256_verify(a->public_key, token, j->signed_len, j->sig,
			     j->sig_len) != 0)
		return refuse(why, "bad signature");
	snprintf(u.name, sizeof(u.name), "app:%s:%s", id, jti);
	u.now_ms = now_ms();
	u.exp_ms = (int64_t)(int_claim(j->claims, "exp") + APPS_SKEW_S) * 1000;
	rc = store_write(jti_use_run, &u);
	if (rc == KV_EDUP)
		return refuse(why, "jti replayed");
	return rc;
}

int apps_authenticate(const char *token, struct key_auth *out,
		      char app_id[APP_ID_LEN + 1], char *api_key,
		      size_t api_key_len, const char **why)
{
	struct app_info a;
	struct jwt j;
	int rc;

	*why = NULL;
	if (jwt_parse(token, &j) != 0) {
		*why = "malformed token";
		return KV_EAUTH;
	}
	*why = header_refusal(j.header);
	if (!*why)
		*why = times_refusal(j.claims, now_ms() / 1000);
	rc = *why ? KV_EAUTH : token_accept(token, &j, &a, why);
	jwt_release(&j);
	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->key_id = a.key_id;
	out->kind = KEY_SECRET;
	memcpy(out->countries, a.countries, sizeof(out->countries));
	memcpy(app_id, a.app_id, sizeof(a.app_id));
	snprintf(api_key, api_key_len, "%s", a.api_key);
	return 0;
}
