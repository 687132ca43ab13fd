/*
 * Secrets and randomness, all through libsodium: the server secret and the
 * subkeys derived from it, PINs, request ids, API key material, and keyed
 * hashes compared in constant time.
 */
#ifndef KV_CRYPTO_H
#define KV_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_HASH_LEN 32
#define CRYPTO_API_KEY_LEN 16    /* hex characters */
#define CRYPTO_API_SECRET_LEN 32 /* hex characters */
/* A sealed PIN: nonce, MAC and up to 10 digits. */
#define CRYPTO_PIN_BOX_MAX 64
/* A call token: "<id>.<step>.<expiry>.<mac>" in URL-safe characters. */
#define CRYPTO_TOKEN_MAX 128

/*
 * Loads the 32-byte server secret from `path`, creating it (mode 0600) with
 * random bytes when it does not exist.  Call once, before threads start.
 * Returns 0, KV_EIO (message in err) or KV_EINVAL (file of the wrong size).
 */
int crypto_load_secret(const char *path, char *err, size_t errlen);

/* Uses a fixed secret (unit tests). */
void crypto_set_secret(const unsigned char secret[32]);

/* Wipes the secret and subkeys from memory. */
void crypto_wipe(void);

/* A uniformly random PIN of `digits` (4-10) decimal digits in out[digits+1]. */
void crypto_pin_new(int digits, char *out);

/*
 * The request id of verification `id` (its store id, > 0): a keyed
 * permutation of the 128-bit block (0, id), written as 32 lowercase hex
 * characters in out[33].  Without the server secret the ids look random
 * and say nothing of how many verifications there are; with it, an id
 * names its row directly, so the store needs no index of request ids.
 */
void crypto_request_id_of(int64_t id, char out[33]);

/*
 * The store id named by a request id from crypto_request_id_of(): 0 and
 * *id, or KV_EINVAL when `s` is not 32 lowercase hex characters or is not
 * such an id (an id of the earlier random kind, or a made-up one).
 */
int crypto_request_id_parse(const char *s, int64_t *id);

/* Constant-time equality of two request ids (32 characters each). */
int crypto_request_id_equal(const char *a, const char *b);

/* Fresh key material: api_key (16 hex) and api_secret (32 hex). */
void crypto_api_credentials(char key[CRYPTO_API_KEY_LEN + 1],
			    char secret[CRYPTO_API_SECRET_LEN + 1]);

/* Keyed hash of a PIN, bound to its verification's request id. */
void crypto_pin_hash(const char *request_id, const char *pin,
		     unsigned char out[CRYPTO_HASH_LEN]);

/*
 * A browser verification's handle: 128 random bits as 32 hex characters
 * (out holds CRYPTO_HANDLE_LEN + 1 bytes), the page's proof that the
 * verification is its own.  Only crypto_handle_hash() of it is stored,
 * bound to the verification's request id.
 */
#define CRYPTO_HANDLE_LEN 32
void crypto_handle_new(char out[CRYPTO_HANDLE_LEN + 1]);
void crypto_handle_hash(const char *request_id, const char *handle,
			unsigned char out[CRYPTO_HASH_LEN]);

/*
 * The operator credential (metrics, console): "kvop_" and 64 hex
 * characters, a keyed hash of `epoch` under a server subkey, so every node
 * with the same secret and epoch accepts the same token and a new epoch
 * retires the old one.  _check compares in constant time: 1 when `given`
 * is the token of `epoch`, else 0.
 */
#define CRYPTO_OPERATOR_TOKEN_LEN 69
void crypto_operator_token(long epoch, char out[CRYPTO_OPERATOR_TOKEN_LEN + 1]);
int crypto_operator_token_check(const char *given, long epoch);

/* Keyed hash of an API secret. */
void crypto_secret_hash(const char *api_secret,
			unsigned char out[CRYPTO_HASH_LEN]);

/*
 * Seals a PIN (XChaCha20-Poly1305 under a server subkey, bound to its
 * request id) so the job runner can send it again; the API never opens it.
 * Writes at most CRYPTO_PIN_BOX_MAX bytes and returns their number, or 0.
 */
size_t crypto_pin_seal(const char *request_id, const char *pin,
		       unsigned char *box);

/* Opens a sealed PIN into pin (>= 11 bytes); 0, or KV_EINVAL if forged. */
int crypto_pin_open(const char *request_id, const unsigned char *box,
		    size_t len, char *pin);

/*
 * A signed, expiring token for the URLs handed to KooKoo for one call:
 * names the verification (store id) and the workflow step.  out must hold
 * CRYPTO_TOKEN_MAX bytes.
 */
void crypto_call_token(int64_t verification_id, int step, int64_t expires_s,
		       char *out);

/*
 * Checks a token at time now_s: 0 and the named id and step, or KV_EINVAL
 * (malformed or forged) or KV_ERANGE (expired).
 */
int crypto_call_token_check(const char *token, int64_t now_s,
			    int64_t *verification_id, int *step);

#define CRYPTO_SIGN_PUBLIC_LEN 32 /* Ed25519 public key */
#define CRYPTO_SIGN_LEN 64        /* Ed25519 signature */

/*
 * The Ed25519 key pair that signs verification tokens (vtoken.h), derived
 * from the server secret: the public half, shown to anyone who verifies.
 */
void crypto_sign_public(unsigned char pk[CRYPTO_SIGN_PUBLIC_LEN]);

/* Signs len bytes of msg with the token key (detached signature). */
void crypto_sign_detached_msg(const void *msg, size_t len,
			      unsigned char sig[CRYPTO_SIGN_LEN]);

/* 0 when sig is the token key's signature of msg, else KV_EINVAL. */
int crypto_sign_check(const void *msg, size_t len,
		      const unsigned char sig[CRYPTO_SIGN_LEN]);

/*
 * A keyed hash of `text` in hex (CRYPTO_TAG_LEN characters), the same on
 * every node that shares the server secret and unguessable without it: a
 * name for something personal (a number's rate-limit bucket) in a shared
 * store, and, of a fixed text, the secret's fingerprint.
 */
#define CRYPTO_TAG_LEN 32
void crypto_tag(const char *text, char out[CRYPTO_TAG_LEN + 1]);
/* The same keyed hash of len bytes, as 32 raw bytes. */
void crypto_tag_raw(const void *data, size_t len, unsigned char out[32]);

/* Constant-time equality of two hashes: 1 equal, 0 not. */
int crypto_hash_equal(const unsigned char a[CRYPTO_HASH_LEN],
		      const unsigned char b[CRYPTO_HASH_LEN]);

#endif
