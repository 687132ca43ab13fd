/*
 * What a server's readers keep of rows that every call reads and that
 * almost never change (API keys; on PostgreSQL the blocks of number
 * prefixes too): a fixed table of entries, each living STORE_CACHE_TTL_MS
 * at most, emptied at once by a change this process makes or hears of.
 * docs/SCALING.md says how soon each backend's nodes see a change.
 */
#ifndef KV_STORE_CACHE_H
#define KV_STORE_CACHE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_CACHE_TTL_MS 1000
#define STORE_CACHE_NAME_MAX 48
#define STORE_CACHE_DATA_MAX 512

struct store_cache_entry {
	char name[STORE_CACHE_NAME_MAX];
	int64_t until; /* mono_ms(); 0: empty */
	int found;
	unsigned char data[STORE_CACHE_DATA_MAX];
};

/*
 * A table of nslots entries, each name in the slot its hash gives.  Every
 * call of every HTTP thread reads it, so reads share the lock: with a
 * mutex, a holder preempted inside it would hold up every other thread.
 * Writes (a put once an entry ends, a clear) are rare and go first.
 */
struct store_cache {
	pthread_rwlock_t lock;
	size_t nslots;
	struct store_cache_entry *slots;
};

/* The initializer of a cache over a static array of entries. */
#define STORE_CACHE_INIT(slots)                                                \
	{                                                                      \
		PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP,             \
			sizeof(slots) / sizeof((slots)[0]), (slots)            \
	}

/*
 * 1 when name's entry is fresh: *found, and when found its len bytes in
 * out (a row that was not there may be cached too).  0: ask the database.
 */
int store_cache_get(struct store_cache *sc, const char *name, void *out,
		    size_t len, int *found);
/* Keeps len bytes for name (found 0: the row is not there); a name or row
 * too long for an entry is not kept. */
void store_cache_put(struct store_cache *sc, const char *name, const void *data,
		     size_t len, int found);
void store_cache_clear(struct store_cache *sc);

#endif
