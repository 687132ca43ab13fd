/*
 * Fraud signals that block a number prefix for a while: repeated "I did not
 * ask for this" reports from the IVR, and too few completed verifications
 * for the volume requested (SMS pumping converts at almost nothing).  A
 * block earned through a publishable key holds for that key only.  Blocks
 * are stored; `kookooverify blocks list|lift` shows and lifts them.
 */
#ifndef KV_FRAUD_H
#define KV_FRAUD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"

struct store_tx;

/* Reads the thresholds; call once before threads start.  0 or KV_ENOMEM. */
int fraud_init(const struct config *cfg);

/* The prefix of an E.164 digit string that blocks and stats are kept by. */
void fraud_prefix(const char *digits, char out[16]);

/*
 * Before a verification request for `digits`, through publishable key
 * pk_key_id (0 for a secret key): counts it and decides: *blocked is 1,
 * with *block filled, when the prefix is blocked for every key or for this
 * publishable key (an existing block, or one this request's statistics
 * just created), 0 when the request may go on.  Returns 0, or a negative
 * KV_E* if the store failed.  The requests of a publishable key are judged apart and
 * their block holds for that key only; those of secret keys together, and
 * theirs for every key.
 */
int fraud_check_request(const char *digits, int64_t pk_key_id,
			struct fraud_block *block, int *blocked);

/*
 * A verification of `digits` by key key_id succeeded: counts it (in
 * memory; nothing when the store is shared, where fraud_count_success()
 * counted it in the write).
 */
void fraud_note_success(int64_t key_id, const char *digits);

/*
 * When many nodes share the store (the figures then live there, so that
 * every node judges on the cluster's), in the request's write: counts a
 * request for `digits` through publishable key pk_key_id (0: a secret
 * key) and decides as fraud_check_request() does, storing the block it
 * earns in the same transaction (*blocked 1, *block filled).  Does
 * nothing with a one-process store.  0 or KV_E*.
 */
int fraud_count_request(struct store_tx *c, const char *digits,
			int64_t pk_key_id, int64_t now,
			struct fraud_block *block, int *blocked);

/* 1 when fraud_count_request() counts anything (a shared store, rules on). */
int fraud_counts_requests(void);

/* The same for a success, in the write that records it. */
int fraud_count_success(struct store_tx *c, int64_t key_id, const char *digits,
			int64_t now);

/*
 * In the writer's transaction that stored a fraud report for `number`, on
 * a verification of key key_id: blocks its prefix when the reports in the
 * window reach the threshold; reports on a publishable key's verifications
 * count apart and block for that key only.
 */
int fraud_note_report(struct store_tx *c, const char *number, int64_t key_id,
		      int64_t now_ms);

#endif
