/*
 * kookoo-sim: KooKoo's outbound APIs, /outbound/outbound_sms.php and
 * /outbound/outbound.php.  Checks parameters and the api_key, plays the
 * number's scripted fault, stores the SMS or queues the call on its own
 * thread (sim_call.c).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "err.h"
#include "sim.h"
#include "util.h"

static const char html_500[] =
	"<html><head><title>500 Internal Server Error</title></head><body>"
	"<h1>Internal Server Error</h1></body></html>\n";
static const char html_504[] =
	"<html><head><title>504 Gateway Timeout</title></head><body>"
	"<h1>Gateway Timeout</h1></body></html>\n";
static const char garbage[] = "<<<not xml";

/* ---- the outbound APIs -------------------------------------------------- */

struct sim_api {
	const char *name;        /* stats group and counter name */
	const char *window_text; /* KooKoo's refusal outside working hours */
	const char *const *required;
	int needs_target; /* url or extra_data */
	int sms;          /* which script field applies */
};

static const char *const sms_required[] = {"api_key", "phone_no", "message",
					   NULL};
static const char *const call_required[] = {"api_key", "phone_no", NULL};

static const struct sim_api sms_api = {
	"sms", "Cannot process the request before your working start hour.",
	sms_required, 0, 1};
static const struct sim_api call_api = {
	"call", "Calls will not be made between 9PM to 9AM.", call_required, 1,
	0};

static void outbound_refuse(struct sim_req *r, const struct sim_api *api,
			    const char *outcome, const char *message)
{
	stats_bump(api->name, outcome);
	reply_kookoo(r, "error", message);
}

/* Answers the scripted fault, or returns the mode still to play. */
static int outbound_fault(struct sim_req *r, const struct sim_api *api,
			  const struct sim_script *s, int mode)
{
	switch (mode) {
	case MODE_DND:
		reply_kookoo(r, "error", "Phone number in DND list");
		return -1;
	case MODE_WINDOW:
		reply_kookoo(r, "error", api->window_text);
		return -1;
	case MODE_HTTP500:
		reply_copy(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/html",
			   html_500);
		return -1;
	case MODE_TIMEOUT:
		/* A lost request: nothing is recorded, late 504 if waited. */
		sim_sleep_ms(s->timeout_ms);
		reply_copy(r, MHD_HTTP_GATEWAY_TIMEOUT, "text/html", html_504);
		return -1;
	case MODE_GARBAGE:
		reply_copy(r, MHD_HTTP_OK, "text/xml", garbage);
		return -1;
	default:
		return mode;
	}
}

/*
 * Whether KooKoo could dial phone_no as given.  It dials as a phone in India
 * does: ten digits are a mobile (they start with 6 to 9); a fixed line needs
 * the trunk prefix 0 before its STD code (KooKoo's docs: "prefix 0 for STD
 * numbers"), so ten digits starting with 1 to 5 reach nobody.  Longer forms
 * (0 + ten digits, 00 + international, '+') are left to phone_ok().
 */
static int phone_dialable(const char *phone)
{
	if (strlen(phone) != 10 || phone[0] == '0')
		return 1;
	return phone[0] >= '6' && phone[0] <= '9';
}

/*
 * The steps both outbound APIs share, in order: a random server failure
 * (failure_rate), required parameters, the api_key (when scripted), then
 * the number's scripted fault.  Returns the mode to play (ok, no_answer,
 * busy) or -1 when the reply is already set.  s->keys is the caller's.
 */
static int outbound_begin(struct sim_req *r, const struct sim_api *api,
			  struct sim_script *s)
{
	const char *phone = req_param(r, "phone_no");
	const char *want;
	char text[96];
	int mode, fail_times, count, drop;

	*s = script_defaults;
	pthread_mutex_lock(&sim.lock);
	stats_bump_locked(api->name, "requests");
	drop = sim_random_locked() <
	       json_number_value(json_object_get(sim.scripts, "failure_rate"));
	if (drop)
		stats_bump_locked(api->name, "random_500");
	pthread_mutex_unlock(&sim.lock);
	if (drop) {
		reply_copy(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/html",
			   html_500);
		return -1;
	}
	for (const char *const *p = api->required; *p; p++) {
		if (empty(req_param(r, *p))) {
			snprintf(text, sizeof(text), "Missing parameter: %s",
				 *p);
			outbound_refuse(r, api, "bad_request", text);
			return -1;
		}
	}
	if (api->needs_target && empty(req_param(r, "url")) &&
	    empty(req_param(r, "extra_data"))) {
		outbound_refuse(r, api, "bad_request",
				"Missing parameter: url");
		return -1;
	}
	if (!phone_ok(phone) || !phone_dialable(phone)) {
		outbound_refuse(r, api, "bad_request", "Invalid phone number");
		return -1;
	}
	pthread_mutex_lock(&sim.lock);
	want = json_string_value(json_object_get(sim.scripts, "api_key"));
	if (want && strcmp(want, req_param(r, "api_key")) != 0) {
		pthread_mutex_unlock(&sim.lock);
		outbound_refuse(r, api, "auth_error", "Authentication error");
		return -1;
	}
	script_resolve_locked(phone, s);
	mode = api->sms ? s->sms : s->call;
	fail_times = api->sms ? s->sms_fail_times : s->call_fail_times;
	count = counter_bump_locked(phone, api->name);
	if (mode != MODE_OK && fail_times > 0 && count > fail_times)
		mode = MODE_OK;
	if (mode != MODE_OK && mode != MODE_NO_ANSWER && mode != MODE_BUSY)
		stats_bump_locked(api->name, mode_names[mode]);
	pthread_mutex_unlock(&sim.lock);
	return outbound_fault(r, api, s, mode);
}

/* The parameters of outbound_sms.php the simulator does not read itself. */
static int known_sms_param(const char *name)
{
	static const char *const known[] = {"api_key", "phone_no", "message",
					    "senderid", "unicode"};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(name, known[i]) == 0)
			return 1;
	return 0;
}

static void extra_put(json_t *extra, const char *name, const char *value)
{
	char clean[128];

	if (!name || known_sms_param(name) || json_object_size(extra) >= 16)
		return;
	text_clean(clean, sizeof(clean), value ? value : "");
	json_object_set_new(extra, name, json_string(clean));
}

static enum MHD_Result extra_query(void *cls, enum MHD_ValueKind kind,
				   const char *name, const char *value)
{
	extra_put(cls, name, value);
	return MHD_YES;
}

/*
 * Every other parameter (the DLT ids under the names the server's settings
 * give), recorded with the SMS so that tests see what arrived.
 */
static json_t *sms_extra_params(struct sim_req *r)
{
	json_t *extra = json_object();

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, extra_query,
				  extra);
	for (size_t i = 0; i < r->nform; i++)
		extra_put(extra, r->form_name[i], r->form_value[i]);
	return extra;
}

void api_sms(struct sim_req *r)
{
	struct sim_script s;
	char text[SIM_SMS_TEXT_MAX + 1];
	char sender[40], unicode[40];
	const char *from = req_param(r, "senderid");
	const char *uni = req_param(r, "unicode");

	if (outbound_begin(r, &sms_api, &s) >= 0) {
		text_clean_message(text, sizeof(text), req_param(r, "message"));
		text_clean(sender, sizeof(sender), from);
		text_clean(unicode, sizeof(unicode), uni);
		pthread_mutex_lock(&sim.lock);
		inbox_add_sms_locked(req_param(r, "phone_no"), text,
				     empty(from) ? NULL : sender,
				     empty(uni) ? NULL : unicode,
				     sms_extra_params(r));
		stats_bump_locked("sms", "sent");
		pthread_mutex_unlock(&sim.lock);
		reply_kookoo(r, "success", "SMS queued");
	}
	json_decref(s.keys);
}

static char *dup_param(struct sim_req *r, const char *name)
{
	const char *v = req_param(r, name);

	return strdup(v ? v : "");
}

/* Creates the call's record and thread; answers queued with its sid. */
static void call_queue(struct sim_req *r, struct sim_script *s, int mode)
{
	struct sim_call *c = calloc(1, sizeof(*c));
	const char *caller = req_param(r, "caller_id");
	const char *phone = req_param(r, "phone_no");
	char sid[24];
	pthread_attr_t attr;
	pthread_t tid;
	json_t *box;
	int rc;

	if (!c)
		goto fail;
	snprintf(c->phone, sizeof(c->phone), "%s", phone);
	text_clean(c->caller_id, sizeof(c->caller_id),
		   empty(caller) ? SIM_DEFAULT_DID : caller);
	c->target = dup_param(r, "url");
	c->extra_data = dup_param(r, "extra_data");
	c->callback_url = dup_param(r, "callback_url");
	if (!c->target || !c->extra_data || !c->callback_url)
		goto fail;
	c->mode = mode;
	c->script = *s;
	s->keys = NULL; /* the call owns them now */

	pthread_mutex_lock(&sim.lock);
	if (sim.stopping || sim.active_calls >= SIM_CALLS_ACTIVE_MAX) {
		pthread_mutex_unlock(&sim.lock);
		outbound_refuse(r, &call_api, "max_calls",
				"Max concurrent calls reached");
		goto out;
	}
	snprintf(sid, sizeof(sid), "%" PRIu64, sim.next_sid++);
	memcpy(c->sid, sid, sizeof(sid));
	/* The URLs as given, without their query (the signed token). */
	c->rec = json_pack("{s:s, s:s, s:s, s:s, s:b, s:[], s:[], s:[], s:i, "
			   "s:n, s:n, s:s%, s:s%}",
			   "sid", sid, "phone_no", c->phone, "caller_id",
			   c->caller_id, "status", "queued", "done", 0,
			   "transcript", "keys_sent", "events", "duration", 0,
			   "callback_status", "callback_http", "url", c->target,
			   strcspn(c->target, "?"), "callback_url",
			   c->callback_url, strcspn(c->callback_url, "?"));
	box = c->rec ? inbox_find_locked(phone, 1) : NULL;
	if (box)
		array_push_capped(json_object_get(box, "calls"),
				  json_incref(c->rec), SIM_CALLS_PER_NUMBER);
	if (c->rec)
		sim.active_calls++;
	pthread_mutex_unlock(&sim.lock);
	if (!c->rec)
		goto fail;

	rc = pthread_attr_init(&attr);
	if (rc == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&tid, &attr, call_thread, c);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		pthread_mutex_lock(&sim.lock);
		sim.active_calls--;
		json_object_set_new(c->rec, "status", json_string("failed"));
		json_object_set_new(c->rec, "done", json_true());
		pthread_mutex_unlock(&sim.lock);
		goto fail;
	}
	pthread_mutex_lock(&sim.lock);
	stats_bump_locked("call", "queued");
	stats_number_locked(phone, "calls");
	pthread_mutex_unlock(&sim.lock);
	reply_kookoo(r, "queued", sid);
	return;
fail:
	outbound_refuse(r, &call_api, "internal_error", "Internal error");
out:
	if (c)
		call_free(c);
}

void api_call(struct sim_req *r)
{
	struct sim_script s;
	int mode = outbound_begin(r, &call_api, &s);

	if (mode >= 0)
		call_queue(r, &s, mode);
	json_decref(s.keys);
}
