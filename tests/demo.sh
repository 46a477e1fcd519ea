#!/bin/sh
# demo.sh - what `make demo` runs: the demo workspace (a small ticketing
# schema in archive/, applied/ and pending/, each migration with its paired
# rollback script) on a scratch PostgreSQL database.
#
# The interactive console is not built yet; it arrives with the console
# issue.  Until then this shows the command line on the same engine: what
# the engine sees in the pending files, then status, migrate, status and a
# rollback, on a throwaway cluster that tests/pg_harness.sh starts and
# always stops.  The database starts from archive/consolidated_schema.sql
# plus the migrations in applied/.
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

# Outside the harness: start a throwaway server and run again under it.
if [ -z "${MIGDECK_TEST_PGLOG:-}" ]; then
	MIGDECK_BIN=$bin exec sh "$root/tests/pg_harness.sh" sh "$root/tests/demo.sh"
fi

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
trap 'exit 143' TERM

for d in archive applied pending; do
	mkdir -p "$scratch/$d"
	for f in "$root/$d"/*.sql; do
		if [ -e "$f" ]; then cp "$f" "$scratch/$d/"; fi
	done
done
cd "$scratch"

step() {
	echo
	echo "\$ migdeck $*"
	"$bin" -d "dbname=demo" "$@" || echo "(exit status $?)"
}

psql -X -q -c "CREATE DATABASE demo" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d demo -f archive/consolidated_schema.sql >/dev/null
# make the database agree with the folders: what is in applied/ is applied
"$bin" -q -d "dbname=demo" migrate --to 20240218

echo "migdeck demo: a ticketing schema ($("$bin" --version))"
echo "A scratch database 'demo' holds archive/consolidated_schema.sql and the"
echo "migrations of applied/; the workspace is a copy in a scratch folder."

echo
echo "\$ migdeck statements pending/*.sql"
"$bin" statements pending/*.sql
step status
step migrate
step status
step rollback --steps 1 --yes
step validate

echo
echo "The interactive console (pending/applied panes beside the database,"
echo "step-by-step apply with its locks in view, paired rollbacks) arrives"
echo "with the console issue; this demo then opens it on the same database."
