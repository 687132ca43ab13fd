/* Counted wake-ups for sleeping workers (wakeup.h). */
#include <time.h>

#include "util.h"
#include "wakeup.h"

void wakeup_restart(struct wakeup *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop = 0;
	pthread_mutex_unlock(&w->lock);
}

void wakeup_post(struct wakeup *w, int now)
{
	pthread_mutex_lock(&w->lock);
	w->posts++;
	w->last_ms = mono_ms();
	if (now && w->sleepers)
		pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void wakeup_stop(struct wakeup *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* A field of w, read under its lock. */
static int wakeup_read(struct wakeup *w, const int *field)
{
	int v;

	pthread_mutex_lock(&w->lock);
	v = *field;
	pthread_mutex_unlock(&w->lock);
	return v;
}

int wakeup_stopping(struct wakeup *w)
{
	return wakeup_read(w, &w->stop);
}

int wakeup_sleepers(struct wakeup *w)
{
	return wakeup_read(w, &w->sleepers);
}

uint64_t wakeup_posts(struct wakeup *w)
{
	uint64_t n;

	pthread_mutex_lock(&w->lock);
	n = w->posts;
	pthread_mutex_unlock(&w->lock);
	return n;
}

int64_t wakeup_since_post(struct wakeup *w)
{
	int64_t since;

	pthread_mutex_lock(&w->lock);
	since = w->posts ? mono_ms() - w->last_ms : INT64_MAX;
	pthread_mutex_unlock(&w->lock);
	return since;
}

int wakeup_sleep(struct wakeup *w, int64_t until, uint64_t seen)
{
	struct timespec ts = {(time_t)(until / 1000),
			      (long)(until % 1000) * 1000000L};
	int stop;

	pthread_mutex_lock(&w->lock);
	/* Until the deadline, through spurious wake-ups, unless posted. */
	while (!w->stop && w->posts == seen) {
		int rc;

		w->sleepers++;
		rc = pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		w->sleepers--;
		if (rc != 0)
			break;
	}
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}
