/*
 * libsodium behind the functions of crypto.h.  The server secret never leaves
 * this file: separate subkeys are derived from it for PIN hashes and API
 * secret hashes, so one kind of hash can never stand in for another.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "util.h"

enum {
	SUBKEY_PIN = 1,
	SUBKEY_API_SECRET = 2,
	SUBKEY_PIN_BOX = 3,
	SUBKEY_TOKEN = 4,
	SUBKEY_REQUEST_ID = 5,
	SUBKEY_SIGN = 6,
	SUBKEY_HANDLE = 7,
	SUBKEY_TAG = 8,
	SUBKEY_OPERATOR = 9
};

static unsigned char pin_key[crypto_generichash_KEYBYTES];
static unsigned char api_key[crypto_generichash_KEYBYTES];
static unsigned char box_key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
static unsigned char token_key[crypto_auth_hmacsha256_KEYBYTES];
/* Ed25519 key pair of verification tokens, from its own seed subkey. */
static unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sign_sk[crypto_sign_SECRETKEYBYTES];
static unsigned char rid_key[crypto_generichash_KEYBYTES];
static unsigned char handle_key[crypto_generichash_KEYBYTES];
static unsigned char tag_key[crypto_generichash_KEYBYTES];
static unsigned char operator_key[crypto_generichash_KEYBYTES];
/*
 * BLAKE2b keyed with rid_key, its key block already absorbed: each round
 * of a request id copies it and hashes only its 9 bytes, one compression
 * instead of two (the writer derives an id per verification, every search
 * parses one).
 */
static crypto_generichash_state rid_base;

void crypto_set_secret(const unsigned char secret[32])
{
	static const char ctx[crypto_kdf_CONTEXTBYTES] = "kvsecret";
	unsigned char seed[crypto_sign_SEEDBYTES];

	crypto_kdf_derive_from_key(pin_key, sizeof(pin_key), SUBKEY_PIN, ctx,
				   secret);
	crypto_kdf_derive_from_key(api_key, sizeof(api_key), SUBKEY_API_SECRET,
				   ctx, secret);
	crypto_kdf_derive_from_key(box_key, sizeof(box_key), SUBKEY_PIN_BOX,
				   ctx, secret);
	crypto_kdf_derive_from_key(token_key, sizeof(token_key), SUBKEY_TOKEN,
				   ctx, secret);
	crypto_kdf_derive_from_key(seed, sizeof(seed), SUBKEY_SIGN, ctx,
				   secret);
	crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
	sodium_memzero(seed, sizeof(seed));
	crypto_kdf_derive_from_key(rid_key, sizeof(rid_key), SUBKEY_REQUEST_ID,
				   ctx, secret);
	crypto_generichash_init(&rid_base, rid_key, sizeof(rid_key),
				crypto_generichash_BYTES_MIN);
	crypto_kdf_derive_from_key(handle_key, sizeof(handle_key),
				   SUBKEY_HANDLE, ctx, secret);
	crypto_kdf_derive_from_key(tag_key, sizeof(tag_key), SUBKEY_TAG, ctx,
				   secret);
	crypto_kdf_derive_from_key(operator_key, sizeof(operator_key),
				   SUBKEY_OPERATOR, ctx, secret);
}

void crypto_wipe(void)
{
	sodium_memzero(pin_key, sizeof(pin_key));
	sodium_memzero(api_key, sizeof(api_key));
	sodium_memzero(box_key, sizeof(box_key));
	sodium_memzero(token_key, sizeof(token_key));
	sodium_memzero(sign_sk, sizeof(sign_sk));
	sodium_memzero(rid_key, sizeof(rid_key));
	sodium_memzero(handle_key, sizeof(handle_key));
	sodium_memzero(tag_key, sizeof(tag_key));
	sodium_memzero(operator_key, sizeof(operator_key));
	sodium_memzero(&rid_base, sizeof(rid_base));
}

static int secret_read(int fd, unsigned char secret[32])
{
	size_t got = 0;

	while (got < 32) {
		ssize_t n = read(fd, secret + got, 32 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return KV_EINVAL;
		got += (size_t)n;
	}
	/* A longer file is not ours: refuse rather than silently truncate. */
	if (read(fd, &got, 1) != 0)
		return KV_EINVAL;
	return 0;
}

int crypto_load_secret(const char *path, char *err, size_t errlen)
{
	unsigned char secret[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			goto io_error;
		randombytes_buf(secret, sizeof(secret));
		if (write(fd, secret, sizeof(secret)) !=
			    (ssize_t)sizeof(secret) ||
		    fsync(fd) != 0) {
			close(fd);
			unlink(path);
			goto io_error;
		}
		close(fd);
		crypto_set_secret(secret);
		goto out;
	}
	if (fd < 0)
		goto io_error;
	rc = secret_read(fd, secret);
	close(fd);
	if (rc != 0) {
		snprintf(err, errlen, "%s: not a 32-byte secret file", path);
		goto out;
	}
	crypto_set_secret(secret);
	goto out;
io_error:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	rc = KV_EIO;
out:
	sodium_memzero(secret, sizeof(secret));
	return rc;
}

/*
 * Up to 9 digits come from one uniform draw below 10^n (10^9 < 2^32),
 * written with leading zeros: one getrandom() call instead of one per
 * digit, with the same uniform distribution over all PINs.
 */
#define PIN_DIGITS_PER_DRAW 9

void crypto_pin_new(int digits, char *out)
{
	int done = 0;

	while (done < digits) {
		int n = digits - done < PIN_DIGITS_PER_DRAW
				? digits - done
				: PIN_DIGITS_PER_DRAW;
		uint32_t bound = 1, v;

		for (int i = 0; i < n; i++)
			bound *= 10;
		v = randombytes_uniform(bound);
		for (int i = n - 1; i >= 0; i--) {
			out[done + i] = (char)('0' + v % 10);
			v /= 10;
		}
		done += n;
	}
	out[digits] = '\0';
}

/*
 * Request ids: a 4-round Feistel network over two 64-bit halves whose
 * round function is keyed BLAKE2b (the round number and the half as input,
 * the first 8 bytes of the hash as output).  Four rounds of a PRF give a
 * strong pseudorandom permutation (Luby-Rackoff): ids of consecutive rows
 * look unrelated, and a made-up id decodes to a left half of 0 with
 * probability 2^-64.
 */
#define RID_ROUNDS 4

static uint64_t rid_round(int round, uint64_t half)
{
	unsigned char in[9], out[crypto_generichash_BYTES_MIN];
	crypto_generichash_state st = rid_base;
	uint64_t v = 0;

	in[0] = (unsigned char)round;
	for (int i = 0; i < 8; i++)
		in[1 + i] = (unsigned char)(half >> (8 * i));
	crypto_generichash_update(&st, in, sizeof(in));
	crypto_generichash_final(&st, out, sizeof(out));
	sodium_memzero(&st, sizeof(st));
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)out[i] << (8 * i);
	return v;
}

void crypto_request_id_of(int64_t id, char out[33])
{
	uint64_t l = 0, r = (uint64_t)id, t;
	unsigned char raw[16];

	for (int i = 0; i < RID_ROUNDS; i++) {
		t = l ^ rid_round(i, r);
		l = r;
		r = t;
	}
	for (int i = 0; i < 8; i++) {
		raw[i] = (unsigned char)(l >> (56 - 8 * i));
		raw[8 + i] = (unsigned char)(r >> (56 - 8 * i));
	}
	hex_encode(raw, sizeof(raw), out);
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int crypto_request_id_parse(const char *s, int64_t *id)
{
	uint64_t l = 0, r = 0, t;
	int i;

	for (i = 0; i < 32 && s[i]; i++) {
		int n = hex_nibble(s[i]);

		if (n < 0)
			return KV_EINVAL;
		if (i < 16)
			l = l << 4 | (uint64_t)n;
		else
			r = r << 4 | (uint64_t)n;
	}
	if (i != 32 || s[32])
		return KV_EINVAL;
	for (i = RID_ROUNDS - 1; i >= 0; i--) {
		t = r ^ rid_round(i, l);
		r = l;
		l = t;
	}
	if (l != 0 || r == 0 || r > INT64_MAX)
		return KV_EINVAL;
	*id = (int64_t)r;
	return 0;
}

int crypto_request_id_equal(const char *a, const char *b)
{
	return sodium_memcmp(a, b, 32) == 0;
}

void crypto_api_credentials(char key[CRYPTO_API_KEY_LEN + 1],
			    char secret[CRYPTO_API_SECRET_LEN + 1])
{
	unsigned char raw[CRYPTO_API_SECRET_LEN / 2];

	randombytes_buf(raw, CRYPTO_API_KEY_LEN / 2);
	hex_encode(raw, CRYPTO_API_KEY_LEN / 2, key);
	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), secret);
	sodium_memzero(raw, sizeof(raw));
}

/*
 * BLAKE2b under key of a request id and a value bound to it (a PIN, a
 * page's handle).  The id's NUL separates the two fields, so no two pairs
 * hash the same input.
 */
static void bound_hash(const unsigned char *key, size_t keylen,
		       const char *request_id, const char *value,
		       unsigned char out[CRYPTO_HASH_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, keylen, CRYPTO_HASH_LEN);
	crypto_generichash_update(&st, (const unsigned char *)request_id,
				  strlen(request_id) + 1);
	crypto_generichash_update(&st, (const unsigned char *)value,
				  strlen(value));
	crypto_generichash_final(&st, out, CRYPTO_HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

void crypto_pin_hash(const char *request_id, const char *pin,
		     unsigned char out[CRYPTO_HASH_LEN])
{
	bound_hash(pin_key, sizeof(pin_key), request_id, pin, out);
}

void crypto_secret_hash(const char *api_secret,
			unsigned char out[CRYPTO_HASH_LEN])
{
	crypto_generichash(out, CRYPTO_HASH_LEN,
			   (const unsigned char *)api_secret,
			   strlen(api_secret), api_key, sizeof(api_key));
}

void crypto_handle_new(char out[CRYPTO_HANDLE_LEN + 1])
{
	unsigned char raw[CRYPTO_HANDLE_LEN / 2];

	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), out);
	sodium_memzero(raw, sizeof(raw));
}

void crypto_handle_hash(const char *request_id, const char *handle,
			unsigned char out[CRYPTO_HASH_LEN])
{
	bound_hash(handle_key, sizeof(handle_key), request_id, handle, out);
}

void crypto_tag(const char *text, char out[CRYPTO_TAG_LEN + 1])
{
	unsigned char raw[CRYPTO_TAG_LEN / 2];

	crypto_generichash(raw, sizeof(raw), (const unsigned char *)text,
			   strlen(text), tag_key, sizeof(tag_key));
	sodium_bin2hex(out, CRYPTO_TAG_LEN + 1, raw, sizeof(raw));
}

void crypto_tag_raw(const void *data, size_t len, unsigned char out[32])
{
	crypto_generichash(out, 32, data, len, tag_key, sizeof(tag_key));
}

void crypto_operator_token(long epoch, char out[CRYPTO_OPERATOR_TOKEN_LEN + 1])
{
	unsigned char raw[32];
	char msg[32];
	int n = snprintf(msg, sizeof(msg), "operator:%ld", epoch);

	crypto_generichash(raw, sizeof(raw), (const unsigned char *)msg,
			   (size_t)n, operator_key, sizeof(operator_key));
	/* The prefix's NUL is overwritten by the hex, which ends in one. */
	snprintf(out, 6, "kvop_");
	sodium_bin2hex(out + 5, CRYPTO_OPERATOR_TOKEN_LEN - 5 + 1, raw,
		       sizeof(raw));
}

int crypto_operator_token_check(const char *given, long epoch)
{
	char want[CRYPTO_OPERATOR_TOKEN_LEN + 1];
	int ok;

	if (!given || strlen(given) != CRYPTO_OPERATOR_TOKEN_LEN)
		return 0;
	crypto_operator_token(epoch, want);
	ok = sodium_memcmp(want, given, CRYPTO_OPERATOR_TOKEN_LEN) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}

int crypto_hash_equal(const unsigned char a[CRYPTO_HASH_LEN],
		      const unsigned char b[CRYPTO_HASH_LEN])
{
	return sodium_memcmp(a, b, CRYPTO_HASH_LEN) == 0;
}

size_t crypto_pin_seal(const char *request_id, const char *pin,
		       unsigned char *box)
{
	size_t n = strlen(pin);
	unsigned long long clen = 0;
	unsigned char *nonce = box;

	if (n > 10)
		return 0;
	randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	/* The request id is associated data: a box cannot move to another. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen,
		(const unsigned char *)pin, n,
		(const unsigned char *)request_id, strlen(request_id), NULL,
		nonce, box_key);
	return crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
}

int crypto_pin_open(const char *request_id, const unsigned char *box,
		    size_t len, char *pin)
{
	const size_t npub = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	unsigned long long n = 0;

	if (len <= npub + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
	    len - npub - crypto_aead_xchacha20poly1305_ietf_ABYTES > 10)
		return KV_EINVAL;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    (unsigned char *)pin, &n, NULL, box + npub, len - npub,
		    (const unsigned char *)request_id, strlen(request_id), box,
		    box_key) != 0)
		return KV_EINVAL;
	pin[n] = '\0';
	return 0;
}

/* MAC of "<id>.<step>.<expiry>" as 64 hex characters in mac[65]. */
static void token_mac(const char *body, size_t len, char mac[65])
{
	unsigned char raw[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256(raw, (const unsigned char *)body, len,
			       token_key);
	hex_encode(raw, sizeof(raw), mac);
}

void crypto_call_token(int64_t verification_id, int step, int64_t expires_s,
		       char *out)
{
	char mac[65];
	int n = snprintf(out, CRYPTO_TOKEN_MAX, "%lld.%d.%lld",
			 (long long)verification_id, step,
			 (long long)expires_s);

	token_mac(out, (size_t)n, mac);
	snprintf(out + n, CRYPTO_TOKEN_MAX - (size_t)n, ".%s", mac);
}

int crypto_call_token_check(const char *token, int64_t now_s,
			    int64_t *verification_id, int *step)
{
	char body[CRYPTO_TOKEN_MAX];
	char mac[65];
	const char *dot = strrchr(token, '.');
	long long id, exp;
	int st, used = 0;
	size_t n;

	if (!dot || strlen(dot + 1) != 64)
		return KV_EINVAL;
	n = (size_t)(dot - token);
	if (n >= sizeof(body))
		return KV_EINVAL;
	memcpy(body, token, n);
	body[n] = '\0';
	token_mac(body, n, mac);
	if (sodium_memcmp(mac, dot + 1, 64) != 0)
		return KV_EINVAL;
	if (sscanf(body, "%lld.%d.%lld%n", &id, &st, &exp, &used) != 3 ||
	    (size_t)used != n)
		return KV_EINVAL;
	if (now_s >= exp)
		return KV_ERANGE;
	*verification_id = id;
	*step = st;
	return 0;
}

void crypto_sign_public(unsigned char pk[CRYPTO_SIGN_PUBLIC_LEN])
{
	memcpy(pk, sign_pk, CRYPTO_SIGN_PUBLIC_LEN);
}

void crypto_sign_detached_msg(const void *msg, size_t len,
			      unsigned char sig[CRYPTO_SIGN_LEN])
{
	crypto_sign_detached(sig, NULL, msg, len, sign_sk);
}

int crypto_sign_check(const void *msg, size_t len,
		      const unsigned char sig[CRYPTO_SIGN_LEN])
{
	return crypto_sign_verify_detached(sig, msg, len, sign_pk) == 0
		       ? 0
		       : KV_EINVAL;
}
