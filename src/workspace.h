/* workspace.h - the migration files on disk: pending/, applied/, archive/.
 *
 * One entry per file: its folder, naming style, kind, version, description,
 * checksum and rollback pair.  Problems (duplicate versions, a rollback with
 * no forward file, names that fit no convention, non-.sql files) are kept in
 * a list, not fatal: `validate` fails on them, other commands refuse only
 * when a problem touches what they would do.
 *
 * Naming (the prefixes V, U, R and the word "rollback" are case-sensitive):
 *   flyway       V<ver>__<desc>.sql, rollback U<ver>__<desc>.sql, repeatable
 *                R__<desc>.sql; <ver> is 1, 1.2.3 or 1_2_3 (`_` as `.`).
 *   numbered     <digits>_<desc>.sql (any width; not a dated/timestamped shape)
 *   dated        YYYYMMDD_<desc>.sql (8 digits that form a real date,
 *                years 1900..2999)
 *   timestamped  YYYYMMDD_HHMMSS_<desc>.sql (version text "20241227_120000")
 * Numbered, dated and timestamped rollbacks may be spelt either
 * <ver>_rollback_<desc>.sql or <ver>_<desc>_rollback.sql (or <ver>_rollback.sql,
 * with no description); `create` writes <ver>_rollback_<desc>.sql for
 * numbered and dated, <ver>_<desc>_rollback.sql for timestamped.
 * golang-migrate's <ver>_<desc>.up.sql and <ver>_<desc>.down.sql are a
 * forward file and its rollback of the numbered, dated or timestamped style
 * (the description without ".up"/".down").  A rollback
 * pairs with the forward file of the same version wherever it lives (one in
 * its own folder first).  Descriptions: `_` read as a space.
 *
 * Scanning: hidden entries (dot files) and subfolders are ignored; so are
 * *.md and *.txt files (READMEs, notes).  Any other file not ending in .sql
 * is an MD_WS_NOT_SQL problem.  archive/consolidated_schema.sql is the
 * baseline: not a migration, not a problem (see baseline_path).  A file
 * that cannot be read is still listed (checksum "", size -1 when unknown)
 * with an MD_WS_UNREADABLE problem.  Problem messages name files relative
 * to the ini's folder (config base_dir; the parent of pending/ when unset):
 * "pending/003_x.sql: duplicate version 003 (also applied/003_y.sql)". */
#ifndef MIGDECK_WORKSPACE_H
#define MIGDECK_WORKSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

typedef enum md_style {
	MD_STYLE_NONE = 0,
	MD_STYLE_FLYWAY,      /* V1.2__desc.sql, U1.2__desc.sql, R__desc.sql */
	MD_STYLE_NUMBERED,    /* 001_desc.sql */
	MD_STYLE_DATED,       /* 20230601_desc.sql, 20230601_rollback_desc.sql */
	MD_STYLE_TIMESTAMPED  /* 20241227_120000_desc.sql, ..._desc_rollback.sql */
} md_style;

typedef enum md_kind {
	MD_KIND_VERSIONED = 0,
	MD_KIND_REPEATABLE,   /* Flyway R__ */
	MD_KIND_ROLLBACK      /* U..., ..._rollback_..., ..._rollback */
} md_kind;

typedef enum md_folder {
	MD_FOLDER_PENDING = 0,
	MD_FOLDER_APPLIED,
	MD_FOLDER_ARCHIVE
} md_folder;

#define MD_VERSION_MAXPARTS 8

/* A version: compared numerically part by part, never as a string. */
typedef struct md_version {
	char text[64];        /* as written in the file name: "1.2.3", "001",
	                         "20230601", "20241227_120000"; "" if none */
	unsigned nparts;
	uint64_t parts[MD_VERSION_MAXPARTS];
} md_version;

/* Parse a version as written ("1.2.3", "1_2_3", "001", "20241227_120000").
 * Returns 0, or -1 if it is not one. */
int md_version_parse(md_version *out, const char *s, size_t len);

/* <0, 0, >0.  Missing trailing parts count as 0 (1.2 == 1.2.0). */
int md_version_cmp(const md_version *a, const md_version *b);

typedef struct md_file {
	char *name;           /* file name, e.g. "20230601_add_email.sql" */
	char *path;           /* path as found (folder + "/" + name) */
	char *stem;           /* name without ".sql" */
	md_folder folder;
	md_style style;
	md_kind kind;
	md_version version;   /* empty for repeatables */
	char *description;    /* from the name: "add email" (underscores as spaces) */
	char checksum[41];    /* git blob id of the content, CRLF as LF */
	long long size;
	struct md_file *pair; /* forward <-> rollback, or NULL */
} md_file;

typedef enum md_ws_problem_kind {
	MD_WS_BAD_NAME = 1,   /* a .sql file that fits no naming convention */
	MD_WS_NOT_SQL,        /* a file that is not .sql */
	MD_WS_DUPLICATE,      /* two forward files (or two rollbacks) with one version */
	MD_WS_ORPHAN_ROLLBACK,/* a rollback with no forward file */
	MD_WS_UNREADABLE,     /* a file that cannot be read */
	MD_WS_MIXED_STYLES    /* more than one naming style in the workspace */
} md_ws_problem_kind;

typedef struct md_ws_problem {
	md_ws_problem_kind kind;
	char *path;           /* the file it is about */
	char *msg;            /* "pending/x.sql: duplicate version 3 (also applied/003_y.sql)" */
} md_ws_problem;

typedef struct md_workspace {
	char *dirs[3];        /* pending, applied, archive (absolute) */
	int single_folder;    /* pending and applied are the same folder */
	int untracked;        /* loaded for a target the folders do not follow
	                         ([workspace] tracks): plans want every file
	                         where it is */
	md_style style;       /* the style most files use (NONE when empty) */
	md_file *files;       /* forward files, versioned ones in version order,
	                         then repeatables by description */
	size_t nfiles;
	md_file *rollbacks;   /* rollback files, in version order */
	size_t nrollbacks;
	md_ws_problem *problems;
	size_t nproblems;     /* sorted by path */
	/* added with the scanner: */
	char *rel_dirs[3];    /* the folders as messages name them: relative to
	                         the ini's folder when inside it ("pending",
	                         "db/applied"; "" for that folder itself), else
	                         as configured; NULL for a folder not configured */
	char *baseline_path;  /* archive/consolidated_schema.sql, or NULL */
} md_workspace;

/* Scan the folders of cfg (a folder that does not exist is empty, not an
 * error, unless it was set explicitly: config checked that).  Reads every
 * .sql file once to compute its checksum.  When pending and applied are one
 * folder (same real path), single_folder is set and its files are listed
 * once, as pending; a folder named twice is scanned once.  MD_ERR_IO when a
 * folder exists but cannot be listed; MD_ERR_NOMEM. */
md_status md_workspace_scan(md_workspace **out, const md_config *cfg, md_error *err);
/* Free a scanned workspace (NULL is accepted).  The strings of an md_file
 * are the workspace's (one block per file): not for a hand-built one. */
void md_workspace_free(md_workspace *ws);

/* The first problem the scan found about f (a duplicate version, a bad
 * name ...), or NULL (also for a NULL f). */
const md_ws_problem *md_workspace_problem_of(const md_workspace *ws, const md_file *f);

/* Parse one file name (with or without ".sql").  Returns 0 and fills
 * style, kind, version and description (malloc'd into *desc), or -1 if the
 * name fits no convention (or out of memory).  Any output may be NULL. */
int md_name_parse(const char *name, md_style *style, md_kind *kind, md_version *version,
		  char **desc);

/* Checksum of a buffer: the git blob id of the content with CRLF turned to
 * LF (equal to `git hash-object` of the LF file).  hex gets 41 bytes. */
md_status md_checksum(const char *buf, size_t len, char hex[41], md_error *err);

/* Find a forward file by version ("20241227_000001"; compared as a
 * version, so "1.2" finds V1_2__x.sql), by stem
 * ("20241227_000001_initial_schema") or by file name.  The first of
 * duplicates; NULL when none. */
md_file *md_workspace_find(const md_workspace *ws, const char *version_or_stem);

/* Names for a new migration NAME in style (NONE: the workspace's style, or
 * dated when empty).  NAME becomes a slug: ASCII letters (lowercased) and
 * digits kept, every other run of characters (`_` included) one `_`, none
 * at either end, at most 100 bytes; an empty slug is MD_ERR_USAGE, and so
 * is a slug that would not read back as a new forward file (numbered
 * "rollback_x").  The version is the next one after the highest in the
 * workspace (ws may be NULL: empty):
 *   numbered     highest + 1, zero-padded to the widest existing (3 when none)
 *   flyway       highest first part + 1 (V3 after V2.5)
 *   dated        today (UTC, from now_epoch); MD_ERR_INVALID, suggesting
 *                --style timestamped, when a dated or timestamped version
 *                of today or later exists
 *   timestamped  now (UTC) as YYYYMMDD_HHMMSS, one second past the highest
 *                dated/timestamped version when that is not earlier
 * Writes malloc'd file names (no folder) into *forward and *rollback. */
md_status md_workspace_new_names(const md_workspace *ws, md_style style, const char *name,
				 long long now_epoch, char **forward, char **rollback,
				 md_error *err);

const char *md_style_name(md_style s);   /* "flyway", "numbered", ... */
const char *md_kind_name(md_kind k);     /* "versioned", "repeatable", "rollback" */
const char *md_folder_name(md_folder f); /* "pending", "applied", "archive" */

#endif
