/* admin: the HTML admin under /admin/ on the platform host.
 *
 *   GET  /admin                      303 to /admin/
 *   GET  /admin/login                the sign-in form
 *   POST /admin/login                lib/auth login; 303 to /admin/ with
 *                                    the session cookie, 422 re-render,
 *                                    429 (Retry-After) while throttled
 *   POST /admin/logout               revokes the session; 303 to login
 *   GET  /admin/                     tenants the person may see
 *                                    (?q= name or slug, ?status=)
 *   GET  /admin/password             change the password (asks for the
 *   POST /admin/password             current one again, throttled)
 *   GET  /admin/tenants/new          platform admins only: create a
 *   POST /admin/tenants/new          tenant with a theme and a starter page
 *   GET  /admin/tenants/{slug}       overview: page, workflows, members
 *   POST /admin/tenants/{slug}/suspend      platform admins only
 *   POST /admin/tenants/{slug}/unsuspend
 *   GET  /admin/tenants/{slug}/rename       owners: the display name;
 *   POST /admin/tenants/{slug}/rename       platform admins: also the slug
 *
 * Access: without a live session every address but the login form is a
 * 303 to /admin/login.  Every POST must come from our own origin (Origin,
 * when sent) and, but for the login, carry the session's CSRF token in
 * the field "csrf" (of a urlencoded or a multipart/form-data form): 403
 * otherwise.  A tenant the person has no role in is
 * 404, exactly like a tenant that does not exist; so is every
 * operator-only address for someone who is not an operator (those screens
 * do not exist for them, and a 404 tells a prober nothing).  Every answer
 * is no-store.  Changes are audited in their own transaction.
 *
 * No FastCGI here: the responder hands over the request, a way to read
 * its body, its database connection and a response to fill, as for the
 * API (lib/api.h). */
#ifndef CANOPY_ADMIN_H
#define CANOPY_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "assets.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "http.h"
#include "mustache.h"
#include "router.h"
#include "str.h"

#define ADMIN_PREFIX "/admin/"
#define ADMIN_COOKIE "canopy_session"
#define ADMIN_BODY_MAX (64u * 1024u) /* form posts; nginx allows 2 MB */
#define ADMIN_UPLOAD_MAX (2u * 1024u * 1024u) /* multipart posts to routes
					       * named "upload.*": nginx's
					       * limit */
#define ADMIN_SLUG_MAX 63
#define ADMIN_LIST_MAX 200           /* tenants shown on the dashboard */
#define ADMIN_QUERY_MAX 100          /* bytes of a search */

typedef struct admin admin_t;

/* The admin's long-lived context.  cfg, templates (which must hold
 * templates/admin/...) and assets are borrowed for its lifetime.  Returns
 * an admin the caller owns (admin_free), or NULL with one line in err. */
admin_t *admin_new(const config_t *cfg, const mustache_set_t *templates,
		   const assets_t *assets, char *err, size_t errlen);
void admin_free(admin_t *admin);

/* Whether req is the admin's: the platform host and /admin or a path
 * under ADMIN_PREFIX. */
bool admin_owns(const http_request_t *req);

/* Answers req (one admin_owns accepted) into resp, which the caller has
 * initialised and writes afterwards: routing, the session, the body (read
 * with read_fn/read_ctx, at most ADMIN_BODY_MAX, or ADMIN_UPLOAD_MAX for
 * a multipart/form-data post to an "upload.*" route), CSRF, roles, the
 * handler, the error page.  Always leaves resp complete with a status;
 * returns 0, or ERR_INTERNAL when even the error page could not be made
 * (resp then holds a bare 500).  The caller adds the security headers
 * (CSP without inline script, X-Frame-Options: DENY). */
int admin_serve(admin_t *admin, db_t *db, http_request_t *req,
		http_response_t *resp, http_read_fn read_fn, void *read_ctx)
	WARN_UNUSED;

/* Every route of the admin, admin.c's own and every screen module's, in
 * the order they are matched: a new array (its strings static) that the
 * caller frees with free(); *n gets its length.  For admin_new, and for
 * tools that list routes (canopy routes). */
router_route_t *admin_routes_new(size_t *n);

/* Whether r (one of admin_routes_new's) is answered without a session:
 * the sign-in form and its POST, /admin, and invitation links. */
bool admin_route_public(const router_route_t *r);

/* Whether slug may name a new tenant: 1..63 of a-z, 0-9 and '-', starting
 * and ending with a letter or digit, no "--" (punycode and look-alikes),
 * and not a reserved name (admin_slug_reserved).  ERR_INVALID with *why
 * (may be NULL) set to a sentence to show next to the field. */
int admin_slug_check(str_t slug, const char **why) WARN_UNUSED;

/* Whether slug is kept for the platform (www, admin, api, mail, ...):
 * names a person could mistake for ours, or that we may need. */
bool admin_slug_reserved(str_t slug);

#endif
