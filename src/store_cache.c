/*
 * The readers' cache of rarely changing rows (store_cache.h).
 */
#include <stdio.h>
#include <string.h>

#include "store_cache.h"
#include "util.h"

static size_t store_cache_slot(const struct store_cache *sc, const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % sc->nslots;
}

int store_cache_get(struct store_cache *sc, const char *name, void *out,
		    size_t len, int *found)
{
	struct store_cache_entry *e = &sc->slots[store_cache_slot(sc, name)];
	int hit;

	pthread_rwlock_rdlock(&sc->lock);
	hit = e->until > mono_ms() && strcmp(e->name, name) == 0;
	if (hit) {
		*found = e->found;
		if (e->found)
			memcpy(out, e->data, len);
	}
	pthread_rwlock_unlock(&sc->lock);
	return hit;
}

void store_cache_put(struct store_cache *sc, const char *name, const void *data,
		     size_t len, int found)
{
	struct store_cache_entry *e = &sc->slots[store_cache_slot(sc, name)];

	if (len > sizeof(e->data) || strlen(name) >= sizeof(e->name))
		return;
	pthread_rwlock_wrlock(&sc->lock);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->found = found;
	if (found)
		memcpy(e->data, data, len);
	e->until = mono_ms() + STORE_CACHE_TTL_MS;
	pthread_rwlock_unlock(&sc->lock);
}

void store_cache_clear(struct store_cache *sc)
{
	pthread_rwlock_wrlock(&sc->lock);
	for (size_t i = 0; i < sc->nslots; i++)
		sc->slots[i].until = 0;
	pthread_rwlock_unlock(&sc->lock);
}
