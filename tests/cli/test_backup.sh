#!/bin/sh
# CLI tests of backups before production changes, `migdeck backups`,
# `migdeck restore FILE --scratch` and `migdeck log` (issue 8, "A backup
# before every production change" and "Audit"): a production target with
# backup = pg_dump refuses without confirmation and changes nothing (no
# backup either); confirmed, a pg_dump backup named for the target, version
# and time is taken once before the run's first change, restores into a
# throwaway database (a local cluster, or one on the server) whose schema
# snapshot equals `migdeck schema` taken before the change and differs
# from the one after; a backup that really fails (another session holds
# ACCESS EXCLUSIVE on a table, [backup] lock_wait_timeout = 1s), comes out
# empty or is no pg_dump archive stops the run with nothing changed
# (history, events, folders, git, no file left); rollback takes one too; a
# dry run takes none; pg_dump's command line carries no connection
# settings and no password (they travel in its environment); backups
# lists them newest first; log shows who, where, what, outcome, duration,
# commit and backup, filtered by --version and --since, in text and JSON.
#
# A real PostgreSQL (tests/pg_harness.sh), real pg_dump and pg_restore, a
# real git repository.
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ -z "${PGHOST:-}" ]; then
	echo "test_backup.sh: run me under tests/pg_harness.sh" >&2
	exit 1
fi
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
fi
T=$(mktemp -d "${MIGDECK_TEST_TMPDIR:-${TMPDIR:-/tmp}}/mdbk.XXXXXX") || exit 1
export LC_ALL=C
mkdir -p "$T/home"
export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" GIT_CONFIG_NOSYSTEM=1
unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL EMAIL \
	GIT_DIR GIT_WORK_TREE MIGDECK_CONFIG MIGDECK_TARGET MIGDECK_WORKSPACE_TRACKS \
	MIGDECK_DATABASE_PRODUCTION MIGDECK_DATABASE_BACKUP MIGDECK_BACKUP_DIR \
	MIGDECK_PG_BINDIR DATABASE_URL
PSQL=psql
[ -x "${MIGDECK_TEST_PGBIN:-}/psql" ] && PSQL=$MIGDECK_TEST_PGBIN/psql
REAL_PG_DUMP=$(command -v pg_dump)
[ -x "${MIGDECK_TEST_PGBIN:-}/pg_dump" ] && REAL_PG_DUMP=$MIGDECK_TEST_PGBIN/pg_dump
LOCKER=
cleanup() {
	[ -n "$LOCKER" ] && kill "$LOCKER" 2>/dev/null
	$PSQL -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS mdbk_pw WITH (FORCE)" \
		-c "DROP ROLE IF EXISTS md_password_user" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

. "$(dirname "$0")/common.shlib"
have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1

expect_same() { # fileA fileB description
	if cmp -s "$1" "$2"; then ok; else
		bad "$3: files differ"
		diff -u "$1" "$2" | head -n 40 | sed 's/^/  | /'
	fi
}
expect_differ() {
	if cmp -s "$1" "$2"; then bad "$3: files are the same"; else ok; fi
}
# the JSON in $OUT parses and the python expression over d prints want
expect_json() {
	if [ $have_python = 0 ]; then ok; return; fi
	got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$OUT" "$1" 2>&1)
	expect_eq "$got" "$2" "$3"
}

q_in() { $PSQL -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }
q() { q_in mdbk_prod "$1"; }
rows() { # history rows of prod, or none
	if [ "$(q "SELECT to_regclass('schema_versions') IS NULL")" = t ]; then echo none; else
		q "SELECT coalesce(string_agg(version || ':' || is_active, ',' ORDER BY id), '') FROM schema_versions"
	fi
}
events() {
	if [ "$(q "SELECT to_regclass('schema_versions_events') IS NULL")" = t ]; then echo none; else
		q "SELECT count(*) FROM schema_versions_events"
	fi
}
head_id() { git rev-parse HEAD; }
dumps() { (cd "$T/backups" 2>/dev/null && ls -A) | tr '\n' ' '; }
scratch_dbs() { q_in postgres "SELECT count(*) FROM pg_database WHERE datname LIKE 'migdeck_scratch%'"; }

$PSQL -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS mdbk_prod" \
	-c "CREATE DATABASE mdbk_prod" >"$T/newdb.out" 2>&1 || { bad "cannot create mdbk_prod"; show "$T/newdb.out"; }
q "CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL);
   INSERT INTO accounts SELECT g, 'name ' || g FROM generate_series(1, 2000) AS g;
   CREATE VIEW account_names AS SELECT name FROM accounts;
   COMMENT ON TABLE accounts IS 'the customers'" >/dev/null

W=$T/ws
mkdir -p "$W/pending" "$W/applied" "$W/archive" && cd "$W" || exit 1
git init -q . && git config user.name "Test" && git config user.email test@example.org &&
	git config commit.gpgsign false
printf 'CREATE TABLE t1 (id int);\n' >pending/V1__t1.sql
printf 'DROP TABLE t1;\n' >pending/U1__t1.sql
printf 'ALTER TABLE accounts ADD COLUMN email text;\nCREATE INDEX accounts_email ON accounts (email);\n' \
	>pending/V2__email.sql
printf 'ALTER TABLE accounts DROP COLUMN email;\n' >pending/U2__email.sql
cat >migdeck.ini <<EOF
[backup]
dir = $T/backups
lock_wait_timeout = 1s

[target.prod]
conninfo = dbname=mdbk_prod
production = true
backup = pg_dump

[target.pw]
conninfo = dbname=mdbk_pw user=md_password_user
backup = pg_dump
EOF
git add -A && git commit -qm init || exit 1

# ---- (a) production refuses without confirmation: nothing changed, no backup ----
h0=$(head_id)
run --target prod migrate
expect_rc 3 "production target without confirmation"
expect_fgrep "$ERR" "needs its name typed" "says why"
expect_no_fgrep "$ERR" "backup:" "no backup before a refusal"
run --target prod --yes migrate
expect_rc 3 "--yes is not a confirmation"
run --target prod migrate --confirm-database postgres
expect_rc 3 "a wrong database name"
expect_eq "$(rows)" "none" "refused: no history"
expect_eq "$(ls pending | tr '\n' ' ')" "U1__t1.sql U2__email.sql V1__t1.sql V2__email.sql " "refused: files in pending/"
expect_eq "$(head_id)" "$h0" "refused: git untouched"
expect_eq "$(dumps)" "" "refused: no backup file"

# ---- (b) confirmed: one backup before the first change; it restores ---------------
run --target prod schema
expect_rc 0 "schema before"
cp "$OUT" "$T/before.txt"
run --target prod --json schema
cp "$OUT" "$T/before.json"
run --target prod migrate --confirm-database mdbk_prod
expect_rc 0 "production migrate, confirmed"
cp "$ERR" "$T/migrate.err"
expect_fgrep "$ERR" "backup: pg_dump of database mdbk_prod to " "says it backs up"
expect_fgrep "$ERR" "tables, " "progress: tables and size"
expect_eq "$(grep -c '^backup: .*\.dump (.*, .* s)$' "$ERR")" "1" "one backup for the whole run (two files)"
expect_fgrep "$OUT" "Migrations complete: 2 applied" "both applied"
expect_eq "$(rows)" "1:true,2:true" "applied on prod"
B1=$(dumps | tr -d ' ')
case $B1 in
prod_0_[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z.dump) ok ;;
*) bad "backup name carries target, version and UTC time: got '$B1'" ;;
esac
expect_eq "$(stat -c %a "$T/backups/$B1" 2>&1)" "600" "backup file mode 0600"
expect_eq "$(stat -c %a "$T/backups" 2>&1)" "700" "backup folder made 0700"
expect_eq "$(head -c 5 "$T/backups/$B1")" "PGDMP" "a custom-format archive"
grep -q "backup: .*$B1" "$T/migrate.err" && ok || bad "the DONE line names the file"
expect_eq "$(q "SELECT string_agg(DISTINCT coalesce(backup_file, '-'), ',') FROM schema_versions_events WHERE action = 'apply'")" \
	"$B1" "both apply events carry the backup file"
expect_eq "$(q "SELECT string_agg(DISTINCT coalesce(target, '-'), ',') FROM schema_versions_events")" \
	"prod" "the events name the target"
run --target prod schema
cp "$OUT" "$T/after.txt"
expect_differ "$T/before.txt" "$T/after.txt" "the schema changed"

run --target prod restore "$T/backups/$B1" --scratch
expect_rc 0 "restore into a local scratch cluster"
cp "$OUT" "$T/restored.txt"
expect_same "$T/before.txt" "$T/restored.txt" "the restored snapshot equals the schema before the change"
expect_differ "$T/after.txt" "$T/restored.txt" "and differs from the schema after"
expect_fgrep "$ERR" "restore: pg_restore of " "says what it restores"
expect_fgrep "$ERR" "tables restored" "restore progress"
run --target prod restore "$B1" --scratch=server
expect_rc 0 "restore by bare name into a database on the server"
expect_same "$T/before.txt" "$OUT" "server scratch: the same snapshot"
expect_eq "$(scratch_dbs)" "0" "the scratch database is dropped"
run restore "$B1" --scratch=server
expect_rc 0 "restore without --target"
expect_fgrep "$ERR" "restore: target prod (named in the file)" "takes the target from the file name"
expect_same "$T/before.txt" "$OUT" "the same snapshot with the file's target"
run --target prod --json restore "$B1" --scratch=server
expect_rc 0 "restore --json"
if [ $have_python = 1 ]; then
	nobj=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["objects"]))' "$T/before.json")
	expect_json "d['scratch_in'] + ' ' + str(len(d['objects']))" "server $nobj" \
		"restore --json: the objects of the schema before"
	expect_json "d['objects'] == json.load(open('$T/before.json'))['objects']" "True" \
		"restore --json: the same objects"
fi

# ---- restore refusals ----------------------------------------------------------------
run --target prod restore "$B1"
expect_rc 2 "restore without --scratch"
expect_fgrep "$ERR" "restoring over a real database is out of scope" "says why"
run --target prod restore --scratch
expect_rc 2 "restore without FILE"
run --target prod restore no_such_file.dump --scratch
expect_rc 2 "restore of a missing file"
expect_fgrep "$ERR" "no_such_file.dump: cannot open" "names the file"
run --target prod restore migdeck.ini --scratch=server
expect_rc 3 "restore of a file that is no pg_dump archive"
expect_fgrep "$ERR" "migdeck.ini: not a pg_dump custom-format archive" "names the file and why"
run --target prod restore "$B1" --scratch=elsewhere
expect_rc 2 "--scratch=elsewhere"
expect_eq "$(scratch_dbs)" "0" "no scratch database left by the refusals"

# ---- (c) a backup that fails stops the run, nothing changed --------------------------
printf 'ALTER TABLE accounts ADD COLUMN note text;\n' >pending/V3__note.sql
printf 'ALTER TABLE accounts DROP COLUMN note;\n' >pending/U3__note.sql
git add pending && git commit -qm v3 || exit 1
h1=$(head_id)
r1=$(rows)
e1=$(events)
d1=$(dumps)
$PSQL -X -q -d mdbk_prod -v ON_ERROR_STOP=1 \
	-c "SET application_name = 'mdbk_locker'" \
	-c "BEGIN" -c "LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(120)" \
	>/dev/null 2>&1 &
LOCKER=$!
i=0
while [ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = 'mdbk_locker' AND l.mode = 'AccessExclusiveLock'
               AND l.relation = 'accounts'::regclass AND l.granted")" != 1 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
run --target prod migrate --confirm-database mdbk_prod
expect_rc 1 "a backup that fails stops the run"
expect_fgrep "$ERR" "backup: pg_dump failed: pg_dump: error:" "names pg_dump's error"
expect_fgrep "$ERR" "canceling statement due to statement timeout" "pg_dump's own message (lock_wait_timeout)"
expect_fgrep "$ERR" "Migrations stopped before the first one: the backup failed; nothing was changed" "the summary says nothing ran"
expect_fgrep "$ERR" "LOCK TABLE" "pg_dump's detail: the table it could not lock"
expect_no_fgrep "$OUT" "Applied" "nothing applied"
expect_eq "$(rows)" "$r1" "failed backup: history unchanged"
expect_eq "$(events)" "$e1" "failed backup: no event row"
expect_eq "$(ls pending | tr '\n' ' ')" "U3__note.sql V3__note.sql " "failed backup: V3 still in pending/"
expect_eq "$(head_id)" "$h1" "failed backup: git untouched"
expect_eq "$(git status --porcelain)" "" "failed backup: worktree clean"
expect_eq "$(dumps)" "$d1" "failed backup: no file left (no .partial either)"
# SIGTERM while pg_dump waits for the lock (lock_wait_timeout 0: no limit):
# pg_dump is stopped, its file removed, migdeck ends by the signal
$BIN --target prod -o backup.lock_wait_timeout=0 migrate --confirm-database mdbk_prod \
	>"$T/term.out" 2>"$T/term.err" </dev/null &
MPID=$!
i=0
while [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migdeck:%:pg_dump'
             AND wait_event_type = 'Lock'")" != 1 ] && [ $i -lt 150 ]; do
	sleep 0.1
	i=$((i + 1))
done
expect_eq "$(ls "$T/backups" | grep -c '\.partial$')" "1" "SIGTERM: pg_dump is writing its .partial file"
kill -TERM "$MPID"
wait "$MPID" 2>/dev/null
expect_eq "$?" "143" "SIGTERM during the backup: migdeck ends by the signal"
expect_eq "$(dumps)" "$d1" "SIGTERM: no file left"
expect_eq "$(rows)" "$r1" "SIGTERM: history unchanged"
expect_eq "$(events)" "$e1" "SIGTERM: no event row"
expect_eq "$(ls pending | tr '\n' ' ')" "U3__note.sql V3__note.sql " "SIGTERM: V3 still in pending/"
kill "$LOCKER" 2>/dev/null
wait "$LOCKER" 2>/dev/null
LOCKER=
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE application_name = 'mdbk_locker' OR application_name LIKE 'migdeck:%:pg_dump'" >/dev/null
expect_eq "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'")" \
	"0" "failed backup: the table unchanged"

# an empty backup, and one that is no pg_dump archive
mkdir -p "$T/fakebin"
printf '#!/bin/sh\nexit 0\n' >"$T/fakebin/pg_dump"
chmod +x "$T/fakebin/pg_dump"
MIGDECK_PG_BINDIR=$T/fakebin run --target prod migrate --confirm-database mdbk_prod
expect_rc 1 "an empty backup stops the run"
expect_fgrep "$ERR" "backup failed: pg_dump wrote nothing" "says so"
cat >"$T/fakebin/pg_dump" <<'EOF'
#!/bin/sh
for a in "$@"; do case $a in --file=*) printf 'not a dump\n' >"${a#--file=}" ;; esac; done
EOF
MIGDECK_PG_BINDIR=$T/fakebin run --target prod migrate --confirm-database mdbk_prod
expect_rc 1 "a backup that is no archive stops the run"
expect_fgrep "$ERR" "backup failed: pg_dump wrote no custom-format archive" "says so"
printf '#!/bin/sh\necho "pg_dump: error: connection to server failed: boom" >&2\nexit 1\n' >"$T/fakebin/pg_dump"
MIGDECK_PG_BINDIR=$T/fakebin run --target prod rollback --confirm-database mdbk_prod
expect_rc 1 "a failing backup stops a rollback too"
expect_fgrep "$ERR" "backup: pg_dump failed: pg_dump: error: connection to server failed: boom" "with pg_dump's line"
MIGDECK_PG_BINDIR=$T/nowhere run --target prod migrate --confirm-database mdbk_prod
expect_rc 1 "no pg_dump at all stops the run"
expect_fgrep "$ERR" "no pg_dump in" "says where it looked"
expect_eq "$(rows)" "$r1" "history unchanged after each of them"
expect_eq "$(events)" "$e1" "no event row after each of them"
expect_eq "$(ls pending | tr '\n' ' ')" "U3__note.sql V3__note.sql " "V3 still in pending/"
expect_eq "$(head_id)" "$h1" "git untouched"
expect_eq "$(dumps)" "$d1" "no file left"

# a dry run takes no backup; then V3 goes through
run --target prod migrate --dry-run
expect_rc 0 "a dry run"
expect_no_fgrep "$ERR" "backup:" "a dry run takes no backup"
expect_eq "$(dumps)" "$d1" "no file from a dry run"
sleep 1 # another second: another name
run --target prod migrate --confirm-database mdbk_prod
expect_rc 0 "V3 once the lock is gone"
expect_eq "$(rows)" "1:true,2:true,3:true" "V3 applied"
B3=$(cd "$T/backups" && ls -t | head -n 1)
case $B3 in prod_2_*Z.dump) ok ;; *) bad "the V3 backup names version 2 (what it holds): '$B3'" ;; esac

# ---- rollback takes a backup too ---------------------------------------------------------
sleep 1
run --target prod rollback --confirm-database mdbk_prod
expect_rc 0 "production rollback, confirmed"
expect_fgrep "$ERR" "backup: pg_dump of database mdbk_prod" "rollback backs up first"
expect_eq "$(rows)" "1:true,2:true,3:false" "V3 rolled back"
BR=$(cd "$T/backups" && ls -t | head -n 1)
case $BR in prod_3_*Z.dump) ok ;; *) bad "the rollback's backup names version 3: '$BR'" ;; esac
expect_eq "$(q "SELECT backup_file FROM schema_versions_events WHERE action = 'rollback'")" "$BR" \
	"the rollback event carries its backup"

# ---- (d) backups lists them, newest first ----------------------------------------------------
run --target prod backups
expect_rc 0 "backups"
expect_eq "$(head -n 1 "$OUT" | tr -s ' ')" "FILE TARGET VERSION TAKEN SIZE" "backups: the header"
expect_eq "$(sed -n 2p "$OUT" | cut -d' ' -f1)" "$BR" "backups: newest first"
expect_eq "$(grep -c '^prod_' "$OUT")" "3" "backups: the three prod backups"
expect_fgrep "$OUT" "$B1  prod    0        " "backups: target and version columns"
run --json backups
expect_rc 0 "backups --json"
expect_json "[b['file'] for b in d['backups']] == sorted([b['file'] for b in d['backups']], key=lambda f: f.split('_')[-1], reverse=True)" \
	"True" "backups --json: newest first"
expect_json "(d['backups'][-1]['file'], d['backups'][-1]['target'], d['backups'][-1]['version'], d['backups'][-1]['bytes'] > 0)" \
	"('$B1', 'prod', '0', True)" "backups --json: the fields"
touch "$T/backups/notes.txt" "$T/backups/prod_x.dump"
run --target prod backups
expect_eq "$(grep -c '\.dump' "$OUT")" "3" "backups: other files left out"
# an unfinished backup (what a kill -9 during pg_dump leaves): not listed,
# a note names it; --json has it apart; another target's is not this one's
printf 'PGDMP-half' >"$T/backups/prod_0_20200101T000000Z.dump.partial"
printf 'PGDMP' >"$T/backups/other_1_20200101T000000Z.dump.partial"
touch "$T/backups/prod_x.dump.partial"
run --target prod backups
expect_rc 0 "backups with an unfinished one: exit 0"
expect_eq "$(grep -c '\.dump' "$OUT") $(grep -c 'partial' "$OUT")" "3 0" "backups: the unfinished one is not in the table"
expect_fgrep "$ERR" "migdeck: note: $T/backups/prod_0_20200101T000000Z.dump.partial (10 B): an unfinished backup, not listed" \
	"backups: a note names the unfinished backup"
expect_eq "$(grep -c 'unfinished' "$ERR")" "1" "backups: only this target's unfinished one (none for a name not migdeck's)"
run --target prod --json backups
expect_json "([u['file'] for u in d['unfinished']], d['unfinished'][0]['bytes'], d['unfinished'][0]['version'], len(d['backups']))" \
	"(['prod_0_20200101T000000Z.dump.partial'], 10, '0', 3)" "backups --json: the unfinished one apart"
expect_eq "$(wc -c <"$ERR" | tr -d ' ')" "0" "backups --json: no note on stderr"
rm -f "$T/backups/prod_0_20200101T000000Z.dump.partial" "$T/backups/other_1_20200101T000000Z.dump.partial" \
	"$T/backups/prod_x.dump.partial"

# ---- the connection travels in pg_dump's environment ---------------------------------------
$PSQL -X -q -d postgres -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS mdbk_pw" -c "DROP ROLE IF EXISTS md_password_user" \
	-c "CREATE ROLE md_password_user LOGIN PASSWORD 'Bk-secret-77'" \
	-c "CREATE DATABASE mdbk_pw OWNER md_password_user" >"$T/pw.out" 2>&1 ||
	{ bad "cannot create the password role"; show "$T/pw.out"; }
cat >"$T/fakebin/pg_dump" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$T/pgdump.argv"
{
	echo "PGPASSWORD=\${PGPASSWORD:+set}"
	echo "PGDATABASE=\${PGDATABASE:-}"
	echo "PGUSER=\${PGUSER:-}"
	echo "PGAPPNAME=\${PGAPPNAME:-}"
} >"$T/pgdump.env"
exec "$REAL_PG_DUMP" "\$@"
EOF
PGPASSWORD=Bk-secret-77 MIGDECK_PG_BINDIR=$T/fakebin run --target pw migrate --to 1
expect_rc 0 "a backup as a role that needs a password"
expect_no_fgrep "$T/pgdump.argv" "Bk-secret-77" "no password on pg_dump's command line"
expect_no_fgrep "$T/pgdump.argv" "mdbk_pw" "no database on its command line"
expect_no_fgrep "$T/pgdump.argv" "md_password_user" "no user on its command line"
expect_eq "$(grep -v '^--file=' "$T/pgdump.argv" | tr '\n' ' ')" \
	"--format=custom --verbose --no-password --lock-wait-timeout=1000ms " "pg_dump's arguments"
expect_eq "$(tr '\n' ' ' <"$T/pgdump.env")" \
	"PGPASSWORD=set PGDATABASE=mdbk_pw PGUSER=md_password_user PGAPPNAME=migdeck:$(id -un):pg_dump " \
	"the connection in its environment (the target's, not the harness's PG* variables)"
expect_no_fgrep "$ERR" "Bk-secret-77" "no password in the output"
PGPASSWORD=Bk-secret-77 run --target pw --json log
expect_no_fgrep "$OUT" "Bk-secret-77" "no password in the log"
expect_json "d['events'][0]['backup_file'].startswith('pw_0_')" "True" "the pw target's backup in its event"
run --target pw backups
expect_eq "$(grep -c '^pw_0_' "$OUT") $(grep -c '^prod_' "$OUT")" "1 0" "backups --target: that target's only"
PGPASSWORD=wrong-pw run --target pw migrate
expect_rc 5 "a wrong password"
expect_no_fgrep "$ERR" "wrong-pw" "the wrong password is not printed"

# ---- (e) log --------------------------------------------------------------------------------
run --target prod log
expect_rc 0 "log"
expect_eq "$(head -n 1 "$OUT" | tr -s ' ')" "AT TARGET WHO FROM ACTION VERSION OUTCOME DURATION COMMIT BACKUP" "log: the header"
sed -n 2p "$OUT" >"$T/first"
expect_fgrep "$T/first" "  rollback  " "log: newest first (the rollback)"
expect_fgrep "$T/first" "$BR" "log: the rollback's backup"
expect_eq "$(grep -c "apply .* $B1\$" "$OUT")" "2" "log: the apply events with their backup file"
expect_fgrep "$OUT" "$(git rev-parse --short=12 HEAD)" "log: the git commit"
expect_fgrep "$OUT" "postgres ($(id -un))" "log: who"
expect_fgrep "$OUT" "$(hostname) (migdeck:$(id -un))" "log: from where"
run --target prod --json log
expect_rc 0 "log --json"
expect_json "[(e['action'], e['version'], e['backup_file']) for e in d['events']][-2:]" \
	"[('apply', '2', '$B1'), ('apply', '1', '$B1')]" "log --json: oldest last"
expect_json "sorted(d['events'][0].keys()) == sorted(['id','at','target','action','version','script','outcome','error','detail','duration_ms','db_user','os_user','client_host','client_addr','application_name','git_commit','backup_file'])" \
	"True" "log --json: the fields"
run --target prod log --version 1 --json
expect_json "sorted(set(e['version'] for e in d['events']))" "['1']" "log --version"
run --target prod log --since 1h --json
expect_json "len(d['events'])" "$(q "SELECT count(*) FROM schema_versions_events")" "log --since 1h: all of them"
run --target prod log --since '2000-01-01 00:00' --json
expect_json "len(d['events']) > 0" "True" "log --since a date"
run --target prod log --since 2999-01-01
expect_rc 0 "log --since in the future"
expect_eq "$(cat "$OUT")" "No events" "log: nothing newer"
q "UPDATE schema_versions_events SET at = at - interval '3 days' WHERE action = 'apply' AND version = '1'" >/dev/null
run --target prod log --since 2d --json
expect_json "[e['version'] for e in d['events'] if e['action'] == 'apply']" "['3', '2']" "log --since 2d leaves out an older event"
run --target prod log --since yesterdayish
expect_rc 2 "log --since bad"
expect_fgrep "$ERR" "--since yesterdayish: neither a date/time" "says what is wrong"
run --target prod log --since 3x
expect_rc 2 "log --since 3x"
run --target prod log --steps 2
expect_rc 2 "log --steps is not an option of log"
# an event table from before the new columns: they read as null
q "ALTER TABLE schema_versions_events RENAME COLUMN backup_file TO old_backup_file" >/dev/null
run --target prod --json log
expect_rc 0 "log on an older event table"
expect_json "set(e['backup_file'] for e in d['events'])" "{None}" "log: a missing column reads null"
q "ALTER TABLE schema_versions_events RENAME COLUMN old_backup_file TO backup_file" >/dev/null

echo "test_backup.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
