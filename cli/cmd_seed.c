/* canopy seed: the demo tenant and generated tenants for benchmarks.
 * Idempotent: existing tenants are left as they are. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "commands.h"
#include "str.h"

#define TENANTS_MAX 100000

static const db_stmt_t q_seed_tenant = {
	"seed_tenant",
	"WITH th AS (INSERT INTO themes (json) SELECT $3::jsonb"
	"            WHERE NOT EXISTS (SELECT 1 FROM tenants WHERE slug = $1)"
	"            RETURNING id),"
	"     ten AS (INSERT INTO tenants (slug, name, theme_id)"
	"             SELECT $1, $2, id FROM th ON CONFLICT (slug) DO NOTHING"
	"             RETURNING id)"
	" INSERT INTO pages (tenant_id, json, is_published)"
	" SELECT id, $4::jsonb, true FROM ten",
	4};

/* Generated tenants share one theme (tenant-1's) and the demo page with
 * their own name in the title, so a benchmark rotating over them renders
 * real pages without 1000 copies of a theme. */
static const db_stmt_t q_seed_generated = {
	"seed_generated",
	"WITH existing AS (SELECT theme_id AS id FROM tenants"
	"                  WHERE slug = 'tenant-1'),"
	"     ins AS (INSERT INTO themes (json) SELECT $2::jsonb"
	"             WHERE NOT EXISTS (SELECT 1 FROM existing) RETURNING id),"
	"     th AS (SELECT id FROM existing UNION ALL SELECT id FROM ins),"
	"     ten AS (INSERT INTO tenants (slug, name, theme_id)"
	"             SELECT 'tenant-' || g, 'Tenant ' || g, (SELECT id FROM th LIMIT 1)"
	"             FROM generate_series(1, $1::int) g"
	"             ON CONFLICT (slug) DO NOTHING RETURNING id, name)"
	" INSERT INTO pages (tenant_id, json, is_published)"
	" SELECT id, jsonb_set($3::jsonb, '{seo,title}', to_jsonb(name)), true"
	" FROM ten",
	3};

static json_t *load_json(const config_t *cfg, const char *file)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/seed/%s", cfg->sql_dir, file);
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j)
		fprintf(stderr, "canopy seed: %s:%d: %s\n", path, e.line, e.text);
	return j;
}

static char *dump(arena_t *a, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	char *copy = arena_strdup(a, s);
	free(s);
	return copy;
}

static int seed(db_t *db, arena_t *a, const config_t *cfg, bool demo,
		long tenants)
{
	json_t *tenant = load_json(cfg, "demo-tenant.json");
	json_t *theme = load_json(cfg, "demo-theme.json");
	json_t *page = load_json(cfg, "demo-page.json");
	int rc = ERR_INVALID;
	if (!tenant || !theme || !page)
		goto out;
	const char *slug = json_string_value(json_object_get(tenant, "slug"));
	const char *name = json_string_value(json_object_get(tenant, "name"));
	if (!slug || !name) {
		fprintf(stderr, "canopy seed: demo-tenant.json needs slug and name\n");
		goto out;
	}
	if (demo) {
		const char *p[] = {slug, name, dump(a, theme), dump(a, page)};
		if ((rc = db_exec(db, a, &q_seed_tenant, p, NULL)))
			goto out;
	}
	if (tenants > 0) {
		const char *p[] = {arena_printf(a, "%ld", tenants), dump(a, theme),
				   dump(a, page)};
		rc = db_exec(db, a, &q_seed_generated, p, NULL);
	} else {
		rc = 0;
	}
out:
	json_decref(tenant);
	json_decref(theme);
	json_decref(page);
	return rc;
}

int cmd_seed(const config_t *cfg, db_t *db, int argc, char **argv)
{
	bool demo = false;
	long tenants = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--demo") == 0) {
			demo = true;
		} else if (strcmp(argv[i], "--tenants") == 0 && i + 1 < argc &&
			   str_to_long(str_c(argv[i + 1]), 0, TENANTS_MAX,
				       &tenants) == 0) {
			i++;
		} else {
			fprintf(stderr, "usage: canopy seed [--demo] [--tenants N]"
					" (N up to %d)\n", TENANTS_MAX);
			return 2;
		}
	}
	arena_t *a = arena_new(0);
	int rc = seed(db, a, cfg, demo, tenants);
	if (rc == 0)
		printf("seeded:%s %ld generated tenants\n", demo ? " demo," : "",
		       tenants);
	else if (rc != ERR_INVALID)
		fprintf(stderr, "canopy seed: %s\n", db_error(db));
	arena_free(a);
	return rc ? 1 : 0;
}
