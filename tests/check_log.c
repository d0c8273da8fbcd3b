#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "log.h"

/* Captures what the logger writes through a pipe. */
static char captured[16384];

static void capture(void (*emit)(void))
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	log_set_fd(fds[1]);
	emit();
	log_set_fd(-1);
	close(fds[1]);
	ssize_t n = read(fds[0], captured, sizeof captured - 1);
	close(fds[0]);
	captured[n > 0 ? n : 0] = '\0';
}

static void emit_fields(void)
{
	log_set_request_id("req-123");
	log_line_t *l = log_begin(LOG_INFO, "job \"done\"");
	log_str(l, "kind", "noop\n");
	log_int(l, "job", 42);
	log_bool(l, "ok", true);
	log_end(l);
	log_set_request_id(NULL);
}

START_TEST(lines_are_json_with_request_id)
{
	log_init("test", LOG_DEBUG);
	capture(emit_fields);
	json_error_t e;
	json_t *j = json_loads(captured, 0, &e);
	ck_assert_msg(j != NULL, "not JSON: %s", captured);
	ck_assert_str_eq(json_string_value(json_object_get(j, "req")), "req-123");
	ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), "job \"done\"");
	ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "noop\n");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "job")), 42);
	ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "info");
	ck_assert_str_eq(json_string_value(json_object_get(j, "prog")), "test");
	json_decref(j);
}
END_TEST

static void emit_filtered(void)
{
	log_debug("hidden");
	log_warn("shown %d", 1);
}

START_TEST(levels_filter)
{
	log_init("test", LOG_INFO);
	capture(emit_filtered);
	ck_assert_ptr_null(strstr(captured, "hidden"));
	ck_assert_ptr_nonnull(strstr(captured, "shown 1"));
	ck_assert_int_eq(log_level_parse("warn"), LOG_WARN);
	ck_assert_int_eq(log_level_parse("loud"), -1);
}
END_TEST

static void emit_huge(void)
{
	static char big[20000];
	memset(big, 'x', sizeof big - 1);
	log_line_t *l = log_begin(LOG_ERROR, "huge");
	log_str(l, "a", "small");
	log_str(l, "big", big);
	log_int(l, "after", 1);
	log_end(l);
}

START_TEST(oversized_lines_stay_valid_json)
{
	log_init("test", LOG_INFO);
	capture(emit_huge);
	json_error_t e;
	json_t *j = json_loads(captured, 0, &e);
	ck_assert_msg(j != NULL, "not JSON: %.200s", captured);
	ck_assert(json_is_true(json_object_get(j, "truncated")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "a")), "small");
	ck_assert_ptr_null(json_object_get(j, "big"));
	json_decref(j);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, lines_are_json_with_request_id);
	tcase_add_test(tc, levels_filter);
	tcase_add_test(tc, oversized_lines_stay_valid_json);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(log_suite)
