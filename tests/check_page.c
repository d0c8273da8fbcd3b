#include <jansson.h>
#include <string.h>

#include "check_util.h"
#include "err.h"
#include "page.h"

#define MINIMAL_PAGE                                                        \
	"{\"hero\":{\"headline\":\"Hello\",\"primary_cta\":"                \
	"{\"label\":\"Go\",\"href\":\"#cta\"}},"                           \
	"\"features\":{\"title\":\"What we do\",\"items\":[{\"icon\":"    \
	"\"bolt\",\"title\":\"Fast\",\"body\":\"Very.\"}]},"               \
	"\"cta\":{\"headline\":\"Join\",\"button\":{\"label\":\"Sign up\"," \
	"\"href\":\"https://example.com/signup\"}}}"

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &e);
	ck_assert_msg(j != NULL, "bad test JSON: %s", e.text);
	return j;
}

static json_t *demo_page(void)
{
	json_error_t e;
	json_t *j = json_load_file(TOP_SRCDIR "/sql/seed/demo-page.json", 0, &e);
	ck_assert_msg(j != NULL, "demo-page.json: %d: %s", e.line, e.text);
	return j;
}

static const char *message_for(const json_t *problems, const char *field)
{
	size_t i;
	json_t *p;
	json_array_foreach(problems, i, p) {
		const char *f = json_string_value(json_object_get(p, "field"));
		if (f && !strcmp(f, field))
			return json_string_value(json_object_get(p, "message"));
	}
	return NULL;
}

/* Checks page, asserts it is refused with a problem on field, and
 * returns that message (valid until problems is freed by the caller). */
static const char *refused(json_t *page, const char *field, json_t **problems)
{
	ck_assert_int_eq(page_check(page, problems), ERR_INVALID);
	const char *m = message_for(*problems, field);
	char *dump = json_dumps(*problems, 0);
	ck_assert_msg(m != NULL, "no problem for %s in %s", field, dump);
	free(dump);
	return m;
}

/* Sets a member by dotted path in page (objects must exist). */
static void set(json_t *page, const char *path, json_t *value)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", path);
	json_t *obj = page;
	char *key = buf, *dot;
	while ((dot = strchr(key, '.'))) {
		*dot = '\0';
		obj = json_object_get(obj, key);
		ck_assert_ptr_nonnull(obj);
		key = dot + 1;
	}
	if (value)
		json_object_set_new(obj, key, value);
	else
		json_object_del(obj, key);
}

START_TEST(valid_pages_pass)
{
	json_t *problems = NULL;
	json_t *p = demo_page();
	ck_assert_int_eq(page_check(p, &problems), 0);
	ck_assert_uint_eq(json_array_size(problems), 0);
	json_decref(problems);
	json_decref(p);

	p = load(MINIMAL_PAGE);
	ck_assert_int_eq(page_check(p, NULL), 0);
	set(p, "hero.secondary_cta", json_null());
	set(p, "status", json_null());
	ck_assert_int_eq(page_check(p, NULL), 0);
	json_decref(p);
}
END_TEST

START_TEST(reports_missing_required_fields)
{
	json_t *problems = NULL;
	json_t *p = load(MINIMAL_PAGE);
	set(p, "hero.headline", NULL);
	set(p, "cta.button", NULL);
	set(p, "features.items", NULL);
	ck_assert_ptr_nonnull(strstr(refused(p, "hero.headline", &problems),
				     "Missing"));
	ck_assert_ptr_nonnull(message_for(problems, "cta.button"));
	ck_assert_ptr_nonnull(message_for(problems, "features.items"));
	ck_assert_uint_eq(json_array_size(problems), 3);
	json_decref(problems);
	json_decref(p);

	p = load("{}");
	refused(p, "hero", &problems);
	ck_assert_ptr_nonnull(message_for(problems, "features"));
	ck_assert_ptr_nonnull(message_for(problems, "cta"));
	json_decref(problems);
	json_decref(p);

	p = load("\"page\"");
	ck_assert_int_eq(page_check(p, &problems), ERR_INVALID);
	ck_assert_uint_eq(json_array_size(problems), 1);
	json_decref(problems);
	json_decref(p);
}
END_TEST

START_TEST(bounds_feature_items)
{
	json_t *problems = NULL;
	json_t *p = load(MINIMAL_PAGE);
	set(p, "features.items", json_array());
	refused(p, "features.items", &problems);
	json_decref(problems);

	json_t *items = json_array();
	for (int i = 0; i < 13; i++)
		json_array_append_new(items,
				      load("{\"icon\":\"star\",\"title\":\"T\","
					   "\"body\":\"B\"}"));
	set(p, "features.items", items);
	ck_assert_ptr_nonnull(strstr(refused(p, "features.items", &problems),
				     "13"));
	json_decref(problems);

	json_array_remove(items, 0);
	ck_assert_int_eq(page_check(p, NULL), 0);

	json_object_set_new(json_array_get(items, 2), "icon",
			    json_string("skull"));
	json_object_del(json_array_get(items, 5), "icon");
	json_object_set_new(json_array_get(items, 7), "title", json_string(""));
	json_object_set_new(json_array_get(items, 8), "colour",
			    json_string("red"));
	ck_assert_ptr_nonnull(strstr(
		refused(p, "features.items[2].icon", &problems), "sparkles"));
	ck_assert_ptr_nonnull(message_for(problems, "features.items[5].icon"));
	ck_assert_ptr_nonnull(message_for(problems, "features.items[7].title"));
	ck_assert_ptr_nonnull(message_for(problems, "features.items[8].colour"));
	ck_assert_uint_eq(json_array_size(problems), 4);
	json_decref(problems);
	json_decref(p);
}
END_TEST

START_TEST(checks_hrefs)
{
	static const char *const good[] = {
		"https://example.com/", "https://a.example/x?y=1&z=2#k",
		"HTTPS://EXAMPLE.COM", "http://localhost:8080/",
		"mailto:hello@example.com?subject=Hi%20there",
		"tel:+44(0)131-496-0000", "/", "/pricing", "/a/b?c=d", "#",
		"#features", "https://caf\xc3\xa9.example/",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(page_href_ok(good[i], strlen(good[i])), "%s",
			      good[i]);
	static const char *const bad[] = {
		"javascript:alert(1)", "JavaScript:alert(1)",
		" javascript:alert(1)", "java\tscript:alert(1)",
		"java\nscript:alert(1)", "vbscript:x", "data:text/html,<b>x</b>",
		"//evil.example/", "/\\evil.example", "\\\\evil", "https://",
		"https:///path", "http:/x", "mailto:", "tel:", "tel:call-me",
		"https://example.com/\"onmouseover=x", "https://a.example/<s>",
		"https://a.example/ x", "ftp://a.example/", "example.com", "",
		"https://a.example/'x", "https://a.example/`x`",
		"https://a.example/\x7f",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!page_href_ok(bad[i], strlen(bad[i])), "%s",
			      bad[i]);
	ck_assert(!page_href_ok("https://a.example/\0x", 19));
	ck_assert(!page_href_ok("https://a.example/\xff", 19));

	json_t *problems = NULL;
	json_t *p = load(MINIMAL_PAGE);
	set(p, "hero.primary_cta.href", json_string("javascript:alert(1)"));
	set(p, "cta.button.href", json_integer(3));
	set(p, "hero.secondary_cta",
	    load("{\"label\":\"More\",\"href\":\"//evil.example\"}"));
	ck_assert_ptr_nonnull(strstr(
		refused(p, "hero.primary_cta.href", &problems), "javascript:"));
	ck_assert_ptr_nonnull(message_for(problems, "cta.button.href"));
	ck_assert_ptr_nonnull(message_for(problems, "hero.secondary_cta.href"));
	ck_assert_uint_eq(json_array_size(problems), 3);
	json_decref(problems);
	json_decref(p);
}
END_TEST

START_TEST(checks_text)
{
	json_t *problems = NULL;
	json_t *p = load(MINIMAL_PAGE);
	char long_text[200];
	memset(long_text, 'a', 121);
	long_text[121] = '\0';
	set(p, "hero.headline", json_string(long_text));
	/* 60 two-byte characters fit in an eyebrow of 60. */
	char accents[130] = "";
	for (int i = 0; i < 60; i++)
		memcpy(accents + 2 * i, "\xc3\xa9", 3);
	set(p, "hero.eyebrow", json_string(accents));
	set(p, "hero.subheadline", json_stringn_nocheck("bad \xff byte", 10));
	set(p, "cta.headline", json_string("   "));
	set(p, "cta.body", json_string("bell\x07"));
	set(p, "features.title", json_integer(1));
	set(p, "seo", load("{\"title\":\"ok\",\"keywords\":\"x\"}"));
	ck_assert_ptr_nonnull(
		strstr(refused(p, "hero.headline", &problems), "121"));
	ck_assert_ptr_null(message_for(problems, "hero.eyebrow"));
	ck_assert_ptr_nonnull(strstr(message_for(problems, "hero.subheadline"),
				     "UTF-8"));
	ck_assert_ptr_nonnull(strstr(message_for(problems, "cta.headline"),
				     "empty"));
	ck_assert_ptr_nonnull(strstr(message_for(problems, "cta.body"),
				     "control"));
	ck_assert_ptr_nonnull(message_for(problems, "features.title"));
	ck_assert_ptr_nonnull(strstr(message_for(problems, "seo.keywords"),
				     "Unknown"));
	ck_assert_uint_eq(json_array_size(problems), 6);
	json_decref(problems);

	/* An embedded NUL is a control character too. */
	set(p, "hero.eyebrow", json_stringn("x\0y", 3));
	ck_assert_ptr_nonnull(strstr(refused(p, "hero.eyebrow", &problems),
				     "control"));
	json_decref(problems);
	json_decref(p);
}
END_TEST

START_TEST(fills_defaults)
{
	json_t *p = load(MINIMAL_PAGE);
	json_t *items = json_object_get(json_object_get(p, "features"), "items");
	json_array_append_new(items, load("{\"icon\":\"leaf\",\"title\":\"T\","
					  "\"body\":\"B\"}"));
	ck_assert_int_eq(page_check(p, NULL), 0);
	json_t *d = page_defaults_new(p);
	ck_assert_ptr_ne(d, p);
	/* The input is untouched. */
	ck_assert_ptr_null(json_object_get(p, "status"));

	json_t *f = json_object_get(d, "features");
	ck_assert_int_eq(json_integer_value(json_object_get(f, "count")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(f, "columns")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(f, "eyebrow")),
			 "Features");
	json_t *it = json_array_get(json_object_get(f, "items"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(it, "icon_partial")),
			 "partials/icons/leaf");
	ck_assert_int_eq(json_integer_value(json_object_get(it, "index")), 2);

	json_t *hero = json_object_get(d, "hero");
	ck_assert(json_is_null(json_object_get(hero, "secondary_cta")));
	json_t *seo = json_object_get(d, "seo");
	ck_assert_str_eq(json_string_value(json_object_get(seo, "title")),
			 "Hello");
	ck_assert_str_eq(json_string_value(json_object_get(seo, "description")),
			 "");
	json_t *status = json_object_get(d, "status");
	ck_assert_str_eq(json_string_value(json_object_get(status, "title")),
			 "Our automations");
	ck_assert_ptr_nonnull(json_object_get(status, "subtitle"));
	json_decref(d);
	json_decref(p);

	/* Given values win over defaults; 6 items make 3 columns. */
	p = demo_page();
	d = page_defaults_new(p);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(d, "status"), "title")),
			 "Our automations, live");
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(d, "features"), "columns")),
			 3);
	ck_assert(json_is_object(json_object_get(json_object_get(d, "hero"),
						 "secondary_cta")));
	json_decref(d);
	json_decref(p);
}
END_TEST

START_TEST(knows_icons)
{
	ck_assert(page_icon_known("bolt"));
	ck_assert(page_icon_known("users"));
	ck_assert(!page_icon_known("Bolt"));
	ck_assert(!page_icon_known("../bolt"));
	ck_assert(!page_icon_known(""));
	ck_assert(!page_icon_known(NULL));
	/* Every icon has its partial in the tree. */
	for (const char *const *i = page_icons; *i; i++) {
		char path[256];
		snprintf(path, sizeof path,
			 TOP_SRCDIR "/templates/partials/icons/%s.mustache", *i);
		FILE *f = fopen(path, "r");
		ck_assert_msg(f != NULL, "missing %s", path);
		fclose(f);
	}
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("page");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, valid_pages_pass);
	tcase_add_test(tc, reports_missing_required_fields);
	tcase_add_test(tc, bounds_feature_items);
	tcase_add_test(tc, checks_hrefs);
	tcase_add_test(tc, checks_text);
	tcase_add_test(tc, fills_defaults);
	tcase_add_test(tc, knows_icons);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
