/*
 * Unit tests of the v2 templates' tie to DLT (api_v2_dlt.c): which
 * fragment texts are refused whatever the channel, and which sms texts are
 * the shipped set's registered ones, ${time-limit-unit} standing for the
 * registration's word after the minutes slot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api_v2.h"
#include "sms.h"

#define EN "${brand} code: ${code}. Valid for ${time-limit} min."
#define EN_UNIT                                                                \
	"${brand} code: ${code}. Valid for ${time-limit} ${time-limit-unit}."

static int load(void **state)
{
	static const struct sms_limits limits = {10, 60};
	char err[512];

	(void)state;
	return sms_templates_load("sms_templates", &limits, err, sizeof(err));
}

static void test_text_checks(void **state)
{
	static const char *const refused[] = {
		"no code here",
		"${code} and ${nope}",
		"${code} and ${time-limit-units}",
		"${brand} ${time-limit} ${time-limit-unit}",
		"${code",
	};
	char big[1100];

	(void)state;
	assert_null(v2_fragment_text_check("${code}"));
	assert_null(v2_fragment_text_check(EN_UNIT));
	assert_null(v2_fragment_text_check("$5 off, code ${code}"));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (!v2_fragment_text_check(refused[i]))
			fail_msg("accepted: %s", refused[i]);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "${code}", 7);
	assert_non_null(v2_fragment_text_check(big));
}

static void test_registered_texts(void **state)
{
	const struct sms_template *en = sms_template_pin("en");
	const struct sms_template *hi = sms_template_pin("hi");

	(void)state;
	assert_ptr_equal(v2_dlt_match("en-us", EN), en);
	assert_ptr_equal(v2_dlt_match("en-us", EN_UNIT), en);
	/* Another language without a set of its own: English's. */
	assert_ptr_equal(v2_dlt_match("fr-fr", EN_UNIT), en);
	assert_ptr_equal(v2_dlt_match("hi-in", "कोड ${code}"), hi);
	/* Not the locale's registration, or not exactly it. */
	assert_null(v2_dlt_match("hi-in", EN));
	assert_null(v2_dlt_match("en-us", "कोड ${code}"));
	assert_null(v2_dlt_match("en-us", EN " "));
	assert_null(v2_dlt_match("en-us", "${brand} code: ${code}. Valid for "
					  "${time-limit} minutes."));
	assert_null(v2_dlt_match("en-us", "${code} code: ${brand}. Valid for "
					  "${time-limit} min."));
	/* The Hindi text has no minutes slot, so no unit word. */
	assert_null(v2_dlt_match("hi-in", "कोड ${code} ${time-limit-unit}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_checks),
		cmocka_unit_test(test_registered_texts),
	};

	return cmocka_run_group_tests_name("api_v2_dlt", tests, load, NULL);
}
