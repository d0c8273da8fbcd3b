/* workflow_jobs: the deployer's work on workflows, as two job kinds.
 *
 * workflow.generate {"workflow_id", "deploy"?}: the workflow's prompt
 *   becomes a graph.  OpenAI is asked (lib/openai) with
 *   schema/workflow.schema.json as the strict output format and the
 *   "Workflow Architect" instructions, built from the vocabulary table
 *   (workflow_vocab) so they never drift from what the checks accept.
 *   The answer is validated (schema and graph checks); a rejected answer
 *   gets one repair request carrying the problems, then the workflow ends
 *   in error.  A valid graph is saved as a new version (source
 *   "generate") and, unless the payload says "deploy": false, a
 *   workflow.deploy job is enqueued in the same transaction and the
 *   status becomes deploying; otherwise idle.
 *
 * workflow.deploy {"workflow_id", "graph_hash"?}: ships the current graph
 *   to the builder named by BUILDER_KIND.  A graph already live (same
 *   hash) is not sent again.  n8n: every authRef becomes an n8n
 *   credential (created once from the sealed secret in the credentials
 *   table, its id remembered), the graph is translated
 *   (lib/translate_n8n) and created, or updated when this workflow was
 *   deployed before, then activated.  builder: the builder API.  Each
 *   attempt is a deployments row; success sets the workflow live with its
 *   editor URL and run (webhook) URL.
 *
 * Outcomes: a failure that may pass (HTTP 429, 5xx, timeouts, a database
 * outage) returns JOBS_RETRY and leaves the status as it is, until the
 * job's last attempt, which sets error with the reason; a failure that
 * cannot pass (a rejected API key, a refusal, a graph that stays invalid,
 * a missing credential) sets error with the reason and returns
 * JOBS_FATAL.  Every status change is published by lib/workflow_store.
 *
 * workflow_jobs_init() must run once at program start, before the
 * handlers: it compiles the schema (a schema the validator cannot enforce
 * stops the program there), parses ALLOWED_OUTBOUND_HOSTS and builds the
 * instructions.  After it the module state is read-only, so handlers run
 * in any number of threads. */
#ifndef CANOPY_WORKFLOW_JOBS_H
#define CANOPY_WORKFLOW_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "jobs.h"
#include "workflow_store.h"

#define WORKFLOW_JOBS_GENERATE "workflow.generate"
#define WORKFLOW_JOBS_DEPLOY "workflow.deploy"
#define WORKFLOW_JOBS_SCHEMA_FILE "workflow.schema.json"
/* The longest status reason stored (the column holds 2000 characters). */
#define WORKFLOW_JOBS_REASON_MAX 1900

/* Loads cfg->schema_dir/workflow.schema.json (and checks it obeys strict
 * mode), parses cfg->allowed_outbound_hosts and builds the system prompt.
 * allow_loopback_http lets graphs call http:// URLs on loopback hosts of
 * the allowlist (tests and development only).  Replaces what an earlier
 * call loaded (tests; not while handlers run).  Returns 0, or
 * ERR_INVALID with one line in err. */
int workflow_jobs_init(const config_t *cfg, bool allow_loopback_http,
		       char *err, size_t errlen) WARN_UNUSED;

/* Frees what workflow_jobs_init loaded (tests, leak checks). */
void workflow_jobs_shutdown(void);

/* The "Workflow Architect" instructions sent with every generation
 * (borrowed; NULL before workflow_jobs_init). */
const char *workflow_jobs_instructions(void);

/* Enqueues workflow.generate for a workflow of the tenant with
 * CANOPY_WORKFLOW_ATTEMPTS attempts; deploy says whether a generated
 * graph is deployed at once.  *job_id (may be NULL) gets the job.  Runs
 * in the caller's transaction when one is open.  jobs_enqueue's
 * errors. */
int workflow_jobs_enqueue_generate(db_t *db, arena_t *a, const config_t *cfg,
				   long long tenant_id, long long workflow_id,
				   bool deploy, long long *job_id) WARN_UNUSED;

/* Enqueues workflow.deploy of the graph whose hash is graph_hash, with
 * CANOPY_WORKFLOW_ATTEMPTS attempts and the idempotency key
 * "deploy:<tenant>:<workflow>:<hash>" (as the API's deploy route): while
 * such a job is pending or running, the same deployment is not enqueued
 * again and *job_id gets the existing job (*created, may be NULL, says
 * which).  Runs in the caller's transaction when one is open. */
int workflow_jobs_enqueue_deploy(db_t *db, arena_t *a, const config_t *cfg,
				 long long tenant_id, long long workflow_id,
				 const char *graph_hash, long long *job_id,
				 bool *created) WARN_UNUSED;

/* ------------------------------------------------------------ starting
 * What a person's request does to start work on a workflow, shared by
 * the JSON API and the admin screens.  Both run inside the caller's open
 * transaction (ERR_INTERNAL without one), so the caller can write an
 * audit entry with the change, and the deployer cannot see a job before
 * the status that goes with it has committed.  After the commit, publish
 * started.change with workflow_store_publish_change. */

/* The window of the generation quota (cfg->generate_per_hour). */
#define WORKFLOW_JOBS_GENERATE_WINDOW_S 3600

typedef struct {
	long long workflow_id; /* 0: a new workflow; else generate it again */
	const char *name;      /* a new workflow's; NULL: "Untitled automation" */
	const char *prompt;    /* required; at most 4000 characters */
	bool deploy;           /* deploy the graph as soon as it is made */
} workflow_jobs_generate_t;

typedef struct {
	long long workflow_id;
	long long job_id;
	bool created;          /* deploy: false when the same deployment was
				* already pending (job_id is that job) */
	long retry_after;      /* ERR_RATE_LIMITED: seconds until a slot frees */
	workflow_store_change_t change; /* to publish after the commit */
} workflow_jobs_started_t;

/* Starts a generation for tenant_id: checks the tenant's quota of
 * cfg->generate_per_hour workflow.generate jobs in the last
 * WORKFLOW_JOBS_GENERATE_WINDOW_S seconds (a per-tenant advisory lock
 * held to the end of the transaction makes count-then-insert exact under
 * concurrent requests; other tenants never wait for it), then creates
 * the workflow in status generating, or for req->workflow_id sets its
 * prompt and status generating, and enqueues workflow.generate.
 * ERR_RATE_LIMITED (out->retry_after set, 1..3600), ERR_NOT_FOUND (no
 * such tenant or workflow), ERR_INVALID (no prompt), ERR_DB. */
int workflow_jobs_start_generate(db_t *db, arena_t *a, const config_t *cfg,
				 long long tenant_id,
				 const workflow_jobs_generate_t *req,
				 workflow_jobs_started_t *out) WARN_UNUSED;

/* Whether row (as read by workflow_store_get) can be deployed now: 0, or
 * ERR_CONFLICT with *code (may be NULL) "no_graph" (nothing generated or
 * saved yet) or "busy" (a generation is running). */
int workflow_jobs_deploy_check(const workflow_row_t *row, const char **code)
	WARN_UNUSED;

/* Starts deploying row's current graph (workflow_jobs_deploy_check
 * first: ERR_CONFLICT): the status becomes deploying and
 * workflow.deploy is enqueued (workflow_jobs_enqueue_deploy: a pending
 * deployment of the same graph is not enqueued twice).  ERR_NOT_FOUND,
 * ERR_DB. */
int workflow_jobs_start_deploy(db_t *db, arena_t *a, const config_t *cfg,
			       const workflow_row_t *row,
			       workflow_jobs_started_t *out) WARN_UNUSED;

/* The handlers (jobs_handler_fn) of the two kinds. */
jobs_result_t workflow_jobs_generate(jobs_ctx_t *ctx);
jobs_result_t workflow_jobs_deploy(jobs_ctx_t *ctx);

#endif
