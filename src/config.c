/*
 * The configuration directives: a table of name, type, bounds, default and
 * help text, and the three sources that override the defaults in order
 * (file, environment, flags).  Numbers are parsed with bounds, never atoi.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "config.h"
#include "err.h"
#include "kookoo.h"
#include "log.h"
#include "util.h"

enum directive_type { D_INT, D_STR };

struct directive {
	const char *name;
	enum directive_type type;
	size_t offset;
	size_t size; /* D_STR: buffer size */
	int min, max;
	const char *def;
	const char *help;
	const char *choices; /* D_STR: the words it may be, or NULL */
};

/* clang-format off */
#define INT_DIR(field, lo, hi, dflt, text)                                     \
	{#field, D_INT, offsetof(struct config, field), 0, lo, hi, dflt, text, \
	 NULL}
#define STR_DIR(field, dflt, text)                                             \
	{#field, D_STR, offsetof(struct config, field),                        \
	 sizeof(((struct config *)0)->field), 0, 0, dflt, text, NULL}
#define WORD_DIR(field, words, dflt, text)                                     \
	{#field, D_STR, offsetof(struct config, field),                        \
	 sizeof(((struct config *)0)->field), 0, 0, dflt, text, words}
/* clang-format on */

static const struct directive directives[] = {
	STR_DIR(listen, "127.0.0.1:8080",
		"address:port to serve; port 0 picks one"),
	STR_DIR(db, "kookooverify.db", "SQLite database file"),
	STR_DIR(secret_file, "", "server secret file; empty: <db>.secret"),
	INT_DIR(operator_token_epoch, 1, 1000000, "1",
		"generation of the operator token (kookooverify operator-token); "
		"raise it to retire the token in use"),
	STR_DIR(default_country, "IN",
		"region of numbers given without country code"),
	STR_DIR(test_numbers, "",
		"number:PIN,... with fixed PINs; nothing is sent"),
	STR_DIR(log_level, "info", "debug, info, warn or error"),
	WORD_DIR(log_format, "text json", "text",
		 "log lines: text for people, or one JSON object per line"),
	WORD_DIR(access_log, "off on", "off",
		 "one http.access log line per request: route, status, "
		 "duration, bytes, client"),
	INT_DIR(pin_expiry, 1, 86400, "300", "seconds a PIN stays valid"),
	INT_DIR(next_event_wait, 1, 86400, "120",
		"default workflow: seconds from the SMS to the call"),
	INT_DIR(code_length, 4, 10, "4", "default PIN digits"),
	INT_DIR(param_min_wait, 1, 3600, "60",
		"lowest pin_expiry/next_event_wait a client may ask for"),
	INT_DIR(cancel_min_age, 0, 3600, "30",
		"Vonage: seconds before a verification may be cancelled"),
	INT_DIR(resend_cooldown, 0, 86400, "30", "seconds between resends"),
	INT_DIR(resend_max, 0, 100, "3", "most resends per verification"),
	INT_DIR(resend_backoff_base, 0, 3600, "30",
		"resends of one number: the wait after the n-th recent one is "
		"this x 2^n seconds; 0 = no backoff"),
	INT_DIR(resend_backoff_max, 1, 86400, "600",
		"resends of one number: the longest backoff wait, seconds"),
	INT_DIR(resend_backoff_quiet, 1, 604800, "3600",
		"resends of one number: seconds of quiet that halve its count"),
	INT_DIR(resend_backoff_jitter, 0, 50, "20",
		"resends of one number: percent a backoff wait is shortened by "
		"at random, at most"),
	INT_DIR(verified_ttl, 1, 31536000, "2592000",
		"seconds a verified number stays verified"),
	INT_DIR(threads, 0, 256, "0", "HTTP worker threads; 0 = four per core"),
	INT_DIR(max_connections, 1, 100000, "4096", "open connections at most"),
	INT_DIR(per_ip_connections, 0, 100000, "256",
		"open connections per client address; 0 = no limit"),
	INT_DIR(max_pending_requests, 1, 100000, "1024",
		"connections whose request has not arrived whole; past it the "
		"oldest of them is closed"),
	INT_DIR(request_timeout, 1, 3600, "10",
		"seconds a request has to arrive whole (line, headers, body)"),
	STR_DIR(trusted_proxies, "",
		"proxy addresses or CIDR ranges (a,b/n) whose forwarding "
		"header names the client"),
	STR_DIR(forwarded_header, "X-Forwarded-For",
		"header the trusted proxies set: X-Forwarded-For or "
		"Forwarded; the other is ignored"),
	INT_DIR(body_max, 256, 1048576, "16384", "largest request body, bytes"),
	INT_DIR(connection_timeout, 1, 3600, "10",
		"idle connection timeout, s"),
	INT_DIR(write_batch_max, 1, 10000, "256",
		"most writes grouped into one transaction"),
	WORD_DIR(db_synchronous, "normal full", "normal",
		 "SQLite: normal (a power loss may lose the last commits) or "
		 "full (a reply only after the WAL is on disk)"),
	STR_DIR(fault_file, "",
		"tests only: file naming a SQLite fault to inject; empty: off"),
	STR_DIR(kookoo_base_url, "",
		"KooKoo outbound API base; empty: nothing is sent"),
	STR_DIR(kookoo_api_key, "", "KooKoo account API key"),
	STR_DIR(kookoo_sender_id, "", "default SMS sender id"),
	STR_DIR(kookoo_caller_id, "", "DID presented on calls"),
	STR_DIR(kookoo_sms_unicode, "unicode=true",
		"NAME=VALUE added to outbound_sms.php for a text that is not "
		"ASCII (Hindi); empty: none"),
	STR_DIR(kookoo_dlt_template_param, "",
		"outbound_sms.php parameter named so carries the SMS's DLT "
		"template id (ask KooKoo); empty: not sent"),
	STR_DIR(kookoo_dlt_entity_param, "",
		"outbound_sms.php parameter named so carries the DLT entity "
		"id; empty: not sent"),
	STR_DIR(kookoo_dlt_header_param, "",
		"outbound_sms.php parameter named so carries the template's "
		"DLT header; empty: not sent"),
	STR_DIR(public_base_url, "http://127.0.0.1:8080",
		"this server as KooKoo reaches it (IVR and status URLs)"),
	STR_DIR(xml_templates, "xml_templates",
		"directory of the IVR templates (one folder per language)"),
	STR_DIR(sms_templates, "sms_templates",
		"directory of the DLT SMS templates (one folder per language)"),
	STR_DIR(console_dir, "console",
		"directory of the operator console's page (/operator/)"),
	STR_DIR(missed_call_dids, "",
		"KooKoo DIDs a missed call verifies on (comma-separated, read "
		"in default_country); empty: no missed-call verification"),
	STR_DIR(missed_call_path, "",
		"secret last segment of the inbound IVR path "
		"/ivr/kookoo/inbound/<it> (16+ characters of [A-Za-z0-9_-])"),
	STR_DIR(missed_call_sources, "",
		"addresses inbound calls may come from (ADDR or ADDR/BITS, "
		"comma-separated, behind trusted_proxies their client's); "
		"empty: any"),
	STR_DIR(call_window, "09:00-21:00",
		"local hours when calls are placed"),
	INT_DIR(call_window_utc_offset, -720, 840, "330",
		"minutes east of UTC for call_window (330: Asia/Kolkata)"),
	STR_DIR(call_outside_window, "wait",
		"a call due outside the window: wait or skip"),
	INT_DIR(kookoo_connect_timeout_ms, 100, 60000, "3000",
		"connect timeout to KooKoo"),
	INT_DIR(kookoo_timeout_ms, 100, 120000, "10000",
		"total timeout of one KooKoo request"),
	INT_DIR(send_rate, 1, 10000, "10", "most SMS and calls per second"),
	INT_DIR(job_workers, 1, 64, "2", "delivery worker threads"),
	INT_DIR(job_lease, 1, 3600, "30",
		"seconds a claimed job is reserved for its worker"),
	INT_DIR(retry_base_ms, 1, 3600000, "1000", "first retry delay"),
	INT_DIR(retry_max_ms, 1, 86400000, "60000", "longest retry delay"),
	INT_DIR(retry_max_attempts, 1, 100, "8",
		"attempts before a delivery step is recorded failed"),
	INT_DIR(callback_workers, 1, 64, "4",
		"status callback sender threads (callbacks in flight at most)"),
	INT_DIR(callback_timeout_ms, 100, 60000, "5000",
		"total timeout of one status callback POST"),
	INT_DIR(callback_retry_base_ms, 1, 3600000, "1000",
		"first status callback retry delay"),
	INT_DIR(callback_retry_max_ms, 1, 86400000, "300000",
		"longest status callback retry delay"),
	INT_DIR(callback_give_up, 1, 2592000, "86400",
		"seconds after which a status callback not accepted is given "
		"up"),
	WORD_DIR(callback_allow_private, "off on", "off",
		 "status callbacks may go to private, loopback and link-local "
		 "addresses (development and tests only)"),
	INT_DIR(limit_key_rps, 0, 1000000, "30",
		"API requests per second per key (0: no limit)"),
	INT_DIR(limit_number_max, 0, 1000000, "5",
		"verification requests per number per window (0: no limit)"),
	INT_DIR(limit_number_window, 1, 86400, "600",
		"seconds of limit_number_max's window"),
	INT_DIR(limit_prefix_per_hour, 0, 10000000, "1000",
		"requests per hour per number prefix, against SMS pumping"),
	INT_DIR(limit_prefix_digits, 3, 15, "7",
		"digits of E.164 (country code first) that make a prefix"),
	INT_DIR(limit_ip_checks_per_min, 0, 10000000, "300",
		"checks per client address per minute (0: no limit)"),
	INT_DIR(limit_ip_auth_failures_per_min, 0, 10000000, "60",
		"failed authentications per client address per minute before "
		"its calls are refused unchecked (0: no limit)"),
	INT_DIR(limit_ipv6_prefix, 32, 128, "64",
		"bits of an IPv6 address that per-address limits count by"),
	INT_DIR(limit_pk_rps, 0, 1000000, "10",
		"API calls per second per publishable key (0: no limit)"),
	INT_DIR(limit_pk_ip_requests_per_hour, 0, 10000000, "10",
		"verification requests per browser address per hour through "
		"publishable keys (0: no limit)"),
	INT_DIR(limit_pk_ip_calls_per_min, 0, 10000000, "60",
		"API calls per minute per publishable key and client address, "
		"taken before the key's own budget (0: no limit)"),
	INT_DIR(limit_pk_junk_cost, 0, 1000, "10",
		"extra calls a publishable-key call answered as junk (unknown "
		"id, bad parameter) costs its address"),
	INT_DIR(limit_table_slots, 512, 16777216, "65536",
		"entries of each rate-limit table (24 bytes each); a full "
		"table refuses newcomers, never forgets a limited key"),
	INT_DIR(token_ttl, 1, 86400, "600",
		"seconds a verification token is accepted"),
	INT_DIR(demo, 0, 1, "0", "1: serve the demo page at /demo"),
	STR_DIR(demo_root, ".",
		"directory holding demo/ and sdk/js/src/ (the repository)"),
	STR_DIR(demo_key, "", "publishable key the demo page uses"),
	STR_DIR(demo_inbox_url, "",
		"KooKoo simulator the demo page shows the inbox of"),
	INT_DIR(fraud_reports_block, 0, 1000000, "3",
		"\"I did not ask\" reports per prefix that block it (0: off)"),
	INT_DIR(fraud_report_window, 1, 2592000, "3600",
		"seconds over which those reports count"),
	INT_DIR(fraud_block_seconds, 1, 31536000, "3600",
		"seconds a fraud block lasts"),
	INT_DIR(fraud_min_volume, 0, 100000000, "50",
		"requests per prefix per hour before conversion is judged "
		"(0: off)"),
	INT_DIR(fraud_min_conversion, 0, 100, "20",
		"percent of requests that must verify, past that volume"),
	INT_DIR(retain_verifications, 0, 315360000, "2592000",
		"seconds a finished verification (checks, events, calls, "
		"jobs) is kept; 0: forever"),
	INT_DIR(retain_client_addresses, 0, 315360000, "604800",
		"seconds a check's client address is kept before it is "
		"blanked; 0: as long as the check"),
	INT_DIR(retain_events, 0, 315360000, "2592000",
		"seconds a delivery event is kept; 0: as long as its "
		"verification"),
	INT_DIR(purge_interval, 1, 86400, "300",
		"seconds between background purge passes"),
	INT_DIR(purge_batch, 1, 10000, "500",
		"rows per purge transaction (the writer runs others between)"),
};

static const struct directive *directive_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(directives); i++)
		if (strcmp(directives[i].name, name) == 0)
			return &directives[i];
	return NULL;
}

/* 1 if `value` is one of the blank-separated words of `list`. */
static int word_listed(const char *list, const char *value)
{
	size_t n = strlen(value);

	while (*list) {
		size_t len = strcspn(list, " ");

		if (n > 0 && len == n && strncmp(list, value, n) == 0)
			return 1;
		list += len;
		list += strspn(list, " ");
	}
	return 0;
}

static int directive_apply(struct config *c, const struct directive *d,
			   const char *value, char *err, size_t errlen)
{
	char *base = (char *)c;
	int rc;

	if (d->type == D_STR) {
		size_t n = strlen(value);

		if (d->choices && !word_listed(d->choices, value)) {
			snprintf(err, errlen, "%s: \"%s\" is not one of: %s",
				 d->name, value, d->choices);
			return KV_EINVAL;
		}
		if (n >= d->size) {
			snprintf(err, errlen, "%s: value longer than %zu bytes",
				 d->name, d->size - 1);
			return KV_ERANGE;
		}
		memcpy(base + d->offset, value, n + 1);
		return 0;
	}
	rc = parse_int(value, d->min, d->max,
		       (int *)(void *)(base + d->offset));
	if (rc == KV_EINVAL)
		snprintf(err, errlen, "%s: \"%s\" is not a whole number",
			 d->name, value);
	else if (rc == KV_ERANGE)
		snprintf(err, errlen, "%s: %s is outside %d..%d", d->name,
			 value, d->min, d->max);
	return rc;
}

void config_init(struct config *c)
{
	char err[128];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < ARRAY_LEN(directives); i++)
		if (directive_apply(c, &directives[i], directives[i].def, err,
				    sizeof(err)) != 0)
			fatal("config.bad_default", LOG_STR("error", err));
}

int config_set(struct config *c, const char *name, const char *value, char *err,
	       size_t errlen)
{
	const struct directive *d = directive_find(name);

	if (!d) {
		snprintf(err, errlen, "unknown setting \"%s\"", name);
		return KV_ENOTFOUND;
	}
	return directive_apply(c, d, value, err, errlen);
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int config_load_file(struct config *c, const char *path, char *err,
		     size_t errlen)
{
	char line[4096];
	char why[256];
	FILE *f = fopen(path, "r");
	int lineno = 0;
	int rc = 0;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open", path);
		return KV_EIO;
	}
	while (fgets(line, sizeof(line), f)) {
		char *eq, *name, *value;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path,
				 lineno);
			rc = KV_ETOOBIG;
			goto out;
		}
		name = trim(line);
		if (*name == '\0' || *name == '#')
			continue;
		eq = strchr(name, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected name = value",
				 path, lineno);
			rc = KV_EINVAL;
			goto out;
		}
		*eq = '\0';
		value = trim(eq + 1);
		name = trim(name);
		rc = config_set(c, name, value, why, sizeof(why));
		if (rc != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			goto out;
		}
	}
out:
	fclose(f);
	return rc;
}

int config_load_env(struct config *c, char *err, size_t errlen)
{
	char var[64];
	char why[256];

	for (size_t i = 0; i < ARRAY_LEN(directives); i++) {
		const char *value;
		size_t n = 0;
		int rc;

		n = (size_t)snprintf(var, sizeof(var), "KOOKOOVERIFY_%s",
				     directives[i].name);
		for (size_t j = sizeof("KOOKOOVERIFY_") - 1; j < n; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		value = getenv(var);
		if (!value)
			continue;
		rc = directive_apply(c, &directives[i], value, why,
				     sizeof(why));
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", var, why);
			return rc;
		}
	}
	return 0;
}

int window_parse(const char *text, int *start_min, int *end_min)
{
	unsigned h1, m1, h2, m2;
	int used = 0;

	if (sscanf(text, "%2u:%2u-%2u:%2u%n", &h1, &m1, &h2, &m2, &used) != 4 ||
	    text[used] != '\0' || h1 > 24 || h2 > 24 || m1 > 59 || m2 > 59 ||
	    h1 * 60 + m1 > 1440 || h2 * 60 + m2 > 1440)
		return KV_EINVAL;
	if (start_min)
		*start_min = (int)(h1 * 60 + m1);
	if (end_min)
		*end_min = (int)(h2 * 60 + m2);
	return 0;
}

/* An IPv4 address or a bracketed IPv6 address, as http.c can bind it. */
static int listen_is_numeric(const char *listen, size_t hostlen)
{
	char host[64];
	unsigned char addr[16];

	if (hostlen >= sizeof(host))
		return 0;
	memcpy(host, listen, hostlen);
	host[hostlen] = '\0';
	if (hostlen > 2 && host[0] == '[' && host[hostlen - 1] == ']') {
		host[hostlen - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, addr) == 1;
	}
	return inet_pton(AF_INET, host, addr) == 1;
}

/*
 * What follows a URL's host up to the path: nothing, or ':' and a port
 * 1-65535 (or none).  Anything else ("host:0", "host:99999", "[::1]x") is a URL no
 * client can reach.
 */
static int url_port_check(const char *p, const char *end)
{
	unsigned long port = 0;

	if (p == end)
		return 0;
	if (*p++ != ':' || end - p > 5)
		return KV_EINVAL;
	if (p == end)
		return 0; /* "host:" is the default port (RFC 3986) */
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return KV_EINVAL;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	return port >= 1 && port <= 65535 ? 0 : KV_EINVAL;
}

/*
 * Splits an http:// or https:// URL: *host gets its host (without brackets,
 * lowercased, cut to hostlen) and *rest points at what follows the
 * authority (path, query, fragment).  Returns 0, or KV_EINVAL for another
 * scheme, user information, an empty host or a bad port.
 */
static int url_split(const char *url, char *host, size_t hostlen,
		     const char **rest)
{
	const char *a, *end, *h, *hend, *port;
	size_t n;

	if (strncasecmp(url, "http://", 7) == 0)
		a = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		a = url + 8;
	else
		return KV_EINVAL;
	end = a + strcspn(a, "/?#");
	if (memchr(a, '@', (size_t)(end - a)))
		return KV_EINVAL;
	h = a;
	if (*h == '[') {
		hend = memchr(h, ']', (size_t)(end - h));
		if (!hend)
			return KV_EINVAL;
		h++;
		port = hend + 1;
	} else {
		hend = memchr(h, ':', (size_t)(end - h));
		if (!hend)
			hend = end;
		port = hend;
	}
	n = (size_t)(hend - h);
	if (n == 0 || n >= hostlen || url_port_check(port, end) != 0)
		return KV_EINVAL;
	for (size_t i = 0; i < n; i++)
		host[i] = (char)tolower((unsigned char)h[i]);
	host[n] = '\0';
	*rest = end;
	return 0;
}

/* Who can reach a host: this machine, its private networks, anyone. */
enum host_scope {
	HOST_LOOPBACK = 0,
	HOST_PRIVATE = 1,
	HOST_PUBLIC = 2,
};

static enum host_scope v4_scope(uint32_t v)
{
	if (v >> 24 == 127 || v == 0)
		return HOST_LOOPBACK;
	if (v >> 24 == 10 || v >> 20 == 0xac1 || v >> 16 == 0xc0a8 ||
	    v >> 16 == 0xa9fe || v >> 22 == 0x191)
		return HOST_PRIVATE; /* RFC 1918, link-local, 100.64/10 */
	return HOST_PUBLIC;
}

/*
 * The scope of a URL's host (lowercased, brackets removed).  Loopback:
 * localhost names, 127/8 and 0.0.0.0 in any form inet_aton() reads
 * ("127.1" too), ::1 and :: with or without a zone, and IPv6 forms that
 * carry a loopback IPv4 (mapped, compatible, 6to4, NAT64).  Private:
 * RFC 1918, 100.64/10 and link-local IPv4, fc00::/7 and fe80::/10, and the
 * same embedded forms.  A name other than localhost is taken as public:
 * nothing is resolved here.
 */
static enum host_scope host_scope(const char *host)
{
	static const unsigned char v6_loop[16] = {[15] = 1};
	static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
	static const unsigned char v4_compat[12] = {0};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
	size_t n = strlen(host);
	unsigned char a6[16];
	struct in_addr a4;
	char name[256];

	if (n && host[n - 1] == '.')
		n--; /* "localhost." and "127.0.0.1." are the same hosts */
	if (n >= sizeof(name))
		return HOST_PUBLIC;
	memcpy(name, host, n);
	name[n] = '\0';
	/* "::1%lo" (a zone, "%25" in a URL) is ::1 on one interface. */
	name[strcspn(name, "%")] = '\0';
	n = strlen(name);
	if (strcmp(name, "localhost") == 0 || strcmp(name, "localhost6") == 0 ||
	    (n > 10 && strcmp(name + n - 10, ".localhost") == 0))
		return HOST_LOOPBACK;
	if (inet_aton(name, &a4))
		return v4_scope(ntohl(a4.s_addr));
	if (inet_pton(AF_INET6, name, a6) != 1)
		return HOST_PUBLIC;
	if (memcmp(a6, v6_loop, 16) == 0)
		return HOST_LOOPBACK;
	if (memcmp(a6, v4_mapped, 12) == 0 || memcmp(a6, v4_compat, 12) == 0 ||
	    memcmp(a6, nat64, 12) == 0)
		return v4_scope((uint32_t)a6[12] << 24 |
				(uint32_t)a6[13] << 16 | (uint32_t)a6[14] << 8 |
				a6[15]);
	if (a6[0] == 0x20 && a6[1] == 0x02) /* 6to4: 2002:AABB:CCDD::/48 */
		return v4_scope((uint32_t)a6[2] << 24 | (uint32_t)a6[3] << 16 |
				(uint32_t)a6[4] << 8 | a6[5]);
	if ((a6[0] & 0xfe) == 0xfc || (a6[0] == 0xfe && (a6[1] & 0xc0) == 0x80))
		return HOST_PRIVATE;
	return HOST_PUBLIC;
}

/* A space or control character: KooKoo would get a URL cut or changed. */
static int url_has_blank(const char *url)
{
	for (; *url; url++)
		if ((unsigned char)*url <= ' ' || *url == 0x7f)
			return 1;
	return 0;
}

/*
 * public_base_url is where KooKoo requests the IVR: jobs.c appends
 * "/ivr/kookoo?t=..." to it, so it must be an HTTP(S) URL without query or
 * fragment whose path (a prefix behind a proxy is fine) ends in at most
 * one '/' (removed there), on a host KooKoo can reach from where
 * kookoo_base_url is (host_scope); the simulator setup (both on loopback)
 * stays valid.
 */
static int config_check_public_url(const struct config *c, char *err,
				   size_t errlen)
{
	char host[256], khost[256];
	const char *rest, *krest;
	enum host_scope scope, kscope;
	size_t n;

	if (!c->kookoo_base_url[0])
		return 0; /* nothing is sent, nothing calls back */
	if (url_split(c->public_base_url, host, sizeof(host), &rest) != 0 ||
	    url_has_blank(c->public_base_url)) {
		snprintf(err, errlen,
			 "public_base_url: \"%s\" is not an http:// or "
			 "https:// URL with a host",
			 c->public_base_url);
		return KV_EINVAL;
	}
	n = strlen(rest);
	if (strpbrk(rest, "?#") ||
	    (n >= 2 && strcmp(rest + n - 2, "//") == 0)) {
		snprintf(err, errlen,
			 "public_base_url: \"%s\" must end with the host or a "
			 "path (no query, no fragment, one '/' at most at "
			 "the end)",
			 c->public_base_url);
		return KV_EINVAL;
	}
	/*
	 * KooKoo must reach us from where it is: a KooKoo on the Internet
	 * cannot call a loopback or private address, one on a private network
	 * cannot call loopback.  A kookoo_base_url we cannot read is taken as
	 * the real KooKoo.
	 */
	kscope = url_split(c->kookoo_base_url, khost, sizeof(khost), &krest)
			 ? HOST_PUBLIC
			 : host_scope(khost);
	scope = host_scope(host);
	if (scope < kscope) {
		snprintf(err, errlen,
			 "public_base_url: \"%s\" is a %s address KooKoo "
			 "(kookoo_base_url) can never reach; give this "
			 "server's public URL",
			 c->public_base_url,
			 scope == HOST_LOOPBACK ? "loopback" : "private");
		return KV_EINVAL;
	}
	return 0;
}

/* Each comma-separated entry of an address list is ADDR or ADDR/BITS. */
static int nets_validate(const char *name, const char *list, size_t max,
			 char *err, size_t errlen)
{
	struct addr_net nets[ADDR_LIST_MAX];
	char bad[ADDR_TEXT_MAX];
	size_t n;

	if (addr_net_list_parse(list, nets, max, &n, bad, sizeof(bad)) == 0)
		return 0;
	if (bad[0])
		snprintf(err, errlen,
			 "%s: \"%s\" is not an address or ADDR/BITS range",
			 name, bad);
	else
		snprintf(err, errlen,
			 "%s: more than %zu entries, or one too long", name,
			 max);
	return KV_EINVAL;
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
	const char *colon = strrchr(c->listen, ':');
	int port;

	if (!colon || colon == c->listen ||
	    parse_int(colon + 1, 0, 65535, &port) != 0) {
		snprintf(err, errlen, "listen: \"%s\" is not ADDR:PORT",
			 c->listen);
		return KV_EINVAL;
	}
	if (!listen_is_numeric(c->listen, (size_t)(colon - c->listen))) {
		snprintf(err, errlen,
			 "listen: \"%s\" needs a numeric address "
			 "(127.0.0.1:8080, [::1]:8080)",
			 c->listen);
		return KV_EINVAL;
	}
	if (strlen(c->default_country) != 2 ||
	    !isupper((unsigned char)c->default_country[0]) ||
	    !isupper((unsigned char)c->default_country[1])) {
		snprintf(err, errlen,
			 "default_country: \"%s\" is not an ISO 3166 code",
			 c->default_country);
		return KV_EINVAL;
	}
	if (window_parse(c->call_window, NULL, NULL) != 0) {
		snprintf(err, errlen, "call_window: \"%s\" is not HH:MM-HH:MM",
			 c->call_window);
		return KV_EINVAL;
	}
	if (strcmp(c->call_outside_window, "wait") != 0 &&
	    strcmp(c->call_outside_window, "skip") != 0) {
		snprintf(err, errlen,
			 "call_outside_window: \"%s\" is not wait "
			 "or skip",
			 c->call_outside_window);
		return KV_EINVAL;
	}
	if (nets_validate("trusted_proxies", c->trusted_proxies,
			  TRUSTED_PROXIES_MAX, err, errlen) != 0 ||
	    nets_validate("missed_call_sources", c->missed_call_sources,
			  MISSED_CALL_SOURCES_MAX, err, errlen) != 0)
		return KV_EINVAL;
	if (strcasecmp(c->forwarded_header, "X-Forwarded-For") != 0 &&
	    strcasecmp(c->forwarded_header, "Forwarded") != 0) {
		snprintf(err, errlen,
			 "forwarded_header: \"%s\" is not X-Forwarded-For or "
			 "Forwarded",
			 c->forwarded_header);
		return KV_EINVAL;
	}
	if (log_level_parse(c->log_level) < 0) {
		snprintf(err, errlen,
			 "log_level: \"%s\" is not one of debug, "
			 "info, warn, error",
			 c->log_level);
		return KV_EINVAL;
	}
	if (kookoo_unicode_split(c->kookoo_sms_unicode, NULL, NULL) != 0) {
		snprintf(err, errlen,
			 "kookoo_sms_unicode: \"%s\" is not NAME=VALUE "
			 "(letters, digits, '_', '-', '.'), or empty",
			 c->kookoo_sms_unicode);
		return KV_EINVAL;
	}
	if (!kookoo_param_name_ok(c->kookoo_dlt_template_param) ||
	    !kookoo_param_name_ok(c->kookoo_dlt_entity_param) ||
	    !kookoo_param_name_ok(c->kookoo_dlt_header_param)) {
		snprintf(err, errlen,
			 "kookoo_dlt_*_param: a parameter name is letters, "
			 "digits, '_', '-', '.' (at most 31), or empty");
		return KV_EINVAL;
	}
	return config_check_public_url(c, err, errlen);
}

void config_print_help(FILE *out)
{
	fprintf(out, "Settings (config file `name = value`, environment "
		     "KOOKOOVERIFY_NAME, or --set name=value):\n");
	for (size_t i = 0; i < ARRAY_LEN(directives); i++)
		fprintf(out, "  %-20s %s (default: %s)\n", directives[i].name,
			directives[i].help,
			*directives[i].def ? directives[i].def : "none");
}

/*
 * Documentation generated from the directive table, so the installed
 * config file and the man page cannot drift from it (`kookooverify
 * config-doc`, run by `make dist`).
 */

/* A directive's value in `c`, as text, into out (size outlen). */
static void directive_value(const struct config *c, const struct directive *d,
			    char *out, size_t outlen)
{
	const char *base = (const char *)c;
	int v;

	if (d->type == D_STR) {
		snprintf(out, outlen, "%s", base + d->offset);
		return;
	}
	memcpy(&v, base + d->offset, sizeof(v));
	snprintf(out, outlen, "%d", v);
}

void config_write_conf(FILE *out, const struct config *c)
{
	struct config defaults;
	char value[2048], def[2048];

	config_init(&defaults);
	for (size_t i = 0; i < ARRAY_LEN(directives); i++) {
		const struct directive *d = &directives[i];

		directive_value(c, d, value, sizeof(value));
		directive_value(&defaults, d, def, sizeof(def));
		fprintf(out, "\n# %s", d->help);
		if (d->type == D_INT)
			fprintf(out, " (%d..%d)", d->min, d->max);
		else if (d->choices)
			fprintf(out, " (one of: %s)", d->choices);
		/* No blank after '=' when the value is empty. */
		if (strcmp(value, def) == 0)
			fprintf(out, "\n#%s =%s%s\n", d->name, *def ? " " : "",
				def);
		else
			fprintf(out, "; default: %s\n%s =%s%s\n",
				*def ? def : "empty", d->name,
				*value ? " " : "", value);
	}
}

/*
 * Writes s as roff text: backslashes and hyphens escaped, and a zero-width
 * character before a leading '.' or '\'' so no line becomes a request.
 */
static void roff_write(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}

void config_write_man(FILE *out)
{
	for (size_t i = 0; i < ARRAY_LEN(directives); i++) {
		const struct directive *d = &directives[i];

		fprintf(out, ".TP\n.B %s\n", d->name);
		roff_write(out, d->help);
		fputs(".\n", out);
		if (*d->def) {
			fputs("Default: \\fB\\&", out);
			roff_write(out, d->def);
			fputs("\\fR", out);
		} else {
			fputs("Default: empty", out);
		}
		if (d->type == D_INT)
			fprintf(out, "; from %d to %d.\n", d->min, d->max);
		else if (d->choices)
			fprintf(out, "; one of: %s.\n", d->choices);
		else
			fprintf(out, "; at most %zu bytes.\n", d->size - 1);
	}
}
