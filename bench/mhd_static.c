/*
 * bench/mhd_static.c: the machine's libmicrohttpd ceiling.  A bare daemon
 * with the server's threading (a pool of four threads per core on epoll)
 * answering every request with the same fixed body as /healthz, and
 * nothing else: no routing, no auth, no counters.  run.sh builds and runs
 * it on 127.0.0.1; it prints "listening on 127.0.0.1:PORT" and serves until
 * SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

static struct MHD_Response *reply;

static enum MHD_Result static_answer(void *cls, struct MHD_Connection *conn,
				     const char *url, const char *method,
				     const char *version, const char *body,
				     size_t *body_size, void **state)
{
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)body;
	/* Whatever came in a body is dropped; a GET has none. */
	*body_size = 0;
	if (!*state) {
		*state =
			conn; /* first call: headers only, answer on the next */
		return MHD_YES;
	}
	return MHD_queue_response(conn, MHD_HTTP_OK, reply);
}

int main(void)
{
	static const char ok[] = "{\"status\":\"ok\"}";
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	sigset_t stop;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int threads = 4 * (cores > 0 ? (unsigned int)cores : 1);
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	reply = MHD_create_response_from_buffer(sizeof(ok) - 1, (void *)ok,
						MHD_RESPMEM_PERSISTENT);
	if (!reply || MHD_add_response_header(reply, "Content-Type",
					      "application/json") != MHD_YES)
		return 1;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0,
			     NULL, NULL, static_answer, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_THREAD_POOL_SIZE, threads,
			     MHD_OPTION_CONNECTION_LIMIT, 4096U,
			     MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024U,
			     MHD_OPTION_END);
	if (!d)
		return 1;
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("listening on 127.0.0.1:%u\n", info ? info->port : 0);
	fflush(stdout);
	sigwait(&stop, &sig);
	MHD_stop_daemon(d);
	MHD_destroy_response(reply);
	return 0;
}
