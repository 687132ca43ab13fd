/*
 * Backups and restores of the SQLite backend.  A backup copies a live
 * database with SQLite's online backup API inside one read transaction (one
 * snapshot, so the server's commits neither restart nor tear it) into
 * DEST.tmp, a few hundred pages at a time with a pause between so the
 * writer keeps its locks short, then makes it durable and renames it: DEST
 * is either absent or a whole copy.  A restore checks a copy and swaps it in
 * for a stopped server's file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "err.h"
#include "store_sqlite.h"

/* Pages per step (4 KiB pages: 1 MiB) and the pause between two steps. */
#define BACKUP_STEP_PAGES 256
#define BACKUP_PAUSE_US 2000
/* A step that found the store locked is tried again, at most this often. */
#define BACKUP_BUSY_RETRIES 5000
#define BACKUP_BUSY_PAUSE_US 1000
/* Room for a path and the suffixes added to it (.tmp, -wal...). */
#define PATH_BUF 4096

static void pause_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000,
			      .tv_nsec = (us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* fsync of a file, or of the directory holding `path` (dir non-zero). */
static int sync_path(const char *path, int dir)
{
	char d[PATH_BUF];
	const char *target = path;
	int fd, rc = 0;

	if (dir) {
		const char *slash = strrchr(path, '/');

		if (!slash)
			target = ".";
		else if (slash == path)
			target = "/";
		else if ((size_t)(slash - path) < sizeof(d)) {
			memcpy(d, path, (size_t)(slash - path));
			d[slash - path] = '\0';
			target = d;
		} else
			return KV_EIO;
	}
	fd = open(target, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return KV_EIO;
	if (fsync(fd) != 0)
		rc = KV_EIO;
	close(fd);
	return rc;
}

/* Creates an empty private file; KV_EIO with the reason in err. */
static int file_create_private(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return KV_EIO;
	}
	close(fd);
	return 0;
}

/* The steps of the copy; 0, or KV_EBUSY / KV_EDB with the reason in err. */
static int backup_copy(sqlite3 *src, sqlite3 *dst, int64_t *pages, char *err,
		       size_t errlen)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc, busy = 0;

	if (!b) {
		snprintf(err, errlen, "backup: %s", sqlite3_errmsg(dst));
		return KV_EDB;
	}
	for (;;) {
		rc = sqlite3_backup_step(b, BACKUP_STEP_PAGES);
		if (rc == SQLITE_DONE)
			break;
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
			if (++busy > BACKUP_BUSY_RETRIES)
				break;
			pause_us(BACKUP_BUSY_PAUSE_US);
			continue;
		}
		if (rc != SQLITE_OK)
			break;
		busy = 0;
		pause_us(BACKUP_PAUSE_US);
	}
	*pages = sqlite3_backup_pagecount(b);
	if (sqlite3_backup_finish(b) != SQLITE_OK && rc == SQLITE_DONE)
		rc = sqlite3_errcode(dst);
	if (rc == SQLITE_DONE)
		return 0;
	snprintf(err, errlen, "backup: %s", sqlite3_errstr(rc));
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? KV_EBUSY : KV_EDB;
}

/*
 * Opens the live database without creating it; the read transaction holds
 * one snapshot for the whole copy (WAL: the server keeps writing).
 */
static int backup_source_open(const char *path, sqlite3 **out, char *err,
			      size_t errlen)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
		path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db,
				  "BEGIN; SELECT count(*) FROM sqlite_master",
				  NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return KV_EDB;
	}
	*out = db;
	return 0;
}

/*
 * Renames the finished copy to dest.  Without force, link() refuses a dest
 * created since the check at start; a file system without hard links (a
 * network share) falls back to that check and rename().
 */
static int backup_install(const char *tmp, const char *dest, int force,
			  char *err, size_t errlen)
{
	struct stat sb;
	int rc = 0;

	if (!force && link(tmp, dest) == 0) {
		unlink(tmp);
		goto out;
	}
	if (!force && errno == EEXIST) {
		snprintf(err, errlen, "%s exists (--force replaces it)", dest);
		rc = KV_EDUP;
		goto out;
	}
	if (!force && lstat(dest, &sb) == 0) {
		snprintf(err, errlen, "%s exists (--force replaces it)", dest);
		rc = KV_EDUP;
		goto out;
	}
	if (rename(tmp, dest) != 0) {
		snprintf(err, errlen, "%s: %s", dest, strerror(errno));
		rc = KV_EIO;
	}
out:
	return rc;
}

int sqlite_backup(const char *path, const char *dest, int force,
		  struct store_backup_stats *stats, char *err, size_t errlen)
{
	char tmp[PATH_BUF], side[PATH_BUF + 8];
	sqlite3 *src = NULL, *dst = NULL;
	struct stat sb;
	double start = seconds_now();
	int rc;

	memset(stats, 0, sizeof(*stats));
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", dest) >= sizeof(tmp)) {
		snprintf(err, errlen, "destination path too long");
		return KV_EINVAL;
	}
	if (!force && lstat(dest, &sb) == 0) {
		snprintf(err, errlen, "%s exists (--force replaces it)", dest);
		return KV_EDUP;
	}
	/* A DEST.tmp is the remains of an interrupted backup. */
	unlink(tmp);
	rc = backup_source_open(path, &src, err, errlen);
	if (rc != 0)
		return rc;
	rc = file_create_private(tmp, err, errlen);
	if (rc != 0)
		goto out;
	if (sqlite3_open_v2(tmp, &dst,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", tmp, sqlite3_errmsg(dst));
		rc = KV_EDB;
		goto out_tmp;
	}
	rc = backup_copy(src, dst, &stats->pages, err, errlen);
	if (rc != 0)
		goto out_tmp;
	if (sqlite3_close(dst) != SQLITE_OK) {
		snprintf(err, errlen, "%s: close failed", tmp);
		rc = KV_EDB;
		goto out_tmp;
	}
	dst = NULL;
	if (sync_path(tmp, 0) != 0 || stat(tmp, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		rc = KV_EIO;
		goto out_tmp;
	}
	stats->bytes = (int64_t)sb.st_size;
	rc = backup_install(tmp, dest, force, err, errlen);
	if (rc != 0)
		goto out_tmp;
	if (sync_path(dest, 1) != 0) {
		snprintf(err, errlen, "%s: directory sync failed", dest);
		rc = KV_EIO;
		goto out;
	}
	stats->seconds = seconds_now() - start;
	goto out;
out_tmp:
	sqlite3_close(dst);
	dst = NULL;
	unlink(tmp);
	snprintf(side, sizeof(side), "%s-journal", tmp);
	unlink(side);
out:
	sqlite3_close(dst);
	sqlite3_close(src);
	return rc;
}

/* One integer or text answer of a pragma; KV_EDB if it has none. */
static int pragma_get(sqlite3 *db, const char *sql, int *num, char *text,
		      size_t textlen)
{
	sqlite3_stmt *st = NULL;
	int rc = KV_EDB;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		if (num)
			*num = sqlite3_column_int(st, 0);
		if (text) {
			const unsigned char *t = sqlite3_column_text(st, 0);

			snprintf(text, textlen, "%s", t ? (const char *)t : "");
		}
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Whether `path` (a private copy, so SRC is never written) is a whole
 * KookooVerify database this program can migrate: integrity_check says ok,
 * its version is 1 to ours, and it has the verifications and keys tables.
 */
static int restore_check(const char *path, const char *shown, char *err,
			 size_t errlen)
{
	sqlite3 *db = NULL;
	char ok[256];
	int version = 0, tables = 0, rc = KV_EINVAL;

	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    pragma_get(db, "PRAGMA integrity_check", NULL, ok, sizeof(ok)) !=
		    0) {
		snprintf(err, errlen, "%s is not a database: %s", shown,
			 db ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	if (strcmp(ok, "ok") != 0) {
		snprintf(err, errlen, "%s fails integrity_check: %s", shown,
			 ok);
		goto out;
	}
	if (pragma_get(db, "PRAGMA user_version", &version, NULL, 0) != 0 ||
	    pragma_get(db,
		       "SELECT count(*) FROM sqlite_master WHERE type = "
		       "'table' AND name IN ('verifications', 'api_keys')",
		       &tables, NULL, 0) != 0 ||
	    tables != 2 || version < 1) {
		snprintf(err, errlen, "%s is not a KookooVerify database",
			 shown);
		goto out;
	}
	if (version > sqlite_schema_version()) {
		snprintf(err, errlen,
			 "%s: schema version %d is newer than this program "
			 "(%d)",
			 shown, version, sqlite_schema_version());
		rc = KV_ERANGE;
		goto out;
	}
	rc = 0;
out:
	if (sqlite3_close(db) != SQLITE_OK && rc == 0)
		rc = KV_EDB;
	return rc;
}

/* Copies src to a new private file dst and syncs it. */
static int file_copy(const char *src, const char *dst, char *err, size_t errlen)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = KV_EIO;
	ssize_t n;

	if (in < 0) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		return KV_EIO;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (n != 0 || fsync(out) != 0) {
		snprintf(err, errlen, "%s: copy failed: %s", dst,
			 strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (out >= 0)
		close(out);
	close(in);
	return rc;
}

/*
 * Takes the live database for ourselves: an exclusive lock fails while any
 * other connection (a running server) has it open, since every WAL
 * connection holds a shared lock on the file.  Closing it as the last
 * connection folds the WAL into the file and removes it.
 */
static int restore_quiesce(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc = KV_EBUSY;

	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		rc = KV_EDB;
		goto out;
	}
	if (sqlite3_exec(db,
			 "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; "
			 "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen,
			 "%s is in use (%s): stop the server first", path,
			 sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	if (sqlite3_close(db) != SQLITE_OK && rc == 0)
		rc = KV_EDB;
	return rc;
}

/* True when a non-empty PATH-wal is still there. */
static int wal_left(const char *path)
{
	char wal[PATH_BUF + 8];
	struct stat sb;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	return stat(wal, &sb) == 0 && sb.st_size > 0;
}

int sqlite_restore(const char *path, const char *src, char *err, size_t errlen)
{
	char tmp[PATH_BUF], before[PATH_BUF], side[PATH_BUF + 8];
	struct stat sb;
	int rc, have_db;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.restore-tmp", path) >=
		    sizeof(tmp) ||
	    (size_t)snprintf(before, sizeof(before), "%s.before-restore",
			     path) >= sizeof(before)) {
		snprintf(err, errlen, "database path too long");
		return KV_EINVAL;
	}
	unlink(tmp);
	rc = file_copy(src, tmp, err, errlen);
	if (rc != 0)
		goto out;
	rc = restore_check(tmp, src, err, errlen);
	if (rc != 0 || wal_left(tmp)) {
		if (rc == 0) {
			snprintf(err, errlen, "%s: checking left a WAL", src);
			rc = KV_EDB;
		}
		goto out;
	}
	have_db = stat(path, &sb) == 0;
	if (have_db) {
		rc = restore_quiesce(path, err, errlen);
		if (rc != 0)
			goto out;
		if (wal_left(path)) {
			snprintf(err, errlen,
				 "%s-wal is still there: stop the server first",
				 path);
			rc = KV_EBUSY;
			goto out;
		}
		unlink(before);
		if (link(path, before) != 0) {
			snprintf(err, errlen, "%s: %s", before,
				 strerror(errno));
			rc = KV_EIO;
			goto out;
		}
	}
	/* No leftover index or log of the old file may meet the new one. */
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-wal", tmp);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", tmp);
	unlink(side);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = KV_EIO;
		goto out;
	}
	if (sync_path(path, 1) != 0) {
		snprintf(err, errlen, "%s: directory sync failed", path);
		rc = KV_EIO;
	}
	return rc;
out:
	unlink(tmp);
	return rc;
}
