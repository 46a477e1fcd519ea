/* audit.h - the event table read back, newest first: who ran what, from
 * where, with what outcome, how long, which git commit and which backup
 * (`migdeck log`).  Reading never creates or changes anything: an event
 * table that predates a column (target, backup_file, application_name,
 * client_addr: migrations/003_event_audit.sql) reads as NULL there. */
#ifndef MIGDECK_AUDIT_H
#define MIGDECK_AUDIT_H

#include <stddef.h>

#include "config.h"
#include "db.h"
#include "error.h"

typedef struct md_audit_filter {
	const char *target;   /* NULL: every row; else the rows of that target
	                         and those that name none (the event table is
	                         the database's: a row without a target is
	                         about it too) */
	const char *version;  /* NULL: every version */
	const char *since;    /* NULL: all; a date/time PostgreSQL reads
	                         (2024-05-01, "2024-05-01 12:00", with or
	                         without a zone: UTC when none) or a duration
	                         back from now (md_audit_duration) */
} md_audit_filter;

typedef struct md_audit_row {
	long long id;
	const char *at;            /* "2024-05-01T12:00:03Z", UTC */
	const char *target, *action, *version, *script, *outcome, *error, *detail;
	long long duration_ms;     /* -1 when not recorded */
	const char *db_user, *os_user, *client_host, *client_addr, *application_name;
	const char *git_commit, *backup_file;
} md_audit_row;                /* strings: NULL when NULL; they point into res */

typedef struct md_audit {
	int exists;                /* the event table exists */
	char *table;               /* its quoted name */
	md_audit_row *rows;
	size_t n;
	void *res;
} md_audit;

/* A duration back from now: a number (decimals allowed) and a unit, s sec
 * second(s), m min minute(s), h hour(s), d day(s), w week(s), with or
 * without a space ("30min", "2h", "3 d", "1.5h").  Its seconds, or -1 when
 * s is not one. */
double md_audit_duration(const char *s);

/* Read the event table of cfg's history table on db, filtered, newest
 * first (then by id).  A bad --since (neither a duration nor a date/time
 * the server reads) is MD_ERR_USAGE naming it. */
md_status md_audit_load(md_db *db, const md_config *cfg, const md_audit_filter *f,
			md_audit **out, md_error *err);
void md_audit_free(md_audit *a);   /* NULL is accepted */

#endif
