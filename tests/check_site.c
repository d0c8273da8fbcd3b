#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "log.h"
#include "site.h"

static config_t cfg;
static mustache_set_t *templates;
static assets_t *assets;
static site_t *site;
static arena_t *arena;

static void setup(void)
{
	log_init("check_site", LOG_ERROR);
	setenv("CANOPY_DOMAIN", "canopy.test", 1);
	setenv("CANOPY_HTTPS_PORT", "8443", 1);
	char err[CONFIG_ERR_MAX];
	ck_assert_int_eq(config_load(&cfg, err, sizeof err), 0);
	templates = mustache_set_new();
	mustache_error_t terr;
	ck_assert_msg(mustache_set_load_dir(templates, TOP_SRCDIR "/templates", &terr) == 0,
		      "%s:%d:%d %s", terr.name, terr.line, terr.column, terr.message);
	assets = assets_load(TOP_SRCDIR "/static");
	ck_assert_ptr_nonnull(assets);
	site = site_new(&cfg, templates, assets);
	arena = arena_new(0);
}

static void teardown(void)
{
	arena_free(arena);
	site_free(site);
	assets_free(assets);
	mustache_set_free(templates);
}

START_TEST(error_pages_are_styled_and_strict)
{
	site_page_t *p = NULL;
	ck_assert_int_eq(site_render_error(site, arena, 404, "No <site> here", &p), 0);
	ck_assert_int_eq(p->status, 404);
	ck_assert_ptr_nonnull(strstr(p->body, "No &lt;site&gt; here"));
	ck_assert_ptr_nonnull(strstr(p->body, assets_url(assets, "site.css")));
	ck_assert_str_eq(p->csp, site_default_csp());
	ck_assert_ptr_null(strstr(p->csp, "unsafe"));
	ck_assert_int_eq(p->etag[0], '"');
	site_page_free(p);
	/* a status without its own template falls back to the generic one */
	ck_assert_int_eq(site_render_error(site, arena, 405, "Nope", &p), 0);
	ck_assert_int_eq(p->status, 405);
	site_page_free(p);
}
END_TEST

START_TEST(platform_home_renders)
{
	site_page_t *p = NULL;
	ck_assert_int_eq(site_render_platform_home(site, arena, &p), 0);
	ck_assert_int_eq(p->status, 200);
	ck_assert_ptr_nonnull(strstr(p->body, "canopy.test"));
	site_page_free(p);
}
END_TEST

START_TEST(unknown_paths_are_404_without_the_database)
{
	site_page_t *p = NULL;
	ck_assert_int_eq(site_render(site, NULL, arena, STR("demo"), STR("/wp-admin"), &p), 0);
	ck_assert_int_eq(p->status, 404);
	site_page_free(p);
}
END_TEST

/* With a database: a tenant made here, rendered, then removed. */
static db_t *db;

static void make_tenant(const char *slug, bool published)
{
	FILE *f = fopen(TOP_SRCDIR "/sql/seed/demo-page.json", "r");
	ck_assert_ptr_nonnull(f);
	json_error_t e;
	json_t *page = json_loadf(f, 0, &e);
	fclose(f);
	ck_assert_ptr_nonnull(page);
	json_object_set_new(json_object_get(page, "hero"), "headline",
			    json_string("Fresh <bread> & \"pastry\""));
	char *text = json_dumps(page, JSON_COMPACT);
	json_decref(page);
	const char *p[] = {slug, text, published ? "t" : "f"};
	ck_assert_int_eq(db_query(db, arena,
				  "WITH t AS (INSERT INTO tenants (slug, name) VALUES ($1, 'Test & Co') RETURNING id)"
				  " INSERT INTO pages (tenant_id, json, is_published) SELECT id, $2::jsonb, $3::boolean FROM t",
				  3, p, NULL), 0);
	free(text);
}

static void drop_tenant(const char *slug)
{
	const char *p[] = {slug};
	ck_assert_int_eq(db_query(db, arena, "DELETE FROM tenants WHERE slug = $1", 1, p, NULL), 0);
}

START_TEST(tenant_page_renders_from_the_database)
{
	const char *url = getenv("DATABASE_URL");
	if (!url || !*url)
		return; /* covered by the integration test; needs a database */
	db = db_open(url);
	char slug[40];
	snprintf(slug, sizeof slug, "check-site-%d", (int)getpid());
	make_tenant(slug, true);
	site_page_t *p = NULL;
	ck_assert_int_eq(site_render(site, db, arena, str_c(slug), STR("/"), &p), 0);
	ck_assert_int_eq(p->status, 200);
	ck_assert_ptr_nonnull(strstr(p->body, "Fresh &lt;bread&gt; &amp;"));
	ck_assert_ptr_nonnull(strstr(p->body, "Test &amp; Co"));
	ck_assert_ptr_nonnull(strstr(p->csp, "style-src 'self' 'sha256-"));
	char canonical[128];
	snprintf(canonical, sizeof canonical, "https://%s.canopy.test:8443/", slug);
	ck_assert_ptr_nonnull(strstr(p->body, canonical));
	site_page_free(p);

	ck_assert_int_eq(site_render(site, db, arena, str_c(slug), STR("/sitemap.xml"), &p), 0);
	ck_assert_str_eq(p->content_type, "application/xml; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(p->body, canonical));
	site_page_free(p);

	drop_tenant(slug);
	make_tenant(slug, false);
	ck_assert_int_eq(site_render(site, db, arena, str_c(slug), STR("/"), &p), 0);
	ck_assert_int_eq(p->status, 404);
	site_page_free(p);
	drop_tenant(slug);
	db_close(db);
}
END_TEST

/* The Status section lists the tenant's workflows as they are, so the
 * page shows them without JavaScript: a live one with its URL, an error
 * with its reason; another tenant's never. */
START_TEST(status_section_lists_the_workflows)
{
	const char *url = getenv("DATABASE_URL");
	if (!url || !*url)
		return;
	db = db_open(url);
	char slug[40], other[48];
	snprintf(slug, sizeof slug, "check-site-wf-%d", (int)getpid());
	snprintf(other, sizeof other, "%s-b", slug);
	make_tenant(slug, true);
	make_tenant(other, true);
	site_page_t *p = NULL;
	ck_assert_int_eq(site_render(site, db, arena, str_c(slug), STR("/"), &p), 0);
	ck_assert_ptr_nonnull(strstr(p->body, "No automations yet"));
	ck_assert_ptr_nonnull(strstr(p->body, "data-events-url=\"/events\""));
	site_page_free(p);

	const char *params[] = {slug, other};
	ck_assert_int_eq(db_query(db, arena,
		"INSERT INTO workflows (tenant_id, name, status, status_reason, last_run_url)"
		" SELECT id, v.name, v.status, v.reason, v.url FROM tenants,"
		" (VALUES ('Leads to Slack', 'live', NULL, 'https://n8n.test/webhook/leads'),"
		"         ('Nightly <report>', 'error', 'OpenAI rejected the API key', NULL),"
		"         ('Old one', 'deploying', NULL, 'https://n8n.test/webhook/old'))"
		"   AS v(name, status, reason, url) WHERE slug = $1"
		" UNION ALL SELECT id, 'Secret of B', 'live', NULL, NULL FROM tenants WHERE slug = $2",
		2, params, NULL), 0);
	ck_assert_int_eq(site_render(site, db, arena, str_c(slug), STR("/"), &p), 0);
	ck_assert_int_eq(p->status, 200);
	ck_assert_ptr_null(strstr(p->body, "No automations yet"));
	ck_assert_ptr_nonnull(strstr(p->body, "Leads to Slack"));
	ck_assert_ptr_nonnull(strstr(p->body, "badge--live"));
	ck_assert_ptr_nonnull(strstr(p->body, "href=\"https://n8n.test/webhook/leads\""));
	ck_assert_ptr_nonnull(strstr(p->body, "Nightly &lt;report&gt;"));
	ck_assert_ptr_nonnull(strstr(p->body, "badge--error"));
	ck_assert_ptr_nonnull(strstr(p->body, "OpenAI rejected the API key"));
	ck_assert_ptr_nonnull(strstr(p->body, "Deploying"));
	/* a run URL is shown only while the workflow is live */
	ck_assert_ptr_null(strstr(p->body, "webhook/old"));
	ck_assert_ptr_null(strstr(p->body, "Secret of B"));
	site_page_free(p);
	drop_tenant(slug);
	drop_tenant(other);
	db_close(db);
}
END_TEST

static Suite *site_suite(void)
{
	Suite *s = suite_create("site");
	TCase *tc = tcase_create("render");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, error_pages_are_styled_and_strict);
	tcase_add_test(tc, platform_home_renders);
	tcase_add_test(tc, unknown_paths_are_404_without_the_database);
	tcase_add_test(tc, tenant_page_renders_from_the_database);
	tcase_add_test(tc, status_section_lists_the_workflows);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(site_suite)
