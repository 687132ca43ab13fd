/*
 * Request parameters: a small bounded table of name/value pairs filled from a
 * URL query string, an application/x-www-form-urlencoded body or a JSON object
 * body, plus HTTP Basic credentials.  Every name and value in the table is
 * valid UTF-8 with no control characters; every cap is checked.
 */
#ifndef KV_PARAMS_H
#define KV_PARAMS_H

#include <stddef.h>

#define PARAMS_MAX 32         /* more parameters than this: KV_ETOOBIG */
#define PARAMS_NAME_MAX 64    /* longer names (decoded bytes): KV_ETOOBIG */
#define PARAMS_VALUE_MAX 2048 /* longer values (decoded bytes): KV_ETOOBIG */
#define PARAMS_AUTH_MAX 1024  /* longer Basic credentials (base64): KV_EINVAL */

/*
 * One parameter.  name and value share one allocation owned by the table:
 * free name only (params_release and params_remove do it).
 */
struct param {
	char *name;
	char *value;
	int repeated; /* another parameter has the same name */
};

/* Storage is the caller's: params_init, parse, read, params_release. */
struct params {
	struct param items[PARAMS_MAX];
	size_t count;
	char error[128]; /* after a failure: short English reason for the
			    client, e.g. "Too many parameters" */
};

void params_init(struct params *p);
/* Frees every name and value; p is empty and reusable afterwards. */
void params_release(struct params *p);

/*
 * Parses "a=1&b=%20x+y" (no leading '?') and appends to the table:
 * percent-decoding, '+' is a space, a parameter without '=' has the empty
 * value, empty segments ("a=1&&b=2") are skipped.  Several calls append to the
 * same table (query first, then body).
 * Returns 0; KV_EINVAL (bad escape, empty name, invalid UTF-8 or control
 * characters); KV_ETOOBIG (a cap); KV_ENOMEM.  On failure p->error says why
 * and the table is exactly as it was before the call.
 */
int params_parse_query(struct params *p, const char *query, size_t len);
/* Same grammar and results for an application/x-www-form-urlencoded body. */
int params_parse_form(struct params *p, const char *body, size_t len);

/*
 * Parses a JSON object body and appends its members: strings as they are,
 * numbers as decimal text ("4", "0.5"), booleans as "true"/"false", null as
 * absent, an array of scalars as repeated parameters of the same name.
 * Returns 0; KV_EINVAL (invalid JSON, duplicate keys, top level not an object,
 * a nested object or array, invalid characters); KV_ETOOBIG; KV_ENOMEM.
 * Same error and rollback contract as params_parse_query.
 */
int params_parse_json(struct params *p, const char *body, size_t len);

/* Value of the first parameter called name, or NULL.  Owned by the table. */
const char *params_get(const struct params *p, const char *name);
/* Number of values of name (0 when absent). */
size_t params_count(const struct params *p, const char *name);
/*
 * Stores up to max values of name in out, in order (pointers owned by the
 * table); returns how many values exist, which may be more than max.
 */
size_t params_get_all(const struct params *p, const char *name,
		      const char **out, size_t max);
/* Removes and frees every parameter called name (e.g. api_secret). */
void params_remove(struct params *p, const char *name);

/*
 * Decodes an Authorization header value "Basic base64(user:pass)" (scheme
 * case-insensitive).  On success *user and *pass are malloc'ed NUL-terminated
 * strings the caller frees (wipe *pass with sodium_memzero first); user is
 * non-empty and holds no ':'.  Returns 0, KV_EINVAL on anything malformed
 * (then both are NULL) or KV_ENOMEM.
 */
int params_parse_basic_auth(const char *header, char **user, char **pass);

#endif
