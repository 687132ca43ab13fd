/*
 * Delivery jobs in the SQLite backend: insert, claim with a lease, finish,
 * retry, cancel, and bring a step forward.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "err.h"
#include "log.h"
#include "store_sqlite.h"
#include "util.h"

int sqlite_job_insert(struct store_tx *c, const char *kind,
		      int64_t verification_id, int step, int64_t due_ms)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_INSERT];

	sqlite_bind_text(st, 1, kind);
	sqlite3_bind_int64(st, 2, verification_id);
	sqlite3_bind_int(st, 3, step);
	sqlite3_bind_int64(st, 4, due_ms);
	sqlite3_bind_int64(st, 5, now_ms());
	return sqlite_run(c, STMT_JOB_INSERT, "insert job");
}

int sqlite_jobs_cancel(struct store_tx *c, int64_t verification_id, int64_t now)
{
	sqlite3_stmt *st = c->stmt[STMT_JOBS_CANCEL];

	sqlite3_bind_int64(st, 1, verification_id);
	sqlite3_bind_int64(st, 2, now);
	return sqlite_run(c, STMT_JOBS_CANCEL, "cancel jobs");
}

int sqlite_job_step_now(struct store_tx *c, int64_t verification_id,
			int64_t now, int *moved)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_STEP_NOW];
	int rc;

	sqlite3_bind_int64(st, 1, verification_id);
	sqlite3_bind_int64(st, 2, now);
	rc = sqlite_run(c, STMT_JOB_STEP_NOW, "job step now");
	if (moved)
		*moved = rc == 0 ? sqlite3_changes(c->db) : 0;
	return rc;
}

int sqlite_jobs_pending(struct store_tx *c, int64_t *count)
{
	sqlite3_stmt *st = c->stmt[STMT_JOBS_PENDING];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(st, 0);
	return sqlite_row_done(c, st, rc, "count jobs");
}

int sqlite_job_claim(struct store_tx *c, int64_t now, int64_t lease_until,
		     struct vf_job *out)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_CLAIM];
	int rc;

	sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		sqlite_get_text(st, 1, out->kind, sizeof(out->kind));
		out->verification_id = sqlite3_column_int64(st, 2);
		out->step = sqlite3_column_int(st, 3);
		out->due_ms = sqlite3_column_int64(st, 4);
		out->attempts = sqlite3_column_int(st, 5);
	}
	rc = sqlite_row_done(c, st, rc, "claim job");
	if (rc != 0)
		return rc;
	st = c->stmt[STMT_JOB_LEASE];
	sqlite3_bind_int64(st, 1, out->id);
	sqlite3_bind_int64(st, 2, lease_until);
	rc = sqlite_run(c, STMT_JOB_LEASE, "lease job");
	if (rc == 0)
		out->attempts++;
	return rc;
}

/* Runs a job report; KV_ENOTFOUND when the lease was not the caller's. */
static int job_report(struct store_tx *c, enum stmt_id id, const char *what)
{
	int rc = sqlite_run(c, id, what);

	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}

int sqlite_job_done(struct store_tx *c, int64_t id, int64_t lease_until,
		    int state, const char *error, int64_t now)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_DONE];

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, state);
	sqlite3_bind_int64(st, 3, now);
	sqlite_bind_text(st, 4, error ? error : "");
	sqlite3_bind_int64(st, 5, lease_until);
	return job_report(c, STMT_JOB_DONE, "finish job");
}

int sqlite_job_retry(struct store_tx *c, int64_t id, int64_t lease_until,
		     int64_t due_ms, const char *error)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_RETRY];

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, due_ms);
	sqlite_bind_text(st, 3, error ? error : "");
	sqlite3_bind_int64(st, 4, lease_until);
	return job_report(c, STMT_JOB_RETRY, "retry job");
}

int sqlite_job_next_due(struct store_tx *c, int64_t *due_ms)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_NEXT_DUE];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*due_ms = sqlite3_column_int64(st, 0);
	return sqlite_row_done(c, st, rc, "next job");
}
