/*
 * Compact JSON text of a jansson value, the text json_dumps(v, JSON_COMPACT)
 * gives, written in one pass into one growing buffer.  The replies spend
 * most of their encoding time in jansson's per-character output callbacks;
 * this writer copies the runs between escapes whole.
 */
#ifndef KV_JDUMP_H
#define KV_JDUMP_H

#include <stddef.h>

#include <jansson.h>

/*
 * The text, NUL-terminated, allocated with malloc (the caller frees it), and
 * its length in *len (may be NULL).  NULL for NULL, when memory runs out, for
 * a string that is not UTF-8 (which json_dumps refuses too), and past
 * JDUMP_DEPTH_MAX levels of nesting.
 */
char *jdump_compact(json_t *v, size_t *len);

#define JDUMP_DEPTH_MAX 32

#endif
