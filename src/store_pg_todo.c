/*
 * PLACEHOLDERS, to be deleted: weak definitions of the PostgreSQL backend's
 * operations not written yet, so that the backend links and its parts can
 * be built and tested side by side.  Each fails with KV_EDB (or does
 * nothing); a file defining the real operation overrides it at link time.
 * This file goes once every operation exists.
 */
#include "store_pg.h"
#include "err.h"

__attribute__((weak)) int pg_verification_next_id(struct store_tx *c,
						  int64_t *id)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_verification_insert(struct store_tx *c,
						 struct vf_record *r)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_verification_get(struct store_tx *c,
					      const char *request_id,
					      int64_t key_id,
					      struct vf_record *out)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_verification_live(struct store_tx *c,
					       int64_t key_id,
					       const char *number,
					       struct vf_record *out)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_verification_update(struct store_tx *c,
						 const struct vf_record *r)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_verification_finalize(struct store_tx *c,
						   const struct vf_record *r,
						   int64_t now)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_check_insert(struct store_tx *c,
					  int64_t verification_id,
					  const struct vf_check *ch)
{
	return KV_EDB;
}

__attribute__((weak)) int
pg_checks_foreach(struct store_tx *c, int64_t verification_id,
		  int (*cb)(const struct vf_check *ch, void *arg), void *arg)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_event_insert(struct store_tx *c,
					  int64_t verification_id,
					  const struct vf_event *ev)
{
	return KV_EDB;
}

__attribute__((weak)) int
pg_events_foreach(struct store_tx *c, int64_t verification_id,
		  int (*cb)(const struct vf_event *ev, void *arg), void *arg)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_verified_put(struct store_tx *c, int64_t key_id,
					  const char *number,
					  const struct vf_verified *vr)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_verified_get(struct store_tx *c, int64_t key_id,
					  const char *number,
					  struct vf_verified *out)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_call_get(struct store_tx *c, const char *sid,
				      struct vf_call *out)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_call_put(struct store_tx *c,
				      const struct vf_call *cr, int64_t now)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_fraud_insert(struct store_tx *c,
					  const char *number,
					  int64_t verification_id, int64_t now)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_key_voice_confirm(struct store_tx *c,
					       int64_t key_id, int *allowed)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_block_get(struct store_tx *c, const char *prefix,
				       int64_t key_id, int64_t now,
				       struct fraud_block *out)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_block_put(struct store_tx *c,
				       const struct fraud_block *b)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_block_lift(struct store_tx *c, const char *prefix,
					int64_t now)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_block_last(struct store_tx *c, const char *prefix,
					int64_t key_id, struct fraud_block *out)
{
	return KV_EDB;
}

__attribute__((weak)) int
pg_blocks_foreach(struct store_tx *c, int64_t now,
		  int (*cb)(const struct fraud_block *b, void *arg), void *arg)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_fraud_recent(struct store_tx *c,
					  const char *prefix, int64_t key_id,
					  int64_t since_ms, int64_t *count)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_key_kind(struct store_tx *c, int64_t key_id,
				      int *kind)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_recent_numbers_foreach(
	struct store_tx *c, int64_t since_ms,
	void (*cb)(const char *number, int64_t at_ms, void *arg), void *arg)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_job_claim(struct store_tx *c, int64_t now,
				       int64_t lease_until, struct vf_job *out)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_job_next_due(struct store_tx *c, int64_t *due_ms)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_verification_by_id(struct store_tx *c, int64_t id,
						struct vf_record *out)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_job_insert(struct store_tx *c, const char *kind,
					int64_t verification_id, int step,
					int64_t due_ms)
{
	return KV_EDB;
}

__attribute__((weak)) int
pg_jobs_cancel(struct store_tx *c, int64_t verification_id, int64_t now_ms)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_job_step_now(struct store_tx *c,
					  int64_t verification_id,
					  int64_t now_ms, int *moved)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_jobs_pending(struct store_tx *c, int64_t *count)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_number_erase(struct store_tx *c,
					  const char *number,
					  struct store_erase_counts *out)
{
	return KV_EDB;
}

__attribute__((weak)) int pg_purge_batch(struct store_tx *c,
					 const struct store_purge *p,
					 struct store_purge_counts *out)
{
	return KV_EDB;
}
