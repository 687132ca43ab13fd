/*
 * Endpoints outside the Verify dialects: /healthz (no key: answered without
 * touching the store, so it is the ceiling the benchmarks compare against),
 * /readyz (no key: whether the store answers, for a load balancer) and a
 * Prometheus /metrics (the operator's bearer token only, never an API key).
 */
#include <stdio.h>

#include "http.h"
#include "metrics.h"
#include "operator.h"
#include "verify.h"

static void misc_healthz(struct http_req *req)
{
	static const char ok[] = "{\"status\":\"ok\"}";

	http_reply_copy(req, 200, "application/json", ok);
}

/*
 * Ready when a read on this thread's store connection answers: a node
 * that lost its database is taken out of the balancer's rotation instead
 * of answering status 5, while /healthz keeps saying the process lives.
 */
static void misc_readyz(struct http_req *req)
{
	static const char ready[] = "{\"status\":\"ready\",\"store\":\"ok\"}";
	static const char down[] =
		"{\"status\":\"unavailable\",\"store\":\"unreachable\"}";

	if (verify_store_ready() == 0)
		http_reply_copy(req, 200, "application/json", ready);
	else
		http_reply_copy(req, 503, "application/json", down);
}

/* The exposition's cap: every family with 1024 keys fits well within. */
#define METRICS_TEXT_MAX (16u << 20)

/*
 * The figures the exposition reads from elsewhere at scrape time: the
 * store's (jobs, blocks, sizes) and counters other modules keep.
 */
static void misc_metrics_collect(void)
{
	unsigned long evicted, timed_out, missed[3];

	/* A store that does not answer leaves the last figures it gave. */
	(void)verify_metrics_scrape();
	http_slow_closes(&evicted, &timed_out);
	metrics_set(M_HTTP_SLOW_CLOSES, MSLOW_EVICTED, 0, 0, evicted);
	metrics_set(M_HTTP_SLOW_CLOSES, MSLOW_TIMEOUT, 0, 0, timed_out);
	verify_missed_counts(missed);
	metrics_set(M_MISSED_CALLS, MMISS_VERIFIED, 0, 0,
		    missed[INBOUND_VERIFIED]);
	metrics_set(M_MISSED_CALLS, MMISS_IGNORED, 0, 0,
		    missed[INBOUND_IGNORED]);
	metrics_set(M_MISSED_CALLS, MMISS_UNMATCHED, 0, 0,
		    missed[INBOUND_UNMATCHED]);
}

/*
 * Prometheus' /metrics: the operator's bearer token only.  The figures
 * cover every tenant, so no API key (secret or publishable, in any form)
 * opens them; the refusal names the scheme it wants.
 */
static void misc_metrics(struct http_req *req)
{
	static const char denied[] = "{\"status\":401,\"error_text\":"
				     "\"Operator token required\"}";
	struct buf text;

	if (!operator_request_ok(req)) {
		req->www_authenticate = "Bearer realm=\"kookooverify\"";
		http_reply_copy(req, 401, "application/json", denied);
		return;
	}
	misc_metrics_collect();
	buf_init(&text, METRICS_TEXT_MAX);
	if (metrics_render(&text) != 0 || !text.data) {
		buf_release(&text);
		http_reply_copy(req, 500, "application/json",
				"{\"status\":5,\"error_text\":"
				"\"Internal Error\"}");
		return;
	}
	/* The reply takes the buffer's memory; nothing is left to release. */
	http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
		   text.data, text.len);
}

const struct route misc_routes[] = {
	{"/healthz", misc_healthz, HTTP_GET | HTTP_HEAD, 0, NULL},
	{"/readyz", misc_readyz, HTTP_GET | HTTP_HEAD, 0, NULL},
	{"/metrics", misc_metrics, HTTP_GET, 0, NULL},
	{NULL, NULL, 0, 0, NULL},
};
