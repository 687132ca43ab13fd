/*
 * The verification service: request, check, control and search, independent
 * of any wire dialect.  It joins the engine (decisions), the phone module
 * (numbers), crypto (PINs) and the store (durability); the dialects in
 * api_seed.c and api_vonage.c only map parameters and outcomes.
 */
#ifndef KV_VERIFY_H
#define KV_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"

struct store_tx;
#include "engine.h"

/*
 * Reads the settings the service needs (durations, test numbers).  Call once
 * before serving; returns 0 or KV_ECONFIG with a message in err.
 */
int verify_init(const struct config *cfg, char *err, size_t errlen);

/* The settings in force (read-only after verify_init). */
const struct engine_settings *verify_settings(void);

struct verify_request_in {
	const char *number;  /* as the client typed it */
	const char *country; /* ISO alpha-2, or NULL */
	const char *brand;
	const char *sender_id; /* NULL: none */
	const char *lg;        /* NULL: none */
	/* The caller's own code (digits, ENGINE_PIN_MIN..MAX), or NULL. */
	const char *pin;
	const char *countries; /* the key's allow-list ("IN,GB", "*"); NULL: IN */
	/* Publishable keys: the client address, for the per-address limit. */
	const char *browser_ip;
	/*
	 * Publishable keys: the verification is bound to the page that made
	 * it, by a handle.  `handle` is the one the page sent (NULL: none):
	 * with the handle of the number's live verification the page gets
	 * that verification's id again; a new verification takes it when it
	 * is 32 lower-case hex digits, else a random one.
	 */
	int publishable;
	const char *handle;
	/* SMS autofill (api_autofill_read()): NULL or "" for none. */
	const char *origin_host;
	const char *app_hash;
	/*
	 * The client's reference (Vonage v2's client_ref, at most
	 * VF_CLIENT_REF_MAX bytes), echoed in status callbacks; NULL: none.
	 */
	const char *client_ref;
	/* 1: Verify v2's start (its callbacks name it by the UUID form). */
	int v2;
	/* Verify v2: the key's template the start chose; NULL or "": none. */
	const char *template_id;
	struct engine_request req;
	/*
	 * The caller's buffer for why the number's prefix is blocked: on
	 * VERIFY_BLOCKED *bad_param points here (NULL: no reason given).
	 */
	char *block_reason;
	size_t block_reason_len;
};

enum verify_result {
	VERIFY_OK = 0,
	VERIFY_CONCURRENT, /* request: a live one exists (its id is returned) */
	VERIFY_BAD_NUMBER, /* request: not a valid phone number */
	VERIFY_BAD_PARAM,  /* request: a value out of range (bad_param) */
	VERIFY_NOT_FOUND,  /* unknown id, or another key's */
	VERIFY_ERROR,      /* the store failed: nothing was changed */
	VERIFY_THROTTLED,  /* a rate limit: *retry_after seconds */
	VERIFY_NOT_PERMITTED, /* the number's country is not allowed for the key */
	VERIFY_BLOCKED, /* request: the prefix is blocked (in->block_reason) */
	/* request: the number's type receives no codes (*bad_param: why) */
	VERIFY_UNREACHABLE,
	/* request: missed-call verification is not enabled for the key */
	VERIFY_MISSED_OFF,
	VERIFY_PENDING, /* *_start: the store write is still to run */
};

/*
 * Failed authentications per client address: verify_auth_wait() is 0 while
 * the address may still try, else the seconds to wait (nothing is counted);
 * verify_auth_failed() counts one failure.
 */
int verify_auth_wait(const char *ip);
void verify_auth_failed(const char *ip);

/*
 * The per-key request rate, counted for every API call (publishable keys
 * have their own, lower limit): 0 when allowed, else the seconds to wait.
 * A publishable key's call from client address `ip` is first counted in
 * that address's share (limit_pk_ip_calls_per_min), and in the key's
 * budget only when the share allows it.  `ip` is unused for secret keys.
 */
int verify_rate_key(int64_t key_id, int publishable, const char *ip);

/*
 * A publishable key's call from `ip` was junk (an unknown id, a parameter
 * refused): charges the address's share limit_pk_junk_cost more calls, so
 * a stranger's garbage is paid from its own share before the site's.
 */
void verify_rate_junk(int64_t key_id, const char *ip);

/*
 * Refills the per-number request limit from the store `db` after a
 * restart (requests within the last window count again), on a connection
 * of its own, opened only when that limit is the node's own (not one the
 * cluster shares in the store).  0 or KV_EDB.
 */
int verify_warm_limits(const char *db);

enum verify_cmd { CMD_CANCEL, CMD_TRIGGER_NEXT, CMD_RESEND };

/*
 * Request, check and control, each in two halves around its store write,
 * so that the caller need not wait for the writer (http_write()).  *_start
 * does everything before the write; any result but VERIFY_PENDING is final
 * and leaves *p NULL.  With VERIFY_PENDING, run the write, verify_pending_run
 * with arg p, through the writer (http_write(), store_write() or
 * store_write_submit()), then hand its result to the matching *_finish, which
 * gives the call's result and frees p.  The strings given to *_start
 * (request_id, code...) must stay valid until *_finish.
 *
 * Request starts a verification for `key_id`: on VERIFY_OK or
 * VERIFY_CONCURRENT, request_id (33 bytes) holds the id; on
 * VERIFY_BAD_PARAM *bad_param names the parameter.  Through a publishable
 * key, `handle` (CRYPTO_HANDLE_LEN + 1 bytes, may be NULL) receives the new
 * verification's handle on VERIFY_OK ("" otherwise), and a
 * VERIFY_CONCURRENT whose live verification is not the page's own (its
 * handle was not given) leaves request_id "".  Check compares `code` with
 * the PIN, the attempt counted before the comparison in the same
 * transaction; *outcome is set on VERIFY_OK.  Control runs a command;
 * *outcome is set on VERIFY_OK.
 *
 * `handle` of check, control and search: NULL for a secret key (no
 * binding); otherwise what the page sent ("" for nothing), and unless it
 * is the verification's own the call answers VERIFY_NOT_FOUND, exactly as
 * for an unknown id.
 */
struct verify_pending;

enum verify_result verify_request_start(int64_t key_id,
					const struct verify_request_in *in,
					const char **bad_param,
					int *retry_after,
					struct verify_pending **p);
enum verify_result
verify_request_finish(struct verify_pending *p, int rc,
		      char request_id[ENGINE_REQUEST_ID_LEN + 1], char *handle,
		      int *retry_after);
enum verify_result verify_check_start(int64_t key_id, const char *request_id,
				      const char *handle, const char *code,
				      const char *ip, int *retry_after,
				      struct verify_pending **p);
/* number (16 bytes, may be NULL) receives the verification's number. */
enum verify_result verify_check_finish(struct verify_pending *p, int rc,
				       enum check_outcome *outcome,
				       char *number);
enum verify_result verify_control_start(int64_t key_id, const char *request_id,
					const char *handle, enum verify_cmd cmd,
					int vonage_rules,
					struct verify_pending **p);
/*
 * *wait_s receives, for cmd=resend, the whole seconds until a resend is
 * allowed (CONTROL_COOLDOWN) or until the next one is (CONTROL_OK): the
 * verification's cooldown or its number's backoff, whichever is longer.
 */
enum verify_result verify_control_finish(struct verify_pending *p, int rc,
					 enum control_outcome *outcome,
					 int *wait_s);
int verify_pending_run(struct store_tx *c, void *p);
/* Its lead (store_write_op.lead): a request's first statement. */
int verify_pending_lead(struct store_tx *c, void *p);

/*
 * After a request's verify_pending_run() (on the writer, before its
 * commit): 1 with request_id set when the run stored a new verification,
 * else 0 (a live one, a limit or a block answered instead).
 */
int verify_request_made(const struct verify_pending *p,
			char request_id[ENGINE_REQUEST_ID_LEN + 1]);

/*
 * Idempotent starts (verify_idem.c): a start that carries an
 * Idempotency-Key is recorded, in the transaction that stores its
 * verification, with a hash of the request; a retry within
 * VERIFY_IDEM_TTL_MS with the same key and hash is answered with that
 * verification again, and nothing is sent twice.
 */
#define VERIFY_IDEM_TTL_MS (24LL * 3600 * 1000)

enum verify_idem {
	IDEM_NEW,      /* no record: start */
	IDEM_REPLAY,   /* request_id is the first answer's verification */
	IDEM_MISMATCH, /* the key was used with another request */
	IDEM_ERROR,    /* the store failed */
};

/* The record of (key_id, idem_key) in the caller's read snapshot. */
enum verify_idem verify_idem_find(int64_t key_id, const char *idem_key,
				  const unsigned char hash[32],
				  char request_id[ENGINE_REQUEST_ID_LEN + 1]);

/*
 * A start's write with its record: verify_pending_run(p), then, when it
 * stored a verification, the record (key_id, idem_key, hash).  Hand it to
 * the writer (http_write) with arg a struct verify_idem_op that lives
 * until the write's continuation, then verify_request_finish(p) as usual.
 */
struct verify_idem_op {
	struct verify_pending *p;
	int64_t key_id;
	const char *idem_key;
	unsigned char hash[32];
};
int verify_idem_run(struct store_tx *c, void *arg);
int verify_idem_lead(struct store_tx *c, void *arg);

/* The lead (store_write_op.lead) of write fn, NULL when it has none. */
int (*verify_write_lead(int (*fn)(struct store_tx *c,
				  void *arg)))(struct store_tx *c, void *arg);

/*
 * Reads a verification as it stands now (a verification whose time is up
 * shows EXPIRED even before the store records it).
 */
enum verify_result verify_search(int64_t key_id, const char *request_id,
				 const char *handle, struct vf_record *out);

/* Readiness: 0 when the store answers a read from this thread, or KV_E*. */
int verify_store_ready(void);

/* Lists the checks / events of a verification found by verify_search. */
int verify_checks_foreach(const struct vf_record *r,
			  int (*cb)(const struct vf_check *ch, void *arg),
			  void *arg);
int verify_events_foreach(const struct vf_record *r,
			  int (*cb)(const struct vf_event *ev, void *arg),
			  void *arg);

/*
 * Is `number` verified for `key_id` within verified_ttl?  Returns VERIFY_OK
 * (verified; *row filled), VERIFY_NOT_FOUND (not verified), VERIFY_BAD_NUMBER
 * or VERIFY_ERROR.  `e164_digits` (16 bytes) receives the normalised number.
 */
enum verify_result verify_number_status(int64_t key_id, const char *number,
					char e164_digits[16],
					struct vf_verified *row);

/* Seconds a verified number stays verified. */
int64_t verify_verified_ttl_ms(void);

/*
 * Voice calls (verify_call.c): what KooKoo tells the IVR about a call the
 * job runner placed.  The IVR parses a callback into a struct verify_call,
 * hands verify_call_run() to the writer (http_write), then calls
 * verify_call_finish() and renders the answer.  The service alone decides:
 * which call the callback is about, the event it records, the key presses
 * (repeat, confirm, report) and the workflow's next step after a call that
 * was not answered.
 */
enum verify_call_event {
	CALL_EV_OTHER,  /* recorded, nothing else */
	CALL_EV_NEW,    /* the callee answered: greet and tell the PIN */
	CALL_EV_KEY,    /* the callee pressed a key, or stayed silent */
	CALL_EV_HANGUP, /* the call ended: keep its duration */
};

/* What the IVR should say; CALL_ANSWER_NONE: an empty answer. */
enum verify_call_answer {
	CALL_ANSWER_NONE,
	CALL_ANSWER_GREETING,  /* the PIN twice, then the menu */
	CALL_ANSWER_REPEAT,    /* the PIN again */
	CALL_ANSWER_CONFIRMED, /* verified by key */
	CALL_ANSWER_REPORTED,  /* reported as unwanted */
	CALL_ANSWER_GOODBYE,   /* no key, no repetitions left; or no confirm */
	CALL_ANSWER_ENDED,     /* the PIN or the verification ended */
};

struct verify_call {
	/* in: from the call token */
	int64_t vid;
	int step;
	/* in: from the callback */
	const char *ids[2]; /* sid, then outbound_sid; NULL when absent */
	enum verify_call_event ev;
	const char *event_name; /* as KooKoo names it, for the event */
	int key;                /* '0'..'9', or 0 for none */
	const char *status;     /* the status POST's call status, or NULL */
	int duration;           /* seconds, or -1 when not given */
	int64_t now;
	/* out */
	const char *sid; /* the call id taken, NULL when refused */
	int refused;     /* the ids do not belong to this call */
	int confirmed;   /* the key verified the number */
	enum verify_call_answer answer;
	int repetitions_left;
	struct vf_record rec;
	char pin[ENGINE_PIN_MAX + 1]; /* for GREETING and REPEAT, once done */
	/*
	 * For GREETING and REPEAT, once done: the voice fragment of the
	 * verification's template for its locale, "" for the IVR's own words.
	 */
	char voice[FRAGMENT_TEXT_MAX];
};

/*
 * Missed-call verification (verify_missed.c).  verify_missed_path_ok():
 * whether `segment` is the secret last segment of the inbound IVR path (0
 * when missed_call_path is empty).  verify_missed_source_ok(): whether an
 * inbound call may come from client_ip (missed_call_sources; 1 when it is
 * empty).  verify_request_missed(): before
 * verify_request_finish() of a VERIFY_OK, the DID the person is to call
 * ("+" and E.164 digits; "" when no missed call verifies it) and the
 * seconds it still may (0 then).
 */
int verify_missed_path_ok(const char *segment);
int verify_missed_source_ok(const char *client_ip);
void verify_request_missed(const struct verify_pending *p, char did[17],
			   int *expires_in_s);
/*
 * Sets the store-wide gauges of /metrics (jobs, blocks, sizes) from this
 * thread's reader, and names the API keys its labels show.  0 or KV_E*.
 */
int verify_metrics_scrape(void);

/* Inbound calls answered: verified, ignored, unmatched (for /metrics). */
void verify_missed_counts(unsigned long out[3]);

/*
 * An inbound call to a DID (KooKoo's NewCall on the inbound app URL).  The
 * IVR fills the inputs; verify_inbound_start() normalises the caller and
 * the DID and returns 1 when the write, verify_inbound_run() through
 * http_write(), is to run (0: the call matches nothing, no write); then
 * verify_inbound_finish() in both cases, which counts it and logs an
 * unmatched call with the number masked.  A matched call is an event of
 * its verification.
 */
enum verify_inbound_result {
	INBOUND_VERIFIED,  /* the pending verification is now SUCCESS */
	INBOUND_IGNORED,   /* its verification is not pending: unchanged */
	INBOUND_UNMATCHED, /* no verification of that caller for that DID */
};

struct verify_inbound {
	/* in */
	const char *cid;    /* the caller, as KooKoo wrote it */
	const char *called; /* the DID called */
	const char *sid;    /* KooKoo's call id, or NULL */
	int64_t now;
	/* out */
	enum verify_inbound_result result;
	char why[48];
	char number[16]; /* the caller's E.164 digits, "" when unparsed */
	char did[16];
	struct vf_record rec;
};

int verify_inbound_start(struct verify_inbound *in);
int verify_inbound_run(struct store_tx *c, void *in);
void verify_inbound_finish(struct verify_inbound *in, int rc);

/*
 * Whom the service wakes after it commits a job that may be due (the job
 * runner registers jobs_notify() as it starts, before any request, and
 * NULL once it stopped, after the last): so the service never calls up
 * into the runner.
 */
void verify_job_wake_set(void (*wake)(int64_t due_ms));

/*
 * Whether this node's runner could not start a job due now, having no idle
 * worker (`need`: set by the runner once its workers run, NULL once it
 * stops, when the answer is always yes).  When it could, a shared store
 * does not wake the other nodes' runners for the job
 * (store_jobs_wake_others_set()).
 */
void verify_job_wake_others_set(int (*need)(void));

/*
 * Wake-ups from the other nodes of a shared store (`db` names it): wake()
 * is called, from a thread of the store's, when another node stored a job
 * that may be due, and once after each reconnection.  0 when started,
 * KV_ENOTFOUND when the store has none (one process), else KV_E*.
 * verify_job_unlisten() stops them; no call follows its return.
 */
int verify_job_listen(const char *db, void (*wake)(void));
void verify_job_unlisten(void);

/*
 * Single use of verification tokens (verify_token.c).  verify_token_spent()
 * reads: *used is 1 when the token was redeemed once with single use.
 * verify_token_use_run() is the writer's closure that spends one: use->used
 * is set, and nothing is written, when it was spent before.
 */
struct verify_token_use {
	const char *jti;
	int64_t exp_ms; /* the record is kept until then */
	int64_t now_ms;
	int used; /* out */
};

int verify_token_spent(const char *jti, int *used);
int verify_token_use_run(struct store_tx *c, void *use);

/*
 * Delivery jobs (verify_job.c): the job runner claims a due job, sends, and
 * reports what the send did.  The service alone starts the workflow's step
 * (a new PIN when the old one's life is over), records the event, and
 * schedules what follows.
 */
struct verify_claim {
	/* in */
	int64_t now;
	int64_t lease_ms; /* how long the job is the worker's */
	/* out */
	int found;        /* a job was due */
	int64_t next_due; /* when nothing was: the earliest pending job, or 0 */
	struct vf_job job;
	struct vf_record rec;
	char channel; /* 's' SMS, 't' call, 0 nothing to send */
};

/* Claims the earliest due job (one writer transaction); 0 or KV_E*. */
int verify_job_claim(struct verify_claim *cl);

enum verify_send {
	SEND_ACCEPTED, /* the provider took it */
	SEND_REFUSED,  /* refused for good */
	SEND_RETRY,    /* may work later */
};

/* What the runner did with a claimed job. */
struct verify_report {
	const struct verify_claim *cl;
	enum verify_send result;
	int skipped;          /* a call outside the calling window, skipped */
	int64_t wait_until_s; /* outside the window, waiting: due again then */
	int64_t retry_due_ms; /* SEND_RETRY: due again then; 0: no retry left */
	char provider_id[64];
	char reason[160];
	/* An SMS sent: its encoding ("gsm7", "ucs2") and segments. */
	char encoding[8];
	int segments;
};

/* Records the outcome and what follows (one writer transaction). */
int verify_job_record(struct verify_report *o);

/* The writer's closure for one callback (may run more than once). */
int verify_call_run(struct store_tx *c, void *vc);

/*
 * After the write: rc is what it returned.  Notes a confirmation for the
 * fraud limits, wakes the job runner after a status POST and opens the PIN
 * the answer tells (an answer whose PIN cannot be opened becomes
 * CALL_ANSWER_ENDED) and the voice fragment it reads (vc->voice, from
 * this thread's reader).  verify_call_clear() wipes the PIN afterwards.
 */
void verify_call_finish(struct verify_call *vc, int rc);
void verify_call_clear(struct verify_call *vc);

/*
 * The background purge of what the retention settings no longer keep
 * (retain_*, purge_interval, purge_batch): a thread that writes through
 * store_write(), so start it after store_writer_start() and stop it
 * before store_writer_stop().  0, or KV_EIO with a message in err.
 */
int verify_purge_start(const struct config *cfg, char *err, size_t errlen);
void verify_purge_stop(void);

#endif
