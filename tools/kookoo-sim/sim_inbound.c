/*
 * kookoo-sim: inbound calls.  POST /sim/inbound (cid, called_number, and
 * url unless --inbound-url set it) rings the DID's app URL as KooKoo does
 * for a call to a DID (event=NewCall, sid, cid, called_number), reads the
 * XML answer, and records the call in the caller's inbox ("inbound").
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "sim.h"

/* Whether the answer is a KooKoo <response> that hangs up at once. */
static int answer_hangs_up(const struct buf *body)
{
	xmlDocPtr doc;
	xmlNodePtr root, n;
	int hangup = 0;

	if (!body->len)
		return 0;
	doc = xmlReadMemory(body->data, (int)body->len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	if (!doc)
		return 0;
	root = xmlDocGetRootElement(doc);
	if (root && strcmp((const char *)root->name, "response") == 0) {
		n = xmlFirstElementChild(root);
		hangup = n && strcmp((const char *)n->name, "hangup") == 0;
	}
	xmlFreeDoc(doc);
	return hangup;
}

static void inbound_record(const char *cid, const char *did, const char *sid,
			   long code, const char *answer, int hangup)
{
	json_t *box, *list;

	pthread_mutex_lock(&sim.lock);
	box = inbox_find_locked(cid, 1);
	if (box) {
		list = json_object_get(box, "inbound");
		if (!list) {
			list = json_array();
			json_object_set_new(box, "inbound", list);
		}
		array_push_capped(list,
				  json_pack("{s:s, s:s, s:i, s:s, s:b}", "sid",
					    sid, "called_number", did,
					    "http_status", (int)code, "answer",
					    answer, "hangup", hangup),
				  SIM_CALLS_PER_NUMBER);
	}
	stats_bump_locked("inbound", hangup ? "hangup" : "other");
	if (!sim.quiet)
		sim_print_locked("inbound call %s from %s to %s: %s\n", sid,
				 cid, did, hangup ? "hung up" : "not hung up");
	pthread_mutex_unlock(&sim.lock);
}

void api_inbound(struct sim_req *r)
{
	const char *cid = req_param(r, "cid");
	const char *did = req_param(r, "called_number");
	const char *url = req_param(r, "url");
	char target[SIM_URL_MAX + 1], sid[24], err[160];
	char answer[SIM_LINE_MAX + 1];
	struct buf body;
	char *full;
	long code = 0;
	CURL *h;
	int hangup;

	if (empty(cid) || empty(did)) {
		reply_json_error(r, MHD_HTTP_BAD_REQUEST,
				 "cid and called_number required");
		return;
	}
	pthread_mutex_lock(&sim.lock);
	snprintf(target, sizeof(target), "%s",
		 !empty(url) ? url : sim.inbound_url);
	snprintf(sid, sizeof(sid), "%" PRIu64, sim.next_sid++);
	pthread_mutex_unlock(&sim.lock);
	if (empty(target)) {
		reply_json_error(r, MHD_HTTP_BAD_REQUEST,
				 "no url and no --inbound-url");
		return;
	}
	{
		const char *const pairs[] = {
			"event", "NewCall",       "sid", sid, "cid",
			cid,     "called_number", did,   NULL};

		full = url_with_query(target, pairs, err, sizeof(err));
	}
	if (!full) {
		reply_json_error(r, MHD_HTTP_BAD_REQUEST, err);
		return;
	}
	buf_init(&body, SIM_REPLY_MAX);
	h = curl_easy_init();
	if (http_fetch(h, full, NULL, &body, &code, err, sizeof(err)) != 0)
		code = 0;
	curl_easy_cleanup(h);
	curl_free(full);
	hangup = code == 200 && answer_hangs_up(&body);
	snprintf(answer, sizeof(answer), "%.*s",
		 (int)(body.len < SIM_LINE_MAX ? body.len : SIM_LINE_MAX),
		 body.data ? body.data : "");
	inbound_record(cid, did, sid, code, answer, hangup);
	reply_json(r, MHD_HTTP_OK,
		   json_pack("{s:s, s:i, s:s, s:b}", "sid", sid, "http_status",
			     (int)code, "answer", answer, "hangup", hangup));
	buf_release(&body);
}
