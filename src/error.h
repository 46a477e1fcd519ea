/* error.h - one status enum and one error record for the whole engine.
 *
 * Every engine function that can fail returns an md_status (MD_OK == 0,
 * failures negative) and, when the caller passes one, fills an md_error
 * with a message and, where known, the file:line:col it is about. */
#ifndef MIGDECK_ERROR_H
#define MIGDECK_ERROR_H

#include <stdarg.h>

typedef enum md_status {
	MD_OK = 0,
	MD_ERR_USAGE = -1,   /* bad command line */
	MD_ERR_CONFIG = -2,  /* bad setting in migdeck.ini, a flag or the environment */
	MD_ERR_IO = -3,      /* a file could not be read or written */
	MD_ERR_SYNTAX = -4,  /* a SQL script the engine cannot split */
	MD_ERR_NOMEM = -5,
	MD_ERR_DB = -6,      /* the database said no */
	MD_ERR_UNSUPPORTED = -7, /* e.g. a psql meta-command in a script */
	MD_ERR_CONNECT = -8,  /* cannot connect to the database */
	MD_ERR_LOCKED = -9,   /* another runner holds the migdeck lock */
	MD_ERR_INVALID = -10, /* the workspace or history fails validation */
	MD_ERR_REFUSED = -11  /* needs a confirmation that was not given */
} md_status;

typedef struct md_error {
	md_status code;
	char file[1024];    /* "" when not about a file */
	unsigned line, col; /* 1-based; 0 when unknown */
	char sqlstate[6];   /* "" unless the server sent one */
	char msg[1024];
	char detail[1024];  /* the server's DETAIL, HINT and CONTEXT, or "" */
	char hint[512];
	char context[512];
} md_error;

/* Clear an error record (NULL is accepted). */
void md_error_clear(md_error *err);

/* Fill err (which may be NULL) and return code. file may be NULL. */
md_status md_error_set(md_error *err, md_status code, const char *file,
		       unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* "file:line:col: msg", "file:line: msg", "file: msg" or "msg" into out. */
void md_error_format(const md_error *err, char *out, unsigned long outsz);

/* Short English name of a status. */
const char *md_status_name(md_status code);

#endif
