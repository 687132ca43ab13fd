/*
 * Prometheus metrics: a fixed registry of counters, gauges and histograms
 * whose label values come from closed lists (and the API key, from a table
 * of fixed size), updated with relaxed atomics and no lock, and rendered in
 * the text exposition format 0.0.4 for the operator's /metrics.
 */
#ifndef KV_METRICS_H
#define KV_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The families; their names, help texts and labels are in metrics.c. */
enum metric_id {
	M_HTTP_REQUESTS,       /* route, dialect, status */
	M_HTTP_DURATION,       /* route, dialect (histogram) */
	M_HTTP_SLOW_CLOSES,    /* reason (set at scrape time) */
	M_VF_STARTED,          /* key, workflow */
	M_VF_VERIFIED,         /* key, workflow, channel */
	M_VF_ENDED,            /* key, workflow, result */
	M_TIME_TO_VERIFY,      /* channel (histogram) */
	M_DELIVERIES,          /* channel, result */
	M_DELIVERY_REFUSALS,   /* channel, reason */
	M_CALL_OUTCOMES,       /* outcome */
	M_CALL_KEYS,           /* pressed */
	M_MISSED_CALLS,        /* result (set at scrape time) */
	M_KOOKOO_DURATION,     /* api (histogram) */
	M_KOOKOO_ERRORS,       /* api, class */
	M_RATE_LIMITED,        /* limit */
	M_CALLBACKS,           /* result */
	M_FRAUD_REPORTS,       /* (none) */
	M_FRAUD_BLOCKS,        /* (none): blocks created */
	M_FRAUD_BLOCKS_ACTIVE, /* gauge, at scrape time */
	M_STORE_BATCH,         /* backend (histogram, ops per commit) */
	M_STORE_COMMIT,        /* backend (histogram) */
	M_STORE_READ,          /* backend (histogram) */
	M_STORE_READ_BATCH,    /* backend (histogram, lookups per statement) */
	M_JOBS_DUE,            /* gauge, at scrape time */
	M_JOBS_LEASED,         /* gauge, at scrape time */
	M_JOBS_OLDEST_DUE,     /* gauge, at scrape time */
	M_STORE_DB_BYTES,      /* gauge, at scrape time */
	M_STORE_WAL_BYTES,     /* gauge, at scrape time */
	M_COUNT
};

/* Label values: each enum is the closed list of one label. */
enum metric_dialect {
	MD_SEED,
	MD_VONAGE,
	MD_BROWSER,
	MD_IVR,
	MD_MISC,
	MD_OPERATOR,
	MD_V2,
	MD_N
};
enum metric_channel {
	MCH_SMS_CODE,
	MCH_KEYPAD,
	MCH_MISSED_CALL,
	MCH_BROWSER,
	MCH_N
};
enum metric_end { MEND_FAILED, MEND_EXPIRED, MEND_CANCELLED, MEND_N };
enum metric_send { MSEND_SMS, MSEND_CALL, MSEND_N };
enum metric_send_result {
	MRES_SENT,
	MRES_REFUSED,
	MRES_RETRIED,
	MRES_FAILED,
	MRES_N
};
enum metric_refusal { MREF_DND, MREF_WINDOW, MREF_OTHER, MREF_N };
enum metric_call_outcome {
	MCALL_ANSWERED,
	MCALL_BUSY,
	MCALL_NO_ANSWER,
	MCALL_FAILED,
	MCALL_N
};
enum metric_pressed { MKEY_1, MKEY_2, MKEY_9, MKEY_OTHER, MKEY_N };
enum metric_kookoo_error {
	MERR_NETWORK,
	MERR_TIMEOUT,
	MERR_HTTP_5XX,
	MERR_HTTP_4XX,
	MERR_MALFORMED,
	MERR_REFUSED_DND,
	MERR_REFUSED_WINDOW,
	MERR_AUTH,
	MERR_OTHER,
	MERR_N
};
enum metric_limit {
	MLIM_KEY,
	MLIM_NUMBER,
	MLIM_PREFIX,
	MLIM_CHECK_IP,
	MLIM_AUTH_FAILURES,
	MLIM_PUBLISHABLE_IP,
	MLIM_PUBLISHABLE_KEY,
	MLIM_RESEND,
	MLIM_BLOCKED_PREFIX,
	MLIM_N
};
enum metric_backend { MB_SQLITE, MB_POSTGRES, MB_N };
/* kookooverify_store_read_batch_size: what the readers looked up. */
enum metric_lookup { MLOOK_SEARCH, MLOOK_LIVE, MLOOK_N };
enum metric_slow_close { MSLOW_EVICTED, MSLOW_TIMEOUT, MSLOW_N };
enum metric_missed { MMISS_VERIFIED, MMISS_IGNORED, MMISS_UNMATCHED, MMISS_N };
enum metric_callback {
	MCB_QUEUED,
	MCB_DELIVERED,
	MCB_RETRIED,
	MCB_GIVEN_UP,
	MCB_N
};

/*
 * Workflows 0 (the default one) to this have a label of their own; others
 * are "other".
 */
#define METRICS_WORKFLOWS 9
/* API keys with a label of their own; later ones are key="other". */
#define METRICS_KEYS 1024
/* Routes the HTTP front may name; later ones count as route="other". */
#define METRICS_ROUTES 63

/*
 * Names the routes for the `route` label (label i is names[i]); the HTTP
 * front calls it once at start, before serving.  The strings must live as
 * long as the program.  Past METRICS_ROUTES they are "other".
 */
void metrics_routes_set(const char *const *names, unsigned n);

/* The `status` label's index of an HTTP status code. */
unsigned metrics_status(unsigned code);

/* The label index of workflow id `w` (0..METRICS_WORKFLOWS, else other). */
unsigned metrics_workflow(int w);

/*
 * The label index of API key `key_id` (the store's row id): its own slot
 * while the table has room, else the shared "other" slot.  Lock-free.
 */
unsigned metrics_key(int64_t key_id);

/*
 * Names key `key_id` by its public id (the api_key, never the secret), as
 * the label shows it.  Once per key: later calls change nothing.
 */
void metrics_key_name(int64_t key_id, const char *api_key);

/* Calls cb for each key slot that has no name yet (a scrape names them). */
void metrics_keys_unnamed(void (*cb)(int64_t key_id, void *arg), void *arg);

/*
 * Adds n to the counter cell of family id at labels (a, b, c: label
 * indices in the family's order; unused ones 0).  Inside a writer's
 * transaction (metrics_tx_begin) the addition waits for its commit.
 */
void metrics_add(enum metric_id id, unsigned a, unsigned b, unsigned c,
		 uint64_t n);
#define metrics_inc(id, a, b, c) metrics_add((id), (a), (b), (c), 1)

/* A gauge set to this is left out of the exposition (not known). */
#define METRICS_ABSENT UINT64_MAX

/* Sets a gauge, or a counter kept elsewhere, read at scrape time. */
void metrics_set(enum metric_id id, unsigned a, unsigned b, unsigned c,
		 uint64_t v);

/* Observes value v (seconds, or a count) in histogram id at labels a, b. */
void metrics_observe(enum metric_id id, unsigned a, unsigned b, double v);

/* Seconds since a mono_ms()-like start in nanoseconds (metrics_now_ns). */
uint64_t metrics_now_ns(void);
double metrics_since(uint64_t start_ns);

/*
 * A writer's transaction: between begin and end, this thread's additions
 * are held and applied only if end is told the transaction committed, so
 * a closure that runs again after a rollback counts once.
 */
void metrics_tx_begin(void);
void metrics_tx_end(int committed);

/*
 * Appends the exposition of every family to out (text format 0.0.4).
 * Returns 0 or KV_ETOOBIG / KV_ENOMEM from the buffer.
 */
int metrics_render(struct buf *out);

/* Appends v with `\`, `"` and newlines escaped, as a label value. */
int metrics_escape_label(struct buf *out, const char *v);

/* Forgets every figure and key (tests). */
void metrics_reset(void);

#endif
