/* preview.h - a SQL file as the preview pane shows it: lines, tokens for
 * highlighting (the script engine's lexer), statement boundaries and the
 * flags of each statement (the engine's splitter). */
#ifndef MIGDECK_UI_PREVIEW_H
#define MIGDECK_UI_PREVIEW_H

#include <curses.h>
#include <stddef.h>

#include "script.h"

typedef struct ui_pline {
	size_t start, end;  /* bytes of the line, without its line break */
	unsigned stmt;      /* 1-based number of the statement that starts on
	                       this line, 0 if none */
	unsigned flags;     /* that statement's MD_STMT_* */
	int in_stmt;        /* the line is part of a statement */
	int data;           /* COPY data */
	size_t tok;         /* the first token that reaches this line */
} ui_pline;

typedef struct ui_preview {
	char *path;
	char *buf;
	size_t len;
	ui_pline *lines;
	size_t nlines;
	md_token *toks;
	size_t ntoks;
	unsigned nstmts, nnotx, nmeta, ntxctl;
	char error[1200];   /* the file cannot be read or split, or "" */
} ui_preview;

/* Load path (replacing what p held).  Returns 0, or -1 with p->error set
 * (the lines read so far are kept). */
int ui_preview_load(ui_preview *p, const char *path);
void ui_preview_clear(ui_preview *p);

/* Draw lines [top, top + h) in w from row y, columns x..x+wd-1: line
 * numbers, statement marks, flags and highlighted text. */
void ui_preview_draw(const ui_preview *p, WINDOW *w, int y, int x, int h, int wd, size_t top);

/* Gutter width used by ui_preview_draw. */
int ui_preview_gutter(const ui_preview *p);

#endif
