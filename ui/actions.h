/* actions.h - every action of the console, once.
 *
 *   X(ID, name, default keys, hint, help)
 *
 * The one list makes the enum, the names a [keys] section of migdeck.ini
 * binds (`down = j <Down> ^N`), the help screen, and the key hints of the
 * status line (hint: its short label there, or NULL), so they cannot drift
 * apart.  Key notation: a character stands for itself, ^X is Ctrl-X,
 * <Name> a special key (see keys.c). */
#ifndef MIGDECK_UI_ACTIONS_H
#define MIGDECK_UI_ACTIONS_H

#define UI_ACTIONS(X)                                                              \
	X(UP, "up", "k <Up>", NULL, "move up a row (scroll up in the preview)")        \
	X(DOWN, "down", "j <Down>", "move", "move down a row (scroll down in the preview)") \
	X(LEFT, "left", "h <Left>", NULL, "focus the pane on the left (previous tab)")  \
	X(RIGHT, "right", "l <Right>", NULL, "focus the pane on the right (next tab)")  \
	X(TOP, "top", "g <Home>", NULL, "go to the first row")                          \
	X(BOTTOM, "bottom", "G <End>", NULL, "go to the last row")                      \
	X(HALF_DOWN, "half-page-down", "^D <PgDn>", NULL, "move down half a page")      \
	X(HALF_UP, "half-page-up", "^U <PgUp>", NULL, "move up half a page")            \
	X(NEXT_PANE, "next-pane", "<Tab>", "pane", "focus the next pane (next tab)")    \
	X(PREV_PANE, "prev-pane", "<S-Tab>", NULL, "focus the previous pane")           \
	X(MAXIMIZE, "maximize", "<Enter>", "full", "show the preview full screen, or go back") \
	X(PAIR, "pair", "p", "pair", "preview the rollback pair of the file (again: the file)") \
	X(DIFF, "diff", "d", "diff", "cycle the preview: the file, its schema diff, git diff, drift") \
	X(STEP, "step", "s", "step", "step through the selected migration (an applied one: its rollback)") \
	X(APPLY, "apply", "a", "apply", "apply the pending migrations up to the selected one, without stepping") \
	X(ROLLBACK, "rollback", "u", "undo", "roll back the selected applied migration with its pair (asks first)") \
	X(MOVE, "move", "m", "move", "move the selected file to another folder, if the database agrees") \
	X(TARGET, "target", "t", "target", "switch to another [target.NAME] (a chooser; Enter switches)") \
	X(FLEET, "fleet", "F", "fleet", "a group's fleet: each member's version, pending, last outcome") \
	X(STEP_NEXT, "step-next", "n", "next", "in the stepper: run the next statement") \
	X(STEP_ALL, "step-all", "a", "all", "in the stepper: run every statement left") \
	X(STEP_COMMIT, "step-commit", "c", "commit", "in the stepper: record, COMMIT, move the file, commit the move") \
	X(STEP_ABORT, "step-abort", "x", "abort", "in the stepper: ROLLBACK, nothing recorded") \
	X(SEARCH, "search", "/", "search", "search file names (case-insensitive)")     \
	X(NEXT_MATCH, "next-match", "n", NULL, "go to the next match of the search")    \
	X(PREV_MATCH, "prev-match", "N", NULL, "go to the previous match")              \
	X(REFRESH, "refresh", "r", "refresh", "reload the folders and the database")   \
	X(HELP, "help", "?", "help", "this help")                                        \
	X(BACK, "back", "<Esc>", NULL, "close the help or the full-screen preview")     \
	X(QUIT, "quit", "q", "quit", "quit (closes the help or full screen first)")

#define UI_ACTION_ENUM_(id, name, keys, hint, help) UI_##id,
typedef enum ui_action {
	UI_NONE = 0,
	UI_ACTIONS(UI_ACTION_ENUM_)
	UI_NACTIONS
} ui_action;
#undef UI_ACTION_ENUM_

typedef struct ui_action_info {
	const char *name;
	const char *keys;  /* default bindings */
	const char *hint;
	const char *help;
} ui_action_info;

/* Indexed by ui_action (entry 0 is UI_NONE). */
extern const ui_action_info ui_actions[UI_NACTIONS];

#endif
