/*
 * Table-driven cmocka tests.  A table is an array of rows whose first member
 * is `const char *name`.  table_add_rows() makes each row its own cmocka
 * test, named "RUNNER: ROW", whose state is the row, so that a failing
 * assertion names its case and one bad row does not hide the others.
 */
#ifndef KV_TEST_TABLE_H
#define KV_TEST_TABLE_H

#include <stdio.h>
#include <stdlib.h>

#define TABLE_TESTS_MAX 256
#define TABLE_NAME_MAX 112

struct table_tests {
	struct CMUnitTest tests[TABLE_TESTS_MAX];
	char names[TABLE_TESTS_MAX][TABLE_NAME_MAX];
	size_t count;
};

/* Too many tests is a mistake in the test file: say so and stop. */
static inline struct CMUnitTest *table_next(struct table_tests *t)
{
	if (t->count >= TABLE_TESTS_MAX) {
		fprintf(stderr,
			"table.h: more than %d tests: raise "
			"TABLE_TESTS_MAX\n",
			TABLE_TESTS_MAX);
		exit(1);
	}
	return &t->tests[t->count++];
}

/* Adds tests written out one by one (cmocka_unit_test and friends). */
static inline void table_add_tests(struct table_tests *t,
				   const struct CMUnitTest *tests, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*table_next(t) = tests[i];
}

/* Adds one test per row of `rows` (n rows of row_size bytes each). */
static inline void table_add_rows(struct table_tests *t, const char *runner,
				  CMUnitTestFunction fn,
				  CMFixtureFunction setup,
				  CMFixtureFunction teardown, void *rows,
				  size_t row_size, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *row = (char *)rows + i * row_size;
		char *name = t->names[t->count];
		struct CMUnitTest *test = table_next(t);

		snprintf(name, TABLE_NAME_MAX, "%s: %s", runner,
			 *(const char **)row);
		test->name = name;
		test->test_func = fn;
		test->setup_func = setup;
		test->teardown_func = teardown;
		test->initial_state = row;
	}
}

#define TABLE_ADD(t, fn, rows)                                                 \
	table_add_rows((t), #fn, (fn), NULL, NULL, (rows), sizeof((rows)[0]),  \
		       sizeof(rows) / sizeof((rows)[0]))

#define TABLE_ADD_FIXTURE(t, fn, rows, setup, teardown)                        \
	table_add_rows((t), #fn, (fn), (setup), (teardown), (rows),            \
		       sizeof((rows)[0]), sizeof(rows) / sizeof((rows)[0]))

/* cmocka_run_group_tests() wants an array whose size it can take. */
static inline int table_run(const struct table_tests *t)
{
	return _cmocka_run_group_tests("tests", t->tests, t->count, NULL, NULL);
}

#endif
