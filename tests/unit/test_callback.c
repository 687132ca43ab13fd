/*
 * Unit tests of status callbacks' pure parts: which addresses are public
 * (src/callback_addr.c, a table of v4, v6 and v4-mapped cases), the form of
 * a callback URL, the JWT and payload hash (src/callback_jwt.c, a known
 * answer computed apart with Python's hmac), and an event's body.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "callback.h"
#include "err.h"
#include "table.h"
#include "util.h"
#include "verify_callback.h"

struct addr_row {
	const char *name; /* the address */
	int public;
};

static struct addr_row addr_rows[] = {
	{"8.8.8.8", 1},
	{"93.184.216.34", 1},
	{"0.0.0.0", 0},
	{"10.1.2.3", 0},
	{"100.64.0.1", 0},
	{"127.0.0.1", 0},
	{"127.255.255.254", 0},
	{"169.254.169.254", 0}, /* cloud metadata */
	{"172.16.0.1", 0},
	{"172.31.255.255", 0},
	{"172.32.0.1", 1},
	{"192.168.1.1", 0},
	{"192.0.2.1", 0},
	{"198.18.0.1", 0},
	{"224.0.0.1", 0},
	{"239.255.255.250", 0},
	{"240.0.0.1", 0},
	{"255.255.255.255", 0},
	{"2606:4700:4700::1111", 1},
	{"2a00:1450:4001::200e", 1},
	{"::", 0},
	{"::1", 0},
	{"::127.0.0.1", 0}, /* v4-compatible */
	{"::ffff:127.0.0.1", 0},
	{"::ffff:10.0.0.1", 0},
	{"::ffff:169.254.169.254", 0},
	{"::ffff:8.8.8.8", 1},
	{"64:ff9b::a00:1", 0}, /* NAT64 of 10.0.0.1 */
	{"64:ff9b::808:808", 1},
	{"fe80::1", 0},
	{"febf::1", 0},
	{"fec0::1", 0},
	{"fc00::1", 0},
	{"fd12:3456::1", 0},
	{"ff02::1", 0},
	{"2001:db8::1", 0},
	{"2002:a00:1::1", 0}, /* 6to4 */
	{"100::1", 0},
};

static void test_addr_public(void **state)
{
	const struct addr_row *row = *state;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;

	memset(&in, 0, sizeof(in));
	memset(&in6, 0, sizeof(in6));
	if (inet_pton(AF_INET, row->name, &in.sin_addr) == 1) {
		in.sin_family = AF_INET;
		assert_int_equal(callback_addr_public((struct sockaddr *)&in),
				 row->public);
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, row->name, &in6.sin6_addr), 1);
	in6.sin6_family = AF_INET6;
	assert_int_equal(callback_addr_public((struct sockaddr *)&in6),
			 row->public);
}

struct url_row {
	const char *name; /* the URL */
	int ok;
	const char *host;
	int port;
};

static struct url_row url_rows[] = {
	{"https://hooks.example/kv?x=1", 1, "hooks.example", 443},
	{"https://hooks.example:8443/kv", 1, "hooks.example", 8443},
	{"https://[2606:4700::1]/kv", 1, "[2606:4700::1]", 443},
	{"http://localhost:9000/cb", 1, "localhost", 9000},
	{"http://127.0.0.1:9000/cb", 1, "127.0.0.1", 9000},
	{"http://[::1]:9000/cb", 1, "[::1]", 9000},
	{"http://hooks.example/kv", 0, NULL, 0},
	{"http://10.0.0.1/kv", 0, NULL, 0},
	{"ftp://hooks.example/kv", 0, NULL, 0},
	{"https://user:pw@hooks.example/kv", 0, NULL, 0},
	{"hooks.example/kv", 0, NULL, 0},
	{"", 0, NULL, 0},
};

static void test_url(void **state)
{
	const struct url_row *row = *state;
	struct callback_target t;
	char why[160] = "";
	int rc = callback_url_parse(row->name, &t, why, sizeof(why));

	if (!row->ok) {
		assert_int_equal(rc, KV_EINVAL);
		assert_non_null(strstr(why, "callback URL"));
		return;
	}
	assert_int_equal(rc, 0);
	assert_string_equal(t.host, row->host);
	assert_int_equal(t.port, row->port);
}

static void test_resolve_refuses_loopback(void **state)
{
	struct callback_target t;
	char why[160];

	assert_int_equal(callback_url_parse("http://127.0.0.1:1/x", &t, why,
					    sizeof(why)),
			 0);
	assert_int_equal(callback_resolve(&t, 0, why, sizeof(why)), KV_EINVAL);
	assert_non_null(strstr(why, "public"));
	assert_int_equal(callback_resolve(&t, 1, why, sizeof(why)), 0);
	assert_string_equal(t.addr, "127.0.0.1");
}

static void test_jwt_known_answer(void **state)
{
	static const char body[] = "{\"type\":\"event\"}";
	struct callback_claims cl = {.iat = 1700000000,
				     .jti = "00112233445566778899aabbccddeeff",
				     .api_key = "abcd1234abcd1234",
				     .body = body};
	char hash[65], jwt[1024], small[64];

	callback_payload_hash(body, hash);
	assert_string_equal(hash, "f89b6b9618f40e84cd2b6d914748a92072a8906f30"
				  "470d0666062ca08e9f5f5a");
	assert_int_equal(callback_jwt(&cl, "shh-secret", jwt, sizeof(jwt)), 0);
	assert_string_equal(
		jwt,
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MDAwMDAwMDAs"
		"Imp0aSI6IjAwMTEyMjMzNDQ1NTY2Nzc4ODk5YWFiYmNjZGRlZWZmIiwiaXNzI"
		"joiS29va29vVmVyaWZ5IiwicGF5bG9hZF9oYXNoIjoiZjg5YjZiOTYxOGY0MG"
		"U4NGNkMmI2ZDkxNDc0OGE5MjA3MmE4OTA2ZjMwNDcwZDA2NjYwNjJjYTA4ZTl"
		"mNWY1YSIsImFwaV9rZXkiOiJhYmNkMTIzNGFiY2QxMjM0In0.57b5SezBV4jU"
		"btrQF2a1FLMa6eZ2mXnqAs1RWFdrBT0");
	assert_int_equal(callback_jwt(&cl, "shh-secret", small, sizeof(small)),
			 KV_ERANGE);
}

/* An event body of r at 1700000000123 ms, parsed (the caller frees it). */
static json_t *event_json(const struct vf_record *r, const char *channel,
			  const char *status, int final)
{
	char out[512];
	json_t *o;

	assert_int_equal(verify_callback_event_body(r, channel, status, final,
						    1700000000123LL, out,
						    sizeof(out)),
			 0);
	o = json_loads(out, 0, NULL);
	assert_non_null(o);
	return o;
}

static void test_event_body(void **state)
{
	struct vf_record r;
	char out[64];
	json_t *o;

	memset(&r, 0, sizeof(r));
	memcpy(r.v.request_id, "0123456789abcdef0123456789abcdef", 33);
	o = event_json(&r, "sms", "completed", 1);
	assert_string_equal(json_string_value(json_object_get(o, "type")),
			    "event");
	assert_string_equal(
		json_string_value(json_object_get(o, "triggered_at")),
		"2023-11-14T22:13:20.123Z");
	assert_string_equal(
		json_string_value(json_object_get(o, "finalized_at")),
		"2023-11-14T22:13:20.123Z");
	assert_string_equal(json_string_value(json_object_get(o, "status")),
			    "completed");
	/* No client_ref given at the start: none in the body. */
	assert_null(json_object_get(o, "client_ref"));
	json_decref(o);
	/* One given: the body carries it back, as given. */
	snprintf(r.client_ref, sizeof(r.client_ref), "order-42 \"x\"");
	o = event_json(&r, "voice", "sent", 0);
	assert_string_equal(json_string_value(json_object_get(o, "client_ref")),
			    "order-42 \"x\"");
	assert_null(json_object_get(o, "finalized_at"));
	json_decref(o);
	assert_int_equal(verify_callback_event_body(&r, "sms", "sent", 0, 0,
						    out, 40),
			 KV_ERANGE);
}

int main(void)
{
	static struct table_tests t;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_refuses_loopback),
		cmocka_unit_test(test_jwt_known_answer),
		cmocka_unit_test(test_event_body),
	};

	if (sodium_init() < 0)
		return 1;
	TABLE_ADD(&t, test_addr_public, addr_rows);
	TABLE_ADD(&t, test_url, url_rows);
	table_add_tests(&t, tests, ARRAY_LEN(tests));
	return table_run(&t);
}
