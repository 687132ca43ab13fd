/*
 * Phone numbers: parsing and validation to E.164 with libphonenumber (a C++
 * library, wrapped by the extern "C" shim in phone.cc), the number's type,
 * a redacted form for logs and the form KooKoo expects at the edge.
 */
#ifndef KV_PHONE_H
#define KV_PHONE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest input phone_parse() looks at, in characters. */
#define PHONE_INPUT_MAX 32
/* Buffer sizes for phone_redact() and phone_kookoo_form(). */
#define PHONE_REDACT_LEN 17
#define PHONE_KOOKOO_LEN 20

enum phone_type {
	PHONE_UNKNOWN = 0,
	PHONE_MOBILE,
	PHONE_FIXED_LINE,
	PHONE_FIXED_LINE_OR_MOBILE,
	PHONE_VOIP,
	PHONE_TOLL_FREE,
	PHONE_PREMIUM_RATE,
	PHONE_OTHER, /* a type newer than this list */
	/* Stored as numbers: new types go at the end. */
	PHONE_SHARED_COST,
	PHONE_PERSONAL, /* a forwarding number that follows its owner */
	PHONE_PAGER,
	PHONE_UAN, /* "universal access number": a company's inbound line */
	PHONE_VOICEMAIL, /* the last: fuzz/fuzz_phone.c checks the range */
};

struct phone {
	char e164[17];     /* "+919876543210" */
	char digits[16];   /* E.164 without '+': "919876543210" */
	char national[16]; /* national significant number: "9876543210" */
	char region[3];    /* ISO 3166 alpha-2 of the number: "IN"; "" for
			    * non-geographic numbers such as +800 */
	int country_code;  /* 91 */
	enum phone_type type;
};

/*
 * Builds libphonenumber's singleton and its metadata.  Call once from main
 * before any thread starts, so the first request does not pay for it.
 */
void phone_init(void);

/*
 * Parses `input`: digits with an optional leading '+', and spaces, dashes,
 * dots and parentheses between them; at most PHONE_INPUT_MAX characters.
 *
 * `country` (ISO alpha-2, any case, may be NULL) is the region for a number
 * written without its country code, as Vonage's `country` parameter.  When it
 * is NULL, a number without '+' is read, in this order:
 *   1. a national-looking number (10 digits, or '0' + 10 digits) in
 *      `default_country`, so that India's 10-digit numbers stay Indian;
 *   2. the digits as E.164 without the '+' ("447400123456", "919876543210");
 *   3. anything else in `default_country` (which also strips an IDD prefix).
 * `default_country` may be NULL: then only international numbers parse.
 *
 * Returns 0 and fills *out; KV_EINVAL for anything that is not a valid
 * number (libphonenumber says invalid, letters, empty, too long, unknown
 * country), KV_ENOMEM if the library ran out of memory.  *out is zeroed on
 * failure.  Thread-safe; never logs the number.
 */
int phone_parse(const char *input, const char *country,
		const char *default_country, struct phone *out);

/*
 * Checks a region code as phone_parse() would (configuration checks of
 * default_country).  Returns 0 for a known ISO alpha-2 code in any case,
 * KV_EINVAL otherwise.
 */
int phone_check_region(const char *region);

/*
 * Parses a stored E.164 digit string without '+' ("919876543210") back into
 * *out.  Only 1 to 15 digits are accepted.  Returns as phone_parse().
 */
int phone_parse_digits(const char *digits, struct phone *out);

/*
 * "mobile", "fixed_line", "fixed_line_or_mobile", "voip", "toll_free",
 * "premium_rate", "shared_cost", "personal_number", "pager", "uan",
 * "voicemail", "other", "unknown" (also for values outside the enum).
 * The string is static.
 */
const char *phone_type_name(enum phone_type t);

/*
 * Why a number of type `t` cannot be verified by us, as a sentence for an
 * error_text ("toll-free numbers cannot receive verification codes"), or
 * NULL when it can (mobile, fixed line, either, VoIP, other, unknown).
 * Refused: the types whose numbers are inbound service lines or cost the
 * caller (toll-free, premium-rate, shared-cost, UAN, personal, pager,
 * voicemail): they receive no SMS, and a call reaches no person who asked
 * for a code.  The string is static.
 */
const char *phone_type_refusal(enum phone_type t);

/*
 * For logs: keeps the country code and the last 2 digits,
 * "+919876543210" -> "+91********10".  `e164` may omit the '+'.  Anything
 * that is not 1 to 15 digits becomes "(invalid)".  out holds outlen bytes,
 * at least PHONE_REDACT_LEN for the whole result (it is cut to fit).
 */
void phone_redact(const char *e164, char *out, size_t outlen);

/*
 * The number as KooKoo's phone_no: an Indian mobile as its 10-digit national
 * number ("9876543210"), any other Indian number (a fixed line with its STD
 * code, a number that may be fixed or mobile) as "0" + national number
 * ("01123456789"), any other country's as "00" + digits.  out holds outlen bytes, at least
 * PHONE_KOOKOO_LEN for the whole result (it is cut to fit).
 */
void phone_kookoo_form(const struct phone *p, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif

#endif
