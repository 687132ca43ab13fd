/*
 * libFuzzer harness for kookoo_classify() (src/kookoo.c): the input is a
 * KooKoo reply body, classified as an SMS and as a call reply under a few
 * HTTP statuses.  Checks the outcome, that every string is terminated, and
 * that the loggable reason holds no run of 4 digits and no control character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "fuzz.h"
#include "kookoo.h"

static const long statuses[] = {200, 202, 0, 302, 404, 429, 500, 503};

static void check_result(const struct kookoo_result *r, long http, int is_call)
{
	size_t run = 0;

	FUZZ_CHECK(r->outcome == KOOKOO_ACCEPTED ||
		   r->outcome == KOOKOO_REFUSED || r->outcome == KOOKOO_RETRY);
	FUZZ_CHECK(r->http_status == http);
	FUZZ_CHECK(fuzz_terminated(r->status, sizeof(r->status)));
	FUZZ_CHECK(fuzz_terminated(r->message, sizeof(r->message)));
	FUZZ_CHECK(fuzz_terminated(r->reason, sizeof(r->reason)));
	FUZZ_CHECK(r->reason[0] != '\0');
	/* One log line, valid UTF-8, nothing that could be a number or PIN. */
	FUZZ_CHECK(fuzz_no_controls(r->reason, strlen(r->reason)));
	FUZZ_CHECK(fuzz_utf8_valid(r->reason, strlen(r->reason)));
	FUZZ_CHECK(fuzz_utf8_valid(r->status, strlen(r->status)));
	FUZZ_CHECK(fuzz_utf8_valid(r->message, strlen(r->message)));
	for (const char *c = r->reason; *c; c++) {
		run = *c >= '0' && *c <= '9' ? run + 1 : 0;
		FUZZ_CHECK(run < 4);
	}
	/* Only a 2xx reply with a status can be accepted or refused. */
	if (http < 200 || http > 299 || r->status[0] == '\0')
		FUZZ_CHECK(r->outcome == KOOKOO_RETRY);
	if (r->outcome == KOOKOO_ACCEPTED) {
		FUZZ_CHECK(strcasecmp(r->status, "error") != 0);
		if (is_call)
			FUZZ_CHECK(strcasecmp(r->status, "queued") == 0 &&
				   r->message[0] != '\0');
	}
	if (r->outcome == KOOKOO_REFUSED)
		FUZZ_CHECK(strcasecmp(r->status, "error") == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xmlInitParser();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact size, not terminated: the parser must honour len. */
	char *body = fuzz_memdup(data, size);
	struct kookoo_result r;

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		for (int is_call = 0; is_call <= 1; is_call++) {
			/* Only the first status parses both ways: the others
			 * pay for the parse once each, as SMS or call. */
			if (i > 1 && is_call != (int)(i & 1))
				continue;
			memset(&r, 0x5a, sizeof(r));
			kookoo_classify(statuses[i], size ? body : NULL, size,
					is_call, &r);
			check_result(&r, statuses[i], is_call);
		}
	free(body);
	return 0;
}
