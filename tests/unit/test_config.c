/* Unit tests of the config module: migdeck.ini, the environment, -o/-d
 * flags, precedence, errors with file:line:col, warnings, password
 * masking and connection parameters.  Each test runs in a fresh temporary
 * folder (the working directory) with the relevant variables unset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* ---- fixture ------------------------------------------------------------- */

#define MAXW 16

typedef struct fx {
	char oldcwd[PATH_MAX];
	char dir[PATH_MAX];   /* the temporary folder, resolved */
	int nwarn;
	char warn[MAXW][1200];
	md_config *cfg;
	md_error err;
} fx;

static void on_warn(const char *msg, void *payload)
{
	fx *f = payload;

	if (f->nwarn < MAXW)
		snprintf(f->warn[f->nwarn++], sizeof(f->warn[0]), "%s", msg);
}

static void unset_all_env(void)
{
	PQconninfoOption *d = PQconndefaults(), *o;
	int k;

	for (o = d; o && o->keyword; o++)
		if (o->envvar)
			unsetenv(o->envvar);
	PQconninfoFree(d);
	unsetenv("PGSERVICEFILE");
	unsetenv("PGSYSCONFDIR");
	unsetenv("MIGDECK_CONFIG");
	for (k = 0; k < MD_CFG_NKEYS; k++)
		if (md_cfg_keys[k].env)
			unsetenv(md_cfg_keys[k].env);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	char tmpl[PATH_MAX];
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	if (!getcwd(f->oldcwd, sizeof(f->oldcwd)))
		return -1;
	snprintf(tmpl, sizeof(tmpl), "%s/migdeck-cfg-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl) || !realpath(tmpl, f->dir) || chdir(f->dir) != 0)
		return -1;
	unset_all_env();
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

	md_config_free(f->cfg);
	if (chdir(f->oldcwd) != 0)
		return -1;
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	unset_all_env();
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void make_dir(const char *path)
{
	assert_int_equal(mkdir(path, 0755), 0);
}

/* Load with optional -c, -d and -o flags. */
static md_status load(fx *f, const char *config_path, const char *database,
		      const char *const *overrides, size_t n)
{
	md_config_opts o = { 0 };

	md_config_free(f->cfg);
	f->cfg = NULL;
	f->nwarn = 0;
	o.config_path = config_path;
	o.database = database;
	o.overrides = overrides;
	o.noverrides = n;
	o.warn = on_warn;
	o.warn_payload = f;
	return md_config_load(&f->cfg, &o, &f->err);
}

/* md_config_print into a malloc'd string. */
static char *print_cfg(const md_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	md_config_print(cfg, fp);
	fclose(fp);
	return buf;
}

static char *path_in(const fx *f, const char *rel)
{
	static char buf[PATH_MAX * 2];

	snprintf(buf, sizeof(buf), "%s/%s", f->dir, rel);
	return buf;
}

/* The value of keyword kw in NULL-terminated params, or NULL. */
static const char *param(const char **kw, const char **vals, const char *name)
{
	size_t i;

	for (i = 0; kw[i]; i++)
		if (!strcmp(kw[i], name))
			return vals[i];
	return NULL;
}

/* ---- defaults ------------------------------------------------------------ */

static void test_defaults(void **state)
{
	fx *f = *state;
	const char **kw, **vals;
	char *disp;

	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_null(f->cfg->ini_path);
	assert_string_equal(f->cfg->base_dir, f->dir);
	assert_null(f->cfg->database);
	assert_string_equal(f->cfg->pending_dir, path_in(f, "pending"));
	assert_string_equal(f->cfg->applied_dir, path_in(f, "applied"));
	assert_string_equal(f->cfg->archive_dir, path_in(f, "archive"));
	assert_string_equal(f->cfg->history_schema, "public");
	assert_string_equal(f->cfg->history_table, "schema_versions");
	assert_string_equal(f->cfg->lock_timeout, "0");
	assert_int_equal(f->cfg->lock_timeout_ms, 0);
	assert_string_equal(f->cfg->statement_timeout, "0");
	assert_int_equal(f->cfg->transaction, MD_TX_PER_MIGRATION);
	assert_true(f->cfg->git_commit);
	assert_null(f->cfg->git_author_name);
	assert_null(f->cfg->git_author_email);
	assert_int_equal(f->cfg->nplaceholders, 0);
	assert_int_equal(md_config_source(f->cfg, MD_CFG_HISTORY_TABLE), MD_CFG_SRC_DEFAULT);
	assert_int_equal(f->nwarn, 0);

	assert_int_equal(md_config_conn_params(f->cfg, &kw, &vals, &f->err), MD_OK);
	assert_null(kw[0]);
	assert_null(vals[0]);
	md_config_free_params(kw, vals);
	disp = md_config_conn_display(f->cfg);
	assert_string_equal(disp, "");
	free(disp);
}

static void test_finds_ini_in_cwd(void **state)
{
	fx *f = *state;

	write_file("migdeck.ini", "[history]\ntable = hist\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_string_equal(f->cfg->ini_path, "migdeck.ini");
	assert_string_equal(f->cfg->history_table, "hist");
	assert_int_equal(md_config_source(f->cfg, MD_CFG_HISTORY_TABLE), MD_CFG_SRC_FILE);
	assert_int_equal(f->cfg->values[MD_CFG_HISTORY_TABLE].line, 2);
}

static void test_migdeck_config_env(void **state)
{
	fx *f = *state;

	make_dir("etc");
	write_file("etc/deck.ini", "[history]\nschema = ops\n");
	write_file("migdeck.ini", "[history]\nschema = ignored\n");
	setenv("MIGDECK_CONFIG", "etc/deck.ini", 1);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_string_equal(f->cfg->ini_path, "etc/deck.ini");
	assert_string_equal(f->cfg->history_schema, "ops");
	/* the default folders sit beside the ini */
	assert_string_equal(f->cfg->pending_dir, path_in(f, "etc/pending"));

	/* -c wins over $MIGDECK_CONFIG */
	assert_int_equal(load(f, "migdeck.ini", NULL, NULL, 0), MD_OK);
	assert_string_equal(f->cfg->history_schema, "ignored");

	setenv("MIGDECK_CONFIG", "etc/nope.ini", 1);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_string_equal(f->err.file, "etc/nope.ini");
	assert_non_null(strstr(f->err.msg, "MIGDECK_CONFIG"));
	assert_null(f->cfg);
}

static void test_missing_c_file(void **state)
{
	fx *f = *state;

	assert_int_equal(load(f, "nope.ini", NULL, NULL, 0), MD_ERR_CONFIG);
	assert_string_equal(f->err.file, "nope.ini");
	assert_int_equal(f->err.code, MD_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "No such file"));
	assert_null(f->cfg);
}

/* ---- every section --------------------------------------------------------- */

static void test_every_section(void **state)
{
	fx *f = *state;

	make_dir("conf");
	make_dir("conf/sql");
	make_dir("conf/sql/todo");
	make_dir("conf/sql/done");
	make_dir("old");
	write_file("conf/migdeck.ini",
		   "; a comment\n"
		   "# another\n"
		   "[database]\n"
		   "conninfo = 'host=db.internal port=6432 dbname=app user=bob'\n"
		   "\n"
		   "[workspace]\n"
		   "pending = sql/todo/\n"
		   "applied = ./sql/done\n"
		   "archive = ../old\n"
		   "[history]\n"
		   "schema = ops\n"
		   "table = \"Versions\"\n"
		   "[Run]\n"
		   "  lock_timeout = 5s   ; inline comment\n"
		   "statement_timeout = 2min\n"
		   "transaction = ALL\n"
		   "[git]\n"
		   "commit = no\n"
		   "author_name = Deploy Bot\n"
		   "author_email = deploy@example.org\n"
		   "[placeholders]\n"
		   "Schema_Name = sales\n"
		   "owner = 'app owner'\n"
		   "empty =\n");
	assert_int_equal(load(f, "conf/migdeck.ini", NULL, NULL, 0), MD_OK);
	assert_int_equal(f->nwarn, 0);
	assert_string_equal(f->cfg->ini_path, "conf/migdeck.ini");
	assert_string_equal(f->cfg->base_dir, path_in(f, "conf"));
	assert_string_equal(f->cfg->database, "host=db.internal port=6432 dbname=app user=bob");
	assert_int_equal(f->cfg->database_key, MD_CFG_DB_CONNINFO);
	assert_string_equal(f->cfg->pending_dir, path_in(f, "conf/sql/todo"));
	assert_string_equal(f->cfg->applied_dir, path_in(f, "conf/sql/done"));
	assert_string_equal(f->cfg->archive_dir, path_in(f, "conf/../old"));
	assert_string_equal(f->cfg->history_schema, "ops");
	assert_string_equal(f->cfg->history_table, "Versions");
	assert_string_equal(f->cfg->lock_timeout, "5s");
	assert_int_equal(f->cfg->lock_timeout_ms, 5000);
	assert_int_equal(f->cfg->values[MD_CFG_LOCK_TIMEOUT].line, 14);
	assert_int_equal(f->cfg->values[MD_CFG_LOCK_TIMEOUT].col, 18);
	assert_string_equal(f->cfg->statement_timeout, "2min");
	assert_int_equal(f->cfg->statement_timeout_ms, 120000);
	assert_int_equal(f->cfg->transaction, MD_TX_ALL);
	assert_false(f->cfg->git_commit);
	assert_string_equal(f->cfg->git_author_name, "Deploy Bot");
	assert_string_equal(f->cfg->git_author_email, "deploy@example.org");
	assert_int_equal(f->cfg->nplaceholders, 3);
	assert_string_equal(f->cfg->placeholders[0].name, "Schema_Name");
	assert_string_equal(f->cfg->placeholders[0].value, "sales");
	assert_string_equal(f->cfg->placeholders[1].name, "owner");
	assert_string_equal(f->cfg->placeholders[1].value, "app owner");
	assert_string_equal(f->cfg->placeholders[2].value, "");
	assert_int_equal(f->cfg->placeholders[2].line, 24);
}

static void test_durations(void **state)
{
	static const struct {
		const char *in, *text;
		long long ms;
	} ok[] = {
		{ "0", "0", 0 },          { "0s", "0", 0 },           { "500", "500ms", 500 },
		{ "500ms", "500ms", 500 }, { "5 s", "5s", 5000 },       { "2min", "2min", 120000 },
		{ "1h", "1h", 3600000 },   { "1d", "1d", 86400000 },   { "1500us", "1500us", 2 },
		{ "2500us", "2500us", 2 }, { "2147483647", "2147483647ms", 2147483647LL },
	};
	static const char *const bad[] = { "abc", "-1", "1.5s", "5S", "5 sec", "", "s",
					   "100us", "25d", "99999999999999999999999" };
	fx *f = *state;
	char opt[128];
	const char *ov[1] = { opt };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(opt, sizeof(opt), "run.statement_timeout=%s", ok[i].in);
		assert_int_equal(load(f, NULL, NULL, ov, 1), MD_OK);
		assert_string_equal(f->cfg->statement_timeout, ok[i].text);
		assert_int_equal(f->cfg->statement_timeout_ms, ok[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(opt, sizeof(opt), "run.statement_timeout=%s", bad[i]);
		assert_int_equal(load(f, NULL, NULL, ov, 1), MD_ERR_CONFIG);
		assert_non_null(strstr(f->err.msg, "-o run.statement_timeout="));
	}
}

static void test_bools_and_enums(void **state)
{
	static const struct {
		const char *in;
		bool on;
	} b[] = { { "on", 1 }, { "OFF", 0 }, { "true", 1 }, { "False", 0 }, { "yes", 1 },
		  { "no", 0 }, { "1", 1 }, { "0", 0 } };
	fx *f = *state;
	char opt[128];
	const char *ov[1] = { opt };
	size_t i;

	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		snprintf(opt, sizeof(opt), "git.commit=%s", b[i].in);
		assert_int_equal(load(f, NULL, NULL, ov, 1), MD_OK);
		assert_int_equal(f->cfg->git_commit, b[i].on);
	}
	snprintf(opt, sizeof(opt), "run.transaction=none");
	assert_int_equal(load(f, NULL, NULL, ov, 1), MD_OK);
	assert_int_equal(f->cfg->transaction, MD_TX_NONE);
	snprintf(opt, sizeof(opt), "run.transaction=Per-Migration");
	assert_int_equal(load(f, NULL, NULL, ov, 1), MD_OK);
	assert_int_equal(f->cfg->transaction, MD_TX_PER_MIGRATION);
	assert_string_equal(f->cfg->values[MD_CFG_TRANSACTION].text, "per-migration");
}

/* ---- precedence ------------------------------------------------------------- */

static void test_precedence_timeout(void **state)
{
	fx *f = *state;
	const char *ov[] = { "run.lock_timeout=9s" };
	char *out;

	write_file("migdeck.ini", "[run]\n\nlock_timeout = 5s\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_int_equal(f->cfg->lock_timeout_ms, 5000);
	out = print_cfg(f->cfg);
	assert_non_null(strstr(out, "run.lock_timeout = 5s  (migdeck.ini:3)\n"));
	assert_non_null(strstr(out, "run.statement_timeout = 0  (default)\n"));
	free(out);

	setenv("MIGDECK_RUN_LOCK_TIMEOUT", "7s", 1);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_int_equal(f->cfg->lock_timeout_ms, 7000);
	assert_int_equal(md_config_source(f->cfg, MD_CFG_LOCK_TIMEOUT), MD_CFG_SRC_ENV);
	out = print_cfg(f->cfg);
	assert_non_null(strstr(out, "run.lock_timeout = 7s  (env MIGDECK_RUN_LOCK_TIMEOUT)\n"));
	free(out);

	assert_int_equal(load(f, NULL, NULL, ov, 1), MD_OK);
	assert_int_equal(f->cfg->lock_timeout_ms, 9000);
	assert_string_equal(f->cfg->lock_timeout, "9s");
	out = print_cfg(f->cfg);
	assert_non_null(strstr(out, "run.lock_timeout = 9s  (flag)\n"));
	free(out);

	/* an empty variable counts as unset */
	setenv("MIGDECK_RUN_LOCK_TIMEOUT", "", 1);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_int_equal(f->cfg->lock_timeout_ms, 5000);
}

static void test_precedence_database(void **state)
{
	fx *f = *state;
	const char *ov[] = { "database.conninfo=dbname=fromflag" };
	char *out;

	write_file("migdeck.ini", "[database]\nurl = postgres://inihost/inidb\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_string_equal(f->cfg->database, "postgres://inihost/inidb");
	assert_int_equal(md_config_source(f->cfg, MD_CFG_DB_URL), MD_CFG_SRC_FILE);

	setenv("DATABASE_URL", "postgresql://envhost/envdb", 1);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_string_equal(f->cfg->database, "postgresql://envhost/envdb");
	out = print_cfg(f->cfg);
	assert_non_null(strstr(out, "database.url = postgresql://envhost/envdb  (env DATABASE_URL)\n"));
	free(out);

	/* a conninfo in DATABASE_URL is taken as a conninfo */
	setenv("DATABASE_URL", "host=envhost dbname=envdb", 1);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_int_equal(f->cfg->database_key, MD_CFG_DB_CONNINFO);
	assert_string_equal(f->cfg->database, "host=envhost dbname=envdb");
	assert_null(md_config_get(f->cfg, MD_CFG_DB_URL)); /* the ini's url gave way */

	assert_int_equal(load(f, NULL, NULL, ov, 1), MD_OK);
	assert_string_equal(f->cfg->database, "dbname=fromflag");

	assert_int_equal(load(f, NULL, "postgres://flaghost/flagdb", ov, 1), MD_OK);
	assert_string_equal(f->cfg->database, "postgres://flaghost/flagdb");
	assert_int_equal(f->cfg->database_key, MD_CFG_DB_URL);
	assert_int_equal(md_config_source(f->cfg, MD_CFG_DB_URL), MD_CFG_SRC_FLAG);
	out = print_cfg(f->cfg);
	assert_non_null(strstr(out, "database.url = postgres://flaghost/flagdb  (flag)\n"));
	assert_null(strstr(out, "database.conninfo"));
	free(out);
}

static void test_pg_env_drops_ini_option(void **state)
{
	fx *f = *state;
	const char **kw, **vals;
	char *disp;

	write_file("migdeck.ini",
		   "[database]\nconninfo = host=inihost port=5433 dbname=app user=bob\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_int_equal(md_config_conn_params(f->cfg, &kw, &vals, &f->err), MD_OK);
	assert_string_equal(param(kw, vals, "host"), "inihost");
	assert_string_equal(param(kw, vals, "port"), "5433");
	md_config_free_params(kw, vals);

	setenv("PGHOST", "envhost", 1);
	setenv("PGUSER", "alice", 1);
	assert_int_equal(md_config_conn_params(f->cfg, &kw, &vals, &f->err), MD_OK);
	assert_null(param(kw, vals, "host"));
	assert_null(param(kw, vals, "user"));
	assert_string_equal(param(kw, vals, "port"), "5433");
	assert_string_equal(param(kw, vals, "dbname"), "app");
	md_config_free_params(kw, vals);
	disp = md_config_conn_display(f->cfg);
	assert_string_equal(disp, "host=envhost port=5433 dbname=app user=alice");
	free(disp);

	/* -d wins over everything, PG* variables included */
	assert_int_equal(load(f, NULL, "host=flaghost user=bob", NULL, 0), MD_OK);
	assert_int_equal(md_config_conn_params(f->cfg, &kw, &vals, &f->err), MD_OK);
	assert_string_equal(param(kw, vals, "host"), "flaghost");
	assert_string_equal(param(kw, vals, "user"), "bob");
	assert_null(param(kw, vals, "port"));
	md_config_free_params(kw, vals);

	/* DATABASE_URL is explicit too: PG* only fill in what it leaves out */
	setenv("DATABASE_URL", "postgres://urlhost/urldb", 1);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_int_equal(md_config_conn_params(f->cfg, &kw, &vals, &f->err), MD_OK);
	assert_string_equal(param(kw, vals, "host"), "urlhost");
	assert_string_equal(param(kw, vals, "dbname"), "urldb");
	md_config_free_params(kw, vals);
}

/* ---- warnings ------------------------------------------------------------------ */

static void test_unknown_key_and_section_warnings(void **state)
{
	fx *f = *state;

	write_file("migdeck.ini",
		   "[run]\n"
		   "lock_timeout = 1s\n"
		   "lock_timout = 2s\n"
		   "foo = 1\n"
		   "\n"
		   "[bar]\n"
		   "x = 1\n"
		   "[histroy]\n"
		   "[database]\n"
		   "password = hunter22\n"
		   "[run]\n"
		   "lock_timeout = 3s\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_int_equal(f->nwarn, 6);
	assert_string_equal(f->warn[0],
			    "migdeck.ini:2: [run] lock_timeout is set again on line 12, which wins");
	assert_string_equal(f->warn[1], "migdeck.ini:3: unknown key 'lock_timout' in [run] "
					"(did you mean 'lock_timeout'?)");
	assert_string_equal(f->warn[2], "migdeck.ini:4: unknown key 'foo' in [run]");
	assert_string_equal(f->warn[3], "migdeck.ini:6: unknown section [bar]");
	assert_string_equal(f->warn[4],
			    "migdeck.ini:8: unknown section [histroy] (did you mean 'history'?)");
	assert_non_null(strstr(f->warn[5], "migdeck.ini:10: [database] password is ignored"));
	assert_null(strstr(f->warn[5], "hunter22"));
	/* loading went on */
	assert_int_equal(f->cfg->lock_timeout_ms, 3000);
	assert_int_equal(f->cfg->values[MD_CFG_LOCK_TIMEOUT].line, 12);
}

static void test_key_outside_section(void **state)
{
	fx *f = *state;

	write_file("migdeck.ini", "stray = 1\n[run]\nlock_timeout = 1s\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_int_equal(f->nwarn, 1);
	assert_string_equal(f->warn[0], "migdeck.ini:1: key 'stray' is outside any [section]");
}

/* ---- invalid values ----------------------------------------------------------- */

static void expect_error(fx *f, const char *ini, unsigned line, unsigned col,
			 const char *msg_part)
{
	write_file("bad.ini", ini);
	assert_int_equal(load(f, "bad.ini", NULL, NULL, 0), MD_ERR_CONFIG);
	assert_null(f->cfg);
	assert_int_equal(f->err.code, MD_ERR_CONFIG);
	assert_string_equal(f->err.file, "bad.ini");
	if (line != f->err.line || col != f->err.col || !strstr(f->err.msg, msg_part))
		fail_msg("%s:%u:%u: %s (wanted %u:%u and '%s')", f->err.file, f->err.line,
			 f->err.col, f->err.msg, line, col, msg_part);
}

static void test_invalid_values(void **state)
{
	fx *f = *state;
	char line[300], big[100];

	/* the example of the brief, to the column */
	expect_error(f, "; 1\n; 2\n; 3\n[run]\n; 5\n\nlock_timeout = \"abc\"\n", 7, 17,
		     "[run] lock_timeout: \"abc\" is not a duration (use e.g. 5s, 500ms, 2min)");
	expect_error(f, "[run]\nlock_timeout = abc\n", 2, 16, "[run] lock_timeout: \"abc\"");
	expect_error(f, "[run]\n\tstatement_timeout=1.5s\n", 2, 20,
		     "[run] statement_timeout: \"1.5s\" is not a duration");
	expect_error(f, "[run]\nlock_timeout = 30d\n", 2, 16, "is too long");
	expect_error(f, "[run]\ntransaction = sometimes\n", 2, 15,
		     "[run] transaction: \"sometimes\" is not one of per-migration, all, none");
	expect_error(f, "[git]\ncommit = maybe\n", 2, 10, "[git] commit: \"maybe\" is not on or off");
	expect_error(f, "[git]\nauthor_name = Bob <bob>\n", 2, 15, "[git] author_name:");
	expect_error(f, "[history]\ntable = ''\n", 2, 9, "[history] table: an empty name");
	memset(big, 'x', 64);
	big[64] = '\0';
	snprintf(line, sizeof(line), "[history]\nschema = %s\n", big);
	expect_error(f, line, 2, 10, "[history] schema: \"xxxx");
	expect_error(f, line, 2, 10, "longer than 63 bytes");
	expect_error(f, "[database]\nurl = postgres://host:notaport/db\n", 2, 7,
		     "[database] url: invalid port number \"notaport\"");
	expect_error(f, "[database]\nurl = postgresql://[::1\n", 2, 7,
		     "[database] url: end of string reached when looking for matching \"]\"");
	expect_error(f, "[database]\nurl = host=x\n", 2, 7, "is not a postgres:// URL");
	expect_error(f, "[database]\nconninfo = host=x nosuch=1\n", 2, 12,
		     "invalid connection option \"nosuch\"");
	expect_error(f, "[database]\nconninfo = postgres://h/db\n", 2, 12, "use url =");
	expect_error(f, "[database]\nurl = postgres://h/db\n\nconninfo = host=h\n", 4, 12,
		     "set either conninfo or url, not both (url is on line 2)");
	/* a continued value: the line of the error is still right */
	expect_error(f, "[placeholders]\nlong = a \\\n  b \\\n  c\n[run]\nlock_timeout = x\n", 6, 16,
		     "lock_timeout");
	/* a value that starts on a continuation line */
	expect_error(f, "[run]\nstatement_timeout = 1s\nlock_timeout = \\\n  abc\n", 4, 3,
		     "[run] lock_timeout: \"abc\"");
	expect_error(f, "[history]\nschema = public\n[run]\nlock_timeout = \"5 sé\"\n", 4, 17,
		     "is not a duration");
}

static void test_missing_folder(void **state)
{
	fx *f = *state;
	const char *ov[] = { "workspace.archive=nowhere" };

	make_dir("pending");
	write_file("migdeck.ini", "[workspace]\npending = pending\napplied = sql/applied\n");
	expect_error(f, "[workspace]\npending = pending\napplied = sql/applied\n", 3, 11,
		     "[workspace] applied: folder \"sql/applied\" does not exist");
	write_file("plain", "");
	expect_error(f, "[workspace]\narchive = plain\n", 2, 11, "is not a folder");

	/* defaults that do not exist are fine */
	write_file("migdeck.ini", "[workspace]\npending = pending\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_string_equal(f->cfg->applied_dir, path_in(f, "applied"));

	assert_int_equal(load(f, NULL, NULL, ov, 1), MD_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "-o workspace.archive=nowhere: folder \"nowhere\""));
	assert_string_equal(f->err.file, "");
}

static void test_syntax_error(void **state)
{
	fx *f = *state;
	char errbuf[4096] = "";
	FILE *cap = tmpfile();
	int saved = dup(fileno(stderr));
	size_t n;

	/* iniparser's own message must not reach stderr */
	assert_non_null(cap);
	fflush(stderr);
	dup2(fileno(cap), fileno(stderr));
	write_file("migdeck.ini", "[run]\nlock_timeout = 1s\nthis is not ini\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	fflush(stderr);
	dup2(saved, fileno(stderr));
	close(saved);
	rewind(cap);
	n = fread(errbuf, 1, sizeof(errbuf) - 1, cap);
	fclose(cap);
	assert_int_equal(n, 0);

	assert_string_equal(f->err.file, "migdeck.ini");
	assert_int_equal(f->err.line, 3);
	assert_non_null(strstr(f->err.msg, "syntax error"));
	assert_non_null(strstr(f->err.msg, "\"this is not ini\""));

	write_file("migdeck.ini", "[run] ; comment\nlock_timeout = 1s\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_int_equal(f->err.line, 1);
	assert_non_null(strstr(f->err.msg, "section header stands alone"));
}

/* ---- flags and environment errors ----------------------------------------------- */

static void test_flag_and_env_errors(void **state)
{
	fx *f = *state;
	const char *bad_value[] = { "run.lock_timeout=abc" };
	const char *bad_key[] = { "run.lock_timout=1s" };
	const char *bad_sec[] = { "rn.lock_timeout=1s" };
	const char *no_eq[] = { "run.lock_timeout" };
	const char *both[] = { "database.url=postgres://a/b", "database.conninfo=host=c" };

	assert_int_equal(load(f, NULL, NULL, bad_value, 1), MD_ERR_CONFIG);
	assert_string_equal(f->err.msg, "-o run.lock_timeout=abc: \"abc\" is not a duration "
					"(use e.g. 5s, 500ms, 2min)");
	assert_int_equal(f->err.line, 0);
	assert_int_equal(load(f, NULL, NULL, bad_key, 1), MD_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "unknown key 'lock_timout' in [run] "
					   "(did you mean 'lock_timeout'?)"));
	assert_int_equal(load(f, NULL, NULL, bad_sec, 1), MD_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "unknown section [rn]"));
	assert_int_equal(load(f, NULL, NULL, no_eq, 1), MD_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "expected section.key=value"));
	assert_int_equal(load(f, NULL, NULL, both, 2), MD_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "not both"));

	setenv("MIGDECK_RUN_TRANSACTION", "sometimes", 1);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_string_equal(f->err.msg, "$MIGDECK_RUN_TRANSACTION: \"sometimes\" is not one of "
					"per-migration, all, none");
	unsetenv("MIGDECK_RUN_TRANSACTION");

	setenv("DATABASE_URL", "postgres://h:0/db", 1);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "$DATABASE_URL: invalid port number \"0\""));
	unsetenv("DATABASE_URL");

	assert_int_equal(load(f, NULL, "postgresql://[::1", NULL, 0), MD_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "-d postgresql://[::1: end of string"));
}

/* ---- passwords ------------------------------------------------------------------- */

static void assert_no_secret(const char *s, const char *secret)
{
	assert_non_null(s);
	if (strstr(s, secret))
		fail_msg("password leaked: %s", s);
}

static void test_password_masking(void **state)
{
	fx *f = *state;
	const char *ov[] = { "database.url=postgres://bob:Flag5ecret@h:notaport/db" };
	char *out, *disp;

	write_file("migdeck.ini", "[database]\nurl = postgres://bob:S3cretPW@dbhost:5432/app\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	out = print_cfg(f->cfg);
	assert_no_secret(out, "S3cretPW");
	assert_non_null(strstr(out, "database.url = postgres://bob:****@dbhost:5432/app  "
				    "(migdeck.ini:2)\n"));
	free(out);
	disp = md_config_conn_display(f->cfg);
	assert_string_equal(disp, "postgres://bob:****@dbhost:5432/app");
	free(disp);

	/* a PG* variable that changes the target: shown as key=value, masked */
	setenv("PGPORT", "6543", 1);
	disp = md_config_conn_display(f->cfg);
	assert_string_equal(disp, "host=dbhost port=6543 dbname=app user=bob password=****");
	free(disp);
	unsetenv("PGPORT");

	write_file("migdeck.ini",
		   "[database]\nconninfo = \"host=h password='S3cret PW' dbname=app\"\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	out = print_cfg(f->cfg);
	assert_no_secret(out, "S3cret");
	assert_non_null(strstr(out, "password=****"));
	free(out);
	disp = md_config_conn_display(f->cfg);
	assert_string_equal(disp, "host=h dbname=app password=****");
	free(disp);

	/* errors do not show it either */
	write_file("migdeck.ini", "[database]\nurl = postgres://bob:S3c%zzret@h/db\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "percent-encoded"));
	assert_no_secret(f->err.msg, "S3c%zzret");
	write_file("migdeck.ini", "[database]\nurl = postgresql://bob:S3cretPW@[::1\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_no_secret(f->err.msg, "S3cretPW");
	assert_non_null(strstr(f->err.msg, "postgresql://bob:****@[::1"));
	/* a short password is masked where libpq quotes the whole URL */
	write_file("migdeck.ini", "[database]\nurl = postgresql://bob:pw@[::1\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_no_secret(f->err.msg, "bob:pw@");
	assert_non_null(strstr(f->err.msg, "in URI: \"postgresql://bob:****@[::1\""));
	unlink("migdeck.ini");
	assert_int_equal(load(f, NULL, NULL, ov, 1), MD_ERR_CONFIG);
	assert_no_secret(f->err.msg, "Flag5ecret");
	assert_non_null(strstr(f->err.msg, "-o database.url=postgres://bob:****@h:notaport/db"));
	assert_int_equal(load(f, NULL, "host=h password=D5ecret port=x", NULL, 0), MD_ERR_CONFIG);
	assert_no_secret(f->err.msg, "D5ecret");
}

static void test_redact(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "postgres://u:pw1234@h/db", "postgres://u:****@h/db" },
		{ "postgresql://u@h/db?password=pw1234&sslmode=require",
		  "postgresql://u@h/db?password=****&sslmode=require" },
		{ "postgres://u:a%40b@h/db?pass%77ord=pw1234",
		  "postgres://u:****@h/db?pass%77ord=****" },
		{ "postgres://u@h/db", "postgres://u@h/db" },
		{ "postgres://u:@h/db", "postgres://u:@h/db" },
		{ "dbname=app host=h password=pw1234", "host=h dbname=app password=****" },
		{ "host=h password = 'p w\\'1234' user=u", "host=h user=u password=****" },
		{ "host='a b'", "host='a b'" },
		/* not parseable: masked as far as it can be read */
		{ "host=h password='pw1234 nosuch=1", "host=h password=****" },
		{ "host=h nosuch=1 password=pw1234", "host=h nosuch=1 password=****" },
		{ "host=h junk password pw1234", "host=h junk ****" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = md_conninfo_redact(cases[i].in);

		assert_non_null(r);
		assert_no_secret(r, "pw1234");
		if (strcmp(r, cases[i].out))
			fail_msg("redact(%s) = %s, wanted %s", cases[i].in, r, cases[i].out);
		free(r);
	}
	assert_null(md_conninfo_redact(NULL));
}

/* ---- placeholders ------------------------------------------------------------------ */

static void test_placeholders(void **state)
{
	fx *f = *state;
	const char *ov[] = { "placeholders.Owner=flagowner", "placeholders.NewOne=42" };
	const md_cfg_pair *pairs;
	size_t n;
	char *out;

	write_file("migdeck.ini",
		   "[placeholders]\n"
		   "TargetSchema = sales\n"
		   "owner = app\n"
		   "semi = \"a;b\"\n"
		   "[run]\n"
		   "[placeholders]\n"
		   "late = 1\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_string_equal(md_config_placeholder("TargetSchema", f->cfg), "sales");
	assert_string_equal(md_config_placeholder("targetschema", f->cfg), "sales");
	assert_string_equal(md_config_placeholder("semi", f->cfg), "a;b");
	assert_string_equal(md_config_placeholder("late", f->cfg), "1");
	assert_null(md_config_placeholder("nosuch", f->cfg));
	assert_null(md_config_placeholder("x", NULL));
	pairs = md_config_section_pairs(f->cfg, MD_CFG_SEC_PLACEHOLDERS, &n);
	assert_int_equal(n, 4);
	assert_string_equal(pairs[0].name, "TargetSchema");
	assert_string_equal(pairs[3].name, "late");
	assert_null(md_config_section_pairs(f->cfg, MD_CFG_SEC_RUN, &n));
	assert_int_equal(n, 0);
	out = print_cfg(f->cfg);
	assert_non_null(strstr(out, "placeholders.TargetSchema = sales  (migdeck.ini:2)\n"));
	free(out);

	assert_int_equal(load(f, NULL, NULL, ov, 2), MD_OK);
	assert_int_equal(f->cfg->nplaceholders, 5);
	assert_string_equal(md_config_placeholder("OWNER", f->cfg), "flagowner");
	assert_string_equal(f->cfg->placeholders[1].name, "owner");
	assert_int_equal(f->cfg->placeholders[1].source, MD_CFG_SRC_FLAG);
	assert_string_equal(f->cfg->placeholders[4].name, "NewOne");
	assert_string_equal(md_config_placeholder("newone", f->cfg), "42");
}

/* ---- the table itself -------------------------------------------------------------- */

static void test_table_defaults_are_valid(void **state)
{
	int k;

	(void)state;
	/* every row names a known section and every default passed its own
	 * validator in test_defaults; here: ids line up with rows */
	for (k = 0; k < MD_CFG_NKEYS; k++) {
		assert_true(md_cfg_keys[k].section < MD_CFG_NSECTIONS);
		assert_non_null(md_cfg_keys[k].key);
		assert_non_null(md_cfg_keys[k].help);
		assert_true(md_cfg_keys[k].type != MD_CFG_T_ENUM || md_cfg_keys[k].choices);
	}
	assert_string_equal(md_cfg_keys[MD_CFG_LOCK_TIMEOUT].key, "lock_timeout");
	assert_string_equal(md_cfg_sections[md_cfg_keys[MD_CFG_GIT_COMMIT].section].name, "git");
	assert_string_equal(md_cfg_source_name(MD_CFG_SRC_ENV), "env");
	md_config_free(NULL);
}

/* ---- the documentation and the example follow the table ---------------------- */

/* A file of the source tree (tests run from its top), or NULL. */
static char *read_source_file(const fx *f, const char *rel)
{
	char path[PATH_MAX * 2], *buf;
	FILE *fp;
	long len;

	snprintf(path, sizeof(path), "%s/%s", f->oldcwd, rel);
	fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	return buf;
}

static void test_doc_and_example_follow_table(void **state)
{
	fx *f = *state;
	char *doc = read_source_file(f, "doc/configuration.md");
	char *ex = read_source_file(f, "migdeck.ini.example");
	char want[256];
	int k;

	if (!doc || !ex) {
		free(doc);
		free(ex);
		skip(); /* not run from the top of the source tree */
	}
	for (k = 0; k < MD_CFG_NKEYS; k++) {
		const md_cfg_key *key = &md_cfg_keys[k];
		const char *sec = md_cfg_sections[key->section].name;

		snprintf(want, sizeof(want), "`[%s] %s`", sec, key->key);
		if (!strstr(doc, want))
			fail_msg("doc/configuration.md does not describe %s", want);
		if (key->env && !strstr(doc, key->env))
			fail_msg("doc/configuration.md does not name $%s", key->env);
		snprintf(want, sizeof(want), "\n%s = ", key->key);
		if (!strstr(ex, want)) {
			snprintf(want, sizeof(want), "\n;%s = ", key->key);
			if (!strstr(ex, want))
				fail_msg("migdeck.ini.example does not show %s.%s", sec, key->key);
		}
	}
	for (k = 0; k < MD_CFG_NSECTIONS; k++) {
		snprintf(want, sizeof(want), "\n[%s]\n", md_cfg_sections[k].name);
		if (!strstr(ex, want))
			fail_msg("migdeck.ini.example has no %s", want + 1);
	}

	/* and the example itself loads cleanly */
	write_file("migdeck.ini", ex);
	free(doc);
	free(ex);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_int_equal(f->nwarn, 0);
	assert_int_equal(f->cfg->lock_timeout_ms, 5000);
	assert_non_null(f->cfg->database);
	assert_non_null(md_config_placeholder("app_schema", f->cfg));
}


/* ---- targets and groups ------------------------------------------------- */

static const char targets_ini[] =
	"[database]\n"
	"url = postgres://devhost/dev\n"
	"lock_timeout = 1s\n"
	"[run]\n"
	"lock_timeout = 2s\n"
	"[target.staging]\n"
	"url = postgres://stagehost/app\n"
	"[target.Prod]\n"
	"conninfo = host=prodhost dbname=app\n"
	"production = true\n"
	"backup = pg_dump\n"
	"lock_timeout = 5s\n"
	"[group.all]\n"
	"targets = staging, prod\n"
	"[group.tenants]\n"
	"query = SELECT datname FROM pg_database\n"
	"members = databases\n"
	"target = prod\n";

static void test_targets(void **state)
{
	fx *f = *state;
	const char *ov[] = { "run.lock_timeout=9s" };
	const md_cfg_group *g;
	md_config *m = NULL;
	md_error err;
	char *out;

	write_file("migdeck.ini", targets_ini);
	/* no target: [database] and [run] as written */
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_string_equal(f->cfg->database, "postgres://devhost/dev");
	assert_null(f->cfg->target);
	assert_string_equal(md_config_label(f->cfg), "default");
	assert_int_equal(f->cfg->production, 0);
	assert_int_equal(f->cfg->tracked, 1);
	assert_int_equal(f->cfg->ntargets, 2);
	assert_non_null(md_config_target(f->cfg, "PROD"));
	assert_null(md_config_target(f->cfg, "nope"));

	/* --target: the target's keys win over the sections' */
	{
		md_config_opts o = { 0 };

		md_config_free(f->cfg);
		o.target = "prod";
		o.warn = on_warn;
		o.warn_payload = f;
		assert_int_equal(md_config_load(&f->cfg, &o, &f->err), MD_OK);
	}
	assert_string_equal(f->cfg->target, "prod");
	assert_string_equal(f->cfg->database, "host=prodhost dbname=app");
	assert_int_equal(f->cfg->database_key, MD_CFG_DB_CONNINFO);
	assert_null(md_config_get(f->cfg, MD_CFG_DB_URL)); /* the url gave way */
	assert_int_equal(f->cfg->production, 1);
	assert_int_equal(f->cfg->backup_pg_dump, 1);
	assert_int_equal(f->cfg->lock_timeout_ms, 5000);
	assert_int_equal(md_config_source(f->cfg, MD_CFG_LOCK_TIMEOUT), MD_CFG_SRC_TARGET);
	out = print_cfg(f->cfg);
	assert_non_null(strstr(out, "run.lock_timeout = 5s  (target prod "));
	free(out);

	/* a derived config: another target, then a member database */
	assert_int_equal(md_config_derive(f->cfg, "staging", NULL, NULL, NULL, &m, &err), MD_OK);
	assert_string_equal(m->database, "postgres://stagehost/app");
	assert_int_equal(m->production, 0);     /* prod's keys do not leak */
	assert_int_equal(m->lock_timeout_ms, 2000);
	assert_string_equal(md_config_label(m), "staging");
	md_config_free(m);
	g = md_config_group(f->cfg, "tenants");
	assert_non_null(g);
	assert_int_equal(g->kind, MD_GROUP_DATABASES);
	assert_string_equal(g->target, "prod");
	assert_int_equal(md_config_derive(f->cfg, g->target, "tenant_7", NULL, "tenant_7", &m, &err),
			 MD_OK);
	assert_non_null(strstr(m->database, "host=prodhost"));
	assert_non_null(strstr(m->database, "dbname=tenant_7"));
	assert_null(strstr(m->database, "dbname=app"));
	assert_int_equal(m->production, 1);
	assert_int_equal(m->tracked, 0);
	assert_string_equal(md_config_label(m), "tenant_7");
	md_config_free(m);
	/* a tenant schema: the history lives there too */
	assert_int_equal(md_config_derive(f->cfg, NULL, NULL, "acme", "acme", &m, &err), MD_OK);
	assert_string_equal(m->schema, "acme");
	assert_string_equal(m->history_schema, "acme");
	assert_string_equal(m->database, "postgres://devhost/dev");
	md_config_free(m);
	assert_int_equal(md_config_derive(f->cfg, "nope", NULL, NULL, NULL, &m, &err), MD_ERR_CONFIG);
	assert_null(m);

	g = md_config_group(f->cfg, "ALL");
	assert_non_null(g);
	assert_int_equal(g->kind, MD_GROUP_TARGETS);
	assert_int_equal(g->ntargets, 2);
	assert_string_equal(g->targets[1], "prod");

	/* a flag still beats the target */
	{
		md_config_opts o = { 0 };

		md_config_free(f->cfg);
		o.target = "prod";
		o.overrides = ov;
		o.noverrides = 1;
		o.database = "postgres://flaghost/x";
		assert_int_equal(md_config_load(&f->cfg, &o, &f->err), MD_OK);
	}
	assert_int_equal(f->cfg->lock_timeout_ms, 9000);
	assert_string_equal(f->cfg->database, "postgres://flaghost/x");
	assert_int_equal(f->cfg->production, 1);

	/* $MIGDECK_TARGET, and an unknown one names the targets there are */
	setenv("MIGDECK_TARGET", "staging", 1);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_string_equal(f->cfg->target, "staging");
	setenv("MIGDECK_TARGET", "qa", 1);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "no [target.qa]"));
	assert_non_null(strstr(f->err.msg, "staging, prod"));
	unsetenv("MIGDECK_TARGET");
}

static void test_tracks(void **state)
{
	fx *f = *state;
	char ini[1024];

	snprintf(ini, sizeof(ini), "%s[workspace]\ntracks = staging\n", targets_ini);
	write_file("migdeck.ini", ini);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_string_equal(f->cfg->target, "staging"); /* the default target */
	assert_int_equal(f->cfg->tracked, 1);
	{
		md_config_opts o = { 0 };

		md_config_free(f->cfg);
		o.target = "prod";
		assert_int_equal(md_config_load(&f->cfg, &o, &f->err), MD_OK);
	}
	assert_int_equal(f->cfg->tracked, 0);     /* files stay where they are */

	snprintf(ini, sizeof(ini), "%s[workspace]\ntracks = qa\n", targets_ini);
	write_file("migdeck.ini", ini);
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_non_null(strstr(f->err.msg, "tracks"));
	assert_non_null(strstr(f->err.msg, "no [target.qa]"));
	assert_int_equal(f->err.line, 20);
}

static void test_target_errors(void **state)
{
	fx *f = *state;

	/* a bad value inside a target: file, line, column and the section */
	write_file("migdeck.ini", "[target.prod]\nurl = postgres://h/db\nlock_timeout = 5 parsecs\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_int_equal(f->err.line, 3);
	assert_int_equal(f->err.col, 16);
	assert_non_null(strstr(f->err.msg, "[target.prod] lock_timeout"));

	write_file("migdeck.ini", "[target.prod]\nurl = postgres://h/db\nconninfo = dbname=x\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_int_equal(f->err.line, 3);
	assert_non_null(strstr(f->err.msg, "not both"));

	/* an unknown key warns, naming the section */
	write_file("migdeck.ini", "[target.prod]\nurl = postgres://h/db\ncolour = red\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_OK);
	assert_int_equal(f->nwarn, 1);
	assert_non_null(strstr(f->warn[0], "migdeck.ini:3: unknown key 'colour' in [target.prod]"));

	/* groups: an unknown member target, both or neither of targets/query */
	write_file("migdeck.ini", "[target.a]\nurl = postgres://h/a\n[group.g]\ntargets = a, b\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_int_equal(f->err.line, 4);
	assert_non_null(strstr(f->err.msg, "[group.g] targets: no [target.b]"));
	write_file("migdeck.ini", "[group.g]\nmembers = schemas\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_int_equal(f->err.line, 1);
	assert_non_null(strstr(f->err.msg, "set targets = a, b, c or a query"));
	write_file("migdeck.ini", "[group.g]\nquery = SELECT 1\nmembers = tables\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_int_equal(f->err.line, 3);
	assert_non_null(strstr(f->err.msg, "databases or schemas"));
	write_file("migdeck.ini", "[target.a b]\nurl = postgres://h/a\n");
	assert_int_equal(load(f, NULL, NULL, NULL, 0), MD_ERR_CONFIG);
	assert_int_equal(f->err.line, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finds_ini_in_cwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migdeck_config_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_c_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_section, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bools_and_enums, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_env_drops_ini_option, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key_and_section_warnings, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_key_outside_section, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flag_and_env_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_masking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_placeholders, setup, teardown),
		cmocka_unit_test(test_table_defaults_are_valid),
		cmocka_unit_test_setup_teardown(test_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tracks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doc_and_example_follow_table, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
