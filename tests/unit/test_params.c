/*
 * Unit tests of src/params.c: query and form decoding, caps at and past each
 * limit, encoding and UTF-8 refusals, JSON bodies, rollback on failure,
 * params_remove and HTTP Basic credentials.  The refusals are rows of tables
 * (table.h), one cmocka test per row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "err.h"
#include "params.h"
#include "table.h"
#include "util.h"

static struct params P;

static int setup(void **state)
{
	params_init(&P);
	*state = &P;
	return 0;
}

static int teardown(void **state)
{
	params_release(&P);
	return 0;
}

static int query(const char *s)
{
	return params_parse_query(&P, s, strlen(s));
}

static int json(const char *s)
{
	return params_parse_json(&P, s, strlen(s));
}

/* Returns a malloc'ed "<prefix><n times c><suffix>" (prefix non-empty). */
static char *repeat(const char *prefix, const char *c, size_t n,
		    const char *suffix)
{
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 20);
	assert_int_equal(buf_append_str(&b, prefix), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_append_str(&b, c), 0);
	assert_int_equal(buf_append_str(&b, suffix), 0);
	return b.data;
}

static void test_query_plain_pairs(void **state)
{
	assert_int_equal(query("a=1&bee=two"), 0);
	assert_int_equal(P.count, 2);
	assert_string_equal(params_get(&P, "a"), "1");
	assert_string_equal(params_get(&P, "bee"), "two");
	assert_null(params_get(&P, "c"));
	assert_int_equal(params_count(&P, "c"), 0);
	assert_int_equal(P.items[0].repeated, 0);
}

static void test_query_percent_and_plus_decode(void **state)
{
	assert_int_equal(query("b=%20x+y&c=%c3%A9%2B&d%5F1=%3D%26"), 0);
	assert_string_equal(params_get(&P, "b"), " x y");
	assert_string_equal(params_get(&P, "c"), "\xc3\xa9+");
	assert_string_equal(params_get(&P, "d_1"), "=&");
}

static void test_query_empty_values_and_missing_equals(void **state)
{
	assert_int_equal(query("a=&b&c=3&d=x=y"), 0);
	assert_int_equal(P.count, 4);
	assert_string_equal(params_get(&P, "a"), "");
	assert_string_equal(params_get(&P, "b"), "");
	assert_string_equal(params_get(&P, "c"), "3");
	assert_string_equal(params_get(&P, "d"), "x=y");
}

static void test_query_empty_segments_skipped(void **state)
{
	assert_int_equal(query("&&a=1&&"), 0);
	assert_int_equal(P.count, 1);
	assert_int_equal(query(""), 0);
	assert_int_equal(params_parse_query(&P, NULL, 0), 0);
	assert_int_equal(P.count, 1);
}

static void test_query_empty_name_refused(void **state)
{
	assert_int_equal(query("a=1&=2"), KV_EINVAL);
	assert_string_equal(P.error, "Empty parameter name");
	assert_int_equal(P.count, 0);
	assert_int_equal(query("%2B=1"), 0); /* "+" decoded is a name */
	assert_int_equal(query("+=1"), 0);   /* a space too */
	assert_string_equal(params_get(&P, " "), "1");
}

static void test_query_respects_len_not_nul(void **state)
{
	assert_int_equal(params_parse_query(&P, "a=12&b=3", 3), 0);
	assert_string_equal(params_get(&P, "a"), "1");
	assert_null(params_get(&P, "b"));
}

static void test_repeats_kept_and_flagged(void **state)
{
	const char *v[4] = {NULL};

	assert_int_equal(query("a=1&b=2&a=3&a=4"), 0);
	assert_int_equal(params_count(&P, "a"), 3);
	assert_string_equal(params_get(&P, "a"), "1");
	assert_int_equal(params_get_all(&P, "a", v, 2), 3);
	assert_string_equal(v[0], "1");
	assert_string_equal(v[1], "3");
	assert_null(v[2]); /* max respected */
	assert_int_equal(P.items[0].repeated, 1);
	assert_int_equal(P.items[1].repeated, 0);
	assert_int_equal(P.items[2].repeated, 1);
	assert_int_equal(P.items[3].repeated, 1);
}

static void test_query_then_form_append_and_flag_repeats(void **state)
{
	const char *body = "b=2&a=9";

	assert_int_equal(query("a=1"), 0);
	assert_int_equal(P.items[0].repeated, 0);
	assert_int_equal(params_parse_form(&P, body, strlen(body)), 0);
	assert_int_equal(P.count, 3);
	assert_string_equal(params_get(&P, "a"), "1"); /* query first */
	assert_int_equal(P.items[0].repeated, 1);
	assert_int_equal(P.items[2].repeated, 1);
	assert_int_equal(P.items[1].repeated, 0);
}

static void test_name_cap_at_and_past_limit(void **state)
{
	char *ok = repeat("", "n", PARAMS_NAME_MAX, "=1");
	char *big = repeat("", "n", PARAMS_NAME_MAX + 1, "=1");
	char *enc = repeat("", "%6E", PARAMS_NAME_MAX + 1, "");

	assert_int_equal(query(ok), 0);
	assert_int_equal(strlen(P.items[0].name), PARAMS_NAME_MAX);
	assert_int_equal(query(big), KV_ETOOBIG);
	assert_string_equal(P.error, "Parameter name too long");
	assert_int_equal(query(enc), KV_ETOOBIG);
	assert_int_equal(P.count, 1);
	free(ok);
	free(big);
	free(enc);
}

static void test_value_cap_at_and_past_limit(void **state)
{
	char *ok = repeat("v=", "x", PARAMS_VALUE_MAX, "");
	char *okenc = repeat("w=", "%41", PARAMS_VALUE_MAX, "");
	char *big = repeat("brand=", "x", PARAMS_VALUE_MAX + 1, "");

	assert_int_equal(query(ok), 0);
	assert_int_equal(strlen(params_get(&P, "v")), PARAMS_VALUE_MAX);
	/* The cap counts decoded bytes, not the 3-byte escapes. */
	assert_int_equal(query(okenc), 0);
	assert_int_equal(strlen(params_get(&P, "w")), PARAMS_VALUE_MAX);
	assert_int_equal(params_get(&P, "w")[0], 'A');
	assert_int_equal(query(big), KV_ETOOBIG);
	assert_string_equal(P.error, "Parameter 'brand' too long");
	assert_null(params_get(&P, "brand"));
	free(ok);
	free(okenc);
	free(big);
}

static void test_count_cap_at_and_past_limit(void **state)
{
	char *q = repeat("", "k=1&", PARAMS_MAX - 2, "");

	assert_int_equal(query(q), 0);
	assert_int_equal(query("x=1&y=2"), 0);
	assert_int_equal(P.count, PARAMS_MAX);
	assert_int_equal(query("z=1"), KV_ETOOBIG);
	assert_string_equal(P.error, "Too many parameters");
	assert_int_equal(P.count, PARAMS_MAX);
	assert_null(params_get(&P, "z"));
	free(q);
}

/* One input a parser must refuse, and how. */
enum parser { QUERY, JSON };

struct refusal_case {
	const char *name;
	enum parser parser;
	const char *input;
	size_t len; /* 0: strlen(input) */
	int err;
	const char *error; /* P.error after it; NULL: not checked */
};

#define MALFORMED "Malformed parameter encoding"
#define NOT_OBJECT "JSON body must be an object"
/* The fields of the common rows, inside the row's braces. */
#define ESCAPE(s) "escape " s, QUERY, s, 0, KV_EINVAL, MALFORMED
#define BRAND(what, s) what, QUERY, "brand=" s, 0, KV_EINVAL, BAD_BRAND
#define CODE(what, s) what, QUERY, "code=" s, 0, KV_EINVAL, BAD_CODE
#define BAD_JSON(what, s) "json " what, JSON, s, 0, KV_EINVAL, INVALID_JSON
#define BAD_BRAND "Invalid characters in parameter 'brand'"
#define BAD_CODE "Invalid characters in parameter 'code'"
#define INVALID_JSON "Invalid JSON body"

static const char raw_nul[] = {'c', 'o', 'd', 'e', '=', '1', '\0', '2'};

static struct refusal_case refusal_cases[] = {
	{ESCAPE("a=%zz")},
	{ESCAPE("a=%4")},
	{ESCAPE("a=%")},
	{ESCAPE("a=1%")},
	{ESCAPE("a=%g1")},
	{ESCAPE("a=%1g")},
	{ESCAPE("%zz=1")},
	{ESCAPE("a%=1")},
	{ESCAPE("a=%%41")},
	{ESCAPE("a=%-1")},
	{ESCAPE("a=%+1")},
	{BRAND("overlong '/' (2 bytes)", "%C0%AF")},
	{BRAND("overlong (2 bytes)", "%C1%BF")},
	{BRAND("overlong (3 bytes)", "%E0%80%AF")},
	{BRAND("overlong (4 bytes)", "%F0%80%80%AF")},
	{BRAND("lone continuation byte", "%80")},
	{BRAND("continuation in the middle", "a%BFb")},
	{BRAND("high surrogate U+D800", "%ED%A0%80")},
	{BRAND("low surrogate U+DFFF", "%ED%BF%BF")},
	{BRAND("truncated sequence", "%E2%82")},
	{BRAND("bad continuation", "%E2%28%A1")},
	{BRAND("past U+10FFFF", "%F4%90%80%80")},
	{BRAND("invalid lead byte", "%F5%80%80%80")},
	{BRAND("invalid byte", "%FF")},
	{BRAND("raw truncated byte", "\xc3")},
	/* Characters XML cannot carry (U+FFFF was found by fuzz_ivr). */
	{BRAND("U+FFFE", "%EF%BF%BE")},
	{BRAND("U+FFFF", "%EF%BF%BF")},
	{CODE("control NUL", "%00")},
	{CODE("control LF", "1%0A")},
	{CODE("control CR", "%0D")},
	{CODE("control 0x1F", "%1F")},
	{CODE("control DEL", "%7F")},
	{CODE("raw tab", "a\tb")},
	{CODE("raw DEL", "a\x7f")},
	{"raw NUL inside the length", QUERY, raw_nul, sizeof(raw_nul),
	 KV_EINVAL, BAD_CODE},
	{"NUL in a name", QUERY, "na%00me=1", 0, KV_EINVAL,
	 "Invalid characters in parameter name"},
	{"overlong in a name", QUERY, "n%C0%AE=1", 0, KV_EINVAL, NULL},
	{"json nested object", JSON, "{\"a\":1,\"brand\":{\"x\":1}}", 0,
	 KV_EINVAL, "Invalid value for parameter 'brand'"},
	{"json object in an array", JSON, "{\"ids\":[{\"x\":1}]}", 0, KV_EINVAL,
	 "Invalid value for parameter 'ids'"},
	{"json array in an array", JSON, "{\"ids\":[\"a\",[\"b\"]]}", 0,
	 KV_EINVAL, "Invalid value for parameter 'ids'"},
	{"json top-level array", JSON, "[{\"a\":1}]", 0, KV_EINVAL, NOT_OBJECT},
	{"json top-level string", JSON, "\"a=1\"", 0, KV_EINVAL, NOT_OBJECT},
	{"json top-level number", JSON, "42", 0, KV_EINVAL, NOT_OBJECT},
	{BAD_JSON("empty", "")},
	{BAD_JSON("unclosed", "{")},
	{BAD_JSON("missing value", "{\"a\":}")},
	{BAD_JSON("single quotes", "{'a':1}")},
	{BAD_JSON("trailing garbage", "{\"a\":1}x")},
	{BAD_JSON("leading zero", "{\"a\":01}")},
	{BAD_JSON("lone surrogate", "{\"a\":\"\\ud800\"}")},
	{BAD_JSON("raw truncated byte", "{\"a\":\"\xc3\"}")},
	{BAD_JSON("NUL escape", "{\"a\":\"\\u0000\"}")},
	{BAD_JSON("number out of range", "{\"a\":1e999}")},
};

static int setup_row(void **state)
{
	params_init(&P); /* *state stays the row */
	return 0;
}

static void test_refused(void **state)
{
	const struct refusal_case *c = *state;
	size_t len = c->len ? c->len : strlen(c->input);
	int err = c->parser == JSON ? params_parse_json(&P, c->input, len)
				    : params_parse_query(&P, c->input, len);

	assert_int_equal(err, c->err);
	if (c->error)
		assert_string_equal(P.error, c->error);
	assert_int_equal(P.count, 0);
}

static void test_valid_utf8_edges_accepted(void **state)
{
	assert_int_equal(query("a=%C2%80&b=%ED%9F%BF&c=%EE%80%80"), 0);
	assert_int_equal(query("d=%F0%9F%98%80&e=%F4%8F%BF%BF"), 0);
	assert_int_equal(query("f=\xe2\x82\xac"), 0); /* raw euro sign */
	assert_string_equal(params_get(&P, "d"), "\xf0\x9f\x98\x80");
	assert_string_equal(params_get(&P, "f"), "\xe2\x82\xac");
	assert_int_equal(P.count, 6);
}

static void test_failure_rolls_back_the_call(void **state)
{
	assert_int_equal(query("a=1"), 0);
	assert_int_equal(query("b=2&a=2&c=%zz"), KV_EINVAL);
	assert_int_equal(P.count, 1);
	assert_null(params_get(&P, "b"));
	assert_int_equal(params_count(&P, "a"), 1);
	assert_int_equal(P.items[0].repeated, 0); /* flag restored */
	assert_int_equal(json("{\"a\":\"2\",\"o\":{}}"), KV_EINVAL);
	assert_int_equal(P.count, 1);
	assert_int_equal(P.items[0].repeated, 0);
}

static void test_json_scalars(void **state)
{
	assert_int_equal(json("{\"s\":\"x y\",\"i\":4,\"neg\":-12,"
			      "\"big\":919876543210,\"r\":0.5,\"r2\":0.1,"
			      "\"e\":1e2,\"w\":300.0,\"x\":123.25,\"y\":1e-7,"
			      "\"t\":true,\"f\":false,\"n\":null,"
			      "\"u\":\"\\u00e9\"}"),
			 0);
	assert_string_equal(params_get(&P, "s"), "x y");
	assert_string_equal(params_get(&P, "i"), "4");
	assert_string_equal(params_get(&P, "neg"), "-12");
	assert_string_equal(params_get(&P, "big"), "919876543210");
	assert_string_equal(params_get(&P, "r"), "0.5");
	assert_string_equal(params_get(&P, "r2"), "0.1");
	assert_string_equal(params_get(&P, "e"), "100");
	assert_string_equal(params_get(&P, "w"), "300");
	assert_string_equal(params_get(&P, "x"), "123.25");
	assert_string_equal(params_get(&P, "y"), "1e-07");
	assert_string_equal(params_get(&P, "t"), "true");
	assert_string_equal(params_get(&P, "f"), "false");
	assert_string_equal(params_get(&P, "u"), "\xc3\xa9");
	assert_null(params_get(&P, "n"));
	assert_int_equal(P.count, 13);
	assert_string_equal(P.items[0].name, "s"); /* document order */
	assert_string_equal(P.items[12].name, "u");
}

static void test_json_array_becomes_repeats(void **state)
{
	const char *v[4];

	assert_int_equal(json("{\"request_ids\":[\"ab\",\"cd\",3],"
			      "\"empty\":[],\"k\":\"v\"}"),
			 0);
	assert_int_equal(params_get_all(&P, "request_ids", v, 4), 3);
	assert_string_equal(v[0], "ab");
	assert_string_equal(v[1], "cd");
	assert_string_equal(v[2], "3");
	assert_int_equal(P.items[0].repeated, 1);
	assert_int_equal(params_count(&P, "empty"), 0);
	assert_int_equal(P.count, 4);
}

static void test_json_empty_object(void **state)
{
	assert_int_equal(json("{}"), 0);
	assert_int_equal(P.count, 0);
}

static void test_json_null_body_refused(void **state)
{
	assert_int_equal(params_parse_json(&P, NULL, 0), KV_EINVAL);
	assert_int_equal(P.count, 0);
}

static void test_json_duplicate_keys_refused(void **state)
{
	assert_int_equal(json("{\"a\":\"1\",\"a\":\"2\"}"), KV_EINVAL);
	assert_string_equal(P.error, "Duplicate key in JSON body");
	assert_int_equal(P.count, 0);
}

static void test_json_deep_nesting_refused(void **state)
{
	char *deep = repeat("{\"a\":", "[", 100000, "");

	/* jansson stops at its depth limit instead of recursing on. */
	assert_int_equal(json(deep), KV_EINVAL);
	assert_string_equal(P.error, "Invalid JSON body");
	free(deep);
	assert_int_equal(json("{\"a\":{\"b\":{\"c\":[[1]]}}}"), KV_EINVAL);
	assert_string_equal(P.error, "Invalid value for parameter 'a'");
	assert_int_equal(P.count, 0);
}

#define TEN "[1,2,3,4,5,6,7,8,9,10]"
#define ELEVEN "[1,2,3,4,5,6,7,8,9,10,11]"
#define AB "{\"a\":" ELEVEN ",\"b\":" ELEVEN

static void test_json_caps_and_characters(void **state)
{
	char *ok = repeat("{\"v\":\"", "x", PARAMS_VALUE_MAX, "\"}");
	char *big = repeat("{\"v\":\"", "x", PARAMS_VALUE_MAX + 1, "\"}");
	char *name = repeat("{\"", "n", PARAMS_NAME_MAX + 1, "\":1}");

	assert_int_equal(json(ok), 0);
	assert_int_equal(json(big), KV_ETOOBIG);
	assert_string_equal(P.error, "Parameter 'v' too long");
	assert_int_equal(json(name), KV_ETOOBIG);
	assert_string_equal(P.error, "Parameter name too long");
	assert_int_equal(json("{\"code\":\"1\\n\"}"), KV_EINVAL);
	assert_string_equal(P.error, "Invalid characters in parameter 'code'");
	assert_int_equal(json("{\"\":\"1\"}"), KV_EINVAL);
	assert_string_equal(P.error, "Empty parameter name");
	assert_int_equal(P.count, 1);
	params_release(&P);
	/* 11 + 11 + 10 values is the cap, 11 + 11 + 11 one past it. */
	assert_int_equal(json(AB ",\"c\":" TEN "}"), 0);
	assert_int_equal(P.count, PARAMS_MAX);
	params_release(&P);
	assert_int_equal(json(AB ",\"c\":" ELEVEN "}"), KV_ETOOBIG);
	assert_string_equal(P.error, "Too many parameters");
	assert_int_equal(P.count, 0);
	free(ok);
	free(big);
	free(name);
}

static void test_json_appends_after_query(void **state)
{
	assert_int_equal(query("a=1"), 0);
	assert_int_equal(json("{\"a\":2}"), 0);
	assert_int_equal(params_count(&P, "a"), 2);
	assert_string_equal(params_get(&P, "a"), "1");
	assert_int_equal(P.items[0].repeated, 1);
}

static void test_remove_drops_every_copy(void **state)
{
	const char *v[2];

	assert_int_equal(query("api_key=k&api_secret=s&x=1&api_secret=t&x=2"),
			 0);
	params_remove(&P, "api_secret");
	assert_int_equal(P.count, 3);
	assert_null(params_get(&P, "api_secret"));
	assert_string_equal(P.items[0].name, "api_key");
	assert_string_equal(P.items[1].name, "x");
	assert_string_equal(P.items[2].value, "2");
	assert_int_equal(params_get_all(&P, "x", v, 2), 2);
	assert_int_equal(P.items[1].repeated, 1);
	params_remove(&P, "absent");
	assert_int_equal(P.count, 3);
	/* The name may come from the table itself. */
	params_remove(&P, P.items[1].name);
	assert_int_equal(P.count, 1);
	assert_int_equal(query("x=3"), 0);
	assert_int_equal(P.items[1].repeated, 0);
}

static void test_release_empties_and_allows_reuse(void **state)
{
	assert_int_equal(query("a=1&a=2"), 0);
	params_release(&P);
	assert_int_equal(P.count, 0);
	assert_null(params_get(&P, "a"));
	params_release(&P);
	assert_int_equal(query("a=3"), 0);
	assert_string_equal(params_get(&P, "a"), "3");
	assert_int_equal(P.items[0].repeated, 0);
}

static int basic(const char *header, char **user, char **pass)
{
	return params_parse_basic_auth(header, user, pass);
}

static void test_basic_auth_good(void **state)
{
	char *user = NULL, *pass = NULL;

	/* "key:sec:ret": the password may hold colons. */
	assert_int_equal(basic("Basic a2V5OnNlYzpyZXQ=", &user, &pass), 0);
	assert_string_equal(user, "key");
	assert_string_equal(pass, "sec:ret");
	free(user);
	free(pass);
	assert_int_equal(basic("bAsIc \t dXNlcjpww6lzcw== ", &user, &pass), 0);
	assert_string_equal(user, "user");
	assert_string_equal(pass, "p\xc3\xa9ss");
	free(user);
	free(pass);
	assert_int_equal(basic("BASIC YTo=", &user, &pass), 0); /* "a:" */
	assert_string_equal(user, "a");
	assert_string_equal(pass, "");
	free(user);
	free(pass);
}

struct basic_case {
	const char *name;
	const char *header;
};

static struct basic_case basic_refusals[] = {
	{"not base64", "Basic !!!!"},
	{"missing padding", "Basic YTpiYw"},
	{"trailing garbage", "Basic YTpi@"},
	{"two tokens", "Basic YTpi YTpi"},
	{"no colon", "Basic YWJj"},              /* "abc" */
	{"empty user", "Basic OnBhc3M="},        /* ":pass" */
	{"control character", "Basic YTpiCg=="}, /* "a:b\n" */
	{"invalid UTF-8", "Basic YTr/"},         /* "a:\xff" */
	{"no credentials after the space", "Basic "},
	{"no credentials", "Basic"},
	{"no space after the scheme", "BasicYTpi"},
	{"wrong scheme", "Bearer YTpi"},
	{"digest", "Digest username=\"a\""},
	{"empty", ""},
};

static void test_basic_auth_refused(void **state)
{
	const struct basic_case *c = *state;
	char *user = (char *)1, *pass = (char *)1;

	assert_int_equal(basic(c->header, &user, &pass), KV_EINVAL);
	assert_null(user);
	assert_null(pass);
}

static void test_basic_auth_length_capped(void **state)
{
	char *user = NULL, *pass = NULL;
	/* "YWFh" is "aaa"; the cap is on the base64 text. */
	char *ok = repeat("Basic YTpi", "YWFh", PARAMS_AUTH_MAX / 4 - 1, "");
	char *big = repeat("Basic YTpi", "YWFh", PARAMS_AUTH_MAX / 4, "");

	assert_int_equal(basic(ok, &user, &pass), 0);
	assert_int_equal(strlen(pass), 1 + 3 * (PARAMS_AUTH_MAX / 4 - 1));
	free(user);
	free(pass);
	assert_int_equal(basic(big, &user, &pass), KV_EINVAL);
	assert_null(user);
	free(ok);
	free(big);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		T(test_query_plain_pairs),
		T(test_query_percent_and_plus_decode),
		T(test_query_empty_values_and_missing_equals),
		T(test_query_empty_segments_skipped),
		T(test_query_empty_name_refused),
		T(test_query_respects_len_not_nul),
		T(test_repeats_kept_and_flagged),
		T(test_query_then_form_append_and_flag_repeats),
		T(test_name_cap_at_and_past_limit),
		T(test_value_cap_at_and_past_limit),
		T(test_count_cap_at_and_past_limit),
		T(test_valid_utf8_edges_accepted),
		T(test_failure_rolls_back_the_call),
		T(test_json_scalars),
		T(test_json_array_becomes_repeats),
		T(test_json_empty_object),
		T(test_json_null_body_refused),
		T(test_json_duplicate_keys_refused),
		T(test_json_deep_nesting_refused),
		T(test_json_caps_and_characters),
		T(test_json_appends_after_query),
		T(test_remove_drops_every_copy),
		T(test_release_empties_and_allows_reuse),
		T(test_basic_auth_good),
		T(test_basic_auth_length_capped),
	};

	static struct table_tests all;

	table_add_tests(&all, tests, ARRAY_LEN(tests));
	TABLE_ADD_FIXTURE(&all, test_refused, refusal_cases, setup_row,
			  teardown);
	TABLE_ADD(&all, test_basic_auth_refused, basic_refusals);
	if (sodium_init() < 0)
		return 1;
	return table_run(&all);
}
