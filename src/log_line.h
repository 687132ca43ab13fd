/*
 * Private to log.c and log_json.c: one line about to be rendered, with its
 * context resolved and its numbers already masked.
 */
#ifndef KV_LOG_LINE_H
#define KV_LOG_LINE_H

#include <stddef.h>

#include "log.h"

/* Longest rendered line; a longer one is cut (values first, see log.c). */
#define LOG_LINE_MAX 2048
/* Longest value kept of one field or context entry, in bytes. */
#define LOG_VALUE_MAX 512

struct log_line {
	char time[25]; /* RFC 3339 UTC with milliseconds (format_iso_ms) */
	const char *level;
	const char *event;
	const char *request_id; /* "" for none, as key and number */
	const char *key;
	const char *number; /* masked */
	const struct log_field *fields;
	size_t nfields;
	/* fields[i] of type LOG_FIELD_NUMBER, masked: masked[i] */
	char (*masked)[LOG_MASKED_LEN];
};

/*
 * Renders l as one compact JSON object and a newline into out (cap bytes).
 * Returns the length written, or 0 if it did not fit or memory ran out.
 */
size_t log_render_json(const struct log_line *l, char *out, size_t cap);

#endif
