/* keys.h - key names, the binding table and [keys] of migdeck.ini.
 *
 * A key is an int: a character is its code point (>= 0), a special key
 * the negated curses KEY_ code (KEY_DOWN is -KEY_DOWN).  Pure logic:
 * curses only for the KEY_ constants. */
#ifndef MIGDECK_UI_KEYS_H
#define MIGDECK_UI_KEYS_H

#include <stddef.h>

#include "actions.h"
#include "config.h"
#include "error.h"

#define UI_KEY_SPECIAL(k) (-(k))

/* Parse one key at s ("j", "^D", "<PgDn>", "<S-Tab>", a UTF-8 character).
 * Returns the bytes used (> 0) and sets *key, or 0 when s starts no key
 * (an unknown <Name>, a lone '^' before nothing, bad UTF-8). */
size_t ui_key_parse(const char *s, int *key);

/* The name of a key, as ui_key_parse reads it ("j", "^D", "<Down>"). */
const char *ui_key_name(int key, char *buf, size_t bufsz);

/* The action bound to key (UI_NONE when none); ui_key_action_in for the
 * stepper's keys (mode 1). */
ui_action ui_key_action(int key);
ui_action ui_key_action_in(int mode, int key);
/* 1 for the stepper's actions ("step-..."), 0 for the others. */
int ui_action_mode(ui_action a);

/* The keys bound to action, as text ("j <Down>"), into buf. */
const char *ui_action_keys(ui_action a, char *buf, size_t bufsz);

/* The action of a name ("half-page-down"), or UI_NONE. */
ui_action ui_action_by_name(const char *name);

/* Set the default bindings, then apply [keys] of cfg (NULL: defaults only):
 * each entry "action = key key ..." replaces that action's keys.  An
 * unknown action or key is MD_ERR_CONFIG with the ini's file:line:col.  A
 * key bound to two actions goes to the one named later. */
md_status ui_keys_load(const md_config *cfg, md_error *err);

#endif
