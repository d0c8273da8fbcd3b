/* http_client against the n8n fake (any fake would do: they share the
 * failure modes), started once per test case by an unchecked fixture. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "check_util.h"
#include "fakes/fake_util.h"
#include "http_client.h"
#include "log.h"

#define N8N_KEY "n8n-test-api-key"

static fake_t fake;
static arena_t *a;
static char url[256];

static const char *const key_headers[] = {"X-N8N-API-KEY: " N8N_KEY, NULL};

static void start_fake(void)
{
	if (fake_start(&fake, "n8n_fake.py", NULL) < 0)
		abort();
	snprintf(url, sizeof url, "%s/api/v1/workflows", fake.base);
	http_client_clear_allowed();
	http_client_allow_host("127.0.0.1");
}

static void stop_fake(void)
{
	fake_stop(&fake);
}

static void setup(void)
{
	a = arena_new(0);
	fake_reset(&fake);
}

static void teardown(void)
{
	arena_free(a);
}

/* A request with short backoffs so retries cost milliseconds. */
static http_client_request_t get_req(void)
{
	return (http_client_request_t){
		.method = "GET",
		.url = url,
		.headers = key_headers,
		.timeout_ms = 3000,
		.retry = {.max_attempts = 3, .backoff_base_ms = 10,
			  .backoff_max_ms = 40, .retry_after_max_ms = 3000},
	};
}

static size_t n_requests(void)
{
	json_t *r = fake_requests(&fake);
	size_t n = json_array_size(r);
	json_decref(r);
	return n;
}

START_TEST(get_succeeds_and_passes_request_id)
{
	log_set_request_id("req-abc-123");
	http_client_request_t req = get_req();
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), 0);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_int_eq(resp.attempts, 1);
	ck_assert_str_eq(resp.error, "");
	str_t ct = http_client_header(&resp, "content-type");
	ck_assert_ptr_nonnull(ct.p);
	ck_assert(str_starts_with(ct, STR("application/json")));
	json_t *j;
	ck_assert_int_eq(http_client_json(a, &resp, &j), 0);
	ck_assert(json_is_array(json_object_get(j, "data")));

	json_t *reqs = fake_requests(&fake);
	ck_assert_uint_eq(json_array_size(reqs), 1);
	json_t *r0 = json_array_get(reqs, 0);
	ck_assert_str_eq(fake_req_header(r0, "X-Request-Id"), "req-abc-123");
	ck_assert_str_eq(fake_req_header(r0, "X-N8N-API-KEY"), N8N_KEY);
	ck_assert_str_eq(fake_req_header(r0, "Accept"), "application/json");
	json_decref(reqs);
}
END_TEST

START_TEST(post_json_body_is_sent)
{
	json_t *wf = json_pack("{s:s, s:[], s:{}, s:{}}", "name", "t", "nodes",
			       "connections", "settings");
	http_client_request_t req = get_req();
	req.method = "POST";
	req.json = wf;
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), 0);
	json_t *j;
	ck_assert_int_eq(http_client_json(a, &resp, &j), 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "t");

	json_t *reqs = fake_requests(&fake);
	json_t *r0 = json_array_get(reqs, 0);
	ck_assert_str_eq(json_string_value(json_object_get(r0, "method")),
			 "POST");
	ck_assert(json_equal(json_object_get(r0, "body"), wf));
	ck_assert_str_eq(fake_req_header(r0, "Content-Type"),
			 "application/json");
	json_decref(reqs);
	json_decref(wf);
}
END_TEST

START_TEST(bodyless_post_sends_empty_body)
{
	char act[300];
	snprintf(act, sizeof act, "%s/nope/activate", url);
	http_client_request_t req = get_req();
	req.method = "POST";
	req.url = act;
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_NOT_FOUND);
	json_t *reqs = fake_requests(&fake);
	json_t *r0 = json_array_get(reqs, 0);
	ck_assert_str_eq(json_string_value(json_object_get(r0, "method")),
			 "POST");
	ck_assert_str_eq(fake_req_header(r0, "Content-Length"), "0");
	ck_assert_ptr_null(fake_req_header(r0, "Content-Type"));
	json_decref(reqs);
}
END_TEST

START_TEST(client_errors_are_not_retried)
{
	http_client_request_t req = get_req();
	req.method = "POST";
	req.body = "{\"name\": \"no nodes\"}";
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_INVALID);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_int_eq(resp.attempts, 1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&resp.body), "required"));

	static const char *const bad_key[] = {"X-N8N-API-KEY: wrong", NULL};
	req = get_req();
	req.headers = bad_key;
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_UNAUTHORIZED);
	ck_assert_int_eq(resp.attempts, 1);

	char missing[300];
	snprintf(missing, sizeof missing, "%s/nope", url);
	req = get_req();
	req.url = missing;
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_NOT_FOUND);
	ck_assert_int_eq(resp.attempts, 1);
	ck_assert_uint_eq(n_requests(), 3);
}
END_TEST

START_TEST(rate_limit_honours_retry_after_then_succeeds)
{
	fake_mode(&fake, "{\"mode\":\"429\",\"count\":1,\"retry_after\":1}");
	http_client_request_t req = get_req();
	http_client_response_t resp;
	double t0 = fake_now_ms();
	ck_assert_int_eq(http_client_do(a, &req, &resp), 0);
	double ms = fake_now_ms() - t0;
	ck_assert_int_eq(resp.attempts, 2);
	ck_assert_int_eq(resp.retry_after_s, 1);
	ck_assert_msg(ms >= 950, "waited only %.0f ms", ms);
	ck_assert_msg(ms < 2500, "waited %.0f ms", ms);
}
END_TEST

START_TEST(rate_limit_beyond_cap_returns_at_once)
{
	fake_mode(&fake, "{\"mode\":\"429\",\"count\":5,\"retry_after\":60}");
	http_client_request_t req = get_req();
	http_client_response_t resp;
	double t0 = fake_now_ms();
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_RATE_LIMITED);
	ck_assert(fake_now_ms() - t0 < 1000);
	ck_assert_int_eq(resp.attempts, 1);
	ck_assert_int_eq(resp.retry_after_s, 60);
	ck_assert_int_eq(resp.status, 429);
}
END_TEST

START_TEST(rate_limit_exhausts_attempts)
{
	fake_mode(&fake, "{\"mode\":\"429\",\"count\":9,\"retry_after\":0}");
	http_client_request_t req = get_req();
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_RATE_LIMITED);
	ck_assert_int_eq(resp.attempts, 3);
	ck_assert_int_eq(resp.retry_after_s, 0);
	ck_assert_uint_eq(n_requests(), 3);
}
END_TEST

START_TEST(server_error_then_success)
{
	fake_mode(&fake, "{\"mode\":\"500\",\"count\":1}");
	http_client_request_t req = get_req();
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), 0);
	ck_assert_int_eq(resp.attempts, 2);
	ck_assert_int_eq(resp.status, 200);
}
END_TEST

START_TEST(server_errors_exhaust_attempts)
{
	fake_mode(&fake, "{\"mode\":\"503\",\"count\":9,\"retry_after\":null}");
	http_client_request_t req = get_req();
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_UPSTREAM);
	ck_assert_int_eq(resp.attempts, 3);
	ck_assert_int_eq(resp.status, 503);
	ck_assert_ptr_nonnull(strstr(resp.error, "503"));
	ck_assert_uint_eq(n_requests(), 3);
}
END_TEST

START_TEST(hang_times_out_and_is_retried)
{
	fake_mode(&fake, "{\"mode\":\"hang\",\"count\":2,\"seconds\":5}");
	http_client_request_t req = get_req();
	req.timeout_ms = 300;
	req.retry.max_attempts = 2;
	http_client_response_t resp;
	double t0 = fake_now_ms();
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_TIMEOUT);
	double ms = fake_now_ms() - t0;
	ck_assert_int_eq(resp.attempts, 2);
	ck_assert_msg(ms >= 550 && ms < 2000, "took %.0f ms", ms);
	ck_assert_ptr_nonnull(strstr(resp.error, "did not answer"));
}
END_TEST

START_TEST(deadline_bounds_the_whole_call)
{
	fake_mode(&fake, "{\"mode\":\"hang\",\"count\":5,\"seconds\":5}");
	http_client_request_t req = get_req();
	req.timeout_ms = 5000;
	req.deadline_ms = 400;
	http_client_response_t resp;
	double t0 = fake_now_ms();
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_TIMEOUT);
	ck_assert(fake_now_ms() - t0 < 1500);
	ck_assert_int_eq(resp.attempts, 1);
}
END_TEST

START_TEST(truncated_body_is_retried_then_fails)
{
	fake_mode(&fake, "{\"mode\":\"truncated\",\"count\":1}");
	http_client_request_t req = get_req();
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), 0);
	ck_assert_int_eq(resp.attempts, 2);

	fake_mode(&fake, "{\"mode\":\"truncated\",\"count\":1}");
	req.retry.max_attempts = 1;
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_UPSTREAM);
	ck_assert_int_eq(resp.attempts, 1);
}
END_TEST

START_TEST(malformed_json_is_upstream_error)
{
	fake_mode(&fake, "{\"mode\":\"malformed\"}");
	http_client_request_t req = get_req();
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), 0);
	json_t *j;
	ck_assert_int_eq(http_client_json(a, &resp, &j), ERR_UPSTREAM);
	ck_assert_ptr_null(j);
}
END_TEST

START_TEST(body_over_cap_is_too_large)
{
	fake_mode(&fake, "{\"mode\":\"large\",\"size\":200000}");
	http_client_request_t req = get_req();
	req.max_body = 10000;
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_TOO_LARGE);
	ck_assert_int_eq(resp.attempts, 1);
	ck_assert(resp.body.len <= 10000);
}
END_TEST

START_TEST(hosts_off_the_allowlist_are_refused)
{
	http_client_request_t req = get_req();
	req.url = "http://example.com/api";
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_FORBIDDEN);
	ck_assert_int_eq(resp.attempts, 0);
	ck_assert_ptr_nonnull(strstr(resp.error, "example.com"));
	ck_assert(!http_client_url_allowed("http://example.com/"));
	ck_assert(http_client_url_allowed("http://127.0.0.1:1/x"));
	ck_assert(!http_client_url_allowed("ftp://127.0.0.1/x"));
	/* A userinfo part does not smuggle a host past the check. */
	ck_assert(!http_client_url_allowed("http://127.0.0.1@example.com/"));

	req.url = "ftp://127.0.0.1/x";
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_INVALID);
	req.url = "not a url";
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_INVALID);

	http_client_allow_hosts(" Example.COM , other.test");
	ck_assert(http_client_url_allowed("https://example.com/v1"));
	ck_assert(http_client_url_allowed("https://other.test/"));
	ck_assert_int_eq(http_client_allow_url("https://api.openai.test/v1"),
			 0);
	ck_assert(http_client_url_allowed("https://api.openai.test/x"));
	ck_assert_uint_eq(n_requests(), 0);
}
END_TEST

START_TEST(connection_refused_is_retried_then_upstream)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sin;
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	close(s); /* nothing listens there now */
	char closed[64];
	snprintf(closed, sizeof closed, "http://127.0.0.1:%d/",
		 ntohs(sin.sin_port));
	http_client_request_t req = get_req();
	req.url = closed;
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_UPSTREAM);
	ck_assert_int_eq(resp.attempts, 3);
	ck_assert_int_eq(resp.status, 0);
}
END_TEST

START_TEST(header_injection_is_refused)
{
	static const char *const evil[] = {"X-A: b\r\nX-Injected: 1", NULL};
	http_client_request_t req = get_req();
	req.headers = evil;
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), ERR_INVALID);
	ck_assert_uint_eq(n_requests(), 0);
}
END_TEST

START_TEST(logs_carry_the_call_but_no_secret)
{
	char path[] = "/tmp/canopy-http-log-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	log_set_fd(fd);
	log_set_request_id("rid-log-1");

	static const char *const secret[] = {
		"X-N8N-API-KEY: " N8N_KEY,
		"Authorization: Bearer sk-very-secret-token", NULL};
	char with_query[300];
	snprintf(with_query, sizeof with_query, "%s?token=query-secret",
		 url);
	fake_mode(&fake, "{\"mode\":\"500\",\"count\":1}");
	http_client_request_t req = get_req();
	req.headers = secret;
	req.url = with_query;
	http_client_response_t resp;
	ck_assert_int_eq(http_client_do(a, &req, &resp), 0);
	log_set_fd(-1);

	char *log = fake_slurp_fd(fd);
	close(fd);
	ck_assert_ptr_nonnull(strstr(log, "\"outbound http\""));
	ck_assert_ptr_nonnull(strstr(log, "\"path\":\"/api/v1/workflows\""));
	ck_assert_ptr_nonnull(strstr(log, "\"host\":\"127.0.0.1\""));
	ck_assert_ptr_nonnull(strstr(log, "\"attempt\":2"));
	ck_assert_ptr_nonnull(strstr(log, "\"status\":500"));
	ck_assert_ptr_nonnull(strstr(log, "\"req\":\"rid-log-1\""));
	ck_assert_ptr_null(strstr(log, N8N_KEY));
	ck_assert_ptr_null(strstr(log, "sk-very-secret-token"));
	ck_assert_ptr_null(strstr(log, "query-secret"));
	free(log);
}
END_TEST

START_TEST(status_and_retry_after_conversions)
{
	ck_assert_int_eq(http_client_status_err(200), 0);
	ck_assert_int_eq(http_client_status_err(204), 0);
	ck_assert_int_eq(http_client_status_err(401), ERR_UNAUTHORIZED);
	ck_assert_int_eq(http_client_status_err(403), ERR_UNAUTHORIZED);
	ck_assert_int_eq(http_client_status_err(429), ERR_RATE_LIMITED);
	ck_assert_int_eq(http_client_status_err(500), ERR_UPSTREAM);
	ck_assert_int_eq(http_client_status_err(503), ERR_UPSTREAM);
	ck_assert_int_eq(http_client_status_err(302), ERR_UPSTREAM);
	ck_assert_int_eq(http_client_status_err(409), ERR_CONFLICT);

	ck_assert_int_eq(http_client_parse_retry_after(STR("20")), 20);
	ck_assert_int_eq(http_client_parse_retry_after(STR(" 0 ")), 0);
	ck_assert_int_eq(http_client_parse_retry_after(STR("soon")), -1);
	ck_assert_int_eq(http_client_parse_retry_after(STR("")), -1);
	ck_assert_int_eq(http_client_parse_retry_after(STR("-5")), -1);
	ck_assert_int_eq(http_client_parse_retry_after(
				 STR("Wed, 21 Oct 2015 07:28:00 GMT")),
			 0); /* in the past: retry now */
	char date[64];
	time_t t = time(NULL) + 120;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	long s = http_client_parse_retry_after(str_c(date));
	ck_assert_msg(s >= 118 && s <= 120, "got %ld", s);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("http_client");
	TCase *tc = tcase_create("against the n8n fake");
	tcase_add_unchecked_fixture(tc, start_fake, stop_fake);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, get_succeeds_and_passes_request_id);
	tcase_add_test(tc, post_json_body_is_sent);
	tcase_add_test(tc, bodyless_post_sends_empty_body);
	tcase_add_test(tc, client_errors_are_not_retried);
	tcase_add_test(tc, rate_limit_honours_retry_after_then_succeeds);
	tcase_add_test(tc, rate_limit_beyond_cap_returns_at_once);
	tcase_add_test(tc, rate_limit_exhausts_attempts);
	tcase_add_test(tc, server_error_then_success);
	tcase_add_test(tc, server_errors_exhaust_attempts);
	tcase_add_test(tc, hang_times_out_and_is_retried);
	tcase_add_test(tc, deadline_bounds_the_whole_call);
	tcase_add_test(tc, truncated_body_is_retried_then_fails);
	tcase_add_test(tc, malformed_json_is_upstream_error);
	tcase_add_test(tc, body_over_cap_is_too_large);
	tcase_add_test(tc, hosts_off_the_allowlist_are_refused);
	tcase_add_test(tc, connection_refused_is_retried_then_upstream);
	tcase_add_test(tc, header_injection_is_refused);
	tcase_add_test(tc, logs_carry_the_call_but_no_secret);
	tcase_add_test(tc, status_and_retry_after_conversions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!fake_python_available()) {
		fprintf(stderr, "python3 not found: fakes cannot run, skipped\n");
		return 77;
	}
	return ck_run_suite(make_suite());
}
