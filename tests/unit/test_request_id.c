/*
 * Unit tests of request ids derived from the row id: the keyed permutation
 * round-trips and is one-to-one, made-up and old random ids do not decode,
 * the secret changes every id, known answers stay the same from release to
 * release (the stored rows depend on them), and the store finds a
 * verification by a derived id or by an id from before migration 9, scoped
 * to its key.
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
#include <sqlite3.h>

#include "crypto.h"
#include "store.h"
#include "store_fixture.h"
#include "err.h"
#include "util.h"

static const unsigned char secret_a[32] = {1, 2, 3};
static const unsigned char secret_b[32] = {9, 8, 7};

static int id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_round_trip_and_distinct(void **state)
{
	enum { N = 4096 };
	static char ids[N][33];
	int64_t got;

	crypto_set_secret(secret_a);
	for (int i = 0; i < N; i++) {
		/* Small ids, and ids spread over the whole positive range. */
		int64_t id = i < N / 2 ? i + 1
				       : (int64_t)(((uint64_t)i *
						    0x9e3779b97f4a7c15ULL) >>
						   1) +
						 1;

		crypto_request_id_of(id, ids[i]);
		assert_int_equal(strlen(ids[i]), 32);
		assert_int_equal(strspn(ids[i], "0123456789abcdef"), 32);
		assert_int_equal(crypto_request_id_parse(ids[i], &got), 0);
		assert_true(got == id);
	}
	/* A permutation: no two ids alike (sorted neighbours differ). */
	qsort(ids, N, sizeof(ids[0]), id_cmp);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	crypto_request_id_of(INT64_MAX, ids[0]);
	assert_int_equal(crypto_request_id_parse(ids[0], &got), 0);
	assert_true(got == INT64_MAX);
}

static void test_made_up_ids_do_not_decode(void **state)
{
	char id[33], bad[34];
	int64_t got = -1;
	unsigned char raw[16];

	crypto_set_secret(secret_a);
	/* Random 128-bit ids (the earlier kind) decode to a left half of 0
	 * with probability 2^-64. */
	for (int i = 0; i < 1000; i++) {
		randombytes_buf(raw, sizeof(raw));
		hex_encode(raw, sizeof(raw), id);
		assert_int_equal(crypto_request_id_parse(id, &got), KV_EINVAL);
	}
	assert_int_equal(crypto_request_id_parse("", &got), KV_EINVAL);
	assert_int_equal(crypto_request_id_parse("abc", &got), KV_EINVAL);
	crypto_request_id_of(42, id);
	/* Upper case, one character too many or too few, a non-hex one. */
	for (int i = 0; i < 32; i++)
		bad[i] = id[i] >= 'a' ? (char)(id[i] - 'a' + 'A') : id[i];
	bad[32] = '\0';
	if (strcmp(bad, id) != 0)
		assert_int_equal(crypto_request_id_parse(bad, &got), KV_EINVAL);
	snprintf(bad, sizeof(bad), "%s0", id);
	assert_int_equal(crypto_request_id_parse(bad, &got), KV_EINVAL);
	bad[31] = '\0';
	assert_int_equal(crypto_request_id_parse(bad, &got), KV_EINVAL);
	memcpy(bad, id, 33);
	bad[5] = 'g';
	assert_int_equal(crypto_request_id_parse(bad, &got), KV_EINVAL);
	/* One flipped character names no row (nor another one). */
	memcpy(bad, id, 33);
	bad[0] = bad[0] == '0' ? '1' : '0';
	assert_int_equal(crypto_request_id_parse(bad, &got), KV_EINVAL);
	assert_true(got == -1);
}

static void test_secret_changes_every_id(void **state)
{
	char a[33], b[33];
	int64_t got;

	for (int64_t id = 1; id <= 64; id++) {
		crypto_set_secret(secret_a);
		crypto_request_id_of(id, a);
		crypto_set_secret(secret_b);
		crypto_request_id_of(id, b);
		assert_string_not_equal(a, b);
		/* Another server's id does not decode here. */
		assert_int_equal(crypto_request_id_parse(a, &got), KV_EINVAL);
	}
	crypto_set_secret(secret_a);
}

static void test_equal_is_exact(void **state)
{
	char a[33], b[33];

	crypto_set_secret(secret_a);
	crypto_request_id_of(7, a);
	memcpy(b, a, sizeof(b));
	assert_true(crypto_request_id_equal(a, b));
	b[31] ^= 1;
	assert_false(crypto_request_id_equal(a, b));
}

/*
 * Ids already handed out must decode forever: the same secret and row id
 * give the same id in every release.  These were computed by the first
 * release with derived ids (migration 9); a change to the round function,
 * its key, the rounds or the encoding fails here.
 */
static void test_known_answers(void **state)
{
	static const struct {
		int64_t id;
		const char *rid;
	} known[] = {
		{1, "0b114ca0df9256b46f95c09483c716d4"},
		{2, "7146a2c001f011377ce9c56cffe05b14"},
		{1000000, "efb44307389a4fbcbdbb813446de22f0"},
		{INT64_MAX, "339b7b7a9b6e724280c8b5ba1fe2c93a"},
	};
	char rid[33];
	int64_t got;

	crypto_set_secret(secret_a);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		crypto_request_id_of(known[i].id, rid);
		assert_string_equal(rid, known[i].rid);
		assert_int_equal(crypto_request_id_parse(known[i].rid, &got),
				 0);
		assert_true(got == known[i].id);
	}
}

/* ---- the store ---- */

static int exec_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* Keys 1 and 2, for another key's lookups. */
static int store_setup(void **state)
{
	*state = store_fixture_new("rid", 2, 0, secret_a);
	return *state ? 0 : -1;
}

#define store_teardown store_fixture_teardown

/* Inserts a verification of key 1 the way verify.c does. */
static int64_t insert_derived(struct store_tx *c, const char *number)
{
	struct vf_record r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(store_verification_next_id(c, &r.v.id), 0);
	crypto_request_id_of(r.v.id, r.v.request_id);
	r.v.key_id = 1;
	r.v.nsteps = 1;
	r.v.created_ms = 1000;
	memcpy(r.number, number, strlen(number) + 1);
	memcpy(r.steps, "s", 2);
	assert_int_equal(store_verification_insert(c, &r), 0);
	return r.v.id;
}

static void test_store_finds_derived_ids(void **state)
{
	struct store_fixture *s = *state;
	struct vf_record out;
	char id[33];
	int64_t a = insert_derived(s->c, "919000000001");
	int64_t b = insert_derived(s->c, "919000000002");

	assert_true(b == a + 1);
	crypto_request_id_of(b, id);
	assert_int_equal(store_verification_get(s->c, id, 1, &out), 0);
	assert_true(out.v.id == b);
	assert_string_equal(out.number, "919000000002");
	assert_string_equal(out.v.request_id, id);
	/* Another key's, and an id past the last row. */
	assert_int_equal(store_verification_get(s->c, id, 2, &out),
			 KV_ENOTFOUND);
	crypto_request_id_of(b + 1, id);
	assert_int_equal(store_verification_get(s->c, id, 1, &out),
			 KV_ENOTFOUND);
}

static void test_store_finds_legacy_ids(void **state)
{
	struct store_fixture *s = *state;
	static const char old[] = "0123456789abcdef0123456789abcdef";
	struct vf_record out;
	char derived[33];

	/* A row as migration 9 leaves one from before: its own random id. */
	assert_int_equal(
		exec_sql(
			s->path,
			"INSERT INTO verifications (id, request_id, key_id, "
			"number, number_type, brand, workflow_id, code_length, "
			"pin_hash, steps, wait1_ms, wait2_ms, wait3_ms, state, "
			"created_ms, pin_created_ms, pin_expiry_ms, "
			"expires_ms, legacy) VALUES (50, "
			"'0123456789abcdef0123456789abcdef', 1, '919000000050', "
			"1, 'B', 1, 4, x'00', 's', 0, 0, 0, 1, 1, 1, 1, 1, 1)"),
		SQLITE_OK);
	assert_int_equal(store_verification_get(s->c, old, 1, &out), 0);
	assert_true(out.v.id == 50);
	assert_string_equal(out.v.request_id, old);
	assert_int_equal(store_verification_get(s->c, old, 2, &out),
			 KV_ENOTFOUND);
	/* Its row id does not open it under a derived id. */
	crypto_request_id_of(50, derived);
	assert_int_equal(store_verification_get(s->c, derived, 1, &out),
			 KV_ENOTFOUND);
	/* New rows never take an id at or below one handed out before. */
	assert_true(insert_derived(s->c, "919000000003") == 51);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_distinct),
		cmocka_unit_test(test_made_up_ids_do_not_decode),
		cmocka_unit_test(test_secret_changes_every_id),
		cmocka_unit_test(test_equal_is_exact),
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test_setup_teardown(test_store_finds_derived_ids,
						store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_store_finds_legacy_ids,
						store_setup, store_teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
