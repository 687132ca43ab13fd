/*
 * Unit tests of the verification engine (src/engine.c): request planning
 * for every workflow, Vonage's ranges and timing rules, fixed lines, and the
 * check, cancel, trigger, resend, step and expiry transitions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "err.h"
#include "util.h"

#define T0 1700000000000LL /* creation time of the test verifications */
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

/* The expected schedule of a plan; unused steps are zero. */
struct plan_want {
	int nsteps;
	enum vf_channel steps[ENGINE_MAX_STEPS];
	int wait_s[ENGINE_MAX_STEPS];
	int pin_expiry_s;
	int lifetime_s;
};

static void assert_plan(const struct engine_plan *p, const struct plan_want *w)
{
	int i;

	assert_int_equal(p->nsteps, w->nsteps);
	for (i = 0; i < w->nsteps; i++) {
		assert_int_equal(p->steps[i], w->steps[i]);
		assert_int_equal(p->wait_ms[i], S(w->wait_s[i]));
	}
	assert_int_equal(p->pin_expiry_ms, S(w->pin_expiry_s));
	assert_int_equal(p->lifetime_ms, S(w->lifetime_s));
}

static void plan_ok(const struct engine_request *req,
		    const struct engine_settings *set, struct engine_plan *p)
{
	const char *bad = "untouched";

	assert_int_equal(engine_plan_request(req, set, p, &bad), 0);
	assert_null(bad);
}

static void plan_fails(const struct engine_request *req,
		       const struct engine_settings *set, int want_err,
		       const char *want_param)
{
	struct engine_plan p;
	const char *bad = NULL;

	assert_int_equal(engine_plan_request(req, set, &p, &bad), want_err);
	assert_non_null(bad);
	assert_string_equal(bad, want_param);
}

/* A verification created at T0 from `p`, as the store would insert it. */
static struct verification vf_from_plan(const struct engine_plan *p)
{
	struct verification v;

	memset(&v, 0, sizeof(v));
	v.state = VF_IN_PROGRESS;
	v.nsteps = p->nsteps;
	v.created_ms = T0;
	v.pin_created_ms = T0;
	v.pin_expiry_ms = p->pin_expiry_ms;
	v.expires_ms = T0 + p->lifetime_ms;
	return v;
}

/* Workflow 0 with the default settings, its first step (the SMS) sent. */
static struct verification vf_default(void)
{
	struct engine_request req = {0};
	struct engine_plan p;
	struct verification v;

	plan_ok(&req, &defaults, &p);
	v = vf_from_plan(&p);
	v.next_step = 1;
	return v;
}

/* Tables ------------------------------------------------------------- */

static void test_workflow_lookup_covers_0_to_9_only(void **state)
{
	int id;

	for (id = 0; id <= 9; id++) {
		assert_non_null(engine_workflow(id));
		assert_int_equal(engine_workflow(id)->id, id);
	}
	assert_null(engine_workflow(-1));
	assert_null(engine_workflow(10));
}

static void test_state_names_match_search_strings(void **state)
{
	assert_string_equal(engine_state_name(VF_IN_PROGRESS), "IN PROGRESS");
	assert_string_equal(engine_state_name(VF_SUCCESS), "SUCCESS");
	assert_string_equal(engine_state_name(VF_FAILED), "FAILED");
	assert_string_equal(engine_state_name(VF_EXPIRED), "EXPIRED");
	assert_string_equal(engine_state_name(VF_CANCELLED), "CANCELLED");
	assert_string_equal(engine_state_name((enum vf_state)99), "UNKNOWN");
}

/* Plans: defaults ---------------------------------------------------- */

static void test_plan_default_workflow_is_sms_then_call(void **state)
{
	struct engine_request req = {0};
	struct engine_plan p;
	const struct plan_want w = {2, {CH_SMS, CH_TTS}, {120, 180}, 300, 300};

	plan_ok(&req, &defaults, &p);
	assert_int_equal(p.workflow_id, 0);
	assert_int_equal(p.code_length, 4);
	assert_plan(&p, &w);
}

static void test_plan_default_workflow_follows_settings(void **state)
{
	struct engine_settings set = defaults;
	struct engine_request req = {0};
	struct engine_plan p;
	const struct plan_want w = {2, {CH_SMS, CH_TTS}, {2, 4}, 6, 6};

	/* Development settings below Vonage's minimums are not refused. */
	set.pin_expiry_s = 6;
	set.next_event_wait_s = 2;
	set.code_length = 6;
	plan_ok(&req, &set, &p);
	assert_int_equal(p.code_length, 6);
	assert_plan(&p, &w);
}

static void test_plan_vonage_workflows_defaults(void **state)
{
	static const struct plan_want want[8] = {
		[1] = {3, {CH_SMS, CH_TTS, CH_TTS}, {125, 180, 300}, 300, 605},
		[2] = {3, {CH_SMS, CH_SMS, CH_TTS}, {125, 180, 300}, 300, 605},
		[3] = {2, {CH_TTS, CH_TTS}, {150, 150}, 300, 300},
		[4] = {2, {CH_SMS, CH_SMS}, {120, 180}, 300, 300},
		[5] = {2, {CH_SMS, CH_TTS}, {120, 180}, 300, 300},
		[6] = {1, {CH_SMS}, {300}, 300, 300},
		[7] = {1, {CH_TTS}, {300}, 300, 300},
	};
	struct engine_request req = {0};
	struct engine_plan p;

	for (req.workflow_id = 1; req.workflow_id <= 7; req.workflow_id++) {
		plan_ok(&req, &defaults, &p);
		assert_int_equal(p.workflow_id, req.workflow_id);
		assert_plan(&p, &want[req.workflow_id]);
	}
}

static void test_plan_one_step_workflows_last_the_pin(void **state)
{
	struct engine_request req = {.workflow_id = 6, .pin_expiry_s = 900};
	struct engine_plan p;
	const struct plan_want w6 = {1, {CH_SMS}, {900}, 900, 900};
	const struct plan_want w7 = {1, {CH_TTS}, {900}, 900, 900};

	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w6);
	req.workflow_id = 7;
	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w7);
}

/* Plans: next_event_wait and the multiple-of rule -------------------- */

static void test_plan_next_event_wait_sets_every_wait(void **state)
{
	struct engine_request req = {.next_event_wait_s = 200};
	struct engine_plan p;
	const struct plan_want w0 = {2, {CH_SMS, CH_TTS}, {200, 100}, 300, 300};
	const struct plan_want w1 = {
		3, {CH_SMS, CH_TTS, CH_TTS}, {200, 200, 200}, 300, 600};
	const struct plan_want w3 = {2, {CH_TTS, CH_TTS}, {200, 200}, 300, 400};
	const struct plan_want w6 = {1, {CH_SMS}, {300}, 300, 300};

	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w0);
	req.workflow_id = 1;
	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w1);
	req.workflow_id = 3;
	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w3);
	/* 6 and 7 have no wait but the PIN's life. */
	req.workflow_id = 6;
	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w6);
}

static void test_plan_pin_expiry_multiple_is_kept(void **state)
{
	struct engine_request req = {.workflow_id = 1,
				     .pin_expiry_s = 360,
				     .next_event_wait_s = 120};
	struct engine_plan p;
	const struct plan_want w = {
		3, {CH_SMS, CH_TTS, CH_TTS}, {120, 120, 120}, 360, 360};

	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w);
}

static void test_plan_pin_expiry_not_multiple_falls_back(void **state)
{
	struct engine_request req = {.workflow_id = 1,
				     .pin_expiry_s = 250,
				     .next_event_wait_s = 120};
	struct engine_plan p;
	const struct plan_want w = {
		3, {CH_SMS, CH_TTS, CH_TTS}, {120, 120, 120}, 120, 360};

	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w);
}

static void test_plan_pin_expiry_alone_is_kept(void **state)
{
	struct engine_request req = {.workflow_id = 1, .pin_expiry_s = 250};
	struct engine_plan p;
	const struct plan_want w = {
		3, {CH_SMS, CH_TTS, CH_TTS}, {125, 180, 300}, 250, 605};

	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w);
}

static void test_plan_multiple_rule_is_vonage_only(void **state)
{
	struct engine_request req = {.pin_expiry_s = 250,
				     .next_event_wait_s = 120};
	struct engine_plan p;
	const struct plan_want w = {2, {CH_SMS, CH_TTS}, {120, 130}, 250, 250};

	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w);
}

static void test_plan_default_late_call_is_dropped(void **state)
{
	struct engine_request req = {.pin_expiry_s = 120,
				     .next_event_wait_s = 120};
	struct engine_plan p;
	const struct plan_want w120 = {1, {CH_SMS}, {120}, 120, 120};
	const struct plan_want w300 = {1, {CH_SMS}, {300}, 300, 300};

	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w120);
	req.pin_expiry_s = 0;
	req.next_event_wait_s = 600;
	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w300);
}

/* Plans: ranges ------------------------------------------------------ */

enum req_field { F_WORKFLOW, F_CODE, F_PIN, F_WAIT };

struct range_case {
	enum req_field field;
	int value;
	int want_err;
	const char *param;
};

static void test_plan_range_bounds(void **state)
{
	static const struct range_case cases[] = {
		{F_WORKFLOW, 0, 0, NULL},
		{F_WORKFLOW, 7, 0, NULL},
		{F_WORKFLOW, -1, KV_ERANGE, "workflow_id"},
		{F_WORKFLOW, 10, KV_ERANGE, "workflow_id"},
		{F_CODE, 4, 0, NULL},
		{F_CODE, 10, 0, NULL},
		{F_CODE, 3, KV_ERANGE, "code_length"},
		{F_CODE, 11, KV_ERANGE, "code_length"},
		{F_CODE, -4, KV_ERANGE, "code_length"},
		{F_PIN, 60, 0, NULL},
		{F_PIN, 3600, 0, NULL},
		{F_PIN, 59, KV_ERANGE, "pin_expiry"},
		{F_PIN, 3601, KV_ERANGE, "pin_expiry"},
		{F_PIN, -300, KV_ERANGE, "pin_expiry"},
		{F_WAIT, 60, 0, NULL},
		{F_WAIT, 900, 0, NULL},
		{F_WAIT, 59, KV_ERANGE, "next_event_wait"},
		{F_WAIT, 901, KV_ERANGE, "next_event_wait"},
		{F_WAIT, -120, KV_ERANGE, "next_event_wait"},
	};
	size_t i;
	int wf;

	/* Every bound in the default workflow and in a Vonage one. */
	for (wf = 0; wf <= 1; wf++) {
		for (i = 0; i < ARRAY_LEN(cases); i++) {
			const struct range_case *c = &cases[i];
			struct engine_request req = {.workflow_id = wf};
			struct engine_plan p;

			if (c->field == F_WORKFLOW)
				req.workflow_id = c->value;
			else if (c->field == F_CODE)
				req.code_length = c->value;
			else if (c->field == F_PIN)
				req.pin_expiry_s = c->value;
			else
				req.next_event_wait_s = c->value;
			if (c->want_err)
				plan_fails(&req, &defaults, c->want_err,
					   c->param);
			else
				plan_ok(&req, &defaults, &p);
		}
	}
}

static void test_plan_accepted_values_reach_the_plan(void **state)
{
	struct engine_request req = {
		.workflow_id = 7, .code_length = 10, .pin_expiry_s = 3600};
	struct engine_plan p;

	plan_ok(&req, &defaults, &p);
	assert_int_equal(p.code_length, 10);
	assert_int_equal(p.pin_expiry_ms, S(3600));
	req.code_length = 4;
	req.pin_expiry_s = 60;
	plan_ok(&req, &defaults, &p);
	assert_int_equal(p.code_length, 4);
	assert_int_equal(p.pin_expiry_ms, S(60));
}

static void test_plan_min_wait_comes_from_settings(void **state)
{
	struct engine_settings set = defaults;
	struct engine_request req = {
		.workflow_id = 1, .pin_expiry_s = 2, .next_event_wait_s = 1};
	struct engine_plan p;
	const struct plan_want w = {
		3, {CH_SMS, CH_TTS, CH_TTS}, {1, 1, 1}, 2, 3};

	set.param_min_wait_s = 1;
	plan_ok(&req, &set, &p);
	assert_plan(&p, &w);
	/* A minimum of 0 still refuses what is not a positive time. */
	req.next_event_wait_s = 0;
	set.param_min_wait_s = 0;
	req.pin_expiry_s = -1;
	plan_fails(&req, &set, KV_ERANGE, "pin_expiry");
	set.param_min_wait_s = 120;
	req.pin_expiry_s = 119;
	plan_fails(&req, &set, KV_ERANGE, "pin_expiry");
}

static void test_plan_bad_setting_is_einval(void **state)
{
	struct engine_settings set = defaults;
	struct engine_request req = {0};
	struct engine_plan p;

	set.code_length = 3;
	plan_fails(&req, &set, KV_EINVAL, "code_length");
	req.code_length = 6; /* the bad default is not used */
	plan_ok(&req, &set, &p);

	set = defaults;
	set.pin_expiry_s = 0;
	plan_fails(&req, &set, KV_EINVAL, "pin_expiry");

	set = defaults;
	set.next_event_wait_s = 0;
	plan_fails(&req, &set, KV_EINVAL, "next_event_wait");
	req.workflow_id = 1; /* Vonage workflows have their own waits */
	plan_ok(&req, &set, &p);
}

static void test_plan_null_arguments_are_einval(void **state)
{
	struct engine_request req = {0};
	struct engine_plan p;

	assert_int_equal(engine_plan_request(NULL, &defaults, &p, NULL),
			 KV_EINVAL);
	assert_int_equal(engine_plan_request(&req, NULL, &p, NULL), KV_EINVAL);
	assert_int_equal(engine_plan_request(&req, &defaults, NULL, NULL),
			 KV_EINVAL);
	/* bad_param is optional. */
	assert_int_equal(engine_plan_request(&req, &defaults, &p, NULL), 0);
}

/* Plans: fixed lines ------------------------------------------------- */

static void test_plan_fixed_line_starts_with_the_call(void **state)
{
	static const struct plan_want want[8] = {
		[0] = {1, {CH_TTS}, {300}, 300, 300},
		[1] = {2, {CH_TTS, CH_TTS}, {180, 300}, 300, 480},
		[2] = {1, {CH_TTS}, {300}, 300, 300},
		[3] = {2, {CH_TTS, CH_TTS}, {150, 150}, 300, 300},
		[4] = {1, {CH_TTS}, {300}, 300, 300},
		[5] = {1, {CH_TTS}, {180}, 300, 180},
		[6] = {1, {CH_TTS}, {300}, 300, 300},
		[7] = {1, {CH_TTS}, {300}, 300, 300},
	};
	struct engine_request req = {.fixed_line = 1};
	struct engine_plan p;

	for (req.workflow_id = 0; req.workflow_id <= 7; req.workflow_id++) {
		plan_ok(&req, &defaults, &p);
		assert_plan(&p, &want[req.workflow_id]);
	}
}

static void test_plan_fixed_line_keeps_client_timings(void **state)
{
	struct engine_request req = {.workflow_id = 1,
				     .fixed_line = 1,
				     .pin_expiry_s = 240,
				     .next_event_wait_s = 120};
	struct engine_plan p;
	const struct plan_want w1 = {2, {CH_TTS, CH_TTS}, {120, 120}, 240, 240};
	const struct plan_want w4 = {1, {CH_TTS}, {240}, 240, 240};
	const struct plan_want w0 = {1, {CH_TTS}, {240}, 240, 240};

	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w1);
	req.workflow_id = 4;
	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w4);
	req.workflow_id = 0;
	plan_ok(&req, &defaults, &p);
	assert_plan(&p, &w0);
}

/* Expiry ------------------------------------------------------------- */

static void test_expiry_happens_exactly_at_expires_ms(void **state)
{
	struct verification v = vf_default();

	assert_int_equal(engine_expire_if_due(&v, v.expires_ms - 1), 0);
	assert_int_equal(v.state, VF_IN_PROGRESS);
	assert_int_equal(v.finalized_ms, 0);
	assert_int_equal(engine_expire_if_due(&v, v.expires_ms), 1);
	assert_int_equal(v.state, VF_EXPIRED);
	assert_int_equal(v.finalized_ms, v.expires_ms);
	/* Once final, nothing changes again. */
	assert_int_equal(engine_expire_if_due(&v, v.expires_ms + S(60)), 0);
	assert_int_equal(v.finalized_ms, v.expires_ms);
}

static void test_expiry_leaves_final_states_alone(void **state)
{
	struct verification v = vf_default();

	v.state = VF_SUCCESS;
	v.finalized_ms = T0 + 5;
	assert_int_equal(engine_expire_if_due(&v, v.expires_ms + 1), 0);
	assert_int_equal(v.state, VF_SUCCESS);
	assert_int_equal(v.finalized_ms, T0 + 5);
}

/* Checks ------------------------------------------------------------- */

static void test_check_right_code_first_time(void **state)
{
	struct verification v = vf_default();

	assert_int_equal(engine_check_begin(&v, T0 + S(10)), CHECK_COMPARE);
	assert_int_equal(v.attempts, 1);
	assert_int_equal(engine_check_finish(&v, 1, T0 + S(10)), CHECK_OK);
	assert_int_equal(v.state, VF_SUCCESS);
	assert_int_equal(v.finalized_ms, T0 + S(10));
}

static void test_check_wrong_then_right(void **state)
{
	struct verification v = vf_default();

	assert_int_equal(engine_check_begin(&v, T0 + S(10)), CHECK_COMPARE);
	assert_int_equal(engine_check_finish(&v, 0, T0 + S(10)), CHECK_WRONG);
	assert_int_equal(v.state, VF_IN_PROGRESS);
	assert_int_equal(v.finalized_ms, 0);
	assert_int_equal(engine_check_begin(&v, T0 + S(20)), CHECK_COMPARE);
	assert_int_equal(v.attempts, 2);
	assert_int_equal(engine_check_finish(&v, 1, T0 + S(20)), CHECK_OK);
	assert_int_equal(v.state, VF_SUCCESS);
}

static void test_check_three_wrong_then_right_fails(void **state)
{
	struct verification v = vf_default();
	int i;

	for (i = 1; i <= 2; i++) {
		assert_int_equal(engine_check_begin(&v, T0 + S(i)),
				 CHECK_COMPARE);
		assert_int_equal(engine_check_finish(&v, 0, T0 + S(i)),
				 CHECK_WRONG);
	}
	assert_int_equal(engine_check_begin(&v, T0 + S(3)), CHECK_COMPARE);
	assert_int_equal(engine_check_finish(&v, 0, T0 + S(3)),
			 CHECK_WRONG_LAST);
	assert_int_equal(v.state, VF_FAILED);
	assert_int_equal(v.finalized_ms, T0 + S(3));
	/* The right code on the 4th check: still failed, nothing counted. */
	assert_int_equal(engine_check_begin(&v, T0 + S(4)), CHECK_FAILED);
	assert_int_equal(v.attempts, 3);
	assert_int_equal(v.state, VF_FAILED);
	assert_int_equal(v.finalized_ms, T0 + S(3));
}

static void test_check_counts_attempt_before_compare(void **state)
{
	struct verification v = vf_default();

	/* Checks that never reached the compare still spent an attempt. */
	assert_int_equal(engine_check_begin(&v, T0 + S(1)), CHECK_COMPARE);
	assert_int_equal(v.attempts, 1);
	assert_int_equal(engine_check_begin(&v, T0 + S(2)), CHECK_COMPARE);
	assert_int_equal(v.attempts, 2);
	assert_int_equal(engine_check_begin(&v, T0 + S(3)), CHECK_COMPARE);
	assert_int_equal(v.attempts, 3);
	/* A 4th check cannot reach the compare, even with the right code. */
	assert_int_equal(engine_check_begin(&v, T0 + S(4)), CHECK_FAILED);
	assert_int_equal(v.state, VF_FAILED);
	assert_int_equal(v.attempts, 3);
	assert_int_equal(engine_check_finish(&v, 1, T0 + S(4)), CHECK_FAILED);
	assert_int_equal(v.state, VF_FAILED);
}

static void test_check_at_expiry_is_expired(void **state)
{
	struct verification v = vf_default();

	assert_int_equal(engine_check_begin(&v, v.expires_ms - 1),
			 CHECK_COMPARE);
	assert_int_equal(engine_check_finish(&v, 0, v.expires_ms - 1),
			 CHECK_WRONG);
	assert_int_equal(engine_check_begin(&v, v.expires_ms), CHECK_EXPIRED);
	assert_int_equal(v.state, VF_EXPIRED);
	assert_int_equal(v.finalized_ms, v.expires_ms);
	assert_int_equal(v.attempts, 1);
}

static void test_check_dead_pin_is_not_counted(void **state)
{
	struct engine_request req = {.workflow_id = 1};
	struct engine_plan p;
	struct verification v;

	plan_ok(&req, &defaults, &p);
	v = vf_from_plan(&p);
	v.next_step = 2;
	/* Workflow 1: the PIN dies at 300 s, the verification at 605 s. */
	assert_int_equal(engine_check_begin(&v, T0 + S(300) - 1),
			 CHECK_COMPARE);
	assert_int_equal(engine_check_finish(&v, 0, T0 + S(300) - 1),
			 CHECK_WRONG);
	assert_int_equal(engine_check_begin(&v, T0 + S(300)), CHECK_EXPIRED);
	assert_int_equal(v.state, VF_IN_PROGRESS);
	assert_int_equal(v.attempts, 1);
	assert_int_equal(v.finalized_ms, 0);
}

static void test_check_after_cancel_and_success(void **state)
{
	struct verification v = vf_default();

	assert_int_equal(engine_cancel(&v, 0, &defaults, T0 + S(1)),
			 CONTROL_OK);
	assert_int_equal(engine_check_begin(&v, T0 + S(2)), CHECK_CANCELLED);
	assert_int_equal(v.attempts, 0);
	assert_int_equal(v.state, VF_CANCELLED);

	v = vf_default();
	assert_int_equal(engine_check_begin(&v, T0 + S(1)), CHECK_COMPARE);
	assert_int_equal(engine_check_finish(&v, 1, T0 + S(1)), CHECK_OK);
	assert_int_equal(engine_check_begin(&v, T0 + S(2)),
			 CHECK_ALREADY_VERIFIED);
	assert_int_equal(v.attempts, 1);
	assert_int_equal(v.finalized_ms, T0 + S(1));
}

static void test_check_finish_on_final_is_noop(void **state)
{
	struct verification v = vf_default();

	v.state = VF_CANCELLED;
	v.finalized_ms = T0 + 7;
	assert_int_equal(engine_check_finish(&v, 1, T0 + S(1)),
			 CHECK_CANCELLED);
	assert_int_equal(v.state, VF_CANCELLED);
	assert_int_equal(v.finalized_ms, T0 + 7);
}

/* Cancel ------------------------------------------------------------- */

static void test_cancel_seed_rules_any_time(void **state)
{
	struct verification v = vf_default();

	v.next_step = 2;
	assert_int_equal(engine_cancel(&v, 0, NULL, T0 + 1), CONTROL_OK);
	assert_int_equal(v.state, VF_CANCELLED);
	assert_int_equal(v.finalized_ms, T0 + 1);
}

static void test_cancel_vonage_thirty_second_rule(void **state)
{
	struct verification v = vf_default();

	assert_int_equal(engine_cancel(&v, 1, &defaults, T0 + 29999),
			 CONTROL_TOO_EARLY);
	assert_int_equal(v.state, VF_IN_PROGRESS);
	assert_int_equal(v.finalized_ms, 0);
	assert_int_equal(engine_cancel(&v, 1, &defaults, T0 + 30000),
			 CONTROL_OK);
	assert_int_equal(v.state, VF_CANCELLED);
	assert_int_equal(v.finalized_ms, T0 + 30000);
}

static void test_cancel_vonage_after_second_event_is_late(void **state)
{
	struct verification v = vf_default();

	v.next_step = 2;
	assert_int_equal(engine_cancel(&v, 1, &defaults, T0 + S(130)),
			 CONTROL_TOO_LATE);
	assert_int_equal(v.state, VF_IN_PROGRESS);
	/* The same verification without Vonage's rules can be cancelled. */
	assert_int_equal(engine_cancel(&v, 0, &defaults, T0 + S(130)),
			 CONTROL_OK);
	assert_int_equal(v.state, VF_CANCELLED);
}

static void test_cancel_final_or_expired_is_not_active(void **state)
{
	struct verification v = vf_default();

	assert_int_equal(engine_cancel(&v, 0, &defaults, v.expires_ms),
			 CONTROL_NOT_ACTIVE);
	assert_int_equal(v.state, VF_EXPIRED);
	v = vf_default();
	v.state = VF_SUCCESS;
	assert_int_equal(engine_cancel(&v, 1, &defaults, T0 + S(60)),
			 CONTROL_NOT_ACTIVE);
	assert_int_equal(v.state, VF_SUCCESS);
	v.state = VF_CANCELLED;
	assert_int_equal(engine_cancel(&v, 0, &defaults, T0 + S(60)),
			 CONTROL_NOT_ACTIVE);
}

/* trigger_next_event ------------------------------------------------- */

static void test_trigger_next_with_steps_left(void **state)
{
	struct verification v = vf_default();
	struct verification before;

	memcpy(&before, &v, sizeof(v));
	assert_int_equal(engine_trigger_next(&v, T0 + S(40)), CONTROL_OK);
	assert_memory_equal(&v, &before, sizeof(v));
}

static void test_trigger_next_with_none_left(void **state)
{
	struct verification v = vf_default();

	v.next_step = v.nsteps;
	assert_int_equal(engine_trigger_next(&v, T0 + S(130)),
			 CONTROL_NO_MORE_EVENTS);
	assert_int_equal(v.state, VF_IN_PROGRESS);
	assert_int_equal(engine_trigger_next(&v, v.expires_ms),
			 CONTROL_NOT_ACTIVE);
	assert_int_equal(v.state, VF_EXPIRED);
}

/* A one-step workflow (Vonage 6, 7) never has a next event to trigger. */
static void test_trigger_next_one_step_workflow(void **state)
{
	struct verification v = vf_default();

	v.nsteps = 1;
	v.next_step = 0;
	assert_int_equal(engine_trigger_next(&v, T0 + S(1)),
			 CONTROL_NO_MORE_EVENTS);
	v.next_step = 1;
	assert_int_equal(engine_trigger_next(&v, T0 + S(1)),
			 CONTROL_NO_MORE_EVENTS);
}

/* Resend ------------------------------------------------------------- */

static void test_resend_cooldown_from_creation_then_last(void **state)
{
	struct verification v = vf_default();

	assert_int_equal(engine_resend(&v, &defaults, T0 + 29999),
			 CONTROL_COOLDOWN);
	assert_int_equal(v.resends, 0);
	assert_int_equal(v.last_resend_ms, 0);
	assert_int_equal(engine_resend(&v, &defaults, T0 + 30000), CONTROL_OK);
	assert_int_equal(v.resends, 1);
	assert_int_equal(v.last_resend_ms, T0 + 30000);
	assert_int_equal(engine_resend(&v, &defaults, T0 + 59999),
			 CONTROL_COOLDOWN);
	assert_int_equal(v.resends, 1);
	assert_int_equal(engine_resend(&v, &defaults, T0 + 60000), CONTROL_OK);
	assert_int_equal(v.resends, 2);
	assert_int_equal(v.last_resend_ms, T0 + 60000);
}

static void test_resend_cap(void **state)
{
	struct verification v = vf_default();

	v.resends = defaults.resend_max;
	v.last_resend_ms = T0 + S(30);
	assert_int_equal(engine_resend(&v, &defaults, T0 + S(200)),
			 CONTROL_RESEND_CAP);
	assert_int_equal(v.resends, defaults.resend_max);
	assert_int_equal(v.last_resend_ms, T0 + S(30));
}

static void test_resend_final_or_expired_is_not_active(void **state)
{
	struct verification v = vf_default();

	assert_int_equal(engine_resend(&v, &defaults, v.expires_ms),
			 CONTROL_NOT_ACTIVE);
	assert_int_equal(v.state, VF_EXPIRED);
	assert_int_equal(v.resends, 0);
	v = vf_default();
	v.state = VF_FAILED;
	assert_int_equal(engine_resend(&v, &defaults, T0 + S(60)),
			 CONTROL_NOT_ACTIVE);
}

/* Workflow steps ----------------------------------------------------- */

static void test_step_runs_once_and_in_order(void **state)
{
	struct verification v = vf_default();
	int new_pin = -1;

	v.next_step = 0;
	assert_int_equal(engine_step_begin(&v, 0, T0, &new_pin), 1);
	assert_int_equal(new_pin, 0);
	assert_int_equal(v.next_step, 1);
	/* A repeated or out-of-order job starts nothing. */
	assert_int_equal(engine_step_begin(&v, 0, T0 + 1, &new_pin), 0);
	assert_int_equal(engine_step_begin(&v, 2, T0 + 1, &new_pin), 0);
	assert_int_equal(v.next_step, 1);
	assert_int_equal(engine_step_begin(&v, 1, T0 + S(120), &new_pin), 1);
	assert_int_equal(v.next_step, 2);
	assert_int_equal(engine_step_begin(&v, 2, T0 + S(121), &new_pin), 0);
	assert_int_equal(v.next_step, 2);
}

static void test_step_renews_dead_pin_and_budget(void **state)
{
	struct engine_request req = {.workflow_id = 1,
				     .pin_expiry_s = 240,
				     .next_event_wait_s = 120};
	struct engine_plan p;
	struct verification v;
	int new_pin = -1;

	plan_ok(&req, &defaults, &p);
	v = vf_from_plan(&p);
	assert_int_equal(engine_step_begin(&v, 0, T0, &new_pin), 1);
	assert_int_equal(new_pin, 0);
	/* 240/120: the first two events share a PIN, the third gets one. */
	assert_int_equal(engine_step_begin(&v, 1, T0 + S(120), &new_pin), 1);
	assert_int_equal(new_pin, 0);
	assert_int_equal(engine_check_begin(&v, T0 + S(130)), CHECK_COMPARE);
	assert_int_equal(engine_check_finish(&v, 0, T0 + S(130)), CHECK_WRONG);
	assert_int_equal(engine_check_begin(&v, T0 + S(131)), CHECK_COMPARE);
	assert_int_equal(engine_check_finish(&v, 0, T0 + S(131)), CHECK_WRONG);
	assert_int_equal(engine_step_begin(&v, 2, T0 + S(240), &new_pin), 1);
	assert_int_equal(new_pin, 1);
	assert_int_equal(v.pin_created_ms, T0 + S(240));
	assert_int_equal(v.attempts, 0);
	/* Three more tries on the new PIN. */
	assert_int_equal(engine_check_begin(&v, T0 + S(250)), CHECK_COMPARE);
	assert_int_equal(engine_check_finish(&v, 0, T0 + S(250)), CHECK_WRONG);
	assert_int_equal(engine_check_begin(&v, T0 + S(251)), CHECK_COMPARE);
	assert_int_equal(engine_check_finish(&v, 0, T0 + S(251)), CHECK_WRONG);
	assert_int_equal(engine_check_begin(&v, T0 + S(252)), CHECK_COMPARE);
	assert_int_equal(engine_check_finish(&v, 1, T0 + S(252)), CHECK_OK);
}

static void test_step_after_expiry_does_not_start(void **state)
{
	struct verification v = vf_default();
	int new_pin = -1;

	assert_int_equal(engine_step_begin(&v, 1, v.expires_ms, &new_pin), 0);
	assert_int_equal(new_pin, 0);
	assert_int_equal(v.state, VF_EXPIRED);
	assert_int_equal(v.next_step, 1);
}

/* Voice-call rules: PIN still live, confirm by key, fraud report. ----- */

static void test_pin_live_until_the_pin_life_ends(void **state)
{
	struct verification v = vf_default();
	int64_t end = v.pin_created_ms + v.pin_expiry_ms;

	assert_true(engine_pin_live(&v, v.created_ms));
	assert_true(engine_pin_live(&v, end - 1));
	assert_false(engine_pin_live(&v, end));
	v.state = VF_CANCELLED;
	assert_false(engine_pin_live(&v, v.created_ms));
}

/* A table: what each key rule does to a live and to an ended PIN. */
static void test_call_keys_end_a_live_pin_only(void **state)
{
	static const struct {
		enum control_outcome (*rule)(struct verification *v,
					     int64_t now_ms);
		enum vf_state final;
	} rules[] = {
		{engine_confirm_by_key, VF_SUCCESS},
		{engine_report_fraud, VF_CANCELLED},
	};

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct verification v = vf_default();
		int64_t now = v.created_ms + 1000;
		int64_t end = v.pin_created_ms + v.pin_expiry_ms;

		assert_int_equal(rules[i].rule(&v, now), CONTROL_OK);
		assert_int_equal(v.state, rules[i].final);
		assert_int_equal(v.finalized_ms, now);
		/* Once ended, a second press changes nothing. */
		assert_int_equal(rules[i].rule(&v, now + 1),
				 CONTROL_NOT_ACTIVE);
		assert_int_equal(v.finalized_ms, now);
		/* A PIN whose life is over cannot be confirmed or reported. */
		v = vf_default();
		assert_int_equal(rules[i].rule(&v, end), CONTROL_NOT_ACTIVE);
		assert_int_equal(v.state, VF_IN_PROGRESS);
		assert_int_equal(v.finalized_ms, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_live_until_the_pin_life_ends),
		cmocka_unit_test(test_call_keys_end_a_live_pin_only),
		cmocka_unit_test(test_workflow_lookup_covers_0_to_9_only),
		cmocka_unit_test(test_state_names_match_search_strings),
		cmocka_unit_test(test_plan_default_workflow_is_sms_then_call),
		cmocka_unit_test(test_plan_default_workflow_follows_settings),
		cmocka_unit_test(test_plan_vonage_workflows_defaults),
		cmocka_unit_test(test_plan_one_step_workflows_last_the_pin),
		cmocka_unit_test(test_plan_next_event_wait_sets_every_wait),
		cmocka_unit_test(test_plan_pin_expiry_multiple_is_kept),
		cmocka_unit_test(test_plan_pin_expiry_not_multiple_falls_back),
		cmocka_unit_test(test_plan_pin_expiry_alone_is_kept),
		cmocka_unit_test(test_plan_multiple_rule_is_vonage_only),
		cmocka_unit_test(test_plan_default_late_call_is_dropped),
		cmocka_unit_test(test_plan_range_bounds),
		cmocka_unit_test(test_plan_accepted_values_reach_the_plan),
		cmocka_unit_test(test_plan_min_wait_comes_from_settings),
		cmocka_unit_test(test_plan_bad_setting_is_einval),
		cmocka_unit_test(test_plan_null_arguments_are_einval),
		cmocka_unit_test(test_plan_fixed_line_starts_with_the_call),
		cmocka_unit_test(test_plan_fixed_line_keeps_client_timings),
		cmocka_unit_test(test_expiry_happens_exactly_at_expires_ms),
		cmocka_unit_test(test_expiry_leaves_final_states_alone),
		cmocka_unit_test(test_check_right_code_first_time),
		cmocka_unit_test(test_check_wrong_then_right),
		cmocka_unit_test(test_check_three_wrong_then_right_fails),
		cmocka_unit_test(test_check_counts_attempt_before_compare),
		cmocka_unit_test(test_check_at_expiry_is_expired),
		cmocka_unit_test(test_check_dead_pin_is_not_counted),
		cmocka_unit_test(test_check_after_cancel_and_success),
		cmocka_unit_test(test_check_finish_on_final_is_noop),
		cmocka_unit_test(test_cancel_seed_rules_any_time),
		cmocka_unit_test(test_cancel_vonage_thirty_second_rule),
		cmocka_unit_test(test_cancel_vonage_after_second_event_is_late),
		cmocka_unit_test(test_cancel_final_or_expired_is_not_active),
		cmocka_unit_test(test_trigger_next_with_steps_left),
		cmocka_unit_test(test_trigger_next_with_none_left),
		cmocka_unit_test(test_trigger_next_one_step_workflow),
		cmocka_unit_test(test_resend_cooldown_from_creation_then_last),
		cmocka_unit_test(test_resend_cap),
		cmocka_unit_test(test_resend_final_or_expired_is_not_active),
		cmocka_unit_test(test_step_runs_once_and_in_order),
		cmocka_unit_test(test_step_renews_dead_pin_and_budget),
		cmocka_unit_test(test_step_after_expiry_does_not_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
