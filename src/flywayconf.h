/* flywayconf.h - a Flyway project's flyway.conf as migdeck settings.
 *
 * Read when it is named with -c (any *.conf or *.properties file) or, with
 * no -c, no $MIGDECK_CONFIG and no migdeck.ini, when ./flyway.conf exists.
 * The file is Java properties (key=value, key: value or key value; # and !
 * comments; a trailing backslash continues a line; \t \n \uXXXX escapes).
 *
 *   flyway.url        jdbc:postgresql://host:port/db?params (or
 *                     jdbc:postgresql:db) -> [database] conninfo, through
 *                     libpq's PQconninfoParse; JDBC-only parameters are
 *                     translated (ssl=true, currentSchema, ApplicationName,
 *                     connectTimeout, loginTimeout) or dropped with a warning;
 *                     a password in it is refused
 *   flyway.user       the conninfo's user
 *   flyway.password   never read from the file (a warning): the password
 *                     comes from the environment ($FLYWAY_PASSWORD, which
 *                     becomes $PGPASSWORD when that is unset, or libpq's own)
 *   flyway.defaultSchema, flyway.schemas (the first one)
 *                     [history] schema: migdeck's own history table sits
 *                     beside flyway_schema_history
 *   flyway.table      [history] foreign_table (the table migdeck adopt reads)
 *   flyway.locations  filesystem:DIR -> [workspace] pending = applied = DIR
 *                     (a one-folder project); classpath: is not supported
 *   flyway.placeholders.NAME -> [placeholders] NAME
 *   flyway.connectRetries, connectRetriesInterval -> [database]
 *                     connect_retries, connect_retries_interval (also kept)
 *   flyway.validateOnMigrate, cleanDisabled, outOfOrder, baselineOnMigrate,
 *   baselineVersion, baselineDescription, connectRetries,
 *   connectRetriesInterval, mixed: kept in md_flyway_conf
 *   flyway.sqlMigrationPrefix / Separator / Suffixes,
 *   repeatableSqlMigrationPrefix, encoding: must be Flyway's defaults (V,
 *                     __, .sql, R, UTF-8), which is what migdeck reads
 * Other keys are warned about with file:line.  Bad values: file:line:col,
 * the key and why, MD_ERR_CONFIG. */
#ifndef MIGDECK_FLYWAYCONF_H
#define MIGDECK_FLYWAYCONF_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "error.h"

typedef struct md_flyway_conf {
	int validate_on_migrate;   /* default 1 */
	int clean_disabled;        /* default 1 (Flyway 9 and later) */
	int out_of_order;          /* default 0 */
	int baseline_on_migrate;   /* default 0 */
	int mixed;                 /* default 0 */
	int connect_retries;       /* default 0 */
	int connect_retries_interval; /* seconds, default 120 */
	char *baseline_version;    /* default "1" */
	char *baseline_description;/* default "<< Flyway Baseline >>" */
	char **schemas;            /* flyway.schemas, then defaultSchema if not
	                              among them; NULL-terminated; may be empty */
	/* where each switch above came from: its line in the file, 0 when it
	 * is Flyway's default (migdeck config shows it) */
	unsigned validate_on_migrate_line, clean_disabled_line, out_of_order_line,
		baseline_on_migrate_line, mixed_line, baseline_version_line,
		baseline_description_line, schemas_line;
} md_flyway_conf;

/* Load cfg->ini_path as a flyway.conf into cfg (values at file
 * precedence) and cfg->flyway. */
md_status md_flywayconf_load(md_config *cfg, md_warn_fn warn, void *payload, md_error *err);
void md_flywayconf_free(md_flyway_conf *fc);

/* For migdeck config: the Flyway-only switches of cfg->flyway (those that
 * are no migdeck setting), one a line, "flyway.KEY = value  (FILE:LINE)"
 * or "(default)" for Flyway's default.  Nothing when no flyway.conf was
 * read.  flyway.password is never read, so never shown. */
void md_flywayconf_print(const md_config *cfg, FILE *out);

/* One key = value of a properties text: key and value unescaped, line and
 * col (1-based, col in bytes) of the value.  Returns the number of
 * entries in *out (malloc'd, free with md_properties_free), or -1 when out
 * of memory. */
typedef struct md_property {
	char *key, *value;
	unsigned line, col;
} md_property;
long md_properties_parse(const char *buf, size_t len, md_property **out);
void md_properties_free(md_property *p, long n);

/* A JDBC PostgreSQL URL as a libpq key=value conninfo (user added when not
 * NULL).  Returns 0 and *out (malloc'd), or -1 with why filled.
 * Parameters dropped as JDBC-only are listed in dropped (", "-separated,
 * "" when none). */
int md_jdbc_to_conninfo(const char *url, const char *user, char **out, char *why, size_t whysz,
			char *dropped, size_t droppedsz);

#endif
