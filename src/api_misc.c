/*
 * Endpoints outside the Verify dialects: /healthz (no key: answered without
 * touching the store, so it is the ceiling the benchmarks compare against)
 * and a Prometheus /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static void copy_reply(struct http_req *req, const char *type, const char *text,
		       size_t n)
{
	char *body = malloc(n + 1);

	if (body)
		memcpy(body, text, n + 1);
	http_reply(req, 200, type, body, body ? n : 0);
}

static void misc_healthz(struct http_req *req)
{
	static const char ok[] = "{\"status\":\"ok\"}";

	copy_reply(req, "application/json", ok, sizeof(ok) - 1);
}

static void misc_metrics(struct http_req *req)
{
	char text[256];
	int n = snprintf(text, sizeof(text),
			 "# HELP kookooverify_http_requests_total HTTP "
			 "requests answered.\n"
			 "# TYPE kookooverify_http_requests_total counter\n"
			 "kookooverify_http_requests_total %lu\n",
			 http_requests_served());

	copy_reply(req, "text/plain; version=0.0.4", text, (size_t)n);
}

const struct route misc_routes[] = {
	{"/healthz", misc_healthz, HTTP_GET | HTTP_HEAD, 0},
	{"/metrics", misc_metrics, HTTP_GET, 0},
	{NULL, NULL, 0, 0},
};
