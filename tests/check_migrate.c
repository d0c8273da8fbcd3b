#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_db_util.h"
#include "check_util.h"
#include "log.h"
#include "migrate.h"

static char dir[64];
static char schema[64];
static db_t *db;

static void write_migration(const char *name, const char *sql)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(sql, f);
	fclose(f);
}

static void setup(void)
{
	log_init("check_migrate", LOG_ERROR);
	snprintf(dir, sizeof dir, "/tmp/canopy-migrate-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(schema, sizeof schema, "mtest_%d", (int)getpid());
	db_t *admin = db_open(test_database_url());
	ck_assert(db_ok(admin));
	char sql[256];
	snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s",
		 schema, schema);
	ck_assert_int_eq(db_exec_script(admin, sql), 0);
	db_close(admin);
	char *url = test_url_with_schema(schema);
	db = db_open(url);
	free(url);
	ck_assert(db_ok(db));
}

static void teardown(void)
{
	char sql[256];
	snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
	ck_assert_int_eq(db_exec_script(db, sql), 0);
	db_close(db);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static long long count(const char *table)
{
	arena_t *a = arena_new(0);
	PGresult *r;
	char *sql = arena_printf(a, "SELECT count(*) FROM %s", table);
	ck_assert_int_eq(db_query(db, a, sql, 0, NULL, &r), 0);
	long long n = db_value_ll(r, 0, 0);
	arena_free(a);
	return n;
}

START_TEST(applies_in_order_once)
{
	write_migration("0002_rows.sql", "INSERT INTO t VALUES (1), (2);");
	write_migration("0001_table.sql", "CREATE TABLE t (x int);");
	int applied = -1;
	ck_assert_int_eq(migrate_pending(db, dir), 2);
	ck_assert_int_eq(migrate_apply(db, dir, &applied), 0);
	ck_assert_int_eq(applied, 2);
	ck_assert_int_eq(count("t"), 2);
	ck_assert_int_eq(migrate_apply(db, dir, &applied), 0);
	ck_assert_int_eq(applied, 0);
	ck_assert_int_eq(count("t"), 2);
	ck_assert_int_eq(migrate_pending(db, dir), 0);
}
END_TEST

START_TEST(failed_file_leaves_nothing_behind)
{
	write_migration("0001_table.sql", "CREATE TABLE t (x int);");
	write_migration("0002_broken.sql",
			"INSERT INTO t VALUES (1); SELECT no_such_function();");
	int applied = -1;
	ck_assert_int_eq(migrate_apply(db, dir, &applied), ERR_DB);
	ck_assert_int_eq(applied, 1);
	ck_assert_int_eq(count("t"), 0);
	ck_assert_int_eq(count("schema_migrations"), 1);
	/* fixed file: the next run applies it */
	write_migration("0002_broken.sql", "INSERT INTO t VALUES (1);");
	ck_assert_int_eq(migrate_apply(db, dir, &applied), 0);
	ck_assert_int_eq(applied, 1);
	ck_assert_int_eq(count("t"), 1);
}
END_TEST

START_TEST(bad_names_and_unknown_versions_are_refused)
{
	write_migration("0001_table.sql", "CREATE TABLE t (x int);");
	write_migration("1_bad.sql", "SELECT 1;");
	ck_assert_int_eq(migrate_apply(db, dir, NULL), ERR_INVALID);
	char path[256];
	snprintf(path, sizeof path, "%s/1_bad.sql", dir);
	unlink(path);
	ck_assert_int_eq(migrate_apply(db, dir, NULL), 0);
	/* the database knows a migration this build does not have */
	snprintf(path, sizeof path, "%s/0001_table.sql", dir);
	unlink(path);
	ck_assert_int_eq(migrate_apply(db, dir, NULL), ERR_INVALID);
}
END_TEST

static Suite *migrate_suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *tc = tcase_create("postgres");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, applies_in_order_once);
	tcase_add_test(tc, failed_file_leaves_nothing_behind);
	tcase_add_test(tc, bad_names_and_unknown_versions_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_DB_SUITE(migrate_suite)
