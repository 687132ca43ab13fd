/*
 * A wake-up for worker threads that sleep until a deadline or until there
 * is work (jobs.c's delivery workers, callback.c's senders, the purge).
 * Posts are counted: a worker reads the count before it looks for work
 * and sleeps only if nothing was posted since, so a post that came while
 * it looked is never lost.  Stopping wakes every sleeper for good.
 */
#ifndef KV_WAKEUP_H
#define KV_WAKEUP_H

#include <pthread.h>
#include <stdint.h>

struct wakeup {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t posts;  /* wakeup_post() calls so far */
	int64_t last_ms; /* mono_ms() of the latest post */
	int sleepers;    /* threads in wakeup_sleep() */
	int stop;
};

#define WAKEUP_INIT                                                            \
	{                                                                      \
		.lock = PTHREAD_MUTEX_INITIALIZER,                             \
		.cond = PTHREAD_COND_INITIALIZER                               \
	}

/* Ready for use again after wakeup_stop(). */
void wakeup_restart(struct wakeup *w);

/* Counts a post and wakes one sleeper if `now` (else they wake at their
 * deadlines, having seen the count change only when they look again). */
void wakeup_post(struct wakeup *w, int now);

/* Stops: every sleeper returns, and wakeup_sleep() no longer sleeps. */
void wakeup_stop(struct wakeup *w);

int wakeup_stopping(struct wakeup *w);

/* How many threads are in wakeup_sleep() now. */
int wakeup_sleepers(struct wakeup *w);

/* The post count, to be read before looking for work. */
uint64_t wakeup_posts(struct wakeup *w);

/* mono_ms() since the latest post (INT64_MAX: none yet). */
int64_t wakeup_since_post(struct wakeup *w);

/*
 * Sleeps until `until` (wall clock, ms) unless stopped or posted since
 * `seen` (wakeup_posts() of before the look).  Returns whether stopped.
 */
int wakeup_sleep(struct wakeup *w, int64_t until, uint64_t seen);

#endif
