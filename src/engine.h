/*
 * The verification engine: the lifecycle of one verification as pure logic.
 * Nothing here does I/O or reads a clock; callers pass `now_ms` and the
 * service stores whatever the engine changed (docs/ARCHITECTURE.md).
 */
#ifndef KV_ENGINE_H
#define KV_ENGINE_H

#include <stddef.h>
#include <stdint.h>

enum vf_state {
	VF_IN_PROGRESS = 0,
	VF_SUCCESS = 1,
	VF_FAILED = 2,
	VF_EXPIRED = 3,
	VF_CANCELLED = 4,
};

/*
 * CH_MISSED: the person gives a missed call to the DID the request answered
 * with; nothing is sent, the step is the window in which the call verifies.
 */
enum vf_channel { CH_SMS = 0, CH_TTS = 1, CH_MISSED = 2 };

/* This server's workflows beyond Vonage's seven (docs/API.md). */
#define ENGINE_WF_MISSED 8     /* a missed call only */
#define ENGINE_WF_MISSED_SMS 9 /* a missed call, then the SMS */

#define ENGINE_MAX_STEPS 3
#define ENGINE_MAX_ATTEMPTS 3
#define ENGINE_REQUEST_ID_LEN 32
#define ENGINE_PIN_MIN 4
#define ENGINE_PIN_MAX 10
/* The longest pin_expiry a client may ask for, in seconds. */
#define ENGINE_PIN_EXPIRY_MAX_S 3600

/* Server settings the engine needs (a subset of struct config). */
struct engine_settings {
	int pin_expiry_s;      /* default PIN life, 300 */
	int next_event_wait_s; /* default workflow: SMS -> call after this, 120 */
	int code_length;       /* default PIN digits, 4 */
	int param_min_wait_s; /* lowest pin_expiry/next_event_wait a client may ask, 60 */
	int cancel_min_age_s;  /* Vonage: no cancel in the first 30 s */
	int resend_cooldown_s; /* cmd=resend: seconds between two resends */
	int resend_max;        /* cmd=resend: most resends per verification */
	/* A number's resend backoff (engine_resend_backoff); base 0: off. */
	int backoff_base_s;  /* the wait after the first resend is twice it */
	int backoff_max_s;   /* no wait longer than this */
	int backoff_quiet_s; /* the count halves for each such quiet period */
	int backoff_jitter_pct; /* a wait is shortened by up to this percent */
};

/*
 * Workflow 0 is KookooVerify's default (SMS, then one call after
 * next_event_wait, expiry at pin_expiry).  1-7 are Vonage's; 8 and 9 are
 * this server's missed-call workflows (ENGINE_WF_MISSED*).
 */
struct workflow {
	int id;
	int nsteps;
	enum vf_channel steps[ENGINE_MAX_STEPS];
	int default_wait_s
		[ENGINE_MAX_STEPS]; /* wait after each step; 0 = pin_expiry */
};

/* Returns the workflow with this id (0-9) or NULL. */
const struct workflow *engine_workflow(int id);

/* What a client asked for; 0 means "not given, use the default". */
struct engine_request {
	int workflow_id; /* 0 = default workflow */
	int code_length;
	int pin_expiry_s;
	int next_event_wait_s;
	int fixed_line; /* the number cannot receive SMS: start with the call */
	/*
	 * Any workflow but 8 and 9: a missed call may also verify it for its
	 * whole life (the browser flow of a key that enables missed calls).
	 */
	int missed_call_too;
};

/* The resolved schedule of a new verification. */
struct engine_plan {
	int workflow_id;
	int code_length;
	int nsteps;
	enum vf_channel steps[ENGINE_MAX_STEPS];
	int64_t wait_ms[ENGINE_MAX_STEPS]; /* wait after step i before the next */
	int64_t pin_expiry_ms;
	int64_t lifetime_ms; /* from creation to EXPIRED when nothing happens */
	/*
	 * From creation, how long a missed call verifies it (0: never).  A
	 * plan whose first step is CH_MISSED starts at step 1: that step
	 * began when the request answered with the number to call.
	 */
	int64_t missed_ms;
	int first_step;
};

/*
 * Validates a request against the settings and Vonage's rules and fills
 * `plan`.  On KV_EINVAL/KV_ERANGE, *bad_param names the offending parameter
 * ("code_length", "pin_expiry", "next_event_wait", "workflow_id").
 */
int engine_plan_request(const struct engine_request *req,
			const struct engine_settings *set,
			struct engine_plan *plan, const char **bad_param);

/* The mutable state of one verification, as stored. */
struct verification {
	int64_t id; /* store row id */
	char request_id[ENGINE_REQUEST_ID_LEN + 1];
	int64_t key_id;
	enum vf_state state;
	int attempts;  /* checks against the current PIN */
	int next_step; /* index of the next workflow step not yet started */
	int nsteps;
	int resends;
	int64_t created_ms;
	int64_t pin_created_ms;
	int64_t pin_expiry_ms;
	int64_t expires_ms; /* absolute time the verification expires */
	int64_t last_resend_ms;
	int64_t finalized_ms;    /* 0 while IN PROGRESS */
	int64_t missed_until_ms; /* a missed call verifies until then; 0: never */
};

/*
 * Moves an IN PROGRESS verification whose time is up to EXPIRED.
 * Returns 1 when it changed `v`, else 0.
 */
int engine_expire_if_due(struct verification *v, int64_t now_ms);

enum check_outcome {
	CHECK_OK,               /* right code: now SUCCESS */
	CHECK_WRONG,            /* wrong code, attempts left */
	CHECK_WRONG_LAST,       /* wrong code, the last attempt: now FAILED */
	CHECK_FAILED,           /* already FAILED (too many attempts) */
	CHECK_ALREADY_VERIFIED, /* already SUCCESS */
	CHECK_CANCELLED,        /* already CANCELLED */
	CHECK_EXPIRED,          /* EXPIRED, or the PIN's time is up */
	CHECK_COMPARE,          /* not an outcome: the caller compares now */
};

/*
 * First half of a check: expires `v` if due, refuses a final verification,
 * then counts the attempt *before* any comparison.  Returns CHECK_COMPARE
 * when the caller may compare the code (the attempt is counted in `v`),
 * else the final outcome without any comparison.
 */
enum check_outcome engine_check_begin(struct verification *v, int64_t now_ms);

/* Second half: applies the result of the constant-time compare. */
enum check_outcome engine_check_finish(struct verification *v, int matched,
				       int64_t now_ms);

enum control_outcome {
	CONTROL_OK,
	CONTROL_NOT_ACTIVE, /* not IN PROGRESS (final or expired) */
	CONTROL_TOO_EARLY,  /* Vonage: cancel within cancel_min_age */
	CONTROL_TOO_LATE,   /* Vonage: cancel after the second event started */
	CONTROL_NO_MORE_EVENTS, /* trigger_next_event with nothing left */
	CONTROL_COOLDOWN,       /* resend inside the cooldown */
	CONTROL_RESEND_CAP,     /* resend cap reached */
};

/*
 * Cancel.  `vonage_rules` applies Vonage's 30-second and before-second-event
 * rules; the seed dialect cancels any IN PROGRESS verification.
 */
enum control_outcome engine_cancel(struct verification *v, int vonage_rules,
				   const struct engine_settings *set,
				   int64_t now_ms);

/* trigger_next_event: may the next step be brought forward to now? */
enum control_outcome engine_trigger_next(struct verification *v,
					 int64_t now_ms);

/* Milliseconds until a resend is allowed by the cooldown (0: now). */
int64_t engine_resend_wait_ms(const struct verification *v,
			      const struct engine_settings *set,
			      int64_t now_ms);

/* cmd=resend: may the current PIN be sent again now?  Counts the resend. */
enum control_outcome engine_resend(struct verification *v,
				   const struct engine_settings *set,
				   int64_t now_ms);

/*
 * The resend backoff of one number for one key, as stored: resends made
 * lately (halved for each quiet period since the last) and the time before
 * which no resend of that number is allowed, whichever verification asks.
 */
/* The most a count grows to: past it every wait is the maximum anyway. */
#define ENGINE_BACKOFF_COUNT_MAX 24

struct resend_backoff {
	int count;
	int64_t last_ms; /* the last resend; 0: none yet */
	int64_t next_ms; /* no resend before this */
};

/* The backoff's count at now_ms: halved for each quiet period gone by. */
int engine_backoff_count(const struct resend_backoff *b,
			 const struct engine_settings *set, int64_t now_ms);

/*
 * The wait after a number's count-th recent resend: base x 2^count, at
 * most the maximum, then shortened by up to the jitter's percent in
 * proportion to rnd (uniform over uint32_t).  0 when the backoff is off.
 */
int64_t engine_backoff_wait_ms(int count, const struct engine_settings *set,
			       uint32_t rnd);

/*
 * cmd=resend with the number's backoff: the verification's cooldown and
 * cap as engine_resend(), and no resend before b->next_ms.  *wait_ms
 * receives, on CONTROL_COOLDOWN, the milliseconds until a resend would be
 * allowed; on CONTROL_OK, those until the next one (b counts the resend
 * and moves next_ms on by engine_backoff_wait_ms(), jittered by rnd).
 */
enum control_outcome engine_resend_backoff(struct verification *v,
					   struct resend_backoff *b,
					   const struct engine_settings *set,
					   int64_t now_ms, uint32_t rnd,
					   int64_t *wait_ms);

/*
 * A workflow step's job is due: may step `step` (0-based) start now?
 * Expires `v` if due.  Returns 1 when the step starts: next_step moves past
 * it and, when the current PIN's life is over (Vonage: a new PIN for a later
 * event), the PIN is renewed in `v` (pin_created_ms = now, attempts = 0, a
 * fresh budget) and *new_pin is set to 1: the caller draws and stores the
 * new PIN before sending.  Returns 0, changing nothing but a due expiry, when
 * `v` is not IN PROGRESS or `step` is not the next one (a stale or repeated
 * job); *new_pin is then 0.
 */
int engine_step_begin(struct verification *v, int step, int64_t now_ms,
		      int *new_pin);

/*
 * Whether the current PIN of `v` may still be told or used at now_ms: `v`
 * is IN PROGRESS and the PIN's life is not over.  Nothing changes.
 */
int engine_pin_live(const struct verification *v, int64_t now_ms);

/*
 * The callee of a voice call pressed the confirm key: a live PIN makes `v`
 * SUCCESS now (CONTROL_OK); anything else changes nothing
 * (CONTROL_NOT_ACTIVE).  Whether the key may confirm at all is the key's
 * setting, decided by the caller.
 */
enum control_outcome engine_confirm_by_key(struct verification *v,
					   int64_t now_ms);

/*
 * The callee reported the call as unwanted (fraud): a live PIN makes `v`
 * CANCELLED now (CONTROL_OK); anything else changes nothing
 * (CONTROL_NOT_ACTIVE).
 */
enum control_outcome engine_report_fraud(struct verification *v,
					 int64_t now_ms);

/*
 * A missed call from the verification's number reached its DID: while `v`
 * is IN PROGRESS and within its missed-call window, `v` is SUCCESS now
 * (CONTROL_OK).  Expires `v` if due; anything else changes nothing
 * (CONTROL_NOT_ACTIVE: final, expired, no window or the window is over).
 */
enum control_outcome engine_missed_call(struct verification *v, int64_t now_ms);

/*
 * "IN PROGRESS", "SUCCESS", "FAILED", "EXPIRED", "CANCELLED"; "UNKNOWN" for
 * a value outside the enum.  Static strings, never freed.
 */
const char *engine_state_name(enum vf_state s);

#endif
