/*
 * The SQL of the operator console's reads, shared by both store backends
 * (store_sqlite_console.c, store_pg_console.c): each macro takes the
 * backend's placeholders ("?1" or "$1").  Windows go through the index
 * verifications_created (migration 18); lists are bounded by LIMIT.
 */
#ifndef KV_STORE_CONSOLE_SQL_H
#define KV_STORE_CONSOLE_SQL_H

/* 1 when the verification v has an event matching `cond` (alias e). */
#define CONSOLE_EVENT(cond)                                                       \
	"EXISTS (SELECT 1 FROM events e WHERE e.verification_id = v.id AND " cond \
	")"
#define CONSOLE_SMS_SENT                                                       \
	CONSOLE_EVENT("e.channel = 'sms' AND e.result = 'accepted'")
#define CONSOLE_COUNT(cond)                                                    \
	"coalesce(sum(CASE WHEN " cond " THEN 1 ELSE 0 END), 0)"
/* Verified in (lo, hi] milliseconds after the request. */
#define CONSOLE_TTV(lo, hi)                                                    \
	CONSOLE_COUNT("v.state = 1 AND v.finalized_ms - v.created_ms > " lo    \
		      " AND v.finalized_ms - v.created_ms <= " hi)

/*
 * The funnel: requested, an SMS KooKoo accepted, verified by a code typed
 * after one, a call KooKoo accepted, a call answered (the IVR heard from
 * it), verified by a key pressed in a call; then how long the verified
 * ones took (store.h, STORE_TTV_BUCKETS).
 */
#define CONSOLE_FUNNEL_SQL(since)                                                                                                                                                                                                                                                                                                                                                                              \
	"SELECT count(*), " CONSOLE_COUNT(CONSOLE_SMS_SENT) ", " CONSOLE_COUNT(                                                                                                                                                                                                                                                                                                                                \
		"v.state = 1 AND " CONSOLE_SMS_SENT                                                                                                                                                                                                                                                                                                                                                            \
		" AND EXISTS (SELECT 1 FROM checks k WHERE "                                                                                                                                                                                                                                                                                                                                                   \
		"k.verification_id = v.id AND k.valid = 1)") ", " CONSOLE_COUNT(CONSOLE_EVENT("e.channel = 'tts' AND e.result = "                                                                                                                                                                                                                                                                              \
											      "'accepted'")) ", " CONSOLE_COUNT(CONSOLE_EVENT("e.channel = 'ivr'")) ", " CONSOLE_COUNT("v.state = 1 AND EXISTS (SELECT 1 FROM calls l WHERE "                                                                                                                                                                  \
																						       "l.verification_id = v.id AND l.outcome = 'confirmed')") ", " CONSOLE_TTV("-1",                                                                                                                                         \
																																 "10000") ", " CONSOLE_TTV("10000",                                                                                                            \
																																			   "30000") ", " CONSOLE_TTV("30000",                                                                                  \
																																						     "60000") ", " CONSOLE_TTV("60000",                                                        \
																																									       "120000") ", " CONSOLE_TTV("120000",                            \
																																													  "300000") ", " CONSOLE_TTV("300000", \
																																																     "9223372036854775807") " FROM verifications v WHERE v.created_ms >= " since

/* Verifications per minute they started in and state they are in. */
#define CONSOLE_MINUTES_SQL(since)                                             \
	"SELECT v.created_ms / 60000 * 60000, v.state, count(*) FROM "         \
	"verifications v WHERE v.created_ms >= " since " GROUP BY 1, 2 "       \
	"ORDER BY 1, 2"

/* Requests and successes by the first `digits` digits, busiest first. */
#define CONSOLE_PREFIXES_SQL(since, digits, limit)                                  \
	"SELECT substr(v.number, 1, " digits "), count(*), " CONSOLE_COUNT(         \
		"v.state = 1") " FROM verifications v WHERE v.created_ms >= " since \
			       " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT " limit

/* The newest verifications of every key, with the key's public id. */
#define CONSOLE_RECENT_SQL(limit)                                              \
	"SELECT v.id, v.request_id, v.number, v.state, v.workflow_id, "        \
	"v.created_ms, v.finalized_ms, coalesce(k.api_key, '') FROM "          \
	"verifications v LEFT JOIN api_keys k ON k.id = v.key_id ORDER BY "    \
	"v.id DESC LIMIT " limit

/* The calls of one verification (index calls_verification). */
#define CONSOLE_CALLS_SQL(id)                                                  \
	"SELECT sid, verification_id, step, repeats, outcome, status, "        \
	"duration, created_ms FROM calls WHERE verification_id = " id          \
	" ORDER BY created_ms, sid"

#endif
