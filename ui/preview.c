/* preview.c - the preview model and its drawing (see preview.h). */
#include "preview.h"

#include "draw.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ui_preview_clear(ui_preview *p)
{
	free(p->path);
	free(p->buf);
	free(p->lines);
	free(p->toks);
	memset(p, 0, sizeof(*p));
}

/* The line holding byte off (lines sorted by start). */
static size_t line_of(const ui_preview *p, size_t off)
{
	size_t lo = 0, hi = p->nlines;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->lines[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int ui_preview_load(ui_preview *p, const char *path)
{
	md_error err;
	md_lexer lx;
	md_token tok;
	md_script s;
	md_stmt st;
	size_t i, cap, t;
	int rc;

	ui_preview_clear(p);
	p->path = strdup(path);
	md_error_clear(&err);
	if (md_read_file(path, &p->buf, &p->len, &err) != MD_OK) {
		md_error_format(&err, p->error, sizeof(p->error));
		return -1;
	}
	/* lines */
	cap = 64;
	p->lines = malloc(cap * sizeof(*p->lines));
	for (i = 0; p->lines;) {
		const char *nl = memchr(p->buf + i, '\n', p->len - i);
		size_t end = nl ? (size_t)(nl - p->buf) : p->len;
		ui_pline *l;

		if (!nl && i == p->len && p->nlines)
			break;
		if (p->nlines == cap) {
			ui_pline *g = realloc(p->lines, (cap *= 2) * sizeof(*g));

			if (!g)
				break;
			p->lines = g;
		}
		l = &p->lines[p->nlines++];
		memset(l, 0, sizeof(*l));
		l->start = i;
		l->end = end > i && p->buf[end - 1] == '\r' ? end - 1 : end;
		if (!nl)
			break;
		i = end + 1;
	}
	if (!p->lines) {
		snprintf(p->error, sizeof(p->error), "%s: out of memory", path);
		return -1;
	}
	/* tokens */
	cap = 256;
	p->toks = malloc(cap * sizeof(*p->toks));
	md_lexer_init(&lx, p->buf, p->len, 1);
	while (p->toks && md_lexer_next(&lx, &tok) != MD_TOK_EOF) {
		if (tok.kind == MD_TOK_SPACE)
			continue;
		if (p->ntoks == cap) {
			md_token *g = realloc(p->toks, (cap *= 2) * sizeof(*g));

			if (!g)
				break;
			p->toks = g;
		}
		p->toks[p->ntoks++] = tok;
	}
	for (i = 0, t = 0; i < p->nlines; i++) {
		while (t < p->ntoks && p->toks[t].end <= p->lines[i].start)
			t++;
		p->lines[i].tok = t;
	}
	/* statements */
	md_script_init(&s, p->buf, p->len, path);
	while ((rc = md_script_next(&s, &st, &err)) == 1) {
		size_t a = line_of(p, st.head > st.start ? st.start : st.start);
		size_t b = line_of(p, st.end > st.start ? st.end - 1 : st.start);
		size_t k;

		/* the mark goes on the line of the statement's first token */
		a = line_of(p, st.head);
		p->lines[a].stmt = st.index + 1;
		p->lines[a].flags = st.flags;
		for (k = line_of(p, st.start); k <= b; k++)
			p->lines[k].in_stmt = 1;
		if (st.data_end > st.data_start) {
			size_t da = line_of(p, st.data_start), db = line_of(p, st.data_end - 1);

			for (k = da; k <= db; k++)
				p->lines[k].data = p->lines[k].in_stmt = 1;
		}
		p->nstmts++;
		if (st.flags & MD_STMT_NO_TX)
			p->nnotx++;
		if (st.flags & MD_STMT_META)
			p->nmeta++;
		if (st.flags & MD_STMT_TX_CONTROL)
			p->ntxctl++;
	}
	if (rc < 0) {
		md_error_format(&err, p->error, sizeof(p->error));
		return -1;
	}
	return 0;
}

int ui_preview_gutter(const ui_preview *p)
{
	int digits = 1;
	size_t n = p->nlines;

	while (n >= 10) {
		n /= 10;
		digits++;
	}
	if (digits < 3)
		digits = 3;
	/* "NNN #12 N " */
	return digits + 1 + 4 + 2;
}

static ui_role tok_role(md_tok_kind k)
{
	switch (k) {
	case MD_TOK_COMMENT: return R_COMMENT;
	case MD_TOK_KEYWORD: return R_KEYWORD;
	case MD_TOK_QIDENT:
	case MD_TOK_IDENT: return R_IDENT;
	case MD_TOK_STRING:
	case MD_TOK_DOLLAR: return R_STRING;
	case MD_TOK_NUMBER: return R_NUMBER;
	case MD_TOK_PARAM:
	case MD_TOK_PLACEHOLDER: return R_PLACEHOLDER;
	case MD_TOK_META: return R_META;
	case MD_TOK_ERROR: return R_ERROR;
	default: return R_OPERATOR;
	}
}

/* The flag letter of a statement: N cannot run in a transaction, M a psql
 * meta-command, T transaction control, C COPY with inline data. */
static char flag_letter(unsigned f)
{
	if (f & MD_STMT_META)
		return 'M';
	if (f & MD_STMT_NO_TX)
		return 'N';
	if (f & MD_STMT_TX_CONTROL)
		return 'T';
	if (f & MD_STMT_COPY_DATA)
		return 'C';
	return ' ';
}

void ui_preview_draw(const ui_preview *p, WINDOW *w, int y, int x, int h, int wd, size_t top)
{
	int g = ui_preview_gutter(p), row, digits = (g - 7) & 31;
	char gut[64];

	for (row = 0; row < h; row++) {
		size_t li = top + (size_t)row;
		const ui_pline *l;
		size_t pos, t;
		int col;

		ui_fill(w, y + row, x, x + wd, R_NORMAL);
		if (li >= p->nlines)
			continue;
		l = &p->lines[li];
		snprintf(gut, sizeof(gut), "%*zu ", digits, li + 1);
		ui_puts(w, y + row, x, gut, wd, R_LINENO);
		if (l->stmt) {
			snprintf(gut, sizeof(gut), "#%-3u", l->stmt);
			ui_puts(w, y + row, x + digits + 1, gut, 4, R_KEYWORD);
		} else if (l->in_stmt) {
			ui_puts(w, y + row, x + digits + 1, ui_line_str(L_V), 1, R_DIM);
		}
		if (l->stmt && flag_letter(l->flags) != ' ') {
			gut[0] = flag_letter(l->flags);
			gut[1] = '\0';
			ui_puts(w, y + row, x + digits + 5, gut, 1,
				(l->flags & (MD_STMT_META | MD_STMT_NO_TX)) ? R_WARN : R_DIM);
		}
		col = x + g;
		if (l->data) {
			ui_put(w, y + row, col, p->buf + l->start, l->end - l->start, x + wd - col,
			       R_STRING, 1);
			continue;
		}
		/* text, token by token; gaps (spaces) in the normal role */
		pos = l->start;
		for (t = l->tok; pos < l->end && col < x + wd; t++) {
			size_t a, b;

			if (t < p->ntoks && p->toks[t].start < l->end) {
				a = p->toks[t].start > pos ? p->toks[t].start : pos;
				b = p->toks[t].end < l->end ? p->toks[t].end : l->end;
			} else {
				a = b = l->end;
			}
			if (a > pos)
				col += ui_put(w, y + row, col, p->buf + pos, a - pos, x + wd - col,
					      R_NORMAL, 1);
			if (b > a && col < x + wd)
				col += ui_put(w, y + row, col, p->buf + a, b - a, x + wd - col,
					      tok_role(p->toks[t].kind), 1);
			pos = b > pos ? b : l->end;
		}
	}
}
