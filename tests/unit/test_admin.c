/*
 * Unit tests of the command line (src/admin.c) without a database: the
 * table of flags (values, repeats, bounds, errors, --help) and the table of
 * commands (serve is called back, subcommands need their arguments, an
 * unknown command is a usage error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin.h"
#include "err.h"
#include "util.h"

/* Parses a NULL-terminated list of arguments into a zeroed *o. */
static int parse(struct admin_options *o, const char *const *args)
{
	char *argv[64];
	int argc = 0;

	memset(o, 0, sizeof(*o));
	for (; args[argc]; argc++)
		argv[argc] = (char *)(uintptr_t)args[argc];
	argv[argc] = NULL;
	return admin_options_parse(argc, argv, o);
}

static void test_switches_and_values(void **state)
{
	static const char *const args[] = {
		"create",
		"--json",
		"--no-voice-confirm",
		"--publishable",
		"--name",
		"shop",
		"--countries",
		"IN,GB",
		"--brand",
		"Shop",
		"--owner",
		"key1",
		"--origin",
		"https://a.example",
		NULL,
	};
	struct admin_options o;

	assert_int_equal(parse(&o, args), 0);
	assert_int_equal(o.json, 1);
	assert_int_equal(o.no_voice_confirm, 1);
	assert_int_equal(o.publishable, 1);
	assert_string_equal(o.name, "shop");
	assert_string_equal(o.countries, "IN,GB");
	assert_string_equal(o.brand, "Shop");
	assert_string_equal(o.owner, "key1");
	assert_int_equal(o.norigins, 1);
	assert_string_equal(o.origins[0], "https://a.example");
	assert_int_equal(o.nargs, 1);
	assert_string_equal(o.args[0], "create");
	assert_int_equal(o.help, 0);
}

static void test_settings_by_flag(void **state)
{
	static const char *const args[] = {
		"--db",  "/tmp/x.db",      "--listen", "127.0.0.1:0",
		"--set", "log_level=warn", NULL,
	};
	struct admin_options o;

	assert_int_equal(parse(&o, args), 0);
	assert_string_equal(o.cfg.db, "/tmp/x.db");
	assert_string_equal(o.cfg.listen, "127.0.0.1:0");
	assert_string_equal(o.cfg.log_level, "warn");
}

static void test_origins_repeat_up_to_the_cap(void **state)
{
	const char *args[2 * KEYS_ORIGINS_MAX + 3];
	struct admin_options o;
	int n = 0;

	for (int i = 0; i < KEYS_ORIGINS_MAX; i++) {
		args[n++] = "--origin";
		args[n++] = "https://a.example";
	}
	args[n] = NULL;
	assert_int_equal(parse(&o, args), 0);
	assert_int_equal(o.norigins, KEYS_ORIGINS_MAX);
	args[n++] = "--origin";
	args[n++] = "https://b.example";
	args[n] = NULL;
	assert_int_equal(parse(&o, args), KV_ECONFIG);
}

static void test_refusals(void **state)
{
	static const char *const needs_value[] = {"--name", NULL};
	static const char *const unknown[] = {"--bogus", "x", NULL};
	static const char *const unknown_last[] = {"--bogus", NULL};
	static const char *const bad_set[] = {"--set", "no_equals", NULL};
	static const char *const bad_setting[] = {"--set", "nosuch=1", NULL};
	static const char *const too_many[] = {"a", "b", "c", "d", NULL};
	struct admin_options o;

	assert_int_equal(parse(&o, needs_value), KV_ECONFIG);
	assert_int_equal(parse(&o, unknown), KV_ECONFIG);
	assert_int_equal(parse(&o, unknown_last), KV_ECONFIG);
	assert_int_equal(parse(&o, bad_set), KV_ECONFIG);
	assert_int_equal(parse(&o, bad_setting), KV_ECONFIG);
	assert_int_equal(parse(&o, too_many), KV_ECONFIG);
}

/* --help stops the reading: what follows it is not looked at. */
static void test_help_stops_reading(void **state)
{
	static const char *const args[] = {"--help", "--bogus", "x", NULL};
	struct admin_options o;

	assert_int_equal(parse(&o, args), 0);
	assert_int_equal(o.help, 1);
}

static int served;

static int fake_serve(struct admin_options *o)
{
	served++;
	return 42;
}

static int run(const char *const *args)
{
	char *argv[16];
	int argc = 0;

	for (; args[argc]; argc++)
		argv[argc] = (char *)(uintptr_t)args[argc];
	argv[argc] = NULL;
	return admin_main(argc, argv, fake_serve);
}

static void test_serve_is_called_back(void **state)
{
	static const char *const serve[] = {"kv", "serve", NULL};
	static const char *const bad_flag[] = {"kv", "serve", "--bogus", "1",
					       NULL};

	served = 0;
	assert_int_equal(run(serve), 42);
	assert_int_equal(served, 1);
	assert_int_equal(run(bad_flag), ADMIN_EXIT_USAGE);
	assert_int_equal(served, 1);
}

static void test_commands_need_their_arguments(void **state)
{
	const char *const *const usage_errors[] = {
		(const char *const[]){"kv", NULL},
		(const char *const[]){"kv", "bogus", NULL},
		(const char *const[]){"kv", "keys", NULL},
		(const char *const[]){"kv", "keys", "frob", NULL},
		(const char *const[]){"kv", "keys", "list", "extra", NULL},
		(const char *const[]){"kv", "keys", "revoke", NULL},
		(const char *const[]){"kv", "keys", "set-owner", "pk", NULL},
		(const char *const[]){"kv", "blocks", "lift", NULL},
		(const char *const[]){"kv", "blocks", "list", "x", NULL},
	};

	served = 0;
	for (size_t i = 0; i < ARRAY_LEN(usage_errors); i++)
		assert_int_equal(run(usage_errors[i]), ADMIN_EXIT_USAGE);
	assert_int_equal(run((const char *const[]){"kv", "help", NULL}), 0);
	assert_int_equal(
		run((const char *const[]){"kv", "migrate", "--help", NULL}), 0);
	assert_int_equal(served, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_switches_and_values),
		cmocka_unit_test(test_settings_by_flag),
		cmocka_unit_test(test_origins_repeat_up_to_the_cap),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_help_stops_reading),
		cmocka_unit_test(test_serve_is_called_back),
		cmocka_unit_test(test_commands_need_their_arguments),
	};

	/* Settings from the environment would leak into the cases. */
	unsetenv("KOOKOOVERIFY_DB");
	unsetenv("KOOKOOVERIFY_LISTEN");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
