/*
 * The service's reads: a verification as it stands now (seen only by its
 * key, and through a publishable key only by the visitor holding its
 * handle), its checks and events, and the proof of that handle, which the
 * writes of verify.c check too.
 */
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "store.h"
#include "util.h"
#include "verify.h"
#include "verify_internal.h"

void verify_proof_init(struct verify_proof *hp, const char *request_id,
		       const char *handle)
{
	hp->required = handle != NULL;
	/*
	 * Hashed even when empty, so that a missing handle costs what a wrong
	 * one does.
	 */
	if (handle)
		crypto_handle_hash(request_id, handle, hp->hash);
}

/* Whether the call may see and change verification r. */
int verify_proof_ok(const struct verify_proof *hp, const struct vf_record *r)
{
	int equal;

	if (!hp->required)
		return 1;
	equal = crypto_hash_equal(hp->hash, r->handle_hash);
	return equal && r->has_handle;
}

enum verify_result verify_result_of(int rc)
{
	if (rc == 0)
		return VERIFY_OK;
	return rc == KV_ENOTFOUND ? VERIFY_NOT_FOUND : VERIFY_ERROR;
}

enum verify_result verify_search(int64_t key_id, const char *request_id,
				 const char *handle, struct vf_record *out)
{
	struct store_tx *c = store_reader();
	struct verify_proof hp;
	int rc;

	if (!c)
		return VERIFY_ERROR;
	verify_proof_init(&hp, request_id, handle);
	rc = store_verification_get(c, request_id, key_id, out);
	if (rc == 0 && !verify_proof_ok(&hp, out)) {
		memset(out, 0, sizeof(*out));
		rc = KV_ENOTFOUND;
	}
	if (rc == 0)
		engine_expire_if_due(&out->v, now_ms());
	return verify_result_of(rc);
}

int verify_store_ready(void)
{
	return store_ping();
}

int verify_checks_foreach(const struct vf_record *r,
			  int (*cb)(const struct vf_check *ch, void *arg),
			  void *arg)
{
	struct store_tx *c = store_reader();

	return c ? store_checks_foreach(c, r->v.id, cb, arg) : KV_EDB;
}

int verify_events_foreach(const struct vf_record *r,
			  int (*cb)(const struct vf_event *ev, void *arg),
			  void *arg)
{
	struct store_tx *c = store_reader();

	return c ? store_events_foreach(c, r->v.id, cb, arg) : KV_EDB;
}
