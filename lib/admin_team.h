/* admin_team: the admin screens of a tenant's team and its secrets
 * (see admin_screen.h for how screens plug in):
 *
 *   /admin/tenants/{slug}/members      members, roles, invitations (an
 *                                      open one can be withdrawn: its
 *                                      link then says so)
 *   /admin/invite/{token}              accepting an invitation (public)
 *   /admin/tenants/{slug}/keys         API keys: create with scopes (at
 *                                      least one; shown once), revoke
 *   /admin/tenants/{slug}/credentials  secrets by authRef: add, delete
 *   /admin/tenants/{slug}/audit        the tenant's audit log
 *   /admin/audit                       every tenant's (operators)
 *
 * Every handler loads the tenant with admin_load_tenant and checks the
 * action with auth_can; no role or no right is 404.  Every change writes
 * its audit entry in the change's transaction. */
#ifndef CANOPY_ADMIN_TEAM_H
#define CANOPY_ADMIN_TEAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "router.h"

/* Days an invitation link stays valid. */
#define ADMIN_TEAM_INVITE_DAYS 7
/* Audit entries on a page: the default and the most. */
#define ADMIN_TEAM_AUDIT_PAGE 50
#define ADMIN_TEAM_AUDIT_MAX 200

/* The routes of these screens (a static table; *n gets its length). */
const router_route_t *admin_team_routes(size_t *n);

/* Whether kind is a credential type a builder uses (the types
 * translate_n8n_credential_type gives: slackApi, gmailOAuth2, smtp,
 * httpBearerAuth, httpBasicAuth, httpHeaderAuth). */
bool admin_team_kind_ok(const char *kind);

/* An audit diff (audit_diff_new's shape: {"/path": {"old"?, "new"?}}) as
 * rows for a page: a new array of {"path", "old"?, "new"?} with the values
 * as compact JSON text, in the diff's key order; a diff that is not an
 * object gives one row at path "" with the whole value as "new".  NULL
 * diff: an empty array.  The caller releases it with json_decref. */
json_t *admin_team_diff_rows_new(const json_t *diff);

#endif
