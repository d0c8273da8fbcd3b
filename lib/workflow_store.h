/* workflow_store: the workflows of a tenant in PostgreSQL
 * (sql/0003_workflows.sql): rows, versions, status, deployments.
 *
 * Every function takes the tenant id and scopes every statement by it: a
 * workflow id of another tenant is ERR_NOT_FOUND, exactly like one that
 * does not exist.  Graphs passed in have already been validated
 * (workflow_check); the store hashes and keeps them.  Status changes are
 * published to the tenant's live channel (lib/publish) after they commit.
 * Strings in returned structs are owned by the arena. */
#ifndef CANOPY_WORKFLOW_STORE_H
#define CANOPY_WORKFLOW_STORE_H

#include <jansson.h>
#include <stdbool.h>

#include "arena.h"
#include "db.h"
#include "err.h"

typedef enum {
	WORKFLOW_IDLE = 0,
	WORKFLOW_GENERATING,
	WORKFLOW_DEPLOYING,
	WORKFLOW_LIVE,
	WORKFLOW_ERROR
} workflow_status_t;

/* "idle", "generating", ...; the status named, or -1. */
const char *workflow_store_status_name(workflow_status_t s);
int workflow_store_status_parse(const char *name);

typedef struct {
	long long id;
	long long tenant_id;
	const char *name;
	const char *prompt;        /* or NULL */
	const char *json;          /* the current graph as JSON text, or NULL */
	const char *graph_hash;    /* or NULL */
	int version;               /* 0 until a graph is saved */
	workflow_status_t status;
	const char *status_reason; /* or NULL */
	const char *builder_kind;  /* or NULL until deployed */
	const char *external_id;   /* or NULL */
	const char *editor_url;    /* or NULL */
	const char *last_run_url;  /* or NULL */
	const char *deployed_hash; /* or NULL */
	const char *created_at;    /* ISO 8601 */
	const char *updated_at;
} workflow_row_t;

/* sha256 hex (65 bytes with the NUL) of the canonical form of a graph:
 * compact JSON with sorted keys.  Two graphs that differ only in key order
 * or spacing hash alike. */
int workflow_store_hash(const json_t *graph, char hex[65]) WARN_UNUSED;

/* A new workflow (status idle, no graph).  *id gets its id. */
int workflow_store_create(db_t *db, arena_t *a, long long tenant_id,
			  const char *name, const char *prompt,
			  long long *id) WARN_UNUSED;

/* One workflow.  ERR_NOT_FOUND. */
int workflow_store_get(db_t *db, arena_t *a, long long tenant_id,
		       long long id, workflow_row_t *out) WARN_UNUSED;

/* The tenant's workflows, oldest first, at most limit (1..1000).  The
 * rows' json is NULL (a list stays small): get one for its graph. */
int workflow_store_list(db_t *db, arena_t *a, long long tenant_id, int limit,
			workflow_row_t **rows, int *n) WARN_UNUSED;

/* Makes graph the workflow's current graph and records it as a new
 * version (source: "generate", "api", "admin" or "restore"), in one
 * transaction; the workflow's name follows graph.name.  *version (may be
 * NULL) gets the new version number.  ERR_NOT_FOUND. */
int workflow_store_save_graph(db_t *db, arena_t *a, long long tenant_id,
			      long long id, const json_t *graph,
			      const char *source, int *version) WARN_UNUSED;

/* Deletes a workflow with its versions and deployments, then publishes
 * {"type":"workflow.deleted","workflow_id"} (outside a caller's
 * transaction, as set_status).  ERR_NOT_FOUND. */
int workflow_store_delete(db_t *db, arena_t *a, long long tenant_id,
			  long long id) WARN_UNUSED;

/* Sets status and reason (NULL clears it), then publishes
 * {"type":"workflow.status","workflow_id","name","status","reason","url",
 * "editor_url","version","updated_at"} on the tenant's channel (url is
 * last_run_url).  A failed publish is logged, never an error: the page
 * still shows the status from the database.  Inside a transaction the
 * caller opened nothing is published (the change is not visible yet):
 * call workflow_store_publish after the commit.  Publishing needs
 * publish_init (lib/publish.h) at program start; without it the status is
 * only stored.  ERR_NOT_FOUND. */
int workflow_store_set_status(db_t *db, arena_t *a, long long tenant_id,
			      long long id, workflow_status_t status,
			      const char *reason) WARN_UNUSED;

/* Records a successful deployment on the workflow: builder kind, external
 * id, editor URL, run URL (may be NULL) and the hash that is now live;
 * status becomes live and the reason is cleared (published as above).
 * ERR_NOT_FOUND. */
int workflow_store_set_live(db_t *db, arena_t *a, long long tenant_id,
			    long long id, const char *builder_kind,
			    const char *external_id, const char *editor_url,
			    const char *run_url, const char *deployed_hash)
	WARN_UNUSED;

typedef struct {
	int version;
	const char *json;
	const char *graph_hash;
	const char *source;
	const char *request_id; /* or NULL */
	const char *created_at;
} workflow_version_t;

/* The versions of a workflow, newest first, at most limit.
 * ERR_NOT_FOUND for a workflow that is not the tenant's. */
int workflow_store_versions(db_t *db, arena_t *a, long long tenant_id,
			    long long id, int limit, workflow_version_t **rows,
			    int *n) WARN_UNUSED;

/* One deployment attempt: deployment_begin inserts a running row and
 * gives its id; deployment_end finishes it. */
int workflow_store_deployment_begin(db_t *db, arena_t *a, long long tenant_id,
				    long long workflow_id, long long job_id,
				    int attempt, const char *driver,
				    const char *graph_hash,
				    long long *deployment_id) WARN_UNUSED;
int workflow_store_deployment_end(db_t *db, arena_t *a, long long tenant_id,
				  long long deployment_id, bool succeeded,
				  const char *external_id, const char *url,
				  long http_status, const char *error)
	WARN_UNUSED;

/* ------------------------------------------------------------ additions
 * for callers that change a workflow together with other rows (the API
 * enqueues a job in the same transaction) and publish after the commit. */

/* A status change made inside the caller's transaction, to publish with
 * workflow_store_publish_change once it has committed.  The message says
 * what this change set, even if another process has changed the workflow
 * again meanwhile: every transition reaches the stream, and pages order
 * messages by their updated_at.  The message is owned by the arena. */
typedef struct {
	const char *slug;
	json_t *message;
} workflow_store_change_t;

/* As workflow_store_create, starting in status (e.g. generating).
 * Publishes nothing; *change (may be NULL) gets the message to publish
 * after the commit.  ERR_NOT_FOUND for an unknown tenant. */
int workflow_store_create_as(db_t *db, arena_t *a, long long tenant_id,
			     const char *name, const char *prompt,
			     workflow_status_t status, long long *id,
			     workflow_store_change_t *change) WARN_UNUSED;

/* As workflow_store_set_status, but never publishes; *change (may be
 * NULL) gets the message to publish after the commit. */
int workflow_store_update_status(db_t *db, arena_t *a, long long tenant_id,
				 long long id, workflow_status_t status,
				 const char *reason,
				 workflow_store_change_t *change) WARN_UNUSED;

/* Publishes a change noted by create_as or update_status (call it after
 * the commit).  A failed publish is logged, not returned. */
void workflow_store_publish_change(const workflow_store_change_t *change);

/* Publishes the workflow's current status as set_status does.  A failed
 * publish is logged, not returned.  ERR_NOT_FOUND. */
int workflow_store_publish(db_t *db, arena_t *a, long long tenant_id,
			   long long id) WARN_UNUSED;

/* As workflow_store_get, locking the row until the caller's transaction
 * ends (FOR UPDATE), so what it read is still true when the caller
 * changes it (ERR_INTERNAL without a transaction).  ERR_NOT_FOUND. */
int workflow_store_get_locked(db_t *db, arena_t *a, long long tenant_id,
			      long long id, workflow_row_t *out) WARN_UNUSED;

/* Replaces the workflow's prompt (generating again from a new request)
 * and sets status (reason cleared), in the caller's transaction; never
 * publishes: *change (may be NULL) gets the message to publish after
 * the commit.  ERR_NOT_FOUND. */
int workflow_store_set_prompt(db_t *db, arena_t *a, long long tenant_id,
			      long long id, const char *prompt,
			      workflow_status_t status,
			      workflow_store_change_t *change) WARN_UNUSED;

/* One row of the deployments table: an attempt to ship a graph. */
typedef struct {
	long long id;
	long long job_id;          /* 0 when unknown */
	int attempt;
	const char *driver;        /* "n8n" or "builder" */
	const char *graph_hash;
	const char *status;        /* "running", "succeeded" or "failed" */
	const char *external_id;   /* or NULL */
	const char *url;           /* or NULL */
	const char *error;         /* or NULL */
	long http_status;          /* 0 when none */
	const char *request_id;    /* or NULL */
	const char *started_at;    /* ISO 8601 */
	const char *finished_at;   /* or NULL while running */
} workflow_deployment_t;

/* The deployment attempts of a workflow, newest first, at most limit
 * (1..1000).  ERR_NOT_FOUND for a workflow that is not the tenant's. */
int workflow_store_deployments(db_t *db, arena_t *a, long long tenant_id,
			       long long id, int limit,
			       workflow_deployment_t **rows, int *n)
	WARN_UNUSED;

/* The message set_status publishes for row (only id, name, status,
 * status_reason, last_run_url, editor_url, version and updated_at are
 * read).  A new reference the caller owns. */
json_t *workflow_store_status_message(const workflow_row_t *row);

#endif
