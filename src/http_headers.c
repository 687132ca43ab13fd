/*
 * The header pass of a request, before its body: the framing headers
 * checked (RFC 9112: one Content-Length or chunked, no folded lines, no
 * malformed names) and the client's address, taken from the connection or,
 * behind trusted proxies, from their forwarding header.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "addr.h"
#include "http_headers.h"
#include "proxy.h"

/* The header trusted proxies name the client in (forwarded_header). */
static enum proxy_header fwd_kind;
static const char *fwd_name = "X-Forwarded-For";

/* Most forwarding header lines kept, the last (the walk starts there). */
#define FWD_LINES_MAX 16

/*
 * What the header pass of a request's first handler call found: the
 * forwarding header's lines in order and what decides the body's framing.
 */
struct header_scan {
	const char *fwd[FWD_LINES_MAX]; /* ring: line i at fwd[i % MAX] */
	size_t nfwd;
	const char *content_length; /* first Content-Length value */
	int cl_lines, cl_differ, te_lines, te_chunked;
	int bad_name;
	int http10; /* the request line says HTTP/1.0 */
};

/* RFC 9110 section 5.6.2: tchar. */
static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* The most blanks a header line may have between its colon and value. */
#define HEADER_BLANKS_MAX 256

/*
 * libmicrohttpd 0.9.75 joins a folded line (obs-fold, RFC 9112 section
 * 5.2: a line that starts with a blank) onto the header's name, not its
 * value: "Content-: 9" then " Length" arrives as a Content-Length of 9,
 * where a proxy that unfolds it as the RFC says sees a header "Content-"
 * and no body, and the 9 bytes are taken from the next request.  Name
 * and value point into the request as received, so an unfolded header's
 * value starts just past its name's end (the colon, now a NUL) and the
 * blanks after it; a name that grew has run over that gap or was moved.
 */
static int header_was_folded(const char *key, const char *value)
{
	size_t n = strlen(key);
	uintptr_t gap = (uintptr_t)key + n + 1;
	uintptr_t v = (uintptr_t)value;

	if (v < gap || v - gap > HEADER_BLANKS_MAX)
		return 1;
	return strspn(key + n + 1, " \t") != (size_t)(v - gap);
}

static enum MHD_Result header_scan_one(void *cls, enum MHD_ValueKind kind,
				       const char *key, const char *value)
{
	struct header_scan *hs = cls;

	if (!key || !is_token(key) ||
	    (value && header_was_folded(key, value))) {
		/* "Content-Length : 5" keeps its space in the name here. */
		hs->bad_name = 1;
		return MHD_YES;
	}
	if (!value)
		value = "";
	if (strcasecmp(key, fwd_name) == 0) {
		hs->fwd[hs->nfwd % FWD_LINES_MAX] = value;
		hs->nfwd++;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		if (hs->cl_lines++ == 0)
			hs->content_length = value;
		else if (strcmp(hs->content_length, value) != 0)
			hs->cl_differ = 1;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		hs->te_lines++;
		hs->te_chunked = strcasecmp(value, "chunked") == 0;
	}
	return MHD_YES;
}

/*
 * Why the request's framing is refused (RFC 9112 sections 5 and 6.3), as
 * a reply, or NULL when it is sound.  An ambiguous length is how a request
 * is smuggled past a proxy that reads it differently, so there is no
 * second guess: the connection is closed after the reply.
 */
static const char *framing_refusal(const struct header_scan *hs)
{
	if (hs->bad_name)
		return "{\"status\":400,\"error_text\":\"Bad request: "
		       "malformed header name or folded line\"}";
	if (hs->cl_differ)
		return "{\"status\":400,\"error_text\":\"Bad request: "
		       "conflicting Content-Length\"}";
	if (hs->cl_lines && hs->te_lines)
		return "{\"status\":400,\"error_text\":\"Bad request: "
		       "Content-Length with Transfer-Encoding\"}";
	/* HTTP/1.0 has no chunked coding: its recipients would read on. */
	if (hs->te_lines && (hs->te_lines > 1 || !hs->te_chunked || hs->http10))
		return "{\"status\":400,\"error_text\":\"Bad request: "
		       "unsupported Transfer-Encoding\"}";
	if (hs->cl_lines &&
	    (!*hs->content_length || strspn(hs->content_length, "0123456789") !=
					     strlen(hs->content_length)))
		return "{\"status\":400,\"error_text\":\"Bad request: "
		       "malformed Content-Length\"}";
	return NULL;
}

/* The connection's address, or behind trusted proxies their client's. */
static void client_ip(struct http_req *req, const struct header_scan *hs)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const char *lines[FWD_LINES_MAX];
	size_t n = hs->nfwd < FWD_LINES_MAX ? hs->nfwd : FWD_LINES_MAX;
	char peer[sizeof(req->client_ip)] = "";

	req->client_ip[0] = '\0';
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		addr_v4_format(
			(const unsigned char *)&(
				(const struct sockaddr_in *)(const void *)sa)
				->sin_addr,
			peer);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)(const void *)sa)
				   ->sin6_addr,
			  peer, sizeof(peer));
	/* The newest lines, oldest first. */
	for (size_t i = 0; i < n; i++)
		lines[i] = hs->fwd[(hs->nfwd - n + i) % FWD_LINES_MAX];
	proxy_client(peer, lines, n, fwd_kind, req->client_ip,
		     sizeof(req->client_ip));
}

int http_headers_init(const struct config *cfg)
{
	if (proxy_set_trusted(cfg->trusted_proxies) != 0 ||
	    proxy_header_parse(cfg->forwarded_header, &fwd_kind) != 0)
		return -1;
	fwd_name = fwd_kind == PROXY_FORWARDED ? "Forwarded"
					       : "X-Forwarded-For";
	return 0;
}

const char *http_headers_check(struct http_req *req, const char *version)
{
	struct header_scan hs;

	memset(&hs, 0, sizeof(hs));
	hs.http10 = version && strcmp(version, MHD_HTTP_VERSION_1_0) == 0;
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, header_scan_one,
				  &hs);
	client_ip(req, &hs);
	return framing_refusal(&hs);
}
