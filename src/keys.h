/*
 * API keys: creation for the CLI and authentication of every API call.
 * Secrets are stored only as keyed hashes and compared in constant time.
 */
#ifndef KV_KEYS_H
#define KV_KEYS_H

#include <stdint.h>

#include "crypto.h"
#include "db.h"

/*
 * Creates a key named `name` on connection `c` and writes the new api_key
 * and api_secret into the caller's buffers.  The secret is not stored: this
 * is the only time it exists in clear.  Returns 0 or KV_E*.
 */
int keys_create(struct db_conn *c, const char *name, int voice_confirm,
		const char *countries, char api_key[CRYPTO_API_KEY_LEN + 1],
		char api_secret[CRYPTO_API_SECRET_LEN + 1]);

/*
 * Authenticates a key and secret on the calling thread's reader.  Returns 0
 * and sets *key_id, KV_EAUTH for an unknown, revoked or wrong pair (the same
 * work is done in every case, so timing does not tell them apart), or KV_EDB.
 */
int keys_authenticate(const char *api_key, const char *api_secret,
		      int64_t *key_id, char countries[64]);

#endif
