/* Backup file names (made and read back), their sizes as shown, the list
 * of a backup folder, and the durations of `migdeck log --since`: pure
 * logic, no database, no pg_dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "backup.h"
#include "config.h"

/* 2024-05-01T12:34:56Z */
#define WHEN ((time_t)1714566896)

static void test_name(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(md_backup_name(out, sizeof(out), "prod", "3", WHEN, 1), 0);
	assert_string_equal(out, "prod_3_20240501T123456Z.dump");
	/* a timestamped version keeps its underscore; the target cannot have one */
	assert_int_equal(md_backup_name(out, sizeof(out), "eu_west", "20241227_120000", WHEN, 1), 0);
	assert_string_equal(out, "eu-west_20241227_120000_20240501T123456Z.dump");
	/* no version: 0; no target: default; odd characters: '-' */
	assert_int_equal(md_backup_name(out, sizeof(out), NULL, "", WHEN, 1), 0);
	assert_string_equal(out, "default_0_20240501T123456Z.dump");
	assert_int_equal(md_backup_name(out, sizeof(out), "a/b c", "1.2/x", WHEN, 1), 0);
	assert_string_equal(out, "a-b-c_1.2-x_20240501T123456Z.dump");
	assert_int_equal(md_backup_name(out, sizeof(out), "..", "1", WHEN, 1), 0);
	assert_string_equal(out, "-._1_20240501T123456Z.dump");
	/* a second backup in the same second */
	assert_int_equal(md_backup_name(out, sizeof(out), "prod", "3", WHEN, 2), 0);
	assert_string_equal(out, "prod_3_20240501T123456Z-2.dump");
	/* too small */
	assert_int_equal(md_backup_name(out, 10, "prod", "3", WHEN, 1), -1);
}

static void test_parse(void **state)
{
	md_backup_info b;
	char out[256];

	(void)state;
	assert_int_equal(md_backup_parse("prod_3_20240501T123456Z.dump", &b), 0);
	assert_string_equal(b.target, "prod");
	assert_string_equal(b.version, "3");
	assert_string_equal(b.taken, "2024-05-01T12:34:56Z");
	assert_true(b.when == WHEN);
	assert_int_equal(md_backup_parse("eu-west_20241227_120000_20240501T123456Z-2.dump", &b), 0);
	assert_string_equal(b.target, "eu-west");
	assert_string_equal(b.version, "20241227_120000");
	assert_true(b.when == WHEN);
	/* what md_backup_name makes, md_backup_parse reads */
	assert_int_equal(md_backup_name(out, sizeof(out), "fleet.member-7", "1.2.3", WHEN, 3), 0);
	assert_int_equal(md_backup_parse(out, &b), 0);
	assert_string_equal(b.target, "fleet.member-7");
	assert_string_equal(b.version, "1.2.3");
	/* not ours */
	assert_int_equal(md_backup_parse("prod_3_20240501T123456Z.sql", &b), -1);
	assert_int_equal(md_backup_parse("prod_20240501T123456Z.dump", &b), -1);
	assert_int_equal(md_backup_parse("prod__20240501T123456Z.dump", &b), -1);
	assert_int_equal(md_backup_parse("_3_20240501T123456Z.dump", &b), -1);
	assert_int_equal(md_backup_parse("prod_3_20240501T123456.dump", &b), -1);
	assert_int_equal(md_backup_parse("prod_3_20241301T123456Z.dump", &b), -1);
	assert_int_equal(md_backup_parse("prod_3_20240501T123456Z-x.dump", &b), -1);
	assert_int_equal(md_backup_parse("prod_3_20240501T123456Z.dump.partial", &b), -1);
	assert_int_equal(md_backup_parse(".dump", &b), -1);
}

static void test_size(void **state)
{
	char s[32];

	(void)state;
	md_backup_size_text(0, s, sizeof(s));
	assert_string_equal(s, "0 B");
	md_backup_size_text(1023, s, sizeof(s));
	assert_string_equal(s, "1023 B");
	md_backup_size_text(12810, s, sizeof(s));
	assert_string_equal(s, "12.5 kB");
	md_backup_size_text(3250585, s, sizeof(s));
	assert_string_equal(s, "3.1 MB");
	md_backup_size_text(5LL * 1024 * 1024 * 1024, s, sizeof(s));
	assert_string_equal(s, "5.0 GB");
}

static void touch(const char *dir, const char *name, size_t bytes)
{
	char path[8192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	while (bytes--)
		fputc('x', f);
	fclose(f);
}

/* dir's files, then dir */
static void remove_all(const char *dir)
{
	char path[8192];
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_int_equal(unlink(path), 0);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
}

static void test_list(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096], sub[4200];
	md_config cfg;
	md_backup_info *list = NULL;
	size_t n = 99;
	md_error err;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/md_backup_list_XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	memset(&cfg, 0, sizeof(cfg));
	/* a folder not made yet: no backups */
	snprintf(sub, sizeof(sub), "%s/none", dir);
	cfg.backup_dir = sub;
	assert_int_equal(md_backup_list(&cfg, NULL, &list, &n, &err), MD_OK);
	assert_int_equal(n, 0);
	free(list);
	cfg.backup_dir = dir;
	touch(dir, "prod_1_20240501T120000Z.dump", 10);
	touch(dir, "prod_2_20240502T120000Z.dump", 20);
	touch(dir, "stage_2_20240503T120000Z.dump", 30);
	touch(dir, "prod_2_20240502T120000Z-2.dump", 40);
	touch(dir, "prod_3_20240504T120000Z.dump.partial", 1);
	touch(dir, "notes.txt", 1);
	assert_int_equal(md_backup_list(&cfg, NULL, &list, &n, &err), MD_OK);
	assert_int_equal(n, 4);
	assert_string_equal(list[0].file, "stage_2_20240503T120000Z.dump");
	assert_string_equal(list[1].file, "prod_2_20240502T120000Z.dump");
	assert_string_equal(list[2].file, "prod_2_20240502T120000Z-2.dump");
	assert_string_equal(list[3].file, "prod_1_20240501T120000Z.dump");
	assert_int_equal(list[0].bytes, 30);
	free(list);
	/* one target's */
	assert_int_equal(md_backup_list(&cfg, "prod", &list, &n, &err), MD_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[2].file, "prod_1_20240501T120000Z.dump");
	free(list);
	assert_int_equal(md_backup_list(&cfg, "other", &list, &n, &err), MD_OK);
	assert_int_equal(n, 0);
	free(list);
	remove_all(dir);
}

static void test_duration(void **state)
{
	(void)state;
	assert_true(md_audit_duration("2h") == 7200);
	assert_true(md_audit_duration("3d") == 3 * 86400);
	assert_true(md_audit_duration("30min") == 1800);
	assert_true(md_audit_duration("30m") == 1800);
	assert_true(md_audit_duration("1w") == 604800);
	assert_true(md_audit_duration("1.5h") == 5400);
	assert_true(md_audit_duration(" 2 hours ") == 7200);
	assert_true(md_audit_duration("45s") == 45);
	assert_true(md_audit_duration("2H") == 7200);
	/* not durations: dates, bare numbers, other units */
	assert_true(md_audit_duration("2024-05-01") < 0);
	assert_true(md_audit_duration("2024") < 0);
	assert_true(md_audit_duration("3x") < 0);
	assert_true(md_audit_duration("h") < 0);
	assert_true(md_audit_duration("1.h") < 0);
	assert_true(md_audit_duration("2h ago") < 0);
	assert_true(md_audit_duration("") < 0);
	assert_true(md_audit_duration(NULL) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),     cmocka_unit_test(test_parse),
		cmocka_unit_test(test_size),     cmocka_unit_test(test_list),
		cmocka_unit_test(test_duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
