#!/bin/sh
# bench_status.sh - how fast `migdeck status` reports on a large workspace:
# BENCH_FILES (default 10000) numbered migration files, every one recorded
# in the history table.  Run by `make bench` (under tests/pg_harness.sh); run
# alone, it starts a throwaway cluster for itself.  See doc/benchmarks.md.
#
# It generates the files in pending/ of a fresh workspace, records them all
# with `migdeck baseline --version <highest>` (timed, for information; the
# files move to applied/), then times, best of BENCH_RUNS (default 5) each:
#   status        `migdeck -d dbname=... status` (output to a file)
#   status --json the same with --json
# and, as references to read those against on a noisy machine:
#   --version     `migdeck --version`: starting the process, no work
#   ls -R         listing the workspace
#   psql          `psql -c 'SELECT * FROM public.schema_versions'`: one
#                 connection and every history row
# Target from the design: status under 150 ms.
#
# Not a test: it exits non-zero only when something is broken (baseline or
# status failing, or status not listing every migration as applied), never
# because of a timing.
# shellcheck disable=SC2317 # functions called through best() and timed()
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

me=bench_status
N=${BENCH_FILES:-10000}
RUNS=${BENCH_RUNS:-5}
. "$here/common.shlib"

# count DIR: the .sql files in DIR
count() {
	n=0
	for f in "$1"/*.sql; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

# ---- the workspace and its history ------------------------------------------------

ws="$W/ws"
mkdir -p "$ws/pending" "$ws/applied" "$ws/archive" || exit 1
printf '[workspace]\npending = pending\napplied = applied\narchive = archive\n' >"$ws/migdeck.ini"
top=$(awk -v n="$N" -v dir="$ws/pending" 'BEGIN {
	w = length(n "") < 4 ? 4 : length(n "")
	for (i = 1; i <= n; i++) {
		v = sprintf("%0" w "d", i)
		f = dir "/" v "_create_status_t" i ".sql"
		printf "-- Migration: %s_create_status_t%d.sql\n-- Description: create status_t%d\n\nCREATE TABLE status_t%d (\n\tid bigint PRIMARY KEY,\n\tname text NOT NULL\n);\nCREATE INDEX status_t%d_name_idx ON status_t%d (name);\n", v, i, i, i, i, i > f
		close(f)
	}
	print v
}') || broken "cannot generate the files"
n=$(count "$ws/pending")
[ "$n" -eq "$N" ] || broken "generated $n files, want $N"

q postgres "CREATE DATABASE status_bench" || broken "cannot create the database"

md() { # args...: migdeck in the workspace, output in $W/out, $W/err
	(cd "$ws" && exec "$BIN" -d "dbname=status_bench" "$@") >"$W/out" 2>"$W/err"
}

timed md baseline --version "$top"
if [ "$rc" -ne 0 ]; then
	tail -n 20 "$W/err" >&2
	broken "migdeck baseline exited $rc"
fi
baseline_ns=$ns
last=$(tail -n 1 "$W/out")
[ "$last" = "Baseline complete: $N recorded as applied up to $top" ] || broken "baseline: last line '$last'"
h=$(q status_bench "SELECT count(*) FROM public.schema_versions WHERE success AND is_active")
[ "$h" = "$N" ] || broken "$h history rows, want $N"
n=$(count "$ws/applied")
[ "$n" -eq "$N" ] || broken "$n files in applied/, want $N"

# ---- timings ---------------------------------------------------------------------------

check_status() {
	last=$(tail -n 1 "$W/out")
	[ "$last" = "$N applied, 0 to run, $N listed" ] || broken "status: last line '$last'"
	n=$(grep -c ' applied ' "$W/out")
	[ "$n" -eq "$N" ] || broken "status: $n lines say applied, want $N"
}

ref_version() { "$BIN" --version >/dev/null; }
ref_ls() { ls -R "$ws" >/dev/null; }
ref_psql() { "$PSQL" -X -q -A -t -d status_bench -c 'SELECT * FROM public.schema_versions' >/dev/null; }

echo "$me: $N migration files, $N history rows; best of $RUNS runs each"
echo "$me: $("$BIN" --version 2>/dev/null | head -n 1), server $(q postgres 'SHOW server_version')"
echo
# cold: every file read and hashed (no checksum cache)
MIGDECK_NO_CACHE=1
export MIGDECK_NO_CACHE
best "status (cold)" md status
cold_ns=$best
check_status
unset MIGDECK_NO_CACHE
# warm, the usual case: a workspace whose files did not just change.  The
# checksum cache never trusts a file changed in the second of the scan or
# the one before (the baseline just moved all of them), so wait that out,
# fill the cache once, then time.
sleep 2
md status || broken "status exited $rc"
best "status" md status
status_ns=$best
check_status
best "status --json" md status --json
json_ns=$best
grep -q '"pending":0}$' "$W/out" || broken "status --json: no '\"pending\":0' at the end"
[ "$(grep -c '"state":"applied"' "$W/out")" -eq "$N" ] || broken "status --json: not $N applied"
best "migdeck --version" ref_version
ver_ns=$best
best "ls -R" ref_ls
ls_ns=$best
best "psql" ref_psql
psql_ns=$best

printf '  %-40s %10s\n' "what" "best ms"
printf '  %-40s %10s\n' "migdeck status" "$(ms "$status_ns")"
printf '  %-40s %10s\n' "migdeck status, cold (MIGDECK_NO_CACHE=1)" "$(ms "$cold_ns")"
printf '  %-40s %10s\n' "migdeck status --json" "$(ms "$json_ns")"
printf '  %-40s %10s\n' "ref: migdeck --version" "$(ms "$ver_ns")"
printf '  %-40s %10s\n' "ref: ls -R of the workspace" "$(ms "$ls_ns")"
printf '  %-40s %10s\n' "ref: psql, every history row" "$(ms "$psql_ns")"
printf '  %-40s %10s\n' "(once) migdeck baseline --version $top" "$(ms "$baseline_ns")"
echo
echo "  status lists all $N migrations as applied"
if [ "$status_ns" -lt 150000000 ]; then
	echo "  target status < 150 ms: met ($(ms "$status_ns") ms; information only)"
else
	echo "  target status < 150 ms: MISSED ($(ms "$status_ns") ms; information only, see doc/benchmarks.md)"
fi
exit 0
