/* test_pgbouncer.c - the runner lock behind a real PgBouncer in transaction
 * pooling mode (started by tests/pg_harness.sh through
 * tests/pgbouncer.shlib): pooler detection, the lease (taken, refused,
 * renewed, expired, taken over, lost), the refusal of lock = advisory,
 * runners straight to the server and through the pooler excluding each
 * other, unnamed statements for md_db_query_prepared, and threads that
 * never overlap inside the lock.
 *
 * Without a pgbouncer binary every test is SKIPPED (with the reason on a
 * "# " line); a pgbouncer that did not start fails them. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "db.h"
#include "../support/pgtest.h"

/* ---- helpers ------------------------------------------------------------------ */

/* Skip (no pgbouncer) or fail (it did not start) unless the harness
 * started one. */
static void need_pgbouncer(void)
{
	const char *error = getenv("MIGDECK_TEST_PGBOUNCER_ERROR");

	if (error && *error)
		fail_msg("%s", error);
	if (!getenv("MIGDECK_TEST_PGBOUNCER_PORT")) {
		static int told;

		if (!told) {
			const char *why = getenv("MIGDECK_TEST_PGBOUNCER_SKIP");

			printf("# SKIPPED: no PgBouncer: %s\n",
			       why && *why ? why : "tests/pg_harness.sh did not start one");
			told = 1;
		}
		skip();
	}
}

/* conninfo of database name through PgBouncer */
static void bouncer_conninfo(char *out, size_t outsz, const char *name)
{
	snprintf(out, outsz, "host=%s port=%s dbname=%s user=postgres sslmode=disable",
		 getenv("MIGDECK_TEST_PGBOUNCER_HOST"), getenv("MIGDECK_TEST_PGBOUNCER_PORT"),
		 name);
}

/* A config for conninfo with "section.key=value" overrides, read through
 * md_config_load with an empty ini file of the test's own. */
static md_config *config_for(const char *conninfo, const char *override)
{
	const char *tmp = getenv("MIGDECK_TEST_TMPDIR");
	const char *ov[1] = { override };
	char path[1024];
	md_config_opts opts;
	md_config *cfg = NULL;
	md_error err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/test_pgbouncer_%ld.ini", tmp && *tmp ? tmp : ".",
		 (long)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# test_pgbouncer\n", f);
	fclose(f);
	memset(&opts, 0, sizeof(opts));
	opts.config_path = path;
	opts.database = conninfo;
	opts.overrides = ov;
	opts.noverrides = override ? 1 : 0;
	if (md_config_load(&cfg, &opts, &err) != MD_OK)
		fail_msg("md_config_load: %s", err.msg);
	return cfg;
}

static md_db *connect_with(const char *conninfo, const char *override)
{
	md_config *cfg = config_for(conninfo, override);
	md_db *db = NULL;
	md_error err;
	md_status rc;

	rc = md_db_connect(&db, cfg, NULL, &err);
	md_config_free(cfg);
	if (rc != MD_OK)
		fail_msg("md_db_connect (%s): %s", conninfo, err.msg);
	return db;
}

/* md_db connections to t's database, through PgBouncer or straight */
static md_db *pooled(const pgtest_db *t, const char *override)
{
	char ci[512];

	bouncer_conninfo(ci, sizeof(ci), t->name);
	return connect_with(ci, override);
}

static md_db *direct(const pgtest_db *t, const char *override)
{
	return connect_with(t->conninfo, override);
}

static int count_of(PGconn *conn, const char *sql)
{
	char *v = pgtest_value(conn, sql);
	int n = atoi(v);

	free(v);
	return n;
}

static int advisory_rows(PGconn *conn)
{
	return count_of(conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
			      " AND granted AND objsubid = 2 AND database = (SELECT oid FROM"
			      " pg_database WHERE datname = current_database())");
}

static int lease_rows(PGconn *conn)
{
	if (!pgtest_true(conn, "SELECT to_regclass('public.schema_versions_lease') IS NOT NULL"))
		return 0;
	return count_of(conn, "SELECT count(*) FROM public.schema_versions_lease");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* the message must start with want and hold each of the others */
static void expect_msg(const char *msg, const char *want, const char *also1, const char *also2)
{
	if (strncmp(msg, want, strlen(want)) != 0 || (also1 && !strstr(msg, also1)) ||
	    (also2 && !strstr(msg, also2)))
		fail_msg("unexpected message: %s\n(want \"%s...\" with \"%s\" and \"%s\")", msg, want,
			 also1 ? also1 : "", also2 ? also2 : "");
}

/* ---- detection ------------------------------------------------------------------- */

static void test_detect_pooled(void **state)
{
	pgtest_db *t = *state;
	md_db *d, *p;

	need_pgbouncer();
	d = direct(t, NULL);
	p = pooled(t, NULL);
	assert_false(md_db_pooled(d));
	assert_null(d->pooled_why);
	assert_true(md_db_pooled(p));
	assert_non_null(p->pooled_why);
	printf("# through PgBouncer: %s\n", p->pooled_why);
	/* PgBouncer announces a key of its own: the first signal fires */
	assert_non_null(strstr(p->pooled_why, "the server process is pid "));
	md_db_close(d);
	md_db_close(p);
}

/* md_db_query_prepared through the pooler: no named statement (PgBouncer
 * 1.18 in transaction mode would hand it to the wrong client), many
 * clients interleaved, inside and outside transactions. */
static void test_prepared_pooled(void **state)
{
	pgtest_db *t = *state;
	md_db *a, *b;
	md_error err;
	int i;

	need_pgbouncer();
	a = pooled(t, NULL);
	b = pooled(t, NULL);
	pgtest_exec(t->conn, "CREATE TABLE seen (who text, n int)");
	for (i = 0; i < 20; i++) {
		char n[16];
		const char *pa[2] = { "a", n }, *pb[2] = { "b", n };
		PGresult *res = NULL;
		md_db *x = i % 2 ? a : b;

		snprintf(n, sizeof(n), "%d", i);
		if (i % 4 == 1)
			assert_int_equal(md_db_exec(x, "BEGIN", &err), MD_OK);
		assert_int_equal(md_db_query_prepared(x, &res, "md_t_ins",
						      md_db_is_prepared(x, "md_t_ins") ? NULL
							: "INSERT INTO seen VALUES ($1, $2::int)",
						      2, x == a ? pa : pb, &err),
				 MD_OK);
		PQclear(res);
		if (i % 4 == 1)
			assert_int_equal(md_db_commit(x, &err), MD_OK);
	}
	assert_true(md_db_is_prepared(a, "md_t_ins"));
	assert_int_equal(count_of(t->conn, "SELECT count(*) FROM seen"), 20);
	assert_int_equal(count_of(t->conn, "SELECT count(DISTINCT n) FROM seen"), 20);
	md_db_close(a);
	md_db_close(b);
}

/* ---- the lease ----------------------------------------------------------------------- */

static void test_lease_taken_and_refused(void **state)
{
	pgtest_db *t = *state;
	md_db *a, *b;
	char want[400], host[256], holder[600], sql[1400], *v, *acquired;
	md_error err;

	need_pgbouncer();
	a = pooled(t, NULL);
	b = pooled(t, NULL);
	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);
	assert_true(a->locked);
	/* a row, no advisory lock */
	assert_int_equal(lease_rows(t->conn), 1);
	assert_int_equal(advisory_rows(t->conn), 0);
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(sql, sizeof(sql),
		 "SELECT lock_key = '\"public\".\"schema_versions\"' AND holder = 'postgres@%s'"
		 " AND pid = %d AND application = '%s' AND length(token) = 32"
		 " AND expires_at > clock_timestamp() + interval '20 s'"
		 " AND expires_at < clock_timestamp() + interval '31 s'"
		 " FROM public.schema_versions_lease",
		 host, (int)getpid(), a->app_name);
	assert_true(pgtest_true(t->conn, sql));

	/* the second runner is told who holds it */
	assert_int_equal(md_db_lock(b, "public", "schema_versions", 0, &err), MD_ERR_LOCKED);
	assert_int_equal(err.code, MD_ERR_LOCKED);
	assert_false(b->locked);
	snprintf(want, sizeof(want), "locked by pid %d (postgres@%s, ", (int)getpid(), host);
	expect_msg(err.msg, want, a->app_name, "; lease expires 2");
	assert_non_null(strstr(err.msg, ", since 2"));
	assert_int_equal(md_db_lock_holder(b, "public", "schema_versions", holder, sizeof(holder),
					   &err),
			 MD_OK);
	expect_msg(holder, want + strlen("locked by "), "; lease expires 2", NULL);
	/* the holder's own lease is not "another" */
	assert_int_equal(md_db_lock_holder(a, "public", "schema_versions", holder, sizeof(holder),
					   &err),
			 MD_OK);
	assert_string_equal(holder, "");
	/* and a direct connection (the console's) sees it too */
	{
		md_db *d = direct(t, NULL);

		assert_int_equal(md_db_lock_holder(d, "public", "schema_versions", holder,
						   sizeof(holder), &err),
				 MD_OK);
		expect_msg(holder, want + strlen("locked by "), NULL, NULL);
		md_db_close(d);
	}

	/* taking it again is fine: one row, the same start */
	acquired = pgtest_value(t->conn, "SELECT acquired_at FROM public.schema_versions_lease");
	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);
	v = pgtest_value(t->conn, "SELECT acquired_at FROM public.schema_versions_lease");
	assert_string_equal(v, acquired);
	free(v);
	free(acquired);
	/* another table is another lock (its own lease table) */
	assert_int_equal(md_db_lock(b, "public", "other_versions", 0, &err), MD_OK);
	assert_true(pgtest_true(t->conn, "SELECT count(*) = 1 FROM public.other_versions_lease"));
	assert_int_equal(md_db_unlock(b, &err), MD_OK);
	assert_true(pgtest_true(t->conn, "SELECT count(*) = 0 FROM public.other_versions_lease"));

	/* released: the row goes, the other runner gets it */
	assert_int_equal(md_db_unlock(a, &err), MD_OK);
	assert_false(a->locked);
	assert_int_equal(lease_rows(t->conn), 0);
	assert_int_equal(md_db_unlock(a, &err), MD_OK); /* not held: nothing to do */
	assert_int_equal(md_db_lock(b, "public", "schema_versions", 0, &err), MD_OK);
	assert_int_equal(lease_rows(t->conn), 1);
	/* closing releases it */
	md_db_close(b);
	assert_int_equal(lease_rows(t->conn), 0);
	md_db_close(a);
}

/* A second runner waits for the first (wait_seconds), and waiting has a
 * limit. */
static void test_lease_wait(void **state)
{
	pgtest_db *t = *state;
	md_db *a, *b;
	md_error err;
	double t0, took;

	need_pgbouncer();
	a = pooled(t, NULL);
	b = pooled(t, NULL);
	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);
	t0 = now_s();
	assert_int_equal(md_db_lock(b, "public", "schema_versions", 0.5, &err), MD_ERR_LOCKED);
	took = now_s() - t0;
	assert_true(took >= 0.45);
	assert_true(took < 2.0);
	assert_non_null(strstr(err.msg, "locked by pid "));
	md_db_close(a);
	t0 = now_s();
	assert_int_equal(md_db_lock(b, "public", "schema_versions", 2, &err), MD_OK);
	assert_true(now_s() - t0 < 1.0);
	/* closed in the middle of a transaction that checked the lease at a
	 * COMMIT that never came: the release does not wait on it */
	assert_int_equal(md_db_exec(b, "BEGIN; CREATE TABLE never_committed (a int);"
				    " SELECT 1 FROM public.schema_versions_lease FOR SHARE", &err),
			 MD_OK);
	t0 = now_s();
	md_db_close(b);
	assert_true(now_s() - t0 < 2.0);
	assert_int_equal(lease_rows(t->conn), 0);
	assert_true(pgtest_true(t->conn, "SELECT to_regclass('never_committed') IS NULL"));
}

/* The heartbeat keeps a lease alive past its expiry; a holder that
 * vanished (no heartbeat) lets go when its row expires. */
static void test_lease_heartbeat_and_expiry(void **state)
{
	pgtest_db *t = *state;
	md_db *a, *b;
	md_error err;
	double t0, took;

	need_pgbouncer();
	a = pooled(t, "database.lease_expiry=1500ms");
	assert_int_equal(a->lease_expiry_ms, 1500);
	b = pooled(t, NULL);
	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);
	assert_true(pgtest_true(t->conn, "SELECT expires_at - acquired_at = interval '1.5 s'"
					 " FROM public.schema_versions_lease"));
	nap(3.2); /* two expiries: alive only if renewed */
	assert_false(md_db_lease_lost(a));
	assert_int_equal(md_db_lease_check(a, &err), MD_OK);
	assert_true(pgtest_true(t->conn, "SELECT renewed_at > acquired_at + interval '2 s'"
					 " AND expires_at > clock_timestamp()"
					 " FROM public.schema_versions_lease"));
	assert_int_equal(md_db_lock(b, "public", "schema_versions", 0, &err), MD_ERR_LOCKED);
	assert_int_equal(md_db_unlock(a, &err), MD_OK);

	/* a runner that crashed: its row stays, nobody renews it */
	pgtest_exec(t->conn, "INSERT INTO public.schema_versions_lease VALUES"
			     " ('\"public\".\"schema_versions\"', 'gone', 'ci@elsewhere', 4242,"
			     "  'migdeck:ci', clock_timestamp() - interval '1 min',"
			     "  clock_timestamp(), clock_timestamp() + interval '1 s')");
	assert_int_equal(md_db_lock(b, "public", "schema_versions", 0, &err), MD_ERR_LOCKED);
	expect_msg(err.msg, "locked by pid 4242 (ci@elsewhere, migdeck:ci, since ",
		   "; lease expires ", NULL);
	t0 = now_s();
	assert_int_equal(md_db_lock(b, "public", "schema_versions", 5, &err), MD_OK);
	took = now_s() - t0;
	assert_true(took > 0.3);
	assert_true(took < 2.5);
	assert_true(pgtest_true(t->conn, "SELECT token <> 'gone' AND pid <> 4242"
					 " FROM public.schema_versions_lease"));
	md_db_close(b);
	md_db_close(a);
	assert_int_equal(lease_rows(t->conn), 0);
}

/* A lease taken from its holder (it expired while the holder was stuck,
 * and another runner took it over): the holder stops, its COMMIT rolls
 * back, its release says so, and the other runner's row stays. */
static void test_lease_lost(void **state)
{
	pgtest_db *t = *state;
	md_db *a;
	md_error err;
	double t0;

	need_pgbouncer();
	a = pooled(t, "database.lease_expiry=1500ms");

	/* at COMMIT, before the heartbeat notices */
	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);
	assert_int_equal(md_db_exec(a, "BEGIN; CREATE TABLE must_not_exist (a int)", &err), MD_OK);
	pgtest_exec(t->conn, "UPDATE public.schema_versions_lease SET token = 'other'");
	assert_int_equal(md_db_commit(a, &err), MD_ERR_LOCKED);
	expect_msg(err.msg, "the migdeck lease on \"public\".\"schema_versions\" was lost",
		   "rolled back", NULL);
	assert_int_equal(PQtransactionStatus(a->conn), PQTRANS_IDLE);
	assert_true(pgtest_true(t->conn, "SELECT to_regclass('must_not_exist') IS NULL"));
	assert_true(md_db_lease_lost(a));
	assert_int_equal(md_db_lease_check(a, &err), MD_ERR_LOCKED);
	assert_int_equal(md_db_unlock(a, &err), MD_ERR_LOCKED);
	assert_non_null(strstr(err.msg, "was lost while held"));
	assert_false(a->locked);
	/* the other runner's row is left alone */
	assert_true(pgtest_true(t->conn, "SELECT token = 'other' FROM public.schema_versions_lease"));
	pgtest_exec(t->conn, "DELETE FROM public.schema_versions_lease");

	/* the heartbeat notices by itself within a third of the expiry */
	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);
	pgtest_exec(t->conn, "DELETE FROM public.schema_versions_lease");
	t0 = now_s();
	while (!md_db_lease_lost(a) && now_s() - t0 < 3)
		nap(0.05);
	assert_true(md_db_lease_lost(a));
	assert_true(now_s() - t0 < 1.2);
	assert_int_equal(md_db_lease_check(a, &err), MD_ERR_LOCKED);
	assert_non_null(strstr(err.msg, "another runner may hold it now"));
	/* a COMMIT now rolls back without asking the server */
	assert_int_equal(md_db_exec(a, "BEGIN; CREATE TABLE must_not_exist (a int)", &err), MD_OK);
	assert_int_equal(md_db_commit(a, &err), MD_ERR_LOCKED);
	assert_true(pgtest_true(t->conn, "SELECT to_regclass('must_not_exist') IS NULL"));
	/* locking again after a loss starts afresh */
	assert_int_equal(md_db_lock(a, "public", "schema_versions", 0, &err), MD_OK);
	assert_false(md_db_lease_lost(a));
	assert_int_equal(lease_rows(t->conn), 1);
	md_db_close(a);
	assert_int_equal(lease_rows(t->conn), 0);
}

/* ---- settings -------------------------------------------------------------------------- */

static void test_lock_settings(void **state)
{
	pgtest_db *t = *state;
	md_db *p, *d;
	md_error err;

	need_pgbouncer();
	/* lock = advisory through the pooler: refused, naming the setting */
	p = pooled(t, "database.lock=advisory");
	assert_int_equal(p->lock_mode, 1);
	assert_int_equal(md_db_lock(p, "public", "schema_versions", 0, &err), MD_ERR_CONFIG);
	expect_msg(err.msg, "[database] lock = advisory, but the connection goes through a pooler",
		   "set lock = lease or auto", "the server process is pid ");
	assert_false(p->locked);
	assert_int_equal(lease_rows(t->conn), 0);
	assert_int_equal(advisory_rows(t->conn), 0);
	md_db_close(p);

	/* lock = advisory straight to the server: the advisory lock */
	d = direct(t, "database.lock=advisory");
	assert_int_equal(md_db_lock(d, "public", "schema_versions", 0, &err), MD_OK);
	assert_int_equal(advisory_rows(t->conn), 1);
	assert_int_equal(lease_rows(t->conn), 0);
	md_db_close(d);

	/* lock = lease straight to the server: a lease */
	d = direct(t, "database.lock=lease");
	assert_int_equal(d->lock_mode, 2);
	assert_int_equal(md_db_lock(d, "public", "schema_versions", 0, &err), MD_OK);
	assert_int_equal(advisory_rows(t->conn), 0);
	assert_int_equal(lease_rows(t->conn), 1);
	md_db_close(d);
	assert_int_equal(lease_rows(t->conn), 0);

	/* auto straight to the server: the advisory lock, as ever */
	d = direct(t, NULL);
	assert_int_equal(d->lock_mode, 0);
	assert_int_equal(md_db_lock(d, "public", "schema_versions", 0, &err), MD_OK);
	assert_int_equal(advisory_rows(t->conn), 1);
	assert_int_equal(lease_rows(t->conn), 0);
	md_db_close(d);

	/* the lease table is migdeck's bookkeeping, in the history's schema,
	 * made when missing (the schema too) */
	p = pooled(t, NULL);
	assert_int_equal(md_db_lock(p, "md_hist", "my_history", 0, &err), MD_OK);
	assert_true(pgtest_true(t->conn, "SELECT count(*) = 1 FROM md_hist.my_history_lease"));
	assert_true(pgtest_true(t->conn, "SELECT obj_description('md_hist.my_history_lease'::regclass)"
					 " LIKE 'migdeck''s runner lock%'"));
	md_db_close(p);
}

/* A runner straight to the server (advisory) and one through the pooler
 * (lease) exclude each other. */
static void test_mixed_runners(void **state)
{
	pgtest_db *t = *state;
	md_db *d, *p, *d2;
	char want[128];
	md_error err;

	need_pgbouncer();
	d = direct(t, NULL);
	p = pooled(t, NULL);
	assert_int_equal(md_db_lock(d, "public", "schema_versions", 0, &err), MD_OK);
	assert_int_equal(md_db_lock(p, "public", "schema_versions", 0, &err), MD_ERR_LOCKED);
	snprintf(want, sizeof(want), "locked by pid %d (postgres@local, ", PQbackendPID(d->conn));
	expect_msg(err.msg, want, d->app_name, NULL);
	/* it took its row back */
	assert_int_equal(count_of(t->conn, "SELECT count(*) FROM public.schema_versions_lease"), 0);
	assert_int_equal(md_db_unlock(d, &err), MD_OK);

	assert_int_equal(md_db_lock(p, "public", "schema_versions", 0, &err), MD_OK);
	d2 = direct(t, NULL);
	assert_int_equal(md_db_lock(d2, "public", "schema_versions", 0, &err), MD_ERR_LOCKED);
	snprintf(want, sizeof(want), "locked by pid %d (postgres@", (int)getpid());
	expect_msg(err.msg, want, "; lease expires ", NULL);
	assert_false(d2->locked);
	/* it let go of its advisory lock */
	assert_int_equal(advisory_rows(t->conn), 0);
	md_db_close(p);
	assert_int_equal(md_db_lock(d2, "public", "schema_versions", 0, &err), MD_OK);
	md_db_close(d2);
	md_db_close(d);
}

/* ---- never two at once ------------------------------------------------------------------ */

#define NTHREADS 4
#define ROUNDS 5

struct worker {
	md_db *db;            /* connected by the main thread (config loading
	                         is not for threads) */
	int id;
	int done;
	char failure[1200];
};

/* Each worker: ROUNDS times take the lock (waiting), write its start, sleep,
 * write its end, release.  Through PgBouncer, each on its own connection. */
static void *work(void *arg)
{
	struct worker *w = arg;
	char sql[256];
	md_error err;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		if (md_db_lock(w->db, "public", "schema_versions", 60, &err) != MD_OK) {
			snprintf(w->failure, sizeof(w->failure), "lock: %s", err.msg);
			break;
		}
		snprintf(sql, sizeof(sql),
			 "INSERT INTO trace VALUES (%d, %d, 'start', clock_timestamp());"
			 " SELECT pg_sleep(0.05);"
			 " INSERT INTO trace VALUES (%d, %d, 'end', clock_timestamp())",
			 w->id, r, w->id, r);
		if (md_db_exec(w->db, sql, &err) != MD_OK || md_db_unlock(w->db, &err) != MD_OK) {
			snprintf(w->failure, sizeof(w->failure), "round %d: %s", r, err.msg);
			break;
		}
		w->done++;
	}
	return NULL;
}

static void test_threads_never_overlap(void **state)
{
	pgtest_db *t = *state;
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	int i;

	need_pgbouncer();
	pgtest_exec(t->conn, "CREATE TABLE trace (worker int, round int, what text,"
			     " at timestamptz)");
	memset(w, 0, sizeof(w));
	for (i = 0; i < NTHREADS; i++) {
		w[i].db = pooled(t, NULL);
		w[i].id = i;
	}
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NTHREADS; i++)
		md_db_close(w[i].db);
	for (i = 0; i < NTHREADS; i++) {
		if (w[i].failure[0])
			fail_msg("worker %d: %s", i, w[i].failure);
		assert_int_equal(w[i].done, ROUNDS);
	}
	assert_int_equal(count_of(t->conn, "SELECT count(*) FROM trace"), 2 * NTHREADS * ROUNDS);
	/* no interval starts before the one before it ended */
	assert_int_equal(count_of(t->conn,
				  "WITH s AS (SELECT worker, round, min(at) AS t0, max(at) AS t1"
				  "  FROM trace GROUP BY worker, round)"
				  " SELECT count(*) FROM s a JOIN s b"
				  "  ON (a.worker, a.round) < (b.worker, b.round)"
				  " AND a.t0 < b.t1 AND b.t0 < a.t1"),
			 0);
	assert_int_equal(lease_rows(t->conn), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, pgtest_db_setup, pgtest_db_teardown)
	const struct CMUnitTest tests[] = {
		T(test_detect_pooled),
		T(test_prepared_pooled),
		T(test_lease_taken_and_refused),
		T(test_lease_wait),
		T(test_lease_heartbeat_and_expiry),
		T(test_lease_lost),
		T(test_lock_settings),
		T(test_mixed_runners),
		T(test_threads_never_overlap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
