/*
 * Unit tests of the compact JSON writer (jdump.c): for every kind of value
 * and every character class its text is json_dumps(v, JSON_COMPACT)'s, byte
 * for byte; what jansson refuses (a string that is not UTF-8) it refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jdump.h"

/* Both writers' text of v, compared; v is released. */
static void assert_same_as_jansson(json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t len = 0;
	char *got = jdump_compact(v, &len);

	assert_non_null(want);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(want);
	free(got);
	json_decref(v);
}

static void test_a_reply_shaped_object_is_jansson_text(void **state)
{
	json_t *o = json_object(), *checks = json_array(), *c = json_object();

	json_object_set_new(o, "request_id",
			    json_string("0123456789abcdef0123456789abcdef"));
	json_object_set_new(o, "number", json_string("919876543210"));
	json_object_set_new(o, "date_finalized", json_string(""));
	json_object_set_new(c, "code", json_string("1234"));
	json_object_set_new(c, "ip_address", json_string("127.0.0.1"));
	json_array_append_new(checks, c);
	json_object_set_new(o, "checks", checks);
	json_object_set_new(o, "events", json_array());
	json_object_set_new(o, "empty", json_object());
	/* Members keep the order they were set in, not sorted. */
	json_object_set_new(o, "a", json_string("last"));
	assert_same_as_jansson(o);
}

static void test_scalars_are_jansson_text(void **state)
{
	json_t *a = json_array();

	json_array_append_new(a, json_integer(0));
	json_array_append_new(a, json_integer(-42));
	json_array_append_new(a, json_integer(INT64_MAX));
	json_array_append_new(a, json_integer(INT64_MIN));
	json_array_append_new(a, json_true());
	json_array_append_new(a, json_false());
	json_array_append_new(a, json_null());
	json_array_append_new(a, json_real(0.1));
	json_array_append_new(a, json_real(2.0));
	json_array_append_new(a, json_real(-1.5e300));
	assert_same_as_jansson(a);
	assert_same_as_jansson(json_integer(7));
	assert_same_as_jansson(json_string("alone"));
}

/* Every byte below 0x80 alone in a string, then all of them together. */
static void test_every_ascii_character_escapes_as_jansson(void **state)
{
	char all[128];

	for (int c = 0; c < 128; c++) {
		char one = (char)c;

		assert_same_as_jansson(json_stringn(&one, 1));
		all[c] = (char)(127 - c);
	}
	assert_same_as_jansson(json_stringn(all, sizeof(all)));
	assert_same_as_jansson(json_string("a/b \"q\" \\ \x7f end"));
}

static void test_utf8_passes_unescaped(void **state)
{
	json_t *o = json_object();

	/* Two, three and four bytes, at the edges of each range. */
	json_object_set_new(o, "hi", json_string("\xe0\xa4\xa8\xe0\xa4\xae"));
	json_object_set_new(o, "edges",
			    json_string(
				    "\xc2\x80 \xdf\xbf \xe0\xa0\x80 "
				    "\xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf "
				    "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"));
	json_object_set_new(o, "\xe2\x82\xb9 key \"quoted\"", json_true());
	assert_same_as_jansson(o);
}

/*
 * Bytes that are not UTF-8 (json_stringn_nocheck lets them in): jansson's
 * json_dumps gives NULL for each, and so must this writer.
 */
static void test_strings_that_are_not_utf8_are_refused(void **state)
{
	static const char *const bad[] = {
		"\x80",             /* a continuation byte first */
		"\xc0\xaf",         /* overlong '/' */
		"\xc1\xbf",         /* overlong */
		"\xc2",             /* cut short */
		"\xe0\x80\xaf",     /* overlong three bytes */
		"\xed\xa0\x80",     /* a surrogate, U+D800 */
		"\xe2\x82",         /* cut short */
		"\xf0\x80\x80\xaf", /* overlong four bytes */
		"\xf4\x90\x80\x80", /* past U+10FFFF */
		"\xf5\x80\x80\x80", /* no such lead byte */
		"\xc3\x28",         /* a lead byte, then ASCII */
		"\xff",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *s = json_stringn_nocheck(bad[i], strlen(bad[i]));
		json_t *o = json_pack("{s:[o]}", "k", s);
		char *want = json_dumps(o, JSON_COMPACT);

		assert_null(want);
		assert_null(jdump_compact(o, NULL));
		json_decref(o);
	}
}

static void test_nesting_past_the_limit_is_refused(void **state)
{
	json_t *root = json_array(), *at = root;
	char *text;

	for (int i = 0; i < JDUMP_DEPTH_MAX; i++) {
		json_t *next = json_array();

		json_array_append_new(at, next);
		at = next;
	}
	text = jdump_compact(root, NULL);
	assert_non_null(text); /* JDUMP_DEPTH_MAX levels below the root */
	free(text);
	json_array_append_new(at, json_array());
	assert_null(jdump_compact(root, NULL));
	json_decref(root);
	assert_null(jdump_compact(NULL, NULL));
}

/* Longer than the first buffer, so it grows while runs are copied. */
static void test_a_long_string_grows_the_buffer(void **state)
{
	size_t n = 100000;
	char *s = malloc(n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = i % 97 == 0 ? '\n' : (char)('a' + i % 26);
	s[n] = '\0';
	assert_same_as_jansson(json_string(s));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_reply_shaped_object_is_jansson_text),
		cmocka_unit_test(test_scalars_are_jansson_text),
		cmocka_unit_test(test_every_ascii_character_escapes_as_jansson),
		cmocka_unit_test(test_utf8_passes_unescaped),
		cmocka_unit_test(test_strings_that_are_not_utf8_are_refused),
		cmocka_unit_test(test_nesting_past_the_limit_is_refused),
		cmocka_unit_test(test_a_long_string_grows_the_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
