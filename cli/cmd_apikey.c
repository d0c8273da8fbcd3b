/* canopy apikey: API keys of tenants.
 *
 *   canopy apikey create --tenant SLUG [--name NAME] [--scopes LIST]
 *                                     prints the key once; LIST is
 *                                     comma-separated scope names
 *                                     (default: all of them)
 *   canopy apikey list --tenant SLUG
 *   canopy apikey revoke ID
 *
 * The key is printed alone on stdout (so a script can capture it); what
 * to do with it goes to stderr. */
#include <stdio.h>
#include <string.h>

#include "apikey.h"
#include "arena.h"
#include "cli_util.h"
#include "commands.h"
#include "str.h"

static int usage(void)
{
	fprintf(stderr, "usage: canopy apikey create --tenant SLUG [--name NAME] "
			"[--scopes LIST]\n"
			"       canopy apikey list --tenant SLUG\n"
			"       canopy apikey revoke ID\n"
			"scopes (LIST is comma-separated; default: all):\n");
	size_t n;
	const apikey_scope_t *all = apikey_scopes(&n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "  %-16s %s\n", all[i].name, all[i].what);
	return 2;
}

static int fail(const char *what, int rc, db_t *db)
{
	if (rc == ERR_NOT_FOUND)
		fprintf(stderr, "canopy apikey: %s: no such key\n", what);
	else
		fprintf(stderr, "canopy apikey: %s: %s (%s)\n", what,
			err_code_name(rc), db_error(db));
	return 1;
}

/* Reads --tenant, --name and --scopes (name and scopes NULL: not
 * accepted); 2 on a usage error. */
static int options(int argc, char **argv, const char **slug,
		   const char **name, const char **scopes)
{
	for (int i = 1; i < argc; i++) {
		const char **to = NULL;
		if (strcmp(argv[i], "--tenant") == 0)
			to = slug;
		else if (strcmp(argv[i], "--name") == 0)
			to = name;
		else if (strcmp(argv[i], "--scopes") == 0)
			to = scopes;
		if (!to || i + 1 >= argc)
			return usage();
		*to = argv[++i];
	}
	return *slug ? 0 : usage();
}

static int cmd_create(db_t *db, arena_t *a, int argc, char **argv)
{
	const char *slug = NULL, *name = NULL, *scope_list = NULL;
	long long tid, id;
	const char *key;
	unsigned scopes = APIKEY_SCOPES_ALL;
	int rc = options(argc, argv, &slug, &name, &scope_list);
	if (rc)
		return rc;
	if (name && (strlen(name) == 0 || strlen(name) > APIKEY_NAME_MAX)) {
		fprintf(stderr, "canopy apikey: --name must be 1 to %d bytes\n",
			APIKEY_NAME_MAX);
		return 2;
	}
	if (scope_list && apikey_scopes_parse(str_c(scope_list), &scopes) != 0) {
		fprintf(stderr, "canopy apikey: --scopes '%s': name one or more "
				"of the scopes, separated by commas\n",
			scope_list);
		return usage();
	}
	if ((rc = cli_tenant_id(db, a, "apikey", slug, &tid)))
		return rc;
	rc = apikey_create(db, a, tid, name, scopes, &id, &key);
	if (rc)
		return fail("create", rc, db);
	printf("%s\n", key);
	fprintf(stderr,
		"API key %lld for tenant %s created with scopes %s. It is shown "
		"only now: store it safely.\n",
		id, slug, apikey_scopes_text(a, scopes, ","));
	return 0;
}

static int cmd_list(db_t *db, arena_t *a, int argc, char **argv)
{
	const char *slug = NULL;
	long long tid;
	int rc = options(argc, argv, &slug, NULL, NULL);
	if (rc || (rc = cli_tenant_id(db, a, "apikey", slug, &tid)))
		return rc;
	apikey_t *keys;
	int n;
	if ((rc = apikey_list(db, a, tid, 1000, &keys, &n)))
		return fail("list", rc, db);
	printf("%-8s %-14s %-24s %-31s %-34s %-34s %s\n", "ID", "PREFIX", "NAME",
	       "SCOPES", "CREATED", "LAST_USED", "REVOKED");
	for (int i = 0; i < n; i++) {
		const char *sc = apikey_scopes_text(a, keys[i].scopes, ",");
		printf("%-8lld cnp_%-10s %-24.24s %-31s %-34s %-34s %s\n",
		       keys[i].id, keys[i].prefix, keys[i].name, *sc ? sc : "-",
		       keys[i].created_at,
		       keys[i].last_used_at ? keys[i].last_used_at : "-",
		       keys[i].revoked_at ? keys[i].revoked_at : "-");
	}
	return 0;
}

static int cmd_revoke(db_t *db, arena_t *a, int argc, char **argv)
{
	long v;
	if (argc != 2 || str_to_long(str_c(argv[1]), 1, 9223372036854775807L,
				     &v) != 0)
		return usage();
	apikey_t key;
	int rc = apikey_revoke(db, a, 0, v, &key);
	if (rc)
		return fail("revoke", rc, db);
	printf("revoked key %lld (cnp_%s, tenant %s) at %s\n", key.id,
	       key.prefix, key.tenant_slug, key.revoked_at);
	return 0;
}

int cmd_apikey(const config_t *cfg, db_t *db, int argc, char **argv)
{
	(void)cfg;
	if (argc < 2)
		return usage();
	arena_t *a = arena_new(0);
	int status;
	if (strcmp(argv[1], "create") == 0)
		status = cmd_create(db, a, argc - 1, argv + 1);
	else if (strcmp(argv[1], "list") == 0)
		status = cmd_list(db, a, argc - 1, argv + 1);
	else if (strcmp(argv[1], "revoke") == 0)
		status = cmd_revoke(db, a, argc - 1, argv + 1);
	else
		status = usage();
	arena_free(a);
	return status;
}
