/*
 * The job runner (jobs.h): delivery workers.  A worker claims the earliest
 * due job through the service (verify_job_claim: lease, attempt count,
 * workflow step start, new PIN if the old one expired), sends through KooKoo
 * outside any transaction, with pacing and the calling window, then reports
 * the outcome to the service (verify_job_record), which records it and
 * schedules what follows.  A crash between the two loses nothing: the lease
 * runs out and the job is taken again (at-least-once delivery).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "ivr.h"
#include "jobs.h"
#include "kookoo.h"
#include "log.h"
#include "metrics.h"
#include "phone.h"
#include "sms.h"
#include "util.h"
#include "verify.h"
#include "wakeup.h"

#define WORKERS_MAX 64
#define IDLE_WAIT_MS 5000
/*
 * A job already due that the claim passed over is held by another
 * transaction (PostgreSQL's SKIP LOCKED: another node's claim, or a write
 * on its verification).  It is free again within a transaction's time, so
 * the worker looks again after this rather than at once, which would spin.
 */
#define HELD_WAIT_MS 20
#define TOKEN_LIFE_S 3600

static struct {
	const struct config *cfg;
	int window_start, window_end;
	pthread_t threads[WORKERS_MAX];
	int nthreads;
	struct wakeup wake;   /* jobs_notify() */
	pthread_mutex_t lock; /* next_send_ms */
	int64_t next_send_ms; /* pacing: when the next send may start */
} run = {
	.wake = WAKEUP_INIT,
	.lock = PTHREAD_MUTEX_INITIALIZER,
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

/* ---- send ---- */

/* What each answer of the KooKoo client means to the service. */
static const enum verify_send send_results[] = {
	[KOOKOO_ACCEPTED] = SEND_ACCEPTED,
	[KOOKOO_REFUSED] = SEND_REFUSED,
	[KOOKOO_RETRY] = SEND_RETRY,
};

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

/*
 * The PIN SMS from the verification's DLT template, filled exactly; its
 * encoding and segments go in the event.  A text that no longer fits one
 * segment (the template set changed since the request) is not sent.
 */
static void send_sms(struct kookoo *k, const struct vf_record *r,
		     const char *to, const char *pin, struct verify_report *o)
{
	char text[SMS_TEXT_MAX];
	struct kookoo_result kr;
	struct sms_count cnt;
	const char *bad = NULL;
	const struct sms_template *t = sms_template_pin(r->lg);
	struct sms_fill_in in = {
		.code = pin,
		.brand = r->brand,
		.minutes = (int)((r->v.pin_expiry_ms + 59999) / 60000),
		.host = r->origin_host,
		.app_hash = r->app_hash,
	};
	const char *sender = r->sender_id[0] ? r->sender_id
			     : run.cfg->kookoo_sender_id[0]
				     ? run.cfg->kookoo_sender_id
				     : NULL;

	if (!t || sms_fill(t, &in, text, &cnt, &bad) != 0) {
		sodium_memzero(text, sizeof(text));
		o->result = SEND_REFUSED;
		snprintf(o->reason, sizeof(o->reason),
			 "the SMS does not fit its template (%s)",
			 bad ? bad : "no template");
		return;
	}
	snprintf(o->encoding, sizeof(o->encoding), "%s",
		 sms_encoding_name(cnt.encoding));
	o->segments = cnt.segments;
	pace();
	kookoo_send_sms_dlt(k, to, text, sender,
			    &(struct kookoo_dlt){.template_id = t->template_id,
						 .entity_id = t->entity_id,
						 .header = t->header},
			    &kr);
	sodium_memzero(text, sizeof(text));
	o->result = send_results[kr.outcome];
	snprintf(o->reason, sizeof(o->reason), "%s", kr.reason);
}

static void place_call(struct kookoo *k, const struct verify_claim *cl,
		       const char *to, struct verify_report *o)
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
	ivr_url(IVR_PATH_CALL, token, url, sizeof(url));
	ivr_url(IVR_PATH_STATUS, token, status_url, sizeof(status_url));
	pace();
	kookoo_place_call(
		k, to, url, status_url,
		run.cfg->kookoo_caller_id[0] ? run.cfg->kookoo_caller_id : NULL,
		&kr);
	o->result = send_results[kr.outcome];
	snprintf(o->reason, sizeof(o->reason), "%s", kr.reason);
	if (kr.outcome == KOOKOO_ACCEPTED)
		snprintf(o->provider_id, sizeof(o->provider_id), "%.*s",
			 (int)sizeof(o->provider_id) - 1, kr.message);
}

static void send_claimed(struct kookoo *k, const struct verify_claim *cl,
			 struct verify_report *o)
{
	const struct vf_record *r = &cl->rec;
	char pin[ENGINE_PIN_MAX + 1];
	char to[PHONE_KOOKOO_LEN];
	struct phone ph;

	if (phone_parse_digits(r->number, &ph) != 0 ||
	    crypto_pin_open(r->v.request_id, r->pin_box, r->pin_box_len, pin) !=
		    0) {
		o->result = SEND_REFUSED;
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

/*
 * When a send that may work later is tried again: backoff from the attempt
 * count, times a random factor in [0.5, 1] so that retries of many jobs
 * spread out; 0 once the attempts are spent.
 */
static int64_t retry_due(const struct verify_claim *cl,
			 const struct verify_report *o)
{
	if (o->result != SEND_RETRY || o->skipped ||
	    cl->job.attempts >= run.cfg->retry_max_attempts)
		return 0;
	return cl->now +
	       jobs_backoff_ms(cl->job.attempts, run.cfg->retry_base_ms,
			       run.cfg->retry_max_ms,
			       0.5 + randombytes_uniform(501) / 1000.0);
}

/*
 * Counts a send for /metrics: sent, refused for good (by KooKoo's reason,
 * or a call skipped outside the calling window), retried or failed (no
 * attempt left).  A call waiting for the window to open is not a send.
 */
static void count_delivery(const struct verify_claim *cl,
			   const struct verify_report *o)
{
	unsigned ch = cl->channel == 's' ? MSEND_SMS : MSEND_CALL;
	unsigned why = MREF_OTHER;

	if (o->wait_until_s)
		return;
	if (o->result == SEND_ACCEPTED && !o->skipped) {
		metrics_inc(M_DELIVERIES, ch, MRES_SENT, 0);
		return;
	}
	if (o->result == SEND_RETRY && !o->skipped) {
		metrics_inc(M_DELIVERIES, ch,
			    o->retry_due_ms ? MRES_RETRIED : MRES_FAILED, 0);
		return;
	}
	if (o->skipped || strcmp(o->reason, "outside calling hours") == 0)
		why = MREF_WINDOW;
	else if (strcmp(o->reason, "DND") == 0)
		why = MREF_DND;
	metrics_inc(M_DELIVERIES, ch, MRES_REFUSED, 0);
	metrics_inc(M_DELIVERY_REFUSALS, ch, why, 0);
}

/* ---- workers ---- */

void jobs_notify(int64_t due_ms)
{
	if (!run.nthreads)
		return;
	/*
	 * One sleeper is enough: it takes this job and, looping, the next.
	 * A job due later is found by the sleepers' own timed wait, which
	 * ends at the earliest pending due time.
	 */
	wakeup_post(&run.wake, due_ms <= now_ms());
}

/* A send's outcome: sms.sent / call.placed, or sms.failed / call.failed. */
static void log_send(const struct verify_claim *cl,
		     const struct verify_report *o)
{
	int sms = cl->channel == 's';

	if (o->result == SEND_ACCEPTED)
		log_info(sms ? "sms.sent" : "call.placed",
			 LOG_INT("job", cl->job.id),
			 LOG_INT("step", cl->job.step),
			 LOG_INT("attempt", cl->job.attempts),
			 LOG_STR("provider_id", o->provider_id));
	else
		log_info(sms ? "sms.failed" : "call.failed",
			 LOG_INT("job", cl->job.id),
			 LOG_STR("kind", cl->job.kind),
			 LOG_INT("step", cl->job.step),
			 LOG_INT("attempt", cl->job.attempts),
			 LOG_STR("result",
				 o->result == SEND_RETRY ? "retry" : "refused"),
			 LOG_STR("reason", o->reason));
}

static void *worker_main(void *arg)
{
	struct kookoo *k = arg;
	struct verify_claim cl;

	pthread_setname_np(pthread_self(), "kv-jobs");

	while (!wakeup_stopping(&run.wake)) {
		struct verify_report o;
		/* Read before a claim that may find nothing: a job announced
		 * while it looks is not slept through. */
		uint64_t seen = wakeup_posts(&run.wake);

		memset(&cl, 0, sizeof(cl));
		cl.now = now_ms();
		cl.lease_ms = (int64_t)run.cfg->job_lease * 1000;
		/* The claim's now must be the wall clock the rows use. */
		if (verify_job_claim(&cl) != 0) {
			wakeup_sleep(&run.wake, now_ms() + 1000, seen);
			continue;
		}
		if (!cl.found) {
			int64_t until = cl.now + IDLE_WAIT_MS;

			if (cl.next_due && cl.next_due < until)
				until = cl.next_due;
			if (until <= cl.now)
				until = cl.now + HELD_WAIT_MS;
			wakeup_sleep(&run.wake, until, seen);
			continue;
		}
		if (!cl.channel)
			continue; /* nothing to send (stale, ended, expiry) */
		memset(&o, 0, sizeof(o));
		o.cl = &cl;
		send_claimed(k, &cl, &o);
		o.retry_due_ms = retry_due(&cl, &o);
		log_context_request_id(cl.rec.v.request_id);
		log_context_number(cl.rec.number);
		count_delivery(&cl, &o);
		log_send(&cl, &o);
		/* If this fails the lease runs out and the job runs again. */
		if (verify_job_record(&o) != 0)
			log_error("job.record_failed",
				  LOG_INT("job", cl.job.id));
		log_context_clear();
		sodium_memzero(cl.rec.pin_box, sizeof(cl.rec.pin_box));
	}
	kookoo_free(k);
	return NULL;
}

/* Another node stored a job that may be due: wake a sleeper. */
static void jobs_wake_from_store(void)
{
	jobs_notify(now_ms());
}

/*
 * Wake-ups from the other nodes of a shared store (its LISTEN/NOTIFY).
 * They only make the workers prompt: without them a worker still looks
 * every IDLE_WAIT_MS and at the next due time, so nothing is missed.
 */
static void jobs_listen_start(const struct config *cfg)
{
	int rc = verify_job_listen(cfg->db, jobs_wake_from_store);

	if (rc != 0 && rc != KV_ENOTFOUND)
		log_warn("jobs.no_wakeups", LOG_STR("error", kv_strerror(rc)),
			 LOG_INT("poll_seconds", IDLE_WAIT_MS / 1000));
}

/*
 * Whether the other nodes must hear of a job stored now: when none of this
 * node's workers sleeps, idle, to start it (verify_job_wake_others_set()).
 */
static int jobs_need_others(void)
{
	return wakeup_sleepers(&run.wake) == 0;
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
		.dlt_template_param = cfg->kookoo_dlt_template_param,
		.dlt_entity_param = cfg->kookoo_dlt_entity_param,
		.dlt_header_param = cfg->kookoo_dlt_header_param,
	};

	run.cfg = cfg;
	wakeup_restart(&run.wake);
	run.nthreads = 0;
	verify_job_wake_set(jobs_notify);
	/*
	 * Even with no workers: a shared store's listener also hears that
	 * an API key was revoked, and drops the node's cached keys then.
	 */
	jobs_listen_start(cfg);
	if (!cfg->kookoo_base_url[0]) {
		log_warn("jobs.no_provider",
			 LOG_STR("error", "kookoo_base_url is not set: nothing "
					  "will be sent; jobs stay stored "
					  "until it is"));
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
	verify_job_wake_others_set(jobs_need_others);
	log_info("jobs.started", LOG_INT("workers", run.nthreads));
	return 0;
}

void jobs_stop(void)
{
	verify_job_wake_others_set(NULL);
	verify_job_unlisten();
	wakeup_stop(&run.wake);
	for (int i = 0; i < run.nthreads; i++)
		pthread_join(run.threads[i], NULL);
	run.nthreads = 0;
	verify_job_wake_set(NULL);
}
