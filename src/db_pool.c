/*
 * Who talks to SQLite from which thread.  Readers: one connection per thread,
 * opened lazily, so the read path takes no lock of ours.  Writer: one thread
 * owns the only writing connection and commits the queued writes of many
 * requests as one transaction (group commit); each caller waits for the
 * commit that makes its write durable before it answers.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_internal.h"
#include "err.h"
#include "log.h"

/* ---- readers ---- */

struct reader {
	struct db_conn *conn;
	struct reader *next;
};

static char reader_path[512];
static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reader *readers;
static __thread struct db_conn *thread_reader;

void db_readers_init(const char *path)
{
	snprintf(reader_path, sizeof(reader_path), "%s", path);
}

struct db_conn *db_reader(void)
{
	char err[256];
	struct reader *r;

	if (thread_reader)
		return thread_reader;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->conn = db_open(reader_path, err, sizeof(err));
	if (!r->conn) {
		log_error("db: reader: %s", err);
		free(r);
		return NULL;
	}
	/* The list is only touched once per thread and at shutdown. */
	pthread_mutex_lock(&readers_lock);
	r->next = readers;
	readers = r;
	pthread_mutex_unlock(&readers_lock);
	thread_reader = r->conn;
	return thread_reader;
}

void db_readers_close(void)
{
	pthread_mutex_lock(&readers_lock);
	while (readers) {
		struct reader *r = readers;

		readers = r->next;
		db_close(r->conn);
		free(r);
	}
	pthread_mutex_unlock(&readers_lock);
	thread_reader = NULL;
}

/* ---- writer ---- */

struct write_op {
	int (*fn)(struct db_conn *c, void *arg);
	void *arg;
	int rc;
	sem_t done; /* posted by the writer once rc is final */
	struct write_op *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work; /* the queue is not empty, or stop */
	struct write_op *head, *tail;
	int stop;
	int running;
	int batch_max;
	struct db_conn *conn;
	pthread_t thread;
} w = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
};

/* Runs one op in its own savepoint so its failure spares the batch. */
static void writer_run_op(struct write_op *op)
{
	if (db_exec_stmt(w.conn, STMT_SAVEPOINT) != 0) {
		op->rc = KV_EDB;
		return;
	}
	op->rc = op->fn(w.conn, op->arg);
	if (op->rc != 0)
		db_exec_stmt(w.conn, STMT_ROLLBACK_TO);
	db_exec_stmt(w.conn, STMT_RELEASE);
}

static void writer_commit_batch(struct write_op *batch)
{
	int rc = db_exec_stmt(w.conn, STMT_BEGIN);
	struct write_op *op;

	for (op = batch; op && rc == 0; op = op->next)
		writer_run_op(op);
	if (rc == 0)
		rc = db_exec_stmt(w.conn, STMT_COMMIT);
	if (rc != 0) {
		/* Nothing of this batch is durable: every caller hears so. */
		db_exec_stmt(w.conn, STMT_ROLLBACK);
		for (op = batch; op; op = op->next)
			op->rc = KV_EDB;
	}
}

static void *writer_main(void *unused)
{
	pthread_mutex_lock(&w.lock);
	for (;;) {
		struct write_op *batch, *op, *last, *next;
		int n = 1;

		while (!w.head && !w.stop)
			pthread_cond_wait(&w.work, &w.lock);
		batch = last = w.head;
		if (!batch)
			break; /* stopping and the queue is empty */
		/* Take up to batch_max queued ops; later ones wait their turn. */
		while (last->next && n < w.batch_max) {
			last = last->next;
			n++;
		}
		w.head = last->next;
		if (!w.head)
			w.tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&w.lock);

		writer_commit_batch(batch);
		/* Wake exactly the callers of this batch, each on its own. */
		for (op = batch; op; op = next) {
			next = op->next;
			sem_post(&op->done);
		}
		pthread_mutex_lock(&w.lock);
	}
	pthread_mutex_unlock(&w.lock);
	return NULL;
}

int db_writer_start(const char *path, int batch_max, char *err, size_t errlen)
{
	w.conn = db_open(path, err, errlen);
	if (!w.conn)
		return KV_EDB;
	w.batch_max = batch_max > 0 ? batch_max : 1;
	w.stop = 0;
	if (pthread_create(&w.thread, NULL, writer_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		db_close(w.conn);
		w.conn = NULL;
		return KV_EIO;
	}
	w.running = 1;
	return 0;
}

int db_write(int (*fn)(struct db_conn *c, void *arg), void *arg)
{
	struct write_op op = {.fn = fn, .arg = arg};
	int rc;

	if (sem_init(&op.done, 0, 0) != 0)
		return KV_EIO;
	pthread_mutex_lock(&w.lock);
	if (!w.running || w.stop) {
		pthread_mutex_unlock(&w.lock);
		sem_destroy(&op.done);
		return KV_EDB;
	}
	if (w.tail)
		w.tail->next = &op;
	else
		w.head = &op;
	w.tail = &op;
	pthread_cond_signal(&w.work);
	pthread_mutex_unlock(&w.lock);
	while (sem_wait(&op.done) != 0)
		; /* EINTR: keep waiting, the writer will post */
	rc = op.rc;
	sem_destroy(&op.done);
	return rc;
}

void db_writer_stop(void)
{
	if (!w.running)
		return;
	/* Queued writes still run: stop only ends the loop once it is empty. */
	pthread_mutex_lock(&w.lock);
	w.stop = 1;
	pthread_cond_signal(&w.work);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.thread, NULL);
	w.running = 0;
	db_close(w.conn);
	w.conn = NULL;
}
