/* canopy credential: secrets that workflow nodes use by authRef.
 *
 *   canopy credential set --tenant SLUG --name NAME --kind KIND < secret.json
 *   canopy credential list --tenant SLUG
 *   canopy credential delete --tenant SLUG --name NAME
 *
 * KIND is the builder's credential type (slackApi, gmailOAuth2, smtp,
 * httpHeaderAuth, ...; see schema/VOCABULARY.md) and the secret is that
 * type's JSON object, read from standard input only: a secret on the
 * command line would sit in the shell history and in ps.  It is sealed
 * with CANOPY_SECRET_KEY and never printed again. */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "cli_util.h"
#include "commands.h"
#include "credential.h"
#include "crypto.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: canopy credential set --tenant SLUG --name NAME --kind KIND"
		" < secret.json\n"
		"       canopy credential list --tenant SLUG\n"
		"       canopy credential delete --tenant SLUG --name NAME\n");
	return 2;
}

typedef struct {
	const char *tenant, *name, *kind;
} opts_t;

/* "--tenant X", "--name X", "--kind X" in any order; 2 on anything else. */
static int options(int argc, char **argv, opts_t *o)
{
	for (int i = 1; i < argc; i++) {
		const char **slot = strcmp(argv[i], "--tenant") == 0 ? &o->tenant
				    : strcmp(argv[i], "--name") == 0 ? &o->name
				    : strcmp(argv[i], "--kind") == 0 ? &o->kind
								     : NULL;
		if (!slot || i + 1 >= argc)
			return usage();
		*slot = argv[++i];
	}
	return o->tenant ? 0 : usage();
}

static int fail(const char *what, int rc, db_t *db)
{
	if (rc == ERR_NOT_FOUND)
		fprintf(stderr, "canopy credential: %s: no such credential\n",
			what);
	else
		fprintf(stderr, "canopy credential: %s: %s (%s)\n", what,
			err_code_name(rc), db_error(db));
	return 1;
}

static int cmd_set(const config_t *cfg, db_t *db, arena_t *a,
		   const opts_t *o)
{
	long long tid;
	crypto_key_t key;
	if (!o->name || !o->kind)
		return usage();
	if (!credential_name_ok(o->name)) {
		fprintf(stderr, "canopy credential: --name must start with a "
				"letter and hold only letters, digits, '_', '.' "
				"and '-' (at most 64)\n");
		return 2;
	}
	if (!cfg->secret_key || crypto_key_parse(cfg->secret_key, &key) != 0) {
		fprintf(stderr, "canopy credential: CANOPY_SECRET_KEY is not set "
				"or invalid: nothing can be sealed\n");
		return 1;
	}
	json_error_t e;
	json_t *secret = json_loadf(stdin, 0, &e);
	if (!json_is_object(secret)) {
		fprintf(stderr, "canopy credential: standard input must be one "
				"JSON object (line %d: %s)\n",
			e.line, secret ? "not an object" : e.text);
		json_decref(secret);
		crypto_wipe(&key, sizeof key);
		return 2;
	}
	int rc = cli_tenant_id(db, a, "credential", o->tenant, &tid);
	if (rc == 0)
		rc = credential_put(db, a, &key, tid, o->name, o->kind, secret);
	json_decref(secret);
	crypto_wipe(&key, sizeof key);
	if (rc == 1)
		return 1;
	if (rc == ERR_INVALID || rc == ERR_TOO_LARGE) {
		fprintf(stderr, "canopy credential: the kind or the secret was "
				"refused (kind: letters and digits; secret: at "
				"most %d bytes)\n",
			CREDENTIAL_SECRET_MAX);
		return 2;
	}
	if (rc)
		return fail("set", rc, db);
	printf("credential %s of tenant %s sealed\n", o->name, o->tenant);
	return 0;
}

static int cmd_list(db_t *db, arena_t *a, const opts_t *o)
{
	long long tid;
	credential_row_t *rows;
	int n, rc;
	if (cli_tenant_id(db, a, "credential", o->tenant, &tid))
		return 1;
	if ((rc = credential_list(db, a, tid, 1000, &rows, &n)))
		return fail("list", rc, db);
	printf("%-24s %-20s %-34s %s\n", "NAME", "KIND", "UPDATED",
	       "BUILDER IDS");
	for (int i = 0; i < n; i++)
		printf("%-24s %-20s %-34s %s\n", rows[i].name, rows[i].kind,
		       rows[i].updated_at, rows[i].external_ids);
	return 0;
}

static int cmd_delete(db_t *db, arena_t *a, const opts_t *o)
{
	long long tid;
	int rc;
	if (!o->name)
		return usage();
	if (cli_tenant_id(db, a, "credential", o->tenant, &tid))
		return 1;
	if ((rc = credential_delete(db, a, tid, o->name)))
		return fail("delete", rc, db);
	printf("credential %s of tenant %s deleted\n", o->name, o->tenant);
	return 0;
}

int cmd_credential(const config_t *cfg, db_t *db, int argc, char **argv)
{
	if (argc < 2)
		return usage();
	opts_t o = {0};
	int rc = options(argc - 1, argv + 1, &o);
	if (rc)
		return rc;
	arena_t *a = arena_new(0);
	if (strcmp(argv[1], "set") == 0)
		rc = cmd_set(cfg, db, a, &o);
	else if (strcmp(argv[1], "list") == 0)
		rc = cmd_list(db, a, &o);
	else if (strcmp(argv[1], "delete") == 0)
		rc = cmd_delete(db, a, &o);
	else
		rc = usage();
	arena_free(a);
	return rc;
}
