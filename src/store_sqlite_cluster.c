/*
 * The cluster operations of store.h in the SQLite backend: readiness, the
 * store's claimed settings (meta), token buckets and conversion statistics
 * in tables.  One process owns a SQLite store, so the service keeps its
 * limits and statistics in memory and uses the last two only in tests; the
 * statements are prepared per call rather than kept with the connection.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "store_sqlite.h"

/*
 * Prepares `sql` on c (a statement of this file runs rarely, so it is not
 * kept).  Returns 0 or the error sqlite_fail() maps.
 */
static int cluster_prepare(struct store_tx *c, const char *sql,
			   sqlite3_stmt **st, const char *what)
{
	*st = NULL;
	if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
		return sqlite_fail(c, what);
	return 0;
}

/* Steps st to its end (no row wanted) and finalizes it. */
static int cluster_finish(struct store_tx *c, sqlite3_stmt *st,
			  const char *what)
{
	int rc = sqlite3_step(st);

	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sqlite_fail(c, what);
	sqlite3_finalize(st);
	return rc;
}

int sqlite_ping(void)
{
	struct store_tx *c = sqlite_reader();
	sqlite3_stmt *st = NULL;
	int rc;

	if (!c)
		return KV_EDB;
	/* A read of a table: the schema and a page, not just the engine. */
	rc = cluster_prepare(c, "SELECT count(*) FROM meta", &st, "ping");
	if (rc == 0)
		rc = cluster_finish(c, st, "ping");
	return rc;
}

int sqlite_meta_claim(struct store_tx *c, const char *name, const char *value,
		      char *stored, size_t storedlen)
{
	char cur[128] = "";
	sqlite3_stmt *st = NULL;
	int rc;

	rc = cluster_prepare(c,
			     "INSERT INTO meta (name, value) VALUES (?, ?) "
			     "ON CONFLICT (name) DO NOTHING",
			     &st, "claim setting");
	if (rc != 0)
		return rc;
	sqlite_bind_text(st, 1, name);
	sqlite_bind_text(st, 2, value);
	rc = cluster_finish(c, st, "claim setting");
	if (rc == 0)
		rc = cluster_prepare(c, "SELECT value FROM meta WHERE name = ?",
				     &st, "read setting");
	if (rc != 0)
		return rc;
	sqlite_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		sqlite_get_text(st, 0, cur, sizeof(cur));
	rc = rc == SQLITE_ROW ? 0 : sqlite_fail(c, "read setting");
	sqlite3_finalize(st);
	if (rc != 0)
		return rc;
	if (stored && storedlen)
		snprintf(stored, storedlen, "%s", cur);
	return strcmp(cur, value) == 0 ? 0 : KV_EDUP;
}

/*
 * Token buckets as GCRA: a bucket is the time (µs) at which it would be
 * full again, `tat`; a take is allowed while tat - now stays within the
 * burst's tolerance and moves tat one emission interval on.  The same as
 * a bucket of `count` tokens refilled at count per period.
 */
int sqlite_limit_take(struct store_tx *c, const char *name, const char *key,
		      int count, int period_s, int64_t now_ms, int *wait_s)
{
	int64_t now_us = now_ms * 1000;
	int64_t step_us = (int64_t)period_s * 1000000 / count;
	int64_t tol_us = (int64_t)period_s * 1000000 - step_us;
	sqlite3_stmt *st = NULL;
	int rc;

	*wait_s = 0;
	rc = cluster_prepare(
		c,
		"INSERT INTO limits (name, key, tat_us) VALUES (?1, ?2, ?3 + ?4) "
		"ON CONFLICT (name, key) DO UPDATE SET "
		"tat_us = max(tat_us, ?3) + ?4 "
		"WHERE max(tat_us, ?3) - ?3 <= ?5 RETURNING tat_us",
		&st, "take from bucket");
	if (rc != 0)
		return rc;
	sqlite_bind_text(st, 1, name);
	sqlite_bind_text(st, 2, key);
	sqlite3_bind_int64(st, 3, now_us);
	sqlite3_bind_int64(st, 4, step_us);
	sqlite3_bind_int64(st, 5, tol_us);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sqlite_fail(c, "take from bucket");
	/* Refused: the bucket is untouched; say how long until a token. */
	rc = cluster_prepare(c,
			     "SELECT tat_us FROM limits WHERE name = ? AND "
			     "key = ?",
			     &st, "read bucket");
	if (rc != 0)
		return rc;
	sqlite_bind_text(st, 1, name);
	sqlite_bind_text(st, 2, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int64_t tat = sqlite3_column_int64(st, 0);

		*wait_s = (int)((tat - now_us - tol_us) / 1000000) + 1;
	}
	rc = rc == SQLITE_ROW ? 0 : sqlite_fail(c, "read bucket");
	sqlite3_finalize(st);
	return rc;
}

int sqlite_prefix_stats_add(struct store_tx *c, const char *prefix,
			    int64_t scope, int64_t window_ms, int requests,
			    int successes, int64_t *total_requests,
			    int64_t *total_successes)
{
	sqlite3_stmt *st = NULL;
	int rc = cluster_prepare(
		c,
		"INSERT INTO prefix_stats (scope, prefix, window_ms, requests, "
		"successes) VALUES (?, ?, ?, ?, ?) "
		"ON CONFLICT (scope, prefix) DO UPDATE SET "
		"requests = CASE WHEN window_ms >= excluded.window_ms "
		"THEN requests + excluded.requests ELSE excluded.requests END, "
		"successes = CASE WHEN window_ms >= excluded.window_ms "
		"THEN successes + excluded.successes "
		"ELSE excluded.successes END, "
		"window_ms = max(window_ms, excluded.window_ms) "
		"RETURNING requests, successes",
		&st, "count prefix");

	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st, 1, scope);
	sqlite_bind_text(st, 2, prefix);
	sqlite3_bind_int64(st, 3, window_ms);
	sqlite3_bind_int(st, 4, requests);
	sqlite3_bind_int(st, 5, successes);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (total_requests)
			*total_requests = sqlite3_column_int64(st, 0);
		if (total_successes)
			*total_successes = sqlite3_column_int64(st, 1);
	}
	rc = rc == SQLITE_ROW ? 0 : sqlite_fail(c, "count prefix");
	sqlite3_finalize(st);
	return rc;
}

int sqlite_backoff_get(struct store_tx *c, int64_t key_id, const char *tag,
		       struct resend_backoff *b)
{
	sqlite3_stmt *st = NULL;
	int rc = cluster_prepare(c,
				 "SELECT count, last_ms, next_ms FROM "
				 "resend_backoff WHERE key_id = ? AND tag = ?",
				 &st, "read resend backoff");

	memset(b, 0, sizeof(*b));
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st, 1, key_id);
	sqlite_bind_text(st, 2, tag);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		b->count = sqlite3_column_int(st, 0);
		b->last_ms = sqlite3_column_int64(st, 1);
		b->next_ms = sqlite3_column_int64(st, 2);
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE
		     ? 0
		     : sqlite_fail(c, "read resend backoff");
	sqlite3_finalize(st);
	return rc;
}

int sqlite_backoff_put(struct store_tx *c, int64_t key_id, const char *tag,
		       const struct resend_backoff *b)
{
	sqlite3_stmt *st = NULL;
	int rc = cluster_prepare(
		c,
		"INSERT INTO resend_backoff (key_id, tag, count, last_ms, "
		"next_ms) VALUES (?, ?, ?, ?, ?) "
		"ON CONFLICT (key_id, tag) DO UPDATE SET "
		"count = excluded.count, last_ms = excluded.last_ms, "
		"next_ms = excluded.next_ms",
		&st, "store resend backoff");

	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st, 1, key_id);
	sqlite_bind_text(st, 2, tag);
	sqlite3_bind_int(st, 3, b->count);
	sqlite3_bind_int64(st, 4, b->last_ms);
	sqlite3_bind_int64(st, 5, b->next_ms);
	return cluster_finish(c, st, "store resend backoff");
}

int sqlite_backoff_sweep(struct store_tx *c, int64_t before_ms, int64_t now_ms,
			 int64_t *deleted)
{
	sqlite3_stmt *st = NULL;
	int rc = cluster_prepare(c,
				 "DELETE FROM resend_backoff WHERE "
				 "last_ms < ? AND next_ms < ?",
				 &st, "sweep resend backoffs");

	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st, 1, before_ms);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = cluster_finish(c, st, "sweep resend backoffs");
	if (deleted)
		*deleted = sqlite3_changes(c->db);
	return rc;
}

int sqlite_cluster_sweep(struct store_tx *c, int64_t before_ms,
			 int64_t stats_before_ms, int64_t *deleted)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int rc = cluster_prepare(c, "DELETE FROM limits WHERE tat_us < ?", &st,
				 "sweep buckets");

	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st, 1, before_ms * 1000);
	rc = cluster_finish(c, st, "sweep buckets");
	n += sqlite3_changes(c->db);
	if (rc == 0)
		rc = cluster_prepare(c,
				     "DELETE FROM prefix_stats WHERE "
				     "window_ms < ?",
				     &st, "sweep statistics");
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st, 1, stats_before_ms);
	rc = cluster_finish(c, st, "sweep statistics");
	n += sqlite3_changes(c->db);
	if (deleted)
		*deleted = n;
	return rc;
}
