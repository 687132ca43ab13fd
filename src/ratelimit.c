/*
 * Token buckets in an open-addressing table (ratelimit.h).  Each limiter has a
 * fixed number of slots split into stripes with their own lock, so threads
 * rarely wait for each other and memory never grows with the number of keys
 * an attacker invents: a full neighbourhood evicts its stalest bucket.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ratelimit.h"
#include "util.h"

#define SLOTS 8192 /* per limiter; a power of two */
#define STRIPES 64
#define PROBE 8

struct bucket {
	uint64_t key; /* keyed hash of the key; 0 = empty */
	double tokens;
	int64_t at_ms; /* when tokens was last brought up to date */
};

struct limiter {
	double rate_per_ms;
	double burst;
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	pthread_mutex_t locks[STRIPES];
	struct bucket slots[SLOTS];
};

struct limiter *limiter_new(int count, int period_s)
{
	struct limiter *l;

	if (count <= 0)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->burst = count;
	l->rate_per_ms = (double)count / ((double)period_s * 1000.0);
	/* A keyed hash: nobody can aim many keys at one neighbourhood. */
	crypto_shorthash_keygen(l->hash_key);
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&l->locks[i], NULL);
	return l;
}

void limiter_free(struct limiter *l)
{
	if (!l)
		return;
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&l->locks[i]);
	free(l);
}

static void refill(const struct limiter *l, struct bucket *b, int64_t now)
{
	if (now > b->at_ms) {
		b->tokens += (double)(now - b->at_ms) * l->rate_per_ms;
		if (b->tokens > l->burst)
			b->tokens = l->burst;
		b->at_ms = now;
	}
}

/* Seconds until a bucket holds a whole token again (0: it does now). */
static int bucket_wait(const struct limiter *l, const struct bucket *b)
{
	if (b->tokens >= 1.0)
		return 0;
	return (int)((1.0 - b->tokens) / l->rate_per_ms / 1000.0) + 1;
}

/*
 * Counts one event (take) or only looks (!take) for `key`.  Looking never
 * creates a bucket, so a stream of peeks cannot evict anything.
 */
static int limiter_use(struct limiter *l, const void *key, size_t len,
		       int64_t now_ms, int take)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t k;
	size_t base, stripe;
	struct bucket *b = NULL, *empty = NULL, *stalest = NULL;
	int wait = 0;

	if (!l)
		return 0;
	crypto_shorthash(h, key, len, l->hash_key);
	memcpy(&k, h, sizeof(k));
	k |= 1; /* never 0, which marks an empty slot */
	/* A neighbourhood never crosses a stripe: one lock covers it. */
	base = (size_t)(k % (SLOTS / PROBE)) * PROBE;
	stripe = base / (SLOTS / STRIPES);
	pthread_mutex_lock(&l->locks[stripe]);
	for (size_t i = 0; i < PROBE; i++) {
		struct bucket *s = &l->slots[base + i];

		if (s->key == k) {
			b = s;
			break;
		}
		if (!s->key) {
			if (!empty)
				empty = s;
		} else if (!stalest || s->at_ms < stalest->at_ms) {
			stalest = s;
		}
	}
	if (!b && !take)
		goto out; /* never seen: a full bucket */
	if (!b) {
		/* A new key takes a free slot, or the stalest bucket's. */
		b = empty ? empty : stalest;
		b->key = k;
		b->tokens = l->burst;
		b->at_ms = now_ms;
	}
	refill(l, b, now_ms);
	wait = bucket_wait(l, b);
	if (take && wait == 0)
		b->tokens -= 1.0;
out:
	pthread_mutex_unlock(&l->locks[stripe]);
	return wait;
}

int limiter_take(struct limiter *l, const void *key, size_t len, int64_t now_ms)
{
	return limiter_use(l, key, len, now_ms, 1);
}

int limiter_peek(struct limiter *l, const void *key, size_t len, int64_t now_ms)
{
	return limiter_use(l, key, len, now_ms, 0);
}
