/*
 * libFuzzer harness for src/jwt.c: any text given to jwt_parse() (a split
 * token must hold two JSON objects and a signature that fits, and cover the
 * first two segments), and any bytes through base64url both ways (decoding
 * what was encoded gives the bytes back; whatever decodes re-encodes to
 * the same text, since the decoder is strict).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "jwt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void check_b64url(const uint8_t *data, size_t size)
{
	char *enc = malloc(size * 2 + 8);
	unsigned char *dec = malloc(size + 8);
	size_t n = 0, len;

	FUZZ_CHECK(enc && dec);
	len = jwt_b64url_encode(data, size, enc, size * 2 + 8);
	FUZZ_CHECK(len == strlen(enc));
	FUZZ_CHECK(jwt_b64url_decode(enc, len, dec, size + 8, &n) == 0);
	FUZZ_CHECK(n == size && memcmp(dec, data, size) == 0);
	/* The input as text: strict, so what decodes encodes back alike. */
	if (jwt_b64url_decode((const char *)data, size, dec, size + 8, &n) ==
	    0) {
		len = jwt_b64url_encode(dec, n, enc, size * 2 + 8);
		FUZZ_CHECK(len == size && memcmp(enc, data, size) == 0);
	}
	free(enc);
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *token = fuzz_strndup(data, size);
	struct jwt j;

	FUZZ_CHECK(token);
	if (jwt_parse(token, &j) == 0) {
		FUZZ_CHECK(json_is_object(j.header) &&
			   json_is_object(j.claims));
		FUZZ_CHECK(j.sig_len <= sizeof(j.sig));
		FUZZ_CHECK(j.signed_len < strlen(token));
		FUZZ_CHECK(token[j.signed_len] == '.');
		jwt_release(&j);
	}
	free(token);
	check_b64url(data, size);
	return 0;
}
