/*
 * Unit tests of the DLT SMS templates (sms.h): segment counting in GSM-7
 * and UCS-2, the template files' validation (errors name file and line),
 * exact filling with the autofill line, refusals, and the shipped set.
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

#include "err.h"
#include "sms.h"

/* The limits `serve` uses by default: 10 digits, 60 minutes. */
static const struct sms_limits limits = {.code_max = 10, .minutes_max = 60};

static void expect_count(const char *text, enum sms_encoding enc, int units,
			 int segments)
{
	struct sms_count c;

	assert_int_equal(sms_count(text, &c), 0);
	if (c.encoding != enc || c.units != units || c.segments != segments)
		fail_msg("\"%s\": expected %s %d units %d segments, got %s %d "
			 "%d",
			 text, sms_encoding_name(enc), units, segments,
			 sms_encoding_name(c.encoding), c.units, c.segments);
}

/* n copies of the UTF-8 character ch. */
static char *repeat(const char *ch, int n)
{
	size_t len = strlen(ch);
	char *s = malloc(len * (size_t)n + 1);

	assert_non_null(s);
	for (int i = 0; i < n; i++)
		memcpy(s + len * (size_t)i, ch, len);
	s[len * (size_t)n] = '\0';
	return s;
}

static void test_count_gsm7(void **state)
{
	char *s;

	expect_count("", SMS_GSM7, 0, 1);
	expect_count("Acme code: 123456. Valid for 5 min.", SMS_GSM7, 35, 1);
	/* é, £ and Δ are in the default alphabet. */
	expect_count("Café £5 Δ", SMS_GSM7, 9, 1);
	/* The extension table costs two septets: € [ ] { } ~ ^ | \ */
	expect_count("€", SMS_GSM7, 2, 1);
	expect_count("[x]{y}~^|\\", SMS_GSM7, 18, 1);
	s = repeat("a", 160);
	expect_count(s, SMS_GSM7, 160, 1);
	free(s);
	s = repeat("a", 161);
	expect_count(s, SMS_GSM7, 161, 2);
	free(s);
	s = repeat("a", 306);
	expect_count(s, SMS_GSM7, 306, 2);
	free(s);
	s = repeat("a", 307);
	expect_count(s, SMS_GSM7, 307, 3);
	free(s);
	/* 80 euro signs: 160 septets, one segment; 81: two. */
	s = repeat("€", 80);
	expect_count(s, SMS_GSM7, 160, 1);
	free(s);
	s = repeat("€", 81);
	expect_count(s, SMS_GSM7, 162, 2);
	free(s);
}

static void test_count_ucs2(void **state)
{
	char *s;

	/* '`' is not GSM-7: the whole text goes as UCS-2. */
	expect_count("a`b", SMS_UCS2, 3, 1);
	expect_count("कोड 1234", SMS_UCS2, 8, 1);
	s = repeat("क", 70);
	expect_count(s, SMS_UCS2, 70, 1);
	free(s);
	s = repeat("क", 71);
	expect_count(s, SMS_UCS2, 71, 2);
	free(s);
	s = repeat("क", 134);
	expect_count(s, SMS_UCS2, 134, 2);
	free(s);
	s = repeat("क", 135);
	expect_count(s, SMS_UCS2, 135, 3);
	free(s);
	/* Beyond the BMP: two UTF-16 code units each. */
	s = repeat("😀", 35);
	expect_count(s, SMS_UCS2, 70, 1);
	free(s);
	s = repeat("😀", 36);
	expect_count(s, SMS_UCS2, 72, 2);
	free(s);
}

static void test_count_refuses_bad_utf8(void **state)
{
	struct sms_count c;

	assert_int_equal(sms_count("a\xff", &c), KV_EINVAL);
	assert_int_equal(sms_count("\xc0\x80", &c), KV_EINVAL); /* overlong */
	assert_int_equal(sms_count("\xed\xa0\x80", &c),
			 KV_EINVAL);                            /* surrogate */
	assert_int_equal(sms_count("\xe0\xa4", &c), KV_EINVAL); /* cut */
	assert_int_equal(sms_chars("कोड"), 3);
	assert_int_equal(sms_chars("\xff"), -1);
}

/* Writes text to a temporary file whose path goes in path (64 bytes). */
static void write_file(char *path, const char *text)
{
	int fd;
	FILE *f;

	snprintf(path, 64, "/tmp/kv-sms-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define GOOD_HEAD                                                              \
	"# a comment\n"                                                        \
	"template_id = 1107161234567890123\n"                                  \
	"entity_id = 1201159876543210\n"                                       \
	"header = ACMEIN\n"

/* Parses text; expects rc and, on an error, "<path>:<line>: " + why. */
static void expect_parse(const char *text, int rc, int line, const char *why)
{
	char path[64], err[512], want[600];
	struct sms_template t;
	int got;

	write_file(path, text);
	got = sms_template_parse(path, &limits, &t, err, sizeof(err));
	if (got != rc)
		fail_msg("expected %d, got %d (%s)", rc, got, rc ? "" : err);
	if (rc != 0) {
		if (line > 0)
			snprintf(want, sizeof(want), "%s:%d: ", path, line);
		else
			snprintf(want, sizeof(want), "%s: ", path);
		if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, why))
			fail_msg("expected \"%s...%s\", got \"%s\"", want, why,
				 err);
	}
	unlink(path);
}

static void test_parse_good(void **state)
{
	char path[64], err[256];
	struct sms_template t;

	write_file(path, GOOD_HEAD "values = brand code minutes\n"
				   "text = {#var#} code: {#var#}.\n"
				   "text = Valid {#var#} min.\n");
	assert_int_equal(
		sms_template_parse(path, &limits, &t, err, sizeof(err)), 0);
	unlink(path);
	assert_string_equal(t.template_id, "1107161234567890123");
	assert_string_equal(t.entity_id, "1201159876543210");
	assert_string_equal(t.header, "ACMEIN");
	assert_string_equal(t.text,
			    "{#var#} code: {#var#}.\nValid {#var#} min.");
	assert_int_equal(t.nvalues, 3);
	assert_int_equal(t.values[0], SMS_VALUE_BRAND);
	assert_int_equal(t.values[1], SMS_VALUE_CODE);
	assert_int_equal(t.values[2], SMS_VALUE_MINUTES);
}

static void test_parse_errors_name_file_and_line(void **state)
{
	expect_parse(GOOD_HEAD "values = brand pin\ntext = {#var#} {#var#}\n",
		     KV_EINVAL, 5, "unknown value name");
	expect_parse(GOOD_HEAD "values = code\ntext = {#var#} {#var#}\n",
		     KV_EINVAL, 6, "do not pair up");
	expect_parse("template_id = 110716123456789012\n", KV_EINVAL, 1,
		     "19 digits");
	expect_parse("template_id = 11071612345678901234\n", KV_EINVAL, 1,
		     "19 digits");
	expect_parse("# x\nheader = ACME\n", KV_EINVAL, 2, "6 letters");
	expect_parse("header = ACME12\n", KV_EINVAL, 1, "6 letters");
	expect_parse("entity_id = 12a\n", KV_EINVAL, 1, "entity_id");
	expect_parse("colour = red\n", KV_EINVAL, 1, "unknown field");
	expect_parse("just words\n", KV_EINVAL, 1, "name = value");
	expect_parse(GOOD_HEAD "header = ACMEIN\n", KV_EINVAL, 5, "twice");
	expect_parse(GOOD_HEAD, KV_EINVAL, 0, "needs");
}

static void test_parse_refuses_over_one_segment(void **state)
{
	char text[1024];
	char *pad = repeat("x", 100);

	/* 100 + 30 (brand) + 56 (autofill) > 160: the error says so. */
	snprintf(text, sizeof(text),
		 GOOD_HEAD "values = brand code\ntext = %s {#var#} {#var#}\n",
		 pad);
	expect_parse(text, KV_EINVAL, 6, "over one SMS segment");
	free(pad);
	/* Hindi with a brand: UCS-2 has 70 units, not enough. */
	expect_parse(GOOD_HEAD
		     "values = brand code\ntext = {#var#} कोड {#var#}\n",
		     KV_EINVAL, 6, "over one SMS segment");
	/* A slot of minutes whose longest value is over 30 characters is
	 * impossible with these limits; a code slot of 31 digits is not. */
	{
		struct sms_limits big = {.code_max = 31, .minutes_max = 60};
		char path[64], err[256];
		struct sms_template t;

		write_file(path, GOOD_HEAD "values = code\ntext = {#var#}\n");
		assert_int_equal(sms_template_parse(path, &big, &t, err,
						    sizeof(err)),
				 KV_EINVAL);
		assert_non_null(strstr(err, "code slot could hold more"));
		unlink(path);
	}
}

static const struct sms_template en = {
	.text = "{#var#} code: {#var#}. Valid for {#var#} min.",
	.values = {SMS_VALUE_BRAND, SMS_VALUE_CODE, SMS_VALUE_MINUTES},
	.nvalues = 3,
};

static void test_fill_exact_with_autofill(void **state)
{
	char out[SMS_TEXT_MAX];
	struct sms_count c;
	const char *bad;
	struct sms_fill_in in = {
		.code = "123456", .brand = "Shop", .minutes = 5};

	assert_int_equal(sms_fill(&en, &in, out, &c, &bad), 0);
	assert_string_equal(out, "Shop code: 123456. Valid for 5 min.");
	assert_int_equal(c.encoding, SMS_GSM7);
	in.host = "shop.example";
	in.app_hash = "FA+9qCX9VSu";
	assert_int_equal(sms_fill(&en, &in, out, &c, &bad), 0);
	assert_string_equal(out, "Shop code: 123456. Valid for 5 min.\n"
				 "@shop.example #123456 FA+9qCX9VSu");
	in.app_hash = NULL;
	assert_int_equal(sms_fill(&en, &in, out, &c, &bad), 0);
	assert_string_equal(out, "Shop code: 123456. Valid for 5 min.\n"
				 "@shop.example #123456");
	in.host = "";
	in.app_hash = "FA+9qCX9VSu";
	assert_int_equal(sms_fill(&en, &in, out, &c, &bad), 0);
	assert_string_equal(out, "Shop code: 123456. Valid for 5 min.\n"
				 "FA+9qCX9VSu");
	/* A brand that looks like a slot is copied, not expanded. */
	in.brand = "{#var#}%s";
	in.app_hash = NULL;
	assert_int_equal(sms_fill(&en, &in, out, &c, &bad), 0);
	assert_string_equal(out, "{#var#}%s code: 123456. Valid for 5 min.");
}

static void test_fill_refuses_never_truncates(void **state)
{
	char out[SMS_TEXT_MAX];
	struct sms_count c;
	const char *bad;
	char *b31 = repeat("B", 31), *b30 = repeat("B", 30);
	struct sms_fill_in in = {.code = "123456", .brand = b31, .minutes = 5};

	assert_int_equal(sms_fill(&en, &in, out, &c, &bad), KV_ERANGE);
	assert_string_equal(bad, "brand");
	in.brand = b30;
	assert_int_equal(sms_fill(&en, &in, out, &c, &bad), 0);
	/* A Devanagari brand turns the text to UCS-2: 70 units, which the
	 * autofill line then overflows. */
	free(b30);
	b30 = repeat("क", 30);
	in.brand = b30;
	assert_int_equal(sms_fill(&en, &in, out, &c, &bad), 0);
	assert_int_equal(c.encoding, SMS_UCS2);
	in.host = "shop.example";
	in.app_hash = "FA+9qCX9VSu";
	assert_int_equal(sms_fill(&en, &in, out, &c, &bad), KV_ERANGE);
	assert_string_equal(bad, "brand");
	in.brand = "Shop";
	in.host = "a-very-long-host-name.example.com";
	assert_int_equal(sms_fill(&en, &in, out, &c, &bad), KV_ERANGE);
	assert_string_equal(bad, "origin");
	free(b31);
	free(b30);
}

static void test_app_hash(void **state)
{
	assert_true(sms_app_hash_valid("FA+9qCX9VSu"));
	assert_true(sms_app_hash_valid("abc/DEF+123"));
	assert_false(sms_app_hash_valid("FA+9qCX9VS"));
	assert_false(sms_app_hash_valid("FA+9qCX9VSuu"));
	assert_false(sms_app_hash_valid("FA-9qCX9VSu"));
	assert_false(sms_app_hash_valid("FA 9qCX9VSu"));
	assert_false(sms_app_hash_valid(NULL));
}

/*
 * Every shipped template loads (so the worst case fits one segment), and
 * with every value at its longest and both autofill lines it is one
 * segment; texts differ only in their values (DLT's fixed text).
 */
static void test_shipped_templates(void **state)
{
	static const char *const langs[] = {"en", "hi"};
	char err[512], out[SMS_TEXT_MAX];
	char *brand = repeat("X", 30), *host = repeat("h", 30);
	struct sms_count c;
	const char *bad;

	if (sms_templates_load("sms_templates", &limits, err, sizeof(err)))
		fail_msg("%s", err);
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++) {
		const struct sms_template *t = sms_template_pin(langs[i]);
		struct sms_fill_in in = {.code = "1234567890",
					 .brand = brand,
					 .minutes = 60,
					 .host = host,
					 .app_hash = "FA+9qCX9VSu"};

		assert_non_null(t);
		assert_int_equal(strlen(t->template_id), 19);
		assert_int_equal(strlen(t->header), 6);
		if (sms_fill(t, &in, out, &c, &bad) != 0 || c.segments != 1)
			fail_msg("%s: over one segment: %s", langs[i], out);
		assert_string_equal(sms_encoding_name(c.encoding),
				    i == 0 ? "gsm7" : "ucs2");
	}
	assert_ptr_equal(sms_template_pin("hi-IN"), sms_template_pin("hi"));
	assert_ptr_equal(sms_template_pin("fr-fr"), sms_template_pin("en"));
	assert_ptr_equal(sms_template_pin(NULL), sms_template_pin("en"));
	assert_string_equal(sms_language("HI_in"), "hi");
	assert_string_equal(sms_language("hindi"), "en");
	/* Request time: a code of 6 digits, a 31-character brand refused. */
	assert_int_equal(sms_pin_fits("en", "Shop", 6, 5, "shop.example",
				      "FA+9qCX9VSu", &bad),
			 0);
	free(brand);
	brand = repeat("X", 31);
	assert_int_equal(sms_pin_fits("en", brand, 6, 5, NULL, NULL, &bad),
			 KV_ERANGE);
	assert_string_equal(bad, "brand");
	free(brand);
	free(host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_gsm7),
		cmocka_unit_test(test_count_ucs2),
		cmocka_unit_test(test_count_refuses_bad_utf8),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_errors_name_file_and_line),
		cmocka_unit_test(test_parse_refuses_over_one_segment),
		cmocka_unit_test(test_fill_exact_with_autofill),
		cmocka_unit_test(test_fill_refuses_never_truncates),
		cmocka_unit_test(test_app_hash),
		cmocka_unit_test(test_shipped_templates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
