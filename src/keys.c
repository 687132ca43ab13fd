/*
 * API key creation and authentication (keys.h).
 */
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "keys.h"
#include "util.h"

int keys_create(struct db_conn *c, const char *name, int voice_confirm,
		const char *countries, char api_key[CRYPTO_API_KEY_LEN + 1],
		char api_secret[CRYPTO_API_SECRET_LEN + 1])
{
	struct key_row k;

	memset(&k, 0, sizeof(k));
	crypto_api_credentials(api_key, api_secret);
	memcpy(k.api_key, api_key, CRYPTO_API_KEY_LEN + 1);
	snprintf(k.name, sizeof(k.name), "%s", name ? name : "");
	crypto_secret_hash(api_secret, k.secret_hash);
	k.created_ms = now_ms();
	k.voice_confirm = voice_confirm;
	snprintf(k.countries, sizeof(k.countries), "%s",
		 countries ? countries : "IN");
	return db_key_insert(c, &k);
}

int keys_authenticate(const char *api_key, const char *api_secret,
		      int64_t *key_id, char countries[64])
{
	static const unsigned char absent[CRYPTO_HASH_LEN];
	unsigned char given[CRYPTO_HASH_LEN];
	struct db_conn *c = db_reader();
	struct key_row k;
	int found, rc;

	if (!c)
		return KV_EDB;
	rc = db_key_get(c, api_key, &k);
	if (rc != 0 && rc != KV_ENOTFOUND)
		return rc;
	found = rc == 0 && k.revoked_ms == 0;
	/* Hash and compare even for an unknown key: equal work either way. */
	crypto_secret_hash(api_secret, given);
	rc = crypto_hash_equal(given, found ? k.secret_hash : absent);
	sodium_memzero(given, sizeof(given));
	if (!found || !rc)
		return KV_EAUTH;
	*key_id = k.id;
	memcpy(countries, k.countries, sizeof(k.countries));
	return 0;
}
