/* config.c - migdeck.ini, the environment and flags (see config.h).
 *
 * iniparser reads the values and reports syntax errors; it keeps no line
 * numbers and lowercases every key, so a small scan of the file that
 * follows iniparser's own line rules (comments, [sections], key = value,
 * quotes, trailing-backslash continuation) maps each key to its line and
 * value column and keeps its original spelling. */
#include "config.h"
#include "flywayconf.h"

#include <ctype.h>
#include <errno.h>
#include <iniparser/iniparser.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the tables ----------------------------------------------------------- */

#define SEC_ROW_(id, name, flags, help) { name, flags, help },
const md_cfg_section md_cfg_sections[MD_CFG_NSECTIONS] = {
	MD_CONFIG_SECTIONS(SEC_ROW_)
};
#undef SEC_ROW_

#define KEY_ROW_(id, sec, key, type, def, env, choices, group, help) \
	{ MD_CFG_SEC_##sec, key, type, def, env, choices, group, help },
const md_cfg_key md_cfg_keys[MD_CFG_NKEYS] = {
	MD_CONFIG_KEYS(KEY_ROW_)
};
#undef KEY_ROW_

#define CONFIG_ENV "MIGDECK_CONFIG"
#define DEFAULT_INI "migdeck.ini"
#define DEFAULT_FLYWAY_CONF "flyway.conf"
#define MASK "****"
#define DURATION_HINT "(use e.g. 5s, 500ms, 2min)"

/* Precedence ranks: a value replaces one of lower or equal rank. */
enum { RANK_DEFAULT = 0, RANK_FILE = 1, RANK_ENV = 2, RANK_TARGET = 3, RANK_OPT = 4,
       RANK_DFLAG = 5, RANK_MEMBER = 6 };
#define TARGET_ENV "MIGDECK_TARGET"

/* ---- small helpers --------------------------------------------------------- */

typedef struct sbuf {
	char *s;
	size_t len, cap;
	int oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_putc(sbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

/* The finished string (never NULL unless out of memory); b is emptied. */
static char *sb_take(sbuf *b)
{
	char *s;

	if (!b->oom && !b->s)
		sb_putn(b, "", 0);
	if (b->oom) {
		free(b->s);
		s = NULL;
	} else {
		s = b->s;
	}
	memset(b, 0, sizeof(*b));
	return s;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int has_ctrl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* "value" for a message: escaped, cut after 120 bytes. */
static const char *quote(char *buf, size_t sz, const char *s)
{
	size_t o = 0, i;

	if (sz < 8)
		return "";
	buf[o++] = '"';
	for (i = 0; s[i] && o + 8 < sz; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= 120) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, sz - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* Edit distance of two short strings (for "did you mean"). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[65];

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (tolower((unsigned char)a[i - 1]) !=
					      tolower((unsigned char)b[j - 1]));

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void suggest(char *buf, size_t sz, const char *word, const char *candidate,
		    size_t *best)
{
	size_t d = edit_distance(word, candidate);

	if (d <= 2 && d < *best) {
		*best = d;
		snprintf(buf, sz, " (did you mean '%s'?)", candidate);
	}
}

static int find_section(const char *name)
{
	int i;

	for (i = 0; i < MD_CFG_NSECTIONS; i++)
		if (!strcasecmp(md_cfg_sections[i].name, name))
			return i;
	return -1;
}

static int find_key(int sec, const char *key)
{
	int i;

	for (i = 0; i < MD_CFG_NKEYS; i++)
		if ((int)md_cfg_keys[i].section == sec && !strcasecmp(md_cfg_keys[i].key, key))
			return i;
	return -1;
}

static void suggest_section(char *buf, size_t sz, const char *name)
{
	size_t best = (size_t)-1;
	int i;

	buf[0] = '\0';
	for (i = 0; i < MD_CFG_NSECTIONS; i++)
		suggest(buf, sz, name, md_cfg_sections[i].name, &best);
}

static void suggest_key(char *buf, size_t sz, int sec, const char *key)
{
	size_t best = (size_t)-1;
	int i;

	buf[0] = '\0';
	for (i = 0; i < MD_CFG_NKEYS; i++)
		if ((int)md_cfg_keys[i].section == sec)
			suggest(buf, sz, key, md_cfg_keys[i].key, &best);
}

static int is_uri(const char *s)
{
	return !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode [s, s+n) into a new string (invalid escapes kept). */
static char *pct_decode(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	size_t i, o = 0;

	if (!d)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			d[o++] = (char)(hexval((unsigned char)s[i + 1]) * 16 +
					hexval((unsigned char)s[i + 2]));
			i += 2;
		} else {
			d[o++] = s[i];
		}
	}
	d[o] = '\0';
	return d;
}

/* ---- finding passwords in text -------------------------------------------- */

typedef struct span {
	size_t start, end;
} span;

#define MAX_SPANS 8

/* The byte ranges of password values in a URL or conninfo, as libpq would
 * read them.  Returns the number found; *rest_from is set (else SIZE_MAX)
 * when a malformed conninfo mentions "password" after the point where it
 * stops making sense: everything from there must be masked. */
static size_t password_spans(const char *s, span *sp, size_t *rest_from)
{
	size_t n = 0;

	*rest_from = (size_t)-1;
	if (is_uri(s)) {
		const char *start = strstr(s, "://") + 3, *p = start, *q;

		while (*p && *p != '@' && *p != '/')
			p++;
		if (*p == '@') {
			for (q = start; q < p && *q != ':'; q++)
				;
			if (q < p && q + 1 < p && n < MAX_SPANS) {
				sp[n].start = (size_t)(q + 1 - s);
				sp[n].end = (size_t)(p - s);
				n++;
			}
			p++;
		} else {
			p = start;
		}
		q = strchr(p, '?');
		while (q && *q) {
			const char *k = q + 1, *eq, *amp;
			char *name;

			amp = strchr(k, '&');
			if (!amp)
				amp = k + strlen(k);
			eq = memchr(k, '=', (size_t)(amp - k));
			if (eq) {
				name = pct_decode(k, (size_t)(eq - k));
				if (!name || !strcmp(name, "password")) {
					/* out of memory: mask it anyway */
					if (eq + 1 < amp && n < MAX_SPANS) {
						sp[n].start = (size_t)(eq + 1 - s);
						sp[n].end = (size_t)(amp - s);
						n++;
					}
				}
				free(name);
			}
			q = *amp ? amp : NULL;
		}
		return n;
	}

	/* key = value ... as libpq's conninfo_parse reads it */
	{
		const char *p = s;

		while (*p) {
			const char *ks, *ke, *vs;

			while (isspace((unsigned char)*p))
				p++;
			if (!*p)
				break;
			ks = p;
			while (*p && *p != '=' && !isspace((unsigned char)*p))
				p++;
			ke = p;
			while (isspace((unsigned char)*p))
				p++;
			if (*p != '=') {
				if (strstr(ks, "password"))
					*rest_from = (size_t)(strstr(ks, "password") - s);
				break;
			}
			p++;
			while (isspace((unsigned char)*p))
				p++;
			vs = p;
			if (*p == '\'') {
				p++;
				while (*p) {
					if (*p == '\\' && p[1]) {
						p += 2;
					} else if (*p == '\'') {
						p++;
						break;
					} else {
						p++;
					}
				}
			} else {
				while (*p && !isspace((unsigned char)*p))
					p += (*p == '\\' && p[1]) ? 2 : 1;
			}
			if ((size_t)(ke - ks) == 8 && !strncmp(ks, "password", 8) && p > vs &&
			    n < MAX_SPANS) {
				sp[n].start = (size_t)(vs - s);
				sp[n].end = (size_t)(p - s);
				n++;
			}
		}
	}
	return n;
}

/* s with the spans (sorted, disjoint) and everything from rest_from
 * replaced by ****. */
static char *mask_spans(const char *s, const span *sp, size_t n, size_t rest_from)
{
	sbuf b = { 0 };
	size_t pos = 0, i, len = strlen(s);

	for (i = 0; i < n; i++) {
		if (sp[i].start < pos || sp[i].start >= rest_from)
			continue;
		sb_putn(&b, s + pos, sp[i].start - pos);
		sb_puts(&b, MASK);
		pos = sp[i].end;
	}
	if (rest_from < len && rest_from >= pos) {
		sb_putn(&b, s + pos, rest_from - pos);
		sb_puts(&b, MASK);
	} else {
		sb_puts(&b, s + pos);
	}
	return sb_take(&b);
}

/* Replace every occurrence of needle in *msg by repl. */
static void mask_in(char **msg, const char *needle, const char *repl)
{
	sbuf b = { 0 };
	const char *p, *hit;
	size_t nl = strlen(needle);

	if (!*msg || !nl || !strstr(*msg, needle))
		return;
	for (p = *msg; (hit = strstr(p, needle)); p = hit + nl) {
		sb_putn(&b, p, (size_t)(hit - p));
		sb_puts(&b, repl);
	}
	sb_puts(&b, p);
	free(*msg);
	*msg = sb_take(&b);
}

/* ---- conninfo re-emission -------------------------------------------------- */

static const char *const first_opts[] = { "host", "hostaddr", "port", "dbname", "user",
					  "password", NULL };

static int is_first_opt(const char *kw)
{
	size_t i;

	for (i = 0; first_opts[i]; i++)
		if (!strcmp(first_opts[i], kw))
			return 1;
	return 0;
}

static void put_conn_value(sbuf *b, const char *v)
{
	const char *p;
	int plain = *v != '\0';

	for (p = v; *p; p++)
		if (isspace((unsigned char)*p) || *p == '\'' || *p == '\\')
			plain = 0;
	if (plain) {
		sb_puts(b, v);
		return;
	}
	sb_putc(b, '\'');
	for (p = v; *p; p++) {
		if (*p == '\'' || *p == '\\')
			sb_putc(b, '\\');
		sb_putc(b, *p);
	}
	sb_putc(b, '\'');
}

static void put_conn_option(sbuf *b, const PQconninfoOption *o, const char *val)
{
	if (b->len)
		sb_putc(b, ' ');
	sb_puts(b, o->keyword);
	sb_putc(b, '=');
	if (!strcmp(o->keyword, "password") || o->dispchar[0] == '*')
		sb_puts(b, MASK);
	else
		put_conn_value(b, val);
}

/* "key=value ..." of the options whose vals[i] is not NULL, the usual
 * ones first, passwords masked. */
static char *emit_conninfo(const PQconninfoOption *opts, const char *const *vals)
{
	sbuf b = { 0 };
	size_t i, k;

	for (k = 0; first_opts[k]; k++)
		for (i = 0; opts[i].keyword; i++)
			if (vals[i] && !strcmp(opts[i].keyword, first_opts[k]))
				put_conn_option(&b, &opts[i], vals[i]);
	for (i = 0; opts[i].keyword; i++)
		if (vals[i] && !is_first_opt(opts[i].keyword))
			put_conn_option(&b, &opts[i], vals[i]);
	return sb_take(&b);
}

static size_t count_opts(const PQconninfoOption *opts)
{
	size_t n = 0;

	while (opts[n].keyword)
		n++;
	return n;
}

char *md_conninfo_redact(const char *conninfo)
{
	span sp[MAX_SPANS];
	size_t n, rest, i, nopt;
	PQconninfoOption *opts;
	char *errmsg = NULL, *out = NULL;
	const char **vals;
	int has_pw = 0;

	if (!conninfo)
		return NULL;
	n = password_spans(conninfo, sp, &rest);
	opts = PQconninfoParse(conninfo, &errmsg);
	PQfreemem(errmsg);
	if (!opts)
		return mask_spans(conninfo, sp, n, rest);
	for (i = 0; opts[i].keyword; i++)
		if (opts[i].val && *opts[i].val && !strcmp(opts[i].keyword, "password"))
			has_pw = 1;
	if (is_uri(conninfo) && (n > 0 || !has_pw)) {
		PQconninfoFree(opts);
		return mask_spans(conninfo, sp, n, rest);
	}
	/* a conninfo, or a URL whose password was not found in the text */
	nopt = count_opts(opts);
	vals = calloc(nopt + 1, sizeof(*vals));
	if (vals) {
		for (i = 0; i < nopt; i++)
			vals[i] = opts[i].val;
		out = emit_conninfo(opts, vals);
		free(vals);
	}
	PQconninfoFree(opts);
	return out;
}

/* Mask a password inside a message: where libpq quotes it, and anywhere
 * when it is long enough not to hit ordinary words. */
static void mask_password_in(char **msg, const char *pw)
{
	char *quoted;
	size_t n = strlen(pw);

	if (!n)
		return;
	quoted = malloc(n + 3);
	if (!quoted) {
		free(*msg);
		*msg = NULL;
		return;
	}
	snprintf(quoted, n + 3, "\"%s\"", pw);
	mask_in(msg, quoted, "\"" MASK "\"");
	free(quoted);
	if (n >= 4)
		mask_in(msg, pw, MASK);
}

/* libpq's message about a bad conninfo, minus trailing newline and minus
 * any password of that conninfo.  NULL when out of memory. */
static char *conninfo_message(const char *conninfo, const char *libpq_msg)
{
	span sp[MAX_SPANS];
	size_t n, rest, i, len;
	char *msg = strdup(libpq_msg ? libpq_msg : "invalid connection string");
	char *masked;

	if (!msg)
		return NULL;
	len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	n = password_spans(conninfo, sp, &rest);
	if (!n && rest == (size_t)-1)
		return msg;
	/* URL errors quote the whole URL */
	masked = mask_spans(conninfo, sp, n, rest);
	if (!masked) {
		free(msg);
		return NULL;
	}
	mask_in(&msg, conninfo, masked);
	free(masked);
	for (i = 0; i < n && msg; i++) {
		char *raw = xstrndup(conninfo + sp[i].start, sp[i].end - sp[i].start);
		char *dec = raw ? pct_decode(raw, strlen(raw)) : NULL;

		if (!raw || !dec) {
			free(msg);
			msg = NULL;
		} else {
			mask_password_in(&msg, raw);
			if (msg)
				mask_password_in(&msg, dec);
		}
		free(raw);
		free(dec);
	}
	if (rest != (size_t)-1 && msg)
		mask_password_in(&msg, conninfo + rest);
	return msg;
}

/* ---- validators ----------------------------------------------------------- */

typedef struct vctx {
	const char *base;   /* folder for relative paths */
	int explicit_value; /* not a default: folders must exist */
	char *why;          /* the reason on failure */
	size_t whysz;
} vctx;

/* 0: valid (*text, *num set); 1: invalid (ctx->why set); MD_ERR_NOMEM. */
typedef int (*validator_fn)(const md_cfg_key *k, const char *raw, const vctx *ctx,
			    char **text, long long *num);

static int v_conninfo(const md_cfg_key *k, const char *raw, const vctx *ctx, char **text,
		      long long *num)
{
	PQconninfoOption *opts, *o;
	char *errmsg = NULL, *msg, q[200];
	int bad = 0;

	(void)num;
	if (k && !strcmp(k->key, "url") && *raw && !is_uri(raw)) {
		char *r = md_conninfo_redact(raw);

		snprintf(ctx->why, ctx->whysz,
			 "%s is not a postgres:// URL (use conninfo = for key=value settings)",
			 quote(q, sizeof(q), r ? r : ""));
		free(r);
		return r ? 1 : MD_ERR_NOMEM;
	}
	if (k && !strcmp(k->key, "conninfo") && is_uri(raw)) {
		snprintf(ctx->why, ctx->whysz, "is a URL (use url = for URLs)");
		return 1;
	}
	opts = PQconninfoParse(raw, &errmsg);
	if (!opts) {
		if (!errmsg)
			return MD_ERR_NOMEM;
		msg = conninfo_message(raw, errmsg);
		PQfreemem(errmsg);
		if (!msg)
			return MD_ERR_NOMEM;
		snprintf(ctx->why, ctx->whysz, "%s", msg);
		free(msg);
		return 1;
	}
	/* libpq checks ports only when connecting */
	for (o = opts; o->keyword && !bad; o++) {
		const char *p;

		if (strcmp(o->keyword, "port") || !o->val)
			continue;
		for (p = o->val; *p && !bad;) {
			size_t len = strcspn(p, ",");
			char *end;
			long port = strtol(p, &end, 10);

			if (len && (!isdigit((unsigned char)*p) || end != p + len || port < 1 ||
				    port > 65535)) {
				char *item = xstrndup(p, len);

				snprintf(ctx->why, ctx->whysz,
					 "invalid port number %s (1 to 65535)",
					 quote(q, sizeof(q), item ? item : ""));
				free(item);
				bad = 1;
			}
			p += len;
			if (*p == ',')
				p++;
		}
	}
	PQconninfoFree(opts);
	if (bad)
		return 1;
	*text = strdup(raw);
	return *text ? 0 : MD_ERR_NOMEM;
}

/* base + "/" + rel, or rel when absolute, without "." parts, doubled or
 * trailing slashes. */
static char *join_path(const char *base, const char *rel)
{
	sbuf in = { 0 }, outb = { 0 };
	const char *p;
	char *s;

	if (rel[0] != '/') {
		sb_puts(&in, base);
		sb_putc(&in, '/');
	}
	sb_puts(&in, rel);
	s = sb_take(&in);
	if (!s)
		return NULL;
	for (p = s; *p;) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (!len)
			break;
		if (!(len == 1 && p[0] == '.')) {
			sb_putc(&outb, '/');
			sb_putn(&outb, p, len);
		}
		p += len;
	}
	if (!outb.len)
		sb_putc(&outb, '/');
	free(s);
	return sb_take(&outb);
}

static int v_dir(const md_cfg_key *k, const char *raw, const vctx *ctx, char **text,
		 long long *num)
{
	struct stat st;
	char q[200];
	char *path;

	(void)k;
	(void)num;
	if (!*raw) {
		snprintf(ctx->why, ctx->whysz, "the folder name is empty");
		return 1;
	}
	path = join_path(ctx->base, raw);
	if (!path)
		return MD_ERR_NOMEM;
	if (ctx->explicit_value) {
		if (stat(path, &st) != 0) {
			snprintf(ctx->why, ctx->whysz, "folder %s does not exist (%s: %s)",
				 quote(q, sizeof(q), raw), path, strerror(errno));
			free(path);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(ctx->why, ctx->whysz, "%s is not a folder (%s)",
				 quote(q, sizeof(q), raw), path);
			free(path);
			return 1;
		}
	}
	*text = path;
	return 0;
}

/* A folder that is made when missing: only the name is checked. */
static int v_path(const md_cfg_key *k, const char *raw, const vctx *ctx, char **text,
		  long long *num)
{
	(void)k;
	(void)num;
	if (!*raw) {
		snprintf(ctx->why, ctx->whysz, "the folder name is empty");
		return 1;
	}
	if (has_ctrl(raw)) {
		snprintf(ctx->why, ctx->whysz, "the folder name has a control character");
		return 1;
	}
	*text = join_path(ctx->base, raw);
	return *text ? 0 : MD_ERR_NOMEM;
}

static int v_ident(const md_cfg_key *k, const char *raw, const vctx *ctx, char **text,
		   long long *num)
{
	char q[200];

	(void)k;
	(void)num;
	if (!*raw) {
		snprintf(ctx->why, ctx->whysz, "an empty name is not an identifier");
		return 1;
	}
	if (strlen(raw) > 63) {
		snprintf(ctx->why, ctx->whysz,
			 "%s is longer than 63 bytes, the PostgreSQL limit for a name",
			 quote(q, sizeof(q), raw));
		return 1;
	}
	if (has_ctrl(raw)) {
		snprintf(ctx->why, ctx->whysz, "%s contains a control character",
			 quote(q, sizeof(q), raw));
		return 1;
	}
	*text = strdup(raw);
	return *text ? 0 : MD_ERR_NOMEM;
}

static int v_duration(const md_cfg_key *k, const char *raw, const vctx *ctx, char **text,
		      long long *num)
{
	static const struct {
		const char *unit;
		unsigned long long ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "min", 60000 }, { "h", 3600000 },
		      { "d", 86400000 }, { "us", 0 } };
	const char *p = raw, *digits, *unit;
	unsigned long long v = 0, ms = 0;
	size_t ulen, i, ndig;
	int found = 0, overflow = 0;
	char q[200], buf[64];

	(void)k;
	while (isspace((unsigned char)*p))
		p++;
	digits = p;
	while (isdigit((unsigned char)*p)) {
		if (v > (ULLONG_MAX - 9) / 10)
			overflow = 1;
		else
			v = v * 10 + (unsigned)(*p - '0');
		p++;
	}
	ndig = (size_t)(p - digits);
	while (isspace((unsigned char)*p))
		p++;
	unit = p;
	while (isalpha((unsigned char)*p))
		p++;
	ulen = (size_t)(p - unit);
	while (isspace((unsigned char)*p))
		p++;
	if (!ndig || *p)
		goto bad;
	if (!ulen) {
		found = 1;
		ms = v;
		unit = "ms";
		ulen = 2;
	}
	for (i = 0; !found && i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].unit) != ulen || strncmp(units[i].unit, unit, ulen))
			continue;
		found = 1;
		if (!units[i].ms) { /* microseconds: rounded as PostgreSQL does (rint) */
			unsigned long long r = v % 1000;

			ms = v / 1000;
			if (r > 500 || (r == 500 && (ms & 1)))
				ms++;
			if (v && !ms) {
				snprintf(ctx->why, ctx->whysz,
					 "%s is less than 1ms; PostgreSQL would round it to 0 (none)",
					 quote(q, sizeof(q), raw));
				return 1;
			}
		} else if (v > (unsigned long long)INT_MAX / units[i].ms) {
			overflow = 1;
		} else {
			ms = v * units[i].ms;
		}
	}
	if (!found)
		goto bad;
	if (overflow || ms > (unsigned long long)INT_MAX) {
		snprintf(ctx->why, ctx->whysz, "%s is too long (at most %dms, about 24 days)",
			 quote(q, sizeof(q), raw), INT_MAX);
		return 1;
	}
	if (!ms)
		snprintf(buf, sizeof(buf), "0");
	else
		snprintf(buf, sizeof(buf), "%llu%.*s", v, (int)ulen, unit);
	*text = strdup(buf);
	*num = (long long)ms;
	return *text ? 0 : MD_ERR_NOMEM;
bad:
	snprintf(ctx->why, ctx->whysz, "%s is not a duration " DURATION_HINT,
		 quote(q, sizeof(q), raw));
	return 1;
}

static int v_enum(const md_cfg_key *k, const char *raw, const vctx *ctx, char **text,
		  long long *num)
{
	const char *p = k->choices;
	long long idx = 0;
	char q[200], list[256];
	size_t o = 0;

	while (*p) {
		size_t len = strcspn(p, "|");

		if (strlen(raw) == len && !strncasecmp(p, raw, len)) {
			*text = xstrndup(p, len);
			*num = idx;
			return *text ? 0 : MD_ERR_NOMEM;
		}
		if (o + len + 3 < sizeof(list)) {
			if (o) {
				memcpy(list + o, ", ", 2);
				o += 2;
			}
			memcpy(list + o, p, len);
			o += len;
		}
		p += len;
		if (*p == '|')
			p++;
		idx++;
	}
	list[o] = '\0';
	snprintf(ctx->why, ctx->whysz, "%s is not one of %s", quote(q, sizeof(q), raw), list);
	return 1;
}

static int v_bool(const md_cfg_key *k, const char *raw, const vctx *ctx, char **text,
		  long long *num)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };
	char q[200];
	size_t i;

	(void)k;
	for (i = 0; i < 4; i++) {
		if (!strcasecmp(raw, yes[i]) || !strcasecmp(raw, no[i])) {
			*num = !strcasecmp(raw, yes[i]);
			*text = strdup(*num ? "on" : "off");
			return *text ? 0 : MD_ERR_NOMEM;
		}
	}
	snprintf(ctx->why, ctx->whysz, "%s is not on or off (or true/false, yes/no, 1/0)",
		 quote(q, sizeof(q), raw));
	return 1;
}

static int v_person(const md_cfg_key *k, const char *raw, const vctx *ctx, char **text,
		    long long *num)
{
	char q[200];

	(void)k;
	(void)num;
	if (has_ctrl(raw) || strpbrk(raw, "<>")) {
		snprintf(ctx->why, ctx->whysz,
			 "%s: git does not accept control characters or < > here",
			 quote(q, sizeof(q), raw));
		return 1;
	}
	*text = *raw ? strdup(raw) : NULL; /* empty: unset */
	return (*raw && !*text) ? MD_ERR_NOMEM : 0;
}

static int v_count(const md_cfg_key *k, const char *raw, const vctx *ctx, char **text,
		   long long *num)
{
	char q[200], *end = NULL;
	long v;

	(void)k;
	errno = 0;
	v = strtol(raw, &end, 10);
	if (!*raw || *end || errno || v < 0 || v > 1000) {
		snprintf(ctx->why, ctx->whysz, "%s is not a whole number from 0 to 1000",
			 quote(q, sizeof(q), raw));
		return 1;
	}
	*num = v;
	*text = strdup(raw);
	return *text ? 0 : MD_ERR_NOMEM;
}

static const validator_fn validators[] = {
	[MD_CFG_T_CONNINFO] = v_conninfo, [MD_CFG_T_DIR] = v_dir,
	[MD_CFG_T_IDENT] = v_ident,       [MD_CFG_T_DURATION] = v_duration,
	[MD_CFG_T_ENUM] = v_enum,         [MD_CFG_T_BOOL] = v_bool,
	[MD_CFG_T_PERSON] = v_person,     [MD_CFG_T_COUNT] = v_count,
	[MD_CFG_T_PATH] = v_path,
};

/* ---- where a value came from (for errors) --------------------------------- */

typedef struct origin {
	md_cfg_source src;
	int rank;
	const char *file;    /* FILE */
	unsigned line, col;  /* FILE */
	const char *env;     /* ENV */
	const char *flag;    /* FLAG: the flag as typed, password masked */
	const char *secname; /* the section to name instead ("target.prod") */
} origin;

static md_status origin_error(md_error *err, const origin *o, const char *section,
			      const char *key, const char *why)
{
	if (o->secname)
		section = o->secname;
	switch (o->src) {
	case MD_CFG_SRC_FILE:
	case MD_CFG_SRC_TARGET:
		return md_error_set(err, MD_ERR_CONFIG, o->file, o->line, o->col, "[%s] %s: %s",
				    section, key, why);
	case MD_CFG_SRC_ENV:
		return md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0, "$%s: %s", o->env, why);
	case MD_CFG_SRC_FLAG:
		return md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0, "%s: %s", o->flag, why);
	case MD_CFG_SRC_DEFAULT:
		break;
	}
	return md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0, "default %s.%s: %s", section, key,
			    why);
}

/* ---- storing values -------------------------------------------------------- */

static void value_clear(md_cfg_value *v)
{
	free(v->text);
	memset(v, 0, sizeof(*v));
}

/* Validate raw for key id and store it with its origin. */
static md_status set_key(md_config *cfg, md_cfg_key_id id, const char *raw, const origin *o,
			 const char *base, md_error *err)
{
	const md_cfg_key *k = &md_cfg_keys[id];
	const char *sec = md_cfg_sections[k->section].name;
	char why[768];
	vctx ctx = { base, o->src != MD_CFG_SRC_DEFAULT, why, sizeof(why) };
	char *text = NULL;
	long long num = 0;
	int rc, j;

	why[0] = '\0';
	rc = validators[k->type](k, raw, &ctx, &text, &num);
	if (rc < 0)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	if (rc > 0)
		return origin_error(err, o, sec, k->key, why);

	/* keys of one group exclude each other */
	for (j = 0; k->group && j < MD_CFG_NKEYS; j++) {
		md_cfg_value *other = &cfg->values[j];

		if (j == (int)id || md_cfg_keys[j].group != k->group ||
		    other->source == MD_CFG_SRC_DEFAULT)
			continue;
		if (other->rank == o->rank) {
			if (other->source == MD_CFG_SRC_FILE)
				snprintf(why, sizeof(why),
					 "set either %s or %s, not both (%s is on line %u)", k->key,
					 md_cfg_keys[j].key, md_cfg_keys[j].key, other->line);
			else
				snprintf(why, sizeof(why), "set either %s.%s or %s.%s, not both",
					 sec, k->key, sec, md_cfg_keys[j].key);
			free(text);
			return origin_error(err, o, sec, k->key, why);
		}
		if (other->rank < o->rank)
			value_clear(other);
	}

	value_clear(&cfg->values[id]);
	cfg->values[id].text = text;
	cfg->values[id].num = num;
	cfg->values[id].source = o->src;
	cfg->values[id].rank = o->rank;
	cfg->values[id].line = o->line;
	cfg->values[id].col = o->col;
	return MD_OK;
}

/* Add or replace (case-insensitively) a key of a free-form section. */
static md_status set_pair(md_config *cfg, int sec, const char *name, const char *value,
			  const origin *o, md_error *err)
{
	md_cfg_list *l = &cfg->free_sections[sec];
	md_cfg_pair *p = NULL;
	char *v;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcasecmp(l->items[i].name, name))
			p = &l->items[i];
	v = strdup(value);
	if (!v)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	if (!p) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 8;
			md_cfg_pair *items = realloc(l->items, cap * sizeof(*items));

			if (!items) {
				free(v);
				return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
			}
			l->items = items;
			l->cap = cap;
		}
		p = &l->items[l->n];
		memset(p, 0, sizeof(*p));
		p->name = strdup(name);
		if (!p->name) {
			free(v);
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		}
		l->n++;
	}
	free(p->value);
	p->value = v;
	p->source = o->src;
	p->line = o->line;
	p->col = o->col;
	return MD_OK;
}

/* ---- the line scan ---------------------------------------------------------- */

typedef struct ini_item {
	int is_section;
	unsigned line;     /* where the key or [section] starts */
	unsigned vline;    /* where the value starts */
	unsigned col;      /* value column, in characters */
	char *section;     /* lowercased; NULL for a key before any section */
	char *key;         /* as spelt */
	unsigned dup_line; /* the same key is set again on this later line */
} ini_item;

typedef struct ini_scan {
	ini_item *items;
	size_t n, cap;
} ini_scan;

typedef struct seg {
	size_t loff;      /* offset in the logical line */
	size_t file_off;  /* offset of the physical line in the file */
	unsigned lineno;
} seg;

static void scan_free(ini_scan *sc)
{
	size_t i;

	for (i = 0; i < sc->n; i++) {
		free(sc->items[i].section);
		free(sc->items[i].key);
	}
	free(sc->items);
	memset(sc, 0, sizeof(*sc));
}

static ini_item *scan_add(ini_scan *sc)
{
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 32;
		ini_item *items = realloc(sc->items, cap * sizeof(*items));

		if (!items)
			return NULL;
		sc->items = items;
		sc->cap = cap;
	}
	memset(&sc->items[sc->n], 0, sizeof(ini_item));
	return &sc->items[sc->n++];
}

static char *strip_dup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* Map an offset in the logical line to a physical line and a column. */
static void map_offset(const char *buf, const seg *segs, size_t nseg, size_t loff,
		       unsigned *line, unsigned *col)
{
	size_t i = nseg - 1, b, c = 1;

	while (i > 0 && segs[i].loff > loff)
		i--;
	for (b = segs[i].file_off; b < segs[i].file_off + (loff - segs[i].loff); b++)
		if (((unsigned char)buf[b] & 0xc0) != 0x80)
			c++;
	*line = segs[i].lineno;
	*col = (unsigned)c;
}

/* Scan the file the way iniparser 4.1 reads it (iniparser_load/_line). */
static int scan_ini(const char *buf, size_t len, ini_scan *sc)
{
	sbuf lg = { 0 };
	seg *segs = NULL;
	size_t nseg = 0, segcap = 0, pos = 0;
	unsigned lineno = 0;
	char *cursec = NULL;
	int rc = 0;

	while (pos < len && !rc) {
		const char *l;
		size_t ls, le;
		int eof_backslash = 0;

		lg.len = 0;
		nseg = 0;
		for (;;) {
			const char *eol = memchr(buf + pos, '\n', len - pos);
			size_t end = eol ? (size_t)(eol - buf) : len;

			if (nseg == segcap) {
				size_t cap = segcap ? segcap * 2 : 4;
				seg *s = realloc(segs, cap * sizeof(*s));

				if (!s) {
					rc = -1;
					break;
				}
				segs = s;
				segcap = cap;
			}
			segs[nseg].loff = lg.len;
			segs[nseg].file_off = pos;
			segs[nseg].lineno = ++lineno;
			nseg++;
			sb_putn(&lg, buf + pos, end - pos);
			pos = eol ? end + 1 : len;
			while (lg.len && isspace((unsigned char)lg.s[lg.len - 1]))
				lg.len--;
			if (lg.s)
				lg.s[lg.len] = '\0';
			if (lg.len && lg.s[lg.len - 1] == '\\') {
				/* the next line replaces the backslash; at the end of
				 * the file iniparser drops the pending line */
				lg.len--;
				if (pos < len)
					continue;
				eof_backslash = 1;
			}
			break;
		}
		if (rc || lg.oom) {
			rc = -1;
			break;
		}
		l = lg.s;
		if (!l || eof_backslash)
			continue;
		for (ls = 0; ls < lg.len && isspace((unsigned char)l[ls]); ls++)
			;
		le = lg.len;
		if (ls == le || l[ls] == ';' || l[ls] == '#')
			continue;
		if (l[ls] == '[' && l[le - 1] == ']') {
			ini_item *it = scan_add(sc);
			size_t close = ls + 1;

			while (close < le && l[close] != ']')
				close++;
			if (!it) {
				rc = -1;
				break;
			}
			it->is_section = 1;
			it->line = it->vline = segs[0].lineno;
			it->col = 1;
			it->section = strip_dup(l + ls + 1, close - ls - 1);
			if (!it->section) {
				rc = -1;
				break;
			}
			lower(it->section);
			free(cursec);
			cursec = strdup(it->section);
			if (!cursec)
				rc = -1;
			continue;
		}
		{
			const char *eq = memchr(l + ls, '=', le - ls);
			ini_item *it;
			size_t v;

			if (!eq || eq == l + ls)
				continue; /* iniparser reported it already */
			it = scan_add(sc);
			if (!it) {
				rc = -1;
				break;
			}
			it->line = segs[0].lineno;
			it->key = strip_dup(l + ls, (size_t)(eq - (l + ls)));
			it->section = cursec ? strdup(cursec) : NULL;
			if (!it->key || (cursec && !it->section)) {
				rc = -1;
				break;
			}
			v = (size_t)(eq - l) + 1;
			while (v < le && isspace((unsigned char)l[v]))
				v++;
			if (v + 1 < le && (l[v] == '"' || l[v] == '\'') && l[v + 1] != l[v])
				v++; /* point at the quoted text */
			map_offset(buf, segs, nseg, v, &it->vline, &it->col);
		}
	}
	free(cursec);
	free(segs);
	free(lg.s);
	if (rc)
		return rc;
	/* later settings of a key win (iniparser keeps the last one) */
	{
		size_t i, j;

		for (i = 0; i < sc->n; i++) {
			ini_item *a = &sc->items[i];

			if (a->is_section)
				continue;
			for (j = i + 1; j < sc->n && !a->dup_line; j++) {
				ini_item *b = &sc->items[j];

				if (!b->is_section && !strcasecmp(a->key, b->key) &&
				    ((!a->section && !b->section) ||
				     (a->section && b->section && !strcmp(a->section, b->section))))
					a->dup_line = b->line;
			}
		}
	}
	return 0;
}

/* ---- reading the file ------------------------------------------------------ */

static char ini_errmsg[1024];
static int ini_nerr;

static int ini_error_cb(const char *fmt, ...)
{
	va_list ap;

	if (ini_nerr++ == 0) {
		va_start(ap, fmt);
		vsnprintf(ini_errmsg, sizeof(ini_errmsg), fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* iniparser's message as an md_error: "iniparser: syntax error in FILE
 * (LINE):\n-> TEXT\n" or "iniparser: input line too long in FILE (LINE)". */
static md_status ini_failure(md_error *err, const char *path, const char *buf, size_t len)
{
	const char *m = ini_errmsg, *p;
	unsigned line = 0;
	char text[300], q[400];

	if (!ini_nerr)
		return md_error_set(err, MD_ERR_NOMEM, path, 0, 0, "out of memory reading the file");
	p = strstr(m, " in ");
	if (p && !strncmp(p + 4, path, strlen(path)))
		sscanf(p + 4 + strlen(path), " (%u)", &line);
	if (strstr(m, "too long"))
		return md_error_set(err, MD_ERR_CONFIG, path, line, 0,
				    "line too long (the ini reader takes about 1000 bytes a line)");
	if (strstr(m, "syntax error")) {
		const char *t = strstr(m, "\n-> ");

		text[0] = '\0';
		if (t) {
			size_t n = strcspn(t + 4, "\n");

			snprintf(text, sizeof(text), "%.*s", (int)(n > 250 ? 250 : n), t + 4);
		}
		if (line == 1 && len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
			return md_error_set(err, MD_ERR_CONFIG, path, line, 0,
					    "syntax error: the file starts with a UTF-8 byte "
					    "order mark; save it without one");
		return md_error_set(err, MD_ERR_CONFIG, path, line, 0,
				    "syntax error: %s is not a [section], a key = value "
				    "or a ; comment line%s",
				    quote(q, sizeof(q), text),
				    text[0] == '[' && strchr(text, ']') ?
					    " (a section header stands alone on its line)" : "");
	}
	{
		size_t n = strcspn(m, "\n");

		return md_error_set(err, MD_ERR_CONFIG, path, line, 0, "%.*s", (int)n, m);
	}
}

static md_status read_file(const char *path, char **out, size_t *outlen, md_error *err)
{
	sbuf b = { 0 };
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	*out = NULL;
	*outlen = 0;
	if (!f)
		return md_error_set(err, MD_ERR_CONFIG, path, 0, 0, "cannot read the config file: %s",
				    strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sb_putn(&b, chunk, n);
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		free(b.s);
		return md_error_set(err, MD_ERR_CONFIG, path, 0, 0, "cannot read the config file: %s",
				    strerror(e));
	}
	fclose(f);
	*outlen = b.len;
	*out = sb_take(&b);
	if (!*out)
		return md_error_set(err, MD_ERR_NOMEM, path, 0, 0, "out of memory");
	return MD_OK;
}

static void warnf(const md_config_opts *opts, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warnf(const md_config_opts *opts, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	if (!opts->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	opts->warn(msg, opts->warn_payload);
}

/* ---- [target.NAME] and [group.NAME] ------------------------------------------ */

static const char TARGET_PREFIX[] = "target.";
static const char GROUP_PREFIX[] = "group.";

static int has_prefix(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

static md_cfg_target *find_target(const md_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; name && i < cfg->ntargets; i++)
		if (!strcasecmp(cfg->targets[i].name, name))
			return &cfg->targets[i];
	return NULL;
}

static md_cfg_group *find_group(const md_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; name && i < cfg->ngroups; i++)
		if (!strcasecmp(cfg->groups[i].name, name))
			return &cfg->groups[i];
	return NULL;
}

const md_cfg_target *md_config_target(const md_config *cfg, const char *name)
{
	return cfg ? find_target(cfg, name) : NULL;
}

const md_cfg_group *md_config_group(const md_config *cfg, const char *name)
{
	return cfg ? find_group(cfg, name) : NULL;
}

/* A [target.NAME] or [group.NAME] header: record it.  MD_ERR_USAGE when
 * the section is neither (the caller goes on). */
static md_status note_named_section(md_config *cfg, const ini_item *it, md_error *err)
{
	int is_target = has_prefix(it->section, TARGET_PREFIX);
	const char *name;
	char why[160];
	origin o = { MD_CFG_SRC_FILE, RANK_FILE, cfg->ini_path, it->line, 1, NULL, NULL, NULL };

	if (!is_target && !has_prefix(it->section, GROUP_PREFIX))
		return MD_ERR_USAGE;
	name = it->section + strlen(is_target ? TARGET_PREFIX : GROUP_PREFIX);
	o.secname = it->section;
	if (!*name || has_ctrl(name) || strlen(name) > 63 || strpbrk(name, " \t,/")) {
		snprintf(why, sizeof(why), "a %s name is 1 to 63 characters without "
			 "spaces, commas or slashes", is_target ? "target" : "group");
		return origin_error(err, &o, it->section, "name", why);
	}
	if (is_target) {
		md_cfg_target *t;

		if (find_target(cfg, name))
			return MD_OK; /* the same section again: iniparser merges it */
		t = realloc(cfg->targets, (cfg->ntargets + 1) * sizeof(*t));
		if (!t)
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		cfg->targets = t;
		t = &t[cfg->ntargets];
		memset(t, 0, sizeof(*t));
		t->name = strdup(name);
		t->line = it->line;
		if (!t->name)
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		cfg->ntargets++;
	} else {
		md_cfg_group *g;

		if (find_group(cfg, name))
			return MD_OK;
		g = realloc(cfg->groups, (cfg->ngroups + 1) * sizeof(*g));
		if (!g)
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		cfg->groups = g;
		g = &g[cfg->ngroups];
		memset(g, 0, sizeof(*g));
		g->name = strdup(name);
		g->line = it->line;
		if (!g->name)
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		cfg->ngroups++;
	}
	return MD_OK;
}

/* Split "a, b c" into names; NULL on no memory. */
static char **split_names(const char *s, size_t *n)
{
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	for (;;) {
		size_t len;

		s += strspn(s, " \t,");
		len = strcspn(s, " \t,");
		if (!len)
			break;
		if (*n + 1 >= cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*nv));

			if (!nv)
				goto nomem;
			v = nv;
		}
		if (!(v[*n] = xstrndup(s, len)))
			goto nomem;
		(*n)++;
		s += len;
	}
	if (!v)
		v = calloc(1, sizeof(*v));
	return v;
nomem:
	while (*n)
		free(v[--*n]);
	free(v);
	return NULL;
}

static md_status group_key(md_cfg_group *g, const ini_item *it, const char *val,
			   const origin *o, md_error *err)
{
	char why[200];

	if (!strcasecmp(it->key, "targets")) {
		size_t i;

		for (i = 0; i < g->ntargets; i++)
			free(g->targets[i]);
		free(g->targets);
		g->targets = split_names(val, &g->ntargets);
		if (!g->targets)
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		if (!g->ntargets)
			return origin_error(err, o, it->section, "targets",
					    "name at least one [target.NAME]");
		g->query_line = o->line;
		g->query_col = o->col;
		return MD_OK;
	}
	if (!strcasecmp(it->key, "query")) {
		free(g->query);
		g->query = strdup(val);
		if (!g->query)
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		if (!*val)
			return origin_error(err, o, it->section, "query", "the query is empty");
		g->query_line = o->line;
		g->query_col = o->col;
		if (g->kind == MD_GROUP_TARGETS)
			g->kind = MD_GROUP_DATABASES;
		return MD_OK;
	}
	if (!strcasecmp(it->key, "members")) {
		if (!strcasecmp(val, "databases"))
			g->kind = MD_GROUP_DATABASES;
		else if (!strcasecmp(val, "schemas"))
			g->kind = MD_GROUP_SCHEMAS;
		else
			return origin_error(err, o, it->section, "members",
					    "expected databases or schemas");
		return MD_OK;
	}
	if (!strcasecmp(it->key, "target")) {
		free(g->target);
		g->target = strdup(val);
		return g->target ? MD_OK
				 : md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	snprintf(why, sizeof(why), "unknown key (a group has targets, or query, members "
		 "and target)");
	return origin_error(err, o, it->section, it->key, why);
}

/* The key of a target may be any key of [database] or [run]. */
static int target_key(const char *key)
{
	int k = find_key(MD_CFG_SEC_DATABASE, key);

	return k >= 0 ? k : find_key(MD_CFG_SEC_RUN, key);
}

/* A key inside [target.NAME] or [group.NAME]: store it as written (checked
 * in check_named_sections).  0 when the item is in another section. */
static int named_section_key(md_config *cfg, const ini_item *it, const dictionary *dict,
			     md_status *rc, md_error *err)
{
	char dkey[2200];
	const char *val;
	origin o = { MD_CFG_SRC_FILE, RANK_FILE, cfg->ini_path, it->vline, it->col, NULL, NULL,
		     it->section };
	md_cfg_list *l;

	*rc = MD_OK;
	if (has_prefix(it->section, TARGET_PREFIX)) {
		md_cfg_target *t = find_target(cfg, it->section + strlen(TARGET_PREFIX));

		if (!t)
			return 1; /* a bad name: reported at its header */
		l = &t->keys;
	} else if (has_prefix(it->section, GROUP_PREFIX)) {
		md_cfg_group *g = find_group(cfg, it->section + strlen(GROUP_PREFIX));

		if (!g)
			return 1;
		l = NULL; /* a group's keys are parsed at once (group_key) */
	} else {
		return 0;
	}
	snprintf(dkey, sizeof(dkey), "%s:%s", it->section, it->key);
	lower(dkey);
	val = iniparser_getstring(dict, dkey, NULL);
	if (!val)
		return 1;
	if (l) {
		md_cfg_list tmp = *l;
		md_cfg_list save = cfg->free_sections[0];

		/* set_pair works on a free-form section: lend it this list */
		cfg->free_sections[0] = tmp;
		*rc = set_pair(cfg, 0, it->key, val, &o, err);
		*l = cfg->free_sections[0];
		cfg->free_sections[0] = save;
		return 1;
	}
	*rc = group_key(find_group(cfg, it->section + strlen(GROUP_PREFIX)), it, val, &o,
			err);
	return 1;
}

static md_status load_items(md_config *cfg, const md_config_opts *opts, const ini_scan *sc,
			    const dictionary *dict, md_error *err)
{
	const char *path = cfg->ini_path;
	char hint[128], dkey[2200];
	size_t i;
	md_status rc;

	for (i = 0; i < sc->n; i++) {
		const ini_item *it = &sc->items[i];
		origin o = { MD_CFG_SRC_FILE, RANK_FILE, path, it->vline, it->col, NULL, NULL, NULL };
		const char *val;
		int sec, key;

		if (it->is_section) {
			rc = note_named_section(cfg, it, err);
			if (rc == MD_OK)
				continue;
			if (rc != MD_ERR_USAGE)
				return rc;
			if (find_section(it->section) < 0) {
				suggest_section(hint, sizeof(hint), it->section);
				warnf(opts, "%s:%u: unknown section [%s]%s", path, it->line,
				      it->section, hint);
			}
			continue;
		}
		if (!it->section) {
			warnf(opts, "%s:%u: key '%s' is outside any [section]", path, it->line,
			      it->key);
			continue;
		}
		rc = MD_OK;
		if (it->dup_line == 0 && named_section_key(cfg, it, dict, &rc, err)) {
			if (rc)
				return rc;
			continue;
		}
		sec = find_section(it->section);
		if (sec < 0)
			continue; /* warned at its header */
		if (it->dup_line) {
			warnf(opts, "%s:%u: [%s] %s is set again on line %u, which wins", path,
			      it->line, it->section, it->key, it->dup_line);
			continue;
		}
		snprintf(dkey, sizeof(dkey), "%s:%s", it->section, it->key);
		lower(dkey);
		val = iniparser_getstring(dict, dkey, NULL);
		if (!val)
			continue;
		if (md_cfg_sections[sec].flags & MD_CFG_SEC_FREE) {
			rc = set_pair(cfg, sec, it->key, val, &o, err);
			if (rc)
				return rc;
			continue;
		}
		key = find_key(sec, it->key);
		if (key < 0 && sec == MD_CFG_SEC_DATABASE && !strcasecmp(it->key, "password")) {
			warnf(opts, "%s:%u: [database] password is ignored: use PGPASSWORD, "
			      "~/.pgpass or a service file", path, it->line);
			continue;
		}
		if (key < 0) {
			suggest_key(hint, sizeof(hint), sec, it->key);
			warnf(opts, "%s:%u: unknown key '%s' in [%s]%s", path, it->line, it->key,
			      it->section, hint);
			continue;
		}
		rc = set_key(cfg, (md_cfg_key_id)key, val, &o, cfg->base_dir, err);
		if (rc)
			return rc;
	}
	return MD_OK;
}

/* Folder of path, absolute and resolved. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *real;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	if (!dir)
		return NULL;
	real = realpath(dir, NULL);
	free(dir);
	return real;
}

static md_status load_file(md_config *cfg, const md_config_opts *opts, md_error *err)
{
	char *buf = NULL, *nul;
	size_t len;
	dictionary *dict;
	ini_scan sc = { 0 };
	md_status rc;

	rc = read_file(cfg->ini_path, &buf, &len, err);
	if (rc)
		return rc;
	nul = memchr(buf, '\0', len);
	if (nul) {
		unsigned line = 1;
		const char *p;

		for (p = buf; p < nul; p++)
			line += *p == '\n';
		rc = md_error_set(err, MD_ERR_CONFIG, cfg->ini_path, line, 0,
				  "the file contains a NUL byte");
		free(buf);
		return rc;
	}
	ini_nerr = 0;
	ini_errmsg[0] = '\0';
	iniparser_set_error_callback(ini_error_cb);
	dict = iniparser_load(cfg->ini_path);
	iniparser_set_error_callback(NULL);
	if (!dict) {
		rc = ini_failure(err, cfg->ini_path, buf, len);
		free(buf);
		return rc;
	}
	if (scan_ini(buf, len, &sc))
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	else
		rc = load_items(cfg, opts, &sc, dict, err);
	scan_free(&sc);
	iniparser_freedict(dict);
	free(buf);
	return rc;
}

/* ---- values from another format (flyway.conf) -------------------------------- */

md_status md_config_set_file_value(md_config *cfg, md_cfg_key_id id, const char *raw,
				   unsigned line, unsigned col, md_error *err)
{
	origin o = { MD_CFG_SRC_FILE, RANK_FILE, cfg->ini_path, line, col, NULL, NULL, NULL };

	return set_key(cfg, id, raw, &o, cfg->base_dir, err);
}

md_status md_config_set_file_pair(md_config *cfg, md_cfg_section_id sec, const char *name,
				  const char *value, unsigned line, unsigned col, md_error *err)
{
	origin o = { MD_CFG_SRC_FILE, RANK_FILE, cfg->ini_path, line, col, NULL, NULL, NULL };

	return set_pair(cfg, (int)sec, name, value, &o, err);
}

/* flyway.conf (or any *.conf / *.properties named with -c): Java properties */
static int is_properties(const char *path)
{
	size_t n = strlen(path);

	return (n >= 5 && !strcmp(path + n - 5, ".conf")) ||
	       (n >= 11 && !strcmp(path + n - 11, ".properties"));
}

/* ---- environment and flags ------------------------------------------------- */

/* The database key that fits the form of a url-or-conninfo text. */
static md_cfg_key_id db_key_for(const char *s)
{
	return is_uri(s) ? MD_CFG_DB_URL : MD_CFG_DB_CONNINFO;
}

static md_status load_env(md_config *cfg, const char *cwd, md_error *err)
{
	int i;
	md_status rc;

	for (i = 0; i < MD_CFG_NKEYS; i++) {
		const char *env = md_cfg_keys[i].env, *v;
		origin o = { MD_CFG_SRC_ENV, RANK_ENV, NULL, 0, 0, env, NULL, NULL };
		md_cfg_key_id id = (md_cfg_key_id)i;

		if (!env || !(v = getenv(env)) || !*v)
			continue;
		if (md_cfg_keys[i].type == MD_CFG_T_CONNINFO)
			id = db_key_for(v);
		rc = set_key(cfg, id, v, &o, cwd, err);
		if (rc)
			return rc;
	}
	return MD_OK;
}

/* The flag as typed, with a url/conninfo password masked. */
static char *flag_text(const char *prefix, const char *arg, int is_db, const char *value)
{
	sbuf b = { 0 };

	sb_puts(&b, prefix);
	if (is_db) {
		char *r = md_conninfo_redact(value);

		sb_putn(&b, arg, (size_t)(value - arg));
		if (r)
			sb_puts(&b, r);
		else
			b.oom = 1;
		free(r);
	} else {
		sb_puts(&b, arg);
	}
	return sb_take(&b);
}

static md_status load_override(md_config *cfg, const char *arg, const char *cwd,
			       md_error *err)
{
	const char *eq = strchr(arg, '='), *dot;
	char *lhs, *flag = NULL, hint[128];
	int sec = -1, key, i;
	size_t best = 0;
	origin o = { MD_CFG_SRC_FLAG, RANK_OPT, NULL, 0, 0, NULL, NULL, NULL };
	md_status rc;

	if (!eq)
		return md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0,
				    "-o %s: expected section.key=value", arg);
	lhs = xstrndup(arg, (size_t)(eq - arg));
	if (!lhs)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	/* the longest section name followed by a dot */
	for (i = 0; i < MD_CFG_NSECTIONS; i++) {
		size_t n = strlen(md_cfg_sections[i].name);

		if (n > best && !strncasecmp(lhs, md_cfg_sections[i].name, n) && lhs[n] == '.') {
			sec = i;
			best = n;
		}
	}
	if (sec < 0) {
		dot = strrchr(lhs, '.');
		if (!dot) {
			rc = md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0,
					  "-o %s: expected section.key=value", arg);
		} else {
			lhs[dot - lhs] = '\0';
			suggest_section(hint, sizeof(hint), lhs);
			rc = md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0,
					  "-o %s: unknown section [%s]%s", arg, lhs, hint);
		}
		free(lhs);
		return rc;
	}
	if (!lhs[best + 1]) {
		free(lhs);
		return md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0,
				    "-o %s: expected section.key=value", arg);
	}
	if (md_cfg_sections[sec].flags & MD_CFG_SEC_FREE) {
		rc = set_pair(cfg, sec, lhs + best + 1, eq + 1, &o, err);
		free(lhs);
		return rc;
	}
	key = find_key(sec, lhs + best + 1);
	if (key < 0) {
		suggest_key(hint, sizeof(hint), sec, lhs + best + 1);
		rc = md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0, "-o %s: unknown key '%s' in [%s]%s",
				  arg, lhs + best + 1, md_cfg_sections[sec].name, hint);
		free(lhs);
		return rc;
	}
	free(lhs);
	flag = flag_text("-o ", arg, md_cfg_keys[key].type == MD_CFG_T_CONNINFO, eq + 1);
	if (!flag)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	o.flag = flag;
	rc = set_key(cfg, (md_cfg_key_id)key, eq + 1, &o, cwd, err);
	free(flag);
	return rc;
}

static md_status load_dflag(md_config *cfg, const char *value, md_error *err)
{
	origin o = { MD_CFG_SRC_FLAG, RANK_DFLAG, NULL, 0, 0, NULL, NULL, NULL };
	char *flag = flag_text("-d ", value, 1, value);
	md_status rc;

	if (!flag)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	o.flag = flag;
	rc = set_key(cfg, db_key_for(value), value, &o, NULL, err);
	free(flag);
	return rc;
}

/* ---- targets: checking and applying ------------------------------------------ */

/* Check every key of every target (unknown keys warn, bad values fail with
 * file:line:col), and every group's members. */
static md_status check_named_sections(md_config *cfg, const md_config_opts *opts,
				      md_error *err)
{
	char why[768], hint[128], sec[96];
	size_t i, j;

	for (i = 0; i < cfg->ntargets; i++) {
		md_cfg_target *t = &cfg->targets[i];
		int seen_db = -1;

		snprintf(sec, sizeof(sec), "%s%s", TARGET_PREFIX, t->name);
		for (j = 0; j < t->keys.n; j++) {
			const md_cfg_pair *p = &t->keys.items[j];
			origin o = { MD_CFG_SRC_FILE, RANK_FILE, cfg->ini_path, p->line, p->col,
				     NULL, NULL, sec };
			int k = target_key(p->name);
			vctx ctx = { cfg->base_dir, 0, why, sizeof(why) };
			char *text = NULL;
			long long num = 0;
			int rc;

			if (k < 0) {
				if (!strcasecmp(p->name, "password"))
					warnf(opts, "%s:%u: [%s] password is ignored: use PGPASSWORD, "
					      "~/.pgpass or a service file", cfg->ini_path, p->line, sec);
				else
					warnf(opts, "%s:%u: unknown key '%s' in [%s] (a target takes "
					      "the keys of [database] and [run])", cfg->ini_path, p->line,
					      p->name, sec);
				continue;
			}
			if (md_cfg_keys[k].group) {
				if (seen_db >= 0 && seen_db != k) {
					snprintf(why, sizeof(why), "set either url or conninfo, not both");
					return origin_error(err, &o, sec, p->name, why);
				}
				seen_db = k;
			}
			why[0] = '\0';
			rc = validators[md_cfg_keys[k].type](&md_cfg_keys[k], p->value, &ctx, &text,
							     &num);
			free(text);
			if (rc < 0)
				return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
			if (rc > 0)
				return origin_error(err, &o, sec, md_cfg_keys[k].key, why);
		}
	}
	(void)hint;
	for (i = 0; i < cfg->ngroups; i++) {
		md_cfg_group *g = &cfg->groups[i];
		origin o = { MD_CFG_SRC_FILE, RANK_FILE, cfg->ini_path, g->query_line, g->query_col,
			     NULL, NULL, NULL };

		snprintf(sec, sizeof(sec), "%s%s", GROUP_PREFIX, g->name);
		o.secname = sec;
		if ((g->ntargets > 0) == (g->query != NULL)) {
			o.line = g->line;
			o.col = 1;
			return origin_error(err, &o, sec, g->query ? "targets" : "query",
					    g->query ? "set either targets or query, not both"
						     : "set targets = a, b, c or a query");
		}
		if (g->ntargets)
			g->kind = MD_GROUP_TARGETS;
		for (j = 0; j < g->ntargets; j++) {
			if (!find_target(cfg, g->targets[j])) {
				snprintf(why, sizeof(why), "no [%s%s] in this file", TARGET_PREFIX,
					 g->targets[j]);
				return origin_error(err, &o, sec, "targets", why);
			}
		}
		if (g->target && !find_target(cfg, g->target)) {
			snprintf(why, sizeof(why), "no [%s%s] in this file", TARGET_PREFIX, g->target);
			o.line = g->line;
			o.col = 1;
			return origin_error(err, &o, sec, "target", why);
		}
	}
	return MD_OK;
}

/* Apply target t's keys over cfg at RANK_TARGET: a value set by a flag
 * (higher rank) stays. */
static md_status apply_target(md_config *cfg, const md_cfg_target *t, md_error *err)
{
	char sec[96];
	size_t j;
	int g;

	snprintf(sec, sizeof(sec), "%s%s", TARGET_PREFIX, t->name);
	for (j = 0; j < t->keys.n; j++) {
		const md_cfg_pair *p = &t->keys.items[j];
		origin o = { MD_CFG_SRC_TARGET, RANK_TARGET, cfg->ini_path, p->line, p->col, NULL,
			     NULL, sec };
		int k = target_key(p->name), higher = 0;
		md_status rc;

		if (k < 0)
			continue;
		for (g = 0; g < MD_CFG_NKEYS; g++)
			if ((g == k || (md_cfg_keys[k].group && md_cfg_keys[g].group ==
								      md_cfg_keys[k].group)) &&
			    cfg->values[g].source != MD_CFG_SRC_DEFAULT &&
			    cfg->values[g].rank > RANK_TARGET)
				higher = 1;
		if (higher)
			continue;
		rc = set_key(cfg, (md_cfg_key_id)k, p->value, &o, cfg->base_dir, err);
		if (rc)
			return rc;
	}
	return MD_OK;
}

static md_status copy_values(md_cfg_value *dst, const md_cfg_value *src, md_error *err)
{
	int k;

	for (k = 0; k < MD_CFG_NKEYS; k++) {
		dst[k] = src[k];
		if (src[k].text && !(dst[k].text = strdup(src[k].text))) {
			while (k-- > 0)
				value_clear(&dst[k]);
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		}
	}
	return MD_OK;
}

/* The target in force: --target, $MIGDECK_TARGET, [workspace] tracks. */
static md_status select_target(md_config *cfg, const md_config_opts *opts, md_error *err)
{
	const char *name = opts->target, *how = "--target";
	const md_cfg_target *t;
	const md_cfg_value *tv = &cfg->values[MD_CFG_TRACKS];
	md_status rc;

	if (tv->text && !find_target(cfg, tv->text)) {
		origin o = { tv->source, tv->rank, cfg->ini_path, tv->line, tv->col,
			     md_cfg_keys[MD_CFG_TRACKS].env, "-o workspace.tracks", NULL };
		char why[160];

		snprintf(why, sizeof(why), "no [%s%s] in the settings", TARGET_PREFIX, tv->text);
		return origin_error(err, &o, "workspace", "tracks", why);
	}
	if (!name && (name = getenv(TARGET_ENV)) && *name)
		how = "$" TARGET_ENV;
	else if (!opts->target)
		name = NULL;
	if (!name) {
		name = tv->text;
		how = "[workspace] tracks";
	}
	if (!name)
		return MD_OK;
	t = find_target(cfg, name);
	if (!t) {
		char list[512] = "";
		size_t i, o = 0;

		for (i = 0; i < cfg->ntargets && o < sizeof(list) - 70; i++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
					      cfg->targets[i].name);
		return md_error_set(err, MD_ERR_CONFIG, cfg->ini_path, 0, 0,
				    "%s %s: no [%s%s] in the settings (%s%s)", how, name,
				    TARGET_PREFIX, name, cfg->ntargets ? "targets: " : "none defined",
				    list);
	}
	cfg->untargeted = calloc(MD_CFG_NKEYS, sizeof(*cfg->untargeted));
	if (!cfg->untargeted)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	rc = copy_values(cfg->untargeted, cfg->values, err);
	if (rc) {
		free(cfg->untargeted);
		cfg->untargeted = NULL;
		return rc;
	}
	cfg->target_name = strdup(t->name);
	if (!cfg->target_name)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	return apply_target(cfg, t, err);
}

static md_status copy_list(md_cfg_list *dst, const md_cfg_list *src, md_error *err)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	if (!src->n)
		return MD_OK;
	dst->items = calloc(src->n, sizeof(*dst->items));
	if (!dst->items)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	dst->cap = src->n;
	for (i = 0; i < src->n; i++) {
		dst->items[i] = src->items[i];
		dst->items[i].name = strdup(src->items[i].name);
		dst->items[i].value = strdup(src->items[i].value);
		dst->n++;
		if (!dst->items[i].name || !dst->items[i].value)
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	return MD_OK;
}

/* The connection of cfg with dbname replaced, as a conninfo. */
static char *with_dbname(const md_config *cfg, const char *dbname, md_error *err)
{
	const char **kw = NULL, **vals = NULL;
	sbuf b = { 0 };
	size_t i;

	if (md_config_conn_params(cfg, &kw, &vals, err) != MD_OK)
		return NULL;
	for (i = 0; kw[i]; i++) {
		if (!strcmp(kw[i], "dbname"))
			continue;
		sb_puts(&b, kw[i]);
		sb_putc(&b, '=');
		put_conn_value(&b, vals[i]);
		sb_putc(&b, ' ');
	}
	sb_puts(&b, "dbname=");
	put_conn_value(&b, dbname);
	md_config_free_params(kw, vals);
	if (b.oom) {
		free(b.s);
		md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		return NULL;
	}
	return sb_take(&b);
}

static void md_config_bind(md_config *cfg);

md_status md_config_derive(const md_config *base, const char *target, const char *dbname,
			   const char *schema, const char *member, md_config **out,
			   md_error *err)
{
	md_config *cfg;
	const md_cfg_target *t = NULL;
	md_status rc;
	int k;

	*out = NULL;
	md_error_clear(err);
	if (target && !(t = find_target(base, target)))
		return md_error_set(err, MD_ERR_CONFIG, base->ini_path, 0, 0,
				    "no [%s%s] in the settings", TARGET_PREFIX, target);
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	cfg->borrowed = 1;
	cfg->targets = base->targets;
	cfg->ntargets = base->ntargets;
	cfg->groups = base->groups;
	cfg->ngroups = base->ngroups;
	cfg->flyway = base->flyway;
	cfg->ini_path = base->ini_path ? strdup(base->ini_path) : NULL;
	cfg->base_dir = base->base_dir ? strdup(base->base_dir) : NULL;
	rc = copy_values(cfg->values, base->untargeted ? base->untargeted : base->values, err);
	for (k = 0; !rc && k < MD_CFG_NSECTIONS; k++)
		rc = copy_list(&cfg->free_sections[k], &base->free_sections[k], err);
	if (!rc && t) {
		cfg->target_name = strdup(t->name);
		rc = cfg->target_name ? apply_target(cfg, t, err)
				      : md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	if (!rc && member && !(cfg->member_name = strdup(member)))
		rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	if (!rc && dbname) {
		origin o = { MD_CFG_SRC_TARGET, RANK_MEMBER, cfg->ini_path, 0, 0, NULL, NULL, NULL };
		char *ci;

		md_config_bind(cfg);
		ci = with_dbname(cfg, dbname, err);
		rc = ci ? set_key(cfg, MD_CFG_DB_CONNINFO, ci, &o, NULL, err) : err->code;
		free(ci);
	}
	if (!rc && schema) {
		origin o = { MD_CFG_SRC_TARGET, RANK_MEMBER, cfg->ini_path, 0, 0, NULL, NULL, NULL };

		rc = set_key(cfg, MD_CFG_DB_SCHEMA, schema, &o, NULL, err);
	}
	if (rc) {
		md_config_free(cfg);
		return rc;
	}
	md_config_bind(cfg);
	*out = cfg;
	return MD_OK;
}

const char *md_config_label(const md_config *cfg)
{
	if (cfg && cfg->member)
		return cfg->member;
	if (cfg && cfg->target)
		return cfg->target;
	return "default";
}

/* ---- load ------------------------------------------------------------------ */

/* Fill the typed fields from values[] and the free-form sections. */
static void md_config_bind(md_config *cfg)
{
	const md_cfg_value *v = cfg->values;

	cfg->database = NULL;
	cfg->database_key = MD_CFG_DB_URL;
	if (v[MD_CFG_DB_URL].text) {
		cfg->database = v[MD_CFG_DB_URL].text;
	} else if (v[MD_CFG_DB_CONNINFO].text) {
		cfg->database = v[MD_CFG_DB_CONNINFO].text;
		cfg->database_key = MD_CFG_DB_CONNINFO;
	}
	cfg->connect_retries = (int)v[MD_CFG_DB_CONNECT_RETRIES].num;
	cfg->connect_retries_interval = (int)v[MD_CFG_DB_CONNECT_RETRIES_INTERVAL].num;
	cfg->pending_dir = v[MD_CFG_PENDING].text;
	cfg->applied_dir = v[MD_CFG_APPLIED].text;
	cfg->archive_dir = v[MD_CFG_ARCHIVE].text;
	cfg->history_schema = v[MD_CFG_HISTORY_SCHEMA].text;
	cfg->history_table = v[MD_CFG_HISTORY_TABLE].text;
	cfg->history_mirror = v[MD_CFG_HISTORY_MIRROR].num != 0;
	cfg->foreign_table = v[MD_CFG_HISTORY_FOREIGN_TABLE].text;
	cfg->foreign_schema = v[MD_CFG_HISTORY_FOREIGN_SCHEMA].text
				      ? v[MD_CFG_HISTORY_FOREIGN_SCHEMA].text
				      : cfg->history_schema;
	cfg->lock_timeout = v[MD_CFG_LOCK_TIMEOUT].text;
	cfg->lock_timeout_ms = v[MD_CFG_LOCK_TIMEOUT].num;
	cfg->statement_timeout = v[MD_CFG_STATEMENT_TIMEOUT].text;
	cfg->statement_timeout_ms = v[MD_CFG_STATEMENT_TIMEOUT].num;
	cfg->transaction = (md_tx_mode)v[MD_CFG_TRANSACTION].num;
	cfg->lock_retries = (int)v[MD_CFG_LOCK_RETRIES].num;
	cfg->git_commit = v[MD_CFG_GIT_COMMIT].num != 0;
	cfg->exclusive_lock_warn_ms = v[MD_CFG_EXCL_LOCK_WARN].num;
	cfg->production = v[MD_CFG_DB_PRODUCTION].num != 0;
	cfg->backup_pg_dump = v[MD_CFG_DB_BACKUP].num == 1;
	cfg->schema = v[MD_CFG_DB_SCHEMA].text;
	cfg->lock_mode = (int)v[MD_CFG_DB_LOCK].num;
	cfg->lease_expiry_ms = v[MD_CFG_DB_LEASE_EXPIRY].num;
	cfg->progress_interval_ms = v[MD_CFG_PROGRESS_INTERVAL].num;
	cfg->backup_dir = v[MD_CFG_BACKUP_DIR].text;
	cfg->backup_lock_wait_ms = v[MD_CFG_BACKUP_LOCK_WAIT].num;
	cfg->tracks = v[MD_CFG_TRACKS].text;
	/* a tenant schema holds its own history, unless [history] schema says */
	if (cfg->schema && v[MD_CFG_HISTORY_SCHEMA].source == MD_CFG_SRC_DEFAULT)
		cfg->history_schema = cfg->schema;
	if (!v[MD_CFG_HISTORY_FOREIGN_SCHEMA].text)
		cfg->foreign_schema = cfg->history_schema;
	cfg->target = cfg->target_name;
	cfg->member = cfg->member_name;
	/* a group member never moves files; otherwise the folders follow the
	 * tracked target, or whatever is in force when none is named */
	cfg->tracked = !cfg->member &&
		       (!cfg->tracks || (cfg->target && !strcasecmp(cfg->tracks, cfg->target)));
	cfg->git_author_name = v[MD_CFG_GIT_AUTHOR_NAME].text;
	cfg->git_author_email = v[MD_CFG_GIT_AUTHOR_EMAIL].text;
	cfg->placeholders = cfg->free_sections[MD_CFG_SEC_PLACEHOLDERS].items;
	cfg->nplaceholders = cfg->free_sections[MD_CFG_SEC_PLACEHOLDERS].n;
}

md_status md_config_load(md_config **out, const md_config_opts *opts, md_error *err)
{
	static const md_config_opts none = { 0 };
	md_config *cfg;
	const char *path = NULL, *path_env = NULL;
	char *cwd;
	md_status rc = MD_OK;
	size_t i;
	int k;

	md_error_clear(err);
	*out = NULL;
	if (!opts)
		opts = &none;
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return md_error_set(err, MD_ERR_IO, NULL, 0, 0,
				    "cannot read the working directory: %s", strerror(errno));
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		free(cwd);
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}

	if (opts->config_path) {
		path = opts->config_path;
	} else if ((path_env = getenv(CONFIG_ENV)) && *path_env) {
		path = path_env;
	} else if (access(DEFAULT_INI, F_OK) == 0) {
		path = DEFAULT_INI;
	} else if (access(DEFAULT_FLYWAY_CONF, F_OK) == 0) {
		path = DEFAULT_FLYWAY_CONF; /* a Flyway project without a migdeck.ini */
	}
	if (path) {
		cfg->ini_path = strdup(path);
		if (!cfg->ini_path)
			rc = md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		else if (access(path, R_OK) != 0)
			rc = md_error_set(err, MD_ERR_CONFIG, path, 0, 0,
					  "cannot read the config file%s: %s",
					  path == path_env ? " named by $" CONFIG_ENV : "",
					  strerror(errno));
	}
	/* relative paths (and the default folders) hang off the ini's folder */
	if (!rc) {
		cfg->base_dir = cfg->ini_path ? dir_of(cfg->ini_path) : strdup(cwd);
		if (!cfg->base_dir)
			rc = md_error_set(err, MD_ERR_CONFIG, cfg->ini_path, 0, 0,
					  "cannot resolve the folder of the config file: %s",
					  strerror(errno));
	}
	for (k = 0; !rc && k < MD_CFG_NKEYS; k++) {
		origin o = { MD_CFG_SRC_DEFAULT, RANK_DEFAULT, NULL, 0, 0, NULL, NULL, NULL };

		if (md_cfg_keys[k].def)
			rc = set_key(cfg, (md_cfg_key_id)k, md_cfg_keys[k].def, &o, cfg->base_dir,
				     err);
	}
	if (!rc && cfg->ini_path && is_properties(cfg->ini_path))
		rc = md_flywayconf_load(cfg, opts->warn, opts->warn_payload, err);
	else if (!rc && cfg->ini_path)
		rc = load_file(cfg, opts, err);
	if (!rc)
		rc = load_env(cfg, cwd, err);
	for (i = 0; !rc && i < opts->noverrides; i++)
		if (opts->overrides[i])
			rc = load_override(cfg, opts->overrides[i], cwd, err);
	if (!rc && opts->database)
		rc = load_dflag(cfg, opts->database, err);
	if (!rc)
		rc = check_named_sections(cfg, opts, err);
	if (!rc)
		rc = select_target(cfg, opts, err);
	free(cwd);
	if (rc) {
		md_config_free(cfg);
		return rc;
	}
	md_config_bind(cfg);
	*out = cfg;
	return MD_OK;
}

void md_config_free(md_config *cfg)
{
	size_t i;
	int k;

	if (!cfg)
		return;
	for (k = 0; k < MD_CFG_NKEYS; k++)
		value_clear(&cfg->values[k]);
	for (k = 0; k < MD_CFG_NSECTIONS; k++) {
		md_cfg_list *l = &cfg->free_sections[k];

		for (i = 0; i < l->n; i++) {
			free(l->items[i].name);
			free(l->items[i].value);
		}
		free(l->items);
	}
	if (cfg->untargeted) {
		for (k = 0; k < MD_CFG_NKEYS; k++)
			value_clear(&cfg->untargeted[k]);
		free(cfg->untargeted);
	}
	if (!cfg->borrowed) {
		md_flywayconf_free(cfg->flyway);
		for (i = 0; i < cfg->ntargets; i++) {
			md_cfg_list *l = &cfg->targets[i].keys;
			size_t j;

			for (j = 0; j < l->n; j++) {
				free(l->items[j].name);
				free(l->items[j].value);
			}
			free(l->items);
			free(cfg->targets[i].name);
		}
		free(cfg->targets);
		for (i = 0; i < cfg->ngroups; i++) {
			md_cfg_group *g = &cfg->groups[i];
			size_t j;

			for (j = 0; j < g->ntargets; j++)
				free(g->targets[j]);
			free(g->targets);
			free(g->query);
			free(g->target);
			free(g->name);
		}
		free(cfg->groups);
	}
	free(cfg->target_name);
	free(cfg->member_name);
	free(cfg->ini_path);
	free(cfg->base_dir);
	free(cfg);
}

/* ---- getters and printing ---------------------------------------------------- */

const char *md_config_get(const md_config *cfg, md_cfg_key_id id)
{
	if (!cfg || (int)id < 0 || id >= MD_CFG_NKEYS)
		return NULL;
	return cfg->values[id].text;
}

md_cfg_source md_config_source(const md_config *cfg, md_cfg_key_id id)
{
	if (!cfg || (int)id < 0 || id >= MD_CFG_NKEYS)
		return MD_CFG_SRC_DEFAULT;
	return cfg->values[id].source;
}

const char *md_cfg_source_name(md_cfg_source src)
{
	switch (src) {
	case MD_CFG_SRC_DEFAULT: return "default";
	case MD_CFG_SRC_FILE: return "file";
	case MD_CFG_SRC_ENV: return "env";
	case MD_CFG_SRC_FLAG: return "flag";
	case MD_CFG_SRC_TARGET: return "target";
	}
	return "?";
}

const md_cfg_pair *md_config_section_pairs(const md_config *cfg, md_cfg_section_id sec,
					   size_t *n)
{
	*n = 0;
	if (!cfg || (int)sec < 0 || sec >= MD_CFG_NSECTIONS ||
	    !(md_cfg_sections[sec].flags & MD_CFG_SEC_FREE))
		return NULL;
	*n = cfg->free_sections[sec].n;
	return cfg->free_sections[sec].items;
}

static void print_source(const md_config *cfg, FILE *out, md_cfg_source src, unsigned line,
			 const char *env)
{
	switch (src) {
	case MD_CFG_SRC_DEFAULT:
		fputs("default", out);
		break;
	case MD_CFG_SRC_FILE:
		fprintf(out, "%s:%u", cfg->ini_path ? cfg->ini_path : "?", line);
		break;
	case MD_CFG_SRC_ENV:
		fprintf(out, "env %s", env ? env : "?");
		break;
	case MD_CFG_SRC_FLAG:
		fputs("flag", out);
		break;
	case MD_CFG_SRC_TARGET:
		if (line)
			fprintf(out, "target %s %s:%u", cfg->target ? cfg->target : "?",
				cfg->ini_path ? cfg->ini_path : "?", line);
		else
			fprintf(out, "member %s", md_config_label(cfg));
		break;
	}
}

void md_config_print(const md_config *cfg, FILE *out)
{
	int k;
	size_t i;

	if (!cfg || !out)
		return;
	for (k = 0; k < MD_CFG_NKEYS; k++) {
		const md_cfg_key *key = &md_cfg_keys[k];
		const md_cfg_value *v = &cfg->values[k];
		char *shown = NULL;

		if (key->group && k != (int)cfg->database_key)
			continue; /* only the database key in force */
		if (v->text && key->type == MD_CFG_T_CONNINFO)
			shown = md_conninfo_redact(v->text);
		fprintf(out, "%s.%s = %s  (", md_cfg_sections[key->section].name, key->key,
			shown ? shown : v->text && key->type != MD_CFG_T_CONNINFO ? v->text : "");
		print_source(cfg, out, v->source, v->line,
			     k == MD_CFG_DB_CONNINFO ? md_cfg_keys[MD_CFG_DB_URL].env : key->env);
		fputs(")\n", out);
		free(shown);
	}
	for (k = 0; k < MD_CFG_NSECTIONS; k++) {
		const md_cfg_list *l = &cfg->free_sections[k];

		for (i = 0; i < l->n; i++) {
			fprintf(out, "%s.%s = %s  (", md_cfg_sections[k].name, l->items[i].name,
				l->items[i].value);
			print_source(cfg, out, l->items[i].source, l->items[i].line, NULL);
			fputs(")\n", out);
		}
	}
}

/* ---- connection parameters ----------------------------------------------------- */

/* The target's options (NULL when none is configured) and, per option,
 * whether an ini value gives way to its PG* variable.  The envvar names are
 * those of PQconndefaults(): PQconninfoParse returns the same table. */
static md_status parse_target(const md_config *cfg, PQconninfoOption **opts, char **dropped,
			      md_error *err)
{
	char *errmsg = NULL, *msg;
	size_t i, n;

	*opts = NULL;
	*dropped = NULL;
	if (!cfg->database)
		return MD_OK;
	*opts = PQconninfoParse(cfg->database, &errmsg);
	if (!*opts) {
		if (!errmsg)
			return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
		msg = conninfo_message(cfg->database, errmsg);
		PQfreemem(errmsg);
		md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0, "database: %s",
			     msg ? msg : "invalid connection string");
		free(msg);
		return MD_ERR_CONFIG;
	}
	n = count_opts(*opts);
	*dropped = calloc(n + 1, 1);
	if (!*dropped) {
		PQconninfoFree(*opts);
		*opts = NULL;
		return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
	}
	if (cfg->values[cfg->database_key].source == MD_CFG_SRC_FILE)
		for (i = 0; i < n; i++)
			(*dropped)[i] = (*opts)[i].val && (*opts)[i].envvar &&
					getenv((*opts)[i].envvar) != NULL;
	return MD_OK;
}

md_status md_config_conn_params(const md_config *cfg, const char ***keywords,
				const char ***values, md_error *err)
{
	PQconninfoOption *opts = NULL;
	char *dropped = NULL;
	const char **kw, **vals;
	size_t i, n = 0, o = 0;
	md_status rc;

	*keywords = NULL;
	*values = NULL;
	rc = parse_target(cfg, &opts, &dropped, err);
	if (rc)
		return rc;
	for (i = 0; opts && opts[i].keyword; i++)
		n += opts[i].val && !dropped[i];
	kw = calloc(n + 1, sizeof(*kw));
	vals = calloc(n + 1, sizeof(*vals));
	if (!kw || !vals)
		goto nomem;
	for (i = 0; opts && opts[i].keyword; i++) {
		if (!opts[i].val || dropped[i])
			continue;
		kw[o] = strdup(opts[i].keyword);
		vals[o] = strdup(opts[i].val);
		o++;
		if (!kw[o - 1] || !vals[o - 1])
			goto nomem;
	}
	PQconninfoFree(opts);
	free(dropped);
	*keywords = kw;
	*values = vals;
	return MD_OK;
nomem:
	PQconninfoFree(opts);
	free(dropped);
	md_config_free_params(kw, vals);
	return md_error_set(err, MD_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

void md_config_free_params(const char **keywords, const char **values)
{
	size_t i;

	for (i = 0; keywords && keywords[i]; i++)
		free((char *)keywords[i]);
	for (i = 0; values && values[i]; i++)
		free((char *)values[i]);
	free((void *)keywords);
	free((void *)values);
}

char *md_config_conn_display(const md_config *cfg)
{
	PQconninfoOption *opts = NULL;
	char *dropped = NULL, *out;
	const char **vals;
	size_t i, n;
	int changed = 0;

	if (!cfg)
		return NULL;
	if (parse_target(cfg, &opts, &dropped, NULL))
		return cfg->database ? md_conninfo_redact(cfg->database) : NULL;
	if (!opts) {
		/* no target: the PG* variables alone */
		opts = PQconninfoParse("", NULL);
		if (!opts)
			return NULL;
		dropped = calloc(count_opts(opts) + 1, 1);
		if (!dropped) {
			PQconninfoFree(opts);
			return NULL;
		}
	}
	n = count_opts(opts);
	vals = calloc(n + 1, sizeof(*vals));
	if (!vals) {
		PQconninfoFree(opts);
		free(dropped);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const char *env = opts[i].envvar ? getenv(opts[i].envvar) : NULL;

		if (opts[i].dispchar[0] == 'D')
			continue;
		if (opts[i].val && !dropped[i]) {
			vals[i] = opts[i].val;
		} else if (env) {
			vals[i] = env;
			changed = 1;
		}
	}
	if (cfg->database && is_uri(cfg->database) && !changed)
		out = md_conninfo_redact(cfg->database);
	else
		out = emit_conninfo(opts, vals);
	free(vals);
	free(dropped);
	PQconninfoFree(opts);
	return out;
}

/* ---- placeholders ------------------------------------------------------------ */

const char *md_config_placeholder(const char *name, void *payload)
{
	const md_config *cfg = payload;
	size_t i;

	if (!cfg || !name)
		return NULL;
	for (i = 0; i < cfg->nplaceholders; i++)
		if (!strcasecmp(cfg->placeholders[i].name, name))
			return cfg->placeholders[i].value;
	/* ${schema}: the tenant schema ([database] schema, a group member's)
	 * unless [placeholders] names one */
	if (cfg->schema && !strcasecmp(name, "schema"))
		return cfg->schema;
	return NULL;
}
