/* vcs.c - libgit2 for the engine. */
#include "vcs.h"

#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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

const char *md_git_state_name(md_git_state s)
{
	switch (s) {
	case MD_GIT_NONE: return "no repository";
	case MD_GIT_COMMITTED: return "committed";
	case MD_GIT_MODIFIED: return "modified";
	case MD_GIT_ADDED: return "added";
	case MD_GIT_UNTRACKED: return "untracked";
	case MD_GIT_IGNORED: return "ignored";
	case MD_GIT_UNKNOWN: break;
	}
	return "unknown";
}

typedef struct st_entry {
	const char *path;  /* relative to the work tree, as libgit2 gives it */
	unsigned flags;    /* GIT_STATUS_* */
} st_entry;

static int st_cmp(const void *a, const void *b)
{
	return strcmp(((const st_entry *)a)->path, ((const st_entry *)b)->path);
}

static md_git_state state_of(unsigned f)
{
	if (f & GIT_STATUS_IGNORED)
		return MD_GIT_IGNORED;
	if (f & GIT_STATUS_WT_NEW && !(f & GIT_STATUS_INDEX_NEW))
		return MD_GIT_UNTRACKED;
	if (f & (GIT_STATUS_INDEX_MODIFIED | GIT_STATUS_WT_MODIFIED | GIT_STATUS_INDEX_RENAMED |
		 GIT_STATUS_WT_RENAMED | GIT_STATUS_INDEX_TYPECHANGE | GIT_STATUS_WT_TYPECHANGE |
		 GIT_STATUS_WT_DELETED | GIT_STATUS_INDEX_DELETED))
		return (f & GIT_STATUS_INDEX_NEW) ? MD_GIT_ADDED : MD_GIT_MODIFIED;
	if (f & GIT_STATUS_INDEX_NEW)
		return MD_GIT_ADDED;
	return MD_GIT_COMMITTED;
}

/* The folder part of path relative to the work tree wd (real path, ending
 * in '/'): "pending", "" for the top; -1 when outside it.  cache holds the
 * last folder asked and its answer, since files come folder by folder. */
typedef struct dir_cache {
	char dir[4096];
	char rel[4096];
	int ok;
} dir_cache;

static int rel_dir(const char *path, const char *wd, dir_cache *c, const char **rel)
{
	const char *s = strrchr(path, '/');
	size_t dl = s ? (size_t)(s - path) : 0, wdlen = strlen(wd);
	char real[4096];

	if (!s || dl >= sizeof(c->dir))
		return -1;
	if (strncmp(c->dir, path, dl) != 0 || c->dir[dl] != '\0') {
		memcpy(c->dir, path, dl);
		c->dir[dl] = '\0';
		c->ok = 0;
		if (realpath(c->dir, real)) {
			size_t rl = strlen(real);

			if (rl + 1 == wdlen && !strncmp(real, wd, rl)) {
				c->rel[0] = '\0';
				c->ok = 1;
			} else if (rl >= wdlen && !strncmp(real, wd, wdlen)) {
				snprintf(c->rel, sizeof(c->rel), "%s", real + wdlen);
				c->ok = 1;
			}
		}
	}
	*rel = c->rel;
	return c->ok ? 0 : -1;
}

int md_vcs_states(const char *const *paths, size_t n, unsigned char *states, md_error *err)
{
	git_repository *repo = NULL;
	git_status_list *list = NULL;
	git_status_options opts;
	st_entry *ents = NULL;
	char *first_dir = NULL, *slash, **specs = NULL, wd[4096];
	dir_cache *cache = NULL;
	const char *rel;
	size_t i, nents = 0, nspecs = 0;
	int rc = 0;

	for (i = 0; i < n; i++)
		states[i] = MD_GIT_NONE;
	if (n == 0)
		return 0;
	git_libgit2_init();
	if (!(first_dir = strdup(paths[0])) || !(cache = calloc(1, sizeof(*cache))) ||
	    !(specs = calloc(n, sizeof(*specs)))) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	if ((slash = strrchr(first_dir, '/')) != NULL)
		*slash = '\0';
	rc = git_repository_open_ext(&repo, first_dir, 0, NULL);
	if (rc == GIT_ENOTFOUND) {
		rc = 0;
		goto done;
	}
	if (rc < 0 || !git_repository_workdir(repo) || !realpath(git_repository_workdir(repo), wd) ||
	    strlen(wd) + 2 > sizeof(wd)) {
		const git_error *e = git_error_last();
		rc = md_error_set(err, MD_ERR_IO, first_dir, 0, 0, "git: %s",
				  e ? e->message : "no work tree");
		goto done;
	}
	strcat(wd, "/");
	/* walk only the folders of the files (pending/, applied/, ...) */
	for (i = 0; i < n; i++) {
		size_t k;

		if (rel_dir(paths[i], wd, cache, &rel) < 0)
			continue;
		for (k = 0; k < nspecs; k++)
			if (!strcmp(specs[k], *rel ? rel : "."))
				break;
		if (k == nspecs && !(specs[nspecs++] = strdup(*rel ? rel : "."))) {
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
			goto done;
		}
	}
	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
		     GIT_STATUS_OPT_INCLUDE_IGNORED | GIT_STATUS_OPT_RECURSE_IGNORED_DIRS;
	opts.pathspec.strings = specs;
	opts.pathspec.count = nspecs;
	/* a folder that is the top of the work tree (".") or whose name reads
	 * as a pattern (* ? [ \) limits nothing reliably: walk everything */
	for (i = 0; i < nspecs; i++)
		if (!strcmp(specs[i], ".") || strpbrk(specs[i], "*?[\\"))
			opts.pathspec.count = 0;
	if ((rc = git_status_list_new(&list, repo, &opts)) < 0) {
		const git_error *e = git_error_last();
		rc = md_error_set(err, MD_ERR_IO, wd, 0, 0, "git status: %s",
				  e ? e->message : "failed");
		goto done;
	}
	nents = git_status_list_entrycount(list);
	if (nents && !(ents = calloc(nents, sizeof(*ents)))) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	for (i = 0; i < nents; i++) {
		const git_status_entry *e = git_status_byindex(list, i);
		const git_diff_delta *d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;

		ents[i].path = d ? (d->new_file.path ? d->new_file.path : d->old_file.path) : "";
		ents[i].flags = e->status;
	}
	qsort(ents, nents, sizeof(*ents), st_cmp);
	cache->dir[0] = '\0';
	cache->ok = 0;
	for (i = 0; i < n; i++) {
		char relpath[8192];
		st_entry key, *hit;

		if (rel_dir(paths[i], wd, cache, &rel) < 0)
			continue;
		snprintf(relpath, sizeof(relpath), "%s%s%s", rel, *rel ? "/" : "",
			 strrchr(paths[i], '/') + 1);
		key.path = relpath;
		hit = nents ? bsearch(&key, ents, nents, sizeof(*ents), st_cmp) : NULL;
		states[i] = (unsigned char)(hit ? state_of(hit->flags) : MD_GIT_COMMITTED);
	}
	rc = 0;
done:
	if (specs) {
		for (i = 0; i < nspecs; i++)
			free(specs[i]);
		free(specs);
	}
	free(cache);
	free(ents);
	git_status_list_free(list);
	git_repository_free(repo);
	free(first_dir);
	git_libgit2_shutdown();
	return rc;
}
