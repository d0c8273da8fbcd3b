#include "apikey.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define KEY_TAG "cnp_"
#define HASH_HEX 64
#define SECRET_BYTES 32
#define PREFIX_BYTES (APIKEY_PREFIX_LEN / 2)
#define CREATE_TRIES 3
#define ZERO_HASH                                                            \
	"0000000000000000000000000000000000000000000000000000000000000000"

static bool is_hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool apikey_well_formed(str_t t)
{
	if (t.len != APIKEY_LEN || !str_starts_with(t, STR(KEY_TAG)))
		return false;
	size_t i = sizeof KEY_TAG - 1;
	for (size_t end = i + APIKEY_PREFIX_LEN; i < end; i++)
		if (!is_hex_lower(t.p[i]))
			return false;
	if (t.p[i++] != '_')
		return false;
	for (; i < t.len; i++)
		if (!is_b64url(t.p[i]))
			return false;
	return true;
}

/* sha256 of the whole key as lower-case hex. */
static void key_hash(str_t key, char hex[HASH_HEX + 1])
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(md, (const unsigned char *)key.p, key.len);
	sodium_bin2hex(hex, HASH_HEX + 1, md, sizeof md);
}

/* ------------------------------------------------------------ scopes */

static const apikey_scope_t scopes[] = {
	{APIKEY_SCOPE_WORKFLOWS_READ, "workflows:read",
	 "list workflows and read them, their versions and status"},
	{APIKEY_SCOPE_WORKFLOWS_WRITE, "workflows:write",
	 "generate, replace, delete and deploy workflows"},
};
#define NSCOPES (sizeof scopes / sizeof scopes[0])

const apikey_scope_t *apikey_scopes(size_t *n)
{
	*n = NSCOPES;
	return scopes;
}

unsigned apikey_scope_parse(str_t name)
{
	for (size_t i = 0; i < NSCOPES; i++)
		if (str_eq_c(name, scopes[i].name))
			return scopes[i].bit;
	return 0;
}

int apikey_scopes_parse(str_t list, unsigned *out)
{
	unsigned mask = 0;
	*out = 0;
	while (list.p && list.len) {
		str_t one;
		list = str_cut(list, ',', &one);
		unsigned bit = apikey_scope_parse(str_trim(one));
		if (!bit)
			return ERR_INVALID;
		mask |= bit;
	}
	if (!mask)
		return ERR_INVALID;
	*out = mask;
	return 0;
}

const char *apikey_scopes_text(arena_t *a, unsigned mask, const char *sep)
{
	const char *text = "";
	for (size_t i = 0; i < NSCOPES; i++)
		if (mask & scopes[i].bit)
			text = *text ? arena_printf(a, "%s%s%s", text, sep,
						    scopes[i].name)
				     : scopes[i].name;
	return text;
}

bool apikey_allows(const apikey_t *k, unsigned need)
{
	return (k->scopes & need) == need;
}

/* The names stored in the row as bits; names this build does not know
 * give nothing (a key is never allowed more than it names). */
static unsigned scopes_of(const char *stored)
{
	unsigned mask = 0;
	str_t list = str_c(stored);
	while (list.p && list.len) {
		str_t one;
		list = str_cut(list, ',', &one);
		mask |= apikey_scope_parse(one);
	}
	return mask;
}

/* An array literal of the scopes in mask, for a text[] parameter. */
static const char *scopes_array(arena_t *a, unsigned mask)
{
	return arena_printf(a, "{%s}", apikey_scopes_text(a, mask, ","));
}

/* ------------------------------------------------------------ rows */

#define KEY_COLUMNS                                                          \
	"k.id, k.tenant_id, t.slug, k.name, k.prefix,"                       \
	" to_json(k.created_at) #>> '{}', to_json(k.last_used_at) #>> '{}'," \
	" to_json(k.revoked_at) #>> '{}', array_to_string(k.scopes, ',')"

static void key_from(apikey_t *k, const PGresult *res, int r)
{
	*k = (apikey_t){
		.id = db_value_ll(res, r, 0),
		.tenant_id = db_value_ll(res, r, 1),
		.tenant_slug = db_value(res, r, 2),
		.name = db_value(res, r, 3),
		.prefix = db_value(res, r, 4),
		.created_at = db_value(res, r, 5),
		.last_used_at = db_value(res, r, 6),
		.revoked_at = db_value(res, r, 7),
		.scopes = scopes_of(db_value(res, r, 8)),
	};
}

/* ------------------------------------------------------------ create */

static const db_stmt_t q_create = {
	"apikey_create",
	"INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes)"
	" VALUES ($1, $2, $3, $4, $5::text[]) RETURNING id",
	5};

static bool valid_name(const char *name)
{
	str_t s = str_c(name);
	if (s.len == 0 || s.len > APIKEY_NAME_MAX || !str_is_valid_utf8(s))
		return false;
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f)
			return false;
	return true;
}

int apikey_create(db_t *db, arena_t *a, long long tenant_id,
		  const char *name, unsigned scope_mask, long long *id,
		  const char **plaintext)
{
	if (!name)
		name = "default";
	if (!valid_name(name) || tenant_id <= 0 || scope_mask == 0 ||
	    (scope_mask & ~APIKEY_SCOPES_ALL))
		return ERR_INVALID;
	const char *scope_list = scopes_array(a, scope_mask);
	if (sodium_init() < 0)
		return ERR_INTERNAL;
	int rc = ERR_CONFLICT;
	/* A prefix is 48 random bits: a clash is all but impossible, but
	 * the unique constraint decides, and a clash just draws again. */
	for (int attempt = 0; attempt < CREATE_TRIES && rc == ERR_CONFLICT;
	     attempt++) {
		unsigned char pbytes[PREFIX_BYTES], secret[SECRET_BYTES];
		char prefix[APIKEY_PREFIX_LEN + 1];
		char sec[sodium_base64_ENCODED_LEN(
			SECRET_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
		randombytes_buf(pbytes, sizeof pbytes);
		randombytes_buf(secret, sizeof secret);
		sodium_bin2hex(prefix, sizeof prefix, pbytes, sizeof pbytes);
		sodium_bin2base64(sec, sizeof sec, secret, sizeof secret,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		sodium_memzero(secret, sizeof secret);
		char *key = arena_printf(a, KEY_TAG "%s_%s", prefix, sec);
		sodium_memzero(sec, sizeof sec);
		char hex[HASH_HEX + 1];
		key_hash(str_c(key), hex);
		const char *p[] = {db_param_ll(a, tenant_id), name, prefix, hex,
				   scope_list};
		PGresult *res;
		rc = db_exec(db, a, &q_create, p, &res);
		if (rc == 0) {
			if (id)
				*id = db_value_ll(res, 0, 0);
			*plaintext = key;
		}
	}
	return rc;
}

/* ------------------------------------------------------------ authenticate */

static const db_stmt_t q_auth = {
	"apikey_auth",
	"SELECT " KEY_COLUMNS ", k.key_hash,"
	"       t.status = 'active',"
	"       k.last_used_at IS NULL"
	"        OR k.last_used_at < now() - interval '1 minute'"
	"  FROM api_keys k JOIN tenants t ON t.id = k.tenant_id"
	" WHERE k.prefix = $1",
	1};

static const db_stmt_t q_used = {
	"apikey_used",
	"UPDATE api_keys SET last_used_at = now()"
	" WHERE id = $1 AND (last_used_at IS NULL"
	"                    OR last_used_at < now() - interval '1 minute')",
	1};

/* The key of "Bearer <key>" (scheme case-insensitive, spaces around). */
static str_t bearer_token(str_t header)
{
	str_t h = str_trim(header);
	if (h.len < 7 || !str_case_eq(str_sub(h, 0, 6), STR("Bearer")) ||
	    (h.p[6] != ' ' && h.p[6] != '\t'))
		return STR_NULL;
	return str_trim(str_sub(h, 7, h.len - 7));
}

static bool is_true(const char *v)
{
	return v && v[0] == 't';
}

int apikey_authenticate(db_t *db, arena_t *a, str_t authorization,
			apikey_t *out)
{
	memset(out, 0, sizeof *out);
	str_t key = bearer_token(authorization);
	if (!key.p || !apikey_well_formed(key))
		return ERR_UNAUTHORIZED;
	char *prefix = str_dup(a, str_sub(key, sizeof KEY_TAG - 1,
					  APIKEY_PREFIX_LEN));
	const char *p[] = {prefix};
	PGresult *res;
	int rc = db_exec(db, a, &q_auth, p, &res);
	if (rc)
		return rc;
	bool found = db_rows(res) == 1;
	const char *stored = found ? db_value(res, 0, 9) : NULL;
	char want[HASH_HEX + 1];
	/* The comparison runs, in constant time, whether or not the prefix
	 * named a row. */
	snprintf(want, sizeof want, "%s",
		 stored && strlen(stored) == HASH_HEX ? stored : ZERO_HASH);
	char got[HASH_HEX + 1];
	key_hash(key, got);
	bool match = sodium_memcmp(got, want, HASH_HEX) == 0;
	if (!found || !match || !stored || db_value(res, 0, 7) != NULL)
		return ERR_UNAUTHORIZED;
	if (!is_true(db_value(res, 0, 10)))
		return ERR_FORBIDDEN;
	key_from(out, res, 0);
	if (is_true(db_value(res, 0, 11))) {
		const char *pu[] = {db_param_ll(a, out->id)};
		if (db_exec(db, a, &q_used, pu, NULL) != 0)
			log_warn("api key %s: last_used_at not updated: %s",
				 out->prefix, db_error(db));
	}
	return 0;
}

/* ------------------------------------------------------------ list, revoke */

static const db_stmt_t q_list = {
	"apikey_list",
	"SELECT " KEY_COLUMNS
	"  FROM api_keys k JOIN tenants t ON t.id = k.tenant_id"
	" WHERE k.tenant_id = $1 ORDER BY k.id DESC LIMIT $2",
	2};

int apikey_list(db_t *db, arena_t *a, long long tenant_id, int limit,
		apikey_t **rows, int *n)
{
	*rows = NULL;
	*n = 0;
	if (limit < 1 || limit > 1000)
		return ERR_INVALID;
	const char *p[] = {db_param_ll(a, tenant_id), db_param_ll(a, limit)};
	PGresult *res;
	int rc = db_exec(db, a, &q_list, p, &res);
	if (rc)
		return rc;
	int count = db_rows(res);
	apikey_t *out = arena_calloc(a, (size_t)(count ? count : 1), sizeof *out);
	for (int i = 0; i < count; i++)
		key_from(&out[i], res, i);
	*rows = out;
	*n = count;
	return 0;
}

static const db_stmt_t q_revoke = {
	"apikey_revoke",
	"UPDATE api_keys k SET revoked_at = COALESCE(k.revoked_at, now())"
	"  FROM tenants t"
	" WHERE t.id = k.tenant_id AND k.id = $1"
	"   AND ($2::bigint = 0 OR k.tenant_id = $2::bigint)"
	" RETURNING " KEY_COLUMNS,
	2};

int apikey_revoke(db_t *db, arena_t *a, long long tenant_id, long long id,
		  apikey_t *out)
{
	const char *p[] = {db_param_ll(a, id), db_param_ll(a, tenant_id)};
	PGresult *res;
	int rc = db_exec(db, a, &q_revoke, p, &res);
	if (rc)
		return rc;
	if (db_rows(res) == 0)
		return ERR_NOT_FOUND;
	if (out)
		key_from(out, res, 0);
	return 0;
}
