/* Pure logic of adoption (issue 7), no database: Java properties, JDBC URLs
 * to libpq conninfo, golang-migrate names, and the adoption plan from
 * foreign rows built here (Flyway's SQL / UNDO_SQL / DELETE / SCHEMA /
 * BASELINE rows, golang-migrate's one row, dbmate's rows) against files in
 * a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adopt.h"
#include "flyway.h"
#include "flywayconf.h"
#include "workspace.h"

/* ---- properties ----------------------------------------------------------------- */

static void test_properties(void **state)
{
	static const char text[] =
		"# comment\n"
		"! another\n"
		"  flyway.url = jdbc:postgresql://h/db\n"
		"flyway.user:alice\n"
		"flyway.table fw\n"
		"flyway.placeholders.x=a\\tb\\u00e9\\\\\n"
		"flyway.long = one \\\n"
		"     two\r\n"
		"key\\ with\\=sep = v\n"
		"empty=\n";
	md_property *p = NULL;
	long n;

	(void)state;
	n = md_properties_parse(text, sizeof(text) - 1, &p);
	assert_int_equal(n, 7);
	assert_string_equal(p[0].key, "flyway.url");
	assert_string_equal(p[0].value, "jdbc:postgresql://h/db");
	assert_int_equal(p[0].line, 3);
	assert_int_equal(p[0].col, 16);
	assert_string_equal(p[1].key, "flyway.user");
	assert_string_equal(p[1].value, "alice");
	assert_string_equal(p[2].key, "flyway.table");
	assert_string_equal(p[2].value, "fw");
	assert_string_equal(p[3].value, "a\tb\xc3\xa9\\");
	assert_string_equal(p[4].key, "flyway.long");
	assert_string_equal(p[4].value, "one two");
	assert_string_equal(p[5].key, "key with=sep");
	assert_string_equal(p[5].value, "v");
	assert_int_equal(p[5].line, 9);
	assert_string_equal(p[6].key, "empty");
	assert_string_equal(p[6].value, "");
	md_properties_free(p, n);
}

/* ---- JDBC URLs --------------------------------------------------------------------- */

static void jdbc_ok(const char *url, const char *user, const char *want, const char *want_dropped)
{
	char why[512], dropped[512], *out = NULL;

	if (md_jdbc_to_conninfo(url, user, &out, why, sizeof(why), dropped, sizeof(dropped)) != 0)
		fail_msg("%s: %s", url, why);
	assert_string_equal(out, want);
	assert_string_equal(dropped, want_dropped);
	free(out);
}

static void jdbc_bad(const char *url, const char *want_in_why)
{
	char why[512], dropped[512], *out = NULL;

	assert_int_equal(md_jdbc_to_conninfo(url, NULL, &out, why, sizeof(why), dropped,
					     sizeof(dropped)), -1);
	assert_null(out);
	if (!strstr(why, want_in_why))
		fail_msg("%s: '%s' lacks '%s'", url, why, want_in_why);
}

static void test_jdbc(void **state)
{
	(void)state;
	jdbc_ok("jdbc:postgresql://db.example.org:5433/shop", NULL,
		"dbname='shop' host='db.example.org' port='5433'", "");
	jdbc_ok("jdbc:postgresql://db/shop?sslmode=verify-full&ApplicationName=deploy", "bob",
		"user='bob' dbname='shop' host='db' application_name='deploy' sslmode='verify-full'", "");
	jdbc_ok("jdbc:postgresql://db/shop?ssl=true&currentSchema=app&prepareThreshold=0&loggerLevel=OFF",
		NULL, "dbname='shop' host='db' sslmode='require' options='-c search_path=app'",
		"prepareThreshold, loggerLevel");
	jdbc_ok("jdbc:postgresql:shop", "u", "user='u' dbname='shop'", "");
	jdbc_ok("jdbc:postgresql://h1:5432,h2:5433/shop?user=x", "y",
		"user='y' dbname='shop' host='h1,h2' port='5432,5433'", "");
	jdbc_bad("jdbc:mysql://db/shop", "not a PostgreSQL JDBC URL");
	jdbc_bad("postgresql://db/shop", "not a PostgreSQL JDBC URL");
	jdbc_bad("jdbc:postgresql://db/shop?password=x", "password in flyway.url is refused");
	jdbc_bad("jdbc:postgresql://u:secret@db/shop", "password in flyway.url is refused");
	jdbc_bad("jdbc:postgresql://db/shop?sslmode=x%zz", "invalid percent-encoded token");
}

/* ---- golang-migrate names ---------------------------------------------------------- */

static void test_up_down_names(void **state)
{
	md_style st;
	md_kind k;
	md_version v;
	char *desc = NULL;

	(void)state;
	assert_int_equal(md_name_parse("000001_create_users.up.sql", &st, &k, &v, &desc), 0);
	assert_int_equal(st, MD_STYLE_NUMBERED);
	assert_int_equal(k, MD_KIND_VERSIONED);
	assert_string_equal(v.text, "000001");
	assert_string_equal(desc, "create users");
	free(desc);
	assert_int_equal(md_name_parse("000001_create_users.down.sql", &st, &k, &v, &desc), 0);
	assert_int_equal(k, MD_KIND_ROLLBACK);
	assert_string_equal(desc, "create users");
	free(desc);
	assert_int_equal(md_name_parse("20230601120000_x.down.sql", &st, &k, &v, &desc), 0);
	assert_int_equal(k, MD_KIND_ROLLBACK);
	assert_string_equal(v.text, "20230601120000");
	free(desc);
	assert_int_equal(md_name_parse("001_rollback_x.up.sql", NULL, NULL, NULL, NULL), -1);
	assert_int_equal(md_name_parse("001_x_rollback.down.sql", NULL, NULL, NULL, NULL), -1);
}

/* ---- the adoption plan ------------------------------------------------------------- */

typedef struct fx {
	char dir[256];
	md_config *cfg;
	md_workspace *ws;
} fx;

static void put(const fx *f, const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/md_adopt_XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	char cmd[600];

	md_workspace_free(f->ws);
	md_config_free(f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void scan(fx *f)
{
	char o1[300], o2[300];
	const char *ov[2] = { o1, o2 };
	md_config_opts opts;
	md_error err;

	memset(&opts, 0, sizeof(opts));
	snprintf(o1, sizeof(o1), "workspace.pending=%s", f->dir);
	snprintf(o2, sizeof(o2), "workspace.applied=%s", f->dir);
	opts.config_path = NULL;
	opts.overrides = ov;
	opts.noverrides = 2;
	setenv("MIGDECK_NO_CACHE", "1", 1);
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(md_config_load(&f->cfg, &opts, &err), MD_OK);
	assert_int_equal(md_workspace_scan(&f->ws, f->cfg, &err), MD_OK);
}

static md_foreign_row frow(long long rank, const char *version, const char *type,
			   const char *script, int has_sum, int32_t sum, int success)
{
	md_foreign_row r;

	memset(&r, 0, sizeof(r));
	r.rank = rank;
	r.version = version;
	r.description = "d";
	r.type = type;
	r.script = script;
	r.has_checksum = has_sum;
	r.checksum = sum;
	r.installed_by = "axel";
	r.installed_on = "2024-01-01T10:00:00";
	r.success = success;
	return r;
}

static const md_adopt_item *item(const md_adopt *a, const char *version)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (!strcmp(a->items[i].version, version))
			return &a->items[i];
	fail_msg("no item %s", version);
	return NULL;
}

static void test_plan_flyway(void **state)
{
	fx *f = *state;
	static const char v1[] = "CREATE TABLE a (x int);\n", v2[] = "CREATE TABLE b (x int);\r\n";
	md_foreign fr;
	md_foreign_row rows[8];
	md_foreign_rows fr_rows;
	md_adopt *a = NULL;
	md_error err;

	put(f, "V1__a.sql", v1);
	put(f, "V1_1__b.sql", v2);
	put(f, "V2__c.sql", "CREATE TABLE c (x int);\n");
	put(f, "V3__d.sql", "CREATE TABLE d (x int);\n");
	put(f, "V4__e.sql", "CREATE TABLE e (x int);\n");
	put(f, "R__views.sql", "CREATE VIEW v AS SELECT 1;\n");
	scan(f);
	memset(&fr, 0, sizeof(fr));
	fr.tool = MD_FOREIGN_FLYWAY;
	rows[0] = frow(0, NULL, "SCHEMA", "\"public\"", 0, 0, 1);
	rows[1] = frow(1, "1", "SQL", "V1__a.sql", 1, md_flyway_checksum(v1, strlen(v1)), 1);
	/* Flyway writes 1_1 as 1.1; the file was CRLF then, LF now: same checksum */
	rows[2] = frow(2, "1.1", "SQL", "V1_1__b.sql", 1, md_flyway_checksum("CREATE TABLE b (x int);", 23), 1);
	rows[3] = frow(3, "2", "SQL", "V2__c.sql", 1, 12345, 1);   /* changed since */
	rows[4] = frow(4, "3", "SQL", "V3__d.sql", 1, 1, 0);       /* failed */
	rows[5] = frow(5, "2", "UNDO_SQL", "U2__c.sql", 1, 7, 1);   /* undone */
	rows[6] = frow(6, NULL, "SQL", "R__views.sql", 1, md_flyway_checksum("CREATE VIEW v AS SELECT 1;\n", 27), 1);
	rows[7] = frow(7, "9", "SQL", "V9__gone.sql", 1, 5, 1);     /* no file */
	fr_rows.rows = rows;
	fr_rows.n = 8;
	fr_rows.res = NULL;
	assert_int_equal(md_adopt_build(&a, &fr, &fr_rows, f->ws, NULL, &err), MD_OK);
	assert_int_equal(a->n, 6);
	assert_int_equal(a->nignored, 1);
	assert_int_equal(item(a, "1")->state, MD_ADOPT_APPLIED);
	assert_int_equal(item(a, "1")->sum, MD_SUM_AGREE);
	assert_string_equal(item(a, "1_1")->file->name, "V1_1__b.sql");
	assert_int_equal(item(a, "1_1")->sum, MD_SUM_AGREE);
	assert_int_equal(item(a, "2")->state, MD_ADOPT_UNDONE);
	assert_int_equal(item(a, "2")->sum, MD_SUM_DIFFER);
	assert_int_equal(item(a, "3")->state, MD_ADOPT_FAILED);
	assert_int_equal(item(a, "R__views")->state, MD_ADOPT_APPLIED);
	assert_int_equal(item(a, "R__views")->sum, MD_SUM_AGREE);
	assert_null(item(a, "9")->file);
	assert_int_equal(item(a, "9")->sum, MD_SUM_NO_FILE);
	assert_int_equal(a->nmissing, 1);
	assert_int_equal(a->npending, 1); /* V4 */
	assert_int_equal(a->nagree, 3);
	assert_int_equal(a->ndiffer, 1);
	md_adopt_free(a);

	/* Flyway 9's DELETE row takes a version out again */
	rows[5] = frow(5, "9", "DELETE", "V9__gone.sql", 0, 0, 1);
	fr_rows.n = 6;
	assert_int_equal(md_adopt_build(&a, &fr, &fr_rows, f->ws, NULL, &err), MD_OK);
	assert_int_equal(a->n, 4);
	assert_int_equal(item(a, "2")->state, MD_ADOPT_APPLIED);
	md_adopt_free(a);
}

static void test_plan_golang_dbmate(void **state)
{
	fx *f = *state;
	md_foreign fr;
	md_foreign_row rows[2];
	md_foreign_rows fr_rows;
	md_adopt *a = NULL;
	md_error err;

	put(f, "000001_a.up.sql", "CREATE TABLE a (x int);\n");
	put(f, "000001_a.down.sql", "DROP TABLE a;\n");
	put(f, "000002_b.up.sql", "CREATE TABLE b (x int);\n");
	put(f, "000002_b.down.sql", "DROP TABLE b;\n");
	put(f, "000003_c.up.sql", "CREATE TABLE c (x int);\n");
	put(f, "000003_c.down.sql", "DROP TABLE c;\n");
	scan(f);
	assert_int_equal(f->ws->nproblems, 0);
	assert_non_null(f->ws->files[0].pair);
	memset(&fr, 0, sizeof(fr));
	fr.tool = MD_FOREIGN_GOLANG;
	rows[0] = frow(1, "2", NULL, NULL, 0, 0, 0); /* dirty at 2 */
	fr_rows.rows = rows;
	fr_rows.n = 1;
	fr_rows.res = NULL;
	assert_int_equal(md_adopt_build(&a, &fr, &fr_rows, f->ws, NULL, &err), MD_OK);
	assert_int_equal(a->n, 2);
	assert_int_equal(item(a, "000001")->state, MD_ADOPT_APPLIED);
	assert_int_equal(item(a, "000002")->state, MD_ADOPT_FAILED);
	assert_int_equal(a->npending, 1);
	md_adopt_free(a);

	fr.tool = MD_FOREIGN_DBMATE;
	rows[0] = frow(1, "1", NULL, NULL, 0, 0, 1);
	rows[1] = frow(2, "3", NULL, NULL, 0, 0, 1);
	fr_rows.n = 2;
	assert_int_equal(md_adopt_build(&a, &fr, &fr_rows, f->ws, NULL, &err), MD_OK);
	assert_int_equal(a->n, 2);
	assert_int_equal(item(a, "000003")->state, MD_ADOPT_APPLIED);
	assert_int_equal(item(a, "000003")->sum, MD_SUM_NONE);
	assert_int_equal(a->npending, 1); /* 000002 */
	md_adopt_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_jdbc),
		cmocka_unit_test(test_up_down_names),
		cmocka_unit_test_setup_teardown(test_plan_flyway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_golang_dbmate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
