/*
 * The metrics registry (metrics.h): each family's name, help, labels and
 * cells (relaxed atomics, no lock), the table of API keys the `key` label
 * names, and the holding of a writer transaction's additions until its
 * commit.  The text exposition is in metrics_render.c.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "metrics_family.h"

static const char *const dialects[MD_N] = {"seed", "vonage",   "browser", "ivr",
					   "misc", "operator", "v2"};
static const char *const channels[MCH_N] = {"sms_code", "keypad", "missed_call",
					    "browser"};
static const char *const ends[MEND_N] = {"failed", "expired", "cancelled"};
static const char *const sends[MSEND_N] = {"sms", "call"};
static const char *const send_results[MRES_N] = {"sent", "refused", "retried",
						 "failed"};
static const char *const refusals[MREF_N] = {"dnd", "calling_window", "other"};
static const char *const call_outcomes[MCALL_N] = {"answered", "busy",
						   "no_answer", "failed"};
static const char *const pressed[MKEY_N] = {"1", "2", "9", "other"};
static const char *const kookoo_errors[MERR_N] = {
	"network",     "timeout",        "http_5xx", "http_4xx", "malformed",
	"refused_dnd", "refused_window", "auth",     "other"};
static const char *const limits[MLIM_N] = {
	"key",           "number",         "prefix",          "check_ip",
	"auth_failures", "publishable_ip", "publishable_key", "resend",
	"blocked_prefix"};
static const char *const backends[MB_N] = {"sqlite", "postgres"};
static const char *const lookups[MLOOK_N] = {"search", "live"};
static const char *const slow_closes[MSLOW_N] = {"evicted", "timeout"};
static const char *const missed[MMISS_N] = {"verified", "ignored", "unmatched"};
static const char *const callbacks[MCB_N] = {"queued", "delivered", "retried",
					     "given_up"};
static const char *const workflows[METRICS_WORKFLOWS + 2] = {
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "other"};
/* Filled by metrics_routes_set(); the last one is "other". */
static const char *routes[METRICS_ROUTES + 1];

/* HTTP statuses with a label of their own; any other is "other". */
static const unsigned status_codes[] = {200, 201, 204, 301, 302, 304, 400, 401,
					403, 404, 405, 406, 409, 410, 413, 415,
					422, 429, 500, 502, 503, 504};
static const char *const statuses[] = {"200", "201", "204",  "301", "302",
				       "304", "400", "401",  "403", "404",
				       "405", "406", "409",  "410", "413",
				       "415", "422", "429",  "500", "502",
				       "503", "504", "other"};

#define LABEL(n, v)                                                            \
	{                                                                      \
		(n), (v), ARRAY_LEN(v)                                         \
	}
static const struct metric_label l_dialect = LABEL("dialect", dialects);
static const struct metric_label l_channel = LABEL("channel", channels);
static const struct metric_label l_end = LABEL("result", ends);
static const struct metric_label l_send = LABEL("channel", sends);
static const struct metric_label l_send_result = LABEL("result", send_results);
static const struct metric_label l_refusal = LABEL("reason", refusals);
static const struct metric_label l_outcome = LABEL("outcome", call_outcomes);
static const struct metric_label l_pressed = LABEL("pressed", pressed);
static const struct metric_label l_api = LABEL("api", sends);
static const struct metric_label l_class = LABEL("class", kookoo_errors);
static const struct metric_label l_limit = LABEL("limit", limits);
static const struct metric_label l_backend = LABEL("backend", backends);
static const struct metric_label l_lookup = LABEL("lookup", lookups);
static const struct metric_label l_slow = LABEL("reason", slow_closes);
static const struct metric_label l_missed = LABEL("result", missed);
static const struct metric_label l_callback = LABEL("result", callbacks);
static const struct metric_label l_workflow = LABEL("workflow", workflows);
static const struct metric_label l_status = LABEL("status", statuses);
static const struct metric_label l_route = {"route", routes,
					    METRICS_ROUTES + 1};
/* The `key` label: values from the key table (values NULL). */
static const struct metric_label l_key = {"key", NULL, METRICS_KEYS + 1};

static const double http_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
				     0.025,  0.05,  0.1,    0.25,  0.5,
				     1,      2.5,   5,      10};
static const double verify_bounds[] = {5,  10, 15,  20,  30,  45,
				       60, 90, 120, 180, 300, 600};
static const double kookoo_bounds[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
				       1,    2.5,   5,    10,  30};
static const double commit_bounds[] = {0.0001, 0.00025, 0.0005, 0.001,
				       0.0025, 0.005,   0.01,   0.025,
				       0.05,   0.1,     0.25,   1};
static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};

#define HIST_CELLS(n, bounds) ((n) * (ARRAY_LEN(bounds) + 2))
#define N_ROUTES ((size_t)METRICS_ROUTES + 1)
#define N_KEYS ((size_t)METRICS_KEYS + 1)
#define N_WF ((size_t)METRICS_WORKFLOWS + 2)

static metric_cell c_http[N_ROUTES * MD_N * ARRAY_LEN(statuses)];
static metric_cell c_http_dur[HIST_CELLS(N_ROUTES * MD_N, http_bounds)];
static metric_cell c_slow[MSLOW_N];
static metric_cell c_started[N_KEYS * N_WF];
static metric_cell c_verified[N_KEYS * N_WF * MCH_N];
static metric_cell c_ended[N_KEYS * N_WF * MEND_N];
static metric_cell c_ttv[HIST_CELLS(MCH_N, verify_bounds)];
static metric_cell c_deliv[MSEND_N * MRES_N];
static metric_cell c_refused[MSEND_N * MREF_N];
static metric_cell c_calls[MCALL_N];
static metric_cell c_callbacks[MCB_N];
static metric_cell c_keys[MKEY_N];
static metric_cell c_missed[MMISS_N];
static metric_cell c_kk_dur[HIST_CELLS(MSEND_N, kookoo_bounds)];
static metric_cell c_kk_err[MSEND_N * MERR_N];
static metric_cell c_limited[MLIM_N];
static metric_cell c_reports[1], c_blocks[1], c_blocks_active[1];
static metric_cell c_batch[HIST_CELLS(MB_N, batch_bounds)];
static metric_cell c_commit[HIST_CELLS(MB_N, commit_bounds)];
static metric_cell c_read[HIST_CELLS(MB_N, commit_bounds)];
static metric_cell
	c_read_batch[HIST_CELLS((size_t)MB_N * MLOOK_N, batch_bounds)];
static metric_cell c_due[1], c_leased[1], c_oldest[1], c_db[1], c_wal[1];

/* The families, in enum metric_id's order (checked by metrics_family). */
const struct metric_family metric_families[M_COUNT] = {
	{.id = M_HTTP_REQUESTS,
	 .name = "kookooverify_http_requests_total",
	 .help = "HTTP requests answered, by route, dialect and status.",
	 .type = MT_COUNTER,
	 .labels = {&l_route, &l_dialect, &l_status},
	 .nlabels = 3,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_http,
	 .ncells = ARRAY_LEN(c_http),
	 .sparse = 1},
	{.id = M_HTTP_DURATION,
	 .name = "kookooverify_http_request_duration_seconds",
	 .help = "Time from a request's first byte to its reply being queued.",
	 .type = MT_HISTOGRAM,
	 .labels = {&l_route, &l_dialect, NULL},
	 .nlabels = 2,
	 .bounds = http_bounds,
	 .nbounds = ARRAY_LEN(http_bounds),
	 .cells = c_http_dur,
	 .ncells = ARRAY_LEN(c_http_dur),
	 .sparse = 1},
	{.id = M_HTTP_SLOW_CLOSES,
	 .name = "kookooverify_http_slow_closes_total",
	 .help = "Connections closed before their request arrived whole.",
	 .type = MT_COUNTER,
	 .labels = {&l_slow, NULL, NULL},
	 .nlabels = 1,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_slow,
	 .ncells = ARRAY_LEN(c_slow),
	 .sparse = 0},
	{.id = M_VF_STARTED,
	 .name = "kookooverify_verifications_started_total",
	 .help = "Verifications started, by API key and workflow.",
	 .type = MT_COUNTER,
	 .labels = {&l_key, &l_workflow, NULL},
	 .nlabels = 2,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_started,
	 .ncells = ARRAY_LEN(c_started),
	 .sparse = 1},
	{.id = M_VF_VERIFIED,
	 .name = "kookooverify_verifications_verified_total",
	 .help = "Verifications that succeeded, by API key, workflow and the channel "
		 "that proved the number.",
	 .type = MT_COUNTER,
	 .labels = {&l_key, &l_workflow, &l_channel},
	 .nlabels = 3,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_verified,
	 .ncells = ARRAY_LEN(c_verified),
	 .sparse = 1},
	{.id = M_VF_ENDED,
	 .name = "kookooverify_verifications_ended_total",
	 .help = "Verifications that ended without success: failed, expired or "
		 "cancelled, by API key and workflow.",
	 .type = MT_COUNTER,
	 .labels = {&l_key, &l_workflow, &l_end},
	 .nlabels = 3,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_ended,
	 .ncells = ARRAY_LEN(c_ended),
	 .sparse = 1},
	{.id = M_TIME_TO_VERIFY,
	 .name = "kookooverify_time_to_verify_seconds",
	 .help = "Time from a verification's start to its success, by channel.",
	 .type = MT_HISTOGRAM,
	 .labels = {&l_channel, NULL, NULL},
	 .nlabels = 1,
	 .bounds = verify_bounds,
	 .nbounds = ARRAY_LEN(verify_bounds),
	 .cells = c_ttv,
	 .ncells = ARRAY_LEN(c_ttv),
	 .sparse = 0},
	{.id = M_DELIVERIES,
	 .name = "kookooverify_deliveries_total",
	 .help = "Delivery attempts through KooKoo (SMS and calls), by result.",
	 .type = MT_COUNTER,
	 .labels = {&l_send, &l_send_result, NULL},
	 .nlabels = 2,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_deliv,
	 .ncells = ARRAY_LEN(c_deliv),
	 .sparse = 0},
	{.id = M_DELIVERY_REFUSALS,
	 .name = "kookooverify_delivery_refusals_total",
	 .help = "Deliveries KooKoo refused for good, by reason.",
	 .type = MT_COUNTER,
	 .labels = {&l_send, &l_refusal, NULL},
	 .nlabels = 2,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_refused,
	 .ncells = ARRAY_LEN(c_refused),
	 .sparse = 0},
	{.id = M_CALL_OUTCOMES,
	 .name = "kookooverify_call_outcomes_total",
	 .help = "Verification calls by how they ended (KooKoo's status callback).",
	 .type = MT_COUNTER,
	 .labels = {&l_outcome, NULL, NULL},
	 .nlabels = 1,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_calls,
	 .ncells = ARRAY_LEN(c_calls),
	 .sparse = 0},
	{.id = M_CALL_KEYS,
	 .name = "kookooverify_call_keys_total",
	 .help = "Keys pressed during verification calls.",
	 .type = MT_COUNTER,
	 .labels = {&l_pressed, NULL, NULL},
	 .nlabels = 1,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_keys,
	 .ncells = ARRAY_LEN(c_keys),
	 .sparse = 0},
	{.id = M_MISSED_CALLS,
	 .name = "kookooverify_missed_calls_total",
	 .help = "Calls to a missed-call DID, by what they did.",
	 .type = MT_COUNTER,
	 .labels = {&l_missed, NULL, NULL},
	 .nlabels = 1,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_missed,
	 .ncells = ARRAY_LEN(c_missed),
	 .sparse = 0},
	{.id = M_KOOKOO_DURATION,
	 .name = "kookooverify_kookoo_request_duration_seconds",
	 .help = "Duration of requests to KooKoo's APIs, answered or not.",
	 .type = MT_HISTOGRAM,
	 .labels = {&l_api, NULL, NULL},
	 .nlabels = 1,
	 .bounds = kookoo_bounds,
	 .nbounds = ARRAY_LEN(kookoo_bounds),
	 .cells = c_kk_dur,
	 .ncells = ARRAY_LEN(c_kk_dur),
	 .sparse = 0},
	{.id = M_KOOKOO_ERRORS,
	 .name = "kookooverify_kookoo_errors_total",
	 .help = "Requests to KooKoo that did not deliver, by API and class.",
	 .type = MT_COUNTER,
	 .labels = {&l_api, &l_class, NULL},
	 .nlabels = 2,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_kk_err,
	 .ncells = ARRAY_LEN(c_kk_err),
	 .sparse = 0},
	{.id = M_RATE_LIMITED,
	 .name = "kookooverify_rate_limited_total",
	 .help = "Requests refused by a rate limit or a block, by limit.",
	 .type = MT_COUNTER,
	 .labels = {&l_limit, NULL, NULL},
	 .nlabels = 1,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_limited,
	 .ncells = ARRAY_LEN(c_limited),
	 .sparse = 0},
	{.id = M_CALLBACKS,
	 .name = "kookooverify_callbacks_total",
	 .help = "Status callbacks queued, and their attempts: delivered (2xx), "
		 "retried, given up.",
	 .type = MT_COUNTER,
	 .labels = {&l_callback, NULL, NULL},
	 .nlabels = 1,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_callbacks,
	 .ncells = ARRAY_LEN(c_callbacks),
	 .sparse = 0},
	{.id = M_FRAUD_REPORTS,
	 .name = "kookooverify_fraud_reports_total",
	 .help = "Fraud reports (key 9 in a verification call).",
	 .type = MT_COUNTER,
	 .labels = {NULL, NULL, NULL},
	 .nlabels = 0,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_reports,
	 .ncells = ARRAY_LEN(c_reports),
	 .sparse = 0},
	{.id = M_FRAUD_BLOCKS,
	 .name = "kookooverify_fraud_blocks_created_total",
	 .help = "Blocks of number prefixes created by fraud reports or conversion.",
	 .type = MT_COUNTER,
	 .labels = {NULL, NULL, NULL},
	 .nlabels = 0,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_blocks,
	 .ncells = ARRAY_LEN(c_blocks),
	 .sparse = 0},
	{.id = M_FRAUD_BLOCKS_ACTIVE,
	 .name = "kookooverify_fraud_blocks_active",
	 .help = "Prefix blocks in force now (store-wide).",
	 .type = MT_GAUGE,
	 .labels = {NULL, NULL, NULL},
	 .nlabels = 0,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_blocks_active,
	 .ncells = ARRAY_LEN(c_blocks_active),
	 .sparse = 0},
	{.id = M_STORE_BATCH,
	 .name = "kookooverify_store_batch_size",
	 .help = "Writes committed together in one transaction (group commit).",
	 .type = MT_HISTOGRAM,
	 .labels = {&l_backend, NULL, NULL},
	 .nlabels = 1,
	 .bounds = batch_bounds,
	 .nbounds = ARRAY_LEN(batch_bounds),
	 .cells = c_batch,
	 .ncells = ARRAY_LEN(c_batch),
	 .sparse = 1},
	{.id = M_STORE_COMMIT,
	 .name = "kookooverify_store_commit_duration_seconds",
	 .help = "Duration of the writers' COMMITs.",
	 .type = MT_HISTOGRAM,
	 .labels = {&l_backend, NULL, NULL},
	 .nlabels = 1,
	 .bounds = commit_bounds,
	 .nbounds = ARRAY_LEN(commit_bounds),
	 .cells = c_commit,
	 .ncells = ARRAY_LEN(c_commit),
	 .sparse = 1},
	{.id = M_STORE_READ,
	 .name = "kookooverify_store_read_duration_seconds",
	 .help = "Duration of the statements a server thread runs on "
		 "its own PostgreSQL connection, outside the writer.",
	 .type = MT_HISTOGRAM,
	 .labels = {&l_backend, NULL, NULL},
	 .nlabels = 1,
	 .bounds = commit_bounds,
	 .nbounds = ARRAY_LEN(commit_bounds),
	 .cells = c_read,
	 .ncells = ARRAY_LEN(c_read),
	 .sparse = 1},
	{.id = M_STORE_READ_BATCH,
	 .name = "kookooverify_store_read_batch_size",
	 .help = "Lookups that one statement made for a node's HTTP threads "
		 "(their Searches by request id, their Requests' live "
		 "verifications: batched).",
	 .type = MT_HISTOGRAM,
	 .labels = {&l_backend, &l_lookup, NULL},
	 .nlabels = 2,
	 .bounds = batch_bounds,
	 .nbounds = ARRAY_LEN(batch_bounds),
	 .cells = c_read_batch,
	 .ncells = ARRAY_LEN(c_read_batch),
	 .sparse = 1},
	{.id = M_JOBS_DUE,
	 .name = "kookooverify_jobs_due",
	 .help = "Pending delivery jobs whose time has come (store-wide).",
	 .type = MT_GAUGE,
	 .labels = {NULL, NULL, NULL},
	 .nlabels = 0,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_due,
	 .ncells = ARRAY_LEN(c_due),
	 .sparse = 0},
	{.id = M_JOBS_LEASED,
	 .name = "kookooverify_jobs_leased",
	 .help = "Delivery jobs a worker holds now (store-wide).",
	 .type = MT_GAUGE,
	 .labels = {NULL, NULL, NULL},
	 .nlabels = 0,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_leased,
	 .ncells = ARRAY_LEN(c_leased),
	 .sparse = 0},
	{.id = M_JOBS_OLDEST_DUE,
	 .name = "kookooverify_jobs_oldest_due_age_seconds",
	 .help = "How long the oldest due job has waited, 0 when none (store-wide).",
	 .type = MT_GAUGE,
	 .labels = {NULL, NULL, NULL},
	 .nlabels = 0,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_oldest,
	 .ncells = ARRAY_LEN(c_oldest),
	 .sparse = 0},
	{.id = M_STORE_DB_BYTES,
	 .name = "kookooverify_store_database_bytes",
	 .help = "Size of the database (store-wide).",
	 .type = MT_GAUGE,
	 .labels = {NULL, NULL, NULL},
	 .nlabels = 0,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_db,
	 .ncells = ARRAY_LEN(c_db),
	 .sparse = 0},
	{.id = M_STORE_WAL_BYTES,
	 .name = "kookooverify_store_wal_bytes",
	 .help = "Size of the write-ahead log (store-wide; see OPERATIONS.md).",
	 .type = MT_GAUGE,
	 .labels = {NULL, NULL, NULL},
	 .nlabels = 0,
	 .bounds = NULL,
	 .nbounds = 0,
	 .cells = c_wal,
	 .ncells = ARRAY_LEN(c_wal),
	 .sparse = 0},
};

/* ---- the key table ---- */

/* A slot: its key's row id (0: free) and the public id once named. */
struct key_slot {
	_Atomic int64_t id;
	atomic_int named; /* 0 no, 1 being written, 2 name readable */
	char name[32];
};

static struct key_slot key_slots[METRICS_KEYS];

static unsigned key_hash(int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ULL;

	return (unsigned)(h >> 40) % METRICS_KEYS;
}

unsigned metrics_key(int64_t key_id)
{
	unsigned h = key_hash(key_id);

	for (unsigned i = 0; i < METRICS_KEYS; i++) {
		struct key_slot *s = &key_slots[(h + i) % METRICS_KEYS];
		int64_t cur =
			atomic_load_explicit(&s->id, memory_order_acquire);

		if (cur == key_id)
			return (h + i) % METRICS_KEYS;
		if (cur == 0 &&
		    (atomic_compare_exchange_strong(&s->id, &cur, key_id) ||
		     cur == key_id))
			return (h + i) % METRICS_KEYS;
	}
	return METRICS_KEYS; /* "other" */
}

void metrics_key_name(int64_t key_id, const char *api_key)
{
	unsigned i = metrics_key(key_id);
	int expect = 0;

	/* A plain load first: every request names its key, once is enough. */
	if (i >= METRICS_KEYS ||
	    atomic_load_explicit(&key_slots[i].named, memory_order_relaxed) ||
	    !atomic_compare_exchange_strong(&key_slots[i].named, &expect, 1))
		return;
	snprintf(key_slots[i].name, sizeof(key_slots[i].name), "%s", api_key);
	atomic_store_explicit(&key_slots[i].named, 2, memory_order_release);
}

void metrics_keys_unnamed(void (*cb)(int64_t key_id, void *arg), void *arg)
{
	for (unsigned i = 0; i < METRICS_KEYS; i++) {
		int64_t id = atomic_load(&key_slots[i].id);

		if (id != 0 && atomic_load(&key_slots[i].named) == 0)
			cb(id, arg);
	}
}

const char *metrics_key_label(unsigned slot, char *tmp, size_t tmplen)
{
	int64_t id;

	if (slot >= METRICS_KEYS)
		return "other";
	id = atomic_load(&key_slots[slot].id);
	if (id == 0)
		return NULL;
	if (atomic_load_explicit(&key_slots[slot].named,
				 memory_order_acquire) == 2)
		return key_slots[slot].name;
	/* A key the store no longer knows: its row id, never a secret. */
	snprintf(tmp, tmplen, "#%lld", (long long)id);
	return tmp;
}

/* ---- label helpers ---- */

void metrics_routes_set(const char *const *names, unsigned n)
{
	for (unsigned i = 0; i < n && i < METRICS_ROUTES; i++)
		routes[i] = names[i];
	routes[METRICS_ROUTES] = "other";
}

unsigned metrics_workflow(int w)
{
	return w >= 0 && w <= METRICS_WORKFLOWS ? (unsigned)w
						: METRICS_WORKFLOWS + 1;
}

unsigned metrics_status(unsigned code)
{
	for (unsigned i = 0; i < ARRAY_LEN(status_codes); i++)
		if (status_codes[i] == code)
			return i;
	return ARRAY_LEN(status_codes);
}

/* ---- updates ---- */

/* The cell of family f at labels (a, b, c), NULL when out of range. */
static metric_cell *cell_at(const struct metric_family *f, unsigned a,
			    unsigned b, unsigned c)
{
	unsigned idx[3] = {a, b, c};
	size_t at = 0;

	for (unsigned i = 0; i < f->nlabels && i < ARRAY_LEN(idx); i++) {
		if (idx[i] >= f->labels[i]->n)
			return NULL;
		at = at * f->labels[i]->n + idx[i];
	}
	if (f->type == MT_HISTOGRAM)
		at *= f->nbounds + 2;
	return at < f->ncells ? &f->cells[at] : NULL;
}

/*
 * A writer transaction's held additions.  Past HELD_MAX they are applied
 * at once (a transaction that then rolls back counts them anyway: a
 * bound on the memory beats exactness in a case that does not happen).
 */
#define HELD_MAX 64
static __thread struct {
	int on;
	unsigned n;
	struct {
		metric_cell *cell;
		uint64_t v;
	} ops[HELD_MAX];
} held;

static void cell_add(metric_cell *cell, uint64_t n)
{
	if (held.on && held.n < HELD_MAX) {
		held.ops[held.n].cell = cell;
		held.ops[held.n].v = n;
		held.n++;
		return;
	}
	atomic_fetch_add_explicit(cell, n, memory_order_relaxed);
}

void metrics_add(enum metric_id id, unsigned a, unsigned b, unsigned c,
		 uint64_t n)
{
	metric_cell *cell = cell_at(&metric_families[id], a, b, c);

	if (cell)
		cell_add(cell, n);
}

void metrics_set(enum metric_id id, unsigned a, unsigned b, unsigned c,
		 uint64_t v)
{
	metric_cell *cell = cell_at(&metric_families[id], a, b, c);

	if (cell)
		atomic_store_explicit(cell, v, memory_order_relaxed);
}

void metrics_observe(enum metric_id id, unsigned a, unsigned b, double v)
{
	const struct metric_family *f = &metric_families[id];
	metric_cell *cell = cell_at(f, a, b, 0);
	unsigned i = 0;

	if (!cell || f->type != MT_HISTOGRAM)
		return;
	while (i < f->nbounds && v > f->bounds[i])
		i++;
	cell_add(&cell[i], 1);
	cell_add(&cell[f->nbounds + 1],
		 v > 0 ? (uint64_t)(v * METRICS_SUM_UNIT + 0.5) : 0);
}

uint64_t metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

double metrics_since(uint64_t start_ns)
{
	return (double)(metrics_now_ns() - start_ns) / 1e9;
}

void metrics_tx_begin(void)
{
	held.on = 1;
	held.n = 0;
}

void metrics_tx_end(int committed)
{
	unsigned n = held.n;

	held.on = 0;
	held.n = 0;
	for (unsigned i = 0; committed && i < n; i++)
		atomic_fetch_add_explicit(held.ops[i].cell, held.ops[i].v,
					  memory_order_relaxed);
}

void metrics_reset(void)
{
	for (unsigned f = 0; f < M_COUNT; f++)
		for (size_t i = 0; i < metric_families[f].ncells; i++)
			atomic_store(&metric_families[f].cells[i], 0);
	for (unsigned i = 0; i < METRICS_KEYS; i++) {
		atomic_store(&key_slots[i].id, 0);
		atomic_store(&key_slots[i].named, 0);
	}
}
