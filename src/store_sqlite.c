/*
 * The SQLite backend's connections and its statement table: every statement
 * of the store, indexed by enum stmt_id and prepared once per connection,
 * the pragmas and lock waits of a connection, and the small helpers that the
 * backend's other files use to bind, step and reset statements.  The
 * operations themselves live by table family in store_sqlite_keys.c,
 * store_sqlite_vf.c, store_sqlite_jobs.c and store_sqlite_abuse.c; the
 * writer thread and the readers in store_sqlite_writer.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "store_backend.h"
#include "store_console_sql.h"
#include "store_sqlite.h"
#include "store_vf_sql.h"
#include "err.h"
#include "log.h"
#include "util.h"

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
		"?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38)",
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
		"channel, provider_id, result, detail, encoding, segments) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[STMT_EVENT_LIST] = "SELECT created_ms, type, channel, provider_id, "
			    "result, detail, encoding, segments FROM events "
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
	/* The console (store_sqlite_console.c): windows by created_ms. */
	[STMT_CONSOLE_FUNNEL] = CONSOLE_FUNNEL_SQL("?1"),
	[STMT_CONSOLE_MINUTES] = CONSOLE_MINUTES_SQL("?1"),
	[STMT_CONSOLE_PREFIXES] = CONSOLE_PREFIXES_SQL("?1", "?2", "?3"),
	[STMT_CONSOLE_RECENT] = CONSOLE_RECENT_SQL("?1"),
	[STMT_CALL_LIST] = CONSOLE_CALLS_SQL("?1"),
	[STMT_APP_INSERT] = "INSERT INTO applications (app_id, key_id, "
			    "public_key, created_ms) VALUES (?1, ?2, ?3, ?4)",
	[STMT_APP_GET] = "SELECT a.app_id, a.key_id, a.public_key, "
			 "a.created_ms, k.api_key, k.revoked_ms, k.kind, "
			 "k.countries FROM applications a JOIN api_keys k ON "
			 "k.id = a.key_id WHERE a.app_id = ?1",
	[STMT_APP_DELETE] = "DELETE FROM applications WHERE app_id = ?1",
	[STMT_APP_LIST] = "SELECT a.app_id, a.key_id, a.public_key, "
			  "a.created_ms, k.api_key, k.revoked_ms, k.kind, "
			  "k.countries FROM applications a JOIN api_keys k ON "
			  "k.id = a.key_id ORDER BY a.created_ms, a.app_id",
	[STMT_IDEM_GET] = "SELECT body_hash, request_id, created_ms FROM "
			  "idempotency WHERE key_id = ?1 AND idem_key = ?2 "
			  "AND created_ms >= ?3",
	[STMT_IDEM_PUT] = "INSERT INTO idempotency (key_id, idem_key, "
			  "body_hash, request_id, created_ms) VALUES (?1, ?2, "
			  "?3, ?4, ?5)",
	/* Bounded, as the token uses' purge. */
	[STMT_IDEM_PURGE] = "DELETE FROM idempotency WHERE rowid IN (SELECT "
			    "rowid FROM idempotency WHERE created_ms < ?1 "
			    "LIMIT 64)",
	/*
	 * Status callbacks (store_sqlite_callback.c).  A callback queued
	 * behind a pending one of its verification is parked (due at the
	 * largest time) until that one ends.
	 */
	[STMT_KEY_CALLBACK_GET] = "SELECT callback_url, callback_secret FROM "
				  "api_keys WHERE id = ?1 AND "
				  "callback_url <> ''",
	[STMT_KEY_CALLBACK_SET] = "UPDATE api_keys SET callback_url = ?2, "
				  "callback_secret = ?3 WHERE api_key = ?1",
	[STMT_CB_INSERT] =
		"INSERT INTO callbacks (verification_id, key_id, jti, body, "
		"created_ms, due_ms) VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN "
		"EXISTS (SELECT 1 FROM callbacks WHERE verification_id = ?1 "
		"AND state = 0) THEN " CALLBACK_PARKED " ELSE ?5 END)",
	[STMT_CB_CLAIM] =
		"SELECT c.id, c.verification_id, c.key_id, c.jti, c.body, "
		"c.created_ms, c.attempts, k.callback_url, k.callback_secret, "
		"k.api_key "
		"FROM callbacks c JOIN api_keys k ON k.id = c.key_id WHERE "
		"c.state = 0 AND c.due_ms <= ?1 AND c.key_id NOT IN (?2, ?3, ?4, "
		"?5) ORDER BY c.due_ms LIMIT 1",
	[STMT_CB_LEASE] = "UPDATE callbacks SET due_ms = ?2, "
			  "lease_until_ms = ?2, attempts = attempts + 1 "
			  "WHERE id = ?1",
	[STMT_CB_DONE] = "UPDATE callbacks SET state = ?2, done_ms = ?3, "
			 "last_error = ?4 WHERE id = ?1 AND "
			 "lease_until_ms = ?5 AND state = 0",
	[STMT_CB_UNPARK] = "UPDATE callbacks SET due_ms = ?2 WHERE id = "
			   "(SELECT min(id) FROM callbacks WHERE "
			   "verification_id = ?1 AND state = 0) AND "
			   "due_ms = " CALLBACK_PARKED,
	[STMT_CB_RETRY] = "UPDATE callbacks SET due_ms = ?2, last_error = ?3, "
			  "lease_until_ms = 0 WHERE id = ?1 AND "
			  "lease_until_ms = ?4 AND state = 0",
	[STMT_CB_NEXT_DUE] = "SELECT due_ms FROM callbacks WHERE state = 0 "
			     "ORDER BY due_ms LIMIT 1",
	[STMT_TPL_INSERT] = "INSERT INTO templates (id, key_id, name, "
			    "is_default, created_ms, updated_ms) VALUES (?1, "
			    "?2, ?3, ?4, ?5, ?6)",
	[STMT_TPL_UPDATE] = "UPDATE templates SET name = ?3, is_default = ?4, "
			    "updated_ms = ?6 WHERE id = ?1 AND key_id = ?2",
	[STMT_TPL_UNDEFAULT] = "UPDATE templates SET is_default = 0 WHERE "
			       "key_id = ?1 AND id <> ?2 AND is_default = 1",
	[STMT_TPL_GET] = "SELECT " SQLITE_TPL_COLUMNS
			 " WHERE key_id = ?1 AND id = ?2",
	[STMT_TPL_DELETE] = "DELETE FROM templates WHERE key_id = ?1 AND "
			    "id = ?2",
	[STMT_TPL_LIST] = "SELECT " SQLITE_TPL_COLUMNS
			  " WHERE key_id = ?1 ORDER BY created_ms, id",
	[STMT_FRAG_INSERT] = "INSERT INTO template_fragments (id, "
			     "template_id, key_id, channel, locale, text, "
			     "dlt_template_id, dlt_entity_id, created_ms, "
			     "updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
			     "?8, ?9, ?10)",
	[STMT_FRAG_UPDATE] = "UPDATE template_fragments SET text = ?6, "
			     "dlt_template_id = ?7, dlt_entity_id = ?8, "
			     "updated_ms = ?10 WHERE id = ?1 AND "
			     "template_id = ?2 AND key_id = ?3",
	[STMT_FRAG_GET] = "SELECT " SQLITE_FRAG_COLUMNS
			  " WHERE key_id = ?1 AND template_id = ?2 AND id = ?3",
	[STMT_FRAG_DELETE] = "DELETE FROM template_fragments WHERE key_id = "
			     "?1 AND template_id = ?2 AND id = ?3",
	[STMT_FRAG_LIST] = "SELECT " SQLITE_FRAG_COLUMNS
			   " WHERE key_id = ?1 AND template_id = ?2 ORDER BY "
			   "created_ms, id",
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
	/*
	 * Only under the caller's lease ?5 (no row changed: another worker
	 * took the job), and only a pending job changes (one that ended
	 * under the lease is rewritten as it was, so it still counts).
	 */
	[STMT_JOB_DONE] =
		"UPDATE jobs SET state = CASE WHEN state = 0 THEN ?2 ELSE "
		"state END, done_ms = CASE WHEN state = 0 THEN ?3 ELSE "
		"done_ms END, last_error = CASE WHEN state = 0 THEN ?4 ELSE "
		"last_error END WHERE id = ?1 AND lease_until_ms = ?5",
	[STMT_JOB_RETRY] =
		"UPDATE jobs SET due_ms = CASE WHEN state = 0 THEN ?2 ELSE "
		"due_ms END, last_error = CASE WHEN state = 0 THEN ?3 ELSE "
		"last_error END, lease_until_ms = CASE WHEN state = 0 THEN 0 "
		"ELSE lease_until_ms END WHERE id = ?1 AND lease_until_ms = ?4",
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
	[STMT_KEY_MISSED_CALL] = "SELECT missed_call FROM api_keys "
				 "WHERE id = ?1",
	[STMT_KEY_SET_MISSED_CALL] = "UPDATE api_keys SET missed_call = ?2 "
				     "WHERE api_key = ?1",
	/* Through the partial index verifications_missed. */
	[STMT_VF_MISSED] = "SELECT " VF_COLUMNS " FROM verifications "
			   "WHERE number = ?1 AND missed_did = ?2 "
			   "AND missed_did <> '' ORDER BY id DESC LIMIT 1",
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
		"AND k.kind = 1 LIMIT 1",
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

int sqlite_fail(struct store_tx *c, const char *what)
{
	int code = sqlite3_extended_errcode(c->db);

	log_error("store.error", LOG_STR("op", what),
		  LOG_STR("error", sqlite3_errmsg(c->db)));
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
static int sqlite_busy_wait(void *unused, int tries)
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

/*
 * Every connection opens with NORMAL, then FULL when the setting asks: only
 * the writer's commits make it matter, but a CLI command that writes on its
 * own connection should be as durable as the server.
 */
int sqlite_open_raw(const char *path, sqlite3 **out, char *err, size_t errlen)
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
	sqlite3_busy_handler(db, sqlite_busy_wait, NULL);
	if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK ||
	    (store_sync_get() == STORE_SYNC_FULL &&
	     sqlite3_exec(db, "PRAGMA synchronous = FULL;", NULL, NULL, NULL) !=
		     SQLITE_OK)) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		goto fail;
	}
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return KV_EDB;
}

struct store_tx *sqlite_open(const char *path, char *err, size_t errlen)
{
	struct store_tx *c = calloc(1, sizeof(*c));
	sqlite3_stmt *st = NULL;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite_open_raw(path, &c->db, err, errlen) != 0)
		goto fail;
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) !=
		    SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_int(st, 0) != sqlite_schema_version()) {
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
	sqlite_close(c);
	return NULL;
}

void sqlite_close(struct store_tx *c)
{
	if (!c)
		return;
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close(c->db);
	free(c);
}

/* Runs a statement that returns no row; resets it whatever happens. */
int sqlite_run(struct store_tx *c, enum stmt_id id, const char *what)
{
	sqlite3_stmt *st = c->stmt[id];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sqlite_fail(c, what);
	return 0;
}

int sqlite_exec_stmt(struct store_tx *c, enum stmt_id id)
{
	return sqlite_run(c, id, stmt_sql[id]);
}

int sqlite_begin(struct store_tx *c)
{
	return sqlite_exec_stmt(c, STMT_BEGIN);
}

int sqlite_commit(struct store_tx *c)
{
	return sqlite_exec_stmt(c, STMT_COMMIT);
}

int sqlite_rollback(struct store_tx *c)
{
	return sqlite_exec_stmt(c, STMT_ROLLBACK);
}

void sqlite_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

void sqlite_get_text(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	size_t n = s ? (size_t)sqlite3_column_bytes(st, i) : 0;

	if (outlen == 0)
		return;
	if (n >= outlen)
		n = outlen - 1;
	if (s && n)
		memcpy(out, s, n);
	out[n] = '\0';
}

void sqlite_get_blob(sqlite3_stmt *st, int i, unsigned char *out, size_t len)
{
	const void *b = sqlite3_column_blob(st, i);

	memset(out, 0, len);
	if (b && (size_t)sqlite3_column_bytes(st, i) == len)
		memcpy(out, b, len);
}

/* Finishes a single-row lookup: 0 found, KV_ENOTFOUND, or an error. */
int sqlite_row_done(struct store_tx *c, sqlite3_stmt *st, int rc,
		    const char *what)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return KV_ENOTFOUND;
	return sqlite_fail(c, what);
}

int sqlite_exists_done(struct store_tx *c, sqlite3_stmt *st, const char *what,
		       int *found)
{
	int rc = sqlite_row_done(c, st, sqlite3_step(st), what);

	*found = rc == 0;
	return rc == KV_ENOTFOUND ? 0 : rc;
}

/*
 * SQLite's allocation statistics take a global mutex on every malloc;
 * nothing here reads them.  Must precede any other SQLite call.
 */
static void sqlite_library_init(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* The table store.c forwards to when the setting is a file path. */
const struct store_ops store_sqlite_ops = {
	.library_init = sqlite_library_init,
	.migrate = sqlite_migrate,
	.migrate_to = sqlite_migrate_to,
	.schema_version = sqlite_schema_version,
	.open = sqlite_open,
	.close = sqlite_close,
	.readers_init = sqlite_readers_init,
	.reader = sqlite_reader,
	.readers_close = sqlite_readers_close,
	.read_begin = sqlite_read_begin,
	.read_end = sqlite_read_end,
	.writer_start = sqlite_writer_start,
	.write = sqlite_write,
	.writer_stop = sqlite_writer_stop,
	.write_submit = sqlite_write_submit,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.key_insert = sqlite_key_insert,
	.key_get = sqlite_key_get,
	.key_revoke = sqlite_key_revoke,
	.key_set_owner = sqlite_key_set_owner,
	.keys_foreach = sqlite_keys_foreach,
	.key_origin_add = sqlite_key_origin_add,
	.key_origin_allowed = sqlite_key_origin_allowed,
	.origin_known = sqlite_origin_known,
	.key_origins_foreach = sqlite_key_origins_foreach,
	.token_use = sqlite_token_use,
	.token_used = sqlite_token_used,
	.app_insert = sqlite_app_insert,
	.app_get = sqlite_app_get,
	.app_delete = sqlite_app_delete,
	.apps_foreach = sqlite_apps_foreach,
	.idem_get = sqlite_idem_get,
	.idem_put = sqlite_idem_put,
	.template_put = sqlite_template_put,
	.template_get = sqlite_template_get,
	.template_delete = sqlite_template_delete,
	.templates_foreach = sqlite_templates_foreach,
	.fragment_put = sqlite_fragment_put,
	.fragment_get = sqlite_fragment_get,
	.fragment_delete = sqlite_fragment_delete,
	.fragments_foreach = sqlite_fragments_foreach,
	.verification_next_id = sqlite_verification_next_id,
	.verification_insert = sqlite_verification_insert,
	.verification_get = sqlite_verification_get,
	.verification_live = sqlite_verification_live,
	.verification_update = sqlite_verification_update,
	.verification_finalize = sqlite_verification_finalize,
	.check_insert = sqlite_check_insert,
	.checks_foreach = sqlite_checks_foreach,
	.event_insert = sqlite_event_insert,
	.events_foreach = sqlite_events_foreach,
	.verified_put = sqlite_verified_put,
	.verified_get = sqlite_verified_get,
	.call_get = sqlite_call_get,
	.call_put = sqlite_call_put,
	.fraud_insert = sqlite_fraud_insert,
	.key_voice_confirm = sqlite_key_voice_confirm,
	.key_missed_call = sqlite_key_missed_call,
	.key_set_missed_call = sqlite_key_set_missed_call,
	.verification_missed = sqlite_verification_missed,
	.block_get = sqlite_block_get,
	.block_put = sqlite_block_put,
	.block_lift = sqlite_block_lift,
	.block_last = sqlite_block_last,
	.blocks_foreach = sqlite_blocks_foreach,
	.fraud_recent = sqlite_fraud_recent,
	.key_kind = sqlite_key_kind,
	.recent_numbers_foreach = sqlite_recent_numbers_foreach,
	.console_funnel = sqlite_console_funnel,
	.console_minutes = sqlite_console_minutes,
	.console_prefixes = sqlite_console_prefixes,
	.console_recent = sqlite_console_recent,
	.calls_foreach = sqlite_calls_foreach,
	.job_claim = sqlite_job_claim,
	.job_done = sqlite_job_done,
	.job_retry = sqlite_job_retry,
	.job_next_due = sqlite_job_next_due,
	.verification_by_id = sqlite_verification_by_id,
	.job_insert = sqlite_job_insert,
	.jobs_cancel = sqlite_jobs_cancel,
	.job_step_now = sqlite_job_step_now,
	.jobs_pending = sqlite_jobs_pending,
	.stats = sqlite_stats,
	.backup = sqlite_backup,
	.restore = sqlite_restore,
	.number_erase = sqlite_number_erase,
	.purge_batch = sqlite_purge_batch,
	.shared = 0,
	.ping = sqlite_ping,
	.meta_claim = sqlite_meta_claim,
	.limit_take = sqlite_limit_take,
	.backoff_get = sqlite_backoff_get,
	.backoff_put = sqlite_backoff_put,
	.backoff_sweep = sqlite_backoff_sweep,
	.prefix_stats_add = sqlite_prefix_stats_add,
	.cluster_sweep = sqlite_cluster_sweep,
	.jobs_listen = NULL,
	.key_callback_get = sqlite_key_callback_get,
	.key_callback_set = sqlite_key_callback_set,
	.callback_insert = sqlite_callback_insert,
	.callback_claim = sqlite_callback_claim,
	.callback_done = sqlite_callback_done,
	.callback_retry = sqlite_callback_retry,
	.callback_next_due = sqlite_callback_next_due,
	.jobs_unlisten = NULL,
};
