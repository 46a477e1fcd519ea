#!/bin/sh
# CLI tests of the migration engine on a real PostgreSQL (issue 3, "Proof"):
# status, migrate, rollback, validate, create, baseline and repair on each
# naming convention and on a single-folder project; a failing migration
# changes nothing; two runners never both apply; a rollback round trip
# restores the schema; kill -9 between COMMIT and rename heals; a lock held
# by another session times out, retries and succeeds; bad input is refused
# with a clear message and nothing changed; a file with its own BEGIN/COMMIT
# that records itself in the history table.
#
# Runs under tests/pg_harness.sh with MIGDECK_BIN set.  Every scenario has a
# database of its own (created here, named with -d, which wins over the PG*
# variables the harness exports) and a workspace of its own.
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ -z "${PGHOST:-}" ]; then
	echo "test_engine.sh: run me under tests/pg_harness.sh" >&2
	exit 1
fi
VG=0
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
	VG=1
fi
T=$(mktemp -d "${MIGDECK_TEST_TMPDIR:-${TMPDIR:-/tmp}}/mdeng.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT
trap 'rm -rf "$T"; exit 143' TERM
export LC_ALL=C
. "$(dirname "$0")/common.shlib"
have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1
have_git=0
# the server's own client programs when the harness names them (the same
# version as the server, and no wrapper script to start)
PSQL=psql
PG_DUMP=pg_dump
[ -x "${MIGDECK_TEST_PGBIN:-}/psql" ] && PSQL=$MIGDECK_TEST_PGBIN/psql
[ -x "${MIGDECK_TEST_PGBIN:-}/pg_dump" ] && PG_DUMP=$MIGDECK_TEST_PGBIN/pg_dump
command -v git >/dev/null 2>&1 && have_git=1

# ---- helpers ------------------------------------------------------------------


# m ARGS...: migdeck on the scenario's database $DB
m() { run -d "dbname=$DB" "$@"; }

expect_rc() { # want description
	if [ "$rc" -eq "$1" ]; then
		ok
	else
		bad "$2: exit $rc, want $1"
		show "$OUT"
		show "$ERR"
	fi
}
expect_last_line() { # file line description
	last=$(tail -n 1 "$1")
	if [ "$last" = "$2" ]; then ok; else
		bad "$3: last line '$last', want '$2'"
		show "$1"
	fi
}
expect_ne() { # got unwanted description
	if [ "$1" != "$2" ]; then ok; else bad "$3: got '$1' (must differ)"; fi
}

# q SQL: one value (or rows, |-separated) from $DB
q() { $PSQL -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1" 2>&1; }

# newdb NAME: a fresh database $DB
newdb() {
	DB=mdeng_$1
	if $PSQL -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" \
		-c "CREATE DATABASE $DB" >"$T/newdb.out" 2>&1; then ok; else
		bad "cannot create database $DB"
		show "$T/newdb.out"
	fi
}

# newws NAME: a fresh workspace $T/NAME with pending/ applied/ archive/; cd there
newws() {
	W=$T/$1
	rm -rf "$W"
	mkdir -p "$W/pending" "$W/applied" "$W/archive" && cd "$W" || exit 1
}

# a table exists in $DB: t / f
has_table() { q "SELECT to_regclass('public.$1') IS NOT NULL"; }
has_column() { q "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass('public.$1') AND attname = '$2' AND NOT attisdropped"; }

# listing of one folder of the workspace, one name a line
lsf() { ls -1 "$1" 2>/dev/null | tr '\n' ' '; }
# sorted words
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }

# snap NAME: the schema of $DB ($PG_DUMP --schema-only, without pg_dump's
# random \restrict lines), the listing of the workspace (cwd), the history
# rows and the event count.
snap() {
	$PG_DUMP --schema-only -d "$DB" 2>&1 | grep -v -e '^\\restrict' -e '^\\unrestrict' >"$T/$1.dump"
	ls -R . >"$T/$1.ls"
	q "SELECT count(*) FROM schema_versions" >"$T/$1.count"
	q "SELECT version, is_active, rolled_back_at IS NULL, checksum, success, kind, applied_at
	   FROM schema_versions ORDER BY id" >"$T/$1.rows"
}
# same_snap A B description: the two snapshots are equal
same_snap() {
	for k in dump ls count rows; do
		if cmp -s "$T/$1.$k" "$T/$2.$k"; then ok; else
			bad "$3: $k changed"
			diff "$T/$1.$k" "$T/$2.$k" | head -n 30 | sed 's/^/  | /'
		fi
	done
}

# jstates: "file=state ..." of each migration in $OUT (status --json); the
# JSON must parse when python3 is there.
jstates() {
	if [ $have_python = 1 ]; then
		python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s=%s%s" % (m["file"], m["state"], "(misplaced->%s)" % m["want_folder"] if m["misplaced"] else "")
               for m in d["migrations"]))' "$OUT" 2>&1
	else
		sed -n 's/.*"file":"\([^"]*\)".*"state":"\([^"]*\)".*"want_folder":"\([^"]*\)","misplaced":\([a-z]*\).*/\1=\2|\3|\4/p' "$OUT" |
			awk -F'|' '{ s = $1; if ($3 == "true") s = s "(misplaced->" $2 ")"; printf "%s%s", n++ ? " " : "", s } END { print "" }'
	fi
}
# the state word of a line of `status` text for a version
status_state() { # version
	awk -v v="$1" '$1 == v { print $2 ($2 == "rolled" ? " " $3 : ""); exit }' "$OUT"
}

# the Applied: lines of $OUT, as "name name ..."; each must carry "(N ms)"
applied_names() { sed -n 's/^Applied: \(.*\) ([0-9][0-9]* ms)$/\1/p' "$OUT" | tr '\n' ' '; }

# the git blob id of a file (LF endings), when git is there
blob() { git hash-object --no-filters "$1"; }

# ---- 1. each command on each naming convention -----------------------------------

# style_files STYLE: set F1..F3 (forward files, in version order), R1..R3
# (their rollbacks), V1..V3 (versions as written), S1..S3 (stems), P (table
# prefix), X (extra files: a repeatable) and write them into pending/.
style_files() {
	X=""
	case $1 in
	flyway)
		P=fw
		# 2_10 is version 2.10: after 2 (as a string it would sort before V2__b)
		F1=V1__a.sql R1=U1__a.sql V1=1 S1=V1__a
		F2=V2__b.sql R2=U2__b.sql V2=2 S2=V2__b
		F3=V2_10__c.sql R3=U2_10__c.sql V3=2_10 S3=V2_10__c
		X=R__views.sql
		printf 'CREATE OR REPLACE VIEW fw_v AS SELECT 1 AS one;\n' >pending/$X
		;;
	numbered)
		P=nb
		# numeric order: 1000 after 999; both rollback spellings
		F1=001_a.sql R1=001_rollback_a.sql V1=001 S1=001_a
		F2=999_b.sql R2=999_b_rollback.sql V2=999 S2=999_b
		F3=1000_c.sql R3=1000_rollback_c.sql V3=1000 S3=1000_c
		;;
	dated)
		P=dt
		F1=20230601_a.sql R1=20230601_rollback_a.sql V1=20230601 S1=20230601_a
		F2=20230602_b.sql R2=20230602_rollback_b.sql V2=20230602 S2=20230602_b
		F3=20230615_c.sql R3=20230615_rollback_c.sql V3=20230615 S3=20230615_c
		;;
	timestamped)
		P=ts
		F1=20241227_120000_a.sql R1=20241227_120000_a_rollback.sql V1=20241227_120000 S1=20241227_120000_a
		F2=20241227_130000_b.sql R2=20241227_130000_b_rollback.sql V2=20241227_130000 S2=20241227_130000_b
		F3=20241228_090000_c.sql R3=20241228_090000_c_rollback.sql V3=20241228_090000 S3=20241228_090000_c
		;;
	esac
	for i in 1 2 3; do
		eval "f=\$F$i r=\$R$i"
		suf=$(echo $i | tr 123 abc)
		printf -- '-- %s migration %s\nCREATE TABLE %s_%s (id int PRIMARY KEY, note text);\n' "$1" "$i" "$P" "$suf" >"pending/$f"
		printf 'DROP TABLE %s_%s;\n' "$P" "$suf" >"pending/$r"
	done
}

# check_rolled_back N STEP: migration N was just rolled back by STEP
check_rolled_back() {
	eval "f=\$F$1 r=\$R$1 v=\$V$1"
	suf=$(echo "$1" | tr 123 abc)
	expect_rc 0 "$STYLE: $2"
	expect_grep "$OUT" "^Rolled back: $r ([0-9]* ms)$" "$STYLE: $2 names the rollback file"
	expect_line "$OUT" "Rollback complete: 1 rolled back" "$STYLE: $2 summary"
	[ -f "pending/$f" ] && [ -f "pending/$r" ] && [ ! -e "applied/$f" ] && [ ! -e "applied/$r" ] && ok ||
		bad "$STYLE: $2: $f and $r not back in pending/ (pending: $(lsf pending); applied: $(lsf applied))"
	expect_eq "$(has_table "${P}_$suf")" f "$STYLE: $2 drops ${P}_$suf"
	expect_eq "$(q "SELECT is_active, rolled_back_at IS NOT NULL FROM schema_versions WHERE version = '$v'")" \
		"f|t" "$STYLE: $2: history row of $v inactive with rolled_back_at"
	expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'rollback' AND version = '$v' AND outcome = 'ok'")" \
		1 "$STYLE: $2: a rollback event for $v"
}

style_test() {
	STYLE=$1
	newdb "$STYLE"
	newws "ws_$STYLE"
	style_files "$STYLE"
	nfwd=3
	[ -n "$X" ] && nfwd=4

	# status before anything ran
	m status
	expect_rc 0 "$STYLE: status"
	expect_fgrep "$OUT" "not created yet" "$STYLE: status says the history table does not exist yet"
	for v in "$V1" "$V2" "$V3"; do
		expect_eq "$(status_state "$v")" pending "$STYLE: status shows $v pending"
	done
	expect_line "$OUT" "0 applied, $nfwd to run, $nfwd listed" "$STYLE: status summary"
	m status --json
	expect_rc 0 "$STYLE: status --json"
	want="pending/$F1=pending pending/$F2=pending pending/$F3=pending"
	[ -n "$X" ] && want="$want pending/$X=pending"
	expect_eq "$(jstates)" "$want" "$STYLE: status --json states, in version order"
	expect_fgrep "$OUT" "\"rollback\":\"pending/$R2\"" "$STYLE: status --json names the rollback pair"

	# migrate
	m migrate
	expect_rc 0 "$STYLE: migrate"
	want="$F1 $F2 $F3 "
	[ -n "$X" ] && want="$want$X "
	expect_eq "$(applied_names)" "$want" "$STYLE: migrate prints 'Applied: <file> (<n> ms)' in version order"
	expect_last_line "$OUT" "Migrations complete: $nfwd applied, 0 skipped, $nfwd total" "$STYLE: migrate summary"
	expect_eq "$(lsf pending)" "" "$STYLE: pending/ empty after migrate"
	expect_eq "$(lsf applied)" "$(sorted "$F1" "$R1" "$F2" "$R2" "$F3" "$R3" $X)" \
		"$STYLE: forward files and their rollback pairs moved to applied/"
	expect_eq "$(has_table "${P}_a")$(has_table "${P}_b")$(has_table "${P}_c")" ttt "$STYLE: tables created"
	expect_eq "$(q "SELECT string_agg(version || ':' || kind || ':' || is_active || ':' || success, ' ' ORDER BY id) FROM schema_versions")" \
		"$V1:versioned:true:true $V2:versioned:true:true $V3:versioned:true:true${X:+ ${X%.sql}:repeatable:true:true}" \
		"$STYLE: history rows"
	if [ $have_git = 1 ]; then
		expect_eq "$(q "SELECT checksum FROM schema_versions WHERE version = '$V2'")" "$(blob "applied/$F2")" \
			"$STYLE: recorded checksum is the git blob id"
	fi

	m status
	expect_rc 0 "$STYLE: status after migrate"
	for v in "$V1" "$V2" "$V3"; do
		expect_eq "$(status_state "$v")" applied "$STYLE: status shows $v applied"
	done
	expect_eq "$(awk -v v="$V2" '$1 == v { print $4 }' "$OUT")" ok "$STYLE: status checksum ok"
	m status --json
	want="applied/$F1=applied applied/$F2=applied applied/$F3=applied"
	[ -n "$X" ] && want="$want applied/$X=applied"
	expect_eq "$(jstates)" "$want" "$STYLE: status --json after migrate"

	m validate
	expect_rc 0 "$STYLE: validate"
	expect_fgrep "$OUT" "Validation passed" "$STYLE: validate says passed"

	# migrate again: nothing to do
	m migrate
	expect_rc 0 "$STYLE: migrate with nothing pending"
	expect_last_line "$OUT" "Migrations complete: 0 applied, $nfwd skipped, $nfwd total" "$STYLE: nothing to do"

	# rollback three ways
	m rollback --steps 1
	expect_rc 3 "$STYLE: rollback without --yes and without a terminal is refused"
	expect_eq "$(has_table "${P}_c")" t "$STYLE: refused rollback changed nothing"
	m rollback --steps 1 --yes
	check_rolled_back 3 "rollback --steps 1"
	m rollback --version "$V2" --yes
	check_rolled_back 2 "rollback --version $V2"
	m rollback --version "$S1" --yes
	check_rolled_back 1 "rollback --version $S1"
	m status
	for v in "$V1" "$V2" "$V3"; do
		expect_eq "$(status_state "$v")" "rolled back" "$STYLE: status shows $v rolled back"
	done
	m status --json
	want="pending/$F1=rolled back pending/$F2=rolled back pending/$F3=rolled back"
	[ -n "$X" ] && want="$want applied/$X=applied"
	expect_eq "$(jstates)" "$want" "$STYLE: status --json after rollbacks"

	# applied again after the rollbacks: rows reactivated, not duplicated
	m migrate
	expect_rc 0 "$STYLE: migrate after rollbacks"
	expect_eq "$(applied_names)" "$F1 $F2 $F3 " "$STYLE: re-applies the rolled back migrations"
	expect_last_line "$OUT" "Migrations complete: 3 applied, $((nfwd - 3)) skipped, $nfwd total" "$STYLE: re-apply summary"
	expect_eq "$(q "SELECT count(*), bool_and(is_active), bool_and(rolled_back_at IS NULL) FROM schema_versions")" \
		"$nfwd|t|t" "$STYLE: one active row per version after re-apply"

	# create: the next version per style, with a header
	today=$(date -u +%Y%m%d)
	t0=$(date -u +%Y%m%d_%H%M%S)
	m create new_thing
	t1=$(date -u +%Y%m%d_%H%M%S)
	expect_rc 0 "$STYLE: create"
	cf=$(sed -n 's/^Created: pending\/\(.*\)$/\1/p' "$OUT" | sed -n 1p)
	cr=$(sed -n 's/^Created: pending\/\(.*\)$/\1/p' "$OUT" | sed -n 2p)
	case $STYLE in
	flyway) cv=3 ;;
	numbered) cv=1001 ;;
	dated) cv=$today ;;
	timestamped)
		cv=${cf%_new_thing.sql}
		case $cv in
		[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]_[0-9][0-9][0-9][0-9][0-9][0-9])
			if [ "$(printf '%s\n' "$t0" "$cv" "$t1" | sort | tr '\n' ' ')" = "$t0 $cv $t1 " ]; then ok; else
				bad "$STYLE: create version $cv not between $t0 and $t1"
			fi
			;;
		*) bad "$STYLE: create: '$cf' is not YYYYMMDD_HHMMSS_new_thing.sql" ;;
		esac
		;;
	esac
	case $STYLE in
	flyway) want="V${cv}__new_thing.sql U${cv}__new_thing.sql" ;;
	timestamped) want="${cv}_new_thing.sql ${cv}_new_thing_rollback.sql" ;;
	*) want="${cv}_new_thing.sql ${cv}_rollback_new_thing.sql" ;;
	esac
	expect_eq "$cf $cr" "$want" "$STYLE: create names the next version"
	if [ -f "pending/$cf" ] && [ -f "pending/$cr" ]; then
		ok
		expect_line "pending/$cf" "-- Migration: $cf" "$STYLE: create header names the file"
		expect_line "pending/$cf" "-- Description: new_thing" "$STYLE: create header description"
		expect_grep "pending/$cf" "^-- Created: [0-9-]* [0-9:]* UTC$" "$STYLE: create header date"
		expect_line "pending/$cr" "-- Rollback of: $cf" "$STYLE: create rollback header"
		m status
		expect_eq "$(status_state "$cv")" pending "$STYLE: status lists the new file as pending"
		rm -f "pending/$cf" "pending/$cr"
	else
		bad "$STYLE: create wrote no files ($(lsf pending))"
	fi

	# repair: a hand-edited applied file
	old=$(q "SELECT checksum FROM schema_versions WHERE version = '$V1'")
	printf 'CREATE TABLE %s_a (id int PRIMARY KEY, note text, extra int);\n' "$P" >"applied/$F1"
	m validate
	expect_rc 3 "$STYLE: validate on a hand-edited applied file"
	expect_fgrep "$ERR" "applied/$F1: changed since it was applied" "$STYLE: validate names the edited file"
	m migrate
	expect_rc 3 "$STYLE: migrate refuses while a file drifted"
	m repair
	expect_rc 3 "$STYLE: repair without --yes and without a terminal is refused"
	expect_eq "$(q "SELECT checksum FROM schema_versions WHERE version = '$V1'")" "$old" "$STYLE: refused repair kept the checksum"
	m repair --yes
	expect_rc 0 "$STYLE: repair --yes"
	expect_line "$OUT" "Realigned: $F1" "$STYLE: repair realigns the edited file"
	new=$(q "SELECT checksum FROM schema_versions WHERE version = '$V1'")
	expect_ne "$new" "$old" "$STYLE: repair changed the recorded checksum"
	[ $have_git = 1 ] && expect_eq "$new" "$(blob "applied/$F1")" "$STYLE: realigned checksum is the file's blob id"
	expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'repair' AND version = '$V1'")" 1 \
		"$STYLE: a repair event"
	m validate
	expect_rc 0 "$STYLE: validate after repair"

	# repair: a file moved back to pending/ by hand
	mv "applied/$F2" "applied/$R2" pending/
	m status
	expect_fgrep "$OUT" "misplaced: belongs in applied/" "$STYLE: status shows the misplaced file"
	expect_eq "$(status_state "$V2")" applied "$STYLE: misplaced file is still applied (the database says so)"
	m status --json
	want="applied/$F1=applied pending/$F2=applied(misplaced->applied) applied/$F3=applied"
	[ -n "$X" ] && want="$want applied/$X=applied"
	expect_eq "$(jstates)" "$want" "$STYLE: status --json misplaced"
	m validate
	expect_rc 3 "$STYLE: validate on a misplaced file"
	expect_fgrep "$ERR" "pending/$F2: misplaced" "$STYLE: validate names the misplaced file"
	m repair --yes
	expect_rc 0 "$STYLE: repair moves the misplaced file"
	expect_line "$OUT" "Moved: pending/$F2 to applied/" "$STYLE: repair says what it moved"
	[ -f "applied/$F2" ] && [ -f "applied/$R2" ] && [ ! -e "pending/$F2" ] && ok ||
		bad "$STYLE: repair did not move $F2 and $R2 (pending: $(lsf pending))"
	m validate
	expect_rc 0 "$STYLE: validate after the move"

	# baseline on a fresh database and a fresh copy of the files
	newdb "${STYLE}_bl"
	newws "ws_${STYLE}_bl"
	style_files "$STYLE"
	m baseline --version "$V2"
	expect_rc 0 "$STYLE: baseline --version $V2"
	expect_line "$OUT" "Baselined: $F1" "$STYLE: baseline lists $F1"
	expect_line "$OUT" "Baselined: $F2" "$STYLE: baseline lists $F2"
	expect_no_fgrep "$OUT" "$F3" "$STYLE: baseline stops at $V2"
	expect_last_line "$OUT" "Baseline complete: 2 recorded as applied up to $V2" "$STYLE: baseline summary"
	expect_eq "$(q "SELECT string_agg(version || ':' || kind, ' ' ORDER BY id) FROM schema_versions")" \
		"$V1:baseline $V2:baseline" "$STYLE: baseline rows of kind baseline"
	expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'baseline'")" 2 "$STYLE: baseline events"
	expect_eq "$(has_table "${P}_a")$(has_table "${P}_b")" ff "$STYLE: baseline ran nothing"
	expect_eq "$(lsf applied)" "$(sorted "$F1" "$R1" "$F2" "$R2")" "$STYLE: baseline moves the recorded files"
	m status
	expect_eq "$(status_state "$V1") $(status_state "$V2") $(status_state "$V3")" "applied applied pending" \
		"$STYLE: status after baseline"
	m migrate
	expect_rc 0 "$STYLE: migrate after baseline"
	want="$F3 "
	[ -n "$X" ] && want="$want$X "
	expect_eq "$(applied_names)" "$want" "$STYLE: migrate after baseline applies only what is above it"
	expect_last_line "$OUT" "Migrations complete: $((nfwd - 2)) applied, 2 skipped, $nfwd total" \
		"$STYLE: summary after baseline"
	expect_eq "$(has_table "${P}_a")$(has_table "${P}_c")" ft "$STYLE: after baseline only ${P}_c was created"
}

for s in flyway numbered dated timestamped; do
	style_test $s
done

# Flyway repeatables run again when their checksum changes
DB=mdeng_flyway
cd "$T/ws_flyway" || exit 1
printf 'CREATE OR REPLACE VIEW fw_v AS SELECT 1 AS one, 2 AS two;\n' >applied/R__views.sql
m status
expect_fgrep "$OUT" "changed: runs again" "flyway: status shows the changed repeatable"
m migrate
expect_rc 0 "flyway: migrate a changed repeatable"
expect_eq "$(applied_names)" "R__views.sql " "flyway: only the repeatable runs again"
expect_eq "$(has_column fw_v two)" 1 "flyway: the new view definition is in place"
expect_eq "$(q "SELECT count(*) FROM schema_versions WHERE version = 'R__views'")" 1 "flyway: one row for the repeatable"
if [ $have_git = 1 ]; then
	expect_eq "$(q "SELECT checksum FROM schema_versions WHERE version = 'R__views'")" "$(blob applied/R__views.sql)" \
		"flyway: repeatable's checksum updated"
fi

# after repair realigns a checksum, a comment-only edit is
# reported as real drift (the recorded applied text is still the old one).
DB=mdeng_numbered
cd "$T/ws_numbered" || exit 1
printf -- '-- only a comment added\n' >>applied/001_a.sql
m validate
expect_rc 0 "numbered: a comment-only edit after repair is cosmetic drift (validate exit 0)"

# the usage says `create NAME [--description TEXT]`, but options
# after NAME are not parsed.
newws ws_create
printf 'SELECT 1;\n' >pending/001_a.sql
run create add_x --description "Adds x"
expect_rc 0 "create NAME --description TEXT"
expect_line "pending/002_add_x.sql" "-- Description: Adds x" "create NAME --description: the header"
run create --description "Adds y" add_y
expect_rc 0 "create --description TEXT NAME"
expect_line "pending/003_add_y.sql" "-- Description: Adds y" "create --description goes into the header"

# --help says options go "before or after the command"
DB=mdeng_numbered
cd "$T/ws_numbered" || exit 1
run status -d "dbname=$DB"
expect_rc 0 "status -d CONNINFO (a global option after the command)"

# ---- a single-folder project --------------------------------------------------------

newdb single
W=$T/ws_single
mkdir -p "$W/migrations"
printf '[workspace]\npending = migrations\napplied = migrations\n' >"$W/migdeck.ini"
for i in 1 2 3; do
	printf 'CREATE TABLE sf_%s (a int);\n' $i >"$W/migrations/00${i}_t$i.sql"
	printf 'DROP TABLE sf_%s;\n' $i >"$W/migrations/00${i}_rollback_t$i.sql"
done
cd "$T" || exit 1
ls -R ws_single >"$T/single.before"
S="-c ws_single/migdeck.ini -d dbname=$DB"
run $S status
expect_rc 0 "single folder: status"
expect_line "$OUT" "0 applied, 3 to run, 3 listed" "single folder: status before"
run $S migrate
expect_rc 0 "single folder: migrate"
expect_last_line "$OUT" "Migrations complete: 3 applied, 0 skipped, 3 total" "single folder: migrate summary"
ls -R ws_single >"$T/single.after"
cmp -s "$T/single.before" "$T/single.after" && ok || bad "single folder: migrate moved files"
expect_eq "$(has_table sf_1)$(has_table sf_3)" tt "single folder: tables created"
run $S status
expect_line "$OUT" "3 applied, 0 to run, 3 listed" "single folder: status from the database"
expect_no_fgrep "$OUT" misplaced "single folder: nothing is misplaced"
run $S validate
expect_rc 0 "single folder: validate"
run $S rollback --steps 1 --yes
expect_rc 0 "single folder: rollback"
expect_eq "$(has_table sf_3)" f "single folder: rollback dropped sf_3"
ls -R ws_single >"$T/single.after"
cmp -s "$T/single.before" "$T/single.after" && ok || bad "single folder: rollback moved files"
run $S status
expect_line "$OUT" "2 applied, 1 to run, 3 listed" "single folder: status after rollback"
run $S migrate
expect_rc 0 "single folder: migrate again"
expect_eq "$(applied_names)" "003_t3.sql " "single folder: the rolled back one runs again"
ls -R ws_single >"$T/single.after"
cmp -s "$T/single.before" "$T/single.after" && ok || bad "single folder: files moved"

# ---- 2. a failing migration changes nothing ----------------------------------------

newdb fail
newws ws_fail
printf 'CREATE TABLE t (a int);\n' >pending/001_t.sql
printf 'INSERT INTO t VALUES (1);\n' >pending/002_ins.sql
printf -- '-- the third migration fails on line 4\nCREATE TABLE t3 (x int);\n\nSELECT nosuchcol FROM t;\n' >pending/003_bad.sql
pos=$(awk '/nosuchcol/ { print NR ":" index($0, "nosuchcol"); exit }' pending/003_bad.sql)
expect_eq "$pos" "4:8" "fixture: nosuchcol at 4:8"
m migrate
expect_rc 1 "failing migration: migrate"
expect_eq "$(applied_names)" "001_t.sql 002_ins.sql " "failing migration: the two before it apply"
expect_line "$ERR" "migdeck: pending/003_bad.sql:$pos: ERROR: column \"nosuchcol\" does not exist" \
	"failing migration: file:line:col message"
expect_line "$ERR" "SQLSTATE: 42703" "failing migration: SQLSTATE"
expect_line "$ERR" "Migrations stopped: 2 applied, 1 failed, 0 not run, 3 total" "failing migration: summary"
expect_eq "$(has_table t3)" f "failing migration: its first statement was rolled back"
expect_eq "$(q "SELECT string_agg(version, ' ' ORDER BY id) FROM schema_versions")" "001 002" \
	"failing migration: no history row for it"
expect_eq "$(lsf pending)" "003_bad.sql " "failing migration: stays in pending/"
expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'failure' AND version = '003' AND error LIKE '%003_bad.sql:$pos: ERROR: column \"nosuchcol\"%'")" \
	1 "failing migration: a failure event with file:line:col"
# now the failing one first in line, another after it: compare everything
printf 'CREATE TABLE t4 (a int);\n' >pending/004_after.sql
snap fail_before
m migrate
expect_rc 1 "failing migration again"
expect_eq "$(applied_names)" "" "failing migration again: nothing applied"
expect_line "$ERR" "Migrations stopped: 0 applied, 1 failed, 1 not run, 4 total" "failing migration again: summary"
expect_eq "$(has_table t4)" f "failing migration again: the one after it did not run"
snap fail_after
same_snap fail_before fail_after "failing migration"
expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'failure' AND version = '003'")" 2 \
	"failing migration again: a second failure event"
m status
expect_eq "$(status_state 003)" pending "failing migration: status shows it pending"

# [run] transaction = all: one failure undoes the whole run
newdb failall
newws ws_failall
printf 'CREATE TABLE t (a int);\n' >pending/001_t.sql
printf 'INSERT INTO t VALUES (1);\n' >pending/002_ins.sql
printf 'SELECT 1;\nSELECT nosuchcol FROM t;\n' >pending/003_bad.sql
m migrate --to 000
expect_rc 0 "transaction = all: bookkeeping first"
snap failall_before
m -o run.transaction=all migrate
expect_rc 1 "transaction = all: a failure"
expect_line "$ERR" 'migdeck: pending/003_bad.sql:2:8: ERROR: column "nosuchcol" does not exist' \
	"transaction = all: file:line:col message"
snap failall_after
same_snap failall_before failall_after "transaction = all failure"
expect_eq "$(has_table t)" f "transaction = all: the first migrations were undone"
# the two migrations before it were undone, yet reported as applied
expect_eq "$(applied_names)" "" "transaction = all: 'Applied:' printed for migrations that were undone"
# the failure event is written inside the transaction that is rolled back
expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'failure' AND version = '003'")" 1 \
	"transaction = all: the failure is recorded in the event table"

# ---- 3. two runners started at once never both apply -------------------------------

if [ $VG = 1 ]; then nap=3; else nap=0.3; fi
trials=10
i=0
while [ $i -lt $trials ]; do
	i=$((i + 1))
	newdb race$i
	newws ws_race$i
	printf 'SELECT pg_sleep(%s);\nCREATE TABLE once_only (a int);\n' $nap >pending/001_once.sql
	( $BIN -d "dbname=$DB" migrate >"$T/o1" 2>"$T/e1"; echo $? >"$T/r1" ) &
	j1=$!
	( $BIN -d "dbname=$DB" migrate >"$T/o2" 2>"$T/e2"; echo $? >"$T/r2" ) &
	j2=$!
	wait $j1 $j2
	r1=$(cat "$T/r1") r2=$(cat "$T/r2")
	case "$r1 $r2" in
	"0 4") win=1 lose=2 ;;
	"4 0") win=2 lose=1 ;;
	*)
		bad "race $i: exits $r1 and $r2, want one 0 and one 4"
		show "$T/e1"
		show "$T/e2"
		continue
		;;
	esac
	ok
	expect_line "$T/o$win" "Migrations complete: 1 applied, 0 skipped, 1 total" "race $i: the winner applied it"
	expect_grep "$T/e$lose" "locked by pid [0-9][0-9]* (" "race $i: the loser says who holds the lock"
	expect_eq "$(q "SELECT (SELECT count(*) FROM schema_versions WHERE version = '001'),
	  (SELECT count(*) FROM schema_versions_events WHERE action = 'apply'), to_regclass('once_only') IS NOT NULL")" \
		"1|1|t" "race $i: applied once"
	expect_eq "$(lsf applied)" "001_once.sql " "race $i: file moved once"
done

# --wait: the second runner waits for the first, then has nothing to do
newdb racewait
newws ws_racewait
if [ $VG = 1 ]; then nap=5; else nap=1; fi
printf 'SELECT pg_sleep(%s);\nCREATE TABLE once_only (a int);\n' $nap >pending/001_once.sql
( $BIN -d "dbname=$DB" migrate >"$T/o1" 2>"$T/e1"; echo $? >"$T/r1" ) &
j1=$!
n=0
while [ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")" != 1 ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ $n -lt 100 ] && ok || bad "--wait: the first runner never took the lock"
m migrate --wait=30
wait $j1
expect_eq "$(cat "$T/r1")" 0 "--wait: the first runner applied"
expect_rc 0 "--wait: the second runner waited"
expect_last_line "$OUT" "Migrations complete: 0 applied, 1 skipped, 1 total" "--wait: then found nothing to do"
expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'apply'")" 1 "--wait: applied once"
# The waiter scanned the folders before it got the lock, so it tries to
# "heal" a file the first runner already moved.
expect_no_fgrep "$ERR" "exists already" "--wait: the waiter reports a stale move"

# ---- 4. a rollback round trip restores the schema exactly ---------------------------

newdb roundtrip
newws ws_roundtrip
cat >pending/001_tables.sql <<'EOF'
CREATE TABLE customer (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE INDEX customer_name ON customer (lower(name));
CREATE SEQUENCE ticket_no START 100;
EOF
printf 'DROP SEQUENCE ticket_no;\nDROP TABLE customer;\n' >pending/001_rollback_tables.sql
cat >pending/002_func.sql <<'EOF'
CREATE FUNCTION customer_count() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT count(*) FROM customer);
END;
$$;
CREATE VIEW customer_names AS SELECT name FROM customer;
EOF
printf 'DROP VIEW customer_names;\nDROP FUNCTION customer_count();\n' >pending/002_rollback_func.sql
cat >pending/003_type.sql <<'EOF'
CREATE TYPE mood AS ENUM ('ok', 'meh');
ALTER TABLE customer ADD COLUMN mood mood NOT NULL DEFAULT 'ok';
COMMENT ON TABLE customer IS 'people';
INSERT INTO customer (name) VALUES ('ann');
EOF
printf 'COMMENT ON TABLE customer IS NULL;\nALTER TABLE customer DROP COLUMN mood;\nDROP TYPE mood;\n' >pending/003_rollback_type.sql
m migrate --to 000
expect_rc 0 "round trip: migrate --to 000 creates the bookkeeping only"
expect_eq "$(q "SELECT count(*) FROM schema_versions")" 0 "round trip: nothing applied yet"
snap rt_before
m migrate --dry-run
expect_rc 0 "round trip: migrate --dry-run"
expect_last_line "$OUT" "Dry run complete: 3 would apply, 0 skipped, 3 total (all rolled back)" "round trip: dry-run summary"
snap rt_dry
same_snap rt_before rt_dry "migrate --dry-run"
m migrate
expect_rc 0 "round trip: migrate"
expect_last_line "$OUT" "Migrations complete: 3 applied, 0 skipped, 3 total" "round trip: migrate summary"
snap rt_mid
cmp -s "$T/rt_before.dump" "$T/rt_mid.dump" && bad "round trip: migrate did not change the schema" || ok
m rollback --steps 3 --yes
expect_rc 0 "round trip: rollback --steps 3"
expect_eq "$(sed -n 's/^Rolled back: \(.*\) ([0-9]* ms)$/\1/p' "$OUT" | tr '\n' ' ')" \
	"003_rollback_type.sql 002_rollback_func.sql 001_rollback_tables.sql " "round trip: newest first"
expect_last_line "$OUT" "Rollback complete: 3 rolled back" "round trip: rollback summary"
snap rt_after
cmp -s "$T/rt_before.dump" "$T/rt_after.dump" && ok || {
	bad "round trip: schema differs"
	diff "$T/rt_before.dump" "$T/rt_after.dump" | head -n 30
}
cmp -s "$T/rt_before.ls" "$T/rt_after.ls" && ok || bad "round trip: files not back in pending/"

# ---- 5. kill -9 between COMMIT and rename -------------------------------------------

newdb crash
newws ws_crash
printf 'CREATE TABLE k1 (a int);\n' >pending/001_k1.sql
printf 'DROP TABLE k1;\n' >pending/001_rollback_k1.sql
printf 'CREATE TABLE k2 (a int);\n' >pending/002_k2.sql
MIGDECK_TEST_CRASH=after-commit $BIN -d "dbname=$DB" migrate >"$OUT" 2>"$ERR" </dev/null
rc=$?
expect_rc 137 "crash: killed by SIGKILL after the first COMMIT"
expect_eq "$(lsf pending)" "001_k1.sql 001_rollback_k1.sql 002_k2.sql " "crash: the file did not move"
expect_eq "$(q "SELECT string_agg(version || ':' || is_active || ':' || success, ' ') FROM schema_versions")" \
	"001:true:true" "crash: the database has 001 applied"
expect_eq "$(has_table k1)$(has_table k2)" tf "crash: k1 committed, k2 not run"
m status
expect_rc 0 "crash: status"
expect_eq "$(status_state 001)" applied "crash: status says applied"
expect_grep "$OUT" "^001 .*misplaced: belongs in applied/" "crash: status shows it misplaced"
m status --json
expect_eq "$(jstates)" "pending/001_k1.sql=applied(misplaced->applied) pending/002_k2.sql=pending" "crash: status --json"
m migrate
expect_rc 0 "crash: the next migrate"
expect_line "$ERR" "migdeck: moved pending/001_k1.sql to applied/: the database has it applied" "crash: says it moved the file"
expect_eq "$(applied_names)" "002_k2.sql " "crash: applies the rest only"
expect_last_line "$OUT" "Migrations complete: 1 applied, 1 skipped, 2 total" "crash: summary"
expect_eq "$(lsf applied)" "001_k1.sql 001_rollback_k1.sql 002_k2.sql " "crash: everything in applied/"
expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'apply' AND version = '001'")" 1 \
	"crash: 001 not applied twice"
m validate
expect_rc 0 "crash: validate after healing"

# ---- 6. a lock held by another session ------------------------------------------------

newdb lock
newws ws_lock
printf 'CREATE TABLE t (a int);\n' >pending/001_t.sql
m migrate
expect_rc 0 "lock: first migration"
printf 'ALTER TABLE t ADD COLUMN c int;\n' >pending/002_c.sql
$PSQL -X -q -d "$DB" -c "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" >"$T/locker.out" 2>&1 &
jl=$!
n=0
while [ "$(q "SELECT count(*) FROM pg_locks WHERE relation = to_regclass('public.t') AND mode = 'AccessExclusiveLock' AND granted")" != 1 ] && [ $n -lt 100 ]; do
	sleep 0.05
	n=$((n + 1))
done
[ $n -lt 100 ] && ok || bad "lock: the other session never took its lock"
m -o run.lock_timeout=500ms -o run.lock_retries=5 migrate
wait $jl
expect_rc 0 "lock: migrate waits, retries and succeeds"
expect_grep "$ERR" "^migdeck: pending/002_c.sql:1:1: lock timeout (.*); retry 1 of 5 in 0.5 s$" "lock: says it retries"
expect_eq "$(applied_names)" "002_c.sql " "lock: applied after the lock went"
expect_eq "$(has_column t c)" 1 "lock: the column is there"
expect_eq "$(q "SELECT count(*) FROM schema_versions WHERE version = '002'")" 1 "lock: one history row"
# no retries left: the run fails and changes nothing
printf 'ALTER TABLE t ADD COLUMN d int;\n' >pending/003_d.sql
snap lock_before # before the lock: pg_dump would wait for it
$PSQL -X -q -d "$DB" -c "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT;" >"$T/locker.out" 2>&1 &
jl=$!
n=0
while [ "$(q "SELECT count(*) FROM pg_locks WHERE relation = to_regclass('public.t') AND mode = 'AccessExclusiveLock' AND granted")" != 1 ] && [ $n -lt 100 ]; do
	sleep 0.05
	n=$((n + 1))
done
[ $n -lt 100 ] && ok || bad "lock: the other session never took its second lock"
m -o run.lock_timeout=200ms -o run.lock_retries=0 migrate
wait $jl
expect_rc 1 "lock: with lock_retries=0 the run fails"
expect_fgrep "$ERR" "pending/003_d.sql:1:1: ERROR: canceling statement due to lock timeout" "lock: lock timeout message"
expect_line "$ERR" "SQLSTATE: 55P03" "lock: SQLSTATE 55P03"
snap lock_after
same_snap lock_before lock_after "lock timeout without retries"

# ---- 7. bad input: a clear message, the right exit code, nothing changed -----------

newdb bad
newws ws_bad
printf 'CREATE TABLE t (a int);\n' >pending/001_t.sql
printf 'DROP TABLE t;\n' >pending/001_rollback_t.sql
printf 'CREATE TABLE u (a int);\n' >pending/002_u.sql
m migrate
expect_rc 0 "bad input: setup"
snap bad0

# bad_case NAME: after the command ran, the snapshot is unchanged
bad_case() {
	snap bad1
	same_snap bad0 bad1 "$1"
}

run -d "dbname=nope" status
expect_rc 5 "missing database: status"
expect_fgrep "$ERR" 'database "nope" does not exist' "missing database: message names it"
run -d "dbname=nope" migrate
expect_rc 5 "missing database: migrate"
expect_eq "$($PSQL -X -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'nope'")" 0 \
	"missing database: not created"
bad_case "missing database"

run -d "dbname=$DB user=ghost" migrate
expect_rc 5 "missing role"
expect_fgrep "$ERR" 'role "ghost" does not exist' "missing role: message names it"
bad_case "missing role"

# a password in the conninfo is never printed
: >"$T/all_output"
for args in "status" "status --json" "migrate" "validate" "rollback --yes" "repair --yes" \
	"baseline --version 1" "config" "-v status"; do
	# shellcheck disable=SC2086 # split the arguments on purpose
	run -d "dbname=nope password=Sekr1t" $args
	cat "$OUT" "$ERR" >>"$T/all_output"
	case $args in
	config) expect_rc 0 "password: config" ;;
	*) expect_rc 5 "password: $args cannot connect" ;;
	esac
	run -d "postgresql://postgres:Sekr1t@/nope?host=$PGHOST" $args
	cat "$OUT" "$ERR" >>"$T/all_output"
done
expect_no_fgrep "$T/all_output" Sekr1t "password never printed"
expect_fgrep "$T/all_output" "password=****" "password shown as ****"
bad_case "password"

# a dangling symlink
ln -s nowhere.sql pending/003_link.sql
snap bad0
m migrate
expect_rc 3 "dangling symlink: migrate"
expect_fgrep "$ERR" "pending/003_link.sql: cannot read" "dangling symlink: names the file"
m validate
expect_rc 3 "dangling symlink: validate"
expect_fgrep "$ERR" "pending/003_link.sql: cannot read" "dangling symlink: validate names the file"
bad_case "dangling symlink"
rm pending/003_link.sql

# an unreadable file (only meaningful when not root)
if [ "$(id -u)" != 0 ]; then
	printf 'CREATE TABLE v (a int);\n' >pending/003_secret.sql
	chmod 000 pending/003_secret.sql
	snap bad0
	m migrate
	expect_rc 3 "unreadable file: migrate"
	expect_fgrep "$ERR" "pending/003_secret.sql" "unreadable file: names the file"
	bad_case "unreadable file"
	rm -f pending/003_secret.sql
fi

# a directory named like a migration: ignored (subfolders are not scanned)
mkdir pending/003_dir.sql
snap bad0
m migrate
expect_rc 0 "directory named 003_dir.sql: migrate ignores it"
expect_last_line "$OUT" "Migrations complete: 0 applied, 2 skipped, 2 total" "directory named .sql: not counted"
m validate
expect_rc 0 "directory named 003_dir.sql: validate ignores it"
bad_case "directory named .sql"
rmdir pending/003_dir.sql

# an unterminated dollar quote; the valid file before it must not run either
printf 'CREATE TABLE v (a int);\n' >pending/003_v.sql
printf 'CREATE TABLE w (a int);\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n' >pending/004_dq.sql
pos=$(awk 'index($0, "$$") { print NR ":" index($0, "$$"); exit }' pending/004_dq.sql)
snap bad0
m migrate
expect_rc 3 "unterminated dollar quote: migrate"
expect_line "$ERR" "migdeck: pending/004_dq.sql:$pos: unterminated dollar-quoted string" \
	"unterminated dollar quote: file:line:col of the opening \$\$"
expect_eq "$(has_table v)" f "unterminated dollar quote: the valid file before it did not run"
m validate
expect_rc 3 "unterminated dollar quote: validate"
expect_line "$ERR" "migdeck: pending/004_dq.sql:$pos: unterminated dollar-quoted string" "unterminated dollar quote: validate message"
bad_case "unterminated dollar quote"
rm pending/004_dq.sql

# a duplicate version, both pending
printf 'CREATE TABLE v2 (a int);\n' >pending/003_v2.sql
snap bad0
m migrate
expect_rc 3 "duplicate version: migrate"
expect_fgrep "$ERR" "pending/003_v.sql: duplicate version 003 (also pending/003_v2.sql)" "duplicate version: migrate names both"
m validate
expect_rc 3 "duplicate version: validate"
expect_fgrep "$ERR" "pending/003_v2.sql: duplicate version 003 (also pending/003_v.sql)" "duplicate version: validate names both"
bad_case "duplicate version"
rm pending/003_v2.sql

# a duplicate of an applied version
printf 'CREATE TABLE u2 (a int);\n' >pending/002_u2.sql
snap bad0
m validate
expect_rc 3 "duplicate of an applied version: validate"
expect_fgrep "$ERR" "pending/002_u2.sql: duplicate version 002 (also applied/002_u.sql)" \
	"duplicate of an applied version: validate names both"
m migrate
expect_rc 3 "duplicate of an applied version: migrate"
# migrate takes pending/002_u2.sql for the applied 002 and calls it drifted
expect_fgrep "$ERR" "duplicate version" "duplicate of an applied version: migrate says so"
bad_case "duplicate of an applied version"
# repair takes the never-run duplicate for the applied 002: it realigns the
# recorded checksum to it and moves it into applied/
sum002=$(q "SELECT checksum FROM schema_versions WHERE version = '002'")
m repair --yes
expect_rc 3 "repair --yes refuses while a pending file duplicates an applied version"
snap bad1
same_snap bad0 bad1 "repair --yes with a duplicate of an applied version"
rm -f pending/002_u2.sql applied/002_u2.sql
q "UPDATE schema_versions SET checksum = '$sum002' WHERE version = '002'" >/dev/null
rm pending/003_v.sql

# rollback of a migration without a rollback pair
snap bad0
m rollback --steps 1 --yes
expect_rc 3 "rollback without a pair"
expect_line "$ERR" "migdeck: applied/002_u.sql: no rollback script pairs with it; nothing was changed" \
	"rollback without a pair: message"
m rollback --version 002 --yes
expect_rc 3 "rollback --version without a pair"
expect_fgrep "$ERR" "no rollback script" "rollback --version without a pair: message"
bad_case "rollback without a pair"

# CREATE INDEX CONCURRENTLY mixed with a CREATE TABLE
printf 'CREATE TABLE x (a int);\n\nCREATE INDEX CONCURRENTLY x_a ON x (a);\n' >pending/003_cic.sql
snap bad0
m migrate
expect_rc 3 "mixed CONCURRENTLY file: migrate"
expect_fgrep "$ERR" "pending/003_cic.sql:3:1: mixes statements that cannot run inside a transaction (line 3)" \
	"mixed CONCURRENTLY file: names the line"
m validate
expect_rc 3 "mixed CONCURRENTLY file: validate"
expect_fgrep "$ERR" "pending/003_cic.sql:3:1: mixes statements" "mixed CONCURRENTLY file: validate names it"
bad_case "mixed CONCURRENTLY file"
rm pending/003_cic.sql

# a psql meta-command
printf 'CREATE TABLE x (a int);\n\\i other.sql\n' >pending/003_meta.sql
snap bad0
m migrate
expect_rc 3 "meta-command: migrate"
expect_line "$ERR" 'migdeck: pending/003_meta.sql:2:1: psql meta-command \i is not supported (migdeck sends SQL only)' \
	"meta-command: message"
m validate
expect_rc 3 "meta-command: validate"
bad_case "meta-command"
rm pending/003_meta.sql

# ---- 8. a file with its own BEGIN/COMMIT that records itself --------------------------

newdb crm
newws ws_crm
cat >pending/20230601_x.sql <<'EOF'
BEGIN;
CREATE TABLE crm_x (a int);
INSERT INTO schema_versions (version, description) VALUES ('20230601','x');
COMMIT;
EOF
printf 'BEGIN;\nDROP TABLE crm_x;\nCOMMIT;\n' >pending/20230601_rollback_x.sql
m migrate
expect_rc 0 "self-recording file: migrate"
expect_eq "$(applied_names)" "20230601_x.sql " "self-recording file: applied"
row="20230601|x|t|t|versioned|t|20230601_x.sql"
if [ $have_git = 1 ]; then sum=$(blob applied/20230601_x.sql); else sum=$(q "SELECT checksum FROM schema_versions"); fi
expect_eq "$(q "SELECT version, description, is_active, rolled_back_at IS NULL, kind, success, script FROM schema_versions")" \
	"$row" "self-recording file: one row, fully filled"
expect_eq "$(q "SELECT checksum FROM schema_versions WHERE version = '20230601'")" "$sum" "self-recording file: checksum"
expect_eq "$(q "SELECT count(*) FROM schema_versions WHERE checksum ~ '^[0-9a-f]{40}$' AND applied_sql IS NOT NULL AND execution_ms IS NOT NULL")" \
	1 "self-recording file: checksum, text and timing recorded"
m rollback --steps 1 --yes
expect_rc 0 "self-recording file: rollback"
m migrate
expect_rc 0 "self-recording file: applied again (its INSERT meets the existing row)"
expect_eq "$(q "SELECT version, description, is_active, rolled_back_at IS NULL, kind, success, script FROM schema_versions")" \
	"$row" "self-recording file: still one row, active"
m validate
expect_rc 0 "self-recording file: validate"

# ---- COPY ... FROM STDIN data goes through libpq's COPY protocol -------------------
newdb copy
newws ws_copy
printf 'CREATE TABLE cp (id int, note text);\nCOPY cp (id, note) FROM STDIN;\n1\tsemi;colon\n2\tit'"'"'s quoted\n3\t\\N\n\\.\nINSERT INTO cp VALUES (4, '"'"'after'"'"');\n' >pending/001_copy.sql
printf 'DROP TABLE cp;\n' >pending/001_rollback_copy.sql
m statements pending/001_copy.sql
expect_rc 0 "copy: statements"
expect_grep "$OUT" "copy-data" "copy: the COPY statement is flagged copy-data"
m migrate
expect_rc 0 "copy: migrate"
expect_eq "$(q "SELECT string_agg(id || '=' || coalesce(note, 'NULL'), ',' ORDER BY id) FROM cp")" \
	"1=semi;colon,2=it's quoted,3=NULL,4=after" "copy: rows from the inline data, then the statement after it"

# ---- a wrong password: exit 5, a clear message, never the password ----------------
newdb pw
$PSQL -X -q -d postgres -c "DROP ROLE IF EXISTS md_password_user" \
	-c "CREATE ROLE md_password_user LOGIN PASSWORD 'Right-pw-41'" \
	-c "GRANT ALL ON DATABASE $DB TO md_password_user" >/dev/null 2>&1
PGPASSWORD=Wrong-pw-17 run -d "dbname=$DB user=md_password_user" status
expect_rc 5 "wrong password: exit 5"
expect_fgrep "$ERR" "password authentication failed" "wrong password: the server's reason"
expect_no_fgrep "$OUT" "Wrong-pw-17" "wrong password: not on stdout"
expect_no_fgrep "$ERR" "Wrong-pw-17" "wrong password: not on stderr"
PGPASSWORD=Right-pw-41 run -d "dbname=$DB user=md_password_user" status
expect_rc 0 "right password from PGPASSWORD: status works"
expect_no_fgrep "$OUT" "Right-pw-41" "right password: not printed"
run -d "dbname=$DB user=md_password_user password=Wrong-pw-17" status
expect_rc 5 "wrong password in the conninfo: exit 5"
expect_no_fgrep "$ERR" "Wrong-pw-17" "wrong password in the conninfo: not printed"

# ---- a migration cannot end migdeck's transaction --------------------------------
newdb txhole
newws ws_txhole
printf 'CREATE TABLE hole (id int);\nSELECT 1 \\; ROLLBACK;\n' >pending/20240101_hole.sql
printf 'DROP TABLE hole;\n' >pending/20240101_rollback_hole.sql
m migrate
expect_rc 3 "psql \\; in a migration: refused"
expect_fgrep "$ERR" "pending/20240101_hole.sql:2:10:" "psql \\;: names file:line:col"
expect_eq "$(has_table hole)" "f" "psql \\;: nothing ran"
expect_eq "$(lsf pending)" "20240101_hole.sql 20240101_rollback_hole.sql " "psql \\;: the file stays in pending/"

# ---- --dry-run changes nothing, even the bookkeeping; a CONCURRENTLY file is reported
newdb dryfresh
newws ws_dryfresh
printf 'CREATE TABLE dry_t (a int);\n' >pending/001_t.sql
printf 'CREATE INDEX CONCURRENTLY dry_i ON dry_t (a);\n' >pending/002_i.sql
m migrate --dry-run
expect_rc 0 "dry run with a non-transactional file"
expect_fgrep "$ERR" "not run in a dry run" "dry run: the CONCURRENTLY file is reported, not run"
expect_eq "$(has_table schema_versions)" "f" "dry run: no history table left behind"
expect_eq "$(has_table dry_t)" "f" "dry run: nothing applied"
expect_eq "$(lsf pending)" "001_t.sql 002_i.sql " "dry run: nothing moved"

# ---- transaction = all refuses a non-transactional file before anything runs -----
newdb allconc
newws ws_allconc
printf 'CREATE TABLE allc_t (a int);\n' >pending/001_t.sql
printf 'CREATE INDEX CONCURRENTLY allc_i ON allc_t (a);\n' >pending/002_i.sql
m -o run.transaction=all migrate
expect_rc 3 "transaction = all with a CONCURRENTLY file: refused"
expect_fgrep "$ERR" "transaction = all" "transaction = all: says why"
expect_eq "$(has_table allc_t)" "f" "transaction = all: nothing ran"

# ---- transaction = all: a failing COMMIT (deferred constraint) undoes and is recorded
newdb allcommit
newws ws_allcommit
printf 'CREATE TABLE p (id int PRIMARY KEY);\nCREATE TABLE c (pid int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\n' >pending/001_t.sql
printf 'INSERT INTO c VALUES (42);\n' >pending/002_bad.sql
m -o run.transaction=all migrate
expect_rc 1 "transaction = all, failing COMMIT: exit 1"
expect_fgrep "$ERR" "COMMIT of the whole run" "failing COMMIT: says so"
expect_no_fgrep "$ERR" "18446744073709551615" "failing COMMIT: counts stay sane"
expect_no_fgrep "$OUT" "Applied:" "failing COMMIT: nothing reported applied"
expect_eq "$(has_table p)" "f" "failing COMMIT: everything undone"
expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'failure'")" "1" "failing COMMIT: one failure event"

echo "test_engine.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
