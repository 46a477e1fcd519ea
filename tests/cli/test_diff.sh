#!/bin/sh
# CLI tests of `migdeck schema` and `migdeck diff` on a real PostgreSQL
# (issue 6, "Proof"): the canonical snapshot of a database equals the
# snapshot of its pg_dump restored into another database; a schema preview
# of an empty migration is empty, of a real one shows what it adds, and
# leaves the database as it was; files that cannot run in a transaction are
# refused on the target and previewed on a scratch database (a throwaway
# local cluster by default, or a database on the target's server; the
# local one leaves no folder or process behind, also on SIGTERM; a clear
# error without server binaries); a hand-made ALTER TABLE shows up in
# --against-scratch; git diffs match `git diff`;
# drift is classified none, cosmetic or real.  Expected outputs were read
# and checked by hand.
#
# Runs under tests/pg_harness.sh with MIGDECK_BIN set.
set -u
BIN=${MIGDECK_BIN:?set MIGDECK_BIN to the migdeck binary}
if [ -z "${PGHOST:-}" ]; then
	echo "test_diff.sh: run me under tests/pg_harness.sh" >&2
	exit 1
fi
if [ "${MIGDECK_VALGRIND:-}" = 1 ]; then
	BIN="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 $BIN"
fi
T=$(mktemp -d "${MIGDECK_TEST_TMPDIR:-${TMPDIR:-/tmp}}/mddiff.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT
trap 'rm -rf "$T"; exit 143' TERM
export LC_ALL=C
# a git that knows nobody's settings
export GIT_CONFIG_NOSYSTEM=1 HOME="$T/home"
mkdir -p "$HOME"
. "$(dirname "$0")/common.shlib"
have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1
have_git=0
command -v git >/dev/null 2>&1 && have_git=1
PSQL=psql
PG_DUMP=pg_dump
[ -x "${MIGDECK_TEST_PGBIN:-}/psql" ] && PSQL=$MIGDECK_TEST_PGBIN/psql
[ -x "${MIGDECK_TEST_PGBIN:-}/pg_dump" ] && PG_DUMP=$MIGDECK_TEST_PGBIN/pg_dump

# ---- helpers ------------------------------------------------------------------


m() { run -d "dbname=$DB" "$@"; }

expect_file() { # file expected-text description: the whole file
	printf '%s\n' "$2" >"$T/want"
	if cmp -s "$1" "$T/want"; then ok; else
		bad "$3: output differs (- want, + got)"
		diff -u "$T/want" "$1" | sed 's/^/  | /'
	fi
}
expect_same() { # fileA fileB description
	if cmp -s "$1" "$2"; then ok; else
		bad "$3: files differ"
		diff -u "$1" "$2" | head -n 40 | sed 's/^/  | /'
	fi
}
# the JSON in $OUT parses and the python expression over d prints want
expect_json() { # expression want description
	if [ $have_python = 0 ]; then ok; return; fi
	got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$OUT" "$1" 2>&1)
	expect_eq "$got" "$2" "$3"
}

q() { $PSQL -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1" 2>&1; }
qdb() { $PSQL -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }

newdb() {
	DB=mddiff_$1
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
# dump NAME: pg_dump --schema-only of $DB without pg_dump's random \restrict lines
dump() {
	$PG_DUMP --schema-only -d "$DB" 2>&1 | grep -v -e '^\\restrict' -e '^\\unrestrict' >"$T/$1.dump"
}
# no scratch database is left on the server
no_scratch_left() { # description
	left=$(qdb postgres "SELECT count(*) FROM pg_database WHERE datname LIKE 'migdeck\\_scratch\\_%'")
	expect_eq "$left" "0" "$1: no scratch database left behind"
}
# the local scratch cluster named in $ERR ("initdb (...) in DIR") was
# used, and neither its folder nor a process of it is left
no_cluster_left() { # description
	cdir=$(sed -n 's/^migdeck: scratch: initdb (.*) in \([^ ,]*\).*/\1/p' "$ERR" | head -n 1)
	if [ -z "$cdir" ]; then
		bad "$1: no local cluster was made"
		show "$ERR"
		return
	fi
	ok
	if [ -e "$cdir" ]; then bad "$1: $cdir left behind"; else ok; fi
	if ps -eo args 2>/dev/null | grep -F -- "$cdir" | grep -v grep >/dev/null; then
		bad "$1: a process of $cdir left behind"
		ps -eo pid,args | grep -F -- "$cdir" | sed 's/^/  | /'
	else ok; fi
}
# the diff of $OUT without its last (summary) line
diff_part() { sed '$d' "$OUT"; }

# roles (cluster-wide; the harness's cluster is ours alone)
$PSQL -X -q -d postgres -v ON_ERROR_STOP=1 >"$T/roles.out" 2>&1 <<'SQL' || { echo "FAIL: roles"; cat "$T/roles.out"; }
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'md_diff_app') THEN CREATE ROLE md_diff_app; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'md_diff_ro') THEN CREATE ROLE md_diff_ro LOGIN; END IF;
END $$;
SQL

# ---- 1. the snapshot equals the snapshot of its pg_dump restored elsewhere ------

newdb rich
cat >"$T/rich.sql" <<'SQL'
CREATE EXTENSION citext;
CREATE EXTENSION hstore SCHEMA public;
CREATE EXTENSION btree_gist;
CREATE SCHEMA app AUTHORIZATION md_diff_app;
COMMENT ON SCHEMA app IS 'the application';
GRANT USAGE ON SCHEMA app TO md_diff_ro;
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
ALTER TYPE app.mood ADD VALUE 'meh' BEFORE 'ok';
CREATE DOMAIN app.email AS citext NOT NULL DEFAULT 'x@y' CHECK (VALUE ~ '@');
CREATE TYPE app.pair AS (a int, b text COLLATE "C");
CREATE TYPE app.span AS RANGE (subtype = numeric);
CREATE SEQUENCE app.ticket_no START 1000 INCREMENT 10 MAXVALUE 999999 CACHE 5 CYCLE;
CREATE TABLE app.customers (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email app.email NOT NULL,
	name text COLLATE "C" NOT NULL DEFAULT 'x',
	mood app.mood DEFAULT 'ok',
	born date DEFAULT '2020-01-01',
	seen timestamptz DEFAULT '2024-01-01 10:00+02',
	shout text GENERATED ALWAYS AS (upper(name)) STORED,
	tags hstore,
	gone int
);
ALTER TABLE app.customers ADD CONSTRAINT name_len CHECK (length(name) < 100) NOT VALID;
ALTER TABLE app.customers DROP COLUMN gone;
ALTER TABLE app.customers ADD COLUMN later int;
ALTER TABLE app.customers REPLICA IDENTITY FULL;
CREATE UNIQUE INDEX customers_email_idx ON app.customers (lower(email::text));
ALTER TABLE app.customers CLUSTER ON customers_email_idx;
COMMENT ON INDEX app.customers_email_idx IS 'one account per address';
CREATE TABLE app.orders (
	id serial PRIMARY KEY,
	customer_id bigint REFERENCES app.customers (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
	total numeric(10,2),
	during app.span,
	note text,
	EXCLUDE USING gist (id WITH =) WHERE (total < 0)
);
COMMENT ON TABLE app.orders IS 'orders,
on two lines';
COMMENT ON COLUMN app.orders.total IS 'in EUR';
COMMENT ON CONSTRAINT orders_pkey ON app.orders IS 'the key';
CREATE INDEX orders_partial ON app.orders (customer_id) WHERE total > 0;
CREATE UNLOGGED TABLE app.scratchpad (k text) WITH (fillfactor = 70);
CREATE TABLE app.parent (id int);
CREATE TABLE app.child (extra int) INHERITS (app.parent);
CREATE TABLE app.m (k int, v int) PARTITION BY RANGE (k);
CREATE TABLE app.m1 PARTITION OF app.m FOR VALUES FROM (0) TO (10);
CREATE INDEX m_k ON app.m (k);
CREATE VIEW app.big_orders WITH (security_barrier) AS SELECT o.id, o.total FROM app.orders o WHERE o.total > 100;
CREATE MATERIALIZED VIEW app.totals AS SELECT customer_id, sum(total) AS total FROM app.orders GROUP BY 1;
CREATE INDEX totals_c ON app.totals (customer_id);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = app AS $$
BEGIN
	NEW.note := coalesce(NEW.note, 'none');
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION app.touch() IS 'fills note';
CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE OF note ON app.orders FOR EACH ROW WHEN (NEW.total IS NOT NULL) EXECUTE FUNCTION app.touch();
CREATE TRIGGER orders_off AFTER DELETE ON app.orders FOR EACH STATEMENT EXECUTE FUNCTION app.touch();
ALTER TABLE app.orders DISABLE TRIGGER orders_off;
COMMENT ON TRIGGER orders_touch ON app.orders IS 'keeps note set';
CREATE RULE no_delete AS ON DELETE TO app.scratchpad DO INSTEAD NOTHING;
CREATE PROCEDURE app.archive(days int) LANGUAGE sql AS $$ DELETE FROM app.orders WHERE id < days $$;
CREATE FUNCTION app.plus(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql IMMUTABLE STRICT RETURN a + b;
CREATE AGGREGATE app.total(int) (sfunc = int4pl, stype = int, initcond = '0');
ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.orders FORCE ROW LEVEL SECURITY;
CREATE POLICY own ON app.orders AS RESTRICTIVE FOR SELECT TO md_diff_app, md_diff_ro USING (customer_id > 0);
GRANT SELECT, INSERT ON app.orders TO md_diff_app WITH GRANT OPTION;
GRANT UPDATE (note) ON app.orders TO md_diff_ro;
REVOKE ALL ON FUNCTION app.plus(int, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.plus(int, int) TO md_diff_ro;
ALTER TABLE app.parent OWNER TO md_diff_app;
ALTER TYPE app.pair OWNER TO md_diff_app;
SQL
if $PSQL -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$T/rich.sql" >"$T/rich.out" 2>&1; then ok; else
	bad "rich schema"
	show "$T/rich.out"
fi
m schema
expect_rc 0 "schema: exit 0"
cp "$OUT" "$T/rich.schema"
# a few of its lines, read by hand against rich.sql
expect_line "$OUT" "extension hstore" "schema: extension"
expect_line "$OUT" "schema app" "schema: schema app"
expect_line "$OUT" "  owner md_diff_app" "schema: an owner"
expect_line "$OUT" "  comment the application" "schema: schema comment"
expect_line "$OUT" "  grant md_diff_ro USAGE" "schema: schema grant"
expect_line "$OUT" "  value 'meh'" "schema: an added enum value"
expect_line "$OUT" "  type public.citext NOT NULL DEFAULT 'x@y'::public.citext" "schema: a domain"
expect_line "$OUT" "  constraint email_check CHECK ((VALUE OPERATOR(public.~) '@'::public.citext))" "schema: a domain's check"
expect_line "$OUT" "  attribute b text COLLATE pg_catalog.\"C\"" "schema: a composite type's attribute"
expect_line "$OUT" "  range subtype numeric" "schema: a range type"
expect_line "$OUT" "  sequence bigint start 1000 increment 10 minvalue 1 maxvalue 999999 cache 5 cycle" "schema: sequence options"
expect_line "$OUT" "  owned by app.orders.id" "schema: a serial's sequence"
expect_line "$OUT" "  column name text COLLATE pg_catalog.\"C\" NOT NULL DEFAULT 'x'::text" "schema: column collation"
expect_line "$OUT" "  column mood app.mood DEFAULT 'ok'::app.mood" "schema: enum default"
expect_line "$OUT" "  column seen timestamp with time zone DEFAULT '2024-01-01 08:00:00+00'::timestamp with time zone" "schema: timestamptz default in UTC"
expect_line "$OUT" "  column shout text GENERATED ALWAYS AS (upper(name)) STORED" "schema: generated column"
expect_line "$OUT" "  column id bigint NOT NULL GENERATED ALWAYS AS IDENTITY" "schema: identity"
expect_line "$OUT" "  constraint name_len CHECK ((length(name) < 100)) NOT VALID" "schema: NOT VALID check"
expect_line "$OUT" "  replica identity full" "schema: replica identity"
expect_line "$OUT" "  cluster on customers_email_idx" "schema: cluster"
expect_line "$OUT" "  index comment customers_email_idx one account per address" "schema: index comment"
expect_line "$OUT" "  constraint orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES app.customers(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED" "schema: foreign key"
expect_line "$OUT" "  constraint orders_id_excl EXCLUDE USING gist (id WITH =) WHERE ((total < (0)::numeric))" "schema: exclusion constraint"
expect_line "$OUT" "  constraint comment orders_pkey the key" "schema: constraint comment"
expect_line "$OUT" "    on two lines" "schema: a comment of two lines"
expect_line "$OUT" "  unlogged" "schema: unlogged"
expect_line "$OUT" "  option fillfactor=70" "schema: storage option"
expect_line "$OUT" "  rule no_delete" "schema: rule"
expect_line "$OUT" "        ON DELETE TO app.scratchpad DO INSTEAD NOTHING;" "schema: rule, its definition"
expect_line "$OUT" "  inherits app.parent" "schema: inheritance"
expect_line "$OUT" "  partition by RANGE (k)" "schema: partitioned"
expect_line "$OUT" "  partition of app.m FOR VALUES FROM (0) TO (10)" "schema: partition"
expect_line "$OUT" "  index m_k CREATE INDEX m_k ON ONLY app.m USING btree (k)" "schema: partitioned index"
expect_line "$OUT" "  option security_barrier=true" "schema: view option"
expect_line "$OUT" "  trigger orders_off CREATE TRIGGER orders_off AFTER DELETE ON app.orders FOR EACH STATEMENT EXECUTE FUNCTION app.touch() (disabled)" "schema: disabled trigger"
expect_line "$OUT" "  trigger comment orders_touch keeps note set" "schema: trigger comment"
expect_line "$OUT" "  row level security enabled, forced" "schema: row level security"
expect_line "$OUT" "  policy own AS RESTRICTIVE FOR SELECT TO md_diff_app, md_diff_ro USING ((customer_id > 0))" "schema: policy"
expect_line "$OUT" "  grant md_diff_app INSERT, SELECT WITH GRANT OPTION" "schema: grant with grant option"
expect_line "$OUT" "  column grant note md_diff_ro: UPDATE" "schema: column grant"
expect_line "$OUT" "function app.plus(a integer, b integer)" "schema: a function's signature"
expect_line "$OUT" "  grant md_diff_ro EXECUTE" "schema: function grant"
expect_line "$OUT" "procedure app.archive(IN days integer)" "schema: a procedure"
expect_line "$OUT" "  aggregate sfunc int4pl(integer,integer) stype integer initcond '0'" "schema: an aggregate"
expect_line "$OUT" "    	NEW.note := coalesce(NEW.note, 'none');" "schema: a function body"
expect_line "$OUT" "     SECURITY DEFINER" "schema: function options"
expect_no_fgrep "$OUT" "hstore_in" "schema: an extension's functions are the extension's"
expect_no_fgrep "$OUT" "pg_toast" "schema: no toast tables"
expect_no_fgrep "$OUT" "RI_ConstraintTrigger" "schema: no internal triggers"
expect_no_fgrep "$OUT" "schema_versions" "schema: no bookkeeping"
expect_eq "$(q "SELECT to_regclass('public.schema_versions') IS NULL")" "t" "schema: reads only (no history table made)"

# every line is an object (column 0) or a property (two spaces) or a value line (four)
n=$(grep -c -v -e '^[a-z]' -e '^  [a-z]' -e '^    ' "$OUT")
expect_eq "$n" "0" "schema: every line has its place"

m schema
expect_same "$T/rich.schema" "$OUT" "schema: the same twice"
m schema --json
expect_rc 0 "schema --json: exit 0"
cp "$OUT" "$T/rich.json"
expect_json 'sorted(set(o["kind"] for o in d["objects"]))' \
	"['aggregate', 'domain', 'extension', 'function', 'materialized view', 'procedure', 'schema', 'sequence', 'table', 'type', 'view']" \
	"schema --json: the kinds"
expect_json '[p["definition"] for o in d["objects"] if o["name"] == "app.mood" for p in o["properties"] if p["kind"] == "value"]' \
	"[\"'sad'\", \"'meh'\", \"'ok'\", \"'happy'\"]" "schema --json: enum values in order"

# pg_dump --schema-only of it, restored into a fresh database
$PG_DUMP --schema-only -d "$DB" 2>"$T/dump.err" | grep -v -e '^\\restrict' -e '^\\unrestrict' >"$T/rich.dump"
newdb restored
if $PSQL -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$T/rich.dump" >"$T/restore.out" 2>&1; then ok; else
	bad "restore of the dump"
	show "$T/restore.out"
fi
m schema
expect_same "$T/rich.schema" "$OUT" "pg_dump restored elsewhere: the same snapshot"
m schema --json
# the target line names another database; everything after it must match
sed 's/^{"target":"[^"]*"//' "$T/rich.json" >"$T/a.json"
sed 's/^{"target":"[^"]*"//' "$OUT" >"$T/b.json"
expect_same "$T/a.json" "$T/b.json" "pg_dump restored elsewhere: the same JSON"
# and a change shows: the snapshot is not blind
q "ALTER TABLE app.orders ALTER COLUMN note SET DEFAULT 'n'" >/dev/null
m schema
if cmp -s "$T/rich.schema" "$OUT"; then bad "a changed default: the snapshot did not change"; else ok; fi

# ---- 2. schema preview on the target ---------------------------------------------------

newdb preview
newws ws_preview
cat >archive/consolidated_schema.sql <<'SQL'
CREATE TABLE customers (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email text NOT NULL
);
SQL
cat >pending/001_tickets.sql <<'SQL'
-- tickets of customers
CREATE TABLE tickets (
	id bigint PRIMARY KEY,
	customer_id bigint NOT NULL REFERENCES customers (id),
	title text NOT NULL
);
CREATE INDEX tickets_customer_idx ON tickets (customer_id);
SQL
cat >pending/002_nothing.sql <<'SQL'
-- a migration that changes nothing in the schema
SELECT 1;
SQL
cat >pending/003_concurrently.sql <<'SQL'
CREATE INDEX CONCURRENTLY tickets_title_idx ON tickets (title);
SQL
cat >pending/004_status.sql <<'SQL'
ALTER TABLE tickets ADD COLUMN status text NOT NULL DEFAULT 'open';
COMMENT ON COLUMN tickets.status IS 'open or closed';
SQL
$PSQL -X -q -d "$DB" -f archive/consolidated_schema.sql >/dev/null 2>&1
dump before

m diff --schema pending/001_tickets.sql
expect_rc 0 "diff --schema: exit 0"
expect_file "$OUT" "--- schema before
+++ schema after 001_tickets.sql
@@ -18,3 +18,12 @@ table public.customers
   column email text NOT NULL
   constraint customers_pkey PRIMARY KEY (id)
   grant postgres DELETE, INSERT, REFERENCES, SELECT, TRIGGER, TRUNCATE, UPDATE
+table public.tickets
+  owner postgres
+  column id bigint NOT NULL
+  column customer_id bigint NOT NULL
+  column title text NOT NULL
+  constraint tickets_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id)
+  constraint tickets_pkey PRIMARY KEY (id)
+  index tickets_customer_idx CREATE INDEX tickets_customer_idx ON public.tickets USING btree (customer_id)
+  grant postgres DELETE, INSERT, REFERENCES, SELECT, TRIGGER, TRUNCATE, UPDATE
Schema diff: 9 lines added, 0 removed (pending/001_tickets.sql, on the target, in a transaction rolled back)" \
	"diff --schema: the new table"
dump after
expect_same "$T/before.dump" "$T/after.dump" "diff --schema: the database is as it was"
expect_eq "$(q "SELECT to_regclass('public.schema_versions') IS NULL")" "t" "diff --schema: no history table left"

m diff --schema pending/002_nothing.sql
expect_rc 0 "empty migration: exit 0"
expect_file "$OUT" "Schema diff: no change (pending/002_nothing.sql, on the target, in a transaction rolled back)" \
	"empty migration: an empty diff"
m --json diff --schema pending/002_nothing.sql
expect_json 'd["kind"], d["where"], d["files"], d["diff"]["empty"], d["diff"]["text"], d["diff"]["hunks"]' \
	"('schema', 'target', ['pending/002_nothing.sql'], True, '', [])" "empty migration: --json"

m diff --schema pending/003_concurrently.sql
expect_rc 3 "CONCURRENTLY on the target: refused"
expect_line "$ERR" "migdeck: pending/003_concurrently.sql:1:1: cannot be previewed on the target: its statements cannot run inside a transaction, so they could not be rolled back; preview it on a scratch database (--scratch)" \
	"CONCURRENTLY on the target: says why and what to do"
dump after
expect_same "$T/before.dump" "$T/after.dump" "CONCURRENTLY on the target: nothing changed"

# two files: their combined change, in the order given
m diff --schema pending/001_tickets.sql pending/004_status.sql --json
expect_rc 0 "two files: exit 0"
expect_json 'd["diff"]["added"], d["diff"]["removed"], [l["text"] for h in d["diff"]["hunks"] for l in h["lines"] if l["origin"] == "+" and "status" in l["text"]]' \
	"(11, 0, [\"  column status text NOT NULL DEFAULT 'open'::text\", '  column comment status open or closed'])" \
	"two files: both changes"

# a failing statement: exit 1, file:line:col, nothing changed
printf 'CREATE TABLE made (id int);\n\nALTER TABLE made ADD COLUMN x nosuchtype;\n' >"$T/bad.sql"
m diff --schema "$T/bad.sql"
expect_rc 1 "failing migration: exit 1"
expect_fgrep "$ERR" "bad.sql:3:31: ERROR: type \"nosuchtype\" does not exist" "failing migration: file:line:col"
expect_line "$ERR" "Schema diff stopped: the statement failed; rolled back, the database is as it was" "failing migration: says so"
dump after
expect_same "$T/before.dump" "$T/after.dump" "failing migration: nothing changed"

# --all-pending on the target: the CONCURRENTLY file stops it
m diff --schema --all-pending
expect_rc 3 "--all-pending with a CONCURRENTLY file: refused on the target"
mv pending/003_concurrently.sql "$T/"
m diff --schema --all-pending
expect_rc 0 "--all-pending: exit 0"
expect_line "$OUT" "Schema diff: 11 lines added, 0 removed (3 migrations from pending/001_tickets.sql, on the target, in a transaction rolled back)" \
	"--all-pending: the summary"
expect_line "$OUT" "+  column status text NOT NULL DEFAULT 'open'::text" "--all-pending: the last file's change"
mv "$T/003_concurrently.sql" pending/

# --scratch: a throwaway database built from the files, for the CONCURRENTLY file too
m diff --schema --all-pending --scratch
expect_rc 0 "--all-pending --scratch: exit 0"
expect_line "$OUT" "+  index tickets_title_idx CREATE INDEX tickets_title_idx ON public.tickets USING btree (title)" \
	"--scratch: the CONCURRENTLY index"
expect_line "$OUT" "Schema diff: 12 lines added, 0 removed (4 migrations from pending/001_tickets.sql, on a scratch database built from the files)" \
	"--scratch: the summary"
no_scratch_left "--scratch"
no_cluster_left "--scratch (local)"
expect_fgrep "$ERR" " roles of the target made; applying 1 file" "--scratch (local): says what it applies"
dump after
expect_same "$T/before.dump" "$T/after.dump" "--scratch: the target is as it was"

# --scratch=server: a throwaway database on the target's server, as before
m diff --schema --all-pending --scratch=server
expect_rc 0 "--scratch=server: exit 0"
expect_line "$OUT" "Schema diff: 12 lines added, 0 removed (4 migrations from pending/001_tickets.sql, on a scratch database built from the files)" \
	"--scratch=server: the same diff"
expect_no_fgrep "$ERR" "scratch: initdb" "--scratch=server: no local cluster"
no_scratch_left "--scratch=server"
# ... and through [diff] scratch or its variable
m -o diff.scratch=server diff --schema --all-pending --scratch --json
expect_json 'd["where"], d["scratch_in"], d["diff"]["added"]' "('scratch', 'server', 12)" "-o diff.scratch=server --json"
MIGDECK_DIFF_SCRATCH=server m diff --schema --all-pending --scratch --quiet
expect_rc 0 "MIGDECK_DIFF_SCRATCH=server: exit 0"
expect_no_fgrep "$ERR" "scratch: initdb" "MIGDECK_DIFF_SCRATCH=server: no local cluster"
# --scratch=local wins over the setting
MIGDECK_DIFF_SCRATCH=server m diff --schema --all-pending --scratch=local --json
expect_json 'd["where"], d["scratch_in"], d["diff"]["added"]' "('scratch', 'local', 12)" "--scratch=local over the setting"
no_cluster_left "--scratch=local --json"

# no server binaries for a local cluster: says so, suggests --scratch=server
mkdir -p "$T/nobin"
MIGDECK_PG_BINDIR=$T/nobin m diff --schema --all-pending --scratch
expect_rc 3 "no server binaries: exit 3"
expect_line "$ERR" "migdeck: no PostgreSQL server binaries (initdb and postgres) in $T/nobin (MIGDECK_PG_BINDIR) to build a local scratch cluster; install the PostgreSQL server, or use --scratch=server (a scratch database on the target's server)" \
	"no server binaries: says so"
MIGDECK_PG_BINDIR=$T/nobin m diff --schema --all-pending --scratch=server
expect_rc 0 "no server binaries, --scratch=server: exit 0"
run diff --schema --all-pending --scratch=remote
expect_rc 2 "--scratch=remote: usage"
expect_fgrep "$ERR" "--scratch: 'remote' is not local or server" "--scratch=remote: says so"

# the usage
run diff
expect_rc 2 "diff without a kind: usage"
expect_fgrep "$ERR" "give --schema, --git or --drift" "diff without a kind: says so"
run diff --schema --git x.sql
expect_rc 2 "two kinds: usage"
run diff --schema
expect_rc 2 "--schema without FILE: usage"
run diff --git --scratch x.sql
expect_rc 2 "--scratch with --git: usage"
run diff --schema --against-scratch x.sql
expect_rc 2 "--against-scratch with a FILE: usage"
run diff --schema --frobnicate x.sql
expect_rc 2 "an unknown option: usage"
m diff --schema "$T/no_such_file.sql"
expect_rc 3 "a missing file: exit 3"
expect_fgrep "$ERR" "no_such_file.sql: cannot open: No such file or directory" "a missing file: names it"

# ---- 3. --against-scratch: changes made by hand -------------------------------------

m migrate --to 001
expect_rc 0 "migrate 001"
m diff --schema --against-scratch
expect_rc 0 "--against-scratch: exit 0"
expect_file "$OUT" "Schema diff: no change (the database against a scratch database built from 2 files)" \
	"--against-scratch: the files make the database"
q "ALTER TABLE tickets ADD COLUMN priority int NOT NULL DEFAULT 3" >/dev/null
q "DROP INDEX tickets_customer_idx" >/dev/null
m diff --schema --against-scratch
expect_rc 0 "--against-scratch after ALTER TABLE: exit 0"
no_cluster_left "--against-scratch (local)"
expect_file "$OUT" "--- schema built from the files (scratch)
+++ schema of the database
@@ -23,7 +23,7 @@ table public.tickets
   column id bigint NOT NULL
   column customer_id bigint NOT NULL
   column title text NOT NULL
+  column priority integer NOT NULL DEFAULT 3
   constraint tickets_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id)
   constraint tickets_pkey PRIMARY KEY (id)
-  index tickets_customer_idx CREATE INDEX tickets_customer_idx ON public.tickets USING btree (customer_id)
   grant postgres DELETE, INSERT, REFERENCES, SELECT, TRIGGER, TRUNCATE, UPDATE
Schema diff: 1 line added, 1 removed (the database against a scratch database built from 2 files)" \
	"--against-scratch: the hand-made ALTER TABLE and DROP INDEX"
no_scratch_left "--against-scratch"
cp "$OUT" "$T/against.local"
m diff --schema --against-scratch=server
expect_rc 0 "--against-scratch=server: exit 0"
expect_same "$T/against.local" "$OUT" "--against-scratch=server: the same diff as the local cluster"
no_scratch_left "--against-scratch=server"

# --scratch (local) on one CREATE INDEX CONCURRENTLY file: built from
# applied/001, then the index made for real in autocommit
m diff --schema --scratch pending/003_concurrently.sql
expect_rc 0 "--scratch CONCURRENTLY file: exit 0"
expect_file "$OUT" "--- schema before
+++ schema after 003_concurrently.sql
@@ -26,4 +26,5 @@ table public.tickets
   constraint tickets_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id)
   constraint tickets_pkey PRIMARY KEY (id)
   index tickets_customer_idx CREATE INDEX tickets_customer_idx ON public.tickets USING btree (customer_id)
+  index tickets_title_idx CREATE INDEX tickets_title_idx ON public.tickets USING btree (title)
   grant postgres DELETE, INSERT, REFERENCES, SELECT, TRIGGER, TRUNCATE, UPDATE
Schema diff: 1 line added, 0 removed (pending/003_concurrently.sql, on a scratch database built from the files)" \
	"--scratch CONCURRENTLY file: the index, on the files' schema (no hand-made column)"
no_cluster_left "--scratch CONCURRENTLY file"
expect_eq "$(q "SELECT to_regclass('public.tickets_title_idx') IS NULL")" "t" "--scratch CONCURRENTLY file: not on the target"

m diff --schema --against-scratch --json
expect_json 'd["kind"], d["where"], d["built_from"], d["diff"]["added"], d["diff"]["removed"]' \
	"('schema', 'against-scratch', ['archive/consolidated_schema.sql', 'applied/001_tickets.sql'], 1, 1)" \
	"--against-scratch --json"

# a role that may not create databases is told why
m -d "dbname=$DB user=md_diff_ro" diff --schema --against-scratch=server
expect_rc 1 "no CREATEDB: exit 1"
expect_fgrep "$ERR" "cannot create a scratch database on the target's server: ERROR: permission denied to create database (the role needs CREATEDB" \
	"no CREATEDB: says why"
no_scratch_left "no CREATEDB"

# a file that breaks the build: named, and the scratch database dropped
printf 'ALTER TABLE nope ADD COLUMN x int;\n' >applied/001_tickets.sql
m diff --schema --against-scratch
expect_rc 1 "a broken applied file: exit 1"
expect_fgrep "$ERR" "applied/001_tickets.sql:1:1: building the scratch database: ERROR: relation \"nope\" does not exist" \
	"a broken applied file: file:line:col"
no_cluster_left "a broken applied file (local)"
m diff --schema --against-scratch=server
expect_rc 1 "a broken applied file, server: exit 1"
expect_fgrep "$ERR" "applied/001_tickets.sql:1:1: building the scratch database: ERROR: relation \"nope\" does not exist" \
	"a broken applied file, server: file:line:col"
no_scratch_left "a broken applied file"

# SIGTERM while the local cluster is built: stopped and removed, then
# migdeck dies of the signal
printf 'CREATE TABLE slow (id int);\nSELECT pg_sleep(30);\n' >applied/001_tickets.sql
# (in a subshell whose own "Terminated" goes nowhere)
rm -f "$T/bg.pid" "$T/bg.rc"
(
	$BIN -d "dbname=$DB" diff --schema --against-scratch >"$OUT" 2>"$ERR" </dev/null &
	echo $! >"$T/bg.pid"
	wait $!
	echo $? >"$T/bg.rc"
) 2>/dev/null &
sub=$!
i=0
while [ $i -lt 50 ] && [ ! -s "$T/bg.pid" ]; do
	sleep 0.1
	i=$((i + 1))
done
bgpid=$(cat "$T/bg.pid")
i=0
while [ $i -lt 200 ] && ! grep -q "applying" "$ERR"; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.5
kill -TERM "$bgpid"
wait $sub
rc=$(cat "$T/bg.rc" 2>/dev/null || echo none)
expect_rc 143 "SIGTERM during the build: dies of it"
expect_fgrep "$ERR" "migdeck: scratch: interrupted: the scratch cluster is stopped and removed" "SIGTERM during the build: says so"
no_cluster_left "SIGTERM during the build"

# a single-folder workspace: the history says which files the scratch runs
newdb single
newws ws_single
mkdir migrations
printf '[workspace]\npending = migrations\napplied = migrations\n' >migdeck.ini
printf 'CREATE TABLE s1 (id int);\n' >migrations/001_s1.sql
printf 'CREATE TABLE s2 (id int);\n' >migrations/002_s2.sql
m migrate --to 001
expect_rc 0 "single folder: migrate 001"
m diff --schema --against-scratch
expect_rc 0 "single folder --against-scratch: exit 0"
expect_file "$OUT" "Schema diff: no change (the database against a scratch database built from 1 file)" \
	"single folder --against-scratch: built from what the history says is applied"
m diff --schema --all-pending --scratch
expect_rc 0 "single folder --all-pending --scratch: exit 0"
expect_line "$OUT" "+table public.s2" "single folder --all-pending --scratch: the pending table"
expect_no_fgrep "$OUT" "+table public.s1" "single folder --all-pending --scratch: not the applied one"
no_scratch_left "single folder"

# ---- 4. git: the file against HEAD or a commit ------------------------------------------

if [ $have_git = 1 ]; then
	newws ws_git
	g() { git -c user.name=t -c user.email=t@example.com "$@" >/dev/null 2>&1; }
	g init -q .
	printf 'CREATE TABLE a (\n\tid int\n);\n' >pending/001_a.sql
	run diff --git pending/001_a.sql
	expect_rc 3 "git, no commit yet: refused"
	expect_fgrep "$ERR" "pending/001_a.sql: the git repository has no commit yet" "git, no commit yet: says so"
	g add -A
	g commit -q -m one
	first=$(git rev-parse HEAD)
	run diff --git pending/001_a.sql
	expect_rc 0 "git, unchanged: exit 0"
	expect_file "$OUT" "Git diff: no change (pending/001_a.sql against HEAD, commit $(echo "$first" | cut -c1-12))" \
		"git, unchanged: empty"
	printf 'CREATE TABLE a (\n\tid bigint,\n\tname text\n);\n' >pending/001_a.sql
	run diff --git pending/001_a.sql
	expect_rc 0 "git against HEAD: exit 0"
	expect_file "$OUT" "--- a/pending/001_a.sql
+++ b/pending/001_a.sql
@@ -1,3 +1,4 @@
 CREATE TABLE a (
-	id int
+	id bigint,
+	name text
 );
Git diff: 2 lines added, 1 removed (pending/001_a.sql against HEAD, commit $(echo "$first" | cut -c1-12))" \
		"git against HEAD"
	# the same hunks as git's own diff
	git diff HEAD -- pending/001_a.sql | sed -n '/^@@/,$p' >"$T/git.hunks"
	diff_part | sed -n '/^@@/,$p' >"$T/md.hunks"
	expect_same "$T/git.hunks" "$T/md.hunks" "git against HEAD: the hunks git diff shows"
	g commit -q -a -m two
	printf 'CREATE TABLE a (\n\tid bigint,\n\tname text NOT NULL\n);\n' >pending/001_a.sql
	run diff --git pending/001_a.sql --against "$first"
	expect_rc 0 "git against a commit: exit 0"
	git diff "$first" -- pending/001_a.sql | sed -n '/^@@/,$p' >"$T/git.hunks"
	diff_part | sed -n '/^@@/,$p' >"$T/md.hunks"
	expect_same "$T/git.hunks" "$T/md.hunks" "git against a commit: the hunks git diff shows"
	run diff --git pending/001_a.sql --against HEAD~1 --json
	expect_json 'd["kind"], d["against"], d["commit"] == sys.argv[0] or d["commit"], d["diff"]["added"], d["diff"]["removed"]' \
		"('git', 'HEAD~1', '$first', 2, 1)" "git --against HEAD~1 --json"
	# moved since the commit: compared with where it was
	mv pending/001_a.sql applied/001_a.sql
	run diff --git applied/001_a.sql
	expect_rc 0 "git, a moved file: exit 0"
	expect_line "$OUT" "--- a/pending/001_a.sql" "git, a moved file: the old path"
	expect_line "$OUT" "+++ b/applied/001_a.sql" "git, a moved file: the new path"
	expect_line "$OUT" "+	name text NOT NULL" "git, a moved file: its change"
	# a new file: every line added
	printf 'SELECT 1;\n' >pending/002_new.sql
	run diff --git pending/002_new.sql
	expect_rc 0 "git, a new file: exit 0"
	expect_file "$OUT" "--- /dev/null
+++ b/pending/002_new.sql
@@ -0,0 +1 @@
+SELECT 1;
Git diff: 1 line added, 0 removed (pending/002_new.sql against HEAD, commit $(git rev-parse HEAD | cut -c1-12); not in that commit)" \
		"git, a new file"
	# a file gone from disk: every line removed
	g add -A
	g commit -q -m three
	rm pending/002_new.sql
	run diff --git pending/002_new.sql
	expect_rc 0 "git, a deleted file: exit 0"
	expect_file "$OUT" "--- a/pending/002_new.sql
+++ /dev/null
@@ -1 +0,0 @@
-SELECT 1;
Git diff: 0 lines added, 1 removed (pending/002_new.sql against HEAD, commit $(git rev-parse HEAD | cut -c1-12); deleted since)" \
		"git, a deleted file"
	run diff --git applied/001_a.sql --against no_such_branch
	expect_rc 3 "git, an unknown commit: refused"
	expect_fgrep "$ERR" "git: no commit 'no_such_branch' in the repository" "git, an unknown commit: says so"
	mkdir -p "$T/norepo"
	printf 'SELECT 1;\n' >"$T/norepo/x.sql"
	GIT_CEILING_DIRECTORIES=$T run diff --git "$T/norepo/x.sql"
	expect_rc 3 "git, not a repository: refused"
	expect_fgrep "$ERR" "not in a git repository" "git, not a repository: says so"
else
	echo "# test_diff.sh: git not found: the --git tests are skipped"
fi

# ---- 5. drift: the text applied against the file now ------------------------------------

newdb drift
newws ws_drift
cat >pending/001_t.sql <<'SQL'
-- the table
CREATE TABLE t (
	id int PRIMARY KEY,
	name text
);
CREATE INDEX t_name ON t (name);
SQL
printf 'CREATE TABLE u (id int);\n' >pending/002_u.sql
printf 'CREATE TABLE v (id int);\n' >pending/003_v.sql
m migrate --to 002
expect_rc 0 "drift: migrate"
m diff --drift applied/001_t.sql --json
AT=$(sed -n 's/.*"applied_at":"\([^"]*\)".*/\1/p' "$OUT")
case $AT in 20[0-9][0-9]-*) ok ;; *) bad "drift --json: applied_at '$AT'" ;; esac
m diff --drift applied/001_t.sql
expect_rc 0 "drift, unchanged: exit 0"
expect_file "$OUT" "Drift: none (applied/001_t.sql: no change since it was applied at $AT)" \
	"drift, unchanged"
# comments and whitespace only
cat >applied/001_t.sql <<'SQL'
-- the table, with a better comment
CREATE TABLE t (
	id   int PRIMARY KEY,  -- the key
	name text
);
CREATE INDEX t_name ON t (name);
SQL
m diff --drift 001
expect_rc 0 "drift, cosmetic: exit 0"
expect_fgrep "$OUT" "Drift: cosmetic (applied/001_t.sql: 1 line added, 1 removed since it was applied at" "drift, cosmetic: classified"
expect_line "$OUT" "-	id int PRIMARY KEY," "drift, cosmetic: the line as applied"
expect_line "$OUT" "+	id   int PRIMARY KEY,  -- the key" "drift, cosmetic: the line now"
m status --json
expect_json '[m["checksum_state"] for m in d["migrations"] if m["version"] == "001"][0]' "cosmetic" \
	"drift, cosmetic: status agrees"
# a comment between statements only: the text sent is the same
cat >applied/001_t.sql <<'SQL'
-- the table
CREATE TABLE t (
	id int PRIMARY KEY,
	name text
);
-- and its index
CREATE INDEX t_name ON t (name);
SQL
m diff --drift 001
expect_rc 0 "drift, a comment between statements: exit 0"
expect_fgrep "$OUT" "Drift: cosmetic (applied/001_t.sql: comments or blank lines between statements changed since it was applied" \
	"drift, a comment between statements: cosmetic, no diff"
expect_eq "$(wc -l <"$OUT" | tr -d ' ')" "1" "drift, a comment between statements: only the summary"
# a real change
cat >applied/001_t.sql <<'SQL'
-- the table
CREATE TABLE t (
	id bigint PRIMARY KEY,
	name text NOT NULL
);
CREATE INDEX t_name ON t (name);
SQL
m diff --drift applied/001_t.sql
expect_rc 0 "drift, real: exit 0"
expect_file "$OUT" "--- 001_t.sql as applied $AT
+++ applied/001_t.sql now
@@ -1,5 +1,5 @@
 CREATE TABLE t (
-	id int PRIMARY KEY,
-	name text
+	id bigint PRIMARY KEY,
+	name text NOT NULL
 );
 CREATE INDEX t_name ON t (name);
Drift: real (applied/001_t.sql: 2 lines added, 2 removed since it was applied at $AT)" \
	"drift, real"
m diff --drift 001_t --json
expect_json 'd["kind"], d["file"], d["version"], d["classification"], d["recorded_checksum"] != d["checksum"], d["diff"]["added"]' \
	"('drift', 'applied/001_t.sql', '001', 'real', True, 2)" "drift --json"
m diff --drift pending/003_v.sql
expect_rc 3 "drift of a pending file: refused"
expect_fgrep "$ERR" "pending/003_v.sql: is pending, not applied: there is no applied text to compare with" \
	"drift of a pending file: says so"
m diff --drift 999
expect_rc 3 "drift of an unknown version: refused"
expect_fgrep "$ERR" "999: no forward migration of the workspace has that path, name or version" "drift of an unknown version: says so"
m baseline --version 003
expect_rc 0 "drift: baseline 003"
m diff --drift 003
expect_rc 3 "drift of a baselined file: refused"
expect_fgrep "$ERR" "no text was recorded when version 003 was applied (it was baselined, not run)" \
	"drift of a baselined file: says why"

echo "test_diff.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
