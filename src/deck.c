/* deck.c - the console's model, kept fresh by a worker thread (see deck.h).
 *
 * Ownership: the worker builds each picture and puts it in a one-slot
 * mailbox (replacing, and freeing, one the front end has not taken yet);
 * md_deck_take() moves it to the front end's side and frees the picture it
 * replaces.  So each picture has one owner at a time and needs no locks
 * while it is read.  When the database is not connected yet, a load
 * publishes the folders first (with no history) and then the full picture:
 * both share one workspace and its git states, counted by reference (the
 * count changes under the deck's mutex), so whichever picture goes last
 * frees them.
 *
 * Targets: md_deck_switch hands the worker another config (the deck owns
 * it); the worker takes it between two jobs, drops its connection and
 * loads again.  Every switch asked for counts one generation: a picture
 * the worker made with the settings before is dropped, never published.
 * The other targets and a fleet's members are read over connections of
 * their own, a few at a time (one thread each), each config derived from
 * the base the deck was opened with. */
#include "deck.h"

#include "db.h"
#include "diffs.h"
#include "fleet.h"
#include "runner.h"
#include "util.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A workspace and its git states, shared by the pictures of one load. */
struct md_deck_ws {
	md_workspace *ws;
	unsigned char *git;
	int refs;
};

struct md_deck {
	const md_config *base;   /* the caller's: targets and members derive from it */
	const md_config *cfg;    /* the worker's: the settings in force */
	md_config *own;          /* cfg when the deck owns it (a switch) */
	md_config *next_cfg;     /* md_deck_switch: handed over, not taken yet */
	const md_config *ui_cfg; /* the front end's: the settings in force */
	unsigned gen, wgen;      /* switches asked for / taken by the worker */
	md_deck_opts o;
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* the worker's wake-ups and md_deck_wait_idle */
	int stop, stopped, want_full, busy;
	md_deck_data *box_data;  /* published, not taken yet */
	md_deck_db *box_db;
	md_deck_diff *box_diff;
	md_deck_others *box_others;
	md_deck_fleet *box_fleet;
	/* a fleet asked for: the group, number (fleet_asked != fleet_seq:
	 * not started yet) */
	char *fleet_group;
	unsigned long fleet_seq, fleet_asked;
	/* a diff asked for: kind, file, number (0: none) */
	md_deck_diff_kind diff_kind;
	char *diff_path;
	unsigned long diff_seq, diff_asked;
	md_deck_diff *cur_diff;
	md_deck_data *latest;    /* the worker's reference to its latest full picture */
	int watch_pid;           /* md_deck_watch */
	int want_poll;           /* md_deck_poll_now */
	/* the front end's side */
	md_deck_data *cur_data;
	md_deck_db *cur_db;
	md_deck_others *cur_others;
	md_deck_fleet *cur_fleet;
	/* the worker's side */
	md_db *db;
	md_deck_db live;
	int ever_up;
	double next_poll;
	double next_others;      /* when the other targets are read again */
	int others_named;        /* their names were published (since the
	                            open or the switch) */
};

double md_deck_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* ---- pictures ------------------------------------------------------------- */

/* The reference counts of every deck (the front end and the worker free
 * pictures on their own threads). */
static pthread_mutex_t ref_mu = PTHREAD_MUTEX_INITIALIZER;

static void ws_unref(struct md_deck_ws *r)
{
	int last;

	if (!r)
		return;
	pthread_mutex_lock(&ref_mu);
	last = --r->refs == 0;
	pthread_mutex_unlock(&ref_mu);
	if (last) {
		md_workspace_free(r->ws);
		free(r->git);
		free(r);
	}
}

static struct md_deck_ws *ws_ref(struct md_deck_ws *r)
{
	pthread_mutex_lock(&ref_mu);
	r->refs++;
	pthread_mutex_unlock(&ref_mu);
	return r;
}

static void data_free(md_deck_data *x)
{
	int last;

	if (!x)
		return;
	pthread_mutex_lock(&ref_mu);
	last = --x->refs <= 0;
	pthread_mutex_unlock(&ref_mu);
	if (!last)
		return;
	/* the plan points into the workspace and the history: it goes first */
	md_plan_free(x->plan);
	x->plan = NULL;
	ws_unref(x->wref);
	free(x->scan_error);
	free(x->history_error);
	md_history_free(x->hist);
	free(x);
}

static void diff_free(md_deck_diff *x)
{
	if (!x)
		return;
	free(x->path);
	md_diff_free(&x->diff);
	free(x->note);
	free(x->error);
	free(x);
}

static void others_free(md_deck_others *o)
{
	size_t i, j;

	if (!o)
		return;
	for (i = 0; i < o->n; i++) {
		md_deck_other *t = &o->t[i];

		for (j = 0; j < t->nfiles; j++)
			free(t->files[j].name);
		free(t->files);
		free(t->name);
		free(t->error);
		free(t->database);
		free(t->version);
	}
	free(o->t);
	free(o);
}

static void member_clear(md_deck_member *m)
{
	free(m->name);
	free(m->target);
	free(m->dbname);
	free(m->schema);
	free(m->error);
	free(m->version);
	free(m->last_version);
	memset(m, 0, sizeof(*m));
}

static void fleet_free(md_deck_fleet *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++)
		member_clear(&f->m[i]);
	free(f->m);
	free(f->group);
	free(f->error);
	free(f);
}

static void db_clear(md_deck_db *s)
{
	free(s->target);
	free(s->server);
	free(s->database);
	free(s->user);
	free(s->error);
	free(s->lock_holder);
	md_waiters_free(s->waiters, s->nwaiters);
	md_locks_free(s->watch_locks, s->nwatch_locks);
	md_waiters_free(s->watch_blocked, s->nwatch_blocked);
	memset(s, 0, sizeof(*s));
}

static md_waiter *waiters_copy(const md_waiter *w, size_t n)
{
	md_waiter *c = n ? calloc(n, sizeof(*c)) : NULL;
	size_t i;

	for (i = 0; c && i < n; i++) {
		c[i] = w[i];
		c[i].user = xstrdup(w[i].user);
		c[i].app = xstrdup(w[i].app);
		c[i].object = xstrdup(w[i].object);
		c[i].mode = xstrdup(w[i].mode);
		c[i].blockers = xstrdup(w[i].blockers);
		c[i].query = xstrdup(w[i].query);
	}
	return c;
}

static void db_free(md_deck_db *s)
{
	if (s) {
		db_clear(s);
		free(s);
	}
}

/* A deep copy of the worker's state for the front end (NULL: no memory). */
static md_deck_db *db_copy(const md_deck_db *s)
{
	md_deck_db *c = calloc(1, sizeof(*c));
	size_t i;

	if (!c)
		return NULL;
	*c = *s;
	c->target = xstrdup(s->target);
	c->server = xstrdup(s->server);
	c->database = xstrdup(s->database);
	c->user = xstrdup(s->user);
	c->error = xstrdup(s->error);
	c->lock_holder = xstrdup(s->lock_holder);
	c->waiters = waiters_copy(s->waiters, s->nwaiters);
	c->nwaiters = c->waiters ? s->nwaiters : 0;
	c->watch_blocked = waiters_copy(s->watch_blocked, s->nwatch_blocked);
	c->nwatch_blocked = c->watch_blocked ? s->nwatch_blocked : 0;
	c->watch_locks = s->nwatch_locks ? calloc(s->nwatch_locks, sizeof(*c->watch_locks)) : NULL;
	c->nwatch_locks = c->watch_locks ? s->nwatch_locks : 0;
	for (i = 0; i < c->nwatch_locks; i++) {
		c->watch_locks[i] = s->watch_locks[i];
		c->watch_locks[i].object = xstrdup(s->watch_locks[i].object);
		c->watch_locks[i].mode = xstrdup(s->watch_locks[i].mode);
	}
	return c;
}

/* Under d->mu: a switch was asked for that the worker has not taken, so
 * what it made is of the settings before: not to be published. */
static int stale(const md_deck *d)
{
	return d->wgen != d->gen;
}

static void publish_data(md_deck *d, md_deck_data *x)
{
	md_deck_data *old;

	pthread_mutex_lock(&d->mu);
	if (stale(d)) {
		pthread_mutex_unlock(&d->mu);
		data_free(x);
		return;
	}
	old = d->box_data;
	d->box_data = x;
	pthread_mutex_unlock(&d->mu);
	data_free(old);
}

static void publish_db(md_deck *d)
{
	md_deck_db *c = db_copy(&d->live), *old;

	if (!c)
		return;
	pthread_mutex_lock(&d->mu);
	if (stale(d)) {
		pthread_mutex_unlock(&d->mu);
		db_free(c);
		return;
	}
	old = d->box_db;
	d->box_db = c;
	pthread_mutex_unlock(&d->mu);
	db_free(old);
}

static void set_str(char **slot, const char *s)
{
	free(*slot);
	*slot = xstrdup(s);
}

/* ---- the worker ----------------------------------------------------------- */

static void went_down(md_deck *d, const md_error *err)
{
	char msg[1400];
	double now = md_deck_now();

	md_error_format(err, msg, sizeof(msg));
	md_db_close(d->db);
	d->db = NULL;
	if (d->live.conn != (d->ever_up ? MD_DECK_LOST : MD_DECK_DOWN))
		d->live.since = now;
	d->live.conn = d->ever_up ? MD_DECK_LOST : MD_DECK_DOWN;
	set_str(&d->live.error, msg);
	d->live.retry_at = now + d->o.retry_seconds;
	set_str(&d->live.lock_holder, NULL);
	md_waiters_free(d->live.waiters, d->live.nwaiters);
	d->live.waiters = NULL;
	d->live.nwaiters = 0;
}

static void try_connect(md_deck *d)
{
	md_error err;
	char *dbname = NULL, *user = NULL, *server = NULL;

	md_error_clear(&err);
	/* every query of this connection has a deadline: a poll that hangs
	 * on a dead network must fail, so that the loss shows */
	if (md_db_connect(&d->db, d->cfg, "console", &err) != MD_OK ||
	    md_db_exec(d->db, "SET statement_timeout = '10s'", &err) != MD_OK ||
	    md_monitor_whoami(d->db, &dbname, &user, &server, &err) != MD_OK) {
		went_down(d, &err);
		return;
	}
	if (d->live.conn != MD_DECK_CONNECTING)
		d->live.reconnects++;
	d->ever_up = 1;
	d->live.conn = MD_DECK_UP;
	d->live.since = md_deck_now();
	free(d->live.database);
	free(d->live.user);
	free(d->live.server);
	d->live.database = dbname;
	d->live.user = user;
	d->live.server = server;
	set_str(&d->live.error, NULL);
}

/* The lock and the waiting sessions. */
static void poll_db(md_deck *d)
{
	md_error err;
	char who[600];
	md_waiter *w = NULL;
	size_t n = 0;

	d->next_poll = md_deck_now() + d->o.poll_seconds;
	if (!d->db)
		return;
	md_error_clear(&err);
	if (md_db_lock_holder(d->db, d->cfg->history_schema, d->cfg->history_table, who,
			      sizeof(who), &err) != MD_OK ||
	    md_monitor_waiters(d->db, &w, &n, &err) != MD_OK) {
		if (!md_db_alive(d->db)) {
			went_down(d, &err);
		} else {
			char msg[1400];

			md_error_format(&err, msg, sizeof(msg));
			set_str(&d->live.error, msg);
		}
		return;
	}
	set_str(&d->live.lock_holder, who[0] ? who : NULL);
	md_waiters_free(d->live.waiters, d->live.nwaiters);
	d->live.waiters = w;
	d->live.nwaiters = n;
	md_locks_free(d->live.watch_locks, d->live.nwatch_locks);
	md_waiters_free(d->live.watch_blocked, d->live.nwatch_blocked);
	d->live.watch_locks = NULL;
	d->live.watch_blocked = NULL;
	d->live.nwatch_locks = d->live.nwatch_blocked = 0;
	pthread_mutex_lock(&d->mu);
	d->live.watch_pid = d->watch_pid;
	pthread_mutex_unlock(&d->mu);
	if (d->live.watch_pid > 0) {
		/* a stepped migration's backend: every second, and failures of
		 * these two only leave the lists empty */
		md_error ignore;

		if (md_monitor_locks_of(d->db, d->live.watch_pid, &d->live.watch_locks,
					&d->live.nwatch_locks, &ignore) != MD_OK)
			d->live.nwatch_locks = 0;
		if (md_monitor_blocked_by(d->db, d->live.watch_pid, &d->live.watch_blocked,
					  &d->live.nwatch_blocked, &ignore) != MD_OK)
			d->live.nwatch_blocked = 0;
		d->next_poll = md_deck_now() + (d->o.poll_seconds < 1.0 ? d->o.poll_seconds : 1.0);
	}
	d->live.checked = md_deck_now();
	set_str(&d->live.error, NULL);
}

static void fill_git(md_deck_data *x)
{
	const md_workspace *ws = x->ws;
	size_t n = ws->nfiles + ws->nrollbacks, i;
	const char **paths;
	md_error err;

	if (!(x->git = calloc(n ? n : 1, 1)) || !(paths = calloc(n ? n : 1, sizeof(*paths))))
		return;
	for (i = 0; i < ws->nfiles; i++)
		paths[i] = ws->files[i].path;
	for (i = 0; i < ws->nrollbacks; i++)
		paths[ws->nfiles + i] = ws->rollbacks[i].path;
	md_error_clear(&err);
	if (md_vcs_states(paths, n, x->git, &err) < 0)
		memset(x->git, MD_GIT_UNKNOWN, n);
	free(paths);
}

static void no_events(const md_run_event *ev, void *payload)
{
	(void)ev;
	(void)payload;
}

/* Cosmetic or real, for each drifted file: its text now against the text
 * the database kept when it ran (as `migdeck status` does). */
static void classify_drift(md_deck *d, md_deck_data *x)
{
	md_runner run;

	md_runner_init(&run, d->db, d->cfg, x->ws, no_events, NULL);
	md_run_classify_drift(&run, x->plan);
	md_runner_done(&run);
}

static void load_others(md_deck *d);

static void full_load(md_deck *d)
{
	md_deck_data *x = calloc(1, sizeof(*x));
	md_error err;
	char msg[1400];

	if (!x)
		return;
	if (!(x->wref = calloc(1, sizeof(*x->wref)))) {
		free(x);
		return;
	}
	x->wref->refs = 1;
	x->refs = 1;
	md_error_clear(&err);
	if (md_workspace_scan(&x->ws, d->cfg, &err) != MD_OK) {
		md_error_format(&err, msg, sizeof(msg));
		x->scan_error = strdup(msg);
	} else {
		fill_git(x);
	}
	x->wref->ws = x->ws;
	x->wref->git = x->git;
	if (!d->db) {
		/* the folders first: a connection may take a while */
		md_deck_data *first = calloc(1, sizeof(*first));

		if (first) {
			first->refs = 1;
			first->wref = ws_ref(x->wref);
			first->ws = x->ws;
			first->git = x->git;
			first->scan_error = xstrdup(x->scan_error);
			first->loaded_at = md_deck_now();
			if (!x->ws || md_plan_build(&first->plan, x->ws, NULL, &err) == MD_OK)
				publish_data(d, first);
			else
				data_free(first);
		}
		try_connect(d);
	}
	if (d->db) {
		md_error_clear(&err);
		if (md_history_load(d->db, d->cfg, &x->hist, &err) == MD_OK) {
			x->history_loaded = 1;
		} else if (!md_db_alive(d->db)) {
			went_down(d, &err);
		} else {
			md_error_format(&err, msg, sizeof(msg));
			x->history_error = strdup(msg);
		}
	}
	if (x->ws && md_plan_build(&x->plan, x->ws, x->hist, &err) != MD_OK) {
		md_error_format(&err, msg, sizeof(msg));
		free(x->history_error);
		x->history_error = strdup(msg);
	}
	if (x->plan && x->history_loaded && d->db)
		classify_drift(d, x);
	x->loaded_at = md_deck_now();
	poll_db(d);
	/* the worker keeps a reference for the diffs it is asked for */
	pthread_mutex_lock(&ref_mu);
	x->refs++;
	pthread_mutex_unlock(&ref_mu);
	data_free(d->latest);
	d->latest = x;
	publish_data(d, x);
	publish_db(d);
	/* then the other targets' view of these files (busy until done) */
	load_others(d);
}

const char *md_deck_diff_name(md_deck_diff_kind kind)
{
	switch (kind) {
	case MD_DECK_DIFF_SCHEMA: return "schema";
	case MD_DECK_DIFF_GIT: return "git";
	case MD_DECK_DIFF_DRIFT: return "drift";
	}
	return "?";
}

/* The file at path in the latest picture, with its plan item. */
static const md_plan_item *latest_item(md_deck *d, const char *path)
{
	size_t i;

	if (!d->latest || !d->latest->plan)
		return NULL;
	for (i = 0; i < d->latest->plan->n; i++) {
		const md_plan_item *it = &d->latest->plan->items[i];

		if (it->file && !strcmp(it->file->path, path))
			return it;
	}
	return NULL;
}

static void compute_diff(md_deck *d, md_deck_diff_kind kind, const char *path, unsigned long seq)
{
	md_deck_diff *x = calloc(1, sizeof(*x));
	md_error err;
	md_status rc = MD_OK;
	char msg[1400], note[256] = "";

	if (!x)
		return;
	x->seq = seq;
	x->kind = kind;
	x->path = strdup(path);
	md_error_clear(&err);
	if (kind == MD_DECK_DIFF_GIT) {
		const md_workspace *ws = d->latest ? d->latest->ws : NULL;
		const char *alt[3];
		size_t nalt = 0, i;
		md_git_info info;

		for (i = 0; ws && i < 3; i++)
			if (ws->dirs[i])
				alt[nalt++] = ws->dirs[i];
		memset(&info, 0, sizeof(info));
		rc = md_diff_git_file(&x->diff, path, NULL, alt, nalt, &info, &err);
		if (rc == MD_OK)
			snprintf(note, sizeof(note), "against HEAD %.10s%s", info.commit,
				 info.is_new ? " (a new file)" : "");
	} else if (!d->db) {
		rc = md_error_set(&err, MD_ERR_CONNECT, NULL, 0, 0,
				  "the %s diff needs the database, which is not connected",
				  md_deck_diff_name(kind));
	} else if (kind == MD_DECK_DIFF_SCHEMA) {
		md_runner run;
		const char *paths[1] = { path };

		md_runner_init(&run, d->db, d->cfg, d->latest ? d->latest->ws : NULL, no_events,
			       NULL);
		rc = md_preview_schema(&run, paths, 1, 0, &x->diff, &err);
		md_runner_done(&run);
		if (rc == MD_OK)
			snprintf(note, sizeof(note), "run inside a transaction, rolled back");
	} else {
		const md_plan_item *it = latest_item(d, path);
		md_drift_info info;

		memset(&info, 0, sizeof(info));
		if (!it)
			rc = md_error_set(&err, MD_ERR_INVALID, path, 0, 0, "not a migration file");
		else
			rc = md_preview_drift(d->db, d->cfg, it, &info, &x->diff, &err);
		if (rc == MD_OK) {
			/* "2024-01-08 16:29" of the server's "2024-01-08 16:29:06.12+00" */
			char when[17];

			memcpy(when, info.applied_at, sizeof(when) - 1);
			when[sizeof(when) - 1] = '\0';
			if (strlen(when) > 10 && when[10] == 'T')
				when[10] = ' ';
			snprintf(note, sizeof(note), "%s drift since %s",
				 md_drift_class_name(info.cls), when);
		}
	}
	if (rc != MD_OK) {
		md_diff_free(&x->diff);
		md_error_format(&err, msg, sizeof(msg));
		x->error = strdup(msg);
		if (!md_db_alive(d->db) && d->db)
			went_down(d, &err);
	} else if (note[0]) {
		x->note = strdup(note);
	}
	pthread_mutex_lock(&d->mu);
	if (stale(d)) {
		pthread_mutex_unlock(&d->mu);
		diff_free(x);
		return;
	}
	diff_free(d->box_diff);
	d->box_diff = x;
	pthread_mutex_unlock(&d->mu);
}

/* ---- other databases: targets beside the files, fleet members ---------------- */

/* One database read on the side: its history over a connection of its
 * own (closed at once), and the plan it gives the workspace. */
typedef struct probe {
	md_config *cfg;           /* derived from the base; freed with the probe */
	const md_workspace *ws;   /* the worker's latest; NULL: no plan */
	md_history *hist;
	md_plan *plan;
	char *database;           /* PQdb of the connection */
	char *error;              /* why there is no history, or NULL */
} probe;

static void probe_fail(probe *p, const md_error *err)
{
	char msg[1400];

	md_error_format(err, msg, sizeof(msg));
	free(p->error);
	p->error = strdup(msg);
}

static void probe_run(probe *p)
{
	md_db *db = NULL;
	md_error err;

	md_error_clear(&err);
	/* role "console": a short connect_timeout, so a target that is down
	 * costs a few seconds, not a minute */
	if (md_db_connect(&db, p->cfg, "console", &err) != MD_OK ||
	    md_db_exec(db, "SET statement_timeout = '10s'", &err) != MD_OK ||
	    md_history_load(db, p->cfg, &p->hist, &err) != MD_OK) {
		probe_fail(p, &err);
		md_db_close(db);
		return;
	}
	p->database = strdup(md_db_name(db));
	md_db_close(db);
	if (p->ws && md_plan_build(&p->plan, p->ws, p->hist, &err) != MD_OK)
		probe_fail(p, &err);
}

static void probe_clear(probe *p)
{
	md_plan_free(p->plan);
	md_history_free(p->hist);
	md_config_free(p->cfg);
	free(p->database);
	free(p->error);
	memset(p, 0, sizeof(*p));
}

/* The newest version applied (active, successful, not repeatable) and
 * the outcome of the latest row (by applied_at, then id). */
static void probe_summary(const probe *p, char **version, md_deck_outcome *last,
			  char **last_version)
{
	const md_hist_row *newest = NULL, *latest = NULL;
	md_version best, v;
	size_t i;

	*version = *last_version = NULL;
	*last = MD_DECK_OUT_NONE;
	for (i = 0; p->hist && i < p->hist->n; i++) {
		const md_hist_row *r = &p->hist->rows[i];
		const char *at = r->applied_at ? r->applied_at : "";

		if (!latest || strcmp(at, latest->applied_at ? latest->applied_at : "") >= 0)
			latest = r;
		if (!r->success || !r->is_active || !r->version ||
		    (r->kind && !strcmp(r->kind, "repeatable")) ||
		    md_version_parse(&v, r->version, strlen(r->version)) != 0)
			continue;
		if (!newest || md_version_cmp(&v, &best) >= 0) {
			newest = r;
			best = v;
		}
	}
	if (newest)
		*version = strdup(newest->version);
	if (latest) {
		*last = !latest->success ? MD_DECK_OUT_FAILED
			: !latest->is_active ? MD_DECK_OUT_ROLLED_BACK : MD_DECK_OUT_SUCCESS;
		*last_version = xstrdup(latest->version);
	}
}

static int stopping(md_deck *d)
{
	int s;

	pthread_mutex_lock(&d->mu);
	s = d->stop;
	pthread_mutex_unlock(&d->mu);
	return s;
}

/* Jobs 0..n-1 run by up to max threads (fn(ctx, i) for each); returns
 * when all are done.  A deck that is closing takes no new job. */
typedef struct pool {
	md_deck *d;
	pthread_mutex_t mu;
	size_t next, n;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
} pool;

static void *pool_thread(void *arg)
{
	pool *p = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&p->mu);
		i = p->next < p->n ? p->next++ : p->n;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->n || stopping(p->d))
			return NULL;
		p->fn(p->ctx, i);
	}
}

static void pool_run(md_deck *d, size_t n, size_t max, void (*fn)(void *ctx, size_t i),
		     void *ctx)
{
	pool p = { d, PTHREAD_MUTEX_INITIALIZER, 0, n, fn, ctx };
	pthread_t th[8];
	size_t k, started = 0;

	if (max > sizeof(th) / sizeof(th[0]))
		max = sizeof(th) / sizeof(th[0]);
	/* the worker blocks every signal: its threads inherit that */
	for (k = 1; k < max && k < n; k++)
		if (pthread_create(&th[started], NULL, pool_thread, &p) == 0)
			started++;
	pool_thread(&p);
	for (k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&p.mu);
}

/* The targets beside the one in force, in the settings' order. */
static size_t other_names(const md_deck *d, const char **names)
{
	const md_config *cur = d->cfg;
	size_t i, n = 0;

	for (i = 0; i < d->base->ntargets && n < MD_DECK_MAX_OTHERS; i++) {
		const char *name = d->base->targets[i].name;

		if (cur->target && !cur->member && !strcasecmp(cur->target, name))
			continue;
		names[n++] = name;
	}
	return n;
}

static void others_one(void *ctx, size_t i)
{
	probe *p = &((probe *)ctx)[i];

	if (p->cfg)
		probe_run(p);
}

static int other_file_cmp(const void *a, const void *b)
{
	return strcmp(((const md_deck_other_file *)a)->name,
		      ((const md_deck_other_file *)b)->name);
}

/* Read every other target's history (at once, one thread each) and
 * publish what each says of the files. */
static void publish_others(md_deck *d, md_deck_others *o)
{
	md_deck_others *old;

	pthread_mutex_lock(&d->mu);
	if (stale(d)) {
		pthread_mutex_unlock(&d->mu);
		others_free(o);
		return;
	}
	old = d->box_others;
	d->box_others = o;
	pthread_mutex_unlock(&d->mu);
	others_free(old);
}

static void load_others(md_deck *d)
{
	const char *names[MD_DECK_MAX_OTHERS];
	size_t n = other_names(d, names), i, j;
	probe pr[MD_DECK_MAX_OTHERS];
	md_deck_others *o;
	md_error err;

	d->next_others = md_deck_now() + d->o.others_seconds;
	if (!d->base->ntargets)
		return;
	if (!d->others_named && n && (o = calloc(1, sizeof(*o)))) {
		/* the first time: their names at once, the states to come */
		if ((o->t = calloc(n, sizeof(*o->t))))
			for (i = 0; i < n && (o->t[i].name = strdup(names[i])); i++)
				o->n++;
		publish_others(d, o);
	}
	d->others_named = 1;
	memset(pr, 0, sizeof(pr));
	for (i = 0; i < n; i++) {
		md_error_clear(&err);
		if (md_config_derive(d->base, names[i], NULL, NULL, NULL, &pr[i].cfg, &err) != MD_OK)
			probe_fail(&pr[i], &err);
		pr[i].ws = d->latest ? d->latest->ws : NULL;
	}
	pool_run(d, n, n, others_one, pr);
	o = calloc(1, sizeof(*o));
	if (o && n && !(o->t = calloc(n, sizeof(*o->t)))) {
		free(o);
		o = NULL;
	}
	for (i = 0; o && i < n; i++) {
		md_deck_other *t = &o->t[i];
		md_deck_outcome last;
		char *lastv;

		o->n++;
		t->name = strdup(names[i]);
		t->production = pr[i].cfg ? pr[i].cfg->production : 0;
		t->up = pr[i].hist && !pr[i].error;
		t->error = xstrdup(pr[i].error);
		t->database = xstrdup(pr[i].database);
		probe_summary(&pr[i], &t->version, &last, &lastv);
		free(lastv);
		if (!pr[i].plan)
			continue;
		t->npending = pr[i].plan->npending;
		t->files = calloc(pr[i].plan->n ? pr[i].plan->n : 1, sizeof(*t->files));
		for (j = 0; t->files && j < pr[i].plan->n; j++) {
			const md_plan_item *it = &pr[i].plan->items[j];

			if (!it->file || !(t->files[t->nfiles].name = strdup(it->file->name)))
				continue;
			t->files[t->nfiles++].state = it->state;
		}
		qsort(t->files, t->nfiles, sizeof(*t->files), other_file_cmp);
	}
	for (i = 0; i < n; i++)
		probe_clear(&pr[i]);
	if (!o)
		return;
	o->loaded = 1;
	o->loaded_at = md_deck_now();
	publish_others(d, o);
}

int md_deck_other_state(const md_deck_other *o, const char *name, md_state *state)
{
	md_deck_other_file key, *f;

	if (!o || !o->files || !name)
		return -1;
	key.name = (char *)name;
	f = bsearch(&key, o->files, o->nfiles, sizeof(*o->files), other_file_cmp);
	if (!f)
		return -1;
	*state = f->state;
	return 0;
}

/* The members of a group, through the fleet module's listing (src/fleet.h:
 * the targets of a targets group, else the rows of its query run on the
 * group's target), with what md_config_derive needs for each. */
static md_status deck_group_members(const md_config *base, const char *group,
				    md_deck_member **out, size_t *n, md_error *err)
{
	md_fleet *f = NULL;
	md_deck_member *m = NULL;
	size_t i;
	md_status rc;

	*out = NULL;
	*n = 0;
	if ((rc = md_fleet_list(&f, base, group, NULL, NULL, err)) != MD_OK)
		return rc;
	if (f->n && !(m = calloc(f->n, sizeof(*m)))) {
		md_fleet_free(f);
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	for (i = 0; i < f->n; i++) {
		const char *name = f->members[i].name;

		m[i].name = strdup(name);
		if (f->group->kind == MD_GROUP_TARGETS) {
			m[i].target = strdup(name);
		} else {
			m[i].target = xstrdup(f->group->target);
			if (f->group->kind == MD_GROUP_SCHEMAS)
				m[i].schema = strdup(name);
			else
				m[i].dbname = strdup(name);
		}
	}
	*out = m;
	*n = f->n;
	md_fleet_free(f);
	return MD_OK;
}

static md_deck_fleet *fleet_copy(const md_deck_fleet *f)
{
	md_deck_fleet *c = calloc(1, sizeof(*c));
	size_t i;

	if (!c)
		return NULL;
	*c = *f;
	c->group = xstrdup(f->group);
	c->error = xstrdup(f->error);
	c->m = f->n ? calloc(f->n, sizeof(*c->m)) : NULL;
	if (!c->m)
		c->n = 0;
	for (i = 0; i < c->n; i++) {
		const md_deck_member *s = &f->m[i];
		md_deck_member *x = &c->m[i];

		*x = *s;
		x->name = xstrdup(s->name);
		x->target = xstrdup(s->target);
		x->dbname = xstrdup(s->dbname);
		x->schema = xstrdup(s->schema);
		x->error = xstrdup(s->error);
		x->version = xstrdup(s->version);
		x->last_version = xstrdup(s->last_version);
	}
	return c;
}

static void publish_fleet(md_deck *d, md_deck_fleet *f)
{
	md_deck_fleet *old;

	if (!f)
		return;
	pthread_mutex_lock(&d->mu);
	old = d->box_fleet;
	d->box_fleet = f;
	pthread_mutex_unlock(&d->mu);
	fleet_free(old);
}

typedef struct fleet_job {
	md_deck *d;
	md_deck_fleet *fl;
	const md_workspace *ws;
	pthread_mutex_t mu;  /* the rows' results, done, publishing */
} fleet_job;

static void fleet_one(void *ctx, size_t i)
{
	fleet_job *j = ctx;
	const md_deck_member *m = &j->fl->m[i]; /* name, target, dbname,
						   schema: read-only here */
	md_deck_member *row;
	probe p;
	md_error err;
	md_deck_outcome last;
	char *version, *lastv;

	memset(&p, 0, sizeof(p));
	md_error_clear(&err);
	if (md_config_derive(j->d->base, m->target, m->dbname, m->schema,
			     m->dbname || m->schema ? m->name : NULL, &p.cfg, &err) != MD_OK) {
		probe_fail(&p, &err);
	} else {
		p.ws = j->ws;
		probe_run(&p);
	}
	probe_summary(&p, &version, &last, &lastv);
	pthread_mutex_lock(&j->mu);
	row = &j->fl->m[i];
	row->loaded = 1;
	row->up = p.hist && !p.error;
	row->error = xstrdup(p.error);
	row->version = version;
	row->last = last;
	row->last_version = lastv;
	row->npending = p.plan ? p.plan->npending : 0;
	j->fl->done++;
	publish_fleet(j->d, fleet_copy(j->fl));
	pthread_mutex_unlock(&j->mu);
	probe_clear(&p);
}

/* How many members are read at once. */
#define FLEET_JOBS 4

static void compute_fleet(md_deck *d, const char *group, unsigned long seq)
{
	md_deck_fleet *fl = calloc(1, sizeof(*fl));
	md_error err;
	fleet_job j;

	if (!fl)
		return;
	fl->seq = seq;
	fl->group = strdup(group);
	fl->loading = 1;
	md_error_clear(&err);
	if (deck_group_members(d->base, group, &fl->m, &fl->n, &err) != MD_OK) {
		char msg[1400];

		md_error_format(&err, msg, sizeof(msg));
		fl->error = strdup(msg);
	}
	if (fl->error || !fl->n) {
		fl->loading = 0;
		publish_fleet(d, fl);
		return;
	}
	publish_fleet(d, fleet_copy(fl)); /* the names: progress 0 of n */
	j.d = d;
	j.fl = fl;
	j.ws = d->latest ? d->latest->ws : NULL;
	pthread_mutex_init(&j.mu, NULL);
	pool_run(d, fl->n, FLEET_JOBS, fleet_one, &j);
	pthread_mutex_destroy(&j.mu);
	fl->loading = 0;
	publish_fleet(d, fl);
}

/* The worker takes a config md_deck_switch handed over: a new connection,
 * a new load; the config before is freed (the front end moved on). */
static void take_config(md_deck *d, md_config *cfg)
{
	md_db_close(d->db);
	d->db = NULL;
	md_config_free(d->own);
	d->own = cfg;
	d->cfg = cfg;
	db_clear(&d->live);
	d->live.target = md_config_conn_display(cfg);
	d->live.conn = MD_DECK_CONNECTING;
	d->live.since = md_deck_now();
	d->ever_up = 0;
	d->next_poll = 0;
	d->next_others = 0;
	d->others_named = 0;
	data_free(d->latest);
	d->latest = NULL;
}

/* Under d->mu: nothing is asked for. */
static int idle_now(const md_deck *d)
{
	return !d->want_full && d->diff_asked == d->diff_seq && !d->want_poll &&
	       d->fleet_asked == d->fleet_seq && !d->next_cfg;
}

static void *worker(void *arg)
{
	md_deck *d = arg;

	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		int full, others_due;
		double now;

		if (d->next_cfg) {
			/* a switch: the settings before are done with */
			md_config *cfg = d->next_cfg;

			d->next_cfg = NULL;
			d->wgen = d->gen;
			pthread_mutex_unlock(&d->mu);
			take_config(d, cfg);
			pthread_mutex_lock(&d->mu);
			d->want_full = d->busy = 1;
			continue;
		}
		if (d->want_poll) {
			d->want_poll = 0;
			d->next_poll = 0; /* due now */
		}
		now = md_deck_now();
		others_due = d->base->ntargets > 0 && now >= d->next_others;
		if (!d->want_full && d->diff_asked == d->diff_seq && d->fleet_asked == d->fleet_seq &&
		    !others_due) {
			double wake = d->db ? d->next_poll : d->busy == 2 ? 0 : d->live.retry_at;

			if (d->base->ntargets > 0 && d->next_others < wake)
				wake = d->next_others;
			if (wake > now) {
				struct timespec ts;

				ts.tv_sec = (time_t)wake;
				ts.tv_nsec = (long)((wake - (double)ts.tv_sec) * 1e9);
				pthread_cond_timedwait(&d->cv, &d->mu, &ts);
				continue;
			}
		}
		full = d->want_full;
		d->want_full = 0;
		if (!full && d->diff_asked != d->diff_seq) {
			md_deck_diff_kind kind = d->diff_kind;
			char *path = d->diff_path;
			unsigned long seq = d->diff_asked;

			d->diff_path = NULL;
			d->diff_seq = seq;
			pthread_mutex_unlock(&d->mu);
			compute_diff(d, kind, path ? path : "", seq);
			free(path);
			pthread_mutex_lock(&d->mu);
			if (idle_now(d))
				d->busy = 0;
			pthread_cond_broadcast(&d->cv);
			continue;
		}
		if (!full && d->fleet_asked != d->fleet_seq) {
			char *group = d->fleet_group;
			unsigned long seq = d->fleet_asked;

			d->fleet_group = NULL;
			d->fleet_seq = seq;
			pthread_mutex_unlock(&d->mu);
			compute_fleet(d, group ? group : "", seq);
			free(group);
			pthread_mutex_lock(&d->mu);
			if (idle_now(d))
				d->busy = 0;
			pthread_cond_broadcast(&d->cv);
			continue;
		}
		pthread_mutex_unlock(&d->mu);
		if (full) {
			full_load(d);
		} else if (others_due) {
			load_others(d);
		} else if (!d->db) {
			try_connect(d);
			if (d->db) {
				/* back: reload what the database says */
				pthread_mutex_lock(&d->mu);
				d->want_full = d->busy = 1;
				pthread_mutex_unlock(&d->mu);
			}
			publish_db(d);
		} else {
			poll_db(d);
			publish_db(d);
		}
		pthread_mutex_lock(&d->mu);
		/* (the other targets' reload answers no poll asked for) */
		if ((full || (!others_due && d->busy == 2)) && idle_now(d))
			d->busy = 0;
		pthread_cond_broadcast(&d->cv);
	}
	d->stopped = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* ---- the front end's side ------------------------------------------------- */

md_status md_deck_open(md_deck **out, const md_config *cfg, const md_deck_opts *opts,
		       md_error *err)
{
	md_deck *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d || !(d->cur_data = calloc(1, sizeof(*d->cur_data))) ||
	    !(d->cur_db = calloc(1, sizeof(*d->cur_db)))) {
		if (d)
			free(d->cur_data);
		free(d);
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	d->base = d->cfg = d->ui_cfg = cfg;
	d->o.poll_seconds = opts && opts->poll_seconds > 0 ? opts->poll_seconds : 2.0;
	d->o.retry_seconds = opts && opts->retry_seconds > 0 ? opts->retry_seconds : 5.0;
	d->o.others_seconds = opts && opts->others_seconds > 0 ? opts->others_seconds : 30.0;
	d->live.target = md_config_conn_display(cfg);
	d->live.conn = MD_DECK_CONNECTING;
	d->live.since = md_deck_now();
	d->cur_db->target = xstrdup(d->live.target);
	d->cur_db->conn = MD_DECK_CONNECTING;
	d->cur_db->since = d->live.since;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->want_full = d->busy = 1;
	{
		/* the worker takes no signals: SIGINT, SIGTERM, SIGWINCH ... go
		 * to the front end's thread, whose handlers expect them */
		sigset_t all, old;
		int rc;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		rc = pthread_create(&d->th, NULL, worker, d);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			md_deck_close(d);
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "cannot start a thread");
		}
	}
	d->started = 1;
	*out = d;
	return MD_OK;
}

int md_deck_close(md_deck *d)
{
	int stopped = 1;

	if (!d)
		return 0;
	if (d->started) {
		/* a connection attempt cannot be interrupted: give it a moment,
		 * then leave it to the exiting process */
		double until = md_deck_now() + 2.0;

		pthread_mutex_lock(&d->mu);
		d->stop = 1;
		pthread_cond_broadcast(&d->cv);
		while (!d->stopped && md_deck_now() < until) {
			struct timespec ts;
			double w = md_deck_now() + 0.05;

			ts.tv_sec = (time_t)w;
			ts.tv_nsec = (long)((w - (double)ts.tv_sec) * 1e9);
			pthread_cond_timedwait(&d->cv, &d->mu, &ts);
		}
		stopped = d->stopped;
		pthread_mutex_unlock(&d->mu);
		if (!stopped) {
			pthread_detach(d->th);
			return -1;
		}
		pthread_join(d->th, NULL);
	}
	md_db_close(d->db);
	db_clear(&d->live);
	data_free(d->latest);
	diff_free(d->box_diff);
	diff_free(d->cur_diff);
	free(d->diff_path);
	data_free(d->box_data);
	db_free(d->box_db);
	data_free(d->cur_data);
	db_free(d->cur_db);
	others_free(d->box_others);
	others_free(d->cur_others);
	fleet_free(d->box_fleet);
	fleet_free(d->cur_fleet);
	free(d->fleet_group);
	md_config_free(d->next_cfg);
	md_config_free(d->own);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
	return 0;
}

int md_deck_take(md_deck *d)
{
	md_deck_data *x;
	md_deck_db *s;
	md_deck_diff *f;
	md_deck_others *o;
	md_deck_fleet *fl;
	int got = 0;

	pthread_mutex_lock(&d->mu);
	x = d->box_data;
	s = d->box_db;
	f = d->box_diff;
	o = d->box_others;
	fl = d->box_fleet;
	d->box_data = NULL;
	d->box_db = NULL;
	d->box_diff = NULL;
	d->box_others = NULL;
	d->box_fleet = NULL;
	pthread_mutex_unlock(&d->mu);
	if (o) {
		others_free(d->cur_others);
		d->cur_others = o;
		got |= 8;
	}
	if (fl) {
		fleet_free(d->cur_fleet);
		d->cur_fleet = fl;
		got |= 16;
	}
	if (f) {
		diff_free(d->cur_diff);
		d->cur_diff = f;
		got |= 4;
	}
	if (x) {
		data_free(d->cur_data);
		d->cur_data = x;
		got |= 1;
	}
	if (s) {
		db_free(d->cur_db);
		d->cur_db = s;
		got |= 2;
	}
	return got;
}

const md_deck_data *md_deck_current(const md_deck *d)
{
	return d->cur_data;
}

const md_deck_db *md_deck_db_state(const md_deck *d)
{
	return d->cur_db;
}

void md_deck_watch(md_deck *d, int pid)
{
	pthread_mutex_lock(&d->mu);
	d->watch_pid = pid;
	pthread_mutex_unlock(&d->mu);
	md_deck_poll_now(d);
}

void md_deck_poll_now(md_deck *d)
{
	pthread_mutex_lock(&d->mu);
	d->want_poll = 1;
	if (!d->busy)
		d->busy = 2; /* 2: only a poll is awaited */
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

unsigned long md_deck_request_diff(md_deck *d, md_deck_diff_kind kind, const char *path)
{
	unsigned long seq;

	pthread_mutex_lock(&d->mu);
	free(d->diff_path);
	d->diff_path = strdup(path);
	d->diff_kind = kind;
	seq = ++d->diff_asked;
	d->busy = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return seq;
}

const md_deck_diff *md_deck_current_diff(const md_deck *d)
{
	return d->cur_diff;
}

void md_deck_refresh(md_deck *d)
{
	pthread_mutex_lock(&d->mu);
	d->want_full = d->busy = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

int md_deck_busy(md_deck *d)
{
	int b;

	pthread_mutex_lock(&d->mu);
	b = d->busy;
	pthread_mutex_unlock(&d->mu);
	return b;
}

int md_deck_wait_idle(md_deck *d, double timeout_s)
{
	double until = md_deck_now() + timeout_s;
	int b;

	pthread_mutex_lock(&d->mu);
	while (d->busy && md_deck_now() < until) {
		struct timespec ts;
		double w = md_deck_now() + 0.05;

		ts.tv_sec = (time_t)w;
		ts.tv_nsec = (long)((w - (double)ts.tv_sec) * 1e9);
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	}
	b = d->busy;
	pthread_mutex_unlock(&d->mu);
	return !b;
}

void md_deck_switch(md_deck *d, md_config *cfg)
{
	md_config *unseen;
	md_deck_data *bx, *fresh = calloc(1, sizeof(*fresh));
	md_deck_db *bs, *live = calloc(1, sizeof(*live));
	md_deck_diff *bf;
	md_deck_others *bo;

	pthread_mutex_lock(&d->mu);
	unseen = d->next_cfg; /* a switch the worker never took */
	d->next_cfg = cfg;
	d->gen++;
	d->busy = 1;
	bx = d->box_data;
	bs = d->box_db;
	bf = d->box_diff;
	bo = d->box_others;
	d->box_data = NULL;
	d->box_db = NULL;
	d->box_diff = NULL;
	d->box_others = NULL;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	md_config_free(unseen);
	data_free(bx);
	db_free(bs);
	diff_free(bf);
	others_free(bo);
	d->ui_cfg = cfg;
	/* the pictures of the settings before go: empty ones until the
	 * worker has the new ones */
	if (fresh) {
		fresh->refs = 1;
		data_free(d->cur_data);
		d->cur_data = fresh;
	}
	if (live) {
		live->target = md_config_conn_display(cfg);
		live->conn = MD_DECK_CONNECTING;
		live->since = md_deck_now();
		db_free(d->cur_db);
		d->cur_db = live;
	}
	others_free(d->cur_others);
	d->cur_others = NULL;
}

const md_config *md_deck_config(const md_deck *d)
{
	return d->ui_cfg;
}

const md_config *md_deck_base(const md_deck *d)
{
	return d->base;
}

const md_deck_others *md_deck_current_others(const md_deck *d)
{
	return d->cur_others;
}

unsigned long md_deck_load_fleet(md_deck *d, const char *group)
{
	unsigned long seq;

	pthread_mutex_lock(&d->mu);
	free(d->fleet_group);
	d->fleet_group = strdup(group);
	seq = ++d->fleet_asked;
	d->busy = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return seq;
}

const md_deck_fleet *md_deck_current_fleet(const md_deck *d)
{
	return d->cur_fleet;
}

md_git_state md_deck_git_state(const md_deck_data *data, const md_file *f)
{
	const md_workspace *ws = data ? data->ws : NULL;

	if (!ws || !data->git || !f)
		return MD_GIT_UNKNOWN;
	if (f >= ws->files && f < ws->files + ws->nfiles)
		return (md_git_state)data->git[f - ws->files];
	if (f >= ws->rollbacks && f < ws->rollbacks + ws->nrollbacks)
		return (md_git_state)data->git[ws->nfiles + (size_t)(f - ws->rollbacks)];
	return MD_GIT_UNKNOWN;
}
