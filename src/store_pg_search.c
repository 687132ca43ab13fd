/*
 * Searches on PostgreSQL: a reader's lookups of a verification by row id,
 * sent to the server together with the other HTTP threads' (src/batch.c),
 * one statement for all the lookups that came while the last was under
 * way.  Each caller's stash keeps its row of the shared result.
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

/* The smallest of the statements for n pairs or more, and its size. */
static const char *vf_batch_sql(int n, int *size)
{
	static const struct {
		int size;
		const char *sql;
	} sizes[] = {{1, sql_get_batch1},
		     {2, sql_get_batch2},
		     {4, sql_get_batch4},
		     {8, sql_get_batch8},
		     {VF_BATCH_MAX, sql_get_batch16}};
	size_t i = 0;

	while (i + 1 < sizeof(sizes) / sizeof(sizes[0]) && sizes[i].size < n)
		i++;
	*size = sizes[i].size;
	return sizes[i].sql;
}

static void vf_batch_run(struct batch_item **items, int n, void *ctx)
{
	struct store_tx *c = ctx;
	struct pg_params p;
	struct pg_shared_res *sr = NULL;
	PGresult *res = NULL;
	int size, rc, refs = 0;
	const char *sql = vf_batch_sql(n, &size);

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
	metrics_observe(M_STORE_READ_BATCH, MB_POSTGRES, 0, n);
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
