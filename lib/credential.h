/* credential: the secrets a tenant's workflow nodes reach by authRef, in
 * the credentials table (sql/0003_workflows.sql).
 *
 * A credential has a name (what a graph's authRef says), a kind (the
 * builder's credential type, e.g. slackApi, smtp, httpHeaderAuth) and a
 * secret: the builder's fields for that kind as a JSON object, e.g.
 * {"accessToken": "xoxb-..."}.  The secret is sealed with
 * CANOPY_SECRET_KEY (lib/crypto) before it reaches the database and is
 * opened only by the deployer, to hand it to the builder that needs it.
 * A builder's own id for its copy is kept in external_ids
 * ({"n8n": "<id>"}), so each credential is created there once.
 *
 * Every function takes the tenant id and scopes every statement by it: a
 * name of another tenant is ERR_NOT_FOUND, exactly like one that does not
 * exist.  Strings in returned structs are owned by the arena. */
#ifndef CANOPY_CREDENTIAL_H
#define CANOPY_CREDENTIAL_H

#include <jansson.h>
#include <stdbool.h>

#include "arena.h"
#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "err.h"

/* The longest secret (JSON text) a credential holds. */
#define CREDENTIAL_SECRET_MAX (8 * 1024)

typedef struct {
	long long id;
	long long tenant_id;
	const char *name;
	const char *kind;
	const char *sealed;       /* "v1...." (crypto_seal) */
	const char *external_ids; /* JSON object text */
	const char *created_at;   /* ISO 8601 */
	const char *updated_at;
} credential_row_t;

/* Whether name is a valid credential name (and so a valid authRef):
 * [A-Za-z][A-Za-z0-9_.-]{0,63}. */
bool credential_name_ok(const char *name);

/* Stores the secret (a JSON object, at most CREDENTIAL_SECRET_MAX bytes
 * as compact text) sealed under key as credential name of the tenant,
 * replacing the kind and secret of one that exists.  A replaced secret
 * forgets the builders' ids, so the next deployment gives the builders
 * the new secret.  ERR_INVALID for a bad name, kind or secret (not an
 * object), ERR_TOO_LARGE, ERR_DB. */
int credential_put(db_t *db, arena_t *a, const crypto_key_t *key,
		   long long tenant_id, const char *name, const char *kind,
		   const json_t *secret) WARN_UNUSED;

/* One credential by name.  ERR_NOT_FOUND. */
int credential_get(db_t *db, arena_t *a, long long tenant_id,
		   const char *name, credential_row_t *out) WARN_UNUSED;

/* The tenant's credentials by name, at most limit (1..1000). */
int credential_list(db_t *db, arena_t *a, long long tenant_id, int limit,
		    credential_row_t **rows, int *n) WARN_UNUSED;

/* Deletes a credential.  ERR_NOT_FOUND. */
int credential_delete(db_t *db, arena_t *a, long long tenant_id,
		      const char *name) WARN_UNUSED;

/* Opens row's secret with key into *secret (a new reference owned by the
 * arena, released when it is reset; the plaintext bytes are wiped).
 * ERR_INVALID when the value does not open under key (another key, or
 * changed) or is not a JSON object. */
int credential_open(arena_t *a, const crypto_key_t *key,
		    const credential_row_t *row, json_t **secret) WARN_UNUSED;

/* The id builder ("n8n", "builder") gave the credential, or NULL
 * (arena string). */
const char *credential_external_id(arena_t *a, const credential_row_t *row,
				   const char *builder);

/* Records the id builder gave the credential.  ERR_NOT_FOUND. */
int credential_set_external_id(db_t *db, arena_t *a, long long tenant_id,
			       const char *name, const char *builder,
			       const char *external_id) WARN_UNUSED;

#endif
