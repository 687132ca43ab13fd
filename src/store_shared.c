/*
 * The decisions both backends share (store_shared.h): the order and
 * cut-offs of a purge batch's steps.
 */
#include <string.h>

#include "err.h"
#include "store_shared.h"

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
