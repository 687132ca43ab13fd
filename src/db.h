/*
 * The store: SQLite in WAL mode.  One connection per thread that reads, and a
 * single writer thread that groups the writes of many requests into one
 * transaction (see docs/ARCHITECTURE.md for why).  Every query is a statement
 * prepared once per connection.
 */
#ifndef KV_DB_H
#define KV_DB_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "engine.h"

struct db_conn;

/* A stored verification: the engine's mutable state plus what describes it. */
struct vf_record {
	struct verification v;
	char number[16]; /* E.164 digits, no '+' */
	int number_type;
	char brand[80]; /* 18 code points of up to 4 bytes, or 63 bytes */
	char sender_id[16];
	char lg[16];
	int workflow_id;
	int code_length;
	int test_number; /* fixed PIN: nothing is ever sent */
	unsigned char pin_hash[CRYPTO_HASH_LEN];
	int64_t wait_ms[ENGINE_MAX_STEPS];
	char steps[ENGINE_MAX_STEPS + 1]; /* 's' SMS, 't' TTS per step */
	int64_t first_event_ms;
	int64_t last_event_ms;
	unsigned char pin_box[CRYPTO_PIN_BOX_MAX]; /* crypto_pin_seal() */
	size_t pin_box_len;
	char call_sid[64]; /* KooKoo's id of the latest call */
	/* Started through a publishable key: the keyed hash of its handle. */
	unsigned char handle_hash[CRYPTO_HASH_LEN];
	int has_handle;
};

struct key_row {
	int64_t id;
	char api_key[40];
	char name[64];
	unsigned char secret_hash[CRYPTO_HASH_LEN];
	int64_t created_ms;
	int64_t revoked_ms; /* 0 while active */
	int voice_confirm;  /* the callee may verify by pressing 2 */
	char countries[64]; /* allow-list: "IN", "IN,GB", or "*" for any */
	int kind;           /* KEY_SECRET or KEY_PUBLISHABLE */
	char brand[80];     /* publishable: the only brand it may use, or "" */
	/* publishable: the secret key that may redeem its tokens (0: none) */
	int64_t owner_key_id;
	char owner[40]; /* that key's api_key, or "" (read only) */
};

enum key_kind {
	KEY_SECRET = 0,      /* key + secret, for backends */
	KEY_PUBLISHABLE = 1, /* key alone, for browsers of listed origins */
};

struct check_row {
	int64_t created_ms;
	char code[16];
	int valid;
	char ip[48];
};

struct event_row {
	int64_t created_ms;
	char type[16]; /* "sms", "tts", "resend", ... */
	char channel[8];
	char provider_id[64];
	char result[32];
	char detail[160];
};

struct verified_row {
	int64_t verified_ms;
	char request_id[ENGINE_REQUEST_ID_LEN + 1];
};

/* Job kinds stored in jobs.kind. */
#define JOB_STEP "step"     /* run workflow step jobs.step */
#define JOB_RESEND "resend" /* send the current PIN again on the same channel */

/*
 * Applies every pending migration to the database at `path` (creating it,
 * mode 0600).  Returns 0 or KV_EDB with a message in err.
 */
int db_migrate(const char *path, char *err, size_t errlen);

/* Schema version the code expects; `PRAGMA user_version` after migrate. */
int db_schema_version(void);

/*
 * Opens a connection and prepares its statements.  The schema must be
 * current.  The caller frees it with db_close().  NULL on failure, with a
 * message in err.
 */
struct db_conn *db_open(const char *path, char *err, size_t errlen);
void db_close(struct db_conn *c);

/*
 * Readers: db_reader() returns the calling thread's read connection, opened
 * on first use and closed by db_readers_close().  NULL if it cannot open.
 */
void db_readers_init(const char *path);
struct db_conn *db_reader(void);
void db_readers_close(void);

/*
 * Groups the calling thread's reads into one read transaction (one
 * snapshot, one set of WAL locks instead of one per statement) until
 * db_read_end().  db_write() ends it first, so a thread never holds an old
 * snapshot while it waits for the writer.  Both are no-ops when nothing is
 * open.
 */
void db_read_begin(void);
void db_read_end(void);

/*
 * The writer thread.  db_write() runs fn(conn, arg) on the writer's
 * connection inside the current group transaction, and returns once that
 * transaction is durable (committed to the WAL): fn's return value, or an
 * error if the commit failed.  fn may run more than once (a failed group is
 * replayed op by op), so it must start from its inputs each time.  fn may
 * return KV_ENOTFOUND only before it has written anything; any other
 * non-zero return undoes everything fn wrote.
 */
int db_writer_start(const char *path, int batch_max, char *err, size_t errlen);
int db_write(int (*fn)(struct db_conn *c, void *arg), void *arg);
void db_writer_stop(void);

/*
 * db_write() without the wait.  The caller fills fn, arg, done and
 * done_arg; db_write_submit() queues the op and returns at once.  The
 * writer runs fn as db_write() does and, once rc holds what db_write()
 * would have returned, calls done(op) on the writer thread: done must be
 * quick and must not block (it hands the result on: posts a semaphore,
 * resumes a connection).  The op and arg stay the caller's and must stay
 * valid until done is called; the writer does not touch op after done.
 * Returns 0, or KV_EDB when the writer is not running (done is not
 * called).  The caller must not hold a read transaction (db_read_end()).
 */
struct db_write_op {
	int (*fn)(struct db_conn *c, void *arg);
	void *arg;
	void (*done)(struct db_write_op *op);
	void *done_arg;
	int rc;
	struct db_write_op *next; /* the writer's queue */
};

int db_write_submit(struct db_write_op *op);

/* Transactions for the CLI, which writes on its own connection. */
int db_begin(struct db_conn *c);
int db_commit(struct db_conn *c);
int db_rollback(struct db_conn *c);

/* API keys. */
int db_key_insert(struct db_conn *c, const struct key_row *k);
int db_key_get(struct db_conn *c, const char *api_key, struct key_row *out);
int db_key_revoke(struct db_conn *c, const char *api_key, int64_t now_ms);
/*
 * Makes the active secret key `owner` the owner of publishable key
 * `api_key`.  KV_ENOTFOUND when either is not such a key.
 */
int db_key_set_owner(struct db_conn *c, const char *api_key, const char *owner);
int db_keys_foreach(struct db_conn *c,
		    int (*cb)(const struct key_row *k, void *arg), void *arg);
/* The rowid of the connection's last insert (a new key's id). */
int64_t db_last_insert_id(struct db_conn *c);

/*
 * Origins ("https://shop.example") a publishable key may be used from.
 * db_key_origin_allowed: 1 if listed for the key, 0 if not; db_origin_known:
 * 1 if any active key lists it (CORS preflight); both may return KV_E*.
 */
int db_key_origin_add(struct db_conn *c, int64_t key_id, const char *origin);
int db_key_origin_allowed(struct db_conn *c, int64_t key_id,
			  const char *origin);
int db_origin_known(struct db_conn *c, const char *origin);
int db_key_origins_foreach(struct db_conn *c, int64_t key_id,
			   void (*cb)(const char *origin, void *arg),
			   void *arg);

/*
 * Records the single use of verification token `jti` (kept until exp_ms,
 * and expired records are purged on the way).  KV_EDUP when it was used.
 */
int db_token_use(struct db_conn *c, const char *jti, int64_t exp_ms,
		 int64_t now_ms);
/* Whether token `jti` was used once (single use): 1, 0, or KV_E*. */
int db_token_used(struct db_conn *c, const char *jti);

/*
 * Verifications.  Lookups by request id are scoped to one key.  A new
 * verification takes the id from db_verification_next_id() (its request
 * id is crypto_request_id_of() that id) and db_verification_insert()
 * stores it under that id; with r->v.id 0 SQLite picks the id.
 */
int db_verification_next_id(struct db_conn *c, int64_t *id);
int db_verification_insert(struct db_conn *c, struct vf_record *r);
int db_verification_get(struct db_conn *c, const char *request_id,
			int64_t key_id, struct vf_record *out);
int db_verification_live(struct db_conn *c, int64_t key_id, const char *number,
			 struct vf_record *out);
/* Writes back the engine state (state, attempts, steps, PIN, times). */
int db_verification_update(struct db_conn *c, const struct vf_record *r);

/*
 * Records a verification's end (or any change that ends it) and cancels
 * its pending jobs in the same transaction: no step runs after it.
 */
int db_verification_finalize(struct db_conn *c, const struct vf_record *r,
			     int64_t now);

int db_check_insert(struct db_conn *c, int64_t verification_id,
		    const struct check_row *ch);
int db_checks_foreach(struct db_conn *c, int64_t verification_id,
		      int (*cb)(const struct check_row *ch, void *arg),
		      void *arg);
int db_event_insert(struct db_conn *c, int64_t verification_id,
		    const struct event_row *ev);
int db_events_foreach(struct db_conn *c, int64_t verification_id,
		      int (*cb)(const struct event_row *ev, void *arg),
		      void *arg);

int db_verified_put(struct db_conn *c, int64_t key_id, const char *number,
		    const struct verified_row *vr);
int db_verified_get(struct db_conn *c, int64_t key_id, const char *number,
		    struct verified_row *out);

/* One call KooKoo placed for a verification, keyed by KooKoo's sid. */
struct call_row {
	char sid[64];
	int64_t verification_id;
	int step;
	int repeats;      /* times the PIN was read again on request */
	char outcome[16]; /* "", "confirmed", "reported", "goodbye", "ended" */
	char status[32];  /* KooKoo's call status: answered, ring, busy... */
	int duration;     /* seconds */
};

int db_call_get(struct db_conn *c, const char *sid, struct call_row *out);
int db_call_put(struct db_conn *c, const struct call_row *cr, int64_t now);
int db_fraud_insert(struct db_conn *c, const char *number,
		    int64_t verification_id, int64_t now);
/* Whether the key lets a callee confirm by pressing 2 (default 1). */
int db_key_voice_confirm(struct db_conn *c, int64_t key_id, int *allowed);

/*
 * A number prefix blocked against fraud until until_ms: for every key
 * (key_id 0), or only for the publishable key key_id, whose requests alone
 * earned it (fraud.h).
 */
struct block_row {
	char prefix[16];
	char reason[96];
	int64_t created_ms;
	int64_t until_ms;
	int64_t key_id;
	char api_key[40]; /* read only: key_id's api_key, "" for key_id 0 */
};

/* The block in force for a prefix and scope at `now`, or KV_ENOTFOUND. */
int db_block_get(struct db_conn *c, const char *prefix, int64_t key_id,
		 int64_t now, struct block_row *out);
int db_block_put(struct db_conn *c, const struct block_row *b);
/* Ends the blocks of a prefix in force now, whatever their scope;
 * KV_ENOTFOUND if there was none. */
int db_block_lift(struct db_conn *c, const char *prefix, int64_t now);
/* The latest block of a prefix and scope, in force or not; KV_ENOTFOUND
 * if none. */
int db_block_last(struct db_conn *c, const char *prefix, int64_t key_id,
		  struct block_row *out);
int db_blocks_foreach(struct db_conn *c, int64_t now,
		      int (*cb)(const struct block_row *b, void *arg),
		      void *arg);
/*
 * Numbers starting with `prefix` that reported fraud since since_ms: on
 * verifications of secret keys (key_id 0), or of key key_id.
 */
int db_fraud_recent(struct db_conn *c, const char *prefix, int64_t key_id,
		    int64_t since_ms, int64_t *count);
/* The kind of a key (KEY_SECRET, KEY_PUBLISHABLE); KV_ENOTFOUND if none. */
int db_key_kind(struct db_conn *c, int64_t key_id, int *kind);

/* Calls cb for each verification (newest first) created after since_ms. */
int db_recent_numbers_foreach(struct db_conn *c, int64_t since_ms,
			      void (*cb)(const char *number, int64_t at_ms,
					 void *arg),
			      void *arg);

/* Delivery jobs. */
#define JOB_EXPIRE "expire" /* record the verification's expiry */

enum job_state {
	JOB_PENDING = 0,
	JOB_DONE = 1,
	JOB_FAILED = 2,    /* retries exhausted or refused for good */
	JOB_CANCELLED = 3, /* the verification ended first, or a stale job */
};

struct job_row {
	int64_t id;
	char kind[16];
	int64_t verification_id;
	int step;
	int64_t due_ms;
	int attempts; /* including the current one after db_job_claim */
};

/*
 * Claims the earliest job due at `now`: leases it until lease_until (its
 * due_ms moves there, so a worker that dies loses it only until then) and
 * counts the attempt.  KV_ENOTFOUND when nothing is due.
 */
int db_job_claim(struct db_conn *c, int64_t now, int64_t lease_until,
		 struct job_row *out);
/* Ends a pending job in `state` with an error text ("" for none). */
int db_job_done(struct db_conn *c, int64_t id, int state, const char *error,
		int64_t now);
/* Puts a pending job back, due again at due_ms. */
int db_job_retry(struct db_conn *c, int64_t id, int64_t due_ms,
		 const char *error);
/* Due time of the earliest pending (or leased) job; KV_ENOTFOUND if none. */
int db_job_next_due(struct db_conn *c, int64_t *due_ms);
int db_verification_by_id(struct db_conn *c, int64_t id, struct vf_record *out);
int db_job_insert(struct db_conn *c, const char *kind, int64_t verification_id,
		  int step, int64_t due_ms);
/* Cancels every pending job of a verification (success, cancel, failure). */
int db_jobs_cancel(struct db_conn *c, int64_t verification_id, int64_t now_ms);
/*
 * Brings the pending step job of a verification forward to now_ms; a job
 * in flight (leased) is left alone.  *moved (may be NULL) says whether one
 * was moved.
 */
int db_job_step_now(struct db_conn *c, int64_t verification_id, int64_t now_ms,
		    int *moved);
/* Number of pending jobs (tests, metrics). */
int db_jobs_pending(struct db_conn *c, int64_t *count);

#endif
