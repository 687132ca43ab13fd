/*
 * Unit tests of the background purge's selection (store_purge_batch) and
 * of erasure (store_number_erase) on a temporary SQLite file: what a batch
 * removes, what it must never remove (a live verification, one whose number
 * is still verified), its limit, the blanking of client addresses, and
 * that the foreign keys hold afterwards.
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
#include <sqlite3.h>

#include "crypto.h"
#include "err.h"
#include "store.h"
#include "store_fixture.h"

static const unsigned char secret[32] = {7, 1};

/* A fixed "now", and a time well before it. */
#define NOW 1700000000000LL
#define OLD (NOW - 86400000LL)
#define HOUR 3600000LL

static int fixture_setup(void **state)
{
	return store_fixture_setup_one(state, "purge", 0, secret);
}

#define fixture_teardown store_fixture_teardown

/*
 * Stores a verification of key 1 for `number` created at `at`, in `state`
 * (finished at `at` unless live), with one check from 10.0.0.1, one event
 * and one job; returns its id.
 */
static int64_t vf_add(struct store_tx *c, const char *number, int state,
		      int64_t at)
{
	struct vf_record r;
	struct vf_check ch;
	struct vf_event ev;

	memset(&r, 0, sizeof(r));
	assert_int_equal(store_verification_next_id(c, &r.v.id), 0);
	crypto_request_id_of(r.v.id, r.v.request_id);
	r.v.key_id = 1;
	r.v.state = state;
	r.v.nsteps = 1;
	r.v.created_ms = at;
	r.v.pin_created_ms = at;
	r.v.pin_expiry_ms = 300000;
	r.v.expires_ms = at + 300000;
	r.v.finalized_ms = state == VF_IN_PROGRESS ? 0 : at;
	r.code_length = 4;
	memcpy(r.number, number, strlen(number) + 1);
	memcpy(r.steps, "s", 2);
	memcpy(r.lg, "en-us", 6);
	assert_int_equal(store_verification_insert(c, &r), 0);
	memset(&ch, 0, sizeof(ch));
	ch.created_ms = at;
	memcpy(ch.code, "1234", 5);
	memcpy(ch.ip, "10.0.0.1", 9);
	assert_int_equal(store_check_insert(c, r.v.id, &ch), 0);
	memset(&ev, 0, sizeof(ev));
	ev.created_ms = at;
	memcpy(ev.type, "sms", 4);
	assert_int_equal(store_event_insert(c, r.v.id, &ev), 0);
	assert_int_equal(store_job_insert(c, "step", r.v.id, 0, at), 0);
	return r.v.id;
}

static int64_t count(struct store_fixture *f, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void assert_foreign_keys_hold(struct store_fixture *f)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1,
					    &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static struct store_purge purge_of(int64_t retain_ms, int limit)
{
	struct store_purge p;

	memset(&p, 0, sizeof(p));
	p.finished_before = NOW - retain_ms;
	p.verified_after = NOW - 30 * 24 * HOUR;
	p.limit = limit;
	return p;
}

static void test_purge_takes_only_finished_past_retention(void **state)
{
	struct store_fixture *f = *state;
	struct store_purge p = purge_of(HOUR, 500);
	struct store_purge_counts n;
	struct vf_verified vr;

	vf_add(f->c, "919800000001", VF_CANCELLED, OLD);
	vf_add(f->c, "919800000002", VF_IN_PROGRESS, OLD);
	vf_add(f->c, "919800000003", VF_FAILED, NOW - 60000);
	vf_add(f->c, "919800000004", VF_SUCCESS, OLD);
	memset(&vr, 0, sizeof(vr));
	vr.verified_ms = OLD;
	assert_int_equal(store_verified_put(f->c, 1, "919800000004", &vr), 0);

	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications, 1);
	assert_int_equal(n.verified_numbers, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM verifications"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM checks"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM events"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM jobs"), 3);
	assert_int_equal(count(f, "SELECT count(*) FROM verifications WHERE "
				  "number = '919800000001'"),
			 0);
	assert_foreign_keys_hold(f);

	/* Nothing more to do: a second batch removes nothing. */
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications, 0);

	/* Once the number's verified window is over, it goes too. */
	p.verified_after = OLD + 1;
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications, 1);
	assert_int_equal(n.verified_numbers, 1);
	assert_int_equal(count(f, "SELECT count(*) FROM verifications"), 2);
	assert_foreign_keys_hold(f);
}

static void test_purge_batch_stops_at_its_limit(void **state)
{
	struct store_fixture *f = *state;
	struct store_purge p = purge_of(HOUR, 2);
	struct store_purge_counts n;

	for (int i = 0; i < 5; i++) {
		char number[16];

		snprintf(number, sizeof(number), "9198000001%02d", i);
		vf_add(f->c, number, VF_EXPIRED, OLD + i);
	}
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications, 2);
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications, 2);
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications, 1);
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM verifications"), 0);
	assert_foreign_keys_hold(f);
}

/*
 * A batch looks at `limit` verifications past after_id only: a kept one
 * first costs a batch that removes nothing but moves on, and the walk ends
 * at the first window created after the cut-off.
 */
static void test_purge_walks_past_kept_rows_and_stops(void **state)
{
	struct store_fixture *f = *state;
	struct store_purge p = purge_of(HOUR, 1);
	struct store_purge_counts n;
	int64_t live, old;

	live = vf_add(f->c, "919800000030", VF_IN_PROGRESS, OLD);
	old = vf_add(f->c, "919800000031", VF_FAILED, OLD);
	vf_add(f->c, "919800000032", VF_FAILED, NOW);
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications, 0);
	assert_true(n.more);
	assert_int_equal(n.last_id, live);
	p.after_id = n.last_id;
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications, 1);
	assert_int_equal(n.last_id, old);
	p.after_id = n.last_id;
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications, 0);
	assert_false(n.more);
	assert_int_equal(count(f, "SELECT count(*) FROM verifications"), 2);
}

static void test_purge_blanks_old_addresses_and_events_only(void **state)
{
	struct store_fixture *f = *state;
	struct store_purge p;
	struct store_purge_counts n;

	vf_add(f->c, "919800000010", VF_IN_PROGRESS, OLD);
	vf_add(f->c, "919800000011", VF_SUCCESS, NOW - 60000);
	memset(&p, 0, sizeof(p));
	p.limit = 500;
	p.addresses_before = NOW - HOUR;
	p.events_before = NOW - HOUR;
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications, 0);
	assert_int_equal(n.addresses, 1);
	assert_int_equal(n.events, 1);
	assert_int_equal(count(f, "SELECT count(*) FROM checks"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM checks WHERE ip = ''"),
			 1);
	assert_int_equal(count(f, "SELECT count(*) FROM events"), 1);
	/* All cut-offs 0: nothing of any kind. */
	memset(&p, 0, sizeof(p));
	p.limit = 500;
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.verifications + n.verified_numbers + n.addresses +
				 n.events,
			 0);
	p.limit = 0;
	assert_int_equal(store_purge_batch(f->c, &p, &n), KV_EINVAL);
}

/*
 * Checks and events are walked by id from where the last batch stopped, a
 * window of `limit` rows at a time: a batch never reads the rows already
 * blanked before it, and the walk stops at the first window made after the
 * cut-off.
 */
static void test_purge_walks_checks_and_events_from_a_cursor(void **state)
{
	struct store_fixture *f = *state;
	struct store_purge p;
	struct store_purge_counts n;

	vf_add(f->c, "919800000020", VF_IN_PROGRESS, OLD);
	vf_add(f->c, "919800000021", VF_IN_PROGRESS, OLD + 1);
	vf_add(f->c, "919800000022", VF_IN_PROGRESS, NOW - 60000);
	memset(&p, 0, sizeof(p));
	p.limit = 1;
	p.addresses_before = NOW - HOUR;
	p.events_before = NOW - HOUR;
	/* One old row of each a batch, the cursors moving on by one. */
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.addresses, 1);
	assert_int_equal(n.events, 1);
	assert_true(n.more_checks && n.more_events);
	assert_int_equal(n.last_check_id, 1);
	assert_int_equal(n.last_event_id, 1);
	p.after_check_id = n.last_check_id;
	p.after_event_id = n.last_event_id;
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.addresses, 1);
	assert_int_equal(n.events, 1);
	p.after_check_id = n.last_check_id;
	p.after_event_id = n.last_event_id;
	/* The next window is newer than the cut-off: the walks stop there. */
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.addresses + n.events, 0);
	assert_false(n.more_checks || n.more_events);
	assert_int_equal(n.last_check_id, 2);
	assert_int_equal(n.last_event_id, 2);
	assert_int_equal(count(f, "SELECT count(*) FROM checks WHERE ip = ''"),
			 2);
	assert_int_equal(count(f, "SELECT count(*) FROM events"), 1);
	/* From the start again, the blanked rows are walked over, once. */
	p.after_check_id = 0;
	assert_int_equal(store_purge_batch(f->c, &p, &n), 0);
	assert_int_equal(n.addresses, 0);
	assert_true(n.more_checks);
	assert_int_equal(n.last_check_id, 1);
}

static void test_erase_removes_one_number_only(void **state)
{
	struct store_fixture *f = *state;
	struct store_erase_counts n;
	struct vf_verified vr;
	struct resend_backoff b = {2, OLD, OLD + 4000};

	vf_add(f->c, "919800000020", VF_SUCCESS, OLD);
	vf_add(f->c, "919800000020", VF_IN_PROGRESS, NOW);
	vf_add(f->c, "919800000021", VF_SUCCESS, OLD);
	memset(&vr, 0, sizeof(vr));
	vr.verified_ms = OLD;
	assert_int_equal(store_verified_put(f->c, 1, "919800000020", &vr), 0);
	assert_int_equal(store_verified_put(f->c, 1, "919800000021", &vr), 0);
	/* Its backoff under two keys, and another number's. */
	assert_int_equal(store_backoff_put(f->c, 1, "tag-of-20", &b), 0);
	assert_int_equal(store_backoff_put(f->c, 2, "tag-of-20", &b), 0);
	assert_int_equal(store_backoff_put(f->c, 1, "tag-of-21", &b), 0);
	assert_int_equal(store_begin(f->c), 0);
	assert_int_equal(
		store_number_erase(f->c, "919800000020", "tag-of-20", &n), 0);
	assert_int_equal(store_commit(f->c), 0);
	assert_int_equal(n.verifications, 2);
	assert_int_equal(n.checks, 2);
	assert_int_equal(n.events, 2);
	assert_int_equal(n.jobs, 2);
	assert_int_equal(n.verified_numbers, 1);
	assert_int_equal(n.resend_backoffs, 2);
	assert_int_equal(count(f, "SELECT count(*) FROM verifications"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM verified_numbers"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM resend_backoff WHERE "
				  "tag = 'tag-of-21'"),
			 1);
	assert_foreign_keys_hold(f);
	assert_int_equal(
		store_number_erase(f->c, "919800000020", "tag-of-20", &n), 0);
	assert_int_equal(
		n.verifications + n.verified_numbers + n.resend_backoffs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_purge_takes_only_finished_past_retention,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_purge_batch_stops_at_its_limit, fixture_setup,
			fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_purge_walks_past_kept_rows_and_stops,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_purge_blanks_old_addresses_and_events_only,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_purge_walks_checks_and_events_from_a_cursor,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_erase_removes_one_number_only, fixture_setup,
			fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
