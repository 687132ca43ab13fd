/*
 * bench/sqlite_commits.c: the machine's SQLite commit ceiling.  Inserts
 * single rows, each in its own transaction, into a WAL database for a few
 * seconds with synchronous NORMAL or FULL, and prints the commits per
 * second: what one writer gets from this disk without group commit.
 * Usage: sqlite_commits DB SECONDS normal|full
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

static double commits_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	/* A row about the size of a verification's: a few numbers and text. */
	static const char schema[] =
		"PRAGMA journal_mode = WAL;"
		"CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, "
		"number TEXT NOT NULL, created_ms INTEGER NOT NULL, "
		"hash BLOB NOT NULL);";
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL;
	double seconds, start, now;
	long n = 0;
	int full, rc = 1;

	if (argc != 4 ||
	    (strcmp(argv[3], "normal") != 0 && strcmp(argv[3], "full") != 0)) {
		fprintf(stderr, "usage: %s DB SECONDS normal|full\n", argv[0]);
		return 2;
	}
	seconds = atof(argv[2]);
	full = strcmp(argv[3], "full") == 0;
	if (sqlite3_open(argv[1], &db) != SQLITE_OK ||
	    sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db,
			 full ? "PRAGMA synchronous = FULL"
			      : "PRAGMA synchronous = NORMAL",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO t (number, created_ms, hash) "
			       "VALUES (?1, ?2, randomblob(32))",
			       -1, &ins, NULL) != SQLITE_OK) {
		fprintf(stderr, "sqlite_commits: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	start = now = commits_now();
	while (now - start < seconds) {
		char number[24];

		snprintf(number, sizeof(number), "91%010ld", 7000000000L + n);
		sqlite3_bind_text(ins, 1, number, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)(now * 1000));
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "sqlite_commits: %s\n",
				sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_reset(ins);
		n++;
		now = commits_now();
	}
	printf("commits/s %.0f (%ld single-row transactions in %.2f s, "
	       "synchronous %s)\n",
	       (double)n / (now - start), n, now - start, argv[3]);
	rc = 0;
out:
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return rc;
}
