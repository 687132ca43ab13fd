/*
 * The PostgreSQL backend's connections and the helpers its other files run
 * SQL with: parameters, statements prepared lazily per connection, the
 * mapping of server errors to KV_E*, column readers, and the table of
 * operations store.c forwards to.  The operations live by table family in
 * store_pg_keys.c, store_pg_vf.c, store_pg_abuse.c, store_pg_jobs.c and
 * store_pg_purge.c; threads and connections in store_pg_writer.c.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"
#include "store_pg.h"
#include "err.h"
#include "log.h"
#include "metrics.h"

/* ---- parameters ---- */

void pg_params_init(struct pg_params *p)
{
	p->n = 0;
}

/*
 * The slot of the next parameter, or -1 when the statement has too many:
 * the server then refuses the statement (its parameter count differs), so
 * the mistake shows on the first run instead of corrupting memory.
 */
static int pg_param_slot(struct pg_params *p)
{
	if (p->n >= PG_PARAMS_MAX) {
		log_error("store.too_many_params",
			  LOG_INT("max", PG_PARAMS_MAX));
		return -1;
	}
	return p->n++;
}

void pg_param_int(struct pg_params *p, int64_t v)
{
	int i = pg_param_slot(p);

	if (i < 0)
		return;
	snprintf(p->numbers[i], sizeof(p->numbers[i]), "%" PRId64, v);
	p->values[i] = p->numbers[i];
	p->lengths[i] = 0;
	p->formats[i] = 0;
}

void pg_param_text(struct pg_params *p, const char *s)
{
	int i = pg_param_slot(p);

	if (i < 0)
		return;
	p->values[i] = s ? s : "";
	p->lengths[i] = 0;
	p->formats[i] = 0;
}

void pg_param_bytea(struct pg_params *p, const unsigned char *b, size_t len)
{
	int i = pg_param_slot(p);

	if (i < 0)
		return;
	/* Binary format: the bytes as they are, no escaping either way. */
	p->values[i] = b && len ? (const char *)b : "";
	p->lengths[i] = b ? (int)len : 0;
	p->formats[i] = 1;
}

/* ---- errors ---- */

/*
 * SQLSTATEs that mean "a race with another session; the same work may
 * succeed if run again": serialization failure, deadlock, lock not
 * available (lock_timeout) and query cancelled (statement_timeout).
 */
static int pg_state_busy(const char *state)
{
	static const char *const busy[] = {"40001", "40P01", "55P03", "57014"};

	for (size_t i = 0; i < sizeof(busy) / sizeof(busy[0]); i++)
		if (strcmp(state, busy[i]) == 0)
			return 1;
	return 0;
}

/*
 * SQLSTATEs after which the session is gone even if libpq has not noticed
 * yet: connection exceptions (class 08) and the server shutting the
 * session down (administrator command, crash, cannot connect now).
 */
static int pg_state_lost(const char *state)
{
	return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	       strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0;
}

/*
 * Whether the session is gone, after a statement failed with an error of
 * libpq's own (no SQLSTATE: the server said nothing about it).  libpq sets
 * CONNECTION_BAD when a read finds the socket closed, but a send that
 * failed ("server closed the connection unexpectedly") is reported with the
 * status still OK when the read that followed got bytes the server wrote
 * before it went, such as the FATAL it sends idle sessions when it shuts
 * down: the end of the stream is only read after them.  So what is pending
 * is read now, never waiting: a closed socket gives its end within a read
 * or two, a live idle one gives nothing and stays OK.  Errors the server
 * sent always carry a SQLSTATE and never get here.
 */
static int pg_conn_gone(PGconn *conn)
{
	for (int i = 0; i < 4; i++) {
		if (PQstatus(conn) == CONNECTION_BAD || PQsocket(conn) < 0)
			return 1;
		if (!PQconsumeInput(conn))
			return 1;
	}
	return PQstatus(conn) == CONNECTION_BAD;
}

int pg_fail(struct store_tx *c, PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
				: NULL;
	/*
	 * The primary message only: the DETAIL of a unique violation quotes
	 * the key's values, which may be a phone number.
	 */
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			      : NULL;
	/*
	 * libpq's own errors (a lost connection) carry no SQLSTATE, so the
	 * connection itself is looked at.  Before the message is: reading
	 * may add to libpq's, and move it.
	 */
	int lost =
		PQstatus(c->conn) == CONNECTION_BAD ||
		(state && pg_state_lost(state)) ||
		(!state && (!res || PQresultStatus(res) == PGRES_FATAL_ERROR) &&
		 pg_conn_gone(c->conn));
	int len;

	if (!msg)
		msg = PQerrorMessage(c->conn);
	/* libpq's own messages run over several lines: the first says it. */
	len = (int)strcspn(msg, "\n");
	if (lost) {
		c->broken = 1;
		log_error("store.connection_lost", LOG_STR("op", what),
			  LOG_STRN("error", msg, len));
		return KV_EDB;
	}
	if (state && strcmp(state, "23505") == 0) {
		c->raced = 1;
		log_warn("store.duplicate", LOG_STR("op", what),
			 LOG_STRN("error", msg, len));
		return KV_EDUP;
	}
	if (state && pg_state_busy(state)) {
		/* A timeout is not worth waiting for again. */
		c->raced = state[0] == '4';
		log_warn("store.busy", LOG_STR("op", what),
			 LOG_STR("state", state), LOG_STRN("error", msg, len));
		return KV_EBUSY;
	}
	log_error("store.error", LOG_STR("op", what), LOG_STR("state", state),
		  LOG_STRN("error", msg, len));
	return KV_EDB;
}

/* ---- statements ---- */

/*
 * The number under which c prepared `sql`, preparing it on first use;
 * -1 when the connection's table is full (the statement then runs
 * unprepared, which still works).  Statement names are per session, so a
 * new connection starts with none.
 */
static int pg_prepare(struct store_tx *c, const char *sql, const char *what,
		      int *rc)
{
	char name[16];
	PGresult *res;
	int i;

	*rc = 0;
	for (i = 0; i < c->nprepared; i++)
		if (c->prepared[i] == sql)
			return i;
	if (c->nprepared >= PG_STMT_MAX)
		return -1;
	snprintf(name, sizeof(name), "kv%d", i);
	res = PQprepare(c->conn, name, sql, 0, NULL);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		*rc = pg_fail(c, res, what);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	c->prepared[i] = sql;
	c->nprepared++;
	return i;
}

/*
 * The next result of a pipeline, past the NULL that ends each statement's
 * results; NULL when the connection failed and none will come.
 */
PGresult *pg_pipeline_next(PGconn *conn)
{
	for (int nulls = 0; nulls < 2; nulls++) {
		PGresult *r = PQgetResult(conn);

		if (r || PQstatus(conn) == CONNECTION_BAD)
			return r;
	}
	return NULL;
}

/*
 * pg_query_once() with the deferred statements ahead of the statement
 * (prepared as number i, or unprepared when i < 0), all in one pipeline:
 * one round trip, each run in turn by the server, which skips the rest
 * of the pipeline once one fails.  Returns as pg_query_once().
 */
static int pg_query_deferred(struct store_tx *c, const char *sql, int i,
			     const struct pg_params *p, PGresult **res,
			     const char *what)
{
	int n = p ? p->n : 0;
	const char *const *values = p ? p->values : NULL;
	const int *lengths = p ? p->lengths : NULL;
	const int *formats = p ? p->formats : NULL;
	int ndeferred = c->ndeferred;
	int sent = PQenterPipelineMode(c->conn) == 1;
	int rc = 0;
	PGresult *r;

	c->ndeferred = 0;
	for (int d = 0; sent && d < ndeferred; d++)
		sent = PQsendQueryParams(c->conn, c->deferred[d], 0, NULL, NULL,
					 NULL, NULL, 0) == 1;
	if (sent && i >= 0) {
		char name[16];

		snprintf(name, sizeof(name), "kv%d", i);
		sent = PQsendQueryPrepared(c->conn, name, n, values, lengths,
					   formats, 0) == 1;
	} else if (sent) {
		sent = PQsendQueryParams(c->conn, sql, n, NULL, values, lengths,
					 formats, 0) == 1;
	}
	/*
	 * A pipeline that could not be sent, or whose results stopped short,
	 * leaves the session in a state nobody knows: it is not used again
	 * (its owner reconnects).  Nothing of it was committed.
	 */
	if (!sent || PQpipelineSync(c->conn) != 1) {
		c->defer_failed = 1;
		rc = pg_fail(c, NULL, what);
		c->broken = 1;
		return rc;
	}
	for (int d = 0; d <= ndeferred; d++) {
		r = pg_pipeline_next(c->conn);
		if (!r) {
			c->defer_failed |= d < ndeferred;
			rc = pg_fail(c, NULL, what);
			c->broken = 1;
			return rc;
		}
		if (d < ndeferred && PQresultStatus(r) != PGRES_COMMAND_OK) {
			c->defer_failed = 1;
			if (rc == 0)
				rc = pg_fail(c, r, what);
			PQclear(r);
		} else if (d < ndeferred) {
			PQclear(r);
		} else if (rc == 0 && (PQresultStatus(r) == PGRES_COMMAND_OK ||
				       PQresultStatus(r) == PGRES_TUPLES_OK)) {
			*res = r;
		} else {
			/* Its own error, or skipped after a deferred one's. */
			if (rc == 0)
				rc = pg_fail(c, r, what);
			PQclear(r);
		}
	}
	r = pg_pipeline_next(c->conn);
	if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC ||
	    PQexitPipelineMode(c->conn) != 1) {
		PQclear(r);
		PQclear(*res);
		*res = NULL;
		c->broken = 1;
		return KV_EDB;
	}
	PQclear(r);
	if (rc != 0) {
		PQclear(*res);
		*res = NULL;
	}
	return rc;
}

int pg_lead(struct store_tx *c, const char *sql, const struct pg_params *p)
{
	int n = p ? p->n : 0;
	const char *const *values = p ? p->values : NULL;
	const int *lengths = p ? p->lengths : NULL;
	const int *formats = p ? p->formats : NULL;
	char name[16];
	int i;

	if (!c->leading || c->nleads >= PG_LEADS_MAX)
		return KV_EDB;
	/*
	 * Only a statement the session has prepared: PQprepare would wait
	 * for its answer in the middle of the pipeline, and an unprepared
	 * one is planned again each time.  The op runs it itself then, and
	 * prepares it for the next group.
	 */
	for (i = 0; i < c->nprepared && c->prepared[i] != sql; i++)
		;
	if (i == c->nprepared)
		return KV_ENOTFOUND;
	for (int d = 0; d < c->ndeferred; d++)
		if (PQsendQueryParams(c->conn, c->deferred[d], 0, NULL, NULL,
				      NULL, NULL, 0) != 1)
			return KV_EDB;
	c->lead_deferred[c->nleads] = c->ndeferred;
	c->ndeferred = 0;
	snprintf(name, sizeof(name), "kv%d", i);
	if (PQsendQueryPrepared(c->conn, name, n, values, lengths, formats,
				0) != 1)
		return KV_EDB;
	c->lead_sql[c->nleads++] = sql;
	return 0;
}

void pg_leads_clear(struct store_tx *c)
{
	for (int i = c->lead_next; i < c->nleads; i++)
		PQclear(c->lead_res[i]);
	c->nleads = 0;
	c->lead_next = 0;
	c->lead_open = 0;
}

/* One run of pg_query(): 0 with *res, or the error with *res NULL. */
static int pg_query_once(struct store_tx *c, const char *sql,
			 const struct pg_params *p, PGresult **res,
			 const char *what)
{
	int n = p ? p->n : 0;
	const char *const *values = p ? p->values : NULL;
	const int *lengths = p ? p->lengths : NULL;
	const int *formats = p ? p->formats : NULL;
	int rc;
	int i;
	ExecStatusType st;

	*res = NULL;
	pg_stash_clear(c);
	/* The writer sent this statement ahead: its result is here. */
	if (c->lead_open && c->lead_next < c->nleads &&
	    c->lead_sql[c->lead_next] == sql) {
		c->lead_open = 0;
		*res = c->lead_res[c->lead_next];
		c->lead_res[c->lead_next++] = NULL;
		return *res ? 0 : KV_EDB;
	}
	/* A failure before the pipeline is sent leaves the deferred unsent. */
	if (c->broken || PQstatus(c->conn) != CONNECTION_OK) {
		c->broken = 1;
		c->defer_failed |= c->ndeferred > 0;
		return KV_EDB;
	}
	i = pg_prepare(c, sql, what, &rc);
	if (rc != 0) {
		c->defer_failed |= c->ndeferred > 0;
		return rc;
	}
	if (c->ndeferred)
		return pg_query_deferred(c, sql, i, p, res, what);
	if (i >= 0) {
		char name[16];

		snprintf(name, sizeof(name), "kv%d", i);
		*res = PQexecPrepared(c->conn, name, n, values, lengths,
				      formats, 0);
	} else {
		*res = PQexecParams(c->conn, sql, n, NULL, values, lengths,
				    formats, 0);
	}
	st = *res ? PQresultStatus(*res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	rc = pg_fail(c, *res, what);
	PQclear(*res);
	*res = NULL;
	return rc;
}

/*
 * Whether an idle session is already gone: a server that restarted or
 * failed over closed it, and its goodbye (a FATAL, the end of the stream)
 * waits on the socket.  One poll() when nothing is pending, the usual case.
 */
static int pg_idle_gone(struct store_tx *c)
{
	struct pollfd pfd = {.fd = PQsocket(c->conn), .events = POLLIN};

	if (c->broken || pfd.fd < 0)
		return 1;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	return pg_conn_gone(c->conn);
}

int pg_query(struct store_tx *c, const char *sql, const struct pg_params *p,
	     PGresult **res, const char *what)
{
	uint64_t t0 = c->reader ? metrics_now_ns() : 0;
	int rc;

	/*
	 * A reader's statement that writes (a bucket's token, a count) is
	 * never run twice (below), so a session that was closed while idle
	 * is found out before such a statement is sent, and it goes on a
	 * new one; else the first Request on each HTTP thread after a
	 * restart would fail.
	 */
	if (c->reader && strncmp(sql, "SELECT", 6) != 0 && pg_idle_gone(c))
		pg_reader_reopen(c);
	rc = pg_query_once(c, sql, p, res, what);

	/*
	 * A reader's connection that a server restart or a failover closed
	 * is only found out by its next statement.  A read runs in no
	 * transaction and changes nothing, so it runs once more on a new
	 * connection, and a restart costs no request an error.  Anything
	 * but a SELECT might have been applied before the connection went,
	 * so it is never run twice.
	 */
	if (rc == KV_EDB && c->broken && c->reader &&
	    strncmp(sql, "SELECT", 6) == 0 && pg_reader_reopen(c) == 0)
		rc = pg_query_once(c, sql, p, res, what);
	/* What the thread waited, the reconnection included. */
	if (c->reader)
		metrics_observe(M_STORE_READ, MB_POSTGRES, 0,
				metrics_since(t0));
	return rc;
}

int pg_run(struct store_tx *c, const char *sql, const struct pg_params *p,
	   const char *what)
{
	PGresult *res = NULL;
	int rc = pg_query(c, sql, p, &res, what);

	PQclear(res);
	return rc;
}

int pg_row(struct store_tx *c, const char *sql, const struct pg_params *p,
	   PGresult **res, const char *what)
{
	int rc = pg_query(c, sql, p, res, what);

	if (rc != 0)
		return rc;
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		return KV_ENOTFOUND;
	}
	return 0;
}

int pg_int_row(struct store_tx *c, const char *sql, const struct pg_params *p,
	       int64_t *out, const char *what)
{
	PGresult *res = NULL;
	int rc = pg_row(c, sql, p, &res, what);

	if (rc == 0)
		*out = pg_get_int(res, 0, 0);
	PQclear(res);
	return rc;
}

int64_t pg_changed(PGresult *res)
{
	const char *s = res ? PQcmdTuples(res) : "";

	return *s ? strtoll(s, NULL, 10) : 0;
}

int pg_run_found(struct store_tx *c, const char *sql, const struct pg_params *p,
		 const char *what)
{
	PGresult *res = NULL;
	int rc = pg_query(c, sql, p, &res, what);

	if (rc == 0 && pg_changed(res) == 0)
		rc = KV_ENOTFOUND;
	PQclear(res);
	return rc;
}

/* ---- columns ---- */

int64_t pg_get_int(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

void pg_get_text(PGresult *res, int row, int col, char *out, size_t outlen)
{
	const char *s = PQgetvalue(res, row, col);
	size_t n = (size_t)PQgetlength(res, row, col);

	if (outlen == 0)
		return;
	if (n >= outlen)
		n = outlen - 1;
	if (n)
		memcpy(out, s, n);
	out[n] = '\0';
}

static int pg_hex_nibble(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Decodes a bytea column in text format, which the server sends as "\x"
 * and two hex digits a byte (bytea_output = hex, the default since 9.0).
 * Returns the length, or -1 if it is not that form or longer than cap.
 */
static long pg_bytea_decode(PGresult *res, int row, int col, unsigned char *out,
			    size_t cap)
{
	const char *s = PQgetvalue(res, row, col);
	size_t len = (size_t)PQgetlength(res, row, col);
	size_t n;

	if (PQgetisnull(res, row, col))
		return 0;
	if (len < 2 || s[0] != '\\' || s[1] != 'x' || len % 2 != 0)
		return -1;
	n = (len - 2) / 2;
	if (n > cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = pg_hex_nibble(s[2 + 2 * i]);
		int lo = pg_hex_nibble(s[3 + 2 * i]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (long)n;
}

void pg_get_bytea(PGresult *res, int row, int col, unsigned char *out,
		  size_t len)
{
	if (pg_bytea_decode(res, row, col, out, len) != (long)len)
		memset(out, 0, len);
}

size_t pg_get_bytea_var(PGresult *res, int row, int col, unsigned char *out,
			size_t cap)
{
	long n = pg_bytea_decode(res, row, col, out, cap);

	return n < 0 ? 0 : (size_t)n;
}

const char *pg_locking(const struct store_tx *c, const char *plain,
		       const char *locking)
{
	return c->in_write ? locking : plain;
}

/* ---- connections ---- */

/*
 * The last statement of every new session, for its backend's malloc.
 * glibc returns the top of its heap to the kernel (brk) when more than its
 * trim threshold is free, and that starts at 128 KiB: a statement's executor
 * memory, freed at its end, then left and came back every statement, with
 * the page faults and TLB flushes that go with it.  Freeing a block that
 * glibc mmap()ed (256 KiB here, above its threshold) raises that threshold
 * to the block's size and the trim threshold to twice it, for the life of
 * the backend.  Measured on the bench's Search, which no other statement
 * of the session had warmed: 2.3 brk calls a Search and 195 us of
 * PostgreSQL CPU, 72 us after (4 MiB did no better, and cost a new
 * connection 40 ms of page faults on the test machine, 256 KiB 3 ms).
 * Nothing changes on a server whose malloc is not glibc's or was tuned by
 * MALLOC_* variables (docs/SCALING.md).
 */
#define PG_MALLOC_SQL "SELECT length(repeat('x', 262144))"

/*
 * Session settings every connection gets.  statement_timeout bounds a
 * statement stuck behind a lock or a sick server (the writer's callers
 * wait on it); idle_in_transaction_session_timeout frees the row locks of
 * a node that hangs mid-transaction; lock_timeout turns a long wait for a
 * row another node holds into KV_EBUSY, which the writer retries.  They
 * are SET after connecting rather than passed as `options`, so that a
 * setting's own options do not silently drop them and a pooler in session
 * mode, which may refuse startup options, keeps them too.
 */
static const char pg_session_sql[] =
	"SET statement_timeout = " PG_STATEMENT_TIMEOUT ";"
	"SET lock_timeout = '5s';"
	"SET idle_in_transaction_session_timeout = '30s';"
	"SET synchronous_commit = on;" PG_MALLOC_SQL;

/*
 * The server's notices ("relation ... already exists, skipping") go to the
 * debug log instead of libpq's default, stderr.
 */
static void pg_notice(void *arg, const char *message)
{
	(void)arg;
	log_debug("store.notice",
		  LOG_STRN("message", message, strcspn(message, "\n")));
}

struct store_tx *pg_connect(const char *conninfo, char *err, size_t errlen)
{
	/*
	 * Defaults first and the setting (expanded: a URI or a keyword
	 * string) last, so that anything the setting names wins.  TCP
	 * keepalives and a user timeout notice a dead server or a failover
	 * in seconds instead of the kernel's two hours.
	 */
	static const char *const keys[] = {"application_name",
					   "connect_timeout",
					   "keepalives",
					   "keepalives_idle",
					   "keepalives_interval",
					   "keepalives_count",
					   "tcp_user_timeout",
					   "dbname",
					   NULL};
	const char *values[] = {"kookooverify", "5",      "1", "10", "5", "3",
				"15000",        conninfo, NULL};
	struct store_tx *c = calloc(1, sizeof(*c));
	PGresult *res = NULL;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->conn = PQconnectdbParams(keys, values, 1);
	if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
		snprintf(err, errlen, "postgresql: %s",
			 c->conn ? PQerrorMessage(c->conn) : "out of memory");
		goto fail;
	}
	PQsetNoticeProcessor(c->conn, pg_notice, NULL);
	/* The last statement's result: PG_MALLOC_SQL's row. */
	res = PQexec(c->conn, pg_session_sql);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "postgresql: session settings: %s",
			 PQerrorMessage(c->conn));
		goto fail;
	}
	PQclear(res);
	return c;
fail:
	/* libpq ends its messages with a newline. */
	err[strcspn(err, "\n")] = '\0';
	PQclear(res);
	pg_close(c);
	return NULL;
}

struct store_tx *pg_open(const char *path, char *err, size_t errlen)
{
	struct store_tx *c = pg_connect(path, err, errlen);
	int version;

	if (!c)
		return NULL;
	version = pg_schema_read(c, err, errlen);
	if (version == pg_schema_version())
		return c;
	if (version >= 0)
		snprintf(err, errlen,
			 "postgresql: schema version %d, this program needs "
			 "%d: run `kookooverify migrate`",
			 version, pg_schema_version());
	pg_close(c);
	return NULL;
}

void pg_stash_set(struct store_tx *c, struct pg_shared_res *sr, int row,
		  int64_t id)
{
	pg_stash_clear(c);
	c->stash = sr;
	c->stash_row = row;
	c->stash_id = id;
}

void pg_shared_release(struct pg_shared_res *sr)
{
	if (sr && atomic_fetch_sub(&sr->refs, 1) == 1) {
		PQclear(sr->res);
		free(sr);
	}
}

void pg_stash_clear(struct store_tx *c)
{
	struct pg_shared_res *sr = c->stash;

	c->stash = NULL;
	pg_shared_release(sr);
}

void pg_close(struct store_tx *c)
{
	if (!c)
		return;
	pg_stash_clear(c);
	pg_leads_clear(c);
	PQfinish(c->conn);
	free(c);
}

/* ---- transactions ---- */

int pg_begin(struct store_tx *c)
{
	return pg_run(c, "BEGIN", NULL, "begin");
}

/*
 * sql (no parameters, no rows) goes ahead of the next statement on c, in
 * its round trip: a writer's BEGIN costs no trip of its own.  A COMMIT or
 * ROLLBACK with nothing sent since drops it.
 */
void pg_defer(struct store_tx *c, const char *sql)
{
	if (c->ndeferred < PG_DEFER_MAX)
		c->deferred[c->ndeferred++] = sql;
}

/*
 * Drops what was deferred: 1 when no transaction was opened (a BEGIN
 * still deferred), so there is nothing to end.
 */
static int pg_drop_deferred(struct store_tx *c)
{
	c->ndeferred = 0;
	return PQtransactionStatus(c->conn) == PQTRANS_IDLE;
}

int pg_commit(struct store_tx *c)
{
	PGresult *res = NULL;
	int rc;

	if (pg_drop_deferred(c))
		return 0;
	rc = pg_query(c, "COMMIT", NULL, &res, "commit");

	/*
	 * COMMIT of a transaction that had failed succeeds and answers
	 * ROLLBACK: nothing was written, which the caller must hear.
	 */
	if (rc == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		log_error("store.commit_failed",
			  LOG_STR("error", "the transaction had failed and "
					   "was rolled back"));
		rc = KV_EDB;
	}
	PQclear(res);
	return rc;
}

int pg_rollback(struct store_tx *c)
{
	if (pg_drop_deferred(c))
		return 0;
	return pg_run(c, "ROLLBACK", NULL, "rollback");
}

/*
 * The writer and the readers share connections between threads only by
 * handing them over, never using one from two threads at once, which
 * libpq allows when it was built thread-safe (Debian's is).
 */
static void pg_library_init(void)
{
	if (!PQisthreadsafe())
		fatal("store.unsafe_libpq",
		      LOG_STR("error",
			      "libpq was built without thread safety"));
}

/* The table store.c forwards to when the setting names PostgreSQL. */
const struct store_ops store_pg_ops = {
	.library_init = pg_library_init,
	.migrate = pg_migrate,
	.open_migrated = pg_open_migrated,
	.schema_version = pg_schema_version,
	.open = pg_open,
	.close = pg_close,
	.readers_init = pg_readers_init,
	.reader = pg_reader,
	.readers_close = pg_readers_close,
	.read_begin = pg_read_begin,
	.read_end = pg_read_end,
	.writer_start = pg_writer_start,
	.write = pg_write,
	.writer_stop = pg_writer_stop,
	.write_submit = pg_write_submit,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.key_insert = pg_key_insert,
	.key_get = pg_key_get,
	.key_revoke = pg_key_revoke,
	.key_set_owner = pg_key_set_owner,
	.keys_foreach = pg_keys_foreach,
	.key_origin_add = pg_key_origin_add,
	.key_origin_allowed = pg_key_origin_allowed,
	.origin_known = pg_origin_known,
	.key_origins_foreach = pg_key_origins_foreach,
	.token_use = pg_token_use,
	.token_used = pg_token_used,
	.app_insert = pg_app_insert,
	.app_get = pg_app_get,
	.app_delete = pg_app_delete,
	.apps_foreach = pg_apps_foreach,
	.idem_get = pg_idem_get,
	.idem_put = pg_idem_put,
	.template_put = pg_template_put,
	.template_get = pg_template_get,
	.template_delete = pg_template_delete,
	.templates_foreach = pg_templates_foreach,
	.fragment_put = pg_fragment_put,
	.fragment_get = pg_fragment_get,
	.fragment_delete = pg_fragment_delete,
	.fragments_foreach = pg_fragments_foreach,
	.verification_next_id = pg_verification_next_id,
	.verification_insert = pg_verification_insert,
	.verification_start = pg_verification_start,
	.verification_get = pg_verification_get,
	.verification_live = pg_verification_live,
	.verification_update = pg_verification_update,
	.verification_finalize = pg_verification_finalize,
	.check_insert = pg_check_insert,
	.checks_foreach = pg_checks_foreach,
	.event_insert = pg_event_insert,
	.events_foreach = pg_events_foreach,
	.verified_put = pg_verified_put,
	.verified_get = pg_verified_get,
	.call_get = pg_call_get,
	.call_put = pg_call_put,
	.fraud_insert = pg_fraud_insert,
	.key_voice_confirm = pg_key_voice_confirm,
	.key_missed_call = pg_key_missed_call,
	.key_set_missed_call = pg_key_set_missed_call,
	.verification_missed = pg_verification_missed,
	.block_get = pg_block_get,
	.block_put = pg_block_put,
	.block_lift = pg_block_lift,
	.block_last = pg_block_last,
	.blocks_foreach = pg_blocks_foreach,
	.fraud_recent = pg_fraud_recent,
	.key_kind = pg_key_kind,
	.recent_numbers_foreach = pg_recent_numbers_foreach,
	.console_funnel = pg_console_funnel,
	.console_minutes = pg_console_minutes,
	.console_prefixes = pg_console_prefixes,
	.console_recent = pg_console_recent,
	.calls_foreach = pg_calls_foreach,
	.job_claim = pg_job_claim,
	.job_done = pg_job_done,
	.job_retry = pg_job_retry,
	.job_next_due = pg_job_next_due,
	.verification_by_id = pg_verification_by_id,
	.job_insert = pg_job_insert,
	.jobs_cancel = pg_jobs_cancel,
	.job_step_now = pg_job_step_now,
	.jobs_pending = pg_jobs_pending,
	.stats = pg_stats,
	.backup = pg_backup,
	.restore = pg_restore,
	.number_erase = pg_number_erase,
	.purge_batch = pg_purge_batch,
	.shared = 1,
	.ping = pg_ping,
	.meta_claim = pg_meta_claim,
	.limit_take = pg_limit_take,
	.verification_live_take = pg_verification_live_take,
	.verification_start_if_free = pg_verification_start_if_free,
	.verification_start_if_free_lead = pg_verification_start_if_free_lead,
	.backoff_get = pg_backoff_get,
	.backoff_put = pg_backoff_put,
	.backoff_sweep = pg_backoff_sweep,
	.prefix_stats_add = pg_prefix_stats_add,
	.cluster_sweep = pg_cluster_sweep,
	.jobs_listen = pg_jobs_listen,
	.jobs_unlisten = pg_jobs_unlisten,
	.key_callback_get = pg_key_callback_get,
	.key_callback_set = pg_key_callback_set,
	.callback_insert = pg_callback_insert,
	.callback_claim = pg_callback_claim,
	.callback_done = pg_callback_done,
	.callback_retry = pg_callback_retry,
	.callback_next_due = pg_callback_next_due,
};
