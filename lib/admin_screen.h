/* admin_screen: what the screens of the admin share.
 *
 * lib/admin.c owns sign-in, sessions, CSRF and the route table; each group
 * of screens lives in a module of its own (admin_<group>.c) that exports
 * its routes with admin_<group>_routes() (listed in admin.c's `screens`)
 * and answers through the helpers below.  By the time a handler runs, the
 * person is signed in, and a POST's body is read and its CSRF token
 * checked.  Handlers get the admin_ctx_t as their app pointer.
 *
 * Forms may be urlencoded or multipart/form-data (lib/multipart, parsed
 * before the handler runs); admin_form reads the fields of either.  A
 * route that takes a file is named "upload.*": only those read a body of
 * up to ADMIN_UPLOAD_MAX bytes, and they find the file with admin_file. */
#ifndef CANOPY_ADMIN_SCREEN_H
#define CANOPY_ADMIN_SCREEN_H

#include <jansson.h>
#include <stdbool.h>

#include "admin.h"
#include "arena.h"
#include "assets.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "multipart.h"
#include "mustache.h"
#include "router.h"
#include "str.h"

/* One request. */
typedef struct {
	admin_t *admin;
	db_t *db;
	arena_t *arena;
	http_request_t *req;
	http_response_t *resp;
	bool signed_in;
	auth_session_t session;
	char csrf[AUTH_CSRF_SIZE]; /* for the forms of this page */
	bool multipart;                /* the POST was multipart/form-data */
	const multipart_part_t *parts; /* then its parts */
	size_t nparts;
} admin_ctx_t;

/* A tenant as a screen sees it, with the person's role in it. */
typedef struct {
	long long id;
	const char *slug;
	const char *name;
	const char *status;
	const char *created;
	bool has_page;
	bool published;
	auth_role_t role;
} admin_tenant_t;

/* The configuration the admin was made with. */
const config_t *admin_config(const admin_ctx_t *c);

/* The compiled templates and the assets the admin was made with (to
 * render a tenant's page for a preview with lib/site). */
const mustache_set_t *admin_templates(const admin_ctx_t *c);
const assets_t *admin_assets(const admin_ctx_t *c);

/* Renders templates/<name> with data (stolen) plus what every admin page
 * needs: assets, the person ("me"), the CSRF token ("csrf"), the year. */
int admin_render(admin_ctx_t *c, int status, const char *name, json_t *data)
	WARN_UNUSED;

/* The admin's error page with a title and a sentence. */
int admin_error_page(admin_ctx_t *c, int status, const char *title,
		     const char *message) WARN_UNUSED;

/* 303 to location (after a successful POST). */
int admin_redirect(admin_ctx_t *c, const char *location) WARN_UNUSED;

/* A form field as re-rendered: {"value", "error"?}. */
json_t *admin_field(str_t value, const char *error);

/* A posted form field (of a urlencoded form, or a plain field of a
 * multipart one); "" when absent. */
str_t admin_form(const admin_ctx_t *c, const char *name);

/* The first file part named name of a multipart POST (its filename is
 * set, perhaps empty when no file was chosen), or NULL.  Views into the
 * request body; the filename and content type are the sender's claims. */
const multipart_part_t *admin_file(const admin_ctx_t *c, const char *name);

/* The tenant of the path's {slug} and the person's role in it;
 * ERR_NOT_FOUND when there is none or the person has no role (the same
 * answer, so a guessed slug reveals nothing).  Check the action with
 * auth_can(t->role, ...) next. */
int admin_load_tenant(admin_ctx_t *c, admin_tenant_t *t) WARN_UNUSED;

/* An ISO 8601 time as the modules give it (to_json of a timestamptz,
 * "2026-11-24T17:10:54.144157+00:00") as the admin shows times:
 * "2026-11-24 17:10" in UTC.  NULL for NULL; the input itself when it
 * is not in that form. */
const char *admin_time(admin_ctx_t *c, const char *iso);

/* https://<slug>.<domain>[:port]/ */
const char *admin_site_url(admin_ctx_t *c, const char *slug);

#endif
