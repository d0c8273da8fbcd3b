/* builder: the two deployment drivers of the workflow.deploy job.
 *
 *   builder_conn_t conn;
 *   if (builder_conn_init(&conn, &cfg) < 0) -> BUILDER_API_URL unusable
 *   builder_prior_t prior = {.external_id = row.external_id};
 *   builder_result_t res;
 *   rc = conn.kind == BUILDER_KIND_N8N
 *        ? builder_n8n_deploy(a, &conn, n8n_json, "lead-form", &prior, &res)
 *        : builder_api_deploy(a, &conn, tenant_id, graph, &prior, &res);
 *   rc < 0: res.error says why, res.retryable whether to try again later;
 *   res.external_id may be set even then: store it, so the next attempt
 *   updates what was made instead of making another.
 *
 * BUILDER_KIND=n8n speaks n8n's public REST API (/api/v1, header
 * X-N8N-API-KEY = BUILDER_API_KEY); BUILDER_KIND=builder speaks the
 * generic builder API (/api/projects..., Authorization: Bearer <HS256 JWT
 * signed with JWT_SECRET>, aud "builder", iss "canopy", sub
 * "tenant:<id>", five minutes of life).  Pure HTTP through http_client
 * (allowlist, retries with backoff and Retry-After, deadlines,
 * X-Request-Id from the thread's log context); no database.
 *
 * BUILDER_API_URL is the service's root, e.g. https://n8n.example.com; a
 * trailing "/api/v1" (n8n) or "/api" (builder) and trailing slashes are
 * dropped, so either spelling works.  The API key and the JWT are never
 * logged and never appear in res.error.
 *
 * Repeated calls: n8n's public API has no idempotency keys, so a create
 * that timed out after n8n stored it can leave an inactive orphan; the
 * builder API gets an Idempotency-Key on its creating calls (see
 * builder_prior_t.idempotency_key) and does not have that problem. */
#ifndef CANOPY_BUILDER_H
#define CANOPY_BUILDER_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "arena.h"
#include "config.h"
#include "err.h"
#include "http_client.h"

#define BUILDER_URL_MAX 512
#define BUILDER_DEFAULT_TIMEOUT_MS 30000
#define BUILDER_DEFAULT_DEADLINE_MS 90000
#define BUILDER_JWT_LIFETIME_S 300

typedef enum { BUILDER_KIND_N8N = 0, BUILDER_KIND_API } builder_kind_t;

/* Where and how to reach the builder.  Strings are borrowed (from the
 * config, which lives as long as the process), except base, a normalised
 * copy of the URL. */
typedef struct {
	builder_kind_t kind;      /* BUILDER_KIND */
	char base[BUILDER_URL_MAX]; /* BUILDER_API_URL, normalised; "" unset */
	const char *api_key;      /* BUILDER_API_KEY (n8n): secret */
	const char *jwt_secret;   /* JWT_SECRET (builder): secret */
	long timeout_ms;          /* per attempt (default 30 s) */
	long connect_timeout_ms;  /* default 5 s */
	long deadline_ms;         /* per HTTP call with its retries (90 s) */
	http_client_retry_t retry; /* zero fields: http_client's defaults */
} builder_conn_t;

/* What the caller already knows about an earlier deployment of this
 * Canopy workflow.  Strings are borrowed. */
typedef struct {
	/* n8n workflow id / builder project id, or NULL the first time */
	const char *external_id;
	/* builder API only: a key stable across retries of one deployment
	 * (e.g. the job's idempotency key), sent as Idempotency-Key (with a
	 * suffix per call) so a retried create returns what the first one
	 * made.  NULL: a random key per builder_api_deploy call, which still
	 * covers http_client's own retries. */
	const char *idempotency_key;
} builder_prior_t;

/* What became of a call.  Strings are owned by the arena. */
typedef struct {
	const char *external_id; /* n8n workflow / credential id, builder
				  * project id; set as soon as known, even
				  * when a later step fails */
	const char *editor_url;  /* n8n: <base>/workflow/<id>; builder: the
				  * project's url */
	const char *run_url;     /* n8n: <base>/webhook/<path> for a webhook
				  * trigger, else NULL; builder: the run's url */
	long http_status;        /* status of the last answer; 0 if none */
	int attempts;            /* most attempts one HTTP call needed */
	double latency_ms;       /* all calls, waits included */
	const char *error;       /* on failure: a human reason, never a
				  * secret; NULL on success */
	bool retryable;          /* the failure may go away by itself (429,
				  * 5xx, timeout, unreachable, garbled
				  * answer) vs not (401, 400, 422, config) */
} builder_result_t;

/* Fills conn from the configuration: BUILDER_KIND, BUILDER_API_URL
 * (normalised into conn->base), BUILDER_API_KEY, JWT_SECRET, and default
 * timeouts.  ERR_INVALID when BUILDER_API_URL is unset, not http(s) or
 * longer than BUILDER_URL_MAX; conn is filled anyway (base "") and the
 * deploy calls then fail with a clear, non-retryable reason. */
int builder_conn_init(builder_conn_t *conn, const config_t *cfg) WARN_UNUSED;

/* Sets conn->base from url (normalised as described above).
 * ERR_INVALID as for builder_conn_init. */
int builder_conn_set_url(builder_conn_t *conn, const char *url) WARN_UNUSED;

/* Deploys an n8n workflow (already translated by translate_n8n; borrowed,
 * not changed).  With prior->external_id set and that workflow still in
 * n8n (GET 200, not archived) it is updated in place (PUT); otherwise (no
 * id, GET 404, archived) a new one is created (POST).  Read-only fields
 * (id, active, tags, ...) in the JSON are left out of what is sent.  Then
 * the workflow is activated.  webhook_path (may be NULL) is the path of
 * its webhook trigger: res->run_url becomes <base>/webhook/<path>.
 * Returns 0, or the ERR_* of the step that failed (ERR_UNAUTHORIZED,
 * ERR_INVALID for a workflow n8n refuses, ERR_RATE_LIMITED, ERR_UPSTREAM
 * for 5xx and garbled answers, ERR_TIMEOUT, ERR_FORBIDDEN for a host not
 * on the allowlist, ...) with res->error and res->retryable set. */
int builder_n8n_deploy(arena_t *a, const builder_conn_t *conn,
		       const json_t *n8n_workflow, const char *webhook_path,
		       const builder_prior_t *prior,
		       builder_result_t *res) WARN_UNUSED;

/* Creates an n8n credential (POST /api/v1/credentials {name, type,
 * data}); *id (arena) gets its id, also in res->external_id.  n8n's public
 * API cannot read a credential back, so the caller stores the id.  data is
 * secret: it is sent, never logged.  Errors as builder_n8n_deploy
 * (ERR_INVALID for an unknown type). */
int builder_n8n_create_credential(arena_t *a, const builder_conn_t *conn,
				  const char *name, const char *type,
				  const json_t *data, const char **id,
				  builder_result_t *res) WARN_UNUSED;

/* Deletes an n8n credential.  A credential n8n does not know (404) counts
 * as deleted: 0 with res->http_status 404. */
int builder_n8n_delete_credential(arena_t *a, const builder_conn_t *conn,
				  const char *id,
				  builder_result_t *res) WARN_UNUSED;

/* Deploys a Canopy workflow graph (borrowed) to the generic builder API:
 * the project named by prior->external_id when it still exists (GET 200),
 * else a new one (POST /api/projects {name} -> {projectId, url}); then
 * POST /api/projects/:id/workflows with the graph and POST
 * /api/projects/:id/run.  res->external_id is the project id,
 * res->editor_url its url, res->run_url the run's url.  Each call carries
 * a fresh JWT for tenant_id.  Errors as builder_n8n_deploy; a graph the
 * builder refuses is ERR_UNPROCESSABLE (422), not retryable. */
int builder_api_deploy(arena_t *a, const builder_conn_t *conn,
		       long long tenant_id, const json_t *graph,
		       const builder_prior_t *prior,
		       builder_result_t *res) WARN_UNUSED;

/* The bearer token builder_api_deploy sends for tenant_id at time now
 * (exposed for tests and tools): claims iss, aud, sub, iat, exp = now +
 * BUILDER_JWT_LIFETIME_S, jti.  ERR_INVALID without a JWT secret. */
int builder_api_token(arena_t *a, const builder_conn_t *conn,
		      long long tenant_id, time_t now,
		      const char **token) WARN_UNUSED;

#endif
