/*
 * kookooverify: the process.  Libraries are initialised here, once, before
 * any thread starts; `serve` runs the daemon until SIGTERM or SIGINT.  The
 * command line and the admin commands are admin.c's.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <sodium.h>

#include "admin.h"
#include "browser.h"
#include "callback.h"
#include "console.h"
#include "operator.h"
#include "verify_console.h"
#include "config.h"
#include "crypto.h"
#include "err.h"
#include "store.h"
#include "faultvfs.h"
#include "fraud.h"
#include "http.h"
#include "ivr_xml.h"
#include "jobs.h"
#include "log.h"
#include "phone.h"
#include "verify.h"

static void listening_line(const char *listen, int port)
{
	const char *colon = strrchr(listen, ':');

	printf("listening on %.*s:%d\n", (int)(colon - listen), listen, port);
	fflush(stdout);
}

static int cmd_serve(struct admin_options *o)
{
	char err[600];
	sigset_t stop_signals;
	struct store_tx *c;
	int port = 0, sig = 0;

	/* A test hook: must come before the first SQLite connection. */
	if (o->cfg.fault_file[0] &&
	    faultvfs_start(o->cfg.fault_file, err, sizeof(err)) != 0) {
		log_error("server.start_failed", LOG_STR("error", err));
		return ADMIN_EXIT_USAGE;
	}
	/* The migrations and the secret's check, on one session. */
	c = admin_open(o);
	if (!c)
		return 1;
	store_close(c);
	if (verify_init(&o->cfg, err, sizeof(err)) != 0) {
		log_error("server.start_failed", LOG_STR("error", err));
		return ADMIN_EXIT_USAGE;
	}
	browser_init(&o->cfg);
	operator_init(&o->cfg);
	verify_console_init(&o->cfg);
	if (admin_load_templates(&o->cfg, err, sizeof(err)) != 0) {
		log_error("templates.invalid", LOG_STR("error", err));
		return ADMIN_EXIT_USAGE;
	}
	console_init(&o->cfg);
	fraud_init(&o->cfg);
	/* Every thread started below inherits the blocked signals. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	store_readers_init(o->cfg.db);
	if (verify_warm_limits(o->cfg.db) != 0)
		log_warn("limits.warm_failed");
	if (store_writer_start(o->cfg.db, o->cfg.write_batch_max, err,
			       sizeof(err)) != 0) {
		log_error("server.start_failed", LOG_STR("error", err));
		return 1;
	}
	if (jobs_start(&o->cfg, err, sizeof(err)) != 0) {
		log_error("server.start_failed", LOG_STR("error", err));
		store_writer_stop();
		return 1;
	}
	if (callback_start(&o->cfg, err, sizeof(err)) != 0) {
		log_error("server.start_failed", LOG_STR("error", err));
		jobs_stop();
		store_writer_stop();
		return 1;
	}
	if (verify_purge_start(&o->cfg, err, sizeof(err)) != 0) {
		log_error("server.start_failed", LOG_STR("error", err));
		callback_stop();
		jobs_stop();
		store_writer_stop();
		return 1;
	}
	if (http_start(&o->cfg, &port, err, sizeof(err)) != 0) {
		log_error("server.start_failed", LOG_STR("error", err));
		verify_purge_stop();
		callback_stop();
		jobs_stop();
		store_writer_stop();
		return 1;
	}
	log_info("server.started", LOG_INT("port", port));
	listening_line(o->cfg.listen, port);
	sigwait(&stop_signals, &sig);
	log_info("server.stopping", LOG_INT("signal", sig));
	http_stop();
	verify_purge_stop();
	callback_stop();
	jobs_stop();
	store_writer_stop();
	store_readers_close();
	faultvfs_stop();
	crypto_wipe();
	ivr_xml_free();
	log_info("server.stopped");
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	/* The store's library set-up must precede any other use of it. */
	store_library_init();
	if (sodium_init() < 0)
		fatal("server.init_failed", LOG_STR("library", "libsodium"));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("server.init_failed", LOG_STR("library", "libcurl"));
	xmlInitParser();
	phone_init();

	rc = admin_main(argc, argv, cmd_serve);
	curl_global_cleanup();
	xmlCleanupParser();
	return rc;
}
