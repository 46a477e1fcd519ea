#!/bin/sh
# CLI test of the progress of long statements (issue 8; doc/progress.md):
# `migdeck migrate --verbose` prints "  progress: ..." lines on stderr while
# a CREATE INDEX on a table of a million rows runs; without --verbose it
# prints none and opens no second connection.
#
# No timing decides a result: the index's immutable function waits at row
# 500000 for an advisory lock this script holds (a psql session fed
# through a FIFO), and the lock is released only once a progress line has
# been printed (or after a minute, to fail instead of hanging).
#
# Runs under tests/pg_harness.sh with MIGDECK_BIN set.
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ -z "${PGHOST:-}" ]; then
	echo "test_progress.sh: run me under tests/pg_harness.sh" >&2
	exit 1
fi
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
fi
PSQL=psql
[ -x "${MIGDECK_TEST_PGBIN:-}/psql" ] && PSQL=$MIGDECK_TEST_PGBIN/psql
T=$(mktemp -d "${MIGDECK_TEST_TMPDIR:-${TMPDIR:-/tmp}}/mdprog.XXXXXX") || exit 1
GATE_PID=
MD_PID=
cleanup() {
	[ -n "$MD_PID" ] && kill "$MD_PID" 2>/dev/null
	exec 3>&- 2>/dev/null
	[ -n "$GATE_PID" ] && kill "$GATE_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
export LC_ALL=C
. "$(dirname "$0")/common.shlib"

q() { $PSQL -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

DB=md_progress_$$
$PSQL -X -q -d postgres -c "CREATE DATABASE $DB" || exit 1
q "CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 1000000) g" || exit 1
q 'CREATE FUNCTION gate(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF i = 500000 THEN
    PERFORM pg_advisory_lock_shared(4242);
    PERFORM pg_advisory_unlock_shared(4242);
  END IF;
  RETURN i;
END $$' || exit 1

W=$T/ws
mkdir -p "$W/pending" "$W/applied"
printf '[git]\ncommit = off\n' >"$W/migdeck.ini"
printf 'CREATE INDEX big_gate ON big (gate(id));\n' >"$W/pending/001_index_big.sql"
printf 'CREATE INDEX big_gate2 ON big (gate(id));\n' >"$W/pending/002_index_again.sql"

# gate_hold: a psql session holding advisory lock 4242 until gate_open
gate_hold() {
	rm -f "$T/fifo"
	mkfifo "$T/fifo" || exit 1
	$PSQL -X -q -At -d "$DB" <"$T/fifo" >/dev/null &
	GATE_PID=$!
	exec 3>"$T/fifo"
	echo "SELECT pg_advisory_lock(4242);" >&3
	i=0
	until [ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted")" = 1 ]; do
		i=$((i + 1))
		[ $i -gt 600 ] && { echo "the gate was never held" >&2; exit 1; }
		sleep 0.1
	done
}
gate_open() {
	echo "SELECT pg_advisory_unlock(4242);" >&3
	exec 3>&-
	wait "$GATE_PID"
	GATE_PID=
}
# wait_for CONDITION-COMMAND: up to a minute
wait_for() {
	i=0
	until eval "$1"; do
		i=$((i + 1))
		[ $i -gt 600 ] && return 1
		sleep 0.1
	done
	return 0
}

cd "$W" || exit 1

# ---- --verbose: progress lines while the index is built -----------------------
gate_hold
$BIN -d "dbname=$DB" -o run.progress_interval=200ms migrate --verbose --to 001 \
	>"$T/out" 2>"$T/err" </dev/null &
MD_PID=$!
if wait_for 'grep -q "^  progress: CREATE INDEX .*waiting for a lock (advisory)" "$T/err"'; then ok; else
	bad "no progress line while CREATE INDEX waits at the gate"
	show "$T/err"
fi
if [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migdeck:%:progress'")" = 1 ]; then ok; else
	bad "one progress connection while the statement runs"
fi
gate_open
wait "$MD_PID"
rc=$?
MD_PID=
if [ "$rc" -eq 0 ]; then ok; else bad "migrate --verbose: exit $rc"; show "$T/err"; fi
if grep -qE '^  progress: CREATE INDEX building index: scanning table [0-9]+% \([0-9]+/[0-9]+ blocks\), waiting for a lock \(advisory\) [0-9]+\.[0-9]s$' "$T/err"; then ok; else
	bad "the progress line: command, phase, percent, blocks done/total, the lock, elapsed"
	show "$T/err"
fi
# the blocks of the million-row table, as the line says them
blocks=$(q "SELECT pg_relation_size('big') / current_setting('block_size')::int")
if grep -q "^  progress: CREATE INDEX .*/$blocks blocks)" "$T/err"; then ok; else
	bad "the total is the table's $blocks blocks"
	show "$T/err"
fi
# in order: the statement line, progress, the statement's result
if awk '/^  \[1\/1\] CREATE INDEX big_gate / { s = NR } /^  progress: / && !p { p = NR } /^        CREATE INDEX \(/ { d = NR }
	END { exit !(s && p && d && s < p && p < d) }' "$T/err"; then ok; else
	bad "statement, progress, result in that order"
	show "$T/err"
fi
if grep -q '^Applied: 001_index_big.sql' "$T/out"; then ok; else bad "001 applied"; show "$T/out"; fi
# the server ends a closed session's backend a moment after the client goes
if wait_for "[ \"\$(q \"SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migdeck:%:progress'\")\" = 0 ]"; then ok; else
	bad "the progress connection is closed"
fi

# ---- without --verbose: no line, no second connection ------------------------
gate_hold
$BIN -d "dbname=$DB" -o run.progress_interval=200ms migrate >"$T/out" 2>"$T/err" </dev/null &
MD_PID=$!
# the statement waits at the gate (pg_stat_activity says so) ...
if wait_for "[ \"\$(q \"SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory' AND query LIKE 'CREATE INDEX big_gate2%'\")\" = 1 ]"; then ok; else
	bad "the second index never reached the gate"
fi
# ... for longer than a progress line would take to come
sleep 1
if [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migdeck:%:progress'")" = 0 ]; then ok; else
	bad "no progress connection without --verbose"
fi
gate_open
wait "$MD_PID"
rc=$?
MD_PID=
if [ "$rc" -eq 0 ]; then ok; else bad "migrate: exit $rc"; show "$T/err"; fi
if grep -q 'progress' "$T/err"; then bad "no progress line without --verbose"; show "$T/err"; else ok; fi

cd / || exit 1
$PSQL -X -q -d postgres -c "DROP DATABASE $DB WITH (FORCE)" || bad "drop database"
echo "test_progress.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
