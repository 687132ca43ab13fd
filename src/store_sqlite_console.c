/*
 * The operator console's reads in the SQLite backend: the funnel, the
 * verifications per minute, the busiest prefixes, the newest
 * verifications and the calls of one (SQL in store_console_sql.h).
 */
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "store_sqlite.h"

/* Steps a statement that returns rows to its end and resets it. */
static int rows_done(struct store_tx *c, sqlite3_stmt *st, int rc,
		     const char *what)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : sqlite_fail(c, what);
}

int sqlite_console_funnel(struct store_tx *c, int64_t since_ms,
			  struct store_funnel *out)
{
	sqlite3_stmt *st = c->stmt[STMT_CONSOLE_FUNNEL];
	int rc;

	memset(out, 0, sizeof(*out));
	sqlite3_bind_int64(st, 1, since_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->requested = sqlite3_column_int64(st, 0);
		out->sms_sent = sqlite3_column_int64(st, 1);
		out->verified_by_sms = sqlite3_column_int64(st, 2);
		out->call_placed = sqlite3_column_int64(st, 3);
		out->answered = sqlite3_column_int64(st, 4);
		out->confirmed_by_key = sqlite3_column_int64(st, 5);
		for (int i = 0; i < STORE_TTV_BUCKETS; i++)
			out->ttv[i] = sqlite3_column_int64(st, 6 + i);
	}
	rc = sqlite_row_done(c, st, rc, "console funnel");
	return rc == KV_ENOTFOUND ? 0 : rc;
}

int sqlite_console_minutes(struct store_tx *c, int64_t since_ms,
			   void (*cb)(int64_t minute_ms, int state,
				      int64_t count, void *arg),
			   void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_CONSOLE_MINUTES];
	int rc;

	sqlite3_bind_int64(st, 1, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1),
		   sqlite3_column_int64(st, 2), arg);
	return rows_done(c, st, rc, "console minutes");
}

int sqlite_console_prefixes(struct store_tx *c, int64_t since_ms, int digits,
			    int limit,
			    void (*cb)(const char *prefix, int64_t requests,
				       int64_t verified, void *arg),
			    void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_CONSOLE_PREFIXES];
	char prefix[16];
	int rc;

	sqlite3_bind_int64(st, 1, since_ms);
	sqlite3_bind_int(st, 2, digits);
	sqlite3_bind_int(st, 3, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite_get_text(st, 0, prefix, sizeof(prefix));
		cb(prefix, sqlite3_column_int64(st, 1),
		   sqlite3_column_int64(st, 2), arg);
	}
	return rows_done(c, st, rc, "console prefixes");
}

int sqlite_console_recent(struct store_tx *c, int limit,
			  void (*cb)(const struct store_recent *r, void *arg),
			  void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_CONSOLE_RECENT];
	struct store_recent r;
	int rc;

	sqlite3_bind_int(st, 1, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = sqlite3_column_int64(st, 0);
		sqlite_get_text(st, 1, r.request_id, sizeof(r.request_id));
		sqlite_get_text(st, 2, r.number, sizeof(r.number));
		r.state = sqlite3_column_int(st, 3);
		r.workflow_id = sqlite3_column_int(st, 4);
		r.created_ms = sqlite3_column_int64(st, 5);
		r.finalized_ms = sqlite3_column_int64(st, 6);
		sqlite_get_text(st, 7, r.api_key, sizeof(r.api_key));
		cb(&r, arg);
	}
	return rows_done(c, st, rc, "console recent");
}

int sqlite_calls_foreach(struct store_tx *c, int64_t verification_id,
			 void (*cb)(const struct vf_call *cl,
				    int64_t created_ms, void *arg),
			 void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_CALL_LIST];
	struct vf_call cl;
	int rc;

	sqlite3_bind_int64(st, 1, verification_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&cl, 0, sizeof(cl));
		sqlite_get_text(st, 0, cl.sid, sizeof(cl.sid));
		cl.verification_id = sqlite3_column_int64(st, 1);
		cl.step = sqlite3_column_int(st, 2);
		cl.repeats = sqlite3_column_int(st, 3);
		sqlite_get_text(st, 4, cl.outcome, sizeof(cl.outcome));
		sqlite_get_text(st, 5, cl.status, sizeof(cl.status));
		cl.duration = sqlite3_column_int(st, 6);
		cb(&cl, sqlite3_column_int64(st, 7), arg);
	}
	return rows_done(c, st, rc, "list calls");
}
