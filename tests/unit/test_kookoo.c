/*
 * Unit tests of src/kookoo.c: classification of every known KooKoo reply
 * (and of garbage), then end to end against a small libmicrohttpd server on
 * 127.0.0.1 port 0 that answers scripted replies and records each request:
 * escaping, optional parameters, reply cap, timeout, refused port, reuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <libxml/parser.h>
#include <microhttpd.h>
#include <sodium.h>

#include "err.h"
#include "kookoo.h"
#include "table.h"
#include "util.h"

#define PHONE "9876543210"
#define API_KEY "KK0123456789abcdef0123456789abcdef"
/* An SMS text with every character that breaks a pasted query string. */
#define TRICKY_SMS                                                             \
	"Your code is 4821 & id=7+1 100% sure? #frag "                         \
	"\xe0\xa4\x86\xe0\xa4\xaa\xe0\xa4\x95\xe0\xa4\xbe "                    \
	"\xe0\xa4\x95\xe0\xa5\x8b\xe0\xa4\xa1 4821"

#define QUEUED                                                                 \
	"<response><status>queued</status>"                                    \
	"<message>34322178840270491</message></response>"
#define DND_REPLY                                                              \
	"<response><status>error</status>"                                     \
	"<message>Phone number in DND list</message></response>"

/* ---- kookoo_classify ---- */

/* Not checked in a row: ANY_OUTCOME, and NULL strings or 0 below. */
#define ANY_OUTCOME (-1)

/* One reply and how it must be classified. */
struct classify_case {
	const char *name;
	long http;
	const char *body;  /* the reply as sent, or NULL: */
	const char *error; /* <status>error</status> with this message */
	int is_call;
	int outcome; /* an enum kookoo_outcome, or ANY_OUTCOME */
	const char *reason, *status, *message;
	long http_status;
};

#define BODY(b) 200, b, NULL
#define ERROR(msg) 200, NULL, msg
#define HOURS(msg, is_call)                                                    \
	ERROR(msg), is_call, KOOKOO_REFUSED, "outside calling hours", NULL,    \
		msg, 0
#define MALFORMED(b, is_call)                                                  \
	BODY(b), is_call, KOOKOO_RETRY, "malformed reply", NULL, NULL, 0
#define HTTP_ERROR(code)                                                       \
	code, QUEUED, NULL, 1, KOOKOO_RETRY, "HTTP " #code, "queued", NULL, code

static struct classify_case classify_cases[] = {
	{"queued call is accepted with its call id", BODY(QUEUED), 1,
	 KOOKOO_ACCEPTED, "call queued", "queued", "34322178840270491", 200},
	/* An SMS is accepted with any status but error. */
	{"sms success",
	 BODY("<response><status>success</status>"
	      "<message>Message sent</message></response>"),
	 0, KOOKOO_ACCEPTED, "SMS accepted", NULL, NULL, 0},
	{"sms queued",
	 BODY("<response><status>queued</status><message>1</message>"
	      "</response>"),
	 0, KOOKOO_ACCEPTED, "SMS accepted", NULL, NULL, 0},
	{"sms sent", BODY("<response><status>sent</status></response>"), 0,
	 KOOKOO_ACCEPTED, "SMS accepted", NULL, NULL, 0},
	{"dnd refuses a call", BODY(DND_REPLY), 1, KOOKOO_REFUSED, "DND",
	 "error", "Phone number in DND list", 0},
	{"dnd refuses an sms", BODY(DND_REPLY), 0, KOOKOO_REFUSED, "DND", NULL,
	 NULL, 0},
	{"dnd in other words", ERROR("number is registered in dnd"), 0,
	 KOOKOO_REFUSED, "DND", NULL, NULL, 0},
	{"calling hours 9PM to 9AM",
	 HOURS("Calls will not be made between 9PM to 9AM.", 0)},
	{"calling hours after 9 PM",
	 HOURS("Calls will not be made after 9 PM", 1)},
	{"calling hours between 9 and 9", HOURS("No calls between 9 and 9", 0)},
	{"calling hours before the working start hour",
	 HOURS("Cannot process the request before your working start hour.",
	       1)},
	{"authentication error is refused", ERROR("Authentication error"), 1,
	 KOOKOO_REFUSED, "authentication error", NULL, NULL, 0},
	{"invalid number is refused", ERROR("Invalid number"), 1,
	 KOOKOO_REFUSED, "invalid number", NULL, NULL, 0},
	{"invalid phone_no is refused", ERROR("invalid phone_no"), 0,
	 KOOKOO_REFUSED, "invalid number", NULL, NULL, 0},
	/* "Max" is the provider's limit only as the message's prefix. */
	{"max limit is retried", ERROR("Max concurrent calls"), 1, KOOKOO_RETRY,
	 "provider limit", NULL, NULL, 0},
	{"max inside a message is an unknown error",
	 ERROR("Exceeded Max calls"), 1, KOOKOO_RETRY, "Exceeded Max calls",
	 NULL, NULL, 0},
	/* The message stays verbatim; only the reason is for logs. */
	{"unknown error retried with masked digits",
	 ERROR("Gateway busy for " PHONE " pin 4821"), 1, KOOKOO_RETRY,
	 "Gateway busy for xxxxxxxxxx pin xxxx", NULL,
	 "Gateway busy for " PHONE " pin 4821", 0},
	{"unknown error with control characters",
	 ERROR("two\nlines\tand 12 tabs"), 0, KOOKOO_RETRY,
	 "two lines and 12 tabs", NULL, NULL, 0},
	{"empty error message", ERROR(""), 0, KOOKOO_RETRY, "provider error",
	 NULL, NULL, 0},
	{"error without a message",
	 BODY("<response><status>error</status></response>"), 1, KOOKOO_RETRY,
	 "provider error", NULL, NULL, 0},
	{"request root, declaration, whitespace and CDATA",
	 BODY("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	      "<request>\n  <status>\n\t queued \r\n</status>\n"
	      "  <message>  <![CDATA[ 42 ]]>\n</message>\n</request>\n"),
	 1, KOOKOO_ACCEPTED, NULL, "queued", "42", 0},
	{"request root, status in capitals",
	 BODY("<request><status> ERROR </status><message>\n"
	      " Phone number in DND list </message></request>"),
	 1, KOOKOO_REFUSED, NULL, NULL, "Phone number in DND list", 0},
	{"first status and message win",
	 BODY("<response><status>queued</status><message>7</message>"
	      "<status>error</status><message>8</message>"
	      "</response>"),
	 1, KOOKOO_ACCEPTED, NULL, NULL, "7", 0},
	{"empty reply", MALFORMED("", 0)},
	{"not xml", MALFORMED("not xml at all", 1)},
	{"unclosed root",
	 MALFORMED("<response><status>queued</status><message>1</message>", 0)},
	{"html", MALFORMED("<html><body>Gateway error</body></html>", 1)},
	{"no status",
	 MALFORMED("<response><message>1</message></response>", 0)},
	{"blank status",
	 MALFORMED("<response><status>  </status><message>1</message>"
		   "</response>",
		   1)},
	{"status not at the top",
	 MALFORMED("<response><data><status>queued</status></data>"
		   "</response>",
		   0)},
	{"control bytes", MALFORMED("\x01\x02\x03", 1)},
	/* An entity that would turn an unknown reply into a DND refusal. */
	{"entity",
	 MALFORMED("<!DOCTYPE r [<!ENTITY a \"DND\">]>"
		   "<response><status>error</status><message>&a;</message>"
		   "</response>",
		   1)},
	{"billion laughs",
	 MALFORMED("<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\">"
		   "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
		   "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
		   "<response><status>error</status><message>&c;</message>"
		   "</response>",
		   0)},
	{"external DTD",
	 BODY("<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/x.dtd\">"
	      "<response><status>queued</status><message>1</message>"
	      "</response>"),
	 1, ANY_OUTCOME, "malformed reply", NULL, NULL, 0},
	/* HTTP errors are retried even with a valid body, which is still
	 * read for the logs. */
	{"HTTP 500", HTTP_ERROR(500)},
	{"HTTP 502", HTTP_ERROR(502)},
	{"HTTP 503", HTTP_ERROR(503)},
	{"HTTP 404", HTTP_ERROR(404)},
	{"HTTP 429", HTTP_ERROR(429)},
	{"HTTP 403", HTTP_ERROR(403)},
	{"HTTP 302", HTTP_ERROR(302)},
	{"HTTP 100", HTTP_ERROR(100)},
	{"no HTTP reply", 0, QUEUED, NULL, 1, KOOKOO_RETRY, "no HTTP reply",
	 NULL, NULL, 0},
	{"queued without call id",
	 BODY("<response><status>queued</status></response>"), 1, KOOKOO_RETRY,
	 "queued without call id", NULL, NULL, 0},
	{"queued with a blank call id",
	 BODY("<response><status>queued</status><message> </message>"
	      "</response>"),
	 1, KOOKOO_RETRY, "queued without call id", NULL, NULL, 0},
	{"call with another status is retried",
	 BODY("<response><status>success</status><message>1</message>"
	      "</response>"),
	 1, KOOKOO_RETRY, "unexpected status: success", NULL, NULL, 0},
};

static void test_classify(void **state)
{
	const struct classify_case *c = *state;
	struct kookoo_result r;
	char body[1024];
	const char *b = c->body;

	if (!b) {
		snprintf(body, sizeof(body),
			 "<response><status>error</status><message>%s"
			 "</message></response>",
			 c->error);
		b = body;
	}
	kookoo_classify(c->http, b, strlen(b), c->is_call, &r);
	if (c->outcome != ANY_OUTCOME)
		assert_int_equal(r.outcome, c->outcome);
	if (c->reason)
		assert_string_equal(r.reason, c->reason);
	if (c->status)
		assert_string_equal(r.status, c->status);
	if (c->message)
		assert_string_equal(r.message, c->message);
	if (c->http_status)
		assert_int_equal(r.http_status, c->http_status);
}

/* A NULL body with length 0 is an empty reply, not a crash. */
static void test_null_body_is_malformed(void **state)
{
	struct kookoo_result r;

	kookoo_classify(200, NULL, 0, 0, &r);
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	assert_string_equal(r.reason, "malformed reply");
}

static int is_utf8_of_3_byte_chars(const char *s)
{
	size_t i, n = strlen(s);

	if (n % 3)
		return 0;
	for (i = 0; i < n; i += 3)
		if (((unsigned char)s[i] & 0xF0) != 0xE0)
			return 0;
	return 1;
}

static void test_huge_replies_are_cut_safely(void **state)
{
	/* 1 MB of Devanagari (3 bytes a character) in an error message. */
	const char *deva = "\xe0\xa4\x95";
	const size_t chars = (1 << 20) / 3;
	struct buf b;
	struct kookoo_result r;
	size_t i;

	buf_init(&b, 2 << 20);
	assert_int_equal(buf_append_str(&b, "<response><status>error</status>"
					    "<message>"),
			 0);
	for (i = 0; i < chars; i++)
		assert_int_equal(buf_append_str(&b, deva), 0);
	assert_int_equal(buf_append_str(&b, "</message></response>"), 0);
	kookoo_classify(200, b.data, b.len, 1, &r);
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	assert_true(strlen(r.message) <= sizeof(r.message) - 1);
	assert_true(strlen(r.message) > sizeof(r.message) - 4);
	assert_true(is_utf8_of_3_byte_chars(r.message));
	assert_true(strlen(r.reason) > sizeof(r.reason) - 4);
	assert_true(is_utf8_of_3_byte_chars(r.reason));
	buf_release(&b);

	/* 1 MB of garbage. */
	buf_init(&b, 2 << 20);
	for (i = 0; i < 1024; i++)
		assert_int_equal(buf_append_str(&b, "<<<<<<<<"), 0);
	kookoo_classify(200, b.data, b.len, 0, &r);
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	assert_string_equal(r.reason, "malformed reply");
	buf_release(&b);
}

/* ---- the scripted test server ---- */

struct server {
	struct MHD_Daemon *d;
	unsigned short port;
	char base[64]; /* "http://127.0.0.1:PORT/outbound" */
	pthread_mutex_t lock;
	/* script */
	unsigned int code;
	const char *body;
	size_t stream_len; /* >0: stream this many bytes, no Content-Length */
	int stall;         /* hold the reply until `release` */
	volatile int release;
	/* record of the last request */
	int requests;
	char uri[4096];         /* raw, with the query string */
	char path[256];         /* as MHD split it */
	char mhd_message[1024]; /* "message" as MHD decoded it */
	char mhd_url[1024];     /* "url" as MHD decoded it */
};

static int first_call_marker;

static void copy_field(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "(absent)");
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct server *s = cls;

	pthread_mutex_lock(&s->lock);
	copy_field(s->uri, sizeof(s->uri), uri);
	pthread_mutex_unlock(&s->lock);
	return &first_call_marker;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	const struct server *s = cls;
	size_t left;

	if (pos >= s->stream_len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	left = s->stream_len - (size_t)pos;
	if (left > max)
		left = max;
	memset(out, ' ', left);
	return (ssize_t)left;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **req)
{
	struct server *s = cls;
	struct MHD_Response *resp = NULL;
	enum MHD_Result ret;
	char *copy = NULL;
	int i;

	if (*req == &first_call_marker) {
		*req = NULL;
		return MHD_YES;
	}
	pthread_mutex_lock(&s->lock);
	s->requests++;
	copy_field(s->path, sizeof(s->path), url);
	copy_field(s->mhd_message, sizeof(s->mhd_message),
		   MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
					       "message"));
	copy_field(s->mhd_url, sizeof(s->mhd_url),
		   MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
					       "url"));
	pthread_mutex_unlock(&s->lock);

	/* Stalls for at most 5 s, in steps, until the test releases it. */
	for (i = 0; s->stall && !s->release && i < 500; i++) {
		struct timespec ts = {0, 10000000L};

		nanosleep(&ts, NULL);
	}
	if (s->stream_len)
		resp = MHD_create_response_from_callback(
			MHD_SIZE_UNKNOWN, 1024, stream_reader, s, NULL);
	else if ((copy = strdup(s->body)) != NULL)
		resp = MHD_create_response_from_buffer(strlen(copy), copy,
						       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(copy);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/xml");
	if (s->code / 100 == 3)
		MHD_add_response_header(resp, "Location",
					"http://127.0.0.1:1/");
	ret = MHD_queue_response(c, s->code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int server_setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	if (!s)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	s->code = 200;
	s->body = QUEUED;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
		0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
	if (!s->d) {
		free(s);
		return -1;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u/outbound",
		 (unsigned)s->port);
	*state = s;
	return s->port ? 0 : -1;
}

static int server_teardown(void **state)
{
	struct server *s = *state;

	s->release = 1;
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return 0;
}

static struct kookoo *client(const char *base, long timeout_ms,
			     size_t reply_max)
{
	struct kookoo_settings ks = {
		.base_url = base,
		.api_key = API_KEY,
		.connect_timeout_ms = 1000,
		.timeout_ms = timeout_ms,
		.reply_max = reply_max,
	};
	struct kookoo *k = kookoo_new(&ks);

	assert_non_null(k);
	return k;
}

/*
 * Decodes the value of `name` from the raw query of uri (percent escapes
 * only, as any decoder must read them); returns malloc'ed text or NULL.
 */
static char *query_value(const char *uri, const char *name)
{
	const char *q = strchr(uri, '?');
	size_t nl = strlen(name);

	if (!q)
		return NULL;
	for (q++; *q;) {
		const char *end = strchrnul(q, '&');

		if ((size_t)(end - q) > nl && !strncmp(q, name, nl) &&
		    q[nl] == '=') {
			int len = 0;
			char *v = curl_easy_unescape(NULL, q + nl + 1,
						     (int)(end - q - nl - 1),
						     &len);
			char *r = v ? strndup(v, (size_t)len) : NULL;

			curl_free(v);
			return r;
		}
		q = *end ? end + 1 : end;
	}
	return NULL;
}

/* Writes the parameter names of uri's query, comma-separated, into out. */
static void query_names(const char *uri, char *out, size_t n)
{
	const char *q = strchr(uri, '?');
	size_t len = 0;

	out[0] = '\0';
	for (q = q ? q + 1 : ""; *q;) {
		size_t w = strcspn(q, "=&");

		len += (size_t)snprintf(out + len, n - len, "%s%.*s",
					len ? "," : "", (int)w, q);
		assert_true(len < n);
		q = strchrnul(q, '&');
		if (*q)
			q++;
	}
}

static void assert_param(const char *uri, const char *name, const char *want)
{
	char *v = query_value(uri, name);

	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

/* The reason is for logs: nothing secret may reach it. */
static void assert_reason_clean(const struct kookoo_result *r)
{
	assert_null(strstr(r->reason, PHONE));
	assert_null(strstr(r->reason, API_KEY));
	assert_null(strstr(r->reason, "4821"));
}

static void test_sms_parameters_arrive_escaped(void **state)
{
	struct server *s = *state;
	struct kookoo *k = client(s->base, 2000, 0);
	struct kookoo_result r;
	char names[256];

	s->body = "<response><status>success</status>"
		  "<message>sent</message></response>";
	assert_int_equal(kookoo_send_sms(k, PHONE, TRICKY_SMS, "KOOKOO", &r),
			 0);
	assert_int_equal(r.outcome, KOOKOO_ACCEPTED);
	assert_int_equal(r.http_status, 200);
	assert_reason_clean(&r);
	assert_string_equal(s->path, "/outbound/outbound_sms.php");
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names, "api_key,phone_no,message,senderid");
	assert_param(s->uri, "api_key", API_KEY);
	assert_param(s->uri, "phone_no", PHONE);
	assert_param(s->uri, "message", TRICKY_SMS);
	assert_param(s->uri, "senderid", "KOOKOO");
	/* Nothing raw: no space, '+', '#', '=' or '&' inside the value, and
	 * MHD (the simulator's decoder) reads the same text back. */
	assert_null(strchr(s->uri, ' '));
	assert_null(strchr(s->uri, '+'));
	assert_null(strchr(s->uri, '#'));
	/* (curl writes the hex digits in lower case; both are valid) */
	assert_non_null(strcasestr(s->uri, "%26%20id%3D7%2B1%20100%25"));
	assert_string_equal(s->mhd_message, TRICKY_SMS);
	kookoo_free(k);
}

static void test_sms_senderid_omitted_when_null(void **state)
{
	struct server *s = *state;
	struct kookoo *k = client(s->base, 2000, 0);
	struct kookoo_result r;
	char names[256];

	s->body = "<response><status>success</status></response>";
	assert_int_equal(kookoo_send_sms(k, PHONE, "hi", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_ACCEPTED);
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names, "api_key,phone_no,message");
	kookoo_free(k);
}

#define HINDI_SMS "MyApp कोड: 4821. 5 मिनट के लिए मान्य।"

static struct kookoo *client_unicode(const char *base, const char *setting)
{
	struct kookoo_settings ks = {
		.base_url = base,
		.api_key = API_KEY,
		.connect_timeout_ms = 1000,
		.timeout_ms = 2000,
		.sms_unicode = setting,
	};
	struct kookoo *k = kookoo_new(&ks);

	assert_non_null(k);
	return k;
}

/*
 * Devanagari must reach KooKoo marked as Unicode (its in-call <sendsms>
 * has a `unicode` attribute; the outbound_sms.php parameter is a setting).
 * ASCII text goes unmarked; an empty setting marks nothing.
 */
static void test_sms_unicode_marked_for_non_ascii_only(void **state)
{
	struct server *s = *state;
	struct kookoo *k = client_unicode(s->base, "unicode=true");
	struct kookoo_result r;
	char names[256];

	s->body = "<response><status>success</status></response>";
	assert_int_equal(kookoo_send_sms(k, PHONE, HINDI_SMS, NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_ACCEPTED);
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names, "api_key,phone_no,message,unicode");
	assert_param(s->uri, "unicode", "true");
	assert_param(s->uri, "message", HINDI_SMS);
	/* Latin text with one accented letter is not ASCII either. */
	assert_int_equal(
		kookoo_send_sms(k, PHONE, "Café code: 4821", "KOOKOO", &r), 0);
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names, "api_key,phone_no,message,senderid,unicode");
	assert_int_equal(kookoo_send_sms(k, PHONE, "code 4821 & id=7+1 #f~",
					 NULL, &r),
			 0);
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names, "api_key,phone_no,message");
	kookoo_free(k);

	k = client_unicode(s->base, "charset=ucs2");
	assert_int_equal(kookoo_send_sms(k, PHONE, HINDI_SMS, NULL, &r), 0);
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names, "api_key,phone_no,message,charset");
	assert_param(s->uri, "charset", "ucs2");
	kookoo_free(k);

	k = client_unicode(s->base, "");
	assert_int_equal(kookoo_send_sms(k, PHONE, HINDI_SMS, NULL, &r), 0);
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names, "api_key,phone_no,message");
	kookoo_free(k);
}

/*
 * The DLT ids go under the parameter names the settings give (KooKoo's
 * docs name none); an empty name, or an empty id, sends nothing.
 */
static void test_sms_dlt_ids_under_configured_names(void **state)
{
	struct server *s = *state;
	struct kookoo_settings ks = {
		.base_url = s->base,
		.api_key = API_KEY,
		.connect_timeout_ms = 1000,
		.timeout_ms = 2000,
		.dlt_template_param = "dlt_template_id",
		.dlt_entity_param = "pe_id",
		.dlt_header_param = "",
	};
	const struct kookoo_dlt dlt = {.template_id = "1107161234567890123",
				       .entity_id = "0012345",
				       .header = "ACMEIN"};
	const struct kookoo_dlt no_entity = {.template_id =
						     "1107161234567890123",
					     .entity_id = "",
					     .header = "ACMEIN"};
	struct kookoo *k = kookoo_new(&ks);
	struct kookoo_result r;
	char names[256];

	assert_non_null(k);
	s->body = "<response><status>success</status></response>";
	assert_int_equal(kookoo_send_sms_dlt(k, PHONE, "hi", NULL, &dlt, &r),
			 0);
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names,
			    "api_key,phone_no,message,dlt_template_id,pe_id");
	assert_param(s->uri, "dlt_template_id", "1107161234567890123");
	assert_param(s->uri, "pe_id", "0012345");
	assert_int_equal(
		kookoo_send_sms_dlt(k, PHONE, "hi", NULL, &no_entity, &r), 0);
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names, "api_key,phone_no,message,dlt_template_id");
	assert_int_equal(kookoo_send_sms(k, PHONE, "hi", NULL, &r), 0);
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names, "api_key,phone_no,message");
	kookoo_free(k);
	/* A name that is not a parameter name: no client. */
	ks.dlt_header_param = "a b";
	assert_null(kookoo_new(&ks));
	assert_true(kookoo_param_name_ok(""));
	assert_true(kookoo_param_name_ok("DltTemplateId"));
	assert_false(kookoo_param_name_ok("a&b"));
	assert_false(kookoo_param_name_ok("abcdefghijabcdefghijabcdefghijab"));
}

static void test_unicode_setting_split(void **state)
{
	static const char *const bad[] = {
		"unicode",
		"=true",
		"unicode=",
		"uni code=1",
		"a=b=c",
		"unicode=tr&ue",
		"x=\xc3\xa9",
		"a234567890123456789012345678901x=1",
		"a=1234567890123456789012345678901x",
	};
	struct kookoo_settings ks = {.base_url = "http://127.0.0.1:1",
				     .api_key = API_KEY};
	char name[32], value[32];

	assert_int_equal(kookoo_unicode_split("unicode=true", name, value), 0);
	assert_string_equal(name, "unicode");
	assert_string_equal(value, "true");
	assert_int_equal(kookoo_unicode_split("dcs=8", NULL, NULL), 0);
	assert_int_equal(kookoo_unicode_split("", name, value), 0);
	assert_string_equal(name, "");
	assert_int_equal(kookoo_unicode_split(NULL, name, value), KV_EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(kookoo_unicode_split(bad[i], name, value),
				 KV_EINVAL);
		ks.sms_unicode = bad[i];
		assert_null(kookoo_new(&ks));
	}
}

static void test_call_parameters_and_optional_caller_id(void **state)
{
	struct server *s = *state;
	const char *ivr = "https://verify.example/ivr?t=a.b+c/d==&lang=hi";
	const char *cb = "https://verify.example/ivr/status?t=x%2Fy&z=1";
	struct kookoo *k = client(s->base, 2000, 0);
	struct kookoo_result r;
	char names[256];

	assert_int_equal(kookoo_place_call(k, PHONE, ivr, cb, NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_ACCEPTED);
	assert_string_equal(r.message, "34322178840270491");
	assert_string_equal(s->path, "/outbound/outbound.php");
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names, "api_key,phone_no,outbound_version,url,"
				   "callback_url");
	assert_param(s->uri, "outbound_version", "2");
	assert_param(s->uri, "url", ivr);
	assert_param(s->uri, "callback_url", cb);
	assert_string_equal(s->mhd_url, ivr);

	assert_int_equal(
		kookoo_place_call(k, PHONE, ivr, cb, "08033000000", &r), 0);
	query_names(s->uri, names, sizeof(names));
	assert_string_equal(names, "api_key,phone_no,outbound_version,url,"
				   "callback_url,caller_id");
	assert_param(s->uri, "caller_id", "08033000000");
	kookoo_free(k);
}

static void test_trailing_slash_in_base_url(void **state)
{
	struct server *s = *state;
	char base[80];
	struct kookoo *k;
	struct kookoo_result r;

	snprintf(base, sizeof(base), "%s/", s->base);
	k = client(base, 2000, 0);
	assert_int_equal(kookoo_place_call(k, PHONE, "u", "c", NULL, &r), 0);
	assert_string_equal(s->path, "/outbound/outbound.php");
	kookoo_free(k);
}

static void test_refusal_and_http_error_end_to_end(void **state)
{
	struct server *s = *state;
	struct kookoo *k = client(s->base, 2000, 0);
	struct kookoo_result r;

	s->body = DND_REPLY;
	assert_int_equal(kookoo_place_call(k, PHONE, "u", "c", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_REFUSED);
	assert_string_equal(r.reason, "DND");

	s->code = 500;
	s->body = QUEUED;
	assert_int_equal(kookoo_place_call(k, PHONE, "u", "c", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	assert_int_equal(r.http_status, 500);
	assert_string_equal(r.reason, "HTTP 500");
	kookoo_free(k);
}

static void test_redirect_not_followed(void **state)
{
	struct server *s = *state;
	struct kookoo *k = client(s->base, 2000, 0);
	struct kookoo_result r;

	s->code = 302;
	assert_int_equal(kookoo_send_sms(k, PHONE, "hi", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	assert_string_equal(r.reason, "HTTP 302");
	assert_int_equal(s->requests, 1);
	kookoo_free(k);
}

/* A body of exactly n bytes that is a valid accepted SMS reply. */
static char *padded_reply(size_t n)
{
	const char *head = "<response><status>success</status></response>";
	char *p = malloc(n + 1);

	assert_non_null(p);
	assert_true(n >= strlen(head));
	memset(p, ' ', n);
	memcpy(p, head, strlen(head));
	p[n] = '\0';
	return p;
}

static void test_reply_cap_at_and_past_the_limit(void **state)
{
	struct server *s = *state;
	struct kookoo *k = client(s->base, 2000, 512);
	struct kookoo_result r;
	char *at = padded_reply(512), *past = padded_reply(513);

	s->body = at;
	assert_int_equal(kookoo_send_sms(k, PHONE, "hi", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_ACCEPTED);

	/* With a Content-Length past the cap. */
	s->body = past;
	assert_int_equal(kookoo_send_sms(k, PHONE, "hi", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	assert_string_equal(r.reason, "reply too large");

	/* Streamed without a Content-Length: the write callback stops it. */
	s->stream_len = 100000;
	assert_int_equal(kookoo_send_sms(k, PHONE, "hi", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	assert_string_equal(r.reason, "reply too large");
	assert_int_equal(r.http_status, 200);

	/* The client still works afterwards. */
	s->stream_len = 0;
	s->body = at;
	assert_int_equal(kookoo_send_sms(k, PHONE, "hi", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_ACCEPTED);
	kookoo_free(k);
	s->body = QUEUED;
	free(at);
	free(past);
}

static void test_timeout_is_retried(void **state)
{
	struct server *s = *state;
	struct kookoo *k = client(s->base, 200, 0);
	struct kookoo_result r;
	int64_t t0;

	s->stall = 1;
	t0 = mono_ms();
	assert_int_equal(kookoo_place_call(k, PHONE, "u", "c", NULL, &r), 0);
	assert_true(mono_ms() - t0 < 2000);
	s->release = 1;
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	assert_string_equal(r.reason, "timeout");
	kookoo_free(k);
}

static void test_closed_port_is_network_retry(void **state)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char base[64];
	struct kookoo *k;
	struct kookoo_result r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* Takes a free port from the kernel, then closes it. */
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u/outbound",
		 (unsigned)ntohs(sa.sin_port));

	k = client(base, 2000, 0);
	assert_int_equal(kookoo_send_sms(k, PHONE, "code 4821", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	assert_int_equal(r.http_status, 0);
	assert_int_equal(strncmp(r.reason, "network: ", 9), 0);
	assert_reason_clean(&r);
	kookoo_free(k);
}

static void test_connection_reused_between_requests(void **state)
{
	struct server *s = *state;
	struct kookoo *k = client(s->base, 2000, 0);
	struct kookoo_result r;

	assert_int_equal(kookoo_last_connects(k), -1);
	assert_int_equal(kookoo_place_call(k, PHONE, "u", "c", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_ACCEPTED);
	assert_int_equal(kookoo_last_connects(k), 1);
	assert_int_equal(kookoo_send_sms(k, PHONE, "hi", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_ACCEPTED);
	assert_int_equal(kookoo_last_connects(k), 0);
	assert_int_equal(s->requests, 2);
	kookoo_free(k);
}

static void test_bad_arguments_and_base_urls(void **state)
{
	struct kookoo_settings ks = {.base_url = NULL, .api_key = API_KEY};
	struct kookoo *k;
	struct kookoo_result r;

	assert_null(kookoo_new(NULL));
	assert_null(kookoo_new(&ks));
	kookoo_free(NULL);

	k = client("not a url", 2000, 0);
	assert_int_equal(kookoo_send_sms(k, PHONE, "hi", NULL, &r), KV_EINVAL);
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	assert_string_equal(r.reason, "invalid base URL");
	assert_int_equal(kookoo_send_sms(k, NULL, "hi", NULL, &r), KV_EINVAL);
	assert_string_equal(r.reason, "invalid request");
	assert_int_equal(kookoo_place_call(k, PHONE, NULL, "c", NULL, &r),
			 KV_EINVAL);
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	kookoo_free(k);

	/* Only http and https are spoken. */
	k = client("file:///etc", 2000, 0);
	assert_int_equal(kookoo_send_sms(k, PHONE, "hi", NULL, &r), 0);
	assert_int_equal(r.outcome, KOOKOO_RETRY);
	assert_int_equal(strncmp(r.reason, "network: ", 9), 0);
	kookoo_free(k);
}

int main(void)
{
#define T(f) cmocka_unit_test(f)
#define S(f) cmocka_unit_test_setup_teardown(f, server_setup, server_teardown)
	static const struct CMUnitTest tests[] = {
		T(test_null_body_is_malformed),
		T(test_huge_replies_are_cut_safely),
		S(test_sms_parameters_arrive_escaped),
		S(test_sms_senderid_omitted_when_null),
		S(test_sms_unicode_marked_for_non_ascii_only),
		S(test_sms_dlt_ids_under_configured_names),
		T(test_unicode_setting_split),
		S(test_call_parameters_and_optional_caller_id),
		S(test_trailing_slash_in_base_url),
		S(test_refusal_and_http_error_end_to_end),
		S(test_redirect_not_followed),
		S(test_reply_cap_at_and_past_the_limit),
		S(test_timeout_is_retried),
		T(test_closed_port_is_network_retry),
		S(test_connection_reused_between_requests),
		T(test_bad_arguments_and_base_urls),
	};
	static struct table_tests all;
	int rc;

	TABLE_ADD(&all, test_classify, classify_cases);
	table_add_tests(&all, tests, ARRAY_LEN(tests));
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	xmlInitParser();
	rc = table_run(&all);
	curl_global_cleanup();
	xmlCleanupParser();
	return rc;
}
