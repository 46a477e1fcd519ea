/* backup.h - a pg_dump backup before a change, the list of backups, and a
 * backup restored into a throwaway database to be checked.
 *
 * `[database] backup = pg_dump` (a target's own key, usually): before the
 * first apply or rollback of a run the runner (md_runner_backup) runs
 * pg_dump in custom format into `[backup] dir`, and a backup that fails or
 * comes out empty stops the run before anything is changed.
 *
 * pg_dump and pg_restore are started with posix_spawn: an argument vector,
 * never a shell.  Their command line carries no connection settings at
 * all (pg_restore: the scratch database's generated name only): the
 * connection travels in the child's environment, as the PG* variables of
 * the options of the connection migdeck holds (PQconninfo: host, port,
 * user, database, sslmode ..., the password when libpq used one), so the
 * tool reaches exactly the database migdeck is connected to, and a
 * password is never on a command line.  -w: they never prompt.
 *
 * File names: <target>_<version>_<yyyymmddThhmmssZ>.dump, the target as
 * md_config_label gives it ("default" without one), the version the
 * database is at (its latest applied versioned migration, "0" when none:
 * what a restore gives back), the UTC time the backup started; characters
 * other than letters, digits, '.', '-' (and '_' in the version) become
 * '-'.  A name taken already gets "-2", "-3" ... after the Z.  The file is
 * written as NAME.partial (mode 0600, the folder made 0700 when missing)
 * and renamed when pg_dump succeeded; a failure removes it. */
#ifndef MIGDECK_BACKUP_H
#define MIGDECK_BACKUP_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "error.h"
#include "runner.h"

/* A line of progress ("pg_dump of database app into FILE", "12/40 tables,
 * 3.1 MB"); may be NULL. */
typedef void (*md_backup_note_fn)(const char *line, void *payload);

/* ---- names ------------------------------------------------------------------- */

/* The file name of a backup (no folder) into out: see above.  seq > 1
 * adds "-SEQ" after the time.  Returns 0, or -1 when out is too small. */
int md_backup_name(char *out, size_t outsz, const char *target, const char *version, time_t when,
		   unsigned seq);

/* A file name of that form taken apart. */
typedef struct md_backup_info {
	char file[256];       /* the name */
	char target[128];
	char version[128];
	char taken[24];       /* "2024-05-01T12:00:00Z" */
	time_t when;
	long long bytes;      /* the file's size (md_backup_list) */
} md_backup_info;

/* 0 and *out filled when name has the form, else -1. */
int md_backup_parse(const char *name, md_backup_info *out);

/* The backups in cfg's [backup] dir (files whose names parse), newest
 * first (then by name); target non-NULL: only that target's (as named in
 * the file).  A missing folder is no backups.  *out is malloc'd. */
md_status md_backup_list(const md_config *cfg, const char *target, md_backup_info **out,
			 size_t *n, md_error *err);

/* As md_backup_list, the unfinished ones: NAME.dump.partial, the file
 * pg_dump writes before it is renamed NAME.dump.  One is left behind when
 * migdeck was killed (kill -9, a crash) while pg_dump ran, or is being
 * written right now by another run.  file is the .partial name. */
md_status md_backup_unfinished(const md_config *cfg, const char *target, md_backup_info **out,
			       size_t *n, md_error *err);

/* "3.1 MB", "512 B", "20.0 kB" into out (1024-based, as pg_size_pretty). */
void md_backup_size_text(long long bytes, char *out, size_t outsz);

/* ---- taking one ------------------------------------------------------------------ */

/* Back up db's database (db: an idle connection, used to read the version
 * and count the tables; pg_dump opens its own) into cfg's [backup] dir,
 * named for label and version (NULL: the database's current version from
 * the history table).  pg_dump -Fc -v -w --lock-wait-timeout ([backup]
 * lock_wait_timeout, none when 0) -f NAME.partial; progress gets a line at
 * the start and, at most once a second, "N/M tables, SIZE" (from pg_dump's
 * -v "dumping contents of table" lines and the file's size).  On success
 * the path is in out (size outsz), its size in *bytes (may be NULL).  A
 * failure (pg_dump missing, exit status not 0, a signal, an empty file or
 * one that is not a pg_dump archive) removes the file and is MD_ERR_IO
 * with pg_dump's error line (and its detail line in err->detail). */
md_status md_backup_run(const md_config *cfg, md_db *db, const char *label, const char *version,
			md_backup_note_fn progress, void *payload, char *out, size_t outsz,
			long long *bytes, md_error *err);

/* For the runner: the backup of a run, taken once before its first change
 * (md_run_apply_prepared, md_run_rollback, md_runner_begin_all,
 * md_step_begin call it): nothing when [database] backup is not pg_dump,
 * in a dry run, or when r took one already (r->backup_path).  Its lines go
 * to r's callback as MD_RUN_BACKUP_PROGRESS (text), then
 * MD_RUN_BACKUP_DONE (text: the path, ms: how long).  A failure is
 * md_backup_run's. */
md_status md_runner_backup(md_runner *r, md_error *err);

/* ---- restoring one ---------------------------------------------------------------- */

/* path names a readable pg_dump custom-format archive (it starts with
 * "PGDMP"): MD_OK; a missing or unreadable file MD_ERR_USAGE, another
 * kind of file MD_ERR_INVALID, the message naming the file. */
md_status md_backup_check_file(const char *path, md_error *err);

/* pg_restore --exit-on-error -w -v of path into the database db is
 * connected to (a scratch database: its owners and grants need the
 * target's roles), the connection in the environment as for pg_dump, the
 * database given by name (--dbname=NAME).  prefer_dir (may be NULL): a
 * folder whose pg_restore is used before PATH's (the local scratch
 * cluster's binaries).  progress gets "N tables restored" at most once a
 * second.  MD_ERR_IO with pg_restore's error line on a failure. */
md_status md_backup_restore(md_db *db, const char *path, const char *prefer_dir,
			    md_backup_note_fn progress, void *payload, md_error *err);

/* ---- signals ------------------------------------------------------------------------- */

/* While a guard is held, SIGINT and SIGTERM (when their handlers are the
 * default ones: not in the console) stop the pg_dump or pg_restore running
 * and are remembered; md_backup_guard_end puts the default handlers back
 * and raises the signal again, after the caller has cleaned up (a partial
 * file removed, a scratch database dropped).  md_backup_run holds one
 * itself; nested and concurrent guards are counted. */
void md_backup_guard_begin(void);
int md_backup_interrupted(void);   /* the signal caught, or 0 */
void md_backup_guard_end(void);
/* Stop every pg_dump/pg_restore running now (SIGTERM): their md_backup_run
 * fails, removing the file.  For a front end with handlers of its own (the
 * console's Ctrl-C). */
void md_backup_stop(void);

#endif
