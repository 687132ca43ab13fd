/*
 * Abuse defences in the SQLite backend: fraud reports, blocks of number
 * prefixes, and the single-use records of verification tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "err.h"
#include "log.h"
#include "store_sqlite.h"
#include "util.h"

int sqlite_token_use(struct store_tx *c, const char *jti, int64_t exp_ms,
		     int64_t now_ms)
{
	sqlite3_stmt *st = c->stmt[STMT_TOKEN_USE];
	int rc;

	sqlite3_bind_int64(c->stmt[STMT_TOKEN_PURGE], 1, now_ms);
	rc = sqlite_run(c, STMT_TOKEN_PURGE, "purge token uses");
	if (rc != 0)
		return rc;
	sqlite_bind_text(st, 1, jti);
	sqlite3_bind_int64(st, 2, exp_ms);
	sqlite3_bind_int64(st, 3, now_ms);
	rc = sqlite_run(c, STMT_TOKEN_USE, "use token");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_EDUP;
	return rc;
}

int sqlite_token_used(struct store_tx *c, const char *jti, int *used)
{
	sqlite3_stmt *st = c->stmt[STMT_TOKEN_USED];

	sqlite_bind_text(st, 1, jti);
	return sqlite_exists_done(c, st, "token used", used);
}

int sqlite_fraud_insert(struct store_tx *c, const char *number,
			int64_t verification_id, int64_t now)
{
	sqlite3_stmt *st = c->stmt[STMT_FRAUD_INSERT];

	sqlite_bind_text(st, 1, number);
	sqlite3_bind_int64(st, 2, verification_id);
	sqlite3_bind_int64(st, 3, now);
	return sqlite_run(c, STMT_FRAUD_INSERT, "insert fraud report");
}

static void block_from_row(sqlite3_stmt *st, struct fraud_block *b)
{
	sqlite_get_text(st, 0, b->prefix, sizeof(b->prefix));
	sqlite_get_text(st, 1, b->reason, sizeof(b->reason));
	b->created_ms = sqlite3_column_int64(st, 2);
	b->until_ms = sqlite3_column_int64(st, 3);
	b->key_id = sqlite3_column_int64(st, 4);
	sqlite_get_text(st, 5, b->api_key, sizeof(b->api_key));
}

int sqlite_block_get(struct store_tx *c, const char *prefix, int64_t key_id,
		     int64_t now, struct fraud_block *out)
{
	sqlite3_stmt *st = c->stmt[STMT_BLOCK_GET];
	int rc;

	sqlite_bind_text(st, 1, prefix);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, key_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		block_from_row(st, out);
	return sqlite_row_done(c, st, rc, "get block");
}

int sqlite_block_put(struct store_tx *c, const struct fraud_block *b)
{
	sqlite3_stmt *st = c->stmt[STMT_BLOCK_PUT];

	sqlite_bind_text(st, 1, b->prefix);
	sqlite_bind_text(st, 2, b->reason);
	sqlite3_bind_int64(st, 3, b->created_ms);
	sqlite3_bind_int64(st, 4, b->until_ms);
	sqlite3_bind_int64(st, 5, b->key_id);
	return sqlite_run(c, STMT_BLOCK_PUT, "put block");
}

int sqlite_block_last(struct store_tx *c, const char *prefix, int64_t key_id,
		      struct fraud_block *out)
{
	sqlite3_stmt *st = c->stmt[STMT_BLOCK_LAST];
	int rc;

	sqlite_bind_text(st, 1, prefix);
	sqlite3_bind_int64(st, 2, key_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		block_from_row(st, out);
	return sqlite_row_done(c, st, rc, "last block");
}

int sqlite_block_lift(struct store_tx *c, const char *prefix, int64_t now)
{
	int rc;

	sqlite_bind_text(c->stmt[STMT_BLOCK_LIFT], 1, prefix);
	sqlite3_bind_int64(c->stmt[STMT_BLOCK_LIFT], 2, now);
	rc = sqlite_run(c, STMT_BLOCK_LIFT, "lift block");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}

int sqlite_blocks_foreach(struct store_tx *c, int64_t now,
			  int (*cb)(const struct fraud_block *b, void *arg),
			  void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_BLOCK_LIST];
	struct fraud_block b;
	int rc;

	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		block_from_row(st, &b);
		if (cb(&b, arg) != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		       ? 0
		       : sqlite_fail(c, "list blocks");
}

int sqlite_fraud_recent(struct store_tx *c, const char *prefix, int64_t key_id,
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
	sqlite_bind_text(st, 1, prefix);
	sqlite_bind_text(st, 2, end);
	sqlite3_bind_int64(st, 3, since_ms);
	sqlite3_bind_int64(st, 4, key_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(st, 0);
	return sqlite_row_done(c, st, rc, "recent fraud reports");
}
