/*
 * SMS templates per language and their filling.  Placeholders are replaced
 * by plain copying ({brand}, {pin}, {minutes}); no text from a client is ever
 * used as a format string.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "messages.h"
#include "util.h"

static const struct {
	const char *lang;
	const char *sms;
} templates[] = {
	/*
	 * DLT registers one fixed text per template with the values as
	 * variables, so only the values may change: "min" reads the same for
	 * 1 and 5 (no "1 minute" variant), as Hindi's मिनट does.
	 */
	{"en", "{brand} code: {pin}. Valid for {minutes} min."},
	{"hi", "{brand} कोड: {pin}. {minutes} मिनट के लिए मान्य।"},
};

const char *messages_language(const char *lg)
{
	for (size_t i = 0; lg && i < ARRAY_LEN(templates); i++) {
		size_t n = strlen(templates[i].lang);

		/* "hi", "hi-in", "HI_IN" all pick Hindi. */
		if (strncasecmp(lg, templates[i].lang, n) == 0 &&
		    (lg[n] == '\0' || lg[n] == '-' || lg[n] == '_'))
			return templates[i].lang;
	}
	return "en";
}

int messages_sms(const char *lg, const char *brand, const char *pin,
		 int minutes, char *out, size_t outlen)
{
	const char *lang = messages_language(lg);
	const char *t = templates[0].sms;
	char mins[16];
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_LEN(templates); i++)
		if (strcmp(templates[i].lang, lang) == 0)
			t = templates[i].sms;
	snprintf(mins, sizeof(mins), "%d", minutes);
	while (*t) {
		const char *piece = t;
		size_t n = 1;

		if (strncmp(t, "{brand}", 7) == 0) {
			piece = brand;
			n = strlen(brand);
			t += 7;
		} else if (strncmp(t, "{pin}", 5) == 0) {
			piece = pin;
			n = strlen(pin);
			t += 5;
		} else if (strncmp(t, "{minutes}", 9) == 0) {
			piece = mins;
			n = strlen(mins);
			t += 9;
		} else {
			t++;
		}
		if (len + n >= outlen)
			return KV_ETOOBIG;
		memcpy(out + len, piece, n);
		len += n;
	}
	out[len] = '\0';
	return 0;
}
