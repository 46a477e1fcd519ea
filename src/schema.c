/* schema.c - the canonical schema snapshot (see schema.h).
 *
 * Everything is one query: CTEs pick the objects (relations, types,
 * routines, schemas, extensions), and a UNION ALL of small SELECTs turns
 * each kind of fact into rows of (object kind rank, object kind, object
 * name, property rank, property kind, property name, position, value).
 * The server sorts them (COLLATE "C": byte order, the same on every
 * server); the C side only groups rows into objects and prints. */
#include "schema.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The trigger function migrations/002_self_recording.sql creates beside the
 * history table. */
#define BOOKKEEPING_FUNCTION "migdeck_self_record"

/* history.c's names for the tables beside the history table: <table>_events
 * and <table>_migdeck (and db.c's <table>_lease), a long name shortened (at
 * a character boundary) to fit PostgreSQL's 63 bytes. */
#define NAME_BYTES 63

static void suffixed(char *out, const char *base, const char *suffix)
{
	size_t n = strlen(base), s = strlen(suffix);

	if (n + s > NAME_BYTES) {
		n = NAME_BYTES - s;
		while (n > 0 && ((unsigned char)base[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, base, n);
	memcpy(out + n, suffix, s + 1);
}

/* $1 the history schema, $2 the bookkeeping tables, $3 the bookkeeping
 * functions (both text[]: empty arrays to keep them). */
#define SYS_NSP(n) n ".nspname !~ '^pg_' AND " n ".nspname <> 'information_schema'"
#define NOT_EXT(cls, oid)                                                                   \
	"NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '" cls "'::regclass"       \
	" AND d.objid = " oid " AND d.deptype = 'e')"

/* grants of an ACL (NULL: the defaults of acltype for owner), one row per
 * grantee, grantor and grant option */
#define GRANTS(acl, acltype, owner)                                                         \
	"CROSS JOIN LATERAL (SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC'"                  \
	" ELSE pg_get_userbyid(a.grantee)::text END AS grantee,"                            \
	" string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type COLLATE \"C\")"       \
	" || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END"                \
	" || CASE WHEN a.grantor <> " owner " THEN ' GRANTED BY '"                          \
	" || pg_get_userbyid(a.grantor) ELSE '' END AS privs"                               \
	" FROM aclexplode(coalesce(" acl ", acldefault(" acltype ", " owner "))) a"          \
	" GROUP BY a.grantee, a.is_grantable, a.grantor) g"

static const char SNAPSHOT_SQL[] =
	"WITH rels AS ("
	" SELECT c.oid, c.relkind, c.relowner, c.relacl, c.reloptions, c.relpersistence,"
	"  c.relrowsecurity, c.relforcerowsecurity, c.relreplident, c.relispartition,"
	"  c.relpartbound,"
	"  quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS ident,"
	"  CASE c.relkind WHEN 'S' THEN 4 WHEN 'v' THEN 6 WHEN 'm' THEN 7 ELSE 5 END AS krank,"
	"  CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'"
	"   WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'"
	"   ELSE 'table' END AS okind"
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	" WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND " SYS_NSP("n")
	"  AND NOT (n.nspname = $1 AND c.relname = ANY ($2::text[]))"
	"  AND " NOT_EXT("pg_class", "c.oid")
	"  AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid"
	"   JOIN pg_namespace tn ON tn.oid = t.relnamespace"
	"   WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid"
	"   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
	"   AND tn.nspname = $1 AND t.relname = ANY ($2::text[]))"
	"), typs AS ("
	" SELECT t.oid, t.typtype, t.typowner, t.typacl, t.typrelid, t.typbasetype, t.typtypmod,"
	"  t.typnotnull, t.typdefaultbin, t.typcollation,"
	"  quote_ident(n.nspname) || '.' || quote_ident(t.typname) AS ident,"
	"  CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END AS okind"
	" FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
	" WHERE " SYS_NSP("n")
	"  AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND"
	"   (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))"
	"  AND " NOT_EXT("pg_type", "t.oid")
	"), procs AS ("
	" SELECT p.oid, p.prokind, p.proowner, p.proacl,"
	"  quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '('"
	"   || pg_get_function_identity_arguments(p.oid) || ')' AS ident,"
	"  CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'"
	"   ELSE 'function' END AS okind"
	" FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
	" WHERE " SYS_NSP("n")
	"  AND NOT (n.nspname = $1 AND p.proname = ANY ($3::text[]))"
	"  AND " NOT_EXT("pg_proc", "p.oid")
	/* made with a range type (its constructors): the type's */
	"  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass"
	"   AND d.objid = p.oid AND d.deptype = 'i')"
	"), objs AS ("
	" SELECT 1 AS krank, 'extension'::text AS okind, quote_ident(e.extname) AS ident, e.oid,"
	"  'pg_extension'::regclass AS cls, NULL::oid AS owner, NULL::aclitem[] AS acl,"
	"  NULL::\"char\" AS acltype"
	" FROM pg_extension e"
	" UNION ALL SELECT 2, 'schema', quote_ident(n.nspname), n.oid, 'pg_namespace'::regclass,"
	"  n.nspowner, n.nspacl, 'n'::\"char\""
	" FROM pg_namespace n WHERE " SYS_NSP("n") " AND " NOT_EXT("pg_namespace", "n.oid")
	" UNION ALL SELECT 3, okind, ident, oid, 'pg_type'::regclass, typowner, typacl, 'T'::\"char\""
	" FROM typs"
	" UNION ALL SELECT krank, okind, ident, oid, 'pg_class'::regclass, relowner, relacl,"
	"  (CASE relkind WHEN 'S' THEN 's' ELSE 'r' END)::\"char\""
	" FROM rels"
	" UNION ALL SELECT 8, okind, ident, oid, 'pg_proc'::regclass, proowner, proacl, 'f'::\"char\""
	" FROM procs"
	"), facts AS ("
	/* every object, owner, comment, grants */
	" SELECT krank, okind, ident, 0 AS prank, ''::text AS pkind, ''::text AS pname,"
	"  0::bigint AS seq, ''::text AS def"
	" FROM objs"
	" UNION ALL SELECT krank, okind, ident, 1, 'owner', '', 0, pg_get_userbyid(owner)::text"
	" FROM objs WHERE owner IS NOT NULL"
	" UNION ALL SELECT o.krank, o.okind, o.ident, 90, 'comment', '', 0, d.description"
	" FROM objs o JOIN pg_description d ON d.classoid = o.cls AND d.objoid = o.oid"
	"  AND d.objsubid = 0"
	" UNION ALL SELECT o.krank, o.okind, o.ident, 95, 'grant', g.grantee, 0, g.privs"
	" FROM objs o " GRANTS("o.acl", "o.acltype", "o.owner")
	" WHERE o.acltype IS NOT NULL"
	/* extensions */
	" UNION ALL SELECT 1, 'extension', quote_ident(e.extname), 0, 'version', '', 0,"
	"  e.extversion"
	" FROM pg_extension e"
	" UNION ALL SELECT 1, 'extension', quote_ident(e.extname), 0, 'schema', '', 0,"
	"  quote_ident(n.nspname)"
	" FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
	/* relations: their own settings */
	" UNION ALL SELECT krank, okind, ident, 0, 'unlogged', '', 0, ''"
	" FROM rels WHERE relpersistence = 'u'"
	" UNION ALL SELECT krank, okind, ident, 0, 'partition by', '', 0, pg_get_partkeydef(oid)"
	" FROM rels WHERE relkind = 'p'"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 0,"
	"  CASE WHEN r.relispartition THEN 'partition of' ELSE 'inherits' END,"
	"  quote_ident(pn.nspname) || '.' || quote_ident(pc.relname), i.inhseqno,"
	"  CASE WHEN r.relispartition THEN pg_get_expr(r.relpartbound, r.oid) ELSE '' END"
	" FROM rels r JOIN pg_inherits i ON i.inhrelid = r.oid"
	"  JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace"
	" UNION ALL SELECT krank, okind, ident, 0, 'option', '', 0, opt"
	" FROM rels CROSS JOIN LATERAL unnest(reloptions) AS opt"
	" UNION ALL SELECT krank, okind, ident, 0, 'row level security', '', 0,"
	"  CASE WHEN relforcerowsecurity THEN 'enabled, forced' ELSE 'enabled' END"
	" FROM rels WHERE relrowsecurity"
	" UNION ALL SELECT krank, okind, ident, 0, 'replica identity', '', 0,"
	"  CASE relreplident WHEN 'f' THEN 'full' WHEN 'n' THEN 'nothing' ELSE 'index' END"
	" FROM rels WHERE relkind IN ('r', 'p') AND relreplident <> 'd'"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 0, 'cluster on', '', 0, quote_ident(ic.relname)"
	" FROM rels r JOIN pg_index i ON i.indrelid = r.oid AND i.indisclustered"
	"  JOIN pg_class ic ON ic.oid = i.indexrelid"
	/* sequences */
	" UNION ALL SELECT r.krank, r.okind, r.ident, 0, 'sequence', '', 0,"
	"  format_type(s.seqtypid, NULL) || ' start ' || s.seqstart || ' increment '"
	"  || s.seqincrement || ' minvalue ' || s.seqmin || ' maxvalue ' || s.seqmax"
	"  || ' cache ' || s.seqcache || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END"
	" FROM rels r JOIN pg_sequence s ON s.seqrelid = r.oid"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 0, 'owned by', '', 0,"
	"  quote_ident(tn.nspname) || '.' || quote_ident(t.relname) || '.' || quote_ident(a.attname)"
	"  || CASE d.deptype WHEN 'i' THEN ' (identity)' ELSE '' END"
	" FROM rels r JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = r.oid"
	"  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
	"  JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace"
	"  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid"
	" WHERE r.relkind = 'S'"
	/* columns, in their order */
	" UNION ALL SELECT r.krank, r.okind, r.ident, 2, 'column', quote_ident(a.attname),"
	"  row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),"
	"  format_type(a.atttypid, a.atttypmod)"
	"  || CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation"
	"   THEN ' COLLATE ' || quote_ident(cn.nspname) || '.' || quote_ident(co.collname)"
	"   ELSE '' END"
	"  || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END"
	"  || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY'"
	"   WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END"
	"  || CASE WHEN a.attgenerated = 's'"
	"   THEN ' GENERATED ALWAYS AS (' || pg_get_expr(ad.adbin, ad.adrelid) || ') STORED'"
	"   WHEN ad.adbin IS NOT NULL THEN ' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid)"
	"   ELSE '' END"
	" FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0"
	"  AND NOT a.attisdropped"
	"  JOIN pg_type t ON t.oid = a.atttypid"
	"  LEFT JOIN pg_collation co ON co.oid = a.attcollation"
	"  LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace"
	"  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
	" WHERE r.relkind <> 'S'"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 91, 'column comment', quote_ident(a.attname),"
	"  0, d.description"
	" FROM rels r JOIN pg_description d ON d.classoid = 'pg_class'::regclass"
	"  AND d.objoid = r.oid AND d.objsubid > 0"
	"  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = d.objsubid"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 96, 'column grant', quote_ident(a.attname), 0,"
	"  g.grantee || ': ' || g.privs"
	" FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0"
	"  AND NOT a.attisdropped AND a.attacl IS NOT NULL "
	GRANTS("a.attacl", "'c'::\"char\"", "r.relowner")
	/* constraints, indexes, triggers, rules, policies */
	" UNION ALL SELECT r.krank, r.okind, r.ident, 3, 'constraint', quote_ident(c.conname), 0,"
	"  pg_get_constraintdef(c.oid)"
	" FROM rels r JOIN pg_constraint c ON c.conrelid = r.oid WHERE c.contype <> 't'"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 92, 'constraint comment',"
	"  quote_ident(c.conname), 0, d.description"
	" FROM rels r JOIN pg_constraint c ON c.conrelid = r.oid"
	"  JOIN pg_description d ON d.classoid = 'pg_constraint'::regclass AND d.objoid = c.oid"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 4, 'index', quote_ident(ic.relname), 0,"
	"  pg_get_indexdef(i.indexrelid)"
	"  || CASE WHEN i.indisvalid THEN '' ELSE ' (invalid)' END"
	" FROM rels r JOIN pg_index i ON i.indrelid = r.oid"
	"  JOIN pg_class ic ON ic.oid = i.indexrelid"
	" WHERE NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid"
	"  AND c.conrelid = r.oid AND c.contype IN ('p', 'u', 'x'))"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 93, 'index comment', quote_ident(ic.relname),"
	"  0, d.description"
	" FROM rels r JOIN pg_index i ON i.indrelid = r.oid"
	"  JOIN pg_class ic ON ic.oid = i.indexrelid"
	"  JOIN pg_description d ON d.classoid = 'pg_class'::regclass"
	"  AND d.objoid = i.indexrelid AND d.objsubid = 0"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 5, 'trigger', quote_ident(tg.tgname), 0,"
	"  pg_get_triggerdef(tg.oid, false)"
	"  || CASE tg.tgenabled WHEN 'D' THEN ' (disabled)' WHEN 'R' THEN ' (enabled replica)'"
	"   WHEN 'A' THEN ' (enabled always)' ELSE '' END"
	" FROM rels r JOIN pg_trigger tg ON tg.tgrelid = r.oid WHERE NOT tg.tgisinternal"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 94, 'trigger comment', quote_ident(tg.tgname),"
	"  0, d.description"
	" FROM rels r JOIN pg_trigger tg ON tg.tgrelid = r.oid AND NOT tg.tgisinternal"
	"  JOIN pg_description d ON d.classoid = 'pg_trigger'::regclass AND d.objoid = tg.oid"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 6, 'rule', quote_ident(rw.rulename), 0,"
	"  pg_get_ruledef(rw.oid, false)"
	" FROM rels r JOIN pg_rewrite rw ON rw.ev_class = r.oid WHERE rw.rulename <> '_RETURN'"
	" UNION ALL SELECT r.krank, r.okind, r.ident, 7, 'policy', quote_ident(pol.polname), 0,"
	"  CASE WHEN pol.polpermissive THEN '' ELSE 'AS RESTRICTIVE ' END || 'FOR '"
	"  || CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'"
	"   WHEN 'd' THEN 'DELETE' ELSE 'ALL' END"
	"  || ' TO ' || (SELECT string_agg(x.name, ', ' ORDER BY x.name COLLATE \"C\") FROM"
	"   (SELECT CASE WHEN rid = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(rid)::text END AS name"
	"    FROM unnest(pol.polroles) AS rid) x)"
	"  || coalesce(' USING (' || pg_get_expr(pol.polqual, pol.polrelid) || ')', '')"
	"  || coalesce(' WITH CHECK (' || pg_get_expr(pol.polwithcheck, pol.polrelid) || ')', '')"
	" FROM rels r JOIN pg_policy pol ON pol.polrelid = r.oid"
	" UNION ALL SELECT krank, okind, ident, 8, 'definition', '', 0, pg_get_viewdef(oid, true)"
	" FROM rels WHERE relkind IN ('v', 'm')"
	/* types */
	" UNION ALL SELECT 3, t.okind, t.ident, 2, 'value', '',"
	"  row_number() OVER (PARTITION BY e.enumtypid ORDER BY e.enumsortorder),"
	"  quote_literal(e.enumlabel)"
	" FROM typs t JOIN pg_enum e ON e.enumtypid = t.oid"
	" UNION ALL SELECT 3, t.okind, t.ident, 2, 'attribute', quote_ident(a.attname),"
	"  row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),"
	"  format_type(a.atttypid, a.atttypmod)"
	"  || CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation"
	"   THEN ' COLLATE ' || quote_ident(cn.nspname) || '.' || quote_ident(co.collname)"
	"   ELSE '' END"
	" FROM typs t JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0"
	"  AND NOT a.attisdropped"
	"  JOIN pg_type at ON at.oid = a.atttypid"
	"  LEFT JOIN pg_collation co ON co.oid = a.attcollation"
	"  LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace"
	" WHERE t.typtype = 'c'"
	" UNION ALL SELECT 3, t.okind, t.ident, 0, 'type', '', 0,"
	"  format_type(t.typbasetype, t.typtypmod)"
	"  || CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation"
	"   THEN ' COLLATE ' || quote_ident(cn.nspname) || '.' || quote_ident(co.collname)"
	"   ELSE '' END"
	"  || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END"
	"  || coalesce(' DEFAULT ' || pg_get_expr(t.typdefaultbin, 0), '')"
	" FROM typs t JOIN pg_type bt ON bt.oid = t.typbasetype"
	"  LEFT JOIN pg_collation co ON co.oid = t.typcollation"
	"  LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace"
	" WHERE t.typtype = 'd'"
	" UNION ALL SELECT 3, t.okind, t.ident, 3, 'constraint', quote_ident(c.conname), 0,"
	"  pg_get_constraintdef(c.oid)"
	" FROM typs t JOIN pg_constraint c ON c.contypid = t.oid"
	" UNION ALL SELECT 3, t.okind, t.ident, 0, 'range', '', 0,"
	"  'subtype ' || format_type(rg.rngsubtype, NULL)"
	"  || coalesce(' canonical ' || nullif(rg.rngcanonical::oid, 0)::regprocedure::text, '')"
	"  || coalesce(' subtype_diff ' || nullif(rg.rngsubdiff::oid, 0)::regprocedure::text, '')"
	" FROM typs t JOIN pg_range rg ON rg.rngtypid = t.oid"
	/* functions, procedures, aggregates */
	" UNION ALL SELECT 8, okind, ident, 8, 'definition', '', 0, pg_get_functiondef(oid)"
	" FROM procs WHERE prokind <> 'a'"
	" UNION ALL SELECT 8, p.okind, p.ident, 8, 'aggregate', '', 0,"
	"  'sfunc ' || ag.aggtransfn::oid::regprocedure::text"
	"  || ' stype ' || format_type(ag.aggtranstype, NULL)"
	"  || coalesce(' finalfunc ' || nullif(ag.aggfinalfn::oid, 0)::regprocedure::text, '')"
	"  || coalesce(' combinefunc ' || nullif(ag.aggcombinefn::oid, 0)::regprocedure::text, '')"
	"  || coalesce(' initcond ' || quote_literal(ag.agginitval), '')"
	" FROM procs p JOIN pg_aggregate ag ON ag.aggfnoid = p.oid"
	")"
	" SELECT okind, ident, pkind, pname, def FROM facts"
	" ORDER BY krank, ident COLLATE \"C\", prank, pkind COLLATE \"C\", seq, pname COLLATE \"C\", def COLLATE \"C\"";

/* The settings a snapshot reads under (deparsed names, constants and
 * expressions depend on them), and set back afterwards. */
static const char *const SETTINGS[][2] = {
	{ "search_path", "pg_catalog" },
	{ "DateStyle", "ISO, YMD" },
	{ "IntervalStyle", "postgres" },
	{ "TimeZone", "UTC" },
	{ "extra_float_digits", "3" },
	{ "quote_all_identifiers", "off" },
	{ "bytea_output", "hex" },
};
#define NSETTINGS (sizeof(SETTINGS) / sizeof(SETTINGS[0]))

/* "SELECT set_config($1, $2, false), ..." for the settings */
static md_status set_settings(md_db *db, const char *const *values, md_error *err)
{
	const char *params[NSETTINGS * 2];
	char sql[64 * NSETTINGS + 16];
	size_t i, used;
	PGresult *res = NULL;
	md_status rc;

	used = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
	for (i = 0; i < NSETTINGS; i++) {
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, "%sset_config($%zu, $%zu, false)",
					 i ? ", " : "", 2 * i + 1, 2 * i + 2);
		params[2 * i] = SETTINGS[i][0];
		params[2 * i + 1] = values[i];
	}
	rc = md_db_query(db, &res, sql, (int)(NSETTINGS * 2), params, err);
	PQclear(res);
	return rc;
}

void md_schema_free(md_schema *s)
{
	if (!s)
		return;
	free(s->objs);
	free(s->props);
	PQclear(s->res);
	free(s);
}

md_status md_schema_snapshot(md_db *db, const md_config *cfg, unsigned flags, md_schema **out,
			     md_error *err)
{
	const char *schema = cfg && cfg->history_schema ? cfg->history_schema : "public";
	const char *table = cfg && cfg->history_table ? cfg->history_table : "schema_versions";
	char *tables = NULL, *saved[NSETTINGS];
	const char *params[3], *fresh[NSETTINGS];
	PGresult *res = NULL, *old = NULL;
	md_schema *s = NULL;
	md_status rc;
	int i, nrows;
	size_t k;

	*out = NULL;
	memset(saved, 0, sizeof(saved));
	/* the bookkeeping tables, as an array literal of quoted elements */
	if (flags & MD_SCHEMA_BOOKKEEPING) {
		tables = strdup("{}");
	} else {
		char ev[NAME_BYTES + 1], mg[NAME_BYTES + 1], ls[NAME_BYTES + 1];
		const char *names[4];
		size_t cap = 16, used = 0, j;

		suffixed(ev, table, "_events");
		suffixed(mg, table, "_migdeck");
		suffixed(ls, table, "_lease"); /* the runner lock behind a pooler (db.c) */
		names[0] = table;
		names[1] = ev;
		names[2] = mg;
		names[3] = ls;
		for (j = 0; j < 4; j++)
			cap += strlen(names[j]) * 2 + 4;
		tables = malloc(cap);
		if (tables) {
			tables[used++] = '{';
			for (j = 0; j < 4; j++) {
				const char *p;
				if (j)
					tables[used++] = ',';
				tables[used++] = '"';
				for (p = names[j]; *p; p++) {
					if (*p == '"' || *p == '\\')
						tables[used++] = '\\';
					tables[used++] = *p;
				}
				tables[used++] = '"';
			}
			tables[used++] = '}';
			tables[used] = '\0';
		}
	}
	if (!tables)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");

	/* the session's settings, to put back */
	{
		char sql[64 * NSETTINGS + 16];
		const char *names[NSETTINGS];
		size_t used = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
		for (k = 0; k < NSETTINGS; k++) {
			used += (size_t)snprintf(sql + used, sizeof(sql) - used, "%scurrent_setting($%zu)",
						 k ? ", " : "", k + 1);
			names[k] = SETTINGS[k][0];
		}
		if ((rc = md_db_query(db, &old, sql, (int)NSETTINGS, names, err)) != MD_OK)
			goto done;
		for (k = 0; k < NSETTINGS; k++) {
			saved[k] = strdup(PQgetvalue(old, 0, (int)k));
			if (!saved[k]) {
				rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
				goto done;
			}
			fresh[k] = SETTINGS[k][1];
		}
	}
	if ((rc = set_settings(db, fresh, err)) != MD_OK)
		goto done;
	params[0] = schema;
	params[1] = tables;
	params[2] = flags & MD_SCHEMA_BOOKKEEPING ? "{}" : "{" BOOKKEEPING_FUNCTION "}";
	rc = md_db_query(db, &res, SNAPSHOT_SQL, 3, params, err);
	{
		/* put the settings back, also after a failure (in an aborted
		 * transaction this fails too, and the rollback restores them) */
		md_error ignore;
		if (rc == MD_OK)
			rc = set_settings(db, (const char *const *)saved, err);
		else
			set_settings(db, (const char *const *)saved, &ignore);
	}
	if (rc != MD_OK)
		goto done;

	s = calloc(1, sizeof(*s));
	nrows = PQntuples(res);
	if (!s || (nrows && (!(s->objs = calloc((size_t)nrows, sizeof(*s->objs))) ||
			     !(s->props = calloc((size_t)nrows, sizeof(*s->props)))))) {
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	for (i = 0; i < nrows; i++) {
		const char *okind = PQgetvalue(res, i, 0), *ident = PQgetvalue(res, i, 1);
		const char *pkind = PQgetvalue(res, i, 2);
		md_schema_obj *o = s->nobjs ? &s->objs[s->nobjs - 1] : NULL;

		if (!o || strcmp(o->kind, okind) || strcmp(o->name, ident)) {
			o = &s->objs[s->nobjs++];
			o->kind = okind;
			o->name = ident;
			o->first = s->nprops;
			o->n = 0;
		}
		if (!*pkind)
			continue;
		s->props[s->nprops].kind = pkind;
		s->props[s->nprops].name = PQgetvalue(res, i, 3);
		s->props[s->nprops].def = PQgetvalue(res, i, 4);
		s->nprops++;
		o->n++;
	}
	s->res = res;
	res = NULL;
	*out = s;
	s = NULL;
done:
	for (k = 0; k < NSETTINGS; k++)
		free(saved[k]);
	PQclear(old);
	PQclear(res);
	md_schema_free(s);
	free(tables);
	return rc;
}

/* ---- text ------------------------------------------------------------------ */

typedef struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		char *np;
		while (b->len + n + 1 > ncap)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(sbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* the value without the line breaks at its end */
static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	return n;
}

char *md_schema_text(const md_schema *s, size_t *len)
{
	sbuf b = { NULL, 0, 0, 0 };
	size_t i, j;

	put(&b, "", 0);
	for (i = 0; s && i < s->nobjs; i++) {
		const md_schema_obj *o = &s->objs[i];
		puts_(&b, o->kind);
		put(&b, " ", 1);
		puts_(&b, o->name);
		put(&b, "\n", 1);
		for (j = o->first; j < o->first + o->n; j++) {
			const md_schema_prop *p = &s->props[j];
			size_t n = trimmed_len(p->def);
			put(&b, "  ", 2);
			puts_(&b, p->kind);
			if (*p->name) {
				put(&b, " ", 1);
				puts_(&b, p->name);
			}
			if (!n) {
				put(&b, "\n", 1);
			} else if (!memchr(p->def, '\n', n)) {
				put(&b, " ", 1);
				put(&b, p->def, n);
				put(&b, "\n", 1);
			} else {
				/* several lines: each on its own, indented */
				const char *l = p->def, *end = p->def + n;
				put(&b, "\n", 1);
				while (l <= end) {
					const char *nl = memchr(l, '\n', (size_t)(end - l));
					size_t ln = nl ? (size_t)(nl - l) : (size_t)(end - l);
					if (ln && l[ln - 1] == '\r')
						ln--;
					put(&b, "    ", 4);
					put(&b, l, ln);
					put(&b, "\n", 1);
					if (!nl)
						break;
					l = nl + 1;
				}
			}
		}
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}

void md_schema_json(const md_schema *s, FILE *out)
{
	size_t i, j;

	fputc('[', out);
	for (i = 0; s && i < s->nobjs; i++) {
		const md_schema_obj *o = &s->objs[i];
		fprintf(out, "%s\n {\"kind\":", i ? "," : "");
		md_json_str(out, o->kind, strlen(o->kind));
		fputs(",\"name\":", out);
		md_json_str(out, o->name, strlen(o->name));
		fputs(",\"properties\":[", out);
		for (j = o->first; j < o->first + o->n; j++) {
			const md_schema_prop *p = &s->props[j];
			fprintf(out, "%s{\"kind\":", j > o->first ? "," : "");
			md_json_str(out, p->kind, strlen(p->kind));
			fputs(",\"name\":", out);
			if (*p->name)
				md_json_str(out, p->name, strlen(p->name));
			else
				fputs("null", out);
			fputs(",\"definition\":", out);
			md_json_str(out, p->def, trimmed_len(p->def));
			fputc('}', out);
		}
		fputs("]}", out);
	}
	fputs(s && s->nobjs ? "\n]" : "]", out);
}

md_status md_schema_snapshot_text(md_db *db, const md_config *cfg, unsigned flags, char **text,
				  size_t *len, md_error *err)
{
	md_schema *s = NULL;
	md_status rc;

	*text = NULL;
	if ((rc = md_schema_snapshot(db, cfg, flags, &s, err)) != MD_OK)
		return rc;
	*text = md_schema_text(s, len);
	md_schema_free(s);
	if (!*text)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	return MD_OK;
}
