/*
 * Unit tests of the token-bucket limiter: burst, refill over time,
 * Retry-After, independent keys, eviction under many keys, and the
 * disabled limiter.
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

	/* Far more keys than slots: new keys evict stale ones, never fail. */
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(key, sizeof(key), "ip-%d", i);

		refused += limiter_take(l, key, (size_t)n, T0 + i) != 0;
	}
	assert_int_equal(refused, 0);
	/* A key used just now is still remembered. */
	assert_true(limiter_take(l, "ip-99999", 8, T0 + 100000) > 0);
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
		cmocka_unit_test(test_disabled_limiter_allows_everything),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
