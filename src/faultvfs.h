/*
 * Fault injection for tests (faultvfs.c): SQLite writes, syncs, locks and
 * allocations that fail while a control file says so.  A test hook, off
 * unless the `fault_file` setting names a file.
 */
#ifndef KV_FAULTVFS_H
#define KV_FAULTVFS_H

#include <stddef.h>

/*
 * Installs the hooks, armed by the content of the file at `control_path`
 * (read every FAULTVFS_POLL_MS by a thread of this module):
 *
 *   full    writes fail with SQLITE_FULL (a full disk)
 *   ioerr   writes fail with SQLITE_IOERR_WRITE, syncs with
 *           SQLITE_IOERR_FSYNC
 *   fsync   only syncs fail (SQLITE_IOERR_FSYNC)
 *   busy    write locks stay taken by "another process" (SQLITE_BUSY)
 *   nomem   every allocation SQLite asks for fails (SQLITE_NOMEM)
 *
 * A missing or empty file (or anything else, with a warning) arms nothing.
 * Call before any SQLite function other than sqlite3_config: SQLite only
 * takes an allocator before it initialises.  The thread starts with every
 * signal blocked.  Returns 0, or KV_EINVAL (SQLite already initialised,
 * already installed) or KV_EIO (no thread) with a sentence in err.
 */
int faultvfs_start(const char *control_path, char *err, size_t errlen);

/*
 * Stops the thread and disarms every fault.  The VFS and the allocator stay
 * in place (connections may still use them) and forward everything.
 */
void faultvfs_stop(void);

/* The armed fault's name ("full", ...), or "" when none is. */
const char *faultvfs_armed(void);

#define FAULTVFS_POLL_MS 100

#endif
