/* cli.c - option parsing, exit codes, errors and confirmations shared by
 * the commands. */
#include "cli.h"

#include "backup.h"
#include "db.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void warn_cb(const char *msg, void *payload)
{
	(void)payload;
	fprintf(stderr, "migdeck: warning: %s\n", msg);
}

int cli_parse(cli *c, int argc, char **argv, unsigned allowed, const char *usage)
{
	enum { L_WAIT = 1000, L_DRY, L_TO, L_VERSION, L_STEPS, L_DESC, L_STYLE, L_OOO, L_OFFLINE,
	       L_NOCOLOR, L_KEYS, L_CONFIRM_DB, L_GROUP, L_JOBS, L_FAIL_FAST, L_SINCE,
	       L_SCRATCH };
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "database", required_argument, NULL, 'd' },
		{ "url", required_argument, NULL, 'd' },
		{ "set", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "yes", no_argument, NULL, 'y' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-color", no_argument, NULL, L_NOCOLOR },
		{ "wait", optional_argument, NULL, L_WAIT },
		{ "dry-run", no_argument, NULL, L_DRY },
		{ "to", required_argument, NULL, L_TO },
		{ "version", required_argument, NULL, L_VERSION },
		{ "steps", required_argument, NULL, L_STEPS },
		{ "description", required_argument, NULL, L_DESC },
		{ "style", required_argument, NULL, L_STYLE },
		{ "out-of-order", no_argument, NULL, L_OOO },
		{ "offline", no_argument, NULL, L_OFFLINE },
		{ "keys", required_argument, NULL, L_KEYS },
		{ "confirm-database", required_argument, NULL, L_CONFIRM_DB },
		{ "target", required_argument, NULL, 't' },
		{ "group", required_argument, NULL, L_GROUP },
		{ "jobs", required_argument, NULL, L_JOBS },
		{ "fail-fast", no_argument, NULL, L_FAIL_FAST },
		{ "since", required_argument, NULL, L_SINCE },
		{ "scratch", optional_argument, NULL, L_SCRATCH },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct { int opt; unsigned bit; } need[] = {
		{ 'j', OPT_JSON }, { 'y', OPT_YES }, { L_WAIT, OPT_WAIT }, { L_DRY, OPT_DRY_RUN },
		{ L_TO, OPT_TO }, { L_VERSION, OPT_VERSION }, { L_STEPS, OPT_STEPS },
		{ L_DESC, OPT_DESCRIPTION }, { L_STYLE, OPT_STYLE }, { L_OOO, OPT_OUT_OF_ORDER },
		{ L_OFFLINE, OPT_OFFLINE }, { L_KEYS, OPT_KEYS }, { L_CONFIRM_DB, OPT_CONFIRM_DB },
		{ L_GROUP, OPT_GROUP }, { L_JOBS, OPT_JOBS }, { L_FAIL_FAST, OPT_FAIL_FAST },
		{ L_SINCE, OPT_SINCE }, { L_SCRATCH, OPT_SCRATCH },
	};
	int opt, li;
	size_t i;

	optind = 0; /* 0, not 1: glibc then starts afresh (main parsed with "+") */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:d:o:t:jyvqh", lo, &li)) != -1) {
		char *end = NULL;

		for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
			if (need[i].opt == opt && !(allowed & need[i].bit)) {
				fprintf(stderr, "migdeck %s: %s is not an option of this command\n"
					"usage: migdeck %s\n", argv[0], argv[optind - 1], usage);
				return EXIT_USAGE;
			}
		}
		switch (opt) {
		case 'c': c->opts.config_path = optarg; break;
		case 'd': c->opts.database = optarg; break;
		case 'o': c->overrides[c->noverrides++] = optarg; break;
		case 't': c->opts.target = optarg; break;
		case 'j': c->json = 1; break;
		case 'y': c->yes = 1; break;
		case 'v': c->verbose = 1; break;
		case 'q': c->quiet = 1; break;
		case L_NOCOLOR: c->color = 0; break;
		case L_WAIT:
			c->wait = -1;
			if (optarg) {
				errno = 0;
				c->wait = strtod(optarg, &end);
				if (errno || !end || *end || c->wait < 0) {
					fprintf(stderr, "migdeck %s: --wait=%s: not a number of seconds\n",
						argv[0], optarg);
					return EXIT_USAGE;
				}
			}
			break;
		case L_DRY: c->dry_run = 1; break;
		case L_TO: c->to = optarg; break;
		case L_VERSION: c->version = optarg; break;
		case L_STEPS:
			errno = 0;
			c->steps = strtol(optarg, &end, 10);
			if (errno || !end || *end || c->steps < 1) {
				fprintf(stderr, "migdeck %s: --steps %s: not a positive number\n", argv[0],
					optarg);
				return EXIT_USAGE;
			}
			break;
		case L_DESC: c->description = optarg; break;
		case L_STYLE: c->style = optarg; break;
		case L_OOO: c->out_of_order = 1; break;
		case L_OFFLINE: c->offline = 1; break;
		case L_KEYS: c->keys = optarg; break;
		case L_CONFIRM_DB: c->confirm_database = optarg; break;
		case L_GROUP: c->group = optarg; break;
		case L_JOBS:
			errno = 0;
			c->jobs = strtol(optarg, &end, 10);
			if (errno || !end || *end || c->jobs < 1 || c->jobs > 256) {
				fprintf(stderr, "migdeck %s: --jobs %s: not a number from 1 to 256\n",
					argv[0], optarg);
				return EXIT_USAGE;
			}
			break;
		case L_FAIL_FAST: c->fail_fast = 1; break;
		case L_SINCE: c->since = optarg; break;
		case L_SCRATCH: c->scratch = 1; c->scratch_where = optarg; break;
		case 'h':
			printf("usage: migdeck %s\n", usage);
			return -1;
		default:
			fprintf(stderr, "migdeck %s: unknown option %s\nusage: migdeck %s\n", argv[0],
				argv[optind - 1], usage);
			return EXIT_USAGE;
		}
	}
	c->pos = argv + optind;
	c->npos = argc - optind;
	if (c->want_config && !c->cfg) {
		md_error err;
		c->opts.overrides = c->overrides;
		c->opts.noverrides = c->noverrides;
		c->opts.warn = warn_cb;
		if (md_config_load(&c->cfg, &c->opts, &err) != MD_OK) {
			cli_print_error(&err);
			return EXIT_USAGE;
		}
	}
	return 0;
}

int cli_exit_code(md_status rc)
{
	switch (rc) {
	case MD_OK: return EXIT_OK;
	case MD_ERR_USAGE:
	case MD_ERR_CONFIG: return EXIT_USAGE;
	case MD_ERR_CONNECT: return EXIT_CONNECT;
	case MD_ERR_LOCKED: return EXIT_LOCKED;
	case MD_ERR_SYNTAX:
	case MD_ERR_UNSUPPORTED:
	case MD_ERR_INVALID:
	case MD_ERR_REFUSED: return EXIT_INVALID;
	case MD_ERR_IO:
	case MD_ERR_NOMEM:
	case MD_ERR_DB: return EXIT_FAILED;
	}
	return EXIT_FAILED;
}

static void connect_note(const char *msg, void *payload)
{
	(void)payload;
	fprintf(stderr, "migdeck: %s\n", msg);
	fflush(stderr);
}

md_status cli_connect(cli *c, md_db **db, md_error *err)
{
	return md_db_connect_retry(db, c->cfg, NULL, connect_note, NULL, err);
}

void cli_print_error(const md_error *err)
{
	char buf[2400];

	md_error_format(err, buf, sizeof(buf));
	fprintf(stderr, "migdeck: %s\n", buf);
	if (err->detail[0])
		fprintf(stderr, "DETAIL: %s\n", err->detail);
	if (err->hint[0])
		fprintf(stderr, "HINT: %s\n", err->hint);
	if (err->context[0])
		fprintf(stderr, "CONTEXT: %s\n", err->context);
	if (err->sqlstate[0])
		fprintf(stderr, "SQLSTATE: %s\n", err->sqlstate);
}

int cli_confirm(cli *c, const char *question)
{
	char answer[16];

	if (c->yes)
		return 1;
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
		fprintf(stderr, "migdeck: %s needs a confirmation: run it on a terminal, or add --yes\n",
			question);
		return 0;
	}
	fprintf(stderr, "%s [y/N] ", question);
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin))
		return 0;
	return answer[0] == 'y' || answer[0] == 'Y';
}

int cli_print_run_event(const cli *c, const md_run_event *ev)
{
	switch (ev->kind) {
	case MD_RUN_STATEMENT:
		if (c->verbose) {
			const char *nl = strchr(ev->text, '\n');
			int n = nl ? (int)(nl - ev->text) : (int)strlen(ev->text);

			fprintf(stderr, "  [%u/%u] %.*s%s\n", ev->index + 1, ev->count, n > 100 ? 100 : n,
				ev->text, (nl || n > 100) ? " ..." : "");
		}
		return 1;
	case MD_RUN_STATEMENT_DONE:
		if (c->verbose)
			fprintf(stderr, "        %s (%lld ms)\n", ev->text, ev->ms);
		return 1;
	case MD_RUN_NOTICE:
		if (!c->quiet)
			fprintf(stderr, "%s\n", ev->text);
		return 1;
	case MD_RUN_WARNING:
		fprintf(stderr, "migdeck: warning: %s\n", ev->text);
		return 1;
	case MD_RUN_PROGRESS:
		/* one every [run] progress_interval while a statement runs */
		if (c->verbose) {
			fprintf(stderr, "  progress: %s\n", ev->text);
			fflush(stderr);
		}
		return 1;
	case MD_RUN_BACKUP_PROGRESS:
		/* [database] backup = pg_dump, before the first change */
		if (!c->quiet) {
			fprintf(stderr, "backup: %s\n", ev->text);
			fflush(stderr);
		}
		return 1;
	case MD_RUN_BACKUP_DONE:
		if (!c->quiet) {
			struct stat st;
			char size[32] = "?";

			if (stat(ev->text, &st) == 0)
				md_backup_size_text((long long)st.st_size, size, sizeof(size));
			fprintf(stderr, "backup: %s (%s, %.1f s)\n", md_show_path(ev->text), size,
				(double)ev->ms / 1000.0);
			fflush(stderr);
		}
		return 1;
	default:
		return 0;
	}
}
