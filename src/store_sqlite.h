/*
 * Private to the SQLite backend (store_sqlite*.c): one connection and its
 * prepared statements, indexed by enum stmt_id, the helpers that step them,
 * and the operations that store_sqlite.c puts in the backend's table.
 */
#ifndef KV_STORE_SQLITE_H
#define KV_STORE_SQLITE_H

#include <sqlite3.h>

#include "store.h"

enum stmt_id {
	STMT_BEGIN,
	STMT_BEGIN_READ,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_KEY_INSERT,
	STMT_KEY_GET,
	STMT_KEY_REVOKE,
	STMT_KEY_LIST,
	STMT_VF_INSERT,
	STMT_VF_GET_LEGACY,
	STMT_VF_NEXT_ID,
	STMT_VF_LIVE,
	STMT_VF_UPDATE,
	STMT_CHECK_INSERT,
	STMT_CHECK_LIST,
	STMT_EVENT_INSERT,
	STMT_EVENT_LIST,
	STMT_VERIFIED_PUT,
	STMT_VERIFIED_GET,
	STMT_JOB_INSERT,
	STMT_JOBS_CANCEL,
	STMT_JOB_STEP_NOW,
	STMT_JOBS_PENDING,
	STMT_NUMBER_RECENT,
	STMT_BLOCK_GET,
	STMT_BLOCK_PUT,
	STMT_BLOCK_LIFT,
	STMT_BLOCK_LAST,
	STMT_BLOCK_LIST,
	STMT_FRAUD_RECENT,
	STMT_JOB_CLAIM,
	STMT_JOB_LEASE,
	STMT_JOB_DONE,
	STMT_JOB_RETRY,
	STMT_JOB_NEXT_DUE,
	STMT_VF_BY_ID,
	STMT_VF_BY_ID_KEY,
	STMT_CALL_GET,
	STMT_CALL_PUT,
	STMT_FRAUD_INSERT,
	STMT_KEY_VOICE_CONFIRM,
	STMT_KEY_MISSED_CALL,
	STMT_KEY_SET_MISSED_CALL,
	STMT_VF_MISSED,
	STMT_ORIGIN_ADD,
	STMT_ORIGIN_OF_KEY,
	STMT_ORIGIN_KNOWN,
	STMT_ORIGIN_LIST,
	STMT_TOKEN_USE,
	STMT_TOKEN_PURGE,
	STMT_TOKEN_USED,
	STMT_KEY_SET_OWNER,
	STMT_KEY_KIND,
	STMT_CONSOLE_FUNNEL,
	STMT_CONSOLE_MINUTES,
	STMT_CONSOLE_PREFIXES,
	STMT_CONSOLE_RECENT,
	STMT_CALL_LIST,
	STMT_APP_INSERT,
	STMT_APP_GET,
	STMT_APP_DELETE,
	STMT_APP_LIST,
	STMT_IDEM_GET,
	STMT_IDEM_PUT,
	STMT_IDEM_PURGE,
	STMT_KEY_CALLBACK_GET,
	STMT_KEY_CALLBACK_SET,
	STMT_CB_INSERT,
	STMT_CB_CLAIM,
	STMT_CB_LEASE,
	STMT_CB_DONE,
	STMT_CB_UNPARK,
	STMT_CB_RETRY,
	STMT_CB_NEXT_DUE,
	STMT_TPL_INSERT,
	STMT_TPL_UPDATE,
	STMT_TPL_UNDEFAULT,
	STMT_TPL_GET,
	STMT_TPL_DELETE,
	STMT_TPL_LIST,
	STMT_FRAG_INSERT,
	STMT_FRAG_UPDATE,
	STMT_FRAG_GET,
	STMT_FRAG_DELETE,
	STMT_FRAG_LIST,
	STMT_COUNT
};

/* The columns the templates' rows are read with (store_sqlite_templates.c). */
#define SQLITE_TPL_COLUMNS                                                     \
	"id, key_id, name, is_default, created_ms, updated_ms FROM templates"
#define SQLITE_FRAG_COLUMNS                                                    \
	"id, template_id, key_id, channel, locale, text, dlt_template_id, "    \
	"dlt_entity_id, created_ms, updated_ms FROM template_fragments"

/* The due time of a parked callback (store.h), as SQL: INT64_MAX. */
#define CALLBACK_PARKED "9223372036854775807"

/* The backend's handle: a connection and its statements. */
struct store_tx {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT_COUNT];
	int reader; /* 1 on an HTTP thread's reading connection */
};

/* Opens a connection with the project's pragmas (WAL, foreign keys...). */
int sqlite_open_raw(const char *path, sqlite3 **out, char *err, size_t errlen);

/* Steps a statement that returns no row and resets it; 0 or KV_E*. */
int sqlite_exec_stmt(struct store_tx *c, enum stmt_id id);
/* The same, naming the operation in the log line of a failure. */
int sqlite_run(struct store_tx *c, enum stmt_id id, const char *what);
/* Logs the connection's last error and maps it to KV_EBUSY, KV_EDUP or
 * KV_EDB. */
int sqlite_fail(struct store_tx *c, const char *what);
/* Finishes a single-row lookup: 0 found, KV_ENOTFOUND, or an error. */
int sqlite_row_done(struct store_tx *c, sqlite3_stmt *st, int rc,
		    const char *what);
/* Finishes a lookup that only asks whether a row exists: *found 1 or 0. */
int sqlite_exists_done(struct store_tx *c, sqlite3_stmt *st, const char *what,
		       int *found);
/* Binds a string that outlives the statement's step. */
void sqlite_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Copies a text column into out, cut to outlen - 1 bytes. */
void sqlite_get_text(sqlite3_stmt *st, int i, char *out, size_t outlen);
/* Copies a blob column of exactly len bytes, or zeroes out. */
void sqlite_get_blob(sqlite3_stmt *st, int i, unsigned char *out, size_t len);

/* The operations of struct store_ops (store.h has their contracts). */
int sqlite_migrate(const char *path, char *err, size_t errlen);
int sqlite_migrate_to(const char *path, int version, char *err, size_t errlen);
int sqlite_schema_version(void);
struct store_tx *sqlite_open(const char *path, char *err, size_t errlen);
void sqlite_close(struct store_tx *c);
/* After each of the writer's commits: empties the readers' key cache if a
 * key changed in it (store_sqlite_keys.c). */
void sqlite_key_cache_committed(void);
void sqlite_readers_init(const char *path);
struct store_tx *sqlite_reader(void);
void sqlite_readers_close(void);
void sqlite_read_begin(void);
void sqlite_read_end(void);
int sqlite_writer_start(const char *path, int batch_max, char *err,
			size_t errlen);
int sqlite_write(int (*fn)(struct store_tx *c, void *arg), void *arg);
void sqlite_writer_stop(void);
int sqlite_write_submit(struct store_write_op *op);
int sqlite_begin(struct store_tx *c);
int sqlite_commit(struct store_tx *c);
int sqlite_rollback(struct store_tx *c);
int sqlite_key_insert(struct store_tx *c, const struct key_info *k,
		      int64_t *id);
int sqlite_key_get(struct store_tx *c, const char *api_key,
		   struct key_info *out);
int sqlite_key_revoke(struct store_tx *c, const char *api_key, int64_t now_ms);
int sqlite_key_set_owner(struct store_tx *c, const char *api_key,
			 const char *owner);
int sqlite_keys_foreach(struct store_tx *c,
			int (*cb)(const struct key_info *k, void *arg),
			void *arg);
int sqlite_key_origin_add(struct store_tx *c, int64_t key_id,
			  const char *origin);
int sqlite_key_origin_allowed(struct store_tx *c, int64_t key_id,
			      const char *origin, int *listed);
int sqlite_origin_known(struct store_tx *c, const char *origin, int *known);
int sqlite_key_origins_foreach(struct store_tx *c, int64_t key_id,
			       void (*cb)(const char *origin, void *arg),
			       void *arg);
int sqlite_token_use(struct store_tx *c, const char *jti, int64_t exp_ms,
		     int64_t now_ms);
int sqlite_token_used(struct store_tx *c, const char *jti, int *used);
int sqlite_app_insert(struct store_tx *c, const struct app_info *a);
int sqlite_app_get(struct store_tx *c, const char *app_id,
		   struct app_info *out);
int sqlite_app_delete(struct store_tx *c, const char *app_id);
int sqlite_apps_foreach(struct store_tx *c,
			int (*cb)(const struct app_info *a, void *arg),
			void *arg);
int sqlite_idem_get(struct store_tx *c, int64_t key_id, const char *idem_key,
		    int64_t since_ms, struct idem_record *out);
int sqlite_idem_put(struct store_tx *c, const struct idem_record *r,
		    int64_t since_ms);
int sqlite_template_put(struct store_tx *c, const struct vf_template *t,
			int insert);
int sqlite_template_get(struct store_tx *c, int64_t key_id, const char *id,
			struct vf_template *out);
int sqlite_template_delete(struct store_tx *c, int64_t key_id, const char *id);
int sqlite_templates_foreach(struct store_tx *c, int64_t key_id,
			     int (*cb)(const struct vf_template *t, void *arg),
			     void *arg);
int sqlite_fragment_put(struct store_tx *c, const struct vf_fragment *f,
			int insert);
int sqlite_fragment_get(struct store_tx *c, int64_t key_id,
			const char *template_id, const char *id,
			struct vf_fragment *out);
int sqlite_fragment_delete(struct store_tx *c, int64_t key_id,
			   const char *template_id, const char *id);
int sqlite_fragments_foreach(struct store_tx *c, int64_t key_id,
			     const char *template_id,
			     int (*cb)(const struct vf_fragment *f, void *arg),
			     void *arg);
int sqlite_verification_next_id(struct store_tx *c, int64_t *id);
int sqlite_verification_insert(struct store_tx *c, struct vf_record *r);
int sqlite_verification_get(struct store_tx *c, const char *request_id,
			    int64_t key_id, struct vf_record *out);
int sqlite_verification_live(struct store_tx *c, int64_t key_id,
			     const char *number, struct vf_record *out);
int sqlite_verification_update(struct store_tx *c, const struct vf_record *r);
int sqlite_verification_finalize(struct store_tx *c, const struct vf_record *r,
				 int64_t now);
int sqlite_check_insert(struct store_tx *c, int64_t verification_id,
			const struct vf_check *ch);
int sqlite_checks_foreach(struct store_tx *c, int64_t verification_id,
			  int (*cb)(const struct vf_check *ch, void *arg),
			  void *arg);
int sqlite_event_insert(struct store_tx *c, int64_t verification_id,
			const struct vf_event *ev);
int sqlite_events_foreach(struct store_tx *c, int64_t verification_id,
			  int (*cb)(const struct vf_event *ev, void *arg),
			  void *arg);
int sqlite_verified_put(struct store_tx *c, int64_t key_id, const char *number,
			const struct vf_verified *vr);
int sqlite_verified_get(struct store_tx *c, int64_t key_id, const char *number,
			struct vf_verified *out);
int sqlite_call_get(struct store_tx *c, const char *sid, struct vf_call *out);
int sqlite_call_put(struct store_tx *c, const struct vf_call *cr, int64_t now);
int sqlite_fraud_insert(struct store_tx *c, const char *number,
			int64_t verification_id, int64_t now);
int sqlite_key_voice_confirm(struct store_tx *c, int64_t key_id, int *allowed);
int sqlite_key_missed_call(struct store_tx *c, int64_t key_id, int *on);
int sqlite_key_set_missed_call(struct store_tx *c, const char *api_key, int on);
int sqlite_verification_missed(struct store_tx *c, const char *number,
			       const char *did, struct vf_record *out);
int sqlite_block_get(struct store_tx *c, const char *prefix, int64_t key_id,
		     int64_t now, struct fraud_block *out);
int sqlite_block_put(struct store_tx *c, const struct fraud_block *b);
int sqlite_block_lift(struct store_tx *c, const char *prefix, int64_t now);
int sqlite_block_last(struct store_tx *c, const char *prefix, int64_t key_id,
		      struct fraud_block *out);
int sqlite_blocks_foreach(struct store_tx *c, int64_t now,
			  int (*cb)(const struct fraud_block *b, void *arg),
			  void *arg);
int sqlite_fraud_recent(struct store_tx *c, const char *prefix, int64_t key_id,
			int64_t since_ms, int64_t *count);
int sqlite_key_kind(struct store_tx *c, int64_t key_id, int *kind);
int sqlite_recent_numbers_foreach(struct store_tx *c, int64_t since_ms,
				  void (*cb)(const char *number, int64_t at_ms,
					     void *arg),
				  void *arg);
int sqlite_console_funnel(struct store_tx *c, int64_t since_ms,
			  struct store_funnel *out);
int sqlite_console_minutes(struct store_tx *c, int64_t since_ms,
			   void (*cb)(int64_t minute_ms, int state,
				      int64_t count, void *arg),
			   void *arg);
int sqlite_console_prefixes(struct store_tx *c, int64_t since_ms, int digits,
			    int limit,
			    void (*cb)(const char *prefix, int64_t requests,
				       int64_t verified, void *arg),
			    void *arg);
int sqlite_console_recent(struct store_tx *c, int limit,
			  void (*cb)(const struct store_recent *r, void *arg),
			  void *arg);
int sqlite_calls_foreach(struct store_tx *c, int64_t verification_id,
			 void (*cb)(const struct vf_call *cl,
				    int64_t created_ms, void *arg),
			 void *arg);
int sqlite_job_claim(struct store_tx *c, int64_t now, int64_t lease_until,
		     struct vf_job *out);
int sqlite_job_done(struct store_tx *c, int64_t id, int64_t lease_until,
		    int state, const char *error, int64_t now);
int sqlite_job_retry(struct store_tx *c, int64_t id, int64_t lease_until,
		     int64_t due_ms, const char *error);
int sqlite_job_next_due(struct store_tx *c, int64_t *due_ms);
int sqlite_verification_by_id(struct store_tx *c, int64_t id,
			      struct vf_record *out);
int sqlite_job_insert(struct store_tx *c, const char *kind,
		      int64_t verification_id, int step, int64_t due_ms);
int sqlite_jobs_cancel(struct store_tx *c, int64_t verification_id,
		       int64_t now_ms);
int sqlite_job_step_now(struct store_tx *c, int64_t verification_id,
			int64_t now_ms, int *moved);
int sqlite_jobs_pending(struct store_tx *c, int64_t *count);
int sqlite_stats(struct store_tx *c, int64_t now, struct store_stats *out);
int sqlite_backup(const char *path, const char *dest, int force,
		  struct store_backup_stats *stats, char *err, size_t errlen);
int sqlite_restore(const char *path, const char *src, char *err, size_t errlen);
int sqlite_number_erase(struct store_tx *c, const char *number, const char *tag,
			struct store_erase_counts *out);
int sqlite_purge_batch(struct store_tx *c, const struct store_purge *p,
		       struct store_purge_counts *out);

int sqlite_ping(void);
int sqlite_meta_claim(struct store_tx *c, const char *name, const char *value,
		      char *stored, size_t storedlen);
int sqlite_limit_take(struct store_tx *c, const char *name, const char *key,
		      int count, int period_s, int64_t now_ms, int *wait_s);
int sqlite_prefix_stats_add(struct store_tx *c, const char *prefix,
			    int64_t scope, int64_t window_ms, int requests,
			    int successes, int64_t *total_requests,
			    int64_t *total_successes);
int sqlite_backoff_get(struct store_tx *c, int64_t key_id, const char *tag,
		       struct resend_backoff *b);
int sqlite_backoff_put(struct store_tx *c, int64_t key_id, const char *tag,
		       const struct resend_backoff *b);
int sqlite_backoff_sweep(struct store_tx *c, int64_t before_ms, int64_t now_ms,
			 int64_t *deleted);
int sqlite_cluster_sweep(struct store_tx *c, int64_t before_ms,
			 int64_t stats_before_ms, int64_t *deleted);

/* Status callbacks (store_sqlite_callback.c). */
int sqlite_key_callback_get(struct store_tx *c, int64_t key_id,
			    struct key_callback *out);
int sqlite_key_callback_set(struct store_tx *c, const char *api_key,
			    const struct key_callback *cb);
int sqlite_callback_insert(struct store_tx *c, const struct vf_callback *cb,
			   int64_t now);
int sqlite_callback_claim(struct store_tx *c, int64_t now, int64_t lease_until,
			  const int64_t *skip, struct vf_callback *out);
int sqlite_callback_done(struct store_tx *c, const struct vf_callback *cb,
			 int64_t lease_until, int state, const char *error,
			 int64_t now);
int sqlite_callback_retry(struct store_tx *c, int64_t id, int64_t lease_until,
			  int64_t due_ms, const char *error);
int sqlite_callback_next_due(struct store_tx *c, int64_t *due_ms);

#endif
