#!/bin/sh
# CLI tests of `migdeck adopt` on a real PostgreSQL (issue 7): for each
# convention a test builds the other tool's table shape and rows, adopts,
# then migrates the next pending file and rolls it back.
#
#   1. Flyway: flyway_schema_history with Flyway's CRC32 checksums (computed
#      here from the algorithm, with gzip's CRC-32, and checked against the
#      value Flyway's documentation publishes for its tutorial's
#      V3__Couple.sql when ../shared/flyway-vectors is there); adopt shows
#      and writes nothing without --yes; the foreign table is never written;
#      validate catches a real edit and passes a pure line-ending change;
#      failed, undone and baseline rows; a file changed since Flyway ran it.
#   2. Safety: migrate before adoption refuses; [history] table naming the
#      foreign table refuses; mirror = off refuses after the other tool
#      wrote again, until adopt; mirror = on writes the foreign table in
#      Flyway's shape (SQL and UNDO_SQL rows, the checksum Flyway would
#      compute).
#   3. schema_migrations: numbered files (version = file name, applied_at),
#      golang-migrate (version bigint, dirty: failed, repair clears it) and
#      dbmate (version varchar), mirrored and not.
#   4. The CRM convention: schema_versions with self-recording BEGIN/COMMIT
#      scripts, pending/ applied/ archive/ and consolidated_schema.sql.
#   5. flyway.conf: read without migdeck.ini or with -c (JDBC URL to a
#      conninfo, schemas, table, locations, placeholders; the password never
#      from the file); info, undo, clean (refused while cleanDisabled, on a
#      production target, without --yes); bad values name file:line:col;
#      migdeck config lists Flyway's own switches with their lines.
#   6. flyway.baselineOnMigrate: a baseline first on a schema with objects
#      and no history, none on an empty one or beside a Flyway table.
#   7. Connection retries ([database] connect_retries, flyway.connectRetries):
#      no server (retries announced, exit 5), a wrong password (no retry),
#      and a second cluster started late in the background.
# Also: adopt --json, mirror = on for baseline and repair's realignment,
# create and validate in golang-migrate and dbmate workspaces.
#
# Runs under tests/pg_harness.sh with MIGDECK_BIN set.
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ -z "${PGHOST:-}" ]; then
	echo "test_adopt.sh: run me under tests/pg_harness.sh" >&2
	exit 1
fi
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
fi
T=$(mktemp -d "${MIGDECK_TEST_TMPDIR:-${TMPDIR:-/tmp}}/mdadopt.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT
trap 'rm -rf "$T"; exit 143' TERM
export LC_ALL=C
. "$(dirname "$0")/common.shlib"
PSQL=psql
[ -x "${MIGDECK_TEST_PGBIN:-}/psql" ] && PSQL=$MIGDECK_TEST_PGBIN/psql
HERE=$(pwd)
VECTORS=${MIGDECK_FLYWAY_VECTORS:-$HERE/../shared/flyway-vectors}

m() { run -d "dbname=$DB" "$@"; }
q() { $PSQL -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1" 2>&1; }
newdb() {
	DB=mdadopt_$1
	if $PSQL -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" \
		-c "CREATE DATABASE $DB" >"$T/newdb.out" 2>&1; then ok; else
		bad "cannot create database $DB"
		show "$T/newdb.out"
	fi
}
# newws NAME FOLDER: a one-folder project $T/NAME/FOLDER, with a migdeck.ini
# naming it for pending and applied; cd to $T/NAME
newws() {
	W=$T/$1
	rm -rf "$W"
	mkdir -p "$W/$2" && cd "$W" || exit 1
	printf '[workspace]\npending = %s\napplied = %s\n' "$2" "$2" >migdeck.ini
}
has_table() { q "SELECT to_regclass('public.$1') IS NOT NULL"; }
# the md5 of a table's rows: the foreign table must never change unless mirrored
table_md5() { q "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM $1 t"; }

# jq_adopt: a summary of `adopt --json` in $OUT, parsed by python3 when it
# is there (else read with sed from the one-line fields)
have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1
jq_adopt() {
	if [ $have_python = 1 ]; then
		python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
f = d["foreign"]
out = ["%s:%s.%s:%d" % (f["tool"], f["schema"], f["table"], f["rows"]) if f else "none"]
c = d["checksums"]
out.append("sums=%d/%d/%d" % (c["agree"], c["differ"], c["no_file"]) if c else "sums=none")
out += ["%s=%s/%s/%s" % (i["version"], i["state"], i["checksum"], i["already"]) for i in d["items"]]
out.append("written=%s recorded=%d" % (d["written"], d["recorded"]))
print(" ".join(out))' "$OUT" 2>&1
	else
		echo "(python3 missing)"
	fi
}

# Flyway's checksum, computed here from the rule (CRC-32 of the bytes with
# every CR and LF removed, a leading UTF-8 BOM skipped, as a signed 32-bit
# integer).  gzip's trailer holds the CRC-32 of its input, little-endian.
fw_crc() {
	u=$(sed '1s/^\xEF\xBB\xBF//' "$1" | tr -d '\r\n' | gzip -c | tail -c 8 | od -An -N4 -tu4 | tr -d ' \n')
	if [ "$u" -gt 2147483647 ]; then echo $((u - 4294967296)); else echo "$u"; fi
}

# ---- 0. the checksum rule against a value Flyway published ------------------------

# The rule on the CRC-32 check value: "123456789" (split across lines) is
# 0xCBF43926, as a signed integer -873187034.
printf '12345\r\n6789\n' >"$T/check.sql"
expect_eq "$(fw_crc "$T/check.sql")" "-873187034" "CRC-32 check value through the rule"
DOC_V3=$VECTORS/files/flyway__flyway__docs__V3__Couple.sql
if [ -f "$DOC_V3" ]; then
	# Flyway's documentation (Tutorial - Dry Runs) shows this file recorded
	# with checksum -722651034
	expect_eq "$(fw_crc "$DOC_V3")" "-722651034" "Flyway's published checksum of V3__Couple.sql"
else
	echo "# $DOC_V3 not found: the published-value check is skipped (it sits beside the clone in CI)"
fi

# ---- 1. Flyway ------------------------------------------------------------------------

# flyway_ws: a Flyway project as Flyway's tutorial has it, run by "Flyway":
# V1 (person table), V2 (people), V3 (couple: the documentation's own file
# when available), plus U files, and a flyway_schema_history written the way
# Flyway writes it.
flyway_ws() {
	newdb "$1"
	newws "ws_$1" sql
	cat >sql/V1__Create_person_table.sql <<'EOF'
create table PERSON (
    ID int not null primary key,
    NAME varchar(100) not null
);
EOF
	printf 'drop table PERSON;\n' >sql/U1__Create_person_table.sql
	printf "insert into PERSON (ID, NAME) values (1, 'Axel');\r\ninsert into PERSON (ID, NAME) values (2, 'Mr. Foo');\r\n" \
		>sql/V2__Add_people.sql
	printf 'delete from PERSON;\n' >sql/U2__Add_people.sql
	if [ -f "$DOC_V3" ]; then
		cp "$DOC_V3" sql/V3__Couple.sql
	else
		printf 'create table COUPLE (\n    ID int not null,\n    PERSON1 int not null references PERSON(ID), \n    PERSON2 int not null references PERSON(ID) \n);\n' >sql/V3__Couple.sql
	fi
	printf 'drop table COUPLE;\n' >sql/U3__Couple.sql
	# what Flyway ran
	for f in V1__Create_person_table V2__Add_people V3__Couple; do
		$PSQL -X -q -v ON_ERROR_STOP=1 -d "$DB" -f sql/$f.sql >/dev/null 2>&1 || bad "flyway fixture: $f"
	done
	q "CREATE TABLE flyway_schema_history (
		installed_rank integer NOT NULL PRIMARY KEY,
		version varchar(50), description varchar(200) NOT NULL, type varchar(20) NOT NULL,
		script varchar(1000) NOT NULL, checksum integer,
		installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(),
		execution_time integer NOT NULL, success boolean NOT NULL);
	   CREATE INDEX flyway_schema_history_s_idx ON flyway_schema_history (success);
	   INSERT INTO flyway_schema_history VALUES
	   (1, '1', 'Create person table', 'SQL', 'V1__Create_person_table.sql', $(fw_crc sql/V1__Create_person_table.sql), 'axel', '2024-01-02 10:00:00', 12, true),
	   (2, '2', 'Add people', 'SQL', 'V2__Add_people.sql', $(fw_crc sql/V2__Add_people.sql), 'axel', '2024-01-03 10:00:00', 7, true),
	   (3, '3', 'Couple', 'SQL', 'V3__Couple.sql', $(fw_crc sql/V3__Couple.sql), 'axel', '2024-01-04 10:00:00', 9, true)" >/dev/null
	# the next migration, not run yet
	printf 'alter table PERSON add column EMAIL varchar(200);\n' >sql/V4__Add_email.sql
	printf 'alter table PERSON drop column EMAIL;\n' >sql/U4__Add_email.sql
}

flyway_ws flyway
before=$(table_md5 flyway_schema_history)
expect_eq "$(q "SELECT checksum FROM flyway_schema_history WHERE installed_rank = 2")" \
	"$(fw_crc sql/V2__Add_people.sql)" "fixture: checksum of a CRLF file"

# before adoption: status warns, migrate refuses and runs nothing
m status
expect_rc 0 "flyway: status before adoption"
expect_fgrep "$ERR" "not adopted yet: run migdeck adopt" "flyway: status warns before adoption"
m validate
expect_fgrep "$ERR" "not adopted yet: run migdeck adopt" "flyway: validate warns before adoption"
m migrate
expect_rc 3 "flyway: migrate before adoption refuses"
expect_fgrep "$ERR" "public.flyway_schema_history holds 3 rows written by flyway, which migdeck has not adopted" \
	"flyway: migrate says why"
expect_fgrep "$ERR" "HINT: Run migdeck adopt" "flyway: migrate says what to do"
expect_eq "$(has_table schema_versions)" "f" "flyway: the refused migrate created nothing"
expect_eq "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'person' AND column_name = 'email'")" \
	"0" "flyway: V4 not run by the refused migrate"

# [history] table naming Flyway's table: refused, the table untouched
m -o history.table=flyway_schema_history migrate
expect_rc 3 "flyway: [history] table = flyway_schema_history refused"
expect_fgrep "$ERR" "is Flyway's flyway_schema_history: migdeck keeps its own history table" \
	"flyway: says why the foreign table is not made migdeck's"
expect_eq "$(table_md5 flyway_schema_history)" "$before" "flyway: foreign table untouched by the refusal"
expect_eq "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'flyway_schema_history'")" \
	"10" "flyway: no column added"

# adopt without --yes: a report, nothing written
m adopt
expect_rc 0 "flyway: adopt (report)"
expect_fgrep "$OUT" "Found: flyway history table public.flyway_schema_history (3 rows)" "flyway: adopt names tool and table"
expect_fgrep "$OUT" "Checksums (Flyway CRC32): 3 agree, 0 differ, 0 without a file" "flyway: checksum agreement"
expect_fgrep "$OUT" "3 matched, 1 not run yet" "flyway: matching files"
expect_fgrep "$OUT" "Will record in public.schema_versions:" "flyway: says where it records"
expect_fgrep "$OUT" "Nothing written: run migdeck adopt --yes" "flyway: without --yes nothing is written"
expect_eq "$(has_table schema_versions)" "f" "flyway: adopt without --yes recorded nothing"
expect_eq "$(has_table schema_versions_events)" "f" "flyway: adopt without --yes created nothing"

m adopt --yes
expect_rc 0 "flyway: adopt --yes"
expect_fgrep "$OUT" "Adopted: 3 rows recorded in public.schema_versions, 0 already there; public.flyway_schema_history left untouched" \
	"flyway: adopt --yes says what it recorded"
expect_fgrep "$OUT" "Mirror: off" "flyway: mirror off by default"
expect_eq "$(table_md5 flyway_schema_history)" "$before" "flyway: foreign table untouched by adopt"
expect_eq "$(q "SELECT string_agg(version || ':' || script || ':' || applied_by || ':' || to_char(applied_at, 'YYYY-MM-DD') || ':' || execution_ms, ' ' ORDER BY id) FROM schema_versions")" \
	"1:V1__Create_person_table.sql:axel:2024-01-02:12 2:V2__Add_people.sql:axel:2024-01-03:7 3:V3__Couple.sql:axel:2024-01-04:9" \
	"flyway: rows recorded as Flyway ran them"
expect_eq "$(q "SELECT count(*) FROM schema_versions WHERE checksum ~ '^[0-9a-f]{40}$' AND applied_sql IS NOT NULL")" "3" \
	"flyway: agreeing files recorded by blob id and text"
expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'adopt'")" "4" "flyway: adopt events"

m adopt --yes
expect_rc 0 "flyway: adopt again"
expect_fgrep "$OUT" "Adopted: 0 rows recorded in public.schema_versions, 3 already there" "flyway: adopt again adds nothing"

m status
expect_rc 0 "flyway: status after adoption"
expect_no_fgrep "$ERR" "not adopted" "flyway: no warning after adoption"
expect_fgrep "$OUT" "3 applied, 1 to run, 4 listed" "flyway: status counts (V1-V3 applied, V4 to run)"
awk '$1 == "3" && $2 == "applied" { print $2, $4 }' "$OUT" >"$T/v3"
expect_eq "$(cat "$T/v3")" "applied ok" "flyway: V3 applied, checksum ok"

# the next pending file, then its rollback
m migrate
expect_rc 0 "flyway: migrate V4"
expect_fgrep "$OUT" "Applied: V4__Add_email.sql" "flyway: V4 applied"
expect_fgrep "$OUT" "Migrations complete: 1 applied" "flyway: one applied"
expect_eq "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'person' AND column_name = 'email'")" "1" "flyway: V4 ran"
expect_eq "$(table_md5 flyway_schema_history)" "$before" "flyway: mirror off leaves the foreign table alone"
m rollback --yes
expect_rc 0 "flyway: rollback V4 (U4)"
expect_fgrep "$OUT" "Rolled back: U4__Add_email.sql" "flyway: U4 ran"
expect_eq "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'person' AND column_name = 'email'")" "0" "flyway: V4 undone"
m validate
expect_rc 0 "flyway: validate after adoption"

# a pure line-ending change passes, a real edit fails
sed 's/$/\r/' sql/V1__Create_person_table.sql >"$T/crlf" && cp "$T/crlf" sql/V1__Create_person_table.sql
m validate
expect_rc 0 "flyway: validate passes a CRLF-only change"
printf 'insert into PERSON (ID, NAME) values (3, '"'"'Ms. Bar'"'"');\n' >>sql/V2__Add_people.sql
m validate
expect_rc 3 "flyway: validate catches a real edit"
expect_fgrep "$ERR" "V2__Add_people.sql: changed since it was applied" "flyway: names the edited file"

# ---- 1b. Flyway: failed, undone, baseline rows; a file changed since Flyway ran it --

flyway_ws flyway_rows
q "INSERT INTO flyway_schema_history VALUES
   (0, NULL, '<< Flyway Schema Creation >>', 'SCHEMA', 'public', NULL, 'axel', '2024-01-01 09:00', 0, true),
   (4, '4', 'Add email', 'SQL', 'V4__Add_email.sql', 1, 'axel', '2024-01-05 10:00', 3, false)" >/dev/null
# V3 was undone by Flyway Teams' undo
q "INSERT INTO flyway_schema_history VALUES
   (5, '3', 'Couple', 'UNDO_SQL', 'U3__Couple.sql', $(fw_crc sql/U3__Couple.sql), 'axel', '2024-01-06 10:00', 2, true)" >/dev/null
q "DROP TABLE couple" >/dev/null
# V1 changed after Flyway ran it
printf -- '-- reviewed\n' >>sql/V1__Create_person_table.sql
before=$(table_md5 flyway_schema_history)
m adopt
expect_rc 0 "flyway rows: adopt report"
expect_fgrep "$OUT" "Checksums (Flyway CRC32): 2 agree, 1 differ" "flyway rows: one checksum differs"
expect_fgrep "$ERR" "V1__Create_person_table.sql: changed since flyway ran it" "flyway rows: warns of the changed file"
expect_fgrep "$OUT" "Summary: 2 applied, 1 failed, 1 undone" "flyway rows: states"
m adopt --json
expect_rc 0 "flyway rows: adopt --json"
if [ $have_python = 1 ]; then
	expect_eq "$(jq_adopt)" "flyway:public.flyway_schema_history:6 sums=2/1/0 1=applied/differs/False 2=applied/agrees/False 3=undone/agrees/False 4=failed/None/False written=False recorded=0" \
		"flyway rows: adopt --json, what it found and would record"
fi
expect_fgrep "$OUT" '"recorded_checksum":'"$(q "SELECT checksum FROM flyway_schema_history WHERE installed_rank = 1")" \
	"flyway rows: --json has Flyway's recorded checksum"
expect_fgrep "$OUT" '"file_checksum":'"$(fw_crc sql/V1__Create_person_table.sql)" "flyway rows: --json has the file's"
expect_fgrep "$ERR" "V1__Create_person_table.sql: changed since flyway ran it" "flyway rows: --json still warns on stderr"
expect_no_fgrep "$OUT" "Found:" "flyway rows: --json prints no text report"
expect_eq "$(has_table schema_versions)" "f" "flyway rows: adopt --json wrote nothing"
m adopt --yes
expect_rc 0 "flyway rows: adopt --yes"
expect_eq "$(table_md5 flyway_schema_history)" "$before" "flyway rows: foreign table untouched"
expect_eq "$(q "SELECT string_agg(version || '=' || is_active || success, ' ' ORDER BY version) FROM schema_versions")" \
	"1=truetrue 2=truetrue 3=falsetrue 4=truefalse" "flyway rows: applied, undone (inactive), failed"
expect_eq "$(q "SELECT checksum FROM schema_versions WHERE version = '1'")" \
	"$(q "SELECT checksum FROM flyway_schema_history WHERE installed_rank = 1")" "flyway rows: Flyway's checksum kept for the changed file"
m status
awk '($1 == "1" || $1 == "3" || $1 == "4") && $2 !~ /,$/ { print $1, $2, ($2 == "rolled" ? $3 : "-") }' "$OUT" | tr '\n' ' ' >"$T/st"
expect_eq "$(cat "$T/st")" "1 applied - 3 rolled back 4 failed - " "flyway rows: status states"
expect_fgrep "$OUT" "file changed since applied" "flyway rows: status shows the changed file"
m validate
expect_rc 3 "flyway rows: validate fails on the changed file and the failed run"
expect_fgrep "$ERR" "V1__Create_person_table.sql: changed since it was applied" "flyway rows: validate names the changed file"
expect_fgrep "$ERR" "V4__Add_email.sql: its last run failed" "flyway rows: validate names the failed run"
m repair --yes
expect_rc 0 "flyway rows: repair"
expect_fgrep "$OUT" "Deleted 1 failed row" "flyway rows: repair clears the failed row"
expect_fgrep "$OUT" "Realigned: V1__Create_person_table.sql" "flyway rows: repair realigns the checksum"
m validate
expect_rc 0 "flyway rows: validate after repair"
expect_eq "$(table_md5 flyway_schema_history)" "$before" "flyway rows: repair with mirror off leaves the foreign table"
m migrate
expect_rc 0 "flyway rows: migrate V3 again and V4"
expect_fgrep "$OUT" "Migrations complete: 2 applied" "flyway rows: V3 and V4 applied"

# ---- 2. mirror = off: the other tool writes again ------------------------------------

flyway_ws mirror_off
m adopt --yes --json
expect_rc 0 "mirror off: adopt --yes --json"
if [ $have_python = 1 ]; then
	expect_eq "$(jq_adopt)" "flyway:public.flyway_schema_history:3 sums=3/0/0 1=applied/agrees/False 2=applied/agrees/False 3=applied/agrees/False written=True recorded=3" \
		"mirror off: adopt --yes --json says what it recorded"
fi
expect_eq "$(q "SELECT count(*) FROM schema_versions")" "3" "mirror off: adopt --yes --json recorded"
# Flyway runs V4 itself after the adoption
$PSQL -X -q -d "$DB" -f sql/V4__Add_email.sql >/dev/null 2>&1
q "INSERT INTO flyway_schema_history VALUES (4, '4', 'Add email', 'SQL', 'V4__Add_email.sql', $(fw_crc sql/V4__Add_email.sql), 'axel', now(), 3, true)" >/dev/null
m migrate
expect_rc 3 "mirror off: migrate refuses after Flyway wrote"
expect_fgrep "$ERR" "public.flyway_schema_history has changed since migdeck adopted it" "mirror off: says why"
expect_eq "$(q "SELECT count(*) FROM schema_versions WHERE version = '4'")" "0" "mirror off: nothing recorded"
m adopt --yes
expect_rc 0 "mirror off: adopt again"
expect_fgrep "$OUT" "Adopted: 1 row recorded" "mirror off: the new row taken in"
m migrate
expect_rc 0 "mirror off: migrate after adopting again"
expect_fgrep "$OUT" "Migrations complete: 0 applied" "mirror off: V4 not run twice"

# ---- 2b. mirror = on: migdeck keeps Flyway's table in step -----------------------------

flyway_ws mirror_on
printf '[history]\nmirror = on\n' >>migdeck.ini
m adopt --yes
expect_rc 0 "mirror on: adopt"
expect_fgrep "$OUT" "Mirror: on" "mirror on: says so"
m migrate
expect_rc 0 "mirror on: migrate V4"
expect_eq "$(q "SELECT installed_rank || ':' || version || ':' || type || ':' || script || ':' || checksum || ':' || success FROM flyway_schema_history WHERE installed_rank = 4")" \
	"4:4:SQL:V4__Add_email.sql:$(fw_crc sql/V4__Add_email.sql):true" "mirror on: Flyway's row for V4, with Flyway's checksum"
m rollback --yes
expect_rc 0 "mirror on: rollback V4"
expect_eq "$(q "SELECT installed_rank || ':' || version || ':' || type || ':' || script || ':' || checksum FROM flyway_schema_history WHERE installed_rank = 5")" \
	"5:4:UNDO_SQL:U4__Add_email.sql:$(fw_crc sql/U4__Add_email.sql)" "mirror on: an UNDO_SQL row, as Flyway's undo writes"
m migrate
expect_rc 0 "mirror on: migrate again (its own writes do not trip the guard)"
expect_eq "$(q "SELECT count(*) FROM flyway_schema_history")" "6" "mirror on: a row per run"
q "INSERT INTO flyway_schema_history VALUES (7, '5', 'x', 'SQL', 'V5__x.sql', 0, 'axel', now(), 1, true)" >/dev/null
m rollback --yes
expect_rc 3 "mirror on: another writer is still caught"

# ---- 2c. mirror = on: baseline and repair's realignment write the other table too ------

flyway_ws mirror_bl
printf '[history]\nmirror = on\n' >>migdeck.ini
m adopt --yes
expect_rc 0 "mirror baseline: adopt"
# a real edit of V2, then repair realigns migdeck's checksum and Flyway's
printf "insert into PERSON (ID, NAME) values (3, 'Ms. Bar');\n" >>sql/V2__Add_people.sql
m validate
expect_rc 3 "mirror realign: the edit is caught"
m repair --yes
expect_rc 0 "mirror realign: repair"
expect_fgrep "$OUT" "Realigned: V2__Add_people.sql" "mirror realign: realigned"
expect_eq "$(q "SELECT checksum FROM flyway_schema_history WHERE installed_rank = 2")" \
	"$(fw_crc sql/V2__Add_people.sql)" "mirror realign: Flyway's row has the file's Flyway checksum now"
expect_eq "$(q "SELECT count(*) FROM flyway_schema_history")" "3" "mirror realign: no row added"
m validate
expect_rc 0 "mirror realign: validate passes after repair"
# baseline at 5: V4 and V5 recorded, Flyway gets its BASELINE row
printf 'create table T5 (a int);\n' >sql/V5__t5.sql
printf 'create table T6 (a int);\n' >sql/V6__t6.sql
m baseline --version 5
expect_rc 0 "mirror baseline: baseline --version 5"
expect_fgrep "$OUT" "Baseline complete: 2 recorded as applied up to 5" "mirror baseline: V4 and V5 recorded"
expect_eq "$(q "SELECT installed_rank || ':' || version || ':' || type || ':' || script || ':' || coalesce(checksum::text, 'null') || ':' || success FROM flyway_schema_history WHERE installed_rank = 4")" \
	"4:5:BASELINE:<< Flyway Baseline >>:null:true" "mirror baseline: Flyway's BASELINE row at 5"
m migrate
expect_rc 0 "mirror baseline: migrate after (its own writes do not trip the guard)"
expect_fgrep "$OUT" "Applied: V6__t6.sql" "mirror baseline: V6 applied"
expect_eq "$(has_table t5)" "f" "mirror baseline: V5 never ran"
# mirror off: baseline leaves the foreign table alone
flyway_ws mirror_bl_off
m adopt --yes
before=$(table_md5 flyway_schema_history)
m baseline --version 4
expect_rc 0 "mirror off: baseline"
expect_eq "$(table_md5 flyway_schema_history)" "$before" "mirror off: baseline leaves the foreign table alone"

# golang-migrate mirrored: baseline moves the one row
newdb golang_bl
newws ws_golang_bl migrations
for v in 1 2 3; do
	printf 'CREATE TABLE gb%s (a int);\n' $v >migrations/00000${v}_gb$v.up.sql
	printf 'DROP TABLE gb%s;\n' $v >migrations/00000${v}_gb$v.down.sql
done
q "CREATE TABLE gb1 (a int); CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
   INSERT INTO schema_migrations VALUES (1, false)" >/dev/null
m -o history.mirror=on adopt --yes
expect_rc 0 "golang mirror baseline: adopt"
m -o history.mirror=on baseline --version 2
expect_rc 0 "golang mirror baseline: baseline --version 2"
expect_eq "$(q "SELECT version || ':' || dirty FROM schema_migrations")" "2:false" "golang mirror baseline: version 2, clean"
m -o history.mirror=on migrate
expect_rc 0 "golang mirror baseline: migrate 3"
expect_eq "$(q "SELECT version || ':' || dirty FROM schema_migrations")" "3:false" "golang mirror baseline: then 3"

# ---- 3. schema_migrations -------------------------------------------------------------

# numbered files: version = file name, applied_at
newdb numbered
newws ws_numbered migrations
printf 'CREATE TABLE n1 (a int);\n' >migrations/001_n1.sql
printf 'DROP TABLE n1;\n' >migrations/001_rollback_n1.sql
printf 'CREATE TABLE n2 (a int);\n' >migrations/002_n2.sql
printf 'DROP TABLE n2;\n' >migrations/002_rollback_n2.sql
printf 'CREATE TABLE n3 (a int);\n' >migrations/003_n3.sql
printf 'DROP TABLE n3;\n' >migrations/003_rollback_n3.sql
q "CREATE TABLE n1 (a int); CREATE TABLE n2 (a int);
   CREATE TABLE schema_migrations (version varchar(255) PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
   INSERT INTO schema_migrations VALUES ('001_n1.sql', '2023-01-01'), ('002_n2.sql', '2023-02-01')" >/dev/null
before=$(table_md5 schema_migrations)
m migrate
expect_rc 3 "numbered: migrate before adoption refuses"
m adopt
expect_rc 0 "numbered: adopt report"
expect_fgrep "$OUT" "Found: numbered files history table public.schema_migrations (2 rows)" "numbered: found"
expect_fgrep "$OUT" "2 matched, 1 not run yet" "numbered: matched by file name"
m adopt --yes
expect_rc 0 "numbered: adopt --yes"
expect_eq "$(table_md5 schema_migrations)" "$before" "numbered: foreign table untouched"
expect_eq "$(q "SELECT string_agg(version || '@' || to_char(applied_at, 'YYYY-MM'), ' ' ORDER BY id) FROM schema_versions")" \
	"001@2023-01 002@2023-02" "numbered: applied_at kept"
m migrate
expect_rc 0 "numbered: migrate 003"
expect_fgrep "$OUT" "Applied: 003_n3.sql" "numbered: 003 applied"
m rollback --yes
expect_rc 0 "numbered: rollback 003"
expect_eq "$(has_table n3)" "f" "numbered: 003 undone"
# mirrored: the file name goes into schema_migrations and out again
m -o history.mirror=on migrate
expect_rc 0 "numbered mirror: migrate 003"
expect_eq "$(q "SELECT count(*) FROM schema_migrations WHERE version = '003_n3.sql'")" "1" "numbered mirror: row written as a file name"
m -o history.mirror=on rollback --yes
expect_rc 0 "numbered mirror: rollback 003"
expect_eq "$(q "SELECT count(*) FROM schema_migrations WHERE version = '003_n3.sql'")" "0" "numbered mirror: row removed"

# golang-migrate: version bigint, dirty boolean
newdb golang
newws ws_golang migrations
printf 'CREATE TABLE g1 (a int);\n' >migrations/000001_g1.up.sql
printf 'DROP TABLE g1;\n' >migrations/000001_g1.down.sql
printf 'CREATE TABLE g2 (a int);\n' >migrations/000002_g2.up.sql
printf 'DROP TABLE g2;\n' >migrations/000002_g2.down.sql
printf 'CREATE TABLE g3 (a int);\n' >migrations/000003_g3.up.sql
printf 'DROP TABLE g3;\n' >migrations/000003_g3.down.sql
q "CREATE TABLE g1 (a int);
   CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
   INSERT INTO schema_migrations VALUES (2, true)" >/dev/null
before=$(table_md5 schema_migrations)
m adopt
expect_rc 0 "golang: adopt report"
expect_fgrep "$OUT" "Found: golang-migrate history table public.schema_migrations (1 row)" "golang: found"
expect_fgrep "$OUT" "Summary: 1 applied, 1 failed" "golang: dirty version shows as failed"
expect_fgrep "$ERR" "version 000002: its last run under golang-migrate failed (dirty)" "golang: says dirty"
m -o history.mirror=on adopt --yes
expect_rc 0 "golang: adopt --yes"
expect_eq "$(table_md5 schema_migrations)" "$before" "golang: foreign table untouched by adopt"
m status
expect_fgrep "$OUT" "failed" "golang: status shows the dirty version failed"
m -o history.mirror=on migrate
expect_rc 3 "golang: migrate refuses a failed version until repair"
m -o history.mirror=on repair --yes
expect_rc 0 "golang: repair"
expect_eq "$(q "SELECT version || ':' || dirty FROM schema_migrations")" "1:false" "golang mirror: repair clears dirty"
m -o history.mirror=on migrate
expect_rc 0 "golang: migrate 2 and 3"
expect_fgrep "$OUT" "Migrations complete: 2 applied" "golang: two applied"
expect_eq "$(q "SELECT version || ':' || dirty FROM schema_migrations")" "3:false" "golang mirror: current version 3"
m -o history.mirror=on rollback --yes
expect_rc 0 "golang: rollback 3 (down file)"
expect_fgrep "$OUT" "Rolled back: 000003_g3.down.sql" "golang: the .down.sql file ran"
expect_eq "$(has_table g3)" "f" "golang: 3 undone"
expect_eq "$(q "SELECT version || ':' || dirty FROM schema_migrations")" "2:false" "golang mirror: back to version 2"
# create writes golang-migrate's pair in a golang-migrate workspace
m create add_g4
expect_rc 0 "golang: create"
expect_fgrep "$OUT" "Created: migrations/000004_add_g4.up.sql" "golang: create writes NNNNNN_name.up.sql"
expect_fgrep "$OUT" "Created: migrations/000004_add_g4.down.sql" "golang: and its .down.sql"
expect_eq "$(ls migrations | grep -c '^000004_add_g4\.\(up\|down\)\.sql$')" "2" "golang: both files exist"
m status
expect_fgrep "$OUT" "2 applied, 2 to run, 4 listed" "golang: the new pair reads back as one pending migration"
rm -f migrations/000004_add_g4.*

# dbmate: version varchar, one file with -- migrate:up / -- migrate:down
newdb dbmate
newws ws_dbmate db/migrations
cat >db/migrations/20230601120000_create_d1.sql <<'EOF'
-- migrate:up
CREATE TABLE d1 (a int);

-- migrate:down
DROP TABLE d1;
EOF
cat >db/migrations/20230602120000_create_d2.sql <<'EOF'
-- migrate:up
CREATE TABLE d2 (a int);
INSERT INTO d2 VALUES (1);

-- migrate:down
DROP TABLE d2;
EOF
q "CREATE TABLE d1 (a int);
   CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);
   INSERT INTO schema_migrations VALUES ('20230601120000')" >/dev/null
before=$(table_md5 schema_migrations)
m adopt
expect_rc 0 "dbmate: adopt report"
expect_fgrep "$OUT" "Found: dbmate history table public.schema_migrations (1 row)" "dbmate: found"
m adopt --yes
expect_rc 0 "dbmate: adopt --yes"
expect_eq "$(table_md5 schema_migrations)" "$before" "dbmate: foreign table untouched"
m migrate
expect_rc 0 "dbmate: migrate the next file (its up section)"
expect_eq "$(q "SELECT count(*) FROM d2")" "1" "dbmate: up section ran"
m rollback --yes
expect_rc 0 "dbmate: rollback (its down section)"
expect_eq "$(has_table d2)" "f" "dbmate: down section ran"
expect_eq "$(has_table d1)" "t" "dbmate: the adopted one stays"
m -o history.mirror=on migrate
expect_rc 0 "dbmate mirror: migrate"
expect_eq "$(q "SELECT string_agg(version, ' ' ORDER BY version) FROM schema_migrations")" \
	"20230601120000 20230602120000" "dbmate mirror: version row written"
m validate
expect_rc 0 "dbmate: validate"
# create writes dbmate's template in a dbmate workspace
m create add_d3
expect_rc 0 "dbmate: create"
new=$(sed -n 's|^Created: db/migrations/||p' "$OUT")
expect_eq "$(printf '%s' "$new" | grep -c '^[0-9]\{14\}_add_d3\.sql$')" "1" "dbmate: create names YYYYMMDDhhmmss_name.sql"
expect_eq "$(grep -c '^-- migrate:\(up\|down\)$' "db/migrations/$new" 2>/dev/null)" "2" "dbmate: with both sections"
expect_eq "$(ls db/migrations | wc -l | tr -d ' ')" "3" "dbmate: one file, no separate rollback"
m validate
expect_rc 0 "dbmate: validate passes the new file"
# validate reads the down section too
printf 'CREATE TABLE d3 (a int);\n' >"$T/up"
printf -- '-- migrate:up\nCREATE TABLE d3 (a int);\n\n-- migrate:down\nDROP TABLE d3 \x27unterminated;\n' >"db/migrations/$new"
m validate
expect_rc 3 "dbmate: validate fails on a bad down section"
expect_fgrep "$ERR" "db/migrations/$new:5:" "dbmate: names the down section's line"
expect_fgrep "$ERR" "(its -- migrate:down section)" "dbmate: says it is the down section"
rm -f "db/migrations/$new"
# --style names either convention anywhere
m create x_style --style golang-migrate
expect_rc 0 "create --style golang-migrate"
expect_fgrep "$OUT" ".up.sql" "create --style golang-migrate: an .up.sql"
rm -f db/migrations/*x_style*
m create x_style --style dbmate
expect_rc 0 "create --style dbmate"
expect_eq "$(grep -c '^-- migrate:up$' db/migrations/*_x_style.sql)" "1" "create --style dbmate: a dbmate file"
rm -f db/migrations/*x_style*
m create x_style --style liquibase
expect_rc 2 "create --style: an unknown style"
expect_fgrep "$ERR" "golang-migrate or dbmate" "create --style: names the choices"

# ---- 4. the CRM convention ---------------------------------------------------------------

newdb crm
W=$T/ws_crm
rm -rf "$W"
mkdir -p "$W/pending" "$W/applied" "$W/archive" && cd "$W" || exit 1
printf -- '-- consolidated schema up to 20230601\nCREATE TABLE customer (id int PRIMARY KEY);\n' >archive/consolidated_schema.sql
cat >applied/20230601_create_customer.sql <<'EOF'
BEGIN;
CREATE TABLE customer (id int PRIMARY KEY);
INSERT INTO schema_versions (version, description) VALUES ('20230601', 'create customer');
COMMIT;
EOF
printf 'BEGIN;\nDROP TABLE customer;\nCOMMIT;\n' >applied/20230601_rollback_create_customer.sql
cat >pending/20230615_add_email.sql <<'EOF'
BEGIN;
ALTER TABLE customer ADD COLUMN email text;
INSERT INTO schema_versions (version, description) VALUES ('20230615', 'add email');
COMMIT;
EOF
printf 'BEGIN;\nALTER TABLE customer DROP COLUMN email;\nCOMMIT;\n' >pending/20230615_rollback_add_email.sql
q "CREATE TABLE customer (id int PRIMARY KEY);
   CREATE TABLE schema_versions (version varchar(50) NOT NULL, description varchar(200),
     applied_at timestamp DEFAULT now(), is_active boolean DEFAULT true, rolled_back_at timestamp);
   INSERT INTO schema_versions (version, description, applied_at) VALUES ('20230601', 'create customer', '2023-06-01')" >/dev/null
m adopt
expect_rc 0 "crm: adopt"
expect_fgrep "$OUT" "Nothing to adopt" "crm: migdeck's own shape needs no adoption"
m adopt --json
expect_rc 0 "crm: adopt --json"
expect_fgrep "$OUT" '{"foreign":null,' "crm: --json, nothing found"
if [ $have_python = 1 ]; then
	expect_eq "$(jq_adopt)" "none sums=none written=False recorded=0" "crm: --json parses"
fi
m migrate
expect_rc 0 "crm: migrate the next pending file"
expect_fgrep "$OUT" "Applied: 20230615_add_email.sql" "crm: applied"
expect_eq "$(ls pending applied | grep -c 20230615)" "2" "crm: pair moved together"
expect_eq "$(ls applied | grep -c 20230615)" "2" "crm: moved to applied/"
expect_eq "$(q "SELECT string_agg(version || ':' || is_active, ' ' ORDER BY id) FROM schema_versions")" \
	"20230601:true 20230615:true" "crm: one row each, the script's own INSERT absorbed"
m rollback --yes
expect_rc 0 "crm: rollback"
expect_eq "$(ls pending | grep -c 20230615)" "2" "crm: back in pending/"
expect_eq "$(q "SELECT is_active FROM schema_versions WHERE version = '20230615'")" "f" "crm: rolled back"
m validate
expect_rc 0 "crm: validate (consolidated_schema.sql is the baseline, not a problem)"

# ---- 5. flyway.conf: settings, then info / undo / clean ----------------------------------

flyway_ws conf
rm -f migdeck.ini
q "CREATE SCHEMA app; ALTER TABLE flyway_schema_history SET SCHEMA app;
   ALTER TABLE app.flyway_schema_history RENAME TO fw_history" >/dev/null
cat >flyway.conf <<EOF
# the project's Flyway settings
flyway.url = jdbc:postgresql:$DB?prepareThreshold=0
flyway.user=postgres
flyway.password=n0t-read-from-here
flyway.schemas=app
flyway.table=fw_history
flyway.locations=filesystem:sql
flyway.placeholders.owner = app_owner
flyway.outOfOrder = true
flyway.connectRetries=3
flyway.baselineDescription=first \\
    baseline
EOF
# no migdeck.ini: ./flyway.conf is read (PGDATABASE would win over the file's database)
unset_db() { env -u PGDATABASE $BIN "$@" >"$OUT" 2>"$ERR" </dev/null; rc=$?; }
unset_db config
expect_rc 0 "flyway.conf: read without migdeck.ini"
expect_fgrep "$OUT" "database.conninfo = dbname=$DB user=postgres  (flyway.conf:2)" "flyway.conf: JDBC URL as a conninfo"
expect_fgrep "$OUT" "history.schema = app  (flyway.conf:5)" "flyway.conf: schemas -> history schema"
expect_fgrep "$OUT" "history.foreign_table = fw_history  (flyway.conf:6)" "flyway.conf: table -> the table to adopt"
expect_fgrep "$OUT" "workspace.pending = $W/sql  (flyway.conf:7)" "flyway.conf: locations -> the one folder"
expect_fgrep "$OUT" "placeholders.owner = app_owner  (flyway.conf:8)" "flyway.conf: placeholders"
expect_fgrep "$ERR" "flyway.conf:4: flyway.password is ignored" "flyway.conf: password in the file ignored"
expect_fgrep "$ERR" "JDBC-only parameters ignored: prepareThreshold" "flyway.conf: JDBC-only parameter named"
expect_no_fgrep "$OUT" "n0t-read-from-here" "flyway.conf: the password never printed (out)"
expect_fgrep "$OUT" "flyway.outOfOrder = true  (flyway.conf:9)" "flyway.conf: config lists a Flyway-only switch and its line"
expect_fgrep "$OUT" "flyway.baselineDescription = first baseline  (flyway.conf:11)" "flyway.conf: a continued value, from its first line"
expect_fgrep "$OUT" "flyway.cleanDisabled = true  (default)" "flyway.conf: Flyway's default shown as such"
expect_fgrep "$OUT" "flyway.validateOnMigrate = true  (default)" "flyway.conf: validateOnMigrate listed"
expect_fgrep "$OUT" "flyway.baselineOnMigrate = false  (default)" "flyway.conf: baselineOnMigrate listed"
expect_fgrep "$OUT" "flyway.schemas = app  (flyway.conf:5)" "flyway.conf: schemas listed"
expect_fgrep "$OUT" "database.connect_retries = 3  (flyway.conf:10)" "flyway.conf: connectRetries is [database] connect_retries"
expect_no_fgrep "$OUT" "flyway.password" "flyway.conf: no password line in config"
expect_no_fgrep "$ERR" "n0t-read-from-here" "flyway.conf: the password never printed (err)"
run -c flyway.conf config
expect_rc 0 "flyway.conf: named with -c"
expect_fgrep "$OUT" "history.foreign_schema = app  (flyway.conf:5)" "flyway.conf: -c reads it too"
run -c "$HERE/migdeck.ini.example" config
expect_no_fgrep "$OUT" "flyway." "config: no flyway.* lines without a flyway.conf"

unset_db adopt --yes
expect_rc 0 "flyway.conf: adopt the renamed table in schema app"
expect_fgrep "$OUT" "Adopted: 3 rows recorded in app.schema_versions" "flyway.conf: migdeck's history beside Flyway's"
unset_db info
expect_rc 0 "flyway.conf: info"
expect_fgrep "$OUT" "History:  app.schema_versions" "flyway.conf: info is status"
expect_fgrep "$OUT" "3 applied, 1 to run" "flyway.conf: info counts"
unset_db migrate
expect_rc 0 "flyway.conf: migrate V4"
expect_fgrep "$OUT" "Applied: V4__Add_email.sql" "flyway.conf: V4 applied"
unset_db undo --yes
expect_rc 0 "flyway.conf: undo runs the U file"
expect_fgrep "$OUT" "Rolled back: U4__Add_email.sql" "flyway.conf: U4 ran"
unset_db validate
expect_rc 0 "flyway.conf: validate"
unset_db clean --yes
expect_rc 3 "flyway.conf: clean refused while cleanDisabled (Flyway's default)"
expect_fgrep "$ERR" "clean is disabled" "flyway.conf: says why"
expect_eq "$(q "SELECT to_regclass('app.fw_history') IS NOT NULL")" "t" "flyway.conf: refused clean changed nothing"
printf 'flyway.cleanDisabled=false\n' >>flyway.conf
MIGDECK_PRODUCTION=1 unset_db clean --yes
expect_rc 3 "flyway.conf: clean refused on a production target"
expect_fgrep "$ERR" "is a production target" "flyway.conf: says production"
unset_db clean
expect_rc 3 "flyway.conf: clean without --yes refused"
expect_eq "$(q "SELECT to_regclass('app.fw_history') IS NOT NULL")" "t" "flyway.conf: unconfirmed clean changed nothing"
unset_db clean --yes
expect_rc 0 "flyway.conf: clean"
expect_fgrep "$OUT" "Cleaned: schema app" "flyway.conf: clean says what it dropped"
expect_eq "$(q "SELECT count(*) FROM pg_class WHERE relnamespace = 'app'::regnamespace")" "0" "flyway.conf: schema app emptied"
expect_eq "$(has_table person)" "t" "flyway.conf: other schemas untouched"

# bad flyway.conf values: file:line:col, the key, exit 2
printf '# x\nflyway.url=jdbc:mysql://db/shop\n' >bad.conf
run -c bad.conf status
expect_rc 2 "flyway.conf: a non-PostgreSQL URL"
expect_fgrep "$ERR" "bad.conf:2:12: flyway.url: not a PostgreSQL JDBC URL" "flyway.conf: names file:line:col and key"
printf 'flyway.url=jdbc:postgresql://db/shop?user=a&password=hunter2\n' >bad.conf
run -c bad.conf status
expect_rc 2 "flyway.conf: a password in the URL"
expect_fgrep "$ERR" "a password in flyway.url is refused" "flyway.conf: says the password comes from the environment"
expect_no_fgrep "$ERR" "hunter2" "flyway.conf: the refused password is not printed"
printf 'flyway.sqlMigrationPrefix=M\n' >bad.conf
run -c bad.conf status
expect_rc 2 "flyway.conf: another migration prefix"
expect_fgrep "$ERR" "bad.conf:1:27: flyway.sqlMigrationPrefix: migdeck reads Flyway's default names only" "flyway.conf: prefix refused"

# ---- 6. flyway.baselineOnMigrate ------------------------------------------------------

# bom_ws NAME: V1-V3 (+ R__), with V1 and V2 already in the database by hand
# (no history at all), and a flyway.conf turning baselineOnMigrate on at 2
bom_ws() {
	newdb "$1"
	newws "ws_$1" sql
	rm -f migdeck.ini
	printf 'CREATE TABLE b1 (a int);\n' >sql/V1__b1.sql
	printf 'CREATE TABLE b2 (a int);\n' >sql/V2__b2.sql
	printf 'CREATE TABLE b3 (a int);\n' >sql/V3__b3.sql
	printf 'DROP TABLE b3;\n' >sql/U3__b3.sql
	cat >flyway.conf <<'EOF2'
flyway.locations=filesystem:sql
flyway.baselineOnMigrate=true
flyway.baselineVersion=2
flyway.baselineDescription=taken over
EOF2
}
bom_ws bom
q "CREATE TABLE b1 (a int); CREATE TABLE b2 (a int)" >/dev/null
m -c flyway.conf migrate --dry-run
expect_rc 0 "baselineOnMigrate: dry run"
expect_fgrep "$OUT" "Would baseline: version 2 (taken over)" "baselineOnMigrate: dry run says it would baseline"
expect_fgrep "$OUT" "Would apply: V3__b3.sql" "baselineOnMigrate: dry run would apply V3"
expect_no_fgrep "$OUT" "V1__b1.sql" "baselineOnMigrate: dry run leaves V1 out"
expect_eq "$(has_table schema_versions)" "f" "baselineOnMigrate: the dry run wrote nothing"
m -c flyway.conf migrate
expect_rc 0 "baselineOnMigrate: migrate on a schema with objects and no history"
expect_fgrep "$OUT" "Baselined: version 2 (taken over): flyway.baselineOnMigrate" "baselineOnMigrate: says it baselined"
expect_fgrep "$OUT" "Applied: V3__b3.sql" "baselineOnMigrate: V3 applied"
expect_no_fgrep "$OUT" "Applied: V1__b1.sql" "baselineOnMigrate: V1 not run"
expect_fgrep "$OUT" "Migrations complete: 1 applied" "baselineOnMigrate: only V3 ran"
expect_eq "$(q "SELECT string_agg(version || ':' || kind || ':' || coalesce(script, '') || ':' || description, ' ' ORDER BY id) FROM schema_versions")" \
	"2:baseline:taken over:taken over 3:versioned:V3__b3.sql:b3" "baselineOnMigrate: a baseline row at 2, then V3"
expect_eq "$(q "SELECT count(*) FROM schema_versions_events WHERE action = 'baseline' AND version = '2'")" "1" \
	"baselineOnMigrate: a baseline event"
m -c flyway.conf status
expect_fgrep "$OUT" "3 applied, 0 to run, 3 listed" "baselineOnMigrate: V1 and V2 count as applied"
m -c flyway.conf migrate
expect_rc 0 "baselineOnMigrate: a second migrate"
expect_no_fgrep "$OUT" "Baselined" "baselineOnMigrate: only once (there is a history now)"
expect_eq "$(q "SELECT count(*) FROM schema_versions WHERE kind = 'baseline'")" "1" "baselineOnMigrate: one baseline row"
m -c flyway.conf rollback --yes
expect_rc 0 "baselineOnMigrate: V3 rolls back"

# an empty schema is migrated from the start, as Flyway does
bom_ws bom_empty
m -c flyway.conf migrate
expect_rc 0 "baselineOnMigrate: migrate on an empty schema"
expect_no_fgrep "$OUT" "Baselined" "baselineOnMigrate: no baseline on an empty schema"
expect_fgrep "$OUT" "Migrations complete: 3 applied" "baselineOnMigrate: everything ran"

# off (the default): the same database as the first case runs V1 and fails on it
bom_ws bom_off
q "CREATE TABLE b1 (a int); CREATE TABLE b2 (a int)" >/dev/null
sed -i '/baselineOnMigrate/d' flyway.conf
m -c flyway.conf migrate
expect_rc 1 "baselineOnMigrate off: V1 runs again and fails"
expect_no_fgrep "$OUT" "Baselined" "baselineOnMigrate off: no baseline"
expect_eq "$(q "SELECT count(*) FROM schema_versions WHERE kind = 'baseline'")" "0" "baselineOnMigrate off: no baseline row"

# a Flyway table beside it (even empty) is not "no history": no baseline
bom_ws bom_fw
q "CREATE TABLE b1 (a int); CREATE TABLE flyway_schema_history (installed_rank integer PRIMARY KEY,
	version varchar(50), description varchar(200) NOT NULL, type varchar(20) NOT NULL,
	script varchar(1000) NOT NULL, checksum integer, installed_by varchar(100) NOT NULL,
	installed_on timestamp NOT NULL DEFAULT now(), execution_time integer NOT NULL, success boolean NOT NULL)" >/dev/null
m -c flyway.conf migrate
expect_no_fgrep "$OUT" "Baselined" "baselineOnMigrate: not beside a Flyway table"

# ---- 7. connect retries ([database] connect_retries, flyway.connectRetries) ---------------

cd "$T" || exit 1
retries_in() { grep -c 'migdeck: cannot connect (.*): retry [0-9]* of [0-9]* in [0-9]* s$' "$1"; }
# nothing listens on this socket folder: each retry announced, then exit 5
mkdir -p "$T/nosrv"
t0=$(date +%s)
run -d "host=$T/nosrv dbname=x" -o database.connect_retries=2 -o database.connect_retries_interval=1 status
t1=$(date +%s)
expect_rc 5 "connect retries: no server, exit 5 after the retries"
expect_fgrep "$ERR" "migdeck: cannot connect (connection to server on socket \"$T/nosrv/.s.PGSQL" "connect retries: libpq's reason"
expect_fgrep "$ERR" "): retry 1 of 2 in 1 s" "connect retries: first retry announced"
expect_fgrep "$ERR" "): retry 2 of 2 in 1 s" "connect retries: second retry, pause capped by the interval"
expect_eq "$(retries_in "$ERR")" "2" "connect retries: two retries, no more"
expect_fgrep "$ERR" "migdeck: cannot connect to host=$T/nosrv" "connect retries: the final error"
expect_eq "$([ $((t1 - t0)) -ge 2 ] && echo waited)" "waited" "connect retries: the pauses happened"
# the default is no retry
run -d "host=$T/nosrv dbname=x" status
expect_rc 5 "connect retries: default, exit 5"
expect_eq "$(retries_in "$ERR")" "0" "connect retries: none by default"
# from a flyway.conf, shown by migdeck config with its line
printf 'flyway.connectRetries=1\nflyway.connectRetriesInterval=5\n' >"$T/retry.conf"
run -c "$T/retry.conf" config
expect_fgrep "$OUT" "database.connect_retries = 1  ($T/retry.conf:1)" "connect retries: flyway.connectRetries is [database] connect_retries"
expect_fgrep "$OUT" "database.connect_retries_interval = 5  ($T/retry.conf:2)" "connect retries: flyway.connectRetriesInterval"
run -c "$T/retry.conf" -d "host=$T/nosrv dbname=x" validate
expect_rc 5 "connect retries (flyway.conf): exit 5"
expect_fgrep "$ERR" "): retry 1 of 1 in 1 s" "connect retries (flyway.conf): starts at 1 s, as Flyway"
printf 'flyway.connectRetries=lots\n' >"$T/retry.conf"
run -c "$T/retry.conf" status
expect_rc 2 "connect retries: a bad flyway.connectRetries"
expect_fgrep "$ERR" "retry.conf:1:23: flyway.connectRetries: expected a whole number from 0 to 1000" "connect retries: names file:line:col"
run -o database.connect_retries=-1 status
expect_rc 2 "connect retries: a bad [database] connect_retries"
expect_fgrep "$ERR" "connect_retries" "connect retries: names the setting"
# a server that answers is not retried: a wrong password fails at once
q "DO \$\$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'md_password_user') THEN
	CREATE ROLE md_password_user LOGIN PASSWORD 'right-one'; END IF; END\$\$" >/dev/null
PGPASSWORD=wrong-one-xyz run -d "user=md_password_user dbname=postgres" -o database.connect_retries=3 status
expect_rc 5 "connect retries: wrong password, exit 5"
expect_eq "$(retries_in "$ERR")" "0" "connect retries: a wrong password is not retried"
expect_no_fgrep "$ERR" "wrong-one-xyz" "connect retries: the password never printed"

# a server that starts a few seconds late: a second cluster, started in the
# background after 2 s while migdeck retries
if [ "$(id -u)" = 0 ]; then asrv() { runuser -u postgres -- "$@"; }; else asrv() { "$@"; }; fi
LATE=$(mktemp -d "${TMPDIR:-/tmp}/mdlate.XXXXXX") || exit 1
[ "$(id -u)" = 0 ] && chown postgres "$LATE"
trap 'asrv "$MIGDECK_TEST_PGBIN/pg_ctl" -D "$LATE/data" stop -m immediate >/dev/null 2>&1; rm -rf "$T" "$LATE"' EXIT
if (cd "$LATE" && asrv "$MIGDECK_TEST_PGBIN/initdb" -D "$LATE/data" -A trust --nosync -U postgres \
	-E UTF8 --locale=C) >"$T/late.out" 2>&1; then
	printf "listen_addresses = ''\nunix_socket_directories = '%s'\nport = 5999\nfsync = off\n" "$LATE" \
		>>"$LATE/data/postgresql.conf"
	(sleep 2; cd "$LATE" && asrv "$MIGDECK_TEST_PGBIN/pg_ctl" -D "$LATE/data" -l "$LATE/log" start) \
		>/dev/null 2>&1 &
	run -d "host=$LATE port=5999 dbname=postgres" -o database.connect_retries=8 \
		-o database.connect_retries_interval=2 status
	wait
	expect_rc 0 "connect retries: a server that starts late is reached"
	expect_fgrep "$ERR" "): retry 1 of 8 in 1 s" "connect retries: retried while it was down"
	expect_fgrep "$OUT" "Database: host=$LATE port=5999" "connect retries: status ran on the late server"
	asrv "$MIGDECK_TEST_PGBIN/pg_ctl" -D "$LATE/data" stop -m immediate >/dev/null 2>&1
else
	bad "connect retries: initdb of the second cluster failed"
	show "$T/late.out"
fi

cd "$HERE" || exit 1
echo "test_adopt.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
