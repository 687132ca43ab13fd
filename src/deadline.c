/*
 * Request deadlines (deadline.h).  Slow clients spread over many addresses
 * could otherwise hold every connection slot, each sending a byte now and
 * then so that no idle timeout ever fires.
 */
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "deadline.h"
#include "err.h"
#include "util.h"

/*
 * Closing is shutdown(2) of the socket (libmicrohttpd then sees the end of
 * the stream and closes the connection itself), done under the lock that
 * deadline_remove() takes before the descriptor is closed: a number reused
 * by another socket is never touched.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct deadline *head, *tail; /* oldest first */
	unsigned int count, max;
	int64_t timeout_ms;
	unsigned long evicted, timed_out;
	int stop;
	int running;
	pthread_t sweeper;
} dl = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* Under dl.lock. */
static void deadline_unlink(struct deadline *d)
{
	if (!d->listed)
		return;
	if (d->prev)
		d->prev->next = d->next;
	else
		dl.head = d->next;
	if (d->next)
		d->next->prev = d->prev;
	else
		dl.tail = d->prev;
	d->prev = d->next = NULL;
	d->listed = 0;
	dl.count--;
}

/* Under dl.lock: the client gets a reset or EOF, the daemon closes. */
static void deadline_close(struct deadline *d)
{
	if (d->fd >= 0)
		shutdown(d->fd, SHUT_RDWR);
	deadline_unlink(d);
}

void deadline_add(struct deadline *d)
{
	pthread_mutex_lock(&dl.lock);
	if (!d->listed) {
		if (dl.max && dl.count >= dl.max && dl.head) {
			deadline_close(dl.head);
			dl.evicted++;
		}
		d->at_ms = mono_ms() + dl.timeout_ms;
		d->prev = dl.tail;
		d->next = NULL;
		if (dl.tail)
			dl.tail->next = d;
		else
			dl.head = d;
		dl.tail = d;
		d->listed = 1;
		dl.count++;
	}
	pthread_mutex_unlock(&dl.lock);
}

void deadline_remove(struct deadline *d)
{
	pthread_mutex_lock(&dl.lock);
	deadline_unlink(d);
	pthread_mutex_unlock(&dl.lock);
}

void deadline_counts(unsigned long *evicted, unsigned long *timed_out)
{
	pthread_mutex_lock(&dl.lock);
	*evicted = dl.evicted;
	*timed_out = dl.timed_out;
	pthread_mutex_unlock(&dl.lock);
}

/*
 * Every deadline is the same timeout after the moment its connection was
 * listed, so the list is in deadline order: only its head is looked at.
 */
static void *deadline_sweep(void *arg)
{
	pthread_setname_np(pthread_self(), "kv-deadline");
	pthread_mutex_lock(&dl.lock);
	while (!dl.stop) {
		struct timespec until;
		int64_t now = mono_ms();

		while (dl.head && dl.head->at_ms <= now) {
			deadline_close(dl.head);
			dl.timed_out++;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&dl.wake, &dl.lock, &until);
	}
	pthread_mutex_unlock(&dl.lock);
	return NULL;
}

int deadline_start(unsigned int max, int timeout_s)
{
	dl.max = max;
	dl.timeout_ms = (int64_t)timeout_s * 1000;
	dl.stop = 0;
	if (pthread_create(&dl.sweeper, NULL, deadline_sweep, NULL) != 0)
		return KV_EIO;
	dl.running = 1;
	return 0;
}

void deadline_stop(void)
{
	if (!dl.running)
		return;
	pthread_mutex_lock(&dl.lock);
	dl.stop = 1;
	pthread_cond_signal(&dl.wake);
	pthread_mutex_unlock(&dl.lock);
	pthread_join(dl.sweeper, NULL);
	dl.running = 0;
}
