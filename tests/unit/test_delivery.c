/*
 * Unit tests of the pure parts of delivery: retry backoff, the calling
 * window, SMS templates, the sealed PIN and the signed call token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "jobs.h"
#include "messages.h"

static void test_backoff_doubles_and_caps(void **state)
{
	assert_int_equal(jobs_backoff_ms(1, 1000, 60000, 1.0), 1000);
	assert_int_equal(jobs_backoff_ms(2, 1000, 60000, 1.0), 2000);
	assert_int_equal(jobs_backoff_ms(4, 1000, 60000, 1.0), 8000);
	assert_int_equal(jobs_backoff_ms(7, 1000, 60000, 1.0), 60000);
	assert_int_equal(jobs_backoff_ms(60, 1000, 60000, 1.0), 60000);
	/* Jitter scales within [0.5, 1]; out-of-range jitter is clamped. */
	assert_int_equal(jobs_backoff_ms(2, 1000, 60000, 0.5), 1000);
	assert_int_equal(jobs_backoff_ms(2, 1000, 60000, 0.1), 1000);
	assert_int_equal(jobs_backoff_ms(2, 1000, 60000, 7.0), 2000);
}

/* 2026-11-25 00:00:00 UTC */
#define DAY0 1795564800LL

static void test_window_india(void **state)
{
	int64_t opens = 0;

	/* 03:29 UTC = 08:59 IST: closed, opens at 09:00 IST = 03:30 UTC. */
	assert_false(jobs_in_window(DAY0 + 3 * 3600 + 29 * 60, 540, 1260, 330,
				    &opens));
	assert_int_equal(opens, DAY0 + 3 * 3600 + 30 * 60);
	/* 03:30 UTC = 09:00 IST: open. */
	assert_true(jobs_in_window(DAY0 + 3 * 3600 + 30 * 60, 540, 1260, 330,
				   &opens));
	/* 15:29 UTC = 20:59 IST open; 15:30 UTC = 21:00 IST closed until
	 * 09:00 IST the next day. */
	assert_true(jobs_in_window(DAY0 + 15 * 3600 + 29 * 60, 540, 1260, 330,
				   &opens));
	assert_false(jobs_in_window(DAY0 + 15 * 3600 + 30 * 60, 540, 1260, 330,
				    &opens));
	assert_int_equal(opens, DAY0 + 86400 + 3 * 3600 + 30 * 60);
}

static void test_window_across_midnight_and_always(void **state)
{
	int64_t opens = 0;

	/* 22:00-06:00 UTC */
	assert_true(jobs_in_window(DAY0 + 23 * 3600, 1320, 360, 0, &opens));
	assert_true(jobs_in_window(DAY0 + 5 * 3600, 1320, 360, 0, &opens));
	assert_false(jobs_in_window(DAY0 + 12 * 3600, 1320, 360, 0, &opens));
	assert_int_equal(opens, DAY0 + 22 * 3600);
	/* Equal ends: always open. */
	assert_true(jobs_in_window(DAY0 + 12 * 3600, 0, 0, 0, &opens));
}

static void test_sms_templates(void **state)
{
	char out[256];

	assert_int_equal(
		messages_sms("en-us", "MyApp", "4821", 5, out, sizeof(out)), 0);
	assert_string_equal(out, "MyApp code: 4821. Valid for 5 min.");
	assert_int_equal(
		messages_sms("en", "MyApp", "4821", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "MyApp code: 4821. Valid for 1 min.");
	assert_int_equal(
		messages_sms("hi-in", "MyApp", "4821", 5, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "4821"));
	assert_non_null(strstr(out, "मिनट"));
	assert_string_equal(messages_language("HI"), "hi");
	assert_string_equal(messages_language("fr-fr"), "en");
	assert_string_equal(messages_language(NULL), "en");
	assert_string_equal(messages_language("hindi"), "en");
	/* A brand that looks like a placeholder is copied, not expanded. */
	assert_int_equal(
		messages_sms(NULL, "{pin}%s", "1234", 2, out, sizeof(out)), 0);
	assert_string_equal(out, "{pin}%s code: 1234. Valid for 2 min.");
	assert_int_equal(messages_sms("en", "MyApp", "4821", 5, out, 10),
			 KV_ETOOBIG);
}

/*
 * DLT registers one fixed text with variables: for every language, the
 * texts for 1, 2, 5, 10 and 1440 minutes differ in the number only.
 */
static void test_sms_templates_vary_only_in_the_values(void **state)
{
	static const char *const langs[] = {"en", "hi"};
	static const int minutes[] = {1, 2, 5, 10, 1440};
	char first[256], out[256], num[16];

	for (size_t l = 0; l < sizeof(langs) / sizeof(langs[0]); l++) {
		for (size_t i = 0; i < sizeof(minutes) / sizeof(minutes[0]);
		     i++) {
			char *at;
			size_t nl;

			assert_int_equal(messages_sms(langs[l], "B", "4821",
						      minutes[i], out,
						      sizeof(out)),
					 0);
			/* Cut the number out: what is left is fixed text. */
			nl = (size_t)snprintf(num, sizeof(num), " %d ",
					      minutes[i]);
			at = strstr(out, num);
			assert_non_null(at);
			memmove(at + 1, at + nl - 1, strlen(at + nl - 1) + 1);
			if (i == 0)
				memcpy(first, out, sizeof(first));
			else
				assert_string_equal(out, first);
		}
	}
}

static void test_pin_box_round_trip_and_binding(void **state)
{
	unsigned char box[CRYPTO_PIN_BOX_MAX];
	char pin[16];
	size_t n = crypto_pin_seal("aaaa", "482193", box);

	assert_true(n > 0 && n <= sizeof(box));
	assert_int_equal(crypto_pin_open("aaaa", box, n, pin), 0);
	assert_string_equal(pin, "482193");
	/* Bound to its request id; tampering is detected. */
	assert_int_equal(crypto_pin_open("bbbb", box, n, pin), KV_EINVAL);
	box[n - 1] ^= 1;
	assert_int_equal(crypto_pin_open("aaaa", box, n, pin), KV_EINVAL);
	assert_int_equal(crypto_pin_open("aaaa", box, 3, pin), KV_EINVAL);
	assert_int_equal(crypto_pin_seal("aaaa", "12345678901", box), 0);
}

static void test_call_token(void **state)
{
	char tok[CRYPTO_TOKEN_MAX];
	int64_t id = 0;
	int step = -1;

	crypto_call_token(42, 1, 1000, tok);
	assert_int_equal(crypto_call_token_check(tok, 999, &id, &step), 0);
	assert_int_equal(id, 42);
	assert_int_equal(step, 1);
	assert_int_equal(crypto_call_token_check(tok, 1000, &id, &step),
			 KV_ERANGE);
	/* Another id with the same MAC is a forgery. */
	tok[0] = '3';
	assert_int_equal(crypto_call_token_check(tok, 999, &id, &step),
			 KV_EINVAL);
	assert_int_equal(crypto_call_token_check("", 1, &id, &step), KV_EINVAL);
	assert_int_equal(crypto_call_token_check("1.2.3.zz", 1, &id, &step),
			 KV_EINVAL);
}

static int setup(void **state)
{
	unsigned char secret[32] = {7};

	if (sodium_init() < 0)
		return -1;
	crypto_set_secret(secret);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_and_caps),
		cmocka_unit_test(test_window_india),
		cmocka_unit_test(test_window_across_midnight_and_always),
		cmocka_unit_test(test_sms_templates),
		cmocka_unit_test(test_sms_templates_vary_only_in_the_values),
		cmocka_unit_test(test_pin_box_round_trip_and_binding),
		cmocka_unit_test(test_call_token),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
