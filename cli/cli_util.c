/* cli_util: see cli_util.h. */
#include <stdio.h>

#include "cli_util.h"

int cli_tenant_id(db_t *db, arena_t *a, const char *command,
		  const char *slug, long long *id)
{
	/* a one-off operator lookup: unprepared is fine here */
	const char *p[] = {slug};
	PGresult *res;
	int rc = db_query(db, a, "SELECT id FROM tenants WHERE slug = $1", 1, p,
			  &res);
	if (rc) {
		fprintf(stderr, "canopy %s: tenant: %s (%s)\n", command,
			err_code_name(rc), db_error(db));
		return 1;
	}
	if (db_rows(res) != 1) {
		fprintf(stderr, "canopy %s: no tenant '%s'\n", command,
			slug ? slug : "");
		return 1;
	}
	*id = db_value_ll(res, 0, 0);
	return 0;
}
