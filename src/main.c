/* main.c - migdeck's command line front end.
 *
 * Parses the global options, loads the configuration and dispatches to one
 * command.  It only calls the engine (src/); it never talks to libpq or
 * libgit2 itself.
 *
 * Exit codes (src/cli/cli.h): 0 ok, 1 a migration failed, 2 usage or
 * configuration error, 3 validation problem (a SQL file the engine refuses,
 * drift, duplicates...), 4 locked by another runner, 5 cannot connect. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config.h"
#include "flywayconf.h"
#include "script.h"
#include "util.h"
#include "vcs.h"
#include "version.h"


typedef int (*cmd_fn)(cli *c, int argc, char **argv);

static int cmd_statements(cli *c, int argc, char **argv);
static int cmd_config(cli *c, int argc, char **argv);
static int cmd_help(cli *c, int argc, char **argv);
static int cmd_version(cli *c, int argc, char **argv);

/* Every command once: name, handler, needs the configuration, one-line help. */
static const struct command {
	const char *name;
	cmd_fn fn;
	int needs_config;
	const char *usage;
	const char *help;
} commands[] = {
	{ "console", cmd_console, 1, "console [--keys FILE]",
	  "the console (also: migdeck with no command on a terminal)" },
	{ "status", cmd_status, 1, "status [--json]",
	  "every migration with its folder and database state" },
	{ "migrate", cmd_migrate, 1,
	  "migrate [--to V] [--dry-run] [--wait[=S]] [--out-of-order] [--confirm-database NAME]\n"
	  "  migrate --group NAME [--jobs N] [--fail-fast] [--json]",
	  "apply pending migrations, each in its own transaction (--group: to every member)" },
	{ "rollback", cmd_rollback, 1, "rollback [--version V | --steps N] [--dry-run] [--confirm-database NAME]",
	  "run the paired rollback of the latest (or named) applied migration" },
	{ "validate", cmd_validate, 1, "validate [--json] [--offline]",
	  "checksums, pairs, duplicates, misplaced and mixed files; exit 3 on a problem" },
	{ "create", cmd_create, 1, "create NAME [--description T] [--style S]",
	  "write a new forward and rollback file in pending/" },
	{ "baseline", cmd_baseline, 1, "baseline --version V",
	  "record everything up to V as applied without running it" },
	{ "repair", cmd_repair, 1, "repair [--yes] [--dry-run]",
	  "delete failed rows, realign checksums, move misplaced files" },
	{ "commit", cmd_commit, 1, "commit [--dry-run]",
	  "commit to git the file moves left uncommitted (git off, or a commit that failed)" },
	{ "adopt", cmd_adopt, 1, "adopt [--yes] [--json]",
	  "take over Flyway's or a schema_migrations history table (writes only with --yes)" },
	{ "info", cmd_status, 1, "info [--json]", "Flyway's name for status" },
	{ "undo", cmd_rollback, 1, "undo [--version V | --steps N] [--dry-run]",
	  "Flyway's name for rollback: runs the U file of the latest applied version" },
	{ "clean", cmd_clean, 1, "clean [--yes]",
	  "Flyway's clean: drop the schemas' objects (needs flyway.cleanDisabled=false)" },
	{ "diff", cmd_diff, 1, "diff --schema|--git|--drift FILE [--json]",
	  "what a migration changes in the schema, in git, since applied (doc/diff.md)" },
	{ "schema", cmd_schema, 1, "schema [--json]",
	  "the canonical snapshot of the database's schema" },
	{ "backups", cmd_backups, 1, "backups [--json]",
	  "the pg_dump backups taken before production changes, newest first" },
	{ "restore", cmd_restore, 1, "restore FILE --scratch[=local|server] [--json]",
	  "restore a backup into a throwaway database and print its schema snapshot" },
	{ "log", cmd_log, 1, "log [--target NAME] [--version V] [--since T] [--json]",
	  "the event table, newest first: who, from where, what, outcome, commit, backup" },
	{ "statements", cmd_statements, 1, "statements [--json] FILE...",
	  "split SQL files as psql would: line:col, flags and first line of each" },
	{ "config", cmd_config, 1, "config",
	  "print the effective settings and where each comes from (passwords masked)" },
	{ "help", cmd_help, 0, "help [COMMAND]", "this help, or one command's" },
	{ "version", cmd_version, 0, "version", "print the version" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: migdeck [OPTIONS] COMMAND [ARGS]\n"
		"       migdeck [OPTIONS]             (the console)\n"
		"\n"
		"Step PostgreSQL schema migrations through pending, applied and archived.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		if (strlen(commands[i].usage) <= 30)
			fprintf(out, "  %-30s %s\n", commands[i].usage, commands[i].help);
		else
			fprintf(out, "  %s\n  %-30s %s\n", commands[i].usage, "", commands[i].help);
	fprintf(out,
		"\n"
		"Options (before or after the command):\n"
		"  -c, --config FILE         settings file (default: ./migdeck.ini if present)\n"
		"  -d, --url, --database URL postgres:// URL or libpq conninfo; wins over\n"
		"                            DATABASE_URL, PG* variables and the ini\n"
		"  -o, --set SECTION.KEY=VALUE\n"
		"                            override one setting (repeatable)\n"
		"  -t, --target NAME         run against [target.NAME] (also MIGDECK_TARGET;\n"
		"                            default: [workspace] tracks)\n"
		"  -y, --yes                 never prompt: answer yes (without a terminal,\n"
		"                            what needs a confirmation is refused without it)\n"
		"  -v, --verbose             each statement as it runs\n"
		"  -q, --quiet               only errors\n"
		"      --no-color            no colour (also NO_COLOR)\n"
		"      --json                machine-readable output where the command has it\n"
		"  -h, --help                this help\n"
		"  -V, --version             the version\n"
		"\n"
		"Passwords come from PGPASSWORD, ~/.pgpass or a service file; they are never\n"
		"printed.  Exit status: 0 ok, 1 a migration failed, 2 usage or settings,\n"
		"3 validation problem, 4 locked by another runner, 5 cannot connect.\n"
		"With no command on a terminal: the console (? there lists its keys); see migdeck(1).\n");
}

/* ---- statements ------------------------------------------------------------ */

static const char *lookup_placeholder(const char *name, void *payload)
{
	return md_config_placeholder(name, payload);
}

static void print_flags_json(unsigned flags)
{
	char text[256], *tok, *save = NULL;
	int first = 1;

	md_stmt_flags_text(flags, text, sizeof(text));
	fputc('[', stdout);
	for (tok = strtok_r(text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		printf("%s\"%s\"", first ? "" : ",", tok);
		first = 0;
	}
	fputc(']', stdout);
}

/* First line of the statement from its head, without the line break. */
static size_t first_line_len(const char *b, const md_stmt *st)
{
	const char *nl = memchr(b + st->head, '\n', st->end - st->head);
	size_t n = nl ? (size_t)(nl - (b + st->head)) : st->end - st->head;
	if (n && b[st->head + n - 1] == '\r')
		n--;
	return n;
}

static int statements_file(cli *c, const char *path, int json, int label, int *first_file)
{
	char *buf = NULL;
	size_t len = 0;
	md_error err;
	md_script s;
	md_stmt st;
	int rc, status = EXIT_OK, first = 1;

	if (md_read_file(path, &buf, &len, &err) != MD_OK) {
		cli_print_error(&err);
		return EXIT_INVALID;
	}
	md_script_init(&s, buf, len, path);
	if (label && !json)
		printf("# %s\n", path);
	if (json)
		printf("%s{\"file\":", *first_file ? "" : ",\n");
	if (json) {
		md_json_str(stdout, path, strlen(path));
		printf(",\"statements\":[");
	}
	*first_file = 0;
	while ((rc = md_script_next(&s, &st, &err)) > 0) {
		char flags[256];
		size_t n = first_line_len(buf, &st);

		if (st.flags & MD_STMT_META) {
			fprintf(stderr, "migdeck: %s:%u:%u: psql meta-command %.*s is not supported "
				"(it is never sent to the server)\n",
				path, st.line, st.col, (int)n, buf + st.head);
			status = EXIT_INVALID;
		} else if (st.flags & MD_STMT_PLACEHOLDERS) {
			md_sql sql;
			if (md_sql_render(&sql, &s, &st, lookup_placeholder, c->cfg, &err) < 0) {
				cli_print_error(&err);
				status = EXIT_INVALID;
			}
			md_sql_free(&sql);
		}
		md_stmt_flags_text(st.flags, flags, sizeof(flags));
		if (json) {
			printf("%s\n {\"index\":%u,\"line\":%u,\"col\":%u,\"start\":%zu,\"end\":%zu,\"flags\":",
			       first ? "" : ",", st.index + 1, st.line, st.col, st.start, st.end);
			print_flags_json(st.flags);
			printf(",\"first_line\":");
			md_json_str(stdout, buf + st.head, n);
			printf(",\"sql\":");
			md_json_str(stdout, buf + st.start, st.end - st.start);
			if (st.flags & MD_STMT_COPY_DATA)
				printf(",\"copy_data\":{\"start\":%zu,\"end\":%zu}", st.data_start,
				       st.data_end);
			printf("}");
		} else {
			printf("%u\t%u:%u\t%s\t%.*s\n", st.index + 1, st.line, st.col,
			       flags[0] ? flags : "-", (int)n, buf + st.head);
		}
		first = 0;
	}
	if (json)
		printf("%s]", first ? "" : "\n");
	if (rc < 0) {
		cli_print_error(&err);
		status = EXIT_INVALID;
	}
	if (json) {
		printf(",\"ok\":%s}", status == EXIT_OK ? "true" : "false");
	}
	free(buf);
	return status;
}

static int cmd_statements(cli *c, int argc, char **argv)
{
	int json, i, status = EXIT_OK, first_file = 1, rc;

	rc = cli_parse(c, argc, argv, OPT_JSON,
		       "statements [--json] FILE...\n\n"
		       "Split each FILE exactly as psql would and print one line per statement:\n"
		       "  INDEX <TAB> LINE:COL <TAB> FLAGS <TAB> FIRST LINE OF TEXT\n"
		       "(with several files, each file's lines follow a line '# FILE').\n"
		       "FLAGS is '-' or a comma list of: no-transaction, transaction-control,\n"
		       "psql-meta-command, copy-data, enum-add-value, no-semicolon, placeholders,\n"
		       "empty.  --json prints an array of {file, statements:[{index, line, col,\n"
		       "start, end, flags, first_line, sql, copy_data}], ok}.\n"
		       "Exit 3 when a file cannot be split, uses a psql meta-command or an\n"
		       "undefined ${placeholder}; the error names FILE:LINE:COL.");
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	json = c->json;
	argc = c->npos;
	argv = c->pos;
	optind = 0;
	if (argc < 1) {
		fprintf(stderr, "migdeck statements: no FILE given (try --help)\n");
		return EXIT_USAGE;
	}
	if (json)
		printf("[");
	for (i = optind; i < argc; i++) {
		int frc = statements_file(c, argv[i], json, argc - optind > 1, &first_file);
		if (frc > status)
			status = frc;
	}
	if (json)
		printf("]\n");
	return status;
}

/* ---- config, help, version ------------------------------------------------ */

static int cmd_config(cli *c, int argc, char **argv)
{
	int rc = cli_parse(c, argc, argv, 0, "config");

	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (c->npos) {
		fprintf(stderr, "migdeck config: takes no arguments\n");
		return EXIT_USAGE;
	}
	md_config_print(c->cfg, stdout);
	md_flywayconf_print(c->cfg, stdout); /* a flyway.conf's own switches */
	return EXIT_OK;
}

static int cmd_help(cli *c, int argc, char **argv)
{
	size_t i;
	(void)c;
	if (argc > 1) {
		for (i = 0; i < NCOMMANDS; i++)
			if (strcmp(argv[1], commands[i].name) == 0) {
				printf("usage: migdeck %s\n\n%s\n", commands[i].usage, commands[i].help);
				return EXIT_OK;
			}
		fprintf(stderr, "migdeck help: unknown command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	usage(stdout);
	return EXIT_OK;
}

static int cmd_version(cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	printf("migdeck %s\n", MIGDECK_VERSION);
	return EXIT_OK;
}

/* ---- main -------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "database", required_argument, NULL, 'd' },
		{ "url", required_argument, NULL, 'd' },
		{ "set", required_argument, NULL, 'o' },
		{ "target", required_argument, NULL, 't' },
		{ "yes", no_argument, NULL, 'y' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	cli c;
	const struct command *cmd = NULL;
	int opt, rc;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.color = getenv("NO_COLOR") == NULL || !*getenv("NO_COLOR");
	c.overrides = calloc((size_t)argc + 1, sizeof(*c.overrides));
	if (!c.overrides)
		return EXIT_USAGE;
	while ((opt = getopt_long(argc, argv, "+c:d:o:t:yvqjhV", lo, NULL)) != -1) {
		switch (opt) {
		case 'c': c.opts.config_path = optarg; break;
		case 't': c.opts.target = optarg; break;
		case 'd': c.opts.database = optarg; break;
		case 'o': c.overrides[c.noverrides++] = optarg; break;
		case 'y': c.yes = 1; break;
		case 'v': c.verbose = 1; break;
		case 'q': c.quiet = 1; break;
		case 'C': c.color = 0; break;
		case 'j': c.json = 1; break;
		case 'h': usage(stdout); free(c.overrides); return EXIT_OK;
		case 'V': free(c.overrides); return cmd_version(&c, 0, NULL);
		default:
			fprintf(stderr, "try 'migdeck --help'\n");
			free(c.overrides);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		/* no command: the console on a terminal (or with a key script) */
		if ((isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) ||
		    (getenv("MIGDECK_KEYS") && *getenv("MIGDECK_KEYS"))) {
			char *cargv[] = { (char *)"console", NULL };

			c.want_config = 1;
			md_vcs_init();
			rc = cmd_console(&c, 1, cargv);
			md_vcs_shutdown();
			md_config_free(c.cfg);
			free(c.overrides);
			return rc;
		}
		usage(stderr);
		free(c.overrides);
		return EXIT_USAGE;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "migdeck: unknown command '%s' (try 'migdeck --help')\n", argv[optind]);
		free(c.overrides);
		return EXIT_USAGE;
	}
	c.want_config = cmd->needs_config;
	md_vcs_init();
	rc = cmd->fn(&c, argc - optind, argv + optind);
	md_vcs_shutdown();
	md_config_free(c.cfg);
	free(c.overrides);
	return rc;
}
