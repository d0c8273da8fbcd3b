#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "multipart.h"

#define CT "multipart/form-data; boundary=----WebKitFormBoundaryX7"
#define B "------WebKitFormBoundaryX7"

static arena_t *a;

static void setup(void)
{
	a = arena_new(0);
}

static void teardown(void)
{
	arena_free(a);
}

/* Parses body (len bytes; -1: strlen) under content type ct; the parts in
 * *parts / *n, the reason in *why. */
static multipart_part_t *parts;
static size_t n;
static const char *why;

static int parse_lim(const char *ct, const char *body, long len,
		     const multipart_limits_t *lim)
{
	size_t l = len < 0 ? strlen(body) : (size_t)len;
	/* A copy of exactly l bytes, so ASan sees any read past the end. */
	char *copy = malloc(l ? l : 1);
	memcpy(copy, body, l);
	char *keep = arena_memdup(a, copy, l ? l : 1);
	free(copy);
	why = NULL;
	int rc = multipart_parse(a, str_c(ct), (str_t){keep, l}, lim, &parts,
				 &n, &why);
	if (rc) {
		ck_assert_ptr_nonnull(why);
		ck_assert_ptr_null(parts);
		ck_assert_uint_eq(n, 0);
	}
	return rc;
}

static int parse(const char *ct, const char *body)
{
	return parse_lim(ct, body, -1, NULL);
}

/* A body as a browser sends it: a field, a file with binary data that
 * holds CRLF, "--" and NUL, an empty file input. */
static const char browser_body[] =
	B "\r\n"
	"Content-Disposition: form-data; name=\"csrf\"\r\n"
	"\r\n"
	"tok-123\r\n"
	B "\r\n"
	"Content-Disposition: form-data; name=\"logo\"; filename=\"my logo.png\"\r\n"
	"Content-Type: image/png\r\n"
	"\r\n"
	"\x89PNG\r\n--not-the-boundary\r\n\0tail\r\n"
	B "\r\n"
	"Content-Disposition: form-data; name=\"other\"; filename=\"\"\r\n"
	"Content-Type: application/octet-stream\r\n"
	"\r\n"
	"\r\n"
	B "--\r\n";

START_TEST(browser_form)
{
	ck_assert_int_eq(parse_lim(CT, browser_body, sizeof browser_body - 1,
				   NULL),
			 0);
	ck_assert_uint_eq(n, 3);
	ck_assert(str_eq_c(parts[0].name, "csrf"));
	ck_assert_ptr_null(parts[0].filename.p);
	ck_assert_ptr_null(parts[0].content_type.p);
	ck_assert(str_eq_c(parts[0].data, "tok-123"));
	ck_assert(str_eq_c(parts[1].name, "logo"));
	ck_assert(str_eq_c(parts[1].filename, "my logo.png"));
	ck_assert(str_eq_c(parts[1].content_type, "image/png"));
	static const char data[] = "\x89PNG\r\n--not-the-boundary\r\n\0tail";
	ck_assert_uint_eq(parts[1].data.len, sizeof data - 1);
	ck_assert_mem_eq(parts[1].data.p, data, sizeof data - 1);
	ck_assert(str_eq_c(parts[2].name, "other"));
	ck_assert_ptr_nonnull(parts[2].filename.p);
	ck_assert_uint_eq(parts[2].filename.len, 0);
	ck_assert_uint_eq(parts[2].data.len, 0);
	ck_assert_ptr_eq(multipart_find(parts, n, "logo"), &parts[1]);
	ck_assert_ptr_null(multipart_find(parts, n, "Logo"));
	ck_assert_ptr_null(multipart_find(parts, n, "nope"));
}
END_TEST

START_TEST(curl_form_and_variants)
{
	/* curl's shape, a quoted boundary with a space and a colon,
	 * case-insensitive names, a parameter in the content type. */
	const char *ct = "Multipart/Form-Data; charset=utf-8; "
			 "BOUNDARY=\"a b:c\"";
	ck_assert_int_eq(parse(ct, "--a b:c\r\n"
				   "content-disposition: FORM-DATA; NAME=x\r\n"
				   "X-Ignored: yes\r\n"
				   "\r\n"
				   "1\r\n"
				   "--a b:c--"),
			 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(str_eq_c(parts[0].name, "x"));
	ck_assert(str_eq_c(parts[0].data, "1"));

	/* Transport padding after a boundary (RFC 2046). */
	ck_assert_int_eq(parse("multipart/form-data; boundary=b",
			       "--b \t\r\nContent-Disposition: form-data; "
			       "name=a\r\n\r\nv\r\n--b--\r\n"),
			 0);
	ck_assert(str_eq_c(parts[0].data, "v"));

	/* An empty form, with and without the final CRLF. */
	ck_assert_int_eq(parse("multipart/form-data; boundary=b", "--b--\r\n"), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(parts);
	ck_assert_int_eq(parse("multipart/form-data; boundary=b", "--b--"), 0);

	/* The boundary without a CRLF before it is data. */
	ck_assert_int_eq(parse("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=a\r\n"
			       "\r\nx--b--b\r\n--b--"),
			 0);
	ck_assert(str_eq_c(parts[0].data, "x--b--b"));
}
END_TEST

START_TEST(boundary_rules)
{
	str_t b;
	ck_assert_int_eq(multipart_boundary(STR("multipart/form-data; boundary=xyz"),
					    &b, &why),
			 0);
	ck_assert(str_eq_c(b, "xyz"));
	const char *body = "--b--";
	ck_assert_int_eq(parse("application/x-www-form-urlencoded", body),
			 ERR_MEDIA_TYPE);
	ck_assert_int_eq(parse("multipart/mixed; boundary=b", body),
			 ERR_MEDIA_TYPE);
	ck_assert_int_eq(parse("", body), ERR_MEDIA_TYPE);
	ck_assert_int_eq(parse("multipart/form-data", body), ERR_INVALID);
	ck_assert_int_eq(parse("multipart/form-data;", body), ERR_INVALID);
	ck_assert_int_eq(parse("multipart/form-data; boundary=", body),
			 ERR_INVALID);
	ck_assert_int_eq(parse("multipart/form-data; boundary=\"\"", body),
			 ERR_INVALID);
	ck_assert_int_eq(parse("multipart/form-data; boundary=b; boundary=c",
			       body),
			 ERR_INVALID);
	ck_assert_int_eq(parse("multipart/form-data; boundary=\"b", body),
			 ERR_INVALID);
	ck_assert_int_eq(parse("multipart/form-data; boundary=\"b \"", body),
			 ERR_INVALID); /* ends in a space */
	ck_assert_int_eq(parse("multipart/form-data; boundary=\"b\\\"", body),
			 ERR_INVALID); /* a backslash is no bchar */
	ck_assert_int_eq(parse("multipart/form-data; boundary=b c", body),
			 ERR_INVALID); /* needs quotes */
	ck_assert_int_eq(parse("multipart/form-data; boundary=\"a\x01\"", body),
			 ERR_INVALID);
	ck_assert_int_eq(parse("multipart/form-data; boundary=b x=y", body),
			 ERR_INVALID);
	/* 70 bytes is the most RFC 2046 allows. */
	char ct[200], bd[200];
	snprintf(ct, sizeof ct, "multipart/form-data; boundary=%070d", 7);
	snprintf(bd, sizeof bd, "--%070d--", 7);
	ck_assert_int_eq(parse(ct, bd), 0);
	snprintf(ct, sizeof ct, "multipart/form-data; boundary=%071d", 7);
	snprintf(bd, sizeof bd, "--%071d--", 7);
	ck_assert_int_eq(parse(ct, bd), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(why, "70"));
}
END_TEST

#define CTB "multipart/form-data; boundary=b"
#define CD "Content-Disposition: form-data; name=\"f\"\r\n"

START_TEST(malformed_bodies)
{
	static const char *const bad[] = {
		/* preamble, or no boundary at all */
		"preamble\r\n--b\r\n" CD "\r\nv\r\n--b--",
		"",
		"--c\r\n" CD "\r\nv\r\n--c--",
		/* truncated: in the headers, in the data, no final delimiter */
		"--b\r\nContent-Disposition: form-da",
		"--b\r\n" CD,
		"--b\r\n" CD "\r\nv",
		"--b\r\n" CD "\r\nv\r\n--b",
		"--b\r\n" CD "\r\nv\r\n--b\r\n",
		"--b\r\n" CD "\r\nv\r\n--b-",
		/* an epilogue, or junk after the close delimiter */
		"--b\r\n" CD "\r\nv\r\n--b--\r\nepilogue",
		"--b\r\n" CD "\r\nv\r\n--b--junk",
		"--b\r\n" CD "\r\nv\r\n--b--\r\n\r\n",
		/* the boundary inside a part */
		"--b\r\n" CD "\r\nv\r\n--bX\r\n--b--",
		/* LF or CR alone */
		"--b\n" CD "\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"f\"\n\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"f\"\r\r\n\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: form-data;\rname=\"f\"\r\n\r\nv\r\n--b--",
		/* a folded header, a line that is not a header */
		"--b\r\nContent-Disposition: form-data;\r\n name=\"f\"\r\n\r\nv\r\n--b--",
		"--b\r\n" CD "garbage\r\n\r\nv\r\n--b--",
		"--b\r\n" CD "Content-Type : text/plain\r\n\r\nv\r\n--b--",
		"--b\r\n" CD ": empty\r\n\r\nv\r\n--b--",
		/* Content-Disposition missing, doubled, wrong or incomplete */
		"--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--",
		"--b\r\n" CD CD "\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: attachment; name=\"f\"\r\n\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"f\r\n\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=f; name=g\r\n\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=f; Name=g\r\n\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"f\"; "
		"filename*=UTF-8''x.png\r\n\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"f\"x\r\n\r\nv\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\r\n\r\nv\r\n--b--",
		/* header injection through a filename with CR LF in it */
		"--b\r\nContent-Disposition: form-data; name=\"f\"; "
		"filename=\"a.png\r\nContent-Type: image/png\"\r\n\r\nv\r\n--b--",
		/* a second Content-Type, a malformed one, a transfer encoding */
		"--b\r\n" CD "Content-Type: image/png\r\nContent-Type: text/html\r\n"
		"\r\nv\r\n--b--",
		"--b\r\n" CD "Content-Type: image\r\n\r\nv\r\n--b--",
		"--b\r\n" CD "Content-Type: image/png; x\r\n\r\nv\r\n--b--",
		"--b\r\n" CD "Content-Transfer-Encoding: base64\r\n\r\ndg==\r\n--b--",
		/* a control byte in a header value */
		"--b\r\n" CD "X-A: \x01\r\n\r\nv\r\n--b--",
		/* no CRLF after the first boundary */
		"--b" CD "\r\nv\r\n--b--",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = parse(CTB, bad[i]);
		if (rc != ERR_INVALID)
			ck_abort_msg("case %zu: rc %d, want ERR_INVALID: %s", i,
				     rc, bad[i]);
	}
}
END_TEST

START_TEST(every_truncation_fails)
{
	size_t len = sizeof browser_body - 1;
	for (size_t l = 0; l < len; l++) {
		int rc = parse_lim(CT, browser_body, (long)l, NULL);
		/* Only the body without its final CRLF is whole. */
		if (l == len - 2)
			ck_assert_int_eq(rc, 0);
		else if (rc != ERR_INVALID)
			ck_abort_msg("prefix of %zu bytes: rc %d", l, rc);
	}
}
END_TEST

START_TEST(limits)
{
	char body[4096];
	size_t o = 0;
	for (int i = 0; i < 4; i++)
		o += (size_t)snprintf(body + o, sizeof body - o,
				      "--b\r\nContent-Disposition: form-data; "
				      "name=\"p%d\"\r\n\r\n%d\r\n",
				      i, i);
	snprintf(body + o, sizeof body - o, "--b--\r\n");
	multipart_limits_t lim = {.max_parts = 4};
	ck_assert_int_eq(parse_lim(CTB, body, -1, &lim), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert(str_eq_c(parts[3].data, "3"));
	lim.max_parts = 3;
	ck_assert_int_eq(parse_lim(CTB, body, -1, &lim), ERR_TOO_LARGE);
	ck_assert_ptr_nonnull(strstr(why, "parts"));

	/* The default part limit. */
	size_t cap = 100 * (MULTIPART_PARTS_MAX + 2);
	char *many = arena_alloc(a, cap);
	o = 0;
	for (int i = 0; i < MULTIPART_PARTS_MAX + 1; i++)
		o += (size_t)snprintf(many + o, cap - o, "--b\r\n" CD "\r\n%d\r\n", i);
	snprintf(many + o, cap - o, "--b--");
	ck_assert_int_eq(parse(CTB, many), ERR_TOO_LARGE);

	/* The body limit. */
	lim = (multipart_limits_t){.max_body = strlen(body) - 1};
	ck_assert_int_eq(parse_lim(CTB, body, -1, &lim), ERR_TOO_LARGE);
	lim.max_body = strlen(body);
	ck_assert_int_eq(parse_lim(CTB, body, -1, &lim), 0);

	/* A header block over its limit; too many header lines. */
	char big[8192];
	o = (size_t)snprintf(big, sizeof big,
			     "--b\r\nContent-Disposition: form-data; name=f\r\n"
			     "X-Long: ");
	memset(big + o, 'x', 3000);
	o += 3000;
	snprintf(big + o, sizeof big - o, "\r\n\r\nv\r\n--b--");
	ck_assert_int_eq(parse(CTB, big), ERR_TOO_LARGE);
	lim = (multipart_limits_t){.max_header = 4096};
	ck_assert_int_eq(parse_lim(CTB, big, -1, &lim), 0);
	o = (size_t)snprintf(big, sizeof big, "--b\r\n" CD);
	for (int i = 0; i < MULTIPART_HEADER_LINES; i++)
		o += (size_t)snprintf(big + o, sizeof big - o, "X-H%d: 1\r\n", i);
	snprintf(big + o, sizeof big - o, "\r\nv\r\n--b--");
	ck_assert_int_eq(parse(CTB, big), ERR_TOO_LARGE);
}
END_TEST

/* Single bytes of a valid body changed at random: every answer is one
 * of the documented ones, and accepted parts lie inside the body (ASan
 * watches the reads). */
START_TEST(mutations)
{
	size_t len = sizeof browser_body - 1;
	char *m = malloc(len);
	srand(7);
	int ok = 0;
	for (int round = 0; round < 20000; round++) {
		memcpy(m, browser_body, len);
		int changes = 1 + rand() % 3;
		for (int k = 0; k < changes; k++) {
			static const char pick[] = "\r\n-\"; :=\0xb";
			m[rand() % (int)len] = rand() % 2
						       ? pick[rand() % (sizeof pick - 1)]
						       : (char)rand();
		}
		size_t l = (size_t)rand() % 8 ? len : (size_t)rand() % len;
		int rc = parse_lim(CT, m, (long)l, NULL);
		ck_assert(rc == 0 || rc == ERR_INVALID || rc == ERR_TOO_LARGE);
		if (rc == 0) {
			ok++;
			for (size_t i = 0; i < n; i++)
				ck_assert(parts[i].name.len > 0);
		}
	}
	free(m);
	ck_assert_int_gt(ok, 0);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc = tcase_create("all");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, browser_form);
	tcase_add_test(tc, curl_form_and_variants);
	tcase_add_test(tc, boundary_rules);
	tcase_add_test(tc, malformed_bodies);
	tcase_add_test(tc, every_truncation_fails);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, mutations);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
