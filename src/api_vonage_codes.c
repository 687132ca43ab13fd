/*
 * The Vonage (Nexmo) Verify v1 dialect's pure parts (api_vonage.h): the one
 * table of status codes and error texts, the tables that turn service
 * results into those conditions, and the validators of Vonage's request
 * parameters.  No I/O: the unit tests read every table.
 */
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "api_vonage.h"
#include "engine.h"
#include "err.h"
#include "phone.h"
#include "util.h"
#include "verify.h"

#define BRAND_MAX 18
#define SENDER_ID_MAX 11

/* The one table: "%s" stands for the argument, "%d" for cancel_min_age. */
static const struct {
	int status;
	unsigned int flags; /* VONAGE_F_* */
	const char *text;
} vonage_codes[VONAGE_COND_COUNT] = {
	[VONAGE_THROTTLED] = {1, VONAGE_F_RETRY, "Throttled"},
	[VONAGE_MISSING] = {2, 0,
			    "Your request is incomplete and missing the "
			    "mandatory parameter `%s`"},
	[VONAGE_BAD_VALUE] = {3, 0, "Invalid value for parameter `%s`"},
	[VONAGE_BAD_INPUT] = {3, 0, "%s"},
	[VONAGE_TOO_BIG] = {3, 0, "Request too large"},
	[VONAGE_BAD_CREDENTIALS] = {4, 0, "Invalid credentials were provided"},
	[VONAGE_INTERNAL] = {5, 0, "Internal Error"},
	[VONAGE_NOT_FOUND] = {6, 0,
			      "The Vonage platform was unable to process "
			      "this message for the following reason: "
			      "Request '%s' was not found or it has been "
			      "verified already."},
	[VONAGE_CONCURRENT] = {10, VONAGE_F_RID,
			       "Concurrent verifications to the same "
			       "number are not allowed."},
	[VONAGE_WRONG_CODE] = {16, 0,
			       "The code provided does not match the "
			       "expected value"},
	[VONAGE_WRONG_TOO_MANY] = {17, 0,
				   "The wrong code was provided too many "
				   "times"},
	[VONAGE_CANCEL_TOO_EARLY] = {19, 0,
				     "Verification request ['%s'] can't "
				     "be cancelled within the first %d "
				     "seconds."},
	[VONAGE_CANCEL_TOO_LATE] = {19, 0,
				    "Verification request  ['%s'] can't "
				    "be cancelled now. Too many attempts "
				    "to re-deliver have already been "
				    "made."},
	[VONAGE_NO_MORE_EVENTS] = {19, 0,
				   "No more events are left to execute "
				   "for the request ['%s']"},
	[VONAGE_NO_RESPONSE] = {101, 0, "No response found"},
	[VONAGE_NOT_PERMITTED] = {29, 0, "Non-Permitted Destination"},
	[VONAGE_PIN_CODE] = {20, 0,
			     "This account does not support the parameter: "
			     "pin_code."},
	[VONAGE_BLOCKED] = {7, 0,
			    "The number you are trying to verify is "
			    "blacklisted for verification."},
	[VONAGE_ORIGIN] = {4, 0, "Origin not allowed for this key"},
	[VONAGE_BROWSER_SECRET] = {4, 0,
				   "Secret keys are not accepted from a "
				   "browser (the request has an Origin "
				   "header); use a publishable key"},
	[VONAGE_PK_ENDPOINT] = {4, 0,
				"Publishable keys cannot use this "
				"endpoint; call it from your backend "
				"with a secret key"},
	[VONAGE_PK_PARAM] = {3, 0,
			     "Parameter `%s` is not allowed with a "
			     "publishable key"},
	[VONAGE_TOKEN_EXPIRED] = {6, 0, "The token has expired"},
	[VONAGE_TOKEN_USED] = {6, 0, "The token was already used"},
	[VONAGE_RESEND_COOLDOWN] = {1, VONAGE_F_RESEND,
				    "Throttled: resent too recently"},
	[VONAGE_RESEND_CAP] = {1, 0, "Throttled: no resends left"},
	[VONAGE_PK_BRAND] = {3, 0,
			     "Parameter `brand` must be this publishable "
			     "key's brand, `%s`"},
};

/*
 * Refusals that a visitor's page does not cause when it works as written:
 * through a publishable key, the sender's address pays extra for them.
 */
static const unsigned char vonage_junk[VONAGE_COND_COUNT] = {
	[VONAGE_MISSING] = 1,   [VONAGE_BAD_VALUE] = 1,
	[VONAGE_BAD_INPUT] = 1, [VONAGE_TOO_BIG] = 1,
	[VONAGE_NOT_FOUND] = 1, [VONAGE_NO_RESPONSE] = 1,
	[VONAGE_PIN_CODE] = 1,  [VONAGE_PK_ENDPOINT] = 1,
	[VONAGE_PK_PARAM] = 1,  [VONAGE_PK_BRAND] = 1,
};

int vonage_error_text(enum vonage_cond cond, const char *arg, char *text,
		      size_t len)
{
	if (len)
		text[0] = '\0';
	if ((unsigned int)cond >= VONAGE_COND_COUNT)
		return -1;
	api_text_format(text, len, vonage_codes[cond].text, arg,
			verify_settings()->cancel_min_age_s);
	return vonage_codes[cond].status;
}

unsigned int vonage_cond_flags(enum vonage_cond cond)
{
	if ((unsigned int)cond >= VONAGE_COND_COUNT)
		return 0;
	return vonage_codes[cond].flags |
	       (vonage_junk[cond] ? VONAGE_F_JUNK : 0u);
}

const char *vonage_lg_find(const char *lg)
{
	static const char *const locales[] = {
		"ar-xa", "cs-cz",  "cy-cy", "cy-gb", "da-dk", "de-de", "el-gr",
		"en-au", "en-gb",  "en-in", "en-us", "es-es", "es-mx", "es-us",
		"fi-fi", "fil-ph", "fr-ca", "fr-fr", "hi-in", "hu-hu", "id-id",
		"is-is", "it-it",  "ja-jp", "ko-kr", "nb-no", "nl-nl", "pl-pl",
		"pt-br", "pt-pt",  "ro-ro", "ru-ru", "sv-se", "th-th", "tr-tr",
		"vi-vn", "yue-cn", "zh-cn", "zh-tw",
	};

	for (size_t i = 0; lg && i < ARRAY_LEN(locales); i++)
		if (strcasecmp(lg, locales[i]) == 0)
			return locales[i];
	return NULL;
}

size_t vonage_utf8_count(const char *s)
{
	size_t n = 0;

	/* Count every byte that does not continue a sequence (10xxxxxx). */
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int all_of(const char *s, const char *set, size_t lo, size_t hi)
{
	size_t n = strlen(s);

	return n >= lo && n <= hi && strspn(s, set) == n;
}

int vonage_brand_valid(const char *brand)
{
	size_t n = vonage_utf8_count(brand);

	return n >= 1 && n <= BRAND_MAX;
}

int vonage_sender_id_valid(const char *sender_id)
{
	return all_of(sender_id,
		      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789",
		      1, SENDER_ID_MAX);
}

int vonage_code_valid(const char *code)
{
	return all_of(code, "0123456789", 1, ENGINE_PIN_MAX);
}

const char *vonage_event_type(const struct vf_event *ev)
{
	/*
	 * Vonage lists one event per message that went out: the accepted
	 * deliveries (first sends and resends) on the sms and tts channels.
	 * Retries, refusals and the IVR's own callbacks stay in the seed
	 * dialect's fuller events[].
	 */
	/* This server's extension: the missed call that verified it. */
	if (strcmp(ev->channel, "missed") == 0)
		return strcmp(ev->result, "verified") == 0 ? "missed_call"
							   : NULL;
	if (strcmp(ev->result, "accepted") != 0)
		return NULL;
	if (strcmp(ev->channel, "sms") == 0)
		return "sms";
	if (strcmp(ev->channel, "tts") == 0)
		return "tts";
	return NULL;
}

/* ---- a request's parameters ---- */

/* Sets an int member of engine_request: digits only, at least 1. */
static int read_int_params(const struct params *p, struct engine_request *er,
			   const char **bad)
{
	static const struct {
		const char *name;
		size_t offset;
		int max;
	} ints[] = {
		{"code_length", offsetof(struct engine_request, code_length),
		 INT_MAX},
		{"pin_expiry", offsetof(struct engine_request, pin_expiry_s),
		 INT_MAX},
		{"next_event_wait",
		 offsetof(struct engine_request, next_event_wait_s), INT_MAX},
		{"workflow_id", offsetof(struct engine_request, workflow_id),
		 ENGINE_WF_MISSED_SMS},
	};

	for (size_t i = 0; i < ARRAY_LEN(ints); i++) {
		const char *v = params_get(p, ints[i].name);
		int n;

		if (!v)
			continue;
		if (strspn(v, "0123456789") != strlen(v) ||
		    parse_int(v, 1, ints[i].max, &n) != 0) {
			*bad = ints[i].name;
			return KV_EINVAL;
		}
		memcpy((char *)er + ints[i].offset, &n, sizeof(n));
	}
	return 0;
}

static int country_valid(const char *country)
{
	return all_of(country,
		      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 2,
		      2) &&
	       phone_check_region(country) == 0;
}

static int lg_valid(const char *lg)
{
	return vonage_lg_find(lg) != NULL;
}

/* A parameter's value, or NULL when absent or empty (as api_param()). */
static const char *param(const struct params *p, const char *name)
{
	const char *v = params_get(p, name);

	return v && *v ? v : NULL;
}

const char *vonage_request_read(const struct params *p,
				struct verify_request_in *in)
{
	static const struct {
		const char *name;
		int (*valid)(const char *v);
	} strs[] = {
		{"brand", vonage_brand_valid},
		{"sender_id", vonage_sender_id_valid},
		{"country", country_valid},
		{"lg", lg_valid},
	};
	const char *bad = NULL;

	for (size_t i = 0; i < ARRAY_LEN(strs); i++) {
		const char *v = param(p, strs[i].name);

		if (v && !strs[i].valid(v))
			return strs[i].name;
	}
	in->sender_id = param(p, "sender_id");
	in->country = param(p, "country");
	in->lg = vonage_lg_find(param(p, "lg"));
	if (read_int_params(p, &in->req, &bad) != 0)
		return bad;
	return NULL;
}

/*
 * ---- service results to conditions ----
 *
 * A result a table leaves out is an internal error (the conditions' zero):
 * only the ones an endpoint can meet are listed.
 */

const enum vonage_cond vonage_admit_conds[API_PUBLISHABLE + 1] = {
	[API_READY] = VONAGE_OK,
	[API_BAD_INPUT] = VONAGE_BAD_INPUT,
	[API_TOO_BIG] = VONAGE_TOO_BIG,
	[API_NO_CREDENTIALS] = VONAGE_MISSING,
	[API_BAD_CREDENTIALS] = VONAGE_BAD_CREDENTIALS,
	[API_INTERNAL] = VONAGE_INTERNAL,
	[API_THROTTLED] = VONAGE_THROTTLED,
	[API_ORIGIN] = VONAGE_ORIGIN,
	[API_BROWSER_SECRET] = VONAGE_BROWSER_SECRET,
	[API_PUBLISHABLE] = VONAGE_PK_ENDPOINT,
};

#define REPLY(cond)                                                            \
	{                                                                      \
		cond, VONAGE_ARG_DEFAULT, NULL, NULL                           \
	}

const struct vonage_reply vonage_request_replies[VERIFY_PENDING + 1] = {
	[VERIFY_OK] = REPLY(VONAGE_OK),
	[VERIFY_CONCURRENT] = {VONAGE_CONCURRENT, VONAGE_ARG_RID, NULL, NULL},
	[VERIFY_BAD_NUMBER] = {VONAGE_BAD_VALUE, VONAGE_ARG_DEFAULT, "number",
			       NULL},
	[VERIFY_BAD_PARAM] = {VONAGE_BAD_VALUE, VONAGE_ARG_BAD, "number", NULL},
	[VERIFY_NOT_FOUND] = REPLY(VONAGE_INTERNAL),
	[VERIFY_ERROR] = REPLY(VONAGE_INTERNAL),
	[VERIFY_THROTTLED] = REPLY(VONAGE_THROTTLED),
	[VERIFY_NOT_PERMITTED] = REPLY(VONAGE_NOT_PERMITTED),
	[VERIFY_BLOCKED] = REPLY(VONAGE_BLOCKED),
	[VERIFY_UNREACHABLE] = {VONAGE_BAD_INPUT, VONAGE_ARG_BAD,
				"this number cannot receive codes",
				"Invalid value for parameter `number`: %s"},
	[VERIFY_MISSED_OFF] = {VONAGE_BAD_INPUT, VONAGE_ARG_DEFAULT,
			       "Missed-call verification (workflow_id 8 or 9) "
			       "is not enabled for this key",
			       NULL},
	[VERIFY_PENDING] = REPLY(VONAGE_INTERNAL),
};

const enum vonage_cond vonage_id_conds[VERIFY_PENDING + 1] = {
	[VERIFY_OK] = VONAGE_OK,
	[VERIFY_NOT_FOUND] = VONAGE_NOT_FOUND,
	[VERIFY_THROTTLED] = VONAGE_THROTTLED,
};

/* Search answers an id it does not know with Vonage's 101. */
const enum vonage_cond vonage_search_conds[VERIFY_PENDING + 1] = {
	[VERIFY_OK] = VONAGE_OK,
	[VERIFY_NOT_FOUND] = VONAGE_NO_RESPONSE,
};

const enum vonage_cond vonage_check_conds[CHECK_EXPIRED + 1] = {
	[CHECK_OK] = VONAGE_OK,
	[CHECK_WRONG] = VONAGE_WRONG_CODE,
	[CHECK_WRONG_LAST] = VONAGE_WRONG_TOO_MANY,
	[CHECK_FAILED] = VONAGE_WRONG_TOO_MANY,
	[CHECK_ALREADY_VERIFIED] = VONAGE_NOT_FOUND,
	[CHECK_CANCELLED] = VONAGE_NOT_FOUND,
	[CHECK_EXPIRED] = VONAGE_NOT_FOUND,
};

const enum vonage_cond vonage_control_conds[CONTROL_RESEND_CAP + 1] = {
	[CONTROL_OK] = VONAGE_OK,
	[CONTROL_NOT_ACTIVE] = VONAGE_NOT_FOUND,
	[CONTROL_TOO_EARLY] = VONAGE_CANCEL_TOO_EARLY,
	[CONTROL_TOO_LATE] = VONAGE_CANCEL_TOO_LATE,
	[CONTROL_NO_MORE_EVENTS] = VONAGE_NO_MORE_EVENTS,
	[CONTROL_COOLDOWN] = VONAGE_RESEND_COOLDOWN,
	[CONTROL_RESEND_CAP] = VONAGE_RESEND_CAP,
};
