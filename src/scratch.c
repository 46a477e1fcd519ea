/* scratch.c - throwaway databases built from the migration files (see
 * scratch.h). */
#include "scratch.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"

md_status md_scratch_files(const md_workspace *ws, const md_plan *plan, const md_file ***files,
			   size_t *n, md_error *err)
{
	const md_file **list;
	size_t i;

	*files = NULL;
	*n = 0;
	list = calloc(ws->nfiles + 1, sizeof(*list));
	if (!list)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	if (!ws->single_folder) {
		for (i = 0; i < ws->nfiles; i++)
			if (ws->files[i].folder == MD_FOLDER_APPLIED)
				list[(*n)++] = &ws->files[i];
	} else if (plan) {
		/* plan items: versioned in version order, then repeatables */
		for (i = 0; i < plan->n; i++) {
			const md_plan_item *it = &plan->items[i];
			if (it->file && it->state == MD_STATE_APPLIED &&
			    it->file->folder != MD_FOLDER_ARCHIVE)
				list[(*n)++] = it->file;
		}
	}
	*files = list;
	return MD_OK;
}

md_status md_scratch_run(md_runner *r, const md_prepared *p, md_error *err)
{
	md_db *db = r->db;
	md_status rc;

	if (p->autocommit)
		return md_run_statements(r, NULL, p, 0, err);
	if ((rc = md_db_exec(db, "BEGIN", err)) != MD_OK)
		return rc;
	rc = md_run_statements(r, NULL, p, 1, err);
	if (rc == MD_OK)
		rc = md_db_commit(db, err);
	if (rc != MD_OK && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
		md_error ignore;
		md_db_exec(db, "ROLLBACK", &ignore);
	}
	return rc;
}

/* "building the scratch database: " before err's message */
static md_status building(md_error *err, md_status rc)
{
	char msg[sizeof(err->msg)];

	if (!err)
		return rc;
	snprintf(msg, sizeof(msg), "%s", err->msg);
	snprintf(err->msg, sizeof(err->msg), "building the scratch database: %.980s", msg);
	return rc;
}

static md_status run_file(md_scratch *s, const md_config *cfg, const char *path, md_error *err)
{
	md_prepared *p = NULL;
	md_status rc;

	if ((rc = md_prepare(&p, path, cfg, s->db->server_version, err)) != MD_OK)
		return building(err, rc);
	rc = md_scratch_run(&s->run, p, err);
	md_prepared_free(p);
	if (rc != MD_OK)
		return building(err, rc);
	s->nbuilt++;
	return MD_OK;
}

/* CREATE DATABASE name from template0 with the target's encoding and
 * locale (and ICU locale, PostgreSQL 15 and later). */
static md_status create_db(md_db *admin, const char *name, md_error *err)
{
	static const char q15[] =
		"SELECT pg_encoding_to_char(encoding), datcollate, datctype, datlocprovider::text,"
		" coalesce(daticulocale, '') FROM pg_database WHERE datname = current_database()";
	static const char q[] =
		"SELECT pg_encoding_to_char(encoding), datcollate, datctype, 'c', ''"
		" FROM pg_database WHERE datname = current_database()";
	PGresult *res = NULL;
	char *enc = NULL, *coll = NULL, *ctype = NULL, *icu = NULL, *sql = NULL;
	md_status rc;
	int n;

	if ((rc = md_db_query(admin, &res, admin->server_version >= 150000 ? q15 : q, 0, NULL,
			      err)) != MD_OK)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return md_error_set(err, MD_ERR_DB, NULL, 0, 0, "cannot read the target database's encoding");
	}
	enc = md_db_literal(admin, PQgetvalue(res, 0, 0));
	coll = md_db_literal(admin, PQgetvalue(res, 0, 1));
	ctype = md_db_literal(admin, PQgetvalue(res, 0, 2));
	icu = md_db_literal(admin, PQgetvalue(res, 0, 4));
	if (!enc || !coll || !ctype || !icu) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	if (!strcmp(PQgetvalue(res, 0, 3), "i"))
		n = asprintf(&sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING %s LC_COLLATE %s "
			     "LC_CTYPE %s LOCALE_PROVIDER icu ICU_LOCALE %s", name, enc, coll, ctype, icu);
	else
		n = asprintf(&sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING %s LC_COLLATE %s "
			     "LC_CTYPE %s", name, enc, coll, ctype);
	if (n < 0) {
		sql = NULL;
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	if ((rc = md_db_exec(admin, sql, err)) != MD_OK) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		snprintf(err->msg, sizeof(err->msg),
			 "cannot create a scratch database on the target's server: %.700s%s", msg,
			 !strcmp(err->sqlstate, "42501")
				 ? " (the role needs CREATEDB; without --scratch the preview runs on the "
				   "target, in a transaction that is rolled back)"
				 : "");
	}
done:
	PQclear(res);
	free(enc);
	free(coll);
	free(ctype);
	free(icu);
	free(sql);
	return rc;
}

md_status md_scratch_create(md_scratch **out, md_db *admin, const md_config *cfg,
			    const md_workspace *ws, const md_file *const *files, size_t n,
			    md_run_cb cb, void *payload, md_error *err)
{
	static unsigned counter;
	md_scratch *s;
	md_status rc;
	size_t i;

	*out = NULL;
	if (PQtransactionStatus(admin->conn) != PQTRANS_IDLE)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
				    "a scratch database cannot be created inside a transaction");
	s = calloc(1, sizeof(*s));
	if (!s)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	s->admin = admin;
	snprintf(s->name, sizeof(s->name), "migdeck_scratch_%ld_%u", (long)getpid(), ++counter);
	if ((rc = create_db(admin, s->name, err)) != MD_OK) {
		free(s);
		return rc;
	}
	if ((rc = md_db_connect_dbname(&s->db, cfg, "scratch", s->name, err)) != MD_OK) {
		building(err, rc);
		goto fail;
	}
	md_runner_init(&s->run, s->db, cfg, ws, cb, payload);
	if (ws->baseline_path && (rc = run_file(s, cfg, ws->baseline_path, err)) != MD_OK)
		goto fail;
	/* the bookkeeping tables, as on the target (after the baseline, which
	 * may hold a history table of the CRM shape to adopt) */
	if ((rc = md_db_lock(s->db, cfg->history_schema, cfg->history_table, 0, err)) != MD_OK ||
	    (rc = md_history_ensure(s->db, cfg, err)) != MD_OK ||
	    (rc = md_db_unlock(s->db, err)) != MD_OK) {
		building(err, rc);
		goto fail;
	}
	for (i = 0; i < n; i++)
		if ((rc = run_file(s, cfg, files[i]->path, err)) != MD_OK)
			goto fail;
	*out = s;
	return MD_OK;
fail:
	md_scratch_drop(s);
	return rc;
}

void md_scratch_drop(md_scratch *s)
{
	md_error ignore;
	char sql[128];

	if (!s)
		return;
	md_db_close(s->db);
	s->db = NULL;
	if (s->admin && s->admin->conn) {
		if (PQtransactionStatus(s->admin->conn) != PQTRANS_IDLE)
			md_db_exec(s->admin, "ROLLBACK", &ignore);
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s%s", s->name,
			 s->admin->server_version >= 130000 ? " WITH (FORCE)" : "");
		md_db_exec(s->admin, sql, &ignore);
	}
	free(s);
}
