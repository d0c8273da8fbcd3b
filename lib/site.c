#include "site.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"
#include "mustache_json.h"
#include "page.h"
#include "theme.h"

#define PAGE_MAX (512 << 10)
#define CSP_BASE                                                        \
	"default-src 'none'; script-src 'self'; img-src 'self' data:; " \
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; "    \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "

struct site {
	const config_t *cfg;
	const mustache_set_t *templates;
	const assets_t *assets;
};

/* The row a tenant's pages are made from. */
typedef struct {
	const char *id;
	const char *slug;
	const char *name;
	const char *logo_url;
	const char *page_json;
	const char *theme_json;
	const char *updated; /* YYYY-MM-DD */
	/* The admin's preview: shown on the platform host, where the
	 * tenant's status stream (and its origin check) does not reach. */
	bool preview;
} tenant_row_t;

/* Where the page's Status section listens for changes; none in a
 * preview, which shows the status as it was when rendered. */
static const char *events_url(const tenant_row_t *t)
{
	return t->preview ? NULL : "/events";
}

static const db_stmt_t q_tenant_page = {
	"site_tenant_page",
	"SELECT t.name, t.logo_url, p.json::text, th.json::text,"
	"       to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), t.id"
	"  FROM tenants t"
	"  JOIN pages p ON p.tenant_id = t.id AND p.is_published"
	"  LEFT JOIN themes th ON th.id = t.theme_id"
	" WHERE t.slug = $1 AND t.status = 'active'",
	1};

/* The same row for the admin's preview: published or not, suspended or
 * not. */
static const db_stmt_t q_tenant_preview = {
	"site_tenant_preview",
	"SELECT t.name, t.logo_url, p.json::text, th.json::text,"
	"       to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), t.id"
	"  FROM tenants t"
	"  JOIN pages p ON p.tenant_id = t.id"
	"  LEFT JOIN themes th ON th.id = t.theme_id"
	" WHERE t.slug = $1",
	1};

/* The tenant's automations for the Status section, oldest first.  Only
 * a live workflow's run URL is shown: an earlier deployment's may no
 * longer answer. */
static const db_stmt_t q_workflows = {
	"site_workflows",
	"SELECT id, name, status, status_reason,"
	"       CASE WHEN status = 'live' THEN last_run_url END"
	"  FROM workflows WHERE tenant_id = $1 ORDER BY id LIMIT 50",
	1};

site_t *site_new(const config_t *cfg, const mustache_set_t *templates,
		 const assets_t *assets)
{
	site_t *s = xcalloc(1, sizeof *s);
	s->cfg = cfg;
	s->templates = templates;
	s->assets = assets;
	return s;
}

void site_free(site_t *site)
{
	free(site);
}

const char *site_default_csp(void)
{
	return CSP_BASE "style-src 'self'";
}

void site_page_free(void *p)
{
	site_page_t *page = p;
	if (!page)
		return;
	free(page->body);
	free(page->csp);
	free(page);
}

static void sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 32;
	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

/* Takes the rendered body and finishes the page: ETag from its content,
 * CSP allowing exactly the inline style given (or none). */
static site_page_t *page_new(int status, const char *content_type, buf_t *body,
			     const char *inline_style)
{
	site_page_t *p = xcalloc(1, sizeof *p);
	p->status = status;
	p->content_type = content_type;
	p->body = xmalloc(body->len + 1);
	memcpy(p->body, buf_cstr(body), body->len + 1);
	p->body_len = body->len;

	unsigned char md[32];
	sha256(p->body, p->body_len, md);
	snprintf(p->etag, sizeof p->etag,
		 "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", md[0], md[1], md[2],
		 md[3], md[4], md[5], md[6], md[7]);

	if (inline_style) {
		unsigned char b64[48];
		sha256(inline_style, strlen(inline_style), md);
		EVP_EncodeBlock(b64, md, 32);
		size_t n = sizeof CSP_BASE + sizeof b64 + 32;
		p->csp = xmalloc(n);
		snprintf(p->csp, n, "%sstyle-src 'self' 'sha256-%s'", CSP_BASE, b64);
	} else {
		p->csp = xstrdup(site_default_csp());
	}
	return p;
}

static const char *asset(const site_t *s, const char *file)
{
	const char *url = assets_url(s->assets, file);
	return url ? url : "";
}

static json_t *assets_json(const site_t *s)
{
	return json_pack("{s:s, s:s, s:s}", "css", asset(s, "site.css"), "js",
			 asset(s, "site.js"), "favicon", asset(s, "favicon.svg"));
}

/* JSON text that is safe inside <script>: '<', '>' and '&' occur only in
 * strings in JSON, where \u escapes mean the same thing. */
static char *script_safe_json(arena_t *a, const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_ESCAPE_SLASH);
	buf_t b;
	buf_init(&b, a, PAGE_MAX);
	for (const char *c = text; *c; c++) {
		if (*c == '<')
			buf_puts(&b, "\\u003c");
		else if (*c == '>')
			buf_puts(&b, "\\u003e");
		else if (*c == '&')
			buf_puts(&b, "\\u0026");
		else
			buf_putc(&b, *c);
	}
	free(text);
	return (char *)buf_cstr(&b);
}

static const char *origin_of(const site_t *s, arena_t *a, const char *slug)
{
	char host[300], origin[400];
	if (slug && *slug)
		snprintf(host, sizeof host, "%s.%s", slug, s->cfg->domain);
	else
		snprintf(host, sizeof host, "%s", s->cfg->domain);
	return arena_strdup(a, config_origin(s->cfg, host, origin, sizeof origin));
}

static json_t *seo_json(const site_t *s, arena_t *a, const tenant_row_t *t,
			const json_t *page, const char *origin)
{
	const json_t *seo = json_object_get(page, "seo");
	const char *title = json_string_value(json_object_get(seo, "title"));
	const char *desc = json_string_value(json_object_get(seo, "description"));
	const char *og_image = NULL;
	if (t->logo_url && t->logo_url[0] == '/')
		og_image = arena_printf(a, "%s%s", origin, t->logo_url);
	(void)s;
	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s}", "title",
			 title ? title : t->name, "description", desc ? desc : "",
			 "canonical", arena_printf(a, "%s/", origin), "site_name",
			 t->name, "og_image", og_image, "locale", "en_US");
}

static char *jsonld(arena_t *a, const tenant_row_t *t, const json_t *seo,
		    const char *origin)
{
	json_t *org = json_pack(
		"{s:s, s:s, s:s, s:O}", "@context", "https://schema.org",
		"@type", "Organization", "name", t->name, "url",
		json_object_get(seo, "canonical"));
	const char *desc = json_string_value(json_object_get(seo, "description"));
	if (desc && *desc)
		json_object_set_new(org, "description", json_string(desc));
	if (t->logo_url && t->logo_url[0] == '/')
		json_object_set_new(org, "logo",
				    json_string(arena_printf(a, "%s%s", origin,
							     t->logo_url)));
	char *text = script_safe_json(a, org);
	json_decref(org);
	return text;
}

/* The first character of the name, whole (UTF-8), for the monogram. */
static json_t *initial_of(const char *name)
{
	size_t n = 1;
	while (name[n] && ((unsigned char)name[n] & 0xc0) == 0x80)
		n++;
	return json_stringn(name, name[0] ? n : 0);
}

static json_t *tenant_json(const tenant_row_t *t)
{
	json_t *j = json_pack("{s:s, s:s, s:s?}", "slug", t->slug, "name",
			      t->name, "logo_url", t->logo_url);
	json_object_set_new(j, "initial", initial_of(t->name));
	return j;
}

static const char *status_label(const char *status)
{
	static const char *const labels[][2] = {
		{"idle", "Idle"},         {"generating", "Generating"},
		{"deploying", "Deploying"}, {"live", "Live"},
		{"error", "Error"},
	};
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if (strcmp(labels[i][0], status) == 0)
			return labels[i][1];
	return "Unknown";
}

/* The Status section: the tenant's workflows as they are now (the page
 * is complete without JavaScript), and the stream that updates them. */
static int status_json(db_t *db, arena_t *a, const tenant_row_t *t,
		       json_t **out)
{
	const char *params[] = {t->id};
	PGresult *r;
	if (db_exec(db, a, &q_workflows, params, &r) != 0)
		return ERR_DB;
	json_t *list = json_array();
	for (int i = 0; i < db_rows(r); i++) {
		const char *st = db_value(r, i, 2);
		json_array_append_new(
			list, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}",
					"id", db_value(r, i, 0), "name",
					db_value(r, i, 1), "status", st,
					"status_label", status_label(st),
					"reason", db_value(r, i, 3), "url",
					db_value(r, i, 4)));
	}
	*out = json_pack("{s:s?, s:o, s:b}", "events_url", events_url(t),
			 "workflows", list, "empty", json_array_size(list) == 0);
	return *out ? 0 : ERR_INTERNAL;
}

static int year_now(void)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	return tm.tm_year + 1900;
}

/* Parses the stored page and theme, checking them as if they had just
 * been saved: stored data is input too. */
static int load_documents(const tenant_row_t *t, json_t **page, json_t **theme)
{
	json_error_t e;
	json_t *page_problems = NULL, *theme_problems = NULL;
	*page = json_loads(t->page_json, 0, &e);
	*theme = t->theme_json ? json_loads(t->theme_json, 0, &e)
			       : theme_default_new();
	int rc = 0;
	if (!*page || !*theme || page_check(*page, &page_problems) != 0 ||
	    theme_check(*theme, &theme_problems) != 0)
		rc = ERR_INTERNAL;
	json_decref(page_problems);
	json_decref(theme_problems);
	if (rc) {
		log_line_t *l = log_begin(LOG_ERROR, "stored page or theme invalid");
		log_str(l, "tenant", t->slug);
		log_end(l);
		json_decref(*page);
		json_decref(*theme);
		return rc;
	}
	json_t *complete = page_defaults_new(*page);
	json_decref(*page);
	*page = complete;
	return 0;
}

static int render_template(const site_t *s, const char *name, const json_t *ctx,
			   arena_t *a, buf_t *out)
{
	buf_init(out, a, PAGE_MAX);
	int rc = mustache_json_render(s->templates, name, ctx, out);
	if (rc) {
		log_line_t *l = log_begin(LOG_ERROR, "template render failed");
		log_str(l, "template", name);
		log_int(l, "err", rc);
		log_end(l);
		return ERR_INTERNAL;
	}
	return 0;
}

static int render_tenant(site_t *s, db_t *db, arena_t *a,
			 const tenant_row_t *t, str_t path, site_page_t **out)
{
	json_t *page, *theme, *status = NULL;
	int rc = load_documents(t, &page, &theme);
	if (rc)
		return rc;
	/* robots.txt and the sitemap do not show the status */
	if (str_eq_c(path, "/") && (rc = status_json(db, a, t, &status)) != 0) {
		json_decref(page);
		json_decref(theme);
		return rc;
	}
	if (!status)
		status = json_pack("{s:s?, s:[], s:b}", "events_url",
				   events_url(t), "workflows", "empty", 1);
	buf_t style;
	buf_init(&style, a, 16 << 10);
	buf_puts(&style, ":root{");
	if (theme_css(theme, &style) != 0 || buf_puts(&style, "}") != 0) {
		json_decref(page);
		json_decref(theme);
		json_decref(status);
		return ERR_INTERNAL;
	}

	char primary[8];
	if (theme_primary_hex(theme, primary) != 0)
		primary[0] = '\0';
	const char *origin = origin_of(s, a, t->slug);
	json_t *seo = seo_json(s, a, t, page, origin);
	json_t *ctx = json_pack(
		"{s:o, s:O, s:{s:s, s:s}, s:o, s:s, s:o, s:o, s:i, s:s, s:s}",
		"tenant", tenant_json(t), "page", page, "theme", "style",
		buf_cstr(&style), "color", primary, "seo", seo, "jsonld",
		jsonld(a, t, seo, origin), "assets", assets_json(s), "status",
		status, "year", year_now(), "origin", origin, "lastmod",
		t->updated ? t->updated : "");

	buf_t body;
	const char *tpl = "site/page", *type = "text/html; charset=utf-8";
	const char *inline_style = buf_cstr(&style);
	if (str_eq_c(path, "/robots.txt")) {
		tpl = "site/robots";
		type = "text/plain; charset=utf-8";
		inline_style = NULL;
	} else if (str_eq_c(path, "/sitemap.xml")) {
		tpl = "site/sitemap";
		type = "application/xml; charset=utf-8";
		inline_style = NULL;
	}
	rc = ctx ? render_template(s, tpl, ctx, a, &body) : ERR_INTERNAL;
	if (rc == 0)
		*out = page_new(200, type, &body, inline_style);
	json_decref(ctx);
	json_decref(page);
	json_decref(theme);
	return rc;
}

int site_render_error(site_t *s, arena_t *a, int status, const char *message,
		      site_page_t **out)
{
	static const struct {
		int status;
		const char *title;
	} titles[] = {{400, "Bad request"},
		      {404, "Page not found"},
		      {500, "Something went wrong"},
		      {503, "Temporarily unavailable"}};
	const char *title = "Error";
	for (unsigned i = 0; i < sizeof titles / sizeof titles[0]; i++)
		if (titles[i].status == status)
			title = titles[i].title;
	char name[32];
	snprintf(name, sizeof name, "errors/%d", status);
	if (!mustache_set_has(s->templates, name))
		snprintf(name, sizeof name, "errors/500");
	json_t *ctx = json_pack("{s:i, s:s, s:s, s:o, s:s, s:i}", "status",
				status, "title", title, "message", message,
				"assets", assets_json(s), "home_url",
				arena_printf(a, "%s/", origin_of(s, a, NULL)),
				"year", year_now());
	buf_t body;
	int rc = ctx ? render_template(s, name, ctx, a, &body) : ERR_INTERNAL;
	json_decref(ctx);
	if (rc == 0)
		*out = page_new(status, "text/html; charset=utf-8", &body, NULL);
	return rc;
}

int site_render_platform_home(site_t *s, arena_t *a, site_page_t **out)
{
	json_t *ctx = json_pack("{s:s, s:o, s:s, s:i}", "domain", s->cfg->domain,
				"assets", assets_json(s), "home_url",
				arena_printf(a, "%s/", origin_of(s, a, NULL)),
				"year", year_now());
	buf_t body;
	int rc = ctx ? render_template(s, "platform/home", ctx, a, &body)
		     : ERR_INTERNAL;
	json_decref(ctx);
	if (rc == 0)
		*out = page_new(200, "text/html; charset=utf-8", &body, NULL);
	return rc;
}

static bool is_site_path(str_t path)
{
	return str_eq_c(path, "/") || str_eq_c(path, "/robots.txt") ||
	       str_eq_c(path, "/sitemap.xml");
}

static int render_row(site_t *s, db_t *db, arena_t *a, const db_stmt_t *q,
		      str_t slug, str_t path, site_page_t **out)
{
	char *slug_c = str_dup(a, slug);
	const char *params[] = {slug_c};
	PGresult *r;
	int rc = db_exec(db, a, q, params, &r);
	if (rc)
		return ERR_DB;
	if (db_rows(r) == 0)
		return site_render_error(
			s, a, 404,
			"No published site lives at this address. If it is yours, "
			"publish it from the admin.", out);
	tenant_row_t t = {
		.slug = slug_c,
		.name = db_value(r, 0, 0),
		.logo_url = db_value(r, 0, 1),
		.page_json = db_value(r, 0, 2),
		.theme_json = db_value(r, 0, 3),
		.updated = db_value(r, 0, 4),
		.id = db_value(r, 0, 5),
		.preview = q == &q_tenant_preview,
	};
	return render_tenant(s, db, a, &t, path, out);
}

int site_render(site_t *s, db_t *db, arena_t *a, str_t slug, str_t path,
		site_page_t **out)
{
	if (!is_site_path(path))
		return site_render_error(s, a, 404, "There is no page at this address.",
					 out);
	return render_row(s, db, a, &q_tenant_page, slug, path, out);
}

int site_render_preview(site_t *s, db_t *db, arena_t *a, str_t slug,
			site_page_t **out)
{
	return render_row(s, db, a, &q_tenant_preview, slug, STR("/"), out);
}
