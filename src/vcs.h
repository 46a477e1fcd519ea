/* vcs.h - the one seam to libgit2 for the engine (the console issue adds
 * staging and committing moves here). */
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

#endif
