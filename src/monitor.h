/* monitor.h - what the server says about sessions and locks, read over a
 * connection of its own (the console's database pane; the stepper of a
 * later issue).  Read-only queries on pg_stat_activity and pg_locks. */
#ifndef MIGDECK_MONITOR_H
#define MIGDECK_MONITOR_H

#include <stddef.h>

#include "db.h"
#include "error.h"

/* A session of this database that waits for a lock right now. */
typedef struct md_waiter {
	int pid;
	char *user;          /* database user */
	char *app;           /* application_name */
	char *object;        /* the relation waited for ("public.tickets"), or
	                        the lock type ("transactionid", "advisory") */
	char *mode;          /* "AccessExclusiveLock" ... */
	double wait_s;       /* seconds it has waited (PostgreSQL 14+: since
	                        pg_locks.waitstart; older: since its query began) */
	char *blockers;      /* pg_blocking_pids as "123, 456" ("" if none) */
	char *query;         /* its statement on one line, at most 200 bytes */
} md_waiter;

/* The sessions of the current database waiting on a lock, longest wait
 * first. */
md_status md_monitor_waiters(md_db *db, md_waiter **out, size_t *n, md_error *err);

/* The same, only the sessions that pid blocks (pid is among their
 * pg_blocking_pids): who waits behind a migration's transaction. */
md_status md_monitor_blocked_by(md_db *db, int pid, md_waiter **out, size_t *n,
				md_error *err);

/* A lock a session holds or waits for, as pg_locks says. */
typedef struct md_lock {
	char *object;        /* the relation ("public.tickets"), or the lock type */
	char *mode;          /* "AccessExclusiveLock" ... */
	int granted;
	int exclusive;       /* mode is AccessExclusiveLock */
} md_lock;

/* The relation locks of pid in the current database, the strongest first
 * (AccessExclusiveLock ... AccessShareLock), then by relation name; left
 * out: pg_catalog relations (read for the catalog) and relations the
 * session created and has not committed (no one else can see them). */
md_status md_monitor_locks_of(md_db *db, int pid, md_lock **out, size_t *n, md_error *err);
void md_locks_free(md_lock *l, size_t n);
void md_waiters_free(md_waiter *w, size_t n);

/* current_database(), current_user and the server version as text
 * ("15.18"), each malloc'd. */
md_status md_monitor_whoami(md_db *db, char **database, char **user, char **server,
			    md_error *err);

#endif
