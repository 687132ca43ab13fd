/*
 * The background purge's batches (store_purge_batch) and the erasure of one
 * person's records (store_number_erase) in the PostgreSQL backend.  As with
 * SQLite, verifications, checks and events are walked `limit` rows at a
 * time in id order from where the last batch stopped, so no statement
 * reads (or locks) more than a batch's rows; a verification's rows go
 * before the verification, in the same transaction, so the foreign keys
 * hold at every statement.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_pg.h"
#include "store_shared.h"
#include "util.h"

/*
 * Finished (state 0 is IN PROGRESS) before the cut-off, counting from the
 * end when it was recorded, else from the expiry; never one whose number
 * is still verified for its key, so that stays answerable.
 */
static const char sql_select[] =
	"SELECT id FROM verifications v WHERE v.id > $4 AND v.id <= $5"
	" AND v.state != 0"
	" AND (CASE WHEN v.finalized_ms > 0 THEN v.finalized_ms"
	" ELSE v.expires_ms END) < $1"
	" AND NOT EXISTS (SELECT 1 FROM verified_numbers n"
	" WHERE n.key_id = v.key_id AND n.number = v.number"
	" AND n.verified_ms >= $2)"
	" ORDER BY v.id LIMIT $3";

/*
 * The window a batch looks at: the next $2 rows of a table after id $1, by
 * the primary key, its last id and its earliest creation.  Ids grow with
 * creation time, so once a window starts past the cut-off no later row can
 * be older than it.
 */
static const char sql_window_verifications[] =
	"SELECT max(id), min(created_ms) FROM (SELECT id, created_ms"
	" FROM verifications WHERE id > $1 ORDER BY id LIMIT $2) w";
static const char sql_window_checks[] =
	"SELECT max(id), min(created_ms) FROM (SELECT id, created_ms"
	" FROM checks WHERE id > $1 ORDER BY id LIMIT $2) w";
static const char sql_window_events[] =
	"SELECT max(id), min(created_ms) FROM (SELECT id, created_ms"
	" FROM events WHERE id > $1 ORDER BY id LIMIT $2) w";

/* The rows of the verifications $1 (an array), the verifications last. */
static const char *const sql_remove[] = {
	"DELETE FROM checks WHERE verification_id = ANY ($1::bigint[])",
	"DELETE FROM events WHERE verification_id = ANY ($1::bigint[])",
	"DELETE FROM calls WHERE verification_id = ANY ($1::bigint[])",
	"DELETE FROM jobs WHERE verification_id = ANY ($1::bigint[])",
	"DELETE FROM callbacks WHERE verification_id = ANY ($1::bigint[])",
	"DELETE FROM fraud_reports WHERE verification_id = ANY ($1::bigint[])",
	"DELETE FROM verifications WHERE id = ANY ($1::bigint[])",
};

static const char sql_verified[] =
	"DELETE FROM verified_numbers WHERE (key_id, number) IN"
	" (SELECT key_id, number FROM verified_numbers"
	" WHERE verified_ms < $1 LIMIT $2)";
/* Within a window: ids $2 (excluded) to $3, made before $1. */
static const char sql_addresses[] =
	"UPDATE checks SET ip = '' WHERE id > $2 AND id <= $3"
	" AND created_ms < $1 AND ip != ''";
static const char sql_events[] =
	"DELETE FROM events WHERE id > $2 AND id <= $3 AND created_ms < $1";

/*
 * The deletions of an erasure, in order, and where each count goes.  The
 * rows of a verification go first (they reference it), then the
 * verifications, then the rows that name the number without a
 * verification of its own key.
 */
static const struct {
	const char *sql;
	size_t field;
} erase_steps[] = {
	{"DELETE FROM checks WHERE verification_id IN "
	 "(SELECT id FROM verifications WHERE number = $1)",
	 offsetof(struct store_erase_counts, checks)},
	{"DELETE FROM events WHERE verification_id IN "
	 "(SELECT id FROM verifications WHERE number = $1)",
	 offsetof(struct store_erase_counts, events)},
	{"DELETE FROM calls WHERE verification_id IN "
	 "(SELECT id FROM verifications WHERE number = $1)",
	 offsetof(struct store_erase_counts, calls)},
	{"DELETE FROM jobs WHERE verification_id IN "
	 "(SELECT id FROM verifications WHERE number = $1)",
	 offsetof(struct store_erase_counts, jobs)},
	{"DELETE FROM callbacks WHERE verification_id IN "
	 "(SELECT id FROM verifications WHERE number = $1)",
	 offsetof(struct store_erase_counts, callbacks)},
	{"DELETE FROM fraud_reports WHERE number = $1 OR verification_id IN "
	 "(SELECT id FROM verifications WHERE number = $1)",
	 offsetof(struct store_erase_counts, fraud_reports)},
	{"DELETE FROM verifications WHERE number = $1",
	 offsetof(struct store_erase_counts, verifications)},
	{"DELETE FROM verified_numbers WHERE number = $1",
	 offsetof(struct store_erase_counts, verified_numbers)},
};

/* Runs a statement that changes rows; *changed (may be NULL): how many. */
static int purge_exec(struct store_tx *c, const char *sql,
		      const struct pg_params *p, int64_t *changed,
		      const char *what)
{
	PGresult *res = NULL;
	int rc = pg_query(c, sql, p, &res, what);

	if (rc == 0 && changed)
		*changed = pg_changed(res);
	PQclear(res);
	return rc;
}

/* Expired verified-number entries; *changed: how many went. */
static int purge_verified(struct store_tx *c, int64_t cutoff, int limit,
			  int64_t *changed)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, cutoff);
	pg_param_int(&p, limit);
	return purge_exec(c, sql_verified, &p, changed, "purge");
}

/*
 * The window after id `after` of `limit` rows (window_sql): *last is its
 * last id and *more 1 when it holds rows made before `cutoff`; else *last
 * stays `after` and *more 0 (nothing older is left past it).
 */
static int purge_window(struct store_tx *c, const char *window_sql,
			int64_t after, int limit, int64_t cutoff, int64_t *last,
			int *more)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	*last = after;
	*more = 0;
	pg_params_init(&p);
	pg_param_int(&p, after);
	pg_param_int(&p, limit);
	rc = pg_row(c, window_sql, &p, &res, "purge window");
	if (rc == KV_ENOTFOUND)
		rc = KV_EDB; /* an aggregate always returns its row */
	if (rc == 0 && !PQgetisnull(res, 0, 0) &&
	    pg_get_int(res, 0, 1) < cutoff) {
		*last = pg_get_int(res, 0, 0);
		*more = 1;
	}
	PQclear(res);
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
	struct pg_params p;
	int rc = purge_window(c, window_sql, after, limit, cutoff, last, more);

	if (rc != 0 || !*more)
		return rc;
	pg_params_init(&p);
	pg_param_int(&p, cutoff);
	pg_param_int(&p, after);
	pg_param_int(&p, *last);
	return purge_exec(c, range_sql, &p, changed, "purge");
}

/*
 * The ids of a result's first column as an array literal ("{1,2,3}") in a
 * buffer the caller frees; NULL when out of memory.
 */
static char *ids_array(PGresult *res)
{
	int n = PQntuples(res);
	size_t cap = (size_t)n * 21 + 3, len = 1;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	s[0] = '{';
	for (int i = 0; i < n; i++) {
		int w = snprintf(s + len, cap - len, "%s%lld", i ? "," : "",
				 (long long)pg_get_int(res, i, 0));

		if (w < 0 || (size_t)w >= cap - len) {
			free(s);
			return NULL;
		}
		len += (size_t)w;
	}
	snprintf(s + len, cap - len, "}");
	return s;
}

/* Up to p->limit finished verifications, each with its rows. */
static int purge_verifications(struct store_tx *c, const struct store_purge *p,
			       struct store_purge_counts *out)
{
	struct pg_params q;
	PGresult *res = NULL;
	char *ids = NULL;
	int rc;

	rc = purge_window(c, sql_window_verifications, p->after_id, p->limit,
			  p->finished_before, &out->last_id, &out->more);
	if (rc != 0 || !out->more)
		return rc; /* nothing left before the cut-off */
	pg_params_init(&q);
	pg_param_int(&q, p->finished_before);
	pg_param_int(&q, p->verified_after);
	pg_param_int(&q, p->limit);
	pg_param_int(&q, p->after_id);
	pg_param_int(&q, out->last_id);
	rc = pg_query(c, sql_select, &q, &res, "purge select");
	if (rc != 0 || PQntuples(res) == 0)
		goto out;
	ids = ids_array(res);
	if (!ids) {
		rc = KV_ENOMEM;
		goto out;
	}
	pg_params_init(&q);
	pg_param_text(&q, ids);
	for (size_t i = 0; rc == 0 && i < ARRAY_LEN(sql_remove); i++)
		rc = purge_exec(c, sql_remove[i], &q,
				i + 1 == ARRAY_LEN(sql_remove)
					? &out->verifications
					: NULL,
				"purge verification");
out:
	PQclear(res);
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

int pg_purge_batch(struct store_tx *c, const struct store_purge *p,
		   struct store_purge_counts *out)
{
	return store_shared_purge_batch(c, p, out, &purge_steps);
}

int pg_number_erase(struct store_tx *c, const char *number, const char *tag,
		    struct store_erase_counts *out)
{
	static const char sql_erase_backoff[] =
		"DELETE FROM resend_backoff WHERE tag = $1";
	struct pg_params p, pt;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pg_params_init(&p);
	pg_param_text(&p, number);
	for (size_t i = 0; rc == 0 && i < ARRAY_LEN(erase_steps); i++)
		rc = purge_exec(c, erase_steps[i].sql, &p,
				(int64_t *)((char *)out + erase_steps[i].field),
				"erase number");
	pg_params_init(&pt);
	pg_param_text(&pt, tag);
	if (rc == 0)
		rc = purge_exec(c, sql_erase_backoff, &pt,
				&out->resend_backoffs, "erase number");
	return rc;
}
