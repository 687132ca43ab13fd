/*
 * The texts people receive: the SMS with the PIN, one template per language
 * (the verification's `lg`), with the brand, the PIN and the minutes it
 * stays valid.  English is the fallback.
 */
#ifndef KV_MESSAGES_H
#define KV_MESSAGES_H

#include <stddef.h>

/*
 * Writes the SMS for language `lg` (e.g. "en-us", "hi-in", "hi"; NULL or
 * unknown: English) into out.  Returns 0, or KV_ETOOBIG if it does not fit.
 */
int messages_sms(const char *lg, const char *brand, const char *pin,
		 int minutes, char *out, size_t outlen);

/* The language a template set exists for: "en" or "hi". */
const char *messages_language(const char *lg);

#endif
