/* site: renders a tenant's public pages (/, /robots.txt, /sitemap.xml)
 * and the error pages, from PostgreSQL rows and the compiled templates.
 *
 * The result of a render is an immutable site_page_t that the responder
 * caches per (host, path) until a change is notified (see cache.h); it
 * carries everything needed to answer: status, content type, body, ETag
 * and the Content-Security-Policy whose style hash matches the page's one
 * inline <style> block (the theme's custom properties). */
#ifndef CANOPY_SITE_H
#define CANOPY_SITE_H

#include <stddef.h>

#include "arena.h"
#include "assets.h"
#include "config.h"
#include "db.h"
#include "mustache.h"
#include "str.h"

typedef struct site site_t;

typedef struct {
	int status;               /* 200 or 404 */
	const char *content_type; /* static string */
	char *body;
	size_t body_len;
	char etag[24];            /* "\"<16 hex>\"" */
	char *csp;                /* Content-Security-Policy value */
} site_page_t;

/* Long-lived rendering context; borrows its arguments for its lifetime. */
site_t *site_new(const config_t *cfg, const mustache_set_t *templates,
		 const assets_t *assets);
void site_free(site_t *site);

/* The Content-Security-Policy for pages without an inline style. */
const char *site_default_csp(void);

/* Renders path ("/", "/robots.txt", "/sitemap.xml") for the tenant slug.
 * An unknown or suspended tenant, an unpublished page or another path
 * gives a 404 page (status 404, still a successful render).  *out is
 * heap-allocated: release it with site_page_free (the cache does).
 * Errors: ERR_DB (database down: the caller answers 503),
 * ERR_INTERNAL (stored JSON or a template is broken; logged). */
int site_render(site_t *site, db_t *db, arena_t *arena, str_t slug,
		str_t path, site_page_t **out) WARN_UNUSED;

/* Renders the tenant's page at "/" from its saved page even when it is
 * not published or the tenant is suspended: the admin's preview.  A
 * tenant without a page gives the 404 page.  Errors as site_render. */
int site_render_preview(site_t *site, db_t *db, arena_t *a, str_t slug,
			site_page_t **out) WARN_UNUSED;

/* Renders an error page (templates/errors/<status>) for any host:
 * used for 400, 404 of the platform, 500 and 503. */
int site_render_error(site_t *site, arena_t *arena, int status,
		      const char *message, site_page_t **out) WARN_UNUSED;

/* The platform's own home page at https://<domain>/. */
int site_render_platform_home(site_t *site, arena_t *arena,
			      site_page_t **out) WARN_UNUSED;

void site_page_free(void *page);

#endif
