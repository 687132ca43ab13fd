/*
 * libFuzzer harness for src/phone.cc: phone_parse() on the input as a number,
 * with the region picked by the first byte (India by default, none, a known
 * region, or two raw bytes), then the redacted and KooKoo forms of what it
 * accepted, each written into a heap buffer of exactly its size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "phone.h"

static const char *const regions[] = {"IN", "US", "GB", "DE", "SG",
				      "AE", "in", "us", "ZZ", "001"};

/* True when s is 1 to max ASCII digits. */
static int all_digits(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n > 0 && n <= max && strspn(s, "0123456789") == n;
}

/*
 * phone_redact() of text into outlen bytes, checked: terminated inside the
 * buffer, "(invalid)" or '+' and digits and stars, never the whole number.
 */
static void check_redact(const char *text, size_t outlen)
{
	char *out = malloc(outlen);
	size_t n, digits = 0;

	if (!out)
		abort();
	memset(out, 'Z', outlen);
	phone_redact(text, out, outlen);
	FUZZ_CHECK(fuzz_terminated(out, outlen));
	n = strlen(out);
	FUZZ_CHECK(n < outlen);
	if (n > 0 && strncmp(out, "(invalid)", n) != 0) {
		FUZZ_CHECK(out[0] == '+');
		FUZZ_CHECK(strspn(out + 1, "0123456789*") == n - 1);
		for (size_t i = 1; i < n; i++)
			digits += out[i] != '*';
		/* The country code (up to 3) and the last 2 stay. */
		FUZZ_CHECK(digits <= 5);
		if (n >= 8)
			FUZZ_CHECK(strchr(out, '*') != NULL);
	}
	free(out);
}

static void check_kookoo(const struct phone *p, size_t outlen)
{
	char *out = malloc(outlen);

	if (!out)
		abort();
	memset(out, 'Z', outlen);
	phone_kookoo_form(p, out, outlen);
	FUZZ_CHECK(fuzz_terminated(out, outlen));
	if (outlen >= PHONE_KOOKOO_LEN) {
		/* An Indian mobile as dialled there; any other Indian
		 * number behind the trunk 0; the rest international. */
		if (p->country_code == 91 && p->type == PHONE_MOBILE)
			FUZZ_CHECK(strcmp(out, p->national) == 0);
		else if (p->country_code == 91)
			FUZZ_CHECK(out[0] == '0' &&
				   strcmp(out + 1, p->national) == 0);
		else
			FUZZ_CHECK(strncmp(out, "00", 2) == 0 &&
				   strcmp(out + 2, p->digits) == 0);
	}
	free(out);
}

/* Everything phone.h promises about an accepted number. */
static void check_phone(const struct phone *p)
{
	struct phone again;
	char cc[8];
	size_t cclen;

	FUZZ_CHECK(fuzz_terminated(p->e164, sizeof(p->e164)));
	FUZZ_CHECK(fuzz_terminated(p->digits, sizeof(p->digits)));
	FUZZ_CHECK(fuzz_terminated(p->national, sizeof(p->national)));
	FUZZ_CHECK(fuzz_terminated(p->region, sizeof(p->region)));
	FUZZ_CHECK(all_digits(p->digits, 15));
	FUZZ_CHECK(p->e164[0] == '+' && strcmp(p->e164 + 1, p->digits) == 0);
	FUZZ_CHECK(all_digits(p->national, 15));
	/* E.164 is the country code, then the national significant number. */
	FUZZ_CHECK(p->country_code > 0 && p->country_code < 1000);
	cclen = (size_t)snprintf(cc, sizeof(cc), "%d", p->country_code);
	FUZZ_CHECK(strncmp(p->digits, cc, cclen) == 0 &&
		   strcmp(p->digits + cclen, p->national) == 0);
	FUZZ_CHECK(p->region[0] == '\0' ||
		   (strlen(p->region) == 2 && p->region[0] >= 'A' &&
		    p->region[0] <= 'Z' && p->region[1] >= 'A' &&
		    p->region[1] <= 'Z'));
	FUZZ_CHECK((int)p->type >= PHONE_UNKNOWN &&
		   (int)p->type <= PHONE_VOICEMAIL);
	FUZZ_CHECK(strcmp(phone_type_name(p->type), "unknown") != 0 ||
		   p->type == PHONE_UNKNOWN);
	/* What the store keeps reads back as the same number. */
	FUZZ_CHECK(phone_parse_digits(p->digits, &again) == 0);
	FUZZ_CHECK(strcmp(again.e164, p->e164) == 0);
	FUZZ_CHECK(again.country_code == p->country_code);

	for (size_t len = 1; len <= PHONE_REDACT_LEN; len++)
		check_redact(p->e164, len);
	check_redact(p->digits, PHONE_REDACT_LEN);
	for (size_t len = 1; len <= PHONE_KOOKOO_LEN; len++)
		check_kookoo(p, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	phone_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *country = NULL, *def = "IN";
	char raw[3] = {0};
	struct phone p;
	size_t skip = 1;
	char *number;
	int rc;

	if (size == 0)
		return 0;
	switch (data[0] & 3) {
	case 0: /* as the seed dialect: no country, India by default */
		break;
	case 1: /* no default: only international numbers */
		def = NULL;
		break;
	case 2: /* Vonage's `country`, from a list */
		country = regions[(data[0] >> 2) %
				  (sizeof(regions) / sizeof(regions[0]))];
		break;
	default: /* two raw bytes as `country`, or as the default */
		if (size < 3)
			return 0;
		memcpy(raw, data + 1, 2);
		if (data[0] & 4)
			def = raw;
		else
			country = raw;
		skip = 3;
		break;
	}
	number = fuzz_strndup(data + skip, size - skip);
	memset(&p, 0x5a, sizeof(p));
	rc = phone_parse(number, country, def, &p);
	if (rc == 0) {
		check_phone(&p);
	} else {
		static const struct phone zero;

		FUZZ_CHECK(rc == KV_EINVAL || rc == KV_ENOMEM);
		FUZZ_CHECK(memcmp(&p, &zero, sizeof(p)) == 0);
	}
	/* Redaction takes anything, e.g. a number read from the store. */
	check_redact(number, PHONE_REDACT_LEN);
	check_redact(number, 5);
	free(number);
	return 0;
}
