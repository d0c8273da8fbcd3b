#include "check_util.h"
#include "err.h"

START_TEST(statuses_come_from_one_table)
{
	ck_assert_int_eq(err_http_status(ERR_OK), 200);
	ck_assert_int_eq(err_http_status(ERR_NOT_FOUND), 404);
	ck_assert_int_eq(err_http_status(ERR_TOO_LARGE), 413);
	ck_assert_int_eq(err_http_status(ERR_RATE_LIMITED), 429);
	ck_assert_int_eq(err_http_status(ERR_METHOD), 405);
	ck_assert_int_eq(err_http_status(-999), 500);
	ck_assert_str_eq(err_code_name(ERR_NOT_FOUND), "not_found");
	ck_assert_str_eq(err_code_name(-999), "internal");
}
END_TEST

static Suite *err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, statuses_come_from_one_table);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(err_suite)
