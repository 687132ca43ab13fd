/*
 * The command line: options (config file, environment, then flags, through
 * a table of flags) and the admin commands (migrate, check-config, keys,
 * blocks, token-key), dispatched through a table of commands.  `serve`, the
 * daemon, is main.c's: admin_main() calls it back.
 */
#ifndef KV_ADMIN_H
#define KV_ADMIN_H

#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "keys.h"

/* Exit statuses: 0 ok, 1 runtime failure, 2 usage or configuration error. */
#define ADMIN_EXIT_USAGE 2

struct store_tx;

struct admin_options {
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
	int help;           /* --help was given: nothing after it was read */
	int force;          /* backup --force */
	const char *number; /* erase --number N */
	const char *to;     /* migrate --to VERSION, copy-store --to DB */
	const char *from;   /* copy-store --from FILE */
};

/*
 * Fills `o` from the arguments after the command: the settings of the
 * config file (--config), then the environment, then the flags, in that
 * order, and validates the settings.  Stops at --help (o->help set, the
 * settings not validated).  Returns 0, or KV_ECONFIG with the reason
 * printed on stderr.  `o` must be zeroed first.
 */
int admin_options_parse(int argc, char **argv, struct admin_options *o);

/* Every command, then every option and setting, with their defaults. */
void admin_usage(FILE *out);

/*
 * Runs the command line: argv[1] is the command, found in the command
 * table ("serve" calls `serve`).  Returns the exit status.
 */
int admin_main(int argc, char **argv, int (*serve)(struct admin_options *o));

/*
 * What `serve` shares with the admin commands: the migrations (0, or 1
 * logged), the server secret, checked on c, a connection to the store
 * (0, or KV_EIO when it cannot be loaded and KV_EDUP when the store was
 * first used with another secret, logged; admin_secret.c), and the IVR
 * and SMS templates (each directory found beside the program when the
 * configured relative one does not exist from here), loaded and
 * validated: 0, or a KV_E* code with the reason, naming file and line,
 * in err.
 */
int admin_migrate(struct admin_options *o);
int admin_load_secret(const struct config *cfg, struct store_tx *c);
int admin_load_templates(struct config *cfg, char *err, size_t errlen);

/*
 * Opens the database for an admin command, migrating it first, and loads
 * the server secret and checks it against the store, all on the one
 * connection it returns; NULL, logged.
 */
struct store_tx *admin_open(struct admin_options *o);

/*
 * The commands of the data's lifecycle (admin_data.c), for admin.c's table:
 * each returns the process's exit status.  config-doc reads its own
 * arguments (after the command) and no settings.
 */
int admin_cmd_erase(struct admin_options *o);
int admin_cmd_backup(struct admin_options *o);
int admin_cmd_restore(struct admin_options *o);
int admin_cmd_config_doc(int argc, char **argv);
int admin_cmd_copy_store(struct admin_options *o);
/*
 * Status callbacks (admin_callback.c): `keys callback KEY URL|off`, and a
 * key's callback on its `keys list` line (the secret masked).
 */
int admin_cmd_keys_callback(struct admin_options *o);

/*
 * Prints obj as one line of JSON and frees it, wiping the text and
 * jansson's copy of its `member` (a secret); 0, or 1 when out of memory.
 */
int admin_print_secret_json(json_t *obj, const char *member);
void admin_key_callback_print(struct store_tx *c, int64_t key_id);
/* The operator's bearer token (admin_secret.c). */
int admin_cmd_operator_token(struct admin_options *o);
/* admin_apps.c: `applications add KEY PEMFILE`, `list`, `remove ID`. */
int admin_cmd_apps_add(struct admin_options *o);
int admin_cmd_apps_list(struct admin_options *o);
int admin_cmd_apps_remove(struct admin_options *o);

#endif
