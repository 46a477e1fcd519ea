/* pgtest.c - a fresh PostgreSQL database per integration test. */
#include "pgtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static unsigned db_counter;

int pgtest_have_server(void)
{
	static int told;
	const char *host = getenv("PGHOST");

	if (host && *host)
		return 1;
	if (!told) {
		fprintf(stderr, "integration tests need tests/pg_harness.sh: run "
			"`make check` or `sh tests/pg_harness.sh <test binary>`\n");
		told = 1;
	}
	return 0;
}

static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Append " key='value'" with the value quoted for a conninfo string. */
static void conninfo_add(char *out, size_t outsz, const char *key, const char *value)
{
	size_t n = strlen(out);

	if (!value || !*value)
		return;
	n += (size_t)snprintf(out + n, n < outsz ? outsz - n : 0, "%s%s='",
			      n ? " " : "", key);
	for (; *value && n + 3 < outsz; value++) {
		if (*value == '\'' || *value == '\\')
			out[n++] = '\\';
		out[n++] = *value;
	}
	if (n + 1 < outsz) {
		out[n++] = '\'';
		out[n] = '\0';
	}
}

static PGconn *connect_to(const char *conninfo)
{
	PGconn *conn = PQconnectdb(conninfo);

	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "pgtest: cannot connect (%s): %s", conninfo,
			PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, quiet_notice, NULL);
	if (PQsetClientEncoding(conn, "UTF8") != 0) {
		fprintf(stderr, "pgtest: cannot set client_encoding: %s",
			PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static void make_conninfo(char *out, size_t outsz, const char *dbname)
{
	out[0] = '\0';
	conninfo_add(out, outsz, "host", getenv("PGHOST"));
	conninfo_add(out, outsz, "port", getenv("PGPORT"));
	conninfo_add(out, outsz, "user", getenv("PGUSER"));
	conninfo_add(out, outsz, "dbname", dbname);
}

PGconn *pgtest_connect_maint(void)
{
	char ci[1024];

	if (!pgtest_have_server())
		return NULL;
	make_conninfo(ci, sizeof(ci), "postgres");
	return connect_to(ci);
}

/* Run one command on a fresh maintenance connection; 0 on success. */
static int maint_command(const char *sql)
{
	PGconn *conn = pgtest_connect_maint();
	PGresult *res;
	int rc = 0;

	if (!conn)
		return -1;
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "pgtest: %s: %s", sql, PQerrorMessage(conn));
		rc = -1;
	}
	PQclear(res);
	PQfinish(conn);
	return rc;
}

pgtest_db *pgtest_db_create(void)
{
	pgtest_db *db;
	char sql[256];

	if (!pgtest_have_server())
		return NULL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return NULL;
	snprintf(db->name, sizeof(db->name), "md_t_%ld_%u", (long)getpid(), ++db_counter);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db->name);
	if (maint_command(sql) != 0) {
		free(db);
		return NULL;
	}
	make_conninfo(db->conninfo, sizeof(db->conninfo), db->name);
	db->conn = connect_to(db->conninfo);
	if (!db->conn) {
		pgtest_db_drop(db);
		return NULL;
	}
	return db;
}

void pgtest_db_drop(pgtest_db *db)
{
	char sql[256];

	if (!db)
		return;
	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db->name);
	(void)maint_command(sql);
	free(db);
}

int pgtest_db_setup(void **state)
{
	pgtest_db *db = pgtest_db_create();

	if (!db)
		return -1;
	*state = db;
	return 0;
}

int pgtest_db_teardown(void **state)
{
	pgtest_db_drop(*state);
	*state = NULL;
	return 0;
}

/* Run sql; on failure clear the result first, then fail the test (cmocka
 * leaves the function by longjmp). */
static PGresult *exec_checked(PGconn *conn, const char *sql)
{
	char msg[1024];
	PGresult *res;
	ExecStatusType st;

	assert_non_null(conn);
	res = PQexec(conn, sql);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
	PQclear(res);
	fail_msg("pgtest: %s\n  failed: %s", sql, msg);
	return NULL;
}

void pgtest_exec(PGconn *conn, const char *sql)
{
	PQclear(exec_checked(conn, sql));
}

void pgtest_value_buf(PGconn *conn, const char *sql, char *out, size_t outsz)
{
	PGresult *res = exec_checked(conn, sql);
	int rows = PQntuples(res), cols = PQnfields(res);

	if (rows != 1 || cols < 1) {
		PQclear(res);
		fail_msg("pgtest: %s\n  returned %d rows, %d columns (want one value)",
			 sql, rows, cols);
	}
	if (outsz)
		snprintf(out, outsz, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

char *pgtest_value(PGconn *conn, const char *sql)
{
	PGresult *res = exec_checked(conn, sql);
	int rows = PQntuples(res), cols = PQnfields(res);
	char *v;

	if (rows != 1 || cols < 1) {
		PQclear(res);
		fail_msg("pgtest: %s\n  returned %d rows, %d columns (want one value)",
			 sql, rows, cols);
	}
	v = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_non_null(v);
	return v;
}

int pgtest_true(PGconn *conn, const char *sql)
{
	char v[8];

	pgtest_value_buf(conn, sql, v, sizeof(v));
	return strcmp(v, "t") == 0;
}

void pgtest_put(const char *dir, const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

int pgtest_exists(const char *dir, const char *rel)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return access(path, F_OK) == 0;
}
