/* diffs.h - the three diffs a reviewer asks for, as engine calls the CLI
 * (`migdeck diff`) and the console share.  Each fills an md_diff
 * (gitdiff.h): unified text plus the kind of each line, to print or paint.
 *
 *   schema   what migrations would change in the schema: their statements
 *            run inside one transaction that is always rolled back, with a
 *            canonical snapshot (schema.h) before and after, diffed.
 *   git      what changed in a file since a commit (md_diff_git_file in
 *            gitdiff.h: HEAD, or a commit the reviewer names).
 *   drift    the text recorded when a migration was applied against the
 *            file now, classified cosmetic or real by the script engine.
 *
 * And the target's snapshot against a scratch database built from the
 * files (scratch.h): changes made by hand outside migrations. */
#ifndef MIGDECK_DIFFS_H
#define MIGDECK_DIFFS_H

#include <stddef.h>

#include "config.h"
#include "db.h"
#include "error.h"
#include "gitdiff.h"
#include "plan.h"
#include "runner.h"

enum {
	/* r->db is a scratch database (thrown away after): a file whose
	 * statements cannot run in a transaction may run there for real, in
	 * autocommit, between the two snapshots */
	MD_PREVIEW_SCRATCH = 1u << 0,
	/* keep migdeck's bookkeeping tables in the snapshots */
	MD_PREVIEW_BOOKKEEPING = 1u << 1
};

/* Schema diff of the files at paths (n >= 1), run in that order with r
 * (r->db, r->cfg; r's callback gets each statement's events).  Every file
 * is read and checked first (md_prepare): a file that does not prepare is
 * refused before anything runs.  On the target (no MD_PREVIEW_SCRATCH) a
 * file with statements that cannot run in a transaction is refused:
 * MD_ERR_INVALID, "path:line:col: cannot be previewed on the target:
 * ... preview it on a scratch database (--scratch)".  Otherwise BEGIN
 * (with the run's SET LOCAL timeouts), migdeck's history tables when the
 * target has none (inside the transaction, as migrate --dry-run does, so a
 * script that inserts its own history row runs), snapshot, the statements,
 * snapshot, ROLLBACK, whatever happens: the database is left as it was (sequences
 * excepted: nextval() is never rolled back).  A statement that fails is
 * MD_ERR_DB with path:line:col and the server's message.  The labels are
 * "schema before" and "schema after <first file>[ + N more]".  With
 * MD_PREVIEW_SCRATCH and a non-transactional file, nothing encloses the
 * files: they stay applied on the scratch database, so build a new one
 * before the next preview. */
md_status md_preview_schema(md_runner *r, const char *const *paths, size_t n, unsigned flags,
			    md_diff *out, md_error *err);

/* The snapshot of scratch (what the files build) against the snapshot of
 * target (what the database is): lines only the target has are '+'. */
md_status md_preview_against(md_db *target, md_db *scratch, const md_config *cfg, unsigned flags,
			     md_diff *out, md_error *err);

typedef enum md_drift_class {
	MD_DRIFT_NONE = 0,     /* the file is what was applied */
	MD_DRIFT_COSMETIC,     /* only comments or whitespace differ */
	MD_DRIFT_REAL          /* the statements differ */
} md_drift_class;

typedef struct md_drift_info {
	md_drift_class cls;
	char version[64];      /* the history row's version */
	char applied_at[64];   /* as the server printed it */
	char recorded[41];     /* the recorded checksum ("" when none) */
	char checksum[41];     /* the file's checksum now */
} md_drift_info;

/* Drift of an applied migration (a plan item in state applied, with its
 * file): the text recorded at apply time (md_history_applied_sql) against
 * the file rendered as it would be sent now (md_prepare: statements joined
 * by "\n", placeholders substituted: like with like).  Classification: the
 * same text and checksum: none; the same statements but another checksum
 * (comments or blank lines between statements changed), or a text that
 * differs only in comments and whitespace (md_drift_is_real): cosmetic;
 * else real.  MD_ERR_INVALID when the item is not applied, has no file, or
 * no text was recorded for it (a baseline): only checksums can tell then. */
md_status md_preview_drift(md_db *db, const md_config *cfg, const md_plan_item *it,
			   md_drift_info *info, md_diff *out, md_error *err);

const char *md_drift_class_name(md_drift_class c); /* "none", "cosmetic", "real" */

#endif
