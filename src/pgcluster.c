/* pgcluster.c - a throwaway local PostgreSQL cluster (see pgcluster.h). */
#include "pgcluster.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- signals --------------------------------------------------------------------- */

static volatile sig_atomic_t g_caught;   /* the signal caught, or 0 */
static volatile sig_atomic_t g_kill_pid; /* who the handler stops: > 0 a process,
                                            < 0 a process group, 0 none */
static volatile sig_atomic_t g_kill_sig;
static struct sigaction g_old_int, g_old_term;
static int g_installed;

static void on_signal(int sig)
{
	int saved = errno;

	g_caught = sig;
	if (g_kill_pid != 0)
		kill((pid_t)g_kill_pid, (int)g_kill_sig);
	errno = saved;
}

static void install_handlers(void)
{
	struct sigaction sa;

	if (g_installed)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	g_caught = 0;
	g_kill_pid = 0;
	sigaction(SIGINT, &sa, &g_old_int);
	sigaction(SIGTERM, &sa, &g_old_term);
	/* a signal ignored (a background job's SIGINT) stays ignored */
	if (g_old_int.sa_handler == SIG_IGN)
		sigaction(SIGINT, &g_old_int, NULL);
	if (g_old_term.sa_handler == SIG_IGN)
		sigaction(SIGTERM, &g_old_term, NULL);
	g_installed = 1;
}

/* put the previous handlers back; raise a signal caught meanwhile */
static void restore_handlers(void)
{
	int sig = (int)g_caught;

	if (!g_installed)
		return;
	g_kill_pid = 0;
	sigaction(SIGINT, &g_old_int, NULL);
	sigaction(SIGTERM, &g_old_term, NULL);
	g_installed = 0;
	g_caught = 0;
	if (sig)
		raise(sig);
}

int md_pgcluster_interrupted(void)
{
	return (int)g_caught;
}

static void pause_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !g_caught)
		;
}

/* ---- children ------------------------------------------------------------------------ */

/* What went wrong in a child before exec, written to the parent through a
 * close-on-exec pipe. */
typedef struct child_fail {
	int stage;   /* 1 groups/gid/uid, 2 chdir, 3 log file, 4 exec */
	int errnum;
} child_fail;

/* fork+exec argv[0] (an absolute path); stdout and stderr to log (append)
 * or to the write end out_fd, stdin /dev/null; in a process group of its
 * own; as c's uid when c->runas.  *pid gets the child. */
static md_status spawn(const md_pgcluster *c, char *const argv[], const char *log, int out_fd,
		       pid_t *pid, md_error *err)
{
	static const char *const stages[] = { "", "cannot switch to the postgres user",
					      "cannot enter the scratch folder",
					      "cannot open its log file", "cannot run it" };
	int pfd[2];
	child_fail f;
	ssize_t got;
	pid_t p;

	if (pipe(pfd) != 0)
		return md_error_set(err, MD_ERR_IO, NULL, 0, 0, "pipe: %s", strerror(errno));
	if (fcntl(pfd[1], F_SETFD, FD_CLOEXEC) != 0 || fcntl(pfd[0], F_SETFD, FD_CLOEXEC) != 0) {
		close(pfd[0]);
		close(pfd[1]);
		return md_error_set(err, MD_ERR_IO, NULL, 0, 0, "fcntl: %s", strerror(errno));
	}
	p = fork();
	if (p < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return md_error_set(err, MD_ERR_IO, NULL, 0, 0, "fork: %s", strerror(errno));
	}
	if (p == 0) {
		int fd;

		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		f.stage = 1;
		if (c && c->runas &&
		    (setgroups((size_t)c->ngroups, c->groups) != 0 || setgid(c->gid) != 0 ||
		     setuid(c->uid) != 0))
			goto fail;
		f.stage = 2;
		if (c && chdir(c->dir) != 0)
			goto fail;
		f.stage = 3;
		if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
			dup2(fd, 0);
			if (fd > 2)
				close(fd);
		}
		if (log) {
			fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (fd < 0)
				goto fail;
		} else {
			fd = out_fd;
		}
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
		/* nothing else of migdeck's (its connections) goes along */
		for (fd = 3; fd < 1024; fd++)
			if (fd != pfd[1])
				close(fd);
		f.stage = 4;
		execv(argv[0], argv);
fail:
		f.errnum = errno;
		if (write(pfd[1], &f, sizeof(f)) < 0)
			_exit(126);
		_exit(127);
	}
	setpgid(p, p);
	close(pfd[1]);
	do
		got = read(pfd[0], &f, sizeof(f));
	while (got < 0 && errno == EINTR);
	close(pfd[0]);
	if (got == (ssize_t)sizeof(f)) {
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		return md_error_set(err, MD_ERR_IO, NULL, 0, 0, "%s: %s: %s", argv[0],
				    stages[f.stage >= 1 && f.stage <= 4 ? f.stage : 4],
				    strerror(f.errnum));
	}
	*pid = p;
	return MD_OK;
}

/* wait for pid; its exit status, or -1 when killed by a signal */
static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* run argv (as migdeck's own user), its stdout into out; its exit status,
 * -1 when it could not run */
static int run_capture(char *const argv[], char *out, size_t outsz)
{
	int pfd[2];
	size_t len = 0;
	ssize_t got;
	pid_t pid;

	out[0] = '\0';
	if (pipe(pfd) != 0)
		return -1;
	if (spawn(NULL, argv, NULL, pfd[1], &pid, NULL) != MD_OK) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	close(pfd[1]);
	for (;;) {
		char buf[512];
		got = read(pfd[0], buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (len + 1 < outsz) {
			size_t take = (size_t)got < outsz - 1 - len ? (size_t)got : outsz - 1 - len;
			memcpy(out + len, buf, take);
			len += take;
			out[len] = '\0';
		}
	}
	close(pfd[0]);
	return wait_child(pid);
}

/* ---- finding the binaries ------------------------------------------------------------ */

int md_pg_major(int v)
{
	return v >= 100000 ? v / 10000 : v / 10000 * 100 + v / 100 % 100;
}

/* "15" -> 15, "9.6" -> 906, from the start of s; 0 when not a version */
static int parse_major(const char *s)
{
	char *end;
	long a = strtol(s, &end, 10), b;

	if (end == s || a <= 0)
		return 0;
	if (a >= 10)
		return (int)a;
	if (*end != '.')
		return 0;
	b = strtol(end + 1, NULL, 10);
	return (int)(a * 100 + b);
}

static int is_exe(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static int has_server(const char *dir)
{
	return dir[0] && is_exe(dir, "initdb") && is_exe(dir, "postgres");
}

/* b->version and b->major from `postgres --version` */
static void probe_version(md_pgbin *b)
{
	char exe[PATH_MAX + 16], out[256], *p;
	char *argv[3];

	snprintf(exe, sizeof(exe), "%s/postgres", b->dir);
	argv[0] = exe;
	argv[1] = "--version";
	argv[2] = NULL;
	if (run_capture(argv, out, sizeof(out)) != 0)
		return;
	/* "postgres (PostgreSQL) 15.4 (Debian 15.4-1)" */
	p = strstr(out, ") ");
	p = p ? p + 2 : out;
	snprintf(b->version, sizeof(b->version), "%.*s", (int)strcspn(p, " \n("), p);
	if (!b->major)
		b->major = parse_major(b->version);
}

/* pg_config found in PATH: its --bindir into dir */
static int pg_config_bindir(char *dir, size_t dirsz)
{
	const char *path = getenv("PATH");
	char exe[PATH_MAX], out[PATH_MAX + 16];
	char *argv[3];
	size_t n;

	if (!path)
		return 0;
	while (*path) {
		n = strcspn(path, ":");
		if (n && n < sizeof(exe) - 16) {
			snprintf(exe, sizeof(exe), "%.*s/pg_config", (int)n, path);
			if (access(exe, X_OK) == 0) {
				argv[0] = exe;
				argv[1] = "--bindir";
				argv[2] = NULL;
				if (run_capture(argv, out, sizeof(out)) != 0)
					return 0;
				out[strcspn(out, "\n")] = '\0';
				if (strlen(out) >= dirsz)
					return 0;
				memcpy(dir, out, strlen(out) + 1);
				return out[0] != '\0';
			}
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return 0;
}

md_status md_pgbin_find(md_pgbin *out, int want_major, md_error *err)
{
	const char *env = getenv("MIGDECK_PG_BINDIR");
	md_pgbin cand[17];
	int ncand = 0, best = -1, i;
	glob_t g;
	size_t k;

	memset(out, 0, sizeof(*out));
	if (env && *env) {
		snprintf(out->dir, sizeof(out->dir), "%s", env);
		out->how = "MIGDECK_PG_BINDIR";
		if (!has_server(out->dir))
			return md_error_set(err, MD_ERR_UNSUPPORTED, NULL, 0, 0,
					    "no PostgreSQL server binaries (initdb and postgres) in %s "
					    "(MIGDECK_PG_BINDIR) to build a local scratch cluster; install "
					    "the PostgreSQL server, or use --scratch=server (a scratch database "
					    "on the target's server)", env);
		probe_version(out);
		return MD_OK;
	}
	memset(cand, 0, sizeof(cand));
	if (pg_config_bindir(cand[0].dir, sizeof(cand[0].dir)) && has_server(cand[0].dir)) {
		cand[0].how = "pg_config --bindir";
		probe_version(&cand[0]);
		ncand = 1;
	}
	if (glob("/usr/lib/postgresql/*/bin", GLOB_NOSORT, NULL, &g) == 0) {
		for (k = 0; k < g.gl_pathc && ncand < 17; k++) {
			const char *d = g.gl_pathv[k];
			const char *v = d + strlen("/usr/lib/postgresql/");
			if (strlen(d) >= sizeof(cand[0].dir) || !has_server(d) || !parse_major(v))
				continue;
			snprintf(cand[ncand].dir, sizeof(cand[ncand].dir), "%s", d);
			cand[ncand].major = parse_major(v);
			cand[ncand].how = "/usr/lib/postgresql";
			ncand++;
		}
		globfree(&g);
	}
	if (!ncand)
		return md_error_set(err, MD_ERR_UNSUPPORTED, NULL, 0, 0,
				    "no PostgreSQL server binaries (initdb and postgres) found to build "
				    "a local scratch cluster: neither pg_config --bindir (PATH) nor "
				    "/usr/lib/postgresql/*/bin has them; install the PostgreSQL server, "
				    "set MIGDECK_PG_BINDIR to their folder, or use --scratch=server (a "
				    "scratch database on the target's server)");
	/* pg_config's, unless another has the target's major and it does not;
	 * without pg_config: the target's major, else the highest */
	for (i = 0; i < ncand; i++) {
		if (best < 0) {
			best = i;
			continue;
		}
		if (cand[best].major == want_major && want_major)
			continue;
		if ((cand[i].major == want_major && want_major) ||
		    (strcmp(cand[best].how, "pg_config --bindir") && cand[i].major > cand[best].major))
			best = i;
	}
	*out = cand[best];
	if (!out->version[0])
		probe_version(out);
	return MD_OK;
}

/* ---- the cluster ---------------------------------------------------------------------- */

static void note(const md_pgcluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const md_pgcluster *c, const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	if (!c->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->progress(line, c->payload);
}

/* the last lines of a log file in the folder, on one line, into out */
static void log_tail(const md_pgcluster *c, const char *name, char *out, size_t outsz)
{
	char path[PATH_MAX + 64], buf[4096];
	size_t n = 0, i, j = 0, start;
	FILE *fp;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", c->dir, name);
	if (!(fp = fopen(path, "rb")))
		return;
	if (fseek(fp, 0, SEEK_END) == 0) {
		long len = ftell(fp);
		if (len > (long)sizeof(buf) - 1)
			fseek(fp, len - (long)sizeof(buf) + 1, SEEK_SET);
		else
			rewind(fp);
		n = fread(buf, 1, sizeof(buf) - 1, fp);
	}
	fclose(fp);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	/* from the start of the 4th line from the end */
	start = n;
	for (i = 0; start > 0; start--)
		if (buf[start - 1] == '\n' && ++i == 4)
			break;
	for (i = start; i < n && j + 4 < outsz; i++) {
		if (buf[i] == '\n') {
			out[j++] = ' ';
			out[j++] = '|';
			out[j++] = ' ';
		} else if ((unsigned char)buf[i] >= ' ' || buf[i] == '\t') {
			out[j++] = buf[i];
		}
	}
	out[j] = '\0';
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void stop_server(md_pgcluster *c)
{
	int waited;

	if (c->postmaster <= 0)
		return;
	g_kill_pid = 0;
	/* immediate shutdown: the postmaster stops its children, then exits */
	kill(c->postmaster, SIGQUIT);
	for (waited = 0; waited < 15000; waited += 20) {
		pid_t r = waitpid(c->postmaster, NULL, WNOHANG);
		if (r == c->postmaster || (r < 0 && errno == ECHILD))
			break;
		pause_ms(20);
	}
	if (waited >= 15000) {
		kill(c->postmaster, SIGKILL);
		wait_child(c->postmaster);
	}
	c->postmaster = 0;
}

void md_pgcluster_destroy(md_pgcluster *c)
{
	if (c) {
		stop_server(c);
		if (c->dir) {
			nftw(c->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
			rmdir(c->dir);
		}
		if (g_caught)
			note(c, "interrupted: the scratch cluster is stopped and removed");
		free(c->dir);
		free(c);
	}
	restore_handlers();
}

/* mkdtemp under $TMPDIR (or /tmp when that is too long for a socket path) */
static char *make_dir(md_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL;

	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	if (asprintf(&dir, "%s/migdeck-scratch.XXXXXX", tmp) < 0) {
		md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		return NULL;
	}
	if (!mkdtemp(dir)) {
		md_error_set(err, MD_ERR_IO, NULL, 0, 0, "cannot make a folder for the scratch cluster: %s: %s",
			     dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

md_status md_pgcluster_init(md_pgcluster **out, const md_pgbin *bin, const char *user,
			    md_warn_fn progress, void *payload, md_error *err)
{
	md_pgcluster *c;
	char exe[PATH_MAX + 16], data[PATH_MAX + 16], log[PATH_MAX + 16], uarg[160], tail[700];
	char *argv[16];
	md_status rc;
	pid_t pid;
	int st, k = 0;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	c->bin = *bin;
	c->progress = progress;
	c->payload = payload;
	c->port = 5432;
	snprintf(c->user, sizeof(c->user), "%s", user);
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");
		if (!pw) {
			free(c);
			return md_error_set(err, MD_ERR_UNSUPPORTED, NULL, 0, 0,
					    "migdeck runs as root and PostgreSQL refuses to run as root, "
					    "but there is no 'postgres' system user to run the local scratch "
					    "cluster as; create one, run migdeck as another user, or use "
					    "--scratch=server (a scratch database on the target's server)");
		}
		c->runas = 1;
		c->uid = pw->pw_uid;
		c->gid = pw->pw_gid;
		c->ngroups = (int)(sizeof(c->groups) / sizeof(c->groups[0]));
		if (getgrouplist("postgres", c->gid, c->groups, &c->ngroups) < 0) {
			c->groups[0] = c->gid;
			c->ngroups = 1;
		}
	}
	install_handlers();
	if (!(c->dir = make_dir(err))) {
		md_pgcluster_destroy(c);
		return err ? err->code : MD_ERR_IO;
	}
	if (c->runas && chown(c->dir, c->uid, c->gid) != 0) {
		rc = md_error_set(err, MD_ERR_IO, NULL, 0, 0, "cannot give %s to the postgres user: %s",
				  c->dir, strerror(errno));
		md_pgcluster_destroy(c);
		return rc;
	}
	note(c, "initdb (PostgreSQL %s, %s) in %s%s", c->bin.version[0] ? c->bin.version : "?",
	     c->bin.dir, c->dir, c->runas ? ", as the postgres system user" : "");
	snprintf(exe, sizeof(exe), "%s/initdb", c->bin.dir);
	snprintf(data, sizeof(data), "%s/data", c->dir);
	snprintf(log, sizeof(log), "%s/initdb.log", c->dir);
	snprintf(uarg, sizeof(uarg), "--username=%s", user);
	argv[k++] = exe;
	argv[k++] = "-D";
	argv[k++] = data;
	argv[k++] = "-A";
	argv[k++] = "trust";
	argv[k++] = "-N";          /* no sync */
	argv[k++] = uarg;
	argv[k++] = "-E";
	argv[k++] = "UTF8";
	argv[k++] = "--locale=C";
	argv[k] = NULL;
	if ((rc = spawn(c, argv, log, -1, &pid, err)) != MD_OK) {
		md_pgcluster_destroy(c);
		return rc;
	}
	g_kill_sig = SIGTERM;
	g_kill_pid = -pid; /* initdb and the postgres it runs */
	if (g_caught)
		kill(-pid, SIGTERM);
	st = wait_child(pid);
	g_kill_pid = 0;
	if (g_caught) {
		rc = md_error_set(err, MD_ERR_IO, NULL, 0, 0, "interrupted while initdb ran");
		md_pgcluster_destroy(c);
		return rc;
	}
	if (st != 0) {
		log_tail(c, "initdb.log", tail, sizeof(tail));
		rc = md_error_set(err, MD_ERR_IO, NULL, 0, 0, "initdb of the scratch cluster failed: %s",
				  tail[0] ? tail : "(no output)");
		md_pgcluster_destroy(c);
		return rc;
	}
	*out = c;
	return MD_OK;
}

md_status md_pgcluster_connect(md_pgcluster *c, const char *dbname, md_db **out, md_error *err)
{
	return md_db_connect_socket(out, c->dir, c->port, c->user, dbname, err);
}

md_status md_pgcluster_start(md_pgcluster *c, md_db **admin, md_error *err)
{
	char exe[PATH_MAX + 16], data[PATH_MAX + 16], log[PATH_MAX + 16], port[16], tail[700];
	char *argv[32];
	md_status rc;
	pid_t pid;
	int k = 0, waited;

	*admin = NULL;
	note(c, "starting the server (socket in %s)", c->dir);
	snprintf(exe, sizeof(exe), "%s/postgres", c->bin.dir);
	snprintf(data, sizeof(data), "%s/data", c->dir);
	snprintf(log, sizeof(log), "%s/server.log", c->dir);
	snprintf(port, sizeof(port), "%d", c->port);
	argv[k++] = exe;
	argv[k++] = "-D";
	argv[k++] = data;
	argv[k++] = "-k";
	argv[k++] = c->dir;
	argv[k++] = "-h";
	argv[k++] = "";
	argv[k++] = "-p";
	argv[k++] = port;
	argv[k++] = "-F";          /* fsync off */
	argv[k++] = "-c";
	argv[k++] = "full_page_writes=off";
	argv[k++] = "-c";
	argv[k++] = "synchronous_commit=off";
	argv[k++] = "-c";
	argv[k++] = "logging_collector=off";
	argv[k++] = "-c";
	argv[k++] = "autovacuum=off";
	argv[k++] = "-c";
	argv[k++] = "max_connections=20";
	argv[k] = NULL;
	if ((rc = spawn(c, argv, log, -1, &pid, err)) != MD_OK)
		return rc;
	c->postmaster = pid;
	g_kill_sig = SIGQUIT;
	g_kill_pid = pid;
	if (g_caught)
		kill(pid, SIGQUIT);
	for (waited = 0;; waited += 50) {
		md_error ignore;
		pid_t r;

		if (g_caught)
			return md_error_set(err, MD_ERR_IO, NULL, 0, 0,
					    "interrupted while the scratch server started");
		if (md_pgcluster_connect(c, "postgres", admin, &ignore) == MD_OK)
			return MD_OK;
		r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || waited >= 60000) {
			if (r == pid)
				c->postmaster = 0;
			g_kill_pid = 0;
			log_tail(c, "server.log", tail, sizeof(tail));
			return md_error_set(err, MD_ERR_IO, NULL, 0, 0,
					    "the scratch cluster's server %s: %s",
					    r == pid ? "did not start" : "did not take connections within 60 s",
					    tail[0] ? tail : ignore.msg);
		}
		pause_ms(50);
	}
}
