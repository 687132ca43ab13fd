/*
 * Erasure of one person's records (store_number_erase): every row that
 * names the number or belongs to one of its verifications, children before
 * parents so the foreign keys hold at every statement.  An admin command
 * runs it rarely, so its statements are prepared per call rather than kept
 * on every connection.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "store_sqlite.h"
#include "util.h"

/*
 * The deletions, in order, and where each count goes.  The rows of a
 * verification go first (they reference it), then the verifications, then
 * the rows that name the number without a verification of its own key.
 */
static const struct {
	const char *sql;
	size_t field;
} erase_steps[] = {
	{"DELETE FROM checks WHERE verification_id IN "
	 "(SELECT id FROM verifications WHERE number = ?1)",
	 offsetof(struct store_erase_counts, checks)},
	{"DELETE FROM events WHERE verification_id IN "
	 "(SELECT id FROM verifications WHERE number = ?1)",
	 offsetof(struct store_erase_counts, events)},
	{"DELETE FROM calls WHERE verification_id IN "
	 "(SELECT id FROM verifications WHERE number = ?1)",
	 offsetof(struct store_erase_counts, calls)},
	{"DELETE FROM jobs WHERE verification_id IN "
	 "(SELECT id FROM verifications WHERE number = ?1)",
	 offsetof(struct store_erase_counts, jobs)},
	{"DELETE FROM callbacks WHERE verification_id IN "
	 "(SELECT id FROM verifications WHERE number = ?1)",
	 offsetof(struct store_erase_counts, callbacks)},
	{"DELETE FROM fraud_reports WHERE number = ?1 OR verification_id IN "
	 "(SELECT id FROM verifications WHERE number = ?1)",
	 offsetof(struct store_erase_counts, fraud_reports)},
	{"DELETE FROM verifications WHERE number = ?1",
	 offsetof(struct store_erase_counts, verifications)},
	{"DELETE FROM verified_numbers WHERE number = ?1",
	 offsetof(struct store_erase_counts, verified_numbers)},
};

/* Its resend backoff, named by the number's tag under every key. */
static const char sql_erase_backoff[] =
	"DELETE FROM resend_backoff WHERE tag = ?1";

/* Runs one deletion with `value` as ?1; *count: the rows it deleted. */
static int erase_run(struct store_tx *c, const char *sql, const char *value,
		     int64_t *count)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return sqlite_fail(c, "prepare erase");
	sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		*count = sqlite3_changes64(c->db);
	else
		rc = sqlite_fail(c, "erase number");
	sqlite3_finalize(st);
	return rc;
}

int sqlite_number_erase(struct store_tx *c, const char *number, const char *tag,
			struct store_erase_counts *out)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; rc == 0 && i < ARRAY_LEN(erase_steps); i++)
		rc = erase_run(c, erase_steps[i].sql, number,
			       (int64_t *)((char *)out + erase_steps[i].field));
	if (rc == 0)
		rc = erase_run(c, sql_erase_backoff, tag,
			       &out->resend_backoffs);
	return rc;
}
