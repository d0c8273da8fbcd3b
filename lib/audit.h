/* audit: who changed what, when, and how (sql/0004_accounts.sql,
 * audit_log).
 *
 *   db_begin(db);
 *   ... UPDATE pages ...
 *   audit_write(db, a, tenant_id, user_id, "page.update", "page", id,
 *               before, after);
 *   db_commit(db);
 *
 * An entry is written in the caller's transaction, so it exists exactly
 * when the change does.  It carries the request id of the calling thread
 * (log_request_id) and a diff of two JSON documents:
 *
 *   {"/hero/headline": {"old": "Hi", "new": "Hello"},
 *    "/features": {"old": [...], "new": [...]},
 *    "/seo/image": {"new": "x.png"},          added
 *    "/status": {"old": "draft"}}             removed
 *
 * Keys are JSON Pointers (RFC 6901); objects are compared key by key and
 * anything else (arrays, scalars) as a whole.  Values under keys that name
 * secrets (password, secret, token, sealed, ...: see audit.c) are written
 * as "[redacted]", so a caller passing a row as it is cannot leak one. */
#ifndef CANOPY_AUDIT_H
#define CANOPY_AUDIT_H

#include <jansson.h>

#include "arena.h"
#include "db.h"
#include "err.h"

/* A diff serialised larger than this keeps only which paths changed. */
#define AUDIT_DIFF_MAX (256 * 1024)
#define AUDIT_REDACTED "[redacted]"

typedef struct {
	long long tenant_id;     /* 0: a platform action */
	long long user_id;       /* 0: no person (CLI, API key, system) */
	const char *actor;       /* NULL, or "cli", "apikey:<prefix>", ... */
	const char *action;      /* "page.publish": [a-z][a-z0-9_.]{0,63} */
	const char *object_type; /* "page": [a-z][a-z0-9_]{0,63}, or NULL */
	const char *object_id;   /* at most 200 bytes, or NULL */
} audit_entry_t;

/* The diff of before and after as described above: a new object the
 * caller releases with json_decref; {} when nothing differs.  NULL stands
 * for "no document" (creation, deletion): with an object on the other
 * side it counts as {}, so each key shows as added or removed; with a
 * non-object the whole value is one entry at "".  Returns NULL only when
 * both are NULL. */
json_t *audit_diff_new(const json_t *before, const json_t *after);

/* Writes an entry inside the caller's open transaction (ERR_INTERNAL,
 * logged, when there is none: an entry outside the change's transaction
 * could survive a rolled-back change or be lost with a committed one).
 * before and after may be NULL (both NULL: no diff, e.g. a login).
 * ERR_INVALID for a malformed action, object type or object id; ERR_DB. */
int audit_write(db_t *db, arena_t *a, long long tenant_id, long long user_id,
		const char *action, const char *object_type,
		const char *object_id, const json_t *before,
		const json_t *after) WARN_UNUSED;

/* As audit_write, with the actor named (for changes made without a
 * person: the CLI, an API key). */
int audit_write_entry(db_t *db, arena_t *a, const audit_entry_t *e,
		      const json_t *before, const json_t *after) WARN_UNUSED;

#endif
