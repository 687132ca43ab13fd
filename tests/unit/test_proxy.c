/*
 * Unit tests of src/proxy.c: the client behind trusted proxies from
 * X-Forwarded-For and Forwarded lines, walked from the right, and where a
 * malformed hop stops the walk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "err.h"
#include "proxy.h"

static void expect(const char *peer, const char *const *lines, size_t n,
		   enum proxy_header kind, const char *want)
{
	char client[ADDR_TEXT_MAX];

	proxy_client(peer, lines, n, kind, client, sizeof(client));
	assert_string_equal(client, want);
}

#define XFF(peer, want, ...)                                                   \
	expect(peer, (const char *const[]){__VA_ARGS__},                       \
	       sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *),    \
	       PROXY_X_FORWARDED_FOR, want)
#define FWD(peer, want, ...)                                                   \
	expect(peer, (const char *const[]){__VA_ARGS__},                       \
	       sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *),    \
	       PROXY_FORWARDED, want)

static int setup(void **state)
{
	return proxy_set_trusted("127.0.0.1,10.0.0.0/8,2001:db8:ff::/48");
}

static void test_untrusted_peer_is_the_client(void **state)
{
	XFF("203.0.113.1", "203.0.113.1", "198.51.100.1");
	FWD("203.0.113.1", "203.0.113.1", "for=198.51.100.1");
	expect("127.0.0.1", NULL, 0, PROXY_X_FORWARDED_FOR, "127.0.0.1");
}

static void test_x_forwarded_for(void **state)
{
	XFF("127.0.0.1", "198.51.100.1", "198.51.100.1");
	/* A client's own line before the proxy's is not believed. */
	XFF("127.0.0.1", "198.51.100.7", "203.0.113.66", "198.51.100.7");
	/* Trusted hops (a range too) are passed, across lines. */
	XFF("127.0.0.1", "203.0.113.5", "192.0.2.1, 203.0.113.5, 10.1.2.3",
	    "10.200.0.1 ,\t10.0.0.9");
	/* Every hop trusted: the leftmost. */
	XFF("127.0.0.1", "10.0.0.1", "10.0.0.1, 10.0.0.2");
	XFF("127.0.0.1", "2001:db8::1", "2001:db8::1, 2001:db8:ff:1::1");
	XFF("127.0.0.1", "198.51.100.1", "::ffff:10.0.0.1, 198.51.100.1");
}

static void test_x_forwarded_for_garbage_stops(void **state)
{
	XFF("127.0.0.1", "127.0.0.1", "not-an-ip");
	XFF("127.0.0.1", "127.0.0.1", "");
	XFF("127.0.0.1", "127.0.0.1", "198.51.100.1:4711");
	XFF("127.0.0.1", "127.0.0.1", "[2001:db8::1]");
	XFF("127.0.0.1", "127.0.0.1", "198.51.100.1,");
	XFF("127.0.0.1", "10.9.9.9", "198.51.100.1, garbage", "10.9.9.9");
	XFF("127.0.0.1", "10.9.9.9", "198.51.100.1,, 10.9.9.9");
}

static void test_forwarded(void **state)
{
	FWD("127.0.0.1", "198.51.100.1", "for=198.51.100.1");
	FWD("127.0.0.1", "198.51.100.1", "For=\"198.51.100.1:4711\"");
	FWD("127.0.0.1", "2001:db8::17", "for=\"[2001:db8::17]:4711\"");
	FWD("127.0.0.1", "2001:db8::17", "for=\"[2001:db8::17]\"");
	FWD("127.0.0.1", "198.51.100.1",
	    "for=192.0.2.43;proto=https, for=198.51.100.1;by=10.0.0.1",
	    "proto=http;for=10.1.1.1;host=\"a,b\"");
	/* A client's own element before the proxy's is not believed. */
	FWD("127.0.0.1", "198.51.100.7", "for=203.0.113.66",
	    "for=198.51.100.7");
}

static void test_forwarded_garbage_stops(void **state)
{
	FWD("127.0.0.1", "127.0.0.1", "for=unknown");
	FWD("127.0.0.1", "127.0.0.1", "for=_hidden");
	FWD("127.0.0.1", "127.0.0.1", "proto=https");
	FWD("127.0.0.1", "127.0.0.1", "for=2001:db8::1");
	FWD("127.0.0.1", "127.0.0.1", "for=\"[198.51.100.1]\"");
	FWD("127.0.0.1", "127.0.0.1", "for=\"[2001:db8::1]x\"");
	FWD("127.0.0.1", "127.0.0.1", "for=\"198.51\\.100.1\"");
	FWD("127.0.0.1", "10.0.0.5", "for=198.51.100.1, for=unknown",
	    "for=10.0.0.5");
	/* Each parameter at most once per element (RFC 7239 section 4). */
	FWD("127.0.0.1", "127.0.0.1", "for=198.51.100.1;for=203.0.113.66");
	FWD("127.0.0.1", "127.0.0.1",
	    "for=198.51.100.1;proto=http;FOR=10.0.0.1");
}

static void test_settings(void **state)
{
	enum proxy_header h;

	assert_int_equal(proxy_header_parse("x-forwarded-for", &h), 0);
	assert_int_equal(h, PROXY_X_FORWARDED_FOR);
	assert_int_equal(proxy_header_parse("Forwarded", &h), 0);
	assert_int_equal(h, PROXY_FORWARDED);
	assert_int_equal(proxy_header_parse("X-Real-IP", &h), KV_EINVAL);
	assert_int_equal(proxy_set_trusted("10.0.0.0/33"), KV_EINVAL);
	/* A refused list trusts nobody. */
	XFF("127.0.0.1", "127.0.0.1", "198.51.100.1");
	assert_int_equal(proxy_set_trusted(""), 0);
	XFF("127.0.0.1", "127.0.0.1", "198.51.100.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_untrusted_peer_is_the_client,
				       setup),
		cmocka_unit_test_setup(test_x_forwarded_for, setup),
		cmocka_unit_test_setup(test_x_forwarded_for_garbage_stops,
				       setup),
		cmocka_unit_test_setup(test_forwarded, setup),
		cmocka_unit_test_setup(test_forwarded_garbage_stops, setup),
		cmocka_unit_test_setup(test_settings, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
