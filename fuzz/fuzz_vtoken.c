/*
 * libFuzzer harness for verification tokens (src/vtoken.c): any text given
 * to vtoken_verify() under a fixed server secret.  Whatever it accepts must
 * carry well-formed claims; nothing may read past the input or crash.  A
 * forgery cannot be found by fuzzing (Ed25519), so the harness exercises
 * the parsing before and after the signature check: the seeds are tokens
 * the server itself made.
 *
 * FUZZ_PRINT_TOKEN=1 prints such a token under the harness's fixed secret
 * and exits: how the seeds in fuzz/corpus/vtoken/ are made.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "fuzz.h"
#include "vtoken.h"

/* The harness's clock: the seeds were issued just before it. */
#define FUZZ_NOW 1750000000LL

static void print_token(void)
{
	struct vtoken_claims c;
	char token[VTOKEN_MAX];

	memset(&c, 0, sizeof(c));
	snprintf(c.number, sizeof(c.number), "919876543210");
	snprintf(c.api_key, sizeof(c.api_key), "pk_0123456789abcdef01234567");
	snprintf(c.request_id, sizeof(c.request_id), "%s",
		 "0123456789abcdef0123456789abcdef");
	c.iat = FUZZ_NOW - 10;
	c.exp = FUZZ_NOW + 600;
	if (vtoken_issue(&c, token, sizeof(token)) != 0)
		abort();
	printf("%s\n", token);
	exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char secret[32];

	if (sodium_init() < 0)
		abort();
	/* Fixed, so that the committed seeds stay valid: bytes 0..31. */
	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (unsigned char)i;
	crypto_set_secret(secret);
	if (getenv("FUZZ_PRINT_TOKEN"))
		print_token();
	return 0;
}

/* s is NUL-terminated within max bytes and made only of `set`. */
static int field_ok(const char *s, size_t max, const char *set)
{
	size_t n = strnlen(s, max);

	return n < max && strspn(s, set) == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	struct vtoken_claims c;
	char *s = fuzz_strndup(data, size);
	enum vtoken_result r = vtoken_verify(s, FUZZ_NOW, &c);

	FUZZ_CHECK(r == VTOKEN_OK || r == VTOKEN_MALFORMED ||
		   r == VTOKEN_FORGED || r == VTOKEN_EXPIRED);
	if (r == VTOKEN_OK || r == VTOKEN_EXPIRED) {
		/* Only a token of ours gets this far: its claims are sound. */
		FUZZ_CHECK(strlen(s) < VTOKEN_MAX);
		FUZZ_CHECK(field_ok(c.number, sizeof(c.number), "0123456789"));
		FUZZ_CHECK(strlen(c.number) >= 5);
		FUZZ_CHECK(field_ok(c.request_id, sizeof(c.request_id), hex));
		FUZZ_CHECK(strlen(c.request_id) == 32);
		FUZZ_CHECK(field_ok(c.jti, sizeof(c.jti), hex));
		FUZZ_CHECK(strlen(c.api_key) > 0 &&
			   strlen(c.api_key) < sizeof(c.api_key));
	}
	if (r == VTOKEN_OK)
		FUZZ_CHECK(FUZZ_NOW < c.exp && c.iat <= FUZZ_NOW + 60);
	free(s);
	return 0;
}
