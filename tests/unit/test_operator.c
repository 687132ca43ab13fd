/*
 * Unit tests of the operator credential: the token's form, that it follows
 * the secret and the epoch, and that only `Authorization: Bearer <token>`
 * with this deployment's token passes (a tenant's Basic credentials, another
 * epoch's token, a cut or lengthened one do not).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "config.h"
#include "crypto.h"
#include "http.h"
#include "operator.h"

static const unsigned char secret_a[32] = {1, 2, 3};
static const unsigned char secret_b[32] = {9, 8, 7};

static int setup(void **state)
{
	assert_true(sodium_init() >= 0);
	crypto_set_secret(secret_a);
	return 0;
}

static void use_epoch(long epoch)
{
	struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.operator_token_epoch = (int)epoch;
	operator_init(&cfg);
}

/* Whether a request with this Authorization header is the operator's. */
static int passes(const char *authorization)
{
	struct http_req req;

	memset(&req, 0, sizeof(req));
	req.authorization = authorization;
	return operator_request_ok(&req);
}

static void test_token_form_follows_secret_and_epoch(void **state)
{
	char a1[CRYPTO_OPERATOR_TOKEN_LEN + 1], a1b[sizeof(a1)];
	char a2[sizeof(a1)], b1[sizeof(a1)];

	crypto_operator_token(1, a1);
	crypto_operator_token(1, a1b);
	crypto_operator_token(2, a2);
	crypto_set_secret(secret_b);
	crypto_operator_token(1, b1);
	crypto_set_secret(secret_a);

	assert_int_equal(strlen(a1), CRYPTO_OPERATOR_TOKEN_LEN);
	assert_memory_equal(a1, "kvop_", 5);
	assert_int_equal(strspn(a1 + 5, "0123456789abcdef"),
			 CRYPTO_OPERATOR_TOKEN_LEN - 5);
	assert_string_equal(a1, a1b);
	assert_string_not_equal(a1, a2);
	assert_string_not_equal(a1, b1);
}

static void test_only_the_bearer_token_of_the_epoch_passes(void **state)
{
	char tok[CRYPTO_OPERATOR_TOKEN_LEN + 1], old[sizeof(tok)];
	char h[128];

	crypto_operator_token(3, tok);
	crypto_operator_token(2, old);
	use_epoch(3);

	snprintf(h, sizeof(h), "Bearer %s", tok);
	assert_true(passes(h));
	snprintf(h, sizeof(h), "bearer  %s", tok);
	assert_true(passes(h));

	assert_false(passes(NULL));
	assert_false(passes(""));
	assert_false(passes(tok)); /* no scheme */
	snprintf(h, sizeof(h), "Basic %s", tok);
	assert_false(passes(h));
	snprintf(h, sizeof(h), "Bearer %s", old);
	assert_false(passes(h)); /* a retired epoch */
	snprintf(h, sizeof(h), "Bearer %.*s", CRYPTO_OPERATOR_TOKEN_LEN - 1,
		 tok);
	assert_false(passes(h));
	snprintf(h, sizeof(h), "Bearer %sa", tok);
	assert_false(passes(h));
	snprintf(h, sizeof(h), "Bearer %s", tok);
	h[sizeof("Bearer ") + 10] ^= 1; /* one character changed */
	assert_false(passes(h));
	/* A tenant's credentials in the Basic form. */
	assert_false(passes("Basic YWJjZGVmOjAxMjM0NTY3ODk="));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_form_follows_secret_and_epoch),
		cmocka_unit_test(
			test_only_the_bearer_token_of_the_epoch_passes),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
