/*
 * Fraud signals (fraud.h).  Conversion statistics live in memory, per
 * prefix, in hour-long windows in a fixed-size table; the blocks they and
 * the IVR reports produce are rows in the store, so they survive restarts
 * and the CLI can list and lift them.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "fraud.h"
#include "log.h"
#include "util.h"

#define STATS_SLOTS 4096
#define WINDOW_MS (3600 * 1000LL)

struct prefix_stats {
	char prefix[16];
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

/* The stats slot of a prefix (caller holds the lock), reset per window. */
static struct prefix_stats *stats_slot(const char *prefix, int64_t now)
{
	uint32_t h = 2166136261u;
	struct prefix_stats *s;

	for (const char *p = prefix; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	s = &fr.stats[h % STATS_SLOTS];
	/* A colliding prefix takes the slot over: statistics are a signal,
	 * not an account; the table's size bounds memory. */
	if (strcmp(s->prefix, prefix) != 0 || now - s->window_ms >= WINDOW_MS) {
		memset(s, 0, sizeof(*s));
		snprintf(s->prefix, sizeof(s->prefix), "%s", prefix);
		s->window_ms = now;
	}
	return s;
}

struct block_tx {
	struct block_row row;
};

static int block_tx_run(struct db_conn *c, void *arg)
{
	return db_block_put(c, &((struct block_tx *)arg)->row);
}

int fraud_check_request(const char *digits, struct block_row *block)
{
	struct db_conn *c = db_reader();
	struct prefix_stats *s;
	struct block_tx tx;
	int64_t now = now_ms();
	int64_t last_created;
	char prefix[16];
	int convert_low = 0, rc;

	fraud_prefix(digits, prefix);
	if (!c)
		return KV_EDB;
	rc = db_block_last(c, prefix, block);
	if (rc == 0 && block->until_ms > now)
		return 1;
	if (rc != 0 && rc != KV_ENOTFOUND)
		return rc;
	last_created = rc == 0 ? block->created_ms : 0;
	if (!fr.min_volume)
		return 0;
	pthread_mutex_lock(&fr.lock);
	s = stats_slot(prefix, now);
	s->requests++;
	convert_low =
		s->requests > fr.min_volume &&
		s->successes * 100 < s->requests * fr.min_conversion &&
		/* Once per window: a block lifted by hand stays lifted. */
		last_created < s->window_ms;
	pthread_mutex_unlock(&fr.lock);
	if (!convert_low)
		return 0;
	memset(&tx, 0, sizeof(tx));
	memcpy(tx.row.prefix, prefix, sizeof(tx.row.prefix));
	snprintf(tx.row.reason, sizeof(tx.row.reason),
		 "conversion below %d%% over %d requests", fr.min_conversion,
		 fr.min_volume);
	tx.row.created_ms = now;
	tx.row.until_ms = now + fr.block_ms;
	rc = db_write(block_tx_run, &tx);
	if (rc != 0)
		return rc;
	log_warn("fraud: prefix %s blocked: %s", prefix, tx.row.reason);
	*block = tx.row;
	return 1;
}

void fraud_note_success(const char *digits)
{
	char prefix[16];

	fraud_prefix(digits, prefix);
	pthread_mutex_lock(&fr.lock);
	stats_slot(prefix, now_ms())->successes++;
	pthread_mutex_unlock(&fr.lock);
}

int fraud_note_report(struct db_conn *c, const char *number, int64_t now)
{
	struct block_row b;
	int64_t n = 0;
	int rc;

	if (!fr.reports_block)
		return 0;
	memset(&b, 0, sizeof(b));
	fraud_prefix(number, b.prefix);
	rc = db_fraud_recent(c, b.prefix, now - fr.report_window_ms, &n);
	if (rc != 0 || n < fr.reports_block)
		return rc;
	snprintf(b.reason, sizeof(b.reason),
		 "%lld numbers reported unrequested codes", (long long)n);
	b.created_ms = now;
	b.until_ms = now + fr.block_ms;
	log_warn("fraud: prefix %s blocked: %s", b.prefix, b.reason);
	return db_block_put(c, &b);
}
