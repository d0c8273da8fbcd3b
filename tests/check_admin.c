/* lib/admin without a database: slug rules and reserved names, which
 * requests are the admin's, and the answers that need no rows (the
 * sign-in form, the redirect to it, refused cross-site posts, a database
 * that is down).  The signed-in screens are driven through nginx by
 * tests/integration/40-admin.sh. */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "admin_screen.h"
#include "check_util.h"
#include "log.h"

static config_t cfg;
static mustache_set_t *templates;
static assets_t *assets;
static admin_t *admin;
static arena_t *a;
static db_t *down; /* a database that is never there */

static void setup(void)
{
	log_init("check_admin", LOG_ERROR);
	setenv("CANOPY_DOMAIN", "canopy.test", 1);
	setenv("CANOPY_HTTPS_PORT", "8443", 1);
	char err[CONFIG_ERR_MAX];
	ck_assert_int_eq(config_load(&cfg, err, sizeof err), 0);
	templates = mustache_set_new();
	mustache_error_t terr;
	ck_assert_msg(mustache_set_load_dir(templates, TOP_SRCDIR "/templates",
					    &terr) == 0,
		      "%s:%d:%d %s", terr.name, terr.line, terr.column,
		      terr.message);
	assets = assets_load(TOP_SRCDIR "/static");
	ck_assert_ptr_nonnull(assets);
	admin = admin_new(&cfg, templates, assets, err, sizeof err);
	ck_assert_msg(admin != NULL, "%s", err);
	a = arena_new(0);
	down = db_open("postgresql:///none?host=/nonexistent-canopy-dir"
		       "&connect_timeout=1");
	ck_assert_ptr_nonnull(down);
}

static void teardown(void)
{
	db_close(down);
	arena_free(a);
	admin_free(admin);
	assets_free(assets);
	mustache_set_free(templates);
}

static bool slug_ok(const char *s)
{
	return admin_slug_check(str_c(s), NULL) == 0;
}

START_TEST(slug_rules)
{
	ck_assert(slug_ok("acme"));
	ck_assert(slug_ok("a"));
	ck_assert(slug_ok("9"));
	ck_assert(slug_ok("joes-bakery-2"));
	char max[64];
	memset(max, 'a', 63);
	max[63] = '\0';
	ck_assert(slug_ok(max));

	const char *bad[] = {"",      "-acme",  "acme-", "Acme",  "ac_me",
			     "ac me", "ac.me",  "xn--p1ai", "a--b", "é",
			     " acme", "acme/x", NULL};
	for (int i = 0; bad[i]; i++)
		ck_assert_msg(!slug_ok(bad[i]), "accepted '%s'", bad[i]);
	char over[65];
	memset(over, 'a', 64);
	over[64] = '\0';
	ck_assert(!slug_ok(over));

	const char *why = NULL;
	ck_assert_int_eq(admin_slug_check(STR("Acme"), &why), ERR_INVALID);
	ck_assert_ptr_nonnull(why);
	ck_assert(strstr(why, "lower-case") != NULL);
}
END_TEST

START_TEST(slug_reserved)
{
	const char *names[] = {"www", "admin", "api", "assets", "mail",
			       "static", "new", NULL};
	for (int i = 0; names[i]; i++) {
		const char *why = NULL;
		ck_assert_msg(admin_slug_reserved(str_c(names[i])), "%s",
			      names[i]);
		ck_assert_int_eq(admin_slug_check(str_c(names[i]), &why),
				 ERR_INVALID);
		ck_assert(strstr(why, "reserved") != NULL);
	}
	ck_assert(!admin_slug_reserved(STR("wwww")));
	ck_assert(!admin_slug_reserved(STR("ww")));
	ck_assert(!admin_slug_reserved(STR("apis")));
}
END_TEST

typedef struct {
	const char *data;
	size_t len, off;
} reader_t;

static long read_cb(void *ctx, char *buf, size_t n)
{
	reader_t *r = ctx;
	size_t left = r->len - r->off;
	if (n > left)
		n = left;
	memcpy(buf, r->data + r->off, n);
	r->off += n;
	return (long)n;
}

static char *heap(const char *s)
{
	char *p = xstrdup(s);
	arena_on_reset(a, free, p);
	return p;
}

static http_request_t *request(const char *method, const char *uri,
			       const char *host, const char *extra)
{
	char **env = arena_calloc(a, 12, sizeof *env);
	int n = 0;
	env[n++] = heap(arena_printf(a, "REQUEST_METHOD=%s", method));
	env[n++] = heap(arena_printf(a, "REQUEST_URI=%s", uri));
	env[n++] = heap(arena_printf(a, "HTTP_HOST=%s", host));
	env[n++] = heap("REMOTE_ADDR=127.0.0.1");
	if (strchr(host, '.') && strncmp(host, "canopy.", 7) != 0)
		env[n++] = heap("CANOPY_SLUG=acme");
	if (extra)
		env[n++] = heap(extra);
	http_request_t *req = arena_calloc(a, 1, sizeof *req);
	ck_assert_int_eq(http_request_init(req, a, env), 0);
	return req;
}

START_TEST(owns)
{
	ck_assert(admin_owns(request("GET", "/admin/", "canopy.test", NULL)));
	ck_assert(admin_owns(request("GET", "/admin", "canopy.test", NULL)));
	ck_assert(admin_owns(request("GET", "/admin/x/y", "canopy.test", NULL)));
	ck_assert(!admin_owns(request("GET", "/administrator", "canopy.test", NULL)));
	ck_assert(!admin_owns(request("GET", "/", "canopy.test", NULL)));
	/* a tenant's own /admin/ is its business, not ours */
	ck_assert(!admin_owns(request("GET", "/admin/", "acme.canopy.test", NULL)));
}
END_TEST

static http_response_t *serve(http_request_t *req, db_t *db,
			      const char *body)
{
	http_response_t *resp = arena_calloc(a, 1, sizeof *resp);
	http_response_init(resp, a, 1 << 20);
	reader_t r = {body ? body : "", body ? strlen(body) : 0, 0};
	ck_assert_int_eq(admin_serve(admin, db, req, resp, read_cb, &r), 0);
	ck_assert_msg(str_eq_c(http_response_header(resp, STR("Cache-Control")),
			       "no-store"),
		      "no Cache-Control: no-store");
	return resp;
}

START_TEST(times_shown_in_utc)
{
	arena_t *ar = arena_new(0);
	admin_ctx_t c = {.arena = ar};
	ck_assert_ptr_null(admin_time(&c, NULL));
	ck_assert_str_eq(admin_time(&c, "2026-11-24T17:10:54.144157+00:00"),
			 "2026-11-24 17:10");
	ck_assert_str_eq(admin_time(&c, "2026-11-24T17:10:54Z"),
			 "2026-11-24 17:10");
	/* another zone's offset is taken back to UTC, across midnight */
	ck_assert_str_eq(admin_time(&c, "2026-11-25T01:30:00+02:00"),
			 "2026-11-24 23:30");
	ck_assert_str_eq(admin_time(&c, "2026-11-24T23:45:00.5-01:00"),
			 "2026-11-25 00:45");
	/* anything else is shown as it came */
	ck_assert_str_eq(admin_time(&c, "yesterday"), "yesterday");
	ck_assert_str_eq(admin_time(&c, "2026-11-24T17:10:54+0x:00"),
			 "2026-11-24T17:10:54+0x:00");
	arena_free(ar);
}
END_TEST

START_TEST(login_form_renders)
{
	http_response_t *resp =
		serve(request("GET", "/admin/login", "canopy.test", NULL), down,
		      NULL);
	ck_assert_int_eq(resp->status, 200);
	const char *html = buf_cstr(&resp->body);
	ck_assert(strstr(html, "<form method=\"post\" action=\"/admin/login\"") != NULL);
	ck_assert(strstr(html, "<label for=\"email\">") != NULL);
	ck_assert(strstr(html, "id=\"email\"") != NULL);
	ck_assert(strstr(html, "autocomplete=\"current-password\"") != NULL);
	ck_assert(strstr(html, "/assets/admin.") != NULL);
	/* not signed in: no nav, no sign-out form */
	ck_assert(strstr(html, "/admin/logout") == NULL);
	ck_assert(strstr(html, "<script>") == NULL);
}
END_TEST

START_TEST(unauthenticated_redirects)
{
	const char *paths[] = {"/admin/", "/admin/tenants/acme",
			       "/admin/tenants/new", "/admin/password",
			       "/admin/no-such-page", NULL};
	for (int i = 0; paths[i]; i++) {
		http_response_t *resp = serve(
			request("GET", paths[i], "canopy.test", NULL), down, NULL);
		ck_assert_int_eq(resp->status, 303);
		ck_assert(str_eq_c(http_response_header(resp, STR("Location")),
				   "/admin/login"));
	}
	http_response_t *resp =
		serve(request("GET", "/admin", "canopy.test", NULL), down, NULL);
	ck_assert_int_eq(resp->status, 303);
	ck_assert(str_eq_c(http_response_header(resp, STR("Location")), "/admin/"));
	/* a POST without a session goes to the form too, nothing is done */
	resp = serve(request("POST", "/admin/tenants/acme/suspend", "canopy.test",
			     "CONTENT_TYPE=application/x-www-form-urlencoded"),
		     down, "");
	ck_assert_int_eq(resp->status, 303);
}
END_TEST

/* admin_routes_new gives the table admin_new serves: every route but the
 * few public ones sends a person without a session to the sign-in form,
 * whatever its method and parameters. */
START_TEST(every_route_needs_a_session)
{
	size_t n = 0;
	router_route_t *r = admin_routes_new(&n);
	ck_assert_uint_ge(n, 30);
	ck_assert_int_eq(router_check(r, n), 0);
	size_t pub = 0;
	bool rename = false, withdraw = false;
	for (size_t i = 0; i < n; i++) {
		rename |= strcmp(r[i].name, "admin.tenant_rename") == 0;
		withdraw |= strcmp(r[i].name, "admin.member_invite_withdraw") == 0;
		if (admin_route_public(&r[i])) {
			pub++;
			ck_assert_msg(strncmp(r[i].name, "public.", 7) == 0 ||
					      strcmp(r[i].name, "admin.root") == 0 ||
					      strncmp(r[i].name, "admin.login", 11) == 0,
				      "%s is public", r[i].name);
			continue;
		}
		/* the pattern with every {param} as "x1" */
		char path[512] = "";
		size_t len = 0;
		for (const char *p = r[i].pattern; *p && len + 3 < sizeof path;) {
			if (*p == '{') {
				memcpy(path + len, "x1", 2);
				len += 2;
				p = strchr(p, '}') + 1;
			} else {
				path[len++] = *p++;
			}
		}
		path[len] = '\0';
		http_response_t *resp = serve(
			request(r[i].method, path, "canopy.test",
				"CONTENT_TYPE=application/x-www-form-urlencoded"),
			down, "");
		ck_assert_msg(resp->status == 303, "%s %s: %d", r[i].method, path,
			      resp->status);
		ck_assert(str_eq_c(http_response_header(resp, STR("Location")),
				   "/admin/login"));
		arena_reset(a);
	}
	ck_assert_uint_eq(pub, 5); /* /admin, the login form and post, invitations */
	ck_assert(rename && withdraw);
	free(r);
}
END_TEST

START_TEST(cross_site_login_refused)
{
	const char *body = "email=a%40b.example&password=whatever-long-enough";
	char **env = arena_calloc(a, 12, sizeof *env);
	env[0] = heap("REQUEST_METHOD=POST");
	env[1] = heap("REQUEST_URI=/admin/login");
	env[2] = heap("HTTP_HOST=canopy.test");
	env[3] = heap("HTTP_ORIGIN=https://evil.example");
	env[4] = heap("CONTENT_TYPE=application/x-www-form-urlencoded");
	env[5] = heap(arena_printf(a, "CONTENT_LENGTH=%zu", strlen(body)));
	http_request_t req;
	ck_assert_int_eq(http_request_init(&req, a, env), 0);
	http_response_t *resp = serve(&req, down, body);
	ck_assert_int_eq(resp->status, 403);
	ck_assert(strstr(buf_cstr(&resp->body), "Not allowed") != NULL);
}
END_TEST

START_TEST(empty_login_rerenders)
{
	const char *body = "email=ann%40example.com&password=";
	char **env = arena_calloc(a, 12, sizeof *env);
	env[0] = heap("REQUEST_METHOD=POST");
	env[1] = heap("REQUEST_URI=/admin/login");
	env[2] = heap("HTTP_HOST=canopy.test");
	env[3] = heap("HTTP_ORIGIN=https://canopy.test:8443");
	env[4] = heap("CONTENT_TYPE=application/x-www-form-urlencoded");
	env[5] = heap(arena_printf(a, "CONTENT_LENGTH=%zu", strlen(body)));
	http_request_t req;
	ck_assert_int_eq(http_request_init(&req, a, env), 0);
	http_response_t *resp = serve(&req, down, body);
	ck_assert_int_eq(resp->status, 422);
	const char *html = buf_cstr(&resp->body);
	ck_assert(strstr(html, "value=\"ann@example.com\"") != NULL);
	ck_assert(strstr(html, "aria-describedby=\"login-error\"") != NULL);
	ck_assert(strstr(html, "id=\"login-error\"") != NULL);
}
END_TEST

START_TEST(database_down)
{
	http_response_t *resp = serve(
		request("GET", "/admin/", "canopy.test",
			"HTTP_COOKIE=canopy_session="
			"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		down, NULL);
	ck_assert_int_eq(resp->status, 503);
	ck_assert(str_eq_c(http_response_header(resp, STR("Content-Type")),
			   "text/html; charset=utf-8"));
	resp = serve(request("GET", "/admin/", "canopy.test", NULL), NULL, NULL);
	ck_assert_int_eq(resp->status, 503);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("admin");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, slug_rules);
	tcase_add_test(tc, slug_reserved);
	tcase_add_test(tc, owns);
	tcase_add_test(tc, times_shown_in_utc);
	tcase_add_test(tc, login_form_renders);
	tcase_add_test(tc, unauthenticated_redirects);
	tcase_add_test(tc, every_route_needs_a_session);
	tcase_add_test(tc, cross_site_login_refused);
	tcase_add_test(tc, empty_login_rerenders);
	tcase_add_test(tc, database_down);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
