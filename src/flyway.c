/* flyway.c - Flyway's file checksum (see flyway.h), with zlib's CRC-32. */
#include "flyway.h"

#include <string.h>
#include <zlib.h>

int32_t md_flyway_checksum(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + len;
	uLong crc = crc32(0L, Z_NULL, 0);

	if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		p += 3;
	/* each line's bytes, without its line break: runs between \r and \n */
	while (p < end) {
		const unsigned char *q = p;
		while (q < end && *q != '\n' && *q != '\r')
			q++;
		if (q > p)
			crc = crc32_z(crc, p, (z_size_t)(q - p));
		p = q;
		while (p < end && (*p == '\n' || *p == '\r'))
			p++;
	}
	return (int32_t)(uint32_t)crc;
}
