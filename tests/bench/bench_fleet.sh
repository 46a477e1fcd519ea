#!/bin/sh
# bench_fleet.sh - how `migdeck migrate --group` scales with --jobs over a
# fleet of databases.  Run by `make bench` (under tests/pg_harness.sh); run
# alone, it starts a throwaway cluster for itself.  See doc/benchmarks.md.
#
# BENCH_MEMBERS (default 200) databases fb_001 ... listed by a group query,
# BENCH_FLEET_MIGRATIONS (default 20) small Flyway-style migrations (cycling
# through CREATE TABLE, ALTER TABLE ADD COLUMN, CREATE INDEX, an INSERT of
# three rows, a small plpgsql function).  For each of BENCH_JOBS (default
# "1 2 4 8"), BENCH_RUNS (default 2) times, in rounds that go through the
# job counts in turn (the second round in reverse order): drop and create
# the databases again, a CHECKPOINT, sync (untimed; autovacuum is off for
# the whole script), then time
#     migdeck migrate --group fleet --jobs J
# under /usr/bin/time for the peak resident memory and migdeck's CPU time,
# with the CPU time the cluster used meanwhile (the postmaster, its reaped
# backends and its live processes, from /proc): how many cores the run kept
# busy.  Prints the best wall time of each job count and the speed-up
# against --jobs 1 (target: --jobs 4 at least 1.8x faster on a 2-core
# machine); then the floor, psql running the same files in one session per
# database, one at a time and four at a time (BENCH_FLOOR=0 skips it); then
# the peak memory of a run over BENCH_SMALL (default 50) members against
# one over all of them, both at --jobs 4: memory must not grow with the
# members beyond a small record each.
#
# Then the reference for what a fleet of databases can gain here:
# PostgreSQL's own pgbench opening a new connection for each SELECT 1
# (-C), one client against four (BENCH_CHURN=0 skips it): each member of a
# database group is a new server process, and what that costs is the
# machine's.  Last, a fleet of BENCH_SCHEMAS (default 200; 0 skips it)
# tenant schemas in one database (members = schemas), where each worker
# keeps one connection for its members: the same migrations, each job
# count of BENCH_JOBS, best of BENCH_RUNS.
#
# Not a test: it exits non-zero only when something is broken (a run that
# fails, a member not applied, a database whose history is not complete),
# never because of a timing.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

me=bench_fleet
N=${BENCH_MEMBERS:-200}
M=${BENCH_FLEET_MIGRATIONS:-20}
RUNS=${BENCH_RUNS:-2}
JOBS=${BENCH_JOBS:-1 2 4 8}
SMALL=${BENCH_SMALL:-50}
SCHEMAS=${BENCH_SCHEMAS:-200}
. "$here/common.shlib"

TIME=/usr/bin/time
[ -x "$TIME" ] || TIME=""

# ---- the workspace ---------------------------------------------------------------

ws=$W/ws
mkdir -p "$ws/pending" "$ws/applied" "$ws/archive" || exit 1
awk -v m="$M" -v dir="$ws/pending" '
BEGIN {
	for (i = 1; i <= m; i++) {
		g = int((i - 1) / 5) + 1
		k = (i - 1) % 5
		t = "fb_t" g
		if (k == 0) {
			d = "create " t
			b = "CREATE TABLE " t " (\n\tid bigint PRIMARY KEY,\n\tname text NOT NULL,\n\tcreated_at timestamptz NOT NULL DEFAULT now()\n);\n"
		} else if (k == 1) {
			d = "add score and note to " t
			b = "ALTER TABLE " t " ADD COLUMN score integer NOT NULL DEFAULT 0;\nALTER TABLE " t " ADD COLUMN note text;\n"
		} else if (k == 2) {
			d = "index " t " name"
			b = "CREATE INDEX " t "_name_idx ON " t " (name);\n"
		} else if (k == 3) {
			d = "seed " t
			b = "INSERT INTO " t " (id, name, score) VALUES (1, '\''alpha'\'', 1), (2, '\''beta'\'', 2), (3, '\''gamma'\'', 3);\n"
		} else {
			d = "function fb_f" g
			b = "CREATE FUNCTION fb_f" g "(x integer) RETURNS integer\nLANGUAGE plpgsql AS $$\nBEGIN\n\tRETURN x + (SELECT count(*) FROM " t ")::integer;\nEND\n$$;\n"
		}
		gsub(/ /, "_", d)
		f = dir "/V" i "__" d ".sql"
		printf "%s", b > f
		close(f)
	}
}' || broken "cannot generate the migrations"
{
	echo "[group.fleet]"
	printf '%s\n' "query = SELECT datname FROM pg_database WHERE datname LIKE 'fb\\_%' ORDER BY 1"
	echo "members = databases"
	echo
	echo "[group.small]"
	printf '%s\n' "query = SELECT datname FROM pg_database WHERE datname LIKE 'fb\\_%' ORDER BY 1 LIMIT $SMALL"
	echo "members = databases"
	echo
	echo "[target.shared]"
	echo "conninfo = dbname=fbs_tenants"
	echo
	echo "[group.tenants]"
	printf '%s\n' "query = SELECT nspname FROM pg_namespace WHERE nspname LIKE 'fs\\_%' ORDER BY 1"
	echo "members = schemas"
	echo "target = shared"
} >"$ws/migdeck.ini"

# ---- the databases -----------------------------------------------------------------

# fresh: drop the fleet's databases and create N empty ones (one psql
# session), then a CHECKPOINT and the OS's dirty pages written out (sync):
# creating 200 databases writes 1.5 GB, whose checkpoint and write-back
# must not land in the timed run.  (Emptying the databases instead, DROP
# SCHEMA public CASCADE, left catalogs full of dead rows for the next
# run and gave no steadier figures.)
fresh() {
	{
		echo "SET client_min_messages = warning;"
		q postgres "SELECT format('DROP DATABASE %I;', datname) FROM pg_database WHERE datname LIKE 'fb\_%'"
		i=1
		while [ "$i" -le "$N" ]; do
			printf 'CREATE DATABASE fb_%03d;\n' "$i"
			i=$((i + 1))
		done
	} >"$W/fresh.sql"
	settle "the databases"
}

# settle WHAT: run $W/fresh.sql (one psql session), then a CHECKPOINT,
# sync and a pause: nothing of the set-up lands in the timed run
settle() {
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -d postgres -f "$W/fresh.sql" >"$W/fresh.out" 2>&1 ||
		{ cat "$W/fresh.out" >&2; broken "cannot create $1"; }
	q postgres "CHECKPOINT" >/dev/null || broken "CHECKPOINT failed"
	sync
	sleep 1
}

# autovacuum off while this runs (200 new databases keep its workers busy
# on two cores, at random moments of the timed runs); back on at exit, for
# the benchmarks that share the cluster under make bench
autovacuum() { # on|off
	if [ "$1" = on ]; then
		q postgres "ALTER SYSTEM RESET autovacuum" >/dev/null 2>&1
	else
		q postgres "ALTER SYSTEM SET autovacuum = off" >/dev/null 2>&1
	fi
	q postgres "SELECT pg_reload_conf()" >/dev/null 2>&1
}
trap 'autovacuum on; rm -rf "$W"' EXIT
autovacuum off

# check_all: every database has M successful versioned rows (one psql
# session connecting to each)
check_all() {
	i=1
	: >"$W/check.sql"
	while [ "$i" -le "$N" ]; do
		printf '\\c fb_%03d\nSELECT current_database(), count(*) FROM public.schema_versions WHERE success AND is_active AND kind = %s;\n' \
			"$i" "'versioned'" >>"$W/check.sql"
		i=$((i + 1))
	done
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -f "$W/check.sql" >"$W/check.out" 2>&1 ||
		{ tail -n 5 "$W/check.out" >&2; broken "cannot read the histories"; }
	complete=$(grep -c "|$M\$" "$W/check.out")
	[ "$complete" -eq "$N" ] || broken "$complete of $N databases have all $M migrations"
}

# server_ticks: CPU clock ticks the cluster has used so far: the
# postmaster, the backends it has reaped (cutime, cstime) and the
# processes alive under it (the backends' exits are counted once reaped)
PM=$(head -n 1 "${MIGDECK_TEST_PGDATA:-/nonexistent}/postmaster.pid" 2>/dev/null)
server_ticks() {
	[ -n "$PM" ] && [ -r "/proc/$PM/stat" ] || { echo 0; return; }
	t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PM/stat")
	for c in $(cat "/proc/$PM/task/$PM/children" 2>/dev/null); do
		v=$(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

# one GROUP JOBS: a timed run; ns, rss (kB), cpu (migdeck's user+sys ms)
# and srv (the server's ms) set
one() {
	s0=$(server_ticks)
	if [ -n "$TIME" ]; then
		timed "$TIME" -f '%M %U %S' -o "$W/rss" "$BIN" migrate --group "$1" --jobs "$2"
		set -- $(tail -n 1 "$W/rss")
		rss=$1
		cpu=$(awk -v u="$2" -v s="$3" 'BEGIN { printf "%d", (u + s) * 1000 }')
	else
		timed "$BIN" migrate --group "$1" --jobs "$2"
		rss=0 cpu=0
	fi
	sleep 1 # the last backends exit and are reaped
	srv=$(( ($(server_ticks) - s0) * 1000 / HZ ))
}

# one() runs in a subshell (cd): hand its results back through a file
one_sub() {
	one "$@"
	echo "$ns $rss $rc $cpu $srv" >"$W/res"
}
# run_group GROUP MEMBERS JOBS: one timed run that must apply everything
# to all MEMBERS; sets ns, rss, cpu, srv
run_group() {
	(cd "$ws" && one_sub "$1" "$3" >"$W/out" 2>"$W/err")
	read -r ns rss rc cpu srv <"$W/res"
	[ "$rc" -eq 0 ] || { tail -n 20 "$W/err" >&2; broken "$1 --jobs $3 exited $rc"; }
	last=$(tail -n 1 "$W/out")
	case "$last" in
	"$2 members: $2 applied ("*) ;;
	*) broken "$1 --jobs $3: last line '$last'" ;;
	esac
}
run_dbs() { # jobs
	fresh
	run_group fleet "$N" "$1"
	check_all
}

# rounds KIND: BENCH_RUNS rounds through the job counts (every other one
# in reverse), each run_KIND J printed; the best time of J in best_KIND_J
rounds() {
	r=1
	while [ "$r" -le "$RUNS" ]; do
		if [ $((r % 2)) -eq 1 ]; then list=$order; else list=$rev; fi
		for j in $list; do
			"run_$1" "$j"
			printf '  run %d  --jobs %-2s %8s s   peak %6s kB   cpu: migdeck %6s ms, server %7s ms (%s cores)\n' \
				"$r" "$j" "$(secs "$ns")" "$rss" "$cpu" "$srv" \
				"$(awk -v c="$cpu" -v s="$srv" -v ns="$ns" 'BEGIN { printf "%.2f", (c + s) / (ns / 1e6) }')"
			eval "b=\${best_$1_$j:-0}"
			if [ "$b" -eq 0 ] || [ "$ns" -lt "$b" ]; then eval "best_$1_$j=$ns"; fi
		done
		r=$((r + 1))
	done
}

# table KIND MEMBERS: the best time of each job count, its speed-up against
# --jobs 1, members a second
table() {
	printf '  %-8s %10s %9s %14s\n' jobs "best s" speed-up "members/s"
	eval "base=\$best_$1_1"
	for j in $JOBS; do
		eval "b=\$best_$1_$j"
		printf '  %-8s %10s %9s %14s\n' "$j" "$(secs "$b")" \
			"$(awk -v a="$base" -v b="$b" 'BEGIN { printf "%.2fx", a / b }')" \
			"$(awk -v n="$2" -v b="$b" 'BEGIN { printf "%.1f", n / (b / 1e9) }')"
	done
}

# the floor: the same files with psql, one session per database (BEGIN,
# the file, a history row, COMMIT; no lock, no bookkeeping to create),
# JOBS sessions at a time (xargs -P); sets ns
floor_jobs() {
	fresh
	{
		echo "CREATE TABLE hist (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
		i=1
		while [ "$i" -le "$M" ]; do
			printf 'BEGIN;\n\\ir pending/%s\nINSERT INTO hist (version) VALUES (%s);\nCOMMIT;\n' \
				"$(cd "$ws/pending" && ls V"$i"__*.sql)" "'$i'"
			i=$((i + 1))
		done
	} >"$ws/floor.sql"
	timed sh -c 'i=1; while [ "$i" -le "$1" ]; do printf "fb_%03d\n" "$i"; i=$((i + 1)); done |
		xargs -P "$2" -I{} "$3" -X -q -v ON_ERROR_STOP=1 -d {} -f "$4" >/dev/null' \
		sh "$N" "$1" "$PSQL" "$ws/floor.sql"
	[ "$rc" -eq 0 ] || broken "psql floor, -P $1: exited $rc"
}

secs() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }

echo "$me: $N databases x $M migrations, migdeck migrate --group --jobs J"
echo "$me: $("$BIN" --version 2>/dev/null | head -n 1), server $(q postgres 'SHOW server_version'), $(nproc 2>/dev/null || echo '?') cores"
echo "$me: best of $RUNS runs per job count, fresh databases before each run, autovacuum off"
echo
order=$JOBS
rev=$(for j in $JOBS; do echo "$j"; done | awk '{ a[NR] = $0 } END { for (i = NR; i >= 1; i--) printf "%s ", a[i] }')
rounds dbs
echo
table dbs "$N"
s4=$(awk -v a="$best_dbs_1" -v b="${best_dbs_4:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }')
if awk -v s="$s4" 'BEGIN { exit !(s >= 1.8) }'; then
	echo "  target --jobs 4 >= 1.8x --jobs 1: met (${s4}x)"
else
	echo "  target --jobs 4 >= 1.8x --jobs 1: MISSED (${s4}x)"
fi

# ---- the floor: psql, one session per database ------------------------------------------

if [ "${BENCH_FLOOR:-1}" = 1 ]; then
	echo
	floor_jobs 1
	f1=$ns
	floor_jobs 4
	f4=$ns
	echo "  floor (psql, a session per database, xargs -P): -P 1 $(secs "$f1") s, -P 4 $(secs "$f4") s:" \
		"$(awk -v a="$f1" -v b="$f4" 'BEGIN { printf "%.2fx", a / b }')"
fi

# ---- memory: SMALL members against N, both at --jobs 4 --------------------------------

if [ -n "$TIME" ]; then
	fresh
	(cd "$ws" && one_sub small 4 >"$W/out" 2>"$W/err")
	read -r ns rss_small rc cpu srv <"$W/res"
	[ "$rc" -eq 0 ] || { tail -n 20 "$W/err" >&2; broken "memory: $SMALL members exited $rc"; }
	fresh
	(cd "$ws" && one_sub fleet 4 >"$W/out" 2>"$W/err")
	read -r ns rss_all rc cpu srv <"$W/res"
	[ "$rc" -eq 0 ] || { tail -n 20 "$W/err" >&2; broken "memory: $N members exited $rc"; }
	echo
	echo "  peak resident memory at --jobs 4: $SMALL members $rss_small kB, $N members $rss_all kB"
	awk -v a="$rss_small" -v b="$rss_all" -v s="$SMALL" -v n="$N" 'BEGIN {
		printf "  growth: %d kB for %d more members (%.2f kB a member)\n", b - a, n - s, (b - a) / (n - s) }'
fi
# ---- the reference: a new server process per connection (pgbench -C) ----------------

PGBENCH="${MIGDECK_TEST_PGBIN:-}/pgbench"
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench 2>/dev/null)
if [ "${BENCH_CHURN:-1}" = 1 ] && [ -n "$PGBENCH" ]; then
	echo "SELECT 1;" >"$W/select1.sql"
	# churn CLIENTS: connections a second, each a new server process
	churn() {
		"$PGBENCH" -n -C -c "$1" -j "$1" -t $((400 / $1)) -f "$W/select1.sql" postgres 2>&1 |
			sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1
	}
	c1=$(churn 1 | awk '{ printf "%.1f", $1 }')
	c4=$(churn 4 | awk '{ printf "%.1f", $1 }')
	echo
	echo "  reference: pgbench -C (a new connection per SELECT 1): 1 client ${c1:-?}/s, 4 clients ${c4:-?}/s:" \
		"$(awk -v a="${c1:-0}" -v b="${c4:-0}" 'BEGIN { if (a > 0) printf "%.2fx", b / a; else print "?" }')"
fi

# ---- tenant schemas: one database, a connection a worker ------------------------------

# complete_tenants: how many fs_ schemas have all M versions in their history
complete_tenants() {
	q fbs_tenants "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'fs\_%' ORDER BY 1" >"$W/tenants" ||
		broken "cannot list the tenants"
	while read -r s; do
		printf 'SELECT count(*) FROM %s.schema_versions WHERE success AND is_active AND kind = %s;\n' \
			"$s" "'versioned'"
	done <"$W/tenants" >"$W/check.sql"
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d fbs_tenants -f "$W/check.sql" >"$W/check.out" 2>&1 ||
		{ tail -n 5 "$W/check.out" >&2; broken "cannot read the tenants' histories"; }
	grep -cx "$M" "$W/check.out"
}

if [ "$SCHEMAS" -gt 0 ]; then
	# fresh_schemas: fbs_tenants again with SCHEMAS empty schemas
	fresh_schemas() {
		{
			echo "SET client_min_messages = warning;"
			echo "DROP DATABASE IF EXISTS fbs_tenants;"
			echo "CREATE DATABASE fbs_tenants;"
			printf '%s\n' '\c fbs_tenants' # not echo: dash's echo takes \c as "stop here"
			i=1
			while [ "$i" -le "$SCHEMAS" ]; do
				printf 'CREATE SCHEMA fs_%03d;\n' "$i"
				i=$((i + 1))
			done
		} >"$W/fresh.sql"
		settle "the schemas"
	}
	run_schemas() { # jobs
		fresh_schemas
		run_group tenants "$SCHEMAS" "$1"
		complete=$(complete_tenants) || exit 1
		[ "$complete" -eq "$SCHEMAS" ] || broken "schemas --jobs $1: $complete of $SCHEMAS tenants complete"
	}
	echo
	echo "  $SCHEMAS tenant schemas in one database (members = schemas), best of $RUNS:"
	rounds schemas
	echo
	table schemas "$SCHEMAS"
	q postgres "DROP DATABASE IF EXISTS fbs_tenants" >/dev/null 2>&1
fi

q postgres "SELECT format('DROP DATABASE %I;', datname) FROM pg_database WHERE datname LIKE 'fb\_%'" |
	"$PSQL" -X -q -d postgres >/dev/null 2>&1
