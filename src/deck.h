/* deck.h - the engine's model for a front end that stays open (the
 * console): the workspace, its git states, the history, the plan and the
 * state of the database, kept fresh by a worker thread of its own.
 *
 * The front end never waits on the database: the worker scans the folders,
 * connects (retrying while the server is down, reconnecting after a loss),
 * loads the history and polls the lock and the sessions waiting on locks
 * every couple of seconds.  Each result is published as a new picture; the
 * front end takes the newest with md_deck_take() on its own thread and reads
 * it without locks until it takes the next one.
 *
 * Nothing here includes curses, and the front end calls nothing of libpq or
 * libgit2: this is its one door to both. */
#ifndef MIGDECK_DECK_H
#define MIGDECK_DECK_H

#include <stddef.h>

#include "config.h"
#include "error.h"
#include "gitdiff.h"
#include "history.h"
#include "monitor.h"
#include "plan.h"
#include "vcs.h"
#include "workspace.h"

typedef enum md_deck_conn {
	MD_DECK_CONNECTING = 0, /* the first attempt is under way */
	MD_DECK_UP,             /* connected */
	MD_DECK_DOWN,           /* cannot connect: error says why; retrying */
	MD_DECK_LOST            /* was connected, the connection broke; retrying */
} md_deck_conn;

/* What the database pane shows: one poll's worth. */
typedef struct md_deck_db {
	md_deck_conn conn;
	char *target;           /* the connection as shown, password masked */
	char *server;           /* "15.18" (the server's server_version) */
	char *database;
	char *user;
	char *error;            /* why it is down or lost, or why the last poll
	                           failed; NULL when all is well */
	double since;           /* when conn last changed (epoch seconds) */
	double checked;         /* when the last poll answered */
	double retry_at;        /* DOWN/LOST: when the next attempt is due */
	int reconnects;         /* connections made after a loss or failure */
	char *lock_holder;      /* "pid N (user@host, app, since T)"; NULL: free */
	md_waiter *waiters;     /* sessions waiting on a lock right now */
	size_t nwaiters;
	/* md_deck_watch: the backend a stepped migration runs on */
	int watch_pid;          /* 0: none */
	md_lock *watch_locks;   /* the relation locks it holds, strongest first */
	size_t nwatch_locks;
	md_waiter *watch_blocked; /* the sessions waiting behind it */
	size_t nwatch_blocked;
} md_deck_db;

/* One consistent picture of the files and the history. */
typedef struct md_deck_data {
	md_workspace *ws;       /* NULL when the folders could not be scanned */
	char *scan_error;       /* why, or NULL */
	unsigned char *git;     /* md_git_state of ws->files[i], then of
	                           ws->rollbacks[i] (index nfiles + i) */
	md_history *hist;       /* NULL until the history is loaded */
	int history_loaded;     /* states in plan are from the database */
	char *history_error;    /* the history could not be read, or NULL */
	md_plan *plan;          /* the files against hist (or against nothing
	                           before it is loaded: look at history_loaded) */
	double loaded_at;       /* epoch seconds */
	struct md_deck_ws *wref; /* internal: ws and git, shared by reference */
	int refs;               /* internal: the worker keeps the latest too */
} md_deck_data;

/* The diffs the preview cycles through (doc/diff.md has what each means). */
typedef enum md_deck_diff_kind {
	MD_DECK_DIFF_SCHEMA = 1, /* what the file would change in the schema:
	                            run in a transaction always rolled back */
	MD_DECK_DIFF_GIT,        /* the file against HEAD */
	MD_DECK_DIFF_DRIFT       /* the text applied against the file now */
} md_deck_diff_kind;

/* A diff the worker computed on request. */
typedef struct md_deck_diff {
	unsigned long seq;      /* the request it answers */
	md_deck_diff_kind kind;
	char *path;             /* the file */
	md_diff diff;           /* empty text: no difference */
	char *note;             /* one line about it ("cosmetic drift", "HEAD
	                           abc1234") or NULL */
	char *error;            /* why there is no diff, or NULL */
} md_deck_diff;

/* Other targets beside the files: for each [target.NAME] other than the
 * one in force (at most MD_DECK_MAX_OTHERS, in file order), its own
 * history read over a short-lived connection (role "console": a short
 * connect_timeout), and the state it gives each file of the workspace. */
#define MD_DECK_MAX_OTHERS 4

typedef struct md_deck_other_file {
	char *name;             /* the file's name (md_file.name) */
	md_state state;         /* in that target's plan */
} md_deck_other_file;

typedef struct md_deck_other {
	char *name;             /* the [target.NAME] */
	int production;         /* its production setting */
	int up;                 /* its history was read (else error says why) */
	char *error;
	char *database;         /* the database it names (PQdb), or NULL */
	char *version;          /* the newest applied version there, or NULL */
	size_t npending;        /* what migrate would run there */
	md_deck_other_file *files; /* sorted by name */
	size_t nfiles;
} md_deck_other;

typedef struct md_deck_others {
	md_deck_other *t;       /* in the order of the settings */
	size_t n;
	int loaded;             /* 0: the names only, still loading */
	double loaded_at;
} md_deck_others;

/* One member of a fleet ([group.NAME]) as the fleet view shows it. */
typedef enum md_deck_outcome {
	MD_DECK_OUT_NONE = 0,   /* no history row (or not read) */
	MD_DECK_OUT_SUCCESS,    /* the latest row succeeded and is active */
	MD_DECK_OUT_FAILED,     /* the latest row failed */
	MD_DECK_OUT_ROLLED_BACK /* the latest row was rolled back */
} md_deck_outcome;

typedef struct md_deck_member {
	char *name;             /* as shown: the target, database or schema */
	char *target;           /* md_config_derive's target (NULL: none) */
	char *dbname;           /* a database member's database, else NULL */
	char *schema;           /* a schema member's schema, else NULL */
	int loaded;             /* the fields below are filled */
	int up;                 /* its history was read (else error says why) */
	char *error;
	char *version;          /* the newest applied version, or NULL */
	size_t npending;        /* what migrate would run there */
	md_deck_outcome last;   /* the outcome of its latest history row */
	char *last_version;     /* that row's version */
} md_deck_member;

typedef struct md_deck_fleet {
	unsigned long seq;      /* the request it answers */
	char *group;
	md_deck_member *m;      /* in the group's order */
	size_t n;
	size_t done;            /* members loaded so far */
	int loading;            /* more to come */
	char *error;            /* the members could not be listed, or NULL */
} md_deck_fleet;

typedef struct md_deck md_deck;

typedef struct md_deck_opts {
	double poll_seconds;    /* lock and waiters poll (default 2) */
	double retry_seconds;   /* reconnect attempts (default 5) */
	double others_seconds;  /* other targets reloaded (default 30) */
} md_deck_opts;

/* Start the worker; it loads at once.  cfg (the base: other targets and
 * fleet members are derived from it) must outlive the deck. */
md_status md_deck_open(md_deck **out, const md_config *cfg, const md_deck_opts *opts,
		       md_error *err);
/* Stop the worker and free everything (NULL accepted).  Returns 0, or -1
 * when the worker did not stop within 2 s (stuck in a connection attempt):
 * then it is left running, nothing is freed, and the caller, which is
 * exiting, must not free the config either (_exit is the way out). */
int md_deck_close(md_deck *d);

/* Take what the worker published since the last call: returns a bit set,
 * 1 = new data (md_deck_data changed), 2 = new database state, 4 = a new
 * diff, 8 = new other targets' states, 16 = a new fleet picture. */
int md_deck_take(md_deck *d);
/* The pictures taken last (never NULL after md_deck_open; data->ws may be
 * NULL before the first scan). */
const md_deck_data *md_deck_current(const md_deck *d);
const md_deck_db *md_deck_db_state(const md_deck *d);

/* Ask the worker for a diff of the file at path (a file of the current
 * data); busy until it is published.  Returns the request's number. */
unsigned long md_deck_request_diff(md_deck *d, md_deck_diff_kind kind, const char *path);
/* The last diff taken (NULL before any); md_deck_take returns bit 4 when a
 * new one came. */
const md_deck_diff *md_deck_current_diff(const md_deck *d);
const char *md_deck_diff_name(md_deck_diff_kind kind); /* "schema", "git", "drift" */

/* Watch the backend pid (0: stop): its locks and the sessions it blocks
 * are polled every second into md_deck_db, the first poll at once (busy
 * until it is published). */
void md_deck_watch(md_deck *d, int pid);
/* Poll now (after a step: the locks changed); busy until published. */
void md_deck_poll_now(md_deck *d);

/* Ask for a full reload: rescan the folders, reload the history. */
void md_deck_refresh(md_deck *d);
/* A reload is asked for or under way (the first load counts). */
int md_deck_busy(md_deck *d);
/* Wait until not busy or timeout_s passed; returns !busy. */
int md_deck_wait_idle(md_deck *d, double timeout_s);

/* ---- targets and fleets ---------------------------------------------------- */

/* Switch to another database: cfg comes from md_config_derive on the base
 * (another target, or a fleet member) and belongs to the deck from now on
 * (freed when the deck is done with it; the base stays the caller's).  The
 * worker drops its connection and loads again; until the new pictures
 * come, md_deck_current is empty and md_deck_db_state says connecting. */
void md_deck_switch(md_deck *d, md_config *cfg);
/* The settings in force (the base, or the last switched to) and the base. */
const md_config *md_deck_config(const md_deck *d);
const md_config *md_deck_base(const md_deck *d);

/* The other targets taken last (NULL before the first; n 0 when the
 * settings have no other target). */
const md_deck_others *md_deck_current_others(const md_deck *d);
/* The state a target gives the file named name: 0 and *state, or -1 when
 * it is not known (unreachable, not loaded, not in its plan). */
int md_deck_other_state(const md_deck_other *o, const char *name, md_state *state);

/* Load the fleet of [group.NAME] (members listed, then each read, a few at
 * a time; a picture after each); busy until the last.  Returns the
 * request's number. */
unsigned long md_deck_load_fleet(md_deck *d, const char *group);
/* The last fleet picture taken (NULL before any). */
const md_deck_fleet *md_deck_current_fleet(const md_deck *d);

/* The git state of a file of the current data (MD_GIT_UNKNOWN if none). */
md_git_state md_deck_git_state(const md_deck_data *data, const md_file *f);

/* Seconds since the epoch (wall clock, fractional). */
double md_deck_now(void);

#endif
