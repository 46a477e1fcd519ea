/* stepper.c - a stepped migration on a thread of its own (see stepper.h). */
#include "stepper.h"

#include "db.h"
#include "history.h"
#include "backup.h"
#include "plan.h"
#include "runner.h"
#include "workspace.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct md_stepper {
	const md_config *cfg;
	md_db *db;
	void *canceller;
	md_workspace *ws;
	md_runner run;
	md_step step;
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int cmd, stop;
	int cancel_req;          /* Ctrl-C: stop an "all" between statements too */
	const md_file *f;        /* the forward file, for 'b' (begin on the thread) */
	int rollback;
	/* the state the front end copies */
	md_stepper_view v;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_log(md_stepper *s, const char *text)
{
	char **g = realloc(s->v.log, (s->v.nlog + 1) * sizeof(*g));

	if (!g)
		return;
	s->v.log = g;
	if ((g[s->v.nlog] = strdup(text)) != NULL)
		s->v.nlog++;
}

/* The source line the error points into, for the caret. */
static void set_error(md_stepper *s, const md_error *err)
{
	char msg[1400], full[4200];
	const md_prepared *p = s->step.p;

	md_error_format(err, msg, sizeof(msg));
	snprintf(full, sizeof(full), "%s%s%s%s%s%s%s%s%s", msg, err->detail[0] ? "\nDETAIL: " : "",
		 err->detail, err->hint[0] ? "\nHINT: " : "", err->hint,
		 err->context[0] ? "\nCONTEXT: " : "", err->context,
		 err->sqlstate[0] ? "\nSQLSTATE: " : "", err->sqlstate);
	free(s->v.error);
	s->v.error = strdup(full);
	free(s->v.error_line);
	s->v.error_line = NULL;
	s->v.error_col = 0;
	if (p && p->buf && err->line > 0) {
		const char *b = p->buf, *end = p->buf + p->len;
		unsigned ln = 1;

		while (b < end && ln < err->line) {
			const char *nl = memchr(b, '\n', (size_t)(end - b));

			if (!nl)
				break;
			b = nl + 1;
			ln++;
		}
		if (ln == err->line) {
			const char *nl = memchr(b, '\n', (size_t)(end - b));
			size_t len = nl ? (size_t)(nl - b) : (size_t)(end - b);

			if ((s->v.error_line = malloc(len + 1)) != NULL) {
				memcpy(s->v.error_line, b, len);
				s->v.error_line[len] = '\0';
				s->v.error_col = err->col;
			}
		}
	}
}

/* The runner's events, on the stepper's thread: into the view. */
static void on_event(const md_run_event *ev, void *payload)
{
	md_stepper *s = payload;
	char line[1400];

	pthread_mutex_lock(&s->mu);
	switch (ev->kind) {
	case MD_RUN_STATEMENT:
		s->v.running = (int)s->step.sent;
		s->v.stmt_started = now_s();
		s->v.has_progress = 0;
		break;
	case MD_RUN_PROGRESS:
		if (ev->progress) {
			s->v.progress = *ev->progress;
			s->v.has_progress = 1;
		}
		break;
	case MD_RUN_STATEMENT_DONE:
		if (s->step.sent < s->v.n) {
			md_stepper_stmt *st = &s->v.stmts[s->step.sent];

			st->done = 1;
			snprintf(st->tag, sizeof(st->tag), "%s", ev->text ? ev->text : "");
			st->ms = ev->ms;
			snprintf(line, sizeof(line), "#%u %s (%lld ms)", s->step.sent + 1, st->tag,
				 ev->ms);
			add_log(s, line);
		}
		s->v.running = -1;
		s->v.has_progress = 0;
		break;
	case MD_RUN_NOTICE:
	case MD_RUN_WARNING:
		snprintf(line, sizeof(line), "%s%s", ev->kind == MD_RUN_WARNING ? "warning: " : "",
			 ev->text ? ev->text : "");
		add_log(s, line);
		break;
	case MD_RUN_FAILED:
		if (ev->err)
			set_error(s, ev->err);
		s->v.running = -1;
		s->v.has_progress = 0;
		break;
	case MD_RUN_MOVED:
		snprintf(line, sizeof(line), "moved %s", ev->text ? ev->text : "");
		add_log(s, line);
		break;
	case MD_RUN_COMMITTED:
		snprintf(line, sizeof(line), "git commit %.12s", ev->text ? ev->text : "");
		add_log(s, line);
		break;
	case MD_RUN_DONE:
		snprintf(line, sizeof(line), "committed: %s recorded (%lld ms)", ev->file->name,
			 ev->ms);
		add_log(s, line);
		break;
	case MD_RUN_BACKUP_PROGRESS:
	case MD_RUN_BACKUP_DONE:
		snprintf(line, sizeof(line), "backup: %s%s", ev->text ? md_show_path(ev->text) : "",
			 ev->kind == MD_RUN_BACKUP_DONE ? " (done)" : "");
		add_log(s, line);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&s->mu);
}

/* Begin the file: md_step_begin (which takes the backup first when one is
 * due), then the view's statements.  From open, or on the thread ('b'). */
static md_status begin_file(md_stepper *s, md_error *err)
{
	md_status rc;
	size_t i, k;
	md_stepper_stmt *stmts;

	pthread_mutex_lock(&s->mu);
	rc = s->cancel_req && s->v.backing_up ? MD_ERR_REFUSED : MD_OK;
	pthread_mutex_unlock(&s->mu);
	if (rc)
		return md_error_set(err, rc, NULL, 0, 0, "stopped before the backup began");
	if ((rc = md_step_begin(&s->step, &s->run, s->f, s->rollback, err)) != MD_OK)
		return rc;
	stmts = calloc(s->step.p->nsend ? s->step.p->nsend : 1, sizeof(*stmts));
	if (!stmts) {
		md_step_abort(&s->step);
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	for (i = 0, k = 0; i < s->step.p->n; i++) {
		const md_prepared_stmt *ps = &s->step.p->stmts[i];
		const char *t = ps->sql.text ? ps->sql.text : "";
		size_t len = strcspn(t, "\n");

		if (ps->skip)
			continue;
		stmts[k].line = ps->st.line;
		stmts[k].col = ps->st.col;
		stmts[k].text = strndup(t, len > 200 ? 200 : len);
		k++;
	}
	pthread_mutex_lock(&s->mu);
	free(s->v.path);
	free(s->v.action);
	s->v.path = strdup(s->step.p->path);
	s->v.action = strdup(s->step.action);
	if (s->v.stmts) {
		for (i = 0; i < s->v.n; i++)
			free(s->v.stmts[i].text);
		free(s->v.stmts);
	}
	s->v.stmts = stmts;
	s->v.n = k;
	s->v.autocommit = s->step.autocommit;
	s->v.started = now_s();
	s->v.pid = s->db->conn ? md_db_backend_pid(s->db) : 0;
	free(s->v.backup);
	s->v.backup = s->run.backup_path[0] ? strdup(s->run.backup_path) : NULL;
	s->v.state = k ? MD_STEPPER_READY : MD_STEPPER_ALL_RAN;
	pthread_mutex_unlock(&s->mu);
	if (!s->v.path || !s->v.action)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	return MD_OK;
}

static void run_command(md_stepper *s, int cmd)
{
	md_error err;
	md_stepper_state next = MD_STEPPER_READY;
	int r = 1;

	md_error_clear(&err);
	if (cmd == 'b') {
		md_status rc = begin_file(s, &err);

		pthread_mutex_lock(&s->mu);
		s->v.backing_up = 0;
		if (rc != MD_OK) {
			set_error(s, &err);
			add_log(s, "nothing was changed: x closes");
			s->v.state = MD_STEPPER_FAILED;
		}
		pthread_mutex_unlock(&s->mu);
		return;
	}
	switch (cmd) {
	case 'n':
	case 'a':
		pthread_mutex_lock(&s->mu);
		s->cancel_req = 0;
		pthread_mutex_unlock(&s->mu);
		for (;;) {
			int stop;

			r = md_step_next(&s->step, &err);
			pthread_mutex_lock(&s->mu);
			stop = s->cancel_req;
			pthread_mutex_unlock(&s->mu);
			if (cmd != 'a' || r != 1 || stop)
				break;
		}
		if (r < 0)
			next = MD_STEPPER_FAILED;
		else
			next = md_step_left(&s->step) ? MD_STEPPER_READY : MD_STEPPER_ALL_RAN;
		break;
	case 'c':
		if (md_step_commit(&s->step, &err) == MD_OK) {
			next = MD_STEPPER_COMMITTED;
		} else {
			pthread_mutex_lock(&s->mu);
			set_error(s, &err);
			pthread_mutex_unlock(&s->mu);
			next = MD_STEPPER_ABORTED; /* md_step_commit rolled back */
		}
		break;
	case 'x':
		md_step_abort(&s->step);
		next = MD_STEPPER_ABORTED;
		pthread_mutex_lock(&s->mu);
		add_log(s, s->v.autocommit && s->step.sent
				   ? "aborted: the statements that ran outside a transaction stay done"
				   : "aborted: rolled back, nothing recorded");
		pthread_mutex_unlock(&s->mu);
		break;
	}
	pthread_mutex_lock(&s->mu);
	s->v.state = next;
	s->v.next = s->step.sent;
	pthread_mutex_unlock(&s->mu);
}

static void *thread_main(void *arg)
{
	md_stepper *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		int cmd;

		while (!s->cmd && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop)
			break;
		cmd = s->cmd;
		pthread_mutex_unlock(&s->mu);
		run_command(s, cmd);
		pthread_mutex_lock(&s->mu);
		s->cmd = 0;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

md_status md_stepper_open(md_stepper **out, const md_config *cfg, const char *path, int rollback,
			  md_error *err)
{
	return md_stepper_open_backup(out, cfg, path, rollback, NULL, err);
}

md_status md_stepper_open_backup(md_stepper **out, const md_config *cfg, const char *path,
				 int rollback, const char *backup, md_error *err)
{
	md_stepper *s = calloc(1, sizeof(*s));
	const md_file *f = NULL;
	md_status rc;
	size_t i;

	*out = NULL;
	if (!s)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	s->cfg = cfg;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->v.running = -1;
	if ((rc = md_db_connect(&s->db, cfg, "stepper", err)) != MD_OK ||
	    (rc = md_db_lock(s->db, cfg->history_schema, cfg->history_table, 0, err)) != MD_OK ||
	    (rc = md_history_ensure(s->db, cfg, err)) != MD_OK ||
	    (rc = md_workspace_scan(&s->ws, cfg, err)) != MD_OK)
		goto fail;
	for (i = 0; i < s->ws->nfiles; i++)
		if (!strcmp(s->ws->files[i].path, path))
			f = &s->ws->files[i];
	if (!f) {
		rc = md_error_set(err, MD_ERR_INVALID, path, 0, 0, "not a migration of the workspace");
		goto fail;
	}
	{
		/* what the database says now, under the lock: never apply what
		 * is applied, nor roll back what is not */
		md_history *h = NULL;
		md_plan *plan = NULL;
		int applied = 0;

		if ((rc = md_history_load(s->db, cfg, &h, err)) != MD_OK)
			goto fail;
		if ((rc = md_plan_build(&plan, s->ws, h, err)) != MD_OK) {
			md_history_free(h);
			goto fail;
		}
		for (i = 0; i < plan->n; i++)
			if (plan->items[i].file == f)
				applied = plan->items[i].state == MD_STATE_APPLIED;
		md_plan_free(plan);
		md_history_free(h);
		if (applied != rollback) {
			rc = md_error_set(err, MD_ERR_INVALID, path, 0, 0,
					  rollback ? "is not applied: there is nothing to roll back"
						   : "is applied already (the database says so)");
			goto fail;
		}
	}
	s->canceller = md_db_canceller(s->db);
	md_runner_init(&s->run, s->db, cfg, s->ws, on_event, s);
	/* a long statement's progress, asked twice a second (doc/progress.md) */
	s->run.progress_ms = MD_PROGRESS_DELAY_MS;
	if (backup && *backup)
		snprintf(s->run.backup_path, sizeof(s->run.backup_path), "%s", backup);
	s->f = f;
	s->rollback = rollback;
	if (cfg->backup_pg_dump && !s->run.backup_path[0]) {
		/* pg_dump may take minutes: on the thread, the front end stays
		 * responsive and shows its progress from the log */
		s->v.path = strdup(f->path);
		s->v.action = strdup(rollback ? "rollback" : "apply");
		s->v.stmts = calloc(1, sizeof(*s->v.stmts));
		if (!s->v.path || !s->v.action || !s->v.stmts) {
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
			goto fail;
		}
		s->v.started = now_s();
		s->v.pid = s->db->conn ? md_db_backend_pid(s->db) : 0;
		s->v.state = MD_STEPPER_RUNNING;
		s->v.backing_up = 1;
		s->cmd = 'b';
		add_log(s, "backup: [database] backup = pg_dump: a backup first (Ctrl-C stops it)");
	} else if ((rc = begin_file(s, err)) != MD_OK) {
		goto fail;
	}
	{
		/* the thread takes no signals: the front end's handlers get them */
		sigset_t all, old;
		int e;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		e = pthread_create(&s->th, NULL, thread_main, s);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (e) {
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "cannot start a thread");
			md_step_abort(&s->step);
			goto fail;
		}
	}
	s->started = 1;
	*out = s;
	return MD_OK;
fail:
	md_stepper_close(s);
	return rc;
}

int md_stepper_command(md_stepper *s, int cmd)
{
	int ok = 0;

	pthread_mutex_lock(&s->mu);
	if (!s->cmd && s->v.state != MD_STEPPER_RUNNING) {
		switch (cmd) {
		case 'n':
		case 'a':
			ok = s->v.state == MD_STEPPER_READY;
			break;
		case 'c':
			ok = s->v.state == MD_STEPPER_ALL_RAN;
			break;
		case 'x':
			ok = s->v.state == MD_STEPPER_READY || s->v.state == MD_STEPPER_ALL_RAN ||
			     s->v.state == MD_STEPPER_FAILED;
			break;
		}
	}
	if (ok) {
		s->cmd = cmd;
		s->v.state = MD_STEPPER_RUNNING;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return ok;
}

int md_stepper_busy(md_stepper *s)
{
	int b;

	pthread_mutex_lock(&s->mu);
	b = s->cmd != 0;
	pthread_mutex_unlock(&s->mu);
	return b;
}

void md_stepper_cancel(md_stepper *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->cancel_req = 1;
	if (s->v.backing_up)
		md_backup_stop();
	pthread_mutex_unlock(&s->mu);
	if (s->canceller && md_stepper_busy(s))
		md_db_cancel_send(s->canceller);
}

md_stepper_view *md_stepper_view_get(md_stepper *s)
{
	md_stepper_view *c = calloc(1, sizeof(*c));
	size_t i;

	if (!c)
		return NULL;
	pthread_mutex_lock(&s->mu);
	*c = s->v;
	c->path = s->v.path ? strdup(s->v.path) : NULL;
	c->action = s->v.action ? strdup(s->v.action) : NULL;
	c->error = s->v.error ? strdup(s->v.error) : NULL;
	c->error_line = s->v.error_line ? strdup(s->v.error_line) : NULL;
	c->backup = s->v.backup ? strdup(s->v.backup) : NULL;
	c->stmts = calloc(s->v.n ? s->v.n : 1, sizeof(*c->stmts));
	c->log = calloc(s->v.nlog ? s->v.nlog : 1, sizeof(*c->log));
	for (i = 0; c->stmts && i < s->v.n; i++) {
		c->stmts[i] = s->v.stmts[i];
		c->stmts[i].text = s->v.stmts[i].text ? strdup(s->v.stmts[i].text) : NULL;
	}
	for (i = 0; c->log && i < s->v.nlog; i++)
		c->log[i] = strdup(s->v.log[i]);
	if (!c->stmts)
		c->n = 0;
	if (!c->log)
		c->nlog = 0;
	pthread_mutex_unlock(&s->mu);
	return c;
}

static void view_clear(md_stepper_view *v)
{
	size_t i;

	free(v->path);
	free(v->action);
	free(v->error);
	free(v->error_line);
	free(v->backup);
	for (i = 0; v->stmts && i < v->n; i++)
		free(v->stmts[i].text);
	free(v->stmts);
	for (i = 0; v->log && i < v->nlog; i++)
		free(v->log[i]);
	free(v->log);
}

void md_stepper_view_free(md_stepper_view *v)
{
	if (v) {
		view_clear(v);
		free(v);
	}
}

void md_stepper_close(md_stepper *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->cancel_req = 1;
		if (s->v.backing_up)
			md_backup_stop();
		if (s->cmd)
			md_db_cancel_send(s->canceller); /* a statement that may never end */
		while (s->cmd)
			pthread_cond_wait(&s->cv, &s->mu);
		s->stop = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
	}
	if (s->step.open)
		md_step_abort(&s->step);
	else
		md_prepared_free(s->step.p);
	md_db_canceller_free(s->canceller);
	md_runner_done(&s->run);
	md_db_close(s->db);
	md_workspace_free(s->ws);
	view_clear(&s->v);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

typedef struct move_note {
	char *buf;
	size_t sz;
} move_note;

static void move_event(const md_run_event *ev, void *payload)
{
	move_note *n = payload;

	if (ev->kind == MD_RUN_COMMITTED)
		snprintf(n->buf, n->sz, "git commit %.12s", ev->text ? ev->text : "");
	else if (ev->kind == MD_RUN_WARNING)
		snprintf(n->buf, n->sz, "%s", ev->text ? ev->text : "");
}

md_status md_stepper_move(const md_config *cfg, const char *path, int to, char *note,
			  size_t notesz, md_error *err)
{
	md_db *db = NULL;
	md_workspace *ws = NULL;
	md_runner run;
	const md_file *f = NULL;
	move_note n = { note, notesz };
	md_event ev;
	char detail[2200];
	md_status rc;
	size_t i;

	note[0] = '\0';
	if ((rc = md_db_connect(&db, cfg, "mover", err)) != MD_OK ||
	    (rc = md_db_lock(db, cfg->history_schema, cfg->history_table, 0, err)) != MD_OK ||
	    (rc = md_history_ensure(db, cfg, err)) != MD_OK ||
	    (rc = md_workspace_scan(&ws, cfg, err)) != MD_OK)
		goto done;
	for (i = 0; i < ws->nfiles; i++)
		if (!strcmp(ws->files[i].path, path))
			f = &ws->files[i];
	if (!f) {
		rc = md_error_set(err, MD_ERR_INVALID, path, 0, 0, "not a migration of the workspace");
		goto done;
	}
	md_runner_init(&run, db, cfg, ws, move_event, &n);
	run.nmoved = 0;
	if ((rc = md_move_file(&run, f, (md_folder)to, err)) != MD_OK)
		goto done;
	snprintf(detail, sizeof(detail), "%s/%s -> %s/%s", md_folder_name(f->folder), f->name,
		 md_folder_name((md_folder)to), f->name);
	memset(&ev, 0, sizeof(ev));
	ev.action = "move";
	ev.version = f->version.text[0] ? f->version.text : f->stem;
	ev.script = f->name;
	ev.outcome = "ok";
	ev.detail = detail;
	if ((rc = md_history_event(db, cfg, &ev, err)) != MD_OK)
		goto done;
	md_runner_commit_moves(&run, f, "operator", f->checksum, -1);
done:
	md_workspace_free(ws);
	md_db_close(db);
	return rc;
}
