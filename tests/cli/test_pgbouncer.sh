#!/bin/sh
# CLI tests of the runner lock behind a real PgBouncer in transaction pooling
# mode (issue 8, "Proof": two migrators through PgBouncer never overlap).
#
# tests/pg_harness.sh starts the PgBouncer (tests/pgbouncer.shlib) and says
# where in MIGDECK_TEST_PGBOUNCER_HOST / _PORT.  Each migration of the
# workspace writes clock_timestamp() into a trace table when it starts and
# when it ends, with pg_sleep between; migdeck processes started at once,
# each on a checkout of its own (as CI jobs are), migrate through the
# pooler: every migration must run exactly once and no two may overlap.
# Also: the loser without --wait is told who holds the lease; lock =
# advisory through the pooler is refused and changes nothing; status and
# the history through the pooler.
#
# Without pgbouncer installed: "SKIPPED" and a skipped count.
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ -z "${PGHOST:-}" ]; then
	echo "test_pgbouncer.sh: run me under tests/pg_harness.sh" >&2
	exit 1
fi
if [ -n "${MIGDECK_TEST_PGBOUNCER_ERROR:-}" ]; then
	echo "FAIL: $MIGDECK_TEST_PGBOUNCER_ERROR"
	echo "test_pgbouncer.sh: 0 passed, 1 failed"
	exit 1
fi
if [ -z "${MIGDECK_TEST_PGBOUNCER_PORT:-}" ]; then
	echo "# SKIPPED: no PgBouncer: ${MIGDECK_TEST_PGBOUNCER_SKIP:-tests/pg_harness.sh did not start one}"
	echo "test_pgbouncer.sh: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
VG=0
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
	VG=1
fi
T=$(mktemp -d "${MIGDECK_TEST_TMPDIR:-${TMPDIR:-/tmp}}/mdpgb.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT
trap 'rm -rf "$T"; exit 143' TERM
export LC_ALL=C
. "$(dirname "$0")/common.shlib"
PSQL=psql
[ -x "${MIGDECK_TEST_PGBIN:-}/psql" ] && PSQL=$MIGDECK_TEST_PGBIN/psql
PGB_HOST=$MIGDECK_TEST_PGBOUNCER_HOST
PGB_PORT=$MIGDECK_TEST_PGBOUNCER_PORT

# q SQL: one value from $DB, straight to the server
q() { $PSQL -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1" 2>&1; }
# the conninfo of $DB through PgBouncer
via() { echo "host=$PGB_HOST port=$PGB_PORT dbname=$DB user=postgres sslmode=disable"; }
# m ARGS...: migdeck on $DB through PgBouncer, in the current folder
m() {
	$BIN -d "$(via)" "$@" >"$OUT" 2>"$ERR" </dev/null
	rc=$?
}

# newdb NAME: a fresh database $DB with the trace table
newdb() {
	DB=mdpgb_$1
	if $PSQL -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" \
		>"$T/newdb.out" 2>&1 &&
		q "CREATE TABLE trace (version text, what text, at timestamptz)" >"$T/newdb.out"; then
		ok
	else
		bad "cannot create database $DB"
		show "$T/newdb.out"
	fi
}

# migration VERSION DIR: a migration that leaves its start and end in trace
migration() {
	cat >"$2/pending/$1_step.sql" <<EOF
INSERT INTO trace VALUES ('$1', 'start', clock_timestamp());
SELECT pg_sleep($nap);
CREATE TABLE t_$1 (a int);
INSERT INTO trace VALUES ('$1', 'end', clock_timestamp());
EOF
}

# checkout NAME N: a workspace $T/NAME holding migrations 001..N
checkout() {
	mkdir -p "$T/$1/pending" "$T/$1/applied" "$T/$1/archive"
	k=1
	while [ $k -le "$2" ]; do
		migration "$(printf '%03d' $k)" "$T/$1"
		k=$((k + 1))
	done
}

# overlaps: pairs of migrations whose start..end intervals overlap
overlaps() {
	q "WITH s AS (SELECT version, min(at) AS t0, max(at) AS t1 FROM trace GROUP BY version)
	   SELECT count(*) FROM s a JOIN s b ON a.version < b.version AND a.t0 < b.t1 AND b.t0 < a.t1"
}

if [ $VG = 1 ]; then nap=1; else nap=0.3; fi

# ---- 1. two migrators at once, through PgBouncer, never overlap ---------------------
#
# The first job's checkout is older (001..002), the second's newer
# (001..004): whichever gets the lease first, the other waits (--wait) and
# then applies what is left.

trials=3
i=0
while [ $i -lt $trials ]; do
	i=$((i + 1))
	newdb race$i
	checkout race${i}_a 2
	checkout race${i}_b 4
	(cd "$T/race${i}_a" && $BIN -d "$(via)" migrate --wait=120 >"$T/o1" 2>"$T/e1"
		echo $? >"$T/r1") &
	j1=$!
	(cd "$T/race${i}_b" && $BIN -d "$(via)" migrate --wait=120 >"$T/o2" 2>"$T/e2"
		echo $? >"$T/r2") &
	j2=$!
	wait $j1 $j2
	r1=$(cat "$T/r1") r2=$(cat "$T/r2")
	if [ "$r1 $r2" = "0 0" ]; then ok; else
		bad "race $i: exits $r1 and $r2, want 0 and 0"
		show "$T/e1"
		show "$T/e2"
	fi
	expect_eq "$(q "SELECT count(*) FROM trace")" 8 "race $i: four migrations, a start and an end each"
	expect_eq "$(q "SELECT count(DISTINCT version) || '/' || count(*) FILTER (WHERE what = 'start')
	  || '/' || count(*) FILTER (WHERE what = 'end') FROM trace")" "4/4/4" "race $i: each ran exactly once"
	expect_eq "$(overlaps)" 0 "race $i: no two migrations overlap"
	expect_eq "$(q "SELECT count(*) FROM schema_versions WHERE success")" 4 "race $i: four history rows"
	expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'apply'")" 4 \
		"race $i: four apply events"
	expect_eq "$(q "SELECT count(*) FROM schema_versions_lease")" 0 "race $i: the lease was released"
	expect_eq "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0 \
		"race $i: no advisory lock left on a server connection"
	a1=$(sed -n 's/^Migrations complete: \([0-9]*\) applied.*/\1/p' "$T/o1")
	a2=$(sed -n 's/^Migrations complete: \([0-9]*\) applied.*/\1/p' "$T/o2")
	expect_eq "$((${a1:-0} + ${a2:-0}))" 4 "race $i: the two runs applied four between them ($a1 + $a2)"
done

# ---- 2. the loser without --wait is told who holds the lease ---------------------------

newdb nowait
if [ $VG = 1 ]; then nap=5; else nap=1.5; fi
checkout nowait_a 1
checkout nowait_b 1
(cd "$T/nowait_a" && $BIN -d "$(via)" migrate >"$T/o1" 2>"$T/e1"; echo $? >"$T/r1") &
j1=$!
# (the trace rows are not committed yet: look for the sleeping statement)
n=0
while [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
	AND state = 'active' AND query LIKE 'SELECT pg_sleep%'")" = 0 ] && [ $n -lt 200 ]; do
	sleep 0.05
	n=$((n + 1))
done
[ $n -lt 200 ] && ok || bad "nowait: the first runner never started"
cd "$T/nowait_b" || exit 1
m migrate
wait $j1
expect_eq "$(cat "$T/r1")" 0 "nowait: the first runner applied"
expect_rc 4 "nowait: the second runner is locked out"
expect_grep "$ERR" "locked by pid [0-9][0-9]* (postgres@.*, migdeck:.*, since .*; lease expires " \
	"nowait: says who holds the lease"
expect_eq "$(q "SELECT count(*) FROM trace")" 2 "nowait: the migration ran once"
cd "$T" || exit 1
if [ $VG = 1 ]; then nap=1; else nap=0.3; fi

# ---- 3. lock = advisory through the pooler: refused, nothing changed -------------------

newdb advisory
checkout advisory 1
cd "$T/advisory" || exit 1
m -o database.lock=advisory migrate
expect_rc 2 "lock = advisory: a configuration error"
expect_fgrep "$ERR" "[database] lock = advisory, but the connection goes through a pooler or proxy (" \
	"lock = advisory: says why"
expect_fgrep "$ERR" "set lock = lease or auto" "lock = advisory: says what to do"
expect_eq "$(q "SELECT to_regclass('schema_versions') IS NULL AND to_regclass('schema_versions_lease') IS NULL")" \
	t "lock = advisory: nothing created"
expect_eq "$(q "SELECT count(*) FROM trace")" 0 "lock = advisory: nothing ran"
MIGDECK_DATABASE_LOCK=advisory m migrate
expect_rc 2 "MIGDECK_DATABASE_LOCK=advisory: refused too"
# lock = lease (or auto) through the pooler works, and so does status
m -o database.lock=lease migrate
expect_rc 0 "lock = lease: migrates"
expect_eq "$(q "SELECT count(*) FROM trace")" 2 "lock = lease: the migration ran"
m status
expect_rc 0 "status through the pooler"
expect_fgrep "$OUT" "001" "status lists the migration"
# the lease table is bookkeeping: not in the schema snapshot
$BIN -d "dbname=$DB" schema >"$OUT" 2>"$ERR" </dev/null
rc=$?
expect_rc 0 "schema"
expect_fgrep "$OUT" "t_001" "schema: the migration's table"
if grep -q "_lease" "$OUT"; then bad "schema: the lease table shows"; show "$OUT"; else ok; fi
cd "$T" || exit 1

echo "test_pgbouncer.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
