/*
 * The schema: migrations applied in order, counted by PRAGMA user_version,
 * each in its own transaction with its version bump.  Never edit one that
 * has shipped: add a new one at the end.  A migration that rebuilds a table
 * copies its rows in batches first (rebuilds[]), so that a large table
 * neither holds one huge transaction nor starts over after an interrupt.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite.h"
#include "err.h"
#include "log.h"
#include "util.h"

static const char *const migrations[] = {
	/* 1: the whole first schema. */
	"CREATE TABLE api_keys (  id INTEGER PRIMARY KEY,"
	"  api_key TEXT NOT NULL UNIQUE,  name TEXT NOT NULL DEFAULT '',"
	"  secret_hash BLOB NOT NULL,  created_ms INTEGER NOT NULL,"
	"  revoked_ms INTEGER NOT NULL DEFAULT 0);CREATE TABLE verifications ("
	"  id INTEGER PRIMARY KEY,  request_id TEXT NOT NULL UNIQUE,"
	"  key_id INTEGER NOT NULL REFERENCES api_keys(id),"
	"  number TEXT NOT NULL,  number_type INTEGER NOT NULL,"
	"  brand TEXT NOT NULL,  sender_id TEXT NOT NULL DEFAULT '',"
	"  lg TEXT NOT NULL DEFAULT '',  workflow_id INTEGER NOT NULL,"
	"  code_length INTEGER NOT NULL,"
	"  test_number INTEGER NOT NULL DEFAULT 0,  pin_hash BLOB NOT NULL,"
	"  steps TEXT NOT NULL,"
	"  wait1_ms INTEGER NOT NULL, wait2_ms INTEGER NOT NULL,"
	"  wait3_ms INTEGER NOT NULL,  state INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_step INTEGER NOT NULL DEFAULT 0,"
	"  resends INTEGER NOT NULL DEFAULT 0,  created_ms INTEGER NOT NULL,"
	"  pin_created_ms INTEGER NOT NULL,  pin_expiry_ms INTEGER NOT NULL,"
	"  expires_ms INTEGER NOT NULL,"
	"  last_resend_ms INTEGER NOT NULL DEFAULT 0,"
	"  finalized_ms INTEGER NOT NULL DEFAULT 0,"
	"  first_event_ms INTEGER NOT NULL DEFAULT 0,"
	"  last_event_ms INTEGER NOT NULL DEFAULT 0);"
	/* One live verification per number and key, enforced by the store. */
	"CREATE UNIQUE INDEX verifications_live ON verifications(key_id, "
	"number)  WHERE state = 0;"
	"CREATE TABLE checks (  id INTEGER PRIMARY KEY,"
	"  verification_id INTEGER NOT NULL REFERENCES verifications(id),"
	"  created_ms INTEGER NOT NULL,  code TEXT NOT NULL,"
	"  valid INTEGER NOT NULL,  ip TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX checks_verification ON checks(verification_id);"
	"CREATE TABLE events (  id INTEGER PRIMARY KEY,"
	"  verification_id INTEGER NOT NULL REFERENCES verifications(id),"
	"  created_ms INTEGER NOT NULL,  type TEXT NOT NULL,"
	"  channel TEXT NOT NULL DEFAULT '',"
	"  provider_id TEXT NOT NULL DEFAULT '',"
	"  result TEXT NOT NULL DEFAULT '',  detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX events_verification ON events(verification_id);"
	"CREATE TABLE verified_numbers ("
	"  key_id INTEGER NOT NULL REFERENCES api_keys(id),"
	"  number TEXT NOT NULL,  verified_ms INTEGER NOT NULL,"
	"  request_id TEXT NOT NULL,"
	"  PRIMARY KEY (key_id, number)) WITHOUT ROWID;CREATE TABLE jobs ("
	"  id INTEGER PRIMARY KEY,  kind TEXT NOT NULL,"
	"  verification_id INTEGER NOT NULL REFERENCES verifications(id),"
	"  step INTEGER NOT NULL DEFAULT 0,  due_ms INTEGER NOT NULL,"
	/* state: 0 pending, 1 done, 2 failed, 3 cancelled */
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  lease_until_ms INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '',  created_ms INTEGER NOT NULL,"
	"  done_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX jobs_pending ON jobs(due_ms) WHERE state = 0;"
	"CREATE INDEX jobs_verification ON jobs(verification_id)"
	"  WHERE state = 0;",
	/*
	 * 2: delivery.  The PIN sealed with a server subkey (the job runner
	 * must send it again for the call and for a resend; checks still use
	 * the hash), and the provider's call id of the latest call.
	 */
	"ALTER TABLE verifications ADD COLUMN pin_box BLOB NOT NULL"
	"  DEFAULT x'';"
	"ALTER TABLE verifications ADD COLUMN call_sid TEXT NOT NULL"
	"  DEFAULT '';",
	/*
	 * 3: the IVR.  One row per call KooKoo placed (by its sid), fraud
	 * reports ("9: I did not ask for this"), and whether a key lets the
	 * callee confirm by pressing 2.
	 */
	"CREATE TABLE calls ("
	"  sid TEXT PRIMARY KEY,"
	"  verification_id INTEGER NOT NULL REFERENCES verifications(id),"
	"  step INTEGER NOT NULL,"
	"  repeats INTEGER NOT NULL DEFAULT 0,"
	"  outcome TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL DEFAULT '',"
	"  duration INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL);"
	"CREATE TABLE fraud_reports ("
	"  id INTEGER PRIMARY KEY,"
	"  number TEXT NOT NULL,"
	"  verification_id INTEGER NOT NULL REFERENCES verifications(id),"
	"  created_ms INTEGER NOT NULL);"
	"CREATE INDEX fraud_reports_number ON fraud_reports(number, created_ms);"
	"ALTER TABLE api_keys ADD COLUMN voice_confirm INTEGER NOT NULL"
	"  DEFAULT 1;",
	/*
	 * 4: abuse limits.  Requests per number in a window are counted from
	 * the store (the limit must survive a restart), and each key has a
	 * country allow-list ("IN" by default, matching KooKoo; "*" = any).
	 */
	"CREATE INDEX verifications_number ON verifications(number, created_ms);"
	"ALTER TABLE api_keys ADD COLUMN countries TEXT NOT NULL DEFAULT 'IN';",
	/*
	 * 5: fraud blocks.  A number prefix blocked until a time, with the
	 * reason (repeated "I did not ask for this" reports, or too few
	 * verifications completed for the volume requested).
	 */
	"CREATE TABLE blocks ("
	"  prefix TEXT PRIMARY KEY,"
	"  reason TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  until_ms INTEGER NOT NULL) WITHOUT ROWID;",
	/*
	 * 6: requests per number are counted in memory (a token bucket
	 * refilled from the newest rows at start), which saves every request
	 * a write to a randomly placed index page.
	 */
	"DROP INDEX verifications_number;",
	/*
	 * 7: browsers.  Publishable keys (kind 1) work without a secret from
	 * the origins listed for them; verification tokens that a backend
	 * asked to be single-use are remembered until they expire.
	 */
	"ALTER TABLE api_keys ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE key_origins ("
	"  origin TEXT NOT NULL,"
	"  key_id INTEGER NOT NULL REFERENCES api_keys(id),"
	"  PRIMARY KEY (origin, key_id)) WITHOUT ROWID;"
	"CREATE TABLE token_uses ("
	"  jti TEXT PRIMARY KEY,"
	"  exp_ms INTEGER NOT NULL,"
	"  used_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX token_uses_exp ON token_uses(exp_ms);",
	/*
	 * 8: a publishable key may fix the brand its SMS and calls name, so
	 * that a copied key cannot send codes in another company's name.
	 */
	"ALTER TABLE api_keys ADD COLUMN brand TEXT NOT NULL DEFAULT '';",
	/*
	 * 9: request ids are a keyed permutation of the row id
	 * (crypto_request_id_of), so a lookup decodes the id and reads the
	 * row by id, and a new verification no longer writes a randomly
	 * placed page of a UNIQUE index of request ids.  SQLite cannot drop
	 * that index without rebuilding the table (the runner turns foreign
	 * keys off around this).  Rows from before keep their random ids
	 * (legacy = 1), found through a partial index of those rows only.
	 * AUTOINCREMENT: a row id, hence a request id, is never used twice.
	 * The new table and the batched copy into it are rebuilds[]'s;
	 * this is the swap that follows them.
	 */
	"DROP TABLE verifications;"
	"ALTER TABLE verifications_new RENAME TO verifications;"
	"CREATE UNIQUE INDEX verifications_live ON verifications(key_id, "
	"number)  WHERE state = 0;"
	"CREATE UNIQUE INDEX verifications_legacy_id ON "
	"verifications(request_id) WHERE legacy = 1;",
	/*
	 * 10: browser verifications belong to the visitor that started them, and
	 * publishable keys to the secret key of their owner.  handle_hash is
	 * the keyed hash of the handle a request through a publishable key
	 * returned to the page (empty for secret keys; a publishable key's
	 * verification without one, from before, answers no page).
	 * owner_key_id names the secret key whose backend alone may redeem
	 * the publishable key's tokens online; NULL, as for every key made
	 * before, lets no backend redeem them until `keys set-owner`.
	 */
	"ALTER TABLE verifications ADD COLUMN handle_hash BLOB NOT NULL "
	"DEFAULT x'';"
	"ALTER TABLE api_keys ADD COLUMN owner_key_id INTEGER "
	"REFERENCES api_keys(id);",
	/*
	 * 11: a fraud block earned through a publishable key blocks that key
	 * only (key_id), so that a stranger holding a site's public key
	 * cannot block a prefix for every tenant; key_id 0 blocks every key.
	 * The key is part of the primary key, so the table is rebuilt (the
	 * new table and the copy: rebuilds[]).
	 */
	"DROP TABLE blocks;"
	"ALTER TABLE blocks_new RENAME TO blocks;",
	/*
	 * 12: the background purge deletes verified-number entries that
	 * expired; without an index on the time it would read the whole table
	 * inside the writer's transaction, once a batch.
	 */
	"CREATE INDEX verified_numbers_ms ON verified_numbers(verified_ms);",
	/*
	 * 13: what many nodes on one store must share.  meta holds settings
	 * the store is claimed for (the server secret's fingerprint: every
	 * node must derive the same ids and hashes); limits holds token
	 * buckets as the time each is full again; prefix_stats the conversion
	 * figures of the fraud rules, per hour window.  A SQLite store has
	 * one process, which keeps the last two in memory.
	 */
	"CREATE TABLE meta (  name TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE limits (  name TEXT NOT NULL,  key TEXT NOT NULL,"
	"  tat_us INTEGER NOT NULL,"
	"  PRIMARY KEY (name, key)) WITHOUT ROWID;"
	"CREATE INDEX limits_tat ON limits(tat_us);"
	"CREATE TABLE prefix_stats (  scope INTEGER NOT NULL,"
	"  prefix TEXT NOT NULL,  window_ms INTEGER NOT NULL,"
	"  requests INTEGER NOT NULL,  successes INTEGER NOT NULL,"
	"  PRIMARY KEY (scope, prefix)) WITHOUT ROWID;"
	"CREATE INDEX prefix_stats_window ON prefix_stats(window_ms);",
	/*
	 * 14: removing a verification (the purge, erase) must not read whole
	 * tables: with foreign keys on, SQLite looks for rows that still
	 * refer to it in every child table, and the purge deletes them by
	 * verification too.  jobs had only an index of pending jobs, calls
	 * and fraud_reports none: at a million jobs a batch of the purge held
	 * the writer for seconds.
	 */
	"DROP INDEX jobs_verification;"
	"CREATE INDEX jobs_verification ON jobs(verification_id);"
	"CREATE INDEX calls_verification ON calls(verification_id);"
	"CREATE INDEX fraud_reports_verification ON "
	"fraud_reports(verification_id);",
	/*
	 * 15: SMS autofill and DLT.  A verification keeps the host of the web
	 * origin and the app hash its SMS ends with, so that a resend, or a
	 * job run on any node, sends the same text; an SMS event keeps the
	 * text's encoding and segments.
	 */
	"ALTER TABLE verifications ADD COLUMN origin_host TEXT NOT NULL "
	"DEFAULT '';"
	"ALTER TABLE verifications ADD COLUMN app_hash TEXT NOT NULL "
	"DEFAULT '';"
	"ALTER TABLE events ADD COLUMN encoding TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE events ADD COLUMN segments INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 16: missed-call verification.  A key enables it (missed_call); a
	 * verification a missed call may verify keeps the DID it is to be
	 * called on and until when, and the inbound call finds it by the
	 * caller's number and the DID through a partial index of those rows.
	 */
	"ALTER TABLE api_keys ADD COLUMN missed_call INTEGER NOT NULL "
	"DEFAULT 0;"
	"ALTER TABLE verifications ADD COLUMN missed_did TEXT NOT NULL "
	"DEFAULT '';"
	"ALTER TABLE verifications ADD COLUMN missed_until_ms INTEGER NOT "
	"NULL DEFAULT 0;"
	"CREATE INDEX verifications_missed ON verifications(number, "
	"missed_did) WHERE missed_did <> '';",
	/*
	 * 17: the resend backoff of a number per key (engine.h), named by a
	 * keyed hash of the number; last_ms lets the purge drop decayed rows.
	 */
	"CREATE TABLE resend_backoff ("
	"  key_id INTEGER NOT NULL,"
	"  tag TEXT NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  last_ms INTEGER NOT NULL,"
	"  next_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (key_id, tag)) WITHOUT ROWID;"
	"CREATE INDEX resend_backoff_last ON resend_backoff(last_ms);",
	/*
	 * 18: the operator console reads windows of recent verifications
	 * (per minute, the funnel, prefixes) by the time they started.
	 */
	"CREATE INDEX verifications_created ON verifications(created_ms);",
	/*
	 * 19: status callbacks.  A key's callback URL and the secret that
	 * signs its callbacks; the queue of callbacks to deliver, each with
	 * its signed body's parts (jti stays the same on every attempt).
	 * callbacks_pending is what the claim reads, callbacks_verification
	 * finds a verification's earlier callbacks (order) and its rows (the
	 * purge, erase).
	 */
	"ALTER TABLE api_keys ADD COLUMN callback_url TEXT NOT NULL "
	"DEFAULT '';"
	"ALTER TABLE api_keys ADD COLUMN callback_secret TEXT NOT NULL "
	"DEFAULT '';"
	"CREATE TABLE callbacks ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  verification_id INTEGER NOT NULL REFERENCES verifications(id),"
	"  key_id INTEGER NOT NULL,"
	"  jti TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL,"
	"  due_ms INTEGER NOT NULL,"
	"  lease_until_ms INTEGER NOT NULL DEFAULT 0,"
	"  done_ms INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX callbacks_pending ON callbacks(due_ms) WHERE state = 0;"
	"CREATE INDEX callbacks_verification ON callbacks(verification_id, "
	"id);",
	/*
	 * 20: Verify v2.  Applications (the public key of a Vonage-style
	 * application's JWTs, bound to an API key) and idempotency records
	 * (a start's Idempotency-Key, the hash of its request, the
	 * verification it made), purged after their lifetime.
	 */
	"CREATE TABLE applications ("
	"  app_id TEXT PRIMARY KEY,"
	"  key_id INTEGER NOT NULL REFERENCES api_keys(id),"
	"  public_key TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE INDEX applications_key ON applications(key_id);"
	"CREATE TABLE idempotency ("
	"  key_id INTEGER NOT NULL,"
	"  idem_key TEXT NOT NULL,"
	"  body_hash BLOB NOT NULL,"
	"  request_id TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (key_id, idem_key));"
	"CREATE INDEX idempotency_created ON idempotency(created_ms);",
	/*
	 * 21: a verification's client_ref (Verify v2's start), which its
	 * status callbacks carry back ('' when the client gave none), and
	 * whether Verify v2 started it (its callbacks then name it by the
	 * UUID its start answered).
	 */
	"ALTER TABLE verifications ADD COLUMN client_ref TEXT NOT NULL "
	"DEFAULT '';"
	"ALTER TABLE verifications ADD COLUMN v2 INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 22: Verify v2 templates of each key and their fragments (one text
	 * per channel and locale; an sms text with the DLT registration it
	 * is).  A key's names are unique, and a template's channel+locale.
	 * A verification keeps the template its start chose ('' for none),
	 * whose voice fragment its calls read.
	 */
	"CREATE TABLE templates ("
	"  id TEXT PRIMARY KEY,"
	"  key_id INTEGER NOT NULL REFERENCES api_keys(id),"
	"  name TEXT NOT NULL,"
	"  is_default INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  UNIQUE (key_id, name));"
	"CREATE TABLE template_fragments ("
	"  id TEXT PRIMARY KEY,"
	"  template_id TEXT NOT NULL REFERENCES templates(id),"
	"  key_id INTEGER NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  locale TEXT NOT NULL,"
	"  text TEXT NOT NULL,"
	"  dlt_template_id TEXT NOT NULL DEFAULT '',"
	"  dlt_entity_id TEXT NOT NULL DEFAULT '',"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  UNIQUE (template_id, channel, locale));"
	"ALTER TABLE verifications ADD COLUMN template_id TEXT NOT NULL "
	"DEFAULT '';",
	/*
	 * 23: nothing here.  PostgreSQL's drops the foreign keys from
	 * verifications and verified_numbers to api_keys, whose checks lock
	 * the key's row there; SQLite's checks take no lock.
	 */
	NULL,
};

/*
 * A migration that rebuilds a table: before its SQL above (the swap: drop
 * the old table, rename the new one, indexes) runs, the new table is created
 * and filled in batches of REBUILD_BATCH rows in key order, one transaction
 * each.  `copy` copies the next ?1 rows past the greatest key already in the
 * new table, so an interrupted copy resumes where its last commit left it;
 * the swap's transaction copies whatever is left (?1 = -1) so that it ends
 * with exactly the old table's rows.
 */
struct rebuild {
	int version;       /* the migration it belongs to */
	const char *count; /* rows of the old table */
	const char *create;
	const char *copy;
	const char *copied; /* rows already in the new table */
};

#define REBUILD_BATCH 50000

static const struct rebuild rebuilds[] = {
	{9, "SELECT count(*) FROM verifications",
	 "CREATE TABLE IF NOT EXISTS verifications_new ("
	 "  id INTEGER PRIMARY KEY AUTOINCREMENT,  request_id TEXT NOT NULL,"
	 "  key_id INTEGER NOT NULL REFERENCES api_keys(id),"
	 "  number TEXT NOT NULL,  number_type INTEGER NOT NULL,"
	 "  brand TEXT NOT NULL,  sender_id TEXT NOT NULL DEFAULT '',"
	 "  lg TEXT NOT NULL DEFAULT '',  workflow_id INTEGER NOT NULL,"
	 "  code_length INTEGER NOT NULL,"
	 "  test_number INTEGER NOT NULL DEFAULT 0,  pin_hash BLOB NOT NULL,"
	 "  steps TEXT NOT NULL,"
	 "  wait1_ms INTEGER NOT NULL, wait2_ms INTEGER NOT NULL,"
	 "  wait3_ms INTEGER NOT NULL,  state INTEGER NOT NULL,"
	 "  attempts INTEGER NOT NULL DEFAULT 0,"
	 "  next_step INTEGER NOT NULL DEFAULT 0,"
	 "  resends INTEGER NOT NULL DEFAULT 0,  created_ms INTEGER NOT NULL,"
	 "  pin_created_ms INTEGER NOT NULL,  pin_expiry_ms INTEGER NOT NULL,"
	 "  expires_ms INTEGER NOT NULL,"
	 "  last_resend_ms INTEGER NOT NULL DEFAULT 0,"
	 "  finalized_ms INTEGER NOT NULL DEFAULT 0,"
	 "  first_event_ms INTEGER NOT NULL DEFAULT 0,"
	 "  last_event_ms INTEGER NOT NULL DEFAULT 0,"
	 "  pin_box BLOB NOT NULL DEFAULT x'',"
	 "  call_sid TEXT NOT NULL DEFAULT '',"
	 "  legacy INTEGER NOT NULL DEFAULT 0);",
	 "INSERT INTO verifications_new SELECT *, 1 FROM verifications"
	 " WHERE id > (SELECT coalesce(max(id), 0) FROM verifications_new)"
	 " ORDER BY id LIMIT ?1",
	 "SELECT count(*) FROM verifications_new"},
	{11, "SELECT count(*) FROM blocks",
	 "CREATE TABLE IF NOT EXISTS blocks_new ("
	 "  prefix TEXT NOT NULL,"
	 "  key_id INTEGER NOT NULL DEFAULT 0,"
	 "  reason TEXT NOT NULL,"
	 "  created_ms INTEGER NOT NULL,"
	 "  until_ms INTEGER NOT NULL,"
	 "  PRIMARY KEY (prefix, key_id)) WITHOUT ROWID;",
	 "INSERT INTO blocks_new (prefix, key_id, reason, created_ms, until_ms)"
	 " SELECT prefix, 0, reason, created_ms, until_ms FROM blocks"
	 " WHERE prefix > (SELECT coalesce(max(prefix), '') FROM blocks_new)"
	 " ORDER BY prefix LIMIT ?1",
	 "SELECT count(*) FROM blocks_new"},
};

int sqlite_schema_version(void)
{
	return (int)ARRAY_LEN(migrations);
}

static const struct rebuild *rebuild_find(int version)
{
	for (size_t i = 0; i < ARRAY_LEN(rebuilds); i++)
		if (rebuilds[i].version == version)
			return &rebuilds[i];
	return NULL;
}

/* The first column of a one-row query as an integer, or -1. */
static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Rolls back after a failure, keeping SQLite's message in msg. */
static int tx_fail(sqlite3 *db, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "%s", sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * Begins a write transaction in which the schema is still at `version`:
 * returns 1 so, 0 (and no transaction) when another process has moved it
 * on meanwhile, or -1 with the reason in msg.
 */
static int tx_begin_at(sqlite3 *db, int version, char *msg, size_t msglen)
{
	int64_t v;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return tx_fail(db, msg, msglen);
	v = query_int(db, "PRAGMA user_version");
	if (v < 0)
		return tx_fail(db, msg, msglen);
	if (v == version)
		return 1;
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return 0;
}

/* Copies up to `limit` rows (-1: all that are left); *n gets how many. */
static int rebuild_copy_batch(sqlite3 *db, const struct rebuild *r, int limit,
			      int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, r->copy, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, limit);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(st);
	*n = rc == SQLITE_OK ? sqlite3_changes64(db) : 0;
	return rc;
}

/*
 * The batches of migration r->version (from `version`, the one before):
 * the new table, then REBUILD_BATCH rows a transaction, with a progress line
 * after each.  Returns 1 when they are done, 0 when another process applied
 * the migration meanwhile, -1 with the reason in msg.
 */
static int rebuild_batches(sqlite3 *db, const struct rebuild *r, int version,
			   char *msg, size_t msglen)
{
	int64_t total = -1, done, n = 0;
	int at = tx_begin_at(db, version, msg, msglen);

	if (at <= 0)
		return at;
	if (sqlite3_exec(db, r->create, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	done = query_int(db, r->copied);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK ||
	    done < 0)
		goto fail;
	do {
		at = tx_begin_at(db, version, msg, msglen);
		if (at <= 0)
			return at;
		if (total < 0)
			total = query_int(db, r->count);
		if (rebuild_copy_batch(db, r, REBUILD_BATCH, &n) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
		done += n;
		if (n > 0)
			log_info("store.migration_progress",
				 LOG_INT("migration", r->version),
				 LOG_INT("rows_done", done),
				 LOG_INT("rows_total", total));
	} while (n == REBUILD_BATCH);
	return 1;
fail:
	return tx_fail(db, msg, msglen);
}

/*
 * 0 when no row breaks a foreign key.  Otherwise KV_EDB with the first
 * offending row in msg ("checks row 12 refers to a missing verifications
 * row"), or SQLite's message when the check itself failed.
 */
static int foreign_keys_check(sqlite3 *db, char *msg, size_t msglen)
{
	sqlite3_stmt *st = NULL;
	int64_t more = 0;
	int rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st,
				    NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(st, 0);
		const char *parent = (const char *)sqlite3_column_text(st, 2);

		/* A table WITHOUT ROWID has no row id to name. */
		if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			snprintf(msg, msglen,
				 "foreign_key_check: a %s row refers to a "
				 "missing %s row",
				 table ? table : "?", parent ? parent : "?");
		else
			snprintf(msg, msglen,
				 "foreign_key_check: %s row %lld refers to a "
				 "missing %s row",
				 table ? table : "?",
				 (long long)sqlite3_column_int64(st, 1),
				 parent ? parent : "?");
		while (sqlite3_step(st) == SQLITE_ROW)
			more++;
		if (more > 0) {
			size_t len = strlen(msg);

			snprintf(msg + len, msglen - len,
				 " (and %lld more rows)", (long long)more);
		}
		rc = SQLITE_CONSTRAINT;
	} else if (rc != SQLITE_DONE) {
		snprintf(msg, msglen, "foreign_key_check: %s",
			 sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : KV_EDB;
}

/*
 * Applies migration i + 1 to a database at version i: its batches if it
 * rebuilds a table, then its SQL, the check of every foreign key and the
 * version bump in one transaction.  0, or KV_EDB with the reason in msg.
 */
static int migration_apply(sqlite3 *db, int i, char *msg, size_t msglen)
{
	const struct rebuild *r = rebuild_find(i + 1);
	char bump[64];
	int64_t n = 0;
	int at = r ? rebuild_batches(db, r, i, msg, msglen) : 1;

	if (at == 1)
		at = tx_begin_at(db, i, msg, msglen);
	if (at == 0)
		return 0; /* another process applied it */
	if (at < 0)
		return KV_EDB;
	snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", i + 1);
	if ((r && rebuild_copy_batch(db, r, -1, &n) != SQLITE_OK) ||
	    sqlite3_exec(db, migrations[i], NULL, NULL, NULL) != SQLITE_OK)
		goto sql_error;
	if (foreign_keys_check(db, msg, msglen) != 0)
		goto fail;
	if (sqlite3_exec(db, bump, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto sql_error;
	log_info("store.migrated", LOG_INT("migration", i + 1));
	return 0;
sql_error:
	tx_fail(db, msg, msglen);
	return KV_EDB;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return KV_EDB;
}

int sqlite_migrate_to(const char *path, int target, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char msg[300];
	int64_t version;
	int rc = sqlite_open_raw(path, &db, err, errlen);

	if (rc != 0)
		return rc;
	/*
	 * A table is rebuilt by creating its new form, copying, dropping the
	 * old one and renaming: with foreign keys on, the drop would fail on
	 * (or cascade to) the rows referring to it.  SQLite's documented way
	 * is keys off around the migration and foreign_key_check before its
	 * commit; the pragma only works outside a transaction.
	 */
	if (sqlite3_exec(db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto sql_error;
	version = query_int(db, "PRAGMA user_version");
	if (version < 0)
		goto sql_error;
	if (target < 0 || target > sqlite_schema_version()) {
		snprintf(err, errlen,
			 "%s: no schema version %d (this program's is %d)",
			 path, target, sqlite_schema_version());
		rc = KV_EINVAL;
		goto out;
	}
	if (version > target) {
		snprintf(err, errlen,
			 "%s: schema version %lld is newer than %s (%d)", path,
			 (long long)version,
			 target == sqlite_schema_version() ? "this program"
							   : "the one asked",
			 target);
		rc = KV_EDB;
		goto out;
	}
	/*
	 * Another process may migrate the same file at the same time: each
	 * transaction checks the version it starts from, and the loop reads
	 * it again after each migration.
	 */
	while (version < target) {
		if (migration_apply(db, (int)version, msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s: migration %lld: %s", path,
				 (long long)version + 1, msg);
			rc = KV_EDB;
			goto out;
		}
		version = query_int(db, "PRAGMA user_version");
		if (version < 0)
			goto sql_error;
	}
	goto out;
sql_error:
	snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
	rc = KV_EDB;
out:
	sqlite3_close(db);
	return rc;
}

int sqlite_migrate(const char *path, char *err, size_t errlen)
{
	return sqlite_migrate_to(path, sqlite_schema_version(), err, errlen);
}
