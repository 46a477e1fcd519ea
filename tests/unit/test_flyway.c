/* Flyway's checksum against the values Flyway itself recorded for real
 * files (../shared/flyway-vectors beside the clone: CI has it, a user's
 * clone does not, and then the vector test says it skipped), plus cases
 * built here from the rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "flyway.h"
#include "util.h"

static int32_t crc_of(const char *s)
{
	return (int32_t)(uint32_t)crc32(0L, (const Bytef *)s, (uInt)strlen(s));
}

/* The rule on small inputs: line breaks of every kind vanish, a BOM only
 * counts at the start. */
static void test_rule(void **state)
{
	(void)state;
	assert_int_equal(md_flyway_checksum("", 0), 0);
	assert_int_equal(md_flyway_checksum("SELECT 1;", 9), crc_of("SELECT 1;"));
	assert_int_equal(md_flyway_checksum("a\nb\n", 4), crc_of("ab"));
	assert_int_equal(md_flyway_checksum("a\r\nb\r\n", 6), crc_of("ab"));
	assert_int_equal(md_flyway_checksum("a\rb", 3), crc_of("ab"));
	assert_int_equal(md_flyway_checksum("a\n\n\nb", 5), crc_of("ab"));
	assert_int_equal(md_flyway_checksum("\xef\xbb\xbf" "a\nb", 6), crc_of("ab"));
	assert_int_equal(md_flyway_checksum("a\xef\xbb\xbf", 4), crc_of("a\xef\xbb\xbf"));
	/* CRC-32 of "123456789" is the check value 0xCBF43926: as signed */
	assert_int_equal(md_flyway_checksum("12345\n6789", 10), (int32_t)0xCBF43926u);
}

static void test_vectors(void **state)
{
	const char *dir = getenv("MIGDECK_FLYWAY_VECTORS");
	char path[4096], line[8192];
	FILE *tsv;
	int rows = 0, checked = 0, bad = 0;

	(void)state;
	if (!dir || !*dir)
		dir = "../shared/flyway-vectors";
	snprintf(path, sizeof(path), "%s/vectors.tsv", dir);
	tsv = fopen(path, "r");
	if (!tsv) {
		printf("# flyway vectors: %s not found: skipped (they sit beside the clone in CI)\n",
		       path);
		skip();
	}
	while (fgets(line, sizeof(line), tsv)) {
		char *field[8] = { 0 }, *save = NULL, *tok, *buf = NULL;
		size_t len = 0;
		md_error err;
		int n = 0;
		long long want;

		if (rows++ == 0)
			continue; /* the header */
		for (tok = strtok_r(line, "\t", &save); tok && n < 8; tok = strtok_r(NULL, "\t", &save))
			field[n++] = tok;
		/* the rows Flyway's rule explains (matches_python = yes) */
		if (n < 8 || strcmp(field[7], "yes") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, field[0]);
		assert_int_equal(md_read_file(path, &buf, &len, &err), MD_OK);
		want = strtoll(field[1], NULL, 10);
		if (md_flyway_checksum(buf, len) != (int32_t)want) {
			printf("# %s: got %d, Flyway recorded %lld\n", field[0],
			       md_flyway_checksum(buf, len), want);
			bad++;
		}
		checked++;
		free(buf);
	}
	fclose(tsv);
	printf("# flyway vectors: %d files checked against Flyway's recorded checksums, %d differ\n",
	       checked, bad);
	assert_int_equal(checked, 77);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule),
		cmocka_unit_test(test_vectors),
	};
	return cmocka_run_group_tests_name("flyway", tests, NULL, NULL);
}
