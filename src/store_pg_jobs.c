/*
 * Delivery jobs in the PostgreSQL backend: insert, claim with a lease,
 * finish, retry, cancel, and bring a step forward.  Many nodes claim from
 * one table: a claim skips the rows another node's transaction holds
 * (FOR UPDATE SKIP LOCKED), and whatever makes a job due sooner tells every
 * node's job runner (pg_notify, delivered when the transaction commits)
 * unless this node's own can start it (store_jobs_wake_others()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store_pg.h"
#include "util.h"

static const char sql_insert[] =
	"WITH j AS (INSERT INTO jobs (kind, verification_id, step, due_ms, "
	"created_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id) "
	"SELECT " PG_NOTIFY_WHEN("$6::int = 1") " FROM j";
static const char sql_cancel[] = "UPDATE jobs SET state = 3, done_ms = $2 "
				 "WHERE " PG_PENDING_OF;
/* A leased job (lease_until_ms set) is in flight: left alone. */
static const char sql_step_now[] =
	"WITH j AS (UPDATE jobs SET due_ms = $2 WHERE " PG_PENDING_OF
	" AND kind = 'step' AND due_ms > $2 AND "
	"lease_until_ms = 0 RETURNING id), "
	"n AS (SELECT pg_notify(" PG_JOBS_CHANNEL ", '') FROM j "
	"WHERE $3::int = 1 LIMIT 1) "
	"SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM n)";
static const char sql_pending[] = "SELECT count(*) FROM jobs WHERE state = 0";
/*
 * The earliest due job that no other transaction holds, leased: a leased
 * job is pending with due_ms moved to its lease's end, so it is claimed
 * again, by any node, only once the lease has run out.  The materialized
 * CTE locks exactly the one row the UPDATE then changes.  Returns the due
 * time it had before the lease.
 * The job's verification is locked with it, and a job whose verification
 * another transaction holds is passed over: the claim goes on to lock the
 * verification anyway, and a writer that holds it (a check ending it)
 * goes on to cancel its jobs, so waiting for it while holding the job
 * would deadlock the two.
 */
static const char sql_claim[] =
	"WITH c AS MATERIALIZED (SELECT j.id, j.due_ms FROM jobs j JOIN "
	"verifications v ON v.id = j.verification_id WHERE j.state = 0 AND "
	"j.due_ms <= $1 ORDER BY j.due_ms LIMIT 1 "
	"FOR UPDATE OF j, v SKIP LOCKED) "
	"UPDATE jobs j SET due_ms = $2, lease_until_ms = $2, "
	"attempts = j.attempts + 1 FROM c WHERE j.id = c.id "
	"RETURNING j.id, j.kind, j.verification_id, j.step, c.due_ms, "
	"j.attempts";
/*
 * A worker's report, only under its lease $5 (no row: the lease ran out
 * and another node claimed the job).  The row lock the UPDATE takes makes
 * the test hold against a claim committing meanwhile: the lease is
 * re-read from the row's latest version.  Only a pending job changes; one
 * that ended under the lease is rewritten as it was, so it still counts.
 */
static const char sql_done[] =
	"WITH j AS (UPDATE jobs SET state = CASE WHEN state = 0 THEN $2 ELSE "
	"state END, done_ms = CASE WHEN state = 0 THEN $3 ELSE done_ms END, "
	"last_error = CASE WHEN state = 0 THEN $4 ELSE last_error END "
	"WHERE id = $1 AND lease_until_ms = $5 RETURNING id) "
	"SELECT count(*) FROM j";
static const char sql_retry[] =
	"WITH j AS (UPDATE jobs SET due_ms = CASE WHEN state = 0 THEN $2 ELSE "
	"due_ms END, last_error = CASE WHEN state = 0 THEN $3 ELSE last_error "
	"END, lease_until_ms = CASE WHEN state = 0 THEN 0 ELSE lease_until_ms "
	"END WHERE id = $1 AND lease_until_ms = $4 RETURNING state), "
	"n AS (SELECT pg_notify(" PG_JOBS_CHANNEL
	", '') FROM j WHERE state = 0 AND $5::int = 1) "
	"SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM n)";
static const char sql_next_due[] = "SELECT due_ms FROM jobs WHERE state = 0 "
				   "ORDER BY due_ms LIMIT 1";

int pg_job_insert(struct store_tx *c, const char *kind, int64_t verification_id,
		  int step, int64_t due_ms)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, kind);
	pg_param_int(&p, verification_id);
	pg_param_int(&p, step);
	pg_param_int(&p, due_ms);
	pg_param_int(&p, now_ms());
	pg_param_int(&p, store_jobs_wake_others());
	return pg_run(c, sql_insert, &p, "insert job");
}

int pg_jobs_cancel(struct store_tx *c, int64_t verification_id, int64_t now)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, verification_id);
	pg_param_int(&p, now);
	return pg_run(c, sql_cancel, &p, "cancel jobs");
}

int pg_job_step_now(struct store_tx *c, int64_t verification_id, int64_t now,
		    int *moved)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, verification_id);
	pg_param_int(&p, now);
	pg_param_int(&p, store_jobs_wake_others());
	rc = pg_row(c, sql_step_now, &p, &res, "job step now");
	if (moved)
		*moved = rc == 0 ? (int)pg_get_int(res, 0, 0) : 0;
	PQclear(res);
	return rc;
}

int pg_jobs_pending(struct store_tx *c, int64_t *count)
{
	return pg_int_row(c, sql_pending, NULL, count, "count jobs");
}

int pg_job_claim(struct store_tx *c, int64_t now, int64_t lease_until,
		 struct vf_job *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, now);
	pg_param_int(&p, lease_until);
	rc = pg_row(c, sql_claim, &p, &res, "claim job");
	if (rc == 0) {
		memset(out, 0, sizeof(*out));
		out->id = pg_get_int(res, 0, 0);
		pg_get_text(res, 0, 1, out->kind, sizeof(out->kind));
		out->verification_id = pg_get_int(res, 0, 2);
		out->step = (int)pg_get_int(res, 0, 3);
		out->due_ms = pg_get_int(res, 0, 4);
		out->attempts = (int)pg_get_int(res, 0, 5);
	}
	PQclear(res);
	return rc;
}

/* Runs a job report; KV_ENOTFOUND when the lease was not the caller's. */
static int job_report(struct store_tx *c, const char *sql,
		      const struct pg_params *p, const char *what)
{
	PGresult *res = NULL;
	int rc = pg_row(c, sql, p, &res, what);

	if (rc == 0 && pg_get_int(res, 0, 0) == 0)
		rc = KV_ENOTFOUND;
	PQclear(res);
	return rc;
}

int pg_job_done(struct store_tx *c, int64_t id, int64_t lease_until, int state,
		const char *error, int64_t now)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, id);
	pg_param_int(&p, state);
	pg_param_int(&p, now);
	pg_param_text(&p, error ? error : "");
	pg_param_int(&p, lease_until);
	return job_report(c, sql_done, &p, "finish job");
}

int pg_job_retry(struct store_tx *c, int64_t id, int64_t lease_until,
		 int64_t due_ms, const char *error)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, id);
	pg_param_int(&p, due_ms);
	pg_param_text(&p, error ? error : "");
	pg_param_int(&p, lease_until);
	pg_param_int(&p, store_jobs_wake_others());
	return job_report(c, sql_retry, &p, "retry job");
}

int pg_job_next_due(struct store_tx *c, int64_t *due_ms)
{
	return pg_int_row(c, sql_next_due, NULL, due_ms, "next job");
}
