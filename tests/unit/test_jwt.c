/*
 * Unit tests of the JWT mechanics (jwt.c): base64url both ways (RFC 4648
 * vectors, strictness), splitting tokens (every malformed shape refused),
 * and RS256 with keys made here by OpenSSL: a signature verifies, a changed
 * byte or another key does not, and short or non-RSA keys are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "err.h"
#include "jwt.h"

static void test_b64url_vectors(void **state)
{
	/* RFC 4648 §10, in the URL alphabet without padding. */
	static const struct {
		const char *plain, *enc;
	} v[] = {
		{"", ""},
		{"f", "Zg"},
		{"fo", "Zm8"},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg"},
		{"fooba", "Zm9vYmE"},
		{"foobar", "Zm9vYmFy"},
		{"\xfb\xff", "-_8"},
	};
	char enc[32];
	unsigned char dec[32];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = strlen(v[i].plain);

		assert_int_equal(
			jwt_b64url_encode((const unsigned char *)v[i].plain,
					  len, enc, sizeof(enc)),
			strlen(v[i].enc));
		assert_string_equal(enc, v[i].enc);
		assert_int_equal(jwt_b64url_decode(v[i].enc, strlen(v[i].enc),
						   dec, sizeof(dec), &n),
				 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, v[i].plain, len);
	}
}

static void test_b64url_strict(void **state)
{
	static const char *const bad[] = {
		"Zg==", /* padding */
		"Zh",   /* non-zero trailing bits */
		"Z",    /* a length no encoding has */
		"Zm+v", /* the standard alphabet */
		"Zm/v", "Zm 9", "Zm9\n",
	};
	unsigned char dec[8];
	char enc[4];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jwt_b64url_decode(bad[i], strlen(bad[i]), dec,
						   sizeof(dec), &n),
				 KV_EINVAL);
	assert_int_equal(jwt_b64url_decode("Zm9vYmFy", 8, dec, 5, &n),
			 KV_ETOOBIG);
	/* "foobar" needs 9 bytes with its NUL. */
	assert_int_equal(jwt_b64url_encode((const unsigned char *)"foo", 3, enc,
					   sizeof(enc)),
			 0);
}

/* A token of the JSON texts header and claims and raw signature bytes. */
static void make_token(const char *header, const char *claims,
		       const unsigned char *sig, size_t siglen, char *out,
		       size_t cap)
{
	size_t n = jwt_b64url_encode((const unsigned char *)header,
				     strlen(header), out, cap);

	out[n++] = '.';
	n += jwt_b64url_encode((const unsigned char *)claims, strlen(claims),
			       out + n, cap - n);
	out[n++] = '.';
	jwt_b64url_encode(sig, siglen, out + n, cap - n);
}

static void test_parse(void **state)
{
	char tok[512];
	struct jwt j;

	(void)state;
	make_token("{\"alg\":\"RS256\"}", "{\"jti\":\"a\"}",
		   (const unsigned char *)"xy", 2, tok, sizeof(tok));
	assert_int_equal(jwt_parse(tok, &j), 0);
	assert_string_equal(json_string_value(json_object_get(j.header, "alg")),
			    "RS256");
	assert_string_equal(json_string_value(json_object_get(j.claims, "jti")),
			    "a");
	assert_int_equal(j.sig_len, 2);
	assert_memory_equal(j.sig, "xy", 2);
	assert_int_equal(tok[j.signed_len], '.');
	jwt_release(&j);
}

static void test_parse_refuses(void **state)
{
	static const char *const shapes[][2] = {
		{"[1]", "{}"},               /* header not an object */
		{"{}", "\"x\""},             /* claims not an object */
		{"{\"a\":1,\"a\":2}", "{}"}, /* duplicate member */
		{"{", "{}"},                 /* not JSON */
	};
	char tok[512];
	struct jwt j;

	(void)state;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		make_token(shapes[i][0], shapes[i][1],
			   (const unsigned char *)"s", 1, tok, sizeof(tok));
		assert_int_equal(jwt_parse(tok, &j), KV_EINVAL);
	}
	assert_int_equal(jwt_parse("", &j), KV_EINVAL);
	assert_int_equal(jwt_parse("e30.e30", &j), KV_EINVAL);
	assert_int_equal(jwt_parse("e30.e30.e30.e30", &j), KV_EINVAL);
	assert_int_equal(jwt_parse("e30.e30.a=", &j), KV_EINVAL);
	assert_int_equal(jwt_parse(NULL, &j), KV_EINVAL);
}

/* A new RSA or EC key pair and its public half as PEM (caller frees). */
static EVP_PKEY *key_new(const char *kind, unsigned int bits, char **pem)
{
	EVP_PKEY *k = strcmp(kind, "RSA") == 0 ? EVP_RSA_gen(bits)
					       : EVP_EC_gen("P-256");
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;

	assert_non_null(k);
	assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
	n = BIO_get_mem_data(b, &data);
	*pem = calloc(1, (size_t)n + 1);
	memcpy(*pem, data, (size_t)n);
	BIO_free(b);
	return k;
}

static size_t sign(EVP_PKEY *k, const char *data, unsigned char *sig)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = JWT_SIG_MAX;

	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k),
			 1);
	assert_int_equal(EVP_DigestSign(md, sig, &n,
					(const unsigned char *)data,
					strlen(data)),
			 1);
	EVP_MD_CTX_free(md);
	return n;
}

static void test_rs256(void **state)
{
	char *pem = NULL, *other_pem = NULL, *short_pem = NULL, *ec_pem = NULL;
	EVP_PKEY *k = key_new("RSA", 2048, &pem);
	EVP_PKEY *other = key_new("RSA", 2048, &other_pem);
	EVP_PKEY *shortk = key_new("RSA", 1024, &short_pem);
	EVP_PKEY *ec = key_new("EC", 0, &ec_pem);
	const char *data = "eyJhbGciOiJSUzI1NiJ9.e30";
	unsigned char sig[JWT_SIG_MAX];
	size_t n = sign(k, data, sig);

	(void)state;
	assert_int_equal(jwt_rs256_key_check(pem), 0);
	assert_int_equal(jwt_rs256_verify(pem, data, strlen(data), sig, n), 0);
	assert_int_equal(jwt_rs256_verify(other_pem, data, strlen(data), sig,
					  n),
			 KV_EAUTH);
	assert_int_equal(jwt_rs256_verify(pem, data, strlen(data) - 1, sig, n),
			 KV_EAUTH);
	sig[10] ^= 1;
	assert_int_equal(jwt_rs256_verify(pem, data, strlen(data), sig, n),
			 KV_EAUTH);
	assert_int_equal(jwt_rs256_key_check(short_pem), KV_EINVAL);
	assert_int_equal(jwt_rs256_key_check(ec_pem), KV_EINVAL);
	assert_int_equal(jwt_rs256_key_check("not a key"), KV_EINVAL);
	assert_int_equal(jwt_rs256_verify(ec_pem, data, strlen(data), sig, n),
			 KV_EINVAL);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	EVP_PKEY_free(shortk);
	EVP_PKEY_free(ec);
	free(pem);
	free(other_pem);
	free(short_pem);
	free(ec_pem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_strict),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_rs256),
	};

	return cmocka_run_group_tests_name("jwt", tests, NULL, NULL);
}
