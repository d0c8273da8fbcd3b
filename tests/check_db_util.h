/* For Check tests that need PostgreSQL: DATABASE_URL names a database
 * with the migrations applied (./dev test provides one).  Without it the
 * test program exits 77, which automake reports as SKIP. */
#ifndef CANOPY_CHECK_DB_UTIL_H
#define CANOPY_CHECK_DB_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"

static const char *test_database_url(void)
{
	const char *url = getenv("DATABASE_URL");
	if (!url || !*url) {
		printf("SKIP: DATABASE_URL is not set\n");
		exit(77);
	}
	return url;
}

/* DATABASE_URL with search_path set to schema, in either conninfo form. */
static char *test_url_with_schema(const char *schema)
{
	const char *url = test_database_url();
	size_t n = strlen(url) + strlen(schema) + 64;
	char *out = malloc(n);
	if (strstr(url, "://"))
		snprintf(out, n, "%s%coptions=-csearch_path%%3D%s", url,
			 strchr(url, '?') ? '&' : '?', schema);
	else
		snprintf(out, n, "%s options='-csearch_path=%s'", url, schema);
	return out;
}

/* main() for a suite that needs the database: skips without one. */
#define CK_RUN_DB_SUITE(make_suite)                                      \
	int main(void)                                                   \
	{                                                                \
		test_database_url();                                     \
		return ck_run_suite(make_suite());                       \
	}

/* For a suite with cases that run without a database too: a test case
 * "database" with the fixture and a timeout in seconds, added to s; NULL
 * (and a line saying so) without DATABASE_URL, where those cases are
 * skipped. */
static inline TCase *db_tcase(Suite *s, void (*setup)(void),
			      void (*teardown)(void), int timeout)
{
	const char *url = getenv("DATABASE_URL");
	if (!url || !*url) {
		printf("database cases skipped: DATABASE_URL is not set\n");
		return NULL;
	}
	TCase *td = tcase_create("database");
	tcase_set_timeout(td, timeout);
	tcase_add_checked_fixture(td, setup, teardown);
	suite_add_tcase(s, td);
	return td;
}

#endif
