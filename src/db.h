/* db.h - the one seam to libpq.  Every query the engine sends goes through
 * here, so errors are captured one way (SQLSTATE, message, DETAIL, HINT,
 * CONTEXT, position) and every PGresult is cleared where it is received. */
#ifndef MIGDECK_DB_H
#define MIGDECK_DB_H

#include <libpq-fe.h>

#include "config.h"
#include "error.h"

typedef struct md_db {
	PGconn *conn;
	int server_version;      /* PQserverVersion, e.g. 150004 */
	char *target;            /* the connection as shown: password masked */
	char *app_name;          /* application_name sent: "migdeck:<os user>" */
	int locked;              /* holds the migdeck lock (advisory or lease) */
	long long lock_key;      /* the key it holds */
	char **prepared;         /* names of the statements prepared on it */
	char **prepared_sql;     /* pooled: their text, sent unnamed each time */
	size_t nprepared;
	int pooled;              /* goes through a pooler or proxy (md_db_pooled) */
	char *pooled_why;        /* what gave it away, for messages; NULL when not */
	int lock_mode;           /* [database] lock: 0 auto, 1 advisory, 2 lease */
	long long lease_expiry_ms; /* [database] lease_expiry */
	char **params;           /* keyword, value, ..., NULL: how it connected
	                            (the lease heartbeat opens its own connection) */
	struct md_lease *lease;  /* the lease held (db.c), or NULL */
	PQnoticeReceiver notice_default; /* libpq's own (md_db_reuse puts it back) */
} md_db;

/* Connect with the settings of cfg (libpq applies PG* variables, .pgpass
 * and service files itself).  application_name is "migdeck:<os user>"
 * (with ":<role>" when role is not NULL, e.g. "monitor").  Role "console"
 * (a connection that stays open and must notice a dead network) also gets
 * connect_timeout=5 and TCP keepalives (idle 5 s, every 2 s, 3 tries;
 * tcp_user_timeout 10 s) unless the settings or PGCONNECT_TIMEOUT say
 * otherwise.  A failure is
 * MD_ERR_CONNECT with libpq's message (never a password). */
md_status md_db_connect(md_db **out, const md_config *cfg, const char *role, md_error *err);
/* md_db_connect, retrying a server that is down or still starting up
 * (connection refused, "the database system is starting up": libpq's
 * PQpingParams says no response or rejected) cfg->connect_retries times,
 * pausing 1 s, then doubling, at most cfg->connect_retries_interval s
 * (Flyway's connectRetries / connectRetriesInterval).  Before each pause
 * note gets "cannot connect (<libpq's message>): retry N of M in S s" (no
 * password).  Other failures are final at once.  The CLI's way in; the
 * console's model has its own loop (src/deck.c). */
md_status md_db_connect_retry(md_db **out, const md_config *cfg, const char *role,
			      md_warn_fn note, void *payload, md_error *err);
void md_db_close(md_db *db);                 /* accepts NULL; unlocks first */
/* Make an open connection fit for the next piece of work with cfg's
 * settings, as a new one would be: it must be healthy, outside a
 * transaction, unlocked and not through a pooler (else MD_ERR_DB, and the
 * caller closes it).  Notices go to libpq's receiver again; DISCARD ALL
 * ends what the last work left in the session (settings, a SET ROLE,
 * prepared statements, temporary tables, advisory locks, LISTEN); then
 * cfg's [database] schema and lock settings apply.  Not undone: role or
 * database settings (ALTER ROLE ... SET) made since it connected, and
 * libraries loaded with LOAD.  The fleet's workers keep one connection for
 * the members of one database. */
md_status md_db_reuse(md_db *db, const md_config *cfg, md_error *err);
/* The name of the database connected to (PQdb), "" when not connected. */
const char *md_db_name(const md_db *db);

/* md_db_connect to another database of the same server (same host, port,
 * user, password source and options; dbname replaced): the scratch
 * databases of src/scratch.c.  target reads "database NAME on ...". */
md_status md_db_connect_dbname(md_db **out, const md_config *cfg, const char *role,
			       const char *dbname, md_error *err);

/* Connect to a server of migdeck's own (the local scratch cluster of
 * src/scratch.c): over the Unix socket in sockdir with port (the socket's
 * number), as user, to dbname; no setting of cfg applies, and host, port,
 * user, dbname and sslmode are given, so PG* variables of the target do not
 * redirect it.  connect_timeout 10.  target reads "database NAME on the
 * scratch cluster in SOCKDIR". */
md_status md_db_connect_socket(md_db **out, const char *sockdir, int port, const char *user,
			       const char *dbname, md_error *err);

/* Run SQL that returns no rows (may be several statements). */
md_status md_db_exec(md_db *db, const char *sql, md_error *err);

/* COMMIT, and make sure it committed: a COMMIT with no transaction open
 * (only a WARNING) or on an aborted one (the tag says ROLLBACK) is an
 * error, so nothing that follows a commit runs after one that did not.
 * Holding a lease, the transaction first checks (and locks, FOR SHARE,
 * until the COMMIT) that the lease row is still ours and unexpired; if it
 * is not, it rolls back: MD_ERR_LOCKED. */
md_status md_db_commit(md_db *db, md_error *err);

/* Run one statement with text parameters (NULL entries are SQL NULL).
 * On success *out holds the result (PGRES_TUPLES_OK or PGRES_COMMAND_OK),
 * to be PQclear'd by the caller; on failure *out is NULL and err is filled
 * from the server's fields. */
md_status md_db_query(md_db *db, PGresult **out, const char *sql, int nparams,
		      const char *const *params, md_error *err);

/* As md_db_query, for a statement run many times in a session: prepared
 * under name on first use (the server parses and plans it once), then
 * executed.  sql is only read the first time; pass NULL later if building
 * it costs (md_db_is_prepared tells).  On a pooled connection (a named
 * prepared statement lives on one server connection, which a transaction
 * pooler hands to others) the text is kept and sent unnamed each time. */
md_status md_db_query_prepared(md_db *db, PGresult **out, const char *name, const char *sql,
			       int nparams, const char *const *params, md_error *err);
int md_db_is_prepared(const md_db *db, const char *name);

/* Quote a string literal (PQescapeLiteral); malloc'd, NULL on failure. */
char *md_db_literal(md_db *db, const char *s);

/* Fill err from a failed result (or the connection's message when res is
 * NULL): SQLSTATE, primary message, DETAIL, HINT, CONTEXT. */
md_status md_db_error(md_error *err, const PGconn *conn, const PGresult *res);

/* PG_DIAG_STATEMENT_POSITION of a failed result (1-based characters), or 0. */
long md_db_error_position(const PGresult *res);

/* The lock that lets one runner work at a time, keyed on the history
 * table (schema.table); doc/locking.md.  A connection straight to the
 * server takes a session-level advisory lock (pg_try_advisory_lock); one
 * through a pooler (md_db_pooled), or [database] lock = lease, takes a
 * lease row in <schema>.<table>_lease instead, renewed by a heartbeat
 * thread on a connection of its own.  [database] lock = advisory on a
 * pooled connection is refused (MD_ERR_CONFIG).  Polls: wait_seconds 0
 * tries once, < 0 waits forever.  When another runner holds it:
 * MD_ERR_LOCKED, "locked by pid N (user@host, application_name, since T)"
 * (a lease adds "; lease expires T", its pid being migdeck's process on
 * that host). */
md_status md_db_lock(md_db *db, const char *schema, const char *table, double wait_seconds,
		     md_error *err);
/* Release it (a lease: its row deleted, if still ours).  A lease lost
 * while held is MD_ERR_LOCKED after the release. */
md_status md_db_unlock(md_db *db, md_error *err);

/* Who holds the migdeck lock of schema.table, as "pid N (user@host,
 * application_name, since T)" (a lease: "...; lease expires T)") into out;
 * "" when no other session does. */
md_status md_db_lock_holder(md_db *db, const char *schema, const char *table, char *out,
			    size_t outsz, md_error *err);

/* Does the connection go through a pooler or proxy (PgBouncer, ...)
 * rather than straight to the server?  Decided once, when connecting;
 * doc/locking.md says how.  A pooled connection gets unnamed statements
 * from md_db_query_prepared and a lease from md_db_lock (lock = auto). */
int md_db_pooled(const md_db *db);

/* The lock settings a connection uses (from its config when it connected):
 * mode 0 auto, 1 advisory, 2 lease; expiry_ms <= 0 keeps the current. */
void md_db_set_lock_mode(md_db *db, int mode, long long lease_expiry_ms);

/* The lease held was lost: its heartbeat found the row gone or taken, or
 * could not renew it for lease_expiry.  md_db_lease_check says so as
 * MD_ERR_LOCKED (MD_OK otherwise, or when no lease is held); the runner
 * asks before each statement and md_db_commit before each COMMIT (which
 * then rolls back). */
int md_db_lease_lost(const md_db *db);
md_status md_db_lease_check(md_db *db, md_error *err);

/* The connection is up (PQstatus): false after the server went away. */
int md_db_alive(const md_db *db);

/* Cancelling what a connection runs, from another thread: get the handle
 * while the connection is idle (PQgetCancel), then md_db_cancel_send it
 * whenever (PQcancel is thread-safe); free it after the connection. */
void *md_db_canceller(md_db *db);
int md_db_cancel_send(void *canceller);
void md_db_canceller_free(void *canceller);

/* The server process of the connection (PQbackendPID), 0 when none. */
int md_db_backend_pid(const md_db *db);

/* Wait until the result of what was sent on db (PQsendQuery, the end of
 * COPY data) can be read without blocking (PQisBusy is false), calling
 * tick(payload) once first_ms have passed (first_ms < 0: never) and then
 * whenever the milliseconds it returned have passed (< 0: no more).  The
 * tick runs on the caller's thread, between reads of the socket (poll(2)),
 * so it may use another connection.  Returns 0, or -1 when the connection
 * failed: PQgetResult then reports why, as it would have without waiting. */
typedef long long (*md_db_tick_fn)(void *payload);
int md_db_wait(md_db *db, long long first_ms, md_db_tick_fn tick, void *payload);

/* "tx" state for messages and decisions: PQtransactionStatus. */
int md_db_in_failed_tx(const md_db *db);

/* Quote an identifier (PQescapeIdentifier); malloc'd, NULL on failure. */
char *md_db_ident(md_db *db, const char *name);

#endif
