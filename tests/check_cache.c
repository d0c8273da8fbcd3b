#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "check_util.h"

static int freed;

static void count_free(void *v)
{
	freed++;
	free(v);
}

static char *val(const char *s)
{
	return strdup(s);
}

START_TEST(hit_after_put_and_miss_after_invalidate)
{
	cache_t *c = cache_new(16);
	freed = 0;
	ck_assert_ptr_null(cache_get(c, STR("demo")));
	ck_assert(cache_put(c, STR("demo"), cache_generation(c), val("page"), count_free));
	cache_ref_t *r = cache_get(c, STR("demo"));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(cache_ref_value(r), "page");
	cache_invalidate(c);
	ck_assert_ptr_null(cache_get(c, STR("demo")));
	/* the reader still holds its value after the invalidation */
	ck_assert_str_eq(cache_ref_value(r), "page");
	cache_unref(r);
	cache_free(c);
	ck_assert_int_eq(freed, 1);
}
END_TEST

START_TEST(stale_put_is_dropped)
{
	cache_t *c = cache_new(16);
	freed = 0;
	uint64_t before_query = cache_generation(c);
	cache_invalidate(c); /* a change notified while we rendered */
	ck_assert(!cache_put(c, STR("demo"), before_query, val("old"), count_free));
	ck_assert_int_eq(freed, 1);
	ck_assert_ptr_null(cache_get(c, STR("demo")));
	cache_free(c);
}
END_TEST

START_TEST(replacing_frees_the_old_value_once_unreferenced)
{
	cache_t *c = cache_new(16);
	freed = 0;
	cache_put(c, STR("k"), cache_generation(c), val("v1"), count_free);
	cache_ref_t *r = cache_get(c, STR("k"));
	cache_put(c, STR("k"), cache_generation(c), val("v2"), count_free);
	ck_assert_int_eq(freed, 0);
	cache_unref(r);
	ck_assert_int_eq(freed, 1);
	r = cache_get(c, STR("k"));
	ck_assert_str_eq(cache_ref_value(r), "v2");
	cache_unref(r);
	cache_free(c);
}
END_TEST

START_TEST(bounded_size)
{
	cache_t *c = cache_new(8);
	for (int i = 0; i < 100; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", i);
		cache_put(c, str_c(key), cache_generation(c), val("x"), free);
		ck_assert_uint_le(cache_count(c), 8);
	}
	cache_free(c);
}
END_TEST

START_TEST(disabled_cache_misses)
{
	cache_t *c = cache_new(8);
	cache_put(c, STR("k"), cache_generation(c), val("x"), free);
	cache_set_enabled(c, false);
	ck_assert_ptr_null(cache_get(c, STR("k")));
	ck_assert(!cache_put(c, STR("k"), cache_generation(c), val("y"), free));
	uint64_t gen_while_off = cache_generation(c);
	cache_set_enabled(c, true);
	ck_assert_ptr_null(cache_get(c, STR("k"))); /* flushed by the outage */
	/* a render begun while the cache was off must not be stored */
	ck_assert(!cache_put(c, STR("k"), gen_while_off, val("z"), free));
	ck_assert(cache_put(c, STR("k"), cache_generation(c), val("w"), free));
	cache_free(c);
}
END_TEST

static cache_t *shared;

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		char key[8];
		snprintf(key, sizeof key, "k%d", i % 50);
		cache_ref_t *r = cache_get(shared, str_c(key));
		if (r) {
			ck_assert_str_eq(cache_ref_value(r), "value");
			cache_unref(r);
		} else {
			cache_put(shared, str_c(key), cache_generation(shared),
				  val("value"), free);
		}
		if (i % 997 == 0)
			cache_invalidate(shared);
	}
	return NULL;
}

START_TEST(threads_share_safely)
{
	shared = cache_new(32);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cache_free(shared);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, hit_after_put_and_miss_after_invalidate);
	tcase_add_test(tc, stale_put_is_dropped);
	tcase_add_test(tc, replacing_frees_the_old_value_once_unreferenced);
	tcase_add_test(tc, bounded_size);
	tcase_add_test(tc, disabled_cache_misses);
	tcase_add_test(tc, threads_share_safely);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(cache_suite)
