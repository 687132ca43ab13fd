/*
 * Shared by the service's own files (verify*.c) only: what more than one of
 * them needs and no caller of the service should.
 */
#ifndef KV_VERIFY_INTERNAL_H
#define KV_VERIFY_INTERNAL_H

#include "metrics.h"
#include "model.h"
#include "verify.h"

/*
 * Stores `pin` in r as its keyed hash (for checks) and its sealed copy (for
 * delivery), both bound to r's request id, which must be set.
 */
void verify_pin_bind(struct vf_record *r, const char *pin);

/*
 * Counts r's end (verify_metrics.c) when this transaction ended it (its
 * finalized_ms is `now`); `ch` is the channel a success came through.
 * Inside a writer's closure the count waits for the commit.
 */
struct store_tx;
struct store_job_new;
void verify_metrics_final(const struct vf_record *r, int64_t now,
			  enum metric_channel ch);
/* store_verification_finalize() and then verify_metrics_final(). */
int verify_finalize(struct store_tx *c, const struct vf_record *r, int64_t now,
		    enum metric_channel ch);

/* Wakes the job runner, if one registered, for a job due at due_ms. */
void verify_job_wake(int64_t due_ms);

/*
 * What a call through a publishable key proves about the verification it
 * names: the keyed hash of the handle it sent, bound to the request id.
 */
struct verify_proof {
	int required; /* 0: a secret key, nothing to prove */
	unsigned char hash[CRYPTO_HASH_LEN];
};

void verify_proof_init(struct verify_proof *hp, const char *request_id,
		       const char *handle);
/* Whether the call may see and change verification r. */
int verify_proof_ok(const struct verify_proof *hp, const struct vf_record *r);

/*
 * A request's checks kept in the store when it is shared by many nodes
 * (verify_limits.c).  verify_limits_init() reads the settings (once the
 * store's backend is chosen); verify_limits_shared() says whether the
 * store keeps them (else verify.c's in-memory limiters and fraud.c's
 * in-memory statistics do).  verify_limits_request() counts the request in its prefix's conversion statistics (*blocked
 * 1, the reason in `reason`, when they block it) and takes a token from
 * the prefix's and the number's buckets (*wait_s: seconds to wait, 0 when
 * allowed).  Nothing is done (0) with a one-process store.  0 or KV_E*.
 */
struct config;
struct store_tx;
void verify_limits_init(const struct config *cfg);
int verify_limits_shared(void);
int verify_limits_request(struct store_tx *c, const char *number,
			  int64_t pk_key_id, int64_t now, char *reason,
			  size_t reason_len, int *blocked, int *wait_s);
/*
 * Before the request's write, on this thread's reader connection (see
 * verify_limits.c for why): the statistics and the prefix's bucket of
 * verify_limits_request(), unless key_id has a live verification for
 * number (the write answers with that one and counts nothing).  *taken 1
 * when they were taken: the write then takes only the number's bucket,
 * verify_limits_number() (*wait_s as above).  With *taken 1 and the
 * request allowed, *id is the id drawn for its verification
 * (store_verification_next_id(); 0: none).  0 or KV_E*.
 */
int verify_limits_before(int64_t key_id, const char *number, int64_t pk_key_id,
			 int64_t now, char *reason, size_t reason_len,
			 int *blocked, int *wait_s, int *taken, int64_t *id);
int verify_limits_number(struct store_tx *c, const char *number, int64_t now,
			 int *wait_s);
/*
 * In the write: store_verification_live() of key_id's verification of
 * number into *live, and with `count` set and none live, the number's
 * bucket of verify_limits_number() in the same step (*counted 1, *wait_s
 * as there).  Returns as store_verification_live().
 */
struct vf_record;
int verify_limits_live(struct store_tx *c, int64_t key_id, const char *number,
		       int64_t now, int count, struct vf_record *live,
		       int *wait_s, int *counted);
/*
 * In the write, for r whose id verify_limits_before() drew:
 * store_verification_start_if_free() of r and job, with the number's
 * bucket of verify_limits_number().  Returns as there.
 */
struct store_job_new;
int verify_limits_start(struct store_tx *c, struct vf_record *r,
			const struct store_job_new *job, int64_t now,
			struct vf_record *live, int *wait_s);
/* verify_limits_start()'s statement sent ahead (store_write_op.lead). */
int verify_limits_start_lead(struct store_tx *c, const struct vf_record *r,
			     const struct store_job_new *job, int64_t now);

/* A test number and its fixed PIN (verify_tests.c). */
struct test_number {
	char digits[16];
	char pin[ENGINE_PIN_MAX + 1];
};

/*
 * Reads the test_numbers setting ("number:PIN,..."; numbers read in
 * default_country).  0, or KV_ECONFIG with a sentence in err.
 */
int verify_tests_parse(const char *list, const char *default_country, char *err,
		       size_t errlen);
/* The test number with these E.164 digits, or NULL. */
const struct test_number *verify_test_find(const char *digits);

/*
 * Missed calls (verify_missed.c).  verify_missed_init() reads the DIDs and
 * the inbound path (0 or KV_ECONFIG with a sentence in err).
 * verify_missed_request(): whether the key may ask for the missed-call
 * workflows (VERIFY_MISSED_OFF when not, VERIFY_ERROR when the store
 * fails), and for a publishable key whose key enables it, a missed call
 * may verify any verification too (req->missed_call_too).
 * verify_missed_bind(): the DID and window of the new verification r
 * (created_ms and number set) from its plan.  verify_first_job(): the
 * first job of a new verification, inserted with it (into *job).
 */
int verify_missed_init(const struct config *cfg, char *err, size_t errlen);
enum verify_result verify_missed_request(int64_t key_id, int publishable,
					 struct engine_request *req);
void verify_missed_bind(struct vf_record *r, const struct engine_plan *plan);
void verify_first_job(const struct vf_record *r, struct store_job_new *job);

/* A store return as a service result: OK, NOT_FOUND or ERROR. */
enum verify_result verify_result_of(int rc);

#endif
