/*
 * Allocation-failure torture (in the manner of curl's): every allocation
 * our own code makes while parsing parameters, growing buffers or creating
 * limiters is made to fail in turn, and each call must fail cleanly
 * (KV_ENOMEM or NULL), leave its object usable and leak nothing (the
 * sanitizer build checks the leaks).  The linker wraps malloc, calloc and
 * realloc for this test only (see the Makefile).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "err.h"
#include "params.h"
#include "ratelimit.h"
#include "util.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

/* -1: never fail; k >= 0: the k-th allocation from now fails. */
static long fail_at = -1;
static long seen;

static int should_fail(void)
{
	return fail_at >= 0 && seen++ == fail_at;
}

void *__wrap_malloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : __real_realloc(p, n);
}

static void arm(long k)
{
	seen = 0;
	fail_at = k;
}

static void disarm(void)
{
	fail_at = -1;
}

static void test_params_query_every_allocation(void **state)
{
	static const char q[] = "api_key=k&api_secret=s&number=919812345678"
				"&brand=My%20App&request_ids=a&request_ids=b";
	int failures = 0;

	for (long k = 0; k < 64; k++) {
		struct params p;
		int rc;

		params_init(&p);
		arm(k);
		rc = params_parse_query(&p, q, strlen(q));
		disarm();
		if (rc == 0) {
			/* Past the last allocation: the whole table is there. */
			assert_int_equal(p.count, 6);
			assert_string_equal(params_get(&p, "brand"), "My App");
			params_release(&p);
			break;
		}
		failures++;
		assert_int_equal(rc, KV_ENOMEM);
		/* A failed parse leaves the table as it was: empty. */
		assert_int_equal(p.count, 0);
		params_release(&p);
	}
	assert_true(failures >= 6); /* one allocation per parameter at least */
}

static void test_params_form_appends_after_query(void **state)
{
	for (long k = 0; k < 16; k++) {
		struct params p;
		int rc;

		params_init(&p);
		assert_int_equal(params_parse_query(&p, "a=1", 3), 0);
		arm(k);
		rc = params_parse_form(&p, "b=2&c=3", 7);
		disarm();
		if (rc == 0) {
			assert_int_equal(p.count, 3);
			params_release(&p);
			return;
		}
		assert_int_equal(rc, KV_ENOMEM);
		assert_int_equal(p.count, 1); /* the query's parameter stays */
		assert_string_equal(params_get(&p, "a"), "1");
		params_release(&p);
	}
	fail();
}

static void test_basic_auth_every_allocation(void **state)
{
	/* "user:pass" */
	static const char header[] = "Basic dXNlcjpwYXNz";

	for (long k = 0; k < 16; k++) {
		char *user = NULL, *pass = NULL;
		int rc;

		arm(k);
		rc = params_parse_basic_auth(header, &user, &pass);
		disarm();
		if (rc == 0) {
			assert_string_equal(user, "user");
			assert_string_equal(pass, "pass");
			free(user);
			free(pass);
			return;
		}
		assert_null(user);
		assert_null(pass);
	}
	fail();
}

static void test_buf_growth_every_allocation(void **state)
{
	char chunk[300];

	memset(chunk, 'x', sizeof(chunk));
	for (long k = 0; k < 8; k++) {
		struct buf b;
		int rc = 0;

		buf_init(&b, 1 << 20);
		arm(k);
		for (int i = 0; i < 20 && rc == 0; i++)
			rc = buf_append(&b, chunk, sizeof(chunk));
		disarm();
		if (rc == 0) {
			assert_int_equal(b.len, 20 * sizeof(chunk));
			buf_release(&b);
			return;
		}
		assert_int_equal(rc, KV_ENOMEM);
		/* What was appended before the failure is intact. */
		for (size_t i = 0; i < b.len; i++)
			assert_int_equal(b.data[i], 'x');
		assert_true(b.len % sizeof(chunk) == 0);
		buf_release(&b);
	}
	fail();
}

static void test_limiter_creation_fails_cleanly(void **state)
{
	arm(0);
	assert_null(limiter_new(5, 60));
	disarm();
	struct limiter *l = limiter_new(5, 60);

	assert_non_null(l);
	assert_int_equal(limiter_take(l, "k", 1, 1000), 0);
	limiter_free(l);
}

static int setup(void **state)
{
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_query_every_allocation),
		cmocka_unit_test(test_params_form_appends_after_query),
		cmocka_unit_test(test_basic_auth_every_allocation),
		cmocka_unit_test(test_buf_growth_every_allocation),
		cmocka_unit_test(test_limiter_creation_fails_cleanly),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
