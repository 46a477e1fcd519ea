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
void md_waiters_free(md_waiter *w, size_t n);

/* current_database(), current_user and the server version as text
 * ("15.18"), each malloc'd. */
md_status md_monitor_whoami(md_db *db, char **database, char **user, char **server,
			    md_error *err);

#endif
