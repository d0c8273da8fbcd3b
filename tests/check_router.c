#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "log.h"
#include "router.h"

static arena_t *a;

static void setup(void)
{
	a = arena_new(0);
}

static void teardown(void)
{
	arena_free(a);
}

static int h_any(http_request_t *req, http_response_t *resp, void *app)
{
	return 0;
}

static const router_route_t routes[] = {
	{"GET", "/", ROUTER_SITE, h_any, "site.home"},
	{"POST", "/contact", ROUTER_SITE, h_any, "site.contact"},
	{"GET", "/", ROUTER_PLATFORM, h_any, "platform.home"},
	{"GET", "/api/v1/workflows", ROUTER_PLATFORM, h_any, "wf.list"},
	{"POST", "/api/v1/workflows", ROUTER_PLATFORM, h_any, "wf.create"},
	{"GET", "/api/v1/workflows/new", ROUTER_PLATFORM, h_any, "wf.new"},
	{"GET", "/api/v1/workflows/{id}", ROUTER_PLATFORM, h_any, "wf.show"},
	{"DELETE", "/api/v1/workflows/{id}", ROUTER_PLATFORM, h_any, "wf.delete"},
	{"GET", "/api/v1/workflows/{id}/versions/{version}", ROUTER_PLATFORM,
	 h_any, "wf.version"},
	{"GET", "/a/{x}/b", ROUTER_ANY, h_any, "ab"},
	{"GET", "/a/{y}/c", ROUTER_ANY, h_any, "ac"},
	{"GET", "/healthz", ROUTER_ANY, h_any, "health"},
	{"HEAD", "/ping", ROUTER_ANY, h_any, "ping.head"},
	{"POST", "/ping", ROUTER_ANY, h_any, "ping.post"},
	{"GET", "/admin/", ROUTER_PLATFORM, h_any, "admin"},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static http_request_t req;

/* Builds req for method + path on a tenant host (slug non-empty) or the
 * platform host. */
static void mk(const char *method, const char *path, const char *slug)
{
	char m[64], u[256], s[64];
	snprintf(m, sizeof m, "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof u, "REQUEST_URI=%s", path);
	snprintf(s, sizeof s, "CANOPY_SLUG=%s", slug ? slug : "");
	char *env[] = {arena_strdup(a, m), arena_strdup(a, u), arena_strdup(a, s),
		       arena_strdup(a, "HTTP_HOST=canopy.localhost"), NULL};
	char **e = arena_memdup(a, env, sizeof env);
	ck_assert_int_eq(http_request_init(&req, a, e), 0);
}

static const char *route_for(const char *method, const char *path,
			     const char *slug, int *rc)
{
	mk(method, path, slug);
	const router_route_t *r = (const router_route_t *)1;
	*rc = router_match(routes, NROUTES, &req, &r);
	if (*rc) {
		ck_assert_ptr_null(r);
		return NULL;
	}
	ck_assert_str_eq(req.route_name, r->name);
	return r->name;
}

START_TEST(table_is_valid)
{
	ck_assert_int_eq(router_check(routes, NROUTES), 0);
}
END_TEST

START_TEST(matches_literals_params_and_host_kinds)
{
	int rc;
	ck_assert_str_eq(route_for("GET", "/", "demo", &rc), "site.home");
	ck_assert_str_eq(route_for("GET", "/", NULL, &rc), "platform.home");
	ck_assert_str_eq(route_for("POST", "/api/v1/workflows", NULL, &rc),
			 "wf.create");
	ck_assert_str_eq(route_for("GET", "/api/v1/workflows/new", NULL, &rc),
			 "wf.new");
	ck_assert_uint_eq(req.npath_params, 0);
	ck_assert_str_eq(route_for("GET", "/api/v1/workflows/42", NULL, &rc),
			 "wf.show");
	ck_assert(str_eq(router_param(&req, "id"), STR("42")));
	long long id = 0;
	ck_assert_int_eq(router_param_id(&req, "id", &id), 0);
	ck_assert_int_eq(id, 42);
	ck_assert_str_eq(route_for("DELETE", "/api/v1/workflows/7", NULL, &rc),
			 "wf.delete");
	ck_assert_str_eq(route_for("GET", "/api/v1/workflows/9/versions/3", NULL,
				   &rc),
			 "wf.version");
	ck_assert(str_eq(router_param(&req, "id"), STR("9")));
	ck_assert(str_eq(router_param(&req, "version"), STR("3")));
	ck_assert(!http_found(router_param(&req, "nope")));
	/* Decoded path: a param may hold what was percent-encoded. */
	ck_assert_str_eq(route_for("GET", "/a/x%20y/b", "demo", &rc), "ab");
	ck_assert(str_eq(router_param(&req, "x"), STR("x y")));
	ck_assert_str_eq(route_for("GET", "/admin/", NULL, &rc), "admin");
	ck_assert_str_eq(route_for("GET", "/healthz", "demo", &rc), "health");
	ck_assert_str_eq(route_for("GET", "/healthz", NULL, &rc), "health");
}
END_TEST

START_TEST(params_of_a_failed_candidate_do_not_leak)
{
	int rc;
	ck_assert_str_eq(route_for("GET", "/a/1/c", NULL, &rc), "ac");
	ck_assert_uint_eq(req.npath_params, 1);
	ck_assert(!http_found(router_param(&req, "x")));
	ck_assert(str_eq(router_param(&req, "y"), STR("1")));
}
END_TEST

START_TEST(not_found)
{
	const char *paths[] = {"/nope", "/api/v1/workflows/", "/api/v1/workflow",
			       "/api/v1/workflows/42/versions",
			       "/api/v1/workflows/42/versions/3/x", "/admin",
			       "/a//b", "/api/v1/workflows/4/2"};
	int rc;
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		ck_assert_ptr_null(route_for("GET", paths[i], NULL, &rc));
		ck_assert_msg(rc == ERR_NOT_FOUND, "%s", paths[i]);
	}
	/* Platform-only paths do not exist on a tenant host, and back. */
	ck_assert_ptr_null(route_for("GET", "/api/v1/workflows", "demo", &rc));
	ck_assert_int_eq(rc, ERR_NOT_FOUND);
	ck_assert_ptr_null(route_for("POST", "/contact", NULL, &rc));
	ck_assert_int_eq(rc, ERR_NOT_FOUND);
}
END_TEST

START_TEST(method_mismatch_lists_allowed)
{
	int rc;
	ck_assert_ptr_null(route_for("PUT", "/api/v1/workflows/42", NULL, &rc));
	ck_assert_int_eq(rc, ERR_METHOD);
	ck_assert(str_eq(req.allow, STR("GET, HEAD, DELETE")));
	ck_assert_uint_eq(req.npath_params, 0);
	ck_assert_ptr_null(route_for("DELETE", "/api/v1/workflows", NULL, &rc));
	ck_assert_int_eq(rc, ERR_METHOD);
	ck_assert(str_eq(req.allow, STR("GET, HEAD, POST")));
	ck_assert_ptr_null(route_for("PROPFIND", "/healthz", "demo", &rc));
	ck_assert_int_eq(rc, ERR_METHOD);
	ck_assert(str_eq(req.allow, STR("GET, HEAD")));
	ck_assert_ptr_null(route_for("GET", "/ping", NULL, &rc));
	ck_assert_int_eq(rc, ERR_METHOD);
	ck_assert(str_eq(req.allow, STR("HEAD, POST")));
	/* "/" on a tenant: only GET (and HEAD). */
	ck_assert_ptr_null(route_for("POST", "/", "demo", &rc));
	ck_assert_int_eq(rc, ERR_METHOD);
	ck_assert(str_eq(req.allow, STR("GET, HEAD")));
}
END_TEST

START_TEST(head_is_answered_by_get)
{
	int rc;
	ck_assert_str_eq(route_for("HEAD", "/api/v1/workflows/5", NULL, &rc),
			 "wf.show");
	ck_assert(str_eq(router_param(&req, "id"), STR("5")));
	ck_assert_str_eq(route_for("HEAD", "/ping", NULL, &rc), "ping.head");
	ck_assert_ptr_null(route_for("HEAD", "/contact", "demo", &rc));
	ck_assert_int_eq(rc, ERR_METHOD);
	ck_assert(str_eq(req.allow, STR("POST")));
}
END_TEST

START_TEST(typed_id_params_are_range_checked)
{
	struct {
		const char *seg;
		int rc;
		long long want;
	} cases[] = {
		{"1", 0, 1},
		{"9223372036854775807", 0, 9223372036854775807LL},
		{"9223372036854775808", ERR_NOT_FOUND, 0},
		{"99999999999999999999", ERR_NOT_FOUND, 0},
		{"18446744073709551617", ERR_NOT_FOUND, 0},
		{"0", ERR_NOT_FOUND, 0},
		{"007", ERR_NOT_FOUND, 0},
		{"-1", ERR_NOT_FOUND, 0},
		{"+1", ERR_NOT_FOUND, 0},
		{"1a", ERR_NOT_FOUND, 0},
		{"%201", ERR_NOT_FOUND, 0},
		{"1.0", ERR_NOT_FOUND, 0},
	};
	int rc;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[128];
		snprintf(path, sizeof path, "/api/v1/workflows/%s", cases[i].seg);
		ck_assert_str_eq(route_for("GET", path, NULL, &rc), "wf.show");
		long long id = -5;
		ck_assert_msg(router_param_id(&req, "id", &id) == cases[i].rc, "%s",
			      cases[i].seg);
		ck_assert_int_eq(id, cases[i].rc ? -5 : cases[i].want);
	}
	long long id;
	ck_assert_int_eq(router_param_id(&req, "workflow", &id), ERR_INTERNAL);
}
END_TEST

START_TEST(bad_tables_are_refused)
{
	char nine[200] = "";
	for (int i = 0; i < 9; i++) {
		size_t l = strlen(nine);
		snprintf(nine + l, sizeof nine - l, "/{p%d}", i);
	}
	const router_route_t bad[][1] = {
		{{"GET", "api", ROUTER_ANY, h_any, "x"}},
		{{"GET", "", ROUTER_ANY, h_any, "x"}},
		{{"GET", "/a//b", ROUTER_ANY, h_any, "x"}},
		{{"GET", "/{id", ROUTER_ANY, h_any, "x"}},
		{{"GET", "/{}", ROUTER_ANY, h_any, "x"}},
		{{"GET", "/{Id}", ROUTER_ANY, h_any, "x"}},
		{{"GET", "/{1d}", ROUTER_ANY, h_any, "x"}},
		{{"GET", "/{id}x", ROUTER_ANY, h_any, "x"}},
		{{"GET", "/x{id}", ROUTER_ANY, h_any, "x"}},
		{{"GET", "/{id}/{id}", ROUTER_ANY, h_any, "x"}},
		{{"GET", "/a b", ROUTER_ANY, h_any, "x"}},
		{{"GET", "/a?b", ROUTER_ANY, h_any, "x"}},
		{{"GET", nine, ROUTER_ANY, h_any, "x"}},
		{{"get", "/", ROUTER_ANY, h_any, "x"}},
		{{"", "/", ROUTER_ANY, h_any, "x"}},
		{{"GET", "/", 0, h_any, "x"}},
		{{"GET", "/", 4, h_any, "x"}},
		{{"GET", "/", ROUTER_ANY, NULL, "x"}},
		{{"GET", "/", ROUTER_ANY, h_any, NULL}},
		{{NULL, "/", ROUTER_ANY, h_any, "x"}},
	};
	int devnull = open("/dev/null", O_WRONLY);
	log_set_fd(devnull); /* the refusals log; keep test output clean */
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(router_check(bad[i], 1) == ERR_INVALID, "case %zu: %s",
			      i, bad[i][0].pattern ? bad[i][0].pattern : "(null)");
	const router_route_t dup[] = {
		{"GET", "/x", ROUTER_SITE, h_any, "a"},
		{"GET", "/x", ROUTER_PLATFORM, h_any, "b"}, /* fine: other hosts */
		{"GET", "/x", ROUTER_ANY, h_any, "c"},      /* overlaps both */
	};
	ck_assert_int_eq(router_check(dup, 2), 0);
	ck_assert_int_eq(router_check(dup, 3), ERR_INVALID);
	const router_route_t ok[] = {
		{"GET", "/x/{a_b}/{c9}/", ROUTER_ANY, h_any, "ok"},
		{"PATCH", "/{p0}/{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}", ROUTER_ANY,
		 h_any, "eight"},
	};
	ck_assert_int_eq(router_check(ok, 2), 0);
	log_set_fd(-1);
	close(devnull);
}
END_TEST

START_TEST(unchecked_bad_pattern_never_matches)
{
	const router_route_t bad[] = {
		{"GET", "/{id", ROUTER_ANY, h_any, "x"},
		{"GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", ROUTER_ANY, h_any, "y"},
	};
	const router_route_t *r;
	mk("GET", "/5", NULL);
	ck_assert_int_eq(router_match(bad, 1, &req, &r), ERR_NOT_FOUND);
	mk("GET", "/1/2/3/4/5/6/7/8/9", NULL);
	ck_assert_int_eq(router_match(bad, 2, &req, &r), ERR_NOT_FOUND);
}
END_TEST

static Suite *router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, table_is_valid);
	tcase_add_test(tc, matches_literals_params_and_host_kinds);
	tcase_add_test(tc, params_of_a_failed_candidate_do_not_leak);
	tcase_add_test(tc, not_found);
	tcase_add_test(tc, method_mismatch_lists_allowed);
	tcase_add_test(tc, head_is_answered_by_get);
	tcase_add_test(tc, typed_id_params_are_range_checked);
	tcase_add_test(tc, bad_tables_are_refused);
	tcase_add_test(tc, unchecked_bad_pattern_never_matches);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(router_suite)
