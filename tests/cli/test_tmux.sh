#!/bin/sh
# The console in a real terminal: tmux runs migdeck (no command) in a pane,
# send-keys types, capture-pane reads the screen.  Proves the keys, the
# help, a resize to tabs and to "too small", and that the terminal is
# restored (stty settings equal before and after) on quit, SIGTERM, Ctrl-C
# and a crash.  Runs inside tests/pg_harness.sh (needs MIGDECK_BIN, PG*).
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
root=$(cd "$(dirname "$0")/../.." && pwd)
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if ! command -v tmux >/dev/null 2>&1; then
	bad "tmux is not installed (make deps installs it)"
	echo "$pass passed, $fail failed"
	exit 1
fi
# valgrind would make every wait below a guess: this test runs the binary bare
T=$(mktemp -d)
# a tmux server of its own for each start (a fresh socket: no race with
# the previous server's exit)
n=0
SOCK="$T/tmux.0"
tm() { tmux -S "$SOCK" "$@"; }
cleanup() {
	for s in "$T"/tmux.*; do [ -S "$s" ] && tmux -S "$s" kill-server 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# a small workspace: 002 and 003 applied, the rest pending
mkdir -p "$T/ws/applied"
cp -R "$root/tests/ui/fixture/pending" "$root/tests/ui/fixture/archive" "$T/ws/"
psql -X -q -c "CREATE DATABASE ui_tmux"
psql -X -q -d ui_tmux -f "$T/ws/archive/consolidated_schema.sql"
DB="dbname=ui_tmux"
DBARG="-d \"$DB\"" # (empty: migdeck.ini in the workspace names the database)
(cd "$T/ws" && $BIN -q -d "$DB" migrate --to 003 >/dev/null) || bad "fixture migrate"

# wait_for PATTERN [SECONDS]: until the pane shows PATTERN
wait_for() {
	i=0
	limit=$((${2:-15} * 10))
	while [ $i -lt $limit ]; do
		tm capture-pane -p -t md > "$T/pane" 2>/dev/null
		if grep -q -- "$1" "$T/pane"; then return 0; fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# start a pane that records the stty settings, runs migdeck with no
# command, then prints its exit status and the settings again
start() { # extra environment words
	# (the pane's shell survives a Ctrl-C, as an interactive one would;
	# a trap, not an ignore, so migdeck starts with SIGINT at its default)
	cat > "$T/pane.sh" <<EOF
trap : INT
cd "$T/ws"
stty -g > "$T/stty.before"
sh -c 'echo \$\$ > "$T/pid"; exec env $* LANG=C.UTF-8 "$BIN" $DBARG'
echo "EXIT=\$?"
stty -g > "$T/stty.after"
sleep 600
EOF
	rm -f "$T/stty.before" "$T/stty.after" "$T/pid"
	tm kill-server 2>/dev/null
	n=$((n + 1))
	SOCK="$T/tmux.$n"
	TERM=xterm-256color tm -f /dev/null new-session -d -s md -x 120 -y 30 "sh $T/pane.sh"
}

restored() { # what
	i=0
	while [ ! -s "$T/stty.after" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if [ -s "$T/stty.after" ] && cmp -s "$T/stty.before" "$T/stty.after"; then ok; else bad "$1: terminal settings not restored"; fi
}

# ---- keys, help, resize, quit ---------------------------------------------------------
start
if wait_for "connected" && wait_for "Pending (6)"; then ok; else bad "first screen"; cat "$T/pane"; fi
grep -q '^│>. 005 add status' "$T/pane" && ok || { bad "selection on the first pending file"; cat "$T/pane"; }
grep -q '│ ✓ 002 add email' "$T/pane" && ok || bad "an applied file with its mark"
tm send-keys -t md j
wait_for '^│>. 006 add notes' 5 && ok || { bad "j moves down"; cat "$T/pane"; }
tm send-keys -t md '?'
wait_for 'Help: keys and marks' 5 && ok || bad "? opens the help"
grep -q 'half-page-down' "$T/pane" && ok || bad "help lists the actions"
tm send-keys -t md q
wait_for 'Preview: 006_add_notes.sql' 5 && ok || bad "q closes the help"
tm send-keys -t md /
tm send-keys -t md -l 'index'
tm send-keys -t md Enter
wait_for 'cannot run in a transaction' 5 && ok || { bad "search selects the CONCURRENTLY file"; cat "$T/pane"; }
tm resize-window -t md -x 80 -y 24
wait_for '\[Pending 6\]' 5 && ok || { bad "80x24 shows tabs"; cat "$T/pane"; }
tm resize-window -t md -x 50 -y 12
wait_for 'terminal too small: 50x12' 5 && ok || { bad "50x12 is too small"; cat "$T/pane"; }
tm resize-window -t md -x 120 -y 30
wait_for 'Pending (6)' 5 && ok || bad "back to 120x30"
tm send-keys -t md q
wait_for 'EXIT=0' 5 && ok || { bad "q quits with 0"; cat "$T/pane"; }
restored "quit"

# ---- the stepper in a real terminal: step, Ctrl-C cancels a statement, commit -------
printf 'SELECT pg_sleep(60);\n' > "$T/ws/pending/011_slow.sql"
start
wait_for "Pending (7)" || bad "stepper start"
tm send-keys -t md /
tm send-keys -t md -l 'add_status'
tm send-keys -t md Enter
tm send-keys -t md s
wait_for 'Stepping: pending/005_add_status.sql (apply, in a transaction)' 5 && ok || { bad "s opens the stepper"; cat "$T/pane"; }
tm send-keys -t md n
wait_for 'every statement ran' 10 && ok || { bad "n runs the statement"; cat "$T/pane"; }
grep -q 'Lock  AccessExclusiveLock on orders' "$T/pane" || wait_for 'Lock  AccessExclusiveLock on orders' 5 && ok || bad "the stepper's lock shows"
tm send-keys -t md c
wait_for 'committed (q closes)' 10 && ok || { bad "c commits"; cat "$T/pane"; }
tm send-keys -t md q
wait_for 'Pending (6)' 5 && ok || bad "q closes the stepper"
[ -f "$T/ws/applied/005_add_status.sql" ] && ok || bad "005 moved to applied/"
# Ctrl-C cancels a running statement and the console stays
tm send-keys -t md /
tm send-keys -t md -l 'slow'
tm send-keys -t md Enter
tm send-keys -t md s
wait_for 'Stepping: pending/011_slow.sql' 5 || bad "the slow file's stepper"
tm send-keys -t md n
wait_for 'running (Ctrl-C cancels' 5 && ok || { bad "the statement runs"; cat "$T/pane"; }
tm send-keys -t md C-c
wait_for 'canceling statement due to user request' 10 && ok || { bad "Ctrl-C cancels the statement"; cat "$T/pane"; }
grep -q 'EXIT=' "$T/pane" && bad "Ctrl-C left the console" || ok
tm send-keys -t md x
wait_for 'aborted (q closes)' 10 && ok || { bad "x aborts"; cat "$T/pane"; }
tm send-keys -t md q
wait_for 'Pending (6)' 5 && ok || bad "q closes the stepper"
tm send-keys -t md q
wait_for 'EXIT=0' 5 && ok || { bad "q quits after stepping"; cat "$T/pane"; }
restored "stepper"
[ "$(psql -X -A -t -d ui_tmux -c "SELECT count(*) FROM schema_versions WHERE version = '005' AND success")" = 1 ] &&
	ok || bad "005 recorded"
[ "$(psql -X -A -t -d ui_tmux -c "SELECT count(*) FROM schema_versions WHERE version = '011'")" = 0 ] &&
	ok || bad "011 not recorded"
rm -f "$T/ws/pending/011_slow.sql"

# ---- SIGTERM ---------------------------------------------------------------------------
start
wait_for "Pending (" || bad "second start"
kill -TERM "$(cat "$T/pid")"
wait_for 'EXIT=143' 5 && ok || { bad "SIGTERM: exit 143"; cat "$T/pane"; }
restored "SIGTERM"

# ---- Ctrl-C ----------------------------------------------------------------------------
start
wait_for "Pending (" || bad "third start"
tm send-keys -t md C-c
wait_for 'EXIT=130' 5 && ok || { bad "Ctrl-C: exit 130"; cat "$T/pane"; }
restored "Ctrl-C"

# ---- a crash ---------------------------------------------------------------------------
start MIGDECK_TEST_CRASH=console
wait_for 'EXIT=139' 10 && ok || { bad "crash: killed by SIGSEGV (exit 139)"; cat "$T/pane"; }
grep -q 'the console crashed; the terminal was restored' "$T/pane" && ok || bad "crash message"
restored "crash"

# ---- targets: t switches in a real terminal --------------------------------------------
# two targets on two databases; the folders follow a; t, j, Enter goes to b
psql -X -q -c "CREATE DATABASE ui_tmux_b"
cat > "$T/ws/migdeck.ini" <<EOF
[workspace]
tracks = a

[target.a]
conninfo = dbname=ui_tmux

[target.b]
conninfo = dbname=ui_tmux_b
production = true
EOF
DBARG=
start
wait_for '| a | ui_tmux | connected' && ok || { bad "targets: the title names target a"; cat "$T/pane"; }
tm send-keys -t md t
wait_for 'Switch to target' 5 && ok || { bad "targets: t opens the chooser"; cat "$T/pane"; }
grep -q '>a  *in force, folders follow it' "$T/pane" && grep -q ' b  *production' "$T/pane" &&
	ok || { bad "targets: the chooser lists a (in force) and b (production)"; cat "$T/pane"; }
tm send-keys -t md j Enter
wait_for '| b (production) | ui_tmux_b | connected | folders follow a' 10 && ok ||
	{ bad "targets: Enter switches to b"; cat "$T/pane"; }
wait_for 'Other     a: ui_tmux, latest 005' 10 && ok ||
	{ bad "targets: a's own state beside b"; cat "$T/pane"; }
tm send-keys -t md q
wait_for 'EXIT=0' 5 && ok || { bad "targets: q quits"; cat "$T/pane"; }
restored "targets"
rm -f "$T/ws/migdeck.ini"
DBARG="-d \"$DB\""
[ "$(psql -X -A -t -d ui_tmux_b -c "SELECT to_regclass('schema_versions') IS NULL")" = t ] &&
	ok || bad "targets: looking at b changed it"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
