/* admin_site: the admin screens of a tenant's site: the page editor,
 * publish and unpublish, the preview, the page's version history and the
 * theme editor.
 *
 * Routes (every one checks the person's role in the tenant; no role, or
 * a role without the right, is 404 like the shell's screens):
 *   GET  /admin/tenants/{slug}/page                     read (viewers: read-only)
 *   POST /admin/tenants/{slug}/page                     edit
 *   POST /admin/tenants/{slug}/page/publish             publish
 *   POST /admin/tenants/{slug}/page/unpublish           publish
 *   GET  /admin/tenants/{slug}/page/preview             read
 *   GET  /admin/tenants/{slug}/page/versions            read
 *   GET  /admin/tenants/{slug}/page/versions/{n}        read
 *   POST /admin/tenants/{slug}/page/versions/{n}/restore  edit
 *   GET  /admin/tenants/{slug}/theme                    read (viewers: read-only)
 *   POST /admin/tenants/{slug}/theme                    edit
 *
 * The page form names its inputs by the JSON path of the value they hold
 * ("hero.headline", "features.items[2].icon"), the same names page_check()
 * reports problems under, so each message lands next to its input. */
#ifndef CANOPY_ADMIN_SITE_H
#define CANOPY_ADMIN_SITE_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "router.h"
#include "str.h"

/* The most feature items the form offers (page_check's limit). */
#define ADMIN_SITE_ITEMS_MAX 12

/* Looks up a posted field: its value, or a str_t with p == NULL when the
 * form did not carry it. */
typedef str_t (*admin_site_get_fn)(void *ctx, const char *name);

/* The page JSON a posted page form describes: every value trimmed;
 * optional fields left empty are omitted (an empty secondary button, an
 * empty Status, SEO or footer section disappear), required ones are kept
 * as "" so page_check() names them.  Items are read from
 * features.items[0..] until the first index without a title field.  A
 * value that is not valid UTF-8 becomes null (page_check refuses it).
 * A new object the caller owns; never NULL.  Not checked. */
json_t *admin_site_page_from_form(admin_site_get_fn get, void *ctx);

/* Applies an item button of the form to page's features.items: "add"
 * (a blank item at the end, up to ADMIN_SITE_ITEMS_MAX), "remove:N",
 * "up:N", "down:N" (N 0-based).  ERR_INVALID for another op, an index
 * out of range or a move past either end; page is then unchanged. */
int admin_site_items_op(json_t *page, str_t op) WARN_UNUSED;

/* The theme a posted theme form describes: a copy of current (may be
 * NULL) with the form's colors.*, gradients.primary, font.family,
 * font.heading and rounded put in, each trimmed (null when not UTF-8).
 * Each colour comes as a text input (colors.X), a colour picker
 * (pick.colors.X) and the value the page showed (was.colors.X): the
 * text wins when it was changed or the picker was not (it still shows
 * was), the picker otherwise, so either can be used without script.  A new object the
 * caller owns; never NULL.  Not checked. */
json_t *admin_site_theme_from_form(const json_t *current,
				   admin_site_get_fn get, void *ctx);

/* The routes above, for admin.c's screen list. */
const router_route_t *admin_site_routes(size_t *n);

#endif
