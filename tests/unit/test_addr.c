/*
 * Unit tests of src/addr.c: address and range parsing, IPv4-mapped IPv6 as
 * IPv4, range membership and the keys per-address limits count under.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "err.h"

static void test_parse(void **state)
{
	struct addr a;

	assert_int_equal(addr_parse("203.0.113.5", &a), 0);
	assert_int_equal(a.len, 4);
	assert_int_equal(addr_parse("2001:db8::1", &a), 0);
	assert_int_equal(a.len, 16);
	assert_int_equal(addr_parse("::ffff:203.0.113.5", &a), 0);
	assert_int_equal(a.len, 4);
	assert_int_equal(a.bytes[0], 203);
	assert_int_equal(a.bytes[3], 5);
	for (const char *const *p =
		     (const char *const[]){"", "1.2.3", "1.2.3.4.5",
					   "1.2.3.4:80", "[::1]", "::1%lo",
					   " 1.2.3.4", "example.com", NULL};
	     *p; p++)
		assert_int_equal(addr_parse(*p, &a), KV_EINVAL);
}

static void test_net(void **state)
{
	struct addr_net net;
	struct addr a;

	assert_int_equal(addr_net_parse("10.0.0.0/8", &net), 0);
	assert_int_equal(net.prefix, 8);
	assert_int_equal(addr_parse("10.255.1.2", &a), 0);
	assert_true(addr_net_contains(&net, &a));
	assert_int_equal(addr_parse("11.0.0.1", &a), 0);
	assert_false(addr_net_contains(&net, &a));
	assert_int_equal(addr_parse("::ffff:10.1.1.1", &a), 0);
	assert_true(addr_net_contains(&net, &a));
	assert_int_equal(addr_parse("2001:db8::1", &a), 0);
	assert_false(addr_net_contains(&net, &a));

	assert_int_equal(addr_net_parse("192.0.2.7", &net), 0);
	assert_int_equal(net.prefix, 32);
	assert_int_equal(addr_net_parse("2001:db8::/32", &net), 0);
	assert_int_equal(addr_parse("2001:db8:ffff::1", &a), 0);
	assert_true(addr_net_contains(&net, &a));
	assert_int_equal(addr_parse("2001:db9::1", &a), 0);
	assert_false(addr_net_contains(&net, &a));
	assert_int_equal(addr_net_parse("0.0.0.0/0", &net), 0);
	assert_int_equal(addr_parse("8.8.8.8", &a), 0);
	assert_true(addr_net_contains(&net, &a));

	for (const char *const *p =
		     (const char *const[]){"10.0.0.0/33", "10.0.0.1/8",
					   "10.0.0.0/", "10.0.0.0/x",
					   "10.0.0.0/-1", "2001:db8::/129",
					   "2001:db8::1/64", "/8", NULL};
	     *p; p++)
		assert_int_equal(addr_net_parse(*p, &net), KV_EINVAL);
}

static void test_net_list(void **state)
{
	struct addr_net nets[3];
	char bad[ADDR_TEXT_MAX];
	size_t n = 99;

	assert_int_equal(addr_net_list_parse("", nets, 3, &n, bad, sizeof(bad)),
			 0);
	assert_int_equal(n, 0);
	assert_false(addr_net_list_has(nets, n, "192.0.2.1"));
	assert_int_equal(addr_net_list_parse("192.0.2.0/24,2001:db8::/32", nets,
					     3, &n, bad, sizeof(bad)),
			 0);
	assert_int_equal(n, 2);
	assert_true(addr_net_list_has(nets, n, "192.0.2.200"));
	assert_true(addr_net_list_has(nets, n, "::ffff:192.0.2.9"));
	assert_true(addr_net_list_has(nets, n, "2001:db8:1::5"));
	assert_false(addr_net_list_has(nets, n, "192.0.3.1"));
	assert_false(addr_net_list_has(nets, n, "not an address"));
	assert_false(addr_net_list_has(nets, n, ""));

	/* The entry at fault is named; a list too long names none. */
	assert_int_equal(addr_net_list_parse("192.0.2.0/24,10.0.0.1/8", nets, 3,
					     &n, bad, sizeof(bad)),
			 KV_EINVAL);
	assert_string_equal(bad, "10.0.0.1/8");
	assert_int_equal(addr_net_list_parse("1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4",
					     nets, 3, &n, bad, sizeof(bad)),
			 KV_EINVAL);
	assert_string_equal(bad, "");
	assert_int_equal(addr_net_list_parse("1.1.1.1,,2.2.2.2", nets, 3, &n,
					     bad, sizeof(bad)),
			 KV_EINVAL);
}

static void expect_key(const char *ip, int prefix, const char *want)
{
	char key[ADDR_TEXT_MAX];
	size_t n = addr_limit_key(ip, prefix, key, sizeof(key));

	assert_string_equal(key, want);
	assert_int_equal(n, strlen(want));
}

/* The same text as inet_ntop() for every octet value in every position. */
static void test_v4_format_is_inet_ntop(void **state)
{
	unsigned char b[4];
	char mine[16], libc[INET_ADDRSTRLEN];

	for (unsigned int v = 0; v < 256; v++) {
		for (int pos = 0; pos < 4; pos++) {
			memset(b, (int)((v * 7 + 3) & 0xff), sizeof(b));
			b[pos] = (unsigned char)v;
			assert_non_null(
				inet_ntop(AF_INET, b, libc, sizeof(libc)));
			assert_int_equal(addr_v4_format(b, mine), strlen(libc));
			assert_string_equal(mine, libc);
		}
	}
	memset(b, 255, sizeof(b));
	assert_int_equal(addr_v4_format(b, mine), 15);
	assert_string_equal(mine, "255.255.255.255");
}

static void test_limit_key(void **state)
{
	expect_key("203.0.113.5", 64, "203.0.113.5");
	expect_key("::ffff:203.0.113.5", 64, "203.0.113.5");
	expect_key("2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64");
	expect_key("2001:db8:1:2::ffff", 64, "2001:db8:1:2::/64");
	expect_key("2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::/48");
	expect_key("2001:db8:1:2:3:4:5:6", 56, "2001:db8:1::/56");
	expect_key("2001:db8:1:2ff:3:4:5:6", 56, "2001:db8:1:200::/56");
	expect_key("2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6/128");
	/* Not an address (cannot come from http.c): kept as it is. */
	expect_key("unknown", 64, "unknown");

	/* Sixteen addresses of one /64 share one key. */
	for (int i = 1; i <= 16; i++) {
		char ip[64], key[ADDR_TEXT_MAX];

		snprintf(ip, sizeof(ip), "2001:db8:aa:bb:%x::%x", i * 7, i);
		addr_limit_key(ip, 64, key, sizeof(key));
		assert_string_equal(key, "2001:db8:aa:bb::/64");
	}
}

static void test_limit_key_truncates(void **state)
{
	char key[8];

	assert_int_equal(addr_limit_key("2001:db8::1", 64, key, sizeof(key)),
			 7);
	assert_int_equal(strlen(key), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_net_list),
		cmocka_unit_test(test_v4_format_is_inet_ntop),
		cmocka_unit_test(test_limit_key),
		cmocka_unit_test(test_limit_key_truncates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
