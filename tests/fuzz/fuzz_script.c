/* fuzz_script.c - libFuzzer target for the SQL script engine (src/script.c).
 *
 * Built and run by `make fuzz` (clang, -fsanitize=fuzzer,address,undefined).
 * For each input it:
 *   - splits the whole buffer with md_script_next and checks that the
 *     statements are in order, inside the buffer, make progress, and that
 *     their line:col agrees with md_script_position;
 *   - runs the lexer over the buffer with placeholders off and on and checks
 *     that the tokens are non-empty, contiguous, cover the buffer exactly
 *     and end with MD_TOK_EOF; that (without inline COPY data) every
 *     statement boundary is a token boundary and both report an
 *     unterminated quote or comment at the same line:col; and that each
 *     statement, lexed on its own, has no unterminated token;
 *   - renders every statement with a lookup that defines some placeholder
 *     names and not others, checks that the rendered pieces walk the
 *     source and leave out only what psql does not send, and maps a few
 *     server error positions back into the statement.
 * doc/fuzzing.md lists every check and the runs so far.
 * A broken invariant calls abort(), which libFuzzer reports with the input.
 *
 * The input is copied into a buffer of exactly its size (no terminating
 * NUL), so reading one byte past the end is caught by AddressSanitizer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "fuzz_script: invariant failed: %s "  \
				"(%s:%d)\n", #cond, __FILE__, __LINE__);    \
			abort();                                            \
		}                                                           \
	} while (0)

/* Number of UTF-8 characters in buf[0..len): every byte that is not a
 * continuation byte starts one.  An upper bound is all the checks need. */
static size_t count_chars(const char *buf, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)buf[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* Defines names that start with a letter from a to m (any case) and a few
 * fixed ones; everything else is undefined.  The values vary in length,
 * include multibyte characters, quotes and semicolons, and one is empty. */
static const char *lookup(const char *name, void *payload)
{
	unsigned *calls = payload;
	char c;

	(*calls)++;
	CHECK(name != NULL);
	if (!strcmp(name, "schema"))
		return "public";
	if (!strcmp(name, "empty"))
		return "";
	if (!strcmp(name, "quote"))
		return "it's; \"odd\" $$ -- not a comment";
	c = name[0];
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	if (c >= 'a' && c <= 'f')
		return "x";
	if (c >= 'g' && c <= 'j')
		return "\xc3\xa9t\xc3\xa9 \xe2\x82\xac";   /* été € */
	if (c >= 'k' && c <= 'm')
		return "a rather longer value that is longer than most names";
	return NULL;
}

/* Lex buf[0..len) and check the tokens.  marks (len + 1 bytes, or NULL)
 * gets a 1 at every token boundary.  Returns the offset of the first
 * MD_TOK_ERROR token, or (size_t)-1 when there is none. */
static size_t check_lexer(const char *buf, size_t len, int placeholders,
			  unsigned char *marks)
{
	md_lexer lx;
	md_token tok;
	md_tok_kind kind;
	size_t pos = 0;
	size_t ntok = 0;
	size_t error_at = (size_t)-1;

	md_lexer_init(&lx, buf, len, placeholders);
	for (;;) {
		kind = md_lexer_next(&lx, &tok);
		CHECK(tok.kind == kind);
		CHECK(md_tok_kind_name(kind) != NULL);
		if (kind == MD_TOK_EOF) {
			CHECK(tok.start == len);
			CHECK(tok.end == len);
			break;
		}
		/* every token is non-empty and starts where the last one ended */
		CHECK(tok.start == pos);
		CHECK(tok.end > tok.start);
		CHECK(tok.end <= len);
		if (kind == MD_TOK_ERROR) {
			CHECK(tok.end == len);
			if (error_at == (size_t)-1)
				error_at = tok.start;
		}
		CHECK(strcmp(md_tok_kind_name(kind), "?") != 0);
		if (marks)
			marks[tok.start] = marks[tok.end] = 1;
		if (kind == MD_TOK_KEYWORD)
			CHECK(md_is_keyword(buf + tok.start, tok.end - tok.start));
		pos = tok.end;
		/* non-empty tokens: no more than len of them */
		CHECK(++ntok <= len);
	}
	CHECK(pos == len);
	if (marks)
		marks[len] = 1;
	/* EOF stays EOF */
	CHECK(md_lexer_next(&lx, &tok) == MD_TOK_EOF);
	return error_at;
}

/* A statement the splitter accepted lexes on its own, as a highlighter
 * does (script.h: "a highlighter lexes statement ranges"), without an
 * unterminated quote or comment.  The slice is copied so that reading past
 * its end is an ASan report. */
static void check_slice(const char *buf, const md_stmt *st)
{
	size_t n = st->end - st->start;
	char *slice = malloc(n);

	CHECK(slice != NULL);
	memcpy(slice, buf + st->start, n);
	CHECK(check_lexer(slice, n, 0, NULL) == (size_t)-1);
	CHECK(check_lexer(slice, n, 1, NULL) == (size_t)-1);
	free(slice);
}

/* Source bytes [from, to) that rendering left out: only backslashes (of
 * "\\;" and "\\:") and line feeds (of empty lines). */
static void check_skipped(const char *buf, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		CHECK(buf[i] == '\\' || buf[i] == '\n');
}

static void check_render(const md_script *s, const md_stmt *st)
{
	md_sql sql;
	md_error err;
	unsigned calls = 0;
	size_t out = 0, src = st->start;
	size_t nchars;
	int rc;

	memset(&sql, 0, sizeof(sql));
	md_error_clear(&err);
	rc = md_sql_render(&sql, s, st, lookup, &calls, &err);
	if (rc < 0) {
		CHECK(err.code == rc);
		if (rc == MD_ERR_SYNTAX) /* an undefined placeholder */
			CHECK(err.line >= 1 && err.col >= 1);
		md_sql_free(&sql);
		return;
	}
	CHECK(rc == 0);
	CHECK(sql.text != NULL);
	CHECK(sql.text[sql.len] == '\0');
	/* The pieces tile the rendered text, in order, and walk the statement
	 * forward: literal pieces are copies of the source, substituted ones
	 * stand for a ${name}.  What the walk skips is only what psql does not
	 * send: the backslash of "\\;" and "\\:", and empty lines. */
	for (size_t i = 0; i < sql.npieces; i++) {
		const md_sql_piece *p = &sql.pieces[i];

		CHECK(p->out == out);
		CHECK(p->out + p->len <= sql.len);
		CHECK(p->src >= src && p->src <= st->end);
		check_skipped(s->buf, src, p->src);
		if (!p->substituted) {
			CHECK(p->src + p->len <= st->end);
			CHECK(!memcmp(sql.text + p->out, s->buf + p->src, p->len));
			src = p->src + p->len;
		} else {
			const char *close;

			CHECK(st->flags & MD_STMT_PLACEHOLDERS);
			CHECK(p->src + 3 < st->end);
			CHECK(s->buf[p->src] == '$' && s->buf[p->src + 1] == '{');
			close = memchr(s->buf + p->src, '}', st->end - p->src);
			CHECK(close != NULL);
			src = (size_t)(close - s->buf) + 1;
		}
		out += p->len;
	}
	CHECK(out == sql.len);
	check_skipped(s->buf, src, st->end);

	/* server positions are 1-based characters; try the edges, a few
	 * inside, and some out of range */
	nchars = count_chars(sql.text, sql.len);
	{
		long probes[] = { 1, 2, (long)nchars / 3, (long)nchars / 2,
				  (long)nchars - 1, (long)nchars,
				  (long)nchars + 1, 0, -1, 1000000000L };

		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
			size_t off = md_sql_source_offset(&sql, probes[i]);

			CHECK(off >= st->start && off <= st->end);
		}
	}
	md_sql_free(&sql);
}

/* What the splitter said, for comparing with the lexer. */
typedef struct split_view {
	unsigned char *marks;  /* len + 1 bytes: 1 at start, head, end, next */
	int has_copy;          /* a COPY ... FROM STDIN with inline data */
	int failed;
	md_error err;
} split_view;

static void check_split(const char *buf, size_t len, split_view *v)
{
	md_script s;
	md_stmt st;
	md_error err;
	size_t prev_next = 0;
	unsigned count = 0;
	char flags[256];
	int rc;

	md_script_init(&s, buf, len, "fuzz.sql");
	for (;;) {
		memset(&st, 0xA5, sizeof(st));
		md_error_clear(&err);
		rc = md_script_next(&s, &st, &err);
		if (rc == 0)
			break;
		if (rc < 0) {
			CHECK(err.code == rc);
			CHECK(err.line >= 1 && err.col >= 1);
			v->failed = 1;
			v->err = err;
			break;
		}
		CHECK(rc == 1);
		CHECK(st.index == count);
		/* in order, inside the buffer, after the previous one */
		CHECK(st.start >= prev_next);
		CHECK(st.start <= st.head);
		CHECK(st.end <= len);
		CHECK(st.start < st.end);
		CHECK(st.head < st.end || st.head == st.start);
		/* progress: the next scan starts further on */
		CHECK(st.next > prev_next);
		CHECK(st.next >= st.end);
		CHECK(st.next <= len);
		/* line:col is where head is */
		CHECK(st.line >= 1 && st.col >= 1);
		{
			unsigned line = 0, col = 0;

			md_script_position(buf, len, st.head, &line, &col);
			CHECK(line == st.line && col == st.col);
		}
		/* COPY data sits between the statement and the next scan (a
		 * COPY FROM STDIN cut off by the end of the buffer has none) */
		if ((st.flags & MD_STMT_COPY_DATA) &&
		    !(st.flags & MD_STMT_NO_SEMICOLON)) {
			CHECK(st.data_start >= st.end);
			CHECK(st.data_start <= st.data_end);
			CHECK(st.data_end <= st.next);
		} else {
			CHECK(st.data_start == 0 && st.data_end == 0);
		}
		CHECK(st.data_end <= len);
		/* a statement ends with its semicolon unless told otherwise,
		 * or unless a meta-command (SELECT 1 \\g) ends it */
		if (!(st.flags & (MD_STMT_NO_SEMICOLON | MD_STMT_META)))
			CHECK(buf[st.end - 1] == ';' ||
			      (st.next < len && buf[st.next] == '\\'));
		if (st.flags & MD_STMT_META)
			CHECK(buf[st.start] == '\\');
		md_stmt_flags_text(st.flags, flags, sizeof(flags));
		CHECK(strlen(flags) < sizeof(flags));
		md_stmt_flags_text(st.flags, flags, 8);
		CHECK(strlen(flags) < 8);
		(void)md_stmt_needs_autocommit(st.flags, 110000);
		(void)md_stmt_needs_autocommit(st.flags, 160000);

		if (st.flags & MD_STMT_COPY_DATA)
			v->has_copy = 1;
		v->marks[st.start] = v->marks[st.head] = 1;
		v->marks[st.end] = v->marks[st.next] = 1;

		check_slice(buf, &st);
		check_render(&s, &st);

		prev_next = st.next;
		count++;
		CHECK(count <= len); /* every statement consumes a byte */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

	/* exactly size bytes, so an over-read is an ASan report (malloc(0)
	 * may return NULL: an empty input gets one byte it never reads) */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);

	{
		split_view v;
		unsigned char *tokmarks = calloc(size + 1, 1);
		size_t error_at;

		memset(&v, 0, sizeof(v));
		v.marks = calloc(size + 1, 1);
		CHECK(v.marks && tokmarks);
		check_split(buf, size, &v);
		error_at = check_lexer(buf, size, 0, tokmarks);
		/* placeholders split strings, but an unterminated quote is an
		 * MD_TOK_ERROR token either way (script.h: "Never fails") */
		CHECK((check_lexer(buf, size, 1, NULL) == (size_t)-1) ==
		      (error_at == (size_t)-1));

		/* The splitter and the lexer read the same language: without
		 * inline COPY data (which only the splitter knows about), every
		 * statement boundary is a token boundary, and an unterminated
		 * token is an error for both, at the same place. */
		if (!v.has_copy) {
			for (size_t i = 0; i <= size; i++)
				CHECK(!v.marks[i] || tokmarks[i]);
			if (v.failed && strstr(v.err.msg, "COPY")) {
				/* text after COPY ... FROM STDIN; on its line:
				 * an error only the splitter knows */
			} else if (error_at != (size_t)-1) {
				unsigned line, col;

				md_script_position(buf, size, error_at, &line, &col);
				CHECK(v.failed);
				CHECK(v.err.line == line && v.err.col == col);
			} else {
				CHECK(!v.failed);
			}
		}
		free(v.marks);
		free(tokmarks);
	}
	{
		/* positions at the edges and in the middle never crash */
		unsigned line, col;
		size_t offs[] = { 0, size / 2, size };

		for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			md_script_position(buf, size, offs[i], &line, &col);
			CHECK(line >= 1 && col >= 1);
		}
	}
	free(buf);
	return 0;
}
