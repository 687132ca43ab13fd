/*
 * In-memory rate limits: token buckets keyed by API key, client address or
 * number prefix, in fixed-size tables (O(1) per request, bounded memory).
 * A table full of buckets that still count something refuses newcomers
 * rather than forget anyone (fail closed).
 * The per-number send limit lives in the store instead (it must survive a
 * restart); see verify.c.
 */
#ifndef KV_RATELIMIT_H
#define KV_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct limiter;

/* Slots of a limiter_new() table (24 bytes each). */
#define LIMITER_SLOTS_DEFAULT 65536

/*
 * A limiter allowing `count` events per `period_s` seconds per key, with a
 * burst of `count`.  count 0 disables it (every event allowed).  NULL on
 * allocation failure.  Thread-safe.  limiter_new_sized() holds about
 * `slots` keys (rounded up to a power of two, at least 512, at most 2^24);
 * limiter_new() holds LIMITER_SLOTS_DEFAULT.  Free with limiter_free().
 */
struct limiter *limiter_new(int count, int period_s);
struct limiter *limiter_new_sized(int count, int period_s, size_t slots);
void limiter_free(struct limiter *l);

/*
 * Counts one event for `key` (len bytes) at now_ms.  Returns 0 when allowed,
 * otherwise the whole seconds to wait before the next one would be (>= 1),
 * for a Retry-After header.  A key new to a neighbourhood of the table in
 * which every bucket still counts something is refused, with the seconds
 * until the first of them has refilled: volume cannot make the table forget
 * a key that is over its limit.
 */
int limiter_take(struct limiter *l, const void *key, size_t len,
		 int64_t now_ms);

/*
 * Takes `cost` more tokens from `key`'s bucket after the fact (an event
 * found to be junk), allowed or not: the bucket may go into debt, down to
 * one burst below empty.  Returns the seconds the key must now wait, 0 if
 * none, as limiter_take().
 */
int limiter_charge(struct limiter *l, const void *key, size_t len, int cost,
		   int64_t now_ms);

/*
 * Like limiter_take() but counts nothing: the seconds to wait before an
 * event for `key` would be allowed, 0 if it would be now (a key the table
 * has no room for waits as limiter_take() would make it).
 */
int limiter_peek(struct limiter *l, const void *key, size_t len,
		 int64_t now_ms);

#endif
