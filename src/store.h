/*
 * The store: every read and write of the domain's records (model.h), named
 * in domain terms, behind one interface.  A backend (SQLite today, in
 * store_sqlite*.c) fills a table of operations (store_backend.h); the setting
 * handed to store_migrate(), store_open(), store_readers_init() and
 * store_writer_start() chooses it at start, so a caller never knows which
 * one runs and a new backend is new files plus one line in store.c.
 *
 * struct store_tx is the backend's handle of one unit of work: a thread's
 * read connection, the writer's open transaction, or a connection of the
 * CLI's own.  What it holds is the backend's business.
 */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct store_tx;

/*
 * Initialises every backend's library.  Once per process, before any other
 * thread starts and before any other store call.
 */
void store_library_init(void);

/*
 * Applies every pending migration to the store that `path` names (for
 * SQLite a file, created with mode 0600).  Returns 0 or KV_EDB with a message in err.
 */
int store_migrate(const char *path, char *err, size_t errlen);

/*
 * store_migrate() that stops at schema version `version` (for operators
 * who upgrade in steps, and for tests that need an old schema).  KV_EINVAL
 * when the backend cannot or the version is not one of the code's;
 * KV_EDB when the store is already past it or a migration failed.
 */
int store_migrate_to(const char *path, int version, char *err, size_t errlen);

/* What store_copy() copied: each table and its rows, in copy order. */
#define STORE_COPY_TABLES_MAX 24
struct store_copy_counts {
	int n;
	struct {
		const char *name; /* static */
		int64_t rows;
	} tables[STORE_COPY_TABLES_MAX];
};

/*
 * Copies the SQLite store `from` (stopped) into the PostgreSQL database
 * `to`, which it migrates first and which must hold no row: every table in
 * key order, in one transaction on the target, the identity sequences set
 * past every id the source handed out, each table's rows counted on both
 * sides.  KV_EINVAL (nothing copied) when `from` is not a SQLite file at
 * this program's schema version, `to` not PostgreSQL, or the target not
 * empty; KV_EDB when a store failed.  err says why either way.
 */
int store_copy(const char *from, const char *to, struct store_copy_counts *out,
	       char *err, size_t errlen);

/* Schema version the code expects; `PRAGMA user_version` after migrate. */
int store_schema_version(void);

/*
 * When the writer may acknowledge a write, for a backend whose own process
 * decides it (the `db_synchronous` setting).  SQLite: NORMAL commits to the
 * WAL and syncs it at checkpoints, so a power loss (not a crash of the
 * process) can lose the last acknowledged writes; FULL syncs the WAL at
 * every commit and loses none.  Connections opened afterwards take it; call
 * it once at start, before any other thread.  PostgreSQL leaves it to the
 * server's synchronous_commit.
 */
enum store_sync { STORE_SYNC_NORMAL, STORE_SYNC_FULL };
void store_sync_set(enum store_sync level);
enum store_sync store_sync_get(void);

/*
 * Whether the job runners of a shared store's other nodes must hear of a
 * job this node stores that is due now.  This node's own runner is woken
 * directly once the write commits; `need`, set by it (NULL: always), says
 * whether it could not start the job at once, none of its workers being
 * idle.  Waking the others for every job cost a cluster of three nodes
 * about 21 empty claims a verification (docs/SCALING.md).  A backend with
 * no other nodes ignores it.
 */
void store_jobs_wake_others_set(int (*need)(void));
int store_jobs_wake_others(void);

/*
 * Opens a connection and prepares its statements.  The schema must be
 * current.  The caller frees it with store_close().  NULL on failure, with a
 * message in err.
 */
struct store_tx *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store_tx *c);

/*
 * store_migrate(), then store_open(): a connection to a store at the
 * current schema.  PostgreSQL does both on one session, since each costs
 * the database server a process; the admin commands and `serve` start
 * with it.
 */
struct store_tx *store_open_migrated(const char *path, char *err,
				     size_t errlen);

/*
 * Readers: store_reader() returns the calling thread's read connection, opened
 * on first use and closed by store_readers_close().  NULL if it cannot open.
 */
void store_readers_init(const char *path);
struct store_tx *store_reader(void);
void store_readers_close(void);

/*
 * Groups the calling thread's reads into one read transaction (one
 * snapshot, one set of WAL locks instead of one per statement) until
 * store_read_end().  store_write() ends it first, so a thread never holds an old
 * snapshot while it waits for the writer.  Both are no-ops when nothing is
 * open.
 */
void store_read_begin(void);
void store_read_end(void);

/*
 * The writer thread.  store_write() runs fn(conn, arg) on the writer's
 * connection inside the current group transaction, and returns once that
 * transaction is durable (committed to the WAL): fn's return value, or an
 * error if the commit failed.  fn may run more than once (a failed group is
 * replayed op by op), so it must start from its inputs each time.  fn may
 * return KV_ENOTFOUND only before it has written anything; any other
 * non-zero return undoes everything fn wrote.
 */
int store_writer_start(const char *path, int batch_max, char *err,
		       size_t errlen);
int store_write(int (*fn)(struct store_tx *c, void *arg), void *arg);
void store_writer_stop(void);

/*
 * store_write() without the wait.  The caller fills fn, arg, done and
 * done_arg; store_write_submit() queues the op and returns at once.  The
 * writer runs fn as store_write() does and, once rc holds what store_write()
 * would have returned, calls done(op) on the writer thread: done must be
 * quick and must not block (it hands the result on: posts a semaphore,
 * resumes a connection).  The op and arg stay the caller's and must stay
 * valid until done is called; the writer does not touch op after done.
 * Returns 0, or KV_EDB when the writer is not running (done is not
 * called).  The caller must not hold a read transaction (store_read_end()).
 */
struct store_write_op {
	int (*fn)(struct store_tx *c, void *arg);
	/*
	 * May be NULL.  Sends fn's first statement ahead, so that a writer
	 * can send those of a whole group in one round trip (PostgreSQL):
	 * 0 when sent, KV_ENOTFOUND when there is none to send.  fn then
	 * runs as usual and its first statement takes the result.
	 */
	int (*lead)(struct store_tx *c, void *arg);
	void *arg;
	void (*done)(struct store_write_op *op);
	void *done_arg;
	int rc;
	struct store_write_op *next; /* the writer's queue */
};

int store_write_submit(struct store_write_op *op);

/* Transactions for the CLI, which writes on its own connection. */
int store_begin(struct store_tx *c);
int store_commit(struct store_tx *c);
int store_rollback(struct store_tx *c);

/* API keys. */
/* Stores a new key; *id (may be NULL) receives its id. */
int store_key_insert(struct store_tx *c, const struct key_info *k, int64_t *id);
int store_key_get(struct store_tx *c, const char *api_key,
		  struct key_info *out);
int store_key_revoke(struct store_tx *c, const char *api_key, int64_t now_ms);
/*
 * Makes the active secret key `owner` the owner of publishable key
 * `api_key`.  KV_ENOTFOUND when either is not such a key.
 */
int store_key_set_owner(struct store_tx *c, const char *api_key,
			const char *owner);
int store_keys_foreach(struct store_tx *c,
		       int (*cb)(const struct key_info *k, void *arg),
		       void *arg);

/*
 * Origins ("https://shop.example") a publishable key may be used from.
 * store_key_origin_allowed: *listed 1 if listed for the key, 0 if not;
 * store_origin_known: *known 1 if any active key lists it (CORS preflight).
 */
int store_key_origin_add(struct store_tx *c, int64_t key_id,
			 const char *origin);
int store_key_origin_allowed(struct store_tx *c, int64_t key_id,
			     const char *origin, int *listed);
int store_origin_known(struct store_tx *c, const char *origin, int *known);
int store_key_origins_foreach(struct store_tx *c, int64_t key_id,
			      void (*cb)(const char *origin, void *arg),
			      void *arg);

/*
 * Records the single use of verification token `jti` (kept until exp_ms,
 * and expired records are purged on the way).  KV_EDUP when it was used.
 */
int store_token_use(struct store_tx *c, const char *jti, int64_t exp_ms,
		    int64_t now_ms);
/* Whether token `jti` was used once (single use): *used 1 or 0. */
int store_token_used(struct store_tx *c, const char *jti, int *used);

/*
 * Applications (Verify v2 JWTs).  insert: KV_EDUP when the id exists;
 * get: the application joined with its key (KV_ENOTFOUND); delete:
 * KV_ENOTFOUND when none.
 */
int store_app_insert(struct store_tx *c, const struct app_info *a);
int store_app_get(struct store_tx *c, const char *app_id, struct app_info *out);
int store_app_delete(struct store_tx *c, const char *app_id);
int store_apps_foreach(struct store_tx *c,
		       int (*cb)(const struct app_info *a, void *arg),
		       void *arg);
/*
 * Idempotency records.  get: the record of (key_id, idem_key) made at or
 * after since_ms (KV_ENOTFOUND); put: stores r (KV_EDUP when the pair has
 * a record) after deleting a bounded batch of records made before
 * since_ms.
 */
int store_idem_get(struct store_tx *c, int64_t key_id, const char *idem_key,
		   int64_t since_ms, struct idem_record *out);
int store_idem_put(struct store_tx *c, const struct idem_record *r,
		   int64_t since_ms);
/*
 * Verify v2 templates and their fragments, scoped to one key: a lookup of
 * another key's id finds nothing.  put: inserts (`insert` 1) or updates the
 * name and is_default (0), KV_EDUP for a name the key has; is_default 1
 * clears the key's other templates' default in the same write.
 * fragment_put: inserts or updates the text and DLT ids, KV_EDUP for a
 * channel and locale the template has.  get and delete: KV_ENOTFOUND when
 * none.  The lists go by creation time; cb returns non-zero to stop.
 */
int store_template_put(struct store_tx *c, const struct vf_template *t,
		       int insert);
int store_template_get(struct store_tx *c, int64_t key_id, const char *id,
		       struct vf_template *out);
int store_template_delete(struct store_tx *c, int64_t key_id, const char *id);
int store_templates_foreach(struct store_tx *c, int64_t key_id,
			    int (*cb)(const struct vf_template *t, void *arg),
			    void *arg);
int store_fragment_put(struct store_tx *c, const struct vf_fragment *f,
		       int insert);
int store_fragment_get(struct store_tx *c, int64_t key_id,
		       const char *template_id, const char *id,
		       struct vf_fragment *out);
int store_fragment_delete(struct store_tx *c, int64_t key_id,
			  const char *template_id, const char *id);
int store_fragments_foreach(struct store_tx *c, int64_t key_id,
			    const char *template_id,
			    int (*cb)(const struct vf_fragment *f, void *arg),
			    void *arg);

/*
 * Verifications.  Lookups by request id are scoped to one key.  A new
 * verification takes the id from store_verification_next_id() (its request
 * id is crypto_request_id_of() that id) and store_verification_insert()
 * stores it under that id; with r->v.id 0 the store picks the id.  A
 * backend may draw the id with a live lookup (store_verification_live(),
 * store_verification_live_take()): store_verification_next_id() on the same
 * connection then returns that one without going to the store.
 */
int store_verification_next_id(struct store_tx *c, int64_t *id);
int store_verification_insert(struct store_tx *c, struct vf_record *r);
/* A job to queue (store_job_insert()'s arguments but the verification). */
struct store_job_new {
	const char *kind;
	int step;
	int64_t due_ms;
};
/*
 * store_verification_insert() of r, then, when job is not NULL,
 * store_job_insert() of job for it, as one step of the caller's write (a
 * backend may send both as one statement).  0 or the first one's KV_E*.
 */
int store_verification_start(struct store_tx *c, struct vf_record *r,
			     const struct store_job_new *job);
int store_verification_get(struct store_tx *c, const char *request_id,
			   int64_t key_id, struct vf_record *out);
int store_verification_live(struct store_tx *c, int64_t key_id,
			    const char *number, struct vf_record *out);
/* Writes back the engine state (state, attempts, steps, PIN, times). */
int store_verification_update(struct store_tx *c, const struct vf_record *r);

/*
 * Records a verification's end (or any change that ends it) and cancels
 * its pending jobs in the same transaction: no step runs after it.
 */
int store_verification_finalize(struct store_tx *c, const struct vf_record *r,
				int64_t now);

int store_check_insert(struct store_tx *c, int64_t verification_id,
		       const struct vf_check *ch);
int store_checks_foreach(struct store_tx *c, int64_t verification_id,
			 int (*cb)(const struct vf_check *ch, void *arg),
			 void *arg);
/*
 * Fills ev with one step of a verification's history, each text cut to its
 * field (NULL: empty); encoding and segments are left 0 for an SMS's
 * caller to set.
 */
void vf_event_set(struct vf_event *ev, int64_t created_ms, const char *type,
		  const char *channel, const char *provider_id,
		  const char *result, const char *detail);
int store_event_insert(struct store_tx *c, int64_t verification_id,
		       const struct vf_event *ev);
int store_events_foreach(struct store_tx *c, int64_t verification_id,
			 int (*cb)(const struct vf_event *ev, void *arg),
			 void *arg);

int store_verified_put(struct store_tx *c, int64_t key_id, const char *number,
		       const struct vf_verified *vr);
int store_verified_get(struct store_tx *c, int64_t key_id, const char *number,
		       struct vf_verified *out);

int store_call_get(struct store_tx *c, const char *sid, struct vf_call *out);
int store_call_put(struct store_tx *c, const struct vf_call *cr, int64_t now);
int store_fraud_insert(struct store_tx *c, const char *number,
		       int64_t verification_id, int64_t now);
/* Whether the key lets a callee confirm by pressing 2 (default 1). */
int store_key_voice_confirm(struct store_tx *c, int64_t key_id, int *allowed);
/*
 * Missed-call verification for a key: *on is 1 when enabled; the setter
 * takes the key's api_key (KV_ENOTFOUND for an unknown one).
 */
int store_key_missed_call(struct store_tx *c, int64_t key_id, int *on);
int store_key_set_missed_call(struct store_tx *c, const char *api_key, int on);
/*
 * The newest verification (any key, any state) whose missed call is from
 * `number` to `did` (E.164 digits), or KV_ENOTFOUND.
 */
int store_verification_missed(struct store_tx *c, const char *number,
			      const char *did, struct vf_record *out);

/* The block in force for a prefix and scope at `now`, or KV_ENOTFOUND. */
int store_block_get(struct store_tx *c, const char *prefix, int64_t key_id,
		    int64_t now, struct fraud_block *out);
int store_block_put(struct store_tx *c, const struct fraud_block *b);
/* Ends the blocks of a prefix in force now, whatever their scope;
 * KV_ENOTFOUND if there was none. */
int store_block_lift(struct store_tx *c, const char *prefix, int64_t now);
/* The latest block of a prefix and scope, in force or not; KV_ENOTFOUND
 * if none. */
int store_block_last(struct store_tx *c, const char *prefix, int64_t key_id,
		     struct fraud_block *out);
int store_blocks_foreach(struct store_tx *c, int64_t now,
			 int (*cb)(const struct fraud_block *b, void *arg),
			 void *arg);
/*
 * Numbers starting with `prefix` that reported fraud since since_ms: on
 * verifications of secret keys (key_id 0), or of key key_id.
 */
int store_fraud_recent(struct store_tx *c, const char *prefix, int64_t key_id,
		       int64_t since_ms, int64_t *count);
/* The kind of a key (KEY_SECRET, KEY_PUBLISHABLE); KV_ENOTFOUND if none. */
int store_key_kind(struct store_tx *c, int64_t key_id, int *kind);

/* Calls cb for each verification (newest first) created after since_ms. */
int store_recent_numbers_foreach(struct store_tx *c, int64_t since_ms,
				 void (*cb)(const char *number, int64_t at_ms,
					    void *arg),
				 void *arg);

/*
 * The operator console's figures (verify_console.c), over the
 * verifications created since since_ms (indexed by created_ms, so a
 * window reads its own rows only).  store_console_funnel: how far they
 * went (an SMS or a call KooKoo accepted, an answered call, a PIN pressed
 * or typed) and, of the verified ones, how long they took.
 */
#define STORE_TTV_BUCKETS 6 /* <= 10, 30, 60, 120, 300 s, and later */
struct store_funnel {
	int64_t requested, sms_sent, verified_by_sms, call_placed, answered,
		confirmed_by_key;
	int64_t ttv[STORE_TTV_BUCKETS];
};
int store_console_funnel(struct store_tx *c, int64_t since_ms,
			 struct store_funnel *out);
/* cb(minute start in ms, state, count) for each minute and state. */
int store_console_minutes(struct store_tx *c, int64_t since_ms,
			  void (*cb)(int64_t minute_ms, int state,
				     int64_t count, void *arg),
			  void *arg);
/*
 * The `limit` busiest prefixes (the first `digits` digits of the numbers),
 * busiest first: requests and successes of each.
 */
int store_console_prefixes(struct store_tx *c, int64_t since_ms, int digits,
			   int limit,
			   void (*cb)(const char *prefix, int64_t requests,
				      int64_t verified, void *arg),
			   void *arg);
/* One line of the console's list of recent verifications. */
struct store_recent {
	int64_t id;
	char request_id[ENGINE_REQUEST_ID_LEN + 1];
	char number[16];
	int state;
	int workflow_id;
	int64_t created_ms, finalized_ms;
	char api_key[40];
};
/* The `limit` newest verifications of every key, newest first. */
int store_console_recent(struct store_tx *c, int limit,
			 void (*cb)(const struct store_recent *r, void *arg),
			 void *arg);
/* The calls KooKoo placed for a verification, oldest first. */
int store_calls_foreach(struct store_tx *c, int64_t verification_id,
			void (*cb)(const struct vf_call *cl, int64_t created_ms,
				   void *arg),
			void *arg);

/*
 * Claims the earliest job due at `now`: leases it until lease_until (its
 * due_ms moves there, so a worker that dies loses it only until then) and
 * counts the attempt.  KV_ENOTFOUND when nothing is due.
 */
int store_job_claim(struct store_tx *c, int64_t now, int64_t lease_until,
		    struct vf_job *out);
/*
 * The worker's report on a job it claimed with lease lease_until (what it
 * passed to store_job_claim).  store_job_done ends the job, if still
 * pending, in `state` with an error text ("" for none); store_job_retry
 * puts it back, if still pending, due again at due_ms.  Both return
 * KV_ENOTFOUND, changing nothing, once the job is no longer under that
 * lease: it ran out and another worker (on any node) claimed the job,
 * whose report alone counts.  A job that ended under the lease (its
 * verification ended meanwhile) is left as it is, and they return 0.
 */
int store_job_done(struct store_tx *c, int64_t id, int64_t lease_until,
		   int state, const char *error, int64_t now);
int store_job_retry(struct store_tx *c, int64_t id, int64_t lease_until,
		    int64_t due_ms, const char *error);
/* Due time of the earliest pending (or leased) job; KV_ENOTFOUND if none. */
int store_job_next_due(struct store_tx *c, int64_t *due_ms);
int store_verification_by_id(struct store_tx *c, int64_t id,
			     struct vf_record *out);
int store_job_insert(struct store_tx *c, const char *kind,
		     int64_t verification_id, int step, int64_t due_ms);
/* Cancels every pending job of a verification (success, cancel, failure). */
int store_jobs_cancel(struct store_tx *c, int64_t verification_id,
		      int64_t now_ms);
/*
 * Brings the pending step job of a verification forward to now_ms; a job
 * in flight (leased) is left alone.  *moved (may be NULL) says whether one
 * was moved.
 */
int store_job_step_now(struct store_tx *c, int64_t verification_id,
		       int64_t now_ms, int *moved);
/* Number of pending jobs (tests, metrics). */
int store_jobs_pending(struct store_tx *c, int64_t *count);

/*
 * The store-wide figures /metrics reads at scrape time, from cheap
 * queries on a reader: pending jobs due at `now` and leased, the due_ms of
 * the oldest due one (0: none), prefix blocks in force, and the database's
 * and its write-ahead log's sizes in bytes (-1: not known to this role).
 */
struct store_stats {
	int64_t jobs_due;
	int64_t jobs_leased;
	int64_t oldest_due_ms;
	int64_t blocks_active;
	int64_t db_bytes;
	int64_t wal_bytes;
};
int store_stats(struct store_tx *c, int64_t now, struct store_stats *out);

/*
 * Backups.  store_backup() copies the live store that `path` names, while
 * the server runs, to the file dest: a consistent snapshot written to
 * dest.tmp, made durable, then renamed (mode 0600), so dest is never a
 * half copy.  An existing dest is refused (KV_EDUP) unless `force`.
 * store_restore() installs the copy src as the store of a stopped server:
 * it checks src (a whole database of this program, at most its schema
 * version: else KV_EINVAL or KV_ERANGE), keeps the current file as
 * path.before-restore and renames the copy in place; KV_EBUSY while the
 * store is open elsewhere.  Both put the reason in err.
 */
struct store_backup_stats {
	int64_t pages;  /* copied */
	int64_t bytes;  /* of dest */
	double seconds; /* the copy, start to rename */
};

int store_backup(const char *path, const char *dest, int force,
		 struct store_backup_stats *stats, char *err, size_t errlen);
int store_restore(const char *path, const char *src, char *err, size_t errlen);

/*
 * Erasure of a person's records: deletes, across keys, every verification
 * of `number` (E.164 digits) with its checks, events, calls and jobs, the
 * fraud reports naming it, its verified-number entries, and its resend
 * backoff under every key (the rows named by `tag`, crypto_tag() of the
 * number, as the resend stores them).  Blocks of prefixes, API keys and
 * token uses (which name no number) stay.  The caller runs it inside a
 * transaction; *out receives the rows deleted per table.
 */
struct store_erase_counts {
	int64_t verifications, checks, events, calls, jobs, fraud_reports,
		verified_numbers, resend_backoffs, callbacks;
};
int store_number_erase(struct store_tx *c, const char *number, const char *tag,
		       struct store_erase_counts *out);

/*
 * One batch of the background purge, at most `limit` rows of each kind
 * (times in ms; a 0 cut-off purges nothing of that kind):
 * - verifications finished (not IN PROGRESS) before finished_before, with
 *   their checks, events, calls, jobs and fraud reports, unless their
 *   number is verified for their key after verified_after (a verified
 *   number stays answerable for verified_ttl);
 * - verified-number entries verified before verified_after (expired);
 * - client addresses of checks made before addresses_before (blanked);
 * - events created before events_before.
 * Verifications, checks and events are walked by id, `limit` rows a batch
 * after the id the caller gives (after_id, after_check_id, after_event_id),
 * so a batch stays short however many rows are kept or were blanked
 * before.  *out receives what it removed, the last id each walk looked at
 * (where the next batch goes on) and whether rows created before that
 * walk's cut-off may remain past it (more, more_checks, more_events).
 */
struct store_purge {
	int64_t finished_before, verified_after, addresses_before,
		events_before;
	int64_t after_id, after_check_id, after_event_id;
	int limit;
};
struct store_purge_counts {
	int64_t verifications, verified_numbers, addresses, events;
	int64_t last_id, last_check_id, last_event_id;
	int more, more_checks, more_events;
};
int store_purge_batch(struct store_tx *c, const struct store_purge *p,
		      struct store_purge_counts *out);

/*
 * What must hold across many nodes.  A shared store (PostgreSQL: many
 * `serve` nodes on one database) keeps the limits and statistics that a
 * one-process store (SQLite) keeps in memory; store_is_shared() tells the
 * service which it has.  1 or 0; valid once a setting chose the backend.
 */
int store_is_shared(void);

/*
 * Readiness: a cheap read on the calling thread's reader connection.
 * 0 when the store answered, else KV_EDB (or KV_EBUSY, KV_ENOMEM).
 */
int store_ping(void);

/*
 * Claims setting `name` of the store for `value` (texts of at most 127
 * bytes): stores it when the store has none yet, else compares.  Race-safe:
 * of nodes claiming together, one value is stored and every other node
 * compares with it.  0 when `value` is (now) the stored one; KV_EDUP when
 * another is, copied into stored (may be NULL).  Runs in a write.
 */
int store_meta_claim(struct store_tx *c, const char *name, const char *value,
		     char *stored, size_t storedlen);

/*
 * Takes one token from the bucket (name, key): `count` tokens per
 * `period_s` seconds, a burst of `count`, refilled continuously, as
 * limiter_take() does in memory.  *wait_s is 0 when the token was taken,
 * else the whole seconds (>= 1) until one would be, and nothing is
 * counted.  Atomic across nodes.  Runs in a write.  `key` is at most 127
 * bytes; callers pass a keyed hash of anything personal (a number).
 */
int store_limit_take(struct store_tx *c, const char *name, const char *key,
		     int count, int period_s, int64_t now_ms, int *wait_s);
/* A bucket of store_limit_take(): (name, key), count per period_s. */
struct store_bucket {
	const char *name, *key;
	int count, period_s;
};
/*
 * store_verification_live(), and when it finds none (KV_ENOTFOUND),
 * store_limit_take() of a token from b at now_ms in the same step (a
 * backend may send both as one statement): *wait_s as there, 0 whenever
 * a live verification was found, since then nothing is taken.  Returns
 * what store_verification_live() returned, or the take's KV_E*.
 */
int store_verification_live_take(struct store_tx *c, int64_t key_id,
				 const char *number,
				 const struct store_bucket *b, int64_t now_ms,
				 struct vf_record *out, int *wait_s);
/*
 * store_verification_start() of r and job, in one step with what allows
 * it: the number has no live verification for r's key, and, b not NULL, a
 * token from b is taken for it (store_verification_live_take(); a backend
 * may send all of it as one statement).  r->v.id is drawn already.
 * Returns 0 with *live set when the number has a live verification
 * (nothing stored or taken); KV_ENOTFOUND when it has none, and then r is
 * stored unless *wait_s (>= 1) says b refused; or a KV_E*.
 */
int store_verification_start_if_free(struct store_tx *c, struct vf_record *r,
				     const struct store_job_new *job,
				     const struct store_bucket *b,
				     int64_t now_ms, struct vf_record *live,
				     int *wait_s);

/*
 * The lead (store_write_op.lead) of a write whose first statement is
 * store_verification_start_if_free() with the same arguments: sends that
 * statement ahead.  0 when sent; KV_ENOTFOUND when the backend sends
 * nothing ahead (the write then runs it itself); another KV_E* when it
 * could not be sent.
 */
int store_verification_start_if_free_lead(struct store_tx *c,
					  const struct vf_record *r,
					  const struct store_job_new *job,
					  const struct store_bucket *b,
					  int64_t now_ms);

/*
 * The resend backoff of a number for key_id (engine.h), named by `tag`, a
 * keyed hash of the number: get reads it (all zeros when it has none), put
 * stores it.  Both run in the write of the resend, which holds the
 * verification's row, so nodes resending the same number queue there.
 */
int store_backoff_get(struct store_tx *c, int64_t key_id, const char *tag,
		      struct resend_backoff *b);
int store_backoff_put(struct store_tx *c, int64_t key_id, const char *tag,
		      const struct resend_backoff *b);

/*
 * Deletes the backoffs whose last resend is older than before_ms and whose
 * wait is over at now_ms: their count has decayed to nothing.  *deleted
 * (may be NULL) receives the rows gone.  Runs in a write.
 */
int store_backoff_sweep(struct store_tx *c, int64_t before_ms, int64_t now_ms,
			int64_t *deleted);

/*
 * Adds `requests` and `successes` to the conversion statistics of
 * (prefix, scope) in the window starting at window_ms (a new window
 * starts again from zero; a write for an older one counts in the newer),
 * and returns the window's totals in *total_requests and
 * *total_successes (either may be NULL).  Runs in a write.
 */
int store_prefix_stats_add(struct store_tx *c, const char *prefix,
			   int64_t scope, int64_t window_ms, int requests,
			   int successes, int64_t *total_requests,
			   int64_t *total_successes);

/*
 * Deletes the buckets untouched since before_ms (full again: they hold
 * nothing a new one would not) and the statistics of windows that started
 * before stats_before_ms.  *deleted (may be NULL) receives the rows gone.
 */
int store_cluster_sweep(struct store_tx *c, int64_t before_ms,
			int64_t stats_before_ms, int64_t *deleted);

/*
 * Wake-ups from other nodes: calls wake() (from a thread of the store's)
 * whenever a node of the cluster stored a job that may be due, and once
 * after each reconnection (notifications sent while it was away are
 * lost).  Returns 0 when started, KV_ENOTFOUND when the store has no such
 * thing (one process: local wake-ups are all there is), or KV_EDB.
 * store_jobs_unlisten() stops it; wake() is not called after it returns.
 */
int store_jobs_listen(const char *path, void (*wake)(void));
void store_jobs_unlisten(void);

/*
 * Status callbacks (callback.h), a queue of their own beside the jobs.
 * store_key_callback_get: the key's URL and secret, KV_ENOTFOUND when it
 * has no URL.  store_key_callback_set: sets them ("" for none) on key
 * `api_key`, KV_ENOTFOUND for an unknown key.  store_callback_insert
 * queues one in the write that records its event: due at once, or parked
 * behind an earlier pending callback of the same verification, which
 * store_callback_done (any final state) brings forward, so a
 * verification's callbacks go out in order.  Claim, done, retry and
 * next_due are as the jobs' (lease fencing included); the claim also
 * reads the key's URL and secret into out->to, and passes over the
 * callbacks of the keys in skip (CALLBACK_SKIP_KEYS ids, 0 for none; the
 * array may be NULL).
 */
int store_key_callback_get(struct store_tx *c, int64_t key_id,
			   struct key_callback *out);
int store_key_callback_set(struct store_tx *c, const char *api_key,
			   const struct key_callback *cb);
int store_callback_insert(struct store_tx *c, const struct vf_callback *cb,
			  int64_t now);
int store_callback_claim(struct store_tx *c, int64_t now, int64_t lease_until,
			 const int64_t *skip, struct vf_callback *out);
int store_callback_done(struct store_tx *c, const struct vf_callback *cb,
			int64_t lease_until, int state, const char *error,
			int64_t now);
int store_callback_retry(struct store_tx *c, int64_t id, int64_t lease_until,
			 int64_t due_ms, const char *error);
int store_callback_next_due(struct store_tx *c, int64_t *due_ms);

#endif
