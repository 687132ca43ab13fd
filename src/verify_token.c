/*
 * The single use of verification tokens: a token redeemed with single use
 * is recorded (until it expires) in the same durable write that answers the
 * redemption, so it is accepted once.  The browser flow decides what a token
 * proves; the record of its use is the service's.
 */
#include "err.h"
#include "store.h"
#include "verify.h"

int verify_token_spent(const char *jti, int *used)
{
	struct store_tx *c = store_reader();

	*used = 0;
	if (!c)
		return KV_EDB;
	return store_token_used(c, jti, used);
}

int verify_token_use_run(struct store_tx *c, void *arg)
{
	struct verify_token_use *use = arg;
	int rc = store_token_use(c, use->jti, use->exp_ms, use->now_ms);

	use->used = rc == KV_EDUP;
	return use->used ? 0 : rc;
}
