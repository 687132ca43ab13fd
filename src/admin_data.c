/*
 * The admin commands of the data's lifecycle (admin.h): a backup while the
 * server runs, a restore with it stopped, the erasure of one person's
 * records, the move of a SQLite store to PostgreSQL, and the build's
 * config-doc, which writes the config file and
 * the man page's settings from the directive table.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "config.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "phone.h"
#include "store.h"
#include "util.h"

#define EXIT_USAGE ADMIN_EXIT_USAGE

/* What erase removed, per table, in the order it prints them. */
static const struct {
	const char *name;
	size_t field;
} erase_tables[] = {
	{"verifications", offsetof(struct store_erase_counts, verifications)},
	{"checks", offsetof(struct store_erase_counts, checks)},
	{"events", offsetof(struct store_erase_counts, events)},
	{"calls", offsetof(struct store_erase_counts, calls)},
	{"jobs", offsetof(struct store_erase_counts, jobs)},
	{"fraud_reports", offsetof(struct store_erase_counts, fraud_reports)},
	{"verified_numbers",
	 offsetof(struct store_erase_counts, verified_numbers)},
	{"resend_backoff",
	 offsetof(struct store_erase_counts, resend_backoffs)},
	{"callbacks", offsetof(struct store_erase_counts, callbacks)},
};

/* What erase keeps, and why: said every time, so nobody has to guess. */
static const char *const erase_kept[] = {
	"blocks of number prefixes (they name a prefix, not a person)",
	"API keys, origins and used token ids (they name no number)",
	"aggregate counters and metrics (they hold no number)",
	"log lines (a number is never logged in full)",
};

static int64_t erase_count(const struct store_erase_counts *n, size_t i)
{
	return *(const int64_t *)((const char *)n + erase_tables[i].field);
}

static void erase_print_json(const struct phone *ph,
			     const struct store_erase_counts *n, int64_t total)
{
	json_t *obj = json_object();
	json_t *removed = json_object();
	json_t *kept = json_array();
	char redacted[PHONE_REDACT_LEN];

	phone_redact(ph->e164, redacted, sizeof(redacted));
	for (size_t i = 0; i < ARRAY_LEN(erase_tables); i++)
		json_object_set_new(removed, erase_tables[i].name,
				    json_integer(erase_count(n, i)));
	for (size_t i = 0; i < ARRAY_LEN(erase_kept); i++)
		json_array_append_new(kept, json_string(erase_kept[i]));
	json_object_set_new(obj, "number", json_string(redacted));
	json_object_set_new(obj, "found", json_boolean(total > 0));
	json_object_set_new(obj, "removed", removed);
	json_object_set_new(obj, "kept", kept);
	if (json_dumpf(obj, stdout, JSON_INDENT(2)) == 0)
		printf("\n");
	json_decref(obj);
}

/*
 * `erase --number N [--json]`: a person's records, in one transaction on
 * the command's own connection, so it runs beside a serving server (the
 * server's writer waits for it as for any other writer).  The number is
 * parsed as the API parses it, so "+91 98765 43210" and "9876543210" name
 * the same person.
 */
int admin_cmd_erase(struct admin_options *o)
{
	struct store_erase_counts n;
	char tag[CRYPTO_TAG_LEN + 1];
	struct store_tx *c = NULL;
	struct phone ph;
	int64_t total = 0;
	int rc = 1;

	if (!o->number || o->nargs != 0) {
		fprintf(stderr, "kookooverify: erase --number N [--json]\n");
		return EXIT_USAGE;
	}
	if (phone_parse(o->number, NULL, o->cfg.default_country, &ph) != 0) {
		fprintf(stderr, "kookooverify: not a phone number\n");
		return EXIT_USAGE;
	}
	c = admin_open(o);
	if (!c)
		return 1;
	if (store_begin(c) != 0)
		goto out;
	/* The resend backoff names the number by this tag (verify.c). */
	crypto_tag(ph.digits, tag);
	if (store_number_erase(c, ph.digits, tag, &n) != 0 ||
	    store_commit(c) != 0) {
		store_rollback(c);
		fprintf(stderr,
			"kookooverify: erase failed, nothing removed\n");
		goto out;
	}
	for (size_t i = 0; i < ARRAY_LEN(erase_tables); i++)
		total += erase_count(&n, i);
	rc = 0;
	if (o->json) {
		erase_print_json(&ph, &n, total);
		goto out;
	}
	if (total == 0)
		printf("nothing stored for this number\n");
	printf("removed:\n");
	for (size_t i = 0; i < ARRAY_LEN(erase_tables); i++)
		printf("  %-17s %lld\n", erase_tables[i].name,
		       (long long)erase_count(&n, i));
	printf("kept:\n");
	for (size_t i = 0; i < ARRAY_LEN(erase_kept); i++)
		printf("  %s\n", erase_kept[i]);
out:
	store_close(c);
	return rc;
}

/*
 * `config-doc --format=conf|man [--set NAME=VALUE]...`, not in the usage
 * text: writes the config file or the man page's SETTINGS section from the
 * directive table for `make dist`.  --set makes a directive's line
 * uncommented with that value (the installed paths).  It reads neither the
 * environment nor a config file, so the build machine cannot leak into it.
 */
int admin_cmd_config_doc(int argc, char **argv)
{
	char err[512];
	struct config cfg;
	const char *format = NULL;

	config_init(&cfg);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *eq;
		char name[64];

		if (strncmp(a, "--format=", 9) == 0) {
			format = a + 9;
			continue;
		}
		eq = i + 1 < argc ? strchr(argv[i + 1], '=') : NULL;
		if (strcmp(a, "--set") != 0 || !eq ||
		    (size_t)(eq - argv[i + 1]) >= sizeof(name)) {
			fprintf(stderr,
				"kookooverify: config-doc "
				"--format=conf|man [--set NAME=VALUE]\n");
			return EXIT_USAGE;
		}
		a = argv[++i];
		memcpy(name, a, (size_t)(eq - a));
		name[eq - a] = '\0';
		if (config_set(&cfg, name, eq + 1, err, sizeof(err)) != 0) {
			fprintf(stderr, "kookooverify: %s\n", err);
			return EXIT_USAGE;
		}
	}
	if (format && strcmp(format, "conf") == 0) {
		config_write_conf(stdout, &cfg);
	} else if (format && strcmp(format, "man") == 0) {
		config_write_man(stdout);
	} else {
		fprintf(stderr, "kookooverify: config-doc needs "
				"--format=conf or --format=man\n");
		return EXIT_USAGE;
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

/*
 * `backup DEST [--force] [--json]`: an online copy of the database while
 * the server runs.  The secret is not copied: it is backed up once, apart.
 */
int admin_cmd_backup(struct admin_options *o)
{
	struct store_backup_stats st;
	char err[600];
	json_t *obj;
	int rc;

	if (o->nargs != 1) {
		fprintf(stderr, "kookooverify: backup DEST [--force]\n");
		return EXIT_USAGE;
	}
	rc = store_backup(o->cfg.db, o->args[0], o->force, &st, err,
			  sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "kookooverify: backup: %s\n", err);
		return 1;
	}
	if (!o->json) {
		printf("backup: %s: %lld pages, %lld bytes, %.2f s\n",
		       o->args[0], (long long)st.pages, (long long)st.bytes,
		       st.seconds);
		return 0;
	}
	obj = json_pack("{s:s, s:I, s:I, s:f}", "dest", o->args[0], "pages",
			(json_int_t)st.pages, "bytes", (json_int_t)st.bytes,
			"seconds", st.seconds);
	rc = obj && json_dumpf(obj, stdout, 0) == 0 ? 0 : 1;
	printf("\n");
	json_decref(obj);
	return rc;
}

/*
 * `restore SRC`, server stopped: checks SRC, keeps the current file as
 * DB.before-restore and puts SRC in its place.
 */
int admin_cmd_restore(struct admin_options *o)
{
	char err[600];

	if (o->nargs != 1) {
		fprintf(stderr, "kookooverify: restore SRC\n");
		return EXIT_USAGE;
	}
	if (store_restore(o->cfg.db, o->args[0], err, sizeof(err)) != 0) {
		fprintf(stderr, "kookooverify: restore: %s\n", err);
		return 1;
	}
	printf("restored %s from %s\n", o->cfg.db, o->args[0]);
	return 0;
}

/*
 * `copy-store --from FILE --to postgresql://... [--json]`: the rows copied
 * per table, one line each (or one JSON object).  The server secret is not
 * in the store: the nodes on PostgreSQL use the same secret file.
 */
int admin_cmd_copy_store(struct admin_options *o)
{
	struct store_copy_counts n;
	char err[600];
	json_t *obj;

	if (!o->from || !o->to || o->nargs != 0) {
		fprintf(stderr, "kookooverify: copy-store --from FILE "
				"--to postgresql://...\n");
		return EXIT_USAGE;
	}
	if (store_copy(o->from, o->to, &n, err, sizeof(err)) != 0) {
		log_error("copy.failed", LOG_STR("error", err));
		return 1;
	}
	if (!o->json) {
		for (int i = 0; i < n.n; i++)
			printf("%s\t%lld rows\n", n.tables[i].name,
			       (long long)n.tables[i].rows);
		return 0;
	}
	obj = json_object();
	for (int i = 0; i < n.n; i++)
		json_object_set_new(obj, n.tables[i].name,
				    json_integer(n.tables[i].rows));
	if (json_dumpf(obj, stdout, JSON_INDENT(2)) == 0)
		printf("\n");
	json_decref(obj);
	return 0;
}
