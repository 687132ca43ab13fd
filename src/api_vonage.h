/*
 * The Vonage (Nexmo) Verify v1 dialect's pure parts (api_vonage_codes.c),
 * shared by api_vonage.c and its unit tests: the one table of status codes
 * and error texts, the tables from service results to those conditions, and
 * the validators of Vonage's request parameters.
 */
#ifndef KV_API_VONAGE_H
#define KV_API_VONAGE_H

#include <stddef.h>

#include "api.h"
#include "model.h"
#include "engine.h"
#include "params.h"
#include "verify.h"

/* Every condition a Vonage endpoint answers with a non-zero status. */
enum vonage_cond {
	/* Zero: an entry a reply table leaves out answers "Internal Error". */
	VONAGE_INTERNAL = 0,     /* 5 */
	VONAGE_THROTTLED,        /* 1 */
	VONAGE_MISSING,          /* 2, arg: the parameter */
	VONAGE_BAD_VALUE,        /* 3, arg: the parameter */
	VONAGE_BAD_INPUT,        /* 3, arg: the parser's sentence */
	VONAGE_TOO_BIG,          /* 3 */
	VONAGE_BAD_CREDENTIALS,  /* 4 */
	VONAGE_NOT_FOUND,        /* 6, arg: the request id */
	VONAGE_CONCURRENT,       /* 10 */
	VONAGE_WRONG_CODE,       /* 16 */
	VONAGE_WRONG_TOO_MANY,   /* 17 */
	VONAGE_CANCEL_TOO_EARLY, /* 19, arg: the request id */
	VONAGE_CANCEL_TOO_LATE,  /* 19, arg: the request id */
	VONAGE_NO_MORE_EVENTS,   /* 19, arg: the request id */
	VONAGE_NO_RESPONSE,      /* 101 */
	VONAGE_NOT_PERMITTED,    /* 29 */
	VONAGE_BLOCKED,          /* 7 */
	VONAGE_PIN_CODE,         /* 20 */
	VONAGE_ORIGIN,           /* 4: publishable key, origin not listed */
	VONAGE_BROWSER_SECRET,   /* 4: a secret key sent by a browser */
	VONAGE_PK_ENDPOINT,      /* 4: a secret key's endpoint */
	VONAGE_PK_PARAM,         /* 3, arg: not for publishable keys */
	VONAGE_TOKEN_EXPIRED,    /* 6 */
	VONAGE_TOKEN_USED,       /* 6 */
	VONAGE_RESEND_COOLDOWN,  /* 1 */
	VONAGE_RESEND_CAP,       /* 1 */
	VONAGE_PK_BRAND,         /* 3, arg: the key's brand */
	VONAGE_COND_COUNT,
	/* Not a refusal: the endpoint's own reply (reply tables only). */
	VONAGE_OK = VONAGE_COND_COUNT,
};

/* What a condition's reply does besides its status and text. */
#define VONAGE_F_RETRY 1u  /* Retry-After: the service's wait */
#define VONAGE_F_RESEND 2u /* Retry-After: the resend cooldown's wait */
#define VONAGE_F_RID 4u    /* the argument is the reply's request_id */
#define VONAGE_F_JUNK 8u   /* a page working as written never causes it */

/* The VONAGE_F_* of `cond`; 0 for a cond out of range. */
unsigned int vonage_cond_flags(enum vonage_cond cond);

/* Where a reply's argument comes from. */
enum vonage_arg {
	VONAGE_ARG_ID,      /* the call's request_id */
	VONAGE_ARG_BAD,     /* the service's bad parameter, else `dflt` */
	VONAGE_ARG_RID,     /* the request id the service answered with */
	VONAGE_ARG_DEFAULT, /* `dflt` */
};

/*
 * How one service result is answered: the condition, its argument, and a
 * sentence the argument is put in first (NULL: none).
 */
struct vonage_reply {
	enum vonage_cond cond;
	enum vonage_arg arg;
	const char *dflt;
	const char *wrap;
};

/* Indexed by the service's result or outcome; every entry is set. */
extern const enum vonage_cond vonage_admit_conds[API_PUBLISHABLE + 1];
extern const struct vonage_reply vonage_request_replies[VERIFY_PENDING + 1];
/* Check, control and search by id: a result other than VERIFY_OK. */
extern const enum vonage_cond vonage_id_conds[VERIFY_PENDING + 1];
extern const enum vonage_cond vonage_search_conds[VERIFY_PENDING + 1];
extern const enum vonage_cond vonage_check_conds[CHECK_EXPIRED + 1];
extern const enum vonage_cond vonage_control_conds[CONTROL_RESEND_CAP + 1];

/* Room for any error text: the longest template plus the longest value. */
#define VONAGE_TEXT_MAX (PARAMS_VALUE_MAX + 256)

/*
 * Writes the error text of `cond` into text (size len, NUL-terminated,
 * truncated if needed), with `arg` (NULL reads as "") in place of the
 * template's parameter and the cancel_min_age setting in place of its number.
 * Returns the Vonage status code (1-101), or -1 for a cond out of range
 * (text is then "").
 */
int vonage_error_text(enum vonage_cond cond, const char *arg, char *text,
		      size_t len);

/*
 * The canonical lower-case form of a Vonage `lg` locale ("en-us"), matched
 * case-insensitively; NULL when lg is not one of Vonage's 39 locales.  A
 * static string, never freed.
 */
const char *vonage_lg_find(const char *lg);

/* Number of UTF-8 code points of a valid UTF-8 string. */
size_t vonage_utf8_count(const char *s);

/* 1 when brand has 1 to 18 code points, else 0. */
int vonage_brand_valid(const char *brand);
/* 1 when sender_id is 1 to 11 ASCII letters and digits, else 0. */
int vonage_sender_id_valid(const char *sender_id);
/* 1 when code is 1 to ENGINE_PIN_MAX ASCII digits, else 0. */
int vonage_code_valid(const char *code);

/*
 * Fills `in` from a request's optional parameters (brand, sender_id,
 * country, lg, and the numbers code_length, pin_expiry, next_event_wait,
 * workflow_id), each checked.  Returns the name of the first invalid
 * parameter (a static string), or NULL.  `in` points into `p`.
 */
const char *vonage_request_read(const struct params *p,
				struct verify_request_in *in);

/*
 * Vonage's type of a delivery event, "sms" or "tts" (by channel, else by
 * type); NULL for an event that is not a delivery (IVR callbacks and
 * outcomes), which search leaves out.  A static string.
 */
const char *vonage_event_type(const struct vf_event *ev);

#endif
