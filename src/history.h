/* history.h - what the database says is applied: migdeck's history table
 * (default public.schema_versions), its event table, and the bookkeeping
 * schema that creates them (the .sql files in migrations/, embedded at build time and
 * applied by the same engine). */
#ifndef MIGDECK_HISTORY_H
#define MIGDECK_HISTORY_H

#include <stddef.h>

#include "config.h"
#include "db.h"
#include "error.h"

typedef struct md_hist_row {
	long long id;
	char *version;        /* as in the file name; repeatables: the stem "R__x" */
	char *description;
	char *script;         /* file name */
	char *checksum;       /* git blob id (40 hex), or NULL */
	char *kind;           /* "versioned", "repeatable", "baseline" */
	int is_active;        /* 0 once rolled back */
	int success;          /* 0 for a failed run */
	char *applied_at;     /* ISO 8601 text as the server prints it */
	char *rolled_back_at; /* or NULL */
	char *applied_by;     /* database user */
	char *os_user;
	char *client_host;
	char *git_commit;     /* HEAD of the workspace when applied, or NULL */
	long long execution_ms;
} md_hist_row;

typedef struct md_history {
	int exists;           /* the history table exists */
	md_hist_row *rows;    /* in id order (the order they were applied); their
	                         strings point into res: read-only, freed with it */
	size_t n;
	void *res;            /* the PGresult the rows point into */
} md_history;

/* Create or upgrade the bookkeeping schema (history table, event table and
 * migdeck's own record of which bookkeeping migrations ran).  An existing
 * table of the CRM shape (version, description, applied_at, is_active,
 * rolled_back_at) is adopted and extended, never dropped.  The caller holds
 * the migdeck lock. */
md_status md_history_ensure(md_db *db, const md_config *cfg, md_error *err);

/* Read the history.  A missing table is an empty history (exists = 0):
 * reading never creates anything. */
md_status md_history_load(md_db *db, const md_config *cfg, md_history **out, md_error *err);
void md_history_free(md_history *h);

/* The exact text applied for version (kept at apply time), malloc'd; NULL
 * with MD_OK when none was kept. */
md_status md_history_applied_sql(md_db *db, const md_config *cfg, const char *version,
				 char **out, md_error *err);

/* What an apply writes, in the caller's transaction.  Upserts on version
 * (a script that inserted its own row, as the CRM seed scripts do, is
 * completed, not duplicated; a rolled-back version is re-activated). */
typedef struct md_apply_record {
	const char *version, *description, *script, *checksum, *kind;
	const char *applied_sql;   /* the text sent, placeholders substituted */
	const char *git_commit;    /* or NULL */
	long long execution_ms;
	int success;
} md_apply_record;
md_status md_history_record_apply(md_db *db, const md_config *cfg, const md_apply_record *rec,
				  md_error *err);

/* Mark version rolled back (is_active = false, rolled_back_at = now()). */
md_status md_history_record_rollback(md_db *db, const md_config *cfg, const char *version,
				     md_error *err);

/* Delete the rows of failed runs (repair). Returns the count in *n. */
md_status md_history_delete_failed(md_db *db, const md_config *cfg, long long *n, md_error *err);

/* Set the recorded checksum of version (repair), and the recorded text
 * when applied_sql is not NULL, so later drift is judged against it. */
md_status md_history_set_checksum(md_db *db, const md_config *cfg, const char *version,
				  const char *checksum, const char *applied_sql, md_error *err);

/* The git commit of a file move, written after the fact (the database
 * commits before git does): into the latest event of version with action
 * event_action (NULL: none) and, when row is set, into the history row of
 * version.  only_empty: leave a git_commit that is set alone (migdeck
 * commit filling in moves left uncommitted). */
md_status md_history_set_git_commit(md_db *db, const md_config *cfg, const char *version,
				    const char *event_action, int row, int only_empty,
				    const char *commit, md_error *err);

/* One row of the event table: who (database user, OS user, host; the
 * session's application_name and client address by the columns' defaults),
 * when (now()), what (action, version, script), outcome, error text, the
 * target and the backup taken before it (migrations/003_event_audit.sql). */
typedef struct md_event {
	const char *action;    /* "apply", "rollback", "baseline", "repair", "failure" */
	const char *version;   /* or NULL */
	const char *script;    /* or NULL */
	const char *outcome;   /* "ok", "failed", "retry" */
	const char *error;     /* "file:line:col: ERROR: ..." or NULL */
	const char *detail;    /* free text, or NULL */
	long long duration_ms;
	const char *git_commit;
	const char *target;    /* the target's name; NULL: cfg's (md_config_label,
	                          NULL when that is "default") */
	const char *backup_file; /* the pg_dump backup taken before the run (file
	                          name, src/backup.h), or NULL */
} md_event;
md_status md_history_event(md_db *db, const md_config *cfg, const md_event *ev, md_error *err);

/* md_history_record_apply and md_history_event of the same apply in one
 * statement, prepared once a session (what the runner uses: one round trip
 * and one plan per migration).  The event's duration is the row's. */
md_status md_history_record_apply_event(md_db *db, const md_config *cfg,
				       const md_apply_record *rec, const md_event *ev,
				       md_error *err);

/* The quoted names of the history table and its event table
 * ("schema"."table"), malloc'd, for modules that write beside them
 * (src/adopt.c). */
md_status md_history_names(md_db *db, const md_config *cfg, char **history, char **events,
			   md_error *err);

/* A row taken over from another tool's history table by `migdeck adopt`:
 * written as it was (applied_at and applied_by from that table; os_user
 * "adopted"), never run.  A version the table has already is left alone. */
typedef struct md_adopted_record {
	const char *version, *description, *script;
	const char *checksum;      /* git blob id of the file, or the other
	                              tool's checksum as text, or NULL */
	const char *kind;          /* "versioned", "repeatable", "baseline" */
	const char *applied_sql;   /* the file's text when it provably ran, or NULL */
	const char *applied_by;    /* NULL: current_user */
	const char *applied_at;    /* timestamptz text, NULL: now() */
	const char *rolled_back_at;/* with is_active = 0 (NULL: now()) */
	long long execution_ms;
	int success, is_active;
} md_adopted_record;
md_status md_history_record_adopted(md_db *db, const md_config *cfg, const md_adopted_record *rec,
				    md_error *err);

/* The embedded bookkeeping migrations (generated from migrations/). */
typedef struct md_embedded {
	const char *name;      /* "001_history.sql" */
	const char *sql;
	size_t len;
} md_embedded;
extern const md_embedded md_embedded_migrations[];
extern const size_t md_embedded_count;

#endif
