#include <jansson.h>
#include <string.h>

#include "admin_site.h"
#include "check_util.h"
#include "err.h"
#include "page.h"
#include "theme.h"

/* A posted form: NULL-terminated name, value pairs. */
static str_t get(void *ctx, const char *name)
{
	const char *const *kv = ctx;
	for (; kv[0]; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return str_c(kv[1]);
	return (str_t){NULL, 0};
}

static const char *const full[] = {
	"hero.eyebrow", "",
	"hero.headline", "  Hello there ",
	"hero.subheadline", "",
	"hero.primary_cta.label", "Go",
	"hero.primary_cta.href", "#cta",
	"hero.secondary_cta.label", "",
	"hero.secondary_cta.href", "",
	"features.title", "What we do",
	"features.items[0].icon", "bolt",
	"features.items[0].title", "Fast",
	"features.items[0].body", "Very.",
	"features.items[1].icon", "sparkles",
	"features.items[1].title", "Bright",
	"features.items[1].body", "Shiny.",
	"status.eyebrow", "",
	"status.title", "",
	"status.subtitle", "",
	"cta.headline", "Join",
	"cta.body", "",
	"cta.button.label", "Sign up",
	"cta.button.href", "https://example.com/signup",
	"seo.title", "",
	"seo.description", "",
	"footer.tagline", "Made with care",
	NULL, NULL,
};

START_TEST(form_builds_a_valid_page)
{
	json_t *page = admin_site_page_from_form(get, (void *)full);
	json_t *problems = NULL;
	ck_assert_int_eq(page_check(page, &problems), 0);
	json_decref(problems);
	json_t *hero = json_object_get(page, "hero");
	ck_assert_str_eq(json_string_value(json_object_get(hero, "headline")),
			 "Hello there");
	/* empty optional parts are left out, not saved as "" */
	ck_assert_ptr_null(json_object_get(hero, "eyebrow"));
	ck_assert_ptr_null(json_object_get(hero, "secondary_cta"));
	ck_assert_ptr_null(json_object_get(page, "status"));
	ck_assert_ptr_null(json_object_get(page, "seo"));
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(page, "footer"), "tagline")),
			 "Made with care");
	json_t *items = json_object_get(json_object_get(page, "features"),
					"items");
	ck_assert_uint_eq(json_array_size(items), 2);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(items, 1), "icon")),
			 "sparkles");
	json_decref(page);
}
END_TEST

START_TEST(form_problems_are_named_by_input)
{
	const char *const bad[] = {
		"hero.headline", "   ",
		"hero.primary_cta.label", "Go",
		"hero.primary_cta.href", "javascript:x",
		"hero.secondary_cta.label", "Only a label",
		"features.title", "T",
		"features.items[0].icon", "no-such-icon",
		"features.items[0].title", "A",
		"features.items[0].body", "B",
		"cta.headline", "C",
		"cta.button.label", "D",
		"cta.button.href", "#top",
		NULL, NULL,
	};
	json_t *page = admin_site_page_from_form(get, (void *)bad);
	json_t *problems = NULL;
	ck_assert_int_eq(page_check(page, &problems), ERR_INVALID);
	const char *want[] = {"hero.headline", "hero.primary_cta.href",
			      "hero.secondary_cta.href",
			      "features.items[0].icon"};
	for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
		bool found = false;
		size_t i;
		json_t *p;
		json_array_foreach(problems, i, p) {
			const char *f = json_string_value(json_object_get(p, "field"));
			if (f && strcmp(f, want[w]) == 0)
				found = true;
		}
		ck_assert_msg(found, "no problem reported for %s", want[w]);
	}
	json_decref(problems);
	json_decref(page);
}
END_TEST

static const char *title_at(json_t *page, size_t i)
{
	return json_string_value(json_object_get(
		json_array_get(json_object_get(json_object_get(page, "features"),
					       "items"),
			       i),
		"title"));
}

START_TEST(item_buttons)
{
	json_t *page = admin_site_page_from_form(get, (void *)full);
	ck_assert_int_eq(admin_site_items_op(page, STR("down:0")), 0);
	ck_assert_str_eq(title_at(page, 0), "Bright");
	ck_assert_str_eq(title_at(page, 1), "Fast");
	ck_assert_int_eq(admin_site_items_op(page, STR("up:1")), 0);
	ck_assert_str_eq(title_at(page, 0), "Fast");
	ck_assert_int_eq(admin_site_items_op(page, STR("up:0")), ERR_INVALID);
	ck_assert_int_eq(admin_site_items_op(page, STR("down:1")), ERR_INVALID);
	ck_assert_int_eq(admin_site_items_op(page, STR("remove:7")), ERR_INVALID);
	ck_assert_int_eq(admin_site_items_op(page, STR("explode:0")), ERR_INVALID);
	ck_assert_int_eq(admin_site_items_op(page, STR("add")), 0);
	ck_assert_str_eq(title_at(page, 2), "");
	ck_assert_int_eq(admin_site_items_op(page, STR("remove:0")), 0);
	ck_assert_str_eq(title_at(page, 0), "Bright");
	ck_assert_int_eq(admin_site_items_op(page, STR("remove:1")), 0);
	/* the last item stays: a page needs one */
	ck_assert_int_eq(admin_site_items_op(page, STR("remove:0")), ERR_INVALID);
	for (int i = 1; i < ADMIN_SITE_ITEMS_MAX; i++)
		ck_assert_int_eq(admin_site_items_op(page, STR("add")), 0);
	ck_assert_int_eq(admin_site_items_op(page, STR("add")), ERR_INVALID);
	json_decref(page);
}
END_TEST

static const char *color_of(const json_t *theme, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(theme, "colors"), key));
}

START_TEST(theme_text_or_picker)
{
	json_t *cur = theme_default_new();
	const char *const form[] = {
		/* text changed, picker untouched: the text */
		"colors.primary", " #123456 ", "pick.colors.primary", "#4338ca",
		"was.colors.primary", "#4338ca",
		/* picker moved, text untouched: the picker */
		"colors.muted", "#475569", "pick.colors.muted", "#334155",
		"was.colors.muted", "#475569",
		/* both changed: the text */
		"colors.text", "#000000", "pick.colors.text", "#111111",
		"was.colors.text", "#0f172a",
		/* a bad text left as it was and a picker showing black: kept */
		"colors.surface", "#zz", "pick.colors.surface", "#000000",
		"was.colors.surface", "#zz",
		"rounded", "sm",
		NULL, NULL,
	};
	json_t *t = admin_site_theme_from_form(cur, get, (void *)form);
	ck_assert_str_eq(color_of(t, "primary"), "#123456");
	ck_assert_str_eq(color_of(t, "muted"), "#334155");
	ck_assert_str_eq(color_of(t, "text"), "#000000");
	ck_assert_str_eq(color_of(t, "surface"), "#zz");
	/* untouched by the form: kept from the current theme */
	ck_assert_str_eq(color_of(t, "background"), color_of(cur, "background"));
	ck_assert_str_eq(json_string_value(json_object_get(t, "rounded")), "sm");
	/* the current theme is not changed */
	ck_assert_str_ne(color_of(cur, "primary"), "#123456");
	json_t *problems = NULL;
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	json_decref(problems);
	json_decref(t);
	json_decref(cur);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("admin_site");
	TCase *tc = tcase_create("form");
	tcase_add_test(tc, form_builds_a_valid_page);
	tcase_add_test(tc, form_problems_are_named_by_input);
	tcase_add_test(tc, item_buttons);
	tcase_add_test(tc, theme_text_or_picker);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
