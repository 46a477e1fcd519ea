/* progress.h - what PostgreSQL reports about a long statement while it
 * runs: one query over the pg_stat_progress_* views (CREATE INDEX and
 * REINDEX, CLUSTER and VACUUM FULL, COPY, VACUUM, ANALYZE) and
 * pg_stat_activity for one backend, asked over a connection other than the
 * one running the statement; and the pure logic that turns the view's
 * counters into the pair that tells most about the current phase, a
 * percent and a line ("CREATE INDEX building index: loading tuples in tree
 * 45% (450000/1000000 tuples) 3.2s").
 *
 * The runner asks (src/runner.c, MD_RUN_PROGRESS events); the CLI prints
 * the line, the console draws a bar.  See doc/progress.md. */
#ifndef MIGDECK_PROGRESS_H
#define MIGDECK_PROGRESS_H

#include <stddef.h>

#include "error.h"

struct md_db;

/* The runner asks no sooner than this after a statement starts, so a short
 * statement never opens the second connection. */
#define MD_PROGRESS_DELAY_MS 500

typedef enum md_progress_kind {
	MD_PROGRESS_NONE = 0,       /* no view reports on the statement */
	MD_PROGRESS_CREATE_INDEX,   /* pg_stat_progress_create_index (PostgreSQL 12+) */
	MD_PROGRESS_CLUSTER,        /* pg_stat_progress_cluster (12+) */
	MD_PROGRESS_COPY,           /* pg_stat_progress_copy (14+) */
	MD_PROGRESS_VACUUM,         /* pg_stat_progress_vacuum */
	MD_PROGRESS_ANALYZE         /* pg_stat_progress_analyze (13+) */
} md_progress_kind;

/* The counters of the view, -1 where it has none. */
typedef struct md_progress_counts {
	/* create_index blocks; cluster and vacuum heap_blks_scanned of
	 * heap_blks_total; analyze sample_blks_scanned of sample_blks_total */
	long long blocks_done, blocks_total;
	long long blocks_vacuumed;        /* vacuum heap_blks_vacuumed */
	/* create_index tuples; cluster heap_tuples_written of
	 * heap_tuples_scanned; copy tuples_processed (no total) */
	long long tuples_done, tuples_total;
	long long bytes_done, bytes_total;     /* copy (total 0 from a pipe) */
	long long lockers_done, lockers_total; /* create_index: waiting for ... */
	/* create_index partitions; analyze child tables */
	long long parts_done, parts_total;
	/* cluster index_rebuild_count of the table's indexes; vacuum
	 * indexes_processed of indexes_total (17+); analyze ext_stats */
	long long items_done, items_total;
} md_progress_counts;

typedef struct md_progress {
	md_progress_kind kind;
	char command[48];        /* the view's command ("CREATE INDEX CONCURRENTLY",
	                            "VACUUM FULL", "COPY FROM" ...), "" for NONE */
	char phase[80];          /* the view's phase ("" when it has none) */
	char lock[64];           /* the lock type the statement waits for right
	                            now ("relation", "advisory" ...), or "" */
	long long elapsed_ms;    /* since the statement was sent */
	md_progress_counts n;
	/* md_progress_pick: the pair that tells most about the phase */
	long long done, total;   /* total < 0: not known; done < 0: no counter */
	const char *unit;        /* "blocks", "tuples", "bytes" ... or NULL */
	int percent;             /* 0..100, -1 when not known */
} md_progress;

/* Clear p: kind NONE, every counter -1, percent -1. */
void md_progress_clear(md_progress *p);

/* Set done, total, unit and percent from kind, phase and the counters:
 * create_index blocks while a table is scanned, tuples while loading the
 * tree or scanning the index to validate it, lockers while waiting for
 * older transactions, nothing while sorting; cluster blocks during the
 * sequential scan, tuples written of those scanned while writing the new
 * heap, indexes while rebuilding them; copy bytes when the total is known,
 * else rows (no percent); vacuum blocks scanned, then vacuumed, indexes
 * (17+); analyze sample blocks, child tables, extended statistics. */
void md_progress_pick(md_progress *p);

/* The percent of done in total: 0..100 (floor; 100 only when done), or -1
 * when total is not known (<= 0) or done is negative. */
int md_progress_percent(long long done, long long total);

/* "3.2s", "1m05s", "2h03m". */
void md_progress_elapsed(long long ms, char *out, size_t outsz);

/* The line without the elapsed time: "CREATE INDEX building index: loading
 * tuples in tree 45% (450000/1000000 tuples)"; "COPY FROM 12000 rows";
 * "running" when no view reports; ", partition 2 of 8" and ", waiting for
 * a lock (relation)" appended when they apply.  Returns strlen. */
size_t md_progress_describe(const md_progress *p, char *out, size_t outsz);

/* md_progress_describe and the elapsed time: "... (450000/1000000 tuples)
 * 3.2s". */
size_t md_progress_format(const md_progress *p, char *out, size_t outsz);

/* A bar of width characters (#, then -) for percent, NUL-terminated (out
 * holds width + 1); percent < 0 gives no bar (""). */
void md_progress_bar(int percent, int width, char *out, size_t outsz);

/* Ask the server over db (not the connection running the statement) what
 * it reports about backend pid, into *out (cleared first; then picked):
 * kind NONE when no view has a row for it.  The query is prepared on db
 * on first use and fits the server's version (views missing from older
 * servers are left out). */
md_status md_progress_query(struct md_db *db, int pid, md_progress *out, md_error *err);

#endif
