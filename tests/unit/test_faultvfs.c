/*
 * Unit tests of the fault-injection hook (faultvfs.c) against real SQLite
 * files: each word of the control file makes the promised call fail with the
 * promised code, reads keep working, and a cleared file makes SQLite work
 * again with every committed row still there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "err.h"
#include "faultvfs.h"

static char dir[64];
static char control[128];
static sqlite3 *wal_db; /* WAL, synchronous NORMAL, like the server's */

static void control_write(const char *word)
{
	char tmp[160];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", control);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(word, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, control), 0);
}

/* Writes `word` and waits (2 s at most) until the poller armed `armed`. */
static void arm(const char *word, const char *armed)
{
	struct timespec pause = {0, 10 * 1000000L};

	control_write(word);
	for (int i = 0; i < 200; i++) {
		if (strcmp(faultvfs_armed(), armed) == 0)
			return;
		nanosleep(&pause, NULL);
	}
	fail_msg("wrote \"%s\": expected \"%s\" armed, got \"%s\"", word, armed,
		 faultvfs_armed());
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int count_rows(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1,
					    &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static sqlite3 *open_db(const char *name, const char *journal_mode)
{
	char path[160], sql[128];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(sqlite3_open_v2(path, &db,
					 SQLITE_OPEN_READWRITE |
						 SQLITE_OPEN_CREATE,
					 NULL),
			 SQLITE_OK);
	sqlite3_extended_result_codes(db, 1);
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode = %s; PRAGMA synchronous = NORMAL;"
		 "CREATE TABLE IF NOT EXISTS t (x INTEGER)",
		 journal_mode);
	assert_int_equal(exec(db, sql), SQLITE_OK);
	return db;
}

static int group_setup(void **state)
{
	char err[256] = "";

	snprintf(dir, sizeof(dir), "/tmp/kv-faultvfs-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(control, sizeof(control), "%s/fault", dir);
	/* Before any other SQLite call, as main() does. */
	if (faultvfs_start(control, err, sizeof(err)) != 0) {
		fprintf(stderr, "faultvfs_start: %s\n", err);
		return -1;
	}
	wal_db = open_db("wal.db", "WAL");
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	sqlite3_close(wal_db);
	faultvfs_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_is_the_default_vfs_and_starts_once(void **state)
{
	char err[128] = "";

	assert_string_equal(sqlite3_vfs_find(NULL)->zName, "kv-fault");
	assert_string_equal(faultvfs_armed(), "");
	assert_int_equal(faultvfs_start(control, err, sizeof(err)), KV_EINVAL);
	assert_non_null(strstr(err, "fault_file"));
}

static void test_full_fails_writes_keeps_reads(void **state)
{
	int before;

	assert_int_equal(exec(wal_db, "INSERT INTO t VALUES (1)"), SQLITE_OK);
	before = count_rows(wal_db);
	arm("full", "full");
	assert_int_equal(exec(wal_db, "INSERT INTO t VALUES (2)"), SQLITE_FULL);
	assert_int_equal(count_rows(wal_db), before);
	arm("", "");
	assert_int_equal(exec(wal_db, "INSERT INTO t VALUES (3)"), SQLITE_OK);
	assert_int_equal(count_rows(wal_db), before + 1);
}

static void test_ioerr_fails_writes_with_ioerr_write(void **state)
{
	int before = count_rows(wal_db);

	arm("ioerr", "ioerr");
	assert_int_equal(exec(wal_db, "INSERT INTO t VALUES (4)"),
			 SQLITE_IOERR_WRITE);
	assert_int_equal(count_rows(wal_db), before);
	arm("", "");
	assert_int_equal(exec(wal_db, "INSERT INTO t VALUES (5)"), SQLITE_OK);
	assert_int_equal(count_rows(wal_db), before + 1);
}

/* WAL with synchronous NORMAL syncs at checkpoints only, not at commits. */
static void test_fsync_fails_checkpoints_not_commits(void **state)
{
	int before = count_rows(wal_db);

	arm("fsync", "fsync");
	assert_int_equal(exec(wal_db, "INSERT INTO t VALUES (6)"), SQLITE_OK);
	assert_int_equal(sqlite3_wal_checkpoint_v2(wal_db, NULL,
						   SQLITE_CHECKPOINT_PASSIVE,
						   NULL, NULL),
			 SQLITE_IOERR_FSYNC);
	arm("", "");
	assert_int_equal(sqlite3_wal_checkpoint_v2(wal_db, NULL,
						   SQLITE_CHECKPOINT_PASSIVE,
						   NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(count_rows(wal_db), before + 1);
}

static void test_busy_refuses_write_locks_not_reads(void **state)
{
	sqlite3 *rollback_db = open_db("rollback.db", "DELETE");
	int before = count_rows(wal_db);

	sqlite3_busy_timeout(wal_db, 0);
	sqlite3_busy_timeout(rollback_db, 0);
	arm("busy", "busy");
	/* WAL: the write lock is a shared-memory lock. */
	assert_int_equal(exec(wal_db, "BEGIN IMMEDIATE"), SQLITE_BUSY);
	assert_int_equal(count_rows(wal_db), before);
	/* Rollback journal: the write lock is xLock(RESERVED). */
	assert_int_equal(exec(rollback_db, "INSERT INTO t VALUES (1)"),
			 SQLITE_BUSY);
	assert_int_equal(count_rows(rollback_db), 0);
	arm("", "");
	assert_int_equal(exec(wal_db, "INSERT INTO t VALUES (7)"), SQLITE_OK);
	assert_int_equal(exec(rollback_db, "INSERT INTO t VALUES (1)"),
			 SQLITE_OK);
	assert_int_equal(count_rows(rollback_db), 1);
	assert_int_equal(count_rows(wal_db), before + 1);
	sqlite3_close(rollback_db);
}

static void test_nomem_fails_sqlite_allocations(void **state)
{
	char path[160];
	sqlite3 *db = NULL;
	void *p;
	int before = count_rows(wal_db);

	snprintf(path, sizeof(path), "%s/wal.db", dir);
	arm("nomem", "nomem");
	assert_null(sqlite3_malloc(100));
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
					 NULL),
			 SQLITE_NOMEM);
	sqlite3_close(db);
	db = NULL;
	arm("", "");
	p = sqlite3_malloc(100);
	assert_non_null(p);
	sqlite3_free(p);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
					 NULL),
			 SQLITE_OK);
	assert_int_equal(exec(db, "INSERT INTO t VALUES (8)"), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(count_rows(wal_db), before + 1);
}

static void test_control_words_trimmed_unknown_and_missing(void **state)
{
	arm("  busy \n", "busy");
	/* An unknown word arms nothing (and says so in the log). */
	arm("flood", "");
	arm("ioerr\n", "ioerr");
	/* A removed file is no fault. */
	assert_int_equal(unlink(control), 0);
	for (int i = 0; i < 200 && faultvfs_armed()[0]; i++) {
		struct timespec pause = {0, 10 * 1000000L};

		nanosleep(&pause, NULL);
	}
	assert_string_equal(faultvfs_armed(), "");
	assert_int_equal(exec(wal_db, "INSERT INTO t VALUES (9)"), SQLITE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_the_default_vfs_and_starts_once),
		cmocka_unit_test(test_full_fails_writes_keeps_reads),
		cmocka_unit_test(test_ioerr_fails_writes_with_ioerr_write),
		cmocka_unit_test(test_fsync_fails_checkpoints_not_commits),
		cmocka_unit_test(test_busy_refuses_write_locks_not_reads),
		cmocka_unit_test(test_nomem_fails_sqlite_allocations),
		cmocka_unit_test(
			test_control_words_trimmed_unknown_and_missing),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
