#include "credential.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLUMNS                                                          \
	"id, tenant_id, name, kind, sealed, external_ids::text,"         \
	" to_json(created_at) #>> '{}', to_json(updated_at) #>> '{}'"

static const db_stmt_t q_put = {
	"credential_put",
	"INSERT INTO credentials (tenant_id, name, kind, sealed)"
	" VALUES ($1, $2, $3, $4)"
	" ON CONFLICT (tenant_id, name) DO UPDATE"
	"   SET kind = EXCLUDED.kind, sealed = EXCLUDED.sealed,"
	"       external_ids = '{}', updated_at = now()",
	4};

static const db_stmt_t q_get = {
	"credential_get",
	"SELECT " COLUMNS " FROM credentials WHERE tenant_id = $1 AND name = $2",
	2};

static const db_stmt_t q_list = {
	"credential_list",
	"SELECT " COLUMNS " FROM credentials WHERE tenant_id = $1"
	" ORDER BY name LIMIT $2",
	2};

static const db_stmt_t q_delete = {
	"credential_delete",
	"DELETE FROM credentials WHERE tenant_id = $1 AND name = $2"
	" RETURNING id",
	2};

static const db_stmt_t q_set_external = {
	"credential_set_external_id",
	"UPDATE credentials"
	"   SET external_ids = external_ids || jsonb_build_object($3::text, $4::text),"
	"       updated_at = now()"
	" WHERE tenant_id = $1 AND name = $2 RETURNING id",
	4};

static bool alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

bool credential_name_ok(const char *name)
{
	if (!name || !alpha(name[0]))
		return false;
	size_t n = strlen(name);
	if (n > 64)
		return false;
	for (size_t i = 1; i < n; i++)
		if (!alpha(name[i]) && !digit(name[i]) && name[i] != '_' &&
		    name[i] != '.' && name[i] != '-')
			return false;
	return true;
}

/* The builder's credential type: [A-Za-z][A-Za-z0-9]{0,63}. */
static bool kind_ok(const char *kind)
{
	if (!kind || !alpha(kind[0]))
		return false;
	size_t n = strlen(kind);
	if (n > 64)
		return false;
	for (size_t i = 1; i < n; i++)
		if (!alpha(kind[i]) && !digit(kind[i]))
			return false;
	return true;
}

static const char *ll_text(arena_t *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

static void fill(const PGresult *r, int i, credential_row_t *out)
{
	out->id = db_value_ll(r, i, 0);
	out->tenant_id = db_value_ll(r, i, 1);
	out->name = db_value(r, i, 2);
	out->kind = db_value(r, i, 3);
	out->sealed = db_value(r, i, 4);
	out->external_ids = db_value(r, i, 5);
	out->created_at = db_value(r, i, 6);
	out->updated_at = db_value(r, i, 7);
}

int credential_put(db_t *db, arena_t *a, const crypto_key_t *key,
		   long long tenant_id, const char *name, const char *kind,
		   const json_t *secret)
{
	if (!credential_name_ok(name) || !kind_ok(kind) ||
	    !json_is_object(secret) || tenant_id <= 0)
		return ERR_INVALID;
	char *text = json_dumps(secret, JSON_COMPACT);
	if (!text)
		return ERR_INVALID;
	size_t len = strlen(text);
	int rc = 0;
	buf_t sealed;
	buf_init(&sealed, a, 2 * CREDENTIAL_SECRET_MAX);
	if (len > CREDENTIAL_SECRET_MAX)
		rc = ERR_TOO_LARGE;
	else
		rc = crypto_seal(key, text, len, &sealed);
	crypto_wipe(text, len);
	free(text);
	if (rc)
		return rc;
	const char *params[] = {ll_text(a, tenant_id), name, kind,
				buf_cstr(&sealed)};
	rc = db_exec(db, a, &q_put, params, NULL);
	return rc == ERR_CONFLICT ? ERR_DB : rc;
}

int credential_get(db_t *db, arena_t *a, long long tenant_id,
		   const char *name, credential_row_t *out)
{
	if (!credential_name_ok(name))
		return ERR_NOT_FOUND;
	const char *params[] = {ll_text(a, tenant_id), name};
	PGresult *r;
	int rc = db_exec(db, a, &q_get, params, &r);
	if (rc)
		return rc;
	if (db_rows(r) == 0)
		return ERR_NOT_FOUND;
	fill(r, 0, out);
	return 0;
}

int credential_list(db_t *db, arena_t *a, long long tenant_id, int limit,
		    credential_row_t **rows, int *n)
{
	*rows = NULL;
	*n = 0;
	if (limit < 1 || limit > 1000)
		return ERR_INVALID;
	const char *params[] = {ll_text(a, tenant_id), ll_text(a, limit)};
	PGresult *r;
	int rc = db_exec(db, a, &q_list, params, &r);
	if (rc)
		return rc;
	int count = db_rows(r);
	*rows = arena_calloc(a, (size_t)(count ? count : 1), sizeof **rows);
	for (int i = 0; i < count; i++)
		fill(r, i, &(*rows)[i]);
	*n = count;
	return 0;
}

int credential_delete(db_t *db, arena_t *a, long long tenant_id,
		      const char *name)
{
	if (!credential_name_ok(name))
		return ERR_NOT_FOUND;
	const char *params[] = {ll_text(a, tenant_id), name};
	PGresult *r;
	int rc = db_exec(db, a, &q_delete, params, &r);
	if (rc)
		return rc;
	return db_rows(r) ? 0 : ERR_NOT_FOUND;
}

static void drop_json(void *j)
{
	json_decref(j);
}

int credential_open(arena_t *a, const crypto_key_t *key,
		    const credential_row_t *row, json_t **secret)
{
	*secret = NULL;
	if (!row->sealed)
		return ERR_INVALID;
	buf_t plain;
	buf_init(&plain, a, 2 * CREDENTIAL_SECRET_MAX);
	int rc = crypto_open(key, row->sealed, strlen(row->sealed), &plain);
	if (rc)
		return rc == ERR_TOO_LARGE ? ERR_INVALID : rc;
	json_t *j = json_loadb(buf_cstr(&plain), plain.len, 0, NULL);
	if (plain.data)
		crypto_wipe(plain.data, plain.len);
	if (!json_is_object(j)) {
		json_decref(j);
		return ERR_INVALID;
	}
	arena_on_reset(a, drop_json, j);
	*secret = j;
	return 0;
}

const char *credential_external_id(arena_t *a, const credential_row_t *row,
				   const char *builder)
{
	if (!row->external_ids)
		return NULL;
	json_t *ids = json_loads(row->external_ids, 0, NULL);
	const char *id = json_string_value(json_object_get(ids, builder));
	const char *out = id && *id ? arena_strdup(a, id) : NULL;
	json_decref(ids);
	return out;
}

int credential_set_external_id(db_t *db, arena_t *a, long long tenant_id,
			       const char *name, const char *builder,
			       const char *external_id)
{
	if (!credential_name_ok(name) || !builder || !*builder ||
	    !external_id || !*external_id)
		return ERR_INVALID;
	const char *params[] = {ll_text(a, tenant_id), name, builder,
				external_id};
	PGresult *r;
	int rc = db_exec(db, a, &q_set_external, params, &r);
	if (rc)
		return rc;
	return db_rows(r) ? 0 : ERR_NOT_FOUND;
}
