#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "config.h"

static const char *vars[] = {"CANOPY_CONFIG", "DATABASE_URL", "CANOPY_DOMAIN",
			     "CANOPY_HTTPS_PORT", "LOG_LEVEL", "BUILDER_KIND",
			     "CANOPY_SECRET_KEY", "OPENAI_BASE_URL",
			     "CANOPY_MEDIA_DIR", NULL};

static void clean_env(void)
{
	for (int i = 0; vars[i]; i++)
		unsetenv(vars[i]);
}

START_TEST(defaults_apply)
{
	clean_env();
	config_t c;
	char err[CONFIG_ERR_MAX];
	ck_assert_int_eq(config_load(&c, err, sizeof err), 0);
	ck_assert_str_eq(c.domain, "canopy.localhost");
	ck_assert_int_eq(c.https_port, 443);
	ck_assert_str_eq(c.builder_kind, "n8n");
	ck_assert_int_eq(config_require(&c, "DATABASE_URL", err, sizeof err),
			 ERR_INVALID);
	ck_assert_str_eq(err, "DATABASE_URL is required");
}
END_TEST

START_TEST(malformed_values_are_named)
{
	config_t c;
	char err[CONFIG_ERR_MAX];
	clean_env();
	setenv("CANOPY_HTTPS_PORT", "99999", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "CANOPY_HTTPS_PORT"));
	clean_env();
	setenv("CANOPY_DOMAIN", "Bad_Domain", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "CANOPY_DOMAIN"));
	clean_env();
	setenv("CANOPY_SECRET_KEY", "abc", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "CANOPY_SECRET_KEY"));
	clean_env();
	setenv("BUILDER_KIND", "zapier", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "BUILDER_KIND"));
	clean_env();
	setenv("CANOPY_MEDIA_DIR", "relative/media", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "CANOPY_MEDIA_DIR"));
	setenv("CANOPY_MEDIA_DIR", "/srv/canopy/media", 1);
	ck_assert_int_eq(config_load(&c, err, sizeof err), 0);
	ck_assert_str_eq(config_get(&c, "CANOPY_MEDIA_DIR"), "/srv/canopy/media");
}
END_TEST

START_TEST(file_values_yield_to_environment)
{
	clean_env();
	char path[] = "/tmp/canopy-config-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char *text = "# test\nDATABASE_URL = postgresql:///x\n\n"
			   "CANOPY_DOMAIN=file.example\nCANOPY_HTTPS_PORT=8443\n";
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	setenv("CANOPY_CONFIG", path, 1);
	setenv("CANOPY_DOMAIN", "env.example", 1);
	config_t c;
	char err[CONFIG_ERR_MAX];
	ck_assert_int_eq(config_load(&c, err, sizeof err), 0);
	ck_assert_str_eq(c.database_url, "postgresql:///x");
	ck_assert_str_eq(c.domain, "env.example");
	ck_assert_int_eq(c.https_port, 8443);
	char origin[128];
	ck_assert_str_eq(config_origin(&c, "demo.env.example", origin, sizeof origin),
			 "https://demo.env.example:8443");
	unlink(path);
	clean_env();
}
END_TEST

START_TEST(bad_file_lines_are_reported)
{
	clean_env();
	char path[] = "/tmp/canopy-config-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "GOOD=1\nthis line is wrong\n";
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	setenv("CANOPY_CONFIG", path, 1);
	config_t c;
	char err[CONFIG_ERR_MAX];
	ck_assert_int_eq(config_load(&c, err, sizeof err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	unlink(path);
	clean_env();
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, defaults_apply);
	tcase_add_test(tc, malformed_values_are_named);
	tcase_add_test(tc, file_values_yield_to_environment);
	tcase_add_test(tc, bad_file_lines_are_reported);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(config_suite)
