/* sumcache.h - remembered checksums of migration files, so a scan reads
 * only the files that changed (the idea of git's index).
 *
 * One cache file per folder, in $XDG_CACHE_HOME/migdeck/ (or
 * ~/.cache/migdeck/), named after the folder's real path.  An entry is
 * used only when the file's inode, size, mtime and ctime (to the
 * nanosecond) are what they were; a file changed in the second of the
 * scan or the one before is never remembered (on a file system that keeps
 * whole seconds it could change again within the same timestamp).  Anything wrong with the cache (no home, a
 * read-only disk, a damaged file) only means the files are read.
 * MIGDECK_NO_CACHE=1 turns it off. */
#ifndef MIGDECK_SUMCACHE_H
#define MIGDECK_SUMCACHE_H

#include <sys/stat.h>

typedef struct md_sumcache md_sumcache;

/* The cache of folder dir, or NULL when there is none to use. */
md_sumcache *md_sumcache_open(const char *dir);

/* Does the cache remember anything (worth a stat before reading)? */
int md_sumcache_empty(const md_sumcache *c);

/* 1 and hex filled when name's entry matches st; 0 otherwise. */
int md_sumcache_get(md_sumcache *c, const char *name, const struct stat *st, char hex[41]);

/* Remember name's checksum for st (c may be NULL). */
void md_sumcache_put(md_sumcache *c, const char *name, const struct stat *st, const char *hex);

/* Write the cache back if it changed (entries of files not seen in this
 * scan are dropped) and free it.  Accepts NULL. */
void md_sumcache_close(md_sumcache *c);

#endif
