/*
 * Unit tests of the readers' cache (store_cache.c): a row put is read back
 * until it is cleared or its time ends, a missing row can be cached as
 * missing, names share slots without reading each other's rows, and what
 * does not fit an entry is never kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store_cache.h"

struct row {
	int64_t id;
	char text[32];
};

static struct store_cache_entry slots[4];
static struct store_cache cache = STORE_CACHE_INIT(slots);

static int reset(void **state)
{
	store_cache_clear(&cache);
	return 0;
}

static struct row row_of(int64_t id)
{
	struct row r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	snprintf(r.text, sizeof(r.text), "row %lld", (long long)id);
	return r;
}

static void test_a_row_put_is_read_back_until_cleared(void **state)
{
	struct row in = row_of(7), out;
	int found = -1;

	assert_int_equal(
		store_cache_get(&cache, "k7", &out, sizeof(out), &found), 0);
	store_cache_put(&cache, "k7", &in, sizeof(in), 1);
	memset(&out, 0, sizeof(out));
	assert_int_equal(
		store_cache_get(&cache, "k7", &out, sizeof(out), &found), 1);
	assert_int_equal(found, 1);
	assert_memory_equal(&out, &in, sizeof(in));
	store_cache_clear(&cache);
	assert_int_equal(
		store_cache_get(&cache, "k7", &out, sizeof(out), &found), 0);
}

static void test_a_missing_row_is_cached_as_missing(void **state)
{
	struct row out = row_of(1);
	int found = -1;

	store_cache_put(&cache, "gone", NULL, sizeof(out), 0);
	assert_int_equal(
		store_cache_get(&cache, "gone", &out, sizeof(out), &found), 1);
	assert_int_equal(found, 0);
	assert_int_equal(out.id, 1); /* nothing copied */
}

/* More names than slots: each reads its own row or nothing, never another. */
static void test_names_sharing_a_slot_never_read_each_other(void **state)
{
	char name[16];
	struct row out;
	int found, hits = 0;

	for (int i = 0; i < 16; i++) {
		struct row in = row_of(i);

		snprintf(name, sizeof(name), "key-%d", i);
		store_cache_put(&cache, name, &in, sizeof(in), 1);
	}
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "key-%d", i);
		if (store_cache_get(&cache, name, &out, sizeof(out), &found)) {
			assert_int_equal(found, 1);
			assert_int_equal(out.id, i);
			hits++;
		}
	}
	/* The last name put in each used slot is still there. */
	assert_in_range(hits, 1, 4);
}

static void test_what_does_not_fit_is_not_kept(void **state)
{
	char long_name[STORE_CACHE_NAME_MAX + 1];
	unsigned char big[STORE_CACHE_DATA_MAX + 1] = {1};
	struct row in = row_of(3), out;
	int found;

	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	store_cache_put(&cache, long_name, &in, sizeof(in), 1);
	assert_int_equal(store_cache_get(&cache, long_name, &out, sizeof(out),
					 &found),
			 0);
	store_cache_put(&cache, "big", big, sizeof(big), 1);
	assert_int_equal(
		store_cache_get(&cache, "big", big, sizeof(big), &found), 0);
}

static void test_an_entry_ends_after_its_time(void **state)
{
	struct row in = row_of(9), out;
	const long wait_ms = STORE_CACHE_TTL_MS + 100;
	struct timespec pause = {wait_ms / 1000, wait_ms % 1000 * 1000000L};
	int found;

	store_cache_put(&cache, "k9", &in, sizeof(in), 1);
	assert_int_equal(
		store_cache_get(&cache, "k9", &out, sizeof(out), &found), 1);
	nanosleep(&pause, NULL);
	assert_int_equal(
		store_cache_get(&cache, "k9", &out, sizeof(out), &found), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			test_a_row_put_is_read_back_until_cleared, reset),
		cmocka_unit_test_setup(test_a_missing_row_is_cached_as_missing,
				       reset),
		cmocka_unit_test_setup(
			test_names_sharing_a_slot_never_read_each_other, reset),
		cmocka_unit_test_setup(test_what_does_not_fit_is_not_kept,
				       reset),
		cmocka_unit_test_setup(test_an_entry_ends_after_its_time,
				       reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
