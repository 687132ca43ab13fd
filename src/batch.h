/*
 * Batching of blocking calls across threads, leader and followers: a
 * thread with something to look up queues it; when fewer than
 * `max_running` batches are under way it leads one itself, taking every
 * queued item (up to `max_items`) into one call of `run`, and else waits
 * for a leader to do its item.  Nothing waits for company: an item alone
 * runs at once, and batches form only while earlier ones are under way,
 * that is, under load.  No thread of its own.
 */
#ifndef KV_BATCH_H
#define KV_BATCH_H

#include <pthread.h>

/* One caller's item, on the caller's stack for the length of batch_do(). */
struct batch_item {
	void *arg; /* the caller's: what to look up, where the answer goes */
	int done;
	pthread_cond_t wake;
	struct batch_item *next;
};

/*
 * Runs items[0..n-1] together; ctx is the leading caller's.  It fills in
 * each item's arg; it is called without the batch's lock held, by one
 * thread at a time per batch under way.
 */
typedef void batch_run_fn(struct batch_item **items, int n, void *ctx);

struct batch {
	pthread_mutex_t lock;
	struct batch_item *head, *tail; /* queued, not yet taken */
	int queued;
	int running; /* batches under way */
	int max_running;
	int max_items; /* at most BATCH_ITEMS_MAX */
	batch_run_fn *run;
};

#define BATCH_ITEMS_MAX 64

/* A static batch's initializer. */
#define BATCH_INIT(max_running_, max_items_, run_)                             \
	{                                                                      \
		.lock = PTHREAD_MUTEX_INITIALIZER,                             \
		.max_running = (max_running_), .max_items = (max_items_),      \
		.run = (run_)                                                  \
	}

/*
 * Has item->arg run in some batch, and returns once it has: in one this
 * thread leads (with ctx passed to run), or in one another thread leads.
 * A leader may run batches of others' items before its own is taken.
 */
void batch_do(struct batch *b, struct batch_item *item, void *ctx);

/* How many items are queued, not yet taken into a batch (for tests). */
int batch_queued(struct batch *b);

#endif
