/*
 * PostgreSQL backend: the store-wide figures /metrics reads at scrape time
 * (store.h, store_stats): pending jobs due and leased, the oldest due one,
 * prefix blocks in force, the database's size and the cluster's WAL.
 */
#include "err.h"
#include "store_pg.h"

/*
 * Pending jobs through the jobs_pending partial index.  A job leased now is
 * due at its lease's end (a claim sets both; a retry clears the lease), so
 * the leased count reads the index past now only, not every pending row.
 */
static const char sql_jobs[] =
	"SELECT (SELECT count(*) FROM jobs WHERE state = 0 AND due_ms <= $1),"
	" (SELECT count(*) FROM jobs WHERE state = 0 AND due_ms > $1"
	"   AND lease_until_ms > $1),"
	" COALESCE((SELECT min(due_ms) FROM jobs WHERE state = 0"
	"   AND due_ms <= $1), 0)";
/*
 * pg_ls_waldir() (the size of pg_wal, the whole cluster's WAL) needs the
 * pg_monitor role or a superuser: asked first, so a role without it
 * reports the WAL as unknown instead of failing the scrape.
 */
static const char sql_sizes[] =
	"SELECT pg_database_size(current_database()),"
	" (SELECT count(*) FROM blocks WHERE until_ms > $1),"
	" has_function_privilege('pg_ls_waldir()', 'EXECUTE')::int";
static const char sql_wal[] =
	"SELECT COALESCE(sum(size), 0)::bigint FROM pg_ls_waldir()";

int pg_stats(struct store_tx *c, int64_t now, struct store_stats *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, now);
	rc = pg_row(c, sql_jobs, &p, &res, "job figures");
	if (rc == 0) {
		out->jobs_due = pg_get_int(res, 0, 0);
		out->jobs_leased = pg_get_int(res, 0, 1);
		out->oldest_due_ms = pg_get_int(res, 0, 2);
	}
	PQclear(res);
	res = NULL;
	if (rc == 0)
		rc = pg_row(c, sql_sizes, &p, &res, "store sizes");
	out->wal_bytes = -1;
	if (rc == 0) {
		out->db_bytes = pg_get_int(res, 0, 0);
		out->blocks_active = pg_get_int(res, 0, 1);
		if (pg_get_int(res, 0, 2)) {
			PQclear(res);
			res = NULL;
			rc = pg_row(c, sql_wal, NULL, &res, "WAL size");
			if (rc == 0)
				out->wal_bytes = pg_get_int(res, 0, 0);
		}
	}
	PQclear(res);
	return rc;
}
