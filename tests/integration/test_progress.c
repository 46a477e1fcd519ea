/* test_progress.c - progress of long statements on a real server (issue 8:
 * "a CREATE INDEX on a table of a million rows shows progress"): the
 * runner's MD_RUN_PROGRESS events, asked over a second connection, for a
 * CREATE INDEX, a COPY ... FROM STDIN and an ALTER TABLE that waits for a
 * lock; the console's stepper showing it; no second connection for a
 * short statement.
 *
 * No assertion depends on how fast the machine is: each long statement is
 * held by a gate, an advisory lock this test holds, which an immutable
 * function of the index (or a trigger of the COPY) takes at row 500000 (or
 * 500), or a table lock.  The statement cannot end before the test has
 * seen a progress event of it waiting at the gate and opened the gate (or
 * given up after many events, so a broken build fails instead of
 * hanging). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../support/pgtest.h"
#include "config.h"
#include "db.h"
#include "history.h"
#include "progress.h"
#include "runner.h"
#include "stepper.h"
#include "workspace.h"

/* ticks this many times without seeing what it waits for: give up */
#define GIVE_UP 400

typedef struct fx {
	pgtest_db *t;
	char dir[512];
	md_config *cfg;
	md_db *db;
	md_workspace *ws;
	md_runner run;
	/* what the events said */
	int nprogress, nother_kind, done, failed;
	md_progress first;         /* the first MD_RUN_PROGRESS of the wanted kind */
	char first_text[512];
	long long first_ms;
	const md_file *first_file;
	const char *first_action;
	unsigned first_index, first_count;
	int watchers_seen;         /* sessions "...:progress" while it ran */
	/* the gate */
	md_progress_kind want;     /* open the gate on the first event of this kind */
	int gate_held;             /* 1: advisory lock; 2: a transaction (LOCK TABLE) */
	int unlocked_at;           /* nprogress when it was opened */
} fx;

static void open_gate(fx *x)
{
	if (x->gate_held == 1)
		pgtest_exec(x->t->conn, "SELECT pg_advisory_unlock(4242)");
	else if (x->gate_held == 2)
		pgtest_exec(x->t->conn, "COMMIT");
	x->gate_held = 0;
	x->unlocked_at = x->nprogress;
}

static void on_event(const md_run_event *ev, void *payload)
{
	fx *x = payload;

	if (ev->kind == MD_RUN_DONE)
		x->done++;
	else if (ev->kind == MD_RUN_FAILED)
		x->failed++;
	if (ev->kind != MD_RUN_PROGRESS)
		return;
	assert_non_null(ev->progress);
	assert_non_null(ev->text);
	x->nprogress++;
	if (ev->progress->kind != x->want) {
		x->nother_kind++;
	} else if (x->gate_held && x->first_text[0] == '\0' && ev->progress->lock[0]) {
		/* the first event of the statement waiting at the gate */
		char *v;

		x->first = *ev->progress;
		snprintf(x->first_text, sizeof(x->first_text), "%s", ev->text);
		x->first_ms = ev->ms;
		x->first_file = ev->file;
		x->first_action = ev->action;
		x->first_index = ev->index;
		x->first_count = ev->count;
		v = pgtest_value(x->t->conn, "SELECT count(*) FROM pg_stat_activity "
					     "WHERE application_name LIKE 'migdeck:%:progress' "
					     "AND datname = current_database()");
		x->watchers_seen = atoi(v);
		free(v);
		open_gate(x);
	}
	if (x->gate_held && x->nprogress >= GIVE_UP)
		open_gate(x); /* never seen: the assertions below fail */
}

/* Scan the folders again and start a new runner, progress asked every
 * 100 ms (the first time after MD_PROGRESS_DELAY_MS). */
static void rescan(fx *x)
{
	md_error err;

	md_runner_done(&x->run);
	md_workspace_free(x->ws);
	x->ws = NULL;
	if (md_workspace_scan(&x->ws, x->cfg, &err) != MD_OK)
		fail_msg("scan: %s", err.msg);
	md_runner_init(&x->run, x->db, x->cfg, x->ws, on_event, x);
	x->run.progress_ms = 100;
}

/* A table of a million rows and the gate's function. */
static void make_big(fx *x)
{
	pgtest_exec(x->t->conn, "CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 1000000) g");
	pgtest_exec(x->t->conn,
		    "CREATE FUNCTION gate(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$\n"
		    "BEGIN\n"
		    "  IF i = 500000 THEN\n"
		    "    PERFORM pg_advisory_lock_shared(4242);\n"
		    "    PERFORM pg_advisory_unlock_shared(4242);\n"
		    "  END IF;\n"
		    "  RETURN i;\n"
		    "END $$");
}

static void hold_gate(fx *x)
{
	pgtest_exec(x->t->conn, "SELECT pg_advisory_lock(4242)");
	x->gate_held = 1;
}

static int setup(void **state)
{
	fx *x = calloc(1, sizeof(*x));
	const char *tmp = getenv("MIGDECK_TEST_TMPDIR");
	md_config_opts opts;
	md_error err;
	char ini[1024];

	if (pgtest_db_setup((void **)&x->t) != 0) {
		free(x);
		return -1;
	}
	snprintf(x->dir, sizeof(x->dir), "%s/progress.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(x->dir));
	snprintf(ini, sizeof(ini), "%s/pending", x->dir);
	mkdir(ini, 0755);
	snprintf(ini, sizeof(ini), "%s/applied", x->dir);
	mkdir(ini, 0755);
	pgtest_put(x->dir, "migdeck.ini", "[git]\ncommit = off\n");
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
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	fx *x = *state;
	char cmd[1200];

	md_runner_done(&x->run);
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

static long long value_ll(fx *x, const char *sql)
{
	char *v = pgtest_value(x->t->conn, sql);
	long long n = atoll(v);

	free(v);
	return n;
}

static int progress_sessions(fx *x)
{
	return (int)value_ll(x, "SELECT count(*) FROM pg_stat_activity "
				"WHERE application_name LIKE 'migdeck:%:progress' "
				"AND datname = current_database()");
}

/*
 * Progress sessions left once the watcher is closed. PQfinish returns
 * before the server's backend has gone, so pg_stat_activity may list it
 * for a moment: wait for it to go (a condition, bounded by a generous
 * deadline, never a guess at how long it takes).
 */
static int progress_sessions_closed(fx *x)
{
	int n = progress_sessions(x);

	for (int i = 0; n > 0 && i < 600; i++) {
		usleep(50000);
		n = progress_sessions(x);
	}
	return n;
}

/* The proof: a CREATE INDEX on a table of a million rows shows progress. */
static void test_create_index(void **state)
{
	fx *x = *state;
	md_error err;
	const md_file *f;
	long long blocks = 0;

	make_big(x);
	blocks = value_ll(x, "SELECT pg_relation_size('big') / current_setting('block_size')::int");
	pgtest_put(x->dir, "pending/001_index_big.sql", "CREATE INDEX big_gate ON big (gate(id));\n");
	rescan(x);
	f = md_workspace_find(x->ws, "001");
	assert_non_null(f);
	x->want = MD_PROGRESS_CREATE_INDEX;
	hold_gate(x);
	assert_int_equal(md_run_apply(&x->run, f, &err), MD_OK);
	assert_int_equal(x->done, 1);
	assert_int_equal(x->gate_held, 0);
	/* a CREATE INDEX event came, with what the view says */
	assert_true(x->first_text[0] != '\0');
	assert_int_equal(x->first.kind, MD_PROGRESS_CREATE_INDEX);
	assert_string_equal(x->first.command, "CREATE INDEX");
	/* the gate is taken while the table is scanned: blocks of the table */
	assert_string_equal(x->first.phase, "building index: scanning table");
	assert_non_null(x->first.unit);
	assert_string_equal(x->first.unit, "blocks");
	assert_int_equal(x->first.total, blocks);
	assert_true(x->first.total > 0);
	assert_true(x->first.done >= 0 && x->first.done <= x->first.total);
	assert_true(x->first.percent >= 0 && x->first.percent <= 100);
	assert_int_equal(x->first.percent, md_progress_percent(x->first.done, x->first.total));
	/* it waits at the gate, and says so */
	assert_string_equal(x->first.lock, "advisory");
	{
		char want[160];

		snprintf(want, sizeof(want), "CREATE INDEX building index: scanning table %d%% (%lld/%lld blocks)",
			 x->first.percent, x->first.done, x->first.total);
		assert_true(strncmp(x->first_text, want, strlen(want)) == 0);
		assert_non_null(strstr(x->first_text, ", waiting for a lock (advisory) "));
	}
	/* the event names the statement, and came no sooner than the delay */
	assert_ptr_equal(x->first_file, f);
	assert_string_equal(x->first_action, "apply");
	assert_int_equal(x->first_index, 0);
	assert_int_equal(x->first_count, 1);
	assert_true(x->first_ms >= MD_PROGRESS_DELAY_MS);
	assert_int_equal(x->first.elapsed_ms, x->first_ms);
	printf("# test_progress: %s\n", x->first_text);
	/* over one second connection, kept for the run, closed by done */
	assert_int_equal(x->watchers_seen, 1);
	assert_non_null(x->run.watcher);
	assert_int_not_equal(md_db_backend_pid(x->run.watcher), md_db_backend_pid(x->db));
	md_runner_done(&x->run);
	assert_null(x->run.watcher);
	assert_int_equal(progress_sessions_closed(x), 0);
	/* and the index is there, the file applied */
	assert_true(pgtest_true(x->t->conn, "SELECT to_regclass('big_gate') IS NOT NULL"));
	assert_true(pgtest_exists(x->dir, "applied/001_index_big.sql"));
}

/* A short statement: no event, no second connection. */
static void test_fast_statement(void **state)
{
	fx *x = *state;
	md_error err;
	const md_file *f;

	pgtest_put(x->dir, "pending/001_small.sql", "CREATE TABLE small (id int);\nINSERT INTO small VALUES (1);\n");
	rescan(x);
	f = md_workspace_find(x->ws, "001");
	assert_non_null(f);
	assert_int_equal(md_run_apply(&x->run, f, &err), MD_OK);
	assert_int_equal(x->done, 1);
	assert_int_equal(x->nprogress, 0);
	assert_null(x->run.watcher);
	assert_int_equal(x->run.watcher_failed, 0);
	assert_int_equal(progress_sessions(x), 0);
	/* done, the runner hands the connection's notices back to libpq (its
	 * receiver pointed at the runner, which the caller may now free) */
	assert_true(PQsetNoticeReceiver(x->db->conn, NULL, NULL) != x->db->notice_default);
	md_runner_done(&x->run);
	assert_true(PQsetNoticeReceiver(x->db->conn, NULL, NULL) == x->db->notice_default);
}

/* A statement no view reports on, waiting for a lock: "running", the lock. */
static void test_waiting_statement(void **state)
{
	fx *x = *state;
	md_error err;
	const md_file *f;

	pgtest_exec(x->t->conn, "CREATE TABLE busy (id int)");
	pgtest_put(x->dir, "pending/001_alter_busy.sql", "ALTER TABLE busy ADD COLUMN note text;\n");
	rescan(x);
	f = md_workspace_find(x->ws, "001");
	assert_non_null(f);
	x->want = MD_PROGRESS_NONE;
	pgtest_exec(x->t->conn, "BEGIN");
	pgtest_exec(x->t->conn, "LOCK TABLE busy IN ACCESS SHARE MODE");
	x->gate_held = 2;
	assert_int_equal(md_run_apply(&x->run, f, &err), MD_OK);
	assert_int_equal(x->gate_held, 0);
	assert_int_equal(x->first.kind, MD_PROGRESS_NONE);
	assert_int_equal(x->first.percent, -1);
	assert_string_equal(x->first.lock, "relation");
	assert_true(strncmp(x->first_text, "running, waiting for a lock (relation) ", 39) == 0);
}

/* COPY ... FROM STDIN: the server cannot know the size of a pipe; the
 * runner knows what it sends, so a percent of bytes. */
static void test_copy(void **state)
{
	fx *x = *state;
	md_error err;
	const md_file *f;
	char *sql;
	size_t len = 0, cap = 64 * 1024, data_len;
	const char *head = "COPY rows_in (id) FROM STDIN;\n";
	int i;

	pgtest_exec(x->t->conn, "CREATE TABLE rows_in (id int)");
	pgtest_exec(x->t->conn,
		    "CREATE FUNCTION gate_row() RETURNS trigger LANGUAGE plpgsql AS $$\n"
		    "BEGIN\n"
		    "  IF NEW.id = 500 THEN\n"
		    "    PERFORM pg_advisory_lock_shared(4242);\n"
		    "    PERFORM pg_advisory_unlock_shared(4242);\n"
		    "  END IF;\n"
		    "  RETURN NEW;\n"
		    "END $$");
	pgtest_exec(x->t->conn, "CREATE TRIGGER gate BEFORE INSERT ON rows_in "
				"FOR EACH ROW EXECUTE FUNCTION gate_row()");
	sql = malloc(cap);
	assert_non_null(sql);
	len = (size_t)snprintf(sql, cap, "%s", head);
	for (i = 1; i <= 1000; i++)
		len += (size_t)snprintf(sql + len, cap - len, "%d\n", i);
	data_len = len - strlen(head);
	len += (size_t)snprintf(sql + len, cap - len, "\\.\n");
	pgtest_put(x->dir, "pending/001_copy_rows.sql", sql);
	free(sql);
	rescan(x);
	f = md_workspace_find(x->ws, "001");
	assert_non_null(f);
	x->want = MD_PROGRESS_COPY;
	hold_gate(x);
	assert_int_equal(md_run_apply(&x->run, f, &err), MD_OK);
	assert_int_equal(x->gate_held, 0);
	assert_int_equal(x->first.kind, MD_PROGRESS_COPY);
	assert_string_equal(x->first.command, "COPY FROM");
	assert_string_equal(x->first.unit, "bytes");
	/* the data lines (the "\." line is not sent) */
	assert_int_equal(x->first.total, (long long)data_len);
	assert_true(x->first.done >= 0 && x->first.done <= x->first.total);
	assert_int_equal(value_ll(x, "SELECT count(*) FROM rows_in"), 1000);
}

/* The console's stepper: the view carries the progress while the
 * statement runs, and drops it when it is done. */
static void test_stepper(void **state)
{
	fx *x = *state;
	md_error err;
	md_stepper *st = NULL;
	md_stepper_view *v = NULL;
	md_progress seen;
	char path[1024];
	int got = 0, polls;

	make_big(x);
	pgtest_put(x->dir, "pending/001_index_big.sql", "CREATE INDEX big_gate ON big (gate(id));\n");
	snprintf(path, sizeof(path), "%s/pending/001_index_big.sql", x->dir);
	hold_gate(x);
	assert_int_equal(md_stepper_open(&st, x->cfg, path, 0, &err), MD_OK);
	assert_true(md_stepper_command(st, 'n'));
	/* poll the view as the console does; the statement cannot end
	 * before the gate opens, so this ends when the view shows progress
	 * (or, broken, after many polls) */
	for (polls = 0; polls < 2400 && !got; polls++) {
		v = md_stepper_view_get(st);
		assert_non_null(v);
		if (v->has_progress && v->progress.kind == MD_PROGRESS_CREATE_INDEX &&
		    v->progress.lock[0]) {
			seen = v->progress;
			got = 1;
			assert_int_equal(v->state, MD_STEPPER_RUNNING);
			assert_int_equal(v->running, 0);
			assert_true(v->stmt_started > 0);
		}
		md_stepper_view_free(v);
		if (!got)
			usleep(50000);
	}
	open_gate(x);
	while (md_stepper_busy(st))
		usleep(20000);
	v = md_stepper_view_get(st);
	assert_non_null(v);
	assert_int_equal(v->state, MD_STEPPER_ALL_RAN);
	assert_int_equal(v->has_progress, 0); /* the statement is done */
	md_stepper_view_free(v);
	assert_true(got);
	assert_string_equal(seen.phase, "building index: scanning table");
	assert_true(seen.total > 0 && seen.done <= seen.total);
	assert_true(md_stepper_command(st, 'c'));
	while (md_stepper_busy(st))
		usleep(20000);
	v = md_stepper_view_get(st);
	assert_int_equal(v->state, MD_STEPPER_COMMITTED);
	md_stepper_view_free(v);
	md_stepper_close(st);
	assert_int_equal(progress_sessions_closed(x), 0);
	assert_true(pgtest_true(x->t->conn, "SELECT to_regclass('big_gate') IS NOT NULL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_statement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiting_statement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stepper, setup, teardown),
	};
	return cmocka_run_group_tests_name("progress", tests, NULL, NULL);
}
