/*
 * Endpoints outside the Verify dialects: /healthz (no key: answered without
 * touching the store, so it is the ceiling the benchmarks compare against)
 * and a Prometheus /metrics (any valid API key, e.g. HTTP Basic).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
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
	static const char denied[] =
		"{\"status\":4,\"error_text\":\"Bad Credentials\"}";
	struct api_call call;
	enum api_fail f = api_prepare(req, &call, NULL);
	char text[256];

	api_call_release(&call);
	/* DESIGN.md: no endpoint but health answers without a valid key. */
	if (f != API_READY) {
		char *body = malloc(sizeof(denied));

		if (body)
			memcpy(body, denied, sizeof(denied));
		http_reply(req, 401, "application/json", body,
			   body ? sizeof(denied) - 1 : 0);
		return;
	}
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
