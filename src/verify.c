/*
 * The verification service declared in verify.h.  Reads go to the calling
 * thread's reader connection; every change runs as one closure on the writer
 * thread, so "read, decide with the engine, write" is atomic per verification.
 * Expensive work (PIN generation, hashing) happens before entering the writer.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "addr.h"
#include "crypto.h"
#include "err.h"
#include "fraud.h"
#include "log.h"
#include "phone.h"
#include "ratelimit.h"
#include "sms.h"
#include "util.h"
#include "store.h"
#include "verify.h"
#include "verify_callback.h"
#include "verify_internal.h"

static struct {
	struct engine_settings es;
	char default_country[3];
	int64_t verified_ttl_ms;
	struct limiter *per_key;    /* API calls per key per second */
	struct limiter *per_prefix; /* requests per number prefix per hour */
	struct limiter *per_ip;     /* checks per client address per minute */
	struct limiter *per_number; /* requests per number per window */
	/* Publishable keys: stricter, and per browser address. */
	struct limiter *per_pk_key;  /* API calls per key per second */
	struct limiter *per_pk_addr; /* API calls per key and address */
	struct limiter *per_pk_ip;   /* requests per client address per hour */
	struct limiter *auth_fail;   /* failed authentications per address */
	int64_t number_window_ms;
	int prefix_digits;
	int pk_junk_cost;
	int ipv6_prefix; /* per-address limits count IPv6 clients by network */
} svc;

/* Writes the key per-address limiters count ip under; returns its length. */
static size_t ip_key(const char *ip, char key[ADDR_TEXT_MAX])
{
	return addr_limit_key(ip, svc.ipv6_prefix, key, ADDR_TEXT_MAX);
}

/* Set and cleared while no request runs (verify.h). */
static void (*job_wake)(int64_t due_ms);

void verify_job_wake_set(void (*wake)(int64_t due_ms))
{
	job_wake = wake;
}

void verify_job_wake_others_set(int (*need)(void))
{
	store_jobs_wake_others_set(need);
}

void verify_job_wake(int64_t due_ms)
{
	if (job_wake)
		job_wake(due_ms);
}

void verify_pin_bind(struct vf_record *r, const char *pin)
{
	crypto_pin_hash(r->v.request_id, pin, r->pin_hash);
	r->pin_box_len = crypto_pin_seal(r->v.request_id, pin, r->pin_box);
}

int verify_init(const struct config *cfg, char *err, size_t errlen)
{
	size_t slots = (size_t)cfg->limit_table_slots;
	int shared;

	limiter_free(svc.per_key);
	limiter_free(svc.per_prefix);
	limiter_free(svc.per_ip);
	limiter_free(svc.per_number);
	limiter_free(svc.per_pk_key);
	limiter_free(svc.per_pk_addr);
	limiter_free(svc.per_pk_ip);
	limiter_free(svc.auth_fail);
	memset(&svc, 0, sizeof(svc));
	/* A limit of 0, or a shared store (verify_limits.c), gives none. */
	verify_limits_init(cfg);
	shared = verify_limits_shared();
	svc.per_key = limiter_new_sized(cfg->limit_key_rps, 1, slots);
	svc.per_prefix = shared ? NULL
				: limiter_new_sized(cfg->limit_prefix_per_hour,
						    3600, slots);
	svc.per_ip = limiter_new_sized(cfg->limit_ip_checks_per_min, 60, slots);
	svc.per_number = shared ? NULL
				: limiter_new_sized(cfg->limit_number_max,
						    cfg->limit_number_window,
						    slots);
	svc.per_pk_key = limiter_new_sized(cfg->limit_pk_rps, 1, slots);
	svc.per_pk_addr =
		limiter_new_sized(cfg->limit_pk_ip_calls_per_min, 60, slots);
	svc.per_pk_ip = limiter_new_sized(cfg->limit_pk_ip_requests_per_hour,
					  3600, slots);
	svc.auth_fail = limiter_new_sized(cfg->limit_ip_auth_failures_per_min,
					  60, slots);
	svc.pk_junk_cost = cfg->limit_pk_junk_cost;
	svc.number_window_ms = (int64_t)cfg->limit_number_window * 1000;
	svc.prefix_digits = cfg->limit_prefix_digits;
	svc.ipv6_prefix = cfg->limit_ipv6_prefix;
	svc.es.pin_expiry_s = cfg->pin_expiry;
	svc.es.next_event_wait_s = cfg->next_event_wait;
	svc.es.code_length = cfg->code_length;
	svc.es.param_min_wait_s = cfg->param_min_wait;
	svc.es.cancel_min_age_s = cfg->cancel_min_age;
	svc.es.resend_cooldown_s = cfg->resend_cooldown;
	svc.es.resend_max = cfg->resend_max;
	svc.es.backoff_base_s = cfg->resend_backoff_base;
	svc.es.backoff_max_s = cfg->resend_backoff_max;
	svc.es.backoff_quiet_s = cfg->resend_backoff_quiet;
	svc.es.backoff_jitter_pct = cfg->resend_backoff_jitter;
	svc.verified_ttl_ms = (int64_t)cfg->verified_ttl * 1000;
	memcpy(svc.default_country, cfg->default_country,
	       sizeof(svc.default_country));
	if (phone_check_region(svc.default_country) != 0) {
		snprintf(err, errlen, "default_country: unknown region \"%s\"",
			 svc.default_country);
		return KV_ECONFIG;
	}
	if (verify_missed_init(cfg, err, errlen) != 0)
		return KV_ECONFIG;
	return verify_tests_parse(cfg->test_numbers, svc.default_country, err,
				  errlen);
}

static void warm_number(const char *number, int64_t at_ms, void *arg)
{
	limiter_take(svc.per_number, number, strlen(number), at_ms);
}

int verify_warm_limits(const char *db)
{
	char err[600];
	struct store_tx *c;
	int rc;

	if (!svc.per_number)
		return 0;
	c = store_open(db, err, sizeof(err));
	if (!c)
		return KV_EDB;
	/* Oldest first would be exact; newest first over-counts at most the
	 * refill of one window, on the safe side. */
	rc = store_recent_numbers_foreach(c, now_ms() - svc.number_window_ms,
					  warm_number, NULL);
	store_close(c);
	return rc;
}

/* Counts a refusal by limit `limit` for /metrics when wait says one. */
static int limited(enum metric_limit limit, int wait)
{
	if (wait)
		metrics_inc(M_RATE_LIMITED, limit, 0, 0);
	return wait;
}

int verify_auth_wait(const char *ip)
{
	char key[ADDR_TEXT_MAX];

	return limited(MLIM_AUTH_FAILURES,
		       limiter_peek(svc.auth_fail, key, ip_key(ip, key),
				    now_ms()));
}

void verify_auth_failed(const char *ip)
{
	char key[ADDR_TEXT_MAX];

	limiter_take(svc.auth_fail, key, ip_key(ip, key), now_ms());
}

/*
 * The key of a (publishable key, client address) bucket, the address
 * counted as every per-address limit counts it (IPv6 by network); its
 * length.
 */
static size_t pk_addr_key(int64_t key_id, const char *ip,
			  unsigned char out[sizeof(int64_t) + ADDR_TEXT_MAX])
{
	char addr[ADDR_TEXT_MAX];
	size_t n = ip_key(ip, addr);

	memcpy(out, &key_id, sizeof(key_id));
	memcpy(out + sizeof(key_id), addr, n);
	return sizeof(key_id) + n;
}

int verify_rate_key(int64_t key_id, int publishable, const char *ip)
{
	unsigned char k[sizeof(int64_t) + ADDR_TEXT_MAX];
	int64_t now = now_ms();
	int wait;

	if (!publishable)
		return limited(MLIM_KEY, limiter_take(svc.per_key, &key_id,
						      sizeof(key_id), now));
	/*
	 * A site's budget is shared by all its visitors: each address spends
	 * its own share first, so one sender cannot spend the whole of it.
	 */
	wait = limiter_take(svc.per_pk_addr, k, pk_addr_key(key_id, ip, k),
			    now);
	if (wait)
		return limited(MLIM_PUBLISHABLE_IP, wait);
	return limited(MLIM_PUBLISHABLE_KEY,
		       limiter_take(svc.per_pk_key, &key_id, sizeof(key_id),
				    now));
}

void verify_rate_junk(int64_t key_id, const char *ip)
{
	unsigned char k[sizeof(int64_t) + ADDR_TEXT_MAX];

	limiter_charge(svc.per_pk_addr, k, pk_addr_key(key_id, ip, k),
		       svc.pk_junk_cost, now_ms());
}

/* Is the number's country in the key's allow-list ("IN,GB" or "*")? */
static int country_allowed(const char *list, const char *region)
{
	const char *p = list && *list ? list : "IN";

	if (strcmp(p, "*") == 0)
		return 1;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 2 && region[0] && strncasecmp(p, region, 2) == 0)
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

const struct engine_settings *verify_settings(void)
{
	return &svc.es;
}

int64_t verify_verified_ttl_ms(void)
{
	return svc.verified_ttl_ms;
}

/* ---- the writes of the three calls that change a verification ---- */

/* 32 lower-case hex digits, as crypto_handle_new() writes. */
static int handle_well_formed(const char *h)
{
	return h && strlen(h) == CRYPTO_HANDLE_LEN &&
	       strspn(h, "0123456789abcdef") == CRYPTO_HANDLE_LEN;
}

/* The service call whose write a struct verify_pending carries. */
enum pending_kind { PENDING_REQUEST, PENDING_CHECK, PENDING_CONTROL };

struct request_tx {
	struct vf_record rec;
	char pin[ENGINE_PIN_MAX + 1]; /* hashed and sealed once the id is known */
	int concurrent;
	int throttled;    /* the number's window is full: seconds to wait */
	int blocked;      /* a shared store's statistics blocked the prefix */
	int limits_taken; /* a shared store's limits were taken before */
	/* rec's id was drawn before the write, its request id bound to it */
	int id_early;
	char *block_reason; /* the caller's, for the block's reason */
	size_t block_reason_len;
	char existing[ENGINE_REQUEST_ID_LEN + 1]; /* "": not the page's */
	/* Publishable keys: the new handle, and the one the page sent. */
	int publishable;
	char handle[CRYPTO_HANDLE_LEN + 1];
	const char *given;
};

struct check_tx {
	char number[16]; /* out: the verification's number */
	int64_t key_id;
	const char *request_id;
	struct verify_proof proof;
	unsigned char code_hash[CRYPTO_HASH_LEN];
	struct vf_check row;
	enum check_outcome outcome;
};

struct control_tx {
	int64_t key_id;
	const char *request_id;
	struct verify_proof proof;
	enum verify_cmd cmd;
	int vonage_rules;
	uint32_t rnd; /* the jitter of a resend's backoff */
	enum control_outcome outcome;
	int64_t wait_ms; /* resend: until one is allowed (engine.h) */
};

/* A service call waiting for its write: one of the three above. */
struct verify_pending {
	enum pending_kind kind;
	union {
		struct request_tx rq;
		struct check_tx ck;
		struct control_tx ct;
	} u;
};

static struct verify_pending *pending_new(enum pending_kind kind)
{
	struct verify_pending *p = calloc(1, sizeof(*p));

	if (p)
		p->kind = kind;
	return p;
}

static void verify_pending_free(struct verify_pending *p)
{
	if (!p)
		return;
	/* PINs and submitted codes: leave no copy in freed memory. */
	sodium_memzero(p, sizeof(*p));
	free(p);
}

/* ---- request ---- */

/*
 * A page asks for a number whose verification is live: only the page that
 * started it (its handle) learns its id.  Anyone else, another visitor of
 * the same site included, is refused without it.
 */
static void request_concurrent(struct request_tx *tx,
			       const struct vf_record *live)
{
	struct verify_proof hp;

	tx->concurrent = 1;
	memcpy(tx->existing, live->v.request_id, sizeof(tx->existing));
	if (!tx->publishable)
		return;
	verify_proof_init(&hp, live->v.request_id, tx->given ? tx->given : "");
	if (!tx->given || !*tx->given || !verify_proof_ok(&hp, live))
		tx->existing[0] = '\0';
}

/*
 * The request id is derived from the row id; the PIN's hash and sealed
 * copy, and a page's handle, are bound to the request id.
 */
static void request_bind_id(struct request_tx *tx)
{
	crypto_request_id_of(tx->rec.v.id, tx->rec.v.request_id);
	verify_pin_bind(&tx->rec, tx->pin);
	if (tx->publishable) {
		crypto_handle_hash(tx->rec.v.request_id, tx->handle,
				   tx->rec.handle_hash);
		tx->rec.has_handle = 1;
	}
}

static void request_started(const struct request_tx *tx)
{
	metrics_inc(M_VF_STARTED, metrics_key(tx->rec.v.key_id),
		    metrics_workflow(tx->rec.workflow_id), 0);
}

static int request_tx_run(struct store_tx *c, void *arg)
{
	struct request_tx *tx = arg;
	struct vf_record live;
	struct store_job_new job;
	int64_t now = tx->rec.v.created_ms;
	int counted = 0, rc;

	tx->concurrent = 0;
	tx->blocked = 0;
	if (!tx->rec.test_number)
		verify_first_job(&tx->rec, &job);
	/*
	 * With the range's figures taken before the write, the number's
	 * bucket goes with the lookup of its live verification, and with
	 * the id drawn before, the verification too: the usual request is
	 * one statement of the write.
	 */
	if (tx->id_early) {
		rc = verify_limits_start(c, &tx->rec, &job, now, &live,
					 &tx->throttled);
		if (rc == KV_ENOTFOUND && !tx->throttled)
			request_started(tx);
		if (rc == KV_ENOTFOUND)
			return 0;
	} else {
		rc = verify_limits_live(
			c, tx->rec.v.key_id, tx->rec.number, now,
			tx->limits_taken && !tx->rec.test_number, &live,
			&tx->throttled, &counted);
	}
	if (rc == 0) {
		if (!engine_expire_if_due(&live.v, now)) {
			request_concurrent(tx, &live);
			return 0;
		}
		/* Its time is up: record that, which frees the number. */
		rc = store_verification_update(c, &live);
		if (rc == 0)
			rc = store_jobs_cancel(c, live.v.id, now);
		if (rc != 0)
			return rc;
		verify_metrics_final(&live, now, MCH_SMS_CODE);
	} else if (rc != KV_ENOTFOUND) {
		return rc;
	}
	if (!tx->rec.test_number) {
		/*
		 * Counted here unless the lookup did, the range's figures
		 * too unless verify_limits_before() took them: when it saw
		 * a live verification that is now gone (rare).
		 */
		rc = counted ? 0
		     : tx->limits_taken
			     ? verify_limits_number(c, tx->rec.number, now,
						    &tx->throttled)
			     : verify_limits_request(
				       c, tx->rec.number,
				       tx->publishable ? tx->rec.v.key_id : 0,
				       now, tx->block_reason,
				       tx->block_reason_len, &tx->blocked,
				       &tx->throttled);
		if (rc != 0 || tx->blocked || tx->throttled)
			return rc;
		tx->throttled = limiter_take(svc.per_number, tx->rec.number,
					     strlen(tx->rec.number), now);
		if (tx->throttled)
			return 0;
	}
	if (!tx->id_early) {
		rc = store_verification_next_id(c, &tx->rec.v.id);
		if (rc != 0)
			return rc;
		request_bind_id(tx);
	}
	/* The first delivery step commits with the verification itself. */
	rc = store_verification_start(c, &tx->rec,
				      tx->rec.test_number ? NULL : &job);
	if (rc == 0)
		request_started(tx);
	return rc;
}

/*
 * request_tx_run()'s first statement, sent ahead: the usual request's,
 * whose id was drawn before the write (KV_ENOTFOUND otherwise: the run
 * then starts with another statement).  A test number never draws its id
 * early, so such a request always has its first job.
 */
static int request_tx_lead(struct store_tx *c, void *arg)
{
	struct request_tx *tx = arg;
	struct store_job_new job;

	if (!tx->id_early)
		return KV_ENOTFOUND;
	verify_first_job(&tx->rec, &job);
	return verify_limits_start_lead(c, &tx->rec, &job,
					tx->rec.v.created_ms);
}

static int plan_has_sms(const struct engine_plan *plan)
{
	for (int i = 0; i < plan->nsteps; i++)
		if (plan->steps[i] == CH_SMS)
			return 1;
	return 0;
}

static void copy_field(char *dst, size_t dstlen, const char *src)
{
	snprintf(dst, dstlen, "%s", src ? src : "");
}

enum verify_result verify_request_start(int64_t key_id,
					const struct verify_request_in *in,
					const char **bad_param,
					int *retry_after,
					struct verify_pending **p)
{
	struct request_tx *tx;
	struct vf_record *r;
	struct engine_request req = in->req;
	struct engine_plan plan;
	struct phone ph;
	enum verify_result res;
	const struct test_number *test;
	int64_t now = now_ms();
	int rc;

	*p = NULL;
	if (in->browser_ip) {
		char key[ADDR_TEXT_MAX];

		*retry_after =
			limited(MLIM_PUBLISHABLE_IP,
				limiter_take(svc.per_pk_ip, key,
					     ip_key(in->browser_ip, key), now));
		if (*retry_after)
			return VERIFY_THROTTLED;
	}
	if (phone_parse(in->number, in->country, svc.default_country, &ph) != 0)
		return VERIFY_BAD_NUMBER;
	log_context_number(ph.digits);
	test = verify_test_find(ph.digits);
	if (!test && !country_allowed(in->countries, ph.region))
		return VERIFY_NOT_PERMITTED;
	/* Before any limit or statistic: nothing will be sent to it. */
	if (!test && phone_type_refusal(ph.type)) {
		*bad_param = phone_type_refusal(ph.type);
		return VERIFY_UNREACHABLE;
	}
	if (!test) {
		struct fraud_block block;
		int blocked = 0;

		/* browser_ip is set for publishable keys only (verify.h). */
		rc = fraud_check_request(ph.digits, in->browser_ip ? key_id : 0,
					 &block, &blocked);
		if (rc != 0)
			return VERIFY_ERROR;
		if (blocked) {
			if (in->block_reason && in->block_reason_len) {
				snprintf(in->block_reason, in->block_reason_len,
					 "%s", block.reason);
				*bad_param = in->block_reason;
			}
			metrics_inc(M_RATE_LIMITED, MLIM_BLOCKED_PREFIX, 0, 0);
			return VERIFY_BLOCKED;
		}
	}
	if (!test) {
		/* SMS pumping goes through ranges: count by prefix. */
		size_t n = strlen(ph.digits);

		if (n > (size_t)svc.prefix_digits)
			n = (size_t)svc.prefix_digits;
		*retry_after =
			limited(MLIM_PREFIX, limiter_take(svc.per_prefix,
							  ph.digits, n, now));
		if (*retry_after)
			return VERIFY_THROTTLED;
	}
	req.fixed_line = ph.type == PHONE_FIXED_LINE;
	res = verify_missed_request(key_id, in->publishable, &req);
	if (res != VERIFY_OK)
		return res;
	rc = engine_plan_request(&req, &svc.es, &plan, bad_param);
	if (rc != 0)
		return VERIFY_BAD_PARAM;
	/* A test number's PIN is fixed, and so is its length; a caller's too. */
	if (test)
		plan.code_length = (int)strlen(test->pin);
	else if (in->pin)
		plan.code_length = (int)strlen(in->pin);
	/* The SMS fills its DLT template exactly: refused, never cut. */
	if (plan_has_sms(&plan) &&
	    sms_pin_fits(in->lg, in->brand, plan.code_length,
			 (int)((plan.pin_expiry_ms + 59999) / 60000),
			 in->origin_host, in->app_hash, bad_param) != 0)
		return VERIFY_BAD_PARAM;

	*p = pending_new(PENDING_REQUEST);
	if (!*p)
		return VERIFY_ERROR;
	tx = &(*p)->u.rq;
	r = &tx->rec;
	if (test)
		memcpy(tx->pin, test->pin, sizeof(tx->pin));
	else if (in->pin)
		copy_field(tx->pin, sizeof(tx->pin), in->pin);
	else
		crypto_pin_new(plan.code_length, tx->pin);
	tx->publishable = in->publishable;
	tx->given = in->handle;
	tx->block_reason = in->block_reason;
	tx->block_reason_len = in->block_reason_len;
	/*
	 * A page may propose its handle (the SDK draws one per visitor), so a
	 * start retried after a lost reply resumes instead of being refused;
	 * anything but 128 bits in hex gets one of ours.
	 */
	if (in->publishable && handle_well_formed(in->handle))
		memcpy(tx->handle, in->handle, sizeof(tx->handle));
	else if (in->publishable)
		crypto_handle_new(tx->handle);

	r->v.key_id = key_id;
	r->v.state = VF_IN_PROGRESS;
	r->v.nsteps = plan.nsteps;
	r->v.created_ms = now;
	r->v.pin_created_ms = now;
	r->v.pin_expiry_ms = plan.pin_expiry_ms;
	r->v.expires_ms = now + plan.lifetime_ms;
	memcpy(r->number, ph.digits, sizeof(r->number));
	r->number_type = (int)ph.type;
	copy_field(r->brand, sizeof(r->brand), in->brand);
	copy_field(r->sender_id, sizeof(r->sender_id), in->sender_id);
	copy_field(r->lg, sizeof(r->lg), in->lg);
	copy_field(r->origin_host, sizeof(r->origin_host), in->origin_host);
	copy_field(r->app_hash, sizeof(r->app_hash), in->app_hash);
	copy_field(r->client_ref, sizeof(r->client_ref), in->client_ref);
	copy_field(r->template_id, sizeof(r->template_id), in->template_id);
	r->v2 = in->v2;
	r->workflow_id = plan.workflow_id;
	r->code_length = plan.code_length;
	r->test_number = test != NULL;
	for (int i = 0; i < plan.nsteps; i++) {
		r->steps[i] = "stm"[plan.steps[i]];
		r->wait_ms[i] = plan.wait_ms[i];
	}
	verify_missed_bind(r, &plan);
	if (test)
		return VERIFY_PENDING;
	rc = verify_limits_before(r->v.key_id, r->number,
				  tx->publishable ? key_id : 0, now,
				  tx->block_reason, tx->block_reason_len,
				  &tx->blocked, &tx->throttled,
				  &tx->limits_taken, &r->v.id);
	if (rc == 0 && !tx->blocked && !tx->throttled) {
		tx->id_early = r->v.id > 0;
		if (tx->id_early)
			request_bind_id(tx);
		return VERIFY_PENDING;
	}
	*retry_after = tx->throttled;
	if (rc == 0)
		metrics_inc(M_RATE_LIMITED,
			    tx->blocked ? MLIM_BLOCKED_PREFIX : MLIM_PREFIX, 0,
			    0);
	if (tx->blocked && tx->block_reason && tx->block_reason_len)
		*bad_param = tx->block_reason;
	res = rc != 0       ? VERIFY_ERROR
	      : tx->blocked ? VERIFY_BLOCKED
			    : VERIFY_THROTTLED;
	/* tx is part of *p: read above, before it goes. */
	verify_pending_free(*p);
	*p = NULL;
	return res;
}

void verify_request_missed(const struct verify_pending *p, char did[17],
			   int *expires_in_s)
{
	const struct vf_record *r = &p->u.rq.rec;
	int64_t left = r->v.missed_until_ms - now_ms();

	did[0] = '\0';
	*expires_in_s = 0;
	if (!r->missed_did[0] || p->u.rq.concurrent)
		return;
	snprintf(did, 17, "+%s", r->missed_did);
	*expires_in_s = left > 0 ? (int)((left + 999) / 1000) : 0;
}

enum verify_result
verify_request_finish(struct verify_pending *p, int rc,
		      char request_id[ENGINE_REQUEST_ID_LEN + 1], char *handle,
		      int *retry_after)
{
	struct request_tx *tx = &p->u.rq;
	enum verify_result res = VERIFY_OK;

	if (handle)
		handle[0] = '\0';
	if (rc != 0) {
		res = VERIFY_ERROR;
	} else if (tx->concurrent) {
		memcpy(request_id, tx->existing, ENGINE_REQUEST_ID_LEN + 1);
		res = VERIFY_CONCURRENT;
	} else if (tx->blocked) {
		metrics_inc(M_RATE_LIMITED, MLIM_BLOCKED_PREFIX, 0, 0);
		res = VERIFY_BLOCKED;
	} else if (tx->throttled) {
		metrics_inc(M_RATE_LIMITED, MLIM_NUMBER, 0, 0);
		*retry_after = tx->throttled;
		res = VERIFY_THROTTLED;
	} else {
		memcpy(request_id, tx->rec.v.request_id,
		       ENGINE_REQUEST_ID_LEN + 1);
		if (handle && tx->publishable)
			memcpy(handle, tx->handle, sizeof(tx->handle));
		if (!tx->rec.test_number)
			verify_job_wake(tx->rec.v.created_ms);
	}
	verify_pending_free(p);
	return res;
}

/* ---- check ---- */

static int check_tx_run(struct store_tx *c, void *arg)
{
	struct check_tx *tx = arg;
	struct vf_record r;
	int64_t now = tx->row.created_ms;
	enum vf_state before;
	enum check_outcome begin;
	int rc;

	rc = store_verification_get(c, tx->request_id, tx->key_id, &r);
	if (rc != 0)
		return rc;
	/* Another page's verification: as unknown, nothing written. */
	if (!verify_proof_ok(&tx->proof, &r))
		return KV_ENOTFOUND;
	before = r.v.state;
	begin = engine_check_begin(&r.v, now);
	if (begin != CHECK_COMPARE) {
		tx->outcome = begin;
		/* Only a lazily noticed expiry changes anything here. */
		return r.v.state != before
			       ? verify_finalize(c, &r, now, MCH_SMS_CODE)
			       : 0;
	}
	memcpy(tx->number, r.number, sizeof(tx->number));
	tx->row.valid = crypto_hash_equal(tx->code_hash, r.pin_hash);
	tx->outcome = engine_check_finish(&r.v, tx->row.valid, now);
	rc = store_check_insert(c, r.v.id, &tx->row);
	if (rc == 0)
		rc = verify_callback_check(c, &r, tx->row.valid, now);
	if (rc != 0)
		return rc;
	if (tx->outcome == CHECK_OK) {
		struct vf_verified vr = {.verified_ms = now};

		memcpy(vr.request_id, r.v.request_id, sizeof(vr.request_id));
		rc = store_verified_put(c, r.v.key_id, r.number, &vr);
		if (rc == 0)
			rc = fraud_count_success(c, r.v.key_id, r.number, now);
		if (rc != 0)
			return rc;
	}
	if (r.v.state != VF_IN_PROGRESS)
		return verify_finalize(
			c, &r, now, r.has_handle ? MCH_BROWSER : MCH_SMS_CODE);
	return store_verification_update(c, &r);
}

enum verify_result verify_check_start(int64_t key_id, const char *request_id,
				      const char *handle, const char *code,
				      const char *ip, int *retry_after,
				      struct verify_pending **p)
{
	struct check_tx *tx;
	char key[ADDR_TEXT_MAX];

	*p = NULL;
	*retry_after =
		limited(MLIM_CHECK_IP, limiter_take(svc.per_ip, key,
						    ip_key(ip, key), now_ms()));
	if (*retry_after)
		return VERIFY_THROTTLED;
	*p = pending_new(PENDING_CHECK);
	if (!*p)
		return VERIFY_ERROR;
	tx = &(*p)->u.ck;
	tx->key_id = key_id;
	tx->request_id = request_id;
	verify_proof_init(&tx->proof, request_id, handle);
	crypto_pin_hash(request_id, code, tx->code_hash);
	tx->row.created_ms = now_ms();
	copy_field(tx->row.code, sizeof(tx->row.code), code);
	copy_field(tx->row.ip, sizeof(tx->row.ip), ip);
	return VERIFY_PENDING;
}

enum verify_result verify_check_finish(struct verify_pending *p, int rc,
				       enum check_outcome *outcome,
				       char *number)
{
	struct check_tx *tx = &p->u.ck;

	if (rc == 0)
		*outcome = tx->outcome;
	if (rc == 0 && number)
		memcpy(number, tx->number, sizeof(tx->number));
	if (rc == 0 && tx->outcome == CHECK_OK)
		fraud_note_success(tx->key_id, tx->number);
	/* The submitted code may be the PIN: verify_pending_free wipes it. */
	verify_pending_free(p);
	return verify_result_of(rc);
}

/* ---- control ---- */

/*
 * trigger_next_event: the pending step job comes forward to now.  When the
 * current step is in flight (its job leased), the next step is started by a
 * job of its own instead; the engine runs each step once, so the job the
 * in-flight step schedules for it later finds it started and is dropped.
 */
static int trigger_next(struct store_tx *c, const struct vf_record *r,
			int64_t now)
{
	int moved = 0;
	int rc = store_job_step_now(c, r->v.id, now, &moved);

	if (rc != 0 || moved || r->v.next_step < 1 ||
	    r->v.next_step >= r->v.nsteps)
		return rc;
	return store_job_insert(c, JOB_STEP, r->v.id, r->v.next_step, now);
}

/*
 * cmd=resend: the verification's cooldown and cap, and the backoff of its
 * number for this key, which a resend moves on (stored only then).
 */
static int resend_backoff_take(struct store_tx *c, struct control_tx *tx,
			       struct vf_record *r, int64_t now)
{
	struct resend_backoff b;
	char tag[CRYPTO_TAG_LEN + 1];
	int rc;

	crypto_tag(r->number, tag);
	rc = store_backoff_get(c, r->v.key_id, tag, &b);
	if (rc != 0)
		return rc;
	tx->outcome = engine_resend_backoff(&r->v, &b, &svc.es, now, tx->rnd,
					    &tx->wait_ms);
	if (tx->outcome == CONTROL_OK)
		rc = store_backoff_put(c, r->v.key_id, tag, &b);
	return rc;
}

static int control_tx_run(struct store_tx *c, void *arg)
{
	struct control_tx *tx = arg;
	struct vf_record r;
	int64_t now = now_ms();
	enum vf_state before;
	enum verify_cmd cmd = tx->cmd;
	int rc;

	rc = store_verification_get(c, tx->request_id, tx->key_id, &r);
	if (rc != 0)
		return rc;
	if (!verify_proof_ok(&tx->proof, &r))
		return KV_ENOTFOUND;
	before = r.v.state;
	/* Nothing was sent during a missed-call window: send what follows. */
	if (cmd == CMD_RESEND && r.v.next_step > 0 &&
	    r.steps[r.v.next_step - 1] == 'm')
		cmd = CMD_TRIGGER_NEXT;
	switch (cmd) {
	case CMD_CANCEL:
		tx->outcome =
			engine_cancel(&r.v, tx->vonage_rules, &svc.es, now);
		break;
	case CMD_TRIGGER_NEXT:
		tx->outcome = engine_trigger_next(&r.v, now);
		break;
	case CMD_RESEND:
		rc = resend_backoff_take(c, tx, &r, now);
		if (rc != 0)
			return rc;
		break;
	}
	if (r.v.state != before)
		return verify_finalize(c, &r, now, MCH_SMS_CODE);
	if (tx->outcome != CONTROL_OK)
		return 0;
	if (cmd == CMD_TRIGGER_NEXT)
		return trigger_next(c, &r, now);
	if (cmd == CMD_RESEND) {
		rc = store_verification_update(c, &r);
		if (rc == 0 && !r.test_number)
			rc = store_job_insert(c, JOB_RESEND, r.v.id, 0, now);
	}
	return rc;
}

enum verify_result verify_control_start(int64_t key_id, const char *request_id,
					const char *handle, enum verify_cmd cmd,
					int vonage_rules,
					struct verify_pending **p)
{
	struct control_tx *tx;

	*p = pending_new(PENDING_CONTROL);
	if (!*p)
		return VERIFY_ERROR;
	tx = &(*p)->u.ct;
	tx->key_id = key_id;
	tx->request_id = request_id;
	verify_proof_init(&tx->proof, request_id, handle);
	tx->cmd = cmd;
	tx->vonage_rules = vonage_rules;
	tx->rnd = randombytes_random();
	return VERIFY_PENDING;
}

enum verify_result verify_control_finish(struct verify_pending *p, int rc,
					 enum control_outcome *outcome,
					 int *wait_s)
{
	struct control_tx *tx = &p->u.ct;

	*wait_s = 0;
	if (rc == 0)
		*outcome = tx->outcome;
	if (rc == 0 && tx->cmd == CMD_RESEND && tx->wait_ms > 0)
		*wait_s = (int)((tx->wait_ms + 999) / 1000);
	if (rc == 0 && tx->cmd == CMD_RESEND && tx->outcome != CONTROL_OK &&
	    tx->wait_ms > 0)
		metrics_inc(M_RATE_LIMITED, MLIM_RESEND, 0, 0);
	if (rc == 0 && tx->outcome == CONTROL_OK && tx->cmd != CMD_CANCEL)
		verify_job_wake(now_ms());
	verify_pending_free(p);
	return verify_result_of(rc);
}

/* ---- a write in flight ---- */

int verify_request_made(const struct verify_pending *p,
			char request_id[ENGINE_REQUEST_ID_LEN + 1])
{
	const struct request_tx *tx = &p->u.rq;

	if (p->kind != PENDING_REQUEST || tx->concurrent || tx->blocked ||
	    tx->throttled || !tx->rec.v.request_id[0])
		return 0;
	memcpy(request_id, tx->rec.v.request_id, ENGINE_REQUEST_ID_LEN + 1);
	return 1;
}

int verify_pending_lead(struct store_tx *c, void *arg)
{
	struct verify_pending *p = arg;

	return p->kind == PENDING_REQUEST ? request_tx_lead(c, &p->u.rq)
					  : KV_ENOTFOUND;
}

int (*verify_write_lead(int (*fn)(struct store_tx *c,
				  void *arg)))(struct store_tx *c, void *arg)
{
	if (fn == verify_pending_run)
		return verify_pending_lead;
	if (fn == verify_idem_run)
		return verify_idem_lead;
	return NULL;
}

int verify_pending_run(struct store_tx *c, void *arg)
{
	struct verify_pending *p = arg;

	switch (p->kind) {
	case PENDING_REQUEST:
		return request_tx_run(c, &p->u.rq);
	case PENDING_CHECK:
		return check_tx_run(c, &p->u.ck);
	case PENDING_CONTROL:
		return control_tx_run(c, &p->u.ct);
	}
	return KV_EINVAL;
}

/* ---- reads (the rest: verify_read.c) ---- */

enum verify_result verify_number_status(int64_t key_id, const char *number,
					char e164_digits[16],
					struct vf_verified *row)
{
	struct store_tx *c = store_reader();
	struct phone ph;
	int rc;

	if (phone_parse(number, NULL, svc.default_country, &ph) != 0)
		return VERIFY_BAD_NUMBER;
	log_context_number(ph.digits);
	memcpy(e164_digits, ph.digits, 16);
	if (!c)
		return VERIFY_ERROR;
	rc = store_verified_get(c, key_id, ph.digits, row);
	if (rc == 0 && now_ms() >= row->verified_ms + svc.verified_ttl_ms)
		return VERIFY_NOT_FOUND;
	return verify_result_of(rc);
}
