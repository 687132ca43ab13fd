/*
 * Unit tests of a node's lease on a shared bucket's tokens: one token a
 * request for a quiet key or a small bucket, batches as large as the last
 * window's requests and at most a thousandth of the count, one batch at a
 * time, held for two windows, given back, one at a time after a refusal,
 * and keys that share a slot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "bucket_lease.h"

/* The start of a window. */
#define T0 (1000000LL * BUCKET_LEASE_MS)

static int setup(void **state)
{
	(void)state;
	bucket_lease_init(1000000);
	return 0;
}

/* n requests for key at `at`, none of which found a held token. */
static void requests(const char *key, int n, int64_t at)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(bucket_lease_spend(key, at), 0);
}

static void test_a_quiet_key_takes_one_token(void **state)
{
	(void)state;
	requests("9198765", 1, T0);
	assert_int_equal(bucket_lease_want("9198765", T0), 1);
	/* A key never seen, too. */
	assert_int_equal(bucket_lease_want("9100000", T0), 1);
}

static void test_a_busy_key_takes_what_it_saw(void **state)
{
	(void)state;
	requests("9198765", 5, T0);
	assert_int_equal(bucket_lease_want("9198765", T0 + 1), 5);
	bucket_lease_keep("9198765", 4, T0 + 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(bucket_lease_spend("9198765", T0 + 2), 1);
	assert_int_equal(bucket_lease_spend("9198765", T0 + 2), 0);
	/* Another key holds nothing. */
	assert_int_equal(bucket_lease_spend("9198766", T0 + 2), 0);
}

static void test_one_batch_is_asked_at_a_time(void **state)
{
	(void)state;
	requests("9198765", 5, T0);
	assert_int_equal(bucket_lease_want("9198765", T0), 5);
	/* Until its answer, the node's other requests take one each. */
	assert_int_equal(bucket_lease_want("9198765", T0 + 1), 1);
	bucket_lease_keep("9198765", 0, T0 + 2); /* it took none */
	assert_int_equal(bucket_lease_want("9198765", T0 + 2), 5);
	/* An answer that never comes holds the next batch for a window. */
	assert_int_equal(bucket_lease_want("9198765", T0 + 1 + BUCKET_LEASE_MS),
			 1);
	assert_int_equal(bucket_lease_want("9198765", T0 + 2 + BUCKET_LEASE_MS),
			 5);
}

static void test_the_last_window_counts_the_one_before_does_not(void **state)
{
	(void)state;
	requests("9198765", 7, T0);
	/* The first request of the next window still takes 7. */
	requests("9198765", 1, T0 + BUCKET_LEASE_MS);
	assert_int_equal(bucket_lease_want("9198765", T0 + BUCKET_LEASE_MS), 7);
	/* After a window without requests, one. */
	requests("9198765", 1, T0 + 3 * BUCKET_LEASE_MS);
	assert_int_equal(bucket_lease_want("9198765", T0 + 3 * BUCKET_LEASE_MS),
			 1);
}

static void test_tokens_are_held_for_two_windows(void **state)
{
	int64_t end = T0 + 50 + 2 * BUCKET_LEASE_MS;

	(void)state;
	bucket_lease_keep("9198765", 10, T0 + 50);
	assert_int_equal(bucket_lease_spend("9198765", end - 1), 1);
	/* The other 9 are gone. */
	assert_int_equal(bucket_lease_spend("9198765", end), 0);
}

static void test_a_token_given_back_is_spent_again(void **state)
{
	(void)state;
	bucket_lease_keep("9198765", 1, T0);
	assert_int_equal(bucket_lease_spend("9198765", T0), 1);
	bucket_lease_unspend("9198765", T0);
	assert_int_equal(bucket_lease_spend("9198765", T0), 1);
	assert_int_equal(bucket_lease_spend("9198765", T0), 0);
	/* Given back after the lease ended, it is not held. */
	bucket_lease_unspend("9198765", T0 + 2 * BUCKET_LEASE_MS);
	assert_int_equal(
		bucket_lease_spend("9198765", T0 + 2 * BUCKET_LEASE_MS), 0);
}

static void test_a_batch_is_a_thousandth_of_the_count_at_most(void **state)
{
	(void)state;
	bucket_lease_init(3999);
	requests("9198765", 10, T0);
	assert_int_equal(bucket_lease_want("9198765", T0), 3);
	/* Under 2,000 a period: one token a request, however busy. */
	bucket_lease_init(1999);
	requests("9198765", 10, T0);
	assert_int_equal(bucket_lease_want("9198765", T0), 1);
	bucket_lease_init(0);
	requests("9198765", 10, T0);
	assert_int_equal(bucket_lease_want("9198765", T0), 1);
}

static void test_a_refusal_takes_one_at_a_time_for_a_window(void **state)
{
	(void)state;
	requests("9198765", 5, T0);
	assert_int_equal(bucket_lease_want("9198765", T0), 5);
	bucket_lease_keep("9198765", 1, T0);
	bucket_lease_refused("9198765", T0 + 10);
	assert_int_equal(bucket_lease_want("9198765", T0 + 10), 1);
	/* What it held is still spent. */
	assert_int_equal(bucket_lease_spend("9198765", T0 + 10), 1);
	assert_int_equal(bucket_lease_spend("9198765", T0 + 10), 0);
	requests("9198765", 3, T0 + 10 + BUCKET_LEASE_MS - 1);
	assert_int_equal(
		bucket_lease_want("9198765", T0 + 10 + BUCKET_LEASE_MS - 1), 1);
	/* Then the busier of the two windows: 7 before, 3 in this one. */
	assert_int_equal(
		bucket_lease_want("9198765", T0 + 10 + BUCKET_LEASE_MS), 7);
}

/*
 * A key that shares the slot of "9198765", found by how it behaves: each
 * key is tried at a time when the slots of the keys tried before are idle,
 * and only the mate then finds its slot busy.  Returns that time.
 */
static int64_t slot_mate(char *out, size_t len)
{
	for (int i = 0; i < 100 * BUCKET_LEASE_SLOTS; i++) {
		int64_t at = T0 + 3LL * BUCKET_LEASE_MS * i;

		bucket_lease_keep("9198765", 5, at);
		snprintf(out, len, "%d", 9100000 + i);
		bucket_lease_keep(out, 1, at);
		if (!bucket_lease_spend(out, at))
			return at;
	}
	fail_msg("no key shares a slot with 9198765");
	return 0;
}

static void test_a_busy_slot_is_not_taken_by_another_key(void **state)
{
	char mate[16];
	int64_t at, idle;

	(void)state;
	at = slot_mate(mate, sizeof(mate));
	/* The mate gets no lease, and the holder keeps its tokens. */
	assert_int_equal(bucket_lease_want(mate, at), 1);
	assert_int_equal(bucket_lease_spend("9198765", at), 1);
	/* Two windows without a request or a token held: the slot is free. */
	idle = at + 2 * BUCKET_LEASE_MS;
	bucket_lease_keep(mate, 1, idle);
	assert_int_equal(bucket_lease_spend(mate, idle), 1);
	assert_int_equal(bucket_lease_spend("9198765", idle), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_a_quiet_key_takes_one_token, setup),
		cmocka_unit_test_setup(test_a_busy_key_takes_what_it_saw,
				       setup),
		cmocka_unit_test_setup(test_one_batch_is_asked_at_a_time,
				       setup),
		cmocka_unit_test_setup(
			test_the_last_window_counts_the_one_before_does_not,
			setup),
		cmocka_unit_test_setup(test_tokens_are_held_for_two_windows,
				       setup),
		cmocka_unit_test_setup(test_a_token_given_back_is_spent_again,
				       setup),
		cmocka_unit_test_setup(
			test_a_batch_is_a_thousandth_of_the_count_at_most,
			setup),
		cmocka_unit_test_setup(
			test_a_refusal_takes_one_at_a_time_for_a_window, setup),
		cmocka_unit_test_setup(
			test_a_busy_slot_is_not_taken_by_another_key, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
