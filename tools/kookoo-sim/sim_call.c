/*
 * kookoo-sim: the call player.  On its own thread each queued call rings,
 * then requests the application's IVR URL like the callee's phone, plays
 * the KooKoo XML it receives (speaking, pressing scripted keys, following
 * gotourl) and finally POSTs the call status to callback_url.
 */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <microhttpd.h>

#include "err.h"
#include "sim.h"
#include "util.h"

enum ivr_action { ACT_END, ACT_DTMF, ACT_HANGUP, ACT_GOTO };

struct ivr_step {
	enum ivr_action action;
	int max_digits;
	int timeout_ms;
};

/* ---- outbound HTTP (IVR requests, callbacks) ---------------------------- */

static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (n && size > SIZE_MAX / n)
		return 0;
	return buf_append(b, data, size * n) == 0 ? size * n : 0;
}

static int xfer_abort(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		      curl_off_t un)
{
	return sim_is_stopping();
}

/*
 * url with the name/value pairs (NULL-terminated list) appended to its
 * query, each encoded by libcurl.  NULL with err set for a malformed URL,
 * a scheme other than http(s), or (without --allow-remote) a host that is
 * not loopback.  The caller frees the result with curl_free().
 */
char *url_with_query(const char *url, const char *const *pairs, char *err,
		     size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	char *host = NULL;
	char *out = NULL;
	int remote;
	struct buf part;

	buf_init(&part, SIM_URL_MAX);
	if (!u || strlen(url) > SIM_URL_MAX ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "not a valid URL");
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		snprintf(err, errlen, "scheme %.10s is not http(s)", scheme);
		goto out;
	}
	pthread_mutex_lock(&sim.lock);
	remote = sim.allow_remote;
	pthread_mutex_unlock(&sim.lock);
	if (!remote && strncmp(host, "127.", 4) != 0 &&
	    strcmp(host, "localhost") != 0 && strcmp(host, "[::1]") != 0) {
		snprintf(err, errlen, "host is not loopback");
		goto out;
	}
	for (size_t i = 0; pairs[i] && pairs[i + 1]; i += 2) {
		part.len = 0;
		if (buf_append_str(&part, pairs[i]) != 0 ||
		    buf_append(&part, "=", 1) != 0 ||
		    buf_append_str(&part, pairs[i + 1]) != 0 ||
		    curl_url_set(u, CURLUPART_QUERY, part.data,
				 CURLU_APPENDQUERY | CURLU_URLENCODE) !=
			    CURLUE_OK) {
			snprintf(err, errlen, "URL too long");
			goto out;
		}
	}
	if (curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) {
		snprintf(err, errlen, "not a valid URL");
		out = NULL;
	}
out:
	buf_release(&part);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return out;
}

/* GET (post NULL) or form-POST url; reply body into out (capped). */
int http_fetch(CURL *h, const char *url, const char *post, struct buf *out,
	       long *code, char *err, size_t errlen)
{
	CURLcode rc;

	*code = 0;
	if (!h) {
		snprintf(err, errlen, "no curl handle");
		return KV_ENOMEM;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, SIM_HTTP_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, SIM_HTTP_TIMEOUT_MS);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_USERAGENT, "kookoo-sim");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xfer_abort);
	if (post)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s",
			 rc == CURLE_WRITE_ERROR ? "reply too large"
						 : curl_easy_strerror(rc));
		return KV_EIO;
	}
	return 0;
}

/* ---- the call: transcript ---------------------------------------------- */

static void call_line(struct sim_call *c, const char *raw)
{
	char line[SIM_LINE_MAX + 1];

	text_clean(line, sizeof(line), raw);
	pthread_mutex_lock(&sim.lock);
	if (json_array_size(json_object_get(c->rec, "transcript")) <
	    SIM_LINES_PER_CALL)
		json_array_append_new(json_object_get(c->rec, "transcript"),
				      json_string(line));
	sim_print_locked("CALL %s to %s: %s", c->sid, c->phone, line);
	pthread_mutex_unlock(&sim.lock);
}

static void call_note(struct sim_call *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void call_note(struct sim_call *c, const char *fmt, ...)
{
	char line[SIM_LINE_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	call_line(c, line);
}

/* Sets a field of the call's record (value stolen). */
static void call_set(struct sim_call *c, const char *key, json_t *value)
{
	pthread_mutex_lock(&sim.lock);
	json_object_set_new(c->rec, key, value);
	pthread_mutex_unlock(&sim.lock);
}

static void call_push(struct sim_call *c, const char *key, const char *value)
{
	pthread_mutex_lock(&sim.lock);
	array_push_capped(json_object_get(c->rec, key), json_string(value),
			  SIM_LINES_PER_CALL);
	pthread_mutex_unlock(&sim.lock);
}

/*
 * Speaks text: whitespace runs become one space; spell (say-as 501) puts
 * a space between characters.  Counts simulated talk time per word.
 */
static void call_speak(struct sim_call *c, const char *text, int spell)
{
	char line[SIM_LINE_MAX + 1];
	size_t o = 0;
	int in_word = 0;
	int words = 0;

	for (const char *p = text; p && *p && o + 2 < sizeof(line); p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == ' ' || (ch >= '\t' && ch <= '\r')) {
			in_word = 0;
			continue;
		}
		if (!in_word || (spell && (ch & 0xc0) != 0x80)) {
			if (o)
				line[o++] = ' ';
			words++;
		}
		line[o++] = (char)ch;
		in_word = 1;
	}
	line[o] = '\0';
	c->talk_ms += (int64_t)words * SIM_WORD_MS;
	if (o)
		call_line(c, line);
}

/* ---- the call: KooKoo tags ---------------------------------------------- */

static char *node_attr(xmlNodePtr n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

static int node_attr_int(xmlNodePtr n, const char *name, int min, int max,
			 int dflt)
{
	char *v = node_attr(n, name);
	int out = dflt;

	if (v && parse_int(v, min, max, &out) != 0)
		out = dflt;
	xmlFree(v);
	return out;
}

static void tag_playtext(struct sim_call *c, xmlNodePtr n,
			 struct ivr_step *step)
{
	xmlChar *text = xmlNodeGetContent(n);

	call_speak(c, (const char *)text, 0);
	xmlFree(text);
}

static void tag_say_as(struct sim_call *c, xmlNodePtr n, struct ivr_step *step)
{
	xmlChar *text = xmlNodeGetContent(n);
	char *format = node_attr(n, "format");

	call_speak(c, (const char *)text, format && strcmp(format, "501") == 0);
	xmlFree(format);
	xmlFree(text);
}

static void tag_playaudio(struct sim_call *c, xmlNodePtr n,
			  struct ivr_step *step)
{
	xmlChar *url = xmlNodeGetContent(n);

	call_note(c, "[audio %s]", url ? (const char *)url : "");
	xmlFree(url);
}

static void tag_collectdtmf(struct sim_call *c, xmlNodePtr n,
			    struct ivr_step *step)
{
	for (xmlNodePtr k = n->children; k; k = k->next) {
		const char *name = (const char *)k->name;

		if (k->type != XML_ELEMENT_NODE)
			continue;
		if (strcasecmp(name, "playtext") == 0)
			tag_playtext(c, k, step);
		else if (strcasecmp(name, "say-as") == 0)
			tag_say_as(c, k, step);
		else if (strcasecmp(name, "playaudio") == 0)
			tag_playaudio(c, k, step);
	}
	step->action = ACT_DTMF;
	step->max_digits = node_attr_int(n, "l", 1, 64, 0);
	step->timeout_ms = node_attr_int(n, "o", 0, 120000, 4000);
}

static void tag_hangup(struct sim_call *c, xmlNodePtr n, struct ivr_step *step)
{
	step->action = ACT_HANGUP;
}

/* The next request goes to this URL; after collectdtmf it gets GotDTMF. */
static void tag_gotourl(struct sim_call *c, xmlNodePtr n, struct ivr_step *step)
{
	xmlChar *url = xmlNodeGetContent(n);
	char *copy = url ? strdup((const char *)url) : NULL;

	xmlFree(url);
	if (!copy)
		return;
	free(c->target);
	c->target = copy;
	if (step->action != ACT_DTMF)
		step->action = ACT_GOTO;
}

static void tag_sendsms(struct sim_call *c, xmlNodePtr n, struct ivr_step *step)
{
	char *to = node_attr(n, "to");
	char *unicode = node_attr(n, "unicode");
	xmlChar *text = xmlNodeGetContent(n);
	char clean[SIM_SMS_TEXT_MAX + 1];

	text_clean(clean, sizeof(clean), (const char *)text);
	if (phone_ok(to)) {
		pthread_mutex_lock(&sim.lock);
		inbox_add_sms_locked(to, clean, NULL, unicode, NULL);
		pthread_mutex_unlock(&sim.lock);
		call_note(c, "[sms sent to %s]", to);
	} else {
		call_note(c, "[sendsms without a valid \"to\" ignored]");
	}
	xmlFree(text);
	xmlFree(unicode);
	xmlFree(to);
}

static const struct ivr_tag {
	const char *name;
	int keeps_dtmf; /* may follow collectdtmf without cancelling it */
	void (*play)(struct sim_call *c, xmlNodePtr n, struct ivr_step *step);
} ivr_tags[] = {
	{"playtext", 0, tag_playtext},   {"say-as", 0, tag_say_as},
	{"playaudio", 0, tag_playaudio}, {"collectdtmf", 0, tag_collectdtmf},
	{"hangup", 0, tag_hangup},       {"gotourl", 1, tag_gotourl},
	{"sendsms", 0, tag_sendsms},
};

/*
 * Plays a reply's tags in order.  As on KooKoo, only the last tag may
 * produce an event: a collectdtmf followed by anything but gotourl takes
 * no input, and hangup ends the reply.
 */
static void ivr_play(struct sim_call *c, xmlDocPtr doc, struct ivr_step *step)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);

	step->action = ACT_END;
	for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next) {
		const struct ivr_tag *t = NULL;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (size_t i = 0; i < ARRAY_LEN(ivr_tags); i++)
			if (strcasecmp((const char *)n->name,
				       ivr_tags[i].name) == 0)
				t = &ivr_tags[i];
		if (!t || !t->keeps_dtmf) {
			if (step->action == ACT_DTMF)
				call_note(c, "[collectdtmf is not the last "
					     "tag: no input taken]");
			step->action = ACT_END;
		}
		if (!t) {
			call_note(c, "[unsupported tag <%.40s> ignored]",
				  (const char *)n->name);
			continue;
		}
		t->play(c, n, step);
		if (step->action == ACT_HANGUP)
			break;
	}
}

/* ---- the call: IVR requests --------------------------------------------- */

static int call_duration(const struct sim_call *c)
{
	int64_t s = (c->talk_ms + 999) / 1000;

	return s > INT_MAX ? INT_MAX : (int)s;
}

/*
 * Sends event (NULL after a bare gotourl) to the call's IVR URL with the
 * fields KooKoo sends for it.  Returns the parsed reply when want_doc and
 * it is KooKoo XML; every failure is noted in the transcript.
 */
static xmlDocPtr ivr_send(struct sim_call *c, const char *event,
			  const char *data, int want_doc)
{
	char err[CURL_ERROR_SIZE + 64];
	char dur[24];
	const char *pairs[16];
	size_t n = 0;
	char *url = NULL;
	struct buf body;
	long code = 0;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;

	buf_init(&body, SIM_REPLY_MAX);
	snprintf(dur, sizeof(dur), "%d", call_duration(c));
	if (event) {
		pairs[n++] = "event";
		pairs[n++] = event;
		call_push(c, "events", event);
		stats_bump("ivr", event);
	}
	if (event && strcmp(event, "GotDTMF") == 0) {
		pairs[n++] = "data";
		pairs[n++] = data;
	}
	pairs[n++] = "sid";
	pairs[n++] = c->sid;
	if (event && strcmp(event, "NewCall") == 0) {
		pairs[n++] = "cid";
		pairs[n++] = c->phone;
		pairs[n++] = "called_number";
		pairs[n++] = c->caller_id;
		pairs[n++] = "outbound_sid";
		pairs[n++] = c->sid;
	} else if (event && strcmp(event, "Hangup") == 0) {
		pairs[n++] = "process";
		pairs[n++] = "none";
	}
	if (event &&
	    (!strcmp(event, "Hangup") || !strcmp(event, "Disconnect"))) {
		pairs[n++] = "total_call_duration";
		pairs[n++] = dur;
	}
	pairs[n] = NULL;

	if (empty(c->target)) {
		call_note(c, "[no IVR url to send %s to]", event ? event : "");
		goto out;
	}
	url = url_with_query(c->target, pairs, err, sizeof(err));
	if (!url) {
		call_note(c, "[IVR url refused: %s]", err);
		goto out;
	}
	if (http_fetch(c->curl, url, NULL, &body, &code, err, sizeof(err))) {
		call_note(c, "[IVR request failed: %s]", err);
		goto out;
	}
	if (code != MHD_HTTP_OK) {
		call_note(c, "[IVR answered HTTP %ld]", code);
		goto out;
	}
	if (!want_doc)
		goto out;
	if (body.len)
		doc = xmlReadMemory(body.data, (int)body.len, "ivr.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR |
					    XML_PARSE_NOWARNING);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcasecmp((const char *)root->name, "response") != 0) {
		xmlFreeDoc(doc);
		doc = NULL;
		call_note(c, "[IVR reply is not KooKoo XML]");
	}
out:
	if (want_doc && !doc)
		stats_bump("ivr", "failed");
	curl_free(url);
	buf_release(&body);
	return doc;
}

/* The first reply: extra_data when given instead of a url. */
static xmlDocPtr ivr_first(struct sim_call *c)
{
	xmlDocPtr doc;
	xmlNodePtr root;

	if (empty(c->extra_data))
		return ivr_send(c, "NewCall", NULL, 1);
	doc = xmlReadMemory(c->extra_data, (int)strlen(c->extra_data),
			    "extra_data.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcasecmp((const char *)root->name, "response") != 0) {
		xmlFreeDoc(doc);
		call_note(c, "[extra_data is not KooKoo XML]");
		return NULL;
	}
	return doc;
}

/* The callee's key presses for a collectdtmf: next scripted, or none. */
static void call_press(struct sim_call *c, const struct ivr_step *step,
		       char *digits, size_t cap)
{
	const char *k =
		json_string_value(json_array_get(c->script.keys, c->next_key));

	digits[0] = '\0';
	if (k) {
		c->next_key++;
		snprintf(digits, cap, "%s", k);
		if (step->max_digits > 0 &&
		    strlen(digits) > (size_t)step->max_digits)
			digits[step->max_digits] = '\0';
	}
	call_push(c, "keys_sent", digits);
	if (digits[0]) {
		c->talk_ms += 1000 * (int64_t)strlen(digits);
		call_note(c, "[pressed %s]", digits);
	} else {
		c->talk_ms += step->timeout_ms;
		call_note(c, "[no key pressed]");
	}
}

/* Plays the answered call, request after request, until it ends. */
static void call_play(struct sim_call *c)
{
	struct ivr_step step = {ACT_END, 0, 0};
	char digits[40] = "";
	xmlDocPtr doc = ivr_first(c);

	for (int replies = 1; doc; replies++) {
		ivr_play(c, doc, &step);
		xmlFreeDoc(doc);
		doc = NULL;
		if (sim_is_stopping())
			return;
		if (step.action != ACT_HANGUP &&
		    c->script.hangup_at == replies) {
			call_note(c, "[callee hung up]");
			c->details = "Callee hung up";
			ivr_send(c, "Hangup", NULL, 0);
			return;
		}
		if (step.action == ACT_HANGUP || step.action == ACT_END) {
			call_note(c, step.action == ACT_HANGUP
					     ? "[IVR hung up]"
					     : "[end of IVR reply: call ends]");
			ivr_send(c, "Disconnect", NULL, 0);
			return;
		}
		if (replies >= SIM_STEPS_MAX) {
			call_note(c, "[too many IVR steps: callee hangs up]");
			c->details = "Too many IVR steps";
			ivr_send(c, "Hangup", NULL, 0);
			return;
		}
		if (step.action == ACT_DTMF) {
			call_press(c, &step, digits, sizeof(digits));
			doc = ivr_send(c, "GotDTMF", digits, 1);
		} else {
			doc = ivr_send(c, NULL, NULL, 1);
		}
	}
	c->details = "Application error";
}

/* ---- the call: status callback and thread ------------------------------- */

static int form_add(struct buf *b, CURL *h, const char *name, const char *value)
{
	char *v = curl_easy_escape(h, value, 0);
	int rc = v ? 0 : KV_ENOMEM;

	if (rc == 0 && b->len)
		rc = buf_append(b, "&", 1);
	if (rc == 0)
		rc = buf_append_str(b, name);
	if (rc == 0)
		rc = buf_append(b, "=", 1);
	if (rc == 0)
		rc = buf_append_str(b, v);
	curl_free(v);
	return rc;
}

/* POSTs the call status to callback_url; returns its HTTP code, 0 if none. */
static long call_callback(struct sim_call *c, const char *status, int duration)
{
	static const char *const no_pairs[] = {NULL};
	char start[20], dur[16], ring[16];
	char err[CURL_ERROR_SIZE + 64];
	const char *fields[] = {
		"sid",          c->sid,   "status",         status,
		"phone_no",     c->phone, "caller_id",      c->caller_id,
		"start_time",   start,    "duration",       dur,
		"ringing_time", ring,     "status_details", c->details,
	};
	struct buf form, reply;
	char *url = url_with_query(c->callback_url, no_pairs, err, sizeof(err));
	long code = 0;
	int rc = 0;

	buf_init(&form, SIM_URL_MAX);
	buf_init(&reply, SIM_REPLY_MAX);
	format_datetime(c->start_s, start);
	snprintf(dur, sizeof(dur), "%d", duration);
	snprintf(ring, sizeof(ring), "%d", (c->script.ring_ms + 999) / 1000);
	for (size_t i = 0; rc == 0 && i < ARRAY_LEN(fields); i += 2)
		rc = form_add(&form, c->curl, fields[i], fields[i + 1]);
	if (!url)
		call_note(c, "[callback url refused: %s]", err);
	else if (rc != 0 || !form.data)
		call_note(c, "[callback not sent: %s]", kv_strerror(rc));
	else if (http_fetch(c->curl, url, form.data, &reply, &code, err,
			    sizeof(err)) != 0)
		call_note(c, "[callback failed: %s]", err);
	else
		call_note(c, "[callback status=%s: HTTP %ld]", status, code);
	stats_bump("callback", code >= 200 && code < 300 ? "ok" : "failed");
	curl_free(url);
	buf_release(&form);
	buf_release(&reply);
	return code;
}

static void call_finish(struct sim_call *c, const char *status, int answered)
{
	int duration = answered ? call_duration(c) : 0;
	long code = -1;

	call_note(c, "[call ended: %s, %d s]", status, duration);
	if (!empty(c->callback_url))
		code = call_callback(c, status, duration);
	pthread_mutex_lock(&sim.lock);
	json_object_set_new(c->rec, "status", json_string(status));
	json_object_set_new(c->rec, "duration", json_integer(duration));
	json_object_set_new(c->rec, "callback_status",
			    code >= 0 ? json_string(status) : json_null());
	json_object_set_new(c->rec, "callback_http",
			    code >= 0 ? json_integer(code) : json_null());
	json_object_set_new(c->rec, "done", json_true());
	stats_bump_locked("call_results", status);
	pthread_mutex_unlock(&sim.lock);
}

void call_free(struct sim_call *c)
{
	free(c->target);
	free(c->extra_data);
	free(c->callback_url);
	json_decref(c->script.keys);
	pthread_mutex_lock(&sim.lock);
	json_decref(c->rec);
	pthread_mutex_unlock(&sim.lock);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c);
}

void *call_thread(void *arg)
{
	struct sim_call *c = arg;

	c->curl = curl_easy_init();
	c->start_s = now_ms() / 1000;
	call_set(c, "status", json_string("ringing"));
	call_note(c, "[ringing]");
	if (sim_sleep_ms(c->script.ring_ms) != 0)
		goto out;
	if (c->mode == MODE_NO_ANSWER) {
		call_note(c, "[no answer]");
		c->details = "Not answered";
		call_finish(c, "ring", 0);
	} else if (c->mode == MODE_BUSY) {
		call_note(c, "[busy]");
		c->details = "User busy";
		call_finish(c, "busy", 0);
	} else {
		c->start_s = now_ms() / 1000;
		call_set(c, "status", json_string("answered"));
		call_note(c, "[answered]");
		c->details = "Call completed";
		call_play(c);
		if (!sim_is_stopping())
			call_finish(c, "answered", 1);
	}
out:
	call_free(c);
	pthread_mutex_lock(&sim.lock);
	sim.active_calls--;
	pthread_cond_broadcast(&sim.cond);
	pthread_mutex_unlock(&sim.lock);
	return NULL;
}
