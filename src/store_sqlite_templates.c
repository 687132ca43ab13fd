/*
 * Verify v2 templates in the SQLite backend: each key's templates and
 * their fragments (store.h), every statement scoped by the key.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "store_sqlite.h"

static void template_from_row(sqlite3_stmt *st, struct vf_template *t)
{
	memset(t, 0, sizeof(*t));
	sqlite_get_text(st, 0, t->id, sizeof(t->id));
	t->key_id = sqlite3_column_int64(st, 1);
	sqlite_get_text(st, 2, t->name, sizeof(t->name));
	t->is_default = sqlite3_column_int(st, 3);
	t->created_ms = sqlite3_column_int64(st, 4);
	t->updated_ms = sqlite3_column_int64(st, 5);
}

static void fragment_from_row(sqlite3_stmt *st, struct vf_fragment *f)
{
	memset(f, 0, sizeof(*f));
	sqlite_get_text(st, 0, f->id, sizeof(f->id));
	sqlite_get_text(st, 1, f->template_id, sizeof(f->template_id));
	f->key_id = sqlite3_column_int64(st, 2);
	sqlite_get_text(st, 3, f->channel, sizeof(f->channel));
	sqlite_get_text(st, 4, f->locale, sizeof(f->locale));
	sqlite_get_text(st, 5, f->text, sizeof(f->text));
	sqlite_get_text(st, 6, f->dlt_template_id, sizeof(f->dlt_template_id));
	sqlite_get_text(st, 7, f->dlt_entity_id, sizeof(f->dlt_entity_id));
	f->created_ms = sqlite3_column_int64(st, 8);
	f->updated_ms = sqlite3_column_int64(st, 9);
}

/* 0, or KV_ENOTFOUND when the statement run changed no row. */
static int changed(struct store_tx *c, enum stmt_id id, const char *what)
{
	int rc = sqlite_run(c, id, what);

	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return KV_ENOTFOUND;
	return rc;
}

int sqlite_template_put(struct store_tx *c, const struct vf_template *t,
			int insert)
{
	enum stmt_id id = insert ? STMT_TPL_INSERT : STMT_TPL_UPDATE;
	sqlite3_stmt *st = c->stmt[id];
	int rc;

	sqlite_bind_text(st, 1, t->id);
	sqlite3_bind_int64(st, 2, t->key_id);
	sqlite_bind_text(st, 3, t->name);
	sqlite3_bind_int(st, 4, t->is_default);
	sqlite3_bind_int64(st, 5, t->created_ms);
	sqlite3_bind_int64(st, 6, t->updated_ms);
	rc = changed(c, id, insert ? "insert template" : "update template");
	if (rc != 0 || !t->is_default)
		return rc;
	st = c->stmt[STMT_TPL_UNDEFAULT];
	sqlite3_bind_int64(st, 1, t->key_id);
	sqlite_bind_text(st, 2, t->id);
	return sqlite_run(c, STMT_TPL_UNDEFAULT, "clear default template");
}

int sqlite_template_get(struct store_tx *c, int64_t key_id, const char *id,
			struct vf_template *out)
{
	sqlite3_stmt *st = c->stmt[STMT_TPL_GET];
	int rc;

	sqlite3_bind_int64(st, 1, key_id);
	sqlite_bind_text(st, 2, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		template_from_row(st, out);
	return sqlite_row_done(c, st, rc, "get template");
}

int sqlite_template_delete(struct store_tx *c, int64_t key_id, const char *id)
{
	sqlite3_stmt *st = c->stmt[STMT_TPL_DELETE];

	sqlite3_bind_int64(st, 1, key_id);
	sqlite_bind_text(st, 2, id);
	return changed(c, STMT_TPL_DELETE, "delete template");
}

int sqlite_templates_foreach(struct store_tx *c, int64_t key_id,
			     int (*cb)(const struct vf_template *t, void *arg),
			     void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_TPL_LIST];
	struct vf_template t;
	int rc;

	sqlite3_bind_int64(st, 1, key_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		template_from_row(st, &t);
		if (cb(&t, arg) != 0)
			break;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		       ? 0
		       : sqlite_fail(c, "list templates");
}

int sqlite_fragment_put(struct store_tx *c, const struct vf_fragment *f,
			int insert)
{
	enum stmt_id id = insert ? STMT_FRAG_INSERT : STMT_FRAG_UPDATE;
	sqlite3_stmt *st = c->stmt[id];

	sqlite_bind_text(st, 1, f->id);
	sqlite_bind_text(st, 2, f->template_id);
	sqlite3_bind_int64(st, 3, f->key_id);
	sqlite_bind_text(st, 4, f->channel);
	sqlite_bind_text(st, 5, f->locale);
	sqlite_bind_text(st, 6, f->text);
	sqlite_bind_text(st, 7, f->dlt_template_id);
	sqlite_bind_text(st, 8, f->dlt_entity_id);
	sqlite3_bind_int64(st, 9, f->created_ms);
	sqlite3_bind_int64(st, 10, f->updated_ms);
	return changed(c, id, insert ? "insert fragment" : "update fragment");
}

/* Binds a fragment's scope: key, template, and (id) the fragment. */
static void bind_scope(sqlite3_stmt *st, int64_t key_id,
		       const char *template_id, const char *id)
{
	sqlite3_bind_int64(st, 1, key_id);
	sqlite_bind_text(st, 2, template_id);
	if (id)
		sqlite_bind_text(st, 3, id);
}

int sqlite_fragment_get(struct store_tx *c, int64_t key_id,
			const char *template_id, const char *id,
			struct vf_fragment *out)
{
	sqlite3_stmt *st = c->stmt[STMT_FRAG_GET];
	int rc;

	bind_scope(st, key_id, template_id, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		fragment_from_row(st, out);
	return sqlite_row_done(c, st, rc, "get fragment");
}

int sqlite_fragment_delete(struct store_tx *c, int64_t key_id,
			   const char *template_id, const char *id)
{
	bind_scope(c->stmt[STMT_FRAG_DELETE], key_id, template_id, id);
	return changed(c, STMT_FRAG_DELETE, "delete fragment");
}

int sqlite_fragments_foreach(struct store_tx *c, int64_t key_id,
			     const char *template_id,
			     int (*cb)(const struct vf_fragment *f, void *arg),
			     void *arg)
{
	sqlite3_stmt *st = c->stmt[STMT_FRAG_LIST];
	struct vf_fragment f;
	int rc;

	bind_scope(st, key_id, template_id, NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fragment_from_row(st, &f);
		if (cb(&f, arg) != 0)
			break;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		       ? 0
		       : sqlite_fail(c, "list fragments");
}
