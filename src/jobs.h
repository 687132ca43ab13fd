/*
 * The job runner: worker threads that take due delivery jobs from the store
 * (with a lease), run them against KooKoo and record the result, retrying
 * with backoff.  The API only writes job rows; nothing here runs on an HTTP
 * request's path.
 */
#ifndef KV_JOBS_H
#define KV_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * Starts cfg->job_workers workers.  With no kookoo_base_url, delivery is
 * off: nothing starts, jobs stay stored, and a later start runs them.
 * Returns 0 or KV_E* with a message in err.
 */
int jobs_start(const struct config *cfg, char *err, size_t errlen);

/* Stops the workers; a job in flight finishes (its lease covers a crash). */
void jobs_stop(void);

/* A job became due at due_ms: wakes a sleeping worker if it is due now. */
void jobs_notify(int64_t due_ms);

/*
 * Backoff before retry `attempt` (1-based): base * 2^(attempt-1), capped,
 * then scaled by `jitter` in [0.5, 1].  Pure, for tests.
 */
int64_t jobs_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
			double jitter);

/*
 * Calling window: is the UTC time now_s inside [start, end) minutes of local
 * time at utc_offset_min?  If not, *opens_s is when it next opens.  Pure.
 */
int jobs_in_window(int64_t now_s, int start_min, int end_min,
		   int utc_offset_min, int64_t *opens_s);

#endif
