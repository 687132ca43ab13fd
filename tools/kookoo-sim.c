/*
 * kookoo-sim: a stand-in for KooKoo (Ozonetel) for `make run` and the
 * integration tests.  It answers the outbound SMS and call APIs as KooKoo
 * does, plays each queued call against the application's IVR URL like the
 * callee's phone, posts the call status to callback_url, and lets tests
 * script faults per number and read what each number got (/sim/...).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <microhttpd.h>

#include "err.h"
#include "log.h"
#include "util.h"

#define SIM_BODY_MAX ((size_t)64 * 1024)  /* request bodies we accept */
#define SIM_REPLY_MAX ((size_t)64 * 1024) /* IVR and callback replies we read */
#define SIM_FORM_MAX 32                   /* form fields read from a body */
#define SIM_NUMBERS_MAX 10000  /* inboxes, counters, per-number stats */
#define SIM_SMS_PER_NUMBER 100 /* oldest dropped past this */
#define SIM_CALLS_PER_NUMBER 50
#define SIM_LINES_PER_CALL 200
#define SIM_LINE_MAX 500
#define SIM_SMS_TEXT_MAX 1000
#define SIM_URL_MAX 4096
#define SIM_CALLS_ACTIVE_MAX 64
#define SIM_CONNECTIONS_MAX 256
#define SIM_STEPS_MAX 20          /* IVR requests per call */
#define SIM_HTTP_TIMEOUT_MS 5000L /* each request the simulator makes */
#define SIM_WORD_MS 400           /* simulated speaking time per word */
#define SIM_DEFAULT_DID "0800000000"

enum sim_mode {
	MODE_OK,
	MODE_DND,
	MODE_WINDOW,
	MODE_HTTP500,
	MODE_TIMEOUT,
	MODE_GARBAGE,
	MODE_NO_ANSWER,
	MODE_BUSY,
};

static const char *const mode_names[] = {
	"ok",      "dnd",     "window",    "http500",
	"timeout", "garbage", "no_answer", "busy",
};

/* What one number (or "*") is scripted to do; see tools/README.md. */
struct sim_script {
	int sms;
	int call;
	int sms_fail_times;
	int call_fail_times;
	int hangup_at;
	int ring_ms;
	int timeout_ms;
	json_t *keys; /* array of strings, or NULL */
};

static const struct sim_script script_defaults = {
	.sms = MODE_OK,
	.call = MODE_OK,
	.ring_ms = 100,
	.timeout_ms = 15000,
};

enum field_kind { FIELD_MODE, FIELD_INT, FIELD_KEYS };

static const struct script_field {
	const char *name;
	enum field_kind kind;
	size_t off;
	int min;
	int max;
} script_fields[] = {
	{"sms", FIELD_MODE, offsetof(struct sim_script, sms), 0, MODE_GARBAGE},
	{"call", FIELD_MODE, offsetof(struct sim_script, call), 0, MODE_BUSY},
	{"sms_fail_times", FIELD_INT,
	 offsetof(struct sim_script, sms_fail_times), 0, 1000000},
	{"call_fail_times", FIELD_INT,
	 offsetof(struct sim_script, call_fail_times), 0, 1000000},
	{"hangup_at", FIELD_INT, offsetof(struct sim_script, hangup_at), 0,
	 SIM_STEPS_MAX},
	{"ring_ms", FIELD_INT, offsetof(struct sim_script, ring_ms), 0, 60000},
	{"timeout_ms", FIELD_INT, offsetof(struct sim_script, timeout_ms), 0,
	 120000},
	{"keys", FIELD_KEYS, 0, 0, 0},
};

/* Everything shared between threads; every field under lock. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on stop, and when a call thread ends */
	int stopping;
	int active_calls;
	int quiet;
	int allow_remote;
	json_t *scripts;  /* number or "*" -> script; failure_rate; api_key */
	json_t *inboxes;  /* phone_no as first seen -> {phone_no, sms, calls} */
	json_t *counters; /* last 10 digits -> {"sms": n, "call": n} */
	json_t *stats;    /* group -> outcome -> count */
	uint64_t rng;
	uint64_t next_sid;
} sim = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* One HTTP request to the simulator, from headers to completion. */
struct sim_req {
	struct MHD_Connection *conn;
	const char *path;
	int is_get;
	int is_post;
	struct buf body;
	int body_too_big;
	size_t nform;
	const char *form_name[SIM_FORM_MAX];
	const char *form_value[SIM_FORM_MAX];
	unsigned int status;
	const char *type;
	char *reply; /* malloc'd */
	size_t reply_len;
};

/* One queued call, owned by its thread. */
struct sim_call {
	char sid[24];
	char phone[32];
	char caller_id[40];
	char *target; /* URL of the next IVR request ("" if none) */
	char *extra_data;
	char *callback_url;
	int mode;
	struct sim_script script;
	json_t *rec; /* its record in the inbox; one reference is ours */
	CURL *curl;
	int64_t talk_ms;
	int64_t start_s;
	size_t next_key;
	const char *details;
};

enum ivr_action { ACT_END, ACT_DTMF, ACT_HANGUP, ACT_GOTO };

struct ivr_step {
	enum ivr_action action;
	int max_digits;
	int timeout_ms;
};

static const char html_500[] =
	"<html><head><title>500 Internal Server Error</title></head><body>"
	"<h1>Internal Server Error</h1></body></html>\n";
static const char html_504[] =
	"<html><head><title>504 Gateway Timeout</title></head><body>"
	"<h1>Gateway Timeout</h1></body></html>\n";
static const char garbage[] = "<<<not xml";

/* ---- small helpers ------------------------------------------------------ */

static int sim_is_stopping(void)
{
	int s;

	pthread_mutex_lock(&sim.lock);
	s = sim.stopping;
	pthread_mutex_unlock(&sim.lock);
	return s;
}

/* Sleeps ms milliseconds; returns KV_EIO at once when the simulator stops. */
static int sim_sleep_ms(int64_t ms)
{
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&sim.lock);
	while (!sim.stopping &&
	       pthread_cond_timedwait(&sim.cond, &sim.lock, &ts) != ETIMEDOUT)
		;
	rc = sim.stopping ? KV_EIO : 0;
	pthread_mutex_unlock(&sim.lock);
	return rc;
}

/* xorshift64*: a uniform double in [0, 1).  Not for secrets. */
static double sim_random_locked(void)
{
	sim.rng ^= sim.rng >> 12;
	sim.rng ^= sim.rng << 25;
	sim.rng ^= sim.rng >> 27;
	return (double)((sim.rng * 2685821657736338717ULL) >> 11) /
	       9007199254740992.0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Copies src into dst (cap bytes) as one printable line of valid UTF-8:
 * control characters become spaces, invalid bytes '?'; cut at the cap on
 * a character boundary.  JSON strings and printed lines both need this.
 */
static void text_clean(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = src ? strlen(src) : 0;
	size_t o = 0;

	while (n && o + 1 < cap) {
		size_t l = utf8_seq(s, n);

		if (l == 0) {
			dst[o++] = '?';
			l = 1;
		} else if (l == 1 && (*s < 0x20 || *s == 0x7f)) {
			dst[o++] = ' ';
		} else if (o + l < cap) {
			memcpy(dst + o, s, l);
			o += l;
		} else {
			break;
		}
		s += l;
		n -= l;
	}
	dst[o] = '\0';
}

/* A phone number as KooKoo takes it: optional '+', then 5 to 20 digits. */
static int phone_ok(const char *p)
{
	size_t n;

	if (!p)
		return 0;
	if (*p == '+')
		p++;
	n = strlen(p);
	return n >= 5 && n <= 20 && strspn(p, "0123456789") == n;
}

static const char *phone_tail(const char *p)
{
	size_t n = strlen(p);

	return n > 10 ? p + n - 10 : p;
}

/* Same number: equal as given, or equal in their last 10 digits. */
static int phone_match(const char *a, const char *b)
{
	return strcmp(a, b) == 0 || (strlen(a) >= 10 && strlen(b) >= 10 &&
				     strcmp(phone_tail(a), phone_tail(b)) == 0);
}

static void sim_print_locked(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void sim_print_locked(const char *fmt, ...)
{
	va_list ap;

	if (sim.quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Appends item (stolen) to arr, dropping the oldest entries past cap. */
static void array_push_capped(json_t *arr, json_t *item, size_t cap)
{
	if (!item)
		return;
	if (json_array_append_new(arr, item) != 0)
		return;
	while (json_array_size(arr) > cap)
		json_array_remove(arr, 0);
}

/* Deletes the members whose value is null: a script sets null to remove. */
static void object_drop_nulls(json_t *obj)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v)
	{
		if (json_is_null(v))
			json_object_del(obj, key);
	}
}

/* ---- statistics, inboxes, counters (all with sim.lock held) ------------- */

static json_t *object_child_locked(json_t *parent, const char *key, size_t cap)
{
	json_t *c = json_object_get(parent, key);

	if (c || json_object_size(parent) >= cap)
		return c;
	c = json_object();
	if (!c || json_object_set_new(parent, key, c) != 0)
		return NULL;
	return c;
}

static void count_bump(json_t *obj, const char *name)
{
	if (obj)
		json_object_set_new(
			obj, name,
			json_integer(
				json_integer_value(json_object_get(obj, name)) +
				1));
}

static void stats_bump_locked(const char *group, const char *name)
{
	count_bump(object_child_locked(sim.stats, group, 64), name);
}

static void stats_bump(const char *group, const char *name)
{
	pthread_mutex_lock(&sim.lock);
	stats_bump_locked(group, name);
	pthread_mutex_unlock(&sim.lock);
}

/* Bumps and returns how many requests of api this number has made. */
static int counter_bump_locked(const char *phone, const char *api)
{
	json_t *c;
	json_int_t n;

	if (json_object_size(sim.counters) >= SIM_NUMBERS_MAX &&
	    !json_object_get(sim.counters, phone_tail(phone)))
		json_object_clear(sim.counters);
	c = object_child_locked(sim.counters, phone_tail(phone),
				SIM_NUMBERS_MAX);
	if (!c)
		return INT_MAX;
	count_bump(c, api);
	n = json_integer_value(json_object_get(c, api));
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* The inbox of a number (exact form first, then last 10 digits). */
static json_t *inbox_find_locked(const char *phone, int create)
{
	const char *key;
	json_t *box = json_object_get(sim.inboxes, phone);

	if (box)
		return box;
	json_object_foreach (sim.inboxes, key, box) {
		if (phone_match(key, phone))
			return box;
	}
	if (!create || json_object_size(sim.inboxes) >= SIM_NUMBERS_MAX)
		return NULL;
	box = json_pack("{s:s, s:[], s:[]}", "phone_no", phone, "sms", "calls");
	if (!box || json_object_set_new(sim.inboxes, phone, box) != 0)
		return NULL;
	return box;
}

/* Counts per number, under the form its inbox was created with. */
static void stats_number_locked(const char *phone, const char *name)
{
	json_t *numbers = object_child_locked(sim.stats, "numbers", 64);
	const char *key = json_string_value(
		json_object_get(inbox_find_locked(phone, 0), "phone_no"));

	if (numbers)
		count_bump(object_child_locked(numbers, key ? key : phone,
					       SIM_NUMBERS_MAX),
			   name);
}

/* Records an SMS for phone; all strings clean UTF-8; sender may be NULL. */
static void inbox_add_sms_locked(const char *phone, const char *text,
				 const char *sender)
{
	char when[20];
	json_t *box = inbox_find_locked(phone, 1);

	format_datetime(now_ms() / 1000, when);
	if (box)
		array_push_capped(json_object_get(box, "sms"),
				  json_pack("{s:s, s:s?, s:s}", "message", text,
					    "senderid", sender, "time", when),
				  SIM_SMS_PER_NUMBER);
	stats_number_locked(phone, "sms");
	sim_print_locked("SMS to %s [%s]: %s", phone, sender ? sender : "",
			 text);
}

/* ---- scripts ------------------------------------------------------------ */

static const struct script_field *field_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(script_fields); i++)
		if (strcmp(script_fields[i].name, name) == 0)
			return &script_fields[i];
	return NULL;
}

static int keys_valid(json_t *keys)
{
	size_t i;
	json_t *k;

	if (!json_is_array(keys) || json_array_size(keys) > 64)
		return 0;
	json_array_foreach (keys, i, k) {
		const char *s = json_string_value(k);

		if (!s || strlen(s) > 32 ||
		    strspn(s, "0123456789*#") != strlen(s))
			return 0;
	}
	return 1;
}

static int field_apply(struct sim_script *s, const struct script_field *f,
		       json_t *v)
{
	int *slot = (int *)(void *)((char *)s + f->off);
	const char *m;

	switch (f->kind) {
	case FIELD_KEYS:
		if (!keys_valid(v))
			return KV_EINVAL;
		s->keys = v;
		return 0;
	case FIELD_MODE:
		m = json_string_value(v);
		for (int i = 0; m && i <= f->max; i++) {
			if (strcmp(m, mode_names[i]) == 0) {
				*slot = i;
				return 0;
			}
		}
		return KV_EINVAL;
	case FIELD_INT:
		if (!json_is_integer(v) || json_integer_value(v) < f->min ||
		    json_integer_value(v) > f->max)
			return KV_ERANGE;
		*slot = (int)json_integer_value(v);
		return 0;
	}
	return KV_EINVAL;
}

/* Applies one number's script object over s; err says what is wrong. */
static int script_entry_apply(struct sim_script *s, json_t *entry, char *err,
			      size_t errlen)
{
	const char *name;
	json_t *v;

	if (!json_is_object(entry)) {
		snprintf(err, errlen, "a number's script must be an object");
		return KV_EINVAL;
	}
	json_object_foreach (entry, name, v) {
		const struct script_field *f = field_find(name);

		if (!f) {
			snprintf(err, errlen, "unknown script field \"%.40s\"",
				 name);
			return KV_EINVAL;
		}
		if (field_apply(s, f, v) != 0) {
			snprintf(err, errlen, "bad value for \"%s\"", f->name);
			return KV_EINVAL;
		}
	}
	return 0;
}

/* Checks a whole script document; null values (deletions) are allowed. */
static int script_validate(json_t *root, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "the script must be a JSON object");
		return KV_EINVAL;
	}
	json_object_foreach (root, key, v) {
		struct sim_script tmp = script_defaults;
		double rate = json_number_value(v);

		if (json_is_null(v))
			continue;
		if (strcmp(key, "failure_rate") == 0) {
			if (!json_is_number(v) || rate < 0 || rate > 1) {
				snprintf(err, errlen,
					 "failure_rate must be 0 to 1");
				return KV_ERANGE;
			}
			continue;
		}
		if (strcmp(key, "api_key") == 0) {
			if (!json_is_string(v)) {
				snprintf(err, errlen,
					 "api_key must be a string");
				return KV_EINVAL;
			}
			continue;
		}
		if (strcmp(key, "*") != 0 && !phone_ok(key)) {
			snprintf(err, errlen,
				 "\"%.40s\" is not a phone number or \"*\"",
				 key);
			return KV_EINVAL;
		}
		if (script_entry_apply(&tmp, v, err, errlen) != 0)
			return KV_EINVAL;
	}
	return 0;
}

/* Merges a valid script document; a number's fault budget starts over. */
static void script_merge_locked(json_t *root)
{
	const char *key;
	json_t *v;

	json_object_foreach (root, key, v) {
		if (strcmp(key, "*") == 0)
			json_object_clear(sim.counters);
		else if (phone_ok(key))
			json_object_del(sim.counters, phone_tail(key));
	}
	json_object_update(sim.scripts, root);
	object_drop_nulls(sim.scripts);
}

static json_t *script_find_locked(const char *phone)
{
	const char *key;
	json_t *v = json_object_get(sim.scripts, phone);

	if (json_is_object(v))
		return v;
	json_object_foreach (sim.scripts, key, v) {
		if (json_is_object(v) && strcmp(key, "*") != 0 &&
		    phone_match(key, phone))
			return v;
	}
	return NULL;
}

/* Defaults, then "*", then the number's own fields.  s->keys is a copy. */
static void script_resolve_locked(const char *phone, struct sim_script *s)
{
	char err[8];
	json_t *star = json_object_get(sim.scripts, "*");
	json_t *own = script_find_locked(phone);

	*s = script_defaults;
	if (star)
		script_entry_apply(s, star, err, sizeof(err));
	if (own)
		script_entry_apply(s, own, err, sizeof(err));
	s->keys = s->keys ? json_deep_copy(s->keys) : NULL;
}

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

static void reply_copy(struct sim_req *r, unsigned int status, const char *type,
		       const char *text)
{
	size_t n = strlen(text);
	char *p = malloc(n + 1);

	if (p)
		memcpy(p, text, n + 1);
	reply_take(r, status, type, p);
}

static void reply_json(struct sim_req *r, unsigned int status, json_t *v)
{
	reply_take(r, status, "application/json",
		   v ? json_dumps(v, JSON_SORT_KEYS) : NULL);
	json_decref(v);
}

static void reply_json_error(struct sim_req *r, unsigned int status,
			     const char *text)
{
	char clean[256];

	text_clean(clean, sizeof(clean), text);
	reply_json(r, status, json_pack("{s:s}", "error", clean));
}

/* KooKoo's reply: <response><status/><message/></response>, via libxml2. */
static void reply_kookoo(struct sim_req *r, const char *status,
			 const char *message)
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
static const char *req_param(struct sim_req *r, const char *name)
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

static int empty(const char *s)
{
	return !s || !*s;
}

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
static char *url_with_query(const char *url, const char *const *pairs,
			    char *err, size_t errlen)
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
static int http_fetch(CURL *h, const char *url, const char *post,
		      struct buf *out, long *code, char *err, size_t errlen)
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
	xmlChar *text = xmlNodeGetContent(n);
	char clean[SIM_SMS_TEXT_MAX + 1];

	text_clean(clean, sizeof(clean), (const char *)text);
	if (phone_ok(to)) {
		pthread_mutex_lock(&sim.lock);
		inbox_add_sms_locked(to, clean, NULL);
		pthread_mutex_unlock(&sim.lock);
		call_note(c, "[sms sent to %s]", to);
	} else {
		call_note(c, "[sendsms without a valid \"to\" ignored]");
	}
	xmlFree(text);
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

static void call_free(struct sim_call *c)
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

static void *call_thread(void *arg)
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
	if (!phone_ok(phone)) {
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

static void api_sms(struct sim_req *r)
{
	struct sim_script s;
	char text[SIM_SMS_TEXT_MAX + 1];
	char sender[40];
	const char *from = req_param(r, "senderid");

	if (outbound_begin(r, &sms_api, &s) >= 0) {
		text_clean(text, sizeof(text), req_param(r, "message"));
		text_clean(sender, sizeof(sender), from);
		pthread_mutex_lock(&sim.lock);
		inbox_add_sms_locked(req_param(r, "phone_no"), text,
				     empty(from) ? NULL : sender);
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
	c->rec = json_pack("{s:s, s:s, s:s, s:s, s:b, s:[], s:[], s:[], s:i, "
			   "s:n, s:n}",
			   "sid", sid, "phone_no", c->phone, "caller_id",
			   c->caller_id, "status", "queued", "done", 0,
			   "transcript", "keys_sent", "events", "duration", 0,
			   "callback_status", "callback_http");
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

static void api_call(struct sim_req *r)
{
	struct sim_script s;
	int mode = outbound_begin(r, &call_api, &s);

	if (mode >= 0)
		call_queue(r, &s, mode);
	json_decref(s.keys);
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
	ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result sim_handle(void *cls, struct MHD_Connection *conn,
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

static void sim_completed(void *cls, struct MHD_Connection *conn,
			  void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct sim_req *r = *con_cls;

	if (!r)
		return;
	buf_release(&r->body);
	free(r->reply);
	free(r);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warn("kookoo-sim: http: %s", msg);
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out, "usage: kookoo-sim [--listen ADDR:PORT] [--script FILE] "
		     "[--quiet] [--allow-remote]\n"
		     "  --listen ADDR:PORT  IPv4 address and port (default "
		     "127.0.0.1:0, any free port)\n"
		     "  --script FILE       per-number script (JSON), see "
		     "tools/README.md\n"
		     "  --quiet             do not print SMS texts and call "
		     "transcripts\n"
		     "  --allow-remote      call IVR and callback URLs on "
		     "non-loopback hosts\n");
}

static int listen_parse(const char *spec, struct sockaddr_in *sin, char *host,
			size_t hostlen)
{
	const char *colon = strrchr(spec, ':');
	size_t hl = colon ? (size_t)(colon - spec) : 0;
	int port;

	if (!colon || hl == 0 || hl >= hostlen ||
	    parse_int(colon + 1, 0, 65535, &port) != 0)
		return KV_EINVAL;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : KV_EINVAL;
}

static void script_load_file(const char *path)
{
	json_error_t jerr;
	char err[160];
	json_t *root = json_load_file(path, 0, &jerr);

	if (!root)
		fatal("kookoo-sim: %s:%d: %s", path, jerr.line, jerr.text);
	if (script_validate(root, err, sizeof(err)) != 0)
		fatal("kookoo-sim: %s: %s", path, err);
	script_merge_locked(root);
	json_decref(root);
}

static void sim_init(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sim.cond, &ca);
	pthread_condattr_destroy(&ca);
	sim.scripts = json_object();
	sim.inboxes = json_object();
	sim.counters = json_object();
	sim.stats = json_object();
	if (!sim.scripts || !sim.inboxes || !sim.counters || !sim.stats)
		fatal("kookoo-sim: out of memory");
	sim.rng = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32) ^
		  0x9e3779b97f4a7c15ULL;
	/* 17-digit call ids like KooKoo's; unique within this process. */
	sim.next_sid = (uint64_t)now_ms() * 10000;
}

/* Stops the daemon, then waits (bounded) for the call threads to end. */
static void sim_stop(struct MHD_Daemon *d)
{
	struct timespec ts;

	pthread_mutex_lock(&sim.lock);
	sim.stopping = 1;
	pthread_cond_broadcast(&sim.cond);
	pthread_mutex_unlock(&sim.lock);
	MHD_stop_daemon(d);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&sim.lock);
	while (sim.active_calls > 0 &&
	       pthread_cond_timedwait(&sim.cond, &sim.lock, &ts) != ETIMEDOUT)
		;
	if (sim.active_calls > 0)
		log_warn("kookoo-sim: %d calls still running at exit",
			 sim.active_calls);
	pthread_mutex_unlock(&sim.lock);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"script", required_argument, NULL, 's'},
		{"quiet", no_argument, NULL, 'q'},
		{"allow-remote", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *listen_spec = "127.0.0.1:0";
	const char *script = NULL;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	struct sockaddr_in sin;
	char host[64];
	sigset_t sigs;
	int opt, sig = 0;

	while ((opt = getopt_long(argc, argv, "l:s:qrh", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_spec = optarg;
			break;
		case 's':
			script = optarg;
			break;
		case 'q':
			sim.quiet = 1;
			break;
		case 'r':
			sim.allow_remote = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (listen_parse(listen_spec, &sin, host, sizeof(host)) != 0)
		fatal("kookoo-sim: --listen \"%s\" is not IPv4ADDR:PORT",
		      listen_spec);

	/* Every thread inherits this mask; only main waits for the signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("kookoo-sim: curl_global_init failed");
	xmlInitParser();
	sim_init();
	if (script)
		script_load_file(script);

	d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION |
			MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
		0, NULL, NULL, sim_handle, NULL, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)SIM_CONNECTIONS_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
		MHD_OPTION_NOTIFY_COMPLETED, sim_completed, NULL,
		MHD_OPTION_END);
	if (!d)
		fatal("kookoo-sim: cannot listen on %s", listen_spec);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("listening on %s:%u\n", host, info ? info->port : 0);
	fflush(stdout);

	while (sig != SIGINT && sig != SIGTERM)
		if (sigwait(&sigs, &sig) != 0)
			break;
	sim_stop(d);
	json_decref(sim.scripts);
	json_decref(sim.inboxes);
	json_decref(sim.counters);
	json_decref(sim.stats);
	xmlCleanupParser();
	curl_global_cleanup();
	return 0;
}
