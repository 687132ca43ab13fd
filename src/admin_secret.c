/*
 * The server secret of the admin commands and `serve`: loaded from its
 * file (refusing to make a new one for a database that has keys hashed with
 * the old), then compared with the fingerprint the store was first used
 * with, so that no command works on a store with another node's secret.
 */
#include <stdio.h>
#include <unistd.h>

#include "admin.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "store.h"

static int count_key(const struct key_info *k, void *arg)
{
	(*(int *)arg)++;
	return 1; /* one is enough */
}

/* True when the database already holds API keys (hashed with a secret). */
static int store_has_keys(struct store_tx *c)
{
	int n = 0;

	store_keys_foreach(c, count_key, &n);
	return n > 0;
}

static int secret_load(const struct config *cfg, struct store_tx *c)
{
	char path[600];
	char err[600];

	if (cfg->secret_file[0])
		snprintf(path, sizeof(path), "%s", cfg->secret_file);
	else
		snprintf(path, sizeof(path), "%s.secret", cfg->db);
	/*
	 * A new secret would silently invalidate every key and pending PIN
	 * hashed with the old one: refuse, and say what is missing.
	 */
	if (access(path, F_OK) != 0 && store_has_keys(c)) {
		log_error("secret.missing", LOG_STR("path", path),
			  LOG_STR("error",
				  "the database has API keys: restore the "
				  "secret from backup (a new secret would "
				  "invalidate every key)"));
		return KV_EIO;
	}
	if (crypto_load_secret(path, err, sizeof(err)) != 0) {
		log_error("secret.unusable", LOG_STR("error", err));
		return KV_EIO;
	}
	return 0;
}

/* Claims the store for this secret inside the CLI transaction c. */
static int secret_claim_run(struct store_tx *c, const char *fingerprint,
			    char *stored, size_t storedlen)
{
	int rc = store_begin(c);

	if (rc == 0)
		rc = store_meta_claim(c, "secret_fingerprint", fingerprint,
				      stored, storedlen);
	if (rc == 0)
		return store_commit(c);
	store_rollback(c);
	return rc;
}

/*
 * Every node on one store must derive the same request ids, PIN hashes
 * and callback tokens, so the store remembers a fingerprint of the secret
 * it was first served with (a keyed hash of a fixed text, never the
 * secret) and a node with another secret refuses to start: it would
 * answer "wrong code" to every PIN another node sent.
 */
static int secret_claim(struct store_tx *c)
{
	char fingerprint[CRYPTO_TAG_LEN + 1], stored[128] = "";
	int rc;

	crypto_tag("kookooverify secret fingerprint v1", fingerprint);
	rc = secret_claim_run(c, fingerprint, stored, sizeof(stored));
	if (rc == KV_EDUP)
		log_error("secret.mismatch", LOG_STRN("stored", stored, 8),
			  LOG_STRN("ours", fingerprint, 8),
			  LOG_STR("error",
				  "the server secret differs from the one "
				  "this database was created with: every node "
				  "must use the same secret file; see "
				  "docs/SCALING.md"));
	else if (rc != 0)
		log_error("secret.compare_failed",
			  LOG_STR("error", kv_strerror(rc)));
	return rc;
}

int admin_load_secret(const struct config *cfg, struct store_tx *c)
{
	int rc = secret_load(cfg, c);

	return rc != 0 ? rc : secret_claim(c);
}

/*
 * `operator-token`: the credential of /metrics and the operator console,
 * derived from the secret and `operator_token_epoch`, so every node of a
 * deployment accepts it without a file of its own.
 */
int admin_cmd_operator_token(struct admin_options *o)
{
	char token[CRYPTO_OPERATOR_TOKEN_LEN + 1];
	struct store_tx *c = admin_open(o);

	if (!c)
		return 1;
	store_close(c);
	crypto_operator_token(o->cfg.operator_token_epoch, token);
	printf("%s\n", token);
	return 0;
}
