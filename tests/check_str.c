#include "check_util.h"
#include "err.h"
#include "str.h"

START_TEST(compares_views)
{
	ck_assert(str_eq(STR("abc"), str_c("abc")));
	ck_assert(!str_eq(STR("abc"), STR("abd")));
	ck_assert(str_case_eq(STR("Host"), STR("hOST")));
	ck_assert(str_starts_with(STR("/api/v1"), STR("/api")));
	ck_assert(str_ends_with(STR("x.canopy.localhost"), STR(".canopy.localhost")));
	ck_assert(!str_ends_with(STR("y"), STR("longer")));
}
END_TEST

START_TEST(cuts_and_trims)
{
	str_t head, rest = str_cut(STR("key=value=x"), '=', &head);
	ck_assert(str_eq(head, STR("key")));
	ck_assert(str_eq(rest, STR("value=x")));
	rest = str_cut(STR("novalue"), '=', &head);
	ck_assert_ptr_null(rest.p);
	ck_assert(str_eq(head, STR("novalue")));
	ck_assert(str_eq(str_trim(STR("  a b \t\n")), STR("a b")));
	ck_assert(str_eq(str_sub(STR("abcdef"), 2, 100), STR("cdef")));
	ck_assert(str_eq(str_sub(STR("abc"), 10, 1), STR("")));
}
END_TEST

START_TEST(parses_bounded_integers)
{
	long v = -1;
	ck_assert_int_eq(str_to_long(STR("42"), 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(str_to_long(STR("-7"), -10, 10, &v), 0);
	ck_assert_int_eq(v, -7);
	ck_assert_int_eq(str_to_long(STR("101"), 0, 100, &v), ERR_INVALID);
	ck_assert_int_eq(str_to_long(STR("4x"), 0, 100, &v), ERR_INVALID);
	ck_assert_int_eq(str_to_long(STR(""), 0, 100, &v), ERR_INVALID);
	ck_assert_int_eq(str_to_long(STR("-"), -5, 100, &v), ERR_INVALID);
	ck_assert_int_eq(str_to_long(STR("99999999999999999999"), 0, 100, &v),
			 ERR_INVALID);
	ck_assert_int_eq(v, -7);
}
END_TEST

START_TEST(validates_utf8)
{
	ck_assert(str_is_valid_utf8(STR("plain")));
	ck_assert(str_is_valid_utf8(STR("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xb3")));
	ck_assert(!str_is_valid_utf8(STR("\xc3")));          /* truncated */
	ck_assert(!str_is_valid_utf8(STR("\xc0\xaf")));      /* overlong */
	ck_assert(!str_is_valid_utf8(STR("\xed\xa0\x80")));  /* surrogate */
	ck_assert(!str_is_valid_utf8(STR("\xff")));
	ck_assert(str_is_ascii_printable(STR("a-b.c")));
	ck_assert(!str_is_ascii_printable(STR("a\x01")));
}
END_TEST

static Suite *str_suite(void)
{
	Suite *s = suite_create("str");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, compares_views);
	tcase_add_test(tc, cuts_and_trims);
	tcase_add_test(tc, parses_bounded_integers);
	tcase_add_test(tc, validates_utf8);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(str_suite)
