/*
 * A node's lease on tokens of a bucket the cluster shares in the store
 * (verify_limits.c: a number range's bucket).
 *
 * Every request of a range takes a token from one row of the database,
 * which every node updates: under a burst on one range the nodes'
 * statements queue on that row's lock.  A node that sees many requests of
 * a range takes that many tokens at once instead, as many as it saw in the
 * last window of BUCKET_LEASE_MS, at most a thousandth of the bucket's
 * count, and spends them itself for two windows at most.  Those still
 * unspent then are dropped, spent for nothing, which only errs on the side
 * of refusing.  A bucket of under 2,000 a period, or a range the node sees
 * once a window at most, takes one token a request, as without a lease.
 *
 * Keys are the buckets' own keys (up to 15 bytes), in a table of
 * BUCKET_LEASE_SLOTS kept by hash: a key whose slot another key uses
 * gets no lease (one token a request) until that one is idle.
 * Thread-safe.
 */
#ifndef KV_BUCKET_LEASE_H
#define KV_BUCKET_LEASE_H

#include <stdint.h>

#define BUCKET_LEASE_MS 100
#define BUCKET_LEASE_SLOTS 1024

/* Forgets every lease; the bucket allows `count` a period. */
void bucket_lease_init(int count);

/*
 * Counts a request for key's bucket at now_ms, and spends a token the
 * node holds for it if it has one: returns 1 then, else 0 (the caller
 * takes bucket_lease_want() tokens from the store).
 */
int bucket_lease_spend(const char *key, int64_t now_ms);

/* Gives back the token bucket_lease_spend() spent (the request took none). */
void bucket_lease_unspend(const char *key, int64_t now_ms);

/*
 * Tokens to take at once from the store for a request: at least 1.  One
 * batch at a time: until bucket_lease_keep() or bucket_lease_refused()
 * says how the store answered it (or a window passed), the node's other
 * requests take one token each.
 */
int bucket_lease_want(const char *key, int64_t now_ms);

/*
 * Holds `extra` tokens the store gave beyond the request's own (0 when the
 * batch took none).
 */
void bucket_lease_keep(const char *key, int extra, int64_t now_ms);

/*
 * The store refused bucket_lease_want() tokens at once (fewer are left):
 * one at a time for a window.
 */
void bucket_lease_refused(const char *key, int64_t now_ms);

#endif
