/* Unit tests of the SQL script engine: splitting, flags, positions,
 * placeholders, tokens and errors.  Pure logic: no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

#define MAXS 32

typedef struct split {
	int n;
	char *text[MAXS];
	unsigned flags[MAXS];
	unsigned line[MAXS], col[MAXS];
	md_stmt st[MAXS];
	int rc;          /* last md_script_next result */
	md_error err;
} split;

static void split_free(split *sp)
{
	int i;
	for (i = 0; i < sp->n; i++)
		free(sp->text[i]);
}

static void do_split(split *sp, const char *sql)
{
	md_script s;
	md_stmt st;
	size_t len = strlen(sql);

	memset(sp, 0, sizeof(*sp));
	md_script_init(&s, sql, len, "t.sql");
	while ((sp->rc = md_script_next(&s, &st, &sp->err)) > 0) {
		assert_true(sp->n < MAXS);
		assert_true(st.start <= st.head);
		assert_true(st.end <= len);
		sp->text[sp->n] = strndup(sql + st.start, st.end - st.start);
		sp->flags[sp->n] = st.flags;
		sp->line[sp->n] = st.line;
		sp->col[sp->n] = st.col;
		sp->st[sp->n] = st;
		sp->n++;
	}
}

/* Split sql and expect exactly the NULL-terminated list of texts. */
static void expect_texts(const char *sql, ...)
{
	split sp;
	va_list ap;
	const char *want;
	int i = 0;

	do_split(&sp, sql);
	assert_int_equal(sp.rc, 0);
	va_start(ap, sql);
	while ((want = va_arg(ap, const char *)) != NULL) {
		assert_true(i < sp.n);
		assert_string_equal(sp.text[i], want);
		i++;
	}
	va_end(ap);
	assert_int_equal(sp.n, i);
	split_free(&sp);
}

static unsigned flags_of(const char *sql)
{
	split sp;
	unsigned f;

	do_split(&sp, sql);
	assert_int_equal(sp.rc, 0);
	assert_int_equal(sp.n, 1);
	f = sp.flags[0];
	split_free(&sp);
	return f;
}

static void test_simple(void **state)
{
	(void)state;
	expect_texts("SELECT 1; SELECT 2;\nSELECT 3;", "SELECT 1;", "SELECT 2;", "SELECT 3;", NULL);
	expect_texts("", NULL);
	expect_texts("  \n\t -- only a comment\n", NULL);
}

static void test_single_quotes(void **state)
{
	(void)state;
	expect_texts("INSERT INTO t VALUES ('a;b', 'it''s; fine');\nSELECT 'x';",
		     "INSERT INTO t VALUES ('a;b', 'it''s; fine');", "SELECT 'x';", NULL);
	/* standard_conforming_strings: a backslash is no escape in '' */
	expect_texts("SELECT 'C:\\'; SELECT 2;", "SELECT 'C:\\';", "SELECT 2;", NULL);
}

static void test_e_strings(void **state)
{
	(void)state;
	expect_texts("SELECT E'it\\'s; \\\\'; SELECT e'a\\';b';",
		     "SELECT E'it\\'s; \\\\';", "SELECT e'a\\';b';", NULL);
	/* the E must start the token: "type'...'" is an identifier then a string */
	expect_texts("SELECT some'x\\'; SELECT 1;", "SELECT some'x\\';", "SELECT 1;", NULL);
}

static void test_unicode_and_bit_strings(void **state)
{
	(void)state;
	expect_texts("SELECT U&'d\\0061t;a'; SELECT U&\"d;x\" FROM t;",
		     "SELECT U&'d\\0061t;a';", "SELECT U&\"d;x\" FROM t;", NULL);
	expect_texts("SELECT B'10;', X'1F;', N'n;'; SELECT 2;",
		     "SELECT B'10;', X'1F;', N'n;';", "SELECT 2;", NULL);
}

static void test_quoted_identifiers(void **state)
{
	(void)state;
	expect_texts("CREATE TABLE \"a;b\"\"c\" (\"x;\" int); SELECT 1;",
		     "CREATE TABLE \"a;b\"\"c\" (\"x;\" int);", "SELECT 1;", NULL);
}

static void test_dollar_quotes(void **state)
{
	(void)state;
	expect_texts("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 2;",
		     "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;",
		     "SELECT 2;", NULL);
	/* a tagged quote with a different tag nested inside */
	expect_texts("DO $fn$ BEGIN EXECUTE $q$ SELECT ';'; $q$; END; $fn$; SELECT 3;",
		     "DO $fn$ BEGIN EXECUTE $q$ SELECT ';'; $q$; END; $fn$;", "SELECT 3;", NULL);
	/* $$ inside $fn$ does not close it */
	expect_texts("DO $fn$ x $$ ; $$ y; $fn$;", "DO $fn$ x $$ ; $$ y; $fn$;", NULL);
	/* $1 is a parameter, and an identifier may contain '$' */
	expect_texts("PREPARE p AS SELECT $1; SELECT a$b$ FROM t;",
		     "PREPARE p AS SELECT $1;", "SELECT a$b$ FROM t;", NULL);
}

static void test_comments(void **state)
{
	(void)state;
	/* leading -- comments are dropped, as psql does */
	expect_texts("-- header; not a statement\nSELECT 1; -- trailing; comment\nSELECT 2;",
		     "SELECT 1;", "SELECT 2;", NULL);
	/* nested block comments with semicolons; a leading block comment is kept */
	expect_texts("/* a; /* b; */ c; */ SELECT 1; SELECT /* ; */ 2;",
		     "/* a; /* b; */ c; */ SELECT 1;", "SELECT /* ; */ 2;", NULL);
	/* -- inside a statement is kept */
	expect_texts("SELECT 1 -- one;\n + 1;", "SELECT 1 -- one;\n + 1;", NULL);
	/* an operator stops where a comment starts */
	expect_texts("SELECT 2*--x;\n3;", "SELECT 2*--x;\n3;", NULL);
}

static void test_parentheses(void **state)
{
	(void)state;
	expect_texts("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); "
		     "UPDATE b SET x = 1;); SELECT 1;",
		     "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); "
		     "UPDATE b SET x = 1;);",
		     "SELECT 1;", NULL);
	/* an unbalanced ')' never makes the depth negative */
	expect_texts("SELECT 1); SELECT 2;", "SELECT 1);", "SELECT 2;", NULL);
}

static void test_begin_atomic(void **state)
{
	(void)state;
	expect_texts("CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\n"
		     "BEGIN ATOMIC\n  SELECT 1;\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\nEND;\n"
		     "SELECT f(1);",
		     "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\n"
		     "BEGIN ATOMIC\n  SELECT 1;\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\nEND;",
		     "SELECT f(1);", NULL);
	expect_texts("CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t "
		     "VALUES (1); END; CALL p();",
		     "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t "
		     "VALUES (1); END;",
		     "CALL p();", NULL);
	/* BEGIN as a transaction is an ordinary statement */
	expect_texts("BEGIN; CREATE TABLE t (a int); COMMIT;", "BEGIN;",
		     "CREATE TABLE t (a int);", "COMMIT;", NULL);
}

static void test_copy_from_stdin(void **state)
{
	const char *sql = "COPY t (a, b) FROM STDIN;\n1\tx;y\n2\t'q\n\\.\nSELECT 1;\n";
	split sp;

	(void)state;
	do_split(&sp, sql);
	assert_int_equal(sp.rc, 0);
	assert_int_equal(sp.n, 2);
	assert_string_equal(sp.text[0], "COPY t (a, b) FROM STDIN;");
	assert_true(sp.flags[0] & MD_STMT_COPY_DATA);
	assert_int_equal(sp.st[0].data_end - sp.st[0].data_start, strlen("1\tx;y\n2\t'q\n"));
	assert_memory_equal(sql + sp.st[0].data_start, "1\tx;y\n2\t'q\n", strlen("1\tx;y\n2\t'q\n"));
	assert_string_equal(sp.text[1], "SELECT 1;");
	assert_int_equal(sp.line[1], 5);
	split_free(&sp);

	/* data to the end of the file without a \. line */
	do_split(&sp, "copy t from stdin with (format csv);\na,b\n");
	assert_int_equal(sp.rc, 0);
	assert_int_equal(sp.n, 1);
	assert_true(sp.flags[0] & MD_STMT_COPY_DATA);
	split_free(&sp);

	/* COPY ... FROM a file has no inline data */
	assert_false(flags_of("COPY t FROM '/tmp/x.csv';") & MD_STMT_COPY_DATA);

	/* a statement after the COPY on the same line is refused, not lost */
	do_split(&sp, "COPY t FROM STDIN; SELECT 1;\n1\n\\.\n");
	assert_true(sp.rc < 0);
	assert_int_equal(sp.err.line, 1);
	assert_int_equal(sp.err.col, 20);
	split_free(&sp);
}

static void test_no_trailing_semicolon(void **state)
{
	split sp;
	(void)state;
	do_split(&sp, "SELECT 1;\nSELECT 2\n  FROM t\n\n");
	assert_int_equal(sp.rc, 0);
	assert_int_equal(sp.n, 2);
	assert_string_equal(sp.text[1], "SELECT 2\n  FROM t");
	assert_true(sp.flags[1] & MD_STMT_NO_SEMICOLON);
	assert_false(sp.flags[0] & MD_STMT_NO_SEMICOLON);
	split_free(&sp);
}

static void test_flags_no_tx(void **state)
{
	static const char *const yes[] = {
		"CREATE INDEX CONCURRENTLY i ON t (a);",
		"create unique index concurrently i on t (a);",
		"DROP INDEX CONCURRENTLY IF EXISTS i;",
		"REINDEX INDEX CONCURRENTLY i;",
		"REINDEX (VERBOSE) TABLE CONCURRENTLY t;",
		"REINDEX SCHEMA s;",
		"REINDEX DATABASE d;",
		"REINDEX SYSTEM d;",
		"ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;",
		"VACUUM (ANALYZE) t;",
		"vacuum;",
		"CREATE DATABASE d;",
		"DROP DATABASE IF EXISTS d;",
		"CREATE TABLESPACE ts LOCATION '/x';",
		"DROP TABLESPACE ts;",
		"CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p;",
		"DROP SUBSCRIPTION s;",
		"ALTER SYSTEM SET work_mem = '8MB';",
		"DISCARD ALL;",
		"COMMIT PREPARED 'x';",
	};
	static const char *const no[] = {
		"CREATE INDEX i ON t (a);",
		"REINDEX INDEX i;",
		"ALTER TABLE p DETACH PARTITION p1;",
		"ALTER TABLE t ADD COLUMN concurrently int;",
		"CREATE TABLE vacuum_log (a int);",
		"SELECT 'VACUUM';",
		"DISCARD PLANS;",
		"ALTER DATABASE d SET x = 1;",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		unsigned f = flags_of(yes[i]);
		if (!(f & MD_STMT_NO_TX))
			fail_msg("not flagged no-transaction: %s", yes[i]);
		assert_true(md_stmt_needs_autocommit(f, 150000));
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		unsigned f = flags_of(no[i]);
		if (f & MD_STMT_NO_TX)
			fail_msg("wrongly flagged no-transaction: %s", no[i]);
		assert_false(md_stmt_needs_autocommit(f, 150000));
	}
}

static void test_flags_enum_add_value(void **state)
{
	unsigned f;
	(void)state;
	f = flags_of("ALTER TYPE status ADD VALUE 'closed' AFTER 'open';");
	assert_true(f & MD_STMT_ENUM_ADD_VALUE);
	assert_true(md_stmt_needs_autocommit(f, 110005));
	assert_false(md_stmt_needs_autocommit(f, 120000));
	assert_false(flags_of("ALTER TYPE t ADD ATTRIBUTE value int;") & MD_STMT_ENUM_ADD_VALUE);
}

static void test_flags_tx_control(void **state)
{
	static const char *const yes[] = {
		"BEGIN;", "begin transaction isolation level serializable;",
		"START TRANSACTION;", "COMMIT;", "END;", "ROLLBACK;", "ABORT;",
		"SAVEPOINT a;", "RELEASE SAVEPOINT a;", "ROLLBACK TO SAVEPOINT a;",
		"PREPARE TRANSACTION 'x';",
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!(flags_of(yes[i]) & MD_STMT_TX_CONTROL))
			fail_msg("not flagged transaction-control: %s", yes[i]);
	assert_false(flags_of("DO $$ BEGIN PERFORM 1; END $$;") & MD_STMT_TX_CONTROL);
	assert_false(flags_of("CREATE TABLE commit_log (a int);") & MD_STMT_TX_CONTROL);
	assert_false(flags_of("PREPARE q AS SELECT 1;") & MD_STMT_TX_CONTROL);
}

static void test_meta_commands(void **state)
{
	split sp;
	(void)state;
	do_split(&sp, "SELECT 1;\n\\set ON_ERROR_STOP on\n  \\i other.sql\nSELECT 2;\n");
	assert_int_equal(sp.rc, 0);
	assert_int_equal(sp.n, 4);
	assert_true(sp.flags[1] & MD_STMT_META);
	assert_string_equal(sp.text[1], "\\set ON_ERROR_STOP on");
	assert_int_equal(sp.line[1], 2);
	assert_int_equal(sp.col[1], 1);
	assert_true(sp.flags[2] & MD_STMT_META);
	assert_int_equal(sp.line[2], 3);
	assert_int_equal(sp.col[2], 3);
	assert_false(sp.flags[3] & MD_STMT_META);
	split_free(&sp);

	/* a backslash inside a quote is no meta-command */
	expect_texts("SELECT '\\i x'; SELECT E'\\\\';", "SELECT '\\i x';", "SELECT E'\\\\';", NULL);
	/* psql's \; does not end the statement */
	expect_texts("SELECT 1\\; SELECT 2;", "SELECT 1\\; SELECT 2;", NULL);
}

static void test_positions(void **state)
{
	split sp;
	unsigned line, col;
	const char *sql = "-- c\n  SELECT 'ü'; /* x */ SELECT\n1;\n\tüß SELECT";
	(void)state;
	do_split(&sp, sql);
	assert_int_equal(sp.rc, 0);
	assert_int_equal(sp.n, 3);
	assert_int_equal(sp.line[0], 2);
	assert_int_equal(sp.col[0], 3);
	/* the second statement's text starts at its block comment, its
	 * position is that of SELECT, counted in characters */
	assert_string_equal(sp.text[1], "/* x */ SELECT\n1;");
	assert_int_equal(sp.line[1], 2);
	assert_int_equal(sp.col[1], 23);
	assert_int_equal(sp.line[2], 4);
	assert_int_equal(sp.col[2], 2);
	md_script_position(sql, strlen(sql), (size_t)(strstr(sql, "ß") - sql), &line, &col);
	assert_int_equal(line, 4);
	assert_int_equal(col, 3);
	split_free(&sp);
}

static void expect_error(const char *sql, unsigned line, unsigned col, const char *what)
{
	split sp;
	do_split(&sp, sql);
	assert_int_equal(sp.rc, MD_ERR_SYNTAX);
	assert_int_equal(sp.err.line, line);
	assert_int_equal(sp.err.col, col);
	assert_string_equal(sp.err.file, "t.sql");
	if (!strstr(sp.err.msg, what))
		fail_msg("message '%s' does not mention '%s'", sp.err.msg, what);
	split_free(&sp);
}

static void test_unterminated(void **state)
{
	(void)state;
	expect_error("SELECT 1;\nSELECT 'abc;\n", 2, 8, "quoted string");
	expect_error("SELECT E'abc\\';", 1, 8, "quoted string");
	expect_error("SELECT \"abc", 1, 8, "quoted identifier");
	expect_error("SELECT 1; /* a /* b */ ;", 1, 11, "comment");
	expect_error("DO $x$ BEGIN END; $y$;", 1, 4, "dollar-quoted");
	expect_error("SELECT U&'x", 1, 8, "quoted string");
	/* every prefix of a tricky script ends in a clean result or error */
	{
		const char *s = "SELECT $a$x$a$, E'\\'', /* /* */ */ \"q\"\"\", 'z''' -- c\n;";
		size_t n, len = strlen(s);
		for (n = 0; n <= len; n++) {
			char *cut = strndup(s, n);
			split sp;
			do_split(&sp, cut);
			assert_true(sp.rc == 0 || sp.rc == MD_ERR_SYNTAX);
			split_free(&sp);
			free(cut);
		}
	}
}

static const char *lookup(const char *name, void *payload)
{
	(void)payload;
	if (strcmp(name, "schema") == 0)
		return "app";
	if (strcmp(name, "owner") == 0)
		return "bob";
	return NULL;
}

static void test_placeholders(void **state)
{
	const char *sql = "-- ${undefined} in a comment is ignored\n"
			  "CREATE TABLE ${schema}.t (a text DEFAULT '${owner}');\n"
			  "DO $$ BEGIN RAISE NOTICE '${schema}'; END $$;\n"
			  "SELECT '${nope}';";
	md_script s;
	md_stmt st;
	md_sql out;
	md_error err;

	(void)state;
	md_script_init(&s, sql, strlen(sql), "p.sql");
	assert_int_equal(md_script_next(&s, &st, &err), 1);
	assert_true(st.flags & MD_STMT_PLACEHOLDERS);
	assert_int_equal(md_sql_render(&out, &s, &st, lookup, NULL, &err), 0);
	assert_string_equal(out.text, "CREATE TABLE app.t (a text DEFAULT 'bob');");
	/* position 14 (1-based, characters) is "app" -> the placeholder */
	assert_int_equal(md_sql_source_offset(&out, 14), (size_t)(strstr(sql, "${schema}") - sql));
	/* position 18 is "t" after "app." -> the t in the source */
	assert_int_equal(md_sql_source_offset(&out, 18),
			 (size_t)(strstr(sql, "}.t") - sql) + 2);
	md_sql_free(&out);

	assert_int_equal(md_script_next(&s, &st, &err), 1);
	assert_int_equal(md_sql_render(&out, &s, &st, lookup, NULL, &err), 0);
	assert_string_equal(out.text, "DO $$ BEGIN RAISE NOTICE 'app'; END $$;");
	md_sql_free(&out);

	assert_int_equal(md_script_next(&s, &st, &err), 1);
	assert_int_equal(md_sql_render(&out, &s, &st, lookup, NULL, &err), MD_ERR_SYNTAX);
	assert_int_equal(err.line, 4);
	assert_int_equal(err.col, 9);
	assert_non_null(strstr(err.msg, "${nope}"));
	assert_null(out.text);

	/* no placeholder at all: the text is the statement */
	md_script_init(&s, "SELECT 1;", 9, NULL);
	assert_int_equal(md_script_next(&s, &st, &err), 1);
	assert_false(st.flags & MD_STMT_PLACEHOLDERS);
	assert_int_equal(md_sql_render(&out, &s, &st, NULL, NULL, &err), 0);
	assert_string_equal(out.text, "SELECT 1;");
	assert_int_equal(md_sql_source_offset(&out, 8), 7);
	md_sql_free(&out);
}

static void test_render_psql_escape(void **state)
{
	const char *sql = "SELECT 1\\; SELECT 2;";
	md_script s;
	md_stmt st;
	md_sql out;
	md_error err;
	(void)state;
	md_script_init(&s, sql, strlen(sql), NULL);
	assert_int_equal(md_script_next(&s, &st, &err), 1);
	assert_int_equal(md_sql_render(&out, &s, &st, NULL, NULL, &err), 0);
	assert_string_equal(out.text, "SELECT 1; SELECT 2;");
	/* "SELECT 2" in the text sent maps back past the backslash */
	assert_int_equal(md_sql_source_offset(&out, 11), (size_t)(strstr(sql, "SELECT 2") - sql));
	md_sql_free(&out);
}

/* psql skips empty lines outside quotes and comments; so does the text sent */
static void test_render_drops_empty_lines(void **state)
{
	const char *sql = "SELECT 1,\n\n\n  2, '\n\n', /* \n\n */\n \n\nx;";
	md_script s;
	md_stmt st;
	md_sql out;
	md_error err;
	(void)state;
	md_script_init(&s, sql, strlen(sql), NULL);
	assert_int_equal(md_script_next(&s, &st, &err), 1);
	assert_int_equal(md_sql_render(&out, &s, &st, NULL, NULL, &err), 0);
	assert_string_equal(out.text, "SELECT 1,\n  2, '\n\n', /* \n\n */\n \nx;");
	/* the x (character 33 of the text sent) maps to the x of the file */
	assert_int_equal(md_sql_source_offset(&out, 33), (size_t)(strchr(sql, 'x') - sql));
	md_sql_free(&out);
}

static void test_multibyte_error_position(void **state)
{
	const char *sql = "SELECT 'ünï', ${schema}, x;";
	md_script s;
	md_stmt st;
	md_sql out;
	md_error err;
	(void)state;
	md_script_init(&s, sql, strlen(sql), NULL);
	assert_int_equal(md_script_next(&s, &st, &err), 1);
	assert_int_equal(md_sql_render(&out, &s, &st, lookup, NULL, &err), 0);
	assert_string_equal(out.text, "SELECT 'ünï', app, x;");
	/* character 20 is the x: after 3 two-byte letters and the value */
	assert_int_equal(md_sql_source_offset(&out, 20), (size_t)(strstr(sql, "x;") - sql));
	md_sql_free(&out);
}

static void test_empty_statements(void **state)
{
	split sp;
	(void)state;
	do_split(&sp, "SELECT 1;;\n/* only a comment */");
	assert_int_equal(sp.rc, 0);
	assert_int_equal(sp.n, 3);
	assert_string_equal(sp.text[1], ";");
	assert_true(sp.flags[1] & MD_STMT_EMPTY);
	assert_string_equal(sp.text[2], "/* only a comment */");
	assert_true(sp.flags[2] & MD_STMT_EMPTY);
	assert_false(sp.flags[0] & MD_STMT_EMPTY);
	split_free(&sp);
}

/* Tokens: contiguous, cover the buffer, and have the right kinds. */
static void test_tokens(void **state)
{
	const char *sql = "SELECT \"Q\", e'x', $t$b$t$, 42, 1.5e3, $1, ${ph} -- c\n"
			  "/* b */ FROM tab WHERE a::int >= 2;\n\\echo hi";
	static const md_tok_kind want[] = {
		MD_TOK_KEYWORD, MD_TOK_SPACE, MD_TOK_QIDENT, MD_TOK_PUNCT, MD_TOK_SPACE,
		MD_TOK_STRING, MD_TOK_PUNCT, MD_TOK_SPACE, MD_TOK_DOLLAR, MD_TOK_PUNCT,
		MD_TOK_SPACE, MD_TOK_NUMBER, MD_TOK_PUNCT, MD_TOK_SPACE, MD_TOK_NUMBER,
		MD_TOK_PUNCT, MD_TOK_SPACE, MD_TOK_PARAM, MD_TOK_PUNCT, MD_TOK_SPACE,
		MD_TOK_PLACEHOLDER, MD_TOK_SPACE, MD_TOK_COMMENT, MD_TOK_SPACE,
		MD_TOK_COMMENT, MD_TOK_SPACE, MD_TOK_KEYWORD, MD_TOK_SPACE, MD_TOK_IDENT,
		MD_TOK_SPACE, MD_TOK_KEYWORD, MD_TOK_SPACE, MD_TOK_IDENT, MD_TOK_OPERATOR,
		MD_TOK_KEYWORD, MD_TOK_SPACE, MD_TOK_OPERATOR, MD_TOK_SPACE, MD_TOK_NUMBER,
		MD_TOK_PUNCT, MD_TOK_SPACE, MD_TOK_META, MD_TOK_EOF
	};
	md_lexer lx;
	md_token tok;
	size_t i = 0, pos = 0;

	(void)state;
	md_lexer_init(&lx, sql, strlen(sql), 0);
	for (;;) {
		md_tok_kind k = md_lexer_next(&lx, &tok);
		assert_true(i < sizeof(want) / sizeof(want[0]));
		if (k != want[i])
			fail_msg("token %zu '%.*s': got %s, want %s", i, (int)(tok.end - tok.start),
				 sql + tok.start, md_tok_kind_name(k), md_tok_kind_name(want[i]));
		assert_int_equal(tok.start, pos);
		pos = tok.end;
		i++;
		if (k == MD_TOK_EOF)
			break;
		assert_true(tok.end > tok.start);
	}
	assert_int_equal(pos, strlen(sql));
	assert_string_equal(md_tok_kind_name(MD_TOK_KEYWORD), "keyword");
	assert_true(md_is_keyword("select", 6));
	assert_true(md_is_keyword("CONCURRENTLY", 12));
	assert_false(md_is_keyword("tickets", 7));
}

/* With placeholders on, strings and dollar bodies split around ${name}. */
static void test_tokens_placeholders_in_strings(void **state)
{
	const char *sql = "'a${x}b' $$c${y}${z}$$ E'\\${n}' '${'";
	static const struct { md_tok_kind k; const char *text; } want[] = {
		{ MD_TOK_STRING, "'a" }, { MD_TOK_PLACEHOLDER, "${x}" }, { MD_TOK_STRING, "b'" },
		{ MD_TOK_SPACE, " " }, { MD_TOK_DOLLAR, "$$c" }, { MD_TOK_PLACEHOLDER, "${y}" },
		{ MD_TOK_PLACEHOLDER, "${z}" }, { MD_TOK_DOLLAR, "$$" }, { MD_TOK_SPACE, " " },
		{ MD_TOK_STRING, "E'\\${n}'" }, { MD_TOK_SPACE, " " }, { MD_TOK_STRING, "'${'" },
	};
	md_lexer lx;
	md_token tok;
	size_t i;

	(void)state;
	md_lexer_init(&lx, sql, strlen(sql), 1);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		md_tok_kind k = md_lexer_next(&lx, &tok);
		char got[64];
		snprintf(got, sizeof(got), "%.*s", (int)(tok.end - tok.start), sql + tok.start);
		if (k != want[i].k || strcmp(got, want[i].text) != 0)
			fail_msg("token %zu: got %s '%s', want %s '%s'", i, md_tok_kind_name(k), got,
				 md_tok_kind_name(want[i].k), want[i].text);
	}
	assert_int_equal(md_lexer_next(&lx, &tok), MD_TOK_EOF);
}

/* An unterminated string stays an error when a placeholder splits it
 * (found by the fuzzer: tests/fuzz/crashes/). */
static void test_tokens_placeholder_unterminated(void **state)
{
	static const char *const inputs[] = { "SELECT '${a}", "$$${e}", "SELECT E'x${a}\\'" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		md_lexer lx;
		md_token tok;
		md_tok_kind k, last = MD_TOK_EOF;
		size_t len = strlen(inputs[i]);

		md_lexer_init(&lx, inputs[i], len, 1);
		while ((k = md_lexer_next(&lx, &tok)) != MD_TOK_EOF)
			last = k;
		if (last != MD_TOK_ERROR)
			fail_msg("'%s': last token %s, want error", inputs[i], md_tok_kind_name(last));
		assert_int_equal(tok.start, len);
	}
}

static void test_flags_text(void **state)
{
	char buf[128];
	(void)state;
	md_stmt_flags_text(MD_STMT_NO_TX | MD_STMT_COPY_DATA, buf, sizeof(buf));
	assert_string_equal(buf, "no-transaction,copy-data");
	md_stmt_flags_text(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_single_quotes),
		cmocka_unit_test(test_e_strings),
		cmocka_unit_test(test_unicode_and_bit_strings),
		cmocka_unit_test(test_quoted_identifiers),
		cmocka_unit_test(test_dollar_quotes),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_parentheses),
		cmocka_unit_test(test_begin_atomic),
		cmocka_unit_test(test_copy_from_stdin),
		cmocka_unit_test(test_no_trailing_semicolon),
		cmocka_unit_test(test_flags_no_tx),
		cmocka_unit_test(test_flags_enum_add_value),
		cmocka_unit_test(test_flags_tx_control),
		cmocka_unit_test(test_meta_commands),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_render_psql_escape),
		cmocka_unit_test(test_render_drops_empty_lines),
		cmocka_unit_test(test_multibyte_error_position),
		cmocka_unit_test(test_empty_statements),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_tokens_placeholders_in_strings),
		cmocka_unit_test(test_tokens_placeholder_unterminated),
		cmocka_unit_test(test_flags_text),
	};
	return cmocka_run_group_tests_name("script", tests, NULL, NULL);
}
