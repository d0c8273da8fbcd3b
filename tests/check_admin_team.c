/* lib/admin_team without a database: the credential kinds offered, the
 * audit diff as page rows, and a route table the router accepts with the
 * invitation routes marked public.  The screens themselves are driven
 * through nginx by tests/integration/42-admin-team.sh. */
#include <string.h>

#include "admin_team.h"
#include "check_util.h"

START_TEST(kinds)
{
	ck_assert(admin_team_kind_ok("slackApi"));
	ck_assert(admin_team_kind_ok("httpHeaderAuth"));
	ck_assert(admin_team_kind_ok("smtp"));
	ck_assert(!admin_team_kind_ok("slack"));
	ck_assert(!admin_team_kind_ok("SLACKAPI"));
	ck_assert(!admin_team_kind_ok(""));
	ck_assert(!admin_team_kind_ok(NULL));
}
END_TEST

START_TEST(diff_rows)
{
	json_t *d = json_loads("{\"/role\": {\"old\": \"editor\", \"new\": "
			       "\"owner\"}, \"/name\": {\"new\": \"Ann\"},"
			       " \"/tags\": {\"old\": [1, \"x\"]}}",
			       JSON_PRESERVE_ORDER, NULL);
	ck_assert_ptr_nonnull(d);
	json_t *rows = admin_team_diff_rows_new(d);
	ck_assert_uint_eq(json_array_size(rows), 3);
	json_t *r0 = json_array_get(rows, 0);
	ck_assert_str_eq(json_string_value(json_object_get(r0, "path")), "/role");
	ck_assert_str_eq(json_string_value(json_object_get(r0, "old")),
			 "\"editor\"");
	ck_assert_str_eq(json_string_value(json_object_get(r0, "new")),
			 "\"owner\"");
	json_t *r1 = json_array_get(rows, 1);
	ck_assert_ptr_null(json_object_get(r1, "old"));
	ck_assert_str_eq(json_string_value(json_object_get(r1, "new")),
			 "\"Ann\"");
	json_t *r2 = json_array_get(rows, 2);
	ck_assert_str_eq(json_string_value(json_object_get(r2, "old")),
			 "[1,\"x\"]");
	ck_assert_ptr_null(json_object_get(r2, "new"));
	json_decref(rows);
	json_decref(d);

	rows = admin_team_diff_rows_new(NULL);
	ck_assert_uint_eq(json_array_size(rows), 0);
	json_decref(rows);

	json_t *s = json_integer(5);
	rows = admin_team_diff_rows_new(s);
	ck_assert_uint_eq(json_array_size(rows), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(rows, 0), "new")),
			 "5");
	json_decref(rows);
	json_decref(s);
}
END_TEST

START_TEST(route_table)
{
	size_t n = 0;
	const router_route_t *r = admin_team_routes(&n);
	ck_assert_uint_gt(n, 10);
	ck_assert_int_eq(router_check(r, n), 0);
	size_t pub = 0;
	for (size_t i = 0; i < n; i++) {
		bool is_pub = strncmp(r[i].name, "public.", 7) == 0;
		/* Only the invitation link is answered without a session. */
		ck_assert(is_pub == (strncmp(r[i].pattern, "/admin/invite/",
					     14) == 0));
		pub += is_pub;
	}
	ck_assert_uint_eq(pub, 2);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("admin_team");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, kinds);
	tcase_add_test(tc, diff_rows);
	tcase_add_test(tc, route_table);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
