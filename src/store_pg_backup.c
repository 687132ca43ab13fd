/*
 * Backups of the PostgreSQL backend: not done by kookooverify.  The
 * database belongs to a server that the operator already backs up with its
 * own tools (pg_dump, base backups and WAL archiving of a replica), which
 * copy a consistent snapshot while every node keeps writing; the commands
 * say which to run instead.
 */
#include <stdio.h>

#include "store_pg.h"
#include "err.h"

int pg_backup(const char *path, const char *dest, int force,
	      struct store_backup_stats *stats, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "a PostgreSQL store is backed up with PostgreSQL's tools: "
		 "pg_dump --format=custom --file=%s DBNAME (a consistent "
		 "snapshot while the nodes run), or base backups and WAL "
		 "archiving for point-in-time recovery",
		 dest);
	return KV_EINVAL;
}

int pg_restore(const char *path, const char *src, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "a PostgreSQL store is restored with PostgreSQL's tools: "
		 "with every node stopped, pg_restore --clean --if-exists "
		 "--single-transaction --dbname=DBNAME %s, then start the "
		 "nodes (they refuse a schema newer than they know)",
		 src);
	return KV_EINVAL;
}
