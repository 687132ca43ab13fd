/*
 * Small internal library: a growable byte buffer with a hard cap, bounded
 * number parsing in the style of strtonum(3), hex encoding and time formats.
 */
#ifndef KV_UTIL_H
#define KV_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Growable buffer.  Storage is the caller's; buf_release() frees contents. */
struct buf {
	char *data; /* always NUL-terminated when len > 0 */
	size_t len;
	size_t alloc;
	size_t cap; /* appends that would exceed this fail with KV_ETOOBIG */
};

void buf_init(struct buf *b, size_t cap);
void buf_release(struct buf *b);
/* Appends n bytes; returns 0, KV_ETOOBIG past the cap, or KV_ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t n);
int buf_append_str(struct buf *b, const char *s);

/*
 * Parses a whole decimal integer in [min, max].  Leading '+' and surrounding
 * whitespace are refused.  Returns 0, KV_EINVAL (not a number) or KV_ERANGE.
 */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
int parse_int(const char *s, int min, int max, int *out);

/* Writes 2*n lowercase hex digits and a NUL into out (size >= 2*n+1). */
void hex_encode(const unsigned char *in, size_t n, char *out);
/* True when s is exactly len lowercase or uppercase hex digits. */
int is_hex(const char *s, size_t len);

/* Current time: wall clock in milliseconds and monotonic in milliseconds. */
/* A UUID's length in its 8-4-4-4-12 form. */
#define UUID_LEN 36
/* The UUID form of 32 hex digits (out: UUID_LEN + 1 bytes). */
void uuid_from_hex(const char *hex, char *out);
/* A version 4 UUID, lower case, made of 16 random bytes the caller drew. */
void uuid_v4(const unsigned char rnd[16], char *out);

int64_t now_ms(void);
int64_t mono_ms(void);

/*
 * UTC dates without the C library's time zone state (and its lock), for
 * the years 0000-9999 (times outside are clamped to them):
 * "YYYY-MM-DD HH:MM:SS" for Unix seconds, 20 bytes with the NUL, and
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" for Unix milliseconds, 25 bytes.
 */
void format_datetime(int64_t unix_s, char out[20]);
void format_iso_ms(int64_t unix_ms, char out[25]);

#endif
