/* test_backup.c - [database] backup = pg_dump in the runner (src/backup.c)
 * on a real server with the real pg_dump and pg_restore: the stepper's
 * path (md_step_begin) backs up before its first statement, once per
 * runner; the backup's file name goes into the event row; a backup that
 * cannot be taken leaves the connection idle and nothing recorded or
 * moved; md_backup_run's file restores with md_backup_restore into
 * another database, which then has the tables.  The console's stepper
 * takes its backup on its own thread (md_stepper_open returns at once),
 * reuses the a/u run's backup when told, and Ctrl-C (md_stepper_cancel)
 * stops a pg_dump that waits, changing nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/pgtest.h"
#include "backup.h"
#include "config.h"
#include "db.h"
#include "history.h"
#include "runner.h"
#include "stepper.h"
#include "workspace.h"

#include <time.h>

typedef struct fx {
	pgtest_db *t;
	char dir[512];
	md_config *cfg;
	md_db *db;
	md_workspace *ws;
	md_runner run;
	int progress, backups, failed;
	int order[32];          /* kinds of the events, in order */
	int nev;
	char done_path[4096];
} fx;

static void on_event(const md_run_event *ev, void *payload)
{
	fx *x = payload;

	if (x->nev < 32)
		x->order[x->nev++] = (int)ev->kind;
	if (ev->kind == MD_RUN_BACKUP_PROGRESS) {
		x->progress++;
		assert_string_equal(ev->action, "backup");
	} else if (ev->kind == MD_RUN_BACKUP_DONE) {
		x->backups++;
		snprintf(x->done_path, sizeof(x->done_path), "%s", ev->text);
	} else if (ev->kind == MD_RUN_FAILED) {
		x->failed++;
	}
}

/* files in the backup folder */
static int nbackups(fx *x)
{
	char path[1024];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/backups", x->dir);
	if (!(d = opendir(path)))
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void rescan(fx *x)
{
	md_error err;

	md_workspace_free(x->ws);
	x->ws = NULL;
	if (md_workspace_scan(&x->ws, x->cfg, &err) != MD_OK)
		fail_msg("scan: %s", err.msg);
	md_runner_init(&x->run, x->db, x->cfg, x->ws, on_event, x);
	x->progress = x->backups = x->failed = x->nev = 0;
}

static const md_file *file_named(fx *x, const char *name)
{
	size_t i;

	for (i = 0; i < x->ws->nfiles; i++)
		if (!strcmp(x->ws->files[i].name, name))
			return &x->ws->files[i];
	fail_msg("no file %s", name);
	return NULL;
}

static int setup(void **state)
{
	fx *x = calloc(1, sizeof(*x));
	const char *tmp = getenv("MIGDECK_TEST_TMPDIR");
	md_config_opts opts;
	md_error err;
	char ini[1024];

	if (pgtest_db_setup((void **)&x->t) != 0)
		return -1;
	snprintf(x->dir, sizeof(x->dir), "%s/backup.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(x->dir));
	snprintf(ini, sizeof(ini), "%s/pending", x->dir);
	mkdir(ini, 0755);
	snprintf(ini, sizeof(ini), "%s/applied", x->dir);
	mkdir(ini, 0755);
	pgtest_put(x->dir, "migdeck.ini",
	    "[git]\ncommit = off\n[database]\nbackup = pg_dump\n[backup]\ndir = backups\n");
	pgtest_put(x->dir, "pending/001_create_t.sql", "CREATE TABLE t (id int PRIMARY KEY);\n"
					   "INSERT INTO t VALUES (1), (2);\n");
	pgtest_put(x->dir, "pending/001_rollback_create_t.sql", "DROP TABLE t;\n");
	pgtest_put(x->dir, "pending/002_create_u.sql", "CREATE TABLE u (id int);\n");
	snprintf(ini, sizeof(ini), "%s/migdeck.ini", x->dir);
	memset(&opts, 0, sizeof(opts));
	opts.config_path = ini;
	opts.database = x->t->conninfo;
	if (md_config_load(&x->cfg, &opts, &err) != MD_OK)
		fail_msg("config: %s", err.msg);
	assert_true(x->cfg->backup_pg_dump);
	if (md_db_connect(&x->db, x->cfg, NULL, &err) != MD_OK)
		fail_msg("connect: %s", err.msg);
	if (md_history_ensure(x->db, x->cfg, &err) != MD_OK)
		fail_msg("ensure: %s", err.msg);
	pgtest_exec(x->t->conn, "CREATE TABLE base (id int); INSERT INTO base VALUES (7)");
	rescan(x);
	*state = x;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	fx *x = *state;

	md_workspace_free(x->ws);
	md_db_close(x->db);
	md_config_free(x->cfg);
	if (nftw(x->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "cannot remove %s\n", x->dir);
	pgtest_db_teardown((void **)&x->t);
	free(x);
	return 0;
}

static int index_of(const fx *x, int kind)
{
	int i;

	for (i = 0; i < x->nev; i++)
		if (x->order[i] == kind)
			return i;
	return -1;
}

/* md_step_begin backs up before MD_RUN_START; the step commits with the
 * backup's name in its event row; a second step on the runner takes none */
static void test_step_backs_up_once(void **state)
{
	fx *x = *state;
	md_backup_info info;
	md_step s;
	md_error err;
	char magic[6] = "", *v;
	FILE *f;
	int rc;

	assert_int_equal(md_step_begin(&s, &x->run, file_named(x, "001_create_t.sql"), 0, &err),
			 MD_OK);
	assert_int_equal(x->backups, 1);
	assert_true(x->progress >= 2); /* the start line and the tables */
	assert_true(index_of(x, MD_RUN_BACKUP_DONE) >= 0);
	assert_true(index_of(x, MD_RUN_BACKUP_DONE) < index_of(x, MD_RUN_START));
	assert_string_equal(x->run.backup_path, x->done_path);
	assert_int_equal(md_backup_parse(strrchr(x->done_path, '/') + 1, &info), 0);
	assert_string_equal(info.target, "default");
	assert_string_equal(info.version, "0");
	f = fopen(x->done_path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(magic, 1, 5, f), 5);
	fclose(f);
	assert_string_equal(magic, "PGDMP");
	while ((rc = md_step_next(&s, &err)) == 1)
		;
	assert_int_equal(rc, 0);
	assert_int_equal(md_step_commit(&s, &err), MD_OK);
	v = pgtest_value(x->t->conn, "SELECT backup_file || ' ' || coalesce(target, 'none')"
				     " FROM schema_versions_events WHERE action = 'apply'");
	assert_true(!strncmp(v, strrchr(x->done_path, '/') + 1, strlen(strrchr(x->done_path, '/') + 1)));
	assert_non_null(strstr(v, " none"));
	free(v);
	/* the same runner: no second backup */
	assert_int_equal(md_step_begin(&s, &x->run, file_named(x, "002_create_u.sql"), 0, &err),
			 MD_OK);
	assert_int_equal(x->backups, 1);
	md_step_abort(&s);
	assert_int_equal(nbackups(x), 1);
}

/* md_run_apply of two files: one backup; a dry run: none */
static void test_apply_once_per_run(void **state)
{
	fx *x = *state;
	md_error err;

	x->run.dry_run = 1;
	assert_int_equal(md_run_apply(&x->run, file_named(x, "001_create_t.sql"), &err), MD_OK);
	assert_int_equal(x->backups, 0);
	assert_int_equal(nbackups(x), 0);
	rescan(x);
	assert_int_equal(md_run_apply(&x->run, file_named(x, "001_create_t.sql"), &err), MD_OK);
	assert_int_equal(md_run_apply(&x->run, file_named(x, "002_create_u.sql"), &err), MD_OK);
	assert_int_equal(x->backups, 1);
	assert_int_equal(nbackups(x), 1);
	assert_true(pgtest_true(x->t->conn, "SELECT count(DISTINCT backup_file) = 1 AND count(*) = 2"
				" FROM schema_versions_events WHERE action = 'apply'"));
	/* a rollback is another run (a new runner): its own backup */
	rescan(x);
	assert_int_equal(md_run_rollback(&x->run, file_named(x, "001_create_t.sql"), &err), MD_OK);
	assert_int_equal(x->backups, 1);
	assert_int_equal(nbackups(x), 2);
}

/* no pg_dump: the step does not begin, nothing sent, recorded or moved */
static void test_failure_changes_nothing(void **state)
{
	fx *x = *state;
	char empty[600];
	md_step s;
	md_error err;

	snprintf(empty, sizeof(empty), "%s/nobin", x->dir);
	mkdir(empty, 0755);
	setenv("MIGDECK_PG_BINDIR", empty, 1);
	assert_int_not_equal(md_step_begin(&s, &x->run, file_named(x, "001_create_t.sql"), 0, &err),
			     MD_OK);
	assert_non_null(strstr(err.msg, "no pg_dump in"));
	assert_int_equal(index_of(x, MD_RUN_START), -1);
	assert_int_equal(PQtransactionStatus(x->db->conn), PQTRANS_IDLE);
	assert_int_equal(md_run_apply(&x->run, file_named(x, "001_create_t.sql"), &err),
			 MD_ERR_UNSUPPORTED);
	assert_int_equal(x->failed, 1);
	assert_int_equal(md_runner_begin_all(&x->run, &err), MD_ERR_UNSUPPORTED);
	assert_int_equal(x->run.in_tx, 0);
	unsetenv("MIGDECK_PG_BINDIR");
	assert_int_equal(PQtransactionStatus(x->db->conn), PQTRANS_IDLE);
	assert_true(pgtest_exists(x->dir, "pending/001_create_t.sql"));
	assert_true(pgtest_true(x->t->conn, "SELECT count(*) = 0 FROM schema_versions"));
	assert_true(pgtest_true(x->t->conn, "SELECT count(*) = 0 FROM schema_versions_events"));
	assert_true(pgtest_true(x->t->conn, "SELECT to_regclass('t') IS NULL"));
	assert_int_equal(nbackups(x), 0);
}

/* md_backup_run's file restores into another database */
static void test_restore(void **state)
{
	fx *x = *state;
	pgtest_db *other = pgtest_db_create();
	md_config *cfg2 = NULL;
	md_config_opts opts;
	md_db *db2 = NULL;
	md_error err;
	char path[4096];
	long long bytes = 0;
	char *v;

	assert_non_null(other);
	assert_int_equal(md_backup_run(x->cfg, x->db, "unit", "9", NULL, NULL, path, sizeof(path),
				       &bytes, &err),
			 MD_OK);
	assert_true(bytes > 0);
	assert_non_null(strstr(path, "/unit_9_"));
	assert_int_equal(md_backup_check_file(path, &err), MD_OK);
	assert_int_equal(md_backup_check_file(x->dir, &err), MD_ERR_USAGE);
	memset(&opts, 0, sizeof(opts));
	opts.database = other->conninfo;
	assert_int_equal(md_config_load(&cfg2, &opts, &err), MD_OK);
	assert_int_equal(md_db_connect(&db2, cfg2, NULL, &err), MD_OK);
	assert_int_equal(md_backup_restore(db2, path, NULL, NULL, NULL, &err), MD_OK);
	v = pgtest_value(other->conn, "SELECT string_agg(id::text, ',') FROM base");
	assert_string_equal(v, "7");
	free(v);
	/* a second restore over it fails on the first object that exists */
	assert_int_equal(md_backup_restore(db2, path, NULL, NULL, NULL, &err), MD_ERR_IO);
	assert_non_null(strstr(err.msg, "restore: pg_restore failed: pg_restore: error:"));
	assert_non_null(strstr(err.msg, "already exists"));
	md_db_close(db2);
	md_config_free(cfg2);
	pgtest_db_drop(other);
}


/* poll the stepper until cond(view) holds (or it is no longer busy and
 * never will); returns the view (free it) */
static md_stepper_view *wait_view(md_stepper *st, int (*cond)(const md_stepper_view *))
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i;

	for (i = 0; i < 6000; i++) { /* a guard against a hang, not a timing */
		md_stepper_view *v = md_stepper_view_get(st);

		assert_non_null(v);
		if (cond(v))
			return v;
		md_stepper_view_free(v);
		nanosleep(&ts, NULL);
	}
	fail_msg("the stepper never got there");
	return NULL;
}

static int is_ready(const md_stepper_view *v)
{
	return v->state == MD_STEPPER_READY || v->state == MD_STEPPER_FAILED;
}
static int is_all_ran(const md_stepper_view *v) { return v->state == MD_STEPPER_ALL_RAN; }
static int is_committed(const md_stepper_view *v) { return v->state == MD_STEPPER_COMMITTED; }
static int is_backing_up(const md_stepper_view *v) { return v->backing_up; }
static int is_failed(const md_stepper_view *v) { return v->state == MD_STEPPER_FAILED; }
static int is_aborted(const md_stepper_view *v) { return v->state == MD_STEPPER_ABORTED; }

static int log_has(const md_stepper_view *v, const char *text)
{
	size_t i;

	for (i = 0; i < v->nlog; i++)
		if (strstr(v->log[i], text))
			return 1;
	return 0;
}

/* the console's stepper: the backup on its thread, then the file; the next
 * file of the same a/u run reuses that backup */
static void test_stepper_backs_up_on_its_thread(void **state)
{
	fx *x = *state;
	md_stepper *st = NULL;
	md_stepper_view *v;
	md_error err;
	char path[4096], first[4096];

	snprintf(path, sizeof(path), "%s/pending/001_create_t.sql", x->dir);
	assert_int_equal(md_stepper_open_backup(&st, x->cfg, path, 0, NULL, &err), MD_OK);
	v = wait_view(st, is_ready);
	assert_int_equal(v->state, MD_STEPPER_READY);
	assert_int_equal(v->backing_up, 0);
	assert_non_null(v->backup);
	assert_true(log_has(v, "backup: "));
	assert_int_equal(v->n, 2); /* the file began after the backup */
	snprintf(first, sizeof(first), "%s", v->backup);
	md_stepper_view_free(v);
	assert_int_equal(nbackups(x), 1);
	assert_true(md_stepper_command(st, 'a'));
	md_stepper_view_free(wait_view(st, is_all_ran));
	assert_true(md_stepper_command(st, 'c'));
	md_stepper_view_free(wait_view(st, is_committed));
	md_stepper_close(st);
	assert_true(pgtest_true(x->t->conn, "SELECT count(*) = 1 AND min(backup_file) IS NOT NULL"
				" FROM schema_versions_events WHERE action = 'apply'"));

	/* the next file of the run: the same backup, no pg_dump */
	snprintf(path, sizeof(path), "%s/pending/002_create_u.sql", x->dir);
	assert_int_equal(md_stepper_open_backup(&st, x->cfg, path, 0, first, &err), MD_OK);
	v = wait_view(st, is_ready);
	assert_int_equal(v->state, MD_STEPPER_READY);
	assert_string_equal(v->backup, first);
	md_stepper_view_free(v);
	md_stepper_close(st); /* aborts */
	assert_int_equal(nbackups(x), 1);
}

/* Ctrl-C while pg_dump waits on a lock: the backup stops, its file goes,
 * nothing is begun or recorded; x closes */
static void test_stepper_backup_cancelled(void **state)
{
	fx *x = *state;
	md_stepper *st = NULL;
	md_stepper_view *v;
	md_error err;
	char path[4096];

	pgtest_exec(x->t->conn, "BEGIN");
	pgtest_exec(x->t->conn, "LOCK TABLE base IN ACCESS EXCLUSIVE MODE");
	snprintf(path, sizeof(path), "%s/pending/001_create_t.sql", x->dir);
	assert_int_equal(md_stepper_open_backup(&st, x->cfg, path, 0, NULL, &err), MD_OK);
	v = wait_view(st, is_backing_up);
	assert_int_equal(v->state, MD_STEPPER_RUNNING);
	assert_false(md_stepper_command(st, 'n')); /* nothing to step yet */
	md_stepper_view_free(v);
	/* pg_dump is waiting for the lock on base (the activity view is a
	 * snapshot per transaction: drop it each time) */
	for (;;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		pgtest_exec(x->t->conn, "SELECT pg_stat_clear_snapshot()");
		if (pgtest_true(x->t->conn, "SELECT count(*) > 0 FROM pg_stat_activity"
					    " WHERE application_name LIKE '%pg_dump%'"
					    " AND wait_event_type = 'Lock'"))
			break;
		nanosleep(&ts, NULL);
	}
	md_stepper_cancel(st);
	v = wait_view(st, is_failed);
	assert_non_null(strstr(v->error, "pg_dump"));
	assert_null(v->backup);
	assert_true(log_has(v, "nothing was changed"));
	md_stepper_view_free(v);
	assert_true(md_stepper_command(st, 'x'));
	md_stepper_view_free(wait_view(st, is_aborted));
	md_stepper_close(st);
	pgtest_exec(x->t->conn, "ROLLBACK");
	assert_int_equal(nbackups(x), 0); /* no partial file left */
	assert_true(pgtest_exists(x->dir, "pending/001_create_t.sql"));
	assert_true(pgtest_true(x->t->conn, "SELECT count(*) = 0 FROM schema_versions"));
	assert_true(pgtest_true(x->t->conn, "SELECT to_regclass('t') IS NULL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_step_backs_up_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_once_per_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stepper_backs_up_on_its_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stepper_backup_cancelled, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
