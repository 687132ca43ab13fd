/*
 * The background purge (verify.h): a thread of its own that, every
 * purge_interval seconds, removes what the retention settings no longer
 * keep, one batch of purge_batch rows per transaction through the writer,
 * pausing between batches.  A thread rather than the job runner's idle
 * time: the runner's workers pace SMS and calls and must wake on time for
 * them, while the purge may take as long as it likes and never holds
 * anything a request waits for longer than one batch.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "verify.h"
#include "wakeup.h"

/* Pause between two batches of one pass: the writer's queue drains. */
#define PURGE_PAUSE_MS 50

static struct {
	pthread_t thread;
	struct wakeup stop; /* never posted: only stopped */
	int running;
	int64_t interval_ms, pause_ms;
	int64_t retain_verifications_ms, retain_addresses_ms, retain_events_ms,
		verified_ttl_ms;
	int64_t backoff_keep_ms; /* a number's backoff decays to 0 in this */
	int batch;
	/*
	 * Where the walks of checks and events go on at the next pass: the
	 * rows before were blanked or deleted already (kept in memory; after a
	 * restart the first pass walks from the start again, once).
	 */
	int64_t check_cursor, event_cursor;
} pg = {.stop = WAKEUP_INIT};

struct purge_call {
	struct store_purge p;
	struct store_purge_counts n;
};

static int purge_run(struct store_tx *c, void *arg)
{
	struct purge_call *pc = arg;

	return store_purge_batch(c, &pc->p, &pc->n);
}

/* Sleeps ms or until stopped; returns whether it was stopped. */
static int purge_sleep(int64_t ms)
{
	return wakeup_sleep(&pg.stop, now_ms() + ms, 0);
}

/* The cut-offs of a pass starting at `now` (0: that kind is kept). */
static void purge_cutoffs(int64_t now, struct store_purge *p)
{
	memset(p, 0, sizeof(*p));
	p->limit = pg.batch;
	p->after_check_id = pg.check_cursor;
	p->after_event_id = pg.event_cursor;
	p->verified_after = now - pg.verified_ttl_ms;
	if (pg.retain_verifications_ms > 0)
		p->finished_before = now - pg.retain_verifications_ms;
	if (pg.retain_addresses_ms > 0)
		p->addresses_before = now - pg.retain_addresses_ms;
	if (pg.retain_events_ms > 0)
		p->events_before = now - pg.retain_events_ms;
}

/* One pass: batches until one removes nothing; one log line of counts. */
static void purge_pass(void)
{
	struct purge_call pc;
	struct store_purge_counts total;
	int rc = 0, batches = 0;

	memset(&total, 0, sizeof(total));
	purge_cutoffs(now_ms(), &pc.p);
	for (;;) {
		rc = store_write(purge_run, &pc);
		if (rc != 0)
			break;
		batches++;
		total.verifications += pc.n.verifications;
		total.verified_numbers += pc.n.verified_numbers;
		total.addresses += pc.n.addresses;
		total.events += pc.n.events;
		pc.p.after_id = pc.n.last_id;
		pc.p.after_check_id = pg.check_cursor = pc.n.last_check_id;
		pc.p.after_event_id = pg.event_cursor = pc.n.last_event_id;
		if (!pc.n.more && !pc.n.more_checks && !pc.n.more_events &&
		    pc.n.verified_numbers < pc.p.limit)
			break;
		if (purge_sleep(pg.pause_ms))
			break;
	}
	log_info("purge.done", LOG_INT("verifications", total.verifications),
		 LOG_INT("verified_numbers", total.verified_numbers),
		 LOG_INT("addresses", total.addresses),
		 LOG_INT("events", total.events), LOG_INT("batches", batches),
		 LOG_INT("store_error", rc != 0));
}

/* The conversion figures' window (fraud.c): older ones judge nothing. */
#define STATS_WINDOW_MS (3600 * 1000LL)

static int sweep_run(struct store_tx *c, void *arg)
{
	int64_t now = now_ms();

	return store_cluster_sweep(c, now, now - STATS_WINDOW_MS, arg);
}

static int backoff_sweep_run(struct store_tx *c, void *arg)
{
	int64_t now = now_ms();

	return store_backoff_sweep(c, now - pg.backoff_keep_ms, now, arg);
}

/*
 * Resend backoffs whose count has decayed to nothing and whose wait is
 * over (every store); a shared store's token buckets and conversion
 * figures (verify_limits.c, fraud.c): buckets full again and windows over
 * hold nothing that a new row would not, so they go.  One process's store
 * has none of the last two.
 */
static void purge_sweep(void)
{
	int64_t n = 0;

	if (store_write(backoff_sweep_run, &n) == 0 && n > 0)
		log_info("purge.backoffs", LOG_INT("decayed", n));
	n = 0;
	if (!store_is_shared())
		return;
	if (store_write(sweep_run, &n) == 0)
		log_info("purge.buckets", LOG_INT("spent", n));
}

static void *purge_main(void *arg)
{
	pthread_setname_np(pthread_self(), "kv-purge");
	/*
	 * A first pass soon after the start, then one per interval; the
	 * sweep goes first, so that purge.done is logged after the pass's
	 * last write.
	 */
	while (!purge_sleep(pg.pause_ms)) {
		purge_sweep();
		purge_pass();
		if (purge_sleep(pg.interval_ms))
			break;
	}
	return NULL;
}

int verify_purge_start(const struct config *cfg, char *err, size_t errlen)
{
	pg.interval_ms = (int64_t)cfg->purge_interval * 1000;
	pg.pause_ms = PURGE_PAUSE_MS;
	pg.batch = cfg->purge_batch;
	/* ENGINE_BACKOFF_COUNT_MAX, halved each quiet period: 0 after 5. */
	pg.backoff_keep_ms = (int64_t)cfg->resend_backoff_quiet * 1000 * 8;
	pg.retain_verifications_ms = (int64_t)cfg->retain_verifications * 1000;
	pg.retain_addresses_ms = (int64_t)cfg->retain_client_addresses * 1000;
	pg.retain_events_ms = (int64_t)cfg->retain_events * 1000;
	pg.verified_ttl_ms = (int64_t)cfg->verified_ttl * 1000;
	wakeup_restart(&pg.stop);
	if (pthread_create(&pg.thread, NULL, purge_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the purge thread");
		return KV_EIO;
	}
	pg.running = 1;
	return 0;
}

void verify_purge_stop(void)
{
	if (!pg.running)
		return;
	wakeup_stop(&pg.stop);
	pthread_join(pg.thread, NULL);
	pg.running = 0;
}
