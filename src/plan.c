/* plan.c - the workspace against the history (see plan.h).
 *
 * Matching files to history rows.  Each history row has a key: its version
 * text, or its script name when the version is NULL or empty (a row with
 * neither is ignored).  A file takes the rows
 *
 *   1. whose key equals its version text exactly ("001" takes "001"), or,
 *      when no row has that text,
 *   2. whose version parses (md_version_parse) and compares equal to the
 *      file's (md_version_cmp: "1.2", "1_2", "1.2.0" are one version; so are
 *      "001" and "1"), or, when none does,
 *   3. whose key equals its file name (a row that kept only the script).
 *
 * A repeatable takes the rows whose key is its stem ("R__views"), else its
 * file name: repeatables have no version to compare.  Exact text wins, so
 * rows "1.2" and "1.2.0" next to a single file "1.2": the file takes "1.2"
 * and the "1.2.0" row, claimed by no file, is a missing file.
 *
 * The rows are sorted once by key and once by parsed version, and each file
 * is looked up by binary search: O((files + rows) log rows).  Groups of
 * equal keys are summarised once (latest row, latest active successful
 * row), so duplicates cost no more than one lookup each.
 *
 * State of a file from its rows (the latest is the one with the highest
 * position in hist->rows, which is id order):
 *   in archive/                      ARCHIVED whatever the rows say
 *   an active successful row         APPLIED (row: the latest such row)
 *   latest row failed                FAILED
 *   latest row rolled back           ROLLED_BACK
 *   no row, version <= an active     APPLIED (row: that baseline row): the
 *     successful "baseline" row        baseline recorded it without a row
 *   no row                           PENDING
 *
 * Flags: DRIFT for an applied (or archived) versioned file whose row has a
 * git blob id (40 hex digits) as checksum that differs from the file's; a
 * NULL checksum, or one of another kind (Flyway's CRC32 in an adopted
 * history), is not compared.  REPEATABLE_CHANGED likewise for repeatables.
 * MISPLACED when want != folder (never in single-folder mode, where want is
 * the folder the file is in).  OUT_OF_ORDER for a versioned file migrate
 * would run whose version is below the highest active successful row.
 *
 * Missing files: one item per key of active successful rows no file claims
 * (the latest such row), except "baseline" rows, which may mark a baseline
 * with no file of its own. */
#include "plan.h"

#include "script.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX

/* ---- small helpers -------------------------------------------------------- */

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int ascii_caseeq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

static int row_ok(const md_hist_row *r)
{
	return r->is_active && r->success;
}

static int row_is_kind(const md_hist_row *r, const char *kind)
{
	return r->kind && !strcmp(r->kind, kind);
}

/* The key a row is matched by: its version, else its script, else NULL. */
static const char *row_key(const md_hist_row *r)
{
	if (r->version && r->version[0])
		return r->version;
	if (r->script && r->script[0])
		return r->script;
	return NULL;
}

/* A git blob id: exactly 40 hex digits. */
static int is_blob_id(const char *s)
{
	size_t i;

	if (!s)
		return 0;
	for (i = 0; i < 40; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return s[40] == '\0';
}

/* Does the file's content differ from what the row recorded?  Only when
 * both checksums are blob ids. */
static int checksum_differs(const md_file *f, const md_hist_row *r)
{
	if (!is_blob_id(r->checksum) || !is_blob_id(f->checksum))
		return 0;
	return !ascii_caseeq(f->checksum, r->checksum, 40);
}

/* ---- the row indexes ------------------------------------------------------ */

typedef struct key_ent {
	const char *key;
	size_t row;
} key_ent;

typedef struct num_ent {
	md_version v;
	size_t row;
} num_ent;

/* Per sorted array: group summaries, valid at the start of each group. */
typedef struct groups {
	size_t *latest;         /* its latest row */
	size_t *latest_ok;      /* its latest active successful row, or NONE */
	unsigned char *claimed; /* a file took this group */
	size_t *of_row;         /* per history row: its group's start, or NONE */
} groups;

static int key_ent_cmp(const void *pa, const void *pb)
{
	const key_ent *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	return a->row < b->row ? -1 : a->row > b->row;
}

static int num_ent_cmp(const void *pa, const void *pb)
{
	const num_ent *a = pa, *b = pb;
	int c = md_version_cmp(&a->v, &b->v);

	if (c)
		return c;
	return a->row < b->row ? -1 : a->row > b->row;
}

static int groups_alloc(groups *g, size_t n, size_t nrows)
{
	size_t i;

	g->latest = malloc((n ? n : 1) * sizeof(*g->latest));
	g->latest_ok = malloc((n ? n : 1) * sizeof(*g->latest_ok));
	g->claimed = calloc(n ? n : 1, 1);
	g->of_row = malloc((nrows ? nrows : 1) * sizeof(*g->of_row));
	if (!g->latest || !g->latest_ok || !g->claimed || !g->of_row)
		return -1;
	for (i = 0; i < nrows; i++)
		g->of_row[i] = NONE;
	return 0;
}

static void groups_free(groups *g)
{
	free(g->latest);
	free(g->latest_ok);
	free(g->claimed);
	free(g->of_row);
}

/* Fill the summaries of the group at sorted positions [s, e): the row index
 * of position i is the size_t at rowv + i * stride (key_ent or num_ent). */
static void group_sum(groups *g, const md_history *h, size_t s, size_t e, const size_t *rowv,
		      size_t stride)
{
	size_t i, row;

	g->latest[s] = NONE;
	g->latest_ok[s] = NONE;
	for (i = s; i < e; i++) {
		row = *(const size_t *)((const char *)rowv + i * stride);
		g->of_row[row] = s;
		/* sorted by row within a group: the last one is the latest */
		g->latest[s] = row;
		if (row_ok(&h->rows[row]))
			g->latest_ok[s] = row;
	}
}

/* First position whose key is >= key. */
static size_t key_lower(const key_ent *v, size_t n, const char *key)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(v[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t num_lower(const num_ent *v, size_t n, const md_version *ver)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (md_version_cmp(&v[mid].v, ver) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

typedef struct rowidx {
	const md_history *h;
	key_ent *keys;
	size_t nkeys;
	groups kg;
	num_ent *nums;
	size_t nnums;
	groups ng;
	size_t *num_pos;        /* per history row: its position in nums, or NONE */
} rowidx;

static void rowidx_free(rowidx *ix)
{
	free(ix->keys);
	free(ix->nums);
	free(ix->num_pos);
	groups_free(&ix->kg);
	groups_free(&ix->ng);
}

static int rowidx_build(rowidx *ix, const md_history *h)
{
	size_t n = h ? h->n : 0, i, s;
	const char *k;

	memset(ix, 0, sizeof(*ix));
	ix->h = h;
	ix->keys = malloc((n ? n : 1) * sizeof(*ix->keys));
	ix->nums = malloc((n ? n : 1) * sizeof(*ix->nums));
	ix->num_pos = malloc((n ? n : 1) * sizeof(*ix->num_pos));
	if (!ix->keys || !ix->nums || !ix->num_pos)
		return -1;
	for (i = 0; i < n; i++) {
		const md_hist_row *r = &h->rows[i];
		ix->num_pos[i] = NONE;
		if ((k = row_key(r)) == NULL)
			continue;
		ix->keys[ix->nkeys].key = k;
		ix->keys[ix->nkeys].row = i;
		ix->nkeys++;
		if (r->version && r->version[0] &&
		    md_version_parse(&ix->nums[ix->nnums].v, r->version, strlen(r->version)) == 0) {
			ix->nums[ix->nnums].row = i;
			ix->nnums++;
		}
	}
	qsort(ix->keys, ix->nkeys, sizeof(*ix->keys), key_ent_cmp);
	qsort(ix->nums, ix->nnums, sizeof(*ix->nums), num_ent_cmp);
	if (groups_alloc(&ix->kg, ix->nkeys, n) || groups_alloc(&ix->ng, ix->nnums, n))
		return -1;
	for (s = 0; s < ix->nkeys; s = i) {
		for (i = s + 1; i < ix->nkeys && !strcmp(ix->keys[i].key, ix->keys[s].key); i++)
			;
		group_sum(&ix->kg, h, s, i, &ix->keys[0].row, sizeof(key_ent));
	}
	for (s = 0; s < ix->nnums; s = i) {
		for (i = s + 1; i < ix->nnums && !md_version_cmp(&ix->nums[i].v, &ix->nums[s].v); i++)
			;
		group_sum(&ix->ng, h, s, i, &ix->nums[0].row, sizeof(num_ent));
	}
	for (i = 0; i < ix->nnums; i++)
		ix->num_pos[ix->nums[i].row] = i;
	return 0;
}

/* The group of rows whose key is key: its start, or NONE. */
static size_t find_key(const rowidx *ix, const char *key)
{
	size_t p;

	if (!key || !key[0])
		return NONE;
	p = key_lower(ix->keys, ix->nkeys, key);
	return p < ix->nkeys && !strcmp(ix->keys[p].key, key) ? p : NONE;
}

static size_t find_num(const rowidx *ix, const md_version *v)
{
	size_t p;

	if (!v->nparts)
		return NONE;
	p = num_lower(ix->nums, ix->nnums, v);
	return p < ix->nnums && !md_version_cmp(&ix->nums[p].v, v) ? p : NONE;
}

/* The rows a file takes (see the top of this file): their latest row and
 * latest active successful row, NONE when there are none. */
static void match_file(rowidx *ix, const md_file *f, size_t *latest, size_t *latest_ok)
{
	groups *g = &ix->kg;
	size_t p;

	*latest = *latest_ok = NONE;
	if (f->kind == MD_KIND_REPEATABLE) {
		p = find_key(ix, f->stem);
	} else {
		p = find_key(ix, f->version.text);
		if (p == NONE && (p = find_num(ix, &f->version)) != NONE)
			g = &ix->ng;
	}
	if (p == NONE)
		p = find_key(ix, f->name);
	if (p == NONE)
		return;
	g->claimed[p] = 1;
	*latest = g->latest[p];
	*latest_ok = g->latest_ok[p];
}

static int row_claimed(const rowidx *ix, size_t row)
{
	size_t k = ix->kg.of_row[row], n = ix->ng.of_row[row];

	return (k != NONE && ix->kg.claimed[k]) || (n != NONE && ix->ng.claimed[n]);
}

/* ---- ordering ------------------------------------------------------------- */

enum { ORD_VERSION = 0, ORD_TEXT = 1, ORD_REPEATABLE = 2 };

typedef struct sort_ent {
	md_plan_item it;
	int group;              /* ORD_* */
	const md_version *v;    /* ORD_VERSION */
	const char *text;       /* ORD_TEXT */
	size_t seq;             /* files: index in ws->files; missing: after them */
} sort_ent;

static int sort_ent_cmp(const void *pa, const void *pb)
{
	const sort_ent *a = pa, *b = pb;
	int c;

	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	if (a->group == ORD_VERSION && (c = md_version_cmp(a->v, b->v)) != 0)
		return c;
	if (a->group == ORD_TEXT && (c = strcmp(a->text, b->text)) != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* ---- the plan ------------------------------------------------------------- */

static int would_run(const md_plan_item *it)
{
	return it->state == MD_STATE_PENDING || it->state == MD_STATE_ROLLED_BACK ||
	       it->state == MD_STATE_FAILED || (it->flags & MD_PLAN_REPEATABLE_CHANGED);
}

static void plan_file(md_plan_item *it, const md_workspace *ws, const md_history *h,
		      rowidx *ix, const md_file *f, const md_version *highest,
		      size_t baseline)
{
	size_t latest, latest_ok;
	int repeatable = f->kind == MD_KIND_REPEATABLE;

	memset(it, 0, sizeof(*it));
	it->file = f;
	match_file(ix, f, &latest, &latest_ok);

	if (f->folder == MD_FOLDER_ARCHIVE) {
		it->state = MD_STATE_ARCHIVED;
		it->row = latest_ok != NONE ? &h->rows[latest_ok] : latest != NONE ? &h->rows[latest] : NULL;
		if (!repeatable && latest_ok != NONE && checksum_differs(f, it->row))
			it->flags |= MD_PLAN_DRIFT;
	} else if (latest_ok != NONE) {
		it->state = MD_STATE_APPLIED;
		it->row = &h->rows[latest_ok];
		if (checksum_differs(f, it->row))
			it->flags |= repeatable ? MD_PLAN_REPEATABLE_CHANGED : MD_PLAN_DRIFT;
	} else if (latest != NONE) {
		it->row = &h->rows[latest];
		it->state = it->row->success ? MD_STATE_ROLLED_BACK : MD_STATE_FAILED;
	} else if (!repeatable && baseline != NONE && f->version.nparts &&
		   md_version_cmp(&f->version, &ix->nums[ix->num_pos[baseline]].v) <= 0) {
		it->state = MD_STATE_APPLIED;
		it->row = &h->rows[baseline];
	} else {
		it->state = MD_STATE_PENDING;
	}

	switch (it->state) {
	case MD_STATE_ARCHIVED:
		it->want = MD_FOLDER_ARCHIVE;
		break;
	case MD_STATE_APPLIED:
		it->want = MD_FOLDER_APPLIED;
		break;
	default:
		it->want = MD_FOLDER_PENDING;
		break;
	}
	if ((ws->single_folder || ws->untracked) && f->folder != MD_FOLDER_ARCHIVE)
		it->want = f->folder;   /* nothing moves */
	if (it->want != f->folder)
		it->flags |= MD_PLAN_MISPLACED;

	if (!repeatable && highest && f->version.nparts && would_run(it) &&
	    md_version_cmp(&f->version, highest) < 0)
		it->flags |= MD_PLAN_OUT_OF_ORDER;
}

md_status md_plan_build(md_plan **out, const md_workspace *ws, const md_history *hist,
			md_error *err)
{
	rowidx ix;
	sort_ent *ents = NULL;
	md_plan *plan = NULL;
	const md_version *highest = NULL;
	size_t nrows = hist ? hist->n : 0, i, n = 0, baseline = NONE;
	md_status rc = MD_OK;

	*out = NULL;
	if (!ws)
		return md_error_set(err, MD_ERR_INVALID, NULL, 0, 0, "plan: no workspace");
	if (rowidx_build(&ix, hist) != 0)
		goto nomem;

	/* the highest applied version and the highest baseline */
	for (i = ix.nnums; i-- > 0;) {
		const md_hist_row *r = &hist->rows[ix.nums[i].row];
		if (!row_ok(r))
			continue;
		if (!highest)
			highest = &ix.nums[i].v;
		if (row_is_kind(r, "baseline")) {
			baseline = ix.nums[i].row;
			break;
		}
	}

	ents = malloc((ws->nfiles + nrows + 1) * sizeof(*ents));
	plan = calloc(1, sizeof(*plan));
	if (!ents || !plan)
		goto nomem;

	for (i = 0; i < ws->nfiles; i++) {
		const md_file *f = &ws->files[i];
		sort_ent *e = &ents[n];
		if (f->kind == MD_KIND_ROLLBACK)
			continue;
		plan_file(&e->it, ws, hist, &ix, f, highest, baseline);
		e->seq = i;
		e->v = &f->version;
		e->text = f->version.text;
		if (f->kind == MD_KIND_REPEATABLE)
			e->group = ORD_REPEATABLE;
		else
			e->group = f->version.nparts ? ORD_VERSION : ORD_TEXT;
		n++;
	}

	/* rows no file claims: one item per key, for its latest good row */
	for (i = 0; i < nrows; i++) {
		const md_hist_row *r = &hist->rows[i];
		size_t g = ix.kg.of_row[i];
		sort_ent *e = &ents[n];
		if (!row_ok(r) || g == NONE || ix.kg.latest_ok[g] != i || row_is_kind(r, "baseline") ||
		    row_claimed(&ix, i))
			continue;
		memset(e, 0, sizeof(*e));
		e->it.row = r;
		e->it.state = MD_STATE_MISSING_FILE;
		e->it.want = MD_FOLDER_APPLIED;
		e->seq = ws->nfiles + i;
		e->text = row_key(r);
		if (ix.num_pos[i] != NONE) {
			e->group = ORD_VERSION;
			e->v = &ix.nums[ix.num_pos[i]].v;
		} else {
			e->group = ORD_TEXT;
		}
		n++;
	}

	qsort(ents, n, sizeof(*ents), sort_ent_cmp);
	plan->items = malloc((n ? n : 1) * sizeof(*plan->items));
	if (!plan->items)
		goto nomem;
	for (i = 0; i < n; i++) {
		plan->items[i] = ents[i].it;
		if (plan->items[i].file && would_run(&plan->items[i]))
			plan->npending++;
	}
	plan->n = n;
	*out = plan;
	plan = NULL;
	goto done;

nomem:
	rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
done:
	free(ents);
	md_plan_free(plan);
	rowidx_free(&ix);
	return rc;
}

void md_plan_free(md_plan *plan)
{
	if (!plan)
		return;
	free(plan->items);
	free(plan);
}

/* ---- drift ---------------------------------------------------------------- */

static md_tok_kind next_significant(md_lexer *lx, md_token *t)
{
	md_tok_kind k;

	do
		k = md_lexer_next(lx, t);
	while (k == MD_TOK_SPACE || k == MD_TOK_COMMENT);
	return k;
}

/* Do two tokens of one kind say the same thing?  Keywords and bare
 * identifiers fold ASCII case (as the server does); a string's prefix
 * (E, B, X, N, U&) too; everything else byte for byte. */
static int same_token(md_tok_kind kind, const char *a, size_t alen, const char *b, size_t blen)
{
	size_t pa, pb;

	if (alen != blen)
		return 0;
	switch (kind) {
	case MD_TOK_KEYWORD:
	case MD_TOK_IDENT:
		return ascii_caseeq(a, b, alen);
	case MD_TOK_STRING:
		for (pa = 0; pa < alen && a[pa] != '\''; pa++)
			;
		for (pb = 0; pb < blen && b[pb] != '\''; pb++)
			;
		return pa == pb && ascii_caseeq(a, b, pa) && !memcmp(a + pa, b + pb, alen - pa);
	default:
		return !memcmp(a, b, alen);
	}
}

int md_drift_is_real(const char *old_text, size_t old_len, const char *new_text, size_t new_len)
{
	md_lexer la, lb;
	md_token ta, tb;
	md_tok_kind ka, kb;

	if (!old_text)
		old_text = "", old_len = 0;
	if (!new_text)
		new_text = "", new_len = 0;
	md_lexer_init(&la, old_text, old_len, 0);
	md_lexer_init(&lb, new_text, new_len, 0);
	for (;;) {
		ka = next_significant(&la, &ta);
		kb = next_significant(&lb, &tb);
		if (ka == MD_TOK_ERROR || kb == MD_TOK_ERROR || ka != kb)
			return 1;
		if (ka == MD_TOK_EOF)
			return 0;
		if (!same_token(ka, old_text + ta.start, ta.end - ta.start, new_text + tb.start,
				tb.end - tb.start))
			return 1;
	}
}

void md_plan_classify_drift(md_plan_item *it, const char *applied_text, size_t applied_len,
			    const char *file_text, size_t file_len)
{
	if (!it || !(it->flags & MD_PLAN_DRIFT))
		return;
	it->flags &= ~(unsigned)(MD_PLAN_DRIFT_COSMETIC | MD_PLAN_DRIFT_REAL);
	if (!applied_text || !file_text)
		it->flags |= MD_PLAN_DRIFT_REAL;
	else if (md_drift_is_real(applied_text, applied_len, file_text, file_len))
		it->flags |= MD_PLAN_DRIFT_REAL;
	else
		it->flags |= MD_PLAN_DRIFT_COSMETIC;
}

int md_plan_item_runs(const md_plan_item *it)
{
	if (!it->file || it->file->folder == MD_FOLDER_ARCHIVE)
		return 0;
	if (it->file->kind == MD_KIND_REPEATABLE)
		return it->state == MD_STATE_PENDING || (it->flags & MD_PLAN_REPEATABLE_CHANGED);
	return it->state == MD_STATE_PENDING || it->state == MD_STATE_ROLLED_BACK ||
	       it->state == MD_STATE_FAILED;
}

const char *md_state_name(md_state s)
{
	switch (s) {
	case MD_STATE_PENDING: return "pending";
	case MD_STATE_APPLIED: return "applied";
	case MD_STATE_ROLLED_BACK: return "rolled back";
	case MD_STATE_FAILED: return "failed";
	case MD_STATE_MISSING_FILE: return "missing file";
	case MD_STATE_ARCHIVED: return "archived";
	}
	return "?";
}
