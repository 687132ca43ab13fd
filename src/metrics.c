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

static const char *const dialects[MD_N] = {"seed", "vonage", "browser", "ivr",
					   "misc"};
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
static const char *const slow_closes[MSLOW_N] = {"evicted", "timeout"};
static const char *const missed[MMISS_N] = {"verified", "ignored", "unmatched"};
static const char *const workflows[METRICS_WORKFLOWS + 1] = {
	"1", "2", "3", "4", "5", "6", "7", "8", "9", "other"};
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
static const struct metric_label l_slow = LABEL("reason", slow_closes);
static const struct metric_label l_missed = LABEL("result", missed);
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
#define N_ROUTES (METRICS_ROUTES + 1)
#define N_KEYS (METRICS_KEYS + 1)
#define N_WF (METRICS_WORKFLOWS + 1)

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
static metric_cell c_keys[MKEY_N];
static metric_cell c_missed[MMISS_N];
static metric_cell c_kk_dur[HIST_CELLS(MSEND_N, kookoo_bounds)];
static metric_cell c_kk_err[MSEND_N * MERR_N];
static metric_cell c_limited[MLIM_N];
static metric_cell c_reports[1], c_blocks[1], c_blocks_active[1];
static metric_cell c_batch[HIST_CELLS(MB_N, batch_bounds)];
static metric_cell c_commit[HIST_CELLS(MB_N, commit_bounds)];
static metric_cell c_due[1], c_leased[1], c_oldest[1], c_db[1], c_wal[1];

#define CELLS(c) (c), ARRAY_LEN(c)
#define NO_BOUNDS NULL, 0
#define BOUNDS(b) (b), ARRAY_LEN(b)

/* The families, in enum metric_id's order (checked by metrics_family). */
const struct metric_family metric_families[M_COUNT] = {
	{M_HTTP_REQUESTS,
	 "kookooverify_http_requests_total",
	 "HTTP requests answered, by route, dialect and status.",
	 MT_COUNTER,
	 {&l_route, &l_dialect, &l_status},
	 3,
	 NO_BOUNDS,
	 CELLS(c_http),
	 1},
	{M_HTTP_DURATION,
	 "kookooverify_http_request_duration_seconds",
	 "Time from a request's first byte to its reply being queued.",
	 MT_HISTOGRAM,
	 {&l_route, &l_dialect, NULL},
	 2,
	 BOUNDS(http_bounds),
	 CELLS(c_http_dur),
	 1},
	{M_HTTP_SLOW_CLOSES,
	 "kookooverify_http_slow_closes_total",
	 "Connections closed before their request arrived whole.",
	 MT_COUNTER,
	 {&l_slow, NULL, NULL},
	 1,
	 NO_BOUNDS,
	 CELLS(c_slow),
	 0},
	{M_VF_STARTED,
	 "kookooverify_verifications_started_total",
	 "Verifications started, by API key and workflow.",
	 MT_COUNTER,
	 {&l_key, &l_workflow, NULL},
	 2,
	 NO_BOUNDS,
	 CELLS(c_started),
	 1},
	{M_VF_VERIFIED,
	 "kookooverify_verifications_verified_total",
	 "Verifications that succeeded, by API key, workflow and the channel "
	 "that proved the number.",
	 MT_COUNTER,
	 {&l_key, &l_workflow, &l_channel},
	 3,
	 NO_BOUNDS,
	 CELLS(c_verified),
	 1},
	{M_VF_ENDED,
	 "kookooverify_verifications_ended_total",
	 "Verifications that ended without success: failed, expired or "
	 "cancelled, by API key and workflow.",
	 MT_COUNTER,
	 {&l_key, &l_workflow, &l_end},
	 3,
	 NO_BOUNDS,
	 CELLS(c_ended),
	 1},
	{M_TIME_TO_VERIFY,
	 "kookooverify_time_to_verify_seconds",
	 "Time from a verification's start to its success, by channel.",
	 MT_HISTOGRAM,
	 {&l_channel, NULL, NULL},
	 1,
	 BOUNDS(verify_bounds),
	 CELLS(c_ttv),
	 0},
	{M_DELIVERIES,
	 "kookooverify_deliveries_total",
	 "Delivery attempts through KooKoo (SMS and calls), by result.",
	 MT_COUNTER,
	 {&l_send, &l_send_result, NULL},
	 2,
	 NO_BOUNDS,
	 CELLS(c_deliv),
	 0},
	{M_DELIVERY_REFUSALS,
	 "kookooverify_delivery_refusals_total",
	 "Deliveries KooKoo refused for good, by reason.",
	 MT_COUNTER,
	 {&l_send, &l_refusal, NULL},
	 2,
	 NO_BOUNDS,
	 CELLS(c_refused),
	 0},
	{M_CALL_OUTCOMES,
	 "kookooverify_call_outcomes_total",
	 "Verification calls by how they ended (KooKoo's status callback).",
	 MT_COUNTER,
	 {&l_outcome, NULL, NULL},
	 1,
	 NO_BOUNDS,
	 CELLS(c_calls),
	 0},
	{M_CALL_KEYS,
	 "kookooverify_call_keys_total",
	 "Keys pressed during verification calls.",
	 MT_COUNTER,
	 {&l_pressed, NULL, NULL},
	 1,
	 NO_BOUNDS,
	 CELLS(c_keys),
	 0},
	{M_MISSED_CALLS,
	 "kookooverify_missed_calls_total",
	 "Calls to a missed-call DID, by what they did.",
	 MT_COUNTER,
	 {&l_missed, NULL, NULL},
	 1,
	 NO_BOUNDS,
	 CELLS(c_missed),
	 0},
	{M_KOOKOO_DURATION,
	 "kookooverify_kookoo_request_duration_seconds",
	 "Duration of requests to KooKoo's APIs, answered or not.",
	 MT_HISTOGRAM,
	 {&l_api, NULL, NULL},
	 1,
	 BOUNDS(kookoo_bounds),
	 CELLS(c_kk_dur),
	 0},
	{M_KOOKOO_ERRORS,
	 "kookooverify_kookoo_errors_total",
	 "Requests to KooKoo that did not deliver, by API and class.",
	 MT_COUNTER,
	 {&l_api, &l_class, NULL},
	 2,
	 NO_BOUNDS,
	 CELLS(c_kk_err),
	 0},
	{M_RATE_LIMITED,
	 "kookooverify_rate_limited_total",
	 "Requests refused by a rate limit or a block, by limit.",
	 MT_COUNTER,
	 {&l_limit, NULL, NULL},
	 1,
	 NO_BOUNDS,
	 CELLS(c_limited),
	 0},
	{M_FRAUD_REPORTS,
	 "kookooverify_fraud_reports_total",
	 "Fraud reports (key 9 in a verification call).",
	 MT_COUNTER,
	 {NULL, NULL, NULL},
	 0,
	 NO_BOUNDS,
	 CELLS(c_reports),
	 0},
	{M_FRAUD_BLOCKS,
	 "kookooverify_fraud_blocks_created_total",
	 "Blocks of number prefixes created by fraud reports or conversion.",
	 MT_COUNTER,
	 {NULL, NULL, NULL},
	 0,
	 NO_BOUNDS,
	 CELLS(c_blocks),
	 0},
	{M_FRAUD_BLOCKS_ACTIVE,
	 "kookooverify_fraud_blocks_active",
	 "Prefix blocks in force now (store-wide).",
	 MT_GAUGE,
	 {NULL, NULL, NULL},
	 0,
	 NO_BOUNDS,
	 CELLS(c_blocks_active),
	 0},
	{M_STORE_BATCH,
	 "kookooverify_store_batch_size",
	 "Writes committed together in one transaction (group commit).",
	 MT_HISTOGRAM,
	 {&l_backend, NULL, NULL},
	 1,
	 BOUNDS(batch_bounds),
	 CELLS(c_batch),
	 1},
	{M_STORE_COMMIT,
	 "kookooverify_store_commit_duration_seconds",
	 "Duration of the writers' COMMITs.",
	 MT_HISTOGRAM,
	 {&l_backend, NULL, NULL},
	 1,
	 BOUNDS(commit_bounds),
	 CELLS(c_commit),
	 1},
	{M_JOBS_DUE,
	 "kookooverify_jobs_due",
	 "Pending delivery jobs whose time has come (store-wide).",
	 MT_GAUGE,
	 {NULL, NULL, NULL},
	 0,
	 NO_BOUNDS,
	 CELLS(c_due),
	 0},
	{M_JOBS_LEASED,
	 "kookooverify_jobs_leased",
	 "Delivery jobs a worker holds now (store-wide).",
	 MT_GAUGE,
	 {NULL, NULL, NULL},
	 0,
	 NO_BOUNDS,
	 CELLS(c_leased),
	 0},
	{M_JOBS_OLDEST_DUE,
	 "kookooverify_jobs_oldest_due_age_seconds",
	 "How long the oldest due job has waited, 0 when none (store-wide).",
	 MT_GAUGE,
	 {NULL, NULL, NULL},
	 0,
	 NO_BOUNDS,
	 CELLS(c_oldest),
	 0},
	{M_STORE_DB_BYTES,
	 "kookooverify_store_database_bytes",
	 "Size of the database (store-wide).",
	 MT_GAUGE,
	 {NULL, NULL, NULL},
	 0,
	 NO_BOUNDS,
	 CELLS(c_db),
	 0},
	{M_STORE_WAL_BYTES,
	 "kookooverify_store_wal_bytes",
	 "Size of the write-ahead log (store-wide; see OPERATIONS.md).",
	 MT_GAUGE,
	 {NULL, NULL, NULL},
	 0,
	 NO_BOUNDS,
	 CELLS(c_wal),
	 0},
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
	return w >= 1 && w <= METRICS_WORKFLOWS ? (unsigned)(w - 1)
						: METRICS_WORKFLOWS;
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

	for (unsigned i = 0; i < f->nlabels; i++) {
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
