/* Unit tests of the workspace module: the four naming conventions,
 * version order, pairs, problems, single-folder mode, checksums, lookup and
 * names for new migrations.  Each test gets a fresh temporary folder with
 * real files in it (no mocks); the config is filled by hand with the three
 * folders, as md_config_load would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <time.h>

#include "workspace.h"

/* Blob ids below were verified by hand with `printf ... | git hash-object
 * --stdin` for the LF text shown next to each. */
#define SHA_EMPTY "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"   /* "" */
#define SHA_HELLO "ce013625030ba8dba906f756967f9e9ca394464a"   /* "hello\n" */
#define SHA_TWO "33791bf0727b4f82c1dbfc6e4cb681a077ea3dea"     /* "SELECT 1;\nSELECT 2;\n" */
#define SHA_LONE_CR "68c19c3972d8ecad900e640b8390f513c3d7a588" /* "a\rb\n" */
#define SHA_END_CR "90177ad182a9cea3d0d975d7709314955ccf365f"  /* "x\ny\r" */
#define SHA_ONE "e0ac49d1ecfb8f96f2418b1a87e1d20e587d9d0f"     /* "SELECT 1;\n" */
#define SHA_HELLO_CR "ef0493b275aa2080237f676d2ef6559246f56636" /* "hello\r\n" */

/* 2024-12-27 12:00:00 UTC */
#define NOW 1735300800LL

/* ---- fixture ------------------------------------------------------------- */

typedef struct fx {
	char dir[PATH_MAX];
	char pending[PATH_MAX + 16], applied[PATH_MAX + 16], archive[PATH_MAX + 16];
	md_config cfg;
	md_workspace *ws;
	md_error err;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	char tmpl[PATH_MAX];
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(tmpl, sizeof(tmpl), "%s/migdeck-ws-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl) || !realpath(tmpl, f->dir))
		return -1;
	snprintf(f->pending, sizeof(f->pending), "%s/pending", f->dir);
	snprintf(f->applied, sizeof(f->applied), "%s/applied", f->dir);
	snprintf(f->archive, sizeof(f->archive), "%s/archive", f->dir);
	if (mkdir(f->pending, 0755) || mkdir(f->applied, 0755) || mkdir(f->archive, 0755))
		return -1;
	/* the checksum cache goes into the fixture, never the user's home */
	{
		char cache[PATH_MAX + 16];
		snprintf(cache, sizeof(cache), "%s/cache", f->dir);
		setenv("XDG_CACHE_HOME", cache, 1);
		unsetenv("MIGDECK_NO_CACHE");
	}
	f->cfg.base_dir = f->dir;
	f->cfg.pending_dir = f->pending;
	f->cfg.applied_dir = f->applied;
	f->cfg.archive_dir = f->archive;
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	fx *f = *state;

	md_workspace_free(f->ws);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Write text into dir/rel ("pending/001_x.sql"). */
static void put(const fx *f, const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void put_sql(const fx *f, const char *rel)
{
	put(f, rel, "SELECT 1;\n");
}

static void mk_dir(const fx *f, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static md_status scan(fx *f)
{
	md_workspace_free(f->ws);
	f->ws = NULL;
	return md_workspace_scan(&f->ws, &f->cfg, &f->err);
}

static void scan_ok(fx *f)
{
	md_status rc = scan(f);

	if (rc != MD_OK)
		fail_msg("scan failed: %s", f->err.msg);
	assert_non_null(f->ws);
}

static const md_file *file_named(const md_workspace *ws, const char *name)
{
	size_t i;

	for (i = 0; i < ws->nfiles; i++)
		if (!strcmp(ws->files[i].name, name))
			return &ws->files[i];
	for (i = 0; i < ws->nrollbacks; i++)
		if (!strcmp(ws->rollbacks[i].name, name))
			return &ws->rollbacks[i];
	return NULL;
}

/* The problem of this kind whose message is exactly msg, or NULL. */
static const md_ws_problem *problem(const md_workspace *ws, md_ws_problem_kind kind,
				    const char *msg)
{
	size_t i;

	for (i = 0; i < ws->nproblems; i++)
		if (ws->problems[i].kind == kind && !strcmp(ws->problems[i].msg, msg))
			return &ws->problems[i];
	return NULL;
}

static void dump_problems(const md_workspace *ws)
{
	size_t i;

	for (i = 0; i < ws->nproblems; i++)
		print_message("problem %d: %s\n", (int)ws->problems[i].kind, ws->problems[i].msg);
}

static void expect_problem(const fx *f, md_ws_problem_kind kind, const char *msg,
			   const char *rel_path)
{
	const md_ws_problem *p = problem(f->ws, kind, msg);
	char path[PATH_MAX * 2];

	if (!p) {
		dump_problems(f->ws);
		fail_msg("no problem of kind %d: %s", (int)kind, msg);
	}
	snprintf(path, sizeof(path), "%s/%s", f->dir, rel_path);
	assert_string_equal(p->path, path);
}

/* Parse a name; assert it parses and return its pieces. */
typedef struct pn {
	md_style style;
	md_kind kind;
	md_version v;
	char *desc;
} pn;

static pn parse_ok(const char *name)
{
	pn p;

	memset(&p, 0, sizeof(p));
	if (md_name_parse(name, &p.style, &p.kind, &p.v, &p.desc) != 0)
		fail_msg("%s does not parse", name);
	return p;
}

static void check_name(const char *name, md_style style, md_kind kind, const char *vtext,
		       const char *desc)
{
	pn p = parse_ok(name);

	assert_int_equal(p.style, style);
	assert_int_equal(p.kind, kind);
	assert_string_equal(p.v.text, vtext);
	assert_string_equal(p.desc, desc);
	free(p.desc);
}

static void check_bad_name(const char *name)
{
	char *desc = (char *)"x";

	if (md_name_parse(name, NULL, NULL, NULL, &desc) == 0)
		fail_msg("%s parses but should not", name);
	assert_null(desc);
}

static md_version ver(const char *s)
{
	md_version v;

	assert_int_equal(md_version_parse(&v, s, strlen(s)), 0);
	return v;
}

static int vcmp(const char *a, const char *b)
{
	md_version x = ver(a), y = ver(b);

	return md_version_cmp(&x, &y);
}

/* ---- names ----------------------------------------------------------------- */

static void test_names_flyway(void **state)
{
	pn p;

	(void)state;
	check_name("V1__init.sql", MD_STYLE_FLYWAY, MD_KIND_VERSIONED, "1", "init");
	check_name("V1.2.3__add_email_column.sql", MD_STYLE_FLYWAY, MD_KIND_VERSIONED, "1.2.3",
		   "add email column");
	check_name("V2.1.0.20230601__Big Change.sql", MD_STYLE_FLYWAY, MD_KIND_VERSIONED,
		   "2.1.0.20230601", "Big Change");
	check_name("U1.2__add_email.sql", MD_STYLE_FLYWAY, MD_KIND_ROLLBACK, "1.2", "add email");
	check_name("R__refresh_views.sql", MD_STYLE_FLYWAY, MD_KIND_REPEATABLE, "",
		   "refresh views");

	p = parse_ok("V1_2_3__x.sql");
	assert_string_equal(p.v.text, "1_2_3");
	assert_int_equal(p.v.nparts, 3);
	assert_true(p.v.parts[0] == 1 && p.v.parts[1] == 2 && p.v.parts[2] == 3);
	free(p.desc);
	p = parse_ok("V2.1.0.20230601__x.sql");
	assert_int_equal(p.v.nparts, 4);
	assert_true(p.v.parts[3] == 20230601);
	free(p.desc);
	p = parse_ok("R__x.sql");
	assert_int_equal(p.v.nparts, 0);
	free(p.desc);

	/* case-sensitive prefixes, versions made of digits, a "__" separator */
	check_bad_name("v1__init.sql");
	check_bad_name("u1__init.sql");
	check_bad_name("r__views.sql");
	check_bad_name("V__init.sql");
	check_bad_name("Vx__init.sql");
	check_bad_name("V1_init.sql");
	check_bad_name("V1.__init.sql");
	check_bad_name("V1..2__init.sql");
	check_bad_name("R1__views.sql");
	check_bad_name("R__.sql");
	check_bad_name("X1__init.sql");
}

static void test_names_numbered(void **state)
{
	pn p;

	(void)state;
	check_name("001_init.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED, "001", "init");
	check_name("1000_add_users_table.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED, "1000",
		   "add users table");
	check_name("7_x.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED, "7", "x");
	check_name("001_rollback_init.sql", MD_STYLE_NUMBERED, MD_KIND_ROLLBACK, "001", "init");
	check_name("001_init_rollback.sql", MD_STYLE_NUMBERED, MD_KIND_ROLLBACK, "001", "init");
	check_name("001_rollback.sql", MD_STYLE_NUMBERED, MD_KIND_ROLLBACK, "001", "");
	check_name("001_Mixed-Case desc.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED, "001",
		   "Mixed-Case desc");
	/* 14 digits (dbmate's shape) are a number, not a timestamp */
	check_name("20151129054053_x.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED,
		   "20151129054053", "x");

	p = parse_ok("001_init.sql");
	assert_int_equal(p.v.nparts, 1);
	assert_true(p.v.parts[0] == 1);
	free(p.desc);

	check_bad_name("001.sql");
	check_bad_name("001_.sql");
	check_bad_name("001-init.sql");
	check_bad_name("1.2_init.sql");
	check_bad_name("init.sql");
	check_bad_name("_001_init.sql");
}

static void test_names_dated(void **state)
{
	(void)state;
	check_name("20230601_add_email.sql", MD_STYLE_DATED, MD_KIND_VERSIONED, "20230601",
		   "add email");
	check_name("20230601_rollback_add_email.sql", MD_STYLE_DATED, MD_KIND_ROLLBACK,
		   "20230601", "add email");
	check_name("20230601_add_email_rollback.sql", MD_STYLE_DATED, MD_KIND_ROLLBACK,
		   "20230601", "add email");
	check_name("20240229_leap.sql", MD_STYLE_DATED, MD_KIND_VERSIONED, "20240229", "leap");
	/* a time that is not one: the rest is the description */
	check_name("20230601_1200_x.sql", MD_STYLE_DATED, MD_KIND_VERSIONED, "20230601",
		   "1200 x");
	check_name("20241227_250000_x.sql", MD_STYLE_DATED, MD_KIND_VERSIONED, "20241227",
		   "250000 x");
	/* 8 digits that are no date are a number */
	check_name("20230229_x.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED, "20230229", "x");
	check_name("20231301_x.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED, "20231301", "x");
	check_name("12345678_x.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED, "12345678", "x");
	check_name("00000001_x.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED, "00000001", "x");
	check_name("2023060_x.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED, "2023060", "x");
	check_name("202306011_x.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED, "202306011", "x");
}

static void test_names_timestamped(void **state)
{
	pn p;

	(void)state;
	check_name("20241227_120000_initial_schema.sql", MD_STYLE_TIMESTAMPED,
		   MD_KIND_VERSIONED, "20241227_120000", "initial schema");
	check_name("20241227_120000_initial_schema_rollback.sql", MD_STYLE_TIMESTAMPED,
		   MD_KIND_ROLLBACK, "20241227_120000", "initial schema");
	check_name("20241227_120000_rollback_initial_schema.sql", MD_STYLE_TIMESTAMPED,
		   MD_KIND_ROLLBACK, "20241227_120000", "initial schema");
	check_name("20241227_235960_leap_second.sql", MD_STYLE_TIMESTAMPED, MD_KIND_VERSIONED,
		   "20241227_235960", "leap second");

	p = parse_ok("20241227_000001_x.sql");
	assert_int_equal(p.v.nparts, 2);
	assert_true(p.v.parts[0] == 20241227 && p.v.parts[1] == 1);
	free(p.desc);

	check_bad_name("20241227_120000.sql");
	check_bad_name("20241227_120000_.sql");
}

static void test_names_version_limits(void **state)
{
	(void)state;
	check_name("18446744073709551615_max.sql", MD_STYLE_NUMBERED, MD_KIND_VERSIONED,
		   "18446744073709551615", "max");
	check_bad_name("18446744073709551616_over.sql");
	check_bad_name("V1.18446744073709551616__over.sql");
	check_name("V1.2.3.4.5.6.7.8__eight.sql", MD_STYLE_FLYWAY, MD_KIND_VERSIONED,
		   "1.2.3.4.5.6.7.8", "eight");
	check_bad_name("V1.2.3.4.5.6.7.8.9__nine.sql");
	/* without the .sql suffix too, and NULL outputs are fine */
	assert_int_equal(md_name_parse("001_x", NULL, NULL, NULL, NULL), 0);
	assert_int_equal(md_name_parse(".sql", NULL, NULL, NULL, NULL), -1);
	assert_int_equal(md_name_parse("", NULL, NULL, NULL, NULL), -1);
}

/* ---- versions -------------------------------------------------------------- */

static void test_version_order(void **state)
{
	md_version v;

	(void)state;
	assert_true(vcmp("009", "010") < 0);
	assert_true(vcmp("999", "1000") < 0);
	assert_true(vcmp("1000", "999") > 0);
	assert_true(vcmp("1.10", "1.9") > 0);
	assert_true(vcmp("1.9", "1.10") < 0);
	assert_int_equal(vcmp("2", "2.0"), 0);
	assert_int_equal(vcmp("1.2", "1.2.0"), 0);
	assert_int_equal(vcmp("1.2", "1_2"), 0);
	assert_int_equal(vcmp("001", "1"), 0);
	assert_true(vcmp("1.2.1", "1.2") > 0);
	assert_true(vcmp("20241227_120000", "20241227_115959") > 0);
	assert_true(vcmp("18446744073709551615", "18446744073709551614") > 0);

	v = ver("0010.02");
	assert_string_equal(v.text, "0010.02");
	assert_int_equal(v.nparts, 2);
	assert_true(v.parts[0] == 10 && v.parts[1] == 2);

	assert_int_equal(md_version_parse(&v, "", 0), -1);
	assert_int_equal(md_version_parse(&v, "1.", 2), -1);
	assert_int_equal(md_version_parse(&v, ".1", 2), -1);
	assert_int_equal(md_version_parse(&v, "1..2", 4), -1);
	assert_int_equal(md_version_parse(&v, "1a", 2), -1);
	assert_int_equal(md_version_parse(&v, "18446744073709551616", 20), -1);
	assert_int_equal(md_version_parse(&v, "1.2.3.4.5.6.7.8.9", 17), -1);
	assert_int_equal(md_version_parse(&v, "1.2.3.4.5.6.7.8", 15), 0);
	/* len bounds the text */
	assert_int_equal(md_version_parse(&v, "12x", 2), 0);
	assert_string_equal(v.text, "12");
}

/* ---- scanning ---------------------------------------------------------------- */

static void test_scan_numbered_order(void **state)
{
	fx *f = *state;
	static const char *const order[] = { "1_one.sql", "009_nine.sql", "010_ten.sql",
					     "999_last_small.sql", "1000_big.sql" };
	size_t i;

	put_sql(f, "pending/1000_big.sql");
	put_sql(f, "pending/010_ten.sql");
	put_sql(f, "applied/009_nine.sql");
	put_sql(f, "applied/1_one.sql");
	put_sql(f, "pending/999_last_small.sql");
	scan_ok(f);
	dump_problems(f->ws);
	assert_int_equal(f->ws->nproblems, 0);
	assert_int_equal(f->ws->style, MD_STYLE_NUMBERED);
	assert_int_equal(f->ws->nfiles, 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(f->ws->files[i].name, order[i]);
	assert_int_equal(f->ws->files[0].folder, MD_FOLDER_APPLIED);
	assert_int_equal(f->ws->files[4].folder, MD_FOLDER_PENDING);
	assert_string_equal(f->ws->files[4].stem, "1000_big");
	assert_string_equal(f->ws->files[4].description, "big");
	assert_string_equal(f->ws->files[4].version.text, "1000");
	assert_int_equal(f->ws->single_folder, 0);
	assert_null(f->ws->baseline_path);
	assert_string_equal(f->ws->rel_dirs[MD_FOLDER_PENDING], "pending");
	assert_string_equal(f->ws->dirs[MD_FOLDER_APPLIED], f->applied);
}

static void test_scan_flyway_order(void **state)
{
	fx *f = *state;
	static const char *const order[] = { "V1.9__a.sql", "V1.10__b.sql", "V2__c.sql",
					     "R__alpha.sql", "R__beta.sql" };
	size_t i;

	put_sql(f, "pending/R__beta.sql");
	put_sql(f, "pending/V2__c.sql");
	put_sql(f, "pending/R__alpha.sql");
	put_sql(f, "applied/V1.10__b.sql");
	put_sql(f, "applied/V1.9__a.sql");
	put_sql(f, "applied/U1.9__a.sql");
	put_sql(f, "pending/U2__c.sql");
	scan_ok(f);
	dump_problems(f->ws);
	assert_int_equal(f->ws->nproblems, 0);
	assert_int_equal(f->ws->style, MD_STYLE_FLYWAY);
	assert_int_equal(f->ws->nfiles, 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(f->ws->files[i].name, order[i]);
	assert_int_equal(f->ws->files[3].kind, MD_KIND_REPEATABLE);
	assert_null(f->ws->files[3].pair);
	assert_int_equal(f->ws->nrollbacks, 2);
	assert_string_equal(f->ws->rollbacks[0].name, "U1.9__a.sql");
	assert_string_equal(f->ws->rollbacks[1].name, "U2__c.sql");
	assert_ptr_equal(f->ws->files[0].pair, &f->ws->rollbacks[0]);
	assert_ptr_equal(f->ws->rollbacks[0].pair, &f->ws->files[0]);
	assert_ptr_equal(f->ws->files[2].pair, &f->ws->rollbacks[1]);
	assert_null(f->ws->files[1].pair);
}

static void test_scan_pairs(void **state)
{
	fx *f = *state;
	const md_file *a, *b;

	/* dated: both rollback spellings, beside the forward file or not */
	put_sql(f, "applied/20230601_add_x.sql");
	put_sql(f, "applied/20230601_rollback_add_x.sql");
	put_sql(f, "pending/20230701_add_y.sql");
	put_sql(f, "pending/20230701_add_y_rollback.sql");
	put_sql(f, "applied/20230801_add_z.sql");
	put_sql(f, "pending/20230801_rollback_add_z.sql");
	scan_ok(f);
	dump_problems(f->ws);
	assert_int_equal(f->ws->nproblems, 0);
	assert_int_equal(f->ws->style, MD_STYLE_DATED);
	assert_int_equal(f->ws->nfiles, 3);
	assert_int_equal(f->ws->nrollbacks, 3);
	assert_string_equal(f->ws->rollbacks[0].name, "20230601_rollback_add_x.sql");
	assert_string_equal(f->ws->rollbacks[1].name, "20230701_add_y_rollback.sql");
	assert_string_equal(f->ws->rollbacks[2].name, "20230801_rollback_add_z.sql");

	a = file_named(f->ws, "20230701_add_y.sql");
	b = file_named(f->ws, "20230701_add_y_rollback.sql");
	assert_non_null(a);
	assert_ptr_equal(a->pair, b);
	assert_ptr_equal(b->pair, a);
	assert_string_equal(b->description, "add y");
	a = file_named(f->ws, "20230801_add_z.sql");
	b = file_named(f->ws, "20230801_rollback_add_z.sql");
	assert_ptr_equal(a->pair, b);
	assert_ptr_equal(b->pair, a);
	assert_int_equal(a->folder, MD_FOLDER_APPLIED);
	assert_int_equal(b->folder, MD_FOLDER_PENDING);
}

static void test_scan_pairs_timestamped(void **state)
{
	fx *f = *state;
	const md_file *a;

	put_sql(f, "applied/20241227_000001_initial_schema.sql");
	put_sql(f, "applied/20241227_000001_initial_schema_rollback.sql");
	put_sql(f, "pending/20241228_093000_add_index.sql");
	put_sql(f, "pending/20241228_093000_rollback_add_index.sql");
	scan_ok(f);
	dump_problems(f->ws);
	assert_int_equal(f->ws->nproblems, 0);
	assert_int_equal(f->ws->style, MD_STYLE_TIMESTAMPED);
	a = file_named(f->ws, "20241227_000001_initial_schema.sql");
	assert_non_null(a->pair);
	assert_string_equal(a->pair->name, "20241227_000001_initial_schema_rollback.sql");
	a = file_named(f->ws, "20241228_093000_add_index.sql");
	assert_string_equal(a->pair->name, "20241228_093000_rollback_add_index.sql");
	assert_string_equal(a->version.text, "20241228_093000");
}

/* Duplicate rollbacks: the one beside the forward file is its pair. */
static void test_scan_pair_prefers_same_folder(void **state)
{
	fx *f = *state;
	const md_file *a;

	put_sql(f, "applied/003_x.sql");
	put_sql(f, "pending/003_rollback_x.sql");
	put_sql(f, "applied/003_x_rollback.sql");
	scan_ok(f);
	a = file_named(f->ws, "003_x.sql");
	assert_non_null(a->pair);
	assert_string_equal(a->pair->name, "003_x_rollback.sql");
	assert_null(file_named(f->ws, "003_rollback_x.sql")->pair);
	expect_problem(f, MD_WS_DUPLICATE,
		       "pending/003_rollback_x.sql: duplicate rollback for version 003 "
		       "(also applied/003_x_rollback.sql)",
		       "pending/003_rollback_x.sql");
	expect_problem(f, MD_WS_DUPLICATE,
		       "applied/003_x_rollback.sql: duplicate rollback for version 003 "
		       "(also pending/003_rollback_x.sql)",
		       "applied/003_x_rollback.sql");
	assert_int_equal(f->ws->nproblems, 2);
}

static void test_problem_duplicate(void **state)
{
	fx *f = *state;

	put_sql(f, "pending/003_x.sql");
	put_sql(f, "applied/003_y.sql");
	put_sql(f, "applied/004_z.sql");
	put_sql(f, "pending/3_again.sql");
	scan_ok(f);
	expect_problem(f, MD_WS_DUPLICATE,
		       "pending/003_x.sql: duplicate version 003 (also pending/3_again.sql, "
		       "applied/003_y.sql)",
		       "pending/003_x.sql");
	expect_problem(f, MD_WS_DUPLICATE,
		       "applied/003_y.sql: duplicate version 003 (also pending/003_x.sql, "
		       "pending/3_again.sql)",
		       "applied/003_y.sql");
	expect_problem(f, MD_WS_DUPLICATE,
		       "pending/3_again.sql: duplicate version 3 (also pending/003_x.sql, "
		       "applied/003_y.sql)",
		       "pending/3_again.sql");
	assert_int_equal(f->ws->nproblems, 3);
	/* still listed, in version order; equal versions by folder, then name */
	assert_int_equal(f->ws->nfiles, 4);
	assert_string_equal(f->ws->files[0].name, "003_x.sql");
	assert_string_equal(f->ws->files[1].name, "3_again.sql");
	assert_string_equal(f->ws->files[2].name, "003_y.sql");
	assert_string_equal(f->ws->files[3].name, "004_z.sql");
}

static void test_problem_duplicate_flyway(void **state)
{
	fx *f = *state;

	put_sql(f, "pending/V1.2__a.sql");
	put_sql(f, "pending/V1.2.0__b.sql");
	put_sql(f, "pending/R__views.sql");
	put_sql(f, "applied/R__views.sql");
	scan_ok(f);
	expect_problem(f, MD_WS_DUPLICATE,
		       "pending/V1.2.0__b.sql: duplicate version 1.2.0 (also pending/V1.2__a.sql)",
		       "pending/V1.2.0__b.sql");
	expect_problem(f, MD_WS_DUPLICATE,
		       "pending/V1.2__a.sql: duplicate version 1.2 (also pending/V1.2.0__b.sql)",
		       "pending/V1.2__a.sql");
	expect_problem(f, MD_WS_DUPLICATE,
		       "applied/R__views.sql: duplicate repeatable \"views\" (also "
		       "pending/R__views.sql)",
		       "applied/R__views.sql");
	expect_problem(f, MD_WS_DUPLICATE,
		       "pending/R__views.sql: duplicate repeatable \"views\" (also "
		       "applied/R__views.sql)",
		       "pending/R__views.sql");
	assert_int_equal(f->ws->nproblems, 4);
}

static void test_problem_orphan(void **state)
{
	fx *f = *state;

	put_sql(f, "pending/001_x.sql");
	put_sql(f, "pending/004_rollback_z.sql");
	put_sql(f, "applied/002_y_rollback.sql");
	scan_ok(f);
	expect_problem(f, MD_WS_ORPHAN_ROLLBACK,
		       "pending/004_rollback_z.sql: rollback with no forward file of version 004",
		       "pending/004_rollback_z.sql");
	expect_problem(f, MD_WS_ORPHAN_ROLLBACK,
		       "applied/002_y_rollback.sql: rollback with no forward file of version 002",
		       "applied/002_y_rollback.sql");
	assert_int_equal(f->ws->nproblems, 2);
	assert_int_equal(f->ws->nrollbacks, 2);
	assert_null(f->ws->rollbacks[0].pair);
	assert_null(f->ws->files[0].pair);
}

static void test_problem_bad_name(void **state)
{
	fx *f = *state;

	put_sql(f, "pending/001_x.sql");
	put_sql(f, "pending/notes.sql");
	put_sql(f, "applied/18446744073709551616_too_big.sql");
	put_sql(f, "applied/V1.2.3.4.5.6.7.8.9__deep.sql");
	put_sql(f, "pending/002.sql");
	put_sql(f, "pending/consolidated_schema.sql"); /* the baseline only in archive/ */
	scan_ok(f);
	expect_problem(f, MD_WS_BAD_NAME,
		       "pending/notes.sql: name fits no naming convention (V1__desc.sql, "
		       "U1__desc.sql, R__desc.sql, 001_desc.sql, 20230601_desc.sql, "
		       "20241227_120000_desc.sql)",
		       "pending/notes.sql");
	expect_problem(f, MD_WS_BAD_NAME,
		       "applied/18446744073709551616_too_big.sql: a version part does not fit "
		       "in 64 bits",
		       "applied/18446744073709551616_too_big.sql");
	expect_problem(f, MD_WS_BAD_NAME,
		       "applied/V1.2.3.4.5.6.7.8.9__deep.sql: version has more than 8 parts",
		       "applied/V1.2.3.4.5.6.7.8.9__deep.sql");
	expect_problem(f, MD_WS_BAD_NAME,
		       "pending/002.sql: name has no description after its version",
		       "pending/002.sql");
	assert_non_null(problem(f->ws, MD_WS_BAD_NAME,
				"pending/consolidated_schema.sql: name fits no naming convention "
				"(V1__desc.sql, U1__desc.sql, R__desc.sql, 001_desc.sql, "
				"20230601_desc.sql, 20241227_120000_desc.sql)"));
	assert_int_equal(f->ws->nproblems, 5);
	assert_int_equal(f->ws->nfiles, 1);
}

static void test_problem_not_sql(void **state)
{
	fx *f = *state;

	put_sql(f, "pending/001_x.sql");
	put(f, "pending/deploy.yaml", "x: 1\n");
	put(f, "applied/001_x.sql~", "backup\n");
	put(f, "pending/README.md", "# docs\n");
	put(f, "pending/NOTES.TXT", "notes\n");
	put(f, "archive/changelog.txt", "notes\n");
	scan_ok(f);
	expect_problem(f, MD_WS_NOT_SQL, "pending/deploy.yaml: not a .sql file",
		       "pending/deploy.yaml");
	expect_problem(f, MD_WS_NOT_SQL, "applied/001_x.sql~: not a .sql file",
		       "applied/001_x.sql~");
	assert_int_equal(f->ws->nproblems, 2);
	assert_int_equal(f->ws->nfiles, 1);
}

static void test_problem_unreadable(void **state)
{
	fx *f = *state;
	char target[PATH_MAX * 2], link[PATH_MAX * 2];
	const md_file *x;

	put_sql(f, "pending/001_x.sql");
	snprintf(target, sizeof(target), "%s/nowhere.sql", f->dir);
	snprintf(link, sizeof(link), "%s/002_gone.sql", f->pending);
	assert_int_equal(symlink(target, link), 0);
	snprintf(link, sizeof(link), "%s/003_fifo.sql", f->pending);
	assert_int_equal(mkfifo(link, 0644), 0);
	scan_ok(f);
	expect_problem(f, MD_WS_UNREADABLE,
		       "pending/002_gone.sql: cannot read: No such file or directory",
		       "pending/002_gone.sql");
	expect_problem(f, MD_WS_UNREADABLE, "pending/003_fifo.sql: cannot read: not a regular file",
		       "pending/003_fifo.sql");
	assert_int_equal(f->ws->nproblems, 2);
	/* still listed, without a checksum */
	assert_int_equal(f->ws->nfiles, 3);
	x = file_named(f->ws, "002_gone.sql");
	assert_non_null(x);
	assert_string_equal(x->checksum, "");
	assert_int_equal(x->size, -1);
	assert_string_equal(file_named(f->ws, "001_x.sql")->checksum, SHA_ONE);
	assert_int_equal(file_named(f->ws, "001_x.sql")->size, 10);

	/* a file the scanner may not open (not testable as root) */
	if (geteuid() != 0) {
		char p[PATH_MAX * 2];

		put_sql(f, "applied/004_secret.sql");
		snprintf(p, sizeof(p), "%s/004_secret.sql", f->applied);
		assert_int_equal(chmod(p, 0), 0);
		scan_ok(f);
		expect_problem(f, MD_WS_UNREADABLE,
			       "applied/004_secret.sql: cannot read: Permission denied",
			       "applied/004_secret.sql");
	}
}

static void test_problem_mixed_styles(void **state)
{
	fx *f = *state;

	put_sql(f, "applied/001_a.sql");
	put_sql(f, "applied/002_b.sql");
	put_sql(f, "pending/003_c.sql");
	put_sql(f, "pending/V4__d.sql");
	put_sql(f, "pending/20240101_e.sql");
	put_sql(f, "pending/R__views.sql"); /* repeatables do not count */
	scan_ok(f);
	assert_int_equal(f->ws->style, MD_STYLE_NUMBERED);
	expect_problem(f, MD_WS_MIXED_STYLES,
		       "pending/V4__d.sql: flyway name in a numbered workspace (mixed naming "
		       "styles)",
		       "pending/V4__d.sql");
	expect_problem(f, MD_WS_MIXED_STYLES,
		       "pending/20240101_e.sql: dated name in a numbered workspace (mixed "
		       "naming styles)",
		       "pending/20240101_e.sql");
	assert_int_equal(f->ws->nproblems, 2);
}

static void test_problems_sorted(void **state)
{
	fx *f = *state;
	size_t i;

	put_sql(f, "pending/zz.sql");
	put_sql(f, "pending/aa.sql");
	put(f, "applied/x.yaml", "");
	put_sql(f, "pending/mm.sql");
	scan_ok(f);
	assert_int_equal(f->ws->nproblems, 4);
	for (i = 1; i < f->ws->nproblems; i++)
		assert_true(strcmp(f->ws->problems[i - 1].path, f->ws->problems[i].path) < 0);
}

static void test_single_folder(void **state)
{
	fx *f = *state;

	f->cfg.applied_dir = f->pending;
	put_sql(f, "pending/001_a.sql");
	put_sql(f, "pending/001_rollback_a.sql");
	put_sql(f, "pending/002_b.sql");
	scan_ok(f);
	assert_int_equal(f->ws->single_folder, 1);
	assert_int_equal(f->ws->nproblems, 0);
	assert_int_equal(f->ws->nfiles, 2);
	assert_int_equal(f->ws->nrollbacks, 1);
	assert_int_equal(f->ws->files[0].folder, MD_FOLDER_PENDING);
	assert_int_equal(f->ws->files[1].folder, MD_FOLDER_PENDING);
	assert_ptr_equal(f->ws->files[0].pair, &f->ws->rollbacks[0]);
}

static void test_single_folder_by_real_path(void **state)
{
	fx *f = *state;
	char link[PATH_MAX * 2], other[PATH_MAX * 2];

	/* applied is another name (a symlink) of pending */
	snprintf(link, sizeof(link), "%s/migrations", f->dir);
	assert_int_equal(symlink(f->pending, link), 0);
	snprintf(other, sizeof(other), "%s/migrations/", f->dir);
	f->cfg.applied_dir = other;
	put_sql(f, "pending/V1__a.sql");
	scan_ok(f);
	assert_int_equal(f->ws->single_folder, 1);
	assert_int_equal(f->ws->nfiles, 1);
	assert_int_equal(f->ws->nproblems, 0);
	assert_string_equal(f->ws->rel_dirs[MD_FOLDER_APPLIED], "migrations");
}

static void test_hidden_and_subdirs_ignored(void **state)
{
	fx *f = *state;
	char link[PATH_MAX * 2];

	put_sql(f, "pending/001_a.sql");
	put_sql(f, "pending/.002_hidden.sql");
	put(f, "pending/.DS_Store", "junk");
	mk_dir(f, "pending/.git");
	put_sql(f, "pending/.git/003_c.sql");
	mk_dir(f, "pending/old");
	put_sql(f, "pending/old/004_d.sql");
	put(f, "pending/old/junk.bin", "x");
	mk_dir(f, "applied/005_folder.sql"); /* a folder named like a migration */
	snprintf(link, sizeof(link), "%s/dirlink", f->pending);
	assert_int_equal(symlink(f->archive, link), 0);
	scan_ok(f);
	dump_problems(f->ws);
	assert_int_equal(f->ws->nproblems, 0);
	assert_int_equal(f->ws->nfiles, 1);
	assert_string_equal(f->ws->files[0].name, "001_a.sql");
}

static void test_baseline_and_missing_folders(void **state)
{
	fx *f = *state;
	char path[PATH_MAX * 2];

	put(f, "archive/consolidated_schema.sql", "CREATE TABLE t (id int);\n");
	put_sql(f, "archive/20231204_create_customers.sql");
	put_sql(f, "archive/20231204_rollback_create_customers.sql");
	snprintf(path, sizeof(path), "%s", f->applied);
	assert_int_equal(rmdir(path), 0);
	scan_ok(f);
	dump_problems(f->ws);
	assert_int_equal(f->ws->nproblems, 0);
	assert_int_equal(f->ws->nfiles, 1);
	assert_int_equal(f->ws->files[0].folder, MD_FOLDER_ARCHIVE);
	assert_non_null(f->ws->files[0].pair);
	snprintf(path, sizeof(path), "%s/consolidated_schema.sql", f->archive);
	assert_string_equal(f->ws->baseline_path, path);
	assert_null(md_workspace_find(f->ws, "consolidated_schema"));

	/* no folder at all: an empty workspace */
	f->cfg.pending_dir = "/nonexistent-migdeck-folder/pending";
	f->cfg.archive_dir = "/nonexistent-migdeck-folder/archive";
	scan_ok(f);
	assert_int_equal(f->ws->nfiles, 0);
	assert_int_equal(f->ws->nrollbacks, 0);
	assert_int_equal(f->ws->nproblems, 0);
	assert_int_equal(f->ws->style, MD_STYLE_NONE);
	assert_string_equal(f->ws->rel_dirs[MD_FOLDER_PENDING],
			    "/nonexistent-migdeck-folder/pending");
}

static void test_folder_not_a_folder(void **state)
{
	fx *f = *state;

	put(f, "pending.txt", "x");
	{
		char p[PATH_MAX * 2];

		snprintf(p, sizeof(p), "%s/pending.txt", f->dir);
		f->cfg.pending_dir = p;
		assert_int_equal(scan(f), MD_ERR_IO);
		assert_null(f->ws);
		assert_string_equal(f->err.file, p);
	}
}

static void test_paths_relative_to_parent(void **state)
{
	fx *f = *state;
	char p[PATH_MAX * 2];

	/* without an ini folder: relative to the parent of pending/ */
	f->cfg.base_dir = NULL;
	put_sql(f, "pending/001_x.sql");
	put_sql(f, "applied/001_y.sql");
	scan_ok(f);
	expect_problem(f, MD_WS_DUPLICATE,
		       "pending/001_x.sql: duplicate version 001 (also applied/001_y.sql)",
		       "pending/001_x.sql");
	/* a folder elsewhere is named in full; the ini's own folder as "" */
	f->cfg.base_dir = f->pending;
	scan_ok(f);
	snprintf(p, sizeof(p), "001_x.sql: duplicate version 001 (also %s/001_y.sql)", f->applied);
	expect_problem(f, MD_WS_DUPLICATE, p, "pending/001_x.sql");
}

/* ---- checksums ----------------------------------------------------------------- */

static void check_sum(const char *buf, size_t len, const char *want)
{
	char hex[41];
	md_error err;

	assert_int_equal(md_checksum(buf, len, hex, &err), MD_OK);
	assert_string_equal(hex, want);
}

static void test_checksum(void **state)
{
	(void)state;
	check_sum("", 0, SHA_EMPTY);
	check_sum("hello\n", 6, SHA_HELLO);
	check_sum("hello\r\n", 7, SHA_HELLO);
	check_sum("SELECT 1;\nSELECT 2;\n", 20, SHA_TWO);
	check_sum("SELECT 1;\r\nSELECT 2;\r\n", 22, SHA_TWO);
	/* only a CR right before an LF goes: a lone CR is content */
	check_sum("a\rb\n", 4, SHA_LONE_CR);
	check_sum("a\rb\r\n", 5, SHA_LONE_CR);
	check_sum("x\r\ny\r", 5, SHA_END_CR);
	check_sum("x\ny\r", 4, SHA_END_CR);
	check_sum("hello\r\r\n", 8, SHA_HELLO_CR);
}

static void test_checksum_of_files(void **state)
{
	fx *f = *state;
	const md_file *a, *b, *c, *d;

	put(f, "pending/001_lf.sql", "SELECT 1;\nSELECT 2;\n");
	put(f, "pending/002_crlf.sql", "SELECT 1;\r\nSELECT 2;\r\n");
	put(f, "pending/003_lone_cr.sql", "a\rb\n");
	put(f, "pending/004_empty.sql", "");
	scan_ok(f);
	a = file_named(f->ws, "001_lf.sql");
	b = file_named(f->ws, "002_crlf.sql");
	c = file_named(f->ws, "003_lone_cr.sql");
	d = file_named(f->ws, "004_empty.sql");
	assert_string_equal(a->checksum, SHA_TWO);
	assert_string_equal(b->checksum, SHA_TWO);
	assert_string_equal(c->checksum, SHA_LONE_CR);
	assert_string_equal(d->checksum, SHA_EMPTY);
	assert_int_equal(a->size, 20);
	assert_int_equal(b->size, 22);
	assert_int_equal(d->size, 0);
}

/* The one cache file of a folder, into out (empty when there is none). */
static void cache_file(const fx *f, char *out, size_t outsz)
{
	char dir[PATH_MAX + 32];
	DIR *d;
	struct dirent *de;

	out[0] = '\0';
	snprintf(dir, sizeof(dir), "%s/cache/migdeck", f->dir);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL)
		if (!strncmp(de->d_name, "sums-", 5))
			snprintf(out, outsz, "%s/%s", dir, de->d_name);
	closedir(d);
}

/* Replace every occurrence of from with to (same length) in a file. */
static void rewrite(const char *path, const char *from, const char *to)
{
	char buf[8192], *p;
	size_t n;
	FILE *fp = fopen(path, "r+b");

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	for (p = strstr(buf, from); p; p = strstr(p + 1, from))
		memcpy(p, to, strlen(to));
	rewind(fp);
	fwrite(buf, 1, n, fp);
	fclose(fp);
}

static void test_checksum_cache(void **state)
{
	fx *f = *state;
	char cache[PATH_MAX * 2], two[41];
	md_error err;
	const struct timespec wait = { 2, 200000000 };

	put(f, "pending/001_a.sql", "SELECT 1;\n");
	put(f, "pending/002_b.sql", "hello\n");
	/* files changed in this second or the one before are not remembered */
	scan_ok(f);
	cache_file(f, cache, sizeof(cache));
	assert_string_equal(cache, "");
	nanosleep(&wait, NULL);
	scan_ok(f);
	assert_string_equal(file_named(f->ws, "001_a.sql")->checksum, SHA_ONE);
	cache_file(f, cache, sizeof(cache));
	assert_string_not_equal(cache, "");

	/* a cached entry is used without reading the file: a checksum changed
	 * in the cache (the file's inode, size and times unchanged) shows */
	rewrite(cache, SHA_ONE, SHA_EMPTY);
	scan_ok(f);
	assert_string_equal(file_named(f->ws, "001_a.sql")->checksum, SHA_EMPTY);
	assert_int_equal(file_named(f->ws, "001_a.sql")->size, 10);
	assert_string_equal(file_named(f->ws, "002_b.sql")->checksum, SHA_HELLO);

	/* MIGDECK_NO_CACHE reads every file */
	setenv("MIGDECK_NO_CACHE", "1", 1);
	scan_ok(f);
	assert_string_equal(file_named(f->ws, "001_a.sql")->checksum, SHA_ONE);
	unsetenv("MIGDECK_NO_CACHE");

	/* a change of the file (same size) is seen: its times changed */
	put(f, "pending/001_a.sql", "SELECT 2;\n");
	scan_ok(f);
	assert_int_equal(md_checksum("SELECT 2;\n", 10, two, &err), MD_OK);
	assert_string_equal(file_named(f->ws, "001_a.sql")->checksum, two);
}

/* Many files: read and hashed by two threads; every checksum is its own
 * file's, and an unreadable one among them is reported once. */
static void test_checksum_many_files(void **state)
{
	fx *f = *state;
	char rel[64], text[128], want[41], link[PATH_MAX * 2];
	md_error err;
	int i;

	setenv("MIGDECK_NO_CACHE", "1", 1);
	for (i = 1; i <= 300; i++) {
		snprintf(rel, sizeof(rel), "pending/%03d_m%d.sql", i, i);
		snprintf(text, sizeof(text), i % 3 ? "CREATE TABLE t%d (a int);\n" : "SELECT %d;\r\n", i);
		put(f, rel, text);
	}
	snprintf(link, sizeof(link), "%s/pending/301_gone.sql", f->dir);
	assert_int_equal(symlink("nowhere.sql", link), 0);
	scan_ok(f);
	unsetenv("MIGDECK_NO_CACHE");
	assert_int_equal(f->ws->nfiles, 301);
	for (i = 1; i <= 300; i++) {
		char name[64], lf[128];
		const md_file *m;
		snprintf(name, sizeof(name), "%03d_m%d.sql", i, i);
		snprintf(text, sizeof(text), i % 3 ? "CREATE TABLE t%d (a int);\n" : "SELECT %d;\r\n", i);
		snprintf(lf, sizeof(lf), i % 3 ? "CREATE TABLE t%d (a int);\n" : "SELECT %d;\n", i);
		m = file_named(f->ws, name);
		assert_non_null(m);
		assert_int_equal(md_checksum(lf, strlen(lf), want, &err), MD_OK);
		if (strcmp(m->checksum, want) != 0)
			fail_msg("%s: checksum %s, want %s", name, m->checksum, want);
		assert_int_equal(m->size, (long long)strlen(text));
	}
	assert_int_equal(file_named(f->ws, "301_gone.sql")->size, -1);
	expect_problem(f, MD_WS_UNREADABLE, "pending/301_gone.sql: cannot read: No such file or directory",
		       "pending/301_gone.sql");
	assert_int_equal(f->ws->nproblems, 1);
}

static void test_checksum_large_file(void **state)
{
	fx *f = *state;
	size_t n = 300000, i;
	char *big = malloc(n + 1);
	char want[41];
	md_error err;

	/* bigger than the scanner's first buffer, between two small files */
	assert_non_null(big);
	for (i = 0; i < n; i++)
		big[i] = i % 10 == 9 ? '\n' : (char)('a' + i % 7);
	big[n] = '\0';
	assert_int_equal(md_checksum(big, n, want, &err), MD_OK);
	put(f, "pending/001_small.sql", "x\n");
	put(f, "pending/002_big.sql", big);
	put(f, "pending/003_small.sql", "hello\n");
	scan_ok(f);
	assert_string_equal(file_named(f->ws, "002_big.sql")->checksum, want);
	assert_string_equal(file_named(f->ws, "003_small.sql")->checksum, SHA_HELLO);
	free(big);
}

/* ---- lookup ----------------------------------------------------------------------- */

static void test_find(void **state)
{
	fx *f = *state;
	const md_file *x;

	put_sql(f, "applied/V1_2__add_x.sql");
	put_sql(f, "applied/V1.10__add_y.sql");
	put_sql(f, "pending/V2__add_z.sql");
	put_sql(f, "pending/U2__add_z.sql");
	put_sql(f, "pending/R__views.sql");
	scan_ok(f);

	x = md_workspace_find(f->ws, "1.2");
	assert_non_null(x);
	assert_string_equal(x->name, "V1_2__add_x.sql");
	assert_ptr_equal(md_workspace_find(f->ws, "1_2"), x);
	assert_ptr_equal(md_workspace_find(f->ws, "1.2.0"), x);
	assert_ptr_equal(md_workspace_find(f->ws, "V1_2__add_x"), x);
	assert_ptr_equal(md_workspace_find(f->ws, "V1_2__add_x.sql"), x);
	x = md_workspace_find(f->ws, "1.10");
	assert_non_null(x);
	assert_string_equal(x->name, "V1.10__add_y.sql");
	x = md_workspace_find(f->ws, "2");
	assert_non_null(x);
	assert_string_equal(x->name, "V2__add_z.sql"); /* a forward file, not U2 */
	x = md_workspace_find(f->ws, "R__views");
	assert_non_null(x);
	assert_int_equal(x->kind, MD_KIND_REPEATABLE);
	assert_null(md_workspace_find(f->ws, "1.3"));
	assert_null(md_workspace_find(f->ws, "3"));
	assert_null(md_workspace_find(f->ws, "U2__add_z"));
	assert_null(md_workspace_find(f->ws, "nothing"));
	assert_null(md_workspace_find(f->ws, ""));
	assert_null(md_workspace_find(NULL, "1"));
}

static void test_find_timestamped_and_numbered(void **state)
{
	fx *f = *state;
	const md_file *x;
	char name[64];
	int i;

	put_sql(f, "applied/20241227_000001_initial_schema.sql");
	put_sql(f, "pending/20241228_000001_second.sql");
	scan_ok(f);
	x = md_workspace_find(f->ws, "20241227_000001");
	assert_non_null(x);
	assert_string_equal(x->name, "20241227_000001_initial_schema.sql");
	assert_ptr_equal(md_workspace_find(f->ws, "20241227_000001_initial_schema"), x);
	assert_null(md_workspace_find(f->ws, "20241227"));

	/* many numbered files: the binary search finds each one */
	for (i = 1; i <= 120; i++) {
		snprintf(name, sizeof(name), "applied/%03d_m%d.sql", i, i);
		put_sql(f, name);
	}
	scan_ok(f);
	for (i = 1; i <= 120; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		x = md_workspace_find(f->ws, v);
		assert_non_null(x);
		assert_int_equal((int)x->version.parts[0], i);
	}
	assert_null(md_workspace_find(f->ws, "121"));
	assert_null(md_workspace_find(f->ws, "0"));
}

/* ---- new names ---------------------------------------------------------------------- */

static void new_names_ok(fx *f, md_style style, const char *name, long long now,
			 const char *want_fw, const char *want_rb)
{
	char *fw = NULL, *rb = NULL;
	md_status rc = md_workspace_new_names(f->ws, style, name, now, &fw, &rb, &f->err);

	if (rc != MD_OK)
		fail_msg("new_names(%s) failed: %s", name, f->err.msg);
	assert_string_equal(fw, want_fw);
	assert_string_equal(rb, want_rb);
	free(fw);
	free(rb);
}

static md_status new_names_fail(fx *f, md_style style, const char *name, long long now)
{
	char *fw = (char *)"x", *rb = (char *)"x";
	md_status rc = md_workspace_new_names(f->ws, style, name, now, &fw, &rb, &f->err);

	assert_int_not_equal(rc, MD_OK);
	assert_null(fw);
	assert_null(rb);
	return rc;
}

static void test_new_names_empty_workspace(void **state)
{
	fx *f = *state;

	scan_ok(f);
	new_names_ok(f, MD_STYLE_NONE, "Add email", NOW, "20241227_add_email.sql",
		     "20241227_rollback_add_email.sql");
	new_names_ok(f, MD_STYLE_NUMBERED, "init", NOW, "001_init.sql",
		     "001_rollback_init.sql");
	new_names_ok(f, MD_STYLE_FLYWAY, "init", NOW, "V1__init.sql", "U1__init.sql");
	new_names_ok(f, MD_STYLE_TIMESTAMPED, "init", NOW, "20241227_120000_init.sql",
		     "20241227_120000_init_rollback.sql");
	new_names_ok(f, MD_STYLE_DATED, "init", NOW, "20241227_init.sql",
		     "20241227_rollback_init.sql");
	/* no workspace at all is an empty one */
	md_workspace_free(f->ws);
	f->ws = NULL;
	new_names_ok(f, MD_STYLE_NONE, "x", NOW, "20241227_x.sql", "20241227_rollback_x.sql");
}

static void test_new_names_numbered(void **state)
{
	fx *f = *state;

	put_sql(f, "applied/001_a.sql");
	put_sql(f, "pending/002_b.sql");
	put_sql(f, "pending/002_rollback_b.sql");
	scan_ok(f);
	new_names_ok(f, MD_STYLE_NONE, "add users", NOW, "003_add_users.sql",
		     "003_rollback_add_users.sql");
	put_sql(f, "pending/0009_c.sql");
	scan_ok(f);
	new_names_ok(f, MD_STYLE_NONE, "x", NOW, "0010_x.sql", "0010_rollback_x.sql");
	put_sql(f, "pending/999_d.sql");
	scan_ok(f);
	new_names_ok(f, MD_STYLE_NUMBERED, "x", NOW, "1000_x.sql", "1000_rollback_x.sql");

	/* a slug that would read back as a rollback */
	assert_int_equal(new_names_fail(f, MD_STYLE_NUMBERED, "Rollback users", NOW),
			 MD_ERR_USAGE);
	assert_non_null(strstr(f->err.msg, "1000_rollback_users.sql"));
	assert_int_equal(new_names_fail(f, MD_STYLE_NUMBERED, "users rollback", NOW),
			 MD_ERR_USAGE);
	/* fine in flyway */
	new_names_ok(f, MD_STYLE_FLYWAY, "rollback users", NOW, "V1__rollback_users.sql",
		     "U1__rollback_users.sql");
}

static void test_new_names_numbered_narrow(void **state)
{
	fx *f = *state;

	put_sql(f, "pending/1_a.sql");
	put_sql(f, "pending/2_b.sql");
	scan_ok(f);
	new_names_ok(f, MD_STYLE_NONE, "c", NOW, "3_c.sql", "3_rollback_c.sql");
}

static void test_new_names_flyway(void **state)
{
	fx *f = *state;

	put_sql(f, "applied/V1__a.sql");
	put_sql(f, "applied/V2.5__b.sql");
	put_sql(f, "pending/R__views.sql");
	scan_ok(f);
	new_names_ok(f, MD_STYLE_NONE, "Next Thing", NOW, "V3__next_thing.sql",
		     "U3__next_thing.sql");
	put_sql(f, "pending/V10_1__c.sql");
	scan_ok(f);
	new_names_ok(f, MD_STYLE_NONE, "d", NOW, "V11__d.sql", "U11__d.sql");
}

static void test_new_names_dated(void **state)
{
	fx *f = *state;

	put_sql(f, "applied/20240203_create_tickets.sql");
	put_sql(f, "pending/20240302_create_tags.sql");
	scan_ok(f);
	new_names_ok(f, MD_STYLE_NONE, "add index", NOW, "20241227_add_index.sql",
		     "20241227_rollback_add_index.sql");

	/* today's date is taken */
	put_sql(f, "pending/20241227_first.sql");
	scan_ok(f);
	assert_int_equal(new_names_fail(f, MD_STYLE_NONE, "second", NOW), MD_ERR_INVALID);
	assert_string_equal(f->err.msg,
			    "a migration dated 20241227 already exists "
			    "(pending/20241227_first.sql); dated names allow one migration a "
			    "day: use --style timestamped");
	/* timestamped is fine and comes after it */
	new_names_ok(f, MD_STYLE_TIMESTAMPED, "second", NOW, "20241227_120000_second.sql",
		     "20241227_120000_second_rollback.sql");

	/* a later date exists */
	put_sql(f, "pending/20250101_future.sql");
	scan_ok(f);
	assert_int_equal(new_names_fail(f, MD_STYLE_DATED, "third", NOW), MD_ERR_INVALID);
	assert_non_null(strstr(f->err.msg, "pending/20250101_future.sql"));
	assert_non_null(strstr(f->err.msg, "--style timestamped"));
}

static void test_new_names_timestamped(void **state)
{
	fx *f = *state;

	put_sql(f, "applied/20241227_000001_initial_schema.sql");
	scan_ok(f);
	new_names_ok(f, MD_STYLE_NONE, "add x", NOW, "20241227_120000_add_x.sql",
		     "20241227_120000_add_x_rollback.sql");
	/* the same second exists: one past it */
	put_sql(f, "pending/20241227_120000_add_x.sql");
	scan_ok(f);
	new_names_ok(f, MD_STYLE_NONE, "add y", NOW, "20241227_120001_add_y.sql",
		     "20241227_120001_add_y_rollback.sql");
	/* a later one exists (a clock behind): one second past it, across midnight */
	put_sql(f, "pending/20241231_235959_late.sql");
	scan_ok(f);
	new_names_ok(f, MD_STYLE_NONE, "z", NOW, "20250101_000000_z.sql",
		     "20250101_000000_z_rollback.sql");
}

static void test_slug(void **state)
{
	fx *f = *state;
	char longname[400];
	char want_fw[200], want_rb[200];
	int i;

	scan_ok(f);
	new_names_ok(f, MD_STYLE_NUMBERED, "  Add E-mail column!  ", NOW,
		     "001_add_e_mail_column.sql", "001_rollback_add_e_mail_column.sql");
	new_names_ok(f, MD_STYLE_NUMBERED, "a__b", NOW, "001_a_b.sql", "001_rollback_a_b.sql");
	new_names_ok(f, MD_STYLE_NUMBERED, "caf\xc3\xa9 Menu", NOW, "001_caf_menu.sql",
		     "001_rollback_caf_menu.sql");
	new_names_ok(f, MD_STYLE_NUMBERED, "_x_", NOW, "001_x.sql", "001_rollback_x.sql");
	new_names_ok(f, MD_STYLE_NUMBERED, "../../etc/passwd", NOW, "001_etc_passwd.sql",
		     "001_rollback_etc_passwd.sql");
	new_names_ok(f, MD_STYLE_NUMBERED, "V2", NOW, "001_v2.sql", "001_rollback_v2.sql");

	/* at most 100 bytes, no trailing underscore after the cut */
	for (i = 0; i < 99; i++)
		longname[i] = 'a';
	longname[99] = ' ';
	memset(longname + 100, 'b', 50);
	longname[150] = '\0';
	snprintf(want_fw, sizeof(want_fw), "001_%.*s.sql", 99, longname);
	snprintf(want_rb, sizeof(want_rb), "001_rollback_%.*s.sql", 99, longname);
	new_names_ok(f, MD_STYLE_NUMBERED, longname, NOW, want_fw, want_rb);

	assert_int_equal(new_names_fail(f, MD_STYLE_NUMBERED, "", NOW), MD_ERR_USAGE);
	assert_int_equal(new_names_fail(f, MD_STYLE_NUMBERED, "  !!! --- ", NOW), MD_ERR_USAGE);
	assert_string_equal(f->err.msg,
			    "the name \"  !!! --- \" has no letters or digits to make a file "
			    "name from");
	assert_int_equal(new_names_fail(f, MD_STYLE_DATED, "\xc3\xa9\xc3\xa9", NOW),
			 MD_ERR_USAGE);
	/* a dated slug that starts like a time would read as timestamped */
	assert_int_equal(new_names_fail(f, MD_STYLE_DATED, "120000 x", NOW), MD_ERR_USAGE);
}

static void test_enum_names(void **state)
{
	(void)state;
	assert_string_equal(md_style_name(MD_STYLE_NONE), "none");
	assert_string_equal(md_style_name(MD_STYLE_FLYWAY), "flyway");
	assert_string_equal(md_style_name(MD_STYLE_NUMBERED), "numbered");
	assert_string_equal(md_style_name(MD_STYLE_DATED), "dated");
	assert_string_equal(md_style_name(MD_STYLE_TIMESTAMPED), "timestamped");
	assert_string_equal(md_kind_name(MD_KIND_VERSIONED), "versioned");
	assert_string_equal(md_kind_name(MD_KIND_REPEATABLE), "repeatable");
	assert_string_equal(md_kind_name(MD_KIND_ROLLBACK), "rollback");
	assert_string_equal(md_folder_name(MD_FOLDER_PENDING), "pending");
	assert_string_equal(md_folder_name(MD_FOLDER_APPLIED), "applied");
	assert_string_equal(md_folder_name(MD_FOLDER_ARCHIVE), "archive");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_flyway),
		cmocka_unit_test(test_names_numbered),
		cmocka_unit_test(test_names_dated),
		cmocka_unit_test(test_names_timestamped),
		cmocka_unit_test(test_names_version_limits),
		cmocka_unit_test(test_version_order),
		cmocka_unit_test_setup_teardown(test_scan_numbered_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_flyway_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_pairs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_pairs_timestamped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_pair_prefers_same_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_problem_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_problem_duplicate_flyway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_problem_orphan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_problem_bad_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_problem_not_sql, setup, teardown),
		cmocka_unit_test_setup_teardown(test_problem_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_problem_mixed_styles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_problems_sorted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_folder_by_real_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hidden_and_subdirs_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_baseline_and_missing_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folder_not_a_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths_relative_to_parent, setup, teardown),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test_setup_teardown(test_checksum_of_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checksum_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checksum_many_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checksum_large_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_timestamped_and_numbered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_names_empty_workspace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_names_numbered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_names_numbered_narrow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_names_flyway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_names_dated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_names_timestamped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slug, setup, teardown),
		cmocka_unit_test(test_enum_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
