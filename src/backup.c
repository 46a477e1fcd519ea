/* backup.c - pg_dump backups, their names and list, pg_restore into a
 * scratch database (see backup.h). */
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "history.h"
#include "pgcluster.h"
#include "util.h"
#include "workspace.h"

extern char **environ;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static md_status nomem(md_error *err)
{
	return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

/* ---- names ------------------------------------------------------------------------- */

/* in into out: letters, digits, '.', '-' (and '_' when keep_underscore)
 * kept, anything else '-'; "" becomes empty_as */
static int sanitise(char *out, size_t outsz, const char *in, int keep_underscore,
		    const char *empty_as)
{
	size_t i, n;

	if (!in || !*in)
		in = empty_as;
	n = strlen(in);
	if (n + 1 > outsz)
		return -1;
	for (i = 0; i < n; i++) {
		char c = in[i];
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   c == '.' || c == '-' || (keep_underscore && c == '_');
		out[i] = keep ? c : '-';
	}
	out[n] = '\0';
	/* "." or ".." alone would be no file name of ours */
	if (out[0] == '.' && (!out[1] || (out[1] == '.' && !out[2])))
		out[0] = '-';
	return 0;
}

int md_backup_name(char *out, size_t outsz, const char *target, const char *version, time_t when,
		   unsigned seq)
{
	char t[128], v[128], stamp[32], suffix[16] = "";
	struct tm tm;
	int n;

	if (sanitise(t, sizeof(t), target, 0, "default") < 0 ||
	    sanitise(v, sizeof(v), version, 1, "0") < 0 || !gmtime_r(&when, &tm))
		return -1;
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (seq > 1)
		snprintf(suffix, sizeof(suffix), "-%u", seq);
	n = snprintf(out, outsz, "%s_%s_%s%s.dump", t, v, stamp, suffix);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

int md_backup_parse(const char *name, md_backup_info *out)
{
	const char *first, *last, *stamp, *end;
	size_t len = strlen(name), slen;
	struct tm tm;
	char num[8];

	memset(out, 0, sizeof(*out));
	if (len < 6 || len >= sizeof(out->file) || strcmp(name + len - 5, ".dump") != 0)
		return -1;
	end = name + len - 5;
	first = memchr(name, '_', (size_t)(end - name));
	last = NULL;
	for (stamp = end; stamp > name; stamp--)
		if (stamp[-1] == '_') {
			last = stamp - 1;
			break;
		}
	if (!first || !last || first == last || first == name || last == first + 1)
		return -1;
	stamp = last + 1;
	slen = (size_t)(end - stamp);
	/* yyyymmddThhmmssZ, maybe -N */
	if (slen < 16 || !all_digits(stamp, 8) || stamp[8] != 'T' || !all_digits(stamp + 9, 6) ||
	    stamp[15] != 'Z')
		return -1;
	if (slen > 16 && (stamp[16] != '-' || !all_digits(stamp + 17, slen - 17)))
		return -1;
	memset(&tm, 0, sizeof(tm));
#define FIELD(off, n) (memcpy(num, stamp + (off), (n)), num[(n)] = '\0', atoi(num))
	tm.tm_year = FIELD(0, 4) - 1900;
	tm.tm_mon = FIELD(4, 2) - 1;
	tm.tm_mday = FIELD(6, 2);
	tm.tm_hour = FIELD(9, 2);
	tm.tm_min = FIELD(11, 2);
	tm.tm_sec = FIELD(13, 2);
#undef FIELD
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	if ((size_t)(first - name) >= sizeof(out->target) ||
	    (size_t)(last - first - 1) >= sizeof(out->version))
		return -1;
	memcpy(out->file, name, len + 1);
	memcpy(out->target, name, (size_t)(first - name));
	memcpy(out->version, first + 1, (size_t)(last - first - 1));
	snprintf(out->taken, sizeof(out->taken), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", stamp, stamp + 4,
		 stamp + 6, stamp + 9, stamp + 11, stamp + 13);
	out->when = timegm(&tm);
	return 0;
}

void md_backup_size_text(long long bytes, char *out, size_t outsz)
{
	if (bytes < 1024)
		snprintf(out, outsz, "%lld B", bytes);
	else if (bytes < 1024LL * 1024)
		snprintf(out, outsz, "%.1f kB", (double)bytes / 1024.0);
	else if (bytes < 1024LL * 1024 * 1024)
		snprintf(out, outsz, "%.1f MB", (double)bytes / (1024.0 * 1024.0));
	else
		snprintf(out, outsz, "%.1f GB", (double)bytes / (1024.0 * 1024.0 * 1024.0));
}

static int newest_first(const void *a, const void *b)
{
	const md_backup_info *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? 1 : -1;
	return -strcmp(x->file, y->file);
}

/* The files of [backup] dir named NAME.dump (unfinished: NAME.dump.partial)
 * where NAME.dump is a backup's name; of target's only when not NULL. */
static md_status scan_dir(const md_config *cfg, const char *target, int unfinished,
			  md_backup_info **out, size_t *n, md_error *err)
{
	const char *dir = cfg->backup_dir;
	md_backup_info *list = NULL, info;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	char want[128];

	*out = NULL;
	*n = 0;
	if (target && sanitise(want, sizeof(want), target, 0, "default") < 0)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0, "target name too long");
	if (!dir || !(d = opendir(dir))) {
		if (!dir || errno == ENOENT)
			return MD_OK;
		return md_error_set(err, MD_ERR_IO, md_show_path(dir), 0, 0, "cannot read: %s",
				    strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX], name[256];
		size_t len = strlen(de->d_name);
		struct stat st;

		if (unfinished) {
			/* NAME.dump.partial: what md_backup_take writes before the rename */
			if (len <= 8 || len - 8 >= sizeof(name) || strcmp(de->d_name + len - 8, ".partial"))
				continue;
			memcpy(name, de->d_name, len - 8);
			name[len - 8] = '\0';
		} else if (len < sizeof(name)) {
			memcpy(name, de->d_name, len + 1);
		} else {
			continue;
		}
		if (md_backup_parse(name, &info) != 0)
			continue;
		if (unfinished)
			snprintf(info.file, sizeof(info.file), "%s", de->d_name);
		if (target && strcmp(info.target, want) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		info.bytes = (long long)st.st_size;
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			md_backup_info *more = realloc(list, ncap * sizeof(*more));
			if (!more) {
				closedir(d);
				free(list);
				return nomem(err);
			}
			list = more;
			cap = ncap;
		}
		list[(*n)++] = info;
	}
	closedir(d);
	if (*n > 1)
		qsort(list, *n, sizeof(*list), newest_first);
	*out = list;
	return MD_OK;
}

md_status md_backup_list(const md_config *cfg, const char *target, md_backup_info **out,
			 size_t *n, md_error *err)
{
	return scan_dir(cfg, target, 0, out, n, err);
}

md_status md_backup_unfinished(const md_config *cfg, const char *target, md_backup_info **out,
			       size_t *n, md_error *err)
{
	return scan_dir(cfg, target, 1, out, n, err);
}

/* ---- signals ---------------------------------------------------------------------------- */

#define MAX_KIDS 260 /* more than --jobs allows: one tool per job */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_users, g_own_int, g_own_term;
static volatile sig_atomic_t g_sig;
static volatile sig_atomic_t g_stop; /* md_backup_stop, until the last guard ends */
static volatile sig_atomic_t g_kids[MAX_KIDS];

static void on_signal(int sig)
{
	int saved = errno, i;

	g_sig = sig;
	for (i = 0; i < MAX_KIDS; i++)
		if (g_kids[i] > 0)
			kill((pid_t)g_kids[i], SIGTERM);
	errno = saved;
}

/* install on_signal for sig when its handler is the default one */
static int take_signal(int sig)
{
	struct sigaction old, sa;

	if (sigaction(sig, NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
	    old.sa_handler != SIG_DFL)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	return sigaction(sig, &sa, NULL) == 0;
}

static void give_signal(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

void md_backup_guard_begin(void)
{
	pthread_mutex_lock(&g_mu);
	if (g_users++ == 0) {
		g_sig = 0;
		g_own_int = take_signal(SIGINT);
		g_own_term = take_signal(SIGTERM);
	}
	pthread_mutex_unlock(&g_mu);
}

int md_backup_interrupted(void)
{
	return (int)g_sig;
}

void md_backup_guard_end(void)
{
	int sig = 0;

	pthread_mutex_lock(&g_mu);
	if (g_users > 0 && --g_users == 0) {
		if (g_own_int)
			give_signal(SIGINT);
		if (g_own_term)
			give_signal(SIGTERM);
		if (g_own_int || g_own_term)
			sig = (int)g_sig;
		g_own_int = g_own_term = 0;
		g_sig = 0;
		g_stop = 0;
	}
	pthread_mutex_unlock(&g_mu);
	if (sig)
		raise(sig);
}

void md_backup_stop(void)
{
	int i;

	pthread_mutex_lock(&g_mu);
	if (g_users)
		g_stop = 1; /* and a tool started from now on in this guard */
	for (i = 0; i < MAX_KIDS; i++)
		if (g_kids[i] > 0)
			kill((pid_t)g_kids[i], SIGTERM);
	pthread_mutex_unlock(&g_mu);
}

static int kid_add(pid_t pid)
{
	int i, slot = -1;

	pthread_mutex_lock(&g_mu);
	for (i = 0; i < MAX_KIDS && slot < 0; i++)
		if (g_kids[i] == 0) {
			g_kids[i] = (sig_atomic_t)pid;
			slot = i;
		}
	pthread_mutex_unlock(&g_mu);
	if (g_sig || g_stop)
		kill(pid, SIGTERM); /* a signal (or a stop) came before the child was known */
	return slot;
}

static void kid_remove(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&g_mu);
	g_kids[slot] = 0;
	pthread_mutex_unlock(&g_mu);
}

/* ---- the child's environment ---------------------------------------------------------- */

static void env_free(char **env)
{
	size_t i;

	if (!env)
		return;
	for (i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

/* an environment entry "NAME=" starting s */
static int env_is(const char *s, const char *name)
{
	size_t n = strlen(name);

	return strncmp(s, name, n) == 0 && s[n] == '=';
}

/* The environment of pg_dump or pg_restore: migdeck's own without any
 * variable that libpq reads for a connection option, then one variable per
 * option of db's connection that has one (PQconninfo), so the child
 * connects where db is connected; application_name app; no
 * PGCLIENTENCODING (pg_dump then writes in the database's encoding).
 * malloc'd (env_free); *password points into it (or NULL). */
static md_status tool_env(md_db *db, const char *app, char ***out, const char **password,
			  md_error *err)
{
	PQconninfoOption *defs = NULL, *live = NULL, *o;
	size_t n = 0, k = 0, i, extra = 0;
	char **env = NULL;

	*out = NULL;
	*password = NULL;
	if (!db || !db->conn)
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0, "not connected");
	defs = PQconndefaults();
	live = PQconninfo(db->conn);
	if (!defs || !live)
		goto oom;
	while (environ[n])
		n++;
	for (o = live; o->keyword; o++)
		extra++;
	env = calloc(n + extra + 2, sizeof(*env));
	if (!env)
		goto oom;
	for (i = 0; i < n; i++) {
		int skip = 0;

		for (o = defs; o->keyword && !skip; o++)
			skip = o->envvar && env_is(environ[i], o->envvar);
		skip = skip || env_is(environ[i], "PGCLIENTENCODING") || env_is(environ[i], "PGAPPNAME");
		if (skip)
			continue;
		if (!(env[k++] = strdup(environ[i])))
			goto oom;
	}
	for (o = live; o->keyword; o++) {
		const char *val = o->val;

		/* several hosts (host=a,b): the one db is connected to, so the
		 * dump is of the database migdeck changes next */
		if (!strcmp(o->keyword, "host") && PQhost(db->conn) && *PQhost(db->conn))
			val = PQhost(db->conn);
		else if (!strcmp(o->keyword, "port") && PQport(db->conn) && *PQport(db->conn))
			val = PQport(db->conn);
		else if (!strcmp(o->keyword, "hostaddr") && PQhostaddr(db->conn) &&
			 *PQhostaddr(db->conn) && val && strchr(val, ','))
			val = PQhostaddr(db->conn);
		if (!o->envvar || !val || !*val || !strcmp(o->envvar, "PGCLIENTENCODING") ||
		    !strcmp(o->envvar, "PGAPPNAME") || !strcmp(o->envvar, "PGTARGETSESSIONATTRS") ||
		    !strcmp(o->envvar, "PGLOADBALANCEHOSTS"))
			continue;
		if (asprintf(&env[k], "%s=%s", o->envvar, val) < 0) {
			env[k] = NULL;
			goto oom;
		}
		if (!strcmp(o->keyword, "password"))
			*password = env[k] + strlen(o->envvar) + 1;
		k++;
	}
	if (asprintf(&env[k], "PGAPPNAME=%s", app) < 0) {
		env[k] = NULL;
		goto oom;
	}
	k++;
	env[k] = NULL;
	PQconninfoFree(defs);
	PQconninfoFree(live);
	*out = env;
	return MD_OK;
oom:
	*password = NULL;
	env_free(env);
	if (defs)
		PQconninfoFree(defs);
	if (live)
		PQconninfoFree(live);
	return nomem(err);
}

/* ---- finding and running the tools ------------------------------------------------------ */

static int is_exe(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* name in $MIGDECK_PG_BINDIR (only there, when set), else in prefer_dir,
 * else in PATH, else beside the server binaries md_pgbin_find finds */
static md_status tool_find(const char *name, const char *prefer_dir, int major, char *out,
			   size_t outsz, md_error *err)
{
	const char *env = getenv("MIGDECK_PG_BINDIR"), *path = getenv("PATH");
	md_pgbin bin;
	md_error ignore;

	if (env && *env) {
		if (snprintf(out, outsz, "%s/%s", env, name) < (int)outsz && is_exe(out))
			return MD_OK;
		return md_error_set(err, MD_ERR_UNSUPPORTED, NULL, 0, 0,
				    "no %s in %s (MIGDECK_PG_BINDIR)", name, env);
	}
	if (prefer_dir && *prefer_dir &&
	    snprintf(out, outsz, "%s/%s", prefer_dir, name) < (int)outsz && is_exe(out))
		return MD_OK;
	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (n && snprintf(out, outsz, "%.*s/%s", (int)n, path, name) < (int)outsz &&
		    is_exe(out))
			return MD_OK;
		path += n;
		if (*path == ':')
			path++;
	}
	if (md_pgbin_find(&bin, major, &ignore) == MD_OK &&
	    snprintf(out, outsz, "%s/%s", bin.dir, name) < (int)outsz && is_exe(out))
		return MD_OK;
	out[0] = '\0';
	return md_error_set(err, MD_ERR_UNSUPPORTED, NULL, 0, 0,
			    "%s not found (PATH, the PostgreSQL binaries): install the PostgreSQL "
			    "client programs, or set MIGDECK_PG_BINDIR to their folder", name);
}

/* What a tool said on stderr. */
typedef struct tool_out {
	const char *tool;         /* "pg_dump" */
	const char *counted;      /* a line containing this counts one table */
	const char *unit;         /* "tables", "tables restored" */
	unsigned count, total;
	const char *size_of;      /* a file whose size goes with the progress */
	md_backup_note_fn progress;
	void *payload;
	long long last_said;
	char error[1024];         /* its first error line */
	char detail[1024];        /* the line after it, when that explains it */
	int want_detail;
	char last[1024];          /* its last line */
	char buf[4096];           /* a line being read */
	size_t len;
} tool_out;

static void say_progress(tool_out *t, int force)
{
	char line[256], size[32];
	struct stat st;
	long long now = now_ms();

	if (!t->progress || (!force && now - t->last_said < 1000))
		return;
	t->last_said = now;
	size[0] = '\0';
	if (t->size_of && stat(t->size_of, &st) == 0) {
		size[0] = ',';
		size[1] = ' ';
		md_backup_size_text((long long)st.st_size, size + 2, sizeof(size) - 2);
	}
	if (t->total)
		snprintf(line, sizeof(line), "%u/%u %s%s", t->count < t->total ? t->count : t->total,
			 t->total, t->unit, size);
	else
		snprintf(line, sizeof(line), "%u %s%s", t->count, t->unit, size);
	t->progress(line, t->payload);
}

static void take_line(tool_out *t, char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (!n)
		return;
	if (t->want_detail) {
		t->want_detail = 0;
		if (strstr(line, "detail:") || strstr(line, "hint:") || !strncmp(line, "Command was:", 12) ||
		    !strncmp(line, "Query was:", 10) || !strncmp(line, "DETAIL:", 7) ||
		    !strncmp(line, "HINT:", 5))
			snprintf(t->detail, sizeof(t->detail), "%s", line);
	}
	if (!t->error[0] && (strstr(line, ": error:") || strstr(line, ": fatal:") ||
			     strstr(line, ": FATAL:") || strstr(line, "[archiver (db)] Error"))) {
		snprintf(t->error, sizeof(t->error), "%s", line);
		t->want_detail = 1;
	}
	snprintf(t->last, sizeof(t->last), "%s", line);
	if (t->counted && strstr(line, t->counted)) {
		t->count++;
		say_progress(t, 0);
	}
}

static void take_bytes(tool_out *t, const char *data, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (data[i] == '\n') {
			t->buf[t->len] = '\0';
			take_line(t, t->buf);
			t->len = 0;
		} else if (t->len + 1 < sizeof(t->buf)) {
			t->buf[t->len++] = data[i];
		}
	}
}

/* Replace every occurrence of secret (3 bytes or more) in s with ****. */
static void mask(char *s, size_t sz, const char *secret)
{
	char out[1024];
	size_t n = secret ? strlen(secret) : 0, o = 0;
	const char *r = s;

	if (n < 3 || !strstr(s, secret))
		return;
	while (*r && o + 5 < sizeof(out)) {
		if (!strncmp(r, secret, n)) {
			memcpy(out + o, "****", 4);
			o += 4;
			r += n;
		} else {
			out[o++] = *r++;
		}
	}
	out[o] = '\0';
	snprintf(s, sz, "%s", out);
}

/* Run exe with argv and env, stdin and stdout /dev/null, stderr read into
 * t; *status gets its exit status (-signal when a signal ended it). */
static md_status run_tool(const char *exe, char *const argv[], char *const env[], tool_out *t,
			  int *status, md_error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, defaults;
	int pfd[2], rc, st = 0, slot;
	pid_t pid;

	*status = -1;
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return md_error_set(err, MD_ERR_IO, NULL, 0, 0, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &defaults);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, exe, &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		return md_error_set(err, MD_ERR_IO, NULL, 0, 0, "cannot run %s: %s", exe, strerror(rc));
	}
	slot = kid_add(pid);
	for (;;) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		char buf[4096];
		ssize_t got;
		int ready = poll(&p, 1, 1000);

		if (ready < 0 && errno != EINTR)
			break;
		if (ready <= 0) {
			say_progress(t, 0);
			continue;
		}
		got = read(pfd[0], buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		take_bytes(t, buf, (size_t)got);
	}
	if (t->len) {
		t->buf[t->len] = '\0';
		take_line(t, t->buf);
		t->len = 0;
	}
	close(pfd[0]);
	{
		/* wait for the exit without reaping, forget the pid, then reap:
		 * a stop or a signal in between never hits a reused pid */
		siginfo_t si;

		while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
			;
	}
	kid_remove(slot);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			st = -1;
			break;
		}
	if (st != -1 && WIFEXITED(st))
		*status = WEXITSTATUS(st);
	else if (st != -1 && WIFSIGNALED(st))
		*status = -WTERMSIG(st);
	return MD_OK;
}

/* err from what the tool said (its password masked) */
static md_status tool_failed(md_error *err, tool_out *t, int status, const char *password,
			     const char *what)
{
	char why[1100];
	int sig = md_backup_interrupted();

	if (sig)
		snprintf(why, sizeof(why), "interrupted by signal %d", sig);
	else if (t->error[0])
		snprintf(why, sizeof(why), "%s", t->error);
	else if (status < 0)
		snprintf(why, sizeof(why), "%s was killed by signal %d%s%s", t->tool, -status,
			 t->last[0] ? ": " : "", t->last);
	else
		snprintf(why, sizeof(why), "%s exited with status %d%s%s", t->tool, status,
			 t->last[0] ? ": " : "", t->last);
	mask(why, sizeof(why), password);
	mask(why, sizeof(why), getenv("PGPASSWORD"));
	md_error_set(err, MD_ERR_IO, NULL, 0, 0, "%s failed: %.900s", what, why);
	if (err && t->detail[0] && !sig) {
		snprintf(err->detail, sizeof(err->detail), "%s", t->detail);
		mask(err->detail, sizeof(err->detail), password);
		mask(err->detail, sizeof(err->detail), getenv("PGPASSWORD"));
	}
	return MD_ERR_IO;
}

/* ---- taking a backup ---------------------------------------------------------------------- */

/* The version the database is at: its highest active, successful versioned
 * (or baseline) row; "0" when none. */
static md_status current_version(md_db *db, const md_config *cfg, char *out, size_t outsz,
				 md_error *err)
{
	md_history *h = NULL;
	md_version best, v;
	const char *best_text = NULL;
	md_status rc;
	size_t i;

	snprintf(out, outsz, "0");
	if ((rc = md_history_load(db, cfg, &h, err)) != MD_OK)
		return rc;
	memset(&best, 0, sizeof(best));
	for (i = 0; i < h->n; i++) {
		const md_hist_row *r = &h->rows[i];

		if (!r->is_active || !r->success || !r->version ||
		    (r->kind && !strcmp(r->kind, "repeatable")) ||
		    md_version_parse(&v, r->version, strlen(r->version)) < 0)
			continue;
		if (!best_text || md_version_cmp(&v, &best) > 0) {
			best = v;
			best_text = r->version;
		}
	}
	if (best_text)
		snprintf(out, outsz, "%s", best_text);
	md_history_free(h);
	return MD_OK;
}

/* Tables whose data pg_dump dumps (ordinary tables outside the system
 * schemas and extensions): the denominator of the progress. */
static unsigned count_tables(md_db *db)
{
	static const char sql[] =
		"SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
		" WHERE c.relkind = 'r' AND n.nspname <> 'information_schema'"
		"   AND n.nspname !~ '^pg_'"
		"   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass"
		"                    AND d.objid = c.oid AND d.deptype = 'e')";
	PGresult *res = NULL;
	md_error ignore;
	unsigned n = 0;

	if (md_db_query(db, &res, sql, 0, NULL, &ignore) == MD_OK && PQntuples(res) == 1)
		n = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

/* mkdir -p, each folder made 0700 */
static md_status make_dir(const char *dir, md_error *err)
{
	char path[PATH_MAX];
	size_t i, n = strlen(dir);
	struct stat st;

	if (n >= sizeof(path))
		return md_error_set(err, MD_ERR_IO, dir, 0, 0, "path too long");
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return md_error_set(err, MD_ERR_IO, md_show_path(path), 0, 0,
					    "cannot create the backup folder: %s", strerror(errno));
		if (i < n)
			path[i] = '/';
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return md_error_set(err, MD_ERR_IO, md_show_path(dir), 0, 0,
				    "[backup] dir is not a folder");
	return MD_OK;
}

/* A size above 0 that starts with PGDMP: a custom-format archive. */
static int looks_like_dump(const char *path, long long *bytes)
{
	char magic[5];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ok = 0;

	*bytes = 0;
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		*bytes = (long long)st.st_size;
		ok = st.st_size >= 5 && read(fd, magic, 5) == 5 && !memcmp(magic, "PGDMP", 5);
	}
	close(fd);
	return ok;
}

md_status md_backup_run(const md_config *cfg, md_db *db, const char *label, const char *version,
			md_backup_note_fn progress, void *payload, char *out, size_t outsz,
			long long *bytes, md_error *err)
{
	char ver[128], name[512], final[PATH_MAX], partial[PATH_MAX + 16], exe[PATH_MAX];
	char fileopt[PATH_MAX + 32], lockopt[64], app[320], who[128], line[PATH_MAX + 128];
	char **env = NULL;
	const char *password = NULL;
	char *argv[10];
	tool_out t;
	time_t now = time(NULL);
	long long size = 0;
	unsigned seq;
	int status = -1, fd = -1, k = 0, made = 0;
	md_status rc;

	if (out && outsz)
		out[0] = '\0';
	if (bytes)
		*bytes = 0;
	if (!cfg->backup_dir || !*cfg->backup_dir)
		return md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0, "[backup] dir is not set");
	if (version)
		snprintf(ver, sizeof(ver), "%s", version);
	else if ((rc = current_version(db, cfg, ver, sizeof(ver), err)) != MD_OK)
		return rc;
	if ((rc = tool_find("pg_dump", NULL, md_pg_major(db->server_version), exe, sizeof(exe),
			    err)) != MD_OK ||
	    (rc = make_dir(cfg->backup_dir, err)) != MD_OK)
		return rc;
	/* a name nobody has: NAME.dump free, NAME.dump.partial made here */
	for (seq = 1; seq < 1000 && !made; seq++) {
		if (md_backup_name(name, sizeof(name), label, ver, now, seq) != 0 ||
		    snprintf(final, sizeof(final), "%s/%s", cfg->backup_dir, name) >= (int)sizeof(final))
			return md_error_set(err, MD_ERR_IO, md_show_path(cfg->backup_dir), 0, 0,
					    "backup file name too long");
		snprintf(partial, sizeof(partial), "%s.partial", final);
		if (access(final, F_OK) == 0)
			continue;
		fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			made = 1;
		} else if (errno != EEXIST) {
			return md_error_set(err, MD_ERR_IO, md_show_path(partial), 0, 0,
					    "cannot create: %s", strerror(errno));
		}
	}
	if (!made)
		return md_error_set(err, MD_ERR_IO, md_show_path(final), 0, 0,
				    "exists already (999 backups in one second?)");
	md_os_user(who, sizeof(who));
	snprintf(app, sizeof(app), "migdeck:%s:pg_dump", who);
	if ((rc = tool_env(db, app, &env, &password, err)) != MD_OK)
		goto fail;
	if (snprintf(fileopt, sizeof(fileopt), "--file=%s", partial) >= (int)sizeof(fileopt)) {
		rc = md_error_set(err, MD_ERR_IO, md_show_path(partial), 0, 0, "path too long");
		goto fail;
	}
	argv[k++] = "pg_dump";
	argv[k++] = "--format=custom";
	argv[k++] = "--verbose";
	argv[k++] = "--no-password";
	if (cfg->backup_lock_wait_ms > 0) {
		snprintf(lockopt, sizeof(lockopt), "--lock-wait-timeout=%lldms", cfg->backup_lock_wait_ms);
		argv[k++] = lockopt;
	}
	argv[k++] = fileopt;
	argv[k] = NULL;

	memset(&t, 0, sizeof(t));
	t.tool = "pg_dump";
	t.counted = "dumping contents of table";
	t.unit = "tables";
	t.total = count_tables(db);
	t.size_of = partial;
	t.progress = progress;
	t.payload = payload;
	t.last_said = now_ms();
	if (progress) {
		snprintf(line, sizeof(line), "pg_dump of database %s to %s", md_db_name(db),
			 md_show_path(final));
		progress(line, payload);
	}
	md_backup_guard_begin();
	rc = run_tool(exe, argv, env, &t, &status, err);
	if (rc == MD_OK && (status != 0 || md_backup_interrupted()))
		rc = tool_failed(err, &t, status, password, "backup: pg_dump");
	if (rc == MD_OK && !looks_like_dump(partial, &size))
		rc = md_error_set(err, MD_ERR_IO, md_show_path(partial), 0, 0,
				  "backup failed: pg_dump wrote %s", size ? "no custom-format archive"
									: "nothing");
	if (rc == MD_OK) {
		say_progress(&t, 1);
		/* never over a file that appeared meanwhile */
		if (link(partial, final) == 0)
			unlink(partial);
		else if (errno == EEXIST)
			rc = md_error_set(err, MD_ERR_IO, md_show_path(final), 0, 0,
					  "exists already: the backup stays in %s",
					  md_show_path(partial));
		else if (rename(partial, final) != 0)
			rc = md_error_set(err, MD_ERR_IO, md_show_path(final), 0, 0,
					  "cannot rename the backup: %s", strerror(errno));
		if (rc == MD_OK) {
			if (out)
				snprintf(out, outsz, "%s", final);
			if (bytes)
				*bytes = size;
		}
	} else {
		unlink(partial);
	}
	env_free(env);
	md_backup_guard_end();
	return rc;
fail:
	unlink(partial);
	env_free(env);
	return rc;
}

/* ---- the runner's backup ---------------------------------------------------------------- */

static void runner_event(md_runner *r, md_run_ev kind, const char *text, long long ms)
{
	md_run_event ev;

	if (!r->cb)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.action = "backup";
	ev.text = text;
	ev.ms = ms;
	r->cb(&ev, r->payload);
}

static void runner_note(const char *line, void *payload)
{
	runner_event(payload, MD_RUN_BACKUP_PROGRESS, line, 0);
}

md_status md_runner_backup(md_runner *r, md_error *err)
{
	char path[sizeof(r->backup_path)];
	long long t0 = now_ms();
	md_status rc;

	if (!r->cfg->backup_pg_dump || r->dry_run || r->backup_path[0])
		return MD_OK;
	rc = md_backup_run(r->cfg, r->db, md_config_label(r->cfg), NULL, runner_note, r, path,
			   sizeof(path), NULL, err);
	if (rc != MD_OK)
		return rc;
	snprintf(r->backup_path, sizeof(r->backup_path), "%s", path);
	runner_event(r, MD_RUN_BACKUP_DONE, r->backup_path, now_ms() - t0);
	return MD_OK;
}

/* ---- restoring ------------------------------------------------------------------------ */

md_status md_backup_check_file(const char *path, md_error *err)
{
	char magic[5];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return md_error_set(err, MD_ERR_USAGE, md_show_path(path), 0, 0, "cannot open: %s",
				    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return md_error_set(err, MD_ERR_USAGE, md_show_path(path), 0, 0, "not a file");
	}
	got = read(fd, magic, sizeof(magic));
	close(fd);
	if (got != (ssize_t)sizeof(magic) || memcmp(magic, "PGDMP", 5) != 0)
		return md_error_set(err, MD_ERR_INVALID, md_show_path(path), 0, 0,
				    "not a pg_dump custom-format archive (it does not start with "
				    "PGDMP): migdeck restores the backups it takes (pg_dump -Fc)");
	return MD_OK;
}

md_status md_backup_restore(md_db *db, const char *path, const char *prefer_dir,
			    md_backup_note_fn progress, void *payload, md_error *err)
{
	char exe[PATH_MAX], dbopt[256], app[320], who[128];
	char *abs = NULL, *argv[8];
	char **env = NULL;
	const char *password = NULL;
	tool_out t;
	int status = -1, k = 0;
	md_status rc;

	if ((rc = md_backup_check_file(path, err)) != MD_OK)
		return rc;
	if (!(abs = realpath(path, NULL)))
		return md_error_set(err, MD_ERR_IO, md_show_path(path), 0, 0, "%s", strerror(errno));
	if ((rc = tool_find("pg_restore", prefer_dir, md_pg_major(db->server_version), exe,
			    sizeof(exe), err)) != MD_OK)
		goto done;
	md_os_user(who, sizeof(who));
	snprintf(app, sizeof(app), "migdeck:%s:pg_restore", who);
	if ((rc = tool_env(db, app, &env, &password, err)) != MD_OK)
		goto done;
	snprintf(dbopt, sizeof(dbopt), "--dbname=%s", md_db_name(db));
	argv[k++] = "pg_restore";
	argv[k++] = "--exit-on-error";
	argv[k++] = "--no-password";
	argv[k++] = "--verbose";
	argv[k++] = dbopt;
	argv[k++] = abs;
	argv[k] = NULL;
	memset(&t, 0, sizeof(t));
	t.tool = "pg_restore";
	t.counted = "processing data for table";
	t.unit = "tables restored";
	t.progress = progress;
	t.payload = payload;
	t.last_said = now_ms();
	md_backup_guard_begin();
	rc = run_tool(exe, argv, env, &t, &status, err);
	if (rc == MD_OK && (status != 0 || md_backup_interrupted()))
		rc = tool_failed(err, &t, status, password, "restore: pg_restore");
	else if (rc == MD_OK)
		say_progress(&t, 1);
	md_backup_guard_end();
done:
	env_free(env);
	free(abs);
	return rc;
}
