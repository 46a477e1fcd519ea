/* test_db.c - the libpq seam (src/db.c) on a real server: connecting,
 * application_name, masked connection errors, parameters, error fields and
 * the runner lock. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "db.h"
#include "../support/pgtest.h"

/* ---- helpers ------------------------------------------------------------------ */

/* A config for conninfo (the -d flag), read through md_config_load with an
 * empty ini file of the test's own, so no migdeck.ini around is read. */
static md_config *config_for(const char *conninfo)
{
	const char *tmp = getenv("MIGDECK_TEST_TMPDIR");
	char path[1024];
	md_config_opts opts;
	md_config *cfg = NULL;
	md_error err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/test_db_%ld.ini", tmp && *tmp ? tmp : ".",
		 (long)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# test_db\n", f);
	fclose(f);
	memset(&opts, 0, sizeof(opts));
	opts.config_path = path;
	opts.database = conninfo;
	if (md_config_load(&cfg, &opts, &err) != MD_OK)
		fail_msg("md_config_load: %s", err.msg);
	return cfg;
}

static md_db *connect_ok(const char *conninfo, const char *role)
{
	md_config *cfg = config_for(conninfo);
	md_db *db = NULL;
	md_error err;
	md_status rc;

	rc = md_db_connect(&db, cfg, role, &err);
	md_config_free(cfg);
	if (rc != MD_OK)
		fail_msg("md_db_connect: %s", err.msg);
	assert_non_null(db);
	return db;
}

/* One value of a query on an md_db connection (malloc'd). */
static char *db_value(md_db *db, const char *sql)
{
	return pgtest_value(db->conn, sql);
}

/* ---- connecting ------------------------------------------------------------------ */

static void test_connect_application_name(void **state)
{
	pgtest_db *t = *state;
	md_db *db = connect_ok(t->conninfo, NULL), *mon;
	char sql[256], *v;

	assert_true(db->server_version >= 100000);
	assert_non_null(db->target);
	assert_non_null(strstr(db->target, t->name));
	assert_non_null(db->app_name);
	assert_memory_equal(db->app_name, "migdeck:", 8);
	assert_true(strlen(db->app_name) > 8);
	assert_null(strchr(db->app_name + 8, ':'));
	snprintf(sql, sizeof(sql),
		 "SELECT application_name FROM pg_stat_activity WHERE pid = %d",
		 PQbackendPID(db->conn));
	v = pgtest_value(t->conn, sql);
	assert_string_equal(v, db->app_name);
	free(v);
	v = db_value(db, "SHOW client_encoding");
	assert_string_equal(v, "UTF8");
	free(v);

	/* with a role: migdeck:<user>:<role> */
	mon = connect_ok(t->conninfo, "monitor");
	snprintf(sql, sizeof(sql), "%s:monitor", db->app_name);
	assert_string_equal(mon->app_name, sql);
	snprintf(sql, sizeof(sql),
		 "SELECT application_name FROM pg_stat_activity WHERE pid = %d",
		 PQbackendPID(mon->conn));
	v = pgtest_value(t->conn, sql);
	assert_string_equal(v, mon->app_name);
	free(v);
	md_db_close(mon);
	md_db_close(db);
}

/* An application_name the user set wins. */
static void test_connect_explicit_application_name(void **state)
{
	pgtest_db *t = *state;
	char ci[1200], sql[128], *v;
	md_db *db;

	snprintf(ci, sizeof(ci), "%s application_name='deploy bot'", t->conninfo);
	db = connect_ok(ci, NULL);
	assert_string_equal(db->app_name, "deploy bot");
	snprintf(sql, sizeof(sql),
		 "SELECT application_name FROM pg_stat_activity WHERE pid = %d",
		 PQbackendPID(db->conn));
	v = pgtest_value(t->conn, sql);
	assert_string_equal(v, "deploy bot");
	free(v);
	md_db_close(db);
}

static void expect_connect_failure(const char *conninfo, const char *must_name,
				   const char *secret)
{
	md_config *cfg = config_for(conninfo);
	md_db *db = (md_db *)1;
	md_error err;
	md_status rc;

	rc = md_db_connect(&db, cfg, NULL, &err);
	md_config_free(cfg);
	assert_int_equal(rc, MD_ERR_CONNECT);
	assert_int_equal(err.code, MD_ERR_CONNECT);
	assert_null(db);
	if (!strstr(err.msg, "cannot connect to ") || !strstr(err.msg, must_name))
		fail_msg("message does not name %s: %s", must_name, err.msg);
	if (strstr(err.msg, secret))
		fail_msg("the password shows in: %s", err.msg);
	assert_null(strchr(err.msg, '\n'));
}

static void test_connect_bad_database(void **state)
{
	const char *host = getenv("PGHOST"), *port = getenv("PGPORT");
	char ci[1200];

	(void)state;
	snprintf(ci, sizeof(ci), "host='%s' port=%s user=postgres dbname=md_no_such_db_x9 "
		 "password=Sup3rSecret-pw", host, port ? port : "5432");
	expect_connect_failure(ci, "md_no_such_db_x9", "Sup3rSecret-pw");
	/* the same as a URL */
	snprintf(ci, sizeof(ci),
		 "postgresql://postgres:Sup3rSecret-pw@/md_no_such_db_y7?host=%s&port=%s", host,
		 port ? port : "5432");
	expect_connect_failure(ci, "md_no_such_db_y7", "Sup3rSecret-pw");
}

/* ---- queries and errors --------------------------------------------------------- */

static void test_query_parameters(void **state)
{
	pgtest_db *t = *state;
	md_db *db = connect_ok(t->conninfo, NULL);
	static const char tricky[] = "it's \"quoted\"; DROP TABLE t; -- \\ ünï";
	const char *params[3] = { tricky, NULL, "42" };
	PGresult *res = NULL;
	md_error err;

	assert_int_equal(md_db_exec(db, "CREATE TABLE t (a text, b text, n int); "
				    "CREATE TABLE u (x int)", &err), MD_OK);
	assert_int_equal(md_db_query(db, &res, "INSERT INTO t VALUES ($1, $2, $3::int) "
				     "RETURNING a, b IS NULL, n + 1", 3, params, &err), MD_OK);
	assert_non_null(res);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), tricky);
	assert_string_equal(PQgetvalue(res, 0, 1), "t");
	assert_string_equal(PQgetvalue(res, 0, 2), "43");
	PQclear(res);
	assert_int_equal(md_db_query(db, &res, "SELECT count(*) FROM t WHERE a = $1 AND b IS NULL",
				     1, params, &err), MD_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "1");
	PQclear(res);
	/* a command: COMMAND_OK */
	assert_int_equal(md_db_query(db, &res, "UPDATE t SET b = $1", 1, params, &err), MD_OK);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	assert_string_equal(PQcmdTuples(res), "1");
	PQclear(res);
	assert_true(pgtest_true(t->conn, "SELECT b = a FROM t"));
	md_db_close(db);
}

static void test_error_fields(void **state)
{
	pgtest_db *t = *state;
	md_db *db = connect_ok(t->conninfo, NULL);
	PGresult *res = (PGresult *)1;
	md_error err;
	md_status rc;

	/* a unique violation: SQLSTATE and DETAIL */
	assert_int_equal(md_db_exec(db, "CREATE TABLE k (id int PRIMARY KEY); "
				    "INSERT INTO k VALUES (1)", &err), MD_OK);
	rc = md_db_query(db, &res, "INSERT INTO k VALUES (1)", 0, NULL, &err);
	assert_int_equal(rc, MD_ERR_DB);
	assert_null(res);
	assert_int_equal(err.code, MD_ERR_DB);
	assert_string_equal(err.sqlstate, "23505");
	assert_string_equal(err.msg, "ERROR: duplicate key value violates unique constraint \"k_pkey\"");
	assert_string_equal(err.detail, "Key (id)=(1) already exists.");

	/* RAISE with DETAIL and HINT: CONTEXT names the function */
	rc = md_db_exec(db, "DO $$ BEGIN RAISE EXCEPTION 'boom %', 42 USING "
			"DETAIL = 'the detail', HINT = 'try again', ERRCODE = 'P0042'; END $$",
			&err);
	assert_int_equal(rc, MD_ERR_DB);
	assert_string_equal(err.msg, "ERROR: boom 42");
	assert_string_equal(err.sqlstate, "P0042");
	assert_string_equal(err.detail, "the detail");
	assert_string_equal(err.hint, "try again");
	assert_non_null(strstr(err.context, "PL/pgSQL"));

	/* a syntax error: its position, from the result */
	res = PQexec(db->conn, "SELECT 1,\n  , 2");
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	assert_int_equal(md_db_error_position(res), 13); /* the second "," */
	assert_int_equal(md_db_error(&err, db->conn, res), MD_ERR_DB);
	assert_string_equal(err.sqlstate, "42601");
	assert_non_null(strstr(err.msg, "ERROR: syntax error at or near"));
	PQclear(res);
	assert_int_equal(md_db_error_position(NULL), 0);

	/* a failed transaction */
	assert_false(md_db_in_failed_tx(db));
	assert_int_equal(md_db_exec(db, "BEGIN", &err), MD_OK);
	assert_int_equal(md_db_exec(db, "SELECT 1/0", &err), MD_ERR_DB);
	assert_string_equal(err.sqlstate, "22012");
	assert_true(md_db_in_failed_tx(db));
	assert_int_equal(md_db_exec(db, "ROLLBACK", &err), MD_OK);
	assert_false(md_db_in_failed_tx(db));

	/* err may be NULL */
	assert_int_equal(md_db_exec(db, "SELECT nope", NULL), MD_ERR_DB);
	md_db_close(db);
}

static void test_ident(void **state)
{
	pgtest_db *t = *state;
	md_db *db = connect_ok(t->conninfo, NULL);
	char *q;

	q = md_db_ident(db, "My Table");
	assert_string_equal(q, "\"My Table\"");
	free(q);
	q = md_db_ident(db, "a\"b");
	assert_string_equal(q, "\"a\"\"b\"");
	free(q);
	md_db_close(db);
}

/* ---- the lock ------------------------------------------------------------------- */

static int lock_rows(PGconn *conn)
{
	char *v = pgtest_value(conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
				     " AND granted AND objsubid = 2");
	int n = atoi(v);

	free(v);
	return n;
}

static void test_lock_conflict(void **state)
{
	pgtest_db *t = *state;
	md_db *a = connect_ok(t->conninfo, NULL), *b = connect_ok(t->conninfo, "second");
	char want[64];
	md_error err;

	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);
	assert_true(a->locked);
	assert_int_equal(lock_rows(t->conn), 1);
	/* held by this session: taking it again is fine and keeps one lock */
	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);

	assert_int_equal(md_db_lock(b, "public", "schema_versions", 0, &err), MD_ERR_LOCKED);
	assert_int_equal(err.code, MD_ERR_LOCKED);
	assert_false(b->locked);
	snprintf(want, sizeof(want), "locked by pid %d (postgres@local, ", PQbackendPID(a->conn));
	if (strncmp(err.msg, want, strlen(want)) != 0 || !strstr(err.msg, a->app_name) ||
	    !strstr(err.msg, ", since 2"))
		fail_msg("unexpected message: %s", err.msg);

	/* another table is another lock */
	assert_int_equal(md_db_lock(b, "public", "other_versions", 0, &err), MD_OK);
	assert_int_equal(md_db_unlock(b, &err), MD_OK);
	assert_false(b->locked);

	/* released once (it was taken once, even when asked twice) */
	assert_int_equal(md_db_unlock(a, &err), MD_OK);
	assert_false(a->locked);
	assert_int_equal(lock_rows(t->conn), 0);
	assert_int_equal(md_db_lock(b, "public", "schema_versions", 0, &err), MD_OK);
	assert_int_equal(md_db_unlock(a, &err), MD_OK); /* not held: nothing to do */
	md_db_close(a);
	md_db_close(b);
}

/* A session lock: a rolled-back transaction does not release it. */
static void test_lock_is_session_level(void **state)
{
	pgtest_db *t = *state;
	md_db *a = connect_ok(t->conninfo, NULL), *b = connect_ok(t->conninfo, NULL);
	md_error err;

	assert_int_equal(md_db_exec(a, "BEGIN", &err), MD_OK);
	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);
	assert_int_equal(md_db_exec(a, "ROLLBACK", &err), MD_OK);
	assert_int_equal(md_db_lock(b, "public", "schema_versions", 0.3, &err), MD_ERR_LOCKED);
	/* closing releases it */
	md_db_close(a);
	assert_int_equal(md_db_lock(b, "public", "schema_versions", 0, &err), MD_OK);
	md_db_close(b);
	assert_int_equal(lock_rows(t->conn), 0);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct closer {
	md_db *db;
	int unlock_only;
};

static void *close_later(void *arg)
{
	struct closer *c = arg;
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	if (c->unlock_only)
		(void)md_db_unlock(c->db, NULL);
	else
		md_db_close(c->db);
	return NULL;
}

static void wait_for_release(pgtest_db *t, int unlock_only)
{
	md_db *a = connect_ok(t->conninfo, NULL), *b = connect_ok(t->conninfo, NULL);
	struct closer c = { a, unlock_only };
	pthread_t th;
	md_error err;
	double t0, took;
	md_status rc;

	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);
	assert_int_equal(pthread_create(&th, NULL, close_later, &c), 0);
	t0 = now_s();
	rc = md_db_lock(b, "public", "schema_versions", 2, &err);
	took = now_s() - t0;
	pthread_join(th, NULL);
	if (rc != MD_OK)
		fail_msg("md_db_lock with wait 2: %s", err.msg);
	assert_true(b->locked);
	assert_true(took >= 0.25);
	assert_true(took < 1.9);
	if (unlock_only)
		md_db_close(a);
	md_db_close(b);
}

static void test_lock_wait_for_close(void **state)
{
	wait_for_release(*state, 0);
}

static void test_lock_wait_for_unlock(void **state)
{
	wait_for_release(*state, 1);
}

/* Waiting has a limit. */
static void test_lock_wait_times_out(void **state)
{
	pgtest_db *t = *state;
	md_db *a = connect_ok(t->conninfo, NULL), *b = connect_ok(t->conninfo, NULL);
	md_error err;
	double t0, took;

	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);
	t0 = now_s();
	assert_int_equal(md_db_lock(b, "public", "schema_versions", 0.5, &err), MD_ERR_LOCKED);
	took = now_s() - t0;
	assert_true(took >= 0.45);
	assert_true(took < 1.5);
	assert_non_null(strstr(err.msg, "locked by pid "));
	md_db_close(a);
	md_db_close(b);
}

/* ---- using a connection again -------------------------------------------------- */

static void count_notice(void *arg, const PGresult *res)
{
	(void)res;
	(*(int *)arg)++;
}

/* md_db_reuse: what the last work left in the session is gone, the next
 * settings apply; refused while locked or inside a transaction. */
static void test_reuse(void **state)
{
	pgtest_db *t = *state;
	md_config *base = config_for(t->conninfo), *tenant = NULL;
	md_db *db = NULL;
	PGresult *res = NULL;
	md_error err;
	char *v;
	int pid, notices = 0;

	assert_int_equal(md_db_connect(&db, base, NULL, &err), MD_OK);
	pid = PQbackendPID(db->conn);
	/* the last work's notice receiver (a runner's points into its frame) */
	assert_non_null(db->notice_default);
	PQsetNoticeReceiver(db->conn, count_notice, &notices);
	assert_int_equal(md_db_exec(db, "DO $$ BEGIN RAISE NOTICE 'counted'; END $$", &err), MD_OK);
	assert_int_equal(notices, 1);
	assert_int_equal(md_db_exec(db, "CREATE SCHEMA tenant_x; CREATE TABLE tenant_x.only_here (n int); "
				    "SET statement_timeout = '7s'; SET md.leftover = 'yes'; "
				    "CREATE TEMP TABLE scratch (n int); LISTEN md_channel", &err), MD_OK);
	assert_int_equal(md_db_query_prepared(db, &res, "md_one", "SELECT 1", 0, NULL, &err), MD_OK);
	PQclear(res);
	assert_true(md_db_is_prepared(db, "md_one"));
	/* locked: refused, and nothing of the session is touched */
	assert_int_equal(md_db_lock(db, "public", "schema_versions", 0, &err), MD_OK);
	assert_int_equal(md_db_reuse(db, base, &err), MD_ERR_DB);
	assert_non_null(strstr(err.msg, "still locked"));
	assert_true(md_db_is_prepared(db, "md_one"));
	assert_int_equal(md_db_unlock(db, &err), MD_OK);
	/* inside a transaction: refused */
	assert_int_equal(md_db_exec(db, "BEGIN", &err), MD_OK);
	assert_int_equal(md_db_reuse(db, base, &err), MD_ERR_DB);
	assert_non_null(strstr(err.msg, "inside a transaction"));
	assert_int_equal(md_db_exec(db, "ROLLBACK", &err), MD_OK);

	/* the next member: tenant_x's settings, on the same server process */
	assert_int_equal(md_config_derive(base, NULL, NULL, "tenant_x", "tenant_x", &tenant, &err),
			 MD_OK);
	assert_int_equal(md_db_reuse(db, tenant, &err), MD_OK);
	assert_int_equal(PQbackendPID(db->conn), pid);
	/* libpq's own receiver again (a NULL one changes nothing, returns it) */
	assert_true(PQsetNoticeReceiver(db->conn, NULL, NULL) == db->notice_default);
	assert_int_equal(notices, 1);
	v = db_value(db, "SELECT current_setting('statement_timeout') || '|' || "
			 "current_setting('md.leftover', true) || '|' || "
			 "(to_regclass('pg_temp.scratch') IS NULL) || '|' || "
			 "(SELECT count(*) FROM pg_listening_channels()) || '|' || "
			 "(SELECT count(*) FROM pg_prepared_statements) || '|' || "
			 "current_setting('search_path') || '|' || "
			 "(to_regclass('only_here') IS NOT NULL)");
	assert_string_equal(v, "0||true|0|0|\"tenant_x\"|true");
	free(v);
	/* the statement cache forgot it too: preparing the name again works */
	assert_false(md_db_is_prepared(db, "md_one"));
	assert_int_equal(md_db_query_prepared(db, &res, "md_one", "SELECT 2", 0, NULL, &err), MD_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "2");
	PQclear(res);

	/* back to the plain settings: the schema setting goes with DISCARD ALL */
	assert_int_equal(md_db_reuse(db, base, &err), MD_OK);
	v = db_value(db, "SELECT current_setting('search_path')");
	assert_string_equal(v, "\"$user\", public");
	free(v);

	/* a broken connection: refused */
	{
		char sql[160];
		int i;

		snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", pid);
		assert_true(pgtest_true(t->conn, sql));
		/* until the process has gone (a condition, a generous deadline) */
		snprintf(sql, sizeof(sql), "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = %d",
			 pid);
		for (i = 0; i < 600 && !pgtest_true(t->conn, sql); i++)
			usleep(50000);
		assert_true(pgtest_true(t->conn, sql));
	}
	(void)md_db_exec(db, "SELECT 1", &err); /* notices the end */
	assert_int_equal(md_db_reuse(db, base, &err), MD_ERR_DB);
	assert_non_null(strstr(err.msg, "broken"));
	md_db_close(db);
	md_config_free(tenant);
	md_config_free(base);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, pgtest_db_setup, pgtest_db_teardown)
	const struct CMUnitTest tests[] = {
		T(test_connect_application_name),
		T(test_connect_explicit_application_name),
		T(test_connect_bad_database),
		T(test_query_parameters),
		T(test_error_fields),
		T(test_ident),
		T(test_lock_conflict),
		T(test_lock_is_session_level),
		T(test_lock_wait_for_close),
		T(test_lock_wait_for_unlock),
		T(test_lock_wait_times_out),
		T(test_reuse),
	};
#undef T

	return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
