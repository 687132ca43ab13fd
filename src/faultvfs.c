/*
 * A test hook, off unless the `fault_file` setting names a control file: a
 * SQLite VFS over the default one whose writes, syncs and write locks fail,
 * and an allocator over SQLite's whose allocations fail, while that file says
 * so.  Unset (production), nothing here is registered and nothing runs.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "err.h"
#include "faultvfs.h"
#include "log.h"

enum fault {
	FAULT_NONE,
	FAULT_FULL,
	FAULT_IOERR,
	FAULT_FSYNC,
	FAULT_BUSY,
	FAULT_NOMEM,
	FAULT_COUNT
};

static const char *const fault_names[FAULT_COUNT] = {
	[FAULT_NONE] = "",       [FAULT_FULL] = "full", [FAULT_IOERR] = "ioerr",
	[FAULT_FSYNC] = "fsync", [FAULT_BUSY] = "busy", [FAULT_NOMEM] = "nomem",
};

/* The fault in force; read on every intercepted call, so lock-free. */
static atomic_int armed;
static atomic_int stopping;

static struct {
	char path[512];
	int installed;
	int running;
	pthread_t thread;
	sqlite3_vfs *real;
	sqlite3_vfs vfs;
	sqlite3_io_methods io[3]; /* one per io_methods version, 1..3 */
	sqlite3_mem_methods mem;  /* SQLite's own allocator */
} fv;

/* ---- the control file ---- */

/* FAULT_* named by the file, FAULT_NONE when absent or empty, -1 unknown. */
static int control_read(char *text, size_t textlen)
{
	int fd = open(fv.path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t start = 0, end;

	text[0] = '\0';
	if (fd < 0)
		return FAULT_NONE;
	n = read(fd, text, textlen - 1);
	close(fd);
	if (n <= 0)
		return FAULT_NONE;
	end = (size_t)n;
	while (start < end && strchr(" \t\r\n", text[start]))
		start++;
	while (end > start && strchr(" \t\r\n", text[end - 1]))
		end--;
	memmove(text, text + start, end - start);
	text[end - start] = '\0';
	for (int i = 0; i < FAULT_COUNT; i++)
		if (strcmp(text, fault_names[i]) == 0)
			return i;
	return -1;
}

/* Reads the file and, when its word changed, arms that fault and says so. */
static void control_poll(int *last)
{
	char text[32];
	int f = control_read(text, sizeof(text));

	if (f == *last)
		return;
	*last = f;
	if (f < 0) {
		log_warn("faultvfs.unknown", LOG_STR("fault", text),
			 LOG_STR("path", fv.path));
		f = FAULT_NONE;
	} else if (f == FAULT_NONE) {
		log_warn("faultvfs.disarmed");
	} else {
		log_warn("faultvfs.armed", LOG_STR("fault", fault_names[f]));
	}
	atomic_store(&armed, f);
}

static void *control_main(void *arg)
{
	int *last = arg;
	struct timespec pause = {0, FAULTVFS_POLL_MS * 1000000L};

	while (!atomic_load(&stopping)) {
		nanosleep(&pause, NULL);
		control_poll(last);
	}
	return NULL;
}

static int fault_is(enum fault f)
{
	return atomic_load_explicit(&armed, memory_order_relaxed) == (int)f;
}

/* ---- files: every method forwards to the real file ---- */

struct fault_file {
	sqlite3_file base;  /* pMethods: one of fv.io */
	sqlite3_file *real; /* right after this struct, szOsFile of fv.real */
};

#define REAL(f) (((struct fault_file *)(void *)(f))->real)

static int file_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int file_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int file_write(sqlite3_file *f, const void *buf, int n,
		      sqlite3_int64 off)
{
	if (fault_is(FAULT_FULL))
		return SQLITE_FULL;
	if (fault_is(FAULT_IOERR))
		return SQLITE_IOERR_WRITE;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int file_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int file_sync(sqlite3_file *f, int flags)
{
	if (fault_is(FAULT_IOERR) || fault_is(FAULT_FSYNC))
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

/*
 * "busy" is another process holding the write lock: a lock above SHARED on
 * the database file (rollback journal) is refused; readers still get theirs.
 */
static int file_lock(sqlite3_file *f, int level)
{
	if (level > SQLITE_LOCK_SHARED && fault_is(FAULT_BUSY))
		return SQLITE_BUSY;
	return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int file_unlock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int file_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int file_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int file_device_characteristics(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int file_shm_map(sqlite3_file *f, int page, int pagesize, int extend,
			void volatile **out)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), page, pagesize, extend, out);
}

/*
 * In WAL mode the write lock is shared-memory lock 0 (WAL_WRITE_LOCK) and
 * the checkpoint lock is 1; "busy" refuses both in exclusive mode, as when
 * another process writes or checkpoints.  Read locks (3 and up) still work.
 */
static int file_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	if ((flags & SQLITE_SHM_LOCK) && (flags & SQLITE_SHM_EXCLUSIVE) &&
	    offset < 2 && fault_is(FAULT_BUSY))
		return SQLITE_BUSY;
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void file_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int file_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

static int file_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, out);
}

static int file_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods io_template = {
	.xClose = file_close,
	.xRead = file_read,
	.xWrite = file_write,
	.xTruncate = file_truncate,
	.xSync = file_sync,
	.xFileSize = file_size,
	.xLock = file_lock,
	.xUnlock = file_unlock,
	.xCheckReservedLock = file_check_reserved,
	.xFileControl = file_control,
	.xSectorSize = file_sector_size,
	.xDeviceCharacteristics = file_device_characteristics,
	.xShmMap = file_shm_map,
	.xShmLock = file_shm_lock,
	.xShmBarrier = file_shm_barrier,
	.xShmUnmap = file_shm_unmap,
	.xFetch = file_fetch,
	.xUnfetch = file_unfetch,
};

/* ---- the VFS: opens wrap the real file, the rest forwards ---- */

static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f,
		    int flags, int *out_flags)
{
	struct fault_file *ff = (struct fault_file *)(void *)f;
	int rc, version;

	ff->real = (sqlite3_file *)(void *)(ff + 1);
	ff->real->pMethods = NULL;
	rc = fv.real->xOpen(fv.real, name, ff->real, flags, out_flags);
	/* SQLite calls xClose exactly when pMethods is set, even on error. */
	if (!ff->real->pMethods) {
		ff->base.pMethods = NULL;
		return rc;
	}
	version = ff->real->pMethods->iVersion;
	if (version < 1)
		version = 1;
	if (version > 3)
		version = 3;
	ff->base.pMethods = &fv.io[version - 1];
	return rc;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return fv.real->xDelete(fv.real, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return fv.real->xAccess(fv.real, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n,
			     char *out)
{
	return fv.real->xFullPathname(fv.real, name, n, out);
}

static void *vfs_dl_open(sqlite3_vfs *vfs, const char *name)
{
	return fv.real->xDlOpen(fv.real, name);
}

static void vfs_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
	fv.real->xDlError(fv.real, n, out);
}

static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return fv.real->xDlSym(fv.real, h, sym);
}

static void vfs_dl_close(sqlite3_vfs *vfs, void *h)
{
	fv.real->xDlClose(fv.real, h);
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return fv.real->xRandomness(fv.real, n, out);
}

static int vfs_sleep(sqlite3_vfs *vfs, int us)
{
	return fv.real->xSleep(fv.real, us);
}

static int vfs_current_time(sqlite3_vfs *vfs, double *out)
{
	return fv.real->xCurrentTime(fv.real, out);
}

static int vfs_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return fv.real->xGetLastError(fv.real, n, out);
}

static int vfs_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return fv.real->xCurrentTimeInt64(fv.real, out);
}

/* ---- the allocator ---- */

static void *mem_malloc(int n)
{
	return fault_is(FAULT_NOMEM) ? NULL : fv.mem.xMalloc(n);
}

static void mem_free(void *p)
{
	fv.mem.xFree(p);
}

static void *mem_realloc(void *p, int n)
{
	/* A failed realloc leaves p as it was, as SQLite expects. */
	return fault_is(FAULT_NOMEM) ? NULL : fv.mem.xRealloc(p, n);
}

static int mem_size(void *p)
{
	return fv.mem.xSize(p);
}

static int mem_roundup(int n)
{
	return fv.mem.xRoundup(n);
}

static int mem_init(void *unused)
{
	return fv.mem.xInit(fv.mem.pAppData);
}

static void mem_shutdown(void *unused)
{
	fv.mem.xShutdown(fv.mem.pAppData);
}

static const sqlite3_mem_methods mem_methods = {
	.xMalloc = mem_malloc,
	.xFree = mem_free,
	.xRealloc = mem_realloc,
	.xSize = mem_size,
	.xRoundup = mem_roundup,
	.xInit = mem_init,
	.xShutdown = mem_shutdown,
};

/* ---- start and stop ---- */

static int vfs_install(char *err, size_t errlen)
{
	fv.real = sqlite3_vfs_find(NULL);
	if (!fv.real) {
		snprintf(err, errlen, "fault_file: SQLite has no default VFS");
		return KV_EINVAL;
	}
	for (int i = 0; i < 3; i++) {
		fv.io[i] = io_template;
		fv.io[i].iVersion = i + 1;
	}
	fv.vfs = (sqlite3_vfs){
		/* Version 2: no system-call overrides (tests of SQLite's own). */
		.iVersion = fv.real->iVersion < 2 ? fv.real->iVersion : 2,
		.szOsFile = (int)sizeof(struct fault_file) + fv.real->szOsFile,
		.mxPathname = fv.real->mxPathname,
		.zName = "kv-fault",
		.xOpen = vfs_open,
		.xDelete = vfs_delete,
		.xAccess = vfs_access,
		.xFullPathname = vfs_full_pathname,
		.xDlOpen = vfs_dl_open,
		.xDlError = vfs_dl_error,
		.xDlSym = vfs_dl_sym,
		.xDlClose = vfs_dl_close,
		.xRandomness = vfs_randomness,
		.xSleep = vfs_sleep,
		.xCurrentTime = vfs_current_time,
		.xGetLastError = vfs_last_error,
		.xCurrentTimeInt64 = vfs_current_time64,
	};
	if (sqlite3_vfs_register(&fv.vfs, 1) != SQLITE_OK) {
		snprintf(err, errlen, "fault_file: cannot register the VFS");
		return KV_EINVAL;
	}
	return 0;
}

int faultvfs_start(const char *control_path, char *err, size_t errlen)
{
	static int last; /* the poller's: the word it read last */
	sigset_t all, old;
	int rc;

	if (fv.installed || strlen(control_path) >= sizeof(fv.path)) {
		snprintf(err, errlen, "fault_file: %s",
			 fv.installed ? "installed twice" : "path too long");
		return KV_EINVAL;
	}
	memcpy(fv.path, control_path, strlen(control_path) + 1);
	/* The allocator first: SQLite refuses one once it has initialised. */
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &fv.mem) != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_MALLOC, &mem_methods) != SQLITE_OK) {
		snprintf(err, errlen,
			 "fault_file: SQLite is already initialised");
		return KV_EINVAL;
	}
	rc = vfs_install(err, errlen);
	if (rc != 0)
		return rc;
	fv.installed = 1;
	last = FAULT_NONE;
	control_poll(&last);
	atomic_store(&stopping, 0);
	/* SIGTERM and SIGINT belong to the main thread's sigwait. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&fv.thread, NULL, control_main, &last);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "fault_file: cannot start its thread");
		return KV_EIO;
	}
	fv.running = 1;
	log_warn("faultvfs.started", LOG_STR("path", fv.path));
	return 0;
}

void faultvfs_stop(void)
{
	if (fv.running) {
		atomic_store(&stopping, 1);
		pthread_join(fv.thread, NULL);
		fv.running = 0;
	}
	atomic_store(&armed, FAULT_NONE);
}

const char *faultvfs_armed(void)
{
	return fault_names[atomic_load(&armed)];
}
