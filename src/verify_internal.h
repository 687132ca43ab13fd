/*
 * Shared by the service's own files (verify*.c) only: what more than one of
 * them needs and no caller of the service should.
 */
#ifndef KV_VERIFY_INTERNAL_H
#define KV_VERIFY_INTERNAL_H

#include "model.h"

/*
 * Stores `pin` in r as its keyed hash (for checks) and its sealed copy (for
 * delivery), both bound to r's request id, which must be set.
 */
void verify_pin_bind(struct vf_record *r, const char *pin);

#endif
