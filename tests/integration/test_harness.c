/* test_harness.c - the integration harness itself: a private, fast,
 * throwaway server and a fresh database per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../support/pgtest.h"

static char first_db[64];

/* The first test leaves a table behind in its database ... */
static void test_fresh_db_first(void **state)
{
	pgtest_db *db = *state;
	char *name;

	assert_non_null(db->conn);
	name = pgtest_value(db->conn, "SELECT current_database()");
	assert_string_equal(name, db->name);
	free(name);
	assert_true(strncmp(db->name, "md_t_", 5) == 0);
	pgtest_exec(db->conn, "CREATE TABLE harness_probe (id int)");
	pgtest_exec(db->conn, "INSERT INTO harness_probe VALUES (1)");
	assert_true(pgtest_true(db->conn, "SELECT count(*) = 1 FROM harness_probe"));
	snprintf(first_db, sizeof(first_db), "%s", db->name);
}

/* ... which the second one, in another database, does not see; and the
 * first database is gone. */
static void test_fresh_db_second(void **state)
{
	pgtest_db *db = *state;
	char sql[256];

	assert_true(first_db[0] != '\0');
	assert_string_not_equal(db->name, first_db);
	assert_true(pgtest_true(db->conn, "SELECT to_regclass('harness_probe') IS NULL"));
	snprintf(sql, sizeof(sql),
		 "SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '%s')",
		 first_db);
	assert_true(pgtest_true(db->conn, sql));
	snprintf(sql, sizeof(sql),
		 "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '%s')", db->name);
	assert_true(pgtest_true(db->conn, sql));
}

/* A unix socket in the directory PGHOST names; no TCP at all. */
static void test_local_socket_only(void **state)
{
	pgtest_db *db = *state;
	const char *host = getenv("PGHOST");
	char v[1024];
	struct stat st;

	assert_non_null(host);
	assert_int_equal(host[0], '/');
	assert_int_equal(stat(host, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_string_equal(PQhost(db->conn), host);
	assert_true(pgtest_true(db->conn, "SELECT inet_server_addr() IS NULL"));
	pgtest_value_buf(db->conn, "SHOW listen_addresses", v, sizeof(v));
	assert_string_equal(v, "");
	pgtest_value_buf(db->conn, "SHOW unix_socket_directories", v, sizeof(v));
	assert_string_equal(v, host);
	pgtest_value_buf(db->conn, "SHOW port", v, sizeof(v));
	assert_string_equal(v, getenv("PGPORT"));
}

/* Durability is off: the cluster is thrown away. */
static void test_fast_settings(void **state)
{
	pgtest_db *db = *state;
	char v[64];

	pgtest_value_buf(db->conn, "SHOW fsync", v, sizeof(v));
	assert_string_equal(v, "off");
	pgtest_value_buf(db->conn, "SHOW full_page_writes", v, sizeof(v));
	assert_string_equal(v, "off");
	pgtest_value_buf(db->conn, "SHOW synchronous_commit", v, sizeof(v));
	assert_string_equal(v, "off");
}

/* The test user is the superuser postgres; UTF8, C locale, English
 * messages. */
static void test_user_and_encoding(void **state)
{
	pgtest_db *db = *state;
	char v[64];

	pgtest_value_buf(db->conn, "SELECT current_user", v, sizeof(v));
	assert_string_equal(v, "postgres");
	assert_true(pgtest_true(db->conn,
				"SELECT rolsuper FROM pg_roles WHERE rolname = current_user"));
	pgtest_value_buf(db->conn, "SHOW server_encoding", v, sizeof(v));
	assert_string_equal(v, "UTF8");
	pgtest_value_buf(db->conn, "SHOW client_encoding", v, sizeof(v));
	assert_string_equal(v, "UTF8");
	pgtest_value_buf(db->conn, "SHOW lc_messages", v, sizeof(v));
	assert_string_equal(v, "C");
	pgtest_value_buf(db->conn, "SHOW lc_collate", v, sizeof(v));
	assert_string_equal(v, "C");
}

/* The server log is where MIGDECK_TEST_PGLOG says, with the parseable
 * prefix, and a logged statement of this database shows up in it. */
static void test_server_log(void **state)
{
	pgtest_db *db = *state;
	const char *path = getenv("MIGDECK_TEST_PGLOG");
	char v[128], want[256], line[4096];
	int found = 0, tries;

	assert_non_null(path);
	pgtest_value_buf(db->conn, "SHOW log_line_prefix", v, sizeof(v));
	assert_string_equal(v, "@@MD@@|%d|%p| ");
	pgtest_exec(db->conn, "SET log_statement = 'all'");
	pgtest_exec(db->conn, "SELECT 'md_harness_log_probe'");
	snprintf(want, sizeof(want), "@@MD@@|%s|%d| LOG:  statement: SELECT 'md_harness_log_probe'",
		 db->name, PQbackendPID(db->conn));
	/* the backend writes the line before it answers, but be patient */
	for (tries = 0; tries < 100 && !found; tries++) {
		FILE *f = fopen(path, "r");

		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (strcmp(line, want) == 0)
				found = 1;
		}
		fclose(f);
		if (!found)
			usleep(20000);
	}
	assert_true(found);
}

/* The helpers report a failing statement as a failure. */
static void test_helpers(void **state)
{
	pgtest_db *db = *state;
	char *v;

	v = pgtest_value(db->conn, "SELECT NULL::text");
	assert_string_equal(v, "");
	free(v);
	v = pgtest_value(db->conn, "SELECT 'ü' || 2");
	assert_string_equal(v, "ü2");
	free(v);
	assert_false(pgtest_true(db->conn, "SELECT false"));
	assert_non_null(strstr(db->conninfo, db->name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_db_first, pgtest_db_setup,
						pgtest_db_teardown),
		cmocka_unit_test_setup_teardown(test_fresh_db_second, pgtest_db_setup,
						pgtest_db_teardown),
		cmocka_unit_test_setup_teardown(test_local_socket_only, pgtest_db_setup,
						pgtest_db_teardown),
		cmocka_unit_test_setup_teardown(test_fast_settings, pgtest_db_setup,
						pgtest_db_teardown),
		cmocka_unit_test_setup_teardown(test_user_and_encoding, pgtest_db_setup,
						pgtest_db_teardown),
		cmocka_unit_test_setup_teardown(test_server_log, pgtest_db_setup,
						pgtest_db_teardown),
		cmocka_unit_test_setup_teardown(test_helpers, pgtest_db_setup,
						pgtest_db_teardown),
	};

	return cmocka_run_group_tests_name("harness", tests, NULL, NULL);
}
