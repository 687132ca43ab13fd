/*
 * The IVR's URLs, in one place: the routes answer them and the job runner
 * builds the callback URLs it hands KooKoo from them.
 */
#ifndef KV_IVR_H
#define KV_IVR_H

#define IVR_PATH_CALL "/ivr/kookoo"          /* each step of a call */
#define IVR_PATH_STATUS "/ivr/kookoo/status" /* the call ended */
/* A call to a missed-call DID; the secret missed_call_path follows. */
#define IVR_PATH_INBOUND "/ivr/kookoo/inbound/"

#endif
