/*
 * Private to http.c: the header pass of a request (framing checks and the
 * client's address), in http_headers.c.
 */
#ifndef KV_HTTP_HEADERS_H
#define KV_HTTP_HEADERS_H

#include "config.h"
#include "http.h"

/* Takes trusted_proxies and forwarded_header; -1 if either is malformed. */
int http_headers_init(const struct config *cfg);

/*
 * Scans req's headers once they are complete (version: the request line's
 * HTTP version), sets req->client_ip and returns why the framing is
 * refused, as a reply, or NULL when it is sound.  An ambiguous length is
 * how a request is smuggled past a proxy that reads it differently, so the
 * caller closes the connection after that reply.
 */
const char *http_headers_check(struct http_req *req, const char *version);

#endif
