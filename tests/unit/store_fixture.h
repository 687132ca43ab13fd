/*
 * A migrated store in a temporary directory, for the tests of the store and
 * of the service: keys "k1", "k2"... inserted with ids 1, 2..., the server
 * secret set, and everything removed again afterwards.
 */
#ifndef KV_TEST_STORE_FIXTURE_H
#define KV_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "store.h"

struct store_fixture {
	char dir[64];
	char path[96];
	struct store_tx *c;
};

/* Removes what store_fixture_new() made (f may be half made, or NULL). */
static inline void store_fixture_free(struct store_fixture *f)
{
	static const char *const tails[] = {"", "-wal", "-shm"};
	char p[128];

	if (!f)
		return;
	if (f->c)
		store_close(f->c);
	if (f->path[0])
		for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
			snprintf(p, sizeof(p), "%s%s", f->path, tails[i]);
			unlink(p);
		}
	if (f->dir[0])
		rmdir(f->dir);
	free(f);
}

/*
 * A new store in /tmp/kv-TAG.XXXXXX with `nkeys` secret keys ("k1"...;
 * voice_confirm as given) and `secret` as the server secret, or NULL.
 */
static inline struct store_fixture *
store_fixture_new(const char *tag, int nkeys, int voice_confirm,
		  const unsigned char secret[32])
{
	struct store_fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (!f)
		return NULL;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kv-%s.XXXXXX", tag);
	if (!mkdtemp(f->dir)) {
		f->dir[0] = '\0';
		goto fail;
	}
	snprintf(f->path, sizeof(f->path), "%s/kv.db", f->dir);
	if (store_migrate(f->path, err, sizeof(err)) != 0)
		goto fail;
	f->c = store_open(f->path, err, sizeof(err));
	if (!f->c)
		goto fail;
	for (int i = 1; i <= nkeys; i++) {
		struct key_info k;

		memset(&k, 0, sizeof(k));
		snprintf(k.api_key, sizeof(k.api_key), "k%d", i);
		k.voice_confirm = voice_confirm;
		if (store_key_insert(f->c, &k, NULL) != 0)
			goto fail;
	}
	crypto_set_secret(secret);
	return f;
fail:
	store_fixture_free(f);
	return NULL;
}

/* cmocka set-up and tear-down around store_fixture_new() with one key. */
static inline int store_fixture_setup_one(void **state, const char *tag,
					  int voice_confirm,
					  const unsigned char secret[32])
{
	*state = store_fixture_new(tag, 1, voice_confirm, secret);
	return *state ? 0 : -1;
}

static inline int store_fixture_teardown(void **state)
{
	store_fixture_free(*state);
	return 0;
}

#endif
