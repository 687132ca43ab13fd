/*
 * Private to the PostgreSQL backend (store_pg*.c): a libpq connection, the
 * helpers that run SQL on it, and the operations that store_pg.c puts in the
 * backend's table.  A setting that starts with postgresql:// or postgres://
 * (or a libpq keyword string such as "host=... dbname=...") chooses it.
 *
 * Statements are written as static SQL strings with $1, $2... parameters and
 * run through pg_query()/pg_run(): each connection prepares a statement the
 * first time it runs it (the string's address names it) and reuses it
 * afterwards, so the SQL sits next to the code that runs it, as with
 * SQLite, and nothing is parsed twice.
 */
#ifndef KV_STORE_PG_H
#define KV_STORE_PG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store.h"
#include "store_cache.h"
#include "store_vf_sql.h"

/*
 * The channel the job runners LISTEN on, as an SQL literal.  A transaction
 * that notifies it several times sends one notification (identical
 * payloads collapse).
 */
#define PG_JOBS_CHANNEL "'kookooverify_jobs'"
/*
 * A notification of the job runners when `cond` holds (a statement's
 * parameter bound to store_jobs_wake_others(), and whatever else), else
 * none: NULL.
 */
#define PG_NOTIFY_WHEN(cond)                                                   \
	"CASE WHEN " cond " THEN (SELECT 1 FROM pg_notify(" PG_JOBS_CHANNEL    \
	", '')) END"

/*
 * A pending job or callback, written so that the partial index of every
 * pending row (jobs_pending, callbacks_pending: `WHERE state = 0`) cannot
 * serve the statement.  Only the claims and the next due time should
 * scan those indexes.  A statement on one row or one verification's rows
 * that also says `state = 0` matches their predicate, and with
 * statistics from when a table had few pending rows the planner scanned
 * the whole index for it: at 20,000 pending (a receiver down, a backlog
 * of SMS) 1.7 ms for a job's cancel and 6 ms for a callback's end,
 * where the row's own index takes 0.1 ms.
 */
#define PG_PENDING "state + 0 = 0"
/* A verification's ($1) pending jobs or callbacks. */
#define PG_PENDING_OF "verification_id = $1 AND " PG_PENDING

/*
 * A token bucket's upsert (store_limit_take()), as SQL with the parameters
 * $1-$5 that pg_bucket_bind() binds, `cond` a WHERE clause on whether to
 * try at all.  It returns a row when it took the token; when it did not,
 * pg_bucket_wait() says how long until one.  The conflict's WHERE still
 * locks the row, so a node racing on the same bucket waits and then
 * judges on the new tat (the time the bucket is full again).
 * PG_BUCKET_TAKE_AT is the same with the five parameters elsewhere.
 */
#define PG_BUCKET_TAKE_AT(name, key, now, step, tolerance, cond)                  \
	"INSERT INTO limits AS l (name, key, tat_us) SELECT " name                \
	"::text, " key "::text, " now "::bigint + " step "::bigint " cond         \
	" ON CONFLICT (name, key) DO UPDATE SET tat_us = greatest(l.tat_us, " now \
	"::bigint) + " step "::bigint WHERE greatest(l.tat_us, " now              \
	"::bigint) - " now "::bigint <= " tolerance "::bigint "                   \
	"RETURNING l.tat_us"
#define PG_BUCKET_TAKE(cond)                                                   \
	PG_BUCKET_TAKE_AT("$1", "$2", "$3", "$4", "$5", cond)

/*
 * A reader's lookup by request id (store_pg_search.c) brings the
 * verification's checks and events along (VF_LISTS, two JSON arrays in the
 * columns VF_CHECKS_FROM_END and VF_EVENTS_FROM_END counted back from the
 * last), which a Search goes on to list: one round trip for the whole of
 * it (the reader's stash).
 */
#define VF_LISTS                                                               \
	"(SELECT coalesce(json_agg(json_build_array(c.created_ms, c.code, "    \
	"c.valid, c.ip) ORDER BY c.id), '[]') FROM checks c WHERE "            \
	"c.verification_id = verifications.id), (SELECT "                      \
	"coalesce(json_agg(json_build_array(e.created_ms, e.type, e.channel, " \
	"e.provider_id, e.result, e.detail, e.encoding, e.segments) ORDER BY " \
	"e.id), '[]') FROM "                                                   \
	"events e WHERE e.verification_id = verifications.id)"
#define VF_CHECKS_FROM_END 2
#define VF_EVENTS_FROM_END 1

/*
 * The id a new verification takes, drawn from the id column's sequence
 * (cluster-safe: a sequence never hands a number out twice).
 */
#define VF_NEXT_ID "nextval(pg_get_serial_sequence('verifications', 'id'))"

/* Statements one connection prepares, at most (they are all static). */
#define PG_STMT_MAX 160
/* Parameters of one statement, at most. */
#define PG_PARAMS_MAX 48
/* Statements deferred to the next one (pg_defer()), at most. */
#define PG_DEFER_MAX 2
/* The most ops of a writer's group whose first statements go ahead. */
#define PG_LEADS_MAX 64

/*
 * A query's result held by several readers at once (a batch of lookups,
 * each reader's stash one of its rows); the last to let go frees it.
 */
struct pg_shared_res {
	PGresult *res;
	_Atomic int refs;
};

/* The backend's handle: one connection and what it has prepared. */
struct store_tx {
	PGconn *conn;
	/*
	 * 1 while this is a writer's connection inside its group
	 * transaction: reads of rows the write goes on to change lock them
	 * (SELECT ... FOR UPDATE), so racing writes on other nodes wait
	 * instead of deciding on a stale row (pg_locking()).
	 */
	int in_write;
	/* 1 once the connection was found lost; its owner reconnects. */
	int broken;
	/*
	 * 1 once a statement lost a race with another session (unique
	 * violation, serialization failure, deadlock; not a timeout): the
	 * writer runs that write again alone.  The writer clears it.
	 */
	int raced;
	/*
	 * 1 on a reader's connection (autocommit, reads only): a SELECT that
	 * finds it lost runs again on a new one (pg_reader_reopen()).
	 */
	int reader;
	/*
	 * A verification id the last live-verification lookup on this
	 * connection drew (0: none), for pg_verification_next_id().
	 */
	int64_t next_id;
	/*
	 * A reader's last lookup of a verification by request id, with its
	 * checks and events as JSON (pg_verification_get()), so that a
	 * Search's lists of them cost no statement of their own; NULL when
	 * none.  The result may be a batch's, which other readers' stashes
	 * share.  Any other statement on the connection, and the end of the
	 * call's reads, drop it (pg_stash_clear()).
	 */
	struct pg_shared_res *stash; /* its row stash_row */
	int stash_row;
	int64_t stash_id;
	/*
	 * Statements without parameters or rows (a writer's BEGIN, its
	 * SET LOCAL) that the next statement on the connection sends ahead
	 * of itself, in one round trip (pg_defer()).  defer_failed: one of
	 * them did not succeed (the connection was lost before it ran), so
	 * nothing after it ran either.
	 */
	const char *deferred[PG_DEFER_MAX];
	int ndeferred;
	int defer_failed;
	/*
	 * The writer's group sends the first statement of each op that has
	 * one (its lead) ahead, all in one pipeline with the BEGIN, and
	 * keeps their results here, in order: the op's own run of that
	 * statement then takes its result instead of a round trip
	 * (pg_lead(), store_pg_writer.c).  leading: 1 while leads are sent.
	 */
	int leading;
	/* 1 while the op whose lead is next runs, until it takes it. */
	int lead_open;
	int nleads, lead_next;
	const char *lead_sql[PG_LEADS_MAX];
	PGresult *lead_res[PG_LEADS_MAX];
	/* The deferred statements each lead sent ahead of itself. */
	int lead_deferred[PG_LEADS_MAX];
	int nprepared;
	const char *prepared[PG_STMT_MAX]; /* SQL strings, by statement no. */
};

/*
 * A statement's parameters, built on the caller's stack: texts are
 * referenced (they must live until the statement has run), numbers are
 * printed into the struct, bytea goes in binary.
 */
struct pg_params {
	int n;
	const char *values[PG_PARAMS_MAX];
	int lengths[PG_PARAMS_MAX];
	int formats[PG_PARAMS_MAX];
	char numbers[PG_PARAMS_MAX][24];
};

void pg_params_init(struct pg_params *p);
void pg_param_int(struct pg_params *p, int64_t v);
/* NULL and "" both go as ''; the schema has no NULL texts. */
void pg_param_text(struct pg_params *p, const char *s);
void pg_param_bytea(struct pg_params *p, const unsigned char *b, size_t len);

/*
 * Runs `sql` (a static string) with p (may be NULL) on c and returns its
 * result (rows or none) in *res, which the caller frees with PQclear().
 * On failure logs `what` with the server's message and returns the error
 * pg_fail() maps, with *res NULL.
 */
int pg_query(struct store_tx *c, const char *sql, const struct pg_params *p,
	     PGresult **res, const char *what);
/* pg_query() for a statement whose rows are not wanted. */
int pg_run(struct store_tx *c, const char *sql, const struct pg_params *p,
	   const char *what);
/*
 * pg_query() of a statement that returns at most one row: 0 with *res set
 * when it did, KV_ENOTFOUND (and *res NULL) when none.
 */
int pg_row(struct store_tx *c, const char *sql, const struct pg_params *p,
	   PGresult **res, const char *what);
/* pg_row() of a statement whose row is one integer, into *out. */
int pg_int_row(struct store_tx *c, const char *sql, const struct pg_params *p,
	       int64_t *out, const char *what);
/* Rows a statement changed (UPDATE/DELETE/INSERT without RETURNING). */
int64_t pg_changed(PGresult *res);
/* pg_run() of a statement that must change a row: KV_ENOTFOUND when it
 * changed none. */
int pg_run_found(struct store_tx *c, const char *sql, const struct pg_params *p,
		 const char *what);

/*
 * Maps a failed result (or a NULL one: the connection failed) to KV_E*:
 * unique violation KV_EDUP; serialization failure, deadlock, lock or
 * statement timeout KV_EBUSY; a lost connection KV_EDB with c->broken set;
 * anything else KV_EDB.
 */
int pg_fail(struct store_tx *c, PGresult *res, const char *what);

/* Column readers of a text-format result; NULL reads as 0 or "". */
int64_t pg_get_int(PGresult *res, int row, int col);
void pg_get_text(PGresult *res, int row, int col, char *out, size_t outlen);
/* Copies a bytea column of exactly len bytes, or zeroes out. */
void pg_get_bytea(PGresult *res, int row, int col, unsigned char *out,
		  size_t len);
/* A bytea column of at most cap bytes; returns its length, 0 if longer. */
size_t pg_get_bytea_var(PGresult *res, int row, int col, unsigned char *out,
			size_t cap);

/*
 * The statement to use for a read that the caller may go on to write from:
 * `locking` (SELECT ... FOR UPDATE) on a writer's connection, `plain`
 * elsewhere.
 */
const char *pg_locking(const struct store_tx *c, const char *plain,
		       const char *locking);

/* Lets go of one reference of sr (NULL: none); the last frees it. */
void pg_shared_release(struct pg_shared_res *sr);

/*
 * Keeps row `row` of the shared result sr (one reference of it, which c
 * now holds) as c's stash for verification `id`; drops the stash c had.
 */
void pg_stash_set(struct store_tx *c, struct pg_shared_res *sr, int row,
		  int64_t id);

/* Drops c's stash (struct store_tx), if any. */
void pg_stash_clear(struct store_tx *c);

/*
 * While the writer sends its group's leads (c->leading): sends what is
 * deferred (pg_defer()), then sql with p, in the pipeline; the result is
 * taken by the next run of sql on c.  0; KV_ENOTFOUND when c has not
 * prepared sql yet (nothing sent: the op runs it itself); KV_EDB when it
 * could not be sent.
 */
int pg_lead(struct store_tx *c, const char *sql, const struct pg_params *p);

/* Drops the leads' results not taken. */
void pg_leads_clear(struct store_tx *c);

/*
 * The next result of a pipeline, past the NULL that ends each statement's
 * results; NULL when the connection failed and none will come.
 */
PGresult *pg_pipeline_next(PGconn *conn);

/*
 * A statement's time limit in every session (the session settings of
 * pg_connect(), and again after a migration lifted it).
 */
#define PG_STATEMENT_TIMEOUT "'10s'"

/* Opens a connection with the session settings the backend relies on. */
struct store_tx *pg_connect(const char *conninfo, char *err, size_t errlen);

/*
 * The schema version recorded in c's database (0 when it has none yet), or
 * KV_EDB with a message in err.
 */
int pg_schema_read(struct store_tx *c, char *err, size_t errlen);

/*
 * Rows every call reads and that almost never change (API keys, blocks)
 * are cached by each node's readers (store_cache.h).  A change of one is
 * announced on PG_CACHE_CHANNEL, in the transaction that makes it
 * (pg_cache_changed()); every node's listener then empties its caches
 * (pg_caches_clear()).
 */
#define PG_CACHE_CHANNEL "kookooverify_cache"

void pg_key_cache_clear(void);
void pg_block_cache_clear(void);
void pg_caches_clear(void);
/*
 * After a statement that changed a cached row (rc its result): announces
 * the change on PG_CACHE_CHANNEL and empties this node's caches.  Returns
 * rc, or the announcement's error.
 */
int pg_cache_changed(struct store_tx *c, int rc);

/* The operations of struct store_ops (store.h has their contracts). */
int pg_migrate(const char *path, char *err, size_t errlen);
struct store_tx *pg_open_migrated(const char *path, char *err, size_t errlen);
int pg_schema_version(void);
struct store_tx *pg_open(const char *path, char *err, size_t errlen);
void pg_close(struct store_tx *c);
/*
 * Replaces the lost connection of reader c by a new one in place (at most
 * once per retry delay); 0, or KV_EDB while the server cannot be reached.
 */
int pg_reader_reopen(struct store_tx *c);
void pg_readers_init(const char *path);
struct store_tx *pg_reader(void);
void pg_readers_close(void);
void pg_read_begin(void);
void pg_read_end(void);
int pg_writer_start(const char *path, int batch_max, char *err, size_t errlen);
int pg_write(int (*fn)(struct store_tx *c, void *arg), void *arg);
void pg_writer_stop(void);
int pg_write_submit(struct store_write_op *op);
int pg_begin(struct store_tx *c);
void pg_defer(struct store_tx *c, const char *sql);
int pg_commit(struct store_tx *c);
int pg_rollback(struct store_tx *c);
int pg_key_insert(struct store_tx *c, const struct key_info *k, int64_t *id);
int pg_key_get(struct store_tx *c, const char *api_key, struct key_info *out);
int pg_key_revoke(struct store_tx *c, const char *api_key, int64_t now_ms);
int pg_key_set_owner(struct store_tx *c, const char *api_key,
		     const char *owner);
int pg_keys_foreach(struct store_tx *c,
		    int (*cb)(const struct key_info *k, void *arg), void *arg);
int pg_key_origin_add(struct store_tx *c, int64_t key_id, const char *origin);
int pg_key_origin_allowed(struct store_tx *c, int64_t key_id,
			  const char *origin, int *listed);
int pg_origin_known(struct store_tx *c, const char *origin, int *known);
int pg_key_origins_foreach(struct store_tx *c, int64_t key_id,
			   void (*cb)(const char *origin, void *arg),
			   void *arg);
int pg_token_use(struct store_tx *c, const char *jti, int64_t exp_ms,
		 int64_t now_ms);
int pg_token_used(struct store_tx *c, const char *jti, int *used);
int pg_app_insert(struct store_tx *c, const struct app_info *a);
int pg_app_get(struct store_tx *c, const char *app_id, struct app_info *out);
int pg_app_delete(struct store_tx *c, const char *app_id);
int pg_apps_foreach(struct store_tx *c,
		    int (*cb)(const struct app_info *a, void *arg), void *arg);
int pg_idem_get(struct store_tx *c, int64_t key_id, const char *idem_key,
		int64_t since_ms, struct idem_record *out);
int pg_idem_put(struct store_tx *c, const struct idem_record *r,
		int64_t since_ms);
int pg_template_put(struct store_tx *c, const struct vf_template *t,
		    int insert);
int pg_template_get(struct store_tx *c, int64_t key_id, const char *id,
		    struct vf_template *out);
int pg_template_delete(struct store_tx *c, int64_t key_id, const char *id);
int pg_templates_foreach(struct store_tx *c, int64_t key_id,
			 int (*cb)(const struct vf_template *t, void *arg),
			 void *arg);
int pg_fragment_put(struct store_tx *c, const struct vf_fragment *f,
		    int insert);
int pg_fragment_get(struct store_tx *c, int64_t key_id, const char *template_id,
		    const char *id, struct vf_fragment *out);
int pg_fragment_delete(struct store_tx *c, int64_t key_id,
		       const char *template_id, const char *id);
int pg_fragments_foreach(struct store_tx *c, int64_t key_id,
			 const char *template_id,
			 int (*cb)(const struct vf_fragment *f, void *arg),
			 void *arg);
int pg_verification_next_id(struct store_tx *c, int64_t *id);
int pg_verification_insert(struct store_tx *c, struct vf_record *r);
int pg_verification_start(struct store_tx *c, struct vf_record *r,
			  const struct store_job_new *job);
int pg_verification_live_take(struct store_tx *c, int64_t key_id,
			      const char *number, const struct store_bucket *b,
			      int64_t now_ms, struct vf_record *out,
			      int *wait_s);
/* pg_verification_live_take()'s bucket: see PG_BUCKET_TAKE. */
void pg_bucket_bind(struct pg_params *p, const struct store_bucket *b,
		    int64_t now_ms);
int pg_bucket_wait(struct store_tx *c, const struct store_bucket *b,
		   int64_t now_ms, int *wait_s);
int pg_verification_get(struct store_tx *c, const char *request_id,
			int64_t key_id, struct vf_record *out);
/* A row of VF_COLUMNS (first) into r. */
void pg_vf_from_row(PGresult *res, int row, struct vf_record *r);
/*
 * pg_verification_get() on a reader's connection for a request id that
 * decoded to row id `id`: the lookup, sent with other threads' lookups
 * (store_pg_search.c); on success c's stash holds the row with its lists.
 */
int pg_verification_get_batched(struct store_tx *c, const char *request_id,
				int64_t id, int64_t key_id,
				struct vf_record *out);
int pg_verification_live(struct store_tx *c, int64_t key_id, const char *number,
			 struct vf_record *out);
/*
 * A reader's plain live lookup, sent with other threads' (store_pg_search.c):
 * *live_id the live verification's id (0 without one), *next_id the id
 * drawn for a new one (pg_verification_next_id()).  0 or KV_E*.
 */
int pg_verification_live_batched(struct store_tx *c, int64_t key_id,
				 const char *number, int64_t *live_id,
				 int64_t *next_id);
int pg_verification_start_if_free(struct store_tx *c, struct vf_record *r,
				  const struct store_job_new *job,
				  const struct store_bucket *b, int64_t at_ms,
				  struct vf_record *live, int *wait_s);
int pg_verification_start_if_free_lead(struct store_tx *c,
				       const struct vf_record *r,
				       const struct store_job_new *job,
				       const struct store_bucket *b,
				       int64_t at_ms);
int pg_verification_update(struct store_tx *c, const struct vf_record *r);
int pg_verification_finalize(struct store_tx *c, const struct vf_record *r,
			     int64_t now);
int pg_check_insert(struct store_tx *c, int64_t verification_id,
		    const struct vf_check *ch);
int pg_checks_foreach(struct store_tx *c, int64_t verification_id,
		      int (*cb)(const struct vf_check *ch, void *arg),
		      void *arg);
int pg_event_insert(struct store_tx *c, int64_t verification_id,
		    const struct vf_event *ev);
int pg_events_foreach(struct store_tx *c, int64_t verification_id,
		      int (*cb)(const struct vf_event *ev, void *arg),
		      void *arg);
int pg_verified_put(struct store_tx *c, int64_t key_id, const char *number,
		    const struct vf_verified *vr);
int pg_verified_get(struct store_tx *c, int64_t key_id, const char *number,
		    struct vf_verified *out);
int pg_call_get(struct store_tx *c, const char *sid, struct vf_call *out);
int pg_call_put(struct store_tx *c, const struct vf_call *cr, int64_t now);
int pg_fraud_insert(struct store_tx *c, const char *number,
		    int64_t verification_id, int64_t now);
int pg_key_voice_confirm(struct store_tx *c, int64_t key_id, int *allowed);
int pg_key_missed_call(struct store_tx *c, int64_t key_id, int *on);
int pg_key_set_missed_call(struct store_tx *c, const char *api_key, int on);
int pg_verification_missed(struct store_tx *c, const char *number,
			   const char *did, struct vf_record *out);
int pg_block_get(struct store_tx *c, const char *prefix, int64_t key_id,
		 int64_t now, struct fraud_block *out);
int pg_block_put(struct store_tx *c, const struct fraud_block *b);
int pg_block_lift(struct store_tx *c, const char *prefix, int64_t now);
int pg_block_last(struct store_tx *c, const char *prefix, int64_t key_id,
		  struct fraud_block *out);
int pg_blocks_foreach(struct store_tx *c, int64_t now,
		      int (*cb)(const struct fraud_block *b, void *arg),
		      void *arg);
int pg_fraud_recent(struct store_tx *c, const char *prefix, int64_t key_id,
		    int64_t since_ms, int64_t *count);
int pg_key_kind(struct store_tx *c, int64_t key_id, int *kind);
int pg_console_funnel(struct store_tx *c, int64_t since_ms,
		      struct store_funnel *out);
int pg_console_minutes(struct store_tx *c, int64_t since_ms,
		       void (*cb)(int64_t minute_ms, int state, int64_t count,
				  void *arg),
		       void *arg);
int pg_console_prefixes(struct store_tx *c, int64_t since_ms, int digits,
			int limit,
			void (*cb)(const char *prefix, int64_t requests,
				   int64_t verified, void *arg),
			void *arg);
int pg_console_recent(struct store_tx *c, int limit,
		      void (*cb)(const struct store_recent *r, void *arg),
		      void *arg);
int pg_calls_foreach(struct store_tx *c, int64_t verification_id,
		     void (*cb)(const struct vf_call *cl, int64_t created_ms,
				void *arg),
		     void *arg);
int pg_recent_numbers_foreach(struct store_tx *c, int64_t since_ms,
			      void (*cb)(const char *number, int64_t at_ms,
					 void *arg),
			      void *arg);
int pg_job_claim(struct store_tx *c, int64_t now, int64_t lease_until,
		 struct vf_job *out);
int pg_job_done(struct store_tx *c, int64_t id, int64_t lease_until, int state,
		const char *error, int64_t now);
int pg_job_retry(struct store_tx *c, int64_t id, int64_t lease_until,
		 int64_t due_ms, const char *error);
int pg_job_next_due(struct store_tx *c, int64_t *due_ms);
int pg_verification_by_id(struct store_tx *c, int64_t id,
			  struct vf_record *out);
int pg_job_insert(struct store_tx *c, const char *kind, int64_t verification_id,
		  int step, int64_t due_ms);
int pg_jobs_cancel(struct store_tx *c, int64_t verification_id, int64_t now_ms);
int pg_job_step_now(struct store_tx *c, int64_t verification_id, int64_t now_ms,
		    int *moved);
int pg_jobs_pending(struct store_tx *c, int64_t *count);
int pg_stats(struct store_tx *c, int64_t now, struct store_stats *out);
int pg_backup(const char *path, const char *dest, int force,
	      struct store_backup_stats *stats, char *err, size_t errlen);
int pg_restore(const char *path, const char *src, char *err, size_t errlen);
int pg_number_erase(struct store_tx *c, const char *number, const char *tag,
		    struct store_erase_counts *out);
int pg_purge_batch(struct store_tx *c, const struct store_purge *p,
		   struct store_purge_counts *out);

int pg_ping(void);
int pg_meta_claim(struct store_tx *c, const char *name, const char *value,
		  char *stored, size_t storedlen);
int pg_limit_take(struct store_tx *c, const char *name, const char *key,
		  int count, int period_s, int64_t now_ms, int *wait_s);
int pg_prefix_stats_add(struct store_tx *c, const char *prefix, int64_t scope,
			int64_t window_ms, int requests, int successes,
			int64_t *total_requests, int64_t *total_successes);
int pg_backoff_get(struct store_tx *c, int64_t key_id, const char *tag,
		   struct resend_backoff *b);
int pg_backoff_put(struct store_tx *c, int64_t key_id, const char *tag,
		   const struct resend_backoff *b);
int pg_backoff_sweep(struct store_tx *c, int64_t before_ms, int64_t now_ms,
		     int64_t *deleted);
int pg_cluster_sweep(struct store_tx *c, int64_t before_ms,
		     int64_t stats_before_ms, int64_t *deleted);
int pg_jobs_listen(const char *path, void (*wake)(void));
void pg_jobs_unlisten(void);

/* Status callbacks (store_pg_callback.c). */
int pg_key_callback_get(struct store_tx *c, int64_t key_id,
			struct key_callback *out);
int pg_key_callback_set(struct store_tx *c, const char *api_key,
			const struct key_callback *cb);
int pg_callback_insert(struct store_tx *c, const struct vf_callback *cb,
		       int64_t now);
int pg_callback_claim(struct store_tx *c, int64_t now, int64_t lease_until,
		      const int64_t *skip, struct vf_callback *out);
int pg_callback_done(struct store_tx *c, const struct vf_callback *cb,
		     int64_t lease_until, int state, const char *error,
		     int64_t now);
int pg_callback_retry(struct store_tx *c, int64_t id, int64_t lease_until,
		      int64_t due_ms, const char *error);
int pg_callback_next_due(struct store_tx *c, int64_t *due_ms);

#endif
