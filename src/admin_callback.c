/*
 * The admin commands of status callbacks: `keys callback KEY URL|off` sets
 * (or clears) a key's callback URL and a new signature secret, printed
 * once; `keys list` shows each key's callback, its secret masked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "admin.h"
#include "callback.h"
#include "err.h"
#include "store.h"

/* Random bytes of a new signature secret (base64url: 43 characters). */
#define SECRET_BYTES 32

/* Prints what was set: the URL and the secret, as text or JSON. */
static int callback_print_set(const struct admin_options *o,
			      const struct key_callback *kc)
{
	json_t *obj;

	if (!o->json) {
		printf("callback_url: %s\n", kc->url[0] ? kc->url : "off");
		if (kc->secret[0])
			printf("signature_secret: %s\n", kc->secret);
		return 0;
	}
	obj = json_object();
	json_object_set_new(obj, "callback_url",
			    kc->url[0] ? json_string(kc->url) : json_null());
	if (kc->secret[0])
		json_object_set_new(obj, "signature_secret",
				    json_string(kc->secret));
	return admin_print_secret_json(obj, "signature_secret");
}

int admin_cmd_keys_callback(struct admin_options *o)
{
	struct key_callback kc;
	struct callback_target t;
	unsigned char raw[SECRET_BYTES];
	char why[160];
	struct store_tx *c;
	int rc;

	memset(&kc, 0, sizeof(kc));
	if (strcmp(o->args[2], "off") != 0) {
		if (callback_url_parse(o->args[2], &t, why, sizeof(why)) != 0) {
			fprintf(stderr, "kookooverify: %s\n", why);
			return ADMIN_EXIT_USAGE;
		}
		snprintf(kc.url, sizeof(kc.url), "%s", o->args[2]);
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2base64(kc.secret, sizeof(kc.secret), raw,
				  sizeof(raw),
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		sodium_memzero(raw, sizeof(raw));
	}
	c = admin_open(o);
	if (!c)
		return 1;
	rc = store_key_callback_set(c, o->args[1], &kc);
	store_close(c);
	if (rc == KV_ENOTFOUND)
		fprintf(stderr, "kookooverify: no key %s\n", o->args[1]);
	if (rc == 0)
		rc = callback_print_set(o, &kc);
	sodium_memzero(kc.secret, sizeof(kc.secret));
	return rc == 0 ? 0 : 1;
}

void admin_key_callback_print(struct store_tx *c, int64_t key_id)
{
	struct key_callback kc;

	if (store_key_callback_get(c, key_id, &kc) != 0)
		return;
	/* The secret signs every callback: only its first characters. */
	printf("\tcallback: %s\tsignature_secret: %.4s****", kc.url, kc.secret);
	sodium_memzero(kc.secret, sizeof(kc.secret));
}
