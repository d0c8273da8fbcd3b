/* canopy: the operator's command line.
 *
 *   canopy migrate                      apply pending sql/ migrations
 *   canopy seed [--demo] [--tenants N]  demo tenant and N benchmark tenants
 *   canopy apikey create --tenant SLUG [--name NAME] | list --tenant SLUG
 *                | revoke ID                API keys (printed once)
 *   canopy credential set|list|delete --tenant SLUG ...  secrets for
 *                                          authRefs (sealed; stdin only)
 *   canopy jobs list|show|retry|cancel|stats|enqueue ...
 *   canopy routes                       every admin and API route (no
 *                                          database needed)
 *   canopy user add|password|member ...    people and roles; passwords
 *                                          only ever on standard input
 *
 * Configuration comes from the environment (and CANOPY_CONFIG), like the
 * servers'; DATABASE_URL is required. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "db.h"
#include "log.h"

typedef int (*command_fn)(const config_t *cfg, db_t *db, int argc, char **argv);

static const struct {
	const char *name;
	command_fn fn;
	const char *usage;
} commands[] = {
	{"apikey", cmd_apikey, "apikey create|list|revoke ...  API keys of tenants (shown once)"},
	{"credential", cmd_credential, "credential set|list|delete --tenant SLUG ...  secrets for authRefs (secret on stdin)"},
	{"jobs", cmd_jobs, "jobs list|show|retry|cancel|stats|enqueue ...  operate the job queue"},
	{"migrate", cmd_migrate, "migrate                      apply pending migrations"},
	{"routes", cmd_routes, "routes                       list every admin and API route (tab-separated)"},
	{"seed", cmd_seed, "seed [--demo] [--tenants N]  create the demo tenant and N generated tenants"},
	{"user", cmd_user, "user add|password|member ...  people and their roles (password on stdin)"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int usage(void)
{
	fprintf(stderr, "usage: canopy COMMAND [ARGS]\n\ncommands:\n");
	for (unsigned i = 0; i < NCOMMANDS; i++)
		fprintf(stderr, "  %s\n", commands[i].usage);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage();
	command_fn fn = NULL;
	for (unsigned i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			fn = commands[i].fn;
	if (!fn) {
		fprintf(stderr, "canopy: unknown command '%s'\n", argv[1]);
		return usage();
	}

	if (fn == cmd_routes) /* reads only the program's own tables */
		return cmd_routes(NULL, NULL, argc - 1, argv + 1);

	config_t cfg;
	char err[CONFIG_ERR_MAX];
	if (config_load(&cfg, err, sizeof err) ||
	    config_require(&cfg, "DATABASE_URL", err, sizeof err)) {
		fprintf(stderr, "canopy: %s\n", err);
		return 1;
	}
	log_init("canopy", (log_level_t)log_level_parse(cfg.log_level));
	db_t *db = db_open(cfg.database_url);
	if (!db || !db_ok(db)) {
		fprintf(stderr, "canopy: cannot connect to the database: %s\n",
			db ? db_error(db) : "bad DATABASE_URL");
		db_close(db);
		return 1;
	}
	int status = fn(&cfg, db, argc - 1, argv + 1);
	db_close(db);
	return status;
}
