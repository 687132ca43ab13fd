/*
 * The queue of writes between submitting threads and a backend's writer
 * threads (store_queue.h): a mutex, a condition variable and a list, and
 * the semaphore a store_write() caller waits on.
 */
#include <semaphore.h>

#include "store_queue.h"
#include "err.h"

void store_queue_open(struct store_queue *q, int batch_max)
{
	pthread_mutex_lock(&q->lock);
	q->batch_max = batch_max > 0 ? batch_max : 1;
	q->stop = 0;
	q->running = 1;
	pthread_mutex_unlock(&q->lock);
}

int store_queue_push(struct store_queue *q, struct store_write_op *op)
{
	op->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (!q->running || q->stop) {
		pthread_mutex_unlock(&q->lock);
		return KV_EDB;
	}
	if (q->tail)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

struct store_write_op *store_queue_take(struct store_queue *q)
{
	struct store_write_op *group, *last;
	int n = 1;

	pthread_mutex_lock(&q->lock);
	while (!q->head && !q->stop)
		pthread_cond_wait(&q->work, &q->lock);
	group = last = q->head;
	if (!group) {
		/* Closing and empty: pass the word on to the next writer. */
		pthread_cond_signal(&q->work);
		pthread_mutex_unlock(&q->lock);
		return NULL;
	}
	/* Up to batch_max queued ops; later ones wait their turn. */
	while (last->next && n < q->batch_max) {
		last = last->next;
		n++;
	}
	q->head = last->next;
	if (!q->head)
		q->tail = NULL;
	else
		pthread_cond_signal(&q->work);
	last->next = NULL;
	pthread_mutex_unlock(&q->lock);
	return group;
}

void store_queue_finish(struct store_write_op *group)
{
	struct store_write_op *op, *next;

	/*
	 * Hand each result on (a waiting thread, a suspended connection);
	 * next is read first because an op may be freed as soon as it is
	 * done.
	 */
	for (op = group; op; op = next) {
		next = op->next;
		op->done(op);
	}
}

void store_queue_close(struct store_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->lock);
}

void store_queue_closed(struct store_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->running = 0;
	pthread_mutex_unlock(&q->lock);
}

/* A store_queue_write() caller waiting on its own semaphore. */
struct store_queue_wait {
	struct store_write_op op;
	sem_t done;
};

static void store_queue_wait_done(struct store_write_op *op)
{
	sem_post(&((struct store_queue_wait *)op->done_arg)->done);
}

int store_queue_write(struct store_queue *q,
		      int (*fn)(struct store_tx *c, void *arg), void *arg)
{
	struct store_queue_wait ww = {
		.op = {.fn = fn, .arg = arg, .done = store_queue_wait_done},
	};
	int rc;

	ww.op.done_arg = &ww;
	if (sem_init(&ww.done, 0, 0) != 0)
		return KV_EIO;
	rc = store_queue_push(q, &ww.op);
	if (rc == 0) {
		while (sem_wait(&ww.done) != 0)
			; /* EINTR: keep waiting, the writer will post */
		rc = ww.op.rc;
	}
	sem_destroy(&ww.done);
	return rc;
}
