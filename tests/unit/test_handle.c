/*
 * Unit tests of the handles that bind a browser verification to its
 * visitor: a new handle is 128 random bits in hex, its stored hash is keyed
 * by the server secret and bound to the request id (so a hash cannot move
 * to another verification, nor stand in for a PIN's), and the store keeps
 * the hash, or its absence, exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto.h"
#include "store.h"
#include "store_fixture.h"
#include "err.h"

static const unsigned char secret_a[32] = {1, 2, 3};
static const unsigned char secret_b[32] = {9, 8, 7};

static const char rid_a[] = "11d4a548deedbb923af356fead0afc87";
static const char rid_b[] = "11d4a548deedbb923af356fead0afc88";
static const char handle[] = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

static void test_new_handles_are_128_random_bits(void **state)
{
	char a[CRYPTO_HANDLE_LEN + 1], b[CRYPTO_HANDLE_LEN + 1];

	memset(a, 'x', sizeof(a));
	crypto_handle_new(a);
	crypto_handle_new(b);
	assert_int_equal(strlen(a), CRYPTO_HANDLE_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), CRYPTO_HANDLE_LEN);
	assert_string_not_equal(a, b);
}

static void test_hash_is_bound_and_keyed(void **state)
{
	unsigned char h[CRYPTO_HASH_LEN], other[CRYPTO_HASH_LEN];

	crypto_set_secret(secret_a);
	crypto_handle_hash(rid_a, handle, h);
	crypto_handle_hash(rid_a, handle, other);
	assert_true(crypto_hash_equal(h, other));
	/* Another verification, another handle, the empty handle. */
	crypto_handle_hash(rid_b, handle, other);
	assert_false(crypto_hash_equal(h, other));
	crypto_handle_hash(rid_a, "0f1e2d3c4b5a69788796a5b4c3d2e1f1", other);
	assert_false(crypto_hash_equal(h, other));
	crypto_handle_hash(rid_a, "", other);
	assert_false(crypto_hash_equal(h, other));
	/* Its own subkey: the PIN hash of the same pair differs. */
	crypto_pin_hash(rid_a, handle, other);
	assert_false(crypto_hash_equal(h, other));
	/* Another server secret, another hash. */
	crypto_set_secret(secret_b);
	crypto_handle_hash(rid_a, handle, other);
	assert_false(crypto_hash_equal(h, other));
	crypto_set_secret(secret_a);
}

/* ---- the store ---- */

static int store_setup(void **state)
{
	return store_fixture_setup_one(state, "handle", 0, secret_a);
}

#define store_teardown store_fixture_teardown

/* Inserts a verification of key 1, with the handle's hash when given. */
static void insert(struct store_tx *c, const char *number, const char *h,
		   struct vf_record *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(store_verification_next_id(c, &r->v.id), 0);
	crypto_request_id_of(r->v.id, r->v.request_id);
	r->v.key_id = 1;
	r->v.nsteps = 1;
	r->v.created_ms = 1000;
	memcpy(r->number, number, strlen(number) + 1);
	memcpy(r->steps, "s", 2);
	if (h) {
		crypto_handle_hash(r->v.request_id, h, r->handle_hash);
		r->has_handle = 1;
	}
	assert_int_equal(store_verification_insert(c, r), 0);
}

static void test_store_keeps_the_hash_or_none(void **state)
{
	struct store_fixture *s = *state;
	struct vf_record with, without, out;

	insert(s->c, "919000000001", handle, &with);
	insert(s->c, "919000000002", NULL, &without);
	assert_int_equal(
		store_verification_get(s->c, with.v.request_id, 1, &out), 0);
	assert_true(out.has_handle);
	assert_memory_equal(out.handle_hash, with.handle_hash, CRYPTO_HASH_LEN);
	/* An update (every check and resend) leaves it as it was. */
	out.v.attempts = 1;
	assert_int_equal(store_verification_update(s->c, &out), 0);
	assert_int_equal(
		store_verification_get(s->c, with.v.request_id, 1, &out), 0);
	assert_true(out.has_handle);
	assert_memory_equal(out.handle_hash, with.handle_hash, CRYPTO_HASH_LEN);
	assert_int_equal(
		store_verification_get(s->c, without.v.request_id, 1, &out), 0);
	assert_false(out.has_handle);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_handles_are_128_random_bits),
		cmocka_unit_test(test_hash_is_bound_and_keyed),
		cmocka_unit_test_setup_teardown(
			test_store_keeps_the_hash_or_none, store_setup,
			store_teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
