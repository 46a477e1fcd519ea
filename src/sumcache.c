/* sumcache.c - remembered checksums of migration files.  See sumcache.h. */
#include "sumcache.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HEADER "migdeck checksums 1\n"
#define RACY_SECONDS 1

typedef struct entry {
	char *name;
	unsigned long long ino;
	long long size, msec, csec;
	long mnsec, cnsec;
	char hex[41];
	int seen;
} entry;

struct md_sumcache {
	char *path;            /* the cache file */
	entry *old;            /* loaded, sorted by name */
	size_t nold;
	entry *fresh;          /* put during this scan */
	size_t nfresh, capfresh;
	int changed;
	time_t now;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* Make the folder that holds file path, and its parent (the cache base
 * may not exist yet). */
static int make_dir(const char *path)
{
	char tmp[PATH_MAX];
	char *slash;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	slash = strrchr(tmp, '/');
	if (!slash || slash == tmp)
		return -1;
	*slash = '\0'; /* tmp: the folder */
	slash = strrchr(tmp, '/');
	if (slash && slash != tmp) {
		*slash = '\0'; /* its parent */
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*slash = '/';
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static void load(md_sumcache *c)
{
	FILE *f = fopen(c->path, "r");
	char line[PATH_MAX + 256];
	size_t cap = 0;

	if (!f)
		return;
	if (!fgets(line, sizeof(line), f) || strcmp(line, HEADER) != 0) {
		fclose(f);
		c->changed = 1; /* rewrite a file of another format */
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		entry e;
		int off = 0;
		size_t n;

		memset(&e, 0, sizeof(e));
		if (sscanf(line, "%llu %lld %lld %ld %lld %ld %40s %n", &e.ino, &e.size, &e.msec,
			   &e.mnsec, &e.csec, &e.cnsec, e.hex, &off) != 7 ||
		    !off || strlen(e.hex) != 40)
			continue;
		n = strlen(line + off);
		if (!n || line[off + n - 1] != '\n')
			continue;
		if (c->nold == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			entry *ne = realloc(c->old, ncap * sizeof(*ne));
			if (!ne)
				break;
			c->old = ne;
			cap = ncap;
		}
		e.name = strndup(line + off, n - 1);
		if (!e.name)
			break;
		c->old[c->nold++] = e;
	}
	fclose(f);
	if (c->nold > 1)
		qsort(c->old, c->nold, sizeof(*c->old), by_name);
}

md_sumcache *md_sumcache_open(const char *dir)
{
	const char *off = getenv("MIGDECK_NO_CACHE"), *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char real[PATH_MAX], base[PATH_MAX];
	md_sumcache *c;

	if (off && *off && strcmp(off, "0") != 0)
		return NULL;
	if (!realpath(dir, real))
		return NULL;
	if (xdg && xdg[0] == '/')
		snprintf(base, sizeof(base), "%s/migdeck", xdg);
	else if (home && home[0] == '/')
		snprintf(base, sizeof(base), "%s/.cache/migdeck", home);
	else
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (asprintf(&c->path, "%s/sums-%016llx", base, (unsigned long long)fnv1a(real)) < 0) {
		free(c);
		return NULL;
	}
	c->now = time(NULL);
	load(c);
	return c;
}

int md_sumcache_empty(const md_sumcache *c)
{
	return !c || c->nold == 0;
}

static int matches(const entry *e, const struct stat *st)
{
	return e->ino == (unsigned long long)st->st_ino && e->size == (long long)st->st_size &&
	       e->msec == (long long)st->st_mtim.tv_sec && e->mnsec == st->st_mtim.tv_nsec &&
	       e->csec == (long long)st->st_ctim.tv_sec && e->cnsec == st->st_ctim.tv_nsec;
}

int md_sumcache_get(md_sumcache *c, const char *name, const struct stat *st, char hex[41])
{
	entry key, *e;

	if (!c || !c->nold)
		return 0;
	key.name = (char *)name;
	e = bsearch(&key, c->old, c->nold, sizeof(*c->old), by_name);
	if (!e || !matches(e, st))
		return 0;
	e->seen = 1;
	memcpy(hex, e->hex, 41);
	return 1;
}

void md_sumcache_put(md_sumcache *c, const char *name, const struct stat *st, const char *hex)
{
	entry *e;

	if (!c || strchr(name, '\n') || strlen(hex) != 40)
		return;
	/* racy: changed so recently that a change to come could keep the
	 * same timestamps */
	if (st->st_mtim.tv_sec >= c->now - RACY_SECONDS || st->st_ctim.tv_sec >= c->now - RACY_SECONDS)
		return;
	if (c->nfresh == c->capfresh) {
		size_t ncap = c->capfresh ? c->capfresh * 2 : 64;
		entry *ne = realloc(c->fresh, ncap * sizeof(*ne));
		if (!ne)
			return;
		c->fresh = ne;
		c->capfresh = ncap;
	}
	e = &c->fresh[c->nfresh];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	if (!e->name)
		return;
	e->ino = (unsigned long long)st->st_ino;
	e->size = (long long)st->st_size;
	e->msec = (long long)st->st_mtim.tv_sec;
	e->mnsec = st->st_mtim.tv_nsec;
	e->csec = (long long)st->st_ctim.tv_sec;
	e->cnsec = st->st_ctim.tv_nsec;
	memcpy(e->hex, hex, 41);
	c->nfresh++;
	c->changed = 1;
}

static void write_entry(FILE *f, const entry *e)
{
	fprintf(f, "%llu %lld %lld %ld %lld %ld %s %s\n", e->ino, e->size, e->msec, e->mnsec, e->csec,
		e->cnsec, e->hex, e->name);
}

static void save(md_sumcache *c)
{
	char *tmp = NULL;
	FILE *f;
	size_t i;
	int ok;

	if (make_dir(c->path) < 0 || asprintf(&tmp, "%s.%ld.tmp", c->path, (long)getpid()) < 0)
		return;
	f = fopen(tmp, "w");
	if (!f) {
		free(tmp);
		return;
	}
	fputs(HEADER, f);
	for (i = 0; i < c->nold; i++)
		if (c->old[i].seen)
			write_entry(f, &c->old[i]);
	for (i = 0; i < c->nfresh; i++)
		write_entry(f, &c->fresh[i]);
	ok = fflush(f) == 0 && !ferror(f);
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, c->path) < 0)
		unlink(tmp);
	free(tmp);
}

void md_sumcache_close(md_sumcache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nold && !c->changed; i++)
		if (!c->old[i].seen)
			c->changed = 1; /* a file went away */
	if (c->changed)
		save(c);
	for (i = 0; i < c->nold; i++)
		free(c->old[i].name);
	for (i = 0; i < c->nfresh; i++)
		free(c->fresh[i].name);
	free(c->old);
	free(c->fresh);
	free(c->path);
	free(c);
}
