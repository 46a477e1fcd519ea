/* fleet.h - migrate a group of databases (or tenant schemas) at once.
 *
 * A [group.NAME] lists its members: targets (targets = a, b, c), or a query
 * run on the group's target that returns one text column of database names
 * (members = databases) or tenant schemas (members = schemas).  Each member
 * is a config of its own (md_config_derive): a target, or the group's
 * target with dbname or [database] schema replaced.  A member config is
 * never tracked: files do not move and nothing is committed to git.
 *
 * md_fleet_run applies what is pending to every member with a pool of
 * worker threads.  Each worker, for one member at a time: derive the
 * config, connect (with the member's connect retries), set search_path to
 * the tenant schema (schema members), take the migdeck lock, check another
 * tool's history (md_adopt_guard), create or upgrade the bookkeeping, load
 * the history, plan against the shared workspace (read only), check as
 * migrate does (drift, a failed earlier run, out of order, every file
 * prepared), then apply the pending migrations in order, stopping at the
 * first failure; then everything of that member is freed and one small
 * record stays (md_fleet_member).  Reports through a callback (called with
 * a lock held, so never from two threads at once); prints nothing. */
#ifndef MIGDECK_FLEET_H
#define MIGDECK_FLEET_H

#include <stddef.h>

#include "config.h"
#include "error.h"
#include "runner.h"
#include "workspace.h"

typedef enum md_fleet_outcome {
	MD_FLEET_NOT_RUN = 0,   /* not started yet (never left after a run) */
	MD_FLEET_APPLIED,       /* every pending migration applied */
	MD_FLEET_UP_TO_DATE,    /* nothing to apply */
	MD_FLEET_FAILED,        /* a migration failed (rolled back): stopped there */
	MD_FLEET_INVALID,       /* refused before anything ran: drift, a failed
	                           earlier run, out of order, a file that does
	                           not prepare, another tool's history */
	MD_FLEET_STOPPED,       /* --fail-fast stopped it between two migrations */
	MD_FLEET_SKIPPED,       /* --fail-fast: never started */
	MD_FLEET_LOCKED,        /* another runner holds its lock */
	MD_FLEET_CONNECT_ERROR  /* cannot connect */
} md_fleet_outcome;

/* "applied", "up-to-date", "failed", "invalid", "stopped", "skipped",
 * "locked", "connect-error" ("not-run"). */
const char *md_fleet_outcome_name(md_fleet_outcome o);

/* One small record per member: all that stays once it is done. */
typedef struct md_fleet_member {
	char *name;             /* the target, database or schema */
	char *before, *after;   /* the latest applied version before and after
	                           the run; NULL: none, or not known */
	int known;              /* the history was read: before and after say */
	char *error;            /* the first error, one line
	                           ("pending/V6__x.sql:3:1: ERROR: ..."), or NULL */
	long long ms;           /* the member's wall time */
	unsigned applied;       /* migrations applied (and committed) */
	md_fleet_outcome outcome;
} md_fleet_member;

typedef struct md_fleet {
	const md_config *base;      /* the settings loaded (borrowed) */
	const md_cfg_group *group;  /* in base (borrowed) */
	md_fleet_member *members;   /* in the order listed */
	size_t n;
} md_fleet;

/* The members of group name (case-insensitive) of base: the targets of a
 * targets group, else the rows of its query, run on the group's target.
 * Names must be 1 to 63 bytes without control characters, and listed once:
 * MD_ERR_CONFIG otherwise, naming the row.  MD_ERR_CONFIG (with the groups
 * there are, in err->hint) for an unknown group, MD_ERR_CONNECT when the
 * group's target cannot be reached (note gets the connect retries), and a
 * failing query is MD_ERR_CONFIG at the query's place in the ini. */
md_status md_fleet_list(md_fleet **out, const md_config *base, const char *group,
			md_warn_fn note, void *payload, md_error *err);
void md_fleet_free(md_fleet *f);

/* How many members are [database] production (*first: the first one's
 * name, borrowed from f).  Reads the settings only; no connection. */
md_status md_fleet_production(const md_fleet *f, size_t *count, const char **first,
			      md_error *err);

/* Events of a run, serialised: the callback is never entered by two
 * workers at once. */
typedef enum md_fleet_ev {
	MD_FLEET_EV_NOTE,       /* text, of level: a connect or lock-timeout
	                           retry, a runner warning, a server notice */
	MD_FLEET_EV_RUN,        /* run: a runner event of member (MD_RUN_DONE:
	                           a migration applied) */
	MD_FLEET_EV_DONE        /* member is done; done of total so far */
} md_fleet_ev;

typedef enum md_fleet_level {
	MD_FLEET_INFO = 0,      /* a retry */
	MD_FLEET_WARNING,       /* the runner's warning (MD_RUN_WARNING) */
	MD_FLEET_NOTICE         /* the server's NOTICE, WARNING ... (MD_RUN_NOTICE) */
} md_fleet_level;

typedef struct md_fleet_event {
	md_fleet_ev kind;
	const md_fleet_member *member;
	size_t done, total;
	const char *text;
	md_fleet_level level;
	const md_run_event *run;
} md_fleet_event;

typedef void (*md_fleet_cb)(const md_fleet_event *ev, void *payload);

typedef struct md_fleet_opts {
	unsigned jobs;          /* workers (at least 1; never more than members) */
	int fail_fast;          /* the first member not applied or up to date
	                           stops the others: none starts, a running one
	                           stops before its next migration */
	double wait;            /* the lock: as md_db_lock's wait_seconds */
	int out_of_order;       /* apply pending files older than the newest applied */
	const md_version *to;   /* apply versioned files up to this one; NULL: all */
	md_fleet_cb cb;         /* may be NULL */
	void *payload;
} md_fleet_opts;

/* Migrate every member of f with the files of ws (scanned once by the
 * caller with f->base; only read here, from several threads).  Fills each
 * member's record.  Fails (nothing run) only when no thread can be
 * started; the members' own outcomes say the rest. */
md_status md_fleet_run(md_fleet *f, const md_workspace *ws, const md_fleet_opts *o,
		       md_error *err);

#endif
