/* draw.h - drawing by colour role, never by raw curses attribute, and text
 * that fits a width in display columns (UTF-8 aware). */
#ifndef MIGDECK_UI_DRAW_H
#define MIGDECK_UI_DRAW_H

#include <curses.h>
#include <stddef.h>

typedef enum ui_role {
	R_NORMAL = 0,
	R_TITLE,
	R_BORDER,
	R_BORDER_FOCUS,
	R_CURSOR,      /* the selected row of the focused pane */
	R_SELECTED,    /* the selected row of another pane */
	R_STATUS,
	R_TAB,
	R_TAB_ACTIVE,
	R_OK,          /* applied */
	R_PENDING,
	R_WARN,        /* drift, misplaced, out of order */
	R_BAD,         /* failed, missing file, down */
	R_DIM,
	R_KEYWORD,
	R_IDENT,
	R_STRING,
	R_NUMBER,
	R_COMMENT,
	R_OPERATOR,
	R_PLACEHOLDER,
	R_META,
	R_ERROR,
	R_LINENO,
	R_NROLES
} ui_role;

/* Set up the roles: colours when the terminal has them and color is on,
 * else the monochrome scheme (bold, reverse, underline, dim). */
void ui_roles_init(int color);
attr_t ui_role_attr(ui_role r);
int ui_role_pair(ui_role r);
void ui_set_role(WINDOW *w, ui_role r);

/* Unicode marks and box lines when the locale is UTF-8, ASCII otherwise. */
void ui_set_unicode(int on);
int ui_unicode(void);

/* Box pieces. */
typedef enum ui_line {
	L_H = 0, L_V, L_TL, L_TR, L_BL, L_BR, L_LT, L_RT, L_NLINES
} ui_line;
const char *ui_line_str(ui_line l);

/* Draw s at (y, x) in role r, at most maxw display columns (cut with "~"
 * when it does not fit and cut_mark is set); tabs as spaces; control
 * characters as '?'.  Returns the columns used. */
int ui_put(WINDOW *w, int y, int x, const char *s, size_t len, int maxw, ui_role r,
	   int cut_mark);
/* The same with a NUL-terminated string. */
int ui_puts(WINDOW *w, int y, int x, const char *s, int maxw, ui_role r);
/* Display width of s[0..len). */
int ui_width(const char *s, size_t len);
/* Fill a row from column x to maxx with spaces in role r. */
void ui_fill(WINDOW *w, int y, int x, int maxx, ui_role r);
/* A box with a title in its top line (focus: the focused style and the
 * title in brackets, so focus shows without colour). */
void ui_box(WINDOW *w, const char *title, int focus);

#endif
