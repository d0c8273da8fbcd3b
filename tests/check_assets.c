#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assets.h"
#include "check_util.h"

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(urls_carry_a_content_hash)
{
	char dir[] = "/tmp/canopy-assets-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "site.css", "body{}");
	write_file(dir, "Bad Name.css", "x");
	write_file(dir, ".hidden", "x");
	assets_t *a = assets_load(dir);
	const char *url = assets_url(a, "site.css");
	ck_assert_ptr_nonnull(url);
	/* sha256("body{}") starts with these 16 hex digits */
	ck_assert_int_eq(strlen(url), strlen("/assets/site.0123456789abcdef.css"));
	ck_assert(strncmp(url, "/assets/site.", 13) == 0);
	ck_assert_ptr_null(assets_url(a, "Bad Name.css"));
	ck_assert_ptr_null(assets_url(a, ".hidden"));
	char first[64];
	snprintf(first, sizeof first, "%s", url);
	assets_free(a);

	write_file(dir, "site.css", "body{color:red}");
	a = assets_load(dir);
	ck_assert_str_ne(assets_url(a, "site.css"), first);
	assets_free(a);

	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(missing_dir_is_null)
{
	ck_assert_ptr_null(assets_load("/nonexistent/canopy/static"));
}
END_TEST

static Suite *assets_suite(void)
{
	Suite *s = suite_create("assets");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, urls_carry_a_content_hash);
	tcase_add_test(tc, missing_dir_is_null);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(assets_suite)
