/*
 * Unit tests of the store's cluster operations (store.h) on a temporary
 * SQLite file: the claimed settings (the secret's fingerprint), token
 * buckets with the in-memory limiter's semantics, conversion statistics
 * per window, resend backoffs per number and key, and the sweep of what
 * is spent.  PostgreSQL runs the same
 * operations in the multi-node integration tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "store.h"
#include "store_fixture.h"

static const unsigned char secret[32] = {1, 3};

static int fixture_setup(void **state)
{
	return store_fixture_setup_one(state, "cluster", 1, secret);
}

#define fixture_teardown store_fixture_teardown

static void test_a_setting_is_claimed_once_then_compared(void **state)
{
	struct store_fixture *f = *state;
	char stored[128] = "";

	assert_int_equal(store_meta_claim(f->c, "fp", "aaaa", stored,
					  sizeof(stored)),
			 0);
	assert_string_equal(stored, "aaaa");
	assert_int_equal(store_meta_claim(f->c, "fp", "aaaa", NULL, 0), 0);
	/* Another value is refused and the first one stays. */
	assert_int_equal(store_meta_claim(f->c, "fp", "bbbb", stored,
					  sizeof(stored)),
			 KV_EDUP);
	assert_string_equal(stored, "aaaa");
	/* Names are apart. */
	assert_int_equal(store_meta_claim(f->c, "other", "bbbb", NULL, 0), 0);
}

/* Takes from ("n", key) at `now` for 3 per 60 s; returns the wait. */
static int take(struct store_tx *c, const char *key, int64_t now)
{
	int wait = -1;

	assert_int_equal(store_limit_take(c, "n", key, 3, 60, now, &wait), 0);
	return wait;
}

static void test_a_bucket_allows_its_burst_then_refills(void **state)
{
	struct store_fixture *f = *state;
	int64_t t = 1000000;

	/*
	 * A burst of `count`, then a refusal saying when a token is back:
	 * whole seconds rounded up past the instant, as limiter_take().
	 */
	assert_int_equal(take(f->c, "k", t), 0);
	assert_int_equal(take(f->c, "k", t), 0);
	assert_int_equal(take(f->c, "k", t), 0);
	assert_int_equal(take(f->c, "k", t), 21);
	/* A refusal counts nothing: the wait only shrinks with time. */
	assert_int_equal(take(f->c, "k", t), 21);
	assert_int_equal(take(f->c, "k", t + 10000), 11);
	/* One token every 20 s. */
	assert_int_equal(take(f->c, "k", t + 20000), 0);
	assert_int_equal(take(f->c, "k", t + 20000), 21);
	/* Another key, and another name, have buckets of their own. */
	assert_int_equal(take(f->c, "j", t), 0);
	{
		int wait = -1;

		assert_int_equal(
			store_limit_take(f->c, "m", "k", 1, 60, t, &wait), 0);
		assert_int_equal(wait, 0);
	}
	/* A bucket left alone for the whole period is full again. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(take(f->c, "k", t + 80000), 0);
	assert_int_equal(take(f->c, "k", t + 80000), 21);
}

/*
 * Adds (requests, successes) to (prefix, scope) in the window starting at
 * `window` and checks the window's totals that come back.
 */
static void count(struct store_tx *c, const char *prefix, int64_t scope,
		  int64_t window, int requests, int successes,
		  int64_t want_requests, int64_t want_successes)
{
	int64_t req = -1, ok = -1;

	assert_int_equal(store_prefix_stats_add(c, prefix, scope, window,
						requests, successes, &req, &ok),
			 0);
	assert_int_equal(req, want_requests);
	assert_int_equal(ok, want_successes);
}

static void test_statistics_count_per_window(void **state)
{
	struct store_fixture *f = *state;

	count(f->c, "9198", 0, 3600000, 1, 0, 1, 0);
	count(f->c, "9198", 0, 3600000, 1, 0, 2, 0);
	count(f->c, "9198", 0, 3600000, 0, 1, 2, 1);
	/* A scope (publishable key 7) counts apart. */
	count(f->c, "9198", 7, 3600000, 1, 0, 1, 0);
	/* A new window starts from zero... */
	count(f->c, "9198", 0, 7200000, 1, 0, 1, 0);
	/* ...and a late write for the old one counts in the new one. */
	count(f->c, "9198", 0, 3600000, 0, 1, 1, 1);
}

static void test_the_sweep_deletes_what_is_spent(void **state)
{
	struct store_fixture *f = *state;
	int64_t n = -1;

	assert_int_equal(take(f->c, "a", 0), 0);
	assert_int_equal(take(f->c, "b", 50000), 0);
	count(f->c, "91", 0, 0, 1, 0, 1, 0);
	count(f->c, "92", 0, 3600000, 1, 0, 1, 0);
	/* At 30 s "a" is full again (one token back after 20 s), "b" not. */
	assert_int_equal(store_cluster_sweep(f->c, 30000, 3600000, &n), 0);
	assert_int_equal(n, 2);
	/* "b" still remembers its take; "92" its request. */
	assert_int_equal(take(f->c, "b", 50000), 0);
	assert_int_equal(take(f->c, "b", 50000), 0);
	assert_int_equal(take(f->c, "b", 50000), 21);
	count(f->c, "92", 0, 3600000, 1, 0, 2, 0);
}

static void test_a_backoff_is_kept_per_key_and_swept_once_decayed(void **state)
{
	struct store_fixture *f = *state;
	struct resend_backoff b = {2, 1000, 9000};
	struct resend_backoff got = {7, 7, 7};
	int64_t n = -1;

	/* None yet: all zeros. */
	assert_int_equal(store_backoff_get(f->c, 1, "tag", &got), 0);
	assert_int_equal(got.count, 0);
	assert_int_equal(got.next_ms, 0);
	assert_int_equal(store_backoff_put(f->c, 1, "tag", &b), 0);
	b.count = 3;
	b.last_ms = 2000;
	b.next_ms = 20000;
	assert_int_equal(store_backoff_put(f->c, 1, "tag", &b), 0);
	assert_int_equal(store_backoff_get(f->c, 1, "tag", &got), 0);
	assert_int_equal(got.count, 3);
	assert_int_equal(got.last_ms, 2000);
	assert_int_equal(got.next_ms, 20000);
	/* Another key's backoff of the same number is its own. */
	assert_int_equal(store_backoff_get(f->c, 2, "tag", &got), 0);
	assert_int_equal(got.count, 0);
	/* Decayed but its wait not over: kept; both over: gone. */
	assert_int_equal(store_backoff_sweep(f->c, 5000, 10000, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_backoff_sweep(f->c, 5000, 30000, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_backoff_get(f->c, 1, "tag", &got), 0);
	assert_int_equal(got.count, 0);
}

static void test_sqlite_is_not_shared_and_answers_a_ping(void **state)
{
	struct store_fixture *f = *state;
	struct store_tx *r;

	assert_int_equal(store_is_shared(), 0);
	store_readers_init(f->path);
	r = store_reader();
	assert_non_null(r);
	assert_int_equal(store_ping(), 0);
	store_readers_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_a_setting_is_claimed_once_then_compared,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_bucket_allows_its_burst_then_refills,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_statistics_count_per_window, fixture_setup,
			fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_the_sweep_deletes_what_is_spent, fixture_setup,
			fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_backoff_is_kept_per_key_and_swept_once_decayed,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_sqlite_is_not_shared_and_answers_a_ping,
			fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
