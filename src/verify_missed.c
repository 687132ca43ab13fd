/*
 * Missed-call verification: the DIDs a person may call (a pool, one picked
 * per number), the secret path of the inbound IVR URL, the missed-call
 * part of a new verification, and the inbound call itself: one writer
 * transaction that verifies the pending verification of that caller for
 * that DID within its window, once, and records every call (docs/IVR.md).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "addr.h"
#include "err.h"
#include "fraud.h"
#include "log.h"
#include "phone.h"
#include "store.h"
#include "util.h"
#include "verify.h"
#include "verify_callback.h"
#include "verify_internal.h"

#define DIDS_MAX 16
#define PATH_MIN 16

static struct {
	char dids[DIDS_MAX][16]; /* E.164 digits */
	size_t ndids;
	char path[128];
	char default_country[3];
	struct addr_net sources[MISSED_CALL_SOURCES_MAX]; /* none: any */
	size_t nsources;
} ms;

/* Calls answered: verified, ignored (matched, changed nothing), unmatched. */
static atomic_ulong counts[3];

static int missed_fail(char *err, size_t errlen, const char *what,
		       const char *value)
{
	snprintf(err, errlen, "%s: %s", what, value);
	return KV_ECONFIG;
}

static int parse_dids(const char *list, char *err, size_t errlen)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		char one[32];
		struct phone ph;

		if (n == 0 || n >= sizeof(one) || ms.ndids == DIDS_MAX)
			return missed_fail(err, errlen, "missed_call_dids",
					   "a list of at most 16 numbers");
		memcpy(one, p, n);
		one[n] = '\0';
		if (phone_parse(one, NULL, ms.default_country, &ph) != 0)
			return missed_fail(err, errlen, "missed_call_dids",
					   "not a phone number");
		memcpy(ms.dids[ms.ndids++], ph.digits, sizeof(ph.digits));
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

int verify_missed_init(const struct config *cfg, char *err, size_t errlen)
{
	size_t n = strlen(cfg->missed_call_path);
	char bad[ADDR_TEXT_MAX];

	memset(&ms, 0, sizeof(ms));
	memcpy(ms.default_country, cfg->default_country,
	       sizeof(ms.default_country));
	if (n && (n < PATH_MIN ||
		  strspn(cfg->missed_call_path,
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_-") != n))
		return missed_fail(err, errlen, "missed_call_path",
				   "16 or more characters of [A-Za-z0-9_-]");
	snprintf(ms.path, sizeof(ms.path), "%s", cfg->missed_call_path);
	if (addr_net_list_parse(cfg->missed_call_sources, ms.sources,
				MISSED_CALL_SOURCES_MAX, &ms.nsources, bad,
				sizeof(bad)) != 0)
		return missed_fail(err, errlen, "missed_call_sources",
				   "a list of at most 32 ADDR or ADDR/BITS");
	return parse_dids(cfg->missed_call_dids, err, errlen);
}

int verify_missed_path_ok(const char *segment)
{
	size_t n = strlen(ms.path);

	/* No path set: no inbound call is taken. */
	if (!n || strlen(segment) != n)
		return 0;
	return sodium_memcmp(segment, ms.path, n) == 0;
}

int verify_missed_source_ok(const char *client_ip)
{
	return ms.nsources == 0 ||
	       addr_net_list_has(ms.sources, ms.nsources, client_ip);
}

void verify_missed_counts(unsigned long out[3])
{
	for (int i = 0; i < 3; i++)
		out[i] = atomic_load(&counts[i]);
}

/* The same DID for the same number, so a retry shows the same one. */
static const char *did_for(const char *number)
{
	uint32_t h = 2166136261u;

	for (const char *p = number; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return ms.dids[h % ms.ndids];
}

static int is_our_did(const char *digits)
{
	for (size_t i = 0; i < ms.ndids; i++)
		if (strcmp(ms.dids[i], digits) == 0)
			return 1;
	return 0;
}

enum verify_result verify_missed_request(int64_t key_id, int publishable,
					 struct engine_request *req)
{
	int wanted = req->workflow_id == ENGINE_WF_MISSED ||
		     req->workflow_id == ENGINE_WF_MISSED_SMS;
	struct store_tx *c;
	int on = 0;

	if (!wanted && !publishable)
		return VERIFY_OK;
	c = store_reader();
	if (!c || store_key_missed_call(c, key_id, &on) != 0)
		return VERIFY_ERROR;
	on = on && ms.ndids > 0;
	if (wanted && !on)
		return VERIFY_MISSED_OFF;
	/* A page's visitor may give a missed call instead of typing. */
	if (publishable && on)
		req->missed_call_too = 1;
	return VERIFY_OK;
}

void verify_missed_bind(struct vf_record *r, const struct engine_plan *plan)
{
	if (plan->missed_ms <= 0)
		return;
	memcpy(r->missed_did, did_for(r->number), sizeof(r->missed_did));
	r->v.missed_until_ms = r->v.created_ms + plan->missed_ms;
	r->v.next_step = plan->first_step;
}

void verify_first_job(const struct vf_record *r, struct store_job_new *job)
{
	int first = r->v.next_step;

	job->kind = JOB_STEP;
	job->step = first;
	job->due_ms = r->v.created_ms;
	/* The missed call began with the reply: what follows its window. */
	if (first != 0 && first < r->v.nsteps) {
		job->due_ms = r->v.created_ms + r->wait_ms[0];
	} else if (first != 0) {
		job->kind = JOB_EXPIRE;
		job->step = 0;
		job->due_ms = r->v.expires_ms;
	}
}

/* ---- the inbound call ---- */

int verify_inbound_start(struct verify_inbound *in)
{
	struct phone caller, did;

	in->result = INBOUND_UNMATCHED;
	in->number[0] = '\0';
	snprintf(in->why, sizeof(in->why), "unknown caller");
	if (!in->cid ||
	    phone_parse(in->cid, NULL, ms.default_country, &caller) != 0)
		return 0;
	memcpy(in->number, caller.digits, sizeof(in->number));
	snprintf(in->why, sizeof(in->why), "not our DID");
	if (!in->called ||
	    phone_parse(in->called, NULL, ms.default_country, &did) != 0 ||
	    !is_our_did(did.digits))
		return 0;
	memcpy(in->did, did.digits, sizeof(in->did));
	snprintf(in->why, sizeof(in->why), "no verification");
	return 1;
}

static int inbound_event(struct store_tx *c, const struct verify_inbound *in,
			 enum vf_state loaded)
{
	struct vf_event ev;

	vf_event_set(&ev, in->now, "missed_call", "missed", in->sid,
		     in->result == INBOUND_VERIFIED ? "verified" : "ignored",
		     in->why);
	return verify_callback_event(c, &in->rec, loaded, &ev);
}

/* Verified: what a right code records, and the end of the workflow. */
static int inbound_verified(struct store_tx *c, struct verify_inbound *in)
{
	struct vf_record *r = &in->rec;
	struct vf_verified vr = {.verified_ms = in->now};
	int rc;

	memcpy(vr.request_id, r->v.request_id, sizeof(vr.request_id));
	rc = store_verified_put(c, r->v.key_id, r->number, &vr);
	if (rc == 0)
		rc = fraud_count_success(c, r->v.key_id, r->number, in->now);
	return rc;
}

int verify_inbound_run(struct store_tx *c, void *arg)
{
	struct verify_inbound *in = arg;
	struct vf_record *r = &in->rec;
	enum vf_state before;
	int rc;

	/* A replayed batch runs this again: start from the inputs. */
	in->result = INBOUND_UNMATCHED;
	snprintf(in->why, sizeof(in->why), "no verification");
	rc = store_verification_missed(c, in->number, in->did, r);
	if (rc != 0)
		return rc == KV_ENOTFOUND ? 0 : rc;
	before = r->v.state;
	if (engine_missed_call(&r->v, in->now) == CONTROL_OK) {
		in->result = INBOUND_VERIFIED;
		snprintf(in->why, sizeof(in->why), "caller verified");
		rc = inbound_verified(c, in);
	} else {
		in->result = INBOUND_IGNORED;
		snprintf(in->why, sizeof(in->why), "%s",
			 r->v.state != VF_IN_PROGRESS
				 ? engine_state_name(r->v.state)
				 : "missed-call window over");
	}
	if (rc == 0)
		rc = inbound_event(c, in, before);
	if (rc == 0 && r->v.state != before)
		rc = verify_finalize(c, r, in->now, MCH_MISSED_CALL);
	return rc;
}

void verify_inbound_finish(struct verify_inbound *in, int rc)
{
	if (rc != 0)
		return;
	atomic_fetch_add(&counts[in->result], 1);
	if (in->result == INBOUND_VERIFIED)
		fraud_note_success(in->rec.v.key_id, in->rec.number);
	if (in->result != INBOUND_UNMATCHED)
		return;
	/* Recorded nowhere else: the operator's trace, number masked. */
	log_info("missed_call.unmatched", LOG_NUMBER("from", in->number),
		 LOG_STR("why", in->why), LOG_STRN("sid", in->sid, 40));
}
