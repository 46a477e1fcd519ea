/* progress.c - a long statement's progress as PostgreSQL reports it (see
 * progress.h). */
#include "progress.h"

#include "db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void md_progress_clear(md_progress *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = MD_PROGRESS_NONE;
	p->n.blocks_done = p->n.blocks_total = p->n.blocks_vacuumed = -1;
	p->n.tuples_done = p->n.tuples_total = -1;
	p->n.bytes_done = p->n.bytes_total = -1;
	p->n.lockers_done = p->n.lockers_total = -1;
	p->n.parts_done = p->n.parts_total = -1;
	p->n.items_done = p->n.items_total = -1;
	p->done = p->total = -1;
	p->percent = -1;
}

int md_progress_percent(long long done, long long total)
{
	if (total <= 0 || done < 0)
		return -1;
	if (done >= total)
		return 100;
	/* done < total here: the floor stays below 100 */
	return (int)((double)done * 100.0 / (double)total);
}

/* Take the pair (done, total) in unit when total is known (> 0); 1 if so. */
static int take(md_progress *p, long long done, long long total, const char *unit)
{
	if (total <= 0 || done < 0)
		return 0;
	p->done = done;
	p->total = total;
	p->unit = unit;
	return 1;
}

static int has(const char *phase, const char *word)
{
	return strstr(phase, word) != NULL;
}

void md_progress_pick(md_progress *p)
{
	const md_progress_counts *n = &p->n;
	const char *ph = p->phase;

	p->done = p->total = -1;
	p->unit = NULL;
	switch (p->kind) {
	case MD_PROGRESS_CREATE_INDEX:
		/* "building index: sorting live tuples": no counter moves */
		if (has(ph, "sort"))
			break;
		if (has(ph, "waiting for")) {
			take(p, n->lockers_done, n->lockers_total, "lockers");
			break;
		}
		if (has(ph, "loading tuples") || has(ph, "scanning index")) {
			take(p, n->tuples_done, n->tuples_total, "tuples");
			break;
		}
		/* "building index: scanning table", "index validation: scanning
		 * table", and the access methods that report only "building
		 * index" while they scan */
		if (!take(p, n->blocks_done, n->blocks_total, "blocks"))
			take(p, n->tuples_done, n->tuples_total, "tuples");
		break;
	case MD_PROGRESS_CLUSTER:
		if (!strcmp(ph, "seq scanning heap"))
			take(p, n->blocks_done, n->blocks_total, "blocks");
		else if (!strcmp(ph, "writing new heap"))
			take(p, n->tuples_done, n->tuples_total, "tuples");
		else if (!strcmp(ph, "rebuilding index"))
			take(p, n->items_done, n->items_total, "indexes");
		break;
	case MD_PROGRESS_COPY:
		if (!take(p, n->bytes_done, n->bytes_total, "bytes") && n->tuples_done >= 0) {
			/* from a pipe the server does not know the size: rows so far */
			p->done = n->tuples_done;
			p->unit = "rows";
		}
		break;
	case MD_PROGRESS_VACUUM:
		if (!strcmp(ph, "scanning heap"))
			take(p, n->blocks_done, n->blocks_total, "blocks");
		else if (!strcmp(ph, "vacuuming heap"))
			take(p, n->blocks_vacuumed, n->blocks_total, "blocks");
		else if (has(ph, "indexes"))
			take(p, n->items_done, n->items_total, "indexes");
		break;
	case MD_PROGRESS_ANALYZE:
		if (!strcmp(ph, "acquiring sample rows"))
			take(p, n->blocks_done, n->blocks_total, "blocks");
		else if (!strcmp(ph, "acquiring inherited sample rows"))
			take(p, n->parts_done, n->parts_total, "child tables");
		else if (!strcmp(ph, "computing extended statistics"))
			take(p, n->items_done, n->items_total, "statistics");
		break;
	case MD_PROGRESS_NONE:
		break;
	}
	p->percent = md_progress_percent(p->done, p->total);
}

void md_progress_elapsed(long long ms, char *out, size_t outsz)
{
	if (ms < 0)
		ms = 0;
	if (ms < 60000)
		snprintf(out, outsz, "%lld.%llds", ms / 1000, ms % 1000 / 100);
	else if (ms < 3600000)
		snprintf(out, outsz, "%lldm%02llds", ms / 60000, ms % 60000 / 1000);
	else
		snprintf(out, outsz, "%lldh%02lldm", ms / 3600000, ms % 3600000 / 60000);
}

/* Append to out (size sz, used *o) like snprintf, never past the end. */
static void add(char *out, size_t sz, size_t *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add(char *out, size_t sz, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*o >= sz)
		return;
	va_start(ap, fmt);
	k = vsnprintf(out + *o, sz - *o, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	*o = (size_t)k >= sz - *o ? sz - 1 : *o + (size_t)k;
}

size_t md_progress_describe(const md_progress *p, char *out, size_t outsz)
{
	size_t o = 0;

	if (!outsz)
		return 0;
	out[0] = '\0';
	if (p->kind == MD_PROGRESS_NONE || !p->command[0])
		add(out, outsz, &o, "running");
	else
		add(out, outsz, &o, "%s", p->command);
	if (p->kind != MD_PROGRESS_NONE && p->phase[0])
		add(out, outsz, &o, " %s", p->phase);
	if (p->percent >= 0)
		add(out, outsz, &o, " %d%% (%lld/%lld %s)", p->percent, p->done, p->total,
		    p->unit ? p->unit : "");
	else if (p->done >= 0 && p->unit)
		add(out, outsz, &o, " %lld %s", p->done, p->unit);
	if (p->kind == MD_PROGRESS_CREATE_INDEX && p->n.parts_total > 0)
		add(out, outsz, &o, ", partition %lld of %lld",
		    p->n.parts_done < p->n.parts_total ? p->n.parts_done + 1 : p->n.parts_total,
		    p->n.parts_total);
	if (p->lock[0])
		add(out, outsz, &o, ", waiting for a lock (%s)", p->lock);
	return o;
}

size_t md_progress_format(const md_progress *p, char *out, size_t outsz)
{
	char el[32];
	size_t o = md_progress_describe(p, out, outsz);

	md_progress_elapsed(p->elapsed_ms, el, sizeof(el));
	/* the elapsed time before the lock wait reads oddly: keep it last */
	add(out, outsz, &o, " %s", el);
	return o;
}

void md_progress_bar(int percent, int width, char *out, size_t outsz)
{
	int k, fill;

	if (!outsz)
		return;
	out[0] = '\0';
	if (percent < 0 || width <= 0)
		return;
	if ((size_t)width >= outsz)
		width = (int)outsz - 1;
	if (percent > 100)
		percent = 100;
	fill = (int)(((long)percent * width + 50) / 100);
	for (k = 0; k < width; k++)
		out[k] = k < fill ? '#' : '-';
	out[width] = '\0';
}

/* ---- asking the server ------------------------------------------------------------ */

/* One row for the backend: the lock it waits for (from pg_stat_activity)
 * and, when a progress view has a row for it, the view (kind), command,
 * phase and 13 counters in the order of md_progress_counts.  Each view is
 * a branch of a UNION ALL; the ones older servers lack are left out. */
#define NUL ", NULL::bigint"
#define NUL2 NUL NUL
static const char q_head[] =
	"SELECT CASE WHEN a.wait_event_type = 'Lock' THEN a.wait_event END,"
	" p.kind, p.command, p.phase,"
	" p.c1, p.c2, p.c3, p.c4, p.c5, p.c6, p.c7, p.c8, p.c9, p.c10, p.c11, p.c12, p.c13"
	" FROM pg_catalog.pg_stat_activity a LEFT JOIN (";
static const char q_vacuum_old[] =
	"SELECT pid, 4, 'VACUUM'::text, phase::text, heap_blks_scanned::bigint,"
	" heap_blks_total::bigint, heap_blks_vacuumed::bigint" NUL2 NUL2 NUL2 NUL2 NUL2
	" FROM pg_catalog.pg_stat_progress_vacuum";
static const char q_vacuum_17[] =
	"SELECT pid, 4, 'VACUUM'::text, phase::text, heap_blks_scanned::bigint,"
	" heap_blks_total::bigint, heap_blks_vacuumed::bigint" NUL2 NUL2 NUL2 NUL2
	", indexes_processed::bigint, indexes_total::bigint"
	" FROM pg_catalog.pg_stat_progress_vacuum";
static const char q_create_index[] =
	" UNION ALL SELECT pid, 1, command::text, phase::text, blocks_done::bigint,"
	" blocks_total::bigint" NUL ", tuples_done::bigint, tuples_total::bigint" NUL2
	", lockers_done::bigint, lockers_total::bigint, partitions_done::bigint,"
	" partitions_total::bigint" NUL2
	" FROM pg_catalog.pg_stat_progress_create_index";
static const char q_cluster[] =
	" UNION ALL SELECT c.pid, 2, c.command::text, c.phase::text, c.heap_blks_scanned::bigint,"
	" c.heap_blks_total::bigint" NUL ", c.heap_tuples_written::bigint,"
	" c.heap_tuples_scanned::bigint" NUL2 NUL2 NUL2 ", c.index_rebuild_count::bigint,"
	" (SELECT count(*) FROM pg_catalog.pg_index i WHERE i.indrelid = c.relid)"
	" FROM pg_catalog.pg_stat_progress_cluster c";
static const char q_copy[] =
	" UNION ALL SELECT pid, 3, command::text, ''::text" NUL2 NUL
	", tuples_processed::bigint" NUL ", bytes_processed::bigint, bytes_total::bigint"
	NUL2 NUL2 NUL2 " FROM pg_catalog.pg_stat_progress_copy";
static const char q_analyze[] =
	" UNION ALL SELECT pid, 5, 'ANALYZE'::text, phase::text, sample_blks_scanned::bigint,"
	" sample_blks_total::bigint" NUL NUL2 NUL2 NUL2
	", child_tables_done::bigint, child_tables_total::bigint, ext_stats_computed::bigint,"
	" ext_stats_total::bigint FROM pg_catalog.pg_stat_progress_analyze";
static const char q_tail[] =
	") p (pid, kind, command, phase, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13)"
	" ON p.pid = a.pid WHERE a.pid = $1::int LIMIT 1";
#undef NUL
#undef NUL2

static long long num(const PGresult *res, int col)
{
	if (PQgetisnull(res, 0, col))
		return -1;
	return strtoll(PQgetvalue(res, 0, col), NULL, 10);
}

md_status md_progress_query(struct md_db *db, int pid, md_progress *out, md_error *err)
{
	char sql[sizeof(q_head) + sizeof(q_vacuum_17) + sizeof(q_create_index) + sizeof(q_cluster) +
		 sizeof(q_copy) + sizeof(q_analyze) + sizeof(q_tail)];
	char pidtext[16];
	const char *params[1] = { pidtext };
	long long *c[13];
	PGresult *res;
	md_status rc;
	int v = db->server_version, i;

	md_progress_clear(out);
	snprintf(pidtext, sizeof(pidtext), "%d", pid);
	sql[0] = '\0';
	if (!md_db_is_prepared(db, "md_progress"))
		snprintf(sql, sizeof(sql), "%s%s%s%s%s%s%s", q_head,
			 v >= 170000 ? q_vacuum_17 : q_vacuum_old, v >= 120000 ? q_create_index : "",
			 v >= 120000 ? q_cluster : "", v >= 140000 ? q_copy : "",
			 v >= 130000 ? q_analyze : "", q_tail);
	rc = md_db_query_prepared(db, &res, "md_progress", sql[0] ? sql : NULL, 1, params, err);
	if (rc != MD_OK)
		return rc;
	if (PQntuples(res) == 1) {
		if (!PQgetisnull(res, 0, 0))
			snprintf(out->lock, sizeof(out->lock), "%s", PQgetvalue(res, 0, 0));
		if (!PQgetisnull(res, 0, 1)) {
			int k = atoi(PQgetvalue(res, 0, 1));

			out->kind = k >= MD_PROGRESS_CREATE_INDEX && k <= MD_PROGRESS_ANALYZE
					    ? (md_progress_kind)k
					    : MD_PROGRESS_NONE;
			snprintf(out->command, sizeof(out->command), "%s", PQgetvalue(res, 0, 2));
			snprintf(out->phase, sizeof(out->phase), "%s", PQgetvalue(res, 0, 3));
			c[0] = &out->n.blocks_done;
			c[1] = &out->n.blocks_total;
			c[2] = &out->n.blocks_vacuumed;
			c[3] = &out->n.tuples_done;
			c[4] = &out->n.tuples_total;
			c[5] = &out->n.bytes_done;
			c[6] = &out->n.bytes_total;
			c[7] = &out->n.lockers_done;
			c[8] = &out->n.lockers_total;
			c[9] = &out->n.parts_done;
			c[10] = &out->n.parts_total;
			c[11] = &out->n.items_done;
			c[12] = &out->n.items_total;
			for (i = 0; i < 13; i++)
				*c[i] = num(res, 4 + i);
		}
	}
	PQclear(res);
	md_progress_pick(out);
	return MD_OK;
}
