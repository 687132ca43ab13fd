/*
 * The Vonage Verify v2 dialect's pure parts (api_v2_codes.c), shared by
 * api_v2.c and its unit tests: the table of RFC 7807 problems (status,
 * type URL, title, detail), the map from a v2 workflow (a list of
 * channels) to the engine's workflow, and request ids in UUID form; and
 * the replies api_v2.c shares with api_v2_templates.c.
 */
#ifndef KV_API_V2_H
#define KV_API_V2_H

#include <stddef.h>

#include "api.h"
#include "engine.h"
#include "model.h"

/* Every problem a v2 endpoint answers with. */
enum v2_cond {
	V2_INTERNAL = 0,     /* 500 */
	V2_INVALID_JSON,     /* 400, arg: the parser's sentence */
	V2_TOO_BIG,          /* 413 */
	V2_INVALID_CODE,     /* 400: a wrong code, attempts left */
	V2_UNAUTHORIZED,     /* 401 */
	V2_FORBIDDEN,        /* 403 */
	V2_BLOCKED,          /* 403: the number's prefix is blocked */
	V2_NOT_FOUND,        /* 404, arg: the request id */
	V2_NO_ROUTE,         /* 404: no such resource */
	V2_METHOD,           /* 405 */
	V2_CONCURRENT,       /* 409: a live verification of the number */
	V2_NO_MORE_EVENTS,   /* 409: next_workflow after the last step */
	V2_CANCEL_TOO_EARLY, /* 409, num: the cancel_min_age setting */
	V2_CANCEL_TOO_LATE,  /* 409 */
	V2_IDEMPOTENCY,    /* 422: an Idempotency-Key reused for another body */
	V2_TOO_MANY_WRONG, /* 410 */
	V2_EXPIRED,        /* 410 */
	V2_INVALID_PARAMS, /* 422, with invalid_parameters */
	V2_THROTTLED,      /* 429, with Retry-After */
	V2_CONFLICT,       /* 409, arg: why (the templates) */
	V2_COND_COUNT,
};

struct v2_problem {
	unsigned int status;
	const char *type;
	const char *title;
	const char *detail; /* "%s": the argument; "%d": the number */
};

/* The problem of `cond`, or the internal error's for a cond out of range. */
const struct v2_problem *v2_problem_of(enum v2_cond cond);

/* The channels a v2 workflow step may name, and what this server does. */
enum v2_channel {
	V2_CH_SMS,
	V2_CH_VOICE,
	V2_CH_ELSEWHERE, /* one of Vonage's channels this server does not have */
	V2_CH_UNKNOWN,   /* no channel of Vonage's */
};

enum v2_channel v2_channel_find(const char *name);

/*
 * The engine workflow (Vonage v1's 1-7) that runs the steps channels[0..n)
 * in order, or -1 when none does (this server runs the orders v1 has:
 * sms, voice, sms+voice, sms+sms, voice+voice, sms+sms+voice and
 * sms+voice+voice).
 */
int v2_workflow_id(const enum v2_channel *channels, size_t n);

/* Length of a request id in UUID form (8-4-4-4-12 lower-case hex). */
#define V2_UUID_LEN 36

/* The UUID form of a 32-hex request id (out: V2_UUID_LEN + 1 bytes). */
void v2_uuid_from_id(const char *id, char *out);

/*
 * The 32-hex request id of a UUID (case-insensitive) into out
 * (ENGINE_REQUEST_ID_LEN + 1 bytes, lower case).  Returns 0, or -1 when
 * s is not a UUID (out is then "").
 */
int v2_id_from_uuid(const char *s, char *out);

/* ---- api_v2.c's replies, for api_v2_templates.c ---- */

/*
 * Answers `cond` as application/problem+json: `arg` and `num` fill its
 * detail; `rid` (may be NULL) is the request_id member; `invalid` (may be
 * NULL, taken) the invalid_parameters array.
 */
void v2_problem(struct http_req *req, enum v2_cond cond, const char *arg,
		int num, const char *rid, json_t *invalid);
/* Answers a call api_prepare() refused (f != API_READY). */
void v2_refuse(struct http_req *req, enum api_fail f);
/* Answers `o` (taken) as JSON with `status`; a NULL o answers 500. */
void v2_reply(struct http_req *req, unsigned int status, json_t *o);
/* Answers `status` without a body (204). */
void v2_send_empty(struct http_req *req, unsigned int status);
/*
 * The request's body as a JSON object ({} when empty), or NULL with a 400
 * problem answered.  The caller frees it.
 */
json_t *v2_body_object(struct http_req *req);

/* The templates' paths (api_v2_templates.c): /v2/verify/templates... */
#define V2_TEMPLATES "/v2/verify/templates"
void v2_templates(struct http_req *req);

/*
 * A template or fragment id of len bytes at s, lower-cased into out
 * (NUL-terminated).  Returns 0, or -1 when it is longer than an id.
 */
int v2_template_id_read(const char *s, size_t len,
			char out[TEMPLATE_ID_LEN + 1]);

/* A template as Vonage renders it (with its links), or NULL. */
json_t *v2_template_json(const char *id, const char *name, int is_default);

/* ---- the DLT set as a read-only template (api_v2_dlt.c) ---- */

#define V2_BUILTIN_ID "6b1f4ad2-0c4e-4d63-9a51-2f7d3c8e9b10"
#define V2_BUILTIN_NAME "dlt"

struct sms_template;

/* 1 when id (lower case) is the built-in template's. */
int v2_builtin_is(const char *id);
/* The built-in template; is_default when the key has no default of its
 * own.  The caller frees it. */
json_t *v2_builtin_json(int is_default);
/* Its fragments, one per locale with a set (a new array), and the one of
 * id `fid` (NULL when none).  The caller frees them. */
json_t *v2_builtin_fragments(void);
json_t *v2_builtin_fragment(const char *fid);

/*
 * Why a fragment's text is refused whatever its channel (a static
 * sentence), or NULL: it must hold ${code}, use no variable but ${code},
 * ${brand}, ${time-limit} and ${time-limit-unit}, and fit
 * FRAGMENT_TEXT_MAX.
 */
const char *v2_fragment_text_check(const char *text);

/*
 * Why a voice fragment's text is refused (a static sentence), or NULL:
 * the call reads it as KooKoo XML text, so it holds no control character
 * and no character XML 1.0 cannot carry (U+FFFE, U+FFFF).
 */
const char *v2_voice_text_check(const char *text);

/*
 * The registered DLT template an sms fragment's text is for `locale`
 * (Vonage's): the locale's registered text with ${code}, ${brand} and
 * ${time-limit} in its slots and ${time-limit-unit} standing for the word
 * after the time-limit slot.  NULL when it is none.
 */
const struct sms_template *v2_dlt_match(const char *locale, const char *text);

/*
 * A start's template (docs/API.md): `template_id` of the key (NULL: the
 * key's default, else the built-in set), for a start in `locale` (NULL:
 * en-us) whose steps are channels[0..n).  Returns 0 when the start may go
 * on, else -1 with the problem answered: 422 naming template_id (an
 * unknown id, or an sms fragment for the locale that is no longer a
 * registered DLT text), or 500 when the store failed.  The template it
 * chose (the key's own, the one its calls read a voice fragment of) goes
 * to chosen, "" for the built-in set.
 */
int v2_start_template(struct http_req *req, int64_t key_id,
		      const char *template_id, const char *locale,
		      const enum v2_channel *channels, size_t n,
		      char chosen[TEMPLATE_ID_LEN + 1]);

#endif
