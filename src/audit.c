/* audit.c - the event table read back for `migdeck log` (see audit.h). */
#include "audit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "history.h"

double md_audit_duration(const char *s)
{
	static const struct { const char *unit; double secs; } units[] = {
		{ "s", 1 },        { "sec", 1 },         { "secs", 1 },      { "second", 1 },
		{ "seconds", 1 },  { "m", 60 },          { "min", 60 },      { "mins", 60 },
		{ "minute", 60 },  { "minutes", 60 },    { "h", 3600 },      { "hr", 3600 },
		{ "hrs", 3600 },   { "hour", 3600 },     { "hours", 3600 },  { "d", 86400 },
		{ "day", 86400 },  { "days", 86400 },    { "w", 604800 },    { "week", 604800 },
		{ "weeks", 604800 },
	};
	const char *p = s, *num;
	char unit[16];
	size_t i, n = 0;
	double v;

	if (!s)
		return -1;
	while (*p == ' ')
		p++;
	num = p;
	while (isdigit((unsigned char)*p))
		p++;
	if (p == num)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	v = strtod(num, NULL);
	while (*p == ' ')
		p++;
	while (isalpha((unsigned char)*p) && n + 1 < sizeof(unit))
		unit[n++] = *p++;
	unit[n] = '\0';
	while (*p == ' ')
		p++;
	if (*p || !n)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcasecmp(unit, units[i].unit))
			return v * units[i].secs;
	return -1;
}

/* The columns read, in select-list order; those after C_FIRST_OPTIONAL may
 * be missing from an older table. */
enum {
	C_ID, C_AT, C_ACTION, C_VERSION, C_SCRIPT, C_OUTCOME, C_ERROR, C_DETAIL, C_DURATION,
	C_DB_USER, C_OS_USER, C_CLIENT_HOST, C_GIT_COMMIT, C_TARGET, C_BACKUP_FILE, C_APP,
	C_CLIENT_ADDR, NCOLS
};

static const char *const col_name[NCOLS] = {
	"id", "at", "action", "version", "script", "outcome", "error", "detail", "duration_ms",
	"db_user", "os_user", "client_host", "git_commit", "target", "backup_file",
	"application_name", "client_addr"
};

void md_audit_free(md_audit *a)
{
	if (!a)
		return;
	PQclear(a->res);
	free(a->rows);
	free(a->table);
	free(a);
}

static const char *val(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* append text to the malloc'd *sql (length *len); -1 when out of memory */
static int add(char **sql, size_t *len, const char *text)
{
	size_t n = strlen(text);
	char *more = realloc(*sql, *len + n + 1);

	if (!more)
		return -1;
	memcpy(more + *len, text, n + 1);
	*sql = more;
	*len += n;
	return 0;
}

md_status md_audit_load(md_db *db, const md_config *cfg, const md_audit_filter *f,
			md_audit **out, md_error *err)
{
	md_audit *a;
	char *history = NULL, *sql = NULL, item[160], secs[64];
	const char *params[4], *probe[1];
	PGresult *res = NULL;
	int has[NCOLS], np = 0, i, in_tx = 0;
	size_t len = 0;
	double since = -1;
	md_status rc;

	*out = NULL;
	if (!(a = calloc(1, sizeof(*a))))
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	if ((rc = md_history_names(db, cfg, &history, &a->table, err)) != MD_OK)
		goto done;
	/* which columns the table has (none: no table) */
	probe[0] = a->table;
	if ((rc = md_db_query(db, &res,
			      "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1)"
			      " AND attnum > 0 AND NOT attisdropped",
			      1, probe, err)) != MD_OK)
		goto done;
	memset(has, 0, sizeof(has));
	for (i = 0; i < PQntuples(res); i++) {
		int k;

		for (k = 0; k < NCOLS; k++)
			if (!strcmp(PQgetvalue(res, i, 0), col_name[k]))
				has[k] = 1;
	}
	a->exists = PQntuples(res) > 0;
	PQclear(res);
	res = NULL;
	if (!a->exists)
		goto done;
	if (!has[C_AT] || !has[C_ACTION]) {
		rc = md_error_set(err, MD_ERR_INVALID, NULL, 0, 0,
				  "table %s has no at or action column: it is not migdeck's event table",
				  a->table);
		goto done;
	}
	if (add(&sql, &len, "SELECT ") < 0)
		goto oom;
	for (i = 0; i < NCOLS; i++) {
		if (!has[i])
			snprintf(item, sizeof(item), "%sNULL", i ? ", " : "");
		else if (i == C_AT)
			snprintf(item, sizeof(item),
				 ", to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
		else if (i == C_CLIENT_ADDR)
			snprintf(item, sizeof(item), ", host(client_addr)");
		else
			snprintf(item, sizeof(item), "%s%s::text", i ? ", " : "", col_name[i]);
		if (add(&sql, &len, item) < 0)
			goto oom;
	}
	if (add(&sql, &len, " FROM ") < 0 || add(&sql, &len, a->table) < 0 ||
	    add(&sql, &len, " WHERE true") < 0)
		goto oom;
	if (f && f->version && has[C_VERSION]) {
		params[np++] = f->version;
		snprintf(item, sizeof(item), " AND version = $%d", np);
		if (add(&sql, &len, item) < 0)
			goto oom;
	} else if (f && f->version && add(&sql, &len, " AND false") < 0) {
		goto oom;
	}
	if (f && f->target && has[C_TARGET]) {
		params[np++] = f->target;
		snprintf(item, sizeof(item), " AND (target IS NULL OR target = $%d)", np);
		if (add(&sql, &len, item) < 0)
			goto oom;
	}
	if (f && f->since) {
		since = md_audit_duration(f->since);
		if (since >= 0) {
			snprintf(secs, sizeof(secs), "%.3f", since);
			params[np++] = secs;
			snprintf(item, sizeof(item),
				 " AND at >= now() - make_interval(secs => $%d::double precision)", np);
		} else {
			params[np++] = f->since;
			snprintf(item, sizeof(item), " AND at >= $%d::timestamptz", np);
		}
		if (add(&sql, &len, item) < 0)
			goto oom;
	}
	if (add(&sql, &len, has[C_ID] ? " ORDER BY at DESC, id DESC" : " ORDER BY at DESC") < 0)
		goto oom;
	/* a date/time without a zone is UTC, as the times are printed */
	if ((rc = md_db_exec(db, "BEGIN READ ONLY; SET LOCAL TimeZone = 'UTC'", err)) != MD_OK)
		goto done;
	in_tx = 1;
	if ((rc = md_db_query(db, &res, sql, np, params, err)) != MD_OK) {
		if (f && f->since && err && !strncmp(err->sqlstate, "22", 2))
			rc = md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
					  "--since %s: neither a date/time (2024-05-01, \"2024-05-01 "
					  "12:00\", UTC unless a zone is given) nor a duration back from "
					  "now (30min, 2h, 3d, 1w)", f->since);
		goto done;
	}
	if (PQntuples(res) > 0 &&
	    !(a->rows = calloc((size_t)PQntuples(res), sizeof(*a->rows))))
		goto oom;
	for (i = 0; i < PQntuples(res); i++) {
		md_audit_row *r = &a->rows[a->n++];
		const char *d = val(res, i, C_DURATION);

		r->id = val(res, i, C_ID) ? strtoll(val(res, i, C_ID), NULL, 10) : 0;
		r->at = val(res, i, C_AT);
		r->action = val(res, i, C_ACTION);
		r->version = val(res, i, C_VERSION);
		r->script = val(res, i, C_SCRIPT);
		r->outcome = val(res, i, C_OUTCOME);
		r->error = val(res, i, C_ERROR);
		r->detail = val(res, i, C_DETAIL);
		r->duration_ms = d ? strtoll(d, NULL, 10) : -1;
		r->db_user = val(res, i, C_DB_USER);
		r->os_user = val(res, i, C_OS_USER);
		r->client_host = val(res, i, C_CLIENT_HOST);
		r->git_commit = val(res, i, C_GIT_COMMIT);
		r->target = val(res, i, C_TARGET);
		r->backup_file = val(res, i, C_BACKUP_FILE);
		r->application_name = val(res, i, C_APP);
		r->client_addr = val(res, i, C_CLIENT_ADDR);
	}
	a->res = res;
	res = NULL;
	goto done;
oom:
	rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
done:
	if (in_tx) {
		md_error ignore;

		md_db_exec(db, "ROLLBACK", &ignore);
	}
	PQclear(res);
	free(sql);
	free(history);
	if (rc != MD_OK) {
		md_audit_free(a);
		return rc;
	}
	*out = a;
	return MD_OK;
}
