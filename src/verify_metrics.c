/*
 * The service's metrics: a verification's end counted once, after the
 * commit that stored it (by key, workflow and, for a success, the channel
 * that proved the number), and the store-wide gauges /metrics reads at
 * scrape time, with the public ids of the keys its labels name.
 */
#include "err.h"
#include "store.h"
#include "verify_callback.h"
#include "verify_internal.h"

void verify_metrics_final(const struct vf_record *r, int64_t now,
			  enum metric_channel ch)
{
	unsigned k = metrics_key(r->v.key_id);
	unsigned w = metrics_workflow(r->workflow_id);
	int64_t took = now - r->v.created_ms;

	/* Ended before this transaction: counted when it ended. */
	if (r->v.state == VF_IN_PROGRESS || r->v.finalized_ms != now)
		return;
	switch (r->v.state) {
	case VF_SUCCESS:
		metrics_inc(M_VF_VERIFIED, k, w, ch);
		metrics_observe(M_TIME_TO_VERIFY, ch, 0,
				took > 0 ? (double)took / 1000.0 : 0);
		break;
	case VF_FAILED:
		metrics_inc(M_VF_ENDED, k, w, MEND_FAILED);
		break;
	case VF_EXPIRED:
		metrics_inc(M_VF_ENDED, k, w, MEND_EXPIRED);
		break;
	case VF_CANCELLED:
		metrics_inc(M_VF_ENDED, k, w, MEND_CANCELLED);
		break;
	case VF_IN_PROGRESS:
		break;
	}
}

int verify_finalize(struct store_tx *c, const struct vf_record *r, int64_t now,
		    enum metric_channel ch)
{
	/* The store's end of it, with its callbacks queued in the write. */
	int rc = verify_callback_finalize(c, r, now);

	if (rc == 0)
		verify_metrics_final(r, now, ch);
	return rc;
}

static int name_key(const struct key_info *k, void *arg)
{
	(void)arg;
	metrics_key_name(k->id, k->api_key);
	return 0;
}

/* A key the table holds but this node never authenticated: look it up. */
static void unnamed(int64_t key_id, void *arg)
{
	*(int *)arg = 1;
	(void)key_id;
}

static void gauge(enum metric_id id, int64_t v)
{
	metrics_set(id, 0, 0, 0, v >= 0 ? (uint64_t)v : METRICS_ABSENT);
}

int verify_metrics_scrape(void)
{
	struct store_tx *c = store_reader();
	struct store_stats st = {0};
	int64_t now = now_ms();
	int any = 0;
	int rc;

	if (!c)
		return KV_EDB;
	rc = store_stats(c, now, &st);
	if (rc == 0) {
		gauge(M_JOBS_DUE, st.jobs_due);
		gauge(M_JOBS_LEASED, st.jobs_leased);
		gauge(M_JOBS_OLDEST_DUE,
		      st.oldest_due_ms > 0 && st.oldest_due_ms < now
			      ? (now - st.oldest_due_ms) / 1000
			      : 0);
		gauge(M_FRAUD_BLOCKS_ACTIVE, st.blocks_active);
		gauge(M_STORE_DB_BYTES, st.db_bytes);
		gauge(M_STORE_WAL_BYTES, st.wal_bytes);
	}
	metrics_keys_unnamed(unnamed, &any);
	if (rc == 0 && any)
		rc = store_keys_foreach(c, name_key, NULL);
	return rc;
}
