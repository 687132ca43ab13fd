/*
 * The status callback runner: threads of its own (callback_workers, one
 * libcurl handle each, short timeouts) that claim due callbacks through the
 * service, sign and POST them to the key's URL at the one address resolved
 * and pinned for the send, and record the outcome: done on 2xx, else a
 * retry with backoff, given up (an event and a log line) after
 * callback_give_up.  Nothing here runs on a job worker or an HTTP thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "callback.h"
#include "err.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "verify_callback.h"
#include "wakeup.h"

#define WORKERS_MAX 64
/* Longest sleep with nothing due: a callback another node queued. */
#define IDLE_WAIT_MS 5000
/*
 * The service wakes the runner from inside the write that queues a
 * callback, before that write commits (a shared store may run the claim
 * on another connection and miss it): for this long after a wake an
 * empty claim is tried again every RECHECK_MS.
 */
#define WAKE_WINDOW_MS 1000
#define RECHECK_MS 20
/* Bytes of a receiver's reply read at most; the rest is not wanted. */
#define REPLY_MAX 4096
#define JWT_MAX 1024

static struct {
	struct wakeup wake;
	pthread_mutex_t lock; /* busy, nthreads */
	pthread_t threads[WORKERS_MAX];
	CURL *handles[WORKERS_MAX];
	int ids[WORKERS_MAX]; /* each sender's index, its thread's argument */
	/* The key each sender is sending for (0: none), and how many of
	 * them one key may hold: a dead receiver holds at most that many. */
	int64_t busy[WORKERS_MAX];
	int key_share;
	int nthreads;
	const struct config *cfg;
	int allow_private;
} run = {.wake = WAKEUP_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

static void callback_notify(void)
{
	wakeup_post(&run.wake, 1);
}

/*
 * Sleeps until `until` (wall clock, ms) unless woken since `seen`; shortly
 * when a wake came lately (its callback may not have been committed yet).
 */
static void runner_sleep(int64_t until, uint64_t seen)
{
	if (wakeup_since_post(&run.wake) < WAKE_WINDOW_MS &&
	    until > now_ms() + RECHECK_MS)
		until = now_ms() + RECHECK_MS;
	wakeup_sleep(&run.wake, until, seen);
}

/* Keeps at most REPLY_MAX bytes of the reply: past them, the read stops. */
static size_t on_reply(char *data, size_t size, size_t n, void *arg)
{
	size_t *seen = arg;

	(void)data;
	*seen += size * n;
	return *seen > REPLY_MAX ? 0 : size * n;
}

/* What one POST did. */
struct send_result {
	int delivered;
	int final; /* no point trying again: give up now */
	char reason[128];
};

/* The request's options: pinned address, no redirects, bounded. */
static int post_setup(CURL *h, const struct callback_target *t, const char *url,
		      struct curl_slist **pin, struct curl_slist *headers,
		      const char *body, size_t *seen)
{
	long timeout = run.cfg->callback_timeout_ms;
	char entry[sizeof(t->host) + 96];

	/* An IP literal needs no resolution, so there is nothing to pin. */
	if (strcmp(t->host, t->addr) != 0 && t->host[0] != '[') {
		snprintf(entry, sizeof(entry),
			 t->v6 ? "%s:%d:[%s]" : "%s:%d:%s", t->host, t->port,
			 t->addr);
		*pin = curl_slist_append(NULL, entry);
		if (!*pin)
			return KV_ENOMEM;
	}
	if (curl_easy_setopt(h, CURLOPT_URL, url) ||
	    curl_easy_setopt(h, CURLOPT_RESOLVE, *pin) ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(h, CURLOPT_NOPROXY, "*") ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
			     run.allow_private ? "http,https" : "https") ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout) ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout) ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "kookooverify") ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_reply) ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)seen))
		return KV_EIO;
	return 0;
}

/* The request's headers, the signature included; NULL when out of memory. */
static struct curl_slist *post_headers(const struct vf_callback *cb)
{
	struct callback_claims claims = {.iat = now_ms() / 1000,
					 .jti = cb->jti,
					 .api_key = cb->api_key,
					 .body = cb->body};
	char jwt[JWT_MAX];
	char auth[JWT_MAX + 32];
	/* "Expect:" off: no 100-continue round trip before a small body. */
	const char *lines[] = {"Content-Type: application/json", auth,
			       "Expect:"};
	struct curl_slist *h = NULL, *next;

	if (callback_jwt(&claims, cb->to.secret, jwt, sizeof(jwt)) != 0)
		return NULL;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", jwt);
	for (size_t i = 0; i < ARRAY_LEN(lines); i++) {
		next = curl_slist_append(h, lines[i]);
		if (!next) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = next;
	}
	return h;
}

static void post(CURL *h, const struct vf_callback *cb, struct send_result *r)
{
	struct callback_target t;
	struct curl_slist *pin = NULL, *headers = NULL;
	size_t seen = 0;
	long status = 0;
	CURLcode cc;
	int rc;

	if (!cb->to.url[0] ||
	    callback_url_parse(cb->to.url, &t, r->reason, sizeof(r->reason))) {
		if (!cb->to.url[0])
			snprintf(r->reason, sizeof(r->reason),
				 "the key has no callback URL any more");
		r->final = 1;
		return;
	}
	rc = callback_resolve(&t, run.allow_private, r->reason,
			      sizeof(r->reason));
	if (rc != 0) {
		/* An address it may not go to is refused for good. */
		r->final = rc == KV_EINVAL;
		return;
	}
	headers = post_headers(cb);
	curl_easy_reset(h);
	if (!headers || post_setup(h, &t, cb->to.url, &pin, headers, cb->body,
				   &seen) != 0) {
		snprintf(r->reason, sizeof(r->reason),
			 "cannot set up the POST");
		goto out;
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	/* A 2xx whose reply was cut off at REPLY_MAX is still accepted. */
	if (status >= 200 && status < 300 &&
	    (cc == CURLE_OK || cc == CURLE_WRITE_ERROR)) {
		r->delivered = 1;
	} else if (status) {
		snprintf(r->reason, sizeof(r->reason), "HTTP %ld", status);
	} else {
		snprintf(r->reason, sizeof(r->reason), "%s",
			 curl_easy_strerror(cc));
	}
out:
	curl_slist_free_all(headers);
	curl_slist_free_all(pin);
}

/* The outcome as the service records it, and its log line. */
static void report(const struct verify_callback_claim *cl,
		   const struct send_result *s)
{
	const struct vf_callback *cb = &cl->cb;
	struct verify_callback_report o;
	int64_t now = now_ms();
	int64_t age_ms = now - cb->created_ms;

	memset(&o, 0, sizeof(o));
	o.cl = cl;
	o.delivered = s->delivered;
	snprintf(o.reason, sizeof(o.reason), "%s", s->reason);
	if (!s->delivered &&
	    (s->final || age_ms >= (int64_t)run.cfg->callback_give_up * 1000))
		o.give_up = 1;
	o.retry_ms =
		now + jobs_backoff_ms(cb->attempts,
				      run.cfg->callback_retry_base_ms,
				      run.cfg->callback_retry_max_ms,
				      0.5 + randombytes_uniform(501) / 1000.0);
	metrics_inc(M_CALLBACKS,
		    o.delivered ? MCB_DELIVERED
		    : o.give_up ? MCB_GIVEN_UP
				: MCB_RETRIED,
		    0, 0);
	if (o.delivered)
		log_info("callback.sent", LOG_INT("callback", cb->id),
			 LOG_INT("attempt", cb->attempts));
	else if (o.give_up)
		log_warn("callback.given_up", LOG_INT("callback", cb->id),
			 LOG_INT("verification", cb->verification_id),
			 LOG_INT("attempts", cb->attempts),
			 LOG_STR("reason", s->reason));
	else
		log_info("callback.retry", LOG_INT("callback", cb->id),
			 LOG_INT("attempt", cb->attempts),
			 LOG_INT("retry_in_ms", o.retry_ms - now),
			 LOG_STR("reason", s->reason));
	/* If this fails the lease runs out and the callback goes again. */
	if (verify_callback_record(&o) != 0)
		log_warn("callback.record_failed", LOG_INT("callback", cb->id));
}

/* Fills skip with the keys that hold key_share senders already. */
static void busy_keys(int64_t skip[CALLBACK_SKIP_KEYS])
{
	int n = 0;

	memset(skip, 0, sizeof(int64_t) * CALLBACK_SKIP_KEYS);
	pthread_mutex_lock(&run.lock);
	for (int i = 0; i < run.nthreads && n < CALLBACK_SKIP_KEYS; i++) {
		int count = 0, listed = 0;

		if (!run.busy[i])
			continue;
		for (int j = 0; j < run.nthreads; j++)
			count += run.busy[j] == run.busy[i];
		for (int k = 0; k < n; k++)
			listed |= skip[k] == run.busy[i];
		if (count >= run.key_share && !listed)
			skip[n++] = run.busy[i];
	}
	pthread_mutex_unlock(&run.lock);
}

static void busy_set(int worker, int64_t key_id)
{
	pthread_mutex_lock(&run.lock);
	run.busy[worker] = key_id;
	pthread_mutex_unlock(&run.lock);
}

static void *worker_main(void *arg)
{
	int me = *(const int *)arg;
	CURL *h = run.handles[me];
	struct verify_callback_claim cl;

	pthread_setname_np(pthread_self(), "kv-callbacks");
	while (!wakeup_stopping(&run.wake)) {
		struct send_result s;
		uint64_t seen = wakeup_posts(&run.wake);

		memset(&cl, 0, sizeof(cl));
		cl.now = now_ms();
		/* Covers the POST with room to record it. */
		cl.lease_ms = (int64_t)run.cfg->callback_timeout_ms * 2 + 5000;
		busy_keys(cl.skip);
		if (verify_callback_claim(&cl) != 0) {
			runner_sleep(now_ms() + 1000, seen);
			continue;
		}
		if (!cl.found) {
			int64_t until = cl.now + IDLE_WAIT_MS;

			if (cl.next_due > cl.now && cl.next_due < until)
				until = cl.next_due;
			runner_sleep(until, seen);
			continue;
		}
		memset(&s, 0, sizeof(s));
		busy_set(me, cl.cb.key_id);
		post(h, &cl.cb, &s);
		report(&cl, &s);
		busy_set(me, 0);
		sodium_memzero(cl.cb.to.secret, sizeof(cl.cb.to.secret));
	}
	return NULL;
}

int callback_start(const struct config *cfg, char *err, size_t errlen)
{
	run.cfg = cfg;
	wakeup_restart(&run.wake);
	run.nthreads = 0;
	run.allow_private = strcmp(cfg->callback_allow_private, "on") == 0;
	if (run.allow_private)
		log_warn("callback.private_allowed",
			 LOG_STR("error", "callback_allow_private is on: "
					  "callbacks may reach this host's "
					  "network (development only)"));
	run.key_share =
		cfg->callback_workers / 2 > 1 ? cfg->callback_workers / 2 : 1;
	memset(run.busy, 0, sizeof(run.busy));
	verify_callback_wake_set(callback_notify);
	for (int i = 0; i < cfg->callback_workers && i < WORKERS_MAX; i++) {
		run.handles[i] = curl_easy_init();
		run.ids[i] = i;
		if (!run.handles[i] ||
		    pthread_create(&run.threads[i], NULL, worker_main,
				   &run.ids[i]) != 0) {
			curl_easy_cleanup(run.handles[i]);
			run.handles[i] = NULL;
			snprintf(err, errlen, "cannot start callback sender");
			callback_stop();
			return KV_EIO;
		}
		pthread_mutex_lock(&run.lock);
		run.nthreads++;
		pthread_mutex_unlock(&run.lock);
	}
	return 0;
}

void callback_stop(void)
{
	wakeup_stop(&run.wake);
	for (int i = 0; i < run.nthreads; i++) {
		pthread_join(run.threads[i], NULL);
		curl_easy_cleanup(run.handles[i]);
		run.handles[i] = NULL;
	}
	run.nthreads = 0;
	verify_callback_wake_set(NULL);
}
