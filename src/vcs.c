/* vcs.c - libgit2 for the engine. */
#include "vcs.h"

#include <git2.h>
#include <string.h>

void md_vcs_init(void)
{
	git_libgit2_init();
}

void md_vcs_shutdown(void)
{
	git_libgit2_shutdown();
}

int md_vcs_head(const char *dir, char hex[41], md_error *err)
{
	git_repository *repo = NULL;
	git_oid oid;
	int rc;

	hex[0] = '\0';
	git_libgit2_init();
	rc = git_repository_open_ext(&repo, dir, 0, NULL);
	if (rc == GIT_ENOTFOUND) {
		rc = 0;
		goto done;
	}
	if (rc < 0) {
		const git_error *e = git_error_last();
		rc = md_error_set(err, MD_ERR_IO, dir, 0, 0, "git: %s", e ? e->message : "cannot open repository");
		goto done;
	}
	rc = git_reference_name_to_id(&oid, repo, "HEAD");
	if (rc < 0) {
		/* an unborn branch: no commit yet */
		rc = 0;
		goto done;
	}
	git_oid_tostr(hex, 41, &oid);
	rc = 1;
done:
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
