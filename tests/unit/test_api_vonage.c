/*
 * Unit tests of src/api_vonage.c without the network or the store: the one
 * table of status codes and texts, the parameter validators, the route
 * table, the XML rendering of Vonage's shapes, and the refusals a handler
 * makes before authenticating (missing credentials, bad body, too big).
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
#include <libxml/parser.h>
#include <sodium.h>

#include "api.h"
#include "api_vonage.h"
#include "config.h"
#include "http.h"
#include "params.h"
#include "phone.h"
#include "util.h"
#include "verify.h"

#define CANCEL_MIN_AGE 45
#define XML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static void expect_text(enum vonage_cond cond, const char *arg, int status,
			const char *want)
{
	char text[VONAGE_TEXT_MAX];

	assert_int_equal(vonage_error_text(cond, arg, text, sizeof(text)),
			 status);
	assert_string_equal(text, want);
}

static void test_status_codes_are_vonages(void **state)
{
	static const struct {
		enum vonage_cond cond;
		int status;
	} want[] = {
		{VONAGE_THROTTLED, 1},        {VONAGE_MISSING, 2},
		{VONAGE_BAD_VALUE, 3},        {VONAGE_BAD_INPUT, 3},
		{VONAGE_TOO_BIG, 3},          {VONAGE_BAD_CREDENTIALS, 4},
		{VONAGE_INTERNAL, 5},         {VONAGE_NOT_FOUND, 6},
		{VONAGE_CONCURRENT, 10},      {VONAGE_WRONG_CODE, 16},
		{VONAGE_WRONG_TOO_MANY, 17},  {VONAGE_CANCEL_TOO_EARLY, 19},
		{VONAGE_CANCEL_TOO_LATE, 19}, {VONAGE_NO_MORE_EVENTS, 19},
		{VONAGE_NO_RESPONSE, 101},    {VONAGE_NOT_PERMITTED, 29},
		{VONAGE_BLOCKED, 7},          {VONAGE_PIN_CODE, 20},
		{VONAGE_ORIGIN, 4},           {VONAGE_BROWSER_SECRET, 4},
		{VONAGE_PK_ENDPOINT, 4},      {VONAGE_PK_PARAM, 3},
		{VONAGE_TOKEN_EXPIRED, 6},    {VONAGE_TOKEN_USED, 6},
		{VONAGE_RESEND_COOLDOWN, 1},  {VONAGE_RESEND_CAP, 1},
		{VONAGE_PK_BRAND, 3},
	};
	char text[VONAGE_TEXT_MAX];

	assert_int_equal(ARRAY_LEN(want), VONAGE_COND_COUNT);
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		assert_int_equal(vonage_error_text(want[i].cond, "x", text,
						   sizeof(text)),
				 want[i].status);
		assert_true(strlen(text) > 0);
	}
}

static void test_out_of_range_condition_refused(void **state)
{
	char text[16] = "garbage";

	assert_int_equal(vonage_error_text(VONAGE_COND_COUNT, "x", text,
					   sizeof(text)),
			 -1);
	assert_string_equal(text, "");
}

static void test_missing_and_bad_value_name_the_parameter(void **state)
{
	expect_text(VONAGE_MISSING, "number", 2,
		    "Your request is incomplete and missing the mandatory "
		    "parameter `number`");
	expect_text(VONAGE_BAD_VALUE, "brand", 3,
		    "Invalid value for parameter `brand`");
	expect_text(VONAGE_BAD_INPUT, "Invalid JSON body", 3,
		    "Invalid JSON body");
	expect_text(VONAGE_TOO_BIG, NULL, 3, "Request too large");
}

static void test_fixed_texts(void **state)
{
	expect_text(VONAGE_THROTTLED, NULL, 1, "Throttled");
	expect_text(VONAGE_BAD_CREDENTIALS, NULL, 4,
		    "Invalid credentials were provided");
	expect_text(VONAGE_INTERNAL, NULL, 5, "Internal Error");
	expect_text(VONAGE_CONCURRENT, NULL, 10,
		    "Concurrent verifications to the same number are not "
		    "allowed.");
	expect_text(VONAGE_WRONG_CODE, NULL, 16,
		    "The code provided does not match the expected value");
	expect_text(VONAGE_WRONG_TOO_MANY, NULL, 17,
		    "The wrong code was provided too many times");
	expect_text(VONAGE_NO_RESPONSE, NULL, 101, "No response found");
}

static void test_texts_name_the_request(void **state)
{
	expect_text(VONAGE_NOT_FOUND, "abc123", 6,
		    "The Vonage platform was unable to process this message "
		    "for the following reason: Request 'abc123' was not found "
		    "or it has been verified already.");
	expect_text(VONAGE_CANCEL_TOO_LATE, "abc123", 19,
		    "Verification request  ['abc123'] can't be cancelled now. "
		    "Too many attempts to re-deliver have already been made.");
	expect_text(VONAGE_NO_MORE_EVENTS, "abc123", 19,
		    "No more events are left to execute for the request "
		    "['abc123']");
}

static void test_cancel_too_early_uses_the_setting(void **state)
{
	assert_int_equal(verify_settings()->cancel_min_age_s, CANCEL_MIN_AGE);
	expect_text(VONAGE_CANCEL_TOO_EARLY, "abc123", 19,
		    "Verification request ['abc123'] can't be cancelled "
		    "within the first 45 seconds.");
}

static void test_error_text_truncates_inside_the_buffer(void **state)
{
	char text[12];
	char one[1] = {'x'};

	memset(text, 'z', sizeof(text));
	assert_int_equal(vonage_error_text(VONAGE_BAD_VALUE, "brand", text,
					   sizeof(text)),
			 3);
	assert_string_equal(text, "Invalid val");
	assert_int_equal(vonage_error_text(VONAGE_INTERNAL, NULL, one, 1), 5);
	assert_int_equal(one[0], '\0');
}

static void test_longest_argument_fits(void **state)
{
	char arg[PARAMS_VALUE_MAX + 1];
	char text[VONAGE_TEXT_MAX];

	memset(arg, 'a', PARAMS_VALUE_MAX);
	arg[PARAMS_VALUE_MAX] = '\0';
	vonage_error_text(VONAGE_NOT_FOUND, arg, text, sizeof(text));
	assert_non_null(strstr(text, "' was not found or it has been "
				     "verified already."));
}

static void test_lg_accepts_vonage_locales_in_any_case(void **state)
{
	assert_string_equal(vonage_lg_find("en-us"), "en-us");
	assert_string_equal(vonage_lg_find("EN-GB"), "en-gb");
	assert_string_equal(vonage_lg_find("Hi-In"), "hi-in");
	assert_string_equal(vonage_lg_find("yue-CN"), "yue-cn");
	assert_string_equal(vonage_lg_find("fil-ph"), "fil-ph");
	assert_string_equal(vonage_lg_find("zh-tw"), "zh-tw");
}

static void test_lg_refuses_everything_else(void **state)
{
	static const char *const bad[] = {"",       "en",     "en_us",
					  "en-us ", "xx-yy",  "en-us-x",
					  "hi",     "english"};

	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_null(vonage_lg_find(bad[i]));
	assert_null(vonage_lg_find(NULL));
}

static void test_brand_counts_code_points_not_bytes(void **state)
{
	char s[100];

	assert_int_equal(vonage_utf8_count("abc"), 3);
	assert_int_equal(vonage_utf8_count("\xc3\xa9t\xc3\xa9"), 3);
	assert_int_equal(vonage_utf8_count("\xf0\x9f\x98\x80"), 1);

	assert_true(vonage_brand_valid("123456789012345678"));
	assert_false(vonage_brand_valid("1234567890123456789"));
	assert_false(vonage_brand_valid(""));
	/* 18 two-byte characters are 36 bytes and still a valid brand. */
	for (int i = 0; i < 19; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[38] = '\0';
	assert_false(vonage_brand_valid(s));
	s[36] = '\0';
	assert_true(vonage_brand_valid(s));
}

static void test_sender_id_is_up_to_11_alphanumerics(void **state)
{
	static const char *const good[] = {"VERIFY", "Kookoo123", "1",
					   "12345678901", "abcdefghijk"};
	static const char *const bad[] = {"",    "123456789012", "a b",
					  "a-b", "\xc3\xa9",     "abc!"};

	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		assert_true(vonage_sender_id_valid(good[i]));
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_false(vonage_sender_id_valid(bad[i]));
}

static void test_code_is_1_to_10_digits(void **state)
{
	assert_true(vonage_code_valid("1234"));
	assert_true(vonage_code_valid("0"));
	assert_true(vonage_code_valid("0123456789"));
	assert_false(vonage_code_valid("01234567890"));
	assert_false(vonage_code_valid(""));
	assert_false(vonage_code_valid("12a4"));
	assert_false(vonage_code_valid("-123"));
	assert_false(vonage_code_valid(" 123"));
}

static void test_event_types(void **state)
{
	static const struct {
		const char *type, *channel, *result, *want;
	} cases[] = {
		{"sms", "sms", "accepted", "sms"},
		{"tts", "tts", "accepted", "tts"},
		{"resend", "sms", "accepted", "sms"},
		{"resend", "tts", "accepted", "tts"},
		{"sms", "sms", "retrying", NULL},
		{"sms", "sms", "refused", NULL},
		{"tts", "ivr", "NewCall", NULL},
		{"tts", "ivr", "accepted", NULL},
		{"tts", "call", "answered", NULL},
		{"tts", "", "accepted", NULL},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct vf_event ev;
		const char *got;

		memset(&ev, 0, sizeof(ev));
		snprintf(ev.type, sizeof(ev.type), "%s", cases[i].type);
		snprintf(ev.channel, sizeof(ev.channel), "%s",
			 cases[i].channel);
		snprintf(ev.result, sizeof(ev.result), "%s", cases[i].result);
		got = vonage_event_type(&ev);
		if (cases[i].want)
			assert_string_equal(got, cases[i].want);
		else
			assert_null(got);
	}
}

static void test_routes_cover_both_formats_of_each_endpoint(void **state)
{
	static const char *const paths[] = {
		"/verify/json",         "/verify/xml",
		"/verify/check/json",   "/verify/check/xml",
		"/verify/search/json",  "/verify/search/xml",
		"/verify/control/json", "/verify/control/xml",
		"/verify/token/json",   "/verify/token/xml",
	};
	size_t n = 0;

	for (const struct route *r = vonage_routes; r->path; r++) {
		assert_int_equal(r->methods, HTTP_GET | HTTP_POST);
		assert_non_null(r->handler);
		assert_int_equal(r->prefix, 0);
		assert_string_equal(r->path, paths[n]);
		n++;
	}
	assert_int_equal(n, ARRAY_LEN(paths));
}

/* A request as http.c would hand it over. */
struct fake {
	struct http_req req;
	char query[256];
};

static void fake_init(struct fake *f, enum http_method m, const char *path,
		      const char *query)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->query, sizeof(f->query), "%s", query);
	f->req.method = m;
	f->req.status = 200; /* as http.c starts every request */
	f->req.path = path;
	f->req.query = f->query;
	f->req.query_len = strlen(f->query);
	buf_init(&f->req.body, 16384);
	snprintf(f->req.client_ip, sizeof(f->req.client_ip), "127.0.0.1");
}

static void fake_release(struct fake *f)
{
	buf_release(&f->req.body);
	free(f->req.reply);
}

static void fake_serve(struct fake *f)
{
	for (const struct route *r = vonage_routes; r->path; r++)
		if (strcmp(r->path, f->req.path) == 0) {
			r->handler(&f->req);
			assert_int_equal(f->req.status, 200);
			assert_non_null(f->req.reply);
			return;
		}
	fail_msg("no route for %s", f->req.path);
}

static void test_xml_of_a_search_object(void **state)
{
	static const char want[] = XML_HEAD
		"<verify_request><request_id>abc</request_id>"
		"<status>IN PROGRESS</status><checks><check>"
		"<code>1234</code><status>INVALID</status>"
		"</check></checks><events/></verify_request>\n";
	struct http_req req;
	json_t *o = json_object(), *checks = json_array(), *c = json_object();

	memset(&req, 0, sizeof(req));
	req.status = 200;
	json_object_set_new(o, "request_id", json_string("abc"));
	json_object_set_new(o, "status", json_string("IN PROGRESS"));
	json_object_set_new(c, "code", json_string("1234"));
	json_object_set_new(c, "status", json_string("INVALID"));
	json_array_append_new(checks, c);
	json_object_set_new(o, "checks", checks);
	json_object_set_new(o, "events", json_array());
	api_reply_xml(&req, "verify_request", o);
	assert_int_equal(req.status, 200);
	assert_non_null(strstr(req.reply_type, "xml"));
	assert_string_equal(req.reply, want);
	free(req.reply);
}

static void test_xml_of_several_search_objects(void **state)
{
	static const char want[] = XML_HEAD
		"<verify_response><verification_requests>"
		"<verify_request><request_id>a</request_id>"
		"</verify_request><verify_request>"
		"<request_id>b&amp;</request_id>"
		"</verify_request></verification_requests></verify_response>\n";
	struct http_req req;
	json_t *o = json_object(), *list = json_array();

	memset(&req, 0, sizeof(req));
	json_array_append_new(list, json_pack("{s:s}", "request_id", "a"));
	json_array_append_new(list, json_pack("{s:s}", "request_id", "b&"));
	json_object_set_new(o, "verification_requests", list);
	api_reply_xml(&req, "verify_response", o);
	assert_string_equal(req.reply, want);
	free(req.reply);
}

static void test_request_without_key_names_api_key_in_xml(void **state)
{
	static const char want[] = XML_HEAD
		"<verify_response><request_id></request_id>"
		"<status>2</status><error_text>Your request "
		"is incomplete and missing the mandatory "
		"parameter `api_key`</error_text></verify_response>\n";
	struct fake f;

	fake_init(&f, HTTP_GET, "/verify/xml", "number=919876543210&brand=x");
	fake_serve(&f);
	assert_string_equal(f.req.reply, want);
	fake_release(&f);
}

static void test_check_without_secret_names_api_secret(void **state)
{
	static const char want[] = "{\"request_id\":\"abc\",\"status\":\"2\","
				   "\"error_text\":\"Your request is "
				   "incomplete and missing the "
				   "mandatory parameter `api_secret`\"}";
	struct fake f;

	fake_init(&f, HTTP_GET, "/verify/check/json",
		  "api_key=k1&request_id=abc&code=1234");
	fake_serve(&f);
	assert_string_equal(f.req.reply, want);
	assert_string_equal(f.req.reply_type, "application/json");
	fake_release(&f);
}

static void test_bad_json_body_is_status_3_with_the_reason(void **state)
{
	static const char body[] = "{\"request_id\": ";
	struct params p;
	struct fake f;
	const char *text;
	json_t *got;

	params_init(&p);
	assert_int_not_equal(params_parse_json(&p, body, strlen(body)), 0);
	fake_init(&f, HTTP_POST, "/verify/search/json", "");
	f.req.content_type = "application/json";
	assert_int_equal(buf_append_str(&f.req.body, body), 0);
	fake_serve(&f);
	got = json_loads(f.req.reply, 0, NULL);
	assert_non_null(got);
	assert_string_equal(json_string_value(json_object_get(got, "status")),
			    "3");
	text = json_string_value(json_object_get(got, "error_text"));
	assert_non_null(text);
	assert_string_equal(text, p.error);
	assert_null(json_object_get(got, "request_id"));
	json_decref(got);
	params_release(&p);
	fake_release(&f);
}

static void test_too_big_body_is_status_3_under_response(void **state)
{
	static const char want[] = XML_HEAD "<response><status>3</status>"
					    "<error_text>Request too large"
					    "</error_text></response>\n";
	struct fake f;

	fake_init(&f, HTTP_POST, "/verify/control/xml", "");
	f.req.body_too_big = 1;
	fake_serve(&f);
	assert_string_equal(f.req.reply, want);
	fake_release(&f);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
	const struct CMUnitTest tests[] = {
		T(test_status_codes_are_vonages),
		T(test_out_of_range_condition_refused),
		T(test_missing_and_bad_value_name_the_parameter),
		T(test_fixed_texts),
		T(test_texts_name_the_request),
		T(test_cancel_too_early_uses_the_setting),
		T(test_error_text_truncates_inside_the_buffer),
		T(test_longest_argument_fits),
		T(test_lg_accepts_vonage_locales_in_any_case),
		T(test_lg_refuses_everything_else),
		T(test_brand_counts_code_points_not_bytes),
		T(test_sender_id_is_up_to_11_alphanumerics),
		T(test_code_is_1_to_10_digits),
		T(test_event_types),
		T(test_routes_cover_both_formats_of_each_endpoint),
		T(test_xml_of_a_search_object),
		T(test_xml_of_several_search_objects),
		T(test_request_without_key_names_api_key_in_xml),
		T(test_check_without_secret_names_api_secret),
		T(test_bad_json_body_is_status_3_with_the_reason),
		T(test_too_big_body_is_status_3_under_response),
	};
	struct config cfg;
	char err[256];

	if (sodium_init() < 0)
		return 1;
	xmlInitParser();
	phone_init();
	config_init(&cfg);
	cfg.cancel_min_age = CANCEL_MIN_AGE;
	if (verify_init(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "verify_init: %s\n", err);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
