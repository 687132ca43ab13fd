/*
 * The client's address behind trusted reverse proxies: the trusted_proxies
 * ranges, and the walk over X-Forwarded-For or Forwarded (RFC 7239) hops
 * from the right, as nginx's real_ip_recursive does.
 */
#ifndef KV_PROXY_H
#define KV_PROXY_H

#include <stddef.h>

/* Which header the trusted proxies write (the forwarded_header setting). */
enum proxy_header {
	PROXY_X_FORWARDED_FOR,
	PROXY_FORWARDED,
};

/*
 * Sets the trusted proxies from the setting's text ("ADDR,ADDR/BITS,...").
 * Returns 0, or KV_EINVAL (then no proxy is trusted).  Called once at
 * start, before any request.
 */
int proxy_set_trusted(const char *list);

/* Parses the forwarded_header setting; returns 0 or KV_EINVAL. */
int proxy_header_parse(const char *text, enum proxy_header *out);

/*
 * Finds the client of a request that came from `peer` (an address as text)
 * and carries the header lines `lines` (nlines, in the order received) of
 * the kind `kind`.  Unless peer is a trusted proxy, peer is the client.
 * Otherwise every line is joined in order and the hops are walked from the
 * right: each trusted one is passed, the first other address is the
 * client.  A hop that is not an address (garbage, "unknown", an obfuscated
 * RFC 7239 node, a port on an X-Forwarded-For hop) stops the walk: the last
 * address believed, a trusted proxy's, is the client.  Writes the client
 * into client (size bytes, at least ADDR_TEXT_MAX).
 */
void proxy_client(const char *peer, const char *const *lines, size_t nlines,
		  enum proxy_header kind, char *client, size_t size);

#endif
