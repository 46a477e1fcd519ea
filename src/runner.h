/* runner.h - runs migrations: one file at a time, statement by statement,
 * inside a transaction (or, for a file made only of statements that cannot
 * run in one, in autocommit), with the history row and the event written in
 * the same transaction, then the file moved to its folder.
 *
 * It reports what happens through a callback, so the CLI prints lines and
 * the console draws panes from the same events. */
#ifndef MIGDECK_RUNNER_H
#define MIGDECK_RUNNER_H

#include <stddef.h>

#include "adopt.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "plan.h"
#include "progress.h"
#include "script.h"
#include "vcs.h"
#include "workspace.h"

/* ---- a migration file made ready to run ----------------------------------- */

typedef struct md_prepared_stmt {
	md_stmt st;
	md_sql sql;          /* the text sent (placeholders substituted) */
	int skip;            /* the file's own BEGIN/COMMIT wrapper: not sent */
} md_prepared_stmt;

typedef struct md_prepared {
	char *path;          /* as shown in messages */
	char *buf;           /* the file */
	size_t len;
	md_script script;    /* for positions */
	md_prepared_stmt *stmts;
	size_t n;
	size_t nsend;        /* statements that will be sent */
	int autocommit;      /* every statement sent must run outside a transaction */
	int wrapped;         /* the file wraps itself in BEGIN ... COMMIT */
	char *text;          /* all statements sent, joined by "\n" (history) */
	char checksum[41];   /* of the bytes read here: what runs is what is recorded */
} md_prepared;

/* Read, split and check a migration file for a server of server_version:
 * psql meta-commands, unterminated quotes, undefined placeholders, a mix of
 * statements that can and cannot run in a transaction, transaction control
 * in the middle of the file: MD_ERR_INVALID (or MD_ERR_SYNTAX) naming
 * path:line:col.  A leading BEGIN/START TRANSACTION and trailing
 * COMMIT/END are the file's own wrapper: kept out of what is sent (the
 * runner's transaction takes their place). */
md_status md_prepare(md_prepared **out, const char *path, const md_config *cfg,
		     int server_version, md_error *err);
void md_prepared_free(md_prepared *p);

/* dbmate's single-file migrations: a line "-- migrate:up" starts what is
 * applied, a line "-- migrate:down" what rolls it back ("transaction:false"
 * after either runs that part outside a transaction).  md_prepare takes the
 * up part of such a file (the rest is blanked, so line:col stay the
 * file's); md_prepare_part with MD_PART_DOWN the down part.  The checksum
 * is always the whole file's. */
typedef enum md_part { MD_PART_UP = 0, MD_PART_DOWN } md_part;
md_status md_prepare_part(md_prepared **out, const char *path, const md_config *cfg,
			  int server_version, md_part part, md_error *err);
/* The file has a "-- migrate:down" section (its own rollback). */
int md_has_down_section(const char *path);

/* ---- events ----------------------------------------------------------------- */

typedef enum md_run_ev {
	MD_RUN_START,          /* a migration starts: file, count = statements */
	MD_RUN_STATEMENT,      /* statement index starts */
	MD_RUN_STATEMENT_DONE, /* text = command tag, ms */
	MD_RUN_NOTICE,         /* text = the server's notice */
	MD_RUN_WARNING,        /* text = migdeck's own warning */
	MD_RUN_RETRY,          /* lock timeout: attempt, ms = wait before retrying */
	MD_RUN_DONE,           /* committed (or rolled back in a dry run): ms */
	MD_RUN_FAILED,         /* err */
	MD_RUN_MOVED,          /* text = "pending/x.sql -> applied/x.sql" */
	MD_RUN_COMMITTED,      /* the moves committed to git: text = the commit
	                          id (40 hex), action "apply", "rollback",
	                          "repair" or "commit" */
	MD_RUN_PROGRESS,       /* statement index is still running (r->progress_ms):
	                          text = md_progress_format's line, ms = elapsed,
	                          progress = what PostgreSQL reports */
	MD_RUN_BACKUP_PROGRESS, /* [database] backup = pg_dump, before the run's
	                          first change (src/backup.h): text = a line
	                          ("pg_dump of database D to FILE", "12/40
	                          tables, 3.1 MB"), action "backup" */
	MD_RUN_BACKUP_DONE     /* the backup is taken: text = its path, ms */
} md_run_ev;

typedef struct md_run_event {
	md_run_ev kind;
	const md_file *file;
	const char *action;    /* "apply" or "rollback" */
	unsigned index, count;
	const char *text;
	long long ms;
	int attempt;
	const md_error *err;
	const md_progress *progress; /* MD_RUN_PROGRESS; NULL otherwise */
} md_run_event;

typedef void (*md_run_cb)(const md_run_event *ev, void *payload);

/* ---- the runner ------------------------------------------------------------- */

typedef struct md_runner {
	md_db *db;
	const md_config *cfg;
	const md_workspace *ws;
	md_run_cb cb;
	void *payload;
	int dry_run;           /* everything in a transaction that is rolled back */
	char git_commit[41];   /* HEAD of the workspace, or "" */
	int git_looked;        /* git_commit was looked up */
	int in_tx;             /* a transaction=all transaction is open */
	/* the failure inside that transaction, recorded once it is rolled back */
	const md_file *failed;
	const char *failed_action;
	md_error failed_err;
	long long failed_ms;
	/* [history] mirror = on after an adoption: the other tool's table,
	 * written in the same transaction as each apply, rollback and repair
	 * (src/adopt.h); tool MD_FOREIGN_NONE otherwise */
	md_foreign mirror;
	/* the file moves made since they were last committed to git
	 * (md_runner_commit_moves), and the last commit made ("" none) */
	struct md_run_moved {
		char from[4096], to[4096];
	} moved[4];
	size_t nmoved;
	char last_commit[41];
	int git_warned;        /* "not in a git repository" said once */
	/* the pg_dump backup taken before this runner's first change
	 * (md_runner_backup, src/backup.h), "" none yet; its file name goes
	 * into the event rows of the run */
	char backup_path[4096];
	/* progress of a long statement (doc/progress.md): progress_ms > 0
	 * (set by the front end after md_runner_init) asks PostgreSQL every
	 * progress_ms, first after max(progress_ms, MD_PROGRESS_DELAY_MS), over
	 * a second connection (role "progress") opened when first needed, and
	 * emits MD_RUN_PROGRESS; md_runner_done closes it */
	long long progress_ms;
	md_db *watcher;
	int watcher_failed;    /* could not connect or ask: not tried again */
	struct md_run_watch {  /* the statement running now */
		const md_file *f;
		const char *action;
		unsigned index, count;
		long long t0, due; /* when it was sent, when to ask next (ms) */
		long long copy_bytes; /* COPY ... FROM STDIN: the data migdeck sends */
	} watch;
} md_runner;

void md_runner_init(md_runner *r, md_db *db, const md_config *cfg, const md_workspace *ws,
		    md_run_cb cb, void *payload);
/* md_runner_init points r->db's notices at r.  Done closes what the runner
 * opened for itself (the progress connection) and gives r->db's notices
 * back to libpq: call it before r goes out of scope while r->db stays
 * open, and never after r->db is closed (r->db is the caller's).  Safe on
 * a runner zeroed or never used, and twice; init may follow. */
void md_runner_done(md_runner *r);

/* Apply one forward file (versioned or repeatable): see the top of this
 * file.  A lock timeout (55P03) rolls back and retries with backoff, up to
 * [run] lock_retries.  On a SQL error: ROLLBACK, a failure event, and err
 * names path:line:col with the server's message, DETAIL, HINT, SQLSTATE;
 * the file stays where it is.  Moves the file (and its rollback pair) to
 * applied/ after COMMIT. */
md_status md_run_apply(md_runner *r, const md_file *f, md_error *err);

/* The same with the file already prepared (md_prepare of f->path); p is
 * freed here. */
md_status md_run_apply_prepared(md_runner *r, const md_file *f, md_prepared *p, md_error *err);

/* Run the rollback pair of an applied forward file, mark the history row
 * rolled back, move both files back to pending/. */
md_status md_run_rollback(md_runner *r, const md_file *forward, md_error *err);

/* transaction = all: open the one transaction before the first apply and
 * commit it after the last (then the files move). */
md_status md_runner_begin_all(md_runner *r, md_error *err);
md_status md_runner_commit_all(md_runner *r, const md_file *const *applied, size_t n,
			       md_error *err);
/* Roll the one transaction back (after a failure, which is then recorded in
 * the event table outside it). */
void md_runner_abort_all(md_runner *r);

/* Move a file (and its rollback pair when it sits beside it) into folder:
 * rename(2) only, never a copy; refuses to overwrite. */
md_status md_move_file(md_runner *r, const md_file *f, md_folder to, md_error *err);

/* [git] commit = on (and not a dry run): commit to git the moves r made
 * since the last call (md_move_file, and those of md_run_apply,
 * md_run_rollback, md_runner_commit_all, which call this themselves), as
 * renames, with the message "migdeck: apply STEM to DB" ("roll back STEM
 * on DB", "repair: move STEM to FOLDER/ on DB") and a body of the files,
 * checksum (may be NULL), target and duration (ms < 0: not given); then
 * the commit id goes into the history row (apply, repair: where it is
 * empty) and the latest event of the action (MD_RUN_COMMITTED).  Never
 * fails the migration: a git failure is a warning event (the move stays
 * uncommitted until migdeck commit), no repository a warning once.
 * Returns MD_VCS_COMMITTED (r->last_commit holds the id), MD_VCS_NO_REPO,
 * MD_VCS_UNCHANGED (nothing to commit, git off), or negative after the
 * warning. */
int md_runner_commit_moves(md_runner *r, const md_file *f, const char *action,
			   const char *checksum, long long ms);

/* migdeck commit: commit n moves left uncommitted (md_vcs_uncommitted_moves
 * of the workspace's folders) as one commit, then fill the empty git_commit
 * of their history rows (files now in applied/) and latest apply or
 * rollback events.  Returns MD_VCS_* (hex filled when committed) or
 * negative with err. */
int md_runner_commit_left(md_runner *r, const md_vcs_move *moves, size_t n, char hex[41],
			  md_error *err);

/* baseline: record files as applied without running them (kind
 * "baseline"), with an event each, in one transaction; then move them to
 * applied/. */
md_status md_run_baseline(md_runner *r, const md_file *const *files, size_t n, md_error *err);
/* The same, for a baseline at version (description: NULL for the
 * default): with no files, one "baseline" row at version marks every
 * versioned file at or below it applied (flyway.baselineOnMigrate, as
 * Flyway's BASELINE row).  With [history] mirror = on the other tool's
 * table gets its own baseline in the same transaction (md_mirror_baseline).
 * Both write migdeck's history as md_run_baseline does. */
md_status md_run_baseline_at(md_runner *r, const md_file *const *files, size_t n,
			     const char *version, const char *description, md_error *err);

/* repair: delete the rows of failed runs (*n gets the count). */
md_status md_run_delete_failed(md_runner *r, long long *n, md_error *err);

/* repair: set the recorded checksum of f's version to the file's. */
md_status md_run_realign(md_runner *r, const md_file *f, md_error *err);

/* Drift of an applied file: the text recorded at apply time against the
 * file as it would be sent now.  Returns 0 (same), 1 cosmetic, 2 real;
 * -1 when no text was recorded (only the checksums can tell). */
int md_run_drift(md_runner *r, const md_file *f, md_error *err);

/* md_run_drift on every drifted item of plan: sets MD_PLAN_DRIFT_COSMETIC
 * or MD_PLAN_DRIFT_REAL (real when no text was kept or it cannot be read:
 * a changed checksum then counts as real). */
void md_run_classify_drift(md_runner *r, md_plan *plan);

/* Send the statements of p (prepared from f's file; f may be NULL) on r's
 * connection, one by one with their events (action "preview"), recording
 * nothing: no history row, no event row, no file moved.  The transaction
 * is the caller's: in_tx says whether one is open, and each statement must
 * leave it as it found it (as in an apply).  Errors name path:line:col.
 * For previews (src/diffs.c) and building scratch databases. */
md_status md_run_statements(md_runner *r, const md_file *f, const md_prepared *p, int in_tx,
			    md_error *err);

/* ---- stepping: one statement at a time (the console's stepper) ---------------- */

/* A migration (apply) or its paired rollback, run by the operator a
 * statement at a time.  begin prepares the file and, unless its statements
 * cannot run in a transaction, opens the transaction with the run's
 * timeouts; next sends one statement (events go to the runner's callback:
 * MD_RUN_STATEMENT, MD_RUN_STATEMENT_DONE with the command tag and ms,
 * notices); commit writes the history row and the event in the same
 * transaction, COMMITs, moves the file and commits the move to git, as
 * md_run_apply and md_run_rollback do; abort rolls back and records
 * nothing (in autocommit, what ran stays done: a failure event says so).
 * The caller holds the migdeck lock, as for md_run_apply. */
typedef struct md_step {
	md_runner *r;
	const md_file *f;         /* the forward file */
	const md_file *run;       /* the file whose statements run: f, or its pair */
	const char *action;       /* "apply" or "rollback" */
	md_prepared *p;
	size_t next;              /* index in p->stmts of the next one to look at */
	unsigned sent;            /* statements sent so far */
	int autocommit;           /* no transaction: each statement commits */
	int failed;               /* a statement failed: only abort is left */
	int open;                 /* begun, not yet committed or aborted */
	long long t0;
} md_step;

md_status md_step_begin(md_step *s, md_runner *r, const md_file *f, int rollback, md_error *err);
/* 1: a statement ran; 0: none left; negative: it failed (err names
 * path:line:col with the server's message) and only abort is left. */
int md_step_next(md_step *s, md_error *err);
/* Statements left to send. */
unsigned md_step_left(const md_step *s);
md_status md_step_commit(md_step *s, md_error *err);
void md_step_abort(md_step *s);

/* A path as shown to people: relative to the working directory when below it. */
const char *md_show_path(const char *path);

#endif
