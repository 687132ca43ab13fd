/*
 * Verifications in the SQLite backend, with what hangs off them: checks,
 * delivery events, calls, the last verified request of a number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "crypto.h"
#include "err.h"
#include "log.h"
#include "store_sqlite.h"
#include "util.h"

/* Binds every column of a verification, numbered as in VF_COLUMNS. */
static void vf_bind(sqlite3_stmt *st, const struct vf_record *r)
{
	const struct verification *v = &r->v;

	sqlite3_bind_int64(st, 1, v->id);
	sqlite_bind_text(st, 2, v->request_id);
	sqlite3_bind_int64(st, 3, v->key_id);
	sqlite_bind_text(st, 4, r->number);
	sqlite3_bind_int(st, 5, r->number_type);
	sqlite_bind_text(st, 6, r->brand);
	sqlite_bind_text(st, 7, r->sender_id);
	sqlite_bind_text(st, 8, r->lg);
	sqlite3_bind_int(st, 9, r->workflow_id);
	sqlite3_bind_int(st, 10, r->code_length);
	sqlite3_bind_int(st, 11, r->test_number);
	sqlite3_bind_blob(st, 12, r->pin_hash, sizeof(r->pin_hash),
			  SQLITE_STATIC);
	sqlite_bind_text(st, 13, r->steps);
	for (int i = 0; i < ENGINE_MAX_STEPS; i++)
		sqlite3_bind_int64(st, 14 + i, r->wait_ms[i]);
	sqlite3_bind_int(st, 17, (int)v->state);
	sqlite3_bind_int(st, 18, v->attempts);
	sqlite3_bind_int(st, 19, v->next_step);
	sqlite3_bind_int(st, 20, v->resends);
	sqlite3_bind_int64(st, 21, v->created_ms);
	sqlite3_bind_int64(st, 22, v->pin_created_ms);
	sqlite3_bind_int64(st, 23, v->pin_expiry_ms);
	sqlite3_bind_int64(st, 24, v->expires_ms);
	sqlite3_bind_int64(st, 25, v->last_resend_ms);
	sqlite3_bind_int64(st, 26, v->finalized_ms);
	sqlite3_bind_int64(st, 27, r->first_event_ms);
	sqlite3_bind_int64(st, 28, r->last_event_ms);
	sqlite3_bind_blob(st, 29, r->pin_box, (int)r->pin_box_len,
			  SQLITE_STATIC);
	sqlite_bind_text(st, 30, r->call_sid);
	sqlite3_bind_blob(st, 31, r->handle_hash,
			  r->has_handle ? (int)sizeof(r->handle_hash) : 0,
			  SQLITE_STATIC);
	sqlite_bind_text(st, 32, r->origin_host);
	sqlite_bind_text(st, 33, r->app_hash);
	sqlite_bind_text(st, 34, r->missed_did);
	sqlite3_bind_int64(st, 35, v->missed_until_ms);
	sqlite_bind_text(st, 36, r->client_ref);
	sqlite3_bind_int(st, 37, r->v2);
	sqlite_bind_text(st, 38, r->template_id);
}

static void vf_from_row(sqlite3_stmt *st, struct vf_record *r)
{
	struct verification *v = &r->v;

	memset(r, 0, sizeof(*r));
	v->id = sqlite3_column_int64(st, 0);
	sqlite_get_text(st, 1, v->request_id, sizeof(v->request_id));
	v->key_id = sqlite3_column_int64(st, 2);
	sqlite_get_text(st, 3, r->number, sizeof(r->number));
	r->number_type = sqlite3_column_int(st, 4);
	sqlite_get_text(st, 5, r->brand, sizeof(r->brand));
	sqlite_get_text(st, 6, r->sender_id, sizeof(r->sender_id));
	sqlite_get_text(st, 7, r->lg, sizeof(r->lg));
	r->workflow_id = sqlite3_column_int(st, 8);
	r->code_length = sqlite3_column_int(st, 9);
	r->test_number = sqlite3_column_int(st, 10);
	sqlite_get_blob(st, 11, r->pin_hash, sizeof(r->pin_hash));
	sqlite_get_text(st, 12, r->steps, sizeof(r->steps));
	v->nsteps = (int)strlen(r->steps);
	for (int i = 0; i < ENGINE_MAX_STEPS; i++)
		r->wait_ms[i] = sqlite3_column_int64(st, 13 + i);
	v->state = (enum vf_state)sqlite3_column_int(st, 16);
	v->attempts = sqlite3_column_int(st, 17);
	v->next_step = sqlite3_column_int(st, 18);
	v->resends = sqlite3_column_int(st, 19);
	v->created_ms = sqlite3_column_int64(st, 20);
	v->pin_created_ms = sqlite3_column_int64(st, 21);
	v->pin_expiry_ms = sqlite3_column_int64(st, 22);
	v->expires_ms = sqlite3_column_int64(st, 23);
	v->last_resend_ms = sqlite3_column_int64(st, 24);
	v->finalized_ms = sqlite3_column_int64(st, 25);
	r->first_event_ms = sqlite3_column_int64(st, 26);
	r->last_event_ms = sqlite3_column_int64(st, 27);
	r->pin_box_len = (size_t)sqlite3_column_bytes(st, 28);
	if (r->pin_box_len > sizeof(r->pin_box))
		r->pin_box_len = 0; /* not ours: the PIN cannot be re-sent */
	if (r->pin_box_len)
		memcpy(r->pin_box, sqlite3_column_blob(st, 28), r->pin_box_len);
	sqlite_get_text(st, 29, r->call_sid, sizeof(r->call_sid));
	if (sqlite3_column_bytes(st, 30) == (int)sizeof(r->handle_hash)) {
		memcpy(r->handle_hash, sqlite3_column_blob(st, 30),
		       sizeof(r->handle_hash));
		r->has_handle = 1;
	}
	sqlite_get_text(st, 31, r->origin_host, sizeof(r->origin_host));
	sqlite_get_text(st, 32, r->app_hash, sizeof(r->app_hash));
	sqlite_get_text(st, 33, r->missed_did, sizeof(r->missed_did));
	v->missed_until_ms = sqlite3_column_int64(st, 34);
	sqlite_get_text(st, 35, r->client_ref, sizeof(r->client_ref));
	r->v2 = sqlite3_column_int(st, 36) != 0;
	sqlite_get_text(st, 37, r->template_id, sizeof(r->template_id));
}

int sqlite_verification_next_id(struct store_tx *c, int64_t *id)
{
	sqlite3_stmt *st = c->stmt[STMT_VF_NEXT_ID];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	return sqlite_row_done(c, st, rc, "next verification id");
}

int sqlite_verification_insert(struct store_tx *c, struct vf_record *r)
{
	sqlite3_stmt *st = c->stmt[STMT_VF_INSERT];
	int rc;

	vf_bind(st, r);
	if (r->v.id <= 0)
		sqlite3_bind_null(st, 1);
	rc = sqlite_run(c, STMT_VF_INSERT, "insert verification");
	if (rc == 0)
		r->v.id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int vf_lookup(struct store_tx *c, enum stmt_id id, struct vf_record *out,
		     const char *what)
{
	sqlite3_stmt *st = c->stmt[id];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		vf_from_row(st, out);
	return sqlite_row_done(c, st, rc, what);
}

/* The row id with the caller's key (another key's row is not read). */
static int vf_by_id_key(struct store_tx *c, int64_t id, int64_t key_id,
			struct vf_record *out)
{
	sqlite3_bind_int64(c->stmt[STMT_VF_BY_ID_KEY], 1, id);
	sqlite3_bind_int64(c->stmt[STMT_VF_BY_ID_KEY], 2, key_id);
	return vf_lookup(c, STMT_VF_BY_ID_KEY, out, "get verification");
}

static int vf_by_legacy_id(struct store_tx *c, const char *request_id,
			   int64_t key_id, struct vf_record *out)
{
	sqlite_bind_text(c->stmt[STMT_VF_GET_LEGACY], 1, request_id);
	sqlite3_bind_int64(c->stmt[STMT_VF_GET_LEGACY], 2, key_id);
	return vf_lookup(c, STMT_VF_GET_LEGACY, out, "get verification");
}

int sqlite_verification_get(struct store_tx *c, const char *request_id,
			    int64_t key_id, struct vf_record *out)
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
	rc = vf_by_id_key(c, parsed ? id : 0, key_id, out);
	rc_legacy = vf_by_legacy_id(c, request_id, key_id, &old);
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

int sqlite_verification_live(struct store_tx *c, int64_t key_id,
			     const char *number, struct vf_record *out)
{
	sqlite3_bind_int64(c->stmt[STMT_VF_LIVE], 1, key_id);
	sqlite_bind_text(c->stmt[STMT_VF_LIVE], 2, number);
	return vf_lookup(c, STMT_VF_LIVE, out, "live verification");
}

int sqlite_verification_missed(struct store_tx *c, const char *number,
			       const char *did, struct vf_record *out)
{
	sqlite_bind_text(c->stmt[STMT_VF_MISSED], 1, number);
	sqlite_bind_text(c->stmt[STMT_VF_MISSED], 2, did);
	return vf_lookup(c, STMT_VF_MISSED, out, "missed-call verification");
}

int sqlite_verification_update(struct store_tx *c, const struct vf_record *r)
{
	vf_bind(c->stmt[STMT_VF_UPDATE], r);
	return sqlite_run(c, STMT_VF_UPDATE, "update verification");
}

int sqlite_check_insert(struct store_tx *c, int64_t verification_id,
			const struct vf_check *ch)
{
	sqlite3_stmt *st = c->stmt[STMT_CHECK_INSERT];

	sqlite3_bind_int64(st, 1, verification_id);
	sqlite3_bind_int64(st, 2, ch->created_ms);
	sqlite_bind_text(st, 3, ch->code);
	sqlite3_bind_int(st, 4, ch->valid);
	sqlite_bind_text(st, 5, ch->ip);
	return sqlite_run(c, STMT_CHECK_INSERT, "insert check");
}

int sqlite_checks_foreach(struct store_tx *c, int64_t verification_id,
			  int (*cb)(const struct vf_check *ch, void *arg),
			  void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_CHECK_LIST];
	struct vf_check ch;
	int rc, cbrc = 0;

	sqlite3_bind_int64(st, 1, verification_id);
	while (cbrc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ch.created_ms = sqlite3_column_int64(st, 0);
		sqlite_get_text(st, 1, ch.code, sizeof(ch.code));
		ch.valid = sqlite3_column_int(st, 2);
		sqlite_get_text(st, 3, ch.ip, sizeof(ch.ip));
		cbrc = cb(&ch, arg);
	}
	if (cbrc != 0)
		rc = SQLITE_DONE;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sqlite_fail(c, "list checks");
	return cbrc;
}

int sqlite_event_insert(struct store_tx *c, int64_t verification_id,
			const struct vf_event *ev)
{
	sqlite3_stmt *st = c->stmt[STMT_EVENT_INSERT];

	sqlite3_bind_int64(st, 1, verification_id);
	sqlite3_bind_int64(st, 2, ev->created_ms);
	sqlite_bind_text(st, 3, ev->type);
	sqlite_bind_text(st, 4, ev->channel);
	sqlite_bind_text(st, 5, ev->provider_id);
	sqlite_bind_text(st, 6, ev->result);
	sqlite_bind_text(st, 7, ev->detail);
	sqlite_bind_text(st, 8, ev->encoding);
	sqlite3_bind_int(st, 9, ev->segments);
	return sqlite_run(c, STMT_EVENT_INSERT, "insert event");
}

int sqlite_events_foreach(struct store_tx *c, int64_t verification_id,
			  int (*cb)(const struct vf_event *ev, void *arg),
			  void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_EVENT_LIST];
	struct vf_event ev;
	int rc, cbrc = 0;

	sqlite3_bind_int64(st, 1, verification_id);
	while (cbrc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ev.created_ms = sqlite3_column_int64(st, 0);
		sqlite_get_text(st, 1, ev.type, sizeof(ev.type));
		sqlite_get_text(st, 2, ev.channel, sizeof(ev.channel));
		sqlite_get_text(st, 3, ev.provider_id, sizeof(ev.provider_id));
		sqlite_get_text(st, 4, ev.result, sizeof(ev.result));
		sqlite_get_text(st, 5, ev.detail, sizeof(ev.detail));
		sqlite_get_text(st, 6, ev.encoding, sizeof(ev.encoding));
		ev.segments = sqlite3_column_int(st, 7);
		cbrc = cb(&ev, arg);
	}
	if (cbrc != 0)
		rc = SQLITE_DONE;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sqlite_fail(c, "list events");
	return cbrc;
}

int sqlite_verified_put(struct store_tx *c, int64_t key_id, const char *number,
			const struct vf_verified *vr)
{
	sqlite3_stmt *st = c->stmt[STMT_VERIFIED_PUT];

	sqlite3_bind_int64(st, 1, key_id);
	sqlite_bind_text(st, 2, number);
	sqlite3_bind_int64(st, 3, vr->verified_ms);
	sqlite_bind_text(st, 4, vr->request_id);
	return sqlite_run(c, STMT_VERIFIED_PUT, "put verified number");
}

int sqlite_verified_get(struct store_tx *c, int64_t key_id, const char *number,
			struct vf_verified *out)
{
	sqlite3_stmt *st = c->stmt[STMT_VERIFIED_GET];
	int rc;

	sqlite3_bind_int64(st, 1, key_id);
	sqlite_bind_text(st, 2, number);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->verified_ms = sqlite3_column_int64(st, 0);
		sqlite_get_text(st, 1, out->request_id,
				sizeof(out->request_id));
	}
	return sqlite_row_done(c, st, rc, "get verified number");
}

int sqlite_verification_by_id(struct store_tx *c, int64_t id,
			      struct vf_record *out)
{
	sqlite3_bind_int64(c->stmt[STMT_VF_BY_ID], 1, id);
	return vf_lookup(c, STMT_VF_BY_ID, out, "verification by id");
}

int sqlite_verification_finalize(struct store_tx *c, const struct vf_record *r,
				 int64_t now)
{
	int rc = sqlite_verification_update(c, r);

	if (rc == 0)
		rc = sqlite_jobs_cancel(c, r->v.id, now);
	return rc;
}

int sqlite_call_get(struct store_tx *c, const char *sid, struct vf_call *out)
{
	sqlite3_stmt *st = c->stmt[STMT_CALL_GET];
	int rc;

	sqlite_bind_text(st, 1, sid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out->sid, sizeof(out->sid), "%s", sid);
		out->verification_id = sqlite3_column_int64(st, 0);
		out->step = sqlite3_column_int(st, 1);
		out->repeats = sqlite3_column_int(st, 2);
		sqlite_get_text(st, 3, out->outcome, sizeof(out->outcome));
		sqlite_get_text(st, 4, out->status, sizeof(out->status));
		out->duration = sqlite3_column_int(st, 5);
	}
	return sqlite_row_done(c, st, rc, "get call");
}

int sqlite_call_put(struct store_tx *c, const struct vf_call *cr, int64_t now)
{
	sqlite3_stmt *st = c->stmt[STMT_CALL_PUT];

	sqlite_bind_text(st, 1, cr->sid);
	sqlite3_bind_int64(st, 2, cr->verification_id);
	sqlite3_bind_int(st, 3, cr->step);
	sqlite3_bind_int(st, 4, cr->repeats);
	sqlite_bind_text(st, 5, cr->outcome);
	sqlite_bind_text(st, 6, cr->status);
	sqlite3_bind_int(st, 7, cr->duration);
	sqlite3_bind_int64(st, 8, now);
	return sqlite_run(c, STMT_CALL_PUT, "put call");
}

int sqlite_recent_numbers_foreach(struct store_tx *c, int64_t since_ms,
				  void (*cb)(const char *number, int64_t at_ms,
					     void *arg),
				  void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_NUMBER_RECENT];
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(st, 1);
		char number[16];

		/* Rowids grow with time (a clock step back only blurs this). */
		if (at <= since_ms)
			break;
		if (sqlite3_column_int(st, 2))
			continue; /* test numbers are not limited */
		sqlite_get_text(st, 0, number, sizeof(number));
		cb(number, at, arg);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		       ? 0
		       : sqlite_fail(c, "recent numbers");
}
