/*
 * The store's front: picks the backend a setting names and forwards each call
 * of store.h to its table of operations.  One indirect call per operation is
 * the whole cost; no caller above the store sees which backend answers.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "store.h"
#include "store_backend.h"

/*
 * Backends by the prefix of their setting, in order; the last, with no
 * prefix, takes everything else (a file path).  A new backend is one row
 * here and its own files.  PostgreSQL takes a URI, or a libpq keyword
 * string that starts with one of the keywords that name a server or a
 * database (a file path does not start with "host=").
 */
static const struct {
	const char *prefix;
	const struct store_ops *ops;
} backends[] = {
	{"postgresql://", &store_pg_ops}, {"postgres://", &store_pg_ops},
	{"host=", &store_pg_ops},         {"hostaddr=", &store_pg_ops},
	{"dbname=", &store_pg_ops},       {"service=", &store_pg_ops},
	{"", &store_sqlite_ops},
};

/* Until a setting chooses, calls go to SQLite (tests that open nothing). */
static const struct store_ops *ops = &store_sqlite_ops;

/*
 * Chooses the backend for `setting`.  Called by the functions that take a
 * setting, all of which run at start (or in the CLI) before any other
 * thread uses the store, so the pointer needs no lock.
 */
static void store_select(const char *setting)
{
	const struct store_ops *o = store_backend_of(setting);

	if (o)
		ops = o;
}

const struct store_ops *store_backend_of(const char *setting)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		size_t n = strlen(backends[i].prefix);

		if (setting && strncmp(setting, backends[i].prefix, n) == 0)
			return backends[i].ops;
	}
	return NULL;
}

void store_library_init(void)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i].ops->library_init)
			backends[i].ops->library_init();
}

int store_migrate(const char *path, char *err, size_t errlen)
{
	store_select(path);
	return ops->migrate(path, err, errlen);
}

int store_migrate_to(const char *path, int version, char *err, size_t errlen)
{
	store_select(path);
	if (!ops->migrate_to) {
		snprintf(err, errlen,
			 "this store migrates only to its latest "
			 "schema version");
		return KV_EINVAL;
	}
	return ops->migrate_to(path, version, err, errlen);
}

int store_schema_version(void)
{
	return ops->schema_version();
}

/* Set once at start, before any thread, like `ops`. */
static enum store_sync sync_level = STORE_SYNC_NORMAL;

/* Set by the job runner as it starts and stops; read by the writers. */
static int (*_Atomic wake_others)(void);

void store_jobs_wake_others_set(int (*need)(void))
{
	wake_others = need;
}

int store_jobs_wake_others(void)
{
	int (*need)(void) = wake_others;

	return !need || need();
}

void store_sync_set(enum store_sync level)
{
	sync_level = level;
}

enum store_sync store_sync_get(void)
{
	return sync_level;
}

struct store_tx *store_open(const char *path, char *err, size_t errlen)
{
	store_select(path);
	return ops->open(path, err, errlen);
}

struct store_tx *store_open_migrated(const char *path, char *err, size_t errlen)
{
	store_select(path);
	if (ops->open_migrated)
		return ops->open_migrated(path, err, errlen);
	if (ops->migrate(path, err, errlen) != 0)
		return NULL;
	return ops->open(path, err, errlen);
}

void store_close(struct store_tx *c)
{
	ops->close(c);
}

void store_readers_init(const char *path)
{
	store_select(path);
	ops->readers_init(path);
}

struct store_tx *store_reader(void)
{
	return ops->reader();
}

void store_readers_close(void)
{
	ops->readers_close();
}

void store_read_begin(void)
{
	ops->read_begin();
}

void store_read_end(void)
{
	ops->read_end();
}

int store_writer_start(const char *path, int batch_max, char *err,
		       size_t errlen)
{
	store_select(path);
	return ops->writer_start(path, batch_max, err, errlen);
}

int store_write(int (*fn)(struct store_tx *c, void *arg), void *arg)
{
	return ops->write(fn, arg);
}

void store_writer_stop(void)
{
	ops->writer_stop();
}

int store_write_submit(struct store_write_op *op)
{
	return ops->write_submit(op);
}

int store_begin(struct store_tx *c)
{
	return ops->begin(c);
}

int store_commit(struct store_tx *c)
{
	return ops->commit(c);
}

int store_rollback(struct store_tx *c)
{
	return ops->rollback(c);
}

int store_key_insert(struct store_tx *c, const struct key_info *k, int64_t *id)
{
	return ops->key_insert(c, k, id);
}

int store_key_get(struct store_tx *c, const char *api_key, struct key_info *out)
{
	return ops->key_get(c, api_key, out);
}

int store_key_revoke(struct store_tx *c, const char *api_key, int64_t now_ms)
{
	return ops->key_revoke(c, api_key, now_ms);
}

int store_key_set_owner(struct store_tx *c, const char *api_key,
			const char *owner)
{
	return ops->key_set_owner(c, api_key, owner);
}

int store_keys_foreach(struct store_tx *c,
		       int (*cb)(const struct key_info *k, void *arg),
		       void *arg)
{
	return ops->keys_foreach(c, cb, arg);
}

int store_key_origin_add(struct store_tx *c, int64_t key_id, const char *origin)
{
	return ops->key_origin_add(c, key_id, origin);
}

int store_key_origin_allowed(struct store_tx *c, int64_t key_id,
			     const char *origin, int *listed)
{
	return ops->key_origin_allowed(c, key_id, origin, listed);
}

int store_origin_known(struct store_tx *c, const char *origin, int *known)
{
	return ops->origin_known(c, origin, known);
}

int store_key_origins_foreach(struct store_tx *c, int64_t key_id,
			      void (*cb)(const char *origin, void *arg),
			      void *arg)
{
	return ops->key_origins_foreach(c, key_id, cb, arg);
}

int store_token_use(struct store_tx *c, const char *jti, int64_t exp_ms,
		    int64_t now_ms)
{
	return ops->token_use(c, jti, exp_ms, now_ms);
}

int store_token_used(struct store_tx *c, const char *jti, int *used)
{
	return ops->token_used(c, jti, used);
}

int store_app_insert(struct store_tx *c, const struct app_info *a)
{
	return ops->app_insert(c, a);
}

int store_app_get(struct store_tx *c, const char *app_id, struct app_info *out)
{
	return ops->app_get(c, app_id, out);
}

int store_app_delete(struct store_tx *c, const char *app_id)
{
	return ops->app_delete(c, app_id);
}

int store_apps_foreach(struct store_tx *c,
		       int (*cb)(const struct app_info *a, void *arg),
		       void *arg)
{
	return ops->apps_foreach(c, cb, arg);
}

int store_idem_get(struct store_tx *c, int64_t key_id, const char *idem_key,
		   int64_t since_ms, struct idem_record *out)
{
	return ops->idem_get(c, key_id, idem_key, since_ms, out);
}

int store_idem_put(struct store_tx *c, const struct idem_record *r,
		   int64_t since_ms)
{
	return ops->idem_put(c, r, since_ms);
}

int store_template_put(struct store_tx *c, const struct vf_template *t,
		       int insert)
{
	return ops->template_put(c, t, insert);
}

int store_template_get(struct store_tx *c, int64_t key_id, const char *id,
		       struct vf_template *out)
{
	return ops->template_get(c, key_id, id, out);
}

int store_template_delete(struct store_tx *c, int64_t key_id, const char *id)
{
	return ops->template_delete(c, key_id, id);
}

int store_templates_foreach(struct store_tx *c, int64_t key_id,
			    int (*cb)(const struct vf_template *t, void *arg),
			    void *arg)
{
	return ops->templates_foreach(c, key_id, cb, arg);
}

int store_fragment_put(struct store_tx *c, const struct vf_fragment *f,
		       int insert)
{
	return ops->fragment_put(c, f, insert);
}

int store_fragment_get(struct store_tx *c, int64_t key_id,
		       const char *template_id, const char *id,
		       struct vf_fragment *out)
{
	return ops->fragment_get(c, key_id, template_id, id, out);
}

int store_fragment_delete(struct store_tx *c, int64_t key_id,
			  const char *template_id, const char *id)
{
	return ops->fragment_delete(c, key_id, template_id, id);
}

int store_fragments_foreach(struct store_tx *c, int64_t key_id,
			    const char *template_id,
			    int (*cb)(const struct vf_fragment *f, void *arg),
			    void *arg)
{
	return ops->fragments_foreach(c, key_id, template_id, cb, arg);
}

int store_verification_next_id(struct store_tx *c, int64_t *id)
{
	return ops->verification_next_id(c, id);
}

int store_verification_insert(struct store_tx *c, struct vf_record *r)
{
	return ops->verification_insert(c, r);
}

int store_verification_start(struct store_tx *c, struct vf_record *r,
			     const struct store_job_new *job)
{
	int rc;

	if (ops->verification_start)
		return ops->verification_start(c, r, job);
	rc = ops->verification_insert(c, r);
	if (rc == 0 && job)
		rc = ops->job_insert(c, job->kind, r->v.id, job->step,
				     job->due_ms);
	return rc;
}

int store_verification_get(struct store_tx *c, const char *request_id,
			   int64_t key_id, struct vf_record *out)
{
	return ops->verification_get(c, request_id, key_id, out);
}

int store_verification_live(struct store_tx *c, int64_t key_id,
			    const char *number, struct vf_record *out)
{
	return ops->verification_live(c, key_id, number, out);
}

int store_verification_update(struct store_tx *c, const struct vf_record *r)
{
	return ops->verification_update(c, r);
}

int store_verification_finalize(struct store_tx *c, const struct vf_record *r,
				int64_t now)
{
	return ops->verification_finalize(c, r, now);
}

int store_check_insert(struct store_tx *c, int64_t verification_id,
		       const struct vf_check *ch)
{
	return ops->check_insert(c, verification_id, ch);
}

int store_checks_foreach(struct store_tx *c, int64_t verification_id,
			 int (*cb)(const struct vf_check *ch, void *arg),
			 void *arg)
{
	return ops->checks_foreach(c, verification_id, cb, arg);
}

void vf_event_set(struct vf_event *ev, int64_t created_ms, const char *type,
		  const char *channel, const char *provider_id,
		  const char *result, const char *detail)
{
	memset(ev, 0, sizeof(*ev));
	ev->created_ms = created_ms;
	snprintf(ev->type, sizeof(ev->type), "%s", type ? type : "");
	snprintf(ev->channel, sizeof(ev->channel), "%s",
		 channel ? channel : "");
	snprintf(ev->provider_id, sizeof(ev->provider_id), "%s",
		 provider_id ? provider_id : "");
	snprintf(ev->result, sizeof(ev->result), "%s", result ? result : "");
	snprintf(ev->detail, sizeof(ev->detail), "%s", detail ? detail : "");
}

int store_event_insert(struct store_tx *c, int64_t verification_id,
		       const struct vf_event *ev)
{
	return ops->event_insert(c, verification_id, ev);
}

int store_events_foreach(struct store_tx *c, int64_t verification_id,
			 int (*cb)(const struct vf_event *ev, void *arg),
			 void *arg)
{
	return ops->events_foreach(c, verification_id, cb, arg);
}

int store_verified_put(struct store_tx *c, int64_t key_id, const char *number,
		       const struct vf_verified *vr)
{
	return ops->verified_put(c, key_id, number, vr);
}

int store_verified_get(struct store_tx *c, int64_t key_id, const char *number,
		       struct vf_verified *out)
{
	return ops->verified_get(c, key_id, number, out);
}

int store_call_get(struct store_tx *c, const char *sid, struct vf_call *out)
{
	return ops->call_get(c, sid, out);
}

int store_call_put(struct store_tx *c, const struct vf_call *cr, int64_t now)
{
	return ops->call_put(c, cr, now);
}

int store_fraud_insert(struct store_tx *c, const char *number,
		       int64_t verification_id, int64_t now)
{
	return ops->fraud_insert(c, number, verification_id, now);
}

int store_key_voice_confirm(struct store_tx *c, int64_t key_id, int *allowed)
{
	return ops->key_voice_confirm(c, key_id, allowed);
}

int store_key_missed_call(struct store_tx *c, int64_t key_id, int *on)
{
	return ops->key_missed_call(c, key_id, on);
}

int store_key_set_missed_call(struct store_tx *c, const char *api_key, int on)
{
	return ops->key_set_missed_call(c, api_key, on);
}

int store_verification_missed(struct store_tx *c, const char *number,
			      const char *did, struct vf_record *out)
{
	return ops->verification_missed(c, number, did, out);
}

int store_block_get(struct store_tx *c, const char *prefix, int64_t key_id,
		    int64_t now, struct fraud_block *out)
{
	return ops->block_get(c, prefix, key_id, now, out);
}

int store_block_put(struct store_tx *c, const struct fraud_block *b)
{
	return ops->block_put(c, b);
}

int store_block_lift(struct store_tx *c, const char *prefix, int64_t now)
{
	return ops->block_lift(c, prefix, now);
}

int store_block_last(struct store_tx *c, const char *prefix, int64_t key_id,
		     struct fraud_block *out)
{
	return ops->block_last(c, prefix, key_id, out);
}

int store_blocks_foreach(struct store_tx *c, int64_t now,
			 int (*cb)(const struct fraud_block *b, void *arg),
			 void *arg)
{
	return ops->blocks_foreach(c, now, cb, arg);
}

int store_fraud_recent(struct store_tx *c, const char *prefix, int64_t key_id,
		       int64_t since_ms, int64_t *count)
{
	return ops->fraud_recent(c, prefix, key_id, since_ms, count);
}

int store_key_kind(struct store_tx *c, int64_t key_id, int *kind)
{
	return ops->key_kind(c, key_id, kind);
}

int store_console_funnel(struct store_tx *c, int64_t since_ms,
			 struct store_funnel *out)
{
	return ops->console_funnel(c, since_ms, out);
}

int store_console_minutes(struct store_tx *c, int64_t since_ms,
			  void (*cb)(int64_t minute_ms, int state,
				     int64_t count, void *arg),
			  void *arg)
{
	return ops->console_minutes(c, since_ms, cb, arg);
}

int store_console_prefixes(struct store_tx *c, int64_t since_ms, int digits,
			   int limit,
			   void (*cb)(const char *prefix, int64_t requests,
				      int64_t verified, void *arg),
			   void *arg)
{
	return ops->console_prefixes(c, since_ms, digits, limit, cb, arg);
}

int store_console_recent(struct store_tx *c, int limit,
			 void (*cb)(const struct store_recent *r, void *arg),
			 void *arg)
{
	return ops->console_recent(c, limit, cb, arg);
}

int store_calls_foreach(struct store_tx *c, int64_t verification_id,
			void (*cb)(const struct vf_call *cl, int64_t created_ms,
				   void *arg),
			void *arg)
{
	return ops->calls_foreach(c, verification_id, cb, arg);
}

int store_recent_numbers_foreach(struct store_tx *c, int64_t since_ms,
				 void (*cb)(const char *number, int64_t at_ms,
					    void *arg),
				 void *arg)
{
	return ops->recent_numbers_foreach(c, since_ms, cb, arg);
}

int store_job_claim(struct store_tx *c, int64_t now, int64_t lease_until,
		    struct vf_job *out)
{
	return ops->job_claim(c, now, lease_until, out);
}

int store_job_done(struct store_tx *c, int64_t id, int64_t lease_until,
		   int state, const char *error, int64_t now)
{
	return ops->job_done(c, id, lease_until, state, error, now);
}

int store_job_retry(struct store_tx *c, int64_t id, int64_t lease_until,
		    int64_t due_ms, const char *error)
{
	return ops->job_retry(c, id, lease_until, due_ms, error);
}

int store_job_next_due(struct store_tx *c, int64_t *due_ms)
{
	return ops->job_next_due(c, due_ms);
}

int store_verification_by_id(struct store_tx *c, int64_t id,
			     struct vf_record *out)
{
	return ops->verification_by_id(c, id, out);
}

int store_job_insert(struct store_tx *c, const char *kind,
		     int64_t verification_id, int step, int64_t due_ms)
{
	return ops->job_insert(c, kind, verification_id, step, due_ms);
}

int store_jobs_cancel(struct store_tx *c, int64_t verification_id,
		      int64_t now_ms)
{
	return ops->jobs_cancel(c, verification_id, now_ms);
}

int store_job_step_now(struct store_tx *c, int64_t verification_id,
		       int64_t now_ms, int *moved)
{
	return ops->job_step_now(c, verification_id, now_ms, moved);
}

int store_jobs_pending(struct store_tx *c, int64_t *count)
{
	return ops->jobs_pending(c, count);
}

int store_stats(struct store_tx *c, int64_t now, struct store_stats *out)
{
	return ops->stats(c, now, out);
}

int store_backup(const char *path, const char *dest, int force,
		 struct store_backup_stats *stats, char *err, size_t errlen)
{
	store_select(path);
	return ops->backup(path, dest, force, stats, err, errlen);
}

int store_restore(const char *path, const char *src, char *err, size_t errlen)
{
	store_select(path);
	return ops->restore(path, src, err, errlen);
}

int store_number_erase(struct store_tx *c, const char *number, const char *tag,
		       struct store_erase_counts *out)
{
	return ops->number_erase(c, number, tag, out);
}

int store_purge_batch(struct store_tx *c, const struct store_purge *p,
		      struct store_purge_counts *out)
{
	return ops->purge_batch(c, p, out);
}

int store_is_shared(void)
{
	return ops->shared;
}

int store_ping(void)
{
	return ops->ping();
}

int store_meta_claim(struct store_tx *c, const char *name, const char *value,
		     char *stored, size_t storedlen)
{
	return ops->meta_claim(c, name, value, stored, storedlen);
}

int store_limit_take(struct store_tx *c, const char *name, const char *key,
		     int count, int period_s, int64_t now_ms, int *wait_s)
{
	return ops->limit_take(c, name, key, count, period_s, now_ms, wait_s);
}

int store_verification_live_take(struct store_tx *c, int64_t key_id,
				 const char *number,
				 const struct store_bucket *b, int64_t now_ms,
				 struct vf_record *out, int *wait_s)
{
	int rc;

	*wait_s = 0;
	if (ops->verification_live_take)
		return ops->verification_live_take(c, key_id, number, b, now_ms,
						   out, wait_s);
	rc = ops->verification_live(c, key_id, number, out);
	if (rc != KV_ENOTFOUND)
		return rc;
	rc = ops->limit_take(c, b->name, b->key, b->count, b->period_s, now_ms,
			     wait_s);
	return rc != 0 ? rc : KV_ENOTFOUND;
}

int store_verification_start_if_free(struct store_tx *c, struct vf_record *r,
				     const struct store_job_new *job,
				     const struct store_bucket *b,
				     int64_t now_ms, struct vf_record *live,
				     int *wait_s)
{
	int rc;

	*wait_s = 0;
	if (ops->verification_start_if_free)
		return ops->verification_start_if_free(c, r, job, b, now_ms,
						       live, wait_s);
	rc = b ? store_verification_live_take(c, r->v.key_id, r->number, b,
					      now_ms, live, wait_s)
	       : ops->verification_live(c, r->v.key_id, r->number, live);
	if (rc != KV_ENOTFOUND || *wait_s)
		return rc;
	rc = store_verification_start(c, r, job);
	return rc != 0 ? rc : KV_ENOTFOUND;
}

int store_verification_start_if_free_lead(struct store_tx *c,
					  const struct vf_record *r,
					  const struct store_job_new *job,
					  const struct store_bucket *b,
					  int64_t now_ms)
{
	if (!ops->verification_start_if_free_lead)
		return KV_ENOTFOUND;
	return ops->verification_start_if_free_lead(c, r, job, b, now_ms);
}

int store_prefix_stats_add(struct store_tx *c, const char *prefix,
			   int64_t scope, int64_t window_ms, int requests,
			   int successes, int64_t *total_requests,
			   int64_t *total_successes)
{
	return ops->prefix_stats_add(c, prefix, scope, window_ms, requests,
				     successes, total_requests,
				     total_successes);
}

int store_backoff_get(struct store_tx *c, int64_t key_id, const char *tag,
		      struct resend_backoff *b)
{
	return ops->backoff_get(c, key_id, tag, b);
}

int store_backoff_put(struct store_tx *c, int64_t key_id, const char *tag,
		      const struct resend_backoff *b)
{
	return ops->backoff_put(c, key_id, tag, b);
}

int store_backoff_sweep(struct store_tx *c, int64_t before_ms, int64_t now_ms,
			int64_t *deleted)
{
	return ops->backoff_sweep(c, before_ms, now_ms, deleted);
}

int store_cluster_sweep(struct store_tx *c, int64_t before_ms,
			int64_t stats_before_ms, int64_t *deleted)
{
	return ops->cluster_sweep(c, before_ms, stats_before_ms, deleted);
}

int store_jobs_listen(const char *path, void (*wake)(void))
{
	store_select(path);
	if (!ops->jobs_listen)
		return KV_ENOTFOUND;
	return ops->jobs_listen(path, wake);
}

void store_jobs_unlisten(void)
{
	if (ops->jobs_unlisten)
		ops->jobs_unlisten();
}

int store_key_callback_get(struct store_tx *c, int64_t key_id,
			   struct key_callback *out)
{
	return ops->key_callback_get(c, key_id, out);
}

int store_key_callback_set(struct store_tx *c, const char *api_key,
			   const struct key_callback *cb)
{
	return ops->key_callback_set(c, api_key, cb);
}

int store_callback_insert(struct store_tx *c, const struct vf_callback *cb,
			  int64_t now)
{
	return ops->callback_insert(c, cb, now);
}

int store_callback_claim(struct store_tx *c, int64_t now, int64_t lease_until,
			 const int64_t *skip, struct vf_callback *out)
{
	static const int64_t none[CALLBACK_SKIP_KEYS];

	return ops->callback_claim(c, now, lease_until, skip ? skip : none,
				   out);
}

int store_callback_done(struct store_tx *c, const struct vf_callback *cb,
			int64_t lease_until, int state, const char *error,
			int64_t now)
{
	return ops->callback_done(c, cb, lease_until, state, error, now);
}

int store_callback_retry(struct store_tx *c, int64_t id, int64_t lease_until,
			 int64_t due_ms, const char *error)
{
	return ops->callback_retry(c, id, lease_until, due_ms, error);
}

int store_callback_next_due(struct store_tx *c, int64_t *due_ms)
{
	return ops->callback_next_due(c, due_ms);
}
