/* script.c - the SQL script engine: one lexer, used both to split a file
 * into the statements psql would send and to hand out highlighting tokens.
 *
 * The lexing rules follow PostgreSQL's scanner as psql applies it: quotes
 * ('', E'', U&'', B'', X'', N''), "identifiers", dollar quotes with tags,
 * -- and nested block comments, parentheses, and the BEGIN ... END bodies of
 * CREATE [OR REPLACE] FUNCTION/PROCEDURE (PostgreSQL 14+), whose semicolons
 * do not end the statement.  See doc/architecture.md for the rules. */
#include "script.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- character classes -------------------------------------------------- */

enum {
	C_OTHER = 0,
	C_SPACE,     /* space \t \n \r \f */
	C_IDSTART,   /* A-Z a-z _ and bytes >= 0x80 */
	C_DIGIT,
	C_OP,        /* ~ ! @ # ^ & | ` ? + - * / % < > = */
	C_PUNCT      /* ( ) [ ] , ; : . */
};

static const unsigned char cclass[256] = {
	['\t'] = C_SPACE, ['\n'] = C_SPACE, ['\r'] = C_SPACE, ['\f'] = C_SPACE,
	[' '] = C_SPACE,
	['0'] = C_DIGIT, ['1'] = C_DIGIT, ['2'] = C_DIGIT, ['3'] = C_DIGIT,
	['4'] = C_DIGIT, ['5'] = C_DIGIT, ['6'] = C_DIGIT, ['7'] = C_DIGIT,
	['8'] = C_DIGIT, ['9'] = C_DIGIT,
	['~'] = C_OP, ['!'] = C_OP, ['@'] = C_OP, ['#'] = C_OP, ['^'] = C_OP,
	['&'] = C_OP, ['|'] = C_OP, ['`'] = C_OP, ['?'] = C_OP, ['+'] = C_OP,
	['-'] = C_OP, ['*'] = C_OP, ['/'] = C_OP, ['%'] = C_OP, ['<'] = C_OP,
	['>'] = C_OP, ['='] = C_OP,
	['('] = C_PUNCT, [')'] = C_PUNCT, ['['] = C_PUNCT, [']'] = C_PUNCT,
	[','] = C_PUNCT, [';'] = C_PUNCT, [':'] = C_PUNCT, ['.'] = C_PUNCT,
#define A(c) [c] = C_IDSTART
	A('A'), A('B'), A('C'), A('D'), A('E'), A('F'), A('G'), A('H'), A('I'),
	A('J'), A('K'), A('L'), A('M'), A('N'), A('O'), A('P'), A('Q'), A('R'),
	A('S'), A('T'), A('U'), A('V'), A('W'), A('X'), A('Y'), A('Z'),
	A('a'), A('b'), A('c'), A('d'), A('e'), A('f'), A('g'), A('h'), A('i'),
	A('j'), A('k'), A('l'), A('m'), A('n'), A('o'), A('p'), A('q'), A('r'),
	A('s'), A('t'), A('u'), A('v'), A('w'), A('x'), A('y'), A('z'), A('_'),
#undef A
#define H(c) [c] = C_IDSTART, [c + 1] = C_IDSTART, [c + 2] = C_IDSTART, [c + 3] = C_IDSTART
#define H16(c) H(c), H(c + 4), H(c + 8), H(c + 12)
	H16(0x80), H16(0x90), H16(0xa0), H16(0xb0), H16(0xc0), H16(0xd0),
	H16(0xe0), H16(0xf0),
#undef H16
#undef H
};

#define CLS(c) (cclass[(unsigned char)(c)])
/* identifier continuation: start chars, digits and '$' */
#define IDCONT(c) (CLS(c) == C_IDSTART || CLS(c) == C_DIGIT || (c) == '$')
/* dollar-quote tag characters: like identifiers but without '$' */
#define TAGCONT(c) (CLS(c) == C_IDSTART || CLS(c) == C_DIGIT)

/* What an MD_TOK_ERROR token failed to close (for messages). */
enum {
	Q_NONE = 0,
	Q_STD,      /* '...' (standard_conforming_strings on) */
	Q_EXT,      /* E'...' */
	Q_IDENT,    /* "..." */
	Q_DOLLAR,   /* $tag$...$tag$ */
	Q_COMMENT   /* block comment */
};

/* ---- the raw scanner ------------------------------------------------------ */

/* Length of a ${name} placeholder at p, or 0 if there is none. */
static size_t placeholder_len(const char *b, size_t len, size_t p)
{
	size_t q = p + 2;

	if (p + 2 >= len || b[p] != '$' || b[p + 1] != '{')
		return 0;
	while (q < len && q - p < 130) {
		char c = b[q];
		if (c == '}')
			return q > p + 2 ? q - p + 1 : 0;
		if (!(CLS(c) == C_IDSTART || CLS(c) == C_DIGIT || c == '.' || c == ':' || c == '-'))
			return 0;
		q++;
	}
	return 0;
}

/* Scan a quoted body that started at p (just after the opening quote).
 * Returns the offset just past the closing quote, or len if unterminated
 * (*open set).  With stop_ph, stops at a "${" (returns its offset and sets
 * *ph). */
static size_t scan_quoted(const char *b, size_t len, size_t p, int q, int stop_ph,
			  int *open, int *ph)
{
	const char qc = q == Q_IDENT ? '"' : '\'';

	*open = 0;
	*ph = 0;
	for (;;) {
		const char *hit;
		size_t stop = len;

		if (!stop_ph && q != Q_EXT) {
			hit = memchr(b + p, qc, len - p);
			if (!hit) {
				*open = 1;
				return len;
			}
			p = (size_t)(hit - b) + 1;
			if (p < len && b[p] == qc) { /* doubled quote */
				p++;
				continue;
			}
			return p;
		}
		for (; p < len; p++) {
			char c = b[p];
			if (c == qc)
				break;
			if (q == Q_EXT && c == '\\') {
				if (p + 1 < len)
					p++;
				continue;
			}
			if (stop_ph && c == '$' && placeholder_len(b, len, p)) {
				stop = p;
				break;
			}
		}
		if (stop != len) {
			*ph = 1;
			return stop;
		}
		if (p >= len) {
			*open = 1;
			return len;
		}
		p++;
		if (p < len && b[p] == qc) {
			p++;
			continue;
		}
		return p;
	}
}

/* Find the end of a dollar-quoted body: the tag b[ts..ts+tl) (including both
 * '$') closes it.  Returns the offset past the closing tag, or len.  With
 * stop_ph, stops at a "${" placeholder. */
static size_t scan_dollar_body(const char *b, size_t len, size_t p, size_t ts, size_t tl,
			       int stop_ph, int *open, int *ph)
{
	*open = 0;
	*ph = 0;
	while (p < len) {
		const char *hit = memchr(b + p, '$', len - p);
		if (!hit)
			break;
		p = (size_t)(hit - b);
		if (len - p >= tl && memcmp(b + p, b + ts, tl) == 0)
			return p + tl;
		if (stop_ph && placeholder_len(b, len, p)) {
			*ph = 1;
			return p;
		}
		p++;
	}
	*open = 1;
	return len;
}

/* Length of a dollar-quote opening tag at p ("$$" or "$tag$"), or 0. */
static size_t dollar_tag_len(const char *b, size_t len, size_t p)
{
	size_t q = p + 1;

	if (q < len && b[q] == '$')
		return 2;
	if (q >= len || CLS(b[q]) != C_IDSTART)
		return 0;
	while (q < len && TAGCONT(b[q]))
		q++;
	if (q < len && b[q] == '$')
		return q - p + 1;
	return 0;
}

/* Scan a block comment opening at p ("/ *"), nested.  Returns the end or
 * len with *open set. */
static size_t scan_block_comment(const char *b, size_t len, size_t p, int *open)
{
	unsigned depth = 1;

	p += 2;
	*open = 0;
	while (p + 1 < len) {
		char c = b[p];
		if (c == '*' && b[p + 1] == '/') {
			p += 2;
			if (--depth == 0)
				return p;
		} else if (c == '/' && b[p + 1] == '*') {
			p += 2;
			depth++;
		} else {
			p++;
		}
	}
	*open = 1;
	return len;
}

typedef struct raw_tok {
	md_tok_kind kind;
	size_t end;
	int open;  /* for MD_TOK_ERROR: Q_* that was not closed */
	/* for strings split at a placeholder: resume state */
	int resume_q;
	size_t tag_start, tag_len;
} raw_tok;

/* Scan one token at p < len (see scan_token). */
static void scan_token_raw(const char *b, size_t len, size_t p, int ph, raw_tok *t)
{
	unsigned char c = (unsigned char)b[p];
	size_t q;
	int open, hit;

	t->open = Q_NONE;
	t->resume_q = 0;
	switch (CLS(c)) {
	case C_SPACE:
		q = p + 1;
		while (q < len && CLS(b[q]) == C_SPACE)
			q++;
		t->kind = MD_TOK_SPACE;
		t->end = q;
		return;
	case C_IDSTART:
		if (p + 1 < len && b[p + 1] == '\'') {
			int qk = Q_NONE;
			switch (c) {
			case 'e': case 'E': qk = Q_EXT; break;
			case 'b': case 'B': case 'x': case 'X': case 'n': case 'N': qk = Q_STD; break;
			}
			if (qk) {
				t->end = scan_quoted(b, len, p + 2, qk, ph, &open, &hit);
				goto quoted;
			}
		}
		if ((c == 'u' || c == 'U') && p + 2 < len && b[p + 1] == '&' &&
		    (b[p + 2] == '\'' || b[p + 2] == '"')) {
			int qk = b[p + 2] == '"' ? Q_IDENT : Q_STD;
			t->end = scan_quoted(b, len, p + 3, qk, qk == Q_IDENT ? 0 : ph, &open, &hit);
			if (qk == Q_IDENT) {
				t->kind = open ? MD_TOK_ERROR : MD_TOK_QIDENT;
				t->open = open ? Q_IDENT : Q_NONE;
				return;
			}
			goto quoted_std;
		}
		q = p + 1;
		while (q < len && IDCONT(b[q]))
			q++;
		t->kind = MD_TOK_IDENT;
		t->end = q;
		return;
	case C_DIGIT:
	number:
		q = p;
		while (q < len && (CLS(b[q]) == C_DIGIT || b[q] == '_'))
			q++;
		if (q < len && b[q] == '.' && !(q + 1 < len && b[q + 1] == '.')) {
			q++;
			while (q < len && CLS(b[q]) == C_DIGIT)
				q++;
		}
		if (q < len && (b[q] == 'e' || b[q] == 'E')) {
			size_t r = q + 1;
			if (r < len && (b[r] == '+' || b[r] == '-'))
				r++;
			if (r < len && CLS(b[r]) == C_DIGIT) {
				while (r < len && CLS(b[r]) == C_DIGIT)
					r++;
				q = r;
			}
		}
		t->kind = MD_TOK_NUMBER;
		t->end = q;
		return;
	case C_OP:
		if (c == '-' && p + 1 < len && b[p + 1] == '-') {
			const char *nl = memchr(b + p, '\n', len - p);
			t->kind = MD_TOK_COMMENT;
			t->end = nl ? (size_t)(nl - b) : len;
			return;
		}
		if (c == '/' && p + 1 < len && b[p + 1] == '*') {
			t->end = scan_block_comment(b, len, p, &open);
			t->kind = open ? MD_TOK_ERROR : MD_TOK_COMMENT;
			t->open = open ? Q_COMMENT : Q_NONE;
			return;
		}
		/* an operator ends where a comment starts */
		q = p + 1;
		while (q < len && CLS(b[q]) == C_OP &&
		       !(b[q] == '-' && q + 1 < len && b[q + 1] == '-') &&
		       !(b[q] == '/' && q + 1 < len && b[q + 1] == '*'))
			q++;
		t->kind = MD_TOK_OPERATOR;
		t->end = q;
		return;
	case C_PUNCT:
		if (c == '.' && p + 1 < len && CLS(b[p + 1]) == C_DIGIT)
			goto number;
		if (c == ':' && p + 1 < len && (b[p + 1] == ':' || b[p + 1] == '=')) {
			t->kind = MD_TOK_OPERATOR;
			t->end = p + 2;
			return;
		}
		t->kind = c == ':' ? MD_TOK_OPERATOR : MD_TOK_PUNCT;
		t->end = p + 1;
		return;
	default:
		break;
	}

	switch (c) {
	case '\'':
		t->end = scan_quoted(b, len, p + 1, Q_STD, ph, &open, &hit);
	quoted_std:
		if (open) {
			t->kind = MD_TOK_ERROR;
			t->open = Q_STD;
			return;
		}
		t->kind = MD_TOK_STRING;
		if (hit)
			t->resume_q = Q_STD;
		return;
	quoted:
		if (open) {
			t->kind = MD_TOK_ERROR;
			t->open = (c == 'e' || c == 'E') ? Q_EXT : Q_STD;
			return;
		}
		t->kind = MD_TOK_STRING;
		if (hit)
			t->resume_q = (c == 'e' || c == 'E') ? Q_EXT : Q_STD;
		return;
	case '"':
		t->end = scan_quoted(b, len, p + 1, Q_IDENT, 0, &open, &hit);
		t->kind = open ? MD_TOK_ERROR : MD_TOK_QIDENT;
		t->open = open ? Q_IDENT : Q_NONE;
		return;
	case '$': {
		size_t tl;
		if (p + 1 < len && CLS(b[p + 1]) == C_DIGIT) {
			q = p + 1;
			while (q < len && CLS(b[q]) == C_DIGIT)
				q++;
			t->kind = MD_TOK_PARAM;
			t->end = q;
			return;
		}
		if ((q = placeholder_len(b, len, p)) != 0) {
			t->kind = MD_TOK_PLACEHOLDER;
			t->end = p + q;
			return;
		}
		tl = dollar_tag_len(b, len, p);
		if (tl) {
			t->end = scan_dollar_body(b, len, p + tl, p, tl, ph, &open, &hit);
			if (open) {
				t->kind = MD_TOK_ERROR;
				t->open = Q_DOLLAR;
				return;
			}
			t->kind = MD_TOK_DOLLAR;
			if (hit) {
				t->resume_q = Q_DOLLAR;
				t->tag_start = p;
				t->tag_len = tl;
			}
			return;
		}
		/* "$abc" that is no tag: psql passes it through as text */
		q = p + 1;
		while (q < len && TAGCONT(b[q]))
			q++;
		t->kind = MD_TOK_OPERATOR;
		t->end = q;
		return;
	}
	case '\\':
		if (p + 1 < len && (b[p + 1] == ';' || b[p + 1] == ':')) {
			t->kind = b[p + 1] == ';' ? MD_TOK_PUNCT : MD_TOK_OPERATOR;
			t->end = p + 2;
			return;
		}
		{
			const char *nl = memchr(b + p, '\n', len - p);
			q = nl ? (size_t)(nl - b) : len;
			if (q > p && b[q - 1] == '\r')
				q--;
			t->kind = MD_TOK_META;
			t->end = q > p + 1 ? q : p + 1;
		}
		return;
	default:
		/* a stray byte (NUL, control character): one token of its own */
		t->kind = MD_TOK_OPERATOR;
		t->end = p + 1;
		return;
	}
}

/* Scan one token at p < len.  With ph, strings and dollar bodies stop at
 * "${" so placeholders come out as tokens of their own; a string split that
 * way must still close somewhere, or the whole rest is one error token, as
 * it is without ph. */
static void scan_token(const char *b, size_t len, size_t p, int ph, raw_tok *t)
{
	int open = 0, hit;

	scan_token_raw(b, len, p, ph, t);
	if (!t->resume_q)
		return;
	if (t->resume_q == Q_DOLLAR)
		scan_dollar_body(b, len, t->end, t->tag_start, t->tag_len, 0, &open, &hit);
	else
		scan_quoted(b, len, t->end, t->resume_q, 0, &open, &hit);
	if (open) {
		t->open = t->resume_q;
		t->resume_q = 0;
		t->kind = MD_TOK_ERROR;
		t->end = len;
	}
}

/* ---- public lexer ---------------------------------------------------------- */

const char *md_tok_kind_name(md_tok_kind kind)
{
	static const char *const names[] = {
		"eof", "space", "comment", "keyword", "identifier", "quoted-identifier",
		"string", "dollar-string", "number", "operator", "punctuation", "parameter",
		"placeholder", "meta-command", "error"
	};
	if ((unsigned)kind < sizeof(names) / sizeof(names[0]))
		return names[kind];
	return "?";
}

void md_lexer_init(md_lexer *lx, const char *buf, size_t len, int placeholders)
{
	memset(lx, 0, sizeof(*lx));
	lx->buf = buf;
	lx->len = len;
	lx->placeholders = placeholders;
}

md_tok_kind md_lexer_next(md_lexer *lx, md_token *tok)
{
	const char *b = lx->buf;
	size_t len = lx->len, p = lx->pos;
	raw_tok t;

	tok->start = p;
	if (p >= len) {
		tok->end = len;
		return tok->kind = MD_TOK_EOF;
	}
	if (lx->in_quote) {
		/* inside a string that a placeholder interrupted: first the
		 * placeholder, then the rest of the string (up to the next one) */
		size_t pl = placeholder_len(b, len, p);
		int open = 0, hit = 0;
		if (pl) {
			lx->pos = p + pl;
			tok->end = lx->pos;
			return tok->kind = MD_TOK_PLACEHOLDER;
		}
		if (lx->in_quote == Q_DOLLAR)
			t.end = scan_dollar_body(b, len, p, lx->tag_start, lx->tag_len, 1, &open, &hit);
		else
			t.end = scan_quoted(b, len, p, lx->in_quote, 1, &open, &hit);
		t.kind = open ? MD_TOK_ERROR : (lx->in_quote == Q_DOLLAR ? MD_TOK_DOLLAR : MD_TOK_STRING);
		if (open || !hit)
			lx->in_quote = 0;
		lx->pos = t.end;
		tok->end = t.end;
		return tok->kind = t.kind;
	}
	scan_token(b, len, p, lx->placeholders, &t);
	if (t.resume_q) {
		lx->in_quote = t.resume_q;
		lx->tag_start = t.tag_start;
		lx->tag_len = t.tag_len;
	}
	if (t.kind == MD_TOK_IDENT && md_is_keyword(b + p, t.end - p))
		t.kind = MD_TOK_KEYWORD;
	lx->pos = t.end;
	tok->end = t.end;
	return tok->kind = t.kind;
}

/* ---- keywords (PostgreSQL's keyword list, for highlighting) -------------- */

static const char *const keywords[] = {
	"ABORT", "ABSOLUTE", "ACCESS", "ACTION", "ADD", "ADMIN", "AFTER", "AGGREGATE",
	"ALL", "ALSO", "ALTER", "ALWAYS", "ANALYSE", "ANALYZE", "AND", "ANY", "ARRAY",
	"AS", "ASC", "ASENSITIVE", "ASSERTION", "ASSIGNMENT", "ASYMMETRIC", "AT",
	"ATOMIC", "ATTACH", "ATTRIBUTE", "AUTHORIZATION", "BACKWARD", "BEFORE",
	"BEGIN", "BETWEEN", "BIGINT", "BINARY", "BIT", "BOOLEAN", "BOTH", "BREADTH",
	"BY", "CACHE", "CALL", "CALLED", "CASCADE", "CASCADED", "CASE", "CAST",
	"CATALOG", "CHAIN", "CHAR", "CHARACTER", "CHARACTERISTICS", "CHECK",
	"CHECKPOINT", "CLASS", "CLOSE", "CLUSTER", "COALESCE", "COLLATE",
	"COLLATION", "COLUMN", "COLUMNS", "COMMENT", "COMMENTS", "COMMIT",
	"COMMITTED", "COMPRESSION", "CONCURRENTLY", "CONFIGURATION", "CONFLICT",
	"CONNECTION", "CONSTRAINT", "CONSTRAINTS", "CONTENT", "CONTINUE",
	"CONVERSION", "COPY", "COST", "CREATE", "CROSS", "CSV", "CUBE", "CURRENT",
	"CURRENT_CATALOG", "CURRENT_DATE", "CURRENT_ROLE", "CURRENT_SCHEMA",
	"CURRENT_TIME", "CURRENT_TIMESTAMP", "CURRENT_USER", "CURSOR", "CYCLE",
	"DATA", "DATABASE", "DAY", "DEALLOCATE", "DEC", "DECIMAL", "DECLARE",
	"DEFAULT", "DEFAULTS", "DEFERRABLE", "DEFERRED", "DEFINER", "DELETE",
	"DELIMITER", "DELIMITERS", "DEPENDS", "DEPTH", "DESC", "DETACH", "DICTIONARY",
	"DISABLE", "DISCARD", "DISTINCT", "DO", "DOCUMENT", "DOMAIN", "DOUBLE", "DROP",
	"EACH", "ELSE", "ENABLE", "ENCODING", "ENCRYPTED", "END", "ENUM", "ESCAPE",
	"EVENT", "EXCEPT", "EXCLUDE", "EXCLUDING", "EXCLUSIVE", "EXECUTE", "EXISTS",
	"EXPLAIN", "EXPRESSION", "EXTENSION", "EXTERNAL", "EXTRACT", "FALSE",
	"FAMILY", "FETCH", "FILTER", "FINALIZE", "FIRST", "FLOAT", "FOLLOWING", "FOR",
	"FORCE", "FOREIGN", "FORWARD", "FREEZE", "FROM", "FULL", "FUNCTION",
	"FUNCTIONS", "GENERATED", "GLOBAL", "GRANT", "GRANTED", "GREATEST", "GROUP",
	"GROUPING", "GROUPS", "HANDLER", "HAVING", "HEADER", "HOLD", "HOUR",
	"IDENTITY", "IF", "ILIKE", "IMMEDIATE", "IMMUTABLE", "IMPLICIT", "IMPORT",
	"IN", "INCLUDE", "INCLUDING", "INCREMENT", "INDEX", "INDEXES", "INHERIT",
	"INHERITS", "INITIALLY", "INLINE", "INNER", "INOUT", "INPUT", "INSENSITIVE",
	"INSERT", "INSTEAD", "INT", "INTEGER", "INTERSECT", "INTERVAL", "INTO",
	"INVOKER", "IS", "ISNULL", "ISOLATION", "JOIN", "KEY", "LABEL", "LANGUAGE",
	"LARGE", "LAST", "LATERAL", "LEADING", "LEAKPROOF", "LEAST", "LEFT", "LEVEL",
	"LIKE", "LIMIT", "LISTEN", "LOAD", "LOCAL", "LOCALTIME", "LOCALTIMESTAMP",
	"LOCATION", "LOCK", "LOCKED", "LOGGED", "MAPPING", "MATCH", "MATCHED",
	"MATERIALIZED", "MAXVALUE", "MERGE", "METHOD", "MINUTE", "MINVALUE", "MODE",
	"MONTH", "MOVE", "NAME", "NAMES", "NATIONAL", "NATURAL", "NCHAR", "NEW",
	"NEXT", "NFC", "NFD", "NFKC", "NFKD", "NO", "NONE", "NORMALIZE", "NORMALIZED",
	"NOT", "NOTHING", "NOTIFY", "NOTNULL", "NOWAIT", "NULL", "NULLIF", "NULLS",
	"NUMERIC", "OBJECT", "OF", "OFF", "OFFSET", "OIDS", "OLD", "ON", "ONLY",
	"OPERATOR", "OPTION", "OPTIONS", "OR", "ORDER", "ORDINALITY", "OTHERS", "OUT",
	"OUTER", "OVER", "OVERLAPS", "OVERLAY", "OVERRIDING", "OWNED", "OWNER",
	"PARALLEL", "PARAMETER", "PARSER", "PARTIAL", "PARTITION", "PASSING",
	"PASSWORD", "PLACING", "PLANS", "POLICY", "POSITION", "PRECEDING",
	"PRECISION", "PREPARE", "PREPARED", "PRESERVE", "PRIMARY", "PRIOR",
	"PRIVILEGES", "PROCEDURAL", "PROCEDURE", "PROCEDURES", "PROGRAM",
	"PUBLICATION", "QUOTE", "RANGE", "READ", "REAL", "REASSIGN", "RECHECK",
	"RECURSIVE", "REF", "REFERENCES", "REFERENCING", "REFRESH", "REINDEX",
	"RELATIVE", "RELEASE", "RENAME", "REPEATABLE", "REPLACE", "REPLICA", "RESET",
	"RESTART", "RESTRICT", "RETURN", "RETURNING", "RETURNS", "REVOKE", "RIGHT",
	"ROLE", "ROLLBACK", "ROLLUP", "ROUTINE", "ROUTINES", "ROW", "ROWS", "RULE",
	"SAVEPOINT", "SCHEMA", "SCHEMAS", "SCROLL", "SEARCH", "SECOND", "SECURITY",
	"SELECT", "SEQUENCE", "SEQUENCES", "SERIALIZABLE", "SERVER", "SESSION",
	"SESSION_USER", "SET", "SETOF", "SETS", "SHARE", "SHOW", "SIMILAR", "SIMPLE",
	"SKIP", "SMALLINT", "SNAPSHOT", "SOME", "SQL", "STABLE", "STANDALONE",
	"START", "STATEMENT", "STATISTICS", "STDIN", "STDOUT", "STORAGE", "STORED",
	"STRICT", "STRIP", "SUBSCRIPTION", "SUBSTRING", "SUPPORT", "SYMMETRIC",
	"SYSID", "SYSTEM", "SYSTEM_USER", "TABLE", "TABLES", "TABLESAMPLE",
	"TABLESPACE", "TEMP", "TEMPLATE", "TEMPORARY", "TEXT", "THEN", "TIES", "TIME",
	"TIMESTAMP", "TO", "TRAILING", "TRANSACTION", "TRANSFORM", "TREAT", "TRIGGER",
	"TRIM", "TRUE", "TRUNCATE", "TRUSTED", "TYPE", "TYPES", "UESCAPE", "UNBOUNDED",
	"UNCOMMITTED", "UNENCRYPTED", "UNION", "UNIQUE", "UNKNOWN", "UNLISTEN",
	"UNLOGGED", "UNTIL", "UPDATE", "USER", "USING", "VACUUM", "VALID", "VALIDATE",
	"VALIDATOR", "VALUE", "VALUES", "VARCHAR", "VARIADIC", "VARYING", "VERBOSE",
	"VERSION", "VIEW", "VIEWS", "VOLATILE", "WHEN", "WHERE", "WHITESPACE",
	"WINDOW", "WITH", "WITHIN", "WITHOUT", "WORK", "WRAPPER", "WRITE", "XML",
	"YEAR", "YES", "ZONE"
};

/* ASCII case-insensitive compare of word[0..len) with NUL-terminated upper-case kw. */
static int word_cmp(const char *word, size_t len, const char *kw)
{
	size_t i;
	for (i = 0; i < len; i++) {
		unsigned char a = (unsigned char)word[i], k = (unsigned char)kw[i];
		if (a >= 'a' && a <= 'z')
			a = (unsigned char)(a - 32);
		if (!k)
			return 1;
		if (a != k)
			return a < k ? -1 : 1;
	}
	return kw[len] ? -1 : 0;
}

int md_is_keyword(const char *word, size_t len)
{
	size_t lo = 0, hi = sizeof(keywords) / sizeof(keywords[0]);

	if (len < 2 || len > 17)
		return 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = word_cmp(word, len, keywords[mid]);
		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* Is word[0..len) the upper-case keyword kw (any case)? */
static int is_word(const char *word, size_t len, const char *kw)
{
	size_t i;
	for (i = 0; i < len; i++) {
		unsigned char a = (unsigned char)word[i];
		if (!kw[i])
			return 0;
		if (a >= 'a' && a <= 'z')
			a = (unsigned char)(a - 32);
		if (a != (unsigned char)kw[i])
			return 0;
	}
	return kw[len] == '\0';
}

/* ---- positions ------------------------------------------------------------ */

static unsigned utf8_chars(const char *b, size_t from, size_t to)
{
	unsigned n = 0;
	for (; from < to; from++)
		if (((unsigned char)b[from] & 0xC0) != 0x80)
			n++;
	return n;
}

static unsigned count_newlines(const char *b, size_t from, size_t to, size_t *last_nl_end)
{
	unsigned n = 0;
	while (from < to) {
		const char *nl = memchr(b + from, '\n', to - from);
		if (!nl)
			break;
		n++;
		from = (size_t)(nl - b) + 1;
		*last_nl_end = from;
	}
	return n;
}

void md_script_position(const char *buf, size_t len, size_t off, unsigned *line, unsigned *col)
{
	size_t ls = 0;
	if (off > len)
		off = len;
	*line = 1 + count_newlines(buf, 0, off, &ls);
	*col = 1 + utf8_chars(buf, ls, off);
}

/* Line and column of off, moving forward from the splitter's last known
 * position (statements come in order, so the whole file is counted once). */
static void script_pos(md_script *s, size_t off, unsigned *line, unsigned *col)
{
	if (off < s->line_pos) {
		md_script_position(s->buf, s->len, off, line, col);
		return;
	}
	s->line += count_newlines(s->buf, s->line_pos, off, &s->line_start);
	s->line_pos = off;
	*line = s->line;
	*col = 1 + utf8_chars(s->buf, s->line_start, off);
}

/* ---- statements ------------------------------------------------------------ */

void md_script_init(md_script *s, const char *buf, size_t len, const char *file)
{
	memset(s, 0, sizeof(*s));
	s->buf = buf;
	s->len = len;
	s->file = file;
	s->line = 1;
}

int md_stmt_needs_autocommit(unsigned flags, int server_version)
{
	if (flags & MD_STMT_NO_TX)
		return 1;
	if ((flags & MD_STMT_ENUM_ADD_VALUE) && server_version > 0 && server_version < 120000)
		return 1;
	return 0;
}

void md_stmt_flags_text(unsigned flags, char *out, size_t outsz)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ MD_STMT_NO_TX, "no-transaction" },
		{ MD_STMT_TX_CONTROL, "transaction-control" },
		{ MD_STMT_META, "psql-meta-command" },
		{ MD_STMT_COPY_DATA, "copy-data" },
		{ MD_STMT_ENUM_ADD_VALUE, "enum-add-value" },
		{ MD_STMT_NO_SEMICOLON, "no-semicolon" },
		{ MD_STMT_PLACEHOLDERS, "placeholders" },
		{ MD_STMT_EMPTY, "empty" },
	};
	size_t i, used = 0;

	if (!outsz)
		return;
	out[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n;
		if (!(flags & names[i].bit))
			continue;
		n = snprintf(out + used, outsz - used, "%s%s", used ? "," : "", names[i].name);
		if (n < 0 || (size_t)n >= outsz - used)
			return;
		used += (size_t)n;
	}
}

/* What the splitter remembers about the words of one statement. */
#define MAXW 6
typedef struct words {
	unsigned n;              /* words seen at parenthesis depth 0 */
	size_t off[MAXW], len[MAXW];
	/* psql's heuristic for CREATE [OR REPLACE] FUNCTION|PROCEDURE bodies */
	unsigned ident_count;
	char ident[4];
	unsigned begin_depth;
	/* running detectors */
	int detach;              /* ALTER TABLE: 1 after DETACH, 2 after PARTITION */
	int add;                 /* ALTER TYPE: 1 after ADD */
	int from;                /* COPY: 1 after FROM */
	unsigned flags;
} words;

#define W(i, kw) (w->n > (i) && is_word(b + w->off[i], w->len[i], kw))

static void on_word(words *w, const char *b, size_t off, size_t len, unsigned paren)
{
	const char *word = b + off;

	/* psql counts every bare identifier, at any depth */
	if (w->ident_count == 0)
		memset(w->ident, 0, sizeof(w->ident));
	if (w->ident_count < sizeof(w->ident)) {
		if (is_word(word, len, "CREATE") || is_word(word, len, "FUNCTION") ||
		    is_word(word, len, "PROCEDURE") || is_word(word, len, "OR") ||
		    is_word(word, len, "REPLACE"))
			w->ident[w->ident_count] = (char)(word[0] | 0x20);
	}
	w->ident_count++;
	if (w->ident[0] == 'c' &&
	    (w->ident[1] == 'f' || w->ident[1] == 'p' ||
	     (w->ident[1] == 'o' && w->ident[2] == 'r' && (w->ident[3] == 'f' || w->ident[3] == 'p'))) &&
	    paren == 0) {
		if (is_word(word, len, "BEGIN"))
			w->begin_depth++;
		else if (is_word(word, len, "CASE")) {
			if (w->begin_depth >= 1)
				w->begin_depth++;
		} else if (is_word(word, len, "END")) {
			if (w->begin_depth > 0)
				w->begin_depth--;
		}
	}

	if (paren)
		return;
	if (w->n < MAXW) {
		w->off[w->n] = off;
		w->len[w->n] = len;
	}
	w->n++;
	if (w->n <= 2)
		return;
	/* detectors that look past the first words */
	if (W(0, "ALTER") && W(1, "TABLE")) {
		if (is_word(word, len, "DETACH"))
			w->detach = 1;
		else if (w->detach == 1 && is_word(word, len, "PARTITION"))
			w->detach = 2;
		else if (w->detach == 2 && is_word(word, len, "CONCURRENTLY"))
			w->flags |= MD_STMT_NO_TX;
	} else if (W(0, "ALTER") && W(1, "TYPE")) {
		if (w->add && is_word(word, len, "VALUE"))
			w->flags |= MD_STMT_ENUM_ADD_VALUE;
		w->add = is_word(word, len, "ADD");
	} else if (W(0, "COPY")) {
		if (w->from && is_word(word, len, "STDIN"))
			w->flags |= MD_STMT_COPY_DATA;
		w->from = is_word(word, len, "FROM");
	}
}

static unsigned classify(const words *w, const char *b)
{
	unsigned f = w->flags;

	if (w->n == 0)
		return f;
	if (W(0, "BEGIN") || W(0, "COMMIT") || W(0, "END") || W(0, "ROLLBACK") ||
	    W(0, "ABORT") || W(0, "SAVEPOINT") || W(0, "RELEASE") ||
	    (W(0, "START") && W(1, "TRANSACTION")) ||
	    (W(0, "PREPARE") && W(1, "TRANSACTION")))
		f |= MD_STMT_TX_CONTROL;
	if ((W(0, "COMMIT") || W(0, "ROLLBACK")) && W(1, "PREPARED"))
		f |= MD_STMT_NO_TX;
	if (W(0, "VACUUM") || (W(0, "ALTER") && W(1, "SYSTEM")) ||
	    (W(0, "DISCARD") && W(1, "ALL")))
		f |= MD_STMT_NO_TX;
	if ((W(0, "CREATE") || W(0, "DROP")) &&
	    (W(1, "DATABASE") || W(1, "TABLESPACE") || W(1, "SUBSCRIPTION")))
		f |= MD_STMT_NO_TX;
	if (W(0, "CREATE") && W(1, "INDEX") && W(2, "CONCURRENTLY"))
		f |= MD_STMT_NO_TX;
	if (W(0, "CREATE") && W(1, "UNIQUE") && W(2, "INDEX") && W(3, "CONCURRENTLY"))
		f |= MD_STMT_NO_TX;
	if (W(0, "DROP") && W(1, "INDEX") && W(2, "CONCURRENTLY"))
		f |= MD_STMT_NO_TX;
	if (W(0, "REINDEX")) {
		/* REINDEX [ (options) ] {INDEX|TABLE|SCHEMA|DATABASE|SYSTEM} [CONCURRENTLY] */
		if (W(1, "SCHEMA") || W(1, "DATABASE") || W(1, "SYSTEM"))
			f |= MD_STMT_NO_TX;
		if ((W(1, "INDEX") || W(1, "TABLE")) && W(2, "CONCURRENTLY"))
			f |= MD_STMT_NO_TX;
	}
	return f;
}

static const char *open_what(int q)
{
	switch (q) {
	case Q_STD: return "unterminated quoted string";
	case Q_EXT: return "unterminated quoted string (E'...')";
	case Q_IDENT: return "unterminated quoted identifier";
	case Q_DOLLAR: return "unterminated dollar-quoted string";
	case Q_COMMENT: return "unterminated /* comment";
	}
	return "unterminated token";
}

/* End of the COPY data that follows a statement ending at p: the data runs
 * from the next line up to the line "\." (or the end of the buffer). */
static int copy_data(md_script *s, size_t p, md_stmt *st, md_error *err)
{
	const char *b = s->buf;
	size_t len = s->len, q = p;

	/* the rest of the COPY line must be empty: psql would read it only
	 * after the data, which no reader of the file expects */
	while (q < len && b[q] != '\n') {
		if (CLS(b[q]) == C_SPACE) {
			q++;
			continue;
		}
		if (b[q] == '-' && q + 1 < len && b[q + 1] == '-') {
			const char *nl = memchr(b + q, '\n', len - q);
			q = nl ? (size_t)(nl - b) : len;
			continue;
		}
		{
			unsigned line, col;
			script_pos(s, q, &line, &col);
			return md_error_set(err, MD_ERR_SYNTAX, s->file, line, col,
					    "text after COPY ... FROM STDIN on the same line; "
					    "put the data on the lines that follow it");
		}
	}
	q = q < len ? q + 1 : len;
	st->data_start = q;
	st->data_end = len;
	st->next = len;
	while (q < len) {
		const char *nl = memchr(b + q, '\n', len - q);
		size_t eol = nl ? (size_t)(nl - b) : len, l = eol - q;
		if (l >= 2 && b[q] == '\\' && b[q + 1] == '.' &&
		    (l == 2 || (l == 3 && b[q + 2] == '\r'))) {
			st->data_end = q;
			st->next = nl ? eol + 1 : len;
			break;
		}
		q = nl ? eol + 1 : len;
	}
	return 0;
}

int md_script_next(md_script *s, md_stmt *out, md_error *err)
{
	const char *b = s->buf;
	size_t len = s->len, p = s->pos;
	size_t start = 0, head = 0, last = 0;
	int started = 0, has_head = 0;
	unsigned paren = 0;
	words w;
	raw_tok t;

	memset(&w, 0, sizeof(w));
	memset(out, 0, sizeof(*out));

	while (p < len) {
		scan_token(b, len, p, 0, &t);
		switch (t.kind) {
		case MD_TOK_SPACE:
			p = t.end;
			continue;
		case MD_TOK_COMMENT:
			if (b[p] == '-') { /* -- comments: dropped before a statement */
				if (started)
					last = t.end;
				p = t.end;
				continue;
			}
			break;
		case MD_TOK_ERROR: {
			unsigned line, col;
			script_pos(s, p, &line, &col);
			s->pos = len;
			return md_error_set(err, MD_ERR_SYNTAX, s->file, line, col, "%s",
					    open_what(t.open));
		}
		case MD_TOK_META:
			if (started) {
				/* end what came before; the meta-command is next */
				w.flags |= MD_STMT_NO_SEMICOLON;
				goto emit;
			}
			start = head = p;
			has_head = started = 1;
			last = t.end;
			w.flags |= MD_STMT_META;
			p = t.end;
			goto emit;
		default:
			break;
		}

		if (!started) {
			started = 1;
			start = p;
		}
		if (!has_head && t.kind != MD_TOK_COMMENT) {
			has_head = 1;
			head = p;
		}
		last = t.end;

		if (t.kind == MD_TOK_IDENT) {
			on_word(&w, b, p, t.end - p, paren);
		} else if (t.kind == MD_TOK_PUNCT) {
			char c = b[p];
			if (c == '(')
				paren++;
			else if (c == ')') {
				if (paren)
					paren--;
			} else if (c == ';' && paren == 0 && w.begin_depth == 0) {
				p = t.end;
				goto emit;
			} else if (c == '\\') {
				/* "\;" sends a ';' that does not end the statement */
				w.ident_count = 0;
			}
		}
		p = t.end;
	}

	if (!started) {
		s->pos = len;
		return 0;
	}
	w.flags |= MD_STMT_NO_SEMICOLON;

emit:
	out->index = s->index++;
	out->start = start;
	out->end = last;
	out->head = has_head ? head : start;
	out->flags = classify(&w, b);
	if (!has_head || (last - out->head == 1 && b[out->head] == ';'))
		out->flags |= MD_STMT_EMPTY;
	if (!(out->flags & MD_STMT_META) && memmem(b + start, last - start, "${", 2))
		out->flags |= MD_STMT_PLACEHOLDERS;
	out->next = p;
	script_pos(s, out->head, &out->line, &out->col);
	if ((out->flags & MD_STMT_COPY_DATA) && !(out->flags & MD_STMT_NO_SEMICOLON)) {
		int rc = copy_data(s, p, out, err);
		if (rc < 0) {
			s->pos = len;
			return rc;
		}
		p = out->next;
	}
	s->pos = p;
	return 1;
}

/* ---- rendering with placeholders ------------------------------------------ */

static int sql_piece(md_sql *sql, size_t *cap, const char *src_buf, size_t src, const char *text,
		     size_t len, int substituted)
{
	char *nt;
	if (!substituted && sql->npieces) {
		md_sql_piece *lp = &sql->pieces[sql->npieces - 1];
		if (!lp->substituted && lp->src + lp->len == src && lp->out + lp->len == sql->len) {
			lp->len += len;
			goto copy;
		}
	}
	if (sql->npieces == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		md_sql_piece *np = realloc(sql->pieces, ncap * sizeof(*np));
		if (!np)
			return -1;
		sql->pieces = np;
		*cap = ncap;
	}
	sql->pieces[sql->npieces].out = sql->len;
	sql->pieces[sql->npieces].len = len;
	sql->pieces[sql->npieces].src = src;
	sql->pieces[sql->npieces].substituted = substituted;
	sql->npieces++;
copy:
	(void)src_buf;
	nt = realloc(sql->text, sql->len + len + 1);
	if (!nt)
		return -1;
	sql->text = nt;
	memcpy(sql->text + sql->len, text, len);
	sql->len += len;
	sql->text[sql->len] = '\0';
	return 0;
}

int md_sql_render(md_sql *out, const md_script *s, const md_stmt *stmt, md_placeholder_fn lookup,
		  void *payload, md_error *err)
{
	md_lexer lx;
	md_token tok;
	size_t cap = 0;
	const char *b = s->buf;

	memset(out, 0, sizeof(*out));
	out->text = calloc(1, 1);
	if (!out->text)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	if (!(stmt->flags & MD_STMT_PLACEHOLDERS) &&
	    !memchr(b + stmt->start, '\\', stmt->end - stmt->start) &&
	    !memmem(b + stmt->start, stmt->end - stmt->start, "\n\n", 2)) {
		if (sql_piece(out, &cap, b, stmt->start, b + stmt->start, stmt->end - stmt->start, 0) < 0)
			goto nomem;
		return 0;
	}
	md_lexer_init(&lx, b, stmt->end, 1);
	lx.pos = stmt->start;
	while (md_lexer_next(&lx, &tok) != MD_TOK_EOF) {
		size_t n = tok.end - tok.start;
		if (tok.kind == MD_TOK_PLACEHOLDER) {
			char name[160];
			const char *val = NULL;
			size_t nl = n - 3;
			if (nl >= sizeof(name))
				nl = sizeof(name) - 1;
			memcpy(name, b + tok.start + 2, nl);
			name[nl] = '\0';
			if (lookup)
				val = lookup(name, payload);
			if (!val) {
				unsigned line, col;
				md_script_position(b, s->len, tok.start, &line, &col);
				md_sql_free(out);
				return md_error_set(err, MD_ERR_SYNTAX, s->file, line, col,
						    "placeholder ${%s} is not defined (set it in [placeholders])",
						    name);
			}
			if (sql_piece(out, &cap, b, tok.start, val, strlen(val), 1) < 0)
				goto nomem;
			continue;
		}
		if (b[tok.start] == '\\' && n == 2 && (b[tok.start + 1] == ';' || b[tok.start + 1] == ':')) {
			/* psql's "\;" and "\:" send the character alone */
			if (b[tok.start + 1] == ';' && !out->multi) {
				out->multi = 1;
				out->multi_at = tok.start;
			}
			if (sql_piece(out, &cap, b, tok.start + 1, b + tok.start + 1, 1, 0) < 0)
				goto nomem;
			continue;
		}
		if (tok.kind == MD_TOK_SPACE && memchr(b + tok.start, '\n', n)) {
			/* psql reads line by line and skips empty lines outside
			 * quotes and comments: send what psql sends */
			size_t i = tok.start, run;
			while (i < tok.end) {
				run = i;
				while (run < tok.end && !(b[run] == '\n' && run > tok.start && b[run - 1] == '\n'))
					run++;
				if (run > i && sql_piece(out, &cap, b, i, b + i, run - i, 0) < 0)
					goto nomem;
				while (run < tok.end && b[run] == '\n')
					run++;
				i = run;
			}
			continue;
		}
		if (sql_piece(out, &cap, b, tok.start, b + tok.start, n, 0) < 0)
			goto nomem;
	}
	return 0;
nomem:
	md_sql_free(out);
	return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

void md_sql_free(md_sql *sql)
{
	if (!sql)
		return;
	free(sql->text);
	free(sql->pieces);
	memset(sql, 0, sizeof(*sql));
}

size_t md_sql_source_offset(const md_sql *sql, long char_pos)
{
	size_t off = 0, i;
	long chars = 0;

	if (!sql->npieces)
		return 0;
	if (char_pos < 1)
		char_pos = 1;
	/* 1-based character position -> byte offset in the text sent */
	while (off < sql->len) {
		if (((unsigned char)sql->text[off] & 0xC0) != 0x80) {
			if (++chars == char_pos)
				break;
		}
		off++;
	}
	if (off >= sql->len)
		off = sql->len ? sql->len - 1 : 0;
	for (i = 0; i < sql->npieces; i++) {
		const md_sql_piece *pc = &sql->pieces[i];
		if (off >= pc->out && off < pc->out + pc->len)
			return pc->substituted ? pc->src : pc->src + (off - pc->out);
	}
	{
		const md_sql_piece *lp = &sql->pieces[sql->npieces - 1];
		return lp->substituted ? lp->src : lp->src + (lp->len ? lp->len - 1 : 0);
	}
}
