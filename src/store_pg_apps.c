/*
 * Verify v2's tables in the PostgreSQL backend: applications (the public
 * keys of Vonage-style JWTs, bound to API keys) and idempotency records.
 * The same statements and meaning as the SQLite backend's.
 */
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "store_pg.h"

#define APP_COLUMNS                                                            \
	"a.app_id, a.key_id, a.public_key, a.created_ms, k.api_key, "          \
	"k.revoked_ms, k.kind, k.countries FROM applications a JOIN api_keys " \
	"k ON k.id = a.key_id"

static const char sql_app_insert[] =
	"INSERT INTO applications (app_id, key_id, public_key, created_ms) "
	"VALUES ($1, $2, $3, $4)";
static const char sql_app_get[] = "SELECT " APP_COLUMNS " WHERE a.app_id = $1";
static const char sql_app_delete[] =
	"DELETE FROM applications WHERE app_id = $1";
static const char sql_app_list[] = "SELECT " APP_COLUMNS
				   " ORDER BY a.created_ms, a.app_id";
static const char sql_idem_get[] =
	"SELECT body_hash, request_id, created_ms FROM idempotency WHERE "
	"key_id = $1 AND idem_key = $2 AND created_ms >= $3";
static const char sql_idem_put[] =
	"INSERT INTO idempotency (key_id, idem_key, body_hash, request_id, "
	"created_ms) VALUES ($1, $2, $3, $4, $5)";
/* Bounded, as the token uses' purge. */
static const char sql_idem_purge[] =
	"DELETE FROM idempotency WHERE ctid IN (SELECT ctid FROM idempotency "
	"WHERE created_ms < $1 LIMIT 64)";

static void app_from_row(PGresult *res, int row, struct app_info *a)
{
	memset(a, 0, sizeof(*a));
	pg_get_text(res, row, 0, a->app_id, sizeof(a->app_id));
	a->key_id = pg_get_int(res, row, 1);
	pg_get_text(res, row, 2, a->public_key, sizeof(a->public_key));
	a->created_ms = pg_get_int(res, row, 3);
	pg_get_text(res, row, 4, a->api_key, sizeof(a->api_key));
	a->key_revoked_ms = pg_get_int(res, row, 5);
	a->key_kind = (int)pg_get_int(res, row, 6);
	pg_get_text(res, row, 7, a->countries, sizeof(a->countries));
}

int pg_app_insert(struct store_tx *c, const struct app_info *a)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, a->app_id);
	pg_param_int(&p, a->key_id);
	pg_param_text(&p, a->public_key);
	pg_param_int(&p, a->created_ms);
	return pg_run(c, sql_app_insert, &p, "insert application");
}

int pg_app_get(struct store_tx *c, const char *app_id, struct app_info *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_text(&p, app_id);
	rc = pg_row(c, sql_app_get, &p, &res, "get application");
	if (rc == 0)
		app_from_row(res, 0, out);
	PQclear(res);
	return rc;
}

int pg_app_delete(struct store_tx *c, const char *app_id)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_text(&p, app_id);
	rc = pg_query(c, sql_app_delete, &p, &res, "delete application");
	if (rc == 0 && pg_changed(res) == 0)
		rc = KV_ENOTFOUND;
	PQclear(res);
	return rc;
}

int pg_apps_foreach(struct store_tx *c,
		    int (*cb)(const struct app_info *a, void *arg), void *arg)
{
	PGresult *res = NULL;
	struct app_info a;
	int rc = pg_query(c, sql_app_list, NULL, &res, "list applications");

	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		app_from_row(res, i, &a);
		if (cb(&a, arg) != 0)
			break;
	}
	PQclear(res);
	return rc;
}

int pg_idem_get(struct store_tx *c, int64_t key_id, const char *idem_key,
		int64_t since_ms, struct idem_record *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, key_id);
	pg_param_text(&p, idem_key);
	pg_param_int(&p, since_ms);
	rc = pg_row(c, sql_idem_get, &p, &res, "get idempotency record");
	if (rc == 0) {
		out->key_id = key_id;
		pg_get_bytea(res, 0, 0, out->body_hash, sizeof(out->body_hash));
		pg_get_text(res, 0, 1, out->request_id,
			    sizeof(out->request_id));
		out->created_ms = pg_get_int(res, 0, 2);
	}
	PQclear(res);
	return rc;
}

int pg_idem_put(struct store_tx *c, const struct idem_record *r,
		int64_t since_ms)
{
	struct pg_params p;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, since_ms);
	rc = pg_run(c, sql_idem_purge, &p, "purge idempotency records");
	if (rc != 0)
		return rc;
	pg_params_init(&p);
	pg_param_int(&p, r->key_id);
	pg_param_text(&p, r->idem_key);
	pg_param_bytea(&p, r->body_hash, sizeof(r->body_hash));
	pg_param_text(&p, r->request_id);
	pg_param_int(&p, r->created_ms);
	return pg_run(c, sql_idem_put, &p, "put idempotency record");
}
