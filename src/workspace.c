/* workspace.c - the migration files on disk (see workspace.h).
 *
 * One readdir per folder, one open/read per .sql file into a buffer reused
 * for every file, libgit2 initialised once per scan, one qsort per list.
 * Pairs, duplicates and orphans come from one merge of the two sorted
 * lists (forward files and rollbacks), so a scan is O(n log n). */
#include "workspace.h"

#include "sumcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SQL_EXT ".sql"
#define BASELINE_NAME "consolidated_schema.sql"
#define SLUG_MAX 100

#define WHY_NO_CONVENTION                                                     \
	"name fits no naming convention (V1__desc.sql, U1__desc.sql, "         \
	"R__desc.sql, 001_desc.sql, 20230601_desc.sql, "                       \
	"20241227_120000_desc.sql)"
#define WHY_NO_DESC "name has no description after its version"
#define WHY_TOO_LARGE "a version part does not fit in 64 bits"
#define WHY_TOO_MANY "version has more than 8 parts"
#define WHY_TOO_LONG "version is longer than 63 characters"
#define WHY_REPEATABLE_VERSION "a repeatable migration (R__) has no version"

/* ---- names of enums -------------------------------------------------------- */

const char *md_style_name(md_style s)
{
	switch (s) {
	case MD_STYLE_NONE: return "none";
	case MD_STYLE_FLYWAY: return "flyway";
	case MD_STYLE_NUMBERED: return "numbered";
	case MD_STYLE_DATED: return "dated";
	case MD_STYLE_TIMESTAMPED: return "timestamped";
	}
	return "unknown";
}

const char *md_kind_name(md_kind k)
{
	switch (k) {
	case MD_KIND_VERSIONED: return "versioned";
	case MD_KIND_REPEATABLE: return "repeatable";
	case MD_KIND_ROLLBACK: return "rollback";
	}
	return "unknown";
}

const char *md_folder_name(md_folder f)
{
	switch (f) {
	case MD_FOLDER_PENDING: return "pending";
	case MD_FOLDER_APPLIED: return "applied";
	case MD_FOLDER_ARCHIVE: return "archive";
	}
	return "unknown";
}

/* ---- small helpers ----------------------------------------------------------- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static char *xvasprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *p;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	p = malloc((size_t)n + 1);
	if (p)
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

/* Make room for one more element of size elem in *arr (n used, *cap). */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	void *p;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	p = realloc(*arr, nc * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = nc;
	return 0;
}

static int ends_with(const char *s, size_t len, const char *suffix, int nocase)
{
	size_t n = strlen(suffix);

	if (len < n)
		return 0;
	return nocase ? !strncasecmp(s + len - n, suffix, n) : !memcmp(s + len - n, suffix, n);
}

/* ---- versions ---------------------------------------------------------------- */

/* Parse a version; NULL when it is one, else why not (WHY_NO_CONVENTION
 * for text that is not digits and separators at all). */
static const char *version_parse(md_version *out, const char *s, size_t len)
{
	md_version v;
	uint64_t part = 0;
	int digits = 0;
	size_t i;

	memset(&v, 0, sizeof(v));
	if (!s || len == 0)
		return WHY_NO_CONVENTION;
	for (i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.'; /* a separator ends the last part */

		if (is_digit(c)) {
			unsigned d = (unsigned)(c - '0');

			if (part > (UINT64_MAX - d) / 10)
				return WHY_TOO_LARGE;
			part = part * 10 + d;
			digits = 1;
		} else if (c == '.' || c == '_') {
			if (!digits)
				return WHY_NO_CONVENTION;
			if (v.nparts == MD_VERSION_MAXPARTS)
				return WHY_TOO_MANY;
			v.parts[v.nparts++] = part;
			part = 0;
			digits = 0;
		} else {
			return WHY_NO_CONVENTION;
		}
	}
	if (len >= sizeof(v.text))
		return WHY_TOO_LONG;
	memcpy(v.text, s, len);
	v.text[len] = '\0';
	if (out)
		*out = v;
	return NULL;
}

int md_version_parse(md_version *out, const char *s, size_t len)
{
	return version_parse(out, s, len) ? -1 : 0;
}

int md_version_cmp(const md_version *a, const md_version *b)
{
	unsigned i, n = a->nparts > b->nparts ? a->nparts : b->nparts;

	for (i = 0; i < n; i++) {
		uint64_t x = i < a->nparts ? a->parts[i] : 0;
		uint64_t y = i < b->nparts ? b->parts[i] : 0;

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

/* ---- file names ---------------------------------------------------------------- */

typedef struct parsed {
	md_style style;
	md_kind kind;
	md_version version;
	const char *desc;     /* inside the stem, '_' not yet turned to ' ' */
	size_t desclen;
} parsed;

static unsigned num_at(const char *s, size_t n)
{
	unsigned v = 0;

	while (n--)
		v = v * 10 + (unsigned)(*s++ - '0');
	return v;
}

static int all_digits(const char *s, size_t n)
{
	while (n--)
		if (!is_digit(*s++))
			return 0;
	return 1;
}

/* YYYYMMDD, 8 digits already checked: a real day of years 1900..2999. */
static int plausible_date(const char *s)
{
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y = num_at(s, 4), m = num_at(s + 4, 2), d = num_at(s + 6, 2);
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	return !(m == 2 && d == 29 && !leap);
}

/* HHMMSS, 6 digits already checked (a leap second is allowed). */
static int plausible_time(const char *s)
{
	return num_at(s, 2) < 24 && num_at(s + 2, 2) < 60 && num_at(s + 4, 2) <= 60;
}

/* Parse a stem (a name without ".sql"): NULL when it fits a convention,
 * else why it does not. */
static const char *parse_stem(const char *stem, size_t len, parsed *p)
{
	const char *why, *rest;
	size_t n, vlen, restlen;

	memset(p, 0, sizeof(*p));
	if (len == 0)
		return WHY_NO_CONVENTION;

	if (stem[0] == 'V' || stem[0] == 'U' || stem[0] == 'R') {
		const char *sep = NULL;

		for (n = 1; n + 1 < len; n++)
			if (stem[n] == '_' && stem[n + 1] == '_') {
				sep = stem + n;
				break;
			}
		if (!sep)
			return WHY_NO_CONVENTION;
		vlen = (size_t)(sep - stem) - 1;
		p->style = MD_STYLE_FLYWAY;
		p->desc = sep + 2;
		p->desclen = len - (size_t)(p->desc - stem);
		if (stem[0] == 'R') {
			if (vlen)
				return all_digits(stem + 1, 1) ? WHY_REPEATABLE_VERSION
							       : WHY_NO_CONVENTION;
			if (!p->desclen)
				return "a repeatable migration (R__) needs a description";
			p->kind = MD_KIND_REPEATABLE;
			return NULL;
		}
		why = version_parse(&p->version, stem + 1, vlen);
		if (why)
			return why;
		p->kind = stem[0] == 'V' ? MD_KIND_VERSIONED : MD_KIND_ROLLBACK;
		return NULL;
	}

	if (!is_digit(stem[0]))
		return WHY_NO_CONVENTION;
	/* golang-migrate: <ver>_<desc>.up.sql and its rollback <ver>_<desc>.down.sql */
	if (len > 5 && !memcmp(stem + len - 5, ".down", 5)) {
		why = parse_stem(stem, len - 5, p);
		if (!why && p->kind != MD_KIND_VERSIONED)
			return "a .down.sql file named as a rollback twice";
		if (!why)
			p->kind = MD_KIND_ROLLBACK;
		return why;
	}
	if (len > 3 && !memcmp(stem + len - 3, ".up", 3)) {
		why = parse_stem(stem, len - 3, p);
		if (!why && p->kind != MD_KIND_VERSIONED)
			return "an .up.sql file named as a rollback";
		return why;
	}
	for (n = 0; n < len && is_digit(stem[n]); n++)
		;
	if (n == len)
		return WHY_NO_DESC;
	if (stem[n] != '_')
		return WHY_NO_CONVENTION;
	if (n == 8 && plausible_date(stem)) {
		if (len >= 15 && all_digits(stem + 9, 6) && (len == 15 || stem[15] == '_') &&
		    plausible_time(stem + 9)) {
			p->style = MD_STYLE_TIMESTAMPED;
			vlen = 15;
		} else {
			p->style = MD_STYLE_DATED;
			vlen = 8;
		}
	} else {
		p->style = MD_STYLE_NUMBERED;
		vlen = n;
	}
	why = version_parse(&p->version, stem, vlen);
	if (why)
		return why;
	rest = vlen < len ? stem + vlen + 1 : stem + len;
	restlen = len - (size_t)(rest - stem);

	if (restlen == 8 && !memcmp(rest, "rollback", 8)) {
		p->kind = MD_KIND_ROLLBACK;
		p->desc = rest + 8;
		p->desclen = 0;
	} else if (restlen >= 9 && !memcmp(rest, "rollback_", 9)) {
		p->kind = MD_KIND_ROLLBACK;
		p->desc = rest + 9;
		p->desclen = restlen - 9;
	} else if (restlen >= 9 && !memcmp(rest + restlen - 9, "_rollback", 9)) {
		p->kind = MD_KIND_ROLLBACK;
		p->desc = rest;
		p->desclen = restlen - 9;
	} else {
		if (!restlen)
			return WHY_NO_DESC;
		p->kind = MD_KIND_VERSIONED;
		p->desc = rest;
		p->desclen = restlen;
	}
	return NULL;
}

/* The stem's length: the name without a trailing ".sql". */
static size_t stem_len(const char *name, size_t len)
{
	return len > 4 && ends_with(name, len, SQL_EXT, 0) ? len - 4 : len;
}

static char *make_desc(const char *s, size_t n)
{
	char *d = xstrndup(s, n);
	size_t i;

	if (d)
		for (i = 0; i < n; i++)
			if (d[i] == '_')
				d[i] = ' ';
	return d;
}

int md_name_parse(const char *name, md_style *style, md_kind *kind, md_version *version,
		  char **desc)
{
	parsed p;
	size_t len;

	if (desc)
		*desc = NULL;
	if (!name)
		return -1;
	len = strlen(name);
	if (parse_stem(name, stem_len(name, len), &p))
		return -1;
	if (desc) {
		*desc = make_desc(p.desc, p.desclen);
		if (!*desc)
			return -1;
	}
	if (style)
		*style = p.style;
	if (kind)
		*kind = p.kind;
	if (version)
		*version = p.version;
	return 0;
}

/* ---- checksums ------------------------------------------------------------------- */

/* Drop every CR immediately followed by LF, in place; the new length. */
static size_t crlf_to_lf(char *buf, size_t len)
{
	char *end = buf + len, *cr = memchr(buf, '\r', len), *r, *w;

	if (!cr)
		return len;
	r = w = cr;
	while (r < end) {
		size_t n;

		cr = memchr(r, '\r', (size_t)(end - r));
		if (!cr)
			cr = end;
		n = (size_t)(cr - r);
		memmove(w, r, n);
		w += n;
		if (cr == end)
			break;
		if (cr + 1 == end || cr[1] != '\n')
			*w++ = '\r'; /* a lone CR is content */
		r = cr + 1;
	}
	return (size_t)(w - buf);
}

/* The blob id of buf (already LF); libgit2 must be initialised. */
static md_status blob_hex(const char *buf, size_t len, char hex[41], const char *file,
			  md_error *err)
{
	git_oid oid;

	if (git_odb_hash(&oid, len ? buf : "", len, GIT_OBJECT_BLOB) < 0) {
		const git_error *e = git_error_last();

		hex[0] = '\0';
		return md_error_set(err, MD_ERR_IO, file, 0, 0, "cannot hash: %s",
				    e && e->message ? e->message : "libgit2 error");
	}
	git_oid_tostr(hex, 41, &oid);
	return MD_OK;
}

md_status md_checksum(const char *buf, size_t len, char hex[41], md_error *err)
{
	char *tmp = NULL;
	md_status rc;
	int init;

	hex[0] = '\0';
	if (len && memchr(buf, '\r', len)) {
		tmp = malloc(len);
		if (!tmp)
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		memcpy(tmp, buf, len);
		len = crlf_to_lf(tmp, len);
		buf = tmp;
	}
	init = git_libgit2_init();
	if (init < 0) {
		free(tmp);
		return md_error_set(err, MD_ERR_IO, NULL, 0, 0, "cannot initialise libgit2");
	}
	rc = blob_hex(buf, len, hex, NULL, err);
	git_libgit2_shutdown();
	free(tmp);
	return rc;
}

/* ---- the scan ---------------------------------------------------------------------- */

typedef struct scan {
	md_workspace *ws;
	md_error *err;
	size_t capfiles, caprb, capprob;
	char *buf;            /* file contents, reused for every file */
	size_t bufcap;
	md_sumcache *cache;   /* remembered checksums of the folder scanned */
	md_sumcache *caches[3]; /* ... of every folder, until the hashing is done */
	struct todo *todo;    /* files to read and hash once the folders are listed */
	size_t ntodo, captodo;
} scan;

/* A file the checksum cache could not vouch for: read and hashed after the
 * listing, by up to two threads (the reads are most of a scan). */
typedef struct todo {
	int rollback;         /* in ws->rollbacks, else ws->files */
	size_t idx;
	md_folder folder;
	int err;              /* 0, an errno value, NOT_REGULAR or HASH_FAILED */
	int have_st;
	struct stat st;
} todo;

/* The name of a file as messages show it: "pending/x.sql". */
static char *shown(const md_workspace *ws, md_folder folder, const char *name)
{
	const char *rel = ws->rel_dirs[folder];

	return rel && *rel ? xasprintf("%s/%s", rel, name) : xasprintf("%s", name);
}

static md_status nomem(scan *s)
{
	return md_error_set(s->err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory scanning the workspace");
}

/* Add a problem about path; msg is taken over (NULL: out of memory). */
static md_status add_problem_msg(scan *s, md_ws_problem_kind kind, const char *path, char *msg)
{
	md_workspace *ws = s->ws;
	md_ws_problem *pr;

	if (!msg || grow((void **)&ws->problems, &s->capprob, ws->nproblems, sizeof(*pr))) {
		free(msg);
		return nomem(s);
	}
	pr = &ws->problems[ws->nproblems];
	pr->kind = kind;
	pr->msg = msg;
	pr->path = strdup(path);
	if (!pr->path) {
		free(msg);
		return nomem(s);
	}
	ws->nproblems++;
	return MD_OK;
}

/* A problem "<shown name>: <text>" about the file name in folder. */
static md_status add_problem(scan *s, md_ws_problem_kind kind, md_folder folder,
			     const char *name, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static md_status add_problem(scan *s, md_ws_problem_kind kind, md_folder folder,
			     const char *name, const char *fmt, ...)
{
	char *who = shown(s->ws, folder, name), *text, *path, *msg;
	va_list ap;
	md_status rc;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	path = xasprintf("%s/%s", s->ws->dirs[folder], name);
	msg = who && text ? xasprintf("%s: %s", who, text) : NULL;
	rc = path ? add_problem_msg(s, kind, path, msg) : (free(msg), nomem(s));
	free(who);
	free(text);
	free(path);
	return rc;
}

#define NOT_REGULAR (-1)

/* Read the file name of the open folder dfd into s->buf: 0 and *len, or
 * an errno value (NOT_REGULAR for a FIFO met after all).  The caller knows
 * it is a regular file (d_type or fstatat), so there is no fstat: one open,
 * one read (more only when the buffer fills up), one close; a short read
 * of a regular file is its end.  O_NONBLOCK: a file swapped for a FIFO
 * meanwhile cannot hang the scan. */
static int read_file(char **bufp, size_t *capp, int dfd, const char *name, size_t *len,
		     struct stat *st, int *have_st)
{
	size_t n = 0;
	int fd, e;

	*len = 0;
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno;
	/* the times the checksum cache remembers, from the file read */
	if (st && !*have_st)
		*have_st = fstat(fd, st) == 0 && S_ISREG(st->st_mode);
	for (;;) {
		ssize_t got;
		size_t want;

		if (*capp - n < 2) {
			size_t nc = *capp ? *capp * 2 : 65536;
			char *p = realloc(*bufp, nc);

			if (!p) {
				close(fd);
				return ENOMEM;
			}
			*bufp = p;
			*capp = nc;
		}
		want = *capp - n - 1;
		got = read(fd, *bufp + n, want);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			return e == EAGAIN ? NOT_REGULAR : e;
		}
		n += (size_t)got;
		if ((size_t)got < want)
			break; /* a short read (or 0): the end of the file */
	}
	close(fd);
	*len = n;
	return 0;
}

/* name, path, stem and description share one allocation, at name. */
static void file_free(md_file *f)
{
	free(f->name);
}

/* A .sql file whose name parsed: read it, checksum it, keep it. */
static md_status add_file(scan *s, int dfd, md_folder folder, const char *name, size_t namelen,
			  int is_reg, const parsed *p)
{
	md_workspace *ws = s->ws;
	size_t dlen = strlen(ws->dirs[folder]), i;
	md_file f;
	struct stat st;
	char *q;
	int have_st;
	md_status rc;

	memset(&f, 0, sizeof(f));
	q = malloc(namelen + 1 + dlen + 1 + namelen + 1 + namelen - 4 + 1 + p->desclen + 1);
	if (!q)
		return nomem(s);
	f.name = q;
	memcpy(q, name, namelen + 1);
	q += namelen + 1;
	f.path = q;
	memcpy(q, ws->dirs[folder], dlen);
	q[dlen] = '/';
	memcpy(q + dlen + 1, name, namelen + 1);
	q += dlen + 1 + namelen + 1;
	f.stem = q;
	memcpy(q, name, namelen - 4);
	q[namelen - 4] = '\0';
	q += namelen - 4 + 1;
	f.description = q;
	for (i = 0; i < p->desclen; i++)
		q[i] = p->desc[i] == '_' ? ' ' : p->desc[i];
	q[p->desclen] = '\0';
	f.folder = folder;
	f.style = p->style;
	f.kind = p->kind;
	f.version = p->version;

	f.size = -1;
	have_st = 0;
	if (is_reg && !md_sumcache_empty(s->cache) && fstatat(dfd, name, &st, 0) == 0 &&
	    S_ISREG(st.st_mode)) {
		have_st = 1;
		if (md_sumcache_get(s->cache, name, &st, f.checksum)) {
			/* unchanged since it was hashed: no need to read it */
			f.size = (long long)st.st_size;
			goto keep;
		}
	}
	if (!is_reg) {
		rc = add_problem(s, MD_WS_UNREADABLE, folder, name, "cannot read: %s",
				 "not a regular file");
		if (rc) {
			file_free(&f);
			return rc;
		}
		goto keep;
	}
	/* read and hashed after the listing (hash_todo) */
	if (grow((void **)&s->todo, &s->captodo, s->ntodo, sizeof(*s->todo))) {
		file_free(&f);
		return nomem(s);
	}
	memset(&s->todo[s->ntodo], 0, sizeof(*s->todo));
	s->todo[s->ntodo].rollback = f.kind == MD_KIND_ROLLBACK;
	s->todo[s->ntodo].idx = f.kind == MD_KIND_ROLLBACK ? ws->nrollbacks : ws->nfiles;
	s->todo[s->ntodo].folder = folder;
	s->todo[s->ntodo].have_st = have_st;
	if (have_st)
		s->todo[s->ntodo].st = st;
	s->ntodo++;

keep:

	if (f.kind == MD_KIND_ROLLBACK) {
		if (grow((void **)&ws->rollbacks, &s->caprb, ws->nrollbacks, sizeof(f))) {
			file_free(&f);
			return nomem(s);
		}
		ws->rollbacks[ws->nrollbacks++] = f;
	} else {
		if (grow((void **)&ws->files, &s->capfiles, ws->nfiles, sizeof(f))) {
			file_free(&f);
			return nomem(s);
		}
		ws->files[ws->nfiles++] = f;
	}
	return MD_OK;
}

#define HASH_FAILED (-2)

typedef struct worker {
	scan *s;
	size_t from, step;    /* todo items from, from + step, ... */
	char *buf;
	size_t cap;
	int nomem;
} worker;

static md_file *todo_file(scan *s, const todo *t)
{
	return t->rollback ? &s->ws->rollbacks[t->idx] : &s->ws->files[t->idx];
}

/* Read and hash every step-th todo item: only the worker's own buffer and
 * its own items are written. */
static void *hash_worker(void *arg)
{
	worker *w = arg;
	scan *s = w->s;
	size_t i;

	for (i = w->from; i < s->ntodo; i += w->step) {
		todo *t = &s->todo[i];
		md_file *f = todo_file(s, t);
		size_t len = 0;
		git_oid oid;

		t->err = read_file(&w->buf, &w->cap, AT_FDCWD, f->path, &len,
				   s->caches[t->folder] ? &t->st : NULL, &t->have_st);
		if (t->err == ENOMEM) {
			w->nomem = 1;
			continue;
		}
		if (t->err)
			continue;
		f->size = (long long)len;
		len = crlf_to_lf(w->buf, len);
		if (git_odb_hash(&oid, len ? w->buf : "", len, GIT_OBJECT_BLOB) < 0) {
			t->err = HASH_FAILED;
			continue;
		}
		git_oid_tostr(f->checksum, sizeof(f->checksum), &oid);
	}
	return NULL;
}

/* Hash the todo files (two threads when there are many and two CPUs), then,
 * in order, report the unreadable ones and remember the checksums. */
static md_status hash_todo(scan *s)
{
	worker w[2];
	pthread_t th;
	int threads = 1, k;
	size_t i;
	md_status rc = MD_OK;

	memset(w, 0, sizeof(w));
	if (s->ntodo >= 64 && sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		threads = 2;
	for (k = 0; k < threads; k++) {
		w[k].s = s;
		w[k].from = (size_t)k;
		w[k].step = (size_t)threads;
	}
	if (threads == 2 && pthread_create(&th, NULL, hash_worker, &w[1]) != 0)
		w[1].step = 0; /* no thread: this one does it all */
	if (threads == 2 && w[1].step == 0) {
		w[0].step = 1;
		threads = 1;
	}
	hash_worker(&w[0]);
	if (threads == 2)
		pthread_join(th, NULL);
	for (k = 0; k < 2; k++)
		free(w[k].buf);
	if (w[0].nomem || w[1].nomem)
		return nomem(s);
	for (i = 0; i < s->ntodo && rc == MD_OK; i++) {
		todo *t = &s->todo[i];
		md_file *f = todo_file(s, t);

		if (t->err == HASH_FAILED) {
			const git_error *e = git_error_last();
			rc = md_error_set(s->err, MD_ERR_IO, f->path, 0, 0, "cannot hash: %s",
					  e && e->message ? e->message : "libgit2 failed");
		} else if (t->err) {
			rc = add_problem(s, MD_WS_UNREADABLE, t->folder, f->name, "cannot read: %s",
					 t->err == NOT_REGULAR ? "not a regular file" : strerror(t->err));
		} else if (t->have_st) {
			md_sumcache_put(s->caches[t->folder], f->name, &t->st, f->checksum);
		}
	}
	return rc;
}

/* Documentation that may sit beside migrations without being a problem. */
static int is_doc(const char *name, size_t len)
{
	return ends_with(name, len, ".md", 1) || ends_with(name, len, ".txt", 1);
}

static md_status scan_entry(scan *s, DIR *d, md_folder folder, const struct dirent *de)
{
	const char *name = de->d_name;
	size_t len = strlen(name);
	int is_sql = len > 4 && ends_with(name, len, SQL_EXT, 0);
	int is_reg = de->d_type == DT_REG;
	const char *why;
	parsed p;

	if (de->d_type == DT_DIR)
		return MD_OK;
	if (!is_reg) {
		struct stat st;

		/* a symlink is what it points to; a FIFO, a socket, a device
		 * or a dangling link is not read (UNREADABLE when it is .sql) */
		if (fstatat(dirfd(d), name, &st, 0) == 0) {
			if (S_ISDIR(st.st_mode))
				return MD_OK;
			is_reg = S_ISREG(st.st_mode);
		} else {
			is_reg = 1; /* let the open say what is wrong */
		}
	}

	if (!is_sql) {
		if (is_doc(name, len))
			return MD_OK;
		return add_problem(s, MD_WS_NOT_SQL, folder, name, "not a .sql file");
	}
	if (folder == MD_FOLDER_ARCHIVE && !strcmp(name, BASELINE_NAME)) {
		free(s->ws->baseline_path);
		s->ws->baseline_path = xasprintf("%s/%s", s->ws->dirs[folder], name);
		return s->ws->baseline_path ? MD_OK : nomem(s);
	}
	why = parse_stem(name, len - 4, &p);
	if (why)
		return add_problem(s, MD_WS_BAD_NAME, folder, name, "%s", why);
	return add_file(s, dirfd(d), folder, name, len, is_reg, &p);
}

static md_status scan_dir(scan *s, md_folder folder)
{
	const char *dir = s->ws->dirs[folder];
	struct dirent *de;
	md_status rc = MD_OK;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return MD_OK;
		return md_error_set(s->err, MD_ERR_IO, dir, 0, 0, "cannot read the folder: %s",
				    strerror(errno));
	}
	s->cache = md_sumcache_open(dir);
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = md_error_set(s->err, MD_ERR_IO, dir, 0, 0,
						  "cannot read the folder: %s", strerror(errno));
			break;
		}
		if (de->d_name[0] == '.')
			continue; /* hidden files, "." and ".." */
		rc = scan_entry(s, d, folder, de);
		if (rc)
			break;
	}
	s->caches[folder] = s->cache; /* closed once the files are hashed */
	s->cache = NULL;
	closedir(d);
	return rc;
}

/* ---- ordering, pairs and problems ---------------------------------------------- */

static int cmp_place(const md_file *a, const md_file *b)
{
	if (a->folder != b->folder)
		return a->folder < b->folder ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int cmp_forward(const void *pa, const void *pb)
{
	const md_file *a = pa, *b = pb;
	int c;

	if (a->kind != b->kind)
		return a->kind == MD_KIND_VERSIONED ? -1 : 1;
	if (a->kind == MD_KIND_VERSIONED)
		c = md_version_cmp(&a->version, &b->version);
	else
		c = strcmp(a->description, b->description);
	return c ? c : cmp_place(a, b);
}

static int cmp_rollback(const void *pa, const void *pb)
{
	const md_file *a = pa, *b = pb;
	int c = md_version_cmp(&a->version, &b->version);

	return c ? c : cmp_place(a, b);
}

static int cmp_problem(const void *pa, const void *pb)
{
	const md_ws_problem *a = pa, *b = pb;
	int c = strcmp(a->path, b->path);

	if (c)
		return c;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return strcmp(a->msg, b->msg);
}

static int same_key(const md_file *a, const md_file *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == MD_KIND_REPEATABLE)
		return !strcmp(a->description, b->description);
	return md_version_cmp(&a->version, &b->version) == 0;
}

/* One DUPLICATE problem per file of the group g[0..n), naming the others. */
static md_status report_duplicates(scan *s, const md_file *g, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		char *me = shown(s->ws, g[i].folder, g[i].name), *also = NULL, *msg;
		md_status rc;

		for (j = 0; j < n && me; j++) {
			char *o, *cat;

			if (j == i)
				continue;
			o = shown(s->ws, g[j].folder, g[j].name);
			cat = o ? xasprintf("%s%s%s", also ? also : "", also ? ", " : "", o) : NULL;
			free(o);
			free(also);
			also = cat;
			if (!also)
				break;
		}
		if (!me || !also)
			msg = NULL;
		else if (g[i].kind == MD_KIND_REPEATABLE)
			msg = xasprintf("%s: duplicate repeatable \"%s\" (also %s)", me,
					g[i].description, also);
		else if (g[i].kind == MD_KIND_ROLLBACK)
			msg = xasprintf("%s: duplicate rollback for version %s (also %s)", me,
					g[i].version.text, also);
		else
			msg = xasprintf("%s: duplicate version %s (also %s)", me,
					g[i].version.text, also);
		free(me);
		free(also);
		rc = add_problem_msg(s, MD_WS_DUPLICATE, g[i].path, msg);
		if (rc)
			return rc;
	}
	return MD_OK;
}

static md_status find_duplicates(scan *s, const md_file *arr, size_t n)
{
	size_t i = 0, j;
	md_status rc;

	while (i < n) {
		for (j = i + 1; j < n && same_key(&arr[i], &arr[j]); j++)
			;
		if (j - i > 1) {
			rc = report_duplicates(s, arr + i, j - i);
			if (rc)
				return rc;
		}
		i = j;
	}
	return MD_OK;
}

/* Pair forward files f[0..nf) with rollbacks r[0..nr), all of one version:
 * the same folder first, then any. */
static void pair_group(md_file *f, size_t nf, md_file *r, size_t nr)
{
	size_t i, j;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < nr; i++) {
			if (r[i].pair)
				continue;
			for (j = 0; j < nf; j++)
				if (!f[j].pair && (pass || f[j].folder == r[i].folder)) {
					f[j].pair = &r[i];
					r[i].pair = &f[j];
					break;
				}
		}
}

static md_status pair_all(scan *s)
{
	md_workspace *ws = s->ws;
	size_t nver = 0, i = 0, k = 0, i2, k2;
	md_status rc;

	while (nver < ws->nfiles && ws->files[nver].kind == MD_KIND_VERSIONED)
		nver++;
	while (k < ws->nrollbacks) {
		md_file *rb = &ws->rollbacks[k];
		int c = 1;

		for (k2 = k + 1; k2 < ws->nrollbacks &&
				 !md_version_cmp(&rb->version, &ws->rollbacks[k2].version);
		     k2++)
			;
		while (i < nver && (c = md_version_cmp(&ws->files[i].version, &rb->version)) < 0)
			i++;
		if (i < nver && c == 0) {
			for (i2 = i + 1; i2 < nver &&
					 !md_version_cmp(&ws->files[i2].version, &rb->version);
			     i2++)
				;
			pair_group(ws->files + i, i2 - i, rb, k2 - k);
			i = i2;
		} else {
			for (; k < k2; k++) {
				rc = add_problem(s, MD_WS_ORPHAN_ROLLBACK, ws->rollbacks[k].folder,
						 ws->rollbacks[k].name,
						 "rollback with no forward file of version %s",
						 ws->rollbacks[k].version.text);
				if (rc)
					return rc;
			}
		}
		k = k2;
	}
	return MD_OK;
}

/* The style most versioned files use (forward files; rollbacks when there
 * are none; flyway for a workspace of repeatables only), and a problem for
 * each versioned or rollback file of another style. */
static md_status find_style(scan *s)
{
	md_workspace *ws = s->ws;
	size_t count[MD_STYLE_TIMESTAMPED + 1] = { 0 }, i, best = 0;
	int st;
	md_status rc;

	for (i = 0; i < ws->nfiles; i++)
		if (ws->files[i].kind == MD_KIND_VERSIONED)
			count[ws->files[i].style]++;
	for (st = MD_STYLE_FLYWAY; st <= MD_STYLE_TIMESTAMPED; st++)
		best += count[st];
	if (!best)
		for (i = 0; i < ws->nrollbacks; i++)
			count[ws->rollbacks[i].style]++;
	ws->style = MD_STYLE_NONE;
	best = 0;
	for (st = MD_STYLE_FLYWAY; st <= MD_STYLE_TIMESTAMPED; st++)
		if (count[st] > best) {
			best = count[st];
			ws->style = (md_style)st;
		}
	if (ws->style == MD_STYLE_NONE) {
		if (ws->nfiles)
			ws->style = MD_STYLE_FLYWAY; /* repeatables only */
		return MD_OK;
	}
	for (i = 0; i < ws->nfiles + ws->nrollbacks; i++) {
		const md_file *f = i < ws->nfiles ? &ws->files[i] : &ws->rollbacks[i - ws->nfiles];

		if (f->kind == MD_KIND_REPEATABLE || f->style == ws->style)
			continue;
		rc = add_problem(s, MD_WS_MIXED_STYLES, f->folder, f->name,
				 "%s name in a %s workspace (mixed naming styles)",
				 md_style_name(f->style), md_style_name(ws->style));
		if (rc)
			return rc;
	}
	return MD_OK;
}

/* ---- folders ------------------------------------------------------------------------ */

/* How messages name a folder: relative to base when inside it ("" when it
 * is base itself), else the folder as configured. */
static char *rel_dir(const char *dir, const char *base)
{
	size_t n = base ? strlen(base) : 0;

	while (n > 1 && base[n - 1] == '/')
		n--;
	if (n && !strncmp(dir, base, n)) {
		if (dir[n] == '\0')
			return strdup("");
		if (dir[n] == '/')
			return strdup(dir + n + 1);
		if (n == 1 && base[0] == '/')
			return strdup(dir + 1);
	}
	return strdup(dir);
}

/* The parent folder of dir (malloc'd), or NULL. */
static char *parent_of(const char *dir)
{
	const char *slash = strrchr(dir, '/');

	if (!slash)
		return NULL;
	return slash == dir ? strdup("/") : xstrndup(dir, (size_t)(slash - dir));
}

static md_status setup_dirs(scan *s, const md_config *cfg)
{
	md_workspace *ws = s->ws;
	const char *cfgdirs[3] = { cfg->pending_dir, cfg->applied_dir, cfg->archive_dir };
	char *base = NULL;
	int f;

	/* messages name files relative to the ini's folder, or else to the
	 * parent of pending/ */
	if (cfg->base_dir)
		base = strdup(cfg->base_dir);
	else if (cfg->pending_dir && strchr(cfg->pending_dir, '/'))
		base = parent_of(cfg->pending_dir);
	if (!base && (cfg->base_dir || (cfg->pending_dir && strchr(cfg->pending_dir, '/'))))
		return nomem(s);
	for (f = 0; f < 3; f++) {
		size_t n;

		if (!cfgdirs[f])
			continue;
		ws->dirs[f] = strdup(cfgdirs[f]);
		if (!ws->dirs[f])
			break;
		/* "db/pending/" is "db/pending" */
		for (n = strlen(ws->dirs[f]); n > 1 && ws->dirs[f][n - 1] == '/'; n--)
			ws->dirs[f][n - 1] = '\0';
		ws->rel_dirs[f] = rel_dir(ws->dirs[f], base);
		if (!ws->rel_dirs[f])
			break;
	}
	free(base);
	return f == 3 ? MD_OK : nomem(s);
}

/* ---- scan: the entry point ---------------------------------------------------------- */

md_status md_workspace_scan(md_workspace **out, const md_config *cfg, md_error *err)
{
	scan s;
	char real[3][PATH_MAX];
	int have[3] = { 0, 0, 0 }, f, g, skip;
	md_status rc;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	s.err = err;
	s.ws = calloc(1, sizeof(*s.ws));
	if (!s.ws)
		return nomem(&s);
	if (git_libgit2_init() < 0) {
		free(s.ws);
		return md_error_set(err, MD_ERR_IO, NULL, 0, 0, "cannot initialise libgit2");
	}
	rc = setup_dirs(&s, cfg);
	s.ws->untracked = !cfg->tracked;

	for (f = 0; f < 3 && rc == MD_OK; f++) {
		if (!s.ws->dirs[f])
			continue;
		have[f] = realpath(s.ws->dirs[f], real[f]) != NULL;
		/* one folder named twice is scanned once, as the first name */
		skip = 0;
		for (g = 0; g < f; g++) {
			if (!s.ws->dirs[g])
				continue;
			if ((have[f] && have[g] && !strcmp(real[f], real[g])) ||
			    !strcmp(s.ws->dirs[f], s.ws->dirs[g])) {
				skip = 1;
				if (f == MD_FOLDER_APPLIED && g == MD_FOLDER_PENDING)
					s.ws->single_folder = 1;
			}
		}
		if (!skip)
			rc = scan_dir(&s, (md_folder)f);
	}
	if (rc == MD_OK)
		rc = hash_todo(&s);
	for (f = 0; f < 3; f++)
		md_sumcache_close(s.caches[f]);
	free(s.todo);
	git_libgit2_shutdown();
	free(s.buf);

	if (rc == MD_OK) {
		if (s.ws->nfiles)
			qsort(s.ws->files, s.ws->nfiles, sizeof(md_file), cmp_forward);
		if (s.ws->nrollbacks)
			qsort(s.ws->rollbacks, s.ws->nrollbacks, sizeof(md_file), cmp_rollback);
		rc = find_duplicates(&s, s.ws->files, s.ws->nfiles);
	}
	if (rc == MD_OK)
		rc = find_duplicates(&s, s.ws->rollbacks, s.ws->nrollbacks);
	if (rc == MD_OK)
		rc = pair_all(&s);
	if (rc == MD_OK)
		rc = find_style(&s);
	if (rc != MD_OK) {
		md_workspace_free(s.ws);
		return rc;
	}
	if (s.ws->nproblems > 1)
		qsort(s.ws->problems, s.ws->nproblems, sizeof(md_ws_problem), cmp_problem);
	*out = s.ws;
	return MD_OK;
}

const md_ws_problem *md_workspace_problem_of(const md_workspace *ws, const md_file *f)
{
	size_t i;

	if (!f)
		return NULL;
	for (i = 0; i < ws->nproblems; i++)
		if (ws->problems[i].path && !strcmp(ws->problems[i].path, f->path))
			return &ws->problems[i];
	return NULL;
}

void md_workspace_free(md_workspace *ws)
{
	size_t i;
	int f;

	if (!ws)
		return;
	for (i = 0; i < ws->nfiles; i++)
		file_free(&ws->files[i]);
	for (i = 0; i < ws->nrollbacks; i++)
		file_free(&ws->rollbacks[i]);
	for (i = 0; i < ws->nproblems; i++) {
		free(ws->problems[i].path);
		free(ws->problems[i].msg);
	}
	for (f = 0; f < 3; f++) {
		free(ws->dirs[f]);
		free(ws->rel_dirs[f]);
	}
	free(ws->files);
	free(ws->rollbacks);
	free(ws->problems);
	free(ws->baseline_path);
	free(ws);
}

/* ---- lookup -------------------------------------------------------------------------- */

md_file *md_workspace_find(const md_workspace *ws, const char *version_or_stem)
{
	md_version v;
	size_t lo, hi, i, qlen;

	if (!ws || !version_or_stem)
		return NULL;
	qlen = strlen(version_or_stem);
	if (md_version_parse(&v, version_or_stem, qlen) == 0) {
		/* files[] holds versioned files in version order, then repeatables */
		lo = 0;
		hi = ws->nfiles;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			const md_file *f = &ws->files[mid];

			if (f->kind == MD_KIND_VERSIONED && md_version_cmp(&f->version, &v) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < ws->nfiles && ws->files[lo].kind == MD_KIND_VERSIONED &&
		    md_version_cmp(&ws->files[lo].version, &v) == 0)
			return &ws->files[lo];
	}
	for (i = 0; i < ws->nfiles; i++)
		if (!strcmp(ws->files[i].stem, version_or_stem) ||
		    !strcmp(ws->files[i].name, version_or_stem))
			return &ws->files[i];
	return NULL;
}

/* ---- new migrations -------------------------------------------------------------------- */

/* "Add e-mail column!" -> "add_e_mail_column"; "" when nothing is left. */
static char *make_slug(const char *name)
{
	size_t n = 0;
	char *slug = malloc(SLUG_MAX + 1);
	const char *p;

	if (!slug)
		return NULL;
	for (p = name; *p && n < SLUG_MAX; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || is_digit(c))
			slug[n++] = c;
		else if (n && slug[n - 1] != '_')
			slug[n++] = '_';
	}
	while (n && slug[n - 1] == '_')
		n--;
	slug[n] = '\0';
	return slug;
}

/* Seconds since the epoch of a dated or timestamped version. */
static long long version_epoch(const md_version *v)
{
	struct tm tm;
	uint64_t d = v->parts[0], t = v->nparts > 1 ? v->parts[1] : 0;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)(d / 10000) - 1900;
	tm.tm_mon = (int)(d / 100 % 100) - 1;
	tm.tm_mday = (int)(d % 100);
	tm.tm_hour = (int)(t / 10000);
	tm.tm_min = (int)(t / 100 % 100);
	tm.tm_sec = (int)(t % 100);
	return (long long)timegm(&tm);
}

static int utc(long long epoch, struct tm *tm)
{
	time_t t = (time_t)epoch;

	return gmtime_r(&t, tm) ? 0 : -1;
}

/* Every versioned forward file and every rollback, in turn. */
static const md_file *nth_versioned(const md_workspace *ws, size_t i)
{
	if (!ws)
		return NULL;
	for (; i < ws->nfiles + ws->nrollbacks; i++) {
		const md_file *f = i < ws->nfiles ? &ws->files[i] : &ws->rollbacks[i - ws->nfiles];

		if (f->kind != MD_KIND_REPEATABLE)
			return f;
	}
	return NULL;
}

static size_t count_all(const md_workspace *ws)
{
	return ws ? ws->nfiles + ws->nrollbacks : 0;
}

/* The version text for a new migration in style, into ver. */
static md_status next_version(const md_workspace *ws, md_style style, long long now,
			      char *ver, size_t versz, md_error *err)
{
	const md_file *f;
	size_t i, n = count_all(ws);
	struct tm tm;

	switch (style) {
	case MD_STYLE_NUMBERED:
	case MD_STYLE_FLYWAY: {
		uint64_t hi = 0;
		size_t width = 1;
		int any = 0;

		for (i = 0; i < n; i++) {
			f = nth_versioned(ws, i);
			if (!f || f->style != style)
				continue;
			if (!any || f->version.parts[0] > hi)
				hi = f->version.parts[0];
			any = 1;
			if (style == MD_STYLE_NUMBERED && strlen(f->version.text) > width)
				width = strlen(f->version.text);
		}
		if (any && hi == UINT64_MAX)
			return md_error_set(err, MD_ERR_INVALID, NULL, 0, 0,
					    "the highest version has no successor");
		if (!any && style == MD_STYLE_NUMBERED)
			width = 3;
		snprintf(ver, versz, "%0*llu", (int)width,
			 (unsigned long long)(any ? hi + 1 : 1));
		return MD_OK;
	}
	case MD_STYLE_DATED: {
		const md_file *block = NULL;
		md_version today;
		char *who;

		if (utc(now, &tm))
			return md_error_set(err, MD_ERR_INVALID, NULL, 0, 0, "the clock is out of range");
		snprintf(ver, versz, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		if (md_version_parse(&today, ver, strlen(ver)))
			return md_error_set(err, MD_ERR_INVALID, NULL, 0, 0, "the clock is out of range");
		/* the highest version that is today's or a later date */
		for (i = 0; i < n; i++) {
			int c;

			f = nth_versioned(ws, i);
			if (!f)
				continue;
			c = md_version_cmp(&f->version, &today);
			if (c < 0 || (c > 0 && f->style != MD_STYLE_DATED &&
				      f->style != MD_STYLE_TIMESTAMPED))
				continue;
			if (!block || md_version_cmp(&f->version, &block->version) > 0)
				block = f;
		}
		if (!block)
			return MD_OK;
		who = shown(ws, block->folder, block->name);
		if (!md_version_cmp(&block->version, &today))
			md_error_set(err, MD_ERR_INVALID, NULL, 0, 0,
				     "a migration dated %s already exists (%s); dated names "
				     "allow one migration a day: use --style timestamped",
				     ver, who ? who : block->name);
		else
			md_error_set(err, MD_ERR_INVALID, NULL, 0, 0,
				     "%s (version %s) is not older than today (%s), so a new "
				     "dated migration would not come last: use --style "
				     "timestamped",
				     who ? who : block->name, block->version.text, ver);
		free(who);
		return MD_ERR_INVALID;
	}
	case MD_STYLE_TIMESTAMPED: {
		long long t = now, hi = 0;
		int any = 0;

		for (i = 0; i < n; i++) {
			long long e;

			f = nth_versioned(ws, i);
			if (!f || (f->style != MD_STYLE_DATED && f->style != MD_STYLE_TIMESTAMPED))
				continue;
			e = version_epoch(&f->version);
			if (!any || e > hi)
				hi = e;
			any = 1;
		}
		if (any && t <= hi)
			t = hi + 1;
		if (utc(t, &tm))
			return md_error_set(err, MD_ERR_INVALID, NULL, 0, 0, "the clock is out of range");
		snprintf(ver, versz, "%04d%02d%02d_%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		return MD_OK;
	}
	case MD_STYLE_NONE:
		break;
	}
	return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0, "unknown naming style");
}

/* The name reads back as a new file of style and kind, with version v. */
static int reads_as(const char *name, md_style style, md_kind kind, const md_version *v)
{
	parsed p;

	if (parse_stem(name, stem_len(name, strlen(name)), &p))
		return 0;
	return p.style == style && p.kind == kind && md_version_cmp(&p.version, v) == 0;
}

md_status md_workspace_new_names(const md_workspace *ws, md_style style, const char *name,
				 long long now_epoch, char **forward, char **rollback,
				 md_error *err)
{
	char ver[64], *slug, *fw = NULL, *rb = NULL;
	md_version v;
	md_status rc;

	*forward = NULL;
	*rollback = NULL;
	slug = make_slug(name ? name : "");
	if (!slug)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	if (!*slug) {
		free(slug);
		return md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
				    "the name \"%s\" has no letters or digits to make a file "
				    "name from",
				    name ? name : "");
	}
	if (style == MD_STYLE_NONE)
		style = ws && ws->style != MD_STYLE_NONE ? ws->style : MD_STYLE_DATED;
	rc = next_version(ws, style, now_epoch, ver, sizeof(ver), err);
	if (rc) {
		free(slug);
		return rc;
	}
	switch (style) {
	case MD_STYLE_FLYWAY:
		fw = xasprintf("V%s__%s.sql", ver, slug);
		rb = xasprintf("U%s__%s.sql", ver, slug);
		break;
	case MD_STYLE_TIMESTAMPED:
		fw = xasprintf("%s_%s.sql", ver, slug);
		rb = xasprintf("%s_%s_rollback.sql", ver, slug);
		break;
	default: /* numbered, dated */
		fw = xasprintf("%s_%s.sql", ver, slug);
		rb = xasprintf("%s_rollback_%s.sql", ver, slug);
		break;
	}
	if (!fw || !rb) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	} else if (md_version_parse(&v, ver, strlen(ver)) ||
		   !reads_as(fw, style, MD_KIND_VERSIONED, &v) ||
		   !reads_as(rb, style, MD_KIND_ROLLBACK, &v)) {
		/* e.g. "rollback_users" would make a numbered rollback name */
		rc = md_error_set(err, MD_ERR_USAGE, NULL, 0, 0,
				  "the name \"%s\" makes %s, which would not read back as a "
				  "new %s migration; choose another name",
				  name, fw, md_style_name(style));
	}
	free(slug);
	if (rc) {
		free(fw);
		free(rb);
		return rc;
	}
	*forward = fw;
	*rollback = rb;
	return MD_OK;
}
