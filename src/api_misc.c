/*
 * Endpoints outside the Verify dialects: /healthz (no key: answered without
 * touching the store, so it is the ceiling the benchmarks compare against),
 * /readyz (no key: whether the store answers, for a load balancer) and a
 * Prometheus /metrics (any valid API key, e.g. HTTP Basic).
 */
#include <stdio.h>

#include "api.h"
#include "http.h"
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

static enum api_run misc_metrics_run(struct api_ctx *ctx, enum api_fail f)
{
	static const char denied[] =
		"{\"status\":4,\"error_text\":\"Bad Credentials\"}";
	struct http_req *req = ctx->req;
	char text[1536];
	unsigned long evicted, timed_out, missed[3];

	/* Counters tell about traffic: only /healthz answers without a key. */
	if (f != API_READY) {
		http_reply_copy(req, 401, "application/json", denied);
		return API_RUN_DONE;
	}
	http_slow_closes(&evicted, &timed_out);
	verify_missed_counts(missed);
	snprintf(
		text, sizeof(text),
		"# HELP kookooverify_http_requests_total HTTP "
		"requests answered.\n"
		"# TYPE kookooverify_http_requests_total counter\n"
		"kookooverify_http_requests_total %lu\n"
		"# HELP kookooverify_http_slow_closes_total Connections "
		"closed before their request arrived whole.\n"
		"# TYPE kookooverify_http_slow_closes_total counter\n"
		"kookooverify_http_slow_closes_total{reason=\"evicted\"} %lu\n"
		"kookooverify_http_slow_closes_total{reason=\"timeout\"} %lu\n"
		"# HELP kookooverify_missed_calls_total Calls to a missed-call "
		"DID, by what they did.\n"
		"# TYPE kookooverify_missed_calls_total counter\n"
		"kookooverify_missed_calls_total{result=\"verified\"} %lu\n"
		"kookooverify_missed_calls_total{result=\"ignored\"} %lu\n"
		"kookooverify_missed_calls_total{result=\"unmatched\"} %lu\n",
		http_requests_served(), evicted, timed_out,
		missed[INBOUND_VERIFIED], missed[INBOUND_IGNORED],
		missed[INBOUND_UNMATCHED]);
	http_reply_copy(req, 200, "text/plain; version=0.0.4", text);
	return API_RUN_DONE;
}

static void misc_metrics(struct http_req *req)
{
	static const struct api_handler metrics = {sizeof(struct api_ctx), NULL,
						   0, misc_metrics_run, NULL};

	api_serve(req, &metrics);
}

const struct route misc_routes[] = {
	{"/healthz", misc_healthz, HTTP_GET | HTTP_HEAD, 0, NULL},
	{"/readyz", misc_readyz, HTTP_GET | HTTP_HEAD, 0, NULL},
	{"/metrics", misc_metrics, HTTP_GET, 0, NULL},
	{NULL, NULL, 0, 0, NULL},
};
