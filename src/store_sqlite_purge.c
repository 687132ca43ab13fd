/*
 * The background purge's batches (store_purge_batch).  Each kind of record
 * is taken `limit` rows at a time in id order, oldest first, so a batch
 * stays short and the writer runs the requests' writes between batches.
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
 * The window a batch looks at: the next ?2 verifications after id ?1, by
 * the primary key, its last id and its earliest creation.  Ids grow with
 * creation time, so once a window starts past the cut-off no later row can
 * have finished before it.
 */
static const char sql_window[] =
	"SELECT max(id), min(created_ms) FROM (SELECT id, created_ms"
	" FROM verifications WHERE id > ?1 ORDER BY id LIMIT ?2)";

/* A verification's rows, children first, the verification last. */
static const char *const sql_remove[] = {
	"DELETE FROM checks WHERE verification_id = ?1",
	"DELETE FROM events WHERE verification_id = ?1",
	"DELETE FROM calls WHERE verification_id = ?1",
	"DELETE FROM jobs WHERE verification_id = ?1",
	"DELETE FROM fraud_reports WHERE verification_id = ?1",
	"DELETE FROM verifications WHERE id = ?1",
};

static const char sql_verified[] =
	"DELETE FROM verified_numbers WHERE (key_id, number) IN"
	" (SELECT key_id, number FROM verified_numbers"
	" WHERE verified_ms < ?1 LIMIT ?2)";
static const char sql_addresses[] =
	"UPDATE checks SET ip = '' WHERE id IN (SELECT id FROM checks"
	" WHERE ip != '' AND created_ms < ?1 ORDER BY id LIMIT ?2)";
static const char sql_events[] =
	"DELETE FROM events WHERE id IN (SELECT id FROM events"
	" WHERE created_ms < ?1 ORDER BY id LIMIT ?2)";

/* Runs one statement with (cutoff, limit); *changed: rows it touched. */
static int purge_run(struct store_tx *c, const char *sql, int64_t cutoff,
		     int limit, int64_t *changed)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
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
	sqlite3_stmt *sel = NULL, *win = NULL;
	sqlite3_stmt *del[sizeof(sql_remove) / sizeof(sql_remove[0])] = {0};
	const size_t ndel = sizeof(del) / sizeof(del[0]);
	int64_t *ids = calloc((size_t)p->limit, sizeof(*ids));
	int n = 0, rc = 0, step;

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
	if (sqlite3_prepare_v2(c->db, sql_window, -1, &win, NULL) !=
	    SQLITE_OK) {
		rc = sqlite_fail(c, "prepare purge");
		goto out;
	}
	sqlite3_bind_int64(win, 1, p->after_id);
	sqlite3_bind_int(win, 2, p->limit);
	if (sqlite3_step(win) != SQLITE_ROW) {
		rc = sqlite_fail(c, "purge window");
		goto out;
	}
	out->last_id = p->after_id;
	if (sqlite3_column_type(win, 0) == SQLITE_NULL ||
	    sqlite3_column_int64(win, 1) >= p->finished_before)
		goto out; /* nothing left before the cut-off */
	out->last_id = sqlite3_column_int64(win, 0);
	out->more = 1;
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
	sqlite3_finalize(win);
	sqlite3_finalize(sel);
	for (size_t i = 0; i < ndel; i++)
		sqlite3_finalize(del[i]);
	free(ids);
	return rc;
}

int sqlite_purge_batch(struct store_tx *c, const struct store_purge *p,
		       struct store_purge_counts *out)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (p->limit <= 0)
		return KV_EINVAL;
	if (p->finished_before > 0) {
		rc = purge_verifications(c, p, out);
		if (rc != 0)
			return rc;
	}
	/* Expired entries answer nothing; kept only if verifications are. */
	if (p->finished_before > 0 && p->verified_after > 0) {
		rc = purge_run(c, sql_verified, p->verified_after, p->limit,
			       &out->verified_numbers);
		if (rc != 0)
			return rc;
	}
	if (p->addresses_before > 0) {
		rc = purge_run(c, sql_addresses, p->addresses_before, p->limit,
			       &out->addresses);
		if (rc != 0)
			return rc;
	}
	if (p->events_before > 0)
		rc = purge_run(c, sql_events, p->events_before, p->limit,
			       &out->events);
	return rc;
}
