/*
 * Abuse defences in the PostgreSQL backend: fraud reports and the blocks
 * of number prefixes they (or a low conversion) earn.  A block is one row
 * per prefix and scope, so nodes that block the same prefix at once end
 * with one row, the later writer's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store_pg.h"

#define BLOCK_COLUMNS                                                          \
	"prefix, reason, blocks.created_ms, until_ms, key_id, "                \
	"coalesce(api_keys.api_key, '')"

static const char sql_fraud_insert[] =
	"INSERT INTO fraud_reports (number, verification_id, created_ms) "
	"VALUES ($1, $2, $3)";

/*
 * A block's key_id is 0 for every key, or the one publishable key it was
 * earned through (fraud.c).  The listing names that key.
 */
static const char sql_block_get[] =
	"SELECT " BLOCK_COLUMNS " FROM blocks LEFT JOIN api_keys ON "
	"api_keys.id = blocks.key_id WHERE prefix = $1 AND key_id = $3 AND "
	"until_ms > $2";
static const char sql_block_put[] =
	"INSERT INTO blocks (prefix, reason, created_ms, until_ms, key_id) "
	"VALUES ($1, $2, $3, $4, $5) ON CONFLICT (prefix, key_id) DO UPDATE "
	"SET reason = excluded.reason, created_ms = excluded.created_ms, "
	"until_ms = excluded.until_ms";
/* A lifted block stays as a row that has ended (its history). */
static const char sql_block_lift[] =
	"UPDATE blocks SET until_ms = $2 WHERE prefix = $1 AND until_ms > $2";
static const char sql_block_last[] =
	"SELECT " BLOCK_COLUMNS " FROM blocks LEFT JOIN api_keys ON "
	"api_keys.id = blocks.key_id WHERE prefix = $1 AND key_id = $2";
static const char sql_block_list[] =
	"SELECT " BLOCK_COLUMNS " FROM blocks LEFT JOIN api_keys ON "
	"api_keys.id = blocks.key_id WHERE until_ms > $1 "
	"ORDER BY prefix, key_id";

/*
 * Distinct numbers in [$1, $2) ($2 '' for no end: a prefix of nines) that
 * reported since $3: one person pressing 9 again and again is one.  $4 = 0:
 * reports on verifications of secret keys, which may block the prefix for
 * everyone; else those of publishable key $4 only.
 */
static const char sql_fraud_recent[] =
	"SELECT count(DISTINCT f.number) FROM fraud_reports f JOIN "
	"verifications v ON v.id = f.verification_id JOIN api_keys k ON "
	"k.id = v.key_id WHERE f.number >= $1 AND ($2 = '' OR f.number < $2) "
	"AND f.created_ms > $3 AND CASE WHEN $4::bigint = 0 THEN k.kind = 0 "
	"ELSE v.key_id = $4::bigint END";

int pg_fraud_insert(struct store_tx *c, const char *number,
		    int64_t verification_id, int64_t now)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, number);
	pg_param_int(&p, verification_id);
	pg_param_int(&p, now);
	return pg_run(c, sql_fraud_insert, &p, "insert fraud report");
}

static void block_from_row(PGresult *res, int row, struct fraud_block *b)
{
	memset(b, 0, sizeof(*b));
	pg_get_text(res, row, 0, b->prefix, sizeof(b->prefix));
	pg_get_text(res, row, 1, b->reason, sizeof(b->reason));
	b->created_ms = pg_get_int(res, row, 2);
	b->until_ms = pg_get_int(res, row, 3);
	b->key_id = pg_get_int(res, row, 4);
	pg_get_text(res, row, 5, b->api_key, sizeof(b->api_key));
}

/* Runs a one-row lookup of a block into *out. */
static int block_lookup(struct store_tx *c, const char *sql,
			const struct pg_params *p, struct fraud_block *out,
			const char *what)
{
	PGresult *res = NULL;
	int rc = pg_row(c, sql, p, &res, what);

	if (rc == 0)
		block_from_row(res, 0, out);
	PQclear(res);
	return rc;
}

int pg_block_get(struct store_tx *c, const char *prefix, int64_t key_id,
		 int64_t now, struct fraud_block *out)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, prefix);
	pg_param_int(&p, now);
	pg_param_int(&p, key_id);
	return block_lookup(c, sql_block_get, &p, out, "get block");
}

int pg_block_put(struct store_tx *c, const struct fraud_block *b)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, b->prefix);
	pg_param_text(&p, b->reason);
	pg_param_int(&p, b->created_ms);
	pg_param_int(&p, b->until_ms);
	pg_param_int(&p, b->key_id);
	return pg_cache_changed(c, pg_run(c, sql_block_put, &p, "put block"));
}

/*
 * Every Verify Request looks up its prefix's last block (fraud.c), and
 * almost always finds none: a node's readers keep what they found, a
 * block or none, for STORE_CACHE_TTL_MS (store_cache.h).  A block put or lifted
 * is announced in its transaction and every node's listener empties its
 * caches, so another node sees it at once in practice and within 1 s at
 * worst; the node that put it, at once.
 */
#define BLOCK_CACHE_SLOTS 1024

static struct store_cache_entry block_slots[BLOCK_CACHE_SLOTS];
static struct store_cache bc = STORE_CACHE_INIT(block_slots);

void pg_block_cache_clear(void)
{
	store_cache_clear(&bc);
}

int pg_block_last(struct store_tx *c, const char *prefix, int64_t key_id,
		  struct fraud_block *out)
{
	struct pg_params p;
	char name[STORE_CACHE_NAME_MAX];
	int found, rc;

	snprintf(name, sizeof(name), "%s:%" PRId64, prefix, key_id);
	if (c->reader && store_cache_get(&bc, name, out, sizeof(*out), &found))
		return found ? 0 : KV_ENOTFOUND;
	pg_params_init(&p);
	pg_param_text(&p, prefix);
	pg_param_int(&p, key_id);
	rc = block_lookup(c, sql_block_last, &p, out, "last block");
	if (c->reader && (rc == 0 || rc == KV_ENOTFOUND))
		store_cache_put(&bc, name, out, sizeof(*out), rc == 0);
	return rc;
}

int pg_block_lift(struct store_tx *c, const char *prefix, int64_t now)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_text(&p, prefix);
	pg_param_int(&p, now);
	rc = pg_query(c, sql_block_lift, &p, &res, "lift block");
	if (rc == 0 && pg_changed(res) == 0)
		rc = KV_ENOTFOUND;
	PQclear(res);
	return pg_cache_changed(c, rc);
}

int pg_blocks_foreach(struct store_tx *c, int64_t now,
		      int (*cb)(const struct fraud_block *b, void *arg),
		      void *arg)
{
	struct pg_params p;
	struct fraud_block b;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, now);
	rc = pg_query(c, sql_block_list, &p, &res, "list blocks");
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		block_from_row(res, i, &b);
		if (cb(&b, arg) != 0)
			break;
	}
	PQclear(res);
	return rc;
}

/*
 * The first string of digits past every number that starts with `prefix`
 * (the prefix with its last digit raised, nines carried): a range bound
 * that sorts alike in every collation, since both sides are digits.  ""
 * when there is none (a prefix of nines).
 */
static void prefix_end(const char *prefix, char *end, size_t endlen)
{
	size_t n = strlen(prefix);

	snprintf(end, endlen, "%s", prefix);
	while (n > 0 && end[n - 1] == '9')
		n--;
	if (n > 0)
		end[n - 1]++;
	end[n] = '\0';
}

int pg_fraud_recent(struct store_tx *c, const char *prefix, int64_t key_id,
		    int64_t since_ms, int64_t *count)
{
	struct pg_params p;
	char end[24];

	if (strlen(prefix) + 1 > sizeof(end) ||
	    strspn(prefix, "0123456789") != strlen(prefix))
		return KV_EINVAL;
	prefix_end(prefix, end, sizeof(end));
	pg_params_init(&p);
	pg_param_text(&p, prefix);
	pg_param_text(&p, end);
	pg_param_int(&p, since_ms);
	pg_param_int(&p, key_id);
	return pg_int_row(c, sql_fraud_recent, &p, count,
			  "recent fraud reports");
}
