/*
 * The operator credential: a bearer token derived from the server secret
 * (crypto_operator_token), compared in constant time.  Tenants' API keys
 * never open what it guards.
 */
#include <strings.h>

#include "crypto.h"
#include "operator.h"

static long token_epoch = 1;

void operator_init(const struct config *cfg)
{
	token_epoch = cfg->operator_token_epoch;
}

int operator_request_ok(const struct http_req *req)
{
	static const char scheme[] = "Bearer ";
	const char *h = req->authorization;

	if (!h || strncasecmp(h, scheme, sizeof(scheme) - 1) != 0)
		return 0;
	h += sizeof(scheme) - 1;
	while (*h == ' ')
		h++;
	return crypto_operator_token_check(h, token_epoch);
}
