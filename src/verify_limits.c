/*
 * A request's checks when many nodes share the store, just before its
 * write: the cluster's conversion statistics (fraud.c) and the per-prefix and
 * per-number limits as token buckets in the store, so that the cluster,
 * not each node, allows `count` requests a period.  With a one-process
 * store (SQLite) verify.c keeps these in memory and nothing here runs.
 */
#include <stdio.h>
#include <string.h>

#include "bucket_lease.h"
#include "config.h"
#include "crypto.h"
#include "engine.h"
#include "err.h"
#include "fraud.h"
#include "store.h"
#include "verify_internal.h"

static struct {
	int shared;
	int number_max, number_window_s; /* per number */
	int prefix_max;                  /* per prefix, per hour */
	int prefix_digits;
} lim;

void verify_limits_init(const struct config *cfg)
{
	lim.shared = store_is_shared();
	lim.number_max = cfg->limit_number_max;
	lim.number_window_s = cfg->limit_number_window;
	lim.prefix_max = cfg->limit_prefix_per_hour;
	lim.prefix_digits = cfg->limit_prefix_digits;
	bucket_lease_init(lim.prefix_max);
}

int verify_limits_shared(void)
{
	return lim.shared;
}

/* The prefix's bucket, its key written into prefix. */
static struct store_bucket limits_prefix(const char *number, char prefix[16])
{
	struct store_bucket b = {"prefix", prefix, lim.prefix_max, 3600};
	size_t n = strlen(number);

	/* SMS pumping goes through ranges: count by prefix. */
	if (n > (size_t)lim.prefix_digits)
		n = (size_t)lim.prefix_digits;
	if (n >= 16)
		n = 15;
	memcpy(prefix, number, n);
	prefix[n] = '\0';
	return b;
}

/*
 * k tokens at once from b: GCRA gives them when the last one fits, that is
 * when one token of period/(count/k) fits (its step k steps long, its
 * tolerance, the period less a step, that much shorter).  So the store's
 * one-token take of the bucket of count/k takes k; the rounding down of
 * count/k only charges a little more.  k is at most count/1000.
 */
static struct store_bucket limits_batch(const struct store_bucket *b, int k)
{
	struct store_bucket batch = *b;

	batch.count = b->count / k;
	return batch;
}

/*
 * After k tokens were asked at once from the prefix's bucket b and the
 * store answered (*wait_s 0: given): the lease keeps those beyond the
 * request's own, or, refused (fewer are left), one token is asked again.
 */
static int limits_batch_done(struct store_tx *c, const char *prefix,
			     const struct store_bucket *b, int k, int64_t now,
			     int *wait_s)
{
	if (k == 1)
		return 0;
	if (!*wait_s) {
		bucket_lease_keep(prefix, k - 1, now);
		return 0;
	}
	bucket_lease_refused(prefix, now);
	return store_limit_take(c, b->name, b->key, b->count, b->period_s, now,
				wait_s);
}

/* A batch the lease asked for took nothing (an error, a live one). */
static void limits_batch_none(const char *prefix, int k, int64_t now)
{
	if (k > 1)
		bucket_lease_keep(prefix, 0, now);
}

/*
 * The prefix's token for a request: from the node's lease (bucket_lease.h),
 * else from the store, as many at once as the lease wants.  *wait_s 0 when
 * it allows.
 */
static int limits_take_prefix(struct store_tx *c, const char *number,
			      int64_t now, int *wait_s)
{
	char prefix[16];
	struct store_bucket b, batch;
	int k, rc;

	*wait_s = 0;
	if (!lim.prefix_max)
		return 0;
	b = limits_prefix(number, prefix);
	if (bucket_lease_spend(prefix, now))
		return 0;
	k = bucket_lease_want(prefix, now);
	batch = limits_batch(&b, k);
	rc = store_limit_take(c, b.name, b.key, batch.count, b.period_s, now,
			      wait_s);
	if (rc != 0) {
		limits_batch_none(prefix, k, now);
		return rc;
	}
	return limits_batch_done(c, prefix, &b, k, now, wait_s);
}

/*
 * store_verification_live_take() with the prefix's token as
 * limits_take_prefix() takes it: KV_ENOTFOUND when the number has no live
 * verification, and then *wait_s 0 when the token was had.
 */
static int limits_live_prefix(struct store_tx *c, int64_t key_id,
			      const char *number, int64_t now,
			      struct vf_record *live, int *wait_s)
{
	char prefix[16];
	struct store_bucket b = limits_prefix(number, prefix), batch;
	int k, rc;

	*wait_s = 0;
	if (bucket_lease_spend(prefix, now)) {
		rc = store_verification_live(c, key_id, number, live);
		if (rc != KV_ENOTFOUND)
			bucket_lease_unspend(prefix, now);
		return rc;
	}
	k = bucket_lease_want(prefix, now);
	batch = limits_batch(&b, k);
	rc = store_verification_live_take(c, key_id, number, &batch, now, live,
					  wait_s);
	if (rc != KV_ENOTFOUND) {
		limits_batch_none(prefix, k, now);
		return rc;
	}
	rc = limits_batch_done(c, prefix, &b, k, now, wait_s);
	return rc != 0 ? rc : KV_ENOTFOUND;
}

int verify_limits_number(struct store_tx *c, const char *number, int64_t now,
			 int *wait_s)
{
	char tag[CRYPTO_TAG_LEN + 1];

	*wait_s = 0;
	if (!lim.shared || !lim.number_max)
		return 0;
	/* The store names a number's bucket by a keyed hash, not the number. */
	crypto_tag(number, tag);
	return store_limit_take(c, "number", tag, lim.number_max,
				lim.number_window_s, now, wait_s);
}

int verify_limits_live(struct store_tx *c, int64_t key_id, const char *number,
		       int64_t now, int count, struct vf_record *live,
		       int *wait_s, int *counted)
{
	char tag[CRYPTO_TAG_LEN + 1];
	struct store_bucket b = {"number", tag, lim.number_max,
				 lim.number_window_s};
	int rc;

	*wait_s = 0;
	*counted = 0;
	if (!count || !lim.shared || !lim.number_max)
		return store_verification_live(c, key_id, number, live);
	crypto_tag(number, tag);
	rc = store_verification_live_take(c, key_id, number, &b, now, live,
					  wait_s);
	*counted = rc == KV_ENOTFOUND;
	return rc;
}

/*
 * The number's bucket of verify_limits_start() in *b (tag its name's
 * buffer), or NULL when the cluster keeps none.
 */
static const struct store_bucket *
limits_number_bucket(const char *number, struct store_bucket *b,
		     char tag[CRYPTO_TAG_LEN + 1])
{
	if (!lim.shared || !lim.number_max)
		return NULL;
	crypto_tag(number, tag);
	*b = (struct store_bucket){"number", tag, lim.number_max,
				   lim.number_window_s};
	return b;
}

int verify_limits_start(struct store_tx *c, struct vf_record *r,
			const struct store_job_new *job, int64_t now,
			struct vf_record *live, int *wait_s)
{
	char tag[CRYPTO_TAG_LEN + 1];
	struct store_bucket b;

	return store_verification_start_if_free(
		c, r, job, limits_number_bucket(r->number, &b, tag), now, live,
		wait_s);
}

int verify_limits_start_lead(struct store_tx *c, const struct vf_record *r,
			     const struct store_job_new *job, int64_t now)
{
	char tag[CRYPTO_TAG_LEN + 1];
	struct store_bucket b;

	return store_verification_start_if_free_lead(
		c, r, job, limits_number_bucket(r->number, &b, tag), now);
}

/* The statistics, then the prefix's bucket (verify_limits_before()). */
static int limits_range(struct store_tx *c, const char *number,
			int64_t pk_key_id, int64_t now, char *reason,
			size_t reason_len, int *blocked, int *wait_s)
{
	struct fraud_block block;
	int rc;

	*blocked = 0;
	*wait_s = 0;
	rc = fraud_count_request(c, number, pk_key_id, now, &block, blocked);
	if (rc == 0 && *blocked && reason && reason_len)
		snprintf(reason, reason_len, "%s", block.reason);
	if (rc != 0 || *blocked)
		return rc;
	return limits_take_prefix(c, number, now, wait_s);
}

int verify_limits_request(struct store_tx *c, const char *number,
			  int64_t pk_key_id, int64_t now, char *reason,
			  size_t reason_len, int *blocked, int *wait_s)
{
	int rc;

	*blocked = 0;
	*wait_s = 0;
	if (!lim.shared)
		return 0;
	rc = limits_range(c, number, pk_key_id, now, reason, reason_len,
			  blocked, wait_s);
	if (rc != 0 || *blocked || *wait_s)
		return rc;
	return verify_limits_number(c, number, now, wait_s);
}

/*
 * The range's figures are not part of the verification's atomic unit: a
 * token taken for a request whose write then fails, or finds that another
 * node just created the number's live verification, stays spent, which
 * errs on the safe side.  So they are taken before the write, each in one
 * autocommit statement: inside the writer's group transaction, the rows of
 * a prefix's bucket and statistics, which every request of a range
 * updates, stayed locked until the whole group committed, and the writers
 * of every node queued on them.  The number's bucket stays in the write
 * (verify_limits_number()): only requests for that number share its row,
 * and a burst of them must see the first one's live verification, not
 * spend the number's tokens.
 */
int verify_limits_before(int64_t key_id, const char *number, int64_t pk_key_id,
			 int64_t now, char *reason, size_t reason_len,
			 int *blocked, int *wait_s, int *taken, int64_t *id)
{
	struct store_tx *c;
	struct vf_record live;
	int rc;

	*blocked = 0;
	*wait_s = 0;
	*taken = 0;
	*id = 0;
	if (!lim.shared)
		return 0;
	c = store_reader();
	if (!c)
		return KV_EDB;
	if (lim.prefix_max && !fraud_counts_requests()) {
		/* The usual case, no live one: the token in the same trip. */
		rc = limits_live_prefix(c, key_id, number, now, &live, wait_s);
		*taken = rc == KV_ENOTFOUND;
		if (*taken)
			rc = 0;
	} else {
		/* The statistics go first: a blocked request takes none. */
		rc = store_verification_live(c, key_id, number, &live);
	}
	if (!*taken) {
		if (rc == 0 && !engine_expire_if_due(&live.v, now))
			return 0;
		if (rc != 0 && rc != KV_ENOTFOUND)
			return rc;
		*taken = 1;
		rc = limits_range(c, number, pk_key_id, now, reason, reason_len,
				  blocked, wait_s);
	}
	/*
	 * The verification's id, drawn by the lookup above (else a trip of
	 * its own): the write can then store it in the lookup's statement.
	 */
	if (rc == 0 && !*blocked && !*wait_s)
		rc = store_verification_next_id(c, id);
	return rc;
}
