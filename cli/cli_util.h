/* cli_util: what the canopy subcommands share. */
#ifndef CANOPY_CLI_UTIL_H
#define CANOPY_CLI_UTIL_H

#include "arena.h"
#include "db.h"

/* The id of the tenant with this slug.  Returns 0, or 1 after printing
 * "canopy <command>: ..." on stderr (no such tenant, database error). */
int cli_tenant_id(db_t *db, arena_t *a, const char *command,
		  const char *slug, long long *id);

#endif
