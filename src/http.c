/*
 * libmicrohttpd glue: daemon options (thread pool, epoll, limits), per-request
 * state allocated when the URI arrives and freed in the completion callback,
 * the bounded body collection, route dispatch and reply queueing.  We never
 * use libmicrohttpd's POST processor: bodies are parsed by params.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "addr.h"
#include "deadline.h"
#include "err.h"
#include "http.h"
#include "http_accept.h"
#include "http_headers.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "store.h"

static struct MHD_Daemon *daemon_handle;
static size_t body_max;
static int access_log; /* setting access_log = on */
/*
 * Writes queued by http_write() whose connection is not resumed yet: the
 * daemon may only stop once there are none (libmicrohttpd must not stop
 * with a connection suspended).  Once stopping is set, http_write() runs
 * writes synchronously, so the count can only fall.
 */
static atomic_int writes_in_flight;
static atomic_int stopping;

/* A write queued by http_write(), and what to do once it is durable. */
struct http_write {
	struct store_write_op op;
	struct http_req *req;
	void (*then)(struct http_req *req, int rc, void *arg);
	void *arg;
	atomic_int done; /* the writer has set op.rc and let go of op */
};

/* Query strings longer than this are refused before any parsing. */
#define QUERY_MAX 8192

static const char not_found[] = "{\"status\":404,\"error_text\":\"Not found\"}";
static const char bad_method[] = "{\"status\":405,\"error_text\":\"Method not "
				 "allowed\"}";
/* Writable only because MHD_create_response_from_buffer takes void *. */
static char no_memory[] = "{\"status\":5,\"error_text\":\"Internal Error\"}";

static const struct route *const route_tables[] = {
	misc_routes,    seed_routes,    vonage_routes, ivr_routes,
	browser_routes, console_routes, v2_routes,
};
/* The `dialect` label of each route table, and its first route's label. */
static const unsigned route_dialects[ARRAY_LEN(route_tables)] = {
	MD_MISC, MD_SEED, MD_VONAGE, MD_IVR, MD_BROWSER, MD_OPERATOR, MD_V2,
};
static unsigned route_label_base[ARRAY_LEN(route_tables)];

/* Names every route for the metrics' `route` label, in table order. */
static void routes_label(void)
{
	const char *names[METRICS_ROUTES];
	unsigned n = 0;

	for (size_t t = 0; t < ARRAY_LEN(route_tables); t++) {
		route_label_base[t] = n;
		for (const struct route *r = route_tables[t]; r->path; r++)
			if (n < METRICS_ROUTES)
				names[n++] = r->path;
	}
	metrics_routes_set(names, n);
}

/* The request's route and dialect labels, once its route is known. */
static void route_metric(struct http_req *req, const struct route *r)
{
	for (size_t t = 0; r && t < ARRAY_LEN(route_tables); t++) {
		const struct route *first = route_tables[t];
		const struct route *end = first;

		while (end->path)
			end++;
		if (r < first || r >= end)
			continue;
		req->metric_route = route_label_base[t] + (unsigned)(r - first);
		if (req->metric_route > METRICS_ROUTES)
			req->metric_route = METRICS_ROUTES;
		req->metric_dialect = route_dialects[t];
		return;
	}
}

void http_slow_closes(unsigned long *evicted, unsigned long *timed_out)
{
	deadline_counts(evicted, timed_out);
}

void http_reply(struct http_req *req, unsigned int status, const char *type,
		char *body, size_t len)
{
	free(req->reply);
	req->status = status;
	req->reply_type = type;
	req->reply = body;
	req->reply_len = len;
}

void http_reply_copy(struct http_req *req, unsigned int status,
		     const char *type, const char *text)
{
	size_t n = strlen(text);
	char *copy = malloc(n + 1);

	if (copy)
		memcpy(copy, text, n + 1);
	http_reply(req, status, type, copy, copy ? n : 0);
}

static void reply_static(struct http_req *req, unsigned int status,
			 const char *text)
{
	http_reply_copy(req, status, "application/json", text);
}

static enum http_method method_of(const char *m)
{
	static const struct {
		const char *name;
		enum http_method method;
	} methods[] = {
		{"GET", HTTP_GET},       {"POST", HTTP_POST},
		{"HEAD", HTTP_HEAD},     {"OPTIONS", HTTP_OPTIONS},
		{"DELETE", HTTP_DELETE}, {"PATCH", HTTP_PATCH},
	};

	for (size_t i = 0; i < ARRAY_LEN(methods); i++)
		if (strcmp(m, methods[i].name) == 0)
			return methods[i].method;
	return HTTP_OTHER;
}

/*
 * Finds the route for the path and method; *path_route is set to a route of
 * the path whatever the method (NULL: none), which tells a 405 from a 404.
 */
static const struct route *route_find(const char *path, enum http_method method,
				      const struct route **path_route)
{
	*path_route = NULL;
	for (size_t t = 0; t < ARRAY_LEN(route_tables); t++) {
		for (const struct route *r = route_tables[t]; r->path; r++) {
			int match = r->prefix ? strncmp(path, r->path,
							strlen(r->path)) == 0
					      : strcmp(path, r->path) == 0;

			if (!match)
				continue;
			*path_route = r;
			if (r->methods & method)
				return r;
		}
	}
	return NULL;
}

static void dispatch(struct http_req *req)
{
	const struct route *known;
	const struct route *r = route_find(req->path, req->method, &known);

	req->route = r ? r->path : known ? known->path : NULL;
	route_metric(req, r ? r : known);
	log_context_clear();
	if (r)
		r->handler(req);
	else if (known && known->preflight && req->method == HTTP_OPTIONS)
		known->preflight(req);
	else if (known)
		reply_static(req, MHD_HTTP_METHOD_NOT_ALLOWED, bad_method);
	else
		reply_static(req, MHD_HTTP_NOT_FOUND, not_found);
}

/*
 * Per connection: the request in progress.  libmicrohttpd only calls the
 * completion callback for requests whose handler it called; a request it
 * gives up on earlier (headers past the connection's memory limit) would
 * leak the state made for its URI, so the connection's close frees it.
 */
struct conn_state {
	struct http_req *current;
	int must_close;           /* the reply says Connection: close */
	struct deadline deadline; /* while its request has not arrived */
};

static struct conn_state *conn_state_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Runs the handler's continuation with the write's result. */
static void write_finish(struct http_req *req)
{
	struct http_write *hw = req->write;

	req->write = NULL;
	hw->then(req, hw->op.rc, hw->arg);
	free(hw);
}

static void request_free(struct http_req *req)
{
	/*
	 * A resumed request whose client left before its reply: the
	 * continuation still runs, to free what it owns.  A write still in
	 * the writer's hands cannot happen (a suspended connection is never
	 * closed, and the daemon stops only once none is in flight); if it
	 * did, leaking it beats freeing memory the writer will touch.
	 */
	if (req->write && atomic_load(&req->write->done))
		write_finish(req);
	else if (req->write)
		log_error("http.write_in_flight",
			  LOG_STR("error", "request freed while its write is "
					   "in flight"));
	/* Query and body may carry api_secret: leave no copy in freed memory. */
	if (req->query)
		sodium_memzero(req->query, req->query_len);
	if (req->body.data)
		sodium_memzero(req->body.data, req->body.len);
	buf_release(&req->body);
	free(req->query);
	free(req->reply);
	free(req);
}

static void connection_notify(void *cls, struct MHD_Connection *conn,
			      void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct conn_state *cs = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
			conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		cs = calloc(1, sizeof(*cs));
		*socket_context = cs;
		if (cs) {
			cs->deadline.fd = ci ? ci->connect_fd : -1;
			deadline_add(&cs->deadline);
		}
		return;
	}
	if (!cs)
		return;
	/* Before libmicrohttpd closes the descriptor (deadline.h). */
	deadline_remove(&cs->deadline);
	if (cs->current)
		request_free(cs->current);
	free(cs);
	*socket_context = NULL;
}

/*
 * Called by libmicrohttpd with the raw URI before anything else: the one
 * place the query string is seen undecoded.  The returned state becomes the
 * request's closure.
 */
static void *request_begin(void *cls, const char *uri,
			   struct MHD_Connection *conn)
{
	struct conn_state *cs = conn_state_of(conn);
	struct http_req *req;
	char *q;

	/* Without a connection state it could leak: refuse the request. */
	if (!cs)
		return NULL;
	if (cs->current)
		request_free(cs->current); /* the previous one was abandoned */
	req = calloc(1, sizeof(*req));
	cs->current = req;
	if (!req)
		return NULL;
	req->conn = conn;
	req->status = MHD_HTTP_OK;
	req->metric_route = METRICS_ROUTES; /* "other" until routed */
	req->metric_dialect = MD_MISC;
	req->metric_start_ns = metrics_now_ns();
	buf_init(&req->body, body_max);
	q = uri ? strchr(uri, '?') : NULL;
	if (q) {
		size_t n = strlen(q + 1);

		if (n > QUERY_MAX) {
			req->body_too_big = 1;
			n = 0;
		}
		req->query = malloc(n + 1);
		if (req->query) {
			memcpy(req->query, q + 1, n);
			req->query[n] = '\0';
			req->query_len = n;
		}
		/*
		 * libmicrohttpd would next split the query into its own
		 * table in the connection's memory pool, where about a
		 * thousand short parameters run it out of memory and the
		 * client gets no reply at all.  We parse our copy instead
		 * (params.c, with its caps and errors in the dialect's
		 * form), so it is handed an empty query: the URI is in the
		 * connection's read buffer, which it lets this callback see
		 * before it is split ("log callback before we modify URI
		 * or args" in 0.9.75's connection.c).
		 */
		q[1] = '\0';
	}
	return req;
}

static void request_end(void *cls, struct MHD_Connection *conn, void **closure,
			enum MHD_RequestTerminationCode toe)
{
	struct http_req *req = *closure;
	struct conn_state *cs = conn_state_of(conn);

	if (!req)
		return;
	if (cs && cs->current == req)
		cs->current = NULL;
	request_free(req);
	*closure = NULL;
	/* A kept-alive connection now waits for its next request. */
	if (cs && !cs->must_close)
		deadline_add(&cs->deadline);
}

/* A page's reply: its policy, no type sniffing, no framing, no referrer. */
static void page_headers(const struct http_req *req, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy",
				req->security_policy);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

/* A browser may read this reply (the handler decided which origin). */
static void cors_headers(const struct http_req *req, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Access-Control-Allow-Origin",
				req->cors_allow);
	if (strcmp(req->cors_allow, "*") != 0)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
	if (!req->preflight) {
		/* Scripts may read Retry-After to count down a throttle. */
		MHD_add_response_header(resp, "Access-Control-Expose-Headers",
					"Retry-After");
		return;
	}
	MHD_add_response_header(resp, "Access-Control-Allow-Methods",
				"GET, POST, OPTIONS");
	MHD_add_response_header(resp, "Access-Control-Allow-Headers",
				"Content-Type");
	MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
}

/*
 * The access log's line (access_log = on): the route, never the raw URL,
 * whose query may carry api_secret or a code.  The request id is the
 * thread's log context's, which the API layer set from the reply.
 */
static void access_line(const struct http_req *req)
{
	struct timespec now;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - req->started.tv_sec) * 1e3 +
	     (double)(now.tv_nsec - req->started.tv_nsec) / 1e6;
	log_info("http.access", LOG_STR("method", req->method_name),
		 LOG_STR("route", req->route), LOG_INT("status", req->status),
		 LOG_DOUBLE("duration_ms", ms),
		 LOG_INT("bytes", req->reply_len),
		 LOG_STR("client", req->client_ip));
}

static enum MHD_Result queue_reply(struct http_req *req)
{
	struct conn_state *cs;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!req->reply)
		reply_static(req, MHD_HTTP_INTERNAL_SERVER_ERROR, no_memory);
	if (!req->reply) {
		/* Not even the error text fits: a static body, never freed. */
		resp = MHD_create_response_from_buffer(sizeof(no_memory) - 1,
						       no_memory,
						       MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(
			req->reply_len, req->reply, MHD_RESPMEM_MUST_FREE);
		if (resp)
			req->reply = NULL; /* the response owns it now */
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				req->reply_type ? req->reply_type
						: "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	if (req->retry_after[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
					req->retry_after);
	if (req->cors_allow)
		cors_headers(req, resp);
	if (req->location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
					req->location);
	if (req->www_authenticate)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					req->www_authenticate);
	if (req->security_policy)
		page_headers(req, resp);
	cs = conn_state_of(req->conn);
	if (cs && cs->must_close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
					"close");
	ret = MHD_queue_response(req->conn, req->status, resp);
	MHD_destroy_response(resp);
	metrics_inc(M_HTTP_REQUESTS, req->metric_route, req->metric_dialect,
		    metrics_status(req->status));
	metrics_observe(M_HTTP_DURATION, req->metric_route, req->metric_dialect,
			metrics_since(req->metric_start_ns));
	if (access_log)
		access_line(req);
	log_context_clear();
	return ret;
}

/* Answers before the body is read, and closes after the reply. */
static enum MHD_Result refuse_framing(struct http_req *req, const char *reply)
{
	struct conn_state *cs = conn_state_of(req->conn);

	if (cs) {
		cs->must_close = 1;
		deadline_remove(&cs->deadline);
	}
	reply_static(req, MHD_HTTP_BAD_REQUEST, reply);
	return queue_reply(req);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **closure)
{
	struct http_req *req = *closure;
	struct conn_state *cs;

	if (!req)
		return MHD_NO; /* out of memory in request_begin */
	if (req->write) {
		/* Resumed: the write is durable, the handler can answer. */
		log_context_clear();
		write_finish(req);
		return queue_reply(req);
	}
	if (!req->path) {
		/* First call: headers are complete, the body may follow. */
		const char *refusal;

		req->path = url;
		req->method = method_of(method);
		req->method_name = method;
		if (access_log)
			clock_gettime(CLOCK_MONOTONIC, &req->started);
		req->content_type = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
		req->authorization = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		req->origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							  "Origin");
		req->idempotency_key = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, "Idempotency-Key");
		refusal = http_headers_check(req, version);
		if (refusal)
			return refuse_framing(req, refusal);
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* Past the cap we keep reading (and dropping) to answer cleanly. */
		if (!req->body_too_big &&
		    buf_append(&req->body, upload_data, *upload_data_size) != 0)
			req->body_too_big = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* The request is whole: its deadline no longer applies. */
	cs = conn_state_of(conn);
	if (cs)
		deadline_remove(&cs->deadline);
	dispatch(req);
	if (req->write)
		return MHD_YES; /* suspended until its write is durable */
	return queue_reply(req);
}

/* On the writer thread: the write is durable, wake its connection. */
static void write_done(struct store_write_op *op)
{
	struct http_write *hw = op->done_arg;
	struct MHD_Connection *conn = hw->req->conn;

	atomic_store(&hw->done, 1);
	/* From here on the HTTP thread may run and free hw and the request. */
	MHD_resume_connection(conn);
	atomic_fetch_sub(&writes_in_flight, 1);
}

void http_write(struct http_req *req, int (*fn)(struct store_tx *c, void *arg),
		int (*lead)(struct store_tx *c, void *arg), void *fn_arg,
		void (*then)(struct http_req *req, int rc, void *arg),
		void *then_arg)
{
	struct http_write *hw = calloc(1, sizeof(*hw));

	/*
	 * Counted before stopping is read, as http_stop() sets stopping
	 * before it reads the count: either it waits for this write, or
	 * this write sees stopping and runs synchronously.  Counted after,
	 * a write could suspend its connection while the daemon stops
	 * (which libmicrohttpd aborts on).
	 */
	if (hw)
		atomic_fetch_add(&writes_in_flight, 1);
	if (!hw || atomic_load(&stopping)) {
		if (hw)
			atomic_fetch_sub(&writes_in_flight, 1);
		free(hw);
		then(req, store_write(fn, fn_arg), then_arg);
		return;
	}
	hw->op.fn = fn;
	hw->op.lead = lead;
	hw->op.arg = fn_arg;
	hw->op.done = write_done;
	hw->op.done_arg = hw;
	hw->req = req;
	hw->then = then;
	hw->arg = then_arg;
	req->write = hw;
	/*
	 * The thread goes on serving other connections: the read
	 * transaction of this request must not outlive it (another
	 * request would read an old snapshot, and a reader held while
	 * waiting on the writer stalls checkpoints that the writer waits
	 * for in turn).
	 */
	store_read_end();
	/*
	 * Suspended before the write is queued: a resume that came first
	 * would be cancelled by the suspend and the request left hanging.
	 */
	MHD_suspend_connection(req->conn);
	if (store_write_submit(&hw->op) != 0) {
		/* The writer is not running: answer at once with its error. */
		hw->op.rc = KV_EDB;
		write_done(&hw->op);
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warn("http.server_message", LOG_STR("message", msg));
}

static int listen_addr(const char *listen, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	size_t hl;
	int port;

	if (!colon || parse_int(colon + 1, 0, 65535, &port) != 0)
		return KV_EINVAL;
	hl = (size_t)(colon - listen);
	if (hl >= sizeof(host))
		return KV_EINVAL;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[hl - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1
			       ? 0
			       : KV_EINVAL;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*len = sizeof(*s4);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : KV_EINVAL;
}

/*
 * Each connection is a descriptor: with fewer allowed than max_connections
 * (and a margin for the database, logs and KooKoo requests), accepts fail
 * before the connection limit is reached.  Raises the soft limit as far as
 * the hard one allows, and says so when that is not enough.
 */
static void fd_limit_check(rlim_t connections)
{
	struct rlimit rl;
	rlim_t want = connections + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want
			      ? want
			      : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		log_warn("http.fd_limit_low", LOG_INT("limit", rl.rlim_cur),
			 LOG_INT("needed", connections + 256),
			 LOG_STR("advice",
				 "raise it (ulimit -n, LimitNOFILE=)"));
}

int http_start(const struct config *cfg, int *bound_port, char *err,
	       size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned int threads = (unsigned int)cfg->threads;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
			     MHD_USE_NO_LISTEN_SOCKET;
	int port = 0;

	if (listen_addr(cfg->listen, &ss, &sslen) != 0) {
		snprintf(err, errlen, "listen: \"%s\" is not ADDR:PORT",
			 cfg->listen);
		return KV_EINVAL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (threads == 0) {
		/*
		 * Writes suspend their connection instead of blocking,
		 * but reads run on the HTTP thread and may wait for the
		 * disk (a search of a cold row): a few threads per core
		 * keep the cores busy meanwhile.
		 */
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = 4 * (n > 0 ? (unsigned int)n : 1);
	}
	body_max = (size_t)cfg->body_max;
	access_log = strcmp(cfg->access_log, "on") == 0;
	if (http_headers_init(cfg) != 0) {
		snprintf(err, errlen,
			 "trusted_proxies or forwarded_header is malformed");
		return KV_EINVAL;
	}
	fd_limit_check((rlim_t)cfg->max_connections);
	routes_label();
	if (deadline_start((unsigned int)cfg->max_pending_requests,
			   cfg->request_timeout) != 0) {
		snprintf(err, errlen, "cannot start the request sweeper");
		return KV_EIO;
	}
	/* Our own socket and accepting thread spread the connections over
	 * the workers (http_accept.h). */
	if (http_accept_listen((struct sockaddr *)&ss, sslen, &port, err,
			       errlen) != 0) {
		char why[128];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen,
			 why);
		deadline_stop();
		return KV_EIO;
	}
	daemon_handle = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned int)cfg->per_ip_connections,
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)cfg->connection_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
		MHD_OPTION_URI_LOG_CALLBACK, request_begin, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, request_end, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, connection_notify, NULL,
		MHD_OPTION_END);
	if (!daemon_handle ||
	    http_accept_start(daemon_handle, err, errlen) != 0) {
		if (!daemon_handle)
			snprintf(err, errlen, "cannot start the HTTP daemon");
		http_accept_stop();
		if (daemon_handle)
			MHD_stop_daemon(daemon_handle);
		daemon_handle = NULL;
		deadline_stop();
		return KV_EIO;
	}
	*bound_port = port;
	return 0;
}

void http_stop(void)
{
	int waited_ms = 0;

	if (!daemon_handle)
		return;
	/*
	 * Writes of late requests run synchronously, and every suspended
	 * connection is resumed before the daemon stops (the writer
	 * outlives the HTTP threads, so every queued write ends).
	 */
	atomic_store(&stopping, 1);
	/* No new connection from here on. */
	http_accept_stop();
	while (atomic_load(&writes_in_flight) > 0) {
		struct timespec ms = {.tv_nsec = 1000000};

		nanosleep(&ms, NULL);
		if (++waited_ms % 5000 == 0)
			log_warn("http.stop_waiting",
				 LOG_INT("writes_in_flight",
					 atomic_load(&writes_in_flight)));
	}
	MHD_stop_daemon(daemon_handle);
	daemon_handle = NULL;
	deadline_stop();
}
