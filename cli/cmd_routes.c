/* canopy routes: every route of the admin and of the API, from the same
 * tables the responder serves, one per line, tab-separated:
 *
 *   admin  POST  /admin/tenants/{slug}/rename  admin.tenant_rename  session
 *   admin  GET   /admin/invite/{token}         public.invite_form   public
 *   api    GET   /api/v1/workflows/{id}        api.workflows.get    key:workflows:read
 *
 * The last column says who may call it: "public" (no session), "session"
 * (a signed-in person; the handler then checks the role) or
 * "key:<scope>" (an API key with that scope).  Tests walk this list
 * (tests/integration/46-isolation.sh), so a route added later is tried
 * without anyone remembering to. Needs no database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "api.h"
#include "apikey.h"
#include "arena.h"
#include "commands.h"

int cmd_routes(const config_t *cfg, db_t *db, int argc, char **argv)
{
	(void)cfg;
	(void)db;
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: canopy routes\n");
		return 2;
	}
	size_t n = 0;
	router_route_t *admin = admin_routes_new(&n);
	for (size_t i = 0; i < n; i++)
		printf("admin\t%s\t%s\t%s\t%s\n", admin[i].method,
		       admin[i].pattern, admin[i].name,
		       admin_route_public(&admin[i]) ? "public" : "session");
	free(admin);
	const api_route_t *api = api_routes(&n);
	arena_t *a = arena_new(0);
	for (size_t i = 0; i < n; i++)
		printf("api\t%s\t%s\t%s\tkey:%s\n", api[i].route.method,
		       api[i].route.pattern, api[i].route.name,
		       apikey_scopes_text(a, api[i].scope, ","));
	arena_free(a);
	return fflush(stdout) == 0 ? 0 : 1;
}
