#include <string.h>

#include "buf.h"
#include "check_util.h"

START_TEST(appends_and_terminates)
{
	arena_t *a = arena_new(0);
	buf_t b;
	buf_init(&b, a, 1024);
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	ck_assert_int_eq(buf_printf(&b, "-%d", 7), 0);
	ck_assert_int_eq(buf_putc(&b, '!'), 0);
	ck_assert_str_eq(buf_cstr(&b), "abc-7!");
	ck_assert_uint_eq(b.len, 6);
	arena_free(a);
}
END_TEST

START_TEST(cap_is_enforced_and_sticky)
{
	buf_t b;
	buf_init(&b, NULL, 8);
	ck_assert_int_eq(buf_puts(&b, "12345678"), 0);
	ck_assert_int_eq(buf_puts(&b, "9"), ERR_TOO_LARGE);
	ck_assert_str_eq(buf_cstr(&b), "12345678");
	ck_assert_int_eq(b.err, ERR_TOO_LARGE);
	ck_assert_int_eq(buf_printf(&b, "%s", "long text"), ERR_TOO_LARGE);
	buf_free(&b);
}
END_TEST

START_TEST(html_escaping_covers_attribute_breakers)
{
	buf_t b;
	buf_init(&b, NULL, 1024);
	const char *in = "<a href=\"x\" onclick='y'>&`</a>";
	ck_assert_int_eq(buf_put_html(&b, in, strlen(in)), 0);
	ck_assert_str_eq(buf_cstr(&b),
			 "&lt;a href&#61;&quot;x&quot; onclick&#61;&#39;y&#39;&gt;"
			 "&amp;&#96;&lt;/a&gt;");
	buf_free(&b);
}
END_TEST

START_TEST(json_escaping_is_script_safe)
{
	buf_t b;
	buf_init(&b, NULL, 1024);
	const char in[] = "a\"b\\c\n</script>\x01";
	ck_assert_int_eq(buf_put_json_str(&b, in, sizeof in - 1), 0);
	ck_assert_str_eq(buf_cstr(&b),
			 "a\\\"b\\\\c\\n\\u003c/script\\u003e\\u0001");
	buf_free(&b);
}
END_TEST

START_TEST(take_hands_over_heap_memory)
{
	buf_t b;
	buf_init(&b, NULL, 100);
	buf_puts(&b, "xyz");
	size_t n;
	char *p = buf_take(&b, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(p, "xyz");
	ck_assert_ptr_null(b.data);
	free(p);
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, appends_and_terminates);
	tcase_add_test(tc, cap_is_enforced_and_sticky);
	tcase_add_test(tc, html_escaping_covers_attribute_breakers);
	tcase_add_test(tc, json_escaping_is_script_safe);
	tcase_add_test(tc, take_hands_over_heap_memory);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(buf_suite)
