/*
 * The queue of writes between the threads that submit them and a backend's
 * writer threads: what store_write_submit() and store_write() do for every
 * backend, and how a writer takes its next group.  Only the backends'
 * writers include it.
 */
#ifndef KV_STORE_QUEUE_H
#define KV_STORE_QUEUE_H

#include <pthread.h>

#include "store.h"

struct store_queue {
	pthread_mutex_t lock;
	pthread_cond_t work; /* the queue is not empty, or stop */
	struct store_write_op *head, *tail;
	int stop;
	int running;
	int batch_max;
};

#define STORE_QUEUE_INIT                                                       \
	{                                                                      \
		.lock = PTHREAD_MUTEX_INITIALIZER,                             \
		.work = PTHREAD_COND_INITIALIZER,                              \
	}

/* Accepts writes from now on, taken in groups of at most batch_max. */
void store_queue_open(struct store_queue *q, int batch_max);

/*
 * Queues op (store_write_submit()'s contract): 0, or KV_EDB when the queue
 * is not open (done is not called).
 */
int store_queue_push(struct store_queue *q, struct store_write_op *op);

/*
 * A writer's next group: up to batch_max ops in submit order, linked by
 * next and ending in NULL; waits while the queue is empty.  NULL once the
 * queue is closing and empty.  When ops are left, another writer waiting
 * is woken to take them.
 */
struct store_write_op *store_queue_take(struct store_queue *q);

/* Calls done on each op of a group; an op may be freed once done. */
void store_queue_finish(struct store_write_op *group);

/*
 * Refuses new writes and wakes every writer, which ends its loop once the
 * queue is empty (queued writes still run); the caller then joins them and
 * calls store_queue_closed().
 */
void store_queue_close(struct store_queue *q);
void store_queue_closed(struct store_queue *q);

/* store_write(): queues fn as an op and waits until it is done. */
int store_queue_write(struct store_queue *q,
		      int (*fn)(struct store_tx *c, void *arg), void *arg);

#endif
