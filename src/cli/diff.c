/* diff.c - `migdeck schema` (the canonical schema snapshot) and
 * `migdeck diff --schema|--git|--drift` (what a migration changes in the
 * schema, what changed in a file since a commit, what changed in an
 * applied file since it ran).  The work is the engine's: schema.h,
 * diffs.h, scratch.h, gitdiff.h; this file parses, calls and prints. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "gitdiff.h"
#include "history.h"
#include "plan.h"
#include "diffs.h"
#include "runner.h"
#include "schema.h"
#include "scratch.h"
#include "util.h"
#include "workspace.h"

/* ---- events of the statements a preview runs ------------------------------------ */

static void preview_cb(const md_run_event *ev, void *payload)
{
	cli_print_run_event(payload, ev);
}

/* ---- schema ---------------------------------------------------------------------- */

int cmd_schema(cli *c, int argc, char **argv)
{
	md_db *db = NULL;
	md_schema *s = NULL;
	md_error err;
	md_status st;
	int rc;

	if ((rc = cli_parse(c, argc, argv, OPT_JSON,
			    "schema [--json]\n\n"
			    "The canonical snapshot of the target database's schema: every schema,\n"
			    "table (columns, constraints, indexes, triggers, rules, policies), view,\n"
			    "materialized view, sequence, type, domain, function, procedure and\n"
			    "extension, with owners, comments and grants; sorted, without OIDs, so two\n"
			    "databases with the same schema print the same text.  migdeck's own history\n"
			    "tables are left out.  Reads only.  See doc/diff.md.")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (c->npos) {
		fprintf(stderr, "migdeck schema: unexpected argument '%s'\n", c->pos[0]);
		return EXIT_USAGE;
	}
	md_error_clear(&err);
	if ((st = md_db_connect(&db, c->cfg, NULL, &err)) != MD_OK ||
	    (st = md_schema_snapshot(db, c->cfg, 0, &s, &err)) != MD_OK) {
		cli_print_error(&err);
		md_db_close(db);
		return cli_exit_code(st);
	}
	if (c->json) {
		printf("{\"target\":");
		md_json_str(stdout, db->target, strlen(db->target));
		printf(",\"server_version\":%d,\"objects\":", db->server_version);
		md_schema_json(s, stdout);
		printf("}\n");
	} else {
		size_t len = 0;
		char *text = md_schema_text(s, &len);
		if (!text) {
			fprintf(stderr, "migdeck: out of memory\n");
			rc = EXIT_FAILED;
		} else {
			fwrite(text, 1, len, stdout);
		}
		free(text);
	}
	md_schema_free(s);
	md_db_close(db);
	return rc;
}

/* ---- diff: options ------------------------------------------------------------------- */

typedef struct diff_opts {
	int schema, git, drift;        /* the kind */
	int scratch, against_scratch, all_pending;
	const char *against;           /* --against REV */
	const char *where;             /* --scratch=WHERE / --against-scratch=WHERE,
	                                  or NULL: [diff] scratch */
} diff_opts;

static const char DIFF_USAGE[] =
	"diff --schema FILE... [--scratch[=local|server]] |\n"
	"       --schema --all-pending [--scratch[=local|server]] |\n"
	"       --schema --against-scratch[=local|server] | --git FILE [--against COMMIT] |\n"
	"       --drift FILE  [--json]\n"
	"\n"
	"  --schema FILE...   what the migrations would change in the schema: their statements\n"
	"                     run in one transaction on the target that is always rolled back,\n"
	"                     with a canonical snapshot of the schema before and after\n"
	"  --all-pending      every pending migration, in order: their combined change\n"
	"  --scratch          run them on a scratch database instead, built from\n"
	"                     archive/consolidated_schema.sql and applied/, then thrown away:\n"
	"                     also for files with statements that cannot run in a transaction,\n"
	"                     which the target refuses.  =local: in a throwaway local cluster\n"
	"                     (initdb, needs the PostgreSQL server binaries here); =server: a\n"
	"                     throwaway database on the target's server (needs CREATEDB);\n"
	"                     plain --scratch: [diff] scratch (default local)\n"
	"  --against-scratch  the target's schema against a scratch database built from the\n"
	"                     files: what was changed by hand outside migrations\n"
	"  --git FILE         the file against its version at HEAD (or --against COMMIT)\n"
	"  --drift FILE       the text recorded when FILE (a path or a version) was applied\n"
	"                     against the file now, classified none, cosmetic or real\n"
	"\n"
	"A unified diff (libgit2) on stdout, then one summary line (not with --quiet);\n"
	"--json prints one object instead.  See doc/diff.md.";

/* Take diff's own options out of argv (the rest goes to cli_parse, which
 * knows the global ones).  Returns 0 or an exit code. */
static int take_diff_opts(int argc, char **argv, diff_opts *o, int *nargc, char **nargv)
{
	int i, n = 0, literal = 0;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (i == 0 || literal) {
			nargv[n++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			literal = 1;
			nargv[n++] = argv[i];
		} else if (!strcmp(a, "--schema")) {
			o->schema = 1;
		} else if (!strcmp(a, "--git")) {
			o->git = 1;
		} else if (!strcmp(a, "--drift")) {
			o->drift = 1;
		} else if (!strcmp(a, "--scratch")) {
			o->scratch = 1;
		} else if (!strcmp(a, "--against-scratch")) {
			o->against_scratch = 1;
		} else if (!strncmp(a, "--scratch=", 10) || !strncmp(a, "--against-scratch=", 18)) {
			const char *w = strchr(a, '=') + 1;
			if (strcmp(w, "local") && strcmp(w, "server")) {
				fprintf(stderr, "migdeck diff: %.*s: '%s' is not local or server\n"
					"usage: migdeck %s\n", (int)(w - 1 - a), a, w, DIFF_USAGE);
				return EXIT_USAGE;
			}
			if (a[2] == 's')
				o->scratch = 1;
			else
				o->against_scratch = 1;
			o->where = w;
		} else if (!strcmp(a, "--all-pending")) {
			o->all_pending = 1;
		} else if (!strncmp(a, "--against=", 10)) {
			o->against = a + 10;
		} else if (!strcmp(a, "--against")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "migdeck diff: --against needs a COMMIT\nusage: migdeck %s\n",
					DIFF_USAGE);
				return EXIT_USAGE;
			}
			o->against = argv[++i];
		} else {
			/* a global option that takes a value keeps it */
			nargv[n++] = argv[i];
			if ((!strcmp(a, "-c") || !strcmp(a, "-d") || !strcmp(a, "-o") ||
			     !strcmp(a, "--config") || !strcmp(a, "--url") || !strcmp(a, "--database") ||
			     !strcmp(a, "--set")) && i + 1 < argc)
				nargv[n++] = argv[++i];
		}
	}
	nargv[n] = NULL;
	*nargc = n;
	return 0;
}

static int check_diff_opts(const cli *c, const diff_opts *o)
{
	const char *why = NULL;

	if (o->schema + o->git + o->drift == 0)
		why = "give --schema, --git or --drift";
	else if (o->schema + o->git + o->drift > 1)
		why = "give one of --schema, --git and --drift";
	else if ((o->scratch || o->against_scratch || o->all_pending) && !o->schema)
		why = "--scratch, --against-scratch and --all-pending go with --schema";
	else if (o->against && !o->git)
		why = "--against COMMIT goes with --git";
	else if (o->against && !*o->against)
		why = "--against needs a COMMIT";
	else if (o->against_scratch && (o->scratch || o->all_pending || c->npos))
		why = "--against-scratch compares the whole database: no FILE, --scratch or --all-pending";
	else if (o->all_pending && c->npos)
		why = "give FILEs or --all-pending, not both";
	else if (o->schema && !o->all_pending && !o->against_scratch && !c->npos)
		why = "--schema needs a FILE (or --all-pending, or --against-scratch)";
	else if ((o->git || o->drift) && c->npos != 1)
		why = o->git ? "--git takes one FILE" : "--drift takes one FILE";
	if (!why)
		return 0;
	fprintf(stderr, "migdeck diff: %s\nusage: migdeck %s\n", why, DIFF_USAGE);
	return EXIT_USAGE;
}

/* ---- diff: output -------------------------------------------------------------------- */

static void json_str_kv(const char *key, const char *val, int comma)
{
	printf("%s\"%s\":", comma ? "," : "", key);
	if (val)
		md_json_str(stdout, val, strlen(val));
	else
		printf("null");
}

static void print_diff(const cli *c, const md_diff *d)
{
	md_diff_print(d, stdout, c->color && isatty(STDOUT_FILENO));
}

/* "N lines added, M removed" or "no change" */
static void counts(const md_diff *d, char *out, size_t outsz)
{
	if (!d->nhunks)
		snprintf(out, outsz, "no change");
	else
		snprintf(out, outsz, "%zu line%s added, %zu removed", d->added, d->added == 1 ? "" : "s",
			 d->removed);
}

/* ---- diff --schema ------------------------------------------------------------------- */

typedef struct dsession {
	md_db *db;
	md_workspace *ws;
	md_history *hist;
	md_plan *plan;
	md_runner run;
	md_scratch *scratch;
	const md_file **files;     /* what built the scratch */
	size_t nfiles;
} dsession;

static void dsession_close(dsession *s)
{
	md_scratch_drop(s->scratch);
	free(s->files);
	md_plan_free(s->plan);
	md_history_free(s->hist);
	md_workspace_free(s->ws);
	md_db_close(s->db);
	memset(s, 0, sizeof(*s));
}

/* Connect; with want_ws scan the folders; with want_plan read the history
 * and plan (want_plan < 0: only for a single-folder workspace, where the
 * history says which files are applied).  0 or an exit code (the error
 * printed). */
static int dsession_open(cli *c, dsession *s, int want_ws, int want_plan)
{
	md_error err;
	md_status st;

	memset(s, 0, sizeof(*s));
	md_error_clear(&err);
	if ((st = md_db_connect(&s->db, c->cfg, NULL, &err)) != MD_OK)
		goto fail;
	if ((want_ws || want_plan) && (st = md_workspace_scan(&s->ws, c->cfg, &err)) != MD_OK)
		goto fail;
	if (want_plan < 0)
		want_plan = s->ws->single_folder;
	if (want_plan && ((st = md_history_load(s->db, c->cfg, &s->hist, &err)) != MD_OK ||
			  (st = md_plan_build(&s->plan, s->ws, s->hist, &err)) != MD_OK))
		goto fail;
	md_runner_init(&s->run, s->db, c->cfg, s->ws, preview_cb, c);
	return 0;
fail:
	cli_print_error(&err);
	dsession_close(s);
	return cli_exit_code(st);
}

/* the local cluster's progress and warnings, on stderr */
static void scratch_note(const char *msg, void *payload)
{
	const cli *c = payload;

	if (c->quiet && strncmp(msg, "warning: ", 9))
		return;
	fprintf(stderr, "migdeck: scratch: %s\n", msg);
	fflush(stderr);
}

/* where the scratch is built: --scratch=WHERE, else [diff] scratch */
static int scratch_is_local(const cli *c, const diff_opts *o)
{
	const char *w = o->where ? o->where : md_config_get(c->cfg, MD_CFG_DIFF_SCRATCH);

	return !w || strcmp(w, "server") != 0;
}

static int build_scratch(cli *c, dsession *s, int local)
{
	md_error err;
	md_status st;

	md_error_clear(&err);
	if ((st = md_scratch_files(s->ws, s->plan, &s->files, &s->nfiles, &err)) == MD_OK)
		st = local ? md_scratch_create_local(&s->scratch, s->db, c->cfg, s->ws, s->files,
						     s->nfiles, preview_cb, c, scratch_note, c, &err)
			   : md_scratch_create(&s->scratch, s->db, c->cfg, s->ws, s->files, s->nfiles,
					       preview_cb, c, &err);
	if (st != MD_OK) {
		cli_print_error(&err);
		return cli_exit_code(st);
	}
	if (c->verbose)
		fprintf(stderr, "migdeck: scratch database %s built from %zu file%s%s\n", s->scratch->name,
			s->scratch->nbuilt, s->scratch->nbuilt == 1 ? "" : "s",
			local ? " in a local cluster" : "");
	return 0;
}

/* the migrations migrate would run, in its order */
static int is_pending(const md_plan_item *it)
{
	if (!it->file || it->file->folder == MD_FOLDER_ARCHIVE)
		return 0;
	if (it->file->kind == MD_KIND_REPEATABLE)
		return it->state == MD_STATE_PENDING || (it->flags & MD_PLAN_REPEATABLE_CHANGED);
	return it->state == MD_STATE_PENDING || it->state == MD_STATE_ROLLED_BACK ||
	       it->state == MD_STATE_FAILED;
}

static int diff_schema(cli *c, const diff_opts *o)
{
	dsession s;
	md_diff d;
	md_error err;
	md_status st = MD_OK;
	const char **paths = NULL;
	size_t n = 0, i;
	int rc;
	char what[1400], cnt[96];
	const char *where;

	memset(&d, 0, sizeof(d));
	md_error_clear(&err);
	if ((rc = dsession_open(c, &s, o->scratch || o->against_scratch || o->all_pending,
				o->all_pending ? 1 : (o->scratch || o->against_scratch) ? -1 : 0)) != 0)
		return rc;
	if (o->all_pending) {
		paths = calloc(s.plan->n + 1, sizeof(*paths));
		for (i = 0; paths && i < s.plan->n; i++)
			if (is_pending(&s.plan->items[i]))
				paths[n++] = s.plan->items[i].file->path;
	} else if (!o->against_scratch) {
		paths = calloc((size_t)c->npos + 1, sizeof(*paths));
		for (i = 0; paths && i < (size_t)c->npos; i++)
			paths[n++] = c->pos[i];
	}
	if (!paths && !o->against_scratch) {
		fprintf(stderr, "migdeck: out of memory\n");
		dsession_close(&s);
		return EXIT_FAILED;
	}
	if ((o->scratch || o->against_scratch) && (o->against_scratch || n) &&
	    (rc = build_scratch(c, &s, scratch_is_local(c, o))) != 0)
		goto done;

	if (o->against_scratch) {
		st = md_preview_against(s.db, s.scratch->db, c->cfg, 0, &d, &err);
		where = "against-scratch";
		snprintf(what, sizeof(what), "the database against a scratch database built from %zu file%s",
			 s.scratch->nbuilt, s.scratch->nbuilt == 1 ? "" : "s");
	} else if (!n) {
		/* --all-pending with nothing pending: an empty diff */
		where = o->scratch ? "scratch" : "target";
		snprintf(what, sizeof(what), "nothing is pending");
	} else {
		md_runner *r = o->scratch ? &s.scratch->run : &s.run;
		st = md_preview_schema(r, paths, n, o->scratch ? MD_PREVIEW_SCRATCH : 0, &d, &err);
		where = o->scratch ? "scratch" : "target";
		if (n > 1)
			snprintf(what, sizeof(what), "%zu migrations from %s, %s", n,
				 md_show_path(paths[0]),
				 o->scratch ? "on a scratch database built from the files"
					    : "on the target, in a transaction rolled back");
		else
			snprintf(what, sizeof(what), "%s, %s", md_show_path(paths[0]),
				 o->scratch ? "on a scratch database built from the files"
					    : "on the target, in a transaction rolled back");
	}
	if (st != MD_OK) {
		cli_print_error(&err);
		/* a statement that fails: 1, as in migrate; a file that cannot
		 * be read or is refused: 3 */
		rc = st == MD_ERR_DB ? EXIT_FAILED : st == MD_ERR_IO ? EXIT_INVALID : cli_exit_code(st);
		if (st == MD_ERR_DB && !c->quiet)
			fprintf(stderr, "Schema diff stopped: the statement failed; %s\n",
				!o->scratch ? "rolled back, the database is as it was"
				: s.scratch && s.scratch->cluster ? "the scratch cluster is stopped and removed"
								  : "the scratch database is dropped");
		goto done;
	}
	if (c->json) {
		printf("{\"kind\":\"schema\",\"where\":\"%s\"", where);
		json_str_kv("database", s.db->target, 1);
		json_str_kv("scratch", s.scratch ? s.scratch->name : NULL, 1);
		json_str_kv("scratch_in", !s.scratch ? NULL : s.scratch->cluster ? "local" : "server", 1);
		printf(",\"files\":[");
		for (i = 0; i < n; i++) {
			if (i)
				printf(",");
			md_json_str(stdout, md_show_path(paths[i]), strlen(md_show_path(paths[i])));
		}
		printf("],\"built_from\":");
		if (s.scratch) {
			printf("[");
			if (s.ws->baseline_path)
				md_json_str(stdout, md_show_path(s.ws->baseline_path),
					    strlen(md_show_path(s.ws->baseline_path)));
			for (i = 0; i < s.nfiles; i++) {
				const char *p = md_show_path(s.files[i]->path);
				if (i || s.ws->baseline_path)
					printf(",");
				md_json_str(stdout, p, strlen(p));
			}
			printf("]");
		} else {
			printf("null");
		}
		printf(",\"diff\":");
		md_diff_json(&d, stdout);
		printf("}\n");
	} else {
		print_diff(c, &d);
		counts(&d, cnt, sizeof(cnt));
		if (!c->quiet)
			printf("Schema diff: %s (%s)\n", cnt, what);
	}
	rc = EXIT_OK;
done:
	md_diff_free(&d);
	free(paths);
	dsession_close(&s);
	return rc;
}

/* ---- diff --git ---------------------------------------------------------------------- */

static int diff_git(cli *c, const diff_opts *o)
{
	const char *dirs[3];
	md_git_info info;
	md_diff d;
	md_error err;
	md_status st;
	char cnt[96];

	dirs[0] = c->cfg->pending_dir;
	dirs[1] = c->cfg->applied_dir;
	dirs[2] = c->cfg->archive_dir;
	md_error_clear(&err);
	if ((st = md_diff_git_file(&d, c->pos[0], o->against, dirs, 3, &info, &err)) != MD_OK) {
		cli_print_error(&err);
		return cli_exit_code(st);
	}
	if (c->json) {
		printf("{\"kind\":\"git\"");
		json_str_kv("file", c->pos[0], 1);
		json_str_kv("against", o->against ? o->against : "HEAD", 1);
		json_str_kv("commit", info.commit, 1);
		json_str_kv("old_path", info.old_path[0] ? info.old_path : NULL, 1);
		json_str_kv("new_path", info.is_deleted ? NULL : info.new_path, 1);
		printf(",\"new_file\":%s,\"deleted\":%s,\"diff\":", info.is_new ? "true" : "false",
		       info.is_deleted ? "true" : "false");
		md_diff_json(&d, stdout);
		printf("}\n");
	} else {
		print_diff(c, &d);
		counts(&d, cnt, sizeof(cnt));
		if (!c->quiet)
			printf("Git diff: %s (%s against %s, commit %.12s%s%s%s%s)\n", cnt, c->pos[0],
			       o->against ? o->against : "HEAD", info.commit,
			       info.is_new ? "; not in that commit" : "",
			       info.is_deleted ? "; deleted since" : "",
			       !info.is_new && strcmp(info.old_path, info.new_path) ? "; in that commit at "
										    : "",
			       !info.is_new && strcmp(info.old_path, info.new_path) ? info.old_path : "");
	}
	md_diff_free(&d);
	return EXIT_OK;
}

/* ---- diff --drift -------------------------------------------------------------------- */

/* The plan item for arg: a version or stem, else a path to a file. */
static const md_plan_item *find_item(const dsession *s, const char *arg)
{
	const md_file *f = md_workspace_find(s->ws, arg);
	char want[PATH_MAX], have[PATH_MAX];
	size_t i;

	if (!f && realpath(arg, want)) {
		for (i = 0; i < s->ws->nfiles && !f; i++)
			if (realpath(s->ws->files[i].path, have) && !strcmp(want, have))
				f = &s->ws->files[i];
	}
	if (!f) {
		const char *base = strrchr(arg, '/');
		base = base ? base + 1 : arg;
		for (i = 0; i < s->ws->nfiles && !f; i++)
			if (!strcmp(s->ws->files[i].name, base))
				f = &s->ws->files[i];
	}
	for (i = 0; f && i < s->plan->n; i++)
		if (s->plan->items[i].file == f)
			return &s->plan->items[i];
	return NULL;
}

static int diff_drift(cli *c)
{
	dsession s;
	const md_plan_item *it;
	md_drift_info info;
	md_diff d;
	md_error err;
	md_status st;
	int rc;
	char cnt[96];

	if ((rc = dsession_open(c, &s, 1, 1)) != 0)
		return rc;
	md_error_clear(&err);
	memset(&d, 0, sizeof(d));
	if (!(it = find_item(&s, c->pos[0]))) {
		fprintf(stderr, "migdeck: %s: no forward migration of the workspace has that path, "
			"name or version\n", c->pos[0]);
		rc = EXIT_INVALID;
		goto done;
	}
	if ((st = md_preview_drift(s.db, c->cfg, it, &info, &d, &err)) != MD_OK) {
		cli_print_error(&err);
		rc = cli_exit_code(st);
		goto done;
	}
	if (c->json) {
		printf("{\"kind\":\"drift\"");
		json_str_kv("file", md_show_path(it->file->path), 1);
		json_str_kv("version", info.version, 1);
		json_str_kv("applied_at", info.applied_at[0] ? info.applied_at : NULL, 1);
		json_str_kv("recorded_checksum", info.recorded[0] ? info.recorded : NULL, 1);
		json_str_kv("checksum", info.checksum, 1);
		json_str_kv("classification", md_drift_class_name(info.cls), 1);
		printf(",\"diff\":");
		md_diff_json(&d, stdout);
		printf("}\n");
	} else {
		print_diff(c, &d);
		counts(&d, cnt, sizeof(cnt));
		if (!c->quiet)
			printf("Drift: %s (%s: %s since it was applied%s%s%s)\n",
			       md_drift_class_name(info.cls), md_show_path(it->file->path),
			       info.cls == MD_DRIFT_COSMETIC && !d.nhunks
				       ? "comments or blank lines between statements changed"
				       : cnt,
			       info.applied_at[0] ? " at " : "", info.applied_at,
			       info.cls == MD_DRIFT_COSMETIC ? "; comments and whitespace only" : "");
	}
	rc = EXIT_OK;
done:
	md_diff_free(&d);
	dsession_close(&s);
	return rc;
}

/* ---- diff ------------------------------------------------------------------------------ */

int cmd_diff(cli *c, int argc, char **argv)
{
	diff_opts o;
	char **nargv;
	int nargc, rc;

	nargv = calloc((size_t)argc + 1, sizeof(*nargv));
	if (!nargv)
		return EXIT_FAILED;
	if ((rc = take_diff_opts(argc, argv, &o, &nargc, nargv)) != 0 ||
	    (rc = cli_parse(c, nargc, nargv, OPT_JSON, DIFF_USAGE)) != 0) {
		free(nargv);
		return rc < 0 ? EXIT_OK : rc;
	}
	if ((rc = check_diff_opts(c, &o)) != 0) {
		free(nargv);
		return rc;
	}
	if (o.schema)
		rc = diff_schema(c, &o);
	else if (o.git)
		rc = diff_git(c, &o);
	else
		rc = diff_drift(c);
	free(nargv);
	return rc;
}
