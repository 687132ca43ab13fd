/*
 * Leader and follower batching (batch.h).  Every waiter sleeps on its own
 * condition variable, so that the end of a batch wakes the threads whose
 * items it ran and, when items are queued, the one whose item is first,
 * which leads the next batch: no thread wakes to find nothing to do.
 */
#include "batch.h"

/* Takes up to max_items from the head of the queue into items. */
static int batch_take(struct batch *b, struct batch_item **items)
{
	int n = 0;
	int max = b->max_items < BATCH_ITEMS_MAX ? b->max_items
						 : BATCH_ITEMS_MAX;

	while (b->head && n < max) {
		items[n++] = b->head;
		b->head = b->head->next;
	}
	if (!b->head)
		b->tail = NULL;
	b->queued -= n;
	return n;
}

/*
 * Leads one batch of queued items; called and returns with the lock held.
 * The items' owners may return (and their items go) as soon as the lock
 * is let go after they were marked done, so nothing touches them after.
 */
static void batch_lead(struct batch *b, struct batch_item *self, void *ctx)
{
	struct batch_item *items[BATCH_ITEMS_MAX];
	int n = batch_take(b, items);

	b->running++;
	pthread_mutex_unlock(&b->lock);
	b->run(items, n, ctx);
	pthread_mutex_lock(&b->lock);
	b->running--;
	for (int i = 0; i < n; i++) {
		items[i]->done = 1;
		if (items[i] != self)
			pthread_cond_signal(&items[i]->wake);
	}
	/* The first queued waiter leads next, unless self's turn is first. */
	if (b->head && b->head != self)
		pthread_cond_signal(&b->head->wake);
}

void batch_do(struct batch *b, struct batch_item *item, void *ctx)
{
	item->done = 0;
	item->next = NULL;
	pthread_cond_init(&item->wake, NULL);
	pthread_mutex_lock(&b->lock);
	if (b->tail)
		b->tail->next = item;
	else
		b->head = item;
	b->tail = item;
	b->queued++;
	while (!item->done) {
		if (b->head && b->running < b->max_running)
			batch_lead(b, item, ctx);
		else
			pthread_cond_wait(&item->wake, &b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	pthread_cond_destroy(&item->wake);
}

int batch_queued(struct batch *b)
{
	int n;

	pthread_mutex_lock(&b->lock);
	n = b->queued;
	pthread_mutex_unlock(&b->lock);
	return n;
}
