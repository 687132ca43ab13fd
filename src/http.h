/*
 * The HTTP front: libmicrohttpd with a thread pool and epoll, the route table,
 * per-request state (raw query, capped body) and how a handler's reply is
 * sent.  Handlers live in api_*.c and never touch libmicrohttpd directly.
 */
#ifndef KV_HTTP_H
#define KV_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "util.h"

enum http_method {
	HTTP_GET = 1,
	HTTP_POST = 2,
	HTTP_HEAD = 4,
	HTTP_OPTIONS = 8,
	HTTP_OTHER = 16,
	HTTP_DELETE = 32,
	HTTP_PATCH = 64,
};

/* One request, from the first byte to the response. Owned by http.c. */
struct http_req {
	enum http_method method;
	const char *path; /* without the query string */
	char *query;      /* raw query string ("" if none) */
	size_t query_len;
	struct buf body;             /* capped at body_max */
	int body_too_big;            /* the body went past body_max */
	const char *content_type;    /* request Content-Type or NULL */
	const char *authorization;   /* Authorization header or NULL */
	const char *origin;          /* Origin header (browsers) or NULL */
	const char *idempotency_key; /* Idempotency-Key header or NULL */
	char client_ip[48];
	struct MHD_Connection *conn;

	/* The reply, filled by the handler. */
	unsigned int status; /* HTTP status, 200 by default */
	const char *reply_type;
	char *reply; /* malloc'ed; http.c frees it */
	size_t reply_len;
	char retry_after[16]; /* Retry-After header value, "" for none */
	/* CORS: Access-Control-Allow-Origin value (the origin or "*"). */
	const char *cors_allow;
	int preflight;        /* the reply answers a CORS preflight */
	const char *location; /* Location header of a redirect, or NULL */
	/* WWW-Authenticate of a refused credential (401), or NULL. */
	const char *www_authenticate;
	/*
	 * Content-Security-Policy of a page and its files, or NULL; with it
	 * go nosniff, no framing and no referrer.
	 */
	const char *security_policy;
	/* For /metrics: the route's label, its dialect, when it began. */
	unsigned metric_route, metric_dialect;
	uint64_t metric_start_ns;

	struct http_write *write; /* private to http.c: see http_write() */
	/* Private to http.c: what the access log says of the request. */
	const char *method_name;
	const char *route; /* the route table's path, NULL for none */
	struct timespec started;
};

struct route {
	const char *path;
	void (*handler)(struct http_req *req);
	unsigned int methods; /* mask of enum http_method */
	int prefix;           /* path is a prefix (e.g. "/ivr/") */
	/*
	 * Web pages may call it: OPTIONS is routed here as a CORS preflight,
	 * which the API layer answers.  NULL for the other routes.
	 */
	void (*preflight)(struct http_req *req);
};

/* Route tables of each API module, ended by an entry with path NULL. */
extern const struct route seed_routes[];
extern const struct route vonage_routes[];
extern const struct route misc_routes[];
extern const struct route ivr_routes[];
extern const struct route browser_routes[];
extern const struct route console_routes[];
extern const struct route v2_routes[];

/*
 * Starts the daemon on cfg->listen with the thread pool and limits of cfg.
 * On success *bound_port holds the port actually bound.  Returns 0 or
 * KV_EIO with a message in err.
 */
int http_start(const struct config *cfg, int *bound_port, char *err,
	       size_t errlen);

/* Stops accepting, lets in-flight requests finish, joins the threads. */
void http_stop(void);

/* Sets the reply: takes ownership of `body` (malloc'ed, may be NULL). */
void http_reply(struct http_req *req, unsigned int status, const char *type,
		char *body, size_t len);

/* Sets the reply to a copy of the NUL-terminated `text`. */
void http_reply_copy(struct http_req *req, unsigned int status,
		     const char *type, const char *text);
/*
 * Finishes a handler after a store write without holding an HTTP thread
 * while the writer commits.  The handler calls this instead of store_write()
 * and returns without a reply: the connection is suspended (the thread
 * serves other connections), fn(conn, fn_arg) runs on the writer thread
 * as with store_write(), and once its transaction is durable then(req, rc,
 * then_arg) runs on an HTTP thread with what store_write() would have
 * returned, and sets the reply.  then() runs exactly once, also when the
 * client is gone by then (its reply is dropped), so it is where the
 * arguments are freed; both must stay valid until then.  At most one call
 * per request, as the handler's last act: then() may already have run
 * when it returns (while the server stops, the write runs synchronously).
 * lead (may be NULL) is fn's lead (store_write_op.lead).
 */
struct store_tx;
void http_write(struct http_req *req, int (*fn)(struct store_tx *c, void *arg),
		int (*lead)(struct store_tx *c, void *arg), void *fn_arg,
		void (*then)(struct http_req *req, int rc, void *arg),
		void *then_arg);

/*
 * Connections closed before their request arrived whole since start (for
 * /metrics): to make room under max_pending_requests, and past
 * request_timeout.
 */
void http_slow_closes(unsigned long *evicted, unsigned long *timed_out);

#endif
