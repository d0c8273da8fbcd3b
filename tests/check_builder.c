/* builder against the n8n and builder API fakes, started once for the
 * suite (each test resets them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builder.h"
#include "check_util.h"
#include "crypto.h"
#include "fakes/fake_util.h"
#include "log.h"

#define N8N_KEY "n8n-test-api-key"
#define JWT_SECRET "builder-test-jwt-secret-0123456789"

static fake_t n8n, bld;
static arena_t *a;

/* A workflow as translate_n8n makes it, plus read-only fields a copy of
 * an earlier answer would carry (the driver must leave them out). */
static const char *const N8N_WORKFLOW =
	"{\"name\":\"Lead form to Slack\",\"id\":\"stale\",\"active\":true,"
	"\"tags\":[],\"nodes\":["
	"{\"name\":\"Webhook\",\"type\":\"n8n-nodes-base.webhook\","
	"\"typeVersion\":2.1,\"position\":[0,0],"
	"\"parameters\":{\"httpMethod\":\"POST\",\"path\":\"lead-form\"}},"
	"{\"name\":\"Slack\",\"type\":\"n8n-nodes-base.slack\","
	"\"typeVersion\":2.3,\"position\":[220,0],"
	"\"parameters\":{\"text\":\"New lead\"}}],"
	"\"connections\":{\"Webhook\":{\"main\":[[{\"node\":\"Slack\","
	"\"type\":\"main\",\"index\":0}]]}},"
	"\"settings\":{\"executionOrder\":\"v1\"}}";

/* Only a manual trigger: n8n refuses to activate it. */
static const char *const N8N_MANUAL_ONLY =
	"{\"name\":\"Manual\",\"nodes\":["
	"{\"name\":\"Start\",\"type\":\"n8n-nodes-base.manualTrigger\","
	"\"typeVersion\":1,\"position\":[0,0],\"parameters\":{}}],"
	"\"connections\":{},\"settings\":{}}";

static void start_fakes(void)
{
	const char *bargs[] = {"--jwt-secret", JWT_SECRET, NULL};
	if (fake_start(&n8n, "n8n_fake.py", NULL) < 0 ||
	    fake_start(&bld, "builder_fake.py", bargs) < 0)
		abort();
	http_client_clear_allowed();
	http_client_allow_host("127.0.0.1");
}

static void stop_fakes(void)
{
	fake_stop(&n8n);
	fake_stop(&bld);
}

static void setup(void)
{
	a = arena_new(0);
	fake_reset(&n8n);
	fake_reset(&bld);
	log_set_request_id(NULL);
}

static void teardown(void)
{
	arena_free(a);
}

static builder_conn_t conn_for(const fake_t *f, const char *kind)
{
	config_t cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.builder_kind = kind;
	cfg.builder_api_url = f->base;
	cfg.builder_api_key = N8N_KEY;
	cfg.jwt_secret = JWT_SECRET;
	builder_conn_t c;
	ck_assert_int_eq(builder_conn_init(&c, &cfg), 0);
	/* Short and bounded, so failure cases stay quick. */
	c.timeout_ms = 2000;
	c.deadline_ms = 8000;
	c.retry = (http_client_retry_t){.max_attempts = 3,
					.backoff_base_ms = 10,
					.backoff_max_ms = 40,
					.retry_after_max_ms = 3000};
	return c;
}

static json_t *load(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	return j;
}

static json_t *fake_state(const fake_t *f)
{
	char *body = NULL;
	ck_assert_int_eq(fake_call(f, "GET", "/_fake/state", NULL, &body), 200);
	json_t *j = json_loads(body, 0, NULL);
	free(body);
	ck_assert_ptr_nonnull(j);
	return j;
}

/* "METHOD path" of each request the fake received, space separated. */
static char *request_log(const fake_t *f)
{
	json_t *reqs = fake_requests(f);
	ck_assert_ptr_nonnull(reqs);
	buf_t b;
	buf_init(&b, a, 1 << 16);
	size_t i;
	json_t *r;
	json_array_foreach(reqs, i, r)
	{
		buf_printf(&b, "%s%s %s", i ? " | " : "",
			   json_string_value(json_object_get(r, "method")),
			   json_string_value(json_object_get(r, "path")));
	}
	json_decref(reqs);
	return arena_strdup(a, buf_cstr(&b));
}

static int n8n_deploy(const builder_conn_t *c, const char *wf_text,
		      const char *prior_id, builder_result_t *res)
{
	json_t *wf = load(wf_text);
	builder_prior_t prior = {.external_id = prior_id};
	int rc = builder_n8n_deploy(a, c, wf, "lead-form", &prior, res);
	json_decref(wf);
	return rc;
}

/* ------------------------------------------------------------ setup */

START_TEST(conn_init_normalises_the_url)
{
	builder_conn_t c;
	ck_assert_int_eq(builder_conn_set_url(&c, "http://h:5678/api/v1/"), 0);
	ck_assert_str_eq(c.base, "http://h:5678");
	ck_assert_int_eq(builder_conn_set_url(&c, "https://b.example/api"), 0);
	ck_assert_str_eq(c.base, "https://b.example");
	ck_assert_int_eq(builder_conn_set_url(&c, "https://b.example//"), 0);
	ck_assert_str_eq(c.base, "https://b.example");
	ck_assert_int_eq(builder_conn_set_url(&c, "https://x.example/n8n"), 0);
	ck_assert_str_eq(c.base, "https://x.example/n8n");
	ck_assert_int_eq(builder_conn_set_url(&c, "ftp://h"), ERR_INVALID);
	ck_assert_str_eq(c.base, "");
	ck_assert_int_eq(builder_conn_set_url(&c, "https://"), ERR_INVALID);
	ck_assert_int_eq(builder_conn_set_url(&c, NULL), ERR_INVALID);

	config_t cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.builder_kind = "builder";
	cfg.jwt_secret = "s";
	ck_assert_int_eq(builder_conn_init(&c, &cfg), ERR_INVALID);
	ck_assert_int_eq(c.kind, BUILDER_KIND_API);
	ck_assert_int_gt(c.timeout_ms, 0);

	/* Deploying without a URL says which setting is missing. */
	builder_result_t res;
	json_t *g = load("{\"name\":\"x\"}");
	ck_assert_int_eq(builder_api_deploy(a, &c, 1, g, NULL, &res),
			 ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(res.error, "BUILDER_API_URL"));
	ck_assert(!res.retryable);
	cfg.builder_kind = "n8n";
	cfg.builder_api_url = "http://127.0.0.1:1";
	ck_assert_int_eq(builder_conn_init(&c, &cfg), 0);
	ck_assert_int_eq(c.kind, BUILDER_KIND_N8N);
	ck_assert_int_eq(builder_n8n_deploy(a, &c, g, NULL, NULL, &res),
			 ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(res.error, "BUILDER_API_KEY"));
	json_decref(g);
}
END_TEST

START_TEST(host_not_on_the_allowlist_is_refused)
{
	builder_conn_t c = conn_for(&n8n, "n8n");
	ck_assert_int_eq(builder_conn_set_url(&c, "http://n8n.invalid:5678"), 0);
	builder_result_t res;
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, NULL, &res),
			 ERR_FORBIDDEN);
	ck_assert(!res.retryable);
	ck_assert_ptr_nonnull(strstr(res.error, "allowlist"));
	ck_assert_int_eq(res.http_status, 0);
}
END_TEST

/* -------------------------------------------------------------- n8n */

START_TEST(n8n_creates_then_activates)
{
	log_set_request_id("rid-builder-1");
	builder_conn_t c = conn_for(&n8n, "n8n");
	builder_result_t res;
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, NULL, &res), 0);
	ck_assert_ptr_null(res.error);
	ck_assert_ptr_nonnull(res.external_id);
	ck_assert_str_eq(res.editor_url, arena_printf(a, "%s/workflow/%s",
						      n8n.base,
						      res.external_id));
	ck_assert_str_eq(res.run_url,
			 arena_printf(a, "%s/webhook/lead-form", n8n.base));
	ck_assert_int_eq(res.http_status, 200);
	ck_assert_int_eq(res.attempts, 1);
	ck_assert(res.latency_ms > 0);

	ck_assert_str_eq(request_log(&n8n),
			 arena_printf(a,
				      "POST /api/v1/workflows | "
				      "POST /api/v1/workflows/%s/activate",
				      res.external_id));
	json_t *reqs = fake_requests(&n8n);
	json_t *create = json_array_get(reqs, 0);
	ck_assert_str_eq(fake_req_header(create, "X-N8N-API-KEY"), N8N_KEY);
	ck_assert_str_eq(fake_req_header(create, "X-Request-Id"),
			 "rid-builder-1");
	json_t *body = json_object_get(create, "body");
	ck_assert_ptr_null(json_object_get(body, "id"));
	ck_assert_ptr_null(json_object_get(body, "active"));
	ck_assert_ptr_null(json_object_get(body, "tags"));
	ck_assert_str_eq(json_string_value(json_object_get(body, "name")),
			 "Lead form to Slack");
	json_decref(reqs);

	json_t *st = fake_state(&n8n);
	json_t *wfs = json_object_get(st, "workflows");
	ck_assert_uint_eq(json_object_size(wfs), 1);
	json_t *wf = json_object_get(wfs, res.external_id);
	ck_assert(json_is_true(json_object_get(wf, "active")));
	json_decref(st);

	/* The production webhook URL answers now. */
	ck_assert_int_eq(fake_call(&n8n, "POST", "/webhook/lead-form", "{}",
				   NULL),
			 200);
}
END_TEST

START_TEST(n8n_second_deploy_updates_in_place)
{
	builder_conn_t c = conn_for(&n8n, "n8n");
	builder_result_t first, second;
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, NULL, &first), 0);
	json_t *wf = load(N8N_WORKFLOW);
	json_object_set_new(wf, "name", json_string("Lead form, v2"));
	char *v2 = json_dumps(wf, 0);
	json_decref(wf);
	fake_call(&n8n, "DELETE", "/_fake/requests", NULL, NULL);
	int rc = n8n_deploy(&c, v2, first.external_id, &second);
	free(v2);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(second.external_id, first.external_id);
	ck_assert_str_eq(second.editor_url, first.editor_url);
	const char *id = first.external_id;
	ck_assert_str_eq(request_log(&n8n),
			 arena_printf(a,
				      "GET /api/v1/workflows/%s | "
				      "PUT /api/v1/workflows/%s | "
				      "POST /api/v1/workflows/%s/activate",
				      id, id, id));

	json_t *st = fake_state(&n8n);
	json_t *wfs = json_object_get(st, "workflows");
	ck_assert_uint_eq(json_object_size(wfs), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(wfs, id), "name")),
			 "Lead form, v2");
	json_decref(st);
}
END_TEST

START_TEST(n8n_unknown_prior_id_creates_anew)
{
	builder_conn_t c = conn_for(&n8n, "n8n");
	builder_result_t res;
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, "GoneWorkflow1234", &res),
			 0);
	ck_assert_str_ne(res.external_id, "GoneWorkflow1234");
	ck_assert_str_eq(request_log(&n8n),
			 arena_printf(a,
				      "GET /api/v1/workflows/GoneWorkflow1234 | "
				      "POST /api/v1/workflows | "
				      "POST /api/v1/workflows/%s/activate",
				      res.external_id));
	json_t *st = fake_state(&n8n);
	ck_assert_uint_eq(json_object_size(json_object_get(st, "workflows")), 1);
	json_decref(st);

	/* An id that could break out of the path is refused unsent. */
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, "../credentials", &res),
			 ERR_INVALID);
	ck_assert(!res.retryable);
}
END_TEST

START_TEST(n8n_bad_key_is_final_and_never_shown)
{
	int fd = fileno(tmpfile());
	log_set_fd(fd);
	builder_conn_t c = conn_for(&n8n, "n8n");
	c.api_key = "n8n-wrong-but-secret-777";
	builder_result_t res;
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, NULL, &res),
			 ERR_UNAUTHORIZED);
	log_set_fd(-1);
	ck_assert(!res.retryable);
	ck_assert_int_eq(res.http_status, 401);
	ck_assert_int_eq(res.attempts, 1);
	ck_assert_ptr_nonnull(strstr(res.error, "API key"));
	ck_assert_ptr_nonnull(strstr(res.error, "401"));
	ck_assert_ptr_nonnull(strstr(res.error, "BUILDER_API_KEY"));
	ck_assert_ptr_null(strstr(res.error, c.api_key));
	ck_assert_ptr_null(res.external_id);

	char *log = fake_slurp_fd(fd);
	close(fd);
	ck_assert_ptr_nonnull(strstr(log, "\"msg\":\"builder deploy\""));
	ck_assert_ptr_nonnull(strstr(log, "\"outcome\":\"unauthorized\""));
	ck_assert_ptr_null(strstr(log, c.api_key));
	ck_assert_ptr_null(strstr(log, N8N_KEY));
	free(log);
}
END_TEST

START_TEST(n8n_rate_limit_waits_then_succeeds)
{
	fake_mode(&n8n, "{\"mode\":\"429\",\"retry_after\":1,"
			"\"path\":\"/api/v1/workflows\",\"method\":\"POST\"}");
	builder_conn_t c = conn_for(&n8n, "n8n");
	builder_result_t res;
	double t0 = fake_now_ms();
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, NULL, &res), 0);
	ck_assert_int_eq(res.attempts, 2);
	ck_assert(fake_now_ms() - t0 >= 900); /* Retry-After was honoured */
	ck_assert(res.latency_ms >= 900);
	json_t *st = fake_state(&n8n);
	ck_assert_uint_eq(json_object_size(json_object_get(st, "workflows")), 1);
	json_decref(st);
}
END_TEST

START_TEST(n8n_server_errors_exhaust_the_budget)
{
	fake_mode(&n8n, "{\"mode\":\"500\",\"count\":-1}");
	builder_conn_t c = conn_for(&n8n, "n8n");
	builder_result_t res;
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, NULL, &res),
			 ERR_UPSTREAM);
	ck_assert(res.retryable);
	ck_assert_int_eq(res.attempts, 3);
	ck_assert_int_eq(res.http_status, 500);
	ck_assert_ptr_nonnull(strstr(res.error, "500"));
	ck_assert_ptr_nonnull(strstr(res.error, "creating the workflow"));
	ck_assert_ptr_nonnull(strstr(res.error, "3 attempts"));
	json_t *reqs = fake_requests(&n8n);
	ck_assert_uint_eq(json_array_size(reqs), 3);
	json_decref(reqs);
}
END_TEST

START_TEST(n8n_hang_is_a_timeout)
{
	fake_mode(&n8n, "{\"mode\":\"hang\",\"count\":-1,\"seconds\":5}");
	builder_conn_t c = conn_for(&n8n, "n8n");
	c.timeout_ms = 300;
	c.retry.max_attempts = 2;
	builder_result_t res;
	double t0 = fake_now_ms();
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, NULL, &res), ERR_TIMEOUT);
	double ms = fake_now_ms() - t0;
	ck_assert(ms >= 550 && ms < 3000);
	ck_assert(res.retryable);
	ck_assert_int_eq(res.attempts, 2);
	ck_assert_ptr_nonnull(strstr(res.error, "did not answer in time"));
	ck_assert_ptr_nonnull(strstr(res.error, "300 ms"));
}
END_TEST

START_TEST(n8n_malformed_answer_is_an_error)
{
	fake_mode(&n8n, "{\"mode\":\"malformed\",\"path\":\"/api/v1/workflows\","
			"\"method\":\"POST\"}");
	builder_conn_t c = conn_for(&n8n, "n8n");
	builder_result_t res;
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, NULL, &res),
			 ERR_UPSTREAM);
	ck_assert_ptr_nonnull(strstr(res.error, "malformed JSON"));
	ck_assert(res.retryable);
	ck_assert_int_eq(res.http_status, 200);

	fake_mode(&n8n, "{\"mode\":\"truncated\",\"count\":-1}");
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, NULL, &res),
			 ERR_UPSTREAM);
	ck_assert(res.retryable);
}
END_TEST

START_TEST(n8n_activation_refused_keeps_the_id)
{
	builder_conn_t c = conn_for(&n8n, "n8n");
	builder_result_t res;
	ck_assert_int_eq(n8n_deploy(&c, N8N_MANUAL_ONLY, NULL, &res),
			 ERR_INVALID);
	ck_assert(!res.retryable);
	ck_assert_int_eq(res.http_status, 400);
	ck_assert_ptr_nonnull(strstr(res.error, "activating workflow"));
	ck_assert_ptr_nonnull(strstr(res.error, "no node to start"));
	/* Created before activation failed: the caller stores the id so a
	 * fixed workflow replaces it rather than adding another. */
	ck_assert_ptr_nonnull(res.external_id);
	const char *id = res.external_id;
	ck_assert_int_eq(n8n_deploy(&c, N8N_WORKFLOW, id, &res), 0);
	ck_assert_str_eq(res.external_id, id);
	json_t *st = fake_state(&n8n);
	ck_assert_uint_eq(json_object_size(json_object_get(st, "workflows")), 1);
	json_decref(st);
}
END_TEST

START_TEST(n8n_credentials)
{
	builder_conn_t c = conn_for(&n8n, "n8n");
	builder_result_t res;
	json_t *data = load("{\"accessToken\":\"xoxb-secret-token\"}");
	const char *id = NULL;
	ck_assert_int_eq(builder_n8n_create_credential(a, &c, "Slack (acme)",
						       "slackApi", data, &id,
						       &res),
			 0);
	ck_assert_ptr_nonnull(id);
	ck_assert_str_eq(res.external_id, id);
	json_t *st = fake_state(&n8n);
	json_t *cred = json_object_get(json_object_get(st, "credentials"), id);
	ck_assert_str_eq(json_string_value(json_object_get(cred, "type")),
			 "slackApi");
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(cred, "data"), "accessToken")),
			 "xoxb-secret-token");
	json_decref(st);

	/* n8n refuses a type it does not know: final, with its words. */
	const char *id2 = "unchanged";
	ck_assert_int_eq(builder_n8n_create_credential(a, &c, "x", "noSuchType",
						       data, &id2, &res),
			 ERR_INVALID);
	ck_assert_ptr_null(id2);
	ck_assert(!res.retryable);
	ck_assert_ptr_nonnull(strstr(res.error, "not a known type"));
	ck_assert_ptr_null(strstr(res.error, "xoxb-secret-token"));
	ck_assert_int_eq(builder_n8n_create_credential(a, &c, "", "slackApi",
						       data, &id2, &res),
			 ERR_INVALID);
	json_decref(data);

	ck_assert_int_eq(builder_n8n_delete_credential(a, &c, id, &res), 0);
	ck_assert_int_eq(res.http_status, 200);
	st = fake_state(&n8n);
	ck_assert_uint_eq(json_object_size(json_object_get(st, "credentials")),
			  0);
	json_decref(st);
	/* Already gone counts as deleted. */
	ck_assert_int_eq(builder_n8n_delete_credential(a, &c, id, &res), 0);
	ck_assert_int_eq(res.http_status, 404);
	ck_assert_int_eq(builder_n8n_delete_credential(a, &c, "a/b", &res),
			 ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------- builder API */

static json_t *sample_graph(void)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/tests/workflows/valid/event-if-email.json",
		 TOP_SRCDIR);
	json_t *g = json_load_file(path, 0, NULL);
	ck_assert_ptr_nonnull(g);
	return g;
}

static int api_deploy(const builder_conn_t *c, const builder_prior_t *prior,
		      builder_result_t *res)
{
	json_t *g = sample_graph();
	int rc = builder_api_deploy(a, c, 42, g, prior, res);
	json_decref(g);
	return rc;
}

/* Checks the bearer token of a recorded request as the builder would. */
static void assert_token(json_t *req)
{
	const char *auth = fake_req_header(req, "Authorization");
	ck_assert_ptr_nonnull(auth);
	ck_assert(strncmp(auth, "Bearer ", 7) == 0);
	json_t *claims = NULL;
	ck_assert_int_eq(crypto_jwt_verify_hs256(JWT_SECRET, auth + 7,
						 time(NULL), &claims),
			 0);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "aud")),
			 "builder");
	ck_assert_str_eq(json_string_value(json_object_get(claims, "iss")),
			 "canopy");
	ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")),
			 "tenant:42");
	json_int_t iat = json_integer_value(json_object_get(claims, "iat"));
	json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
	ck_assert_int_eq(exp - iat, 300);
	ck_assert(llabs((long long)iat - (long long)time(NULL)) < 60);
	json_decref(claims);
}

START_TEST(api_creates_project_uploads_and_runs)
{
	builder_conn_t c = conn_for(&bld, "builder");
	builder_result_t res;
	ck_assert_int_eq(api_deploy(&c, NULL, &res), 0);
	ck_assert_ptr_null(res.error);
	const char *pid = res.external_id;
	ck_assert(strncmp(pid, "prj_", 4) == 0);
	ck_assert_str_eq(res.editor_url,
			 arena_printf(a, "%s/p/%s", bld.base, pid));
	ck_assert_ptr_nonnull(res.run_url);
	ck_assert(strncmp(res.run_url, res.editor_url,
			  strlen(res.editor_url)) == 0);
	ck_assert_ptr_nonnull(strstr(res.run_url, "/run/run_"));
	ck_assert_int_eq(res.http_status, 202);
	ck_assert_int_eq(res.attempts, 1);

	ck_assert_str_eq(request_log(&bld),
			 arena_printf(a,
				      "POST /api/projects | "
				      "POST /api/projects/%s/workflows | "
				      "POST /api/projects/%s/run",
				      pid, pid));
	json_t *reqs = fake_requests(&bld);
	size_t i;
	json_t *r;
	json_array_foreach(reqs, i, r)
	{
		assert_token(r);
		ck_assert_ptr_nonnull(fake_req_header(r, "Idempotency-Key"));
	}
	json_t *proj_body = json_object_get(json_array_get(reqs, 0), "body");
	ck_assert_str_eq(json_string_value(json_object_get(proj_body, "name")),
			 "Route form by budget");
	/* The graph went as it is, trigger edges included. */
	json_t *sent = json_object_get(json_array_get(reqs, 1), "body");
	json_t *g = sample_graph();
	ck_assert(json_equal(sent, g));
	json_decref(g);
	json_decref(reqs);

	json_t *st = fake_state(&bld);
	json_t *projects = json_object_get(st, "projects");
	ck_assert_uint_eq(json_object_size(projects), 1);
	json_t *p = json_object_get(projects, pid);
	ck_assert_uint_eq(json_array_size(json_object_get(p, "workflows")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(p, "runs")), 1);
	json_decref(st);
}
END_TEST

START_TEST(api_reuses_the_prior_project)
{
	builder_conn_t c = conn_for(&bld, "builder");
	builder_result_t first, second;
	ck_assert_int_eq(api_deploy(&c, NULL, &first), 0);
	fake_call(&bld, "DELETE", "/_fake/requests", NULL, NULL);
	builder_prior_t prior = {.external_id = first.external_id};
	ck_assert_int_eq(api_deploy(&c, &prior, &second), 0);
	const char *pid = first.external_id;
	ck_assert_str_eq(second.external_id, pid);
	ck_assert_str_eq(second.editor_url, first.editor_url);
	ck_assert_str_ne(second.run_url, first.run_url);
	ck_assert_str_eq(request_log(&bld),
			 arena_printf(a,
				      "GET /api/projects/%s | "
				      "POST /api/projects/%s/workflows | "
				      "POST /api/projects/%s/run",
				      pid, pid, pid));
	json_t *st = fake_state(&bld);
	json_t *projects = json_object_get(st, "projects");
	ck_assert_uint_eq(json_object_size(projects), 1);
	json_t *p = json_object_get(projects, pid);
	ck_assert_uint_eq(json_array_size(json_object_get(p, "workflows")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(p, "runs")), 2);
	json_decref(st);

	/* A project the builder no longer has: a new one. */
	builder_prior_t gone = {.external_id = "prj_gone"};
	ck_assert_int_eq(api_deploy(&c, &gone, &second), 0);
	ck_assert_str_ne(second.external_id, "prj_gone");
	ck_assert_str_ne(second.external_id, pid);
}
END_TEST

START_TEST(api_idempotency_key_prevents_duplicates)
{
	builder_conn_t c = conn_for(&bld, "builder");
	builder_prior_t prior = {.idempotency_key = "deploy:tenant42:abc"};
	builder_result_t first, again;
	ck_assert_int_eq(api_deploy(&c, &prior, &first), 0);
	/* A retried job that never learnt the project id. */
	ck_assert_int_eq(api_deploy(&c, &prior, &again), 0);
	ck_assert_str_eq(again.external_id, first.external_id);
	json_t *st = fake_state(&bld);
	json_t *projects = json_object_get(st, "projects");
	ck_assert_uint_eq(json_object_size(projects), 1);
	json_t *p = json_object_get(projects, first.external_id);
	ck_assert_uint_eq(json_array_size(json_object_get(p, "workflows")), 1);
	json_decref(st);

	json_t *reqs = fake_requests(&bld);
	ck_assert_str_eq(fake_req_header(json_array_get(reqs, 0),
					 "Idempotency-Key"),
			 "deploy:tenant42:abc:project");
	json_decref(reqs);

	builder_prior_t bad = {.idempotency_key = "has\nnewline"};
	ck_assert_int_eq(api_deploy(&c, &bad, &again), ERR_INVALID);
}
END_TEST

START_TEST(api_wrong_secret_is_final)
{
	int fd = fileno(tmpfile());
	log_set_fd(fd);
	builder_conn_t c = conn_for(&bld, "builder");
	c.jwt_secret = "not-the-builder-secret";
	builder_result_t res;
	ck_assert_int_eq(api_deploy(&c, NULL, &res), ERR_UNAUTHORIZED);
	log_set_fd(-1);
	ck_assert(!res.retryable);
	ck_assert_int_eq(res.http_status, 401);
	ck_assert_int_eq(res.attempts, 1);
	ck_assert_ptr_nonnull(strstr(res.error, "bad signature"));
	ck_assert_ptr_nonnull(strstr(res.error, "JWT_SECRET"));
	ck_assert_ptr_null(strstr(res.error, "eyJ"));
	ck_assert_ptr_null(strstr(res.error, c.jwt_secret));
	char *log = fake_slurp_fd(fd);
	close(fd);
	ck_assert_ptr_null(strstr(log, "eyJ"));
	ck_assert_ptr_null(strstr(log, c.jwt_secret));
	free(log);

	c.jwt_secret = NULL;
	ck_assert_int_eq(api_deploy(&c, NULL, &res), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(res.error, "JWT_SECRET"));
}
END_TEST

START_TEST(api_rate_limit_and_server_errors)
{
	builder_conn_t c = conn_for(&bld, "builder");
	builder_result_t res;
	fake_mode(&bld, "{\"mode\":\"429\",\"retry_after\":1,"
			"\"path\":\"/api/projects\",\"method\":\"POST\"}");
	double t0 = fake_now_ms();
	ck_assert_int_eq(api_deploy(&c, NULL, &res), 0);
	ck_assert(fake_now_ms() - t0 >= 900);
	ck_assert_int_eq(res.attempts, 2);
	json_t *st = fake_state(&bld);
	ck_assert_uint_eq(json_object_size(json_object_get(st, "projects")), 1);
	json_decref(st);

	fake_mode(&bld, "{\"mode\":\"503\",\"count\":-1,\"retry_after\":null}");
	ck_assert_int_eq(api_deploy(&c, NULL, &res), ERR_UPSTREAM);
	ck_assert(res.retryable);
	ck_assert_int_eq(res.attempts, 3);
	ck_assert_int_eq(res.http_status, 503);
	ck_assert_ptr_nonnull(strstr(res.error, "server error (503)"));

	/* Rate limited past what we wait for: retryable, with the wait. */
	fake_mode(&bld, "{\"mode\":\"ok\"}");
	fake_mode(&bld, "{\"mode\":\"429\",\"count\":-1,\"retry_after\":120}");
	ck_assert_int_eq(api_deploy(&c, NULL, &res), ERR_RATE_LIMITED);
	ck_assert(res.retryable);
	ck_assert_ptr_nonnull(strstr(res.error, "retry after 120 s"));
}
END_TEST

START_TEST(api_hang_and_malformed)
{
	builder_conn_t c = conn_for(&bld, "builder");
	c.timeout_ms = 300;
	c.retry.max_attempts = 2;
	builder_result_t res;
	fake_mode(&bld, "{\"mode\":\"hang\",\"count\":-1,\"seconds\":5}");
	double t0 = fake_now_ms();
	ck_assert_int_eq(api_deploy(&c, NULL, &res), ERR_TIMEOUT);
	ck_assert(fake_now_ms() - t0 < 3000);
	ck_assert(res.retryable);
	ck_assert_ptr_nonnull(strstr(res.error, "did not answer in time"));

	fake_mode(&bld, "{\"mode\":\"ok\"}");
	fake_mode(&bld, "{\"mode\":\"malformed\",\"path\":\"/api/projects\"}");
	c.timeout_ms = 2000;
	ck_assert_int_eq(api_deploy(&c, NULL, &res), ERR_UPSTREAM);
	ck_assert_ptr_nonnull(strstr(res.error, "malformed JSON"));
	ck_assert_ptr_nonnull(strstr(res.error, "creating a project"));
}
END_TEST

START_TEST(api_refused_graph_is_final)
{
	builder_conn_t c = conn_for(&bld, "builder");
	builder_result_t res;
	json_t *g = load("{\"name\":\"Broken\",\"nodes\":[{\"id\":\"a\","
			 "\"type\":\"http\"}],\"edges\":[{\"fromNodeId\":\"a\","
			 "\"toNodeId\":\"nowhere\"}],\"triggers\":[]}");
	ck_assert_int_eq(builder_api_deploy(a, &c, 42, g, NULL, &res),
			 ERR_UNPROCESSABLE);
	json_decref(g);
	ck_assert(!res.retryable);
	ck_assert_int_eq(res.http_status, 422);
	ck_assert_ptr_nonnull(strstr(res.error, "uploading the workflow"));
	ck_assert_ptr_nonnull(strstr(res.error, "graph.edges[0]"));
	ck_assert_ptr_nonnull(res.external_id); /* the project exists */

	json_t *arr = json_array();
	ck_assert_int_eq(builder_api_deploy(a, &c, 42, arr, NULL, &res),
			 ERR_INVALID);
	json_decref(arr);
}
END_TEST

START_TEST(api_token_claims)
{
	builder_conn_t c = conn_for(&bld, "builder");
	const char *t1, *t2;
	ck_assert_int_eq(builder_api_token(a, &c, 7, 1700000000, &t1), 0);
	ck_assert_int_eq(builder_api_token(a, &c, 7, 1700000000, &t2), 0);
	ck_assert_str_ne(t1, t2); /* distinct jti */
	json_t *claims;
	ck_assert_int_eq(crypto_jwt_verify_hs256(JWT_SECRET, t1, 1700000299,
						 &claims),
			 0);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")),
			 "tenant:7");
	ck_assert_int_eq(json_integer_value(json_object_get(claims, "exp")),
			 1700000300);
	ck_assert_ptr_nonnull(json_object_get(claims, "jti"));
	json_decref(claims);
	ck_assert_int_eq(crypto_jwt_verify_hs256(JWT_SECRET, t1, 1700000300,
						 NULL),
			 ERR_UNAUTHORIZED);
	c.jwt_secret = "";
	ck_assert_int_eq(builder_api_token(a, &c, 7, 1700000000, &t1),
			 ERR_INVALID);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("builder");
	TCase *tc = tcase_create("against the n8n and builder fakes");
	tcase_add_unchecked_fixture(tc, start_fakes, stop_fakes);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, conn_init_normalises_the_url);
	tcase_add_test(tc, host_not_on_the_allowlist_is_refused);
	tcase_add_test(tc, n8n_creates_then_activates);
	tcase_add_test(tc, n8n_second_deploy_updates_in_place);
	tcase_add_test(tc, n8n_unknown_prior_id_creates_anew);
	tcase_add_test(tc, n8n_bad_key_is_final_and_never_shown);
	tcase_add_test(tc, n8n_rate_limit_waits_then_succeeds);
	tcase_add_test(tc, n8n_server_errors_exhaust_the_budget);
	tcase_add_test(tc, n8n_hang_is_a_timeout);
	tcase_add_test(tc, n8n_malformed_answer_is_an_error);
	tcase_add_test(tc, n8n_activation_refused_keeps_the_id);
	tcase_add_test(tc, n8n_credentials);
	tcase_add_test(tc, api_creates_project_uploads_and_runs);
	tcase_add_test(tc, api_reuses_the_prior_project);
	tcase_add_test(tc, api_idempotency_key_prevents_duplicates);
	tcase_add_test(tc, api_wrong_secret_is_final);
	tcase_add_test(tc, api_rate_limit_and_server_errors);
	tcase_add_test(tc, api_hang_and_malformed);
	tcase_add_test(tc, api_refused_graph_is_final);
	tcase_add_test(tc, api_token_claims);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!fake_python_available()) {
		fprintf(stderr, "python3 not found: fakes cannot run, skipped\n");
		return 77;
	}
	return ck_run_suite(make_suite());
}
