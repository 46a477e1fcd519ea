/* vcs.h - the one seam to libgit2 for the engine: HEAD, file states, and
 * committing the file moves of migrations as renames. */
#ifndef MIGDECK_VCS_H
#define MIGDECK_VCS_H

#include <stddef.h>

#include "error.h"

/* Start and stop libgit2 for the whole process (reference counted: the
 * engine's own calls in between then cost nothing). */
void md_vcs_init(void);
void md_vcs_shutdown(void);

/* The commit id at HEAD of the git repository that contains dir, into hex
 * (41 bytes).  Returns 1 when found, 0 when dir is in no repository or HEAD
 * has no commit yet (hex = ""), negative on a libgit2 failure. */
int md_vcs_head(const char *dir, char hex[41], md_error *err);

/* A file's state in git, as the console marks it. */
typedef enum md_git_state {
	MD_GIT_UNKNOWN = 0,  /* not asked yet */
	MD_GIT_NONE,         /* not inside a git repository */
	MD_GIT_COMMITTED,    /* tracked, same as HEAD */
	MD_GIT_MODIFIED,     /* tracked, changed in the index or the work tree */
	MD_GIT_ADDED,        /* staged, not in HEAD yet */
	MD_GIT_UNTRACKED,    /* not tracked */
	MD_GIT_IGNORED       /* ignored by .gitignore */
} md_git_state;

/* The git state of each of n files (absolute paths) into states[i], from
 * one status walk of the repository that holds the first one, limited to
 * the folders of the files.  Files outside any repository are
 * MD_GIT_NONE.  Negative on a libgit2 failure (err filled). */
int md_vcs_states(const char *const *paths, size_t n, unsigned char *states, md_error *err);

/* "committed", "modified", ... */
const char *md_git_state_name(md_git_state s);

/* A file move: the path before and after (absolute, or relative to the
 * working directory; the file is at to now). */
typedef struct md_vcs_move {
	const char *from;
	const char *to;
} md_vcs_move;

/* What md_vcs_commit_moves did. */
enum {
	MD_VCS_NO_REPO = 0,    /* the files are in no git repository: nothing done */
	MD_VCS_COMMITTED = 1,  /* hex holds the new commit */
	MD_VCS_UNCHANGED = 2   /* HEAD's tree has the moves already: nothing done */
};

/* Commit n moves as renames in the repository that holds moves[0].to, on
 * HEAD (an unborn HEAD too).  The commit's tree is HEAD's tree with exactly
 * those paths changed: each from removed, each to added as a blob of the
 * file's current content (through the repository's filters, as git add
 * does).  The index gets the same change for just those paths (so git
 * status shows them clean); every other entry, staged or not, stays as it
 * was and nothing else goes into the commit.  The message is subject, a
 * blank line, "Files:" with one "    from -> to" line per move (paths in
 * the repository), then body (may be NULL).  Author and committer:
 * author_name / author_email, else the repository's user.name /
 * user.email; neither is an error that says how to set one.  Returns
 * MD_VCS_* (hex filled for MD_VCS_COMMITTED, "" otherwise), negative on a
 * failure (err filled; nothing changed).  MD_VCS_COMMITTED with err->msg
 * set: committed, but the index could not be updated (git status then
 * shows the moved paths as changes to undo: git reset -- PATHS). */
int md_vcs_commit_moves(const md_vcs_move *moves, size_t n, const char *subject, const char *body,
			const char *author_name, const char *author_email, char hex[41],
			md_error *err);

/* Moves left uncommitted among the folders dirs[0..ndirs-1] (which may
 * not exist): a file that HEAD has in one of them and that is gone from the
 * work tree (deleted, staged or not), while a file of the same name sits in
 * another of them, untracked or not in HEAD.  *out gets them in the order
 * of their new paths (absolute), *n their count; free with
 * md_vcs_moves_free.  Returns MD_VCS_NO_REPO when the folders are in no
 * repository, 1 otherwise, negative on a failure. */
int md_vcs_uncommitted_moves(const char *const *dirs, size_t ndirs, md_vcs_move **out, size_t *n,
			     md_error *err);
void md_vcs_moves_free(md_vcs_move *moves, size_t n);

/* The git state of one file (md_vcs_states of one path). */
md_git_state md_vcs_state(const char *path, md_error *err);

#endif
