/*
 * The operator credential: what /metrics and the operator console ask of a
 * request, apart from the tenants' API keys (no API key opens them).
 */
#ifndef KV_OPERATOR_H
#define KV_OPERATOR_H

#include "config.h"
#include "http.h"

/* Takes the token's epoch from the settings; call once before serving. */
void operator_init(const struct config *cfg);

/*
 * 1 when the request carries `Authorization: Bearer <token>` with the
 * operator token of this deployment (kookooverify operator-token), else 0.
 */
int operator_request_ok(const struct http_req *req);

#endif
