/* plan.h - the workspace against the history: a state per migration and
 * what to do next.  Pure logic: no database, no disk. */
#ifndef MIGDECK_PLAN_H
#define MIGDECK_PLAN_H

#include <stddef.h>

#include "error.h"
#include "history.h"
#include "workspace.h"

typedef enum md_state {
	MD_STATE_PENDING = 0,   /* a file the database has not applied */
	MD_STATE_APPLIED,       /* applied, active, successful */
	MD_STATE_ROLLED_BACK,   /* applied once, rolled back: pending again */
	MD_STATE_FAILED,        /* the last run failed (row with success = false) */
	MD_STATE_MISSING_FILE,  /* the database has it applied, no file has it */
	MD_STATE_ARCHIVED       /* in archive/: folded into the baseline */
} md_state;

enum {
	MD_PLAN_DRIFT = 1u << 0,          /* checksum differs from the recorded one */
	MD_PLAN_DRIFT_COSMETIC = 1u << 1, /* ... only comments and whitespace differ */
	MD_PLAN_DRIFT_REAL = 1u << 2,     /* ... the statements differ */
	MD_PLAN_MISPLACED = 1u << 3,      /* the file is not in the folder its state wants */
	MD_PLAN_OUT_OF_ORDER = 1u << 4,   /* pending, older than the newest applied */
	MD_PLAN_REPEATABLE_CHANGED = 1u << 5 /* repeatable whose checksum changed: runs again */
};

typedef struct md_plan_item {
	const md_file *file;     /* NULL for MISSING_FILE */
	const md_hist_row *row;  /* the latest row for this version (APPLIED:
	                            the latest active successful one), or NULL;
	                            for a file with no row of its own at or
	                            below an active "baseline" row: that row */
	md_state state;
	unsigned flags;          /* MD_PLAN_* */
	md_folder want;          /* the folder the file belongs in (single-folder
	                            mode: where it is; MISSING_FILE: applied) */
} md_plan_item;

typedef struct md_plan {
	md_plan_item *items;     /* versioned in version order (missing files
	                            placed by version), then repeatables */
	size_t n;
	size_t npending;         /* items migrate would run */
} md_plan;

/* Match the files of ws to the rows of hist (NULL: an empty history).
 * A versioned file takes the rows whose version text equals its own; when
 * there are none, the rows whose version compares equal (md_version_cmp:
 * "1.2" = "1_2" = "1.2.0", "001" = "1"); then rows whose script is its file
 * name.  A repeatable takes the rows whose version is its stem.  Items point
 * into ws and hist, which must outlive the plan.  Only MD_PLAN_DRIFT is set
 * here: md_plan_classify_drift adds cosmetic or real. */
md_status md_plan_build(md_plan **out, const md_workspace *ws, const md_history *hist,
			md_error *err);
void md_plan_free(md_plan *plan);

/* Classify a change of text: 0 identical token streams (cosmetic: only
 * comments and whitespace differ), 1 real change.  Uses the script lexer
 * (placeholders off); keywords, bare identifiers and string prefixes
 * compare ignoring ASCII case, as the server folds them; everything else
 * byte for byte.  An unterminated quote or comment in either text is real. */
int md_drift_is_real(const char *old_text, size_t old_len, const char *new_text, size_t new_len);

/* Set MD_PLAN_DRIFT_COSMETIC or MD_PLAN_DRIFT_REAL on a drifted item from
 * the text the database applied and the file's text now (compare like with
 * like: both with placeholders substituted, or both raw).  A NULL text
 * (none kept) is real drift.  Does nothing to an item without
 * MD_PLAN_DRIFT. */
void md_plan_classify_drift(md_plan_item *it, const char *applied_text, size_t applied_len,
			    const char *file_text, size_t file_len);

/* Whether migrate would run it: a pending, rolled-back or failed versioned
 * file, or a repeatable that is new or changed (never one in archive/). */
int md_plan_item_runs(const md_plan_item *it);

const char *md_state_name(md_state s);  /* "pending", "applied", "rolled back", ... */

#endif
