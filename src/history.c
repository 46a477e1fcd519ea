/* history.c - the history table, its event table and the bookkeeping schema
 * that creates them (see history.h).
 *
 * Names: the history table is [history] schema.table (default
 * public.schema_versions); beside it live <table>_events (one row per
 * apply, rollback, baseline, repair and failure) and <table>_migdeck (which
 * of the embedded bookkeeping files ran).  A table name too long for the
 * suffix is shortened (at a character boundary) to fit PostgreSQL's 63
 * bytes.
 *
 * Every value goes to the server as a parameter; identifiers are quoted
 * with md_db_ident. */
#include "history.h"

#include "util.h"

#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "script.h"

#define NAME_MAX_BYTES 63

/* ---- names ------------------------------------------------------------------- */

typedef struct hnames {
	char events_raw[NAME_MAX_BYTES + 1], record_raw[NAME_MAX_BYTES + 1];
	const char *schema_raw, *table_raw;
	char *schema_q, *table_q, *events_q, *record_q; /* quoted identifiers */
	char *schema_lit, *table_lit;                   /* raw names as literals */
	char *history, *events, *record;                /* schema.table, quoted */
} hnames;

static void suffixed(char *out, const char *base, const char *suffix)
{
	size_t n = strlen(base), s = strlen(suffix);

	if (n + s > NAME_MAX_BYTES) {
		n = NAME_MAX_BYTES - s;
		while (n > 0 && ((unsigned char)base[n] & 0xc0) == 0x80)
			n--; /* do not cut a UTF-8 character */
	}
	memcpy(out, base, n);
	memcpy(out + n, suffix, s + 1);
}

static char *qualify(const char *schema_q, const char *table_q)
{
	size_t len = strlen(schema_q) + strlen(table_q) + 2;
	char *s = malloc(len);

	if (s)
		snprintf(s, len, "%s.%s", schema_q, table_q);
	return s;
}

static char *literal(md_db *db, const char *s)
{
	char *q = PQescapeLiteral(db->conn, s, strlen(s)), *copy;

	if (!q)
		return NULL;
	copy = strdup(q);
	PQfreemem(q);
	return copy;
}

static void names_free(hnames *nm)
{
	free(nm->schema_q);
	free(nm->table_q);
	free(nm->events_q);
	free(nm->record_q);
	free(nm->schema_lit);
	free(nm->table_lit);
	free(nm->history);
	free(nm->events);
	free(nm->record);
	memset(nm, 0, sizeof(*nm));
}

static md_status names_init(hnames *nm, md_db *db, const md_config *cfg, int literals,
			    md_error *err)
{
	memset(nm, 0, sizeof(*nm));
	nm->schema_raw = cfg && cfg->history_schema ? cfg->history_schema : "public";
	nm->table_raw = cfg && cfg->history_table ? cfg->history_table : "schema_versions";
	suffixed(nm->events_raw, nm->table_raw, "_events");
	suffixed(nm->record_raw, nm->table_raw, "_migdeck");
	nm->schema_q = md_db_ident(db, nm->schema_raw);
	nm->table_q = md_db_ident(db, nm->table_raw);
	nm->events_q = md_db_ident(db, nm->events_raw);
	nm->record_q = md_db_ident(db, nm->record_raw);
	if (!nm->schema_q || !nm->table_q || !nm->events_q || !nm->record_q)
		goto fail;
	nm->history = qualify(nm->schema_q, nm->table_q);
	nm->events = qualify(nm->schema_q, nm->events_q);
	nm->record = qualify(nm->schema_q, nm->record_q);
	if (!nm->history || !nm->events || !nm->record)
		goto fail;
	if (literals) {
		nm->schema_lit = literal(db, nm->schema_raw);
		nm->table_lit = literal(db, nm->table_raw);
		if (!nm->schema_lit || !nm->table_lit)
			goto fail;
	}
	return MD_OK;
fail:
	names_free(nm);
	return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0,
			    "cannot quote the history table name %s.%s (out of memory or bad "
			    "encoding)",
			    cfg && cfg->history_schema ? cfg->history_schema : "public",
			    cfg && cfg->history_table ? cfg->history_table : "schema_versions");
}

/* printf into a malloc'd string; NULL when out of memory. */
static char *sqlf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sqlf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static md_status nomem(md_error *err)
{
	return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

/* Run sql (built by sqlf, freed here) with parameters; *out as md_db_query
 * (NULL: the result is cleared). */
static md_status run(md_db *db, PGresult **out, char *sql, int nparams, const char *const *params,
		     md_error *err)
{
	PGresult *res = NULL;
	md_status rc;

	if (out)
		*out = NULL;
	if (!sql)
		return nomem(err);
	rc = md_db_query(db, &res, sql, nparams, params, err);
	free(sql);
	if (rc == MD_OK && out)
		*out = res;
	else
		PQclear(res);
	return rc;
}

/* ---- who and where ------------------------------------------------------------- */

static void client_host_lookup(char *out, size_t outsz)
{
	if (gethostname(out, outsz) != 0 || !out[0])
		snprintf(out, outsz, "?");
	out[outsz - 1] = '\0';
}

/* Who and where do not change while the process runs: look them up once
 * (pthread_once: the fleet's workers record from several threads). */
static char cached_user[256], cached_host[256];
static pthread_once_t who_once = PTHREAD_ONCE_INIT;

static void who_lookup(void)
{
	md_os_user(cached_user, sizeof(cached_user));
	client_host_lookup(cached_host, sizeof(cached_host));
}

static void os_user(char *out, size_t outsz)
{
	pthread_once(&who_once, who_lookup);
	snprintf(out, outsz, "%s", cached_user);
}

static void client_host(char *out, size_t outsz)
{
	pthread_once(&who_once, who_lookup);
	snprintf(out, outsz, "%s", cached_host);
}

/* ---- the bookkeeping schema ------------------------------------------------------ */

static const char *lookup(const char *name, void *payload)
{
	const hnames *nm = payload;

	if (strcmp(name, "md_schema") == 0)
		return nm->schema_q;
	if (strcmp(name, "md_table") == 0)
		return nm->table_q;
	if (strcmp(name, "md_table_events") == 0)
		return nm->events_q;
	if (strcmp(name, "md_table_migdeck") == 0)
		return nm->record_q;
	if (strcmp(name, "md_schema_literal") == 0)
		return nm->schema_lit;
	if (strcmp(name, "md_table_literal") == 0)
		return nm->table_lit;
	return NULL;
}

/* Mark in done[] the embedded files the record table lists. */
static md_status ran_already(md_db *db, const hnames *nm, char *done, md_error *err)
{
	const char *params[2] = { nm->schema_raw, nm->record_raw };
	PGresult *res;
	md_status rc;
	int i;
	size_t k;

	rc = md_db_query(db, &res, "SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL",
			 2, params, err);
	if (rc)
		return rc;
	i = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!i)
		return MD_OK;
	rc = run(db, &res, sqlf("SELECT name FROM %s", nm->record), 0, NULL, err);
	if (rc)
		return rc;
	for (i = 0; i < PQntuples(res); i++)
		for (k = 0; k < md_embedded_count; k++)
			if (strcmp(PQgetvalue(res, i, 0), md_embedded_migrations[k].name) == 0)
				done[k] = 1;
	PQclear(res);
	return MD_OK;
}

/* Run one embedded file, statement by statement. */
static md_status run_embedded(md_db *db, hnames *nm, const md_embedded *m, md_error *err)
{
	char file[256];
	md_script s;
	md_stmt st;
	md_sql sql;
	int more;
	md_status rc;

	snprintf(file, sizeof(file), "migdeck:%s", m->name);
	md_script_init(&s, m->sql, m->len, file);
	while ((more = md_script_next(&s, &st, err)) == 1) {
		if (st.flags & MD_STMT_EMPTY)
			continue;
		if (st.flags & (MD_STMT_META | MD_STMT_COPY_DATA))
			return md_error_set(err, MD_ERR_UNSUPPORTED, file, st.line, st.col,
					    "a bookkeeping file cannot use psql meta-commands or COPY");
		rc = md_sql_render(&sql, &s, &st, lookup, nm, err);
		if (rc)
			return rc;
		rc = md_db_exec(db, sql.text, err);
		md_sql_free(&sql);
		if (rc) {
			if (err) {
				snprintf(err->file, sizeof(err->file), "%s", file);
				err->line = st.line;
				err->col = st.col;
			}
			return rc;
		}
	}
	return more < 0 ? (md_status)more : MD_OK;
}

/* The history table must not be another tool's: Flyway's
 * (installed_rank), golang-migrate's (dirty) or a bare schema_migrations
 * (version [, applied_at] and nothing of the CRM shape).  001_history.sql
 * would add columns to it; such a table is adopted by `migdeck adopt`
 * instead, and left as it is. */
static md_status refuse_foreign_shape(md_db *db, const hnames *nm, md_error *err)
{
	static const char sql[] =
		"SELECT count(*) FILTER (WHERE attname = 'installed_rank'),"
		"       count(*) FILTER (WHERE attname = 'dirty'),"
		"       count(*) FILTER (WHERE attname IN ('description', 'is_active', 'id',"
		"                                          'rolled_back_at')),"
		"       count(*)"
		"  FROM pg_attribute"
		" WHERE attrelid = to_regclass(format('%I.%I', $1::text, $2::text))"
		"   AND attnum > 0 AND NOT attisdropped";
	const char *params[2] = { nm->schema_raw, nm->table_raw };
	const char *tool = NULL;
	PGresult *res;
	md_status rc;

	rc = md_db_query(db, &res, sql, 2, params, err);
	if (rc)
		return rc;
	if (strcmp(PQgetvalue(res, 0, 3), "0") != 0) {
		if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
			tool = "Flyway's flyway_schema_history";
		else if (strcmp(PQgetvalue(res, 0, 1), "0") != 0)
			tool = "golang-migrate's schema_migrations";
		else if (strcmp(PQgetvalue(res, 0, 2), "0") == 0)
			tool = "a schema_migrations table (dbmate or numbered files)";
	}
	PQclear(res);
	if (!tool)
		return MD_OK;
	rc = md_error_set(err, MD_ERR_REFUSED, NULL, 0, 0,
			  "[history] table %s is %s: migdeck keeps its own history table and "
			  "never changes another tool's",
			  nm->history, tool);
	if (err)
		snprintf(err->hint, sizeof(err->hint),
			 "Leave [history] table at its default (schema_versions) and run "
			 "migdeck adopt, which reads %s.%s without touching it.",
			 nm->schema_raw, nm->table_raw);
	return rc;
}

md_status md_history_ensure(md_db *db, const md_config *cfg, md_error *err)
{
	hnames nm;
	char *done = NULL;
	int own = 0;
	size_t i, todo = 0;
	md_status rc;

	rc = names_init(&nm, db, cfg, 1, err);
	if (rc)
		return rc;
	done = calloc(md_embedded_count + 1, 1);
	if (!done) {
		rc = nomem(err);
		goto out;
	}
	if (md_db_in_failed_tx(db)) {
		rc = md_error_set(err, MD_ERR_DB, NULL, 0, 0,
				  "cannot prepare the history table inside a failed transaction");
		goto out;
	}
	rc = ran_already(db, &nm, done, err);
	if (rc)
		goto out;
	for (i = 0; i < md_embedded_count; i++)
		todo += !done[i];
	if (!todo)
		goto out;
	if (!done[0] && (rc = refuse_foreign_shape(db, &nm, err)) != MD_OK)
		goto out;
	/* one transaction (the caller's, when one is open) */
	own = PQtransactionStatus(db->conn) == PQTRANS_IDLE;
	if (own) {
		/* quiet the "already exists, skipping" notices of IF NOT EXISTS */
		rc = md_db_exec(db, "BEGIN; SET LOCAL client_min_messages = warning", err);
		if (rc) {
			own = 0;
			goto out;
		}
	}
	for (i = 0; i < md_embedded_count; i++) {
		const char *params[1] = { md_embedded_migrations[i].name };

		if (done[i])
			continue;
		rc = run_embedded(db, &nm, &md_embedded_migrations[i], err);
		if (rc)
			goto out;
		rc = run(db, NULL, sqlf("INSERT INTO %s (name) VALUES ($1)", nm.record), 1, params,
			 err);
		if (rc)
			goto out;
	}
	if (own) {
		own = 0;
		rc = md_db_exec(db, "COMMIT", err);
	}
out:
	if (own) {
		md_error ignore;

		(void)md_db_exec(db, "ROLLBACK", &ignore);
	}
	free(done);
	names_free(&nm);
	return rc;
}

/* ---- reading ------------------------------------------------------------------- */

/* The columns read, in the order of the select list. */
enum {
	C_ID, C_VERSION, C_DESCRIPTION, C_SCRIPT, C_CHECKSUM, C_KIND, C_IS_ACTIVE, C_SUCCESS,
	C_APPLIED_AT, C_ROLLED_BACK_AT, C_APPLIED_BY, C_OS_USER, C_CLIENT_HOST, C_GIT_COMMIT,
	C_EXECUTION_MS, NCOLS
};

static const char *const col_names[NCOLS] = {
	"id", "version", "description", "script", "checksum", "kind", "is_active", "success",
	"applied_at", "rolled_back_at", "applied_by", "os_user", "client_host", "git_commit",
	"execution_ms"
};

static const char columns_array[] =
	"{id,version,description,script,checksum,kind,is_active,success,applied_at,"
	"rolled_back_at,applied_by,os_user,client_host,git_commit,execution_ms}";

static int is_time_col(int c)
{
	return c == C_APPLIED_AT || c == C_ROLLED_BACK_AT;
}

static int text_false(const char *v)
{
	return strcmp(v, "f") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
	       strcmp(v, "n") == 0 || strcmp(v, "no") == 0 || strcmp(v, "off") == 0;
}

/* A value of the result, or NULL for SQL NULL: rows point into the result,
 * which the history keeps (no copy per value). */
static char *value_at(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

void md_history_free(md_history *h)
{
	if (!h)
		return;
	PQclear(h->res);
	free(h->rows);
	free(h);
}

/* Which of col_names the table has: has[] filled; *exists = 0 when there
 * is no such table. */
static md_status probe_columns(md_db *db, const hnames *nm, int *exists, int has[NCOLS],
			       md_error *err)
{
	static const char sql[] =
		"SELECT w.i, EXISTS (SELECT 1 FROM pg_attribute a"
		"                     WHERE a.attrelid = r.oid AND a.attname = w.n"
		"                       AND a.attnum > 0 AND NOT a.attisdropped)"
		" FROM (SELECT to_regclass(format('%I.%I', $1::text, $2::text)) AS oid) AS r,"
		"      unnest($3::text[]) WITH ORDINALITY AS w(n, i)"
		" WHERE r.oid IS NOT NULL";
	const char *params[3] = { nm->schema_raw, nm->table_raw, columns_array };
	PGresult *res;
	md_status rc;
	int i;

	memset(has, 0, NCOLS * sizeof(has[0]));
	rc = md_db_query(db, &res, sql, 3, params, err);
	if (rc)
		return rc;
	*exists = PQntuples(res) > 0;
	for (i = 0; i < PQntuples(res); i++) {
		long k = strtol(PQgetvalue(res, i, 0), NULL, 10) - 1;

		if (k >= 0 && k < NCOLS)
			has[k] = strcmp(PQgetvalue(res, i, 1), "t") == 0;
	}
	PQclear(res);
	return MD_OK;
}

static char *select_sql(const hnames *nm, const int has[NCOLS])
{
	size_t cap = 1024, len = 0;
	char *s = malloc(cap), *p;
	const char *order;
	int c, n;

	if (!s)
		return NULL;
	len += (size_t)snprintf(s, cap, "SELECT ");
	for (c = 0; c < NCOLS; c++) {
		char item[128];

		if (!has[c])
			snprintf(item, sizeof(item), "NULL");
		else if (is_time_col(c))
			snprintf(item, sizeof(item), "to_json(%s) #>> '{}'", col_names[c]);
		else
			snprintf(item, sizeof(item), "%s", col_names[c]);
		n = snprintf(s + len, cap - len, "%s%s", c ? ", " : "", item);
		len += (size_t)n; /* cap holds every item: at most NCOLS * 40 bytes */
	}
	if (has[C_ID])
		order = "id";
	else if (has[C_APPLIED_AT])
		order = "applied_at NULLS FIRST, version";
	else
		order = "version";
	n = snprintf(NULL, 0, " FROM %s ORDER BY %s", nm->history, order);
	p = realloc(s, len + (size_t)n + 1);
	if (!p) {
		free(s);
		return NULL;
	}
	snprintf(p + len, (size_t)n + 1, " FROM %s ORDER BY %s", nm->history, order);
	return p;
}

md_status md_history_load(md_db *db, const md_config *cfg, md_history **out, md_error *err)
{
	md_history *h;
	PGresult *res = NULL;
	hnames nm;
	int has[NCOLS], exists = 0, i, rows;
	md_status rc;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return nomem(err);
	rc = names_init(&nm, db, cfg, 0, err);
	if (rc) {
		free(h);
		return rc;
	}
	rc = probe_columns(db, &nm, &exists, has, err);
	if (rc || !exists)
		goto out;
	if (!has[C_VERSION]) {
		rc = md_error_set(err, MD_ERR_INVALID, NULL, 0, 0,
				  "table %s has no version column: it is not a history table",
				  nm.history);
		goto out;
	}
	h->exists = 1;
	rc = run(db, &res, select_sql(&nm, has), 0, NULL, err);
	if (rc)
		goto out;
	rows = PQntuples(res);
	if (rows > 0) {
		h->rows = calloc((size_t)rows, sizeof(*h->rows));
		if (!h->rows) {
			rc = nomem(err);
			goto out;
		}
	}
	for (i = 0; i < rows; i++) {
		md_hist_row *r = &h->rows[i];

		h->n++;
		r->id = PQgetisnull(res, i, C_ID) ? 0 : strtoll(PQgetvalue(res, i, C_ID), NULL, 10);
		r->version = value_at(res, i, C_VERSION);
		r->description = value_at(res, i, C_DESCRIPTION);
		r->script = value_at(res, i, C_SCRIPT);
		r->checksum = value_at(res, i, C_CHECKSUM);
		r->kind = value_at(res, i, C_KIND);
		r->applied_at = value_at(res, i, C_APPLIED_AT);
		r->rolled_back_at = value_at(res, i, C_ROLLED_BACK_AT);
		r->applied_by = value_at(res, i, C_APPLIED_BY);
		r->os_user = value_at(res, i, C_OS_USER);
		r->client_host = value_at(res, i, C_CLIENT_HOST);
		r->git_commit = value_at(res, i, C_GIT_COMMIT);
		/* a NULL is_active (a CRM row without the default) counts as
		 * active unless the row says when it was rolled back */
		if (PQgetisnull(res, i, C_IS_ACTIVE))
			r->is_active = PQgetisnull(res, i, C_ROLLED_BACK_AT);
		else
			r->is_active = !text_false(PQgetvalue(res, i, C_IS_ACTIVE));
		r->success = PQgetisnull(res, i, C_SUCCESS) ||
			     !text_false(PQgetvalue(res, i, C_SUCCESS));
		r->execution_ms = PQgetisnull(res, i, C_EXECUTION_MS)
					  ? 0
					  : strtoll(PQgetvalue(res, i, C_EXECUTION_MS), NULL, 10);
	}
	h->res = res; /* the rows point into it */
	res = NULL;
out:
	PQclear(res);
	names_free(&nm);
	if (rc) {
		md_history_free(h);
		return rc;
	}
	*out = h;
	return MD_OK;
}

/* Run fmt_sql, whose one %s is the quoted history table, with parameters;
 * *res as md_db_query. */
static md_status on_history(md_db *db, const md_config *cfg, const char *fmt_sql, int nparams,
			    const char *const *params, PGresult **res, md_error *err)
{
	hnames nm;
	md_status rc;

	rc = names_init(&nm, db, cfg, 0, err);
	if (rc)
		return rc;
	rc = run(db, res, sqlf(fmt_sql, nm.history), nparams, params, err);
	names_free(&nm);
	return rc;
}

md_status md_history_applied_sql(md_db *db, const md_config *cfg, const char *version,
				 char **out, md_error *err)
{
	const char *params[1] = { version };
	PGresult *res;
	md_status rc;

	*out = NULL;
	rc = on_history(db, cfg, "SELECT applied_sql FROM %s WHERE version = $1", 1, params, &res,
			err);
	if (rc)
		return rc;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		*out = strdup(PQgetvalue(res, 0, 0));
		if (!*out)
			rc = nomem(err);
	}
	PQclear(res);
	return rc;
}

/* ---- writing --------------------------------------------------------------------- */

/* The row of an apply (parameters $1 to $11, see md_history_record_apply):
 * a script that inserted its own row is completed, a rolled-back version is
 * made active again.  kind is never NULL in migdeck's own rows:
 * 002_self_recording.sql tells a script's own INSERT from migdeck's by it. */
#define SQL_UPSERT                                                                        \
	"INSERT INTO %s AS h (version, description, script, checksum, kind, applied_sql,"    \
	" git_commit, execution_ms, success, applied_by, os_user, client_host, applied_at,"  \
	" is_active, rolled_back_at)"                                                        \
	" VALUES ($1, $2, $3, $4, coalesce($5, 'versioned'), $6, $7, $8::bigint,"           \
	" $9::boolean, current_user, $10, $11, now(), true, NULL)"                          \
	" ON CONFLICT (version) DO UPDATE SET"                                               \
	" description = coalesce(EXCLUDED.description, h.description),"                     \
	" script = EXCLUDED.script, checksum = EXCLUDED.checksum, kind = EXCLUDED.kind,"     \
	" applied_sql = EXCLUDED.applied_sql, git_commit = EXCLUDED.git_commit,"             \
	" execution_ms = EXCLUDED.execution_ms, success = EXCLUDED.success,"                 \
	" applied_by = EXCLUDED.applied_by, os_user = EXCLUDED.os_user,"                     \
	" client_host = EXCLUDED.client_host, applied_at = EXCLUDED.applied_at,"             \
	" is_active = true, rolled_back_at = NULL"


/* Parameters $1 to $11 of SQL_UPSERT from rec (ms, user and host are the
 * caller's buffers the text goes into). */
static void apply_params(const char **params, const md_apply_record *rec, char *ms, size_t mssz,
			 char *user, size_t usersz, char *host, size_t hostsz)
{
	snprintf(ms, mssz, "%lld", rec->execution_ms);
	os_user(user, usersz);
	client_host(host, hostsz);
	params[0] = rec->version;
	params[1] = rec->description;
	params[2] = rec->script;
	params[3] = rec->checksum;
	params[4] = rec->kind;
	params[5] = rec->applied_sql;
	params[6] = rec->git_commit;
	params[7] = ms;
	params[8] = rec->success ? "true" : "false";
	params[9] = user;
	params[10] = host;
}

md_status md_history_record_apply(md_db *db, const md_config *cfg, const md_apply_record *rec,
				  md_error *err)
{
	char ms[32], user[256], host[256];
	const char *params[11];
	hnames nm;
	md_status rc;

	if (!rec || !rec->version)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0, "no version to record");
	rc = names_init(&nm, db, cfg, 0, err);
	if (rc)
		return rc;
	apply_params(params, rec, ms, sizeof(ms), user, sizeof(user), host, sizeof(host));
	rc = run(db, NULL, sqlf(SQL_UPSERT, nm.history), 11, params, err);
	names_free(&nm);
	return rc;
}

/* The target an event row names: the event's, else the config's (NULL
 * without a target or member). */
static const char *event_target(const md_config *cfg, const md_event *ev)
{
	if (ev->target)
		return ev->target;
	return cfg && (cfg->member || cfg->target) ? md_config_label(cfg) : NULL;
}

md_status md_history_record_apply_event(md_db *db, const md_config *cfg,
				       const md_apply_record *rec, const md_event *ev,
				       md_error *err)
{
	static const char name[] = "migdeck_apply_event";
	char ms[32], user[256], host[256], *sql = NULL;
	const char *params[18];
	PGresult *res = NULL;
	hnames nm;
	md_status rc;

	if (!rec || !rec->version || !ev || !ev->action || !ev->outcome)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0, "no version or event to record");
	if (!md_db_is_prepared(db, name)) {
		/* the upsert of md_history_record_apply and the insert of
		 * md_history_event, in one statement planned once a session */
		rc = names_init(&nm, db, cfg, 0, err);
		if (rc)
			return rc;
		sql = sqlf("WITH h AS (" SQL_UPSERT " RETURNING 1)"
			   " INSERT INTO %s (action, version, script, outcome, error, detail,"
			   " duration_ms, os_user, client_host, git_commit, target, backup_file)"
			   " SELECT $12, $1, $13, $14, $15, $16, $8::bigint, $10, $11, $7, $17, $18"
			   " FROM h",
			   nm.history, nm.events);
		names_free(&nm);
		if (!sql)
			return nomem(err);
	}
	apply_params(params, rec, ms, sizeof(ms), user, sizeof(user), host, sizeof(host));
	params[11] = ev->action;
	params[12] = ev->script;
	params[13] = ev->outcome;
	params[14] = ev->error;
	params[15] = ev->detail;
	params[16] = event_target(cfg, ev);
	params[17] = ev->backup_file;
	rc = md_db_query_prepared(db, &res, name, sql, 18, params, err);
	free(sql);
	PQclear(res);
	return rc;
}

/* Run an UPDATE/DELETE on the history table; *n gets the rows it touched. */
static md_status change(md_db *db, const md_config *cfg, const char *fmt_sql, int nparams,
			const char *const *params, long long *n, md_error *err)
{
	PGresult *res;
	md_status rc;

	rc = on_history(db, cfg, fmt_sql, nparams, params, &res, err);
	if (rc)
		return rc;
	*n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return MD_OK;
}

/* The format strings below take the quoted table name once. */
#define SQL_ROLLBACK "UPDATE %s SET is_active = false, rolled_back_at = now() WHERE version = $1"
#define SQL_DELETE_FAILED "DELETE FROM %s WHERE NOT success"
#define SQL_SET_CHECKSUM \
	"UPDATE %s SET checksum = $2, applied_sql = COALESCE($3, applied_sql) WHERE version = $1"

/* An UPDATE of the row of version params[0]: a version the table does not
 * have is MD_ERR_INVALID. */
static md_status change_version(md_db *db, const md_config *cfg, const char *fmt_sql,
				int nparams, const char *const *params, md_error *err)
{
	long long n = 0;
	md_status rc = change(db, cfg, fmt_sql, nparams, params, &n, err);

	if (rc == MD_OK && n == 0)
		rc = md_error_set(err, MD_ERR_INVALID, NULL, 0, 0,
				  "version %s is not in the history table", params[0]);
	return rc;
}

md_status md_history_record_rollback(md_db *db, const md_config *cfg, const char *version,
				     md_error *err)
{
	const char *params[1] = { version };

	return change_version(db, cfg, SQL_ROLLBACK, 1, params, err);
}

md_status md_history_delete_failed(md_db *db, const md_config *cfg, long long *n, md_error *err)
{
	long long count = 0;
	md_status rc;

	rc = change(db, cfg, SQL_DELETE_FAILED, 0, NULL, &count, err);
	if (n)
		*n = rc == MD_OK ? count : 0;
	return rc;
}

md_status md_history_set_checksum(md_db *db, const md_config *cfg, const char *version,
				  const char *checksum, const char *applied_sql, md_error *err)
{
	const char *params[3] = { version, checksum, applied_sql };

	return change_version(db, cfg, SQL_SET_CHECKSUM, 3, params, err);
}

md_status md_history_set_git_commit(md_db *db, const md_config *cfg, const char *version,
				    const char *event_action, int row, int only_empty,
				    const char *commit, md_error *err)
{
	const char *params[5];
	hnames nm;
	md_status rc;

	if (!version || !commit)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0, "no version or commit to record");
	rc = names_init(&nm, db, cfg, 0, err);
	if (rc)
		return rc;
	params[0] = version;
	params[1] = commit;
	params[2] = event_action;
	params[3] = row ? "true" : "false";
	params[4] = only_empty ? "true" : "false";
	rc = run(db, NULL,
		 sqlf("WITH e AS (UPDATE %s SET git_commit = $2"
		      " WHERE id = (SELECT max(id) FROM %s WHERE version = $1 AND action = $3)"
		      " AND (NOT $5::boolean OR git_commit IS NULL) RETURNING 1)"
		      " UPDATE %s SET git_commit = $2 WHERE $4::boolean AND version = $1"
		      " AND (NOT $5::boolean OR git_commit IS NULL)",
		      nm.events, nm.events, nm.history),
		 5, params, err);
	names_free(&nm);
	return rc;
}

md_status md_history_event(md_db *db, const md_config *cfg, const md_event *ev, md_error *err)
{
	char ms[32], user[256], host[256];
	const char *params[12];
	hnames nm;
	md_status rc;

	if (!ev || !ev->action || !ev->outcome)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
				    "an event needs an action and an outcome");
	rc = names_init(&nm, db, cfg, 0, err);
	if (rc)
		return rc;
	snprintf(ms, sizeof(ms), "%lld", ev->duration_ms);
	os_user(user, sizeof(user));
	client_host(host, sizeof(host));
	params[0] = ev->action;
	params[1] = ev->version;
	params[2] = ev->script;
	params[3] = ev->outcome;
	params[4] = ev->error;
	params[5] = ev->detail;
	params[6] = ms;
	params[7] = user;
	params[8] = host;
	params[9] = ev->git_commit;
	params[10] = event_target(cfg, ev);
	params[11] = ev->backup_file;
	rc = run(db, NULL,
		 sqlf("INSERT INTO %s (action, version, script, outcome, error, detail,"
		      " duration_ms, os_user, client_host, git_commit, target, backup_file)"
		      " VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $8, $9, $10, $11, $12)",
		      nm.events),
		 12, params, err);
	names_free(&nm);
	return rc;
}

/* ---- adoption ---------------------------------------------------------------------- */

md_status md_history_names(md_db *db, const md_config *cfg, char **history, char **events,
			   md_error *err)
{
	hnames nm;
	md_status rc;

	*history = *events = NULL;
	rc = names_init(&nm, db, cfg, 0, err);
	if (rc)
		return rc;
	*history = nm.history;
	*events = nm.events;
	nm.history = nm.events = NULL;
	names_free(&nm);
	return MD_OK;
}

md_status md_history_record_adopted(md_db *db, const md_config *cfg, const md_adopted_record *rec,
				    md_error *err)
{
	char ms[32];
	const char *params[12];
	hnames nm;
	md_status rc;

	if (!rec || !rec->version)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0, "no version to record");
	rc = names_init(&nm, db, cfg, 0, err);
	if (rc)
		return rc;
	snprintf(ms, sizeof(ms), "%lld", rec->execution_ms);
	params[0] = rec->version;
	params[1] = rec->description;
	params[2] = rec->script;
	params[3] = rec->checksum;
	params[4] = rec->kind ? rec->kind : "versioned";
	params[5] = rec->applied_sql;
	params[6] = ms;
	params[7] = rec->success ? "true" : "false";
	params[8] = rec->applied_by;
	params[9] = rec->applied_at;
	params[10] = rec->is_active ? "true" : "false";
	params[11] = rec->is_active ? NULL : (rec->rolled_back_at ? rec->rolled_back_at : "now");
	rc = run(db, NULL,
		 sqlf("INSERT INTO %s (version, description, script, checksum, kind, applied_sql,"
		      " execution_ms, success, applied_by, applied_at, is_active, rolled_back_at)"
		      " VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $8::boolean,"
		      " coalesce($9, current_user), coalesce($10::timestamptz, now()),"
		      " $11::boolean, $12::timestamptz)"
		      " ON CONFLICT (version) DO NOTHING",
		      nm.history),
		 12, params, err);
	names_free(&nm);
	return rc;
}
