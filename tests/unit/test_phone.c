/*
 * Unit tests for the phone module (src/phone.cc): E.164 normalisation of
 * Indian and foreign numbers in every accepted input form, refusal of
 * invalid input, number types, log redaction and KooKoo's phone_no form.
 * Most cases are rows of tables (table.h), one cmocka test per row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "phone.h"
#include "table.h"
#include "util.h"

/* Parses with default_country "IN" and no `country`; asserts success. */
static void parse_ok(const char *input, struct phone *p)
{
	int err = phone_parse(input, NULL, "IN", p);

	if (err != 0)
		fail_msg("phone_parse(\"%s\") = %d, expected 0", input, err);
}

/* What a row of a table leaves unchecked: NULL strings, and these. */
#define ANY_CODE 0
#define ANY_TYPE (-1)

/* One input that parses, and what the parse must give. */
struct parse_case {
	const char *name;
	const char *input;
	const char *e164, *digits, *national, *region;
	int country_code; /* or ANY_CODE */
	int type;         /* an enum phone_type, or ANY_TYPE */
};

#define IN_MOBILE                                                              \
	"+919876543210", "919876543210", "9876543210", "IN", 91, PHONE_MOBILE

static struct parse_case parse_cases[] = {
	{"indian mobile, ten digits", "9876543210", IN_MOBILE},
	{"indian mobile, trunk zero", "09876543210", IN_MOBILE},
	{"indian mobile, 91 without plus", "919876543210", IN_MOBILE},
	{"indian mobile, e164", "+919876543210", IN_MOBILE},
	{"indian mobile, e164 with separators", "+91 98765-43210", IN_MOBILE},
	{"indian mobile, e164 in brackets and dots", "(+91) 98765.43210",
	 IN_MOBILE},
	{"indian mobile, through the IDD prefix", "00919876543210", IN_MOBILE},
	/*
	 * "+6042006276" is a valid Malaysian number: a 10-digit input must
	 * still be read as Indian first, the default country before any
	 * international reading.
	 */
	{"ten digits stay indian before international", "6042006276",
	 "+916042006276", NULL, NULL, "IN", ANY_CODE, ANY_TYPE},
	/* With '+' it is Malaysian, as written. */
	{"plus and ten digits is international", "+6042006276", NULL, NULL,
	 NULL, "MY", 60, ANY_TYPE},
	{"indian fixed line, bangalore", "08022345678", "+918022345678", NULL,
	 "8022345678", "IN", ANY_CODE, PHONE_FIXED_LINE},
	{"indian fixed line with separators", "080-2234 5678", "+918022345678",
	 NULL, NULL, NULL, ANY_CODE, ANY_TYPE},
	/* Vonage clients send E.164 without the '+'. */
	{"uk mobile without plus", "447400123456", "+447400123456",
	 "447400123456", "7400123456", "GB", 44, PHONE_MOBILE},
	/* The US numbering plan does not tell mobiles from landlines. */
	{"us number without plus", "14155550100", "+14155550100", NULL,
	 "4155550100", "US", 1, PHONE_FIXED_LINE_OR_MOBILE},
	{"non-geographic number has an empty region", "+80012345678", NULL,
	 NULL, NULL, "", 800, PHONE_TOLL_FREE},
};

static void test_parse(void **state)
{
	const struct parse_case *c = *state;
	struct phone p;

	parse_ok(c->input, &p);
	if (c->e164)
		assert_string_equal(p.e164, c->e164);
	if (c->digits)
		assert_string_equal(p.digits, c->digits);
	if (c->national)
		assert_string_equal(p.national, c->national);
	if (c->region)
		assert_string_equal(p.region, c->region);
	if (c->country_code != ANY_CODE)
		assert_int_equal(p.country_code, c->country_code);
	if (c->type != ANY_TYPE)
		assert_int_equal(p.type, c->type);
}

/* An input with `country` and `default_country`, and what it must give. */
struct country_case {
	const char *name;
	const char *input, *country, *default_country;
	int err;
	const char *e164, *region; /* NULL: not checked */
};

static struct country_case country_cases[] = {
	{"country sets the region", "07400123456", "GB", "IN", 0,
	 "+447400123456", NULL},
	/* Any case; a number already carrying the code is understood. */
	{"country in any case, number with its code", "447400123456", "gb",
	 "IN", 0, "+447400123456", NULL},
	/* A '+' number keeps its own country whatever `country` says. */
	{"plus number keeps its own country", "+919876543210", "GB", "IN", 0,
	 NULL, "IN"},
	/* `country` replaces the default: not a valid US number. */
	{"country replaces the default", "9876543210", "US", "IN", KV_EINVAL,
	 NULL, NULL},
	{"unknown country XX", "07400123456", "XX", "IN", KV_EINVAL, NULL,
	 NULL},
	{"unknown country ZZ", "07400123456", "ZZ", "IN", KV_EINVAL, NULL,
	 NULL},
	{"three-letter country", "07400123456", "GBR", "IN", KV_EINVAL, NULL,
	 NULL},
	{"empty country", "07400123456", "", "IN", KV_EINVAL, NULL, NULL},
	{"country with a digit", "07400123456", "G1", "IN", KV_EINVAL, NULL,
	 NULL},
	{"no default country, international", "919876543210", NULL, NULL, 0,
	 "+919876543210", NULL},
	{"no default country, national refused", "9876543210", NULL, NULL,
	 KV_EINVAL, NULL, NULL},
};

static void test_parse_country(void **state)
{
	const struct country_case *c = *state;
	struct phone p;

	assert_int_equal(phone_parse(c->input, c->country, c->default_country,
				     &p),
			 c->err);
	if (c->e164)
		assert_string_equal(p.e164, c->e164);
	if (c->region)
		assert_string_equal(p.region, c->region);
}

static void test_check_region(void **state)
{
	assert_int_equal(phone_check_region("IN"), 0);
	assert_int_equal(phone_check_region("in"), 0);
	assert_int_equal(phone_check_region("XX"), KV_EINVAL);
	assert_int_equal(phone_check_region(NULL), KV_EINVAL);
}

struct invalid_case {
	const char *name;
	const char *input;
};

static struct invalid_case invalid_cases[] = {
	{"too short", "98765"},
	{"two digits", "12"},
	{"letters", "98765abcde"},
	{"vanity number", "1-800-FLOWERS"},
	{"extension", "9876543210 ext 12"},
	{"tel URI", "tel:+919876543210"},
	{"empty", ""},
	{"spaces", "   "},
	{"plus alone", "+"},
	{"two plus signs", "++919876543210"},
	{"plus inside", "9198+76543210"},
	{"91 and nine digits", "91987654321"},
	{"forty digits", "1234567890123456789012345678901234567890"},
	/* 33 characters, although only 12 digits. */
	{"too long with spaces", "9 1 9 8 7 6 5 4 3 2 1 0          "},
	{"no plan says valid", "5555555555"},
	{"NULL", NULL},
};

static void test_invalid_input_refused(void **state)
{
	const struct invalid_case *c = *state;
	struct phone p;
	int err;

	memset(&p, 'x', sizeof(p));
	err = phone_parse(c->input, NULL, "IN", &p);
	if (err != KV_EINVAL)
		fail_msg("phone_parse(\"%s\") = %d, expected KV_EINVAL",
			 c->input ? c->input : "(null)", err);
	/* Nothing half-filled is left behind. */
	assert_string_equal(p.e164, "");
	assert_string_equal(p.digits, "");
	assert_int_equal(p.country_code, 0);
}

static void test_parse_needs_a_result(void **state)
{
	assert_int_equal(phone_parse("9876543210", NULL, "IN", NULL),
			 KV_EINVAL);
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

/*
 * A number whose E.164 form parses to another number would be stored as one
 * and read back as the other (found by fuzz/fuzz_phone.c): Mexico's old
 * mobile "1" is kept by one parse and dropped by the next.
 */
static void test_parse_is_stable_through_the_store(void **state)
{
	struct phone a, b;

	assert_int_equal(phone_parse("+52 1 415 555 2671", NULL, NULL, &a), 0);
	assert_string_equal(a.e164, "+524155552671");
	assert_int_equal(phone_parse_digits(a.digits, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(phone_parse(" 5 2114155552671", NULL, "IN", &a), 0);
	assert_int_equal(phone_parse_digits(a.digits, &b), 0);
	assert_string_equal(a.e164, b.e164);
}

/*
 * "+91" and ten digits is read without libphonenumber's Parse() (a shortcut
 * in src/phone.cc); "0091" and the same digits dialled from India, and the
 * stored digits, must read the same: the first through Parse(), whatever
 * the first digit and for a spread of the rest, valid or not.
 */
static void test_indian_numbers_read_alike_every_way(void **state)
{
	uint32_t seed = 12345;

	for (int first = 0; first <= 9; first++) {
		for (int i = 0; i < 400; i++) {
			char rest[16], plus[24], idd[24], digits[24];
			struct phone a, b, c;
			int ra, rb, rc;

			seed = seed * 1103515245u + 12345u;
			snprintf(rest, sizeof(rest), "%d%09u", first,
				 i == 0   ? 0u
				 : i == 1 ? 999999999u
					  : (unsigned)((seed >> 1) %
						       1000000000u));
			snprintf(plus, sizeof(plus), "+91%s", rest);
			snprintf(idd, sizeof(idd), "0091%s", rest);
			snprintf(digits, sizeof(digits), "91%s", rest);
			ra = phone_parse(plus, NULL, NULL, &a);
			rb = phone_parse(idd, NULL, "IN", &b);
			rc = phone_parse_digits(digits, &c);
			if (ra != rb || ra != rc)
				fail_msg("+91%s: %d, from India %d, stored %d",
					 rest, ra, rb, rc);
			assert_memory_equal(&a, &b, sizeof(a));
			assert_memory_equal(&a, &c, sizeof(a));
		}
	}
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
struct refusal_case {
	const char *name;
	const char *input;
	enum phone_type type;
	const char *refusal; /* a word the reason must hold; NULL: ok */
};

static struct refusal_case refusal_cases[] = {
	{"IN toll-free 1800, 11 digits", "18001234567", PHONE_TOLL_FREE,
	 "toll-free"},
	{"IN toll-free 1800, 10 digits", "1800123456", PHONE_TOLL_FREE,
	 "toll-free"},
	{"IN toll-free 1800, e164", "+9118001234567", PHONE_TOLL_FREE,
	 "toll-free"},
	/* India's 1860 "UAN" lines are shared cost to libphonenumber. */
	{"IN UAN 1860", "18601234567", PHONE_SHARED_COST, "shared-cost"},
	{"US toll-free", "+18005550100", PHONE_TOLL_FREE, "toll-free"},
	{"US premium rate", "+19005550100", PHONE_PREMIUM_RATE, "premium-rate"},
	{"GB premium rate", "+449098790000", PHONE_PREMIUM_RATE,
	 "premium-rate"},
	{"FR toll-free", "+33801234567", PHONE_TOLL_FREE, "toll-free"},
	{"international freephone", "+80012345678", PHONE_TOLL_FREE,
	 "toll-free"},
	{"GB personal number", "+447012345678", PHONE_PERSONAL, "personal"},
	{"GB pager", "+447640123456", PHONE_PAGER, "pager"},
	{"AU shared cost", "+61131234", PHONE_SHARED_COST, "shared-cost"},
	{"GB UAN", "+445512345678", PHONE_UAN, "UAN"},
	/* Verified as before: fixed lines start with the call. */
	{"IN mobile", "9876543210", PHONE_MOBILE, NULL},
	{"IN fixed line", "08041234567", PHONE_FIXED_LINE, NULL},
	{"US fixed line or mobile", "+14155552671", PHONE_FIXED_LINE_OR_MOBILE,
	 NULL},
};

static void test_type_refusal(void **state)
{
	const struct refusal_case *c = *state;
	const char *why;
	struct phone p;

	assert_int_equal(phone_parse(c->input, NULL, "IN", &p), 0);
	if (p.type != c->type)
		fail_msg("%s: type %s, expected %s", c->input,
			 phone_type_name(p.type), phone_type_name(c->type));
	why = phone_type_refusal(p.type);
	if (!c->refusal) {
		assert_null(why);
		return;
	}
	assert_non_null(why);
	assert_non_null(strstr(why, c->refusal));
}

static void test_types_refused_outside_the_numbers(void **state)
{
	/* VoIP, "other" and values outside the enum are not refused. */
	assert_null(phone_type_refusal(PHONE_VOIP));
	assert_null(phone_type_refusal(PHONE_OTHER));
	assert_null(phone_type_refusal((enum phone_type)99));
	assert_non_null(phone_type_refusal(PHONE_VOICEMAIL));
}

struct redact_case {
	const char *name;
	const char *in, *want;
};

static struct redact_case redact_cases[] = {
	/* Country code and the last two digits are kept. */
	{"IN e164", "+919876543210", "+91********10"},
	{"IN digits", "919876543210", "+91********10"},
	{"US", "+14155550100", "+1********00"},
	{"GB", "+447400123456", "+44********56"},
	{"three-digit code", "+80012345678", "+800******78"},
	/* Longest E.164 number fills the buffer exactly. */
	{"longest number", "+123456789012345", "+1************45"},
	/* Garbage and input that is not a number are hidden. */
	{"letters", "+9198765432ab", "(invalid)"},
	{"sixteen digits", "1234567890123456", "(invalid)"},
	{"empty", "", "(invalid)"},
	{"plus alone", "+", "(invalid)"},
	{"NULL", NULL, "(invalid)"},
	/* Too short to keep both ends: the tail goes. */
	{"too short for both ends", "+9198", "+91**"},
};

static void test_redact(void **state)
{
	const struct redact_case *c = *state;
	char out[PHONE_REDACT_LEN];

	memset(out, 'x', sizeof(out));
	phone_redact(c->in, out, sizeof(out));
	assert_string_equal(out, c->want);
}

static void test_redact_into_a_small_buffer(void **state)
{
	char small[5];

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
struct dial_case {
	const char *name;
	const char *input;
	enum phone_type type;
	const char *want;
};

static struct dial_case dial_cases[] = {
	/* Mobiles, from each way of writing them. */
	{"mobile, ten digits", "9876543210", PHONE_MOBILE, "9876543210"},
	{"mobile, trunk zero", "09876543210", PHONE_MOBILE, "9876543210"},
	{"mobile, e164 with spaces", "+91 70123 45678", PHONE_MOBILE,
	 "7012345678"},
	{"mobile, 91 without plus", "916300012345", PHONE_MOBILE, "6300012345"},
	/* 612 is Patna's STD code, not a mobile range. */
	{"patna, not a mobile range", "916123456789", PHONE_FIXED_LINE,
	 "06123456789"},
	/* Two-digit STD codes: Delhi, Mumbai, Bengaluru. */
	{"delhi", "911123456789", PHONE_FIXED_LINE, "01123456789"},
	{"mumbai", "+91 22 2345 6789", PHONE_FIXED_LINE, "02223456789"},
	{"bengaluru", "08022345678", PHONE_FIXED_LINE, "08022345678"},
	/* Three-digit STD codes: Jaipur, Chandigarh. */
	{"jaipur", "+91 141 234 5678", PHONE_FIXED_LINE, "01412345678"},
	{"chandigarh", "01722345678", PHONE_FIXED_LINE, "01722345678"},
	/* Four-digit STD codes. */
	{"four-digit STD code 1342", "+91 1342 234567", PHONE_FIXED_LINE,
	 "01342234567"},
	{"four-digit STD code 2836", "+91 2836 234567", PHONE_FIXED_LINE,
	 "02836234567"},
};

static void test_kookoo_form_dialling(void **state)
{
	const struct dial_case *c = *state;
	char out[PHONE_KOOKOO_LEN];
	struct phone p;

	parse_ok(c->input, &p);
	assert_int_equal(p.type, c->type);
	phone_kookoo_form(&p, out, sizeof(out));
	assert_string_equal(out, c->want);
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
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_region),
		cmocka_unit_test(test_parse_needs_a_result),
		cmocka_unit_test(test_parse_digits_round_trip),
		cmocka_unit_test(test_parse_is_stable_through_the_store),
		cmocka_unit_test(test_indian_numbers_read_alike_every_way),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_types_refused_outside_the_numbers),
		cmocka_unit_test(test_redact_into_a_small_buffer),
		cmocka_unit_test(test_kookoo_form),
		cmocka_unit_test(test_parse_from_threads),
	};
	static struct table_tests all;

	TABLE_ADD(&all, test_parse, parse_cases);
	TABLE_ADD(&all, test_parse_country, country_cases);
	TABLE_ADD(&all, test_invalid_input_refused, invalid_cases);
	TABLE_ADD(&all, test_type_refusal, refusal_cases);
	TABLE_ADD(&all, test_redact, redact_cases);
	TABLE_ADD(&all, test_kookoo_form_dialling, dial_cases);
	table_add_tests(&all, tests, ARRAY_LEN(tests));
	phone_init();
	return table_run(&all);
}
