/* test_parity.c - the engine splits a file into exactly the statements psql
 * sends to the server.
 *
 * For each file: run it through psql (-X -q -v ON_ERROR_STOP=0) against a
 * fresh database that has log_statement = 'all', collect the statements the
 * server logged for that database, split the same file with md_script_next,
 * and compare the two lists byte for byte.
 *
 * The files are SQL this project did not write: the base install scripts of
 * the extensions in the server's share directory (NAME--VERSION.sql, not the
 * NAME--A--B.sql upgrades) plus information_schema.sql, system_views.sql and
 * system_functions.sql, cleaned the same way for both sides (psql
 * meta-command lines removed; @extschema@, @extowner@ and MODULE_PATHNAME
 * replaced), and a few hand-written tricky cases.
 *
 * Reading the log: every line starts with '@@MD@@|<database>|<pid>| '
 * (tests/pg_harness.sh sets log_line_prefix); a line that does not is a
 * continuation of the previous message, written as a newline and a TAB.
 * "LOG:  statement: <text>" is a statement that passed the raw parser;
 * "STATEMENT:  <text>" after an ERROR is the statement that failed, which is
 * the only trace of one the raw parser rejected (one that failed later was
 * logged already and shows up twice).  psql is told to run
 * SELECT 'md_parity_sentinel_<n>' after the file; once that is in the log,
 * everything before it is too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "script.h"
#include "../support/pgtest.h"

extern char **environ;

#define MIN_SHARE_FILES 30
#define SHOW_CHARS 300
#define LOG_WAIT_MS 10000

/* ---- a list of strings ------------------------------------------------- */

typedef struct strlist {
	char **v;
	size_t n, cap;
} strlist;

static void sl_push(strlist *l, char *s)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		char **nv = realloc(l->v, ncap * sizeof(*nv));

		assert_non_null(nv);
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = s;
}

static void sl_free(strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- a growing buffer ------------------------------------------------------ */

typedef struct buf {
	char *p;
	size_t len, cap;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		char *np;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		np = realloc(b->p, ncap);
		assert_non_null(np);
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_adds(buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* ---- files ---------------------------------------------------------------------- */

/* The file from byte offset on. */
static char *read_from(const char *path, long offset, size_t *len)
{
	FILE *f = fopen(path, "rb");
	buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (!f)
		return NULL;
	if (offset > 0 && fseek(f, offset, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return b.p;
}

static char *read_all(const char *path, size_t *len)
{
	return read_from(path, 0, len);
}

static void write_all(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* ---- cleaning ------------------------------------------------------------- */

/* Drop lines starting with a backslash (psql meta-commands such as
 * "\echo Use ... \quit"); replace @extschema@, @extowner@, MODULE_PATHNAME. */
static char *clean_script(const char *src, size_t len, const char *ext, size_t *outlen)
{
	static const char *const from[] = { "@extschema@", "@extowner@", "MODULE_PATHNAME" };
	char module[512];
	const char *to[3];
	buf b = { 0 };
	size_t p = 0;

	snprintf(module, sizeof(module), "$libdir/%s", ext);
	to[0] = "public";
	to[1] = "postgres";
	to[2] = module;
	buf_add(&b, "", 0);
	while (p < len) {
		const char *nl = memchr(src + p, '\n', len - p);
		size_t eol = nl ? (size_t)(nl - src) + 1 : len, q = p;

		if (src[p] == '\\') {
			p = eol;
			continue;
		}
		while (q < eol) {
			size_t k;
			int hit = 0;

			for (k = 0; k < 3; k++) {
				size_t fl = strlen(from[k]);

				if (eol - q >= fl && memcmp(src + q, from[k], fl) == 0) {
					buf_adds(&b, to[k]);
					q += fl;
					hit = 1;
					break;
				}
			}
			if (!hit)
				buf_add(&b, src + q++, 1);
		}
		p = eol;
	}
	*outlen = b.len;
	return b.p;
}

/* ---- psql ----------------------------------------------------------------- */

static char psql_path[4096];

static const char *find_psql(void)
{
	const char *bin = getenv("MIGDECK_TEST_PGBIN");

	if (!psql_path[0]) {
		snprintf(psql_path, sizeof(psql_path), "psql");
		if (bin && *bin) {
			char p[4096];

			snprintf(p, sizeof(p), "%s/psql", bin);
			if (access(p, X_OK) == 0)
				snprintf(psql_path, sizeof(psql_path), "%s", p);
		}
	}
	return psql_path;
}

/* psql -X -q -v ON_ERROR_STOP=0 -d conninfo -f file -c sentinel; no shell,
 * all of its output to /dev/null.  Returns its wait status or -1. */
static int run_psql(const char *conninfo, const char *file, const char *sentinel)
{
	char *argv[16];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = -1, rc, i = 0;

	argv[i++] = (char *)"psql";
	argv[i++] = (char *)"-X";
	argv[i++] = (char *)"-q";
	argv[i++] = (char *)"-v";
	argv[i++] = (char *)"ON_ERROR_STOP=0";
	argv[i++] = (char *)"-d";
	argv[i++] = (char *)conninfo;
	argv[i++] = (char *)"-f";
	argv[i++] = (char *)file;
	argv[i++] = (char *)"-c";
	argv[i++] = (char *)sentinel;
	argv[i] = NULL;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, find_psql(), &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "parity: cannot run %s: %s\n", find_psql(), strerror(rc));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return st;
}

/* ---- the server log --------------------------------------------------------- */

enum { MSG_OTHER, MSG_LOG_STMT, MSG_STATEMENT };

typedef struct log_reader {
	const char *db;
	strlist *out;
	int last_was_log;   /* the last entry pushed came from "LOG:  statement:" */
	int kind;           /* of the message being read; MSG_OTHER if not ours */
	buf text;
} log_reader;

static void log_flush(log_reader *r)
{
	if (r->kind == MSG_LOG_STMT) {
		sl_push(r->out, strdup(r->text.p));
		r->last_was_log = 1;
	} else if (r->kind == MSG_STATEMENT) {
		/* a statement that failed after it was logged shows up twice */
		if (!(r->last_was_log && r->out->n &&
		      strcmp(r->out->v[r->out->n - 1], r->text.p) == 0)) {
			sl_push(r->out, strdup(r->text.p));
			r->last_was_log = 0;
		}
	}
	r->kind = MSG_OTHER;
	r->text.len = 0;
	if (r->text.p)
		r->text.p[0] = '\0';
}

static void log_line(log_reader *r, const char *line, size_t n)
{
	static const char prefix[] = "@@MD@@|";
	static const char lg[] = "LOG:  statement: ", stm[] = "STATEMENT:  ";
	size_t pl = sizeof(prefix) - 1, dl = strlen(r->db), q;

	if (n < pl || memcmp(line, prefix, pl) != 0) {
		/* a continuation line: one leading TAB is the server's */
		if (r->kind != MSG_OTHER) {
			buf_add(&r->text, "\n", 1);
			if (n && line[0] == '\t')
				buf_add(&r->text, line + 1, n - 1);
			else
				buf_add(&r->text, line, n);
		}
		return;
	}
	log_flush(r);
	if (n < pl + dl + 1 || memcmp(line + pl, r->db, dl) != 0 || line[pl + dl] != '|')
		return;
	q = pl + dl + 1;
	while (q < n && line[q] != '|')
		q++;            /* the pid */
	if (q + 2 > n || line[q + 1] != ' ')
		return;
	q += 2;
	if (n - q >= sizeof(lg) - 1 && memcmp(line + q, lg, sizeof(lg) - 1) == 0) {
		r->kind = MSG_LOG_STMT;
		q += sizeof(lg) - 1;
	} else if (n - q >= sizeof(stm) - 1 && memcmp(line + q, stm, sizeof(stm) - 1) == 0) {
		r->kind = MSG_STATEMENT;
		q += sizeof(stm) - 1;
	} else {
		return;
	}
	buf_add(&r->text, line + q, n - q);
}

/* The statements logged for db from byte offset on, up to and without the
 * sentinel statement.  Returns 1 when the sentinel was found. */
static int read_log(const char *path, long offset, const char *db, const char *sentinel,
		    strlist *out)
{
	log_reader r;
	size_t len = 0, p, end, i;
	char *all = read_from(path, offset, &len);
	int found = 0;

	assert_non_null(all);
	memset(&r, 0, sizeof(r));
	r.db = db;
	r.out = out;
	buf_add(&r.text, "", 0);
	/* only whole lines: the log may be being written */
	end = len;
	while (end > 0 && all[end - 1] != '\n')
		end--;
	for (p = 0; p < end;) {
		const char *nl = memchr(all + p, '\n', end - p);
		size_t eol = (size_t)(nl - all);

		log_line(&r, all + p, eol - p);
		p = eol + 1;
	}
	log_flush(&r);
	free(r.text.p);
	free(all);
	for (i = 0; i < out->n; i++) {
		if (strcmp(out->v[i], sentinel) == 0) {
			size_t j;

			for (j = i; j < out->n; j++)
				free(out->v[j]);
			out->n = i;
			found = 1;
			break;
		}
	}
	return found;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the engine ---------------------------------------------------------------- */

/* The text of each statement md_script_next finds, as md_sql_render gives
 * it for sending (meta-commands skipped).  Returns 0,
 * or -1 with msg filled when the engine fails on the file. */
static int engine_split(const char *name, const char *text, size_t len, strlist *out,
			char *msg, size_t msgsz)
{
	md_script s;
	md_stmt st;
	md_error err;
	int rc;

	md_error_clear(&err);
	md_script_init(&s, text, len, name);
	while ((rc = md_script_next(&s, &st, &err)) == 1) {
		char *t;
		md_sql sql;

		if (st.flags & MD_STMT_META)
			continue;
		assert_true(st.start <= st.end && st.end <= len);
		if (md_sql_render(&sql, &s, &st, NULL, NULL, &err) < 0) {
			rc = -1;
			break;
		}
		t = strdup(sql.text);
		md_sql_free(&sql);
		assert_non_null(t);
		sl_push(out, t);
	}
	if (rc < 0) {
		md_error_format(&err, msg, msgsz);
		return -1;
	}
	return 0;
}

/* ---- one file --------------------------------------------------------------- */

typedef struct parity_stats {
	unsigned files, statements, mismatches;
} parity_stats;

static unsigned sentinel_counter;

static void show(const char *what, size_t i, const strlist *l)
{
	if (i < l->n) {
		size_t n = strlen(l->v[i]);

		fprintf(stderr, "  %s [%zu bytes]:\n>>>%.*s<<<%s\n", what, n,
			(int)(n > SHOW_CHARS ? SHOW_CHARS : n), l->v[i],
			n > SHOW_CHARS ? " (cut)" : "");
	} else {
		fprintf(stderr, "  %s: (none: it has only %zu statements)\n", what, l->n);
	}
}

/* Print s[from, to) with control characters escaped. */
static void show_escaped(const char *s, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			fputs("\\n", stderr);
		else if (c == '\t')
			fputs("\\t", stderr);
		else if (c == '\r')
			fputs("\\r", stderr);
		else if (c < 0x20)
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
}

/* Where two texts first differ, with some context, escaped. */
static void show_difference(const char *a, const char *b)
{
	size_t i = 0, from, la = strlen(a), lb = strlen(b);

	while (a[i] && a[i] == b[i])
		i++;
	from = i > 40 ? i - 40 : 0;
	fprintf(stderr, "  first difference at byte %zu:\n    psql:   \"", i);
	show_escaped(a, from, i + 40 < la ? i + 40 : la);
	fprintf(stderr, "\"\n    engine: \"");
	show_escaped(b, from, i + 40 < lb ? i + 40 : lb);
	fprintf(stderr, "\"\n");
}

/* Compare what psql sent with what the engine cut from text.  Prints the
 * first difference; returns 0 when equal. */
static int parity_text(const char *label, const char *path, const char *text, size_t len,
		       parity_stats *stats)
{
	const char *log = getenv("MIGDECK_TEST_PGLOG");
	strlist sent = { 0 }, cut = { 0 };
	char sentinel[128], msg[2048], sql[256];
	pgtest_db *db;
	long off;
	int st, found = 0, waited, bad = 0;
	size_t i, n;

	assert_non_null(log);
	db = pgtest_db_create();
	assert_non_null(db);
	snprintf(sql, sizeof(sql), "ALTER DATABASE %s SET log_statement = 'all'", db->name);
	pgtest_exec(db->conn, sql);
	snprintf(sentinel, sizeof(sentinel), "SELECT 'md_parity_sentinel_%u'", ++sentinel_counter);

	off = file_size(log);
	assert_true(off >= 0);
	st = run_psql(db->conninfo, path, sentinel);
	/* 0, or 1 when the sentinel failed (an aborted transaction); 2 means
	 * the connection went bad */
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 2) {
		fprintf(stderr, "parity: %s: psql failed (wait status %d)\n", label, st);
		bad = 1;
	}
	for (waited = 0; !bad && waited <= LOG_WAIT_MS; waited += 20) {
		found = read_log(log, off, db->name, sentinel, &sent);
		if (found)
			break;
		sl_free(&sent);
		sleep_ms(20);
	}
	if (!bad && !found) {
		fprintf(stderr, "parity: %s: the sentinel never showed up in the server log\n", label);
		bad = 1;
	}
	pgtest_db_drop(db);

	if (!bad && engine_split(label, text, len, &cut, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "parity MISMATCH: %s: the engine failed: %s "
			"(psql sent %zu statements)\n", label, msg, sent.n);
		bad = 1;
	}
	if (!bad) {
		n = sent.n > cut.n ? sent.n : cut.n;
		for (i = 0; i < n; i++) {
			if (i < sent.n && i < cut.n && strcmp(sent.v[i], cut.v[i]) == 0)
				continue;
			fprintf(stderr, "parity MISMATCH: %s: statement %zu of %zu (psql) / %zu "
				"(engine) differs\n", label, i, sent.n, cut.n);
			show("psql sent", i, &sent);
			show("engine cut", i, &cut);
			if (i < sent.n && i < cut.n)
				show_difference(sent.v[i], cut.v[i]);
			bad = 1;
			break;
		}
	}
	stats->files++;
	stats->statements += (unsigned)sent.n;
	if (bad)
		stats->mismatches++;
	sl_free(&sent);
	sl_free(&cut);
	return bad;
}

/* Clean a share-dir file into tmpdir and compare. */
static int parity_share_file(const char *tmpdir, const char *dir, const char *file,
			     parity_stats *stats)
{
	char src[4096], dst[4096], ext[256];
	const char *dash = strstr(file, "--");
	size_t len = 0, clen = 0;
	char *raw, *clean;
	int rc;

	snprintf(src, sizeof(src), "%s/%s", dir, file);
	snprintf(dst, sizeof(dst), "%s/%s", tmpdir, file);
	snprintf(ext, sizeof(ext), "%.*s", dash ? (int)(dash - file) : (int)strcspn(file, "."),
		 file);
	raw = read_all(src, &len);
	assert_non_null(raw);
	clean = clean_script(raw, len, ext, &clen);
	free(raw);
	write_all(dst, clean, clen);
	rc = parity_text(file, dst, clean, clen, stats);
	free(clean);
	unlink(dst);
	return rc;
}

/* ---- the share directory ------------------------------------------------------ */

static void share_dir(char *out, size_t outsz)
{
	const char *env = getenv("MIGDECK_TEST_PGSHARE");
	pgtest_db *db;

	if (env && *env) {
		snprintf(out, outsz, "%s", env);
		return;
	}
	/* ask the server itself: its share directory matches its version */
	db = pgtest_db_create();
	assert_non_null(db);
	pgtest_value_buf(db->conn, "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'", out,
			 outsz);
	pgtest_db_drop(db);
}

/* NAME--VERSION.sql: exactly one "--" */
static int is_base_script(const char *name)
{
	size_t n = strlen(name);
	const char *d = strstr(name, "--");

	return n > 4 && strcmp(name + n - 4, ".sql") == 0 && d && d != name &&
	       !strstr(d + 2, "--");
}

static void make_tmpdir(char *out, size_t outsz)
{
	const char *t = getenv("MIGDECK_TEST_TMPDIR");  /* the harness removes it */

	if (!t || !*t)
		t = getenv("TMPDIR");

	snprintf(out, outsz, "%s/md_parity.XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(out));
}

static void test_parity_share_files(void **state)
{
	static const char *const core[] = { "information_schema.sql", "system_views.sql",
					    "system_functions.sql" };
	char share[1024], extdir[2048], tmpdir[1024];
	strlist names = { 0 };
	parity_stats stats = { 0 };
	struct timespec t0, t1;
	DIR *d;
	struct dirent *de;
	size_t i;

	(void)state;
	assert_true(pgtest_have_server());
	clock_gettime(CLOCK_MONOTONIC, &t0);
	share_dir(share, sizeof(share));
	snprintf(extdir, sizeof(extdir), "%s/extension", share);
	d = opendir(extdir);
	if (!d)
		fail_msg("parity: cannot open %s: %s", extdir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (is_base_script(de->d_name)) {
			char *nm = strdup(de->d_name);

			assert_non_null(nm);
			sl_push(&names, nm);
		}
	}
	closedir(d);
	qsort(names.v, names.n, sizeof(*names.v), cmp_str);

	make_tmpdir(tmpdir, sizeof(tmpdir));
	for (i = 0; i < names.n; i++)
		parity_share_file(tmpdir, extdir, names.v[i], &stats);
	for (i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
		char p[4096];

		snprintf(p, sizeof(p), "%s/%s", share, core[i]);
		if (access(p, R_OK) == 0)
			parity_share_file(tmpdir, share, core[i], &stats);
		else
			fprintf(stderr, "parity: %s not found in the share directory\n", core[i]);
	}
	rmdir(tmpdir);
	sl_free(&names);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	printf("# parity: %u files compared (%u statements psql sent), %u mismatched, %.1f s\n",
	       stats.files, stats.statements, stats.mismatches,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	fflush(stdout);
	if (stats.files < MIN_SHARE_FILES)
		fail_msg("parity: only %u files compared, need at least %d", stats.files,
			 MIN_SHARE_FILES);
	assert_int_equal(stats.mismatches, 0);
}

/* ---- hand-written cases ------------------------------------------------------- */

typedef struct tricky {
	const char *name;
	const char *sql;
	unsigned min_statements;  /* psql must send at least this many */
} tricky;

static const tricky cases[] = {
	{ "dollar quotes with nested different tags",
	  "CREATE FUNCTION md_nest() RETURNS text LANGUAGE plpgsql AS $outer$\n"
	  "BEGIN\n"
	  "  RETURN $inner$ it's; \"quoted\" $$ not; the end $$ ; $inner$ || ';';\n"
	  "END;\n"
	  "$outer$;\n"
	  "SELECT $a$;$a$, $b$ $a$ ; $b$, $$;$$;\n"
	  "SELECT md_nest();\n",
	  3 },
	{ "BEGIN ATOMIC bodies",
	  "CREATE TABLE md_t (a int);\n"
	  "CREATE FUNCTION md_atomic(x int) RETURNS int LANGUAGE sql\n"
	  "BEGIN ATOMIC\n"
	  "  INSERT INTO md_t VALUES (x);\n"
	  "  SELECT CASE WHEN x > 0 THEN x + 1 ELSE 0 END;\n"
	  "END;\n"
	  "CREATE PROCEDURE md_proc() LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
	  "CREATE OR REPLACE FUNCTION md_empty() RETURNS void LANGUAGE sql BEGIN ATOMIC END;\n"
	  "SELECT md_atomic(1);\n"
	  "CALL md_proc();\n",
	  6 },
	{ "CREATE RULE with a (a; b) body",
	  "CREATE TABLE md_r (a int);\n"
	  "CREATE TABLE md_log (a int);\n"
	  "CREATE RULE md_rule AS ON INSERT TO md_r DO ALSO (\n"
	  "  INSERT INTO md_log VALUES (NEW.a);\n"
	  "  INSERT INTO md_log VALUES (NEW.a + 1)\n"
	  ");\n"
	  "INSERT INTO md_r VALUES (1);\n",
	  4 },
	{ "E'' strings with escaped quotes",
	  "SELECT E'it\\'s; not the end', 'plain '' quote;', E'\\\\';\n"
	  "SELECT e'\\';\\'' AS x, 'c:\\dir\\' AS y;\n"
	  "SELECT U&'d\\0061t\\+000061;' AS u, X'1F', B'101';\n",
	  3 },
	{ "nested block comments",
	  "/* outer /* inner ; */ still comment ; */ SELECT 1;\n"
	  "SELECT 2 /* a /* b; */ c; */ + 1;\n"
	  "SELECT 3; /* trailing ; comment */\n"
	  "SELECT 4;\n",
	  4 },
	{ "leading comments before a statement",
	  "-- a line comment; dropped by psql\n"
	  "/* a block comment; kept by psql */\n"
	  "SELECT 1;\n"
	  "   -- indented line comment\n"
	  "\n"
	  "SELECT 2 -- comment inside ; the statement\n"
	  "  + 1;\n",
	  2 },
	{ "last statement without a semicolon",
	  "SELECT 1;\n"
	  "SELECT 'no semicolon'\n",
	  2 },
	{ "last statement without a semicolon, no newline",
	  "SELECT 1;\nSELECT 'no newline'",
	  2 },
	{ "COPY FROM STDIN with inline data",
	  "CREATE TABLE md_c (a int, b text);\n"
	  "COPY md_c (a, b) FROM STDIN;\n"
	  "1\tone; two\n"
	  "2\t\\N\n"
	  "3\tSELECT 1;\n"
	  "\\.\n"
	  "COPY md_c FROM stdin WITH (FORMAT csv);\n"
	  "4,\"a;b\"\n"
	  "\\.\n"
	  "SELECT count(*) FROM md_c;\n",
	  4 },
	{ "empty lines inside a statement, a string, a dollar quote and a comment",
	  "SELECT 1,\n"
	  "\n"
	  "  2;\n"
	  "SELECT 'a\n"
	  "\n"
	  "b', $$x\n"
	  "\n"
	  "y$$ /* c\n"
	  "\n"
	  "d */,\n"
	  "   \n"
	  "\n"
	  "  3;\n",
	  2 },
	{ "statements the server rejects, before and after the raw parser",
	  "SELECT * FROM md_no_such_table;\n"
	  "SELEC 1;\n"
	  "SELEC 1;\n"
	  "BEGIN;\n"
	  "SELECT 1/0;\n"
	  "SELECT 'in an aborted transaction';\n"
	  "ROLLBACK;\n",
	  7 },
	{ "semicolons in parentheses and empty statements",
	  "SELECT (1);;\n"
	  "SELECT 'x' AS \"semi;colon\";\n"
	  "SELECT $1 ;\n",
	  3 },
};

static void test_parity_tricky(void **state)
{
	const tricky *c = *state;
	char tmpdir[1024], path[2048];
	parity_stats stats = { 0 };
	size_t len = strlen(c->sql);
	int rc;

	make_tmpdir(tmpdir, sizeof(tmpdir));
	snprintf(path, sizeof(path), "%s/case.sql", tmpdir);
	write_all(path, c->sql, len);
	rc = parity_text(c->name, path, c->sql, len, &stats);
	unlink(path);
	rmdir(tmpdir);
	assert_int_equal(rc, 0);
	if (stats.statements < c->min_statements)
		fail_msg("parity: %s: psql sent %u statements, expected at least %u", c->name,
			 stats.statements, c->min_statements);
}

int main(void)
{
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[1 + NCASES];
	size_t i;

	memset(tests, 0, sizeof(tests));
	tests[0].name = "parity_share_files";
	tests[0].test_func = test_parity_share_files;
	for (i = 0; i < NCASES; i++) {
		tests[1 + i].name = cases[i].name;
		tests[1 + i].test_func = test_parity_tricky;
		tests[1 + i].initial_state = (void *)&cases[i];
	}
	if (!pgtest_have_server())
		return 1;
	return _cmocka_run_group_tests("parity", tests, 1 + NCASES, NULL, NULL);
}
