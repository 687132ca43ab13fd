/*
 * The verification engine: the workflow table, the planning of a new
 * verification (Vonage's ranges and timing rules) and the state transitions
 * of one verification (check, cancel, trigger, resend, steps, expiry).
 * Pure logic: no I/O, no clock reads, no allocation; times come from callers.
 */
#include "engine.h"

#include <limits.h>

#include "err.h"
#include "util.h"

#define MS_PER_S 1000
#define NEXT_EVENT_WAIT_MAX_S 900

/*
 * A wait of 0 means "the rest of the PIN's life": pin_expiry for a workflow
 * with one step, pin_expiry minus the first wait for workflow 0.  Workflow
 * 0's first wait is the compiled default; plans take it from the settings.
 */
static const struct workflow workflows[] = {
	{.id = 0,
	 .nsteps = 2,
	 .steps = {CH_SMS, CH_TTS},
	 .default_wait_s = {120, 0}},
	{.id = 1,
	 .nsteps = 3,
	 .steps = {CH_SMS, CH_TTS, CH_TTS},
	 .default_wait_s = {125, 180, 300}},
	{.id = 2,
	 .nsteps = 3,
	 .steps = {CH_SMS, CH_SMS, CH_TTS},
	 .default_wait_s = {125, 180, 300}},
	{.id = 3,
	 .nsteps = 2,
	 .steps = {CH_TTS, CH_TTS},
	 .default_wait_s = {150, 150}},
	{.id = 4,
	 .nsteps = 2,
	 .steps = {CH_SMS, CH_SMS},
	 .default_wait_s = {120, 180}},
	{.id = 5,
	 .nsteps = 2,
	 .steps = {CH_SMS, CH_TTS},
	 .default_wait_s = {120, 180}},
	{.id = 6, .nsteps = 1, .steps = {CH_SMS}, .default_wait_s = {0}},
	{.id = 7, .nsteps = 1, .steps = {CH_TTS}, .default_wait_s = {0}},
	/* This server's: a missed call, alone or then the SMS. */
	{.id = ENGINE_WF_MISSED,
	 .nsteps = 1,
	 .steps = {CH_MISSED},
	 .default_wait_s = {0}},
	{.id = ENGINE_WF_MISSED_SMS,
	 .nsteps = 2,
	 .steps = {CH_MISSED, CH_SMS},
	 .default_wait_s = {120, 0}},
};

static const char *const state_names[] = {
	[VF_IN_PROGRESS] = "IN PROGRESS", [VF_SUCCESS] = "SUCCESS",
	[VF_FAILED] = "FAILED",           [VF_EXPIRED] = "EXPIRED",
	[VF_CANCELLED] = "CANCELLED",
};

/* What a check against a verification in a final state answers. */
static const enum check_outcome final_check_outcomes[] = {
	[VF_SUCCESS] = CHECK_ALREADY_VERIFIED,
	[VF_FAILED] = CHECK_FAILED,
	[VF_EXPIRED] = CHECK_EXPIRED,
	[VF_CANCELLED] = CHECK_CANCELLED,
};

const struct workflow *engine_workflow(int id)
{
	if (id < 0 || (size_t)id >= ARRAY_LEN(workflows))
		return NULL;
	return &workflows[id];
}

const char *engine_state_name(enum vf_state s)
{
	if ((unsigned int)s >= ARRAY_LEN(state_names))
		return "UNKNOWN";
	return state_names[s];
}

/* Planning ----------------------------------------------------------- */

static int param_fail(int err, const char *name, const char **bad_param)
{
	if (bad_param)
		*bad_param = name;
	return err;
}

/*
 * Resolves one optional client value: 0 takes `def` (a server setting, so a
 * bad one is KV_EINVAL), anything else must lie in [lo, hi] (KV_ERANGE).
 */
static int param_resolve(int given, int lo, int hi, int def, int def_lo,
			 int def_hi, const char *name, int *out,
			 const char **bad_param)
{
	if (given == 0) {
		if (def < def_lo || def > def_hi)
			return param_fail(KV_EINVAL, name, bad_param);
		*out = def;
		return 0;
	}
	if (given < lo || given > hi)
		return param_fail(KV_ERANGE, name, bad_param);
	*out = given;
	return 0;
}

static void plan_push(struct engine_plan *plan, enum vf_channel ch,
		      int64_t wait_ms)
{
	plan->steps[plan->nsteps] = ch;
	plan->wait_ms[plan->nsteps] = wait_ms;
	plan->lifetime_ms += wait_ms;
	plan->nsteps++;
}

/*
 * KookooVerify's default: SMS, one call after `wait_ms`, expiry at the
 * PIN's end.  A call that would fall at or after the expiry is dropped; a
 * fixed line gets only the call.
 */
static void plan_default(struct engine_plan *plan, int64_t wait_ms,
			 int fixed_line)
{
	int64_t life = plan->pin_expiry_ms;

	if (fixed_line) {
		plan_push(plan, CH_TTS, life);
	} else if (wait_ms >= life) {
		plan_push(plan, CH_SMS, life);
	} else {
		plan_push(plan, CH_SMS, wait_ms);
		plan_push(plan, CH_TTS, life - wait_ms);
	}
}

/*
 * Vonage's workflows 1-7: the table's waits, or `wait_s` for every step when
 * the client gave next_event_wait.  A fixed line skips the leading SMS
 * steps; a workflow without a call becomes one call that lasts the PIN.
 */
static void plan_vonage(struct engine_plan *plan, const struct workflow *wf,
			int wait_s, int fixed_line)
{
	int i = 0;

	if (fixed_line) {
		while (i < wf->nsteps && wf->steps[i] == CH_SMS)
			i++;
		if (i == wf->nsteps) {
			plan_push(plan, CH_TTS, plan->pin_expiry_ms);
			return;
		}
	}
	for (; i < wf->nsteps; i++) {
		int64_t wait_ms;

		if (wf->default_wait_s[i] == 0)
			wait_ms = plan->pin_expiry_ms;
		else if (wait_s != 0)
			wait_ms = (int64_t)wait_s * MS_PER_S;
		else
			wait_ms = (int64_t)wf->default_wait_s[i] * MS_PER_S;
		/* Only workflow 9 has an SMS after its first step. */
		plan_push(plan,
			  fixed_line && wf->steps[i] == CH_SMS ? CH_TTS
							       : wf->steps[i],
			  wait_ms);
	}
}

/* Resolves code_length and pin_expiry into `plan`. */
static int plan_resolve_pin(const struct engine_request *req,
			    const struct engine_settings *set,
			    struct engine_plan *plan, const char **bad_param)
{
	int lo = set->param_min_wait_s > 1 ? set->param_min_wait_s : 1;
	int pin_s = 0;
	int err;

	err = param_resolve(req->code_length, ENGINE_PIN_MIN, ENGINE_PIN_MAX,
			    set->code_length, ENGINE_PIN_MIN, ENGINE_PIN_MAX,
			    "code_length", &plan->code_length, bad_param);
	if (err)
		return err;
	err = param_resolve(req->pin_expiry_s, lo, ENGINE_PIN_EXPIRY_MAX_S,
			    set->pin_expiry_s, 1, INT_MAX, "pin_expiry", &pin_s,
			    bad_param);
	if (err)
		return err;
	plan->pin_expiry_ms = (int64_t)pin_s * MS_PER_S;
	return 0;
}

/*
 * Resolves next_event_wait: the client's value, else the setting for
 * workflow 0; *wait_s stays 0 for workflows 1-7 without a client value
 * (their table holds the defaults).
 */
static int plan_resolve_wait(const struct engine_request *req,
			     const struct engine_settings *set, int *wait_s,
			     const char **bad_param)
{
	int lo = set->param_min_wait_s > 1 ? set->param_min_wait_s : 1;

	*wait_s = 0;
	if (req->workflow_id != 0 && req->next_event_wait_s == 0)
		return 0;
	return param_resolve(req->next_event_wait_s, lo, NEXT_EVENT_WAIT_MAX_S,
			     set->next_event_wait_s, 1, INT_MAX,
			     "next_event_wait", wait_s, bad_param);
}

/*
 * The missed-call window: the first step's wait when that step is the
 * missed call (which starts as the request is answered), else the whole
 * life when a missed call may verify it too.
 */
static void plan_missed(struct engine_plan *plan, int missed_call_too)
{
	if (plan->nsteps > 0 && plan->steps[0] == CH_MISSED) {
		plan->missed_ms = plan->wait_ms[0];
		plan->first_step = 1;
		/* No step tells a PIN: no code may verify it. */
		if (plan->nsteps == 1)
			plan->pin_expiry_ms = 0;
	} else if (missed_call_too) {
		plan->missed_ms = plan->lifetime_ms;
	}
}

int engine_plan_request(const struct engine_request *req,
			const struct engine_settings *set,
			struct engine_plan *plan, const char **bad_param)
{
	const struct workflow *wf;
	int wait_s = 0;
	int err;

	if (bad_param)
		*bad_param = NULL;
	if (!req || !set || !plan)
		return KV_EINVAL;
	*plan = (struct engine_plan){0};
	wf = engine_workflow(req->workflow_id);
	if (!wf)
		return param_fail(KV_ERANGE, "workflow_id", bad_param);
	plan->workflow_id = wf->id;
	err = plan_resolve_pin(req, set, plan, bad_param);
	if (err)
		return err;
	err = plan_resolve_wait(req, set, &wait_s, bad_param);
	if (err)
		return err;
	if (wf->id == 0) {
		plan_default(plan, (int64_t)wait_s * MS_PER_S, req->fixed_line);
		plan_missed(plan, req->missed_call_too);
		return 0;
	}
	/* Vonage: both given and not a multiple: the PIN lasts one wait. */
	if (req->pin_expiry_s != 0 && req->next_event_wait_s != 0 &&
	    req->pin_expiry_s % req->next_event_wait_s != 0)
		plan->pin_expiry_ms = (int64_t)wait_s * MS_PER_S;
	plan_vonage(plan, wf, wait_s, req->fixed_line);
	plan_missed(plan, req->missed_call_too);
	return 0;
}

/* Transitions -------------------------------------------------------- */

static void vf_finalize(struct verification *v, enum vf_state state,
			int64_t now_ms)
{
	v->state = state;
	v->finalized_ms = now_ms;
}

int engine_expire_if_due(struct verification *v, int64_t now_ms)
{
	if (v->state != VF_IN_PROGRESS || now_ms < v->expires_ms)
		return 0;
	vf_finalize(v, VF_EXPIRED, now_ms);
	return 1;
}

int engine_pin_live(const struct verification *v, int64_t now_ms)
{
	return v->state == VF_IN_PROGRESS &&
	       now_ms < v->pin_created_ms + v->pin_expiry_ms;
}

enum control_outcome engine_confirm_by_key(struct verification *v,
					   int64_t now_ms)
{
	if (!engine_pin_live(v, now_ms))
		return CONTROL_NOT_ACTIVE;
	vf_finalize(v, VF_SUCCESS, now_ms);
	return CONTROL_OK;
}

enum control_outcome engine_report_fraud(struct verification *v, int64_t now_ms)
{
	if (!engine_pin_live(v, now_ms))
		return CONTROL_NOT_ACTIVE;
	vf_finalize(v, VF_CANCELLED, now_ms);
	return CONTROL_OK;
}

enum control_outcome engine_missed_call(struct verification *v, int64_t now_ms)
{
	engine_expire_if_due(v, now_ms);
	if (v->state != VF_IN_PROGRESS || now_ms >= v->missed_until_ms)
		return CONTROL_NOT_ACTIVE;
	vf_finalize(v, VF_SUCCESS, now_ms);
	return CONTROL_OK;
}

/* The answer to a check against a verification that is not IN PROGRESS. */
static enum check_outcome check_outcome_final(enum vf_state s)
{
	if ((unsigned int)s >= ARRAY_LEN(final_check_outcomes) ||
	    s == VF_IN_PROGRESS)
		return CHECK_EXPIRED;
	return final_check_outcomes[s];
}

enum check_outcome engine_check_begin(struct verification *v, int64_t now_ms)
{
	engine_expire_if_due(v, now_ms);
	if (v->state != VF_IN_PROGRESS)
		return check_outcome_final(v->state);
	/* The workflow may still issue a new PIN: nothing is counted. */
	if (now_ms >= v->pin_created_ms + v->pin_expiry_ms)
		return CHECK_EXPIRED;
	/*
	 * A budget already spent while IN PROGRESS means an earlier check
	 * counted its attempt but never finished: that check was the last.
	 */
	if (v->attempts >= ENGINE_MAX_ATTEMPTS) {
		vf_finalize(v, VF_FAILED, now_ms);
		return CHECK_FAILED;
	}
	v->attempts++;
	return CHECK_COMPARE;
}

enum check_outcome engine_check_finish(struct verification *v, int matched,
				       int64_t now_ms)
{
	if (v->state != VF_IN_PROGRESS)
		return check_outcome_final(v->state);
	if (matched && v->attempts <= ENGINE_MAX_ATTEMPTS) {
		vf_finalize(v, VF_SUCCESS, now_ms);
		return CHECK_OK;
	}
	if (v->attempts >= ENGINE_MAX_ATTEMPTS) {
		vf_finalize(v, VF_FAILED, now_ms);
		return matched ? CHECK_FAILED : CHECK_WRONG_LAST;
	}
	return CHECK_WRONG;
}

enum control_outcome engine_cancel(struct verification *v, int vonage_rules,
				   const struct engine_settings *set,
				   int64_t now_ms)
{
	engine_expire_if_due(v, now_ms);
	if (v->state != VF_IN_PROGRESS)
		return CONTROL_NOT_ACTIVE;
	if (vonage_rules) {
		int64_t min_age_ms = (int64_t)set->cancel_min_age_s * MS_PER_S;

		if (now_ms - v->created_ms < min_age_ms)
			return CONTROL_TOO_EARLY;
		if (v->next_step >= 2)
			return CONTROL_TOO_LATE;
	}
	vf_finalize(v, VF_CANCELLED, now_ms);
	return CONTROL_OK;
}

enum control_outcome engine_trigger_next(struct verification *v, int64_t now_ms)
{
	engine_expire_if_due(v, now_ms);
	if (v->state != VF_IN_PROGRESS)
		return CONTROL_NOT_ACTIVE;
	/*
	 * The first step is due the moment the verification is created, so
	 * it is never "next": a one-step workflow has no event to trigger.
	 */
	if ((v->next_step > 1 ? v->next_step : 1) >= v->nsteps)
		return CONTROL_NO_MORE_EVENTS;
	return CONTROL_OK;
}

int64_t engine_resend_wait_ms(const struct verification *v,
			      const struct engine_settings *set, int64_t now_ms)
{
	int64_t cooldown_ms = (int64_t)set->resend_cooldown_s * MS_PER_S;
	/* The cooldown runs from the last resend, or from the first send. */
	int64_t since_ms = v->last_resend_ms > v->created_ms ? v->last_resend_ms
							     : v->created_ms;

	return since_ms + cooldown_ms > now_ms ? since_ms + cooldown_ms - now_ms
					       : 0;
}

enum control_outcome engine_resend(struct verification *v,
				   const struct engine_settings *set,
				   int64_t now_ms)
{
	struct resend_backoff none = {0, 0, 0};
	int64_t wait_ms;

	return engine_resend_backoff(v, &none, set, now_ms, 0, &wait_ms);
}

int engine_backoff_count(const struct resend_backoff *b,
			 const struct engine_settings *set, int64_t now_ms)
{
	int64_t quiet_ms = (int64_t)set->backoff_quiet_s * MS_PER_S;
	int64_t periods;

	if (b->count <= 0 || quiet_ms <= 0 || now_ms <= b->last_ms)
		return b->count > 0 ? b->count : 0;
	periods = (now_ms - b->last_ms) / quiet_ms;
	return periods >= 31 ? 0 : b->count >> periods;
}

int64_t engine_backoff_wait_ms(int count, const struct engine_settings *set,
			       uint32_t rnd)
{
	int64_t base_ms = (int64_t)set->backoff_base_s * MS_PER_S;
	int64_t max_ms = (int64_t)set->backoff_max_s * MS_PER_S;
	int64_t wait_ms;
	int64_t cut;

	if (base_ms <= 0 || count <= 0)
		return 0;
	wait_ms = base_ms << (count < ENGINE_BACKOFF_COUNT_MAX
				      ? count
				      : ENGINE_BACKOFF_COUNT_MAX);
	if (wait_ms > max_ms)
		wait_ms = max_ms;
	/* Shortened, never lengthened: the cap stays a cap. */
	cut = wait_ms * set->backoff_jitter_pct / 100;
	return wait_ms - (int64_t)(((uint64_t)cut * rnd) >> 32);
}

enum control_outcome engine_resend_backoff(struct verification *v,
					   struct resend_backoff *b,
					   const struct engine_settings *set,
					   int64_t now_ms, uint32_t rnd,
					   int64_t *wait_ms)
{
	int64_t cooldown_ms = (int64_t)set->resend_cooldown_s * MS_PER_S;
	int count;

	*wait_ms = 0;
	engine_expire_if_due(v, now_ms);
	if (v->state != VF_IN_PROGRESS)
		return CONTROL_NOT_ACTIVE;
	if (v->resends >= set->resend_max)
		return CONTROL_RESEND_CAP;
	*wait_ms = engine_resend_wait_ms(v, set, now_ms);
	if (b->next_ms - now_ms > *wait_ms)
		*wait_ms = b->next_ms - now_ms;
	if (*wait_ms > 0)
		return CONTROL_COOLDOWN;
	v->resends++;
	v->last_resend_ms = now_ms;
	count = engine_backoff_count(b, set, now_ms);
	b->count = count < ENGINE_BACKOFF_COUNT_MAX ? count + 1
						    : ENGINE_BACKOFF_COUNT_MAX;
	b->last_ms = now_ms;
	b->next_ms = now_ms + engine_backoff_wait_ms(b->count, set, rnd);
	*wait_ms = b->next_ms - now_ms > cooldown_ms ? b->next_ms - now_ms
						     : cooldown_ms;
	return CONTROL_OK;
}

int engine_step_begin(struct verification *v, int step, int64_t now_ms,
		      int *new_pin)
{
	*new_pin = 0;
	engine_expire_if_due(v, now_ms);
	if (v->state != VF_IN_PROGRESS || step != v->next_step ||
	    step >= v->nsteps)
		return 0;
	v->next_step++;
	if (now_ms >= v->pin_created_ms + v->pin_expiry_ms) {
		v->pin_created_ms = now_ms;
		v->attempts = 0;
		*new_pin = 1;
	}
	return 1;
}
