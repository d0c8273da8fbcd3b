/* apikey: API keys of tenants (sql/0003_workflows.sql, api_keys).
 *
 * A key is "cnp_<prefix>_<secret>": a 12-hex-digit prefix (not secret,
 * unique, shown in lists, used to find the row) and 43 characters of
 * base64url encoding 32 random bytes.  Only the SHA-256 of the whole key
 * is stored; the plaintext exists once, in apikey_create's answer.  A key
 * belongs to one tenant and is checked in constant time against its
 * hash.  Strings in returned structs are owned by the arena.
 *
 * Scopes say what a key may do (api_keys.scopes holds their names; here
 * they are bits): every /api/v1 route requires one (lib/api.c), and a key
 * is made with at least one. */
#ifndef CANOPY_APIKEY_H
#define CANOPY_APIKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "db.h"
#include "err.h"
#include "str.h"

#define APIKEY_PREFIX_LEN 12
#define APIKEY_SECRET_LEN 43
/* "cnp_" prefix "_" secret */
#define APIKEY_LEN (4 + APIKEY_PREFIX_LEN + 1 + APIKEY_SECRET_LEN)
#define APIKEY_NAME_MAX 100

/* "workflows:read": list workflows, read one, its versions and status */
#define APIKEY_SCOPE_WORKFLOWS_READ 0x1u
/* "workflows:write": generate, replace, delete and deploy workflows */
#define APIKEY_SCOPE_WORKFLOWS_WRITE 0x2u
#define APIKEY_SCOPES_ALL (APIKEY_SCOPE_WORKFLOWS_READ | APIKEY_SCOPE_WORKFLOWS_WRITE)

/* A scope as forms and lists show it. */
typedef struct {
	unsigned bit;
	const char *name; /* "workflows:read", as stored */
	const char *what; /* a sentence for people */
} apikey_scope_t;

typedef struct {
	long long id;
	long long tenant_id;
	const char *tenant_slug;
	const char *name;
	const char *prefix;
	const char *created_at;   /* ISO 8601 */
	const char *last_used_at; /* or NULL */
	const char *revoked_at;   /* or NULL */
	unsigned scopes;          /* APIKEY_SCOPE_* bits */
} apikey_t;

/* Every scope there is, in a fixed order (a static table; *n gets its
 * length). */
const apikey_scope_t *apikey_scopes(size_t *n);

/* The scope named name; 0 for none. */
unsigned apikey_scope_parse(str_t name);

/* A comma-separated list of scope names (spaces around names allowed)
 * as bits.  ERR_INVALID for an unknown name or an empty list. */
int apikey_scopes_parse(str_t list, unsigned *out) WARN_UNUSED;

/* The names of the scopes in mask, joined by sep, in apikey_scopes'
 * order ("" for none); owned by the arena. */
const char *apikey_scopes_text(arena_t *a, unsigned mask, const char *sep);

/* Whether key k has every scope in need. */
bool apikey_allows(const apikey_t *k, unsigned need);

/* Creates a key for tenant_id named name (1..100 bytes; NULL: "default")
 * with scopes (APIKEY_SCOPE_* bits, at least one).  *plaintext (arena)
 * gets the key, which is never stored and cannot be shown again; *id (may
 * be NULL) the row id.  ERR_INVALID for a bad name, no or unknown scopes,
 * or an unknown tenant. */
int apikey_create(db_t *db, arena_t *a, long long tenant_id,
		  const char *name, unsigned scopes, long long *id,
		  const char **plaintext) WARN_UNUSED;

/* Authenticates an Authorization header value ("Bearer <key>", the
 * scheme case-insensitive).  On success fills *out (tenant, key id,
 * names, scopes: check them with apikey_allows) and records the use
 * (last_used_at moves at most once a minute, so a busy key does not
 * write on every request).  ERR_UNAUTHORIZED when the header is absent,
 * malformed, names no key, the key does not match or was revoked;
 * ERR_FORBIDDEN when its tenant is suspended; ERR_DB. */
int apikey_authenticate(db_t *db, arena_t *a, str_t authorization,
			apikey_t *out) WARN_UNUSED;

/* The tenant's keys, newest first, at most limit (1..1000), revoked ones
 * included. */
int apikey_list(db_t *db, arena_t *a, long long tenant_id, int limit,
		apikey_t **rows, int *n) WARN_UNUSED;

/* Revokes key id; tenant_id 0 means any tenant's (operators), otherwise
 * a key of another tenant is ERR_NOT_FOUND.  Revoking a revoked key keeps
 * its first revocation time and succeeds.  *out (may be NULL) gets the
 * key as it is now. */
int apikey_revoke(db_t *db, arena_t *a, long long tenant_id, long long id,
		  apikey_t *out) WARN_UNUSED;

/* Whether text has the shape of a key (no database access). */
bool apikey_well_formed(str_t text);

#endif
