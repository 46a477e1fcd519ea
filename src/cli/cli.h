/* cli.h - what the command line front end's files share.  The CLI only
 * calls the engine (src/); it never talks to libpq or libgit2 itself. */
#ifndef MIGDECK_CLI_H
#define MIGDECK_CLI_H

#include <stddef.h>

#include "config.h"
#include "error.h"
#include "runner.h"

/* Exit codes: a contract for scripts. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,   /* a migration (or rollback) failed */
	EXIT_USAGE = 2,    /* usage or configuration error */
	EXIT_INVALID = 3,  /* validation problem (bad file, drift, duplicates...) */
	EXIT_LOCKED = 4,   /* another runner holds the lock */
	EXIT_CONNECT = 5   /* cannot connect to the database */
};

/* Options a command may take (a bit each). */
enum {
	OPT_JSON = 1u << 0,
	OPT_YES = 1u << 1,
	OPT_WAIT = 1u << 2,
	OPT_DRY_RUN = 1u << 3,
	OPT_TO = 1u << 4,
	OPT_VERSION = 1u << 5,
	OPT_STEPS = 1u << 6,
	OPT_DESCRIPTION = 1u << 7,
	OPT_STYLE = 1u << 8,
	OPT_OUT_OF_ORDER = 1u << 9,
	OPT_OFFLINE = 1u << 10,
	OPT_CONFIRM_DB = 1u << 11,
	OPT_GROUP = 1u << 12,      /* --group NAME (migrate, status) */
	OPT_JOBS = 1u << 13,       /* --jobs N */
	OPT_FAIL_FAST = 1u << 14,  /* --fail-fast */
	OPT_SINCE = 1u << 15,      /* --since T (log) */
	OPT_SCRATCH = 1u << 16,    /* --scratch[=local|server] (restore) */
	OPT_KEYS = 1u << 20
};

typedef struct cli {
	md_config_opts opts;
	const char **overrides;
	size_t noverrides;
	md_config *cfg;
	int want_config;       /* cli_parse loads cfg once the options are known */
	/* global flags (also accepted after the command) */
	int yes, verbose, quiet, color, json;
	/* command options */
	double wait;           /* --wait[=SECONDS]: 0 none, < 0 forever */
	int dry_run, out_of_order, offline;
	const char *to, *version, *description, *style;
	const char *keys;      /* console --keys FILE */
	const char *confirm_database; /* --confirm-database NAME ([database] production) */
	long steps;
	const char *group;     /* --group NAME: a [group.NAME] fleet */
	long jobs;             /* --jobs N (0: not given) */
	int fail_fast;         /* --fail-fast */
	const char *since;     /* log --since T */
	int scratch;           /* restore --scratch[=WHERE] */
	const char *scratch_where; /* local|server or NULL */
	char **pos;            /* positional arguments */
	int npos;
} cli;

/* Parse a command's options (argv[0] is the command; options may come
 * before or after its arguments, and the global -c, -d, -o, -y, -v, -q,
 * --json, --no-color are taken here too), then load the configuration when
 * want_config is set.  Returns 0, -1 after printing --help, or an exit code
 * after printing the problem. */
int cli_parse(cli *c, int argc, char **argv, unsigned allowed, const char *usage);

/* The lines every command prints for the runner's statement, notice and
 * warning events (statements only with --verbose, notices unless --quiet).
 * Returns 1 when ev was one of those. */
int cli_print_run_event(const cli *c, const md_run_event *ev);

/* The exit code for an engine status. */
int cli_exit_code(md_status rc);

/* "migdeck: file:line:col: msg" and, when the server sent them, DETAIL,
 * HINT, CONTEXT and SQLSTATE lines, on stderr. */
void cli_print_error(const md_error *err);

/* Connect for a command: md_db_connect_retry with [database]
 * connect_retries (flyway.connectRetries), each retry announced on stderr
 * as "migdeck: cannot connect (...): retry N of M in S s". */
struct md_db;
md_status cli_connect(cli *c, struct md_db **db, md_error *err);

/* Ask a yes/no question on the terminal.  --yes answers yes; without a
 * terminal the answer is no (say so). */
int cli_confirm(cli *c, const char *question);

/* The commands. */
int cmd_status(cli *c, int argc, char **argv);
int cmd_validate(cli *c, int argc, char **argv);
int cmd_migrate(cli *c, int argc, char **argv);
int cmd_rollback(cli *c, int argc, char **argv);
int cmd_create(cli *c, int argc, char **argv);
int cmd_baseline(cli *c, int argc, char **argv);
int cmd_repair(cli *c, int argc, char **argv);
int cmd_console(cli *c, int argc, char **argv);
int cmd_adopt(cli *c, int argc, char **argv);
int cmd_clean(cli *c, int argc, char **argv);
int cmd_commit(cli *c, int argc, char **argv);
int cmd_schema(cli *c, int argc, char **argv); /* src/cli/diff.c */
int cmd_diff(cli *c, int argc, char **argv);   /* src/cli/diff.c */
int cmd_backups(cli *c, int argc, char **argv); /* src/cli/backup.c */
int cmd_restore(cli *c, int argc, char **argv); /* src/cli/backup.c */
int cmd_log(cli *c, int argc, char **argv);     /* src/cli/backup.c */
/* migrate --group NAME (src/cli/fleet.c); to: --to, or NULL */
int cmd_migrate_group(cli *c, const md_version *to);

#endif
