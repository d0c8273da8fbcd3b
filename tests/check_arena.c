#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "check_util.h"

static int cleanup_calls;
static int cleanup_order[4];

static void count_cleanup(void *data)
{
	cleanup_order[cleanup_calls++] = (int)(intptr_t)data;
}

START_TEST(allocations_are_aligned_and_distinct)
{
	arena_t *a = arena_new(64);
	char *p = arena_alloc(a, 3);
	char *q = arena_alloc(a, 5);
	ck_assert_ptr_ne(p, q);
	ck_assert_uint_eq((uintptr_t)p % 16, 0);
	ck_assert_uint_eq((uintptr_t)q % 16, 0);
	memset(p, 'x', 3);
	memset(q, 'y', 5);
	ck_assert_int_eq(p[2], 'x');
	arena_free(a);
}
END_TEST

START_TEST(large_allocations_span_blocks)
{
	arena_t *a = arena_new(128);
	char *big = arena_alloc(a, 100000);
	memset(big, 1, 100000);
	char *small = arena_alloc(a, 16);
	memset(small, 2, 16);
	ck_assert_int_eq(big[99999], 1);
	ck_assert_uint_ge(arena_used(a), 100016);
	arena_reset(a);
	ck_assert_uint_eq(arena_used(a), 0);
	arena_free(a);
}
END_TEST

START_TEST(strings_are_copied)
{
	arena_t *a = arena_new(0);
	char src[] = "hello";
	char *d = arena_strdup(a, src);
	src[0] = 'j';
	ck_assert_str_eq(d, "hello");
	ck_assert_str_eq(arena_strndup(a, "abcdef", 3), "abc");
	ck_assert_str_eq(arena_printf(a, "%s-%d", "n", 42), "n-42");
	arena_free(a);
}
END_TEST

START_TEST(cleanups_run_newest_first_on_reset_and_free)
{
	arena_t *a = arena_new(0);
	cleanup_calls = 0;
	arena_on_reset(a, count_cleanup, (void *)1);
	arena_on_reset(a, count_cleanup, (void *)2);
	arena_reset(a);
	ck_assert_int_eq(cleanup_calls, 2);
	ck_assert_int_eq(cleanup_order[0], 2);
	ck_assert_int_eq(cleanup_order[1], 1);
	arena_on_reset(a, count_cleanup, (void *)3);
	arena_free(a);
	ck_assert_int_eq(cleanup_calls, 3);
}
END_TEST

START_TEST(calloc_zeroes)
{
	arena_t *a = arena_new(0);
	int *v = arena_calloc(a, 100, sizeof(int));
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(v[i], 0);
	arena_free(a);
}
END_TEST

static Suite *arena_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, allocations_are_aligned_and_distinct);
	tcase_add_test(tc, large_allocations_span_blocks);
	tcase_add_test(tc, strings_are_copied);
	tcase_add_test(tc, cleanups_run_newest_first_on_reset_and_free);
	tcase_add_test(tc, calloc_zeroes);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(arena_suite)
