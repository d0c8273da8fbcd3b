/* admin_workflows: the admin screens of a tenant's workflows (see
 * admin_screen.h for how screens plug in).
 *
 *   GET  /admin/tenants/{slug}/workflows                   read: the list,
 *                                                          and for editors
 *                                                          the new-workflow form
 *   POST /admin/tenants/{slug}/workflows                   edit: name + prompt
 *                                                          -> a new workflow
 *                                                          generating
 *   GET  /admin/tenants/{slug}/workflows/{id}              read: status, the
 *                                                          diagram, the JSON,
 *                                                          deployments, prompt
 *   POST /admin/tenants/{slug}/workflows/{id}              edit: save the JSON
 *   POST /admin/tenants/{slug}/workflows/{id}/generate     edit: generate again
 *                                                          from a new prompt
 *   POST /admin/tenants/{slug}/workflows/{id}/deploy       publish: deploy
 *   GET  /admin/tenants/{slug}/workflows/{id}/status       read: the status as
 *                                                          JSON, for the page's
 *                                                          script
 *   GET  /admin/tenants/{slug}/workflows/{id}/diagram.svg  read: the diagram
 *                                                          alone
 *
 * Viewers read (no forms); editors, owners and operators also edit,
 * generate and deploy.  No role, a role without the right, or a workflow
 * id of another tenant is 404.  Generating and deploying go through the
 * same functions as the JSON API (workflow_jobs_start_generate,
 * workflow_jobs_start_deploy), graphs through the same checks
 * (workflow_validate); every change writes its audit entry
 * (workflow.create, workflow.generate, workflow.update, workflow.deploy)
 * in the change's transaction.  A JSON edit that does not parse or pass
 * the checks re-renders with 422, the person's text kept and each
 * problem listed under the text with its JSON pointer; nothing is saved.
 * Generations are made without deploying: a person looks at the graph,
 * then deploys it.  While a workflow is generating or deploying, the
 * page loads static/admin-workflow.js, which polls the status route
 * (bounded) and reloads the page when the work is done; without script,
 * a reload shows the same. */
#ifndef CANOPY_ADMIN_WORKFLOWS_H
#define CANOPY_ADMIN_WORKFLOWS_H

#include <jansson.h>
#include <stddef.h>

#include "arena.h"
#include "router.h"
#include "str.h"

/* Deployment attempts listed on a workflow's page. */
#define ADMIN_WORKFLOWS_HISTORY 20
/* Workflows listed on the tenant's list. */
#define ADMIN_WORKFLOWS_LIST_MAX 200

/* The routes of these screens (a static table; *n gets its length). */
const router_route_t *admin_workflows_routes(size_t *n);

/* Parses the text of the JSON editor.  Returns a new graph (caller
 * owns it), or NULL with *problems (a new array the caller owns) holding
 * one {"pointer": "", "message"} saying where the text stops being JSON
 * (line and column) or that it is not an object.  Duplicate keys are
 * refused (the second one would silently win). */
json_t *admin_workflows_parse(str_t text, json_t **problems);

/* "2024-05-01T12:34:56.789+00:00" -> "2024-05-01 12:34:56" (arena
 * string in out's arena); other text is returned as it is, NULL as
 * NULL. */
const char *admin_workflows_short_time(arena_t *a, const char *iso);

#endif
