/* runner.c - apply and roll back migration files.  See runner.h.
 *
 * The order of an apply, per the design: BEGIN; SET LOCAL lock_timeout and
 * statement_timeout; the statements one by one (COPY data through libpq's
 * COPY protocol); the history row and the event; COMMIT; then rename the
 * file.  A crash between COMMIT and the rename leaves a file in pending/
 * that the database records as applied: the plan shows it misplaced and
 * the next run moves it. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "flyway.h"
#include "history.h"
#include "util.h"
#include "vcs.h"

/* ---- small helpers ---------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The working directory, read once (pthread_once: the fleet's workers
 * show paths from several threads). */
static char show_cwd[PATH_MAX];
static int show_have;
static pthread_once_t show_once = PTHREAD_ONCE_INIT;

static void show_cwd_read(void)
{
	show_have = getcwd(show_cwd, sizeof(show_cwd)) ? 1 : -1;
}

const char *md_show_path(const char *path)
{
	const char *cwd = show_cwd;
	size_t n;

	pthread_once(&show_once, show_cwd_read);
	if (show_have < 0 || !path)
		return path;
	n = strlen(cwd);
	if (strncmp(path, cwd, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

static void emit(md_runner *r, md_run_ev kind, const md_file *f, const char *action, unsigned index,
		 unsigned count, const char *text, long long ms, int attempt, const md_error *err)
{
	md_run_event ev;

	if (!r->cb)
		return;
	ev.kind = kind;
	ev.file = f;
	ev.action = action;
	ev.index = index;
	ev.count = count;
	ev.text = text;
	ev.ms = ms;
	ev.attempt = attempt;
	ev.err = err;
	ev.progress = NULL;
	r->cb(&ev, r->payload);
}

/* The first two words (upper-cased, at most 31 bytes each) of a statement. */
static void first_words(const char *buf, const md_stmt *st, char w1[32], char w2[32])
{
	md_lexer lx;
	md_token tok;
	char *w[2] = { w1, w2 };
	int n = 0;

	w1[0] = w2[0] = '\0';
	md_lexer_init(&lx, buf, st->end, 0);
	lx.pos = st->head;
	while (n < 2 && md_lexer_next(&lx, &tok) != MD_TOK_EOF) {
		size_t len = tok.end - tok.start, i;
		if (tok.kind == MD_TOK_SPACE || tok.kind == MD_TOK_COMMENT)
			continue;
		if (tok.kind != MD_TOK_KEYWORD && tok.kind != MD_TOK_IDENT)
			break;
		if (len > 31)
			len = 31;
		for (i = 0; i < len; i++) {
			char c = buf[tok.start + i];
			w[n][i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
		}
		w[n][len] = '\0';
		n++;
	}
}

/* For the crash tests: MIGDECK_TEST_CRASH=after-commit kills the process
 * with SIGKILL right after a migration commits and before its file moves,
 * the window the design says the next start must heal. */
static void crash_point(const char *where)
{
	const char *want = getenv("MIGDECK_TEST_CRASH");
	if (want && strcmp(want, where) == 0)
		raise(SIGKILL);
}

/* ---- prepare ------------------------------------------------------------------ */

void md_prepared_free(md_prepared *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		md_sql_free(&p->stmts[i].sql);
	free(p->stmts);
	free(p->buf);
	free(p->path);
	free(p->text);
	free(p);
}

static md_status stmt_error(md_error *err, const md_prepared *p, const md_stmt *st, md_status code,
			    const char *fmt, const char *arg)
{
	md_error_set(err, code, p->path, st->line, st->col, fmt, arg);
	return code;
}

/* ---- dbmate's sections ------------------------------------------------------------ */

/* A line "-- migrate:up" or "-- migrate:down" (dbmate), maybe followed by
 * options such as "transaction:false": its kind (1 up, 2 down) or 0. */
static int marker_at(const char *p, const char *end, int *no_tx)
{
	const char *q = p, *eol;
	int kind = 0;

	if (end - q < 2 || q[0] != '-' || q[1] != '-')
		return 0;
	q += 2;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (end - q >= 10 && !memcmp(q, "migrate:up", 10))
		kind = 1, q += 10;
	else if (end - q >= 12 && !memcmp(q, "migrate:down", 12))
		kind = 2, q += 12;
	else
		return 0;
	if (q < end && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
		return 0;
	eol = memchr(q, '\n', (size_t)(end - q));
	if (!eol)
		eol = end;
	if (no_tx && memmem(q, (size_t)(eol - q), "transaction:false", 17))
		*no_tx = 1;
	return kind;
}

/* Where the sections of buf are: [up_from, up_to) and [down_from,
 * down_to); 0 when the file has no markers. */
typedef struct sections {
	size_t up_from, up_to, down_from, down_to;
	int has_up, has_down, up_no_tx, down_no_tx;
} sections;

static int find_sections(const char *buf, size_t len, sections *sc)
{
	const char *p = buf, *end = buf + len;
	size_t up_line = SIZE_MAX, down_line = SIZE_MAX, up_next = 0, down_next = 0;

	memset(sc, 0, sizeof(*sc));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		int no_tx = 0, k = marker_at(p, nl ? nl : end, &no_tx);

		if (k == 1 && up_line == SIZE_MAX) {
			up_line = (size_t)(p - buf);
			up_next = (size_t)(next - buf);
			sc->up_no_tx = no_tx;
		} else if (k == 2 && down_line == SIZE_MAX) {
			down_line = (size_t)(p - buf);
			down_next = (size_t)(next - buf);
			sc->down_no_tx = no_tx;
		}
		p = next;
	}
	if (up_line == SIZE_MAX && down_line == SIZE_MAX)
		return 0;
	sc->has_up = 1;
	sc->up_from = up_line == SIZE_MAX ? 0 : up_next;
	sc->up_to = down_line != SIZE_MAX && down_line >= sc->up_from ? down_line : len;
	if (down_line != SIZE_MAX) {
		sc->has_down = 1;
		sc->down_from = down_next;
		sc->down_to = up_line != SIZE_MAX && up_line >= down_next ? up_line : len;
	}
	return 1;
}

/* Blank buf outside [from, to) (every byte but a line break becomes a
 * space), so positions in the kept part stay what they are in the file. */
static void keep_only(char *buf, size_t len, size_t from, size_t to)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((i < from || i >= to) && buf[i] != '\n')
			buf[i] = ' ';
}

int md_has_down_section(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	md_error err;
	sections sc;
	int yes;

	if (md_read_file(path, &buf, &len, &err) != MD_OK)
		return 0;
	yes = find_sections(buf, len, &sc) && sc.has_down;
	free(buf);
	return yes;
}

md_status md_prepare(md_prepared **out, const char *path, const md_config *cfg, int server_version,
		     md_error *err)
{
	return md_prepare_part(out, path, cfg, server_version, MD_PART_UP, err);
}

md_status md_prepare_part(md_prepared **out, const char *path, const md_config *cfg,
			  int server_version, md_part part, md_error *err)
{
	sections sc;
	int force_autocommit = 0;
	md_prepared *p;
	md_stmt st;
	size_t cap = 0, i, first = SIZE_MAX, last = SIZE_MAX, nauto = 0, ntx = 0, textlen = 0;
	int rc;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return md_error_set(err, MD_ERR_NOMEM, path, 0, 0, "out of memory");
	p->path = strdup(md_show_path(path));
	if (!p->path) {
		free(p);
		return md_error_set(err, MD_ERR_NOMEM, path, 0, 0, "out of memory");
	}
	if ((rc = md_read_file(path, &p->buf, &p->len, err)) != MD_OK) {
		snprintf(err->file, sizeof(err->file), "%s", p->path);
		goto fail;
	}
	if ((rc = md_checksum(p->buf, p->len, p->checksum, err)) != MD_OK)
		goto fail;
	/* dbmate: one file, "-- migrate:up" and "-- migrate:down" sections */
	if (find_sections(p->buf, p->len, &sc)) {
		if (part == MD_PART_DOWN && !sc.has_down) {
			rc = md_error_set(err, MD_ERR_INVALID, p->path, 0, 0,
					  "has no -- migrate:down section");
			goto fail;
		}
		if (part == MD_PART_DOWN)
			keep_only(p->buf, p->len, sc.down_from, sc.down_to);
		else
			keep_only(p->buf, p->len, sc.up_from, sc.up_to);
		force_autocommit = part == MD_PART_DOWN ? sc.down_no_tx : sc.up_no_tx;
	} else if (part == MD_PART_DOWN) {
		rc = md_error_set(err, MD_ERR_INVALID, p->path, 0, 0, "has no -- migrate:down section");
		goto fail;
	}
	md_script_init(&p->script, p->buf, p->len, p->path);
	while ((rc = md_script_next(&p->script, &st, err)) > 0) {
		md_prepared_stmt *ps;

		if (st.flags & MD_STMT_META) {
			char cmd[64];
			size_t n = strcspn(p->buf + st.head, " \t\r\n");
			snprintf(cmd, sizeof(cmd), "%.*s", (int)(n < 60 ? n : 60), p->buf + st.head);
			rc = stmt_error(err, p, &st, MD_ERR_INVALID,
					"psql meta-command %s is not supported (migdeck sends SQL only)",
					cmd);
			goto fail;
		}
		if (p->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			md_prepared_stmt *ns = realloc(p->stmts, ncap * sizeof(*ns));
			if (!ns) {
				rc = md_error_set(err, MD_ERR_NOMEM, p->path, 0, 0, "out of memory");
				goto fail;
			}
			p->stmts = ns;
			cap = ncap;
		}
		ps = &p->stmts[p->n];
		memset(ps, 0, sizeof(*ps));
		ps->st = st;
		if ((rc = md_sql_render(&ps->sql, &p->script, &st, md_config_placeholder, (void *)cfg,
					err)) < 0)
			goto fail;
		p->n++;
		if (ps->sql.multi) {
			unsigned line, col;
			md_script_position(p->buf, p->len, ps->sql.multi_at, &line, &col);
			rc = md_error_set(err, MD_ERR_INVALID, p->path, line, col,
					  "psql's \\; sends several statements as one, which migdeck "
					  "cannot check or step through: end each statement with ;");
			goto fail;
		}
		if (st.flags & MD_STMT_EMPTY) {
			ps->skip = 1;
			continue;
		}
		if (first == SIZE_MAX)
			first = p->n - 1;
		last = p->n - 1;
	}
	if (rc < 0)
		goto fail;

	/* the file's own BEGIN ... COMMIT wrapper (the CRM seed style) */
	if (first != SIZE_MAX) {
		char a1[32], a2[32], z1[32], z2[32];
		int opens, closes;

		first_words(p->buf, &p->stmts[first].st, a1, a2);
		first_words(p->buf, &p->stmts[last].st, z1, z2);
		opens = (p->stmts[first].st.flags & MD_STMT_TX_CONTROL) &&
			(!strcmp(a1, "BEGIN") || !strcmp(a1, "START"));
		closes = first != last && (p->stmts[last].st.flags & MD_STMT_TX_CONTROL) &&
			 (!strcmp(z1, "COMMIT") || !strcmp(z1, "END")) && strcmp(z2, "PREPARED");
		if (opens && closes) {
			p->stmts[first].skip = p->stmts[last].skip = 1;
			p->wrapped = 1;
		} else if (opens) {
			rc = stmt_error(err, p, &p->stmts[first].st, MD_ERR_INVALID,
					"%s opens a transaction the file never commits", a1);
			goto fail;
		}
	}

	for (i = 0; i < p->n; i++) {
		md_prepared_stmt *ps = &p->stmts[i];
		char w1[32], w2[32];

		if (ps->skip)
			continue;
		if (ps->st.flags & MD_STMT_TX_CONTROL) {
			first_words(p->buf, &ps->st, w1, w2);
			/* savepoints live inside the runner's transaction */
			if (!(!strcmp(w1, "SAVEPOINT") || !strcmp(w1, "RELEASE") ||
			      (!strcmp(w1, "ROLLBACK") && !strcmp(w2, "TO")))) {
				rc = stmt_error(err, p, &ps->st, MD_ERR_INVALID,
						"%s in the middle of a migration would break its "
						"atomicity; only a BEGIN at the start with a COMMIT at "
						"the end is taken as the file's own transaction",
						w1);
				goto fail;
			}
		}
		if (md_stmt_needs_autocommit(ps->st.flags, server_version))
			nauto++;
		else
			ntx++;
		p->nsend++;
		textlen += ps->sql.len + 1;
	}
	if (force_autocommit && ntx && !p->wrapped) {
		/* dbmate's "transaction:false": run as it is, outside a transaction */
		nauto += ntx;
		ntx = 0;
	}
	if (nauto && ntx) {
		/* name the lines of both kinds */
		char lines[2][256];
		const md_stmt *firstauto = NULL;
		int k;

		for (k = 0; k < 2; k++) {
			size_t used = 0;
			lines[k][0] = '\0';
			for (i = 0; i < p->n; i++) {
				md_prepared_stmt *ps = &p->stmts[i];
				int n, autoc = md_stmt_needs_autocommit(ps->st.flags, server_version);
				if (ps->skip || autoc != (k == 0))
					continue;
				if (k == 0 && !firstauto)
					firstauto = &ps->st;
				n = snprintf(lines[k] + used, sizeof(lines[k]) - used, "%s%u",
					     used ? ", " : "", ps->st.line);
				if (n < 0 || (size_t)n >= sizeof(lines[k]) - used)
					break;
				used += (size_t)n;
			}
		}
		md_error_set(err, MD_ERR_INVALID, p->path, firstauto->line, firstauto->col,
			     "mixes statements that cannot run inside a transaction (line%s %s) with "
			     "statements that can (line%s %s); put the non-transactional ones in a "
			     "file of their own",
			     nauto > 1 ? "s" : "", lines[0], ntx > 1 ? "s" : "", lines[1]);
		rc = MD_ERR_INVALID;
		goto fail;
	}
	if (nauto && p->wrapped) {
		rc = stmt_error(err, p, &p->stmts[first].st, MD_ERR_INVALID,
				"%s: the file wraps in a transaction statements that cannot run in one",
				"BEGIN");
		goto fail;
	}
	p->autocommit = nauto > 0;

	p->text = malloc(textlen + 1);
	if (!p->text) {
		rc = md_error_set(err, MD_ERR_NOMEM, p->path, 0, 0, "out of memory");
		goto fail;
	}
	textlen = 0;
	for (i = 0; i < p->n; i++) {
		if (p->stmts[i].skip)
			continue;
		if (textlen)
			p->text[textlen++] = '\n';
		memcpy(p->text + textlen, p->stmts[i].sql.text, p->stmts[i].sql.len);
		textlen += p->stmts[i].sql.len;
	}
	p->text[textlen] = '\0';
	*out = p;
	return MD_OK;
fail:
	md_prepared_free(p);
	return (md_status)rc;
}

/* ---- running statements ------------------------------------------------------- */

static void notice_cb(void *arg, const PGresult *res)
{
	md_runner *r = arg;
	char text[2048];
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	snprintf(text, sizeof(text), "%s: %s", sev ? sev : "NOTICE", msg ? msg : "");
	emit(r, MD_RUN_NOTICE, NULL, NULL, 0, 0, text, 0, 0, NULL);
}

void md_runner_init(md_runner *r, md_db *db, const md_config *cfg, const md_workspace *ws,
		    md_run_cb cb, void *payload)
{
	memset(r, 0, sizeof(*r));
	r->db = db;
	r->cfg = cfg;
	r->ws = ws;
	r->cb = cb;
	r->payload = payload;
	if (db && db->conn)
		PQsetNoticeReceiver(db->conn, notice_cb, r);
}

void md_runner_done(md_runner *r)
{
	if (!r)
		return;
	md_db_close(r->watcher);
	r->watcher = NULL;
	/* the connection outlives the runner (a console's, a fleet worker's):
	 * its notices no longer come here */
	if (r->db && r->db->conn && r->db->notice_default)
		PQsetNoticeReceiver(r->db->conn, r->db->notice_default, NULL);
}

/* ---- progress of a long statement (doc/progress.md) ---------------------------- */

/* The time for a tick has come while the statement runs: connect the
 * watcher the first time, ask the server about our backend, emit
 * MD_RUN_PROGRESS.  Returns the milliseconds until the next tick. */
static long long progress_tick(void *payload)
{
	md_runner *r = payload;
	struct md_run_watch *w = &r->watch;
	md_progress pr;
	md_run_event ev;
	md_error e;
	char text[512];

	md_progress_clear(&pr);
	if (!r->watcher && !r->watcher_failed && md_db_pooled(r->db)) {
		/* behind a pooler the backend's pid is not ours to know, and a
		 * second connection would take a server connection from the pool */
		r->watcher_failed = 1;
		emit(r, MD_RUN_WARNING, w->f, w->action, w->index, w->count,
		     "no progress of long statements: the connection goes through a pooler", 0, 0,
		     NULL);
	}
	if (!r->watcher && !r->watcher_failed) {
		if (md_db_connect(&r->watcher, r->cfg, "progress", &e) != MD_OK) {
			r->watcher_failed = 1;
			snprintf(text, sizeof(text), "no progress of long statements: %.400s", e.msg);
			emit(r, MD_RUN_WARNING, w->f, w->action, w->index, w->count, text, 0, 0, NULL);
		}
	}
	if (r->watcher &&
	    md_progress_query(r->watcher, md_db_backend_pid(r->db), &pr, &e) != MD_OK) {
		/* a server that cannot say: no more asking in this run */
		md_db_close(r->watcher);
		r->watcher = NULL;
		r->watcher_failed = 1;
		md_progress_clear(&pr);
	}
	/* COPY ... FROM STDIN: the server does not know the size; we do */
	if (pr.kind == MD_PROGRESS_COPY && pr.n.bytes_total <= 0 && w->copy_bytes > 0) {
		pr.n.bytes_total = w->copy_bytes;
		md_progress_pick(&pr);
	}
	pr.elapsed_ms = now_ms() - w->t0;
	md_progress_format(&pr, text, sizeof(text));
	w->due = now_ms() + r->progress_ms;
	if (r->cb) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = MD_RUN_PROGRESS;
		ev.file = w->f;
		ev.action = w->action;
		ev.index = w->index;
		ev.count = w->count;
		ev.text = text;
		ev.ms = pr.elapsed_ms;
		ev.progress = &pr;
		r->cb(&ev, r->payload);
	}
	return r->progress_ms;
}

/* The next result of the statement sent: with progress_ms, waited for with
 * ticks (md_db_wait); otherwise PQgetResult blocks as usual. */
static PGresult *next_result(md_runner *r)
{
	if (r->progress_ms > 0) {
		long long first = r->watch.due - now_ms();

		md_db_wait(r->db, first > 0 ? first : 0, progress_tick, r);
	}
	return PQgetResult(r->db->conn);
}

/* HEAD of the workspace's repository, looked up when first recorded. */
static const char *git_commit(md_runner *r)
{
	if (!r->git_looked) {
		md_error err;
		r->git_looked = 1;
		if (md_vcs_head(r->cfg->pending_dir, r->git_commit, &err) <= 0)
			r->git_commit[0] = '\0';
	}
	return r->git_commit[0] ? r->git_commit : NULL;
}

/* Send one statement of p; for COPY ... FROM STDIN send its data. */
static md_status run_statement(md_runner *r, const md_prepared *p, const md_prepared_stmt *ps,
			       char tag[64], md_error *err)
{
	PGconn *conn = r->db->conn;
	PGresult *res, *failed = NULL;
	md_status rc = MD_OK;

	tag[0] = '\0';
	if (!PQsendQuery(conn, ps->sql.text))
		return md_db_error(err, conn, NULL);
	while ((res = next_result(r)) != NULL) {
		ExecStatusType s = PQresultStatus(res);
		if (s == PGRES_COPY_IN) {
			size_t n = ps->st.data_end - ps->st.data_start;
			const char *data = p->buf + ps->st.data_start;
			int ok = 1;
			while (ok && n) {
				int chunk = n > (1 << 20) ? (1 << 20) : (int)n;
				ok = PQputCopyData(conn, data, chunk) == 1;
				data += chunk;
				n -= (size_t)chunk;
			}
			PQputCopyEnd(conn, ok ? NULL : "migdeck: could not send the COPY data");
		} else if (s == PGRES_COPY_OUT) {
			char *line;
			while (PQgetCopyData(conn, &line, 0) > 0)
				PQfreemem(line);
		} else if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY) {
			if (!failed) {
				failed = res;
				continue;
			}
		} else {
			snprintf(tag, 64, "%s", PQcmdStatus(res));
		}
		PQclear(res);
	}
	if (failed) {
		long pos = md_db_error_position(failed);
		unsigned line = ps->st.line, col = ps->st.col;

		md_db_error(err, conn, failed);
		if (pos > 0) {
			size_t off = md_sql_source_offset(&ps->sql, pos);
			md_script_position(p->buf, p->len, off, &line, &col);
		}
		snprintf(err->file, sizeof(err->file), "%s", p->path);
		err->line = line;
		err->col = col;
		rc = MD_ERR_DB;
		PQclear(failed);
	}
	return rc;
}

/* Run the statements of p; the transaction (if any) is the caller's. */
static md_status run_statements(md_runner *r, const md_file *f, const char *action,
				const md_prepared *p, int in_tx, md_error *err)
{
	size_t i;
	unsigned k = 0;

	for (i = 0; i < p->n; i++) {
		const md_prepared_stmt *ps = &p->stmts[i];
		char tag[64];
		long long t0;
		md_status rc;

		if (ps->skip)
			continue;
		/* a lease lost (behind a pooler): another runner may be at work */
		if ((rc = md_db_lease_check(r->db, err)) != MD_OK)
			return rc;
		emit(r, MD_RUN_STATEMENT, f, action, k, (unsigned)p->nsend, ps->sql.text, 0, 0, NULL);
		t0 = now_ms();
		r->watch.f = f;
		r->watch.action = action;
		r->watch.index = k;
		r->watch.count = (unsigned)p->nsend;
		r->watch.t0 = t0;
		r->watch.due = t0 + (r->progress_ms > MD_PROGRESS_DELAY_MS ? r->progress_ms
									   : MD_PROGRESS_DELAY_MS);
		r->watch.copy_bytes = (long long)(ps->st.data_end - ps->st.data_start);
		rc = run_statement(r, p, ps, tag, err);
		if (rc != MD_OK)
			return rc;
		/* a statement must not end (or open) the transaction migdeck
		 * runs it in: what comes after would not be atomic */
		if ((PQtransactionStatus(r->db->conn) == PQTRANS_INTRANS) != (in_tx != 0))
			return md_error_set(err, MD_ERR_INVALID, p->path, ps->st.line, ps->st.col,
					    in_tx ? "this statement ended the transaction migdeck runs "
						    "the migration in; transaction control belongs to migdeck"
						  : "this statement opened a transaction in a file that "
						    "runs outside one");
		emit(r, MD_RUN_STATEMENT_DONE, f, action, k, (unsigned)p->nsend, tag, now_ms() - t0, 0,
		     NULL);
		k++;
	}
	return MD_OK;
}

static md_status exec_simple(md_runner *r, const char *sql, md_error *err)
{
	return md_db_exec(r->db, sql, err);
}

/* The end of a transaction: ROLLBACK in a dry run, else a COMMIT that must
 * really commit. */
static md_status end_tx(md_runner *r, md_error *err)
{
	return r->dry_run ? exec_simple(r, "ROLLBACK", err) : md_db_commit(r->db, err);
}

/* BEGIN and the run's timeouts, in one round trip. */
static md_status begin_tx(md_runner *r, md_error *err)
{
	const char *lt = r->cfg->lock_timeout, *st = r->cfg->statement_timeout;
	char *qlt = NULL, *qst = NULL, *qsp = NULL, *sql = NULL;
	md_status rc;

	int open = PQtransactionStatus(r->db->conn) == PQTRANS_INTRANS;

	if ((!lt || !strcmp(lt, "0")) && (!st || !strcmp(st, "0")) && !r->cfg->schema)
		return open ? MD_OK : exec_simple(r, "BEGIN", err);
	qlt = md_db_literal(r->db, lt ? lt : "0");
	qst = md_db_literal(r->db, st ? st : "0");
	if (r->cfg->schema) {
		/* a tenant schema ([database] schema): unqualified names are
		 * its own, in this transaction (a pooler keeps no session);
		 * SET takes the quoted identifier itself (a string literal
		 * would be one quoted element) */
		qsp = md_db_ident(r->db, r->cfg->schema);
	}
	if (!qlt || !qst || (r->cfg->schema && !qsp) ||
	    asprintf(&sql, "%sSET LOCAL lock_timeout = %s; SET LOCAL statement_timeout = %s%s%s",
		     open ? "" : "BEGIN; ", qlt, qst, qsp ? "; SET LOCAL search_path = " : "",
		     qsp ? qsp : "") < 0) {
		sql = NULL;
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	} else {
		rc = exec_simple(r, sql, err);
	}
	free(qlt);
	free(qst);
	free(qsp);
	free(sql);
	return rc;
}

static void rollback_quietly(md_runner *r)
{
	md_error ignore;
	if (PQtransactionStatus(r->db->conn) != PQTRANS_IDLE)
		exec_simple(r, "ROLLBACK", &ignore);
}

/* The file name of the backup this runner took (for the event rows), or
 * NULL. */
static const char *backup_file(const md_runner *r)
{
	const char *slash = strrchr(r->backup_path, '/');

	if (!r->backup_path[0])
		return NULL;
	return slash ? slash + 1 : r->backup_path;
}

/* Record a failure in the event table, in its own transaction. */
static void record_failure(md_runner *r, const md_file *f, const char *action, const md_error *e,
			   long long ms)
{
	char text[2600];
	md_event ev;
	md_error ignore;

	if (r->dry_run)
		return;
	if (r->in_tx) {
		/* written after the whole transaction is rolled back */
		r->failed = f;
		r->failed_action = action;
		r->failed_err = *e;
		r->failed_ms = ms;
		return;
	}
	md_error_format(e, text, sizeof(text));
	memset(&ev, 0, sizeof(ev));
	ev.action = "failure";
	ev.version = f->version.text[0] ? f->version.text : f->stem;
	ev.script = f->name;
	ev.outcome = "failed";
	ev.error = text;
	ev.detail = action;
	ev.duration_ms = ms;
	ev.git_commit = git_commit(r);
	ev.backup_file = backup_file(r);
	md_history_event(r->db, r->cfg, &ev, &ignore);
}

static const char *version_key(const md_file *f)
{
	return f->kind == MD_KIND_REPEATABLE || !f->version.text[0] ? f->stem : f->version.text;
}

static const char *git_commit(md_runner *r);

/* The history row and the event of f (kind "versioned", "repeatable" or
 * "baseline"; action "apply" or "baseline"), written in one statement. */
static md_status record(md_runner *r, const md_file *f, const char *kind, const char *action,
			const char *text, const char *checksum, long long ms, int success,
			const char *detail, md_error *err)
{
	md_apply_record rec;
	md_event ev;

	memset(&rec, 0, sizeof(rec));
	rec.version = version_key(f);
	rec.description = f->description;
	rec.script = f->name;
	rec.checksum = checksum;
	rec.kind = kind;
	rec.applied_sql = text;
	/* [git] commit = on: the commit of the move, filled in after it */
	/* a move commit fills it in later; nothing moves for another target */
	rec.git_commit = r->cfg->git_commit && r->cfg->tracked && !strcmp(action, "apply")
				 ? NULL
				 : git_commit(r);
	rec.execution_ms = ms;
	rec.success = success;
	memset(&ev, 0, sizeof(ev));
	ev.action = action;
	ev.version = rec.version;
	ev.script = f->name;
	ev.outcome = success ? "ok" : "failed";
	ev.detail = detail;
	ev.duration_ms = ms;
	ev.git_commit = rec.git_commit;
	ev.backup_file = backup_file(r);
	return md_history_record_apply_event(r->db, r->cfg, &rec, &ev, err);
}

static md_status record_apply(md_runner *r, const md_file *f, const md_prepared *p, long long ms,
			      int success, md_error *err)
{
	md_status rc = record(r, f, md_kind_name(f->kind), "apply", p->text, p->checksum, ms,
			      success, NULL, err);

	if (rc == MD_OK && r->mirror.tool != MD_FOREIGN_NONE)
		rc = md_mirror_apply(r->db, r->cfg, &r->mirror, f, md_flyway_checksum(p->buf, p->len),
				     ms, success, err);
	return rc;
}

/* ---- moving files ---------------------------------------------------------------- */

static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *s = malloc(a + b + 2);
	if (!s)
		return NULL;
	memcpy(s, dir, a);
	s[a] = '/';
	memcpy(s + a + 1, name, b + 1);
	return s;
}

/* rename(2) that never replaces an existing file. */
static int rename_noreplace(const char *from, const char *to)
{
	struct stat sb;
#ifdef RENAME_NOREPLACE
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	/* a file system without RENAME_NOREPLACE: check, then rename */
	if (stat(to, &sb) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

static md_status move_one(md_runner *r, const md_file *f, const char *path, md_folder to,
			  md_error *err)
{
	const char *dir = r->ws->dirs[to];
	char *dest, msg[PATH_MAX * 2 + 8];
	md_status rc = MD_OK;
	int e;

	dest = join(dir, f->name);
	if (!dest)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	if (strcmp(dest, path) == 0)
		goto done;
	e = rename_noreplace(path, dest) == 0 ? 0 : errno;
	if (e == ENOENT && access(path, F_OK) == 0) {
		/* the folder is missing: make it, once */
		if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
			rc = md_error_set(err, MD_ERR_IO, md_show_path(dir), 0, 0, "cannot create: %s",
					  strerror(errno));
			goto done;
		}
		e = rename_noreplace(path, dest) == 0 ? 0 : errno;
	}
	if (e == EEXIST) {
		rc = md_error_set(err, MD_ERR_IO, md_show_path(dest), 0, 0,
				  "exists already; not moving %s over it", md_show_path(path));
		goto done;
	}
	if (e) {
		rc = md_error_set(err, MD_ERR_IO, md_show_path(path), 0, 0, "cannot move to %s: %s",
				  md_show_path(dest), strerror(e));
		goto done;
	}
	if (r->nmoved < sizeof(r->moved) / sizeof(r->moved[0])) {
		snprintf(r->moved[r->nmoved].from, sizeof(r->moved[0].from), "%s", path);
		snprintf(r->moved[r->nmoved].to, sizeof(r->moved[0].to), "%s", dest);
		r->nmoved++;
	}
	snprintf(msg, sizeof(msg), "%s -> %s", md_show_path(path), md_show_path(dest));
	emit(r, MD_RUN_MOVED, f, NULL, 0, 0, msg, 0, 0, NULL);
done:
	free(dest);
	return rc;
}

md_status md_move_file(md_runner *r, const md_file *f, md_folder to, md_error *err)
{
	md_status rc;

	if (r->ws->single_folder && to != MD_FOLDER_ARCHIVE)
		return MD_OK;
	if (!r->cfg->tracked) /* the folders follow another target */
		return MD_OK;
	if (f->folder == to)
		return MD_OK;
	if ((rc = move_one(r, f, f->path, to, err)) != MD_OK)
		return rc;
	/* the rollback pair travels with its forward file */
	if (f->pair && f->pair->folder == f->folder)
		rc = move_one(r, f->pair, f->pair->path, to, err);
	return rc;
}

/* ---- apply ---------------------------------------------------------------------- */

static md_status apply_autocommit(md_runner *r, const md_file *f, md_prepared *p, long long t0,
				  md_error *err)
{
	md_status rc;
	char warn[1024];

	if (r->dry_run) {
		snprintf(warn, sizeof(warn),
			 "%s: %zu statement%s that cannot run in a transaction: not run in a dry run",
			 p->path, p->nsend, p->nsend == 1 ? "" : "s");
		emit(r, MD_RUN_WARNING, f, "apply", 0, 0, warn, 0, 0, NULL);
		return MD_OK;
	}
	if (r->in_tx)
		return md_error_set(err, MD_ERR_INVALID, p->path, 0, 0,
				    "cannot run inside the one transaction of [run] transaction = all: "
				    "its statements cannot run in a transaction block");
	snprintf(warn, sizeof(warn),
		 "%s runs outside a transaction (%s): if a statement fails, the ones before it "
		 "stay done",
		 p->path, p->autocommit ? "it cannot run in one" : "[run] transaction = none");
	emit(r, MD_RUN_WARNING, f, "apply", 0, 0, warn, 0, 0, NULL);
	rc = run_statements(r, f, "apply", p, 0, err);
	if (rc != MD_OK) {
		md_error ignore;
		/* partial work may remain: record a failed row so status says so */
		if (exec_simple(r, "BEGIN", &ignore) == MD_OK &&
		    record_apply(r, f, p, now_ms() - t0, 0, &ignore) == MD_OK)
			md_db_commit(r->db, &ignore);
		rollback_quietly(r);
		return rc;
	}
	if ((rc = exec_simple(r, "BEGIN", err)) != MD_OK)
		return rc;
	if ((rc = record_apply(r, f, p, now_ms() - t0, 1, err)) != MD_OK) {
		rollback_quietly(r);
		return rc;
	}
	return md_db_commit(r->db, err);
}

md_status md_run_apply(md_runner *r, const md_file *f, md_error *err)
{
	md_prepared *p = NULL;
	md_status rc;

	md_error_clear(err);
	rc = md_prepare(&p, f->path, r->cfg, r->db->server_version, err);
	if (rc != MD_OK) {
		emit(r, MD_RUN_FAILED, f, "apply", 0, 0, NULL, 0, 0, err);
		return rc;
	}
	return md_run_apply_prepared(r, f, p, err);
}

md_status md_run_apply_prepared(md_runner *r, const md_file *f, md_prepared *p, md_error *err)
{
	md_status rc;
	char checksum[41];
	long long t0 = now_ms();
	int attempt;

	md_error_clear(err);
	/* [database] backup = pg_dump: before the run's first change */
	if ((rc = md_runner_backup(r, err)) != MD_OK) {
		emit(r, MD_RUN_FAILED, f, "apply", 0, 0, NULL, 0, 0, err);
		md_prepared_free(p);
		return rc;
	}
	t0 = now_ms();
	emit(r, MD_RUN_START, f, "apply", 0, (unsigned)p->nsend, p->path, 0, 0, NULL);

	if (p->autocommit || (r->cfg->transaction == MD_TX_NONE && !r->dry_run && !r->in_tx)) {
		rc = apply_autocommit(r, f, p, t0, err);
		if (rc != MD_OK) {
			record_failure(r, f, "apply", err, now_ms() - t0);
			emit(r, MD_RUN_FAILED, f, "apply", 0, 0, NULL, 0, 0, err);
			md_prepared_free(p);
			return rc;
		}
		goto applied;
	}

	for (attempt = 0;; attempt++) {
		rc = r->in_tx ? exec_simple(r, "SAVEPOINT migdeck_migration", err) : begin_tx(r, err);
		if (rc == MD_OK)
			rc = run_statements(r, f, "apply", p, 1, err);
		if (rc == MD_OK)
			rc = record_apply(r, f, p, now_ms() - t0, 1, err);
		if (rc == MD_OK) {
			if (r->in_tx)
				rc = exec_simple(r, "RELEASE SAVEPOINT migdeck_migration", err);
			else
				rc = end_tx(r, err);
		}
		if (rc == MD_OK)
			break;
		if (r->in_tx) {
			md_error ignore;
			exec_simple(r, "ROLLBACK TO SAVEPOINT migdeck_migration", &ignore);
		} else {
			rollback_quietly(r);
		}
		if (strcmp(err->sqlstate, "55P03") == 0 && attempt < r->cfg->lock_retries) {
			long long wait = 500LL << (attempt < 6 ? attempt : 6);
			char text[2600];
			if (wait > 30000)
				wait = 30000;
			snprintf(text, sizeof(text), "%s:%u:%u: lock timeout (%s); retry %d of %d in %.1f s",
				 err->file, err->line, err->col, err->msg, attempt + 1,
				 r->cfg->lock_retries, (double)wait / 1000.0);
			emit(r, MD_RUN_RETRY, f, "apply", 0, 0, text, wait, attempt + 1, err);
			sleep_ms(wait);
			md_error_clear(err);
			continue;
		}
		if (!err->file[0]) /* the COMMIT itself failed (a deferred constraint) */
			snprintf(err->file, sizeof(err->file), "%s", p->path);
		record_failure(r, f, "apply", err, now_ms() - t0);
		emit(r, MD_RUN_FAILED, f, "apply", 0, 0, NULL, 0, 0, err);
		md_prepared_free(p);
		return rc;
	}

applied:
	snprintf(checksum, sizeof(checksum), "%s", p->checksum);
	md_prepared_free(p);
	crash_point("after-commit");
	if (!r->dry_run && !r->in_tx) {
		r->nmoved = 0;
		rc = md_move_file(r, f, MD_FOLDER_APPLIED, err);
		if (rc != MD_OK) {
			/* committed: the database is right, the folder is behind; the
			 * next run sees a misplaced file and moves it */
			emit(r, MD_RUN_WARNING, f, "apply", 0, 0, err->msg, 0, 0, NULL);
			md_error_clear(err);
		}
		md_runner_commit_moves(r, f, "apply", checksum, now_ms() - t0);
	}
	emit(r, MD_RUN_DONE, f, "apply", 0, 0, NULL, now_ms() - t0, 0, NULL);
	return MD_OK;
}

md_status md_runner_begin_all(md_runner *r, md_error *err)
{
	/* the backup before the transaction opens (not idle in it meanwhile) */
	md_status rc = md_runner_backup(r, err);

	if (rc == MD_OK)
		rc = begin_tx(r, err);
	if (rc == MD_OK)
		r->in_tx = 1;
	return rc;
}

void md_runner_abort_all(md_runner *r)
{
	if (!r->in_tx)
		return;
	r->in_tx = 0;
	rollback_quietly(r);
	if (r->failed) {
		record_failure(r, r->failed, r->failed_action, &r->failed_err, r->failed_ms);
		r->failed = NULL;
	}
}

md_status md_runner_commit_all(md_runner *r, const md_file *const *applied, size_t n, md_error *err)
{
	md_status rc;
	size_t i;

	if (!r->in_tx)
		return MD_OK;
	r->in_tx = 0;
	rc = end_tx(r, err);
	if (rc != MD_OK) {
		/* the whole run is undone: say so in the event table too */
		char text[2600], msg[sizeof(err->msg)];
		md_event ev;
		md_error ignore;

		rollback_quietly(r);
		snprintf(msg, sizeof(msg), "%s", err->msg);
		snprintf(err->msg, sizeof(err->msg), "COMMIT of the whole run ([run] transaction = all): %.900s",
			 msg);
		md_error_format(err, text, sizeof(text));
		memset(&ev, 0, sizeof(ev));
		ev.action = "failure";
		ev.outcome = "failed";
		ev.error = text;
		ev.detail = "apply";
		ev.git_commit = git_commit(r);
		ev.backup_file = backup_file(r);
		md_history_event(r->db, r->cfg, &ev, &ignore);
		return rc;
	}
	if (r->dry_run)
		return rc;
	for (i = 0; i < n; i++) {
		r->nmoved = 0;
		if (md_move_file(r, applied[i], MD_FOLDER_APPLIED, err) != MD_OK) {
			emit(r, MD_RUN_WARNING, applied[i], "apply", 0, 0, err->msg, 0, 0, NULL);
			md_error_clear(err);
		}
		md_runner_commit_moves(r, applied[i], "apply", applied[i]->checksum, -1);
	}
	return MD_OK;
}

/* ---- rollback ------------------------------------------------------------------- */

md_status md_run_rollback(md_runner *r, const md_file *forward, md_error *err)
{
	const md_file *rb = forward->pair;
	md_prepared *p = NULL;
	md_status rc;
	long long t0 = now_ms();
	md_event ev;
	char checksum[41];

	md_part part = MD_PART_UP;

	md_error_clear(err);
	if ((!rb || rb->kind != MD_KIND_ROLLBACK) && md_has_down_section(forward->path)) {
		rb = forward; /* dbmate: the file's own -- migrate:down section */
		part = MD_PART_DOWN;
	}
	if (!rb || (rb->kind != MD_KIND_ROLLBACK && part != MD_PART_DOWN))
		return md_error_set(err, MD_ERR_INVALID, md_show_path(forward->path), 0, 0,
				    "has no rollback script beside it (nothing was changed)");
	rc = md_prepare_part(&p, rb->path, r->cfg, r->db->server_version, part, err);
	if (rc == MD_OK && (rc = md_runner_backup(r, err)) != MD_OK)
		md_prepared_free(p);
	if (rc != MD_OK) {
		emit(r, MD_RUN_FAILED, rb, "rollback", 0, 0, NULL, 0, 0, err);
		return rc;
	}
	t0 = now_ms();
	emit(r, MD_RUN_START, rb, "rollback", 0, (unsigned)p->nsend, p->path, 0, 0, NULL);
	if (p->autocommit) {
		char warn[1024];
		if (r->dry_run) {
			snprintf(warn, sizeof(warn),
				 "%s: statements that cannot run in a transaction: not run in a dry run",
				 p->path);
			emit(r, MD_RUN_WARNING, rb, "rollback", 0, 0, warn, 0, 0, NULL);
			md_prepared_free(p);
			return MD_OK;
		}
		snprintf(warn, sizeof(warn),
			 "%s runs outside a transaction (it cannot run in one): if a statement fails, "
			 "the ones before it stay done",
			 p->path);
		emit(r, MD_RUN_WARNING, rb, "rollback", 0, 0, warn, 0, 0, NULL);
		rc = run_statements(r, rb, "rollback", p, 0, err);
		if (rc == MD_OK)
			rc = exec_simple(r, "BEGIN", err);
	} else {
		rc = begin_tx(r, err);
		if (rc == MD_OK)
			rc = run_statements(r, rb, "rollback", p, 1, err);
	}
	if (rc == MD_OK)
		rc = md_history_record_rollback(r->db, r->cfg, version_key(forward), err);
	if (rc == MD_OK && r->mirror.tool != MD_FOREIGN_NONE)
		rc = md_mirror_rollback(r->db, r->cfg, &r->mirror, forward, rb != forward ? rb : NULL,
					md_flyway_checksum(p->buf, p->len), now_ms() - t0, err);
	if (rc == MD_OK) {
		memset(&ev, 0, sizeof(ev));
		ev.action = "rollback";
		ev.version = version_key(forward);
		ev.script = rb->name;
		ev.outcome = "ok";
		ev.duration_ms = now_ms() - t0;
		ev.git_commit = r->cfg->git_commit && r->cfg->tracked ? NULL : git_commit(r);
		ev.backup_file = backup_file(r);
		rc = md_history_event(r->db, r->cfg, &ev, err);
	}
	if (rc == MD_OK)
		rc = end_tx(r, err);
	snprintf(checksum, sizeof(checksum), "%s", p->checksum);
	md_prepared_free(p);
	if (rc != MD_OK) {
		rollback_quietly(r);
		record_failure(r, rb, "rollback", err, now_ms() - t0);
		emit(r, MD_RUN_FAILED, rb, "rollback", 0, 0, NULL, 0, 0, err);
		return rc;
	}
	if (!r->dry_run) {
		r->nmoved = 0;
		if (md_move_file(r, forward, MD_FOLDER_PENDING, err) != MD_OK) {
			emit(r, MD_RUN_WARNING, forward, "rollback", 0, 0, err->msg, 0, 0, NULL);
			md_error_clear(err);
		}
		md_runner_commit_moves(r, forward, "rollback", checksum, now_ms() - t0);
	}
	emit(r, MD_RUN_DONE, rb, "rollback", 0, 0, NULL, now_ms() - t0, 0, NULL);
	return MD_OK;
}

/* ---- committing moves to git ---------------------------------------------------- */

static const char *db_name(md_runner *r)
{
	const char *n = r->db && r->db->conn ? PQdb(r->db->conn) : NULL;
	return n && *n ? n : "the database";
}

/* The version a file's history row has: a rollback file's forward's. */
static const char *row_version(const md_file *f)
{
	if (f->kind == MD_KIND_ROLLBACK && f->pair)
		f = f->pair;
	return version_key(f);
}

static void git_body(char *body, size_t sz, const char *checksum, const char *target, long long ms)
{
	size_t off = 0;

	body[0] = '\0';
	if (checksum && *checksum)
		off += (size_t)snprintf(body + off, sz - off, "Checksum: %s\n", checksum);
	if (off < sz)
		off += (size_t)snprintf(body + off, sz - off, "Target: %s\n", target);
	if (ms >= 0 && off < sz)
		snprintf(body + off, sz - off, "Duration: %lld ms\n", ms);
}

int md_runner_commit_moves(md_runner *r, const md_file *f, const char *action,
			   const char *checksum, long long ms)
{
	md_vcs_move mv[sizeof(r->moved) / sizeof(r->moved[0])];
	char subject[1024], body[512], warn[2600];
	const char *target = db_name(r);
	size_t i, n = r->nmoved;
	md_error err;
	int rc;

	r->nmoved = 0;
	r->last_commit[0] = '\0';
	if (!n || !r->cfg->git_commit || r->dry_run)
		return MD_VCS_UNCHANGED;
	for (i = 0; i < n; i++) {
		mv[i].from = r->moved[i].from;
		mv[i].to = r->moved[i].to;
	}
	if (!strcmp(action, "apply"))
		snprintf(subject, sizeof(subject), "migdeck: apply %s to %s", f->stem, target);
	else if (!strcmp(action, "rollback"))
		snprintf(subject, sizeof(subject), "migdeck: roll back %s on %s", f->stem, target);
	else {
		/* the folder it went to: the last folder of its new path */
		const char *end = strrchr(mv[0].to, '/'), *start = end;

		while (start && start > mv[0].to && start[-1] != '/')
			start--;
		snprintf(subject, sizeof(subject), "migdeck: %s: move %s to %.*s/ on %s", action,
			 f->stem, end ? (int)(end - start) : 0, end ? start : "", target);
	}
	git_body(body, sizeof(body), checksum, target, ms);
	md_error_clear(&err);
	rc = md_vcs_commit_moves(mv, n, subject, body, r->cfg->git_author_name,
				 r->cfg->git_author_email, r->last_commit, &err);
	if (rc == MD_VCS_NO_REPO) {
		if (!r->git_warned) {
			snprintf(warn, sizeof(warn),
				 "%s: not in a git repository: file moves are not committed",
				 md_show_path(r->ws->dirs[MD_FOLDER_PENDING]));
			emit(r, MD_RUN_WARNING, f, action, 0, 0, warn, 0, 0, NULL);
		}
		r->git_warned = 1;
		return rc;
	}
	if (rc < 0) {
		char text[2200];

		md_error_format(&err, text, sizeof(text));
		snprintf(warn, sizeof(warn),
			 "%s: moved, but the move is not committed to git (%s); migdeck commit "
			 "commits it later",
			 md_show_path(mv[0].to), text);
		emit(r, MD_RUN_WARNING, f, action, 0, 0, warn, 0, 0, NULL);
		r->last_commit[0] = '\0';
		return rc;
	}
	if (rc != MD_VCS_COMMITTED)
		return rc;
	emit(r, MD_RUN_COMMITTED, f, action, 0, (unsigned)n, r->last_commit, 0, 0, NULL);
	if (err.msg[0])
		emit(r, MD_RUN_WARNING, f, action, 0, 0, err.msg, 0, 0, NULL);
	md_error_clear(&err);
	if (md_history_set_git_commit(r->db, r->cfg, row_version(f),
				      !strcmp(action, "repair") ? NULL : action,
				      strcmp(action, "rollback") != 0, !strcmp(action, "repair"),
				      r->last_commit, &err) != MD_OK) {
		snprintf(warn, sizeof(warn), "committed %s, but not recorded in the history: %s",
			 r->last_commit, err.msg);
		emit(r, MD_RUN_WARNING, f, action, 0, 0, warn, 0, 0, NULL);
	}
	return rc;
}

/* The file of the workspace named as base name of path, in folder. */
static const md_file *file_at(const md_workspace *ws, const char *path)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t i;

	for (i = 0; i < ws->nfiles; i++)
		if (!strcmp(ws->files[i].name, name))
			return &ws->files[i];
	for (i = 0; i < ws->nrollbacks; i++)
		if (!strcmp(ws->rollbacks[i].name, name))
			return &ws->rollbacks[i];
	return NULL;
}

int md_runner_commit_left(md_runner *r, const md_vcs_move *moves, size_t n, char hex[41],
			  md_error *err)
{
	char subject[1024], *body = NULL;
	const char *target = db_name(r);
	const md_file *one;
	size_t i, sz = 256 + n * 200, off = 0;
	int rc;

	hex[0] = '\0';
	md_error_clear(err);
	if (!n)
		return MD_VCS_UNCHANGED;
	if (!(body = malloc(sz)))
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	/* one migration (a file and its rollback pair): its own subject */
	one = file_at(r->ws, moves[0].to);
	for (i = 1; one && i < n; i++) {
		const md_file *g = file_at(r->ws, moves[i].to);
		if (!g || strcmp(row_version(g), row_version(one)) != 0)
			one = NULL;
	}
	if (one) {
		const md_file *f = one->kind == MD_KIND_ROLLBACK && one->pair ? one->pair : one;
		int applied = f->folder == MD_FOLDER_APPLIED;

		snprintf(subject, sizeof(subject), "migdeck: %s %s %s %s (left uncommitted)",
			 applied ? "apply" : "roll back", f->stem, applied ? "to" : "on", target);
	} else {
		snprintf(subject, sizeof(subject), "migdeck: commit %zu file move%s left uncommitted (%s)",
			 n, n == 1 ? "" : "s", target);
	}
	for (i = 0; i < n; i++) {
		const md_file *f = file_at(r->ws, moves[i].to);

		if (f && off < sz)
			off += (size_t)snprintf(body + off, sz - off, "Checksum: %s %s\n", f->checksum,
						f->name);
	}
	if (off < sz)
		snprintf(body + off, sz - off, "Target: %s\n", target);
	rc = md_vcs_commit_moves(moves, n, subject, body, r->cfg->git_author_name,
				 r->cfg->git_author_email, hex, err);
	free(body);
	if (rc != MD_VCS_COMMITTED)
		return rc;
	if (err->msg[0])
		emit(r, MD_RUN_WARNING, NULL, "commit", 0, 0, err->msg, 0, 0, NULL);
	md_error_clear(err);
	for (i = 0; i < n; i++) {
		const md_file *f = file_at(r->ws, moves[i].to);
		int applied;
		md_error e2;

		if (!f)
			continue;
		applied = f->folder == MD_FOLDER_APPLIED || f->folder == MD_FOLDER_ARCHIVE;
		md_error_clear(&e2);
		if (md_history_set_git_commit(r->db, r->cfg, row_version(f),
					      applied ? "apply" : "rollback", applied, 1, hex,
					      &e2) != MD_OK) {
			char warn[1200];
			snprintf(warn, sizeof(warn), "committed %s, but not recorded in the history: %s",
				 hex, e2.msg);
			emit(r, MD_RUN_WARNING, f, "commit", 0, 0, warn, 0, 0, NULL);
		}
	}
	return rc;
}

/* ---- baseline, repair, drift ----------------------------------------------------- */

static md_status repair_event(md_runner *r, const char *version, const char *script,
			      const char *detail, md_error *err)
{
	md_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.action = "repair";
	ev.version = version;
	ev.script = script;
	ev.outcome = "ok";
	ev.detail = detail;
	ev.git_commit = git_commit(r);
	return md_history_event(r->db, r->cfg, &ev, err);
}

md_status md_run_baseline(md_runner *r, const md_file *const *files, size_t n, md_error *err)
{
	return md_run_baseline_at(r, files, n, NULL, NULL, err);
}

/* A baseline row of no file: version, description, kind "baseline". */
static md_status record_marker(md_runner *r, const char *version, const char *description,
			       md_error *err)
{
	md_apply_record rec;
	md_event ev;

	memset(&rec, 0, sizeof(rec));
	rec.version = version;
	rec.description = description;
	rec.script = description;
	rec.kind = "baseline";
	rec.git_commit = git_commit(r);
	rec.success = 1;
	memset(&ev, 0, sizeof(ev));
	ev.action = "baseline";
	ev.version = version;
	ev.script = description;
	ev.outcome = "ok";
	ev.detail = "baseline marker: every versioned file at or below it counts as applied";
	ev.git_commit = rec.git_commit;
	return md_history_record_apply_event(r->db, r->cfg, &rec, &ev, err);
}

md_status md_run_baseline_at(md_runner *r, const md_file *const *files, size_t n,
			     const char *version, const char *description, md_error *err)
{
	md_status rc;
	size_t i;

	if ((rc = exec_simple(r, "BEGIN", err)) != MD_OK)
		return rc;
	for (i = 0; i < n && rc == MD_OK; i++)
		rc = record(r, files[i], "baseline", "baseline", NULL, files[i]->checksum, 0, 1,
			    "recorded as applied without running it", err);
	if (rc == MD_OK && !n && version)
		rc = record_marker(r, version, description ? description : "<< Flyway Baseline >>",
				   err);
	if (rc == MD_OK && r->mirror.tool != MD_FOREIGN_NONE)
		rc = md_mirror_baseline(r->db, r->cfg, &r->mirror, files, n, version, description,
					err);
	if (rc == MD_OK)
		rc = end_tx(r, err);
	if (rc != MD_OK) {
		rollback_quietly(r);
		return rc;
	}
	for (i = 0; i < n && !r->dry_run; i++) {
		if (md_move_file(r, files[i], MD_FOLDER_APPLIED, err) != MD_OK) {
			emit(r, MD_RUN_WARNING, files[i], "baseline", 0, 0, err->msg, 0, 0, NULL);
			md_error_clear(err);
		}
	}
	return MD_OK;
}

md_status md_run_delete_failed(md_runner *r, long long *n, md_error *err)
{
	md_status rc;
	char detail[64];

	*n = 0;
	if ((rc = exec_simple(r, "BEGIN", err)) != MD_OK)
		return rc;
	rc = md_history_delete_failed(r->db, r->cfg, n, err);
	if (rc == MD_OK && *n && r->mirror.tool != MD_FOREIGN_NONE)
		rc = md_mirror_repair(r->db, r->cfg, &r->mirror, err);
	if (rc == MD_OK && *n) {
		snprintf(detail, sizeof(detail), "deleted %lld failed row%s", *n, *n == 1 ? "" : "s");
		rc = repair_event(r, NULL, NULL, detail, err);
	}
	if (rc == MD_OK)
		rc = end_tx(r, err);
	if (rc != MD_OK)
		rollback_quietly(r);
	return rc;
}

md_status md_run_realign(md_runner *r, const md_file *f, md_error *err)
{
	md_status rc;

	md_prepared *p = NULL;

	/* the text as it would be sent now becomes the recorded one (a file
	 * that no longer prepares keeps the old text) */
	if (md_prepare(&p, f->path, r->cfg, r->db->server_version, err) != MD_OK)
		md_error_clear(err);
	if ((rc = exec_simple(r, "BEGIN", err)) != MD_OK) {
		md_prepared_free(p);
		return rc;
	}
	rc = md_history_set_checksum(r->db, r->cfg, version_key(f), p ? p->checksum : f->checksum,
				     p ? p->text : NULL, err);
	if (rc == MD_OK && r->mirror.tool != MD_FOREIGN_NONE) {
		/* Flyway's checksum of the file as it is now */
		char *buf = NULL;
		size_t len = 0;

		if ((rc = md_read_file(f->path, &buf, &len, err)) == MD_OK)
			rc = md_mirror_realign(r->db, r->cfg, &r->mirror, f,
					       md_flyway_checksum(buf, len), err);
		free(buf);
	}
	md_prepared_free(p);
	if (rc == MD_OK)
		rc = repair_event(r, version_key(f), f->name, "recorded checksum set to the file's", err);
	if (rc == MD_OK)
		rc = end_tx(r, err);
	if (rc != MD_OK)
		rollback_quietly(r);
	return rc;
}

int md_run_drift(md_runner *r, const md_file *f, md_error *err)
{
	char *applied = NULL;
	md_prepared *p = NULL;
	int real;

	if (md_history_applied_sql(r->db, r->cfg, version_key(f), &applied, err) != MD_OK)
		return -1;
	if (!applied)
		return -1;
	if (md_prepare(&p, f->path, r->cfg, r->db->server_version, err) != MD_OK) {
		free(applied);
		md_error_clear(err);
		return 2;
	}
	if (strcmp(applied, p->text) == 0)
		real = 0;
	else
		real = md_drift_is_real(applied, strlen(applied), p->text, strlen(p->text)) ? 2 : 1;
	md_prepared_free(p);
	free(applied);
	return real;
}

md_status md_run_statements(md_runner *r, const md_file *f, const md_prepared *p, int in_tx,
			    md_error *err)
{
	md_error_clear(err);
	return run_statements(r, f, "preview", p, in_tx, err);
}

void md_run_classify_drift(md_runner *r, md_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		md_plan_item *it = &plan->items[i];
		md_error err;
		int d;

		if (!(it->flags & MD_PLAN_DRIFT) || !it->file)
			continue;
		md_error_clear(&err);
		d = md_run_drift(r, it->file, &err);
		it->flags |= (d == 0 || d == 1) ? MD_PLAN_DRIFT_COSMETIC : MD_PLAN_DRIFT_REAL;
	}
}

/* ---- stepping ------------------------------------------------------------------------ */

unsigned md_step_left(const md_step *s)
{
	return s->p && s->p->nsend > s->sent ? (unsigned)(s->p->nsend - s->sent) : 0;
}

md_status md_step_begin(md_step *s, md_runner *r, const md_file *f, int rollback, md_error *err)
{
	md_part part = MD_PART_UP;
	md_status rc;

	memset(s, 0, sizeof(*s));
	s->r = r;
	s->f = f;
	s->run = f;
	s->action = rollback ? "rollback" : "apply";
	s->t0 = now_ms();
	md_error_clear(err);
	if (r->dry_run || r->in_tx)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
				    "stepping runs its own transaction (no dry run, no transaction = all)");
	if (rollback) {
		s->run = f->pair;
		if ((!s->run || s->run->kind != MD_KIND_ROLLBACK) && md_has_down_section(f->path)) {
			s->run = f;
			part = MD_PART_DOWN;
		}
		if (!s->run || (s->run->kind != MD_KIND_ROLLBACK && part != MD_PART_DOWN))
			return md_error_set(err, MD_ERR_INVALID, md_show_path(f->path), 0, 0,
					    "has no rollback script beside it (nothing was changed)");
	}
	rc = md_prepare_part(&s->p, s->run->path, r->cfg, r->db->server_version, part, err);
	if (rc != MD_OK)
		return rc;
	/* [database] backup = pg_dump: before the first statement is sent */
	if ((rc = md_runner_backup(r, err)) != MD_OK) {
		md_prepared_free(s->p);
		s->p = NULL;
		return rc;
	}
	s->t0 = now_ms();
	s->autocommit = s->p->autocommit || r->cfg->transaction == MD_TX_NONE;
	emit(r, MD_RUN_START, s->run, s->action, 0, (unsigned)s->p->nsend, s->p->path, 0, 0, NULL);
	if (s->autocommit) {
		char warn[1024];

		snprintf(warn, sizeof(warn),
			 "%s runs outside a transaction (%s): each statement is committed as it "
			 "runs, and aborting cannot undo the ones that ran",
			 s->p->path, s->p->autocommit ? "it cannot run in one" : "[run] transaction = none");
		emit(r, MD_RUN_WARNING, s->run, s->action, 0, 0, warn, 0, 0, NULL);
	} else if ((rc = begin_tx(r, err)) != MD_OK) {
		md_prepared_free(s->p);
		s->p = NULL;
		return rc;
	}
	s->open = 1;
	return MD_OK;
}

int md_step_next(md_step *s, md_error *err)
{
	md_prepared one;
	md_status rc;

	md_error_clear(err);
	if (!s->open || s->failed)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
				    s->failed ? "a statement failed: only abort is left"
					      : "no migration is being stepped");
	while (s->next < s->p->n && s->p->stmts[s->next].skip)
		s->next++;
	if (s->next >= s->p->n)
		return 0;
	/* the runner's own loop on a view of the one statement: the same
	 * events, error positions and transaction checks as a whole apply */
	one = *s->p;
	one.stmts = &s->p->stmts[s->next];
	one.n = 1;
	one.nsend = 1;
	rc = run_statements(s->r, s->run, s->action, &one, !s->autocommit, err);
	s->next++;
	if (rc != MD_OK) {
		s->failed = 1;
		emit(s->r, MD_RUN_FAILED, s->run, s->action, 0, 0, NULL, 0, 0, err);
		return rc;
	}
	s->sent++;
	return 1;
}

md_status md_step_commit(md_step *s, md_error *err)
{
	md_runner *r = s->r;
	char checksum[41];
	md_status rc;
	md_event ev;

	md_error_clear(err);
	if (!s->open || s->failed || md_step_left(s))
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
				    s->failed ? "a statement failed: only abort is left"
				    : md_step_left(s) ? "statements are left to run before the commit"
						      : "no migration is being stepped");
	if (s->autocommit && (rc = exec_simple(r, "BEGIN", err)) != MD_OK)
		return rc;
	if (!strcmp(s->action, "apply")) {
		rc = record_apply(r, s->f, s->p, now_ms() - s->t0, 1, err);
	} else {
		rc = md_history_record_rollback(r->db, r->cfg, version_key(s->f), err);
		if (rc == MD_OK && r->mirror.tool != MD_FOREIGN_NONE)
			rc = md_mirror_rollback(r->db, r->cfg, &r->mirror, s->f,
						s->run != s->f ? s->run : NULL,
						md_flyway_checksum(s->p->buf, s->p->len),
						now_ms() - s->t0, err);
		if (rc == MD_OK) {
			memset(&ev, 0, sizeof(ev));
			ev.action = "rollback";
			ev.version = version_key(s->f);
			ev.script = s->run->name;
			ev.outcome = "ok";
			ev.duration_ms = now_ms() - s->t0;
			ev.git_commit = r->cfg->git_commit && r->cfg->tracked ? NULL : git_commit(r);
			ev.backup_file = backup_file(r);
			rc = md_history_event(r->db, r->cfg, &ev, err);
		}
	}
	if (rc == MD_OK)
		rc = md_db_commit(r->db, err);
	if (rc != MD_OK) {
		if (!err->file[0])
			snprintf(err->file, sizeof(err->file), "%s", s->p->path);
		md_step_abort(s);
		return rc;
	}
	s->open = 0;
	snprintf(checksum, sizeof(checksum), "%s", s->p->checksum);
	r->nmoved = 0;
	if (md_move_file(r, s->f, strcmp(s->action, "apply") ? MD_FOLDER_PENDING : MD_FOLDER_APPLIED,
			 err) != MD_OK) {
		emit(r, MD_RUN_WARNING, s->f, s->action, 0, 0, err->msg, 0, 0, NULL);
		md_error_clear(err);
	}
	md_runner_commit_moves(r, s->f, s->action, checksum, now_ms() - s->t0);
	emit(r, MD_RUN_DONE, s->run, s->action, 0, 0, NULL, now_ms() - s->t0, 0, NULL);
	md_prepared_free(s->p);
	s->p = NULL;
	return MD_OK;
}

void md_step_abort(md_step *s)
{
	md_error e;

	if (s->open) {
		rollback_quietly(s->r);
		if (s->autocommit && (s->sent || s->failed)) {
			/* what ran stays done: say so where the history keeps it,
			 * as a whole apply outside a transaction does (a failed row:
			 * status shows it, repair clears it) */
			md_error ignore;

			md_error_set(&e, MD_ERR_DB, s->p->path, 0, 0,
				     "aborted after %u statement%s that ran outside a transaction and "
				     "stay done", s->sent, s->sent == 1 ? "" : "s");
			record_failure(s->r, s->run, s->action, &e, now_ms() - s->t0);
			if (!strcmp(s->action, "apply") && exec_simple(s->r, "BEGIN", &ignore) == MD_OK &&
			    record_apply(s->r, s->f, s->p, now_ms() - s->t0, 0, &ignore) == MD_OK)
				md_db_commit(s->r->db, &ignore);
			rollback_quietly(s->r);
		}
	}
	s->open = 0;
	md_prepared_free(s->p);
	s->p = NULL;
}
