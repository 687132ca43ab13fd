/*
 * Readers' lookups on PostgreSQL sent to the server together with the
 * other HTTP threads' (src/batch.c), one statement for all the lookups
 * that came while the last was under way: a Search's lookup of a
 * verification by row id (each caller's stash keeps its row of the shared
 * result), and the lookup of a number's live verification before each
 * Request's write.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "crypto.h"
#include "err.h"
#include "metrics.h"
#include "store_pg.h"

/*
 * Several readers' lookups by row id in one statement (vf_batch_run()):
 * pairs of id and key, $1 and $2 the first, each row numbered by its
 * pair's place (q.n, the column after VF_COLUMNS).  A pair of another
 * key's id finds nothing, as the single lookup does.  The statement comes
 * in five sizes, for 1, 2, 4, 8 and 16 pairs, the unused ones 0 (no id):
 * with a fixed number of rows the planner estimates the same for every
 * run, and so keeps one generic plan.  (With the pairs in two arrays it
 * planned every run anew: a custom plan, which saw each array's length,
 * always looked cheaper than the generic one, and a Search then cost
 * PostgreSQL twice its CPU.)
 */
#define VF_Q1 "(1, $1::bigint, $2::bigint)"
#define VF_Q2 VF_Q1 ", (2, $3::bigint, $4::bigint)"
#define VF_Q4 VF_Q2 ", (3, $5::bigint, $6::bigint), (4, $7::bigint, $8::bigint)"
#define VF_Q8                                                                   \
	VF_Q4 ", (5, $9::bigint, $10::bigint), (6, $11::bigint, $12::bigint), " \
	      "(7, $13::bigint, $14::bigint), (8, $15::bigint, $16::bigint)"
#define VF_Q16                                                                   \
	VF_Q8 ", (9, $17::bigint, $18::bigint), (10, $19::bigint, "              \
	      "$20::bigint), (11, $21::bigint, $22::bigint), (12, $23::bigint, " \
	      "$24::bigint), (13, $25::bigint, $26::bigint), (14, $27::bigint, " \
	      "$28::bigint), (15, $29::bigint, $30::bigint), (16, $31::bigint, " \
	      "$32::bigint)"
#define VF_GET_BATCH(rows)                                                     \
	"SELECT " VF_COLUMNS ", q.n, " VF_LISTS " FROM (VALUES " rows          \
	") AS q(n, qid, qkey) JOIN verifications ON id = q.qid AND "           \
	"key_id = q.qkey"
#define VF_BATCH_MAX 16
#define VF_BATCH_N_COL 38
static const char sql_get_batch1[] = VF_GET_BATCH(VF_Q1);
static const char sql_get_batch2[] = VF_GET_BATCH(VF_Q2);
static const char sql_get_batch4[] = VF_GET_BATCH(VF_Q4);
static const char sql_get_batch8[] = VF_GET_BATCH(VF_Q8);
static const char sql_get_batch16[] = VF_GET_BATCH(VF_Q16);

/* One reader's lookup by row id in a batch (vf_batch_run()). */
struct vf_batch_arg {
	int64_t id, key_id;
	int rc;
	/* The batch's result, one reference of it the caller's; its row. */
	struct pg_shared_res *sr;
	int row;
};

/*
 * HTTP threads' lookups by row id go to PostgreSQL together when they
 * come while another is under way: a statement (and a wake-up of a
 * backend) for each of them cost more than the lookups themselves.  One
 * batch is under way at a time, on its leader's connection: with two the
 * batches were half as large and a Search cost PostgreSQL half as much
 * again (docs/SCALING.md).
 */
static void vf_batch_run(struct batch_item **items, int n, void *ctx);
static struct batch vf_batch = BATCH_INIT(1, VF_BATCH_MAX, vf_batch_run);

/*
 * Of a statement's five sizes (1, 2, 4, 8 and 16 places, sqls[] in that
 * order), the smallest for n lookups or more, and its size.
 */
static const char *batch_sql(const char *const sqls[5], int n, int *size)
{
	int i = 0;

	*size = 1;
	while (i < 4 && *size < n) {
		i++;
		*size *= 2;
	}
	return sqls[i];
}

static void vf_batch_run(struct batch_item **items, int n, void *ctx)
{
	struct store_tx *c = ctx;
	struct pg_params p;
	struct pg_shared_res *sr = NULL;
	PGresult *res = NULL;
	int size, rc, refs = 0;
	static const char *const sqls[] = {sql_get_batch1, sql_get_batch2,
					   sql_get_batch4, sql_get_batch8,
					   sql_get_batch16};
	const char *sql = batch_sql(sqls, n, &size);

	pg_params_init(&p);
	for (int i = 0; i < size; i++) {
		int64_t id = 0, key_id = 0; /* a pair that finds no row */

		if (i < n) {
			const struct vf_batch_arg *a = items[i]->arg;

			id = a->id;
			key_id = a->key_id;
		}
		pg_param_int(&p, id);
		pg_param_int(&p, key_id);
	}
	rc = pg_query(c, sql, &p, &res, "get verification");
	metrics_observe(M_STORE_READ_BATCH, MB_POSTGRES, MLOOK_SEARCH, n);
	if (rc == 0 && !(sr = malloc(sizeof(*sr))))
		rc = KV_ENOMEM;
	for (int i = 0; i < n; i++) {
		struct vf_batch_arg *a = items[i]->arg;

		a->rc = rc ? rc : KV_ENOTFOUND;
		a->sr = NULL;
	}
	for (int row = 0; rc == 0 && row < PQntuples(res); row++) {
		int64_t k = pg_get_int(res, row, VF_BATCH_N_COL);
		struct vf_batch_arg *a;

		if (k < 1 || k > n)
			continue;
		a = items[k - 1]->arg;
		a->rc = 0;
		a->sr = sr;
		a->row = row;
		refs++;
	}
	if (refs) {
		sr->res = res;
		atomic_init(&sr->refs, refs);
	} else {
		free(sr);
		PQclear(res);
	}
}

int pg_verification_get_batched(struct store_tx *c, const char *request_id,
				int64_t id, int64_t key_id,
				struct vf_record *out)
{
	struct vf_batch_arg a = {.id = id, .key_id = key_id};
	struct batch_item item = {.arg = &a};

	pg_stash_clear(c);
	batch_do(&vf_batch, &item, c);
	if (a.rc == 0) {
		pg_vf_from_row(a.sr->res, a.row, out);
		if (!crypto_request_id_equal(out->v.request_id, request_id))
			a.rc = KV_ENOTFOUND;
	}
	if (a.rc == 0)
		pg_stash_set(c, a.sr, a.row, out->v.id);
	else {
		pg_shared_release(a.sr);
		memset(out, 0, sizeof(*out));
	}
	return a.rc;
}

/*
 * Several readers' live lookups (pg_verification_live()'s plain form) in
 * one statement: triples of place, key and number, $1 and $2 the first
 * pair, in the same five sizes as above; an unused pair (key 0) finds no
 * row and draws no id.  Each row holds the pair's place, the live
 * verification's id (NULL without one) and the id drawn.
 */
#define LIVE_Q1 "(1, $1::bigint, $2::text)"
#define LIVE_Q2 LIVE_Q1 ", (2, $3::bigint, $4::text)"
#define LIVE_Q4 LIVE_Q2 ", (3, $5::bigint, $6::text), (4, $7::bigint, $8::text)"
#define LIVE_Q8                                                                \
	LIVE_Q4 ", (5, $9::bigint, $10::text), (6, $11::bigint, $12::text), "  \
		"(7, $13::bigint, $14::text), (8, $15::bigint, $16::text)"
#define LIVE_Q16                                                                \
	LIVE_Q8 ", (9, $17::bigint, $18::text), (10, $19::bigint, $20::text), " \
		"(11, $21::bigint, $22::text), (12, $23::bigint, $24::text), "  \
		"(13, $25::bigint, $26::text), (14, $27::bigint, $28::text), "  \
		"(15, $29::bigint, $30::text), (16, $31::bigint, $32::text)"
#define LIVE_BATCH(rows)                                                        \
	"SELECT q.n, (SELECT id FROM verifications WHERE key_id = q.qkey AND "  \
	"number = q.qnum AND state = 0), CASE WHEN q.qkey > 0 THEN " VF_NEXT_ID \
	" END FROM (VALUES " rows ") AS q(n, qkey, qnum)"
static const char sql_live_batch1[] = LIVE_BATCH(LIVE_Q1);
static const char sql_live_batch2[] = LIVE_BATCH(LIVE_Q2);
static const char sql_live_batch4[] = LIVE_BATCH(LIVE_Q4);
static const char sql_live_batch8[] = LIVE_BATCH(LIVE_Q8);
static const char sql_live_batch16[] = LIVE_BATCH(LIVE_Q16);

/* One reader's live lookup in a batch (live_batch_run()). */
struct live_batch_arg {
	int64_t key_id;
	const char *number;
	int rc;
	int64_t live_id, next_id;
};

/*
 * Every Request's lookup on its HTTP thread, before its write: batched as
 * the Searches are, and for the same reason, in batches of their own.
 */
static void live_batch_run(struct batch_item **items, int n, void *ctx);
static struct batch live_batch = BATCH_INIT(1, VF_BATCH_MAX, live_batch_run);

static void live_batch_run(struct batch_item **items, int n, void *ctx)
{
	struct store_tx *c = ctx;
	struct pg_params p;
	PGresult *res = NULL;
	int size, rc;
	static const char *const sqls[] = {sql_live_batch1, sql_live_batch2,
					   sql_live_batch4, sql_live_batch8,
					   sql_live_batch16};
	const char *sql = batch_sql(sqls, n, &size);

	pg_params_init(&p);
	for (int i = 0; i < size; i++) {
		int64_t key_id = 0; /* a place that finds no row */
		const char *number = "";

		if (i < n) {
			const struct live_batch_arg *a = items[i]->arg;

			key_id = a->key_id;
			number = a->number;
		}
		pg_param_int(&p, key_id);
		pg_param_text(&p, number);
	}
	rc = pg_query(c, sql, &p, &res, "live verification");
	metrics_observe(M_STORE_READ_BATCH, MB_POSTGRES, MLOOK_LIVE, n);
	for (int i = 0; i < n; i++) {
		struct live_batch_arg *a = items[i]->arg;

		a->rc = rc ? rc : KV_EDB; /* each pair has its row */
	}
	for (int row = 0; rc == 0 && row < PQntuples(res); row++) {
		int64_t k = pg_get_int(res, row, 0);
		struct live_batch_arg *a;

		if (k < 1 || k > n)
			continue;
		a = items[k - 1]->arg;
		a->rc = 0;
		a->live_id = PQgetisnull(res, row, 1) ? 0
						      : pg_get_int(res, row, 1);
		a->next_id = pg_get_int(res, row, 2);
	}
	PQclear(res);
}

int pg_verification_live_batched(struct store_tx *c, int64_t key_id,
				 const char *number, int64_t *live_id,
				 int64_t *next_id)
{
	struct live_batch_arg a = {.key_id = key_id, .number = number};
	struct batch_item item = {.arg = &a};

	batch_do(&live_batch, &item, c);
	*live_id = a.rc == 0 ? a.live_id : 0;
	*next_id = a.rc == 0 ? a.next_id : 0;
	return a.rc;
}
