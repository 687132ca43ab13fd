/*
 * The seed dialect's pure parts (api_seed_codes.c), shared by api_seed.c
 * and its unit tests: the one table of status codes and error texts, and
 * the tables from service results and outcomes to those conditions.
 */
#ifndef KV_API_SEED_H
#define KV_API_SEED_H

#include <stddef.h>

#include "api.h"
#include "engine.h"
#include "params.h"
#include "verify.h"

/* Room for any error text: the longest template plus the longest value. */
#define SEED_TEXT_MAX (PARAMS_VALUE_MAX + 128)

/* Every condition a seed endpoint can answer, mapped once to code and text. */
enum seed_cond {
	/* Zero: an entry a table leaves out answers "Internal Error". */
	SEED_INTERNAL = 0,
	SEED_OK, /* not a refusal: the endpoint's own success reply */
	SEED_MISSING,
	SEED_BAD_VALUE,
	SEED_BAD_INPUT,
	SEED_TOO_BIG,
	SEED_THROTTLED,
	SEED_STILL_LIVE, /* control refused, still in progress: no wait known */
	SEED_RESEND_COOLDOWN,
	SEED_RESEND_CAP,
	SEED_NO_CREDENTIALS,
	SEED_BAD_CREDENTIALS,
	SEED_NOT_FOUND,
	SEED_CONCURRENT,
	SEED_LIMIT,
	SEED_WRONG_CODE,
	SEED_VERIFIED_ALREADY,
	SEED_CANCELLED,
	SEED_NO_RESPONSE,
	SEED_NOT_PERMITTED,
	SEED_BLOCKED,
	/* Not a reply: answered by the verification's state (control). */
	SEED_BY_STATE,
	SEED_COND_COUNT
};

/* What a condition's reply carries besides its status and text. */
#define SEED_RETRY 1u  /* Retry-After: the service's wait */
#define SEED_RESEND 2u /* Retry-After: the resend cooldown's wait */
#define SEED_RID 4u    /* the argument is a request_id member, not text */

/*
 * Writes the error text of `cond` into text (size len, NUL-terminated,
 * truncated if needed) with `arg` (NULL reads as "") in place of "%s".
 * Returns the seed status code, or -1 for a cond out of range or one that
 * is not a reply (SEED_OK, SEED_BY_STATE); text is then "".
 */
int seed_error_text(enum seed_cond cond, const char *arg, char *text,
		    size_t len);

/* The SEED_* flags of `cond`; 0 for a cond out of range. */
unsigned int seed_cond_flags(enum seed_cond cond);

/*
 * How a service result is answered: the condition, where its argument
 * comes from (the service's `bad` parameter, else `dflt`; or the request
 * id), and the sentence the argument is wrapped in first, if any.
 */
enum seed_arg { SEED_ARG_DEFAULT, SEED_ARG_BAD, SEED_ARG_RID };

struct seed_reply {
	enum seed_cond cond;
	enum seed_arg arg;
	const char *dflt;
	const char *wrap;
};

/* Indexed by the service's result or outcome; every entry is set. */
extern const enum seed_cond seed_admit_conds[API_PUBLISHABLE + 1];
extern const struct seed_reply seed_request_replies[VERIFY_PENDING + 1];
/* Check and control: a result other than VERIFY_OK. */
extern const enum seed_cond seed_id_conds[VERIFY_PENDING + 1];
extern const enum seed_cond seed_search_conds[VERIFY_PENDING + 1];
extern const enum seed_cond seed_number_conds[VERIFY_PENDING + 1];
extern const enum seed_cond seed_check_conds[CHECK_EXPIRED + 1];
extern const enum seed_cond seed_control_conds[CONTROL_RESEND_CAP + 1];
extern const enum seed_cond seed_state_conds[VF_CANCELLED + 1];

#endif
