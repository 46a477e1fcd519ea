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
 * frees them. */
#include "deck.h"

#include "db.h"
#include "diffs.h"
#include "runner.h"
#include "util.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A workspace and its git states, shared by the pictures of one load. */
struct md_deck_ws {
	md_workspace *ws;
	unsigned char *git;
	int refs;
};

struct md_deck {
	const md_config *cfg;
	md_deck_opts o;
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* the worker's wake-ups and md_deck_wait_idle */
	int stop, stopped, want_full, busy;
	md_deck_data *box_data;  /* published, not taken yet */
	md_deck_db *box_db;
	md_deck_diff *box_diff;
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
	/* the worker's side */
	md_db *db;
	md_deck_db live;
	int ever_up;
	double next_poll;
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

static void publish_data(md_deck *d, md_deck_data *x)
{
	md_deck_data *old;

	pthread_mutex_lock(&d->mu);
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
}

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
	diff_free(d->box_diff);
	d->box_diff = x;
	pthread_mutex_unlock(&d->mu);
}

static void *worker(void *arg)
{
	md_deck *d = arg;

	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		int full;

		if (d->want_poll) {
			d->want_poll = 0;
			d->next_poll = 0; /* due now */
		}
		if (!d->want_full && d->diff_asked == d->diff_seq) {
			double wake = d->db ? d->next_poll : d->busy == 2 ? 0 : d->live.retry_at;
			double now = md_deck_now();

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
			if (!d->want_full && d->diff_asked == d->diff_seq && !d->want_poll)
				d->busy = 0;
			pthread_cond_broadcast(&d->cv);
			continue;
		}
		pthread_mutex_unlock(&d->mu);
		if (full) {
			full_load(d);
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
		if (((full && !d->want_full) || (!full && d->busy == 2)) && d->diff_asked == d->diff_seq &&
		    !d->want_poll)
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
	d->cfg = cfg;
	d->o.poll_seconds = opts && opts->poll_seconds > 0 ? opts->poll_seconds : 2.0;
	d->o.retry_seconds = opts && opts->retry_seconds > 0 ? opts->retry_seconds : 5.0;
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
	int got = 0;

	pthread_mutex_lock(&d->mu);
	x = d->box_data;
	s = d->box_db;
	f = d->box_diff;
	d->box_data = NULL;
	d->box_db = NULL;
	d->box_diff = NULL;
	pthread_mutex_unlock(&d->mu);
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
