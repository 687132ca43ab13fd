/*
 * Status callbacks in the PostgreSQL backend: a key's callback URL and
 * secret, and the callbacks queue (insert, claim with a lease, finish,
 * retry).  Many nodes claim from one table: a claim skips the rows another
 * node's transaction holds (FOR UPDATE SKIP LOCKED).
 */
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "store_pg.h"

/* The due time of a parked callback (store.h): the largest bigint. */
#define CALLBACK_PARKED "9223372036854775807"

static const char sql_key_get[] =
	"SELECT callback_url, callback_secret FROM api_keys WHERE id = $1 "
	"AND callback_url <> ''";
static const char sql_key_set[] =
	"UPDATE api_keys SET callback_url = $2, callback_secret = $3 "
	"WHERE api_key = $1";
/*
 * Parked behind a pending callback of the same verification.  The write
 * holds the verification's row (the service loads it for update), and so
 * does a callback's end (sql_lock_verification).
 */
static const char sql_insert[] =
	"INSERT INTO callbacks (verification_id, key_id, jti, body, "
	"created_ms, due_ms) VALUES ($1, $2, $3, $4, $5, CASE WHEN EXISTS "
	"(SELECT 1 FROM callbacks WHERE " PG_PENDING_OF ") "
	"THEN " CALLBACK_PARKED " ELSE $5 END)";
/* A leased callback is pending with due_ms moved to its lease's end. */
static const char sql_claim[] =
	"WITH c AS MATERIALIZED (SELECT id FROM callbacks WHERE state = 0 "
	"AND due_ms <= $1 AND key_id NOT IN ($3, $4, $5, $6) ORDER BY due_ms "
	"LIMIT 1 FOR UPDATE SKIP LOCKED) "
	"UPDATE callbacks b SET due_ms = $2, lease_until_ms = $2, "
	"attempts = b.attempts + 1 FROM c, api_keys k WHERE b.id = c.id "
	"AND k.id = b.key_id RETURNING b.id, b.verification_id, b.key_id, "
	"b.jti, b.body, b.created_ms, b.attempts, k.callback_url, "
	"k.callback_secret, k.api_key";
/*
 * A callback's end takes its verification's row lock first, as every
 * write that queues one holds it: else an insert that saw this callback
 * pending (and parked itself behind it) could commit after the unpark
 * below looked, and stay parked for good.
 */
static const char sql_lock_verification[] =
	"SELECT 1 FROM verifications WHERE id = $1 FOR UPDATE";
static const char sql_done[] =
	"UPDATE callbacks SET state = $2, done_ms = $3, last_error = $4 "
	"WHERE id = $1 AND lease_until_ms = $5 AND " PG_PENDING;
static const char sql_unpark[] =
	"UPDATE callbacks SET due_ms = $2 WHERE id = (SELECT min(id) FROM "
	"callbacks WHERE " PG_PENDING_OF ") AND due_ms = " CALLBACK_PARKED;
static const char sql_retry[] =
	"UPDATE callbacks SET due_ms = $2, last_error = $3, lease_until_ms = 0 "
	"WHERE id = $1 AND lease_until_ms = $4 AND " PG_PENDING;
static const char sql_next_due[] = "SELECT due_ms FROM callbacks WHERE "
				   "state = 0 ORDER BY due_ms LIMIT 1";

int pg_key_callback_get(struct store_tx *c, int64_t key_id,
			struct key_callback *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, key_id);
	rc = pg_row(c, sql_key_get, &p, &res, "get key callback");
	if (rc == 0) {
		pg_get_text(res, 0, 0, out->url, sizeof(out->url));
		pg_get_text(res, 0, 1, out->secret, sizeof(out->secret));
	}
	PQclear(res);
	return rc;
}

int pg_key_callback_set(struct store_tx *c, const char *api_key,
			const struct key_callback *cb)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, api_key);
	pg_param_text(&p, cb->url);
	pg_param_text(&p, cb->secret);
	return pg_run_found(c, sql_key_set, &p, "set key callback");
}

int pg_callback_insert(struct store_tx *c, const struct vf_callback *cb,
		       int64_t now)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, cb->verification_id);
	pg_param_int(&p, cb->key_id);
	pg_param_text(&p, cb->jti);
	pg_param_text(&p, cb->body);
	pg_param_int(&p, now);
	return pg_run(c, sql_insert, &p, "insert callback");
}

int pg_callback_claim(struct store_tx *c, int64_t now, int64_t lease_until,
		      const int64_t *skip, struct vf_callback *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, now);
	pg_param_int(&p, lease_until);
	for (int i = 0; i < CALLBACK_SKIP_KEYS; i++)
		pg_param_int(&p, skip[i]);
	rc = pg_row(c, sql_claim, &p, &res, "claim callback");
	if (rc == 0) {
		memset(out, 0, sizeof(*out));
		out->id = pg_get_int(res, 0, 0);
		out->verification_id = pg_get_int(res, 0, 1);
		out->key_id = pg_get_int(res, 0, 2);
		pg_get_text(res, 0, 3, out->jti, sizeof(out->jti));
		pg_get_text(res, 0, 4, out->body, sizeof(out->body));
		out->created_ms = pg_get_int(res, 0, 5);
		out->attempts = (int)pg_get_int(res, 0, 6);
		pg_get_text(res, 0, 7, out->to.url, sizeof(out->to.url));
		pg_get_text(res, 0, 8, out->to.secret, sizeof(out->to.secret));
		pg_get_text(res, 0, 9, out->api_key, sizeof(out->api_key));
	}
	PQclear(res);
	return rc;
}

int pg_callback_done(struct store_tx *c, const struct vf_callback *cb,
		     int64_t lease_until, int state, const char *error,
		     int64_t now)
{
	struct pg_params p;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, cb->verification_id);
	rc = pg_run(c, sql_lock_verification, &p,
		    "lock callback's verification");
	if (rc != 0)
		return rc;
	pg_params_init(&p);
	pg_param_int(&p, cb->id);
	pg_param_int(&p, state);
	pg_param_int(&p, now);
	pg_param_text(&p, error ? error : "");
	pg_param_int(&p, lease_until);
	rc = pg_run_found(c, sql_done, &p, "finish callback");
	if (rc != 0)
		return rc;
	pg_params_init(&p);
	pg_param_int(&p, cb->verification_id);
	pg_param_int(&p, now);
	return pg_run(c, sql_unpark, &p, "unpark callback");
}

int pg_callback_retry(struct store_tx *c, int64_t id, int64_t lease_until,
		      int64_t due_ms, const char *error)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, id);
	pg_param_int(&p, due_ms);
	pg_param_text(&p, error ? error : "");
	pg_param_int(&p, lease_until);
	return pg_run_found(c, sql_retry, &p, "retry callback");
}

int pg_callback_next_due(struct store_tx *c, int64_t *due_ms)
{
	return pg_int_row(c, sql_next_due, NULL, due_ms, "next callback");
}
