/*
 * The IVR: KooKoo requests IVR_PATH_CALL at each step of a verification call
 * and POSTs IVR_PATH_STATUS when it ends.  Both URLs carry the signed,
 * expiring token the job runner made for that call, and `sid` must be the
 * call id KooKoo gave us.  This file parses a callback, hands it to the
 * service (verify_call_run, one writer transaction) and renders the answer
 * from the templates; what a callback changes is the service's to decide.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "http.h"
#include "ivr.h"
#include "ivr_xml.h"
#include "log.h"
#include "params.h"
#include "util.h"
#include "verify.h"

static const struct {
	const char *name;
	enum verify_call_event ev;
} event_names[] = {
	{"NewCall", CALL_EV_NEW},
	{"GotDTMF", CALL_EV_KEY},
	{"Hangup", CALL_EV_HANGUP},
	{"Disconnect", CALL_EV_HANGUP},
};

/* The page that renders each answer of the service. */
static const enum ivr_page answer_pages[] = {
	[CALL_ANSWER_GREETING] = IVR_GREETING,
	[CALL_ANSWER_REPEAT] = IVR_REPEAT,
	[CALL_ANSWER_CONFIRMED] = IVR_CONFIRMED,
	[CALL_ANSWER_REPORTED] = IVR_REPORTED,
	[CALL_ANSWER_GOODBYE] = IVR_GOODBYE,
	[CALL_ANSWER_ENDED] = IVR_ENDED,
};

static int key_pressed(const char *data)
{
	/* KooKoo may include the terminator: "2#" is a 2. */
	return data && data[0] >= '0' && data[0] <= '9' ? data[0] : 0;
}

/* ---- HTTP ---- */

static void reply_refused(struct http_req *req, const char *why)
{
	log_warn("ivr.refused", LOG_STR("client", req->client_ip),
		 LOG_STR("why", why));
	http_reply_copy(req, 403, "text/xml",
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<response><hangup/></response>\n");
}

static void reply_page(struct http_req *req, struct verify_call *vc)
{
	struct ivr_fill fill = {
		.brand = vc->rec.brand,
		.repetitions_left = vc->repetitions_left,
		.sid = vc->sid,
		.pin = vc->pin,
		.voice = vc->voice,
		/* As the SMS says it: whole minutes, rounded up. */
		.minutes = (int)((vc->rec.v.pin_expiry_ms + 59999) / 60000),
	};
	char *xml = NULL;
	size_t len = 0;

	if (ivr_xml_render(answer_pages[vc->answer], vc->rec.lg, &fill, &xml,
			   &len) != 0)
		http_reply_copy(req, 500, "text/xml", "");
	else
		http_reply(req, 200, "text/xml; charset=UTF-8", xml, len);
}

/* Shared by both endpoints: parameters and the token. */
static int ivr_parse(struct http_req *req, struct params *p,
		     struct verify_call *tx)
{
	const char *token, *sid, *osid;
	int rc = req->query_len
			 ? params_parse_query(p, req->query, req->query_len)
			 : 0;

	if (rc == 0 && req->body.len)
		rc = params_parse_form(p, req->body.data, req->body.len);
	if (rc != 0 || req->body_too_big) {
		reply_refused(req, "malformed parameters");
		return KV_EINVAL;
	}
	token = params_get(p, "t");
	sid = params_get(p, "sid");
	osid = params_get(p, "outbound_sid");
	tx->ids[0] = sid && *sid ? sid : NULL;
	tx->ids[1] = osid && *osid && (!sid || strcmp(sid, osid) != 0) ? osid
								       : NULL;
	if (!token || (!tx->ids[0] && !tx->ids[1])) {
		reply_refused(req, "token or sid missing");
		return KV_EINVAL;
	}
	rc = crypto_call_token_check(token, now_ms() / 1000, &tx->vid,
				     &tx->step);
	if (rc != 0) {
		reply_refused(req, rc == KV_ERANGE ? "token expired"
						   : "token forged");
		return rc;
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
	struct verify_call tx;
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
	verify_call_clear(&c->tx);
	params_release(&c->p);
	free(c);
}

static void ivr_callback_then(struct http_req *req, int rc, void *arg)
{
	struct ivr_call *c = arg;
	struct verify_call *tx = &c->tx;

	verify_call_finish(tx, rc);
	if (rc != 0)
		http_reply_copy(req, 500, "text/xml", "");
	else if (tx->refused)
		reply_refused(req, "sid does not match the call");
	else if (tx->answer == CALL_ANSWER_NONE)
		http_reply_copy(req, 200, "text/xml",
				"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				"<response/>\n");
	else
		reply_page(req, tx);
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
	c->tx.ev = CALL_EV_OTHER;
	for (size_t i = 0; i < ARRAY_LEN(event_names); i++)
		if (event && strcmp(event, event_names[i].name) == 0)
			c->tx.ev = event_names[i].ev;
	c->tx.key = key_pressed(params_get(&c->p, "data"));
	c->tx.duration =
		parse_duration(params_get(&c->p, "total_call_duration"));
	http_write(req, verify_call_run, NULL, &c->tx, ivr_callback_then, c);
}

static void ivr_status_then(struct http_req *req, int rc, void *arg)
{
	struct ivr_call *c = arg;

	verify_call_finish(&c->tx, rc);
	if (rc != 0)
		http_reply_copy(req, 500, "text/plain", "");
	else if (c->tx.refused)
		reply_refused(req, "sid does not match the call");
	else
		http_reply_copy(req, 200, "text/plain", "");
	ivr_call_free(c);
}

static void ivr_status(struct http_req *req)
{
	struct ivr_call *c = ivr_call_new(req);
	const char *status;

	if (!c)
		return;
	status = params_get(&c->p, "status");
	c->tx.ev = CALL_EV_OTHER;
	c->tx.status = status && *status ? status : "unknown";
	c->tx.duration = parse_duration(params_get(&c->p, "duration"));
	http_write(req, verify_call_run, NULL, &c->tx, ivr_status_then, c);
}

/*
 * A call to a missed-call DID.  Inbound calls carry no token of ours: the
 * URL's secret last segment (missed_call_path), and the client's address
 * when missed_call_sources lists KooKoo's, are what prove KooKoo sent it
 * (docs/SECURITY.md).  NewCall is answered with a hang-up at once, so
 * the call is rejected unanswered; the other events get an empty answer.
 */
struct ivr_inbound {
	struct params p;
	struct verify_inbound in;
};

static const char hangup_xml[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				 "<response><hangup/></response>\n";

static void ivr_inbound_then(struct http_req *req, int rc, void *arg)
{
	struct ivr_inbound *c = arg;

	verify_inbound_finish(&c->in, rc);
	/* Hang up whatever happened: the caller must never be answered. */
	http_reply_copy(req, 200, "text/xml", hangup_xml);
	params_release(&c->p);
	free(c);
}

static void ivr_inbound(struct http_req *req)
{
	struct ivr_inbound *c;
	const char *event;
	int rc;

	if (!verify_missed_path_ok(req->path + strlen(IVR_PATH_INBOUND))) {
		reply_refused(req, "inbound path not ours");
		return;
	}
	if (!verify_missed_source_ok(req->client_ip)) {
		reply_refused(req, "inbound source not allowed");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return; /* no reply: http.c answers "Internal Error" */
	params_init(&c->p);
	rc = req->query_len
		     ? params_parse_query(&c->p, req->query, req->query_len)
		     : 0;
	if (rc == 0 && req->body.len)
		rc = params_parse_form(&c->p, req->body.data, req->body.len);
	event = params_get(&c->p, "event");
	if (rc != 0 || req->body_too_big || !event ||
	    strcmp(event, "NewCall") != 0) {
		http_reply_copy(
			req, 200, "text/xml",
			rc != 0 || req->body_too_big
				? hangup_xml
				: "<?xml version=\"1.0\" "
				  "encoding=\"UTF-8\"?>\n<response/>\n");
		params_release(&c->p);
		free(c);
		return;
	}
	c->in.cid = params_get(&c->p, "cid");
	c->in.called = params_get(&c->p, "called_number");
	c->in.sid = params_get(&c->p, "sid");
	c->in.now = now_ms();
	if (verify_inbound_start(&c->in))
		http_write(req, verify_inbound_run, NULL, &c->in,
			   ivr_inbound_then, c);
	else
		ivr_inbound_then(req, 0, c);
}

const struct route ivr_routes[] = {
	{IVR_PATH_CALL, ivr_callback, HTTP_GET | HTTP_POST, 0, 0},
	{IVR_PATH_STATUS, ivr_status, HTTP_GET | HTTP_POST, 0, 0},
	{IVR_PATH_INBOUND, ivr_inbound, HTTP_GET | HTTP_POST, 1, 0},
	{NULL, NULL, 0, 0, 0},
};
