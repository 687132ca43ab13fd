/*
 * Unit tests of the configuration: defaults, the directive table's bounds,
 * the config file (errors name file and line), the environment, validation.
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

#include "config.h"
#include "err.h"
#include "table.h"
#include "util.h"

static void test_defaults(void **state)
{
	struct config c;
	char err[256] = "";

	config_init(&c);
	assert_int_equal(c.pin_expiry, 300);
	assert_int_equal(c.next_event_wait, 120);
	assert_int_equal(c.code_length, 4);
	assert_int_equal(c.verified_ttl, 30 * 24 * 3600);
	assert_string_equal(c.default_country, "IN");
	assert_string_equal(c.test_numbers, "");
	assert_string_equal(c.db_synchronous, "normal");
	assert_string_equal(c.log_format, "text");
	assert_string_equal(c.access_log, "off");
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
}

static void test_set_keeps_the_value_it_refuses(void **state)
{
	struct config c;
	char err[256];

	config_init(&c);
	assert_int_equal(config_set(&c, "code_length", "10", err, sizeof(err)),
			 0);
	assert_int_equal(c.code_length, 10);
	assert_int_equal(config_set(&c, "code_length", "11", err, sizeof(err)),
			 KV_ERANGE);
	assert_non_null(strstr(err, "code_length"));
	assert_int_equal(c.code_length, 10);
}

/* One config_set() on fresh defaults and its result. */
struct set_case {
	const char *name;
	const char *setting, *value;
	int err;
	int named; /* the error text names the setting */
};

/* A bounded setting at both bounds and one past each: four rows. */
/* clang-format off */
#define BOUNDS(setting, lo, hi, below, above)                                  \
	{setting " at its minimum", setting, lo, 0, 0},                        \
	{setting " at its maximum", setting, hi, 0, 0},                        \
	{setting " below", setting, below, KV_ERANGE, 1},                      \
	{setting " above", setting, above, KV_ERANGE, 0}
/* clang-format on */

static struct set_case set_cases[] = {
	{"below the minimum", "code_length", "3", KV_ERANGE, 0},
	{"not a number", "pin_expiry", "abc", KV_EINVAL, 0},
	{"empty", "pin_expiry", "", KV_EINVAL, 0},
	{"leading space", "pin_expiry", " 5", KV_EINVAL, 0},
	{"past any integer", "pin_expiry", "99999999999999999999", KV_ERANGE,
	 0},
	{"unknown setting", "no_such", "1", KV_ENOTFOUND, 1},
	/* The abuse-limit settings of issue 11, at and past their bounds. */
	BOUNDS("limit_pk_ip_calls_per_min", "0", "10000000", "-1", "10000001"),
	BOUNDS("limit_pk_junk_cost", "0", "1000", "-1", "1001"),
	BOUNDS("limit_table_slots", "512", "16777216", "511", "16777217"),
	/* A setting of words: only its words, spelt as listed. */
	{"db_synchronous full", "db_synchronous", "full", 0, 0},
	{"db_synchronous normal", "db_synchronous", "normal", 0, 0},
	{"db_synchronous off", "db_synchronous", "off", KV_EINVAL, 1},
	{"db_synchronous upper case", "db_synchronous", "FULL", KV_EINVAL, 1},
	{"db_synchronous prefix", "db_synchronous", "ful", KV_EINVAL, 1},
	{"db_synchronous two words", "db_synchronous", "normal full", KV_EINVAL,
	 1},
	{"db_synchronous empty", "db_synchronous", "", KV_EINVAL, 1},
	{"log_format json", "log_format", "json", 0, 0},
	{"log_format xml", "log_format", "xml", KV_EINVAL, 1},
	{"access_log on", "access_log", "on", 0, 0},
	{"access_log yes", "access_log", "yes", KV_EINVAL, 1},
};

static void test_set(void **state)
{
	const struct set_case *t = *state;
	struct config c;
	char err[256];

	config_init(&c);
	assert_int_equal(config_set(&c, t->setting, t->value, err, sizeof(err)),
			 t->err);
	if (t->named)
		assert_non_null(strstr(err, t->setting));
}

static void test_limit_settings_defaults(void **state)
{
	struct config c;

	config_init(&c);
	assert_int_equal(c.limit_pk_ip_calls_per_min, 60);
	assert_int_equal(c.limit_pk_junk_cost, 10);
	assert_int_equal(c.limit_table_slots, 65536);
}

static void test_string_too_long(void **state)
{
	struct config c;
	char err[256];
	char big[100];

	config_init(&c);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(config_set(&c, "listen", big, err, sizeof(err)),
			 KV_ERANGE);
	assert_string_equal(c.listen, "127.0.0.1:8080");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_file(void **state)
{
	char path[] = "/tmp/kvconfXXXXXX";
	int fd = mkstemp(path);
	struct config c;
	char err[256] = "";

	assert_true(fd >= 0);
	close(fd);
	write_file(path, "# comment\n\n  pin_expiry = 42  \nbrand_x\n");
	config_init(&c);
	assert_int_equal(config_load_file(&c, path, err, sizeof(err)),
			 KV_EINVAL);
	assert_int_equal(c.pin_expiry, 42);
	/* The error names the file and the line. */
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ":4:"));

	write_file(path, "pin_expiry = 7\nlisten = 127.0.0.1:0\n");
	config_init(&c);
	assert_int_equal(config_load_file(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.pin_expiry, 7);
	assert_string_equal(c.listen, "127.0.0.1:0");

	write_file(path, "code_length = 99\n");
	assert_int_equal(config_load_file(&c, path, err, sizeof(err)),
			 KV_ERANGE);
	assert_non_null(strstr(err, ":1:"));

	write_file(path, "db_synchronous = full\ndb_synchronous = extra\n");
	config_init(&c);
	assert_int_equal(config_load_file(&c, path, err, sizeof(err)),
			 KV_EINVAL);
	assert_non_null(strstr(err, ":2:"));
	assert_non_null(strstr(err, "normal full"));
	assert_string_equal(c.db_synchronous, "full");
	unlink(path);
	assert_int_equal(config_load_file(&c, path, err, sizeof(err)), KV_EIO);
}

static void test_env(void **state)
{
	struct config c;
	char err[256] = "";

	config_init(&c);
	setenv("KOOKOOVERIFY_PIN_EXPIRY", "9", 1);
	setenv("KOOKOOVERIFY_DEFAULT_COUNTRY", "GB", 1);
	assert_int_equal(config_load_env(&c, err, sizeof(err)), 0);
	assert_int_equal(c.pin_expiry, 9);
	assert_string_equal(c.default_country, "GB");
	setenv("KOOKOOVERIFY_CODE_LENGTH", "x", 1);
	assert_int_equal(config_load_env(&c, err, sizeof(err)), KV_EINVAL);
	assert_non_null(strstr(err, "KOOKOOVERIFY_CODE_LENGTH"));
	unsetenv("KOOKOOVERIFY_PIN_EXPIRY");
	unsetenv("KOOKOOVERIFY_DEFAULT_COUNTRY");
	unsetenv("KOOKOOVERIFY_CODE_LENGTH");
}

static void test_validate(void **state)
{
	struct config c;
	char err[256];

	config_init(&c);
	assert_int_equal(config_set(&c, "listen", "nocolon", err, sizeof(err)),
			 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), KV_EINVAL);
	assert_non_null(strstr(err, "listen"));
	config_init(&c);
	assert_int_equal(
		config_set(&c, "listen", "[::1]:8080", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "default_country", "india", err,
				    sizeof(err)),
			 KV_ERANGE);
	assert_int_equal(
		config_set(&c, "default_country", "in", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), KV_EINVAL);
	config_init(&c);
	config_set(&c, "log_level", "loud", err, sizeof(err));
	assert_int_equal(config_validate(&c, err, sizeof(err)), KV_EINVAL);
}

/* The address lists name the setting and the entry at fault. */
static void test_validate_address_lists(void **state)
{
	static const char *const names[] = {"trusted_proxies",
					    "missed_call_sources"};
	struct config c;
	char err[256];

	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		config_init(&c);
		assert_int_equal(config_set(&c, names[i],
					    "192.0.2.0/24,2001:db8::/32", err,
					    sizeof(err)),
				 0);
		assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
		config_set(&c, names[i], "192.0.2.0/24,kookoo.in", err,
			   sizeof(err));
		assert_int_equal(config_validate(&c, err, sizeof(err)),
				 KV_EINVAL);
		assert_non_null(strstr(err, names[i]));
		assert_non_null(strstr(err, "\"kookoo.in\""));
		config_set(&c, names[i], "10.0.0.1/8", err, sizeof(err));
		assert_int_equal(config_validate(&c, err, sizeof(err)),
				 KV_EINVAL);
	}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set_keeps_the_value_it_refuses),
		cmocka_unit_test(test_limit_settings_defaults),
		cmocka_unit_test(test_string_too_long),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_validate_address_lists),
	};
	static struct table_tests all;

	table_add_tests(&all, tests, ARRAY_LEN(tests));
	TABLE_ADD(&all, test_set, set_cases);
	return table_run(&all);
}
