/* test_step.c - stepping through a migration a statement at a time
 * (md_step_* in src/runner.c, what the console's stepper drives), on a
 * real server and real folders: commit, abort, an error midway, a file
 * that cannot run in a transaction, and a stepped rollback; the locks the
 * open transaction holds, seen from a second connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/pgtest.h"
#include "config.h"
#include "db.h"
#include "history.h"
#include "monitor.h"
#include "runner.h"
#include "stepper.h"
#include "workspace.h"

typedef struct fx {
	pgtest_db *t;
	char dir[512];
	md_config *cfg;
	md_db *db;
	md_workspace *ws;
	md_runner run;
	char tags[16][64];      /* command tags of MD_RUN_STATEMENT_DONE */
	int ntags, warnings, failed, done;
} fx;

static void on_event(const md_run_event *ev, void *payload)
{
	fx *x = payload;

	if (ev->kind == MD_RUN_STATEMENT_DONE && x->ntags < 16)
		snprintf(x->tags[x->ntags++], sizeof(x->tags[0]), "%s", ev->text);
	else if (ev->kind == MD_RUN_WARNING)
		x->warnings++;
	else if (ev->kind == MD_RUN_FAILED)
		x->failed++;
	else if (ev->kind == MD_RUN_DONE)
		x->done++;
}

static void rescan(fx *x)
{
	md_error err;

	md_workspace_free(x->ws);
	x->ws = NULL;
	if (md_workspace_scan(&x->ws, x->cfg, &err) != MD_OK)
		fail_msg("scan: %s", err.msg);
	md_runner_init(&x->run, x->db, x->cfg, x->ws, on_event, x);
	x->ntags = x->warnings = x->failed = x->done = 0;
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
	snprintf(x->dir, sizeof(x->dir), "%s/step.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(x->dir));
	snprintf(ini, sizeof(ini), "%s/pending", x->dir);
	mkdir(ini, 0755);
	snprintf(ini, sizeof(ini), "%s/applied", x->dir);
	mkdir(ini, 0755);
	pgtest_put(x->dir, "migdeck.ini", "[git]\ncommit = off\n");
	pgtest_put(x->dir, "pending/001_create_t.sql",
	    "ALTER TABLE base ADD COLUMN note text;\n"
	    "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1), (2);\n");
	pgtest_put(x->dir, "pending/001_rollback_create_t.sql",
	    "DROP TABLE t;\nALTER TABLE base DROP COLUMN note;\n");
	pgtest_put(x->dir, "pending/002_bad.sql",
	    "CREATE TABLE u (id int);\nINSERT INTO u VALUES ('x');\nCREATE TABLE v (id int);\n");
	pgtest_put(x->dir, "pending/003_index.sql", "CREATE INDEX CONCURRENTLY t_id ON t (id);\n");
	pgtest_put(x->dir, "pending/004_two_indexes.sql",
	    "CREATE INDEX CONCURRENTLY t_a ON t (id);\nCREATE INDEX CONCURRENTLY t_b ON t (nope);\n");
	snprintf(ini, sizeof(ini), "%s/migdeck.ini", x->dir);
	memset(&opts, 0, sizeof(opts));
	opts.config_path = ini;
	opts.database = x->t->conninfo;
	if (md_config_load(&x->cfg, &opts, &err) != MD_OK)
		fail_msg("config: %s", err.msg);
	if (md_db_connect(&x->db, x->cfg, NULL, &err) != MD_OK)
		fail_msg("connect: %s", err.msg);
	if (md_history_ensure(x->db, x->cfg, &err) != MD_OK)
		fail_msg("ensure: %s", err.msg);
	pgtest_exec(x->t->conn, "CREATE TABLE base (id int)");
	rescan(x);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	fx *x = *state;
	char cmd[1200];

	md_workspace_free(x->ws);
	md_db_close(x->db);
	md_config_free(x->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", x->dir);
	pgtest_db_teardown((void **)&x->t);
	free(x);
	return 0;
}

static int rows(fx *x, const char *sql)
{
	char *v = pgtest_value(x->t->conn, sql);
	int n = atoi(v);

	free(v);
	return n;
}

static void test_step_to_commit(void **state)
{
	fx *x = *state;
	md_step s;
	md_error err;
	md_lock *locks;
	md_waiter *w;
	size_t n;
	md_db *mon = NULL;
	int pid = PQbackendPID(x->db->conn);
	const md_file *f = md_workspace_find(x->ws, "001");

	assert_non_null(f);
	assert_int_equal(md_db_connect(&mon, x->cfg, "monitor", &err), MD_OK);
	assert_int_equal(md_step_begin(&s, &x->run, f, 0, &err), MD_OK);
	assert_int_equal(md_step_left(&s), 3);
	assert_int_equal(md_step_next(&s, &err), 1);
	assert_string_equal(x->tags[0], "ALTER TABLE");
	/* the open transaction holds ACCESS EXCLUSIVE on base: a second
	 * connection sees the lock, and a reader queued behind it */
	assert_int_equal(md_monitor_locks_of(mon, pid, &locks, &n, &err), MD_OK);
	assert_true(n >= 1);
	assert_string_equal(locks[0].object, "base");
	assert_true(locks[0].exclusive);
	md_locks_free(locks, n);
	assert_int_equal(PQsendQuery(x->t->conn, "SELECT count(*) FROM base"), 1);
	{
		int i;

		for (i = 0; i < 200; i++) {
			assert_int_equal(md_monitor_blocked_by(mon, pid, &w, &n, &err), MD_OK);
			md_waiters_free(w, n);
			if (n == 1)
				break;
			usleep(50000);
		}
		assert_int_equal(n, 1);
	}
	assert_int_equal(md_step_next(&s, &err), 1);
	assert_string_equal(x->tags[1], "CREATE TABLE");
	assert_int_equal(md_step_commit(&s, &err), MD_ERR_USAGE); /* one is left */
	assert_int_equal(md_step_next(&s, &err), 1);
	assert_string_equal(x->tags[2], "INSERT 0 2");
	assert_int_equal(md_step_left(&s), 0);
	assert_int_equal(md_step_next(&s, &err), 0);
	assert_int_equal(md_step_commit(&s, &err), MD_OK);
	assert_int_equal(x->done, 1);
	/* the reader got through once the stepper committed */
	{
		PGresult *r;

		while ((r = PQgetResult(x->t->conn)) != NULL) {
			assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
			PQclear(r);
		}
	}
	assert_int_equal(md_monitor_blocked_by(mon, pid, &w, &n, &err), MD_OK);
	assert_int_equal(n, 0);
	md_waiters_free(w, n);
	md_db_close(mon);
	assert_int_equal(rows(x, "SELECT count(*) FROM t"), 2);
	assert_int_equal(rows(x, "SELECT count(*) FROM schema_versions WHERE version = '001'"
				 " AND success AND is_active"), 1);
	assert_int_equal(rows(x, "SELECT count(*) FROM schema_versions_events WHERE version = '001'"
				 " AND action = 'apply' AND outcome = 'ok'"), 1);
	assert_true(pgtest_exists(x->dir, "applied/001_create_t.sql"));
	assert_true(pgtest_exists(x->dir, "applied/001_rollback_create_t.sql"));
	assert_false(pgtest_exists(x->dir, "pending/001_create_t.sql"));

	/* and back, a statement at a time: the paired rollback */
	rescan(x);
	f = md_workspace_find(x->ws, "001");
	assert_int_equal(md_step_begin(&s, &x->run, f, 1, &err), MD_OK);
	assert_int_equal(md_step_left(&s), 2);
	assert_int_equal(md_step_next(&s, &err), 1);
	assert_string_equal(x->tags[0], "DROP TABLE");
	assert_int_equal(md_step_next(&s, &err), 1);
	assert_int_equal(md_step_commit(&s, &err), MD_OK);
	assert_int_equal(rows(x, "SELECT count(*) FROM pg_class WHERE relname = 't'"), 0);
	assert_int_equal(rows(x, "SELECT count(*) FROM schema_versions WHERE version = '001'"
				 " AND NOT is_active AND rolled_back_at IS NOT NULL"), 1);
	assert_true(pgtest_exists(x->dir, "pending/001_create_t.sql"));
	assert_false(pgtest_exists(x->dir, "applied/001_create_t.sql"));
}

static void test_step_abort(void **state)
{
	fx *x = *state;
	md_step s;
	md_error err;
	const md_file *f = md_workspace_find(x->ws, "001");

	assert_int_equal(md_step_begin(&s, &x->run, f, 0, &err), MD_OK);
	assert_int_equal(md_step_next(&s, &err), 1);
	md_step_abort(&s);
	assert_int_equal(PQtransactionStatus(x->db->conn), PQTRANS_IDLE);
	assert_int_equal(rows(x, "SELECT count(*) FROM pg_attribute WHERE attname = 'note'"), 0);
	assert_int_equal(rows(x, "SELECT count(*) FROM schema_versions"), 0);
	assert_int_equal(rows(x, "SELECT count(*) FROM schema_versions_events"), 0);
	assert_true(pgtest_exists(x->dir, "pending/001_create_t.sql"));
	assert_int_equal(md_step_next(&s, &err), MD_ERR_USAGE);
}

static void test_step_error(void **state)
{
	fx *x = *state;
	md_step s;
	md_error err;
	const md_file *f = md_workspace_find(x->ws, "002");

	assert_int_equal(md_step_begin(&s, &x->run, f, 0, &err), MD_OK);
	assert_int_equal(md_step_next(&s, &err), 1);
	assert_int_equal(md_step_next(&s, &err), MD_ERR_DB);
	assert_non_null(strstr(err.file, "002_bad.sql"));
	assert_int_equal(err.line, 2);
	assert_string_equal(err.sqlstate, "22P02");
	assert_int_equal(x->failed, 1);
	/* then only abort is left */
	assert_int_equal(md_step_next(&s, &err), MD_ERR_USAGE);
	assert_int_equal(md_step_commit(&s, &err), MD_ERR_USAGE);
	md_step_abort(&s);
	assert_int_equal(rows(x, "SELECT count(*) FROM pg_class WHERE relname IN ('u', 'v')"), 0);
	assert_int_equal(rows(x, "SELECT count(*) FROM schema_versions"), 0);
	assert_true(pgtest_exists(x->dir, "pending/002_bad.sql"));
}

static void test_step_autocommit(void **state)
{
	fx *x = *state;
	md_step s;
	md_error err;
	const md_file *f;

	pgtest_exec(x->t->conn, "CREATE TABLE t (id int)");
	f = md_workspace_find(x->ws, "003");
	assert_int_equal(md_step_begin(&s, &x->run, f, 0, &err), MD_OK);
	assert_true(s.autocommit);
	assert_int_equal(x->warnings, 1); /* said before the first step */
	assert_int_equal(md_step_next(&s, &err), 1);
	/* done at once: another session sees the index */
	assert_int_equal(rows(x, "SELECT count(*) FROM pg_class WHERE relname = 't_id'"), 1);
	assert_int_equal(md_step_commit(&s, &err), MD_OK);
	assert_int_equal(rows(x, "SELECT count(*) FROM schema_versions WHERE version = '003'"
				 " AND success"), 1);
	assert_true(pgtest_exists(x->dir, "applied/003_index.sql"));
}

/* Outside a transaction, what ran stays: an abort after a failure leaves a
 * failed row (status shows it), as a whole apply does. */
static void test_step_autocommit_failure(void **state)
{
	fx *x = *state;
	md_step s;
	md_error err;
	const md_file *f;

	pgtest_exec(x->t->conn, "CREATE TABLE t (id int)");
	f = md_workspace_find(x->ws, "004");
	assert_int_equal(md_step_begin(&s, &x->run, f, 0, &err), MD_OK);
	assert_int_equal(md_step_next(&s, &err), 1);
	assert_int_equal(md_step_next(&s, &err), MD_ERR_DB);
	md_step_abort(&s);
	assert_int_equal(rows(x, "SELECT count(*) FROM pg_class WHERE relname = 't_a'"), 1);
	assert_int_equal(rows(x, "SELECT count(*) FROM schema_versions WHERE version = '004'"
				 " AND NOT success"), 1);
	assert_true(pgtest_exists(x->dir, "pending/004_two_indexes.sql"));
}

/* The threaded stepper asks the database under the lock: it never applies
 * what is applied, nor rolls back what is not. */
static void test_stepper_checks_history(void **state)
{
	fx *x = *state;
	md_stepper *st = NULL;
	md_error err;
	char path[1024];
	const md_file *f = md_workspace_find(x->ws, "001");

	assert_int_equal(md_run_apply(&x->run, f, &err), MD_OK);
	snprintf(path, sizeof(path), "%s/applied/001_create_t.sql", x->dir);
	md_error_clear(&err);
	assert_int_equal(md_stepper_open(&st, x->cfg, path, 0, &err), MD_ERR_INVALID);
	assert_null(st);
	assert_non_null(strstr(err.msg, "is applied already"));
	snprintf(path, sizeof(path), "%s/pending/002_bad.sql", x->dir);
	assert_int_equal(md_stepper_open(&st, x->cfg, path, 1, &err), MD_ERR_INVALID);
	assert_non_null(strstr(err.msg, "is not applied"));
	/* and a rollback of the applied one opens */
	snprintf(path, sizeof(path), "%s/applied/001_create_t.sql", x->dir);
	assert_int_equal(md_stepper_open(&st, x->cfg, path, 1, &err), MD_OK);
	md_stepper_close(st); /* closing with the transaction open rolls it back */
	assert_int_equal(rows(x, "SELECT count(*) FROM schema_versions WHERE version = '001'"
				 " AND is_active"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_step_to_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_autocommit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_autocommit_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stepper_checks_history, setup, teardown),
	};

	if (!pgtest_have_server())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
