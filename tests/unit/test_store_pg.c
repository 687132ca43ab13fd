/*
 * Unit tests of the PostgreSQL backend's pure helpers (src/store_pg.c):
 * statement parameters as libpq receives them, and the column readers on
 * results built in memory with libpq's own PQsetvalue (no server), above
 * all the decoding of bytea's hex text form, and pg_locking.  What needs a
 * server (statements, errors, the writer) is tested by the integration
 * tests on a real PostgreSQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store_pg.h"

static void test_params_number_text_bytea(void **state)
{
	static const unsigned char blob[] = {0x00, 0xff, 0x10};
	const char *word = "hello";
	struct pg_params p;

	(void)state;
	pg_params_init(&p);
	pg_param_int(&p, -9007199254740993LL);
	pg_param_text(&p, word);
	pg_param_text(&p, NULL);
	pg_param_bytea(&p, blob, sizeof(blob));
	pg_param_bytea(&p, NULL, 0);
	assert_int_equal(p.n, 5);
	assert_string_equal(p.values[0], "-9007199254740993");
	assert_int_equal(p.formats[0], 0);
	/* Texts are referenced, not copied. */
	assert_ptr_equal(p.values[1], word);
	assert_string_equal(p.values[2], "");
	/* bytea goes in binary, its length given, NUL bytes and all. */
	assert_int_equal(p.formats[3], 1);
	assert_int_equal(p.lengths[3], 3);
	assert_memory_equal(p.values[3], blob, sizeof(blob));
	assert_int_equal(p.formats[4], 1);
	assert_int_equal(p.lengths[4], 0);
	assert_non_null(p.values[4]);
}

static void test_params_past_the_cap_are_dropped(void **state)
{
	struct pg_params p;
	char last[16];

	(void)state;
	pg_params_init(&p);
	for (int i = 0; i < PG_PARAMS_MAX + 3; i++)
		pg_param_int(&p, i);
	/* The statement then fails on its parameter count, never overflows. */
	assert_int_equal(p.n, PG_PARAMS_MAX);
	snprintf(last, sizeof(last), "%d", PG_PARAMS_MAX - 1);
	assert_string_equal(p.values[PG_PARAMS_MAX - 1], last);
}

/* A one-row result of text columns holding `values` (NULL: SQL NULL). */
static PGresult *result_of(const char *const *values, int n)
{
	static char name[] = "c";
	PGresAttDesc attrs[8];
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

	assert_non_null(res);
	assert_true(n <= 8);
	memset(attrs, 0, sizeof(attrs));
	for (int i = 0; i < n; i++) {
		attrs[i].name = name;
		attrs[i].typlen = -1;
		attrs[i].atttypmod = -1;
	}
	assert_int_equal(PQsetResultAttrs(res, n, attrs), 1);
	for (int i = 0; i < n; i++) {
		/* PQsetvalue copies; it only wants a mutable pointer. */
		char copy[64] = "";
		int len = values[i] ? (int)strlen(values[i]) : -1;

		assert_true(len < (int)sizeof(copy));
		if (len > 0)
			memcpy(copy, values[i], (size_t)len);
		assert_int_equal(PQsetvalue(res, 0, i, copy, len), 1);
	}
	return res;
}

static void test_get_int_and_text(void **state)
{
	static const char *const v[] = {"1733390000123", NULL, "abcdef", ""};
	PGresult *res = result_of(v, 4);
	char small[4];
	char big[16];

	(void)state;
	assert_int_equal(pg_get_int(res, 0, 0), 1733390000123LL);
	assert_int_equal(pg_get_int(res, 0, 1), 0); /* NULL reads as 0 */
	pg_get_text(res, 0, 2, small, sizeof(small));
	assert_string_equal(small, "abc"); /* cut to fit, terminated */
	pg_get_text(res, 0, 2, big, sizeof(big));
	assert_string_equal(big, "abcdef");
	pg_get_text(res, 0, 1, big, sizeof(big));
	assert_string_equal(big, "");
	pg_get_text(res, 0, 3, big, sizeof(big));
	assert_string_equal(big, "");
	PQclear(res);
}

static void test_get_bytea_decodes_hex(void **state)
{
	static const char *const v[] = {"\\x00ff10Ab", "\\x", "\\x0g", "00ff",
					"\\x001"};
	PGresult *res = result_of(v, 5);
	unsigned char out[4];
	unsigned char var[8];

	(void)state;
	pg_get_bytea(res, 0, 0, out, sizeof(out));
	assert_memory_equal(out, "\x00\xff\x10\xab", 4);
	assert_int_equal(pg_get_bytea_var(res, 0, 0, var, sizeof(var)), 4);
	assert_memory_equal(var, "\x00\xff\x10\xab", 4);
	/* Empty bytea: no bytes; a fixed-size read of it gives zeroes. */
	assert_int_equal(pg_get_bytea_var(res, 0, 1, var, sizeof(var)), 0);
	memset(out, 0x55, sizeof(out));
	pg_get_bytea(res, 0, 1, out, sizeof(out));
	assert_memory_equal(out, "\0\0\0\0", 4);
	/* Not hex, not the \x form, odd length: zeroes / 0, never garbage. */
	for (int col = 2; col < 5; col++) {
		memset(out, 0x55, sizeof(out));
		pg_get_bytea(res, 0, col, out, 1);
		assert_int_equal(out[0], 0);
		assert_int_equal(pg_get_bytea_var(res, 0, col, var, 8), 0);
	}
	PQclear(res);
}

static void test_get_bytea_longer_than_the_buffer(void **state)
{
	static const char *const v[] = {"\\x0102030405"};
	PGresult *res = result_of(v, 1);
	unsigned char out[4];

	(void)state;
	/* Five bytes do not fit four: nothing is copied. */
	assert_int_equal(pg_get_bytea_var(res, 0, 0, out, sizeof(out)), 0);
	memset(out, 0x55, sizeof(out));
	pg_get_bytea(res, 0, 0, out, sizeof(out));
	assert_memory_equal(out, "\0\0\0\0", 4);
	PQclear(res);
}

static void test_locking_only_on_a_writer_in_its_transaction(void **state)
{
	struct store_tx c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_string_equal(pg_locking(&c, "plain", "locking"), "plain");
	c.in_write = 1;
	assert_string_equal(pg_locking(&c, "plain", "locking"), "locking");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_number_text_bytea),
		cmocka_unit_test(test_params_past_the_cap_are_dropped),
		cmocka_unit_test(test_get_int_and_text),
		cmocka_unit_test(test_get_bytea_decodes_hex),
		cmocka_unit_test(test_get_bytea_longer_than_the_buffer),
		cmocka_unit_test(
			test_locking_only_on_a_writer_in_its_transaction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
