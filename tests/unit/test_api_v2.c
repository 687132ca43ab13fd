/*
 * Unit tests of the Verify v2 dialect's tables (api_v2_codes.c): every
 * problem is filled in with a 4xx/5xx status and a Vonage type URL, the
 * channels, the map from v2 workflows to the engine's, and request ids as
 * UUIDs both ways.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api_v2.h"

static void test_every_problem_is_filled(void **state)
{
	(void)state;
	for (int c = 0; c < V2_COND_COUNT; c++) {
		const struct v2_problem *p = v2_problem_of((enum v2_cond)c);

		assert_true(p->status >= 400 && p->status <= 599);
		assert_non_null(strstr(p->type, "api-errors"));
		assert_true(strncmp(p->type, "https://", 8) == 0);
		assert_true(p->title[0] && p->detail[0]);
	}
	/* Out of range: the internal error's. */
	assert_int_equal(v2_problem_of(V2_COND_COUNT)->status, 500);
	assert_int_equal(v2_problem_of(V2_TOO_MANY_WRONG)->status, 410);
	assert_int_equal(v2_problem_of(V2_CONCURRENT)->status, 409);
}

static void test_channels(void **state)
{
	(void)state;
	assert_int_equal(v2_channel_find("sms"), V2_CH_SMS);
	assert_int_equal(v2_channel_find("voice"), V2_CH_VOICE);
	assert_int_equal(v2_channel_find("whatsapp"), V2_CH_ELSEWHERE);
	assert_int_equal(v2_channel_find("silent_auth"), V2_CH_ELSEWHERE);
	assert_int_equal(v2_channel_find("SMS"), V2_CH_UNKNOWN);
	assert_int_equal(v2_channel_find(NULL), V2_CH_UNKNOWN);
}

static void test_workflows(void **state)
{
	static const struct {
		enum v2_channel ch[3];
		size_t n;
		int id;
	} rows[] = {
		{{V2_CH_SMS}, 1, 6},
		{{V2_CH_VOICE}, 1, 7},
		{{V2_CH_SMS, V2_CH_VOICE}, 2, 5},
		{{V2_CH_SMS, V2_CH_SMS}, 2, 4},
		{{V2_CH_VOICE, V2_CH_VOICE}, 2, 3},
		{{V2_CH_SMS, V2_CH_SMS, V2_CH_VOICE}, 3, 2},
		{{V2_CH_SMS, V2_CH_VOICE, V2_CH_VOICE}, 3, 1},
		{{V2_CH_VOICE, V2_CH_SMS}, 2, -1},
		{{V2_CH_SMS, V2_CH_SMS, V2_CH_SMS}, 3, -1},
		{{V2_CH_ELSEWHERE}, 1, -1},
		{{V2_CH_SMS}, 0, -1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(v2_workflow_id(rows[i].ch, rows[i].n),
				 rows[i].id);
	assert_int_equal(v2_workflow_id(rows[0].ch, 4), -1);
}

static void test_uuid_both_ways(void **state)
{
	const char *id = "0123456789abcdef0123456789abcdef";
	char uuid[V2_UUID_LEN + 1], back[ENGINE_REQUEST_ID_LEN + 1];

	(void)state;
	v2_uuid_from_id(id, uuid);
	assert_string_equal(uuid, "01234567-89ab-cdef-0123-456789abcdef");
	assert_int_equal(v2_id_from_uuid(uuid, back), 0);
	assert_string_equal(back, id);
	assert_int_equal(v2_id_from_uuid("01234567-89AB-CDEF-0123-456789ABCDEF",
					 back),
			 0);
	assert_string_equal(back, id);
	assert_int_equal(v2_id_from_uuid(id, back), -1);
	assert_string_equal(back, "");
	assert_int_equal(v2_id_from_uuid("01234567-89ab-cdef-0123-456789abcdeg",
					 back),
			 -1);
	assert_int_equal(v2_id_from_uuid("01234567+89ab-cdef-0123-456789abcdef",
					 back),
			 -1);
	assert_int_equal(v2_id_from_uuid(NULL, back), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_problem_is_filled),
		cmocka_unit_test(test_channels),
		cmocka_unit_test(test_workflows),
		cmocka_unit_test(test_uuid_both_ways),
	};

	return cmocka_run_group_tests_name("api_v2", tests, NULL, NULL);
}
