/*
 * The service's half of a voice call: each KooKoo callback the IVR parsed is
 * one writer transaction here.  It finds the call the callback is about
 * (KooKoo's ids against the stored ones), records the event and the call,
 * and applies the callee's keys through the engine: repeat, confirm, report.
 * The IVR only parses and renders; nothing else writes a verification for a
 * call.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "fraud.h"
#include "log.h"
#include "util.h"
#include "store.h"
#include "verify.h"
#include "verify_callback.h"
#include "verify_internal.h"
#include "verify_templates.h"

/* Times the callee may ask to hear the PIN again, or stay silent. */
#define CALL_REPEATS_MAX 2

/*
 * Ends the verification the way the engine decided (confirmed by key, or
 * reported) with what goes with it: the verified record, or the fraud report
 * and the block it may trip.
 */
static int call_store_end(struct store_tx *c, struct verify_call *vc)
{
	struct vf_record *r = &vc->rec;
	int rc;

	if (r->v.state == VF_SUCCESS) {
		struct vf_verified vr = {.verified_ms = vc->now};

		memcpy(vr.request_id, r->v.request_id, sizeof(vr.request_id));
		rc = store_verified_put(c, r->v.key_id, r->number, &vr);
	} else {
		rc = store_fraud_insert(c, r->number, r->v.id, vc->now);
		if (rc == 0)
			metrics_inc(M_FRAUD_REPORTS, 0, 0, 0);
		if (rc == 0)
			rc = verify_callback_fraud(c, r, vc->now);
		if (rc == 0)
			rc = fraud_note_report(c, r->number, r->v.key_id,
					       vc->now);
	}
	return rc ? rc : verify_finalize(c, r, vc->now, MCH_KEYPAD);
}

/* The `pressed` label of a key. */
static unsigned call_key_label(char key)
{
	return key == '1'   ? MKEY_1
	       : key == '2' ? MKEY_2
	       : key == '9' ? MKEY_9
			    : MKEY_OTHER;
}

/* Which answer a key press (or silence) gets, and what it changes. */
static int call_on_key(struct store_tx *c, struct verify_call *vc,
		       struct vf_call *call)
{
	int allowed = 1;
	int rc;

	if (vc->key)
		metrics_inc(M_CALL_KEYS, call_key_label(vc->key), 0, 0);
	if (vc->key == '2') {
		rc = store_key_voice_confirm(c, vc->rec.v.key_id, &allowed);
		if (rc != 0)
			return rc;
		if (!allowed ||
		    engine_confirm_by_key(&vc->rec.v, vc->now) != CONTROL_OK) {
			vc->answer = CALL_ANSWER_GOODBYE;
			snprintf(call->outcome, sizeof(call->outcome),
				 "goodbye");
			return 0;
		}
		vc->answer = CALL_ANSWER_CONFIRMED;
		snprintf(call->outcome, sizeof(call->outcome), "confirmed");
		vc->confirmed = 1;
		rc = call_store_end(c, vc);
		return rc ? rc
			  : fraud_count_success(c, vc->rec.v.key_id,
						vc->rec.number, vc->now);
	}
	if (vc->key == '9' &&
	    engine_report_fraud(&vc->rec.v, vc->now) == CONTROL_OK) {
		vc->answer = CALL_ANSWER_REPORTED;
		snprintf(call->outcome, sizeof(call->outcome), "reported");
		return call_store_end(c, vc);
	}
	/*
	 * Key 1 (or another key) reads it again while repetitions are left;
	 * silence gets one more reading only, then goodbye (docs/IVR.md).
	 */
	if (call->repeats < (vc->key ? CALL_REPEATS_MAX : 1)) {
		call->repeats++;
		vc->answer = CALL_ANSWER_REPEAT;
		vc->repetitions_left = CALL_REPEATS_MAX - call->repeats;
	} else {
		vc->answer = CALL_ANSWER_GOODBYE;
		snprintf(call->outcome, sizeof(call->outcome), "goodbye");
	}
	return 0;
}

static int call_record_event(struct store_tx *c, const struct verify_call *vc)
{
	struct vf_event ev;
	char detail[sizeof(ev.detail)] = "";

	if (vc->ev == CALL_EV_KEY)
		snprintf(detail, sizeof(detail), "key %c",
			 vc->key ? vc->key : '-');
	else if (vc->duration >= 0)
		snprintf(detail, sizeof(detail), "duration %d s", vc->duration);
	vf_event_set(&ev, vc->now, "tts", vc->status ? "call" : "ivr", vc->sid,
		     vc->status ? vc->status : vc->event_name, detail);
	/* Recorded before this write changes anything: the state as loaded. */
	return verify_callback_event(c, &vc->rec, vc->rec.v.state, &ev);
}

/* How one id a callback carries relates to the token's call. */
enum call_id_match { ID_UNKNOWN, ID_MATCH, ID_OTHER_STEP, ID_FOREIGN };

/*
 * Looks id up: ID_MATCH when it is the call id stored for the verification
 * or a call of this verification at this step; ID_FOREIGN when it is
 * another verification's call; ID_OTHER_STEP when it is one of this
 * verification's calls at another step; ID_UNKNOWN when nothing knows it.
 * *call gets its stored call when there is one (zeroed otherwise).
 */
static int call_id_match(struct store_tx *c, const struct verify_call *vc,
			 const char *id, struct vf_call *call,
			 enum call_id_match *m)
{
	int same = strcmp(vc->rec.call_sid, id) == 0;
	int rc;

	memset(call, 0, sizeof(*call));
	rc = store_call_get(c, id, call);
	if (rc == KV_ENOTFOUND) {
		memset(call, 0, sizeof(*call));
		*m = same ? ID_MATCH : ID_UNKNOWN;
		return 0;
	}
	if (rc != 0)
		return rc;
	if (call->verification_id != vc->rec.v.id)
		*m = ID_FOREIGN;
	else
		*m = same || call->step == vc->step ? ID_MATCH : ID_OTHER_STEP;
	return 0;
}

/*
 * KooKoo may ring and request us before the worker has stored the call id
 * it got back.  The token already proves the URL is ours; a new id is bound
 * only to the step the workflow started last, and only once (then it must
 * match).  outbound_sid is bound when present: it is the id the queued
 * reply carries, which the worker is about to store.
 */
static int call_bind_new_id(struct store_tx *c, struct verify_call *vc,
			    const char *id, int *bound)
{
	struct vf_record *r = &vc->rec;
	struct vf_call cur;

	*bound = 0;
	if (vc->step != r->v.next_step - 1 || r->steps[vc->step] != 't')
		return 0;
	/* Only while the stored id is empty or an earlier step's. */
	if (r->call_sid[0] &&
	    (store_call_get(c, r->call_sid, &cur) != 0 || cur.step >= vc->step))
		return 0;
	snprintf(r->call_sid, sizeof(r->call_sid), "%s", id);
	*bound = 1;
	return store_verification_update(c, r);
}

/*
 * Finds the call a callback is about.  KooKoo's sid is its session id and
 * outbound_sid the id its outbound API queued the call under; either may be
 * the one we stored, so either is accepted (the token still binds the
 * request to this verification and step).  An id of another verification or
 * of another step refuses the request, and so do two ids that both differ
 * from a call id already stored for this step.  vc->sid becomes the id
 * taken, or NULL when refused.
 */
static int call_find(struct store_tx *c, struct verify_call *vc,
		     struct vf_call *call)
{
	enum call_id_match m;
	int known = 0, bound, rc;
	const char *last = NULL;

	vc->sid = NULL;
	for (size_t i = 0; i < ARRAY_LEN(vc->ids); i++) {
		if (!vc->ids[i])
			continue;
		rc = call_id_match(c, vc, vc->ids[i], call, &m);
		if (rc != 0)
			return rc;
		if (m == ID_MATCH) {
			vc->sid = vc->ids[i];
			return 0;
		}
		known |= m != ID_UNKNOWN;
		last = vc->ids[i];
	}
	memset(call, 0, sizeof(*call));
	if (known || !last)
		return 0;
	rc = call_bind_new_id(c, vc, last, &bound);
	if (rc == 0 && bound)
		vc->sid = last;
	return rc;
}

/*
 * The `outcome` label of KooKoo's status: "ring" is its not answered
 * (as "not_answered" in a Dial); anything else did not connect.
 */
static unsigned call_outcome_label(const char *status)
{
	static const struct {
		const char *status;
		unsigned outcome;
	} outcomes[] = {
		{"answered", MCALL_ANSWERED},
		{"busy", MCALL_BUSY},
		{"ring", MCALL_NO_ANSWER},
		{"not_answered", MCALL_NO_ANSWER},
		{"no_answer", MCALL_NO_ANSWER},
	};

	for (size_t i = 0; i < ARRAY_LEN(outcomes); i++)
		if (strcmp(status, outcomes[i].status) == 0)
			return outcomes[i].outcome;
	return MCALL_FAILED;
}

/* The status POST: KooKoo's verdict on the whole call. */
static int call_on_status(struct store_tx *c, struct verify_call *vc,
			  struct vf_call *call)
{
	const struct vf_record *r = &vc->rec;

	metrics_inc(M_CALL_OUTCOMES, call_outcome_label(vc->status), 0, 0);
	snprintf(call->status, sizeof(call->status), "%.31s", vc->status);
	call->duration = vc->duration > 0 ? vc->duration : 0;
	/* Not answered: the workflow goes on to its next step now. */
	if (strcmp(vc->status, "answered") != 0 && r->v.state == VF_IN_PROGRESS)
		return store_job_step_now(c, r->v.id, vc->now, NULL);
	return 0;
}

int verify_call_run(struct store_tx *c, void *arg)
{
	struct verify_call *vc = arg;
	struct vf_record *r = &vc->rec;
	struct vf_call call;
	int rc;

	/* A replayed batch runs this again: start from the inputs. */
	vc->refused = 1;
	vc->confirmed = 0;
	vc->answer = CALL_ANSWER_NONE;
	rc = store_verification_by_id(c, vc->vid, r);
	if (rc != 0)
		return rc == KV_ENOTFOUND ? 0 : rc;
	if (vc->step < 0 || vc->step >= r->v.nsteps)
		return 0;
	rc = call_find(c, vc, &call);
	if (rc != 0 || !vc->sid)
		return rc;
	vc->refused = 0;
	if (!call.sid[0]) {
		snprintf(call.sid, sizeof(call.sid), "%s", vc->sid);
		call.verification_id = r->v.id;
		call.step = vc->step;
	}
	rc = call_record_event(c, vc);
	if (rc != 0)
		return rc;
	if (engine_expire_if_due(&r->v, vc->now)) {
		rc = verify_finalize(c, r, vc->now, MCH_KEYPAD);
		if (rc != 0)
			return rc;
	}
	if (vc->status) {
		rc = call_on_status(c, vc, &call);
	} else if (vc->ev == CALL_EV_NEW) {
		vc->answer = engine_pin_live(&r->v, vc->now)
				     ? CALL_ANSWER_GREETING
				     : CALL_ANSWER_ENDED;
	} else if (vc->ev == CALL_EV_KEY) {
		if (!engine_pin_live(&r->v, vc->now)) {
			vc->answer = CALL_ANSWER_ENDED;
			snprintf(call.outcome, sizeof(call.outcome), "ended");
		} else {
			rc = call_on_key(c, vc, &call);
		}
	} else if (vc->ev == CALL_EV_HANGUP) {
		call.duration = vc->duration > 0 ? vc->duration : call.duration;
	}
	return rc ? rc : store_call_put(c, &call, vc->now);
}

/*
 * The voice fragment of the template the verification's start chose, for
 * its locale, as it is now (changed or deleted since the start: what there
 * is at call time).  None, or a failed read, leaves the IVR's own words.
 */
static void voice_fragment(struct verify_call *vc)
{
	struct vf_template t;
	struct vf_fragment f;
	int rc;

	vc->voice[0] = '\0';
	if (!vc->rec.template_id[0])
		return;
	rc = verify_template_pick(vc->rec.v.key_id, vc->rec.template_id,
				  "voice", vc->rec.lg[0] ? vc->rec.lg : "en-us",
				  &t, &f);
	if (rc != 0 && rc != KV_ENOTFOUND)
		log_warn("ivr.voice_fragment", LOG_STR("why", "store failed"),
			 LOG_INT("vid", vc->rec.v.id));
	if (rc == 0 && f.id[0])
		memcpy(vc->voice, f.text, sizeof(vc->voice));
}

void verify_call_finish(struct verify_call *vc, int rc)
{
	if (rc != 0 || vc->refused)
		return;
	if (vc->confirmed)
		fraud_note_success(vc->rec.v.key_id, vc->rec.number);
	/* A call that was not answered may have moved a step forward. */
	if (vc->status)
		verify_job_wake(vc->now);
	if ((vc->answer == CALL_ANSWER_GREETING ||
	     vc->answer == CALL_ANSWER_REPEAT) &&
	    crypto_pin_open(vc->rec.v.request_id, vc->rec.pin_box,
			    vc->rec.pin_box_len, vc->pin) != 0)
		vc->answer = CALL_ANSWER_ENDED;
	if (vc->answer == CALL_ANSWER_GREETING ||
	    vc->answer == CALL_ANSWER_REPEAT)
		voice_fragment(vc);
}

void verify_call_clear(struct verify_call *vc)
{
	sodium_memzero(vc->pin, sizeof(vc->pin));
	sodium_memzero(vc->rec.pin_box, sizeof(vc->rec.pin_box));
}
