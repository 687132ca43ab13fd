/*
 * `copy-store` (store_copy): a stopped SQLite store copied into an empty
 * PostgreSQL database of the same schema version.  Each table is read in
 * one SQLite read transaction in key order and sent with COPY FROM STDIN in
 * batches; the whole copy is one PostgreSQL transaction, so a failed copy
 * leaves the target empty and can simply run again.  Afterwards the identity
 * sequences are set past every id SQLite ever handed out, and each table's
 * rows are counted on both sides before the commit.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store.h"
#include "store_backend.h"
#include "store_pg.h"
#include "err.h"
#include "log.h"
#include "util.h"

/* Rows per COPY statement, and a progress line after each. */
#define COPY_BATCH 50000
/* COPY data is sent in chunks of about this size. */
#define COPY_CHUNK ((size_t)256 * 1024)

/*
 * Every table, parents before children (the foreign keys hold after each
 * statement), and the order its rows go in.  Keys without an owner come
 * before those with one, so an owner is always there first.  has_id: an
 * identity column `id` whose sequence must pass the copied ids.  A table
 * the source lacks is skipped (the version check has made sure that the
 * source's schema is this program's); a table the source has and this
 * list lacks makes the copy refuse, rather than leave rows behind.
 */
static const struct copy_table {
	const char *name;
	const char *select;
	int has_id;
} tables[] = {
	{"api_keys",
	 "SELECT * FROM api_keys ORDER BY owner_key_id IS NOT NULL, id", 1},
	{"key_origins", "SELECT * FROM key_origins ORDER BY key_id, origin", 0},
	{"applications", "SELECT * FROM applications ORDER BY app_id", 0},
	{"idempotency", "SELECT * FROM idempotency ORDER BY key_id, idem_key",
	 0},
	{"templates", "SELECT * FROM templates ORDER BY created_ms, id", 0},
	{"template_fragments",
	 "SELECT * FROM template_fragments ORDER BY created_ms, id", 0},
	{"verifications", "SELECT * FROM verifications ORDER BY id", 1},
	{"checks", "SELECT * FROM checks ORDER BY id", 1},
	{"events", "SELECT * FROM events ORDER BY id", 1},
	{"jobs", "SELECT * FROM jobs ORDER BY id", 1},
	{"calls", "SELECT * FROM calls ORDER BY rowid", 0},
	{"fraud_reports", "SELECT * FROM fraud_reports ORDER BY id", 1},
	{"verified_numbers",
	 "SELECT * FROM verified_numbers ORDER BY key_id, number", 0},
	{"blocks", "SELECT * FROM blocks ORDER BY prefix, key_id", 0},
	{"token_uses", "SELECT * FROM token_uses ORDER BY jti", 0},
	{"meta", "SELECT * FROM meta ORDER BY name", 0},
	{"limits", "SELECT * FROM limits ORDER BY name, key", 0},
	{"prefix_stats", "SELECT * FROM prefix_stats ORDER BY scope, prefix",
	 0},
	{"resend_backoff", "SELECT * FROM resend_backoff ORDER BY key_id, tag",
	 0},
	{"callbacks", "SELECT * FROM callbacks ORDER BY id", 1},
};

/* A growable buffer of COPY text, flushed to the server in chunks. */
struct copy_buf {
	char *data;
	size_t len, cap;
};

static int buf_reserve(struct copy_buf *b, size_t more)
{
	char *p;
	size_t cap = b->cap ? b->cap : 4096;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return KV_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

static int buf_put(struct copy_buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return KV_ENOMEM;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

/* The letter after the backslash that stands for c in COPY text, or 0. */
static char text_escape(unsigned char c)
{
	switch (c) {
	case '\\':
		return '\\';
	case '\t':
		return 't';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	default:
		return 0;
	}
}

/*
 * A text value in COPY's text format: backslash, tab, newline and carriage
 * return escaped, everything else as it is.
 */
static int buf_put_text(struct copy_buf *b, const unsigned char *s, size_t n)
{
	if (buf_reserve(b, 2 * n) != 0)
		return KV_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char esc = text_escape(s[i]);

		if (esc) {
			b->data[b->len++] = '\\';
			b->data[b->len++] = esc;
		} else {
			b->data[b->len++] = (char)s[i];
		}
	}
	return 0;
}

/* A BLOB as bytea's hex form, its backslash escaped for COPY: \\x0a1b. */
static int buf_put_blob(struct copy_buf *b, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (buf_reserve(b, 3 + 2 * n) != 0)
		return KV_ENOMEM;
	memcpy(b->data + b->len, "\\\\x", 3);
	b->len += 3;
	for (size_t i = 0; i < n; i++) {
		b->data[b->len++] = hex[s[i] >> 4];
		b->data[b->len++] = hex[s[i] & 15];
	}
	return 0;
}

/* One SQLite row as a line of COPY text. */
static int buf_put_row(struct copy_buf *b, sqlite3_stmt *st, int ncols)
{
	char num[32];
	int rc = 0;

	for (int i = 0; i < ncols && rc == 0; i++) {
		if (i > 0)
			rc = buf_put(b, "\t", 1);
		if (rc != 0)
			break;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			rc = buf_put(b, "\\N", 2);
			break;
		case SQLITE_INTEGER:
			snprintf(num, sizeof(num), "%" PRId64,
				 (int64_t)sqlite3_column_int64(st, i));
			rc = buf_put(b, num, strlen(num));
			break;
		case SQLITE_FLOAT:
			snprintf(num, sizeof(num), "%.17g",
				 sqlite3_column_double(st, i));
			rc = buf_put(b, num, strlen(num));
			break;
		case SQLITE_BLOB:
			rc = buf_put_blob(b, sqlite3_column_blob(st, i),
					  (size_t)sqlite3_column_bytes(st, i));
			break;
		default:
			rc = buf_put_text(b, sqlite3_column_text(st, i),
					  (size_t)sqlite3_column_bytes(st, i));
		}
	}
	return rc == 0 ? buf_put(b, "\n", 1) : rc;
}

/* The server's message of a failed result (or connection), on one line. */
static void pg_message(PGconn *conn, PGresult *res, const char *what, char *err,
		       size_t errlen)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			      : NULL;

	snprintf(err, errlen, "postgresql: %s: %s", what,
		 msg ? msg : PQerrorMessage(conn));
	err[strcspn(err, "\n")] = '\0';
}

/*
 * Runs a statement built here (its identifiers quoted by libpq) with up to
 * two text parameters, and returns its first row's first column as a
 * number in *out when it has rows.  0 or KV_EDB with the reason in err.
 */
static int pg_exec_value(PGconn *conn, const char *sql, const char *p1,
			 const char *p2, int64_t *out, char *err, size_t errlen)
{
	const char *params[2] = {p1, p2};
	int n = p2 ? 2 : p1 ? 1 : 0;
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_message(conn, res, sql, err, errlen);
		rc = KV_EDB;
	} else if (out && st == PGRES_TUPLES_OK && PQntuples(res) > 0) {
		*out = PQgetisnull(res, 0, 0)
			       ? 0
			       : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	}
	PQclear(res);
	return rc;
}

/*
 * `prefix` + the table's name quoted as an identifier + `suffix`, for the
 * few statements whose table cannot be a parameter.  Caller frees.
 */
static char *sql_of_table(PGconn *conn, const char *prefix, const char *name,
			  const char *suffix)
{
	char *ident = PQescapeIdentifier(conn, name, strlen(name));
	size_t n;
	char *sql;

	if (!ident)
		return NULL;
	n = strlen(prefix) + strlen(ident) + strlen(suffix) + 1;
	sql = malloc(n);
	if (sql)
		snprintf(sql, n, "%s%s%s", prefix, ident, suffix);
	PQfreemem(ident);
	return sql;
}

/* The COPY statement for a table: its columns named as SQLite names them. */
static char *copy_statement(PGconn *conn, const char *table, sqlite3_stmt *st)
{
	struct copy_buf b = {0};
	char *sql = sql_of_table(conn, "COPY ", table, " (");
	int rc = sql ? buf_put(&b, sql, strlen(sql)) : KV_ENOMEM;

	free(sql);
	for (int i = 0; rc == 0 && i < sqlite3_column_count(st); i++) {
		const char *col = sqlite3_column_name(st, i);
		char *ident = col ? PQescapeIdentifier(conn, col, strlen(col))
				  : NULL;

		rc = ident ? buf_put(&b, ident, strlen(ident)) : KV_ENOMEM;
		PQfreemem(ident);
		if (rc == 0 && i + 1 < sqlite3_column_count(st))
			rc = buf_put(&b, ", ", 2);
	}
	if (rc == 0)
		rc = buf_put(&b, ") FROM STDIN\0", 13);
	if (rc != 0) {
		free(b.data);
		return NULL;
	}
	return b.data;
}

/* Starts a COPY of `sql` on conn: 0, or KV_EDB with the reason. */
static int copy_begin(PGconn *conn, const char *sql, const char *table,
		      char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		pg_message(conn, res, table, err, errlen);
		rc = KV_EDB;
	}
	PQclear(res);
	return rc;
}

/* Sends what b holds of the COPY under way and empties it. */
static int copy_flush(PGconn *conn, struct copy_buf *b, const char *table,
		      char *err, size_t errlen)
{
	int ok = b->len == 0 || PQputCopyData(conn, b->data, (int)b->len) == 1;

	b->len = 0;
	if (!ok)
		pg_message(conn, NULL, table, err, errlen);
	return ok ? 0 : KV_EDB;
}

/* Ends a COPY started on conn: 0, or KV_EDB with the server's reason. */
static int copy_end(PGconn *conn, const char *table, char *err, size_t errlen)
{
	PGresult *res;
	int rc = 0;

	if (PQputCopyEnd(conn, NULL) != 1) {
		pg_message(conn, NULL, table, err, errlen);
		return KV_EDB;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
			pg_message(conn, res, table, err, errlen);
			rc = KV_EDB;
		}
		PQclear(res);
	}
	return rc;
}

/*
 * Sends the rows of st, COPY_BATCH to a COPY statement, with a progress
 * line after each batch; *rows gets how many went.  0, or KV_E* with the
 * reason in err.
 */
static int copy_rows(PGconn *conn, const char *table, sqlite3_stmt *st,
		     int64_t *rows, char *err, size_t errlen)
{
	struct copy_buf b = {0};
	char *sql = copy_statement(conn, table, st);
	int ncols = sqlite3_column_count(st);
	int in_copy = 0, rc = sql ? 0 : KV_ENOMEM, step = SQLITE_DONE;

	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (!in_copy) {
			rc = copy_begin(conn, sql, table, err, errlen);
			in_copy = rc == 0;
		}
		if (rc == 0)
			rc = buf_put_row(&b, st, ncols);
		if (rc == 0 && b.len >= COPY_CHUNK)
			rc = copy_flush(conn, &b, table, err, errlen);
		if (rc == 0 && ++*rows % COPY_BATCH == 0) {
			rc = copy_flush(conn, &b, table, err, errlen);
			if (rc == 0) {
				in_copy = 0;
				rc = copy_end(conn, table, err, errlen);
				log_info("copy.table_copied",
					 LOG_STR("table", table),
					 LOG_INT("rows", *rows));
			}
		}
	}
	if (rc == 0 && step != SQLITE_DONE) {
		snprintf(err, errlen, "sqlite: %s: %s", table,
			 sqlite3_errmsg(sqlite3_db_handle(st)));
		rc = KV_EDB;
	}
	if (rc == 0 && in_copy) {
		rc = copy_flush(conn, &b, table, err, errlen);
		if (rc == 0) {
			in_copy = 0;
			rc = copy_end(conn, table, err, errlen);
		}
	}
	if (in_copy) {
		/* Abandoned: the caller rolls the whole copy back. */
		PGresult *res;

		PQputCopyEnd(conn, "copy-store failed");
		while ((res = PQgetResult(conn)) != NULL)
			PQclear(res);
	}
	if (rc == KV_ENOMEM)
		snprintf(err, errlen, "out of memory");
	free(b.data);
	free(sql);
	return rc;
}

/* 1 when the SQLite source has table `name`, 0 if not, or KV_EDB. */
static int source_has(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db,
				    "SELECT 1 FROM sqlite_master WHERE"
				    " type = 'table' AND name = ?1",
				    -1, &st, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : KV_EDB;
}

/* The greatest id SQLite's AUTOINCREMENT handed out for a table, or 0. */
static int64_t source_sequence(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;

	if (sqlite3_prepare_v2(
		    db, "SELECT seq FROM sqlite_sequence WHERE name = ?1", -1,
		    &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

/*
 * The source's checks: a schema this program's (and the target's), and no
 * table this program does not know how to copy.
 */
static int source_check(sqlite3 *db, const char *from, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int want = store_sqlite_ops.schema_version();
	int version = -1, rc = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version != want) {
		snprintf(err, errlen,
			 "%s: schema version %d, this program's is %d: %s",
			 from, version, want,
			 version < want ? "run `kookooverify migrate --db` on "
					  "it first"
					: "copy it with the newer program");
		return KV_EINVAL;
	}
	if (pg_schema_version() != want) {
		snprintf(err, errlen,
			 "this program's PostgreSQL schema (%d) is not its "
			 "SQLite one (%d)",
			 pg_schema_version(), want);
		return KV_EINVAL;
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT name FROM sqlite_master WHERE type ="
			       " 'table' AND name NOT LIKE 'sqlite_%'",
			       -1, &st, NULL) != SQLITE_OK)
		rc = KV_EDB;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		size_t i = 0;

		while (i < ARRAY_LEN(tables) &&
		       strcmp(tables[i].name, name) != 0)
			i++;
		if (i == ARRAY_LEN(tables)) {
			snprintf(err, errlen,
				 "%s: table %s is not one this program can "
				 "copy",
				 from, name);
			rc = KV_EINVAL;
		}
	}
	sqlite3_finalize(st);
	if (rc == KV_EDB)
		snprintf(err, errlen, "%s: %s", from, sqlite3_errmsg(db));
	return rc;
}

/*
 * KV_EINVAL when a table of the target already holds a row.  A table of
 * the list that the target lacks (one of a later migration) holds none.
 */
static int target_check_empty(PGconn *conn, char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_LEN(tables); i++) {
		int64_t exists = 0, n = 0;
		char *sql = NULL;
		int rc = pg_exec_value(conn,
				       "SELECT (to_regclass($1) IS NOT NULL)"
				       "::int",
				       tables[i].name, NULL, &exists, err,
				       errlen);

		if (rc == 0 && exists) {
			sql = sql_of_table(conn,
					   "SELECT count(*) FROM (SELECT 1"
					   " FROM ",
					   tables[i].name, " LIMIT 1) t");
			rc = sql ? pg_exec_value(conn, sql, NULL, NULL, &n, err,
						 errlen)
				 : KV_ENOMEM;
			free(sql);
		}
		if (rc == 0 && n > 0) {
			snprintf(err, errlen,
				 "the target is not empty (table %s has "
				 "rows): copy only into a new database",
				 tables[i].name);
			rc = KV_EINVAL;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * After a table's rows: the count on the target must be the count sent,
 * and the table's identity sequence must pass both the greatest id copied
 * and the greatest SQLite ever handed out (AUTOINCREMENT: a purged
 * verification's id, hence its request id, is never used again).
 */
static int table_finish(PGconn *conn, sqlite3 *db, const struct copy_table *t,
			int64_t rows, char *err, size_t errlen)
{
	char *sql = sql_of_table(conn, "SELECT count(*) FROM ", t->name, "");
	char *max_sql = t->has_id ? sql_of_table(conn,
						 "SELECT coalesce(max(id), 0)"
						 " FROM ",
						 t->name, "")
				  : NULL;
	int64_t count = -1, max_id = 0, seq = source_sequence(db, t->name);
	char last[24];
	int rc = sql && (!t->has_id || max_sql) ? 0 : KV_ENOMEM;

	if (rc == 0)
		rc = pg_exec_value(conn, sql, NULL, NULL, &count, err, errlen);
	if (rc == 0 && count != rows) {
		snprintf(err, errlen,
			 "%s: %" PRId64 " rows sent, %" PRId64 " in the target",
			 t->name, rows, count);
		rc = KV_EDB;
	}
	if (rc == 0 && t->has_id)
		rc = pg_exec_value(conn, max_sql, NULL, NULL, &max_id, err,
				   errlen);
	if (rc == 0 && t->has_id) {
		int64_t next = max_id > seq ? max_id : seq;

		/*
		 * setval(s, n, true): nextval() answers n + 1; with nothing
		 * ever handed out, setval(s, 1, false) answers 1.
		 */
		snprintf(last, sizeof(last), "%" PRId64, next > 0 ? next : 1);
		rc = pg_exec_value(conn,
				   next > 0 ? "SELECT setval(pg_get_serial_"
					      "sequence($1, 'id'), $2, true)"
					    : "SELECT setval(pg_get_serial_"
					      "sequence($1, 'id'), $2, false)",
				   t->name, last, NULL, err, errlen);
	}
	free(sql);
	free(max_sql);
	return rc;
}

/* One table: its rows, its count, its sequence, its line in out. */
static int copy_table(sqlite3 *db, PGconn *conn, const struct copy_table *t,
		      struct store_copy_counts *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int64_t rows = 0;
	int has = source_has(db, t->name);
	int rc = 0;

	if (has == 0)
		return 0;
	if (has < 0 ||
	    sqlite3_prepare_v2(db, t->select, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: %s: %s", t->name,
			 sqlite3_errmsg(db));
		return KV_EDB;
	}
	rc = copy_rows(conn, t->name, st, &rows, err, errlen);
	sqlite3_finalize(st);
	if (rc == 0)
		rc = table_finish(conn, db, t, rows, err, errlen);
	if (rc != 0)
		return rc;
	if (out->n < STORE_COPY_TABLES_MAX) {
		out->tables[out->n].name = t->name;
		out->tables[out->n].rows = rows;
		out->n++;
	}
	log_info("copy.table_counted", LOG_STR("table", t->name),
		 LOG_INT("rows", rows));
	return 0;
}

int store_copy(const char *from, const char *to, struct store_copy_counts *out,
	       char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	struct store_tx *pg = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (store_backend_of(from) != &store_sqlite_ops ||
	    store_backend_of(to) != &store_pg_ops) {
		snprintf(err, errlen,
			 "copy-store copies a SQLite file (--from) "
			 "into a PostgreSQL database (--to)");
		return KV_EINVAL;
	}
	if (sqlite3_open_v2(from, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", from,
			 db ? sqlite3_errmsg(db) : "out of memory");
		rc = KV_EDB;
		goto out;
	}
	rc = source_check(db, from, err, errlen);
	/* The target migrated first: a new database is then complete. */
	if (rc == 0)
		rc = pg_migrate(to, err, errlen);
	if (rc == 0 && !(pg = pg_connect(to, err, errlen)))
		rc = KV_EDB;
	if (rc != 0)
		goto out;
	/* One snapshot of the source; one transaction on the target. */
	rc = pg_exec_value(pg->conn, "SET statement_timeout = 0", NULL, NULL,
			   NULL, err, errlen);
	if (rc == 0)
		rc = pg_exec_value(pg->conn, "BEGIN", NULL, NULL, NULL, err,
				   errlen);
	if (rc == 0 &&
	    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", from, sqlite3_errmsg(db));
		rc = KV_EDB;
	}
	if (rc == 0)
		rc = target_check_empty(pg->conn, err, errlen);
	for (size_t i = 0; rc == 0 && i < ARRAY_LEN(tables); i++)
		rc = copy_table(db, pg->conn, &tables[i], out, err, errlen);
	if (rc == 0)
		rc = pg_exec_value(pg->conn, "COMMIT", NULL, NULL, NULL, err,
				   errlen);
out:
	if (pg && rc != 0)
		PQclear(PQexec(pg->conn, "ROLLBACK"));
	pg_close(pg);
	sqlite3_close(db);
	return rc;
}
