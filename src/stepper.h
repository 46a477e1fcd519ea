/* stepper.h - a migration stepped a statement at a time by an operator,
 * for a front end that must stay responsive (the console): its own
 * connection, the migdeck lock, and a thread that runs the operator's
 * commands (next, all, commit, abort) with md_step_* of the runner.  The
 * front end reads a copy of the state (md_stepper_view) whenever it likes
 * and can cancel a running statement (PQcancel) from its own thread. */
#ifndef MIGDECK_STEPPER_H
#define MIGDECK_STEPPER_H

#include <stddef.h>

#include "config.h"
#include "error.h"
#include "progress.h"

typedef struct md_stepper md_stepper;

typedef enum md_stepper_state {
	MD_STEPPER_READY = 0,  /* statements left, the transaction open */
	MD_STEPPER_RUNNING,    /* a command is running */
	MD_STEPPER_ALL_RAN,    /* every statement ran: commit or abort */
	MD_STEPPER_FAILED,     /* a statement failed: only abort */
	MD_STEPPER_COMMITTED,  /* done: recorded, committed, moved */
	MD_STEPPER_ABORTED     /* rolled back, nothing recorded */
} md_stepper_state;

typedef struct md_stepper_stmt {
	unsigned line, col;    /* where it starts in the file */
	char *text;            /* its first line */
	int done;              /* ran */
	char tag[64];          /* command tag ("INSERT 0 5") once done */
	long long ms;
} md_stepper_stmt;

/* A copy of the state for the front end (md_stepper_view_free). */
typedef struct md_stepper_view {
	md_stepper_state state;
	char *path;            /* the file that runs (the pair for a rollback) */
	char *action;          /* "apply" or "rollback" */
	int autocommit;        /* no transaction: each statement commits */
	md_stepper_stmt *stmts;
	size_t n;
	size_t next;           /* index of the next statement to run */
	int running;           /* index of the statement running now, or -1 */
	char **log;            /* warnings, notices, outcomes, oldest first */
	size_t nlog;
	char *error;           /* "file:line:col: ERROR: ..." with DETAIL/HINT lines */
	char *error_line;      /* the source line the error points into, or NULL */
	unsigned error_col;    /* 1-based column in it, 0 when unknown */
	double started;        /* epoch seconds */
	int pid;               /* the backend running the statements */
	double stmt_started;   /* epoch seconds: the statement running now began */
	int backing_up;        /* RUNNING: pg_dump is taking the backup first */
	char *backup;          /* the backup of this change (path), or NULL */
	int has_progress;      /* progress holds what PostgreSQL last reported on
	                          the statement running now (doc/progress.md) */
	md_progress progress;
} md_stepper_view;

/* Connect (application_name migdeck:<user>:stepper), take the migdeck lock
 * (a second runner is told who holds it: MD_ERR_LOCKED), create the
 * bookkeeping if needed, and begin stepping the file at path (a forward
 * file of the workspace; rollback: its paired rollback).  The transaction
 * is open when this returns (unless the file cannot run in one). */
md_status md_stepper_open(md_stepper **out, const md_config *cfg, const char *path,
			  int rollback, md_error *err);

/* md_stepper_open, for [database] backup = pg_dump: the backup is taken on
 * the stepper's thread (state RUNNING, backing_up set, its progress in the
 * log; md_stepper_cancel stops pg_dump), then the file begins (READY or
 * ALL_RAN); a failed backup is FAILED with nothing changed (x closes).
 * backup non-NULL: a backup taken moments ago for the same run (the
 * console's a/u queue), used instead of taking another.  Without backup =
 * pg_dump this is md_stepper_open. */
md_status md_stepper_open_backup(md_stepper **out, const md_config *cfg, const char *path,
				 int rollback, const char *backup, md_error *err);

/* 'n' next statement, 'a' all the rest, 'c' commit, 'x' abort.  Ignored
 * while a command runs or when the state does not allow it (returns 0). */
int md_stepper_command(md_stepper *s, int cmd);
/* A command is running. */
int md_stepper_busy(md_stepper *s);
/* Cancel the statement running now (PQcancel; safe from any thread). */
void md_stepper_cancel(md_stepper *s);
md_stepper_view *md_stepper_view_get(md_stepper *s);
void md_stepper_view_free(md_stepper_view *v);
/* Abort if still open, stop the thread, disconnect, free (NULL accepted). */
void md_stepper_close(md_stepper *s);

/* Move the migration file at path (and its rollback pair beside it) into
 * folder `to` (md_folder), under the migdeck lock, with an event "move",
 * and commit the move to git as the runner does ([git] commit); what git
 * said (or a warning) goes into note.  The caller checked that the
 * database agrees with the move. */
md_status md_stepper_move(const md_config *cfg, const char *path, int to, char *note,
			  size_t notesz, md_error *err);

#endif
