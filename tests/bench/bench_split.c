/* bench_split.c - how fast the script engine splits SQL, and what it costs
 * in memory.  Run by `make bench`; not a test (see doc/benchmarks.md).
 *
 * For each of three workloads it generates, in memory, a SQL buffer of at
 * least BENCH_MB megabytes and knows how many statements it wrote:
 *   mixed  realistic migrations: CREATE TABLE with -- and block comments,
 *          INSERT with quoted strings holding ';' and '' escapes, E'' strings,
 *          CREATE FUNCTION with $$ / $tag$ bodies holding ';', BEGIN ATOMIC
 *          bodies, COPY ... FROM STDIN with data lines and \., small DDL;
 *          statement sizes vary from a line to a few hundred kilobytes
 *   small  millions of one-line statements
 *   large  a few dozen statements of about 2 MB each
 * Then, for each workload, in a child process of its own (so that the peak
 * RSS figure belongs to that workload alone):
 *   ref    a trivial byte scan of the same buffer (counts ';' and '\n'): the
 *          speed of this machine right now, to read the other figures against
 *   split  md_script_next over the whole buffer, best of BENCH_RUNS runs
 *   lexer  md_lexer_next over the whole buffer (placeholders off), best of
 *          BENCH_RUNS runs
 *   memory peak RSS (getrusage ru_maxrss) after generating the buffer and
 *          after splitting it: splitting must add nothing that grows with
 *          the statement count
 *
 * Exit status: 0 unless something is broken (a statement count that differs
 * from what the generator wrote, a split error, tokens that do not cover the
 * buffer, memory that grows with the statement count).  Never on timing:
 * the 200 MB/s target is printed as information.
 *
 * Environment: BENCH_MB (default 100) and BENCH_RUNS (default 5). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "script.h"

#define MB 1000000.0
#define TARGET_MBS 200.0
/* Growth of the peak RSS while splitting that counts as "grows with the
 * statement count": the small workload has millions of statements, so even
 * 8 bytes kept per statement would be tens of megabytes. */
#define RSS_SLACK_KB (16L * 1024)

/* ---- the generator -------------------------------------------------------- */

typedef struct gen {
	char *buf;
	size_t len, cap;
	unsigned long nstmt;  /* statements written */
	unsigned long ncopy;  /* of which COPY ... FROM STDIN with data */
	uint64_t rng;
} gen;

static void die(const char *what)
{
	fprintf(stderr, "bench_split: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void reserve(gen *g, size_t more)
{
	size_t cap;
	char *p;

	if (g->len + more <= g->cap)
		return;
	cap = g->cap ? g->cap : 1 << 20;
	while (cap < g->len + more)
		cap *= 2;
	p = realloc(g->buf, cap);
	if (!p)
		die("realloc");
	g->buf = p;
	g->cap = cap;
}

static void put(gen *g, const char *s)
{
	size_t n = strlen(s);

	reserve(g, n);
	memcpy(g->buf + g->len, s, n);
	g->len += n;
}

static void putf(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	reserve(g, 256);
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(g->buf + g->len, g->cap - g->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("vsnprintf");
		if ((size_t)n < g->cap - g->len)
			break;
		reserve(g, (size_t)n + 1);
	}
	g->len += (size_t)n;
}

/* xorshift64*: the same buffer on every run */
static unsigned rnd(gen *g, unsigned n)
{
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return (unsigned)((g->rng * 2685821657736338717ULL) >> 33) % n;
}

static const char *const words[] = {
	"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
	"hotel", "india", "juliet", "kilo", "lima", "mike", "november",
	"oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform",
	"victor", "whiskey", "xray", "yankee", "zulu"
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *const types[] = {
	"bigint", "integer", "text", "varchar(200)", "numeric(12,2)",
	"timestamptz", "boolean", "jsonb", "uuid", "date"
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static const char *word(gen *g)
{
	return words[rnd(g, NWORDS)];
}

/* a leading block comment, sometimes nested, sometimes a -- line */
static void lead_comment(gen *g)
{
	switch (rnd(g, 4)) {
	case 0:
		putf(g, "/* %s: keeps %s; see /* nested */ notes */\n", word(g), word(g));
		break;
	case 1:
		putf(g, "-- %s %s; not a statement\n", word(g), word(g));
		break;
	default:
		break;
	}
}

static void emit_table(gen *g, unsigned ncols)
{
	lead_comment(g);
	putf(g, "CREATE TABLE IF NOT EXISTS app.%s_%lu (\n"
		"\tid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- key; never reused\n",
	     word(g), g->nstmt);
	for (unsigned i = 0; i < ncols; i++) {
		putf(g, "\t%s_%u %s", word(g), i, types[rnd(g, NTYPES)]);
		switch (rnd(g, 4)) {
		case 0: put(g, " NOT NULL"); break;
		case 1: putf(g, " DEFAULT '%s;%s'", word(g), word(g)); break;
		case 2: put(g, " /* block; comment */"); break;
		default: break;
		}
		put(g, ",");
		if (rnd(g, 3) == 0)
			putf(g, " -- %s; %s's column", word(g), word(g));
		put(g, "\n");
	}
	put(g, "\tcreated_at timestamptz NOT NULL DEFAULT now()\n);\n");
	g->nstmt++;
}

static void emit_insert(gen *g, unsigned nrows)
{
	lead_comment(g);
	putf(g, "INSERT INTO app.%s (id, name, note, flags) VALUES\n", word(g));
	for (unsigned i = 0; i < nrows; i++) {
		switch (rnd(g, 3)) {
		case 0:
			putf(g, "\t(%u, 'O''%s; %s', E'tab\\t; \\'%s\\' \\\\ end', true)",
			     i, word(g), word(g), word(g));
			break;
		case 1:
			putf(g, "\t(%u, '%s', '%s; %s; it''s fine', NULL)",
			     i, word(g), word(g), word(g));
			break;
		default:
			putf(g, "\t(%u, 'x', $v$%s;'%s'$v$, false)", i, word(g), word(g));
			break;
		}
		put(g, i + 1 < nrows ? ",\n" : ";\n");
	}
	g->nstmt++;
}

static void emit_function(gen *g, unsigned nlines)
{
	static const char *const tags[] = { "$$", "$fn$", "$body$" };
	const char *tag = tags[rnd(g, 3)];

	lead_comment(g);
	putf(g, "CREATE OR REPLACE FUNCTION app.fn_%lu(a integer, b text)\n"
		"RETURNS integer LANGUAGE plpgsql AS %s\n"
		"DECLARE\n\tn integer := 0; -- counter; starts at 0\n"
		"\ts text := 'semi;colon';\nBEGIN\n",
	     g->nstmt, tag);
	for (unsigned i = 0; i < nlines; i++) {
		switch (rnd(g, 4)) {
		case 0:
			putf(g, "\tn := n + %u; /* step; %s */\n", i, word(g));
			break;
		case 1:
			putf(g, "\tIF b = '%s;' THEN\n\t\tRAISE NOTICE 'got %%; it''s %s', b;\n\tEND IF;\n",
			     word(g), word(g));
			break;
		case 2:
			putf(g, "\tUPDATE app.%s SET note = note || ';' WHERE id = a + %u;\n",
			     word(g), i);
			break;
		default:
			putf(g, "\tPERFORM pg_notify('%s', format('%%s;%%s', a, b));\n", word(g));
			break;
		}
	}
	putf(g, "\tRETURN n;\nEND\n%s;\n", tag);
	g->nstmt++;
}

static void emit_atomic(gen *g)
{
	putf(g, "CREATE OR REPLACE FUNCTION app.sum_%lu(a integer, b integer)\n"
		"RETURNS integer LANGUAGE sql\nBEGIN ATOMIC\n"
		"\tSELECT CASE WHEN a > b THEN a - b ELSE b - a END;\n"
		"\tSELECT a + b; -- the result; last statement\nEND;\n",
	     g->nstmt);
	g->nstmt++;
}

static void emit_copy(gen *g, unsigned nlines)
{
	putf(g, "COPY app.%s (id, name, note) FROM STDIN;\n", word(g));
	for (unsigned i = 0; i < nlines; i++)
		putf(g, "%u\t%s; %s\t%s's \\N;\n", i, word(g), word(g), word(g));
	put(g, "\\.\n");
	g->nstmt++;
	g->ncopy++;
}

static void emit_small(gen *g)
{
	switch (rnd(g, 5)) {
	case 0:
		putf(g, "CREATE INDEX %s_%lu_idx ON app.%s (%s, lower(%s));\n",
		     word(g), g->nstmt, word(g), word(g), word(g));
		break;
	case 1:
		putf(g, "COMMENT ON TABLE app.%s IS 'holds %s; and %s''s rows';\n",
		     word(g), word(g), word(g));
		break;
	case 2:
		putf(g, "ALTER TABLE app.%s ADD COLUMN %s_%lu text DEFAULT E'a\\'b;c';\n",
		     word(g), word(g), g->nstmt);
		break;
	case 3:
		putf(g, "UPDATE app.%s SET note = '%s' WHERE note LIKE '%%;%%' AND id > %u;\n",
		     word(g), word(g), rnd(g, 100000));
		break;
	default:
		putf(g, "SELECT \"%s;col\" FROM app.\"%s\" WHERE (a, b) = (1, ';');\n",
		     word(g), word(g));
		break;
	}
	g->nstmt++;
}

static void gen_init(gen *g, size_t target)
{
	memset(g, 0, sizeof(*g));
	g->rng = 0x9E3779B97F4A7C15ULL;
	/* room for the whole buffer up front: no realloc copies on the way,
	 * and pages are resident only once written */
	reserve(g, target + (8u << 20));
}

static void gen_mixed(gen *g, size_t target)
{
	gen_init(g, target);
	while (g->len < target) {
		unsigned r = rnd(g, 100);

		if (r < 10)
			emit_table(g, 2 + rnd(g, 30));
		else if (r < 35)
			emit_insert(g, 1 + (rnd(g, 10) ? rnd(g, 20) : rnd(g, 2000)));
		else if (r < 45)
			emit_function(g, 3 + (rnd(g, 10) ? rnd(g, 30) : rnd(g, 3000)));
		else if (r < 48)
			emit_atomic(g);
		else if (r < 55)
			emit_copy(g, 1 + (rnd(g, 10) ? rnd(g, 50) : rnd(g, 5000)));
		else
			emit_small(g);
		if (rnd(g, 4) == 0)
			put(g, "\n");
	}
}

static void gen_small(gen *g, size_t target)
{
	gen_init(g, target);
	while (g->len < target) {
		putf(g, "INSERT INTO t VALUES (%u, 'a;b');\n", rnd(g, 1000000));
		g->nstmt++;
	}
}

static void gen_large(gen *g, size_t target)
{
	const size_t each = 2u << 20;

	gen_init(g, target);
	while (g->len < target) {
		switch (rnd(g, 3)) {
		case 0:
			emit_insert(g, (unsigned)(each / 48));
			break;
		case 1:
			emit_function(g, (unsigned)(each / 55));
			break;
		default:
			emit_copy(g, (unsigned)(each / 36));
			break;
		}
	}
}

/* ---- measuring -------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		die("getrusage");
	return ru.ru_maxrss;
}

/* What one workload's child process sends back through a pipe. */
typedef struct result {
	char name[16];
	size_t bytes;
	unsigned long gen_stmts, gen_copy;
	unsigned long split_stmts, split_copy, split_nosemi;
	unsigned long ref_semis, ref_lines;
	unsigned long tokens;
	double ref_s, split_s, lexer_s;  /* best times */
	long rss_gen_kb, rss_split_kb, rss_lexer_kb;
	int broken;
	char why[200];
} result;

static volatile unsigned long sink;

/* The reference: one pass over every byte, counting ';' and '\n'. */
static void ref_scan(const char *buf, size_t len, unsigned long *semis,
		     unsigned long *lines)
{
	unsigned long s = 0, l = 0;

	for (size_t i = 0; i < len; i++) {
		s += buf[i] == ';';
		l += buf[i] == '\n';
	}
	*semis = s;
	*lines = l;
}

static int split_all(const char *buf, size_t len, result *r)
{
	md_script s;
	md_stmt st;
	md_error err;
	unsigned long n = 0, copy = 0, nosemi = 0;
	int rc;

	md_script_init(&s, buf, len, "bench.sql");
	while ((rc = md_script_next(&s, &st, &err)) == 1) {
		n++;
		copy += (st.flags & MD_STMT_COPY_DATA) != 0;
		nosemi += (st.flags & MD_STMT_NO_SEMICOLON) != 0;
	}
	if (rc < 0) {
		char msg[1200];

		md_error_format(&err, msg, sizeof(msg));
		snprintf(r->why, sizeof(r->why), "split failed after %lu statements: %.140s",
			 n, msg);
		return -1;
	}
	r->split_stmts = n;
	r->split_copy = copy;
	r->split_nosemi = nosemi;
	return 0;
}

static int lex_all(const char *buf, size_t len, result *r)
{
	md_lexer lx;
	md_token tok;
	unsigned long n = 0;
	size_t pos = 0;

	md_lexer_init(&lx, buf, len, 0);
	while (md_lexer_next(&lx, &tok) != MD_TOK_EOF) {
		if (tok.start != pos || tok.end <= tok.start) {
			snprintf(r->why, sizeof(r->why),
				 "lexer: token %lu at %zu..%zu, expected to start at %zu",
				 n, tok.start, tok.end, pos);
			return -1;
		}
		pos = tok.end;
		n++;
	}
	if (pos != len) {
		snprintf(r->why, sizeof(r->why), "lexer: tokens end at %zu of %zu", pos, len);
		return -1;
	}
	r->tokens = n;
	return 0;
}

static long rss_delta_kb(const result *r)
{
	long peak = r->rss_lexer_kb > r->rss_split_kb ? r->rss_lexer_kb : r->rss_split_kb;

	return peak - r->rss_gen_kb;
}

/* 1 and why filled when the figures show something broken. */
static int check_result(result *r)
{
	if (r->split_stmts != r->gen_stmts)
		snprintf(r->why, sizeof(r->why),
			 "split found %lu statements, the generator wrote %lu",
			 r->split_stmts, r->gen_stmts);
	else if (r->split_copy != r->gen_copy)
		snprintf(r->why, sizeof(r->why),
			 "split found %lu COPY FROM STDIN, the generator wrote %lu",
			 r->split_copy, r->gen_copy);
	else if (r->split_nosemi)
		snprintf(r->why, sizeof(r->why),
			 "%lu statements without a semicolon", r->split_nosemi);
	else if (rss_delta_kb(r) > RSS_SLACK_KB)
		snprintf(r->why, sizeof(r->why),
			 "peak RSS grew by %ld kB while splitting and lexing",
			 rss_delta_kb(r));
	else
		return 0;
	return 1;
}

static void run_workload(const char *name, void (*make)(gen *, size_t),
			 size_t target, int runs, result *r)
{
	gen g;
	double t;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	make(&g, target);
	r->bytes = g.len;
	r->gen_stmts = g.nstmt;
	r->gen_copy = g.ncopy;
	r->rss_gen_kb = maxrss_kb();

	r->ref_s = r->split_s = r->lexer_s = 1e9;
	for (int i = 0; i < runs; i++) {
		t = now();
		ref_scan(g.buf, g.len, &r->ref_semis, &r->ref_lines);
		t = now() - t;
		sink += r->ref_semis;
		if (t < r->ref_s)
			r->ref_s = t;

		t = now();
		if (split_all(g.buf, g.len, r) < 0) {
			r->broken = 1;
			break;
		}
		t = now() - t;
		if (t < r->split_s)
			r->split_s = t;
	}
	r->rss_split_kb = maxrss_kb();
	if (!r->broken) {
		for (int i = 0; i < runs; i++) {
			t = now();
			if (lex_all(g.buf, g.len, r) < 0) {
				r->broken = 1;
				break;
			}
			t = now() - t;
			if (t < r->lexer_s)
				r->lexer_s = t;
		}
	}
	r->rss_lexer_kb = maxrss_kb();

	if (!r->broken)
		r->broken = check_result(r);
	free(g.buf);
}

/* Run one workload in a child, so ru_maxrss is that workload's own. */
static int fork_workload(const char *name, void (*make)(gen *, size_t),
			 size_t target, int runs, result *r)
{
	int fd[2], status;
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	if (pipe(fd) < 0)
		die("pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		result mine;
		size_t off = 0;

		close(fd[0]);
		run_workload(name, make, target, runs, &mine);
		while (off < sizeof(mine)) {
			n = write(fd[1], (char *)&mine + off, sizeof(mine) - off);
			if (n <= 0)
				_exit(3);
			off += (size_t)n;
		}
		_exit(0);
	}
	close(fd[1]);
	while (got < sizeof(*r)) {
		n = read(fd[0], (char *)r + got, sizeof(*r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd[0]);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (got != sizeof(*r) || !WIFEXITED(status) || WEXITSTATUS(status)) {
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->broken = 1;
		snprintf(r->why, sizeof(r->why), "child process died (status 0x%x)", status);
		return -1;
	}
	return 0;
}

static double mbs(size_t bytes, double s)
{
	return s > 0 ? (double)bytes / MB / s : 0;
}

int main(void)
{
	const char *env;
	size_t target = 100;
	int runs = 5;
	result res[3];
	int broken = 0;
	char when[64];
	time_t tnow = time(NULL);

	if ((env = getenv("BENCH_MB")) && atoi(env) > 0)
		target = (size_t)atoi(env);
	if ((env = getenv("BENCH_RUNS")) && atoi(env) > 0)
		runs = atoi(env);
	target *= 1000000;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&tnow));
	printf("bench_split: the script engine on %zu MB buffers, best of %d runs, %s\n"
	       "(%ld online CPUs; timings on a shared machine are noisy: compare the\n"
	       " engine with the reference scan of the same buffer, run next to it)\n\n",
	       target / 1000000, runs, when, sysconf(_SC_NPROCESSORS_ONLN));

	fork_workload("mixed", gen_mixed, target, runs, &res[0]);
	fork_workload("small", gen_small, target, runs, &res[1]);
	fork_workload("large", gen_large, target, runs, &res[2]);

	printf("%-6s %8s %10s %8s | %9s | %9s %6s %12s | %9s %11s\n",
	       "load", "MB", "stmts", "avg B", "ref MB/s", "split MB/s", "ratio",
	       "stmts/s", "lexer MB/s", "tokens");
	for (int i = 0; i < 3; i++) {
		result *r = &res[i];

		if (r->broken && !r->bytes) {
			printf("%-6s %s\n", r->name, "(no figures)");
			continue;
		}
		printf("%-6s %8.1f %10lu %8.0f | %9.0f | %9.0f %5.1f%% %12.0f | %9.0f %11lu\n",
		       r->name, (double)r->bytes / MB, r->split_stmts,
		       r->split_stmts ? (double)r->bytes / (double)r->split_stmts : 0,
		       mbs(r->bytes, r->ref_s), mbs(r->bytes, r->split_s),
		       r->ref_s > 0 && r->split_s > 0 ? 100.0 * r->ref_s / r->split_s : 0,
		       r->split_s > 0 ? (double)r->split_stmts / r->split_s : 0,
		       mbs(r->bytes, r->lexer_s), r->tokens);
	}
	printf("(ratio = split speed as a percentage of the reference byte scan)\n\n");

	printf("peak RSS (ru_maxrss, kB; each load in a process of its own)\n");
	printf("%-6s %10s %12s %12s %12s %10s %16s\n", "load", "buffer kB",
	       "after gen", "after split", "after lexer", "delta", "delta/buffer");
	for (int i = 0; i < 3; i++) {
		result *r = &res[i];
		long delta = rss_delta_kb(r);

		if (!r->bytes)
			continue;
		printf("%-6s %10zu %12ld %12ld %12ld %10ld %15.2f%%\n", r->name,
		       r->bytes / 1024, r->rss_gen_kb, r->rss_split_kb, r->rss_lexer_kb,
		       delta, 100.0 * 1024.0 * (double)delta / (double)r->bytes);
	}
	printf("(delta = growth of the peak while splitting and lexing, beyond the buffer)\n\n");

	for (int i = 0; i < 3; i++) {
		if (res[i].broken) {
			printf("BROKEN %s: %s\n", res[i].name, res[i].why);
			broken = 1;
		}
	}
	if (!broken) {
		double worst = 1e18;

		for (int i = 0; i < 3; i++)
			if (mbs(res[i].bytes, res[i].split_s) < worst)
				worst = mbs(res[i].bytes, res[i].split_s);
		printf("statement counts match the generator; memory does not grow with "
		       "the statement count\n");
		printf("target >= %.0f MB/s split: %s (slowest load %.0f MB/s; "
		       "information only)\n", TARGET_MBS,
		       worst >= TARGET_MBS ? "met" : "NOT met", worst);
	}
	(void)sink;
	return broken ? 1 : 0;
}
