/*
 * Pure: how many SMS segments a text takes and in which encoding (sms.h).
 * GSM 03.38: the default alphabet costs one septet a character, its
 * extension table two (an escape, then the character); anything else sends
 * the whole text as UCS-2, counted in UTF-16 code units.
 */
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "sms.h"
#include "util.h"

#define GSM7_SINGLE 160
#define GSM7_PART 153
#define UCS2_SINGLE 70
#define UCS2_PART 67

/* ASCII characters of the default alphabet ('`' is not in it). */
static const char gsm7_ascii[] =
	"\n\r !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
	"abcdefghijklmnopqrstuvwxyz";
/* ASCII characters of the extension table (two septets each). */
static const char gsm7_ascii_ext[] = "\f^{}\\[~]|";

/* The default alphabet beyond ASCII. */
static const uint32_t gsm7_other[] = {
	0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF, 0x00C4, 0x00C5,
	0x00C6, 0x00C7, 0x00C9, 0x00D1, 0x00D6, 0x00D8, 0x00DC, 0x00DF,
	0x00E0, 0x00E4, 0x00E5, 0x00E6, 0x00E8, 0x00E9, 0x00EC, 0x00F1,
	0x00F2, 0x00F6, 0x00F8, 0x00F9, 0x00FC, 0x0393, 0x0394, 0x0398,
	0x039B, 0x039E, 0x03A0, 0x03A3, 0x03A6, 0x03A8, 0x03A9,
};
#define EURO 0x20AC /* the extension table's one character beyond ASCII */

/* Septets of one code point in GSM-7, or 0 when it has none. */
static int gsm7_septets(uint32_t cp)
{
	if (cp == 0)
		return 0;
	if (cp < 0x80) {
		if (memchr(gsm7_ascii, (int)cp, sizeof(gsm7_ascii) - 1))
			return 1;
		if (memchr(gsm7_ascii_ext, (int)cp, sizeof(gsm7_ascii_ext) - 1))
			return 2;
		return 0;
	}
	if (cp == EURO)
		return 2;
	for (size_t i = 0; i < ARRAY_LEN(gsm7_other); i++)
		if (gsm7_other[i] == cp)
			return 1;
	return 0;
}

/*
 * Decodes one UTF-8 character at *p (advanced past it) into *cp.  Returns
 * 0, or KV_EINVAL for a malformed, overlong or surrogate sequence.
 */
static int utf8_next(const unsigned char **p, uint32_t *cp)
{
	const unsigned char *s = *p;
	int n;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		*p = s + 1;
		return 0;
	}
	if ((s[0] & 0xE0) == 0xC0) {
		n = 1, c = s[0] & 0x1Fu, min = 0x80;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 2, c = s[0] & 0x0Fu, min = 0x800;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 3, c = s[0] & 0x07u, min = 0x10000;
	} else {
		return KV_EINVAL;
	}
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return KV_EINVAL;
		c = c << 6 | (s[i] & 0x3Fu);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return KV_EINVAL;
	*cp = c;
	*p = s + n + 1;
	return 0;
}

int sms_count(const char *text, struct sms_count *out)
{
	const unsigned char *p = (const unsigned char *)text;
	int septets = 0, units = 0, gsm = 1;
	uint32_t cp;

	while (*p) {
		int s;

		if (utf8_next(&p, &cp) != 0)
			return KV_EINVAL;
		s = gsm7_septets(cp);
		if (s == 0)
			gsm = 0;
		septets += s;
		units += cp >= 0x10000 ? 2 : 1;
	}
	if (gsm) {
		out->encoding = SMS_GSM7;
		out->units = septets;
		out->segments = septets <= GSM7_SINGLE
					? 1
					: (septets + GSM7_PART - 1) / GSM7_PART;
	} else {
		out->encoding = SMS_UCS2;
		out->units = units;
		out->segments = units <= UCS2_SINGLE
					? 1
					: (units + UCS2_PART - 1) / UCS2_PART;
	}
	return 0;
}

const char *sms_encoding_name(enum sms_encoding e)
{
	return e == SMS_GSM7 ? "gsm7" : "ucs2";
}

/* Characters (code points) of UTF-8 text, or -1 when it is not UTF-8. */
int sms_chars(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	uint32_t cp;
	int n = 0;

	while (*p) {
		if (utf8_next(&p, &cp) != 0)
			return -1;
		n++;
	}
	return n;
}

int sms_app_hash_valid(const char *s)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
				  "rstuvwxyz0123456789+/";

	return s && strlen(s) == SMS_APP_HASH_LEN &&
	       strspn(s, set) == SMS_APP_HASH_LEN;
}
