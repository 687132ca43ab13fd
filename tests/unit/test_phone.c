/*
 * Unit tests for the phone module (src/phone.cc): E.164 normalisation of
 * Indian and foreign numbers in every accepted input form, refusal of
 * invalid input, number types, log redaction and KooKoo's phone_no form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "err.h"
#include "phone.h"
#include "util.h"

/* Parses with default_country "IN" and no `country`; asserts success. */
static void parse_ok(const char *input, struct phone *p)
{
	int err = phone_parse(input, NULL, "IN", p);

	if (err != 0)
		fail_msg("phone_parse(\"%s\") = %d, expected 0", input, err);
}

static void assert_indian_mobile(const struct phone *p)
{
	assert_string_equal(p->e164, "+919876543210");
	assert_string_equal(p->digits, "919876543210");
	assert_string_equal(p->national, "9876543210");
	assert_string_equal(p->region, "IN");
	assert_int_equal(p->country_code, 91);
	assert_int_equal(p->type, PHONE_MOBILE);
}

static void test_indian_mobile_ten_digits(void **state)
{
	struct phone p;

	parse_ok("9876543210", &p);
	assert_indian_mobile(&p);
}

static void test_indian_mobile_trunk_zero(void **state)
{
	struct phone p;

	parse_ok("09876543210", &p);
	assert_indian_mobile(&p);
}

static void test_indian_mobile_91_without_plus(void **state)
{
	struct phone p;

	parse_ok("919876543210", &p);
	assert_indian_mobile(&p);
}

static void test_indian_mobile_e164_with_separators(void **state)
{
	struct phone p;

	parse_ok("+919876543210", &p);
	assert_indian_mobile(&p);
	parse_ok("+91 98765-43210", &p);
	assert_indian_mobile(&p);
	parse_ok("(+91) 98765.43210", &p);
	assert_indian_mobile(&p);
}

static void test_indian_mobile_through_idd_prefix(void **state)
{
	struct phone p;

	parse_ok("00919876543210", &p);
	assert_indian_mobile(&p);
}

/*
 * "+6042006276" is a valid Malaysian number: a 10-digit input must still be
 * tried as Indian first: the service is for Indian numbers before all.
 */
static void test_ten_digits_stay_indian_before_international(void **state)
{
	struct phone p;

	parse_ok("6042006276", &p);
	assert_string_equal(p.e164, "+916042006276");
	assert_string_equal(p.region, "IN");
	/* With '+' it is Malaysian, as written. */
	parse_ok("+6042006276", &p);
	assert_string_equal(p.region, "MY");
	assert_int_equal(p.country_code, 60);
}

static void test_indian_fixed_line_bangalore(void **state)
{
	struct phone p;

	parse_ok("08022345678", &p);
	assert_string_equal(p.e164, "+918022345678");
	assert_string_equal(p.national, "8022345678");
	assert_string_equal(p.region, "IN");
	assert_int_equal(p.type, PHONE_FIXED_LINE);
	parse_ok("080-2234 5678", &p);
	assert_string_equal(p.e164, "+918022345678");
}

/* Vonage clients send E.164 without the '+'. */
static void test_uk_mobile_without_plus(void **state)
{
	struct phone p;

	parse_ok("447400123456", &p);
	assert_string_equal(p.e164, "+447400123456");
	assert_string_equal(p.digits, "447400123456");
	assert_string_equal(p.national, "7400123456");
	assert_string_equal(p.region, "GB");
	assert_int_equal(p.country_code, 44);
	assert_int_equal(p.type, PHONE_MOBILE);
}

static void test_us_number_without_plus(void **state)
{
	struct phone p;

	parse_ok("14155550100", &p);
	assert_string_equal(p.e164, "+14155550100");
	assert_string_equal(p.national, "4155550100");
	assert_string_equal(p.region, "US");
	assert_int_equal(p.country_code, 1);
	/* The US numbering plan does not tell mobiles from landlines. */
	assert_int_equal(p.type, PHONE_FIXED_LINE_OR_MOBILE);
}

static void test_country_parameter_sets_region(void **state)
{
	struct phone p;

	assert_int_equal(phone_parse("07400123456", "GB", "IN", &p), 0);
	assert_string_equal(p.e164, "+447400123456");
	/* Any case; a number already carrying the code is understood. */
	assert_int_equal(phone_parse("447400123456", "gb", "IN", &p), 0);
	assert_string_equal(p.e164, "+447400123456");
	/* A '+' number keeps its own country whatever `country` says. */
	assert_int_equal(phone_parse("+919876543210", "GB", "IN", &p), 0);
	assert_string_equal(p.region, "IN");
	/* `country` replaces the default: not a valid US number. */
	assert_int_equal(phone_parse("9876543210", "US", "IN", &p), KV_EINVAL);
}

static void test_unknown_country_refused(void **state)
{
	struct phone p;

	assert_int_equal(phone_parse("07400123456", "XX", "IN", &p), KV_EINVAL);
	assert_int_equal(phone_parse("07400123456", "ZZ", "IN", &p), KV_EINVAL);
	assert_int_equal(phone_parse("07400123456", "GBR", "IN", &p),
			 KV_EINVAL);
	assert_int_equal(phone_parse("07400123456", "", "IN", &p), KV_EINVAL);
	assert_int_equal(phone_parse("07400123456", "G1", "IN", &p), KV_EINVAL);
	assert_int_equal(phone_check_region("IN"), 0);
	assert_int_equal(phone_check_region("in"), 0);
	assert_int_equal(phone_check_region("XX"), KV_EINVAL);
	assert_int_equal(phone_check_region(NULL), KV_EINVAL);
}

static void test_no_default_country_needs_international(void **state)
{
	struct phone p;

	assert_int_equal(phone_parse("919876543210", NULL, NULL, &p), 0);
	assert_string_equal(p.e164, "+919876543210");
	assert_int_equal(phone_parse("9876543210", NULL, NULL, &p), KV_EINVAL);
}

static void assert_invalid(const char *input)
{
	struct phone p;
	int err;

	memset(&p, 'x', sizeof(p));
	err = phone_parse(input, NULL, "IN", &p);
	if (err != KV_EINVAL)
		fail_msg("phone_parse(\"%s\") = %d, expected KV_EINVAL",
			 input ? input : "(null)", err);
	/* Nothing half-filled is left behind. */
	assert_string_equal(p.e164, "");
	assert_string_equal(p.digits, "");
	assert_int_equal(p.country_code, 0);
}

static void test_invalid_inputs_refused(void **state)
{
	assert_invalid("98765"); /* too short */
	assert_invalid("12");
	assert_invalid("98765abcde");        /* letters */
	assert_invalid("1-800-FLOWERS");     /* vanity number */
	assert_invalid("9876543210 ext 12"); /* extension */
	assert_invalid("tel:+919876543210");
	assert_invalid("");
	assert_invalid("   ");
	assert_invalid("+");
	assert_invalid("++919876543210");
	assert_invalid("9198+76543210"); /* '+' inside */
	assert_invalid("91987654321");   /* 91 + 9 digits */
	assert_invalid("1234567890123456789012345678901234567890");
	/* 33 characters, although only 12 digits. */
	assert_invalid("9 1 9 8 7 6 5 4 3 2 1 0          ");
	assert_invalid("5555555555"); /* no plan says valid */
	assert_invalid(NULL);
	assert_int_equal(phone_parse("9876543210", NULL, "IN", NULL),
			 KV_EINVAL);
}

static void test_non_geographic_number_has_empty_region(void **state)
{
	struct phone p;

	parse_ok("+80012345678", &p);
	assert_int_equal(p.country_code, 800);
	assert_string_equal(p.region, "");
	assert_int_equal(p.type, PHONE_TOLL_FREE);
}

static void test_parse_digits_round_trip(void **state)
{
	struct phone a, b;

	parse_ok("08022345678", &a);
	assert_int_equal(phone_parse_digits(a.digits, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(phone_parse_digits("447400123456", &b), 0);
	assert_string_equal(b.region, "GB");
	/* Stored digits are never national and never carry a '+'. */
	assert_int_equal(phone_parse_digits("9876543210", &b), KV_EINVAL);
	assert_int_equal(phone_parse_digits("+919876543210", &b), KV_EINVAL);
	assert_int_equal(phone_parse_digits("", &b), KV_EINVAL);
	assert_int_equal(phone_parse_digits("1234567890123456", &b), KV_EINVAL);
	assert_int_equal(phone_parse_digits(NULL, &b), KV_EINVAL);
}

static void test_type_names(void **state)
{
	static const struct {
		enum phone_type type;
		const char *name;
	} names[] = {
		{PHONE_MOBILE, "mobile"},
		{PHONE_FIXED_LINE, "fixed_line"},
		{PHONE_FIXED_LINE_OR_MOBILE, "fixed_line_or_mobile"},
		{PHONE_VOIP, "voip"},
		{PHONE_TOLL_FREE, "toll_free"},
		{PHONE_PREMIUM_RATE, "premium_rate"},
		{PHONE_OTHER, "other"},
		{PHONE_SHARED_COST, "shared_cost"},
		{PHONE_PERSONAL, "personal_number"},
		{PHONE_PAGER, "pager"},
		{PHONE_UAN, "uan"},
		{PHONE_VOICEMAIL, "voicemail"},
		{PHONE_UNKNOWN, "unknown"},
		{(enum phone_type)99, "unknown"},
	};

	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		assert_string_equal(phone_type_name(names[i].type),
				    names[i].name);
}

/*
 * Issue 11: Indian toll-free (1800) and UAN (1860) numbers were accepted
 * and sent SMS.  Each type is classified, and refused or not, by the table
 * in phone.cc.
 */
static void test_types_that_cannot_receive_codes(void **state)
{
	static const struct {
		const char *input;
		enum phone_type type;
		const char *refusal; /* a word the reason must hold; NULL: ok */
	} cases[] = {
		{"18001234567", PHONE_TOLL_FREE, "toll-free"},
		{"1800123456", PHONE_TOLL_FREE, "toll-free"},
		{"+9118001234567", PHONE_TOLL_FREE, "toll-free"},
		/* India's 1860 "UAN" lines are shared cost to libphonenumber. */
		{"18601234567", PHONE_SHARED_COST, "shared-cost"},
		{"+18005550100", PHONE_TOLL_FREE, "toll-free"},
		{"+19005550100", PHONE_PREMIUM_RATE, "premium-rate"},
		{"+449098790000", PHONE_PREMIUM_RATE, "premium-rate"},
		{"+33801234567", PHONE_TOLL_FREE, "toll-free"},
		{"+80012345678", PHONE_TOLL_FREE, "toll-free"},
		{"+447012345678", PHONE_PERSONAL, "personal"},
		{"+447640123456", PHONE_PAGER, "pager"},
		{"+61131234", PHONE_SHARED_COST, "shared-cost"},
		{"+445512345678", PHONE_UAN, "UAN"},
		/* Verified as before: fixed lines start with the call. */
		{"9876543210", PHONE_MOBILE, NULL},
		{"08041234567", PHONE_FIXED_LINE, NULL},
		{"+14155552671", PHONE_FIXED_LINE_OR_MOBILE, NULL},
	};
	struct phone p;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const char *why;

		assert_int_equal(phone_parse(cases[i].input, NULL, "IN", &p),
				 0);
		if (p.type != cases[i].type)
			fail_msg("%s: type %s, expected %s", cases[i].input,
				 phone_type_name(p.type),
				 phone_type_name(cases[i].type));
		why = phone_type_refusal(p.type);
		if (!cases[i].refusal) {
			assert_null(why);
			continue;
		}
		assert_non_null(why);
		assert_non_null(strstr(why, cases[i].refusal));
	}
	/* VoIP, "other" and values outside the enum are not refused. */
	assert_null(phone_type_refusal(PHONE_VOIP));
	assert_null(phone_type_refusal(PHONE_OTHER));
	assert_null(phone_type_refusal((enum phone_type)99));
	assert_non_null(phone_type_refusal(PHONE_VOICEMAIL));
}

static void assert_redacted(const char *in, const char *want)
{
	char out[PHONE_REDACT_LEN];

	memset(out, 'x', sizeof(out));
	phone_redact(in, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_redact_keeps_country_code_and_last_two(void **state)
{
	assert_redacted("+919876543210", "+91********10");
	assert_redacted("919876543210", "+91********10");
	assert_redacted("+14155550100", "+1********00");
	assert_redacted("+447400123456", "+44********56");
	assert_redacted("+80012345678", "+800******78");
	/* Longest E.164 number fills the buffer exactly. */
	assert_redacted("+123456789012345", "+1************45");
}

static void test_redact_hides_garbage_and_short_input(void **state)
{
	char small[5];

	assert_redacted("+9198765432ab", "(invalid)");
	assert_redacted("1234567890123456", "(invalid)");
	assert_redacted("", "(invalid)");
	assert_redacted("+", "(invalid)");
	assert_redacted(NULL, "(invalid)");
	/* Too short to keep both ends: the tail goes. */
	assert_redacted("+9198", "+91**");
	phone_redact("+919876543210", small, sizeof(small));
	assert_string_equal(small, "+91*");
}

static void test_kookoo_form(void **state)
{
	char out[PHONE_KOOKOO_LEN], small[4];
	struct phone p;

	parse_ok("+91 98765 43210", &p);
	phone_kookoo_form(&p, out, sizeof(out));
	assert_string_equal(out, "9876543210");
	parse_ok("08022345678", &p);
	phone_kookoo_form(&p, out, sizeof(out));
	assert_string_equal(out, "08022345678");
	parse_ok("447400123456", &p);
	phone_kookoo_form(&p, out, sizeof(out));
	assert_string_equal(out, "00447400123456");
	phone_kookoo_form(&p, small, sizeof(small));
	assert_string_equal(small, "004");
	phone_kookoo_form(NULL, out, sizeof(out));
	assert_string_equal(out, "");
}

/*
 * KooKoo's outbound docs: prefix 0 for STD numbers.  A fixed line is dialled
 * as 0 + STD code + subscriber number whatever the STD code's length, a
 * mobile stays 10 digits, however either was written.
 */
static void test_kookoo_form_dialling(void **state)
{
	static const struct {
		const char *input;
		enum phone_type type;
		const char *want;
	} cases[] = {
		/* Mobiles, from each way of writing them. */
		{"9876543210", PHONE_MOBILE, "9876543210"},
		{"09876543210", PHONE_MOBILE, "9876543210"},
		{"+91 70123 45678", PHONE_MOBILE, "7012345678"},
		{"916300012345", PHONE_MOBILE, "6300012345"},
		/* 612 is Patna's STD code, not a mobile range. */
		{"916123456789", PHONE_FIXED_LINE, "06123456789"},
		/* Two-digit STD codes: Delhi, Mumbai, Bengaluru. */
		{"911123456789", PHONE_FIXED_LINE, "01123456789"},
		{"+91 22 2345 6789", PHONE_FIXED_LINE, "02223456789"},
		{"08022345678", PHONE_FIXED_LINE, "08022345678"},
		/* Three-digit STD codes: Jaipur, Chandigarh. */
		{"+91 141 234 5678", PHONE_FIXED_LINE, "01412345678"},
		{"01722345678", PHONE_FIXED_LINE, "01722345678"},
		/* Four-digit STD codes. */
		{"+91 1342 234567", PHONE_FIXED_LINE, "01342234567"},
		{"+91 2836 234567", PHONE_FIXED_LINE, "02836234567"},
	};
	char out[PHONE_KOOKOO_LEN];
	struct phone p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(cases[i].input, &p);
		assert_int_equal(p.type, cases[i].type);
		phone_kookoo_form(&p, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
}

/* Each thread parses its own form of the same number many times. */
struct parse_job {
	const char *input;
	int failures;
};

static void *parse_many(void *arg)
{
	struct parse_job *job = arg;
	struct phone p;

	for (int n = 0; n < 200; n++) {
		if (phone_parse(job->input, NULL, "IN", &p) != 0 ||
		    strcmp(p.e164, "+919876543210") != 0)
			job->failures++;
	}
	return NULL;
}

static void test_parse_from_threads(void **state)
{
	struct parse_job jobs[] = {
		{"9876543210", 0},
		{"09876543210", 0},
		{"919876543210", 0},
		{"+919876543210", 0},
	};
	pthread_t t[ARRAY_LEN(jobs)];

	for (size_t i = 0; i < ARRAY_LEN(jobs); i++)
		assert_int_equal(
			pthread_create(&t[i], NULL, parse_many, &jobs[i]), 0);
	for (size_t i = 0; i < ARRAY_LEN(jobs); i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (jobs[i].failures != 0)
			fail_msg("\"%s\" failed %d of 200 times in a thread",
				 jobs[i].input, jobs[i].failures);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_indian_mobile_ten_digits),
		cmocka_unit_test(test_indian_mobile_trunk_zero),
		cmocka_unit_test(test_indian_mobile_91_without_plus),
		cmocka_unit_test(test_indian_mobile_e164_with_separators),
		cmocka_unit_test(test_indian_mobile_through_idd_prefix),
		cmocka_unit_test(
			test_ten_digits_stay_indian_before_international),
		cmocka_unit_test(test_indian_fixed_line_bangalore),
		cmocka_unit_test(test_uk_mobile_without_plus),
		cmocka_unit_test(test_us_number_without_plus),
		cmocka_unit_test(test_country_parameter_sets_region),
		cmocka_unit_test(test_unknown_country_refused),
		cmocka_unit_test(test_no_default_country_needs_international),
		cmocka_unit_test(test_invalid_inputs_refused),
		cmocka_unit_test(test_non_geographic_number_has_empty_region),
		cmocka_unit_test(test_parse_digits_round_trip),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_types_that_cannot_receive_codes),
		cmocka_unit_test(test_redact_keeps_country_code_and_last_two),
		cmocka_unit_test(test_redact_hides_garbage_and_short_input),
		cmocka_unit_test(test_kookoo_form),
		cmocka_unit_test(test_kookoo_form_dialling),
		cmocka_unit_test(test_parse_from_threads),
	};

	phone_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
