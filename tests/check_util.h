/* Shared scaffolding for the Check unit tests: one suite per file, run
 * with CK_RUN_SUITE(make_suite) as the whole of main(). */
#ifndef CANOPY_CHECK_UTIL_H
#define CANOPY_CHECK_UTIL_H

#include <check.h>
#include <stdlib.h>

static inline int ck_run_suite(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#define CK_RUN_SUITE(make_suite)                                         \
	int main(void)                                                   \
	{                                                                \
		return ck_run_suite(make_suite());                       \
	}

#endif
