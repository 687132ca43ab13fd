/*
 * The admin commands of applications (admin.h): `applications add KEY
 * PEMFILE` registers the public key a Vonage-style application signs its
 * Verify v2 JWTs with, bound to a secret API key; `list` and `remove`.
 * Text by default, JSON with --json (jansson).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "apps.h"
#include "err.h"
#include "model.h"
#include "store.h"
#include "util.h"

/* The PEM file's text into pem (APP_PEM_MAX bytes); 0 or -1 (said why). */
static int pem_read(const char *path, char pem[APP_PEM_MAX])
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		fprintf(stderr, "kookooverify: cannot read %s\n", path);
		return -1;
	}
	n = fread(pem, 1, APP_PEM_MAX - 1, f);
	pem[n] = '\0';
	if (n == APP_PEM_MAX - 1 && fgetc(f) != EOF) {
		fclose(f);
		fprintf(stderr,
			"kookooverify: %s is larger than a public key\n", path);
		return -1;
	}
	fclose(f);
	return 0;
}

static void app_print_added(const struct admin_options *o, const char *id,
			    const char *key)
{
	json_t *j;

	if (!o->json) {
		printf("application_id: %s\napi_key: %s\n", id, key);
		return;
	}
	j = json_pack("{s:s,s:s}", "application_id", id, "api_key", key);
	json_dumpf(j, stdout, JSON_COMPACT);
	printf("\n");
	json_decref(j);
}

/* `applications add KEY PEMFILE`. */
int admin_cmd_apps_add(struct admin_options *o)
{
	char pem[APP_PEM_MAX];
	char id[APP_ID_LEN + 1];
	struct store_tx *c = NULL;
	int rc;

	if (pem_read(o->args[2], pem) != 0)
		return 1;
	c = admin_open(o);
	if (!c)
		return 1;
	rc = apps_add(c, o->args[1], pem, id);
	if (rc == KV_EINVAL)
		fprintf(stderr,
			"kookooverify: %s holds no RSA public key of 2048 bits "
			"or more (-----BEGIN PUBLIC KEY-----)\n",
			o->args[2]);
	else if (rc == KV_ENOTFOUND)
		fprintf(stderr, "kookooverify: no active secret key %s\n",
			o->args[1]);
	else if (rc != 0)
		fprintf(stderr,
			"kookooverify: the application was not stored\n");
	else
		app_print_added(o, id, o->args[1]);
	store_close(c);
	return rc == 0 ? 0 : 1;
}

static int app_print(const struct app_info *a, void *arg)
{
	json_t *list = arg;
	char created[20];

	format_datetime(a->created_ms / 1000, created);
	if (list)
		return json_array_append_new(
			list, json_pack("{s:s,s:s,s:s,s:b}", "application_id",
					a->app_id, "api_key", a->api_key,
					"created", created, "key_revoked",
					a->key_revoked_ms != 0));
	printf("%s\t%s\tcreated %s UTC%s\n", a->app_id, a->api_key, created,
	       a->key_revoked_ms ? "\t(key revoked)" : "");
	return 0;
}

/* `applications list`. */
int admin_cmd_apps_list(struct admin_options *o)
{
	struct store_tx *c = admin_open(o);
	json_t *list = o->json ? json_array() : NULL;
	int rc;

	if (!c) {
		json_decref(list);
		return 1;
	}
	rc = store_apps_foreach(c, app_print, list);
	if (rc == 0 && list) {
		json_dumpf(list, stdout, JSON_INDENT(2));
		printf("\n");
	}
	json_decref(list);
	store_close(c);
	return rc == 0 ? 0 : 1;
}

/* `applications remove ID`: its JWTs are refused from then on. */
int admin_cmd_apps_remove(struct admin_options *o)
{
	struct store_tx *c = admin_open(o);
	int rc;

	if (!c)
		return 1;
	rc = store_app_delete(c, o->args[1]);
	if (rc == KV_ENOTFOUND)
		fprintf(stderr, "kookooverify: no application %s\n",
			o->args[1]);
	store_close(c);
	return rc == 0 ? 0 : 1;
}
