/*
 * kookoo-sim private header: the limits, the shared state (struct
 * sim_state, every field under sim.lock), one HTTP request, one call, and
 * the functions the simulator's files share.  Not used outside tools/.
 */
#ifndef KOOKOO_SIM_H
#define KOOKOO_SIM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>

#include "util.h"

#define SIM_BODY_MAX ((size_t)64 * 1024)  /* request bodies we accept */
#define SIM_REPLY_MAX ((size_t)64 * 1024) /* IVR and callback replies we read */
#define SIM_FORM_MAX 32                   /* form fields read from a body */
#define SIM_NUMBERS_MAX 10000  /* inboxes, counters, per-number stats */
#define SIM_SMS_PER_NUMBER 100 /* oldest dropped past this */
#define SIM_CALLS_PER_NUMBER 50
#define SIM_LINES_PER_CALL 200
#define SIM_LINE_MAX 500
#define SIM_SMS_TEXT_MAX 1000
#define SIM_URL_MAX 4096
#define SIM_CALLS_ACTIVE_MAX 64
#define SIM_CONNECTIONS_MAX 256
#define SIM_STEPS_MAX 20          /* IVR requests per call */
#define SIM_HTTP_TIMEOUT_MS 5000L /* each request the simulator makes */
#define SIM_WORD_MS 400           /* simulated speaking time per word */
#define SIM_DEFAULT_DID "0800000000"

enum sim_mode {
	MODE_OK,
	MODE_DND,
	MODE_WINDOW,
	MODE_HTTP500,
	MODE_TIMEOUT,
	MODE_GARBAGE,
	MODE_NO_ANSWER,
	MODE_BUSY,
};

/* What one number (or "*") is scripted to do; see tools/README.md. */
struct sim_script {
	int sms;
	int call;
	int sms_fail_times;
	int call_fail_times;
	int hangup_at;
	int ring_ms;
	int timeout_ms;
	json_t *keys; /* array of strings, or NULL */
};

/* Everything shared between threads; every field under lock. */
struct sim_state {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on stop, and when a call thread ends */
	int stopping;
	int active_calls;
	int quiet;
	int allow_remote;
	json_t *scripts;  /* number or "*" -> script; failure_rate; api_key */
	json_t *inboxes;  /* phone_no as first seen -> {phone_no, sms, calls} */
	json_t *counters; /* last 10 digits -> {"sms": n, "call": n} */
	json_t *stats;    /* group -> outcome -> count */
	uint64_t rng;
	uint64_t next_sid;
	char inbound_url[SIM_URL_MAX + 1]; /* --inbound-url: the DIDs' app URL */
};

extern struct sim_state sim;

/* One HTTP request to the simulator, from headers to completion. */
struct sim_req {
	struct MHD_Connection *conn;
	const char *path;
	int is_get;
	int is_post;
	struct buf body;
	int body_too_big;
	size_t nform;
	const char *form_name[SIM_FORM_MAX];
	const char *form_value[SIM_FORM_MAX];
	unsigned int status;
	const char *type;
	char *reply; /* malloc'd */
	size_t reply_len;
};

/* One queued call, owned by its thread. */
struct sim_call {
	char sid[24];
	char phone[32];
	char caller_id[40];
	char *target; /* URL of the next IVR request ("" if none) */
	char *extra_data;
	char *callback_url;
	int mode;
	struct sim_script script;
	json_t *rec; /* its record in the inbox; one reference is ours */
	CURL *curl;
	int64_t talk_ms;
	int64_t start_s;
	size_t next_key;
	const char *details;
};

/* Mode names as scripts spell them, indexed by enum sim_mode. */
extern const char *const mode_names[];
/* The script of a number nothing is scripted for. */
extern const struct sim_script script_defaults;

/*
 * sim_state.c.  Functions named *_locked expect sim.lock held; the others
 * take it themselves.  None of them takes ownership of its arguments
 * except where said (array_push_capped steals item).
 */
void sim_init(void);
/* Loads --script FILE at start (before any thread); exits on error. */
void script_load_file(const char *path);
int sim_is_stopping(void);
int sim_sleep_ms(int64_t ms);
double sim_random_locked(void);
void text_clean(char *dst, size_t cap, const char *src);
/* The same, keeping '\n': an SMS's lines (WebOTP reads the last one). */
void text_clean_message(char *dst, size_t cap, const char *src);
int phone_ok(const char *p);
int empty(const char *s);
void sim_print_locked(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void array_push_capped(json_t *arr, json_t *item, size_t cap);
void stats_bump_locked(const char *group, const char *name);
void stats_bump(const char *group, const char *name);
int counter_bump_locked(const char *phone, const char *api);
/* Borrowed reference into sim.inboxes, or NULL. */
json_t *inbox_find_locked(const char *phone, int create);
void stats_number_locked(const char *phone, const char *name);
/* unicode: the request's Unicode marker (outbound_sms.php's `unicode`
 * parameter, <sendsms unicode="...">), NULL when absent.  params: the
 * request's other parameters (an object, taken over; NULL: none), kept as
 * the SMS's "params". */
void inbox_add_sms_locked(const char *phone, const char *text,
			  const char *sender, const char *unicode,
			  json_t *params);
/* 0, or KV_EINVAL/KV_ERANGE with a message in err. */
int script_validate(json_t *root, char *err, size_t errlen);
void script_merge_locked(json_t *root);
/* s->keys is a new reference the caller releases. */
void script_resolve_locked(const char *phone, struct sim_script *s);

/* sim_http.c: the reply helpers set r's reply; the MHD callbacks. */
void reply_copy(struct sim_req *r, unsigned int status, const char *type,
		const char *text);
void reply_kookoo(struct sim_req *r, const char *status, const char *message);
/* reply_json() steals v. */
void reply_json(struct sim_req *r, unsigned int status, json_t *v);
void reply_json_error(struct sim_req *r, unsigned int status, const char *text);
/* Borrowed from the request; NULL when absent. */
const char *req_param(struct sim_req *r, const char *name);
enum MHD_Result sim_handle(void *cls, struct MHD_Connection *conn,
			   const char *url, const char *method,
			   const char *version, const char *upload_data,
			   size_t *upload_data_size, void **con_cls);
void sim_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		   enum MHD_RequestTerminationCode toe);
void mhd_log(void *cls, const char *fmt, va_list ap);

/* sim_outbound.c: the two KooKoo routes. */
void api_sms(struct sim_req *r);
void api_call(struct sim_req *r);

/* sim_call.c: the thread takes c (calloc'd) and frees it with call_free. */
void *call_thread(void *arg);
void call_free(struct sim_call *c);
/*
 * url with pairs (name, value, ..., NULL) appended to its query; NULL with
 * err set for a bad URL or (without --allow-remote) a host not loopback.
 * Free with curl_free().
 */
char *url_with_query(const char *url, const char *const *pairs, char *err,
		     size_t errlen);
/* GET (post NULL) or form-POST url; the reply body into out (capped). */
int http_fetch(CURL *h, const char *url, const char *post, struct buf *out,
	       long *code, char *err, size_t errlen);

/* sim_inbound.c: POST /sim/inbound places a call to a DID. */
void api_inbound(struct sim_req *r);

#endif /* KOOKOO_SIM_H */
