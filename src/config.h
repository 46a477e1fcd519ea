/* config.h - migdeck's settings: migdeck.ini, the environment and flags.
 *
 * Precedence, highest first:
 *   -d URL-or-conninfo  >  -o section.key=value  >  environment  >
 *   migdeck.ini  >  built-in defaults.
 * libpq's own PG* variables are left to libpq: md_config_conn_params drops a
 * connection option that came from the ini file when its PG* variable is set.
 *
 * Every known section and key is one row of the X-macro lists below; the
 * parser, the validators, md_config_print and the documentation's tables
 * all follow them.  A new setting is a new row (plus, if the engine wants a
 * typed field, one line in md_config_bind in config.c).
 *
 * Loading is not thread-safe: iniparser's error callback is process-wide. */
#ifndef MIGDECK_CONFIG_H
#define MIGDECK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"

/* ---- the table of sections and keys ------------------------------------ */

/* Value types; each has one validator in config.c. */
typedef enum md_cfg_type {
	MD_CFG_T_CONNINFO, /* a postgres:// URL or a libpq key=value conninfo */
	MD_CFG_T_DIR,      /* a folder; relative to the ini's folder (flags and
	                      environment: to the working directory) */
	MD_CFG_T_IDENT,    /* an SQL identifier: 1..63 bytes, no control chars */
	MD_CFG_T_DURATION, /* PostgreSQL duration: integer + us|ms|s|min|h|d */
	MD_CFG_T_ENUM,     /* one of the row's choices ("a|b|c") */
	MD_CFG_T_BOOL,     /* on/off true/false yes/no 1/0 */
	MD_CFG_T_PERSON,   /* a git author name or e-mail: no control chars, no <> */
	MD_CFG_T_COUNT,    /* a whole number from 0 to 1000 */
	MD_CFG_T_PATH      /* a folder that need not exist yet; relative like DIR */
} md_cfg_type;

/* Section flags. */
enum {
	/* any key is accepted and kept in file order (e.g. [placeholders]) */
	MD_CFG_SEC_FREE = 1u << 0
};

/*   X(ID, name, flags, help) */
#define MD_CONFIG_SECTIONS(X)                                                  \
	X(DATABASE, "database", 0u, "where to connect")                        \
	X(WORKSPACE, "workspace", 0u, "the migration folders")                 \
	X(HISTORY, "history", 0u, "the table that records what ran")           \
	X(RUN, "run", 0u, "how migrations run")                                \
	X(GIT, "git", 0u, "committing file moves to git")                      \
	X(DIFF, "diff", 0u, "schema previews (migdeck diff)")                  \
	X(BACKUP, "backup", 0u, "pg_dump backups before production changes")  \
	X(PLACEHOLDERS, "placeholders", MD_CFG_SEC_FREE,                       \
	  "${name} substitutions in scripts") \
	X(KEYS, "keys", MD_CFG_SEC_FREE, "console key bindings: action = keys")

/*   X(ID, SECTION, key, type, default, env, choices, group, help)
 * default: text run through the validator (NULL: unset).  env: the
 * environment variable that overrides the ini (NULL: none).  group: keys
 * sharing a nonzero group exclude each other (set one of them). */
#define MD_CONFIG_KEYS(X)                                                      \
	X(DB_URL, DATABASE, "url", MD_CFG_T_CONNINFO, NULL, "DATABASE_URL",     \
	  NULL, 1,                                                             \
	  "postgres:// URL of the database (leave the password out)")          \
	X(DB_CONNINFO, DATABASE, "conninfo", MD_CFG_T_CONNINFO, NULL, NULL,    \
	  NULL, 1, "libpq key=value connection string, instead of url")        \
	X(DB_CONNECT_RETRIES, DATABASE, "connect_retries", MD_CFG_T_COUNT, "0", \
	  "MIGDECK_DATABASE_CONNECT_RETRIES", NULL, 0,                         \
	  "retries of a connection to a server that is down or starting up")   \
	X(DB_CONNECT_RETRIES_INTERVAL, DATABASE, "connect_retries_interval",   \
	  MD_CFG_T_COUNT, "120", "MIGDECK_DATABASE_CONNECT_RETRIES_INTERVAL",  \
	  NULL, 0,                                                             \
	  "seconds: the longest pause between those retries (1 s, doubling)")  \
	X(DB_PRODUCTION, DATABASE, "production", MD_CFG_T_BOOL, "off",         \
	  "MIGDECK_DATABASE_PRODUCTION", NULL, 0,                              \
	  "a production database: applying or rolling back asks for its name") \
	X(DB_BACKUP, DATABASE, "backup", MD_CFG_T_ENUM, "none",                \
	  "MIGDECK_DATABASE_BACKUP", "none|pg_dump", 0,                        \
	  "back the database up with pg_dump before applying or rolling back") \
	X(DB_SCHEMA, DATABASE, "schema", MD_CFG_T_IDENT, NULL,                 \
	  "MIGDECK_DATABASE_SCHEMA", NULL, 0,                                  \
	  "a tenant schema: search_path, ${schema} and the history's schema")  \
	X(DB_LOCK, DATABASE, "lock", MD_CFG_T_ENUM, "auto", "MIGDECK_DATABASE_LOCK", \
	  "auto|advisory|lease", 0,                                            \
	  "runner lock: advisory lock, lease row (behind a pooler), auto: detect") \
	X(DB_LEASE_EXPIRY, DATABASE, "lease_expiry", MD_CFG_T_DURATION, "30s", \
	  "MIGDECK_DATABASE_LEASE_EXPIRY", NULL, 0,                            \
	  "a lease row not renewed for this long is free (heartbeat: a third)") \
	X(PENDING, WORKSPACE, "pending", MD_CFG_T_DIR, "pending",              \
	  "MIGDECK_WORKSPACE_PENDING", NULL, 0, "migrations not yet applied")  \
	X(APPLIED, WORKSPACE, "applied", MD_CFG_T_DIR, "applied",              \
	  "MIGDECK_WORKSPACE_APPLIED", NULL, 0, "migrations applied")          \
	X(ARCHIVE, WORKSPACE, "archive", MD_CFG_T_DIR, "archive",              \
	  "MIGDECK_WORKSPACE_ARCHIVE", NULL, 0,                                \
	  "migrations retired from the plan")                                  \
	X(TRACKS, WORKSPACE, "tracks", MD_CFG_T_IDENT, NULL,                   \
	  "MIGDECK_WORKSPACE_TRACKS", NULL, 0,                                 \
	  "the [target.NAME] the folders mirror (unset: whatever is in force)") \
	X(HISTORY_SCHEMA, HISTORY, "schema", MD_CFG_T_IDENT, "public",         \
	  "MIGDECK_HISTORY_SCHEMA", NULL, 0, "schema of the history table")    \
	X(HISTORY_TABLE, HISTORY, "table", MD_CFG_T_IDENT, "schema_versions",  \
	  "MIGDECK_HISTORY_TABLE", NULL, 0, "name of the history table")       \
	X(HISTORY_MIRROR, HISTORY, "mirror", MD_CFG_T_BOOL, "off",             \
	  "MIGDECK_HISTORY_MIRROR", NULL, 0,                                   \
	  "after migdeck adopt: also keep the adopted tool's table in step")   \
	X(HISTORY_FOREIGN_SCHEMA, HISTORY, "foreign_schema", MD_CFG_T_IDENT,   \
	  NULL, NULL, NULL, 0,                                                 \
	  "schema of another tool's history table (unset: [history] schema)")  \
	X(HISTORY_FOREIGN_TABLE, HISTORY, "foreign_table", MD_CFG_T_IDENT,     \
	  NULL, NULL, NULL, 0,                                                 \
	  "another tool's history table to adopt (unset: found by name)")      \
	X(LOCK_TIMEOUT, RUN, "lock_timeout", MD_CFG_T_DURATION, "0",           \
	  "MIGDECK_RUN_LOCK_TIMEOUT", NULL, 0,                                 \
	  "SET LOCAL lock_timeout for each migration (0: none)")               \
	X(STATEMENT_TIMEOUT, RUN, "statement_timeout", MD_CFG_T_DURATION, "0", \
	  "MIGDECK_RUN_STATEMENT_TIMEOUT", NULL, 0,                            \
	  "SET LOCAL statement_timeout for each migration (0: none)")          \
	X(TRANSACTION, RUN, "transaction", MD_CFG_T_ENUM, "per-migration",     \
	  "MIGDECK_RUN_TRANSACTION", "per-migration|all|none", 0,              \
	  "one transaction per migration, one for the whole run, or none")     \
	X(LOCK_RETRIES, RUN, "lock_retries", MD_CFG_T_COUNT, "3",              \
	  "MIGDECK_RUN_LOCK_RETRIES", NULL, 0,                                 \
	  "retries of a migration that hit lock_timeout, with backoff")        \
	X(EXCL_LOCK_WARN, RUN, "exclusive_lock_warn", MD_CFG_T_DURATION, "10s", \
	  "MIGDECK_RUN_EXCLUSIVE_LOCK_WARN", NULL, 0,                          \
	  "the stepper warns after holding an ACCESS EXCLUSIVE lock this long") \
	X(PROGRESS_INTERVAL, RUN, "progress_interval", MD_CFG_T_DURATION, "2s", \
	  "MIGDECK_RUN_PROGRESS_INTERVAL", NULL, 0,                            \
	  "--verbose: a progress line for a long statement this often")       \
	X(GIT_COMMIT, GIT, "commit", MD_CFG_T_BOOL, "on", "MIGDECK_GIT_COMMIT", \
	  NULL, 0, "commit each file move to git")                             \
	X(GIT_AUTHOR_NAME, GIT, "author_name", MD_CFG_T_PERSON, NULL,          \
	  "GIT_AUTHOR_NAME", NULL, 0,                                          \
	  "author of those commits (unset: git's user.name)")                  \
	X(GIT_AUTHOR_EMAIL, GIT, "author_email", MD_CFG_T_PERSON, NULL,        \
	  "GIT_AUTHOR_EMAIL", NULL, 0,                                         \
	  "author e-mail of those commits (unset: git's user.email)")          \
	X(DIFF_SCRATCH, DIFF, "scratch", MD_CFG_T_ENUM, "local",               \
	  "MIGDECK_DIFF_SCRATCH", "local|server", 0,                           \
	  "where --scratch builds: a throwaway local cluster, or a database on the target's server") \
	X(BACKUP_DIR, BACKUP, "dir", MD_CFG_T_PATH, "backups",                 \
	  "MIGDECK_BACKUP_DIR", NULL, 0,                                       \
	  "folder of the backups (made when missing)")                         \
	X(BACKUP_LOCK_WAIT, BACKUP, "lock_wait_timeout", MD_CFG_T_DURATION,    \
	  "1min", "MIGDECK_BACKUP_LOCK_WAIT_TIMEOUT", NULL, 0,                 \
	  "pg_dump gives up when a table stays locked this long (0: waits)")

#define MD_CFG_SEC_ENUM_(id, name, flags, help) MD_CFG_SEC_##id,
typedef enum md_cfg_section_id {
	MD_CONFIG_SECTIONS(MD_CFG_SEC_ENUM_)
	MD_CFG_NSECTIONS
} md_cfg_section_id;
#undef MD_CFG_SEC_ENUM_

#define MD_CFG_KEY_ENUM_(id, sec, key, type, def, env, choices, group, help) \
	MD_CFG_##id,
typedef enum md_cfg_key_id {
	MD_CONFIG_KEYS(MD_CFG_KEY_ENUM_)
	MD_CFG_NKEYS
} md_cfg_key_id;
#undef MD_CFG_KEY_ENUM_

typedef struct md_cfg_section {
	const char *name;
	unsigned flags; /* MD_CFG_SEC_* */
	const char *help;
} md_cfg_section;

typedef struct md_cfg_key {
	md_cfg_section_id section;
	const char *key;
	md_cfg_type type;
	const char *def;     /* NULL: unset */
	const char *env;     /* NULL: none */
	const char *choices; /* MD_CFG_T_ENUM: "a|b|c"; the index is the value */
	int group;
	const char *help;
} md_cfg_key;

/* The tables, indexed by md_cfg_section_id / md_cfg_key_id. */
extern const md_cfg_section md_cfg_sections[MD_CFG_NSECTIONS];
extern const md_cfg_key md_cfg_keys[MD_CFG_NKEYS];

/* ---- values ------------------------------------------------------------- */

typedef enum md_cfg_source {
	MD_CFG_SRC_DEFAULT = 0,
	MD_CFG_SRC_FILE,   /* migdeck.ini; line and col say where */
	MD_CFG_SRC_ENV,    /* the row's env variable */
	MD_CFG_SRC_FLAG,   /* -o or -d */
	MD_CFG_SRC_TARGET  /* the [target.NAME] in force (line, col: where) */
} md_cfg_source;

typedef struct md_cfg_value {
	char *text;           /* normalised value; NULL when unset */
	long long num;        /* duration: ms; bool: 0/1; enum: index */
	md_cfg_source source;
	unsigned line, col;   /* MD_CFG_SRC_FILE: where the value starts */
	int rank;             /* internal: precedence of the source */
} md_cfg_value;

/* One key = value of a free-form section such as [placeholders]. */
typedef struct md_cfg_pair {
	char *name;           /* spelt as in the file or the -o flag */
	char *value;
	md_cfg_source source;
	unsigned line, col;
} md_cfg_pair;

typedef struct md_cfg_list {
	md_cfg_pair *items;
	size_t n, cap;
} md_cfg_list;

/* A [target.NAME] section: keys of [database] and [run] that override
 * those sections when the target is in force (--target NAME,
 * $MIGDECK_TARGET or [workspace] tracks). */
typedef struct md_cfg_target {
	char *name;           /* as spelt after "target." (lowercased) */
	unsigned line;        /* of its [target.NAME] header */
	md_cfg_list keys;     /* key = value in file order, validated at load */
} md_cfg_target;

/* What a [group.NAME] lists. */
typedef enum md_group_kind {
	MD_GROUP_TARGETS = 0, /* targets = a, b, c */
	MD_GROUP_DATABASES,   /* query lists database names (members = databases) */
	MD_GROUP_SCHEMAS      /* query lists tenant schemas (members = schemas) */
} md_group_kind;

/* A [group.NAME] section: a fleet of databases or tenant schemas. */
typedef struct md_cfg_group {
	char *name;
	unsigned line;
	md_group_kind kind;
	char **targets;       /* MD_GROUP_TARGETS: the member targets, in order */
	size_t ntargets;
	char *query;          /* otherwise: SQL returning one text column */
	char *target;         /* the target the query runs on; each member is it
	                         with dbname (or schema) replaced; NULL: the
	                         settings without a target */
	unsigned query_line, query_col;
} md_cfg_group;

typedef enum md_tx_mode {
	MD_TX_PER_MIGRATION = 0, /* same order as the "transaction" choices */
	MD_TX_ALL,
	MD_TX_NONE
} md_tx_mode;

typedef struct md_config {
	char *ini_path;  /* the file read, as given or found; NULL when none */
	char *base_dir;  /* absolute folder of the ini (or the working dir):
	                    relative ini paths are resolved against it */

	/* Typed views, valid until md_config_free (they point into values). */
	const char *database;       /* url or conninfo in force; NULL: none
	                               (libpq's defaults and PG* variables) */
	md_cfg_key_id database_key; /* MD_CFG_DB_URL or MD_CFG_DB_CONNINFO */
	int connect_retries;        /* [database] connect_retries */
	int connect_retries_interval; /* [database] connect_retries_interval:
	                               seconds, the cap of the doubling pause */
	const char *pending_dir;    /* absolute paths; defaults may not exist */
	const char *applied_dir;
	const char *archive_dir;
	const char *history_schema;
	const char *history_table;
	bool history_mirror;        /* [history] mirror: keep an adopted
	                               tool's table in step (src/adopt.h) */
	const char *foreign_schema; /* [history] foreign_schema, else the
	                               history schema */
	const char *foreign_table;  /* [history] foreign_table, or NULL */
	struct md_flyway_conf *flyway; /* settings read from a flyway.conf
	                               (src/flywayconf.h), or NULL */
	const char *lock_timeout;   /* as sent to PostgreSQL: "5s", "0" */
	long long lock_timeout_ms;  /* 0: none */
	const char *statement_timeout;
	long long statement_timeout_ms;
	int lock_retries;                /* [run] lock_retries */
	long long exclusive_lock_warn_ms; /* [run] exclusive_lock_warn (0: never) */
	md_tx_mode transaction;
	bool git_commit;
	bool production;              /* [database] production */
	int backup_pg_dump;           /* [database] backup = pg_dump */
	const char *schema;           /* [database] schema: tenant schema or NULL */
	int lock_mode;                /* [database] lock: 0 auto, 1 advisory, 2 lease */
	long long lease_expiry_ms;    /* [database] lease_expiry */
	long long progress_interval_ms; /* [run] progress_interval */
	const char *backup_dir;       /* [backup] dir: absolute, may not exist */
	long long backup_lock_wait_ms; /* [backup] lock_wait_timeout (0: none) */
	const char *tracks;           /* [workspace] tracks, or NULL */
	const char *target;           /* the [target.NAME] in force, or NULL */
	const char *member;           /* a group member's name (md_config_derive
	                                 with a dbname or schema), or NULL */
	int tracked;                  /* the folders follow this database: files
	                                 move and moves are committed (no tracks
	                                 set, or target == tracks) */
	const char *git_author_name;  /* NULL: git's own user.name */
	const char *git_author_email; /* NULL: git's own user.email */
	const md_cfg_pair *placeholders; /* in file order, then -o order */
	size_t nplaceholders;

	/* Every key of the table and every free-form section. */
	md_cfg_value values[MD_CFG_NKEYS];
	md_cfg_list free_sections[MD_CFG_NSECTIONS];

	/* [target.NAME] and [group.NAME] sections in file order.  A config
	 * made by md_config_derive borrows them from its base. */
	md_cfg_target *targets;
	size_t ntargets;
	md_cfg_group *groups;
	size_t ngroups;
	int borrowed;                 /* targets/groups belong to the base */
	md_cfg_value *untargeted;     /* values before the target was applied */
	char *target_name, *member_name; /* storage of target and member */
} md_config;

/* ---- loading ------------------------------------------------------------- */

typedef void (*md_warn_fn)(const char *msg, void *payload);

typedef struct md_config_opts {
	const char *config_path;      /* -c FILE, or NULL: $MIGDECK_CONFIG if set,
	                                 else ./migdeck.ini if present */
	const char *database;         /* -d URL-or-conninfo flag, or NULL */
	const char *const *overrides; /* "section.key=value" from -o flags */
	size_t noverrides;
	const char *target;           /* --target NAME, or NULL: $MIGDECK_TARGET,
	                                 else [workspace] tracks, else none */
	md_warn_fn warn;              /* "FILE:LINE: unknown key ..."; NULL: drop */
	void *warn_payload;
} md_config_opts;

/* Read the ini file, the environment and the flags into *out.  A settings
 * file named *.conf or *.properties is a flyway.conf (src/flywayconf.h);
 * without -c, $MIGDECK_CONFIG or ./migdeck.ini, ./flyway.conf is read.
 * MD_ERR_CONFIG (err: file, line, col and a message naming the key, the
 * flag or the environment variable) on any invalid value, a missing -c
 * file, an ini syntax error or a missing explicit folder; MD_ERR_NOMEM. */
md_status md_config_load(md_config **out, const md_config_opts *opts,
			 md_error *err);

/* Free a config (NULL is accepted). */
void md_config_free(md_config *cfg);

/* Effective settings, one per line: "section.key = value  (source)" where
 * source is default | FILE:LINE | env VAR | flag.  Passwords are ****. */
void md_config_print(const md_config *cfg, FILE *out);

/* A key's value by id (NULL when unset) and where it came from. */
const char *md_config_get(const md_config *cfg, md_cfg_key_id id);
md_cfg_source md_config_source(const md_config *cfg, md_cfg_key_id id);

/* "default", "file", "env" or "flag". */
const char *md_cfg_source_name(md_cfg_source src);

/* The entries of a free-form section (NULL and *n = 0 for other sections). */
const md_cfg_pair *md_config_section_pairs(const md_config *cfg,
					   md_cfg_section_id sec, size_t *n);

/* For readers of other formats (src/flywayconf.c): store a value as if it
 * came from the settings file at line:col (validated like an ini value;
 * errors name the file, line and column). */
md_status md_config_set_file_value(md_config *cfg, md_cfg_key_id id, const char *raw,
				   unsigned line, unsigned col, md_error *err);
md_status md_config_set_file_pair(md_config *cfg, md_cfg_section_id sec, const char *name,
				  const char *value, unsigned line, unsigned col, md_error *err);

/* ---- targets and groups ---------------------------------------------------- */

/* A target or group by name (case-insensitive); NULL when there is none. */
const md_cfg_target *md_config_target(const md_config *cfg, const char *name);
const md_cfg_group *md_config_group(const md_config *cfg, const char *name);

/* A new config for another database: base's settings without its target,
 * then target's keys (NULL: none), then dbname (NULL: keep) replacing the
 * connection's database, and schema (NULL: keep) as [database] schema.
 * member (NULL: none) names the result in output (cfg->member).  The
 * result borrows base's targets and groups: free it before base.
 * MD_ERR_CONFIG for an unknown target; MD_ERR_NOMEM. */
md_status md_config_derive(const md_config *base, const char *target, const char *dbname,
			   const char *schema, const char *member, md_config **out,
			   md_error *err);

/* The name to show for the database in force: member, else target, else
 * "default".  Never NULL. */
const char *md_config_label(const md_config *cfg);

/* ---- connection ---------------------------------------------------------- */

/* Connection parameters for PQconnectdbParams(keywords, values, 0): the
 * options of the url/conninfo in force, minus those that came from the ini
 * file while their PG* variable is set.  Empty arrays (just the NULL) when
 * no target is configured.  Free with md_config_free_params. */
md_status md_config_conn_params(const md_config *cfg, const char ***keywords,
				const char ***values, md_error *err);
void md_config_free_params(const char **keywords, const char **values);

/* The connection target for display, password masked: the URL with ****, or
 * "host=... dbname=... user=..." (including PG* variables that apply) when
 * the environment changes it.  "" when everything is libpq's default.
 * malloc'd; NULL when out of memory. */
char *md_config_conn_display(const md_config *cfg);

/* Any URL or conninfo text with its password(s) replaced by ****: a URL
 * keeps its form; a conninfo is re-emitted from PQconninfoParse.  Text that
 * does not parse is masked as far as it can be read.  malloc'd; NULL when
 * out of memory. */
char *md_conninfo_redact(const char *conninfo);

/* ---- placeholders -------------------------------------------------------- */

/* md_placeholder_fn (script.h) over [placeholders]; payload is the
 * md_config *.  Names are case-insensitive (iniparser lowercases keys);
 * NULL when undefined. */
const char *md_config_placeholder(const char *name, void *payload);

#endif
