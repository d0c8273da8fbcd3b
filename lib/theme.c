#include "theme.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "str.h"

enum { PRIMARY, ON_PRIMARY, BACKGROUND, SURFACE, TEXT, MUTED, NCOLORS };

static const char *const color_keys[NCOLORS] = {
	"primary", "on_primary", "background", "surface", "text", "muted",
};

#define MAX_STOPS 4

typedef struct {
	int angle;
	int n;
	uint32_t color[MAX_STOPS];
	int pos[MAX_STOPS];
} gradient_t;

typedef struct {
	const char *name;
	const char *stack;
} font_t;

#define SANS_STACK                                                          \
	"system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\"," \
	"Arial,\"Noto Sans\",\"Liberation Sans\",sans-serif"

/* Only locally installed fonts: a name the visitor lacks falls through to
 * the next, so no request ever leaves for a font server. */
static const font_t fonts[] = {
	{"system-ui", SANS_STACK},
	{"sans-serif", SANS_STACK},
	{"Inter", "Inter,InterVariable," SANS_STACK},
	{"Helvetica", "\"Helvetica Neue\",Helvetica,Arial,\"Liberation Sans\","
		      "sans-serif"},
	{"Arial", "Arial,\"Helvetica Neue\",Helvetica,\"Liberation Sans\","
		  "sans-serif"},
	{"humanist", "Seravek,\"Gill Sans Nova\",Ubuntu,Calibri,"
		     "\"DejaVu Sans\",source-sans-pro,sans-serif"},
	{"geometric", "Avenir,\"Avenir Next LT Pro\",Montserrat,Corbel,"
		      "\"URW Gothic\",source-sans-pro,sans-serif"},
	{"rounded", "ui-rounded,\"SF Pro Rounded\",\"Hiragino Maru Gothic ProN\","
		    "Quicksand,Comfortaa,Manjari,\"Arial Rounded MT\","
		    "Calibri,sans-serif"},
	{"Georgia", "Georgia,\"Iowan Old Style\",\"Palatino Linotype\","
		    "\"URW Palladio L\",P052,\"DejaVu Serif\",serif"},
	{"Palatino", "\"Palatino Linotype\",Palatino,\"URW Palladio L\",P052,"
		     "\"Book Antiqua\",Georgia,serif"},
	{"serif", "ui-serif,Georgia,Cambria,\"Times New Roman\",Times,"
		  "\"DejaVu Serif\",serif"},
	{"monospace", "ui-monospace,SFMono-Regular,\"SF Mono\",Menlo,Consolas,"
		      "\"Liberation Mono\",\"DejaVu Sans Mono\",monospace"},
};

#define NFONTS (sizeof fonts / sizeof fonts[0])

const char *const theme_font_names[NFONTS + 1] = {
	"system-ui", "sans-serif", "Inter", "Helvetica", "Arial", "humanist",
	"geometric", "rounded", "Georgia", "Palatino", "serif", "monospace",
	NULL,
};

typedef struct {
	const char *name;
	const char *card;    /* --radius: cards, panels, bands */
	const char *control; /* --radius-control: buttons, inputs, badges */
} radius_t;

static const radius_t radii[] = {
	{"none", "0", "0"},      {"sm", "4px", "4px"},   {"md", "8px", "6px"},
	{"lg", "14px", "10px"},  {"xl", "20px", "14px"}, {"full", "28px", "999px"},
};

#define NRADII (sizeof radii / sizeof radii[0])

/* What a theme parses into; only parsed values ever reach the CSS. */
typedef struct {
	uint32_t color[NCOLORS];
	bool color_ok[NCOLORS];
	gradient_t gradient;
	bool gradient_ok;
	const font_t *family;
	const font_t *heading;
	const radius_t *radius;
	int problems;
} parsed_t;

static const char default_theme[] =
	"{\"name\":\"Canopy Indigo\","
	"\"colors\":{\"primary\":\"#4338ca\",\"on_primary\":\"#ffffff\","
	"\"background\":\"#ffffff\",\"surface\":\"#f5f7fb\","
	"\"text\":\"#0f172a\",\"muted\":\"#475569\"},"
	"\"gradients\":{\"primary\":"
	"\"linear-gradient(135deg, #4338ca 0%, #6d28d9 100%)\"},"
	"\"font\":{\"family\":\"system-ui\"},"
	"\"rounded\":\"lg\"}";

/* ------------------------------------------------------------ colours */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int theme_parse_color(const char *s, size_t len, uint32_t *rgb)
{
	if (!s || (len != 4 && len != 7) || s[0] != '#')
		return ERR_INVALID;
	uint32_t v = 0;
	for (size_t i = 1; i < len; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return ERR_INVALID;
		v = (v << 4) | (uint32_t)h;
		if (len == 4) /* #abc means #aabbcc */
			v = (v << 4) | (uint32_t)h;
	}
	*rgb = v;
	return 0;
}

static double channel(uint32_t c8)
{
	double c = (double)c8 / 255.0;
	return c <= 0.03928 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

double theme_luminance(uint32_t rgb)
{
	return 0.2126 * channel((rgb >> 16) & 0xff) +
	       0.7152 * channel((rgb >> 8) & 0xff) +
	       0.0722 * channel(rgb & 0xff);
}

double theme_contrast(uint32_t a, uint32_t b)
{
	double la = theme_luminance(a), lb = theme_luminance(b);
	if (la < lb) {
		double t = la;
		la = lb;
		lb = t;
	}
	return (la + 0.05) / (lb + 0.05);
}

/* fg blended over bg with weight w (0..1) of fg. */
static uint32_t blend(uint32_t fg, uint32_t bg, double w)
{
	uint32_t out = 0;
	for (int shift = 16; shift >= 0; shift -= 8) {
		double f = (double)((fg >> shift) & 0xff);
		double b = (double)((bg >> shift) & 0xff);
		long v = lround(f * w + b * (1.0 - w));
		out |= (uint32_t)(v < 0 ? 0 : v > 255 ? 255 : v) << shift;
	}
	return out;
}

static void hex6(uint32_t rgb, char out[8])
{
	snprintf(out, 8, "#%06x", (unsigned)(rgb & 0xffffff));
}

/* ----------------------------------------------------------- problems */

static void problem(json_t *list, parsed_t *p, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void problem(json_t *list, parsed_t *p, const char *field,
		    const char *fmt, ...)
{
	p->problems++;
	if (!list)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *o = json_pack("{s:s,s:s}", "field", field, "message", msg);
	if (o)
		json_array_append_new(list, o);
}

/* Refuses keys of obj that are not in allowed (NULL-terminated). */
static void unknown_keys(json_t *list, parsed_t *p, const json_t *obj,
			 const char *prefix, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		bool known = false;
		for (const char *const *a = allowed; *a; a++)
			if (!strcmp(key, *a))
				known = true;
		if (known)
			continue;
		char field[160];
		if (prefix)
			snprintf(field, sizeof field, "%s.%.64s", prefix, key);
		else
			snprintf(field, sizeof field, "%.64s", key);
		problem(list, p, field, "Unknown field; remove it or check the "
					"spelling.");
	}
}

/* ---------------------------------------------------------- gradients */

typedef struct {
	const char *s;
	size_t len, i;
} cursor_t;

static void skip_ws(cursor_t *c)
{
	while (c->i < c->len && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
		c->i++;
}

static bool eat(cursor_t *c, const char *lit)
{
	size_t n = strlen(lit);
	if (c->len - c->i < n || strncasecmp(c->s + c->i, lit, n))
		return false;
	c->i += n;
	return true;
}

/* An unsigned decimal of at most 3 digits. */
static bool number(cursor_t *c, int *out)
{
	int v = 0, digits = 0;
	while (c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
		if (++digits > 3)
			return false;
		v = v * 10 + (c->s[c->i++] - '0');
	}
	*out = v;
	return digits > 0;
}

/* Parses linear-gradient(<angle>deg, <#hex> <pct>%, ...).  On failure
 * returns a static reason for the message. */
static const char *parse_gradient(const char *s, size_t len, gradient_t *g)
{
	cursor_t c = {s, len, 0};
	skip_ws(&c);
	if (!eat(&c, "linear-gradient("))
		return "It must start with linear-gradient(";
	skip_ws(&c);
	if (!number(&c, &g->angle) || !eat(&c, "deg"))
		return "The first value must be an angle such as 135deg";
	if (g->angle > 360)
		return "The angle must be between 0deg and 360deg";
	g->n = 0;
	for (;;) {
		skip_ws(&c);
		if (eat(&c, ")"))
			break;
		if (!eat(&c, ","))
			return "Expected a comma between colour stops";
		skip_ws(&c);
		size_t start = c.i;
		if (c.i < c.len && c.s[c.i] == '#')
			c.i++;
		while (c.i < c.len && hexval(c.s[c.i]) >= 0)
			c.i++;
		uint32_t rgb;
		if (theme_parse_color(c.s + start, c.i - start, &rgb))
			return "Each colour stop must be a hex colour (#rgb or "
			       "#rrggbb) followed by a percentage";
		if (g->n == MAX_STOPS)
			return "Use at most 4 colour stops";
		size_t before = c.i;
		skip_ws(&c);
		int pos;
		if (c.i == before || !number(&c, &pos) || !eat(&c, "%"))
			return "Each colour stop needs a position such as 0% or "
			       "100%";
		if (pos > 100)
			return "Stop positions must be between 0% and 100%";
		if (g->n > 0 && pos < g->pos[g->n - 1])
			return "Stop positions must not decrease";
		g->color[g->n] = rgb;
		g->pos[g->n] = pos;
		g->n++;
	}
	skip_ws(&c);
	if (c.i != c.len)
		return "Nothing may follow the closing parenthesis";
	if (g->n < 2)
		return "Use at least 2 colour stops";
	return NULL;
}

/* ------------------------------------------------------------- checks */

static const font_t *find_font(const char *name)
{
	for (size_t i = 0; i < NFONTS; i++)
		if (!strcasecmp(fonts[i].name, name))
			return &fonts[i];
	return NULL;
}

static const radius_t *find_radius(const char *name)
{
	for (size_t i = 0; i < NRADII; i++)
		if (!strcmp(radii[i].name, name))
			return &radii[i];
	return NULL;
}

static void parse_colors(const json_t *theme, json_t *list, parsed_t *p)
{
	const json_t *colors = json_object_get(theme, "colors");
	if (!colors) {
		problem(list, p, "colors", "Missing. Give the six colours "
					   "primary, on_primary, background, "
					   "surface, text and muted.");
		return;
	}
	if (!json_is_object(colors)) {
		problem(list, p, "colors", "Must be an object of hex colours.");
		return;
	}
	static const char *const allowed[] = {
		"primary", "on_primary", "background", "surface", "text",
		"muted", NULL,
	};
	unknown_keys(list, p, colors, "colors", allowed);
	for (int i = 0; i < NCOLORS; i++) {
		char field[32];
		snprintf(field, sizeof field, "colors.%s", color_keys[i]);
		const json_t *v = json_object_get(colors, color_keys[i]);
		if (!v) {
			problem(list, p, field, "Missing. Give a hex colour such "
						"as #4338ca.");
			continue;
		}
		if (!json_is_string(v) ||
		    theme_parse_color(json_string_value(v),
				      json_string_length(v), &p->color[i])) {
			problem(list, p, field,
				"Use a hex colour such as #4338ca (#rgb or "
				"#rrggbb); colour names and other CSS are not "
				"accepted.");
			continue;
		}
		p->color_ok[i] = true;
	}
}

static void parse_gradients(const json_t *theme, json_t *list, parsed_t *p)
{
	const json_t *gradients = json_object_get(theme, "gradients");
	if (!gradients) {
		problem(list, p, "gradients", "Missing. Give gradients.primary, "
					      "e.g. linear-gradient(135deg, "
					      "#4338ca 0%%, #7c3aed 100%%).");
		return;
	}
	if (!json_is_object(gradients)) {
		problem(list, p, "gradients", "Must be an object.");
		return;
	}
	static const char *const allowed[] = {"primary", NULL};
	unknown_keys(list, p, gradients, "gradients", allowed);
	const json_t *v = json_object_get(gradients, "primary");
	if (!v) {
		problem(list, p, "gradients.primary",
			"Missing. Give e.g. linear-gradient(135deg, #4338ca 0%%, "
			"#7c3aed 100%%).");
		return;
	}
	if (!json_is_string(v) || json_string_length(v) > 200) {
		problem(list, p, "gradients.primary",
			"Must be a string of at most 200 characters like "
			"linear-gradient(135deg, #4338ca 0%%, #7c3aed 100%%).");
		return;
	}
	const char *why = parse_gradient(json_string_value(v),
					 json_string_length(v), &p->gradient);
	if (why) {
		problem(list, p, "gradients.primary",
			"%s. The form is linear-gradient(<angle>deg, <#hex> "
			"<percent>%%, ...) with 2 to 4 stops, e.g. "
			"linear-gradient(135deg, #4338ca 0%%, #7c3aed 100%%).",
			why);
		return;
	}
	p->gradient_ok = true;
}

static const font_t *parse_font(const json_t *font, const char *key,
				json_t *list, parsed_t *p)
{
	const json_t *v = json_object_get(font, key);
	if (!v)
		return NULL;
	char field[32];
	snprintf(field, sizeof field, "font.%s", key);
	const font_t *f = NULL;
	if (json_is_string(v) && json_string_length(v) < 40 &&
	    strlen(json_string_value(v)) == json_string_length(v))
		f = find_font(json_string_value(v));
	if (!f) {
		char names[400] = "";
		size_t off = 0;
		for (size_t i = 0; i < NFONTS && off < sizeof names; i++)
			off += (size_t)snprintf(names + off, sizeof names - off,
						"%s%s", i ? ", " : "",
						fonts[i].name);
		problem(list, p, field, "Choose one of: %s.", names);
	}
	return f;
}

static void parse_fonts(const json_t *theme, json_t *list, parsed_t *p)
{
	p->family = &fonts[0];
	p->heading = NULL;
	const json_t *font = json_object_get(theme, "font");
	if (!font)
		return;
	if (!json_is_object(font)) {
		problem(list, p, "font", "Must be an object such as "
					 "{\"family\": \"Inter\"}.");
		return;
	}
	static const char *const allowed[] = {"family", "heading", NULL};
	unknown_keys(list, p, font, "font", allowed);
	const font_t *f = parse_font(font, "family", list, p);
	if (f)
		p->family = f;
	p->heading = parse_font(font, "heading", list, p);
}

static void parse_rounded(const json_t *theme, json_t *list, parsed_t *p)
{
	p->radius = find_radius("lg");
	const json_t *v = json_object_get(theme, "rounded");
	if (!v)
		return;
	const radius_t *r = NULL;
	if (json_is_string(v) &&
	    strlen(json_string_value(v)) == json_string_length(v))
		r = find_radius(json_string_value(v));
	if (!r) {
		problem(list, p, "rounded",
			"Choose one of: none, sm, md, lg, xl, full.");
		return;
	}
	p->radius = r;
}

static void parse_name(const json_t *theme, json_t *list, parsed_t *p)
{
	const json_t *v = json_object_get(theme, "name");
	if (!v)
		return;
	bool ok = json_is_string(v);
	if (ok) {
		str_t s = {json_string_value(v), json_string_length(v)};
		size_t chars = 0;
		for (size_t i = 0; i < s.len; i++) {
			unsigned char c = (unsigned char)s.p[i];
			if (c < 0x20 || c == 0x7f)
				ok = false;
			if ((c & 0xc0) != 0x80)
				chars++;
		}
		ok = ok && chars >= 1 && chars <= 80 && str_is_valid_utf8(s);
	}
	if (!ok)
		problem(list, p, "name", "Must be text of 1 to 80 characters.");
}

static void parse_theme(const json_t *theme, json_t *list, parsed_t *p)
{
	memset(p, 0, sizeof *p);
	if (!json_is_object(theme)) {
		problem(list, p, "", "A theme must be a JSON object.");
		return;
	}
	static const char *const allowed[] = {
		"name", "colors", "gradients", "font", "rounded", NULL,
	};
	unknown_keys(list, p, theme, NULL, allowed);
	parse_name(theme, list, p);
	parse_colors(theme, list, p);
	parse_gradients(theme, list, p);
	parse_fonts(theme, list, p);
	parse_rounded(theme, list, p);
}

/* Rounded to two decimals, except that a failing 4.497 is truncated so
 * it never shows as a passing "4.50". */
static double shown(double ratio)
{
	double r = round(ratio * 100.0) / 100.0;
	if (ratio < THEME_MIN_CONTRAST && r >= THEME_MIN_CONTRAST)
		r = floor(ratio * 100.0) / 100.0;
	return r;
}

/* Which way fg should move against bg: away from bg on the side it is
 * on, unless even black (or white) there cannot reach 4.5:1. */
static const char *advice(uint32_t fg, uint32_t bg)
{
	double lb = theme_luminance(bg);
	bool dark_ok = (lb + 0.05) / 0.05 >= THEME_MIN_CONTRAST;
	bool light_ok = 1.05 / (lb + 0.05) >= THEME_MIN_CONTRAST;
	if (theme_luminance(fg) <= lb)
		return dark_ok ? "darker" : "lighter";
	return light_ok ? "lighter" : "darker";
}

static void check_contrast(json_t *list, parsed_t *p)
{
	static const struct {
		int fg, bg;
		const char *field, *what;
	} rules[] = {
		{TEXT, BACKGROUND, "colors.text", "Text"},
		{TEXT, SURFACE, "colors.text", "Text"},
		{MUTED, BACKGROUND, "colors.muted", "Muted text"},
		{MUTED, SURFACE, "colors.muted", "Muted text"},
		{PRIMARY, BACKGROUND, "colors.primary",
		 "Primary (used for links and labels)"},
		{PRIMARY, SURFACE, "colors.primary",
		 "Primary (used for links and labels)"},
		{ON_PRIMARY, PRIMARY, "colors.on_primary",
		 "Button text (on_primary)"},
	};
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		int fg = rules[i].fg, bg = rules[i].bg;
		if (!p->color_ok[fg] || !p->color_ok[bg])
			continue;
		double r = theme_contrast(p->color[fg], p->color[bg]);
		if (r >= THEME_MIN_CONTRAST)
			continue;
		char a[8], b[8];
		hex6(p->color[fg], a);
		hex6(p->color[bg], b);
		problem(list, p, rules[i].field,
			"%s %s on %s %s has contrast %.2f:1; WCAG AA needs at "
			"least 4.5:1. Choose a %s colour.",
			rules[i].what, a, color_keys[bg], b, shown(r),
			advice(p->color[fg], p->color[bg]));
	}
	if (!p->gradient_ok || !p->color_ok[ON_PRIMARY])
		return;
	uint32_t on = p->color[ON_PRIMARY];
	for (int i = 0; i < p->gradient.n; i++) {
		double r = theme_contrast(on, p->gradient.color[i]);
		if (r >= THEME_MIN_CONTRAST)
			continue;
		char a[8], b[8];
		hex6(on, a);
		hex6(p->gradient.color[i], b);
		problem(list, p, "gradients.primary",
			"Hero text %s (on_primary) on gradient stop %d (%s) has "
			"contrast %.2f:1; WCAG AA needs at least 4.5:1. Choose a "
			"%s stop colour.",
			a, i + 1, b, shown(r),
			advice(p->gradient.color[i], on));
	}
}

int theme_check(const json_t *theme, json_t **problems_out)
{
	json_t *list = problems_out ? json_array() : NULL;
	if (problems_out && !list)
		arena_oom(sizeof(json_t));
	parsed_t p;
	parse_theme(theme, list, &p);
	check_contrast(list, &p);
	if (problems_out)
		*problems_out = list;
	return p.problems ? ERR_INVALID : 0;
}

/* ---------------------------------------------------------------- CSS */

static void put_color(buf_t *out, const char *name, uint32_t rgb)
{
	char h[8];
	hex6(rgb, h);
	buf_printf(out, "--%s:%s;", name, h);
}

static void put_rgb(buf_t *out, const char *name, uint32_t rgb)
{
	buf_printf(out, "--%s-rgb:%u %u %u;", name, (unsigned)(rgb >> 16) & 0xff,
		   (unsigned)(rgb >> 8) & 0xff, (unsigned)rgb & 0xff);
}

int theme_css(const json_t *theme, buf_t *out)
{
	parsed_t p;
	parse_theme(theme, NULL, &p);
	for (int i = 0; i < NCOLORS; i++)
		if (!p.color_ok[i])
			p.problems++;
	if (p.problems || !p.gradient_ok)
		return ERR_INVALID;

	static const char *const css_names[NCOLORS] = {
		"color-primary", "color-on-primary", "color-background",
		"color-surface", "color-text", "color-muted",
	};
	size_t start = out->len;
	int err0 = out->err;
	for (int i = 0; i < NCOLORS; i++)
		put_color(out, css_names[i], p.color[i]);
	put_color(out, "color-primary-soft",
		  blend(p.color[PRIMARY], p.color[BACKGROUND], 0.12));
	put_color(out, "color-border",
		  blend(p.color[TEXT], p.color[BACKGROUND], 0.12));
	put_rgb(out, "color-primary", p.color[PRIMARY]);
	put_rgb(out, "color-on-primary", p.color[ON_PRIMARY]);
	put_rgb(out, "color-text", p.color[TEXT]);
	/* Decoration on the gradient may only push it away from on_primary,
	 * so the measured hero contrast can only grow. */
	bool light_on = theme_contrast(p.color[ON_PRIMARY], 0x000000) >=
			theme_contrast(p.color[ON_PRIMARY], 0xffffff);
	buf_puts(out, light_on ? "--color-shade-rgb:0 0 0;"
			       : "--color-shade-rgb:255 255 255;");
	buf_printf(out, "--gradient-primary:linear-gradient(%ddeg",
		   p.gradient.angle);
	for (int i = 0; i < p.gradient.n; i++) {
		char h[8];
		hex6(p.gradient.color[i], h);
		buf_printf(out, ",%s %d%%", h, p.gradient.pos[i]);
	}
	buf_puts(out, ");");
	buf_printf(out, "--font-family:%s;", p.family->stack);
	buf_printf(out, "--font-heading:%s;",
		   (p.heading ? p.heading : p.family)->stack);
	buf_printf(out, "--radius:%s;--radius-control:%s;", p.radius->card,
		   p.radius->control);
	if (out->err && !err0) {
		/* Leave no half-written declarations behind. */
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return out->err;
	}
	return out->err;
}

int theme_primary_hex(const json_t *theme, char out[8])
{
	const json_t *v = json_object_get(json_object_get(theme, "colors"),
					  "primary");
	uint32_t rgb;
	if (!json_is_string(v) ||
	    theme_parse_color(json_string_value(v), json_string_length(v), &rgb))
		return ERR_INVALID;
	hex6(rgb, out);
	return 0;
}

json_t *theme_default_new(void)
{
	json_error_t e;
	json_t *t = json_loads(default_theme, 0, &e);
	if (!t)
		arena_oom(sizeof default_theme);
	return t;
}
