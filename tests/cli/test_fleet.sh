#!/bin/sh
# CLI tests of `migdeck migrate --group` (issue 8, "a fleet of databases")
# on a real PostgreSQL:
#   - 50 databases listed by a query; one member's data violates a CHECK a
#     migration adds: the 49 others are applied, the failing member is
#     reported (failed, file:line:col) and keeps only the migrations before
#     the failing one, its schema untouched by it; fixed, a re-run finishes
#     it and the others say up to date; --json;
#   - a group of targets (targets = a, b), a member that cannot connect
#     (exit 5), a member whose lock is held (exit 4), -d refused;
#   - tenant schemas (members = schemas): ${schema}, search_path, a history
#     per schema;
#   - one connection a worker for the tenants of one database: the same
#     server process for all, after a failed tenant too, and nothing a
#     tenant's migration left in the session (a setting, a temporary
#     table) reaches the next;
#   - --fail-fast with --jobs 1 and the failing member first: the rest
#     skipped and untouched;
#   - a production member: refused without --confirm-database GROUP;
#   - an unknown group (exit 2, the groups listed), --jobs without --group.
#
# Runs under tests/pg_harness.sh with MIGDECK_BIN set.
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ -z "${PGHOST:-}" ]; then
	echo "test_fleet.sh: run me under tests/pg_harness.sh" >&2
	exit 1
fi
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
fi
T=$(mktemp -d "${MIGDECK_TEST_TMPDIR:-${TMPDIR:-/tmp}}/mdfleet.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT
trap 'rm -rf "$T"; exit 143' TERM
export LC_ALL=C
. "$(dirname "$0")/common.shlib"
have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1
PSQL=psql
[ -x "${MIGDECK_TEST_PGBIN:-}/psql" ] && PSQL=$MIGDECK_TEST_PGBIN/psql
# the migdeck lock's first key (src/db.c): 'migd'
LOCK_KEY=1835624292

# ---- helpers ------------------------------------------------------------------

# q DB SQL: one value (or rows, |-separated)
q() { $PSQL -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }
qp() { q postgres "$1"; }

# row MEMBER: the matrix row of MEMBER in $OUT, spaces squeezed
row() { awk -v m="$1" '$1 == m' "$OUT" | tr -s ' '; }
# outcomes: "outcome=count ..." of the matrix rows in $OUT, sorted
outcomes() {
	awk 'NR > 1 && NF >= 6 && $2 ~ /^[a-z-]+$/ && $6 ~ /s$/ { n[$2]++ }
	     END { for (k in n) print k "=" n[k] }' "$OUT" | sort | tr '\n' ' '
}
# versions DB [SCHEMA]: the successful versions in DB's history, in order
versions() {
	q "$1" "SELECT coalesce(string_agg(version, ',' ORDER BY version::int), '') FROM ${2:-public}.schema_versions WHERE success AND is_active"
}
lsf() { ls -1 "$1" 2>/dev/null | tr '\n' ' '; }
# tenants_ini DB PREFIX: migdeck.ini with group "tenants", the schemas
# PREFIX_* of database DB
tenants_ini() {
	cat >migdeck.ini <<EOF
[target.shared]
conninfo = dbname=$1

[group.tenants]
query = SELECT nspname FROM pg_namespace WHERE nspname LIKE '$2\\_%' ORDER BY 1
members = schemas
target = shared
EOF
}

# ---- the workspace: four migrations, the third adds a CHECK ---------------------

W=$T/ws
mkdir -p "$W/pending" "$W/applied" "$W/archive" && cd "$W" || exit 1
printf 'CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL);\n' >pending/V1__accounts.sql
printf 'INSERT INTO accounts SELECT id, email FROM legacy_accounts;\n' >pending/V2__import.sql
printf -- '-- every e-mail has an @\nALTER TABLE accounts ADD CONSTRAINT accounts_email_check CHECK (email LIKE %s);\n' \
	"'%@%'" >pending/V3__require_email.sql
printf 'CREATE INDEX accounts_email_idx ON accounts (email);\n' >pending/V4__email_index.sql
cat >migdeck.ini <<'EOF'
[group.tenants]
query = SELECT datname FROM pg_database WHERE datname LIKE 'mdfl\_t%' ORDER BY 1
members = databases

[group.ff]
query = SELECT datname FROM pg_database WHERE datname LIKE 'mdfl\_ff%' ORDER BY 1

[target.a]
conninfo = dbname=mdfl_a

[target.b]
conninfo = dbname=mdfl_b

[target.ghost]
conninfo = dbname=mdfl_no_such_database

[target.prod]
conninfo = dbname=mdfl_prod
production = true

[group.pair]
targets = a, b

[group.mixed]
targets = a, ghost

[group.live]
targets = prod

[target.fw]
conninfo = dbname=mdfl_fw

[group.foreign]
targets = a, fw

[group.twice]
query = SELECT 'mdfl_a' UNION ALL SELECT 'mdfl_b' UNION ALL SELECT 'mdfl_a'

[group.broken]
query = SELECT no_such_column FROM pg_database
EOF

# a template with the legacy rows every tenant imports
qp "SET client_min_messages = warning; DROP DATABASE IF EXISTS mdfl_src" >/dev/null
qp "CREATE DATABASE mdfl_src" >/dev/null
q mdfl_src "CREATE TABLE legacy_accounts (id int, email text); INSERT INTO legacy_accounts VALUES (1, 'a@example.org'), (2, 'b@example.org')" >/dev/null

# mkdbs PREFIX N: databases PREFIX01..PREFIXN from the template
mkdbs() {
	i=1
	while [ "$i" -le "$2" ]; do
		name=$(printf '%s%02d' "$1" "$i")
		if qp "CREATE DATABASE $name TEMPLATE mdfl_src" >"$T/mk.out" 2>&1; then :; else
			bad "cannot create database $name"
			show "$T/mk.out"
		fi
		i=$((i + 1))
	done
}

# ---- 1. fifty databases, one fails ----------------------------------------------

mkdbs mdfl_t 50
expect_eq "$(qp "SELECT count(*) FROM pg_database WHERE datname LIKE 'mdfl\_t%'")" 50 "fifty databases"
# t07's legacy data has an address without @: V3's CHECK fails there
q mdfl_t07 "INSERT INTO legacy_accounts VALUES (3, 'nobody')" >/dev/null

run migrate --group tenants --jobs 4
expect_rc 1 "fleet of 50, one fails: exit 1"
expect_eq "$(head -n 1 "$OUT" | tr -s ' ')" "member outcome before after applied time" "matrix: the header"
expect_eq "$(grep -c '^mdfl_t[0-9][0-9] ' "$OUT")" 50 "matrix: a row per member"
expect_eq "$(outcomes)" "applied=49 failed=1 " "matrix: 49 applied, 1 failed"
expect_grep "$OUT" '^50 members: 49 applied, 1 failed (.* s, --jobs 4)$' "summary line"
r=$(row mdfl_t07)
case "$r" in
"mdfl_t07 failed - 2 2 "*"s pending/V3__require_email.sql:2:1: ERROR: check constraint \"accounts_email_check\" of relation \"accounts\" is violated by some row") ok ;;
*) bad "matrix: the failing row, got '$r'" ;;
esac
expect_eq "$(row mdfl_t01 | cut -d' ' -f1-5)" "mdfl_t01 applied - 4 4" "matrix: an applied row (before -, after 4, 4 applied)"
# progress on stderr: one line per member
expect_eq "$(grep -c '^\[[0-9]*/50\] mdfl_t' "$ERR")" 50 "progress: a line per member"
expect_grep "$ERR" '^\[[0-9]*/50\] mdfl_t07 failed - -> 2, 2 applied, [0-9.]*s: pending/V3__require_email.sql:2:1: ' \
	"progress: the failing member's line"
expect_grep "$ERR" '^\[50/50\] ' "progress: counts to 50"
# the database says the same
good=0 badv=""
for i in $(seq -w 1 50); do
	[ "$i" = 07 ] && continue
	v=$(versions "mdfl_t$i")
	if [ "$v" = "1,2,3,4" ]; then good=$((good + 1)); else badv="$badv t$i=$v"; fi
done
expect_eq "$good" 49 "the 49 others have every version in their history ($badv)"
expect_eq "$(versions mdfl_t07)" "1,2" "the failing member: only the migrations before the failing one"
expect_eq "$(q mdfl_t07 "SELECT count(*) FROM pg_constraint WHERE conname = 'accounts_email_check'")" 0 \
	"the failing member: its schema untouched by V3"
expect_eq "$(q mdfl_t07 "SELECT to_regclass('public.accounts_email_idx') IS NULL")" t "the failing member: V4 not run"
expect_eq "$(q mdfl_t07 "SELECT count(*) FROM schema_versions_events WHERE action = 'failure' AND version = '3'")" 1 \
	"the failing member: the failure is in its event table"
expect_eq "$(q mdfl_t12 "SELECT count(*) FROM pg_constraint WHERE conname = 'accounts_email_check'")" 1 "another member has V3's CHECK"
expect_eq "$(lsf pending)" "V1__accounts.sql V2__import.sql V3__require_email.sql V4__email_index.sql " \
	"members never move files"
expect_eq "$(lsf applied)" "" "applied/ stays empty"

# fix the data, run again: it resumes where the member stopped
q mdfl_t07 "UPDATE accounts SET email = 'nobody@example.org' WHERE id = 3" >/dev/null
run migrate --group tenants --jobs 4
expect_rc 0 "re-run after the fix: exit 0"
expect_eq "$(outcomes)" "applied=1 up-to-date=49 " "re-run: the fixed member applied, the others up to date"
expect_eq "$(row mdfl_t07 | cut -d' ' -f1-5)" "mdfl_t07 applied 2 4 2" "re-run: the fixed member went from 2 to 4"
expect_eq "$(row mdfl_t30 | cut -d' ' -f1-5)" "mdfl_t30 up-to-date 4 4 0" "re-run: an up-to-date row"
expect_grep "$OUT" '^50 members: 1 applied, 49 up to date (' "re-run: the summary line"
expect_eq "$(versions mdfl_t07)" "1,2,3,4" "re-run: the fixed member is complete"

# --json
run migrate --group tenants --jobs 3 --json
expect_rc 0 "--json: exit 0"
if [ $have_python = 1 ]; then
	got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
m = d["members"]
print(d["group"], d["members_kind"], d["jobs"], len(m), sorted(set(x["outcome"] for x in m)),
      m[0]["member"], m[0]["before"], m[0]["after"], m[0]["applied"], m[0]["error"],
      d["summary"]["members"], d["summary"]["up_to_date"], d["summary"]["failed"])' "$OUT" 2>&1)
	expect_eq "$got" "tenants databases 3 50 ['up-to-date'] mdfl_t01 4 4 0 None 50 50 0" "--json: the object"
else
	expect_fgrep "$OUT" '"member":"mdfl_t01","outcome":"up-to-date","before":"4","after":"4","applied":0' "--json: a member"
fi
expect_eq "$(grep -c '^\[' "$ERR")" 50 "--json: progress still on stderr"

# ---- 2. --fail-fast: the failing member first, one job --------------------------

mkdbs mdfl_ff 5
q mdfl_ff01 "INSERT INTO legacy_accounts VALUES (3, 'nobody')" >/dev/null
run migrate --group ff --jobs 1 --fail-fast
expect_rc 1 "--fail-fast: exit 1"
expect_eq "$(outcomes)" "failed=1 skipped=4 " "--fail-fast: the first fails, the rest skipped"
expect_eq "$(row mdfl_ff02 | cut -d' ' -f1-5)" "mdfl_ff02 skipped ? ? 0" "--fail-fast: a skipped row (never read: versions not known)"
expect_grep "$OUT" '^5 members: 1 failed, 4 skipped (' "--fail-fast: the summary"
expect_eq "$(q mdfl_ff03 "SELECT to_regclass('public.schema_versions') IS NULL AND to_regclass('public.accounts') IS NULL")" t \
	"--fail-fast: a skipped member untouched"
# without it, the others go on
run migrate --group ff --jobs 2
expect_rc 1 "without --fail-fast: exit 1"
expect_eq "$(outcomes)" "applied=4 failed=1 " "without --fail-fast: the others applied"

# ---- 3. a group of targets; a member that cannot connect; a held lock ------------

qp "CREATE DATABASE mdfl_a TEMPLATE mdfl_src" >/dev/null
qp "CREATE DATABASE mdfl_b TEMPLATE mdfl_src" >/dev/null
run migrate --group pair --jobs 2
expect_rc 0 "targets group: exit 0"
expect_eq "$(outcomes)" "applied=2 " "targets group: both applied"
expect_eq "$(awk 'NR > 1 && NF >= 6 { print $1 }' "$OUT" | head -n 2 | tr '\n' ' ')" "a b " "targets group: rows in the listed order"
expect_eq "$(versions mdfl_a):$(versions mdfl_b)" "1,2,3,4:1,2,3,4" "targets group: both databases migrated"
run -d dbname=postgres migrate --group pair
expect_rc 2 "targets group with -d: refused"
expect_fgrep "$ERR" "-d does not go with group pair" "targets group with -d: says why"

run migrate --group mixed --jobs 2
expect_rc 5 "a member that cannot connect: exit 5"
expect_eq "$(row a | cut -d' ' -f2)" "up-to-date" "cannot connect: the other member is done"
expect_grep "$OUT" '^ghost  *connect-error .*mdfl_no_such_database' "cannot connect: the row says why"
expect_grep "$OUT" '^2 members: 1 up to date, 1 could not connect (' "cannot connect: the summary"

printf 'ALTER TABLE accounts ADD COLUMN note text;\n' >pending/V5__note.sql
$PSQL -X -q -d mdfl_b -c "SELECT pg_advisory_lock($LOCK_KEY, hashtext('\"public\".\"schema_versions\"'))" \
	-c "SELECT pg_sleep(60)" >"$T/locker.out" 2>&1 &
jl=$!
n=0
while [ "$(q mdfl_b "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" != 1 ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
run migrate --group pair --jobs 2
expect_rc 4 "a member locked by another runner: exit 4"
expect_eq "$(row a | cut -d' ' -f1-5)" "a applied 4 5 1" "locked: the other member applied"
expect_grep "$OUT" '^b  *locked  *?  *?  *0 .*locked by pid' "locked: the row names the holder"
q mdfl_b "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'mdfl_b' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()" >/dev/null
wait $jl 2>/dev/null
run migrate --group pair
expect_rc 0 "lock released: exit 0"
expect_eq "$(outcomes)" "applied=1 up-to-date=1 " "lock released: the locked member catches up"
expect_eq "$(versions mdfl_b)" "1,2,3,4,5" "lock released: b complete"
rm -f pending/V5__note.sql

# another tool's history on a member, not adopted: that member refused
qp "CREATE DATABASE mdfl_fw TEMPLATE mdfl_src" >/dev/null
q mdfl_fw "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (1, false)" >/dev/null
run migrate --group foreign
expect_rc 3 "another tool's history on a member: exit 3"
expect_eq "$(row a | cut -d' ' -f2)" "up-to-date" "another tool's history: the other member is done"
expect_grep "$OUT" '^fw  *invalid .*which migdeck has not adopted' "another tool's history: the row says why"
expect_eq "$(q mdfl_fw "SELECT to_regclass('public.schema_versions') IS NULL AND to_regclass('public.accounts') IS NULL")" t \
	"another tool's history: nothing created on that member"

# ---- 4. tenant schemas: ${schema}, search_path, a history per schema -------------

S=$T/ws_schemas
mkdir -p "$S/pending" "$S/applied" "$S/archive" && cd "$S" || exit 1
printf 'CREATE TABLE notes (id int PRIMARY KEY, body text);\n' >pending/V1__notes.sql
printf "COMMENT ON TABLE \${schema}.notes IS 'notes of \${schema}';\nINSERT INTO notes VALUES (1, current_schema());\n" >pending/V2__comment.sql
tenants_ini mdfl_schemas tenant
qp "CREATE DATABASE mdfl_schemas" >/dev/null
q mdfl_schemas "CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b; CREATE SCHEMA tenant_c" >/dev/null
run migrate --group tenants --jobs 3
expect_rc 0 "schemas group: exit 0"
expect_eq "$(outcomes)" "applied=3 " "schemas group: three tenants applied"
for s in tenant_a tenant_b tenant_c; do
	expect_eq "$(q mdfl_schemas "SELECT obj_description('$s.notes'::regclass, 'pg_class')")" "notes of $s" \
		"schemas: \${schema} is $s in its own run"
	expect_eq "$(q mdfl_schemas "SELECT body FROM $s.notes")" "$s" "schemas: search_path is $s"
	expect_eq "$(versions mdfl_schemas $s)" "1,2" "schemas: $s has its own history"
done
expect_eq "$(q mdfl_schemas "SELECT to_regclass('public.notes') IS NULL AND to_regclass('public.schema_versions') IS NULL")" t \
	"schemas: nothing in public"
run migrate --group tenants
expect_rc 0 "schemas group again: exit 0"
expect_eq "$(outcomes)" "up-to-date=3 " "schemas group again: up to date"

# ---- 4b. the tenants of one database: one connection a worker, as good as new -----
#
# Each V1 refuses a session setting or temporary table another tenant left
# behind, then leaves its own; and records the server process it ran on.
# tenant r_2 already has a table "who": its V1 fails (rolled back) and r_3
# still runs on the same connection after it.
R=$T/ws_reuse
mkdir -p "$R/pending" "$R/applied" "$R/archive" && cd "$R" || exit 1
cat >pending/V1__who.sql <<'EOF'
DO $$
BEGIN
	IF coalesce(current_setting('mdfl.leak', true), '') <> '' THEN
		RAISE EXCEPTION 'a setting another tenant left: %', current_setting('mdfl.leak', true);
	END IF;
	IF to_regclass('pg_temp.scratch') IS NOT NULL THEN
		RAISE EXCEPTION 'a temporary table another tenant left';
	END IF;
END $$;
CREATE TABLE who (pid int, path text);
INSERT INTO who VALUES (pg_backend_pid(), current_setting('search_path'));
SET mdfl.leak = '${schema}';
CREATE TEMP TABLE scratch (n int);
EOF
printf 'CREATE TABLE after_who (n int);\n' >pending/V2__after.sql
# outside a transaction: an unqualified name finds the tenant's table only
# by the session's search_path (the runner's SET LOCAL needs a transaction)
printf 'CREATE INDEX CONCURRENTLY who_pid ON who (pid);\n' >pending/V3__index_who.sql
tenants_ini mdfl_reuse r
qp "CREATE DATABASE mdfl_reuse" >/dev/null
q mdfl_reuse "CREATE SCHEMA r_1; CREATE SCHEMA r_2; CREATE SCHEMA r_3; CREATE TABLE r_2.who (x int)" >/dev/null
run migrate --group tenants --jobs 1
expect_rc 1 "one connection: a failed member, exit 1"
expect_eq "$(outcomes)" "applied=2 failed=1 " "one connection: r_1 and r_3 applied, r_2 failed"
expect_eq "$(q mdfl_reuse "SELECT (SELECT pid FROM r_1.who) = (SELECT pid FROM r_3.who)")" t \
	"one connection: r_1 and r_3 ran on one server process (after r_2 failed on it)"
expect_eq "$(q mdfl_reuse "SELECT (SELECT path FROM r_1.who) || ' ' || (SELECT path FROM r_3.who)")" \
	'r_1 r_3' "one connection: each tenant's search_path"
expect_eq "$(versions mdfl_reuse r_1),$(versions mdfl_reuse r_2),$(versions mdfl_reuse r_3)" "1,2,3,,1,2,3" \
	"one connection: r_2 has nothing, the others all three"
expect_eq "$(q mdfl_reuse "SELECT to_regclass('r_1.who_pid') IS NOT NULL AND to_regclass('r_3.who_pid') IS NOT NULL")" t \
	"one connection: r_3's index outside a transaction found r_3.who (the session's search_path)"
expect_eq "$(q mdfl_reuse "SELECT to_regclass('r_2.after_who') IS NULL AND (SELECT count(*) FROM r_2.who) = 0")" t \
	"one connection: the failed tenant untouched"
expect_no_fgrep "$OUT" "another tenant left" "one connection: nothing of one tenant reached the next"
expect_no_fgrep "$ERR" "another tenant left" "one connection: nothing of one tenant reached the next (stderr)"
expect_fgrep "$OUT" "relation \"who\" already exists" "one connection: r_2's own error"
# two workers, three tenants: two connections at most
q mdfl_reuse "DROP TABLE r_2.who" >/dev/null
q mdfl_reuse "DROP SCHEMA r_1 CASCADE; DROP SCHEMA r_3 CASCADE; CREATE SCHEMA r_1; CREATE SCHEMA r_3" >/dev/null
run migrate --group tenants --jobs 2
expect_rc 0 "two workers: exit 0"
expect_eq "$(q mdfl_reuse "SELECT count(DISTINCT pid) BETWEEN 1 AND 2 FROM (SELECT pid FROM r_1.who UNION ALL SELECT pid FROM r_2.who UNION ALL SELECT pid FROM r_3.who) w")" t \
	"two workers: at most two server processes for three tenants"
# through PgBouncer (transaction mode), where a worker keeps no connection
# (a new one costs no server process there): each tenant applied, under its
# own lease, with its own search_path
if [ -n "${MIGDECK_TEST_PGBOUNCER_PORT:-}" ]; then
	q mdfl_reuse "DROP SCHEMA r_1 CASCADE; DROP SCHEMA r_2 CASCADE; DROP SCHEMA r_3 CASCADE;
	  CREATE SCHEMA r_1; CREATE SCHEMA r_2; CREATE SCHEMA r_3" >/dev/null
	# V1 refuses what another tenant left in the session: a transaction
	# pooler keeps a session's settings on its server connection, so leave none
	printf 'CREATE TABLE who (pid int, path text);\nINSERT INTO who VALUES (pg_backend_pid(), current_setting(%s));\n' \
		"'search_path'" >pending/V1__who.sql
	# (no session search_path behind a pooler: nothing outside a transaction)
	rm -f pending/V3__index_who.sql
	tenants_ini mdfl_reuse r
	sed -i "s/^conninfo = .*/conninfo = host=$MIGDECK_TEST_PGBOUNCER_HOST port=$MIGDECK_TEST_PGBOUNCER_PORT dbname=mdfl_reuse user=postgres sslmode=disable/" migdeck.ini
	logins() { grep -c 'login attempt: db=mdfl_reuse ' "$MIGDECK_TEST_PGBOUNCER_LOG"; }
	l0=$(logins)
	run migrate --group tenants --jobs 1
	expect_rc 0 "through PgBouncer: exit 0"
	expect_eq "$(outcomes)" "applied=3 " "through PgBouncer: three tenants applied"
	expect_eq "$(q mdfl_reuse "SELECT string_agg(path, ' ' ORDER BY path) FROM (SELECT path FROM r_1.who UNION ALL SELECT path FROM r_2.who UNION ALL SELECT path FROM r_3.who) w")" \
		"r_1 r_2 r_3" "through PgBouncer: each tenant's search_path (SET LOCAL)"
	expect_eq "$(versions mdfl_reuse r_1),$(versions mdfl_reuse r_2),$(versions mdfl_reuse r_3)" "1,2,1,2,1,2" \
		"through PgBouncer: every tenant's history"
	expect_eq "$(q mdfl_reuse "SELECT count(*) FROM r_1.schema_versions_lease") $(q mdfl_reuse "SELECT count(*) FROM r_3.schema_versions_lease")" \
		"0 0" "through PgBouncer: each tenant's lease taken and released"
	# the group's query, then per tenant a connection and its lease's
	# heartbeat: 7 logins; a worker keeping its connection would make 5
	l1=$(logins)
	if [ $((l1 - l0)) -ge 7 ]; then ok; else
		bad "through PgBouncer: a connection a tenant ($((l1 - l0)) logins, want at least 7)"
	fi
fi
cd "$W" || exit 1

# ---- 5. production: the group's name, not --yes -------------------------------------

qp "CREATE DATABASE mdfl_prod TEMPLATE mdfl_src" >/dev/null
run migrate --group live
expect_rc 3 "production member, no confirmation: refused"
expect_fgrep "$ERR" "--confirm-database live (--yes is not enough)" "production: says how"
run migrate --group live --yes
expect_rc 3 "production member, --yes: refused"
run migrate --group live --confirm-database prod
expect_rc 3 "production member, the database's name instead of the group's: refused"
expect_fgrep "$ERR" "the group is live" "production: a wrong name says so"
expect_eq "$(q mdfl_prod "SELECT to_regclass('public.schema_versions') IS NULL")" t "production: nothing changed when refused"
run migrate --group live --confirm-database live
expect_rc 0 "production member, --confirm-database GROUP: runs"
expect_eq "$(versions mdfl_prod)" "1,2,3,4" "production: migrated once confirmed"

# ---- 6. bad input ------------------------------------------------------------------------

run migrate --group nope
expect_rc 2 "an unknown group: exit 2"
expect_fgrep "$ERR" "no group named nope" "an unknown group: says so"
expect_fgrep "$ERR" "The groups: tenants, ff, pair, mixed, live, foreign, twice, broken." "an unknown group: lists the groups"
run migrate --group twice
expect_rc 2 "a member listed twice: exit 2"
expect_fgrep "$ERR" "[group.twice]: member 3 (mdfl_a) is listed twice" "a member listed twice: names it"
run migrate --group broken
expect_rc 2 "a group query that fails: exit 2"
expect_grep "$ERR" 'migdeck.ini:[0-9]*:[0-9]*: \[group.broken\] query: ERROR: column "no_such_column" does not exist' \
	"a group query that fails: the ini's place and the server's message"
run migrate --jobs 2
expect_rc 2 "--jobs without --group: exit 2"
run migrate --group tenants --jobs 0
expect_rc 2 "--jobs 0: exit 2"
run migrate --group tenants --dry-run
expect_rc 2 "--dry-run with --group: exit 2"

# ---- clean up ------------------------------------------------------------------------------

for d in $(qp "SELECT datname FROM pg_database WHERE datname LIKE 'mdfl\_%'"); do
	qp "DROP DATABASE $d" >/dev/null
done

echo "test_fleet.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
