/* adopt.c - `migdeck adopt`: show what another tool's history table says
 * and, with --yes, record it in migdeck's own history (src/adopt.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adopt.h"
#include "cli.h"
#include "flywayconf.h"
#include "db.h"
#include "history.h"
#include "runner.h"
#include "util.h"
#include "workspace.h"

static void print_item(const md_adopt *a, const md_adopt_item *it)
{
	char sum[64];
	const char *file = it->file ? it->file->name : "(no file)";

	if (it->sum == MD_SUM_DIFFER)
		snprintf(sum, sizeof(sum), "differs");
	else if (it->sum == MD_SUM_AGREE)
		snprintf(sum, sizeof(sum), "agrees");
	else if (it->sum == MD_SUM_NO_FILE)
		snprintf(sum, sizeof(sum), "no file");
	else
		snprintf(sum, sizeof(sum), "-");
	printf("  %-18s %-9s %-9s %s%s\n", it->version, md_adopt_state_name(it->state), sum, file,
	       it->already ? "  [already in migdeck's history: left as it is]" : "");
	(void)a;
}

static void warn_items(const md_adopt *a);

static void report(cli *c, const md_adopt *a, const md_workspace *ws)
{
	const md_foreign *fr = &a->foreign;
	size_t i;

	printf("Found: %s history table %s.%s (%lld row%s)\n", md_foreign_tool_name(fr->tool),
	       fr->schema, fr->table, fr->nrows, fr->nrows == 1 ? "" : "s");
	printf("Files: %zu migration%s (%s naming), %zu matched, %zu not run yet\n",
	       ws->nfiles, ws->nfiles == 1 ? "" : "s", md_style_name(ws->style),
	       a->n - a->nmissing - a->nbaseline, a->npending);
	if (fr->tool == MD_FOREIGN_FLYWAY)
		printf("Checksums (Flyway CRC32): %zu agree, %zu differ, %zu without a file\n",
		       a->nagree, a->ndiffer, a->nmissing);
	else
		printf("Checksums: %s records none; files are taken as they are\n",
		       md_foreign_tool_name(fr->tool));
	printf("Will record in %s.%s:\n", c->cfg->history_schema, c->cfg->history_table);
	printf("  %-18s %-9s %-9s %s\n", "VERSION", "STATE", "CHECKSUM", "FILE");
	for (i = 0; i < a->n; i++)
		print_item(a, &a->items[i]);
	printf("Summary: %zu applied, %zu failed, %zu undone, %zu baseline, %zu missing file, "
	       "%zu already recorded\n",
	       a->napplied, a->nfailed, a->nundone, a->nbaseline, a->nmissing, a->nalready);
	warn_items(a);
}

/* The warnings that go with a report (stderr, also with --json). */
static void warn_items(const md_adopt *a)
{
	const md_foreign *fr = &a->foreign;
	size_t i;

	for (i = 0; i < a->n; i++) {
		const md_adopt_item *it = &a->items[i];
		if (it->sum == MD_SUM_DIFFER)
			fprintf(stderr, "migdeck: warning: %s: changed since %s ran it (checksum %d, "
				"recorded %d): status and validate will say so until migdeck repair "
				"realigns it\n",
				md_show_path(it->file->path), md_foreign_tool_name(fr->tool),
				(int)it->file_crc, (int)it->row->checksum);
		if (it->state == MD_ADOPT_FAILED)
			fprintf(stderr, "migdeck: warning: version %s: its last run under %s failed%s: "
				"recorded as failed (migdeck repair clears it)\n",
				it->version, md_foreign_tool_name(fr->tool),
				fr->tool == MD_FOREIGN_GOLANG ? " (dirty)" : "");
	}
}

/* ---- --json ---------------------------------------------------------------------- */

static void jstr(const char *key, const char *val, int comma)
{
	printf("%s\"%s\":", comma ? "," : "", key);
	if (val)
		md_json_str(stdout, val, strlen(val));
	else
		printf("null");
}

/* One object: what adopt found and would record (or recorded); doc/cli.md.
 * a and ws are NULL when there is nothing to adopt. */
static void report_json(cli *c, const md_adopt *a, const md_workspace *ws, int written,
			size_t recorded)
{
	const md_foreign *fr = a ? &a->foreign : NULL;
	size_t i;

	printf("{\"foreign\":");
	if (fr) {
		printf("{");
		jstr("tool", md_foreign_tool_name(fr->tool), 0);
		jstr("schema", fr->schema, 1);
		jstr("table", fr->table, 1);
		printf(",\"rows\":%lld}", fr->nrows);
	} else {
		printf("null");
	}
	printf(",\"history\":{");
	jstr("schema", c->cfg->history_schema, 0);
	jstr("table", c->cfg->history_table, 1);
	printf("},\"files\":");
	if (a && ws) {
		printf("{\"total\":%zu,", ws->nfiles);
		jstr("style", md_style_name(ws->style), 0);
		printf(",\"matched\":%zu,\"pending\":%zu}", a->n - a->nmissing - a->nbaseline,
		       a->npending);
	} else {
		printf("null");
	}
	printf(",\"checksums\":");
	if (fr && fr->tool == MD_FOREIGN_FLYWAY)
		printf("{\"kind\":\"flyway-crc32\",\"agree\":%zu,\"differ\":%zu,\"no_file\":%zu}",
		       a->nagree, a->ndiffer, a->nmissing);
	else
		printf("null");
	printf(",\"items\":[");
	for (i = 0; a && i < a->n; i++) {
		const md_adopt_item *it = &a->items[i];

		printf("%s\n {", i ? "," : "");
		jstr("version", it->version, 0);
		jstr("state", md_adopt_state_name(it->state), 1);
		jstr("checksum", it->sum == MD_SUM_NONE ? NULL : md_adopt_sum_name(it->sum), 1);
		if (it->row && it->row->has_checksum)
			printf(",\"recorded_checksum\":%d", (int)it->row->checksum);
		else
			printf(",\"recorded_checksum\":null");
		if (fr->tool == MD_FOREIGN_FLYWAY && it->file)
			printf(",\"file_checksum\":%d", (int)it->file_crc);
		else
			printf(",\"file_checksum\":null");
		jstr("file", it->file ? md_show_path(it->file->path) : NULL, 1);
		printf(",\"already\":%s}", it->already ? "true" : "false");
	}
	printf("%s]", a && a->n ? "\n" : "");
	if (a)
		printf(",\"summary\":{\"applied\":%zu,\"failed\":%zu,\"undone\":%zu,"
		       "\"baseline\":%zu,\"missing_file\":%zu,\"already\":%zu}",
		       a->napplied, a->nfailed, a->nundone, a->nbaseline, a->nmissing, a->nalready);
	else
		printf(",\"summary\":null");
	printf(",\"written\":%s,\"recorded\":%zu,\"mirror\":%s}\n", written ? "true" : "false",
	       recorded, c->cfg->history_mirror ? "true" : "false");
}

/* Read the workspace, migdeck's history and the foreign table; plan. */
static int gather(cli *c, md_db *db, const md_foreign *fr, md_workspace **ws, md_history **own,
		  md_foreign_rows **rows, md_adopt **a)
{
	md_error err;
	md_status rc;

	if ((rc = md_workspace_scan(ws, c->cfg, &err)) != MD_OK ||
	    (rc = md_history_load(db, c->cfg, own, &err)) != MD_OK ||
	    (rc = md_foreign_load(db, fr, rows, &err)) != MD_OK ||
	    (rc = md_adopt_build(a, fr, *rows, *ws, *own, &err)) != MD_OK) {
		cli_print_error(&err);
		return cli_exit_code(rc);
	}
	return 0;
}

static void release(md_workspace **ws, md_history **own, md_foreign_rows **rows, md_adopt **a)
{
	md_adopt_free(*a);
	md_foreign_rows_free(*rows);
	md_history_free(*own);
	md_workspace_free(*ws);
	*a = NULL;
	*rows = NULL;
	*own = NULL;
	*ws = NULL;
}

int cmd_adopt(cli *c, int argc, char **argv)
{
	md_db *db = NULL;
	md_workspace *ws = NULL;
	md_history *own = NULL;
	md_foreign_rows *rows = NULL;
	md_adopt *a = NULL;
	md_foreign fr;
	md_error err;
	md_status st;
	size_t recorded = 0;
	int rc;

	if ((rc = cli_parse(c, argc, argv, OPT_YES | OPT_WAIT | OPT_JSON,
			    "adopt [--yes] [--json] [--wait[=SECONDS]]\n\n"
			    "Find another tool's history table (Flyway's flyway_schema_history;\n"
			    "schema_migrations of golang-migrate, dbmate or a numbered-file project)\n"
			    "in the history schema, match its rows to the files, check Flyway's\n"
			    "checksums, and show what migdeck would record in its own history.\n"
			    "--yes records it (in one transaction); the other table is never\n"
			    "written.  --json prints one object (doc/cli.md).  See doc/adopt.md.")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (c->npos) {
		fprintf(stderr, "migdeck adopt: unexpected argument '%s'\n", c->pos[0]);
		return EXIT_USAGE;
	}
	if ((st = cli_connect(c, &db, &err)) != MD_OK) {
		cli_print_error(&err);
		return cli_exit_code(st);
	}
	if ((st = md_foreign_detect(db, c->cfg, &fr, &err)) != MD_OK) {
		cli_print_error(&err);
		rc = cli_exit_code(st);
		goto done;
	}
	if (fr.tool == MD_FOREIGN_NONE && c->json) {
		report_json(c, NULL, NULL, 0, 0);
		rc = EXIT_OK;
		goto done;
	}
	if (fr.tool == MD_FOREIGN_NONE) {
		printf("Nothing to adopt: no flyway_schema_history or schema_migrations table in "
		       "schema %s; %s.%s is migdeck's own history table (the CRM schema_versions "
		       "shape is used as it is)\n",
		       c->cfg->foreign_schema ? c->cfg->foreign_schema : c->cfg->history_schema,
		       c->cfg->history_schema, c->cfg->history_table);
		rc = EXIT_OK;
		goto done;
	}
	if ((rc = gather(c, db, &fr, &ws, &own, &rows, &a)) != 0)
		goto done;
	if (c->json && !c->yes)
		warn_items(a);
	else if (!c->json)
		report(c, a, ws);
	if (!c->yes && c->json) {
		report_json(c, a, ws, 0, 0);
		rc = EXIT_OK;
		goto done;
	}
	if (!c->yes) {
		printf("Nothing written: run migdeck adopt --yes to record this in %s.%s "
		       "(%s.%s is never written)\n",
		       c->cfg->history_schema, c->cfg->history_table, fr.schema, fr.table);
		rc = EXIT_OK;
		goto done;
	}
	/* under the runner lock, with the bookkeeping ready: read again (a
	 * runner that held the lock may have changed things) and record */
	release(&ws, &own, &rows, &a);
	if ((st = md_db_lock(db, c->cfg->history_schema, c->cfg->history_table, c->wait, &err)) !=
		    MD_OK ||
	    (st = md_history_ensure(db, c->cfg, &err)) != MD_OK) {
		cli_print_error(&err);
		rc = cli_exit_code(st);
		goto done;
	}
	if ((rc = gather(c, db, &fr, &ws, &own, &rows, &a)) != 0)
		goto done;
	if (c->json)
		warn_items(a);
	if ((st = md_adopt_record(db, c->cfg, a, &recorded, &err)) != MD_OK) {
		cli_print_error(&err);
		fprintf(stderr, "migdeck: adopt: nothing was recorded\n");
		rc = EXIT_FAILED;
		goto done;
	}
	if (c->json) {
		report_json(c, a, ws, 1, recorded);
		rc = EXIT_OK;
		goto done;
	}
	printf("Adopted: %zu row%s recorded in %s.%s, %zu already there; %s.%s left untouched\n",
	       recorded, recorded == 1 ? "" : "s", c->cfg->history_schema, c->cfg->history_table,
	       a->nalready, fr.schema, fr.table);
	if (c->cfg->history_mirror)
		printf("Mirror: on: each apply, rollback and repair also writes %s.%s, as %s would\n",
		       fr.schema, fr.table, md_foreign_tool_name(fr.tool));
	else
		printf("Mirror: off: migdeck writes only %s.%s from now on, and refuses to run while "
		       "%s.%s changes\n",
		       c->cfg->history_schema, c->cfg->history_table, fr.schema, fr.table);
	rc = EXIT_OK;
done:
	release(&ws, &own, &rows, &a);
	md_db_close(db);
	return rc;
}

/* ---- clean (Flyway's) ------------------------------------------------------------- */

int cmd_clean(cli *c, int argc, char **argv)
{
	const char *fallback[2] = { NULL, NULL };
	const char *const *schemas;
	md_db *db = NULL;
	md_error err;
	md_status st;
	char question[1024];
	size_t i, used = 0;
	int rc;

	if ((rc = cli_parse(c, argc, argv, OPT_YES | OPT_WAIT,
			    "clean [--yes]\n\n"
			    "Flyway's clean: drop every object of the schemas of flyway.conf\n"
			    "(flyway.schemas, else the history schema), history tables included.\n"
			    "Refused unless flyway.cleanDisabled=false, and always on a production\n"
			    "target (a database or host name with \"prod\" in it, or\n"
			    "MIGDECK_PRODUCTION=1).  Asks for a confirmation (--yes).")) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (c->npos) {
		fprintf(stderr, "migdeck clean: unexpected argument '%s'\n", c->pos[0]);
		return EXIT_USAGE;
	}
	if (!c->cfg->flyway || c->cfg->flyway->clean_disabled) {
		fprintf(stderr, "migdeck: clean is disabled: %s\n",
			c->cfg->flyway ? "set flyway.cleanDisabled=false in the flyway.conf to allow it"
				       : "it is Flyway's command, allowed only by flyway.cleanDisabled=false "
					 "in a flyway.conf");
		return EXIT_INVALID;
	}
	schemas = (const char *const *)c->cfg->flyway->schemas;
	if (!schemas || !schemas[0]) {
		fallback[0] = c->cfg->history_schema;
		schemas = fallback;
	}
	if ((st = cli_connect(c, &db, &err)) != MD_OK) {
		cli_print_error(&err);
		return cli_exit_code(st);
	}
	if (c->cfg->production || md_target_is_production(db)) {
		fprintf(stderr, "migdeck: clean refused: %s is a production target (nothing was "
			"changed)\n", db->target[0] ? db->target : "the database");
		md_db_close(db);
		return EXIT_INVALID;
	}
	used = (size_t)snprintf(question, sizeof(question), "Drop everything in schema");
	for (i = 0; schemas[i] && used < sizeof(question); i++)
		used += (size_t)snprintf(question + used, sizeof(question) - used, "%s %s",
					 i ? "," : "", schemas[i]);
	if (used < sizeof(question))
		snprintf(question + used, sizeof(question) - used, " on %s?",
			 db->target[0] ? db->target : "the database");
	if (!cli_confirm(c, question)) {
		fprintf(stderr, "migdeck: clean: nothing was changed\n");
		md_db_close(db);
		return EXIT_INVALID;
	}
	if ((st = md_db_lock(db, c->cfg->history_schema, c->cfg->history_table, c->wait, &err)) !=
		    MD_OK ||
	    (st = md_clean_schemas(db, schemas, &err)) != MD_OK) {
		cli_print_error(&err);
		md_db_close(db);
		return cli_exit_code(st);
	}
	for (i = 0; schemas[i]; i++)
		printf("Cleaned: schema %s (every object dropped)\n", schemas[i]);
	md_db_close(db);
	return EXIT_OK;
}
