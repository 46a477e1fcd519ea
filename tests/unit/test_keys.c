/* test_keys.c - the console's key names, default bindings and [keys]
 * (ui/keys.c): pure logic, no terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ui/keys.h"

static void test_parse_names(void **state)
{
	int key = 0;

	(void)state;
	assert_int_equal(ui_key_parse("j", &key), 1);
	assert_int_equal(key, 'j');
	assert_int_equal(ui_key_parse("^D", &key), 2);
	assert_int_equal(key, 4);
	assert_int_equal(ui_key_parse("^d", &key), 2);
	assert_int_equal(key, 4);
	assert_int_equal(ui_key_parse("<PgDn>", &key), 6);
	assert_int_equal(key, UI_KEY_SPECIAL(KEY_NPAGE));
	assert_int_equal(ui_key_parse("<s-tab>x", &key), 7);
	assert_int_equal(key, UI_KEY_SPECIAL(KEY_BTAB));
	assert_int_equal(ui_key_parse("<Enter>", &key), 7);
	assert_int_equal(key, '\n');
	assert_int_equal(ui_key_parse("<F12>", &key), 5);
	assert_int_equal(key, UI_KEY_SPECIAL(KEY_F(12)));
	assert_int_equal(ui_key_parse("<Lt>", &key), 4);
	assert_int_equal(key, '<');
	/* a lone '<' is itself; an unknown <Name> is no key */
	assert_int_equal(ui_key_parse("< ", &key), 1);
	assert_int_equal(key, '<');
	assert_int_equal(ui_key_parse("<Dwn>", &key), 0);
	assert_int_equal(ui_key_parse("^", &key), 1); /* '^' alone is the character */
	assert_int_equal(ui_key_parse("^1", &key), 0);
	/* UTF-8 (typed into a search) */
	assert_int_equal(ui_key_parse("é", &key), 2);
	assert_int_equal(key, 0xe9);
	assert_int_equal(ui_key_parse("", &key), 0);
}

static void test_names_round_trip(void **state)
{
	static const char *const names[] = { "j", "^D", "<Down>", "<S-Tab>", "<Enter>", "<Esc>",
					     "<Space>", "<F5>", "<Home>", "/", "?" };
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int key = 0;

		assert_true(ui_key_parse(names[i], &key) > 0);
		assert_string_equal(ui_key_name(key, buf, sizeof(buf)), names[i]);
	}
}

static void test_defaults(void **state)
{
	char buf[64];
	int a;

	(void)state;
	assert_int_equal(ui_keys_load(NULL, NULL), MD_OK);
	assert_int_equal(ui_key_action('j'), UI_DOWN);
	assert_int_equal(ui_key_action(UI_KEY_SPECIAL(KEY_DOWN)), UI_DOWN);
	assert_int_equal(ui_key_action('k'), UI_UP);
	assert_int_equal(ui_key_action(4), UI_HALF_DOWN);
	assert_int_equal(ui_key_action(21), UI_HALF_UP);
	assert_int_equal(ui_key_action('\t'), UI_NEXT_PANE);
	assert_int_equal(ui_key_action(UI_KEY_SPECIAL(KEY_BTAB)), UI_PREV_PANE);
	assert_int_equal(ui_key_action('/'), UI_SEARCH);
	assert_int_equal(ui_key_action('N'), UI_PREV_MATCH);
	assert_int_equal(ui_key_action('q'), UI_QUIT);
	assert_int_equal(ui_key_action('z'), UI_NONE);
	assert_string_equal(ui_action_keys(UI_DOWN, buf, sizeof(buf)), "j <Down>");
	/* every action has a name, a help line and at least one default key,
	 * and every default key reads back */
	for (a = 1; a < UI_NACTIONS; a++) {
		assert_non_null(ui_actions[a].name);
		assert_true(strlen(ui_actions[a].help) > 0);
		assert_int_equal(ui_action_by_name(ui_actions[a].name), a);
		assert_true(strlen(ui_action_keys((ui_action)a, buf, sizeof(buf))) > 0);
	}
	assert_int_equal(ui_action_by_name("no-such-action"), UI_NONE);
}

/* A config with an ini of text, in a temp folder. */
static md_config *load_ini(const char *text, md_error *err)
{
	char dir[] = "/tmp/md_keys.XXXXXX", path[64];
	md_config_opts o;
	md_config *cfg = NULL;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/migdeck.ini", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	memset(&o, 0, sizeof(o));
	o.config_path = path;
	assert_int_equal(md_config_load(&cfg, &o, err), MD_OK);
	unlink(path);
	rmdir(dir);
	return cfg;
}

static void test_ini_rebinds(void **state)
{
	md_error err;
	md_config *cfg = load_ini("[keys]\ndown = x ^N\nquit = Q\n", &err);

	(void)state;
	assert_int_equal(ui_keys_load(cfg, &err), MD_OK);
	assert_int_equal(ui_key_action('x'), UI_DOWN);
	assert_int_equal(ui_key_action(14), UI_DOWN);
	/* the action's old keys are gone; other actions keep theirs */
	assert_int_equal(ui_key_action('j'), UI_NONE);
	assert_int_equal(ui_key_action(UI_KEY_SPECIAL(KEY_DOWN)), UI_NONE);
	assert_int_equal(ui_key_action('Q'), UI_QUIT);
	assert_int_equal(ui_key_action('q'), UI_NONE);
	assert_int_equal(ui_key_action('k'), UI_UP);
	md_config_free(cfg);

	/* a key taken from another action moves */
	cfg = load_ini("[keys]\nrefresh = k\n", &err);
	assert_int_equal(ui_keys_load(cfg, &err), MD_OK);
	assert_int_equal(ui_key_action('k'), UI_REFRESH);
	assert_int_equal(ui_key_action('r'), UI_NONE);
	md_config_free(cfg);
}

static void test_ini_errors(void **state)
{
	md_error err;
	md_config *cfg = load_ini("[run]\nlock_retries = 2\n[keys]\ndown = j <Dwn>\n", &err);

	(void)state;
	md_error_clear(&err);
	assert_int_equal(ui_keys_load(cfg, &err), MD_ERR_CONFIG);
	assert_int_equal(err.line, 4);
	assert_int_equal(err.col, 10);
	assert_non_null(strstr(err.msg, "down: not a key: '<Dwn>'"));
	assert_non_null(strstr(err.file, "migdeck.ini"));
	md_config_free(cfg);

	cfg = load_ini("[keys]\n\ndwon = j\n", &err);
	md_error_clear(&err);
	assert_int_equal(ui_keys_load(cfg, &err), MD_ERR_CONFIG);
	assert_int_equal(err.line, 3);
	assert_non_null(strstr(err.msg, "unknown action 'dwon'"));
	md_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_names),
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_ini_rebinds),
		cmocka_unit_test(test_ini_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
