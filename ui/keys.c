/* keys.c - key names and bindings (see keys.h). */
#include "keys.h"

#include <curses.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#define UI_ACTION_ROW_(id, name, keys, hint, help) { name, keys, hint, help },
const ui_action_info ui_actions[UI_NACTIONS] = {
	{ "none", "", NULL, "" },
	UI_ACTIONS(UI_ACTION_ROW_)
};
#undef UI_ACTION_ROW_

/* The <Name>s, with the key each stands for. */
static const struct named_key {
	const char *name;
	int key;
} named[] = {
	{ "Up", UI_KEY_SPECIAL(KEY_UP) },     { "Down", UI_KEY_SPECIAL(KEY_DOWN) },
	{ "Left", UI_KEY_SPECIAL(KEY_LEFT) }, { "Right", UI_KEY_SPECIAL(KEY_RIGHT) },
	{ "Home", UI_KEY_SPECIAL(KEY_HOME) }, { "End", UI_KEY_SPECIAL(KEY_END) },
	{ "PgUp", UI_KEY_SPECIAL(KEY_PPAGE) }, { "PgDn", UI_KEY_SPECIAL(KEY_NPAGE) },
	{ "S-Tab", UI_KEY_SPECIAL(KEY_BTAB) }, { "Backspace", UI_KEY_SPECIAL(KEY_BACKSPACE) },
	{ "Del", UI_KEY_SPECIAL(KEY_DC) },     { "Ins", UI_KEY_SPECIAL(KEY_IC) },
	{ "Tab", '\t' },                       { "Enter", '\n' },
	{ "Esc", 27 },                         { "Space", ' ' },
	{ "Lt", '<' },
};
#define NNAMED (sizeof(named) / sizeof(named[0]))

/* Bindings: characters below 128, and special keys by KEY_ code. */
static ui_action bind_char[2][128];
static ui_action bind_special[2][KEY_MAX + 1];

size_t ui_key_parse(const char *s, int *key)
{
	mbstate_t st;
	wchar_t wc;
	size_t n, i;

	if (!s || !*s)
		return 0;
	if (s[0] == '<') {
		const char *end = strchr(s + 1, '>');

		if (end && end > s + 1) {
			size_t len = (size_t)(end - s - 1);

			for (i = 0; i < NNAMED; i++)
				if (strlen(named[i].name) == len &&
				    !strncasecmp(named[i].name, s + 1, len)) {
					*key = named[i].key;
					return len + 2;
				}
			if ((s[1] == 'F' || s[1] == 'f') && len >= 2 && len <= 3 &&
			    strspn(s + 2, "0123456789") == len - 1) {
				int f = atoi(s + 2);

				if (f >= 1 && f <= 12) {
					*key = UI_KEY_SPECIAL(KEY_F(f));
					return len + 2;
				}
			}
			if (len < 16)
				return 0; /* a <Name> we do not know */
		}
		*key = '<';
		return 1;
	}
	if (s[0] == '^' && s[1]) {
		unsigned char c = (unsigned char)s[1];

		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		if (c >= '@' && c <= '_') {
			*key = c - '@';
			return 2;
		}
		return 0;
	}
	if ((unsigned char)s[0] < 0x80) {
		*key = (unsigned char)s[0];
		return 1;
	}
	memset(&st, 0, sizeof(st));
	n = mbrtowc(&wc, s, strlen(s), &st);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		/* not a UTF-8 locale: take the UTF-8 sequence by hand */
		unsigned char c = (unsigned char)s[0];
		size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
		unsigned cp = want == 4 ? c & 7u : want == 3 ? c & 15u : c & 31u;

		if (!want)
			return 0;
		for (i = 1; i < want; i++) {
			if (((unsigned char)s[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | ((unsigned char)s[i] & 0x3fu);
		}
		*key = (int)cp;
		return want;
	}
	*key = (int)wc;
	return n;
}

const char *ui_key_name(int key, char *buf, size_t bufsz)
{
	size_t i;

	for (i = 0; i < NNAMED; i++)
		if (named[i].key == key && strcmp(named[i].name, "Lt") != 0) {
			snprintf(buf, bufsz, "<%s>", named[i].name);
			return buf;
		}
	if (key < 0 && -key >= KEY_F(1) && -key <= KEY_F(12))
		snprintf(buf, bufsz, "<F%d>", -key - KEY_F(0));
	else if (key < 0)
		snprintf(buf, bufsz, "<%s>", keyname(-key) ? keyname(-key) : "?");
	else if (key < 32)
		snprintf(buf, bufsz, "^%c", key + '@');
	else if (key < 128)
		snprintf(buf, bufsz, "%c", key);
	else {
		char mb[MB_LEN_MAX + 1];
		mbstate_t st;
		size_t n;

		memset(&st, 0, sizeof(st));
		n = wcrtomb(mb, (wchar_t)key, &st);
		if (n == (size_t)-1)
			snprintf(buf, bufsz, "U+%04X", (unsigned)key);
		else
			snprintf(buf, bufsz, "%.*s", (int)n, mb);
	}
	return buf;
}

int ui_action_mode(ui_action a)
{
	return a > UI_NONE && a < UI_NACTIONS && !strncmp(ui_actions[a].name, "step-", 5);
}

static ui_action *slot(int mode, int key)
{
	if (key >= 0 && key < 128)
		return &bind_char[mode][key];
	if (key < 0 && -key <= KEY_MAX)
		return &bind_special[mode][-key];
	return NULL;
}

ui_action ui_key_action_in(int mode, int key)
{
	ui_action *a = slot(mode ? 1 : 0, key);

	return a ? *a : UI_NONE;
}

ui_action ui_key_action(int key)
{
	return ui_key_action_in(0, key);
}

const char *ui_action_keys(ui_action act, char *buf, size_t bufsz)
{
	char name[32];
	size_t used = 0;
	int k;

	int m = ui_action_mode(act);

	buf[0] = '\0';
	for (k = 0; k < 128; k++)
		if (bind_char[m][k] == act && used + 2 < bufsz)
			used += (size_t)snprintf(buf + used, bufsz - used, "%s%s", used ? " " : "",
						 ui_key_name(k, name, sizeof(name)));
	for (k = 0; k <= KEY_MAX; k++)
		if (bind_special[m][k] == act && used + 2 < bufsz)
			used += (size_t)snprintf(buf + used, bufsz - used, "%s%s", used ? " " : "",
						 ui_key_name(-k, name, sizeof(name)));
	if (used >= bufsz)
		buf[bufsz - 1] = '\0';
	return buf;
}

ui_action ui_action_by_name(const char *name)
{
	int a;

	for (a = 1; a < UI_NACTIONS; a++)
		if (!strcasecmp(ui_actions[a].name, name))
			return (ui_action)a;
	return UI_NONE;
}

/* Bind the keys of text to act.  Returns 0, or the 1-based byte offset of
 * the key that does not parse. */
static size_t bind_text(ui_action act, const char *text)
{
	const char *p = text;

	while (*p) {
		int key;
		size_t n;
		ui_action *s;

		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		n = ui_key_parse(p, &key);
		if (!n || (p[n] && p[n] != ' ' && p[n] != '\t') || !(s = slot(ui_action_mode(act), key)))
			return (size_t)(p - text) + 1;
		*s = act;
		p += n;
	}
	return 0;
}

md_status ui_keys_load(const md_config *cfg, md_error *err)
{
	const md_cfg_pair *pairs;
	size_t n = 0, i;
	int a;

	memset(bind_char, 0, sizeof(bind_char));
	memset(bind_special, 0, sizeof(bind_special));
	for (a = 1; a < UI_NACTIONS; a++)
		bind_text((ui_action)a, ui_actions[a].keys);
	if (!cfg)
		return MD_OK;
	pairs = md_config_section_pairs(cfg, MD_CFG_SEC_KEYS, &n);
	for (i = 0; i < n; i++) {
		const md_cfg_pair *p = &pairs[i];
		const char *file = p->source == MD_CFG_SRC_FILE ? cfg->ini_path : NULL;
		ui_action act = ui_action_by_name(p->name);
		size_t bad;

		if (act == UI_NONE) {
			if (file)
				return md_error_set(err, MD_ERR_CONFIG, file, p->line, 1,
						    "[keys] unknown action '%s' (see `?` in the console "
						    "or doc/console.md for the names)",
						    p->name);
			return md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0,
					    "-o keys.%s: unknown action '%s'", p->name, p->name);
		}
		/* the action's own keys go; the new ones take their keys from
		 * whatever had them */
		{
			int m = ui_action_mode(act);

			for (a = 0; a < 128; a++)
				if (bind_char[m][a] == act)
					bind_char[m][a] = UI_NONE;
			for (a = 0; a <= KEY_MAX; a++)
				if (bind_special[m][a] == act)
					bind_special[m][a] = UI_NONE;
		}
		if ((bad = bind_text(act, p->value)) != 0) {
			if (file)
				return md_error_set(err, MD_ERR_CONFIG, file, p->line,
						    p->col + (unsigned)bad - 1,
						    "[keys] %s: not a key: '%s' (write an ASCII character, "
						    "^X, or <Up> <Down> <Left> <Right> <Home> <End> <PgUp> "
						    "<PgDn> <Tab> <S-Tab> <Enter> <Esc> <Space> <F1>..<F12>)",
						    p->name, p->value + bad - 1);
			return md_error_set(err, MD_ERR_CONFIG, NULL, 0, 0,
					    "-o keys.%s: not a key: '%s'", p->name, p->value + bad - 1);
		}
	}
	return MD_OK;
}
