/* adopt.h - taking over a database another migration tool has run.
 *
 * A "foreign" history table is one another tool wrote:
 *   flyway     flyway_schema_history (installed_rank, version, description,
 *              type, script, checksum, installed_by, installed_on,
 *              execution_time, success); checksum is Flyway's CRC32
 *              (md_flyway_checksum)
 *   golang     golang-migrate's schema_migrations (version bigint, dirty
 *              boolean): one row, the current version; everything at or
 *              below it is applied; dirty = that version failed
 *   dbmate     dbmate's schema_migrations (version varchar): a row per
 *              applied version
 *   numbered   a numbered-file project's schema_migrations (version = the
 *              file name, applied_at): a row per applied file
 * migdeck's own history table (the CRM schema_versions shape) is not
 * foreign: it is adopted and extended by md_history_ensure.
 *
 * `migdeck adopt` reads the foreign table (never writes it), matches its
 * rows to the files, checks Flyway's checksums against the files, and with
 * --yes records the result in migdeck's own history table, in one
 * transaction with an "adopt" event that remembers the foreign table and a
 * fingerprint of its content (md5 of its rows).
 *
 * Afterwards ([history] mirror):
 *   off  migdeck writes only its own history.  A writing command refuses
 *        to run while the foreign table's fingerprint differs from the one
 *        recorded (another tool still writes it): adopt again first.
 *   on   each apply, rollback and repair also writes the foreign table in
 *        its tool's own shape, in the same transaction as migdeck's row,
 *        after LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE; a "mirror" event
 *        records the new fingerprint, so a write by the other tool is still
 *        caught.
 * And before any adoption: a writing command on a database whose migdeck
 * history is empty while a foreign table has rows refuses to run (it would
 * run again what the other tool applied). */
#ifndef MIGDECK_ADOPT_H
#define MIGDECK_ADOPT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "error.h"
#include "history.h"
#include "workspace.h"

typedef enum md_foreign_tool {
	MD_FOREIGN_NONE = 0,
	MD_FOREIGN_FLYWAY,
	MD_FOREIGN_GOLANG,
	MD_FOREIGN_DBMATE,
	MD_FOREIGN_NUMBERED
} md_foreign_tool;

typedef struct md_foreign {
	md_foreign_tool tool;
	char schema[128], table[128]; /* raw names */
	long long nrows;
	int form_name;                /* numbered: versions are file names
	                                 ("001_x.sql"), else stems ("001_x") */
} md_foreign;

/* "flyway", "golang-migrate", "dbmate", "numbered files" */
const char *md_foreign_tool_name(md_foreign_tool t);

/* Find a foreign table: [history] foreign_table when set (in
 * foreign_schema), else flyway_schema_history, then schema_migrations, in
 * the history schema; the shape decides the tool.  out->tool is
 * MD_FOREIGN_NONE when there is none.  The table must not be migdeck's own
 * history table. */
md_status md_foreign_detect(md_db *db, const md_config *cfg, md_foreign *out, md_error *err);

/* One row of a foreign table, in a common form. */
typedef struct md_foreign_row {
	long long rank;         /* flyway installed_rank; else the row's position */
	const char *version;    /* NULL: a Flyway repeatable or special row */
	const char *description;
	const char *type;       /* flyway: SQL, BASELINE, SCHEMA, UNDO_SQL, DELETE ...; else NULL */
	const char *script;
	int has_checksum;
	int32_t checksum;
	const char *installed_by, *installed_on;
	long long execution_ms;
	int success;            /* golang: NOT dirty */
} md_foreign_row;

typedef struct md_foreign_rows {
	md_foreign_row *rows;   /* in the order the tool applied them */
	size_t n;
	void *res;              /* the PGresult the strings point into */
} md_foreign_rows;

md_status md_foreign_load(md_db *db, const md_foreign *fr, md_foreign_rows **out, md_error *err);
void md_foreign_rows_free(md_foreign_rows *rows);

/* md5 of the table's rows (as text, sorted) and the count: what the
 * adoption and each mirror write remember. */
md_status md_foreign_fingerprint(md_db *db, const md_foreign *fr, char out[33], md_error *err);

/* ---- the adoption plan (pure logic, plus reading matched files for
 * Flyway's checksum) ------------------------------------------------------- */

typedef enum md_adopt_state {
	MD_ADOPT_APPLIED = 0,   /* recorded as applied */
	MD_ADOPT_FAILED,        /* recorded as a failed run (repair clears it) */
	MD_ADOPT_UNDONE,        /* applied, then undone: recorded rolled back */
	MD_ADOPT_BASELINE       /* a baseline marker at this version */
} md_adopt_state;

typedef enum md_adopt_sum {
	MD_SUM_NONE = 0,        /* the tool records no checksum */
	MD_SUM_AGREE,           /* Flyway's checksum equals the file's */
	MD_SUM_DIFFER,          /* the file changed since the tool ran it */
	MD_SUM_NO_FILE          /* no file to compare with */
} md_adopt_sum;

typedef struct md_adopt_item {
	const md_foreign_row *row; /* the deciding row; NULL for golang's implied ones */
	const md_foreign_row *undo;/* flyway: the UNDO row of an undone version */
	const md_file *file;       /* the matching file, or NULL (missing file) */
	char version[128];         /* the key recorded (file version, R__ stem, or
	                              the tool's version or script) */
	md_adopt_state state;
	md_adopt_sum sum;
	int32_t file_crc;          /* flyway: the file's checksum */
	int already;               /* migdeck's history has this version */
} md_adopt_item;

typedef struct md_adopt {
	md_foreign foreign;
	md_adopt_item *items;      /* in the tool's order */
	size_t n;
	size_t napplied, nfailed, nundone, nbaseline, nmissing, nagree, ndiffer, nnosum,
	       nalready, nignored;
	size_t npending;           /* versioned files no row covers */
} md_adopt;

/* Match rows (of fr's tool) to the files of ws and the rows migdeck's own
 * history already has (own may be NULL). */
md_status md_adopt_build(md_adopt **out, const md_foreign *fr, const md_foreign_rows *rows,
			 const md_workspace *ws, const md_history *own, md_error *err);
void md_adopt_free(md_adopt *a);

const char *md_adopt_state_name(md_adopt_state s); /* "applied", "failed", ... */
const char *md_adopt_sum_name(md_adopt_sum s);     /* "agrees", "differs", ... */

/* Record the plan in migdeck's own history (bookkeeping ensured, lock
 * held by the caller), one transaction: a row per item that is not
 * already there, an event per row and the "adopt" event with the
 * fingerprint.  server_version for md_prepare (the applied text of files
 * whose checksum agrees).  *recorded gets the count. */
md_status md_adopt_record(md_db *db, const md_config *cfg, const md_adopt *a,
			  size_t *recorded, md_error *err);

/* ---- after adoption --------------------------------------------------------- */

/* The foreign table recorded by the latest adopt/mirror event, with its
 * fingerprint then: *found = 0 when there was no adoption. */
md_status md_adopt_recorded(md_db *db, const md_config *cfg, md_foreign *fr, char fp[33],
			    int *found, md_error *err);

/* What a writing command checks first, before it creates or changes
 * anything (see the top of this file): MD_ERR_REFUSED with the reason,
 * else MD_OK; *mirror gets the adopted table when [history] mirror = on
 * (tool NONE otherwise).  own: migdeck's history as loaded, or NULL (then
 * looked up). */
md_status md_adopt_guard(md_db *db, const md_config *cfg, const md_history *own,
			 md_foreign *mirror, md_error *err);

/* Mirror writes, inside the caller's transaction (after migdeck's row).
 * apply: version text as in the file, its Flyway checksum, success. */
md_status md_mirror_apply(md_db *db, const md_config *cfg, const md_foreign *fr,
			  const md_file *f, int32_t crc, long long ms, int success, md_error *err);
md_status md_mirror_rollback(md_db *db, const md_config *cfg, const md_foreign *fr,
			     const md_file *forward, const md_file *undo, int32_t undo_crc,
			     long long ms, md_error *err);
/* repair: failed rows deleted (flyway), dirty cleared (golang). */
md_status md_mirror_repair(md_db *db, const md_config *cfg, const md_foreign *fr, md_error *err);
/* baseline: files recorded as applied without running them (n may be 0:
 * a baseline marker at version).  Flyway: one BASELINE row at version (or
 * the highest file's), description (NULL: "<< Flyway Baseline >>") as its
 * description and script; golang-migrate: the one row becomes the highest
 * version now applied; dbmate, numbered: a row per file. */
md_status md_mirror_baseline(md_db *db, const md_config *cfg, const md_foreign *fr,
			     const md_file *const *files, size_t n, const char *version,
			     const char *description, md_error *err);
/* repair's checksum realignment of f: Flyway's latest successful row of
 * its version (or, for a repeatable, its script) gets crc, as `flyway
 * repair` realigns it; the other tools record no checksum (nothing
 * written). */
md_status md_mirror_realign(md_db *db, const md_config *cfg, const md_foreign *fr,
			    const md_file *f, int32_t crc, md_error *err);

/* ---- flyway.baselineOnMigrate ------------------------------------------------ */

/* Whether any of schemas (NULL-terminated) holds an object (relation,
 * function, type) other than migdeck's own bookkeeping (the history table,
 * its _events and _migdeck tables, what depends on them, and the
 * migdeck_self_record function): Flyway baselines on migrate only a
 * schema that is not empty. */
md_status md_schemas_have_objects(md_db *db, const md_config *cfg, const char *const *schemas,
				  int *yes, md_error *err);

/* ---- Flyway's clean ---------------------------------------------------------- */

/* A production target: the database or host name contains "prod" (any
 * case), or $MIGDECK_PRODUCTION is 1.  clean refuses it, and any database
 * marked [database] production = true. */
int md_target_is_production(const md_db *db);

/* Drop every object of each schema (DROP SCHEMA ... CASCADE, CREATE SCHEMA
 * again, owned by the current user), in one transaction. */
md_status md_clean_schemas(md_db *db, const char *const *schemas, md_error *err);

#endif
