/* test_progress.c - the pure part of src/progress.c: which counters of a
 * pg_stat_progress_* row tell most about its phase, the percent, the line
 * the CLI prints and the bar the console draws.  The query itself runs on
 * the real server in tests/integration/test_progress.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "progress.h"

static md_progress make(md_progress_kind kind, const char *command, const char *phase)
{
	md_progress p;

	md_progress_clear(&p);
	p.kind = kind;
	snprintf(p.command, sizeof(p.command), "%s", command);
	snprintf(p.phase, sizeof(p.phase), "%s", phase);
	return p;
}

static void test_percent(void **state)
{
	(void)state;
	assert_int_equal(md_progress_percent(0, 0), -1);
	assert_int_equal(md_progress_percent(5, -1), -1);
	assert_int_equal(md_progress_percent(-1, 10), -1);
	assert_int_equal(md_progress_percent(0, 10), 0);
	assert_int_equal(md_progress_percent(450000, 1000000), 45);
	assert_int_equal(md_progress_percent(999, 1000), 99); /* floor: 100 only when done */
	assert_int_equal(md_progress_percent(1000, 1000), 100);
	assert_int_equal(md_progress_percent(1200, 1000), 100);
	assert_int_equal(md_progress_percent(1LL << 50, 1LL << 51), 50);
}

static void test_pick_create_index(void **state)
{
	md_progress p;

	(void)state;
	/* the table scan: blocks */
	p = make(MD_PROGRESS_CREATE_INDEX, "CREATE INDEX", "building index: scanning table");
	p.n.blocks_done = 4167;
	p.n.blocks_total = 8334;
	p.n.tuples_done = 0;
	p.n.tuples_total = 0;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "blocks");
	assert_int_equal(p.done, 4167);
	assert_int_equal(p.total, 8334);
	assert_int_equal(p.percent, 50);

	/* loading the tree: tuples (the blocks went back to 0) */
	p = make(MD_PROGRESS_CREATE_INDEX, "CREATE INDEX", "building index: loading tuples in tree");
	p.n.blocks_done = 0;
	p.n.blocks_total = 0;
	p.n.tuples_done = 450000;
	p.n.tuples_total = 1000000;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "tuples");
	assert_int_equal(p.percent, 45);

	/* sorting: nothing moves, even when the scan's blocks are still there */
	p = make(MD_PROGRESS_CREATE_INDEX, "CREATE INDEX", "building index: sorting live tuples");
	p.n.blocks_done = 8334;
	p.n.blocks_total = 8334;
	md_progress_pick(&p);
	assert_null(p.unit);
	assert_int_equal(p.percent, -1);

	/* CONCURRENTLY waits for older transactions: lockers */
	p = make(MD_PROGRESS_CREATE_INDEX, "CREATE INDEX CONCURRENTLY",
		 "waiting for writers before build");
	p.n.lockers_done = 1;
	p.n.lockers_total = 3;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "lockers");
	assert_int_equal(p.percent, 33);

	/* validation scans the index: tuples */
	p = make(MD_PROGRESS_CREATE_INDEX, "CREATE INDEX CONCURRENTLY",
		 "index validation: scanning index");
	p.n.blocks_done = 10;
	p.n.blocks_total = 10;
	p.n.tuples_done = 20;
	p.n.tuples_total = 80;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "tuples");
	assert_int_equal(p.percent, 25);

	/* an access method that reports only "building index" (GiST): blocks */
	p = make(MD_PROGRESS_CREATE_INDEX, "CREATE INDEX", "building index");
	p.n.blocks_done = 3;
	p.n.blocks_total = 4;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "blocks");
	assert_int_equal(p.percent, 75);

	/* nothing known yet */
	p = make(MD_PROGRESS_CREATE_INDEX, "CREATE INDEX", "initializing");
	p.n.blocks_done = 0;
	p.n.blocks_total = 0;
	md_progress_pick(&p);
	assert_null(p.unit);
	assert_int_equal(p.percent, -1);
}

static void test_pick_others(void **state)
{
	md_progress p;

	(void)state;
	p = make(MD_PROGRESS_CLUSTER, "CLUSTER", "seq scanning heap");
	p.n.blocks_done = 1;
	p.n.blocks_total = 4;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "blocks");
	assert_int_equal(p.percent, 25);

	p = make(MD_PROGRESS_CLUSTER, "VACUUM FULL", "writing new heap");
	p.n.tuples_done = 300;
	p.n.tuples_total = 400;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "tuples");
	assert_int_equal(p.percent, 75);

	p = make(MD_PROGRESS_CLUSTER, "CLUSTER", "rebuilding index");
	p.n.items_done = 1;
	p.n.items_total = 2;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "indexes");
	assert_int_equal(p.percent, 50);

	p = make(MD_PROGRESS_CLUSTER, "CLUSTER", "sorting tuples");
	p.n.blocks_done = 4;
	p.n.blocks_total = 4;
	md_progress_pick(&p);
	assert_int_equal(p.percent, -1);

	/* COPY with a known size: bytes */
	p = make(MD_PROGRESS_COPY, "COPY FROM", "");
	p.n.bytes_done = 512;
	p.n.bytes_total = 2048;
	p.n.tuples_done = 10;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "bytes");
	assert_int_equal(p.percent, 25);

	/* from a pipe: rows so far, no percent */
	p = make(MD_PROGRESS_COPY, "COPY FROM", "");
	p.n.bytes_done = 512;
	p.n.bytes_total = 0;
	p.n.tuples_done = 12000;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "rows");
	assert_int_equal(p.done, 12000);
	assert_int_equal(p.percent, -1);

	p = make(MD_PROGRESS_VACUUM, "VACUUM", "scanning heap");
	p.n.blocks_done = 50;
	p.n.blocks_total = 200;
	p.n.blocks_vacuumed = 0;
	md_progress_pick(&p);
	assert_int_equal(p.done, 50);
	assert_int_equal(p.percent, 25);

	p = make(MD_PROGRESS_VACUUM, "VACUUM", "vacuuming heap");
	p.n.blocks_done = 200;
	p.n.blocks_total = 200;
	p.n.blocks_vacuumed = 100;
	md_progress_pick(&p);
	assert_int_equal(p.done, 100);
	assert_int_equal(p.percent, 50);

	/* indexes: only PostgreSQL 17 counts them */
	p = make(MD_PROGRESS_VACUUM, "VACUUM", "vacuuming indexes");
	p.n.items_done = 1;
	p.n.items_total = 4;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "indexes");
	assert_int_equal(p.percent, 25);
	p = make(MD_PROGRESS_VACUUM, "VACUUM", "vacuuming indexes");
	md_progress_pick(&p);
	assert_int_equal(p.percent, -1);

	p = make(MD_PROGRESS_ANALYZE, "ANALYZE", "acquiring sample rows");
	p.n.blocks_done = 30;
	p.n.blocks_total = 30;
	md_progress_pick(&p);
	assert_int_equal(p.percent, 100);
	p = make(MD_PROGRESS_ANALYZE, "ANALYZE", "acquiring inherited sample rows");
	p.n.parts_done = 2;
	p.n.parts_total = 8;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "child tables");
	assert_int_equal(p.percent, 25);
	p = make(MD_PROGRESS_ANALYZE, "ANALYZE", "computing extended statistics");
	p.n.items_done = 0;
	p.n.items_total = 2;
	md_progress_pick(&p);
	assert_string_equal(p.unit, "statistics");
	assert_int_equal(p.percent, 0);

	/* no view: nothing */
	md_progress_clear(&p);
	md_progress_pick(&p);
	assert_int_equal(p.kind, MD_PROGRESS_NONE);
	assert_null(p.unit);
	assert_int_equal(p.percent, -1);
}

static void test_elapsed(void **state)
{
	char b[32];

	(void)state;
	md_progress_elapsed(0, b, sizeof(b));
	assert_string_equal(b, "0.0s");
	md_progress_elapsed(-5, b, sizeof(b));
	assert_string_equal(b, "0.0s");
	md_progress_elapsed(3250, b, sizeof(b));
	assert_string_equal(b, "3.2s");
	md_progress_elapsed(59999, b, sizeof(b));
	assert_string_equal(b, "59.9s");
	md_progress_elapsed(65000, b, sizeof(b));
	assert_string_equal(b, "1m05s");
	md_progress_elapsed(3723000, b, sizeof(b));
	assert_string_equal(b, "1h02m");
}

static void test_format(void **state)
{
	md_progress p;
	char b[256], tiny[12];
	size_t n;

	(void)state;
	p = make(MD_PROGRESS_CREATE_INDEX, "CREATE INDEX", "building index: loading tuples in tree");
	p.n.tuples_done = 450000;
	p.n.tuples_total = 1000000;
	p.elapsed_ms = 3200;
	md_progress_pick(&p);
	n = md_progress_format(&p, b, sizeof(b));
	assert_string_equal(b, "CREATE INDEX building index: loading tuples in tree 45% "
			       "(450000/1000000 tuples) 3.2s");
	assert_int_equal(n, strlen(b));
	md_progress_describe(&p, b, sizeof(b));
	assert_string_equal(b, "CREATE INDEX building index: loading tuples in tree 45% "
			       "(450000/1000000 tuples)");

	/* a partitioned table, and a wait for a lock */
	p = make(MD_PROGRESS_CREATE_INDEX, "CREATE INDEX", "building index: scanning table");
	p.n.blocks_done = 50;
	p.n.blocks_total = 100;
	p.n.parts_done = 2;
	p.n.parts_total = 8;
	snprintf(p.lock, sizeof(p.lock), "advisory");
	p.elapsed_ms = 500;
	md_progress_pick(&p);
	md_progress_format(&p, b, sizeof(b));
	assert_string_equal(b, "CREATE INDEX building index: scanning table 50% (50/100 blocks), "
			       "partition 3 of 8, waiting for a lock (advisory) 0.5s");

	/* rows without a total; a phase the view does not have */
	p = make(MD_PROGRESS_COPY, "COPY FROM", "");
	p.n.tuples_done = 12000;
	p.elapsed_ms = 2000;
	md_progress_pick(&p);
	md_progress_format(&p, b, sizeof(b));
	assert_string_equal(b, "COPY FROM 12000 rows 2.0s");

	/* a phase with no counter */
	p = make(MD_PROGRESS_CREATE_INDEX, "CREATE INDEX", "building index: sorting live tuples");
	p.elapsed_ms = 61000;
	md_progress_pick(&p);
	md_progress_format(&p, b, sizeof(b));
	assert_string_equal(b, "CREATE INDEX building index: sorting live tuples 1m01s");

	/* no view reports: running, perhaps waiting */
	md_progress_clear(&p);
	p.elapsed_ms = 700;
	md_progress_format(&p, b, sizeof(b));
	assert_string_equal(b, "running 0.7s");
	snprintf(p.lock, sizeof(p.lock), "relation");
	md_progress_format(&p, b, sizeof(b));
	assert_string_equal(b, "running, waiting for a lock (relation) 0.7s");

	/* a small buffer: cut, terminated, the length of what it holds */
	p = make(MD_PROGRESS_CREATE_INDEX, "CREATE INDEX", "building index: loading tuples in tree");
	n = md_progress_format(&p, tiny, sizeof(tiny));
	assert_string_equal(tiny, "CREATE INDE");
	assert_int_equal(n, strlen(tiny));
}

static void test_bar(void **state)
{
	char b[32];

	(void)state;
	md_progress_bar(45, 20, b, sizeof(b));
	assert_string_equal(b, "#########-----------");
	md_progress_bar(0, 10, b, sizeof(b));
	assert_string_equal(b, "----------");
	md_progress_bar(100, 10, b, sizeof(b));
	assert_string_equal(b, "##########");
	md_progress_bar(-1, 10, b, sizeof(b));
	assert_string_equal(b, "");
	md_progress_bar(50, 40, b, 9); /* never past the buffer */
	assert_string_equal(b, "####----");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_pick_create_index),
		cmocka_unit_test(test_pick_others),
		cmocka_unit_test(test_elapsed),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_bar),
	};
	return cmocka_run_group_tests_name("progress", tests, NULL, NULL);
}
