/*
 * KooKoo XML for the verification call, from the templates in
 * xml_templates/<language>/: loaded and validated once at start-up (only
 * KooKoo's tags and attributes, only our placeholders), then filled through
 * the DOM for every answer, never by pasting strings.
 */
#ifndef KV_IVR_XML_H
#define KV_IVR_XML_H

#include <stddef.h>

enum ivr_page {
	IVR_GREETING,  /* NewCall: the PIN twice, then the menu */
	IVR_REPEAT,    /* key 1, or silence with repetitions left */
	IVR_CONFIRMED, /* key 2: verified */
	IVR_REPORTED,  /* key 9: "I did not ask for this" */
	IVR_GOODBYE,   /* no key, no repetitions left */
	IVR_ENDED,     /* the PIN or the verification ended meanwhile */
	IVR_PAGE_COUNT
};

/* What fills the placeholders {brand}, {pin}, {repetitions_left}. */
struct ivr_fill {
	const char *brand;
	const char *pin; /* digits */
	int repetitions_left;
	const char *sid; /* echoed as <response sid="..."> */
	/*
	 * A Verify v2 template's voice fragment for the call, or NULL: on the
	 * pages that tell the code, it is read in place of the page's own
	 * words before the menu (ivr_voice_split), ${time-limit} being
	 * `minutes`.
	 */
	const char *voice;
	int minutes;
};

/*
 * Loads every page of every language directory under `dir` (at least "en",
 * the fallback).  A broken template fails with a message naming the file
 * and line.  Call once before threads start.  Returns 0 or KV_ECONFIG.
 */
int ivr_xml_load(const char *dir, char *err, size_t errlen);
void ivr_xml_free(void);

/*
 * Validates one template file (also used by the loader and the tests):
 * 0, or KV_ECONFIG with "file:line: reason" in err.
 */
int ivr_xml_validate_file(const char *path, char *err, size_t errlen);

/*
 * Renders `page` in language `lg` ("hi-in" → hi, unknown → en) as a UTF-8
 * document with the XML declaration.  *out is malloc'ed (caller frees);
 * returns 0, or KV_ENOMEM.
 */
int ivr_xml_render(enum ivr_page page, const char *lg,
		   const struct ivr_fill *fill, char **out, size_t *outlen);

/*
 * A voice fragment's text as the call reads it, in order: calls
 * piece(0, words, arg) for the words between codes (${brand} the brand,
 * ${time-limit} the minutes, ${time-limit-unit} "minutes"; blank runs
 * skipped) and piece(1, pin, arg) for each ${code}, which the page reads
 * digit by digit as it reads its own.  Returns 0, KV_ENOMEM, or what a
 * piece returned (non-zero stops the split).
 */
int ivr_voice_split(const char *text, const struct ivr_fill *fill,
		    int (*piece)(int is_code, const char *s, void *arg),
		    void *arg);

#endif
