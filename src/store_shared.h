/*
 * What the backends (store_sqlite*.c, store_pg*.c) share above their SQL:
 * the decisions of an operation that do not depend on the database, each
 * run over the backend's own statements, so that both backends decide
 * alike and the logic is written once.
 */
#ifndef KV_STORE_SHARED_H
#define KV_STORE_SHARED_H

#include <stdint.h>

#include "store.h"

/*
 * The steps of one purge batch (store_purge_batch), in a backend's SQL.
 * A walk step (addresses, events) works on the window of `limit` rows
 * after id `after`: *last gets its last id and *more 1 when it holds rows
 * made before `cutoff` (else *last stays `after`, *more 0), *changed the
 * rows it blanked or deleted.
 */
struct store_purge_steps {
	/* Up to p->limit finished verifications, each with its rows. */
	int (*verifications)(struct store_tx *c, const struct store_purge *p,
			     struct store_purge_counts *out);
	/* Up to `limit` verified-number entries verified before `before`. */
	int (*verified)(struct store_tx *c, int64_t before, int limit,
			int64_t *changed);
	int (*addresses)(struct store_tx *c, int64_t after, int limit,
			 int64_t cutoff, int64_t *last, int *more,
			 int64_t *changed);
	int (*events)(struct store_tx *c, int64_t after, int limit,
		      int64_t cutoff, int64_t *last, int *more,
		      int64_t *changed);
};

/* store_purge_batch() through a backend's steps. */
int store_shared_purge_batch(struct store_tx *c, const struct store_purge *p,
			     struct store_purge_counts *out,
			     const struct store_purge_steps *steps);

#endif
