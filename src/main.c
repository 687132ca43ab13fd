/*
 * kookooverify: command-line entry.  `serve` runs the daemon; `migrate`,
 * `check-config` and `keys create|list|revoke` administer it.  Libraries are
 * initialised here, once, before any thread starts.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <sodium.h>

#include "api_vonage.h"
#include "browser.h"
#include "config.h"
#include "crypto.h"
#include "store.h"
#include "err.h"
#include "faultvfs.h"
#include "http.h"
#include "ivr_xml.h"
#include "fraud.h"
#include "jobs.h"
#include "keys.h"
#include "log.h"
#include "phone.h"
#include "util.h"
#include "verify.h"
#include "vtoken.h"

/* Exit statuses: 0 ok, 1 runtime failure, 2 usage or configuration error. */
#define EXIT_USAGE 2

struct options {
	struct config cfg;
	const char *name;      /* keys create --name */
	int json;              /* keys create --json */
	int no_voice_confirm;  /* keys create --no-voice-confirm */
	const char *countries; /* keys create --countries IN,GB */
	int publishable;       /* keys create --publishable */
	const char *brand;     /* keys create --publishable --brand B */
	const char *owner;     /* keys create --publishable --owner KEY */
	const char *origins[KEYS_ORIGINS_MAX]; /* keys create --origin */
	int norigins;
	const char *args[3]; /* positional: "keys set-owner PK KEY" */
	int nargs;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kookooverify COMMAND [options]\n"
		"\n"
		"commands:\n"
		"  serve                 run the server\n"
		"  migrate               apply migrations and exit\n"
		"  check-config          validate the settings and exit\n"
		"  keys create [--name N] [--json] [--no-voice-confirm]\n"
		"              [--countries IN,GB|*]  (default IN)\n"
		"                        create an API key, print its secret\n"
		"  keys create --publishable --origin https://site.example\n"
		"              --owner KEY [--origin ...] [--brand B]\n"
		"              [--name N] [--json]\n"
		"                        create a key for web pages of those\n"
		"                        origins (no secret); only the backend\n"
		"                        of secret key KEY may redeem its tokens\n"
		"  keys set-owner PK KEY make secret key KEY the owner of\n"
		"                        publishable key PK\n"
		"  keys list             list API keys (never secrets)\n"
		"  keys revoke KEY       revoke an API key\n"
		"  token-key             print the public key (JWK Set) that\n"
		"                        verification tokens are signed with\n"
		"  blocks list           number prefixes blocked for fraud\n"
		"  blocks lift PREFIX    lift a block\n"
		"\n"
		"options:\n"
		"  --config FILE         read settings from FILE\n"
		"  --db PATH             database file (setting db)\n"
		"  --listen ADDR:PORT    address to serve (setting listen)\n"
		"  --set NAME=VALUE      any setting below\n"
		"  --help                this text\n"
		"\n");
	config_print_help(out);
}

/* Applies the config file, the environment, then the flags, in that order. */
static int options_parse(int argc, char **argv, struct options *o)
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
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (strcmp(a, "--json") == 0) {
			o->json = 1;
			continue;
		}
		if (strcmp(a, "--no-voice-confirm") == 0) {
			o->no_voice_confirm = 1;
			continue;
		}
		if (strcmp(a, "--publishable") == 0) {
			o->publishable = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strncmp(a, "--", 2) != 0) {
			if (o->nargs == (int)ARRAY_LEN(o->args)) {
				snprintf(err, sizeof(err),
					 "unexpected argument \"%s\"", a);
				goto bad;
			}
			o->args[o->nargs++] = a;
			continue;
		}
		if (!next) {
			snprintf(err, sizeof(err), "%s needs a value", a);
			goto bad;
		}
		i++;
		if (strcmp(a, "--config") == 0) {
			continue;
		} else if (strcmp(a, "--name") == 0) {
			o->name = next;
		} else if (strcmp(a, "--countries") == 0) {
			o->countries = next;
		} else if (strcmp(a, "--brand") == 0) {
			o->brand = next;
		} else if (strcmp(a, "--owner") == 0) {
			o->owner = next;
		} else if (strcmp(a, "--origin") == 0) {
			if (o->norigins == KEYS_ORIGINS_MAX) {
				snprintf(err, sizeof(err),
					 "at most %d --origin per key",
					 KEYS_ORIGINS_MAX);
				goto bad;
			}
			o->origins[o->norigins++] = next;
		} else if (strcmp(a, "--db") == 0 ||
			   strcmp(a, "--listen") == 0) {
			rc = config_set(&o->cfg, a + 2, next, err, sizeof(err));
		} else if (strcmp(a, "--set") == 0) {
			char name[64];
			const char *eq = strchr(next, '=');

			if (!eq || (size_t)(eq - next) >= sizeof(name)) {
				snprintf(err, sizeof(err),
					 "--set expects NAME=VALUE");
				goto bad;
			}
			memcpy(name, next, (size_t)(eq - next));
			name[eq - next] = '\0';
			rc = config_set(&o->cfg, name, eq + 1, err,
					sizeof(err));
		} else {
			snprintf(err, sizeof(err), "unknown option %s", a);
			goto bad;
		}
		if (rc != 0)
			goto bad;
	}
	if (config_validate(&o->cfg, err, sizeof(err)) != 0)
		goto bad;
	log_set_level((enum log_level)log_level_parse(o->cfg.log_level));
	return 0;
bad:
	fprintf(stderr, "kookooverify: %s\n", err);
	return KV_ECONFIG;
}

static int count_key(const struct key_info *k, void *arg)
{
	(*(int *)arg)++;
	return 1; /* one is enough */
}

/* True when the database already holds API keys (hashed with a secret). */
static int db_has_keys(const char *db)
{
	char err[600];
	struct store_tx *c = store_open(db, err, sizeof(err));
	int n = 0;

	if (c)
		store_keys_foreach(c, count_key, &n);
	store_close(c);
	return n > 0;
}

static int load_secret(const struct config *cfg)
{
	char path[600];
	char err[600];

	if (cfg->secret_file[0])
		snprintf(path, sizeof(path), "%s", cfg->secret_file);
	else
		snprintf(path, sizeof(path), "%s.secret", cfg->db);
	/*
	 * A new secret would silently invalidate every key and pending PIN
	 * hashed with the old one: refuse, and say what is missing.
	 */
	if (access(path, F_OK) != 0 && db_has_keys(cfg->db)) {
		log_error(
			"secret: %s is missing but the database has API keys; "
			"restore it from backup (a new secret would invalidate "
			"every key)",
			path);
		return KV_EIO;
	}
	if (crypto_load_secret(path, err, sizeof(err)) != 0) {
		log_error("secret: %s", err);
		return KV_EIO;
	}
	return 0;
}

static int cmd_migrate(struct options *o)
{
	char err[600];

	if (store_migrate(o->cfg.db, err, sizeof(err)) != 0) {
		log_error("migrate: %s", err);
		return 1;
	}
	return 0;
}

/*
 * A relative template directory that does not exist from here is looked for
 * beside the program (bin/../xml_templates), so the binary works from any
 * working directory of a checkout.
 */
static void templates_locate(struct config *cfg)
{
	char exe[512], path[1100];
	ssize_t n;
	char *slash;

	if (cfg->xml_templates[0] == '/' ||
	    access(cfg->xml_templates, R_OK) == 0)
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/../%s", exe, cfg->xml_templates);
	if (access(path, R_OK) == 0 &&
	    strlen(path) < sizeof(cfg->xml_templates))
		memcpy(cfg->xml_templates, path, strlen(path) + 1);
}

static int cmd_check_config(struct options *o)
{
	char err[600];

	if (verify_init(&o->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "kookooverify: %s\n", err);
		return EXIT_USAGE;
	}
	templates_locate(&o->cfg);
	if (ivr_xml_load(o->cfg.xml_templates, err, sizeof(err)) != 0) {
		fprintf(stderr, "kookooverify: templates: %s\n", err);
		return EXIT_USAGE;
	}
	ivr_xml_free();
	printf("configuration ok\n");
	return 0;
}

/* Opens the database for an admin command, migrating it first. */
static struct store_tx *admin_open(struct options *o)
{
	char err[600];
	struct store_tx *c;

	if (cmd_migrate(o) != 0 || load_secret(&o->cfg) != 0)
		return NULL;
	c = store_open(o->cfg.db, err, sizeof(err));
	if (!c)
		log_error("%s", err);
	return c;
}

static void origin_print(const char *origin, void *arg)
{
	printf(" %s", origin);
}

/* One line per key; a publishable key's line ends with its origins. */
static int key_print(const struct key_info *k, void *arg)
{
	char created[20];

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
	}
	printf("\n");
	return 0;
}

/* `keys create --publishable`: the origins are checked before anything. */
static int cmd_keys_publishable(struct options *o, struct store_tx *c)
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
	if (o->json)
		printf("{\"api_key\": \"%s\"}\n", key);
	else
		printf("api_key: %s\n", key);
	return 0;
}

static int cmd_keys_revoke(struct options *o, const char *api_key)
{
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
static int cmd_keys_set_owner(struct options *o, const char *pk,
			      const char *owner)
{
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

static int cmd_keys(struct options *o)
{
	char key[CRYPTO_API_KEY_LEN + 1], secret[CRYPTO_API_SECRET_LEN + 1];
	struct store_tx *c;
	const char *sub = o->args[0] ? o->args[0] : "";
	int rc = 1;

	if (strcmp(sub, "revoke") == 0 && o->nargs == 2)
		return cmd_keys_revoke(o, o->args[1]);
	if (strcmp(sub, "set-owner") == 0 && o->nargs == 3)
		return cmd_keys_set_owner(o, o->args[1], o->args[2]);
	if ((strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0) ||
	    o->nargs != 1) {
		fprintf(stderr, "kookooverify: keys create|list|revoke KEY|"
				"set-owner PK KEY\n");
		return EXIT_USAGE;
	}
	c = admin_open(o);
	if (!c)
		return 1;
	if (strcmp(sub, "create") == 0 && o->publishable) {
		rc = cmd_keys_publishable(o, c);
	} else if (strcmp(sub, "create") == 0) {
		if (o->norigins || o->brand || o->owner) {
			fprintf(stderr,
				"kookooverify: --origin, --brand and --owner "
				"are for publishable keys (--publishable)\n");
			rc = EXIT_USAGE;
			goto out;
		}
		if (keys_create(c, o->name, !o->no_voice_confirm, o->countries,
				key, secret) != 0)
			goto out;
		if (o->json)
			printf("{\"api_key\": \"%s\", \"api_secret\": "
			       "\"%s\"}\n",
			       key, secret);
		else
			printf("api_key: %s\napi_secret: %s\n", key, secret);
		sodium_memzero(secret, sizeof(secret));
		rc = 0;
	} else if (strcmp(sub, "list") == 0) {
		rc = store_keys_foreach(c, key_print, c) == 0 ? 0 : 1;
	}
out:
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
static int cmd_token_key(struct options *o)
{
	json_t *jwks;
	int rc = 1;

	if (cmd_migrate(o) != 0 || load_secret(&o->cfg) != 0)
		return 1;
	jwks = vtoken_jwks();
	if (jwks && json_dumpf(jwks, stdout, JSON_INDENT(2)) == 0) {
		printf("\n");
		rc = 0;
	}
	json_decref(jwks);
	return rc;
}

/* `blocks list` and `blocks lift PREFIX`: fraud blocks of number prefixes. */
static int cmd_blocks(struct options *o)
{
	const char *sub = o->args[0] ? o->args[0] : "";
	struct store_tx *c;
	int rc;

	if (!((strcmp(sub, "list") == 0 && o->nargs == 1) ||
	      (strcmp(sub, "lift") == 0 && o->nargs == 2))) {
		fprintf(stderr, "kookooverify: blocks list|lift PREFIX\n");
		return EXIT_USAGE;
	}
	c = admin_open(o);
	if (!c)
		return 1;
	if (strcmp(sub, "list") == 0) {
		rc = store_blocks_foreach(c, now_ms(), block_print, NULL);
	} else {
		rc = store_block_lift(c, o->args[1], now_ms());
		if (rc == KV_ENOTFOUND)
			fprintf(stderr, "kookooverify: no block on %s\n",
				o->args[1]);
	}
	store_close(c);
	return rc == 0 ? 0 : 1;
}

static void listening_line(const char *listen, int port)
{
	const char *colon = strrchr(listen, ':');

	printf("listening on %.*s:%d\n", (int)(colon - listen), listen, port);
	fflush(stdout);
}

static int cmd_serve(struct options *o)
{
	char err[600];
	sigset_t stop_signals;
	int port = 0, sig = 0;

	/* A test hook: must come before the first SQLite connection. */
	if (o->cfg.fault_file[0] &&
	    faultvfs_start(o->cfg.fault_file, err, sizeof(err)) != 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	if (cmd_migrate(o) != 0 || load_secret(&o->cfg) != 0)
		return 1;
	if (verify_init(&o->cfg, err, sizeof(err)) != 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	browser_init(&o->cfg);
	templates_locate(&o->cfg);
	if (ivr_xml_load(o->cfg.xml_templates, err, sizeof(err)) != 0) {
		log_error("templates: %s", err);
		return EXIT_USAGE;
	}
	fraud_init(&o->cfg);
	/* Every thread started below inherits the blocked signals. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	store_readers_init(o->cfg.db);
	if (verify_warm_limits() != 0)
		log_warn("limits: could not refill the per-number limit");
	if (store_writer_start(o->cfg.db, o->cfg.write_batch_max, err,
			       sizeof(err)) != 0) {
		log_error("%s", err);
		return 1;
	}
	if (jobs_start(&o->cfg, err, sizeof(err)) != 0) {
		log_error("%s", err);
		store_writer_stop();
		return 1;
	}
	if (http_start(&o->cfg, &port, err, sizeof(err)) != 0) {
		log_error("%s", err);
		jobs_stop();
		store_writer_stop();
		return 1;
	}
	log_info("serving on port %d", port);
	listening_line(o->cfg.listen, port);
	sigwait(&stop_signals, &sig);
	log_info("signal %d: finishing in-flight requests", sig);
	http_stop();
	jobs_stop();
	store_writer_stop();
	store_readers_close();
	faultvfs_stop();
	crypto_wipe();
	ivr_xml_free();
	log_info("stopped");
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	const char *cmd = argc > 1 ? argv[1] : "";
	int rc;

	memset(&o, 0, sizeof(o));
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	store_library_init();
	if (sodium_init() < 0)
		fatal("libsodium failed to initialise");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("libcurl failed to initialise");
	xmlInitParser();
	phone_init();

	if (argc < 2 || options_parse(argc - 2, argv + 2, &o) != 0) {
		if (argc < 2)
			usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "serve") == 0)
		rc = cmd_serve(&o);
	else if (strcmp(cmd, "migrate") == 0)
		rc = cmd_migrate(&o);
	else if (strcmp(cmd, "check-config") == 0)
		rc = cmd_check_config(&o);
	else if (strcmp(cmd, "keys") == 0)
		rc = cmd_keys(&o);
	else if (strcmp(cmd, "blocks") == 0)
		rc = cmd_blocks(&o);
	else if (strcmp(cmd, "token-key") == 0)
		rc = cmd_token_key(&o);
	else {
		fprintf(stderr, "kookooverify: unknown command \"%s\"\n", cmd);
		usage(stderr);
		rc = EXIT_USAGE;
	}
	curl_global_cleanup();
	xmlCleanupParser();
	return rc;
}
