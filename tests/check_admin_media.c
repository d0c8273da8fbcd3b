/* lib/admin_media: storing uploads by content hash.  (The screen itself
 * is driven through nginx by tests/integration/44-admin-logo.sh.) */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_media.h"
#include "check_util.h"
#include "crypto.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/canopy-media-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int entries(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	char *buf = malloc(4096);
	*n = fread(buf, 1, 4096, f);
	fclose(f);
	return buf;
}

START_TEST(stores_by_content_hash)
{
	static const char png[] = "\x89PNG\r\n\x1a\n fake but binary \0 bytes";
	str_t data = {png, sizeof png - 1};
	char name[ADMIN_MEDIA_NAME_SIZE], hex[CRYPTO_SHA256_HEX_SIZE];
	ck_assert_int_eq(admin_media_store(dir, data, "png", name), 0);
	crypto_sha256_hex(data.p, data.len, hex);
	char want[ADMIN_MEDIA_NAME_SIZE];
	snprintf(want, sizeof want, "%s.png", hex);
	ck_assert_str_eq(name, want);

	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	size_t n;
	char *back = slurp(path, &n);
	ck_assert_uint_eq(n, data.len);
	ck_assert_mem_eq(back, data.p, n);
	free(back);
	ck_assert_int_eq(entries(), 1); /* no temporary file left */

	/* The same content again: the same name, the file not rewritten. */
	ino_t ino = st.st_ino;
	char again[ADMIN_MEDIA_NAME_SIZE];
	ck_assert_int_eq(admin_media_store(dir, data, "png", again), 0);
	ck_assert_str_eq(again, name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_ino, ino);
	ck_assert_int_eq(entries(), 1);

	/* A file of that name but another size (cut short by hand) is
	 * replaced. */
	ck_assert_int_eq(truncate(path, 3), 0);
	ck_assert_int_eq(admin_media_store(dir, data, "png", again), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((size_t)st.st_size, data.len);

	/* Other content, other name. */
	ck_assert_int_eq(admin_media_store(dir, STR("other"), "webp", again), 0);
	ck_assert_str_ne(again, name);
	ck_assert_ptr_nonnull(strstr(again, ".webp"));
	ck_assert_int_eq(entries(), 2);
}
END_TEST

START_TEST(refuses_bad_input)
{
	char name[ADMIN_MEDIA_NAME_SIZE];
	ck_assert_int_eq(admin_media_store(dir, STR("x"), "", name), ERR_INVALID);
	ck_assert_int_eq(admin_media_store(dir, STR("x"), "jpeg2", name),
			 ERR_INVALID);
	ck_assert_int_eq(admin_media_store(dir, STR("x"), "../x", name),
			 ERR_INVALID);
	ck_assert_int_eq(admin_media_store(dir, STR("x"), "PNG", name),
			 ERR_INVALID);
	ck_assert_int_eq(admin_media_store(NULL, STR("x"), "png", name),
			 ERR_INVALID);
	char missing[128];
	snprintf(missing, sizeof missing, "%s/not-there", dir);
	ck_assert_int_eq(admin_media_store(missing, STR("x"), "png", name),
			 ERR_INTERNAL);
	ck_assert_int_eq(entries(), 0);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("admin_media");
	TCase *tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stores_by_content_hash);
	tcase_add_test(tc, refuses_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
