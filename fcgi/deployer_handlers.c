/* The kinds canopy-deployer runs: one table, one line per kind.  A new
 * kind is a handler function (its logic lives in lib/) plus a line here.
 *
 * noop and sleep ship for benchmarks and smoke tests.  fail and record
 * exist for the test suite and are enabled only with
 * CANOPY_DEPLOYER_TEST_KINDS=1 (a deployer claims only kinds it has, so
 * production deployers leave such jobs alone). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "deployer.h"
#include "workflow_jobs.h"

#define SLEEP_MAX_MS (3600L * 1000)

static void drop_json(void *j)
{
	json_decref(j);
}

/* The payload as a JSON object owned by the job's arena, or NULL. */
static json_t *payload_object(jobs_ctx_t *ctx)
{
	json_t *p = json_loads(ctx->job->payload, 0, NULL);
	if (!p)
		return NULL;
	arena_on_reset(ctx->arena, drop_json, p);
	return json_is_object(p) ? p : NULL;
}

static long payload_ms(jobs_ctx_t *ctx)
{
	json_t *p = payload_object(ctx);
	json_t *ms = p ? json_object_get(p, "ms") : NULL;
	if (!json_is_integer(ms))
		return 0;
	long v = (long)json_integer_value(ms);
	return v < 0 ? 0 : v > SLEEP_MAX_MS ? SLEEP_MAX_MS : v;
}

static jobs_result_t run_noop(jobs_ctx_t *ctx)
{
	(void)ctx;
	return JOBS_DONE;
}

/* {"ms": N}: sleeps N ms, stopping early when asked. */
static jobs_result_t run_sleep(jobs_ctx_t *ctx)
{
	return jobs_ctx_sleep(ctx, payload_ms(ctx)) ? JOBS_DONE : JOBS_STOPPED;
}

/* {"retryable": bool, "message": "..."}: always fails. */
static jobs_result_t run_fail(jobs_ctx_t *ctx)
{
	json_t *p = payload_object(ctx);
	bool retryable = p && json_is_true(json_object_get(p, "retryable"));
	const char *msg = p ? json_string_value(json_object_get(p, "message"))
			    : NULL;
	return jobs_ctx_fail(ctx, retryable ? JOBS_RETRY : JOBS_FATAL, "%s",
			     msg ? msg : "failed on purpose");
}

/* Each run inserts a row into jobs_test_runs (created by the test) before
 * its work, then sleeps {"ms": N}.  The exactly-once test counts rows per
 * job; the row's attempt and worker say which claim ran it. */
static const db_stmt_t q_record = {
	"deployer_record_run",
	"INSERT INTO jobs_test_runs (job_id, attempt, worker, pid)"
	" VALUES ($1, $2, $3, $4)",
	4};

static jobs_result_t run_record(jobs_ctx_t *ctx)
{
	char id[24], attempt[16], pid[16];
	snprintf(id, sizeof id, "%lld", ctx->job->id);
	snprintf(attempt, sizeof attempt, "%d", ctx->job->attempt);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	const char *params[] = {id, attempt, ctx->worker, pid};
	if (db_exec(ctx->db, ctx->arena, &q_record, params, NULL) != 0)
		return jobs_ctx_fail(ctx, JOBS_RETRY, "record: %s",
				     db_error(ctx->db));
	return jobs_ctx_sleep(ctx, payload_ms(ctx)) ? JOBS_DONE : JOBS_STOPPED;
}

static const struct {
	jobs_handler_t handler;
	bool test_only;
} table[] = {
	{{"noop", run_noop}, false},
	{{"sleep", run_sleep}, false},
	{{WORKFLOW_JOBS_GENERATE, workflow_jobs_generate}, false},
	{{WORKFLOW_JOBS_DEPLOY, workflow_jobs_deploy}, false},
	{{"fail", run_fail}, true},
	{{"record", run_record}, true},
};

#define NTABLE (sizeof table / sizeof table[0])

const jobs_handler_t *deployer_handlers(const config_t *cfg, int *n)
{
	static jobs_handler_t enabled[NTABLE];
	int count = 0;
	for (size_t i = 0; i < NTABLE; i++)
		if (!table[i].test_only || cfg->deployer_test_kinds)
			enabled[count++] = table[i].handler;
	*n = count;
	return enabled;
}
