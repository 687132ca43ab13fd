/*
 * The server's listening socket and the thread that accepts on it.
 *
 * libmicrohttpd's thread pool shares one listening socket among its
 * workers, and whichever worker wakes first accepts up to ten connections
 * in a row: a burst of new keep-alive connections (a load balancer's, a
 * client pool's) lands on one or two workers of eight and stays there, and
 * the server then runs on one core, or, with a PostgreSQL read waiting on
 * each worker, at one round trip at a time.  Connections accepted here are
 * handed over with MHD_add_connection(), which gives each to the worker its
 * socket number selects, so they spread evenly.
 */
#ifndef KV_HTTP_ACCEPT_H
#define KV_HTTP_ACCEPT_H

#include <sys/socket.h>

struct MHD_Daemon;

/*
 * Binds and listens on addr; *port is the port bound (addr's, or the one
 * the kernel chose for port 0).  0, or KV_EIO with a message in err.
 */
int http_accept_listen(const struct sockaddr *addr, socklen_t len, int *port,
		       char *err, size_t errlen);

/* Starts accepting for d (started with MHD_USE_NO_LISTEN_SOCKET). */
int http_accept_start(struct MHD_Daemon *d, char *err, size_t errlen);

/* Stops accepting and closes the socket; connections already handed over
 * stay with libmicrohttpd.  Safe to call when nothing was started. */
void http_accept_stop(void);

#endif
