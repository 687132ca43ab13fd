/*
 * Client addresses: parsing with inet_pton, CIDR ranges and the masking
 * that makes the key of per-address limits (see addr.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "err.h"
#include "util.h"

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff};

int addr_parse(const char *text, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, a->bytes) == 1) {
		a->len = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, a->bytes) != 1)
		return KV_EINVAL;
	a->len = 16;
	/* A dual-stack socket shows IPv4 clients this way: same client. */
	if (memcmp(a->bytes, v4_mapped, sizeof(v4_mapped)) == 0) {
		memmove(a->bytes, a->bytes + 12, 4);
		memset(a->bytes + 4, 0, 12);
		a->len = 4;
	}
	return 0;
}

/* Clears every bit of a past the first `bits`. */
static void addr_mask(struct addr *a, int bits)
{
	for (int i = 0; i < a->len; i++) {
		int keep = bits - 8 * i;

		if (keep <= 0)
			a->bytes[i] = 0;
		else if (keep < 8)
			a->bytes[i] &= (unsigned char)(0xff << (8 - keep));
	}
}

int addr_net_parse(const char *text, struct addr_net *net)
{
	char host[ADDR_TEXT_MAX];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	struct addr masked;

	if (n >= sizeof(host))
		return KV_EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	if (addr_parse(host, &net->addr) != 0)
		return KV_EINVAL;
	net->prefix = net->addr.len * 8;
	if (slash &&
	    parse_int(slash + 1, 0, net->addr.len * 8, &net->prefix) != 0)
		return KV_EINVAL;
	masked = net->addr;
	addr_mask(&masked, net->prefix);
	return memcmp(&masked, &net->addr, sizeof(masked)) == 0 ? 0 : KV_EINVAL;
}

int addr_net_contains(const struct addr_net *net, const struct addr *a)
{
	struct addr masked = *a;

	if (a->len != net->addr.len)
		return 0;
	addr_mask(&masked, net->prefix);
	return memcmp(masked.bytes, net->addr.bytes, (size_t)a->len) == 0;
}

int addr_net_list_parse(const char *list, struct addr_net *nets, size_t max,
			size_t *n, char *bad, size_t badlen)
{
	char item[ADDR_TEXT_MAX];

	*n = 0;
	if (badlen)
		bad[0] = '\0';
	while (*list) {
		size_t len = strcspn(list, ",");

		if (len >= sizeof(item) || *n == max)
			return KV_EINVAL;
		memcpy(item, list, len);
		item[len] = '\0';
		if (addr_net_parse(item, &nets[*n]) != 0) {
			snprintf(bad, badlen, "%s", item);
			return KV_EINVAL;
		}
		(*n)++;
		list += len;
		list += *list == ',';
	}
	return 0;
}

int addr_net_list_has(const struct addr_net *nets, size_t n, const char *text)
{
	struct addr a;

	if (addr_parse(text, &a) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (addr_net_contains(&nets[i], &a))
			return 1;
	return 0;
}

size_t addr_v4_format(const unsigned char bytes[4], char out[16])
{
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		unsigned int v = bytes[i];

		if (v >= 100)
			out[n++] = (char)('0' + v / 100);
		if (v >= 10)
			out[n++] = (char)('0' + v / 10 % 10);
		out[n++] = (char)('0' + v % 10);
		out[n++] = i < 3 ? '.' : '\0';
	}
	return n - 1;
}

size_t addr_limit_key(const char *ip, int v6_prefix, char *out, size_t outlen)
{
	char text[INET6_ADDRSTRLEN];
	struct addr a;
	int n;

	if (outlen == 0)
		return 0;
	if (addr_parse(ip, &a) != 0) {
		n = snprintf(out, outlen, "%s", ip);
	} else if (a.len == 4) {
		n = (int)addr_v4_format(a.bytes, text);
		if ((size_t)n < outlen)
			memcpy(out, text, (size_t)n + 1);
		else
			n = snprintf(out, outlen, "%s", text);
	} else {
		addr_mask(&a, v6_prefix);
		inet_ntop(AF_INET6, a.bytes, text, sizeof(text));
		n = snprintf(out, outlen, "%s/%d", text, v6_prefix);
	}
	if (n < 0)
		n = 0;
	return (size_t)n < outlen ? (size_t)n : outlen - 1;
}
