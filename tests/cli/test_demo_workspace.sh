#!/bin/sh
# CLI test of the demo workspace at the repository root (archive/, applied/,
# pending/: what `make demo` opens; issue 4).  On a copy of it:
#
#   - every forward file has its rollback; the last pending file says at its
#     top that it fails on purpose; one pending file is made only of
#     statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY);
#   - the archived migrations build exactly what archive/consolidated_schema.sql
#     builds, and their rollbacks undo them;
#   - from consolidated_schema.sql, `migrate --to <last applied>` applies what
#     is in applied/, and status and validate agree with the folders;
#   - each pending migration but the last applies; the last fails with exit 1,
#     file:line:col and the error its header promises, and changes nothing;
#   - `rollback`, one at a time, undoes everything (pending and applied ones)
#     back to the schema and data of consolidated_schema.sql;
#   - applying again gives the same schema as the first time (round trip).
#
# Runs under tests/pg_harness.sh with MIGDECK_BIN set; prints "ok N - ..." or
# "not ok N - ..." per assertion and ends with "N passed, N failed".
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ -z "${PGHOST:-}" ]; then
	echo "test_demo_workspace.sh: run me under tests/pg_harness.sh" >&2
	exit 1
fi
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${MIGDECK_TEST_TMPDIR:-${TMPDIR:-/tmp}}/mddemo.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT
trap 'rm -rf "$T"; exit 143' TERM
export LC_ALL=C
# the workspace's own settings only (there is no migdeck.ini: the defaults),
# and the checksum cache inside the scratch folder
unset MIGDECK_CONFIG DATABASE_URL
export XDG_CACHE_HOME="$T/cache"
OUT=$T/out
ERR=$T/err
PSQL=psql
PG_DUMP=pg_dump
PG_RESTORE=pg_restore
[ -x "${MIGDECK_TEST_PGBIN:-}/psql" ] && PSQL=$MIGDECK_TEST_PGBIN/psql
[ -x "${MIGDECK_TEST_PGBIN:-}/pg_dump" ] && PG_DUMP=$MIGDECK_TEST_PGBIN/pg_dump
[ -x "${MIGDECK_TEST_PGBIN:-}/pg_restore" ] && PG_RESTORE=$MIGDECK_TEST_PGBIN/pg_restore

# migdeck's bookkeeping (src/history.c, migrations/*.sql): the history table
# (default [history] table), its _events and _migdeck tables, and the
# trigger function of migrations/002_self_recording.sql
HIST=schema_versions
HIST_FUNC=migdeck_self_record

# ---- helpers ----------------------------------------------------------------------

pass=0 fail=0 n=0
ok() {
	n=$((n + 1)) pass=$((pass + 1))
	echo "ok $n - $1"
}
bad() {
	n=$((n + 1)) fail=$((fail + 1))
	echo "not ok $n - $1"
}
show() { sed 's/^/  | /' "$1"; }

# run ARGS...: migdeck on $DB in the workspace, stdout in $OUT, stderr in
# $ERR, status in rc
m() {
	(cd "$W" && $BIN -d "dbname=$DB" "$@") >"$OUT" 2>"$ERR" </dev/null
	rc=$?
}

expect_rc() { # want description
	if [ "$rc" -eq "$1" ]; then ok "$2"; else
		bad "$2: exit $rc, want $1"
		show "$OUT"
		show "$ERR"
	fi
}
expect_eq() { # got want description
	if [ "$1" = "$2" ]; then ok "$3"; else
		bad "$3"
		echo "  | got:  $1"
		echo "  | want: $2"
	fi
}
expect_line() { # file line description (the whole line)
	if grep -qxF -- "$2" "$1"; then ok "$3"; else
		bad "$3: no line '$2' in $(basename "$1")"
		show "$1"
	fi
}
expect_fgrep() { # file string description
	if grep -qF -- "$2" "$1"; then ok "$3"; else
		bad "$3: no '$2' in $(basename "$1")"
		show "$1"
	fi
}
expect_same() { # file1 file2 description
	if cmp -s "$1" "$2"; then ok "$3"; else
		bad "$3"
		diff "$1" "$2" | head -n 40 | sed 's/^/  | /'
	fi
}

# q DB SQL: the value(s) of a query, |-separated
q() { $PSQL -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }

newdb() { # name
	if $PSQL -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >"$T/newdb.out" 2>&1; then
		ok "create database $1"
	else
		bad "create database $1"
		show "$T/newdb.out"
	fi
}

# psql_file DB FILE description: run a file as psql would, stopping at an error
psql_file() {
	if $PSQL -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$2" >"$T/psql.out" 2>&1; then
		ok "$3"
	else
		bad "$3"
		show "$T/psql.out"
	fi
}

# schema DB OUT: the schema of DB as pg_dump --schema-only prints it, without
# migdeck's bookkeeping (its tables, and their trigger function: pg_dump
# cannot exclude a function, so through pg_restore's table of contents) and
# without pg_dump's \restrict lines (a random token each run).  An
# assertion: a dump that fails must not compare equal to another one.
schema() {
	: >"$T/schema.err"
	if $PG_DUMP --schema-only -Fc -d "$1" -f "$T/schema.fc" \
		--exclude-table="$HIST" --exclude-table="${HIST}_events" \
		--exclude-table="${HIST}_migdeck" 2>>"$T/schema.err" &&
		$PG_RESTORE -l "$T/schema.fc" >"$T/schema.toc" 2>>"$T/schema.err" &&
		grep -v " $HIST_FUNC(" "$T/schema.toc" >"$T/schema.list" &&
		$PG_RESTORE -L "$T/schema.list" -f "$T/schema.sql" "$T/schema.fc" 2>>"$T/schema.err" &&
		grep -v -e '^\\restrict' -e '^\\unrestrict' "$T/schema.sql" >"$2" &&
		[ ! -s "$T/schema.err" ]; then
		ok "pg_dump --schema-only $1 ($(basename "$2" .schema))"
	else
		bad "pg_dump --schema-only $1 ($(basename "$2" .schema))"
		show "$T/schema.err"
		echo "pg_dump failed: $2" >"$2"
	fi
}

# rows DB OUT: "table count" for every table of the baseline
rows() {
	: >"$2"
	for t in $base_tables; do
		echo "$t $(q "$1" "SELECT count(*) FROM $t")" >>"$2"
	done
}

# the STATE column of `status` for every version, as "version=state ..."
# ("rolled_back" for "rolled back")
states() {
	awk '/^VERSION / { on = 1; next }
	on && NF == 0 { on = 0 }
	on { printf "%s%s=%s", n++ ? " " : "", $1, $2 ($2 == "rolled" ? "_" $3 : "") }
	END { print "" }' "$OUT"
}

# forward files of a folder, in version order, one a line
forwards() { (cd "$W/$1" && ls -1 -- *.sql 2>/dev/null) | grep -v -e '_rollback_' -e '_rollback\.sql$' -e '^consolidated_schema\.sql$' | sort; }
rollbacks() { (cd "$W/$1" && ls -1 -- *.sql 2>/dev/null) | grep -e '_rollback_' -e '_rollback\.sql$' | sort; }
version_of() { echo "${1%%_*}"; }
rollback_of() { echo "$1" | sed 's/^\([0-9]*\)_/\1_rollback_/'; }
listing() { (cd "$W" && ls -1 applied pending archive) | tr '\n' ' '; }

# expected states, "version=state ..." in version order, from the folders'
# forward files: archived for archive/, then the given states
want_states() { # applied/ pending/-but-the-failing-one the-failing-one
	{
		for f in $(forwards archive); do echo "$f archived"; done
		for f in $(forwards applied); do echo "$f $1"; done
		for f in $(forwards pending); do
			if [ "$f" = "$failing" ]; then echo "$f $3"; else echo "$f $2"; fi
		done
	} | sort | awk '{ split($1, v, "_"); printf "%s%s=%s", n++ ? " " : "", v[1], $2 } END { print "" }'
}

# ---- the workspace --------------------------------------------------------------------

W=$T/ws
DB=mddemo_ws
mkdir -p "$W" || exit 1
for d in archive applied pending; do
	if [ -d "$root/$d" ]; then cp -R "$root/$d" "$W/$d"; else mkdir "$W/$d"; fi
done

archived=$(forwards archive)
applied=$(forwards applied)
pending=$(forwards pending)
n_applied=$(echo "$applied" | grep -c .)
n_pending=$(echo "$pending" | grep -c .)
n_archived=$(echo "$archived" | grep -c .)
last_applied=$(echo "$applied" | tail -n 1)
failing=$(echo "$pending" | tail -n 1)
good_pending=$(echo "$pending" | sed '$d')
last_good=$(echo "$good_pending" | tail -n 1)

if [ -f "$W/archive/consolidated_schema.sql" ] && [ "$n_archived" -ge 1 ]; then
	ok "archive/ holds consolidated_schema.sql and $n_archived archived migrations"
else
	bad "archive/ holds consolidated_schema.sql and archived migrations"
fi
if [ "$n_applied" -ge 1 ] && [ "$n_pending" -ge 2 ]; then
	ok "$n_applied migrations in applied/, $n_pending in pending/"
else
	bad "applied/ and pending/ hold migrations: $n_applied and $n_pending"
fi

# each forward file has its rollback beside it, and nothing else is there
for d in archive applied pending; do
	want=$(for f in $(forwards $d); do rollback_of "$f"; done | sort | tr '\n' ' ')
	got=$(rollbacks $d | tr '\n' ' ')
	expect_eq "$got" "$want" "$d/: one rollback per forward file"
done

# the failing one says so at its top (before its first statement)
if sed -n '1,/^[^-]/p' "$W/pending/$failing" | grep -qi 'fails on purpose'; then
	ok "pending/$failing says at its top that it fails on purpose"
else
	bad "pending/$failing says at its top that it fails on purpose"
	sed -n 1,12p "$W/pending/$failing" | sed 's/^/  | /'
fi
# the error it promises, quoted in that comment: "--     ERROR: ..."
promised=$(sed -n 's/^--[[:space:]]*ERROR:[[:space:]]*/ERROR: /p' "$W/pending/$failing" | head -n 1)
if [ -n "$promised" ]; then ok "pending/$failing quotes its error"; else
	bad "pending/$failing quotes its error (a comment line '--   ERROR: ...')"
fi

# one pending file is made only of non-transactional statements
conc=""
for f in $pending; do
	if (cd "$W" && $BIN statements "pending/$f") >"$OUT" 2>"$ERR" &&
		[ -s "$OUT" ] && ! cut -f 3 "$OUT" | grep -qv '^no-transaction$' &&
		grep -q 'CONCURRENTLY' "$OUT"; then
		conc=$f
	fi
done
if [ -n "$conc" ]; then ok "pending/$conc: CREATE INDEX CONCURRENTLY only"; else
	bad "a pending file made only of CREATE INDEX CONCURRENTLY"
fi
# and its rollback too (DROP INDEX CONCURRENTLY)
if [ -n "$conc" ] && (cd "$W" && $BIN statements "pending/$(rollback_of "$conc")") >"$OUT" 2>"$ERR" &&
	! cut -f 3 "$OUT" | grep -qv '^no-transaction$'; then
	ok "its rollback is non-transactional too"
else
	bad "the CONCURRENTLY file's rollback is non-transactional too"
	show "$OUT"
fi

m validate --offline
expect_rc 0 "validate --offline"

# ---- the archive: consolidated_schema.sql is the archived migrations ---------------------

newdb mddemo_empty
schema mddemo_empty "$T/empty.schema"

newdb mddemo_archive
for f in $archived; do
	psql_file mddemo_archive "$W/archive/$f" "psql runs archive/$f"
done
schema mddemo_archive "$T/archive.schema"

newdb $DB
psql_file $DB "$W/archive/consolidated_schema.sql" "psql loads archive/consolidated_schema.sql"
schema $DB "$T/base.schema"
base_tables=$(q $DB "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
rows $DB "$T/base.rows"
if grep -q 'CREATE TABLE' "$T/base.schema"; then ok "the baseline schema has tables"; else
	bad "the baseline schema has tables"
	show "$T/base.schema"
fi
expect_same "$T/archive.schema" "$T/base.schema" \
	"the archived migrations build what consolidated_schema.sql builds"

for f in $(echo "$archived" | sort -r); do
	psql_file mddemo_archive "$W/archive/$(rollback_of "$f")" "psql runs archive/$(rollback_of "$f")"
done
schema mddemo_archive "$T/archive-undone.schema"
expect_same "$T/archive-undone.schema" "$T/empty.schema" "the archived rollbacks undo the archived migrations"

# ---- applied/: migrate --to the last applied version -------------------------------------------

ls0=$(listing)
m migrate --to "$(version_of "$last_applied")"
expect_rc 0 "migrate --to $(version_of "$last_applied")"
expect_eq "$(sed -n 's/^Applied: \(.*\) ([0-9]* ms)$/\1/p' "$OUT" | tr '\n' ' ')" \
	"$(echo "$applied" | tr '\n' ' ')" "it applies what is in applied/, in order"
expect_line "$OUT" "Migrations complete: $n_applied applied, $n_pending skipped, $((n_applied + n_pending)) total" \
	"its summary line"
expect_eq "$(listing)" "$ls0" "no file moves"
schema $DB "$T/applied.schema"

m status
expect_rc 0 "status"
expect_eq "$(states)" "$(want_states applied pending pending)" \
	"status: archive/ archived, applied/ applied, pending/ pending"
expect_line "$OUT" "$n_applied applied, $n_pending to run, $((n_archived + n_applied + n_pending)) listed" \
	"status: its summary line"

m validate
expect_rc 0 "validate (with the database)"
# every .sql file but the baseline
nsql=0
for f in "$W"/archive/*.sql "$W"/applied/*.sql "$W"/pending/*.sql; do
	[ -f "$f" ] && [ "${f##*/}" != consolidated_schema.sql ] && nsql=$((nsql + 1))
done
expect_line "$OUT" "Validation passed: $nsql files" "validate: all $nsql files pass"

# ---- pending/: each one but the last applies --------------------------------------------------

for f in $good_pending; do
	v=$(version_of "$f")
	m migrate --to "$v"
	expect_rc 0 "migrate --to $v"
	expect_eq "$(sed -n 's/^Applied: \(.*\) ([0-9]* ms)$/\1/p' "$OUT")" "$f" "it applies $f"
	if [ "$f" = "$conc" ]; then
		expect_fgrep "$ERR" "pending/$f runs outside a transaction" "$f: the no-transaction warning"
	fi
	if [ -f "$W/applied/$f" ] && [ -f "$W/applied/$(rollback_of "$f")" ] && [ ! -e "$W/pending/$f" ]; then
		ok "$f and its rollback move to applied/"
	else
		bad "$f and its rollback move to applied/"
	fi
done
m status
expect_eq "$(states)" "$(want_states applied pending pending)" \
	"status: all but $failing applied"
schema $DB "$T/forward.schema"
ls1=$(listing)

# ---- the last one fails on purpose ------------------------------------------------------------

m migrate
expect_rc 1 "migrate: $failing fails with exit 1"
pos=$(sed -n "s|^migdeck: pending/$failing:\([0-9][0-9]*:[0-9][0-9]*\): ERROR: .*|\1|p" "$ERR" | head -n 1)
if [ -n "$pos" ]; then ok "the error names pending/$failing:line:col"; else
	bad "the error names pending/$failing:line:col"
	show "$ERR"
fi
# line:col is where one of its statements starts
(cd "$W" && $BIN statements "pending/$failing") >"$T/failing.st" 2>&1
if [ -n "$pos" ] && cut -f 2 "$T/failing.st" | grep -qxF "$pos"; then
	ok "line:col $pos is the start of one of its statements"
else
	bad "line:col '$pos' is the start of one of its statements"
	show "$T/failing.st"
fi
expect_fgrep "$ERR" "pending/$failing:$pos: $promised" "the error is the one its header promises"
expect_fgrep "$ERR" "Migrations stopped: 0 applied, 1 failed, 0 not run" "the summary says it stopped"
schema $DB "$T/failed.schema"
expect_same "$T/forward.schema" "$T/failed.schema" "the failed migration left nothing behind"
expect_eq "$(listing)" "$ls1" "the failed migration stays in pending/"

# ---- roll everything back, one at a time --------------------------------------------------------

all_applied=$( (echo "$applied"; echo "$good_pending") | grep . | sort -r)
for f in $all_applied; do
	if [ "$f" = "$last_applied" ]; then
		# the pending ones are undone: back to what applied/ built
		schema $DB "$T/pending-undone.schema"
		expect_same "$T/applied.schema" "$T/pending-undone.schema" \
			"the pending ones' rollbacks give back the schema of applied/"
	fi
	m rollback --yes
	expect_rc 0 "rollback $(version_of "$f")"
	expect_eq "$(sed -n 's/^Rolled back: \(.*\) ([0-9]* ms)$/\1/p' "$OUT")" "$(rollback_of "$f")" \
		"it runs $(rollback_of "$f")"
done
m rollback --yes
expect_rc 3 "nothing left to roll back: exit 3"
if [ -z "$(forwards applied)" ] && [ "$(forwards pending | tr '\n' ' ')" = "$( (echo "$applied"; echo "$pending") | sort | tr '\n' ' ')" ]; then
	ok "every migration is back in pending/"
else
	bad "every migration is back in pending/"
	listing
fi
m status
expect_eq "$(states)" "$(want_states - rolled_back pending)" \
	"status: everything rolled back, $failing still pending"

schema $DB "$T/undone.schema"
expect_same "$T/base.schema" "$T/undone.schema" "the schema is consolidated_schema.sql's again"
rows $DB "$T/undone.rows"
expect_same "$T/base.rows" "$T/undone.rows" "the seeded rows are gone"

# ---- and forward again: the same schema -----------------------------------------------------------

m migrate --to "$(version_of "$last_applied")"
expect_rc 0 "again: migrate --to $(version_of "$last_applied")"
expect_eq "$(sed -n 's/^Applied: \(.*\) ([0-9]* ms)$/\1/p' "$OUT" | tr '\n' ' ')" \
	"$(echo "$applied" | tr '\n' ' ')" "again: it applies the same files"
m migrate --to "$(version_of "$last_good")"
expect_rc 0 "again: migrate --to $(version_of "$last_good")"
schema $DB "$T/again.schema"
expect_same "$T/forward.schema" "$T/again.schema" "round trip: the same schema as the first time"
expect_eq "$(listing)" "$ls1" "round trip: the same folders as the first time"
m migrate
expect_rc 1 "again: $failing fails"

echo "test_demo_workspace.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
