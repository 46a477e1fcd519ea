/* scratch.c - throwaway databases built from the migration files (see
 * scratch.h). */
#include "scratch.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "pgcluster.h"

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
static md_status create_db_ex(md_db *admin, md_db *on, const char *name, int c_locale,
			      md_error *err);

static md_status create_db(md_db *admin, const char *name, md_error *err)
{
	return create_db_ex(admin, admin, name, 0, err);
}

/* create_db reading the target's settings through admin and creating the
 * database through on (the local cluster's connection); c_locale: with
 * LC_COLLATE and LC_CTYPE C instead of the target's */
static md_status create_db_ex(md_db *admin, md_db *on, const char *name, int c_locale,
			      md_error *err)
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
	if (c_locale) {
		free(coll);
		free(ctype);
		coll = strdup("'C'");
		ctype = strdup("'C'");
		if (!coll || !ctype) {
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
			goto done;
		}
	}
	if (!strcmp(PQgetvalue(res, 0, 3), "i") && !c_locale)
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
	if (on != admin) {
		if ((rc = md_db_exec(on, sql, err)) != MD_OK) {
			char msg[sizeof(err->msg)];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			snprintf(err->msg, sizeof(err->msg),
				 "cannot create the scratch database in the local cluster: %.700s", msg);
		}
	} else if ((rc = md_db_exec(admin, sql, err)) != MD_OK) {
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

static md_status build(md_scratch *s, const md_config *cfg, const md_workspace *ws,
		       const md_file *const *files, size_t n, md_run_cb cb, void *payload,
		       md_error *err);

static void scratch_name(md_scratch *s)
{
	static unsigned counter;

	snprintf(s->name, sizeof(s->name), "migdeck_scratch_%ld_%u", (long)getpid(), ++counter);
}

md_status md_scratch_create(md_scratch **out, md_db *admin, const md_config *cfg,
			    const md_workspace *ws, const md_file *const *files, size_t n,
			    md_run_cb cb, void *payload, md_error *err)
{
	md_scratch *s;
	md_status rc;

	*out = NULL;
	if (PQtransactionStatus(admin->conn) != PQTRANS_IDLE)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
				    "a scratch database cannot be created inside a transaction");
	s = calloc(1, sizeof(*s));
	if (!s)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	s->admin = admin;
	scratch_name(s);
	if ((rc = create_db(admin, s->name, err)) != MD_OK) {
		free(s);
		return rc;
	}
	if ((rc = md_db_connect_dbname(&s->db, cfg, "scratch", s->name, err)) != MD_OK) {
		building(err, rc);
		goto fail;
	}
	if ((rc = build(s, cfg, ws, files, n, cb, payload, err)) != MD_OK)
		goto fail;
	*out = s;
	return MD_OK;
fail:
	md_scratch_drop(s);
	return rc;
}

/* the baseline, the bookkeeping tables, the files, on s->db */
static md_status build(md_scratch *s, const md_config *cfg, const md_workspace *ws,
		       const md_file *const *files, size_t n, md_run_cb cb, void *payload,
		       md_error *err)
{
	md_status rc;
	size_t i;

	md_runner_init(&s->run, s->db, cfg, ws, cb, payload);
	if (!ws)
		return MD_OK; /* an empty database (migdeck restore fills it) */
	if (ws->baseline_path && (rc = run_file(s, cfg, ws->baseline_path, err)) != MD_OK)
		return rc;
	/* the bookkeeping tables, as on the target (after the baseline, which
	 * may hold a history table of the CRM shape to adopt) */
	if ((rc = md_db_lock(s->db, cfg->history_schema, cfg->history_table, 0, err)) != MD_OK ||
	    (rc = md_history_ensure(s->db, cfg, err)) != MD_OK ||
	    (rc = md_db_unlock(s->db, err)) != MD_OK)
		return building(err, rc);
	for (i = 0; i < n; i++)
		if ((rc = run_file(s, cfg, files[i]->path, err)) != MD_OK)
			return rc;
	return MD_OK;
}

void md_scratch_drop(md_scratch *s)
{
	md_error ignore;
	char sql[128];

	if (!s)
		return;
	md_db_close(s->db);
	s->db = NULL;
	if (s->cluster) {
		struct md_pgcluster *cl = s->cluster;
		free(s);
		md_pgcluster_destroy(cl);
		return;
	}
	if (s->admin && s->admin->conn) {
		if (PQtransactionStatus(s->admin->conn) != PQTRANS_IDLE)
			md_db_exec(s->admin, "ROLLBACK", &ignore);
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s%s", s->name,
			 s->admin->server_version >= 130000 ? " WITH (FORCE)" : "");
		md_db_exec(s->admin, sql, &ignore);
	}
	free(s);
}

/* ---- a local cluster ------------------------------------------------------------------ */

static void say(md_warn_fn progress, void *payload, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(md_warn_fn progress, void *payload, const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	if (!progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	progress(line, payload);
}

static const char *major_name(int major, char *buf, size_t bufsz)
{
	if (major >= 100)
		snprintf(buf, bufsz, "%d.%d", major / 100, major % 100);
	else
		snprintf(buf, bufsz, "%d", major);
	return buf;
}

/* CREATE ROLE ... NOLOGIN for each role of the target the cluster lacks */
static md_status copy_roles(md_db *target, md_db *admin, size_t *made, md_error *err)
{
	static const char q[] = "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1";
	PGresult *have = NULL, *want = NULL;
	char *sql = NULL;
	size_t len = 0, cap = 0;
	md_status rc;
	int i, j;

	*made = 0;
	if ((rc = md_db_query(target, &want, q, 0, NULL, err)) != MD_OK)
		return rc;
	if ((rc = md_db_query(admin, &have, q, 0, NULL, err)) != MD_OK)
		goto done;
	for (i = 0; i < PQntuples(want); i++) {
		const char *name = PQgetvalue(want, i, 0);
		char *id;
		size_t need;
		int found = 0;

		for (j = 0; j < PQntuples(have) && !found; j++)
			found = !strcmp(name, PQgetvalue(have, j, 0));
		if (found)
			continue;
		if (!(id = md_db_ident(admin, name))) {
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
			goto done;
		}
		need = strlen(id) + 32;
		if (len + need > cap) {
			char *more;
			cap = (len + need) * 2;
			if (!(more = realloc(sql, cap))) {
				free(id);
				rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
				goto done;
			}
			sql = more;
		}
		len += (size_t)snprintf(sql + len, cap - len, "CREATE ROLE %s NOLOGIN;", id);
		free(id);
		(*made)++;
	}
	if (sql && (rc = md_db_exec(admin, sql, err)) != MD_OK) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		snprintf(err->msg, sizeof(err->msg),
			 "cannot create the target's roles in the local cluster: %.900s", msg);
	}
done:
	free(sql);
	PQclear(have);
	PQclear(want);
	return rc;
}

/* a warning for each extension of the target the cluster cannot install */
static md_status check_extensions(md_db *target, md_db *scratch, md_warn_fn progress,
				  void *payload, md_error *err)
{
	PGresult *want = NULL, *have = NULL;
	md_status rc;
	int i, j;

	if ((rc = md_db_query(target, &want,
			      "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1",
			      0, NULL, err)) != MD_OK)
		return rc;
	if ((rc = md_db_query(scratch, &have, "SELECT name FROM pg_available_extensions", 0, NULL,
			      err)) != MD_OK) {
		PQclear(want);
		return rc;
	}
	for (i = 0; i < PQntuples(want); i++) {
		const char *name = PQgetvalue(want, i, 0);
		int found = 0;

		for (j = 0; j < PQntuples(have) && !found; j++)
			found = !strcmp(name, PQgetvalue(have, j, 0));
		if (!found)
			say(progress, payload,
			    "warning: the target has the extension %s, which the local server cannot "
			    "install: a file that creates it fails (--scratch=server builds on the "
			    "target's server)", name);
	}
	PQclear(want);
	PQclear(have);
	return MD_OK;
}

md_status md_scratch_create_local(md_scratch **out, md_db *target, const md_config *cfg,
				  const md_workspace *ws, const md_file *const *files, size_t n,
				  md_run_cb cb, void *payload, md_warn_fn progress,
				  void *progress_payload, md_error *err)
{
	md_pgbin bin;
	md_db *admin = NULL;
	md_scratch *s = NULL;
	PGresult *res = NULL;
	char user[128], a[16], b[16];
	int want = md_pg_major(target->server_version);
	size_t roles = 0;
	md_status rc;

	*out = NULL;
	if ((rc = md_pgbin_find(&bin, want, err)) != MD_OK)
		return rc;
	if (bin.major && bin.major != want)
		say(progress, progress_payload,
		    "warning: the target runs PostgreSQL %s, the local server binaries (%s) are %s: "
		    "definitions are deparsed differently between major versions, so the snapshots "
		    "may differ where the schemas do not (--scratch=server builds on the target's "
		    "server)", major_name(want, a, sizeof(a)), bin.dir, major_name(bin.major, b, sizeof(b)));
	if ((rc = md_db_query(target, &res, "SELECT current_user", 0, NULL, err)) != MD_OK)
		return rc;
	snprintf(user, sizeof(user), "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "postgres");
	PQclear(res);
	if (!(s = calloc(1, sizeof(*s))))
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	scratch_name(s);
	if ((rc = md_pgcluster_init(&s->cluster, &bin, user, progress, progress_payload, err)) !=
	    MD_OK) {
		free(s);
		return rc;
	}
	if ((rc = md_pgcluster_start(s->cluster, &admin, err)) != MD_OK ||
	    (rc = copy_roles(target, admin, &roles, err)) != MD_OK)
		goto fail;
	if ((rc = create_db_ex(target, admin, s->name, 0, err)) != MD_OK &&
	    !md_pgcluster_interrupted()) {
		/* the target's locale may not exist on this machine */
		md_error first = *err;
		if ((rc = create_db_ex(target, admin, s->name, 1, err)) != MD_OK)
			goto fail;
		say(progress, progress_payload,
		    "warning: %s; made it with the C locale instead (only the database's default "
		    "collation differs)", first.msg);
	}
	if (rc != MD_OK)
		goto fail;
	md_db_close(admin);
	admin = NULL;
	if ((rc = md_pgcluster_connect(s->cluster, s->name, &s->db, err)) != MD_OK ||
	    (rc = check_extensions(target, s->db, progress, progress_payload, err)) != MD_OK) {
		building(err, rc);
		goto fail;
	}
	if (ws)
		say(progress, progress_payload, "%zu role%s of the target made; applying %zu file%s",
		    roles, roles == 1 ? "" : "s", n + (ws->baseline_path ? 1 : 0),
		    n + (ws->baseline_path ? 1 : 0) == 1 ? "" : "s");
	else
		say(progress, progress_payload, "%zu role%s of the target made", roles,
		    roles == 1 ? "" : "s");
	if ((rc = build(s, cfg, ws, files, n, cb, payload, err)) != MD_OK)
		goto fail;
	*out = s;
	return MD_OK;
fail:
	md_db_close(admin);
	md_scratch_drop(s);
	return rc;
}
