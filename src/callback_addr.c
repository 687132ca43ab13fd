/*
 * Where a status callback may go (SSRF): the form of a key's callback URL,
 * which addresses are public (private, loopback, link-local, multicast,
 * unspecified and reserved ranges are not, in IPv4 and IPv6, v4-mapped
 * included), and the one resolution of a URL's host the runner then pins.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "callback.h"
#include "err.h"
#include "model.h"
#include "util.h"

/* A range of addresses: the first `bits` bits of `net`. */
struct range {
	unsigned char net[16];
	int bits;
};

/* IPv4 ranges that are not the public Internet (RFC 6890 and friends). */
static const struct range v4_private[] = {
	{{0}, 8},             /* "this network", 0.0.0.0 */
	{{10}, 8},            /* private */
	{{100, 64}, 10},      /* shared address space (CGNAT) */
	{{127}, 8},           /* loopback */
	{{169, 254}, 16},     /* link-local (cloud metadata) */
	{{172, 16}, 12},      /* private */
	{{192, 0, 0}, 24},    /* IETF protocol assignments */
	{{192, 0, 2}, 24},    /* documentation */
	{{192, 88, 99}, 24},  /* 6to4 relay anycast */
	{{192, 168}, 16},     /* private */
	{{198, 18}, 15},      /* benchmarking */
	{{198, 51, 100}, 24}, /* documentation */
	{{203, 0, 113}, 24},  /* documentation */
	{{224}, 4},           /* multicast */
	{{240}, 4},           /* reserved, and broadcast */
};

/* IPv6 ranges that are not the public Internet. */
static const struct range v6_private[] = {
	{{0}, 96},                      /* ::, ::1 and v4-compatible */
	{{0x01, 0x00}, 64},             /* discard */
	{{0x20, 0x01, 0x0d, 0xb8}, 32}, /* documentation */
	{{0x20, 0x01, 0x00, 0x00}, 23}, /* IETF protocol assignments */
	{{0x20, 0x02}, 16},             /* 6to4: an IPv4 address inside */
	{{0xfc}, 7},                    /* unique local */
	{{0xfe, 0x80}, 10},             /* link-local */
	{{0xfe, 0xc0}, 10},             /* site-local (deprecated) */
	{{0xff}, 8},                    /* multicast */
};

/* IPv6 prefixes that carry an IPv4 address in their last 32 bits. */
static const struct range v6_embeds_v4[] = {
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96}, /* v4-mapped */
	{{0, 0x64, 0xff, 0x9b}, 96},                      /* NAT64 */
	{{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0}, 96}, /* v4-translated */
};

static int in_range(const unsigned char *a, const struct range *r)
{
	int full = r->bits / 8;
	int rest = r->bits % 8;

	if (memcmp(a, r->net, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));

	return (a[full] & mask) == (r->net[full] & mask);
}

static int in_any(const unsigned char *a, const struct range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (in_range(a, &r[i]))
			return 1;
	return 0;
}

int callback_addr_public(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return !in_any((const unsigned char *)&in->sin_addr, v4_private,
			       ARRAY_LEN(v4_private));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)sa;
		const unsigned char *a = in6->sin6_addr.s6_addr;

		/* An IPv4 address in IPv6 clothing is judged as IPv4. */
		if (in_any(a, v6_embeds_v4, ARRAY_LEN(v6_embeds_v4)))
			return !in_any(a + 12, v4_private,
				       ARRAY_LEN(v4_private));
		return !in_any(a, v6_private, ARRAY_LEN(v6_private));
	}
	return 0;
}

/* Whether a URL's host names the loopback interface. */
static int host_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return ((const unsigned char *)&a4)[0] == 127;
	/* curl gives an IPv6 host in brackets. */
	if (host[0] == '[') {
		char inner[64];
		size_t n = strlen(host);

		if (n < 3 || n - 2 >= sizeof(inner) || host[n - 1] != ']')
			return 0;
		memcpy(inner, host + 1, n - 2);
		inner[n - 2] = '\0';
		return inet_pton(AF_INET6, inner, &a6) == 1 &&
		       IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return 0;
}

int callback_url_parse(const char *url, struct callback_target *t, char *why,
		       size_t whylen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
	int rc = KV_EINVAL;

	memset(t, 0, sizeof(*t));
	if (!u)
		return KV_ENOMEM;
	if (strlen(url) >= CALLBACK_URL_MAX) {
		snprintf(why, whylen, "callback URL longer than %d bytes",
			 CALLBACK_URL_MAX - 1);
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, whylen, "callback URL is not an absolute URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(why, whylen, "callback URL must not carry a user");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		    CURLUE_OK ||
	    parse_int(port, 1, 65535, &t->port) != 0) {
		snprintf(why, whylen, "callback URL has no valid port");
		goto out;
	}
	t->https = strcmp(scheme, "https") == 0;
	t->loopback = host_loopback(host);
	if (!t->https && !(strcmp(scheme, "http") == 0 && t->loopback)) {
		snprintf(why, whylen,
			 "callback URL must be https:// (http:// only to "
			 "localhost, for development)");
		goto out;
	}
	if (strlen(host) >= sizeof(t->host)) {
		snprintf(why, whylen, "callback URL's host is too long");
		goto out;
	}
	snprintf(t->host, sizeof(t->host), "%s", host);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}

int callback_resolve(struct callback_target *t, int allow_private, char *why,
		     size_t whylen)
{
	struct addrinfo hints, *res = NULL;
	char name[sizeof(t->host)];
	size_t n = strlen(t->host);
	int rc = KV_EINVAL;

	/* getaddrinfo takes an IPv6 literal without its brackets. */
	if (t->host[0] == '[' && n > 2) {
		memcpy(name, t->host + 1, n - 2);
		name[n - 2] = '\0';
	} else {
		snprintf(name, sizeof(name), "%s", t->host);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0 || !res) {
		snprintf(why, whylen, "callback host does not resolve");
		return KV_ENOTFOUND;
	}
	snprintf(why, whylen, "callback host resolves to no public address");
	for (const struct addrinfo *a = res; a; a = a->ai_next) {
		const void *bytes =
			a->ai_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)
							  a->ai_addr)
					  ->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)
							  a->ai_addr)
					  ->sin6_addr;

		if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
			continue;
		if (!allow_private && !callback_addr_public(a->ai_addr))
			continue;
		if (!inet_ntop(a->ai_family, bytes, t->addr, sizeof(t->addr)))
			continue;
		t->v6 = a->ai_family == AF_INET6;
		rc = 0;
		break;
	}
	freeaddrinfo(res);
	if (rc == 0)
		why[0] = '\0';
	return rc;
}
