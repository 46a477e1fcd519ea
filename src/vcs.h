/* vcs.h - the one seam to libgit2 for the engine (the console issue adds
 * staging and committing moves here). */
#ifndef MIGDECK_VCS_H
#define MIGDECK_VCS_H

#include "error.h"

/* Start and stop libgit2 for the whole process (reference counted: the
 * engine's own calls in between then cost nothing). */
void md_vcs_init(void);
void md_vcs_shutdown(void);

/* The commit id at HEAD of the git repository that contains dir, into hex
 * (41 bytes).  Returns 1 when found, 0 when dir is in no repository or HEAD
 * has no commit yet (hex = ""), negative on a libgit2 failure. */
int md_vcs_head(const char *dir, char hex[41], md_error *err);

#endif
