/*
 * The IVR: KooKoo requests /ivr/kookoo at each step of a verification call
 * and POSTs /ivr/kookoo/status when it ends.  Both URLs carry the signed,
 * expiring token the job runner made for that call, and `sid` must be the
 * call id KooKoo gave us.  Each callback is one writer transaction (event,
 * call row, decisions); the XML answer is rendered from the templates.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "db.h"
#include "engine.h"
#include "fraud.h"
#include "err.h"
#include "http.h"
#include "ivr_xml.h"
#include "jobs.h"
#include "log.h"
#include "params.h"
#include "util.h"

/* Times the callee may ask to hear the PIN again, or stay silent. */
#define IVR_REPEATS_MAX 2

enum ivr_event { EV_NEWCALL, EV_DTMF, EV_HANGUP, EV_DISCONNECT, EV_OTHER };

static const struct {
	const char *name;
	enum ivr_event ev;
} event_names[] = {
	{"NewCall", EV_NEWCALL},
	{"GotDTMF", EV_DTMF},
	{"Hangup", EV_HANGUP},
	{"Disconnect", EV_DISCONNECT},
};

struct ivr_tx {
	/* in */
	int64_t vid;
	int step;
	const char *sid;    /* the call id the request is taken for (out) */
	const char *ids[2]; /* sid, then outbound_sid; NULL when absent */
	enum ivr_event ev;
	const char *event_name;
	const char *data;   /* key presses */
	const char *status; /* status POST */
	int duration;
	int is_status;
	int64_t now;
	/* out */
	int refused;
	int confirmed; /* key 2 verified the number */
	int page;      /* enum ivr_page, or -1 for an empty answer */
	struct vf_record rec;
	int repetitions_left;
};

static int key_pressed(const char *data)
{
	/* KooKoo may include the terminator: "2#" is a 2. */
	return data && data[0] >= '0' && data[0] <= '9' ? data[0] : 0;
}

/* Ends the verification as verified (key 2) or cancelled (key 9). */
static int ivr_finish(struct db_conn *c, struct ivr_tx *tx, enum vf_state st)
{
	struct vf_record *r = &tx->rec;
	int rc;

	r->v.state = st;
	r->v.finalized_ms = tx->now;
	if (st == VF_SUCCESS) {
		struct verified_row vr = {.verified_ms = tx->now};

		memcpy(vr.request_id, r->v.request_id, sizeof(vr.request_id));
		rc = db_verified_put(c, r->v.key_id, r->number, &vr);
	} else {
		rc = db_fraud_insert(c, r->number, r->v.id, tx->now);
		if (rc == 0)
			rc = fraud_note_report(c, r->number, r->v.key_id,
					       tx->now);
	}
	return rc ? rc : db_verification_finalize(c, r, tx->now);
}

/* Which page answers a key press (or silence), and what it changes. */
static int ivr_on_dtmf(struct db_conn *c, struct ivr_tx *tx,
		       struct call_row *call)
{
	int key = key_pressed(tx->data);
	int allowed = 1;
	int rc;

	if (key == '2') {
		rc = db_key_voice_confirm(c, tx->rec.v.key_id, &allowed);
		if (rc != 0)
			return rc;
		if (!allowed) {
			tx->page = IVR_GOODBYE;
			snprintf(call->outcome, sizeof(call->outcome),
				 "goodbye");
			return 0;
		}
		tx->page = IVR_CONFIRMED;
		snprintf(call->outcome, sizeof(call->outcome), "confirmed");
		tx->confirmed = 1;
		return ivr_finish(c, tx, VF_SUCCESS);
	}
	if (key == '9') {
		tx->page = IVR_REPORTED;
		snprintf(call->outcome, sizeof(call->outcome), "reported");
		return ivr_finish(c, tx, VF_CANCELLED);
	}
	/*
	 * Key 1 (or another key) reads it again while repetitions are left;
	 * silence gets one more reading only, then goodbye (DESIGN.md).
	 */
	if (call->repeats < (key ? IVR_REPEATS_MAX : 1)) {
		call->repeats++;
		tx->page = IVR_REPEAT;
		tx->repetitions_left = IVR_REPEATS_MAX - call->repeats;
	} else {
		tx->page = IVR_GOODBYE;
		snprintf(call->outcome, sizeof(call->outcome), "goodbye");
	}
	return 0;
}

static int ivr_record_event(struct db_conn *c, const struct ivr_tx *tx)
{
	struct event_row ev;

	memset(&ev, 0, sizeof(ev));
	ev.created_ms = tx->now;
	snprintf(ev.type, sizeof(ev.type), "tts");
	snprintf(ev.channel, sizeof(ev.channel), "%s",
		 tx->is_status ? "call" : "ivr");
	snprintf(ev.provider_id, sizeof(ev.provider_id), "%s", tx->sid);
	snprintf(ev.result, sizeof(ev.result), "%.31s",
		 tx->is_status ? tx->status : tx->event_name);
	if (tx->ev == EV_DTMF)
		snprintf(ev.detail, sizeof(ev.detail), "key %c",
			 key_pressed(tx->data) ? key_pressed(tx->data) : '-');
	else if (tx->duration >= 0)
		snprintf(ev.detail, sizeof(ev.detail), "duration %d s",
			 tx->duration);
	return db_event_insert(c, tx->rec.v.id, &ev);
}

/* How one id a callback carries relates to the token's call. */
enum ivr_id_match { ID_UNKNOWN, ID_MATCH, ID_OTHER_STEP, ID_FOREIGN };

/*
 * Looks id up: ID_MATCH when it is the call id stored for the verification
 * or a call of this verification at this step; ID_FOREIGN when it is
 * another verification's call; ID_OTHER_STEP when it is one of this
 * verification's calls at another step; ID_UNKNOWN when nothing knows it.
 * *call gets its calls row when there is one (zeroed otherwise).
 */
static int ivr_id_match(struct db_conn *c, const struct ivr_tx *tx,
			const char *id, struct call_row *call,
			enum ivr_id_match *m)
{
	int same = strcmp(tx->rec.call_sid, id) == 0;
	int rc;

	memset(call, 0, sizeof(*call));
	rc = db_call_get(c, id, call);
	if (rc == KV_ENOTFOUND) {
		memset(call, 0, sizeof(*call));
		*m = same ? ID_MATCH : ID_UNKNOWN;
		return 0;
	}
	if (rc != 0)
		return rc;
	if (call->verification_id != tx->rec.v.id)
		*m = ID_FOREIGN;
	else
		*m = same || call->step == tx->step ? ID_MATCH : ID_OTHER_STEP;
	return 0;
}

/*
 * KooKoo may ring and request us before the worker has stored the call id
 * it got back.  The token already proves the URL is ours; a new id is bound
 * only to the step the workflow started last, and only once (then it must
 * match).  outbound_sid is bound when present: it is the id the queued
 * reply carries, which the worker is about to store.
 */
static int ivr_bind_new_id(struct db_conn *c, struct ivr_tx *tx, const char *id,
			   int *bound)
{
	struct vf_record *r = &tx->rec;
	struct call_row cur;

	*bound = 0;
	if (tx->step != r->v.next_step - 1 || r->steps[tx->step] != 't')
		return 0;
	/* Only while the stored id is empty or an earlier step's. */
	if (r->call_sid[0] &&
	    (db_call_get(c, r->call_sid, &cur) != 0 || cur.step >= tx->step))
		return 0;
	snprintf(r->call_sid, sizeof(r->call_sid), "%s", id);
	*bound = 1;
	return db_verification_update(c, r);
}

/*
 * Finds the call a callback is about.  KooKoo's sid is its session id and
 * outbound_sid the id its outbound API queued the call under; either may be
 * the one we stored, so either is accepted (the token still binds the
 * request to this verification and step).  An id of another verification or
 * of another step refuses the request, and so do two ids that both differ
 * from a call id already stored for this step.  tx->sid becomes the id
 * taken, or NULL when refused.
 */
static int ivr_find_call(struct db_conn *c, struct ivr_tx *tx,
			 struct call_row *call)
{
	enum ivr_id_match m;
	int known = 0, bound, rc;
	const char *last = NULL;

	tx->sid = NULL;
	for (size_t i = 0; i < ARRAY_LEN(tx->ids); i++) {
		if (!tx->ids[i])
			continue;
		rc = ivr_id_match(c, tx, tx->ids[i], call, &m);
		if (rc != 0)
			return rc;
		if (m == ID_MATCH) {
			tx->sid = tx->ids[i];
			return 0;
		}
		known |= m != ID_UNKNOWN;
		last = tx->ids[i];
	}
	memset(call, 0, sizeof(*call));
	if (known || !last)
		return 0;
	rc = ivr_bind_new_id(c, tx, last, &bound);
	if (rc == 0 && bound)
		tx->sid = last;
	return rc;
}

static int ivr_tx_run(struct db_conn *c, void *arg)
{
	struct ivr_tx *tx = arg;
	struct vf_record *r = &tx->rec;
	struct call_row call;
	int active, rc;

	tx->refused = 1;
	tx->confirmed = 0; /* a replayed batch runs this again */
	tx->page = -1;
	rc = db_verification_by_id(c, tx->vid, r);
	if (rc != 0)
		return rc == KV_ENOTFOUND ? 0 : rc;
	if (tx->step < 0 || tx->step >= r->v.nsteps)
		return 0;
	rc = ivr_find_call(c, tx, &call);
	if (rc != 0 || !tx->sid)
		return rc;
	tx->refused = 0;
	if (!call.sid[0]) {
		snprintf(call.sid, sizeof(call.sid), "%s", tx->sid);
		call.verification_id = r->v.id;
		call.step = tx->step;
	}
	rc = ivr_record_event(c, tx);
	if (rc != 0)
		return rc;
	if (engine_expire_if_due(&r->v, tx->now)) {
		rc = db_verification_finalize(c, r, tx->now);
		if (rc != 0)
			return rc;
	}
	active = r->v.state == VF_IN_PROGRESS &&
		 tx->now < r->v.pin_created_ms + r->v.pin_expiry_ms;
	if (tx->is_status) {
		snprintf(call.status, sizeof(call.status), "%.31s", tx->status);
		call.duration = tx->duration > 0 ? tx->duration : 0;
		/* Not answered: the workflow goes on to its next step now. */
		if (strcmp(tx->status, "answered") != 0 &&
		    r->v.state == VF_IN_PROGRESS) {
			rc = db_job_step_now(c, r->v.id, tx->now, NULL);
			if (rc != 0)
				return rc;
		}
	} else if (tx->ev == EV_NEWCALL) {
		tx->page = active ? IVR_GREETING : IVR_ENDED;
	} else if (tx->ev == EV_DTMF) {
		if (!active) {
			tx->page = IVR_ENDED;
			snprintf(call.outcome, sizeof(call.outcome), "ended");
		} else if ((rc = ivr_on_dtmf(c, tx, &call)) != 0) {
			return rc;
		}
	} else if (tx->ev == EV_HANGUP || tx->ev == EV_DISCONNECT) {
		call.duration = tx->duration > 0 ? tx->duration : call.duration;
	}
	return db_call_put(c, &call, tx->now);
}

/* ---- HTTP ---- */

static void reply_refused(struct http_req *req, const char *why)
{
	log_warn("ivr: refused callback from %s: %s", req->client_ip, why);
	http_reply_copy(req, 403, "text/xml",
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<response><hangup/></response>\n");
}

static void reply_page(struct http_req *req, struct ivr_tx *tx)
{
	struct ivr_fill fill = {
		.brand = tx->rec.brand,
		.repetitions_left = tx->repetitions_left,
		.sid = tx->sid,
	};
	char pin[ENGINE_PIN_MAX + 1] = "";
	char *xml = NULL;
	size_t len = 0;

	if (tx->page == IVR_GREETING || tx->page == IVR_REPEAT) {
		if (crypto_pin_open(tx->rec.v.request_id, tx->rec.pin_box,
				    tx->rec.pin_box_len, pin) != 0)
			tx->page = IVR_ENDED;
	}
	fill.pin = pin;
	if (ivr_xml_render((enum ivr_page)tx->page, tx->rec.lg, &fill, &xml,
			   &len) != 0) {
		http_reply_copy(req, 500, "text/xml", "");
	} else {
		http_reply(req, 200, "text/xml; charset=UTF-8", xml, len);
	}
	sodium_memzero(pin, sizeof(pin));
}

/* Shared by both endpoints: parameters and the token. */
static int ivr_parse(struct http_req *req, struct params *p, struct ivr_tx *tx)
{
	const char *token, *sid, *osid;
	int rc = req->query_len
			 ? params_parse_query(p, req->query, req->query_len)
			 : 0;

	if (rc == 0 && req->body.len)
		rc = params_parse_form(p, req->body.data, req->body.len);
	if (rc != 0 || req->body_too_big) {
		reply_refused(req, "malformed parameters");
		return -1;
	}
	token = params_get(p, "t");
	sid = params_get(p, "sid");
	osid = params_get(p, "outbound_sid");
	tx->ids[0] = sid && *sid ? sid : NULL;
	tx->ids[1] = osid && *osid && (!sid || strcmp(sid, osid) != 0) ? osid
								       : NULL;
	if (!token || (!tx->ids[0] && !tx->ids[1])) {
		reply_refused(req, "token or sid missing");
		return -1;
	}
	rc = crypto_call_token_check(token, now_ms() / 1000, &tx->vid,
				     &tx->step);
	if (rc != 0) {
		reply_refused(req, rc == KV_ERANGE ? "token expired"
						   : "token forged");
		return -1;
	}
	tx->now = now_ms();
	tx->duration = -1;
	return 0;
}

static int parse_duration(const char *s)
{
	int d = -1;

	if (s && parse_int(s, 0, 86400, &d) != 0)
		d = -1;
	return d;
}

/*
 * A callback waiting for its write.  Its write goes through http_write()
 * (the connection is suspended, its HTTP thread serves others meanwhile),
 * so the transaction and the parameters it points into live on the heap
 * until the continuation has answered.
 */
struct ivr_call {
	struct params p;
	struct ivr_tx tx;
};

static struct ivr_call *ivr_call_new(struct http_req *req)
{
	struct ivr_call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL; /* no reply: http.c answers "Internal Error" */
	params_init(&c->p);
	if (ivr_parse(req, &c->p, &c->tx) != 0) {
		params_release(&c->p);
		free(c);
		return NULL;
	}
	return c;
}

static void ivr_call_free(struct ivr_call *c)
{
	sodium_memzero(&c->tx.rec.pin_box, sizeof(c->tx.rec.pin_box));
	params_release(&c->p);
	free(c);
}

static void ivr_callback_then(struct http_req *req, int rc, void *arg)
{
	struct ivr_call *c = arg;
	struct ivr_tx *tx = &c->tx;

	if (rc != 0)
		http_reply_copy(req, 500, "text/xml", "");
	else if (tx->refused)
		reply_refused(req, "sid does not match the call");
	else if (tx->page < 0)
		http_reply_copy(req, 200, "text/xml",
				"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				"<response/>\n");
	else
		reply_page(req, tx);
	if (rc == 0 && !tx->refused && tx->confirmed)
		fraud_note_success(tx->rec.v.key_id, tx->rec.number);
	ivr_call_free(c);
}

static void ivr_callback(struct http_req *req)
{
	struct ivr_call *c = ivr_call_new(req);
	const char *event;

	if (!c)
		return;
	event = params_get(&c->p, "event");
	c->tx.event_name = event ? event : "";
	c->tx.ev = EV_OTHER;
	for (size_t i = 0; i < ARRAY_LEN(event_names); i++)
		if (event && strcmp(event, event_names[i].name) == 0)
			c->tx.ev = event_names[i].ev;
	c->tx.data = params_get(&c->p, "data");
	c->tx.duration =
		parse_duration(params_get(&c->p, "total_call_duration"));
	http_write(req, ivr_tx_run, &c->tx, ivr_callback_then, c);
}

static void ivr_status_then(struct http_req *req, int rc, void *arg)
{
	struct ivr_call *c = arg;

	if (rc != 0) {
		http_reply_copy(req, 500, "text/plain", "");
	} else if (c->tx.refused) {
		reply_refused(req, "sid does not match the call");
	} else {
		/* A call that was not answered may have moved a step forward. */
		jobs_notify(c->tx.now);
		http_reply_copy(req, 200, "text/plain", "");
	}
	ivr_call_free(c);
}

static void ivr_status(struct http_req *req)
{
	struct ivr_call *c = ivr_call_new(req);
	const char *status;

	if (!c)
		return;
	status = params_get(&c->p, "status");
	c->tx.is_status = 1;
	c->tx.ev = EV_OTHER;
	c->tx.status = status && *status ? status : "unknown";
	c->tx.duration = parse_duration(params_get(&c->p, "duration"));
	http_write(req, ivr_tx_run, &c->tx, ivr_status_then, c);
}

const struct route ivr_routes[] = {
	{"/ivr/kookoo", ivr_callback, HTTP_GET | HTTP_POST, 0, 0},
	{"/ivr/kookoo/status", ivr_status, HTTP_GET | HTTP_POST, 0, 0},
	{NULL, NULL, 0, 0, 0},
};
