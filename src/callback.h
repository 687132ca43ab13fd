/*
 * Status callbacks, the sending side: the runner (callback.c, threads of its
 * own, never a job worker's or an HTTP thread's), where a callback may go
 * (callback_addr.c: the URL's form, public addresses, one pinned
 * resolution) and its signature (callback_jwt.c).  What is queued, and
 * when, is the service's (verify_callback.h).
 */
#ifndef KV_CALLBACK_H
#define KV_CALLBACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

/*
 * Starts cfg->callback_workers senders.  0, or KV_EIO with a message in
 * err.  callback_stop() lets a send in flight finish (its lease covers a
 * crash).
 */
int callback_start(const struct config *cfg, char *err, size_t errlen);
void callback_stop(void);

/* A callback URL, parsed; addr is set by callback_resolve(). */
struct callback_target {
	char host[256]; /* as in the URL (an IPv6 literal in brackets) */
	int port;
	int https;
	int loopback;  /* the host names the loopback interface */
	char addr[64]; /* the address the send is pinned to */
	int v6;
};

/*
 * Checks a callback URL's form: https://, or http:// to a loopback host
 * (localhost, 127.0.0.0/8, [::1]) for development; no user part.  0, or
 * KV_EINVAL with a sentence in why.
 */
int callback_url_parse(const char *url, struct callback_target *t, char *why,
		       size_t whylen);

/*
 * Resolves t->host once and picks the first address it may go to: a public
 * one, or any with allow_private.  0, KV_ENOTFOUND (it does not resolve:
 * maybe later) or KV_EINVAL (only to addresses it may not go to), with a
 * sentence in why.
 */
int callback_resolve(struct callback_target *t, int allow_private, char *why,
		     size_t whylen);

/*
 * 1 when a callback may go to this address without callback_allow_private:
 * not private, loopback, link-local, multicast, unspecified, documentation
 * or otherwise reserved (IPv4 and IPv6; an IPv4 address mapped or
 * translated into IPv6 is judged as IPv4).  Pure.
 */
int callback_addr_public(const struct sockaddr *sa);

/* SHA-256 of body in lowercase hex (the JWT's payload_hash). */
void callback_payload_hash(const char *body, char out[65]);

/* What a callback's JWT says. */
struct callback_claims {
	int64_t iat; /* seconds */
	const char *jti;
	const char *api_key; /* may be NULL */
	const char *body;    /* hashed into payload_hash */
};

/*
 * The JWT (HS256 under secret, base64url without padding) of a callback,
 * into out.  0, or KV_ERANGE when out is too small.  Pure but for jansson.
 */
int callback_jwt(const struct callback_claims *cl, const char *secret,
		 char *out, size_t outlen);

#endif
