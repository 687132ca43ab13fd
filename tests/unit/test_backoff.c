/*
 * Unit tests of a number's resend backoff in the engine: each resend waits
 * longer than the one before, up to the cap; jitter only shortens a wait,
 * within its percent; quiet periods halve the count; the verification's
 * own cooldown and cap still hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine.h"

#define T0 1700000000000LL /* creation time of the test verifications */
#define S(x) ((int64_t)(x)*1000)

static const struct engine_settings set = {
	.pin_expiry_s = 3600,
	.next_event_wait_s = 120,
	.code_length = 4,
	.param_min_wait_s = 60,
	.cancel_min_age_s = 30,
	.resend_cooldown_s = 30,
	.resend_max = 100,
	.backoff_base_s = 30,
	.backoff_max_s = 600,
	.backoff_quiet_s = 3600,
	.backoff_jitter_pct = 20,
};

/* Jitter draws at both ends and between (uniform over uint32_t). */
static const uint32_t rnds[] = {0, 1, 0x7fffffffu, 0xc0000000u, UINT32_MAX};

static struct verification vf_live(void)
{
	struct verification v = {0};

	v.state = VF_IN_PROGRESS;
	v.nsteps = 1;
	v.created_ms = T0;
	v.pin_created_ms = T0;
	v.pin_expiry_ms = T0 + S(3600);
	v.expires_ms = T0 + S(3600);
	return v;
}

static void test_wait_doubles_then_caps(void **state)
{
	int n;

	assert_int_equal(engine_backoff_wait_ms(0, &set, 0), 0);
	assert_int_equal(engine_backoff_wait_ms(1, &set, 0), S(60));
	assert_int_equal(engine_backoff_wait_ms(2, &set, 0), S(120));
	assert_int_equal(engine_backoff_wait_ms(4, &set, 0), S(480));
	for (n = 5; n < 70; n++)
		assert_int_equal(engine_backoff_wait_ms(n, &set, 0), S(600));
}

static void test_jitter_only_shortens_within_its_percent(void **state)
{
	size_t i;
	int n;

	for (n = 1; n < 8; n++) {
		int64_t full = engine_backoff_wait_ms(n, &set, 0);

		for (i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
			int64_t w = engine_backoff_wait_ms(n, &set, rnds[i]);

			assert_true(w <= full);
			assert_true(w >= full - full * 20 / 100);
			assert_true(w <= S(600));
		}
	}
	/* The largest draw takes off nearly the whole percent. */
	assert_true(engine_backoff_wait_ms(1, &set, UINT32_MAX) < S(49));
}

static void test_off_when_base_is_zero(void **state)
{
	struct engine_settings off = set;
	struct verification v = vf_live();
	struct resend_backoff b = {0, 0, 0};
	int64_t wait = -1;
	int i;

	off.backoff_base_s = 0;
	assert_int_equal(engine_backoff_wait_ms(3, &off, 0), 0);
	for (i = 0; i < 4; i++) {
		int64_t now = T0 + S(30) * (i + 1);

		assert_int_equal(engine_resend_backoff(&v, &b, &off, now, 0,
						       &wait),
				 CONTROL_OK);
		assert_int_equal(wait, S(30)); /* the cooldown alone */
	}
}

/* Resends as fast as allowed: every wait is longer than the one before. */
static void test_successive_resends_wait_longer(void **state)
{
	struct verification v = vf_live();
	struct resend_backoff b = {0, 0, 0};
	int64_t now = T0 + S(30);
	int64_t wait = 0;
	int64_t prev = 0;
	int i;

	for (i = 0; i < 4; i++) {
		assert_int_equal(engine_resend_backoff(&v, &b, &set, now,
						       UINT32_MAX, &wait),
				 CONTROL_OK);
		assert_int_equal(b.count, i + 1);
		assert_true(wait > prev);
		assert_int_equal(b.next_ms, now + wait);
		/* A moment early is refused with the time left. */
		assert_int_equal(engine_resend_backoff(&v, &b, &set,
						       now + wait - 1000, 0,
						       &wait),
				 CONTROL_COOLDOWN);
		assert_int_equal(wait, 1000);
		assert_int_equal(v.resends, i + 1);
		prev = b.next_ms - now;
		now = b.next_ms;
	}
}

/* A new verification of the same number inherits the number's backoff. */
static void test_backoff_outlives_the_verification(void **state)
{
	struct verification v = vf_live();
	struct resend_backoff b = {3, T0, T0 + S(240)};
	int64_t wait = 0;

	v.created_ms = T0 + S(10);
	assert_int_equal(engine_resend_backoff(&v, &b, &set, T0 + S(100), 0,
					       &wait),
			 CONTROL_COOLDOWN);
	assert_int_equal(wait, S(140));
	assert_int_equal(v.resends, 0);
	assert_int_equal(b.count, 3);
	assert_int_equal(b.next_ms, T0 + S(240));
}

static void test_quiet_periods_halve_the_count(void **state)
{
	struct resend_backoff b = {12, T0, T0 + S(600)};
	struct verification v = vf_live();
	int64_t wait = 0;

	assert_int_equal(engine_backoff_count(&b, &set, T0 + S(3599)), 12);
	assert_int_equal(engine_backoff_count(&b, &set, T0 + S(3600)), 6);
	assert_int_equal(engine_backoff_count(&b, &set, T0 + S(7200)), 3);
	assert_int_equal(engine_backoff_count(&b, &set, T0 + S(3600 * 4)), 0);
	assert_int_equal(engine_backoff_count(&b, &set, T0 + S(3600) * 100), 0);
	/* Two quiet hours on: the next resend counts 3 + 1, not 13. */
	v.created_ms = T0 + S(7000);
	v.expires_ms = T0 + S(9000);
	assert_int_equal(engine_resend_backoff(&v, &b, &set, T0 + S(7200), 0,
					       &wait),
			 CONTROL_OK);
	assert_int_equal(b.count, 4);
	assert_int_equal(wait, S(480));
}

static void test_cooldown_and_cap_still_hold(void **state)
{
	struct engine_settings capped = set;
	struct verification v = vf_live();
	struct resend_backoff b = {0, 0, 0};
	int64_t wait = 0;

	assert_int_equal(engine_resend_backoff(&v, &b, &set, T0 + S(10), 0,
					       &wait),
			 CONTROL_COOLDOWN);
	assert_int_equal(wait, S(20));
	assert_int_equal(b.count, 0);
	capped.resend_max = 0;
	assert_int_equal(engine_resend_backoff(&v, &b, &capped, T0 + S(60), 0,
					       &wait),
			 CONTROL_RESEND_CAP);
	v.state = VF_CANCELLED;
	assert_int_equal(engine_resend_backoff(&v, &b, &set, T0 + S(60), 0,
					       &wait),
			 CONTROL_NOT_ACTIVE);
	assert_int_equal(b.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_doubles_then_caps),
		cmocka_unit_test(test_jitter_only_shortens_within_its_percent),
		cmocka_unit_test(test_off_when_base_is_zero),
		cmocka_unit_test(test_successive_resends_wait_longer),
		cmocka_unit_test(test_backoff_outlives_the_verification),
		cmocka_unit_test(test_quiet_periods_halve_the_count),
		cmocka_unit_test(test_cooldown_and_cap_still_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
