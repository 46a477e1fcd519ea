#!/bin/sh
# pg_harness.sh - run a command against a throwaway PostgreSQL cluster.
#
#   sh tests/pg_harness.sh CMD [ARGS...]
#
# Creates a cluster in a new temporary directory (initdb -A trust --nosync,
# fsync off unless MIGDECK_TEST_DURABLE=1, UTF8, C locale), listening only
# on a unix socket inside that directory, starts it, runs CMD with PGHOST,
# PGPORT, PGUSER, PGDATABASE, MIGDECK_TEST_PGLOG (the server log),
# MIGDECK_TEST_PGBIN (the server's bin directory), MIGDECK_TEST_PGDATA and
# MIGDECK_TEST_TMPDIR (scratch space for the tests) exported, then stops
# the server and removes the directory (the scratch space with it): on
# success, on failure, and on INT, TERM and HUP.
# Exits with CMD's status.
#
# Run as root, the server runs as the `postgres` system user (the server
# refuses to run as root); otherwise as the invoking user.
#
# Server log lines start with '@@MD@@|<database>|<pid>| ' (log_line_prefix);
# a line that does not is a continuation of the previous message (the server
# writes a newline followed by a TAB inside a message).
#
# When pgbouncer is installed, a real PgBouncer in transaction pooling mode
# runs in front of the server too (tests/pgbouncer.shlib):
# MIGDECK_TEST_PGBOUNCER_HOST and MIGDECK_TEST_PGBOUNCER_PORT say where.
#
# MIGDECK_TEST_PGBIN, when set to a directory holding initdb, pg_ctl and
# postgres, picks the server; otherwise `pg_config --bindir`, then the newest
# /usr/lib/postgresql/*/bin.
set -u

me="pg_harness"
# pgb_start / pgb_stop: a PgBouncer in front of the server
. "$(dirname "$0")/pgbouncer.shlib"

if [ $# -eq 0 ]; then
	echo "usage: sh tests/pg_harness.sh CMD [ARGS...]" >&2
	exit 2
fi

# ---- find the server binaries --------------------------------------------

has_server() {
	[ -n "$1" ] && [ -x "$1/initdb" ] && [ -x "$1/pg_ctl" ] && [ -x "$1/postgres" ]
}

bindir=""
if [ -n "${MIGDECK_TEST_PGBIN:-}" ] && has_server "$MIGDECK_TEST_PGBIN"; then
	bindir=$MIGDECK_TEST_PGBIN
fi
if [ -z "$bindir" ] && command -v pg_config >/dev/null 2>&1; then
	d=$(pg_config --bindir 2>/dev/null || true)
	if has_server "$d"; then bindir=$d; fi
fi
if [ -z "$bindir" ]; then
	newest=-1
	for d in /usr/lib/postgresql/*/bin; do
		v=${d%/bin}
		v=${v##*/}
		case "$v" in '' | *[!0-9]*) continue ;; esac
		if has_server "$d" && [ "$v" -gt "$newest" ]; then
			bindir=$d
			newest=$v
		fi
	done
fi
if [ -z "$bindir" ]; then
	echo "$me: cannot find initdb/pg_ctl/postgres (install the PostgreSQL server, e.g. make deps)" >&2
	exit 1
fi

# ---- a clean environment: nothing may point at another server ------------

for v in $(env | sed -n 's/^\(PG[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
unset DATABASE_URL

# ---- who runs the server ----------------------------------------------------

as_server() {
	if [ -z "$runas" ]; then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		runuser -u "$runas" -- "$@"
	else
		# shellcheck disable=SC2016 # expanded by the inner shell
		su -s /bin/sh "$runas" -c 'exec "$0" "$@"' -- "$@"
	fi
}

runas=""
if [ "$(id -u)" = 0 ]; then
	runas=postgres
	if ! id "$runas" >/dev/null 2>&1; then
		echo "$me: running as root needs a '$runas' system user to run the server" >&2
		exit 1
	fi
fi

# ---- the cluster directory ------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mdpg.XXXXXX" 2>/dev/null) || tmp=""
# unix socket paths are limited to ~107 bytes
if [ -n "$tmp" ] && [ ${#tmp} -gt 80 ]; then
	rmdir "$tmp"
	tmp=$(mktemp -d /tmp/mdpg.XXXXXX 2>/dev/null) || tmp=""
fi
if [ -z "$tmp" ]; then
	echo "$me: mktemp -d failed" >&2
	exit 1
fi

data="$tmp/data"
log="$tmp/server.log"
port=$((54000 + $$ % 1000))
child=""
started=0
cleaned=0

# Every process below $1, deepest first (uses ps when it is there).
kill_tree() {
	if command -v ps >/dev/null 2>&1; then
		for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
			kill_tree "$c"
		done
	fi
	kill -TERM "$1" 2>/dev/null
}

cleanup() {
	[ "$cleaned" = 1 ] && return
	cleaned=1
	if [ -n "$child" ]; then
		kill_tree "$child"
		wait "$child" 2>/dev/null
		child=""
	fi
	pgb_stop
	if [ "$started" = 1 ] || [ -f "$data/postmaster.pid" ]; then
		(cd "$tmp" && as_server "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop) \
			>/dev/null 2>&1
		# pg_ctl failed?  Kill the postmaster we started, by its pid.
		if [ -f "$data/postmaster.pid" ]; then
			pm=$(sed -n 1p "$data/postmaster.pid" 2>/dev/null)
			case "$pm" in
			'' | *[!0-9]*) ;;
			*) kill -KILL "$pm" 2>/dev/null; sleep 1 ;;
			esac
		fi
	fi
	rm -rf "$tmp"
}

# shellcheck disable=SC2317 # called from the traps
on_signal() {
	trap '' INT TERM HUP
	echo "$me: interrupted, stopping the server" >&2
	cleanup
	exit "$1"
}

trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

if [ -n "$runas" ]; then
	chown "$runas" "$tmp" || exit 1
fi
chmod 700 "$tmp"

# ---- initdb, configure, start ------------------------------------------------

if ! (cd "$tmp" && as_server "$bindir/initdb" -D "$data" -A trust --nosync -U postgres \
	-E UTF8 --locale=C) >"$tmp/initdb.out" 2>&1; then
	echo "$me: initdb failed:" >&2
	tail -n 20 "$tmp/initdb.out" >&2
	exit 1
fi

cat >>"$data/postgresql.conf" <<EOF

# ---- pg_harness.sh ----
listen_addresses = ''
unix_socket_directories = '$tmp'
port = $port
logging_collector = off
log_line_prefix = '@@MD@@|%d|%p| '
lc_messages = 'C'
EOF
# MIGDECK_TEST_DURABLE=1 keeps PostgreSQL's own durability defaults (fsync,
# full_page_writes and synchronous_commit on: every COMMIT waits for its WAL
# to reach the disk, as on a production server); benchmarks use it.  Tests
# run without it, faster.
if [ "${MIGDECK_TEST_DURABLE:-0}" != 1 ]; then
	printf '%s\n' "fsync = off" "full_page_writes = off" "synchronous_commit = off" \
		>>"$data/postgresql.conf"
fi

# One role logs in with a password (scram-sha-256), so tests can try a wrong
# one; everyone else is trusted.  Rewritten in place: the file keeps its owner.
{ echo "local all md_password_user scram-sha-256"; cat "$data/pg_hba.conf"; } >"$tmp/pg_hba.new" &&
	cat "$tmp/pg_hba.new" >"$data/pg_hba.conf" && rm -f "$tmp/pg_hba.new" || exit 1

if ! (cd "$tmp" && as_server "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start) \
	>"$tmp/pg_ctl.out" 2>&1; then
	started=1
	echo "$me: the server did not start; last lines of its log:" >&2
	tail -n 30 "$log" >&2 2>/dev/null || cat "$tmp/pg_ctl.out" >&2
	exit 1
fi
started=1

# scratch space for the tests, removed with the cluster
mkdir "$tmp/scratch" || exit 1

export PGHOST="$tmp" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
export MIGDECK_TEST_PGLOG="$log" MIGDECK_TEST_PGBIN="$bindir" MIGDECK_TEST_PGDATA="$data"
export MIGDECK_TEST_TMPDIR="$tmp/scratch"

# pg_ctl -w waits for "ready"; make sure a client gets in as well.
ready=0
i=0
while [ $i -lt 100 ]; do
	if [ -x "$bindir/pg_isready" ]; then
		"$bindir/pg_isready" -q -t 1 && { ready=1; break; }
	elif command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -t 1 && { ready=1; break; }
	else
		ready=1
		break
	fi
	sleep 0.1 2>/dev/null || sleep 1
	i=$((i + 1))
done
if [ "$ready" != 1 ]; then
	echo "$me: the server does not accept connections; last lines of its log:" >&2
	tail -n 30 "$log" >&2
	exit 1
fi

# PgBouncer in front of it (when installed)
pgb_start || exit 1

# ---- the command ------------------------------------------------------------
# Run in the background and wait, so INT/TERM/HUP reach the traps at once;
# the explicit stdin redirection keeps the terminal (a background job in a
# non-interactive shell would get /dev/null).
exec 3<&0
"$@" 0<&3 3<&- &
child=$!
wait "$child"
status=$?
child=""
exec 3<&-
cleanup
exit "$status"
