/*
 * Implementation of the small internal library declared in util.h, plus the
 * text of the project error codes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "util.h"

const char *kv_strerror(int err)
{
	static const struct {
		int code;
		const char *text;
	} texts[] = {
		{KV_OK, "success"},
		{KV_ENOMEM, "out of memory"},
		{KV_EINVAL, "invalid value"},
		{KV_ERANGE, "value out of range"},
		{KV_ENOTFOUND, "not found"},
		{KV_EDB, "database error"},
		{KV_EBUSY, "database busy"},
		{KV_ETOOBIG, "too large"},
		{KV_EDUP, "duplicate"},
		{KV_EIO, "input/output error"},
		{KV_ECONFIG, "invalid configuration"},
		{KV_EAUTH, "bad credentials"},
		{KV_EPERM, "not permitted"},
	};

	for (size_t i = 0; i < ARRAY_LEN(texts); i++)
		if (texts[i].code == err)
			return texts[i].text;
	return "unknown error";
}

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->cap);
}

int buf_append(struct buf *b, const void *data, size_t n)
{
	if (n > b->cap || b->len > b->cap - n)
		return KV_ETOOBIG;
	if (b->len + n + 1 > b->alloc) {
		size_t want = b->alloc ? b->alloc : 256;
		char *p;

		while (want < b->len + n + 1)
			want *= 2;
		if (want > b->cap + 1)
			want = b->cap + 1;
		p = realloc(b->data, want);
		if (!p)
			return KV_ENOMEM;
		b->data = p;
		b->alloc = want;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	if (!s || !*s || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return KV_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return KV_EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return KV_ERANGE;
	*out = v;
	return 0;
}

int parse_int(const char *s, int min, int max, int *out)
{
	int64_t v;
	int rc = parse_int64(s, min, max, &v);

	if (rc == 0)
		*out = (int)v;
	return rc;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int is_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return 0;
	}
	return s[i] == '\0';
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Unix seconds as a UTC calendar date, by arithmetic alone: gmtime_r()
 * takes the C library's process-wide time zone lock, which every HTTP
 * thread formatting a reply's dates (or a log line's) then queues on.
 * Days are counted in 400-year eras of 146,097 days from 0000-03-01, so
 * that February, with its leap day, is the last month of a year.  Clamped
 * to the years 0000-9999 that four digits can show.
 */
static void utc_fields(int64_t unix_s, int f[6])
{
	const int64_t lo = -62167219200; /* 0000-01-01 00:00:00 */
	const int64_t hi = 253402300799; /* 9999-12-31 23:59:59 */
	int64_t s = unix_s < lo ? lo : unix_s > hi ? hi : unix_s;
	int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
	int64_t sod = s - days * 86400;
	/* Days since 0000-03-01; the day of its era, its year, its day. */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153; /* months from March */
	int64_t month = mp < 10 ? mp + 3 : mp - 9;

	f[0] = (int)(yoe + era * 400 + (month <= 2));
	f[1] = (int)month;
	f[2] = (int)(doy - (153 * mp + 2) / 5 + 1);
	f[3] = (int)(sod / 3600);
	f[4] = (int)(sod / 60 % 60);
	f[5] = (int)(sod % 60);
}

static char *put_digits(char *p, int v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/* "YYYY-MM-DD" SEP "HH:MM:SS", no NUL; returns the end. */
static char *put_datetime(char *p, int64_t unix_s, char sep)
{
	int f[6];

	utc_fields(unix_s, f);
	p = put_digits(p, f[0], 4);
	*p++ = '-';
	p = put_digits(p, f[1], 2);
	*p++ = '-';
	p = put_digits(p, f[2], 2);
	*p++ = sep;
	p = put_digits(p, f[3], 2);
	*p++ = ':';
	p = put_digits(p, f[4], 2);
	*p++ = ':';
	return put_digits(p, f[5], 2);
}

void format_datetime(int64_t unix_s, char out[20])
{
	*put_datetime(out, unix_s, ' ') = '\0';
}

void format_iso_ms(int64_t unix_ms, char out[25])
{
	int64_t ms = unix_ms % 1000;
	int64_t s = unix_ms / 1000;
	char *p;

	if (ms < 0) {
		ms += 1000;
		s--;
	}
	p = put_datetime(out, s, 'T');
	*p++ = '.';
	p = put_digits(p, (int)ms, 3);
	*p++ = 'Z';
	*p = '\0';
}

static int uuid_dash(size_t i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

void uuid_from_hex(const char *hex, char *out)
{
	size_t j = 0;

	for (size_t i = 0; i < UUID_LEN; i++) {
		if (uuid_dash(i))
			out[i] = '-';
		else
			out[i] = hex[j++];
	}
	out[UUID_LEN] = '\0';
}

void uuid_v4(const unsigned char rnd[16], char *out)
{
	unsigned char b[16];
	char hex[33];

	memcpy(b, rnd, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	hex_encode(b, sizeof(b), hex);
	uuid_from_hex(hex, out);
}
