/*
 * Unit tests of the token-bucket limiter: burst, refill over time,
 * Retry-After, independent keys, floods of keys that cannot make the table
 * forget a throttled key, junk charges, and the disabled limiter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "ratelimit.h"

#define T0 1000000000LL

static void test_burst_then_throttled(void **state)
{
	struct limiter *l = limiter_new(3, 1);

	assert_non_null(l);
	for (int i = 0; i < 3; i++)
		assert_int_equal(limiter_take(l, "k", 1, T0), 0);
	assert_int_equal(limiter_take(l, "k", 1, T0), 1);
	/* A third of a second brings back one token at 3 per second. */
	assert_int_equal(limiter_take(l, "k", 1, T0 + 340), 0);
	assert_int_equal(limiter_take(l, "k", 1, T0 + 340), 1);
	limiter_free(l);
}

static void test_retry_after_counts_whole_seconds(void **state)
{
	struct limiter *l = limiter_new(5, 600); /* 5 per 10 minutes */

	for (int i = 0; i < 5; i++)
		assert_int_equal(limiter_take(l, "n", 1, T0), 0);
	/* One token every 120 s. */
	assert_int_equal(limiter_take(l, "n", 1, T0), 121);
	assert_int_equal(limiter_take(l, "n", 1, T0 + 60000), 61);
	assert_int_equal(limiter_take(l, "n", 1, T0 + 120000), 0);
	limiter_free(l);
}

static void test_peek_counts_nothing(void **state)
{
	struct limiter *l = limiter_new(2, 60); /* one token every 30 s */

	/* Looking at an unknown key, or a full one, many times costs nothing. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(limiter_peek(l, "p", 1, T0), 0);
	assert_int_equal(limiter_take(l, "p", 1, T0), 0);
	assert_int_equal(limiter_peek(l, "p", 1, T0), 0);
	assert_int_equal(limiter_take(l, "p", 1, T0), 0);
	/* Empty: peek tells the same wait as a take would. */
	assert_int_equal(limiter_peek(l, "p", 1, T0), 31);
	assert_int_equal(limiter_peek(l, "p", 1, T0 + 10500), 20);
	assert_int_equal(limiter_take(l, "p", 1, T0 + 10500), 20);
	assert_int_equal(limiter_peek(l, "p", 1, T0 + 30000), 0);
	assert_int_equal(limiter_peek(NULL, "p", 1, T0), 0);
	limiter_free(l);
}

static void test_keys_are_independent(void **state)
{
	struct limiter *l = limiter_new(1, 60);

	assert_int_equal(limiter_take(l, "a", 1, T0), 0);
	assert_true(limiter_take(l, "a", 1, T0) > 0);
	assert_int_equal(limiter_take(l, "b", 1, T0), 0);
	/* Keys are bytes: "ab" is not "a". */
	assert_int_equal(limiter_take(l, "ab", 2, T0), 0);
	limiter_free(l);
}

static void test_many_keys_stay_bounded(void **state)
{
	struct limiter *l = limiter_new(1, 3600);
	char key[32];
	int refused = 0;

	/*
	 * Far more keys than slots, one a millisecond apart: each fills its
	 * bucket's only token, so none may be given away for an hour.  The
	 * table takes what fits and refuses the rest; it never grows.
	 */
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(key, sizeof(key), "ip-%d", i);

		refused += limiter_take(l, key, (size_t)n, T0 + i) != 0;
	}
	assert_true(refused >= 100000 - LIMITER_SLOTS_DEFAULT);
	assert_true(refused < 100000);
	/* An hour on, every bucket is full again and gives its slot away. */
	refused = 0;
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(key, sizeof(key), "later-%d", i);

		refused += limiter_take(l, key, (size_t)n,
					T0 + 3600 * 1000LL + 100000) != 0;
	}
	assert_int_equal(refused, 0);
	limiter_free(l);
}

/*
 * The attack of issue 11: flood the table with other keys until the slot of
 * a key that is over its limit is taken, which resets its window.  The
 * smallest table (512 slots) and ten times as many keys.
 */
static void test_flood_keeps_a_throttled_key(void **state)
{
	struct limiter *l = limiter_new_sized(5, 600, 1); /* 512 slots */
	char key[32];
	int refused = 0, wait;

	assert_non_null(l);
	for (int i = 0; i < 5; i++)
		assert_int_equal(limiter_take(l, "victim", 6, T0), 0);
	assert_int_equal(limiter_take(l, "victim", 6, T0), 121);
	for (int i = 0; i < 5120; i++) {
		int n = snprintf(key, sizeof(key), "flood-%d", i);

		refused += limiter_take(l, key, (size_t)n, T0 + 1 + i) != 0;
	}
	/* The table was full: newcomers were refused, with a Retry-After. */
	assert_true(refused > 5120 - 512);
	/* And the victim is exactly where it was, a few seconds later. */
	wait = limiter_take(l, "victim", 6, T0 + 5200);
	assert_int_equal(wait, 115); /* 5.2 s of 120 s refilled */
	limiter_free(l);
}

/* A key at its last token, not over its limit, is kept too. */
static void test_flood_keeps_a_key_near_its_limit(void **state)
{
	struct limiter *l = limiter_new_sized(5, 600, 512);
	char key[32];

	for (int i = 0; i < 4; i++)
		assert_int_equal(limiter_take(l, "near", 4, T0), 0);
	for (int i = 0; i < 5120; i++) {
		int n = snprintf(key, sizeof(key), "flood-%d", i);

		(void)limiter_take(l, key, (size_t)n, T0 + 1 + i);
	}
	assert_int_equal(limiter_take(l, "near", 4, T0 + 5200), 0);
	assert_true(limiter_take(l, "near", 4, T0 + 5200) > 0);
	limiter_free(l);
}

/*
 * A refused newcomer is told when a slot frees: the first bucket of its
 * neighbourhood to be full again.  At 1 per 60 s, a spent bucket is full
 * 60 s after its one take.
 */
static void test_full_table_tells_when_to_retry(void **state)
{
	struct limiter *l = limiter_new_sized(1, 60, 512);
	char key[32];
	int wait = 0;

	for (int i = 0; i < 100000 && !wait; i++) {
		int n = snprintf(key, sizeof(key), "k-%d", i);

		wait = limiter_take(l, key, (size_t)n, T0);
	}
	assert_int_equal(wait, 61);
	/*
	 * A peek tells the same, counting nothing: a check before the event
	 * (failed logins) must not take a key it cannot count as allowed.
	 */
	assert_int_equal(limiter_peek(l, key, strlen(key), T0), 61);
	assert_int_equal(limiter_peek(l, key, strlen(key), T0 + 30000), 31);
	/* Once the time has passed, the same newcomer gets a slot. */
	assert_int_equal(limiter_take(l, key, strlen(key), T0 + 60000), 0);
	limiter_free(l);
}

/* Charges for junk put a key into debt, bounded by one burst. */
static void test_charge_goes_into_bounded_debt(void **state)
{
	struct limiter *l = limiter_new(2, 2); /* one token a second */

	assert_int_equal(limiter_take(l, "j", 1, T0), 0);
	/* One token left, four charged: three in debt, four seconds. */
	assert_int_equal(limiter_charge(l, "j", 1, 4, T0), 4);
	assert_int_equal(limiter_take(l, "j", 1, T0), 4);
	/* However much more junk, the debt stops at one burst (2 tokens). */
	assert_int_equal(limiter_charge(l, "j", 1, 1000, T0), 4);
	assert_int_equal(limiter_take(l, "j", 1, T0 + 3000), 0);
	/* A charge of 0 (or less) changes nothing. */
	assert_int_equal(limiter_charge(l, "q", 1, 0, T0), 0);
	assert_int_equal(limiter_charge(l, "q", 1, -5, T0), 0);
	assert_int_equal(limiter_take(l, "q", 1, T0), 0);
	assert_int_equal(limiter_charge(NULL, "q", 1, 5, T0), 0);
	limiter_free(l);
}

static void test_disabled_limiter_allows_everything(void **state)
{
	struct limiter *l = limiter_new(0, 1);

	assert_null(l);
	for (int i = 0; i < 100; i++)
		assert_int_equal(limiter_take(l, "k", 1, T0), 0);
	limiter_free(l);
}

static int setup(void **state)
{
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_throttled),
		cmocka_unit_test(test_retry_after_counts_whole_seconds),
		cmocka_unit_test(test_peek_counts_nothing),
		cmocka_unit_test(test_keys_are_independent),
		cmocka_unit_test(test_many_keys_stay_bounded),
		cmocka_unit_test(test_flood_keeps_a_throttled_key),
		cmocka_unit_test(test_flood_keeps_a_key_near_its_limit),
		cmocka_unit_test(test_full_table_tells_when_to_retry),
		cmocka_unit_test(test_charge_goes_into_bounded_debt),
		cmocka_unit_test(test_disabled_limiter_allows_everything),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
