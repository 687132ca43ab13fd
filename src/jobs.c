/*
 * The job runner (jobs.h).  A worker claims the earliest due job in one
 * writer transaction (lease, attempt count, workflow step start, new PIN if
 * the old one expired), sends through KooKoo outside any transaction, then
 * records the outcome and schedules what follows in a second transaction.
 * A crash between the two loses nothing: the lease runs out and the job is
 * taken again (at-least-once delivery).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "db.h"
#include "err.h"
#include "jobs.h"
#include "kookoo.h"
#include "log.h"
#include "messages.h"
#include "phone.h"
#include "util.h"

#define WORKERS_MAX 64
#define IDLE_WAIT_MS 5000
#define TOKEN_LIFE_S 3600

static struct {
	const struct config *cfg;
	int window_start, window_end;
	pthread_t threads[WORKERS_MAX];
	int nthreads;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
	int sleepers;         /* workers waiting for a job to become due */
	uint64_t wakes;       /* jobs_notify() calls so far */
	int64_t next_send_ms; /* pacing: when the next send may start */
} run = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

/* What one claimed job needs outside the store. */
struct claim {
	int64_t now;
	int found;
	int64_t next_due; /* when nothing was due: the earliest pending job */
	struct job_row job;
	struct vf_record rec;
	char channel; /* 's' SMS, 't' call, 0 nothing to send */
};

/* What the send produced, to record. */
struct outcome {
	const struct claim *cl;
	enum kookoo_outcome result;
	int skipped;          /* outside the calling window, skipping */
	int64_t wait_until_s; /* outside the window, waiting: retry then */
	char provider_id[64];
	char reason[160];
};

int64_t jobs_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
			double jitter)
{
	int64_t d = base_ms;

	for (int i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	if (jitter < 0.5)
		jitter = 0.5;
	if (jitter > 1.0)
		jitter = 1.0;
	return (int64_t)((double)d * jitter);
}

int jobs_in_window(int64_t now_s, int start_min, int end_min,
		   int utc_offset_min, int64_t *opens_s)
{
	int64_t local = now_s + (int64_t)utc_offset_min * 60;
	int64_t day = local - local % 86400;
	int minute = (int)(local % 86400 / 60);
	int inside = start_min <= end_min
			     ? minute >= start_min && minute < end_min
			     : minute >= start_min || minute < end_min;
	int64_t open;

	if (inside || start_min == end_min)
		return 1;
	open = day + (int64_t)start_min * 60;
	if (open <= local)
		open += 86400;
	*opens_s = open - (int64_t)utc_offset_min * 60;
	return 0;
}

/* ---- claim ---- */

static int claim_step(struct db_conn *c, struct claim *cl)
{
	struct vf_record *r = &cl->rec;
	int new_pin = 0;
	int rc;
	char pin[ENGINE_PIN_MAX + 1];

	if (cl->job.attempts == 1) {
		/* First attempt: the step starts now (maybe with a new PIN). */
		if (!engine_step_begin(&r->v, cl->job.step, cl->now, &new_pin))
			return r->v.state != VF_IN_PROGRESS
				       ? db_verification_finalize(c, r, cl->now)
				       : db_job_done(c, cl->job.id,
						     JOB_CANCELLED,
						     "stale step", cl->now);
		if (new_pin) {
			crypto_pin_new(r->code_length, pin);
			crypto_pin_hash(r->v.request_id, pin, r->pin_hash);
			r->pin_box_len = crypto_pin_seal(r->v.request_id, pin,
							 r->pin_box);
			sodium_memzero(pin, sizeof(pin));
		}
		rc = db_verification_update(c, r);
		if (rc != 0)
			return rc;
	} else if (engine_expire_if_due(&r->v, cl->now) ||
		   r->v.state != VF_IN_PROGRESS) {
		return db_verification_finalize(c, r, cl->now);
	}
	cl->channel = r->steps[cl->job.step];
	return 0;
}

static int claim_tx(struct db_conn *c, void *arg)
{
	struct claim *cl = arg;
	int64_t lease = (int64_t)run.cfg->job_lease * 1000;
	struct vf_record *r = &cl->rec;
	int rc;

	cl->found = 0;
	cl->channel = 0;
	rc = db_job_claim(c, cl->now, cl->now + lease, &cl->job);
	if (rc == KV_ENOTFOUND) {
		cl->next_due = 0;
		rc = db_job_next_due(c, &cl->next_due);
		return rc == KV_ENOTFOUND ? 0 : rc;
	}
	if (rc != 0)
		return rc;
	cl->found = 1;
	rc = db_verification_by_id(c, cl->job.verification_id, r);
	if (rc != 0)
		return rc;
	if (strcmp(cl->job.kind, JOB_STEP) == 0)
		return claim_step(c, cl);
	if (engine_expire_if_due(&r->v, cl->now) ||
	    r->v.state != VF_IN_PROGRESS)
		return db_verification_finalize(c, r, cl->now);
	if (strcmp(cl->job.kind, JOB_RESEND) == 0) {
		/* Same PIN, same channel as the step that ran last. */
		int last = r->v.next_step > 0 ? r->v.next_step - 1 : 0;

		cl->channel = r->steps[last];
		return 0;
	}
	/* An expire job whose time has not come: nothing to do yet. */
	return db_job_retry(c, cl->job.id, r->v.expires_ms, "");
}

/* ---- send ---- */

/* Pacing: sends start at most send_rate per second, in claim order. */
static void pace(void)
{
	int64_t gap = 1000 / run.cfg->send_rate;
	int64_t slot, now = now_ms();

	pthread_mutex_lock(&run.lock);
	slot = run.next_send_ms > now ? run.next_send_ms : now;
	run.next_send_ms = slot + (gap > 0 ? gap : 1);
	pthread_mutex_unlock(&run.lock);
	while ((now = now_ms()) < slot) {
		struct timespec ts = {0, (long)(slot - now) * 1000000L};

		nanosleep(&ts, NULL);
	}
}

/*
 * public_base_url + path + token.  One trailing '/' of public_base_url is
 * dropped ("https://host/" is a common way to write it): KooKoo answers 404
 * to "//ivr/kookoo".  config_validate() refuses anything ending in "//".
 */
static void ivr_url(const char *path, const char *token, char *out,
		    size_t outlen)
{
	const char *base = run.cfg->public_base_url;
	size_t n = strlen(base);

	if (n > 0 && base[n - 1] == '/')
		n--;
	snprintf(out, outlen, "%.*s%s?t=%s", (int)n, base, path, token);
}

static void send_sms(struct kookoo *k, const struct vf_record *r,
		     const char *to, const char *pin, struct outcome *o)
{
	char text[512];
	struct kookoo_result kr;
	int minutes = (int)((r->v.pin_expiry_ms + 59999) / 60000);
	const char *sender = r->sender_id[0] ? r->sender_id
			     : run.cfg->kookoo_sender_id[0]
				     ? run.cfg->kookoo_sender_id
				     : NULL;

	if (messages_sms(r->lg, r->brand, pin, minutes, text, sizeof(text))) {
		o->result = KOOKOO_REFUSED;
		snprintf(o->reason, sizeof(o->reason), "message too long");
		return;
	}
	pace();
	kookoo_send_sms(k, to, text, sender, &kr);
	sodium_memzero(text, sizeof(text));
	o->result = kr.outcome;
	snprintf(o->reason, sizeof(o->reason), "%s", kr.reason);
}

static void place_call(struct kookoo *k, const struct claim *cl, const char *to,
		       struct outcome *o)
{
	char token[CRYPTO_TOKEN_MAX], url[512], status_url[512];
	struct kookoo_result kr;
	int64_t opens = 0;

	if (!jobs_in_window(cl->now / 1000, run.window_start, run.window_end,
			    run.cfg->call_window_utc_offset, &opens)) {
		if (strcmp(run.cfg->call_outside_window, "skip") == 0)
			o->skipped = 1;
		else
			o->wait_until_s = opens;
		snprintf(o->reason, sizeof(o->reason),
			 "outside the calling window");
		return;
	}
	crypto_call_token(cl->rec.v.id, cl->job.step,
			  cl->now / 1000 + TOKEN_LIFE_S, token);
	ivr_url("/ivr/kookoo", token, url, sizeof(url));
	ivr_url("/ivr/kookoo/status", token, status_url, sizeof(status_url));
	pace();
	kookoo_place_call(
		k, to, url, status_url,
		run.cfg->kookoo_caller_id[0] ? run.cfg->kookoo_caller_id : NULL,
		&kr);
	o->result = kr.outcome;
	snprintf(o->reason, sizeof(o->reason), "%s", kr.reason);
	if (kr.outcome == KOOKOO_ACCEPTED)
		snprintf(o->provider_id, sizeof(o->provider_id), "%.*s",
			 (int)sizeof(o->provider_id) - 1, kr.message);
}

static void send_claimed(struct kookoo *k, const struct claim *cl,
			 struct outcome *o)
{
	const struct vf_record *r = &cl->rec;
	char pin[ENGINE_PIN_MAX + 1];
	char to[PHONE_KOOKOO_LEN];
	struct phone ph;

	if (phone_parse_digits(r->number, &ph) != 0 ||
	    crypto_pin_open(r->v.request_id, r->pin_box, r->pin_box_len, pin) !=
		    0) {
		o->result = KOOKOO_REFUSED;
		snprintf(o->reason, sizeof(o->reason), "unusable stored data");
		return;
	}
	phone_kookoo_form(&ph, to, sizeof(to));
	if (cl->channel == 's')
		send_sms(k, r, to, pin, o);
	else
		place_call(k, cl, to, o);
	sodium_memzero(pin, sizeof(pin));
}

/* ---- record ---- */

static const char *result_name(const struct outcome *o, int final_failure)
{
	if (o->skipped)
		return "skipped";
	if (o->wait_until_s)
		return "waiting";
	if (o->result == KOOKOO_ACCEPTED)
		return "accepted";
	if (o->result == KOOKOO_REFUSED)
		return "refused";
	return final_failure ? "failed" : "retrying";
}

/* After a step: the next one, or the expiry once none is left. */
static int schedule_next(struct db_conn *c, const struct claim *cl,
			 const struct vf_record *r, int delivered)
{
	int step = cl->job.step;

	if (step + 1 < r->v.nsteps)
		/* Not delivered: no point waiting for a PIN never seen. */
		return db_job_insert(c, JOB_STEP, r->v.id, step + 1,
				     delivered ? cl->now + r->wait_ms[step]
					       : cl->now);
	return db_job_insert(c, JOB_EXPIRE, r->v.id, 0, r->v.expires_ms);
}

static int record_tx(struct db_conn *c, void *arg)
{
	struct outcome *o = arg;
	const struct claim *cl = o->cl;
	struct vf_record r;
	struct event_row ev;
	int final = cl->job.attempts >= run.cfg->retry_max_attempts;
	int retry = o->result == KOOKOO_RETRY && !o->skipped;
	int rc = db_verification_by_id(c, cl->rec.v.id, &r);

	if (rc != 0)
		return rc;
	memset(&ev, 0, sizeof(ev));
	ev.created_ms = cl->now;
	snprintf(ev.type, sizeof(ev.type), "%s",
		 strcmp(cl->job.kind, JOB_RESEND) == 0 ? "resend"
		 : cl->channel == 's'                  ? "sms"
						       : "tts");
	snprintf(ev.channel, sizeof(ev.channel), "%s",
		 cl->channel == 's' ? "sms" : "tts");
	snprintf(ev.provider_id, sizeof(ev.provider_id), "%s", o->provider_id);
	snprintf(ev.result, sizeof(ev.result), "%s",
		 result_name(o, retry && final));
	snprintf(ev.detail, sizeof(ev.detail), "%s", o->reason);
	rc = db_event_insert(c, r.v.id, &ev);
	if (rc != 0)
		return rc;
	if (o->wait_until_s)
		return db_job_retry(c, cl->job.id, o->wait_until_s * 1000,
				    o->reason);
	if (retry && !final) {
		int64_t d = jobs_backoff_ms(
			cl->job.attempts, run.cfg->retry_base_ms,
			run.cfg->retry_max_ms,
			0.5 + randombytes_uniform(501) / 1000.0);

		return db_job_retry(c, cl->job.id, cl->now + d, o->reason);
	}
	if (o->result == KOOKOO_ACCEPTED && !o->skipped) {
		if (!r.first_event_ms)
			r.first_event_ms = cl->now;
		r.last_event_ms = cl->now;
		if (o->provider_id[0])
			memcpy(r.call_sid, o->provider_id, sizeof(r.call_sid));
		rc = db_verification_update(c, &r);
		if (rc != 0)
			return rc;
	}
	rc = db_job_done(c, cl->job.id,
			 o->result == KOOKOO_ACCEPTED ? JOB_DONE : JOB_FAILED,
			 o->result == KOOKOO_ACCEPTED ? "" : o->reason,
			 cl->now);
	/* A check or cancel may have ended it meanwhile: then nothing follows. */
	if (rc != 0 || strcmp(cl->job.kind, JOB_STEP) != 0 ||
	    r.v.state != VF_IN_PROGRESS)
		return rc;
	return schedule_next(c, cl, &r,
			     o->result == KOOKOO_ACCEPTED && !o->skipped);
}

/* ---- workers ---- */

/* The notification count, read before a claim that may find nothing. */
static uint64_t wakes_now(void)
{
	uint64_t w;

	pthread_mutex_lock(&run.lock);
	w = run.wakes;
	pthread_mutex_unlock(&run.lock);
	return w;
}

/*
 * Sleeps until `until` unless a job was announced since `seen` (a job the
 * claim could not see yet: without this check its wake-up would be lost).
 */
static void worker_sleep(int64_t until, uint64_t seen)
{
	struct timespec ts;

	pthread_mutex_lock(&run.lock);
	if (!run.stop && run.wakes == seen) {
		run.sleepers++;
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000L;
		pthread_cond_timedwait(&run.wake, &run.lock, &ts);
		run.sleepers--;
	}
	pthread_mutex_unlock(&run.lock);
}

void jobs_notify(int64_t due_ms)
{
	if (!run.nthreads)
		return;
	/*
	 * One sleeper is enough: it takes this job and, looping, the next.
	 * A job due later is found by the sleepers' own timed wait, which
	 * ends at the earliest pending due time.
	 */
	pthread_mutex_lock(&run.lock);
	run.wakes++;
	if (run.sleepers && due_ms <= now_ms())
		pthread_cond_signal(&run.wake);
	pthread_mutex_unlock(&run.lock);
}

static int stopping(void)
{
	int s;

	pthread_mutex_lock(&run.lock);
	s = run.stop;
	pthread_mutex_unlock(&run.lock);
	return s;
}

static void *worker_main(void *arg)
{
	struct kookoo *k = arg;
	struct claim cl;

	pthread_setname_np(pthread_self(), "kv-jobs");

	while (!stopping()) {
		struct outcome o;
		uint64_t seen = wakes_now();

		memset(&cl, 0, sizeof(cl));
		cl.now = now_ms();
		/* The claim's now must be the wall clock the rows use. */
		if (db_write(claim_tx, &cl) != 0) {
			worker_sleep(now_ms() + 1000, seen);
			continue;
		}
		if (!cl.found) {
			int64_t until = cl.now + IDLE_WAIT_MS;

			if (cl.next_due && cl.next_due < until)
				until = cl.next_due;
			worker_sleep(until, seen);
			continue;
		}
		if (!cl.channel)
			continue; /* nothing to send (stale, ended, expiry) */
		memset(&o, 0, sizeof(o));
		o.cl = &cl;
		send_claimed(k, &cl, &o);
		if (o.result != KOOKOO_ACCEPTED)
			log_info("jobs: job %lld (%s, step %d, attempt %d): %s",
				 (long long)cl.job.id, cl.job.kind, cl.job.step,
				 cl.job.attempts, o.reason);
		/* If this fails the lease runs out and the job runs again. */
		if (db_write(record_tx, &o) != 0)
			log_error("jobs: cannot record job %lld",
				  (long long)cl.job.id);
		sodium_memzero(cl.rec.pin_box, sizeof(cl.rec.pin_box));
	}
	kookoo_free(k);
	return NULL;
}

int jobs_start(const struct config *cfg, char *err, size_t errlen)
{
	struct kookoo_settings ks = {
		.base_url = cfg->kookoo_base_url,
		.api_key = cfg->kookoo_api_key,
		.connect_timeout_ms = cfg->kookoo_connect_timeout_ms,
		.timeout_ms = cfg->kookoo_timeout_ms,
		.reply_max = 16384,
		.sms_unicode = cfg->kookoo_sms_unicode,
	};

	run.cfg = cfg;
	run.stop = 0;
	run.nthreads = 0;
	if (!cfg->kookoo_base_url[0]) {
		log_warn("jobs: kookoo_base_url is not set: nothing will be "
			 "sent; jobs stay stored until it is");
		return 0;
	}
	window_parse(cfg->call_window, &run.window_start, &run.window_end);
	for (int i = 0; i < cfg->job_workers && i < WORKERS_MAX; i++) {
		struct kookoo *k = kookoo_new(&ks);

		if (!k || pthread_create(&run.threads[i], NULL, worker_main,
					 k) != 0) {
			kookoo_free(k);
			snprintf(err, errlen, "cannot start delivery worker");
			jobs_stop();
			return KV_EIO;
		}
		run.nthreads++;
	}
	log_info("jobs: %d delivery workers", run.nthreads);
	return 0;
}

void jobs_stop(void)
{
	pthread_mutex_lock(&run.lock);
	run.stop = 1;
	pthread_cond_broadcast(&run.wake);
	pthread_mutex_unlock(&run.lock);
	for (int i = 0; i < run.nthreads; i++)
		pthread_join(run.threads[i], NULL);
	run.nthreads = 0;
}
