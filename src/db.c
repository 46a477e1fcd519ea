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
 * key 2, objsubid = 2.
 *
 * Behind a pooler in transaction mode (PgBouncer) a session lock is taken
 * on whichever server connection ran that one statement, and that
 * connection goes to other clients: nobody in particular holds it.  Such a
 * connection is detected when connecting (detect_pooler) and locks with a
 * lease row instead: <schema>.<table>_lease, one row per lock key, taken
 * in one INSERT ... ON CONFLICT DO UPDATE ... WHERE expired, renewed by a
 * heartbeat thread on a connection of its own, checked before each COMMIT.
 * doc/locking.md tells the whole story. */
#include "db.h"

#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Key 1 of the advisory lock: "migd" in ASCII. */
#define MD_LOCK_KEY1 0x6d696764
#define LOCK_POLL_MS 200
/* [database] lease_expiry when a connection has none (md_db_connect_socket) */
#define LEASE_EXPIRY_DEFAULT_MS 30000
/* PostgreSQL's identifier limit (NAMEDATALEN - 1), as history.c's names */
#define NAME_MAX_BYTES 63

static md_status lease_release(md_db *db, md_error *err);
static md_status lease_verify_in_tx(md_db *db, md_error *err);
static md_status detect_pooler(md_db *db);
static char **params_copy(const char *const *kw, const char *const *vals);
static void params_free(char **params);

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

/* [database] schema: a tenant's own names first, for the whole session
 * (the runner also sets it in each migration's transaction, which is all
 * a pooler keeps) */
static md_status session_schema(md_db *db, const md_config *cfg, md_error *err)
{
	char *id;
	const char *param[1];
	PGresult *res = NULL;
	md_status rc;

	if (!cfg || !cfg->schema || db->pooled)
		return MD_OK;
	if (!(id = md_db_ident(db, cfg->schema)))
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	param[0] = id;
	rc = md_db_query(db, &res, "SELECT pg_catalog.set_config('search_path', $1, false)", 1,
			 param, err);
	PQclear(res);
	free(id);
	return rc;
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
	if (role && (!strcmp(role, "console") || !strcmp(role, "progress"))) {
		/* the console's connection (and the runner's progress watcher,
		 * which the runner waits on) must notice a dead network: a
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
	/* a NULL receiver changes nothing and returns the one in force */
	db->notice_default = PQsetNoticeReceiver(db->conn, NULL, NULL);
	{
		const char *sent = PQparameterStatus(db->conn, "application_name");

		db->app_name = strdup(sent ? sent : app);
		if (!db->app_name)
			goto nomem;
	}
	db->lock_mode = cfg ? cfg->lock_mode : 0;
	db->lease_expiry_ms = cfg && cfg->lease_expiry_ms > 0 ? cfg->lease_expiry_ms
							       : LEASE_EXPIRY_DEFAULT_MS;
	db->params = params_copy(kw2, vals2);
	if (!db->params || detect_pooler(db) != MD_OK)
		goto nomem;
	if ((rc = session_schema(db, cfg, err)) != MD_OK)
		goto fail;
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
	/* a NULL receiver changes nothing and returns the one in force */
	db->notice_default = PQsetNoticeReceiver(db->conn, NULL, NULL);
	sent = PQparameterStatus(db->conn, "application_name");
	db->app_name = strdup(sent ? sent : app);
	/* a cluster of migdeck's own, over its socket: never pooled */
	db->lease_expiry_ms = LEASE_EXPIRY_DEFAULT_MS;
	db->params = params_copy(kw, vals);
	if (!db->app_name || !db->params) {
		md_db_close(db);
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	*out = db;
	return MD_OK;
}

/* keyword, value, keyword, value, ..., NULL: a copy of what connected */
static char **params_copy(const char *const *kw, const char *const *vals)
{
	size_t n = 0, i;
	char **p;

	while (kw[n])
		n++;
	p = calloc(2 * n + 1, sizeof(*p));
	if (!p)
		return NULL;
	for (i = 0; i < n; i++) {
		p[2 * i] = strdup(kw[i]);
		p[2 * i + 1] = strdup(vals[i] ? vals[i] : "");
		if (!p[2 * i] || !p[2 * i + 1]) {
			free(p[2 * i]);
			p[2 * i] = NULL;
			params_free(p);
			return NULL;
		}
	}
	return p;
}

static void params_free(char **params)
{
	size_t i;

	for (i = 0; params && params[i]; i += 2) {
		free(params[i]);
		if (params[i + 1]) {
			/* a password may be among them */
			memset(params[i + 1], 0, strlen(params[i + 1]));
			free(params[i + 1]);
		}
	}
	free(params);
}

/* ---- a pooler in between? ---------------------------------------------------------
 *
 * A pooler (PgBouncer, Pgpool-II, Odyssey, a cloud proxy) terminates the
 * client's connection and runs its queries on server connections of its
 * own.  Nothing in the protocol says so, but the two ends of a direct
 * connection agree on facts a pooler cannot keep:
 *
 *  - the process id: PQbackendPID is what the server announced at startup
 *    (BackendKeyData); a pooler announces a key of its own (PgBouncer's is
 *    random), so pg_backend_pid() differs;
 *  - over TCP, our socket's local port (getsockname on PQsocket) is the
 *    inet_client_port() the backend sees; through a proxy the backend sees
 *    the proxy's socket (another port, or a Unix socket: NULL);
 *  - over a Unix socket, a backend that sees a TCP client
 *    (inet_client_addr() not NULL) serves someone else, and so does one
 *    whose port setting is not the port we connected to (the number in the
 *    socket's name).
 *
 * Any mismatch means pooled.  A plain TCP forwarder (an SSH tunnel, a
 * container's port mapping) is taken for a pooler as well: that is the
 * safe side, since a lease works everywhere and a session lock does not
 * work behind a transaction pooler.  A check the server cannot answer
 * counts as pooled too. */
static md_status detect_pooler(md_db *db)
{
	static const char sql[] = "SELECT pg_backend_pid(), inet_client_port(),"
				  " inet_client_addr() IS NOT NULL, current_setting('port')";
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char why[300];
	PGresult *res;
	int announced = PQbackendPID(db->conn), mine = -1, unix_sock = 0;

	why[0] = '\0';
	memset(&ss, 0, sizeof(ss));
	if (getsockname(PQsocket(db->conn), (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			mine = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			mine = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		else if (ss.ss_family == AF_UNIX)
			unix_sock = 1;
	}
	res = PQexec(db->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		char msg[200];

		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(db->conn));
		one_line(msg);
		snprintf(why, sizeof(why), "the server did not answer the check (%s)", msg);
	} else {
		const char *pid = PQgetvalue(res, 0, 0), *port = PQgetvalue(res, 0, 3);
		int nullport = PQgetisnull(res, 0, 1), tcp = !strcmp(PQgetvalue(res, 0, 2), "t");
		long cport = nullport ? -1 : strtol(PQgetvalue(res, 0, 1), NULL, 10);
		const char *ours = PQport(db->conn);

		if (strtol(pid, NULL, 10) != announced)
			snprintf(why, sizeof(why),
				 "the server process is pid %s, but the connection announced pid %d",
				 pid, announced);
		else if (mine >= 0 && nullport)
			snprintf(why, sizeof(why),
				 "the server sees a Unix-socket client, but we connected over TCP");
		else if (mine >= 0 && cport != mine)
			snprintf(why, sizeof(why), "the server sees client port %ld, but ours is %d",
				 cport, mine);
		else if (unix_sock && tcp)
			snprintf(why, sizeof(why),
				 "the server sees a TCP client, but we connected over a Unix socket");
		else if (unix_sock && ours && *ours && strcmp(ours, port) != 0)
			snprintf(why, sizeof(why),
				 "the server listens on port %s, but we connected to %s", port, ours);
	}
	PQclear(res);
	/* the check's own transaction is over: nothing to undo */
	if (!why[0])
		return MD_OK;
	db->pooled = 1;
	db->pooled_why = strdup(why);
	return db->pooled_why ? MD_OK : MD_ERR_NOMEM;
}

int md_db_pooled(const md_db *db)
{
	return db && db->pooled;
}

void md_db_set_lock_mode(md_db *db, int mode, long long lease_expiry_ms)
{
	if (!db)
		return;
	db->lock_mode = mode;
	if (lease_expiry_ms > 0)
		db->lease_expiry_ms = lease_expiry_ms;
}

/* Forget the statements prepared on it (the server's side is gone or
 * going: DISCARD ALL, PQfinish). */
static void forget_prepared(md_db *db)
{
	while (db->nprepared) {
		db->nprepared--;
		free(db->prepared[db->nprepared]);
		if (db->prepared_sql)
			free(db->prepared_sql[db->nprepared]);
	}
}

md_status md_db_reuse(md_db *db, const md_config *cfg, md_error *err)
{
	md_status rc;

	if (!db || !db->conn || PQstatus(db->conn) != CONNECTION_OK)
		return md_error_set(err, MD_ERR_DB, NULL, 0, 0,
				    "the connection cannot be used again: it is broken");
	if (db->pooled)
		return md_error_set(err, MD_ERR_DB, NULL, 0, 0,
				    "the connection cannot be used again: it goes through a pooler "
				    "(in session mode it would keep the last work's session)");
	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE || db->locked || db->lease)
		return md_error_set(err, MD_ERR_DB, NULL, 0, 0,
				    "the connection cannot be used again: it is %s",
				    PQtransactionStatus(db->conn) != PQTRANS_IDLE
					    ? "inside a transaction"
					    : "still locked");
	/* notices to libpq's own receiver again, not to the last work's (a
	 * runner points it at itself, md_runner_init; libpq's ignores its
	 * argument) */
	if (db->notice_default)
		PQsetNoticeReceiver(db->conn, db->notice_default, NULL);
	if ((rc = md_db_exec(db, "DISCARD ALL", err)) != MD_OK)
		return rc;
	forget_prepared(db);
	db->lock_mode = cfg ? cfg->lock_mode : 0;
	db->lease_expiry_ms = cfg && cfg->lease_expiry_ms > 0 ? cfg->lease_expiry_ms
							       : LEASE_EXPIRY_DEFAULT_MS;
	return session_schema(db, cfg, err);
}

void md_db_close(md_db *db)
{
	if (!db)
		return;
	/* Closing the session releases its advisory locks anyway; unlock
	 * politely when the connection can still run a query.  A lease is
	 * released through its heartbeat's connection, whatever the state of
	 * this one; a transaction left open here (which may hold the row FOR
	 * SHARE: md_db_commit) ends first, so the release does not wait on
	 * it. */
	if (db->lease) {
		if (db->conn && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
			PQfinish(db->conn);
			db->conn = NULL;
		}
		(void)lease_release(db, NULL);
	} else if (db->locked && db->conn && PQstatus(db->conn) == CONNECTION_OK &&
		 PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		(void)md_db_unlock(db, NULL);
	if (db->conn)
		PQfinish(db->conn);
	forget_prepared(db);
	free(db->prepared);
	free(db->prepared_sql);
	free(db->pooled_why);
	params_free(db->params);
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

	/* holding a lease: commit only while it is still ours */
	if (db->lease && was_open && (rc = lease_verify_in_tx(db, err)) != MD_OK)
		return rc;
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
	size_t i;

	*out = NULL;
	if (!md_db_is_prepared(db, name)) {
		char **np, **ns, *text = NULL;
		if (!sql)
			return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
					    "statement %s is not prepared", name);
		if (db->pooled) {
			/* a transaction pooler hands the server connection a
			 * named statement lives on to others: keep the text */
			if (!(text = strdup(sql)))
				return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		} else {
			rc = take_result(db, PQprepare(db->conn, name, sql, nparams, NULL), NULL,
					 err);
			if (rc != MD_OK)
				return rc;
		}
		np = realloc(db->prepared, (db->nprepared + 1) * sizeof(*np));
		if (np)
			db->prepared = np;
		ns = np ? realloc(db->prepared_sql, (db->nprepared + 1) * sizeof(*ns)) : NULL;
		if (ns)
			db->prepared_sql = ns;
		if (!np || !ns || !(np[db->nprepared] = strdup(name))) {
			free(text);
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		}
		ns[db->nprepared] = text;
		db->nprepared++;
	}
	for (i = 0; db->pooled && i < db->nprepared; i++)
		if (strcmp(db->prepared[i], name) == 0 && db->prepared_sql[i])
			return take_result(db,
					   PQexecParams(db->conn, db->prepared_sql[i], nparams, NULL,
							params, NULL, NULL, 0),
					   out, err);
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

/* A lease held (see the lease section below). */
struct md_lease {
	char *key;            /* "schema"."table": the row's lock_key */
	char *table;          /* "schema"."table_lease" */
	char *renew_sql;      /* the heartbeat's UPDATE */
	char token[40];       /* this holder's: 32 hex digits */
	long long expiry_ms;
	PGconn *hb;           /* the lease's own connection: taken, renewed, released there */
	pthread_t thread;
	int running;          /* the heartbeat thread was started */
	pthread_mutex_t mu;   /* guards what follows */
	pthread_cond_t cv;
	PGcancel *cancel;     /* for hb, to end a renewal that hangs */
	int stop, busy, lost;
	char why[400];        /* how it was lost */
	double renewed;       /* monotonic time just before the last renewal that worked */
};

static int lock_key2(long long key)
{
	return (int)(int32_t)(uint32_t)((unsigned long long)key & 0xffffffffu);
}

/* A query on a bare connection: MD_OK with *out (tuples or command OK),
 * or err filled. */
static md_status conn_query(PGconn *conn, PGresult **out, const char *sql, int nparams,
			    const char *const *params, md_error *err)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	*out = NULL;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		*out = res;
		return MD_OK;
	}
	md_db_error(err, conn, res);
	PQclear(res);
	return MD_ERR_DB;
}

/* history.c's way with a long name: shortened (at a character boundary) to
 * fit PostgreSQL's 63 bytes with its suffix. */
static void suffixed(char *out, const char *base, const char *suffix)
{
	size_t n = strlen(base), s = strlen(suffix);

	if (n + s > NAME_MAX_BYTES) {
		n = NAME_MAX_BYTES - s;
		while (n > 0 && ((unsigned char)base[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, base, n);
	memcpy(out + n, suffix, s + 1);
}

/* The lock's name, "schema"."table" (key 2 is its hashtext; the lease
 * row's lock_key), and the lease table, "schema"."table_lease", both
 * malloc'd. */
static md_status lock_names(md_db *db, const char *schema, const char *table, char **name,
			    char **lease, md_error *err)
{
	char lt[NAME_MAX_BYTES + 1];
	char *qs = md_db_ident(db, schema), *qt = md_db_ident(db, table), *ql;
	md_status rc = MD_OK;

	*name = *lease = NULL;
	suffixed(lt, table, "_lease");
	ql = md_db_ident(db, lt);
	if (!qs || !qt || !ql) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "cannot quote %s.%s", schema, table);
	} else if (asprintf(name, "%s.%s", qs, qt) < 0 || asprintf(lease, "%s.%s", qs, ql) < 0) {
		free(*name);
		*name = *lease = NULL;
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	free(qs);
	free(qt);
	free(ql);
	return rc;
}

/* Who holds the advisory lock (key 2 = k2) as "pid N (user@host, app,
 * since T)" into out, or "" when nobody does (others_only: nobody but this
 * session). */
static md_status lock_holder_text(PGconn *conn, int k2, int others_only, char *out, size_t outsz,
				  md_error *err)
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
		"   AND (NOT $3::bool OR l.pid <> pg_backend_pid())"
		" LIMIT 1";
	char k1s[16], k2s[16];
	const char *params[3] = { k1s, k2s, others_only ? "t" : "f" };
	PGresult *res;
	md_status rc;

	out[0] = '\0';
	snprintf(k1s, sizeof(k1s), "%d", MD_LOCK_KEY1);
	snprintf(k2s, sizeof(k2s), "%d", k2);
	rc = conn_query(conn, &res, sql, 3, params, err);
	if (rc)
		return rc;
	if (PQntuples(res) == 1)
		snprintf(out, outsz, "pid %s (%s@%s, %s, since %s)", PQgetvalue(res, 0, 0),
			 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
			 PQgetvalue(res, 0, 4));
	PQclear(res);
	return MD_OK;
}

/* Who holds a live lease on key in table (not token, when given) as "pid N
 * (user@host, app, since T; lease expires T)" into out, or "". */
static md_status lease_holder_text(PGconn *conn, const char *table, const char *key,
				   const char *token, char *out, size_t outsz, md_error *err)
{
	const char *params[2] = { key, token };
	PGresult *res;
	char *sql;
	md_status rc;

	out[0] = '\0';
	if (asprintf(&sql,
		     "SELECT pid, holder, application,"
		     " to_char(acquired_at, 'YYYY-MM-DD HH24:MI:SSOF'),"
		     " to_char(expires_at, 'YYYY-MM-DD HH24:MI:SSOF')"
		     " FROM %s WHERE lock_key = $1 AND expires_at > clock_timestamp()"
		     " AND token IS DISTINCT FROM $2",
		     table) < 0)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	rc = conn_query(conn, &res, sql, 2, params, err);
	free(sql);
	if (rc)
		return rc;
	if (PQntuples(res) == 1)
		snprintf(out, outsz, "pid %s (%s, %s, since %s; lease expires %s)",
			 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
			 PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4));
	PQclear(res);
	return MD_OK;
}

md_status md_db_lock_holder(md_db *db, const char *schema, const char *table, char *out,
			    size_t outsz, md_error *err)
{
	char *name = NULL, *lease = NULL;
	const char *params[2];
	PGresult *res = NULL;
	md_status rc;
	int k2, has_lease;

	out[0] = '\0';
	if ((rc = lock_names(db, schema, table, &name, &lease, err)) != MD_OK)
		goto done;
	params[0] = name;
	params[1] = lease;
	if ((rc = md_db_query(db, &res, "SELECT hashtext($1), to_regclass($2) IS NOT NULL", 2,
			      params, err)) != MD_OK)
		goto done;
	k2 = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	has_lease = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	rc = lock_holder_text(db->conn, k2, 1, out, outsz, err);
	if (rc == MD_OK && !out[0] && has_lease)
		rc = lease_holder_text(db->conn, lease, name, db->lease ? db->lease->token : NULL, out,
				       outsz, err);
done:
	free(name);
	free(lease);
	return rc;
}

int md_db_alive(const md_db *db)
{
	return db && db->conn && PQstatus(db->conn) == CONNECTION_OK;
}

/* ---- the advisory lock ---------------------------------------------------------- */

static md_status advisory_lock(md_db *db, const char *name, const char *lease,
			       double wait_seconds, md_error *err)
{
	static const char sql[] = "SELECT pg_try_advisory_lock($1::int, hashtext($2)), hashtext($2),"
				  " to_regclass($3) IS NOT NULL";
	char k1s[16], who[600];
	const char *params[3];
	double start = now_seconds();
	md_status rc = MD_OK;
	PGresult *res;
	int got, k2, has_lease;

	snprintf(k1s, sizeof(k1s), "%d", MD_LOCK_KEY1);
	params[0] = k1s;
	params[1] = name;
	params[2] = lease;
	for (;;) {
		double left;

		who[0] = '\0';
		rc = md_db_query(db, &res, sql, 3, params, err);
		if (rc)
			return rc;
		got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		k2 = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
		has_lease = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
		PQclear(res);
		/* a runner through a pooler holds a lease, not this lock: it
		 * wrote its row before it looked for this lock, and this lock
		 * is taken before the row is looked for, so of two runners at
		 * least one sees the other */
		if (got && has_lease) {
			rc = lease_holder_text(db->conn, lease, name, NULL, who, sizeof(who), err);
			if (rc == MD_OK && who[0]) {
				rc = md_db_query(db, &res,
						 "SELECT pg_advisory_unlock($1::int, hashtext($2))", 2,
						 params, err);
				if (rc == MD_OK)
					PQclear(res);
				got = 0;
			}
			if (rc)
				return rc;
		}
		if (got) {
			if (db->locked && lock_key2(db->lock_key) == k2) {
				/* held already: session locks stack, keep one */
				rc = md_db_query(db, &res, "SELECT pg_advisory_unlock($1::int, hashtext($2))",
						 2, params, err);
				if (rc)
					return rc;
				PQclear(res);
			}
			db->locked = 1;
			db->lock_key = ((long long)MD_LOCK_KEY1 << 32) | (long long)(uint32_t)k2;
			return MD_OK;
		}
		left = wait_seconds - (now_seconds() - start);
		if (wait_seconds >= 0 && left <= 0) {
			if (!who[0] && (rc = lock_holder_text(db->conn, k2, 1, who, sizeof(who), err)))
				return rc;
			if (who[0])
				return md_error_set(err, MD_ERR_LOCKED, NULL, 0, 0, "locked by %s", who);
			return md_error_set(err, MD_ERR_LOCKED, NULL, 0, 0,
					    "locked by another session (it has just let go: try again)");
		}
		sleep_seconds(wait_seconds < 0 || left > LOCK_POLL_MS / 1000.0 ? LOCK_POLL_MS / 1000.0
									 : left);
	}
}

/* ---- the lease ------------------------------------------------------------------- */

static void random_token(char out[40])
{
	unsigned char b[16];
	size_t i;

	if (getentropy(b, sizeof(b)) != 0) {
		/* no entropy source: the clock, the pid and an address, mixed */
		unsigned long long x = (unsigned long long)(now_seconds() * 1e9) ^
				       ((unsigned long long)getpid() << 32) ^ (uintptr_t)&b;

		for (i = 0; i < sizeof(b); i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			b[i] = (unsigned char)(x >> 56);
		}
	}
	for (i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Open the lease's connection: the parameters db connected with, its own
 * application name (a user's application_name still wins) and a deadline
 * on connecting. */
static PGconn *lease_connect(const md_db *db, md_error *err)
{
	const char **kw, **vals, *password = NULL;
	char user[128], app[320], msg[1024];
	size_t n = 0, i, k = 0;
	PGconn *c;

	while (db->params && db->params[2 * n])
		n++;
	kw = calloc(n + 8, sizeof(*kw));
	vals = calloc(n + 8, sizeof(*vals));
	if (!kw || !vals) {
		free(kw);
		free(vals);
		md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		kw[k] = db->params[2 * i];
		vals[k++] = db->params[2 * i + 1];
		if (!strcmp(db->params[2 * i], "password"))
			password = db->params[2 * i + 1];
	}
	md_os_user(user, sizeof(user));
	snprintf(app, sizeof(app), "migdeck:%s:lease", user);
	kw[k] = "fallback_application_name"; /* a later keyword wins */
	vals[k++] = app;
	if (!has_keyword(kw, "connect_timeout") && !getenv("PGCONNECT_TIMEOUT")) {
		kw[k] = "connect_timeout";
		vals[k++] = "10";
	}
	{
		/* a half-open network must not hold the heartbeat (and the
		 * release that joins it) for the TCP timeout */
		static const char *const ka[][2] = {
			{ "keepalives", "1" },       { "keepalives_idle", "5" },
			{ "keepalives_interval", "2" }, { "keepalives_count", "3" },
			{ "tcp_user_timeout", "10000" },
		};
		size_t m;

		for (m = 0; m < sizeof(ka) / sizeof(ka[0]); m++)
			if (!has_keyword(kw, ka[m][0])) {
				kw[k] = ka[m][0];
				vals[k++] = ka[m][1];
			}
	}
	kw[k] = NULL;
	vals[k] = NULL;
	c = PQconnectdbParams(kw, vals, 0);
	free(kw);
	free(vals);
	if (!c) {
		md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		one_line(msg);
		mask_secret(msg, sizeof(msg), password);
		mask_secret(msg, sizeof(msg), getenv("PGPASSWORD"));
		md_error_set(err, MD_ERR_CONNECT, NULL, 0, 0,
			     "cannot open the lease's own connection to %s: %s",
			     db->target && db->target[0] ? db->target : "the default database", msg);
		PQfinish(c);
		return NULL;
	}
	return c;
}

static void lease_free(struct md_lease *l)
{
	if (!l)
		return;
	if (l->cancel)
		PQfreeCancel(l->cancel);
	if (l->hb)
		PQfinish(l->hb);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l->key);
	free(l->table);
	free(l->renew_sql);
	free(l);
}

static struct md_lease *lease_new(md_db *db, const char *name, const char *table,
				  md_error *err)
{
	struct md_lease *l = calloc(1, sizeof(*l));
	pthread_condattr_t ca;

	if (!l) {
		md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	l->expiry_ms = db->lease_expiry_ms > 0 ? db->lease_expiry_ms : LEASE_EXPIRY_DEFAULT_MS;
	random_token(l->token);
	l->key = strdup(name);
	l->table = strdup(table);
	if (!l->key || !l->table ||
	    asprintf(&l->renew_sql,
		     "UPDATE %s SET renewed_at = now(),"
		     " expires_at = now() + $3::bigint * interval '1 millisecond'"
		     " WHERE lock_key = $1 AND token = $2",
		     table) < 0) {
		l->renew_sql = NULL;
		lease_free(l);
		md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		return NULL;
	}
	if (!(l->hb = lease_connect(db, err))) {
		lease_free(l);
		return NULL;
	}
	l->cancel = PQgetCancel(l->hb);
	return l;
}

/* Create the lease table when it is missing (and its schema).  It cannot be
 * one of the bookkeeping files of migrations/: those run under the lock.
 * Two runners creating it at once queue on a transaction-level advisory
 * lock (which a transaction pooler keeps whole). */
static md_status lease_table_ensure(md_db *db, PGconn *conn, const char *schema,
				    const char *table, md_error *err)
{
	char *qs = md_db_ident(db, schema), *lit = NULL, *sql = NULL;
	const char *params[2] = { table, qs };
	PGresult *res = NULL;
	md_status rc;
	int has_table, has_schema;

	if (!qs)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "cannot quote %s", schema);
	rc = conn_query(conn, &res,
			"SELECT to_regclass($1) IS NOT NULL, to_regnamespace($2) IS NOT NULL", 2,
			params, err);
	if (rc)
		goto done;
	has_table = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	has_schema = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	res = NULL;
	if (has_table)
		goto done;
	lit = md_db_literal(db, table);
	/* CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when
	 * the schema is there: only for a missing one */
	if (!lit ||
	    asprintf(&sql,
		     "BEGIN; SET LOCAL client_min_messages = warning;"
		     " SELECT pg_advisory_xact_lock(hashtext('migdeck lease table ' || %s)::bigint);"
		     " %s%s%s"
		     " CREATE TABLE IF NOT EXISTS %s ("
		     "  lock_key text PRIMARY KEY,"
		     "  token text NOT NULL,"
		     "  holder text NOT NULL,"
		     "  pid integer NOT NULL,"
		     "  application text NOT NULL,"
		     "  acquired_at timestamptz NOT NULL,"
		     "  renewed_at timestamptz NOT NULL,"
		     "  expires_at timestamptz NOT NULL);"
		     " COMMENT ON TABLE %s IS 'migdeck''s runner lock behind a connection pooler:"
		     " one row per lock, renewed while held (doc/locking.md)';"
		     " COMMIT",
		     lit, has_schema ? "" : "CREATE SCHEMA IF NOT EXISTS ", has_schema ? "" : qs,
		     has_schema ? "" : ";", table, table) < 0) {
		sql = NULL;
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		char what[sizeof(err->msg)];

		md_db_error(err, conn, res);
		if (err) {
			snprintf(what, sizeof(what), "cannot create the lease table %.200s: %.780s",
				 table, err->msg);
			snprintf(err->msg, sizeof(err->msg), "%s", what);
		}
		rc = MD_ERR_DB;
		if (PQtransactionStatus(conn) != PQTRANS_IDLE)
			PQclear(PQexec(conn, "ROLLBACK"));
	}
done:
	PQclear(res);
	free(qs);
	free(lit);
	free(sql);
	return rc;
}

/* 1 renewed, 0 the row is no longer ours, -1 failed (msg says why). */
static int lease_renew(struct md_lease *l, char *msg, size_t msgsz)
{
	char ms[32];
	const char *params[3] = { l->key, l->token, ms };
	PGresult *res;
	int r;

	snprintf(ms, sizeof(ms), "%lld", l->expiry_ms);
	res = PQexecParams(l->hb, l->renew_sql, 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		r = strcmp(PQcmdTuples(res), "1") == 0;
	} else {
		snprintf(msg, msgsz, "%s", PQerrorMessage(l->hb));
		one_line(msg);
		r = -1;
	}
	PQclear(res);
	return r;
}

/* The heartbeat: renew every third of the expiry until told to stop; a
 * row found gone or taken, or no renewal for a whole expiry, is a lost
 * lease (and the end of the heartbeat). */
static void *lease_heartbeat(void *arg)
{
	struct md_lease *l = arg;
	double interval = (double)l->expiry_ms / 3000.0;
	char msg[300];

	pthread_mutex_lock(&l->mu);
	while (!l->stop && !l->lost) {
		struct timespec dl;
		double t0;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += (time_t)interval;
		dl.tv_nsec += (long)((interval - (double)(time_t)interval) * 1e9);
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &dl) != ETIMEDOUT)
			;
		if (l->stop)
			break;
		l->busy = 1;
		pthread_mutex_unlock(&l->mu);
		t0 = now_seconds();
		msg[0] = '\0';
		r = lease_renew(l, msg, sizeof(msg));
		if (r < 0 && PQstatus(l->hb) != CONNECTION_OK) {
			/* the connection broke: once more on a new one */
			PQreset(l->hb);
			if (PQstatus(l->hb) == CONNECTION_OK)
				r = lease_renew(l, msg, sizeof(msg));
		}
		pthread_mutex_lock(&l->mu);
		l->busy = 0;
		if (l->cancel)
			PQfreeCancel(l->cancel);
		l->cancel = PQgetCancel(l->hb);
		if (r == 1) {
			l->renewed = t0;
		} else if (r == 0) {
			l->lost = 1;
			snprintf(l->why, sizeof(l->why),
				 "its row was taken over or removed: it had expired");
		} else if (!l->stop && now_seconds() - l->renewed > (double)l->expiry_ms / 1000.0) {
			l->lost = 1;
			snprintf(l->why, sizeof(l->why), "it could not be renewed for %.1f s (%s)",
				 now_seconds() - l->renewed, msg);
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* Lost, by the heartbeat's word or by the clock (no renewal for a whole
 * expiry: the server may count it expired already). */
static int lease_is_lost(struct md_lease *l, char *why, size_t whysz)
{
	int lost;

	pthread_mutex_lock(&l->mu);
	if (!l->lost && now_seconds() - l->renewed > (double)l->expiry_ms / 1000.0) {
		l->lost = 1;
		snprintf(l->why, sizeof(l->why), "it was not renewed for %.1f s",
			 now_seconds() - l->renewed);
	}
	lost = l->lost;
	if (why)
		snprintf(why, whysz, "%s", l->why);
	pthread_mutex_unlock(&l->mu);
	return lost;
}

int md_db_lease_lost(const md_db *db)
{
	return db && db->lease && db->locked && lease_is_lost(db->lease, NULL, 0);
}

md_status md_db_lease_check(md_db *db, md_error *err)
{
	char why[400];

	if (!db || !db->lease || !db->locked || !lease_is_lost(db->lease, why, sizeof(why)))
		return MD_OK;
	return md_error_set(err, MD_ERR_LOCKED, NULL, 0, 0,
			    "the migdeck lease on %s was lost (%s): another runner may hold it now; "
			    "stopping",
			    db->lease->key, why);
}

/* Before COMMIT: the row is still ours and unexpired, and stays so (FOR
 * SHARE holds off a takeover) until the COMMIT.  A savepoint keeps a
 * check that cannot run (a migration that SET ROLE to a role without
 * rights on the lease table) from spoiling the transaction: then the
 * heartbeat's word alone decides. */
static md_status lease_verify_in_tx(md_db *db, md_error *err)
{
	struct md_lease *l = db->lease;
	char *key = NULL, *tok = NULL, *sql = NULL;
	PGresult *res;
	md_status rc = MD_OK;
	int rows = -1, failed = 0;

	if (!db->locked)
		return MD_OK;
	if ((rc = md_db_lease_check(db, err)) != MD_OK)
		goto rollback;
	key = md_db_literal(db, l->key);
	tok = md_db_literal(db, l->token);
	if (!key || !tok ||
	    asprintf(&sql,
		     "SAVEPOINT migdeck_lease;"
		     " SELECT count(*) FROM (SELECT 1 FROM %s WHERE lock_key = %s AND token = %s"
		     " AND expires_at > clock_timestamp() FOR SHARE) x;"
		     " RELEASE SAVEPOINT migdeck_lease",
		     l->table, key, tok) < 0) {
		sql = NULL;
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	if (!PQsendQuery(db->conn, sql)) {
		rc = md_db_error(err, db->conn, NULL);
		goto done;
	}
	while ((res = PQgetResult(db->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_TUPLES_OK && PQntuples(res) == 1)
			rows = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
		else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			failed = 1;
		PQclear(res);
	}
	if (failed) {
		/* back to where the migration left it */
		if (PQtransactionStatus(db->conn) == PQTRANS_INERROR) {
			res = PQexec(db->conn, "ROLLBACK TO SAVEPOINT migdeck_lease;"
					       " RELEASE SAVEPOINT migdeck_lease");
			PQclear(res);
		}
		if (PQtransactionStatus(db->conn) != PQTRANS_INTRANS)
			rc = md_error_set(err, MD_ERR_DB, NULL, 0, 0,
					  "the lease check before COMMIT broke the transaction");
		goto done;
	}
	if (rows == 1)
		goto done;
	pthread_mutex_lock(&l->mu);
	l->lost = 1;
	snprintf(l->why, sizeof(l->why), "its row had expired or was taken over at COMMIT");
	pthread_mutex_unlock(&l->mu);
	rc = md_db_lease_check(db, err);
rollback:
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
	if (err)
		snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg),
			 ": the transaction was rolled back");
done:
	free(key);
	free(tok);
	free(sql);
	return rc;
}

/* Take the lease row: one statement, so of two runners only one gets it
 * (the other's ON CONFLICT waits for the first and then finds the row
 * live, so its WHERE leaves it).  Our own row (the same token) is renewed;
 * an expired one is taken over.  Times are the server's: now() (the start
 * of this one-statement transaction, so the row's times agree with each
 * other and are no later than the moment the client counts from) and
 * clock_timestamp() to judge expiry. */
static md_status lease_try(md_db *db, struct md_lease *l, int *got, md_error *err)
{
	char pid[16], ms[32], host[256], *sql = NULL;
	const char *params[6] = { l->key, l->token, host, pid, db->app_name ? db->app_name : "", ms };
	PGresult *res;
	md_status rc;

	*got = 0;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(ms, sizeof(ms), "%lld", l->expiry_ms);
	if (asprintf(&sql,
		     "INSERT INTO %s AS l (lock_key, token, holder, pid, application, acquired_at,"
		     " renewed_at, expires_at)"
		     " VALUES ($1, $2, current_user || '@' || $3, $4::int, $5, now(), now(),"
		     " now() + $6::bigint * interval '1 millisecond')"
		     " ON CONFLICT (lock_key) DO UPDATE SET token = excluded.token,"
		     " holder = excluded.holder, pid = excluded.pid, application = excluded.application,"
		     " acquired_at = CASE WHEN l.token = excluded.token THEN l.acquired_at"
		     " ELSE excluded.acquired_at END,"
		     " renewed_at = excluded.renewed_at, expires_at = excluded.expires_at"
		     " WHERE l.token = excluded.token OR l.expires_at <= clock_timestamp()"
		     " RETURNING 1",
		     l->table) < 0)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	rc = conn_query(l->hb, &res, sql, 6, params, err);
	free(sql);
	if (rc)
		return rc;
	*got = PQntuples(res) == 1;
	PQclear(res);
	return MD_OK;
}

static md_status lease_delete(PGconn *conn, struct md_lease *l, md_error *err)
{
	const char *params[2] = { l->key, l->token };
	PGresult *res;
	char *sql;
	md_status rc;

	if (asprintf(&sql, "DELETE FROM %s WHERE lock_key = $1 AND token = $2", l->table) < 0)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	rc = conn_query(conn, &res, sql, 2, params, err);
	free(sql);
	if (rc == MD_OK)
		PQclear(res);
	return rc;
}

static md_status lease_lock(md_db *db, const char *schema, const char *name, const char *table,
			    double wait_seconds, md_error *err)
{
	struct md_lease *l = NULL;
	double start = now_seconds();
	const char *params[1] = { name };
	char who[600];
	PGresult *res;
	md_status rc;
	int got, k2;

	if (db->lease) {
		char why[400];

		if (strcmp(db->lease->key, name) != 0)
			return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
					    "this connection holds the lease on %s already",
					    db->lease->key);
		if (!lease_is_lost(db->lease, why, sizeof(why)))
			return MD_OK; /* held, and the heartbeat renews it */
		(void)lease_release(db, NULL);
	}
	if (!(l = lease_new(db, name, table, err)))
		return err ? err->code : MD_ERR_CONNECT;
	if ((rc = lease_table_ensure(db, l->hb, schema, table, err)) != MD_OK)
		goto fail;
	if ((rc = conn_query(l->hb, &res, "SELECT hashtext($1)", 1, params, err)) != MD_OK)
		goto fail;
	k2 = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	for (;;) {
		double left, t0 = now_seconds();

		who[0] = '\0';
		if ((rc = lease_try(db, l, &got, err)) != MD_OK)
			goto fail;
		/* a runner straight to the server holds the advisory lock, not
		 * a lease: our row is written before we look for its lock, and
		 * it takes its lock before it looks for rows (advisory_lock), so
		 * of two runners at least one sees the other.  Any session
		 * counts, ours included: behind a pooler ours is anybody's. */
		if (got) {
			if ((rc = lock_holder_text(l->hb, k2, 0, who, sizeof(who), err)) != MD_OK) {
				md_error ignore;

				(void)lease_delete(l->hb, l, &ignore); /* never leave our row */
				goto fail;
			}
			if (who[0]) {
				if ((rc = lease_delete(l->hb, l, err)) != MD_OK)
					goto fail;
				got = 0;
			}
		}
		if (got) {
			l->renewed = t0;
			break;
		}
		left = wait_seconds - (now_seconds() - start);
		if (wait_seconds >= 0 && left <= 0) {
			if (!who[0] && (rc = lease_holder_text(l->hb, table, name, l->token, who,
							       sizeof(who), err)) != MD_OK)
				goto fail;
			rc = who[0] ? md_error_set(err, MD_ERR_LOCKED, NULL, 0, 0, "locked by %s", who)
				    : md_error_set(err, MD_ERR_LOCKED, NULL, 0, 0,
						   "locked by another session (it has just let go: "
						   "try again)");
			goto fail;
		}
		sleep_seconds(wait_seconds < 0 || left > LOCK_POLL_MS / 1000.0 ? LOCK_POLL_MS / 1000.0
									 : left);
	}
	if (pthread_create(&l->thread, NULL, lease_heartbeat, l) != 0) {
		md_error ignore;

		(void)lease_delete(l->hb, l, &ignore);
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0,
				  "cannot start the lease's heartbeat thread");
		goto fail;
	}
	l->running = 1;
	db->lease = l;
	db->locked = 1;
	db->lock_key = ((long long)MD_LOCK_KEY1 << 32) | (long long)(uint32_t)k2;
	return MD_OK;
fail:
	lease_free(l);
	return rc;
}

/* Stop the heartbeat, delete the row (if ours), free the lease. */
static md_status lease_release(md_db *db, md_error *err)
{
	struct md_lease *l = db->lease;
	md_status rc = MD_OK;
	char why[400];
	int lost;

	if (!l)
		return MD_OK;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_cond_signal(&l->cv);
	if (l->busy && l->cancel) {
		char buf[256];

		(void)PQcancel(l->cancel, buf, (int)sizeof(buf));
	}
	pthread_mutex_unlock(&l->mu);
	if (l->running)
		pthread_join(l->thread, NULL);
	l->running = 0;
	lost = lease_is_lost(l, why, sizeof(why));
	if (PQstatus(l->hb) != CONNECTION_OK)
		PQreset(l->hb);
	if (PQstatus(l->hb) == CONNECTION_OK)
		rc = lease_delete(l->hb, l, err);
	else if (db->conn && PQstatus(db->conn) == CONNECTION_OK &&
		 PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		rc = lease_delete(db->conn, l, err);
	else
		rc = md_error_set(err, MD_ERR_DB, NULL, 0, 0,
				  "cannot release the lease on %s (no connection): it expires by itself",
				  l->key);
	if (rc == MD_OK && lost)
		rc = md_error_set(err, MD_ERR_LOCKED, NULL, 0, 0,
				  "the migdeck lease on %s was lost while held (%s)", l->key, why);
	lease_free(l);
	db->lease = NULL;
	db->locked = 0;
	db->lock_key = 0;
	return rc;
}

/* ---- taking and releasing --------------------------------------------------------- */

md_status md_db_lock(md_db *db, const char *schema, const char *table, double wait_seconds,
		     md_error *err)
{
	char *name = NULL, *lease = NULL;
	md_status rc;

	if ((rc = lock_names(db, schema, table, &name, &lease, err)) != MD_OK)
		return rc;
	if (db->pooled && db->lock_mode == 1)
		rc = md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0,
				  "[database] lock = advisory, but the connection goes through a pooler "
				  "or proxy (%s): a session advisory lock there is held by no one in "
				  "particular; set lock = lease or auto",
				  db->pooled_why ? db->pooled_why : "?");
	else if (db->lock_mode == 2 || (db->lock_mode == 0 && db->pooled))
		rc = lease_lock(db, schema, name, lease, wait_seconds, err);
	else
		rc = advisory_lock(db, name, lease, wait_seconds, err);
	free(name);
	free(lease);
	return rc;
}

md_status md_db_unlock(md_db *db, md_error *err)
{
	char k1s[16], k2s[16];
	const char *params[2] = { k1s, k2s };
	PGresult *res;
	md_status rc;

	if (db && db->lease)
		return lease_release(db, err);
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

int md_db_wait(md_db *db, long long first_ms, md_db_tick_fn tick, void *payload)
{
	PGconn *conn = db ? db->conn : NULL;
	double due = first_ms >= 0 ? now_seconds() + (double)first_ms / 1000.0 : -1;
	int fd = conn ? PQsocket(conn) : -1;

	if (fd < 0)
		return -1;
	for (;;) {
		struct pollfd pfd;
		int timeout = 1000; /* at most: data libpq holds (TLS) is read again */

		if (!PQconsumeInput(conn))
			return -1;
		if (!PQisBusy(conn))
			return 0;
		if (due >= 0 && tick) {
			double left = due - now_seconds();
			long long next;

			if (left <= 0) {
				next = tick(payload);
				due = next >= 0 ? now_seconds() + (double)next / 1000.0 : -1;
				continue;
			}
			if (left * 1000.0 < timeout)
				timeout = (int)(left * 1000.0) + 1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
			return -1;
	}
}
