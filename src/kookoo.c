/*
 * KooKoo provider client (see kookoo.h): builds the outbound SMS and call
 * URLs with libcurl's escaping, fetches them on a kept-alive easy handle
 * with a capped reply, and parses the XML reply with libxml2 into a result
 * classified as accepted, refused for good, or worth a retry
 * (docs/ARCHITECTURE.md, "Classification").
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <sodium.h>

#include "err.h"
#include "kookoo.h"
#include "metrics.h"
#include "util.h"

#define KOOKOO_CONNECT_TIMEOUT_MS 3000L
#define KOOKOO_TIMEOUT_MS 10000L
#define KOOKOO_REPLY_MAX 16384
/* Runs of at least this many digits in provider text are masked in reasons:
 * they may be the phone number or, for an SMS, the PIN echoed back. */
#define KOOKOO_MASK_DIGITS 4

struct kookoo {
	CURL *curl;
	char *base_url;
	char *api_key;
	size_t api_key_len;
	struct buf body; /* reply of the current request, capped */
	int too_big;     /* the reply went past body.cap */
	int nomem;       /* appending the reply failed for lack of memory */
	long connects;   /* CURLINFO_NUM_CONNECTS of the last request */
	char unicode_name[32]; /* sms_unicode, split; "" when not set */
	char unicode_value[32];
	/* The DLT parameters' names; "" when not sent. */
	char dlt_template[32];
	char dlt_entity[32];
	char dlt_header[32];
};

/* One query parameter; a NULL value leaves the parameter out. */
struct kookoo_param {
	const char *name;
	const char *value;
};

/*
 * What an "error" reply means, by its message.  Matched in order, case
 * insensitively; `prefix` anchors the needle at the start of the message.
 */
static const struct kookoo_rule {
	const char *needle;
	int prefix;
	enum kookoo_outcome outcome;
	const char *reason;
} kookoo_error_rules[] = {
	{"DND", 0, KOOKOO_REFUSED, "DND"},
	{"9PM", 0, KOOKOO_REFUSED, "outside calling hours"},
	{"9 PM", 0, KOOKOO_REFUSED, "outside calling hours"},
	{"between 9", 0, KOOKOO_REFUSED, "outside calling hours"},
	{"working start hour", 0, KOOKOO_REFUSED, "outside calling hours"},
	/* Retrying cannot help: the operator must fix the key. */
	{"Authentication", 0, KOOKOO_REFUSED, "authentication error"},
	{"Max", 1, KOOKOO_RETRY, "provider limit"},
	{"invalid number", 0, KOOKOO_REFUSED, "invalid number"},
	{"invalid phone", 0, KOOKOO_REFUSED, "invalid number"},
};

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/*
 * Copies the NUL-terminated src into dst of size n (n > 0), cutting it at a
 * UTF-8 character boundary when it does not fit.
 */
static void copy_cut(char *dst, size_t n, const char *src)
{
	size_t len = strlen(src);

	if (len >= n) {
		len = n - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * Writes provider text into a reason: control characters become spaces
 * (one log line per event) and digits in runs of KOOKOO_MASK_DIGITS or
 * more become 'x', so an echoed phone number or PIN never reaches a log.
 */
static void reason_from_text(char *dst, size_t n, const char *src)
{
	size_t i, j;

	copy_cut(dst, n, src);
	for (i = 0; dst[i]; i = j) {
		j = i;
		while (dst[j] >= '0' && dst[j] <= '9')
			j++;
		if (j - i >= KOOKOO_MASK_DIGITS)
			memset(dst + i, 'x', j - i);
		if (j == i) {
			if ((unsigned char)dst[j] < 0x20 || dst[j] == 0x7F)
				dst[j] = ' ';
			j++;
		}
	}
}

/*
 * Appends the text and CDATA children of node to dst (size n), skipping
 * leading whitespace, then trims trailing whitespace.  Only direct text is
 * taken: nested elements and entity references are ignored, so nothing is
 * ever expanded.
 */
static void node_text(const xmlNode *node, char *dst, size_t n)
{
	const xmlNode *c;
	size_t len = 0;

	for (c = node->children; c; c = c->next) {
		const unsigned char *s;

		if (c->type != XML_TEXT_NODE &&
		    c->type != XML_CDATA_SECTION_NODE)
			continue;
		for (s = c->content; s && *s && len < n - 1; s++) {
			if (len == 0 && is_space(*s))
				continue;
			dst[len++] = (char)*s;
		}
	}
	while (len > 0 && is_space((unsigned char)dst[len - 1]))
		len--;
	/* A cut in the middle of a UTF-8 sequence drops that sequence. */
	if (len == n - 1) {
		size_t k = len;

		while (k > 0 && ((unsigned char)dst[k - 1] & 0xC0) == 0x80)
			k--;
		if (k > 0 && ((unsigned char)dst[k - 1] & 0x80)) {
			unsigned char lead = (unsigned char)dst[k - 1];
			size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;

			if (len - (k - 1) < want)
				len = k - 1;
		}
	}
	dst[len] = '\0';
}

/*
 * Parses body and fills out->status and out->message from the first
 * <status> and <message> children of the root, whatever the root's name.
 * Returns 0, or KV_EINVAL when the body is not well-formed XML, carries a
 * DTD, or has no non-empty status.
 */
static int parse_reply(const char *body, size_t len, struct kookoo_result *out)
{
	xmlDoc *doc = NULL;
	const xmlNode *root, *c;
	int have_status = 0, have_message = 0;
	int ret = KV_EINVAL;

	if (!body || len == 0 || len > INT_MAX)
		goto out;
	/* No XML_PARSE_NOENT and no XML_PARSE_DTDLOAD: entities stay
	 * unexpanded and nothing is fetched. */
	doc = xmlReadMemory(body, (int)len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	if (!doc)
		goto out;
	/* KooKoo replies never carry a DTD; refusing one rules out entity
	 * tricks altogether. */
	if (doc->intSubset || doc->extSubset)
		goto out;
	root = xmlDocGetRootElement(doc);
	if (!root)
		goto out;
	for (c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!have_status &&
		    xmlStrEqual(c->name, (const xmlChar *)"status")) {
			node_text(c, out->status, sizeof(out->status));
			have_status = 1;
		} else if (!have_message &&
			   xmlStrEqual(c->name, (const xmlChar *)"message")) {
			node_text(c, out->message, sizeof(out->message));
			have_message = 1;
		}
	}
	if (out->status[0])
		ret = 0;
out:
	xmlFreeDoc(doc);
	return ret;
}

static void set_result(struct kookoo_result *out, enum kookoo_outcome o,
		       const char *reason)
{
	out->outcome = o;
	copy_cut(out->reason, sizeof(out->reason), reason);
}

/* Classifies a well-formed reply whose status is "error". */
static void classify_error(struct kookoo_result *out)
{
	const char *m = out->message;
	size_t i;

	for (i = 0; i < ARRAY_LEN(kookoo_error_rules); i++) {
		const struct kookoo_rule *r = &kookoo_error_rules[i];
		int hit;

		if (r->prefix)
			hit = strncasecmp(m, r->needle, strlen(r->needle)) == 0;
		else
			hit = strcasestr(m, r->needle) != NULL;
		if (hit) {
			set_result(out, r->outcome, r->reason);
			return;
		}
	}
	out->outcome = KOOKOO_RETRY;
	if (m[0])
		reason_from_text(out->reason, sizeof(out->reason), m);
	else
		copy_cut(out->reason, sizeof(out->reason), "provider error");
}

void kookoo_classify(long http_status, const char *body, size_t len,
		     int is_call, struct kookoo_result *out)
{
	char tmp[sizeof(out->reason)];
	int parsed;

	memset(out, 0, sizeof(*out));
	out->http_status = http_status;
	/* Parsed even for a failed HTTP status: the text helps the logs. */
	parsed = parse_reply(body, len, out);

	if (http_status < 200 || http_status > 299) {
		if (http_status == 0)
			set_result(out, KOOKOO_RETRY, "no HTTP reply");
		else {
			snprintf(tmp, sizeof(tmp), "HTTP %ld", http_status);
			set_result(out, KOOKOO_RETRY, tmp);
		}
		return;
	}
	if (parsed < 0) {
		set_result(out, KOOKOO_RETRY, "malformed reply");
		return;
	}
	if (strcasecmp(out->status, "error") == 0) {
		classify_error(out);
		return;
	}
	if (!is_call) {
		set_result(out, KOOKOO_ACCEPTED, "SMS accepted");
		return;
	}
	if (strcasecmp(out->status, "queued") != 0) {
		char status[sizeof(out->status)];

		reason_from_text(status, sizeof(status), out->status);
		snprintf(tmp, sizeof(tmp), "unexpected status: %s", status);
		set_result(out, KOOKOO_RETRY, tmp);
	} else if (!out->message[0]) {
		set_result(out, KOOKOO_RETRY, "queued without call id");
	} else {
		set_result(out, KOOKOO_ACCEPTED, "call queued");
	}
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct kookoo *k = arg;
	size_t n = size * nmemb;
	int rc = buf_append(&k->body, data, n);

	if (rc == 0)
		return n;
	if (rc == KV_ETOOBIG)
		k->too_big = 1;
	else
		k->nomem = 1;
	return 0; /* anything but n aborts the transfer */
}

static char *dup_str(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *p = malloc(n + 1);

	if (p)
		memcpy(p, s, n + 1);
	if (len)
		*len = n;
	return p;
}

/* Sets the options every request shares; returns 0 or KV_EINVAL. */
static int setup_handle(struct kookoo *k, const struct kookoo_settings *s)
{
	CURL *c = k->curl;
	long connect_ms = s->connect_timeout_ms > 0 ? s->connect_timeout_ms
						    : KOOKOO_CONNECT_TIMEOUT_MS;
	long total_ms = s->timeout_ms > 0 ? s->timeout_ms : KOOKOO_TIMEOUT_MS;

	/* NOSIGNAL: worker threads (the threaded resolver honours the
	 * timeouts without SIGALRM).  MAXFILESIZE: a Content-Length past the
	 * cap fails before the body is read; on_write() caps the rest.
	 * Redirects are not followed. */
	if (curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms) ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "kookooverify") ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			     (curl_off_t)k->body.cap) ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)k))
		return KV_EINVAL;
	return 0;
}

static int unicode_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

int kookoo_param_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	for (size_t i = 0; i < n; i++)
		if (!unicode_char_ok((unsigned char)name[i]))
			return 0;
	return n <= 31;
}

/* Copies a DLT parameter's name setting (32 bytes); 0 or KV_EINVAL. */
static int dlt_name_set(char out[32], const char *name)
{
	if (!kookoo_param_name_ok(name))
		return KV_EINVAL;
	snprintf(out, 32, "%s", name ? name : "");
	return 0;
}

int kookoo_unicode_split(const char *setting, char *name, char *value)
{
	const char *eq;
	size_t nl, vl;

	if (!setting)
		return KV_EINVAL;
	if (!*setting) {
		if (name)
			name[0] = '\0';
		if (value)
			value[0] = '\0';
		return 0;
	}
	eq = strchr(setting, '=');
	if (!eq)
		return KV_EINVAL;
	nl = (size_t)(eq - setting);
	vl = strlen(eq + 1);
	if (nl == 0 || nl > 31 || vl == 0 || vl > 31)
		return KV_EINVAL;
	for (size_t i = 0; setting[i]; i++)
		if (i != nl && !unicode_char_ok((unsigned char)setting[i]))
			return KV_EINVAL;
	if (name) {
		memcpy(name, setting, nl);
		name[nl] = '\0';
	}
	if (value)
		memcpy(value, eq + 1, vl + 1);
	return 0;
}

/* Whether text needs Unicode (UCS-2) rather than plain GSM/ASCII text. */
static int text_is_unicode(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p >= 0x80)
			return 1;
	return 0;
}

struct kookoo *kookoo_new(const struct kookoo_settings *s)
{
	struct kookoo *k;

	if (!s || !s->base_url || !s->api_key)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	if (kookoo_unicode_split(s->sms_unicode ? s->sms_unicode : "",
				 k->unicode_name, k->unicode_value) != 0 ||
	    dlt_name_set(k->dlt_template, s->dlt_template_param) != 0 ||
	    dlt_name_set(k->dlt_entity, s->dlt_entity_param) != 0 ||
	    dlt_name_set(k->dlt_header, s->dlt_header_param) != 0) {
		free(k);
		return NULL;
	}
	buf_init(&k->body, s->reply_max > 0 ? s->reply_max : KOOKOO_REPLY_MAX);
	k->connects = -1;
	k->base_url = dup_str(s->base_url, NULL);
	k->api_key = dup_str(s->api_key, &k->api_key_len);
	k->curl = curl_easy_init();
	if (!k->base_url || !k->api_key || !k->curl || setup_handle(k, s)) {
		kookoo_free(k);
		return NULL;
	}
	return k;
}

void kookoo_free(struct kookoo *k)
{
	if (!k)
		return;
	if (k->curl)
		curl_easy_cleanup(k->curl);
	if (k->api_key)
		sodium_memzero(k->api_key, k->api_key_len);
	free(k->api_key);
	free(k->base_url);
	if (k->body.data)
		sodium_memzero(k->body.data, k->body.alloc);
	buf_release(&k->body);
	free(k);
}

long kookoo_last_connects(const struct kookoo *k)
{
	return k ? k->connects : -1;
}

/* Frees a string that may hold a secret (the API key, an SMS with a PIN). */
static void free_secret(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		curl_free(s);
	}
}

/* Appends "name=<percent-encoded value>" to the query of u. */
static int url_add_param(CURL *c, CURLU *u, const struct kookoo_param *p)
{
	struct buf pair;
	char *esc;
	int ret;

	esc = curl_easy_escape(c, p->value, 0);
	if (!esc)
		return KV_ENOMEM;
	buf_init(&pair, SIZE_MAX / 2);
	ret = buf_append_str(&pair, p->name);
	if (ret == 0)
		ret = buf_append(&pair, "=", 1);
	if (ret == 0)
		ret = buf_append_str(&pair, esc);
	if (ret == 0) {
		CURLUcode uc = curl_url_set(u, CURLUPART_QUERY, pair.data,
					    CURLU_APPENDQUERY);

		if (uc == CURLUE_OUT_OF_MEMORY)
			ret = KV_ENOMEM;
		else if (uc != CURLUE_OK)
			ret = KV_EINVAL;
	}
	free_secret(esc);
	if (pair.data)
		sodium_memzero(pair.data, pair.len);
	buf_release(&pair);
	return ret;
}

/*
 * Builds base_url + "/" + script + "?" + params into *url (curl_free()).
 * Values are escaped with curl_easy_escape(), so a space is %20 and '+',
 * '&' and '=' are percent-encoded: any decoder reads them back exactly.
 */
static int url_build(struct kookoo *k, const char *script,
		     const struct kookoo_param *params, size_t n, char **url)
{
	CURLU *u = curl_url();
	char *path = NULL;
	struct buf p;
	size_t i;
	int ret = KV_ENOMEM;

	*url = NULL;
	buf_init(&p, 8192);
	if (!u)
		goto out;
	ret = KV_EINVAL;
	if (curl_url_set(u, CURLUPART_URL, k->base_url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	ret = buf_append_str(&p, path);
	if (ret == 0 && (p.len == 0 || p.data[p.len - 1] != '/'))
		ret = buf_append(&p, "/", 1);
	if (ret == 0)
		ret = buf_append_str(&p, script);
	if (ret) {
		ret = ret == KV_ENOMEM ? KV_ENOMEM : KV_EINVAL;
		goto out;
	}
	ret = KV_EINVAL;
	if (curl_url_set(u, CURLUPART_PATH, p.data, 0) != CURLUE_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if (!params[i].value)
			continue;
		ret = url_add_param(k->curl, u, &params[i]);
		if (ret)
			goto out;
	}
	ret = KV_ENOMEM;
	if (curl_url_get(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	ret = 0;
out:
	curl_free(path);
	buf_release(&p);
	/* The handle holds the query with the key and the PIN; it frees it
	 * without wiping, which curl offers no way to change. */
	curl_url_cleanup(u);
	return ret;
}

/* Fills *out for a request that could not be made; returns err. */
static int fill_failure(struct kookoo_result *out, int err, const char *why)
{
	if (out) {
		memset(out, 0, sizeof(*out));
		set_result(out, KOOKOO_RETRY, why);
	}
	return err;
}

/* The `class` label of a request that did not deliver (metrics.h). */
static unsigned error_class(CURLcode rc, int too_big,
			    const struct kookoo_result *out)
{
	static const struct {
		const char *reason;
		unsigned cls;
	} reasons[] = {
		{"DND", MERR_REFUSED_DND},
		{"outside calling hours", MERR_REFUSED_WINDOW},
		{"authentication error", MERR_AUTH},
		{"malformed reply", MERR_MALFORMED},
	};

	if (rc == CURLE_OPERATION_TIMEDOUT)
		return MERR_TIMEOUT;
	if (too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return MERR_MALFORMED;
	if (rc != CURLE_OK)
		return MERR_NETWORK;
	if (out->http_status >= 500)
		return MERR_HTTP_5XX;
	if (out->http_status < 200 || out->http_status > 299)
		return MERR_HTTP_4XX;
	for (size_t i = 0; i < ARRAY_LEN(reasons); i++)
		if (strcmp(out->reason, reasons[i].reason) == 0)
			return reasons[i].cls;
	return MERR_OTHER;
}

/* Counts a finished request: its duration, and its class unless accepted. */
static void count_request(int is_call, uint64_t t0, CURLcode rc, int too_big,
			  const struct kookoo_result *out)
{
	unsigned api = is_call ? MSEND_CALL : MSEND_SMS;

	metrics_observe(M_KOOKOO_DURATION, api, 0, metrics_since(t0));
	if (out->outcome != KOOKOO_ACCEPTED)
		metrics_inc(M_KOOKOO_ERRORS, api, error_class(rc, too_big, out),
			    0);
}

/* Runs one GET and classifies its outcome into *out. */
static int kookoo_request(struct kookoo *k, const char *script,
			  const struct kookoo_param *params, size_t n,
			  int is_call, struct kookoo_result *out)
{
	char *url = NULL;
	char tmp[sizeof(out->reason)];
	long http = 0, connects = -1;
	CURLcode rc;
	uint64_t t0 = metrics_now_ns();
	int ret;

	ret = url_build(k, script, params, n, &url);
	if (ret == KV_ENOMEM)
		return fill_failure(out, ret, "out of memory");
	if (ret)
		return fill_failure(out, ret, "invalid base URL");
	k->body.len = 0;
	k->too_big = 0;
	k->nomem = 0;
	rc = curl_easy_setopt(k->curl, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(k->curl);
	free_secret(url);
	if (curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &http))
		http = 0;
	if (curl_easy_getinfo(k->curl, CURLINFO_NUM_CONNECTS, &connects))
		connects = -1;
	k->connects = connects;

	if (k->nomem || rc == CURLE_OUT_OF_MEMORY)
		return fill_failure(out, KV_ENOMEM, "out of memory");
	if (rc == CURLE_OK) {
		kookoo_classify(http, k->body.len ? k->body.data : "",
				k->body.len, is_call, out);
		count_request(is_call, t0, rc, 0, out);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	out->http_status = http;
	if (k->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		set_result(out, KOOKOO_RETRY, "reply too large");
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		set_result(out, KOOKOO_RETRY, "timeout");
	} else {
		snprintf(tmp, sizeof(tmp), "network: %s",
			 curl_easy_strerror(rc));
		set_result(out, KOOKOO_RETRY, tmp);
	}
	count_request(is_call, t0, rc, k->too_big, out);
	return 0;
}

int kookoo_send_sms(struct kookoo *k, const char *phone_no, const char *message,
		    const char *senderid, struct kookoo_result *out)
{
	return kookoo_send_sms_dlt(k, phone_no, message, senderid, NULL, out);
}

/* A DLT value under its setting's name; NULL (left out) when either is "". */
static const char *dlt_value(const char *name, const struct kookoo_dlt *dlt,
			     const char *value)
{
	return dlt && name[0] && value && value[0] ? value : NULL;
}

int kookoo_send_sms_dlt(struct kookoo *k, const char *phone_no,
			const char *message, const char *senderid,
			const struct kookoo_dlt *dlt, struct kookoo_result *out)
{
	const char *uni_name = "", *uni_value = NULL;

	if (!k || !phone_no || !message || !out)
		return fill_failure(out, KV_EINVAL, "invalid request");
	if (k->unicode_name[0] && text_is_unicode(message)) {
		uni_name = k->unicode_name;
		uni_value = k->unicode_value;
	}
	const struct kookoo_param params[] = {
		{"api_key", k->api_key},
		{"phone_no", phone_no},
		{"message", message},
		{"senderid", senderid},
		{uni_name, uni_value},
		{k->dlt_template, dlt_value(k->dlt_template, dlt,
					    dlt ? dlt->template_id : NULL)},
		{k->dlt_entity,
		 dlt_value(k->dlt_entity, dlt, dlt ? dlt->entity_id : NULL)},
		{k->dlt_header,
		 dlt_value(k->dlt_header, dlt, dlt ? dlt->header : NULL)},
	};

	return kookoo_request(k, "outbound_sms.php", params, ARRAY_LEN(params),
			      0, out);
}

int kookoo_place_call(struct kookoo *k, const char *phone_no, const char *url,
		      const char *callback_url, const char *caller_id,
		      struct kookoo_result *out)
{
	const struct kookoo_param params[] = {
		{"api_key", k ? k->api_key : NULL}, {"phone_no", phone_no},
		{"outbound_version", "2"},          {"url", url},
		{"callback_url", callback_url},     {"caller_id", caller_id},
	};

	if (!k || !phone_no || !url || !callback_url || !out)
		return fill_failure(out, KV_EINVAL, "invalid request");
	return kookoo_request(k, "outbound.php", params, ARRAY_LEN(params), 1,
			      out);
}
