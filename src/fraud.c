/*
 * Fraud signals (fraud.h).  Conversion statistics live in memory, per
 * prefix and scope, in hour-long windows in a fixed-size table (in the
 * store instead, counted in the writes, when many nodes share it); the blocks
 * they and the IVR reports produce are rows in the store, so they survive
 * restarts and the CLI can list and lift them.  A scope is 0 for the
 * traffic of secret keys (its blocks hold for every key) or one publishable
 * key (its blocks hold for that key only): a stranger holding a site's
 * public key can at worst block that site.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "fraud.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "util.h"

#define STATS_SLOTS 16384 /* a multiple of STATS_PROBE */
#define STATS_PROBE 8
#define WINDOW_MS (3600 * 1000LL)

struct prefix_stats {
	char prefix[16];
	int64_t key_id;    /* the scope: 0, or a publishable key */
	int64_t window_ms; /* start of the current hour window */
	int64_t requests;
	int64_t successes;
};

static struct {
	int prefix_digits;
	int reports_block; /* reports in the window that block; 0: off */
	int64_t report_window_ms;
	int64_t block_ms;
	int min_volume;     /* requests before conversion is judged; 0: off */
	int min_conversion; /* percent */
	int shared;         /* statistics in the store (store_is_shared()) */
	pthread_mutex_t lock;
	struct prefix_stats stats[STATS_SLOTS];
} fr = {.lock = PTHREAD_MUTEX_INITIALIZER};

int fraud_init(const struct config *cfg)
{
	pthread_mutex_lock(&fr.lock);
	memset(fr.stats, 0, sizeof(fr.stats));
	fr.prefix_digits = cfg->limit_prefix_digits;
	fr.reports_block = cfg->fraud_reports_block;
	fr.report_window_ms = (int64_t)cfg->fraud_report_window * 1000;
	fr.block_ms = (int64_t)cfg->fraud_block_seconds * 1000;
	fr.min_volume = cfg->fraud_min_volume;
	fr.min_conversion = cfg->fraud_min_conversion;
	fr.shared = store_is_shared();
	pthread_mutex_unlock(&fr.lock);
	return 0;
}

void fraud_prefix(const char *digits, char out[16])
{
	size_t n = strlen(digits);

	if (n > (size_t)fr.prefix_digits)
		n = (size_t)fr.prefix_digits;
	if (n > 15)
		n = 15;
	memcpy(out, digits, n);
	out[n] = '\0';
}

/* The first slot of the neighbourhood of (prefix, key_id). */
static size_t stats_hood(const char *prefix, int64_t key_id)
{
	uint32_t h = 2166136261u;

	for (const char *p = prefix; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (int i = 0; i < 8; i++)
		h = (h ^ (unsigned char)(key_id >> (8 * i))) * 16777619u;
	return (size_t)(h % (STATS_SLOTS / STATS_PROBE)) * STATS_PROBE;
}

static int stats_is(const struct prefix_stats *s, const char *prefix,
		    int64_t key_id)
{
	return s->key_id == key_id && strcmp(s->prefix, prefix) == 0;
}

/*
 * The stats slot of (prefix, key_id) (caller holds the lock), reset per
 * window; NULL when there is none and `create` is 0.  A new one takes an
 * empty slot or one whose window is over, else the slot with the fewest
 * requests: statistics are a signal, not an account, and the table's size
 * bounds memory, but a flood of other prefixes should cost a prefix with
 * much evidence against it last.
 */
static struct prefix_stats *stats_slot(const char *prefix, int64_t key_id,
				       int64_t now, int create)
{
	struct prefix_stats *hood = &fr.stats[stats_hood(prefix, key_id)];
	struct prefix_stats *s = NULL, *spare = NULL, *fewest = NULL;

	for (size_t i = 0; i < STATS_PROBE; i++) {
		struct prefix_stats *t = &hood[i];

		if (t->prefix[0] && stats_is(t, prefix, key_id)) {
			s = t;
			break;
		}
		if (!t->prefix[0] || now - t->window_ms >= WINDOW_MS) {
			if (!spare)
				spare = t;
		} else if (!fewest || t->requests < fewest->requests) {
			fewest = t;
		}
	}
	if (s && now - s->window_ms < WINDOW_MS)
		return s;
	if (!s && !create)
		return NULL;
	if (!s)
		s = spare ? spare : fewest;
	memset(s, 0, sizeof(*s));
	snprintf(s->prefix, sizeof(s->prefix), "%s", prefix);
	s->key_id = key_id;
	s->window_ms = now;
	return s;
}

/* Whether a window's figures are those of pumping. */
static int conversion_low(int64_t requests, int64_t successes)
{
	return requests > fr.min_volume &&
	       successes * 100 < requests * fr.min_conversion;
}

/* The block that low conversion earns (prefix, scope) at `now`. */
static void conversion_block(const char *prefix, int64_t key_id, int64_t now,
			     struct fraud_block *b)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->prefix, sizeof(b->prefix), "%s", prefix);
	b->key_id = key_id;
	snprintf(b->reason, sizeof(b->reason),
		 "conversion below %d%% over %d requests", fr.min_conversion,
		 fr.min_volume);
	b->created_ms = now;
	b->until_ms = now + fr.block_ms;
}

static void conversion_block_log(const struct fraud_block *b)
{
	log_warn("fraud.blocked", LOG_STR("prefix", b->prefix),
		 LOG_STR("scope", b->key_id ? "key" : "all"),
		 LOG_STR("reason", b->reason));
}

struct block_tx {
	struct fraud_block row;
};

static int block_tx_run(struct store_tx *c, void *arg)
{
	int rc = store_block_put(c, &((struct block_tx *)arg)->row);

	if (rc == 0)
		metrics_inc(M_FRAUD_BLOCKS, 0, 0, 0);
	return rc;
}

/*
 * Whether a block of (prefix, scope) is in force: *blocked 1 with *block
 * filled, or 0; *last_created: when its latest block began, 0 if it never
 * had one.  Returns 0 or KV_E*.
 */
static int block_in_force(struct store_tx *c, const char *prefix,
			  int64_t key_id, int64_t now,
			  struct fraud_block *block, int64_t *last_created,
			  int *blocked)
{
	int rc = store_block_last(c, prefix, key_id, block);

	*last_created = 0;
	*blocked = 0;
	if (rc == KV_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	*last_created = block->created_ms;
	*blocked = block->until_ms > now;
	return 0;
}

int fraud_check_request(const char *digits, int64_t pk_key_id,
			struct fraud_block *block, int *blocked)
{
	struct store_tx *c = store_reader();
	struct prefix_stats *s;
	struct block_tx tx;
	int64_t now = now_ms();
	int64_t last_created;
	char prefix[16];
	int convert_low = 0, rc;

	*blocked = 0;
	fraud_prefix(digits, prefix);
	if (!c)
		return KV_EDB;
	/* A block for every key, then one earned through this key. */
	rc = block_in_force(c, prefix, 0, now, block, &last_created, blocked);
	if (rc == 0 && !*blocked && pk_key_id)
		rc = block_in_force(c, prefix, pk_key_id, now, block,
				    &last_created, blocked);
	if (rc != 0 || *blocked)
		return rc;
	/* A shared store's figures are counted in the request's write. */
	if (!fr.min_volume || fr.shared)
		return 0;
	pthread_mutex_lock(&fr.lock);
	s = stats_slot(prefix, pk_key_id, now, 1);
	s->requests++;
	convert_low =
		conversion_low(s->requests, s->successes) &&
		/* Once per window: a block lifted by hand stays lifted. */
		last_created < s->window_ms;
	pthread_mutex_unlock(&fr.lock);
	if (!convert_low)
		return 0;
	conversion_block(prefix, pk_key_id, now, &tx.row);
	rc = store_write(block_tx_run, &tx);
	if (rc != 0)
		return rc;
	conversion_block_log(&tx.row);
	*block = tx.row;
	*blocked = 1;
	return 0;
}

int fraud_counts_requests(void)
{
	return fr.shared && fr.min_volume;
}

int fraud_count_request(struct store_tx *c, const char *digits,
			int64_t pk_key_id, int64_t now,
			struct fraud_block *block, int *blocked)
{
	int64_t window = now - now % WINDOW_MS;
	int64_t requests = 0, successes = 0, last_created = 0;
	char prefix[16];
	int rc;

	*blocked = 0;
	if (!fraud_counts_requests())
		return 0;
	fraud_prefix(digits, prefix);
	rc = store_prefix_stats_add(c, prefix, pk_key_id, window, 1, 0,
				    &requests, &successes);
	if (rc != 0 || !conversion_low(requests, successes))
		return rc;
	/* Once per window: a block lifted by hand stays lifted. */
	rc = block_in_force(c, prefix, pk_key_id, now, block, &last_created,
			    blocked);
	if (rc != 0 || *blocked || last_created >= window)
		return rc;
	conversion_block(prefix, pk_key_id, now, block);
	rc = store_block_put(c, block);
	if (rc == 0)
		metrics_inc(M_FRAUD_BLOCKS, 0, 0, 0);
	if (rc == 0)
		conversion_block_log(block);
	*blocked = rc == 0;
	return rc;
}

int fraud_count_success(struct store_tx *c, int64_t key_id, const char *digits,
			int64_t now)
{
	char prefix[16];
	int kind = KEY_SECRET;
	int rc;

	if (!fr.shared || !fr.min_volume)
		return 0;
	/* Only a publishable key's requests have statistics of their own. */
	rc = store_key_kind(c, key_id, &kind);
	if (rc != 0 && rc != KV_ENOTFOUND)
		return rc;
	fraud_prefix(digits, prefix);
	return store_prefix_stats_add(c, prefix,
				      kind == KEY_PUBLISHABLE ? key_id : 0,
				      now - now % WINDOW_MS, 0, 1, NULL, NULL);
}

void fraud_note_success(int64_t key_id, const char *digits)
{
	struct prefix_stats *s;
	int64_t now = now_ms();
	char prefix[16];

	if (fr.shared)
		return; /* fraud_count_success() counted it in the write */
	fraud_prefix(digits, prefix);
	pthread_mutex_lock(&fr.lock);
	/* Only a publishable key's requests have statistics of their own. */
	s = stats_slot(prefix, key_id, now, 0);
	if (!s)
		s = stats_slot(prefix, 0, now, 1);
	s->successes++;
	pthread_mutex_unlock(&fr.lock);
}

int fraud_note_report(struct store_tx *c, const char *number, int64_t key_id,
		      int64_t now)
{
	struct fraud_block b;
	int64_t n = 0;
	int kind = KEY_SECRET;
	int rc;

	if (!fr.reports_block)
		return 0;
	memset(&b, 0, sizeof(b));
	rc = store_key_kind(c, key_id, &kind);
	if (rc != 0)
		return rc;
	/*
	 * Reports on verifications a publishable key asked for count, and
	 * block, for that key alone: whoever holds a site's public key can
	 * have calls placed to phones of their own and press 9.
	 */
	b.key_id = kind == KEY_PUBLISHABLE ? key_id : 0;
	fraud_prefix(number, b.prefix);
	rc = store_fraud_recent(c, b.prefix, b.key_id,
				now - fr.report_window_ms, &n);
	if (rc != 0 || n < fr.reports_block)
		return rc;
	snprintf(b.reason, sizeof(b.reason),
		 "%lld %s reported unrequested codes", (long long)n,
		 n == 1 ? "number" : "numbers");
	b.created_ms = now;
	b.until_ms = now + fr.block_ms;
	log_warn("fraud.blocked", LOG_STR("prefix", b.prefix),
		 LOG_STR("scope", b.key_id ? "key" : "all"),
		 LOG_STR("reason", b.reason));
	rc = store_block_put(c, &b);
	if (rc == 0)
		metrics_inc(M_FRAUD_BLOCKS, 0, 0, 0);
	return rc;
}
