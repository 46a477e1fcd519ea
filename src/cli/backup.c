/* backup.c - the CLI's `backups`, `restore FILE --scratch` and `log`: the
 * pg_dump backups taken before production changes, one of them checked in
 * a throwaway database, and the event table (src/backup.h, src/audit.h,
 * doc/backup.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "backup.h"
#include "cli.h"
#include "db.h"
#include "pgcluster.h"
#include "schema.h"
#include "scratch.h"
#include "util.h"

/* ---- a table of text cells ------------------------------------------------------------- */

#define MAXCOLS 10

typedef struct table {
	int ncols;
	char **cells;     /* rows * ncols, malloc'd strings */
	char **notes;     /* a line under each row, or NULL */
	size_t rows, cap;
	int oom;
} table;

/* display width: UTF-8 characters */
static size_t width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void table_add(table *t, char *const *cells, const char *note)
{
	int k;

	if (t->rows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, ncap * (size_t)t->ncols * sizeof(*c));
		char **n;

		if (c)
			t->cells = c;
		n = c ? realloc(t->notes, ncap * sizeof(*n)) : NULL;
		if (!c || !n) {
			t->oom = 1;
			return;
		}
		t->notes = n;
		t->cap = ncap;
	}
	for (k = 0; k < t->ncols; k++)
		if (!(t->cells[t->rows * (size_t)t->ncols + (size_t)k] =
			      strdup(cells[k] && *cells[k] ? cells[k] : "-")))
			t->oom = 1;
	t->notes[t->rows] = note ? strdup(note) : NULL;
	t->rows++;
}

static void table_print(const table *t, const char *const *head)
{
	size_t w[MAXCOLS], r;
	int k;

	for (k = 0; k < t->ncols; k++)
		w[k] = width(head[k]);
	for (r = 0; r < t->rows; r++)
		for (k = 0; k < t->ncols; k++) {
			const char *s = t->cells[r * (size_t)t->ncols + (size_t)k];
			if (s && width(s) > w[k])
				w[k] = width(s);
		}
	for (r = 0; r <= t->rows; r++) {
		for (k = 0; k < t->ncols; k++) {
			const char *s = r ? t->cells[(r - 1) * (size_t)t->ncols + (size_t)k] : head[k];

			if (!s)
				s = "?";
			if (k == t->ncols - 1)
				printf("%s\n", s);
			else
				printf("%s%*s", s, (int)(w[k] - width(s) + 2), "");
		}
		if (r && t->notes[r - 1])
			printf("    %s\n", t->notes[r - 1]);
	}
}

static void table_free(table *t)
{
	size_t i;

	for (i = 0; i < t->rows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	for (i = 0; i < t->rows; i++)
		free(t->notes[i]);
	free(t->cells);
	free(t->notes);
}

static void json_key_str(const char *key, const char *val, int comma)
{
	printf("%s\"%s\":", comma ? "," : "", key);
	if (val)
		md_json_str(stdout, val, strlen(val));
	else
		printf("null");
}

/* the target in force, or NULL without one */
static const char *target_in_force(const md_config *cfg)
{
	return cfg->member || cfg->target ? md_config_label(cfg) : NULL;
}

/* ---- backups ------------------------------------------------------------------------------ */

/* The "backups" or "unfinished" array of backups --json. */
static void json_backups(const cli *c, const char *key, const md_backup_info *list, size_t n)
{
	size_t i;

	printf(",\"%s\":[", key);
	for (i = 0; i < n; i++) {
		char path[8192];

		snprintf(path, sizeof(path), "%s/%s", c->cfg->backup_dir, list[i].file);
		printf("%s{", i ? "," : "");
		json_key_str("file", list[i].file, 0);
		json_key_str("path", path, 1);
		json_key_str("target", list[i].target, 1);
		json_key_str("version", list[i].version, 1);
		json_key_str("taken", list[i].taken, 1);
		printf(",\"bytes\":%lld}", list[i].bytes);
	}
	printf("]");
}

int cmd_backups(cli *c, int argc, char **argv)
{
	static const char *const head[] = { "FILE", "TARGET", "VERSION", "TAKEN", "SIZE" };
	md_backup_info *list = NULL, *partial = NULL;
	size_t n = 0, npartial = 0, i;
	md_error err;
	md_status st;
	int rc;

	if ((rc = cli_parse(c, argc, argv, OPT_JSON,
			    "backups [--json]\n\n"
			    "The pg_dump backups in [backup] dir, newest first: the file, the target\n"
			    "and the version its name carries (the version the database was at), when\n"
			    "it was taken (UTC) and its size.  With a target in force (--target NAME),\n"
			    "only that target's.  Files whose names are not migdeck's are left out.\n"
			    "An unfinished backup (NAME.dump.partial: migdeck was killed while\n"
			    "pg_dump ran, or a run is writing it now) is no backup: a note on stderr\n"
			    "names each.\n"
			    "--json: {\"dir\", \"backups\": [{\"file\", \"path\", \"target\", \"version\",\n"
			    "\"taken\", \"bytes\"}], \"unfinished\": [the same fields]}.  Reads only; no\n"
			    "database.  See doc/backup.md.")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (c->npos) {
		fprintf(stderr, "migdeck backups: unexpected argument '%s'\n", c->pos[0]);
		return EXIT_USAGE;
	}
	md_error_clear(&err);
	if ((st = md_backup_list(c->cfg, target_in_force(c->cfg), &list, &n, &err)) != MD_OK ||
	    (st = md_backup_unfinished(c->cfg, target_in_force(c->cfg), &partial, &npartial, &err)) !=
		    MD_OK) {
		free(list);
		cli_print_error(&err);
		return cli_exit_code(st);
	}
	if (c->json) {
		printf("{");
		json_key_str("dir", c->cfg->backup_dir, 0);
		json_backups(c, "backups", list, n);
		json_backups(c, "unfinished", partial, npartial);
		printf("}\n");
	} else if (!n) {
		printf("No backups in %s\n", md_show_path(c->cfg->backup_dir));
	} else {
		table t;

		memset(&t, 0, sizeof(t));
		t.ncols = 5;
		for (i = 0; i < n; i++) {
			char size[32];
			char *cells[5];

			md_backup_size_text(list[i].bytes, size, sizeof(size));
			cells[0] = list[i].file;
			cells[1] = list[i].target;
			cells[2] = list[i].version;
			cells[3] = list[i].taken;
			cells[4] = size;
			table_add(&t, cells, NULL);
		}
		if (t.oom)
			rc = EXIT_FAILED;
		else
			table_print(&t, head);
		table_free(&t);
	}
	for (i = 0; !c->json && i < npartial; i++) {
		char size[32], path[8192];

		md_backup_size_text(partial[i].bytes, size, sizeof(size));
		snprintf(path, sizeof(path), "%s/%s", c->cfg->backup_dir, partial[i].file);
		fprintf(stderr,
			"migdeck: note: %s (%s): an unfinished backup, not listed: migdeck was killed "
			"while pg_dump wrote it, or a run is writing it now; once no migdeck runs, "
			"remove it\n",
			md_show_path(path), size);
	}
	free(list);
	free(partial);
	return rc;
}

/* ---- restore ------------------------------------------------------------------------------ */

static void restore_note(const char *msg, void *payload)
{
	const cli *c = payload;

	if (c->quiet && strncmp(msg, "warning: ", 9))
		return;
	fprintf(stderr, "restore: %s\n", msg);
	fflush(stderr);
}

/* FILE as given when it exists (or names a folder), else the backup of
 * that name in [backup] dir; malloc'd */
static char *resolve_backup(const cli *c, const char *arg)
{
	char *p = NULL;

	if (access(arg, F_OK) != 0 && !strchr(arg, '/') && c->cfg->backup_dir &&
	    asprintf(&p, "%s/%s", c->cfg->backup_dir, arg) >= 0) {
		if (access(p, F_OK) == 0)
			return p;
		free(p);
	}
	return strdup(arg);
}

int cmd_restore(cli *c, int argc, char **argv)
{
	const char *where, *name;
	const md_config *cfg;
	md_config *derived = NULL;
	md_backup_info info;
	md_scratch *s = NULL;
	md_schema *snap = NULL;
	md_db *db = NULL;
	char *path = NULL;
	md_error err;
	md_status st = MD_OK;
	int rc, local;

	if ((rc = cli_parse(c, argc, argv, OPT_JSON | OPT_SCRATCH,
			    "restore FILE --scratch[=local|server] [--json]\n\n"
			    "Check a backup before trusting it: restore FILE (a pg_dump custom-format\n"
			    "archive; a bare name is looked up in [backup] dir) into a throwaway\n"
			    "database with pg_restore, print its schema snapshot as migdeck schema\n"
			    "does (--json too), then drop the database (also after a failure, Ctrl-C\n"
			    "or SIGTERM).  --scratch=local (default: [diff] scratch) restores into a\n"
			    "local cluster of migdeck's own with the target's roles; --scratch=server\n"
			    "into a database on the target's server (the role needs CREATEDB).  The\n"
			    "target is --target, else the one the file's name carries when it is\n"
			    "configured.  --scratch is required: restoring over a real database is\n"
			    "not what migdeck does (use pg_restore).  Exit 2: no FILE, no --scratch;\n"
			    "3: not a pg_dump archive; 1: pg_restore failed.  See doc/backup.md.")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (c->npos != 1) {
		fprintf(stderr, "migdeck restore: %s (try --help)\n",
			c->npos ? "one FILE only" : "no FILE given");
		return EXIT_USAGE;
	}
	if (!c->scratch) {
		fprintf(stderr, "migdeck restore: --scratch is required: migdeck restores a backup only "
			"into a throwaway database, to check it; restoring over a real database is out "
			"of scope (use pg_restore for that)\n");
		return EXIT_USAGE;
	}
	where = c->scratch_where ? c->scratch_where : md_config_get(c->cfg, MD_CFG_DIFF_SCRATCH);
	if (where && strcmp(where, "local") && strcmp(where, "server")) {
		fprintf(stderr, "migdeck restore: --scratch=%s: local or server\n", where);
		return EXIT_USAGE;
	}
	local = !where || strcmp(where, "server") != 0;
	if (!(path = resolve_backup(c, c->pos[0]))) {
		fprintf(stderr, "migdeck: out of memory\n");
		return EXIT_FAILED;
	}
	md_error_clear(&err);
	if ((st = md_backup_check_file(path, &err)) != MD_OK)
		goto fail;
	/* the settings of the target the backup was taken of, when it is
	 * configured and no other is in force */
	cfg = c->cfg;
	name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (md_backup_parse(name, &info) == 0 && strcmp(info.target, md_config_label(cfg)) &&
	    md_config_target(cfg, info.target)) {
		if (target_in_force(cfg)) {
			fprintf(stderr, "migdeck: warning: %s was taken of target %s; restoring with the "
				"settings of %s\n", name, info.target, md_config_label(cfg));
		} else {
			if ((st = md_config_derive(c->cfg, info.target, NULL, NULL, NULL, &derived,
						   &err)) != MD_OK)
				goto fail;
			cfg = derived;
			if (!c->quiet)
				fprintf(stderr, "restore: target %s (named in the file)\n", info.target);
		}
	}
	if ((st = md_db_connect(&db, cfg, NULL, &err)) != MD_OK)
		goto fail;
	/* from here on a SIGINT or SIGTERM ends pg_restore, the scratch goes,
	 * then the signal is raised again */
	md_backup_guard_begin();
	if (local)
		st = md_scratch_create_local(&s, db, cfg, NULL, NULL, 0, NULL, NULL, restore_note, c,
					     &err);
	else
		st = md_scratch_create(&s, db, cfg, NULL, NULL, 0, NULL, NULL, &err);
	if (st == MD_OK) {
		if (!c->quiet)
			fprintf(stderr, "restore: pg_restore of %s into the scratch database %s%s\n",
				md_show_path(path), s->name, s->cluster ? " (local cluster)" : "");
		st = md_backup_restore(s->db, path, s->cluster ? s->cluster->bin.dir : NULL,
				       restore_note, c, &err);
	}
	if (st == MD_OK && md_backup_interrupted())
		st = md_error_set(&err, MD_ERR_IO, NULL, 0, 0, "interrupted");
	if (st == MD_OK)
		st = md_schema_snapshot(s->db, cfg, 0, &snap, &err);
	if (st == MD_OK && c->json) {
		printf("{");
		json_key_str("file", path, 0);
		json_key_str("scratch", s->name, 1);
		json_key_str("scratch_in", s->cluster ? "local" : "server", 1);
		printf(",\"server_version\":%d,\"objects\":", s->db->server_version);
		md_schema_json(snap, stdout);
		printf("}\n");
	} else if (st == MD_OK) {
		size_t len = 0;
		char *text = md_schema_text(snap, &len);

		if (text)
			fwrite(text, 1, len, stdout);
		else
			st = md_error_set(&err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		free(text);
	}
	fflush(stdout);
	md_schema_free(snap);
	md_scratch_drop(s);
	md_db_close(db);
	db = NULL;
	md_backup_guard_end();
	if (st != MD_OK)
		goto fail;
	md_config_free(derived);
	free(path);
	return EXIT_OK;
fail:
	cli_print_error(&err);
	md_db_close(db);
	md_config_free(derived);
	free(path);
	return cli_exit_code(st);
}

/* ---- log ------------------------------------------------------------------------------------ */

static void log_json(const md_db *db, const md_audit *a)
{
	size_t i;

	printf("{");
	json_key_str("target", db->target, 0);
	json_key_str("table", a->table, 1);
	printf(",\"events\":[");
	for (i = 0; i < a->n; i++) {
		const md_audit_row *r = &a->rows[i];

		printf("%s{\"id\":%lld", i ? ",\n" : "\n", r->id);
		json_key_str("at", r->at, 1);
		json_key_str("target", r->target, 1);
		json_key_str("action", r->action, 1);
		json_key_str("version", r->version, 1);
		json_key_str("script", r->script, 1);
		json_key_str("outcome", r->outcome, 1);
		json_key_str("error", r->error, 1);
		json_key_str("detail", r->detail, 1);
		if (r->duration_ms >= 0)
			printf(",\"duration_ms\":%lld", r->duration_ms);
		else
			printf(",\"duration_ms\":null");
		json_key_str("db_user", r->db_user, 1);
		json_key_str("os_user", r->os_user, 1);
		json_key_str("client_host", r->client_host, 1);
		json_key_str("client_addr", r->client_addr, 1);
		json_key_str("application_name", r->application_name, 1);
		json_key_str("git_commit", r->git_commit, 1);
		json_key_str("backup_file", r->backup_file, 1);
		printf("}");
	}
	printf("%s]}\n", a->n ? "\n" : "");
}

static int log_text(const md_audit *a)
{
	static const char *const head[] = { "AT", "TARGET", "WHO", "FROM", "ACTION", "VERSION",
					    "OUTCOME", "DURATION", "COMMIT", "BACKUP" };
	table t;
	size_t i;
	int rc = EXIT_OK;

	memset(&t, 0, sizeof(t));
	t.ncols = 10;
	for (i = 0; i < a->n; i++) {
		const md_audit_row *r = &a->rows[i];
		char who[300], from[600], action[160], dur[32], commit[16], note[600];
		char *cells[10];

		snprintf(who, sizeof(who), "%s", r->db_user ? r->db_user : "");
		if (r->os_user && (!r->db_user || strcmp(r->os_user, r->db_user)))
			snprintf(who + strlen(who), sizeof(who) - strlen(who), "%s(%s)",
				 who[0] ? " " : "", r->os_user);
		snprintf(from, sizeof(from), "%s", r->client_host ? r->client_host : "");
		if (r->client_addr)
			snprintf(from + strlen(from), sizeof(from) - strlen(from), "%s[%s]",
				 from[0] ? " " : "", r->client_addr);
		if (r->application_name && *r->application_name)
			snprintf(from + strlen(from), sizeof(from) - strlen(from), "%s(%s)",
				 from[0] ? " " : "", r->application_name);
		if (r->action && !strcmp(r->action, "failure") && r->detail &&
		    (!strcmp(r->detail, "apply") || !strcmp(r->detail, "rollback")))
			snprintf(action, sizeof(action), "%s", r->detail);
		else
			snprintf(action, sizeof(action), "%s", r->action ? r->action : "");
		if (r->duration_ms < 0)
			dur[0] = '\0';
		else if (r->duration_ms < 10000)
			snprintf(dur, sizeof(dur), "%lld ms", r->duration_ms);
		else
			snprintf(dur, sizeof(dur), "%.1f s", (double)r->duration_ms / 1000.0);
		snprintf(commit, sizeof(commit), "%.12s", r->git_commit ? r->git_commit : "");
		note[0] = '\0';
		if (r->error && *r->error)
			snprintf(note, sizeof(note), "error: %.*s", (int)strcspn(r->error, "\n"),
				 r->error);
		cells[0] = (char *)(r->at ? r->at : "");
		cells[1] = (char *)(r->target ? r->target : "");
		cells[2] = who;
		cells[3] = from;
		cells[4] = action;
		cells[5] = (char *)(r->version ? r->version : "");
		cells[6] = (char *)(r->outcome ? r->outcome : "");
		cells[7] = dur;
		cells[8] = commit;
		cells[9] = (char *)(r->backup_file ? r->backup_file : "");
		table_add(&t, cells, note[0] ? note : NULL);
	}
	if (t.oom) {
		fprintf(stderr, "migdeck: out of memory\n");
		rc = EXIT_FAILED;
	} else {
		table_print(&t, head);
	}
	table_free(&t);
	return rc;
}

int cmd_log(cli *c, int argc, char **argv)
{
	md_audit_filter f;
	md_audit *a = NULL;
	md_db *db = NULL;
	md_error err;
	md_status st;
	int rc;

	if ((rc = cli_parse(c, argc, argv, OPT_JSON | OPT_VERSION | OPT_SINCE,
			    "log [--target NAME] [--version V] [--since T] [--json]\n\n"
			    "The event table, newest first: when (UTC), the target, who (database\n"
			    "user and OS user), from where (host, address, application), the action\n"
			    "and version, the outcome (an error under a failure), how long, the git\n"
			    "commit and the pg_dump backup taken before the run.  --version V: that\n"
			    "version's events.  --since T: a date/time (2024-05-01, \"2024-05-01\n"
			    "12:00\", UTC unless a zone is given) or a duration back from now (30min,\n"
			    "2h, 3d, 1w).  --target NAME: its database, and only the events recorded\n"
			    "for it (or for no target).  --json: {\"target\", \"table\", \"events\": [{id,\n"
			    "at, target, action, version, script, outcome, error, detail,\n"
			    "duration_ms, db_user, os_user, client_host, client_addr,\n"
			    "application_name, git_commit, backup_file}]}.  Reads only.  Exit 2: a\n"
			    "bad --since.  See doc/backup.md.")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (c->npos) {
		fprintf(stderr, "migdeck log: unexpected argument '%s'\n", c->pos[0]);
		return EXIT_USAGE;
	}
	if (c->since && !*c->since) {
		fprintf(stderr, "migdeck log: --since needs a date/time or a duration (2h, 3d)\n");
		return EXIT_USAGE;
	}
	memset(&f, 0, sizeof(f));
	f.target = target_in_force(c->cfg);
	f.version = c->version;
	f.since = c->since;
	md_error_clear(&err);
	if ((st = cli_connect(c, &db, &err)) != MD_OK ||
	    (st = md_audit_load(db, c->cfg, &f, &a, &err)) != MD_OK) {
		cli_print_error(&err);
		md_db_close(db);
		return cli_exit_code(st);
	}
	if (c->json)
		log_json(db, a);
	else if (!a->n)
		printf("No events%s\n", a->exists ? "" : " (no event table yet)");
	else
		rc = log_text(a);
	md_audit_free(a);
	md_db_close(db);
	return rc;
}
