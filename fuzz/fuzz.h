/*
 * Shared by the libFuzzer harnesses in fuzz/: the entry points libFuzzer
 * calls, an invariant check that survives NDEBUG, and the text checks the
 * harnesses apply to what the code under test hands back.
 */
#ifndef KV_FUZZ_H
#define KV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant is a crash: libFuzzer saves the input that did it. */
#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/* A copy of data[0..size) with a NUL after it; the caller frees it. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * An exact-size heap copy of data[0..size), not terminated, so that ASan
 * reports a read past its end; the caller frees it.
 */
static inline char *fuzz_memdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	return s;
}

/* True when s[0..n) is valid UTF-8 (no overlong forms, no surrogates). */
static inline int fuzz_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned int c = u[i], cp;
		size_t k, j;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc0 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf7)
			k = 3, cp = c & 0x07;
		else
			return 0;
		if (n - i <= k)
			return 0;
		for (j = 1; j <= k; j++) {
			if ((u[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (u[i + j] & 0x3f);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
		    (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* True when s[0..n) holds no C0 control character and no DEL. */
static inline int fuzz_no_controls(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * True when s[0..n) is what params.c lets into a parameter: valid UTF-8, no
 * control character, and neither U+FFFE nor U+FFFF (not XML 1.0 characters).
 */
static inline int fuzz_param_text(const char *s, size_t n)
{
	if (!fuzz_utf8_valid(s, n) || !fuzz_no_controls(s, n))
		return 0;
	for (size_t i = 0; i + 2 < n; i++)
		if ((unsigned char)s[i] == 0xef &&
		    (unsigned char)s[i + 1] == 0xbf &&
		    (unsigned char)s[i + 2] >= 0xbe)
			return 0;
	return 1;
}

/* True when buf (size bytes) holds a NUL, i.e. is a terminated string. */
static inline int fuzz_terminated(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}

#endif
