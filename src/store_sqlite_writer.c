/*
 * Who talks to SQLite from which thread.  Readers: one connection per thread,
 * opened lazily, so the read path takes no lock of ours.  Writer: one thread
 * owns the only writing connection and commits the queued writes of many
 * requests as one transaction (group commit); each caller waits for the
 * commit that makes its write durable before it answers.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "store_sqlite.h"
#include "store_queue.h"
#include "err.h"
#include "log.h"
#include "metrics.h"

/* ---- readers ---- */

struct reader {
	struct store_tx *conn;
	struct reader *next;
};

static char reader_path[512];
static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reader *readers;
static __thread struct store_tx *thread_reader;

void sqlite_readers_init(const char *path)
{
	snprintf(reader_path, sizeof(reader_path), "%s", path);
}

struct store_tx *sqlite_reader(void)
{
	char err[256];
	struct reader *r;

	if (thread_reader)
		return thread_reader;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->conn = sqlite_open(reader_path, err, sizeof(err));
	if (!r->conn) {
		log_error("store.reader_failed", LOG_STR("error", err));
		free(r);
		return NULL;
	}
	/* The list is only touched once per thread and at shutdown. */
	pthread_mutex_lock(&readers_lock);
	r->next = readers;
	readers = r;
	pthread_mutex_unlock(&readers_lock);
	r->conn->reader = 1;
	thread_reader = r->conn;
	return thread_reader;
}

static __thread int thread_in_read;

void sqlite_read_begin(void)
{
	struct store_tx *c = sqlite_reader();

	if (c && !thread_in_read && sqlite_exec_stmt(c, STMT_BEGIN_READ) == 0)
		thread_in_read = 1;
}

void sqlite_read_end(void)
{
	if (!thread_in_read)
		return;
	thread_in_read = 0;
	if (sqlite_exec_stmt(thread_reader, STMT_COMMIT) != 0)
		sqlite_exec_stmt(thread_reader, STMT_ROLLBACK);
}

void sqlite_readers_close(void)
{
	pthread_mutex_lock(&readers_lock);
	while (readers) {
		struct reader *r = readers;

		readers = r->next;
		sqlite_close(r->conn);
		free(r);
	}
	pthread_mutex_unlock(&readers_lock);
	thread_reader = NULL;
}

/* ---- checkpointer ---- */

/*
 * SQLite's automatic checkpoint runs inside the commit that crosses the
 * threshold, and a checkpoint syncs the database file: that would put an
 * fsync on some unlucky request's path.  Instead the writer's WAL hook only
 * signals, and this thread copies the WAL back with PASSIVE checkpoints
 * (which never block the writer or readers).
 */
/*
 * A checkpoint is due once the WAL has grown by this many pages since the
 * last one started (not merely is this long: while the writer keeps
 * committing, a PASSIVE checkpoint never empties the WAL, and signalling
 * on every commit past the mark ran them back to back, two fsyncs each).
 * Small ones disturb the writer least, though a PASSIVE checkpoint takes
 * no lock it needs: with 4000 pages the bench's Request p99 at half load
 * was about 2.8 ms, with 1000 about 2.0 ms, with 400 about 1.65 ms, with
 * 200 no better than 400.  Each syncs the WAL and the database file, and
 * the writer's appends to the WAL wait on the longer syncs.
 */
#define CHECKPOINT_PAGES 400
#define CHECKPOINT_IDLE_MS 1000
/*
 * Under a steady stream of commits a PASSIVE checkpoint never catches the
 * writer, so the WAL would never start over and would grow without bound.
 * Past this many pages a RESTART checkpoint makes the next commit start the
 * WAL from the beginning.  It holds the write lock while it copies the
 * frames left and syncs, so the writer's next batch waits for it: a
 * PASSIVE checkpoint just before leaves it only the frames of the last few
 * milliseconds (it stalled the writer about 2 ms instead of 3.5 ms), and a
 * large threshold makes it rare (at 8192 pages about four times a second
 * under half the bench's load, at 24576 about once a second).  24576 pages
 * of 4 KiB stay under journal_size_limit in db.c, so the WAL file is reused
 * as it is instead of being cut and grown again on every restart.
 */
#define CHECKPOINT_RESTART_PAGES 24576

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int due;
	int stop;
	int running;
	int wal_pages; /* WAL size at the last commit, from the hook */
	int base;      /* WAL size when the last checkpoint started */
	sqlite3 *db;
	pthread_t thread;
} ck = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

static int checkpoint_hook(void *unused, sqlite3 *db, const char *name,
			   int pages)
{
	pthread_mutex_lock(&ck.lock);
	if (pages < ck.wal_pages)
		ck.base = 0; /* the WAL started over */
	ck.wal_pages = pages;
	if (pages - ck.base >= CHECKPOINT_PAGES) {
		ck.due = 1;
		pthread_cond_signal(&ck.wake);
	}
	pthread_mutex_unlock(&ck.lock);
	return SQLITE_OK;
}

static void *checkpoint_main(void *unused)
{
	pthread_setname_np(pthread_self(), "kv-checkpoint");
	pthread_mutex_lock(&ck.lock);
	while (!ck.stop) {
		struct timespec until;
		int rc, restart;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += CHECKPOINT_IDLE_MS / 1000;
		/* Woken by the hook, or once a second to keep the WAL short. */
		while (!ck.due && !ck.stop &&
		       pthread_cond_timedwait(&ck.wake, &ck.lock, &until) == 0)
			;
		if (ck.stop)
			break;
		ck.due = 0;
		ck.base = ck.wal_pages;
		restart = ck.wal_pages >= CHECKPOINT_RESTART_PAGES;
		pthread_mutex_unlock(&ck.lock);
		rc = sqlite3_wal_checkpoint_v2(
			ck.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (restart && rc == SQLITE_OK)
			rc = sqlite3_wal_checkpoint_v2(
				ck.db, NULL, SQLITE_CHECKPOINT_RESTART, NULL,
				NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store.checkpoint_failed",
				 LOG_STR("error", sqlite3_errmsg(ck.db)));
		pthread_mutex_lock(&ck.lock);
	}
	pthread_mutex_unlock(&ck.lock);
	return NULL;
}

static int checkpointer_start(const char *path, char *err, size_t errlen)
{
	/*
	 * sqlite_open_raw's pragmas read the database, which opens its WAL on
	 * this connection: until then SQLite's checkpoint does nothing.
	 */
	if (sqlite_open_raw(path, &ck.db, err, errlen) != 0)
		return KV_EDB;
	ck.stop = 0;
	ck.due = 0;
	ck.wal_pages = 0;
	ck.base = 0;
	if (pthread_create(&ck.thread, NULL, checkpoint_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the checkpoint thread");
		sqlite3_close(ck.db);
		ck.db = NULL;
		return KV_EIO;
	}
	ck.running = 1;
	return 0;
}

static void checkpointer_stop(void)
{
	if (!ck.running)
		return;
	pthread_mutex_lock(&ck.lock);
	ck.stop = 1;
	pthread_cond_signal(&ck.wake);
	pthread_mutex_unlock(&ck.lock);
	pthread_join(ck.thread, NULL);
	ck.running = 0;
	sqlite3_close(ck.db);
	ck.db = NULL;
}

/* ---- writer ---- */

static struct {
	struct store_queue q;
	struct store_tx *conn;
	pthread_t thread;
} w = {
	.q = STORE_QUEUE_INIT,
};

/*
 * Runs ops [batch, end) in one transaction.  Returns 0 when committed, or
 * non-zero when an op failed (other than "not found", which writes
 * nothing) or the commit failed; then nothing of the batch is stored.
 */
static int writer_try_batch(struct store_write_op *batch,
			    struct store_write_op *end, int *op_failed)
{
	struct store_write_op *op;
	int rc = sqlite_exec_stmt(w.conn, STMT_BEGIN);
	unsigned nops = 0;
	uint64_t t0;

	*op_failed = 0;
	/* The closures' metrics count only once their commit is done. */
	metrics_tx_begin();
	for (op = batch; op != end && rc == 0; op = op->next) {
		op->rc = op->fn(w.conn, op->arg);
		nops++;
		if (op->rc != 0 && op->rc != KV_ENOTFOUND) {
			rc = op->rc;
			*op_failed = 1;
		}
	}
	t0 = metrics_now_ns();
	if (rc == 0)
		rc = sqlite_exec_stmt(w.conn, STMT_COMMIT);
	metrics_tx_end(rc == 0);
	if (rc == 0) {
		sqlite_key_cache_committed();
		metrics_observe(M_STORE_BATCH, MB_SQLITE, 0, nops);
		metrics_observe(M_STORE_COMMIT, MB_SQLITE, 0,
				metrics_since(t0));
	}
	/* SQLite already rolled back after a failed I/O or allocation. */
	if (rc != 0 && !sqlite3_get_autocommit(w.conn->db))
		sqlite_exec_stmt(w.conn, STMT_ROLLBACK);
	return rc;
}

/*
 * Group commit.  The common case is one transaction for the whole batch.
 * If anything fails, the batch is rolled back and each op is run again in
 * a transaction of its own, so one bad op costs only itself and no caller
 * is ever told "ok" for a change that was not committed.
 */
static void writer_commit_batch(struct store_write_op *batch)
{
	struct store_write_op *op;
	int op_failed;
	int rc = writer_try_batch(batch, NULL, &op_failed);

	if (rc == 0)
		return;
	/*
	 * BEGIN or COMMIT failed (lock, I/O, full disk, memory): the store,
	 * not an op.  Replaying would fail the same way, each time after
	 * waiting busy_timeout again.  One op alone: it has had its try.
	 */
	if (!op_failed || !batch->next) {
		for (op = batch; op; op = op->next)
			op->rc = rc;
		return;
	}
	for (op = batch; op; op = op->next) {
		rc = writer_try_batch(op, op->next, &op_failed);
		if (rc != 0)
			op->rc = rc;
	}
}

static void *writer_main(void *unused)
{
	struct store_write_op *batch;

	pthread_setname_np(pthread_self(), "kv-writer");
	while ((batch = store_queue_take(&w.q)) != NULL) {
		writer_commit_batch(batch);
		store_queue_finish(batch);
	}
	return NULL;
}

/*
 * Logs the durability the writer's connection really has (db_synchronous),
 * read back from SQLite rather than from the setting.
 */
static void writer_log_synchronous(sqlite3 *db)
{
	static const char *const names[] = {"OFF", "NORMAL", "FULL", "EXTRA"};
	sqlite3_stmt *st = NULL;
	int level = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		level = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	log_info("store.writer_started",
		 LOG_STR("synchronous",
			 level >= 0 && level < 4 ? names[level] : "unknown"));
}

int sqlite_writer_start(const char *path, int batch_max, char *err,
			size_t errlen)
{
	w.conn = sqlite_open(path, err, errlen);
	if (!w.conn)
		return KV_EDB;
	writer_log_synchronous(w.conn->db);
	if (checkpointer_start(path, err, errlen) != 0) {
		sqlite_close(w.conn);
		w.conn = NULL;
		return KV_EDB;
	}
	/* Replaces SQLite's automatic checkpoint on this connection. */
	sqlite3_wal_hook(w.conn->db, checkpoint_hook, NULL);
	store_queue_open(&w.q, batch_max);
	if (pthread_create(&w.thread, NULL, writer_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		store_queue_closed(&w.q);
		checkpointer_stop();
		sqlite_close(w.conn);
		w.conn = NULL;
		return KV_EIO;
	}
	return 0;
}

int sqlite_write_submit(struct store_write_op *op)
{
	return store_queue_push(&w.q, op);
}

int sqlite_write(int (*fn)(struct store_tx *c, void *arg), void *arg)
{
	sqlite_read_end();
	return store_queue_write(&w.q, fn, arg);
}

void sqlite_writer_stop(void)
{
	if (!w.q.running)
		return;
	/* Queued writes still run: stop only ends the loop once it is empty. */
	store_queue_close(&w.q);
	pthread_join(w.thread, NULL);
	store_queue_closed(&w.q);
	checkpointer_stop();
	sqlite_close(w.conn);
	w.conn = NULL;
}
