/*
 * Idempotent starts (verify.h): the record of a start made with an
 * Idempotency-Key is written in the same transaction as its verification,
 * so a retry finds either both or neither, and never sends a second code.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "model.h"
#include "store.h"
#include "util.h"
#include "verify.h"

enum verify_idem verify_idem_find(int64_t key_id, const char *idem_key,
				  const unsigned char hash[32],
				  char request_id[ENGINE_REQUEST_ID_LEN + 1])
{
	struct store_tx *c = store_reader();
	struct idem_record r;
	int rc;

	request_id[0] = '\0';
	if (!c)
		return IDEM_ERROR;
	rc = store_idem_get(c, key_id, idem_key, now_ms() - VERIFY_IDEM_TTL_MS,
			    &r);
	if (rc == KV_ENOTFOUND)
		return IDEM_NEW;
	if (rc != 0)
		return IDEM_ERROR;
	if (sodium_memcmp(r.body_hash, hash, sizeof(r.body_hash)) != 0)
		return IDEM_MISMATCH;
	snprintf(request_id, ENGINE_REQUEST_ID_LEN + 1, "%s", r.request_id);
	return IDEM_REPLAY;
}

/* verify_idem_run() starts with verify_pending_run(). */
int verify_idem_lead(struct store_tx *c, void *arg)
{
	struct verify_idem_op *op = arg;

	return verify_pending_lead(c, op->p);
}

int verify_idem_run(struct store_tx *c, void *arg)
{
	struct verify_idem_op *op = arg;
	struct idem_record r;
	int rc = verify_pending_run(c, op->p);

	if (rc != 0)
		return rc;
	memset(&r, 0, sizeof(r));
	if (!verify_request_made(op->p, r.request_id))
		return 0;
	r.key_id = op->key_id;
	snprintf(r.idem_key, sizeof(r.idem_key), "%s", op->idem_key);
	memcpy(r.body_hash, op->hash, sizeof(r.body_hash));
	r.created_ms = now_ms();
	return store_idem_put(c, &r, r.created_ms - VERIFY_IDEM_TTL_MS);
}
