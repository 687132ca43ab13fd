/*
 * Who talks to PostgreSQL from which thread.  Readers: one connection per
 * thread, opened lazily and opened again after it was lost (their Searches'
 * lookups share statements: store_pg_vf.c, src/batch.c).  Writers: one
 * thread (PG_WRITERS) with its own connection, taking groups of queued
 * writes from the queue and committing each group as one transaction
 * (group commit), as the SQLite backend's single writer does; each caller
 * waits for the commit that makes its write durable.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"
#include "store_queue.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/*
 * How long a thread whose connection could not be opened waits before it
 * tries again; meanwhile its reads and writes fail at once with KV_EDB
 * instead of each waiting for a connection attempt of its own.
 */
#define PG_RETRY_FIRST_MS 100
#define PG_RETRY_MAX_MS 2000

/* ---- readers ---- */

struct pg_reader_slot {
	struct store_tx *conn;
	struct pg_reader_slot *next;
};

static char pg_path[1024];
static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pg_reader_slot *readers;
static __thread struct pg_reader_slot *thread_slot;
/* When a thread that could not connect tries again. */
struct pg_retry {
	int64_t at;   /* mono_ms() */
	int ms;       /* the delay that led to `at`; 0 while connected */
	unsigned gen; /* pg_connected_gen when the attempt failed */
};

/*
 * Counts the connections opened, by any thread: once one thread reaches
 * the server again, every other thread waiting out its retry delay tries
 * at its next use instead, so the whole node serves again as soon as the
 * server is back.  Every open counts, not only one after a failed attempt
 * of the same thread: after a restart, the first to reconnect is often a
 * thread whose session had simply been closed, which never failed to
 * connect, while another (say the one answering /readyz) failed while the
 * server was down and would otherwise keep failing for its whole delay.
 */
static _Atomic unsigned pg_connected_gen;

static __thread struct pg_retry thread_retry;

void pg_readers_init(const char *path)
{
	snprintf(pg_path, sizeof(pg_path), "%s", path);
}

/*
 * Opens a connection for a thread that has none (or lost it), at most once
 * per retry delay while nobody has reached the server since its last try.
 */
static struct store_tx *pg_reconnect(const char *who, struct pg_retry *r)
{
	char err[512];
	struct store_tx *c;
	int64_t now = mono_ms();
	unsigned gen = atomic_load(&pg_connected_gen);

	if (now < r->at && gen == r->gen)
		return NULL;
	c = pg_open(pg_path, err, sizeof(err));
	if (c) {
		if (r->ms)
			log_info("store.reconnected", LOG_STR("who", who));
		atomic_fetch_add(&pg_connected_gen, 1);
		r->ms = 0;
		r->at = 0;
		return c;
	}
	if (!r->ms)
		log_error("store.connect_failed", LOG_STR("who", who),
			  LOG_STR("error", err));
	r->ms = r->ms ? r->ms * 2 : PG_RETRY_FIRST_MS;
	if (r->ms > PG_RETRY_MAX_MS)
		r->ms = PG_RETRY_MAX_MS;
	r->at = now + r->ms;
	r->gen = gen;
	return NULL;
}

/*
 * A reader's session commits without waiting for the WAL flush.  Readers
 * write nothing a caller relies on being durable: only the cluster's token
 * buckets and conversion statistics (and a block those decide), which
 * verify_limits.c updates outside the verification's write, one statement
 * each.  Such a statement then holds the shared row of a prefix's bucket
 * for its own run, not for a disk flush that every other request of the
 * range would queue behind.  A server crash may forget the last fraction
 * of a second of counts (wal_writer_delay), never a verification.
 */
static struct store_tx *pg_reader_setup(struct store_tx *c)
{
	PGresult *res;
	int ok;

	if (!c)
		return NULL;
	/* Unprepared: pg_reader_reopen() moves the session to another c. */
	res = PQexec(c->conn, "SET synchronous_commit = off");
	ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok) {
		log_error("store.reader_settings_failed",
			  LOG_STRN("error", PQerrorMessage(c->conn),
				   strcspn(PQerrorMessage(c->conn), "\n")));
		pg_close(c);
		return NULL;
	}
	c->reader = 1;
	return c;
}

struct store_tx *pg_reader(void)
{
	struct pg_reader_slot *s = thread_slot;

	if (s && s->conn && !s->conn->broken)
		return s->conn;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		/* The list is only touched once per thread and at shutdown. */
		pthread_mutex_lock(&readers_lock);
		s->next = readers;
		readers = s;
		pthread_mutex_unlock(&readers_lock);
		thread_slot = s;
	}
	if (s->conn) {
		pg_close(s->conn);
		s->conn = NULL;
	}
	s->conn = pg_reader_setup(pg_reconnect("reader", &thread_retry));
	return s->conn;
}

/*
 * A session found closed now says nothing about the server, which a
 * restart may have brought back long since: the first try to open another
 * is made at once, whatever the retry delay of an earlier failure.  A
 * failure still sets the delay, which pg_reader() then keeps to.
 */
int pg_reader_reopen(struct store_tx *c)
{
	struct store_tx *fresh;

	thread_retry.at = 0;
	fresh = pg_reader_setup(pg_reconnect("reader", &thread_retry));
	if (!fresh)
		return KV_EDB;
	/* The caller holds c: keep the struct, take the new session. */
	pg_stash_clear(c);
	PQfinish(c->conn);
	c->conn = fresh->conn;
	c->nprepared = 0;
	c->broken = 0;
	c->raced = 0;
	free(fresh);
	return 0;
}

/*
 * No read transaction: each statement reads its own snapshot.  The
 * callers tolerate that (the SQLite backend's snapshot only saves it lock
 * round trips), and a BEGIN and a COMMIT would cost two round trips to
 * the server for every request.  What a call read ahead (a Search's
 * checks and events) is dropped at both ends, never kept for the next.
 */
static void pg_read_forget(void)
{
	if (thread_slot && thread_slot->conn)
		pg_stash_clear(thread_slot->conn);
}

void pg_read_begin(void)
{
	pg_read_forget();
}

void pg_read_end(void)
{
	pg_read_forget();
}

void pg_readers_close(void)
{
	pthread_mutex_lock(&readers_lock);
	while (readers) {
		struct pg_reader_slot *s = readers;

		readers = s->next;
		pg_close(s->conn);
		free(s);
	}
	pthread_mutex_unlock(&readers_lock);
	thread_slot = NULL;
}

/* ---- writers ---- */

/*
 * Writer threads, each with a connection: one.  Several would let a group
 * run while another waits for its commit's WAL flush, but every Request's
 * group notifies the job runners, and PostgreSQL serializes the commits of
 * notifying transactions on one lock: the second writer's COMMIT waits for
 * the first's anyway.  Meanwhile more writers split the queue into smaller
 * groups, each paying its BEGIN and COMMIT round trips and the server's
 * commit.  On the bench's 2 cores one writer served 1.1 to 1.8 times the
 * Requests of three (node and server CPU a Request: 480 against 600 to
 * 900 us), in each of four alternating runs (bench/README.md).  The loop
 * below still serves any number of them.
 */
#define PG_WRITERS 1
/* A write that lost a race with another session runs again this often. */
#define PG_RACE_TRIES 4

struct pg_writer {
	struct store_tx *conn;
	pthread_t thread;
	struct pg_retry retry;
};

static struct {
	struct store_queue q;
	int nwriters;
	struct pg_writer writers[PG_WRITERS];
} w = {
	.q = STORE_QUEUE_INIT,
};

/*
 * How long an op of a group waits for a row lock once the transaction
 * holds the rows of an op before it.  Two groups (on two writers, or two
 * nodes) that lock the same verifications in opposite orders would wait on
 * each other until PostgreSQL's deadlock check (deadlock_timeout, 1 s by
 * default) cancelled one; ops arrive in any order, so no lock order can be
 * imposed on them.  Instead a group gives up on a lock held by another
 * session after this long, and its ops run again each alone, where an op
 * waits freely since it holds nothing else: a cycle of waits cannot form,
 * and a lock that was merely busy costs the group its shared commit.  The
 * first op of a group holds nothing before it, so it waits freely too.
 */
static const char pg_group_lock_wait[] = "SET LOCAL lock_timeout = '50ms'";

/*
 * A group's leads (store_write_op.lead), sent in one pipeline: each goes
 * after what is deferred (the group's BEGIN before the first, its lock
 * wait after it), and their results stay on c for the ops' runs, which
 * take them in order instead of a round trip each (pg_lead()).  The
 * server runs them all before any op's further statements: ops of one
 * group are concurrent requests, so any order of theirs is one they could
 * have come in, and the one live verification a number may have is an
 * index that holds whatever the order.  When no lead goes, nothing is
 * sent and the BEGIN stays deferred.  Returns 0, or the error: *failed
 * the op whose lead failed (the server skipped the rest), and the
 * transaction is then to be rolled back.
 */
static int pg_group_leads(struct store_tx *c, struct store_write_op *batch,
			  struct store_write_op *end,
			  struct store_write_op **lead_ops,
			  struct store_write_op **failed)
{
	struct store_write_op *op;
	int sent = PQenterPipelineMode(c->conn) == 1;
	int rc = 0;
	PGresult *r;

	c->leading = 1;
	for (op = batch; sent && op != end; op = op->next) {
		int n = c->nleads, lrc;

		if (!op->lead || n >= PG_LEADS_MAX)
			continue;
		lrc = op->lead(c, op->arg);
		sent = lrc == 0 || lrc == KV_ENOTFOUND;
		if (c->nleads > n)
			lead_ops[n] = op;
		if (sent && n == 0 && c->nleads == 1)
			pg_defer(c, pg_group_lock_wait);
	}
	c->leading = 0;
	if (sent && !c->nleads)
		return PQexitPipelineMode(c->conn) == 1 ? 0 : KV_EDB;
	if (!sent || PQpipelineSync(c->conn) != 1) {
		c->defer_failed = 1;
		rc = pg_fail(c, NULL, "group leads");
		c->broken = 1;
		return rc;
	}
	for (int k = 0; k < c->nleads; k++)
		c->lead_res[k] = NULL;
	for (int k = 0; k < c->nleads && !c->broken; k++) {
		for (int d = 0; d <= c->lead_deferred[k]; d++) {
			ExecStatusType st;

			r = pg_pipeline_next(c->conn);
			if (!r) {
				c->defer_failed |= d < c->lead_deferred[k];
				rc = pg_fail(c, NULL, "group leads");
				c->broken = 1;
				break;
			}
			st = PQresultStatus(r);
			if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
				c->defer_failed |= d < c->lead_deferred[k];
				if (rc == 0) {
					rc = pg_fail(c, r, "group lead");
					*failed = d == c->lead_deferred[k]
							  ? lead_ops[k]
							  : NULL;
				}
				PQclear(r);
			} else if (d == c->lead_deferred[k]) {
				c->lead_res[k] = r;
			} else {
				PQclear(r);
			}
		}
	}
	if (c->broken)
		return rc;
	r = pg_pipeline_next(c->conn);
	if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC ||
	    PQexitPipelineMode(c->conn) != 1) {
		PQclear(r);
		c->broken = 1;
		return rc ? rc : KV_EDB;
	}
	PQclear(r);
	return rc;
}

/* The ops of [batch, end) that have a lead: 2 or more make it pay. */
static int pg_group_has_leads(struct store_write_op *batch,
			      struct store_write_op *end)
{
	int n = 0;

	for (struct store_write_op *op = batch; op != end && n < 2;
	     op = op->next)
		n += op->lead != NULL;
	return n >= 2;
}

/*
 * Runs ops [batch, end) in one transaction on c.  Returns 0 when
 * committed, or non-zero when an op failed (other than "not found", which
 * writes nothing) or BEGIN or COMMIT failed; then nothing of the group is
 * stored.  *failed is the op that failed, NULL if none did; *begun 0 when
 * BEGIN failed (no op ran).
 */
static int pg_try_group(struct store_tx *c, struct store_write_op *batch,
			struct store_write_op *end,
			struct store_write_op **failed, int *begun)
{
	struct store_write_op *op;
	struct store_write_op *lead_ops[PG_LEADS_MAX] = {0};
	unsigned nops = 0;
	uint64_t t0;
	int rc = 0, leads = 0, lead = 0;

	*failed = NULL;
	c->ndeferred = 0;
	c->defer_failed = 0;
	c->in_write = 1;
	c->next_id = 0;
	c->raced = 0;
	/* BEGIN goes with the first statement, in its round trip. */
	pg_defer(c, "BEGIN");
	if (pg_group_has_leads(batch, end)) {
		rc = pg_group_leads(c, batch, end, lead_ops, failed);
		leads = c->nleads;
	}
	/* The closures' metrics count only once their commit is done. */
	metrics_tx_begin();
	for (op = batch; op != end && rc == 0; op = op->next) {
		int has_lead = lead < leads && lead_ops[lead] == op;

		c->raced = 0;
		c->lead_open = has_lead;
		op->rc = op->fn(c, op->arg);
		c->lead_open = 0;
		nops++;
		if (has_lead && c->lead_next != ++lead) {
			/* Its lead ran but the op never read what it did. */
			log_error("store.lead_unread");
			op->rc = KV_EDB;
		}
		if (op->rc != 0 && op->rc != KV_ENOTFOUND) {
			rc = op->rc;
			*failed = op;
		} else if (op == batch && op->next != end && !leads) {
			pg_defer(c, pg_group_lock_wait);
		}
	}
	c->in_write = 0;
	pg_leads_clear(c);
	*begun = !c->defer_failed;
	t0 = metrics_now_ns();
	if (rc == 0)
		rc = pg_commit(c);
	metrics_tx_end(rc == 0);
	if (rc == 0) {
		metrics_observe(M_STORE_BATCH, MB_POSTGRES, 0, nops);
		metrics_observe(M_STORE_COMMIT, MB_POSTGRES, 0,
				metrics_since(t0));
	}
	if (rc != 0 && !c->broken &&
	    PQtransactionStatus(c->conn) != PQTRANS_IDLE)
		pg_rollback(c);
	c->ndeferred = 0;
	return rc;
}

/*
 * One op in a transaction of its own.  An op that lost a race with
 * another session (a unique violation, a serialization failure or a
 * deadlock in one of its statements) runs again from its inputs: it then
 * sees what the other session committed (the live verification another
 * node created) and answers accordingly, instead of with an error.
 */
static void pg_try_alone(struct store_tx *c, struct store_write_op *op)
{
	struct store_write_op *failed;
	int begun;

	for (int i = 0; i < PG_RACE_TRIES; i++) {
		int rc = pg_try_group(c, op, op->next, &failed, &begun);

		if (rc == 0)
			return;
		op->rc = c->broken ? KV_EDB : rc;
		if (!failed || !c->raced || c->broken)
			return;
		log_debug("store.write_retried");
	}
}

/*
 * The writer's connection, opened again if it was lost (at most once per
 * retry delay), or NULL while the server cannot be reached.
 */
static struct store_tx *pg_writer_conn(struct pg_writer *wr)
{
	if (wr->conn && !wr->conn->broken)
		return wr->conn;
	pg_close(wr->conn);
	wr->conn = pg_reconnect("writer", &wr->retry);
	return wr->conn;
}

/*
 * Group commit.  The common case is one transaction for the whole group.
 * If an op fails, the group is rolled back and each op runs again in a
 * transaction of its own, so one bad op costs only itself and no caller
 * is ever told "ok" for a change that was not committed.  A connection
 * found lost at BEGIN (sent with the group's first statement, which the
 * server then never ran) had run nothing of the group, so the group runs
 * once more on a new connection: an idle connection that a failover or a
 * server restart closed costs its next group nothing.  A connection lost
 * later fails every op of the group with KV_EDB (a COMMIT whose answer
 * was lost may or may not have been applied: it is not acknowledged
 * either way).
 */
static void pg_writer_run(struct pg_writer *wr, struct store_write_op *batch)
{
	struct store_tx *c = pg_writer_conn(wr);
	struct store_write_op *op, *failed = NULL;
	int begun = 0, commit_busy;
	int rc = KV_EDB;

	if (c)
		rc = pg_try_group(c, batch, NULL, &failed, &begun);
	if (c && rc != 0 && !begun && c->broken) {
		wr->retry.at = 0;
		c = pg_writer_conn(wr);
		if (c)
			rc = pg_try_group(c, batch, NULL, &failed, &begun);
	}
	if (rc == 0)
		return;
	/*
	 * Every op ran, and the COMMIT was refused on a lock: the lock that
	 * serializes the commits of transactions that notify (the jobs'
	 * pg_notify), which the group's short lock wait also bounds.  The
	 * server rolled the group back, so each op runs again alone, where
	 * it waits freely, instead of failing every request of the group.
	 */
	commit_busy = c && !c->broken && begun && !failed && rc == KV_EBUSY;
	if (!c || c->broken || (!failed && !commit_busy)) {
		for (op = batch; op; op = op->next)
			op->rc = !c || c->broken ? KV_EDB : rc;
		return;
	}
	/* One op alone has had its try, unless it lost a race. */
	if (!commit_busy && !batch->next && !c->raced)
		return;
	for (op = batch; op; op = op->next)
		pg_try_alone(c, op);
}

static void *pg_writer_main(void *arg)
{
	struct pg_writer *wr = arg;
	struct store_write_op *group;

	pthread_setname_np(pthread_self(), "kv-pg-writer");
	while ((group = store_queue_take(&w.q)) != NULL) {
		pg_writer_run(wr, group);
		store_queue_finish(group);
	}
	return NULL;
}

static void pg_writers_close(void)
{
	for (int i = 0; i < PG_WRITERS; i++) {
		pg_close(w.writers[i].conn);
		w.writers[i].conn = NULL;
	}
}

int pg_writer_start(const char *path, int batch_max, char *err, size_t errlen)
{
	pg_readers_init(path);
	memset(w.writers, 0, sizeof(w.writers));
	/* All connections now, so that a wrong setting stops the start. */
	for (int i = 0; i < PG_WRITERS; i++) {
		w.writers[i].conn = pg_open(path, err, errlen);
		if (!w.writers[i].conn) {
			pg_writers_close();
			return KV_EDB;
		}
	}
	store_queue_open(&w.q, batch_max);
	w.nwriters = 0;
	for (int i = 0; i < PG_WRITERS; i++) {
		if (pthread_create(&w.writers[i].thread, NULL, pg_writer_main,
				   &w.writers[i]) != 0) {
			snprintf(err, errlen, "cannot start a writer thread");
			pg_writer_stop();
			return KV_EIO;
		}
		w.nwriters++;
	}
	return 0;
}

int pg_write_submit(struct store_write_op *op)
{
	return store_queue_push(&w.q, op);
}

int pg_write(int (*fn)(struct store_tx *c, void *arg), void *arg)
{
	return store_queue_write(&w.q, fn, arg);
}

void pg_writer_stop(void)
{
	if (!w.q.running)
		return;
	store_queue_close(&w.q);
	for (int i = 0; i < w.nwriters; i++)
		pthread_join(w.writers[i].thread, NULL);
	w.nwriters = 0;
	store_queue_closed(&w.q);
	pg_writers_close();
}
