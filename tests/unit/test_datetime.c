/*
 * Unit tests of the UTC date formats of util.c (format_datetime and
 * format_iso_ms), which compute the calendar themselves instead of calling
 * gmtime_r: every answer is compared with gmtime_r and strftime over the
 * edges of days, months, leap years and centuries, before 1970, at the ends
 * of the four-digit years, and at a hundred thousand times drawn across
 * them; times outside 0000-9999 are clamped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util.h"

#define YEAR0 (-62167219200LL)  /* 0000-01-01 00:00:00 */
#define YEAR9999 253402300799LL /* 9999-12-31 23:59:59 */

/* The C library's answer, in format_datetime's form. */
static void libc_datetime(int64_t s, char out[64])
{
	time_t t = (time_t)s;
	struct tm tm;

	assert_non_null(gmtime_r(&t, &tm));
	/* %Y would not pad years below 1000 to four digits. */
	snprintf(out, 64, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Within the four-digit years, the same text as the C library's. */
static void same_as_libc(int64_t s)
{
	char want[64], got[20];

	if (s < YEAR0 || s > YEAR9999)
		return;
	libc_datetime(s, want);
	memset(got, 'x', sizeof(got));
	format_datetime(s, got);
	if (strcmp(want, got) != 0)
		fail_msg("%lld: \"%s\", gmtime_r says \"%s\"", (long long)s,
			 got, want);
}

/* Seconds of midnight on a day of the proleptic Gregorian calendar. */
static int64_t midnight(int year, int month, int day)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	return (int64_t)timegm(&tm);
}

static void test_known_dates(void **state)
{
	char out[20];

	(void)state;
	format_datetime(0, out);
	assert_string_equal(out, "1970-01-01 00:00:00");
	format_datetime(951782400, out);
	assert_string_equal(out, "2000-02-29 00:00:00");
	format_datetime(1796688933, out);
	assert_string_equal(out, "2026-12-08 00:15:33");
	format_datetime(-1, out);
	assert_string_equal(out, "1969-12-31 23:59:59");
}

/* Each side of every midnight around the days that decide leap years. */
static void test_edges_of_days_months_and_leap_years(void **state)
{
	static const int years[] = {0,    1,    4,    99,   100,  400,
				    1600, 1700, 1899, 1900, 1969, 1970,
				    1972, 2000, 2024, 2100, 2400, 9999};
	static const int months[] = {1, 2, 3, 12};

	(void)state;
	for (size_t y = 0; y < ARRAY_LEN(years); y++)
		for (size_t m = 0; m < ARRAY_LEN(months); m++)
			for (int d = 1; d <= 29; d += 27) {
				int64_t s = midnight(years[y], months[m], d);

				for (int64_t k = -1; k <= 1; k++)
					same_as_libc(s + k);
				same_as_libc(s + 86399);
			}
	/* Every day of 1999-2001 and 2099-2101, at noon and at 23:59:59. */
	for (int64_t s = midnight(1999, 1, 1); s < midnight(2002, 1, 1);
	     s += 86400) {
		same_as_libc(s + 43200);
		same_as_libc(s + 86399);
	}
	for (int64_t s = midnight(2099, 1, 1); s < midnight(2102, 1, 1);
	     s += 86400)
		same_as_libc(s + 86399);
}

static void test_times_drawn_across_the_years(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	const uint64_t span = (uint64_t)(YEAR9999 - YEAR0) + 1;

	(void)state;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		same_as_libc(YEAR0 + (int64_t)(x % span));
	}
}

static void test_outside_four_digit_years_is_clamped(void **state)
{
	char out[20];

	(void)state;
	format_datetime(YEAR0, out);
	assert_string_equal(out, "0000-01-01 00:00:00");
	format_datetime(YEAR0 - 1, out);
	assert_string_equal(out, "0000-01-01 00:00:00");
	format_datetime(INT64_MIN, out);
	assert_string_equal(out, "0000-01-01 00:00:00");
	format_datetime(YEAR9999, out);
	assert_string_equal(out, "9999-12-31 23:59:59");
	format_datetime(YEAR9999 + 1, out);
	assert_string_equal(out, "9999-12-31 23:59:59");
	format_datetime(INT64_MAX, out);
	assert_string_equal(out, "9999-12-31 23:59:59");
}

static void test_iso_form_with_milliseconds(void **state)
{
	char out[25];

	(void)state;
	format_iso_ms(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	format_iso_ms(1796688933007, out);
	assert_string_equal(out, "2026-12-08T00:15:33.007Z");
	format_iso_ms(1796688933999, out);
	assert_string_equal(out, "2026-12-08T00:15:33.999Z");
	/* Before 1970 the milliseconds count forward within their second. */
	format_iso_ms(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
	format_iso_ms(-1000, out);
	assert_string_equal(out, "1969-12-31T23:59:59.000Z");
	format_iso_ms(-1001, out);
	assert_string_equal(out, "1969-12-31T23:59:58.999Z");
	format_iso_ms(INT64_MAX, out);
	assert_int_equal(strlen(out), 24);
	format_iso_ms(INT64_MIN, out);
	assert_int_equal(strlen(out), 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_dates),
		cmocka_unit_test(test_edges_of_days_months_and_leap_years),
		cmocka_unit_test(test_times_drawn_across_the_years),
		cmocka_unit_test(test_outside_four_digit_years_is_clamped),
		cmocka_unit_test(test_iso_form_with_milliseconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
