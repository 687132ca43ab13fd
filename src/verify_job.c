/*
 * The service's half of delivery: a claim starts the workflow's step in the
 * same transaction that leases the job (a new PIN when the old one's life is
 * over), and a report records what the send did and schedules what follows.
 * The job runner only sends, in between, outside any transaction; a crash
 * there loses nothing (the lease runs out and the job is claimed again).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "store.h"
#include "verify.h"
#include "verify_callback.h"
#include "verify_internal.h"

/* The end of the lease the claim took (what the job's reports pass on). */
static int64_t claim_lease(const struct verify_claim *cl)
{
	return cl->now + cl->lease_ms;
}

/* A step job: starts the step the first time, or ends a finished one. */
static int claim_step(struct store_tx *c, struct verify_claim *cl)
{
	struct vf_record *r = &cl->rec;
	int new_pin = 0;
	int rc;
	char pin[ENGINE_PIN_MAX + 1];

	if (cl->job.attempts == 1) {
		/* First attempt: the step starts now (maybe with a new PIN). */
		if (!engine_step_begin(&r->v, cl->job.step, cl->now, &new_pin))
			return r->v.state != VF_IN_PROGRESS
				       ? verify_finalize(c, r, cl->now,
							 MCH_SMS_CODE)
				       : store_job_done(c, cl->job.id,
							claim_lease(cl),
							JOB_CANCELLED,
							"stale step", cl->now);
		if (new_pin) {
			crypto_pin_new(r->code_length, pin);
			verify_pin_bind(r, pin);
			sodium_memzero(pin, sizeof(pin));
		}
		rc = store_verification_update(c, r);
		if (rc != 0)
			return rc;
	} else if (engine_expire_if_due(&r->v, cl->now) ||
		   r->v.state != VF_IN_PROGRESS) {
		return verify_finalize(c, r, cl->now, MCH_SMS_CODE);
	}
	cl->channel = r->steps[cl->job.step];
	return 0;
}

static int claim_run(struct store_tx *c, void *arg)
{
	struct verify_claim *cl = arg;
	struct vf_record *r = &cl->rec;
	int rc;

	cl->found = 0;
	cl->channel = 0;
	rc = store_job_claim(c, cl->now, claim_lease(cl), &cl->job);
	if (rc == KV_ENOTFOUND) {
		cl->next_due = 0;
		rc = store_job_next_due(c, &cl->next_due);
		return rc == KV_ENOTFOUND ? 0 : rc;
	}
	if (rc != 0)
		return rc;
	cl->found = 1;
	rc = store_verification_by_id(c, cl->job.verification_id, r);
	if (rc != 0)
		return rc;
	if (strcmp(cl->job.kind, JOB_STEP) == 0)
		return claim_step(c, cl);
	if (engine_expire_if_due(&r->v, cl->now) ||
	    r->v.state != VF_IN_PROGRESS)
		return verify_finalize(c, r, cl->now, MCH_SMS_CODE);
	if (strcmp(cl->job.kind, JOB_RESEND) == 0) {
		/* Same PIN, same channel as the step that ran last. */
		int last = r->v.next_step > 0 ? r->v.next_step - 1 : 0;

		cl->channel = r->steps[last];
		return 0;
	}
	/* An expire job whose time has not come: nothing to do yet. */
	return store_job_retry(c, cl->job.id, claim_lease(cl), r->v.expires_ms,
			       "");
}

int verify_job_listen(const char *db, void (*wake)(void))
{
	return store_jobs_listen(db, wake);
}

void verify_job_unlisten(void)
{
	store_jobs_unlisten();
}

int verify_job_claim(struct verify_claim *cl)
{
	return store_write(claim_run, cl);
}

static const char *result_name(const struct verify_report *o, int final_failure)
{
	if (o->skipped)
		return "skipped";
	if (o->wait_until_s)
		return "waiting";
	if (o->result == SEND_ACCEPTED)
		return "accepted";
	if (o->result == SEND_REFUSED)
		return "refused";
	return final_failure ? "failed" : "retrying";
}

/* After a step: the next one, or the expiry once none is left. */
static int schedule_next(struct store_tx *c, const struct verify_claim *cl,
			 const struct vf_record *r, int delivered)
{
	int step = cl->job.step;

	if (step + 1 < r->v.nsteps)
		/* Not delivered: no point waiting for a PIN never seen. */
		return store_job_insert(c, JOB_STEP, r->v.id, step + 1,
					delivered ? cl->now + r->wait_ms[step]
						  : cl->now);
	return store_job_insert(c, JOB_EXPIRE, r->v.id, 0, r->v.expires_ms);
}

/* r: the verification as this write loaded it (its callback's state). */
static int record_event(struct store_tx *c, const struct vf_record *r,
			const struct verify_report *o, int final_failure)
{
	const struct verify_claim *cl = o->cl;
	const char *channel = cl->channel == 's' ? "sms" : "tts";
	struct vf_event ev;

	vf_event_set(&ev, cl->now,
		     strcmp(cl->job.kind, JOB_RESEND) == 0 ? "resend" : channel,
		     channel, o->provider_id, result_name(o, final_failure),
		     o->reason);
	memcpy(ev.encoding, o->encoding, sizeof(ev.encoding));
	ev.segments = o->segments;
	return verify_callback_event(c, r, r->v.state, &ev);
}

static int record_run(struct store_tx *c, void *arg)
{
	struct verify_report *o = arg;
	const struct verify_claim *cl = o->cl;
	struct vf_record r;
	int retry = o->result == SEND_RETRY && !o->skipped;
	int delivered = o->result == SEND_ACCEPTED && !o->skipped;
	int later = o->wait_until_s || (retry && o->retry_due_ms);
	int rc = store_verification_by_id(c, cl->rec.v.id, &r);

	if (rc != 0)
		return rc;
	/*
	 * The job first: a worker whose lease ran out, and whose job another
	 * worker (maybe on another node) claimed, writes nothing
	 * (KV_ENOTFOUND); the new owner's report alone counts.
	 */
	if (later)
		rc = store_job_retry(c, cl->job.id, claim_lease(cl),
				     o->wait_until_s ? o->wait_until_s * 1000
						     : o->retry_due_ms,
				     o->reason);
	else
		rc = store_job_done(
			c, cl->job.id, claim_lease(cl),
			o->result == SEND_ACCEPTED ? JOB_DONE : JOB_FAILED,
			o->result == SEND_ACCEPTED ? "" : o->reason, cl->now);
	if (rc == 0)
		rc = record_event(c, &r, o, retry && !o->retry_due_ms);
	if (rc != 0 || later)
		return rc;
	if (delivered) {
		if (!r.first_event_ms)
			r.first_event_ms = cl->now;
		r.last_event_ms = cl->now;
		if (o->provider_id[0])
			memcpy(r.call_sid, o->provider_id, sizeof(r.call_sid));
		rc = store_verification_update(c, &r);
		if (rc != 0)
			return rc;
	}
	/* A check or cancel may have ended it meanwhile: then nothing follows. */
	if (strcmp(cl->job.kind, JOB_STEP) != 0 || r.v.state != VF_IN_PROGRESS)
		return 0;
	return schedule_next(c, cl, &r, delivered);
}

int verify_job_record(struct verify_report *o)
{
	return store_write(record_run, o);
}
