/* test_history.c - the history and event tables (src/history.c) and the
 * embedded bookkeeping schema (migrations/) on a real server. */
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
#include "history.h"
#include "../support/pgtest.h"

/* ---- helpers ------------------------------------------------------------------ */

typedef struct ctx {
	md_config *cfg;
	md_db *db;
} ctx;

/* Config through md_config_load: -d the test database, and an ini of the
 * test's own holding ini_text. */
static md_config *config_with(const pgtest_db *t, const char *ini_text)
{
	const char *tmp = getenv("MIGDECK_TEST_TMPDIR");
	char path[1024];
	md_config_opts opts;
	md_config *cfg = NULL;
	md_error err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.ini", tmp && *tmp ? tmp : ".", t->name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(ini_text ? ini_text : "# test_history\n", f);
	fclose(f);
	memset(&opts, 0, sizeof(opts));
	opts.config_path = path;
	opts.database = t->conninfo;
	if (md_config_load(&cfg, &opts, &err) != MD_OK)
		fail_msg("md_config_load: %s", err.msg);
	return cfg;
}

static void open_ctx(ctx *c, const pgtest_db *t, const char *ini_text)
{
	md_error err;

	c->cfg = config_with(t, ini_text);
	c->db = NULL;
	if (md_db_connect(&c->db, c->cfg, NULL, &err) != MD_OK)
		fail_msg("md_db_connect: %s", err.msg);
}

static void close_ctx(ctx *c)
{
	md_db_close(c->db);
	md_config_free(c->cfg);
}

static void ensure_ok(ctx *c)
{
	md_error err;

	if (md_history_ensure(c->db, c->cfg, &err) != MD_OK) {
		char text[3000];

		md_error_format(&err, text, sizeof(text));
		fail_msg("md_history_ensure: %s (%s)", text, err.detail);
	}
}

static int count(PGconn *conn, const char *sql)
{
	char *v = pgtest_value(conn, sql);
	int n = atoi(v);

	free(v);
	return n;
}

static void assert_value(PGconn *conn, const char *sql, const char *want)
{
	char *v = pgtest_value(conn, sql);

	if (strcmp(v, want) != 0) {
		char got[512];

		snprintf(got, sizeof(got), "%s", v);
		free(v);
		fail_msg("%s\n  gave \"%s\", want \"%s\"", sql, got, want);
	}
	free(v);
}

static md_apply_record apply_rec(const char *version)
{
	md_apply_record r;

	memset(&r, 0, sizeof(r));
	r.version = version;
	r.description = "add things";
	r.script = "20230601_add_things.sql";
	r.checksum = "0123456789abcdef0123456789abcdef01234567";
	r.kind = "versioned";
	r.applied_sql = "CREATE TABLE things (id int);\n";
	r.git_commit = "89abcdef0123456789abcdef0123456789abcdef";
	r.execution_ms = 12;
	r.success = 1;
	return r;
}

static void record_ok(ctx *c, const md_apply_record *r)
{
	md_error err;

	if (md_history_record_apply(c->db, c->cfg, r, &err) != MD_OK)
		fail_msg("md_history_record_apply: %s", err.msg);
}

/* The columns migdeck needs on the history table. */
static const char history_columns[] =
	"SELECT count(*) FROM information_schema.columns WHERE table_schema = '%s'"
	" AND table_name = '%s' AND column_name IN ('id', 'version', 'description',"
	" 'applied_at', 'is_active', 'rolled_back_at', 'script', 'checksum', 'kind',"
	" 'applied_by', 'os_user', 'client_host', 'git_commit', 'execution_ms', 'success',"
	" 'applied_sql')";

static int history_column_count(PGconn *conn, const char *schema, const char *table)
{
	char sql[1024];

	snprintf(sql, sizeof(sql), history_columns, schema, table);
	return count(conn, sql);
}

/* ---- ensure ------------------------------------------------------------------- */

static void test_ensure_creates(void **state)
{
	pgtest_db *t = *state;
	ctx c;

	open_ctx(&c, t, NULL);
	assert_true(md_embedded_count >= 1);
	assert_string_equal(md_embedded_migrations[0].name, "001_history.sql");
	assert_int_equal(strlen(md_embedded_migrations[0].sql), md_embedded_migrations[0].len);
	ensure_ok(&c);
	assert_int_equal(history_column_count(t->conn, "public", "schema_versions"), 16);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM information_schema.columns"
				" WHERE table_schema = 'public' AND table_name = 'schema_versions_events'"
				" AND column_name IN ('id', 'at', 'action', 'version', 'script',"
				" 'outcome', 'error', 'detail', 'duration_ms', 'db_user', 'os_user',"
				" 'client_host', 'git_commit')"),
			 13);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM public.schema_versions_migdeck"),
			 (int)md_embedded_count);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM public.schema_versions"), 0);
	/* version is unique; the transaction is closed */
	assert_true(pgtest_true(t->conn, "SELECT EXISTS (SELECT 1 FROM pg_index WHERE indrelid ="
				" 'public.schema_versions'::regclass AND indisunique AND indnatts = 1"
				" AND indkey[0] = 2)"));
	assert_int_equal(PQtransactionStatus(c.db->conn), PQTRANS_IDLE);
	close_ctx(&c);
}

static void test_ensure_twice_is_noop(void **state)
{
	pgtest_db *t = *state;
	char *before, *after;
	ctx c;

	open_ctx(&c, t, NULL);
	ensure_ok(&c);
	before = pgtest_value(t->conn, "SELECT string_agg(name || '@' || applied_at || '@' ||"
				  " xmin, ',' ORDER BY name) FROM schema_versions_migdeck");
	pgtest_exec(t->conn, "CREATE TABLE ddl_log (tag text)");
	pgtest_exec(t->conn, "CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql"
		    " AS $$ BEGIN INSERT INTO ddl_log VALUES (tg_tag); END $$");
	pgtest_exec(t->conn, "CREATE EVENT TRIGGER log_ddl ON ddl_command_start"
		    " EXECUTE FUNCTION log_ddl()");
	ensure_ok(&c);
	ensure_ok(&c);
	after = pgtest_value(t->conn, "SELECT string_agg(name || '@' || applied_at || '@' ||"
				 " xmin, ',' ORDER BY name) FROM schema_versions_migdeck");
	assert_string_equal(before, after);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM ddl_log"), 0);
	pgtest_exec(t->conn, "DROP EVENT TRIGGER log_ddl");
	free(before);
	free(after);
	close_ctx(&c);
}

/* The CRM seed's table: no id, no unique index, varchar versions. */
static const char crm_table[] =
	"CREATE TABLE schema_versions ("
	" version varchar(50) NOT NULL,"
	" description varchar(200),"
	" applied_at timestamp DEFAULT now(),"
	" is_active boolean DEFAULT true,"
	" rolled_back_at timestamp);"
	"INSERT INTO schema_versions VALUES"
	" ('20230615', 'second', '2023-06-15 10:00', true, NULL),"
	" ('20230601', 'first', '2023-06-01 10:00', true, NULL),"
	" ('20230701', 'third', '2023-07-01 10:00', false, '2023-07-02 09:00')";

static void test_ensure_adopts_crm_table(void **state)
{
	pgtest_db *t = *state;
	md_history *h = NULL;
	md_error err;
	ctx c;

	pgtest_exec(t->conn, crm_table);
	open_ctx(&c, t, NULL);

	/* before adoption: read as it is, missing columns NULL */
	assert_int_equal(md_history_load(c.db, c.cfg, &h, &err), MD_OK);
	assert_true(h->exists);
	assert_int_equal(h->n, 3);
	assert_string_equal(h->rows[0].version, "20230601");
	assert_string_equal(h->rows[1].version, "20230615");
	assert_string_equal(h->rows[2].version, "20230701");
	assert_int_equal(h->rows[0].id, 0);
	assert_null(h->rows[0].checksum);
	assert_null(h->rows[0].kind);
	assert_true(h->rows[0].success);
	assert_true(h->rows[0].is_active);
	assert_false(h->rows[2].is_active);
	assert_string_equal(h->rows[0].applied_at, "2023-06-01T10:00:00");
	assert_non_null(h->rows[2].rolled_back_at);
	md_history_free(h);

	ensure_ok(&c);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM schema_versions"), 3);
	assert_int_equal(history_column_count(t->conn, "public", "schema_versions"), 16);
	/* ids in the order the rows were applied; new rows continue after */
	assert_value(t->conn, "SELECT string_agg(version || '=' || id, ',' ORDER BY id)"
		     " FROM schema_versions", "20230601=1,20230615=2,20230701=3");
	assert_value(t->conn, "SELECT string_agg(description, ',' ORDER BY id) FROM"
		     " schema_versions", "first,second,third");
	assert_value(t->conn, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
		     " WHERE attrelid = 'schema_versions'::regclass AND attname = 'version'",
		     "character varying(50)");
	{
		md_apply_record r = apply_rec("20230801");

		record_ok(&c, &r);
	}
	assert_value(t->conn, "SELECT id FROM schema_versions WHERE version = '20230801'", "4");

	assert_int_equal(md_history_load(c.db, c.cfg, &h, &err), MD_OK);
	assert_int_equal(h->n, 4);
	assert_int_equal(h->rows[0].id, 1);
	assert_string_equal(h->rows[0].version, "20230601");
	assert_string_equal(h->rows[3].version, "20230801");
	assert_string_equal(h->rows[3].kind, "versioned");
	assert_false(h->rows[2].is_active);
	md_history_free(h);
	close_ctx(&c);
}

/* A CRM table with an id but duplicate versions: a clear error naming them,
 * and nothing changed. */
static void test_ensure_refuses_duplicates(void **state)
{
	pgtest_db *t = *state;
	char text[2048];
	md_error err;
	ctx c;

	pgtest_exec(t->conn, "CREATE TABLE schema_versions (id serial PRIMARY KEY,"
		    " version varchar(50), description text, applied_at timestamptz DEFAULT now(),"
		    " is_active boolean DEFAULT true, rolled_back_at timestamptz);"
		    "INSERT INTO schema_versions (version) VALUES ('1'), ('2'), ('2'), ('it''s'),"
		    " ('it''s'), ('3')");
	open_ctx(&c, t, NULL);
	assert_int_equal(md_history_ensure(c.db, c.cfg, &err), MD_ERR_DB);
	md_error_format(&err, text, sizeof(text));
	if (!strstr(err.msg, "duplicate versions: '2', 'it''s'") || !strstr(err.msg, "schema_versions"))
		fail_msg("unexpected message: %s", text);
	assert_non_null(strstr(text, "migdeck:001_history.sql:"));
	assert_true(err.line > 0);
	assert_non_null(strstr(err.hint, "one row per version"));
	assert_int_equal(PQtransactionStatus(c.db->conn), PQTRANS_IDLE);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM information_schema.columns"
				" WHERE table_name = 'schema_versions'"), 6);
	assert_false(pgtest_true(t->conn, "SELECT to_regclass('schema_versions_events') IS NOT NULL"));
	assert_false(pgtest_true(t->conn, "SELECT to_regclass('schema_versions_migdeck') IS NOT NULL"));
	close_ctx(&c);
}

/* ---- load ------------------------------------------------------------------------ */

static void test_load_without_table(void **state)
{
	pgtest_db *t = *state;
	md_history *h = NULL;
	md_error err;
	ctx c;

	open_ctx(&c, t, "[history]\nschema = nowhere\n");
	assert_int_equal(md_history_load(c.db, c.cfg, &h, &err), MD_OK);
	assert_non_null(h);
	assert_false(h->exists);
	assert_int_equal(h->n, 0);
	assert_null(h->rows);
	md_history_free(h);
	close_ctx(&c);
	open_ctx(&c, t, NULL);
	assert_int_equal(md_history_load(c.db, c.cfg, &h, &err), MD_OK);
	assert_false(h->exists);
	md_history_free(h);
	close_ctx(&c);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON"
				" n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog',"
				" 'information_schema', 'pg_toast')"), 0);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM pg_namespace WHERE nspname ="
				" 'nowhere'"), 0);
}

static void test_load_fields_and_speed(void **state)
{
	pgtest_db *t = *state;
	md_history *h = NULL;
	struct timespec a, b;
	md_error err;
	double ms;
	ctx c;

	open_ctx(&c, t, NULL);
	ensure_ok(&c);
	pgtest_exec(t->conn, "INSERT INTO schema_versions (version, description, script, checksum,"
		    " kind, os_user, client_host, git_commit, execution_ms, applied_sql)"
		    " SELECT lpad(i::text, 6, '0'), 'migration ' || i, lpad(i::text, 6, '0') ||"
		    " '_m.sql', md5(i::text) || 'abcdefgh', 'versioned', 'op', 'box', NULL, i,"
		    " repeat('x', 2000) FROM generate_series(1, 10000) i");
	pgtest_exec(t->conn, "UPDATE schema_versions SET success = false WHERE version = '000007'");
	pgtest_exec(t->conn, "ANALYZE schema_versions");
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(md_history_load(c.db, c.cfg, &h, &err), MD_OK);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	print_message("# md_history_load: 10000 rows in %.1f ms\n", ms);
	assert_int_equal(h->n, 10000);
	assert_true(h->exists);
	assert_string_equal(h->rows[0].version, "000001");
	assert_string_equal(h->rows[9999].version, "010000");
	assert_int_equal(h->rows[41].id, 42);
	assert_string_equal(h->rows[41].description, "migration 42");
	assert_string_equal(h->rows[41].script, "000042_m.sql");
	assert_string_equal(h->rows[41].kind, "versioned");
	assert_string_equal(h->rows[41].applied_by, "postgres");
	assert_string_equal(h->rows[41].os_user, "op");
	assert_string_equal(h->rows[41].client_host, "box");
	assert_null(h->rows[41].git_commit);
	assert_null(h->rows[41].rolled_back_at);
	assert_int_equal(h->rows[41].execution_ms, 42);
	assert_true(h->rows[41].success);
	assert_true(h->rows[41].is_active);
	assert_false(h->rows[6].success);
	assert_non_null(strchr(h->rows[0].applied_at, 'T')); /* ISO 8601 */
	md_history_free(h);
	close_ctx(&c);
}

/* ---- writing ----------------------------------------------------------------------- */

static void test_record_inside_rolled_back_tx(void **state)
{
	pgtest_db *t = *state;
	md_apply_record r = apply_rec("20230601");
	md_event ev;
	md_error err;
	ctx c;

	open_ctx(&c, t, NULL);
	ensure_ok(&c);
	memset(&ev, 0, sizeof(ev));
	ev.action = "apply";
	ev.version = "20230601";
	ev.script = r.script;
	ev.outcome = "ok";
	ev.duration_ms = 12;
	assert_int_equal(md_db_exec(c.db, "BEGIN", &err), MD_OK);
	record_ok(&c, &r);
	assert_int_equal(md_history_event(c.db, c.cfg, &ev, &err), MD_OK);
	assert_int_equal(md_db_exec(c.db, "ROLLBACK", &err), MD_OK);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM schema_versions"), 0);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM schema_versions_events"), 0);

	/* committed, the event has who, when and what */
	ev.error = "pending/x.sql:3:1: ERROR: nope";
	ev.detail = "dry run";
	ev.git_commit = r.git_commit;
	assert_int_equal(md_history_event(c.db, c.cfg, &ev, &err), MD_OK);
	assert_value(t->conn, "SELECT concat_ws('|', action, version, script, outcome, error,"
		     " detail, duration_ms, db_user, git_commit, os_user <> '', client_host <> '',"
		     " at <= now()) FROM schema_versions_events",
		     "apply|20230601|20230601_add_things.sql|ok|pending/x.sql:3:1: ERROR: nope|"
		     "dry run|12|postgres|89abcdef0123456789abcdef0123456789abcdef|t|t|t");
	close_ctx(&c);
}

/* A CRM script inserts its own row; migdeck's upsert completes it. */
static void test_record_after_script_insert(void **state)
{
	pgtest_db *t = *state;
	md_apply_record r = apply_rec("20230601");
	char host[256], want[512];
	md_error err;
	ctx c;

	open_ctx(&c, t, NULL);
	ensure_ok(&c);
	assert_int_equal(md_db_exec(c.db, "BEGIN; INSERT INTO schema_versions (version,"
				    " description) VALUES ('20230601', 'from the script')", &err),
			 MD_OK);
	r.description = NULL;
	record_ok(&c, &r);
	assert_int_equal(md_db_exec(c.db, "COMMIT", &err), MD_OK);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM schema_versions"), 1);
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(want, sizeof(want), "from the script|20230601_add_things.sql|"
		 "0123456789abcdef0123456789abcdef01234567|versioned|postgres|t|%s|"
		 "89abcdef0123456789abcdef0123456789abcdef|12|t|t", host);
	assert_value(t->conn, "SELECT concat_ws('|', description, script, checksum, kind,"
		     " applied_by, os_user <> '', client_host, git_commit, execution_ms, success,"
		     " is_active) FROM schema_versions", want);
	close_ctx(&c);
}

static void test_rollback_and_reapply(void **state)
{
	pgtest_db *t = *state;
	md_apply_record r = apply_rec("20230601");
	md_error err;
	ctx c;

	open_ctx(&c, t, NULL);
	ensure_ok(&c);
	record_ok(&c, &r);
	assert_int_equal(md_history_record_rollback(c.db, c.cfg, "20230601", &err), MD_OK);
	assert_value(t->conn, "SELECT concat_ws('|', is_active, rolled_back_at IS NOT NULL)"
		     " FROM schema_versions", "f|t");
	assert_int_equal(md_history_record_rollback(c.db, c.cfg, "19990101", &err),
			 MD_ERR_INVALID);
	assert_non_null(strstr(err.msg, "19990101"));

	/* applied again: the same row, active again */
	r.checksum = "fedcba9876543210fedcba9876543210fedcba98";
	record_ok(&c, &r);
	assert_value(t->conn, "SELECT concat_ws('|', count(*), bool_and(is_active),"
		     " bool_and(rolled_back_at IS NULL), min(checksum), min(id))"
		     " FROM schema_versions",
		     "1|t|t|fedcba9876543210fedcba9876543210fedcba98|1");

	/* a CRM script that records itself runs again after a rollback: its
	 * INSERT of the existing version updates the row (no unique violation) */
	assert_int_equal(md_history_record_rollback(c.db, c.cfg, "20230601", &err), MD_OK);
	assert_int_equal(md_db_exec(c.db, "BEGIN; INSERT INTO schema_versions (version,"
				    " description) VALUES ('20230601', 'again')", &err),
			 MD_OK);
	assert_value(c.db->conn, "SELECT concat_ws('|', count(*), bool_and(is_active),"
		     " bool_and(rolled_back_at IS NULL), min(description)) FROM schema_versions",
		     "1|t|t|again");
	record_ok(&c, &r);
	assert_int_equal(md_db_exec(c.db, "COMMIT", &err), MD_OK);
	assert_value(t->conn, "SELECT concat_ws('|', count(*), bool_and(is_active), min(kind))"
		     " FROM schema_versions", "1|t|versioned");
	close_ctx(&c);
}

static void test_delete_failed_and_checksum(void **state)
{
	pgtest_db *t = *state;
	md_apply_record ok = apply_rec("1"), bad1 = apply_rec("2"), bad2 = apply_rec("3");
	long long n = -1;
	md_error err;
	ctx c;

	open_ctx(&c, t, NULL);
	ensure_ok(&c);
	bad1.success = 0;
	bad2.success = 0;
	record_ok(&c, &ok);
	record_ok(&c, &bad1);
	record_ok(&c, &bad2);
	assert_value(t->conn, "SELECT string_agg(version || ':' || success, ',' ORDER BY id)"
		     " FROM schema_versions", "1:true,2:false,3:false");
	assert_int_equal(md_history_delete_failed(c.db, c.cfg, &n, &err), MD_OK);
	assert_int_equal(n, 2);
	assert_value(t->conn, "SELECT string_agg(version, ',') FROM schema_versions", "1");
	assert_int_equal(md_history_delete_failed(c.db, c.cfg, &n, &err), MD_OK);
	assert_int_equal(n, 0);

	assert_int_equal(md_history_set_checksum(c.db, c.cfg, "1",
						 "1111111111111111111111111111111111111111",
						 "SELECT 'realigned';", &err),
			 MD_OK);
	assert_value(t->conn, "SELECT checksum FROM schema_versions WHERE version = '1'",
		     "1111111111111111111111111111111111111111");
	assert_value(t->conn, "SELECT applied_sql FROM schema_versions WHERE version = '1'",
		     "SELECT 'realigned';");
	/* without a text, the recorded one stays */
	assert_int_equal(md_history_set_checksum(c.db, c.cfg, "1",
						 "2222222222222222222222222222222222222222", NULL,
						 &err),
			 MD_OK);
	assert_value(t->conn, "SELECT applied_sql FROM schema_versions WHERE version = '1'",
		     "SELECT 'realigned';");
	assert_int_equal(md_history_set_checksum(c.db, c.cfg, "9", "22", NULL, &err),
			 MD_ERR_INVALID);
	close_ctx(&c);
}

static void test_applied_sql(void **state)
{
	pgtest_db *t = *state;
	static const char text[] =
		"-- it's all here\r\nCREATE TABLE \"odd\"\"name\" (v text DEFAULT 'ü''\\n');\n"
		"INSERT INTO x VALUES ($1, $$dollar$$);\n\n\t  \n";
	md_apply_record r = apply_rec("5");
	char *got = (char *)1;
	md_error err;
	ctx c;

	open_ctx(&c, t, NULL);
	ensure_ok(&c);
	r.applied_sql = text;
	record_ok(&c, &r);
	assert_int_equal(md_history_applied_sql(c.db, c.cfg, "5", &got, &err), MD_OK);
	assert_non_null(got);
	assert_string_equal(got, text);
	free(got);
	got = (char *)1;
	assert_int_equal(md_history_applied_sql(c.db, c.cfg, "6", &got, &err), MD_OK);
	assert_null(got);
	r = apply_rec("7");
	r.applied_sql = NULL;
	record_ok(&c, &r);
	assert_int_equal(md_history_applied_sql(c.db, c.cfg, "7", &got, &err), MD_OK);
	assert_null(got);
	close_ctx(&c);
}

/* [history] names that need quotes: "Bookkeeping" schema, "My Table". */
static void test_custom_names(void **state)
{
	pgtest_db *t = *state;
	md_apply_record r = apply_rec("1.2.3");
	md_history *h = NULL;
	md_event ev;
	md_error err;
	char *sql;
	ctx c, other;

	open_ctx(&c, t, "[history]\nschema = Book keeping\ntable = My Table\n");
	assert_string_equal(c.cfg->history_table, "My Table");
	assert_int_equal(md_history_load(c.db, c.cfg, &h, &err), MD_OK);
	assert_false(h->exists);
	md_history_free(h);
	assert_int_equal(md_db_lock(c.db, c.cfg->history_schema, c.cfg->history_table, 0, &err),
			 MD_OK);
	ensure_ok(&c);
	assert_int_equal(history_column_count(t->conn, "Book keeping", "My Table"), 16);
	assert_true(pgtest_true(t->conn, "SELECT to_regclass('\"Book keeping\".\"My Table_events\"')"
				" IS NOT NULL AND to_regclass('\"Book keeping\".\"My Table_migdeck\"')"
				" IS NOT NULL"));
	assert_false(pgtest_true(t->conn, "SELECT to_regclass('public.schema_versions') IS NOT NULL"));
	record_ok(&c, &r);
	memset(&ev, 0, sizeof(ev));
	ev.action = "baseline";
	ev.outcome = "ok";
	assert_int_equal(md_history_event(c.db, c.cfg, &ev, &err), MD_OK);
	assert_int_equal(md_history_record_rollback(c.db, c.cfg, "1.2.3", &err), MD_OK);
	assert_int_equal(md_history_set_checksum(c.db, c.cfg, "1.2.3", "ab", NULL, &err), MD_OK);
	assert_int_equal(md_history_load(c.db, c.cfg, &h, &err), MD_OK);
	assert_true(h->exists);
	assert_int_equal(h->n, 1);
	assert_string_equal(h->rows[0].version, "1.2.3");
	assert_string_equal(h->rows[0].checksum, "ab");
	assert_false(h->rows[0].is_active);
	md_history_free(h);
	assert_int_equal(md_history_applied_sql(c.db, c.cfg, "1.2.3", &sql, &err), MD_OK);
	assert_string_equal(sql, r.applied_sql);
	free(sql);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM \"Book keeping\".\"My Table_events\""),
			 1);

	/* a second runner on the same table is locked out */
	open_ctx(&other, t, "[history]\nschema = Book keeping\ntable = My Table\n");
	assert_int_equal(md_db_lock(other.db, other.cfg->history_schema, other.cfg->history_table,
				    0, &err), MD_ERR_LOCKED);
	close_ctx(&other);
	close_ctx(&c);
}

/* A table name long enough that the suffixes must shorten it. */
static void test_long_table_name(void **state)
{
	pgtest_db *t = *state;
	ctx c;

	open_ctx(&c, t, "[history]\n"
		 "table = a_very_long_history_table_name_that_is_exactly_sixty_three_byte\n");
	assert_int_equal(strlen(c.cfg->history_table), 63);
	ensure_ok(&c);
	ensure_ok(&c);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM pg_class WHERE relname IN"
				" ('a_very_long_history_table_name_that_is_exactly_sixty_three_byte',"
				" 'a_very_long_history_table_name_that_is_exactly_sixty_thr_events',"
				" 'a_very_long_history_table_name_that_is_exactly_sixty_th_migdeck')"),
			 3);
	close_ctx(&c);

	/* shortened at a character boundary: "x" and 31 two-byte characters */
	open_ctx(&c, t, "[history]\ntable = xüüüüüüüüüüüüüüüü"
		 "üüüüüüüüüüüüüüü\n");
	assert_int_equal(strlen(c.cfg->history_table), 63);
	ensure_ok(&c);
	assert_int_equal(count(t->conn, "SELECT count(*) FROM pg_class WHERE relname IN"
				" ('x' || repeat('ü', 27) || '_events',"
				"  'x' || repeat('ü', 27) || '_migdeck')"),
			 2);
	close_ctx(&c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, pgtest_db_setup, pgtest_db_teardown)
	const struct CMUnitTest tests[] = {
		T(test_ensure_creates),
		T(test_ensure_twice_is_noop),
		T(test_ensure_adopts_crm_table),
		T(test_ensure_refuses_duplicates),
		T(test_load_without_table),
		T(test_load_fields_and_speed),
		T(test_record_inside_rolled_back_tx),
		T(test_record_after_script_insert),
		T(test_rollback_and_reapply),
		T(test_delete_failed_and_checksum),
		T(test_applied_sql),
		T(test_custom_names),
		T(test_long_table_name),
	};
#undef T

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
