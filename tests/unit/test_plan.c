/* Unit tests of the plan: workspace files against history rows, states,
 * flags, order, version matching and drift classification.  Pure logic:
 * the workspace and the history are built by hand, no disk, no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* ---- a hand-built workspace and history ---------------------------------- */

typedef struct fx {
	md_workspace ws;
	md_history h;
	size_t fcap, rcap;
	md_plan *plan;
} fx;

static fx *fx_new(size_t fcap, size_t rcap)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fcap = fcap;
	f->rcap = rcap;
	f->ws.files = calloc(fcap ? fcap : 1, sizeof(md_file));
	f->h.rows = calloc(rcap ? rcap : 1, sizeof(md_hist_row));
	assert_non_null(f->ws.files);
	assert_non_null(f->h.rows);
	f->h.exists = 1;
	return f;
}

static void fx_free(fx *f)
{
	size_t i;

	if (!f)
		return;
	md_plan_free(f->plan);
	for (i = 0; i < f->ws.nfiles; i++) {
		md_file *m = &f->ws.files[i];
		free(m->name);
		free(m->path);
		free(m->stem);
		free(m->description);
	}
	for (i = 0; i < f->h.n; i++) {
		md_hist_row *r = &f->h.rows[i];
		free(r->version);
		free(r->description);
		free(r->script);
		free(r->checksum);
		free(r->kind);
	}
	free(f->ws.files);
	free(f->h.rows);
	free(f);
}

static char *dup(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	assert_non_null(d);
	return d;
}

/* A checksum: 40 hex digits made from n. */
static const char *ck(unsigned n)
{
	static char buf[4][41];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%040x", n);
	return buf[k];
}

static const char *folder_dir(md_folder folder)
{
	return folder == MD_FOLDER_PENDING ? "pending" : folder == MD_FOLDER_APPLIED ? "applied"
										   : "archive";
}

static md_file *add_any(fx *f, md_folder folder, md_kind kind, const char *version,
			const char *desc, const char *checksum)
{
	md_file *m;
	char name[256], path[300];

	assert_true(f->ws.nfiles < f->fcap);
	m = &f->ws.files[f->ws.nfiles++];
	memset(m, 0, sizeof(*m));
	if (kind == MD_KIND_REPEATABLE) {
		snprintf(name, sizeof(name), "R__%s.sql", desc);
		m->style = MD_STYLE_FLYWAY;
	} else {
		assert_int_equal(md_version_parse(&m->version, version, strlen(version)), 0);
		snprintf(name, sizeof(name), "%s_%s.sql", version, desc);
		m->style = MD_STYLE_NUMBERED;
	}
	snprintf(path, sizeof(path), "%s/%s", folder_dir(folder), name);
	m->name = dup(name);
	m->path = dup(path);
	m->stem = dup(name);
	m->stem[strlen(name) - 4] = '\0';
	m->folder = folder;
	m->kind = kind;
	m->description = dup(desc);
	snprintf(m->checksum, sizeof(m->checksum), "%s", checksum);
	return m;
}

static md_file *add_file(fx *f, md_folder folder, const char *version, const char *checksum)
{
	return add_any(f, folder, MD_KIND_VERSIONED, version, "x", checksum);
}

static md_file *add_rep(fx *f, md_folder folder, const char *desc, const char *checksum)
{
	return add_any(f, folder, MD_KIND_REPEATABLE, NULL, desc, checksum);
}

static md_hist_row *add_row_kind(fx *f, const char *version, const char *checksum, int active,
				 int success, const char *kind)
{
	md_hist_row *r;

	assert_true(f->h.n < f->rcap);
	r = &f->h.rows[f->h.n];
	memset(r, 0, sizeof(*r));
	r->id = (long long)++f->h.n;
	r->version = dup(version);
	r->checksum = dup(checksum);
	r->kind = dup(kind);
	r->is_active = active;
	r->success = success;
	return r;
}

static md_hist_row *add_row(fx *f, const char *version, const char *checksum, int active,
			    int success)
{
	return add_row_kind(f, version, checksum, active, success, "versioned");
}

static const md_plan *build(fx *f)
{
	md_error err;

	md_error_clear(&err);
	md_plan_free(f->plan);
	f->plan = NULL;
	assert_int_equal(md_plan_build(&f->plan, &f->ws, &f->h, &err), MD_OK);
	assert_non_null(f->plan);
	return f->plan;
}

/* The item for a file, by index in ws.files. */
static const md_plan_item *item_of(const fx *f, size_t file)
{
	size_t i;

	for (i = 0; i < f->plan->n; i++)
		if (f->plan->items[i].file == &f->ws.files[file])
			return &f->plan->items[i];
	fail_msg("no plan item for file %zu", file);
	return NULL;
}

/* ---- states ---------------------------------------------------------------- */

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(md_state_name(MD_STATE_PENDING), "pending");
	assert_string_equal(md_state_name(MD_STATE_APPLIED), "applied");
	assert_string_equal(md_state_name(MD_STATE_ROLLED_BACK), "rolled back");
	assert_string_equal(md_state_name(MD_STATE_FAILED), "failed");
	assert_string_equal(md_state_name(MD_STATE_MISSING_FILE), "missing file");
	assert_string_equal(md_state_name(MD_STATE_ARCHIVED), "archived");
	assert_string_equal(md_state_name((md_state)99), "?");
}

static void test_empty(void **state)
{
	fx *f = fx_new(2, 0);
	md_plan *p = NULL;

	(void)state;
	build(f);
	assert_int_equal(f->plan->n, 0);
	assert_int_equal(f->plan->npending, 0);
	/* no history at all: everything pending */
	add_file(f, MD_FOLDER_PENDING, "1", ck(1));
	add_file(f, MD_FOLDER_PENDING, "2", ck(2));
	assert_int_equal(md_plan_build(&p, &f->ws, NULL, NULL), MD_OK);
	assert_int_equal(p->n, 2);
	assert_int_equal(p->npending, 2);
	assert_int_equal(p->items[0].state, MD_STATE_PENDING);
	assert_null(p->items[0].row);
	md_plan_free(p);
	md_plan_free(NULL);
	assert_int_equal(md_plan_build(&p, NULL, NULL, NULL), MD_ERR_INVALID);
	assert_null(p);
	fx_free(f);
}

static void test_pending(void **state)
{
	fx *f = fx_new(2, 0);
	const md_plan_item *it;

	(void)state;
	add_file(f, MD_FOLDER_PENDING, "001", ck(1));
	add_file(f, MD_FOLDER_APPLIED, "002", ck(2)); /* pending, in the wrong folder */
	build(f);
	assert_int_equal(f->plan->n, 2);
	assert_int_equal(f->plan->npending, 2);
	it = item_of(f, 0);
	assert_int_equal(it->state, MD_STATE_PENDING);
	assert_null(it->row);
	assert_int_equal(it->flags, 0);
	assert_int_equal(it->want, MD_FOLDER_PENDING);
	it = item_of(f, 1);
	assert_int_equal(it->state, MD_STATE_PENDING);
	assert_int_equal(it->flags, MD_PLAN_MISPLACED);
	assert_int_equal(it->want, MD_FOLDER_PENDING);
	fx_free(f);
}

static void test_applied(void **state)
{
	fx *f = fx_new(1, 1);
	const md_plan_item *it;
	md_hist_row *r;

	(void)state;
	add_file(f, MD_FOLDER_APPLIED, "001", ck(1));
	r = add_row(f, "001", ck(1), 1, 1);
	build(f);
	assert_int_equal(f->plan->n, 1);
	assert_int_equal(f->plan->npending, 0);
	it = item_of(f, 0);
	assert_int_equal(it->state, MD_STATE_APPLIED);
	assert_ptr_equal(it->row, r);
	assert_int_equal(it->flags, 0);
	assert_int_equal(it->want, MD_FOLDER_APPLIED);
	fx_free(f);
}

static void test_applied_drifted_misplaced(void **state)
{
	fx *f = fx_new(1, 1);
	const md_plan_item *it;

	(void)state;
	/* a crash between COMMIT and rename, and the file edited since */
	add_file(f, MD_FOLDER_PENDING, "001", ck(2));
	add_row(f, "001", ck(1), 1, 1);
	build(f);
	it = item_of(f, 0);
	assert_int_equal(it->state, MD_STATE_APPLIED);
	assert_int_equal(it->flags, MD_PLAN_DRIFT | MD_PLAN_MISPLACED);
	assert_int_equal(it->want, MD_FOLDER_APPLIED);
	assert_int_equal(f->plan->npending, 0);
	fx_free(f);
}

static void test_drift_checksum_kinds(void **state)
{
	fx *f = fx_new(4, 4);
	char upper[41];
	size_t i;

	(void)state;
	add_file(f, MD_FOLDER_APPLIED, "1", ck(1));
	add_file(f, MD_FOLDER_APPLIED, "2", ck(0xabc));
	add_file(f, MD_FOLDER_APPLIED, "3", ck(3));
	add_file(f, MD_FOLDER_APPLIED, "4", ck(4));
	add_row(f, "1", NULL, 1, 1);           /* no checksum: not compared */
	snprintf(upper, sizeof(upper), "%040X", 0xabcu);
	add_row(f, "2", upper, 1, 1);          /* the same id in capitals */
	add_row(f, "3", "1234567890", 1, 1);   /* Flyway's CRC32: not ours to compare */
	add_row(f, "4", ck(5), 1, 1);
	build(f);
	for (i = 0; i < 3; i++) {
		assert_int_equal(item_of(f, i)->state, MD_STATE_APPLIED);
		assert_int_equal(item_of(f, i)->flags, 0);
	}
	assert_int_equal(item_of(f, 3)->flags, MD_PLAN_DRIFT);
	fx_free(f);
}

static void test_rolled_back(void **state)
{
	fx *f = fx_new(2, 2);
	const md_plan_item *it;
	md_hist_row *r;

	(void)state;
	add_file(f, MD_FOLDER_APPLIED, "1", ck(1)); /* rolled back, file not moved yet */
	add_file(f, MD_FOLDER_PENDING, "2", ck(9)); /* rolled back, edited: no drift */
	r = add_row(f, "1", ck(1), 0, 1);
	add_row(f, "2", ck(2), 0, 1);
	build(f);
	it = item_of(f, 0);
	assert_int_equal(it->state, MD_STATE_ROLLED_BACK);
	assert_ptr_equal(it->row, r);
	assert_int_equal(it->want, MD_FOLDER_PENDING);
	assert_int_equal(it->flags, MD_PLAN_MISPLACED);
	it = item_of(f, 1);
	assert_int_equal(it->state, MD_STATE_ROLLED_BACK);
	assert_int_equal(it->flags, 0);
	assert_int_equal(f->plan->npending, 2);
	assert_int_equal(f->plan->n, 2); /* no missing files: nothing active */
	fx_free(f);
}

static void test_failed_and_row_sequences(void **state)
{
	fx *f = fx_new(5, 10);
	md_hist_row *r[10];

	(void)state;
	add_file(f, MD_FOLDER_PENDING, "1", ck(1));  /* fail */
	add_file(f, MD_FOLDER_APPLIED, "2", ck(2));  /* fail, then success */
	add_file(f, MD_FOLDER_PENDING, "3", ck(3));  /* rolled back, then fail */
	add_file(f, MD_FOLDER_PENDING, "4", ck(4));  /* fail, then rolled back */
	add_file(f, MD_FOLDER_APPLIED, "5", ck(5));  /* success, then fail */
	r[0] = add_row(f, "1", ck(1), 1, 0);
	r[1] = add_row(f, "2", ck(2), 1, 0);
	r[2] = add_row(f, "3", ck(3), 0, 1);
	r[3] = add_row(f, "4", ck(4), 1, 0);
	r[4] = add_row(f, "5", ck(5), 1, 1);
	r[5] = add_row(f, "2", ck(2), 1, 1);
	r[6] = add_row(f, "3", ck(3), 1, 0);
	r[7] = add_row(f, "4", ck(4), 0, 1);
	r[8] = add_row(f, "5", ck(5), 1, 0);
	build(f);
	assert_int_equal(item_of(f, 0)->state, MD_STATE_FAILED);
	assert_ptr_equal(item_of(f, 0)->row, r[0]);
	assert_int_equal(item_of(f, 0)->want, MD_FOLDER_PENDING);
	assert_int_equal(item_of(f, 1)->state, MD_STATE_APPLIED);
	assert_ptr_equal(item_of(f, 1)->row, r[5]);
	assert_int_equal(item_of(f, 1)->flags, 0);
	assert_int_equal(item_of(f, 2)->state, MD_STATE_FAILED);
	assert_ptr_equal(item_of(f, 2)->row, r[6]);
	assert_int_equal(item_of(f, 3)->state, MD_STATE_ROLLED_BACK);
	assert_ptr_equal(item_of(f, 3)->row, r[7]);
	/* an active successful row wins over a later failed run */
	assert_int_equal(item_of(f, 4)->state, MD_STATE_APPLIED);
	assert_ptr_equal(item_of(f, 4)->row, r[4]);
	assert_int_equal(item_of(f, 4)->flags, 0);
	/* 1, 3 and 4 would run, all below the highest applied (5) */
	assert_int_equal(f->plan->npending, 3);
	assert_int_equal(item_of(f, 0)->flags, MD_PLAN_OUT_OF_ORDER);
	assert_int_equal(item_of(f, 2)->flags, MD_PLAN_OUT_OF_ORDER);
	assert_int_equal(item_of(f, 3)->flags, MD_PLAN_OUT_OF_ORDER);
	assert_int_equal(f->plan->n, 5);
	fx_free(f);
}

static void test_failed_row_without_success_file_moved(void **state)
{
	fx *f = fx_new(1, 1);

	(void)state;
	add_file(f, MD_FOLDER_APPLIED, "7", ck(7));
	add_row(f, "7", ck(7), 0, 0); /* a failed run, inactive too */
	build(f);
	assert_int_equal(item_of(f, 0)->state, MD_STATE_FAILED);
	assert_int_equal(item_of(f, 0)->flags, MD_PLAN_MISPLACED);
	assert_int_equal(f->plan->npending, 1);
	assert_int_equal(f->plan->n, 1);
	fx_free(f);
}

static void test_single_folder(void **state)
{
	fx *f = fx_new(4, 3);
	size_t i;

	(void)state;
	f->ws.single_folder = 1;
	add_file(f, MD_FOLDER_PENDING, "1", ck(1)); /* applied */
	add_file(f, MD_FOLDER_PENDING, "2", ck(2)); /* rolled back */
	add_file(f, MD_FOLDER_PENDING, "3", ck(3)); /* pending */
	add_file(f, MD_FOLDER_ARCHIVE, "0", ck(9)); /* archived: archive/ is its own */
	add_row(f, "1", ck(1), 1, 1);
	add_row(f, "2", ck(2), 0, 1);
	build(f);
	for (i = 0; i < 3; i++) {
		assert_int_equal(item_of(f, i)->flags & MD_PLAN_MISPLACED, 0);
		assert_int_equal(item_of(f, i)->want, MD_FOLDER_PENDING);
	}
	assert_int_equal(item_of(f, 0)->state, MD_STATE_APPLIED);
	assert_int_equal(item_of(f, 1)->state, MD_STATE_ROLLED_BACK);
	assert_int_equal(item_of(f, 2)->state, MD_STATE_PENDING);
	assert_int_equal(item_of(f, 3)->state, MD_STATE_ARCHIVED);
	assert_int_equal(item_of(f, 3)->want, MD_FOLDER_ARCHIVE);
	assert_int_equal(item_of(f, 3)->flags, 0);
	assert_int_equal(f->plan->npending, 2);
	/* the same files with folders: the applied one is misplaced */
	f->ws.single_folder = 0;
	build(f);
	assert_int_equal(item_of(f, 0)->flags, MD_PLAN_MISPLACED);
	assert_int_equal(item_of(f, 0)->want, MD_FOLDER_APPLIED);
	assert_int_equal(item_of(f, 1)->flags, 0);
	fx_free(f);
}

static void test_out_of_order(void **state)
{
	fx *f = fx_new(6, 5);

	(void)state;
	add_file(f, MD_FOLDER_APPLIED, "1", ck(1));
	add_file(f, MD_FOLDER_PENDING, "2", ck(2));   /* pending, below 3: out of order */
	add_file(f, MD_FOLDER_APPLIED, "3", ck(3));
	add_file(f, MD_FOLDER_PENDING, "3.1", ck(31)); /* failed, below 9: out of order */
	add_file(f, MD_FOLDER_PENDING, "4", ck(4));   /* rolled back, below 9 */
	add_file(f, MD_FOLDER_PENDING, "10", ck(10)); /* pending, above all: in order */
	add_row(f, "1", ck(1), 1, 1);
	add_row(f, "3", ck(3), 1, 1);
	add_row(f, "3.1", ck(31), 1, 0);
	add_row(f, "4", ck(4), 0, 1);
	add_row(f, "9", ck(9), 1, 1);                  /* applied, no file */
	build(f);
	assert_int_equal(item_of(f, 0)->flags, 0);
	assert_int_equal(item_of(f, 1)->state, MD_STATE_PENDING);
	assert_int_equal(item_of(f, 1)->flags, MD_PLAN_OUT_OF_ORDER);
	assert_int_equal(item_of(f, 2)->flags, 0);
	assert_int_equal(item_of(f, 3)->state, MD_STATE_FAILED);
	assert_int_equal(item_of(f, 3)->flags, MD_PLAN_OUT_OF_ORDER);
	assert_int_equal(item_of(f, 4)->state, MD_STATE_ROLLED_BACK);
	assert_int_equal(item_of(f, 4)->flags, MD_PLAN_OUT_OF_ORDER);
	assert_int_equal(item_of(f, 5)->state, MD_STATE_PENDING);
	assert_int_equal(item_of(f, 5)->flags, 0);   /* 10 > 9, numerically */
	assert_int_equal(f->plan->npending, 4);
	assert_int_equal(f->plan->n, 7);
	/* 1 2 3 3.1 4 9 10 */
	assert_int_equal(f->plan->items[5].state, MD_STATE_MISSING_FILE);
	assert_string_equal(f->plan->items[5].row->version, "9");
	assert_ptr_equal(f->plan->items[6].file, &f->ws.files[5]);
	fx_free(f);
}

static void test_out_of_order_with_misplaced(void **state)
{
	fx *f = fx_new(2, 1);

	(void)state;
	add_file(f, MD_FOLDER_APPLIED, "1", ck(1)); /* never applied, sits in applied/ */
	add_file(f, MD_FOLDER_APPLIED, "2", ck(2));
	add_row(f, "2", ck(2), 1, 1);
	build(f);
	assert_int_equal(item_of(f, 0)->state, MD_STATE_PENDING);
	assert_int_equal(item_of(f, 0)->flags, MD_PLAN_OUT_OF_ORDER | MD_PLAN_MISPLACED);
	fx_free(f);
}

static void test_repeatables(void **state)
{
	fx *f = fx_new(6, 6);
	const md_plan *p;

	(void)state;
	add_file(f, MD_FOLDER_APPLIED, "1", ck(1));
	add_rep(f, MD_FOLDER_PENDING, "new", ck(100));
	add_rep(f, MD_FOLDER_APPLIED, "same", ck(200));
	add_rep(f, MD_FOLDER_APPLIED, "changed", ck(301));
	add_rep(f, MD_FOLDER_APPLIED, "rerun", ck(400));
	add_rep(f, MD_FOLDER_PENDING, "broken", ck(500));
	add_row(f, "1", ck(1), 1, 1);
	add_row_kind(f, "R__same", ck(200), 1, 1, "repeatable");
	add_row_kind(f, "R__changed", ck(300), 1, 1, "repeatable");
	add_row_kind(f, "R__rerun", ck(399), 1, 1, "repeatable");
	add_row_kind(f, "R__broken", ck(500), 1, 0, "repeatable");
	/* run again later with the current text: the latest row counts */
	add_row_kind(f, "R__rerun", ck(400), 1, 1, "repeatable");
	p = build(f);
	assert_int_equal(p->n, 6);
	assert_int_equal(item_of(f, 1)->state, MD_STATE_PENDING);
	assert_null(item_of(f, 1)->row);
	assert_int_equal(item_of(f, 1)->flags, 0);
	assert_int_equal(item_of(f, 2)->state, MD_STATE_APPLIED);
	assert_int_equal(item_of(f, 2)->flags, 0);
	assert_int_equal(item_of(f, 3)->state, MD_STATE_APPLIED);
	assert_int_equal(item_of(f, 3)->flags, MD_PLAN_REPEATABLE_CHANGED);
	assert_int_equal(item_of(f, 3)->want, MD_FOLDER_APPLIED);
	assert_int_equal(item_of(f, 4)->state, MD_STATE_APPLIED);
	assert_int_equal(item_of(f, 4)->flags, 0);
	assert_int_equal(item_of(f, 5)->state, MD_STATE_FAILED);
	/* new, changed and the failed one would run */
	assert_int_equal(p->npending, 3);
	/* the versioned one first, then repeatables in workspace order */
	assert_ptr_equal(p->items[0].file, &f->ws.files[0]);
	assert_ptr_equal(p->items[1].file, &f->ws.files[1]);
	assert_ptr_equal(p->items[5].file, &f->ws.files[5]);
	fx_free(f);
}

static void test_repeatable_latest_row(void **state)
{
	fx *f = fx_new(1, 3);
	md_hist_row *last;

	(void)state;
	add_rep(f, MD_FOLDER_APPLIED, "views", ck(3));
	add_row_kind(f, "R__views", ck(1), 1, 1, "repeatable");
	add_row_kind(f, "R__views", ck(2), 1, 1, "repeatable");
	last = add_row_kind(f, "R__views", ck(3), 1, 1, "repeatable");
	build(f);
	assert_int_equal(item_of(f, 0)->state, MD_STATE_APPLIED);
	assert_ptr_equal(item_of(f, 0)->row, last);
	assert_int_equal(item_of(f, 0)->flags, 0);
	assert_int_equal(f->plan->npending, 0);
	assert_int_equal(f->plan->n, 1);
	fx_free(f);
}

static void test_archived(void **state)
{
	fx *f = fx_new(4, 3);
	md_hist_row *r;

	(void)state;
	add_file(f, MD_FOLDER_ARCHIVE, "1", ck(1)); /* applied row */
	add_file(f, MD_FOLDER_ARCHIVE, "2", ck(2)); /* no row: folded into the baseline */
	add_file(f, MD_FOLDER_ARCHIVE, "3", ck(33)); /* applied, edited since */
	add_file(f, MD_FOLDER_APPLIED, "4", ck(4));
	r = add_row(f, "1", ck(1), 1, 1);
	add_row(f, "3", ck(3), 1, 1);
	add_row(f, "4", ck(4), 1, 1);
	build(f);
	assert_int_equal(f->plan->n, 4);
	assert_int_equal(item_of(f, 0)->state, MD_STATE_ARCHIVED);
	assert_ptr_equal(item_of(f, 0)->row, r);
	assert_int_equal(item_of(f, 0)->want, MD_FOLDER_ARCHIVE);
	assert_int_equal(item_of(f, 0)->flags, 0);
	assert_int_equal(item_of(f, 1)->state, MD_STATE_ARCHIVED);
	assert_null(item_of(f, 1)->row);
	assert_int_equal(item_of(f, 1)->flags, 0); /* never out of order */
	assert_int_equal(item_of(f, 1)->want, MD_FOLDER_ARCHIVE);
	assert_int_equal(item_of(f, 2)->state, MD_STATE_ARCHIVED);
	assert_int_equal(item_of(f, 2)->flags, MD_PLAN_DRIFT);
	assert_int_equal(f->plan->npending, 0);
	fx_free(f);
}

static void test_archived_rolled_back_row(void **state)
{
	fx *f = fx_new(1, 1);

	(void)state;
	add_file(f, MD_FOLDER_ARCHIVE, "1", ck(1));
	add_row(f, "1", ck(1), 0, 1);
	build(f);
	assert_int_equal(item_of(f, 0)->state, MD_STATE_ARCHIVED);
	assert_non_null(item_of(f, 0)->row);
	assert_int_equal(f->plan->npending, 0);
	fx_free(f);
}

static void test_missing_file_order(void **state)
{
	fx *f = fx_new(3, 10);
	const md_plan *p;
	md_hist_row *r2, *r10, *rabc, *rgone, *rscript;

	(void)state;
	add_file(f, MD_FOLDER_APPLIED, "1", ck(1));
	add_file(f, MD_FOLDER_APPLIED, "3", ck(3));
	add_rep(f, MD_FOLDER_APPLIED, "a", ck(50));
	r10 = add_row(f, "10", ck(10), 1, 1);          /* numerically after 3 */
	add_row(f, "3", ck(3), 1, 1);
	rabc = add_row(f, "abc", ck(11), 1, 1);        /* does not parse: at the end */
	rgone = add_row_kind(f, "R__gone", ck(12), 1, 1, "repeatable");
	add_row(f, "1", ck(1), 1, 1);
	r2 = add_row(f, "2", ck(2), 1, 1);
	add_row(f, "5", ck(5), 0, 1);                  /* rolled back: not missing */
	add_row(f, "6", ck(6), 1, 0);                  /* failed: not missing */
	add_row_kind(f, "0.5", NULL, 1, 1, "baseline"); /* a baseline marker */
	rscript = add_row(f, NULL, ck(13), 1, 1);      /* only a script name */
	rscript->script = dup("007_gone.sql");
	p = build(f);
	assert_int_equal(p->n, 8);
	assert_ptr_equal(p->items[0].file, &f->ws.files[0]);
	assert_int_equal(p->items[1].state, MD_STATE_MISSING_FILE);
	assert_ptr_equal(p->items[1].row, r2);
	assert_null(p->items[1].file);
	assert_int_equal(p->items[1].want, MD_FOLDER_APPLIED);
	assert_int_equal(p->items[1].flags, 0);
	assert_ptr_equal(p->items[2].file, &f->ws.files[1]);
	assert_ptr_equal(p->items[3].row, r10);
	assert_int_equal(p->items[3].state, MD_STATE_MISSING_FILE);
	/* unparsable keys by text: "007_gone.sql" < "R__gone" < "abc" */
	assert_ptr_equal(p->items[4].row, rscript);
	assert_ptr_equal(p->items[5].row, rgone);
	assert_ptr_equal(p->items[6].row, rabc);
	assert_ptr_equal(p->items[7].file, &f->ws.files[2]);
	assert_int_equal(p->npending, 1); /* the repeatable: never applied */
	fx_free(f);
}

static void test_missing_file_duplicate_rows(void **state)
{
	fx *f = fx_new(0, 3);
	md_hist_row *last;

	(void)state;
	add_row(f, "4", ck(1), 0, 1);
	add_row(f, "4", ck(2), 1, 1);
	last = add_row(f, "4", ck(3), 1, 1);
	build(f);
	assert_int_equal(f->plan->n, 1);
	assert_ptr_equal(f->plan->items[0].row, last);
	fx_free(f);
}

static void test_version_matching(void **state)
{
	fx *f = fx_new(6, 8);
	const md_plan *p;
	md_hist_row *r12, *r120, *r1_2, *r1;

	(void)state;
	/* numeric equality when no row has the file's text */
	add_file(f, MD_FOLDER_APPLIED, "1.2", ck(12));
	r1_2 = add_row(f, "1_2", ck(12), 1, 1);
	add_file(f, MD_FOLDER_APPLIED, "001", ck(1));
	r1 = add_row(f, "1", ck(1), 1, 1);
	add_file(f, MD_FOLDER_APPLIED, "2.5", ck(25));
	add_row(f, "2.5.0", ck(25), 1, 1);
	add_file(f, MD_FOLDER_PENDING, "2.6", ck(26));
	add_row(f, "2.6.1", ck(26), 1, 1); /* another version: missing, 2.6 pending */
	p = build(f);
	assert_int_equal(item_of(f, 0)->state, MD_STATE_APPLIED);
	assert_ptr_equal(item_of(f, 0)->row, r1_2);
	assert_int_equal(item_of(f, 1)->state, MD_STATE_APPLIED);
	assert_ptr_equal(item_of(f, 1)->row, r1);
	assert_int_equal(item_of(f, 2)->state, MD_STATE_APPLIED);
	assert_int_equal(item_of(f, 3)->state, MD_STATE_PENDING);
	assert_int_equal(item_of(f, 3)->flags, MD_PLAN_OUT_OF_ORDER);
	assert_int_equal(p->n, 5);
	assert_int_equal(p->items[4].state, MD_STATE_MISSING_FILE);
	fx_free(f);

	/* exact text first: "1.2" takes the "1.2" row; "1.2.0" is missing */
	f = fx_new(1, 2);
	add_file(f, MD_FOLDER_APPLIED, "1.2", ck(12));
	r120 = add_row(f, "1.2.0", ck(99), 1, 1);
	r12 = add_row(f, "1.2", ck(12), 1, 1);
	p = build(f);
	assert_int_equal(p->n, 2);
	assert_ptr_equal(item_of(f, 0)->row, r12);
	assert_int_equal(item_of(f, 0)->flags, 0);
	assert_int_equal(p->items[1].state, MD_STATE_MISSING_FILE);
	assert_ptr_equal(p->items[1].row, r120);
	fx_free(f);

	/* "1_2" file, "1.2" and "1.2.0" rows: numeric, takes both (latest wins) */
	f = fx_new(1, 2);
	add_file(f, MD_FOLDER_APPLIED, "1_2", ck(12));
	add_row(f, "1.2", ck(11), 1, 1);
	r120 = add_row(f, "1.2.0", ck(12), 1, 1);
	p = build(f);
	assert_int_equal(p->n, 1);
	assert_ptr_equal(item_of(f, 0)->row, r120);
	assert_int_equal(item_of(f, 0)->flags, 0);
	fx_free(f);

	/* a row that kept only the script name */
	f = fx_new(1, 1);
	add_file(f, MD_FOLDER_APPLIED, "003", ck(3));
	r1 = add_row(f, NULL, ck(3), 1, 1);
	r1->script = dup("003_x.sql");
	p = build(f);
	assert_int_equal(p->n, 1);
	assert_int_equal(item_of(f, 0)->state, MD_STATE_APPLIED);
	assert_ptr_equal(item_of(f, 0)->row, r1);
	fx_free(f);
}

static void test_baseline(void **state)
{
	fx *f = fx_new(5, 3);
	md_hist_row *b;

	(void)state;
	add_file(f, MD_FOLDER_APPLIED, "3", ck(3));  /* below the baseline, no row */
	add_file(f, MD_FOLDER_APPLIED, "5", ck(5));  /* the baseline version */
	add_file(f, MD_FOLDER_PENDING, "6", ck(6));  /* after it: pending */
	add_file(f, MD_FOLDER_PENDING, "2", ck(2));  /* below it, in pending/: misplaced */
	add_file(f, MD_FOLDER_PENDING, "1", ck(1));  /* its own failed row */
	add_row(f, "1", ck(1), 1, 0);
	add_row_kind(f, "0", NULL, 0, 1, "baseline"); /* an old baseline, undone */
	b = add_row_kind(f, "5", NULL, 1, 1, "baseline");
	build(f);
	assert_int_equal(item_of(f, 0)->state, MD_STATE_APPLIED);
	assert_ptr_equal(item_of(f, 0)->row, b);
	assert_int_equal(item_of(f, 0)->flags, 0);
	assert_int_equal(item_of(f, 1)->state, MD_STATE_APPLIED);
	assert_ptr_equal(item_of(f, 1)->row, b);
	assert_int_equal(item_of(f, 2)->state, MD_STATE_PENDING);
	assert_int_equal(item_of(f, 2)->flags, 0);
	assert_int_equal(item_of(f, 3)->state, MD_STATE_APPLIED);
	assert_int_equal(item_of(f, 3)->flags, MD_PLAN_MISPLACED);
	assert_int_equal(item_of(f, 4)->state, MD_STATE_FAILED);
	assert_int_equal(item_of(f, 4)->flags, MD_PLAN_OUT_OF_ORDER);
	assert_int_equal(f->plan->npending, 2);
	assert_int_equal(f->plan->n, 5);
	fx_free(f);
}

static void test_npending_mix(void **state)
{
	fx *f = fx_new(9, 6);

	(void)state;
	add_file(f, MD_FOLDER_ARCHIVE, "1", ck(1));   /* archived */
	add_file(f, MD_FOLDER_APPLIED, "2", ck(2));   /* applied */
	add_file(f, MD_FOLDER_APPLIED, "3", ck(99));  /* applied, drifted */
	add_file(f, MD_FOLDER_PENDING, "4", ck(4));   /* rolled back */
	add_file(f, MD_FOLDER_PENDING, "5", ck(5));   /* failed */
	add_file(f, MD_FOLDER_PENDING, "6", ck(6));   /* pending */
	add_rep(f, MD_FOLDER_APPLIED, "a", ck(7));    /* unchanged */
	add_rep(f, MD_FOLDER_APPLIED, "b", ck(8));    /* changed */
	add_rep(f, MD_FOLDER_PENDING, "c", ck(9));    /* new */
	add_row(f, "2", ck(2), 1, 1);
	add_row(f, "3", ck(3), 1, 1);
	add_row(f, "4", ck(4), 0, 1);
	add_row(f, "5", ck(5), 1, 0);
	add_row_kind(f, "R__a", ck(7), 1, 1, "repeatable");
	add_row_kind(f, "R__b", ck(1), 1, 1, "repeatable");
	build(f);
	assert_int_equal(f->plan->n, 9);
	assert_int_equal(f->plan->npending, 5);
	assert_int_equal(item_of(f, 2)->flags, MD_PLAN_DRIFT);
	fx_free(f);
}

/* ---- drift classification ------------------------------------------------ */

static int real(const char *a, const char *b)
{
	return md_drift_is_real(a, strlen(a), b, strlen(b));
}

static void test_drift_cosmetic(void **state)
{
	(void)state;
	assert_int_equal(real("", ""), 0);
	assert_int_equal(real("SELECT 1;", "SELECT 1;"), 0);
	assert_int_equal(real("SELECT 1;", "  SELECT\n\t1 ;\n"), 0);
	assert_int_equal(real("SELECT 1;", "-- header\nSELECT /* one */ 1; -- done\n"), 0);
	assert_int_equal(real("SELECT 1;", "/* a /* nested */ comment */SELECT 1;"), 0);
	assert_int_equal(real("CREATE TABLE t (id int);", "create table T (ID INT);"), 0);
	assert_int_equal(real("select a+b from t", "select a + b from t"), 0);
	assert_int_equal(real("SELECT 1;\r\n", "SELECT 1;\n"), 0);
	assert_int_equal(real("SELECT E'x';", "SELECT e'x';"), 0);
	assert_int_equal(real("SELECT 1;", "\n\n"), 1);
}

static void test_drift_real(void **state)
{
	(void)state;
	/* literals, identifiers, numbers, operators */
	assert_int_equal(real("SELECT 'a';", "SELECT 'A';"), 1);
	assert_int_equal(real("SELECT 'a b';", "SELECT 'a  b';"), 1);
	assert_int_equal(real("SELECT $$a$$;", "SELECT $$b$$;"), 1);
	assert_int_equal(real("SELECT $$ -- x\n$$;", "SELECT $$ -- y\n$$;"), 1);
	assert_int_equal(real("CREATE TABLE t (a int);", "CREATE TABLE u (a int);"), 1);
	assert_int_equal(real("SELECT \"Col\" FROM t;", "SELECT \"col\" FROM t;"), 1);
	assert_int_equal(real("SELECT \"col\" FROM t;", "SELECT col FROM t;"), 1);
	assert_int_equal(real("SELECT 1;", "SELECT 2;"), 1);
	assert_int_equal(real("SELECT 1.0;", "SELECT 1;"), 1);
	assert_int_equal(real("SELECT a < b;", "SELECT a <= b;"), 1);
	assert_int_equal(real("SELECT a - -b;", "SELECT a --b;"), 1);
	assert_int_equal(real("SELECT 1", "SELECT 1;"), 1);
	assert_int_equal(real("SELECT 1;", "SELECT 1; SELECT 2;"), 1);
	assert_int_equal(real("SELECT $1;", "SELECT $2;"), 1);
	assert_int_equal(real("SELECT a;", "SELECT a b;"), 1);
	/* an unterminated quote or comment, in either text, even both */
	assert_int_equal(real("SELECT 'a", "SELECT 'a';"), 1);
	assert_int_equal(real("SELECT 'a';", "SELECT 'a"), 1);
	assert_int_equal(real("SELECT 'a", "SELECT 'a"), 1);
	assert_int_equal(real("SELECT 1; /* open", "SELECT 1;"), 1);
	assert_int_equal(real("SELECT $$x", "SELECT $$x"), 1);
	assert_int_equal(real("SELECT \"x", "SELECT 1"), 1);
	/* NULL texts are empty */
	assert_int_equal(md_drift_is_real(NULL, 0, NULL, 0), 0);
	assert_int_equal(md_drift_is_real(NULL, 0, "x", 1), 1);
	/* lengths are respected: no NUL needed */
	assert_int_equal(md_drift_is_real("SELECT 1;garbage", 9, "SELECT 1;", 9), 0);
}

static void test_classify_drift(void **state)
{
	md_plan_item it;
	const char *a = "SELECT 1;", *b = "select 1; -- edited\n", *c = "SELECT 2;";

	(void)state;
	memset(&it, 0, sizeof(it));
	it.flags = MD_PLAN_DRIFT | MD_PLAN_MISPLACED;
	md_plan_classify_drift(&it, a, strlen(a), b, strlen(b));
	assert_int_equal(it.flags, MD_PLAN_DRIFT | MD_PLAN_MISPLACED | MD_PLAN_DRIFT_COSMETIC);
	md_plan_classify_drift(&it, a, strlen(a), c, strlen(c));
	assert_int_equal(it.flags, MD_PLAN_DRIFT | MD_PLAN_MISPLACED | MD_PLAN_DRIFT_REAL);
	md_plan_classify_drift(&it, NULL, 0, a, strlen(a));
	assert_int_equal(it.flags, MD_PLAN_DRIFT | MD_PLAN_MISPLACED | MD_PLAN_DRIFT_REAL);
	/* not drifted: nothing to classify */
	it.flags = 0;
	md_plan_classify_drift(&it, a, strlen(a), c, strlen(c));
	assert_int_equal(it.flags, 0);
	md_plan_classify_drift(NULL, a, strlen(a), c, strlen(c));
}

/* ---- scale ----------------------------------------------------------------- */

/* 10,000 files and 10,000 rows in shuffled id order: 9,500 applied (every
 * 100th drifted, every even one recorded without the leading zeros so it
 * matches numerically), 500 pending, 500 rows whose files are gone. */
static void test_scale(void **state)
{
	enum { NF = 10000, NA = 9500, NM = 500 };
	fx *f = fx_new(NF, NA + NM);
	unsigned *order = malloc((NA + NM) * sizeof(*order));
	const md_plan *p;
	char v[32];
	unsigned i, j, t, seed = 12345, drift = 0, applied = 0, pending = 0, missing = 0;

	(void)state;
	assert_non_null(order);
	for (i = 1; i <= NF; i++) {
		snprintf(v, sizeof(v), "%05u", i);
		add_file(f, i <= NA ? MD_FOLDER_APPLIED : MD_FOLDER_PENDING, v, ck(i));
	}
	for (i = 0; i < NA + NM; i++)
		order[i] = i < NA ? i + 1 : 20001 + (i - NA);
	for (i = NA + NM - 1; i > 0; i--) { /* Fisher-Yates with a fixed LCG */
		seed = seed * 1103515245u + 12345u;
		j = (seed >> 8) % (i + 1);
		t = order[i], order[i] = order[j], order[j] = t;
	}
	for (i = 0; i < NA + NM; i++) {
		unsigned ver = order[i];
		if (ver % 2 == 0)
			snprintf(v, sizeof(v), "%u", ver);
		else
			snprintf(v, sizeof(v), "%05u", ver);
		add_row(f, v, ck(ver % 100 == 0 && ver <= NA ? ver + 1000000 : ver), 1, 1);
	}
	p = build(f);
	assert_int_equal(p->n, NF + NM);
	for (i = 0; i < p->n; i++) {
		const md_plan_item *it = &p->items[i];
		if (i < NF) {
			assert_ptr_equal(it->file, &f->ws.files[i]);
		} else {
			assert_null(it->file);
			assert_int_equal(strtoul(it->row->version, NULL, 10), 20001 + (i - NF));
		}
		switch (it->state) {
		case MD_STATE_APPLIED:
			applied++;
			assert_true(i < NA);
			assert_int_equal(strtoul(it->row->version, NULL, 10), i + 1);
			break;
		case MD_STATE_PENDING:
			pending++;
			assert_true(i >= NA && i < NF);
			assert_null(it->row);
			break;
		case MD_STATE_MISSING_FILE:
			missing++;
			break;
		default:
			fail_msg("unexpected state %s at %u", md_state_name(it->state), i);
		}
		if (it->flags & MD_PLAN_DRIFT)
			drift++;
		assert_int_equal(it->flags & ~(unsigned)(MD_PLAN_DRIFT | MD_PLAN_OUT_OF_ORDER), 0);
		/* pending ones are below the missing 20001..: all out of order */
		assert_int_equal(!!(it->flags & MD_PLAN_OUT_OF_ORDER), it->state == MD_STATE_PENDING);
	}
	assert_int_equal(applied, NA);
	assert_int_equal(pending, NF - NA);
	assert_int_equal(missing, NM);
	assert_int_equal(drift, NA / 100);
	assert_int_equal(p->npending, NF - NA);
	free(order);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_applied),
		cmocka_unit_test(test_applied_drifted_misplaced),
		cmocka_unit_test(test_drift_checksum_kinds),
		cmocka_unit_test(test_rolled_back),
		cmocka_unit_test(test_failed_and_row_sequences),
		cmocka_unit_test(test_failed_row_without_success_file_moved),
		cmocka_unit_test(test_single_folder),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_out_of_order_with_misplaced),
		cmocka_unit_test(test_repeatables),
		cmocka_unit_test(test_repeatable_latest_row),
		cmocka_unit_test(test_archived),
		cmocka_unit_test(test_archived_rolled_back_row),
		cmocka_unit_test(test_missing_file_order),
		cmocka_unit_test(test_missing_file_duplicate_rows),
		cmocka_unit_test(test_version_matching),
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_npending_mix),
		cmocka_unit_test(test_drift_cosmetic),
		cmocka_unit_test(test_drift_real),
		cmocka_unit_test(test_classify_drift),
		cmocka_unit_test(test_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
