#!/bin/sh
# CLI tests of `migdeck statements` and `migdeck config`: output format,
# flags, JSON, and exit codes on bad input.  Needs MIGDECK_BIN.
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
cd "$T" || exit 1
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# run CMD...: captures stdout in out, stderr in err, status in rc
run() {
	$BIN "$@" >out 2>err
	rc=$?
}

expect_rc() { # want description
	if [ "$rc" -eq "$1" ]; then ok; else bad "$2: exit $rc, want $1"; sed 's/^/  | /' err; fi
}

expect_line() { # file line description
	if grep -qxF -- "$2" "$1"; then ok; else bad "$3: no line '$2' in $1"; sed 's/^/  | /' "$1"; fi
}

expect_grep() { # file pattern description
	if grep -q -- "$2" "$1"; then ok; else bad "$3: no '$2' in $1"; sed 's/^/  | /' "$1"; fi
}

printf 'CREATE TABLE t (a int);\n\n-- a comment\nCREATE INDEX CONCURRENTLY i ON t (a);\nINSERT INTO t VALUES (1)' > a.sql
run statements a.sql
expect_rc 0 "statements a.sql"
expect_line out "$(printf '1\t1:1\t-\tCREATE TABLE t (a int);')" "plain statement line"
expect_line out "$(printf '2\t4:1\tno-transaction\tCREATE INDEX CONCURRENTLY i ON t (a);')" "no-transaction flag"
expect_line out "$(printf '3\t5:1\tno-semicolon\tINSERT INTO t VALUES (1)')" "last statement without semicolon"
[ "$(wc -l < out)" -eq 3 ] && ok || bad "three lines expected"

run statements --json a.sql
expect_rc 0 "statements --json"
expect_grep out '"flags":\["no-transaction"\]' "json flags"
expect_grep out '"line":4,"col":1' "json position"
expect_grep out '"ok":true' "json ok"
if command -v python3 >/dev/null 2>&1; then
	if python3 -c 'import json,sys; d=json.load(open("out")); assert len(d[0]["statements"])==3' 2>/dev/null; then ok; else bad "json does not parse"; fi
fi

# an unterminated string: file:line:col, exit 1
printf "SELECT 1;\nSELECT 'oops;\n" > broken.sql
run statements broken.sql
expect_rc 3 "unterminated string"
expect_grep err "broken.sql:2:8: unterminated quoted string" "error names file:line:col"

# psql meta-commands are reported with line:col, exit 1
printf 'SELECT 1;\n  \\i other.sql\n' > meta.sql
run statements meta.sql
expect_rc 3 "meta-command"
expect_grep err 'meta.sql:2:3: psql meta-command \\i other.sql is not supported' "meta-command message"

# placeholders: defined through -o, undefined is an error with line:col
printf 'CREATE SCHEMA ${app};\nSELECT ${missing};\n' > ph.sql
run -o placeholders.app=shop statements ph.sql
expect_rc 3 "undefined placeholder"
expect_grep err 'ph.sql:2:8: placeholder ${missing} is not defined' "undefined placeholder message"
run -o placeholders.app=shop -o placeholders.missing=1 statements ph.sql
expect_rc 0 "all placeholders defined"

# a file that does not exist
run statements nope.sql
expect_rc 3 "missing file"
expect_grep err "nope.sql: cannot open" "missing file message"

# usage errors exit 2
run statements
expect_rc 2 "no file"
run frobnicate
expect_rc 2 "unknown command"
run --help
expect_rc 0 "--help"
expect_grep out "statements" "--help lists statements"
run --version
expect_rc 0 "--version"
expect_grep out "^migdeck [0-9]" "--version output"

# config: a bad value names file:line and key, exit 2; a password is masked
printf '[run]\nlock_timeout = abc\n' > bad.ini
run -c bad.ini config
expect_rc 2 "bad lock_timeout"
expect_grep err "bad.ini:2" "bad value names file:line"
expect_grep err "lock_timeout" "bad value names the key"
printf '[database]\nurl = postgres://bob:s3cretpw@db.example/app\n' > pw.ini
run -c pw.ini config
expect_rc 0 "config with a password in the url"
if grep -q s3cretpw out err; then bad "password printed"; else ok; fi
expect_grep out '\*\*\*\*' "password shown as ****"

echo "test_statements.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
