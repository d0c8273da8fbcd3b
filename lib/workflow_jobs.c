#include "workflow_jobs.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "builder.h"
#include "credential.h"
#include "crypto.h"
#include "log.h"
#include "openai.h"
#include "schema.h"
#include "translate_n8n.h"
#include "workflow.h"
#include "workflow_store.h"

#define SCHEMA_NAME "workflow"
#define TEMPERATURE 0.2
/* All attempts and waits of one model call (http_client retries 429 and
 * 5xx itself before the job does). */
#define OPENAI_DEADLINE_MS (5L * 60 * 1000)
#define INSTRUCTIONS_MAX (64 << 10)
/* How much of a rejected answer and its problems the repair request
 * carries: enough to fix it, bounded whatever the model sent. */
#define REPAIR_ANSWER_MAX (48 << 10)
#define REPAIR_PROBLEMS_MAX 60
#define REPAIR_INPUT_MAX (96 << 10)

/* Set by workflow_jobs_init before any handler runs; read-only after. */
static struct {
	schema_t *schema;
	workflow_hosts_t *hosts;
	bool allow_loopback_http;
	char *instructions;
} st;

/* ------------------------------------------------------------ prompt */

static const char *kind_text(const workflow_input_t *in, char *tmp,
			     size_t tmplen)
{
	switch (in->kind) {
	case WORKFLOW_IN_STRING:
		return "text";
	case WORKFLOW_IN_NUMBER:
		if (in->min < in->max) {
			snprintf(tmp, tmplen, "number from %g to %g", in->min,
				 in->max);
			return tmp;
		}
		return "number";
	case WORKFLOW_IN_BOOLEAN:
		return "true or false";
	case WORKFLOW_IN_ENUM:
		return "one of";
	case WORKFLOW_IN_MAP:
		return "map {\"fields\": [entries]}";
	case WORKFLOW_IN_LIST:
		return "list";
	case WORKFLOW_IN_ANY:
		return "any value";
	case WORKFLOW_IN_URL:
		return "https URL";
	case WORKFLOW_IN_CRON:
		return "5-field cron expression";
	case WORKFLOW_IN_PATH:
		return "path of a-z 0-9 / _ -";
	case WORKFLOW_IN_EVENT:
		return "event name";
	case WORKFLOW_IN_TIMEZONE:
		return "IANA time zone";
	case WORKFLOW_IN_CONDITIONS:
		return "list of maps {left, operator, right}";
	}
	return "value";
}

static void put_list(buf_t *b, const char *const *list, size_t max)
{
	for (size_t i = 0; i < max && list[i]; i++)
		buf_printf(b, "%s\"%s\"", i ? ", " : "", list[i]);
}

static void put_type(buf_t *b, const workflow_type_t *t)
{
	buf_printf(b, "- type \"%s\"", t->type);
	if (!t->trigger) {
		buf_puts(b, ", action ");
		put_list(b, t->actions, 4);
	}
	buf_printf(b, ": %s Output ports: ", t->doc);
	put_list(b, t->out_ports, 4);
	buf_puts(b, ".");
	if (!t->trigger) {
		switch (t->auth) {
		case WORKFLOW_AUTH_NONE:
			buf_puts(b, " authRef: null.");
			break;
		case WORKFLOW_AUTH_REQUIRED:
			buf_puts(b, " authRef: required (the name of a stored "
				    "credential).");
			break;
		case WORKFLOW_AUTH_BY_INPUT:
			buf_puts(b, " authRef: required when \"authentication\" "
				    "is set and not \"none\", otherwise null.");
			break;
		}
	}
	buf_printf(b, "\n  %s: ", t->trigger ? "config" : "inputs");
	for (int i = 0; i < WORKFLOW_MAX_INPUTS && t->inputs[i].key; i++) {
		const workflow_input_t *in = &t->inputs[i];
		char tmp[64];
		buf_printf(b, "%s\"%s\" (%s%s", i ? "; " : "", in->key,
			   in->required ? "required, " : "",
			   kind_text(in, tmp, sizeof tmp));
		if (in->kind == WORKFLOW_IN_ENUM) {
			buf_puts(b, " ");
			put_list(b, in->choices, WORKFLOW_MAX_CHOICES);
		}
		if (in->kind == WORKFLOW_IN_CONDITIONS) {
			buf_puts(b, "; operator one of ");
			put_list(b, workflow_condition_operators(), 32);
		}
		buf_printf(b, ") %s", in->doc);
	}
	buf_puts(b, "\n");
}

/* The system prompt: the rules the checks enforce, and the vocabulary
 * written out from the same table the checks use. */
static char *build_instructions(const char *allowed_hosts)
{
	buf_t b;
	buf_init(&b, NULL, INSTRUCTIONS_MAX);
	buf_puts(&b,
		 "You are the Workflow Architect of Canopy. You turn a "
		 "person's description of an automation into exactly one "
		 "workflow graph, answered as JSON that matches the given "
		 "schema.\n\nRules:\n"
		 "1. Use only the trigger and node types, actions, inputs "
		 "and ports listed below; never invent one. If the request "
		 "needs something this vocabulary cannot do, build the "
		 "closest workflow it can and say what is missing in "
		 "\"description\".\n"
		 "2. A workflow has at least one trigger. Triggers and nodes "
		 "share one id space: short, unique, lower case, matching "
		 "[a-z][a-z0-9_-]*.\n"
		 "3. Edges go from an output port of a trigger or node to "
		 "the input port \"main\" of a node. Every node is reachable "
		 "from a trigger; there are no cycles and no duplicate "
		 "edges. A node's \"outputs\" lists its output ports exactly "
		 "as below.\n"
		 "4. Maps (env, inputs, config) are lists of {\"key\", "
		 "\"value\"} entries, each key at most once; a nested map "
		 "value is {\"fields\": [entries]}. Give every required "
		 "input; leave out optional inputs you do not need. env "
		 "values are strings and never secrets.\n"
		 "5. Secrets never appear in the graph: no passwords, "
		 "tokens, API keys, bearer or basic credentials, private "
		 "keys, cookies or credentials in URLs, not even as "
		 "placeholders or examples. A node that needs a credential "
		 "names it in \"authRef\" (a short name such as "
		 "\"slack_main\", for a credential the team stores in "
		 "Canopy); every other node has \"authRef\": null.\n");
	str_t hosts = str_trim(str_c(allowed_hosts ? allowed_hosts : ""));
	if (hosts.len)
		buf_printf(&b,
			   "6. HTTP requests use https URLs whose host is "
			   "one of: %.*s (\"*.example.com\" means any "
			   "subdomain of example.com). A URL's host is "
			   "always literal, never an expression.\n",
			   (int)hosts.len, hosts.p);
	else
		buf_puts(&b, "6. No outbound hosts are allowed: do not use "
			     "the \"http\" node.\n");
	buf_puts(&b,
		 "7. Values may use {{ expression }} placeholders (n8n "
		 "syntax inside the braces), e.g. {{ $json.body.email }}, "
		 "to use data of the item and earlier nodes.\n"
		 "8. \"name\" is a short title (at most 200 characters); "
		 "\"description\" says in one or two sentences what the "
		 "workflow does.\n\n"
		 "Triggers (their settings go in \"config\"):\n");
	size_t n;
	const workflow_type_t *v = workflow_vocab(&n);
	for (size_t i = 0; i < n; i++)
		if (v[i].trigger)
			put_type(&b, &v[i]);
	buf_puts(&b, "\nNodes (all have the input port \"main\"):\n");
	for (size_t i = 0; i < n; i++)
		if (!v[i].trigger)
			put_type(&b, &v[i]);
	if (b.err) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

/* ------------------------------------------------------------ setup */

void workflow_jobs_shutdown(void)
{
	schema_free(st.schema);
	workflow_hosts_free(st.hosts);
	free(st.instructions);
	memset(&st, 0, sizeof st);
}

int workflow_jobs_init(const config_t *cfg, bool allow_loopback_http,
		       char *err, size_t errlen)
{
	workflow_jobs_shutdown();
	char path[1024], why[256] = "";
	snprintf(path, sizeof path, "%s/%s",
		 cfg->schema_dir ? cfg->schema_dir : ".",
		 WORKFLOW_JOBS_SCHEMA_FILE);
	st.schema = schema_load_file(path, why, sizeof why);
	if (!st.schema) {
		snprintf(err, errlen, "%s: %s", path, why);
		return ERR_INVALID;
	}
	if (schema_strict_check(schema_document(st.schema), why, sizeof why)) {
		snprintf(err, errlen, "%s is not a strict-mode schema: %s",
			 path, why);
		workflow_jobs_shutdown();
		return ERR_INVALID;
	}
	if (workflow_hosts_parse(cfg->allowed_outbound_hosts, &st.hosts, why,
				 sizeof why)) {
		snprintf(err, errlen, "ALLOWED_OUTBOUND_HOSTS: %s", why);
		workflow_jobs_shutdown();
		return ERR_INVALID;
	}
	st.allow_loopback_http = allow_loopback_http;
	st.instructions = build_instructions(cfg->allowed_outbound_hosts);
	if (!st.instructions) {
		snprintf(err, errlen, "the workflow instructions are too long");
		workflow_jobs_shutdown();
		return ERR_INVALID;
	}
	return 0;
}

const char *workflow_jobs_instructions(void)
{
	return st.instructions;
}

/* ------------------------------------------------------------ enqueue */

int workflow_jobs_enqueue_generate(db_t *db, arena_t *a, const config_t *cfg,
				   long long tenant_id, long long workflow_id,
				   bool deploy, long long *job_id)
{
	jobs_new_t j = {
		.kind = WORKFLOW_JOBS_GENERATE,
		.tenant_id = tenant_id,
		.payload = arena_printf(a, "{\"workflow_id\":%lld,\"deploy\":%s}",
					workflow_id, deploy ? "true" : "false"),
		.max_attempts = cfg->workflow_job_attempts,
	};
	long long id = 0;
	int rc = jobs_enqueue(db, a, &j, &id, NULL);
	if (rc == 0 && job_id)
		*job_id = id;
	return rc;
}

int workflow_jobs_enqueue_deploy(db_t *db, arena_t *a, const config_t *cfg,
				 long long tenant_id, long long workflow_id,
				 const char *graph_hash, long long *job_id,
				 bool *created)
{
	if (!graph_hash || strlen(graph_hash) != WORKFLOW_HASH_HEX)
		return ERR_INVALID;
	jobs_new_t j = {
		.kind = WORKFLOW_JOBS_DEPLOY,
		.tenant_id = tenant_id,
		.payload = arena_printf(
			a, "{\"workflow_id\":%lld,\"graph_hash\":\"%s\"}",
			workflow_id, graph_hash),
		.max_attempts = cfg->workflow_job_attempts,
		.idempotency_key = arena_printf(a, "deploy:%lld:%lld:%s",
						tenant_id, workflow_id,
						graph_hash),
	};
	long long id = 0;
	int rc = jobs_enqueue(db, a, &j, &id, created);
	if (rc == 0 && job_id)
		*job_id = id;
	return rc;
}

/* ------------------------------------------------------------ starting */

/* The key text predates this module (the API took the lock first); kept
 * so processes of both versions serialise on the same lock. */
static const db_stmt_t q_generate_lock = {
	"wfj_generate_lock",
	"SELECT pg_advisory_xact_lock("
	"  hashtextextended('canopy.api.generate', $1::bigint))",
	1};

int workflow_jobs_start_generate(db_t *db, arena_t *a, const config_t *cfg,
				 long long tenant_id,
				 const workflow_jobs_generate_t *req,
				 workflow_jobs_started_t *out)
{
	*out = (workflow_jobs_started_t){0};
	if (!db_in_transaction(db))
		return ERR_INTERNAL;
	if (!req->prompt || !*req->prompt)
		return ERR_INVALID;
	long long count = 0;
	double oldest = 0;
	int limit = cfg->generate_per_hour;
	const char *p[] = {db_param_ll(a, tenant_id)};
	int rc;
	if ((rc = db_exec(db, a, &q_generate_lock, p, NULL)) ||
	    (rc = jobs_count_recent(db, a, tenant_id, WORKFLOW_JOBS_GENERATE,
				    WORKFLOW_JOBS_GENERATE_WINDOW_S, &count,
				    &oldest)))
		return rc;
	if (count >= limit) {
		long wait = limit > 0 ? (long)ceil(WORKFLOW_JOBS_GENERATE_WINDOW_S -
						   oldest)
				      : WORKFLOW_JOBS_GENERATE_WINDOW_S;
		out->retry_after = wait < 1 ? 1
				   : wait > WORKFLOW_JOBS_GENERATE_WINDOW_S
					   ? WORKFLOW_JOBS_GENERATE_WINDOW_S
					   : wait;
		return ERR_RATE_LIMITED;
	}
	long long id = req->workflow_id;
	if (id > 0)
		rc = workflow_store_set_prompt(db, a, tenant_id, id, req->prompt,
					       WORKFLOW_GENERATING, &out->change);
	else
		rc = workflow_store_create_as(db, a, tenant_id, req->name,
					      req->prompt, WORKFLOW_GENERATING,
					      &id, &out->change);
	if (rc == 0)
		rc = workflow_jobs_enqueue_generate(db, a, cfg, tenant_id, id,
						    req->deploy, &out->job_id);
	if (rc == 0) {
		out->workflow_id = id;
		out->created = true;
	}
	return rc;
}

int workflow_jobs_deploy_check(const workflow_row_t *row, const char **code)
{
	const char *why = NULL;
	if (!row->json || !row->graph_hash)
		why = "no_graph";
	else if (row->status == WORKFLOW_GENERATING)
		why = "busy";
	if (code)
		*code = why;
	return why ? ERR_CONFLICT : 0;
}

int workflow_jobs_start_deploy(db_t *db, arena_t *a, const config_t *cfg,
			       const workflow_row_t *row,
			       workflow_jobs_started_t *out)
{
	*out = (workflow_jobs_started_t){.workflow_id = row->id};
	if (!db_in_transaction(db))
		return ERR_INTERNAL;
	int rc = workflow_jobs_deploy_check(row, NULL);
	if (rc == 0)
		rc = workflow_store_update_status(db, a, row->tenant_id, row->id,
						  WORKFLOW_DEPLOYING, NULL,
						  &out->change);
	if (rc == 0)
		rc = workflow_jobs_enqueue_deploy(db, a, cfg, row->tenant_id,
						  row->id, row->graph_hash,
						  &out->job_id, &out->created);
	return rc;
}

/* ------------------------------------------------------------ shared */

typedef struct {
	jobs_ctx_t *ctx;
	long long tenant_id;
	long long workflow_id;
	json_t *payload;
	workflow_row_t row;
} job_t;

static void drop_json(void *j)
{
	json_decref(j);
}

/* A reason cut to what the column keeps, at a UTF-8 boundary. */
static const char *cut_reason(arena_t *a, const char *reason)
{
	size_t n = strlen(reason);
	if (n <= WORKFLOW_JOBS_REASON_MAX)
		return reason;
	n = WORKFLOW_JOBS_REASON_MAX - 3;
	while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
		n--;
	return arena_printf(a, "%.*s...", (int)n, reason);
}

static bool last_attempt(const jobs_ctx_t *ctx)
{
	return ctx->job->attempt >= ctx->job->max_attempts;
}

static void set_status(job_t *j, workflow_status_t s, const char *reason)
{
	int rc = workflow_store_set_status(
		j->ctx->db, j->ctx->arena, j->tenant_id, j->workflow_id, s,
		reason ? cut_reason(j->ctx->arena, reason) : NULL);
	if (rc && rc != ERR_NOT_FOUND) {
		log_line_t *l = log_begin(LOG_WARN, "workflow status not saved");
		log_int(l, "workflow_id", j->workflow_id);
		log_str(l, "status", workflow_store_status_name(s));
		log_str(l, "err", err_code_name(rc));
		log_end(l);
	}
	if (rc == 0)
		j->row.status = s;
}

/* Ends the job with result and reason: the workflow shows the error when
 * nothing more will be tried (a fatal failure, or a retryable one on the
 * last attempt); until then its status stays as it is. */
static jobs_result_t finish(job_t *j, jobs_result_t result, const char *reason)
{
	if (result == JOBS_FATAL ||
	    (result == JOBS_RETRY && last_attempt(j->ctx)))
		set_status(j, WORKFLOW_ERROR, reason);
	return jobs_ctx_fail(j->ctx, result, "%s", reason);
}

/* A stop request between steps: a cancel ends the workflow in error (no
 * attempt will follow); a drain or a lost lease leaves it for the next
 * run of the job. */
static jobs_result_t stopped(job_t *j)
{
	if (jobs_ctx_stopping(j->ctx) & JOBS_STOP_CANCEL)
		set_status(j, WORKFLOW_ERROR, "cancelled by an operator");
	return JOBS_STOPPED;
}

/* Reads the payload and the workflow.  Returns JOBS_DONE to go on, or
 * the result the job ends with. */
static jobs_result_t load_job(jobs_ctx_t *ctx, job_t *j)
{
	memset(j, 0, sizeof *j);
	j->ctx = ctx;
	j->tenant_id = ctx->job->tenant_id;
	json_t *p = json_loads(ctx->job->payload ? ctx->job->payload : "", 0,
			       NULL);
	if (p)
		arena_on_reset(ctx->arena, drop_json, p);
	json_t *id = json_object_get(p, "workflow_id");
	if (!json_is_object(p) || !json_is_integer(id) ||
	    json_integer_value(id) <= 0 || j->tenant_id <= 0)
		return jobs_ctx_fail(ctx, JOBS_FATAL,
				     "the payload needs a workflow_id and the "
				     "job a tenant");
	j->payload = p;
	j->workflow_id = (long long)json_integer_value(id);
	int rc = workflow_store_get(ctx->db, ctx->arena, j->tenant_id,
				    j->workflow_id, &j->row);
	if (rc == ERR_NOT_FOUND)
		return jobs_ctx_fail(ctx, JOBS_FATAL,
				     "workflow %lld of tenant %lld does not "
				     "exist (deleted?)",
				     j->workflow_id, j->tenant_id);
	if (rc)
		return jobs_ctx_fail(ctx, JOBS_RETRY, "loading the workflow: %s",
				     db_error(ctx->db));
	return JOBS_DONE;
}

/* "pointer: message; ..." for the first problems, for a status reason. */
static const char *problems_text(arena_t *a, const json_t *errors)
{
	buf_t b;
	buf_init(&b, a, 4096);
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e)
	{
		const char *ptr =
			json_string_value(json_object_get(e, "pointer"));
		const char *msg =
			json_string_value(json_object_get(e, "message"));
		if (buf_printf(&b, "%s%s: %s", i ? "; " : "",
			       ptr && *ptr ? ptr : "/", msg ? msg : "invalid"))
			break;
	}
	return b.len ? buf_cstr(&b) : "invalid";
}

/* ------------------------------------------------------------ generate */

static int ask_model(jobs_ctx_t *ctx, const char *input, openai_result_t *res)
{
	openai_config_t oc;
	openai_config_init(&oc, ctx->cfg);
	oc.deadline_ms = OPENAI_DEADLINE_MS;
	openai_request_t rq;
	openai_request_init(&rq);
	rq.instructions = st.instructions;
	rq.input = input;
	rq.schema_name = SCHEMA_NAME;
	/* openai only reads it (json_object_set adds a reference). */
	rq.schema = (json_t *)schema_document(st.schema);
	rq.max_output_tokens = ctx->cfg->openai_max_output_tokens;
	if (openai_model_accepts_temperature(oc.model))
		rq.temperature = TEMPERATURE;
	return openai_generate_json(ctx->arena, &oc, &rq, res);
}

static const char *first_input(arena_t *a, const char *prompt)
{
	return arena_printf(a,
			    "Build the workflow this person asks for.\n\n"
			    "Request:\n%s",
			    prompt);
}

/* The request again, with the rejected answer and why it was rejected. */
static const char *repair_input(arena_t *a, const char *prompt,
				const char *answer, const char *why,
				const json_t *errors)
{
	buf_t b;
	buf_init(&b, a, REPAIR_INPUT_MAX);
	buf_puts(&b, first_input(a, prompt));
	buf_puts(&b, "\n\nYour previous answer was rejected");
	if (why)
		buf_printf(&b, " (%s)", why);
	buf_puts(&b, ".\n\nPrevious answer:\n");
	if (answer) {
		size_t n = strlen(answer);
		buf_append(&b, answer, n < REPAIR_ANSWER_MAX ? n : REPAIR_ANSWER_MAX);
		if (n > REPAIR_ANSWER_MAX)
			buf_puts(&b, "\n[cut]");
	} else {
		buf_puts(&b, "(none)");
	}
	if (json_array_size(errors)) {
		buf_puts(&b, "\n\nProblems (JSON pointer: message):\n");
		size_t i;
		json_t *e;
		json_array_foreach(errors, i, e)
		{
			if (i >= REPAIR_PROBLEMS_MAX)
				break;
			const char *ptr = json_string_value(
				json_object_get(e, "pointer"));
			const char *msg = json_string_value(
				json_object_get(e, "message"));
			buf_printf(&b, "- %s: %s\n", ptr && *ptr ? ptr : "/",
				   msg ? msg : "invalid");
		}
	}
	buf_puts(&b, "\nAnswer again with one complete, corrected workflow "
		     "graph that fixes every problem and still does what was "
		     "asked.");
	return buf_cstr(&b); /* a cut request is still a useful request */
}

typedef enum { ANSWER_OK, ANSWER_BAD, ANSWER_FAILED } answer_t;

/* Classifies a model call.  ANSWER_OK: res->json is a graph that passed
 * every check.  ANSWER_BAD: an answer worth one repair (*errors and *why
 * say what was wrong).  ANSWER_FAILED: *result and *reason say how the
 * job ends. */
static answer_t judge(jobs_ctx_t *ctx, int rc, const openai_result_t *res,
		      json_t **errors, const char **why, jobs_result_t *result,
		      const char **reason)
{
	*errors = NULL;
	*why = NULL;
	const char *r = res->reason ? res->reason : err_code_name(rc);
	switch (rc) {
	case 0:
		break;
	case ERR_UPSTREAM:
		if (res->outcome == OPENAI_INVALID_JSON ||
		    res->outcome == OPENAI_INCOMPLETE) {
			*why = r;
			return ANSWER_BAD;
		}
		*result = JOBS_RETRY;
		*reason = r;
		return ANSWER_FAILED;
	case ERR_RATE_LIMITED:
	case ERR_TIMEOUT:
	case ERR_DB:
		*result = JOBS_RETRY;
		*reason = r;
		return ANSWER_FAILED;
	case ERR_UNAUTHORIZED:
		*result = JOBS_FATAL;
		*reason = res->http_status == 401
				  ? "OpenAI rejected the API key (401): check "
				    "OPENAI_API_KEY"
				  : r;
		return ANSWER_FAILED;
	case ERR_UNPROCESSABLE:
		*result = JOBS_FATAL;
		*reason = arena_printf(ctx->arena, "the model %s", r);
		return ANSWER_FAILED;
	default: /* ERR_INVALID, ERR_FORBIDDEN: configuration, not luck */
		*result = JOBS_FATAL;
		*reason = r;
		return ANSWER_FAILED;
	}
	workflow_ctx_t wc = {.schema = st.schema,
			     .hosts = st.hosts,
			     .allow_loopback_http = st.allow_loopback_http};
	json_t *problems = NULL;
	if (workflow_validate(&wc, res->json, &problems) == 0) {
		json_decref(problems);
		return ANSWER_OK;
	}
	if (!problems)
		problems = json_array();
	arena_on_reset(ctx->arena, drop_json, problems);
	*errors = problems;
	*why = "it does not pass Canopy's workflow checks";
	return ANSWER_BAD;
}

/* Saves the graph and moves the workflow on (to deploying with a deploy
 * job, or to idle), in one transaction, then publishes the status. */
static jobs_result_t save_generated(job_t *j, const json_t *graph,
				    bool deploy)
{
	jobs_ctx_t *ctx = j->ctx;
	char hash[WORKFLOW_HASH_HEX + 1];
	int version = 0, rc = workflow_hash(graph, hash);
	if (rc)
		return finish(j, JOBS_FATAL, "the generated graph cannot be hashed");
	if ((rc = db_begin(ctx->db)) != 0)
		return finish(j, JOBS_RETRY, "the database is unavailable");
	rc = workflow_store_save_graph(ctx->db, ctx->arena, j->tenant_id,
				       j->workflow_id, graph, "generate",
				       &version);
	long long deploy_job = 0;
	workflow_store_change_t change = {0};
	if (rc == 0 && deploy)
		rc = workflow_jobs_enqueue_deploy(ctx->db, ctx->arena, ctx->cfg,
						  j->tenant_id, j->workflow_id,
						  hash, &deploy_job, NULL);
	if (rc == 0)
		rc = workflow_store_update_status(
			ctx->db, ctx->arena, j->tenant_id, j->workflow_id,
			deploy ? WORKFLOW_DEPLOYING : WORKFLOW_IDLE, NULL,
			&change);
	if (rc == 0)
		rc = db_commit(ctx->db);
	else
		db_rollback(ctx->db);
	if (rc == ERR_NOT_FOUND)
		return jobs_ctx_fail(ctx, JOBS_FATAL,
				     "workflow %lld was deleted while it was "
				     "generated",
				     j->workflow_id);
	if (rc == ERR_INVALID || rc == ERR_TOO_LARGE)
		return finish(j, JOBS_FATAL,
			      "the generated graph could not be stored");
	if (rc)
		return finish(j, JOBS_RETRY, "the database is unavailable");
	/* The status changed inside the transaction: publish it now (the
	 * deploy job may already be further; pages order by updated_at). */
	workflow_store_publish_change(&change);
	log_line_t *l = log_begin(LOG_INFO, "workflow generated");
	log_int(l, "workflow_id", j->workflow_id);
	log_int(l, "tenant_id", j->tenant_id);
	log_int(l, "version", version);
	log_str(l, "graph_hash", hash);
	if (deploy)
		log_int(l, "deploy_job", deploy_job);
	log_end(l);
	return JOBS_DONE;
}

jobs_result_t workflow_jobs_generate(jobs_ctx_t *ctx)
{
	job_t j;
	jobs_result_t r = load_job(ctx, &j);
	if (r != JOBS_DONE)
		return r;
	if (!st.schema)
		return finish(&j, JOBS_FATAL, "workflow jobs are not initialised");
	/* A retry after an attempt that committed its result (its report was
	 * lost with the lease) finds the workflow moved on: done. */
	if (ctx->job->attempt > 1 && j.row.status != WORKFLOW_GENERATING &&
	    j.row.status != WORKFLOW_ERROR && j.row.version > 0)
		return JOBS_DONE;
	if (!j.row.prompt || !*j.row.prompt)
		return finish(&j, JOBS_FATAL,
			      "the workflow has no prompt to generate from");
	json_t *d = json_object_get(j.payload, "deploy");
	bool deploy = !json_is_false(d);
	if (j.row.status != WORKFLOW_GENERATING)
		set_status(&j, WORKFLOW_GENERATING, NULL);

	const char *input = first_input(ctx->arena, j.row.prompt);
	for (int round = 0; round < 2; round++) {
		if (jobs_ctx_stopping(ctx))
			return stopped(&j);
		openai_result_t res;
		int rc = ask_model(ctx, input, &res);
		json_t *errors;
		const char *why, *reason = NULL;
		jobs_result_t result = JOBS_FATAL;
		switch (judge(ctx, rc, &res, &errors, &why, &result, &reason)) {
		case ANSWER_OK:
			if (jobs_ctx_stopping(ctx))
				return stopped(&j);
			return save_generated(&j, res.json, deploy);
		case ANSWER_FAILED:
			return finish(&j, result, reason);
		case ANSWER_BAD:
			if (round == 1) {
				const char *what =
					errors ? problems_text(ctx->arena, errors)
					       : why;
				return finish(
					&j, JOBS_FATAL,
					arena_printf(ctx->arena,
						     "the model's workflow was "
						     "refused after one repair: "
						     "%s",
						     what));
			}
			input = repair_input(ctx->arena, j.row.prompt, res.text,
					     why, errors);
			break;
		}
	}
	return finish(&j, JOBS_FATAL, "unreachable");
}

/* ------------------------------------------------------------ deploy */

#define CREDS_MAX 64

static const db_stmt_t q_tenant_slug = {
	"wfjobs_tenant_slug", "SELECT slug FROM tenants WHERE id = $1", 1};

/* The builder's id from an earlier attempt that made something but did
 * not finish (deployments keep it even when they failed), so a retry
 * updates that instead of making another. */
static const db_stmt_t q_last_external = {
	"wfjobs_last_external_id",
	"SELECT external_id FROM deployments"
	" WHERE tenant_id = $1 AND workflow_id = $2 AND driver = $3"
	"   AND external_id IS NOT NULL"
	" ORDER BY id DESC LIMIT 1",
	3};

typedef struct {
	const char *auth_ref;
	const char *type; /* n8n credential type */
	const char *id;   /* n8n credential id */
	const char *name; /* its name in n8n */
} cred_t;

typedef struct {
	job_t *j;
	builder_conn_t conn;
	const char *driver;
	const char *slug;
	json_t *graph;
	cred_t creds[CREDS_MAX];
	int ncreds;
	/* how the attempt failed, when it did */
	jobs_result_t result;
	const char *reason;
	long http_status;
} deploy_t;

static int failed(deploy_t *d, jobs_result_t result, const char *reason)
{
	d->result = result;
	d->reason = reason;
	return -1;
}

static const char *ll_text(arena_t *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

static const char *prior_external_id(deploy_t *d)
{
	job_t *j = d->j;
	if (j->row.external_id && j->row.builder_kind &&
	    strcmp(j->row.builder_kind, d->driver) == 0)
		return j->row.external_id;
	const char *p[] = {ll_text(j->ctx->arena, j->tenant_id),
			   ll_text(j->ctx->arena, j->workflow_id), d->driver};
	PGresult *r;
	if (db_exec(j->ctx->db, j->ctx->arena, &q_last_external, p, &r) != 0 ||
	    db_rows(r) == 0)
		return NULL;
	return db_value(r, 0, 0);
}

static cred_t *cred_find(deploy_t *d, const char *auth_ref)
{
	for (int i = 0; i < d->ncreds; i++)
		if (strcmp(d->creds[i].auth_ref, auth_ref) == 0)
			return &d->creds[i];
	return NULL;
}

/* Makes sure the n8n credential behind auth_ref (used by node_id as
 * type) exists, creating it from the sealed secret the first time. */
static int ensure_credential(deploy_t *d, const char *auth_ref,
			     const char *type, const char *node_id,
			     const crypto_key_t **key, crypto_key_t *keybuf)
{
	jobs_ctx_t *ctx = d->j->ctx;
	arena_t *a = ctx->arena;
	cred_t *have = cred_find(d, auth_ref);
	if (have) {
		if (strcmp(have->type, type) != 0)
			return failed(d, JOBS_FATAL,
				      arena_printf(a,
						   "credential \"%s\" is used "
						   "by nodes that need "
						   "different kinds (%s, %s)",
						   auth_ref, have->type, type));
		return 0;
	}
	if (d->ncreds == CREDS_MAX)
		return failed(d, JOBS_FATAL, "the graph uses too many credentials");
	credential_row_t row;
	int rc = credential_get(ctx->db, a, d->j->tenant_id, auth_ref, &row);
	if (rc == ERR_NOT_FOUND)
		return failed(d, JOBS_FATAL,
			      arena_printf(a,
					   "node \"%s\" uses the credential "
					   "\"%s\", which is not stored in "
					   "Canopy: add it, then deploy again",
					   node_id, auth_ref));
	if (rc)
		return failed(d, JOBS_RETRY, "the database is unavailable");
	if (strcmp(row.kind, type) != 0)
		return failed(d, JOBS_FATAL,
			      arena_printf(a,
					   "credential \"%s\" is a %s "
					   "credential, but node \"%s\" needs "
					   "a %s one",
					   auth_ref, row.kind, node_id, type));
	cred_t *c = &d->creds[d->ncreds];
	c->auth_ref = auth_ref;
	c->type = type;
	c->name = arena_printf(a, "%s %s", d->slug, auth_ref);
	c->id = credential_external_id(a, &row, "n8n");
	if (c->id) {
		d->ncreds++;
		return 0;
	}
	if (!*key) {
		if (crypto_key_parse(ctx->cfg->secret_key, keybuf) != 0)
			return failed(d, JOBS_FATAL,
				      "CANOPY_SECRET_KEY is not set or "
				      "invalid: credentials cannot be opened");
		*key = keybuf;
	}
	json_t *secret;
	if (credential_open(a, *key, &row, &secret) != 0)
		return failed(d, JOBS_FATAL,
			      arena_printf(a,
					   "credential \"%s\" cannot be opened "
					   "with CANOPY_SECRET_KEY (sealed "
					   "with another key?)",
					   auth_ref));
	builder_result_t res;
	const char *id = NULL;
	rc = builder_n8n_create_credential(a, &d->conn, c->name, type, secret,
					   &id, &res);
	d->http_status = res.http_status;
	if (rc)
		return failed(d, res.retryable ? JOBS_RETRY : JOBS_FATAL,
			      arena_printf(a,
					   "n8n did not take the credential "
					   "\"%s\": %s",
					   auth_ref,
					   res.error ? res.error : "failed"));
	/* Without its id stored, the next attempt would make another. */
	rc = credential_set_external_id(ctx->db, a, d->j->tenant_id, auth_ref,
					"n8n", id);
	if (rc)
		return failed(d, JOBS_RETRY, "the database is unavailable");
	c->id = id;
	d->ncreds++;
	return 0;
}

static int credential_cb(void *vctx, const char *auth_ref,
			 const char *n8n_cred_type, translate_n8n_cred_t *out)
{
	deploy_t *d = vctx;
	cred_t *c = cred_find(d, auth_ref);
	if (!c || strcmp(c->type, n8n_cred_type) != 0)
		return ERR_NOT_FOUND;
	out->id = c->id;
	out->name = c->name;
	return 0;
}

static int deploy_n8n(deploy_t *d, builder_result_t *res)
{
	jobs_ctx_t *ctx = d->j->ctx;
	arena_t *a = ctx->arena;
	const crypto_key_t *key = NULL;
	crypto_key_t keybuf;
	size_t i;
	json_t *node;
	int rc = 0;
	json_array_foreach(json_object_get(d->graph, "nodes"), i, node)
	{
		const char *ref =
			json_string_value(json_object_get(node, "authRef"));
		if (!ref)
			continue;
		const char *type = translate_n8n_credential_type(
			json_string_value(json_object_get(node, "type")),
			json_object_get(node, "inputs"));
		const char *nid = json_string_value(json_object_get(node, "id"));
		if (!type) {
			rc = failed(d, JOBS_FATAL,
				    arena_printf(a,
						 "node \"%s\" takes no "
						 "credential in n8n",
						 nid ? nid : "?"));
			break;
		}
		if ((rc = ensure_credential(d, ref, type, nid ? nid : "?", &key,
					    &keybuf)) != 0)
			break;
		if (jobs_ctx_stopping(ctx))
			return 1;
	}
	if (key)
		crypto_wipe(&keybuf, sizeof keybuf);
	if (rc)
		return rc;

	translate_n8n_opts_t opts;
	memset(&opts, 0, sizeof opts);
	opts.credential = credential_cb;
	opts.ctx = d;
	opts.webhook_path_prefix = arena_printf(a, "%s/", d->slug);
	json_t *n8n_wf = NULL;
	char err[512] = "";
	if (translate_n8n(d->graph, &opts, &n8n_wf, err, sizeof err) != 0)
		return failed(d, JOBS_FATAL,
			      arena_printf(a,
					   "the graph cannot be translated for "
					   "n8n: %s",
					   err));
	arena_on_reset(a, drop_json, n8n_wf);
	if (jobs_ctx_stopping(ctx))
		return 1;
	builder_prior_t prior = {.external_id = prior_external_id(d)};
	rc = builder_n8n_deploy(a, &d->conn, n8n_wf,
				translate_n8n_webhook_path(n8n_wf), &prior, res);
	if (rc)
		return failed(d, res->retryable ? JOBS_RETRY : JOBS_FATAL,
			      res->error ? res->error : "n8n failed");
	return 0;
}

static int deploy_builder(deploy_t *d, builder_result_t *res)
{
	job_t *j = d->j;
	builder_prior_t prior = {
		.external_id = prior_external_id(d),
		.idempotency_key = arena_printf(j->ctx->arena, "deploy:%lld:%lld:%s",
						j->tenant_id, j->workflow_id,
						j->row.graph_hash),
	};
	int rc = builder_api_deploy(j->ctx->arena, &d->conn, j->tenant_id,
				    d->graph, &prior, res);
	if (rc)
		return failed(d, res->retryable ? JOBS_RETRY : JOBS_FATAL,
			      res->error ? res->error : "the builder failed");
	return 0;
}

jobs_result_t workflow_jobs_deploy(jobs_ctx_t *ctx)
{
	job_t j;
	jobs_result_t r = load_job(ctx, &j);
	if (r != JOBS_DONE)
		return r;
	arena_t *a = ctx->arena;
	if (!j.row.json || !j.row.graph_hash)
		return finish(&j, JOBS_FATAL, "the workflow has no graph to deploy");
	const char *want =
		json_string_value(json_object_get(j.payload, "graph_hash"));
	if (want && strcmp(want, j.row.graph_hash) != 0) {
		/* The graph changed since the deploy was asked for: the
		 * current one is what should run. */
		log_line_t *l = log_begin(LOG_INFO, "deploying a newer graph");
		log_int(l, "workflow_id", j.workflow_id);
		log_str(l, "asked", want);
		log_str(l, "current", j.row.graph_hash);
		log_end(l);
	}
	deploy_t d;
	memset(&d, 0, sizeof d);
	d.j = &j;
	d.driver = strcmp(ctx->cfg->builder_kind ? ctx->cfg->builder_kind : "",
			  "builder") == 0
			   ? "builder"
			   : "n8n";

	/* This graph is already live on this builder: the work is done. */
	if (j.row.deployed_hash && j.row.external_id && j.row.builder_kind &&
	    strcmp(j.row.deployed_hash, j.row.graph_hash) == 0 &&
	    strcmp(j.row.builder_kind, d.driver) == 0) {
		if (j.row.status != WORKFLOW_LIVE &&
		    workflow_store_set_live(ctx->db, a, j.tenant_id,
					    j.workflow_id, d.driver,
					    j.row.external_id, j.row.editor_url,
					    j.row.last_run_url,
					    j.row.deployed_hash) != 0)
			return jobs_ctx_fail(ctx, JOBS_RETRY,
					     "the database is unavailable");
		return JOBS_DONE;
	}
	if (j.row.status != WORKFLOW_DEPLOYING)
		set_status(&j, WORKFLOW_DEPLOYING, NULL);
	if (jobs_ctx_stopping(ctx))
		return stopped(&j);

	d.graph = json_loads(j.row.json, 0, NULL);
	if (!json_is_object(d.graph)) {
		json_decref(d.graph);
		return finish(&j, JOBS_FATAL, "the stored graph is not JSON");
	}
	arena_on_reset(a, drop_json, d.graph);
	if (builder_conn_init(&d.conn, ctx->cfg) != 0)
		return finish(&j, JOBS_FATAL,
			      "BUILDER_API_URL is not set or not an http(s) URL");
	const char *p[] = {ll_text(a, j.tenant_id)};
	PGresult *res_slug;
	if (db_exec(ctx->db, a, &q_tenant_slug, p, &res_slug) != 0 ||
	    db_rows(res_slug) == 0)
		return finish(&j, JOBS_RETRY, "the database is unavailable");
	d.slug = db_value(res_slug, 0, 0);

	long long dep_id = 0;
	if (workflow_store_deployment_begin(ctx->db, a, j.tenant_id,
					    j.workflow_id, ctx->job->id,
					    ctx->job->attempt, d.driver,
					    j.row.graph_hash, &dep_id) != 0)
		return finish(&j, JOBS_RETRY, "the database is unavailable");

	builder_result_t res;
	memset(&res, 0, sizeof res);
	int rc = strcmp(d.driver, "n8n") == 0 ? deploy_n8n(&d, &res)
					       : deploy_builder(&d, &res);
	if (rc > 0) { /* asked to stop */
		(void)!workflow_store_deployment_end(ctx->db, a, j.tenant_id,
						     dep_id, false, NULL, NULL,
						     0, "stopped");
		return stopped(&j);
	}
	const char *url = res.run_url ? res.run_url : res.editor_url;
	long status = res.http_status ? res.http_status : d.http_status;
	if (workflow_store_deployment_end(ctx->db, a, j.tenant_id, dep_id,
					  rc == 0, res.external_id, url, status,
					  rc ? cut_reason(a, d.reason) : NULL) !=
	    0)
		log_warn("deployment %lld: its end was not recorded", dep_id);
	if (rc)
		return finish(&j, d.result, d.reason);
	if (workflow_store_set_live(ctx->db, a, j.tenant_id, j.workflow_id,
				    d.driver, res.external_id, res.editor_url,
				    res.run_url, j.row.graph_hash) != 0)
		return finish(&j, JOBS_RETRY,
			      "deployed, but the database did not take the "
			      "result");
	log_line_t *l = log_begin(LOG_INFO, "workflow deployed");
	log_int(l, "workflow_id", j.workflow_id);
	log_int(l, "tenant_id", j.tenant_id);
	log_str(l, "driver", d.driver);
	log_str(l, "external_id", res.external_id);
	log_str(l, "graph_hash", j.row.graph_hash);
	log_double(l, "latency_ms", res.latency_ms);
	log_end(l);
	return JOBS_DONE;
}
