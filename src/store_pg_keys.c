/*
 * API keys of the PostgreSQL backend: secret and publishable keys, the
 * origins a publishable key may be used from, and the single use of
 * verification tokens.  The same statements and meaning as the SQLite
 * backend's.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "store_pg.h"
#include "err.h"
#include "util.h"

/* A key's owner: its row id (0 for none) and its api_key ("" for none). */
#define KEY_COLUMNS                                                            \
	"id, api_key, name, secret_hash, created_ms, revoked_ms, countries, "  \
	"kind, brand, coalesce(owner_key_id, 0), coalesce((SELECT o.api_key "  \
	"FROM api_keys o WHERE o.id = api_keys.owner_key_id), '')"

static const char sql_key_insert[] =
	"INSERT INTO api_keys (api_key, name, secret_hash, created_ms, "
	"voice_confirm, countries, kind, brand, owner_key_id) VALUES ($1, $2, "
	"$3, $4, $5, $6, $7, $8, nullif($9::bigint, 0)) RETURNING id";
static const char sql_key_get[] = "SELECT " KEY_COLUMNS
				  " FROM api_keys WHERE api_key = $1";
static const char sql_key_list[] = "SELECT " KEY_COLUMNS
				   " FROM api_keys ORDER BY id";
static const char sql_key_revoke[] =
	"UPDATE api_keys SET revoked_ms = $2 WHERE api_key = $1 AND "
	"revoked_ms = 0";
static const char sql_key_set_missed_call[] =
	"UPDATE api_keys SET missed_call = $2 WHERE api_key = $1";
/* Only a publishable key gets an owner, and only an active secret key is
 * one. */
static const char sql_key_set_owner[] =
	"UPDATE api_keys SET owner_key_id = o.id FROM api_keys o WHERE "
	"api_keys.api_key = $1 AND api_keys.kind = 1 AND o.api_key = $2 AND "
	"o.kind = 0 AND o.revoked_ms = 0";
static const char sql_origin_add[] =
	"INSERT INTO key_origins (origin, key_id) VALUES ($1, $2) "
	"ON CONFLICT DO NOTHING";
static const char sql_origin_of_key[] =
	"SELECT 1 FROM key_origins WHERE origin = $1 AND key_id = $2";
static const char sql_origin_known[] =
	"SELECT 1 FROM key_origins o JOIN api_keys k ON k.id = o.key_id "
	"WHERE o.origin = $1 AND k.revoked_ms = 0 AND k.kind = 1 LIMIT 1";
static const char sql_origin_list[] =
	"SELECT origin FROM key_origins WHERE key_id = $1 ORDER BY origin";
static const char sql_token_use[] =
	"INSERT INTO token_uses (jti, exp_ms, used_ms) VALUES ($1, $2, $3) "
	"ON CONFLICT DO NOTHING";
/*
 * Bounded, so no single call pays for a long-idle table; rows another
 * node is deleting at the same moment are skipped rather than waited for.
 */
static const char sql_token_purge[] =
	"DELETE FROM token_uses WHERE jti IN (SELECT jti FROM token_uses "
	"WHERE exp_ms <= $1 ORDER BY exp_ms LIMIT 64 FOR UPDATE SKIP LOCKED)";
static const char sql_token_used[] = "SELECT 1 FROM token_uses WHERE jti = $1";

/*
 * Every API call authenticates its key: a node's readers keep the keys
 * they found for STORE_CACHE_TTL_MS (store_cache.h), so a busy key costs one
 * statement a second instead of one a call.  A revoke or a new owner
 * reaches a running node when the entry ends, or sooner: the admin
 * command announces it and every node's listener empties its caches.
 * Unknown keys are not kept, so a new key works at once.  Writers and the
 * admin commands' connections always read the table.
 */
#define KEY_CACHE_SLOTS 64

static struct store_cache_entry key_slots[KEY_CACHE_SLOTS];
static struct store_cache kc = STORE_CACHE_INIT(key_slots);

void pg_key_cache_clear(void)
{
	store_cache_clear(&kc);
}

static void pg_key_from_row(PGresult *res, int row, struct key_info *k)
{
	k->id = pg_get_int(res, row, 0);
	pg_get_text(res, row, 1, k->api_key, sizeof(k->api_key));
	pg_get_text(res, row, 2, k->name, sizeof(k->name));
	pg_get_bytea(res, row, 3, k->secret_hash, sizeof(k->secret_hash));
	k->created_ms = pg_get_int(res, row, 4);
	k->revoked_ms = pg_get_int(res, row, 5);
	pg_get_text(res, row, 6, k->countries, sizeof(k->countries));
	k->kind = (int)pg_get_int(res, row, 7);
	pg_get_text(res, row, 8, k->brand, sizeof(k->brand));
	k->owner_key_id = pg_get_int(res, row, 9);
	pg_get_text(res, row, 10, k->owner, sizeof(k->owner));
}

/* Whether `sql` returns a row: *found 1 or 0. */
static int pg_exists(struct store_tx *c, const char *sql,
		     const struct pg_params *p, const char *what, int *found)
{
	PGresult *res = NULL;
	int rc = pg_query(c, sql, p, &res, what);

	*found = rc == 0 && PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

int pg_key_insert(struct store_tx *c, const struct key_info *k, int64_t *id)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_text(&p, k->api_key);
	pg_param_text(&p, k->name);
	pg_param_bytea(&p, k->secret_hash, sizeof(k->secret_hash));
	pg_param_int(&p, k->created_ms);
	pg_param_int(&p, k->voice_confirm);
	pg_param_text(&p, k->countries[0] ? k->countries : "IN");
	pg_param_int(&p, k->kind);
	pg_param_text(&p, k->brand);
	pg_param_int(&p, k->owner_key_id > 0 ? k->owner_key_id : 0);
	rc = pg_row(c, sql_key_insert, &p, &res, "insert key");
	if (rc == 0 && id)
		*id = pg_get_int(res, 0, 0);
	PQclear(res);
	return rc;
}

int pg_key_get(struct store_tx *c, const char *api_key, struct key_info *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int found, rc;

	if (c->reader &&
	    store_cache_get(&kc, api_key, out, sizeof(*out), &found))
		return 0; /* only keys found are put there */
	pg_params_init(&p);
	pg_param_text(&p, api_key);
	rc = pg_row(c, sql_key_get, &p, &res, "get key");
	if (rc == 0) {
		pg_key_from_row(res, 0, out);
		if (c->reader)
			store_cache_put(&kc, api_key, out, sizeof(*out), 1);
	}
	PQclear(res);
	return rc;
}

int pg_key_revoke(struct store_tx *c, const char *api_key, int64_t now_ms)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, api_key);
	pg_param_int(&p, now_ms);
	return pg_cache_changed(c, pg_run_found(c, sql_key_revoke, &p,
						"revoke key"));
}

int pg_key_set_owner(struct store_tx *c, const char *api_key, const char *owner)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, api_key);
	pg_param_text(&p, owner);
	return pg_cache_changed(c, pg_run_found(c, sql_key_set_owner, &p,
						"set key owner"));
}

int pg_key_set_missed_call(struct store_tx *c, const char *api_key, int on)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, api_key);
	pg_param_int(&p, on);
	return pg_run_found(c, sql_key_set_missed_call, &p,
			    "set key missed call");
}

int pg_keys_foreach(struct store_tx *c,
		    int (*cb)(const struct key_info *k, void *arg), void *arg)
{
	PGresult *res = NULL;
	struct key_info k;
	int rc = pg_query(c, sql_key_list, NULL, &res, "list keys");

	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		pg_key_from_row(res, i, &k);
		if (cb(&k, arg) != 0)
			break;
	}
	PQclear(res);
	return rc;
}

int pg_key_origin_add(struct store_tx *c, int64_t key_id, const char *origin)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, origin);
	pg_param_int(&p, key_id);
	return pg_run(c, sql_origin_add, &p, "add origin");
}

int pg_key_origin_allowed(struct store_tx *c, int64_t key_id,
			  const char *origin, int *listed)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, origin);
	pg_param_int(&p, key_id);
	return pg_exists(c, sql_origin_of_key, &p, "origin of key", listed);
}

int pg_origin_known(struct store_tx *c, const char *origin, int *known)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, origin);
	return pg_exists(c, sql_origin_known, &p, "origin known", known);
}

int pg_key_origins_foreach(struct store_tx *c, int64_t key_id,
			   void (*cb)(const char *origin, void *arg), void *arg)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, key_id);
	rc = pg_query(c, sql_origin_list, &p, &res, "list origins");
	for (int i = 0; rc == 0 && i < PQntuples(res); i++)
		cb(PQgetvalue(res, i, 0), arg);
	PQclear(res);
	return rc;
}

int pg_token_use(struct store_tx *c, const char *jti, int64_t exp_ms,
		 int64_t now_ms)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, now_ms);
	rc = pg_run(c, sql_token_purge, &p, "purge token uses");
	if (rc != 0)
		return rc;
	pg_params_init(&p);
	pg_param_text(&p, jti);
	pg_param_int(&p, exp_ms);
	pg_param_int(&p, now_ms);
	/*
	 * Two nodes redeeming the same token at once: the second insert
	 * waits for the first's commit and then inserts nothing, so exactly
	 * one of them sees a row inserted.
	 */
	rc = pg_query(c, sql_token_use, &p, &res, "use token");
	if (rc == 0 && pg_changed(res) == 0)
		rc = KV_EDUP;
	PQclear(res);
	return rc;
}

int pg_token_used(struct store_tx *c, const char *jti, int *used)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, jti);
	return pg_exists(c, sql_token_used, &p, "token used", used);
}
