/* console.c - `migdeck console` (and `migdeck` with no command on a
 * terminal): hands the configuration to the curses console in ui/. */
#include <stdio.h>

#include "cli.h"

#include "ui/console.h"

int cmd_console(cli *c, int argc, char **argv)
{
	ui_opts o = { 0 };
	int rc = cli_parse(c, argc, argv, OPT_KEYS,
			   "console [--keys FILE] [--no-color]\n\n"
			   "The console: pending, applied and archive beside the database, with a\n"
			   "SQL preview.  ? in the console lists every key.  --keys FILE reads keys\n"
			   "from a key script instead of the terminal (see doc/console.md).");

	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (c->npos) {
		fprintf(stderr, "migdeck console: takes no arguments\n");
		return EXIT_USAGE;
	}
	o.keys_path = c->keys;
	o.no_color = !c->color;
	return ui_console_run(c->cfg, &o);
}
