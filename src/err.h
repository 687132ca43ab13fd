/*
 * Project-wide error codes.  Every int-returning function returns 0 on success
 * or one of these negative values; they become HTTP or dialect status codes in
 * one place (the dialect tables), never in the function that detects them.
 */
#ifndef KV_ERR_H
#define KV_ERR_H

enum kv_err {
	KV_OK = 0,
	KV_ENOMEM = -1,    /* allocation failed */
	KV_EINVAL = -2,    /* caller passed a malformed value */
	KV_ERANGE = -3,    /* value outside its allowed bounds */
	KV_ENOTFOUND = -4, /* no such row / key / verification */
	KV_EDB = -5,       /* the store failed (I/O, full, corrupt) */
	KV_EBUSY = -6,     /* the store stayed locked past its timeout */
	KV_ETOOBIG = -7,   /* input larger than its cap */
	KV_EDUP = -8,      /* duplicated parameter or unique violation */
	KV_EIO = -9,       /* system call or network failure */
	KV_ECONFIG = -10,  /* invalid configuration */
	KV_EAUTH = -11,    /* bad credentials */
	KV_EPERM = -12,    /* valid credentials, not allowed here */
};

/* Short English text for an error code, for logs ("out of memory"). */
const char *kv_strerror(int err);

#endif
