/*
 * Test numbers (the test_numbers setting): numbers whose PIN is fixed and
 * to which nothing is sent, for an app's own tests and store reviews.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "phone.h"
#include "verify_internal.h"

#define TEST_NUMBERS_MAX 64

/* Set before any request runs (verify_init), read-only afterwards. */
static struct test_number tests[TEST_NUMBERS_MAX];
static size_t ntests;

int verify_tests_parse(const char *list, const char *default_country, char *err,
		       size_t errlen)
{
	char item[64];
	const char *p = list;

	ntests = 0;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		struct test_number *t = &tests[ntests];
		struct phone ph;
		char *colon;
		size_t pinlen;

		if (n == 0 || n >= sizeof(item) || ntests == TEST_NUMBERS_MAX)
			goto bad;
		memcpy(item, p, n);
		item[n] = '\0';
		colon = strchr(item, ':');
		if (!colon)
			goto bad;
		*colon = '\0';
		pinlen = strlen(colon + 1);
		if (phone_parse(item, NULL, default_country, &ph) != 0 ||
		    pinlen < ENGINE_PIN_MIN || pinlen > ENGINE_PIN_MAX ||
		    strspn(colon + 1, "0123456789") != pinlen)
			goto bad;
		memcpy(t->digits, ph.digits, sizeof(t->digits));
		memcpy(t->pin, colon + 1, pinlen + 1);
		ntests++;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "test_numbers: expected number:PIN[,number:PIN...] with "
		 "valid numbers and 4-10 digit PINs, at most %d entries",
		 TEST_NUMBERS_MAX);
	return KV_ECONFIG;
}

const struct test_number *verify_test_find(const char *digits)
{
	for (size_t i = 0; i < ntests; i++)
		if (strcmp(tests[i].digits, digits) == 0)
			return &tests[i];
	return NULL;
}
