/*
 * The seed dialect's code table and the tables from service results to its
 * conditions (api_seed.h).  No I/O: the unit tests read every table.
 */
#include <stddef.h>
#include <string.h>

#include "api.h"
#include "api_seed.h"
#include "engine.h"
#include "verify.h"

/* "%s" in a text stands for the condition's argument. */
static const struct {
	int status;
	unsigned int flags;
	const char *text;
} seed_codes[SEED_COND_COUNT] = {
	[SEED_MISSING] = {2, 0, "%s"}, /* the endpoint's sentence */
	[SEED_BAD_VALUE] = {3, 0, "Invalid value for parameter %s"},
	[SEED_BAD_INPUT] = {3, 0, "%s"},
	[SEED_TOO_BIG] = {3, 0, "Request too large"},
	[SEED_THROTTLED] = {1, SEED_RETRY, "Throttled"},
	[SEED_STILL_LIVE] = {1, 0, "Throttled"},
	[SEED_RESEND_COOLDOWN] = {1, SEED_RESEND,
				  "Throttled: resent too recently"},
	[SEED_RESEND_CAP] = {1, 0, "Throttled: no resends left"},
	[SEED_NO_CREDENTIALS] = {2, 0,
				 "api_key and api_secret parameters "
				 "required!"},
	[SEED_BAD_CREDENTIALS] = {4, 0, "Bad Credentials"},
	[SEED_INTERNAL] = {5, 0, "Internal Error"},
	[SEED_NOT_FOUND] = {6, 0, "Request ID does not exist or is expired"},
	[SEED_CONCURRENT] = {10, SEED_RID,
			     "Concurrent verifications to the same number "
			     "are not allowed"},
	[SEED_LIMIT] = {15, 0, "Verify Limit Exceeded"},
	[SEED_WRONG_CODE] = {16, 0,
			     "The code provided does not match the "
			     "expected value"},
	[SEED_VERIFIED_ALREADY] = {18, 0, "Verified already"},
	[SEED_CANCELLED] = {19, 0, "Verification cancelled"},
	[SEED_NO_RESPONSE] = {101, 0, "No response found"},
	[SEED_NOT_PERMITTED] = {29, 0,
				"Non-Permitted Destination: the number's "
				"country is not allowed for this API key"},
	[SEED_BLOCKED] = {7, 0, "Number blocked: %s"},
};

/* Why a call could not reach its endpoint's logic. */
const enum seed_cond seed_admit_conds[API_PUBLISHABLE + 1] = {
	[API_READY] = SEED_OK,
	[API_BAD_INPUT] = SEED_BAD_INPUT,
	[API_TOO_BIG] = SEED_TOO_BIG,
	[API_NO_CREDENTIALS] = SEED_NO_CREDENTIALS,
	[API_BAD_CREDENTIALS] = SEED_BAD_CREDENTIALS,
	[API_INTERNAL] = SEED_INTERNAL,
	[API_THROTTLED] = SEED_THROTTLED,
	/* The original's API is for backends: no browsers, no publishable. */
	[API_ORIGIN] = SEED_BAD_CREDENTIALS,
	[API_BROWSER_SECRET] = SEED_BAD_CREDENTIALS,
	[API_PUBLISHABLE] = SEED_BAD_CREDENTIALS,
};

const struct seed_reply seed_request_replies[VERIFY_PENDING + 1] = {
	[VERIFY_OK] = {SEED_OK, SEED_ARG_DEFAULT, NULL, NULL},
	[VERIFY_CONCURRENT] = {SEED_CONCURRENT, SEED_ARG_RID, NULL, NULL},
	[VERIFY_BAD_NUMBER] = {SEED_BAD_VALUE, SEED_ARG_DEFAULT, "phone_no",
			       NULL},
	[VERIFY_BAD_PARAM] = {SEED_BAD_VALUE, SEED_ARG_BAD, "phone_no", NULL},
	[VERIFY_NOT_FOUND] = {SEED_INTERNAL, SEED_ARG_DEFAULT, NULL, NULL},
	[VERIFY_ERROR] = {SEED_INTERNAL, SEED_ARG_DEFAULT, NULL, NULL},
	[VERIFY_THROTTLED] = {SEED_THROTTLED, SEED_ARG_DEFAULT, NULL, NULL},
	[VERIFY_NOT_PERMITTED] = {SEED_NOT_PERMITTED, SEED_ARG_DEFAULT, NULL,
				  NULL},
	[VERIFY_BLOCKED] = {SEED_BLOCKED, SEED_ARG_BAD, "fraud", NULL},
	[VERIFY_UNREACHABLE] = {SEED_BAD_INPUT, SEED_ARG_BAD,
				"this number cannot receive codes",
				"Invalid value for parameter phone_no: %s"},
	[VERIFY_MISSED_OFF] = {SEED_BAD_INPUT, SEED_ARG_DEFAULT,
			       "missed-call verification is not enabled for "
			       "this key",
			       NULL},
	[VERIFY_PENDING] = {SEED_INTERNAL, SEED_ARG_DEFAULT, NULL, NULL},
};

/*
 * Service results to conditions.  A result a table leaves out is an
 * internal error (the conditions' zero): only the ones an endpoint can
 * meet are listed.
 */

/* A check or a control command: every refusal names nothing. */
const enum seed_cond seed_id_conds[VERIFY_PENDING + 1] = {
	[VERIFY_OK] = SEED_OK,
	[VERIFY_NOT_FOUND] = SEED_NOT_FOUND,
	[VERIFY_THROTTLED] = SEED_THROTTLED,
};

const enum seed_cond seed_check_conds[CHECK_EXPIRED + 1] = {
	[CHECK_OK] = SEED_OK,
	[CHECK_WRONG] = SEED_WRONG_CODE,
	[CHECK_WRONG_LAST] = SEED_WRONG_CODE,
	[CHECK_FAILED] = SEED_LIMIT,
	[CHECK_ALREADY_VERIFIED] = SEED_VERIFIED_ALREADY,
	[CHECK_CANCELLED] = SEED_CANCELLED,
	[CHECK_EXPIRED] = SEED_NOT_FOUND,
};

/* The seed dialect cancels without Vonage's rules: only resends refuse. */
const enum seed_cond seed_control_conds[CONTROL_RESEND_CAP + 1] = {
	[CONTROL_OK] = SEED_OK,
	[CONTROL_NOT_ACTIVE] = SEED_BY_STATE,
	[CONTROL_TOO_EARLY] = SEED_RESEND_COOLDOWN,
	[CONTROL_TOO_LATE] = SEED_RESEND_COOLDOWN,
	[CONTROL_NO_MORE_EVENTS] = SEED_RESEND_COOLDOWN,
	[CONTROL_COOLDOWN] = SEED_RESEND_COOLDOWN,
	[CONTROL_RESEND_CAP] = SEED_RESEND_CAP,
};

/* Why a command was refused for a verification that is no longer live. */
const enum seed_cond seed_state_conds[VF_CANCELLED + 1] = {
	[VF_IN_PROGRESS] = SEED_STILL_LIVE, /* resend cooldown or cap */
	[VF_SUCCESS] = SEED_VERIFIED_ALREADY, [VF_FAILED] = SEED_LIMIT,
	[VF_EXPIRED] = SEED_NOT_FOUND,        [VF_CANCELLED] = SEED_CANCELLED,
};

/* A search by request id: found, or never seen (another key's included). */
const enum seed_cond seed_search_conds[VERIFY_PENDING + 1] = {
	[VERIFY_OK] = SEED_OK,
	[VERIFY_NOT_FOUND] = SEED_NO_RESPONSE,
};

/* A search by number: a number never verified is an answer, not an error. */
const enum seed_cond seed_number_conds[VERIFY_PENDING + 1] = {
	[VERIFY_OK] = SEED_OK,
	[VERIFY_BAD_NUMBER] = SEED_BAD_VALUE,
	[VERIFY_NOT_FOUND] = SEED_OK,
};

int seed_error_text(enum seed_cond cond, const char *arg, char *text,
		    size_t len)
{
	if (len)
		text[0] = '\0';
	if ((unsigned int)cond >= SEED_COND_COUNT || !seed_codes[cond].text)
		return -1;
	api_text_format(text, len, seed_codes[cond].text, arg, 0);
	return seed_codes[cond].status;
}

unsigned int seed_cond_flags(enum seed_cond cond)
{
	return (unsigned int)cond < SEED_COND_COUNT ? seed_codes[cond].flags
						    : 0u;
}
