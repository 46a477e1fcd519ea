/* monitor.c - sessions and locks as the server reports them (see monitor.h). */
#include "monitor.h"

#include <stdlib.h>
#include <string.h>

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

void md_waiters_free(md_waiter *w, size_t n)
{
	size_t i;

	for (i = 0; w && i < n; i++) {
		free(w[i].user);
		free(w[i].app);
		free(w[i].object);
		free(w[i].mode);
		free(w[i].blockers);
		free(w[i].query);
	}
	free(w);
}

md_status md_monitor_waiters(md_db *db, md_waiter **out, size_t *n, md_error *err)
{
	/* one row per waiting backend (a backend waits for one lock at a
	 * time); pg_locks.waitstart exists from PostgreSQL 14 on */
	static const char sql_14[] =
		"SELECT a.pid, coalesce(a.usename, ''), coalesce(a.application_name, ''),"
		" CASE WHEN l.relation IS NOT NULL THEN l.relation::regclass::text ELSE l.locktype END,"
		" l.mode,"
		" extract(epoch FROM clock_timestamp() - coalesce(l.waitstart, a.query_start)),"
		" array_to_string(pg_blocking_pids(a.pid), ', '),"
		" left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200)"
		" FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
		" WHERE NOT l.granted AND a.datname = current_database()"
		" ORDER BY 6 DESC NULLS LAST, 1";
	static const char sql_old[] =
		"SELECT a.pid, coalesce(a.usename, ''), coalesce(a.application_name, ''),"
		" CASE WHEN l.relation IS NOT NULL THEN l.relation::regclass::text ELSE l.locktype END,"
		" l.mode,"
		" extract(epoch FROM clock_timestamp() - a.query_start),"
		" array_to_string(pg_blocking_pids(a.pid), ', '),"
		" left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200)"
		" FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
		" WHERE NOT l.granted AND a.datname = current_database()"
		" ORDER BY 6 DESC NULLS LAST, 1";
	PGresult *res;
	md_waiter *w = NULL;
	md_status rc;
	int i, rows;

	*out = NULL;
	*n = 0;
	rc = md_db_query(db, &res, db->server_version >= 140000 ? sql_14 : sql_old, 0, NULL, err);
	if (rc)
		return rc;
	rows = PQntuples(res);
	if (rows > 0 && !(w = calloc((size_t)rows, sizeof(*w)))) {
		PQclear(res);
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	for (i = 0; i < rows; i++) {
		w[i].pid = atoi(PQgetvalue(res, i, 0));
		w[i].user = dup_or_empty(PQgetvalue(res, i, 1));
		w[i].app = dup_or_empty(PQgetvalue(res, i, 2));
		w[i].object = dup_or_empty(PQgetvalue(res, i, 3));
		w[i].mode = dup_or_empty(PQgetvalue(res, i, 4));
		w[i].wait_s = PQgetisnull(res, i, 5) ? 0 : strtod(PQgetvalue(res, i, 5), NULL);
		w[i].blockers = dup_or_empty(PQgetvalue(res, i, 6));
		w[i].query = dup_or_empty(PQgetvalue(res, i, 7));
		if (!w[i].user || !w[i].app || !w[i].object || !w[i].mode || !w[i].blockers ||
		    !w[i].query) {
			PQclear(res);
			md_waiters_free(w, (size_t)rows);
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		}
	}
	PQclear(res);
	*out = w;
	*n = (size_t)rows;
	return MD_OK;
}

md_status md_monitor_whoami(md_db *db, char **database, char **user, char **server,
			    md_error *err)
{
	PGresult *res;
	md_status rc;

	*database = *user = *server = NULL;
	rc = md_db_query(db, &res,
			 "SELECT current_database(), current_user, current_setting('server_version')",
			 0, NULL, err);
	if (rc)
		return rc;
	*database = strdup(PQgetvalue(res, 0, 0));
	*user = strdup(PQgetvalue(res, 0, 1));
	*server = strdup(PQgetvalue(res, 0, 2));
	PQclear(res);
	if (!*database || !*user || !*server) {
		free(*database);
		free(*user);
		free(*server);
		*database = *user = *server = NULL;
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	return MD_OK;
}
