/*
 * The cluster operations of store.h in the PostgreSQL backend: readiness,
 * the store's claimed settings (meta), token buckets and conversion
 * statistics that every node shares, each decided in one statement so
 * that racing nodes queue on the row instead of overwriting each other,
 * and the listener that turns other nodes' NOTIFY kookooverify_jobs into
 * wake-ups of this node's job runner.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "log.h"
#include "store_pg.h"

int pg_ping(void)
{
	struct store_tx *c = pg_reader();

	if (!c)
		return KV_EDB;
	return pg_run(c, "SELECT 1", NULL, "ping");
}

int pg_meta_claim(struct store_tx *c, const char *name, const char *value,
		  char *stored, size_t storedlen)
{
	static const char claim[] =
		"INSERT INTO meta (name, value) VALUES ($1, $2) "
		"ON CONFLICT (name) DO NOTHING";
	/*
	 * In READ COMMITTED a new statement sees what a racing node's
	 * insert committed (ours waited for it in ON CONFLICT).
	 */
	static const char read[] = "SELECT value FROM meta WHERE name = $1";
	struct pg_params p;
	PGresult *res = NULL;
	char cur[128] = "";
	int rc;

	pg_params_init(&p);
	pg_param_text(&p, name);
	pg_param_text(&p, value);
	rc = pg_run(c, claim, &p, "claim setting");
	if (rc != 0)
		return rc;
	p.n = 1;
	rc = pg_row(c, read, &p, &res, "read setting");
	if (rc == KV_ENOTFOUND)
		rc = KV_EDB;
	if (rc != 0)
		return rc;
	pg_get_text(res, 0, 0, cur, sizeof(cur));
	PQclear(res);
	if (stored && storedlen)
		snprintf(stored, storedlen, "%s", cur);
	return strcmp(cur, value) == 0 ? 0 : KV_EDUP;
}

/* GCRA, as in the SQLite backend: a token is period_s / count long. */
static int64_t bucket_step_us(const struct store_bucket *b)
{
	return (int64_t)b->period_s * 1000000 / b->count;
}

static int64_t bucket_tolerance_us(const struct store_bucket *b)
{
	return (int64_t)b->period_s * 1000000 - bucket_step_us(b);
}

void pg_bucket_bind(struct pg_params *p, const struct store_bucket *b,
		    int64_t now_ms)
{
	pg_param_text(p, b->name);
	pg_param_text(p, b->key);
	pg_param_int(p, now_ms * 1000);
	pg_param_int(p, bucket_step_us(b));
	pg_param_int(p, bucket_tolerance_us(b));
}

int pg_bucket_wait(struct store_tx *c, const struct store_bucket *b,
		   int64_t now_ms, int *wait_s)
{
	static const char read[] =
		"SELECT tat_us FROM limits WHERE name = $1 AND key = $2";
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_text(&p, b->name);
	pg_param_text(&p, b->key);
	rc = pg_row(c, read, &p, &res, "read bucket");
	if (rc == KV_ENOTFOUND)
		rc = KV_EDB;
	if (rc != 0)
		return rc;
	*wait_s = (int)((pg_get_int(res, 0, 0) - now_ms * 1000 -
			 bucket_tolerance_us(b)) /
			1000000) +
		  1;
	PQclear(res);
	return 0;
}

int pg_limit_take(struct store_tx *c, const char *name, const char *key,
		  int count, int period_s, int64_t now_ms, int *wait_s)
{
	static const char take[] = PG_BUCKET_TAKE("");
	const struct store_bucket b = {name, key, count, period_s};
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	*wait_s = 0;
	pg_params_init(&p);
	pg_bucket_bind(&p, &b, now_ms);
	rc = pg_row(c, take, &p, &res, "take from bucket");
	PQclear(res);
	/* Refused, the bucket untouched: how long until a token. */
	return rc == KV_ENOTFOUND ? pg_bucket_wait(c, &b, now_ms, wait_s) : rc;
}

int pg_prefix_stats_add(struct store_tx *c, const char *prefix, int64_t scope,
			int64_t window_ms, int requests, int successes,
			int64_t *total_requests, int64_t *total_successes)
{
	static const char add[] =
		"INSERT INTO prefix_stats AS s (scope, prefix, window_ms, "
		"requests, successes) VALUES ($1, $2, $3, $4, $5) "
		"ON CONFLICT (scope, prefix) DO UPDATE SET "
		"requests = CASE WHEN s.window_ms >= excluded.window_ms "
		"THEN s.requests + excluded.requests "
		"ELSE excluded.requests END, "
		"successes = CASE WHEN s.window_ms >= excluded.window_ms "
		"THEN s.successes + excluded.successes "
		"ELSE excluded.successes END, "
		"window_ms = greatest(s.window_ms, excluded.window_ms) "
		"RETURNING s.requests, s.successes";
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, scope);
	pg_param_text(&p, prefix);
	pg_param_int(&p, window_ms);
	pg_param_int(&p, requests);
	pg_param_int(&p, successes);
	rc = pg_row(c, add, &p, &res, "count prefix");
	if (rc == KV_ENOTFOUND)
		rc = KV_EDB;
	if (rc != 0)
		return rc;
	if (total_requests)
		*total_requests = pg_get_int(res, 0, 0);
	if (total_successes)
		*total_successes = pg_get_int(res, 0, 1);
	PQclear(res);
	return 0;
}

int pg_backoff_get(struct store_tx *c, int64_t key_id, const char *tag,
		   struct resend_backoff *b)
{
	static const char get[] =
		"SELECT count, last_ms, next_ms FROM resend_backoff "
		"WHERE key_id = $1 AND tag = $2";
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	memset(b, 0, sizeof(*b));
	pg_params_init(&p);
	pg_param_int(&p, key_id);
	pg_param_text(&p, tag);
	rc = pg_row(c, get, &p, &res, "read resend backoff");
	if (rc == KV_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	b->count = (int)pg_get_int(res, 0, 0);
	b->last_ms = pg_get_int(res, 0, 1);
	b->next_ms = pg_get_int(res, 0, 2);
	PQclear(res);
	return 0;
}

int pg_backoff_put(struct store_tx *c, int64_t key_id, const char *tag,
		   const struct resend_backoff *b)
{
	static const char put[] =
		"INSERT INTO resend_backoff (key_id, tag, count, last_ms, "
		"next_ms) VALUES ($1, $2, $3, $4, $5) "
		"ON CONFLICT (key_id, tag) DO UPDATE SET "
		"count = excluded.count, last_ms = excluded.last_ms, "
		"next_ms = excluded.next_ms";
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, key_id);
	pg_param_text(&p, tag);
	pg_param_int(&p, b->count);
	pg_param_int(&p, b->last_ms);
	pg_param_int(&p, b->next_ms);
	return pg_run(c, put, &p, "store resend backoff");
}

int pg_backoff_sweep(struct store_tx *c, int64_t before_ms, int64_t now_ms,
		     int64_t *deleted)
{
	static const char sweep[] = "DELETE FROM resend_backoff "
				    "WHERE last_ms < $1 AND next_ms < $2";
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, before_ms);
	pg_param_int(&p, now_ms);
	rc = pg_query(c, sweep, &p, &res, "sweep resend backoffs");
	if (deleted)
		*deleted = pg_changed(res);
	PQclear(res);
	return rc;
}

int pg_cluster_sweep(struct store_tx *c, int64_t before_ms,
		     int64_t stats_before_ms, int64_t *deleted)
{
	static const char buckets[] = "DELETE FROM limits WHERE tat_us < $1";
	static const char stats[] =
		"DELETE FROM prefix_stats WHERE window_ms < $1";
	struct pg_params p;
	PGresult *res = NULL;
	int64_t n = 0;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, before_ms * 1000);
	rc = pg_query(c, buckets, &p, &res, "sweep buckets");
	n += pg_changed(res);
	PQclear(res);
	res = NULL;
	if (rc == 0) {
		pg_params_init(&p);
		pg_param_int(&p, stats_before_ms);
		rc = pg_query(c, stats, &p, &res, "sweep statistics");
		n += pg_changed(res);
		PQclear(res);
	}
	if (deleted)
		*deleted = n;
	return rc;
}

/* ---- wake-ups from other nodes ---- */

/* Silence after which the listener checks that its connection lives. */
#define LISTEN_CHECK_MS 10000
#define LISTEN_BACKOFF_MIN_MS 100
#define LISTEN_BACKOFF_MAX_MS 5000

static struct {
	char *conninfo;
	void (*wake)(void);
	pthread_t thread;
	int running;
	int stop_pipe[2]; /* written once to stop the thread */
} lis = {.stop_pipe = {-1, -1}};

/*
 * Waits up to ms for the connection's socket (fd, -1: none) or the stop
 * pipe.  Returns 1 to stop, 0 when the socket is readable, -1 on timeout.
 */
static int listen_wait(int fd, int ms)
{
	struct pollfd pf[2] = {{lis.stop_pipe[0], POLLIN, 0}, {fd, POLLIN, 0}};
	int n = poll(pf, fd >= 0 ? 2 : 1, ms);

	if (n > 0 && pf[0].revents)
		return 1;
	return n > 0 ? 0 : -1;
}

/* The caches of store_pg_keys.c and store_pg_abuse.c. */
void pg_caches_clear(void)
{
	pg_key_cache_clear();
	pg_block_cache_clear();
}

int pg_cache_changed(struct store_tx *c, int rc)
{
	if (rc == 0)
		rc = pg_run(c, "SELECT pg_notify('" PG_CACHE_CHANNEL "', '')",
			    NULL, "notify cached rows changed");
	pg_caches_clear();
	return rc;
}

/* LISTEN on a new connection; NULL when the server cannot be reached. */
static struct store_tx *listen_connect(void)
{
	char err[300];
	struct store_tx *c = pg_connect(lis.conninfo, err, sizeof(err));

	if (!c) {
		log_warn("jobs.listener_failed", LOG_STR("error", err));
		return NULL;
	}
	if (pg_run(c, "LISTEN kookooverify_jobs", NULL, "listen") != 0 ||
	    pg_run(c, "LISTEN " PG_CACHE_CHANNEL, NULL, "listen") != 0) {
		pg_close(c);
		return NULL;
	}
	return c;
}

/*
 * Reads what arrived on c and calls wake() once if it held notifications.
 * Returns 0, or KV_EDB when the connection is lost.
 */
static int listen_drain(struct store_tx *c)
{
	PGnotify *n;
	int got = 0;

	if (!PQconsumeInput(c->conn))
		return KV_EDB;
	while ((n = PQnotifies(c->conn)) != NULL) {
		if (strcmp(n->relname, PG_CACHE_CHANNEL) == 0)
			pg_caches_clear();
		else
			got = 1;
		PQfreemem(n);
	}
	if (got)
		lis.wake();
	return PQstatus(c->conn) == CONNECTION_OK ? 0 : KV_EDB;
}

/*
 * Serves one connection until it is lost (returns 0) or the listener is
 * stopped (returns 1).  Notifications sent while no connection listened
 * are lost, so each new one starts with a wake-up: the runner then looks
 * at the table once, which finds whatever fell due meanwhile.
 */
static int listen_serve(struct store_tx *c)
{
	/* A cached row may have changed while nobody listened. */
	pg_caches_clear();
	lis.wake();
	for (;;) {
		int w = listen_wait(PQsocket(c->conn), LISTEN_CHECK_MS);

		if (w == 1)
			return 1;
		/* A quiet while: a statement shows whether the peer lives. */
		if (w < 0 && pg_run(c, "SELECT 1", NULL, "listener check"))
			return 0;
		if (listen_drain(c) != 0)
			return 0;
	}
}

static void *listen_main(void *arg)
{
	int backoff = LISTEN_BACKOFF_MIN_MS;

	(void)arg;
	pthread_setname_np(pthread_self(), "kv-listen");
	for (;;) {
		struct store_tx *c = listen_connect();
		int stop;

		if (c) {
			log_info("jobs.listening");
			backoff = LISTEN_BACKOFF_MIN_MS;
			stop = listen_serve(c);
			pg_close(c);
			if (stop)
				break;
			log_warn("jobs.listener_lost");
		}
		/* Jittered, so that nodes do not reconnect in step. */
		if (listen_wait(-1, backoff / 2 + (int)randombytes_uniform(
							  (uint32_t)backoff)) ==
		    1)
			break;
		if (backoff < LISTEN_BACKOFF_MAX_MS)
			backoff *= 2;
	}
	return NULL;
}

int pg_jobs_listen(const char *path, void (*wake)(void))
{
	if (lis.running)
		return KV_EINVAL;
	lis.conninfo = strdup(path);
	if (!lis.conninfo)
		return KV_ENOMEM;
	if (pipe(lis.stop_pipe) != 0) {
		free(lis.conninfo);
		lis.conninfo = NULL;
		return KV_EIO;
	}
	lis.wake = wake;
	if (pthread_create(&lis.thread, NULL, listen_main, NULL) != 0) {
		close(lis.stop_pipe[0]);
		close(lis.stop_pipe[1]);
		lis.stop_pipe[0] = lis.stop_pipe[1] = -1;
		free(lis.conninfo);
		lis.conninfo = NULL;
		return KV_EIO;
	}
	lis.running = 1;
	return 0;
}

void pg_jobs_unlisten(void)
{
	if (!lis.running)
		return;
	if (write(lis.stop_pipe[1], "x", 1) != 1)
		log_warn("jobs.listener_stop_failed");
	pthread_join(lis.thread, NULL);
	close(lis.stop_pipe[0]);
	close(lis.stop_pipe[1]);
	lis.stop_pipe[0] = lis.stop_pipe[1] = -1;
	free(lis.conninfo);
	lis.conninfo = NULL;
	lis.running = 0;
}
