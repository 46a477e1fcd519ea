/* util.c - file reading and JSON string output. */
#include "util.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

md_status md_read_file(const char *path, char **out, size_t *len, md_error *err)
{
	FILE *f = NULL;
	char *buf = NULL;
	struct stat st;
	size_t n = 0, cap;

	*out = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (!f)
		return md_error_set(err, MD_ERR_IO, path, 0, 0, "cannot open: %s", strerror(errno));
	if (fstat(fileno(f), &st) != 0)
		st.st_size = 0; /* size unknown: the buffer grows as it reads */
	else if (S_ISDIR(st.st_mode)) {
		fclose(f);
		return md_error_set(err, MD_ERR_IO, path, 0, 0, "is a directory");
	}
	cap = (st.st_size > 0 ? (size_t)st.st_size : 0) + 1;
	buf = malloc(cap);
	if (!buf)
		goto nomem;
	for (;;) {
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n < cap - 1) {
			if (ferror(f)) {
				int e = errno;
				free(buf);
				fclose(f);
				return md_error_set(err, MD_ERR_IO, path, 0, 0, "cannot read: %s", strerror(e));
			}
			break;
		}
		/* the file grew (or is a pipe): make room */
		{
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				goto nomem;
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return MD_OK;
nomem:
	free(buf);
	fclose(f);
	return md_error_set(err, MD_ERR_NOMEM, path, 0, 0, "out of memory reading the file");
}

/* Length of the valid UTF-8 sequence at s (of at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t need, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) { need = 2; cp = s[0] & 0x1F; }
	else if (s[0] >= 0xE0 && s[0] <= 0xEF) { need = 3; cp = s[0] & 0x0F; }
	else if (s[0] >= 0xF0 && s[0] <= 0xF4) { need = 4; cp = s[0] & 0x07; }
	else return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return need;
}

void md_json_str(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	fputc('"', out);
	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		switch (c) {
		case '"': fputs("\\\"", out); i++; continue;
		case '\\': fputs("\\\\", out); i++; continue;
		case '\n': fputs("\\n", out); i++; continue;
		case '\r': fputs("\\r", out); i++; continue;
		case '\t': fputs("\\t", out); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		n = utf8_seq(p + i, len - i);
		if (!n) {
			fputs("\\ufffd", out);
			i++;
			continue;
		}
		fwrite(p + i, 1, n, out);
		i += n;
	}
	fputc('"', out);
}

void md_os_user(char *out, size_t outsz)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	const char *env;

	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_name &&
	    res->pw_name[0]) {
		snprintf(out, outsz, "%s", res->pw_name);
		return;
	}
	env = getenv("USER");
	snprintf(out, outsz, "%s", env && *env ? env : "?");
}
