/*
 * The Vonage Verify v2 dialect's tables (api_v2.h): its problems as
 * Vonage writes them (type URLs, titles and details as Vonage's API and
 * SDK fixtures show them; docs/API.md lists them), the channels, the map
 * from a v2 workflow to the engine's, and request ids as UUIDs.  Pure.
 */
#include <string.h>
#include <strings.h>

#include "api_v2.h"
#include "util.h"

#define NEXMO "https://developer.nexmo.com/api-errors"
#define VONAGE "https://www.developer.vonage.com/api-errors"

static const struct v2_problem problems[V2_COND_COUNT] = {
	[V2_INTERNAL] = {500, NEXMO "#internal-error", "Internal Error",
			 "An error occurred processing this request."},
	[V2_INVALID_JSON] = {400, NEXMO "#invalid-json", "Invalid JSON", "%s"},
	[V2_TOO_BIG] = {413, NEXMO "#payload-too-large", "Payload Too Large",
			"The request body is larger than this server accepts."},
	[V2_INVALID_CODE] = {400, NEXMO "#bad-request", "Invalid Code",
			     "The code you provided does not match the "
			     "expected value."},
	[V2_UNAUTHORIZED] = {401, NEXMO "#unauthorized", "Unauthorized",
			     "You did not provide correct credentials."},
	[V2_FORBIDDEN] = {403, NEXMO "#forbidden", "Forbidden",
			  "Your account does not have permission to perform "
			  "this action."},
	[V2_BLOCKED] = {403, NEXMO "#forbidden", "Forbidden",
			"The number you are trying to verify is blocked for "
			"verification."},
	[V2_NOT_FOUND] = {404, NEXMO "#not-found", "Not Found",
			  "Request '%s' was not found or it has been verified "
			  "already."},
	[V2_NO_ROUTE] = {404, NEXMO "#not-found", "Not Found",
			 "The requested resource does not exist."},
	[V2_METHOD] = {405, NEXMO "#method-not-allowed", "Method Not Allowed",
		       "This resource does not support that method."},
	[V2_CONCURRENT] = {409, VONAGE "/verify#conflict", "Conflict",
			   "Concurrent verifications to the same number are "
			   "not allowed."},
	[V2_NO_MORE_EVENTS] = {409, NEXMO "#conflict", "Conflict",
			       "There are no more events left to trigger."},
	[V2_CANCEL_TOO_EARLY] = {409, NEXMO "#conflict", "Conflict",
				 "Verification requests cannot be cancelled "
				 "within the first %d seconds."},
	[V2_CANCEL_TOO_LATE] = {409, NEXMO "#conflict", "Conflict",
				"Verification requests cannot be cancelled "
				"after the second event."},
	[V2_IDEMPOTENCY] = {422, NEXMO "#invalid-param", "Invalid params",
			    "This Idempotency-Key was used with another "
			    "request."},
	[V2_TOO_MANY_WRONG] = {410, NEXMO "#gone", "Invalid Code",
			       "An incorrect code has been provided too many "
			       "times. Workflow terminated."},
	[V2_EXPIRED] = {410, NEXMO "#gone", "Gone",
			"The verification request has expired."},
	[V2_INVALID_PARAMS] = {422, NEXMO "#invalid-param", "Invalid params",
			       "The value of one or more parameters is "
			       "invalid."},
	[V2_THROTTLED] = {429, VONAGE "#throttled", "Rate Limit Hit",
			  "Please wait, then retry your request"},
	[V2_CONFLICT] = {409, NEXMO "#conflict", "Conflict", "%s"},
};

const struct v2_problem *v2_problem_of(enum v2_cond cond)
{
	if ((unsigned int)cond >= V2_COND_COUNT)
		cond = V2_INTERNAL;
	return &problems[cond];
}

enum v2_channel v2_channel_find(const char *name)
{
	static const struct {
		const char *name;
		enum v2_channel ch;
	} channels[] = {
		{"sms", V2_CH_SMS},
		{"voice", V2_CH_VOICE},
		{"whatsapp", V2_CH_ELSEWHERE},
		{"whatsapp_interactive", V2_CH_ELSEWHERE},
		{"email", V2_CH_ELSEWHERE},
		{"silent_auth", V2_CH_ELSEWHERE},
		{"rcs", V2_CH_ELSEWHERE},
	};

	for (size_t i = 0; name && i < ARRAY_LEN(channels); i++)
		if (strcmp(name, channels[i].name) == 0)
			return channels[i].ch;
	return V2_CH_UNKNOWN;
}

int v2_workflow_id(const enum v2_channel *channels, size_t n)
{
	/* Vonage v1's workflows 1-7, written as v2 step lists ('s', 'v'). */
	static const struct {
		const char *steps;
		int id;
	} flows[] = {
		{"svv", 1}, {"ssv", 2}, {"vv", 3}, {"ss", 4},
		{"sv", 5},  {"s", 6},   {"v", 7},
	};
	char steps[ENGINE_MAX_STEPS + 1];

	if (n == 0 || n > ENGINE_MAX_STEPS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (channels[i] != V2_CH_SMS && channels[i] != V2_CH_VOICE)
			return -1;
		steps[i] = channels[i] == V2_CH_SMS ? 's' : 'v';
	}
	steps[n] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(flows); i++)
		if (strcmp(steps, flows[i].steps) == 0)
			return flows[i].id;
	return -1;
}

void v2_uuid_from_id(const char *id, char *out)
{
	uuid_from_hex(id, out);
}

int v2_id_from_uuid(const char *s, char *out)
{
	size_t j = 0;

	out[0] = '\0';
	if (!s || strlen(s) != V2_UUID_LEN)
		return -1;
	for (size_t i = 0; i < V2_UUID_LEN; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				goto bad;
			continue;
		}
		if (c >= 'A' && c <= 'F')
			c = (char)(c + ('a' - 'A'));
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			goto bad;
		out[j++] = c;
	}
	out[j] = '\0';
	return 0;
bad:
	out[0] = '\0';
	return -1;
}
