/*
 * Verify v2 templates of each API key (docs/API.md, "Templates"): the
 * service's reads and writes, and their rules: a key's template names are
 * unique, its first template is its default and at most one is, a
 * template's fragments are unique by channel and locale, and a template
 * with fragments cannot be deleted.  What a fragment's text may say (its
 * DLT registration) the dialect checks before it asks for a write.
 */
#ifndef KV_VERIFY_TEMPLATES_H
#define KV_VERIFY_TEMPLATES_H

#include <stdint.h>

#include "model.h"

struct store_tx;

/* How many templates one key may have. */
#define TEMPLATES_PER_KEY_MAX 100

/* What a write did. */
enum tpl_result {
	TPL_OK = 0,
	TPL_NOT_FOUND,     /* no such template (or fragment) of the key */
	TPL_DUP_NAME,      /* the key has a template of that name */
	TPL_DUP_FRAGMENT,  /* the template has a fragment of that channel
			      and locale */
	TPL_HAS_FRAGMENTS, /* a template to delete still has fragments */
	TPL_TOO_MANY,      /* the key has TEMPLATES_PER_KEY_MAX templates */
	TPL_ERROR,         /* the store failed */
};

enum tpl_write {
	TPL_CREATE,
	TPL_UPDATE,
	TPL_DELETE,
	FRAG_CREATE,
	FRAG_UPDATE,
	FRAG_DELETE,
};

/*
 * One write, asked for through the HTTP writer with verify_template_run:
 * the caller fills `what`, key_id and the rows' input (t.name,
 * t.is_default with set_name/set_default for an update, t.id for an
 * update or delete; f's template_id, id, channel, locale, text and DLT
 * ids); the run fills ids and times and leaves the rows as stored.
 */
struct tpl_op {
	enum tpl_write what;
	int64_t key_id;
	int set_name, set_default; /* TPL_UPDATE: which members came */
	struct vf_template t;
	struct vf_fragment f;
	enum tpl_result result;
};

/*
 * The writer's function (arg: a struct tpl_op).  Returns 0 with
 * op->result set (a refusal writes nothing), or a store error (KV_EDUP
 * when another node's write of the same name or channel+locale won).
 */
int verify_template_run(struct store_tx *c, void *arg);

/* The result of a finished write: rc, the run's return, folded in. */
enum tpl_result verify_template_result(const struct tpl_op *op, int rc);

/*
 * Reads on the calling thread's reader.  The lists call cb per row in
 * creation order (non-zero stops them).  Return 0, KV_ENOTFOUND (get), or
 * KV_EDB.
 */
int verify_templates_list(int64_t key_id,
			  int (*cb)(const struct vf_template *t, void *arg),
			  void *arg);
int verify_template_get(int64_t key_id, const char *id,
			struct vf_template *out);
int verify_fragments_list(int64_t key_id, const char *template_id,
			  int (*cb)(const struct vf_fragment *f, void *arg),
			  void *arg);
int verify_fragment_get(int64_t key_id, const char *template_id, const char *id,
			struct vf_fragment *out);

/*
 * A start's template: `template_id` of the key, or with NULL the key's
 * default.  Fills *t (t->id "" when the key has no default) and, when the
 * template has one for `channel` and `locale`, *f (else f->id "").
 * Returns 0, KV_ENOTFOUND (a named template the key does not have) or
 * KV_EDB.
 */
int verify_template_pick(int64_t key_id, const char *template_id,
			 const char *channel, const char *locale,
			 struct vf_template *t, struct vf_fragment *f);

#endif
