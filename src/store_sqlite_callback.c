/*
 * Status callbacks in the SQLite backend: a key's callback URL and secret,
 * and the callbacks queue (insert, claim with a lease, finish, retry),
 * whose statements are in store_sqlite.c's table.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "store_sqlite.h"

int sqlite_key_callback_get(struct store_tx *c, int64_t key_id,
			    struct key_callback *out)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_CALLBACK_GET];
	int rc;

	sqlite3_bind_int64(st, 1, key_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		sqlite_get_text(st, 0, out->url, sizeof(out->url));
		sqlite_get_text(st, 1, out->secret, sizeof(out->secret));
	}
	return sqlite_row_done(c, st, rc, "get key callback");
}

int sqlite_key_callback_set(struct store_tx *c, const char *api_key,
			    const struct key_callback *cb)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_CALLBACK_SET];
	int rc;

	sqlite_bind_text(st, 1, api_key);
	sqlite_bind_text(st, 2, cb->url);
	sqlite_bind_text(st, 3, cb->secret);
	rc = sqlite_run(c, STMT_KEY_CALLBACK_SET, "set key callback");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}

int sqlite_callback_insert(struct store_tx *c, const struct vf_callback *cb,
			   int64_t now)
{
	sqlite3_stmt *st = c->stmt[STMT_CB_INSERT];

	sqlite3_bind_int64(st, 1, cb->verification_id);
	sqlite3_bind_int64(st, 2, cb->key_id);
	sqlite_bind_text(st, 3, cb->jti);
	sqlite_bind_text(st, 4, cb->body);
	sqlite3_bind_int64(st, 5, now);
	return sqlite_run(c, STMT_CB_INSERT, "insert callback");
}

int sqlite_callback_claim(struct store_tx *c, int64_t now, int64_t lease_until,
			  const int64_t *skip, struct vf_callback *out)
{
	sqlite3_stmt *st = c->stmt[STMT_CB_CLAIM];
	int rc;

	sqlite3_bind_int64(st, 1, now);
	for (int i = 0; i < CALLBACK_SKIP_KEYS; i++)
		sqlite3_bind_int64(st, 2 + i, skip[i]);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		out->verification_id = sqlite3_column_int64(st, 1);
		out->key_id = sqlite3_column_int64(st, 2);
		sqlite_get_text(st, 3, out->jti, sizeof(out->jti));
		sqlite_get_text(st, 4, out->body, sizeof(out->body));
		out->created_ms = sqlite3_column_int64(st, 5);
		out->attempts = sqlite3_column_int(st, 6);
		sqlite_get_text(st, 7, out->to.url, sizeof(out->to.url));
		sqlite_get_text(st, 8, out->to.secret, sizeof(out->to.secret));
		sqlite_get_text(st, 9, out->api_key, sizeof(out->api_key));
	}
	rc = sqlite_row_done(c, st, rc, "claim callback");
	if (rc != 0)
		return rc;
	st = c->stmt[STMT_CB_LEASE];
	sqlite3_bind_int64(st, 1, out->id);
	sqlite3_bind_int64(st, 2, lease_until);
	rc = sqlite_run(c, STMT_CB_LEASE, "lease callback");
	if (rc == 0)
		out->attempts++;
	return rc;
}

int sqlite_callback_done(struct store_tx *c, const struct vf_callback *cb,
			 int64_t lease_until, int state, const char *error,
			 int64_t now)
{
	sqlite3_stmt *st = c->stmt[STMT_CB_DONE];
	int rc;

	sqlite3_bind_int64(st, 1, cb->id);
	sqlite3_bind_int(st, 2, state);
	sqlite3_bind_int64(st, 3, now);
	sqlite_bind_text(st, 4, error ? error : "");
	sqlite3_bind_int64(st, 5, lease_until);
	rc = sqlite_run(c, STMT_CB_DONE, "finish callback");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	if (rc != 0)
		return rc;
	/* The verification's next callback, parked behind this one. */
	st = c->stmt[STMT_CB_UNPARK];
	sqlite3_bind_int64(st, 1, cb->verification_id);
	sqlite3_bind_int64(st, 2, now);
	return sqlite_run(c, STMT_CB_UNPARK, "unpark callback");
}

int sqlite_callback_retry(struct store_tx *c, int64_t id, int64_t lease_until,
			  int64_t due_ms, const char *error)
{
	sqlite3_stmt *st = c->stmt[STMT_CB_RETRY];
	int rc;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, due_ms);
	sqlite_bind_text(st, 3, error ? error : "");
	sqlite3_bind_int64(st, 4, lease_until);
	rc = sqlite_run(c, STMT_CB_RETRY, "retry callback");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}

int sqlite_callback_next_due(struct store_tx *c, int64_t *due_ms)
{
	sqlite3_stmt *st = c->stmt[STMT_CB_NEXT_DUE];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*due_ms = sqlite3_column_int64(st, 0);
	return sqlite_row_done(c, st, rc, "next callback");
}
