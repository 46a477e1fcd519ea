/* error.c - the engine's error record. */
#include "error.h"

#include <stdio.h>
#include <string.h>

void md_error_clear(md_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

md_status md_error_set(md_error *err, md_status code, const char *file,
		       unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	md_error_clear(err);
	err->code = code;
	if (file)
		snprintf(err->file, sizeof(err->file), "%s", file);
	err->line = line;
	err->col = col;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void md_error_format(const md_error *err, char *out, unsigned long outsz)
{
	if (!outsz)
		return;
	if (err->file[0] && err->line && err->col)
		snprintf(out, outsz, "%s:%u:%u: %s", err->file, err->line, err->col, err->msg);
	else if (err->file[0] && err->line)
		snprintf(out, outsz, "%s:%u: %s", err->file, err->line, err->msg);
	else if (err->file[0])
		snprintf(out, outsz, "%s: %s", err->file, err->msg);
	else
		snprintf(out, outsz, "%s", err->msg);
}

const char *md_status_name(md_status code)
{
	switch (code) {
	case MD_OK: return "ok";
	case MD_ERR_USAGE: return "usage error";
	case MD_ERR_CONFIG: return "configuration error";
	case MD_ERR_IO: return "i/o error";
	case MD_ERR_SYNTAX: return "syntax error";
	case MD_ERR_NOMEM: return "out of memory";
	case MD_ERR_DB: return "database error";
	case MD_ERR_UNSUPPORTED: return "not supported";
	case MD_ERR_CONNECT: return "cannot connect";
	case MD_ERR_LOCKED: return "locked by another runner";
	case MD_ERR_INVALID: return "validation failed";
	case MD_ERR_REFUSED: return "refused";
	}
	return "unknown error";
}
