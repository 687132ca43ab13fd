/*
 * What a PostgreSQL node keeps of rows that every call reads and that
 * almost never change (API keys, blocks of number prefixes): a fixed table
 * of entries that live PG_CACHE_TTL_MS at most, emptied at once when the
 * node hears PG_CACHE_CHANNEL (store_pg_cluster.c's listener).
 */
#include <stdio.h>
#include <string.h>

#include "store_pg.h"
#include "util.h"

static size_t pg_cache_slot(const struct pg_cache *pc, const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % pc->nslots;
}

int pg_cache_get(struct pg_cache *pc, const char *name, void *out, size_t len,
		 int *found)
{
	struct pg_cache_entry *e = &pc->slots[pg_cache_slot(pc, name)];
	int hit;

	pthread_mutex_lock(&pc->lock);
	hit = e->until > mono_ms() && strcmp(e->name, name) == 0;
	if (hit) {
		*found = e->found;
		if (e->found)
			memcpy(out, e->data, len);
	}
	pthread_mutex_unlock(&pc->lock);
	return hit;
}

void pg_cache_put(struct pg_cache *pc, const char *name, const void *data,
		  size_t len, int found)
{
	struct pg_cache_entry *e = &pc->slots[pg_cache_slot(pc, name)];

	if (len > sizeof(e->data) || strlen(name) >= sizeof(e->name))
		return;
	pthread_mutex_lock(&pc->lock);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->found = found;
	if (found)
		memcpy(e->data, data, len);
	e->until = mono_ms() + PG_CACHE_TTL_MS;
	pthread_mutex_unlock(&pc->lock);
}

void pg_cache_clear(struct pg_cache *pc)
{
	pthread_mutex_lock(&pc->lock);
	for (size_t i = 0; i < pc->nslots; i++)
		pc->slots[i].until = 0;
	pthread_mutex_unlock(&pc->lock);
}

/* The caches of store_pg_keys.c and store_pg_abuse.c. */
void pg_caches_clear(void)
{
	pg_key_cache_clear();
	pg_block_cache_clear();
}

int pg_cache_changed(struct store_tx *c, int rc)
{
	if (rc == 0)
		rc = pg_run(c, "SELECT pg_notify('" PG_CACHE_CHANNEL "', '')",
			    NULL, "notify cached rows changed");
	pg_caches_clear();
	return rc;
}
