/* test_errpos.c - a server error position maps back to the file's
 * line:col, through multibyte characters and ${placeholders}.
 *
 * The script is rendered statement by statement (md_sql_render), sent to a
 * real server, and the error's PG_DIAG_STATEMENT_POSITION (a 1-based
 * character offset into the text sent) is mapped back with
 * md_sql_source_offset and md_script_position.  The expected line:col is
 * computed here from the script literal by locating a marker, with its own
 * line and character counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "script.h"
#include "../support/pgtest.h"

/* Statement 2 has a syntax error (the second comma of ", ,") in the middle
 * of its line 3, after multibyte characters on that line.  Statement 3 has
 * placeholders before its error (the ")" of "e, )"), one in a string and
 * one bare, whose values differ in length from ${name}.  In statement 4 the
 * value of ${bad} is itself the error. */
static const char script[] =
	"-- errpos: several statements on several lines\n"
	"CREATE TABLE md_e (id int, name text);\n"
	"\n"
	"INSERT INTO md_e VALUES (1, 'ünïcödé');\n"
	"SELECT id,\n"
	"       name,\n"
	"       'ünïcödé' || 'ßü' AS u, , 3\n"
	"  FROM md_e;\n"
	"/* a comment before the statement */ SELECT '${greeting}' || 'ü' AS g,\n"
	"       ${num} AS n,\n"
	"       'ëé' AS e, )\n"
	"  FROM md_e;\n"
	"SELECT 1 + ${bad} AS b FROM md_e;\n"
	"SELECT 'the end';\n";

enum { NSTMT = 6, STMT_SYNTAX = 2, STMT_AFTER_PH = 3, STMT_BAD_VALUE = 4 };

static const char *lookup(const char *name, void *payload)
{
	(void)payload;
	if (strcmp(name, "greeting") == 0)
		return "a much longer greeting, with ŵïðé characters";
	if (strcmp(name, "num") == 0)
		return "4242";
	if (strcmp(name, "bad") == 0)
		return "42 43";
	return NULL;
}

/* Byte offset of marker in the script, plus skip bytes; the marker must
 * occur exactly once. */
static size_t marker(const char *m, size_t skip)
{
	const char *p = strstr(script, m);

	assert_non_null(p);
	assert_null(strstr(p + 1, m));
	return (size_t)(p - script) + skip;
}

/* 1-based line, and column in UTF-8 characters, of a byte offset: counted
 * here, independently of the engine. */
static void expected_pos(size_t off, unsigned *line, unsigned *col)
{
	size_t i, bol = 0;

	*line = 1;
	for (i = 0; i < off; i++) {
		if (script[i] == '\n') {
			(*line)++;
			bol = i + 1;
		}
	}
	*col = 1;
	for (i = bol; i < off; i++) {
		if (((unsigned char)script[i] & 0xC0) != 0x80)
			(*col)++;
	}
}

typedef struct failure {
	int failed;
	long position;      /* PG_DIAG_STATEMENT_POSITION */
	size_t off;         /* mapped byte offset in the script */
	unsigned line, col; /* md_script_position of off */
	char sqlstate[6];
	char text[512];     /* the text sent */
} failure;

/* Send one rendered statement; on error fill f. */
static void send_one(PGconn *conn, const md_sql *sql, int use_send, failure *f)
{
	PGresult *res, *r;
	const char *pos, *state;
	ExecStatusType st;

	if (use_send) {
		assert_int_equal(PQsendQuery(conn, sql->text), 1);
		res = NULL;
		while ((r = PQgetResult(conn)) != NULL) {
			if (res)
				PQclear(res);
			res = r;
		}
	} else {
		res = PQexec(conn, sql->text);
	}
	assert_non_null(res);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		return;
	}
	f->failed = 1;
	pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	f->position = pos ? atol(pos) : 0;
	snprintf(f->sqlstate, sizeof(f->sqlstate), "%s", state ? state : "");
	snprintf(f->text, sizeof(f->text), "%s", sql->text);
	PQclear(res);
}

/* Run the whole script, one statement at a time, recording each failure. */
static void run_script(PGconn *conn, int use_send, failure out[NSTMT])
{
	md_script s;
	md_stmt st;
	md_error err;
	unsigned n = 0;
	int rc;

	memset(out, 0, NSTMT * sizeof(*out));
	md_error_clear(&err);
	md_script_init(&s, script, sizeof(script) - 1, "errpos.sql");
	while ((rc = md_script_next(&s, &st, &err)) == 1) {
		md_sql sql;
		failure *f;

		assert_true(st.index < NSTMT);
		f = &out[st.index];
		assert_int_equal(md_sql_render(&sql, &s, &st, lookup, NULL, &err), 0);
		send_one(conn, &sql, use_send, f);
		if (f->failed && f->position > 0) {
			f->off = md_sql_source_offset(&sql, f->position);
			md_script_position(script, sizeof(script) - 1, f->off, &f->line, &f->col);
		}
		md_sql_free(&sql);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, NSTMT);
}

static void check_failure(const failure *f, size_t want_off, const char *what)
{
	unsigned line, col;

	expected_pos(want_off, &line, &col);
	if (!f->failed || f->off != want_off || f->line != line || f->col != col)
		fail_msg("%s: want byte %zu = %u:%u, got %s position %ld -> byte %zu = %u:%u\n"
			 "  sent: %s", what, want_off, line, col, f->failed ? "error at" : "no error",
			 f->position, f->off, f->line, f->col, f->text);
	assert_string_equal(f->sqlstate, "42601"); /* syntax_error */
}

static void check_all(void **state, int use_send)
{
	pgtest_db *db = *state;
	failure f[NSTMT];
	unsigned i;

	run_script(db->conn, use_send, f);
	for (i = 0; i < NSTMT; i++) {
		int want = i == STMT_SYNTAX || i == STMT_AFTER_PH || i == STMT_BAD_VALUE;

		if (f[i].failed != want)
			fail_msg("statement %u %s", i, want ? "did not fail" : "failed");
	}
	/* the second comma of ", ," on line 3 of the statement */
	check_failure(&f[STMT_SYNTAX], marker("AS u, , 3", 6), "after multibyte characters");
	/* the ")" after two substituted placeholders */
	check_failure(&f[STMT_AFTER_PH], marker("AS e, )", 6), "after placeholders");
	/* inside the value of ${bad}: the placeholder itself */
	check_failure(&f[STMT_BAD_VALUE], marker("${bad}", 0), "inside a placeholder's value");
}

static void test_positions_pqexec(void **state)
{
	check_all(state, 0);
}

static void test_positions_pqsendquery(void **state)
{
	check_all(state, 1);
}

/* The markers are where this test thinks they are: line 3 of the statement
 * and after multibyte characters, and the engine agrees on the counting. */
static void test_expected_positions(void **state)
{
	size_t off = marker("AS u, , 3", 6);
	unsigned line, col, eline, ecol;

	(void)state;
	expected_pos(off, &line, &col);
	assert_int_equal(line, 7);                       /* statement line 3 */
	assert_true(col < off - marker("       'ünïcödé'", 0) + 1); /* multibyte */
	md_script_position(script, sizeof(script) - 1, off, &eline, &ecol);
	assert_int_equal(eline, line);
	assert_int_equal(ecol, col);
	assert_int_equal(script[off], ',');
	assert_int_equal(script[marker("AS e, )", 6)], ')');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expected_positions),
		cmocka_unit_test_setup_teardown(test_positions_pqexec, pgtest_db_setup,
						pgtest_db_teardown),
		cmocka_unit_test_setup_teardown(test_positions_pqsendquery, pgtest_db_setup,
						pgtest_db_teardown),
	};

	return cmocka_run_group_tests_name("errpos", tests, NULL, NULL);
}
