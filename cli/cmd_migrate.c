#include <stdio.h>

#include "commands.h"
#include "migrate.h"

int cmd_migrate(const config_t *cfg, db_t *db, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: canopy migrate\n");
		return 2;
	}
	int applied = 0;
	if (migrate_apply(db, cfg->sql_dir, &applied) != 0) {
		fprintf(stderr, "canopy migrate: failed: %s\n", db_error(db));
		return 1;
	}
	printf("migrations applied: %d\n", applied);
	return 0;
}
