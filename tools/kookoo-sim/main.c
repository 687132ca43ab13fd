/*
 * kookoo-sim: a stand-in for KooKoo (Ozonetel) for `make run` and the
 * integration tests (tools/README.md).  This file holds the command line,
 * the signal handling and the start and stop of the HTTP daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <microhttpd.h>

#include "err.h"
#include "log.h"
#include "sim.h"
#include "util.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: kookoo-sim [--listen ADDR:PORT] [--script FILE] "
		     "[--quiet] [--allow-remote] [--inbound-url URL]\n"
		     "  --listen ADDR:PORT  IPv4 address and port (default "
		     "127.0.0.1:0, any free port)\n"
		     "  --script FILE       per-number script (JSON), see "
		     "tools/README.md\n"
		     "  --quiet             do not print SMS texts and call "
		     "transcripts\n"
		     "  --allow-remote      call IVR and callback URLs on "
		     "non-loopback hosts\n"
		     "  --inbound-url URL   the app URL of the DIDs: POST "
		     "/sim/inbound requests it\n");
}

static int listen_parse(const char *spec, struct sockaddr_in *sin, char *host,
			size_t hostlen)
{
	const char *colon = strrchr(spec, ':');
	size_t hl = colon ? (size_t)(colon - spec) : 0;
	int port;

	if (!colon || hl == 0 || hl >= hostlen ||
	    parse_int(colon + 1, 0, 65535, &port) != 0)
		return KV_EINVAL;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : KV_EINVAL;
}

/* Stops the daemon, then waits (bounded) for the call threads to end. */
static void sim_stop(struct MHD_Daemon *d)
{
	struct timespec ts;

	pthread_mutex_lock(&sim.lock);
	sim.stopping = 1;
	pthread_cond_broadcast(&sim.cond);
	pthread_mutex_unlock(&sim.lock);
	MHD_stop_daemon(d);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&sim.lock);
	while (sim.active_calls > 0 &&
	       pthread_cond_timedwait(&sim.cond, &sim.lock, &ts) != ETIMEDOUT)
		;
	if (sim.active_calls > 0)
		log_warn("sim.calls_running",
			 LOG_INT("calls", sim.active_calls));
	pthread_mutex_unlock(&sim.lock);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"script", required_argument, NULL, 's'},
		{"quiet", no_argument, NULL, 'q'},
		{"allow-remote", no_argument, NULL, 'r'},
		{"inbound-url", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *listen_spec = "127.0.0.1:0";
	const char *script = NULL;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	struct sockaddr_in sin;
	char host[64];
	sigset_t sigs;
	int opt, sig = 0;

	while ((opt = getopt_long(argc, argv, "l:s:qri:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_spec = optarg;
			break;
		case 's':
			script = optarg;
			break;
		case 'q':
			sim.quiet = 1;
			break;
		case 'r':
			sim.allow_remote = 1;
			break;
		case 'i':
			snprintf(sim.inbound_url, sizeof(sim.inbound_url), "%s",
				 optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (listen_parse(listen_spec, &sin, host, sizeof(host)) != 0)
		fatal("sim.bad_listen", LOG_STR("listen", listen_spec),
		      LOG_STR("error", "not IPv4ADDR:PORT"));

	/* Every thread inherits this mask; only main waits for the signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("sim.init_failed", LOG_STR("library", "libcurl"));
	xmlInitParser();
	sim_init();
	if (script)
		script_load_file(script);

	d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION |
			MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
		0, NULL, NULL, sim_handle, NULL, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)SIM_CONNECTIONS_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
		MHD_OPTION_NOTIFY_COMPLETED, sim_completed, NULL,
		MHD_OPTION_END);
	if (!d)
		fatal("sim.listen_failed", LOG_STR("listen", listen_spec));
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("listening on %s:%u\n", host, info ? info->port : 0);
	fflush(stdout);

	while (sig != SIGINT && sig != SIGTERM)
		if (sigwait(&sigs, &sig) != 0)
			break;
	sim_stop(d);
	json_decref(sim.scripts);
	json_decref(sim.inboxes);
	json_decref(sim.counters);
	json_decref(sim.stats);
	xmlCleanupParser();
	curl_global_cleanup();
	return 0;
}
