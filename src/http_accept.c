/*
 * The listening socket and its accepting thread (http_accept.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "err.h"
#include "http_accept.h"
#include "log.h"
#include "util.h"

#define ACCEPT_BACKLOG 1024

static int listen_fd = -1;
static struct MHD_Daemon *accept_daemon;
static pthread_t accept_thread;
static int accept_running;
static atomic_int accept_stopping;

static int bound_port(const struct sockaddr_storage *ss)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	if (ss->ss_family == AF_INET6) {
		memcpy(&s6, ss, sizeof(s6));
		return ntohs(s6.sin6_port);
	}
	memcpy(&s4, ss, sizeof(s4));
	return ntohs(s4.sin_port);
}

int http_accept_listen(const struct sockaddr *addr, socklen_t len, int *port,
		       char *err, size_t errlen)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	int on = 1;
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0)
		goto fail;
	/* An IPv6 address listens for IPv6 only, as libmicrohttpd's did. */
	if (addr->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
		goto fail;
	memset(&bound, 0, sizeof(bound));
	if (bind(fd, addr, len) != 0 || listen(fd, ACCEPT_BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&bound, &blen) != 0)
		goto fail;
	*port = bound_port(&bound);
	listen_fd = fd;
	return 0;
fail:
	snprintf(err, errlen, "%s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return KV_EIO;
}

/*
 * Out of descriptors or memory: the backlog keeps the connection meanwhile.
 * Retried every 10 ms, said once a second at most.
 */
static void accept_backoff(int e)
{
	static int64_t said_ms;
	struct timespec pause = {.tv_nsec = 10 * 1000000L};
	int64_t now = mono_ms();

	if (now - said_ms >= 1000) {
		said_ms = now;
		log_warn("http.accept_failed", LOG_STR("error", strerror(e)));
	}
	nanosleep(&pause, NULL);
}

static void *accept_main(void *unused)
{
	pthread_setname_np(pthread_self(), "kv-accept");
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(listen_fd, (struct sockaddr *)&peer, &plen,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (atomic_load(&accept_stopping)) {
			if (fd >= 0)
				close(fd);
			break;
		}
		if (fd >= 0) {
			/* It closes the socket itself when it refuses one
			 * (a limit reached). */
			(void)MHD_add_connection(accept_daemon, fd,
						 (struct sockaddr *)&peer,
						 plen);
		} else if (errno == EMFILE || errno == ENFILE ||
			   errno == ENOBUFS || errno == ENOMEM) {
			accept_backoff(errno);
		}
		/* Anything else (a connection reset while it waited, a
		 * signal) concerns that one connection only. */
	}
	return NULL;
}

int http_accept_start(struct MHD_Daemon *d, char *err, size_t errlen)
{
	accept_daemon = d;
	atomic_store(&accept_stopping, 0);
	if (pthread_create(&accept_thread, NULL, accept_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the accepting thread");
		return KV_EIO;
	}
	accept_running = 1;
	return 0;
}

void http_accept_stop(void)
{
	atomic_store(&accept_stopping, 1);
	if (accept_running) {
		/* Wakes accept4(), which then fails with EINVAL. */
		shutdown(listen_fd, SHUT_RDWR);
		pthread_join(accept_thread, NULL);
		accept_running = 0;
	}
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	accept_daemon = NULL;
}
