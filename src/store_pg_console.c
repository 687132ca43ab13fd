/*
 * The operator console's reads in the PostgreSQL backend: the funnel, the
 * verifications per minute, the busiest prefixes, the newest
 * verifications and the calls of one (SQL in store_console_sql.h).
 */
#include <string.h>

#include "err.h"
#include "store_console_sql.h"
#include "store_pg.h"

static const char sql_funnel[] = CONSOLE_FUNNEL_SQL("$1");
static const char sql_minutes[] = CONSOLE_MINUTES_SQL("$1");
static const char sql_prefixes[] =
	CONSOLE_PREFIXES_SQL("$1", "$2::integer", "$3");
static const char sql_recent[] = CONSOLE_RECENT_SQL("$1");
static const char sql_calls[] = CONSOLE_CALLS_SQL("$1");

/* Runs `sql` with one number parameter; the caller frees *res. */
static int query_int(struct store_tx *c, const char *sql, int64_t v,
		     PGresult **res, const char *what)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_int(&p, v);
	return pg_query(c, sql, &p, res, what);
}

int pg_console_funnel(struct store_tx *c, int64_t since_ms,
		      struct store_funnel *out)
{
	PGresult *res = NULL;
	int rc = query_int(c, sql_funnel, since_ms, &res, "console funnel");

	memset(out, 0, sizeof(*out));
	if (rc == 0 && PQntuples(res) == 1) {
		out->requested = pg_get_int(res, 0, 0);
		out->sms_sent = pg_get_int(res, 0, 1);
		out->verified_by_sms = pg_get_int(res, 0, 2);
		out->call_placed = pg_get_int(res, 0, 3);
		out->answered = pg_get_int(res, 0, 4);
		out->confirmed_by_key = pg_get_int(res, 0, 5);
		for (int i = 0; i < STORE_TTV_BUCKETS; i++)
			out->ttv[i] = pg_get_int(res, 0, 6 + i);
	}
	PQclear(res);
	return rc;
}

int pg_console_minutes(struct store_tx *c, int64_t since_ms,
		       void (*cb)(int64_t minute_ms, int state, int64_t count,
				  void *arg),
		       void *arg)
{
	PGresult *res = NULL;
	int rc = query_int(c, sql_minutes, since_ms, &res, "console minutes");

	for (int i = 0; rc == 0 && i < PQntuples(res); i++)
		cb(pg_get_int(res, i, 0), (int)pg_get_int(res, i, 1),
		   pg_get_int(res, i, 2), arg);
	PQclear(res);
	return rc;
}

int pg_console_prefixes(struct store_tx *c, int64_t since_ms, int digits,
			int limit,
			void (*cb)(const char *prefix, int64_t requests,
				   int64_t verified, void *arg),
			void *arg)
{
	struct pg_params p;
	PGresult *res = NULL;
	char prefix[16];
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, since_ms);
	pg_param_int(&p, digits);
	pg_param_int(&p, limit);
	rc = pg_query(c, sql_prefixes, &p, &res, "console prefixes");
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		pg_get_text(res, i, 0, prefix, sizeof(prefix));
		cb(prefix, pg_get_int(res, i, 1), pg_get_int(res, i, 2), arg);
	}
	PQclear(res);
	return rc;
}

int pg_console_recent(struct store_tx *c, int limit,
		      void (*cb)(const struct store_recent *r, void *arg),
		      void *arg)
{
	PGresult *res = NULL;
	struct store_recent r;
	int rc = query_int(c, sql_recent, limit, &res, "console recent");

	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		memset(&r, 0, sizeof(r));
		r.id = pg_get_int(res, i, 0);
		pg_get_text(res, i, 1, r.request_id, sizeof(r.request_id));
		pg_get_text(res, i, 2, r.number, sizeof(r.number));
		r.state = (int)pg_get_int(res, i, 3);
		r.workflow_id = (int)pg_get_int(res, i, 4);
		r.created_ms = pg_get_int(res, i, 5);
		r.finalized_ms = pg_get_int(res, i, 6);
		pg_get_text(res, i, 7, r.api_key, sizeof(r.api_key));
		cb(&r, arg);
	}
	PQclear(res);
	return rc;
}

int pg_calls_foreach(struct store_tx *c, int64_t verification_id,
		     void (*cb)(const struct vf_call *cl, int64_t created_ms,
				void *arg),
		     void *arg)
{
	PGresult *res = NULL;
	struct vf_call cl;
	int rc = query_int(c, sql_calls, verification_id, &res, "list calls");

	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		memset(&cl, 0, sizeof(cl));
		pg_get_text(res, i, 0, cl.sid, sizeof(cl.sid));
		cl.verification_id = pg_get_int(res, i, 1);
		cl.step = (int)pg_get_int(res, i, 2);
		cl.repeats = (int)pg_get_int(res, i, 3);
		pg_get_text(res, i, 4, cl.outcome, sizeof(cl.outcome));
		pg_get_text(res, i, 5, cl.status, sizeof(cl.status));
		cl.duration = (int)pg_get_int(res, i, 6);
		cb(&cl, pg_get_int(res, i, 7), arg);
	}
	PQclear(res);
	return rc;
}
