/* test_monitor.c - what src/monitor.c reads from pg_locks and
 * pg_stat_activity, on a real server: the locks a session holds, the
 * sessions it blocks, and every session waiting on a lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/pgtest.h"
#include "config.h"
#include "db.h"
#include "monitor.h"

static md_db *connect_md(const char *conninfo)
{
	const char *tmp = getenv("MIGDECK_TEST_TMPDIR");
	char path[1024];
	md_config_opts opts;
	md_config *cfg = NULL;
	md_db *db = NULL;
	md_error err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/test_monitor_%ld.ini", tmp && *tmp ? tmp : ".",
		 (long)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# test_monitor\n", f);
	fclose(f);
	memset(&opts, 0, sizeof(opts));
	opts.config_path = path;
	opts.database = conninfo;
	if (md_config_load(&cfg, &opts, &err) != MD_OK)
		fail_msg("md_config_load: %s", err.msg);
	if (md_db_connect(&db, cfg, "monitor", &err) != MD_OK)
		fail_msg("md_db_connect: %s", err.msg);
	md_config_free(cfg);
	unlink(path);
	return db;
}

/* Wait until a session of the database waits on a lock (at most 10 s). */
static void wait_for_waiter(PGconn *conn)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (pgtest_true(conn, "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a"
				      " ON a.pid = l.pid WHERE NOT l.granted"
				      " AND a.datname = current_database())"))
			return;
		usleep(50000);
	}
	fail_msg("no session started waiting");
}

static void test_locks_and_blocked(void **state)
{
	pgtest_db *t = *state;
	PGconn *holder = PQconnectdb(t->conninfo), *waiter = PQconnectdb(t->conninfo);
	md_db *mon = connect_md(t->conninfo);
	md_lock *locks = NULL;
	md_waiter *w = NULL;
	size_t n = 0, i;
	md_error err;
	int hpid, wpid, found;

	assert_int_equal(PQstatus(holder), CONNECTION_OK);
	assert_int_equal(PQstatus(waiter), CONNECTION_OK);
	pgtest_exec(t->conn, "CREATE TABLE tickets (id int); CREATE TABLE tags (id int)");
	hpid = PQbackendPID(holder);
	wpid = PQbackendPID(waiter);
	pgtest_exec(holder, "BEGIN");
	pgtest_exec(holder, "ALTER TABLE tickets ADD COLUMN note text");
	pgtest_exec(holder, "SELECT * FROM tags");

	/* the holder's locks: the ALTER's ACCESS EXCLUSIVE first, then the read */
	assert_int_equal(md_monitor_locks_of(mon, hpid, &locks, &n, &err), MD_OK);
	assert_true(n >= 2);
	assert_string_equal(locks[0].object, "tickets");
	assert_string_equal(locks[0].mode, "AccessExclusiveLock");
	assert_true(locks[0].exclusive && locks[0].granted);
	for (i = 0, found = 0; i < n; i++)
		if (!strcmp(locks[i].object, "tags") && !strcmp(locks[i].mode, "AccessShareLock"))
			found = 1;
	assert_true(found);
	for (i = 0; i < n; i++)
		assert_null(strstr(locks[i].object, "pg_"));
	md_locks_free(locks, n);

	/* nobody waits yet */
	assert_int_equal(md_monitor_blocked_by(mon, hpid, &w, &n, &err), MD_OK);
	assert_int_equal(n, 0);
	md_waiters_free(w, n);

	/* a reader queues behind the ALTER */
	assert_int_equal(PQsendQuery(waiter, "SELECT count(*) FROM tickets"), 1);
	wait_for_waiter(t->conn);
	assert_int_equal(md_monitor_blocked_by(mon, hpid, &w, &n, &err), MD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(w[0].pid, wpid);
	assert_string_equal(w[0].object, "tickets");
	assert_string_equal(w[0].mode, "AccessShareLock");
	assert_true(w[0].wait_s >= 0 && w[0].wait_s < 60);
	{
		char want[16];

		snprintf(want, sizeof(want), "%d", hpid);
		assert_string_equal(w[0].blockers, want);
	}
	assert_non_null(strstr(w[0].query, "SELECT count(*) FROM tickets"));
	md_waiters_free(w, n);

	/* every waiter of the database: the same one */
	assert_int_equal(md_monitor_waiters(mon, &w, &n, &err), MD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(w[0].pid, wpid);
	md_waiters_free(w, n);

	/* the waiter is not blocking anyone, and a pid of 0 is refused */
	assert_int_equal(md_monitor_blocked_by(mon, wpid, &w, &n, &err), MD_OK);
	assert_int_equal(n, 0);
	md_waiters_free(w, n);
	assert_int_equal(md_monitor_blocked_by(mon, 0, &w, &n, &err), MD_ERR_USAGE);

	/* the holder lets go: the waiter runs, nobody waits, no locks left */
	pgtest_exec(holder, "ROLLBACK");
	{
		PGresult *r;

		while ((r = PQgetResult(waiter)) != NULL) {
			assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
			PQclear(r);
		}
	}
	assert_int_equal(md_monitor_blocked_by(mon, hpid, &w, &n, &err), MD_OK);
	assert_int_equal(n, 0);
	md_waiters_free(w, n);
	assert_int_equal(md_monitor_locks_of(mon, hpid, &locks, &n, &err), MD_OK);
	assert_int_equal(n, 0);
	md_locks_free(locks, n);

	md_db_close(mon);
	PQfinish(holder);
	PQfinish(waiter);
}

static void test_whoami(void **state)
{
	pgtest_db *t = *state;
	md_db *mon = connect_md(t->conninfo);
	char *dbname, *user, *server;
	md_error err;

	assert_int_equal(md_monitor_whoami(mon, &dbname, &user, &server, &err), MD_OK);
	assert_string_equal(dbname, t->name);
	assert_string_equal(user, getenv("PGUSER") ? getenv("PGUSER") : user);
	assert_true(strchr(server, '.') != NULL); /* "15.18 (...)" */
	free(dbname);
	free(user);
	free(server);
	md_db_close(mon);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_locks_and_blocked, pgtest_db_setup,
						pgtest_db_teardown),
		cmocka_unit_test_setup_teardown(test_whoami, pgtest_db_setup, pgtest_db_teardown),
	};

	if (!pgtest_have_server())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
