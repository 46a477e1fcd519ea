/* fleet.c - migrate --group NAME: the fleet's front end (src/fleet.c is
 * the engine).  Progress on stderr, one line per member as it finishes;
 * the matrix (or --json) on stdout once all are done.  doc/fleet.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fleet.h"
#include "util.h"
#include "vcs.h"
#include "workspace.h"

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void list_note(const char *msg, void *payload)
{
	(void)payload;
	fprintf(stderr, "migdeck: %s\n", msg);
	fflush(stderr);
}

/* A version for the matrix: "-" none, "?" not known (the history was
 * never read: no connection, locked). */
static const char *ver(const md_fleet_member *m, const char *s)
{
	return s ? s : m->known ? "-" : "?";
}

/* Events from the workers (one at a time: the engine holds a lock). */
static void fleet_cb(const md_fleet_event *ev, void *payload)
{
	cli *c = payload;
	const md_fleet_member *m = ev->member;

	switch (ev->kind) {
	case MD_FLEET_EV_NOTE:
		/* the server's notices only with --verbose: a fleet would
		 * repeat each one per member */
		if (ev->level == MD_FLEET_NOTICE) {
			if (c->verbose)
				fprintf(stderr, "%s: %s\n", m->name, ev->text);
		} else if (ev->level == MD_FLEET_WARNING) {
			fprintf(stderr, "migdeck: %s: warning: %s\n", m->name, ev->text);
		} else if (!c->quiet) {
			fprintf(stderr, "migdeck: %s: %s\n", m->name, ev->text);
		}
		break;
	case MD_FLEET_EV_RUN:
		if (c->verbose && ev->run->kind == MD_RUN_DONE)
			fprintf(stderr, "%s: Applied: %s (%lld ms)\n", m->name, ev->run->file->name,
				ev->run->ms);
		break;
	case MD_FLEET_EV_DONE:
		if (c->quiet)
			break;
		fprintf(stderr, "[%zu/%zu] %s %s %s -> %s, %u applied, %.2fs%s%s\n", ev->done,
			ev->total, m->name, md_fleet_outcome_name(m->outcome), ver(m, m->before),
			ver(m, m->after), m->applied, (double)m->ms / 1000.0, m->error ? ": " : "",
			m->error ? m->error : "");
		break;
	}
	fflush(stderr);
}

/* The exit code of one member: the most severe of all is the run's. */
static int member_exit(md_fleet_outcome o)
{
	switch (o) {
	case MD_FLEET_APPLIED:
	case MD_FLEET_UP_TO_DATE: return EXIT_OK;
	case MD_FLEET_CONNECT_ERROR: return EXIT_CONNECT;
	case MD_FLEET_LOCKED: return EXIT_LOCKED;
	case MD_FLEET_INVALID: return EXIT_INVALID;
	default: return EXIT_FAILED;
	}
}

static void print_matrix(const md_fleet *f)
{
	int wn = 6, wv = 6;
	size_t i;

	for (i = 0; i < f->n; i++) {
		const md_fleet_member *m = &f->members[i];
		int a = (int)strlen(m->name), b = (int)strlen(ver(m, m->before)),
		    d = (int)strlen(ver(m, m->after));

		if (a > wn)
			wn = a;
		if (b > wv)
			wv = b;
		if (d > wv)
			wv = d;
	}
	printf("%-*s  %-13s  %-*s  %-*s  %-7s  %s\n", wn, "member", "outcome", wv, "before", wv,
	       "after", "applied", "time");
	for (i = 0; i < f->n; i++) {
		const md_fleet_member *m = &f->members[i];

		printf("%-*s  %-13s  %-*s  %-*s  %-7u  %.2fs%s%s\n", wn, m->name,
		       md_fleet_outcome_name(m->outcome), wv, ver(m, m->before), wv, ver(m, m->after),
		       m->applied, (double)m->ms / 1000.0, m->error ? "  " : "",
		       m->error ? m->error : "");
	}
}

static void json_str(const char *s)
{
	if (s)
		md_json_str(stdout, s, strlen(s));
	else
		fputs("null", stdout);
}

static const char *kind_name(md_group_kind k)
{
	return k == MD_GROUP_TARGETS ? "targets" : k == MD_GROUP_SCHEMAS ? "schemas" : "databases";
}

enum { N_OUTCOMES = MD_FLEET_CONNECT_ERROR + 1 };

/* Summary order: what went well first. */
static const md_fleet_outcome order[] = {
	MD_FLEET_APPLIED, MD_FLEET_UP_TO_DATE, MD_FLEET_FAILED, MD_FLEET_INVALID,
	MD_FLEET_STOPPED, MD_FLEET_SKIPPED, MD_FLEET_LOCKED, MD_FLEET_CONNECT_ERROR,
};

static void print_json(const cli *c, const md_fleet *f, const size_t *count, long long ms)
{
	size_t i;

	printf("{\"group\":");
	json_str(f->group->name);
	printf(",\"members_kind\":\"%s\",\"jobs\":%ld,\"fail_fast\":%s,\"members\":[",
	       kind_name(f->group->kind), c->jobs ? c->jobs : 1L, c->fail_fast ? "true" : "false");
	for (i = 0; i < f->n; i++) {
		const md_fleet_member *m = &f->members[i];

		printf("%s\n {\"member\":", i ? "," : "");
		json_str(m->name);
		printf(",\"outcome\":\"%s\",\"before\":", md_fleet_outcome_name(m->outcome));
		json_str(m->before);
		printf(",\"after\":");
		json_str(m->after);
		printf(",\"applied\":%u,\"ms\":%lld,\"error\":", m->applied, m->ms);
		json_str(m->error);
		printf("}");
	}
	printf("%s],\"summary\":{\"members\":%zu", f->n ? "\n" : "", f->n);
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		char key[32], *p;

		snprintf(key, sizeof(key), "%s", md_fleet_outcome_name(order[i]));
		for (p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		printf(",\"%s\":%zu", key, count[order[i]]);
	}
	printf("},\"ms\":%lld}\n", ms);
}

/* Production members: the group's name typed (or --confirm-database
 * GROUP), and the files that may run committed in git.  0 to go on, or an
 * exit code after saying why. */
static int production_guard(cli *c, const md_fleet *f, const md_workspace *ws)
{
	const char *gname = f->group->name, *first = NULL;
	const char **paths = NULL;
	unsigned char *states = NULL;
	size_t nprod = 0, i, np = 0;
	char answer[256];
	md_error err;
	int refused = 0, rc = 0;

	if (md_fleet_production(f, &nprod, &first, &err) != MD_OK) {
		cli_print_error(&err);
		return cli_exit_code(err.code);
	}
	if (!nprod)
		return 0;
	/* every forward file outside archive/ and its pair may run on some member */
	paths = calloc(2 * ws->nfiles + 1, sizeof(*paths));
	states = calloc(2 * ws->nfiles + 1, 1);
	if (!paths || !states) {
		rc = EXIT_FAILED;
		goto done;
	}
	for (i = 0; i < ws->nfiles; i++) {
		const md_file *fl = &ws->files[i];

		if (fl->folder == MD_FOLDER_ARCHIVE)
			continue;
		paths[np++] = fl->path;
		if (fl->pair)
			paths[np++] = fl->pair->path;
	}
	if (np && md_vcs_states(paths, np, states, &err) < 0) {
		fprintf(stderr, "migdeck: cannot ask git about the files (%s): refused on the "
			"production members of group %s; nothing was changed\n", err.msg, gname);
		rc = EXIT_INVALID;
		goto done;
	}
	for (i = 0; i < np; i++) {
		md_git_state st = (md_git_state)states[i];

		if (st == MD_GIT_COMMITTED)
			continue;
		if (st == MD_GIT_NONE) {
			fprintf(stderr, "migdeck: warning: %s: not in a git repository: cannot tell "
				"whether it has uncommitted changes\n", md_show_path(paths[i]));
			break; /* the whole workspace is outside git: once */
		}
		fprintf(stderr, "migdeck: %s: uncommitted changes in git (%s): refused on the "
			"production members of group %s; commit it first\n", md_show_path(paths[i]),
			st == MD_GIT_ADDED ? "staged, not committed" : md_git_state_name(st), gname);
		refused++;
	}
	if (refused) {
		fprintf(stderr, "migdeck: migrate: nothing was changed\n");
		rc = EXIT_INVALID;
		goto done;
	}
	if (c->confirm_database) {
		if (strcmp(c->confirm_database, gname) != 0) {
			fprintf(stderr, "migdeck: migrate: --confirm-database %s: the group is %s; "
				"nothing was changed\n", c->confirm_database, gname);
			rc = EXIT_INVALID;
		}
		goto done;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
		fprintf(stderr, "migdeck: migrate on group %s, with %zu production member%s (%s%s), "
			"needs the group's name typed: run it on a terminal, or add "
			"--confirm-database %s (--yes is not enough); nothing was changed\n", gname,
			nprod, nprod == 1 ? "" : "s", first, nprod > 1 ? ", ..." : "", gname);
		rc = EXIT_INVALID;
		goto done;
	}
	fprintf(stderr, "migrate on group %s, with %zu production member%s: type the group's "
		"name to go on: ", gname, nprod, nprod == 1 ? "" : "s");
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin))
		answer[0] = '\0';
	answer[strcspn(answer, "\r\n")] = '\0';
	if (strcmp(answer, gname) != 0) {
		fprintf(stderr, "migdeck: migrate: that is not %s; nothing was changed\n", gname);
		rc = EXIT_INVALID;
	}
done:
	free(paths);
	free(states);
	return rc;
}

int cmd_migrate_group(cli *c, const md_version *to)
{
	md_fleet *f = NULL;
	md_workspace *ws = NULL;
	md_fleet_opts o;
	md_error err;
	size_t count[N_OUTCOMES], i;
	long long t0 = wall_ms(), ms;
	int rc = EXIT_OK, first;

	if (c->dry_run) {
		fprintf(stderr, "migdeck migrate: --dry-run does not go with --group\n");
		return EXIT_USAGE;
	}
	if (c->opts.target) {
		fprintf(stderr, "migdeck migrate: --target does not go with --group (the group names "
			"its members)\n");
		return EXIT_USAGE;
	}
	if (md_fleet_list(&f, c->cfg, c->group, list_note, NULL, &err) != MD_OK) {
		cli_print_error(&err);
		return cli_exit_code(err.code);
	}
	if (!f->n)
		fprintf(stderr, "migdeck: group %s has no members: nothing to do\n", f->group->name);
	if (c->opts.database && f->group->kind == MD_GROUP_TARGETS) {
		fprintf(stderr, "migdeck migrate: -d does not go with group %s: its targets name "
			"their own databases\n", f->group->name);
		md_fleet_free(f);
		return EXIT_USAGE;
	}
	if (md_workspace_scan(&ws, c->cfg, &err) != MD_OK) {
		cli_print_error(&err);
		md_fleet_free(f);
		return cli_exit_code(err.code);
	}
	ws->untracked = 1; /* a member never moves files: plans want them where they are */
	if ((rc = production_guard(c, f, ws)) != 0)
		goto done;

	memset(&o, 0, sizeof(o));
	o.jobs = (unsigned)(c->jobs ? c->jobs : 1);
	o.fail_fast = c->fail_fast;
	o.wait = c->wait;
	o.out_of_order = c->out_of_order;
	o.to = to;
	o.cb = fleet_cb;
	o.payload = c;
	if (md_fleet_run(f, ws, &o, &err) != MD_OK) {
		cli_print_error(&err);
		rc = cli_exit_code(err.code);
		goto done;
	}
	ms = wall_ms() - t0;
	memset(count, 0, sizeof(count));
	for (i = 0; i < f->n; i++) {
		int e = member_exit(f->members[i].outcome);

		count[f->members[i].outcome]++;
		if (e > rc)
			rc = e;
	}
	if (c->json) {
		print_json(c, f, count, ms);
	} else {
		print_matrix(f);
		printf("%zu member%s:", f->n, f->n == 1 ? "" : "s");
		first = 1;
		for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			if (!count[order[i]])
				continue;
			printf("%s %zu %s", first ? "" : ",", count[order[i]],
			       order[i] == MD_FLEET_UP_TO_DATE ? "up to date"
			       : order[i] == MD_FLEET_CONNECT_ERROR ? "could not connect"
								 : md_fleet_outcome_name(order[i]));
			first = 0;
		}
		printf("%s (%.2f s, --jobs %u)\n", first ? " none" : "", (double)ms / 1000.0,
		       o.jobs);
	}
	fflush(stdout);
done:
	md_workspace_free(ws);
	md_fleet_free(f);
	return rc;
}
