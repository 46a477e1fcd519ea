/* script.h - the SQL script engine: lexer, statement splitter, flags,
 * placeholders and error-position mapping.  Needs no database.
 *
 * The splitter follows psql's own rules (quotes, dollar quotes, nested
 * comments, parentheses, BEGIN ... END bodies of CREATE FUNCTION/PROCEDURE,
 * COPY ... FROM STDIN data, backslash meta-commands), so a file is cut into
 * exactly the statements psql would send to the server.
 *
 * It works on a buffer the caller owns and allocates nothing while
 * splitting: memory does not grow with the number of statements. */
#ifndef MIGDECK_SCRIPT_H
#define MIGDECK_SCRIPT_H

#include <stddef.h>

#include "error.h"

/* ---- tokens (also used for syntax highlighting) ------------------------ */

typedef enum md_tok_kind {
	MD_TOK_EOF = 0,
	MD_TOK_SPACE,       /* whitespace */
	MD_TOK_COMMENT,     /* -- to end of line, or a (nested) block comment */
	MD_TOK_KEYWORD,     /* an identifier that is a PostgreSQL keyword */
	MD_TOK_IDENT,       /* any other bare identifier */
	MD_TOK_QIDENT,      /* "quoted identifier" or U&"..." */
	MD_TOK_STRING,      /* '...', E'...', U&'...', B'...', X'...', N'...' */
	MD_TOK_DOLLAR,      /* a whole dollar-quoted string $tag$...$tag$ */
	MD_TOK_NUMBER,
	MD_TOK_OPERATOR,    /* operators, including :: and := */
	MD_TOK_PUNCT,       /* ( ) [ ] , . ; */
	MD_TOK_PARAM,       /* $1 */
	MD_TOK_PLACEHOLDER, /* ${name} */
	MD_TOK_META,        /* a psql backslash command, to end of line */
	MD_TOK_ERROR        /* an unterminated quote or comment: runs to the end */
} md_tok_kind;

typedef struct md_token {
	md_tok_kind kind;
	size_t start, end;  /* byte range [start, end) in the buffer */
} md_token;

/* Name of a token kind ("keyword", "string", ...). */
const char *md_tok_kind_name(md_tok_kind kind);

/* Is the word (not NUL-terminated, any case) a PostgreSQL keyword? */
int md_is_keyword(const char *word, size_t len);

/* ---- statements ---------------------------------------------------------- */

enum {
	/* cannot run inside a transaction block */
	MD_STMT_NO_TX = 1u << 0,
	/* BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT, SAVEPOINT,
	 * RELEASE, PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED */
	MD_STMT_TX_CONTROL = 1u << 1,
	/* a psql meta-command (\i, \set, ...): never sent to the server */
	MD_STMT_META = 1u << 2,
	/* COPY ... FROM STDIN with its data inline after the statement */
	MD_STMT_COPY_DATA = 1u << 3,
	/* ALTER TYPE ... ADD VALUE: cannot run in a transaction before PG 12 */
	MD_STMT_ENUM_ADD_VALUE = 1u << 4,
	/* no terminating semicolon: the end of the file (or a psql
	 * meta-command such as \g) ended it */
	MD_STMT_NO_SEMICOLON = 1u << 5,
	/* the text contains "${": md_sql_render substitutes the placeholders
	 * outside comments (and errs on an undefined one) */
	MD_STMT_PLACEHOLDERS = 1u << 6,
	/* nothing but a semicolon (psql sends it all the same) */
	MD_STMT_EMPTY = 1u << 7
};

typedef struct md_stmt {
	unsigned index;      /* 0-based position in the file */
	size_t start, end;   /* the part of the file psql would send: [start,
	                        end), ending with the ';' when there is one.
	                        Leading whitespace and -- comments are not part
	                        of it, a leading block comment is (as in psql).
	                        md_sql_render gives the exact text sent: psql
	                        also skips empty lines outside quotes. */
	size_t head;         /* offset of the first token that is not a comment */
	unsigned line, col;  /* 1-based position of head; col counts characters */
	unsigned flags;      /* MD_STMT_* */
	size_t data_start, data_end; /* COPY data: the lines after the statement
	                        up to (not including) the \. line; 0,0 if none */
	size_t next;         /* where the next statement's scan begins */
} md_stmt;

/* Does a statement with these flags need to run outside a transaction
 * block on a server of this version (PQserverVersion, e.g. 150004)? */
int md_stmt_needs_autocommit(unsigned flags, int server_version);

/* Words for flags: "no-transaction,tx-control,..." into out ("" if none). */
void md_stmt_flags_text(unsigned flags, char *out, size_t outsz);

/* The splitter.  Treat as opaque; it lives on the caller's stack. */
typedef struct md_script {
	const char *buf;
	size_t len;
	size_t pos;          /* next byte to scan */
	unsigned index;      /* statements yielded so far */
	unsigned line;       /* line number at line_pos */
	size_t line_pos;     /* a position whose line is known ... */
	size_t line_start;   /* ... and the offset where that line starts */
	const char *file;    /* for error messages; may be NULL */
} md_script;

/* Start splitting buf[0..len).  file names the buffer in errors. */
void md_script_init(md_script *s, const char *buf, size_t len, const char *file);

/* Next statement: returns 1 and fills out, 0 at the end of the buffer, or a
 * negative md_status with err filled (file:line:col of where the
 * unterminated quote, comment or dollar quote opened). */
int md_script_next(md_script *s, md_stmt *out, md_error *err);

/* 1-based line and column (in UTF-8 characters) of a byte offset. */
void md_script_position(const char *buf, size_t len, size_t off,
			unsigned *line, unsigned *col);

/* ---- the lexer on its own (highlighting, drift, placeholders) ----------- */

typedef struct md_lexer {
	const char *buf;
	size_t len;
	size_t pos;
	int placeholders;    /* split strings at ${name}: PLACEHOLDER tokens
	                        inside strings and dollar quotes too */
	/* internal: resuming inside a string split by a placeholder */
	int in_quote;        /* 0, or the kind of quote being resumed */
	size_t tag_start, tag_len; /* dollar-quote tag being resumed */
} md_lexer;

void md_lexer_init(md_lexer *lx, const char *buf, size_t len, int placeholders);

/* Next token; MD_TOK_EOF at the end.  Never fails: an unterminated quote or
 * comment is one MD_TOK_ERROR token that runs to the end of the buffer.
 * The lexer knows nothing of statements: inline COPY data is found by the
 * splitter (md_stmt.data_start/data_end), so a highlighter lexes statement
 * ranges and paints data ranges as data. */
md_tok_kind md_lexer_next(md_lexer *lx, md_token *tok);

/* ---- placeholders and the text sent to the server ----------------------- */

/* Look a placeholder up: return its value, or NULL if it is not defined. */
typedef const char *(*md_placeholder_fn)(const char *name, void *payload);

/* One piece of the rendered text: bytes [out, out+len) of the rendered SQL
 * come from the source at src (literal copy) or stand for the placeholder
 * that starts at src (substituted). */
typedef struct md_sql_piece {
	size_t out, len, src;
	int substituted;
} md_sql_piece;

/* A statement's text as it is sent to the server. */
typedef struct md_sql {
	char *text;          /* NUL-terminated */
	size_t len;
	md_sql_piece *pieces;
	size_t npieces;
	int multi;           /* psql's "\;" joined several statements into one */
	size_t multi_at;     /* the source offset of the first "\;" */
} md_sql;

/* Render the text psql would send for stmt: its ${name} placeholders
 * replaced (outside comments, in strings and dollar-quoted bodies too),
 * psql's "\;" sent as ";", and empty lines outside quotes and comments
 * dropped, as psql drops them.  lookup may be NULL when there are no
 * placeholders.  An undefined placeholder is MD_ERR_SYNTAX with its
 * line:col. */
int md_sql_render(md_sql *out, const md_script *s, const md_stmt *stmt,
		  md_placeholder_fn lookup, void *payload, md_error *err);

void md_sql_free(md_sql *sql);

/* Map a server error position (PG_DIAG_STATEMENT_POSITION: a 1-based
 * character offset into the text sent) back to a byte offset in the source
 * buffer.  A position inside a substituted value maps to its placeholder. */
size_t md_sql_source_offset(const md_sql *sql, long char_pos);

#endif
