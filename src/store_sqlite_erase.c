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

int sqlite_number_erase(struct store_tx *c, const char *number, const char *tag,
			struct store_erase_counts *out)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(erase_steps) / sizeof(erase_steps[0]);
	     i++) {
		int64_t *count =
			(int64_t *)((char *)out + erase_steps[i].field);

		if (sqlite3_prepare_v2(c->db, erase_steps[i].sql, -1, &st,
				       NULL) != SQLITE_OK) {
			rc = sqlite_fail(c, "prepare erase");
			goto out;
		}
		sqlite3_bind_text(st, 1, number, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = sqlite_fail(c, "erase number");
			goto out;
		}
		*count = sqlite3_changes64(c->db);
		sqlite3_finalize(st);
		st = NULL;
	}
	if (sqlite3_prepare_v2(c->db, sql_erase_backoff, -1, &st, NULL) !=
	    SQLITE_OK) {
		rc = sqlite_fail(c, "prepare erase");
		goto out;
	}
	sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = sqlite_fail(c, "erase number");
		goto out;
	}
	out->resend_backoffs = sqlite3_changes64(c->db);
out:
	sqlite3_finalize(st);
	return rc;
}
