/*
 * Verify v2 templates (verify_templates.h): each write checks its rules on
 * the writer's connection, in the transaction that makes it, so two
 * requests of one key cannot both take a name or both be the default.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "model.h"
#include "store.h"
#include "util.h"
#include "verify_templates.h"

/* What a pass over a key's templates learns for a create or an update. */
struct tpl_scan {
	const struct tpl_op *op;
	int count;
	int name_taken; /* by another template than op->t.id */
};

static int tpl_scan_row(const struct vf_template *t, void *arg)
{
	struct tpl_scan *s = arg;

	s->count++;
	if (strcmp(t->name, s->op->t.name) == 0 &&
	    strcmp(t->id, s->op->t.id) != 0)
		s->name_taken = 1;
	return 0;
}

/* Whether a fragment of the channel and locale exists (another than f). */
struct frag_scan {
	const struct vf_fragment *f;
	int count;
	int taken;
};

static int frag_scan_row(const struct vf_fragment *f, void *arg)
{
	struct frag_scan *s = arg;

	s->count++;
	if (s->f && strcmp(f->channel, s->f->channel) == 0 &&
	    strcmp(f->locale, s->f->locale) == 0 &&
	    strcmp(f->id, s->f->id) != 0)
		s->taken = 1;
	return 0;
}

static void new_id(char out[TEMPLATE_ID_LEN + 1])
{
	unsigned char rnd[16];

	randombytes_buf(rnd, sizeof(rnd));
	uuid_v4(rnd, out);
}

static int tpl_create(struct store_tx *c, struct tpl_op *op)
{
	struct tpl_scan s = {.op = op};
	int rc = store_templates_foreach(c, op->key_id, tpl_scan_row, &s);

	if (rc != 0)
		return rc;
	if (s.count >= TEMPLATES_PER_KEY_MAX)
		op->result = TPL_TOO_MANY;
	else if (s.name_taken)
		op->result = TPL_DUP_NAME;
	if (op->result != TPL_OK)
		return 0;
	new_id(op->t.id);
	op->t.key_id = op->key_id;
	/* The key's first template is its default. */
	op->t.is_default = op->t.is_default || s.count == 0;
	op->t.created_ms = op->t.updated_ms = now_ms();
	return store_template_put(c, &op->t, 1);
}

static int tpl_update(struct store_tx *c, struct tpl_op *op)
{
	struct vf_template cur;
	struct tpl_scan s = {.op = op};
	int rc = store_template_get(c, op->key_id, op->t.id, &cur);

	if (rc == KV_ENOTFOUND) {
		op->result = TPL_NOT_FOUND;
		return 0;
	}
	if (rc == 0 && op->set_name)
		rc = store_templates_foreach(c, op->key_id, tpl_scan_row, &s);
	if (rc != 0)
		return rc;
	if (s.name_taken) {
		op->result = TPL_DUP_NAME;
		return 0;
	}
	if (op->set_name)
		memcpy(cur.name, op->t.name, sizeof(cur.name));
	if (op->set_default)
		cur.is_default = op->t.is_default;
	cur.updated_ms = now_ms();
	op->t = cur;
	return store_template_put(c, &op->t, 0);
}

static int tpl_delete(struct store_tx *c, struct tpl_op *op)
{
	struct frag_scan s = {0};
	int rc = store_template_get(c, op->key_id, op->t.id, &op->t);

	if (rc == 0)
		rc = store_fragments_foreach(c, op->key_id, op->t.id,
					     frag_scan_row, &s);
	if (rc == 0 && s.count > 0) {
		op->result = TPL_HAS_FRAGMENTS;
		return 0;
	}
	if (rc == 0)
		rc = store_template_delete(c, op->key_id, op->t.id);
	return rc;
}

static int frag_create(struct store_tx *c, struct tpl_op *op)
{
	struct frag_scan s = {.f = &op->f};
	int rc = store_template_get(c, op->key_id, op->f.template_id, &op->t);

	if (rc == 0)
		rc = store_fragments_foreach(c, op->key_id, op->f.template_id,
					     frag_scan_row, &s);
	if (rc != 0)
		return rc;
	if (s.taken) {
		op->result = TPL_DUP_FRAGMENT;
		return 0;
	}
	new_id(op->f.id);
	op->f.key_id = op->key_id;
	op->f.created_ms = op->f.updated_ms = now_ms();
	return store_fragment_put(c, &op->f, 1);
}

static int frag_update(struct store_tx *c, struct tpl_op *op)
{
	struct vf_fragment cur;
	int rc = store_fragment_get(c, op->key_id, op->f.template_id, op->f.id,
				    &cur);

	if (rc != 0)
		return rc;
	memcpy(cur.text, op->f.text, sizeof(cur.text));
	memcpy(cur.dlt_template_id, op->f.dlt_template_id,
	       sizeof(cur.dlt_template_id));
	memcpy(cur.dlt_entity_id, op->f.dlt_entity_id,
	       sizeof(cur.dlt_entity_id));
	cur.updated_ms = now_ms();
	op->f = cur;
	return store_fragment_put(c, &op->f, 0);
}

static int frag_delete(struct store_tx *c, struct tpl_op *op)
{
	return store_fragment_delete(c, op->key_id, op->f.template_id,
				     op->f.id);
}

int verify_template_run(struct store_tx *c, void *arg)
{
	static int (*const runs[])(struct store_tx * c, struct tpl_op * op) = {
		[TPL_CREATE] = tpl_create,   [TPL_UPDATE] = tpl_update,
		[TPL_DELETE] = tpl_delete,   [FRAG_CREATE] = frag_create,
		[FRAG_UPDATE] = frag_update, [FRAG_DELETE] = frag_delete,
	};
	struct tpl_op *op = arg;
	int rc;

	op->result = TPL_OK;
	rc = runs[op->what](c, op);
	/* Not found writes nothing: the writer lets the batch go on. */
	if (rc == KV_ENOTFOUND)
		op->result = TPL_NOT_FOUND;
	return rc;
}

enum tpl_result verify_template_result(const struct tpl_op *op, int rc)
{
	if (rc == KV_ENOTFOUND)
		return TPL_NOT_FOUND;
	/* Another node's write took the name or channel+locale first. */
	if (rc == KV_EDUP)
		return op->what == TPL_CREATE || op->what == TPL_UPDATE
			       ? TPL_DUP_NAME
			       : TPL_DUP_FRAGMENT;
	return rc == 0 ? op->result : TPL_ERROR;
}

/* ---- reads ---- */

int verify_templates_list(int64_t key_id,
			  int (*cb)(const struct vf_template *t, void *arg),
			  void *arg)
{
	struct store_tx *c = store_reader();

	return c ? store_templates_foreach(c, key_id, cb, arg) : KV_EDB;
}

int verify_template_get(int64_t key_id, const char *id, struct vf_template *out)
{
	struct store_tx *c = store_reader();

	return c ? store_template_get(c, key_id, id, out) : KV_EDB;
}

int verify_fragments_list(int64_t key_id, const char *template_id,
			  int (*cb)(const struct vf_fragment *f, void *arg),
			  void *arg)
{
	struct store_tx *c = store_reader();

	return c ? store_fragments_foreach(c, key_id, template_id, cb, arg)
		 : KV_EDB;
}

int verify_fragment_get(int64_t key_id, const char *template_id, const char *id,
			struct vf_fragment *out)
{
	struct store_tx *c = store_reader();

	return c ? store_fragment_get(c, key_id, template_id, id, out) : KV_EDB;
}

static int default_row(const struct vf_template *t, void *arg)
{
	struct vf_template *out = arg;

	if (!t->is_default)
		return 0;
	*out = *t;
	return 1;
}

/* The fragment of a channel and locale. */
struct frag_find {
	const char *channel, *locale;
	struct vf_fragment *out;
};

static int frag_find_row(const struct vf_fragment *f, void *arg)
{
	struct frag_find *ff = arg;

	if (strcmp(f->channel, ff->channel) != 0 ||
	    strcmp(f->locale, ff->locale) != 0)
		return 0;
	*ff->out = *f;
	return 1;
}

int verify_template_pick(int64_t key_id, const char *template_id,
			 const char *channel, const char *locale,
			 struct vf_template *t, struct vf_fragment *f)
{
	struct frag_find ff = {channel, locale, NULL};
	int rc;

	memset(t, 0, sizeof(*t));
	memset(f, 0, sizeof(*f));
	ff.out = f;
	rc = template_id ? verify_template_get(key_id, template_id, t)
			 : verify_templates_list(key_id, default_row, t);
	if (rc != 0 || !t->id[0])
		return rc;
	return verify_fragments_list(key_id, t->id, frag_find_row, &ff);
}
