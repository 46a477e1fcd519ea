/* flyway.h - Flyway's own file checksum, so a project adopted from Flyway
 * keeps the checksums its flyway_schema_history recorded. */
#ifndef MIGDECK_FLYWAY_H
#define MIGDECK_FLYWAY_H

#include <stddef.h>
#include <stdint.h>

/* The checksum Flyway records for a SQL file: CRC-32 over the UTF-8 bytes
 * of each line, line endings (\n, \r, \r\n) removed and nothing put
 * between lines, a leading byte order mark skipped; stored as a signed
 * 32-bit integer. */
int32_t md_flyway_checksum(const char *buf, size_t len);

#endif
