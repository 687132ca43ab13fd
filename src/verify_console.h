/*
 * What the operator console shows and changes, as JSON (jansson) built
 * from the store: figures over a window of minutes, the busiest prefixes,
 * blocks, keys, the newest verifications (numbers masked) and the timeline
 * of one.  Its writes (lift a block, create or revoke a key) are closures
 * for the writer queue.  The HTTP side is console.c.
 */
#ifndef KV_VERIFY_CONSOLE_H
#define KV_VERIFY_CONSOLE_H

#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "crypto.h"

struct store_tx;

#define CONSOLE_MINUTES_MAX 1440 /* a day, in the summary's window */
#define CONSOLE_LIST_MAX 200     /* lines of a list, at most */

/* Reads the prefix length of the fraud rules; once before serving. */
void verify_console_init(const struct config *cfg);

/*
 * Reads on the calling thread's store connection.  Each returns 0 with a
 * new object in *out, KV_ENOTFOUND (timeline: no such verification) or
 * another KV_E* (nothing in *out).  `now` in ms.
 */
int verify_console_summary(int minutes, int64_t now, json_t **out);
int verify_console_prefixes(int minutes, int limit, int64_t now, json_t **out);
int verify_console_blocks(int64_t now, json_t **out);
int verify_console_keys(json_t **out);
int verify_console_recent(int limit, json_t **out);
int verify_console_timeline(const char *request_id, json_t **out);

/* A write of the console: fill the inputs, run it through the writer. */
struct verify_console_op {
	int64_t now;
	char prefix[16];    /* lift: the blocked prefix */
	char name[64];      /* create: the key's name */
	char countries[64]; /* create: its allow-list ("IN", "IN,GB", "*") */
	char api_key[40];   /* revoke; create: out */
	char api_secret[CRYPTO_API_SECRET_LEN + 1]; /* create: out, once */
};

/* Ends the blocks of op->prefix in force; KV_ENOTFOUND if none. */
int verify_console_lift_run(struct store_tx *c, void *arg);
/* Creates a secret key; its key and secret land in the op. */
int verify_console_key_create_run(struct store_tx *c, void *arg);
/* Revokes op->api_key; KV_ENOTFOUND when it is no active key. */
int verify_console_key_revoke_run(struct store_tx *c, void *arg);

/* 1 when `s` is an allow-list a key may hold ("*" or "IN,GB"...). */
int verify_console_countries_ok(const char *s);

#endif
