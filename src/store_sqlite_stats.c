/*
 * SQLite backend: the store-wide figures /metrics reads at scrape time
 * (store.h, store_stats): pending jobs due and leased, the oldest due one,
 * prefix blocks in force, the database file's and its WAL file's sizes.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "err.h"
#include "store_sqlite.h"

/*
 * Prepared per scrape rather than in every connection's statement table:
 * one scrape a second or so does not pay for every reader preparing them.
 * A claim sets a job's due_ms to its lease's end with lease_until_ms, and
 * nothing moves a leased job's due_ms before a retry clears the lease, so
 * a job leased now is due later: the leased count reads the jobs_pending
 * index past now only, not every pending row (a backlog of due jobs
 * while KooKoo is down, say).
 */
static const char sql_stats[] =
	"SELECT (SELECT count(*) FROM jobs WHERE state = 0 AND due_ms <= ?1),"
	" (SELECT count(*) FROM jobs WHERE state = 0 AND due_ms > ?1"
	"   AND lease_until_ms > ?1),"
	" (SELECT COALESCE(min(due_ms), 0) FROM jobs"
	"   WHERE state = 0 AND due_ms <= ?1),"
	" (SELECT count(*) FROM blocks WHERE until_ms > ?1),"
	" (SELECT page_count FROM pragma_page_count())"
	" * (SELECT page_size FROM pragma_page_size())";

int sqlite_stats(struct store_tx *c, int64_t now, struct store_stats *out)
{
	sqlite3_stmt *st = NULL;
	const char *file = sqlite3_db_filename(c->db, "main");
	char wal[1024];
	struct stat sb;
	int rc;

	if (sqlite3_prepare_v2(c->db, sql_stats, -1, &st, NULL) != SQLITE_OK)
		return sqlite_fail(c, "store figures");
	sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->jobs_due = sqlite3_column_int64(st, 0);
		out->jobs_leased = sqlite3_column_int64(st, 1);
		out->oldest_due_ms = sqlite3_column_int64(st, 2);
		out->blocks_active = sqlite3_column_int64(st, 3);
		out->db_bytes = sqlite3_column_int64(st, 4);
	}
	rc = rc == SQLITE_ROW ? 0 : sqlite_fail(c, "store figures");
	sqlite3_finalize(st);
	/* No WAL file yet (or in memory): its size is 0, not unknown. */
	out->wal_bytes = 0;
	if (file && *file &&
	    (size_t)snprintf(wal, sizeof(wal), "%s-wal", file) < sizeof(wal) &&
	    stat(wal, &sb) == 0)
		out->wal_bytes = (int64_t)sb.st_size;
	return rc;
}
