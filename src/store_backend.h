/*
 * What a store backend implements: one table of operations, one entry per
 * function of store.h with the same contract (store.h documents each).
 * store.c picks a backend's table from the setting at start and forwards
 * every call to it.  Only store.c and the backends' own files include this.
 */
#ifndef KV_STORE_BACKEND_H
#define KV_STORE_BACKEND_H

#include "store.h"

struct store_ops {
	/* Once per process, before any thread and any other call (may be
	 * NULL). */
	void (*library_init)(void);
	int (*migrate)(const char *path, char *err, size_t errlen);
	/* May be NULL: the backend migrates only to its latest version. */
	int (*migrate_to)(const char *path, int version, char *err,
			  size_t errlen);
	int (*schema_version)(void);
	/* May be NULL: store.c then runs migrate and open in turn. */
	struct store_tx *(*open_migrated)(const char *path, char *err,
					  size_t errlen);
	struct store_tx *(*open)(const char *path, char *err, size_t errlen);
	void (*close)(struct store_tx *c);
	void (*readers_init)(const char *path);
	struct store_tx *(*reader)(void);
	void (*readers_close)(void);
	void (*read_begin)(void);
	void (*read_end)(void);
	int (*writer_start)(const char *path, int batch_max, char *err,
			    size_t errlen);
	int (*write)(int (*fn)(struct store_tx *c, void *arg), void *arg);
	void (*writer_stop)(void);
	int (*write_submit)(struct store_write_op *op);
	int (*begin)(struct store_tx *c);
	int (*commit)(struct store_tx *c);
	int (*rollback)(struct store_tx *c);
	int (*key_insert)(struct store_tx *c, const struct key_info *k,
			  int64_t *id);
	int (*key_get)(struct store_tx *c, const char *api_key,
		       struct key_info *out);
	int (*key_revoke)(struct store_tx *c, const char *api_key,
			  int64_t now_ms);
	int (*key_set_owner)(struct store_tx *c, const char *api_key,
			     const char *owner);
	int (*keys_foreach)(struct store_tx *c,
			    int (*cb)(const struct key_info *k, void *arg),
			    void *arg);
	int (*key_origin_add)(struct store_tx *c, int64_t key_id,
			      const char *origin);
	int (*key_origin_allowed)(struct store_tx *c, int64_t key_id,
				  const char *origin, int *listed);
	int (*origin_known)(struct store_tx *c, const char *origin, int *known);
	int (*key_origins_foreach)(struct store_tx *c, int64_t key_id,
				   void (*cb)(const char *origin, void *arg),
				   void *arg);
	int (*token_use)(struct store_tx *c, const char *jti, int64_t exp_ms,
			 int64_t now_ms);
	int (*token_used)(struct store_tx *c, const char *jti, int *used);
	int (*app_insert)(struct store_tx *c, const struct app_info *a);
	int (*app_get)(struct store_tx *c, const char *app_id,
		       struct app_info *out);
	int (*app_delete)(struct store_tx *c, const char *app_id);
	int (*apps_foreach)(struct store_tx *c,
			    int (*cb)(const struct app_info *a, void *arg),
			    void *arg);
	int (*idem_get)(struct store_tx *c, int64_t key_id,
			const char *idem_key, int64_t since_ms,
			struct idem_record *out);
	int (*idem_put)(struct store_tx *c, const struct idem_record *r,
			int64_t since_ms);
	int (*template_put)(struct store_tx *c, const struct vf_template *t,
			    int insert);
	int (*template_get)(struct store_tx *c, int64_t key_id, const char *id,
			    struct vf_template *out);
	int (*template_delete)(struct store_tx *c, int64_t key_id,
			       const char *id);
	int (*templates_foreach)(struct store_tx *c, int64_t key_id,
				 int (*cb)(const struct vf_template *t,
					   void *arg),
				 void *arg);
	int (*fragment_put)(struct store_tx *c, const struct vf_fragment *f,
			    int insert);
	int (*fragment_get)(struct store_tx *c, int64_t key_id,
			    const char *template_id, const char *id,
			    struct vf_fragment *out);
	int (*fragment_delete)(struct store_tx *c, int64_t key_id,
			       const char *template_id, const char *id);
	int (*fragments_foreach)(
		struct store_tx *c, int64_t key_id, const char *template_id,
		int (*cb)(const struct vf_fragment *f, void *arg), void *arg);
	int (*verification_next_id)(struct store_tx *c, int64_t *id);
	int (*verification_insert)(struct store_tx *c, struct vf_record *r);
	/* May be NULL: store.c runs verification_insert, then job_insert. */
	int (*verification_start)(struct store_tx *c, struct vf_record *r,
				  const struct store_job_new *job);
	int (*verification_get)(struct store_tx *c, const char *request_id,
				int64_t key_id, struct vf_record *out);
	int (*verification_live)(struct store_tx *c, int64_t key_id,
				 const char *number, struct vf_record *out);
	int (*verification_update)(struct store_tx *c,
				   const struct vf_record *r);
	int (*verification_finalize)(struct store_tx *c,
				     const struct vf_record *r, int64_t now);
	int (*check_insert)(struct store_tx *c, int64_t verification_id,
			    const struct vf_check *ch);
	int (*checks_foreach)(struct store_tx *c, int64_t verification_id,
			      int (*cb)(const struct vf_check *ch, void *arg),
			      void *arg);
	int (*event_insert)(struct store_tx *c, int64_t verification_id,
			    const struct vf_event *ev);
	int (*events_foreach)(struct store_tx *c, int64_t verification_id,
			      int (*cb)(const struct vf_event *ev, void *arg),
			      void *arg);
	int (*verified_put)(struct store_tx *c, int64_t key_id,
			    const char *number, const struct vf_verified *vr);
	int (*verified_get)(struct store_tx *c, int64_t key_id,
			    const char *number, struct vf_verified *out);
	int (*call_get)(struct store_tx *c, const char *sid,
			struct vf_call *out);
	int (*call_put)(struct store_tx *c, const struct vf_call *cr,
			int64_t now);
	int (*fraud_insert)(struct store_tx *c, const char *number,
			    int64_t verification_id, int64_t now);
	int (*key_voice_confirm)(struct store_tx *c, int64_t key_id,
				 int *allowed);
	int (*key_missed_call)(struct store_tx *c, int64_t key_id, int *on);
	int (*key_set_missed_call)(struct store_tx *c, const char *api_key,
				   int on);
	int (*verification_missed)(struct store_tx *c, const char *number,
				   const char *did, struct vf_record *out);
	int (*block_get)(struct store_tx *c, const char *prefix, int64_t key_id,
			 int64_t now, struct fraud_block *out);
	int (*block_put)(struct store_tx *c, const struct fraud_block *b);
	int (*block_lift)(struct store_tx *c, const char *prefix, int64_t now);
	int (*block_last)(struct store_tx *c, const char *prefix,
			  int64_t key_id, struct fraud_block *out);
	int (*blocks_foreach)(struct store_tx *c, int64_t now,
			      int (*cb)(const struct fraud_block *b, void *arg),
			      void *arg);
	int (*fraud_recent)(struct store_tx *c, const char *prefix,
			    int64_t key_id, int64_t since_ms, int64_t *count);
	int (*key_kind)(struct store_tx *c, int64_t key_id, int *kind);
	int (*console_funnel)(struct store_tx *c, int64_t since_ms,
			      struct store_funnel *out);
	int (*console_minutes)(struct store_tx *c, int64_t since_ms,
			       void (*cb)(int64_t minute_ms, int state,
					  int64_t count, void *arg),
			       void *arg);
	int (*console_prefixes)(struct store_tx *c, int64_t since_ms,
				int digits, int limit,
				void (*cb)(const char *prefix, int64_t requests,
					   int64_t verified, void *arg),
				void *arg);
	int (*console_recent)(struct store_tx *c, int limit,
			      void (*cb)(const struct store_recent *r,
					 void *arg),
			      void *arg);
	int (*calls_foreach)(struct store_tx *c, int64_t verification_id,
			     void (*cb)(const struct vf_call *cl,
					int64_t created_ms, void *arg),
			     void *arg);
	int (*recent_numbers_foreach)(struct store_tx *c, int64_t since_ms,
				      void (*cb)(const char *number,
						 int64_t at_ms, void *arg),
				      void *arg);
	int (*job_claim)(struct store_tx *c, int64_t now, int64_t lease_until,
			 struct vf_job *out);
	int (*job_done)(struct store_tx *c, int64_t id, int64_t lease_until,
			int state, const char *error, int64_t now);
	int (*job_retry)(struct store_tx *c, int64_t id, int64_t lease_until,
			 int64_t due_ms, const char *error);
	int (*job_next_due)(struct store_tx *c, int64_t *due_ms);
	int (*verification_by_id)(struct store_tx *c, int64_t id,
				  struct vf_record *out);
	int (*job_insert)(struct store_tx *c, const char *kind,
			  int64_t verification_id, int step, int64_t due_ms);
	int (*jobs_cancel)(struct store_tx *c, int64_t verification_id,
			   int64_t now_ms);
	int (*job_step_now)(struct store_tx *c, int64_t verification_id,
			    int64_t now_ms, int *moved);
	int (*jobs_pending)(struct store_tx *c, int64_t *count);
	int (*stats)(struct store_tx *c, int64_t now, struct store_stats *out);
	int (*backup)(const char *path, const char *dest, int force,
		      struct store_backup_stats *stats, char *err,
		      size_t errlen);
	int (*restore)(const char *path, const char *src, char *err,
		       size_t errlen);
	int (*number_erase)(struct store_tx *c, const char *number,
			    const char *tag, struct store_erase_counts *out);
	int (*purge_batch)(struct store_tx *c, const struct store_purge *p,
			   struct store_purge_counts *out);
	/* 1: many nodes share the store (store_is_shared()). */
	int shared;
	int (*ping)(void);
	int (*meta_claim)(struct store_tx *c, const char *name,
			  const char *value, char *stored, size_t storedlen);
	int (*limit_take)(struct store_tx *c, const char *name, const char *key,
			  int count, int period_s, int64_t now_ms, int *wait_s);
	/* May be NULL: store.c runs verification_live, then limit_take. */
	int (*verification_live_take)(struct store_tx *c, int64_t key_id,
				      const char *number,
				      const struct store_bucket *b,
				      int64_t now_ms, struct vf_record *out,
				      int *wait_s);
	/*
	 * May be NULL: store.c runs verification_live (or
	 * verification_live_take), then verification_start.
	 */
	int (*verification_start_if_free)(struct store_tx *c,
					  struct vf_record *r,
					  const struct store_job_new *job,
					  const struct store_bucket *b,
					  int64_t now_ms,
					  struct vf_record *live, int *wait_s);
	/* May be NULL: the backend sends nothing ahead. */
	int (*verification_start_if_free_lead)(struct store_tx *c,
					       const struct vf_record *r,
					       const struct store_job_new *job,
					       const struct store_bucket *b,
					       int64_t now_ms);
	int (*prefix_stats_add)(struct store_tx *c, const char *prefix,
				int64_t scope, int64_t window_ms, int requests,
				int successes, int64_t *total_requests,
				int64_t *total_successes);
	int (*backoff_get)(struct store_tx *c, int64_t key_id, const char *tag,
			   struct resend_backoff *b);
	int (*backoff_put)(struct store_tx *c, int64_t key_id, const char *tag,
			   const struct resend_backoff *b);
	int (*backoff_sweep)(struct store_tx *c, int64_t before_ms,
			     int64_t now_ms, int64_t *deleted);
	int (*cluster_sweep)(struct store_tx *c, int64_t before_ms,
			     int64_t stats_before_ms, int64_t *deleted);
	/* NULL: the backend has no wake-ups from other processes. */
	int (*jobs_listen)(const char *path, void (*wake)(void));
	void (*jobs_unlisten)(void);
	/* Status callbacks (store.h). */
	int (*key_callback_get)(struct store_tx *c, int64_t key_id,
				struct key_callback *out);
	int (*key_callback_set)(struct store_tx *c, const char *api_key,
				const struct key_callback *cb);
	int (*callback_insert)(struct store_tx *c, const struct vf_callback *cb,
			       int64_t now);
	int (*callback_claim)(struct store_tx *c, int64_t now,
			      int64_t lease_until, const int64_t *skip,
			      struct vf_callback *out);
	int (*callback_done)(struct store_tx *c, const struct vf_callback *cb,
			     int64_t lease_until, int state, const char *error,
			     int64_t now);
	int (*callback_retry)(struct store_tx *c, int64_t id,
			      int64_t lease_until, int64_t due_ms,
			      const char *error);
	int (*callback_next_due)(struct store_tx *c, int64_t *due_ms);
};

/* The SQLite backend (store_sqlite*.c): a setting is a file path. */
extern const struct store_ops store_sqlite_ops;
/*
 * The PostgreSQL backend (store_pg*.c): a setting is a postgresql:// URI or
 * a libpq keyword string.
 */
extern const struct store_ops store_pg_ops;

/* The backend a setting chooses (store.c's table), without choosing it. */
const struct store_ops *store_backend_of(const char *setting);

#endif
