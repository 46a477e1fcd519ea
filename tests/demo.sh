#!/bin/sh
# demo.sh - what `make demo` runs: the demo workspace (a small ticketing
# schema in archive/, applied/ and pending/, each migration with its paired
# rollback script) as the script engine sees it.
#
# The interactive console is not built yet; it arrives with the console
# issue.  Until then this shows, for every file in pending/, the statements
# the engine cuts it into (`migdeck statements`): line:col, flags such as
# no-transaction for CREATE INDEX CONCURRENTLY, and the first line of each.
#
# It builds nothing itself (the Makefile builds ./migdeck first) and never
# touches the source tree: the workspace is copied into a scratch directory
# that is removed on exit (set MIGDECK_DEMO_KEEP=1 to keep it).
#
#   MIGDECK_BIN   the binary to run (default: ./migdeck in the source tree)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${MIGDECK_BIN:-$root/migdeck}

if [ ! -x "$bin" ]; then
	echo "demo: $bin not found; run 'make demo', which builds it first" >&2
	exit 2
fi
case "$bin" in
/*) ;;
*) bin=$(pwd)/$bin ;;
esac

scratch=$(mktemp -d -t migdeck-demo.XXXXXX)
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	if [ "${MIGDECK_DEMO_KEEP:-0}" = 1 ]; then
		echo "demo: scratch workspace kept in $scratch"
	else
		rm -rf "$scratch"
	fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

for d in archive applied pending; do
	mkdir -p "$scratch/$d"
	for f in "$root/$d"/*.sql; do
		if [ -e "$f" ]; then cp "$f" "$scratch/$d/"; fi
	done
done
cd "$scratch"

count() { # folder: "N migrations + N rollbacks"
	n=0 r=0
	for f in "$1"/*.sql; do
		[ -e "$f" ] || continue
		case "$(basename "$f")" in
		[0-9]*_rollback_*) r=$((r + 1)) ;;
		[0-9]*_*) n=$((n + 1)) ;;
		esac
	done
	echo "$n migrations + $r rollbacks"
}

echo "migdeck demo: a ticketing schema ($("$bin" --version 2>/dev/null || echo migdeck))"
echo "  archive/  consolidated_schema.sql (the baseline) and $(count archive) it folded"
echo "  applied/  $(count applied)"
echo "  pending/  $(count pending)"
echo

status=0
for f in pending/*.sql; do
	[ -e "$f" ] || continue
	echo "== $f"
	printf '#\tline:col\tflags\tfirst line\n'
	if ! "$bin" statements "$f"; then
		status=1
	fi
	echo
done

echo "The interactive console (pending/applied panes, step-by-step apply with"
echo "locks, paired rollbacks) arrives with the console issue; this demo then"
echo "opens it on a scratch database with this same workspace."
exit $status
