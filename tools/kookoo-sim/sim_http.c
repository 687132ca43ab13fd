/*
 * kookoo-sim: the libmicrohttpd glue.  Per-request state, form and query
 * parameters, replies (JSON, plain text, KooKoo's XML), the route table and
 * the /sim/ inspection and control routes; the KooKoo APIs themselves are
 * in sim_outbound.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <microhttpd.h>

#include "log.h"
#include "sim.h"
#include "util.h"

/* ---- replies ------------------------------------------------------------ */

/* Takes text (malloc'd, may be NULL: then a 500 is sent) as the reply. */
static void reply_take(struct sim_req *r, unsigned int status, const char *type,
		       char *text)
{
	free(r->reply);
	r->reply = text;
	r->reply_len = text ? strlen(text) : 0;
	r->status = status;
	r->type = type;
}

void reply_copy(struct sim_req *r, unsigned int status, const char *type,
		const char *text)
{
	size_t n = strlen(text);
	char *p = malloc(n + 1);

	if (p)
		memcpy(p, text, n + 1);
	reply_take(r, status, type, p);
}

void reply_json(struct sim_req *r, unsigned int status, json_t *v)
{
	reply_take(r, status, "application/json",
		   v ? json_dumps(v, JSON_SORT_KEYS) : NULL);
	json_decref(v);
}

void reply_json_error(struct sim_req *r, unsigned int status, const char *text)
{
	char clean[256];

	text_clean(clean, sizeof(clean), text);
	reply_json(r, status, json_pack("{s:s}", "error", clean));
}

/* KooKoo's reply: <response><status/><message/></response>, via libxml2. */
void reply_kookoo(struct sim_req *r, const char *status, const char *message)
{
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr root = NULL;
	xmlChar *mem = NULL;
	int len = 0;
	char *text = NULL;

	if (!doc)
		goto out;
	root = xmlNewDocNode(doc, NULL, (const xmlChar *)"response", NULL);
	if (!root)
		goto out;
	xmlDocSetRootElement(doc, root);
	if (!xmlNewTextChild(root, NULL, (const xmlChar *)"status",
			     (const xmlChar *)status) ||
	    !xmlNewTextChild(root, NULL, (const xmlChar *)"message",
			     (const xmlChar *)message))
		goto out;
	xmlDocDumpMemoryEnc(doc, &mem, &len, "UTF-8");
	if (mem && len > 0) {
		text = malloc((size_t)len + 1);
		if (text) {
			memcpy(text, mem, (size_t)len);
			text[len] = '\0';
		}
	}
out:
	reply_take(r, MHD_HTTP_OK, "text/xml", text);
	if (mem)
		xmlFree(mem);
	xmlFreeDoc(doc);
}

/* ---- request parameters ------------------------------------------------- */

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes application/x-www-form-urlencoded text in place. */
static void form_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && hex_val(s[1]) >= 0 &&
			   hex_val(s[2]) >= 0) {
			*o++ = (char)(hex_val(s[1]) * 16 + hex_val(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Splits a form body into the request's fields (in place). */
static void form_parse(struct sim_req *r)
{
	const char *type = MHD_lookup_connection_value(
		r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	char *p = r->body.data;
	char *next;

	if (!p ||
	    (type &&
	     strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0))
		return;
	for (; p && r->nform < SIM_FORM_MAX; p = next) {
		char *eq;

		next = strchr(p, '&');
		if (next)
			*next++ = '\0';
		if (!*p)
			continue;
		eq = strchr(p, '=');
		if (eq)
			*eq++ = '\0';
		else
			eq = p + strlen(p);
		form_decode(p);
		form_decode(eq);
		r->form_name[r->nform] = p;
		r->form_value[r->nform++] = eq;
	}
}

/* A parameter from the query string, else from the form body. */
const char *req_param(struct sim_req *r, const char *name)
{
	const char *v = MHD_lookup_connection_value(
		r->conn, MHD_GET_ARGUMENT_KIND, name);

	if (v)
		return v;
	for (size_t i = 0; i < r->nform; i++)
		if (strcmp(r->form_name[i], name) == 0)
			return r->form_value[i];
	return NULL;
}

/* ---- the /sim/ inspection and control API ------------------------------- */

static void api_script(struct sim_req *r)
{
	json_error_t jerr;
	json_t *root;
	char err[160];

	if (r->is_get) {
		pthread_mutex_lock(&sim.lock);
		reply_take(r, MHD_HTTP_OK, "application/json",
			   json_dumps(sim.scripts, JSON_SORT_KEYS));
		pthread_mutex_unlock(&sim.lock);
		return;
	}
	root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0,
			  &jerr);
	if (!root) {
		snprintf(err, sizeof(err), "body is not JSON: %.120s",
			 jerr.text);
		reply_json_error(r, MHD_HTTP_BAD_REQUEST, err);
		return;
	}
	if (script_validate(root, err, sizeof(err)) != 0) {
		reply_json_error(r, MHD_HTTP_BAD_REQUEST, err);
	} else {
		pthread_mutex_lock(&sim.lock);
		script_merge_locked(root);
		pthread_mutex_unlock(&sim.lock);
		reply_json(r, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1));
	}
	json_decref(root);
}

static void api_inbox(struct sim_req *r)
{
	const char *phone = MHD_lookup_connection_value(
		r->conn, MHD_GET_ARGUMENT_KIND, "phone_no");
	json_t *box, *out;

	if (!phone_ok(phone)) {
		reply_json_error(r, MHD_HTTP_BAD_REQUEST,
				 "phone_no (5 to 20 digits) required");
		return;
	}
	pthread_mutex_lock(&sim.lock);
	box = inbox_find_locked(phone, 0);
	if (box)
		out = json_pack("{s:s, s:O, s:O}", "phone_no", phone, "sms",
				json_object_get(box, "sms"), "calls",
				json_object_get(box, "calls"));
	else
		out = json_pack("{s:s, s:[], s:[]}", "phone_no", phone, "sms",
				"calls");
	reply_take(r, MHD_HTTP_OK, "application/json",
		   out ? json_dumps(out, JSON_SORT_KEYS) : NULL);
	json_decref(out);
	pthread_mutex_unlock(&sim.lock);
}

static void api_stats(struct sim_req *r)
{
	pthread_mutex_lock(&sim.lock);
	json_object_set_new(sim.stats, "active_calls",
			    json_integer(sim.active_calls));
	reply_take(r, MHD_HTTP_OK, "application/json",
		   json_dumps(sim.stats, JSON_SORT_KEYS));
	pthread_mutex_unlock(&sim.lock);
}

static void api_reset(struct sim_req *r)
{
	pthread_mutex_lock(&sim.lock);
	json_object_clear(sim.scripts);
	json_object_clear(sim.inboxes);
	json_object_clear(sim.counters);
	json_object_clear(sim.stats);
	pthread_mutex_unlock(&sim.lock);
	reply_json(r, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1));
}

/* ---- HTTP server -------------------------------------------------------- */

static const struct sim_route {
	const char *path;
	int post_only;
	int form; /* parameters may come in a form body */
	void (*handle)(struct sim_req *r);
} routes[] = {
	{"/outbound/outbound_sms.php", 0, 1, api_sms},
	{"/outbound/outbound.php", 0, 1, api_call},
	{"/sim/script", 0, 0, api_script},
	{"/sim/inbox", 0, 0, api_inbox},
	{"/sim/stats", 0, 0, api_stats},
	{"/sim/reset", 1, 0, api_reset},
	{"/sim/inbound", 1, 1, api_inbound},
};

static void sim_dispatch(struct sim_req *r)
{
	const struct sim_route *rt = NULL;

	for (size_t i = 0; i < ARRAY_LEN(routes); i++)
		if (strcmp(r->path, routes[i].path) == 0)
			rt = &routes[i];
	if (!rt)
		reply_copy(r, MHD_HTTP_NOT_FOUND, "text/plain", "Not found\n");
	else if (!r->is_post && (rt->post_only || !r->is_get))
		reply_copy(r, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			   "Method not allowed\n");
	else if (r->body_too_big)
		reply_copy(r, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain",
			   "Body too large\n");
	else {
		if (rt->form)
			form_parse(r);
		rt->handle(r);
	}
}

static enum MHD_Result sim_queue_reply(struct sim_req *r)
{
	static char oom[] = "out of memory\n";
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->reply) {
		resp = MHD_create_response_from_buffer(r->reply_len, r->reply,
						       MHD_RESPMEM_MUST_FREE);
		if (resp)
			r->reply = NULL; /* the response frees it */
	} else {
		r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		r->type = "text/plain";
		resp = MHD_create_response_from_buffer(sizeof(oom) - 1, oom,
						       MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				r->type ? r->type : "text/plain");
	/* The demo page (another origin) shows the inbox: any page may read. */
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
	ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result sim_handle(void *cls, struct MHD_Connection *conn,
			   const char *url, const char *method,
			   const char *version, const char *upload_data,
			   size_t *upload_data_size, void **con_cls)
{
	struct sim_req *r = *con_cls;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->conn = conn;
		r->path = url;
		r->is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
		r->is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
		r->status = MHD_HTTP_OK;
		buf_init(&r->body, SIM_BODY_MAX);
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* Past the cap we keep reading (and dropping) to answer. */
		if (!r->body_too_big &&
		    buf_append(&r->body, upload_data, *upload_data_size) != 0)
			r->body_too_big = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	sim_dispatch(r);
	return sim_queue_reply(r);
}

void sim_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		   enum MHD_RequestTerminationCode toe)
{
	struct sim_req *r = *con_cls;

	if (!r)
		return;
	buf_release(&r->body);
	free(r->reply);
	free(r);
	*con_cls = NULL;
}

void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warn("sim.http_message", LOG_STR("message", msg));
}
