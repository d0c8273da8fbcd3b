#include "page.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "str.h"

const char *const page_icons[] = {
	"bolt",  "calendar", "chart", "chat",   "check",  "clock",
	"cloud", "coffee",   "gift",  "globe",  "heart",  "leaf",
	"lock",  "mail",     "pin",   "rocket", "shield", "sparkles",
	"star",  "truck",    "users", NULL,
};

#define MAX_ITEMS 12
#define MAX_HREF 2048

#define DEFAULT_FEATURES_EYEBROW "Features"
#define DEFAULT_STATUS_EYEBROW "Live status"
#define DEFAULT_STATUS_TITLE "Our automations"
#define DEFAULT_STATUS_SUBTITLE \
	"The workflows that run behind the scenes, updated as they change."

typedef struct {
	json_t *list; /* NULL: only count */
	int problems;
} ctx_t;

static void problem(ctx_t *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(ctx_t *c, const char *field, const char *fmt, ...)
{
	c->problems++;
	if (!c->list)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *o = json_pack("{s:s,s:s}", "field", field, "message", msg);
	if (o)
		json_array_append_new(c->list, o);
}

/* field = path.key (or key when path is empty), truncated to fit. */
static void join(char *out, size_t n, const char *path, const char *key)
{
	if (*path)
		snprintf(out, n, "%s.%.64s", path, key);
	else
		snprintf(out, n, "%.64s", key);
}

bool page_icon_known(const char *name)
{
	if (!name)
		return false;
	for (const char *const *i = page_icons; *i; i++)
		if (!strcmp(*i, name))
			return true;
	return false;
}

static bool has_prefix_ci(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && !strncasecmp(s, prefix, n);
}

bool page_href_ok(const char *s, size_t len)
{
	if (!s || len == 0 || len > MAX_HREF)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* Browsers drop tabs and newlines inside URLs, so "java\tscript:"
		 * would still run: refuse every control byte and everything
		 * that could end an attribute or start a path trick. */
		if (c <= 0x20 || c == 0x7f || c == '"' || c == '\'' ||
		    c == '<' || c == '>' || c == '\\' || c == '`')
			return false;
	}
	if (!str_is_valid_utf8((str_t){s, len}))
		return false;
	if (s[0] == '#')
		return true;
	if (s[0] == '/')
		return len == 1 || s[1] != '/'; /* "//host" leaves the site */
	if (has_prefix_ci(s, len, "https://"))
		return len > 8 && s[8] != '/';
	if (has_prefix_ci(s, len, "http://"))
		return len > 7 && s[7] != '/';
	if (has_prefix_ci(s, len, "mailto:"))
		return len > 7;
	if (has_prefix_ci(s, len, "tel:")) {
		if (len == 4)
			return false;
		for (size_t i = 4; i < len; i++)
			if (!strchr("0123456789+-().", s[i]))
				return false;
		return true;
	}
	return false;
}

static void unknown_keys(ctx_t *c, const json_t *obj, const char *path,
			 const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		bool known = false;
		for (const char *const *a = allowed; *a; a++)
			if (!strcmp(key, *a))
				known = true;
		if (!known) {
			char field[160];
			join(field, sizeof field, path, key);
			problem(c, field, "Unknown field; remove it or check the "
					  "spelling.");
		}
	}
}

/* The member key of parent as an object.  Reports a missing (when
 * required) or non-object member and returns NULL then; NULL without a
 * report when it is optional and absent or null. */
static const json_t *object(ctx_t *c, const json_t *parent, const char *path,
			    const char *key, bool required,
			    const char *const *allowed)
{
	char field[160];
	join(field, sizeof field, path, key);
	const json_t *v = json_object_get(parent, key);
	if (!v || (json_is_null(v) && !required)) {
		if (required)
			problem(c, field, "Missing. This section is required.");
		return NULL;
	}
	if (!json_is_object(v)) {
		problem(c, field, "Must be an object.");
		return NULL;
	}
	unknown_keys(c, v, field, allowed);
	return v;
}

/* Checks obj.key as text of min..max characters. */
static void text(ctx_t *c, const json_t *obj, const char *path,
		 const char *key, bool required, size_t min, size_t max)
{
	char field[160];
	join(field, sizeof field, path, key);
	const json_t *v = json_object_get(obj, key);
	if (!v) {
		if (required)
			problem(c, field, "Missing. Give text of 1 to %zu "
					  "characters.", max);
		return;
	}
	if (!json_is_string(v)) {
		problem(c, field, "Must be text.");
		return;
	}
	str_t s = {json_string_value(v), json_string_length(v)};
	if (!str_is_valid_utf8(s)) {
		problem(c, field, "Must be valid UTF-8 text.");
		return;
	}
	size_t chars = 0;
	bool blank = true;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		if ((ch < 0x20 && ch != '\t' && ch != '\n') || ch == 0x7f) {
			problem(c, field, "Must not contain control characters.");
			return;
		}
		if ((ch & 0xc0) != 0x80)
			chars++;
		if (ch != ' ' && ch != '\t' && ch != '\n')
			blank = false;
	}
	if (min > 0 && blank)
		problem(c, field, "Must not be empty.");
	else if (chars > max)
		problem(c, field, "Is %zu characters long; the limit is %zu.",
			chars, max);
}

static const char *const link_keys[] = {"label", "href", NULL};

static void check_link(ctx_t *c, const json_t *parent, const char *path,
		 const char *key, bool required)
{
	const json_t *l = object(c, parent, path, key, required, link_keys);
	if (!l)
		return;
	char field[160], hfield[176];
	join(field, sizeof field, path, key);
	text(c, l, field, "label", true, 1, 40);
	join(hfield, sizeof hfield, field, "href");
	const json_t *h = json_object_get(l, "href");
	if (!h) {
		problem(c, hfield, "Missing. Give a link such as "
				   "https://example.com/ or #contact.");
	} else if (!json_is_string(h) ||
		   !page_href_ok(json_string_value(h), json_string_length(h))) {
		problem(c, hfield,
			"Links must start with https://, http://, mailto:, tel:, "
			"/ or # and contain no spaces, quotes or angle brackets "
			"(at most 2048 characters); javascript: and other schemes "
			"are not allowed.");
	}
}

static void check_items(ctx_t *c, const json_t *features)
{
	const json_t *items = json_object_get(features, "items");
	if (!items) {
		problem(c, "features.items", "Missing. Give 1 to %d features.",
			MAX_ITEMS);
		return;
	}
	if (!json_is_array(items)) {
		problem(c, "features.items", "Must be a list of features.");
		return;
	}
	size_t n = json_array_size(items);
	if (n < 1 || n > MAX_ITEMS) {
		problem(c, "features.items",
			"Has %zu features; give between 1 and %d.", n, MAX_ITEMS);
		if (n > MAX_ITEMS)
			return;
	}
	static const char *const item_keys[] = {"icon", "title", "body", NULL};
	for (size_t i = 0; i < n; i++) {
		char path[64], field[80];
		snprintf(path, sizeof path, "features.items[%zu]", i);
		const json_t *it = json_array_get(items, i);
		if (!json_is_object(it)) {
			problem(c, path, "Must be an object with icon, title and "
					 "body.");
			continue;
		}
		unknown_keys(c, it, path, item_keys);
		snprintf(field, sizeof field, "%s.icon", path);
		const json_t *icon = json_object_get(it, "icon");
		if (!json_is_string(icon) ||
		    strlen(json_string_value(icon)) != json_string_length(icon) ||
		    !page_icon_known(json_string_value(icon))) {
			char names[400] = "";
			size_t off = 0;
			for (size_t k = 0; page_icons[k] && off < sizeof names;
			     k++)
				off += (size_t)snprintf(names + off,
							sizeof names - off,
							"%s%s", k ? ", " : "",
							page_icons[k]);
			problem(c, field, "%s. Choose one of: %s.",
				icon ? "Unknown icon" : "Missing", names);
		}
		text(c, it, path, "title", true, 1, 80);
		text(c, it, path, "body", true, 1, 400);
	}
}

static void check_page(ctx_t *c, const json_t *page)
{
	if (!json_is_object(page)) {
		problem(c, "", "A page must be a JSON object.");
		return;
	}
	static const char *const top_keys[] = {
		"seo", "hero", "features", "status", "cta", "footer", NULL,
	};
	unknown_keys(c, page, "", top_keys);

	static const char *const seo_keys[] = {"title", "description", NULL};
	const json_t *seo = object(c, page, "", "seo", false, seo_keys);
	if (seo) {
		text(c, seo, "seo", "title", false, 1, 120);
		text(c, seo, "seo", "description", false, 0, 300);
	}

	static const char *const hero_keys[] = {
		"eyebrow", "headline", "subheadline", "primary_cta",
		"secondary_cta", NULL,
	};
	const json_t *hero = object(c, page, "", "hero", true, hero_keys);
	if (hero) {
		text(c, hero, "hero", "eyebrow", false, 1, 60);
		text(c, hero, "hero", "headline", true, 1, 120);
		text(c, hero, "hero", "subheadline", false, 1, 300);
		check_link(c, hero, "hero", "primary_cta", true);
		check_link(c, hero, "hero", "secondary_cta", false);
	}

	static const char *const features_keys[] = {
		"eyebrow", "title", "subtitle", "items", NULL,
	};
	const json_t *features =
		object(c, page, "", "features", true, features_keys);
	if (features) {
		text(c, features, "features", "eyebrow", false, 1, 60);
		text(c, features, "features", "title", true, 1, 120);
		text(c, features, "features", "subtitle", false, 1, 300);
		check_items(c, features);
	}

	static const char *const status_keys[] = {
		"eyebrow", "title", "subtitle", NULL,
	};
	const json_t *status = object(c, page, "", "status", false, status_keys);
	if (status) {
		text(c, status, "status", "eyebrow", false, 1, 60);
		text(c, status, "status", "title", false, 1, 120);
		text(c, status, "status", "subtitle", false, 1, 300);
	}

	static const char *const cta_keys[] = {
		"headline", "body", "button", NULL,
	};
	const json_t *cta = object(c, page, "", "cta", true, cta_keys);
	if (cta) {
		text(c, cta, "cta", "headline", true, 1, 120);
		text(c, cta, "cta", "body", false, 1, 300);
		check_link(c, cta, "cta", "button", true);
	}

	static const char *const footer_keys[] = {"tagline", NULL};
	const json_t *footer = object(c, page, "", "footer", false, footer_keys);
	if (footer)
		text(c, footer, "footer", "tagline", false, 1, 200);
}

int page_check(const json_t *page, json_t **problems_out)
{
	ctx_t c = {problems_out ? json_array() : NULL, 0};
	if (problems_out && !c.list)
		arena_oom(sizeof(json_t));
	check_page(&c, page);
	if (problems_out)
		*problems_out = c.list;
	return c.problems ? ERR_INVALID : 0;
}

/* obj[key], created as an empty object when absent or not an object. */
static json_t *section(json_t *obj, const char *key)
{
	json_t *s = json_object_get(obj, key);
	if (!json_is_object(s)) {
		s = json_object();
		json_object_set_new(obj, key, s);
	}
	return s;
}

static void set_default(json_t *obj, const char *key, json_t *value)
{
	if (json_is_string(json_object_get(obj, key)))
		json_decref(value);
	else
		json_object_set_new(obj, key, value);
}

json_t *page_defaults_new(const json_t *page)
{
	json_t *p = json_is_object(page) ? json_deep_copy(page) : json_object();
	if (!p)
		arena_oom(sizeof(json_t));
	json_t *hero = section(p, "hero");
	json_t *features = section(p, "features");
	json_t *status = section(p, "status");
	json_t *seo = section(p, "seo");
	section(p, "cta");

	if (!json_is_object(json_object_get(hero, "secondary_cta")))
		json_object_set_new(hero, "secondary_cta", json_null());

	json_t *headline = json_object_get(hero, "headline");
	set_default(seo, "title", json_is_string(headline)
					  ? json_copy(headline)
					  : json_string(""));
	json_t *sub = json_object_get(hero, "subheadline");
	set_default(seo, "description",
		    json_is_string(sub) ? json_copy(sub) : json_string(""));

	set_default(features, "eyebrow", json_string(DEFAULT_FEATURES_EYEBROW));
	json_t *items = json_object_get(features, "items");
	size_t n = json_array_size(items);
	for (size_t i = 0; i < n; i++) {
		json_t *it = json_array_get(items, i);
		const char *icon = json_string_value(json_object_get(it, "icon"));
		if (!json_is_object(it))
			continue;
		if (page_icon_known(icon)) {
			char partial[64];
			snprintf(partial, sizeof partial, "partials/icons/%s", icon);
			json_object_set_new(it, "icon_partial", json_string(partial));
		}
		json_object_set_new(it, "index", json_integer((json_int_t)i + 1));
	}
	json_object_set_new(features, "count", json_integer((json_int_t)n));
	json_object_set_new(features, "columns",
			    json_integer(n <= 1 ? 1 : (n == 2 || n == 4) ? 2 : 3));

	set_default(status, "eyebrow", json_string(DEFAULT_STATUS_EYEBROW));
	set_default(status, "title", json_string(DEFAULT_STATUS_TITLE));
	set_default(status, "subtitle", json_string(DEFAULT_STATUS_SUBTITLE));
	return p;
}
