/* adopt.c - taking over another tool's history table (see adopt.h).
 *
 * Every value goes to the server as a parameter; the foreign table's name
 * is quoted with md_db_ident.  The foreign table is only read, except by
 * the md_mirror_* functions, which run only with [history] mirror = on. */
#include "adopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flyway.h"
#include "runner.h"
#include "util.h"

/* ---- small helpers ---------------------------------------------------------- */

static md_status nomem(md_error *err)
{
	return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

const char *md_foreign_tool_name(md_foreign_tool t)
{
	switch (t) {
	case MD_FOREIGN_NONE: return "none";
	case MD_FOREIGN_FLYWAY: return "flyway";
	case MD_FOREIGN_GOLANG: return "golang-migrate";
	case MD_FOREIGN_DBMATE: return "dbmate";
	case MD_FOREIGN_NUMBERED: return "numbered files";
	}
	return "?";
}

static md_foreign_tool tool_by_name(const char *s)
{
	md_foreign_tool t;

	for (t = MD_FOREIGN_FLYWAY; t <= MD_FOREIGN_NUMBERED; t++)
		if (s && !strcmp(s, md_foreign_tool_name(t)))
			return t;
	return MD_FOREIGN_NONE;
}

const char *md_adopt_state_name(md_adopt_state s)
{
	switch (s) {
	case MD_ADOPT_APPLIED: return "applied";
	case MD_ADOPT_FAILED: return "failed";
	case MD_ADOPT_UNDONE: return "undone";
	case MD_ADOPT_BASELINE: return "baseline";
	}
	return "?";
}

const char *md_adopt_sum_name(md_adopt_sum s)
{
	switch (s) {
	case MD_SUM_NONE: return "none recorded";
	case MD_SUM_AGREE: return "agrees";
	case MD_SUM_DIFFER: return "differs";
	case MD_SUM_NO_FILE: return "no file";
	}
	return "?";
}

/* "schema"."table", malloc'd. */
static char *qualified(md_db *db, const md_foreign *fr)
{
	char *s = md_db_ident(db, fr->schema), *t = md_db_ident(db, fr->table), *q = NULL;

	if (s && t && asprintf(&q, "%s.%s", s, t) < 0)
		q = NULL;
	free(s);
	free(t);
	return q;
}

/* Run sql (with one %s for the quoted table) with parameters. */
static md_status on_table(md_db *db, const md_foreign *fr, PGresult **out, const char *fmt,
			  int nparams, const char *const *params, md_error *err)
{
	char *q = qualified(db, fr), *sql = NULL;
	PGresult *res = NULL;
	md_status rc;

	if (out)
		*out = NULL;
	if (!q || asprintf(&sql, fmt, q, q, q) < 0) {
		free(q);
		return nomem(err);
	}
	rc = md_db_query(db, &res, sql, nparams, params, err);
	free(sql);
	free(q);
	if (rc == MD_OK && out)
		*out = res;
	else
		PQclear(res);
	return rc;
}

/* ---- finding the table ---------------------------------------------------------- */

static md_status probe(md_db *db, const char *schema, const char *table, md_foreign *out,
		       md_error *err)
{
	static const char sql[] =
		"SELECT count(*),"
		"       count(*) FILTER (WHERE attname = 'installed_rank'),"
		"       count(*) FILTER (WHERE attname = 'dirty'),"
		"       count(*) FILTER (WHERE attname = 'version'),"
		"       count(*) FILTER (WHERE attname = 'applied_at'),"
		"       count(*) FILTER (WHERE attname IN ('description', 'is_active',"
		"                                          'rolled_back_at', 'id'))"
		"  FROM pg_attribute"
		" WHERE attrelid = to_regclass(format('%I.%I', $1::text, $2::text))"
		"   AND attnum > 0 AND NOT attisdropped";
	const char *params[2] = { schema, table };
	PGresult *res;
	md_status rc;
	int ncols, rank, dirty, version, applied_at, crm;

	memset(out, 0, sizeof(*out));
	rc = md_db_query(db, &res, sql, 2, params, err);
	if (rc)
		return rc;
	ncols = atoi(PQgetvalue(res, 0, 0));
	rank = atoi(PQgetvalue(res, 0, 1));
	dirty = atoi(PQgetvalue(res, 0, 2));
	version = atoi(PQgetvalue(res, 0, 3));
	applied_at = atoi(PQgetvalue(res, 0, 4));
	crm = atoi(PQgetvalue(res, 0, 5));
	PQclear(res);
	if (!ncols || !version)
		return MD_OK;
	if (rank)
		out->tool = MD_FOREIGN_FLYWAY;
	else if (dirty)
		out->tool = MD_FOREIGN_GOLANG;
	else if (crm)
		return MD_OK; /* migdeck's own shape (the CRM schema_versions) */
	else
		out->tool = applied_at ? MD_FOREIGN_NUMBERED : MD_FOREIGN_DBMATE;
	snprintf(out->schema, sizeof(out->schema), "%s", schema);
	snprintf(out->table, sizeof(out->table), "%s", table);
	rc = on_table(db, out, &res,
		      "SELECT count(*), coalesce(bool_or(version::text LIKE '%%.sql'), false)"
		      "  FROM %s",
		      0, NULL, err);
	if (rc)
		return rc;
	out->nrows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	out->form_name = !strcmp(PQgetvalue(res, 0, 1), "t");
	PQclear(res);
	return MD_OK;
}

md_status md_foreign_detect(md_db *db, const md_config *cfg, md_foreign *out, md_error *err)
{
	static const char *const names[] = { "flyway_schema_history", "schema_migrations" };
	const char *schema = cfg->foreign_schema ? cfg->foreign_schema : cfg->history_schema;
	size_t i;
	md_status rc;

	memset(out, 0, sizeof(*out));
	if (!schema)
		schema = "public";
	if (cfg->foreign_table) {
		if (!strcmp(schema, cfg->history_schema) && !strcmp(cfg->foreign_table, cfg->history_table))
			return md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0,
					    "[history] foreign_table %s is migdeck's own history table",
					    cfg->foreign_table);
		rc = probe(db, schema, cfg->foreign_table, out, err);
		if (rc == MD_OK && out->tool == MD_FOREIGN_NONE)
			return md_error_set(err, MD_ERR_INVALID, NULL, 0, 0,
					    "[history] foreign_table %s.%s: no such table, or not the "
					    "shape of flyway_schema_history or schema_migrations",
					    schema, cfg->foreign_table);
		return rc;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(schema, cfg->history_schema) && !strcmp(names[i], cfg->history_table))
			continue;
		rc = probe(db, schema, names[i], out, err);
		if (rc || out->tool != MD_FOREIGN_NONE)
			return rc;
	}
	return MD_OK;
}

/* ---- reading it ------------------------------------------------------------------- */

enum { F_RANK, F_VERSION, F_DESC, F_TYPE, F_SCRIPT, F_CHECKSUM, F_BY, F_ON, F_MS, F_SUCCESS };

md_status md_foreign_load(md_db *db, const md_foreign *fr, md_foreign_rows **out, md_error *err)
{
	const char *sql = NULL;
	md_foreign_rows *r;
	PGresult *res;
	md_status rc;
	int i, n;

	*out = NULL;
	switch (fr->tool) {
	case MD_FOREIGN_FLYWAY:
		sql = "SELECT installed_rank, version, description, type, script, checksum,"
		      " installed_by, to_json(installed_on) #>> '{}', execution_time, success"
		      " FROM %s ORDER BY installed_rank";
		break;
	case MD_FOREIGN_GOLANG:
		sql = "SELECT 1, version::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NOT dirty"
		      " FROM %s ORDER BY version";
		break;
	case MD_FOREIGN_DBMATE:
		sql = "SELECT row_number() OVER (ORDER BY version), version::text, NULL, NULL, NULL,"
		      " NULL, NULL, NULL, NULL, true FROM %s ORDER BY version";
		break;
	case MD_FOREIGN_NUMBERED:
		sql = "SELECT row_number() OVER (ORDER BY applied_at NULLS FIRST, version),"
		      " version::text, NULL, NULL, version::text, NULL, NULL,"
		      " to_json(applied_at) #>> '{}', NULL, true"
		      " FROM %s ORDER BY applied_at NULLS FIRST, version";
		break;
	case MD_FOREIGN_NONE:
		return md_error_set(err, MD_ERR_INVALID, NULL, 0, 0, "no foreign history table");
	}
	rc = on_table(db, fr, &res, sql, 0, NULL, err);
	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	n = PQntuples(res);
	if (r && n)
		r->rows = calloc((size_t)n, sizeof(*r->rows));
	if (!r || (n && !r->rows)) {
		free(r);
		PQclear(res);
		return nomem(err);
	}
	for (i = 0; i < n; i++) {
		md_foreign_row *w = &r->rows[i];
#define V(c) (PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c))
		w->rank = strtoll(PQgetvalue(res, i, F_RANK), NULL, 10);
		w->version = V(F_VERSION);
		if (w->version && !*w->version)
			w->version = NULL;
		w->description = V(F_DESC);
		w->type = V(F_TYPE);
		w->script = V(F_SCRIPT);
		w->has_checksum = !PQgetisnull(res, i, F_CHECKSUM);
		w->checksum = (int32_t)strtol(PQgetvalue(res, i, F_CHECKSUM), NULL, 10);
		w->installed_by = V(F_BY);
		w->installed_on = V(F_ON);
		w->execution_ms = strtoll(PQgetvalue(res, i, F_MS), NULL, 10);
		w->success = !strcmp(PQgetvalue(res, i, F_SUCCESS), "t");
#undef V
	}
	r->n = (size_t)n;
	r->res = res;
	*out = r;
	return MD_OK;
}

void md_foreign_rows_free(md_foreign_rows *rows)
{
	if (!rows)
		return;
	PQclear(rows->res);
	free(rows->rows);
	free(rows);
}

md_status md_foreign_fingerprint(md_db *db, const md_foreign *fr, char out[33], md_error *err)
{
	PGresult *res;
	md_status rc;

	out[0] = '\0';
	rc = on_table(db, fr, &res,
		      "SELECT md5(count(*) || ':' || coalesce(string_agg(t::text, E'\\n'"
		      " ORDER BY t::text), '')) FROM %s AS t",
		      0, NULL, err);
	if (rc)
		return rc;
	snprintf(out, 33, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return MD_OK;
}

/* ---- the adoption plan ------------------------------------------------------------- */

void md_adopt_free(md_adopt *a)
{
	if (!a)
		return;
	free(a->items);
	free(a);
}

/* The stem of a script name ("R__views.sql" -> "R__views"). */
static void stem_of(char *out, size_t outsz, const char *script)
{
	size_t n = strlen(script);

	if (n > 4 && !strcmp(script + n - 4, ".sql"))
		n -= 4;
	snprintf(out, outsz, "%.*s", (int)n, script);
}

static md_adopt_item *find_item(md_adopt *a, const char *key)
{
	size_t i;

	for (i = a->n; i-- > 0;)
		if (!strcmp(a->items[i].version, key))
			return &a->items[i];
	return NULL;
}

static md_adopt_item *new_item(md_adopt *a, const char *key)
{
	md_adopt_item *it = &a->items[a->n++];

	memset(it, 0, sizeof(*it));
	snprintf(it->version, sizeof(it->version), "%s", key);
	return it;
}

/* The file a row names: by version (compared as a version: "1.1" finds
 * V1_1__x.sql, "1" finds 000001_x.up.sql), else by file name or stem. */
static const md_file *match(const md_workspace *ws, const char *version, const char *script)
{
	const md_file *f = NULL;

	if (version)
		f = md_workspace_find(ws, version);
	if (!f && script)
		f = md_workspace_find(ws, script);
	return f;
}

/* The key of an item with a file: its version, or its stem (repeatables). */
static void file_key(char *out, size_t outsz, const md_file *f)
{
	snprintf(out, outsz, "%s", f->kind == MD_KIND_REPEATABLE || !f->version.text[0]
					   ? f->stem : f->version.text);
}

static void add_flyway_row(md_adopt *a, const md_workspace *ws, const md_foreign_row *r)
{
	const char *type = r->type ? r->type : "SQL";
	const md_file *f;
	md_adopt_item *it;
	char key[128];

	if (!strcmp(type, "SCHEMA") || (!r->version && !r->script)) {
		a->nignored++;
		return;
	}
	f = match(ws, r->version, r->script);
	if (f)
		file_key(key, sizeof(key), f);
	else if (r->version)
		snprintf(key, sizeof(key), "%s", r->version);
	else
		stem_of(key, sizeof(key), r->script);
	it = find_item(a, key);
	if (!strcmp(type, "DELETE")) {
		/* Flyway 9 marks a version deleted by repair: no longer applied */
		if (it)
			it->row = NULL; /* dropped */
		a->nignored++;
		return;
	}
	if (!strncmp(type, "UNDO", 4)) {
		if (it && it->row && r->success && it->state == MD_ADOPT_APPLIED) {
			it->state = MD_ADOPT_UNDONE;
			it->undo = r;
		} else {
			a->nignored++;
		}
		return;
	}
	if (!it)
		it = new_item(a, key);
	it->file = f;
	it->row = r;
	it->undo = NULL;
	if (!strcmp(type, "BASELINE"))
		it->state = MD_ADOPT_BASELINE;
	else
		it->state = r->success ? MD_ADOPT_APPLIED : MD_ADOPT_FAILED;
}

/* Does own have a row for key (exact text, or an equal version)? */
static int in_own(const md_history *own, const char *key)
{
	md_version v, w;
	int have_v;
	size_t i;

	if (!own)
		return 0;
	have_v = md_version_parse(&v, key, strlen(key)) == 0;
	for (i = 0; i < own->n; i++) {
		const char *ov = own->rows[i].version;

		if (!ov)
			continue;
		if (!strcmp(ov, key))
			return 1;
		if (have_v && md_version_parse(&w, ov, strlen(ov)) == 0 && !md_version_cmp(&v, &w))
			return 1;
	}
	return 0;
}

md_status md_adopt_build(md_adopt **out, const md_foreign *fr, const md_foreign_rows *rows,
			 const md_workspace *ws, const md_history *own, md_error *err)
{
	md_adopt *a;
	unsigned char *covered = NULL;
	size_t i, cap = rows->n + ws->nfiles + 1;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a)
		a->items = calloc(cap, sizeof(*a->items));
	covered = calloc(ws->nfiles + 1, 1);
	if (!a || !a->items || !covered) {
		md_adopt_free(a);
		free(covered);
		return nomem(err);
	}
	a->foreign = *fr;

	if (fr->tool == MD_FOREIGN_FLYWAY) {
		for (i = 0; i < rows->n; i++)
			add_flyway_row(a, ws, &rows->rows[i]);
	} else if (fr->tool == MD_FOREIGN_GOLANG) {
		/* one row: the current version; everything at or below it ran */
		for (i = 0; i < rows->n; i++) {
			const md_foreign_row *r = &rows->rows[i];
			md_version cur;
			size_t k;
			int seen = 0;

			if (!r->version || md_version_parse(&cur, r->version, strlen(r->version))) {
				a->nignored++;
				continue;
			}
			for (k = 0; k < ws->nfiles; k++) {
				const md_file *f = &ws->files[k];
				md_adopt_item *it;
				char key[128];
				int c;

				if (f->kind != MD_KIND_VERSIONED || f->folder == MD_FOLDER_ARCHIVE)
					continue;
				c = md_version_cmp(&f->version, &cur);
				if (c > 0)
					continue;
				file_key(key, sizeof(key), f);
				if (find_item(a, key))
					continue;
				it = new_item(a, key);
				it->file = f;
				if (c == 0) {
					it->row = r;
					it->state = r->success ? MD_ADOPT_APPLIED : MD_ADOPT_FAILED;
					seen = 1;
				} else {
					it->state = MD_ADOPT_APPLIED;
				}
			}
			if (!seen) {
				md_adopt_item *it = new_item(a, r->version);
				it->row = r;
				it->state = r->success ? MD_ADOPT_APPLIED : MD_ADOPT_FAILED;
			}
		}
	} else {
		/* dbmate, numbered: a row per applied version */
		for (i = 0; i < rows->n; i++) {
			const md_foreign_row *r = &rows->rows[i];
			const md_file *f = match(ws, r->version, r->version);
			md_adopt_item *it;
			char key[128];

			if (!r->version) {
				a->nignored++;
				continue;
			}
			if (f)
				file_key(key, sizeof(key), f);
			else
				snprintf(key, sizeof(key), "%s", r->version);
			if (find_item(a, key))
				continue;
			it = new_item(a, key);
			it->file = f;
			it->row = r;
			it->state = MD_ADOPT_APPLIED;
		}
	}

	/* drop what a DELETE row removed, then checksums and counts */
	{
		size_t w = 0;
		for (i = 0; i < a->n; i++) {
			md_adopt_item *it = &a->items[i];
			if (fr->tool == MD_FOREIGN_FLYWAY && !it->row)
				continue;
			a->items[w++] = *it;
		}
		a->n = w;
	}
	for (i = 0; i < a->n; i++) {
		md_adopt_item *it = &a->items[i];

		if (it->file)
			covered[it->file - ws->files] = 1;
		if (!it->file) {
			it->sum = it->row && it->row->has_checksum ? MD_SUM_NO_FILE : MD_SUM_NONE;
			if (it->state != MD_ADOPT_BASELINE)
				a->nmissing++;
		} else if (it->row && it->row->has_checksum &&
			   (it->state == MD_ADOPT_APPLIED || it->state == MD_ADOPT_UNDONE)) {
			char *buf = NULL;
			size_t len = 0;
			md_error ignore;

			if (md_read_file(it->file->path, &buf, &len, &ignore) == MD_OK) {
				it->file_crc = md_flyway_checksum(buf, len);
				it->sum = it->file_crc == it->row->checksum ? MD_SUM_AGREE : MD_SUM_DIFFER;
			} else {
				it->sum = MD_SUM_NO_FILE;
			}
			free(buf);
		} else {
			it->sum = MD_SUM_NONE;
		}
		switch (it->sum) {
		case MD_SUM_AGREE: a->nagree++; break;
		case MD_SUM_DIFFER: a->ndiffer++; break;
		default: if (it->file) a->nnosum++; break;
		}
		switch (it->state) {
		case MD_ADOPT_APPLIED: a->napplied++; break;
		case MD_ADOPT_FAILED: a->nfailed++; break;
		case MD_ADOPT_UNDONE: a->nundone++; break;
		case MD_ADOPT_BASELINE: a->nbaseline++; break;
		}
		it->already = in_own(own, it->version);
		a->nalready += it->already != 0;
	}
	/* versioned files below a baseline count as applied, not pending */
	for (i = 0; i < ws->nfiles; i++) {
		const md_file *f = &ws->files[i];
		size_t k;
		int below = 0;

		if (covered[i] || f->kind != MD_KIND_VERSIONED || f->folder == MD_FOLDER_ARCHIVE)
			continue;
		for (k = 0; k < a->n; k++) {
			md_version bv;
			if (a->items[k].state == MD_ADOPT_BASELINE &&
			    !md_version_parse(&bv, a->items[k].version, strlen(a->items[k].version)) &&
			    md_version_cmp(&f->version, &bv) <= 0)
				below = 1;
		}
		if (!below)
			a->npending++;
	}
	free(covered);
	*out = a;
	return MD_OK;
}

/* ---- recording it ------------------------------------------------------------------- */

/* The adopt/mirror event's detail: JSON the guard reads back on the server. */
static char *summary_json(const md_foreign *fr, const char *fp)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	fprintf(m, "{\"tool\":");
	md_json_str(m, md_foreign_tool_name(fr->tool), strlen(md_foreign_tool_name(fr->tool)));
	fprintf(m, ",\"schema\":");
	md_json_str(m, fr->schema, strlen(fr->schema));
	fprintf(m, ",\"table\":");
	md_json_str(m, fr->table, strlen(fr->table));
	fprintf(m, ",\"fingerprint\":\"%s\",\"form_name\":%d}", fp, fr->form_name);
	if (fclose(m) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* An "adopt" or "mirror" event remembering fr's fingerprint now. */
static md_status remember(md_db *db, const md_config *cfg, const md_foreign *fr,
			  const char *action, md_error *err)
{
	char fp[33], where[300], *json;
	md_event ev;
	md_status rc;

	rc = md_foreign_fingerprint(db, fr, fp, err);
	if (rc)
		return rc;
	json = summary_json(fr, fp);
	if (!json)
		return nomem(err);
	snprintf(where, sizeof(where), "%s.%s", fr->schema, fr->table);
	memset(&ev, 0, sizeof(ev));
	ev.action = action;
	ev.script = where;
	ev.outcome = "ok";
	ev.detail = json;
	rc = md_history_event(db, cfg, &ev, err);
	free(json);
	return rc;
}

static int is_repeatable_item(const md_adopt_item *it)
{
	if (it->file)
		return it->file->kind == MD_KIND_REPEATABLE;
	return it->row && !it->row->version && it->row->script && !strncmp(it->row->script, "R__", 3);
}

md_status md_adopt_record(md_db *db, const md_config *cfg, const md_adopt *a, size_t *recorded,
			  md_error *err)
{
	md_status rc;
	size_t i;

	*recorded = 0;
	rc = md_db_exec(db, "BEGIN", err);
	if (rc)
		return rc;
	for (i = 0; i < a->n && rc == MD_OK; i++) {
		const md_adopt_item *it = &a->items[i];
		md_adopted_record rec;
		md_prepared *p = NULL;
		char sum[16], detail[400];
		md_event ev;

		if (it->already)
			continue;
		memset(&rec, 0, sizeof(rec));
		rec.version = it->version;
		rec.description = it->file ? it->file->description
					   : it->row && it->row->description ? it->row->description : NULL;
		rec.script = it->file ? it->file->name : it->row ? it->row->script : NULL;
		if (it->file && (it->sum == MD_SUM_AGREE || it->sum == MD_SUM_NONE) &&
		    it->state != MD_ADOPT_BASELINE) {
			/* the file is what ran: its blob id, and its text when it prepares */
			rec.checksum = it->file->checksum[0] ? it->file->checksum : NULL;
			if (it->state == MD_ADOPT_APPLIED) {
				md_error ignore;
				if (md_prepare(&p, it->file->path, cfg, db->server_version, &ignore) == MD_OK)
					rec.applied_sql = p->text;
			}
		} else if (it->row && it->row->has_checksum) {
			/* Flyway's own checksum: status shows the file drifted */
			snprintf(sum, sizeof(sum), "%d", (int)it->row->checksum);
			rec.checksum = sum;
		}
		rec.kind = it->state == MD_ADOPT_BASELINE ? "baseline"
			   : is_repeatable_item(it) ? "repeatable" : "versioned";
		rec.applied_by = it->row ? it->row->installed_by : NULL;
		rec.applied_at = it->row ? it->row->installed_on : NULL;
		rec.execution_ms = it->row ? it->row->execution_ms : 0;
		rec.success = it->state != MD_ADOPT_FAILED;
		rec.is_active = it->state != MD_ADOPT_UNDONE;
		if (it->state == MD_ADOPT_UNDONE)
			rec.rolled_back_at = it->undo ? it->undo->installed_on : NULL;
		rc = md_history_record_adopted(db, cfg, &rec, err);
		md_prepared_free(p);
		if (rc)
			break;
		if (it->row && a->foreign.tool == MD_FOREIGN_FLYWAY)
			snprintf(detail, sizeof(detail), "adopted from %s %s.%s (installed_rank %lld, %s)",
				 md_foreign_tool_name(a->foreign.tool), a->foreign.schema,
				 a->foreign.table, it->row->rank, md_adopt_state_name(it->state));
		else
			snprintf(detail, sizeof(detail), "adopted from %s %s.%s (%s)",
				 md_foreign_tool_name(a->foreign.tool), a->foreign.schema,
				 a->foreign.table, md_adopt_state_name(it->state));
		memset(&ev, 0, sizeof(ev));
		ev.action = "adopt";
		ev.version = it->version;
		ev.script = rec.script;
		ev.outcome = "ok";
		ev.detail = detail;
		rc = md_history_event(db, cfg, &ev, err);
		if (rc == MD_OK)
			(*recorded)++;
	}
	if (rc == MD_OK)
		rc = remember(db, cfg, &a->foreign, "adopt", err);
	if (rc == MD_OK)
		rc = md_db_commit(db, err);
	if (rc) {
		md_error ignore;
		if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
			md_db_exec(db, "ROLLBACK", &ignore);
		*recorded = 0;
	}
	return rc;
}

/* ---- after adoption ------------------------------------------------------------------ */

md_status md_adopt_recorded(md_db *db, const md_config *cfg, md_foreign *fr, char fp[33],
			    int *found, md_error *err)
{
	char *history = NULL, *events = NULL, *sql = NULL;
	const char *params[1];
	PGresult *res = NULL;
	md_status rc;

	*found = 0;
	fp[0] = '\0';
	memset(fr, 0, sizeof(*fr));
	rc = md_history_names(db, cfg, &history, &events, err);
	if (rc)
		return rc;
	params[0] = events;
	rc = md_db_query(db, &res, "SELECT to_regclass($1) IS NOT NULL", 1, params, err);
	if (rc || strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		goto out;
	PQclear(res);
	res = NULL;
	if (asprintf(&sql,
		     "SELECT d->>'tool', d->>'schema', d->>'table', d->>'fingerprint',"
		     "       coalesce(d->>'form_name', '0')"
		     "  FROM (SELECT detail::jsonb AS d FROM %s"
		     "         WHERE action IN ('adopt', 'mirror') AND version IS NULL"
		     "           AND detail LIKE '{%%'"
		     "         ORDER BY id DESC LIMIT 1) AS x",
		     events) < 0) {
		sql = NULL;
		rc = nomem(err);
		goto out;
	}
	rc = md_db_query(db, &res, sql, 0, NULL, err);
	if (rc || PQntuples(res) != 1)
		goto out;
	fr->tool = tool_by_name(PQgetvalue(res, 0, 0));
	snprintf(fr->schema, sizeof(fr->schema), "%s", PQgetvalue(res, 0, 1));
	snprintf(fr->table, sizeof(fr->table), "%s", PQgetvalue(res, 0, 2));
	snprintf(fp, 33, "%s", PQgetvalue(res, 0, 3));
	fr->form_name = !strcmp(PQgetvalue(res, 0, 4), "1");
	*found = fr->tool != MD_FOREIGN_NONE;
out:
	PQclear(res);
	free(sql);
	free(history);
	free(events);
	return rc;
}

static md_status table_exists(md_db *db, const md_foreign *fr, int *exists, md_error *err)
{
	const char *params[2] = { fr->schema, fr->table };
	PGresult *res;
	md_status rc;

	rc = md_db_query(db, &res, "SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL",
			 2, params, err);
	if (rc)
		return rc;
	*exists = !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return MD_OK;
}

/* migdeck's history table exists and has a row (errors count as yes: the
 * guard then stays out of the way of the error the command meets next). */
static int own_has_rows(md_db *db, const md_config *cfg)
{
	char *history = NULL, *events = NULL, *sql = NULL;
	const char *params[1];
	PGresult *res = NULL;
	md_error err;
	int yes = 1;

	if (md_history_names(db, cfg, &history, &events, &err) != MD_OK)
		return 1;
	params[0] = history;
	if (md_db_query(db, &res, "SELECT to_regclass($1) IS NOT NULL", 1, params, &err) != MD_OK)
		goto out;
	yes = !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	res = NULL;
	if (!yes || asprintf(&sql, "SELECT EXISTS (SELECT 1 FROM %s)", history) < 0) {
		sql = NULL;
		goto out;
	}
	if (md_db_query(db, &res, sql, 0, NULL, &err) == MD_OK)
		yes = !strcmp(PQgetvalue(res, 0, 0), "t");
out:
	PQclear(res);
	free(sql);
	free(history);
	free(events);
	return yes;
}

md_status md_adopt_guard(md_db *db, const md_config *cfg, const md_history *own,
			 md_foreign *mirror, md_error *err)
{
	md_foreign fr;
	char then[33], now[33];
	int found = 0, exists = 0;
	md_status rc;

	memset(mirror, 0, sizeof(*mirror));
	rc = md_adopt_recorded(db, cfg, &fr, then, &found, err);
	if (rc)
		return rc;
	if (found) {
		rc = table_exists(db, &fr, &exists, err);
		if (rc || !exists)
			return rc; /* the other tool's table is gone: nothing to keep in step */
		rc = md_foreign_fingerprint(db, &fr, now, err);
		if (rc)
			return rc;
		if (strcmp(now, then) != 0) {
			rc = md_error_set(err, MD_ERR_REFUSED, NULL, 0, 0,
					  "%s.%s has changed since migdeck adopted it: %s (or something "
					  "else) wrote to it since; nothing was changed",
					  fr.schema, fr.table, md_foreign_tool_name(fr.tool));
			snprintf(err->hint, sizeof(err->hint),
				 "Run migdeck adopt to take in its new rows, then run this again. "
				 "Stop running %s on this database, or set [history] mirror = on so "
				 "both stay in step.",
				 md_foreign_tool_name(fr.tool));
			return rc;
		}
		if (cfg->history_mirror)
			*mirror = fr;
		return MD_OK;
	}
	if (own ? own->n > 0 : own_has_rows(db, cfg))
		return MD_OK; /* migdeck's history came first: the other table is not ours */
	rc = md_foreign_detect(db, cfg, &fr, err);
	if (rc)
		return rc;
	if (fr.tool != MD_FOREIGN_NONE && fr.nrows > 0) {
		rc = md_error_set(err, MD_ERR_REFUSED, NULL, 0, 0,
				  "%s.%s holds %lld row%s written by %s, which migdeck has not "
				  "adopted; nothing was changed",
				  fr.schema, fr.table, fr.nrows, fr.nrows == 1 ? "" : "s",
				  md_foreign_tool_name(fr.tool));
		snprintf(err->hint, sizeof(err->hint),
			 "Run migdeck adopt to see what it found, then migdeck adopt --yes to "
			 "record it: migdeck never runs again what another tool applied.");
		return rc;
	}
	return MD_OK;
}

/* ---- mirror writes ------------------------------------------------------------------- */

/* The digits of a version ("20241227_120000" -> "20241227120000", "000001" -> "1"
 * for integer columns when strip_zeros). */
static void digits_of(char *out, size_t outsz, const char *text, int strip_zeros)
{
	size_t n = 0;
	const char *p = text;

	if (strip_zeros)
		while (*p == '0' && p[1])
			p++;
	for (; *p && n + 1 < outsz; p++)
		if (*p >= '0' && *p <= '9')
			out[n++] = *p;
	out[n] = '\0';
}

/* The version as the foreign tool writes it for f. */
static void foreign_version(char *out, size_t outsz, const md_foreign *fr, const md_file *f)
{
	size_t i;

	switch (fr->tool) {
	case MD_FOREIGN_FLYWAY:
		/* Flyway prints V1_1 as 1.1 */
		snprintf(out, outsz, "%s", f->version.text);
		for (i = 0; out[i]; i++)
			if (out[i] == '_')
				out[i] = '.';
		break;
	case MD_FOREIGN_GOLANG:
		digits_of(out, outsz, f->version.text, 1);
		break;
	case MD_FOREIGN_DBMATE:
		digits_of(out, outsz, f->version.text, 0);
		break;
	case MD_FOREIGN_NUMBERED:
		snprintf(out, outsz, "%s", fr->form_name ? f->name : f->stem);
		break;
	case MD_FOREIGN_NONE:
		out[0] = '\0';
		break;
	}
}

static md_status lock_table(md_db *db, const md_foreign *fr, md_error *err)
{
	return on_table(db, fr, NULL, "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE", 0, NULL, err);
}

/* golang-migrate's one row: the highest version migdeck's history has
 * applied now, clean; none: no row. */
static md_status golang_set_current(md_db *db, const md_config *cfg, const md_foreign *fr,
				    md_error *err)
{
	char *history = NULL, *events = NULL, *sql = NULL, best[64] = "";
	md_version bv, v;
	PGresult *res = NULL;
	md_status rc;
	int i, have = 0;

	rc = md_history_names(db, cfg, &history, &events, err);
	if (rc)
		return rc;
	if (asprintf(&sql, "SELECT version FROM %s WHERE is_active AND success"
			   " AND coalesce(kind, '') <> 'repeatable'", history) < 0) {
		sql = NULL;
		rc = nomem(err);
		goto out;
	}
	rc = md_db_query(db, &res, sql, 0, NULL, err);
	if (rc)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		const char *t = PQgetvalue(res, i, 0);
		if (md_version_parse(&v, t, strlen(t)))
			continue;
		if (!have || md_version_cmp(&v, &bv) > 0) {
			bv = v;
			have = 1;
		}
	}
	if (have)
		digits_of(best, sizeof(best), bv.text, 1);
	rc = on_table(db, fr, NULL, "DELETE FROM %s", 0, NULL, err);
	if (rc == MD_OK && have) {
		const char *params[1] = { best };
		rc = on_table(db, fr, NULL, "INSERT INTO %s (version, dirty) VALUES ($1::bigint, false)",
			      1, params, err);
	}
out:
	PQclear(res);
	free(sql);
	free(history);
	free(events);
	return rc;
}

md_status md_mirror_apply(md_db *db, const md_config *cfg, const md_foreign *fr,
			  const md_file *f, int32_t crc, long long ms, int success, md_error *err)
{
	char ver[160], sum[16], mss[32];
	md_status rc;

	if (fr->tool == MD_FOREIGN_NONE)
		return MD_OK;
	rc = lock_table(db, fr, err);
	if (rc)
		return rc;
	foreign_version(ver, sizeof(ver), fr, f);
	snprintf(sum, sizeof(sum), "%d", (int)crc);
	snprintf(mss, sizeof(mss), "%lld", ms);
	switch (fr->tool) {
	case MD_FOREIGN_FLYWAY: {
		const char *params[6] = { f->kind == MD_KIND_REPEATABLE ? NULL : ver, f->description,
					  f->name, sum, mss, success ? "true" : "false" };
		rc = on_table(db, fr, NULL,
			      "INSERT INTO %s (installed_rank, version, description, type, script,"
			      " checksum, installed_by, installed_on, execution_time, success)"
			      " SELECT coalesce(max(installed_rank), 0) + 1, $1, $2, 'SQL', $3,"
			      " $4::integer, current_user, now(), $5::integer, $6::boolean FROM %s",
			      6, params, err);
		break;
	}
	case MD_FOREIGN_GOLANG: {
		const char *params[2] = { ver, success ? "false" : "true" };
		rc = on_table(db, fr, NULL, "DELETE FROM %s", 0, NULL, err);
		if (rc == MD_OK)
			rc = on_table(db, fr, NULL,
				      "INSERT INTO %s (version, dirty) VALUES ($1::bigint, $2::boolean)",
				      2, params, err);
		break;
	}
	case MD_FOREIGN_DBMATE: {
		const char *params[1] = { ver };
		if (success)
			rc = on_table(db, fr, NULL,
				      "INSERT INTO %s (version) SELECT $1::text WHERE NOT EXISTS"
				      " (SELECT 1 FROM %s WHERE version::text = $1::text)",
				      1, params, err);
		break;
	}
	case MD_FOREIGN_NUMBERED: {
		const char *params[1] = { ver };
		if (success)
			rc = on_table(db, fr, NULL,
				      "INSERT INTO %s (version, applied_at) SELECT $1::text, now() WHERE"
				      " NOT EXISTS (SELECT 1 FROM %s WHERE version::text = $1::text)",
				      1, params, err);
		break;
	}
	case MD_FOREIGN_NONE:
		break;
	}
	if (rc == MD_OK)
		rc = remember(db, cfg, fr, "mirror", err);
	return rc;
}

md_status md_mirror_rollback(md_db *db, const md_config *cfg, const md_foreign *fr,
			     const md_file *forward, const md_file *undo, int32_t undo_crc,
			     long long ms, md_error *err)
{
	char ver[160], sum[16], mss[32];
	md_status rc;

	if (fr->tool == MD_FOREIGN_NONE)
		return MD_OK;
	rc = lock_table(db, fr, err);
	if (rc)
		return rc;
	foreign_version(ver, sizeof(ver), fr, forward);
	snprintf(sum, sizeof(sum), "%d", (int)undo_crc);
	snprintf(mss, sizeof(mss), "%lld", ms);
	switch (fr->tool) {
	case MD_FOREIGN_FLYWAY: {
		/* as Flyway's undo records it: an UNDO_SQL row for the version */
		const char *params[5] = { ver, forward->description, undo ? undo->name : forward->name,
					  sum, mss };
		rc = on_table(db, fr, NULL,
			      "INSERT INTO %s (installed_rank, version, description, type, script,"
			      " checksum, installed_by, installed_on, execution_time, success)"
			      " SELECT coalesce(max(installed_rank), 0) + 1, $1, $2, 'UNDO_SQL', $3,"
			      " $4::integer, current_user, now(), $5::integer, true FROM %s",
			      5, params, err);
		break;
	}
	case MD_FOREIGN_GOLANG:
		rc = golang_set_current(db, cfg, fr, err);
		break;
	case MD_FOREIGN_DBMATE:
	case MD_FOREIGN_NUMBERED: {
		const char *params[1] = { ver };
		rc = on_table(db, fr, NULL, "DELETE FROM %s WHERE version::text = $1::text", 1, params,
			      err);
		break;
	}
	case MD_FOREIGN_NONE:
		break;
	}
	if (rc == MD_OK)
		rc = remember(db, cfg, fr, "mirror", err);
	return rc;
}

md_status md_mirror_repair(md_db *db, const md_config *cfg, const md_foreign *fr, md_error *err)
{
	md_status rc;

	if (fr->tool != MD_FOREIGN_FLYWAY && fr->tool != MD_FOREIGN_GOLANG)
		return MD_OK;
	rc = lock_table(db, fr, err);
	if (rc)
		return rc;
	if (fr->tool == MD_FOREIGN_FLYWAY)
		rc = on_table(db, fr, NULL, "DELETE FROM %s WHERE NOT success", 0, NULL, err);
	else
		rc = golang_set_current(db, cfg, fr, err);
	if (rc == MD_OK)
		rc = remember(db, cfg, fr, "mirror", err);
	return rc;
}

md_status md_mirror_baseline(md_db *db, const md_config *cfg, const md_foreign *fr,
			     const md_file *const *files, size_t n, const char *version,
			     const char *description, md_error *err)
{
	char ver[160];
	md_status rc;
	size_t i;

	if (fr->tool == MD_FOREIGN_NONE)
		return MD_OK;
	rc = lock_table(db, fr, err);
	if (rc)
		return rc;
	switch (fr->tool) {
	case MD_FOREIGN_FLYWAY: {
		const char *desc = description ? description : "<< Flyway Baseline >>";
		const char *params[3];

		ver[0] = '\0';
		if (version) {
			snprintf(ver, sizeof(ver), "%s", version);
		} else {
			const md_file *best = NULL;
			for (i = 0; i < n; i++)
				if (!best || md_version_cmp(&files[i]->version, &best->version) > 0)
					best = files[i];
			if (best)
				snprintf(ver, sizeof(ver), "%s", best->version.text);
		}
		for (i = 0; ver[i]; i++)
			if (ver[i] == '_')
				ver[i] = '.'; /* Flyway prints V1_1 as 1.1 */
		params[0] = ver;
		params[1] = desc;
		params[2] = desc;
		if (ver[0])
			rc = on_table(db, fr, NULL,
				      "INSERT INTO %s (installed_rank, version, description, type, script,"
				      " checksum, installed_by, installed_on, execution_time, success)"
				      " SELECT coalesce(max(installed_rank), 0) + 1, $1, $2, 'BASELINE', $3,"
				      " NULL, current_user, now(), 0, true FROM %s",
				      3, params, err);
		break;
	}
	case MD_FOREIGN_GOLANG:
		rc = golang_set_current(db, cfg, fr, err);
		break;
	case MD_FOREIGN_DBMATE:
	case MD_FOREIGN_NUMBERED:
		for (i = 0; i < n && rc == MD_OK; i++) {
			const char *params[1] = { ver };
			foreign_version(ver, sizeof(ver), fr, files[i]);
			rc = on_table(db, fr, NULL,
				      fr->tool == MD_FOREIGN_DBMATE
					      ? "INSERT INTO %s (version) SELECT $1::text WHERE NOT EXISTS"
						" (SELECT 1 FROM %s WHERE version::text = $1::text)"
					      : "INSERT INTO %s (version, applied_at) SELECT $1::text, now()"
						" WHERE NOT EXISTS (SELECT 1 FROM %s WHERE version::text ="
						" $1::text)",
				      1, params, err);
		}
		break;
	case MD_FOREIGN_NONE:
		break;
	}
	if (rc == MD_OK)
		rc = remember(db, cfg, fr, "mirror", err);
	return rc;
}

md_status md_mirror_realign(md_db *db, const md_config *cfg, const md_foreign *fr,
			    const md_file *f, int32_t crc, md_error *err)
{
	char ver[160], sum[16];
	const char *params[3];
	md_status rc;

	if (fr->tool != MD_FOREIGN_FLYWAY)
		return MD_OK; /* golang-migrate, dbmate, numbered: no checksum kept */
	rc = lock_table(db, fr, err);
	if (rc)
		return rc;
	foreign_version(ver, sizeof(ver), fr, f);
	snprintf(sum, sizeof(sum), "%d", (int)crc);
	params[0] = f->kind == MD_KIND_REPEATABLE ? NULL : ver;
	params[1] = sum;
	params[2] = f->name;
	rc = on_table(db, fr, NULL,
		      "UPDATE %s SET checksum = $2::integer WHERE installed_rank = (SELECT"
		      " max(installed_rank) FROM %s WHERE success AND type NOT IN ('UNDO_SQL',"
		      " 'BASELINE', 'SCHEMA', 'DELETE') AND CASE WHEN $1::text IS NULL THEN"
		      " version IS NULL AND script = $3 ELSE version = $1 END)",
		      3, params, err);
	if (rc == MD_OK)
		rc = remember(db, cfg, fr, "mirror", err);
	return rc;
}

/* ---- flyway.baselineOnMigrate ------------------------------------------------------- */

md_status md_schemas_have_objects(md_db *db, const md_config *cfg, const char *const *schemas,
				  int *yes, md_error *err)
{
	static const char sql[] =
		"WITH s AS (SELECT oid FROM pg_namespace"
		"            WHERE nspname::text = ANY (string_to_array($1::text, E'\\n'))),"
		" own AS (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
		"          WHERE n.nspname::text = $2::text"
		"            AND c.relname::text IN ($3::text, $3::text || '_events',"
		"                                    $3::text || '_migdeck', $3::text || '_lease')),"
		" mine AS (SELECT oid FROM own UNION"
		"          SELECT d.objid FROM pg_depend d"
		"           WHERE d.classid = 'pg_class'::regclass"
		"             AND d.refclassid = 'pg_class'::regclass"
		"             AND d.refobjid IN (SELECT oid FROM own) UNION"
		"          SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM own))"
		" SELECT EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM s)"
		"                   AND c.oid NOT IN (SELECT oid FROM mine))"
		"     OR EXISTS (SELECT 1 FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM s)"
		"                   AND p.proname <> 'migdeck_self_record')"
		"     OR EXISTS (SELECT 1 FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM s)"
		"                   AND t.typrelid = 0 AND t.typcategory <> 'A')";
	char *list = NULL;
	size_t len = 0, i;
	FILE *m;
	const char *params[3];
	PGresult *res = NULL;
	md_status rc;

	*yes = 0;
	m = open_memstream(&list, &len);
	if (!m)
		return nomem(err);
	for (i = 0; schemas && schemas[i]; i++)
		fprintf(m, "%s%s", i ? "\n" : "", schemas[i]);
	if (fclose(m) != 0) {
		free(list);
		return nomem(err);
	}
	params[0] = list;
	params[1] = cfg->history_schema;
	params[2] = cfg->history_table;
	rc = md_db_query(db, &res, sql, 3, params, err);
	if (rc == MD_OK)
		*yes = !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	free(list);
	return rc;
}

/* ---- Flyway's clean ------------------------------------------------------------------ */

int md_target_is_production(const md_db *db)
{
	const char *env = getenv("MIGDECK_PRODUCTION");
	const char *names[2];
	int i;

	if (env && !strcmp(env, "1"))
		return 1;
	names[0] = db && db->conn ? PQdb(db->conn) : NULL;
	names[1] = db && db->conn ? PQhost(db->conn) : NULL;
	for (i = 0; i < 2; i++)
		if (names[i] && strcasestr(names[i], "prod"))
			return 1;
	return 0;
}

md_status md_clean_schemas(md_db *db, const char *const *schemas, md_error *err)
{
	md_status rc;
	size_t i;

	rc = md_db_exec(db, "BEGIN; SET LOCAL client_min_messages = warning", err);
	for (i = 0; rc == MD_OK && schemas[i]; i++) {
		char *q = md_db_ident(db, schemas[i]), *sql = NULL;

		if (!q || asprintf(&sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", q, q) < 0) {
			sql = NULL;
			rc = nomem(err);
		} else {
			rc = md_db_exec(db, sql, err);
		}
		free(sql);
		free(q);
	}
	if (rc == MD_OK)
		rc = md_db_commit(db, err);
	if (rc != MD_OK && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
		md_error ignore;
		md_db_exec(db, "ROLLBACK", &ignore);
	}
	return rc;
}
