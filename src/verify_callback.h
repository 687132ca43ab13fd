/*
 * The service's side of status callbacks: what each step of a verification
 * queues for its key's callback URL (in the write that records the step),
 * and the two writes of the callback runner (claim, record).  The runner
 * that sends them is callback.c; the shapes are in docs/API.md.
 */
#ifndef KV_VERIFY_CALLBACK_H
#define KV_VERIFY_CALLBACK_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct store_tx;

/*
 * In a write: stores the delivery event ev of r (store_event_insert) and
 * queues its event callback when r's key has a callback URL and r was in
 * progress when this write loaded it (loaded: its state then; after the
 * summary nothing more is sent, however close in time).  0 or KV_E*.
 */
int verify_callback_event(struct store_tx *c, const struct vf_record *r,
			  enum vf_state loaded, const struct vf_event *ev);
/* In a check's write: the event callback of a wrong code (a right one
 * ends the verification: verify_callback_finalize). */
int verify_callback_check(struct store_tx *c, const struct vf_record *r,
			  int valid, int64_t now);
/* In the write of a fraud report (key 9 on a call): its event callback. */
int verify_callback_fraud(struct store_tx *c, const struct vf_record *r,
			  int64_t now);
/*
 * In a write that ends r: store_verification_finalize() and, when r's key
 * has a callback URL, the final event callback and the summary.
 */
int verify_callback_finalize(struct store_tx *c, const struct vf_record *r,
			     int64_t now);

/*
 * Builds the JSON body of an event callback (status, channel as Vonage
 * names them; final: with finalized_at) into out.  Pure, for tests.
 * 0, or KV_ERANGE when it does not fit.
 */
int verify_callback_event_body(const struct vf_record *r, const char *channel,
			       const char *status, int final, int64_t now,
			       char *out, size_t outlen);

/* What the runner claimed: one callback, leased until lease_until. */
struct verify_callback_claim {
	int64_t now;
	int64_t lease_ms;
	int found;
	int64_t next_due; /* none found: the earliest due time, 0 if none */
	int64_t skip[CALLBACK_SKIP_KEYS]; /* keys passed over (0: none) */
	struct vf_callback cb;
};

/* One write: the earliest due callback, leased.  0 or KV_E*. */
int verify_callback_claim(struct verify_callback_claim *cl);

/*
 * One write: what the send did.  delivered: done; else retry at retry_ms,
 * or, when give_up, failed for good with an event (type "callback",
 * result "failed", the reason in detail) on its verification.  KV_ENOTFOUND
 * when the lease was lost (another runner's report counts).
 */
struct verify_callback_report {
	const struct verify_callback_claim *cl;
	int delivered;
	int give_up;
	int64_t retry_ms;
	char reason[128];
};
int verify_callback_record(struct verify_callback_report *o);

/* Registered by the runner: called after a write queued a callback. */
void verify_callback_wake_set(void (*wake)(void));

#endif
