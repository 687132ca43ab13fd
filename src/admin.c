/*
 * The admin commands (admin.h): options through a table of flags, commands
 * through a table of commands, each with its lines of the usage text.  JSON
 * goes out through jansson; keys and blocks are listed one per line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "admin.h"
#include "api_vonage.h"
#include "crypto.h"
#include "store.h"
#include "err.h"
#include "ivr_xml.h"
#include "keys.h"
#include "log.h"
#include "phone.h"
#include "util.h"
#include "verify.h"
#include "vtoken.h"

#define EXIT_USAGE ADMIN_EXIT_USAGE

/* ---- flags ---- */

static int flag_json(struct admin_options *o, const char *flag,
		     const char *value, char *err, size_t errlen)
{
	o->json = 1;
	return 0;
}

static int flag_no_voice_confirm(struct admin_options *o, const char *flag,
				 const char *value, char *err, size_t errlen)
{
	o->no_voice_confirm = 1;
	return 0;
}

static int flag_publishable(struct admin_options *o, const char *flag,
			    const char *value, char *err, size_t errlen)
{
	o->publishable = 1;
	return 0;
}

static int flag_force(struct admin_options *o, const char *flag,
		      const char *value, char *err, size_t errlen)
{
	o->force = 1;
	return 0;
}

static int flag_help(struct admin_options *o, const char *flag,
		     const char *value, char *err, size_t errlen)
{
	o->help = 1;
	return 0;
}

/* --config was read before everything else. */
static int flag_config(struct admin_options *o, const char *flag,
		       const char *value, char *err, size_t errlen)
{
	return 0;
}

static int flag_name(struct admin_options *o, const char *flag,
		     const char *value, char *err, size_t errlen)
{
	o->name = value;
	return 0;
}

static int flag_countries(struct admin_options *o, const char *flag,
			  const char *value, char *err, size_t errlen)
{
	o->countries = value;
	return 0;
}

static int flag_brand(struct admin_options *o, const char *flag,
		      const char *value, char *err, size_t errlen)
{
	o->brand = value;
	return 0;
}

static int flag_owner(struct admin_options *o, const char *flag,
		      const char *value, char *err, size_t errlen)
{
	o->owner = value;
	return 0;
}

static int flag_origin(struct admin_options *o, const char *flag,
		       const char *value, char *err, size_t errlen)
{
	if (o->norigins == KEYS_ORIGINS_MAX) {
		snprintf(err, errlen, "at most %d --origin per key",
			 KEYS_ORIGINS_MAX);
		return KV_ECONFIG;
	}
	o->origins[o->norigins++] = value;
	return 0;
}

static int flag_number(struct admin_options *o, const char *flag,
		       const char *value, char *err, size_t errlen)
{
	o->number = value;
	return 0;
}

/* migrate --to VERSION; copy-store --from FILE --to DB. */
static int flag_from_to(struct admin_options *o, const char *flag,
			const char *value, char *err, size_t errlen)
{
	*(strcmp(flag, "--from") == 0 ? &o->from : &o->to) = value;
	return 0;
}

/* --db and --listen: the settings of the same names. */
static int flag_setting(struct admin_options *o, const char *flag,
			const char *value, char *err, size_t errlen)
{
	return config_set(&o->cfg, flag + 2, value, err, errlen);
}

static int flag_set(struct admin_options *o, const char *flag,
		    const char *value, char *err, size_t errlen)
{
	char name[64];
	const char *eq = strchr(value, '=');

	if (!eq || (size_t)(eq - value) >= sizeof(name)) {
		snprintf(err, errlen, "--set expects NAME=VALUE");
		return KV_ECONFIG;
	}
	memcpy(name, value, (size_t)(eq - value));
	name[eq - value] = '\0';
	return config_set(&o->cfg, name, eq + 1, err, errlen);
}

/*
 * Every flag: whether a value follows it, what it sets (err receives why
 * it could not), and its line under "options:" (NULL: in a command's).
 */
static const struct {
	const char *name;
	int takes_value;
	int (*set)(struct admin_options *o, const char *flag, const char *value,
		   char *err, size_t errlen);
	const char *help;
} flags[] = {
	{"--json", 0, flag_json, NULL},
	{"--no-voice-confirm", 0, flag_no_voice_confirm, NULL},
	{"--publishable", 0, flag_publishable, NULL},
	{"--help", 0, flag_help, NULL},
	{"--config", 1, flag_config,
	 "  --config FILE         read settings from FILE\n"},
	{"--name", 1, flag_name, NULL},
	{"--countries", 1, flag_countries, NULL},
	{"--brand", 1, flag_brand, NULL},
	{"--owner", 1, flag_owner, NULL},
	{"--origin", 1, flag_origin, NULL},
	{"--db", 1, flag_setting,
	 "  --db PATH             database file (setting db)\n"},
	{"--listen", 1, flag_setting,
	 "  --listen ADDR:PORT    address to serve (setting listen)\n"},
	{"--set", 1, flag_set, "  --set NAME=VALUE      any setting below\n"},
	{"--force", 0, flag_force, NULL},
	{"--number", 1, flag_number, NULL},
	{"--to", 1, flag_from_to, NULL},
	{"--from", 1, flag_from_to, NULL},
};

static size_t flag_find(const char *name, int takes_value)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(flags); i++)
		if (flags[i].takes_value == takes_value &&
		    strcmp(flags[i].name, name) == 0)
			break;
	return i;
}

/* One argument (and its value, *i moves past it). */
static int options_take(struct admin_options *o, int argc, char **argv, int *i,
			char *err, size_t errlen)
{
	const char *a = argv[*i];
	const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
	size_t f = flag_find(a, 0);

	if (f < ARRAY_LEN(flags))
		return flags[f].set(o, a, NULL, err, errlen);
	if (strncmp(a, "--", 2) != 0) {
		if (o->nargs == (int)ARRAY_LEN(o->args)) {
			snprintf(err, errlen, "unexpected argument \"%s\"", a);
			return KV_ECONFIG;
		}
		o->args[o->nargs++] = a;
		return 0;
	}
	if (!next) {
		snprintf(err, errlen, "%s needs a value", a);
		return KV_ECONFIG;
	}
	(*i)++;
	f = flag_find(a, 1);
	if (f == ARRAY_LEN(flags)) {
		snprintf(err, errlen, "unknown option %s", a);
		return KV_ECONFIG;
	}
	return flags[f].set(o, a, next, err, errlen) == 0 ? 0 : KV_ECONFIG;
}

int admin_options_parse(int argc, char **argv, struct admin_options *o)
{
	char err[512];
	const char *config_file = NULL;
	int i;

	config_init(&o->cfg);
	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_file = argv[i + 1];
	if (config_file &&
	    config_load_file(&o->cfg, config_file, err, sizeof(err)) != 0)
		goto bad;
	if (config_load_env(&o->cfg, err, sizeof(err)) != 0)
		goto bad;
	for (i = 0; i < argc && !o->help; i++)
		if (options_take(o, argc, argv, &i, err, sizeof(err)) != 0)
			goto bad;
	if (o->help)
		return 0;
	if (config_validate(&o->cfg, err, sizeof(err)) != 0)
		goto bad;
	log_set_level((enum log_level)log_level_parse(o->cfg.log_level));
	log_set_format((enum log_format)log_format_parse(o->cfg.log_format));
	store_sync_set(strcmp(o->cfg.db_synchronous, "full") == 0
			       ? STORE_SYNC_FULL
			       : STORE_SYNC_NORMAL);
	return 0;
bad:
	fprintf(stderr, "kookooverify: %s\n", err);
	return KV_ECONFIG;
}

/* ---- the store ---- */

int admin_migrate(struct admin_options *o)
{
	char err[600];

	if (store_migrate(o->cfg.db, err, sizeof(err)) != 0) {
		log_error("store.migrate_failed", LOG_STR("error", err));
		return KV_EDB;
	}
	return 0;
}

/* `migrate [--to VERSION]`: every migration, or those up to VERSION. */
static int cmd_migrate(struct admin_options *o)
{
	char err[600];
	int version;

	if (!o->to)
		return admin_migrate(o) == 0 ? 0 : 1;
	if (parse_int(o->to, 1, store_schema_version(), &version) != 0) {
		fprintf(stderr, "kookooverify: --to expects 1 to %d\n",
			store_schema_version());
		return EXIT_USAGE;
	}
	if (store_migrate_to(o->cfg.db, version, err, sizeof(err)) != 0) {
		log_error("store.migrate_failed", LOG_STR("error", err));
		return 1;
	}
	return 0;
}

static int cmd_check_config(struct admin_options *o)
{
	char err[600];

	if (verify_init(&o->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "kookooverify: %s\n", err);
		return EXIT_USAGE;
	}
	if (admin_load_templates(&o->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "kookooverify: templates: %s\n", err);
		return EXIT_USAGE;
	}
	ivr_xml_free();
	printf("configuration ok\n");
	return 0;
}

struct store_tx *admin_open(struct admin_options *o)
{
	char err[600];
	struct store_tx *c = store_open_migrated(o->cfg.db, err, sizeof(err));

	if (!c) {
		log_error("store.migrate_failed", LOG_STR("error", err));
		return NULL;
	}
	if (admin_load_secret(&o->cfg, c) != 0) {
		store_close(c);
		return NULL;
	}
	return c;
}

/* arg: NULL, or a flag set once "\torigins:" is printed (secret keys). */
static void origin_print(const char *origin, void *arg)
{
	int *started = arg;

	if (started && !*started) {
		printf("\torigins:");
		*started = 1;
	}
	printf(" %s", origin);
}

/*
 * One line per key; a publishable key's line ends with its origins, a
 * secret key's with those it may name for SMS autofill, if any.
 */
static int key_print(const struct key_info *k, void *arg)
{
	char created[20];
	int started = 0;

	format_datetime(k->created_ms / 1000, created);
	printf("%s\t%s\t%s\t%s\t%s", k->api_key, created,
	       k->revoked_ms ? "revoked" : "active",
	       k->kind == KEY_PUBLISHABLE ? "publishable" : "secret", k->name);
	if (k->kind == KEY_PUBLISHABLE) {
		if (k->brand[0])
			printf("\tbrand: %s", k->brand);
		printf("\towner: %s", k->owner[0] ? k->owner : "none");
		printf("\torigins:");
		if (store_key_origins_foreach(arg, k->id, origin_print, NULL) !=
		    0)
			return -1;
	} else if (store_key_origins_foreach(arg, k->id, origin_print,
					     &started) != 0) {
		return -1;
	}
	admin_key_callback_print(arg, k->id);
	printf("\n");
	return 0;
}

/*
 * Prints a new key (and its secret, if any) as text or, with --json, JSON.
 * Returns the command's exit status: 0, or 1 when out of memory.
 */
static int key_print_created(const struct admin_options *o, const char *key,
			     const char *secret)
{
	json_t *obj;

	if (!o->json) {
		printf("api_key: %s\n", key);
		if (secret)
			printf("api_secret: %s\n", secret);
		return 0;
	}
	obj = json_object();
	json_object_set_new(obj, "api_key", json_string(key));
	if (secret)
		json_object_set_new(obj, "api_secret", json_string(secret));
	return admin_print_secret_json(obj, "api_secret");
}

int admin_print_secret_json(json_t *obj, const char *member)
{
	char *text = json_dumps(obj, 0);
	/*
	 * jansson's copy of the secret is ours (the object is freed next)
	 * and it offers no writable pointer: wipe it anyway.
	 */
	const char *copy = json_string_value(json_object_get(obj, member));

	if (copy)
		// NOLINTNEXTLINE(performance-no-int-to-ptr)
		sodium_memzero((void *)(uintptr_t)copy, strlen(copy));
	json_decref(obj);
	if (!text)
		return 1;
	printf("%s\n", text);
	sodium_memzero(text, strlen(text));
	free(text);
	return 0;
}

/*
 * The --origin flags, normalised into norm and listed in list; 0, or
 * EXIT_USAGE after saying which one is not an origin.
 */
static int origins_read(const struct admin_options *o,
			char norm[KEYS_ORIGINS_MAX][KEYS_ORIGIN_MAX],
			const char *list[KEYS_ORIGINS_MAX])
{
	for (int i = 0; i < o->norigins; i++) {
		if (keys_origin_normalize(o->origins[i], norm[i]) != 0) {
			fprintf(stderr,
				"kookooverify: --origin \"%s\" is not an "
				"origin: scheme http or https, a host, an "
				"optional port, no path\n",
				o->origins[i]);
			return EXIT_USAGE;
		}
		list[i] = norm[i];
	}
	return 0;
}

/* `keys create --publishable`: the origins are checked before anything. */
static int cmd_keys_publishable(struct admin_options *o, struct store_tx *c)
{
	char norm[KEYS_ORIGINS_MAX][KEYS_ORIGIN_MAX];
	const char *list[KEYS_ORIGINS_MAX];
	char key[KEYS_PUBLISHABLE_LEN + 1];
	int rc;

	if (o->norigins == 0) {
		fprintf(stderr, "kookooverify: a publishable key needs at "
				"least one --origin https://site.example\n");
		return EXIT_USAGE;
	}
	if (origins_read(o, norm, list) != 0)
		return EXIT_USAGE;
	if (o->brand && (!vonage_brand_valid(o->brand) ||
			 strlen(o->brand) > (size_t)4 * 18)) {
		fprintf(stderr, "kookooverify: --brand must be 1 to 18 "
				"characters\n");
		return EXIT_USAGE;
	}
	rc = keys_create_publishable(c, o->name, !o->no_voice_confirm,
				     o->countries, o->brand, o->owner, list,
				     (size_t)o->norigins, key);
	if (rc == KV_ENOTFOUND) {
		fprintf(stderr,
			"kookooverify: --owner %s is not an active "
			"secret key\n",
			o->owner);
		return EXIT_USAGE;
	}
	if (rc != 0)
		return 1;
	if (!o->owner)
		fprintf(stderr,
			"kookooverify: no --owner: no backend can "
			"redeem this key's tokens online until "
			"`keys set-owner %s KEY`\n",
			key);
	return key_print_created(o, key, NULL);
}

/* `keys revoke KEY`. */
static int cmd_keys_revoke(struct admin_options *o)
{
	const char *api_key = o->args[1];
	struct store_tx *c = admin_open(o);
	int rc;

	if (!c)
		return 1;
	rc = store_key_revoke(c, api_key, now_ms());
	store_close(c);
	if (rc == KV_ENOTFOUND) {
		fprintf(stderr, "kookooverify: no active key %s\n", api_key);
		return 1;
	}
	return rc == 0 ? 0 : 1;
}

/* `keys set-owner PK KEY`: who may redeem the tokens of a publishable key. */
static int cmd_keys_set_owner(struct admin_options *o)
{
	const char *pk = o->args[1], *owner = o->args[2];
	struct store_tx *c = admin_open(o);
	int rc;

	if (!c)
		return 1;
	rc = store_key_set_owner(c, pk, owner);
	store_close(c);
	if (rc == KV_ENOTFOUND) {
		fprintf(stderr,
			"kookooverify: %s is not a publishable key or "
			"%s is not an active secret key\n",
			pk, owner);
		return 1;
	}
	return rc == 0 ? 0 : 1;
}

/* `keys missed-call KEY on|off`: missed-call verification for a key. */
static int cmd_keys_missed_call(struct admin_options *o)
{
	const char *v = o->args[2];
	int on = strcmp(v, "on") == 0;
	struct store_tx *c;
	int rc;

	if (!on && strcmp(v, "off") != 0) {
		fprintf(stderr, "kookooverify: keys missed-call KEY on|off\n");
		return EXIT_USAGE;
	}
	c = admin_open(o);
	if (!c)
		return 1;
	rc = store_key_set_missed_call(c, o->args[1], on);
	store_close(c);
	if (rc == KV_ENOTFOUND)
		fprintf(stderr, "kookooverify: no key %s\n", o->args[1]);
	return rc == 0 ? 0 : 1;
}

/* `keys create`: a secret key, or with --publishable one for web pages. */
static int cmd_keys_create(struct admin_options *o)
{
	char key[CRYPTO_API_KEY_LEN + 1], secret[CRYPTO_API_SECRET_LEN + 1];
	char norm[KEYS_ORIGINS_MAX][KEYS_ORIGIN_MAX];
	const char *list[KEYS_ORIGINS_MAX];
	struct store_tx *c = admin_open(o);
	int rc = 1;

	if (!c)
		return 1;
	if (o->publishable) {
		rc = cmd_keys_publishable(o, c);
		goto out;
	}
	if (o->brand || o->owner) {
		fprintf(stderr, "kookooverify: --brand and --owner are for "
				"publishable keys (--publishable)\n");
		rc = EXIT_USAGE;
		goto out;
	}
	/* A secret key's origins: what its requests may name for autofill. */
	if (origins_read(o, norm, list) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (keys_create_origins(c, o->name, !o->no_voice_confirm, o->countries,
				list, (size_t)o->norigins, key, secret) != 0)
		goto out;
	rc = key_print_created(o, key, secret);
	sodium_memzero(secret, sizeof(secret));
out:
	store_close(c);
	return rc;
}

static int cmd_keys_list(struct admin_options *o)
{
	struct store_tx *c = admin_open(o);
	int rc;

	if (!c)
		return 1;
	rc = store_keys_foreach(c, key_print, c) == 0 ? 0 : 1;
	store_close(c);
	return rc;
}

static int block_print(const struct fraud_block *b, void *arg)
{
	char until[20];

	format_datetime(b->until_ms / 1000, until);
	/* A block earned through a publishable key holds for it alone. */
	printf("%s\tuntil %s UTC\t%s%s%s\n", b->prefix, until, b->reason,
	       b->key_id ? "\tonly for " : "", b->key_id ? b->api_key : "");
	return 0;
}

/* `token-key`: the JWK Set of the token signing key, as the server serves. */
static int cmd_token_key(struct admin_options *o)
{
	struct store_tx *c = admin_open(o);
	json_t *jwks;
	int rc = 1;

	if (!c)
		return 1;
	store_close(c);
	jwks = vtoken_jwks();
	if (jwks && json_dumpf(jwks, stdout, JSON_INDENT(2)) == 0) {
		printf("\n");
		rc = 0;
	}
	json_decref(jwks);
	return rc;
}

/* `blocks list`: fraud blocks of number prefixes still in force. */
static int cmd_blocks_list(struct admin_options *o)
{
	struct store_tx *c = admin_open(o);
	int rc;

	if (!c)
		return 1;
	rc = store_blocks_foreach(c, now_ms(), block_print, NULL);
	store_close(c);
	return rc == 0 ? 0 : 1;
}

/* `blocks lift PREFIX`. */
static int cmd_blocks_lift(struct admin_options *o)
{
	struct store_tx *c = admin_open(o);
	int rc;

	if (!c)
		return 1;
	rc = store_block_lift(c, o->args[1], now_ms());
	if (rc == KV_ENOTFOUND)
		fprintf(stderr, "kookooverify: no block on %s\n", o->args[1]);
	store_close(c);
	return rc == 0 ? 0 : 1;
}

/* ---- the command table ---- */

/*
 * A command: its name, its subcommand (NULL: none) and how many positional
 * arguments it takes, the subcommand included (-1: any), what runs it
 * (NULL: the daemon, admin_main()'s `serve`), and its lines of the usage
 * text.  The order is the usage text's.
 */
struct admin_cmd {
	const char *name;
	const char *sub;
	int nargs;
	int (*run)(struct admin_options *o);
	const char *help;
};

static const struct admin_cmd cmds[] = {
	{"serve", NULL, -1, NULL, "  serve                 run the server\n"},
	{"migrate", NULL, -1, cmd_migrate,
	 "  migrate [--to N]      apply migrations (up to schema version\n"
	 "                        N) and exit\n"},
	{"check-config", NULL, -1, cmd_check_config,
	 "  check-config          validate the settings and exit\n"},
	{"keys", "create", 1, cmd_keys_create,
	 "  keys create [--name N] [--json] [--no-voice-confirm]\n"
	 "              [--countries IN,GB|*]  (default IN)\n"
	 "              [--origin https://site.example ...]\n"
	 "                        create an API key, print its secret;\n"
	 "                        its requests may name those origins\n"
	 "                        for SMS autofill\n"
	 "  keys create --publishable --origin https://site.example\n"
	 "              --owner KEY [--origin ...] [--brand B]\n"
	 "              [--name N] [--json]\n"
	 "                        create a key for web pages of those\n"
	 "                        origins (no secret); only the backend\n"
	 "                        of secret key KEY may redeem its tokens\n"},
	{"keys", "set-owner", 3, cmd_keys_set_owner,
	 "  keys set-owner PK KEY make secret key KEY the owner of\n"
	 "                        publishable key PK\n"},
	{"keys", "missed-call", 3, cmd_keys_missed_call,
	 "  keys missed-call KEY on|off\n"
	 "                        let key KEY verify by missed call\n"},
	{"keys", "callback", 3, admin_cmd_keys_callback,
	 "  keys callback KEY URL|off [--json]\n"
	 "                        POST key KEY's status callbacks to URL\n"
	 "                        (https://), signed with a new secret,\n"
	 "                        printed once\n"},
	{"keys", "list", 1, cmd_keys_list,
	 "  keys list             list API keys (never secrets)\n"},
	{"keys", "revoke", 2, cmd_keys_revoke,
	 "  keys revoke KEY       revoke an API key\n"},
	{"applications", "add", 3, admin_cmd_apps_add,
	 "  applications add KEY PEMFILE [--json]\n"
	 "                        register an application's RSA public\n"
	 "                        key for Verify v2 JWTs, bound to KEY\n"},
	{"applications", "list", 1, admin_cmd_apps_list,
	 "  applications list [--json]\n"},
	{"applications", "remove", 2, admin_cmd_apps_remove,
	 "  applications remove ID\n"},
	{"token-key", NULL, -1, cmd_token_key,
	 "  token-key             print the public key (JWK Set) that\n"
	 "                        verification tokens are signed with\n"},
	{"operator-token", NULL, -1, admin_cmd_operator_token,
	 "  operator-token        print the operator's bearer token\n"},
	{"blocks", "list", 1, cmd_blocks_list,
	 "  blocks list           number prefixes blocked for fraud\n"},
	{"blocks", "lift", 2, cmd_blocks_lift,
	 "  blocks lift PREFIX    lift a block\n"},
	{"backup", NULL, -1, admin_cmd_backup,
	 "  backup DEST [--force] [--json]\n"
	 "                        copy the database while the server runs\n"
	 "                        (not the secret: back it up apart)\n"},
	{"restore", NULL, -1, admin_cmd_restore,
	 "  restore SRC           server stopped: install backup SRC as\n"
	 "                        the database (the old one is kept as\n"
	 "                        DB.before-restore)\n"},
	{"erase", NULL, -1, admin_cmd_erase,
	 "  erase --number N [--json]\n"
	 "                        remove every record of a phone number\n"
	 "                        (its verifications, checks, events,\n"
	 "                        calls, jobs, callbacks, fraud reports,\n"
	 "                        verified entries); say what is kept\n"},
	{"copy-store", NULL, -1, admin_cmd_copy_store,
	 "  copy-store --from FILE --to postgresql://... [--json]\n"
	 "                        copy a stopped SQLite store into an\n"
	 "                        empty PostgreSQL database\n"},
};

/* What a command with subcommands answers when none of them matches. */
static const struct {
	const char *name, *usage;
} groups[] = {
	{"keys", "keys create|list|revoke KEY|set-owner PK KEY|missed-call KEY "
		 "on|off|callback KEY URL|off"},
	{"blocks", "blocks list|lift PREFIX"},
	{"applications", "applications add KEY PEMFILE|list|remove ID"},
};

void admin_usage(FILE *out)
{
	fputs("usage: kookooverify COMMAND [options]\n\ncommands:\n", out);
	for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
		fputs(cmds[i].help, out);
	fputs("\noptions:\n", out);
	for (size_t i = 0; i < ARRAY_LEN(flags); i++)
		if (flags[i].help)
			fputs(flags[i].help, out);
	fputs("  --help                this text\n\n", out);
	config_print_help(out);
}

/* The command `name` with the positional arguments of o, or NULL. */
static const struct admin_cmd *cmd_find(const char *name,
					const struct admin_options *o)
{
	const char *sub = o->args[0] ? o->args[0] : "";

	for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
		const struct admin_cmd *c = &cmds[i];

		if (strcmp(c->name, name) != 0)
			continue;
		if (!c->sub ||
		    (strcmp(c->sub, sub) == 0 && c->nargs == o->nargs))
			return c;
	}
	return NULL;
}

int admin_main(int argc, char **argv, int (*serve)(struct admin_options *o))
{
	struct admin_options o;
	const char *name = argc > 1 ? argv[1] : "";
	const struct admin_cmd *c;

	memset(&o, 0, sizeof(o));
	if (strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
		admin_usage(stdout);
		return 0;
	}
	if (argc < 2) {
		admin_usage(stderr);
		return EXIT_USAGE;
	}
	/* Hidden, for the build: its own arguments, no settings read. */
	if (strcmp(name, "config-doc") == 0)
		return admin_cmd_config_doc(argc - 2, argv + 2);
	if (admin_options_parse(argc - 2, argv + 2, &o) != 0)
		return EXIT_USAGE;
	if (o.help) {
		admin_usage(stdout);
		return 0;
	}
	c = cmd_find(name, &o);
	if (c)
		return c->run ? c->run(&o) : serve(&o);
	for (size_t i = 0; i < ARRAY_LEN(groups); i++)
		if (strcmp(groups[i].name, name) == 0) {
			fprintf(stderr, "kookooverify: %s\n", groups[i].usage);
			return EXIT_USAGE;
		}
	fprintf(stderr, "kookooverify: unknown command \"%s\"\n", name);
	admin_usage(stderr);
	return EXIT_USAGE;
}
