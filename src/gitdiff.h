/* gitdiff.h - text diffs through libgit2 (its xdiff, as `git diff` uses):
 * two buffers, or a file against its version at HEAD or at a commit the
 * caller names.  No home-made diff: libgit2 finds the hunks, this module
 * only lays them out as a unified diff and keeps each line's kind, so the
 * CLI prints them and the console paints them.
 *
 * Every function fills an md_diff (md_diff_free it; a zeroed one is empty). */
#ifndef MIGDECK_GITDIFF_H
#define MIGDECK_GITDIFF_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

typedef struct md_diff_line {
	char origin;      /* '-' old only, '+' new only, ' ' context, '@' hunk
	                     header, '\\' "\ No newline at end of file" */
	size_t off, len;  /* the line in md_diff.text, after its origin
	                     character, without the line break */
} md_diff_line;

typedef struct md_diff_hunk {
	int old_start, old_lines, new_start, new_lines;
	size_t line;      /* index of its '@' line in lines[] */
	size_t nlines;    /* lines[line + 1 .. line + nlines] are its body */
} md_diff_hunk;

typedef struct md_diff {
	char *text;       /* the unified diff: "--- OLD\n+++ NEW\n@@ ... @@ context\n..."
	                     or "" when the two sides are equal (NUL-terminated) */
	size_t len;
	md_diff_line *lines;   /* every line of text after the --- and +++ lines */
	size_t nlines;
	md_diff_hunk *hunks;
	size_t nhunks;
	size_t added, removed; /* '+' and '-' lines */
} md_diff;

/* Diff two texts.  The labels name the sides on the --- and +++ lines.
 * context_lines: lines of context around each change (git's default 3
 * when < 0). */
md_status md_diff_buffers(md_diff *out, const char *old_text, size_t old_len,
			  const char *old_label, const char *new_text, size_t new_len,
			  const char *new_label, int context_lines, md_error *err);

/* What md_diff_git_file compared. */
typedef struct md_git_info {
	char commit[41];      /* the commit id the file was read at */
	char old_path[1024];  /* the path in that commit, relative to the
	                         repository ("" when the file is not in it) */
	char new_path[1024];  /* the file's path relative to the repository */
	int is_new;           /* the commit has no such file: all lines added */
	int is_deleted;       /* the file is gone from the working tree */
} md_git_info;

/* Diff the file at path (as it is on disk now) against its content at
 * `against` (any revision git understands: a commit id, a short id, a
 * branch, a tag, HEAD~2; NULL: HEAD).  When the commit has no file at that
 * path, the same file name in each of alt_dirs (absolute folders inside the
 * repository; may be NULL) is tried in turn, so a migration moved from
 * pending/ to applied/ since the commit is still compared with what it was.
 * Errors name the file: not in a git repository, a repository with no
 * commit yet, an unknown revision, no such file anywhere. */
md_status md_diff_git_file(md_diff *out, const char *path, const char *against,
			   const char *const *alt_dirs, size_t nalt, md_git_info *info,
			   md_error *err);

void md_diff_free(md_diff *d);   /* frees what d holds and zeroes it */

/* The diff on out; with colour, '-' lines red, '+' green, '@' cyan and the
 * --- and +++ lines bold. */
void md_diff_print(const md_diff *d, FILE *out, int color);

/* JSON: {"empty":bool,"added":n,"removed":n,"text":"...","hunks":[
 * {"old_start":n,"old_lines":n,"new_start":n,"new_lines":n,"header":"@@ ...",
 * "lines":[{"origin":"+","text":"..."}]}]} (no newline after). */
void md_diff_json(const md_diff *d, FILE *out);

#endif
