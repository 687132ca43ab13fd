/*
 * Shared by the service's own files (verify*.c) only: what more than one of
 * them needs and no caller of the service should.
 */
#ifndef KV_VERIFY_INTERNAL_H
#define KV_VERIFY_INTERNAL_H

#include "model.h"
#include "verify.h"

/*
 * Stores `pin` in r as its keyed hash (for checks) and its sealed copy (for
 * delivery), both bound to r's request id, which must be set.
 */
void verify_pin_bind(struct vf_record *r, const char *pin);

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

/* A store return as a service result: OK, NOT_FOUND or ERROR. */
enum verify_result verify_result_of(int rc);

#endif
