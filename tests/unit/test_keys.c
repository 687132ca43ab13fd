/*
 * Unit tests of the pure parts of keys.c: origins are stored exactly as a
 * browser sends them in its Origin header, and anything that is not an
 * origin (paths, wildcards, user info, other schemes) is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "keys.h"

static void test_origins_normalised_as_browsers_send_them(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"https://shop.example", "https://shop.example"},
		{"HTTPS://Shop.Example/", "https://shop.example"},
		{"https://shop.example:443", "https://shop.example"},
		{"http://shop.example:80", "http://shop.example"},
		{"http://shop.example:443", "http://shop.example:443"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://localhost:3000/", "http://localhost:3000"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"https://[2001:db8::1]", "https://[2001:db8::1]"},
	};
	char out[KEYS_ORIGIN_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		assert_int_equal(keys_origin_normalize(cases[i].in, out), 0);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_what_is_not_an_origin_is_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"null",
		"*",
		"shop.example",
		"ftp://shop.example",
		"https://",
		"https://shop.example/path",
		"https://shop.example/?q=1",
		"https://user@shop.example",
		"https://*.shop.example",
		"https://shop.example:0",
		"https://shop.example:65536",
		"https://shop.example:",
		"https://shop.example:8x",
		"https://.shop.example",
		"https://shop.example.",
		"https://shop example",
		"https://[::1",
		"https://shop.example//",
	};
	char out[KEYS_ORIGIN_MAX], big[KEYS_ORIGIN_MAX + 16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(keys_origin_normalize(bad[i], out), KV_EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "https://", 8);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(keys_origin_normalize(big, out), KV_EINVAL);
}

static void test_publishable_keys_are_told_by_prefix(void **state)
{
	assert_true(keys_is_publishable("pk_0123456789abcdef01234567"));
	assert_false(keys_is_publishable("0123456789abcdef"));
	assert_false(keys_is_publishable("PK_0123"));
	assert_false(keys_is_publishable(""));
}

/* The host an SMS's WebOTP line names: a domain on the default port. */
static void test_webotp_host_of_an_origin(void **state)
{
	char host[64];

	assert_int_equal(keys_origin_host("https://shop.example", host,
					  sizeof(host)),
			 0);
	assert_string_equal(host, "shop.example");
	assert_int_equal(
		keys_origin_host("http://localhost", host, sizeof(host)), 0);
	assert_string_equal(host, "localhost");
	/* Normalised origins keep only a port that is not the default. */
	assert_int_equal(keys_origin_host("https://shop.example:8443", host,
					  sizeof(host)),
			 KV_EINVAL);
	assert_int_equal(keys_origin_host("https://127.0.0.1", host,
					  sizeof(host)),
			 KV_EINVAL);
	assert_int_equal(keys_origin_host("https://[::1]", host, sizeof(host)),
			 KV_EINVAL);
	assert_int_equal(keys_origin_host("shop.example", host, sizeof(host)),
			 KV_EINVAL);
	/* 30 characters fill a DLT slot; 31 do not fit. */
	assert_int_equal(
		keys_origin_host("https://abcdefghijklmnopqrstuvwxyz.abcd",
				 host, sizeof(host)),
		KV_ERANGE);
	assert_int_equal(
		keys_origin_host("https://abcdefghijklmnopqrstuvwxyz.abc", host,
				 sizeof(host)),
		0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origins_normalised_as_browsers_send_them),
		cmocka_unit_test(test_what_is_not_an_origin_is_refused),
		cmocka_unit_test(test_publishable_keys_are_told_by_prefix),
		cmocka_unit_test(test_webotp_host_of_an_origin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
