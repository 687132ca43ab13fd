/*
 * Unit tests of PIN generation (crypto_pin_new): every length from 4 to 10
 * gives that many decimal digits, and the digits are uniform in every
 * position, leading zeros included (the PIN is one draw below 10^n written
 * with leading zeros, so a formatting slip would show as missing zeros).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto.h"

static void test_lengths_and_digits(void **state)
{
	char pin[16];

	for (int n = 4; n <= 10; n++) {
		for (int k = 0; k < 200; k++) {
			memset(pin, 'x', sizeof(pin));
			crypto_pin_new(n, pin);
			assert_int_equal(strlen(pin), n);
			assert_int_equal(strspn(pin, "0123456789"), n);
		}
	}
}

/*
 * Counts of each digit in each position over N PINs.  Each count is
 * binomial(N, 1/10): mean N/10, standard deviation sqrt(N * 0.09), 60 for
 * N = 40000.  The bound of 500 is more than 8 deviations, so a correct
 * generator fails it with a probability far below 10^-12 per run, while a
 * position that never shows some digit (or shows one twice as often) is
 * off by thousands.
 */
static void check_uniform(int n)
{
	enum { N = 40000, BOUND = 500 };
	static long counts[10][10];
	char pin[16];

	memset(counts, 0, sizeof(counts));
	for (int k = 0; k < N; k++) {
		crypto_pin_new(n, pin);
		for (int i = 0; i < n; i++)
			counts[i][pin[i] - '0']++;
	}
	for (int i = 0; i < n; i++) {
		for (int d = 0; d < 10; d++) {
			long off = counts[i][d] - N / 10;

			if (off < -BOUND || off > BOUND)
				fail_msg("length %d, position %d, digit %d: "
					 "%ld times in %d",
					 n, i, d, counts[i][d], N);
		}
	}
}

static void test_uniform_4(void **state)
{
	check_uniform(4);
}

static void test_uniform_6(void **state)
{
	check_uniform(6);
}

/* 10 digits take two draws (9 and 1): both halves must be uniform. */
static void test_uniform_10(void **state)
{
	check_uniform(10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths_and_digits),
		cmocka_unit_test(test_uniform_4),
		cmocka_unit_test(test_uniform_6),
		cmocka_unit_test(test_uniform_10),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
