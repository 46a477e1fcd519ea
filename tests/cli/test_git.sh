#!/bin/sh
# CLI tests of committing file moves to git (issue 5, "Git, through
# libgit2"): migrate, rollback and repair commit each move as a rename with
# migdeck's message, body and author; the operator's other staged and
# unstaged changes stay out of the commit and stay as they were; the commit
# id goes into the history row and the event; a git failure leaves the move
# uncommitted with a warning and migdeck commit commits it later;
# [git] commit = off; an unborn HEAD; no repository at all; a production
# database refuses uncommitted files and wants its name.
#
# Real repositories made with the git CLI (which also reads the results
# back), a real PostgreSQL: runs under tests/pg_harness.sh with MIGDECK_BIN
# set.  Every scenario has a database and a workspace of its own.
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ -z "${PGHOST:-}" ]; then
	echo "test_git.sh: run me under tests/pg_harness.sh" >&2
	exit 1
fi
if ! command -v git >/dev/null 2>&1; then
	echo "test_git.sh: 0 passed, 0 failed (git is not installed: skipped)"
	exit 0
fi
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
fi
T=$(mktemp -d "${MIGDECK_TEST_TMPDIR:-${TMPDIR:-/tmp}}/mdgit.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT
trap 'rm -rf "$T"; exit 143' TERM
export LC_ALL=C
# no identity or configuration from the machine: each repository sets its own
mkdir -p "$T/home"
export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" GIT_CONFIG_NOSYSTEM=1
unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL EMAIL \
	GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE MIGDECK_GIT_COMMIT MIGDECK_DATABASE_PRODUCTION MIGDECK_CONFIG
. "$(dirname "$0")/common.shlib"
PSQL=psql
[ -x "${MIGDECK_TEST_PGBIN:-}/psql" ] && PSQL=$MIGDECK_TEST_PGBIN/psql

m() { run -d "dbname=$DB" "$@"; }
q() { $PSQL -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1" 2>&1; }
newdb() {
	DB=mdgit_$1
	if $PSQL -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" \
		-c "CREATE DATABASE $DB" >"$T/newdb.out" 2>&1; then ok; else
		bad "cannot create database $DB"
		show "$T/newdb.out"
	fi
}
newws() {
	W=$T/$1
	rm -rf "$W"
	mkdir -p "$W/pending" "$W/applied" "$W/archive" && cd "$W" || exit 1
}
# a repository in the workspace, with its own identity unless told "noid"
newrepo() {
	git init -q . || exit 1
	if [ "${1:-}" != noid ]; then
		git config user.name "Repo User"
		git config user.email repo@example.org
	fi
	git config commit.gpgsign false
}
# forward + rollback pair: NAME_DATE SUFFIX TABLE
pair() {
	printf 'CREATE TABLE %s (id int);\n' "$3" >"pending/$1_$2.sql"
	printf 'DROP TABLE %s;\n' "$3" >"pending/$1_rollback_$2.sql"
}
ncommits() { git rev-list --count HEAD 2>/dev/null || echo 0; }
# the status lines of the operator's own files (not the migrations)
ops_status() { git status --porcelain | grep -v '\.sql$' | sort | tr '\n' '|'; }
sql_status() { git status --porcelain --untracked-files=all | grep '\.sql$' | sort | tr '\n' '|'; }

# ---- migrate: one rename commit per file, nothing of the operator's --------------
newdb mig
newws ws_mig
newrepo
pair 20230601 add_email_templates email_templates
pair 20230602 add_b tb
echo base >notes.txt
echo base >other.txt
git add -A && git commit -qm init || exit 1
# the operator's work in progress: a staged change, an unstaged change, a
# staged new file, an untracked file
echo staged >>notes.txt && git add notes.txt
echo unstaged >>other.txt
echo new >staged.txt && git add staged.txt
echo u >untracked.txt
before_ops=$(ops_status)
m migrate
expect_rc 0 "git migrate"
expect_eq "$(grep -c '^Committed: ' "$OUT")" 2 "git migrate: one commit per file"
expect_fgrep "$OUT" "apply 20230601_add_email_templates.sql (2 file moves)" "git migrate: Committed line"
expect_eq "$(ncommits)" 3 "git migrate: two new commits"
expect_eq "$(git log -2 --format=%s | tr '\n' '|')" \
	"migdeck: apply 20230602_add_b to $DB|migdeck: apply 20230601_add_email_templates to $DB|" \
	"git migrate: subjects name the file and the database"
expect_eq "$(git log -1 --format='%an <%ae>|%cn <%ce>' HEAD~1)" \
	"Repo User <repo@example.org>|Repo User <repo@example.org>" "git migrate: author from the repository's user.name/email"
git log -1 --format=%b HEAD~1 >"$T/body"
expect_fgrep "$T/body" "pending/20230601_add_email_templates.sql -> applied/20230601_add_email_templates.sql" "git body: the forward file"
expect_fgrep "$T/body" "pending/20230601_rollback_add_email_templates.sql -> applied/20230601_rollback_add_email_templates.sql" "git body: its rollback pair"
expect_fgrep "$T/body" "Checksum: $(git hash-object applied/20230601_add_email_templates.sql)" "git body: the checksum"
expect_fgrep "$T/body" "Target: $DB" "git body: the target"
expect_fgrep "$T/body" "Duration: " "git body: the duration"
expect_eq "$(git diff-tree -r -M --name-status --format= HEAD~2 HEAD~1 | tr '\t' ' ' | sort | tr '\n' '|')" \
	"R100 pending/20230601_add_email_templates.sql applied/20230601_add_email_templates.sql|R100 pending/20230601_rollback_add_email_templates.sql applied/20230601_rollback_add_email_templates.sql|" \
	"git migrate: the commit holds exactly the renames of the file and its pair"
expect_eq "$(git log --follow --name-status --format= -- applied/20230601_add_email_templates.sql | tr '\t' ' ' | grep . | tr '\n' '|')" \
	"R100 pending/20230601_add_email_templates.sql applied/20230601_add_email_templates.sql|A pending/20230601_add_email_templates.sql|" \
	"git log --follow follows the file through the move"
expect_eq "$(git show HEAD:notes.txt)" "base" "git migrate: the staged change is not committed"
expect_eq "$(git show HEAD:other.txt)" "base" "git migrate: the unstaged change is not committed"
expect_eq "$(git cat-file -e HEAD:staged.txt 2>/dev/null && echo in || echo out)" out "git migrate: the staged new file is not committed"
expect_eq "$(ops_status)" "$before_ops" "git migrate: the operator's changes stay staged/unstaged as they were"
expect_eq "$(ops_status)" " M other.txt|?? untracked.txt|A  staged.txt|M  notes.txt|" "git migrate: status of the operator's files"
expect_eq "$(sql_status)" "" "git migrate: the moved files are clean in git status"
c1=$(git rev-parse HEAD~1)
c2=$(git rev-parse HEAD)
expect_eq "$(q "SELECT git_commit FROM schema_versions WHERE script = '20230601_add_email_templates.sql'")" "$c1" "git migrate: commit id in the history row"
expect_eq "$(q "SELECT git_commit FROM schema_versions_events WHERE action = 'apply' AND script = '20230601_add_email_templates.sql'")" "$c1" "git migrate: commit id in the event"
expect_eq "$(q "SELECT git_commit FROM schema_versions WHERE script = '20230602_add_b.sql'")" "$c2" "git migrate: second file's commit id in its row"

# ---- rollback: the move back is committed --------------------------------------------
m rollback --yes
expect_rc 0 "git rollback"
expect_eq "$(ncommits)" 4 "git rollback: one new commit"
expect_eq "$(git log -1 --format=%s)" "migdeck: roll back 20230602_add_b on $DB" "git rollback: subject"
expect_eq "$(git diff-tree -r -M --name-status --format= HEAD~1 HEAD | tr '\t' ' ' | sort | tr '\n' '|')" \
	"R100 applied/20230602_add_b.sql pending/20230602_add_b.sql|R100 applied/20230602_rollback_add_b.sql pending/20230602_rollback_add_b.sql|" \
	"git rollback: the files renamed back to pending/"
expect_eq "$(q "SELECT git_commit FROM schema_versions_events WHERE action = 'rollback'")" "$(git rev-parse HEAD)" "git rollback: commit id in the rollback event"
expect_eq "$(q "SELECT git_commit FROM schema_versions WHERE script = '20230602_add_b.sql'")" "$c2" "git rollback: the history row keeps its apply's commit"
expect_eq "$(ops_status)" "$before_ops" "git rollback: the operator's changes still as they were"
expect_eq "$(sql_status)" "" "git rollback: clean"
m commit
expect_rc 0 "git commit with nothing left"
expect_fgrep "$OUT" "Nothing to commit" "git commit: says there is nothing to do"
expect_eq "$(ncommits)" 4 "git commit with nothing left: no commit"

# ---- a git failure: no author anywhere -> warning, move uncommitted, commit later ----
newdb noid
newws ws_noid
newrepo noid
pair 20230601 a ta
git -c user.name=Setup -c user.email=setup@example.org add -A
git -c user.name=Setup -c user.email=setup@example.org commit -qm init || exit 1
m migrate
expect_rc 0 "git failure: the migration still succeeds"
expect_fgrep "$ERR" "not committed to git" "git failure: a warning"
expect_fgrep "$ERR" "no author" "git failure: says why"
expect_fgrep "$ERR" "migdeck commit" "git failure: names migdeck commit"
expect_eq "$(q "SELECT count(*) FROM ta")" 0 "git failure: the migration ran"
expect_eq "$(ls applied | tr '\n' ' ')" "20230601_a.sql 20230601_rollback_a.sql " "git failure: the files moved"
expect_eq "$(ncommits)" 1 "git failure: no commit"
expect_eq "$(q "SELECT coalesce(git_commit, 'none') FROM schema_versions")" none "git failure: no commit id recorded"
m commit --dry-run
expect_rc 0 "commit --dry-run"
expect_fgrep "$OUT" "Would commit: pending/20230601_a.sql -> applied/20230601_a.sql" "commit --dry-run: lists the move"
expect_eq "$(ncommits)" 1 "commit --dry-run: no commit"
m commit
expect_rc 1 "migdeck commit still without an author: fails"
expect_fgrep "$ERR" "no author" "migdeck commit without an author: says why"
expect_eq "$(ncommits)" 1 "migdeck commit without an author: no commit"
m -o git.author_name="Fix Er" -o git.author_email=fixer@example.org commit
expect_rc 0 "migdeck commit"
expect_fgrep "$OUT" "Committed: " "migdeck commit: says so"
expect_eq "$(ncommits)" 2 "migdeck commit: one commit"
expect_eq "$(git log -1 --format='%an <%ae>')" "Fix Er <fixer@example.org>" "migdeck commit: author from [git]"
expect_eq "$(git log -1 --format=%s)" "migdeck: apply 20230601_a to $DB (left uncommitted)" "migdeck commit: subject"
expect_eq "$(git diff-tree -r -M --name-status --format= HEAD~1 HEAD | tr '\t' ' ' | sort | tr '\n' '|')" \
	"R100 pending/20230601_a.sql applied/20230601_a.sql|R100 pending/20230601_rollback_a.sql applied/20230601_rollback_a.sql|" \
	"migdeck commit: renames"
expect_eq "$(sql_status)" "" "migdeck commit: clean afterwards"
expect_eq "$(q "SELECT git_commit FROM schema_versions")" "$(git rev-parse HEAD)" "migdeck commit: fills the history row"
expect_eq "$(q "SELECT git_commit FROM schema_versions_events WHERE action = 'apply'")" "$(git rev-parse HEAD)" "migdeck commit: fills the event"
m commit
expect_fgrep "$OUT" "Nothing to commit" "migdeck commit twice: nothing to do"

# ---- [git] commit = off, then migdeck commit -----------------------------------------
newdb off
newws ws_off
newrepo
pair 20230601 a offa
git add -A && git commit -qm init || exit 1
head0=$(git rev-parse HEAD)
m -o git.commit=off migrate
expect_rc 0 "commit = off: migrate"
expect_eq "$(ncommits)" 1 "commit = off: no commit"
expect_no_fgrep "$OUT" "Committed" "commit = off: no Committed line"
expect_eq "$(q "SELECT git_commit FROM schema_versions")" "$head0" "commit = off: the row records HEAD, as before"
MIGDECK_GIT_COMMIT=off m commit
expect_rc 0 "commit = off: migdeck commit"
expect_eq "$(ncommits)" 2 "commit = off: migdeck commit commits the move"
expect_eq "$(sql_status)" "" "commit = off: clean after migdeck commit"

# ---- an unborn HEAD: the first commit ---------------------------------------------------
newdb unborn
newws ws_unborn
newrepo
pair 20230601 a ua
m migrate
expect_rc 0 "unborn HEAD: migrate"
expect_eq "$(ncommits)" 1 "unborn HEAD: a root commit"
expect_eq "$(git show --name-status --format= HEAD | tr '\t' ' ' | sort | tr '\n' '|')" \
	"A applied/20230601_a.sql|A applied/20230601_rollback_a.sql|" "unborn HEAD: the moved files only"

# ---- repair: a file left behind by a crash is moved and committed ----------------------
newdb crash
newws ws_crash
newrepo
pair 20230601 a ca
git add -A && git commit -qm init || exit 1
MIGDECK_TEST_CRASH=after-commit m migrate
expect_eq "$(ls pending | wc -l | tr -d ' ')" 2 "crash: the files stayed in pending/"
m repair --yes
expect_rc 0 "repair after the crash"
expect_eq "$(git log -1 --format=%s)" "migdeck: repair: move 20230601_a to applied/ on $DB" "repair: commit subject"
expect_eq "$(q "SELECT git_commit FROM schema_versions")" "$(git rev-parse HEAD)" "repair: the empty commit id filled"
expect_eq "$(sql_status)" "" "repair: clean"

# ---- no repository -----------------------------------------------------------------------
newdb norepo
newws ws_norepo
pair 20230601 a na
m migrate
expect_rc 0 "no repository: migrate"
expect_fgrep "$ERR" "not in a git repository" "no repository: says so"
expect_eq "$(ls applied | wc -l | tr -d ' ')" 2 "no repository: files moved"
m commit
expect_rc 0 "no repository: migdeck commit"
expect_fgrep "$ERR" "not in a git repository" "no repository: migdeck commit says so"

# ---- production ---------------------------------------------------------------------------
newdb prod
newws ws_prod
newrepo
pair 20230601 a pa
git add -A && git commit -qm init || exit 1
printf 'CREATE TABLE pb (id int);\n' >pending/20230602_b.sql
m -o database.production=true migrate --confirm-database "$DB"
expect_rc 3 "production: an untracked file refused"
expect_fgrep "$ERR" "pending/20230602_b.sql: uncommitted changes in git (untracked)" "production: says untracked"
expect_eq "$(q "SELECT to_regclass('pa') IS NULL")" t "production: nothing ran"
git add pending/20230602_b.sql && git commit -qm b
echo '-- changed' >>pending/20230601_a.sql
MIGDECK_DATABASE_PRODUCTION=true m migrate --confirm-database "$DB"
expect_rc 3 "production: a modified file refused"
expect_fgrep "$ERR" "pending/20230601_a.sql: uncommitted changes in git (modified)" "production: says modified"
git checkout -q -- pending/20230601_a.sql
m -o database.production=true migrate --yes
expect_rc 3 "production: --yes is not enough"
expect_fgrep "$ERR" "--confirm-database $DB" "production: names --confirm-database"
m -o database.production=true migrate --confirm-database wrong
expect_rc 3 "production: a wrong name refused"
expect_eq "$(q "SELECT to_regclass('pa') IS NULL")" t "production: still nothing ran"
expect_eq "$(ncommits)" 2 "production: no commit while refused"
m -o database.production=true migrate --confirm-database "$DB"
expect_rc 0 "production: confirmed by name"
expect_eq "$(q "SELECT to_regclass('pa') IS NOT NULL")" t "production: applied"
expect_eq "$(ncommits)" 4 "production: both moves committed"
m -o database.production=true rollback --yes
expect_rc 3 "production rollback: --yes is not enough"
m -o database.production=true rollback --version 20230601 --confirm-database "$DB"
expect_rc 0 "production rollback: confirmed by name"
expect_eq "$(git log -1 --format=%s)" "migdeck: roll back 20230601_a on $DB" "production rollback: committed"
m rollback --version 20230602 --yes
expect_rc 3 "a file without a rollback pair: refused as before"
if command -v script >/dev/null 2>&1; then
	# typed on a terminal
	printf '%s\n' "$DB" | script -qec "$BIN -d dbname=$DB -o database.production=true migrate --out-of-order" /dev/null >"$OUT" 2>&1
	rc=$?
	expect_rc 0 "production: the name typed on a terminal"
	expect_fgrep "$OUT" "type its name" "production: asks for the name"
	expect_eq "$(q "SELECT to_regclass('pa') IS NOT NULL")" t "production: applied after typing the name"
fi

echo "test_git.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
