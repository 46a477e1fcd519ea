#!/bin/sh
# demo.sh - what `make demo` runs: the console on the demo workspace (a small
# helpdesk schema in archive/, applied/ and pending/, each migration with
# its paired rollback script) and a scratch PostgreSQL database.
#
# A throwaway cluster (tests/pg_harness.sh, the one the tests use; it always
# stops it, and runs the server as the postgres user when run by root)
# holds a database 'demo' made from archive/consolidated_schema.sql plus
# the migrations of applied/.  The workspace is copied into a scratch folder
# that is a git repository of its own with the workspace committed (migdeck
# records the commit with each apply); the source tree is never touched.
# Then the console opens there; quitting it (q) ends the demo, stops the
# server and removes the scratch folder (set MIGDECK_DEMO_KEEP=1 to keep
# the folder).
#
# Without a terminal (stdin or stdout not a tty) and without MIGDECK_KEYS
# (keys for the console to read instead of a keyboard) it prints `status`
# and says the console needs a terminal, and exits 0.
#
# It builds nothing itself (the Makefile builds ./migdeck first).
#
#   MIGDECK_BIN        the binary to run (default: ./migdeck in the source tree)
#   MIGDECK_DEMO_KEEP  1: keep the scratch workspace
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

# the server's own psql when the harness names it (no wrapper script)
psql=psql
[ -x "${MIGDECK_TEST_PGBIN:-}/psql" ] && psql=$MIGDECK_TEST_PGBIN/psql
# migdeck's checksum cache goes with the cluster, not into the home folder
if [ -n "${MIGDECK_TEST_TMPDIR:-}" ]; then
	export XDG_CACHE_HOME="$MIGDECK_TEST_TMPDIR/cache"
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

# A git repository of its own, the workspace committed; the identity is set
# in this repository only, and nothing of the user's git setup (hooks,
# signing) runs.
if command -v git >/dev/null 2>&1; then
	git -c init.defaultBranch=main init -q .
	git config user.name "migdeck demo"
	git config user.email "demo@migdeck.invalid"
	git add archive applied pending
	git -c commit.gpgsign=false commit -q --no-verify -m "demo workspace"
else
	echo "demo: git not found (make deps installs it); the scratch workspace is not a git repository" >&2
fi

"$psql" -X -q -c "CREATE DATABASE demo" >/dev/null
"$psql" -X -q -v ON_ERROR_STOP=1 -d demo -f archive/consolidated_schema.sql >/dev/null
# make the database agree with the folders: what is in applied/ is applied
"$bin" -q -d "dbname=demo" migrate --to 20240304

echo "migdeck demo: a helpdesk schema ($("$bin" --version))"

if { [ ! -t 0 ] || [ ! -t 1 ]; } && [ -z "${MIGDECK_KEYS+set}" ]; then
	echo
	"$bin" -d "dbname=demo" status
	echo
	echo "demo: the console needs a terminal (stdin and stdout); run 'make demo' in one."
	exit 0
fi

echo "demo: scratch workspace in $scratch (database 'demo'); quit the console (q) to stop the scratch server."
status=0
"$bin" -d "dbname=demo" || status=$?
exit "$status"
