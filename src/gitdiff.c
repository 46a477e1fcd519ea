/* gitdiff.c - text diffs through libgit2 (see gitdiff.h).
 *
 * libgit2 makes the patch (git_patch_from_buffers, or
 * git_patch_from_blob_and_buffer for a file against a commit); its hunks
 * and lines are then laid out as a unified diff.  Hunk headers keep the
 * function context libgit2 finds (the nearest line above that starts in
 * column 0), which in a schema snapshot is the object a change is in. */
#include "gitdiff.h"

#include <git2.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- building the text --------------------------------------------------- */

typedef struct builder {
	md_diff *d;
	size_t cap, lcap, hcap;
	int oom;
} builder;

static void put(builder *b, const char *s, size_t n)
{
	md_diff *d = b->d;
	if (b->oom)
		return;
	if (d->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 1024;
		char *np;
		while (d->len + n + 1 > ncap)
			ncap *= 2;
		np = realloc(d->text, ncap);
		if (!np) {
			b->oom = 1;
			return;
		}
		d->text = np;
		b->cap = ncap;
	}
	memcpy(d->text + d->len, s, n);
	d->len += n;
	d->text[d->len] = '\0';
}

/* One line: origin character, text (without its line break), "\n". */
static void add_line(builder *b, char origin, const char *s, size_t n)
{
	md_diff *d = b->d;
	md_diff_line *l;

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (b->oom)
		return;
	if (d->nlines == b->lcap) {
		size_t ncap = b->lcap ? b->lcap * 2 : 64;
		md_diff_line *nl = realloc(d->lines, ncap * sizeof(*nl));
		if (!nl) {
			b->oom = 1;
			return;
		}
		d->lines = nl;
		b->lcap = ncap;
	}
	put(b, &origin, 1);
	l = &d->lines[d->nlines];
	l->origin = origin;
	l->off = d->len;
	l->len = n;
	put(b, s, n);
	put(b, "\n", 1);
	if (!b->oom)
		d->nlines++;
	if (origin == '+')
		d->added++;
	else if (origin == '-')
		d->removed++;
}

static md_status git_fail(md_error *err, const char *file, const char *what)
{
	const git_error *e = git_error_last();
	return md_error_set(err, MD_ERR_IO, file, 0, 0, "git: %s%s%s", what, e ? ": " : "",
			    e ? e->message : "");
}

/* Lay out patch (labels for the --- and +++ lines) into out. */
static md_status from_patch(md_diff *out, git_patch *patch, const char *old_label,
			    const char *new_label, md_error *err)
{
	builder b;
	size_t h, nh = git_patch_num_hunks(patch);

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	b.d = out;
	put(&b, "", 0);
	if (nh) {
		put(&b, "--- ", 4);
		put(&b, old_label, strlen(old_label));
		put(&b, "\n+++ ", 5);
		put(&b, new_label, strlen(new_label));
		put(&b, "\n", 1);
		out->hunks = calloc(nh, sizeof(*out->hunks));
		if (!out->hunks)
			b.oom = 1;
	}
	for (h = 0; h < nh && !b.oom; h++) {
		const git_diff_hunk *hunk;
		size_t nl, i;
		md_diff_hunk *mh = &out->hunks[out->nhunks++];

		if (git_patch_get_hunk(&hunk, &nl, patch, h) < 0) {
			md_diff_free(out);
			return git_fail(err, NULL, "cannot read a hunk");
		}
		mh->old_start = hunk->old_start;
		mh->old_lines = hunk->old_lines;
		mh->new_start = hunk->new_start;
		mh->new_lines = hunk->new_lines;
		mh->line = out->nlines;
		/* the header as libgit2 made it: "@@ -a,b +c,d @@ context" */
		add_line(&b, '@', hunk->header + 1,
			 hunk->header_len ? hunk->header_len - 1 : 0);
		for (i = 0; i < nl; i++) {
			const git_diff_line *line;
			if (git_patch_get_line_in_hunk(&line, patch, h, i) < 0) {
				md_diff_free(out);
				return git_fail(err, NULL, "cannot read a line");
			}
			switch (line->origin) {
			case GIT_DIFF_LINE_CONTEXT:
			case GIT_DIFF_LINE_ADDITION:
			case GIT_DIFF_LINE_DELETION:
				add_line(&b, line->origin, line->content, line->content_len);
				break;
			case GIT_DIFF_LINE_CONTEXT_EOFNL:
			case GIT_DIFF_LINE_ADD_EOFNL:
			case GIT_DIFF_LINE_DEL_EOFNL:
				add_line(&b, '\\', " No newline at end of file", 26);
				break;
			default:
				break;
			}
		}
		mh->nlines = out->nlines - mh->line - 1;
	}
	if (b.oom) {
		md_diff_free(out);
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	return MD_OK;
}

static void diff_opts(git_diff_options *o, int context_lines)
{
	git_diff_options_init(o, GIT_DIFF_OPTIONS_VERSION);
	o->flags |= GIT_DIFF_FORCE_TEXT;
	o->context_lines = context_lines < 0 ? 3 : (uint32_t)context_lines;
}

md_status md_diff_buffers(md_diff *out, const char *old_text, size_t old_len,
			  const char *old_label, const char *new_text, size_t new_len,
			  const char *new_label, int context_lines, md_error *err)
{
	git_diff_options o;
	git_patch *patch = NULL;
	md_status rc;

	memset(out, 0, sizeof(*out));
	git_libgit2_init();
	diff_opts(&o, context_lines);
	if (git_patch_from_buffers(&patch, old_text, old_len, old_label, new_text, new_len,
				   new_label, &o) < 0) {
		rc = git_fail(err, NULL, "cannot diff");
	} else {
		rc = from_patch(out, patch, old_label, new_label, err);
	}
	git_patch_free(patch);
	git_libgit2_shutdown();
	return rc;
}

/* ---- a file against a commit ----------------------------------------------- */

static void copy_str(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The repository-relative path of an absolute path below workdir, or NULL. */
static const char *below(const char *abs, const char *workdir)
{
	size_t n = strlen(workdir);
	if (n && workdir[n - 1] == '/')
		n--;
	if (strncmp(abs, workdir, n) != 0 || abs[n] != '/')
		return NULL;
	return abs + n + 1;
}

/* realpath of path, or (for a file that is gone) of its folder + its name */
static int resolve(const char *path, char out[PATH_MAX])
{
	char dir[PATH_MAX], rdir[PATH_MAX];
	const char *slash, *base;

	if (realpath(path, out))
		return 0;
	slash = strrchr(path, '/');
	if (slash) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		if (!dir[0])
			snprintf(dir, sizeof(dir), "/");
		base = slash + 1;
	} else {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	}
	if (!realpath(dir, rdir))
		return -1;
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", strcmp(rdir, "/") ? rdir : "", base) >= PATH_MAX)
		return -1;
	return 0;
}

md_status md_diff_git_file(md_diff *out, const char *path, const char *against,
			   const char *const *alt_dirs, size_t nalt, md_git_info *info,
			   md_error *err)
{
	const char *rev = against ? against : "HEAD";
	git_repository *repo = NULL;
	git_object *obj = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	git_patch *patch = NULL;
	git_diff_options o;
	char abs[PATH_MAX], workdir_real[PATH_MAX], old_label[1100], new_label[1100];
	const char *workdir, *rel, *base;
	char *buf = NULL;
	size_t len = 0, i;
	md_status rc = MD_OK;
	md_git_info local;

	memset(out, 0, sizeof(*out));
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	git_libgit2_init();
	if (resolve(path, abs) < 0) {
		rc = md_error_set(err, MD_ERR_IO, path, 0, 0, "no such file or folder");
		goto done;
	}
	/* the repository of the file's folder (the file may be gone) */
	{
		char dir[PATH_MAX];
		const char *slash = strrchr(abs, '/');
		snprintf(dir, sizeof(dir), "%.*s", slash && slash != abs ? (int)(slash - abs) : 1, abs);
		if (git_repository_open_ext(&repo, dir, 0, NULL) < 0)
			repo = NULL;
	}
	if (!repo) {
		rc = md_error_set(err, MD_ERR_INVALID, path, 0, 0,
				  "not in a git repository (git diff needs one)");
		goto done;
	}
	workdir = git_repository_workdir(repo);
	if (!workdir || !realpath(workdir, workdir_real) || !(rel = below(abs, workdir_real))) {
		rc = md_error_set(err, MD_ERR_INVALID, path, 0, 0,
				  "not inside the working tree of its git repository");
		goto done;
	}
	copy_str(info->new_path, sizeof(info->new_path), rel);
	if (git_revparse_single(&obj, repo, rev) < 0) {
		if (!against && git_repository_head_unborn(repo) == 1)
			rc = md_error_set(err, MD_ERR_INVALID, path, 0, 0,
					  "the git repository has no commit yet: nothing to compare with");
		else
			rc = md_error_set(err, MD_ERR_INVALID, path, 0, 0,
					  "git: no commit '%s' in the repository", rev);
		goto done;
	}
	if (git_object_peel((git_object **)&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		rc = md_error_set(err, MD_ERR_INVALID, path, 0, 0, "git: '%s' is not a commit", rev);
		goto done;
	}
	git_oid_tostr(info->commit, sizeof(info->commit), git_commit_id(commit));
	if (git_commit_tree(&tree, commit) < 0) {
		rc = git_fail(err, path, "cannot read the commit's tree");
		goto done;
	}
	/* the file at its path in the commit, else under the same name in
	 * another workspace folder */
	if (git_tree_entry_bypath(&entry, tree, rel) == 0 &&
	    git_tree_entry_type(entry) == GIT_OBJECT_BLOB) {
		copy_str(info->old_path, sizeof(info->old_path), rel);
	} else {
		git_tree_entry_free(entry);
		entry = NULL;
		base = strrchr(abs, '/') + 1;
		for (i = 0; alt_dirs && i < nalt && !entry; i++) {
			char dreal[PATH_MAX], cand[PATH_MAX + 256];
			const char *drel;
			if (!alt_dirs[i] || !realpath(alt_dirs[i], dreal) ||
			    !(drel = below(dreal, workdir_real)))
				continue;
			snprintf(cand, sizeof(cand), "%s/%s", drel, base);
			if (!strcmp(cand, rel))
				continue;
			if (git_tree_entry_bypath(&entry, tree, cand) == 0 &&
			    git_tree_entry_type(entry) == GIT_OBJECT_BLOB) {
				copy_str(info->old_path, sizeof(info->old_path), cand);
			} else {
				git_tree_entry_free(entry);
				entry = NULL;
			}
		}
	}
	if (entry && git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) < 0) {
		rc = git_fail(err, path, "cannot read the file at that commit");
		goto done;
	}
	info->is_new = blob == NULL;
	if (md_read_file(abs, &buf, &len, err) != MD_OK) {
		md_error_clear(err);
		info->is_deleted = 1;
	}
	if (info->is_new && info->is_deleted) {
		rc = md_error_set(err, MD_ERR_IO, path, 0, 0,
				  "no such file, on disk or in commit %.12s", info->commit);
		goto done;
	}
	if (info->is_new)
		snprintf(old_label, sizeof(old_label), "/dev/null");
	else
		snprintf(old_label, sizeof(old_label), "a/%s", info->old_path);
	if (info->is_deleted)
		snprintf(new_label, sizeof(new_label), "/dev/null");
	else
		snprintf(new_label, sizeof(new_label), "b/%s", info->new_path);
	diff_opts(&o, -1);
	if (git_patch_from_blob_and_buffer(&patch, blob, info->old_path[0] ? info->old_path : NULL,
					   info->is_deleted ? NULL : buf, info->is_deleted ? 0 : len,
					   info->new_path, &o) < 0) {
		rc = git_fail(err, path, "cannot diff");
		goto done;
	}
	rc = from_patch(out, patch, old_label, new_label, err);
done:
	git_patch_free(patch);
	free(buf);
	git_blob_free(blob);
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_commit_free(commit);
	git_object_free(obj);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

void md_diff_free(md_diff *d)
{
	if (!d)
		return;
	free(d->text);
	free(d->lines);
	free(d->hunks);
	memset(d, 0, sizeof(*d));
}

/* ---- output ------------------------------------------------------------------ */

void md_diff_print(const md_diff *d, FILE *out, int color)
{
	const char *p = d->text, *end = d->text ? d->text + d->len : NULL;
	size_t k = 0;

	if (!color) {
		if (d->len)
			fwrite(d->text, 1, d->len, out);
		return;
	}
	for (; p && p < end; k++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *on = "";
		if (k < 2)
			on = "\033[1m"; /* the --- and +++ lines */
		else if (*p == '-')
			on = "\033[31m";
		else if (*p == '+')
			on = "\033[32m";
		else if (*p == '@')
			on = "\033[36m";
		fprintf(out, "%s%.*s%s\n", on, (int)n, p, *on ? "\033[m" : "");
		p += n + 1;
	}
}

void md_diff_json(const md_diff *d, FILE *out)
{
	size_t h, i;

	fprintf(out, "{\"empty\":%s,\"added\":%zu,\"removed\":%zu,\"text\":",
		d->nhunks ? "false" : "true", d->added, d->removed);
	md_json_str(out, d->text ? d->text : "", d->len);
	fputs(",\"hunks\":[", out);
	for (h = 0; h < d->nhunks; h++) {
		const md_diff_hunk *hk = &d->hunks[h];
		const md_diff_line *hl = &d->lines[hk->line];
		fprintf(out, "%s{\"old_start\":%d,\"old_lines\":%d,\"new_start\":%d,\"new_lines\":%d,"
			"\"header\":", h ? "," : "", hk->old_start, hk->old_lines, hk->new_start,
			hk->new_lines);
		/* the header line with its '@' */
		md_json_str(out, d->text + hl->off - 1, hl->len + 1);
		fputs(",\"lines\":[", out);
		for (i = hk->line + 1; i <= hk->line + hk->nlines; i++) {
			const md_diff_line *l = &d->lines[i];
			fprintf(out, "%s{\"origin\":\"%s\",\"text\":", i > hk->line + 1 ? "," : "",
				l->origin == '\\' ? "\\\\" : (char[]){ l->origin, 0 });
			md_json_str(out, d->text + l->off, l->len);
			fputc('}', out);
		}
		fputs("]}", out);
	}
	fputc(']', out);
	fputc('}', out);
}
