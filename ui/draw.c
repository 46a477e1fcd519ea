/* draw.c - roles, widths and boxes (see draw.h). */
#include "draw.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

static attr_t role_attr[R_NROLES];
static short role_pair[R_NROLES];
static int unicode;

/* role, foreground, background (-1: the terminal's), extra attributes;
 * mono: the attributes without colour */
static const struct role_def {
	ui_role role;
	short fg, bg;
	attr_t attr, mono;
} defs[] = {
	{ R_NORMAL, -1, -1, A_NORMAL, A_NORMAL },
	{ R_TITLE, COLOR_WHITE, COLOR_BLUE, A_BOLD, A_REVERSE | A_BOLD },
	{ R_BORDER, COLOR_BLUE, -1, A_NORMAL, A_NORMAL },
	{ R_BORDER_FOCUS, COLOR_CYAN, -1, A_BOLD, A_BOLD },
	{ R_CURSOR, COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
	{ R_SELECTED, -1, -1, A_UNDERLINE, A_UNDERLINE },
	{ R_STATUS, COLOR_WHITE, COLOR_BLUE, A_NORMAL, A_REVERSE },
	{ R_TAB, -1, -1, A_NORMAL, A_NORMAL },
	{ R_TAB_ACTIVE, COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD },
	{ R_OK, COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
	{ R_PENDING, COLOR_CYAN, -1, A_NORMAL, A_NORMAL },
	{ R_WARN, COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	{ R_BAD, COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE },
	{ R_DIM, -1, -1, A_DIM, A_DIM },
	{ R_KEYWORD, COLOR_BLUE, -1, A_BOLD, A_BOLD },
	{ R_IDENT, -1, -1, A_NORMAL, A_NORMAL },
	{ R_STRING, COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
	{ R_NUMBER, COLOR_MAGENTA, -1, A_NORMAL, A_NORMAL },
	{ R_COMMENT, COLOR_CYAN, -1, A_DIM, A_DIM },
	{ R_OPERATOR, -1, -1, A_NORMAL, A_NORMAL },
	{ R_PLACEHOLDER, COLOR_MAGENTA, -1, A_BOLD, A_UNDERLINE },
	{ R_META, COLOR_RED, -1, A_BOLD, A_BOLD },
	{ R_ERROR, COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE },
	{ R_LINENO, COLOR_YELLOW, -1, A_DIM, A_DIM },
};

void ui_roles_init(int color)
{
	size_t i;

	if (color && has_colors()) {
		start_color();
		use_default_colors();
	} else {
		color = 0;
	}
	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		const struct role_def *d = &defs[i];

		if (color && (d->fg != -1 || d->bg != -1) && (int)d->role < COLOR_PAIRS) {
			init_pair((short)d->role, d->fg, d->bg);
			role_pair[d->role] = (short)d->role;
			role_attr[d->role] = d->attr;
		} else {
			role_pair[d->role] = 0;
			role_attr[d->role] = color ? d->attr : d->mono;
		}
	}
}

attr_t ui_role_attr(ui_role r)
{
	return role_attr[r];
}

int ui_role_pair(ui_role r)
{
	return role_pair[r];
}

void ui_set_role(WINDOW *w, ui_role r)
{
	wattr_set(w, role_attr[r], role_pair[r], NULL);
}

void ui_set_unicode(int on)
{
	unicode = on;
}

int ui_unicode(void)
{
	return unicode;
}

const char *ui_line_str(ui_line l)
{
	static const char *const u[L_NLINES] = { "─", "│", "┌", "┐", "└", "┘", "├", "┤" };
	static const char *const a[L_NLINES] = { "-", "|", "+", "+", "+", "+", "+", "+" };

	return unicode ? u[l] : a[l];
}

/* The next character of s[0..len): its wide character (bad bytes and
 * control characters read as '?', a tab as a space) and its display
 * width.  Returns the bytes it takes (at least 1). */
static size_t next_char(const char *s, size_t len, mbstate_t *st, wchar_t *wc, int *cw)
{
	size_t n = mbrtowc(wc, s, len, st);

	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		memset(st, 0, sizeof(*st));
		n = 1;
		*wc = L'?';
	} else if (*wc == L'\t') {
		*wc = L' ';
	} else if (*wc < 32 || *wc == 127 || (*wc >= 0x80 && *wc < 0xa0)) {
		*wc = L'?';
	}
	*cw = wcwidth(*wc);
	if (*cw < 0) {
		*wc = L'?';
		*cw = 1;
	}
	return n;
}

int ui_width(const char *s, size_t len)
{
	mbstate_t st;
	size_t i = 0;
	int w = 0;

	memset(&st, 0, sizeof(st));
	while (i < len) {
		wchar_t wc;
		int cw;

		i += next_char(s + i, len - i, &st, &wc, &cw);
		w += cw;
	}
	return w;
}

int ui_put(WINDOW *w, int y, int x, const char *s, size_t len, int maxw, ui_role r,
	   int cut_mark)
{
	mbstate_t st;
	size_t i = 0;
	int used = 0;

	if (maxw <= 0)
		return 0;
	ui_set_role(w, r);
	wmove(w, y, x);
	memset(&st, 0, sizeof(st));
	while (i < len) {
		wchar_t wc;
		int cw;
		size_t n = next_char(s + i, len - i, &st, &wc, &cw);

		if (used + cw > maxw || (cut_mark && used + cw == maxw && i + n < len)) {
			if (cut_mark && used < maxw) {
				waddch(w, '~');
				used++;
			}
			break;
		}
		if (cw > 0 || used > 0) {
			wchar_t one[2] = { wc, 0 };

			waddnwstr(w, one, 1);
		}
		used += cw;
		i += n;
	}
	return used;
}

int ui_puts(WINDOW *w, int y, int x, const char *s, int maxw, ui_role r)
{
	return ui_put(w, y, x, s, strlen(s), maxw, r, 1);
}

void ui_fill(WINDOW *w, int y, int x, int maxx, ui_role r)
{
	ui_set_role(w, r);
	for (; x < maxx; x++)
		mvwaddch(w, y, x, ' ');
}

void ui_box(WINDOW *w, const char *title, int focus)
{
	int h, wd, i;
	ui_role r = focus ? R_BORDER_FOCUS : R_BORDER;
	char t[256];

	getmaxyx(w, h, wd);
	if (h < 2 || wd < 2)
		return;
	ui_set_role(w, r);
	for (i = 1; i < wd - 1; i++) {
		mvwaddstr(w, 0, i, ui_line_str(L_H));
		mvwaddstr(w, h - 1, i, ui_line_str(L_H));
	}
	for (i = 1; i < h - 1; i++) {
		mvwaddstr(w, i, 0, ui_line_str(L_V));
		mvwaddstr(w, i, wd - 1, ui_line_str(L_V));
	}
	mvwaddstr(w, 0, 0, ui_line_str(L_TL));
	mvwaddstr(w, 0, wd - 1, ui_line_str(L_TR));
	mvwaddstr(w, h - 1, 0, ui_line_str(L_BL));
	mvwaddstr(w, h - 1, wd - 1, ui_line_str(L_BR));
	if (title && wd > 6) {
		snprintf(t, sizeof(t), focus ? "[ %s ]" : "  %s  ", title);
		ui_puts(w, 0, 1, t, wd - 3, r);
	}
}
