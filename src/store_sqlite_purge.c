/*
 * The background purge's batches (store_purge_batch).  Verifications,
 * checks and events are walked `limit` rows at a time in id order, oldest
 * first, from where the last batch stopped, so a batch reads a bounded
 * range however many rows before it were kept or blanked, and the writer
 * runs the requests' writes between batches.
 * A verification's rows go before the verification, in the same
 * transaction, so the foreign keys hold at every statement.  Statements
 * are prepared per batch: a batch runs every few seconds at most, and the
 * connection's own statement table stays the requests'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "store_shared.h"
#include "store_sqlite.h"

/*
 * Finished (state 0 is IN PROGRESS) before the cut-off, counting from the
 * end when it was recorded, else from the expiry; never one whose number
 * is still verified for its key, so that stays answerable.
 */
static const char sql_select[] =
	"SELECT id FROM verifications v WHERE v.id > ?4 AND v.id <= ?5"
	" AND v.state != 0"
	" AND (CASE WHEN v.finalized_ms > 0 THEN v.finalized_ms"
	" ELSE v.expires_ms END) < ?1"
	" AND NOT EXISTS (SELECT 1 FROM verified_numbers n"
	" WHERE n.key_id = v.key_id AND n.number = v.number"
	" AND n.verified_ms >= ?2)"
	" ORDER BY v.id LIMIT ?3";

/*
 * The window a batch looks at: the next ?2 rows of a table after id ?1, by
 * the primary key, its last id and its earliest creation.  Ids grow with
 * creation time, so once a window starts past the cut-off no later row can
 * be older than it.
 */
static const char sql_window_verifications[] =
	"SELECT max(id), min(created_ms) FROM (SELECT id, created_ms"
	" FROM verifications WHERE id > ?1 ORDER BY id LIMIT ?2)";
static const char sql_window_checks[] =
	"SELECT max(id), min(created_ms) FROM (SELECT id, created_ms"
	" FROM checks WHERE id > ?1 ORDER BY id LIMIT ?2)";
static const char sql_window_events[] =
	"SELECT max(id), min(created_ms) FROM (SELECT id, created_ms"
	" FROM events WHERE id > ?1 ORDER BY id LIMIT ?2)";

/* A verification's rows, children first, the verification last. */
static const char *const sql_remove[] = {
	"DELETE FROM checks WHERE verification_id = ?1",
	"DELETE FROM events WHERE verification_id = ?1",
	"DELETE FROM calls WHERE verification_id = ?1",
	"DELETE FROM jobs WHERE verification_id = ?1",
	"DELETE FROM callbacks WHERE verification_id = ?1",
	"DELETE FROM fraud_reports WHERE verification_id = ?1",
	"DELETE FROM verifications WHERE id = ?1",
};

static const char sql_verified[] =
	"DELETE FROM verified_numbers WHERE (key_id, number) IN"
	" (SELECT key_id, number FROM verified_numbers"
	" WHERE verified_ms < ?1 LIMIT ?2)";
/* Within a window: ids ?2 (excluded) to ?3, made before ?1. */
static const char sql_addresses[] =
	"UPDATE checks SET ip = '' WHERE id > ?2 AND id <= ?3"
	" AND created_ms < ?1 AND ip != ''";
static const char sql_events[] =
	"DELETE FROM events WHERE id > ?2 AND id <= ?3 AND created_ms < ?1";

/*
 * The window after id `after` of `limit` rows (window_sql): *last is its
 * last id and *more 1 when it holds rows made before `cutoff`; else *last
 * stays `after` and *more 0 (nothing older is left past it).
 */
static int purge_window(struct store_tx *c, const char *window_sql,
			int64_t after, int limit, int64_t cutoff, int64_t *last,
			int *more)
{
	sqlite3_stmt *win = NULL;
	int rc = 0;

	*last = after;
	*more = 0;
	if (sqlite3_prepare_v2(c->db, window_sql, -1, &win, NULL) !=
	    SQLITE_OK) {
		rc = sqlite_fail(c, "prepare purge");
		goto out;
	}
	sqlite3_bind_int64(win, 1, after);
	sqlite3_bind_int(win, 2, limit);
	if (sqlite3_step(win) != SQLITE_ROW) {
		rc = sqlite_fail(c, "purge window");
		goto out;
	}
	if (sqlite3_column_type(win, 0) != SQLITE_NULL &&
	    sqlite3_column_int64(win, 1) < cutoff) {
		*last = sqlite3_column_int64(win, 0);
		*more = 1;
	}
out:
	sqlite3_finalize(win);
	return rc;
}

/*
 * Runs range_sql (cut-off, from, to) over the window after `after` of
 * `limit` rows; *changed: the rows it touched.
 */
static int purge_range(struct store_tx *c, const char *window_sql,
		       const char *range_sql, int64_t after, int limit,
		       int64_t cutoff, int64_t *last, int *more,
		       int64_t *changed)
{
	sqlite3_stmt *st = NULL;
	int rc = purge_window(c, window_sql, after, limit, cutoff, last, more);

	if (rc != 0 || !*more)
		return rc;
	if (sqlite3_prepare_v2(c->db, range_sql, -1, &st, NULL) != SQLITE_OK) {
		rc = sqlite_fail(c, "prepare purge");
		goto out;
	}
	sqlite3_bind_int64(st, 1, cutoff);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int64(st, 3, *last);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = sqlite_fail(c, "purge");
		goto out;
	}
	*changed = sqlite3_changes64(c->db);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Expired verified-number entries; *changed: how many went. */
static int purge_verified(struct store_tx *c, int64_t cutoff, int limit,
			  int64_t *changed)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(c->db, sql_verified, -1, &st, NULL) !=
	    SQLITE_OK) {
		rc = sqlite_fail(c, "prepare purge");
		goto out;
	}
	sqlite3_bind_int64(st, 1, cutoff);
	sqlite3_bind_int(st, 2, limit);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = sqlite_fail(c, "purge");
		goto out;
	}
	*changed = sqlite3_changes64(c->db);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Up to p->limit finished verifications, each with its rows. */
static int purge_verifications(struct store_tx *c, const struct store_purge *p,
			       struct store_purge_counts *out)
{
	sqlite3_stmt *sel = NULL;
	sqlite3_stmt *del[sizeof(sql_remove) / sizeof(sql_remove[0])] = {0};
	const size_t ndel = sizeof(del) / sizeof(del[0]);
	int64_t *ids = NULL;
	int n = 0, rc, step;

	rc = purge_window(c, sql_window_verifications, p->after_id, p->limit,
			  p->finished_before, &out->last_id, &out->more);
	if (rc != 0 || !out->more)
		return rc; /* nothing left before the cut-off */
	ids = calloc((size_t)p->limit, sizeof(*ids));
	if (!ids) {
		rc = KV_ENOMEM;
		goto out;
	}
	if (sqlite3_prepare_v2(c->db, sql_select, -1, &sel, NULL) !=
	    SQLITE_OK) {
		rc = sqlite_fail(c, "prepare purge");
		goto out;
	}
	for (size_t i = 0; i < ndel; i++)
		if (sqlite3_prepare_v2(c->db, sql_remove[i], -1, &del[i],
				       NULL) != SQLITE_OK) {
			rc = sqlite_fail(c, "prepare purge");
			goto out;
		}
	sqlite3_bind_int64(sel, 1, p->finished_before);
	sqlite3_bind_int64(sel, 2, p->verified_after);
	sqlite3_bind_int(sel, 3, p->limit);
	sqlite3_bind_int64(sel, 4, p->after_id);
	sqlite3_bind_int64(sel, 5, out->last_id);
	while (n < p->limit && (step = sqlite3_step(sel)) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(sel, 0);
	if (n < p->limit && step != SQLITE_DONE) {
		rc = sqlite_fail(c, "purge select");
		goto out;
	}
	sqlite3_reset(sel);
	for (int k = 0; k < n; k++)
		for (size_t i = 0; i < ndel; i++) {
			sqlite3_bind_int64(del[i], 1, ids[k]);
			if (sqlite3_step(del[i]) != SQLITE_DONE) {
				rc = sqlite_fail(c, "purge verification");
				goto out;
			}
			sqlite3_reset(del[i]);
		}
	out->verifications = n;
out:
	sqlite3_finalize(sel);
	for (size_t i = 0; i < ndel; i++)
		sqlite3_finalize(del[i]);
	free(ids);
	return rc;
}

/* The walks of checks and events: a window, then a range statement. */
static int purge_addresses(struct store_tx *c, int64_t after, int limit,
			   int64_t cutoff, int64_t *last, int *more,
			   int64_t *changed)
{
	return purge_range(c, sql_window_checks, sql_addresses, after, limit,
			   cutoff, last, more, changed);
}

static int purge_events(struct store_tx *c, int64_t after, int limit,
			int64_t cutoff, int64_t *last, int *more,
			int64_t *changed)
{
	return purge_range(c, sql_window_events, sql_events, after, limit,
			   cutoff, last, more, changed);
}

static const struct store_purge_steps purge_steps = {
	.verifications = purge_verifications,
	.verified = purge_verified,
	.addresses = purge_addresses,
	.events = purge_events,
};

int sqlite_purge_batch(struct store_tx *c, const struct store_purge *p,
		       struct store_purge_counts *out)
{
	return store_shared_purge_batch(c, p, out, &purge_steps);
}
