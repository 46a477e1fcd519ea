/* vcs.c - libgit2 for the engine. */
#include "vcs.h"

#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
	if (nents)
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

/* ---- committing moves ---------------------------------------------------------- */

static int git_fail(md_error *err, const char *where, const char *what)
{
	const git_error *e = git_error_last();

	return md_error_set(err, MD_ERR_IO, where, 0, 0, "git: %s: %s", what,
			    e && e->message ? e->message : "failed");
}

/* The work tree of repo as a real path ending in '/', into wd. */
static int work_tree(git_repository *repo, char wd[4096])
{
	const char *w = git_repository_workdir(repo);

	if (!w || !realpath(w, wd) || strlen(wd) + 2 > 4096)
		return -1;
	strcat(wd, "/");
	return 0;
}

/* path relative to the work tree wd, malloc'd; NULL when outside it. */
static char *rel_path(const char *path, const char *wd, dir_cache *c)
{
	const char *rel, *base = strrchr(path, '/');
	char *abs = NULL, *out;
	size_t len, wl = strlen(wd);

	if (!strncmp(path, wd, wl) && path[wl] && !strchr(path + wl, '/'))
		return strdup(path + wl); /* at the top, as md_vcs_uncommitted_moves gives it */
	if (!base) {
		/* relative to the working directory, no folder */
		if (!(abs = malloc(strlen(path) + 3)))
			return NULL;
		sprintf(abs, "./%s", path);
		path = abs;
		base = path + 1;
	}
	if (rel_dir(path, wd, c, &rel) < 0) {
		free(abs);
		return NULL;
	}
	len = strlen(rel) + strlen(base) + 2;
	if ((out = malloc(len)) != NULL)
		snprintf(out, len, "%s%s%s", rel, *rel ? "/" : "", base + 1);
	free(abs);
	return out;
}

/* Author and committer: the settings, else the repository's configuration. */
static int signature(git_signature **sig, git_repository *repo, const char *name,
		     const char *email, md_error *err)
{
	git_config *cfg = NULL;
	git_buf nb = { 0 }, eb = { 0 };
	int rc;

	if ((!name || !email) && git_repository_config_snapshot(&cfg, repo) == 0) {
		if (!name && git_config_get_string_buf(&nb, cfg, "user.name") == 0 && nb.size)
			name = nb.ptr;
		if (!email && git_config_get_string_buf(&eb, cfg, "user.email") == 0 && eb.size)
			email = eb.ptr;
	}
	if (!name || !*name || !email || !*email) {
		rc = md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0,
				  "git: no author for the commit: set [git] author_name and "
				  "author_email in migdeck.ini, or git's user.name and user.email");
	} else if (git_signature_now(sig, name, email) < 0) {
		rc = git_fail(err, NULL, "author");
	} else {
		rc = 0;
	}
	git_buf_dispose(&nb);
	git_buf_dispose(&eb);
	git_config_free(cfg);
	return rc;
}

int md_vcs_commit_moves(const md_vcs_move *moves, size_t n, const char *subject, const char *body,
			const char *author_name, const char *author_email, char hex[41],
			md_error *err)
{
	git_repository *repo = NULL;
	git_reference *head = NULL;
	git_commit *parent = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_treebuilder *tb = NULL;
	git_index *idx = NULL;
	git_signature *sig = NULL;
	git_tree_update *ups = NULL;
	git_oid tree_id, commit_id, empty_id;
	char **from = NULL, **to = NULL, *dir = NULL, *slash, *msg = NULL, wd[4096];
	dir_cache *cache = NULL;
	size_t i, nups = 0, msglen;
	const git_commit *parents[1];
	int rc;

	hex[0] = '\0';
	if (n == 0)
		return MD_VCS_UNCHANGED;
	git_libgit2_init();
	if (!(dir = strdup(moves[0].to)) || !(cache = calloc(1, sizeof(*cache))) ||
	    !(from = calloc(n, sizeof(*from))) || !(to = calloc(n, sizeof(*to))) ||
	    !(ups = calloc(2 * n, sizeof(*ups)))) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		strcpy(dir, ".");
	rc = git_repository_open_ext(&repo, dir, 0, NULL);
	if (rc == GIT_ENOTFOUND) {
		rc = MD_VCS_NO_REPO;
		goto done;
	}
	if (rc < 0) {
		rc = git_fail(err, dir, "cannot open the repository");
		goto done;
	}
	if (git_repository_is_bare(repo) || work_tree(repo, wd) < 0) {
		rc = md_error_set(err, MD_ERR_IO, dir, 0, 0, "git: the repository has no work tree");
		goto done;
	}
	for (i = 0; i < n; i++) {
		from[i] = rel_path(moves[i].from, wd, cache);
		to[i] = rel_path(moves[i].to, wd, cache);
		if (!from[i] || !to[i]) {
			rc = md_error_set(err, MD_ERR_IO, from[i] ? moves[i].to : moves[i].from, 0, 0,
					  "git: outside the work tree %s", wd);
			goto done;
		}
	}
	if ((rc = signature(&sig, repo, author_name, author_email, err)) < 0)
		goto done;
	/* HEAD's tree, or an empty one on an unborn branch */
	rc = git_repository_head(&head, repo);
	if (rc == 0) {
		if (git_reference_peel((git_object **)&parent, head, GIT_OBJECT_COMMIT) < 0 ||
		    git_commit_tree(&base, parent) < 0) {
			rc = git_fail(err, wd, "HEAD");
			goto done;
		}
	} else if (rc == GIT_EUNBORNBRANCH || rc == GIT_ENOTFOUND) {
		if (git_treebuilder_new(&tb, repo, NULL) < 0 || git_treebuilder_write(&empty_id, tb) < 0 ||
		    git_tree_lookup(&base, repo, &empty_id) < 0) {
			rc = git_fail(err, wd, "empty tree");
			goto done;
		}
	} else {
		rc = git_fail(err, wd, "HEAD");
		goto done;
	}
	for (i = 0; i < n; i++) {
		git_tree_entry *te = NULL;
		git_oid blob;
		struct stat sb;

		if (git_tree_entry_bypath(&te, base, from[i]) == 0) {
			ups[nups].action = GIT_TREE_UPDATE_REMOVE;
			ups[nups].path = from[i];
			nups++;
			git_tree_entry_free(te);
		}
		if (stat(moves[i].to, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			rc = md_error_set(err, MD_ERR_IO, moves[i].to, 0, 0, "git: not a file");
			goto done;
		}
		if (git_blob_create_from_workdir(&blob, repo, to[i]) < 0) {
			rc = git_fail(err, moves[i].to, "cannot store the file");
			goto done;
		}
		ups[nups].action = GIT_TREE_UPDATE_UPSERT;
		ups[nups].id = blob;
		ups[nups].filemode = (sb.st_mode & 0111) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
		ups[nups].path = to[i];
		nups++;
	}
	if (git_tree_create_updated(&tree_id, repo, base, nups, ups) < 0) {
		rc = git_fail(err, wd, "cannot build the tree");
		goto done;
	}
	if (git_oid_equal(&tree_id, git_tree_id(base))) {
		rc = MD_VCS_UNCHANGED;
		goto done;
	}
	git_tree_free(base);
	base = NULL;
	if (git_tree_lookup(&tree, repo, &tree_id) < 0) {
		rc = git_fail(err, wd, "tree");
		goto done;
	}
	/* the message: subject, the files, the caller's body */
	msglen = strlen(subject) + (body ? strlen(body) : 0) + 32;
	for (i = 0; i < n; i++)
		msglen += strlen(from[i]) + strlen(to[i]) + 12;
	if (!(msg = malloc(msglen))) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	{
		size_t off = (size_t)snprintf(msg, msglen, "%s\n\nFiles:\n", subject);

		for (i = 0; i < n; i++)
			off += (size_t)snprintf(msg + off, msglen - off, "    %s -> %s\n", from[i], to[i]);
		if (body && *body)
			snprintf(msg + off, msglen - off, "%s%s", body,
				 body[strlen(body) - 1] == '\n' ? "" : "\n");
	}
	parents[0] = parent;
	if (git_commit_create(&commit_id, repo, "HEAD", sig, sig, NULL, msg, tree, parent ? 1 : 0,
			      parents) < 0) {
		rc = git_fail(err, wd, "cannot commit");
		goto done;
	}
	git_oid_tostr(hex, 41, &commit_id);
	rc = MD_VCS_COMMITTED;
	/* the index: the same change for just these paths (a failure here
	 * leaves the commit made: MD_VCS_COMMITTED with err filled) */
	if (git_repository_index(&idx, repo) < 0 || git_index_read(idx, 0) < 0) {
		git_fail(err, wd, "committed, but cannot read the index");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (git_index_remove_bypath(idx, from[i]) < 0 || git_index_add_bypath(idx, to[i]) < 0) {
			git_fail(err, to[i], "committed, but cannot update the index");
			goto done;
		}
	}
	if (git_index_write(idx) < 0)
		git_fail(err, wd, "committed, but cannot write the index");
done:
	for (i = 0; i < n && from; i++)
		free(from[i]);
	for (i = 0; i < n && to; i++)
		free(to[i]);
	free(from);
	free(to);
	free(ups);
	free(msg);
	free(cache);
	free(dir);
	git_index_free(idx);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_treebuilder_free(tb);
	git_commit_free(parent);
	git_reference_free(head);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

md_git_state md_vcs_state(const char *path, md_error *err)
{
	unsigned char st = MD_GIT_UNKNOWN;

	if (md_vcs_states(&path, 1, &st, err) < 0)
		return MD_GIT_UNKNOWN;
	return (md_git_state)st;
}

void md_vcs_moves_free(md_vcs_move *moves, size_t n)
{
	size_t i;

	for (i = 0; moves && i < n; i++) {
		free((void *)moves[i].from);
		free((void *)moves[i].to);
	}
	free(moves);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int move_cmp(const void *a, const void *b)
{
	return strcmp(((const md_vcs_move *)a)->to, ((const md_vcs_move *)b)->to);
}

/* the folder of a repository path: "pending" of "pending/x.sql" (len) */
static size_t dir_len(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? (size_t)(s - p) : 0;
}

int md_vcs_uncommitted_moves(const char *const *dirs, size_t ndirs, md_vcs_move **out, size_t *n,
			     md_error *err)
{
	git_repository *repo = NULL;
	git_status_list *list = NULL;
	git_status_options opts;
	char **specs = NULL, wd[4096], real[4096];
	const char **gone = NULL, **fresh = NULL;
	size_t i, k, nspecs = 0, ngone = 0, nfresh = 0, nents, cap = 0;
	md_vcs_move *mv = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	git_libgit2_init();
	for (i = 0; i < ndirs && !repo; i++) {
		rc = git_repository_open_ext(&repo, dirs[i], 0, NULL);
		if (rc < 0 && rc != GIT_ENOTFOUND) {
			rc = git_fail(err, dirs[i], "cannot open the repository");
			goto done;
		}
	}
	if (!repo) {
		rc = MD_VCS_NO_REPO;
		goto done;
	}
	if (work_tree(repo, wd) < 0) {
		rc = md_error_set(err, MD_ERR_IO, dirs[0], 0, 0, "git: the repository has no work tree");
		goto done;
	}
	if (!(specs = calloc(ndirs + 1, sizeof(*specs)))) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	for (i = 0; i < ndirs; i++) {
		size_t wl = strlen(wd), rl;

		if (!realpath(dirs[i], real))
			continue; /* a folder that does not exist holds nothing */
		rl = strlen(real);
		if (rl + 1 == wl && !strncmp(real, wd, rl)) {
			nspecs = 0; /* the top of the work tree: walk everything */
			break;
		}
		if (rl < wl || strncmp(real, wd, wl) != 0)
			continue;
		if (!(specs[nspecs] = malloc(rl - wl + 3))) {
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
			goto done;
		}
		sprintf(specs[nspecs++], "%s/", real + wl);
	}
	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
	opts.pathspec.strings = specs;
	opts.pathspec.count = nspecs;
	for (i = 0; i < nspecs; i++)
		if (strpbrk(specs[i], "*?[\\"))
			opts.pathspec.count = 0;
	if (git_status_list_new(&list, repo, &opts) < 0) {
		rc = git_fail(err, wd, "status");
		goto done;
	}
	nents = git_status_list_entrycount(list);
	if (!(gone = calloc(nents + 1, sizeof(*gone))) || !(fresh = calloc(nents + 1, sizeof(*fresh)))) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	for (i = 0; i < nents; i++) {
		const git_status_entry *e = git_status_byindex(list, i);
		unsigned f = e->status;

		if (f & (GIT_STATUS_WT_DELETED | GIT_STATUS_INDEX_DELETED)) {
			const git_diff_delta *d = e->head_to_index ? e->head_to_index : e->index_to_workdir;
			/* in HEAD (a staged deletion, or tracked and gone) and gone */
			if (d && d->old_file.path && (!(f & GIT_STATUS_WT_DELETED) || !(f & GIT_STATUS_INDEX_NEW)))
				gone[ngone++] = d->old_file.path;
		} else if (f & (GIT_STATUS_WT_NEW | GIT_STATUS_INDEX_NEW)) {
			const git_diff_delta *d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
			if (d && d->new_file.path)
				fresh[nfresh++] = d->new_file.path;
		}
	}
	for (i = 0; i < nfresh; i++) {
		for (k = 0; k < ngone; k++) {
			const char *a = fresh[i], *b = gone[k];

			if (!gone[k] || strcmp(base_name(a), base_name(b)) != 0)
				continue;
			if (dir_len(a) == dir_len(b) && !strncmp(a, b, dir_len(a)))
				continue; /* the same folder: not a move */
			if (*n == cap) {
				md_vcs_move *nm = realloc(mv, (cap ? cap * 2 : 8) * sizeof(*mv));
				if (!nm) {
					rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
					goto done;
				}
				mv = nm;
				cap = cap ? cap * 2 : 8;
			}
			mv[*n].from = malloc(strlen(wd) + strlen(b) + 1);
			mv[*n].to = malloc(strlen(wd) + strlen(a) + 1);
			if (!mv[*n].from || !mv[*n].to) {
				free((void *)mv[*n].from);
				free((void *)mv[*n].to);
				rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
				goto done;
			}
			sprintf((char *)mv[*n].from, "%s%s", wd, b);
			sprintf((char *)mv[*n].to, "%s%s", wd, a);
			(*n)++;
			gone[k] = NULL; /* used */
			break;
		}
	}
	if (*n)
		qsort(mv, *n, sizeof(*mv), move_cmp);
	*out = mv;
	mv = NULL;
	rc = 1;
done:
	if (rc < 0) {
		md_vcs_moves_free(mv, *n);
		*n = 0;
	}
	if (specs) {
		for (i = 0; i < nspecs; i++)
			free(specs[i]);
		free(specs);
	}
	free(gone);
	free(fresh);
	git_status_list_free(list);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
