#!/bin/sh
# Scripted screens of the console (tests/ui/*.keys, see tests/ui/README.md)
# plus the console's errors: a bad [keys] setting, a bad key script, no
# terminal.  Runs inside tests/pg_harness.sh (needs MIGDECK_BIN and PG*).
#
# MIGDECK_UI_UPDATE=1 writes the screens into tests/ui/expected/ instead of
# comparing (then read the diff before committing).
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
UI=$root/tests/ui
# a socket path of fixed length (the screens cut long lines at the same
# column whatever TMPDIR is): a symlink to the harness's socket folder
T=$(mktemp -d /tmp/mdui.XXXXXX)
bgpids=""
cleanup() {
	for p in $bgpids; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ln -s "$PGHOST" "$T/s"
SOCK=$T/s
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# ---- the fixture: every state mark in one workspace --------------------------------
# 001 archived; 002 drifted (cosmetic); 003 drifted (real); 004 out of order
# (a late file); 005 applied, its file gone; 006 rolled back; 007 applied;
# 008 failed (run outside a transaction); 009 pending (CREATE INDEX CONCURRENTLY); 010 misplaced (moved
# into applied/ by hand).  Git: applied files committed, edits modified,
# the late file and the moved one untracked.
FIX=$T/fixture
FIXDB="host=$SOCK port=$PGPORT dbname=ui_fixture"
mkdir -p "$FIX/applied"
cp -R "$UI/fixture/pending" "$UI/fixture/archive" "$FIX/"
(
	set -e
	cd "$FIX"
	git init -q .
	git config user.name "migdeck tests"
	git config user.email "tests@migdeck.invalid"
	git add -A
	git commit -q -m "fixture"
	q -c "CREATE DATABASE ui_fixture"
	q -d ui_fixture -f archive/consolidated_schema.sql
	$BIN -q -d "$FIXDB" migrate --to 007 >/dev/null
	# outside a transaction a failure leaves a failed row
	$BIN -q -d "$FIXDB" -o run.transaction=none migrate --to 008 >/dev/null 2>&1 && exit 1
	$BIN -q -y -d "$FIXDB" rollback --version 006 >/dev/null
	# (migdeck may have committed its moves itself: [git] commit)
	git add -A
	git diff --cached --quiet || git commit -q -m "applied"
	rm applied/005_add_status.sql applied/005_rollback_add_status.sql
	printf 'UPDATE orders SET total = 0 WHERE total IS NULL;\n' > pending/004_late_fix.sql
	printf -- '-- reviewed\n' >> applied/002_add_email.sql
	sed 's/DEFAULT 0/DEFAULT 1/' applied/003_create_orders.sql > x && mv x applied/003_create_orders.sql
	mv pending/010_order_totals.sql pending/010_rollback_order_totals.sql applied/
) || { bad "fixture setup failed"; echo "$pass passed, $fail failed"; exit 1; }
ok

# an empty workspace on an empty database
EMPTY=$T/empty
mkdir -p "$EMPTY"
q -c "CREATE DATABASE ui_empty"
EMPTYDB="host=$SOCK port=$PGPORT dbname=ui_empty"

# Replace what changes from run to run (commit ids too: the fixture's
# commits carry the time they were made; a duration's padding goes with
# its digits, which are more under valgrind).
normalize() {
	# (a timestamp cut at a pane's edge ends anywhere in its seconds,
	# fraction or zone: all of that goes)
	sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}[0-9:.+-]*/YYYY-MM-DD hh:mm/g' \
		-e 's/[0-9]{2}:[0-9]{2}:[0-9]{2}/hh:mm:ss/g' \
		-e 's/ *[0-9]+ ms/ N ms/g' \
		-e 's/pid [0-9]+/pid N/g' \
		-e 's/waits [0-9]+ s/waits N s/g' \
		-e 's/PostgreSQL [0-9]+[.][0-9]+/PostgreSQL NN.N/g' \
		-e "s#port=$PGPORT#port=PPPPP#g" \
		-e "s#$T/#/tmp/mdui.XXXXXX/#g" \
		-e 's/migdeck [0-9]+[.][0-9]+[.][0-9]+/migdeck V.V.V/g' \
		-e 's/HEAD [0-9a-f]{10}/HEAD xxxxxxxxxx/g' \
		-e 's/git commit [0-9a-f]{12}/git commit xxxxxxxxxxxx/g' \
		-e 's/elapsed [0-9]+ s/elapsed N s/g' \
		-e 's/(held for|waits) [0-9]+ s/\1 N s/g' |
		# a pid or a wait has as many digits as it has: where one shows,
		# the padding between its text and the pane's right border varies
		sed -E -e '/pid N|waits N s|elapsed N s|held for N s| N ms/ s/ +│$/ │/'
}

# ---- the lock scenario's sessions ---------------------------------------------------
# one session holds migdeck's lock and an ACCESS EXCLUSIVE lock on orders,
# a second waits for orders behind it
start_lock_sessions() {
	PGAPPNAME=holder psql -X -q -d ui_fixture -c "SELECT pg_advisory_lock(1835624292, hashtext('\"public\".\"schema_versions\"'))" \
		-c "BEGIN" -c "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
	bgpids="$bgpids $!"
	i=0
	until [ "$(psql -X -A -t -d ui_fixture -c "SELECT count(*) FROM pg_locks WHERE relation = 'orders'::regclass AND granted")" -ge 1 ] || [ $i -ge 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	PGAPPNAME=waiter psql -X -q -d ui_fixture -c "SELECT count(*) FROM orders" >/dev/null 2>&1 &
	bgpids="$bgpids $!"
	i=0
	until [ "$(psql -X -A -t -d ui_fixture -c "SELECT count(*) FROM pg_locks WHERE NOT granted")" -ge 1 ] || [ $i -ge 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

stop_lock_sessions() {
	psql -X -q -d ui_fixture -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ('holder', 'waiter')" >/dev/null
	for p in $bgpids; do wait "$p" 2>/dev/null; done
	bgpids=""
}

# ---- targets and groups (issue 8): "# setup: targets" ------------------------------------
# A copy of the fixture is the tracked target "staging" (its own database,
# as "copy" makes); "prod" (production) has everything up to 007 applied,
# "dev" up to 003 (both migrated in a scratch copy of the files, so no file
# of the scenario moves); "qa" cannot be reached.  Group "tenants" lists
# the four targets; group "shards" the databases ui_NAME_s1 (as prod) and
# ui_NAME_s2 (as the fixture: its latest run failed), by a query on staging.
# The scenario runs without -d: migdeck.ini in its folder says it all.
targets_made=0
make_target_templates() {
	[ $targets_made = 1 ] && return 0
	for t in prod:007 dev:003; do
		tdb=ui_t_${t%%:*}
		tws=$T/tws.${t%%:*}
		mkdir -p "$tws/applied"
		cp -R "$UI/fixture/pending" "$UI/fixture/archive" "$tws/"
		q -c "CREATE DATABASE $tdb" &&
			q -d "$tdb" -f "$tws/archive/consolidated_schema.sql" &&
			(cd "$tws" && $BIN -q -d "host=$SOCK port=$PGPORT dbname=$tdb" -o git.commit=off \
				migrate --to "${t#*:}" >/dev/null) || return 1
	done
	targets_made=1
}
make_targets() { # NAME DIR
	make_target_templates || return 1
	q -c "CREATE DATABASE \"ui_$1\" TEMPLATE ui_fixture" &&
		q -c "CREATE DATABASE \"ui_$1_prod\" TEMPLATE ui_t_prod" &&
		q -c "CREATE DATABASE \"ui_$1_dev\" TEMPLATE ui_t_dev" &&
		q -c "CREATE DATABASE \"ui_$1_s1\" TEMPLATE ui_t_prod" &&
		q -c "CREATE DATABASE \"ui_$1_s2\" TEMPLATE ui_fixture" || return 1
	cat > "$2/migdeck.ini" <<EOF
[database]
conninfo = host=$SOCK port=$PGPORT dbname=ui_$1

[workspace]
tracks = staging

[target.staging]
conninfo = host=$SOCK port=$PGPORT dbname=ui_$1

[target.prod]
conninfo = host=$SOCK port=$PGPORT dbname=ui_$1_prod
production = true

[target.dev]
conninfo = host=$SOCK port=$PGPORT dbname=ui_$1_dev

[target.qa]
conninfo = host=$T/nowhere port=5 dbname=qa connect_timeout=2

[group.tenants]
targets = staging, prod, dev, qa

[group.shards]
target = staging
members = databases
query = SELECT datname FROM pg_database WHERE datname ~ '^ui_$1_s[0-9]\$' ORDER BY 1
EOF
}

# waits until the file $1 exists (at most 30 s)
wait_file() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e "$1" ]
}

# ---- the scenarios -------------------------------------------------------------------
for keys in "$UI"/*.keys; do
	name=$(basename "$keys" .keys)
	setup=$(sed -n 's/^# setup: *//p' "$keys" | head -1)
	size=$(sed -n 's/^# size: *//p' "$keys" | head -1)
	envs=$(sed -n 's/^# env: *//p' "$keys" | head -1)
	unset_pg=
	cols=${size%x*}
	rows=${size#*x}
	out=$T/out.$name
	mkdir -p "$out"
	case "$setup" in
	fixture | locks) dir=$FIX conn=$FIXDB ;;
	copy)
		# a scenario that changes things gets its own copy of the
		# fixture: the folders (a git repository) and the database
		dir=$T/copy.$name
		cp -a "$FIX" "$dir"
		q -c "CREATE DATABASE \"ui_$name\" TEMPLATE ui_fixture"
		conn="host=$SOCK port=$PGPORT dbname=ui_$name"
		# "# file: PATH TEXT": a file more in the copy
		sed -n 's/^# file: *//p' "$keys" | while read -r fpath ftext; do
			printf '%s\n' "$ftext" > "$dir/$fpath"
		done
		;;
	targets)
		dir=$T/copy.$name
		cp -a "$FIX" "$dir"
		make_targets "$name" "$dir" || { bad "$name: targets setup failed"; continue; }
		conn=
		# (libpq's PG* variables would beat the ini's [database]: the
		# harness's socket folder changes from run to run)
		unset_pg="-u PGHOST -u PGPORT -u PGDATABASE"
		;;
	down) dir=$FIX conn="host=$T/nowhere port=5 dbname=ui_fixture connect_timeout=2" ;;
	empty) dir=$EMPTY conn=$EMPTYDB ;;
	*) bad "$name: unknown setup '$setup'"; continue ;;
	esac
	[ "$setup" = locks ] && start_lock_sessions
	# (no -d when the scenario's migdeck.ini names the databases)
	set -- console --keys "$keys"
	[ -n "$conn" ] && set -- -d "$conn" "$@"
	# shellcheck disable=SC2086 # envs is a list of NAME=value words
	(cd "$dir" && exec env $unset_pg LANG=C.UTF-8 LC_ALL= TERM=xterm-256color COLUMNS="$cols" LINES="$rows" \
		TZ=UTC MIGDECK_DUMP_DIR="$out" $envs $BIN "$@") \
		>"$out.stdout" 2>"$out.stderr" &
	cpid=$!
	# "# reader-after: SCREEN TABLE": once SCREEN is saved, a session
	# reads TABLE (it queues behind the stepper's lock), then "go" appears
	reader=$(sed -n 's/^# reader-after: *//p' "$keys" | head -1)
	rpid=""
	if [ -n "$reader" ]; then
		if wait_file "$out/${reader% *}"; then
			PGAPPNAME=reader psql -X -q -d "ui_$name" -c "SELECT count(*) FROM ${reader#* }" >/dev/null 2>&1 &
			rpid=$!
		fi
		: > "$out/go"
	fi
	wait $cpid
	rc=$?
	[ -n "$rpid" ] && { kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; }
	rm -f "$out/go"
	[ "$setup" = locks ] && stop_lock_sessions
	if [ $rc -ne 0 ]; then
		bad "$name: console exit $rc"
		sed 's/^/  | /' "$out.stderr"
		continue
	fi
	saved=$(grep -c '^:save-display' "$keys")
	got=$(ls "$out" | wc -l)
	if [ "$saved" -eq "$got" ]; then ok; else bad "$name: $got screens saved, want $saved"; fi
	for f in "$out"/*; do
		screen=$(basename "$f")
		normalize < "$f" > "$f.norm"
		if [ "${MIGDECK_UI_UPDATE:-0}" = 1 ]; then
			mkdir -p "$UI/expected"
			cp "$f.norm" "$UI/expected/$name.$screen"
			ok
		elif [ ! -f "$UI/expected/$name.$screen" ]; then
			bad "$name: no expected screen tests/ui/expected/$name.$screen"
			sed 's/^/  | /' "$f.norm"
		elif diff -u "$UI/expected/$name.$screen" "$f.norm" > "$f.diff"; then
			ok
		else
			bad "$name: screen $screen differs"
			sed 's/^/  | /' "$f.diff"
		fi
	done
done

# ---- what the stepper scenarios left: database, folders, git ---------------------------
qv() { psql -X -A -t -d "$1" -c "$2"; }
if [ -d "$T/copy.step" ]; then
	[ "$(qv ui_step "SELECT count(*) FROM schema_versions WHERE version = '004' AND success AND is_active")" = 1 ] &&
		ok || bad "step: no history row for 004"
	[ "$(qv ui_step "SELECT count(*) FROM schema_versions_events WHERE version = '004' AND action = 'apply' AND outcome = 'ok' AND git_commit IS NOT NULL")" = 1 ] &&
		ok || bad "step: no apply event with its git commit"
	[ -f "$T/copy.step/applied/004_late_fix.sql" ] && [ ! -e "$T/copy.step/pending/004_late_fix.sql" ] &&
		ok || bad "step: 004 not moved to applied/"
	(cd "$T/copy.step" && git log -1 --format=%s --name-status) > "$T/step.log"
	grep -q '^migdeck: apply 004_late_fix to ui_step' "$T/step.log" && grep -q 'applied/004_late_fix.sql' "$T/step.log" &&
		ok || { bad "step: the move is not the last git commit"; cat "$T/step.log"; }
	[ "$(qv ui_step "SELECT git_commit FROM schema_versions WHERE version = '004'")" = "$(cd "$T/copy.step" && git rev-parse HEAD)" ] &&
		ok || bad "step: the history row does not name the commit"
fi
if [ -d "$T/copy.step-abort" ]; then
	[ "$(qv ui_step-abort "SELECT count(*) FROM schema_versions WHERE version = '004'")" = 0 ] &&
		ok || bad "step-abort: a history row was written"
	[ -f "$T/copy.step-abort/pending/004_late_fix.sql" ] && ok || bad "step-abort: 004 moved"
	[ "$(cd "$T/copy.step-abort" && git log -1 --format=%s)" = "$(cd "$FIX" && git log -1 --format=%s)" ] &&
		ok || bad "step-abort: a git commit was made"
fi
if [ -d "$T/copy.step-error" ]; then
	[ "$(qv ui_step-error "SELECT count(*) FROM schema_versions WHERE version = '008' AND success")" = 0 ] &&
		ok || bad "step-error: 008 recorded as a success"
	[ "$(qv ui_step-error "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'email'")" = f ] &&
		ok || bad "step-error: the failed ALTER left its change"
fi
if [ -d "$T/copy.step-locks" ]; then
	[ "$(qv ui_step-locks "SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'notes' AND NOT attisdropped")" = 0 ] &&
		ok || bad "step-locks: the aborted ALTER stayed"
fi
if [ -d "$T/copy.step-cancel" ]; then
	[ "$(qv ui_step-cancel "SELECT count(*) FROM schema_versions WHERE version = '011'")" = 0 ] &&
		ok || bad "step-cancel: 011 recorded"
	[ "$(qv ui_step-cancel "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'")" = 0 ] &&
		ok || bad "step-cancel: the statement still runs"
fi

if [ -d "$T/copy.apply" ]; then
	[ "$(qv ui_apply "SELECT string_agg(version, ' ' ORDER BY version) FROM schema_versions WHERE success AND is_active AND version IN ('004', '006', '008')")" = "004 006" ] &&
		ok || bad "apply: 004 and 006 should be applied, 008 not"
	[ -f "$T/copy.apply/applied/004_late_fix.sql" ] && [ -f "$T/copy.apply/applied/006_add_notes.sql" ] &&
		[ -f "$T/copy.apply/pending/008_require_email.sql" ] && ok || bad "apply: files not where they belong"
	[ "$(cd "$T/copy.apply" && git log -2 --format=%s | sort | tr '\n' ' ')" = "migdeck: apply 004_late_fix to ui_apply migdeck: apply 006_add_notes to ui_apply " ] &&
		ok || bad "apply: one git commit per migration expected"
fi
if [ -d "$T/copy.rollback" ]; then
	[ "$(qv ui_rollback "SELECT count(*) FROM schema_versions WHERE version = '007' AND NOT is_active AND rolled_back_at IS NOT NULL")" = 1 ] &&
		ok || bad "rollback: 007 not marked rolled back"
	[ "$(qv ui_rollback "SELECT count(*) FROM accounts")" = 0 ] && ok || bad "rollback: the seeded rows are still there"
	[ -f "$T/copy.rollback/pending/007_seed_accounts.sql" ] && [ -f "$T/copy.rollback/pending/007_rollback_seed_accounts.sql" ] &&
		ok || bad "rollback: 007 not moved back to pending/"
	(cd "$T/copy.rollback" && git log -1 --format=%s) | grep -q '^migdeck: roll back 007_seed_accounts on ui_rollback' &&
		ok || bad "rollback: the move back is not committed"
fi
if [ -d "$T/copy.production" ]; then
	[ "$(qv ui_production "SELECT count(*) FROM schema_versions WHERE version = '002' AND is_active")" = 1 ] &&
		ok || bad "production: 002 was touched"
	[ "$(qv ui_production "SELECT count(*) FROM schema_versions WHERE version = '007' AND NOT is_active")" = 1 ] &&
		ok || bad "production: 007 not rolled back after the name was typed"
fi

if [ -d "$T/copy.move" ]; then
	[ -f "$T/copy.move/archive/007_seed_accounts.sql" ] && [ -f "$T/copy.move/archive/007_rollback_seed_accounts.sql" ] &&
		[ -f "$T/copy.move/pending/010_order_totals.sql" ] && [ -f "$T/copy.move/pending/009_index_orders.sql" ] &&
		ok || bad "move: files not where the moves put them"
	(cd "$T/copy.move" && git log -1 --format=%s) | grep -q '^migdeck: operator: move 007_seed_accounts to archive/ on ui_move' &&
		ok || bad "move: the move to archive/ is not committed"
	[ "$(qv ui_move "SELECT count(*) FROM schema_versions_events WHERE action = 'move'")" = 2 ] &&
		ok || bad "move: two move events expected"
	[ "$(qv ui_move "SELECT count(*) FROM schema_versions WHERE version = '007' AND is_active")" = 1 ] &&
		ok || bad "move: archiving changed the history"
fi

# targets: 004 applied on dev (switched to with t), and there only; the file
# stays in pending/ (the folders follow staging) and nothing is committed
if [ -d "$T/copy.targets" ]; then
	[ "$(qv ui_targets_dev "SELECT count(*) FROM schema_versions WHERE version = '004' AND success AND is_active")" = 1 ] &&
		ok || bad "targets: 004 not applied on dev"
	[ "$(qv ui_targets "SELECT count(*) FROM schema_versions WHERE version = '004'")" = 0 ] &&
		[ "$(qv ui_targets_prod "SELECT count(*) FROM schema_versions WHERE version = '004'")" = 0 ] &&
		ok || bad "targets: 004 reached staging or prod"
	[ "$(qv ui_targets "SELECT count(*) FROM schema_versions")" = 6 ] && ok || bad "targets: staging's history changed"
	[ -f "$T/copy.targets/pending/004_late_fix.sql" ] && [ ! -e "$T/copy.targets/applied/004_late_fix.sql" ] &&
		ok || bad "targets: 004 moved although the folders follow staging"
	[ "$(cd "$T/copy.targets" && git rev-parse HEAD)" = "$(cd "$FIX" && git rev-parse HEAD)" ] &&
		ok || bad "targets: a git commit was made for dev"
fi
# fleet: looking at a fleet and opening a member changes no database
if [ -d "$T/copy.fleet" ]; then
	for pair in ui_fleet:ui_fixture ui_fleet_prod:ui_t_prod ui_fleet_dev:ui_t_dev \
		ui_fleet_s1:ui_t_prod ui_fleet_s2:ui_fixture; do
		sql="SELECT count(*) || ' ' || coalesce(max(id), 0) || ' ' || (SELECT count(*) FROM schema_versions_events) FROM schema_versions"
		[ "$(qv "${pair%%:*}" "$sql")" = "$(qv "${pair#*:}" "$sql")" ] &&
			ok || bad "fleet: ${pair%%:*}'s history changed"
	done
fi

# ---- the console follows changes ------------------------------------------------------
# the connection is killed under the console: it says so, reconnects and
# says that too
R=$T/reconnect
mkdir -p "$R"
printf ':save-display up\n:wait-db lost 30\n:save-display lost\n:wait-db up 30\n:save-display again\nq\n' > "$T/reconnect.keys"
(cd "$FIX" && exec env LANG=C.UTF-8 TERM=xterm-256color COLUMNS=120 LINES=30 MIGDECK_DUMP_DIR="$R" \
	$BIN -d "$FIXDB" console --keys "$T/reconnect.keys") >"$R.out" 2>"$R.err" &
cpid=$!
if wait_file "$R/up"; then
	psql -X -q -A -t -d ui_fixture -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'migdeck:%:console'" >/dev/null
fi
wait $cpid
rc=$?
[ $rc -eq 0 ] && ok || { bad "reconnect: console exit $rc"; cat "$R.err"; }
grep -q 'State     connected since' "$R/up" 2>/dev/null && ok || bad "reconnect: not connected at first"
grep -q 'State     CONNECTION LOST at' "$R/lost" 2>/dev/null && ok || { bad "reconnect: the loss is not shown"; cat "$R/lost"; }
grep -q '| LOST' "$R/lost" 2>/dev/null && ok || bad "reconnect: the title does not say LOST"
grep -q 'connected again since .* (reconnected 1 time)' "$R/again" 2>/dev/null && ok || { bad "reconnect: the reconnection is not shown"; cat "$R/again"; }
grep -q '│>. 004 late fix' "$R/again" 2>/dev/null && grep -q '✗ 008 require email' "$R/again" && ok || bad "reconnect: states not reloaded"

# r rereads the folders: a file added while the console runs shows after r
F=$T/refresh
mkdir -p "$F"
printf ':save-display before\n:wait-file go 30\nr\n:save-display after\nq\n' > "$T/refresh.keys"
(cd "$FIX" && exec env LANG=C.UTF-8 TERM=xterm-256color COLUMNS=120 LINES=30 MIGDECK_DUMP_DIR="$F" \
	$BIN -d "$FIXDB" console --keys "$T/refresh.keys") >"$F.out" 2>"$F.err" &
cpid=$!
if wait_file "$F/before"; then
	printf 'ALTER TABLE orders ADD COLUMN shipped_at timestamptz;\n' > "$FIX/pending/011_add_shipped_at.sql"
	: > "$F/go"
fi
wait $cpid
rc=$?
rm -f "$FIX/pending/011_add_shipped_at.sql"
[ $rc -eq 0 ] && ok || { bad "refresh: console exit $rc"; cat "$F.err"; }
if [ ! -f "$F/before" ]; then
	bad "refresh: no screen before r"
elif grep -q '011 add shipped at' "$F/before"; then
	bad "refresh: the new file shows before r"
else
	ok
fi
grep -q '○ 011 add shipped at .*pending *?' "$F/after" 2>/dev/null && ok || { bad "refresh: the new file does not show after r"; cat "$F/after"; }
grep -q 'Pending (5)' "$F/after" 2>/dev/null && ok || bad "refresh: count not updated"

# ---- errors ----------------------------------------------------------------------------
cd "$T" || exit 1

# a bad [keys] setting: file:line:col, exit 2, before any screen
printf '[keys]\ndown = j <Dwn>\n' > bad.ini
printf 'q\n' > q.keys
$BIN -c bad.ini -d "$FIXDB" console --keys q.keys >out 2>err
rc=$?
[ $rc -eq 2 ] && ok || bad "bad [keys] key: exit $rc, want 2"
grep -q 'bad.ini:2:10: \[keys\] down: not a key' err && ok || { bad "bad [keys] key message"; cat err; }

printf '[keys]\ndwon = x\n' > bad2.ini
$BIN -c bad2.ini -d "$FIXDB" console --keys q.keys >out 2>err
rc=$?
[ $rc -eq 2 ] && ok || bad "unknown action: exit $rc, want 2"
grep -q "bad2.ini:2:1: \[keys\] unknown action 'dwon'" err && ok || { bad "unknown action message"; cat err; }

# a rebinding works: x moves down, j no longer does
printf '[workspace]\npending = %s/pending\napplied = %s/applied\narchive = %s/archive\n[keys]\ndown = x\n' \
	"$FIX" "$FIX" "$FIX" > good.ini
printf 'x\n:save-display a\nj\n:save-display b\nq\n' > rebind.keys
(cd "$FIX" && env LANG=C.UTF-8 TERM=xterm-256color COLUMNS=120 LINES=30 MIGDECK_DUMP_DIR="$T" \
	$BIN -c "$T/good.ini" -d "$FIXDB" console --keys "$T/rebind.keys") >out 2>err
rc=$?
[ $rc -eq 0 ] && ok || { bad "rebinding: exit $rc"; cat err; }
grep -q '^│>. 006' a && ok || { bad "x did not move down"; cat a; }
grep -q '^│>. 006' b && ok || { bad "j still moves after down = x"; cat b; }
grep -q 'j: no action' b && ok || bad "unbound j not reported"

# a bad key script: file:line:col, exit 2
printf 'j\n<Dwn>\n' > bad.keys
$BIN -d "$FIXDB" console --keys bad.keys >out 2>err
rc=$?
[ $rc -eq 2 ] && ok || bad "bad key script: exit $rc, want 2"
grep -q "bad.keys:2:1: not a key: '<Dwn>'" err && ok || { bad "bad key script message"; cat err; }
printf ':frobnicate\n' > bad2.keys
$BIN -d "$FIXDB" console --keys bad2.keys >out 2>err
[ $? -eq 2 ] && grep -q 'bad2.keys:1:1: not a script command' err && ok || { bad "bad script command"; cat err; }

# no terminal and no key script: the console says so (exit 5); no command
# and no terminal: the usage (exit 2)
$BIN -d "$FIXDB" console </dev/null >out 2>err
rc=$?
[ $rc -eq 5 ] && grep -q 'the console needs a terminal' err && ok || { bad "console without a terminal: exit $rc"; cat err; }
$BIN -d "$FIXDB" </dev/null >out 2>err
rc=$?
[ $rc -eq 2 ] && grep -q '^usage: migdeck' err && ok || { bad "no command without a terminal: exit $rc"; cat err; }

# the console changed nothing: the history and the folders as the fixture left them
n=$(psql -X -A -t -d ui_fixture -c "SELECT count(*) FROM schema_versions")
[ "$n" -eq 6 ] && ok || bad "history rows: $n, want 6"
(cd "$FIX" && git status --porcelain) > st
grep -q '^ M applied/002_add_email.sql' st && grep -q '^?? pending/004_late_fix.sql' st && ok || { bad "git state changed"; cat st; }

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
