/*
 * The columns of a verification's row, shared by both store backends
 * (store_sqlite*.c, store_pg*.c): each binds and reads them in this order
 * (vf_bind and vf_from_row in store_sqlite_vf.c, vf_bind in store_pg_vf.c
 * and pg_vf_from_row).
 */
#ifndef KV_STORE_VF_SQL_H
#define KV_STORE_VF_SQL_H

#define VF_COLUMNS                                                             \
	"id, request_id, key_id, number, number_type, brand, sender_id, lg, "  \
	"workflow_id, code_length, test_number, pin_hash, steps, wait1_ms, "   \
	"wait2_ms, wait3_ms, state, attempts, next_step, resends, "            \
	"created_ms, "                                                         \
	"pin_created_ms, pin_expiry_ms, expires_ms, last_resend_ms, "          \
	"finalized_ms, first_event_ms, last_event_ms, pin_box, call_sid, "     \
	"handle_hash, origin_host, app_hash, missed_did, missed_until_ms, "    \
	"client_ref, v2, template_id"

#endif
