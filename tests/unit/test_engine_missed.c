/*
 * Unit tests of the engine's missed-call workflows (src/engine.c): the plans
 * of workflows 8 and 9, a missed call alongside any other workflow, and the
 * missed-call transition (window, expiry, once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "err.h"

#define T0 1700000000000LL
#define S(x) ((int64_t)(x)*1000)

static const struct engine_settings defaults = {
	.pin_expiry_s = 300,
	.next_event_wait_s = 120,
	.code_length = 4,
	.param_min_wait_s = 60,
	.cancel_min_age_s = 30,
	.resend_cooldown_s = 30,
	.resend_max = 2,
};

static void plan(const struct engine_request *req, struct engine_plan *p)
{
	const char *bad = "untouched";

	assert_int_equal(engine_plan_request(req, &defaults, p, &bad), 0);
	assert_null(bad);
}

static void test_workflow_8_is_a_missed_call_only(void **state)
{
	struct engine_request req = {.workflow_id = ENGINE_WF_MISSED};
	struct engine_plan p;

	plan(&req, &p);
	assert_int_equal(p.nsteps, 1);
	assert_int_equal(p.steps[0], CH_MISSED);
	assert_int_equal(p.missed_ms, S(300));
	assert_int_equal(p.lifetime_ms, S(300));
	assert_int_equal(p.first_step, 1);
	/* No step tells a PIN: a code can never match. */
	assert_int_equal(p.pin_expiry_ms, 0);
	req.pin_expiry_s = 600;
	plan(&req, &p);
	assert_int_equal(p.missed_ms, S(600));
}

static void test_workflow_9_falls_back_to_sms(void **state)
{
	struct engine_request req = {.workflow_id = ENGINE_WF_MISSED_SMS};
	struct engine_plan p;

	plan(&req, &p);
	assert_int_equal(p.nsteps, 2);
	assert_int_equal(p.steps[0], CH_MISSED);
	assert_int_equal(p.steps[1], CH_SMS);
	assert_int_equal(p.wait_ms[0], S(120));
	assert_int_equal(p.missed_ms, S(120));
	assert_int_equal(p.pin_expiry_ms, S(300));
	assert_int_equal(p.lifetime_ms, S(120 + 300));
	assert_int_equal(p.first_step, 1);
	/* next_event_wait is the missed-call window. */
	req.next_event_wait_s = 90;
	plan(&req, &p);
	assert_int_equal(p.missed_ms, S(90));
	/* A fixed line gets a call instead of the SMS. */
	req.fixed_line = 1;
	plan(&req, &p);
	assert_int_equal(p.steps[0], CH_MISSED);
	assert_int_equal(p.steps[1], CH_TTS);
}

static void test_missed_call_too_lasts_the_whole_life(void **state)
{
	struct engine_request req = {.missed_call_too = 1};
	struct engine_plan p;

	plan(&req, &p);
	assert_int_equal(p.steps[0], CH_SMS);
	assert_int_equal(p.first_step, 0);
	assert_int_equal(p.missed_ms, p.lifetime_ms);
	req.missed_call_too = 0;
	plan(&req, &p);
	assert_int_equal(p.missed_ms, 0);
	req.workflow_id = 6;
	plan(&req, &p);
	assert_int_equal(p.missed_ms, 0);
}

static struct verification pending(int64_t window_ms)
{
	struct verification v;

	memset(&v, 0, sizeof(v));
	v.state = VF_IN_PROGRESS;
	v.created_ms = T0;
	v.pin_created_ms = T0;
	v.expires_ms = T0 + S(300);
	v.missed_until_ms = window_ms ? T0 + window_ms : 0;
	return v;
}

static void test_missed_call_verifies_once_within_window(void **state)
{
	struct verification v = pending(S(120));

	assert_int_equal(engine_missed_call(&v, T0 + S(10)), CONTROL_OK);
	assert_int_equal(v.state, VF_SUCCESS);
	assert_int_equal(v.finalized_ms, T0 + S(10));
	/* A second call changes nothing. */
	assert_int_equal(engine_missed_call(&v, T0 + S(11)),
			 CONTROL_NOT_ACTIVE);
	assert_int_equal(v.finalized_ms, T0 + S(10));
}

static void test_missed_call_after_window_changes_nothing(void **state)
{
	struct verification v = pending(S(120));

	assert_int_equal(engine_missed_call(&v, T0 + S(120)),
			 CONTROL_NOT_ACTIVE);
	assert_int_equal(v.state, VF_IN_PROGRESS);
	v = pending(0);
	assert_int_equal(engine_missed_call(&v, T0 + S(1)), CONTROL_NOT_ACTIVE);
	assert_int_equal(v.state, VF_IN_PROGRESS);
}

static void test_missed_call_expires_a_late_one(void **state)
{
	struct verification v = pending(S(300));

	assert_int_equal(engine_missed_call(&v, T0 + S(300)),
			 CONTROL_NOT_ACTIVE);
	assert_int_equal(v.state, VF_EXPIRED);
	v = pending(S(300));
	v.state = VF_CANCELLED;
	assert_int_equal(engine_missed_call(&v, T0 + S(1)), CONTROL_NOT_ACTIVE);
	assert_int_equal(v.state, VF_CANCELLED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workflow_8_is_a_missed_call_only),
		cmocka_unit_test(test_workflow_9_falls_back_to_sms),
		cmocka_unit_test(test_missed_call_too_lasts_the_whole_life),
		cmocka_unit_test(test_missed_call_verifies_once_within_window),
		cmocka_unit_test(test_missed_call_after_window_changes_nothing),
		cmocka_unit_test(test_missed_call_expires_a_late_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
