/*
 * SQLite connections, schema migrations and every statement of the store.
 * Statements live in one table (enum stmt_id -> SQL) and are prepared once per
 * connection; functions bind, step and reset them.  The writer thread and the
 * per-thread readers are in db_pool.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "db.h"
#include "db_internal.h"
#include "err.h"
#include "log.h"
#include "util.h"

/*
 * Migrations, applied in order; PRAGMA user_version counts those applied.
 * Never edit one that has shipped: add a new one.
 */
#define VF_COLUMNS                                                             \
	"id, request_id, key_id, number, number_type, brand, sender_id, lg, "  \
	"workflow_id, code_length, test_number, pin_hash, steps, wait1_ms, "   \
	"wait2_ms, wait3_ms, state, attempts, next_step, resends, "            \
	"created_ms, "                                                         \
	"pin_created_ms, pin_expiry_ms, expires_ms, last_resend_ms, "          \
	"finalized_ms, first_event_ms, last_event_ms, pin_box, call_sid, "     \
	"handle_hash"

/* A key's owner: its row id (0 for none) and its api_key ("" for none). */
#define KEY_OWNER_COLUMNS                                                      \
	"coalesce(owner_key_id, 0), coalesce((SELECT o.api_key FROM "          \
	"api_keys o WHERE o.id = api_keys.owner_key_id), '')"

#define BLOCK_COLUMNS                                                          \
	"prefix, reason, blocks.created_ms, until_ms, key_id, "                \
	"coalesce(api_keys.api_key, '')"

static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_BEGIN_READ] = "BEGIN",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_KEY_INSERT] =
		"INSERT INTO api_keys (api_key, name, secret_hash, "
		"created_ms, voice_confirm, countries, kind, brand, "
		"owner_key_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[STMT_KEY_GET] =
		"SELECT id, api_key, name, secret_hash, created_ms, "
		"revoked_ms, countries, kind, brand, " KEY_OWNER_COLUMNS
		" FROM api_keys "
		"WHERE api_key = ?1",
	[STMT_KEY_REVOKE] = "UPDATE api_keys SET revoked_ms = ?2 "
			    "WHERE api_key = ?1 AND revoked_ms = 0",
	[STMT_KEY_LIST] =
		"SELECT id, api_key, name, secret_hash, created_ms, "
		"revoked_ms, countries, kind, brand, " KEY_OWNER_COLUMNS
		" FROM api_keys "
		"ORDER BY id",
	[STMT_VF_INSERT] =
		"INSERT INTO verifications (" VF_COLUMNS ") VALUES (?1, "
		"?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
		"?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, "
		"?29, ?30, ?31)",
	/* Ids from before request ids were derived from the row id. */
	[STMT_VF_GET_LEGACY] = "SELECT " VF_COLUMNS " FROM verifications "
			       "WHERE request_id = ?1 AND key_id = ?2 AND "
			       "legacy = 1",
	/* Never below a number AUTOINCREMENT has handed out. */
	[STMT_VF_NEXT_ID] =
		"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE "
		"name = 'verifications'), 0), coalesce((SELECT max(id) FROM "
		"verifications), 0)) + 1",
	[STMT_VF_LIVE] = "SELECT " VF_COLUMNS " FROM verifications "
			 "WHERE key_id = ?1 AND number = ?2 AND state = 0",
	[STMT_VF_UPDATE] =
		"UPDATE verifications SET pin_hash = ?12, state = ?17, "
		"attempts = ?18, next_step = ?19, resends = ?20, "
		"pin_created_ms = ?22, pin_expiry_ms = ?23, expires_ms = ?24, "
		"last_resend_ms = ?25, finalized_ms = ?26, first_event_ms = ?27, "
		"last_event_ms = ?28, pin_box = ?29, call_sid = ?30 WHERE id = ?1",
	[STMT_CHECK_INSERT] =
		"INSERT INTO checks (verification_id, created_ms, code, valid, "
		"ip) VALUES (?1, ?2, ?3, ?4, ?5)",
	[STMT_CHECK_LIST] = "SELECT created_ms, code, valid, ip FROM checks "
			    "WHERE verification_id = ?1 ORDER BY id",
	[STMT_EVENT_INSERT] =
		"INSERT INTO events (verification_id, created_ms, type, "
		"channel, provider_id, result, detail) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STMT_EVENT_LIST] = "SELECT created_ms, type, channel, provider_id, "
			    "result, detail FROM events "
			    "WHERE verification_id = ?1 ORDER BY id",
	[STMT_VERIFIED_PUT] = "INSERT OR REPLACE INTO verified_numbers "
			      "(key_id, number, verified_ms, request_id) "
			      "VALUES (?1, ?2, ?3, ?4)",
	[STMT_VERIFIED_GET] =
		"SELECT verified_ms, request_id FROM verified_numbers "
		"WHERE key_id = ?1 AND number = ?2",
	[STMT_JOB_INSERT] = "INSERT INTO jobs (kind, verification_id, step, "
			    "due_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
	[STMT_JOBS_CANCEL] = "UPDATE jobs SET state = 3, done_ms = ?2 "
			     "WHERE verification_id = ?1 AND state = 0",
	[STMT_JOB_STEP_NOW] =
		"UPDATE jobs SET due_ms = ?2 WHERE "
		"verification_id = ?1 AND state = 0 AND "
		"kind = 'step' AND due_ms > ?2 AND lease_until_ms = 0",
	[STMT_JOBS_PENDING] = "SELECT count(*) FROM jobs WHERE state = 0",
	/*
	 * A block's key_id is 0 for every key, or the one publishable key it
	 * was earned through (fraud.c).  The listing names that key.
	 */
	[STMT_BLOCK_GET] = "SELECT " BLOCK_COLUMNS " FROM blocks LEFT JOIN "
			   "api_keys ON api_keys.id = blocks.key_id WHERE "
			   "prefix = ?1 AND key_id = ?3 AND until_ms > ?2",
	[STMT_BLOCK_PUT] = "INSERT OR REPLACE INTO blocks (prefix, reason, "
			   "created_ms, until_ms, key_id) VALUES (?1, ?2, ?3, "
			   "?4, ?5)",
	/* A lifted block stays as a row that has ended (its history). */
	[STMT_BLOCK_LIFT] = "UPDATE blocks SET until_ms = ?2 WHERE prefix = ?1 "
			    "AND until_ms > ?2",
	[STMT_BLOCK_LAST] = "SELECT " BLOCK_COLUMNS " FROM blocks LEFT JOIN "
			    "api_keys ON api_keys.id = blocks.key_id WHERE "
			    "prefix = ?1 AND key_id = ?2",
	[STMT_BLOCK_LIST] = "SELECT " BLOCK_COLUMNS " FROM blocks LEFT JOIN "
			    "api_keys ON api_keys.id = blocks.key_id WHERE "
			    "until_ms > ?1 ORDER BY prefix, key_id",
	/* Reports for numbers in [?1, ?2): a prefix's range of numbers. */
	/* Distinct numbers: one person pressing 9 again and again is one. */
	/*
	 * ?4 = 0: reports on verifications of secret keys, which may block
	 * the prefix for everyone; else those of publishable key ?4 only.
	 */
	[STMT_FRAUD_RECENT] =
		"SELECT count(DISTINCT f.number) FROM fraud_reports f JOIN "
		"verifications v ON v.id = f.verification_id JOIN api_keys k "
		"ON k.id = v.key_id WHERE f.number >= ?1 AND f.number < ?2 "
		"AND f.created_ms > ?3 AND CASE WHEN ?4 = 0 THEN k.kind = 0 "
		"ELSE v.key_id = ?4 END",
	[STMT_KEY_KIND] = "SELECT kind FROM api_keys WHERE id = ?1",
	/* Newest first, by rowid: the caller stops past its window. */
	[STMT_NUMBER_RECENT] = "SELECT number, created_ms, test_number FROM "
			       "verifications ORDER BY id DESC",
	/* A leased job is pending with due_ms moved to its lease's end. */
	[STMT_JOB_CLAIM] =
		"SELECT id, kind, verification_id, step, due_ms, "
		"attempts FROM jobs WHERE state = 0 AND due_ms <= ?1 "
		"ORDER BY due_ms LIMIT 1",
	[STMT_JOB_LEASE] = "UPDATE jobs SET due_ms = ?2, lease_until_ms = ?2, "
			   "attempts = attempts + 1 WHERE id = ?1",
	[STMT_JOB_DONE] = "UPDATE jobs SET state = ?2, done_ms = ?3, "
			  "last_error = ?4 WHERE id = ?1 AND state = 0",
	[STMT_JOB_RETRY] = "UPDATE jobs SET due_ms = ?2, lease_until_ms = 0, "
			   "last_error = ?3 WHERE id = ?1 AND state = 0",
	[STMT_JOB_NEXT_DUE] = "SELECT due_ms FROM jobs WHERE state = 0 "
			      "ORDER BY due_ms LIMIT 1",
	[STMT_CALL_GET] = "SELECT verification_id, step, repeats, outcome, "
			  "status, duration FROM calls WHERE sid = ?1",
	[STMT_CALL_PUT] =
		"INSERT INTO calls (sid, verification_id, step, repeats, "
		"outcome, status, duration, created_ms, updated_ms) VALUES (?1, "
		"?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) ON CONFLICT(sid) DO UPDATE SET "
		"repeats = ?4, outcome = ?5, status = ?6, duration = ?7, "
		"updated_ms = ?8",
	[STMT_FRAUD_INSERT] =
		"INSERT INTO fraud_reports (number, "
		"verification_id, created_ms) VALUES (?1, ?2, ?3)",
	[STMT_KEY_VOICE_CONFIRM] = "SELECT voice_confirm FROM api_keys "
				   "WHERE id = ?1",
	[STMT_VF_BY_ID] = "SELECT " VF_COLUMNS
			  " FROM verifications WHERE id = ?1",
	/* The key in the query: another key's row is not even read out. */
	[STMT_VF_BY_ID_KEY] = "SELECT " VF_COLUMNS " FROM verifications "
			      "WHERE id = ?1 AND key_id = ?2",
	[STMT_ORIGIN_ADD] =
		"INSERT OR IGNORE INTO key_origins (origin, key_id) "
		"VALUES (?1, ?2)",
	[STMT_ORIGIN_OF_KEY] = "SELECT 1 FROM key_origins "
			       "WHERE origin = ?1 AND key_id = ?2",
	[STMT_ORIGIN_KNOWN] =
		"SELECT 1 FROM key_origins o JOIN api_keys k "
		"ON k.id = o.key_id WHERE o.origin = ?1 AND k.revoked_ms = 0 "
		"LIMIT 1",
	[STMT_ORIGIN_LIST] = "SELECT origin FROM key_origins WHERE key_id = ?1 "
			     "ORDER BY origin",
	[STMT_TOKEN_USE] = "INSERT OR IGNORE INTO token_uses (jti, exp_ms, "
			   "used_ms) VALUES (?1, ?2, ?3)",
	/* Bounded, so no single call pays for a long-idle table. */
	[STMT_TOKEN_PURGE] = "DELETE FROM token_uses WHERE jti IN (SELECT jti "
			     "FROM token_uses WHERE exp_ms <= ?1 "
			     "ORDER BY exp_ms LIMIT 64)",
	[STMT_TOKEN_USED] = "SELECT 1 FROM token_uses WHERE jti = ?1",
	/* Only a publishable key gets an owner, and only an active secret
	 * key is one. */
	[STMT_KEY_SET_OWNER] =
		"UPDATE api_keys SET owner_key_id = (SELECT o.id FROM "
		"api_keys o WHERE o.api_key = ?2 AND o.kind = 0 AND "
		"o.revoked_ms = 0) WHERE api_key = ?1 AND kind = 1 AND "
		"EXISTS (SELECT 1 FROM api_keys o WHERE o.api_key = ?2 AND "
		"o.kind = 0 AND o.revoked_ms = 0)",
};

static int db_err(struct db_conn *c, const char *what)
{
	int code = sqlite3_extended_errcode(c->db);

	log_error("db: %s: %s", what, sqlite3_errmsg(c->db));
	if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
		return KV_EBUSY;
	if ((code & 0xff) == SQLITE_CONSTRAINT)
		return KV_EDUP;
	return KV_EDB;
}

/*
 * How long a connection waits for a lock another connection holds before
 * SQLITE_BUSY.  Locks here are held for microseconds to a few milliseconds
 * (a batch commit, a checkpoint's last frames), but SQLite's own busy
 * timeout sleeps 1, 2, 5, 10 ms...: a writer that found the checkpointer
 * holding the lock for 1.1 ms would sleep 3 ms.  This one starts at 20 us
 * and doubles up to 1 ms, so a waiter wakes soon after the lock is free.
 */
#define BUSY_TIMEOUT_US 5000000
#define BUSY_FIRST_US 20
#define BUSY_MAX_US 1000

static int64_t busy_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * The 5 s are measured, not summed from the sleeps: on a busy machine a
 * 1 ms sleep can last much longer, and thousands of them would stretch
 * the wait well past what the callers and the docs promise.
 */
static int db_busy_wait(void *unused, int tries)
{
	static __thread int64_t start_us;
	int64_t now = busy_now_us();
	long delay = tries < 6 ? (long)BUSY_FIRST_US << tries : BUSY_MAX_US;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = delay * 1000};

	(void)unused;
	if (tries == 0)
		start_us = now;
	if (now - start_us + delay > BUSY_TIMEOUT_US)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

int db_open_raw(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	static const char pragmas[] = "PRAGMA journal_mode = WAL;"
				      "PRAGMA synchronous = NORMAL;"
				      "PRAGMA foreign_keys = ON;"
				      "PRAGMA temp_store = MEMORY;"
				      "PRAGMA journal_size_limit = 134217728;";
	sqlite3 *db = NULL;
	int rc;

	/* The database holds hashes and numbers: keep it private. */
	mode_t old = umask(077);
	rc = sqlite3_open_v2(path, &db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_handler(db, db_busy_wait, NULL);
	if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		goto fail;
	}
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return KV_EDB;
}

struct db_conn *db_open(const char *path, char *err, size_t errlen)
{
	struct db_conn *c = calloc(1, sizeof(*c));
	sqlite3_stmt *st = NULL;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (db_open_raw(path, &c->db, err, errlen) != 0)
		goto fail;
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) !=
		    SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_int(st, 0) != db_schema_version()) {
		snprintf(
			err, errlen,
			"%s: schema is not current: run `kookooverify migrate`",
			path);
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (int i = 0; i < STMT_COUNT; i++) {
		if (sqlite3_prepare_v3(c->db, stmt_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &c->stmt[i],
				       NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing statement %d: %s",
				 path, i, sqlite3_errmsg(c->db));
			goto fail;
		}
	}
	return c;
fail:
	sqlite3_finalize(st);
	db_close(c);
	return NULL;
}

void db_close(struct db_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close(c->db);
	free(c);
}

/* Runs a statement that returns no row; resets it whatever happens. */
static int stmt_exec(struct db_conn *c, enum stmt_id id, const char *what)
{
	sqlite3_stmt *st = c->stmt[id];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return db_err(c, what);
	return 0;
}

int db_exec_stmt(struct db_conn *c, enum stmt_id id)
{
	return stmt_exec(c, id, stmt_sql[id]);
}

int db_begin(struct db_conn *c)
{
	return db_exec_stmt(c, STMT_BEGIN);
}

int db_commit(struct db_conn *c)
{
	return db_exec_stmt(c, STMT_COMMIT);
}

int db_rollback(struct db_conn *c)
{
	return db_exec_stmt(c, STMT_ROLLBACK);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void column_text(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	size_t n = s ? (size_t)sqlite3_column_bytes(st, i) : 0;

	if (n >= outlen)
		n = outlen - 1;
	if (n)
		memcpy(out, s, n);
	out[n] = '\0';
}

static void column_blob(sqlite3_stmt *st, int i, unsigned char *out, size_t len)
{
	const void *b = sqlite3_column_blob(st, i);

	memset(out, 0, len);
	if (b && (size_t)sqlite3_column_bytes(st, i) == len)
		memcpy(out, b, len);
}

/* Finishes a single-row lookup: 0 found, KV_ENOTFOUND, or an error. */
static int row_done(struct db_conn *c, sqlite3_stmt *st, int rc,
		    const char *what)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return KV_ENOTFOUND;
	return db_err(c, what);
}

static void key_from_row(sqlite3_stmt *st, struct key_row *k)
{
	k->id = sqlite3_column_int64(st, 0);
	column_text(st, 1, k->api_key, sizeof(k->api_key));
	column_text(st, 2, k->name, sizeof(k->name));
	column_blob(st, 3, k->secret_hash, sizeof(k->secret_hash));
	k->created_ms = sqlite3_column_int64(st, 4);
	k->revoked_ms = sqlite3_column_int64(st, 5);
	column_text(st, 6, k->countries, sizeof(k->countries));
	k->kind = sqlite3_column_int(st, 7);
	column_text(st, 8, k->brand, sizeof(k->brand));
	k->owner_key_id = sqlite3_column_int64(st, 9);
	column_text(st, 10, k->owner, sizeof(k->owner));
}

int db_key_insert(struct db_conn *c, const struct key_row *k)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_INSERT];

	bind_text(st, 1, k->api_key);
	bind_text(st, 2, k->name);
	sqlite3_bind_blob(st, 3, k->secret_hash, sizeof(k->secret_hash),
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, k->created_ms);
	sqlite3_bind_int(st, 5, k->voice_confirm);
	bind_text(st, 6, k->countries[0] ? k->countries : "IN");
	sqlite3_bind_int(st, 7, k->kind);
	bind_text(st, 8, k->brand);
	if (k->owner_key_id > 0)
		sqlite3_bind_int64(st, 9, k->owner_key_id);
	else
		sqlite3_bind_null(st, 9);
	return stmt_exec(c, STMT_KEY_INSERT, "insert key");
}

int64_t db_last_insert_id(struct db_conn *c)
{
	return sqlite3_last_insert_rowid(c->db);
}

int db_key_origin_add(struct db_conn *c, int64_t key_id, const char *origin)
{
	bind_text(c->stmt[STMT_ORIGIN_ADD], 1, origin);
	sqlite3_bind_int64(c->stmt[STMT_ORIGIN_ADD], 2, key_id);
	return stmt_exec(c, STMT_ORIGIN_ADD, "add origin");
}

/* A lookup that only asks whether a row exists: 1, 0, or an error. */
static int exists_done(struct db_conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = row_done(c, st, sqlite3_step(st), what);

	return rc == 0 ? 1 : rc == KV_ENOTFOUND ? 0 : rc;
}

int db_key_origin_allowed(struct db_conn *c, int64_t key_id, const char *origin)
{
	sqlite3_stmt *st = c->stmt[STMT_ORIGIN_OF_KEY];

	bind_text(st, 1, origin);
	sqlite3_bind_int64(st, 2, key_id);
	return exists_done(c, st, "origin of key");
}

int db_origin_known(struct db_conn *c, const char *origin)
{
	sqlite3_stmt *st = c->stmt[STMT_ORIGIN_KNOWN];

	bind_text(st, 1, origin);
	return exists_done(c, st, "origin known");
}

int db_key_origins_foreach(struct db_conn *c, int64_t key_id,
			   void (*cb)(const char *origin, void *arg), void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_ORIGIN_LIST];
	int rc;

	sqlite3_bind_int64(st, 1, key_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(st, 0), arg);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : db_err(c, "list origins");
}

int db_token_use(struct db_conn *c, const char *jti, int64_t exp_ms,
		 int64_t now_ms)
{
	sqlite3_stmt *st = c->stmt[STMT_TOKEN_USE];
	int rc;

	sqlite3_bind_int64(c->stmt[STMT_TOKEN_PURGE], 1, now_ms);
	rc = stmt_exec(c, STMT_TOKEN_PURGE, "purge token uses");
	if (rc != 0)
		return rc;
	bind_text(st, 1, jti);
	sqlite3_bind_int64(st, 2, exp_ms);
	sqlite3_bind_int64(st, 3, now_ms);
	rc = stmt_exec(c, STMT_TOKEN_USE, "use token");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_EDUP;
	return rc;
}

int db_token_used(struct db_conn *c, const char *jti)
{
	sqlite3_stmt *st = c->stmt[STMT_TOKEN_USED];

	bind_text(st, 1, jti);
	return exists_done(c, st, "token used");
}

int db_key_set_owner(struct db_conn *c, const char *api_key, const char *owner)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_SET_OWNER];
	int rc;

	bind_text(st, 1, api_key);
	bind_text(st, 2, owner);
	rc = stmt_exec(c, STMT_KEY_SET_OWNER, "set key owner");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}

int db_key_get(struct db_conn *c, const char *api_key, struct key_row *out)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_GET];
	int rc;

	bind_text(st, 1, api_key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		key_from_row(st, out);
	return row_done(c, st, rc, "get key");
}

int db_key_revoke(struct db_conn *c, const char *api_key, int64_t now_ms)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_REVOKE];
	int rc;

	bind_text(st, 1, api_key);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = stmt_exec(c, STMT_KEY_REVOKE, "revoke key");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}

int db_keys_foreach(struct db_conn *c,
		    int (*cb)(const struct key_row *k, void *arg), void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_LIST];
	struct key_row k;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		key_from_row(st, &k);
		if (cb(&k, arg) != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
						     : db_err(c, "list keys");
}

/* Binds every column of a verification, numbered as in VF_COLUMNS. */
static void vf_bind(sqlite3_stmt *st, const struct vf_record *r)
{
	const struct verification *v = &r->v;

	sqlite3_bind_int64(st, 1, v->id);
	bind_text(st, 2, v->request_id);
	sqlite3_bind_int64(st, 3, v->key_id);
	bind_text(st, 4, r->number);
	sqlite3_bind_int(st, 5, r->number_type);
	bind_text(st, 6, r->brand);
	bind_text(st, 7, r->sender_id);
	bind_text(st, 8, r->lg);
	sqlite3_bind_int(st, 9, r->workflow_id);
	sqlite3_bind_int(st, 10, r->code_length);
	sqlite3_bind_int(st, 11, r->test_number);
	sqlite3_bind_blob(st, 12, r->pin_hash, sizeof(r->pin_hash),
			  SQLITE_STATIC);
	bind_text(st, 13, r->steps);
	for (int i = 0; i < ENGINE_MAX_STEPS; i++)
		sqlite3_bind_int64(st, 14 + i, r->wait_ms[i]);
	sqlite3_bind_int(st, 17, (int)v->state);
	sqlite3_bind_int(st, 18, v->attempts);
	sqlite3_bind_int(st, 19, v->next_step);
	sqlite3_bind_int(st, 20, v->resends);
	sqlite3_bind_int64(st, 21, v->created_ms);
	sqlite3_bind_int64(st, 22, v->pin_created_ms);
	sqlite3_bind_int64(st, 23, v->pin_expiry_ms);
	sqlite3_bind_int64(st, 24, v->expires_ms);
	sqlite3_bind_int64(st, 25, v->last_resend_ms);
	sqlite3_bind_int64(st, 26, v->finalized_ms);
	sqlite3_bind_int64(st, 27, r->first_event_ms);
	sqlite3_bind_int64(st, 28, r->last_event_ms);
	sqlite3_bind_blob(st, 29, r->pin_box, (int)r->pin_box_len,
			  SQLITE_STATIC);
	bind_text(st, 30, r->call_sid);
	sqlite3_bind_blob(st, 31, r->handle_hash,
			  r->has_handle ? (int)sizeof(r->handle_hash) : 0,
			  SQLITE_STATIC);
}

static void vf_from_row(sqlite3_stmt *st, struct vf_record *r)
{
	struct verification *v = &r->v;

	memset(r, 0, sizeof(*r));
	v->id = sqlite3_column_int64(st, 0);
	column_text(st, 1, v->request_id, sizeof(v->request_id));
	v->key_id = sqlite3_column_int64(st, 2);
	column_text(st, 3, r->number, sizeof(r->number));
	r->number_type = sqlite3_column_int(st, 4);
	column_text(st, 5, r->brand, sizeof(r->brand));
	column_text(st, 6, r->sender_id, sizeof(r->sender_id));
	column_text(st, 7, r->lg, sizeof(r->lg));
	r->workflow_id = sqlite3_column_int(st, 8);
	r->code_length = sqlite3_column_int(st, 9);
	r->test_number = sqlite3_column_int(st, 10);
	column_blob(st, 11, r->pin_hash, sizeof(r->pin_hash));
	column_text(st, 12, r->steps, sizeof(r->steps));
	v->nsteps = (int)strlen(r->steps);
	for (int i = 0; i < ENGINE_MAX_STEPS; i++)
		r->wait_ms[i] = sqlite3_column_int64(st, 13 + i);
	v->state = (enum vf_state)sqlite3_column_int(st, 16);
	v->attempts = sqlite3_column_int(st, 17);
	v->next_step = sqlite3_column_int(st, 18);
	v->resends = sqlite3_column_int(st, 19);
	v->created_ms = sqlite3_column_int64(st, 20);
	v->pin_created_ms = sqlite3_column_int64(st, 21);
	v->pin_expiry_ms = sqlite3_column_int64(st, 22);
	v->expires_ms = sqlite3_column_int64(st, 23);
	v->last_resend_ms = sqlite3_column_int64(st, 24);
	v->finalized_ms = sqlite3_column_int64(st, 25);
	r->first_event_ms = sqlite3_column_int64(st, 26);
	r->last_event_ms = sqlite3_column_int64(st, 27);
	r->pin_box_len = (size_t)sqlite3_column_bytes(st, 28);
	if (r->pin_box_len > sizeof(r->pin_box))
		r->pin_box_len = 0; /* not ours: the PIN cannot be re-sent */
	if (r->pin_box_len)
		memcpy(r->pin_box, sqlite3_column_blob(st, 28), r->pin_box_len);
	column_text(st, 29, r->call_sid, sizeof(r->call_sid));
	if (sqlite3_column_bytes(st, 30) == (int)sizeof(r->handle_hash)) {
		memcpy(r->handle_hash, sqlite3_column_blob(st, 30),
		       sizeof(r->handle_hash));
		r->has_handle = 1;
	}
}

int db_verification_next_id(struct db_conn *c, int64_t *id)
{
	sqlite3_stmt *st = c->stmt[STMT_VF_NEXT_ID];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	return row_done(c, st, rc, "next verification id");
}

int db_verification_insert(struct db_conn *c, struct vf_record *r)
{
	sqlite3_stmt *st = c->stmt[STMT_VF_INSERT];
	int rc;

	vf_bind(st, r);
	if (r->v.id <= 0)
		sqlite3_bind_null(st, 1);
	rc = stmt_exec(c, STMT_VF_INSERT, "insert verification");
	if (rc == 0)
		r->v.id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int vf_lookup(struct db_conn *c, enum stmt_id id, struct vf_record *out,
		     const char *what)
{
	sqlite3_stmt *st = c->stmt[id];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		vf_from_row(st, out);
	return row_done(c, st, rc, what);
}

int db_verification_get(struct db_conn *c, const char *request_id,
			int64_t key_id, struct vf_record *out)
{
	struct vf_record legacy;
	int64_t id = 0;
	int parsed = crypto_request_id_parse(request_id, &id) == 0;
	int rc, rc_legacy, rc_other;

	/*
	 * Another key's request id and a made-up one must cost the same
	 * (docs/SECURITY.md, side channels), so every id runs both lookups,
	 * each returning no row for them: the row id with the caller's key
	 * (an id that is not ours looks up row 0, which never exists) and the
	 * ids from before request ids were derived from the row id.  A
	 * parsed id is taken from the first only; its stored id must still be
	 * this one (a legacy row has another).
	 */
	sqlite3_bind_int64(c->stmt[STMT_VF_BY_ID_KEY], 1, parsed ? id : 0);
	sqlite3_bind_int64(c->stmt[STMT_VF_BY_ID_KEY], 2, key_id);
	rc = vf_lookup(c, STMT_VF_BY_ID_KEY, out, "get verification");
	bind_text(c->stmt[STMT_VF_GET_LEGACY], 1, request_id);
	sqlite3_bind_int64(c->stmt[STMT_VF_GET_LEGACY], 2, key_id);
	rc_legacy =
		vf_lookup(c, STMT_VF_GET_LEGACY, &legacy, "get verification");
	if (!parsed) {
		rc_other = rc;
		rc = rc_legacy;
		if (rc == 0)
			memcpy(out, &legacy, sizeof(*out));
	} else {
		rc_other = rc_legacy;
		if (rc == 0 &&
		    !crypto_request_id_equal(out->v.request_id, request_id))
			rc = KV_ENOTFOUND;
	}
	/* A failed read in the other lookup fails this one too. */
	if ((rc == 0 || rc == KV_ENOTFOUND) && rc_other != 0 &&
	    rc_other != KV_ENOTFOUND)
		rc = rc_other;
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	sodium_memzero(&legacy, sizeof(legacy));
	return rc;
}

int db_verification_live(struct db_conn *c, int64_t key_id, const char *number,
			 struct vf_record *out)
{
	sqlite3_bind_int64(c->stmt[STMT_VF_LIVE], 1, key_id);
	bind_text(c->stmt[STMT_VF_LIVE], 2, number);
	return vf_lookup(c, STMT_VF_LIVE, out, "live verification");
}

int db_verification_update(struct db_conn *c, const struct vf_record *r)
{
	vf_bind(c->stmt[STMT_VF_UPDATE], r);
	return stmt_exec(c, STMT_VF_UPDATE, "update verification");
}

int db_check_insert(struct db_conn *c, int64_t verification_id,
		    const struct check_row *ch)
{
	sqlite3_stmt *st = c->stmt[STMT_CHECK_INSERT];

	sqlite3_bind_int64(st, 1, verification_id);
	sqlite3_bind_int64(st, 2, ch->created_ms);
	bind_text(st, 3, ch->code);
	sqlite3_bind_int(st, 4, ch->valid);
	bind_text(st, 5, ch->ip);
	return stmt_exec(c, STMT_CHECK_INSERT, "insert check");
}

int db_checks_foreach(struct db_conn *c, int64_t verification_id,
		      int (*cb)(const struct check_row *ch, void *arg),
		      void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_CHECK_LIST];
	struct check_row ch;
	int rc, cbrc = 0;

	sqlite3_bind_int64(st, 1, verification_id);
	while (cbrc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ch.created_ms = sqlite3_column_int64(st, 0);
		column_text(st, 1, ch.code, sizeof(ch.code));
		ch.valid = sqlite3_column_int(st, 2);
		column_text(st, 3, ch.ip, sizeof(ch.ip));
		cbrc = cb(&ch, arg);
	}
	if (cbrc != 0)
		rc = SQLITE_DONE;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_err(c, "list checks");
	return cbrc;
}

int db_event_insert(struct db_conn *c, int64_t verification_id,
		    const struct event_row *ev)
{
	sqlite3_stmt *st = c->stmt[STMT_EVENT_INSERT];

	sqlite3_bind_int64(st, 1, verification_id);
	sqlite3_bind_int64(st, 2, ev->created_ms);
	bind_text(st, 3, ev->type);
	bind_text(st, 4, ev->channel);
	bind_text(st, 5, ev->provider_id);
	bind_text(st, 6, ev->result);
	bind_text(st, 7, ev->detail);
	return stmt_exec(c, STMT_EVENT_INSERT, "insert event");
}

int db_events_foreach(struct db_conn *c, int64_t verification_id,
		      int (*cb)(const struct event_row *ev, void *arg),
		      void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_EVENT_LIST];
	struct event_row ev;
	int rc, cbrc = 0;

	sqlite3_bind_int64(st, 1, verification_id);
	while (cbrc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ev.created_ms = sqlite3_column_int64(st, 0);
		column_text(st, 1, ev.type, sizeof(ev.type));
		column_text(st, 2, ev.channel, sizeof(ev.channel));
		column_text(st, 3, ev.provider_id, sizeof(ev.provider_id));
		column_text(st, 4, ev.result, sizeof(ev.result));
		column_text(st, 5, ev.detail, sizeof(ev.detail));
		cbrc = cb(&ev, arg);
	}
	if (cbrc != 0)
		rc = SQLITE_DONE;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_err(c, "list events");
	return cbrc;
}

int db_verified_put(struct db_conn *c, int64_t key_id, const char *number,
		    const struct verified_row *vr)
{
	sqlite3_stmt *st = c->stmt[STMT_VERIFIED_PUT];

	sqlite3_bind_int64(st, 1, key_id);
	bind_text(st, 2, number);
	sqlite3_bind_int64(st, 3, vr->verified_ms);
	bind_text(st, 4, vr->request_id);
	return stmt_exec(c, STMT_VERIFIED_PUT, "put verified number");
}

int db_verified_get(struct db_conn *c, int64_t key_id, const char *number,
		    struct verified_row *out)
{
	sqlite3_stmt *st = c->stmt[STMT_VERIFIED_GET];
	int rc;

	sqlite3_bind_int64(st, 1, key_id);
	bind_text(st, 2, number);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->verified_ms = sqlite3_column_int64(st, 0);
		column_text(st, 1, out->request_id, sizeof(out->request_id));
	}
	return row_done(c, st, rc, "get verified number");
}

int db_job_insert(struct db_conn *c, const char *kind, int64_t verification_id,
		  int step, int64_t due_ms)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_INSERT];

	bind_text(st, 1, kind);
	sqlite3_bind_int64(st, 2, verification_id);
	sqlite3_bind_int(st, 3, step);
	sqlite3_bind_int64(st, 4, due_ms);
	sqlite3_bind_int64(st, 5, now_ms());
	return stmt_exec(c, STMT_JOB_INSERT, "insert job");
}

int db_jobs_cancel(struct db_conn *c, int64_t verification_id, int64_t now)
{
	sqlite3_stmt *st = c->stmt[STMT_JOBS_CANCEL];

	sqlite3_bind_int64(st, 1, verification_id);
	sqlite3_bind_int64(st, 2, now);
	return stmt_exec(c, STMT_JOBS_CANCEL, "cancel jobs");
}

int db_job_step_now(struct db_conn *c, int64_t verification_id, int64_t now,
		    int *moved)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_STEP_NOW];
	int rc;

	sqlite3_bind_int64(st, 1, verification_id);
	sqlite3_bind_int64(st, 2, now);
	rc = stmt_exec(c, STMT_JOB_STEP_NOW, "job step now");
	if (moved)
		*moved = rc == 0 ? sqlite3_changes(c->db) : 0;
	return rc;
}

int db_jobs_pending(struct db_conn *c, int64_t *count)
{
	sqlite3_stmt *st = c->stmt[STMT_JOBS_PENDING];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(st, 0);
	return row_done(c, st, rc, "count jobs");
}

int db_verification_by_id(struct db_conn *c, int64_t id, struct vf_record *out)
{
	sqlite3_bind_int64(c->stmt[STMT_VF_BY_ID], 1, id);
	return vf_lookup(c, STMT_VF_BY_ID, out, "verification by id");
}

int db_job_claim(struct db_conn *c, int64_t now, int64_t lease_until,
		 struct job_row *out)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_CLAIM];
	int rc;

	sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		column_text(st, 1, out->kind, sizeof(out->kind));
		out->verification_id = sqlite3_column_int64(st, 2);
		out->step = sqlite3_column_int(st, 3);
		out->due_ms = sqlite3_column_int64(st, 4);
		out->attempts = sqlite3_column_int(st, 5);
	}
	rc = row_done(c, st, rc, "claim job");
	if (rc != 0)
		return rc;
	st = c->stmt[STMT_JOB_LEASE];
	sqlite3_bind_int64(st, 1, out->id);
	sqlite3_bind_int64(st, 2, lease_until);
	rc = stmt_exec(c, STMT_JOB_LEASE, "lease job");
	if (rc == 0)
		out->attempts++;
	return rc;
}

int db_job_done(struct db_conn *c, int64_t id, int state, const char *error,
		int64_t now)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_DONE];

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, state);
	sqlite3_bind_int64(st, 3, now);
	bind_text(st, 4, error ? error : "");
	return stmt_exec(c, STMT_JOB_DONE, "finish job");
}

int db_job_retry(struct db_conn *c, int64_t id, int64_t due_ms,
		 const char *error)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_RETRY];

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, due_ms);
	bind_text(st, 3, error ? error : "");
	return stmt_exec(c, STMT_JOB_RETRY, "retry job");
}

int db_job_next_due(struct db_conn *c, int64_t *due_ms)
{
	sqlite3_stmt *st = c->stmt[STMT_JOB_NEXT_DUE];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*due_ms = sqlite3_column_int64(st, 0);
	return row_done(c, st, rc, "next job");
}

int db_verification_finalize(struct db_conn *c, const struct vf_record *r,
			     int64_t now)
{
	int rc = db_verification_update(c, r);

	if (rc == 0)
		rc = db_jobs_cancel(c, r->v.id, now);
	return rc;
}

int db_call_get(struct db_conn *c, const char *sid, struct call_row *out)
{
	sqlite3_stmt *st = c->stmt[STMT_CALL_GET];
	int rc;

	bind_text(st, 1, sid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out->sid, sizeof(out->sid), "%s", sid);
		out->verification_id = sqlite3_column_int64(st, 0);
		out->step = sqlite3_column_int(st, 1);
		out->repeats = sqlite3_column_int(st, 2);
		column_text(st, 3, out->outcome, sizeof(out->outcome));
		column_text(st, 4, out->status, sizeof(out->status));
		out->duration = sqlite3_column_int(st, 5);
	}
	return row_done(c, st, rc, "get call");
}

int db_call_put(struct db_conn *c, const struct call_row *cr, int64_t now)
{
	sqlite3_stmt *st = c->stmt[STMT_CALL_PUT];

	bind_text(st, 1, cr->sid);
	sqlite3_bind_int64(st, 2, cr->verification_id);
	sqlite3_bind_int(st, 3, cr->step);
	sqlite3_bind_int(st, 4, cr->repeats);
	bind_text(st, 5, cr->outcome);
	bind_text(st, 6, cr->status);
	sqlite3_bind_int(st, 7, cr->duration);
	sqlite3_bind_int64(st, 8, now);
	return stmt_exec(c, STMT_CALL_PUT, "put call");
}

int db_fraud_insert(struct db_conn *c, const char *number,
		    int64_t verification_id, int64_t now)
{
	sqlite3_stmt *st = c->stmt[STMT_FRAUD_INSERT];

	bind_text(st, 1, number);
	sqlite3_bind_int64(st, 2, verification_id);
	sqlite3_bind_int64(st, 3, now);
	return stmt_exec(c, STMT_FRAUD_INSERT, "insert fraud report");
}

int db_key_voice_confirm(struct db_conn *c, int64_t key_id, int *allowed)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_VOICE_CONFIRM];
	int rc;

	sqlite3_bind_int64(st, 1, key_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*allowed = sqlite3_column_int(st, 0);
	return row_done(c, st, rc, "key voice confirm");
}

int db_recent_numbers_foreach(struct db_conn *c, int64_t since_ms,
			      void (*cb)(const char *number, int64_t at_ms,
					 void *arg),
			      void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_NUMBER_RECENT];
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(st, 1);
		char number[16];

		/* Rowids grow with time (a clock step back only blurs this). */
		if (at <= since_ms)
			break;
		if (sqlite3_column_int(st, 2))
			continue; /* test numbers are not limited */
		column_text(st, 0, number, sizeof(number));
		cb(number, at, arg);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		       ? 0
		       : db_err(c, "recent numbers");
}

static void block_from_row(sqlite3_stmt *st, struct block_row *b)
{
	column_text(st, 0, b->prefix, sizeof(b->prefix));
	column_text(st, 1, b->reason, sizeof(b->reason));
	b->created_ms = sqlite3_column_int64(st, 2);
	b->until_ms = sqlite3_column_int64(st, 3);
	b->key_id = sqlite3_column_int64(st, 4);
	column_text(st, 5, b->api_key, sizeof(b->api_key));
}

int db_block_get(struct db_conn *c, const char *prefix, int64_t key_id,
		 int64_t now, struct block_row *out)
{
	sqlite3_stmt *st = c->stmt[STMT_BLOCK_GET];
	int rc;

	bind_text(st, 1, prefix);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, key_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		block_from_row(st, out);
	return row_done(c, st, rc, "get block");
}

int db_block_put(struct db_conn *c, const struct block_row *b)
{
	sqlite3_stmt *st = c->stmt[STMT_BLOCK_PUT];

	bind_text(st, 1, b->prefix);
	bind_text(st, 2, b->reason);
	sqlite3_bind_int64(st, 3, b->created_ms);
	sqlite3_bind_int64(st, 4, b->until_ms);
	sqlite3_bind_int64(st, 5, b->key_id);
	return stmt_exec(c, STMT_BLOCK_PUT, "put block");
}

int db_block_last(struct db_conn *c, const char *prefix, int64_t key_id,
		  struct block_row *out)
{
	sqlite3_stmt *st = c->stmt[STMT_BLOCK_LAST];
	int rc;

	bind_text(st, 1, prefix);
	sqlite3_bind_int64(st, 2, key_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		block_from_row(st, out);
	return row_done(c, st, rc, "last block");
}

int db_block_lift(struct db_conn *c, const char *prefix, int64_t now)
{
	int rc;

	bind_text(c->stmt[STMT_BLOCK_LIFT], 1, prefix);
	sqlite3_bind_int64(c->stmt[STMT_BLOCK_LIFT], 2, now);
	rc = stmt_exec(c, STMT_BLOCK_LIFT, "lift block");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}

int db_blocks_foreach(struct db_conn *c, int64_t now,
		      int (*cb)(const struct block_row *b, void *arg),
		      void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_BLOCK_LIST];
	struct block_row b;
	int rc;

	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		block_from_row(st, &b);
		if (cb(&b, arg) != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
						     : db_err(c, "list blocks");
}

int db_fraud_recent(struct db_conn *c, const char *prefix, int64_t key_id,
		    int64_t since_ms, int64_t *count)
{
	sqlite3_stmt *st = c->stmt[STMT_FRAUD_RECENT];
	char end[24];
	size_t n = strlen(prefix);
	int rc;

	/* Every number starting with the prefix sorts below prefix + ':'. */
	if (n + 2 > sizeof(end))
		return KV_EINVAL;
	memcpy(end, prefix, n);
	end[n] = ':';
	end[n + 1] = '\0';
	bind_text(st, 1, prefix);
	bind_text(st, 2, end);
	sqlite3_bind_int64(st, 3, since_ms);
	sqlite3_bind_int64(st, 4, key_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(st, 0);
	return row_done(c, st, rc, "recent fraud reports");
}

int db_key_kind(struct db_conn *c, int64_t key_id, int *kind)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_KIND];
	int rc;

	sqlite3_bind_int64(st, 1, key_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*kind = sqlite3_column_int(st, 0);
	return row_done(c, st, rc, "key kind");
}
