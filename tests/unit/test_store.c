/*
 * Unit tests of the store through its interface (store.h) on a temporary
 * SQLite file, and of the service's delivery half (verify_job.c) on top of
 * it: migrations, the one-live-verification rule, job leases and their
 * expiry, the writer's replay of a batch after a failed closure, a claim
 * and a report of the service, and the service's handling of IVR callbacks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <semaphore.h>
#include <sqlite3.h>

#include "crypto.h"
#include "err.h"
#include "store.h"
#include "store_fixture.h"
#include "store_sqlite.h"
#include "verify.h"

static const unsigned char secret[32] = {4, 2};

static int fixture_setup(void **state)
{
	return store_fixture_setup_one(state, "store", 1, secret);
}

#define fixture_teardown store_fixture_teardown

/* A live SMS-then-call verification of key 1 for `number`, not stored. */
static void vf_new(struct store_tx *c, const char *number, int64_t now,
		   struct vf_record *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(store_verification_next_id(c, &r->v.id), 0);
	crypto_request_id_of(r->v.id, r->v.request_id);
	r->v.key_id = 1;
	r->v.state = VF_IN_PROGRESS;
	r->v.nsteps = 2;
	r->v.created_ms = now;
	r->v.pin_created_ms = now;
	r->v.pin_expiry_ms = 300000;
	r->v.expires_ms = now + 300000;
	r->code_length = 4;
	r->wait_ms[0] = 60000;
	memcpy(r->number, number, strlen(number) + 1);
	memcpy(r->steps, "st", 3);
	memcpy(r->lg, "en-us", 6);
}

/* ---- migrations ---- */

static void test_migrate_creates_a_current_schema_once(void **state)
{
	struct store_fixture *f = *state;
	char err[256];

	/* Migrating a current file again changes nothing and succeeds. */
	assert_int_equal(store_migrate(f->path, err, sizeof(err)), 0);
	assert_true(store_schema_version() > 0);
}

static void test_open_refuses_a_file_never_migrated(void **state)
{
	struct store_fixture *f = *state;
	char path[128], err[256] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "%s/empty.db", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_null(store_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "migrate"));
	/* Migrating it from nothing makes it usable. */
	assert_int_equal(store_migrate(path, err, sizeof(err)), 0);
	store_close(store_open(path, err, sizeof(err)));
	unlink(path);
}

/*
 * A file of version 10 (the blocks table as it was before blocks had a
 * key, with a block in it; no index of verified numbers' times) is brought
 * up to date, its block kept for every key.
 */
static void test_migrate_brings_an_older_file_up_to_date(void **state)
{
	struct store_fixture *f = *state;
	static const char older[] =
		"DROP TABLE blocks;"
		"CREATE TABLE blocks (prefix TEXT PRIMARY KEY,"
		"  reason TEXT NOT NULL, created_ms INTEGER NOT NULL,"
		"  until_ms INTEGER NOT NULL) WITHOUT ROWID;"
		"INSERT INTO blocks VALUES ('9198000', 'by hand', 1000, 9000);"
		"DROP INDEX verified_numbers_ms;"
		"DROP TABLE meta; DROP TABLE limits; DROP TABLE prefix_stats;"
		"DROP TABLE resend_backoff;"
		"DROP TABLE applications; DROP TABLE idempotency;"
		"DROP TABLE template_fragments; DROP TABLE templates;"
		"DROP INDEX calls_verification;"
		"DROP INDEX fraud_reports_verification;"
		"DROP INDEX jobs_verification;"
		"CREATE INDEX jobs_verification ON jobs(verification_id)"
		"  WHERE state = 0;"
		"ALTER TABLE verifications DROP COLUMN origin_host;"
		"ALTER TABLE verifications DROP COLUMN app_hash;"
		"ALTER TABLE events DROP COLUMN encoding;"
		"ALTER TABLE events DROP COLUMN segments;"
		"DROP INDEX verifications_missed;"
		"ALTER TABLE verifications DROP COLUMN missed_did;"
		"ALTER TABLE verifications DROP COLUMN missed_until_ms;"
		"ALTER TABLE api_keys DROP COLUMN missed_call;"
		"DROP INDEX verifications_created;"
		"DROP TABLE callbacks;"
		"ALTER TABLE api_keys DROP COLUMN callback_url;"
		"ALTER TABLE api_keys DROP COLUMN callback_secret;"
		"ALTER TABLE verifications DROP COLUMN client_ref;"
		"ALTER TABLE verifications DROP COLUMN v2;"
		"ALTER TABLE verifications DROP COLUMN template_id;";
	char sql[64], err[256];
	struct fraud_block b;
	sqlite3 *db = NULL;

	store_close(f->c);
	f->c = NULL;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", 10);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, older, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* Not current: refused until migrated. */
	assert_null(store_open(f->path, err, sizeof(err)));
	assert_int_equal(store_migrate(f->path, err, sizeof(err)), 0);
	f->c = store_open(f->path, err, sizeof(err));
	assert_non_null(f->c);
	assert_int_equal(store_block_last(f->c, "9198000", 0, &b), 0);
	assert_string_equal(b.reason, "by hand");
	assert_int_equal(b.key_id, 0);
	assert_int_equal(b.until_ms, 9000);
}

/* ---- one live verification per number and key ---- */

static void test_one_live_verification_per_number_and_key(void **state)
{
	struct store_fixture *f = *state;
	struct vf_record a, b, live;

	vf_new(f->c, "919800000001", 1000, &a);
	assert_int_equal(store_verification_insert(f->c, &a), 0);
	vf_new(f->c, "919800000001", 2000, &b);
	assert_int_equal(store_verification_insert(f->c, &b), KV_EDUP);
	/* Another number is free. */
	vf_new(f->c, "919800000002", 2000, &b);
	assert_int_equal(store_verification_insert(f->c, &b), 0);
	assert_int_equal(
		store_verification_live(f->c, 1, "919800000001", &live), 0);
	assert_string_equal(live.v.request_id, a.v.request_id);
	/* Once the first has ended, the number may start again. */
	a.v.state = VF_CANCELLED;
	a.v.finalized_ms = 3000;
	assert_int_equal(store_verification_finalize(f->c, &a, 3000), 0);
	assert_int_equal(store_verification_live(f->c, 1, "919800000001",
						 &live),
			 KV_ENOTFOUND);
	vf_new(f->c, "919800000001", 4000, &b);
	assert_int_equal(store_verification_insert(f->c, &b), 0);
}

/*
 * The live lookup that also takes a token (a Request's on a shared store):
 * only when it finds no live verification, and the bucket's answer as
 * store_limit_take() gives it.
 */
static void test_a_live_lookup_takes_a_token_only_when_none_is(void **state)
{
	struct store_fixture *f = *state;
	const struct store_bucket b = {"prefix", "9198", 1, 60};
	const int64_t t = 1000000;
	struct vf_record a, live;
	int wait = -1;

	assert_int_equal(store_verification_live_take(f->c, 1, "919800000009",
						      &b, t, &live, &wait),
			 KV_ENOTFOUND);
	assert_int_equal(wait, 0);
	/* The one token is gone: another number of the range waits. */
	assert_int_equal(store_verification_live_take(f->c, 1, "919800000010",
						      &b, t, &live, &wait),
			 KV_ENOTFOUND);
	assert_int_equal(wait, 61);
	/* A live verification is found and nothing is taken or waited. */
	vf_new(f->c, "919800000009", 2000, &a);
	assert_int_equal(store_verification_insert(f->c, &a), 0);
	assert_int_equal(store_verification_live_take(f->c, 1, "919800000009",
						      &b, t, &live, &wait),
			 0);
	assert_int_equal(wait, 0);
	assert_string_equal(live.v.request_id, a.v.request_id);
	/* Without a live one, the bucket still refuses (nothing was taken). */
	assert_int_equal(store_verification_live_take(f->c, 1, "919800000010",
						      &b, t + 30000, &live,
						      &wait),
			 KV_ENOTFOUND);
	assert_int_equal(wait, 31);
}

/*
 * A verification started only when nothing stops it (a Request's write
 * with its id drawn before): stored with its job when the number has no
 * live verification and the bucket gives a token; else nothing is stored
 * or taken, and the answer says which.
 */
static void test_a_start_if_free_stores_only_when_allowed(void **state)
{
	struct store_fixture *f = *state;
	const struct store_bucket b = {"number", "tag", 1, 60};
	const struct store_job_new job = {JOB_STEP, 0, 1000};
	const int64_t t = 1000000;
	struct vf_record a, other, live;
	int64_t jobs = 0;
	int wait = -1;

	vf_new(f->c, "919800000021", 1000, &a);
	assert_int_equal(store_verification_start_if_free(f->c, &a, &job, &b, t,
							  &live, &wait),
			 KV_ENOTFOUND);
	assert_int_equal(wait, 0);
	assert_int_equal(
		store_verification_live(f->c, 1, "919800000021", &live), 0);
	assert_string_equal(live.v.request_id, a.v.request_id);
	assert_int_equal(store_jobs_pending(f->c, &jobs), 0);
	assert_int_equal(jobs, 1);
	/* The number is live: that one is the answer, nothing is taken. */
	vf_new(f->c, "919800000021", 2000, &other);
	memset(&live, 0, sizeof(live));
	assert_int_equal(store_verification_start_if_free(f->c, &other, &job,
							  &b, t, &live, &wait),
			 0);
	assert_int_equal(wait, 0);
	assert_string_equal(live.v.request_id, a.v.request_id);
	/* Another number finds the bucket empty: stored nowhere. */
	vf_new(f->c, "919800000022", 2000, &other);
	assert_int_equal(store_verification_start_if_free(f->c, &other, &job,
							  &b, t, &live, &wait),
			 KV_ENOTFOUND);
	assert_int_equal(wait, 61);
	assert_int_equal(store_verification_live(f->c, 1, "919800000022",
						 &live),
			 KV_ENOTFOUND);
	/* Without a bucket (a test number, no limit) it is stored. */
	assert_int_equal(store_verification_start_if_free(
				 f->c, &other, NULL, NULL, t, &live, &wait),
			 KV_ENOTFOUND);
	assert_int_equal(wait, 0);
	assert_int_equal(
		store_verification_live(f->c, 1, "919800000022", &live), 0);
	assert_int_equal(store_jobs_pending(f->c, &jobs), 0);
	assert_int_equal(jobs, 1);
}

/* ---- job leases ---- */

/* A verification made at 1000 with its first step due then. */
static void vf_with_job(struct store_fixture *f, const char *number,
			struct vf_record *r)
{
	const struct store_job_new job = {JOB_STEP, 0, 1000};

	vf_new(f->c, number, 1000, r);
	assert_int_equal(store_verification_start(f->c, r, &job), 0);
}

static void test_a_leased_job_returns_when_its_lease_ends(void **state)
{
	struct store_fixture *f = *state;
	struct vf_record r;
	struct vf_job j;
	int64_t due = 0;

	vf_with_job(f, "919800000003", &r);
	/* Not due yet. */
	assert_int_equal(store_job_claim(f->c, 999, 5999, &j), KV_ENOTFOUND);
	assert_int_equal(store_job_claim(f->c, 1000, 6000, &j), 0);
	assert_int_equal(j.verification_id, r.v.id);
	assert_int_equal(j.attempts, 1);
	/* Leased: no one else takes it, and it is due at the lease's end. */
	assert_int_equal(store_job_claim(f->c, 5999, 10999, &j), KV_ENOTFOUND);
	assert_int_equal(store_job_next_due(f->c, &due), 0);
	assert_int_equal(due, 6000);
	/* A worker that died: the lease runs out, the next attempt counts. */
	assert_int_equal(store_job_claim(f->c, 6000, 11000, &j), 0);
	assert_int_equal(j.attempts, 2);
	/* The first worker's late report changes nothing: not its lease. */
	assert_int_equal(store_job_done(f->c, j.id, 6000, JOB_DONE, "", 6001),
			 KV_ENOTFOUND);
	assert_int_equal(store_job_retry(f->c, j.id, 6000, 7000, "late"),
			 KV_ENOTFOUND);
	assert_int_equal(store_job_next_due(f->c, &due), 0);
	assert_int_equal(due, 11000);
	assert_int_equal(store_job_done(f->c, j.id, 11000, JOB_DONE, "", 6001),
			 0);
	assert_int_equal(store_job_claim(f->c, 99999, 999999, &j),
			 KV_ENOTFOUND);
	assert_int_equal(store_job_next_due(f->c, &due), KV_ENOTFOUND);
}

static void
test_a_job_ended_under_its_lease_still_takes_the_report(void **state)
{
	struct store_fixture *f = *state;
	struct vf_record r;
	struct vf_job j;
	int64_t n = -1;

	vf_with_job(f, "919800000005", &r);
	assert_int_equal(store_job_claim(f->c, 1000, 6000, &j), 0);
	/* The verification ends while the job is in flight. */
	assert_int_equal(store_jobs_cancel(f->c, r.v.id, 2000), 0);
	assert_int_equal(store_job_done(f->c, j.id, 6000, JOB_DONE, "", 2500),
			 0);
	assert_int_equal(store_job_retry(f->c, j.id, 6000, 3000, ""), 0);
	/* Still cancelled: the reports did not bring it back. */
	assert_int_equal(store_jobs_pending(f->c, &n), 0);
	assert_int_equal(n, 0);
}

/* ---- status callbacks: in order per verification, leased ---- */

static void callback_queue(struct store_fixture *f, const struct vf_record *r,
			   const char *body, int64_t now)
{
	struct vf_callback cb;

	memset(&cb, 0, sizeof(cb));
	cb.verification_id = r->v.id;
	cb.key_id = r->v.key_id;
	snprintf(cb.jti, sizeof(cb.jti), "%032lld", (long long)now);
	snprintf(cb.body, sizeof(cb.body), "%s", body);
	assert_int_equal(store_callback_insert(f->c, &cb, now), 0);
}

static void test_callbacks_go_in_order_and_leased(void **state)
{
	struct store_fixture *f = *state;
	struct key_callback kc = {.url = "https://hooks.example/kv",
				  .secret = "s3cret"};
	struct vf_record r, other;
	struct vf_callback a, b;
	int64_t due = 0;

	assert_int_equal(store_key_callback_get(f->c, 1, &kc), KV_ENOTFOUND);
	assert_int_equal(store_key_callback_set(f->c, "nokey", &kc),
			 KV_ENOTFOUND);
	assert_int_equal(store_key_callback_set(f->c, "k1", &kc), 0);
	vf_new(f->c, "919800000031", 1000, &r);
	assert_int_equal(store_verification_insert(f->c, &r), 0);
	vf_new(f->c, "919800000032", 1000, &other);
	assert_int_equal(store_verification_insert(f->c, &other), 0);
	callback_queue(f, &r, "first", 1000);
	callback_queue(f, &r, "second", 1001);
	callback_queue(f, &other, "other", 1002);
	/* A key whose receiver holds its share of the senders waits. */
	int64_t skip[CALLBACK_SKIP_KEYS] = {r.v.key_id};

	assert_int_equal(store_callback_claim(f->c, 1500, 6500, skip, &a),
			 KV_ENOTFOUND);

	assert_int_equal(store_callback_claim(f->c, 1500, 6500, NULL, &a), 0);
	assert_string_equal(a.body, "first");
	assert_string_equal(a.to.url, "https://hooks.example/kv");
	assert_string_equal(a.to.secret, "s3cret");
	assert_string_equal(a.api_key, "k1");
	assert_int_equal(a.attempts, 1);
	/* "second" waits behind "first"; another verification's does not. */
	assert_int_equal(store_callback_claim(f->c, 1500, 6500, NULL, &b), 0);
	assert_string_equal(b.body, "other");
	assert_int_equal(
		store_callback_done(f->c, &b, 6500, JOB_DONE, "", 1600), 0);
	assert_int_equal(store_callback_claim(f->c, 6000, 11000, NULL, &b),
			 KV_ENOTFOUND);
	assert_int_equal(store_callback_next_due(f->c, &due), 0);
	assert_int_equal(due, 6500);
	/* A retry keeps it first; its lease fences a late report. */
	assert_int_equal(
		store_callback_retry(f->c, a.id, 6500, 7000, "HTTP 500"), 0);
	assert_int_equal(store_callback_retry(f->c, a.id, 6500, 7000, "late"),
			 KV_ENOTFOUND);
	assert_int_equal(store_callback_claim(f->c, 7000, 12000, NULL, &a), 0);
	assert_string_equal(a.body, "first");
	assert_int_equal(a.attempts, 2);
	assert_int_equal(store_callback_done(f->c, &a, 6500, JOB_DONE, "",
					     7100),
			 KV_ENOTFOUND);
	assert_int_equal(
		store_callback_done(f->c, &a, 12000, JOB_DONE, "", 7100), 0);
	/* Its end brings the next one forward, with the same jti. */
	assert_int_equal(store_callback_claim(f->c, 7100, 12100, NULL, &b), 0);
	assert_string_equal(b.body, "second");
	assert_string_equal(b.jti, "00000000000000000000000000001001");
}

static void test_ending_a_verification_cancels_its_jobs(void **state)
{
	struct store_fixture *f = *state;
	struct vf_record r;
	struct vf_job j;
	int64_t n = -1;

	vf_with_job(f, "919800000004", &r);
	assert_int_equal(store_jobs_pending(f->c, &n), 0);
	assert_int_equal(n, 1);
	r.v.state = VF_SUCCESS;
	r.v.finalized_ms = 1500;
	assert_int_equal(store_verification_finalize(f->c, &r, 1500), 0);
	assert_int_equal(store_jobs_pending(f->c, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_job_claim(f->c, 2000, 7000, &j), KV_ENOTFOUND);
}

/* ---- the writer: a failed closure costs only itself ---- */

struct replay_op {
	struct store_write_op op;
	int64_t vid;
	int step;
	int fail; /* write, then fail: the write must be undone */
	sem_t done;
};

static int replay_run(struct store_tx *c, void *arg)
{
	struct replay_op *r = arg;
	int rc = store_job_insert(c, JOB_STEP, r->vid, r->step, 1000);

	return rc ? rc : r->fail ? KV_EINVAL : 0;
}

static void replay_done(struct store_write_op *op)
{
	sem_post(&((struct replay_op *)op->done_arg)->done);
}

static void test_a_failed_closure_is_replayed_alone(void **state)
{
	struct store_fixture *f = *state;
	struct replay_op ops[5];
	struct vf_record r;
	char err[256];
	int64_t n = -1;

	vf_new(f->c, "919800000005", 1000, &r);
	assert_int_equal(store_verification_insert(f->c, &r), 0);
	assert_int_equal(store_writer_start(f->path, 64, err, sizeof(err)), 0);
	/* Queued back to back, so that the writer may group them. */
	for (int i = 0; i < 5; i++) {
		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].vid = r.v.id;
		ops[i].step = i;
		ops[i].fail = i == 2;
		sem_init(&ops[i].done, 0, 0);
		ops[i].op.fn = replay_run;
		ops[i].op.arg = &ops[i];
		ops[i].op.done = replay_done;
		ops[i].op.done_arg = &ops[i];
		assert_int_equal(store_write_submit(&ops[i].op), 0);
	}
	for (int i = 0; i < 5; i++) {
		sem_wait(&ops[i].done);
		assert_int_equal(ops[i].op.rc, i == 2 ? KV_EINVAL : 0);
		sem_destroy(&ops[i].done);
	}
	store_writer_stop();
	/* Four jobs stored: the failed closure's insert was undone. */
	assert_int_equal(store_jobs_pending(f->c, &n), 0);
	assert_int_equal(n, 4);
}

/* ---- durability: db_synchronous reaches the writer's connection ---- */

/* Runs on the writer's connection: its PRAGMA synchronous into *arg. */
static int synchronous_read(struct store_tx *c, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc = KV_EDB;

	if (sqlite3_prepare_v2(c->db, "PRAGMA synchronous", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*(int *)arg = sqlite3_column_int(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static void test_the_writer_commits_with_the_chosen_synchronous(void **state)
{
	struct store_fixture *f = *state;
	char err[256];
	int level = -1;

	/* SQLite's levels: 1 NORMAL, 2 FULL. */
	assert_int_equal(store_writer_start(f->path, 64, err, sizeof(err)), 0);
	assert_int_equal(store_write(synchronous_read, &level), 0);
	store_writer_stop();
	assert_int_equal(level, 1);
	store_sync_set(STORE_SYNC_FULL);
	assert_int_equal(store_writer_start(f->path, 64, err, sizeof(err)), 0);
	assert_int_equal(store_write(synchronous_read, &level), 0);
	store_writer_stop();
	store_sync_set(STORE_SYNC_NORMAL);
	assert_int_equal(level, 2);
}

/* ---- the service's delivery half ---- */

static void test_claim_starts_the_step_and_report_schedules_next(void **state)
{
	struct store_fixture *f = *state;
	struct verify_claim cl;
	struct verify_report o;
	struct vf_record r, out;
	struct vf_job j;
	char err[256];
	int64_t now = 10000;

	vf_new(f->c, "919800000006", now, &r);
	assert_int_equal(store_verification_insert(f->c, &r), 0);
	assert_int_equal(store_job_insert(f->c, JOB_STEP, r.v.id, 0, now), 0);
	assert_int_equal(store_writer_start(f->path, 64, err, sizeof(err)), 0);
	memset(&cl, 0, sizeof(cl));
	cl.now = now;
	cl.lease_ms = 30000;
	assert_int_equal(verify_job_claim(&cl), 0);
	assert_true(cl.found);
	assert_int_equal(cl.channel, 's');
	assert_int_equal(cl.rec.v.next_step, 1);
	memset(&o, 0, sizeof(o));
	o.cl = &cl;
	o.result = SEND_ACCEPTED;
	assert_int_equal(verify_job_record(&o), 0);
	store_writer_stop();
	/* The call is due after the workflow's wait, not before. */
	assert_int_equal(store_job_claim(f->c, now + 59999, now + 99999, &j),
			 KV_ENOTFOUND);
	assert_int_equal(store_job_claim(f->c, now + 60000, now + 99999, &j),
			 0);
	assert_int_equal(j.step, 1);
	assert_int_equal(store_verification_by_id(f->c, r.v.id, &out), 0);
	assert_int_equal(out.first_event_ms, now);
	assert_int_equal(out.v.next_step, 1);
}

/* ---- the service's half of a voice call ---- */

/* A verification whose call (step 1, KooKoo id "sid-1") is ringing. */
static void call_setup(struct store_fixture *f, int64_t now,
		       struct vf_record *r)
{
	char err[256];

	vf_new(f->c, "919800000007", now, r);
	r->v.next_step = 2;
	memcpy(r->call_sid, "sid-1", 6);
	assert_int_equal(store_verification_insert(f->c, r), 0);
	assert_int_equal(store_job_insert(f->c, JOB_EXPIRE, r->v.id, 0,
					  r->v.expires_ms),
			 0);
	assert_int_equal(store_writer_start(f->path, 64, err, sizeof(err)), 0);
}

static void call_init(struct verify_call *vc, const struct vf_record *r,
		      const char *sid, enum verify_call_event ev, int key,
		      int64_t now)
{
	memset(vc, 0, sizeof(*vc));
	vc->vid = r->v.id;
	vc->step = 1;
	vc->ids[0] = sid;
	vc->ev = ev;
	vc->event_name = ev == CALL_EV_KEY ? "GotDTMF" : "NewCall";
	vc->key = key;
	vc->duration = -1;
	vc->now = now;
}

static void test_call_keys_go_through_the_service(void **state)
{
	struct store_fixture *f = *state;
	struct verify_call vc;
	struct vf_record r, out;
	struct vf_verified vr;
	int64_t now = 20000, n = -1;

	call_setup(f, now, &r);
	/* Answered: greeted while the PIN lives. */
	call_init(&vc, &r, "sid-1", CALL_EV_NEW, 0, now + 1000);
	assert_int_equal(store_write(verify_call_run, &vc), 0);
	assert_false(vc.refused);
	assert_int_equal(vc.answer, CALL_ANSWER_GREETING);
	/* Key 1 reads it again, with one repetition left. */
	call_init(&vc, &r, "sid-1", CALL_EV_KEY, '1', now + 2000);
	assert_int_equal(store_write(verify_call_run, &vc), 0);
	assert_int_equal(vc.answer, CALL_ANSWER_REPEAT);
	assert_int_equal(vc.repetitions_left, 1);
	/* Key 2 verifies: SUCCESS, the verified record, no job left. */
	call_init(&vc, &r, "sid-1", CALL_EV_KEY, '2', now + 3000);
	assert_int_equal(store_write(verify_call_run, &vc), 0);
	assert_int_equal(vc.answer, CALL_ANSWER_CONFIRMED);
	assert_true(vc.confirmed);
	store_writer_stop();
	assert_int_equal(store_verification_by_id(f->c, r.v.id, &out), 0);
	assert_int_equal(out.v.state, VF_SUCCESS);
	assert_int_equal(out.v.finalized_ms, now + 3000);
	assert_int_equal(store_verified_get(f->c, 1, r.number, &vr), 0);
	assert_string_equal(vr.request_id, r.v.request_id);
	assert_int_equal(store_jobs_pending(f->c, &n), 0);
	assert_int_equal(n, 0);
}

static void test_call_of_another_verification_is_refused(void **state)
{
	struct store_fixture *f = *state;
	struct verify_call vc;
	struct vf_record r, other, out;
	struct vf_call call;
	int64_t now = 30000;

	call_setup(f, now, &r);
	/* "sid-2" is the call of another verification. */
	vf_new(f->c, "919800000008", now, &other);
	assert_int_equal(store_verification_insert(f->c, &other), 0);
	memset(&call, 0, sizeof(call));
	memcpy(call.sid, "sid-2", 6);
	call.verification_id = other.v.id;
	call.step = 1;
	assert_int_equal(store_call_put(f->c, &call, now), 0);
	call_init(&vc, &r, "sid-2", CALL_EV_KEY, '2', now + 1000);
	assert_int_equal(store_write(verify_call_run, &vc), 0);
	assert_true(vc.refused);
	assert_null(vc.sid);
	store_writer_stop();
	assert_int_equal(store_verification_by_id(f->c, r.v.id, &out), 0);
	assert_int_equal(out.v.state, VF_IN_PROGRESS);
}

/* Each text is cut to its field, a NULL one is empty, nothing else set. */
static void test_an_event_is_filled_within_its_fields(void **state)
{
	char longer[300];
	struct vf_event ev;

	(void)state;
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memset(&ev, 0x55, sizeof(ev));
	vf_event_set(&ev, 1234, "missed_call", NULL, longer, "verified",
		     longer);
	assert_int_equal(ev.created_ms, 1234);
	assert_string_equal(ev.type, "missed_call");
	assert_string_equal(ev.channel, "");
	assert_int_equal(strlen(ev.provider_id), sizeof(ev.provider_id) - 1);
	assert_string_equal(ev.result, "verified");
	assert_int_equal(strlen(ev.detail), sizeof(ev.detail) - 1);
	assert_string_equal(ev.encoding, "");
	assert_int_equal(ev.segments, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_an_event_is_filled_within_its_fields),
		cmocka_unit_test_setup_teardown(
			test_migrate_creates_a_current_schema_once,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_open_refuses_a_file_never_migrated, fixture_setup,
			fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_migrate_brings_an_older_file_up_to_date,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_one_live_verification_per_number_and_key,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_start_if_free_stores_only_when_allowed,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_live_lookup_takes_a_token_only_when_none_is,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_leased_job_returns_when_its_lease_ends,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_job_ended_under_its_lease_still_takes_the_report,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_callbacks_go_in_order_and_leased, fixture_setup,
			fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_ending_a_verification_cancels_its_jobs,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_failed_closure_is_replayed_alone, fixture_setup,
			fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_the_writer_commits_with_the_chosen_synchronous,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_claim_starts_the_step_and_report_schedules_next,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_call_keys_go_through_the_service, fixture_setup,
			fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_call_of_another_verification_is_refused,
			fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
