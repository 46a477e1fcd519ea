/* engine.c - the CLI commands that work on the workspace and the database:
 * status, validate, migrate, rollback, create, baseline, repair. */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adopt.h"
#include "cli.h"
#include "db.h"
#include "flyway.h"
#include "flywayconf.h"
#include "history.h"
#include "plan.h"
#include "runner.h"
#include "util.h"
#include "vcs.h"
#include "workspace.h"

/* ---- a session: workspace, database, history, plan ------------------------------ */

typedef struct session {
	cli *c;
	md_workspace *ws;
	md_db *db;
	md_history *hist;
	md_plan *plan;
	md_runner run;
	/* transaction = all: "Applied:" lines wait for the one COMMIT */
	char **held;
	size_t nheld;
} session;

static void release_held(session *s, int print)
{
	size_t i;
	for (i = 0; i < s->nheld; i++) {
		if (print)
			puts(s->held[i]);
		free(s->held[i]);
	}
	free(s->held);
	s->held = NULL;
	s->nheld = 0;
	fflush(stdout);
}

static void session_close(session *s)
{
	release_held(s, 0);
	md_runner_done(&s->run);
	md_plan_free(s->plan);
	md_history_free(s->hist);
	md_db_close(s->db);
	md_workspace_free(s->ws);
	memset(s, 0, sizeof(*s));
}

static void run_cb(const md_run_event *ev, void *payload);

/* The folder scan runs in a thread of its own while the database is asked
 * for the history: reading thousands of files and a round trip to the
 * server overlap instead of adding up. */
typedef struct scan_job {
	const md_config *cfg;
	md_workspace *ws;
	md_error err;
	md_status rc;
} scan_job;

static void *scan_thread(void *arg)
{
	scan_job *j = arg;
	md_error_clear(&j->err);
	j->rc = md_workspace_scan(&j->ws, j->cfg, &j->err);
	return NULL;
}

/* A recorded checksum that is Flyway's (a signed integer, kept by migdeck
 * adopt for a file that had changed since Flyway ran it): compare it with
 * the file's Flyway checksum, so the change shows as drift until repair
 * realigns it. */
static int is_int_text(const char *s)
{
	if (!s || !*s)
		return 0;
	if (*s == '-')
		s++;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void flag_foreign_checksums(session *s)
{
	size_t i;

	for (i = 0; i < s->plan->n; i++) {
		md_plan_item *it = &s->plan->items[i];
		char *buf = NULL;
		size_t len = 0;
		md_error ignore;

		if (!it->file || !it->row || !is_int_text(it->row->checksum))
			continue;
		if (it->state != MD_STATE_APPLIED && it->state != MD_STATE_ARCHIVED)
			continue;
		if (md_read_file(it->file->path, &buf, &len, &ignore) != MD_OK)
			continue;
		if (md_flyway_checksum(buf, len) != (int32_t)strtol(it->row->checksum, NULL, 10))
			it->flags |= it->file->kind == MD_KIND_REPEATABLE ? MD_PLAN_REPEATABLE_CHANGED
									   : MD_PLAN_DRIFT;
		free(buf);
	}
}

/* Connect, (lock and create the bookkeeping schema), then scan and load at
 * once, plan.  writer 2: on a production database, leave the bookkeeping
 * to the caller, after the confirmation (a refusal changes nothing).
 * Returns 0 or an exit code (the error printed). */
static int session_open(cli *c, session *s, int writer)
{
	md_error err;
	md_status rc;
	scan_job job;
	pthread_t th;
	int threaded;
	md_foreign mirror;

	memset(s, 0, sizeof(*s));
	memset(&mirror, 0, sizeof(mirror));
	memset(&job, 0, sizeof(job));
	s->c = c;
	md_error_clear(&err);
	if ((rc = cli_connect(c, &s->db, &err)) != MD_OK)
		goto fail;
	if (writer) {
		/* the lock first: a runner that waited must see the folders as
		 * the runner before it left them */
		if ((rc = md_db_lock(s->db, c->cfg->history_schema, c->cfg->history_table, c->wait,
				     &err)) != MD_OK)
			goto fail;
		/* another tool's history table: adopted, unchanged since, mirrored
		 * (before anything is created: a refusal changes nothing) */
		if ((rc = md_adopt_guard(s->db, c->cfg, NULL, &mirror, &err)) != MD_OK)
			goto fail;
		/* a dry run changes nothing: migrate --dry-run creates the
		 * bookkeeping inside its own transaction (cmd_migrate) */
		if (!c->dry_run && !(writer == 2 && c->cfg->production && !c->cfg->flyway) &&
		    (rc = md_history_ensure(s->db, c->cfg, &err)) != MD_OK)
			goto fail;
	}
	job.cfg = c->cfg;
	threaded = pthread_create(&th, NULL, scan_thread, &job) == 0;
	if (!threaded)
		scan_thread(&job);
	rc = md_history_load(s->db, c->cfg, &s->hist, &err);
	if (threaded)
		pthread_join(th, NULL);
	s->ws = job.ws;
	if (job.rc != MD_OK) {
		err = job.err;
		rc = job.rc;
		goto fail;
	}
	if (rc != MD_OK)
		goto fail;
	if ((rc = md_plan_build(&s->plan, s->ws, s->hist, &err)) != MD_OK)
		goto fail;
	flag_foreign_checksums(s);
	md_runner_init(&s->run, s->db, c->cfg, s->ws, run_cb, s);
	s->run.mirror = mirror;
	/* --verbose: a progress line for a long statement (doc/progress.md);
	 * without it nothing would be printed, so no second connection */
	if (c->verbose)
		s->run.progress_ms = c->cfg->progress_interval_ms;
	return 0;
fail:
	cli_print_error(&err);
	session_close(s);
	return cli_exit_code(rc);
}

static const char *item_version(const md_plan_item *it)
{
	if (it->file)
		return it->file->version.text[0] ? it->file->version.text : it->file->stem;
	return it->row && it->row->version ? it->row->version : "?";
}

static const char *item_description(const md_plan_item *it)
{
	if (it->file && it->file->description)
		return it->file->description;
	return it->row && it->row->description ? it->row->description : "";
}

/* ---- events to lines ------------------------------------------------------------- */

static void run_cb(const md_run_event *ev, void *payload)
{
	session *s = payload;
	cli *c = s->c;
	char line[1200];

	switch (ev->kind) {
	case MD_RUN_START:
		if (c->verbose)
			fprintf(stderr, "%s %s: %u statement%s\n",
				strcmp(ev->action, "apply") ? "Rolling back with" : "Applying", ev->text,
				ev->count, ev->count == 1 ? "" : "s");
		break;
	case MD_RUN_STATEMENT:
	case MD_RUN_STATEMENT_DONE:
	case MD_RUN_NOTICE:
	case MD_RUN_WARNING:
	case MD_RUN_PROGRESS:
	case MD_RUN_BACKUP_PROGRESS:
	case MD_RUN_BACKUP_DONE:
		cli_print_run_event(c, ev);
		break;
	case MD_RUN_RETRY:
		fprintf(stderr, "migdeck: %s\n", ev->text);
		break;
	case MD_RUN_DONE:
		if (c->quiet)
			break;
		if (!strcmp(ev->action, "apply"))
			snprintf(line, sizeof(line), "%s: %s (%lld ms%s)", c->dry_run ? "Would apply" : "Applied",
				 ev->file->name, ev->ms, c->dry_run ? ", rolled back" : "");
		else
			snprintf(line, sizeof(line), "%s: %s (%lld ms%s)",
				 c->dry_run ? "Would roll back" : "Rolled back", ev->file->name, ev->ms,
				 c->dry_run ? ", rolled back" : "");
		if (s->run.in_tx && !c->dry_run) {
			char **nh = realloc(s->held, (s->nheld + 1) * sizeof(*nh));
			if (nh) {
				s->held = nh;
				if ((nh[s->nheld] = strdup(line)) != NULL)
					s->nheld++;
			}
			break;
		}
		puts(line);
		fflush(stdout);
		break;
	case MD_RUN_FAILED:
		if (ev->err)
			cli_print_error(ev->err);
		break;
	case MD_RUN_MOVED:
		if (c->verbose)
			fprintf(stderr, "Moved: %s\n", ev->text);
		break;
	case MD_RUN_COMMITTED:
		if (!c->quiet) {
			printf("Committed: %.12s %s %s (%u file move%s)\n", ev->text, ev->action,
			       ev->file->name, ev->count, ev->count == 1 ? "" : "s");
			fflush(stdout);
		}
		break;
	}
}

/* ---- status ----------------------------------------------------------------------- */

static const char *checksum_word(const md_plan_item *it)
{
	if (!it->row || !it->file)
		return "-";
	if (!it->row->checksum || !it->row->checksum[0])
		return "?";
	if (it->flags & MD_PLAN_DRIFT_REAL)
		return "drifted";
	if (it->flags & MD_PLAN_DRIFT_COSMETIC)
		return "cosmetic";
	if (it->flags & MD_PLAN_DRIFT)
		return "drifted";
	return "ok";
}

static void notes(const md_workspace *ws, const md_plan_item *it, char *out, size_t outsz)
{
	const md_ws_problem *pb = md_workspace_problem_of(ws, it->file);
	size_t used = 0;
	out[0] = '\0';
#define NOTE(...)                                                                       \
	do {                                                                            \
		int n_ = snprintf(out + used, outsz - used, "%s", used ? "; " : "");     \
		if (n_ > 0 && (size_t)n_ < outsz - used)                                 \
			used += (size_t)n_;                                              \
		n_ = snprintf(out + used, outsz - used, __VA_ARGS__);                    \
		if (n_ > 0 && (size_t)n_ < outsz - used)                                 \
			used += (size_t)n_;                                              \
	} while (0)
	if (pb && pb->kind == MD_WS_DUPLICATE)
		NOTE("duplicate version");
	if (it->flags & MD_PLAN_MISPLACED)
		NOTE("misplaced: belongs in %s/", md_folder_name(it->want));
	if (it->flags & MD_PLAN_OUT_OF_ORDER)
		NOTE("out of order");
	if (it->flags & MD_PLAN_REPEATABLE_CHANGED)
		NOTE("changed: runs again");
	if (it->flags & MD_PLAN_DRIFT_COSMETIC)
		NOTE("file changed since applied: comments/whitespace only");
	else if (it->flags & (MD_PLAN_DRIFT | MD_PLAN_DRIFT_REAL))
		NOTE("file changed since applied");
#undef NOTE
}

/* Classify drift of applied items from the recorded text. */
static void classify_drift(session *s)
{
	md_run_classify_drift(&s->run, s->plan);
}

static void json_kv(const char *key, const char *val, int comma)
{
	printf("%s\"%s\":", comma ? "," : "", key);
	if (val)
		md_json_str(stdout, val, strlen(val));
	else
		printf("null");
}

static void status_json(cli *c, session *s)
{
	size_t i;

	printf("{\"target\":");
	md_json_str(stdout, s->db->target, strlen(s->db->target));
	if (c->cfg->target) {
		printf(",\"target_name\":");
		md_json_str(stdout, c->cfg->target, strlen(c->cfg->target));
		printf(",\"production\":%s,\"tracked\":%s", c->cfg->production ? "true" : "false",
		       c->cfg->tracked ? "true" : "false");
	}
	printf(",\"server_version\":%d,\"history\":{", s->db->server_version);
	json_kv("schema", c->cfg->history_schema, 0);
	json_kv("table", c->cfg->history_table, 1);
	printf(",\"exists\":%s},\"migrations\":[", s->hist->exists ? "true" : "false");
	for (i = 0; i < s->plan->n; i++) {
		const md_plan_item *it = &s->plan->items[i];
		printf("%s\n {", i ? "," : "");
		json_kv("version", item_version(it), 0);
		json_kv("description", item_description(it), 1);
		json_kv("file", it->file ? md_show_path(it->file->path) : NULL, 1);
		json_kv("folder", it->file ? md_folder_name(it->file->folder) : NULL, 1);
		json_kv("kind", it->file ? md_kind_name(it->file->kind) : (it->row ? it->row->kind : NULL), 1);
		json_kv("state", md_state_name(it->state), 1);
		json_kv("want_folder", md_folder_name(it->want), 1);
		printf(",\"misplaced\":%s,\"out_of_order\":%s",
		       it->flags & MD_PLAN_MISPLACED ? "true" : "false",
		       it->flags & MD_PLAN_OUT_OF_ORDER ? "true" : "false");
		json_kv("checksum", it->file ? it->file->checksum : NULL, 1);
		json_kv("recorded_checksum", it->row ? it->row->checksum : NULL, 1);
		json_kv("checksum_state", checksum_word(it), 1);
		json_kv("applied_at", it->row ? it->row->applied_at : NULL, 1);
		json_kv("applied_by", it->row ? it->row->applied_by : NULL, 1);
		json_kv("rolled_back_at", it->row ? it->row->rolled_back_at : NULL, 1);
		json_kv("rollback", it->file && it->file->pair ? md_show_path(it->file->pair->path) : NULL, 1);
		printf("}");
	}
	printf("%s],\"problems\":[", s->plan->n ? "\n" : "");
	for (i = 0; i < s->ws->nproblems; i++) {
		if (i)
			printf(",");
		md_json_str(stdout, s->ws->problems[i].msg, strlen(s->ws->problems[i].msg));
	}
	printf("],\"pending\":%zu}\n", s->plan->npending);
}

/* An empty migdeck history beside another tool's table: say so (a writing
 * command refuses to run until migdeck adopt). */
static void warn_unadopted(session *s)
{
	md_foreign fr;
	md_error err;

	if (s->hist->n || md_foreign_detect(s->db, s->c->cfg, &fr, &err) != MD_OK ||
	    fr.tool == MD_FOREIGN_NONE || fr.nrows == 0)
		return;
	fprintf(stderr, "migdeck: warning: %s.%s holds %lld row%s written by %s, not adopted yet: "
		"run migdeck adopt (what it applied shows as pending here)\n", fr.schema, fr.table,
		fr.nrows, fr.nrows == 1 ? "" : "s", md_foreign_tool_name(fr.tool));
}

int cmd_status(cli *c, int argc, char **argv)
{
	session s;
	size_t i, napplied = 0, nother = 0;
	int rc;

	if ((rc = cli_parse(c, argc, argv, OPT_JSON, "status [--json]")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if ((rc = session_open(c, &s, 0)) != 0)
		return rc;
	classify_drift(&s);
	warn_unadopted(&s);
	if (c->json) {
		status_json(c, &s);
		session_close(&s);
		return EXIT_OK;
	}
	if (c->cfg->target)
		printf("Target:   %s%s%s%s%s\n", c->cfg->target,
		       c->cfg->production ? " (production)" : "",
		       c->cfg->tracked ? "" : "; the folders follow ",
		       c->cfg->tracked ? "" : c->cfg->tracks ? c->cfg->tracks : "another target",
		       c->cfg->tracked ? "" : ": files stay where they are");
	printf("Database: %s (PostgreSQL %d.%d)\n", s.db->target, s.db->server_version / 10000,
	       s.db->server_version % 10000);
	printf("History:  %s.%s%s\n\n", c->cfg->history_schema, c->cfg->history_table,
	       s.hist->exists ? "" : " (not created yet: nothing applied)");
	printf("%-18s %-12s %-8s %-9s %-20s %s\n", "VERSION", "STATE", "FOLDER", "CHECKSUM",
	       "APPLIED AT", "DESCRIPTION");
	for (i = 0; i < s.plan->n; i++) {
		const md_plan_item *it = &s.plan->items[i];
		char at[20], note[256];

		snprintf(at, sizeof(at), "%s", it->row && it->row->applied_at && it->state != MD_STATE_PENDING
			 ? it->row->applied_at : "-");
		notes(s.ws, it, note, sizeof(note));
		printf("%-18s %-12s %-8s %-9s %-20s %s%s%s%s\n", item_version(it), md_state_name(it->state),
		       it->file ? md_folder_name(it->file->folder) : "-", checksum_word(it), at,
		       item_description(it), note[0] ? "  [" : "", note, note[0] ? "]" : "");
		if (it->state == MD_STATE_APPLIED)
			napplied++;
		else if (it->state != MD_STATE_ARCHIVED)
			nother++;
	}
	if (s.ws->nproblems) {
		printf("\nProblems:\n");
		for (i = 0; i < s.ws->nproblems; i++)
			printf("  %s\n", s.ws->problems[i].msg);
	}
	printf("\n%zu applied, %zu to run, %zu listed\n", napplied, s.plan->npending, s.plan->n);
	(void)nother;
	session_close(&s);
	return EXIT_OK;
}

/* ---- validate --------------------------------------------------------------------- */

typedef struct findings {
	char **problems, **warnings;
	size_t np, nw;
} findings;

static void add_finding(char ***list, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add_finding(char ***list, size_t *n, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	char **nl;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	nl = realloc(*list, (*n + 1) * sizeof(*nl));
	if (!nl) {
		free(s);
		return;
	}
	*list = nl;
	nl[(*n)++] = s;
}

static void findings_free(findings *f)
{
	size_t i;
	for (i = 0; i < f->np; i++)
		free(f->problems[i]);
	for (i = 0; i < f->nw; i++)
		free(f->warnings[i]);
	free(f->problems);
	free(f->warnings);
}

/* Every file must prepare: meta-commands, unterminated quotes, undefined
 * placeholders, mixed transactional and non-transactional statements. */
static void check_files(const cli *c, const md_workspace *ws, int server_version, findings *fd)
{
	size_t i;
	for (i = 0; i < ws->nfiles + ws->nrollbacks; i++) {
		const md_file *f = i < ws->nfiles ? &ws->files[i] : &ws->rollbacks[i - ws->nfiles];
		md_prepared *p = NULL;
		md_error err;
		char msg[2400];

		if (f->size < 0)
			continue; /* unreadable: the workspace reported it already */
		if (md_prepare(&p, f->path, c->cfg, server_version, &err) != MD_OK) {
			md_error_format(&err, msg, sizeof(msg));
			add_finding(&fd->problems, &fd->np, "%s", msg);
		}
		md_prepared_free(p);
		p = NULL;
		/* a dbmate file: its -- migrate:down section is its rollback */
		if (i < ws->nfiles && !f->pair && md_has_down_section(f->path) &&
		    md_prepare_part(&p, f->path, c->cfg, server_version, MD_PART_DOWN, &err) !=
			    MD_OK) {
			md_error_format(&err, msg, sizeof(msg));
			add_finding(&fd->problems, &fd->np, "%s (its -- migrate:down section)", msg);
		}
		md_prepared_free(p);
	}
}

int cmd_validate(cli *c, int argc, char **argv)
{
	session s;
	findings fd;
	size_t i;
	int rc;

	memset(&fd, 0, sizeof(fd));
	if ((rc = cli_parse(c, argc, argv, OPT_JSON | OPT_OFFLINE, "validate [--json] [--offline]")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	memset(&s, 0, sizeof(s));
	if (c->offline) {
		md_error err;
		md_status st = md_workspace_scan(&s.ws, c->cfg, &err);
		if (st != MD_OK) {
			cli_print_error(&err);
			return cli_exit_code(st);
		}
	} else if ((rc = session_open(c, &s, 0)) != 0) {
		return rc;
	}
	for (i = 0; i < s.ws->nproblems; i++)
		add_finding(&fd.problems, &fd.np, "%s", s.ws->problems[i].msg);
	if (s.db)
		warn_unadopted(&s);
	check_files(c, s.ws, s.db ? s.db->server_version : 0, &fd);
	if (s.plan) {
		classify_drift(&s);
		for (i = 0; i < s.plan->n; i++) {
			const md_plan_item *it = &s.plan->items[i];
			const char *path = it->file ? md_show_path(it->file->path) : item_version(it);
			if (it->flags & MD_PLAN_DRIFT_REAL)
				add_finding(&fd.problems, &fd.np,
					    "%s: changed since it was applied (checksum %.12s, recorded %.12s)",
					    path, it->file->checksum, it->row->checksum);
			else if (it->flags & MD_PLAN_DRIFT_COSMETIC)
				add_finding(&fd.warnings, &fd.nw,
					    "%s: comments or whitespace changed since it was applied", path);
			if (it->flags & MD_PLAN_MISPLACED)
				add_finding(&fd.problems, &fd.np, "%s: misplaced: the database says %s, so it belongs in %s/ (migdeck repair moves it)",
					    path, md_state_name(it->state), md_folder_name(it->want));
			if (it->state == MD_STATE_MISSING_FILE)
				add_finding(&fd.problems, &fd.np, "version %s (%s) is applied but no file has it",
					    item_version(it), item_description(it));
			if (it->state == MD_STATE_FAILED)
				add_finding(&fd.problems, &fd.np, "%s: its last run failed (migdeck repair clears it)", path);
			if (it->flags & MD_PLAN_OUT_OF_ORDER)
				add_finding(&fd.warnings, &fd.nw,
					    "%s: pending but older than the newest applied migration", path);
		}
	}
	if (c->json) {
		printf("{\"ok\":%s,\"problems\":[", fd.np ? "false" : "true");
		for (i = 0; i < fd.np; i++) {
			if (i)
				printf(",");
			md_json_str(stdout, fd.problems[i], strlen(fd.problems[i]));
		}
		printf("],\"warnings\":[");
		for (i = 0; i < fd.nw; i++) {
			if (i)
				printf(",");
			md_json_str(stdout, fd.warnings[i], strlen(fd.warnings[i]));
		}
		printf("],\"files\":%zu}\n", s.ws->nfiles + s.ws->nrollbacks);
	} else {
		for (i = 0; i < fd.nw; i++)
			fprintf(stderr, "migdeck: warning: %s\n", fd.warnings[i]);
		for (i = 0; i < fd.np; i++)
			fprintf(stderr, "migdeck: %s\n", fd.problems[i]);
		if (fd.np)
			printf("Validation failed: %zu problem%s\n", fd.np, fd.np == 1 ? "" : "s");
		else
			printf("Validation passed: %zu files%s\n", s.ws->nfiles + s.ws->nrollbacks,
			       c->offline ? " (offline: the database was not consulted)" : "");
	}
	rc = fd.np ? EXIT_INVALID : EXIT_OK;
	findings_free(&fd);
	session_close(&s);
	return rc;
}

/* ---- production ------------------------------------------------------------------ */

/* [database] production = true: each file (and its rollback pair) must be
 * committed in git as it is, and the operator types the database's name
 * (or gives it as --confirm-database NAME).  Returns 0 to go on, or an exit
 * code after saying why (nothing changed). */
static int production_guard(cli *c, session *s, const md_file *const *files, size_t n,
			    const char *verb)
{
	const char *name = md_db_name(s->db);
	char answer[256];
	size_t i, k;
	int refused = 0;

	if (!c->cfg->production || c->dry_run || !n)
		return 0;
	for (i = 0; i < n; i++) {
		const md_file *both[2] = { files[i], files[i]->pair };

		for (k = 0; k < 2; k++) {
			md_error err;
			md_git_state st;

			if (!both[k])
				continue;
			md_error_clear(&err);
			st = md_vcs_state(both[k]->path, &err);
			switch (st) {
			case MD_GIT_COMMITTED:
				break;
			case MD_GIT_NONE:
				fprintf(stderr, "migdeck: warning: %s: not in a git repository: cannot tell "
					"whether it has uncommitted changes\n", md_show_path(both[k]->path));
				break;
			case MD_GIT_UNKNOWN:
				fprintf(stderr, "migdeck: %s: cannot ask git about it (%s): refused on the "
					"production database %s\n", md_show_path(both[k]->path), err.msg, name);
				refused++;
				break;
			default:
				fprintf(stderr, "migdeck: %s: uncommitted changes in git (%s): refused on the "
					"production database %s; commit it first\n",
					md_show_path(both[k]->path),
					st == MD_GIT_ADDED ? "staged, not committed" : md_git_state_name(st),
					name);
				refused++;
				break;
			}
		}
	}
	if (refused) {
		fprintf(stderr, "migdeck: %s: nothing was changed\n", verb);
		return EXIT_INVALID;
	}
	if (c->confirm_database) {
		if (strcmp(c->confirm_database, name) != 0) {
			fprintf(stderr, "migdeck: %s: --confirm-database %s: the database is %s; nothing "
				"was changed\n", verb, c->confirm_database, name);
			return EXIT_INVALID;
		}
		return 0;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
		fprintf(stderr, "migdeck: %s on the production database %s needs its name typed: run "
			"it on a terminal, or add --confirm-database %s (--yes is not enough); nothing "
			"was changed\n", verb, name, name);
		return EXIT_INVALID;
	}
	fprintf(stderr, "%s on the production database %s: type its name to go on: ", verb, name);
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin))
		answer[0] = '\0';
	answer[strcspn(answer, "\r\n")] = '\0';
	if (strcmp(answer, name) != 0) {
		fprintf(stderr, "migdeck: %s: that is not %s; nothing was changed\n", verb, name);
		return EXIT_INVALID;
	}
	return 0;
}

/* ---- migrate ---------------------------------------------------------------------- */

/* flyway.baselineOnMigrate: on a database with no history (neither
 * migdeck's nor another tool's) whose schemas are not empty, record a
 * baseline at flyway.baselineVersion first, as Flyway does (files at or
 * below it then count as applied).  An empty schema is migrated from the
 * start, as Flyway does.  A dry run only says so and leaves those files
 * out.  Returns 0 or an exit code; *dry_skip gets the baseline version
 * when a dry run would baseline. */
static int baseline_on_migrate(cli *c, session *s, const char **dry_skip)
{
	const md_flyway_conf *fc = c->cfg->flyway;
	const char *fallback[2] = { NULL, NULL };
	const char *const *schemas;
	md_foreign fr;
	md_error err;
	md_status st;
	int busy = 0;

	*dry_skip = NULL;
	if (!fc || !fc->baseline_on_migrate || s->hist->n)
		return 0;
	if ((st = md_foreign_detect(s->db, c->cfg, &fr, &err)) != MD_OK)
		goto fail;
	if (fr.tool != MD_FOREIGN_NONE)
		return 0; /* another tool's history table: adopt decides, not this */
	schemas = (const char *const *)fc->schemas;
	if (!schemas || !schemas[0]) {
		fallback[0] = c->cfg->history_schema;
		schemas = fallback;
	}
	if ((st = md_schemas_have_objects(s->db, c->cfg, schemas, &busy, &err)) != MD_OK)
		goto fail;
	if (!busy)
		return 0;
	if (c->dry_run) {
		printf("Would baseline: version %s (%s): flyway.baselineOnMigrate, on a schema that "
		       "is not empty and has no history\n", fc->baseline_version,
		       fc->baseline_description);
		*dry_skip = fc->baseline_version;
		return 0;
	}
	if ((st = md_run_baseline_at(&s->run, NULL, 0, fc->baseline_version,
				     fc->baseline_description, &err)) != MD_OK)
		goto fail;
	printf("Baselined: version %s (%s): flyway.baselineOnMigrate, on a schema that is not "
	       "empty and had no history\n", fc->baseline_version, fc->baseline_description);
	fflush(stdout);
	/* the plan again, with the baseline row */
	md_plan_free(s->plan);
	s->plan = NULL;
	md_history_free(s->hist);
	s->hist = NULL;
	if ((st = md_history_load(s->db, c->cfg, &s->hist, &err)) != MD_OK ||
	    (st = md_plan_build(&s->plan, s->ws, s->hist, &err)) != MD_OK)
		goto fail;
	flag_foreign_checksums(s);
	return 0;
fail:
	cli_print_error(&err);
	return cli_exit_code(st);
}

/* Move files the database has placed elsewhere (a crash between COMMIT and
 * rename, a hand move). */
static void heal_misplaced(cli *c, session *s)
{
	size_t i;
	for (i = 0; i < s->plan->n; i++) {
		const md_plan_item *it = &s->plan->items[i];
		md_error err;
		if (!(it->flags & MD_PLAN_MISPLACED) || !it->file || it->state != MD_STATE_APPLIED)
			continue;
		if (c->dry_run) {
			printf("Would move: %s to %s/ (the database has it applied)\n",
			       md_show_path(it->file->path), md_folder_name(it->want));
			continue;
		}
		s->run.nmoved = 0;
		if (md_move_file(&s->run, it->file, it->want, &err) != MD_OK) {
			cli_print_error(&err);
			continue;
		}
		fprintf(stderr, "migdeck: moved %s to %s/: the database has it applied\n",
			md_show_path(it->file->path), md_folder_name(it->want));
		md_runner_commit_moves(&s->run, it->file, "repair", it->file->checksum, -1);
	}
}

int cmd_migrate(cli *c, int argc, char **argv)
{
	session s;
	const md_file **targets = NULL;
	md_prepared **prepared = NULL;
	size_t i, n = 0, total = 0, applied = 0, undone = 0;
	md_version to, dry_bv;
	const char *dry_baseline = NULL;
	int rc, problems = 0;
	md_error err;

	if ((rc = cli_parse(c, argc, argv, OPT_TO | OPT_DRY_RUN | OPT_WAIT | OPT_YES | OPT_OUT_OF_ORDER | OPT_CONFIRM_DB |
				    OPT_GROUP | OPT_JOBS | OPT_FAIL_FAST | OPT_JSON,
			    "migrate [--to VERSION] [--dry-run] [--wait[=SECONDS]] [--out-of-order] [--yes] "
			    "[--confirm-database NAME]\n"
			    "       migdeck migrate --group NAME [--jobs N] [--fail-fast] [--json] [--to VERSION] "
			    "[--wait[=SECONDS]] [--out-of-order] [--confirm-database GROUP]")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (c->npos) {
		fprintf(stderr, "migdeck migrate: unexpected argument '%s'\n", c->pos[0]);
		return EXIT_USAGE;
	}
	if (c->cfg->flyway && c->cfg->flyway->out_of_order)
		c->out_of_order = 1; /* flyway.outOfOrder=true */
	if (c->to && md_version_parse(&to, c->to, strlen(c->to)) < 0) {
		fprintf(stderr, "migdeck migrate: --to %s: not a version\n", c->to);
		return EXIT_USAGE;
	}
	if (c->group) /* a fleet: src/cli/fleet.c */
		return cmd_migrate_group(c, c->to ? &to : NULL);
	if (c->jobs || c->fail_fast) {
		fprintf(stderr, "migdeck migrate: %s goes with --group NAME\n",
			c->jobs ? "--jobs" : "--fail-fast");
		return EXIT_USAGE;
	}
	if ((rc = session_open(c, &s, 2)) != 0)
		return rc;
	s.run.dry_run = c->dry_run;
	if ((rc = baseline_on_migrate(c, &s, &dry_baseline)) != 0) {
		session_close(&s);
		return rc;
	}
	if (dry_baseline && md_version_parse(&dry_bv, dry_baseline, strlen(dry_baseline)) < 0)
		dry_baseline = NULL;
	classify_drift(&s);
	targets = calloc(s.plan->n + 1, sizeof(*targets));
	if (!targets) {
		session_close(&s);
		return EXIT_FAILED;
	}
	/* what would run, and whether anything stands in the way */
	for (i = 0; i < s.plan->n; i++) {
		const md_plan_item *it = &s.plan->items[i];
		const char *path = it->file ? md_show_path(it->file->path) : item_version(it);

		if (it->file && it->file->folder != MD_FOLDER_ARCHIVE)
			total++;
		if ((it->flags & MD_PLAN_DRIFT_REAL) && !md_workspace_problem_of(s.ws, it->file) &&
		    c->cfg->flyway && !c->cfg->flyway->validate_on_migrate) {
			fprintf(stderr, "migdeck: warning: %s: changed since it was applied "
				"(flyway.validateOnMigrate=false: not checked before migrating)\n", path);
		} else if ((it->flags & MD_PLAN_DRIFT_REAL) && !md_workspace_problem_of(s.ws, it->file)) {
			fprintf(stderr, "migdeck: %s: changed since it was applied; see migdeck validate "
				"(migdeck repair realigns the checksum)\n", path);
			problems++;
		} else if (it->flags & MD_PLAN_DRIFT_COSMETIC) {
			fprintf(stderr, "migdeck: warning: %s: comments or whitespace changed since it was applied\n",
				path);
		}
		if (!md_plan_item_runs(it))
			continue;
		if (dry_baseline && it->file->kind == MD_KIND_VERSIONED &&
		    md_version_cmp(&it->file->version, &dry_bv) <= 0)
			continue; /* the baseline a real run records first covers it */
		if (c->to && it->file->kind != MD_KIND_REPEATABLE &&
		    md_version_cmp(&it->file->version, &to) > 0)
			continue;
		if (it->state == MD_STATE_FAILED) {
			fprintf(stderr, "migdeck: %s: its last run failed and may have left part of its work; "
				"check the database, then run migdeck repair\n", path);
			problems++;
			continue;
		}
		if ((it->flags & MD_PLAN_OUT_OF_ORDER) && !c->out_of_order) {
			fprintf(stderr, "migdeck: %s: older than the newest applied migration; run with "
				"--out-of-order to apply it anyway\n", path);
			problems++;
			continue;
		}
		targets[n++] = it->file;
	}
	/* a workspace problem (a duplicate version, ...) about a file this run
	 * would run, move, or judge by its recorded checksum */
	for (i = 0; i < s.plan->n; i++) {
		const md_plan_item *it = &s.plan->items[i];
		const md_ws_problem *pb = md_workspace_problem_of(s.ws, it->file);
		if (pb && (md_plan_item_runs(it) || (it->flags & (MD_PLAN_MISPLACED | MD_PLAN_DRIFT)))) {
			fprintf(stderr, "migdeck: %s\n", pb->msg);
			problems++;
		}
	}
	/* every target must prepare before anything runs (and is read once) */
	prepared = calloc(n + 1, sizeof(*prepared));
	if (!prepared) {
		rc = EXIT_FAILED;
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (md_prepare(&prepared[i], targets[i]->path, c->cfg, s.db->server_version, &err) !=
		    MD_OK) {
			cli_print_error(&err);
			problems++;
		} else if (prepared[i]->autocommit && c->cfg->transaction == MD_TX_ALL && !c->dry_run) {
			fprintf(stderr, "migdeck: %s: cannot run inside the one transaction of [run] "
				"transaction = all (its statements cannot run in a transaction block)\n",
				prepared[i]->path);
			problems++;
		}
	}
	if (problems) {
		fprintf(stderr, "migdeck: nothing applied: %d problem%s\n", problems, problems == 1 ? "" : "s");
		rc = EXIT_INVALID;
		goto done;
	}
	if ((rc = production_guard(c, &s, targets, n, "migrate")) != 0)
		goto done;
	if (c->cfg->production && !c->cfg->flyway && !c->dry_run && n &&
	    md_history_ensure(s.db, c->cfg, &err) != MD_OK) {
		cli_print_error(&err);
		rc = EXIT_FAILED;
		goto done;
	}
	heal_misplaced(c, &s);

	rc = EXIT_OK;
	/* (nothing to apply: no transaction, and no backup taken for it) */
	if (c->dry_run || (c->cfg->transaction == MD_TX_ALL && n)) {
		if (md_runner_begin_all(&s.run, &err) != MD_OK ||
		    (c->dry_run && md_history_ensure(s.db, c->cfg, &err) != MD_OK)) {
			cli_print_error(&err);
			rc = EXIT_FAILED;
			goto done;
		}
	}
	for (i = 0; i < n; i++) {
		md_prepared *p = prepared[i];
		prepared[i] = NULL;
		if (md_run_apply_prepared(&s.run, targets[i], p, &err) != MD_OK) {
			rc = err.code == MD_ERR_INVALID ? EXIT_INVALID : EXIT_FAILED;
			break;
		}
		applied++;
	}
	if (s.run.in_tx) {
		if (rc != EXIT_OK) {
			/* one transaction: one failure undoes the whole run */
			md_runner_abort_all(&s.run);
			undone = applied;
			applied = 0;
		} else if (md_runner_commit_all(&s.run, targets, n, &err) != MD_OK) {
			cli_print_error(&err);
			rc = EXIT_FAILED;
			undone = applied;
			applied = 0;
		}
		release_held(&s, rc == EXIT_OK && !c->dry_run);
	}
	if (rc != EXIT_OK && undone)
		fprintf(stderr, "Migrations stopped: 0 applied, 1 failed, %zu undone with it "
			"([run] transaction = all), %zu not run, %zu total\n",
			undone, n > undone ? n - undone - 1 : 0, total);
	else if (rc != EXIT_OK && !applied && c->cfg->backup_pg_dump && !c->dry_run &&
		 !s.run.backup_path[0])
		fprintf(stderr, "Migrations stopped before the first one: the backup failed; nothing "
			"was changed, %zu not run, %zu total\n", n, total);
	else if (rc != EXIT_OK)
		fprintf(stderr, "Migrations stopped: %zu applied, 1 failed, %zu not run, %zu total\n",
			applied, n - applied - 1, total);
	else if (!c->quiet && c->dry_run)
		printf("Dry run complete: %zu would apply, %zu skipped, %zu total (all rolled back)\n",
		       applied, total - applied, total);
	else if (!c->quiet)
		printf("Migrations complete: %zu applied, %zu skipped, %zu total\n", applied,
		       total - applied, total);
done:
	for (i = 0; prepared && i < n; i++)
		md_prepared_free(prepared[i]);
	free(prepared);
	free(targets);
	session_close(&s);
	return rc;
}

/* ---- rollback --------------------------------------------------------------------- */

int cmd_rollback(cli *c, int argc, char **argv)
{
	session s;
	const md_file **targets = NULL;
	size_t n = 0, i, done_n = 0;
	long want;
	int rc;
	md_error err;
	char question[1024];

	if ((rc = cli_parse(c, argc, argv, OPT_VERSION | OPT_STEPS | OPT_DRY_RUN | OPT_WAIT | OPT_YES | OPT_CONFIRM_DB,
			    "rollback [--version V | --steps N] [--dry-run] [--wait[=SECONDS]] [--yes] "
			    "[--confirm-database NAME]")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (c->version && c->steps) {
		fprintf(stderr, "migdeck rollback: give --version or --steps, not both\n");
		return EXIT_USAGE;
	}
	if ((rc = session_open(c, &s, 1)) != 0)
		return rc;
	s.run.dry_run = c->dry_run;
	want = c->version ? 1 : (c->steps ? c->steps : 1);
	targets = calloc((size_t)want + 1, sizeof(*targets));
	if (!targets) {
		session_close(&s);
		return EXIT_FAILED;
	}
	if (c->version) {
		md_file *f = md_workspace_find(s.ws, c->version);
		const md_plan_item *it = NULL;
		for (i = 0; f && i < s.plan->n; i++)
			if (s.plan->items[i].file == f)
				it = &s.plan->items[i];
		if (!f || !it) {
			fprintf(stderr, "migdeck: rollback: no migration file has version %s\n", c->version);
			rc = EXIT_INVALID;
			goto done;
		}
		if (it->state != MD_STATE_APPLIED) {
			fprintf(stderr, "migdeck: rollback: %s is %s, not applied\n", md_show_path(f->path),
				md_state_name(it->state));
			rc = EXIT_INVALID;
			goto done;
		}
		targets[n++] = f;
	} else {
		/* the latest applied first: history rows in reverse order */
		size_t r = s.hist->n;
		while (r-- > 0 && (long)n < want) {
			const md_hist_row *row = &s.hist->rows[r];
			const md_plan_item *it = NULL;
			if (!row->is_active || !row->success || (row->kind && !strcmp(row->kind, "repeatable")))
				continue;
			for (i = 0; i < s.plan->n; i++)
				if (s.plan->items[i].row == row)
					it = &s.plan->items[i];
			if (!it || !it->file) {
				fprintf(stderr, "migdeck: rollback: version %s is applied but no file has it\n",
					row->version);
				rc = EXIT_INVALID;
				goto done;
			}
			targets[n++] = it->file;
		}
		if (!n) {
			fprintf(stderr, "migdeck: rollback: nothing is applied\n");
			rc = EXIT_INVALID;
			goto done;
		}
	}
	for (i = 0; i < n; i++) {
		if (!targets[i]->pair && !md_has_down_section(targets[i]->path)) {
			fprintf(stderr, "migdeck: %s: no rollback script pairs with it; nothing was changed\n",
				md_show_path(targets[i]->path));
			rc = EXIT_INVALID;
			goto done;
		}
	}
	snprintf(question, sizeof(question), "Roll back %zu migration%s (%s%s) on %s?", n,
		 n == 1 ? "" : "s", targets[0]->name, n > 1 ? ", ..." : "", s.db->target);
	if ((rc = production_guard(c, &s, targets, n, "rollback")) != 0)
		goto done;
	if (!c->dry_run && !c->cfg->production && !cli_confirm(c, question)) {
		fprintf(stderr, "migdeck: rollback: nothing was changed\n");
		rc = EXIT_INVALID;
		goto done;
	}
	rc = EXIT_OK;
	for (i = 0; i < n; i++) {
		if (md_run_rollback(&s.run, targets[i], &err) != MD_OK) {
			rc = err.code == MD_ERR_INVALID ? EXIT_INVALID : EXIT_FAILED;
			break;
		}
		done_n++;
	}
	if (rc != EXIT_OK)
		fprintf(stderr, "Rollback stopped: %zu rolled back, 1 failed, %zu not run\n", done_n,
			n - done_n - 1);
	else if (!c->quiet)
		printf("Rollback complete: %zu rolled back%s\n", done_n, c->dry_run ? " (dry run: undone)" : "");
done:
	free(targets);
	session_close(&s);
	return rc;
}

/* ---- create ----------------------------------------------------------------------- */

static int write_new(const char *dir, const char *name, const char *text, md_error *err)
{
	char *path = NULL;
	int fd;
	size_t len = strlen(text);

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		md_error_set(err, MD_ERR_IO, md_show_path(path), 0, 0, "cannot create: %m");
		free(path);
		return MD_ERR_IO;
	}
	if (write(fd, text, len) != (ssize_t)len) {
		md_error_set(err, MD_ERR_IO, md_show_path(path), 0, 0, "cannot write: %m");
		close(fd);
		unlink(path);
		free(path);
		return MD_ERR_IO;
	}
	close(fd);
	printf("Created: %s\n", md_show_path(path));
	free(path);
	return MD_OK;
}

/* The layout of the workspace's files beyond the naming style:
 * golang-migrate's .up.sql/.down.sql pairs, or dbmate's single files with
 * -- migrate:up / -- migrate:down sections. */
enum { LAYOUT_PLAIN = 0, LAYOUT_GOLANG, LAYOUT_DBMATE };

static int workspace_layout(const md_workspace *ws)
{
	size_t i, golang = 0, dbmate = 0;

	for (i = 0; i < ws->nfiles; i++) {
		const md_file *f = &ws->files[i];
		size_t n = strlen(f->name);

		if (f->kind != MD_KIND_VERSIONED)
			continue;
		if (n > 7 && !strcmp(f->name + n - 7, ".up.sql"))
			golang++;
		else if (!f->pair && md_has_down_section(f->path))
			dbmate++;
	}
	if (!golang && !dbmate)
		return LAYOUT_PLAIN;
	return golang >= dbmate ? LAYOUT_GOLANG : LAYOUT_DBMATE;
}

/* The names of a golang-migrate pair or a dbmate file: the next version
 * (golang-migrate: the highest numbered one + 1, 6 digits when there is
 * none, as `migrate create -seq`; dbmate: the UTC time YYYYMMDDhhmmss, as
 * `dbmate new`, or the highest + 1 when that is later), and the slug
 * md_workspace_new_names makes of the name. */
static md_status layout_names(const md_workspace *ws, int layout, const char *name, time_t now,
			      char **fwd, char **rb, md_error *err)
{
	char *nfw = NULL, *nrb = NULL, ver[64];
	const char *slug;
	unsigned long long hi = 0;
	size_t i, width = 6;
	int any = 0;
	md_status st;
	struct tm tm;

	*fwd = *rb = NULL;
	st = md_workspace_new_names(ws, MD_STYLE_NUMBERED, name, (long long)now, &nfw, &nrb, err);
	if (st != MD_OK)
		return st;
	slug = strchr(nfw, '_');
	slug = slug ? slug + 1 : nfw;
	for (i = 0; i < ws->nfiles + ws->nrollbacks; i++) {
		const md_file *f = i < ws->nfiles ? &ws->files[i] : &ws->rollbacks[i - ws->nfiles];
		if (f->kind == MD_KIND_REPEATABLE || f->style != MD_STYLE_NUMBERED ||
		    f->version.nparts != 1)
			continue;
		if (!any || f->version.parts[0] > hi)
			hi = f->version.parts[0];
		if (layout == LAYOUT_GOLANG && strlen(f->version.text) > width)
			width = strlen(f->version.text);
		any = 1;
	}
	if (layout == LAYOUT_GOLANG) {
		snprintf(ver, sizeof(ver), "%0*llu", (int)width, any ? hi + 1 : 1ULL);
	} else {
		unsigned long long t;
		gmtime_r(&now, &tm);
		strftime(ver, sizeof(ver), "%Y%m%d%H%M%S", &tm);
		t = strtoull(ver, NULL, 10);
		if (any && hi >= t)
			snprintf(ver, sizeof(ver), "%llu", hi + 1);
	}
	if (layout == LAYOUT_GOLANG) {
		size_t sl = strlen(slug) - 4; /* without ".sql" */
		if (asprintf(fwd, "%s_%.*s.up.sql", ver, (int)sl, slug) < 0)
			*fwd = NULL;
		if (asprintf(rb, "%s_%.*s.down.sql", ver, (int)sl, slug) < 0)
			*rb = NULL;
		if (!*fwd || !*rb)
			st = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	} else if (asprintf(fwd, "%s_%s", ver, slug) < 0) {
		*fwd = NULL;
		st = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	free(nfw);
	free(nrb);
	return st;
}

int cmd_create(cli *c, int argc, char **argv)
{
	static const struct { const char *name; md_style style; } styles[] = {
		{ "flyway", MD_STYLE_FLYWAY }, { "numbered", MD_STYLE_NUMBERED },
		{ "dated", MD_STYLE_DATED }, { "timestamped", MD_STYLE_TIMESTAMPED },
	};
	md_workspace *ws = NULL;
	md_style style = MD_STYLE_NONE;
	int layout = -1;
	char *fwd = NULL, *rb = NULL, *text = NULL, when[32];
	md_error err;
	md_status st;
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	int rc;

	if ((rc = cli_parse(c, argc, argv, OPT_DESCRIPTION | OPT_STYLE,
			    "create NAME [--description TEXT] [--style flyway|numbered|dated|timestamped|golang-migrate|dbmate]")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (c->npos != 1) {
		fprintf(stderr, "migdeck create: give one NAME (e.g. migdeck create add_email_to_users)\n");
		return EXIT_USAGE;
	}
	if (c->style) {
		for (i = 0; i < sizeof(styles) / sizeof(styles[0]); i++)
			if (!strcmp(c->style, styles[i].name))
				style = styles[i].style;
		if (!strcmp(c->style, "golang-migrate") || !strcmp(c->style, "golang"))
			layout = LAYOUT_GOLANG;
		else if (!strcmp(c->style, "dbmate"))
			layout = LAYOUT_DBMATE;
		else
			layout = LAYOUT_PLAIN;
		if (style == MD_STYLE_NONE && layout == LAYOUT_PLAIN) {
			fprintf(stderr, "migdeck create: --style %s: use flyway, numbered, dated, "
				"timestamped, golang-migrate or dbmate\n", c->style);
			return EXIT_USAGE;
		}
	}
	if ((st = md_workspace_scan(&ws, c->cfg, &err)) != MD_OK)
		goto fail;
	if (layout < 0)
		layout = workspace_layout(ws);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (layout == LAYOUT_DBMATE) {
		/* dbmate new's template: one file, both sections */
		if ((st = layout_names(ws, layout, c->pos[0], now, &fwd, &rb, &err)) != MD_OK)
			goto fail;
		if ((st = write_new(ws->dirs[MD_FOLDER_PENDING], fwd,
				    "-- migrate:up\n\n\n-- migrate:down\n\n", &err)) != MD_OK)
			goto fail;
		free(fwd);
		md_workspace_free(ws);
		return EXIT_OK;
	}
	if (layout == LAYOUT_GOLANG)
		st = layout_names(ws, layout, c->pos[0], now, &fwd, &rb, &err);
	else
		st = md_workspace_new_names(ws, style, c->pos[0], (long long)now, &fwd, &rb, &err);
	if (st != MD_OK)
		goto fail;
	if (asprintf(&text, "-- Migration: %s\n-- Description: %s\n-- Created: %s\n\n", fwd,
		     c->description ? c->description : c->pos[0], when) < 0)
		goto nomem;
	if ((st = write_new(ws->dirs[MD_FOLDER_PENDING], fwd, text, &err)) != MD_OK)
		goto fail;
	free(text);
	text = NULL;
	if (asprintf(&text, "-- Rollback of: %s\n-- Description: undo %s\n-- Created: %s\n\n", fwd,
		     c->description ? c->description : c->pos[0], when) < 0)
		goto nomem;
	if ((st = write_new(ws->dirs[MD_FOLDER_PENDING], rb, text, &err)) != MD_OK) {
		/* leave nothing half made */
		char *path = NULL;
		if (asprintf(&path, "%s/%s", ws->dirs[MD_FOLDER_PENDING], fwd) >= 0)
			unlink(path);
		free(path);
		goto fail;
	}
	free(text);
	free(fwd);
	free(rb);
	md_workspace_free(ws);
	return EXIT_OK;
nomem:
	st = md_error_set(&err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
fail:
	cli_print_error(&err);
	free(text);
	free(fwd);
	free(rb);
	md_workspace_free(ws);
	return cli_exit_code(st);
}

/* ---- baseline ---------------------------------------------------------------------- */

int cmd_baseline(cli *c, int argc, char **argv)
{
	session s;
	const md_file **files = NULL;
	size_t i, n = 0;
	md_version v;
	md_error err;
	int rc;

	if ((rc = cli_parse(c, argc, argv, OPT_VERSION | OPT_WAIT | OPT_YES | OPT_DRY_RUN,
			    "baseline --version V [--dry-run] [--wait[=SECONDS]]")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (!c->version || md_version_parse(&v, c->version, strlen(c->version)) < 0) {
		fprintf(stderr, "migdeck baseline: --version V is required (a version as in the file names)\n");
		return EXIT_USAGE;
	}
	if ((rc = session_open(c, &s, 1)) != 0)
		return rc;
	s.run.dry_run = c->dry_run;
	files = calloc(s.plan->n + 1, sizeof(*files));
	if (!files) {
		session_close(&s);
		return EXIT_FAILED;
	}
	for (i = 0; i < s.plan->n; i++) {
		const md_plan_item *it = &s.plan->items[i];
		if (!it->file || it->file->kind != MD_KIND_VERSIONED)
			continue;
		if (md_version_cmp(&it->file->version, &v) > 0)
			continue;
		if (it->state == MD_STATE_PENDING || it->state == MD_STATE_ROLLED_BACK)
			files[n++] = it->file;
	}
	if (!n) {
		printf("Baseline: nothing to record up to %s\n", c->version);
		rc = EXIT_OK;
	} else if (md_run_baseline_at(&s.run, files, n, c->version, NULL, &err) != MD_OK) {
		cli_print_error(&err);
		rc = EXIT_FAILED;
	} else {
		for (i = 0; i < n && !c->quiet; i++)
			printf("%s: %s\n", c->dry_run ? "Would baseline" : "Baselined", files[i]->name);
		printf("Baseline complete: %zu recorded as applied up to %s%s\n", n, c->version,
		       c->dry_run ? " (dry run: undone)" : "");
		rc = EXIT_OK;
	}
	free(files);
	session_close(&s);
	return rc;
}

/* ---- repair ------------------------------------------------------------------------ */

int cmd_repair(cli *c, int argc, char **argv)
{
	session s;
	size_t i, ndrift = 0, nmoved = 0, nrealigned = 0, skipped = 0;
	long long nfailed = 0;
	md_error err;
	int rc = EXIT_OK;

	if ((rc = cli_parse(c, argc, argv, OPT_WAIT | OPT_YES | OPT_DRY_RUN,
			    "repair [--yes] [--dry-run] [--wait[=SECONDS]]")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if ((rc = session_open(c, &s, 1)) != 0)
		return rc;
	s.run.dry_run = c->dry_run;
	if (md_run_delete_failed(&s.run, &nfailed, &err) != MD_OK) {
		cli_print_error(&err);
		session_close(&s);
		return EXIT_FAILED;
	}
	if (nfailed)
		printf("%s %lld failed row%s\n", c->dry_run ? "Would delete" : "Deleted", nfailed,
		       nfailed == 1 ? "" : "s");
	for (i = 0; i < s.plan->n; i++) {
		const md_plan_item *it = &s.plan->items[i];
		const md_ws_problem *pb = md_workspace_problem_of(s.ws, it->file);
		if (pb && (it->flags & (MD_PLAN_DRIFT | MD_PLAN_MISPLACED))) {
			fprintf(stderr, "migdeck: %s: not repaired until that is resolved\n", pb->msg);
			skipped++;
			continue;
		}
		if ((it->flags & MD_PLAN_DRIFT) && it->file)
			ndrift++;
	}
	if (ndrift) {
		char question[256];
		snprintf(question, sizeof(question),
			 "Set the recorded checksums of %zu changed migration%s to the files?", ndrift,
			 ndrift == 1 ? "" : "s");
		if (c->dry_run || cli_confirm(c, question)) {
			for (i = 0; i < s.plan->n; i++) {
				const md_plan_item *it = &s.plan->items[i];
				if (!(it->flags & MD_PLAN_DRIFT) || !it->file || md_workspace_problem_of(s.ws, it->file))
					continue;
				if (md_run_realign(&s.run, it->file, &err) != MD_OK) {
					cli_print_error(&err);
					rc = EXIT_FAILED;
					break;
				}
				printf("%s: %s\n", c->dry_run ? "Would realign" : "Realigned", it->file->name);
				nrealigned++;
			}
		} else {
			rc = EXIT_INVALID;
		}
	}
	for (i = 0; i < s.plan->n && rc != EXIT_FAILED; i++) {
		const md_plan_item *it = &s.plan->items[i];
		if (!(it->flags & MD_PLAN_MISPLACED) || !it->file || md_workspace_problem_of(s.ws, it->file))
			continue;
		if (c->dry_run) {
			printf("Would move: %s to %s/\n", md_show_path(it->file->path), md_folder_name(it->want));
			continue;
		}
		s.run.nmoved = 0;
		if (md_move_file(&s.run, it->file, it->want, &err) != MD_OK) {
			cli_print_error(&err);
			rc = EXIT_FAILED;
			continue;
		}
		printf("Moved: %s to %s/\n", md_show_path(it->file->path), md_folder_name(it->want));
		md_runner_commit_moves(&s.run, it->file, "repair", it->file->checksum, -1);
		nmoved++;
	}
	printf("Repair complete: %lld failed row%s deleted, %zu checksum%s realigned, %zu file%s moved%s\n",
	       nfailed, nfailed == 1 ? "" : "s", nrealigned, nrealigned == 1 ? "" : "s", nmoved,
	       nmoved == 1 ? "" : "s", c->dry_run ? " (dry run: nothing changed)" : "");
	if (skipped && rc == EXIT_OK)
		rc = EXIT_INVALID;
	session_close(&s);
	return rc;
}

/* ---- commit ------------------------------------------------------------------------ */

static int is_sql_name(const char *path)
{
	size_t n = strlen(path);
	return n > 4 && !strcmp(path + n - 4, ".sql");
}

int cmd_commit(cli *c, int argc, char **argv)
{
	session s;
	md_vcs_move *mv = NULL;
	size_t n = 0, i, k = 0;
	const char *dirs[3];
	char hex[41];
	md_error err;
	int rc, vrc;

	if ((rc = cli_parse(c, argc, argv, OPT_DRY_RUN | OPT_WAIT, "commit [--dry-run] [--wait[=SECONDS]]")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (c->npos) {
		fprintf(stderr, "migdeck commit: unexpected argument '%s'\n", c->pos[0]);
		return EXIT_USAGE;
	}
	if ((rc = session_open(c, &s, 1)) != 0)
		return rc;
	for (i = 0; i < 3; i++)
		dirs[i] = s.ws->dirs[i];
	md_error_clear(&err);
	vrc = md_vcs_uncommitted_moves(dirs, 3, &mv, &n, &err);
	if (vrc < 0) {
		cli_print_error(&err);
		rc = EXIT_FAILED;
		goto done;
	}
	if (vrc == MD_VCS_NO_REPO) {
		fprintf(stderr, "migdeck: commit: %s is not in a git repository: nothing to commit\n",
			md_show_path(dirs[MD_FOLDER_PENDING]));
		rc = EXIT_OK;
		goto done;
	}
	/* migration files only */
	for (i = 0; i < n; i++) {
		if (is_sql_name(mv[i].to)) {
			md_vcs_move t = mv[k];
			mv[k++] = mv[i];
			mv[i] = t;
		}
	}
	if (!k) {
		if (!c->quiet)
			printf("Nothing to commit: no file moves left uncommitted\n");
		rc = EXIT_OK;
		goto done;
	}
	if (c->dry_run) {
		for (i = 0; i < k; i++)
			printf("Would commit: %s -> %s\n", md_show_path(mv[i].from), md_show_path(mv[i].to));
		printf("Dry run: %zu file move%s would be committed\n", k, k == 1 ? "" : "s");
		rc = EXIT_OK;
		goto done;
	}
	vrc = md_runner_commit_left(&s.run, mv, k, hex, &err);
	if (vrc < 0) {
		cli_print_error(&err);
		fprintf(stderr, "migdeck: commit: nothing was committed\n");
		rc = EXIT_FAILED;
		goto done;
	}
	if (vrc != MD_VCS_COMMITTED) {
		if (!c->quiet)
			printf("Nothing to commit: HEAD has these moves already\n");
		rc = EXIT_OK;
		goto done;
	}
	printf("Committed: %.12s (%zu file move%s left uncommitted)\n", hex, k, k == 1 ? "" : "s");
	for (i = 0; i < k && !c->quiet; i++)
		printf("    %s -> %s\n", md_show_path(mv[i].from), md_show_path(mv[i].to));
	rc = EXIT_OK;
done:
	md_vcs_moves_free(mv, n);
	session_close(&s);
	return rc;
}
