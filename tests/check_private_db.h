/* A private copy of some migrations for a DB-backed test:
 *
 *   db = private_db_open("wfstest_123", (const char *[]){"0001_core.sql",
 *                        "0003_workflows.sql", NULL});
 *   ...
 *   private_db_close(db, "wfstest_123");
 *
 * The schema is made afresh (dropped first if a crashed run left it) and
 * the connection's search_path is that schema alone, so the test's tables
 * -- tenants included -- and the locks taken on them never touch the
 * shared public schema: no interference with the running stack, and no
 * deadlock with another test's DELETE FROM tenants (whose cascade would
 * otherwise reach into any private table referencing public.tenants). */
#ifndef CANOPY_CHECK_PRIVATE_DB_H
#define CANOPY_CHECK_PRIVATE_DB_H

#include <stdio.h>
#include <stdlib.h>

#include "check_db_util.h"
#include "db.h"

#define PRIVATE_DB_SQL_MAX (1 << 20)

static inline void private_db_run(db_t *db, const char *sql)
{
	int rc = db_exec_script(db, sql);
	ck_assert_msg(rc == 0, "%.200s: %s", sql, db_error(db));
}

/* Runs sql/<migration> on db (in the private schema). */
static inline void private_db_apply(db_t *db, const char *migration)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/sql/%s", TOP_SRCDIR, migration);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char *text = calloc(1, PRIVATE_DB_SQL_MAX);
	size_t n = fread(text, 1, PRIVATE_DB_SQL_MAX - 1, f);
	fclose(f);
	ck_assert_msg(n > 0 && n < PRIVATE_DB_SQL_MAX - 1, "%s", path);
	private_db_run(db, text);
	free(text);
}

static inline db_t *private_db_open(const char *schema,
				    const char *const *migrations)
{
	char *url = test_url_with_schema(schema);
	db_t *db = db_open(url);
	free(url);
	ck_assert(db && db_ok(db));
	char sql[256];
	snprintf(sql, sizeof sql,
		 "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
		 schema);
	private_db_run(db, sql);
	for (int i = 0; migrations[i]; i++)
		private_db_apply(db, migrations[i]);
	return db;
}

static inline void private_db_close(db_t *db, const char *schema)
{
	char sql[128];
	db_rollback(db);
	snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
	private_db_run(db, sql);
	db_close(db);
}

#endif
