/* db.c - the one seam to libpq (see db.h).
 *
 * Connecting adds migdeck's application_name (as libpq's
 * fallback_application_name, so an application_name the user set, in the
 * connection string or PGAPPNAME, wins) and client_encoding UTF8 (migration
 * files are read as UTF-8: error positions are counted in UTF-8 characters
 * and JSON output is UTF-8), unless the user chose an encoding.
 *
 * The runner lock is a session-level advisory lock with the two-key form
 * pg_try_advisory_lock(int4, int4): key 1 is migdeck's constant, key 2 the
 * server's hashtext() of the quoted, schema-qualified history table name.
 * It shows in pg_locks as locktype 'advisory', classid = key 1, objid =
 * key 2, objsubid = 2. */
#include "db.h"

#include "util.h"

#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Key 1 of the advisory lock: "migd" in ASCII. */
#define MD_LOCK_KEY1 0x6d696764
#define LOCK_POLL_MS 200

/* ---- small helpers ---------------------------------------------------------- */

/* Collapse each run of white space that holds a line break into one space
 * and drop trailing white space, so a libpq message reads as one line. */
static void one_line(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		size_t ws = strspn(r, " \t\r\n");

		if (ws && memchr(r, '\n', ws) == NULL && memchr(r, '\r', ws) == NULL) {
			memmove(w, r, ws);
			w += ws;
			r += ws;
		} else if (ws) {
			r += ws;
			if (w != s && *r)
				*w++ = ' ';
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	while (w > s && (w[-1] == ' ' || w[-1] == '\t'))
		*--w = '\0';
}

/* Replace every occurrence of secret in s (size sz) with "****". */
static void mask_secret(char *s, size_t sz, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0, o = 0;
	char out[1024];
	const char *r = s;

	if (n < 3 || !strstr(s, secret)) /* a tiny password would mangle the text */
		return;
	while (*r && o + 1 < sizeof(out)) {
		if (strncmp(r, secret, n) == 0) {
			o += (size_t)snprintf(out + o, sizeof(out) - o, "****");
			if (o >= sizeof(out))
				o = sizeof(out) - 1;
			r += n;
		} else {
			out[o++] = *r++;
		}
	}
	out[o] = '\0';
	snprintf(s, sz, "%s", out);
}

static int has_keyword(const char *const *kw, const char *name)
{
	size_t i;

	for (i = 0; kw && kw[i]; i++)
		if (strcmp(kw[i], name) == 0)
			return 1;
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- connecting ----------------------------------------------------------- */

static md_status db_connect_ex(md_db **out, const md_config *cfg, const char *role,
			       const char *dbname, int retries, int interval, md_warn_fn note,
			       void *payload, md_error *err);

static md_status db_connect(md_db **out, const md_config *cfg, const char *role,
			    const char *dbname, md_error *err)
{
	return db_connect_ex(out, cfg, role, dbname, 0, 0, NULL, NULL, err);
}

md_status md_db_connect(md_db **out, const md_config *cfg, const char *role, md_error *err)
{
	return db_connect(out, cfg, role, NULL, err);
}

md_status md_db_connect_retry(md_db **out, const md_config *cfg, const char *role,
			      md_warn_fn note, void *payload, md_error *err)
{
	return db_connect_ex(out, cfg, role, NULL, cfg ? cfg->connect_retries : 0,
			     cfg ? cfg->connect_retries_interval : 0, note, payload, err);
}

/* The pause before retry number attempt (1-based): 1 s, doubling, capped at
 * interval seconds (Flyway's connectRetries / connectRetriesInterval). */
static int retry_pause(int attempt, int interval)
{
	int wait = attempt <= 1 ? 1 : attempt > 20 ? interval : 1 << (attempt - 1);

	return wait > interval ? interval : wait;
}

md_status md_db_connect_dbname(md_db **out, const md_config *cfg, const char *role,
			       const char *dbname, md_error *err)
{
	md_status rc = db_connect(out, cfg, role, dbname, err);
	char *shown = NULL;

	if (rc == MD_OK) {
		if (asprintf(&shown, "database %s on %s", dbname,
			     (*out)->target[0] ? (*out)->target : "the default server") < 0) {
			md_db_close(*out);
			*out = NULL;
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		}
		free((*out)->target);
		(*out)->target = shown;
	}
	return rc;
}

static md_status db_connect_ex(md_db **out, const md_config *cfg, const char *role,
			       const char *dbname, int retries, int interval, md_warn_fn note,
			       void *payload, md_error *err)
{
	const char **kw = NULL, **vals = NULL, **kw2 = NULL, **vals2 = NULL;
	char user[128], app[320], msg[1024];
	const char *password = NULL;
	md_db *db = NULL;
	size_t i, n = 0, k;
	md_status rc;
	int attempt;

	*out = NULL;
	rc = md_config_conn_params(cfg, &kw, &vals, err);
	if (rc)
		return rc;
	while (kw[n])
		n++;
	kw2 = calloc(n + 12, sizeof(*kw2));
	vals2 = calloc(n + 12, sizeof(*vals2));
	db = calloc(1, sizeof(*db));
	if (!kw2 || !vals2 || !db)
		goto nomem;
	for (i = 0; i < n; i++) {
		kw2[i] = kw[i];
		vals2[i] = vals[i];
		if (strcmp(kw[i], "password") == 0)
			password = vals[i];
	}
	k = n;
	md_os_user(user, sizeof(user));
	snprintf(app, sizeof(app), "migdeck:%s%s%s", user, role ? ":" : "", role ? role : "");
	if (!has_keyword(kw, "fallback_application_name")) {
		kw2[k] = "fallback_application_name";
		vals2[k++] = app;
	}
	if (!has_keyword(kw, "client_encoding") && !getenv("PGCLIENTENCODING")) {
		kw2[k] = "client_encoding";
		vals2[k++] = "UTF8";
	}
	if (role && !strcmp(role, "console")) {
		/* the console's connection must notice a dead network: a
		 * deadline on connecting and TCP keepalives, unless the user
		 * chose their own */
		static const char *const mon[][2] = {
			{ "connect_timeout", "5" },  { "keepalives", "1" },
			{ "keepalives_idle", "5" },  { "keepalives_interval", "2" },
			{ "keepalives_count", "3" }, { "tcp_user_timeout", "10000" },
		};
		size_t m;

		for (m = 0; m < sizeof(mon) / sizeof(mon[0]); m++)
			if (!has_keyword(kw, mon[m][0]) &&
			    !(m == 0 && getenv("PGCONNECT_TIMEOUT"))) {
				kw2[k] = mon[m][0];
				vals2[k++] = mon[m][1];
			}
	}
	if (dbname) {
		/* a later keyword wins over an earlier one (expand_dbname 0) */
		kw2[k] = "dbname";
		vals2[k++] = dbname;
	}
	/* a server that is down or still starting up (libpq's ping: no
	 * response, or it rejects connections) is tried again, up to retries
	 * times; any other failure (authentication, a missing database) is
	 * final at once */
	for (attempt = 1;; attempt++) {
		PGPing ping;
		int wait;
		char line[1200];

		db->conn = PQconnectdbParams(kw2, vals2, 0);
		if (!db->conn)
			goto nomem;
		if (PQstatus(db->conn) == CONNECTION_OK || attempt > retries)
			break;
		ping = PQpingParams(kw2, vals2, 0);
		if (ping != PQPING_NO_RESPONSE && ping != PQPING_REJECT)
			break;
		wait = retry_pause(attempt, interval);
		if (note) {
			snprintf(msg, sizeof(msg), "%s", PQerrorMessage(db->conn));
			one_line(msg);
			mask_secret(msg, sizeof(msg), password);
			mask_secret(msg, sizeof(msg), getenv("PGPASSWORD"));
			snprintf(line, sizeof(line), "cannot connect (%s): retry %d of %d in %d s", msg,
				 attempt, retries, wait);
			note(line, payload);
		}
		PQfinish(db->conn);
		db->conn = NULL;
		sleep_seconds(wait);
	}
	db->target = md_config_conn_display(cfg);
	if (!db->target)
		goto nomem;
	if (PQstatus(db->conn) != CONNECTION_OK) {
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(db->conn));
		one_line(msg);
		mask_secret(msg, sizeof(msg), password);
		mask_secret(msg, sizeof(msg), getenv("PGPASSWORD"));
		rc = md_error_set(err, MD_ERR_CONNECT, NULL, 0, 0, "cannot connect to %s: %s",
				  db->target[0] ? db->target : "the default database", msg);
		goto fail;
	}
	db->server_version = PQserverVersion(db->conn);
	{
		const char *sent = PQparameterStatus(db->conn, "application_name");

		db->app_name = strdup(sent ? sent : app);
		if (!db->app_name)
			goto nomem;
	}
	free(kw2);
	free(vals2);
	md_config_free_params(kw, vals);
	*out = db;
	return MD_OK;
nomem:
	rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
fail:
	free(kw2);
	free(vals2);
	md_config_free_params(kw, vals);
	md_db_close(db);
	return rc;
}

md_status md_db_connect_socket(md_db **out, const char *sockdir, int port, const char *user,
			       const char *dbname, md_error *err)
{
	const char *kw[11], *vals[11];
	char portstr[16], me[128], app[320], msg[1024];
	md_db *db;
	const char *sent;
	int k = 0;

	*out = NULL;
	snprintf(portstr, sizeof(portstr), "%d", port);
	md_os_user(me, sizeof(me));
	snprintf(app, sizeof(app), "migdeck:%s:scratch", me);
	kw[k] = "host", vals[k++] = sockdir;
	kw[k] = "port", vals[k++] = portstr;
	kw[k] = "user", vals[k++] = user;
	kw[k] = "dbname", vals[k++] = dbname;
	kw[k] = "sslmode", vals[k++] = "disable";
	kw[k] = "gssencmode", vals[k++] = "disable";
	kw[k] = "connect_timeout", vals[k++] = "10";
	kw[k] = "client_encoding", vals[k++] = "UTF8";
	kw[k] = "application_name", vals[k++] = app;
	kw[k] = NULL, vals[k] = NULL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	db->conn = PQconnectdbParams(kw, vals, 0);
	if (!db->conn || asprintf(&db->target, "database %s on the scratch cluster in %s", dbname,
				  sockdir) < 0) {
		db->target = NULL;
		md_db_close(db);
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(db->conn));
		one_line(msg);
		md_error_set(err, MD_ERR_CONNECT, NULL, 0, 0, "cannot connect to %s: %s", db->target,
			     msg);
		md_db_close(db);
		return MD_ERR_CONNECT;
	}
	db->server_version = PQserverVersion(db->conn);
	sent = PQparameterStatus(db->conn, "application_name");
	db->app_name = strdup(sent ? sent : app);
	if (!db->app_name) {
		md_db_close(db);
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	*out = db;
	return MD_OK;
}

void md_db_close(md_db *db)
{
	if (!db)
		return;
	/* Closing the session releases its advisory locks anyway; unlock
	 * politely when the connection can still run a query. */
	if (db->locked && db->conn && PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		(void)md_db_unlock(db, NULL);
	if (db->conn)
		PQfinish(db->conn);
	while (db->nprepared)
		free(db->prepared[--db->nprepared]);
	free(db->prepared);
	free(db->target);
	free(db->app_name);
	free(db);
}

/* ---- errors ------------------------------------------------------------------ */

static void copy_field(char *out, size_t outsz, const PGresult *res, int field)
{
	const char *v = PQresultErrorField(res, field);

	snprintf(out, outsz, "%s", v ? v : "");
}

md_status md_db_error(md_error *err, const PGconn *conn, const PGresult *res)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *severity;

	if (!err)
		return MD_ERR_DB;
	md_error_clear(err);
	err->code = MD_ERR_DB;
	if (primary) {
		severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
		if (!severity)
			severity = PQresultErrorField(res, PG_DIAG_SEVERITY);
		snprintf(err->msg, sizeof(err->msg), "%s: %s", severity ? severity : "ERROR",
			 primary);
		copy_field(err->sqlstate, sizeof(err->sqlstate), res, PG_DIAG_SQLSTATE);
		copy_field(err->detail, sizeof(err->detail), res, PG_DIAG_MESSAGE_DETAIL);
		copy_field(err->hint, sizeof(err->hint), res, PG_DIAG_MESSAGE_HINT);
		copy_field(err->context, sizeof(err->context), res, PG_DIAG_CONTEXT);
	} else {
		/* a client-side failure: libpq's own text */
		const char *m = res ? PQresultErrorMessage(res) : NULL;

		if (!m || !*m)
			m = conn ? PQerrorMessage(conn) : "";
		snprintf(err->msg, sizeof(err->msg), "%s", *m ? m : "unknown database error");
		one_line(err->msg);
	}
	return MD_ERR_DB;
}

long md_db_error_position(const PGresult *res)
{
	const char *v = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;

	return v ? strtol(v, NULL, 10) : 0;
}

/* A COPY the caller did not ask for: end it and drain the results. */
static md_status refuse_copy(md_db *db, PGresult *res, md_error *err)
{
	ExecStatusType st = PQresultStatus(res);

	PQclear(res);
	if (st == PGRES_COPY_IN || st == PGRES_COPY_BOTH) {
		(void)PQputCopyEnd(db->conn, "COPY is not supported here");
	} else {
		char *line;

		while (PQgetCopyData(db->conn, &line, 0) > 0)
			PQfreemem(line);
	}
	while ((res = PQgetResult(db->conn)) != NULL)
		PQclear(res);
	return md_error_set(err, MD_ERR_UNSUPPORTED, NULL, 0, 0,
			    "COPY through md_db_exec/md_db_query is not supported");
}

/* Check a result: MD_OK (res kept in *out when out is given, else cleared)
 * or a failure with err filled and res cleared. */
static md_status take_result(md_db *db, PGresult *res, PGresult **out, md_error *err)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	md_status rc;

	switch (st) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		if (out)
			*out = res;
		else
			PQclear(res);
		return MD_OK;
	case PGRES_COPY_IN:
	case PGRES_COPY_OUT:
	case PGRES_COPY_BOTH:
		return refuse_copy(db, res, err);
	default:
		break;
	}
	rc = md_db_error(err, db->conn, res);
	PQclear(res);
	return rc;
}

md_status md_db_exec(md_db *db, const char *sql, md_error *err)
{
	return take_result(db, PQexec(db->conn, sql), NULL, err);
}

md_status md_db_commit(md_db *db, md_error *err)
{
	PGresult *res = NULL;
	md_status rc;
	int was_open = PQtransactionStatus(db->conn) == PQTRANS_INTRANS;

	rc = take_result(db, PQexec(db->conn, "COMMIT"), &res, err);
	if (rc != MD_OK)
		return rc;
	if (!was_open || strcmp(PQcmdStatus(res), "COMMIT") != 0)
		rc = md_error_set(err, MD_ERR_DB, NULL, 0, 0,
				  "COMMIT did not commit (%s): nothing of this transaction was kept",
				  was_open ? PQcmdStatus(res) : "no transaction was open");
	PQclear(res);
	return rc;
}

md_status md_db_query(md_db *db, PGresult **out, const char *sql, int nparams,
		      const char *const *params, md_error *err)
{
	*out = NULL;
	return take_result(db, PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0),
			   out, err);
}

int md_db_is_prepared(const md_db *db, const char *name)
{
	size_t i;
	for (i = 0; i < db->nprepared; i++)
		if (strcmp(db->prepared[i], name) == 0)
			return 1;
	return 0;
}

md_status md_db_query_prepared(md_db *db, PGresult **out, const char *name, const char *sql,
			       int nparams, const char *const *params, md_error *err)
{
	md_status rc;

	*out = NULL;
	if (!md_db_is_prepared(db, name)) {
		char **np;
		if (!sql)
			return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
					    "statement %s is not prepared", name);
		rc = take_result(db, PQprepare(db->conn, name, sql, nparams, NULL), NULL, err);
		if (rc != MD_OK)
			return rc;
		np = realloc(db->prepared, (db->nprepared + 1) * sizeof(*np));
		if (!np || !(np[db->nprepared] = strdup(name))) {
			if (np)
				db->prepared = np;
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		}
		db->prepared = np;
		db->nprepared++;
	}
	return take_result(db, PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0), out,
			   err);
}

char *md_db_literal(md_db *db, const char *s)
{
	char *q, *copy;

	if (!db || !db->conn || !s)
		return NULL;
	q = PQescapeLiteral(db->conn, s, strlen(s));
	if (!q)
		return NULL;
	copy = strdup(q);
	PQfreemem(q);
	return copy;
}

int md_db_in_failed_tx(const md_db *db)
{
	return db && db->conn && PQtransactionStatus(db->conn) == PQTRANS_INERROR;
}

char *md_db_ident(md_db *db, const char *name)
{
	char *q, *copy;

	if (!db || !db->conn || !name)
		return NULL;
	q = PQescapeIdentifier(db->conn, name, strlen(name));
	if (!q)
		return NULL;
	copy = strdup(q);
	PQfreemem(q);
	return copy;
}

/* ---- the runner lock ---------------------------------------------------------- */

static int lock_key2(long long key)
{
	return (int)(int32_t)(uint32_t)((unsigned long long)key & 0xffffffffu);
}

/* Who holds the lock (key 2 = k2) as "pid N (user@host, app, since T)"
 * into out, or "" when nobody else does. */
static md_status lock_holder_text(md_db *db, int k2, char *out, size_t outsz, md_error *err)
{
	static const char sql[] =
		"SELECT a.pid, coalesce(a.usename, '?'),"
		" coalesce(a.client_hostname, host(a.client_addr),"
		"          CASE WHEN a.backend_start IS NULL THEN '?' ELSE 'local' END),"
		" coalesce(a.application_name, ''),"
		" coalesce(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SSOF'), '?')"
		" FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
		" WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
		"   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
		"   AND l.classid = $1::int::oid AND l.objid = $2::int::oid"
		"   AND l.pid <> pg_backend_pid()"
		" LIMIT 1";
	char k1s[16], k2s[16];
	const char *params[2] = { k1s, k2s };
	PGresult *res;
	md_status rc;

	out[0] = '\0';
	snprintf(k1s, sizeof(k1s), "%d", MD_LOCK_KEY1);
	snprintf(k2s, sizeof(k2s), "%d", k2);
	rc = md_db_query(db, &res, sql, 2, params, err);
	if (rc)
		return rc;
	if (PQntuples(res) == 1)
		snprintf(out, outsz, "pid %s (%s@%s, %s, since %s)", PQgetvalue(res, 0, 0),
			 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
			 PQgetvalue(res, 0, 4));
	PQclear(res);
	return MD_OK;
}

/* Fill err with who holds the lock (key 2 = k2). */
static md_status lock_holder(md_db *db, int k2, md_error *err)
{
	char who[600];
	md_status rc = lock_holder_text(db, k2, who, sizeof(who), err);

	if (rc)
		return rc;
	if (who[0])
		return md_error_set(err, MD_ERR_LOCKED, NULL, 0, 0, "locked by %s", who);
	return md_error_set(err, MD_ERR_LOCKED, NULL, 0, 0,
			    "locked by another session (it has just let go: try again)");
}

md_status md_db_lock_holder(md_db *db, const char *schema, const char *table, char *out,
			    size_t outsz, md_error *err)
{
	char *qs = md_db_ident(db, schema), *qt = md_db_ident(db, table), *name = NULL;
	const char *params[1];
	PGresult *res = NULL;
	md_status rc;
	size_t len;

	out[0] = '\0';
	if (!qs || !qt || !(name = malloc(len = strlen(qs) + strlen(qt) + 2))) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	snprintf(name, len, "%s.%s", qs, qt);
	params[0] = name;
	if ((rc = md_db_query(db, &res, "SELECT hashtext($1)", 1, params, err)) != MD_OK)
		goto done;
	rc = lock_holder_text(db, (int)strtol(PQgetvalue(res, 0, 0), NULL, 10), out, outsz, err);
	PQclear(res);
done:
	free(qs);
	free(qt);
	free(name);
	return rc;
}

int md_db_alive(const md_db *db)
{
	return db && db->conn && PQstatus(db->conn) == CONNECTION_OK;
}

md_status md_db_lock(md_db *db, const char *schema, const char *table, double wait_seconds,
		     md_error *err)
{
	static const char sql[] = "SELECT pg_try_advisory_lock($1::int, hashtext($2)), hashtext($2)";
	char *qs = NULL, *qt = NULL, *name = NULL, k1s[16];
	const char *params[2];
	double start = now_seconds();
	md_status rc = MD_OK;
	PGresult *res;
	int got, k2;
	size_t len;

	qs = md_db_ident(db, schema);
	qt = md_db_ident(db, table);
	if (!qs || !qt) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "cannot quote %s.%s", schema,
				  table);
		goto done;
	}
	len = strlen(qs) + strlen(qt) + 2;
	name = malloc(len);
	if (!name) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	snprintf(name, len, "%s.%s", qs, qt);
	snprintf(k1s, sizeof(k1s), "%d", MD_LOCK_KEY1);
	params[0] = k1s;
	params[1] = name;
	for (;;) {
		double left;

		rc = md_db_query(db, &res, sql, 2, params, err);
		if (rc)
			goto done;
		got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		k2 = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
		PQclear(res);
		if (got) {
			if (db->locked && lock_key2(db->lock_key) == k2) {
				/* held already: session locks stack, keep one */
				rc = md_db_query(db, &res, "SELECT pg_advisory_unlock($1::int, hashtext($2))",
						 2, params, err);
				if (rc)
					goto done;
				PQclear(res);
			}
			db->locked = 1;
			db->lock_key = ((long long)MD_LOCK_KEY1 << 32) | (long long)(uint32_t)k2;
			goto done;
		}
		left = wait_seconds - (now_seconds() - start);
		if (wait_seconds >= 0 && left <= 0) {
			rc = lock_holder(db, k2, err);
			goto done;
		}
		sleep_seconds(wait_seconds < 0 || left > LOCK_POLL_MS / 1000.0 ? LOCK_POLL_MS / 1000.0
									 : left);
	}
done:
	free(qs);
	free(qt);
	free(name);
	return rc;
}

md_status md_db_unlock(md_db *db, md_error *err)
{
	char k1s[16], k2s[16];
	const char *params[2] = { k1s, k2s };
	PGresult *res;
	md_status rc;

	if (!db || !db->locked)
		return MD_OK;
	snprintf(k1s, sizeof(k1s), "%d", MD_LOCK_KEY1);
	snprintf(k2s, sizeof(k2s), "%d", lock_key2(db->lock_key));
	rc = md_db_query(db, &res, "SELECT pg_advisory_unlock($1::int, $2::int)", 2, params, err);
	if (rc)
		return rc;
	PQclear(res);
	db->locked = 0;
	db->lock_key = 0;
	return MD_OK;
}

const char *md_db_name(const md_db *db)
{
	const char *n = db && db->conn ? PQdb(db->conn) : NULL;
	return n ? n : "";
}

void *md_db_canceller(md_db *db)
{
	return db && db->conn ? PQgetCancel(db->conn) : NULL;
}

int md_db_cancel_send(void *canceller)
{
	char buf[256];

	return canceller && PQcancel(canceller, buf, (int)sizeof(buf)) == 1 ? 0 : -1;
}

void md_db_canceller_free(void *canceller)
{
	if (canceller)
		PQfreeCancel(canceller);
}

int md_db_backend_pid(const md_db *db)
{
	return db && db->conn ? PQbackendPID(db->conn) : 0;
}
