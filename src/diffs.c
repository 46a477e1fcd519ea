/* diffs.c - schema, drift and against-scratch diffs (see diffs.h). */
#include "diffs.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "schema.h"
#include "scratch.h"

const char *md_drift_class_name(md_drift_class c)
{
	switch (c) {
	case MD_DRIFT_NONE: return "none";
	case MD_DRIFT_COSMETIC: return "cosmetic";
	case MD_DRIFT_REAL: return "real";
	}
	return "?";
}

static unsigned schema_flags(unsigned flags)
{
	return flags & MD_PREVIEW_BOOKKEEPING ? MD_SCHEMA_BOOKKEEPING : 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* md_history_ensure without its "already exists, skipping" notices */
static md_status ensure_history_quietly(md_db *db, const md_config *cfg, md_error *err)
{
	PGresult *res = NULL;
	const char *params[1];
	char *old = NULL;
	md_status rc;

	if ((rc = md_db_query(db, &res, "SELECT current_setting('client_min_messages'),"
				       " set_config('client_min_messages', 'warning', true)",
			      0, NULL, err)) != MD_OK)
		return rc;
	old = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	if (!old)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	/* a role that may not create them previews all the same */
	if ((rc = md_db_exec(db, "SAVEPOINT migdeck_history", err)) != MD_OK) {
		free(old);
		return rc;
	}
	if (md_history_ensure(db, cfg, err) == MD_OK)
		rc = md_db_exec(db, "RELEASE SAVEPOINT migdeck_history", err);
	else {
		md_error_clear(err);
		rc = md_db_exec(db, "ROLLBACK TO SAVEPOINT migdeck_history", err);
	}
	params[0] = old;
	if (rc == MD_OK)
		rc = md_db_query(db, &res, "SELECT set_config('client_min_messages', $1, true)", 1,
				 params, err);
	PQclear(res);
	free(old);
	return rc;
}

md_status md_preview_schema(md_runner *r, const char *const *paths, size_t n, unsigned flags,
			    md_diff *out, md_error *err)
{
	md_prepared **p = NULL;
	char *before = NULL, *after = NULL, label[600];
	size_t i, blen = 0, alen = 0;
	int any_auto = 0, in_tx = 0;
	md_status rc = MD_OK;

	memset(out, 0, sizeof(*out));
	md_error_clear(err);
	if (!n)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0, "no file to preview");
	if (PQtransactionStatus(r->db->conn) != PQTRANS_IDLE || r->in_tx)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
				    "cannot preview inside a transaction that is already open");
	p = calloc(n, sizeof(*p));
	if (!p)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	/* every file checked before anything runs */
	for (i = 0; i < n; i++) {
		if ((rc = md_prepare(&p[i], paths[i], r->cfg, r->db->server_version, err)) != MD_OK)
			goto done;
		if (p[i]->autocommit) {
			const md_stmt *st = NULL;
			size_t k;
			for (k = 0; k < p[i]->n && !st; k++)
				if (!p[i]->stmts[k].skip)
					st = &p[i]->stmts[k].st;
			if (!(flags & MD_PREVIEW_SCRATCH)) {
				rc = md_error_set(err, MD_ERR_INVALID, p[i]->path, st ? st->line : 0,
						  st ? st->col : 0,
						  "cannot be previewed on the target: its statements cannot "
						  "run inside a transaction, so they could not be rolled "
						  "back; preview it on a scratch database (--scratch)");
				goto done;
			}
			any_auto = 1;
		}
	}
	if (!any_auto) {
		/* one transaction, always rolled back */
		if ((rc = md_runner_begin_all(r, err)) != MD_OK)
			goto done;
		in_tx = 1;
		/* migdeck's history tables, created inside the transaction when
		 * the target has none yet (a script that records itself in them
		 * runs as it would in migrate); the snapshots leave them out */
		if ((rc = ensure_history_quietly(r->db, r->cfg, err)) != MD_OK)
			goto done;
	}
	if ((rc = md_schema_snapshot_text(r->db, r->cfg, schema_flags(flags), &before, &blen, err)) !=
	    MD_OK)
		goto done;
	for (i = 0; i < n; i++) {
		rc = in_tx ? md_run_statements(r, NULL, p[i], 1, err) : md_scratch_run(r, p[i], err);
		if (rc != MD_OK)
			goto done;
	}
	if ((rc = md_schema_snapshot_text(r->db, r->cfg, schema_flags(flags), &after, &alen, err)) !=
	    MD_OK)
		goto done;
	if (n > 1)
		snprintf(label, sizeof(label), "schema after %.500s + %zu more", base_name(paths[0]),
			 n - 1);
	else
		snprintf(label, sizeof(label), "schema after %.500s", base_name(paths[0]));
	rc = md_diff_buffers(out, before, blen, "schema before", after, alen, label, -1, err);
done:
	if (in_tx)
		md_runner_abort_all(r); /* ROLLBACK, whatever happened */
	for (i = 0; i < n; i++)
		md_prepared_free(p[i]);
	free(p);
	free(before);
	free(after);
	return rc;
}

md_status md_preview_against(md_db *target, md_db *scratch, const md_config *cfg, unsigned flags,
			     md_diff *out, md_error *err)
{
	char *files = NULL, *db = NULL;
	size_t flen = 0, dlen = 0;
	md_status rc;

	memset(out, 0, sizeof(*out));
	if ((rc = md_schema_snapshot_text(scratch, cfg, schema_flags(flags), &files, &flen, err)) ==
		    MD_OK &&
	    (rc = md_schema_snapshot_text(target, cfg, schema_flags(flags), &db, &dlen, err)) == MD_OK)
		rc = md_diff_buffers(out, files, flen, "schema built from the files (scratch)", db, dlen,
				     "schema of the database", -1, err);
	free(files);
	free(db);
	return rc;
}

static const char *version_key(const md_file *f)
{
	return f->kind == MD_KIND_REPEATABLE || !f->version.text[0] ? f->stem : f->version.text;
}

md_status md_preview_drift(md_db *db, const md_config *cfg, const md_plan_item *it,
			   md_drift_info *info, md_diff *out, md_error *err)
{
	const md_file *f = it->file;
	md_prepared *p = NULL;
	char *applied = NULL, old_label[1200], new_label[1200];
	const char *now_text;
	md_status rc;

	memset(out, 0, sizeof(*out));
	memset(info, 0, sizeof(*info));
	if (!f)
		return md_error_set(err, MD_ERR_INVALID, NULL, 0, 0,
				    "version %s is applied but no file has it: nothing to compare",
				    it->row && it->row->version ? it->row->version : "?");
	if (it->state != MD_STATE_APPLIED || !it->row)
		return md_error_set(err, MD_ERR_INVALID, md_show_path(f->path), 0, 0,
				    "is %s, not applied: there is no applied text to compare with",
				    md_state_name(it->state));
	snprintf(info->version, sizeof(info->version), "%s", it->row->version ? it->row->version : "");
	snprintf(info->applied_at, sizeof(info->applied_at), "%s",
		 it->row->applied_at ? it->row->applied_at : "");
	snprintf(info->recorded, sizeof(info->recorded), "%s",
		 it->row->checksum ? it->row->checksum : "");
	if ((rc = md_history_applied_sql(db, cfg, version_key(f), &applied, err)) != MD_OK)
		return rc;
	if (!applied)
		return md_error_set(err, MD_ERR_INVALID, md_show_path(f->path), 0, 0,
				    "no text was recorded when version %s was applied (%s): only the "
				    "checksums can tell whether it changed",
				    version_key(f),
				    it->row->kind && !strcmp(it->row->kind, "baseline")
					    ? "it was baselined, not run"
					    : "an older history row");
	if ((rc = md_prepare(&p, f->path, cfg, db->server_version, err)) != MD_OK) {
		/* a file that no longer prepares: its statements changed for real */
		free(applied);
		return rc;
	}
	now_text = p->text;
	snprintf(info->checksum, sizeof(info->checksum), "%s", p->checksum);
	if (!strcmp(applied, now_text))
		info->cls = strcmp(info->recorded, p->checksum) ? MD_DRIFT_COSMETIC : MD_DRIFT_NONE;
	else
		info->cls = md_drift_is_real(applied, strlen(applied), now_text, strlen(now_text))
				    ? MD_DRIFT_REAL
				    : MD_DRIFT_COSMETIC;
	snprintf(old_label, sizeof(old_label), "%s as applied%s%.64s", f->name,
		 info->applied_at[0] ? " " : "", info->applied_at);
	snprintf(new_label, sizeof(new_label), "%s now", md_show_path(f->path));
	/* both texts end in a line break, as files do: no "\ No newline" noise */
	{
		char *a = NULL, *b = NULL;
		if (asprintf(&a, "%s\n", applied) < 0)
			a = NULL;
		if (asprintf(&b, "%s\n", now_text) < 0)
			b = NULL;
		if (!a || !b)
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		else
			rc = md_diff_buffers(out, a, strlen(a), old_label, b, strlen(b), new_label, -1,
					     err);
		free(a);
		free(b);
	}
	md_prepared_free(p);
	free(applied);
	return rc;
}
