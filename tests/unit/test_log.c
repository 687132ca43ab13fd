/*
 * Unit tests for the log module (src/log.c, src/log_json.c): the same
 * events in the text and JSON formats, JSON lines that parse and carry
 * the context and fields, masking of numbers, escaping of input that would
 * split or forge a line, and level filtering.  Lines go to a temp file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static FILE *sink;

static int setup(void **state)
{
	(void)state;
	sink = tmpfile();
	if (!sink)
		return -1;
	log_set_stream(sink);
	log_set_level(LOG_INFO);
	log_set_format(LOG_FORMAT_TEXT);
	log_context_clear();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_stream(NULL);
	log_context_clear();
	fclose(sink);
	return 0;
}

/* Everything written since setup, NUL-terminated, in buf. */
static const char *written(char *buf, size_t size)
{
	size_t n;

	fflush(sink);
	rewind(sink);
	n = fread(buf, 1, size - 1, sink);
	buf[n] = '\0';
	return buf;
}

/* Forgets what was written so far. */
static void empty_sink(void)
{
	fflush(sink);
	rewind(sink);
	assert_int_equal(ftruncate(fileno(sink), 0), 0);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The one JSON line written; fails unless there is exactly one. */
static json_t *json_line(void)
{
	char buf[4096];
	json_error_t jerr;
	const char *s = written(buf, sizeof(buf));
	json_t *o;

	if (count_lines(s) != 1)
		fail_msg("expected one line, got:\n%s", s);
	o = json_loads(s, 0, &jerr);
	if (!json_is_object(o))
		fail_msg("not a JSON object (%s): %s", jerr.text, s);
	return o;
}

static void assert_json_str(json_t *o, const char *key, const char *want)
{
	const char *got = json_string_value(json_object_get(o, key));

	if (!got || strcmp(got, want) != 0)
		fail_msg("\"%s\": expected \"%s\", got \"%s\"", key, want,
			 got ? got : "(missing)");
}

static void log_sms_sent(void)
{
	log_info("sms.sent", LOG_INT("job", 42), LOG_STR("provider_id", "m-1"),
		 LOG_NUMBER("to", "919876543210"));
}

static void test_text_line(void **state)
{
	char buf[4096];
	const char *s;

	(void)state;
	log_context_request_id("0123456789abcdef0123456789abcdef");
	log_context_key("k123");
	log_sms_sent();
	s = written(buf, sizeof(buf));
	/* "2026-12-05T18:24:38.123Z info sms.sent ...": time, level, event. */
	assert_int_equal(strlen(s) > 25 && s[4] == '-' && s[10] == 'T' &&
				 s[23] == 'Z',
			 1);
	assert_non_null(strstr(s, "Z info sms.sent request_id=0123456789abcdef"
				  "0123456789abcdef key=k123 job=42 "
				  "provider_id=m-1 to=+91********10\n"));
	assert_int_equal(count_lines(s), 1);
}

static void test_json_line_carries_the_same_event(void **state)
{
	json_t *o;
	const char *keys[] = {"time", "level", "event",       "request_id",
			      "key",  "job",   "provider_id", "to"};
	const char *key;
	json_t *v;
	size_t i = 0;

	(void)state;
	log_set_format(LOG_FORMAT_JSON);
	log_context_request_id("0123456789abcdef0123456789abcdef");
	log_context_key("k123");
	log_sms_sent();
	o = json_line();
	/* In this order: the line, its context, then the event's fields. */
	json_object_foreach (o, key, v) {
		assert_true(i < ARRAY_LEN(keys));
		assert_string_equal(key, keys[i++]);
	}
	assert_int_equal(i, ARRAY_LEN(keys));
	assert_json_str(o, "level", "info");
	assert_json_str(o, "event", "sms.sent");
	assert_json_str(o, "request_id", "0123456789abcdef0123456789abcdef");
	assert_json_str(o, "key", "k123");
	assert_int_equal(json_integer_value(json_object_get(o, "job")), 42);
	assert_json_str(o, "to", "+91********10");
	/* RFC 3339 UTC with milliseconds. */
	assert_int_equal(strlen(json_string_value(json_object_get(o, "time"))),
			 24);
	json_decref(o);
}

static void test_context_number_is_masked(void **state)
{
	char buf[4096];
	json_t *o;

	(void)state;
	log_context_number("919876543210");
	log_info("verify.requested");
	assert_null(strstr(written(buf, sizeof(buf)), "9876543210"));
	assert_non_null(strstr(buf, " number=+91********10\n"));
	empty_sink();
	log_set_format(LOG_FORMAT_JSON);
	log_info("verify.requested", LOG_NUMBER("from", "+919876543210"));
	o = json_line();
	assert_json_str(o, "number", "+91********10");
	assert_json_str(o, "from", "+91********10");
	json_decref(o);
}

static void test_context_cleared(void **state)
{
	char buf[4096];

	(void)state;
	log_context_request_id("0123456789abcdef0123456789abcdef");
	log_context_key("k123");
	log_context_number("919876543210");
	assert_string_equal(log_context_get_request_id(),
			    "0123456789abcdef0123456789abcdef");
	log_context_clear();
	log_info("server.stopped");
	assert_non_null(
		strstr(written(buf, sizeof(buf)), "Z info server.stopped\n"));
	assert_string_equal(log_context_get_request_id(), "");
}

/* A value that tries to end the line and start a forged one. */
static const char forged[] = "x\" level=error\n2026-01-01T00:00:00.000Z "
			     "error admin.login ok=\"1\r\t\x01\\";

static void test_text_escapes_input(void **state)
{
	char buf[4096];
	const char *s;

	(void)state;
	log_warn("ivr.refused", LOG_STR("why", forged),
		 LOG_STR("client", "127.0.0.1"));
	s = written(buf, sizeof(buf));
	assert_int_equal(count_lines(s), 1);
	assert_non_null(strstr(s, " warn ivr.refused why=\"x\\\" level=error"
				  "\\x0a2026-01-01T00:00:00.000Z error "
				  "admin.login ok=\\\"1\\x0d\\x09\\x01\\\\\" "
				  "client=127.0.0.1\n"));
}

static void test_json_escapes_input(void **state)
{
	json_t *o;

	(void)state;
	log_set_format(LOG_FORMAT_JSON);
	log_context_key("k\"1\n");
	log_warn("ivr.refused", LOG_STR("why", forged),
		 LOG_STR("level", "debug"));
	o = json_line();
	assert_json_str(o, "why", forged);
	assert_json_str(o, "key", "k\"1\n");
	/* A field cannot replace what the line says about itself. */
	assert_json_str(o, "level", "warn");
	json_decref(o);
}

static void test_json_invalid_utf8_kept(void **state)
{
	json_t *o;

	(void)state;
	log_set_format(LOG_FORMAT_JSON);
	log_info("http.server_message", LOG_STR("message", "bad \xff\xfe end"),
		 LOG_STRN("first", "abc\ndef", 3), LOG_STR("none", NULL));
	o = json_line();
	assert_json_str(o, "message", "bad ?? end");
	assert_json_str(o, "first", "abc");
	assert_true(json_is_null(json_object_get(o, "none")));
	json_decref(o);
}

static void test_long_value_stays_one_line(void **state)
{
	char big[3000];
	char buf[8192];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[100] = '\n';
	log_info("store.error", LOG_STR("error", big));
	assert_int_equal(count_lines(written(buf, sizeof(buf))), 1);
	empty_sink();
	log_set_format(LOG_FORMAT_JSON);
	log_info("store.error", LOG_STR("error", big));
	json_decref(json_line());
}

static void test_level_filter(void **state)
{
	char buf[4096];
	const char *s;

	(void)state;
	log_set_level(LOG_WARN);
	assert_false(log_enabled(LOG_INFO));
	assert_true(log_enabled(LOG_ERROR));
	log_debug("store.notice");
	log_info("server.started", LOG_INT("port", 1));
	log_warn("http.stop_waiting", LOG_INT("writes_in_flight", 2));
	log_error("store.error", LOG_STR("op", "insert"));
	s = written(buf, sizeof(buf));
	assert_int_equal(count_lines(s), 2);
	assert_null(strstr(s, "server.started"));
	assert_non_null(
		strstr(s, " warn http.stop_waiting writes_in_flight=2"));
	assert_non_null(strstr(s, " error store.error op=insert"));
}

static void test_parse_settings(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
	assert_int_equal(log_level_parse("error"), LOG_ERROR);
	assert_int_equal(log_level_parse("loud"), -1);
	assert_int_equal(log_format_parse("text"), LOG_FORMAT_TEXT);
	assert_int_equal(log_format_parse("json"), LOG_FORMAT_JSON);
	assert_int_equal(log_format_parse("xml"), -1);
	assert_int_equal(log_format_parse(NULL), -1);
}

static void test_double_field(void **state)
{
	char buf[4096];
	json_t *o;

	(void)state;
	log_info("http.access", LOG_DOUBLE("duration_ms", 1.23456));
	assert_non_null(
		strstr(written(buf, sizeof(buf)), " duration_ms=1.235\n"));
	empty_sink();
	log_set_format(LOG_FORMAT_JSON);
	log_info("http.access", LOG_DOUBLE("duration_ms", 1.23456));
	o = json_line();
	assert_true(json_real_value(json_object_get(o, "duration_ms")) ==
		    1.235);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_text_line),
		T(test_json_line_carries_the_same_event),
		T(test_context_number_is_masked),
		T(test_context_cleared),
		T(test_text_escapes_input),
		T(test_json_escapes_input),
		T(test_json_invalid_utf8_kept),
		T(test_long_value_stays_one_line),
		T(test_level_filter),
		T(test_parse_settings),
		T(test_double_field),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
