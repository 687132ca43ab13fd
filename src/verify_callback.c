/*
 * The service's side of status callbacks: each step of a verification of a
 * key that has a callback URL queues an event callback, and its end a
 * summary, in the same write that records the step (so nothing committed
 * is lost); the callback runner's claim and record writes.  Shapes: Vonage
 * Verify v2's (docs/API.md, "Callbacks").
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "err.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "util.h"
#include "verify_callback.h"

static void (*wake_fn)(void);

void verify_callback_wake_set(void (*wake)(void))
{
	wake_fn = wake;
}

/* ISO 8601 UTC with milliseconds, as Vonage writes its times. */
static json_t *json_time(int64_t ms)
{
	char s[25];

	format_iso_ms(ms, s);
	return json_string(s);
}

/* A workflow step's letter (vf_record.steps) as a Vonage channel. */
static const char *step_channel(char step)
{
	return step == 's' ? "sms" : step == 't' ? "voice" : "missed_call";
}

/* The channel of the step that ran last (the first before any ran). */
static const char *current_channel(const struct vf_record *r)
{
	int i = r->v.next_step > 0 ? r->v.next_step - 1 : 0;

	return step_channel(r->steps[i]);
}

/*
 * The verification's id as the start that made it answered: the UUID form
 * for Verify v2's, the 32 hex digits for the other dialects'.
 */
static void request_id_set(json_t *o, const struct vf_record *r)
{
	char uuid[UUID_LEN + 1];

	if (r->v2)
		uuid_from_hex(r->v.request_id, uuid);
	json_object_set_new(o, "request_id",
			    json_string(r->v2 ? uuid : r->v.request_id));
}

/*
 * The client's reference, as Vonage v2 gives it back in every callback of
 * the verification: absent when the start gave none.
 */
static void client_ref_set(json_t *o, const struct vf_record *r)
{
	if (r->client_ref[0])
		json_object_set_new(o, "client_ref",
				    json_string(r->client_ref));
}

/* Serialises obj (stolen) into out; KV_ERANGE when it does not fit. */
static int body_dump(json_t *obj, char *out, size_t outlen)
{
	size_t n;

	if (!obj)
		return KV_ENOMEM;
	n = json_dumpb(obj, out, outlen, JSON_COMPACT);
	json_decref(obj);
	if (n == 0 || n >= outlen)
		return KV_ERANGE;
	out[n] = '\0';
	return 0;
}

int verify_callback_event_body(const struct vf_record *r, const char *channel,
			       const char *status, int final, int64_t now,
			       char *out, size_t outlen)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string("event"));
	request_id_set(o, r);
	json_object_set_new(o, "triggered_at", json_time(now));
	json_object_set_new(o, "channel", json_string(channel));
	json_object_set_new(o, "status", json_string(status));
	if (final)
		json_object_set_new(o, "finalized_at", json_time(now));
	client_ref_set(o, r);
	return body_dump(o, out, outlen);
}

/* Queues a callback with body `body` for r (its key has a callback URL). */
static int queue(struct store_tx *c, const struct vf_record *r,
		 const char *body, int64_t now)
{
	struct vf_callback cb;
	unsigned char id[CALLBACK_JTI_LEN / 2];
	int rc;

	memset(&cb, 0, sizeof(cb));
	cb.verification_id = r->v.id;
	cb.key_id = r->v.key_id;
	randombytes_buf(id, sizeof(id));
	hex_encode(id, sizeof(id), cb.jti);
	snprintf(cb.body, sizeof(cb.body), "%s", body);
	rc = store_callback_insert(c, &cb, now);
	/*
	 * Before the commit: on SQLite the runner's claim queues behind this
	 * write; elsewhere the runner claims again for a while after a wake
	 * (callback.c, WAKE_WINDOW_MS).
	 */
	if (rc == 0 && wake_fn)
		wake_fn();
	if (rc == 0)
		metrics_inc(M_CALLBACKS, MCB_QUEUED, 0, 0);
	return rc;
}

/* Whether r's key has a callback URL: 1, 0, or KV_E*. */
static int wanted(struct store_tx *c, const struct vf_record *r)
{
	struct key_callback kc;
	int rc = store_key_callback_get(c, r->v.key_id, &kc);

	sodium_memzero(kc.secret, sizeof(kc.secret));
	return rc == 0 ? 1 : rc == KV_ENOTFOUND ? 0 : rc;
}

static int queue_event(struct store_tx *c, const struct vf_record *r,
		       const char *channel, const char *status, int final,
		       int64_t now)
{
	char body[CALLBACK_BODY_MAX];
	int rc = wanted(c, r);

	if (rc <= 0)
		return rc;
	rc = verify_callback_event_body(r, channel, status, final, now, body,
					sizeof(body));
	return rc ? rc : queue(c, r, body, now);
}

/*
 * Which delivery events make a callback, and as what: the event's type,
 * channel and result ("*": any) to Vonage's channel and a status.
 */
static const struct event_rule {
	const char *type, *channel, *result;
	const char *cb_channel, *cb_status;
} event_rules[] = {
	{"*", "sms", "accepted", "sms", "sent"},
	{"*", "sms", "refused", "sms", "rejected"},
	{"*", "sms", "failed", "sms", "failed"},
	{"*", "tts", "accepted", "voice", "sent"},
	{"*", "tts", "refused", "voice", "rejected"},
	{"*", "tts", "failed", "voice", "failed"},
	{"*", "tts", "skipped", "voice", "skipped"},
	{"tts", "ivr", "NewCall", "voice", "answered"},
	{"tts", "ivr", "GotDTMF", "voice", "key_pressed"},
	{"tts", "call", "*", "voice", "call_ended"},
	{"missed_call", "missed", "verified", "missed_call", "received"},
};

static int rule_match(const char *pattern, const char *s)
{
	return strcmp(pattern, "*") == 0 || strcmp(pattern, s) == 0;
}

int verify_callback_event(struct store_tx *c, const struct vf_record *r,
			  enum vf_state loaded, const struct vf_event *ev)
{
	int rc = store_event_insert(c, r->v.id, ev);

	/*
	 * Ended by an earlier write (a call's status POST after the key that
	 * verified it, even in the same millisecond): its summary is queued
	 * already, and nothing follows a summary.
	 */
	if (loaded != VF_IN_PROGRESS)
		return rc;
	for (size_t i = 0; rc == 0 && i < ARRAY_LEN(event_rules); i++) {
		const struct event_rule *e = &event_rules[i];

		if (rule_match(e->type, ev->type) &&
		    rule_match(e->channel, ev->channel) &&
		    rule_match(e->result, ev->result))
			return queue_event(c, r, e->cb_channel, e->cb_status, 0,
					   ev->created_ms);
	}
	return rc;
}

int verify_callback_check(struct store_tx *c, const struct vf_record *r,
			  int valid, int64_t now)
{
	return valid ? 0
		     : queue_event(c, r, current_channel(r), "code_wrong", 0,
				   now);
}

int verify_callback_fraud(struct store_tx *c, const struct vf_record *r,
			  int64_t now)
{
	return queue_event(c, r, "voice", "user_rejected", 0, now);
}

/* Vonage's name of a final state (events, the summary). */
static const char *final_status(enum vf_state s)
{
	switch (s) {
	case VF_SUCCESS:
		return "completed";
	case VF_EXPIRED:
		return "expired";
	case VF_CANCELLED:
		return "cancelled";
	default:
		return "failed";
	}
}

/* The steps' start times and outcomes, from the verification's events. */
struct steps_seen {
	int n;
	int64_t at[ENGINE_MAX_STEPS];
	int failed[ENGINE_MAX_STEPS];
};

/* Each step's send ends in one record of these results (verify_job.c). */
static const char *const step_results[] = {"accepted", "refused", "failed",
					   "skipped"};
static const char *const step_channels[] = {"sms", "tts"};

static int one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static int step_event(const struct vf_event *ev, void *arg)
{
	struct steps_seen *s = arg;

	if (s->n >= ENGINE_MAX_STEPS || strcmp(ev->type, "resend") == 0 ||
	    !one_of(ev->channel, step_channels, ARRAY_LEN(step_channels)) ||
	    !one_of(ev->result, step_results, ARRAY_LEN(step_results)))
		return 0;
	s->failed[s->n] = strcmp(ev->result, "accepted") != 0;
	s->at[s->n++] = ev->created_ms;
	return 0;
}

/* The summary's workflow[]: each step's channel, start and status. */
static json_t *summary_workflow(const struct vf_record *r,
				const struct steps_seen *s)
{
	json_t *a = json_array();
	int sent = 0; /* steps sent through KooKoo, in s */

	for (int i = 0; i < r->v.nsteps; i++) {
		json_t *w = json_object();
		char ch = r->steps[i];
		const char *st = "unused";

		json_object_set_new(w, "channel",
				    json_string(step_channel(ch)));
		if (i < r->v.next_step) {
			int64_t at = r->v.created_ms;
			int failed = 0;

			if (ch != 'm' && sent < s->n) {
				at = s->at[sent];
				failed = s->failed[sent];
				sent++;
			}
			json_object_set_new(w, "initiated_at", json_time(at));
			st = i == r->v.next_step - 1 ? final_status(r->v.state)
			     : failed                ? "failed"
						     : "expired";
		}
		json_object_set_new(w, "status", json_string(st));
		json_array_append_new(a, w);
	}
	return a;
}

static int summary_body(struct store_tx *c, const struct vf_record *r,
			int64_t now, char *out, size_t outlen)
{
	struct steps_seen seen;
	json_t *o;
	int rc;

	memset(&seen, 0, sizeof(seen));
	rc = store_events_foreach(c, r->v.id, step_event, &seen);
	if (rc != 0)
		return rc;
	o = json_object();
	json_object_set_new(o, "type", json_string("summary"));
	request_id_set(o, r);
	json_object_set_new(o, "submitted_at", json_time(r->v.created_ms));
	json_object_set_new(o, "finalized_at",
			    json_time(r->v.finalized_ms ? r->v.finalized_ms
							: now));
	json_object_set_new(o, "status", json_string(final_status(r->v.state)));
	json_object_set_new(o, "channel_timeout",
			    json_integer(r->wait_ms[0] / 1000));
	json_object_set_new(o, "workflow", summary_workflow(r, &seen));
	client_ref_set(o, r);
	return body_dump(o, out, outlen);
}

int verify_callback_finalize(struct store_tx *c, const struct vf_record *r,
			     int64_t now)
{
	char body[CALLBACK_BODY_MAX];
	int rc = store_verification_finalize(c, r, now);
	/* Ended by this write (not one that ended before, written again). */
	int ended = r->v.state != VF_IN_PROGRESS && r->v.finalized_ms == now;

	if (rc == 0 && ended)
		rc = queue_event(c, r, current_channel(r),
				 final_status(r->v.state), 1, now);
	if (rc != 0 || !ended || wanted(c, r) != 1)
		return rc;
	rc = summary_body(c, r, now, body, sizeof(body));
	return rc ? rc : queue(c, r, body, now);
}

/* ---- the runner's writes ---- */

static int claim_run(struct store_tx *c, void *arg)
{
	struct verify_callback_claim *cl = arg;
	int rc;

	cl->found = 0;
	rc = store_callback_claim(c, cl->now, cl->now + cl->lease_ms, cl->skip,
				  &cl->cb);
	if (rc == KV_ENOTFOUND) {
		cl->next_due = 0;
		rc = store_callback_next_due(c, &cl->next_due);
		return rc == KV_ENOTFOUND ? 0 : rc;
	}
	cl->found = rc == 0;
	return rc;
}

int verify_callback_claim(struct verify_callback_claim *cl)
{
	return store_write(claim_run, cl);
}

static int record_run(struct store_tx *c, void *arg)
{
	struct verify_callback_report *o = arg;
	const struct verify_callback_claim *cl = o->cl;
	int64_t lease = cl->now + cl->lease_ms;
	int64_t now = now_ms();
	struct vf_event ev;
	int rc;

	if (!o->delivered && !o->give_up)
		return store_callback_retry(c, cl->cb.id, lease, o->retry_ms,
					    o->reason);
	rc = store_callback_done(c, &cl->cb, lease,
				 o->delivered ? JOB_DONE : JOB_FAILED,
				 o->delivered ? "" : o->reason, now);
	if (rc != 0 || o->delivered)
		return rc;
	/* Given up: visible where the verification's events are. */
	vf_event_set(&ev, now, "callback", "http", NULL, "failed", o->reason);
	return store_event_insert(c, cl->cb.verification_id, &ev);
}

int verify_callback_record(struct verify_callback_report *o)
{
	return store_write(record_run, o);
}
