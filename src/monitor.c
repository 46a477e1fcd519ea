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

/* The waiting sessions; blocker > 0: only those it blocks. */
static md_status waiters(md_db *db, int blocker, md_waiter **out, size_t *n, md_error *err)
{
	/* one row per waiting backend (a backend waits for one lock at a
	 * time); pg_locks.waitstart exists from PostgreSQL 14 on */
	static const char head[] =
		"SELECT a.pid, coalesce(a.usename, ''), coalesce(a.application_name, ''),"
		" CASE WHEN l.relation IS NOT NULL THEN l.relation::regclass::text ELSE l.locktype END,"
		" l.mode,";
	static const char wait_14[] =
		" extract(epoch FROM clock_timestamp() - coalesce(l.waitstart, a.query_start)),";
	static const char wait_old[] = " extract(epoch FROM clock_timestamp() - a.query_start),";
	static const char tail[] =
		" array_to_string(pg_blocking_pids(a.pid), ', '),"
		" left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200)"
		" FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
		" WHERE NOT l.granted AND a.datname = current_database()"
		"   AND ($1::int = 0 OR $1::int = ANY (pg_blocking_pids(a.pid)))"
		" ORDER BY 6 DESC NULLS LAST, 1";
	char sql[1200], pid[16];
	const char *params[1] = { pid };
	PGresult *res;
	md_waiter *w = NULL;
	md_status rc;
	int i, rows;

	*out = NULL;
	*n = 0;
	snprintf(sql, sizeof(sql), "%s%s%s", head, db->server_version >= 140000 ? wait_14 : wait_old,
		 tail);
	snprintf(pid, sizeof(pid), "%d", blocker > 0 ? blocker : 0);
	rc = md_db_query(db, &res, sql, 1, params, err);
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

md_status md_monitor_waiters(md_db *db, md_waiter **out, size_t *n, md_error *err)
{
	return waiters(db, 0, out, n, err);
}

md_status md_monitor_blocked_by(md_db *db, int pid, md_waiter **out, size_t *n,
				md_error *err)
{
	if (pid <= 0) {
		*out = NULL;
		*n = 0;
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0, "no backend pid");
	}
	return waiters(db, pid, out, n, err);
}

void md_locks_free(md_lock *l, size_t n)
{
	size_t i;

	for (i = 0; l && i < n; i++) {
		free(l[i].object);
		free(l[i].mode);
	}
	free(l);
}

md_status md_monitor_locks_of(md_db *db, int pid, md_lock **out, size_t *n, md_error *err)
{
	static const char sql[] =
		"SELECT l.relation::regclass::text, l.mode, l.granted"
		" FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
		" WHERE l.pid = $1::int AND l.locktype = 'relation'"
		"   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
		"   AND c.relnamespace <> 'pg_catalog'::regnamespace"
		" ORDER BY array_position(ARRAY['AccessExclusiveLock', 'ExclusiveLock',"
		"   'ShareRowExclusiveLock', 'ShareLock', 'ShareUpdateExclusiveLock',"
		"   'RowExclusiveLock', 'RowShareLock', 'AccessShareLock'], l.mode::text), 1";
	char pids[16];
	const char *params[1] = { pids };
	PGresult *res;
	md_lock *l = NULL;
	md_status rc;
	int i, rows;

	*out = NULL;
	*n = 0;
	snprintf(pids, sizeof(pids), "%d", pid);
	rc = md_db_query(db, &res, sql, 1, params, err);
	if (rc)
		return rc;
	rows = PQntuples(res);
	if (rows > 0 && !(l = calloc((size_t)rows, sizeof(*l)))) {
		PQclear(res);
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	for (i = 0; i < rows; i++) {
		l[i].object = dup_or_empty(PQgetvalue(res, i, 0));
		l[i].mode = dup_or_empty(PQgetvalue(res, i, 1));
		l[i].granted = !strcmp(PQgetvalue(res, i, 2), "t");
		l[i].exclusive = !strcmp(PQgetvalue(res, i, 1), "AccessExclusiveLock");
		if (!l[i].object || !l[i].mode) {
			PQclear(res);
			md_locks_free(l, (size_t)rows);
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		}
	}
	PQclear(res);
	*out = l;
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
