/*
 * KooKoo provider client: the outbound SMS and outbound call APIs over
 * libcurl, and the parsing and classification of KooKoo's XML replies into
 * accepted, refused (final for the step) or retry.  Logs nothing.
 */
#ifndef KV_KOOKOO_H
#define KV_KOOKOO_H

#include <stddef.h>

/*
 * Client settings.  Strings are copied by kookoo_new().  A zero number means
 * the default given in brackets.  base_url is the folder of KooKoo's
 * scripts, e.g. "https://www.kookoo.in/outbound" (a trailing '/' is fine).
 */
struct kookoo_settings {
	const char *base_url;
	const char *api_key;     /* the account's API key (a secret) */
	long connect_timeout_ms; /* [3000] */
	long timeout_ms;         /* whole request [10000] */
	size_t reply_max;        /* cap on a reply body [16384] */
	/* "NAME=VALUE" added to an SMS whose text is not ASCII (see
	 * kookoo_unicode_split()); NULL or "": nothing is added. */
	const char *sms_unicode;
	/*
	 * The names of the parameters that carry an SMS's DLT template id,
	 * entity id and header (KooKoo's public docs do not name them); NULL
	 * or "": that one is not sent.  Each valid by kookoo_param_name_ok().
	 */
	const char *dlt_template_param;
	const char *dlt_entity_param;
	const char *dlt_header_param;
};

/* What DLT registered for one SMS text (strings may be NULL or ""). */
struct kookoo_dlt {
	const char *template_id;
	const char *entity_id;
	const char *header;
};

/*
 * 1 when name can be a parameter name of a setting: 1 to 31 letters,
 * digits, '_', '-' and '.'; "" gives 1 too (the parameter is not sent).
 */
int kookoo_param_name_ok(const char *name);

/*
 * Splits the sms_unicode setting "NAME=VALUE" (each 1 to 31 characters of
 * letters, digits, '_', '-' and '.') into name and value (32 bytes each,
 * may be NULL).  "" is valid and gives two empty strings.  Returns 0 or
 * KV_EINVAL.
 */
int kookoo_unicode_split(const char *setting, char *name, char *value);

/*
 * ACCEPTED: SMS accepted, or call queued (message = call id).
 * REFUSED: final for this step: DND, outside calling hours, authentication
 * error, invalid number.
 * RETRY: network error, timeout, HTTP non-2xx (5xx, 404, 429...), unknown
 * or malformed reply, "Max..." provider limits.
 */
enum kookoo_outcome {
	KOOKOO_ACCEPTED,
	KOOKOO_REFUSED,
	KOOKOO_RETRY,
};

/*
 * The outcome of one provider request.  `reason` is safe to log: it never
 * holds the phone number, the message text or the API key, and runs of
 * digits copied from provider text are masked.  `message` is KooKoo's own
 * text, verbatim (trimmed): the call id when a call is queued, otherwise it
 * may echo the number, so do not log it.
 */
struct kookoo_result {
	enum kookoo_outcome outcome;
	long http_status;  /* 0 when no HTTP reply */
	char status[32];   /* <status> text ("queued", "error", ...) or "" */
	char message[256]; /* <message> text (call id, or the error) or "" */
	char reason[160];  /* short English reason for logs and events */
};

struct kookoo;

/*
 * Creates a client: one libcurl easy handle reused across requests, so the
 * connection to KooKoo is kept alive.  Not thread-safe: one client per
 * thread.  curl_global_init() and xmlInitParser() must have been called.
 * Returns NULL on allocation failure or when base_url or api_key is NULL.
 * The caller frees it with kookoo_free().
 */
struct kookoo *kookoo_new(const struct kookoo_settings *s);
/* Frees a client and wipes its copy of the API key.  NULL is fine. */
void kookoo_free(struct kookoo *k);

/*
 * Sends an SMS: GET base_url/outbound_sms.php with api_key, phone_no,
 * message and senderid (omitted when NULL), and the sms_unicode parameter
 * when message has a byte outside ASCII (Devanagari must go as UCS-2).
 * Every value is percent-encoded.
 * Returns 0 when *out holds a result (any outcome), KV_EINVAL for a NULL
 * argument or an unusable base URL, KV_ENOMEM on allocation failure; *out
 * is filled in every case (outcome RETRY on errors).
 */
int kookoo_send_sms(struct kookoo *k, const char *phone_no, const char *message,
		    const char *senderid, struct kookoo_result *out);

/*
 * As kookoo_send_sms(), with the DLT ids of the text (dlt may be NULL):
 * each goes under the parameter name its setting gives, none when the
 * setting is empty.
 */
int kookoo_send_sms_dlt(struct kookoo *k, const char *phone_no,
			const char *message, const char *senderid,
			const struct kookoo_dlt *dlt,
			struct kookoo_result *out);

/*
 * Places a call: GET base_url/outbound.php with api_key, phone_no,
 * outbound_version=2, url (the IVR URL), callback_url and caller_id
 * (omitted when NULL).  ACCEPTED only when KooKoo answers status "queued"
 * with a non-empty message, which is then the call id (`sid`).
 * Returns as kookoo_send_sms().
 */
int kookoo_place_call(struct kookoo *k, const char *phone_no, const char *url,
		      const char *callback_url, const char *caller_id,
		      struct kookoo_result *out);

/*
 * Pure: parses a reply body of len bytes (body may be NULL when len is 0)
 * and classifies it with the HTTP status.  is_call selects the call rules
 * (accepted only with status "queued" and a non-empty message); for an SMS
 * any status other than "error" is accepted.  Fills every field of *out.
 */
void kookoo_classify(long http_status, const char *body, size_t len,
		     int is_call, struct kookoo_result *out);

/*
 * Number of new connections the client's last request opened (0 when it
 * reused a kept-alive connection), or -1 when unknown.  For tests and
 * metrics.
 */
long kookoo_last_connects(const struct kookoo *k);

#endif
