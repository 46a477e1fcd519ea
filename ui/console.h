/* console.h - the curses console: `migdeck` with no command on a terminal.
 * A view over the engine (src/deck.h and the script engine); nothing in
 * ui/ calls libpq or libgit2. */
#ifndef MIGDECK_UI_CONSOLE_H
#define MIGDECK_UI_CONSOLE_H

#include "config.h"

typedef struct ui_opts {
	const char *keys_path;    /* a key script: read keys from it instead of
	                             the terminal (no terminal needed), waiting
	                             for loading to finish before each key;
	                             NULL: $MIGDECK_KEYS */
	const char *dump_dir;     /* where :save-display writes (NULL: $MIGDECK_DUMP_DIR,
	                             else the working directory) */
	const char *profile_path; /* timings and peak memory on exit (NULL:
	                             $MIGDECK_PROFILE) */
	int no_color;             /* also when $NO_COLOR is set and not empty */
} ui_opts;

/* Run the console until the operator quits.  Returns an exit code: 0, 2
 * for a bad [keys] setting or key script (message on stderr, before the
 * screen is taken), 5 when the terminal cannot be used. */
int ui_console_run(const md_config *cfg, const ui_opts *opts);

#endif
