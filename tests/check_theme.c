#include <jansson.h>
#include <string.h>

#include "buf.h"
#include "check_util.h"
#include "err.h"
#include "theme.h"

#define GOOD_THEME                                                          \
	"{\"colors\":{\"primary\":\"#4338ca\",\"on_primary\":\"#ffffff\","  \
	"\"background\":\"#ffffff\",\"surface\":\"#f5f7fb\","               \
	"\"text\":\"#0f172a\",\"muted\":\"#475569\"},"                      \
	"\"gradients\":{\"primary\":"                                       \
	"\"linear-gradient(135deg, #4338ca 0%, #7c3aed 100%)\"},"           \
	"\"font\":{\"family\":\"Inter\"},\"rounded\":\"lg\"}"

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	ck_assert_msg(j != NULL, "bad test JSON: %s", e.text);
	return j;
}

/* The good theme with one member replaced: path "colors.muted", value
 * as JSON text ("\"#9ca3af\""), or NULL value to delete it. */
static json_t *good_with(const char *section, const char *key,
			 const char *value)
{
	json_t *t = load(GOOD_THEME);
	json_t *obj = section ? json_object_get(t, section) : t;
	if (section && !obj) {
		obj = json_object();
		json_object_set_new(t, section, obj);
	}
	if (value) {
		json_t *v = json_loads(value, JSON_DECODE_ANY | JSON_ALLOW_NUL,
				       NULL);
		ck_assert_msg(v != NULL, "bad test JSON: %s", value);
		json_object_set_new(obj, key, v);
	}
	else
		json_object_del(obj, key);
	return t;
}

/* The message of the first problem for field, or NULL. */
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

static size_t count_for(const json_t *problems, const char *field)
{
	size_t i, n = 0;
	json_t *p;
	json_array_foreach(problems, i, p) {
		const char *f = json_string_value(json_object_get(p, "field"));
		if (f && !strcmp(f, field))
			n++;
	}
	return n;
}

/* Asserts the theme is refused with a problem on field; returns nothing
 * but frees everything. */
static void assert_refused(json_t *theme, const char *field)
{
	json_t *problems = NULL;
	ck_assert_int_eq(theme_check(theme, &problems), ERR_INVALID);
	ck_assert_msg(message_for(problems, field) != NULL,
		      "no problem reported for %s: %s", field,
		      json_dumps(problems, 0));
	buf_t b;
	buf_init(&b, NULL, 4096);
	ck_assert_int_ne(theme_css(theme, &b), 0);
	buf_free(&b);
	json_decref(problems);
	json_decref(theme);
}

START_TEST(contrast_matches_known_values)
{
	ck_assert_double_eq_tol(theme_contrast(0xffffff, 0x000000), 21.0, 1e-9);
	ck_assert_double_eq_tol(theme_contrast(0x000000, 0xffffff), 21.0, 1e-9);
	ck_assert_double_eq_tol(theme_contrast(0x777777, 0xffffff), 4.48, 0.005);
	ck_assert(theme_contrast(0x777777, 0xffffff) < THEME_MIN_CONTRAST);
	ck_assert_double_eq_tol(theme_contrast(0x123456, 0x123456), 1.0, 1e-9);
	ck_assert_double_eq_tol(theme_luminance(0xffffff), 1.0, 1e-9);
	ck_assert_double_eq_tol(theme_luminance(0x000000), 0.0, 1e-9);
	/* #767676 is the lightest grey that passes on white. */
	ck_assert(theme_contrast(0x767676, 0xffffff) >= THEME_MIN_CONTRAST);
}
END_TEST

START_TEST(parses_colours)
{
	uint32_t rgb = 0;
	ck_assert_int_eq(theme_parse_color("#abc", 4, &rgb), 0);
	ck_assert_uint_eq(rgb, 0xaabbcc);
	ck_assert_int_eq(theme_parse_color("#4338CA", 7, &rgb), 0);
	ck_assert_uint_eq(rgb, 0x4338ca);
	static const char *const bad[] = {
		"red", "#abcd", "#12345g", "4338ca", " #fff", "#fff ",
		"rgb(0,0,0)", "#fff;}", "", "#",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rgb = 7;
		ck_assert_int_eq(theme_parse_color(bad[i], strlen(bad[i]), &rgb),
				 ERR_INVALID);
		ck_assert_uint_eq(rgb, 7);
	}
}
END_TEST

START_TEST(valid_themes_pass)
{
	json_t *t = load(GOOD_THEME);
	json_t *problems = NULL;
	ck_assert_int_eq(theme_check(t, &problems), 0);
	ck_assert_uint_eq(json_array_size(problems), 0);
	json_decref(problems);
	json_decref(t);

	t = theme_default_new();
	ck_assert_int_eq(theme_check(t, NULL), 0);
	json_decref(t);

	/* Optional parts may be left out; short colours and any case work. */
	t = load("{\"colors\":{\"primary\":\"#000\",\"on_primary\":\"#FFF\","
		 "\"background\":\"#fff\",\"surface\":\"#eee\",\"text\":\"#111\","
		 "\"muted\":\"#444\"},\"gradients\":{\"primary\":"
		 "\"linear-gradient(0deg,#000 0%,#333 50%,#222 50%,#000 100%)\"}}");
	ck_assert_int_eq(theme_check(t, NULL), 0);
	json_decref(t);
}
END_TEST

START_TEST(writes_canonical_css)
{
	json_t *t = good_with("colors", "primary", "\"#4338CA\"");
	json_object_set_new(json_object_get(t, "gradients"), "primary",
			    json_string("  LINEAR-GRADIENT( 90deg ,#4338ca 0% ,"
					"  #7C3AED   100% ) "));
	ck_assert_int_eq(theme_check(t, NULL), 0);
	buf_t b;
	buf_init(&b, NULL, 4096);
	ck_assert_int_eq(theme_css(t, &b), 0);
	const char *css = buf_cstr(&b);
	ck_assert_msg(!strncmp(css, "--color-primary:", 16), "%s", css);
	ck_assert_int_eq(css[b.len - 1], ';');
	ck_assert_ptr_nonnull(strstr(css, "--color-primary:#4338ca;"));
	ck_assert_ptr_nonnull(strstr(css, "--color-on-primary:#ffffff;"));
	ck_assert_ptr_nonnull(strstr(css, "--color-muted:#475569;"));
	ck_assert_ptr_nonnull(strstr(css, "--color-primary-rgb:67 56 202;"));
	ck_assert_ptr_nonnull(strstr(css, "--color-shade-rgb:0 0 0;"));
	ck_assert_ptr_nonnull(strstr(
		css, "--gradient-primary:linear-gradient(90deg,#4338ca 0%,"
		     "#7c3aed 100%);"));
	ck_assert_ptr_nonnull(strstr(css, "--font-family:Inter,"));
	ck_assert_ptr_nonnull(strstr(css, "--radius:14px;"));
	/* primary blended 12% over white */
	ck_assert_ptr_nonnull(strstr(css, "--color-primary-soft:#e8e7f9;"));
	ck_assert_ptr_null(strstr(css, "</"));
	ck_assert_ptr_null(strchr(css, '<'));
	/* Declarations only: nothing can close the caller's rule. */
	ck_assert_ptr_null(strchr(css, '{'));
	ck_assert_ptr_null(strchr(css, '}'));

	char hex[8];
	ck_assert_int_eq(theme_primary_hex(t, hex), 0);
	ck_assert_str_eq(hex, "#4338ca");
	buf_free(&b);
	json_decref(t);
}
END_TEST

START_TEST(heading_font_and_radius)
{
	json_t *t = load(GOOD_THEME);
	json_object_set_new(t, "font", load("{\"family\":\"system-ui\","
					    "\"heading\":\"georgia\"}"));
	json_object_set_new(t, "rounded", json_string("full"));
	ck_assert_int_eq(theme_check(t, NULL), 0);
	buf_t b;
	buf_init(&b, NULL, 4096);
	ck_assert_int_eq(theme_css(t, &b), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "--font-heading:Georgia,"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "--font-family:system-ui,"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "--radius-control:999px;"));
	buf_free(&b);
	json_decref(t);
}
END_TEST

START_TEST(reports_contrast_with_ratio)
{
	json_t *t = good_with("colors", "muted", "\"#9ca3af\"");
	json_t *problems = NULL;
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	const char *m = message_for(problems, "colors.muted");
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(strstr(m, "Muted text #9ca3af on background #ffffff has "
				"contrast 2.54:1") != NULL, "%s", m);
	ck_assert_ptr_nonnull(strstr(m, "4.5:1"));
	ck_assert_ptr_nonnull(strstr(m, "darker"));
	/* Both background and surface fail: both reported. */
	ck_assert_uint_eq(count_for(problems, "colors.muted"), 2);
	ck_assert_uint_eq(json_array_size(problems), 2);
	json_decref(problems);
	json_decref(t);

	/* #777 on white is 4.48: just under, must fail, shown as 4.47/4.48. */
	t = good_with("colors", "text", "\"#777\"");
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	m = message_for(problems, "colors.text");
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(strstr(m, "4.47:1") || strstr(m, "4.48:1"), "%s", m);
	json_decref(problems);
	json_decref(t);
}
END_TEST

START_TEST(reports_button_and_gradient_contrast)
{
	json_t *t = load(GOOD_THEME);
	json_object_set_new(json_object_get(t, "gradients"), "primary",
			    json_string("linear-gradient(135deg, #4338ca 0%, "
					"#a78bfa 60%, #c4b5fd 100%)"));
	json_t *problems = NULL;
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	ck_assert_uint_eq(count_for(problems, "gradients.primary"), 2);
	const char *m = message_for(problems, "gradients.primary");
	ck_assert_msg(strstr(m, "stop 2 (#a78bfa)") != NULL, "%s", m);
	json_decref(problems);
	json_decref(t);

	/* Dark text on a dark button */
	t = good_with("colors", "on_primary", "\"#1e1b4b\"");
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	m = message_for(problems, "colors.on_primary");
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(strstr(m, "on primary #4338ca"));
	ck_assert_ptr_nonnull(strstr(m, "lighter"));
	json_decref(problems);
	json_decref(t);

	/* A pale primary fails as a link colour. */
	t = good_with("colors", "primary", "\"#a5b4fc\"");
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	ck_assert_uint_eq(count_for(problems, "colors.primary"), 2);
	ck_assert_ptr_nonnull(message_for(problems, "colors.on_primary"));
	json_decref(problems);
	json_decref(t);
}
END_TEST

START_TEST(reports_every_problem)
{
	json_t *t = load("{\"colors\":{\"primary\":\"blue\",\"on_primary\":1,"
			 "\"background\":\"#fff\",\"surface\":\"#fff\","
			 "\"text\":\"#eee\",\"accent\":\"#000\"},"
			 "\"gradients\":{\"primary\":\"linear-gradient(red, blue)\"},"
			 "\"font\":{\"family\":\"Comic Sans\"},\"rounded\":\"huge\","
			 "\"shadow\":true}");
	json_t *problems = NULL;
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	static const char *const fields[] = {
		"colors.primary", "colors.on_primary", "colors.muted",
		"colors.accent", "colors.text", "gradients.primary",
		"font.family", "rounded", "shadow",
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		ck_assert_msg(message_for(problems, fields[i]) != NULL,
			      "missing problem for %s", fields[i]);
	ck_assert_ptr_nonnull(strstr(message_for(problems, "font.family"),
				     "Georgia"));
	ck_assert_ptr_nonnull(strstr(message_for(problems, "rounded"), "xl"));
	json_decref(problems);
	json_decref(t);

	t = load("[]");
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	ck_assert_uint_eq(json_array_size(problems), 1);
	json_decref(problems);
	json_decref(t);

	t = load("{}");
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	ck_assert_ptr_nonnull(message_for(problems, "colors"));
	ck_assert_ptr_nonnull(message_for(problems, "gradients"));
	json_decref(problems);
	json_decref(t);
}
END_TEST

START_TEST(refuses_bad_gradients)
{
	static const char *const bad[] = {
		"linear-gradient(135deg, #4338ca 0%)",
		"linear-gradient(135deg, #4338ca 0%, #4338ca 20%, #4338ca 40%, "
		"#4338ca 60%, #4338ca 100%)",
		"linear-gradient(400deg, #4338ca 0%, #312e81 100%)",
		"linear-gradient(135deg, #4338ca 50%, #312e81 10%)",
		"linear-gradient(135deg, #4338ca 0%, #312e81 101%)",
		"linear-gradient(135deg, #4338ca, #312e81)",
		"linear-gradient(to right, #4338ca 0%, #312e81 100%)",
		"radial-gradient(135deg, #4338ca 0%, #312e81 100%)",
		"linear-gradient(135deg, #4338ca 0%, #312e81 100%",
		"linear-gradient(135deg, #4338ca0%, #312e81 100%)",
		"linear-gradient(135deg, #4338ca 0%, #312e81 100%) x",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *t = load(GOOD_THEME);
		json_object_set_new(json_object_get(t, "gradients"), "primary",
				    json_string(bad[i]));
		json_t *problems = NULL;
		ck_assert_msg(theme_check(t, &problems) == ERR_INVALID, "%s",
			      bad[i]);
		ck_assert_msg(message_for(problems, "gradients.primary") != NULL,
			      "%s", bad[i]);
		json_decref(problems);
		json_decref(t);
	}
}
END_TEST

START_TEST(refuses_css_injection)
{
	assert_refused(good_with("colors", "primary",
				 "\"red;}body{display:none\""),
		       "colors.primary");
	assert_refused(good_with("colors", "background",
				 "\"#fff;}body{display:none}\""),
		       "colors.background");
	assert_refused(good_with("colors", "surface",
				 "\"url(javascript:alert(1))\""),
		       "colors.surface");
	assert_refused(good_with("colors", "text", "\"</style><script>x\""),
		       "colors.text");
	assert_refused(good_with("gradients", "primary",
				 "\"url(javascript:alert(1))\""),
		       "gradients.primary");
	assert_refused(good_with("gradients", "primary",
				 "\"linear-gradient(135deg, #4338ca 0%, "
				 "#7c3aed 100%);}body{display:none\""),
		       "gradients.primary");
	assert_refused(good_with("gradients", "primary",
				 "\"linear-gradient(135deg, #4338ca 0%, "
				 "#7c3aed 100%)</style>\""),
		       "gradients.primary");
	assert_refused(good_with("gradients", "primary",
				 "\"linear-gradient(135deg, #4338ca 0% "
				 "url(javascript:x), #7c3aed 100%)\""),
		       "gradients.primary");
	assert_refused(good_with("font", "family", "\"</style><script>\""),
		       "font.family");
	assert_refused(good_with("font", "family",
				 "\"Inter;}body{display:none\""),
		       "font.family");
	assert_refused(good_with("font", "heading", "\"Inter\\u0000x\""),
		       "font.heading");
	assert_refused(good_with(NULL, "rounded", "\"lg;}body{x:y\""),
		       "rounded");
	assert_refused(good_with(NULL, "rounded", "\"lg\\u0000\""), "rounded");
	assert_refused(good_with("colors", "muted", "\"#fff\\u0000\""),
		       "colors.muted");
}
END_TEST

START_TEST(reports_missing_and_typed_fields)
{
	json_t *problems = NULL;
	json_t *t = good_with("colors", "surface", NULL);
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(message_for(problems, "colors.surface"),
				     "Missing"));
	json_decref(problems);
	json_decref(t);

	t = good_with(NULL, "font", "\"Inter\"");
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	ck_assert_ptr_nonnull(message_for(problems, "font"));
	json_decref(problems);
	json_decref(t);

	t = good_with(NULL, "name", "\"\"");
	ck_assert_int_eq(theme_check(t, &problems), ERR_INVALID);
	ck_assert_ptr_nonnull(message_for(problems, "name"));
	json_decref(problems);
	json_decref(t);

	t = good_with(NULL, "name", "\"Warm bakery\"");
	ck_assert_int_eq(theme_check(t, NULL), 0);
	json_decref(t);
}
END_TEST

START_TEST(css_respects_buffer_cap)
{
	json_t *t = load(GOOD_THEME);
	buf_t b;
	buf_init(&b, NULL, 64);
	ck_assert_int_eq(theme_css(t, &b), ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	json_decref(t);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("theme");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, contrast_matches_known_values);
	tcase_add_test(tc, parses_colours);
	tcase_add_test(tc, valid_themes_pass);
	tcase_add_test(tc, writes_canonical_css);
	tcase_add_test(tc, heading_font_and_radius);
	tcase_add_test(tc, reports_contrast_with_ratio);
	tcase_add_test(tc, reports_button_and_gradient_contrast);
	tcase_add_test(tc, reports_every_problem);
	tcase_add_test(tc, refuses_bad_gradients);
	tcase_add_test(tc, refuses_css_injection);
	tcase_add_test(tc, reports_missing_and_typed_fields);
	tcase_add_test(tc, css_respects_buffer_cap);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
