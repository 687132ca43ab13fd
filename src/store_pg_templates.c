/*
 * Verify v2 templates in the PostgreSQL backend: each key's templates and
 * their fragments (store.h), every statement scoped by the key.  The same
 * statements and meaning as the SQLite backend's.
 */
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "store_pg.h"

#define TPL_COLUMNS                                                            \
	"SELECT id, key_id, name, is_default, created_ms, updated_ms FROM "    \
	"templates WHERE key_id = $1"
#define FRAG_COLUMNS                                                           \
	"SELECT id, template_id, key_id, channel, locale, text, "              \
	"dlt_template_id, dlt_entity_id, created_ms, updated_ms FROM "         \
	"template_fragments WHERE key_id = $1 AND template_id = $2"

static const char sql_tpl_insert[] =
	"INSERT INTO templates (id, key_id, name, is_default, created_ms, "
	"updated_ms) VALUES ($1, $2, $3, $4, $5, $6)";
static const char sql_tpl_update[] =
	"UPDATE templates SET name = $3, is_default = $4, updated_ms = $5 "
	"WHERE id = $1 AND key_id = $2";
static const char sql_tpl_undefault[] =
	"UPDATE templates SET is_default = 0 WHERE key_id = $1 AND id <> $2 "
	"AND is_default = 1";
static const char sql_tpl_get[] = TPL_COLUMNS " AND id = $2";
static const char sql_tpl_delete[] =
	"DELETE FROM templates WHERE key_id = $1 AND id = $2";
static const char sql_tpl_list[] = TPL_COLUMNS " ORDER BY created_ms, id";
static const char sql_frag_insert[] =
	"INSERT INTO template_fragments (id, template_id, key_id, channel, "
	"locale, text, dlt_template_id, dlt_entity_id, created_ms, "
	"updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
static const char sql_frag_update[] =
	"UPDATE template_fragments SET text = $4, dlt_template_id = $5, "
	"dlt_entity_id = $6, updated_ms = $7 WHERE id = $1 AND "
	"template_id = $2 AND key_id = $3";
static const char sql_frag_get[] = FRAG_COLUMNS " AND id = $3";
static const char sql_frag_delete[] =
	"DELETE FROM template_fragments WHERE key_id = $1 AND template_id = "
	"$2 AND id = $3";
static const char sql_frag_list[] = FRAG_COLUMNS " ORDER BY created_ms, id";

static void template_from_row(PGresult *res, int row, struct vf_template *t)
{
	memset(t, 0, sizeof(*t));
	pg_get_text(res, row, 0, t->id, sizeof(t->id));
	t->key_id = pg_get_int(res, row, 1);
	pg_get_text(res, row, 2, t->name, sizeof(t->name));
	t->is_default = (int)pg_get_int(res, row, 3);
	t->created_ms = pg_get_int(res, row, 4);
	t->updated_ms = pg_get_int(res, row, 5);
}

static void fragment_from_row(PGresult *res, int row, struct vf_fragment *f)
{
	memset(f, 0, sizeof(*f));
	pg_get_text(res, row, 0, f->id, sizeof(f->id));
	pg_get_text(res, row, 1, f->template_id, sizeof(f->template_id));
	f->key_id = pg_get_int(res, row, 2);
	pg_get_text(res, row, 3, f->channel, sizeof(f->channel));
	pg_get_text(res, row, 4, f->locale, sizeof(f->locale));
	pg_get_text(res, row, 5, f->text, sizeof(f->text));
	pg_get_text(res, row, 6, f->dlt_template_id,
		    sizeof(f->dlt_template_id));
	pg_get_text(res, row, 7, f->dlt_entity_id, sizeof(f->dlt_entity_id));
	f->created_ms = pg_get_int(res, row, 8);
	f->updated_ms = pg_get_int(res, row, 9);
}

int pg_template_put(struct store_tx *c, const struct vf_template *t, int insert)
{
	struct pg_params p;
	int rc;

	pg_params_init(&p);
	pg_param_text(&p, t->id);
	pg_param_int(&p, t->key_id);
	pg_param_text(&p, t->name);
	pg_param_int(&p, t->is_default);
	if (insert)
		pg_param_int(&p, t->created_ms);
	pg_param_int(&p, t->updated_ms);
	rc = pg_run_found(c, insert ? sql_tpl_insert : sql_tpl_update, &p,
			  insert ? "insert template" : "update template");
	if (rc != 0 || !t->is_default)
		return rc;
	pg_params_init(&p);
	pg_param_int(&p, t->key_id);
	pg_param_text(&p, t->id);
	return pg_run(c, sql_tpl_undefault, &p, "clear default template");
}

/* The params of a key's row (and with template_id or id, that row's). */
static void scope(struct pg_params *p, int64_t key_id, const char *a,
		  const char *b)
{
	pg_params_init(p);
	pg_param_int(p, key_id);
	if (a)
		pg_param_text(p, a);
	if (b)
		pg_param_text(p, b);
}

int pg_template_get(struct store_tx *c, int64_t key_id, const char *id,
		    struct vf_template *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	scope(&p, key_id, id, NULL);
	rc = pg_row(c, sql_tpl_get, &p, &res, "get template");
	if (rc == 0)
		template_from_row(res, 0, out);
	PQclear(res);
	return rc;
}

int pg_template_delete(struct store_tx *c, int64_t key_id, const char *id)
{
	struct pg_params p;

	scope(&p, key_id, id, NULL);
	return pg_run_found(c, sql_tpl_delete, &p, "delete template");
}

int pg_templates_foreach(struct store_tx *c, int64_t key_id,
			 int (*cb)(const struct vf_template *t, void *arg),
			 void *arg)
{
	struct pg_params p;
	PGresult *res = NULL;
	struct vf_template t;
	int rc;

	scope(&p, key_id, NULL, NULL);
	rc = pg_query(c, sql_tpl_list, &p, &res, "list templates");
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		template_from_row(res, i, &t);
		if (cb(&t, arg) != 0)
			break;
	}
	PQclear(res);
	return rc;
}

int pg_fragment_put(struct store_tx *c, const struct vf_fragment *f, int insert)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_param_text(&p, f->id);
	pg_param_text(&p, f->template_id);
	pg_param_int(&p, f->key_id);
	if (insert) {
		pg_param_text(&p, f->channel);
		pg_param_text(&p, f->locale);
	}
	pg_param_text(&p, f->text);
	pg_param_text(&p, f->dlt_template_id);
	pg_param_text(&p, f->dlt_entity_id);
	if (insert)
		pg_param_int(&p, f->created_ms);
	pg_param_int(&p, f->updated_ms);
	return pg_run_found(c, insert ? sql_frag_insert : sql_frag_update, &p,
			    insert ? "insert fragment" : "update fragment");
}

int pg_fragment_get(struct store_tx *c, int64_t key_id, const char *template_id,
		    const char *id, struct vf_fragment *out)
{
	struct pg_params p;
	PGresult *res = NULL;
	int rc;

	scope(&p, key_id, template_id, id);
	rc = pg_row(c, sql_frag_get, &p, &res, "get fragment");
	if (rc == 0)
		fragment_from_row(res, 0, out);
	PQclear(res);
	return rc;
}

int pg_fragment_delete(struct store_tx *c, int64_t key_id,
		       const char *template_id, const char *id)
{
	struct pg_params p;

	scope(&p, key_id, template_id, id);
	return pg_run_found(c, sql_frag_delete, &p, "delete fragment");
}

int pg_fragments_foreach(struct store_tx *c, int64_t key_id,
			 const char *template_id,
			 int (*cb)(const struct vf_fragment *f, void *arg),
			 void *arg)
{
	struct pg_params p;
	PGresult *res = NULL;
	struct vf_fragment f;
	int rc;

	scope(&p, key_id, template_id, NULL);
	rc = pg_query(c, sql_frag_list, &p, &res, "list fragments");
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		fragment_from_row(res, i, &f);
		if (cb(&f, arg) != 0)
			break;
	}
	PQclear(res);
	return rc;
}
