#!/bin/sh
# run.sh BUILD_DIR - run every test: one command, one verdict.
#
#   1. each unit test binary in BUILD_DIR/tests/unit/ (no server);
#   2. one tests/pg_harness.sh run (a throwaway PostgreSQL cluster) for every
#      integration binary in BUILD_DIR/tests/integration/ and every
#      tests/cli/*.sh script (which get MIGDECK_BIN from the environment).
#
# Counts cmocka's "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)" /
# "[  SKIPPED ] N test(s)" lines and the CLI scripts' "N passed, N failed"
# line; a program that exits non-zero without reporting a failure counts as
# one failed test.  The last line printed is exactly "N passed, N failed"
# (", N skipped" when some were).  Exits non-zero if anything failed or if
# no test ran.
#
# Environment:
#   MIGDECK_BIN           the migdeck binary for CLI tests (default
#                         BUILD_DIR/migdeck)
#   MIGDECK_VALGRIND=1    run test binaries under valgrind (exported to the
#                         CLI scripts, which wrap MIGDECK_BIN themselves)
#   MIGDECK_TEST_VERBOSE=1  print every suite's full output, not only the
#                         output of failing suites
#   MIGDECK_TEST_TIMEOUT  seconds per program (default 600, 1800 under
#                         valgrind)
#   MIGDECK_TEST_ONLY     run only suites whose name contains this string
set -u

usage() {
	echo "usage: sh tests/run.sh BUILD_DIR" >&2
	exit 2
}

mode=outer
if [ "${1:-}" = "--inner" ]; then
	mode=inner
	shift
fi
[ $# -eq 1 ] || usage
[ -d "$1" ] || { echo "run.sh: no build directory $1 (make test-bins first)" >&2; exit 2; }

build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root" || exit 2

case "${CMOCKA_MESSAGE_OUTPUT:-STDOUT}" in
STDOUT | stdout | TAP | tap) export CMOCKA_MESSAGE_OUTPUT="${CMOCKA_MESSAGE_OUTPUT:-STDOUT}" ;;
*) export CMOCKA_MESSAGE_OUTPUT=STDOUT ;;
esac
if [ -z "${MIGDECK_BIN:-}" ] && [ -x "$build/migdeck" ]; then
	MIGDECK_BIN="$build/migdeck"
fi
[ -n "${MIGDECK_BIN:-}" ] && export MIGDECK_BIN
valgrind=0
if [ "${MIGDECK_VALGRIND:-0}" = 1 ]; then
	valgrind=1
	export MIGDECK_VALGRIND=1
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "run.sh: MIGDECK_VALGRIND=1 but valgrind is not installed" >&2
		exit 2
	fi
fi
if [ $valgrind = 1 ]; then tlimit=${MIGDECK_TEST_TIMEOUT:-1800}; else tlimit=${MIGDECK_TEST_TIMEOUT:-600}; fi
have_timeout=0
command -v timeout >/dev/null 2>&1 && have_timeout=1

# ---- one suite ----------------------------------------------------------------

# Print the counts "passed failed skipped" found in a cmocka output file.
cmocka_counts() {
	awk '
	function num(line) { sub(/ test\(s\).*/, "", line); sub(/.* /, "", line); return line + 0 }
	/^\[  PASSED  \] .*[0-9]+ test\(s\)/ { p += num($0); std = 1 }
	/^\[  FAILED  \] .*[0-9]+ test\(s\)/ { f += num($0); std = 1 }
	/^\[  SKIPPED \] .*[0-9]+ test\(s\)/ { s += num($0); std = 1 }
	/^\[  ERROR   \] / && !/^\[  ERROR   \] ---/ { f++; std = 1 }
	/^ok [0-9]/ { if ($0 ~ /# [Ss][Kk][Ii][Pp]/) ts++; else tp++ }
	/^not ok [0-9]/ { if ($0 ~ /# [Ss][Kk][Ii][Pp]/) ts++; else tf++ }
	END {
		if (!std) { p = tp; f = tf; s = ts }
		printf "%d %d %d\n", p, f, s
	}' "$1"
}

# Print "passed failed skipped" from the last "N passed, N failed" line
# (a prefix such as "test_x.sh: " is allowed).
cli_counts() {
	awk '
	match($0, /[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/) {
		n = split(substr($0, RSTART, RLENGTH), w, /[ ,]+/)
		p = w[1]; f = w[3]; s = (n >= 5) ? w[5] : 0; seen = 1
	}
	END { if (seen) printf "%d %d %d\n", p, f, s; else print "0 0 0" }' "$1"
}

# run_suite KIND LABEL PROGRAM [ARGS...]: run, count, report, record.
run_suite() {
	kind=$1
	label=$2
	shift 2
	if [ -n "${MIGDECK_TEST_ONLY:-}" ]; then
		case "$label" in
		*"$MIGDECK_TEST_ONLY"*) ;;
		*) return 0 ;;
		esac
	fi
	out="$work/$(echo "$label" | tr '/' '_').out"
	if [ $have_timeout = 1 ]; then
		set -- timeout --foreground -k 10 "$tlimit" "$@"
	fi
	"$@" >"$out" 2>&1
	rc=$?
	if [ "$kind" = cli ]; then
		counts=$(cli_counts "$out")
	else
		counts=$(cmocka_counts "$out")
	fi
	p=${counts%% *}
	counts=${counts#* }
	f=${counts%% *}
	s=${counts#* }
	note=""
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		case $rc in
		99) note=" (valgrind found errors)" ;;
		124) note=" (timed out after ${tlimit}s)" ;;
		*) if [ $rc -gt 128 ]; then note=" (killed by signal $((rc - 128)))"; else note=" (exit status $rc)"; fi ;;
		esac
	fi
	if [ $rc -eq 0 ] && [ $((p + f + s)) -eq 0 ]; then
		f=1
		note=" (reported no tests)"
	fi
	if [ "$f" -gt 0 ]; then verdict=FAIL; else verdict=ok; fi
	counts="$p passed"
	[ "$f" -gt 0 ] && counts="$counts, $f failed"
	[ "$s" -gt 0 ] && counts="$counts, $s skipped"
	printf '  %-4s  %-38s %s%s\n' "$verdict" "$label" "$counts" "$note"
	if [ "$f" -gt 0 ] || [ "${MIGDECK_TEST_VERBOSE:-0}" = 1 ]; then
		echo "  ---- output of $label ----"
		sed 's/^/  | /' "$out"
		echo "  ---- end of $label ----"
	else
		# notes a test wants seen even when it passes: lines starting "# "
		grep '^# ' "$out" | sed 's/^/        /'
	fi
	echo "$kind $p $f $s $label" >>"$results"
}

run_binary() {
	kind=$1
	bin=$2
	if [ $valgrind = 1 ]; then
		run_suite "$kind" "$kind/$(basename "$bin")" valgrind -q --leak-check=full \
			--error-exitcode=99 --errors-for-leak-kinds=definite "$bin"
	else
		run_suite "$kind" "$kind/$(basename "$bin")" "$bin"
	fi
}

is_test_binary() {
	[ -f "$1" ] && [ -x "$1" ] || return 1
	case "$1" in
	*.o | *.d) return 1 ;;
	esac
	return 0
}

# ---- inner: under the harness -------------------------------------------------

if [ $mode = inner ]; then
	work=${MIGDECK_RUN_WORK:?}
	results=${MIGDECK_RUN_RESULTS:?}
	echo "integration (server: $PGHOST)"
	for b in "$build"/tests/integration/test_*; do
		is_test_binary "$b" && run_binary integration "$b"
	done
	echo "cli"
	for t in tests/cli/*.sh; do
		[ -f "$t" ] || continue
		shell="sh"
		head -n 1 "$t" | grep -q bash && shell=bash
		run_suite cli "cli/$(basename "$t" .sh)" "$shell" "$t"
	done
	echo "harness-done" >>"$results"
	exit 0
fi

# ---- outer ----------------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/mdrun.XXXXXX") || exit 2
results="$work/results"
: >"$results"
trap 'rm -rf "$work"' EXIT
trap 'rm -rf "$work"; exit 130' INT
trap 'rm -rf "$work"; exit 143' TERM
trap 'rm -rf "$work"; exit 129' HUP
# migdeck's checksum cache (src/sumcache.c) goes into the run's own folder,
# never the user's home
export XDG_CACHE_HOME="$work/cache"

echo "unit"
for b in "$build"/tests/unit/test_*; do
	is_test_binary "$b" && run_binary unit "$b"
done

need_server=0
for b in "$build"/tests/integration/test_* tests/cli/*.sh; do
	[ -f "$b" ] && need_server=1
done
if [ $need_server = 1 ]; then
	MIGDECK_RUN_WORK="$work" MIGDECK_RUN_RESULTS="$results" \
		sh "$here/pg_harness.sh" sh "$here/run.sh" --inner "$build"
	if ! grep -q '^harness-done$' "$results"; then
		echo "  FAIL  the PostgreSQL harness (see above)"
		echo "harness 0 1 0 pg_harness" >>"$results"
	fi
fi

echo "summary"
awk '
$1 == "harness-done" { next }
{ n[$1]++; p[$1] += $2; f[$1] += $3; s[$1] += $4; P += $2; F += $3; S += $4
  if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
END {
	for (i = 1; i <= k; i++) {
		x = order[i]
		line = sprintf("  %-12s %d suite%s, %d passed, %d failed", x, n[x], n[x] == 1 ? "" : "s", p[x], f[x])
		if (s[x]) line = line sprintf(", %d skipped", s[x])
		print line
	}
	line = sprintf("%d passed, %d failed", P, F)
	if (S) line = line sprintf(", %d skipped", S)
	print line
	exit (F > 0 || P + F == 0) ? 1 : 0
}' "$results"
