/* console.c - the console: layout, panes, keys, key scripts and screen
 * dumps (see console.h).
 *
 * One state machine: the main loop takes what the engine's worker published
 * (src/deck.h), draws when something changed, and turns each key into one
 * action of ui/actions.h.  Handlers change state and never draw; drawing
 * reads state and never changes it.  The help screen is a panel over the
 * panes.  With a key script (MIGDECK_KEYS or --keys) the keys come from the
 * file, each after loading has finished, and `:save-display NAME` writes the
 * screen as plain text: no terminal is needed, so CI runs the real program. */
#define _XOPEN_SOURCE_EXTENDED 1
#include "console.h"

#include "deck.h"
#include "draw.h"
#include "keys.h"
#include "preview.h"
#include "stepper.h"
#include "version.h"

#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <panel.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#define MIN_COLS 60
#define MIN_ROWS 15
#define WIDE_COLS 100

enum pane { P_PENDING = 0, P_APPLIED, P_ARCHIVE, P_PREVIEW, P_DB, P_N };

static const char *const pane_names[P_N] = { "Pending", "Applied", "Archive", "Preview",
					     "Database" };

typedef struct row {
	const md_plan_item *it;   /* NULL for a rollback-only row (never listed) */
	const md_file *file;      /* it->file, or NULL for a missing file */
} row;

typedef struct list {
	row *rows;
	size_t n, sel, top;
	char *sel_key;            /* the selected file's name, kept across reloads */
} list;

typedef struct rect {
	int y, x, h, w;
} rect;

/* A key script event. */
typedef enum ev_kind {
	EV_KEY, EV_DUMP, EV_RESIZE, EV_CLICK, EV_SLEEP, EV_WAIT_DB, EV_WAIT_FILE, EV_WAIT_BLOCKED,
	EV_CANCEL
} ev_kind;
typedef struct script_ev {
	ev_kind kind;
	int key, a, b;
	char *arg;
	unsigned line;
} script_ev;

typedef struct ui {
	const md_config *cfg;     /* the settings in force (md_deck_config) */
	const md_config *base;    /* as loaded: its targets and groups */
	md_deck *deck;
	const md_deck_data *data;
	const md_deck_db *db;
	const md_deck_others *others; /* the other targets' states, or NULL */
	/* t and F: a chooser of targets ('t') or groups ('g') over the panes;
	 * names[i] NULL is "default" (the settings without a target) */
	int pick;
	char **pick_names, **pick_lines;
	size_t pick_n, pick_sel;
	WINDOW *pickw;
	PANEL *pick_p;
	/* the fleet view of a group: the picture asked for, the cursor */
	int fleet;
	char fleet_group[128];
	unsigned long fleet_want;
	size_t fleet_sel, fleet_top;
	char member_of[128];      /* the group of the member in force, or "" */
	WINDOW *fleetw;
	PANEL *fleet_p;
	list lists[3];
	int focus, last_folder;
	int maximized, help, help_top, help_lines, db_lines;
	int show_pair;
	size_t db_top;
	/* search */
	int searching;
	char input[256];
	char query[256];
	/* preview */
	ui_preview pv;
	char *pv_key;             /* path previewed, or "" */
	size_t pv_top;
	char pv_title[512];
	/* the preview's mode: 0 the file, else a md_deck_diff_kind; the diff
	 * asked for and, once it came, its lines */
	/* the stepper (s): its session, the last copy of its state, a quit
	 * that waits for y/n, when an ACCESS EXCLUSIVE lock was first seen */
	md_stepper *st;
	md_stepper_view *sv;
	int st_confirm;
	/* a (apply) and u (rollback): files run one after the other without
	 * stepping, through the same stepper; u asks first; on a production
	 * database every run waits for the database name to be typed */
	char **auto_q;
	char auto_backup[4096];  /* the backup the a/u run took first ("" none) */
	size_t auto_n, auto_i;
	int auto_rollback, auto_active;
	int ask;               /* 0, 'u' (y/n), 'p' (type the database name) */
	ui_action ask_then;    /* what runs once asked */
	double excl_since;
	WINDOW *stepw;
	PANEL *step_p;
	int pv_mode;
	unsigned long diff_want;
	const md_deck_diff *diff;
	size_t *diff_lines;   /* offsets of the lines of diff->diff.text */
	size_t ndiff_lines;
	char pv_head[512];
	/* screen */
	int too_small, wide;
	WINDOW *win[P_N], *title, *tabs, *status, *helpw;
	PANEL *pan[P_N], *title_p, *tabs_p, *status_p, *help_p;
	rect rc[P_N];
	int tab_x[P_N + 1];
	char msg[512];
	int dirty;
	/* script and profile */
	script_ev *evs;
	size_t nevs;
	const char *dump_dir;
	const char *profile;
	double t0, first_frame_ms;
	double *key_ms;
	size_t nkey_ms, cap_key_ms;
	int quit;
} ui;

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t curses_on;

/* ---- terminal restore --------------------------------------------------------- */

static void restore_terminal(void)
{
	if (curses_on) {
		curses_on = 0;
		endwin();
	}
}

static void on_quit_signal(int sig)
{
	got_signal = sig;
}

static void on_crash(int sig)
{
	static const char msg[] = "migdeck: the console crashed; the terminal was restored\n";

	restore_terminal();
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signals(void)
{
	struct sigaction sa;
	static const int crash[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_quit_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_crash;
	for (i = 0; i < sizeof(crash) / sizeof(crash[0]); i++)
		sigaction(crash[i], &sa, NULL);
	atexit(restore_terminal);
}

/* ---- rows ------------------------------------------------------------------------ */

static const md_plan_item *row_item(const ui *u, int pane)
{
	const list *l = &u->lists[pane];

	return l->n ? l->rows[l->sel].it : NULL;
}

static const char *item_key(const md_plan_item *it)
{
	if (it->file)
		return it->file->name;
	return it->row && it->row->script ? it->row->script : it->row ? it->row->version : "";
}

static void remember_sel(list *l)
{
	free(l->sel_key);
	l->sel_key = l->n && l->rows[l->sel].it ? strdup(item_key(l->rows[l->sel].it)) : NULL;
}

/* Rebuild the three lists from the current plan, keeping each selection. */
static void rebuild_lists(ui *u)
{
	const md_plan *plan = u->data->plan;
	size_t i;
	int p;

	for (p = 0; p < 3; p++) {
		list *l = &u->lists[p];

		free(l->rows);
		l->rows = NULL;
		l->n = 0;
		if (plan && plan->n && !(l->rows = calloc(plan->n, sizeof(row))))
			return;
	}
	for (i = 0; plan && i < plan->n; i++) {
		const md_plan_item *it = &plan->items[i];
		int pane = it->file ? (int)it->file->folder : P_APPLIED;
		list *l = &u->lists[pane];

		l->rows[l->n].it = it;
		l->rows[l->n].file = it->file;
		l->n++;
	}
	for (p = 0; p < 3; p++) {
		list *l = &u->lists[p];

		if (l->sel_key) {
			for (i = 0; i < l->n; i++)
				if (!strcmp(item_key(l->rows[i].it), l->sel_key))
					break;
			if (i < l->n)
				l->sel = i;
		}
		if (l->sel >= l->n)
			l->sel = l->n ? l->n - 1 : 0;
	}
}

/* ---- marks ------------------------------------------------------------------------ */

typedef struct mark {
	const char *u, *a;  /* Unicode, ASCII */
	const char *word;
	ui_role role;
} mark;

enum {
	M_APPLIED = 0, M_PENDING, M_DRIFT_COSMETIC, M_DRIFT, M_MISSING, M_MISPLACED, M_FAILED,
	M_ROLLED_BACK, M_OUT_OF_ORDER, M_ARCHIVED, M_CHANGED, M_UNKNOWN, M_NMARKS
};

static const mark marks[M_NMARKS] = {
	{ "✓", "+", "applied", R_OK },
	{ "○", "o", "pending", R_PENDING },
	{ "≈", "~", "drifted (cosmetic)", R_WARN },
	{ "≠", "!", "drifted", R_BAD },
	{ "∅", "?", "missing file", R_BAD },
	{ "⇄", "m", "misplaced", R_WARN },
	{ "✗", "x", "failed", R_BAD },
	{ "↺", "r", "rolled back", R_PENDING },
	{ "↯", "^", "out of order", R_WARN },
	{ "▪", "#", "archived", R_DIM },
	{ "↻", "*", "changed (runs again)", R_WARN },
	{ "…", ".", "not known yet", R_DIM },
};

static int item_mark(const ui *u, const md_plan_item *it)
{
	if (!u->data->history_loaded && it->state != MD_STATE_ARCHIVED)
		return M_UNKNOWN;
	if (it->state == MD_STATE_FAILED)
		return M_FAILED;
	if (it->state == MD_STATE_MISSING_FILE)
		return M_MISSING;
	if (it->flags & MD_PLAN_DRIFT)
		return (it->flags & MD_PLAN_DRIFT_COSMETIC) ? M_DRIFT_COSMETIC : M_DRIFT;
	if (it->flags & MD_PLAN_MISPLACED)
		return M_MISPLACED;
	if (it->flags & MD_PLAN_OUT_OF_ORDER)
		return M_OUT_OF_ORDER;
	if (it->flags & MD_PLAN_REPEATABLE_CHANGED)
		return M_CHANGED;
	switch (it->state) {
	case MD_STATE_APPLIED: return M_APPLIED;
	case MD_STATE_ROLLED_BACK: return M_ROLLED_BACK;
	case MD_STATE_ARCHIVED: return M_ARCHIVED;
	default: return M_PENDING;
	}
}

/* The state in words: "applied, drifted, misplaced". */
static void item_words(const ui *u, const md_plan_item *it, char *out, size_t sz)
{
	int m = item_mark(u, it);

	if (m == M_UNKNOWN) {
		snprintf(out, sz, "%s", u->db->conn == MD_DECK_CONNECTING ? "loading" : "unknown");
		return;
	}
	snprintf(out, sz, "%s", md_state_name(it->state));
	if (it->flags & MD_PLAN_DRIFT)
		snprintf(out + strlen(out), sz - strlen(out), ", %s",
			 (it->flags & MD_PLAN_DRIFT_COSMETIC) ? "drifted (cosmetic)" : "drifted");
	if (it->flags & MD_PLAN_MISPLACED)
		snprintf(out + strlen(out), sz - strlen(out), ", misplaced");
	if (it->flags & MD_PLAN_OUT_OF_ORDER)
		snprintf(out + strlen(out), sz - strlen(out), ", out of order");
	if (it->flags & MD_PLAN_REPEATABLE_CHANGED)
		snprintf(out + strlen(out), sz - strlen(out), ", changed");
}

static const struct git_mark {
	md_git_state st;
	const char *mark, *word;
} git_marks[] = {
	{ MD_GIT_COMMITTED, "=", "committed" },  { MD_GIT_MODIFIED, "M", "modified" },
	{ MD_GIT_ADDED, "A", "added, not committed" }, { MD_GIT_UNTRACKED, "?", "untracked" },
	{ MD_GIT_IGNORED, "I", "ignored" },      { MD_GIT_NONE, "-", "not in a git repository" },
	{ MD_GIT_UNKNOWN, " ", "not known" },
};

static const struct git_mark *git_mark_of(md_git_state s)
{
	size_t i;

	for (i = 0; i < sizeof(git_marks) / sizeof(git_marks[0]) - 1; i++)
		if (git_marks[i].st == s)
			return &git_marks[i];
	return &git_marks[sizeof(git_marks) / sizeof(git_marks[0]) - 1];
}

/* ---- preview -------------------------------------------------------------------- */

static const md_plan_item *preview_item(const ui *u)
{
	return row_item(u, u->last_folder);
}

/* In a diff mode, ask the worker for the diff of the file shown. */
static void ask_diff(ui *u)
{
	u->diff = NULL;
	u->ndiff_lines = 0;
	if (!u->pv_mode || !u->pv_key || !*u->pv_key)
		return;
	u->diff_want = md_deck_request_diff(u->deck, (md_deck_diff_kind)u->pv_mode, u->pv_key);
}

/* A diff came from the worker: keep it if it is the one asked for. */
static void got_diff(ui *u)
{
	const md_deck_diff *x = md_deck_current_diff(u->deck);
	size_t i, n = 0, cap = 64;

	if (!x || x->seq != u->diff_want || !u->pv_mode)
		return;
	u->diff = x;
	u->pv_top = 0;
	free(u->diff_lines);
	u->diff_lines = malloc(cap * sizeof(*u->diff_lines));
	for (i = 0; u->diff_lines && x->diff.text && i < x->diff.len;) {
		const char *nl = memchr(x->diff.text + i, '\n', x->diff.len - i);

		if (n == cap) {
			size_t *g = realloc(u->diff_lines, (cap *= 2) * sizeof(*g));

			if (!g)
				break;
			u->diff_lines = g;
		}
		u->diff_lines[n++] = i;
		i = nl ? (size_t)(nl - x->diff.text) + 1 : x->diff.len;
	}
	u->ndiff_lines = n;
}

/* Load the file the preview should show, if it changed (force: reread). */
static void sync_preview(ui *u, int force)
{
	const md_plan_item *it = preview_item(u);
	const md_file *f = it ? it->file : NULL;
	const char *path = "";

	u->pv_head[0] = '\0';
	if (f) {
		const md_file *shown = u->show_pair ? f->pair : f;

		if (shown)
			path = shown->path;
		snprintf(u->pv_title, sizeof(u->pv_title), "Preview: %s%s",
			 shown ? shown->name : f->name,
			 u->show_pair ? (shown ? " (rollback)" : " (no rollback)") : "");
	} else {
		snprintf(u->pv_title, sizeof(u->pv_title), "Preview");
	}
	if (u->pv_mode)
		snprintf(u->pv_title + strlen(u->pv_title), sizeof(u->pv_title) - strlen(u->pv_title),
			 " - %s diff", md_deck_diff_name((md_deck_diff_kind)u->pv_mode));
	if (!force && u->pv_key && !strcmp(u->pv_key, path))
		return;
	free(u->pv_key);
	u->pv_key = strdup(path);
	u->pv_top = 0;
	ui_preview_clear(&u->pv);
	if (*path)
		ui_preview_load(&u->pv, path);
	ask_diff(u);
}

/* ---- layout -------------------------------------------------------------------- */

/* An overlay's panel and window gone (either may be NULL). */
static void drop_overlay(PANEL **pan, WINDOW **win)
{
	if (*pan)
		del_panel(*pan);
	if (*win)
		delwin(*win);
	*pan = NULL;
	*win = NULL;
}

static void free_windows(ui *u)
{
	int p;

	for (p = 0; p < P_N; p++) {
		if (u->pan[p])
			del_panel(u->pan[p]);
		if (u->win[p])
			delwin(u->win[p]);
		u->pan[p] = NULL;
		u->win[p] = NULL;
	}
	if (u->title_p)
		del_panel(u->title_p);
	if (u->tabs_p)
		del_panel(u->tabs_p);
	if (u->status_p)
		del_panel(u->status_p);
	if (u->help_p)
		del_panel(u->help_p);
	drop_overlay(&u->step_p, &u->stepw);
	drop_overlay(&u->fleet_p, &u->fleetw);
	drop_overlay(&u->pick_p, &u->pickw);
	if (u->title)
		delwin(u->title);
	if (u->tabs)
		delwin(u->tabs);
	if (u->status)
		delwin(u->status);
	if (u->helpw)
		delwin(u->helpw);
	u->title_p = u->tabs_p = u->status_p = u->help_p = NULL;
	u->title = u->tabs = u->status = u->helpw = NULL;
}

static WINDOW *mkwin(rect r, PANEL **pan)
{
	WINDOW *w = newwin(r.h > 0 ? r.h : 1, r.w > 0 ? r.w : 1, r.y, r.x);

	*pan = w ? new_panel(w) : NULL;
	return w;
}

/* The chooser's window: as tall as its entries, centred over the panes. */
static void make_pick_window(ui *u)
{
	rect r;

	if (u->pick_p)
		del_panel(u->pick_p);
	if (u->pickw)
		delwin(u->pickw);
	u->pick_p = NULL;
	u->pickw = NULL;
	if (!u->pick || u->too_small)
		return;
	r.w = COLS - 4;
	r.h = (int)u->pick_n + 3;
	if (r.h > LINES - 4)
		r.h = LINES - 4;
	r.y = (LINES - r.h) / 2;
	r.x = (COLS - r.w) / 2;
	u->pickw = mkwin(r, &u->pick_p);
	u->dirty = 1;
}

static void layout(ui *u)
{
	int rows = LINES, cols = COLS, p, body_y, body_h;
	rect r;

	free_windows(u);
	erase();
	wnoutrefresh(stdscr);
	u->dirty = 1;
	u->too_small = cols < MIN_COLS || rows < MIN_ROWS;
	u->wide = cols >= WIDE_COLS;
	r.y = rows - 1;
	r.x = 0;
	r.h = 1;
	r.w = cols;
	u->status = mkwin(r, &u->status_p);
	if (u->status) {
		keypad(u->status, TRUE);
		wtimeout(u->status, 200);
	}
	if (u->too_small)
		return;
	r.y = 0;
	u->title = mkwin(r, &u->title_p);
	body_y = 1;
	body_h = rows - 2;
	if (!u->wide) {
		r.y = 1;
		u->tabs = mkwin(r, &u->tabs_p);
		body_y = 2;
		body_h = rows - 3;
	}
	if (u->wide && !u->maximized) {
		int lw = cols * 9 / 20, h1, h2, hd;

		if (lw < 44)
			lw = 44;
		if (lw > 80)
			lw = 80;
		h1 = body_h / 3;
		h2 = body_h / 3;
		u->rc[P_PENDING] = (rect){ body_y, 0, h1, lw };
		u->rc[P_APPLIED] = (rect){ body_y + h1, 0, h2, lw };
		u->rc[P_ARCHIVE] = (rect){ body_y + h1 + h2, 0, body_h - h1 - h2, lw };
		hd = body_h * 2 / 5;
		if (hd < 8)
			hd = 8;
		if (hd > body_h - 5)
			hd = body_h - 5;
		u->rc[P_PREVIEW] = (rect){ body_y, lw, body_h - hd, cols - lw };
		u->rc[P_DB] = (rect){ body_y + body_h - hd, lw, hd, cols - lw };
	} else {
		for (p = 0; p < P_N; p++)
			u->rc[p] = (rect){ body_y, 0, body_h, cols };
	}
	for (p = 0; p < P_N; p++)
		u->win[p] = mkwin(u->rc[p], &u->pan[p]);
	r = (rect){ body_y, 0, body_h, cols };
	u->helpw = mkwin(r, &u->help_p);
	u->stepw = mkwin(r, &u->step_p);
	u->fleetw = mkwin(r, &u->fleet_p);
	make_pick_window(u);
	u->dirty = 1;
}

/* Which panes show now. */
static int pane_visible(const ui *u, int p)
{
	if (u->too_small)
		return 0;
	if (u->maximized)
		return p == P_PREVIEW;
	if (!u->wide)
		return p == u->focus;
	return 1;
}

/* ---- drawing ------------------------------------------------------------------- */

/* The other targets' columns of a folder pane: one per target, as wide
 * as its name (at most OTHER_NAME_W) and a space, as many as leave a row
 * MIN_ROW_COLS for the rest.  Returns their width; *n how many. */
#define OTHER_NAME_W 7
#define MIN_ROW_COLS 32

static int other_width(const char *name)
{
	int w = ui_width(name, strlen(name));

	return (w > OTHER_NAME_W ? OTHER_NAME_W : w < 1 ? 1 : w) + 1;
}

static int other_cols(const ui *u, int cw, size_t *n)
{
	int w = 0;
	size_t k;

	*n = 0;
	for (k = 0; u->others && k < u->others->n; k++) {
		int ow = other_width(u->others->t[k].name);

		if (cw - (w + ow) < MIN_ROW_COLS)
			break;
		w += ow;
		(*n)++;
	}
	return w;
}

/* What target t says of the item: a mark of the marks table, M_UNKNOWN
 * while loading, -1 when unreachable (drawn "?"), -2 when it has nothing
 * to say (a row without a file). */
static int other_mark(const ui *u, const md_deck_other *t, const md_plan_item *it)
{
	md_state st;

	if (!it->file)
		return -2;
	if (!u->others->loaded)
		return M_UNKNOWN;
	if (!t->up)
		return -1;
	if (md_deck_other_state(t, it->file->name, &st) != 0)
		return -2;
	switch (st) {
	case MD_STATE_APPLIED: return M_APPLIED;
	case MD_STATE_FAILED: return M_FAILED;
	case MD_STATE_ROLLED_BACK: return M_ROLLED_BACK;
	case MD_STATE_ARCHIVED: return M_ARCHIVED;
	case MD_STATE_MISSING_FILE: return M_MISSING;
	case MD_STATE_PENDING: return M_PENDING;
	}
	return -2;
}

static void draw_folder(ui *u, int p)
{
	WINDOW *w = u->win[p];
	list *l = &u->lists[p];
	int h, wd, rows, cw, vw = 0, sw, dw, avail, descw, y, ow, ox;
	char title[128], words[128];
	size_t i, no, k;

	getmaxyx(w, h, wd);
	werase(w);
	snprintf(title, sizeof(title), "%s (%zu)", pane_names[p], l->n);
	ui_box(w, title, u->focus == p);
	rows = h - 2;
	cw = wd - 2;
	if (rows <= 0 || cw <= 0)
		return;
	/* the other targets: their names in the top border, over their column */
	ow = other_cols(u, cw, &no);
	ox = wd - 2 - ow;
	for (k = 0, i = 0; k < no; k++) {
		const char *name = u->others->t[k].name;

		ui_puts(w, 0, ox + (int)i, name, other_width(name) - 1,
			u->focus == p ? R_BORDER_FOCUS : R_BORDER);
		i += (size_t)other_width(name);
	}
	if (!u->data->ws && p == P_PENDING && u->data->scan_error) {
		ui_puts(w, 1, 1, u->data->scan_error, cw, R_BAD);
		return;
	}
	if (!l->n) {
		ui_puts(w, 1, 2, u->data->ws ? "(no migrations here)" : "(reading the folders...)",
			cw - 1, R_DIM);
		return;
	}
	if (l->sel < l->top)
		l->top = l->sel;
	if (l->sel >= l->top + (size_t)rows)
		l->top = l->sel - (size_t)rows + 1;
	for (i = l->top; i < l->n && i < l->top + (size_t)rows; i++) {
		const md_plan_item *it = l->rows[i].it;
		const char *v = it->file ? (it->file->version.text[0] ? it->file->version.text : "R")
					 : (it->row ? it->row->version : "?");
		int n = ui_width(v, strlen(v));

		if (n > vw)
			vw = n;
	}
	if (vw > 20)
		vw = 20;
	/* the description and the state in words share what is left: each as
	 * wide as its widest shown when both fit, else the description keeps
	 * at least half (the words need 36 columns in all to show) */
	sw = dw = 0;
	for (i = l->top; i < l->n && i < l->top + (size_t)rows; i++) {
		const md_plan_item *it = l->rows[i].it;
		const char *desc = it->file ? it->file->description
					    : (it->row && it->row->description ? it->row->description : "");
		int n = ui_width(desc, strlen(desc));

		if (n > dw)
			dw = n;
		item_words(u, it, words, sizeof(words));
		n = ui_width(words, strlen(words));
		if (cw >= 36 && n > sw)
			sw = n;
	}
	avail = cw - 3 - vw - 1 - 2 - (sw ? 1 : 0) - ow;
	if (dw + sw > avail && sw > avail - (dw < avail / 2 ? dw : avail / 2))
		sw = avail - (dw < avail / 2 ? dw : avail / 2);
	if (sw < 0)
		sw = 0;
	descw = avail - sw;
	for (i = l->top, y = 1; i < l->n && y <= rows; i++, y++) {
		const md_plan_item *it = l->rows[i].it;
		int sel = i == l->sel, m = item_mark(u, it), x = 1;
		ui_role base = sel ? (u->focus == p ? R_CURSOR : R_SELECTED) : R_NORMAL;
		const char *v = it->file ? (it->file->version.text[0] ? it->file->version.text : "R")
					 : (it->row ? it->row->version : "?");
		const char *desc = it->file ? it->file->description
					    : (it->row && it->row->description ? it->row->description : "");
		const struct git_mark *g = git_mark_of(it->file ? md_deck_git_state(u->data, it->file)
								: MD_GIT_UNKNOWN);

		ui_fill(w, y, 1, wd - 1, base);
		ui_puts(w, y, x, sel && u->focus == p ? ">" : " ", 1, base);
		x += 1;
		ui_puts(w, y, x, ui_unicode() ? marks[m].u : marks[m].a, 1,
			base == R_NORMAL ? marks[m].role : base);
		x += 2;
		ui_puts(w, y, x, v, vw, base);
		x += vw + 1;
		if (descw > 0)
			ui_puts(w, y, x, desc, descw, base);
		x += descw > 0 ? descw + 1 : 0;
		if (sw) {
			item_words(u, it, words, sizeof(words));
			ui_puts(w, y, x, words, sw, base == R_NORMAL ? marks[m].role : base);
			x += sw + 1;
		}
		for (k = 0, x = ox; k < no; k++) {
			const md_deck_other *t = &u->others->t[k];
			int om = other_mark(u, t, it);

			if (om >= 0)
				ui_puts(w, y, x, ui_unicode() ? marks[om].u : marks[om].a, 1,
					base == R_NORMAL ? marks[om].role : base);
			else if (om == -1)
				ui_puts(w, y, x, "?", 1, base == R_NORMAL ? R_BAD : base);
			x += other_width(t->name);
		}
		ui_puts(w, y, wd - 2, g->mark, 1,
			base == R_NORMAL ? (g->st == MD_GIT_COMMITTED ? R_DIM : R_WARN) : base);
	}
}

/* "2024-01-08 16:29" of "2024-01-08T16:29:06.1+00" (the server's text). */
static void short_time(const char *ts, char *out, size_t sz)
{
	snprintf(out, sz, "%s", ts ? ts : "?");
	if (strlen(out) > 10 && out[10] == 'T')
		out[10] = ' ';
}

static void db_wrap(WINDOW *w, const char *line, ui_role role, int cw, int rows, int *y,
		    size_t *skip, int *count);

/* The preview in a diff mode: a head line, then the unified diff with
 * its line kinds in colour (the +, - and @ at the start of each line say
 * the same without colour). */
static void draw_diff(ui *u, WINDOW *w, int rows, int cw)
{
	const md_deck_diff *x = u->diff;
	char line[1600];
	int r;
	const char *what = md_deck_diff_name((md_deck_diff_kind)u->pv_mode);

	if (!x) {
		snprintf(line, sizeof(line), "computing the %s diff...", what);
		ui_puts(w, 1, 1, line, cw, R_DIM);
		return;
	}
	if (x->error) {
		size_t skip = 0;
		int y = 0, count = 0;

		db_wrap(w, x->error, R_BAD, cw, rows + 1, &y, &skip, &count);
		return;
	}
	if (!x->diff.text || !x->diff.len) {
		if (x->kind == MD_DECK_DIFF_DRIFT)
			snprintf(line, sizeof(line),
				 "drift: the statements are the ones applied; %s (only comments "
				 "or blank lines between statements changed, if anything)",
				 x->note ? x->note : "");
		else
			snprintf(line, sizeof(line), "%s diff: no change%s%s", what,
				 x->note ? "; " : "", x->note ? x->note : "");
		{
			size_t skip = 0;
			int y = 0, count = 0;

			db_wrap(w, line, R_OK, cw, rows + 1, &y, &skip, &count);
		}
		return;
	}
	snprintf(line, sizeof(line), "%s diff: +%zu -%zu lines%s%s (d: next view)", what,
		 x->diff.added, x->diff.removed, x->note ? "; " : "", x->note ? x->note : "");
	ui_puts(w, 1, 1, line, cw, R_DIM);
	if (u->pv_top + (size_t)rows > u->ndiff_lines)
		u->pv_top = u->ndiff_lines > (size_t)rows ? u->ndiff_lines - (size_t)rows : 0;
	for (r = 0; r < rows && u->pv_top + (size_t)r < u->ndiff_lines; r++) {
		size_t a = u->diff_lines[u->pv_top + (size_t)r];
		size_t b = u->pv_top + (size_t)r + 1 < u->ndiff_lines
				   ? u->diff_lines[u->pv_top + (size_t)r + 1] - 1
				   : x->diff.len;
		const char *t = x->diff.text + a;
		ui_role role = R_NORMAL;

		if (b > a && x->diff.text[b - 1] == '\n')
			b--;
		if (b - a >= 3 && (!strncmp(t, "---", 3) || !strncmp(t, "+++", 3)))
			role = R_KEYWORD;
		else if (*t == '+')
			role = R_OK;
		else if (*t == '-')
			role = R_BAD;
		else if (*t == '@')
			role = R_PENDING;
		else if (*t == '\\')
			role = R_DIM;
		ui_put(w, 2 + r, 1, t, b - a, cw, role, 1);
	}
}

static void draw_preview(ui *u)
{
	WINDOW *w = u->win[P_PREVIEW];
	const md_plan_item *it = preview_item(u);
	int h, wd, rows, cw;
	char line[1024];

	getmaxyx(w, h, wd);
	werase(w);
	ui_box(w, u->pv_title, u->focus == P_PREVIEW);
	rows = h - 3;
	cw = wd - 2;
	if (rows <= 0 || cw <= 0)
		return;
	if (!it) {
		ui_puts(w, 1, 2, "(no file selected)", cw - 1, R_DIM);
		return;
	}
	if (!it->file) {
		char when[17];

		short_time(it->row ? it->row->applied_at : NULL, when, sizeof(when));
		snprintf(line, sizeof(line), "%s: applied %s by %s, and no folder has its file.",
			 it->row && it->row->script ? it->row->script : "?", when,
			 it->row && it->row->applied_by ? it->row->applied_by : "?");
		ui_puts(w, 1, 1, line, cw, R_BAD);
		ui_puts(w, 2, 1, "Restore it from git, or see `migdeck validate`.", cw, R_NORMAL);
		return;
	}
	if (u->show_pair && !it->file->pair) {
		snprintf(line, sizeof(line), "%s has no rollback file", it->file->name);
		ui_puts(w, 1, 1, line, cw, R_WARN);
		return;
	}
	if (u->pv_mode) {
		draw_diff(u, w, rows, cw);
		return;
	}
	if (u->pv.error[0]) {
		ui_puts(w, 1, 1, u->pv.error, cw, R_BAD);
	} else {
		int n = snprintf(line, sizeof(line), "%zu lines, %u statement%s", u->pv.nlines,
				 u->pv.nstmts, u->pv.nstmts == 1 ? "" : "s");

		if (u->pv.nnotx)
			n += snprintf(line + n, sizeof(line) - (size_t)n,
				      ", %u cannot run in a transaction (N)", u->pv.nnotx);
		if (u->pv.nmeta)
			n += snprintf(line + n, sizeof(line) - (size_t)n, ", %u meta-command%s (M)",
				      u->pv.nmeta, u->pv.nmeta == 1 ? "" : "s");
		if (u->pv.ntxctl)
			snprintf(line + n, sizeof(line) - (size_t)n, ", %u transaction control (T)",
				 u->pv.ntxctl);
		ui_puts(w, 1, 1, line, cw,
			(u->pv.nnotx || u->pv.nmeta) ? R_WARN : R_DIM);
	}
	if (u->pv_top + (size_t)rows > u->pv.nlines)
		u->pv_top = u->pv.nlines > (size_t)rows ? u->pv.nlines - (size_t)rows : 0;
	ui_preview_draw(&u->pv, w, 2, 1, rows, cw, u->pv_top);
}

static void fmt_time(double t, char *out, size_t sz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(out, sz, "%H:%M:%S", &tm);
}

/* One line of the database pane from row *y (after skipping *skip lines
 * scrolled away), wrapped at spaces and indented under its text. */
static void db_wrap(WINDOW *w, const char *line, ui_role role, int cw, int rows, int *y,
		    size_t *skip, int *count)
{
	const char *p = line;
	int indent = 0, first = 1;

	while (*p) {
		int avail = cw - indent, used;
		size_t len = strlen(p), cut = len;

		if (ui_width(p, len) > avail) {
			/* the last space that fits, else a hard cut */
			size_t i, last_sp = 0;

			for (i = 0; i < len && ui_width(p, i + 1) <= avail; i++)
				if (p[i] == ' ')
					last_sp = i;
			cut = last_sp > 0 ? last_sp : (i > 0 ? i : 1);
		}
		(*count)++;
		if (*skip)
			(*skip)--;
		else if (*y < rows) {
			used = ui_put(w, 1 + *y, 1 + indent, p, cut, avail, role, 0);
			(void)used;
			(*y)++;
		}
		p += cut;
		while (*p == ' ')
			p++;
		if (first) {
			first = 0;
			indent = 10;
		}
	}
}

/* The database pane's lines, drawn from db_top. */
static void draw_db(ui *u)
{
	WINDOW *w = u->win[P_DB];
	const md_deck_db *db = u->db;
	const md_history *hist = u->data->hist;
	int h, wd, rows, cw, y = 0;
	char line[1400], t1[32], t2[32];
	size_t skip = u->db_top, i;

	getmaxyx(w, h, wd);
	werase(w);
	ui_box(w, "Database", u->focus == P_DB);
	rows = h - 2;
	cw = wd - 2;
	u->db_lines = 0;
	if (rows <= 0 || cw <= 0)
		return;
	/* long lines (an error, a waiting session) wrap under their text */
#define DB_LINE(role, ...)                                                   \
	do {                                                                   \
		snprintf(line, sizeof(line), __VA_ARGS__);                     \
		db_wrap(w, line, role, cw, rows, &y, &skip, &u->db_lines);     \
	} while (0)
#define DB_CUT(role, ...)                                                    \
	do {                                                                   \
		snprintf(line, sizeof(line), __VA_ARGS__);                     \
		u->db_lines++;                                                 \
		if (skip)                                                      \
			skip--;                                                \
		else if (y < rows)                                             \
			ui_puts(w, 1 + y++, 1, line, cw, role);                \
	} while (0)
	DB_LINE(R_NORMAL, "Target    %s", db->target && *db->target ? db->target
								 : "(libpq defaults and PG* variables)");
	fmt_time(db->since, t1, sizeof(t1));
	fmt_time(db->retry_at, t2, sizeof(t2));
	switch (db->conn) {
	case MD_DECK_CONNECTING:
		DB_LINE(R_DIM, "State     connecting...");
		break;
	case MD_DECK_UP:
		if (db->reconnects)
			DB_LINE(R_WARN, "State     connected again since %s (reconnected %d time%s)", t1,
				db->reconnects, db->reconnects == 1 ? "" : "s");
		else
			DB_LINE(R_OK, "State     connected since %s", t1);
		break;
	case MD_DECK_DOWN:
		DB_LINE(R_BAD, "State     DOWN since %s, next try %s", t1, t2);
		DB_LINE(R_BAD, "          %s", db->error ? db->error : "?");
		break;
	case MD_DECK_LOST:
		DB_LINE(R_BAD, "State     CONNECTION LOST at %s, next try %s", t1, t2);
		DB_LINE(R_BAD, "          %s", db->error ? db->error : "?");
		break;
	}
	if (db->conn == MD_DECK_UP) {
		char server[64];

		snprintf(server, sizeof(server), "%s", db->server ? db->server : "?");
		server[strcspn(server, " ")] = '\0';
		DB_LINE(R_NORMAL, "Server    PostgreSQL %s, database %s, user %s", server,
			db->database ? db->database : "?", db->user ? db->user : "?");
		if (db->error)
			DB_LINE(R_WARN, "Poll      %s", db->error);
		if (db->lock_holder)
			DB_LINE(R_WARN, "Lock      migdeck lock held by %s", db->lock_holder);
		else
			DB_LINE(R_NORMAL, "Lock      free (no migdeck runner)");
		if (!db->nwaiters)
			DB_LINE(R_NORMAL, "Waiting   no session waits on a lock");
		else
			DB_LINE(R_BAD, "Waiting   %zu session%s wait%s on locks:", db->nwaiters,
				db->nwaiters == 1 ? "" : "s", db->nwaiters == 1 ? "s" : "");
		for (i = 0; i < db->nwaiters; i++) {
			const md_waiter *x = &db->waiters[i];

			DB_LINE(R_WARN, "  pid %d (%s) waits %.0f s for %s on %s%s%s", x->pid, x->user,
				x->wait_s, x->mode, x->object, *x->blockers ? ", blocked by pid " : "",
				x->blockers);
		}
	}
	/* the other targets, as read on their own connections */
	for (i = 0; u->others && i < u->others->n; i++) {
		const md_deck_other *t = &u->others->t[i];
		char prod[16];

		snprintf(prod, sizeof(prod), "%s", t->production ? " (production)" : "");
		if (!u->others->loaded)
			DB_LINE(R_DIM, "Other     %s%s: loading...", t->name, prod);
		else if (!t->up)
			DB_LINE(R_BAD, "Other     %s%s: UNREACHABLE: %s", t->name, prod,
				t->error ? t->error : "?");
		else
			DB_LINE(R_NORMAL, "Other     %s%s: %s, latest %s, %zu pending", t->name, prod,
				t->database ? t->database : "?", t->version ? t->version : "none",
				t->npending);
	}
	if (u->data->history_error)
		DB_LINE(R_BAD, "History   %s", u->data->history_error);
	else if (hist && !hist->exists)
		DB_LINE(R_DIM, "History   %s.%s does not exist yet (nothing applied)",
			u->cfg->history_schema, u->cfg->history_table);
	else if (hist) {
		DB_LINE(R_NORMAL, "History   %s.%s, %zu row%s, latest first:", u->cfg->history_schema,
			u->cfg->history_table, hist->n, hist->n == 1 ? "" : "s");
		for (i = hist->n; i-- > 0;) {
			const md_hist_row *r = &hist->rows[i];
			char when[17];

			short_time(r->applied_at, when, sizeof(when));
			/* one line each, cut at the pane's edge */
			DB_CUT(!r->success ? R_BAD : !r->is_active ? R_DIM : R_NORMAL,
				"  %-10s %-11s %s  %s %6lld ms  %s", r->version ? r->version : "?",
				!r->success ? "failed" : !r->is_active ? "rolled back" : "applied", when,
				r->applied_by ? r->applied_by : "?", r->execution_ms,
				r->description ? r->description : "");
			if (y >= rows && u->db_lines > (int)u->db_top + rows)
				break;
		}
	}
	/* scrolled past the end (the list shrank, or G): show the last page */
	if (u->db_top > 0 && (int)u->db_top > u->db_lines - rows) {
		u->db_top = u->db_lines > rows ? (size_t)(u->db_lines - rows) : 0;
		draw_db(u); /* once more, from the clamped line */
		return;
	}
#undef DB_LINE
#undef DB_CUT
}

static void draw_title(ui *u)
{
	const md_deck_db *db = u->db;
	char line[512], right[128];
	int cols = COLS, n;
	const char *state = db->conn == MD_DECK_UP ? "connected"
			    : db->conn == MD_DECK_CONNECTING ? "connecting"
			    : db->conn == MD_DECK_DOWN ? "DOWN" : "LOST";

	char target[160] = "", follow[128] = "";

	werase(u->title);
	ui_fill(u->title, 0, 0, cols, R_TITLE);
	/* with targets: the one in force, and whether the folders follow it */
	if (u->base->ntargets || u->cfg->member)
		snprintf(target, sizeof(target), " | %s%s%s%s",
			 u->cfg->member && u->member_of[0] ? u->member_of : "",
			 u->cfg->member && u->member_of[0] ? ": " : "", md_config_label(u->cfg),
			 u->cfg->production ? " (production)" : "");
	if (!u->cfg->tracked)
		snprintf(follow, sizeof(follow), " | %s%s",
			 u->cfg->tracks ? "folders follow " : "files do not move",
			 u->cfg->tracks ? u->cfg->tracks : "");
	snprintf(line, sizeof(line), " migdeck %s%s | %s | %s%s", MIGDECK_VERSION, target,
		 db->database ? db->database : (db->target && *db->target ? db->target : "database"),
		 state, follow);
	ui_puts(u->title, 0, 0, line, cols, R_TITLE);
	snprintf(right, sizeof(right), "pending %zu  applied %zu  archive %zu ",
		 u->lists[P_PENDING].n, u->lists[P_APPLIED].n, u->lists[P_ARCHIVE].n);
	n = ui_width(right, strlen(right));
	if (ui_width(line, strlen(line)) + n + 2 < cols)
		ui_puts(u->title, 0, cols - n, right, n, R_TITLE);
}

static void draw_tabs(ui *u)
{
	int p, x = 0;
	char t[64];

	werase(u->tabs);
	for (p = 0; p < P_N; p++) {
		if (p < 3)
			snprintf(t, sizeof(t), p == u->focus ? "[%s %zu]" : " %s %zu ", pane_names[p],
				 u->lists[p].n);
		else
			snprintf(t, sizeof(t), p == u->focus ? "[%s]" : " %s ", pane_names[p]);
		u->tab_x[p] = x;
		x += ui_puts(u->tabs, 0, x, t, COLS - x, p == u->focus ? R_TAB_ACTIVE : R_TAB);
		x += ui_puts(u->tabs, 0, x, " ", COLS - x, R_TAB);
	}
	u->tab_x[P_N] = x;
}

/* The status line's label for action a where the operator is now, or
 * NULL when the action does nothing useful here (the keys that work here). */
static const char *hint_here(const ui *u, ui_action a)
{
	if (u->st && !u->help) {
		if (ui_action_mode(a))
			return ui_actions[a].hint;
		return a == UI_QUIT ? "close" : a == UI_HELP ? ui_actions[a].hint : NULL;
	}
	if (ui_action_mode(a))
		return NULL; /* the stepper's keys: only while it is open */
	if ((u->pick || u->fleet) && !u->help) {
		switch (a) {
		case UI_DOWN: return "move";
		case UI_MAXIMIZE: return u->pick ? "choose" : "open";
		case UI_REFRESH: return u->pick ? NULL : "reload";
		case UI_FLEET: return u->pick || u->base->ngroups < 2 ? NULL : "group";
		case UI_HELP: return u->pick ? NULL : ui_actions[a].hint;
		case UI_BACK:
		case UI_QUIT: return "back";
		default: return NULL;
		}
	}
	/* t and F only where there are targets and groups to go to */
	if ((a == UI_TARGET && !u->base->ntargets) || (a == UI_FLEET && !u->base->ngroups))
		return NULL;
	if (u->help) {
		switch (a) {
		case UI_DOWN: return "scroll";
		case UI_HALF_DOWN: return "page";
		case UI_QUIT: return "close help";
		default: return NULL;
		}
	}
	if (u->maximized) {
		switch (a) {
		case UI_DOWN: return "scroll";
		case UI_MAXIMIZE: return "back";
		case UI_PAIR:
		case UI_DIFF:
		case UI_HELP: return ui_actions[a].hint;
		default: return NULL;
		}
	}
	if (u->focus == P_PREVIEW) {
		switch (a) {
		case UI_DOWN: return "scroll";
		case UI_SEARCH:
		case UI_REFRESH: return NULL;
		default: return ui_actions[a].hint;
		}
	}
	if (u->focus == P_DB) {
		switch (a) {
		case UI_DOWN: return "scroll";
		case UI_MAXIMIZE:
		case UI_PAIR:
		case UI_DIFF: return NULL;
		default: return ui_actions[a].hint;
		}
	}
	return ui_actions[a].hint;
}

static void draw_status(ui *u)
{
	char line[512], keys[64], k1[64];
	int a, n = 0, cols = COLS;

	werase(u->status);
	ui_fill(u->status, 0, 0, cols, R_STATUS);
	if (u->searching) {
		snprintf(line, sizeof(line), "/%s", u->input);
		ui_puts(u->status, 0, 0, line, cols, R_STATUS);
		return;
	}
	if (u->ask == 'u') {
		const md_plan_item *it = row_item(u, u->focus < 3 ? u->focus : u->last_folder);

		snprintf(line, sizeof(line), " Roll back %s with %s? y runs it, n or Esc does not",
			 it && it->file ? it->file->name : "?",
			 it && it->file && it->file->pair ? it->file->pair->name : "its rollback");
		ui_puts(u->status, 0, 0, line, cols, R_WARN);
		return;
	}
	if (u->ask == 'm') {
		const md_plan_item *it = row_item(u, u->focus < 3 ? u->focus : u->last_folder);

		snprintf(line, sizeof(line), " Move %s to: p pending/, a applied/, r archive/ (Esc: nowhere)",
			 it && it->file ? it->file->name : "?");
		ui_puts(u->status, 0, 0, line, cols, R_WARN);
		return;
	}
	if (u->ask == 'p') {
		snprintf(line, sizeof(line), " PRODUCTION: type the database name to go on (Esc stops): %s",
			 u->input);
		ui_puts(u->status, 0, 0, line, cols, R_WARN);
		return;
	}
	if (u->too_small) {
		ui_puts(u->status, 0, 0, "q quit", cols, R_STATUS);
		return;
	}
	line[0] = '\0';
	{
		/* the hints in table order, but "? help" and "q quit" always
		 * show: another hint is left out when it would push them off */
		char tail[160] = "";
		int tw = 0, pass;

		for (pass = 0; pass < 2; pass++) {
			for (a = 1; a < UI_NACTIONS; a++) {
				const char *hint = hint_here(u, (ui_action)a);
				int last = a == UI_HELP || a == UI_QUIT;
				char item[160];

				if (!hint || last != (pass == 0))
					continue;
				ui_action_keys((ui_action)a, keys, sizeof(keys));
				keys[strcspn(keys, " ")] = '\0';
				if (!keys[0])
					continue;
				snprintf(k1, sizeof(k1), "%s", keys);
				snprintf(item, sizeof(item), "  %s %s", k1, hint);
				if (pass == 0) {
					snprintf(tail + strlen(tail), sizeof(tail) - strlen(tail), "%s", item);
					tw = ui_width(tail, strlen(tail));
				} else if (n + ui_width(item, strlen(item)) + tw - 1 <= cols &&
					   (size_t)n + strlen(item) < sizeof(line)) {
					n += snprintf(line + n, sizeof(line) - (size_t)n, "%s", item);
				}
			}
		}
		if ((size_t)n + strlen(tail) < sizeof(line))
			snprintf(line + n, sizeof(line) - (size_t)n, "%s", tail);
		if (line[0] == ' ' && line[1] == ' ')
			memmove(line, line + 1, strlen(line)); /* one space at the start */
	}
	ui_puts(u->status, 0, 0, line, cols, R_STATUS);
	if (u->msg[0] || md_deck_busy(u->deck)) {
		const char *m = u->msg[0] ? u->msg : "loading...";
		int mw = ui_width(m, strlen(m)) + 2;

		if (mw > cols - 24)
			mw = cols - 24;
		ui_fill(u->status, 0, cols - mw - 1, cols, R_STATUS);
		ui_puts(u->status, 0, cols - mw, m, mw, R_STATUS);
	}
}

/* The help screen: every action with its keys, then the marks. */
static void draw_help(ui *u)
{
	WINDOW *w = u->helpw;
	int h, wd, rows, cw, y = 0, a;
	size_t i;
	char line[512], keys[64];
	int skip;

	getmaxyx(w, h, wd);
	werase(w);
	ui_box(w, "Help: keys and marks (q or Esc closes)", 1);
	rows = h - 2;
	cw = wd - 2;
	if (u->help_top < 0)
		u->help_top = 0;
	skip = u->help_top;
#define HELP_LINE(role, ...)                                                 \
	do {                                                                   \
		snprintf(line, sizeof(line), __VA_ARGS__);                     \
		if (skip > 0)                                                  \
			skip--;                                                \
		else if (y < rows)                                             \
			ui_puts(w, 1 + y++, 1, line, cw, role);                \
		u->help_lines++;                                               \
	} while (0)
	u->help_lines = 0;
	HELP_LINE(R_TITLE, " Keys (rebind in [keys] of migdeck.ini: action = keys)");
	for (a = 1; a < UI_NACTIONS; a++) {
		ui_action_keys((ui_action)a, keys, sizeof(keys));
		HELP_LINE(R_NORMAL, " %-18s %-16s %s", keys[0] ? keys : "(unbound)", ui_actions[a].name,
			  ui_actions[a].help);
	}
	HELP_LINE(R_NORMAL, " %-18s %-16s %s", "mouse click", "", "select a row, focus a pane or tab");
	HELP_LINE(R_NORMAL, "%s", "");
	HELP_LINE(R_TITLE, " State marks (the word follows when the pane is wide enough)");
	for (i = 0; i < M_NMARKS; i++)
		HELP_LINE(marks[i].role, "   %s  %s", ui_unicode() ? marks[i].u : marks[i].a,
			  marks[i].word);
	HELP_LINE(R_NORMAL, "%s", "");
	HELP_LINE(R_TITLE, " Git marks (last column)");
	for (i = 0; i < sizeof(git_marks) / sizeof(git_marks[0]) - 1; i++)
		HELP_LINE(R_NORMAL, "   %s  %s", git_marks[i].mark, git_marks[i].word);
	HELP_LINE(R_NORMAL, "%s", "");
	HELP_LINE(R_TITLE, " Other targets (a column each before the git mark, under the target's name)");
	HELP_LINE(R_NORMAL, "   a state mark from that target's own history; ? unreachable, %s loading",
		  ui_unicode() ? marks[M_UNKNOWN].u : marks[M_UNKNOWN].a);
	HELP_LINE(R_NORMAL, "%s", "");
	HELP_LINE(R_TITLE, " Preview gutter");
	HELP_LINE(R_NORMAL, "   #3  statement 3 starts here; %s marks its other lines",
		  ui_line_str(L_V));
	HELP_LINE(R_NORMAL, "   N   cannot run inside a transaction (CREATE INDEX CONCURRENTLY, VACUUM, ...)");
	HELP_LINE(R_NORMAL, "   M   psql meta-command (refused by the runner)");
	HELP_LINE(R_NORMAL, "   T   transaction control (BEGIN, COMMIT, ...)");
	HELP_LINE(R_NORMAL, "   C   COPY with inline data");
#undef HELP_LINE
	if (u->help_top > 0 && u->help_top > u->help_lines - rows) {
		/* scrolled past the end (G): draw the last page */
		u->help_top = u->help_lines - rows > 0 ? u->help_lines - rows : 0;
		draw_help(u);
	}
}

static const char *step_state_text(const md_stepper_view *v)
{
	switch (v->state) {
	case MD_STEPPER_READY: return "ready: n runs the next statement, a the rest";
	case MD_STEPPER_RUNNING:
		return v->backing_up ? "backing up with pg_dump first (Ctrl-C stops it; nothing changes)"
				     : "running (Ctrl-C cancels the statement)";
	case MD_STEPPER_ALL_RAN: return "every statement ran: c commits, x aborts";
	case MD_STEPPER_FAILED: return "FAILED: only x (abort) is left";
	case MD_STEPPER_COMMITTED: return "committed (q closes)";
	case MD_STEPPER_ABORTED: return "aborted (q closes)";
	}
	return "?";
}

/* The stepper: what runs, statement by statement, its error with a caret,
 * the locks its transaction holds and who waits behind it. */
static void draw_stepper(ui *u)
{
	WINDOW *w = u->stepw;
	const md_stepper_view *v = u->sv;
	const md_deck_db *db = u->db;
	int h, wd, rows, cw, y = 0, count = 0;
	char line[1600], title[600];
	size_t i, skip = 0, first;

	getmaxyx(w, h, wd);
	werase(w);
	if (!v) {
		ui_box(w, "Stepper", 1);
		return;
	}
	snprintf(title, sizeof(title), "Stepping: %s (%s, %s)", v->path, v->action,
		 v->autocommit ? "NO TRANSACTION: each statement commits" : "in a transaction");
	ui_box(w, title, 1);
	rows = h - 2;
	cw = wd - 2;
	if (rows <= 0 || cw <= 0)
		return;
#define ST_LINE(role, ...)                                                   \
	do {                                                                   \
		snprintf(line, sizeof(line), __VA_ARGS__);                     \
		db_wrap(w, line, role, cw, rows, &y, &skip, &count);           \
	} while (0)
	ST_LINE(v->state == MD_STEPPER_FAILED ? R_BAD : R_TITLE, " %s", step_state_text(v));
	ST_LINE(R_DIM, " elapsed %.0f s, backend pid %d, %zu of %zu statement%s run",
		md_deck_now() - v->started, v->pid, v->next, v->n, v->n == 1 ? "" : "s");
	if (v->backup)
		ST_LINE(R_DIM, " backup: %s",
			strrchr(v->backup, '/') ? strrchr(v->backup, '/') + 1 : v->backup);
	if (u->auto_n) {
		/* a and u: a bar over the files and the statements */
		char bar[41];
		double done = ((double)u->auto_i + (v->n ? (double)v->next / (double)v->n : 1.0)) /
			      (double)u->auto_n;
		int k, fill = (int)(done * 40.0 + 0.5);

		for (k = 0; k < 40; k++)
			bar[k] = k < fill ? '#' : '-';
		bar[40] = '\0';
		ST_LINE(R_OK, " [%s] %3.0f%%  file %zu of %zu", bar, done * 100.0, u->auto_i + 1,
			u->auto_n);
	}
	if (v->running >= 0 && v->has_progress) {
		/* the statement running now, as PostgreSQL reports it
		 * (doc/progress.md): a bar when a percent is known, the time
		 * it has run, the command, phase and counts */
		char pbar[21], el[32], what[400];
		ui_role pr = v->progress.lock[0] ? R_WARN : R_OK;

		md_progress_bar(v->progress.percent, 20, pbar, sizeof(pbar));
		md_progress_elapsed((long long)((md_deck_now() - v->stmt_started) * 1000.0), el,
				    sizeof(el));
		md_progress_describe(&v->progress, what, sizeof(what));
		if (pbar[0])
			ST_LINE(pr, " [%s] %s  %s", pbar, el, what);
		else
			ST_LINE(pr, " %s  %s", el, what);
	}
	if (u->st_confirm)
		ST_LINE(R_WARN, " The transaction is open: abort it and close? y aborts, n keeps it");
	/* the statements around the next one */
	first = v->next > 3 ? v->next - 3 : 0;
	for (i = first; i < v->n && i < first + 8; i++) {
		const md_stepper_stmt *st = &v->stmts[i];
		const char *sm = st->done ? (ui_unicode() ? "✓" : "+")
				   : (v->state == MD_STEPPER_FAILED && i == v->next)
					   ? (ui_unicode() ? "✗" : "x")
					   : i == v->next ? ">" : " ";
		char res[96] = "";

		if (st->done)
			snprintf(res, sizeof(res), "  -> %s (%lld ms)", st->tag, st->ms);
		snprintf(line, sizeof(line), " %s #%-3zu %4u:%-3u %s%s", sm, i + 1, st->line, st->col,
			 st->text ? st->text : "", res);
		if (y < rows) {
			ui_puts(w, 1 + y, 1, line, cw,
				i == v->next && !st->done ? R_CURSOR : st->done ? R_OK : R_NORMAL);
			y++;
		}
	}
	if (v->error) {
		const char *p = v->error;

		while (*p && y < rows) {
			size_t len = strcspn(p, "\n");

			snprintf(line, sizeof(line), " %.*s", (int)len, p);
			db_wrap(w, line, R_BAD, cw, rows, &y, &skip, &count);
			p += len;
			if (*p == '\n')
				p++;
		}
		if (v->error_line && y + 1 < rows) {
			ST_LINE(R_NORMAL, "   %s", v->error_line);
			if (v->error_col > 0 && (int)v->error_col + 3 < cw && y < rows) {
				ui_puts(w, 1 + y, 1 + 3 + (int)v->error_col - 1, "^", 1, R_BAD);
				y++;
			}
		}
	}
	/* the locks, from the database pane's connection, every second */
	if (db->watch_pid == v->pid && v->pid) {
		if (!db->nwatch_locks)
			ST_LINE(R_DIM, " Locks: none on tables yet");
		for (i = 0; i < db->nwatch_locks; i++)
			ST_LINE(db->watch_locks[i].exclusive ? R_WARN : R_NORMAL, " Lock  %s on %s%s",
				db->watch_locks[i].mode, db->watch_locks[i].object,
				db->watch_locks[i].granted ? "" : " (waiting for it)");
		if (u->excl_since > 0 && u->cfg->exclusive_lock_warn_ms > 0 &&
		    (md_deck_now() - u->excl_since) * 1000.0 >= (double)u->cfg->exclusive_lock_warn_ms)
			ST_LINE(R_BAD, " ! ACCESS EXCLUSIVE held for %.0f s ([run] exclusive_lock_warn "
				"%lld s): every reader of those tables waits",
				md_deck_now() - u->excl_since, u->cfg->exclusive_lock_warn_ms / 1000);
		if (!db->nwatch_blocked)
			ST_LINE(R_DIM, " Blocked: no session waits behind it");
		for (i = 0; i < db->nwatch_blocked; i++) {
			const md_waiter *x = &db->watch_blocked[i];

			ST_LINE(R_BAD, " Blocked  pid %d (%s, %s) waits %.0f s for %s on %s", x->pid,
				x->user, x->app, x->wait_s, x->mode, x->object);
		}
	}
	/* the latest results and messages */
	for (i = v->nlog > 4 ? v->nlog - 4 : 0; i < v->nlog; i++)
		ST_LINE(R_DIM, " %s", v->log[i]);
#undef ST_LINE
}

/* The chooser of targets or groups. */
static void draw_pick(ui *u)
{
	WINDOW *w = u->pickw;
	int h, wd, rows, cw, y;
	size_t i, top = 0;

	getmaxyx(w, h, wd);
	werase(w);
	ui_box(w, u->pick == 't' ? "Switch to target (Enter switches, Esc stays)"
				 : "Fleet of group (Enter opens, Esc goes back)", 1);
	rows = h - 3;
	cw = wd - 2;
	if (rows <= 0 || cw <= 0)
		return;
	if (u->pick_sel >= (size_t)rows)
		top = u->pick_sel - (size_t)rows + 1;
	for (i = top, y = 1; i < u->pick_n && y <= rows; i++, y++) {
		int sel = i == u->pick_sel;

		ui_fill(w, y, 1, wd - 1, sel ? R_CURSOR : R_NORMAL);
		ui_puts(w, y, 1, sel ? ">" : " ", 1, sel ? R_CURSOR : R_NORMAL);
		ui_puts(w, y, 2, u->pick_lines[i], cw - 1, sel ? R_CURSOR : R_NORMAL);
	}
	if (u->pick == 't' && md_config_source(u->base, u->base->database_key) == MD_CFG_SRC_FLAG)
		ui_puts(w, h - 2, 1, "-d was given: it names the database for every target", cw,
			R_WARN);
}

static const char *outcome_word(md_deck_outcome o)
{
	switch (o) {
	case MD_DECK_OUT_SUCCESS: return "success";
	case MD_DECK_OUT_FAILED: return "FAILED";
	case MD_DECK_OUT_ROLLED_BACK: return "rolled back";
	case MD_DECK_OUT_NONE: break;
	}
	return "none";
}

/* The fleet view: a row per member of the group. */
static void draw_fleet(ui *u)
{
	WINDOW *w = u->fleetw;
	const md_deck_fleet *f = md_deck_current_fleet(u->deck);
	int h, wd, rows, cw, y;
	char title[256], line[1600];
	size_t i;

	if (f && f->seq != u->fleet_want)
		f = NULL; /* an older request's */
	getmaxyx(w, h, wd);
	werase(w);
	snprintf(title, sizeof(title), "Fleet: %s%s", u->fleet_group, f ? "" : " (loading)");
	if (f && !f->error)
		snprintf(title, sizeof(title), "Fleet: %s, %zu member%s", u->fleet_group, f->n,
			 f->n == 1 ? "" : "s");
	ui_box(w, title, 1);
	rows = h - 2;
	cw = wd - 2;
	if (rows <= 2 || cw <= 0)
		return;
	if (!f) {
		ui_puts(w, 1, 1, " listing the members...", cw, R_DIM);
		return;
	}
	if (f->error) {
		size_t skip = 0;
		int yy = 0, count = 0;

		db_wrap(w, f->error, R_BAD, cw, rows, &yy, &skip, &count);
		return;
	}
	if (f->loading)
		snprintf(line, sizeof(line), " loading: %zu of %zu members read", f->done, f->n);
	else
		snprintf(line, sizeof(line), " %-24s %-14s %7s  %s", "member", "version", "pending",
			 "last outcome");
	ui_puts(w, 1, 1, line, cw, f->loading ? R_DIM : R_TITLE);
	rows -= 1;
	if (u->fleet_sel >= f->n)
		u->fleet_sel = f->n ? f->n - 1 : 0;
	if (u->fleet_sel < u->fleet_top)
		u->fleet_top = u->fleet_sel;
	if (u->fleet_sel >= u->fleet_top + (size_t)rows)
		u->fleet_top = u->fleet_sel - (size_t)rows + 1;
	for (i = u->fleet_top, y = 2; i < f->n && y <= rows + 1; i++, y++) {
		const md_deck_member *m = &f->m[i];
		int sel = i == u->fleet_sel;
		int here = m->name && !strcasecmp(m->name, md_config_label(u->cfg));
		ui_role role = sel ? R_CURSOR : R_NORMAL;
		char pend[24], last[160];

		if (!m->loaded) {
			snprintf(line, sizeof(line), " %-24s %s", m->name ? m->name : "?", "...");
		} else if (!m->up) {
			snprintf(line, sizeof(line), " %-24s unreachable: %s", m->name ? m->name : "?",
				 m->error ? m->error : "?");
			if (!sel)
				role = R_BAD;
		} else {
			snprintf(pend, sizeof(pend), "%zu", m->npending);
			snprintf(last, sizeof(last), "%s%s%s", outcome_word(m->last),
				 m->last_version ? " " : "", m->last_version ? m->last_version : "");
			snprintf(line, sizeof(line), " %-24s %-14s %7s  %s", m->name ? m->name : "?",
				 m->version ? m->version : "none", pend, last);
			if (!sel && m->last == MD_DECK_OUT_FAILED)
				role = R_BAD;
		}
		ui_fill(w, y, 1, wd - 1, sel ? R_CURSOR : R_NORMAL);
		ui_puts(w, y, 1, sel ? ">" : here ? "*" : " ", 1, sel ? R_CURSOR : R_NORMAL);
		ui_puts(w, y, 2, line + 1, cw - 1, role);
	}
}

static void draw_too_small(ui *u)
{
	char line[128];
	int y = LINES / 2 - 1;

	snprintf(line, sizeof(line), "terminal too small: %dx%d", COLS, LINES);
	erase();
	mvaddstr(y > 0 ? y : 0, 0, line);
	snprintf(line, sizeof(line), "migdeck needs at least %dx%d", MIN_COLS, MIN_ROWS);
	mvaddstr(y + 1 > 0 ? y + 1 : 0, 0, line);
	wnoutrefresh(stdscr);
	draw_status(u);
}

static void draw(ui *u)
{
	int p;

	if (u->too_small) {
		draw_too_small(u);
		update_panels();
		doupdate();
		return;
	}
	draw_title(u);
	if (u->tabs)
		draw_tabs(u);
	for (p = 0; p < P_N; p++) {
		if (!u->pan[p])
			continue;
		if (!pane_visible(u, p)) {
			hide_panel(u->pan[p]);
			continue;
		}
		show_panel(u->pan[p]);
		if (p < 3)
			draw_folder(u, p);
		else if (p == P_PREVIEW)
			draw_preview(u);
		else
			draw_db(u);
	}
	if (u->step_p) {
		if (u->st) {
			draw_stepper(u);
			show_panel(u->step_p);
			top_panel(u->step_p);
		} else {
			hide_panel(u->step_p);
		}
	}
	if (u->fleet_p) {
		if (u->fleet) {
			draw_fleet(u);
			show_panel(u->fleet_p);
			top_panel(u->fleet_p);
		} else {
			hide_panel(u->fleet_p);
		}
	}
	if (u->pick_p) {
		draw_pick(u);
		show_panel(u->pick_p);
		top_panel(u->pick_p);
	}
	if (u->help_p) {
		if (u->help) {
			draw_help(u);
			show_panel(u->help_p);
			top_panel(u->help_p);
		} else {
			hide_panel(u->help_p);
		}
	}
	draw_status(u);
	update_panels();
	doupdate();
	u->dirty = 0;
}

/* ---- actions -------------------------------------------------------------------- */

static int page(const ui *u, int p)
{
	int h = u->rc[p].h - 3;

	return h > 2 ? h / 2 : 1;
}

static void move_sel(ui *u, long delta, int absolute)
{
	if (u->help) {
		u->help_top = absolute ? (delta < 0 ? 0 : 1 << 20) : u->help_top + (int)delta;
		if (u->help_top < 0)
			u->help_top = 0;
		return;
	}
	if (u->focus < 3) {
		list *l = &u->lists[u->focus];
		long s;

		if (!l->n)
			return;
		s = absolute ? (delta < 0 ? 0 : (long)l->n - 1) : (long)l->sel + delta;
		if (s < 0)
			s = 0;
		if (s >= (long)l->n)
			s = (long)l->n - 1;
		l->sel = (size_t)s;
		remember_sel(l);
		sync_preview(u, 0);
	} else if (u->focus == P_PREVIEW) {
		long t = absolute ? (delta < 0 ? 0 : (long)(u->pv_mode ? u->ndiff_lines : u->pv.nlines))
				  : (long)u->pv_top + delta;

		u->pv_top = t < 0 ? 0 : (size_t)t; /* draw_preview clamps the end */
	} else {
		long t = absolute ? (delta < 0 ? 0 : (long)u->db_lines) : (long)u->db_top + delta;

		u->db_top = t < 0 ? 0 : (size_t)t;
	}
}

static void set_focus(ui *u, int p)
{
	u->focus = (p + P_N) % P_N;
	if (u->focus < 3) {
		u->last_folder = u->focus;
		sync_preview(u, 0);
	}
}

/* Search the file names from the selection on, in pane order; dir 1 or -1. */
static void search(ui *u, int dir, int include_current)
{
	size_t total = u->lists[0].n + u->lists[1].n + u->lists[2].n, k, start = 0;
	int p;

	if (!u->query[0]) {
		snprintf(u->msg, sizeof(u->msg), "no search yet: / to search");
		return;
	}
	if (!total) {
		snprintf(u->msg, sizeof(u->msg), "no file matches '%s'", u->query);
		return;
	}
	/* a flat index over the three lists; from an empty list, the search
	 * starts with the first row after it (or before it, going back) */
	for (p = 0; p < u->last_folder; p++)
		start += u->lists[p].n;
	if (u->lists[u->last_folder].n)
		start += u->lists[u->last_folder].sel;
	else if (dir > 0)
		include_current = 1;
	else
		start += total; /* index -1 */
	start %= total;
	for (k = include_current ? 0 : 1; k <= total; k++) {
		size_t idx = (start + (dir > 0 ? k : total * 2 - k)) % total, rest = idx;
		const md_plan_item *it;

		for (p = 0; p < 3 && rest >= u->lists[p].n; p++)
			rest -= u->lists[p].n;
		it = u->lists[p].rows[rest].it;
		if (strcasestr(item_key(it), u->query)) {
			u->lists[p].sel = rest;
			remember_sel(&u->lists[p]);
			u->focus = u->last_folder = p;
			if (u->maximized) {
				u->maximized = 0;
				layout(u);
			}
			sync_preview(u, 0);
			snprintf(u->msg, sizeof(u->msg), "/%s: %s", u->query, item_key(it));
			return;
		}
	}
	snprintf(u->msg, sizeof(u->msg), "no file matches '%s'", u->query);
}

static void search_key(ui *u, int key)
{
	size_t n = strlen(u->input);

	if (key == 27) {
		u->searching = 0;
		u->msg[0] = '\0';
	} else if (key == '\n' || key == '\r' || key == UI_KEY_SPECIAL(KEY_ENTER)) {
		u->searching = 0;
		snprintf(u->query, sizeof(u->query), "%s", u->input);
		search(u, 1, 1);
	} else if (key == UI_KEY_SPECIAL(KEY_BACKSPACE) || key == 127 || key == 8) {
		/* drop one UTF-8 character */
		while (n > 0 && ((unsigned char)u->input[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0)
			n--;
		u->input[n] = '\0';
	} else if (key >= 32 && key != 127) {
		char mb[MB_LEN_MAX];
		mbstate_t st;
		size_t m;

		memset(&st, 0, sizeof(st));
		m = key < 128 ? 1 : wcrtomb(mb, (wchar_t)key, &st);
		if (key < 128)
			mb[0] = (char)key;
		if (m != (size_t)-1 && n + m < sizeof(u->input)) {
			memcpy(u->input + n, mb, m);
			u->input[n + m] = '\0';
		}
	}
}

static void click(ui *u, int y, int x)
{
	int p;

	/* a question or the stepper is open: a click must not change the
	 * migration it is about (nor anything under a chooser or the fleet) */
	if (u->too_small || u->ask || u->st || u->pick || u->fleet)
		return;
	if (!u->wide && y == 1) {
		for (p = P_N - 1; p >= 0; p--)
			if (x >= u->tab_x[p])
				break;
		if (p >= 0 && x < u->tab_x[P_N])
			set_focus(u, p);
		return;
	}
	if (u->help)
		return;
	for (p = 0; p < P_N; p++) {
		rect r = u->rc[p];

		if (!pane_visible(u, p) || y < r.y || y >= r.y + r.h || x < r.x || x >= r.x + r.w)
			continue;
		set_focus(u, p);
		if (p < 3 && y > r.y && y < r.y + r.h - 1) {
			list *l = &u->lists[p];
			size_t i = l->top + (size_t)(y - r.y - 1);

			if (i < l->n) {
				l->sel = i;
				remember_sel(l);
				sync_preview(u, 0);
			}
		}
		return;
	}
}

/* left, right, next and previous pane */
static void move_focus(ui *u, ui_action a)
{
	switch (a) {
	case UI_LEFT:
		if (u->wide)
			set_focus(u, u->focus >= 3 ? u->last_folder : u->focus);
		else
			set_focus(u, u->focus - 1);
		break;
	case UI_RIGHT:
		if (u->wide)
			set_focus(u, u->focus < 3 ? P_PREVIEW : P_DB);
		else
			set_focus(u, u->focus + 1);
		break;
	case UI_NEXT_PANE: set_focus(u, u->focus + 1); break;
	case UI_PREV_PANE: set_focus(u, u->focus - 1); break;
	default: break;
	}
}

static void open_stepper(ui *u);
static void ask_or_run(ui *u, ui_action a);
static void open_targets(ui *u);
static void open_fleet(ui *u, const char *group);

static void act(ui *u, ui_action a)
{
	switch (a) {
	case UI_UP: move_sel(u, -1, 0); break;
	case UI_DOWN: move_sel(u, 1, 0); break;
	case UI_TOP: move_sel(u, -1, 1); break;
	case UI_BOTTOM: move_sel(u, 1, 1); break;
	case UI_HALF_DOWN: move_sel(u, page(u, u->focus), 0); break;
	case UI_HALF_UP: move_sel(u, -page(u, u->focus), 0); break;
	case UI_LEFT:
	case UI_RIGHT:
	case UI_NEXT_PANE:
	case UI_PREV_PANE:
		if (u->maximized) {
			/* a pane move leaves the full-screen preview first */
			u->maximized = 0;
			layout(u);
		}
		move_focus(u, a);
		break;
	case UI_MAXIMIZE:
		u->maximized = !u->maximized;
		if (u->maximized)
			u->focus = P_PREVIEW;
		layout(u);
		break;
	case UI_PAIR:
		u->show_pair = !u->show_pair;
		sync_preview(u, 0);
		break;
	case UI_DIFF:
		u->pv_mode = (u->pv_mode + 1) % 4; /* the file, schema, git, drift */
		sync_preview(u, 1);
		break;
	case UI_STEP:
	case UI_APPLY:
	case UI_ROLLBACK:
	case UI_MOVE:
		ask_or_run(u, a);
		break;
	case UI_STEP_NEXT:
	case UI_STEP_ALL:
	case UI_STEP_COMMIT:
	case UI_STEP_ABORT:
		break; /* the stepper's own (stepper_key) */
	case UI_TARGET:
		open_targets(u);
		break;
	case UI_FLEET:
		open_fleet(u, NULL);
		break;
	case UI_SEARCH:
		u->searching = 1;
		u->input[0] = '\0';
		break;
	case UI_NEXT_MATCH: search(u, 1, 0); break;
	case UI_PREV_MATCH: search(u, -1, 0); break;
	case UI_REFRESH:
		md_deck_refresh(u->deck);
		snprintf(u->msg, sizeof(u->msg), "refreshing...");
		break;
	case UI_HELP:
		u->help = !u->help;
		u->help_top = 0;
		break;
	case UI_BACK:
		if (u->help)
			u->help = 0;
		else if (u->maximized) {
			u->maximized = 0;
			layout(u);
		}
		u->msg[0] = '\0';
		break;
	case UI_QUIT:
		if (u->help)
			u->help = 0;
		else if (u->maximized) {
			u->maximized = 0;
			layout(u);
		} else
			u->quit = 1;
		break;
	case UI_NONE:
	case UI_NACTIONS: break;
	}
}

static void auto_clear(ui *u)
{
	size_t i;

	for (i = 0; i < u->auto_n; i++)
		free(u->auto_q[i]);
	free(u->auto_q);
	u->auto_q = NULL;
	u->auto_n = u->auto_i = 0;
	u->auto_active = 0;
	u->auto_backup[0] = '\0';
}

static void close_stepper(ui *u)
{
	md_stepper_close(u->st);
	u->st = NULL;
	md_stepper_view_free(u->sv);
	u->sv = NULL;
	u->st_confirm = 0;
	u->excl_since = 0;
	md_deck_watch(u->deck, 0);
	md_deck_refresh(u->deck); /* the folders and the history changed */
	if (!u->auto_active)
		auto_clear(u); /* a run that stopped on a failure ends here */
}

/* On a production database: a file with uncommitted changes is refused
 * (returns -1 with the reason in the message). */
static int production_refuses(ui *u, const md_file *f)
{
	md_git_state g = md_deck_git_state(u->data, f);

	if (!u->cfg->production)
		return 0;
	if (g != MD_GIT_COMMITTED && g != MD_GIT_NONE) {
		snprintf(u->msg, sizeof(u->msg), "refused on a production database: %s is %s in git",
			 f->name, md_git_state_name(g));
		return -1;
	}
	/* a rollback runs the pair: it must be committed too */
	g = f->pair ? md_deck_git_state(u->data, f->pair) : MD_GIT_COMMITTED;
	if (g != MD_GIT_COMMITTED && g != MD_GIT_NONE) {
		snprintf(u->msg, sizeof(u->msg), "refused on a production database: %s is %s in git",
			 f->pair->name, md_git_state_name(g));
		return -1;
	}
	return 0;
}

/* Open the stepper on the next file of the a/u queue, or end the run. */
static void auto_next(ui *u)
{
	md_error err;

	if (u->auto_i >= u->auto_n) {
		snprintf(u->msg, sizeof(u->msg), "%s: %zu migration%s done",
			 u->auto_rollback ? "rollback" : "apply", u->auto_n, u->auto_n == 1 ? "" : "s");
		auto_clear(u);
		return;
	}
	md_error_clear(&err);
	/* one backup for the whole a/u run: the first file's */
	if (md_stepper_open_backup(&u->st, u->cfg, u->auto_q[u->auto_i], u->auto_rollback,
				   u->auto_backup, &err) != MD_OK) {
		char text[1400];

		md_error_format(&err, text, sizeof(text));
		snprintf(u->msg, sizeof(u->msg), "%.450s", text);
		u->st = NULL;
		auto_clear(u);
		return;
	}
	u->sv = md_stepper_view_get(u->st);
	md_deck_watch(u->deck, u->sv ? u->sv->pid : 0);
}

/* Drive the a/u run: all statements, commit, the next file; a failure
 * stops it with the stepper open on the error (x aborts). */
static void auto_drive(ui *u)
{
	if (!u->auto_active)
		return;
	if (!u->st) {
		auto_next(u);
		return;
	}
	if (!u->sv || md_stepper_busy(u->st))
		return;
	switch (u->sv->state) {
	case MD_STEPPER_READY: md_stepper_command(u->st, 'a'); break;
	case MD_STEPPER_ALL_RAN: md_stepper_command(u->st, 'c'); break;
	case MD_STEPPER_COMMITTED:
		if (u->sv->backup && !u->auto_backup[0])
			snprintf(u->auto_backup, sizeof(u->auto_backup), "%s", u->sv->backup);
		close_stepper(u);
		u->auto_i++;
		auto_next(u);
		break;
	case MD_STEPPER_FAILED:
	case MD_STEPPER_ABORTED:
		u->auto_active = 0; /* the operator reads the error; x aborts */
		break;
	case MD_STEPPER_RUNNING: break;
	}
}

/* a: the pending migrations of the list up to the selected one; u: the
 * selected applied one, backwards. */
static void start_auto(ui *u, int rollback)
{
	int pane = u->focus < 3 ? u->focus : u->last_folder;
	const list *l = &u->lists[pane];
	const md_plan_item *sel = row_item(u, pane);
	size_t i;

	if (u->db->conn != MD_DECK_UP || !u->data->history_loaded) {
		snprintf(u->msg, sizeof(u->msg), "the database is not connected");
		return;
	}
	if (!sel || !sel->file) {
		snprintf(u->msg, sizeof(u->msg), "select a migration file first");
		return;
	}
	auto_clear(u);
	if (rollback) {
		if (sel->state != MD_STATE_APPLIED) {
			snprintf(u->msg, sizeof(u->msg), "u: %s is not applied", sel->file->name);
			return;
		}
		if (production_refuses(u, sel->file))
			return;
		u->auto_q = calloc(1, sizeof(char *));
		if (u->auto_q && (u->auto_q[0] = strdup(sel->file->path)) != NULL)
			u->auto_n = 1;
	} else {
		if (sel->state == MD_STATE_APPLIED || sel->state == MD_STATE_ARCHIVED ||
		    sel->state == MD_STATE_MISSING_FILE) {
			snprintf(u->msg, sizeof(u->msg), "a: %s is %s", sel->file->name,
				 md_state_name(sel->state));
			return;
		}
		u->auto_q = calloc(l->n, sizeof(char *));
		for (i = 0; u->auto_q && i <= l->sel && i < l->n; i++) {
			const md_plan_item *it = l->rows[i].it;

			if (!it->file || it->state == MD_STATE_APPLIED || it->state == MD_STATE_ARCHIVED ||
			    it->file->folder != MD_FOLDER_PENDING)
				continue;
			if (production_refuses(u, it->file)) {
				auto_clear(u);
				return;
			}
			if ((u->auto_q[u->auto_n] = strdup(it->file->path)) != NULL)
				u->auto_n++;
		}
	}
	u->auto_rollback = rollback;
	u->auto_active = u->auto_n > 0;
	if (u->auto_active)
		auto_next(u);
}

/* s: step through the selected migration; an applied one: its rollback. */
static void open_stepper(ui *u)
{
	const md_plan_item *it = row_item(u, u->focus < 3 ? u->focus : u->last_folder);
	md_error err;
	int rollback;

	if (!it || !it->file) {
		snprintf(u->msg, sizeof(u->msg), "step: select a migration file first");
		return;
	}
	if (it->state == MD_STATE_ARCHIVED) {
		snprintf(u->msg, sizeof(u->msg), "step: %s is archived", it->file->name);
		return;
	}
	if (u->db->conn != MD_DECK_UP || !u->data->history_loaded) {
		snprintf(u->msg, sizeof(u->msg), "step: the database is not connected (or not read yet)");
		return;
	}
	rollback = it->state == MD_STATE_APPLIED;
	md_error_clear(&err);
	if (md_stepper_open(&u->st, u->cfg, it->file->path, rollback, &err) != MD_OK) {
		char text[1400];

		md_error_format(&err, text, sizeof(text));
		snprintf(u->msg, sizeof(u->msg), "step: %.400s", text);
		u->st = NULL;
		return;
	}
	u->sv = md_stepper_view_get(u->st);
	md_deck_watch(u->deck, u->sv ? u->sv->pid : 0);
}

/* A key while the stepper is open: its own keys, y/n of a pending quit,
 * q/Esc, the help; nothing else. */
static void stepper_key(ui *u, int key)
{
	ui_action a = ui_key_action_in(1, key);
	const md_stepper_view *v = u->sv;
	int closed = v && (v->state == MD_STEPPER_COMMITTED || v->state == MD_STEPPER_ABORTED);

	if (u->st_confirm) {
		if (key == 'y' || key == 'Y') {
			u->st_confirm = 0;
			if (md_stepper_command(u->st, 'x'))
				snprintf(u->msg, sizeof(u->msg), "aborting...");
		} else if (key == 'n' || key == 'N' || key == 27) {
			u->st_confirm = 0;
		}
		return;
	}
	if (a != UI_NONE) {
		static const struct {
			ui_action a;
			int cmd;
		} cmds[] = { { UI_STEP_NEXT, 'n' }, { UI_STEP_ALL, 'a' }, { UI_STEP_COMMIT, 'c' },
			     { UI_STEP_ABORT, 'x' } };
		size_t i;

		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (cmds[i].a == a && !md_stepper_command(u->st, cmds[i].cmd))
				snprintf(u->msg, sizeof(u->msg), "not now: %s",
					 v ? step_state_text(v) : "?");
		return;
	}
	a = ui_key_action(key);
	if (a == UI_HELP) {
		u->help = !u->help;
		return;
	}
	if (a == UI_QUIT || a == UI_BACK) {
		if (u->help)
			u->help = 0;
		else if (closed)
			close_stepper(u);
		else if (v && v->state != MD_STEPPER_RUNNING)
			u->st_confirm = 1;
		return;
	}
	snprintf(u->msg, sizeof(u->msg), "the stepper is open: n next, a all, c commit, x abort, q close");
}

/* What runs once the questions are answered. */
static void run_asked(ui *u, ui_action a)
{
	if (a == UI_STEP)
		open_stepper(u);
	else
		start_auto(u, a == UI_ROLLBACK);
}

/* s, a, u: ask what must be asked first (u: y/n; production: the name). */
static void ask_or_run(ui *u, ui_action a)
{
	int pane = u->focus < 3 ? u->focus : u->last_folder;
	const md_plan_item *it = row_item(u, pane);

	u->ask_then = a;
	u->input[0] = '\0';
	if (a == UI_MOVE) {
		if (it && it->file)
			u->ask = 'm';
		else
			snprintf(u->msg, sizeof(u->msg), "move: select a migration file first");
		return;
	}
	if (u->cfg->production && it && it->file) {
		/* refused before anything is asked: the files it would run */
		const list *l = &u->lists[pane];
		size_t i;

		if (a != UI_APPLY) {
			if (production_refuses(u, it->file))
				return;
		} else {
			for (i = 0; i <= l->sel && i < l->n; i++)
				if (l->rows[i].file && l->rows[i].it->state != MD_STATE_APPLIED &&
				    l->rows[i].file->folder == MD_FOLDER_PENDING &&
				    production_refuses(u, l->rows[i].file))
					return;
		}
	}
	if (a == UI_ROLLBACK && it && it->file && it->state == MD_STATE_APPLIED) {
		/* show the rollback script it would run */
		u->show_pair = 1;
		u->pv_mode = 0;
		sync_preview(u, 0);
		u->ask = 'u';
		return;
	}
	if (u->cfg->production) {
		u->ask = 'p';
		return;
	}
	run_asked(u, a);
}

/* m: the folder the selected file goes to, if the database agrees. */
static void move_to(ui *u, md_folder to)
{
	const md_plan_item *it = row_item(u, u->focus < 3 ? u->focus : u->last_folder);
	const char *why = NULL;
	char note[600] = "";
	md_error err;

	if (!it || !it->file)
		return;
	if (!u->cfg->tracked)
		why = u->cfg->tracks ? "the folders follow another target ([workspace] tracks)"
				     : "the files do not move for a fleet member";
	else if (it->file->folder == to)
		why = "it is there already";
	else if (!u->data->history_loaded)
		why = "the database has not answered: it must agree with the move";
	else if (to == MD_FOLDER_APPLIED && it->state != MD_STATE_APPLIED)
		why = "the database has not applied it (apply it: a or s)";
	else if (to == MD_FOLDER_ARCHIVE && it->state != MD_STATE_APPLIED)
		why = "archive/ takes applied migrations only, folded into the baseline";
	else if (to == MD_FOLDER_PENDING && it->state == MD_STATE_APPLIED)
		why = "the database says it is applied (roll it back: u)";
	if (why) {
		snprintf(u->msg, sizeof(u->msg), "move refused: %s: %s", it->file->name, why);
		return;
	}
	md_error_clear(&err);
	if (md_stepper_move(u->cfg, it->file->path, (int)to, note, sizeof(note), &err) != MD_OK) {
		char text[1400];

		md_error_format(&err, text, sizeof(text));
		snprintf(u->msg, sizeof(u->msg), "move: %.450s", text);
		return;
	}
	snprintf(u->msg, sizeof(u->msg), "moved %s to %s/%s%.300s", it->file->name,
		 md_folder_name(to), note[0] ? "; " : "", note);
	md_deck_refresh(u->deck);
}

static void ask_key(ui *u, int key)
{
	if (key == 27) {
		u->ask = 0;
		snprintf(u->msg, sizeof(u->msg), "cancelled");
		return;
	}
	if (u->ask == 'm') {
		u->ask = 0;
		if (key == 'p')
			move_to(u, MD_FOLDER_PENDING);
		else if (key == 'a')
			move_to(u, MD_FOLDER_APPLIED);
		else if (key == 'r')
			move_to(u, MD_FOLDER_ARCHIVE);
		else
			snprintf(u->msg, sizeof(u->msg), "cancelled");
		return;
	}
	if (u->ask == 'u') {
		if (key == 'y' || key == 'Y') {
			u->ask = u->cfg->production ? 'p' : 0;
			if (!u->ask)
				run_asked(u, u->ask_then);
		} else if (key == 'n' || key == 'N') {
			u->ask = 0;
			snprintf(u->msg, sizeof(u->msg), "cancelled");
		}
		return;
	}
	/* 'p': the database name, as the status line asks */
	if (key == '\n' || key == '\r' || key == UI_KEY_SPECIAL(KEY_ENTER)) {
		u->ask = 0;
		if (u->db->database && !strcmp(u->input, u->db->database))
			run_asked(u, u->ask_then);
		else
			snprintf(u->msg, sizeof(u->msg), "not the database name: nothing was run");
		u->input[0] = '\0';
		return;
	}
	u->searching = 1; /* reuse the line editor */
	search_key(u, key);
	u->searching = 0;
}

/* ---- targets and fleets ---------------------------------------------------------- */

static void pick_free(ui *u)
{
	size_t i;

	for (i = 0; i < u->pick_n; i++) {
		free(u->pick_names[i]);
		free(u->pick_lines[i]);
	}
	free(u->pick_names);
	free(u->pick_lines);
	u->pick_names = u->pick_lines = NULL;
	u->pick_n = u->pick_sel = 0;
	u->pick = 0;
}

/* Close the chooser (and its window). */
static void pick_clear(ui *u)
{
	pick_free(u);
	make_pick_window(u);
}

static void pick_add(ui *u, const char *name, const char *line)
{
	char **n = realloc(u->pick_names, (u->pick_n + 1) * sizeof(*n)), **l;

	if (!n)
		return;
	u->pick_names = n;
	if (!(l = realloc(u->pick_lines, (u->pick_n + 1) * sizeof(*l))))
		return;
	u->pick_lines = l;
	n[u->pick_n] = name ? strdup(name) : NULL;
	l[u->pick_n] = strdup(line);
	if (!l[u->pick_n] || (name && !n[u->pick_n])) {
		free(n[u->pick_n]);
		free(l[u->pick_n]);
		return;
	}
	u->pick_n++;
}

/* The deck takes c (it owns it from now on) and loads that database; the
 * panes start again from nothing until it has. */
static void switch_to(ui *u, md_config *c)
{
	char label[160];

	snprintf(label, sizeof(label), "%s", md_config_label(c));
	md_deck_switch(u->deck, c);
	u->cfg = md_deck_config(u->deck);
	u->data = md_deck_current(u->deck);
	u->db = md_deck_db_state(u->deck);
	u->others = NULL;
	u->db_top = 0;
	rebuild_lists(u);
	sync_preview(u, 1);
	snprintf(u->msg, sizeof(u->msg), "switched to %s", label);
}

/* Is the target name (NULL: default) the one in force? */
static int target_in_force(const ui *u, const char *name)
{
	if (u->cfg->member)
		return 0;
	if (!name)
		return !u->cfg->target;
	return u->cfg->target && !strcasecmp(u->cfg->target, name);
}

/* t: the targets, "default" first, with their marks and connections. */
static void open_targets(ui *u)
{
	size_t i, n = u->base->ntargets + 1;
	char line[700], **notes, **shown;
	int nw = 0, namew = 7; /* "default" */

	u->help = 0;
	if (!u->base->ntargets) {
		snprintf(u->msg, sizeof(u->msg), "t: no [target.NAME] in the settings");
		return;
	}
	pick_free(u);
	notes = calloc(n, sizeof(*notes));
	shown = calloc(n, sizeof(*shown));
	for (i = 0; notes && shown && i < n; i++) {
		const char *name = i ? u->base->targets[i - 1].name : NULL;
		md_config *c = NULL;
		md_error err;
		char text[300] = "";
		size_t o = 0;

		md_error_clear(&err);
		if (md_config_derive(u->base, name, NULL, NULL, NULL, &c, &err) != MD_OK) {
			md_error_format(&err, text, sizeof(text));
		} else {
			if (c->production)
				o += (size_t)snprintf(text + o, sizeof(text) - o, "production");
			if (target_in_force(u, name))
				o += (size_t)snprintf(text + o, sizeof(text) - o, "%sin force",
						      o ? ", " : "");
			if (c->tracked && u->base->tracks)
				snprintf(text + o, sizeof(text) - o, "%sfolders follow it", o ? ", " : "");
			shown[i] = md_config_conn_display(c);
		}
		notes[i] = strdup(text);
		if (notes[i] && ui_width(notes[i], strlen(notes[i])) > nw)
			nw = ui_width(notes[i], strlen(notes[i]));
		if (name && ui_width(name, strlen(name)) > namew)
			namew = ui_width(name, strlen(name));
		md_config_free(c);
	}
	for (i = 0; notes && shown && i < n; i++) {
		const char *name = i ? u->base->targets[i - 1].name : NULL;

		if (target_in_force(u, name))
			u->pick_sel = i;
		snprintf(line, sizeof(line), "%-*s  %-*s  %s", namew, name ? name : "default", nw,
			 notes[i] ? notes[i] : "", shown[i] && *shown[i] ? shown[i] : "");
		pick_add(u, name, line);
	}
	for (i = 0; i < n; i++) {
		free(notes ? notes[i] : NULL);
		free(shown ? shown[i] : NULL);
	}
	free(notes);
	free(shown);
	u->pick = 't';
	make_pick_window(u);
}

/* F: the fleet view of group (NULL: the only group, else a chooser). */
static void open_fleet(ui *u, const char *group)
{
	size_t i;
	char line[600];

	u->help = 0;
	if (!u->base->ngroups) {
		snprintf(u->msg, sizeof(u->msg), "F: no [group.NAME] in the settings");
		return;
	}
	if (!group && u->base->ngroups > 1) {
		pick_free(u);
		for (i = 0; i < u->base->ngroups; i++) {
			const md_cfg_group *g = &u->base->groups[i];
			size_t o = 0, j;

			if (g->kind == MD_GROUP_TARGETS) {
				o = (size_t)snprintf(line, sizeof(line), "%-12s targets ", g->name);
				for (j = 0; j < g->ntargets && o < sizeof(line); j++)
					o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s",
							      j ? ", " : "", g->targets[j]);
			} else {
				snprintf(line, sizeof(line), "%-12s %s listed by a query on %s", g->name,
					 g->kind == MD_GROUP_SCHEMAS ? "schemas" : "databases",
					 g->target ? g->target : "default");
			}
			if (u->fleet && !strcasecmp(g->name, u->fleet_group))
				u->pick_sel = i;
			pick_add(u, g->name, line);
		}
		u->pick = 'g';
		make_pick_window(u);
		return;
	}
	snprintf(u->fleet_group, sizeof(u->fleet_group), "%s",
		 group ? group : u->base->groups[0].name);
	u->fleet = 1;
	u->fleet_sel = u->fleet_top = 0;
	u->fleet_want = md_deck_load_fleet(u->deck, u->fleet_group);
}

static void pick_choose(ui *u)
{
	char name[128];
	int is_default, kind = u->pick;
	md_config *c = NULL;
	md_error err;

	if (u->pick_sel >= u->pick_n)
		return;
	is_default = !u->pick_names[u->pick_sel];
	snprintf(name, sizeof(name), "%s", is_default ? "" : u->pick_names[u->pick_sel]);
	pick_clear(u);
	if (kind == 'g') {
		open_fleet(u, name);
		return;
	}
	if (target_in_force(u, is_default ? NULL : name)) {
		snprintf(u->msg, sizeof(u->msg), "%s is in force already", is_default ? "default" : name);
		return;
	}
	md_error_clear(&err);
	if (md_config_derive(u->base, is_default ? NULL : name, NULL, NULL, NULL, &c, &err) != MD_OK) {
		char text[1400];

		md_error_format(&err, text, sizeof(text));
		snprintf(u->msg, sizeof(u->msg), "t: %.450s", text);
		return;
	}
	switch_to(u, c);
}

/* The fleet picture of the request shown, or NULL. */
static const md_deck_fleet *fleet_shown(const ui *u)
{
	const md_deck_fleet *f = md_deck_current_fleet(u->deck);

	return f && f->seq == u->fleet_want && !f->error ? f : NULL;
}

/* Enter in the fleet view: that member's normal view. */
static void fleet_enter(ui *u)
{
	const md_deck_fleet *f = fleet_shown(u);
	const md_deck_member *m;
	md_config *c = NULL;
	md_error err;

	if (!f || u->fleet_sel >= f->n)
		return;
	m = &f->m[u->fleet_sel];
	md_error_clear(&err);
	if (md_config_derive(u->base, m->target, m->dbname, m->schema,
			     m->dbname || m->schema ? m->name : NULL, &c, &err) != MD_OK) {
		char text[1400];

		md_error_format(&err, text, sizeof(text));
		snprintf(u->msg, sizeof(u->msg), "%.450s", text);
		return;
	}
	if (m->dbname || m->schema)
		c->tracked = 0; /* a member's runs move no file (src/fleet.h) */
	snprintf(u->member_of, sizeof(u->member_of), "%s", u->fleet_group);
	u->fleet = 0;
	switch_to(u, c);
}

/* The action of a key, with the other spellings of Enter. */
static ui_action key_action(int key)
{
	ui_action a = ui_key_action(key);

	if (a == UI_NONE && (key == '\r' || key == UI_KEY_SPECIAL(KEY_ENTER)))
		a = ui_key_action('\n');
	return a;
}

/* A key while the chooser is open. */
static void pick_key(ui *u, int key)
{
	switch (key_action(key)) {
	case UI_UP:
		if (u->pick_sel)
			u->pick_sel--;
		break;
	case UI_DOWN:
		if (u->pick_sel + 1 < u->pick_n)
			u->pick_sel++;
		break;
	case UI_TOP: u->pick_sel = 0; break;
	case UI_BOTTOM: u->pick_sel = u->pick_n ? u->pick_n - 1 : 0; break;
	case UI_MAXIMIZE: pick_choose(u); break;
	case UI_BACK:
	case UI_QUIT: pick_clear(u); break;
	default:
		snprintf(u->msg, sizeof(u->msg), "the chooser is open: j/k move, Enter chooses, Esc goes back");
		break;
	}
}

/* A key in the fleet view (the help over it takes its own). */
static void fleet_key(ui *u, int key)
{
	ui_action a = key_action(key);
	const md_deck_fleet *f = fleet_shown(u);
	size_t n = f ? f->n : 0;
	long sel = (long)u->fleet_sel, half = LINES / 4 > 1 ? LINES / 4 : 1;

	if (u->help) {
		act(u, a);
		return;
	}
	switch (a) {
	case UI_UP: sel--; break;
	case UI_DOWN: sel++; break;
	case UI_HALF_UP: sel -= half; break;
	case UI_HALF_DOWN: sel += half; break;
	case UI_TOP: sel = 0; break;
	case UI_BOTTOM: sel = (long)n - 1; break;
	case UI_MAXIMIZE: fleet_enter(u); return;
	case UI_REFRESH:
		u->fleet_want = md_deck_load_fleet(u->deck, u->fleet_group);
		return;
	case UI_FLEET: open_fleet(u, NULL); return;
	case UI_HELP:
		u->help = 1;
		u->help_top = 0;
		return;
	case UI_BACK:
	case UI_QUIT: u->fleet = 0; return;
	default:
		snprintf(u->msg, sizeof(u->msg),
			 "the fleet view: j/k move, Enter opens a member, r reloads, Esc goes back");
		return;
	}
	if (sel >= (long)n)
		sel = (long)n - 1;
	u->fleet_sel = sel < 0 ? 0 : (size_t)sel;
}

static void handle_key(ui *u, int key)
{
	ui_action a;

	if (key == UI_KEY_SPECIAL(KEY_RESIZE)) {
		layout(u);
		return;
	}
	if (u->searching) {
		search_key(u, key);
		u->dirty = 1;
		return;
	}
	if (u->ask) {
		ask_key(u, key);
		u->dirty = 1;
		return;
	}
	if (u->st) {
		u->msg[0] = '\0';
		stepper_key(u, key);
		u->dirty = 1;
		return;
	}
	if (u->pick || u->fleet) {
		u->msg[0] = '\0';
		if (u->pick)
			pick_key(u, key);
		else
			fleet_key(u, key);
		u->dirty = 1;
		return;
	}
	a = ui_key_action(key);
	/* the other spellings of Enter and Backspace, unless bound themselves */
	if (a == UI_NONE && (key == '\r' || key == UI_KEY_SPECIAL(KEY_ENTER)))
		a = ui_key_action(key = '\n');
	if (a == UI_NONE && (key == 127 || key == 8))
		a = ui_key_action(key = UI_KEY_SPECIAL(KEY_BACKSPACE));
	if (u->too_small && a != UI_QUIT)
		return;
	if (a != UI_REFRESH && a != UI_NONE)
		u->msg[0] = '\0';
	if (a == UI_NONE) {
		char name[32];

		snprintf(u->msg, sizeof(u->msg), "%s: no action (? for help)",
			 ui_key_name(key, name, sizeof(name)));
	}
	act(u, a);
	u->dirty = 1;
}

/* ---- data ------------------------------------------------------------------------ */

static void take(ui *u)
{
	int got = md_deck_take(u->deck);

	auto_drive(u);
	if (u->st) {
		md_stepper_view *v = md_stepper_view_get(u->st);
		int was_running = u->sv && u->sv->state == MD_STEPPER_RUNNING;

		if (v) {
			if (was_running && v->state != MD_STEPPER_RUNNING)
				md_deck_poll_now(u->deck); /* the locks changed */
			md_stepper_view_free(u->sv);
			u->sv = v;
		}
		u->dirty = 1;
	}

	u->data = md_deck_current(u->deck);
	u->db = md_deck_db_state(u->deck);
	u->others = md_deck_current_others(u->deck);
	if (got & 4)
		got_diff(u);
	if (got & 1) {
		rebuild_lists(u);
		sync_preview(u, 1);
		if (!strcmp(u->msg, "refreshing..."))
			u->msg[0] = '\0';
	}
	if (got)
		u->dirty = 1;
	if (u->st && (got & 2)) {
		/* when the stepper's transaction first held ACCESS EXCLUSIVE */
		size_t i;
		int excl = 0;

		for (i = 0; i < u->db->nwatch_locks; i++)
			if (u->db->watch_locks[i].exclusive && u->db->watch_locks[i].granted)
				excl = 1;
		if (!excl)
			u->excl_since = 0;
		else if (u->excl_since == 0)
			u->excl_since = md_deck_now();
	}
}

/* ---- key scripts ----------------------------------------------------------------- */

static void free_script(ui *u)
{
	size_t i;

	for (i = 0; i < u->nevs; i++)
		free(u->evs[i].arg);
	free(u->evs);
	u->evs = NULL;
	u->nevs = 0;
}

static int add_ev(ui *u, size_t *cap, script_ev ev)
{
	if (u->nevs == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		script_ev *g = realloc(u->evs, nc * sizeof(*g));

		if (!g)
			return -1;
		u->evs = g;
		*cap = nc;
	}
	u->evs[u->nevs++] = ev;
	return 0;
}

static int wait_db_arg(const char *arg, script_ev *ev)
{
	char st[16];

	if (sscanf(arg, "%15s %d", st, &ev->b) != 2 || ev->b <= 0)
		return 0;
	if (!strcmp(st, "up"))
		ev->a = MD_DECK_UP;
	else if (!strcmp(st, "down"))
		ev->a = MD_DECK_DOWN;
	else if (!strcmp(st, "lost"))
		ev->a = MD_DECK_LOST;
	else
		return 0;
	return 1;
}

static int wait_file_arg(const char *arg, script_ev *ev)
{
	char name[256];

	if (sscanf(arg, "%255s %d", name, &ev->b) != 2 || ev->b <= 0 || strchr(name, '/'))
		return 0;
	ev->arg = strdup(name);
	return ev->arg != NULL;
}

/* Read a key script: lines of keys (a character is itself, ^X Ctrl-X,
 * <Name> a special key), or commands:
 *   :save-display NAME   the screen as text into the dump folder
 *   :resize COLS ROWS    the terminal changes size
 *   :click ROW COL       a mouse click (0-based)
 *   :sleep MS            wait
 *   :wait-db STATE SECS  until the database is up, down or lost (a test
 *                        that breaks the connection waits for the console
 *                        to notice, then for it to reconnect)
 *   :wait-file NAME SECS until NAME exists in the dump folder (a test
 *                        changes the workspace between two screens)
 *   :wait-blocked N SECS until N sessions wait behind the stepper
 *   :cancel              Ctrl-C while the stepper runs a statement (does
 *                        not wait for it: waits until it runs, then cancels)
 * "#" starts a comment line.  Errors name the file, line and column. */
static int load_script(ui *u, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	unsigned ln = 0;
	size_t cap = 0;

	if (!f) {
		fprintf(stderr, "migdeck: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\r\n");
		script_ev ev;

		ln++;
		line[len] = '\0';
		memset(&ev, 0, sizeof(ev));
		ev.line = ln;
		if (!len || line[0] == '#')
			continue;
		if (line[0] == ':') {
			char cmd[32], arg[1024];
			int n = sscanf(line + 1, "%31s %1023[^\n]", cmd, arg);

			if (n >= 1 && !strcmp(cmd, "save-display") && n == 2 && !strchr(arg, '/')) {
				ev.kind = EV_DUMP;
				ev.arg = strdup(arg);
			} else if (n == 2 && !strcmp(cmd, "resize") &&
				   sscanf(arg, "%d %d", &ev.a, &ev.b) == 2 && ev.a > 0 && ev.b > 0) {
				ev.kind = EV_RESIZE;
			} else if (n == 2 && !strcmp(cmd, "click") &&
				   sscanf(arg, "%d %d", &ev.a, &ev.b) == 2 && ev.a >= 0 && ev.b >= 0) {
				ev.kind = EV_CLICK;
			} else if (n == 2 && !strcmp(cmd, "sleep") && sscanf(arg, "%d", &ev.a) == 1 &&
				   ev.a >= 0) {
				ev.kind = EV_SLEEP;
			} else if (n == 2 && !strcmp(cmd, "wait-db") && wait_db_arg(arg, &ev)) {
				ev.kind = EV_WAIT_DB;
			} else if (n == 2 && !strcmp(cmd, "wait-file") && wait_file_arg(arg, &ev)) {
				ev.kind = EV_WAIT_FILE;
			} else if (n == 2 && !strcmp(cmd, "wait-blocked") &&
				   sscanf(arg, "%d %d", &ev.a, &ev.b) == 2 && ev.a >= 0 && ev.b > 0) {
				ev.kind = EV_WAIT_BLOCKED;
			} else if (n == 1 && !strcmp(cmd, "cancel")) {
				ev.kind = EV_CANCEL;
			} else {
				fprintf(stderr,
					"migdeck: %s:%u:1: not a script command: '%s' (:save-display NAME, "
					":resize COLS ROWS, :click ROW COL, :sleep MS, :wait-db up|down|lost SECS, "
					":wait-file NAME SECS, :wait-blocked N SECS, :cancel)\n",
					path, ln, line);
				fclose(f);
				return -1;
			}
			if (add_ev(u, &cap, ev) < 0)
				break;
			continue;
		}
		for (size_t i = 0; i < len;) {
			size_t n = ui_key_parse(line + i, &ev.key);

			if (!n) {
				fprintf(stderr, "migdeck: %s:%u:%zu: not a key: '%s'\n", path, ln, i + 1,
					line + i);
				fclose(f);
				return -1;
			}
			ev.kind = EV_KEY;
			if (add_ev(u, &cap, ev) < 0)
				break;
			i += n;
		}
	}
	fclose(f);
	return 0;
}

/* The screen as the terminal shows it, as plain text (trailing blanks cut). */
static int dump_screen(ui *u, const char *name)
{
	char path[4096];
	FILE *f;
	int y, x;

	snprintf(path, sizeof(path), "%s/%s", u->dump_dir, name);
	if (!(f = fopen(path, "w")))
		return -1;
	for (y = 0; y < LINES; y++) {
		char out[8192];
		size_t n = 0, keep = 0;

		for (x = 0; x < COLS; x++) {
			cchar_t cc;
			wchar_t wch[CCHARW_MAX + 1];
			attr_t attr;
			short pair;
			mbstate_t st;
			char mb[MB_LEN_MAX];
			size_t m;
			int cw;

			if (mvwin_wch(curscr, y, x, &cc) == ERR ||
			    getcchar(&cc, wch, &attr, &pair, NULL) == ERR || !wch[0]) {
				wch[0] = L' ';
			}
			memset(&st, 0, sizeof(st));
			m = wcrtomb(mb, wch[0], &st);
			if (m == (size_t)-1) {
				mb[0] = '?';
				m = 1;
			}
			if (n + m >= sizeof(out))
				break;
			memcpy(out + n, mb, m);
			n += m;
			if (wch[0] != L' ')
				keep = n;
			cw = wcwidth(wch[0]);
			if (cw == 2)
				x++;
		}
		fprintf(f, "%.*s\n", (int)keep, out);
	}
	return fclose(f);
}

static void note_key_time(ui *u, double ms)
{
	if (!u->profile)
		return;
	if (u->nkey_ms == u->cap_key_ms) {
		size_t nc = u->cap_key_ms ? u->cap_key_ms * 2 : 256;
		double *g = realloc(u->key_ms, nc * sizeof(*g));

		if (!g)
			return;
		u->key_ms = g;
		u->cap_key_ms = nc;
	}
	u->key_ms[u->nkey_ms++] = ms;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void write_profile(ui *u)
{
	FILE *f;
	struct rusage ru;

	if (!u->profile || !(f = fopen(u->profile, "w")))
		return;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(f, "first_frame_ms %.1f\n", u->first_frame_ms);
	fprintf(f, "keys %zu\n", u->nkey_ms);
	if (u->nkey_ms) {
		qsort(u->key_ms, u->nkey_ms, sizeof(double), cmp_double);
		fprintf(f, "key_ms_median %.3f\n", u->key_ms[u->nkey_ms / 2]);
		fprintf(f, "key_ms_p95 %.3f\n", u->key_ms[u->nkey_ms * 95 / 100]);
		fprintf(f, "key_ms_max %.3f\n", u->key_ms[u->nkey_ms - 1]);
	}
	fprintf(f, "maxrss_kb %ld\n", ru.ru_maxrss);
	fclose(f);
}

/* ---- the loop ------------------------------------------------------------------- */

static void frame(ui *u)
{
	draw(u);
	if (u->first_frame_ms == 0 && !md_deck_busy(u->deck) && u->data->ws) {
		const char *crash = getenv("MIGDECK_TEST_CRASH");

		u->first_frame_ms = (md_deck_now() - u->t0) * 1000.0;
		if (crash && !strcmp(crash, "console"))
			raise(SIGSEGV); /* proves the terminal is restored on a crash */
	}
}

static void run_script(ui *u)
{
	size_t i;

	for (i = 0; i < u->nevs && !u->quit && !got_signal; i++) {
		script_ev *ev = &u->evs[i];
		double t;

		/* wait for loading (and a stepped statement) to finish, then show
		 * what it brought; a cancel must not wait for the statement */
		if (ev->kind == EV_CANCEL) {
			double until = md_deck_now() + 30.0;
			struct timespec ts = { 0, 20 * 1000000L };

			/* the statement is running once the server says so: give
			 * it a moment after the command started */
			while (u->st && !md_stepper_busy(u->st) && md_deck_now() < until)
				nanosleep(&ts, NULL);
			ts.tv_nsec = 300 * 1000000L;
			nanosleep(&ts, NULL);
			if (u->st)
				md_stepper_cancel(u->st);
			continue;
		}
		{
			double until = md_deck_now() + 120.0;
			struct timespec ts = { 0, 20 * 1000000L };

			while (((u->st && md_stepper_busy(u->st)) || u->auto_active) &&
			       md_deck_now() < until) {
				nanosleep(&ts, NULL);
				take(u);
			}
			take(u);
		}
		md_deck_wait_idle(u->deck, 120.0);
		take(u);
		if (u->dirty)
			frame(u);
		t = md_deck_now();
		switch (ev->kind) {
		case EV_KEY:
			handle_key(u, ev->key);
			break;
		case EV_DUMP:
			if (dump_screen(u, ev->arg) != 0)
				fprintf(stderr, "migdeck: cannot write %s/%s\n", u->dump_dir, ev->arg);
			break;
		case EV_RESIZE:
			resizeterm(ev->b, ev->a);
			handle_key(u, UI_KEY_SPECIAL(KEY_RESIZE));
			break;
		case EV_CLICK:
			click(u, ev->a, ev->b);
			u->dirty = 1;
			break;
		case EV_SLEEP: {
			struct timespec ts = { ev->a / 1000, (long)(ev->a % 1000) * 1000000L };

			nanosleep(&ts, NULL);
			take(u);
			break;
		}
		case EV_CANCEL:
			break;
		case EV_WAIT_BLOCKED:
		case EV_WAIT_DB:
		case EV_WAIT_FILE: {
			double until = md_deck_now() + ev->b;
			struct timespec ts = { 0, 50 * 1000000L };
			char path[4096];

			if (ev->kind == EV_WAIT_FILE)
				snprintf(path, sizeof(path), "%s/%s", u->dump_dir, ev->arg);
			for (;;) {
				take(u);
				if (ev->kind == EV_WAIT_DB     ? (int)u->db->conn == ev->a
				    : ev->kind == EV_WAIT_FILE ? access(path, F_OK) == 0
							       : (int)u->db->nwatch_blocked >= ev->a)
					break;
				if (md_deck_now() > until) {
					snprintf(u->msg, sizeof(u->msg), "script line %u: gave up waiting",
						 ev->line);
					break;
				}
				nanosleep(&ts, NULL);
			}
			/* and for the reload that follows a reconnection */
			md_deck_wait_idle(u->deck, 60.0);
			take(u);
			break;
		}
		}
		if (u->dirty)
			frame(u);
		if (ev->kind == EV_KEY)
			note_key_time(u, (md_deck_now() - t) * 1000.0);
	}
}

static void run_terminal(ui *u)
{
	for (;;) {
		wint_t ch;
		int r, key;

		if (got_signal == SIGINT && u->st) {
			/* Ctrl-C in the stepper cancels the running statement, or
			 * asks whether to abort; it never leaves the console */
			got_signal = 0;
			if (md_stepper_busy(u->st))
				md_stepper_cancel(u->st);
			else if (u->sv && (u->sv->state == MD_STEPPER_READY ||
					   u->sv->state == MD_STEPPER_ALL_RAN ||
					   u->sv->state == MD_STEPPER_FAILED))
				u->st_confirm = 1;
			u->dirty = 1;
		}
		if (u->quit || got_signal)
			break;

		take(u);
		if (u->dirty)
			frame(u);
		r = wget_wch(u->status, &ch);
		if (r == ERR)
			continue;
		if (r == KEY_CODE_YES && ch == KEY_MOUSE) {
			MEVENT me;

			if (getmouse(&me) == OK &&
			    (me.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED))) {
				click(u, me.y, me.x);
				u->dirty = 1;
			}
			continue;
		}
		key = r == KEY_CODE_YES ? UI_KEY_SPECIAL((int)ch) : (int)ch;
		{
			double t = md_deck_now();

			handle_key(u, key);
			if (u->dirty)
				frame(u);
			note_key_time(u, (md_deck_now() - t) * 1000.0);
		}
	}
}

int ui_console_run(const md_config *cfg, const ui_opts *opts)
{
	ui u;
	md_error err;
	const char *keys_path = opts && opts->keys_path ? opts->keys_path : getenv("MIGDECK_KEYS");
	const char *no_color = getenv("NO_COLOR");
	FILE *in = NULL, *out = NULL;
	SCREEN *scr = NULL;
	int p, rc = 0;

	memset(&u, 0, sizeof(u));
	u.t0 = md_deck_now();
	u.cfg = u.base = cfg;
	u.focus = u.last_folder = P_PENDING;
	u.dump_dir = opts && opts->dump_dir ? opts->dump_dir
		     : getenv("MIGDECK_DUMP_DIR") ? getenv("MIGDECK_DUMP_DIR") : ".";
	u.profile = opts && opts->profile_path ? opts->profile_path : getenv("MIGDECK_PROFILE");
	md_error_clear(&err);
	if (ui_keys_load(cfg, &err) != MD_OK) {
		char msg[1400];

		md_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "migdeck: %s\n", msg);
		return 2;
	}
	if (keys_path && *keys_path && load_script(&u, keys_path) < 0) {
		free_script(&u);
		return 2;
	}
	setlocale(LC_CTYPE, "");
	ui_set_unicode(!strcmp(nl_langinfo(CODESET), "UTF-8"));
	if (keys_path && *keys_path) {
		/* no terminal: the screen goes nowhere, the keys come from the script */
		const char *term = getenv("TERM");

		in = fopen("/dev/null", "r");
		out = fopen("/dev/null", "w");
		if (in && out)
			scr = newterm(term && *term ? term : "xterm-256color", out, in);
		if (!scr && in && out)
			scr = newterm("xterm-256color", out, in);
	} else if (!isatty(0) || !isatty(1)) {
		fprintf(stderr, "migdeck: the console needs a terminal (or a key script: --keys FILE); "
				"see `migdeck help` for the commands\n");
		return 5;
	} else {
		scr = newterm(NULL, stdout, stdin);
	}
	if (!scr) {
		fprintf(stderr, "migdeck: cannot start the console on TERM=%s\n",
			getenv("TERM") ? getenv("TERM") : "");
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		free_script(&u);
		return 5;
	}
	curses_on = 1;
	install_signals();
	set_term(scr);
	cbreak();
	noecho();
	nonl();
	curs_set(0);
	set_escdelay(25);
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED, NULL);
	mouseinterval(0);
	ui_roles_init(!(opts && opts->no_color) && !(no_color && *no_color));
	if (md_deck_open(&u.deck, cfg, NULL, &err) != MD_OK) {
		char msg[1400];

		restore_terminal();
		md_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "migdeck: %s\n", msg);
		rc = 5;
		goto done;
	}
	u.data = md_deck_current(u.deck);
	u.db = md_deck_db_state(u.deck);
	layout(&u);
	sync_preview(&u, 1);
	if (u.nevs)
		run_script(&u);
	else if (!keys_path || !*keys_path)
		run_terminal(&u);
	if (got_signal)
		rc = 128 + got_signal;
done:
	if (u.st) {
		md_stepper_close(u.st); /* an open transaction is rolled back */
		u.st = NULL;
	}
	md_stepper_view_free(u.sv);
	auto_clear(&u);
	pick_free(&u);
	free_windows(&u);
	restore_terminal();
	/* no delscreen(): the panel library keeps a panel for stdscr in the
	 * SCREEN that delscreen() does not free; with the SCREEN kept, that
	 * memory stays reachable until exit instead of leaking */
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	if (md_deck_close(u.deck) < 0) {
		/* the worker is stuck in a connection attempt and may still
		 * read the config: leave now, freeing nothing */
		write_profile(&u);
		fflush(NULL);
		_exit(rc);
	}
	write_profile(&u);
	for (p = 0; p < 3; p++) {
		free(u.lists[p].rows);
		free(u.lists[p].sel_key);
	}
	ui_preview_clear(&u.pv);
	free(u.pv_key);
	free(u.diff_lines);
	free(u.key_ms);
	free_script(&u);
	return rc;
}
