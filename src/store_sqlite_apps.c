/*
 * Verify v2's tables in the SQLite backend: applications (the public keys
 * of Vonage-style JWTs, bound to API keys) and idempotency records.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "store_sqlite.h"

static void app_from_row(sqlite3_stmt *st, struct app_info *a)
{
	memset(a, 0, sizeof(*a));
	sqlite_get_text(st, 0, a->app_id, sizeof(a->app_id));
	a->key_id = sqlite3_column_int64(st, 1);
	sqlite_get_text(st, 2, a->public_key, sizeof(a->public_key));
	a->created_ms = sqlite3_column_int64(st, 3);
	sqlite_get_text(st, 4, a->api_key, sizeof(a->api_key));
	a->key_revoked_ms = sqlite3_column_int64(st, 5);
	a->key_kind = sqlite3_column_int(st, 6);
	sqlite_get_text(st, 7, a->countries, sizeof(a->countries));
}

int sqlite_app_insert(struct store_tx *c, const struct app_info *a)
{
	sqlite3_stmt *st = c->stmt[STMT_APP_INSERT];

	sqlite_bind_text(st, 1, a->app_id);
	sqlite3_bind_int64(st, 2, a->key_id);
	sqlite_bind_text(st, 3, a->public_key);
	sqlite3_bind_int64(st, 4, a->created_ms);
	return sqlite_run(c, STMT_APP_INSERT, "insert application");
}

int sqlite_app_get(struct store_tx *c, const char *app_id, struct app_info *out)
{
	sqlite3_stmt *st = c->stmt[STMT_APP_GET];
	int rc;

	sqlite_bind_text(st, 1, app_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		app_from_row(st, out);
	return sqlite_row_done(c, st, rc, "get application");
}

int sqlite_app_delete(struct store_tx *c, const char *app_id)
{
	int rc;

	sqlite_bind_text(c->stmt[STMT_APP_DELETE], 1, app_id);
	rc = sqlite_run(c, STMT_APP_DELETE, "delete application");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}

int sqlite_apps_foreach(struct store_tx *c,
			int (*cb)(const struct app_info *a, void *arg),
			void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_APP_LIST];
	struct app_info a;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		app_from_row(st, &a);
		if (cb(&a, arg) != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		       ? 0
		       : sqlite_fail(c, "list applications");
}

int sqlite_idem_get(struct store_tx *c, int64_t key_id, const char *idem_key,
		    int64_t since_ms, struct idem_record *out)
{
	sqlite3_stmt *st = c->stmt[STMT_IDEM_GET];
	int rc;

	sqlite3_bind_int64(st, 1, key_id);
	sqlite_bind_text(st, 2, idem_key);
	sqlite3_bind_int64(st, 3, since_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->key_id = key_id;
		sqlite_get_blob(st, 0, out->body_hash, sizeof(out->body_hash));
		sqlite_get_text(st, 1, out->request_id,
				sizeof(out->request_id));
		out->created_ms = sqlite3_column_int64(st, 2);
	}
	return sqlite_row_done(c, st, rc, "get idempotency record");
}

int sqlite_idem_put(struct store_tx *c, const struct idem_record *r,
		    int64_t since_ms)
{
	sqlite3_stmt *st = c->stmt[STMT_IDEM_PUT];
	int rc;

	sqlite3_bind_int64(c->stmt[STMT_IDEM_PURGE], 1, since_ms);
	rc = sqlite_run(c, STMT_IDEM_PURGE, "purge idempotency records");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st, 1, r->key_id);
	sqlite_bind_text(st, 2, r->idem_key);
	sqlite3_bind_blob(st, 3, r->body_hash, sizeof(r->body_hash),
			  SQLITE_STATIC);
	sqlite_bind_text(st, 4, r->request_id);
	sqlite3_bind_int64(st, 5, r->created_ms);
	return sqlite_run(c, STMT_IDEM_PUT, "put idempotency record");
}
