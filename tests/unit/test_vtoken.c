/*
 * Unit tests of verification tokens (vtoken.c): what we sign verifies and
 * reads back; a changed byte, another server's key, another algorithm,
 * foreign claims, expiry and every malformed shape are refused; the JWK Set
 * publishes the key that verifies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto.h"
#include "vtoken.h"

#define NOW 1795600000

static const unsigned char secret_a[32] = {1, 2, 3};
static const unsigned char secret_b[32] = {9, 8, 7};

static void claims_init(struct vtoken_claims *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->number, sizeof(c->number), "919876543210");
	snprintf(c->api_key, sizeof(c->api_key), "pk_0123456789abcdef01234567");
	snprintf(c->request_id, sizeof(c->request_id), "%s",
		 "0123456789abcdef0123456789abcdef");
	c->iat = NOW;
	c->exp = NOW + 600;
}

static void issue(struct vtoken_claims *c, char *out)
{
	claims_init(c);
	assert_int_equal(vtoken_issue(c, out, VTOKEN_MAX), 0);
}

static int setup(void **state)
{
	crypto_set_secret(secret_a);
	return 0;
}

static void test_issued_token_verifies_with_its_claims(void **state)
{
	struct vtoken_claims c, got;
	char tok[VTOKEN_MAX];

	issue(&c, tok);
	assert_int_equal(strlen(c.jti), 32); /* a random id was made */
	assert_int_equal(vtoken_verify(tok, NOW + 1, &got), VTOKEN_OK);
	assert_string_equal(got.number, c.number);
	assert_string_equal(got.api_key, c.api_key);
	assert_string_equal(got.request_id, c.request_id);
	assert_string_equal(got.jti, c.jti);
	assert_int_equal(got.iat, NOW);
	assert_int_equal(got.exp, NOW + 600);
}

static void test_two_tokens_have_different_ids(void **state)
{
	struct vtoken_claims a, b;
	char ta[VTOKEN_MAX], tb[VTOKEN_MAX];

	issue(&a, ta);
	issue(&b, tb);
	assert_string_not_equal(a.jti, b.jti);
	assert_string_not_equal(ta, tb);
}

static void test_any_changed_character_is_refused(void **state)
{
	struct vtoken_claims c, got;
	char tok[VTOKEN_MAX];
	size_t n;

	issue(&c, tok);
	n = strlen(tok);
	for (size_t i = 0; i < n; i++) {
		char saved = tok[i];

		if (saved == '.')
			continue;
		tok[i] = saved == 'A' ? 'B' : 'A';
		assert_int_not_equal(vtoken_verify(tok, NOW + 1, &got),
				     VTOKEN_OK);
		tok[i] = saved;
	}
	assert_int_equal(vtoken_verify(tok, NOW + 1, &got), VTOKEN_OK);
}

static void test_another_servers_token_is_refused(void **state)
{
	struct vtoken_claims c, got;
	char tok[VTOKEN_MAX];

	crypto_set_secret(secret_b);
	issue(&c, tok);
	crypto_set_secret(secret_a);
	/* Its kid names another key: refused before the signature. */
	assert_int_equal(vtoken_verify(tok, NOW + 1, &got), VTOKEN_MALFORMED);
}

static void test_expiry_and_future_issue(void **state)
{
	struct vtoken_claims c, got;
	char tok[VTOKEN_MAX];

	issue(&c, tok);
	assert_int_equal(vtoken_verify(tok, NOW + 599, &got), VTOKEN_OK);
	assert_int_equal(vtoken_verify(tok, NOW + 600, &got), VTOKEN_EXPIRED);
	assert_int_equal(vtoken_verify(tok, NOW - 60, &got), VTOKEN_OK);
	assert_int_equal(vtoken_verify(tok, NOW - 61, &got), VTOKEN_EXPIRED);
}

/* base64url of text, appended at out[*at]. */
static void put_b64(char *out, size_t *at, const void *in, size_t n)
{
	sodium_bin2base64(out + *at, VTOKEN_MAX - *at, in, n,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*at += strlen(out + *at);
}

/* A token over any header and payload, signed with the server's key. */
static void forge_signed(const char *header, const char *payload, char *out)
{
	unsigned char sig[CRYPTO_SIGN_LEN];
	size_t at = 0;

	put_b64(out, &at, header, strlen(header));
	out[at++] = '.';
	put_b64(out, &at, payload, strlen(payload));
	crypto_sign_detached_msg(out, at, sig);
	out[at++] = '.';
	put_b64(out, &at, sig, sizeof(sig));
}

static void test_only_our_algorithm_and_claims(void **state)
{
	static const char good_payload[] =
		"{\"iss\":\"kookooverify\",\"sub\":\"919876543210\","
		"\"aud\":\"pk_x\",\"rid\":\"0123456789abcdef0123456789abcdef\","
		"\"iat\":1795600000,\"exp\":1795600600,"
		"\"jti\":\"0123456789abcdef0123456789abcdef\"}";
	static const char *const bad_payloads[] = {
		"{\"iss\":\"other\",\"sub\":\"919876543210\",\"aud\":\"pk_x\","
		"\"rid\":\"0123456789abcdef0123456789abcdef\",\"iat\":1,"
		"\"exp\":1795600600,"
		"\"jti\":\"0123456789abcdef0123456789abcdef\"}",
		/* no jti */
		"{\"iss\":\"kookooverify\",\"sub\":\"919876543210\","
		"\"aud\":\"pk_x\",\"rid\":\"0123456789abcdef0123456789abcdef\","
		"\"iat\":1795600000,\"exp\":1795600600}",
		/* exp as a string */
		"{\"iss\":\"kookooverify\",\"sub\":\"919876543210\","
		"\"aud\":\"pk_x\",\"rid\":\"0123456789abcdef0123456789abcdef\","
		"\"iat\":1795600000,\"exp\":\"1795600600\","
		"\"jti\":\"0123456789abcdef0123456789abcdef\"}",
		/* a number that is not digits */
		"{\"iss\":\"kookooverify\",\"sub\":\"+919876543210\","
		"\"aud\":\"pk_x\",\"rid\":\"0123456789abcdef0123456789abcdef\","
		"\"iat\":1795600000,\"exp\":1795600600,"
		"\"jti\":\"0123456789abcdef0123456789abcdef\"}",
		"[]",
		"not json",
	};
	char header[128], tok[VTOKEN_MAX], kid[17];
	struct vtoken_claims got;

	vtoken_kid(kid);
	snprintf(header, sizeof(header),
		 "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	forge_signed(header, good_payload, tok);
	assert_int_equal(vtoken_verify(tok, NOW, &got), VTOKEN_OK);
	assert_string_equal(got.api_key, "pk_x");
	for (size_t i = 0; i < sizeof(bad_payloads) / sizeof(*bad_payloads);
	     i++) {
		forge_signed(header, bad_payloads[i], tok);
		assert_int_equal(vtoken_verify(tok, NOW, &got),
				 VTOKEN_MALFORMED);
	}
	/* Another algorithm, or no key id, is never tried. */
	snprintf(header, sizeof(header),
		 "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	forge_signed(header, good_payload, tok);
	assert_int_equal(vtoken_verify(tok, NOW, &got), VTOKEN_MALFORMED);
	forge_signed("{\"alg\":\"EdDSA\"}", good_payload, tok);
	assert_int_equal(vtoken_verify(tok, NOW, &got), VTOKEN_MALFORMED);
}

static void test_malformed_shapes(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "a.b", "a.b.c", "a.b.c.d", "eyJ.eyJ.!!!",
	};
	struct vtoken_claims c, got;
	char tok[VTOKEN_MAX], big[VTOKEN_MAX + 8];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(vtoken_verify(bad[i], NOW, &got),
				 VTOKEN_MALFORMED);
	/* A fourth part, or a truncated signature. */
	issue(&c, tok);
	snprintf(big, sizeof(big), "%s.x", tok);
	assert_int_equal(vtoken_verify(big, NOW, &got), VTOKEN_MALFORMED);
	tok[strlen(tok) - 4] = '\0';
	assert_int_equal(vtoken_verify(tok, NOW, &got), VTOKEN_MALFORMED);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(vtoken_verify(big, NOW, &got), VTOKEN_MALFORMED);
}

static void test_jwks_publishes_the_verifying_key(void **state)
{
	unsigned char pk[CRYPTO_SIGN_PUBLIC_LEN], x[CRYPTO_SIGN_PUBLIC_LEN];
	json_t *jwks = vtoken_jwks(), *k;
	const char *xs;
	char kid[17];
	size_t n = 0;

	assert_non_null(jwks);
	k = json_array_get(json_object_get(jwks, "keys"), 0);
	assert_string_equal(json_string_value(json_object_get(k, "kty")),
			    "OKP");
	assert_string_equal(json_string_value(json_object_get(k, "crv")),
			    "Ed25519");
	assert_string_equal(json_string_value(json_object_get(k, "alg")),
			    "EdDSA");
	vtoken_kid(kid);
	assert_string_equal(json_string_value(json_object_get(k, "kid")), kid);
	xs = json_string_value(json_object_get(k, "x"));
	assert_int_equal(
		sodium_base642bin(x, sizeof(x), xs, strlen(xs), NULL, &n, NULL,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING),
		0);
	assert_int_equal(n, sizeof(x));
	crypto_sign_public(pk);
	assert_memory_equal(x, pk, sizeof(pk));
	json_decref(jwks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issued_token_verifies_with_its_claims),
		cmocka_unit_test(test_two_tokens_have_different_ids),
		cmocka_unit_test(test_any_changed_character_is_refused),
		cmocka_unit_test(test_another_servers_token_is_refused),
		cmocka_unit_test(test_expiry_and_future_issue),
		cmocka_unit_test(test_only_our_algorithm_and_claims),
		cmocka_unit_test(test_malformed_shapes),
		cmocka_unit_test(test_jwks_publishes_the_verifying_key),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
