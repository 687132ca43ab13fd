/*
 * Verifications in the PostgreSQL backend, with their checks and delivery
 * events (store_pg_calls.c has the rest of what hangs off them).  Reads that a
 * writer goes on to decide from lock their row (pg_locking), so that nodes
 * writing the same verification at once queue instead of deciding twice.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "err.h"
#include "log.h"
#include "store_pg.h"
#include "util.h"

/* $2 to $38: a column added here moves sql_insert_job's job parameters. */
#define VF_PARAMS_AFTER_ID                                                     \
	"$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "  \
	"$17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, "    \
	"$30, $31, $32, $33, $34, $35, $36, $37, $38"

/*
 * The id is the one store_verification_next_id() drew, or a new one from
 * the same sequence; OVERRIDING SYSTEM VALUE lets the id column take it
 * whether it is an identity column or a serial one.
 */
#define VF_INSERT                                                              \
	"INSERT INTO verifications (" VF_COLUMNS ") OVERRIDING SYSTEM VALUE "  \
	"VALUES (CASE WHEN $1::bigint > 0 THEN $1::bigint ELSE " VF_NEXT_ID    \
	" END, " VF_PARAMS_AFTER_ID ") RETURNING id"
static const char sql_insert[] = VF_INSERT;
/*
 * The same with its first job (pg_job_insert()'s row and notification),
 * one round trip for both: the job's foreign key is checked at the end
 * of the statement, when the verification's row is there.  The job's
 * parameters follow the last of VF_PARAMS_AFTER_ID (a column added there
 * moves them), then whether to notify ($43, store_jobs_wake_others()).
 */
#define VF_JOB_INSERT                                                          \
	"INSERT INTO jobs (kind, verification_id, step, due_ms, created_ms) "  \
	"SELECT $39::text, id, $40::bigint, $41::bigint, $42::bigint FROM v"
static const char sql_insert_job[] =
	"WITH v AS (" VF_INSERT "), j AS (" VF_JOB_INSERT ") "
	"SELECT id, " PG_NOTIFY_WHEN("$43::int = 1") " FROM v";
/* Cluster-safe: a sequence never hands a number out twice. */
static const char sql_next_id[] = "SELECT " VF_NEXT_ID;
/*
 * Every column but the id, from the same parameters as the insert (a
 * prepared statement must use each of its parameters); the ones that
 * never change are written back as they were read.
 */
static const char sql_update[] =
	"UPDATE verifications SET (request_id, key_id, number, number_type, "
	"brand, sender_id, lg, workflow_id, code_length, test_number, "
	"pin_hash, steps, wait1_ms, wait2_ms, wait3_ms, state, attempts, "
	"next_step, resends, created_ms, pin_created_ms, pin_expiry_ms, "
	"expires_ms, last_resend_ms, finalized_ms, first_event_ms, "
	"last_event_ms, pin_box, call_sid, handle_hash, origin_host, "
	"app_hash, missed_did, missed_until_ms, client_ref, v2, template_id) = "
	"(" VF_PARAMS_AFTER_ID ") WHERE id = $1";

/*
 * A verification by request id with the caller's key: by the row id a
 * request id decodes to, or by the ids from before request ids were
 * derived from the row id (legacy = 1).  A writer's lookup runs both
 * probes, one index scan each, in one round trip: the row id ($1, 0 when
 * the id does not decode) and the legacy id ($3), so that another key's
 * request id and a made-up one cost the same (docs/SECURITY.md, side
 * channels); it locks the row it finds.  A reader's (Search) runs only
 * the one that can answer and brings the lists along (VF_LISTS): the
 * second probe cost a Search 8 to 31 % of its rate.  A row id's goes with
 * other readers' (store_pg_search.c); a connection that is neither a
 * reader's nor a writer's (an admin command) runs sql_get_id.
 */
#define VF_BY_ID " FROM verifications WHERE id = $1 AND key_id = $2"
static const char sql_get_lock[] =
	"SELECT * FROM (SELECT " VF_COLUMNS VF_BY_ID " FOR UPDATE) i "
	"UNION ALL SELECT * FROM (SELECT " VF_COLUMNS
	" FROM verifications WHERE request_id = $3 AND key_id = $2 AND "
	"legacy = 1 FOR UPDATE) l";
static const char sql_get_id[] = "SELECT " VF_COLUMNS VF_BY_ID;
static const char sql_get_legacy_lists[] =
	"SELECT " VF_COLUMNS ", " VF_LISTS " FROM verifications "
	"WHERE request_id = $1 AND key_id = $2 AND legacy = 1";
/*
 * The lookups of a number's live verification also draw the id a new
 * verification would take (pg_verification_next_id()), saving that round
 * trip; an id drawn for nothing is a gap, as a rollback leaves.  Their one
 * row holds the live verification (NULL without one: sql_live_lock its
 * columns, the others only its id, which vf_live_by_id() then reads
 * whole), then, for the bucket's form, `count` (1 when its token was
 * taken), and last the id drawn.  A writer's forms lock the live
 * verification.  A reader's plain form is the lookup before every
 * Request's write, which usually finds none: as a scalar subquery of the
 * id alone it took a single client 75 us a lookup with its round trip,
 * against 101 to 111 us for the columns joined from a CTE (pgbench).
 *
 * Requests for one number racing on several writers each find no live
 * verification, since a lookup cannot see (or lock) a row another
 * transaction is still inserting.  The unique index on the live
 * verifications settles the race: the loser's INSERT waits for the
 * winner's commit and fails, and the writer runs the loser again alone
 * (pg_try_alone()), where it finds the winner's row and answers with it.
 * The failed try is rolled back whole, the number's token with it, so a
 * lost race counts against no limit.  A loser may also find the number's
 * bucket empty, the winner's token in it: vf_refused() then looks for the
 * winner's row again before it answers with a throttle.
 */
static const char sql_live[] =
	"SELECT (SELECT id FROM verifications WHERE key_id = $1 AND "
	"number = $2 AND state = 0), " VF_NEXT_ID;
static const char sql_live_lock[] =
	"WITH live AS (SELECT " VF_COLUMNS " FROM verifications "
	"WHERE key_id = $1 AND number = $2 AND state = 0 FOR UPDATE) "
	"SELECT live.*, " VF_NEXT_ID " FROM (VALUES (1)) AS one "
	"LEFT JOIN live ON true";
/*
 * The live lookup and, when it finds none, a token from a bucket
 * (PG_BUCKET_TAKE, $1-$5; the lookup's key and number $6, $7), in one
 * round trip.  It returns the live verification's id only (NULL without
 * one), which vf_live_by_id() then reads whole: a live one is the rare
 * case, and the 38 columns cost every statement that finds none a part
 * of its executor's start.
 */
#define VF_LIVE_BUCKET PG_BUCKET_TAKE("WHERE NOT EXISTS (SELECT 1 FROM live)")
#define VF_LIVE_TAKE(lock)                                                     \
	"WITH live AS (SELECT id FROM verifications WHERE key_id = $6 AND "    \
	"number = $7 AND state = 0" lock "), t AS (" VF_LIVE_BUCKET            \
	") SELECT live.id, (SELECT count(*) FROM t), " VF_NEXT_ID              \
	" FROM (VALUES (1)) AS one LEFT JOIN live ON true"
static const char sql_live_take[] = VF_LIVE_TAKE("");
static const char sql_live_take_lock[] = VF_LIVE_TAKE(" FOR UPDATE");
/*
 * pg_verification_start_if_free(): the writer's live lookup, the
 * number's token and the INSERT of the verification with its first job
 * (sql_insert_job) in one round trip, each only if the one before allows
 * it.  The verification's parameters are $1-$38 (vf_bind(), its key and
 * number $3 and $4), the job's $39-$42 (kind '': none), the bucket's
 * $43-$47 (name '': none), whether to notify the runners $48
 * (store_jobs_wake_others()).  Its one row holds the live verification's
 * id (NULL without one: see VF_LIVE_TAKE), `count` and `started`.
 */
#define VF_START_BUCKET                                                        \
	PG_BUCKET_TAKE_AT("$43", "$44", "$45", "$46", "$47",                   \
			  "WHERE $43::text <> '' AND NOT EXISTS "              \
			  "(SELECT 1 FROM live)")
/* The notification, when the job was stored and $48 asks for it. */
#define VF_START_NOTIFY                                                        \
	PG_NOTIFY_WHEN("$48::int = 1 AND EXISTS (SELECT 1 FROM j)")
static const char sql_start_if_free[] =
	"WITH live AS (SELECT id FROM verifications WHERE "
	"key_id = $3 AND number = $4 AND state = 0 FOR UPDATE), "
	"t AS (" VF_START_BUCKET "), "
	"v AS (INSERT INTO verifications (" VF_COLUMNS ") OVERRIDING SYSTEM "
	"VALUE SELECT $1, " VF_PARAMS_AFTER_ID " WHERE NOT EXISTS (SELECT 1 "
	"FROM live) AND ($43::text = '' OR EXISTS (SELECT 1 FROM t)) "
	"RETURNING id), "
	"j AS (" VF_JOB_INSERT " WHERE $39::text <> '' RETURNING id) "
	"SELECT live.id, (SELECT count(*) FROM t), (SELECT count(*) FROM v) AS "
	"started, " VF_START_NOTIFY " FROM (VALUES (1)) AS one "
	"LEFT JOIN live ON true";
static const char sql_by_id[] = "SELECT " VF_COLUMNS
				" FROM verifications WHERE id = $1";
static const char sql_by_id_lock[] =
	"SELECT " VF_COLUMNS " FROM verifications WHERE id = $1 FOR UPDATE";

static const char sql_check_insert[] =
	"INSERT INTO checks (verification_id, created_ms, code, valid, ip) "
	"VALUES ($1, $2, $3, $4, $5)";
static const char sql_check_list[] =
	"SELECT created_ms, code, valid, ip FROM checks "
	"WHERE verification_id = $1 ORDER BY id";
static const char sql_event_insert[] =
	"INSERT INTO events (verification_id, created_ms, type, channel, "
	"provider_id, result, detail, encoding, segments) VALUES ($1, $2, "
	"$3, $4, $5, $6, $7, $8, $9)";
static const char sql_event_list[] =
	"SELECT created_ms, type, channel, provider_id, result, detail, "
	"encoding, segments FROM events WHERE verification_id = $1 ORDER BY id";

/* Through the partial index verifications_missed. */
static const char sql_missed[] = "SELECT " VF_COLUMNS " FROM verifications "
				 "WHERE number = $1 AND missed_did = $2 AND "
				 "missed_did <> '' ORDER BY id DESC LIMIT 1";
static const char sql_missed_lock[] =
	"SELECT " VF_COLUMNS " FROM verifications WHERE number = $1 AND "
	"missed_did = $2 AND missed_did <> '' ORDER BY id DESC LIMIT 1 "
	"FOR UPDATE";
/* Appends every column of a verification, numbered as in VF_COLUMNS. */
static void vf_bind(struct pg_params *p, const struct vf_record *r)
{
	const struct verification *v = &r->v;

	pg_params_init(p);
	pg_param_int(p, v->id);
	pg_param_text(p, v->request_id);
	pg_param_int(p, v->key_id);
	pg_param_text(p, r->number);
	pg_param_int(p, r->number_type);
	pg_param_text(p, r->brand);
	pg_param_text(p, r->sender_id);
	pg_param_text(p, r->lg);
	pg_param_int(p, r->workflow_id);
	pg_param_int(p, r->code_length);
	pg_param_int(p, r->test_number);
	pg_param_bytea(p, r->pin_hash, sizeof(r->pin_hash));
	pg_param_text(p, r->steps);
	for (int i = 0; i < ENGINE_MAX_STEPS; i++)
		pg_param_int(p, r->wait_ms[i]);
	pg_param_int(p, (int64_t)v->state);
	pg_param_int(p, v->attempts);
	pg_param_int(p, v->next_step);
	pg_param_int(p, v->resends);
	pg_param_int(p, v->created_ms);
	pg_param_int(p, v->pin_created_ms);
	pg_param_int(p, v->pin_expiry_ms);
	pg_param_int(p, v->expires_ms);
	pg_param_int(p, v->last_resend_ms);
	pg_param_int(p, v->finalized_ms);
	pg_param_int(p, r->first_event_ms);
	pg_param_int(p, r->last_event_ms);
	pg_param_bytea(p, r->pin_box, r->pin_box_len);
	pg_param_text(p, r->call_sid);
	/* None is a zero-length value, as SQLite stores it. */
	pg_param_bytea(p, r->handle_hash,
		       r->has_handle ? sizeof(r->handle_hash) : 0);
	pg_param_text(p, r->origin_host);
	pg_param_text(p, r->app_hash);
	pg_param_text(p, r->missed_did);
	pg_param_int(p, v->missed_until_ms);
	pg_param_text(p, r->client_ref);
	pg_param_int(p, r->v2);
	pg_param_text(p, r->template_id);
}

void pg_vf_from_row(PGresult *res, int row, struct vf_record *r)
{
	struct verification *v = &r->v;

	memset(r, 0, sizeof(*r));
	v->id = pg_get_int(res, row, 0);
	pg_get_text(res, row, 1, v->request_id, sizeof(v->request_id));
	v->key_id = pg_get_int(res, row, 2);
	pg_get_text(res, row, 3, r->number, sizeof(r->number));
	r->number_type = (int)pg_get_int(res, row, 4);
	pg_get_text(res, row, 5, r->brand, sizeof(r->brand));
	pg_get_text(res, row, 6, r->sender_id, sizeof(r->sender_id));
	pg_get_text(res, row, 7, r->lg, sizeof(r->lg));
	r->workflow_id = (int)pg_get_int(res, row, 8);
	r->code_length = (int)pg_get_int(res, row, 9);
	r->test_number = (int)pg_get_int(res, row, 10);
	pg_get_bytea(res, row, 11, r->pin_hash, sizeof(r->pin_hash));
	pg_get_text(res, row, 12, r->steps, sizeof(r->steps));
	v->nsteps = (int)strlen(r->steps);
	for (int i = 0; i < ENGINE_MAX_STEPS; i++)
		r->wait_ms[i] = pg_get_int(res, row, 13 + i);
	v->state = (enum vf_state)pg_get_int(res, row, 16);
	v->attempts = (int)pg_get_int(res, row, 17);
	v->next_step = (int)pg_get_int(res, row, 18);
	v->resends = (int)pg_get_int(res, row, 19);
	v->created_ms = pg_get_int(res, row, 20);
	v->pin_created_ms = pg_get_int(res, row, 21);
	v->pin_expiry_ms = pg_get_int(res, row, 22);
	v->expires_ms = pg_get_int(res, row, 23);
	v->last_resend_ms = pg_get_int(res, row, 24);
	v->finalized_ms = pg_get_int(res, row, 25);
	r->first_event_ms = pg_get_int(res, row, 26);
	r->last_event_ms = pg_get_int(res, row, 27);
	/* Longer than ours (0): the PIN cannot be re-sent. */
	r->pin_box_len =
		pg_get_bytea_var(res, row, 28, r->pin_box, sizeof(r->pin_box));
	pg_get_text(res, row, 29, r->call_sid, sizeof(r->call_sid));
	r->has_handle = pg_get_bytea_var(res, row, 30, r->handle_hash,
					 sizeof(r->handle_hash)) ==
			sizeof(r->handle_hash);
	if (!r->has_handle)
		memset(r->handle_hash, 0, sizeof(r->handle_hash));
	pg_get_text(res, row, 31, r->origin_host, sizeof(r->origin_host));
	pg_get_text(res, row, 32, r->app_hash, sizeof(r->app_hash));
	pg_get_text(res, row, 33, r->missed_did, sizeof(r->missed_did));
	v->missed_until_ms = pg_get_int(res, row, 34);
	pg_get_text(res, row, 35, r->client_ref, sizeof(r->client_ref));
	r->v2 = pg_get_int(res, row, 36) != 0;
	pg_get_text(res, row, 37, r->template_id, sizeof(r->template_id));
}

/* Runs a one-row lookup of a verification into *out. */
static int vf_lookup(struct store_tx *c, const char *sql,
		     const struct pg_params *p, struct vf_record *out,
		     const char *what)
{
	PGresult *res = NULL;
	int rc = pg_row(c, sql, p, &res, what);

	if (rc == 0)
		pg_vf_from_row(res, 0, out);
	PQclear(res);
	return rc;
}

int pg_verification_next_id(struct store_tx *c, int64_t *id)
{
	/* The last live lookup on this connection drew one already. */
	if (c->next_id > 0) {
		*id = c->next_id;
		c->next_id = 0;
		return 0;
	}
	return pg_int_row(c, sql_next_id, NULL, id, "next verification id");
}

/* VF_JOB_INSERT's $39-$42 after vf_bind(): job, or kind '' for none. */
static void vf_bind_job(struct pg_params *p, const struct store_job_new *job)
{
	pg_param_text(p, job ? job->kind : "");
	pg_param_int(p, job ? job->step : 0);
	pg_param_int(p, job ? job->due_ms : 0);
	pg_param_int(p, now_ms());
}

int pg_verification_insert(struct store_tx *c, struct vf_record *r)
{
	return pg_verification_start(c, r, NULL);
}

int pg_verification_start(struct store_tx *c, struct vf_record *r,
			  const struct store_job_new *job)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	vf_bind(&p, r);
	if (job) {
		vf_bind_job(&p, job);
		pg_param_int(&p, store_jobs_wake_others());
	}
	rc = pg_row(c, job ? sql_insert_job : sql_insert, &p, &res,
		    "insert verification");
	if (rc == 0)
		r->v.id = pg_get_int(res, 0, 0);
	else if (rc == KV_ENOTFOUND)
		rc = KV_EDB; /* an insert always returns its row */
	PQclear(res);
	return rc;
}

/*
 * The rules of store_verification_get(): a request id that decodes names
 * the row of that id, whose stored id must still be this one; any other
 * names a legacy row.
 */
int pg_verification_get(struct store_tx *c, const char *request_id,
			int64_t key_id, struct vf_record *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int64_t id = 0;
	int parsed = crypto_request_id_parse(request_id, &id) == 0;
	const char *sql;
	int rc, row = 0;

	if (parsed && c->reader && !c->in_write)
		return pg_verification_get_batched(c, request_id, id, key_id,
						   out);
	pg_params_init(&p);
	if (c->in_write) {
		pg_param_int(&p, parsed ? id : 0);
		pg_param_int(&p, key_id);
		pg_param_text(&p, request_id);
		sql = sql_get_lock;
	} else {
		if (parsed)
			pg_param_int(&p, id);
		else
			pg_param_text(&p, request_id);
		pg_param_int(&p, key_id);
		sql = parsed ? sql_get_id : sql_get_legacy_lists;
	}
	rc = pg_query(c, sql, &p, &res, "get verification");
	if (rc == 0) {
		/* A decoded id's row is that id's; else the legacy probe's. */
		for (row = 0; row < PQntuples(res); row++)
			if (!parsed || pg_get_int(res, row, 0) == id)
				break;
		if (row == PQntuples(res))
			rc = KV_ENOTFOUND;
	}
	if (rc == 0) {
		pg_vf_from_row(res, row, out);
		if (parsed &&
		    !crypto_request_id_equal(out->v.request_id, request_id))
			rc = KV_ENOTFOUND;
	}
	/* pg_query() dropped the last stash; this result is the next. */
	if (rc == 0 && c->reader) {
		struct pg_shared_res *sr = malloc(sizeof(*sr));

		if (sr) {
			sr->res = res;
			atomic_init(&sr->refs, 1);
			pg_stash_set(c, sr, row, out->v.id);
			res = NULL;
		}
	}
	PQclear(res);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/*
 * A writer's plain live lookup's row (sql_live_lock): the id it drew kept
 * for pg_verification_next_id(), the live verification into out.  Returns
 * 0 when there is one, else KV_ENOTFOUND.
 */
static int vf_live_row(struct store_tx *c, PGresult *res, struct vf_record *out)
{
	if (PQgetisnull(res, 0, 0)) {
		memset(out, 0, sizeof(*out));
		return KV_ENOTFOUND;
	}
	pg_vf_from_row(res, 0, out);
	return 0;
}

/*
 * The live verification whose id the first column of res holds, read
 * whole into out; KV_ENOTFOUND with out zeroed when the column is NULL.
 */
static int vf_live_by_id(struct store_tx *c, PGresult *res,
			 struct vf_record *out)
{
	memset(out, 0, sizeof(*out));
	if (PQgetisnull(res, 0, 0))
		return KV_ENOTFOUND;
	/*
	 * A write's lookup locked the row, so it is still there.  A reader's
	 * may find it erased meanwhile: KV_ENOTFOUND then, as if the lookup
	 * had, and the write decides under its own lock.
	 */
	return pg_verification_by_id(c, pg_get_int(res, 0, 0), out);
}

int pg_verification_live(struct store_tx *c, int64_t key_id, const char *number,
			 struct vf_record *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	const char *sql;
	int rc;

	if (c->reader && !c->in_write) {
		int64_t id = 0;

		memset(out, 0, sizeof(*out));
		rc = pg_verification_live_batched(c, key_id, number, &id,
						  &c->next_id);
		if (rc == 0 && !id)
			rc = KV_ENOTFOUND;
		else if (rc == 0) /* erased meanwhile: as if none was found */
			rc = pg_verification_by_id(c, id, out);
		return rc;
	}
	pg_params_init(&p);
	pg_param_int(&p, key_id);
	pg_param_text(&p, number);
	sql = pg_locking(c, sql_live, sql_live_lock);
	rc = pg_row(c, sql, &p, &res, "live verification");
	if (rc == 0) {
		c->next_id = pg_get_int(res, 0, PQnfields(res) - 1);
		rc = sql == sql_live ? vf_live_by_id(c, res, out)
				     : vf_live_row(c, res, out);
	} else if (rc == KV_ENOTFOUND) {
		rc = KV_EDB; /* the statement always returns its row */
	}
	PQclear(res);
	return rc;
}

/*
 * A write's statement found no live verification and b refused its
 * token.  The bucket's row may hold the token of a racing request for the
 * number that committed after the statement's snapshot was taken: its
 * verification is live, and the answer is that one, not a throttle.  A
 * look in a new snapshot tells; else *wait_s says how long until a token.
 */
static int vf_refused(struct store_tx *c, int64_t key_id, const char *number,
		      const struct store_bucket *b, int64_t at_ms,
		      struct vf_record *out, int *wait_s)
{
	int rc;

	if (c->in_write) {
		rc = pg_verification_live(c, key_id, number, out);
		if (rc != KV_ENOTFOUND)
			return rc;
	}
	rc = pg_bucket_wait(c, b, at_ms, wait_s);
	return rc == 0 ? KV_ENOTFOUND : rc;
}

int pg_verification_live_take(struct store_tx *c, int64_t key_id,
			      const char *number, const struct store_bucket *b,
			      int64_t now_ms, struct vf_record *out,
			      int *wait_s)
{
	struct pg_params p;
	PGresult *res = NULL;
	int64_t taken = 0;
	int rc;

	*wait_s = 0;
	pg_params_init(&p);
	pg_bucket_bind(&p, b, now_ms);
	pg_param_int(&p, key_id);
	pg_param_text(&p, number);
	rc = pg_row(c, pg_locking(c, sql_live_take, sql_live_take_lock), &p,
		    &res, "live verification");
	if (rc == 0) {
		c->next_id = pg_get_int(res, 0, PQnfields(res) - 1);
		taken = pg_get_int(res, 0, PQfnumber(res, "count"));
		rc = vf_live_by_id(c, res, out);
	} else if (rc == KV_ENOTFOUND) {
		rc = KV_EDB;
	}
	PQclear(res);
	if (rc != KV_ENOTFOUND || taken)
		return rc;
	return vf_refused(c, key_id, number, b, now_ms, out, wait_s);
}

/* sql_start_if_free's parameters. */
static void vf_start_bind(struct pg_params *p, const struct vf_record *r,
			  const struct store_job_new *job,
			  const struct store_bucket *b, int64_t at_ms)
{
	vf_bind(p, r);
	vf_bind_job(p, job);
	if (b) {
		pg_bucket_bind(p, b, at_ms);
	} else {
		pg_param_text(p, "");
		pg_param_text(p, "");
		for (int i = 0; i < 3; i++)
			pg_param_int(p, 0);
	}
	pg_param_int(p, store_jobs_wake_others());
}

int pg_verification_start_if_free_lead(struct store_tx *c,
				       const struct vf_record *r,
				       const struct store_job_new *job,
				       const struct store_bucket *b,
				       int64_t at_ms)
{
	struct pg_params p;

	vf_start_bind(&p, r, job, b, at_ms);
	return pg_lead(c, sql_start_if_free, &p);
}

int pg_verification_start_if_free(struct store_tx *c, struct vf_record *r,
				  const struct store_job_new *job,
				  const struct store_bucket *b, int64_t at_ms,
				  struct vf_record *live, int *wait_s)
{
	struct pg_params p;
	PGresult *res = NULL;
	int64_t started = 0;
	int rc;

	*wait_s = 0;
	vf_start_bind(&p, r, job, b, at_ms);
	rc = pg_row(c, sql_start_if_free, &p, &res, "start verification");
	if (rc == 0) {
		started = pg_get_int(res, 0, PQfnumber(res, "started"));
		rc = vf_live_by_id(c, res, live);
	} else if (rc == KV_ENOTFOUND) {
		rc = KV_EDB;
	}
	PQclear(res);
	if (rc != KV_ENOTFOUND || started)
		return rc;
	/* No live one, nothing stored: only the bucket says no. */
	if (!b)
		return KV_EDB;
	return vf_refused(c, r->v.key_id, r->number, b, at_ms, live, wait_s);
}

int pg_verification_by_id(struct store_tx *c, int64_t id, struct vf_record *out)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, id);
	return vf_lookup(c, pg_locking(c, sql_by_id, sql_by_id_lock), &p, out,
			 "verification by id");
}

int pg_verification_missed(struct store_tx *c, const char *number,
			   const char *did, struct vf_record *out)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, number);
	pg_param_text(&p, did);
	return vf_lookup(c, pg_locking(c, sql_missed, sql_missed_lock), &p, out,
			 "missed-call verification");
}

int pg_verification_update(struct store_tx *c, const struct vf_record *r)
{
	struct pg_params p;

	vf_bind(&p, r);
	return pg_run(c, sql_update, &p, "update verification");
}

int pg_verification_finalize(struct store_tx *c, const struct vf_record *r,
			     int64_t now)
{
	int rc = pg_verification_update(c, r);

	if (rc == 0)
		rc = pg_jobs_cancel(c, r->v.id, now);
	return rc;
}

int pg_check_insert(struct store_tx *c, int64_t verification_id,
		    const struct vf_check *ch)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, verification_id);
	pg_param_int(&p, ch->created_ms);
	pg_param_text(&p, ch->code);
	pg_param_int(&p, ch->valid);
	pg_param_text(&p, ch->ip);
	return pg_run(c, sql_check_insert, &p, "insert check");
}

/*
 * The rows of a list of checks or events: a query's result, or the JSON
 * array the reader's stash holds for them (its elements are arrays of the
 * same columns in the same order).
 */
struct vf_rows {
	PGresult *res;
	json_t *list;
};

static int vf_rows_count(const struct vf_rows *r)
{
	return r->list ? (int)json_array_size(r->list) : PQntuples(r->res);
}

static int64_t vf_rows_int(const struct vf_rows *r, int row, int col)
{
	if (!r->list)
		return pg_get_int(r->res, row, col);
	return (int64_t)json_integer_value(json_array_get(
		json_array_get(r->list, (size_t)row), (size_t)col));
}

static void vf_rows_text(const struct vf_rows *r, int row, int col, char *out,
			 size_t outlen)
{
	json_t *v;

	if (!r->list) {
		pg_get_text(r->res, row, col, out, outlen);
		return;
	}
	v = json_array_get(json_array_get(r->list, (size_t)row), (size_t)col);
	if (json_is_string(v))
		snprintf(out, outlen, "%s", json_string_value(v));
	else if (outlen)
		out[0] = '\0';
}

/*
 * The rows of the stash's column from_end back from its last when it
 * holds verification vid's row, else those of `sql` run for vid.
 * vf_rows_free() after.
 */
static int vf_rows_get(struct store_tx *c, int64_t vid, int from_end,
		       const char *sql, const char *what, struct vf_rows *r)
{
	struct pg_params p;

	r->res = NULL;
	r->list = NULL;
	if (c->stash && c->stash_id == vid) {
		PGresult *res = c->stash->res;
		int col = PQnfields(res) - from_end;

		r->list = json_loadb(
			PQgetvalue(res, c->stash_row, col),
			(size_t)PQgetlength(res, c->stash_row, col), 0, NULL);
		if (json_is_array(r->list))
			return 0;
		/* Not what VF_LISTS makes: read the table instead. */
		json_decref(r->list);
		r->list = NULL;
	}
	pg_params_init(&p);
	pg_param_int(&p, vid);
	return pg_query(c, sql, &p, &r->res, what);
}

static void vf_rows_free(struct vf_rows *r)
{
	json_decref(r->list);
	PQclear(r->res);
}

int pg_checks_foreach(struct store_tx *c, int64_t verification_id,
		      int (*cb)(const struct vf_check *ch, void *arg),
		      void *arg)
{
	struct vf_rows r;
	struct vf_check ch;
	int rc = vf_rows_get(c, verification_id, VF_CHECKS_FROM_END,
			     sql_check_list, "list checks", &r);

	for (int i = 0; rc == 0 && i < vf_rows_count(&r); i++) {
		memset(&ch, 0, sizeof(ch));
		ch.created_ms = vf_rows_int(&r, i, 0);
		vf_rows_text(&r, i, 1, ch.code, sizeof(ch.code));
		ch.valid = (int)vf_rows_int(&r, i, 2);
		vf_rows_text(&r, i, 3, ch.ip, sizeof(ch.ip));
		rc = cb(&ch, arg);
	}
	vf_rows_free(&r);
	return rc;
}

int pg_event_insert(struct store_tx *c, int64_t verification_id,
		    const struct vf_event *ev)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, verification_id);
	pg_param_int(&p, ev->created_ms);
	pg_param_text(&p, ev->type);
	pg_param_text(&p, ev->channel);
	pg_param_text(&p, ev->provider_id);
	pg_param_text(&p, ev->result);
	pg_param_text(&p, ev->detail);
	pg_param_text(&p, ev->encoding);
	pg_param_int(&p, ev->segments);
	return pg_run(c, sql_event_insert, &p, "insert event");
}

int pg_events_foreach(struct store_tx *c, int64_t verification_id,
		      int (*cb)(const struct vf_event *ev, void *arg),
		      void *arg)
{
	struct vf_rows r;
	struct vf_event ev;
	int rc = vf_rows_get(c, verification_id, VF_EVENTS_FROM_END,
			     sql_event_list, "list events", &r);

	for (int i = 0; rc == 0 && i < vf_rows_count(&r); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.created_ms = vf_rows_int(&r, i, 0);
		vf_rows_text(&r, i, 1, ev.type, sizeof(ev.type));
		vf_rows_text(&r, i, 2, ev.channel, sizeof(ev.channel));
		vf_rows_text(&r, i, 3, ev.provider_id, sizeof(ev.provider_id));
		vf_rows_text(&r, i, 4, ev.result, sizeof(ev.result));
		vf_rows_text(&r, i, 5, ev.detail, sizeof(ev.detail));
		vf_rows_text(&r, i, 6, ev.encoding, sizeof(ev.encoding));
		ev.segments = (int)vf_rows_int(&r, i, 7);
		rc = cb(&ev, arg);
	}
	vf_rows_free(&r);
	return rc;
}
