/*
 * SMS texts as India's DLT registers them: the template set on disk (one
 * file per message kind and language, docs/OPERATIONS.md), its validation at
 * start, the exact filling of its {#var#} slots with the autofill line, and
 * the count of segments and encoding (GSM-7 or UCS-2) of a text.
 */
#ifndef KV_SMS_H
#define KV_SMS_H

#include <stddef.h>

/* DLT: a {#var#} slot holds at most 30 characters. */
#define SMS_SLOT_MAX 30
#define SMS_SLOTS_MAX 8
#define SMS_TEXT_MAX 640 /* bytes of a filled text with its NUL */
#define SMS_TEMPLATE_ID_LEN 19
#define SMS_ENTITY_ID_MAX 31
#define SMS_HEADER_LEN 6
/* Android's SMS Retriever hash: 11 of [A-Za-z0-9+/]. */
#define SMS_APP_HASH_LEN 11

enum sms_encoding {
	SMS_GSM7 = 0, /* 160 septets, 153 per part; extension chars count 2 */
	SMS_UCS2 = 1, /* 70 UTF-16 code units, 67 per part */
};

struct sms_count {
	enum sms_encoding encoding;
	int units;    /* septets (GSM-7) or UTF-16 code units (UCS-2) */
	int segments; /* 1 for an empty text */
};

/*
 * Pure: counts the UTF-8 text: GSM-7 when every character is in the GSM
 * 03.38 default alphabet or its extension table, else UCS-2.  Returns 0, or
 * KV_EINVAL for text that is not UTF-8.
 */
int sms_count(const char *text, struct sms_count *out);

/* Characters (code points) of UTF-8 text, or -1 when it is not UTF-8. */
int sms_chars(const char *text);

/* "gsm7" or "ucs2". */
const char *sms_encoding_name(enum sms_encoding e);

/* The values a slot may be bound to. */
enum sms_value {
	SMS_VALUE_CODE = 0,
	SMS_VALUE_BRAND,
	SMS_VALUE_MINUTES,
	SMS_VALUE_COUNT,
};

/* One registered template. */
struct sms_template {
	char text[SMS_TEXT_MAX]; /* with "{#var#}" slots; lines joined by \n */
	enum sms_value values[SMS_SLOTS_MAX];
	int nvalues;
	char template_id[SMS_TEMPLATE_ID_LEN + 1];
	char entity_id[SMS_ENTITY_ID_MAX + 1];
	char header[SMS_HEADER_LEN + 1];
};

/*
 * The longest values the validation fills in: code digits and minutes
 * digits the server can produce; a brand is always up to SMS_SLOT_MAX.
 */
struct sms_limits {
	int code_max;
	int minutes_max;
};

/*
 * Parses and validates one template file.  Errors name the file and line
 * in err: a missing or repeated field, an unknown value name, slots and
 * values that do not pair up, an id of the wrong form, a header that is not
 * 6 letters, a slot that could exceed 30 characters, and a text that with
 * the longest values and both autofill lines is over one segment.
 * Returns 0, KV_EIO (file unreadable) or KV_EINVAL.
 */
int sms_template_parse(const char *path, const struct sms_limits *lim,
		       struct sms_template *out, char *err, size_t errlen);

/*
 * Loads <dir>/<lang>/pin.txt for every language the server ships (en, hi).
 * Not thread-safe: call once at start, before any thread reads the set.
 * Returns 0, or a KV_E* code with the reason in err.
 */
int sms_templates_load(const char *dir, const struct sms_limits *lim, char *err,
		       size_t errlen);

/*
 * The language a template set exists for, "en" or "hi" ("hi-in", "HI_IN"
 * pick Hindi; NULL or unknown: English).  The IVR's templates follow it.
 */
const char *sms_language(const char *lg);

/* The PIN template for `lg` (messages_language() picks it), or NULL when
 * no set is loaded. */
const struct sms_template *sms_template_pin(const char *lg);

/* What fills a template; host and app_hash may be NULL or "". */
struct sms_fill_in {
	const char *code;
	const char *brand;
	int minutes;
	const char *host;     /* WebOTP: the last line "@host #code" */
	const char *app_hash; /* SMS Retriever: ends the message */
};

/*
 * Fills t's slots in order, then adds the autofill line.  out (SMS_TEXT_MAX
 * bytes) receives the text, *cnt its count.  Returns 0; KV_ERANGE when a
 * value is over SMS_SLOT_MAX characters or the text is over one segment
 * (*bad names the value: "brand", "origin"...), KV_EINVAL for a value that
 * is not UTF-8.  Nothing is ever shortened.
 */
int sms_fill(const struct sms_template *t, const struct sms_fill_in *in,
	     char *out, struct sms_count *cnt, const char **bad);

/*
 * Request time: whether the PIN SMS for `lg` with these values and a code
 * of code_length digits stays one segment.  Returns 0, or KV_ERANGE with
 * *bad naming the value to blame.  With no set loaded, checks only the
 * brand's slot.
 */
int sms_pin_fits(const char *lg, const char *brand, int code_length,
		 int minutes, const char *host, const char *app_hash,
		 const char **bad);

/* 1 when s is exactly SMS_APP_HASH_LEN characters of [A-Za-z0-9+/]. */
int sms_app_hash_valid(const char *s);

#endif
