/*
 * libFuzzer harness for the input side of the IVR callbacks (ivr/ivr.c): the
 * call token checked by crypto_call_token_check() after crypto_set_secret(),
 * given directly or inside the query string and form body the callback
 * parses, and the numbers it reads from them.  No token is accepted unless it
 * is exactly one the server itself would have made.
 *
 * FUZZ_PRINT_TOKEN="id.step.expiry" prints that token under the harness's
 * fixed secret and exits: how the seeds in fuzz/corpus/ivr_callback/ are made.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "fuzz.h"
#include "params.h"
#include "util.h"

/* The harness's clock: seeds expiring later are live, earlier expired. */
#define FUZZ_NOW 1750000000LL

enum mode {
	MODE_TOKEN,      /* the input is the token */
	MODE_QUERY,      /* a callback's query string, "t=...&sid=..." */
	MODE_QUERY_FORM, /* "query\0body": the call-status POST */
	MODE_COUNT
};

static void print_token(const char *spec)
{
	long long id, exp;
	int step, used = 0;
	char token[CRYPTO_TOKEN_MAX];

	if (sscanf(spec, "%lld.%d.%lld%n", &id, &step, &exp, &used) != 3 ||
	    spec[used] != '\0') {
		fprintf(stderr, "FUZZ_PRINT_TOKEN: want id.step.expiry\n");
		exit(2);
	}
	crypto_call_token(id, step, exp, token);
	printf("%s\n", token);
	exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char secret[32];
	const char *spec = getenv("FUZZ_PRINT_TOKEN");

	if (sodium_init() < 0)
		abort();
	/* Fixed, so that the committed seeds stay valid: bytes 0..31. */
	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (unsigned char)i;
	crypto_set_secret(secret);
	if (spec)
		print_token(spec);
	return 0;
}

/*
 * Checks one token: whatever the checker accepts (or calls expired, which
 * also needs a valid MAC) must be byte for byte the token crypto_call_token()
 * makes for the id, step and expiry it names.
 */
static void check_token(const char *token)
{
	char body[CRYPTO_TOKEN_MAX], again[CRYPTO_TOKEN_MAX];
	int64_t vid = -1;
	int step = -1, st, used = 0;
	long long id, exp;
	const char *dot;
	size_t n;
	int rc;

	rc = crypto_call_token_check(token, FUZZ_NOW, &vid, &step);
	FUZZ_CHECK(rc == 0 || rc == KV_EINVAL || rc == KV_ERANGE);
	if (rc == KV_EINVAL)
		return;
	dot = strrchr(token, '.');
	FUZZ_CHECK(dot != NULL);
	n = (size_t)(dot - token);
	FUZZ_CHECK(n < sizeof(body));
	memcpy(body, token, n);
	body[n] = '\0';
	FUZZ_CHECK(sscanf(body, "%lld.%d.%lld%n", &id, &st, &exp, &used) == 3 &&
		   (size_t)used == n);
	crypto_call_token(id, st, exp, again);
	/* A different token with the same meaning is a forgery. */
	FUZZ_CHECK(strcmp(again, token) == 0);
	if (rc == 0) {
		FUZZ_CHECK(exp > FUZZ_NOW);
		FUZZ_CHECK(vid == id && step == st);
	} else {
		FUZZ_CHECK(exp <= FUZZ_NOW);
	}
}

/* The callbacks' durations: parse_int() keeps to its bounds. */
static void check_duration(const char *s)
{
	int d = -1;

	if (!s)
		return;
	if (parse_int(s, 0, 86400, &d) == 0) {
		FUZZ_CHECK(d >= 0 && d <= 86400);
		FUZZ_CHECK(strtol(s, NULL, 10) == d);
	}
}

static void fuzz_callback(enum mode mode, const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);
	size_t qlen = nul ? (size_t)(nul - s) : len;
	const char *token, *sid;
	struct params p;
	int rc;

	params_init(&p);
	rc = params_parse_query(&p, s, qlen);
	if (rc == 0 && mode == MODE_QUERY_FORM && nul)
		rc = params_parse_form(&p, nul + 1, len - qlen - 1);
	if (rc != 0)
		goto out;
	token = params_get(&p, "t");
	sid = params_get(&p, "sid");
	if (!sid || !*sid)
		sid = params_get(&p, "outbound_sid");
	if (token)
		check_token(token);
	if (sid)
		FUZZ_CHECK(fuzz_param_text(sid, strlen(sid)));
	check_duration(params_get(&p, "duration"));
	check_duration(params_get(&p, "total_call_duration"));
out:
	params_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mode mode;
	char *s;

	if (size == 0)
		return 0;
	mode = (enum mode)(data[0] % MODE_COUNT);
	s = fuzz_strndup(data + 1, size - 1);
	if (mode == MODE_TOKEN)
		check_token(s);
	else
		fuzz_callback(mode, s, size - 1);
	free(s);
	return 0;
}
