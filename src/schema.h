/* schema.h - the canonical snapshot of a database's schema: one text a diff
 * can compare, stable from run to run and from server to server.
 *
 * One query (one round trip, one snapshot of the catalogs) lists every
 * object of the database outside pg_catalog, information_schema and the
 * pg_toast/pg_temp schemas, skipping what belongs to an extension (the
 * extension itself is listed):
 *
 *   extension            version, schema
 *   schema               owner, comment, grants
 *   type / domain        enum values in order, composite attributes, range
 *                        subtype, domain base type, default, NOT NULL,
 *                        constraints
 *   sequence             type, start, increment, bounds, cache, cycle, owned by
 *   table / foreign table / view / materialized view
 *                        columns in their order (type, collation, NOT NULL,
 *                        identity, generated, default), constraints, indexes
 *                        (those that are not a constraint's), triggers,
 *                        rules, policies, partitioning, inheritance, options,
 *                        row level security, replica identity, cluster index,
 *                        view definitions
 *   function / procedure / aggregate
 *                        signature and whole definition (body included)
 *   and for each: owner, comment (and column, constraint, index and trigger
 *   comments), grants (ACLs expanded: a NULL ACL is written as the
 *   defaults it stands for, so "never granted" and "granted back to the
 *   defaults" read the same; column grants too).
 *
 * Stable: objects sorted by kind, then by quoted qualified name, byte order
 * (COLLATE "C"); properties by kind, then position (columns, enum values)
 * or name.  No OIDs, no attnums, no toast names, no internal triggers: two
 * databases with the same schema give the same text (a database and its
 * pg_dump restored elsewhere do; tests/cli/test_diff.sh proves it).  While
 * it reads, the session's search_path is pg_catalog (so every name outside
 * it is schema-qualified whatever the migration set), DateStyle ISO,
 * TimeZone UTC, IntervalStyle postgres, extra_float_digits 3; the settings
 * are put back after.
 *
 * migdeck's own bookkeeping (the history table, its _events and _migdeck
 * tables, their sequences and the migdeck_self_record trigger function) is
 * left out unless MD_SCHEMA_BOOKKEEPING is given: it is migdeck's, not the
 * application's schema.
 *
 * Text form, one line per property under its object:
 *
 *     table public.tickets
 *       owner app
 *       column id bigint NOT NULL GENERATED ALWAYS AS IDENTITY
 *       column title text NOT NULL
 *       constraint tickets_pkey PRIMARY KEY (id)
 *       index tickets_open_idx CREATE INDEX tickets_open_idx ON public.tickets ...
 *       grant app DELETE, INSERT, REFERENCES, SELECT, TRIGGER, TRUNCATE, UPDATE
 *
 * A value of several lines (a function's definition, a view's query) is
 * written on the lines after its property, each indented by four spaces.
 * Objects start in column 0, so a unified diff's hunk header names the
 * object a change is in. */
#ifndef MIGDECK_SCHEMA_H
#define MIGDECK_SCHEMA_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "db.h"
#include "error.h"

enum {
	MD_SCHEMA_BOOKKEEPING = 1u << 0 /* include migdeck's own history tables */
};

typedef struct md_schema_prop {
	const char *kind;   /* "owner", "column", "constraint", "index", "grant", ... */
	const char *name;   /* the column's, constraint's ... name; "" when none */
	const char *def;    /* the value; "" when none; may hold line breaks */
} md_schema_prop;

typedef struct md_schema_obj {
	const char *kind;   /* "extension", "schema", "type", "domain", "sequence",
	                       "table", "foreign table", "view", "materialized view",
	                       "function", "procedure", "aggregate" */
	const char *name;   /* quoted and qualified: public.tickets,
	                       public.touch(integer, text) */
	size_t first, n;    /* its properties: props[first .. first + n) */
} md_schema_obj;

typedef struct md_schema {
	md_schema_obj *objs;   /* in canonical order */
	size_t nobjs;
	md_schema_prop *props;
	size_t nprops;
	void *res;             /* the PGresult the strings point into */
} md_schema;

/* Read the schema of db's database (in whatever transaction db is in: a
 * preview takes its two snapshots inside the transaction it rolls back).
 * cfg names the history table to leave out; NULL: public.schema_versions. */
md_status md_schema_snapshot(md_db *db, const md_config *cfg, unsigned flags, md_schema **out,
			     md_error *err);
void md_schema_free(md_schema *s);   /* NULL is accepted */

/* The text form (see above), malloc'd and NUL-terminated, length in *len
 * (may be NULL); "" for an empty database.  NULL when out of memory. */
char *md_schema_text(const md_schema *s, size_t *len);

/* The objects as a JSON array on out (no newline after):
 * [{"kind":..,"name":..,"properties":[{"kind":..,"name":..|null,
 * "definition":..}]}]; a definition of several lines keeps its "\n"s. */
void md_schema_json(const md_schema *s, FILE *out);

/* md_schema_snapshot and md_schema_text in one call: what the console
 * shows.  *text is malloc'd. */
md_status md_schema_snapshot_text(md_db *db, const md_config *cfg, unsigned flags, char **text,
				  size_t *len, md_error *err);

#endif
