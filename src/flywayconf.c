/* flywayconf.c - flyway.conf as migdeck settings (see flywayconf.h). */
#include "flywayconf.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "workspace.h"

/* ---- Java properties ------------------------------------------------------------ */

void md_properties_free(md_property *p, long n)
{
	long i;

	for (i = 0; p && i < n; i++) {
		free(p[i].key);
		free(p[i].value);
	}
	free(p);
}

/* Append the UTF-8 of code point cp. */
static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	o[0] = (char)(0xE0 | (cp >> 12));
	o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[2] = (char)(0x80 | (cp & 0x3F));
	return 3;
}

static int hex4(const char *s, const char *end, unsigned *cp)
{
	int i;

	*cp = 0;
	if (end - s < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return -1;
		*cp = *cp * 16 + (unsigned)v;
	}
	return 0;
}

/* The logical line starting at p (continuations joined, escapes kept for
 * now): [p, *lend) with line breaks of continuations; *next after it. */
long md_properties_parse(const char *buf, size_t len, md_property **out)
{
	const char *p = buf, *end = buf + len;
	md_property *v = NULL;
	long n = 0, cap = 0;
	unsigned line = 1;

	*out = NULL;
	if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
		p += 3;
	while (p < end) {
		/* one logical line into text (escapes resolved), key split off */
		char *text = malloc((size_t)(end - p) + 1);
		size_t tl = 0, keylen = 0, valstart = 0;
		unsigned start_line = line, vline = line, vcol = 1, col = 1;
		int in_key = 1, sep_seen = 0, skipping_ws = 1, comment = 0, value_started = 0;

		if (!text)
			goto nomem;
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\f')) {
			p++;
			col++;
		}
		if (p < end && (*p == '#' || *p == '!'))
			comment = 1;
		while (p < end && *p != '\n' && *p != '\r') {
			char c = *p;

			if (comment) {
				p++;
				continue;
			}
			if (c == '\\') {
				if (p + 1 >= end || p[1] == '\n' || p[1] == '\r') {
					/* continuation: skip the break and the next line's
					 * leading white space */
					p++;
					if (p < end && *p == '\r')
						p++;
					if (p < end && *p == '\n')
						p++;
					line++;
					col = 1;
					while (p < end && (*p == ' ' || *p == '\t' || *p == '\f')) {
						p++;
						col++;
					}
					continue;
				}
				c = p[1];
				p += 2;
				col += 2;
				switch (c) {
				case 't': c = '\t'; break;
				case 'n': c = '\n'; break;
				case 'r': c = '\r'; break;
				case 'f': c = '\f'; break;
				case 'u': {
					unsigned cp;
					if (hex4(p, end, &cp) == 0) {
						p += 4;
						col += 4;
						if (!in_key && !value_started) {
							value_started = 1;
							vline = line;
							vcol = col - 6;
						}
						tl += put_utf8(text + tl, cp);
						continue;
					}
					c = 'u';
					break;
				}
				default: break;
				}
				if (in_key) {
					text[tl++] = c;
				} else {
					if (!value_started) {
						value_started = 1;
						vline = line;
						vcol = col - 2;
					}
					text[tl++] = c;
				}
				skipping_ws = 0;
				continue;
			}
			if (in_key) {
				if (c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f') {
					in_key = 0;
					keylen = tl;
					sep_seen = c == '=' || c == ':';
					skipping_ws = 1;
					p++;
					col++;
					continue;
				}
				text[tl++] = c;
			} else {
				if (skipping_ws && (c == ' ' || c == '\t' || c == '\f')) {
					p++;
					col++;
					continue;
				}
				if (skipping_ws && !sep_seen && (c == '=' || c == ':')) {
					sep_seen = 1;
					p++;
					col++;
					continue;
				}
				skipping_ws = 0;
				if (!value_started) {
					value_started = 1;
					vline = line;
					vcol = col;
				}
				text[tl++] = c;
			}
			p++;
			col++;
		}
		/* the line break */
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
		line++;
		if (in_key)
			keylen = tl;
		valstart = keylen;
		if (!comment && keylen > 0) {
			md_property *e;

			if (n == cap) {
				long nc = cap ? cap * 2 : 16;
				md_property *nv = realloc(v, (size_t)nc * sizeof(*nv));
				if (!nv) {
					free(text);
					goto nomem;
				}
				v = nv;
				cap = nc;
			}
			e = &v[n];
			e->key = malloc(keylen + 1);
			e->value = malloc(tl - valstart + 1);
			if (!e->key || !e->value) {
				free(e->key);
				free(e->value);
				free(text);
				goto nomem;
			}
			memcpy(e->key, text, keylen);
			e->key[keylen] = '\0';
			memcpy(e->value, text + valstart, tl - valstart);
			e->value[tl - valstart] = '\0';
			e->line = value_started ? vline : start_line;
			e->col = value_started ? vcol : col;
			n++;
		}
		free(text);
	}
	*out = v;
	return n;
nomem:
	md_properties_free(v, n);
	return -1;
}

/* ---- JDBC URL to conninfo ----------------------------------------------------------- */

static int append(char **s, size_t *len, size_t *cap, const char *t, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = (*len + n + 1) * 2;
		char *p = realloc(*s, nc);
		if (!p)
			return -1;
		*s = p;
		*cap = nc;
	}
	memcpy(*s + *len, t, n);
	*len += n;
	(*s)[*len] = '\0';
	return 0;
}

/* key='value' with ' and \ escaped, space-separated */
static int put_kv(char **s, size_t *len, size_t *cap, const char *k, const char *v)
{
	const char *p;

	if ((*len && append(s, len, cap, " ", 1)) || append(s, len, cap, k, strlen(k)) ||
	    append(s, len, cap, "='", 2))
		return -1;
	for (p = v; *p; p++) {
		if ((*p == '\'' || *p == '\\') && append(s, len, cap, "\\", 1))
			return -1;
		if (append(s, len, cap, p, 1))
			return -1;
	}
	return append(s, len, cap, "'", 1);
}

static void add_word(char *list, size_t sz, const char *w, size_t n)
{
	size_t used = strlen(list);

	snprintf(list + used, sz - used, "%s%.*s", used ? ", " : "", (int)n, w);
}

int md_jdbc_to_conninfo(const char *url, const char *user, char **out, char *why, size_t whysz,
			char *dropped, size_t droppedsz)
{
	static const char prefix[] = "jdbc:postgresql:";
	/* JDBC name -> libpq name (NULL: the same value passes unchanged) */
	static const struct { const char *jdbc, *libpq; } same[] = {
		{ "user", "user" }, { "sslmode", "sslmode" }, { "sslcert", "sslcert" },
		{ "sslkey", "sslkey" }, { "sslrootcert", "sslrootcert" },
		{ "connectTimeout", "connect_timeout" }, { "loginTimeout", "connect_timeout" },
		{ "ApplicationName", "application_name" }, { "application_name", "application_name" },
		{ "connect_timeout", "connect_timeout" }, { "options", "options" },
		{ "sslpassword", NULL }, { "password", NULL },
	};
	char *uri = NULL, *res = NULL, *errmsg = NULL, *schema = NULL, *q;
	size_t ulen = 0, ucap = 0, rlen = 0, rcap = 0;
	const char *rest, *query;
	PQconninfoOption *opts = NULL, *o;
	int rc = -1, first = 1;

	*out = NULL;
	why[0] = '\0';
	dropped[0] = '\0';
	if (strncmp(url, prefix, sizeof(prefix) - 1) != 0) {
		snprintf(why, whysz, "not a PostgreSQL JDBC URL (jdbc:postgresql://host:port/database)");
		return -1;
	}
	rest = url + sizeof(prefix) - 1;
	query = strchr(rest, '?');
	if (append(&uri, &ulen, &ucap, "postgresql:", 11) ||
	    (strncmp(rest, "//", 2) && append(&uri, &ulen, &ucap, "///", 3)) ||
	    append(&uri, &ulen, &ucap, rest, query ? (size_t)(query - rest) : strlen(rest)))
		goto nomem;
	/* the query: libpq's names kept, JDBC's translated or dropped */
	for (q = query ? (char *)query + 1 : NULL; q && *q;) {
		char *amp = strchr(q, '&'), *eq;
		size_t n = amp ? (size_t)(amp - q) : strlen(q), kl, i;
		const char *val, *lib = NULL;
		int known = 0;

		eq = memchr(q, '=', n);
		kl = eq ? (size_t)(eq - q) : n;
		val = eq ? eq + 1 : "";
		for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
			if (strlen(same[i].jdbc) == kl && !strncmp(q, same[i].jdbc, kl)) {
				known = 1;
				lib = same[i].libpq;
			}
		if (known && !lib) {
			snprintf(why, whysz, "a password in flyway.url is refused: it comes from the "
				 "environment only ($FLYWAY_PASSWORD or $PGPASSWORD, or ~/.pgpass)");
			goto out;
		}
		if (kl == 3 && !strncmp(q, "ssl", 3)) {
			if (!strncmp(val, "true", 4)) {
				lib = "sslmode";
				val = "require";
			}
		} else if (kl == 13 && !strncmp(q, "currentSchema", 13)) {
			free(schema);
			schema = strndup(val, n - kl - (eq ? 1 : 0));
			if (!schema)
				goto nomem;
		} else if (!lib) {
			add_word(dropped, droppedsz, q, kl);
		}
		if (lib) {
			size_t vl = n - kl - (eq ? 1 : 0);
			if (append(&uri, &ulen, &ucap, first ? "?" : "&", 1) ||
			    append(&uri, &ulen, &ucap, lib, strlen(lib)) ||
			    append(&uri, &ulen, &ucap, "=", 1) ||
			    append(&uri, &ulen, &ucap, val, val == eq + 1 ? vl : strlen(val)))
				goto nomem;
			first = 0;
		}
		q = amp ? amp + 1 : NULL;
	}
	/* libpq reads the URL */
	opts = PQconninfoParse(uri, &errmsg);
	if (!opts) {
		size_t l;
		snprintf(why, whysz, "%s", errmsg ? errmsg : "cannot read the URL (out of memory)");
		l = strlen(why);
		while (l && (why[l - 1] == '\n' || why[l - 1] == ' '))
			why[--l] = '\0';
		goto out;
	}
	for (o = opts; o->keyword; o++) {
		const char *v = o->val;

		if (!strcmp(o->keyword, "user") && user)
			v = user;
		if (!strcmp(o->keyword, "password") && v) {
			snprintf(why, whysz, "a password in flyway.url is refused: it comes from the "
				 "environment only ($FLYWAY_PASSWORD or $PGPASSWORD, or ~/.pgpass)");
			goto out;
		}
		if (!v || !*v)
			continue;
		if (!strcmp(o->keyword, "options") && schema)
			continue;
		if (put_kv(&res, &rlen, &rcap, o->keyword, v))
			goto nomem;
	}
	if (schema) {
		char *opt = NULL;
		if (asprintf(&opt, "-c search_path=%s", schema) < 0)
			goto nomem;
		if (put_kv(&res, &rlen, &rcap, "options", opt)) {
			free(opt);
			goto nomem;
		}
		free(opt);
	}
	if (!res && append(&res, &rlen, &rcap, "", 0))
		goto nomem;
	*out = res;
	res = NULL;
	rc = 0;
	goto out;
nomem:
	snprintf(why, whysz, "out of memory");
out:
	if (opts)
		PQconninfoFree(opts);
	if (errmsg)
		PQfreemem(errmsg);
	free(uri);
	free(res);
	free(schema);
	return rc;
}

/* ---- loading ------------------------------------------------------------------------ */

void md_flywayconf_free(md_flyway_conf *fc)
{
	size_t i;

	if (!fc)
		return;
	for (i = 0; fc->schemas && fc->schemas[i]; i++)
		free(fc->schemas[i]);
	free(fc->schemas);
	free(fc->baseline_version);
	free(fc->baseline_description);
	free(fc);
}

static md_status bad(md_error *err, const md_config *cfg, const md_property *e, const char *why)
{
	return md_error_set(err, MD_ERR_CONFIG, cfg->ini_path, e->line, e->col, "%s: %s", e->key,
			    why);
}

static int parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "true"))
		*out = 1;
	else if (!strcasecmp(v, "false"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int parse_int(const char *v, int *out)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (!*v || *end || n < 0 || n > 1000)
		return -1;
	*out = (int)n;
	return 0;
}

/* Trimmed copies of the comma-separated items of v. */
static char **split_list(const char *v)
{
	size_t n = 1, i = 0;
	const char *p;
	char **list;

	for (p = v; *p; p++)
		n += *p == ',';
	list = calloc(n + 1, sizeof(*list));
	if (!list)
		return NULL;
	for (p = v;;) {
		const char *c = strchr(p, ','), *e = c ? c : p + strlen(p);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > p) {
			list[i] = strndup(p, (size_t)(e - p));
			if (!list[i++]) {
				for (i = 0; list[i]; i++)
					free(list[i]);
				free(list);
				return NULL;
			}
		}
		if (!c)
			break;
		p = c + 1;
	}
	return list;
}

static void free_list(char **l)
{
	size_t i;

	for (i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

#define WARN(...)                                                      \
	do {                                                           \
		if (warn) {                                            \
			char m_[1200];                                 \
			snprintf(m_, sizeof(m_), __VA_ARGS__);         \
			warn(m_, payload);                             \
		}                                                      \
	} while (0)

md_status md_flywayconf_load(md_config *cfg, md_warn_fn warn, void *payload, md_error *err)
{
	const char *path = cfg->ini_path;
	char *buf = NULL;
	size_t len = 0;
	md_property *pr = NULL;
	const md_property *url = NULL, *user = NULL, *dschema = NULL, *schemas = NULL;
	md_flyway_conf *fc;
	md_status rc = MD_OK;
	long n = 0, i;

	fc = calloc(1, sizeof(*fc));
	if (!fc)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	fc->validate_on_migrate = 1;
	fc->clean_disabled = 1;
	fc->connect_retries_interval = 120;
	fc->baseline_version = strdup("1");
	fc->baseline_description = strdup("<< Flyway Baseline >>");
	cfg->flyway = fc;
	if (!fc->baseline_version || !fc->baseline_description)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	if ((rc = md_read_file(path, &buf, &len, err)) != MD_OK)
		return rc;
	n = md_properties_parse(buf, len, &pr);
	free(buf);
	if (n < 0)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");

	for (i = 0; i < n && rc == MD_OK; i++) {
		const md_property *e = &pr[i];
		const char *k = e->key, *v = e->value;

		if (strncmp(k, "flyway.", 7) != 0) {
			WARN("%s:%u: key '%s' is not a flyway.* setting: ignored", path, e->line, k);
			continue;
		}
		k += 7;
		if (!strcmp(k, "url")) {
			url = e;
		} else if (!strcmp(k, "user")) {
			user = e;
		} else if (!strcmp(k, "password")) {
			WARN("%s:%u: flyway.password is ignored: the password comes from the "
			     "environment ($FLYWAY_PASSWORD, $PGPASSWORD) or ~/.pgpass", path, e->line);
		} else if (!strcmp(k, "defaultSchema")) {
			dschema = e;
		} else if (!strcmp(k, "schemas")) {
			schemas = e;
		} else if (!strcmp(k, "table")) {
			rc = md_config_set_file_value(cfg, MD_CFG_HISTORY_FOREIGN_TABLE, v, e->line, e->col,
						      err);
		} else if (!strcmp(k, "locations")) {
			char **l = split_list(v), *dir = NULL;
			size_t j;

			if (!l) {
				rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
				break;
			}
			for (j = 0; l[j] && rc == MD_OK; j++) {
				if (!strncmp(l[j], "filesystem:", 11)) {
					if (dir)
						rc = bad(err, cfg, e, "migdeck reads one filesystem: "
							 "folder; name one");
					dir = l[j] + 11;
				} else {
					WARN("%s:%u: flyway.locations: %s is not a filesystem: folder: "
					     "ignored (migdeck reads files, not the Java classpath)",
					     path, e->line, l[j]);
				}
			}
			if (rc == MD_OK && dir) {
				rc = md_config_set_file_value(cfg, MD_CFG_PENDING, dir, e->line, e->col, err);
				if (rc == MD_OK)
					rc = md_config_set_file_value(cfg, MD_CFG_APPLIED, dir, e->line, e->col,
								      err);
			}
			free_list(l);
		} else if (!strncmp(k, "placeholders.", 13)) {
			rc = md_config_set_file_pair(cfg, MD_CFG_SEC_PLACEHOLDERS, k + 13, v, e->line,
						     e->col, err);
		} else if (!strcmp(k, "validateOnMigrate") || !strcmp(k, "cleanDisabled") ||
			   !strcmp(k, "outOfOrder") || !strcmp(k, "baselineOnMigrate") ||
			   !strcmp(k, "mixed")) {
			int *dst = !strcmp(k, "validateOnMigrate") ? &fc->validate_on_migrate
				   : !strcmp(k, "cleanDisabled") ? &fc->clean_disabled
				   : !strcmp(k, "outOfOrder") ? &fc->out_of_order
				   : !strcmp(k, "baselineOnMigrate") ? &fc->baseline_on_migrate
								    : &fc->mixed;
			unsigned *at = !strcmp(k, "validateOnMigrate") ? &fc->validate_on_migrate_line
				       : !strcmp(k, "cleanDisabled") ? &fc->clean_disabled_line
				       : !strcmp(k, "outOfOrder") ? &fc->out_of_order_line
				       : !strcmp(k, "baselineOnMigrate") ? &fc->baseline_on_migrate_line
									: &fc->mixed_line;
			*at = e->line;
			if (parse_bool(v, dst))
				rc = bad(err, cfg, e, "expected true or false");
		} else if (!strcmp(k, "connectRetries") || !strcmp(k, "connectRetriesInterval")) {
			int retries = !strcmp(k, "connectRetries");

			if (parse_int(v, retries ? &fc->connect_retries : &fc->connect_retries_interval))
				rc = bad(err, cfg, e, "expected a whole number from 0 to 1000");
			else /* [database] connect_retries / connect_retries_interval */
				rc = md_config_set_file_value(cfg, retries ? MD_CFG_DB_CONNECT_RETRIES
									   : MD_CFG_DB_CONNECT_RETRIES_INTERVAL,
							      v, e->line, e->col, err);
		} else if (!strcmp(k, "baselineVersion")) {
			md_version ver;
			if (md_version_parse(&ver, v, strlen(v)) < 0) {
				rc = bad(err, cfg, e, "not a version (1, 1.2, 1_2 ...)");
			} else {
				free(fc->baseline_version);
				fc->baseline_version = strdup(v);
				fc->baseline_version_line = e->line;
			}
		} else if (!strcmp(k, "baselineDescription")) {
			free(fc->baseline_description);
			fc->baseline_description = strdup(v);
			fc->baseline_description_line = e->line;
		} else if (!strcmp(k, "sqlMigrationPrefix") || !strcmp(k, "sqlMigrationSeparator") ||
			   !strcmp(k, "sqlMigrationSuffixes") ||
			   !strcmp(k, "repeatableSqlMigrationPrefix")) {
			const char *want = !strcmp(k, "sqlMigrationPrefix") ? "V"
					   : !strcmp(k, "sqlMigrationSeparator") ? "__"
					   : !strcmp(k, "sqlMigrationSuffixes") ? ".sql" : "R";
			if (strcmp(v, want) != 0) {
				char why[200];
				snprintf(why, sizeof(why), "migdeck reads Flyway's default names only "
					 "(V<version>__<desc>.sql, R__<desc>.sql): set %s or leave it out",
					 want);
				rc = bad(err, cfg, e, why);
			}
		} else if (!strcmp(k, "encoding")) {
			if (strcasecmp(v, "UTF-8") && strcasecmp(v, "UTF8"))
				rc = bad(err, cfg, e, "migdeck reads UTF-8 files only");
		} else {
			WARN("%s:%u: flyway.%s is not read by migdeck: ignored", path, e->line, k);
		}
		if (rc == MD_OK && (!fc->baseline_version || !fc->baseline_description))
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	if (rc == MD_OK && fc->mixed)
		WARN("%s: flyway.mixed = true: migdeck still refuses a file that mixes statements "
		     "that cannot run in a transaction with ones that can", path);

	/* schemas: migdeck's history beside Flyway's table */
	if (rc == MD_OK && (schemas || dschema)) {
		char **l = schemas ? split_list(schemas->value) : calloc(1, sizeof(char *));
		const md_property *e = dschema ? dschema : schemas;
		const char *first = dschema ? dschema->value : l && l[0] ? l[0] : NULL;

		if (!l) {
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		} else {
			fc->schemas = l;
			fc->schemas_line = schemas ? schemas->line : dschema->line;
			if (first) {
				rc = md_config_set_file_value(cfg, MD_CFG_HISTORY_SCHEMA, first, e->line,
							      e->col, err);
				if (rc == MD_OK)
					rc = md_config_set_file_value(cfg, MD_CFG_HISTORY_FOREIGN_SCHEMA,
								      first, e->line, e->col, err);
			}
		}
	}
	if (!fc->schemas && rc == MD_OK) {
		fc->schemas = calloc(1, sizeof(char *));
		if (!fc->schemas)
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}

	/* the connection */
	if (rc == MD_OK && url) {
		char why[600], dropped[600], *conninfo = NULL;

		if (md_jdbc_to_conninfo(url->value, user ? user->value : NULL, &conninfo, why,
					sizeof(why), dropped, sizeof(dropped)) < 0) {
			rc = bad(err, cfg, url, why);
		} else {
			if (dropped[0])
				WARN("%s:%u: flyway.url: JDBC-only parameters ignored: %s", path, url->line,
				     dropped);
			rc = md_config_set_file_value(cfg, MD_CFG_DB_CONNINFO, conninfo, url->line,
						      url->col, err);
			free(conninfo);
		}
	} else if (rc == MD_OK && user) {
		char *conninfo = NULL;
		size_t l = 0, cap = 0;
		if (put_kv(&conninfo, &l, &cap, "user", user->value))
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		else
			rc = md_config_set_file_value(cfg, MD_CFG_DB_CONNINFO, conninfo, user->line,
						      user->col, err);
		free(conninfo);
	}
	/* the password only from the environment */
	if (rc == MD_OK && getenv("FLYWAY_PASSWORD") && *getenv("FLYWAY_PASSWORD") &&
	    !getenv("PGPASSWORD"))
		setenv("PGPASSWORD", getenv("FLYWAY_PASSWORD"), 0);
	md_properties_free(pr, n);
	return rc;
}

/* ---- migdeck config ------------------------------------------------------------------ */

static void print_switch(const md_config *cfg, FILE *out, const char *key, const char *value,
			 unsigned line)
{
	fprintf(out, "flyway.%s = %s  (", key, value);
	if (line)
		fprintf(out, "%s:%u", cfg->ini_path ? cfg->ini_path : "?", line);
	else
		fputs("default", out);
	fputs(")\n", out);
}

void md_flywayconf_print(const md_config *cfg, FILE *out)
{
	const md_flyway_conf *fc = cfg ? cfg->flyway : NULL;
	char list[1024];
	size_t i, used = 0;

	if (!fc || !out)
		return;
	print_switch(cfg, out, "validateOnMigrate", fc->validate_on_migrate ? "true" : "false",
		     fc->validate_on_migrate_line);
	print_switch(cfg, out, "cleanDisabled", fc->clean_disabled ? "true" : "false",
		     fc->clean_disabled_line);
	print_switch(cfg, out, "outOfOrder", fc->out_of_order ? "true" : "false",
		     fc->out_of_order_line);
	print_switch(cfg, out, "baselineOnMigrate", fc->baseline_on_migrate ? "true" : "false",
		     fc->baseline_on_migrate_line);
	print_switch(cfg, out, "baselineVersion", fc->baseline_version ? fc->baseline_version : "",
		     fc->baseline_version_line);
	print_switch(cfg, out, "baselineDescription",
		     fc->baseline_description ? fc->baseline_description : "",
		     fc->baseline_description_line);
	print_switch(cfg, out, "mixed", fc->mixed ? "true" : "false", fc->mixed_line);
	list[0] = '\0';
	for (i = 0; fc->schemas && fc->schemas[i] && used < sizeof(list); i++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "",
				 fc->schemas[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	print_switch(cfg, out, "schemas", list, fc->schemas_line);
}
