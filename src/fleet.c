/* fleet.c - migrate a group of databases or tenant schemas (see fleet.h).
 *
 * Threads: the caller scans the workspace once; the workers only read it
 * (md_plan_build, md_prepare and the runner take it const).  The engine's
 * process-wide lookups (md_show_path's working directory, the OS user and
 * host of the history rows) are made once under pthread_once; HEAD of the
 * workspace is looked up here, once, before the workers start, so no
 * worker calls libgit2 (a member never moves files, so never commits).
 * Everything of a member (config, connection, history, plan, prepared
 * files) lives on its worker and is freed when the member is done. */
#include "fleet.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adopt.h"
#include "db.h"
#include "flywayconf.h"
#include "history.h"
#include "plan.h"
#include "vcs.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *md_fleet_outcome_name(md_fleet_outcome o)
{
	switch (o) {
	case MD_FLEET_NOT_RUN: return "not-run";
	case MD_FLEET_APPLIED: return "applied";
	case MD_FLEET_UP_TO_DATE: return "up-to-date";
	case MD_FLEET_FAILED: return "failed";
	case MD_FLEET_INVALID: return "invalid";
	case MD_FLEET_STOPPED: return "stopped";
	case MD_FLEET_SKIPPED: return "skipped";
	case MD_FLEET_LOCKED: return "locked";
	case MD_FLEET_CONNECT_ERROR: return "connect-error";
	}
	return "?";
}

/* ---- listing the members ------------------------------------------------------ */

void md_fleet_free(md_fleet *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++) {
		free(f->members[i].name);
		free(f->members[i].before);
		free(f->members[i].after);
		free(f->members[i].error);
	}
	free(f->members);
	free(f);
}

static int has_ctrl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int cmp_name_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names 1 to 63 bytes, no control characters, each once.  Returns the
 * index of a bad one (*why set; a duplicate: its second listing), -1 when
 * all are good, -2 when out of memory. */
static long bad_name(const md_fleet *f, const char **why)
{
	const char **sorted, *dup = NULL;
	size_t i, seen = 0;

	for (i = 0; i < f->n; i++) {
		const char *s = f->members[i].name;

		*why = !*s		 ? "an empty name"
		       : strlen(s) > 63 ? "longer than 63 bytes, the PostgreSQL limit for a name"
		       : has_ctrl(s)    ? "a name with a control character"
					: NULL;
		if (*why)
			return (long)i;
	}
	if (!(sorted = malloc((f->n + 1) * sizeof(*sorted))))
		return -2;
	for (i = 0; i < f->n; i++)
		sorted[i] = f->members[i].name;
	qsort(sorted, f->n, sizeof(*sorted), cmp_name_ptr);
	for (i = 1; i < f->n && !dup; i++)
		if (!strcmp(sorted[i - 1], sorted[i]))
			dup = sorted[i];
	free(sorted);
	if (!dup)
		return -1;
	*why = "listed twice";
	for (i = 0; i < f->n; i++)
		if (!strcmp(f->members[i].name, dup) && ++seen == 2)
			return (long)i;
	return -1;
}

static md_status nomem(md_error *err)
{
	return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

/* The group names there are, for an unknown group's hint. */
static void group_names(const md_config *cfg, char *out, size_t outsz)
{
	size_t i, used = 0;
	int n;

	out[0] = '\0';
	for (i = 0; i < cfg->ngroups; i++) {
		n = snprintf(out + used, outsz - used, "%s%s", i ? ", " : "", cfg->groups[i].name);
		if (n < 0 || (size_t)n >= outsz - used)
			break;
		used += (size_t)n;
	}
}

/* The rows of the group's query, run on the group's target. */
static md_status list_by_query(md_fleet *f, md_warn_fn note, void *payload, md_error *err)
{
	const md_cfg_group *g = f->group;
	md_config *cfg = NULL;
	md_db *db = NULL;
	PGresult *res = NULL;
	md_status rc;
	int i, rows;

	if ((rc = md_config_derive(f->base, g->target, NULL, NULL, NULL, &cfg, err)) != MD_OK)
		return rc;
	if ((rc = md_db_connect_retry(&db, cfg, NULL, note, payload, err)) != MD_OK)
		goto done;
	if ((rc = md_db_query(db, &res, g->query, 0, NULL, err)) != MD_OK) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		snprintf(err->file, sizeof(err->file), "%s", f->base->ini_path ? f->base->ini_path : "");
		err->line = g->query_line;
		err->col = g->query_col;
		err->code = rc = MD_ERR_CONFIG;
		snprintf(err->msg, sizeof(err->msg), "[group.%s] query: %.900s", g->name, msg);
		goto done;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 1) {
		rc = md_error_set(err, MD_ERR_CONFIG, f->base->ini_path, g->query_line, g->query_col,
				  "[group.%s] query: must return one column of %s names (it returned %d "
				  "columns)", g->name, g->kind == MD_GROUP_SCHEMAS ? "schema" : "database",
				  PQresultStatus(res) == PGRES_TUPLES_OK ? PQnfields(res) : 0);
		goto done;
	}
	rows = PQntuples(res);
	f->members = calloc((size_t)rows + 1, sizeof(*f->members));
	if (!f->members) {
		rc = nomem(err);
		goto done;
	}
	for (i = 0; i < rows; i++) {
		if (PQgetisnull(res, i, 0)) {
			rc = md_error_set(err, MD_ERR_CONFIG, f->base->ini_path, g->query_line,
					  g->query_col, "[group.%s] query: row %d is NULL, not a %s name",
					  g->name, i + 1,
					  g->kind == MD_GROUP_SCHEMAS ? "schema" : "database");
			goto done;
		}
		if (!(f->members[i].name = strdup(PQgetvalue(res, i, 0)))) {
			rc = nomem(err);
			goto done;
		}
		f->n++;
	}
done:
	PQclear(res);
	md_db_close(db);
	md_config_free(cfg);
	return rc;
}

md_status md_fleet_list(md_fleet **out, const md_config *base, const char *group,
			md_warn_fn note, void *payload, md_error *err)
{
	md_fleet *f;
	const md_cfg_group *g;
	md_status rc = MD_OK;
	const char *why = NULL;
	long bad;
	size_t i;

	*out = NULL;
	md_error_clear(err);
	g = md_config_group(base, group);
	if (!g) {
		rc = md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0, "no group named %s in %s", group,
				  base->ini_path ? base->ini_path : "the settings");
		if (base->ngroups) {
			char names[400];

			group_names(base, names, sizeof(names));
			snprintf(err->hint, sizeof(err->hint), "The groups: %s.", names);
		} else {
			snprintf(err->hint, sizeof(err->hint),
				 "There is no [group.NAME] section: add one (targets = a, b, or "
				 "query = ... with members = databases|schemas).");
		}
		return rc;
	}
	if (!(f = calloc(1, sizeof(*f))))
		return nomem(err);
	f->base = base;
	f->group = g;
	if (g->kind == MD_GROUP_TARGETS) {
		f->members = calloc(g->ntargets + 1, sizeof(*f->members));
		if (!f->members) {
			rc = nomem(err);
			goto fail;
		}
		for (i = 0; i < g->ntargets; i++) {
			const md_cfg_target *t = md_config_target(base, g->targets[i]);

			/* as spelt in its [target.NAME] header */
			if (!(f->members[i].name = strdup(t ? t->name : g->targets[i]))) {
				rc = nomem(err);
				goto fail;
			}
			f->n++;
		}
	} else if ((rc = list_by_query(f, note, payload, err)) != MD_OK) {
		goto fail;
	}
	if ((bad = bad_name(f, &why)) == -2) {
		rc = nomem(err);
		goto fail;
	}
	if (bad >= 0) {
		rc = md_error_set(err, MD_ERR_CONFIG, base->ini_path, g->query_line, g->query_col,
				  "[group.%s]: member %ld (%.100s) is %s", g->name, bad + 1,
				  f->members[bad].name, why);
		goto fail;
	}
	*out = f;
	return MD_OK;
fail:
	md_fleet_free(f);
	return rc;
}

/* A member's own settings. */
static md_status derive_member(const md_fleet *f, const md_fleet_member *m, md_config **out,
			       md_error *err)
{
	const md_cfg_group *g = f->group;

	switch (g->kind) {
	case MD_GROUP_TARGETS:
		return md_config_derive(f->base, m->name, NULL, NULL, m->name, out, err);
	case MD_GROUP_DATABASES:
		return md_config_derive(f->base, g->target, m->name, NULL, m->name, out, err);
	case MD_GROUP_SCHEMAS:
		return md_config_derive(f->base, g->target, NULL, m->name, m->name, out, err);
	}
	return md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0, "unknown group kind");
}

md_status md_fleet_production(const md_fleet *f, size_t *count, const char **first,
			      md_error *err)
{
	md_config *cfg = NULL;
	md_status rc;
	size_t i;

	*count = 0;
	*first = NULL;
	if (!f->n)
		return MD_OK;
	if (f->group->kind != MD_GROUP_TARGETS) {
		/* the members differ from the group's target only in dbname or
		 * schema: one of them says it for all */
		if ((rc = derive_member(f, &f->members[0], &cfg, err)) != MD_OK)
			return rc;
		if (cfg->production) {
			*count = f->n;
			*first = f->members[0].name;
		}
		md_config_free(cfg);
		return MD_OK;
	}
	for (i = 0; i < f->n; i++) {
		if ((rc = derive_member(f, &f->members[i], &cfg, err)) != MD_OK)
			return rc;
		if (cfg->production && !(*count)++)
			*first = f->members[i].name;
		md_config_free(cfg);
		cfg = NULL;
	}
	return MD_OK;
}

/* ---- running ---------------------------------------------------------------------- */

typedef struct fleet_run {
	md_fleet *f;
	const md_workspace *ws;
	const md_fleet_opts *o;
	char head[41];            /* HEAD of the workspace, "" none */
	pthread_mutex_t mu;       /* next, done and the callback */
	size_t next, done;
	atomic_int stop;          /* --fail-fast: a member went wrong */
} fleet_run;

typedef struct member_ctx {
	fleet_run *fr;
	md_fleet_member *m;
} member_ctx;

static void emit(fleet_run *fr, const md_fleet_event *ev)
{
	if (!fr->o->cb)
		return;
	pthread_mutex_lock(&fr->mu);
	fr->o->cb(ev, fr->o->payload);
	pthread_mutex_unlock(&fr->mu);
}

static void emit_note(member_ctx *ctx, const char *text, md_fleet_level level)
{
	md_fleet_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = MD_FLEET_EV_NOTE;
	ev.member = ctx->m;
	ev.total = ctx->fr->f->n;
	ev.text = text;
	ev.level = level;
	emit(ctx->fr, &ev);
}

static void connect_note(const char *msg, void *payload)
{
	emit_note(payload, msg, MD_FLEET_INFO);
}

static void run_cb(const md_run_event *rev, void *payload)
{
	member_ctx *ctx = payload;
	md_fleet_event ev;

	switch (rev->kind) {
	case MD_RUN_NOTICE:
		emit_note(ctx, rev->text, MD_FLEET_NOTICE);
		break;
	case MD_RUN_WARNING:
		emit_note(ctx, rev->text, MD_FLEET_WARNING);
		break;
	case MD_RUN_RETRY:
		emit_note(ctx, rev->text, MD_FLEET_INFO);
		break;
	case MD_RUN_BACKUP_DONE: {
		/* [database] backup = pg_dump on the member: taken by the runner
		 * before its first change */
		char text[4200];

		snprintf(text, sizeof(text), "backup: %s (%.1f s)", md_show_path(rev->text),
			 (double)rev->ms / 1000.0);
		emit_note(ctx, text, MD_FLEET_INFO);
		break;
	}
	case MD_RUN_DONE:
		memset(&ev, 0, sizeof(ev));
		ev.kind = MD_FLEET_EV_RUN;
		ev.member = ctx->m;
		ev.total = ctx->fr->f->n;
		ev.run = rev;
		emit(ctx->fr, &ev);
		break;
	default:
		break;
	}
}

/* One line of err for the record: "file:line:col: msg". */
static void set_error(md_fleet_member *m, const md_error *err, const char *suffix)
{
	char buf[2600];
	char *p;

	md_error_format(err, buf, sizeof(buf));
	if (suffix)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s", suffix);
	for (p = buf; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	free(m->error);
	m->error = strdup(buf);
}

static const char *item_version(const md_plan_item *it)
{
	if (it->file)
		return it->file->version.text[0] ? it->file->version.text : it->file->stem;
	return it->row && it->row->version ? it->row->version : NULL;
}

/* The latest applied versioned migration of the plan (items are in
 * version order, versioned first): its item, or NULL. */
static const md_plan_item *latest_applied(const md_plan *plan)
{
	const md_plan_item *last = NULL;
	size_t i;

	for (i = 0; i < plan->n; i++) {
		const md_plan_item *it = &plan->items[i];

		if (it->file && it->file->kind != MD_KIND_VERSIONED)
			continue;
		if (!it->file && it->row && it->row->kind && !strcmp(it->row->kind, "repeatable"))
			continue;
		if (it->state == MD_STATE_APPLIED || it->state == MD_STATE_MISSING_FILE)
			last = it;
	}
	return last;
}

/* A problem found before anything runs: the first one is kept. */
typedef struct problems {
	md_error first;
	unsigned n;
} problems;

static void problem(problems *pb, const md_error *e)
{
	if (!pb->n++)
		pb->first = *e;
}

static void problemf(problems *pb, const char *file, const char *fmt, const char *arg)
{
	md_error e;

	md_error_clear(&e);
	md_error_set(&e, MD_ERR_INVALID, file, 0, 0, fmt, arg);
	problem(pb, &e);
}

/* What runs on the member, in order, and whether anything stands in the
 * way (as cmd_migrate decides for one database). */
static size_t choose(const fleet_run *fr, const md_config *cfg, const md_plan *plan,
		     const md_file **targets, problems *pb)
{
	const md_workspace *ws = fr->ws;
	size_t i, n = 0;

	for (i = 0; i < plan->n; i++) {
		const md_plan_item *it = &plan->items[i];
		const md_ws_problem *wp = md_workspace_problem_of(ws, it->file);
		const char *path = it->file ? md_show_path(it->file->path) : item_version(it);

		if ((it->flags & MD_PLAN_DRIFT_REAL) && !wp &&
		    !(cfg->flyway && !cfg->flyway->validate_on_migrate))
			problemf(pb, path, "%s", "changed since it was applied; see migdeck validate "
				 "(migdeck repair realigns the checksum)");
		if (wp && (md_plan_item_runs(it) || (it->flags & MD_PLAN_DRIFT))) {
			md_error e;

			md_error_clear(&e);
			md_error_set(&e, MD_ERR_INVALID, NULL, 0, 0, "%s", wp->msg);
			problem(pb, &e);
		}
		if (!md_plan_item_runs(it))
			continue;
		if (fr->o->to && it->file->kind != MD_KIND_REPEATABLE &&
		    md_version_cmp(&it->file->version, fr->o->to) > 0)
			continue;
		if (it->state == MD_STATE_FAILED) {
			problemf(pb, path, "%s", "its last run failed and may have left part of its "
				 "work; check the database, then run migdeck repair");
			continue;
		}
		if ((it->flags & MD_PLAN_OUT_OF_ORDER) && !fr->o->out_of_order) {
			problemf(pb, path, "%s", "older than the newest applied migration; run with "
				 "--out-of-order to apply it anyway");
			continue;
		}
		targets[n++] = it->file;
	}
	return n;
}

/* A worker's connection, kept from one member to the next when both are
 * in the same database (the schemas of one database, two targets naming
 * one): a new server process per member costs more than the migrations
 * of a small member do. */
typedef struct kept_conn {
	md_db *db;
	char *key; /* the connection parameters it was opened with */
} kept_conn;

/* A key holds the password: wiped before it is freed. */
static void key_free(char *key)
{
	if (key) {
		memset(key, 0, strlen(key));
		free(key);
	}
}

static void kept_drop(kept_conn *k)
{
	md_db_close(k->db);
	key_free(k->key);
	k->db = NULL;
	k->key = NULL;
}

/* "keyword=value" lines of the connection cfg opens, the password too
 * (members with different passwords never share a connection); NULL
 * when out of memory (then nothing is kept). */
static char *conn_key(const md_config *cfg)
{
	const char **kw = NULL, **vals = NULL;
	char *out = NULL;
	size_t len = 0, i;
	FILE *f;
	md_error ignore;

	if (md_config_conn_params(cfg, &kw, &vals, &ignore) != MD_OK)
		return NULL;
	f = open_memstream(&out, &len);
	if (f) {
		for (i = 0; kw[i]; i++)
			fprintf(f, "%s=%s\n", kw[i], vals[i] ? vals[i] : "");
		if (fclose(f) != 0) {
			free(out);
			out = NULL;
		}
	}
	md_config_free_params(kw, vals);
	return out;
}

/* The member's connection: the worker's kept one when it goes to the
 * same database and can be made as good as new (md_db_reuse), else a new
 * one (with the member's connect_retries). */
static md_status member_connect(kept_conn *k, const md_config *cfg, char **key, md_db **db,
				member_ctx *ctx, md_error *err)
{
	md_error ignore;

	*key = conn_key(cfg);
	if (k->db && *key && k->key && strcmp(*key, k->key) == 0 &&
	    md_db_reuse(k->db, cfg, &ignore) == MD_OK) {
		*db = k->db;
		k->db = NULL;
		key_free(k->key);
		k->key = NULL;
		return MD_OK;
	}
	kept_drop(k);
	return md_db_connect_retry(db, cfg, NULL, connect_note, ctx, err);
}

/* Done with the member: keep its connection for the worker's next one
 * when it is healthy, idle and unlocked, else close it.  Not through a
 * pooler: a new client connection there costs no server process, and a
 * pooler in session mode would hand the next member what this one left
 * in the session (no DISCARD ALL is sent through a pooler). */
static void member_release(kept_conn *k, md_db *db, char *key)
{
	md_error ignore;

	/* idle first: a lease is released on the heartbeat's connection,
	 * which would wait for a transaction of this one holding its row
	 * (md_db_close ends such a connection before releasing) */
	if (db && key && !md_db_pooled(db) && PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) == PQTRANS_IDLE && md_db_unlock(db, &ignore) == MD_OK &&
	    !db->locked && !db->lease) {
		kept_drop(k);
		k->db = db;
		k->key = key;
		return;
	}
	md_db_close(db);
	key_free(key);
}

static void run_member(fleet_run *fr, md_fleet_member *m, kept_conn *kept)
{
	const md_fleet *f = fr->f;
	member_ctx ctx = { fr, m };
	md_config *cfg = NULL;
	md_db *db = NULL;
	char *key = NULL;
	md_history *hist = NULL;
	md_plan *plan = NULL;
	md_runner run;
	md_foreign mirror;
	md_error err;
	problems pb;
	const md_file **targets = NULL;
	md_prepared **prepared = NULL;
	const md_plan_item *last;
	const char *after = NULL;
	const md_version *after_v = NULL;
	size_t i, n = 0;
	long long t0 = now_ms();
	int in_tx = 0, failed = 0;
	md_status rc;

	memset(&pb, 0, sizeof(pb));
	memset(&mirror, 0, sizeof(mirror));
	memset(&run, 0, sizeof(run));
	md_error_clear(&err);
	if ((rc = derive_member(f, m, &cfg, &err)) != MD_OK) {
		m->outcome = MD_FLEET_INVALID;
		goto fail;
	}
	cfg->tracked = 0; /* a member never moves files (md_config_bind says so too) */
	/* a schema member's search_path is the tenant schema alone (its
	 * [database] schema, set by connecting or md_db_reuse): for the
	 * session, so for a file that runs outside a transaction too, and
	 * with SET LOCAL in each migration's transaction by the runner; an
	 * unqualified name is the tenant's object or an error, never another
	 * schema's */
	if ((rc = member_connect(kept, cfg, &key, &db, &ctx, &err)) != MD_OK) {
		m->outcome = MD_FLEET_CONNECT_ERROR;
		goto fail;
	}
	if ((rc = md_db_lock(db, cfg->history_schema, cfg->history_table, fr->o->wait, &err)) !=
	    MD_OK) {
		m->outcome = rc == MD_ERR_LOCKED ? MD_FLEET_LOCKED : MD_FLEET_FAILED;
		goto fail;
	}
	/* the history first (reading creates nothing): rows of migdeck's own
	 * spare the guard its search for another tool's table (two round
	 * trips a member); a missing table is an empty history, which is what
	 * the bookkeeping created next holds, and an older one that ensure
	 * upgrades keeps its rows */
	if ((rc = md_history_load(db, cfg, &hist, &err)) != MD_OK) {
		m->outcome = MD_FLEET_FAILED;
		goto fail;
	}
	if ((rc = md_adopt_guard(db, cfg, hist, &mirror, &err)) != MD_OK) {
		m->outcome = rc == MD_ERR_REFUSED ? MD_FLEET_INVALID : MD_FLEET_FAILED;
		goto fail;
	}
	if ((rc = md_history_ensure(db, cfg, &err)) != MD_OK ||
	    (rc = md_plan_build(&plan, fr->ws, hist, &err)) != MD_OK) {
		m->outcome = MD_FLEET_FAILED;
		goto fail;
	}
	md_runner_init(&run, db, cfg, fr->ws, run_cb, &ctx);
	run.mirror = mirror;
	/* HEAD, looked up once for all (the history rows' git_commit) */
	memcpy(run.git_commit, fr->head, sizeof(run.git_commit));
	run.git_looked = 1;
	md_run_classify_drift(&run, plan);

	m->known = 1;
	if ((last = latest_applied(plan)) != NULL && item_version(last)) {
		m->before = strdup(item_version(last));
		after = m->before;
		after_v = last->file ? &last->file->version : NULL;
	}
	targets = calloc(plan->n + 1, sizeof(*targets));
	if (!targets) {
		rc = nomem(&err);
		m->outcome = MD_FLEET_FAILED;
		goto fail;
	}
	n = choose(fr, cfg, plan, targets, &pb);
	prepared = calloc(n + 1, sizeof(*prepared));
	if (!prepared) {
		rc = nomem(&err);
		m->outcome = MD_FLEET_FAILED;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		md_error e;

		if (md_prepare(&prepared[i], targets[i]->path, cfg, db->server_version, &e) != MD_OK) {
			problem(&pb, &e);
		} else if (prepared[i]->autocommit && cfg->transaction == MD_TX_ALL) {
			md_error_set(&e, MD_ERR_INVALID, prepared[i]->path, 0, 0,
				     "cannot run inside the one transaction of [run] transaction = "
				     "all (its statements cannot run in a transaction block)");
			problem(&pb, &e);
		}
	}
	if (pb.n) {
		char more[64];

		snprintf(more, sizeof(more), " (and %u more problem%s)", pb.n - 1,
			 pb.n == 2 ? "" : "s");
		err = pb.first;
		m->outcome = MD_FLEET_INVALID;
		set_error(m, &err, pb.n > 1 ? more : NULL);
		goto done;
	}
	if (cfg->transaction == MD_TX_ALL && n) {
		if ((rc = md_runner_begin_all(&run, &err)) != MD_OK) {
			m->outcome = MD_FLEET_FAILED;
			goto fail;
		}
		in_tx = 1;
	}
	for (i = 0; i < n; i++) {
		md_prepared *p = prepared[i];

		if (atomic_load(&fr->stop))
			break;
		prepared[i] = NULL;
		if ((rc = md_run_apply_prepared(&run, targets[i], p, &err)) != MD_OK) {
			failed = 1;
			break;
		}
		m->applied++;
		if (targets[i]->kind == MD_KIND_VERSIONED &&
		    (!after || !after_v || md_version_cmp(&targets[i]->version, after_v) > 0)) {
			after = targets[i]->version.text;
			after_v = &targets[i]->version;
		}
	}
	if (in_tx) {
		if (failed || i < n) {
			md_runner_abort_all(&run);
			m->applied = 0;
			after = m->before;
		} else if ((rc = md_runner_commit_all(&run, targets, n, &err)) != MD_OK) {
			failed = 1;
			m->applied = 0;
			after = m->before;
		}
	}
	if (failed) {
		m->outcome = MD_FLEET_FAILED;
		set_error(m, &err, NULL);
	} else if (i < n) {
		m->outcome = m->applied ? MD_FLEET_STOPPED : MD_FLEET_SKIPPED;
	} else {
		m->outcome = n ? MD_FLEET_APPLIED : MD_FLEET_UP_TO_DATE;
	}
	if (after && !(m->after = strdup(after)))
		m->after = NULL;
	goto done;
fail:
	set_error(m, &err, NULL);
	if (m->before && !m->after)
		m->after = strdup(m->before);
done:
	for (i = 0; prepared && i < n; i++)
		md_prepared_free(prepared[i]);
	free(prepared);
	free(targets);
	md_runner_done(&run);
	md_plan_free(plan);
	md_history_free(hist);
	member_release(kept, db, key);
	md_config_free(cfg);
	m->ms = now_ms() - t0;
}

static int went_wrong(md_fleet_outcome o)
{
	return o != MD_FLEET_APPLIED && o != MD_FLEET_UP_TO_DATE;
}

static void *worker(void *arg)
{
	fleet_run *fr = arg;
	md_fleet_event ev;
	kept_conn kept = { NULL, NULL };

	for (;;) {
		md_fleet_member *m;

		pthread_mutex_lock(&fr->mu);
		if (fr->next >= fr->f->n || atomic_load(&fr->stop)) {
			pthread_mutex_unlock(&fr->mu);
			break;
		}
		m = &fr->f->members[fr->next++];
		pthread_mutex_unlock(&fr->mu);

		run_member(fr, m, &kept);
		if (fr->o->fail_fast && went_wrong(m->outcome) && m->outcome != MD_FLEET_SKIPPED &&
		    m->outcome != MD_FLEET_STOPPED)
			atomic_store(&fr->stop, 1);

		memset(&ev, 0, sizeof(ev));
		ev.kind = MD_FLEET_EV_DONE;
		ev.member = m;
		ev.total = fr->f->n;
		pthread_mutex_lock(&fr->mu);
		ev.done = ++fr->done;
		if (fr->o->cb)
			fr->o->cb(&ev, fr->o->payload);
		pthread_mutex_unlock(&fr->mu);
	}
	kept_drop(&kept);
	return NULL;
}

md_status md_fleet_run(md_fleet *f, const md_workspace *ws, const md_fleet_opts *o,
		       md_error *err)
{
	fleet_run fr;
	pthread_t *th;
	size_t i, nth, started = 0;
	md_error ignore;

	md_error_clear(err);
	memset(&fr, 0, sizeof(fr));
	fr.f = f;
	fr.ws = ws;
	fr.o = o;
	atomic_init(&fr.stop, 0);
	if (!f->n)
		return MD_OK;
	/* HEAD once, here: the workers never call libgit2 */
	if (md_vcs_head(f->base->pending_dir, fr.head, &ignore) <= 0)
		fr.head[0] = '\0';
	/* the process-wide lookups, made once before the threads race */
	(void)md_show_path(ws->dirs[MD_FOLDER_PENDING]);
	nth = o->jobs ? o->jobs : 1;
	if (nth > f->n)
		nth = f->n;
	th = calloc(nth, sizeof(*th));
	if (!th)
		return nomem(err);
	pthread_mutex_init(&fr.mu, NULL);
	for (i = 0; i < nth; i++) {
		if (pthread_create(&th[i], NULL, worker, &fr) != 0)
			break;
		started++;
	}
	if (!started) {
		pthread_mutex_destroy(&fr.mu);
		free(th);
		return md_error_set(err, MD_ERR_IO, NULL, 0, 0, "cannot start a worker thread");
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&fr.mu);
	free(th);
	/* --fail-fast: what no worker started */
	for (i = 0; i < f->n; i++)
		if (f->members[i].outcome == MD_FLEET_NOT_RUN)
			f->members[i].outcome = MD_FLEET_SKIPPED;
	return MD_OK;
}
