/*
 * Private to the store (db.c and db_pool.c): one connection and its prepared
 * statements, indexed by enum stmt_id.
 */
#ifndef KV_DB_INTERNAL_H
#define KV_DB_INTERNAL_H

#include <sqlite3.h>

enum stmt_id {
	STMT_BEGIN,
	STMT_BEGIN_READ,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_KEY_INSERT,
	STMT_KEY_GET,
	STMT_KEY_REVOKE,
	STMT_KEY_LIST,
	STMT_VF_INSERT,
	STMT_VF_GET_LEGACY,
	STMT_VF_NEXT_ID,
	STMT_VF_LIVE,
	STMT_VF_UPDATE,
	STMT_CHECK_INSERT,
	STMT_CHECK_LIST,
	STMT_EVENT_INSERT,
	STMT_EVENT_LIST,
	STMT_VERIFIED_PUT,
	STMT_VERIFIED_GET,
	STMT_JOB_INSERT,
	STMT_JOBS_CANCEL,
	STMT_JOB_STEP_NOW,
	STMT_JOBS_PENDING,
	STMT_NUMBER_RECENT,
	STMT_BLOCK_GET,
	STMT_BLOCK_PUT,
	STMT_BLOCK_LIFT,
	STMT_BLOCK_LAST,
	STMT_BLOCK_LIST,
	STMT_FRAUD_RECENT,
	STMT_JOB_CLAIM,
	STMT_JOB_LEASE,
	STMT_JOB_DONE,
	STMT_JOB_RETRY,
	STMT_JOB_NEXT_DUE,
	STMT_VF_BY_ID,
	STMT_VF_BY_ID_KEY,
	STMT_CALL_GET,
	STMT_CALL_PUT,
	STMT_FRAUD_INSERT,
	STMT_KEY_VOICE_CONFIRM,
	STMT_ORIGIN_ADD,
	STMT_ORIGIN_OF_KEY,
	STMT_ORIGIN_KNOWN,
	STMT_ORIGIN_LIST,
	STMT_TOKEN_USE,
	STMT_TOKEN_PURGE,
	STMT_TOKEN_USED,
	STMT_KEY_SET_OWNER,
	STMT_KEY_KIND,
	STMT_COUNT
};

struct db_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT_COUNT];
};

/* Opens a connection with the project's pragmas (WAL, foreign keys...). */
int db_open_raw(const char *path, sqlite3 **out, char *err, size_t errlen);

/* Steps a statement that returns no row and resets it; 0 or KV_E*. */
int db_exec_stmt(struct db_conn *c, enum stmt_id id);

#endif
