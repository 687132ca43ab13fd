/*
 * Deadlines of connections whose request has not arrived whole: a capped
 * list, oldest first, and a sweeper thread that shuts down any connection
 * past its deadline.  Used by http.c against slow clients.
 */
#ifndef KV_DEADLINE_H
#define KV_DEADLINE_H

#include <stdint.h>

/*
 * One connection's place on the list.  Storage is the caller's (in its
 * per-connection state); zeroed, then fd set, before the first use.  Only
 * deadline.c touches the other fields, under its lock.
 */
struct deadline {
	struct deadline *prev, *next;
	int listed;
	int fd; /* the connection's socket, -1 if unknown */
	int64_t at_ms;
};

/*
 * Starts the sweeper: at most max connections are waiting for their
 * request (a new one closes the oldest), each for timeout_s seconds.
 * Returns 0 or KV_EIO.
 */
int deadline_start(unsigned int max, int timeout_s);

/* Stops the sweeper (after the daemon: nothing is listed any more). */
void deadline_stop(void);

/*
 * Lists d with a deadline timeout_s from now (if it is not listed yet),
 * closing the oldest listed connection first when max are listed.
 */
void deadline_add(struct deadline *d);

/*
 * Takes d off the list.  Called when the request is whole, and before the
 * connection's socket is closed: once it returns, deadline.c will never
 * touch d->fd again.
 */
void deadline_remove(struct deadline *d);

/* Connections closed so far: to make room, and past their deadline. */
void deadline_counts(unsigned long *evicted, unsigned long *timed_out);

#endif
