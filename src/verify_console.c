/*
 * The operator console's figures and changes (verify_console.h): store
 * reads turned into JSON, numbers masked as the logs mask them, and the
 * writer closures that lift a block or create and revoke a key.  No PIN
 * and no code a caller typed ever goes into what it builds.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "engine.h"
#include "err.h"
#include "keys.h"
#include "phone.h"
#include "store.h"
#include "util.h"
#include "verify_console.h"

#define MINUTE_MS 60000

static int prefix_digits = 7;

/* Seconds of the time-to-verify buckets; the last counts everything later. */
static const int ttv_bounds_s[STORE_TTV_BUCKETS - 1] = {10, 30, 60, 120, 300};

void verify_console_init(const struct config *cfg)
{
	prefix_digits = cfg->limit_prefix_digits;
}

static struct store_tx *reader(void)
{
	return store_reader();
}

/* Takes `o` into `parent` under `name`; KV_ENOMEM when either is NULL. */
static int put(json_t *parent, const char *name, json_t *o)
{
	if (!parent || !o || json_object_set_new(parent, name, o) != 0) {
		json_decref(o);
		return KV_ENOMEM;
	}
	return 0;
}

/* Hands `o` to *out when rc is 0, else frees it. */
static int finish(int rc, json_t *o, json_t **out)
{
	if (rc == 0 && !o)
		rc = KV_ENOMEM;
	if (rc != 0) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* ---- the summary ---- */

/* The per-minute array being filled: one object per minute of the window. */
struct minutes_fill {
	json_t *rows;
	int64_t first_ms;
	int n;
};

static const char *const state_keys[] = {
	[VF_IN_PROGRESS] = "in_progress", [VF_SUCCESS] = "verified",
	[VF_FAILED] = "failed",           [VF_EXPIRED] = "expired",
	[VF_CANCELLED] = "cancelled",
};

static void add_count(json_t *row, const char *name, int64_t n)
{
	json_int_t had = json_integer_value(json_object_get(row, name));

	json_object_set_new(row, name, json_integer(had + (json_int_t)n));
}

static void minute_row(int64_t minute_ms, int state, int64_t count, void *arg)
{
	struct minutes_fill *f = arg;
	int64_t i = (minute_ms - f->first_ms) / MINUTE_MS;
	json_t *row = json_array_get(f->rows, (size_t)(i < 0 ? 0 : i));

	if (!row || i < 0 || i >= f->n)
		return;
	add_count(row, "started", count);
	if (state >= 0 && (size_t)state < ARRAY_LEN(state_keys))
		add_count(row, state_keys[state], count);
}

static json_t *minutes_rows(int minutes, int64_t first_ms)
{
	json_t *rows = json_array();

	for (int i = 0; rows && i < minutes; i++) {
		int64_t at = first_ms + (int64_t)i * MINUTE_MS;
		json_t *row = json_pack("{s:I, s:i, s:i, s:i, s:i, s:i, s:i}",
					"minute_ms", (json_int_t)at, "started",
					0, "in_progress", 0, "verified", 0,
					"failed", 0, "expired", 0, "cancelled",
					0);

		if (!row || json_array_append_new(rows, row) != 0) {
			json_decref(rows);
			return NULL;
		}
	}
	return rows;
}

static json_t *funnel_json(const struct store_funnel *f)
{
	json_t *counts = json_array(), *bounds = json_array();

	for (int i = 0; i < STORE_TTV_BUCKETS; i++) {
		json_array_append_new(counts, json_integer(f->ttv[i]));
		if (i < STORE_TTV_BUCKETS - 1)
			json_array_append_new(bounds,
					      json_integer(ttv_bounds_s[i]));
	}
	return json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I}, "
			 "s:{s:o, s:o}}",
			 "funnel", "requested", (json_int_t)f->requested,
			 "sms_sent", (json_int_t)f->sms_sent, "verified_by_sms",
			 (json_int_t)f->verified_by_sms, "call_placed",
			 (json_int_t)f->call_placed, "answered",
			 (json_int_t)f->answered, "confirmed_by_key",
			 (json_int_t)f->confirmed_by_key, "time_to_verify",
			 "bounds_s", bounds, "counts", counts);
}

int verify_console_summary(int minutes, int64_t now, json_t **out)
{
	struct store_tx *c = reader();
	struct store_funnel f;
	struct minutes_fill fill;
	json_t *o = NULL;
	int rc;

	if (!c)
		return KV_EDB;
	fill.first_ms = (now / MINUTE_MS - (minutes - 1)) * MINUTE_MS;
	fill.n = minutes;
	fill.rows = minutes_rows(minutes, fill.first_ms);
	if (!fill.rows)
		return KV_ENOMEM;
	rc = store_console_minutes(c, fill.first_ms, minute_row, &fill);
	if (rc == 0)
		rc = store_console_funnel(c, fill.first_ms, &f);
	if (rc == 0)
		o = funnel_json(&f);
	if (rc == 0 && o) {
		json_object_set_new(o, "minutes", json_integer(minutes));
		json_object_set_new(o, "since_ms", json_integer(fill.first_ms));
		json_object_set_new(o, "now_ms", json_integer(now));
		rc = put(o, "per_minute", fill.rows);
		fill.rows = NULL;
	}
	json_decref(fill.rows);
	return finish(rc, o, out);
}

/* ---- prefixes ---- */

static void prefix_row(const char *prefix, int64_t requests, int64_t verified,
		       void *arg)
{
	json_array_append_new(
		arg, json_pack("{s:s, s:I, s:I, s:f}", "prefix", prefix,
			       "requests", (json_int_t)requests, "verified",
			       (json_int_t)verified, "conversion",
			       requests ? (double)verified / (double)requests
					: 0.0));
}

int verify_console_prefixes(int minutes, int limit, int64_t now, json_t **out)
{
	struct store_tx *c = reader();
	int64_t since = now - (int64_t)minutes * MINUTE_MS;
	json_t *rows = json_array();
	json_t *o = json_pack("{s:i, s:i, s:I}", "minutes", minutes, "digits",
			      prefix_digits, "since_ms", (json_int_t)since);
	int rc = c ? 0 : KV_EDB;

	if (rc == 0 && rows)
		rc = store_console_prefixes(c, since, prefix_digits, limit,
					    prefix_row, rows);
	if (rc == 0)
		rc = put(o, "prefixes", rows);
	else
		json_decref(rows);
	return finish(rc, o, out);
}

/* ---- blocks and keys ---- */

static int block_row(const struct fraud_block *b, void *arg)
{
	return json_array_append_new(
		       arg, json_pack("{s:s, s:s, s:I, s:I, s:s}", "prefix",
				      b->prefix, "reason", b->reason,
				      "created_ms", (json_int_t)b->created_ms,
				      "until_ms", (json_int_t)b->until_ms,
				      "only_for", b->key_id ? b->api_key : ""))
		       ? KV_ENOMEM
		       : 0;
}

int verify_console_blocks(int64_t now, json_t **out)
{
	struct store_tx *c = reader();
	json_t *rows = json_array();
	json_t *o = json_object();
	int rc = c ? store_blocks_foreach(c, now, block_row, rows) : KV_EDB;

	if (rc == 0)
		rc = put(o, "blocks", rows);
	else
		json_decref(rows);
	return finish(rc, o, out);
}

static int key_row(const struct key_info *k, void *arg)
{
	return json_array_append_new(
		       arg,
		       json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:s, s:s, "
				 "s:s}",
				 "api_key", k->api_key, "name", k->name, "kind",
				 k->kind == KEY_PUBLISHABLE ? "publishable"
							    : "secret",
				 "created_ms", (json_int_t)k->created_ms,
				 "revoked_ms", (json_int_t)k->revoked_ms,
				 "active", k->revoked_ms == 0, "countries",
				 k->countries, "brand", k->brand, "owner",
				 k->owner))
		       ? KV_ENOMEM
		       : 0;
}

int verify_console_keys(json_t **out)
{
	struct store_tx *c = reader();
	json_t *rows = json_array();
	json_t *o = json_object();
	int rc = c ? store_keys_foreach(c, key_row, rows) : KV_EDB;

	if (rc == 0)
		rc = put(o, "keys", rows);
	else
		json_decref(rows);
	return finish(rc, o, out);
}

/* ---- verifications ---- */

static json_t *masked(const char *number)
{
	char red[PHONE_REDACT_LEN];

	phone_redact(number, red, sizeof(red));
	return json_string(red);
}

static void recent_row(const struct store_recent *r, void *arg)
{
	json_t *row =
		json_pack("{s:s, s:o, s:s, s:i, s:I, s:I, s:s}", "request_id",
			  r->request_id, "number", masked(r->number), "status",
			  engine_state_name((enum vf_state)r->state),
			  "workflow_id", r->workflow_id, "created_ms",
			  (json_int_t)r->created_ms, "finalized_ms",
			  (json_int_t)r->finalized_ms, "api_key", r->api_key);

	json_array_append_new(arg, row);
}

int verify_console_recent(int limit, json_t **out)
{
	struct store_tx *c = reader();
	json_t *rows = json_array();
	json_t *o = json_object();
	int rc = c && rows ? store_console_recent(c, limit, recent_row, rows)
			   : KV_EDB;

	if (rc == 0)
		rc = put(o, "verifications", rows);
	else
		json_decref(rows);
	return finish(rc, o, out);
}

/* A check: when, and whether the code was right; never the code. */
static int check_row(const struct vf_check *ch, void *arg)
{
	return json_array_append_new(arg, json_pack("{s:I, s:b}", "at_ms",
						    (json_int_t)ch->created_ms,
						    "valid", ch->valid))
		       ? KV_ENOMEM
		       : 0;
}

static int event_row(const struct vf_event *ev, void *arg)
{
	return json_array_append_new(
		       arg, json_pack("{s:I, s:s, s:s, s:s, s:s, s:i}", "at_ms",
				      (json_int_t)ev->created_ms, "type",
				      ev->type, "channel", ev->channel,
				      "result", ev->result, "detail",
				      ev->detail, "segments", ev->segments))
		       ? KV_ENOMEM
		       : 0;
}

static void call_row(const struct vf_call *cl, int64_t created_ms, void *arg)
{
	json_array_append_new(
		arg, json_pack("{s:I, s:s, s:i, s:s, s:s, s:i, s:i}", "at_ms",
			       (json_int_t)created_ms, "sid", cl->sid, "step",
			       cl->step, "status", cl->status, "outcome",
			       cl->outcome, "repeats", cl->repeats, "duration",
			       cl->duration));
}

int verify_console_timeline(const char *request_id, json_t **out)
{
	struct store_tx *c = reader();
	struct vf_record r;
	json_t *events = json_array(), *checks = json_array(),
	       *calls = json_array(), *o = NULL;
	int64_t id = 0;
	int rc = c ? 0 : KV_EDB;

	if (rc == 0 && (crypto_request_id_parse(request_id, &id) != 0 || !id))
		rc = KV_ENOTFOUND;
	if (rc == 0)
		rc = store_verification_by_id(c, id, &r);
	if (rc == 0 && !crypto_request_id_equal(r.v.request_id, request_id))
		rc = KV_ENOTFOUND;
	if (rc == 0)
		rc = store_events_foreach(c, id, event_row, events);
	if (rc == 0)
		rc = store_checks_foreach(c, id, check_row, checks);
	if (rc == 0)
		rc = store_calls_foreach(c, id, call_row, calls);
	if (rc == 0)
		o = json_pack("{s:s, s:o, s:s, s:i, s:s, s:I, s:I, s:I, s:o, "
			      "s:o, s:o}",
			      "request_id", r.v.request_id, "number",
			      masked(r.number), "status",
			      engine_state_name(r.v.state), "workflow_id",
			      r.workflow_id, "steps", r.steps, "created_ms",
			      (json_int_t)r.v.created_ms, "finalized_ms",
			      (json_int_t)r.v.finalized_ms, "expires_ms",
			      (json_int_t)r.v.expires_ms, "events", events,
			      "checks", checks, "calls", calls);
	else {
		json_decref(events);
		json_decref(checks);
		json_decref(calls);
	}
	sodium_memzero(&r, sizeof(r));
	return finish(rc, o, out);
}

/* ---- writes ---- */

int verify_console_lift_run(struct store_tx *c, void *arg)
{
	const struct verify_console_op *op = arg;

	return store_block_lift(c, op->prefix, op->now);
}

int verify_console_key_create_run(struct store_tx *c, void *arg)
{
	struct verify_console_op *op = arg;

	return keys_create(c, op->name, 1, op->countries, op->api_key,
			   op->api_secret);
}

int verify_console_key_revoke_run(struct store_tx *c, void *arg)
{
	const struct verify_console_op *op = arg;

	return store_key_revoke(c, op->api_key, op->now);
}

int verify_console_countries_ok(const char *s)
{
	size_t n = strlen(s);

	if (strcmp(s, "*") == 0)
		return 1;
	if (n == 0 || n >= sizeof(((struct verify_console_op *)0)->countries) ||
	    n % 3 != 2)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int sep = i % 3 == 2;

		if (sep ? s[i] != ',' : !(s[i] >= 'A' && s[i] <= 'Z'))
			return 0;
	}
	return 1;
}
