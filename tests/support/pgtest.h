/* pgtest.h - a fresh PostgreSQL database per integration test (cmocka).
 *
 * The integration tests run under tests/pg_harness.sh, which starts a
 * throwaway cluster and exports PGHOST, PGPORT, PGUSER, PGDATABASE and
 * MIGDECK_TEST_PGLOG.  Each test gets its own database:
 *
 *     static void test_x(void **state)
 *     {
 *             pgtest_db *db = *state;
 *             pgtest_exec(db->conn, "CREATE TABLE t (id int)");
 *             ...
 *     }
 *     cmocka_unit_test_setup_teardown(test_x, pgtest_db_setup, pgtest_db_teardown)
 *
 * Outside the harness (PGHOST unset) setup prints "integration tests need
 * tests/pg_harness.sh" and fails, so the test never passes by accident. */
#ifndef MIGDECK_PGTEST_H
#define MIGDECK_PGTEST_H

#include <libpq-fe.h>

typedef struct pgtest_db {
	char name[64];        /* md_t_<pid>_<counter> */
	char conninfo[1024];  /* a libpq conninfo string for it */
	PGconn *conn;         /* open, client_encoding UTF8, notices discarded */
} pgtest_db;

/* Is the harness there (PGHOST set)?  Prints the hint once when not. */
int pgtest_have_server(void);

/* Create a fresh database and connect to it; NULL (with a message on
 * stderr) on failure.  pgtest_db_drop closes the connection, drops the
 * database WITH (FORCE) and frees db (NULL is accepted). */
pgtest_db *pgtest_db_create(void);
void pgtest_db_drop(pgtest_db *db);

/* cmocka setup/teardown: *state becomes / is a pgtest_db *. */
int pgtest_db_setup(void **state);
int pgtest_db_teardown(void **state);

/* A connection to the maintenance database (postgres), or NULL. */
PGconn *pgtest_connect_maint(void);

/* Run sql and fail the test unless it succeeds (COMMAND_OK or TUPLES_OK). */
void pgtest_exec(PGconn *conn, const char *sql);

/* Run sql and return the first column of its single row as a malloc'd
 * string ("" for NULL); fails the test unless exactly one row comes back.
 * The caller frees. */
char *pgtest_value(PGconn *conn, const char *sql);

/* pgtest_value into a caller buffer (truncated to outsz - 1 bytes). */
void pgtest_value_buf(PGconn *conn, const char *sql, char *out, size_t outsz);

/* Does sql (a query returning one boolean) return true? */
int pgtest_true(PGconn *conn, const char *sql);

/* A test workspace's files: write text to dir/rel (the test fails when it
 * cannot), and whether dir/rel exists. */
void pgtest_put(const char *dir, const char *rel, const char *text);
int pgtest_exists(const char *dir, const char *rel);

#endif
