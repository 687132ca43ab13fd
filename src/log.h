/*
 * Logging: one line per event on stderr, as text for people ("ts level event
 * k=v ...") or as one JSON object for machines (log_format).  A log call
 * names a stable event and its typed fields; the thread's request context
 * (request id, API key, masked number) is added to every line.
 */
#ifndef KV_LOG_H
#define KV_LOG_H

#include <stddef.h>
#include <stdio.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Lines below this level are dropped.  Default LOG_INFO. */
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int log_level_parse(const char *name);
/* Text (default) or JSON lines. */
void log_set_format(enum log_format format);
/* Parses "text", "json"; returns -1 if unknown. */
int log_format_parse(const char *name);
/* Where lines go: NULL (the default) is stderr; tests pass a file. */
void log_set_stream(FILE *f);
/* Whether a line of `level` would be written (to skip costly fields). */
int log_enabled(enum log_level level);

/*
 * A field of an event.  Build them with the macros below, never by hand:
 * LOG_NUMBER is the only way to log a phone number (it is masked when the
 * line is rendered), and there is no way to log a PIN or a secret.
 */
enum log_field_type {
	LOG_FIELD_SKIP, /* the array's leading placeholder */
	LOG_FIELD_STR,
	LOG_FIELD_INT,
	LOG_FIELD_NUMBER,
	LOG_FIELD_DOUBLE,
};

struct log_field {
	const char *key;
	enum log_field_type type;
	const char *str; /* STR: the text (NULL renders as "-" / null);
			  * NUMBER: E.164 digits, with or without '+' */
	int len;         /* STR: most bytes of str, or -1: up to its NUL */
	long long num;   /* INT */
	double real;     /* DOUBLE */
};

/* A text value; escaped when rendered, so any input is safe. */
#define LOG_STR(k, v)                                                          \
	((struct log_field){                                                   \
		.key = (k), .type = LOG_FIELD_STR, .str = (v), .len = -1})
/* At most n bytes of v, up to its NUL (the first line of a message). */
#define LOG_STRN(k, v, n)                                                      \
	((struct log_field){.key = (k),                                        \
			    .type = LOG_FIELD_STR,                             \
			    .str = (v),                                        \
			    .len = (int)(n)})
#define LOG_INT(k, v)                                                          \
	((struct log_field){                                                   \
		.key = (k), .type = LOG_FIELD_INT, .num = (long long)(v)})
/* A measure such as a duration: 3 decimals in text. */
#define LOG_DOUBLE(k, v)                                                       \
	((struct log_field){                                                   \
		.key = (k), .type = LOG_FIELD_DOUBLE, .real = (double)(v)})
/* A phone number: rendered masked ("+91********10"), never in full. */
#define LOG_NUMBER(k, v)                                                       \
	((struct log_field){.key = (k), .type = LOG_FIELD_NUMBER, .str = (v)})

/*
 * Writes one event: `event` is a short stable dotted name ("sms.sent"),
 * fields[0..n) its fields (LOG_FIELD_SKIP ones are ignored).  One write
 * per line, so lines from different threads never mix.  Use the macros.
 */
void log_write(enum log_level level, const char *event,
	       const struct log_field *fields, size_t n);
/* Writes the event at error level and exits with status 1. */
void log_fatal(const char *event, const struct log_field *fields, size_t n)
	__attribute__((noreturn));

/* The fields of a call as an array and its length; may be empty. */
#define LOG_FIELDS_(...)                                                       \
	((const struct log_field[]){{.type = LOG_FIELD_SKIP}, __VA_ARGS__})
#define LOG_NFIELDS_(...)                                                      \
	(sizeof(LOG_FIELDS_(__VA_ARGS__)) / sizeof(struct log_field))

/*
 * log_info("store.reconnected", LOG_STR("who", who), LOG_INT("n", 3)): the
 * event name, then any number of LOG_* fields.
 */
#define log_event(level, event, ...)                                           \
	log_write((level), (event), LOG_FIELDS_(__VA_ARGS__),                  \
		  LOG_NFIELDS_(__VA_ARGS__))
#define log_debug(event, ...) log_event(LOG_DEBUG, event, __VA_ARGS__)
#define log_info(event, ...) log_event(LOG_INFO, event, __VA_ARGS__)
#define log_warn(event, ...) log_event(LOG_WARN, event, __VA_ARGS__)
#define log_error(event, ...) log_event(LOG_ERROR, event, __VA_ARGS__)
#define fatal(event, ...)                                                      \
	log_fatal((event), LOG_FIELDS_(__VA_ARGS__), LOG_NFIELDS_(__VA_ARGS__))

/*
 * The calling thread's request context, added to each line it logs until
 * cleared: the HTTP front clears it as each request starts and after its
 * reply; the API layer sets the key and the request id when it knows them,
 * the service the number; a delivery worker sets them for its job.  Values
 * are copied (cut to fit); NULL or "" unsets one.
 */
void log_context_request_id(const char *request_id);
/* The API key's public id (never its secret). */
void log_context_key(const char *key);
/* Masked here: the context never holds a full number. */
void log_context_number(const char *e164);
void log_context_clear(void);

/* Room for a masked number (phone.h's PHONE_REDACT_LEN). */
#define LOG_MASKED_LEN 17

/* A copy of a thread's context, to carry it across a write's wait. */
struct log_context {
	char request_id[64];
	char key[64];
	char number[LOG_MASKED_LEN]; /* masked */
};

void log_context_save(struct log_context *out);
void log_context_restore(const struct log_context *in);
/* The context's request id, "" for none (the access log's). */
const char *log_context_get_request_id(void);

#endif
