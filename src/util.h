/* util.h - small helpers shared by the engine and the front ends. */
#ifndef MIGDECK_UTIL_H
#define MIGDECK_UTIL_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

/* Read a whole file into a NUL-terminated malloc'd buffer. */
md_status md_read_file(const char *path, char **out, size_t *len, md_error *err);

/* The operating system user: the password database, else $USER, else "?". */
void md_os_user(char *out, size_t outsz);

/* Write s[0..len) as a JSON string (with quotes).  Invalid UTF-8 bytes
 * become U+FFFD, so the output is always valid JSON. */
void md_json_str(FILE *out, const char *s, size_t len);

#endif
