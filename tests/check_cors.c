/* cors: which origins are Canopy's own, the headers of an ordinary
 * answer, and preflights allowed and refused. */
#include <stdio.h>
#include <string.h>

#include "check_util.h"
#include "cors.h"

static arena_t *a;

static void setup(void)
{
	a = arena_new(0);
}

static void teardown(void)
{
	arena_free(a);
}

static config_t cfg_with(const char *domain, int port)
{
	config_t c;
	memset(&c, 0, sizeof c);
	c.domain = domain;
	c.https_port = port;
	return c;
}

static bool allowed(const config_t *c, const char *origin)
{
	return cors_origin_allowed(c, origin ? str_c(origin) : STR_NULL);
}

START_TEST(own_origins_on_a_custom_port)
{
	config_t c = cfg_with("canopy.test", 8443);
	ck_assert(allowed(&c, "https://canopy.test:8443"));
	ck_assert(allowed(&c, "https://acme.canopy.test:8443"));
	ck_assert(allowed(&c, "https://a.canopy.test:8443"));
	ck_assert(allowed(&c, "https://a-1.canopy.test:8443"));
	ck_assert(allowed(&c, "https://x--y.canopy.test:8443"));
	/* 63 characters: the longest label */
	char longest[128];
	snprintf(longest, sizeof longest, "https://%.63s.canopy.test:8443",
		 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc");
	ck_assert(allowed(&c, longest));
}
END_TEST

START_TEST(foreign_origins_are_refused)
{
	config_t c = cfg_with("canopy.test", 8443);
	static const char *const bad[] = {
		"https://evil.example",
		"https://canopy.test",            /* our port is not 443 */
		"https://canopy.test:443",
		"https://canopy.test:9443",
		"https://canopy.test:84430",
		"https://canopy.test:8443/",      /* an origin has no path */
		"http://canopy.test:8443",        /* not https */
		"http://acme.canopy.test:8443",
		"HTTPS://canopy.test:8443",
		"https://CANOPY.test:8443",       /* browsers send lower case */
		"https://evilcanopy.test:8443",   /* suffix, not a subdomain */
		"https://.canopy.test:8443",
		"https://a.b.canopy.test:8443",   /* one label only */
		"https://-a.canopy.test:8443",
		"https://a-.canopy.test:8443",
		"https://a_b.canopy.test:8443",
		"https://canopy.test.evil.example:8443",
		"https://canopy.test:8443.evil.example",
		"https://user@canopy.test:8443",
		"null",
		"",
		"https://",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!allowed(&c, bad[i]), "%s allowed", bad[i]);
	ck_assert(!allowed(&c, NULL));
	char toolong[128];
	snprintf(toolong, sizeof toolong, "https://%.64s.canopy.test:8443",
		 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd");
	ck_assert(!allowed(&c, toolong));
}
END_TEST

START_TEST(port_443_is_left_out)
{
	config_t c = cfg_with("example.com", 443);
	ck_assert(allowed(&c, "https://example.com"));
	ck_assert(allowed(&c, "https://shop.example.com"));
	ck_assert(!allowed(&c, "https://example.com:443"));
	ck_assert(!allowed(&c, "https://shop.example.com:443"));
	ck_assert(!allowed(&c, "https://example.com:8443"));
	ck_assert(!allowed(&c, "https://notexample.com"));
}
END_TEST

START_TEST(no_domain_allows_nothing)
{
	config_t c = cfg_with(NULL, 443);
	ck_assert(!allowed(&c, "https://example.com"));
	c.domain = "";
	ck_assert(!allowed(&c, "https://"));
	ck_assert(!allowed(&c, "https://.x"));
}
END_TEST

/* A request with the given method and optional headers (CGI names). */
static http_request_t request(const char *method, const char *origin,
			      const char *acrm, const char *acrh)
{
	char **env = arena_calloc(a, 16, sizeof *env);
	int n = 0;
	env[n++] = arena_printf(a, "REQUEST_METHOD=%s", method);
	env[n++] = arena_strdup(a, "REQUEST_URI=/api/v1/workflows");
	env[n++] = arena_strdup(a, "HTTP_HOST=canopy.test");
	if (origin)
		env[n++] = arena_printf(a, "HTTP_ORIGIN=%s", origin);
	if (acrm)
		env[n++] = arena_printf(a, "HTTP_ACCESS_CONTROL_REQUEST_METHOD=%s",
					acrm);
	if (acrh)
		env[n++] = arena_printf(a, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS=%s",
					acrh);
	http_request_t req;
	ck_assert_int_eq(http_request_init(&req, a, env), 0);
	return req;
}

static bool header_is(const http_response_t *r, const char *name,
		      const char *want)
{
	str_t v = http_response_header(r, str_c(name));
	return want ? str_eq_c(v, want) : !http_found(v);
}

static size_t cors_header_count(const http_response_t *r)
{
	size_t k = 0;
	for (size_t i = 0; i < r->nheaders; i++)
		if (str_starts_with(r->headers[i].name, STR("Access-Control-")))
			k++;
	return k;
}

START_TEST(ordinary_answers_echo_only_our_origins)
{
	config_t c = cfg_with("canopy.test", 8443);
	http_response_t r;

	http_request_t req = request("GET", "https://shop.canopy.test:8443", NULL, NULL);
	http_response_init(&r, a, 1024);
	ck_assert_int_eq(cors_headers(&c, &req, &r, "X-Request-Id"), 0);
	ck_assert(header_is(&r, "Access-Control-Allow-Origin",
			    "https://shop.canopy.test:8443"));
	ck_assert(header_is(&r, "Access-Control-Expose-Headers", "X-Request-Id"));
	ck_assert(header_is(&r, "Vary", "Origin"));
	ck_assert(header_is(&r, "Access-Control-Allow-Credentials", NULL));

	req = request("GET", "https://evil.example", NULL, NULL);
	http_response_init(&r, a, 1024);
	ck_assert_int_eq(cors_headers(&c, &req, &r, "X-Request-Id"), 0);
	ck_assert_uint_eq(cors_header_count(&r), 0);
	ck_assert(header_is(&r, "Vary", "Origin"));

	req = request("GET", NULL, NULL, NULL);
	http_response_init(&r, a, 1024);
	ck_assert_int_eq(cors_headers(&c, &req, &r, NULL), 0);
	ck_assert_uint_eq(cors_header_count(&r), 0);
	ck_assert(header_is(&r, "Vary", "Origin"));
}
END_TEST

START_TEST(preflights_are_recognised)
{
	http_request_t req = request("OPTIONS", "https://x.canopy.test:8443",
				     "GET", NULL);
	ck_assert(cors_is_preflight(&req));
	req = request("OPTIONS", "https://x.canopy.test:8443", NULL, NULL);
	ck_assert(!cors_is_preflight(&req));
	req = request("OPTIONS", NULL, "GET", NULL);
	ck_assert(!cors_is_preflight(&req));
	req = request("GET", "https://x.canopy.test:8443", "GET", NULL);
	ck_assert(!cors_is_preflight(&req));
}
END_TEST

#define METHODS "GET, POST, PUT, DELETE"
#define HEADERS "Authorization, Content-Type"

static http_response_t preflight(const char *origin, const char *method,
				 const char *headers)
{
	config_t c = cfg_with("canopy.test", 8443);
	http_request_t req = request("OPTIONS", origin, method, headers);
	http_response_t r;
	http_response_init(&r, a, 4096);
	ck_assert_int_eq(cors_preflight(&c, &req, &r, METHODS, HEADERS), 0);
	return r;
}

START_TEST(allowed_preflight)
{
	http_response_t r = preflight("https://canopy.test:8443", "PUT",
				      "authorization,content-type");
	ck_assert_int_eq(r.status, 204);
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert(header_is(&r, "Access-Control-Allow-Origin",
			    "https://canopy.test:8443"));
	ck_assert(header_is(&r, "Access-Control-Allow-Methods", METHODS));
	ck_assert(header_is(&r, "Access-Control-Allow-Headers", HEADERS));
	ck_assert(header_is(&r, "Access-Control-Max-Age", "600"));
	ck_assert(header_is(&r, "Vary", "Origin"));

	/* no headers asked for, and blanks and empty items in the list */
	r = preflight("https://t.canopy.test:8443", "GET", NULL);
	ck_assert_int_eq(r.status, 204);
	r = preflight("https://t.canopy.test:8443", "DELETE", " Authorization , ,");
	ck_assert_int_eq(r.status, 204);
}
END_TEST

START_TEST(refused_preflights_carry_no_cors_headers)
{
	struct {
		const char *origin, *method, *headers;
	} bad[] = {
		{"https://evil.example", "GET", NULL},
		{"null", "GET", NULL},
		{"https://canopy.test:8443", "PATCH", NULL},
		{"https://canopy.test:8443", "get", NULL}, /* methods are exact */
		{"https://canopy.test:8443", "GET", "Authorization, X-Secret"},
		{"https://canopy.test:8443", "GET", "Cookie"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_response_t r = preflight(bad[i].origin, bad[i].method,
					      bad[i].headers);
		ck_assert_msg(r.status == 403, "%s %s: %d", bad[i].origin,
			      bad[i].method, r.status);
		ck_assert_uint_eq(cors_header_count(&r), 0);
		ck_assert(header_is(&r, "Vary", "Origin"));
		ck_assert(strstr(buf_cstr(&r.body), "\"forbidden\"") != NULL);
	}
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("cors");
	TCase *tc = tcase_create("cors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, own_origins_on_a_custom_port);
	tcase_add_test(tc, foreign_origins_are_refused);
	tcase_add_test(tc, port_443_is_left_out);
	tcase_add_test(tc, no_domain_allows_nothing);
	tcase_add_test(tc, ordinary_answers_echo_only_our_origins);
	tcase_add_test(tc, preflights_are_recognised);
	tcase_add_test(tc, allowed_preflight);
	tcase_add_test(tc, refused_preflights_carry_no_cors_headers);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
