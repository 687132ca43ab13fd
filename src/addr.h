/*
 * Client addresses: IPv4 and IPv6 text to binary (an IPv4-mapped IPv6
 * address is the IPv4 address it carries), address ranges in CIDR notation
 * for the trusted proxies, and the key per-address limits count under: the
 * IPv4 address, or the IPv6 network of a configured prefix length.
 */
#ifndef KV_ADDR_H
#define KV_ADDR_H

#include <stddef.h>

/* Longest text of an address or a limiter key, NUL included. */
#define ADDR_TEXT_MAX 64

/* An address in network byte order.  Storage is the caller's. */
struct addr {
	unsigned char bytes[16];
	int len; /* 4 (IPv4, also from ::ffff:a.b.c.d) or 16 (IPv6) */
};

/* An address range: the first `prefix` bits of addr. */
struct addr_net {
	struct addr addr;
	int prefix; /* 0..32 for IPv4, 0..128 for IPv6 */
};

/*
 * Parses an IPv4 or IPv6 address (no brackets, no port, no zone).
 * Returns 0 or KV_EINVAL.
 */
int addr_parse(const char *text, struct addr *a);

/*
 * Parses "ADDR" or "ADDR/BITS" (a lone address is a range of one).
 * Returns 0 or KV_EINVAL (not an address, BITS out of range, or bits set
 * past the prefix, which is most likely a typo).
 */
int addr_net_parse(const char *text, struct addr_net *net);

/* True when a is inside net (an IPv4 range never holds an IPv6 address). */
int addr_net_contains(const struct addr_net *net, const struct addr *a);

/*
 * Parses a setting's list "RANGE,RANGE,..." (each as addr_net_parse) into
 * nets (at most max) and sets *n.  Returns 0, or KV_EINVAL with the entry
 * at fault in bad (badlen bytes; "" when the list is too long or an entry
 * is longer than any address).
 */
int addr_net_list_parse(const char *list, struct addr_net *nets, size_t max,
			size_t *n, char *bad, size_t badlen);

/* True when the address text is inside one of the n ranges of nets. */
int addr_net_list_has(const struct addr_net *nets, size_t n, const char *text);

/*
 * Writes an IPv4 address (network byte order) as a dotted quad into out,
 * NUL-terminated, and returns its length.  The same text as inet_ntop(),
 * without its sprintf: every request formats its client's address.
 */
size_t addr_v4_format(const unsigned char bytes[4], char out[16]);

/*
 * Writes the key per-address limits count under into out: an IPv4 address
 * as dotted quad (also when given as ::ffff:a.b.c.d), an IPv6 address as its
 * network of v6_prefix bits ("2001:db8:1:2::/64"), and anything else as it
 * is (truncated to fit).  Returns the key's length.
 */
size_t addr_limit_key(const char *ip, int v6_prefix, char *out, size_t outlen);

#endif
