/*
 * The decisions both backends share (store_shared.h): which of a request
 * id's two lookups names the verification, and the order and cut-offs of a
 * purge batch's steps.
 */
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "store_shared.h"

int store_shared_vf_get(struct store_tx *c, const char *request_id,
			int64_t key_id, struct vf_record *out,
			int (*by_id)(struct store_tx *c, int64_t id,
				     int64_t key_id, struct vf_record *out),
			int (*legacy)(struct store_tx *c,
				      const char *request_id, int64_t key_id,
				      struct vf_record *out))
{
	struct vf_record old;
	int64_t id = 0;
	int parsed = crypto_request_id_parse(request_id, &id) == 0;
	int rc, rc_legacy, rc_other;

	/*
	 * Another key's request id and a made-up one must cost the same
	 * (docs/SECURITY.md, side channels), so every id runs both lookups,
	 * each returning no row for them: the row id with the caller's key
	 * (an id that is not ours looks up row 0, which never exists) and the
	 * ids from before request ids were derived from the row id.  A
	 * parsed id is taken from the first only; its stored id must still be
	 * this one (a legacy row has another).
	 */
	rc = by_id(c, parsed ? id : 0, key_id, out);
	rc_legacy = legacy(c, request_id, key_id, &old);
	if (!parsed) {
		rc_other = rc;
		rc = rc_legacy;
		if (rc == 0)
			memcpy(out, &old, sizeof(*out));
	} else {
		rc_other = rc_legacy;
		if (rc == 0 &&
		    !crypto_request_id_equal(out->v.request_id, request_id))
			rc = KV_ENOTFOUND;
	}
	/* A failed read in the other lookup fails this one too. */
	if ((rc == 0 || rc == KV_ENOTFOUND) && rc_other != 0 &&
	    rc_other != KV_ENOTFOUND)
		rc = rc_other;
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	sodium_memzero(&old, sizeof(old));
	return rc;
}

int store_shared_purge_batch(struct store_tx *c, const struct store_purge *p,
			     struct store_purge_counts *out,
			     const struct store_purge_steps *steps)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (p->limit <= 0)
		return KV_EINVAL;
	out->last_id = p->after_id;
	if (p->finished_before > 0) {
		rc = steps->verifications(c, p, out);
		if (rc != 0)
			return rc;
	}
	/* Expired entries answer nothing; kept only if verifications are. */
	if (p->finished_before > 0 && p->verified_after > 0) {
		rc = steps->verified(c, p->verified_after, p->limit,
				     &out->verified_numbers);
		if (rc != 0)
			return rc;
	}
	out->last_check_id = p->after_check_id;
	if (p->addresses_before > 0) {
		rc = steps->addresses(c, p->after_check_id, p->limit,
				      p->addresses_before, &out->last_check_id,
				      &out->more_checks, &out->addresses);
		if (rc != 0)
			return rc;
	}
	out->last_event_id = p->after_event_id;
	if (p->events_before > 0)
		rc = steps->events(c, p->after_event_id, p->limit,
				   p->events_before, &out->last_event_id,
				   &out->more_events, &out->events);
	return rc;
}
