#!/bin/sh
# CLI tests of targets (issue 8, "Targets"): [target.NAME] sections chosen
# by --target, $MIGDECK_TARGET or [workspace] tracks; a target's keys beat
# the [database]/[run] sections, the environment (PG* variables included)
# but not -o/-d; the folders follow the tracked target only (another
# target's runs leave every file where it is and commit nothing); a
# production target refuses without its name confirmed, changing nothing;
# connect_retries on a target announces each retry; bad target settings
# name file, line and column.
#
# A real PostgreSQL (tests/pg_harness.sh) and a real git repository.
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ -z "${PGHOST:-}" ]; then
	echo "test_targets.sh: run me under tests/pg_harness.sh" >&2
	exit 1
fi
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
fi
T=$(mktemp -d "${MIGDECK_TEST_TMPDIR:-${TMPDIR:-/tmp}}/mdtg.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT
trap 'rm -rf "$T"; exit 143' TERM
export LC_ALL=C
mkdir -p "$T/home"
export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" GIT_CONFIG_NOSYSTEM=1
unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL EMAIL \
	GIT_DIR GIT_WORK_TREE MIGDECK_CONFIG MIGDECK_TARGET MIGDECK_WORKSPACE_TRACKS \
	MIGDECK_DATABASE_PRODUCTION DATABASE_URL
PSQL=psql
[ -x "${MIGDECK_TEST_PGBIN:-}/psql" ] && PSQL=$MIGDECK_TEST_PGBIN/psql
. "$(dirname "$0")/common.shlib"

q_in() { $PSQL -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }
versions() {
	if [ "$(q_in "$1" "SELECT to_regclass('schema_versions') IS NULL")" = t ]; then
		echo none
	else
		q_in "$1" "SELECT coalesce(string_agg(version, ',' ORDER BY version::int), '') FROM schema_versions WHERE success AND is_active"
	fi
}
ncommits() { git rev-list --count HEAD 2>/dev/null || echo 0; }

for d in mdtg_stage mdtg_prod mdtg_other; do
	$PSQL -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $d" \
		-c "CREATE DATABASE $d" >"$T/newdb.out" 2>&1 || { bad "cannot create $d"; show "$T/newdb.out"; }
done

W=$T/ws
mkdir -p "$W/pending" "$W/applied" "$W/archive" && cd "$W" || exit 1
git init -q . && git config user.name "Test" && git config user.email test@example.org &&
	git config commit.gpgsign false
printf 'CREATE TABLE t1 (id int);\n' >pending/V1__t1.sql
printf 'CREATE TABLE t2 (id int);\n' >pending/V2__t2.sql
cat >migdeck.ini <<'EOF'
[database]
conninfo = dbname=mdtg_other

[workspace]
tracks = stage

[target.stage]
conninfo = dbname=mdtg_stage

[target.prod]
conninfo = dbname=mdtg_prod
production = true
lock_timeout = 4s
EOF
git add -A && git commit -qm init || exit 1

# ---- the tracked target is the default; its runs move and commit --------------
run status
expect_rc 0 "status on the tracked target"
expect_fgrep "$OUT" "Target:   stage" "status names the target in force"
expect_no_fgrep "$OUT" "folders follow" "the tracked target is not told the folders follow another"
run config
expect_fgrep "$OUT" "database.conninfo = dbname=mdtg_stage  (target stage migdeck.ini:8)" \
	"config shows the target's value and where it comes from"
c0=$(ncommits)
run migrate
expect_rc 0 "migrate on the tracked target"
expect_eq "$(versions mdtg_stage)" "1,2" "both applied on stage"
expect_eq "$(versions mdtg_other)" "none" "[database] untouched (the target won)"
expect_eq "$(ls applied | tr '\n' ' ')" "V1__t1.sql V2__t2.sql " "files moved to applied/"
expect_eq "$(ncommits)" "$((c0 + 2))" "one commit per move on the tracked target"

# ---- production: refused without its name, nothing changed ------------------
c1=$(ncommits)
run --target prod migrate
expect_rc 3 "production target without confirmation"
expect_fgrep "$ERR" "production database mdtg_prod needs its name typed" "says why"
expect_fgrep "$ERR" "nothing was changed" "says nothing changed"
expect_eq "$(q_in mdtg_prod "SELECT count(*) FROM pg_tables WHERE tablename IN ('t1','t2','schema_versions')")" "0" \
	"nothing created on prod"
expect_eq "$(ncommits)" "$c1" "no commit"
run --target prod migrate --confirm-database mdtg_stage
expect_rc 3 "a wrong confirmation"
expect_fgrep "$ERR" "the database is mdtg_prod" "names the right database"
run --target prod migrate --confirm-database mdtg_prod
expect_rc 0 "production target with confirmation"
expect_eq "$(versions mdtg_prod)" "1,2" "applied on prod"
expect_eq "$(q_in mdtg_prod "SHOW lock_timeout")" "0" "(session default untouched)"
run --target prod status
expect_fgrep "$OUT" "Target:   prod (production); the folders follow stage: files stay where they are" \
	"status on another target says the folders follow the tracked one"
run --target prod --json status
expect_fgrep "$OUT" '"target_name":"prod","production":true,"tracked":false' "status --json names the target"

# ---- another target leaves the files where they are ------------------------------
printf 'CREATE TABLE t3 (id int);\n' >pending/V3__t3.sql
git add pending/V3__t3.sql && git commit -qm v3 || exit 1
c2=$(ncommits)
run --target prod migrate --confirm-database mdtg_prod
expect_rc 0 "apply V3 on prod"
expect_eq "$(versions mdtg_prod)" "1,2,3" "V3 on prod"
expect_eq "$(ls pending)" "V3__t3.sql" "V3 stays in pending/: the folders follow stage"
expect_eq "$(ncommits)" "$c2" "nothing committed for an untracked target"
expect_eq "$(q_in mdtg_prod "SELECT git_commit FROM schema_versions WHERE version = '3'")" "$(git rev-parse HEAD)" \
	"the history row of an untracked target records HEAD (no move commit comes)"
run --target prod status
expect_no_fgrep "$OUT" "misplaced" "no file is misplaced from prod's point of view"
MIGDECK_TARGET=stage run status
expect_fgrep "$OUT" "Target:   stage" "\$MIGDECK_TARGET chooses"
expect_fgrep "$OUT" "pending" "V3 is still pending on stage"
run migrate
expect_rc 0 "stage catches up"
expect_eq "$(ls applied | tr '\n' ' ')" "V1__t1.sql V2__t2.sql V3__t3.sql " "now V3 moves"
expect_eq "$(ncommits)" "$((c2 + 1))" "and the move is committed"

# ---- the environment and flags against a target -----------------------------------
PGDATABASE=mdtg_other run --target stage status
expect_fgrep "$OUT" "mdtg_stage" "a target's conninfo beats PGDATABASE"
run --target stage -d "dbname=mdtg_other" status
expect_fgrep "$OUT" "mdtg_other" "-d beats the target"
run --target prod -o run.lock_timeout=7s config
expect_fgrep "$OUT" "run.lock_timeout = 7s  (flag)" "-o beats the target"
run --target prod config
expect_fgrep "$OUT" "run.lock_timeout = 4s  (target prod migdeck.ini:13)" "the target beats [run]"

# ---- bad input: nothing touched ---------------------------------------------------
run --target qa migrate
expect_rc 2 "an unknown target"
expect_fgrep "$ERR" "--target qa: no [target.qa] in the settings (targets: stage, prod)" \
	"the message lists the targets"
cp migdeck.ini good.ini
printf '[target.bad]\nconninfo = dbname=x\nstatement_timeout = soon\n' >>migdeck.ini
run status
expect_rc 2 "a bad value in a target"
expect_fgrep "$ERR" "migdeck.ini:16:21: [target.bad] statement_timeout:" "file, line, column and section"
cp good.ini migdeck.ini
printf '[group.g]\ntargets = stage, qa\n' >>migdeck.ini
run status
expect_rc 2 "a group naming an unknown target"
expect_fgrep "$ERR" "migdeck.ini:15:11: [group.g] targets: no [target.qa]" "names the group line"
cp good.ini migdeck.ini

# ---- a tenant schema on a target: search_path, ${schema}, its own history -----------
mkdir -p "$T/tws/pending" "$T/tws/applied" && cd "$T/tws" || exit 1
$PSQL -X -q -d mdtg_other -c "CREATE SCHEMA acme" >/dev/null
printf 'CREATE TABLE orders (id int);\nCOMMENT ON TABLE orders IS $$for ${schema}$$;\n' >pending/V1__orders.sql
printf 'CREATE INDEX CONCURRENTLY orders_id ON orders (id);\n' >pending/V2__orders_id.sql
printf '[target.acme]\nconninfo = dbname=mdtg_other\nschema = acme\n[git]\ncommit = off\n' >migdeck.ini
run --target acme migrate
expect_rc 0 "migrate a tenant schema"
expect_eq "$(q_in mdtg_other "SELECT to_regclass('acme.orders') IS NOT NULL, to_regclass('public.orders') IS NULL")" "t|t" \
	"an unqualified name lands in the tenant schema"
expect_eq "$(q_in mdtg_other "SELECT obj_description('acme.orders'::regclass)")" "for acme" "\${schema} is the tenant schema"
expect_eq "$(q_in mdtg_other "SELECT to_regclass('acme.orders_id') IS NOT NULL")" "t" \
	"a statement outside a transaction uses the tenant schema too"
expect_eq "$(q_in mdtg_other "SELECT count(*) FROM acme.schema_versions WHERE success")" "2" "the history lives in the tenant schema"
expect_eq "$(q_in mdtg_other "SELECT to_regclass('public.schema_versions') IS NULL")" "t" "and not in public"
cd "$W" || exit 1

# ---- connect retries on a target: a message each time ---------------------------
printf '[target.down]\nconninfo = host=%s port=1 dbname=x connect_timeout=2\nconnect_retries = 2\nconnect_retries_interval = 1\n' \
	"$T" >>migdeck.ini
run --target down status
expect_rc 5 "a target that does not answer"
expect_eq "$(grep -c 'migdeck: cannot connect (.*): retry [0-9] of 2 in 1 s$' "$ERR")" "2" \
	"each retry is announced"
cp good.ini migdeck.ini

finish test_targets.sh
