/* lib/publish against a local listener standing in for nchan's
 * publisher: what is POSTed where, and what happens when it is slow,
 * down or not configured. */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "check_listener.h"
#include "check_util.h"
#include "config.h"
#include "http_client.h"
#include "log.h"
#include "publish.h"

static listener_t l;
static config_t cfg;
static char url[64];

static void start(int status)
{
	log_init("check_publish", LOG_ERROR);
	ck_assert_int_eq(listener_start(&l, status), 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/pub/", l.port);
	memset(&cfg, 0, sizeof cfg);
	cfg.nchan_publish_url = url;
}

static void setup_ok(void)
{
	start(201);
}

static void setup_hang(void)
{
	start(0);
}

static void teardown(void)
{
	listener_stop(&l);
	http_client_clear_allowed();
	publish_init(NULL);
}

START_TEST(posts_the_message_to_the_tenants_channel)
{
	json_t *m = json_pack("{s:s, s:I, s:s}", "type", "workflow.status",
			      "workflow_id", (json_int_t)42, "status", "live");
	/* No publish_init: the host is allowed on first use. */
	ck_assert_int_eq(publish_tenant(&cfg, "acme-co", m), 0);
	ck_assert_int_eq(listener_wait(&l, 1, 2000), 1);
	ck_assert_str_eq(l.req[0].method, "POST");
	ck_assert_str_eq(l.req[0].path, "/pub/acme-co");
	ck_assert_str_eq(l.req[0].content_type, "application/json");
	json_t *got = json_loads(l.req[0].body, 0, NULL);
	ck_assert_ptr_nonnull(got);
	ck_assert(json_equal(got, m));
	json_decref(got);
	json_decref(m);
}
END_TEST

START_TEST(default_config_comes_from_init)
{
	ck_assert_ptr_null(publish_default());
	config_t off = {0};
	publish_init(&off);
	ck_assert_ptr_null(publish_default()); /* no URL: publishing off */
	publish_init(&cfg);
	ck_assert_ptr_eq(publish_default(), &cfg);
	ck_assert(http_client_url_allowed(url));
}
END_TEST

START_TEST(refuses_what_it_cannot_send)
{
	json_t *m = json_pack("{s:s}", "status", "idle");
	config_t off = {0};
	ck_assert_int_eq(publish_tenant(&off, "acme", m), ERR_INVALID);
	ck_assert_int_eq(publish_tenant(NULL, "acme", m), ERR_INVALID);
	const char *bad[] = {"", "Acme", "../admin", "a/b", "-a", "a-",
			     "a b", "tenant-x?y=1",
			     "0123456789012345678901234567890123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(publish_tenant(&cfg, bad[i], m) == ERR_INVALID,
			      "slug '%s' accepted", bad[i]);
	json_t *arr = json_array();
	ck_assert_int_eq(publish_tenant(&cfg, "acme", arr), ERR_INVALID);
	json_decref(arr);
	char *big = calloc(1, PUBLISH_MESSAGE_MAX + 10);
	memset(big, 'x', PUBLISH_MESSAGE_MAX + 1);
	json_t *huge = json_pack("{s:s}", "reason", big);
	ck_assert_int_eq(publish_tenant(&cfg, "acme", huge), ERR_TOO_LARGE);
	json_decref(huge);
	free(big);
	/* nothing reached the listener */
	ck_assert_int_eq(listener_wait(&l, 1, 100), 0);
	json_decref(m);
}
END_TEST

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

START_TEST(a_hanging_publisher_costs_at_most_a_second)
{
	json_t *m = json_pack("{s:s}", "status", "idle");
	double t0 = now_ms();
	int rc = publish_tenant(&cfg, "acme", m);
	double took = now_ms() - t0;
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(took < PUBLISH_TIMEOUT_MS + 500, "took %.0f ms", took);
	json_decref(m);
}
END_TEST

START_TEST(a_publisher_that_is_down_is_an_error)
{
	/* A port nothing listens on: stop ours and reuse its number. */
	listener_stop(&l);
	json_t *m = json_pack("{s:s}", "status", "idle");
	double t0 = now_ms();
	ck_assert_int_lt(publish_tenant(&cfg, "acme", m), 0);
	ck_assert(now_ms() - t0 < PUBLISH_TIMEOUT_MS + 500);
	json_decref(m);
	ck_assert_int_eq(listener_start(&l, 201), 0); /* for teardown */
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("publish");
	TCase *tc = tcase_create("ok");
	tcase_add_checked_fixture(tc, setup_ok, teardown);
	tcase_add_test(tc, posts_the_message_to_the_tenants_channel);
	tcase_add_test(tc, default_config_comes_from_init);
	tcase_add_test(tc, refuses_what_it_cannot_send);
	tcase_add_test(tc, a_publisher_that_is_down_is_an_error);
	suite_add_tcase(s, tc);
	tc = tcase_create("hang");
	tcase_add_checked_fixture(tc, setup_hang, teardown);
	tcase_add_test(tc, a_hanging_publisher_costs_at_most_a_second);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
