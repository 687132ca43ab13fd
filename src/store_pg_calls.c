/*
 * What else hangs off verifications in the PostgreSQL backend: IVR calls,
 * the last verified request of a number, the facts of a key that the
 * service reads while it writes, and the numbers requested recently (to
 * refill the per-number limiter at start).  Reads that a writer goes on to
 * decide from lock their row (pg_locking), as in store_pg_vf.c.
 */
#include <stdio.h>

#include "store_pg.h"

static const char sql_verified_put[] =
	"INSERT INTO verified_numbers (key_id, number, verified_ms, "
	"request_id) VALUES ($1, $2, $3, $4) ON CONFLICT (key_id, number) "
	"DO UPDATE SET verified_ms = excluded.verified_ms, "
	"request_id = excluded.request_id";
static const char sql_verified_get[] =
	"SELECT verified_ms, request_id FROM verified_numbers "
	"WHERE key_id = $1 AND number = $2";

static const char sql_call_get[] =
	"SELECT verification_id, step, repeats, outcome, status, duration "
	"FROM calls WHERE sid = $1";
static const char sql_call_get_lock[] =
	"SELECT verification_id, step, repeats, outcome, status, duration "
	"FROM calls WHERE sid = $1 FOR UPDATE";
static const char sql_call_put[] =
	"INSERT INTO calls (sid, verification_id, step, repeats, outcome, "
	"status, duration, created_ms, updated_ms) VALUES ($1, $2, $3, $4, "
	"$5, $6, $7, $8, $8) ON CONFLICT (sid) DO UPDATE SET repeats = $4, "
	"outcome = $5, status = $6, duration = $7, updated_ms = $8";

static const char sql_voice_confirm[] =
	"SELECT voice_confirm FROM api_keys WHERE id = $1";
static const char sql_missed_call[] =
	"SELECT missed_call FROM api_keys WHERE id = $1";
static const char sql_key_kind[] = "SELECT kind FROM api_keys WHERE id = $1";

/*
 * Newest first, a page of $2 (RECENT_PAGE) rows below id $1 at a time through
 * the primary key, as SQLite walks its rowids: ids grow with time (a clock
 * step back only blurs this), so the walk stops at the first row past the
 * window and reads no more than the window, however large the table.
 */
#define RECENT_PAGE 1000
static const char sql_recent[] =
	"SELECT id, number, created_ms, test_number FROM verifications "
	"WHERE id < $1 ORDER BY id DESC LIMIT $2";

int pg_verified_put(struct store_tx *c, int64_t key_id, const char *number,
		    const struct vf_verified *vr)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, key_id);
	pg_param_text(&p, number);
	pg_param_int(&p, vr->verified_ms);
	pg_param_text(&p, vr->request_id);
	return pg_run(c, sql_verified_put, &p, "put verified number");
}

int pg_verified_get(struct store_tx *c, int64_t key_id, const char *number,
		    struct vf_verified *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, key_id);
	pg_param_text(&p, number);
	rc = pg_row(c, sql_verified_get, &p, &res, "get verified number");
	if (rc == 0) {
		out->verified_ms = pg_get_int(res, 0, 0);
		pg_get_text(res, 0, 1, out->request_id,
			    sizeof(out->request_id));
	}
	PQclear(res);
	return rc;
}

int pg_call_get(struct store_tx *c, const char *sid, struct vf_call *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_text(&p, sid);
	rc = pg_row(c, pg_locking(c, sql_call_get, sql_call_get_lock), &p, &res,
		    "get call");
	if (rc == 0) {
		snprintf(out->sid, sizeof(out->sid), "%s", sid);
		out->verification_id = pg_get_int(res, 0, 0);
		out->step = (int)pg_get_int(res, 0, 1);
		out->repeats = (int)pg_get_int(res, 0, 2);
		pg_get_text(res, 0, 3, out->outcome, sizeof(out->outcome));
		pg_get_text(res, 0, 4, out->status, sizeof(out->status));
		out->duration = (int)pg_get_int(res, 0, 5);
	}
	PQclear(res);
	return rc;
}

int pg_call_put(struct store_tx *c, const struct vf_call *cr, int64_t now)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, cr->sid);
	pg_param_int(&p, cr->verification_id);
	pg_param_int(&p, cr->step);
	pg_param_int(&p, cr->repeats);
	pg_param_text(&p, cr->outcome);
	pg_param_text(&p, cr->status);
	pg_param_int(&p, cr->duration);
	pg_param_int(&p, now);
	return pg_run(c, sql_call_put, &p, "put call");
}

/* A one-column integer of one key's row into *out. */
static int key_column(struct store_tx *c, const char *sql, int64_t key_id,
		      int *out, const char *what)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, key_id);
	rc = pg_row(c, sql, &p, &res, what);
	if (rc == 0)
		*out = (int)pg_get_int(res, 0, 0);
	PQclear(res);
	return rc;
}

int pg_key_voice_confirm(struct store_tx *c, int64_t key_id, int *allowed)
{
	return key_column(c, sql_voice_confirm, key_id, allowed,
			  "key voice confirm");
}

int pg_key_missed_call(struct store_tx *c, int64_t key_id, int *on)
{
	return key_column(c, sql_missed_call, key_id, on, "key missed call");
}

int pg_key_kind(struct store_tx *c, int64_t key_id, int *kind)
{
	return key_column(c, sql_key_kind, key_id, kind, "key kind");
}

/*
 * One page of recent numbers below id *below: calls cb for each in the
 * window, moves *below to the page's last id, and sets *done when the
 * window (or the table) ends in it.
 */
static int recent_page(struct store_tx *c, int64_t since_ms, int64_t *below,
		       int *done,
		       void (*cb)(const char *number, int64_t at_ms, void *arg),
		       void *arg)
{
	struct pg_params p;
	PGresult *res = NULL;
	char number[16];
	int n, rc;

	pg_params_init(&p);
	pg_param_int(&p, *below);
	pg_param_int(&p, RECENT_PAGE);
	rc = pg_query(c, sql_recent, &p, &res, "recent numbers");
	n = rc == 0 ? PQntuples(res) : 0;
	*done = rc != 0 || n < RECENT_PAGE;
	for (int i = 0; i < n; i++) {
		int64_t at = pg_get_int(res, i, 2);

		*below = pg_get_int(res, i, 0);
		if (at <= since_ms) {
			*done = 1;
			break;
		}
		if (pg_get_int(res, i, 3))
			continue; /* test numbers are not limited */
		pg_get_text(res, i, 1, number, sizeof(number));
		cb(number, at, arg);
	}
	PQclear(res);
	return rc;
}

int pg_recent_numbers_foreach(struct store_tx *c, int64_t since_ms,
			      void (*cb)(const char *number, int64_t at_ms,
					 void *arg),
			      void *arg)
{
	int64_t below = INT64_MAX;
	int done = 0, rc = 0;

	while (rc == 0 && !done)
		rc = recent_page(c, since_ms, &below, &done, cb, arg);
	return rc;
}
