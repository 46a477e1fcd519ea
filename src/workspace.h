/* workspace.h - the migration files on disk: pending/, applied/, archive/.
 *
 * One entry per file: its folder, naming style, kind, version, description,
 * checksum and rollback pair.  Problems (duplicate versions, a rollback with
 * no forward file, names that fit no convention, non-.sql files) are kept in
 * a list, not fatal: `validate` fails on them, other commands refuse only
 * when a problem touches what they would do. */
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
	md_style style;       /* the style most files use (NONE when empty) */
	md_file *files;       /* forward files, versioned ones in version order,
	                         then repeatables by description */
	size_t nfiles;
	md_file *rollbacks;   /* rollback files, in version order */
	size_t nrollbacks;
	md_ws_problem *problems;
	size_t nproblems;
} md_workspace;

/* Scan the folders of cfg (a folder that does not exist is empty, not an
 * error, unless it was set explicitly: config checked that).  Reads every
 * .sql file once to compute its checksum. */
md_status md_workspace_scan(md_workspace **out, const md_config *cfg, md_error *err);
void md_workspace_free(md_workspace *ws);

/* Parse one file name.  Returns 0 and fills style, kind, version and
 * description (malloc'd into *desc), or -1 if the name fits no convention. */
int md_name_parse(const char *name, md_style *style, md_kind *kind, md_version *version,
		  char **desc);

/* Checksum of a buffer: the git blob id of the content with CRLF turned to
 * LF (equal to `git hash-object` of the LF file).  hex gets 41 bytes. */
md_status md_checksum(const char *buf, size_t len, char hex[41], md_error *err);

/* Find a forward file by version text ("20241227_000001") or stem
 * ("20241227_000001_initial_schema"). */
md_file *md_workspace_find(const md_workspace *ws, const char *version_or_stem);

/* Names for a new migration NAME in style (NONE: the workspace's style, or
 * dated when empty).  The version is the next one after the highest in the
 * workspace (numbered: width kept; dated/timestamped: now, made later than
 * the highest if needed; flyway: highest major + 1).  Writes malloc'd file
 * names (no folder) into *forward and *rollback. */
md_status md_workspace_new_names(const md_workspace *ws, md_style style, const char *name,
				 long long now_epoch, char **forward, char **rollback,
				 md_error *err);

const char *md_style_name(md_style s);   /* "flyway", "numbered", ... */
const char *md_kind_name(md_kind k);     /* "versioned", "repeatable", "rollback" */
const char *md_folder_name(md_folder f); /* "pending", "applied", "archive" */

#endif
