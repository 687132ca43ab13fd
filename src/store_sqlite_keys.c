/*
 * API keys of the SQLite backend: secret and publishable keys, the origins
 * a publishable key may be used from, and a key's options.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "err.h"
#include "log.h"
#include "store_cache.h"
#include "store_sqlite.h"
#include "util.h"

/*
 * Every API call authenticates its key: the readers keep the keys they
 * found for STORE_CACHE_TTL_MS (store_cache.h), which spares a call the
 * row's read, and on Request the read transaction's snapshot too.  A
 * revoke or a new owner made by this process empties the cache when its
 * statement runs and again once its transaction is committed (a reader may
 * have kept the old row in between); one made by another process (the
 * `keys` command) is seen when the entry ends.  Unknown keys are not kept,
 * so a new key works at once.  The writer and the admin commands always
 * read the table.
 */
static struct store_cache_entry key_slots[64];
static struct store_cache kc = STORE_CACHE_INIT(key_slots);
static atomic_int keys_changed;

static void key_cache_changed(void)
{
	store_cache_clear(&kc);
	atomic_store(&keys_changed, 1);
}

void sqlite_key_cache_committed(void)
{
	if (atomic_load_explicit(&keys_changed, memory_order_relaxed) &&
	    atomic_exchange(&keys_changed, 0))
		store_cache_clear(&kc);
}

static void key_from_row(sqlite3_stmt *st, struct key_info *k)
{
	k->id = sqlite3_column_int64(st, 0);
	sqlite_get_text(st, 1, k->api_key, sizeof(k->api_key));
	sqlite_get_text(st, 2, k->name, sizeof(k->name));
	sqlite_get_blob(st, 3, k->secret_hash, sizeof(k->secret_hash));
	k->created_ms = sqlite3_column_int64(st, 4);
	k->revoked_ms = sqlite3_column_int64(st, 5);
	sqlite_get_text(st, 6, k->countries, sizeof(k->countries));
	k->kind = sqlite3_column_int(st, 7);
	sqlite_get_text(st, 8, k->brand, sizeof(k->brand));
	k->owner_key_id = sqlite3_column_int64(st, 9);
	sqlite_get_text(st, 10, k->owner, sizeof(k->owner));
}

int sqlite_key_insert(struct store_tx *c, const struct key_info *k, int64_t *id)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_INSERT];
	int rc;

	sqlite_bind_text(st, 1, k->api_key);
	sqlite_bind_text(st, 2, k->name);
	sqlite3_bind_blob(st, 3, k->secret_hash, sizeof(k->secret_hash),
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, k->created_ms);
	sqlite3_bind_int(st, 5, k->voice_confirm);
	sqlite_bind_text(st, 6, k->countries[0] ? k->countries : "IN");
	sqlite3_bind_int(st, 7, k->kind);
	sqlite_bind_text(st, 8, k->brand);
	if (k->owner_key_id > 0)
		sqlite3_bind_int64(st, 9, k->owner_key_id);
	else
		sqlite3_bind_null(st, 9);
	rc = sqlite_run(c, STMT_KEY_INSERT, "insert key");
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

int sqlite_key_origin_add(struct store_tx *c, int64_t key_id,
			  const char *origin)
{
	sqlite_bind_text(c->stmt[STMT_ORIGIN_ADD], 1, origin);
	sqlite3_bind_int64(c->stmt[STMT_ORIGIN_ADD], 2, key_id);
	return sqlite_run(c, STMT_ORIGIN_ADD, "add origin");
}

int sqlite_key_origin_allowed(struct store_tx *c, int64_t key_id,
			      const char *origin, int *listed)
{
	sqlite3_stmt *st = c->stmt[STMT_ORIGIN_OF_KEY];

	sqlite_bind_text(st, 1, origin);
	sqlite3_bind_int64(st, 2, key_id);
	return sqlite_exists_done(c, st, "origin of key", listed);
}

int sqlite_origin_known(struct store_tx *c, const char *origin, int *known)
{
	sqlite3_stmt *st = c->stmt[STMT_ORIGIN_KNOWN];

	sqlite_bind_text(st, 1, origin);
	return sqlite_exists_done(c, st, "origin known", known);
}

int sqlite_key_origins_foreach(struct store_tx *c, int64_t key_id,
			       void (*cb)(const char *origin, void *arg),
			       void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_ORIGIN_LIST];
	int rc;

	sqlite3_bind_int64(st, 1, key_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(st, 0), arg);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : sqlite_fail(c, "list origins");
}

int sqlite_key_set_owner(struct store_tx *c, const char *api_key,
			 const char *owner)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_SET_OWNER];
	int rc;

	sqlite_bind_text(st, 1, api_key);
	sqlite_bind_text(st, 2, owner);
	rc = sqlite_run(c, STMT_KEY_SET_OWNER, "set key owner");
	key_cache_changed();
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}

int sqlite_key_get(struct store_tx *c, const char *api_key,
		   struct key_info *out)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_GET];
	int found, rc;

	if (c->reader &&
	    store_cache_get(&kc, api_key, out, sizeof(*out), &found))
		return 0; /* only keys found are put there */
	sqlite_bind_text(st, 1, api_key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		key_from_row(st, out);
	rc = sqlite_row_done(c, st, rc, "get key");
	if (rc == 0 && c->reader)
		store_cache_put(&kc, api_key, out, sizeof(*out), 1);
	return rc;
}

int sqlite_key_revoke(struct store_tx *c, const char *api_key, int64_t now_ms)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_REVOKE];
	int rc;

	sqlite_bind_text(st, 1, api_key);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = sqlite_run(c, STMT_KEY_REVOKE, "revoke key");
	key_cache_changed();
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}

int sqlite_keys_foreach(struct store_tx *c,
			int (*cb)(const struct key_info *k, void *arg),
			void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_LIST];
	struct key_info k;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		key_from_row(st, &k);
		if (cb(&k, arg) != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		       ? 0
		       : sqlite_fail(c, "list keys");
}

/* A one-column integer of one key's row into *out. */
static int key_column(struct store_tx *c, enum stmt_id id, int64_t key_id,
		      int *out, const char *what)
{
	sqlite3_stmt *st = c->stmt[id];
	int rc;

	sqlite3_bind_int64(st, 1, key_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	return sqlite_row_done(c, st, rc, what);
}

int sqlite_key_voice_confirm(struct store_tx *c, int64_t key_id, int *allowed)
{
	return key_column(c, STMT_KEY_VOICE_CONFIRM, key_id, allowed,
			  "key voice confirm");
}

int sqlite_key_kind(struct store_tx *c, int64_t key_id, int *kind)
{
	return key_column(c, STMT_KEY_KIND, key_id, kind, "key kind");
}

int sqlite_key_missed_call(struct store_tx *c, int64_t key_id, int *on)
{
	return key_column(c, STMT_KEY_MISSED_CALL, key_id, on,
			  "key missed call");
}

int sqlite_key_set_missed_call(struct store_tx *c, const char *api_key, int on)
{
	sqlite3_stmt *st = c->stmt[STMT_KEY_SET_MISSED_CALL];
	int rc;

	sqlite_bind_text(st, 1, api_key);
	sqlite3_bind_int(st, 2, on);
	rc = sqlite_run(c, STMT_KEY_SET_MISSED_CALL, "set key missed call");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}
