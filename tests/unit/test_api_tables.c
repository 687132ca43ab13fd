/*
 * Unit tests of the API layer's pure parts: the template filler both
 * dialects' error texts go through, and each dialect's tables from service
 * results to conditions (every result answered, each condition with a
 * status, a text and the side effects its reply needs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api.h"
#include "api_seed.h"
#include "api_vonage.h"
#include "util.h"

static void test_format_fills_argument_and_number(void **state)
{
	char text[64];

	api_text_format(text, sizeof(text), "a `%s` in %d seconds", "x", 30);
	assert_string_equal(text, "a `x` in 30 seconds");
	api_text_format(text, sizeof(text), "[%s]", NULL, 0);
	assert_string_equal(text, "[]");
	/* A lone '%' or another letter is copied as it is. */
	api_text_format(text, sizeof(text), "100% %x %", "y", 0);
	assert_string_equal(text, "100% %x %");
}

static void test_format_truncates_inside_the_buffer(void **state)
{
	char text[8];

	memset(text, 'Z', sizeof(text));
	api_text_format(text, sizeof(text), "abc%sdef", "0123456789", 0);
	assert_string_equal(text, "abc0123");
	api_text_format(text, 1, "abc", NULL, 0);
	assert_string_equal(text, "");
}

/* Every condition has a status in Vonage's range and a text. */
static void test_every_condition_has_a_reply(void **state)
{
	char text[VONAGE_TEXT_MAX];

	for (int c = 0; c < VONAGE_COND_COUNT; c++) {
		int status = vonage_error_text((enum vonage_cond)c, "x", text,
					       sizeof(text));

		assert_in_range(status, 1, 101);
		assert_true(strlen(text) > 0);
	}
	assert_int_equal(vonage_cond_flags(VONAGE_OK), 0);
}

/* The reply tables name only real conditions, or the success reply. */
static void assert_conds(const enum vonage_cond *conds, size_t n, size_t ok)
{
	for (size_t i = 0; i < n; i++) {
		if (i == ok)
			assert_int_equal(conds[i], VONAGE_OK);
		else
			assert_in_range(conds[i], 0, VONAGE_COND_COUNT - 1);
	}
}

static void test_only_success_answers_ok(void **state)
{
	assert_conds(vonage_admit_conds, ARRAY_LEN(vonage_admit_conds),
		     API_READY);
	assert_conds(vonage_id_conds, ARRAY_LEN(vonage_id_conds), VERIFY_OK);
	assert_conds(vonage_search_conds, ARRAY_LEN(vonage_search_conds),
		     VERIFY_OK);
	assert_conds(vonage_check_conds, ARRAY_LEN(vonage_check_conds),
		     CHECK_OK);
	assert_conds(vonage_control_conds, ARRAY_LEN(vonage_control_conds),
		     CONTROL_OK);
	for (size_t i = 0; i < ARRAY_LEN(vonage_request_replies); i++) {
		if (i == VERIFY_OK)
			assert_int_equal(vonage_request_replies[i].cond,
					 VONAGE_OK);
		else
			assert_in_range(vonage_request_replies[i].cond, 0,
					VONAGE_COND_COUNT - 1);
	}
	/* The tables are as long as the enums they are indexed by. */
	assert_int_equal(ARRAY_LEN(vonage_id_conds), VERIFY_PENDING + 1);
	assert_int_equal(ARRAY_LEN(vonage_check_conds), CHECK_EXPIRED + 1);
	assert_int_equal(ARRAY_LEN(vonage_control_conds),
			 CONTROL_RESEND_CAP + 1);
}

/* Vonage's documented status of each check and control outcome. */
static void test_outcomes_map_to_vonage_statuses(void **state)
{
	static const struct {
		enum check_outcome oc;
		int status;
	} checks[] = {
		{CHECK_WRONG, 16},    {CHECK_WRONG_LAST, 17},
		{CHECK_FAILED, 17},   {CHECK_ALREADY_VERIFIED, 6},
		{CHECK_CANCELLED, 6}, {CHECK_EXPIRED, 6},
	};
	static const struct {
		enum control_outcome oc;
		int status;
	} controls[] = {
		{CONTROL_NOT_ACTIVE, 6}, {CONTROL_TOO_EARLY, 19},
		{CONTROL_TOO_LATE, 19},  {CONTROL_NO_MORE_EVENTS, 19},
		{CONTROL_COOLDOWN, 1},   {CONTROL_RESEND_CAP, 1},
	};
	char text[VONAGE_TEXT_MAX];

	for (size_t i = 0; i < ARRAY_LEN(checks); i++)
		assert_int_equal(
			vonage_error_text(vonage_check_conds[checks[i].oc], "r",
					  text, sizeof(text)),
			checks[i].status);
	for (size_t i = 0; i < ARRAY_LEN(controls); i++)
		assert_int_equal(
			vonage_error_text(vonage_control_conds[controls[i].oc],
					  "r", text, sizeof(text)),
			controls[i].status);
	assert_int_equal(vonage_search_conds[VERIFY_NOT_FOUND],
			 VONAGE_NO_RESPONSE);
	assert_int_equal(vonage_id_conds[VERIFY_NOT_FOUND], VONAGE_NOT_FOUND);
	assert_int_equal(vonage_id_conds[VERIFY_ERROR], VONAGE_INTERNAL);
}

/* A request's refusals: which parameter each names, and how. */
static void test_request_replies_name_their_argument(void **state)
{
	const struct vonage_reply *bad_number =
		&vonage_request_replies[VERIFY_BAD_NUMBER];
	const struct vonage_reply *bad_param =
		&vonage_request_replies[VERIFY_BAD_PARAM];
	const struct vonage_reply *unreachable =
		&vonage_request_replies[VERIFY_UNREACHABLE];
	const struct vonage_reply *concurrent =
		&vonage_request_replies[VERIFY_CONCURRENT];

	assert_int_equal(bad_number->cond, VONAGE_BAD_VALUE);
	assert_int_equal(bad_number->arg, VONAGE_ARG_DEFAULT);
	assert_string_equal(bad_number->dflt, "number");
	assert_int_equal(bad_param->arg, VONAGE_ARG_BAD);
	assert_int_equal(unreachable->cond, VONAGE_BAD_INPUT);
	assert_non_null(unreachable->wrap);
	assert_non_null(strstr(unreachable->wrap, "%s"));
	assert_int_equal(concurrent->cond, VONAGE_CONCURRENT);
	assert_int_equal(concurrent->arg, VONAGE_ARG_RID);
	assert_int_equal(vonage_request_replies[VERIFY_THROTTLED].cond,
			 VONAGE_THROTTLED);
}

/* The side effects each condition's reply carries. */
static void test_condition_flags(void **state)
{
	assert_true(vonage_cond_flags(VONAGE_THROTTLED) & VONAGE_F_RETRY);
	assert_true(vonage_cond_flags(VONAGE_RESEND_COOLDOWN) &
		    VONAGE_F_RESEND);
	assert_false(vonage_cond_flags(VONAGE_RESEND_CAP) &
		     (VONAGE_F_RETRY | VONAGE_F_RESEND));
	assert_true(vonage_cond_flags(VONAGE_CONCURRENT) & VONAGE_F_RID);
	/* Junk: what a page working as written never causes. */
	assert_true(vonage_cond_flags(VONAGE_MISSING) & VONAGE_F_JUNK);
	assert_true(vonage_cond_flags(VONAGE_NOT_FOUND) & VONAGE_F_JUNK);
	assert_false(vonage_cond_flags(VONAGE_WRONG_CODE) & VONAGE_F_JUNK);
	assert_false(vonage_cond_flags(VONAGE_INTERNAL) & VONAGE_F_JUNK);
	assert_false(vonage_cond_flags(VONAGE_THROTTLED) & VONAGE_F_JUNK);
}

/* ---- the seed dialect ---- */

static void test_seed_every_condition_has_a_reply(void **state)
{
	char text[SEED_TEXT_MAX];

	for (int c = 0; c < SEED_COND_COUNT; c++) {
		int status = seed_error_text((enum seed_cond)c, "x", text,
					     sizeof(text));

		if (c == SEED_OK || c == SEED_BY_STATE) {
			assert_int_equal(status, -1);
			continue;
		}
		assert_in_range(status, 1, 101);
		assert_true(strlen(text) > 0);
	}
	assert_int_equal(
		seed_error_text(SEED_COND_COUNT, "x", text, sizeof(text)), -1);
	assert_string_equal(text, "");
}

/* A table names real replies, success only at `ok` (SIZE_MAX: none). */
static void assert_seed_conds(const enum seed_cond *conds, size_t n, size_t ok)
{
	for (size_t i = 0; i < n; i++) {
		if (i == ok) {
			assert_int_equal(conds[i], SEED_OK);
			continue;
		}
		assert_int_not_equal(conds[i], SEED_OK);
		assert_in_range(conds[i], 0, SEED_COND_COUNT - 1);
	}
}

static void test_seed_only_success_answers_ok(void **state)
{
	assert_seed_conds(seed_admit_conds, ARRAY_LEN(seed_admit_conds),
			  API_READY);
	assert_seed_conds(seed_id_conds, ARRAY_LEN(seed_id_conds), VERIFY_OK);
	assert_seed_conds(seed_search_conds, ARRAY_LEN(seed_search_conds),
			  VERIFY_OK);
	assert_seed_conds(seed_check_conds, ARRAY_LEN(seed_check_conds),
			  CHECK_OK);
	assert_seed_conds(seed_control_conds, ARRAY_LEN(seed_control_conds),
			  CONTROL_OK);
	assert_seed_conds(seed_state_conds, ARRAY_LEN(seed_state_conds),
			  SIZE_MAX);
	/* A number never verified is answered, not refused. */
	assert_int_equal(seed_number_conds[VERIFY_OK], SEED_OK);
	assert_int_equal(seed_number_conds[VERIFY_NOT_FOUND], SEED_OK);
	assert_int_equal(seed_number_conds[VERIFY_BAD_NUMBER], SEED_BAD_VALUE);
	for (size_t i = 0; i < ARRAY_LEN(seed_request_replies); i++)
		if (i != VERIFY_OK)
			assert_int_not_equal(seed_request_replies[i].cond,
					     SEED_OK);
	/* Only a refused control command is answered by the state. */
	assert_int_equal(seed_control_conds[CONTROL_NOT_ACTIVE], SEED_BY_STATE);
}

/* The original's status of each outcome, and what each reply carries. */
static void test_seed_statuses_and_flags(void **state)
{
	static const struct {
		enum check_outcome oc;
		int status;
	} checks[] = {
		{CHECK_WRONG, 16},     {CHECK_WRONG_LAST, 16},
		{CHECK_FAILED, 15},    {CHECK_ALREADY_VERIFIED, 18},
		{CHECK_CANCELLED, 19}, {CHECK_EXPIRED, 6},
	};
	char text[SEED_TEXT_MAX];

	for (size_t i = 0; i < ARRAY_LEN(checks); i++)
		assert_int_equal(seed_error_text(seed_check_conds[checks[i].oc],
						 NULL, text, sizeof(text)),
				 checks[i].status);
	assert_int_equal(
		seed_error_text(seed_request_replies[VERIFY_BLOCKED].cond,
				"fraud", text, sizeof(text)),
		7);
	assert_string_equal(text, "Number blocked: fraud");
	assert_true(seed_cond_flags(SEED_THROTTLED) & SEED_RETRY);
	assert_true(seed_cond_flags(SEED_RESEND_COOLDOWN) & SEED_RESEND);
	assert_true(seed_cond_flags(SEED_CONCURRENT) & SEED_RID);
	assert_int_equal(seed_cond_flags(SEED_RESEND_CAP), 0);
	assert_int_equal(seed_request_replies[VERIFY_CONCURRENT].arg,
			 SEED_ARG_RID);
	assert_string_equal(seed_request_replies[VERIFY_BAD_NUMBER].dflt,
			    "phone_no");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_fills_argument_and_number),
		cmocka_unit_test(test_format_truncates_inside_the_buffer),
		cmocka_unit_test(test_every_condition_has_a_reply),
		cmocka_unit_test(test_only_success_answers_ok),
		cmocka_unit_test(test_outcomes_map_to_vonage_statuses),
		cmocka_unit_test(test_request_replies_name_their_argument),
		cmocka_unit_test(test_condition_flags),
		cmocka_unit_test(test_seed_every_condition_has_a_reply),
		cmocka_unit_test(test_seed_only_success_answers_ok),
		cmocka_unit_test(test_seed_statuses_and_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
