/*
 * Client addresses behind trusted proxies (proxy.h): the hops of every
 * X-Forwarded-For or Forwarded line, newest last, walked from the right.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "config.h"
#include "err.h"
#include "proxy.h"

/* Hops looked at, the newest: a longer chain stops the walk there. */
#define HOPS_MAX 32

static struct addr_net trusted[TRUSTED_PROXIES_MAX];
static size_t ntrusted;

/* The hops of one request, oldest first; "" for one that is no address. */
struct hops {
	char text[HOPS_MAX][ADDR_TEXT_MAX];
	size_t n;
	int dropped; /* older hops were left out */
};

int proxy_set_trusted(const char *list)
{
	char bad[ADDR_TEXT_MAX];

	if (addr_net_list_parse(list, trusted, TRUSTED_PROXIES_MAX, &ntrusted,
				bad, sizeof(bad)) != 0) {
		ntrusted = 0;
		return KV_EINVAL;
	}
	return 0;
}

int proxy_header_parse(const char *text, enum proxy_header *out)
{
	if (strcasecmp(text, "X-Forwarded-For") == 0)
		*out = PROXY_X_FORWARDED_FOR;
	else if (strcasecmp(text, "Forwarded") == 0)
		*out = PROXY_FORWARDED;
	else
		return KV_EINVAL;
	return 0;
}

static int trusted_has(const char *text)
{
	return addr_net_list_has(trusted, ntrusted, text);
}

/* Appends s[0..n) as a hop if it is an address, else an empty hop. */
static void hops_add(struct hops *h, const char *s, size_t n)
{
	char *slot;
	struct addr a;

	if (h->n == HOPS_MAX) {
		memmove(h->text[0], h->text[1],
			sizeof(h->text[0]) * (HOPS_MAX - 1));
		h->n--;
		h->dropped = 1;
	}
	slot = h->text[h->n++];
	slot[0] = '\0';
	if (n == 0 || n >= ADDR_TEXT_MAX)
		return;
	memcpy(slot, s, n);
	slot[n] = '\0';
	if (addr_parse(slot, &a) != 0)
		slot[0] = '\0';
}

static const char *skip_ows(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static size_t trim_ows(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

/* X-Forwarded-For: "client, proxy1, proxy2", bare addresses only. */
static void hops_xff(struct hops *h, const char *line)
{
	const char *end = line + strlen(line);

	while (line <= end) {
		const char *comma = memchr(line, ',', (size_t)(end - line));
		const char *stop = comma ? comma : end;
		const char *s = skip_ows(line, stop);

		hops_add(h, s, trim_ows(s, (size_t)(stop - s)));
		line = stop + 1;
	}
}

/*
 * The address of a Forwarded for= value (RFC 7239 section 6): an IPv4
 * address, or an IPv6 address in brackets, each with an optional port
 * (then quoted).  Quotes are removed; anything else is no address.
 */
static void hops_add_node(struct hops *h, const char *v, size_t n)
{
	const char *end;

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
		if (memchr(v, '\\', n) || memchr(v, '"', n)) {
			hops_add(h, "", 0);
			return;
		}
	}
	if (n && v[0] == '[') {
		end = memchr(v, ']', n);
		if (!end || (end + 1 != v + n && end[1] != ':')) {
			hops_add(h, "", 0);
			return;
		}
		/* Brackets are for IPv6 only. */
		if (!memchr(v + 1, ':', (size_t)(end - v - 1))) {
			hops_add(h, "", 0);
			return;
		}
		hops_add(h, v + 1, (size_t)(end - v - 1));
		return;
	}
	end = memchr(v, ':', n);
	hops_add(h, v, end ? (size_t)(end - v) : n);
	if (end && memchr(end + 1, ':', n - (size_t)(end - v) - 1))
		h->text[h->n - 1][0] = '\0'; /* unbracketed IPv6 */
}

/* The end of the token or quoted string at s (stops at ',' ';' or end). */
static const char *forwarded_value_end(const char *s, const char *end)
{
	int quoted = 0;

	for (; s < end; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (!quoted && (*s == ',' || *s == ';'))
			break;
	}
	return s;
}

/* Forwarded: "for=192.0.2.60;proto=http, for=\"[2001:db8::1]:4711\"". */
static void hops_forwarded(struct hops *h, const char *line)
{
	const char *end = line + strlen(line), *s = line;

	while (s <= end) {
		const char *node = NULL;
		size_t node_len = 0;
		int nfor = 0;

		/* One element: pairs separated by ';' up to a ','. */
		for (;;) {
			const char *name = skip_ows(s, end), *eq, *vend;

			eq = name;
			while (eq < end && *eq != '=' && *eq != ',' &&
			       *eq != ';')
				eq++;
			vend = eq < end && *eq == '='
				       ? forwarded_value_end(eq + 1, end)
				       : eq;
			if (eq - name == 3 &&
			    strncasecmp(name, "for", 3) == 0 && eq < end &&
			    *eq == '=') {
				node = eq + 1;
				node_len =
					trim_ows(node, (size_t)(vend - node));
				nfor++;
			}
			s = vend;
			if (s >= end || *s == ',')
				break;
			s++; /* past ';' */
		}
		/*
		 * RFC 7239 section 4 allows each parameter once per element:
		 * "for=A;for=B" names no one hop, and taking either would let
		 * a client's text decide when a proxy extends its element.
		 */
		if (node && nfor == 1)
			hops_add_node(h, node, node_len);
		else
			hops_add(h, "", 0); /* no for=, or two */
		s++;                        /* past ',' or the end */
	}
}

/* A bounded copy of text (no formatting: this runs on every request). */
static void text_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

void proxy_client(const char *peer, const char *const *lines, size_t nlines,
		  enum proxy_header kind, char *client, size_t size)
{
	struct hops h;

	text_copy(client, size, peer);
	if (!ntrusted || !trusted_has(peer))
		return;
	h.n = 0;
	h.dropped = 0;
	for (size_t i = 0; i < nlines; i++) {
		if (kind == PROXY_FORWARDED)
			hops_forwarded(&h, lines[i]);
		else
			hops_xff(&h, lines[i]);
	}
	for (size_t i = h.n; i > 0; i--) {
		const char *hop = h.text[i - 1];

		if (!hop[0])
			return;
		text_copy(client, size, hop);
		if (!trusted_has(hop))
			return;
	}
}
