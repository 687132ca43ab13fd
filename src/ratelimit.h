/*
 * In-memory rate limits: token buckets keyed by API key, client address or
 * number prefix, in fixed-size tables (O(1) per request, bounded memory).
 * The per-number send limit lives in the store instead (it must survive a
 * restart); see verify.c.
 */
#ifndef KV_RATELIMIT_H
#define KV_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct limiter;

/*
 * A limiter allowing `count` events per `period_s` seconds per key, with a
 * burst of `count`.  count 0 disables it (every event allowed).  NULL on
 * allocation failure.  Thread-safe.
 */
struct limiter *limiter_new(int count, int period_s);
void limiter_free(struct limiter *l);

/*
 * Counts one event for `key` (len bytes) at now_ms.  Returns 0 when allowed,
 * otherwise the whole seconds to wait before the next one would be (>= 1),
 * for a Retry-After header.
 */
int limiter_take(struct limiter *l, const void *key, size_t len,
		 int64_t now_ms);

/*
 * Like limiter_take() but counts nothing: the seconds to wait before an
 * event for `key` would be allowed, 0 if it would be now.
 */
int limiter_peek(struct limiter *l, const void *key, size_t len,
		 int64_t now_ms);

#endif
