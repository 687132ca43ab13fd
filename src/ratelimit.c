/*
 * Token buckets in an open-addressing table (ratelimit.h).  Each limiter has a
 * fixed number of slots split into stripes with their own lock, so threads
 * rarely wait for each other and memory never grows with the number of keys
 * an attacker invents.  A new key may only take the slot of a bucket that
 * has refilled completely (it remembers nothing); when its neighbourhood has
 * none, the newcomer is refused, so no volume of keys can reset a key that
 * is over, or near, its limit.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ratelimit.h"
#include "util.h"

#define STRIPES 64
#define PROBE 8
/* The smallest table: every stripe holds at least one neighbourhood. */
#define SLOTS_MIN ((size_t)STRIPES * PROBE)
#define SLOTS_MAX (1u << 24)

struct bucket {
	uint64_t key; /* keyed hash of the key; 0 = empty */
	double tokens;
	int64_t at_ms; /* when tokens was last brought up to date */
};

struct limiter {
	double rate_per_ms;
	double burst;
	size_t nslots; /* a power of two, at least SLOTS_MIN */
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	pthread_mutex_t locks[STRIPES];
	struct bucket *slots;
};

struct limiter *limiter_new(int count, int period_s)
{
	return limiter_new_sized(count, period_s, LIMITER_SLOTS_DEFAULT);
}

struct limiter *limiter_new_sized(int count, int period_s, size_t slots)
{
	struct limiter *l;
	size_t n = SLOTS_MIN;

	if (count <= 0)
		return NULL;
	while (n < slots && n < SLOTS_MAX)
		n *= 2;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	/* Pages never touched cost no memory: a quiet table stays small. */
	l->slots = calloc(n, sizeof(*l->slots));
	if (!l->slots) {
		free(l);
		return NULL;
	}
	l->nslots = n;
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
	free(l->slots);
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

/* Seconds until a bucket is full again, when it may be given away. */
static int bucket_wait_full(const struct limiter *l, const struct bucket *b)
{
	return (int)((l->burst - b->tokens) / l->rate_per_ms / 1000.0) + 1;
}

/*
 * A slot for a key not in its neighbourhood: an empty one, else one whose
 * bucket is full again (its key is then indistinguishable from a new one).
 * NULL when every bucket there still counts something: the newcomer must
 * wait, *wait seconds, for the first of them to refill.
 */
static struct bucket *slot_free(const struct limiter *l, struct bucket *hood,
				int64_t now, int *wait)
{
	*wait = 0;
	for (size_t i = 0; i < PROBE; i++) {
		struct bucket *s = &hood[i];
		int w;

		if (!s->key)
			return s;
		refill(l, s, now);
		if (s->tokens >= l->burst)
			return s;
		w = bucket_wait_full(l, s);
		if (!*wait || w < *wait)
			*wait = w;
	}
	return NULL;
}

/* What limiter_use() does with the key's bucket. */
enum use_mode {
	USE_PEEK,   /* only looks */
	USE_TAKE,   /* takes one token if there is one */
	USE_CHARGE, /* takes `cost` tokens, into debt if need be */
};

/*
 * Counts or only looks at the bucket of `key`.  Looking never creates or
 * takes over a bucket, so a stream of peeks cannot evict anything.
 */
static int limiter_use(struct limiter *l, const void *key, size_t len,
		       int64_t now_ms, enum use_mode mode, double cost)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t k;
	size_t base, stripe;
	struct bucket *b = NULL;
	int wait = 0;

	if (!l)
		return 0;
	crypto_shorthash(h, key, len, l->hash_key);
	memcpy(&k, h, sizeof(k));
	k |= 1; /* never 0, which marks an empty slot */
	/* A neighbourhood never crosses a stripe: one lock covers it. */
	base = (size_t)(k % (l->nslots / PROBE)) * PROBE;
	stripe = base / (l->nslots / STRIPES);
	pthread_mutex_lock(&l->locks[stripe]);
	for (size_t i = 0; i < PROBE; i++) {
		if (l->slots[base + i].key == k) {
			b = &l->slots[base + i];
			break;
		}
	}
	if (!b) {
		/* A newcomer with no room would be refused: peek says so too,
		 * or a failure nobody could count would look allowed. */
		b = slot_free(l, &l->slots[base], now_ms, &wait);
		if (!b || mode == USE_PEEK)
			goto out; /* full of live buckets: fail closed */
		b->key = k;
		b->tokens = l->burst;
		b->at_ms = now_ms;
	}
	refill(l, b, now_ms);
	if (mode == USE_CHARGE) {
		/* A charge may overdraw down to one burst below empty: the
		 * sender of junk waits for it, and no longer. */
		b->tokens -= cost;
		if (b->tokens < -l->burst)
			b->tokens = -l->burst;
	}
	wait = bucket_wait(l, b);
	if (mode == USE_TAKE && wait == 0)
		b->tokens -= 1.0;
out:
	pthread_mutex_unlock(&l->locks[stripe]);
	return wait;
}

int limiter_take(struct limiter *l, const void *key, size_t len, int64_t now_ms)
{
	return limiter_use(l, key, len, now_ms, USE_TAKE, 1.0);
}

int limiter_charge(struct limiter *l, const void *key, size_t len, int cost,
		   int64_t now_ms)
{
	return limiter_use(l, key, len, now_ms, USE_CHARGE,
			   cost > 0 ? cost : 0);
}

int limiter_peek(struct limiter *l, const void *key, size_t len, int64_t now_ms)
{
	return limiter_use(l, key, len, now_ms, USE_PEEK, 0.0);
}
