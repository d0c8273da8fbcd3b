/* The subcommands of the canopy CLI.  Each takes the arguments after its
 * own name (argv[0] is the subcommand name) and an open database handle,
 * prints results on stdout and errors on stderr, and returns the process
 * exit status (0 ok, 1 failure, 2 usage). */
#ifndef CANOPY_CLI_COMMANDS_H
#define CANOPY_CLI_COMMANDS_H

#include "config.h"
#include "db.h"

int cmd_apikey(const config_t *cfg, db_t *db, int argc, char **argv);
int cmd_credential(const config_t *cfg, db_t *db, int argc, char **argv);
int cmd_migrate(const config_t *cfg, db_t *db, int argc, char **argv);
/* Needs neither: canopy calls it with cfg and db NULL. */
int cmd_routes(const config_t *cfg, db_t *db, int argc, char **argv);
int cmd_seed(const config_t *cfg, db_t *db, int argc, char **argv);
int cmd_jobs(const config_t *cfg, db_t *db, int argc, char **argv);
int cmd_user(const config_t *cfg, db_t *db, int argc, char **argv);

#endif
