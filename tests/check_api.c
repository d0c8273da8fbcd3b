/* lib/api end to end below the responder: requests are built from
 * FastCGI-style params and answered against a private copy of the
 * migrations (see check_private_db.h), so the stack's deployer never sees
 * these jobs.  The golden graphs of tests/workflows/ are PUT through the
 * API: every invalid one must come back 422 with its expected pointers. */
#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "apikey.h"
#include "check_private_db.h"
#include "log.h"

#define GOLDEN TOP_SRCDIR "/tests/workflows"
#define VALID_GRAPH GOLDEN "/valid/webhook-to-slack.json"
#define TEST_HOSTS "api.example.com, *.hooks.example.org"

static db_t *db;
static arena_t *a;
static config_t cfg;
static api_t *api;
static char schema[64];
static long long ta, tb;
static char slug_a[64], slug_b[64];
static const char *key_a, *key_b;

/* ------------------------------------------------------------ fixture */

static PGresult *sql(const char *q, const char *p1)
{
	PGresult *res;
	const char *p[] = {p1};
	int rc = db_query(db, a, q, p1 ? 1 : 0, p1 ? p : NULL, &res);
	ck_assert_msg(rc == 0, "%s: %s", q, db_error(db));
	return res;
}

static long long sql_ll(const char *q, const char *p1)
{
	return db_value_ll(sql(q, p1), 0, 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char *text = calloc(1, 1 << 20);
	size_t n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	ck_assert(n > 0);
	return text;
}

static long long make_tenant(char *slug, size_t n, const char *tag)
{
	snprintf(slug, n, "api-%d-%s", (int)getpid(), tag);
	return sql_ll("INSERT INTO tenants (slug, name) VALUES ($1, 'API test')"
		      " RETURNING id",
		      slug);
}

static void setup(void)
{
	log_init("check_api", LOG_ERROR);
	snprintf(schema, sizeof schema, "apitest_%d", (int)getpid());
	db = private_db_open(schema, (const char *const[]){
		"0001_core.sql", "0002_jobs.sql", "0003_workflows.sql",
		"0005_api_key_scopes.sql", NULL});
	a = arena_new(0);

	memset(&cfg, 0, sizeof cfg);
	cfg.schema_dir = TOP_SRCDIR "/schema";
	cfg.allowed_outbound_hosts = TEST_HOSTS;
	cfg.generate_per_hour = 30;
	char err[256] = "";
	api = api_new(&cfg, err, sizeof err);
	ck_assert_msg(api != NULL, "%s", err);

	ta = make_tenant(slug_a, sizeof slug_a, "a");
	tb = make_tenant(slug_b, sizeof slug_b, "b");
	ck_assert_int_eq(apikey_create(db, a, ta, "a", APIKEY_SCOPES_ALL, NULL, &key_a), 0);
	ck_assert_int_eq(apikey_create(db, a, tb, "b", APIKEY_SCOPES_ALL, NULL, &key_b), 0);
}

static void teardown(void)
{
	private_db_close(db, schema);
	api_free(api);
	arena_free(a);
}

/* ------------------------------------------------------------ requests */

typedef struct {
	const char *data;
	size_t len, pos;
} reader_t;

static long read_cb(void *ctx, char *buf, size_t n)
{
	reader_t *r = ctx;
	size_t k = r->len - r->pos < n ? r->len - r->pos : n;
	memcpy(buf, r->data + r->pos, k);
	r->pos += k;
	return (long)k;
}

typedef struct {
	int status;
	json_t *body; /* parsed; NULL when empty (owned by the arena) */
	http_response_t resp;
} answer_t;

static void drop_json(void *j)
{
	json_decref(j);
}

static char *heap(const char *s)
{
	char *p = xstrdup(s);
	arena_on_reset(a, free, p);
	return p;
}

/* method, uri, Authorization value (NULL: none), content type (NULL:
 * none), body (NULL: none). */
static answer_t call_auth(const char *method, const char *uri,
			  const char *authorization, const char *ctype,
			  const char *body)
{
	char **env = arena_calloc(a, 16, sizeof *env);
	int n = 0;
	env[n++] = heap(arena_printf(a, "REQUEST_METHOD=%s", method));
	env[n++] = heap(arena_printf(a, "REQUEST_URI=%s", uri));
	env[n++] = heap("HTTP_HOST=canopy.localhost");
	env[n++] = heap("REMOTE_ADDR=127.0.0.1");
	env[n++] = heap("REQUEST_ID=check-api");
	if (authorization)
		env[n++] = heap(arena_printf(a, "HTTP_AUTHORIZATION=%s", authorization));
	if (ctype)
		env[n++] = heap(arena_printf(a, "CONTENT_TYPE=%s", ctype));
	if (body)
		env[n++] = heap(arena_printf(a, "CONTENT_LENGTH=%zu", strlen(body)));
	http_request_t req;
	ck_assert_int_eq(http_request_init(&req, a, env), 0);
	log_set_request_id(req.request_id.p); /* as the responder does */
	ck_assert(api_owns(&req));
	reader_t r = {body ? body : "", body ? strlen(body) : 0, 0};
	answer_t ans;
	http_response_init(&ans.resp, a, 1 << 20);
	ck_assert_int_eq(api_serve(api, db, &req, &ans.resp, read_cb, &r), 0);
	ans.status = ans.resp.status;
	ans.body = NULL;
	if (ans.resp.body.len) {
		json_error_t je;
		ans.body = json_loads(buf_cstr(&ans.resp.body), 0, &je);
		ck_assert_msg(ans.body != NULL, "not JSON: %s", buf_cstr(&ans.resp.body));
		arena_on_reset(a, drop_json, ans.body);
	}
	ck_assert_msg(str_eq_c(http_response_header(&ans.resp, STR("Cache-Control")),
			       "no-store"),
		      "Cache-Control missing on %s %s", method, uri);
	if (ans.body)
		ck_assert(str_eq_c(http_response_header(&ans.resp, STR("Content-Type")),
				   "application/json"));
	ck_assert(!db_in_transaction(db));
	return ans;
}

static answer_t call(const char *method, const char *uri, const char *key,
		     const char *body)
{
	return call_auth(method, uri, key ? arena_printf(a, "Bearer %s", key) : NULL,
			 body ? "application/json" : NULL, body);
}

static const char *error_code(const answer_t *ans)
{
	return json_string_value(json_object_get(json_object_get(ans->body, "error"),
						 "code"));
}

static json_t *details(const answer_t *ans)
{
	return json_object_get(json_object_get(ans->body, "error"), "details");
}

static bool has_pointer(const json_t *list, const char *ptr)
{
	size_t i;
	const json_t *e;
	json_array_foreach(list, i, e)
	{
		const char *p = json_string_value(json_object_get(e, "pointer"));
		if (p && strcmp(p, ptr) == 0)
			return true;
	}
	return false;
}

static const char *header(const answer_t *ans, const char *name)
{
	str_t v = http_response_header(&ans->resp, str_c(name));
	return v.p ? str_dup(a, v) : NULL;
}

static const char *wf_uri(long long id, const char *rest)
{
	return arena_printf(a, "/api/v1/workflows/%lld%s", id, rest ? rest : "");
}

static long long generate(const char *key, const char *prompt)
{
	answer_t ans = call("POST", "/api/v1/workflows/generate", key,
			    arena_printf(a, "{\"prompt\":\"%s\"}", prompt));
	ck_assert_int_eq(ans.status, 202);
	return json_integer_value(json_object_get(json_object_get(ans.body, "workflow"),
						  "id"));
}

static void put_valid(const char *key, long long id, int want_version)
{
	char *graph = read_file(VALID_GRAPH);
	answer_t ans = call("PUT", wf_uri(id, NULL), key, graph);
	free(graph);
	ck_assert_msg(ans.status == 200, "%d %s", ans.status, buf_cstr(&ans.resp.body));
	json_t *w = json_object_get(ans.body, "workflow");
	ck_assert_int_eq(json_integer_value(json_object_get(w, "version")), want_version);
}

/* ------------------------------------------------------------ tests */

START_TEST(requests_need_a_valid_key)
{
	answer_t ans = call("GET", "/api/v1/workflows", NULL, NULL);
	ck_assert_int_eq(ans.status, 401);
	ck_assert_str_eq(error_code(&ans), "unauthorized");
	ck_assert_str_eq(header(&ans, "WWW-Authenticate"), "Bearer realm=\"canopy\"");
	ans = call_auth("GET", "/api/v1/workflows", "Bearer cnp_nope", NULL, NULL);
	ck_assert_int_eq(ans.status, 401);
	ck_assert_ptr_nonnull(strstr(header(&ans, "WWW-Authenticate"), "invalid_token"));
	ans = call_auth("GET", "/api/v1/nothing-here", NULL, NULL, NULL);
	ck_assert_int_eq(ans.status, 401);
	ans = call("GET", "/api/v1/workflows", key_a, NULL);
	ck_assert_int_eq(ans.status, 200);
	/* a revoked key stops working at once */
	long long kid = sql_ll("SELECT id FROM api_keys WHERE tenant_id = $1",
			       arena_printf(a, "%lld", ta));
	ck_assert_int_eq(apikey_revoke(db, a, ta, kid, NULL), 0);
	ans = call("GET", "/api/v1/workflows", key_a, NULL);
	ck_assert_int_eq(ans.status, 401);
}
END_TEST

START_TEST(unknown_paths_and_methods)
{
	answer_t ans = call("GET", "/api/v1/nothing-here", key_a, NULL);
	ck_assert_int_eq(ans.status, 404);
	ck_assert_str_eq(error_code(&ans), "not_found");
	ans = call("PATCH", "/api/v1/workflows/1", key_a, NULL);
	ck_assert_int_eq(ans.status, 405);
	ck_assert_str_eq(error_code(&ans), "method_not_allowed");
	ck_assert_ptr_nonnull(strstr(header(&ans, "Allow"), "GET"));
	ck_assert_ptr_nonnull(strstr(header(&ans, "Allow"), "PUT"));
	ans = call("GET", "/api/v1/workflows/abc", key_a, NULL);
	ck_assert_int_eq(ans.status, 404);
	ans = call("GET", "/api/v1/workflows/0", key_a, NULL);
	ck_assert_int_eq(ans.status, 404);
}
END_TEST

START_TEST(generate_creates_a_workflow_and_a_job)
{
	answer_t ans = call("POST", "/api/v1/workflows/generate", key_a,
			    "{\"prompt\":\"When a form is submitted, post it to "
			    "Slack\",\"name\":\"Form to Slack\"}");
	ck_assert_int_eq(ans.status, 202);
	json_t *w = json_object_get(ans.body, "workflow");
	long long id = json_integer_value(json_object_get(w, "id"));
	long long job = json_integer_value(json_object_get(ans.body, "job_id"));
	ck_assert_int_gt(id, 0);
	ck_assert_int_gt(job, 0);
	ck_assert_str_eq(json_string_value(json_object_get(w, "status")), "generating");
	ck_assert_str_eq(json_string_value(json_object_get(w, "name")), "Form to Slack");
	ck_assert_str_eq(header(&ans, "Location"), wf_uri(id, NULL));
	PGresult *r = sql("SELECT kind, tenant_id, payload->>'workflow_id', state,"
			  " request_id FROM jobs WHERE id = $1",
			  arena_printf(a, "%lld", job));
	ck_assert_int_eq(db_rows(r), 1);
	ck_assert_str_eq(db_value(r, 0, 0), "workflow.generate");
	ck_assert_int_eq(db_value_ll(r, 0, 1), ta);
	ck_assert_int_eq(db_value_ll(r, 0, 2), id);
	ck_assert_str_eq(db_value(r, 0, 3), "available");
	ck_assert_str_eq(db_value(r, 0, 4), "check-api");
	r = sql("SELECT status, prompt FROM workflows WHERE id = $1",
		arena_printf(a, "%lld", id));
	ck_assert_str_eq(db_value(r, 0, 0), "generating");
	ck_assert_ptr_nonnull(strstr(db_value(r, 0, 1), "post it to Slack"));

	/* GET shows it, without a graph yet */
	ans = call("GET", wf_uri(id, NULL), key_a, NULL);
	ck_assert_int_eq(ans.status, 200);
	w = json_object_get(ans.body, "workflow");
	ck_assert(json_is_null(json_object_get(w, "graph")));
	ck_assert_int_eq(json_integer_value(json_object_get(w, "version")), 0);
}
END_TEST

START_TEST(generate_checks_its_input)
{
	answer_t ans = call("POST", "/api/v1/workflows/generate", key_a, "{}");
	ck_assert_int_eq(ans.status, 422);
	ck_assert_str_eq(error_code(&ans), "invalid_request");
	ck_assert(has_pointer(details(&ans), "/prompt"));
	ans = call("POST", "/api/v1/workflows/generate", key_a,
		   "{\"prompt\":\"  \",\"name\":5,\"extra/x\":1}");
	ck_assert_int_eq(ans.status, 422);
	ck_assert(has_pointer(details(&ans), "/prompt"));
	ck_assert(has_pointer(details(&ans), "/name"));
	ck_assert(has_pointer(details(&ans), "/extra~1x"));
	char *longp = calloc(1, 4100);
	memset(longp, 'p', 4001);
	ans = call("POST", "/api/v1/workflows/generate", key_a,
		   arena_printf(a, "{\"prompt\":\"%s\"}", longp));
	free(longp);
	ck_assert_int_eq(ans.status, 422);
	ans = call("POST", "/api/v1/workflows/generate", key_a, "[\"prompt\"]");
	ck_assert_int_eq(ans.status, 422);
	ans = call("POST", "/api/v1/workflows/generate", key_a, "{\"prompt\":");
	ck_assert_int_eq(ans.status, 400);
	ck_assert_str_eq(error_code(&ans), "invalid_json");
	ans = call("POST", "/api/v1/workflows/generate", key_a,
		   "{\"prompt\":\"a\",\"prompt\":\"b\"}");
	ck_assert_int_eq(ans.status, 400);
	ans = call_auth("POST", "/api/v1/workflows/generate",
			arena_printf(a, "Bearer %s", key_a), "text/plain",
			"{\"prompt\":\"x\"}");
	ck_assert_int_eq(ans.status, 415);
	ck_assert_str_eq(error_code(&ans), "unsupported_media_type");
	ans = call_auth("POST", "/api/v1/workflows/generate",
			arena_printf(a, "Bearer %s", key_a),
			"application/json; charset=utf-8", "{\"prompt\":\"x\"}");
	ck_assert_int_eq(ans.status, 202);
	char *big = calloc(1, API_BODY_MAX + 100);
	memset(big, ' ', API_BODY_MAX + 10);
	big[0] = '{';
	big[API_BODY_MAX + 9] = '}';
	ans = call("POST", "/api/v1/workflows/generate", key_a, big);
	free(big);
	ck_assert_int_eq(ans.status, 413);
	ck_assert_str_eq(error_code(&ans), "too_large");
	/* only the one good request made a workflow */
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM workflows WHERE tenant_id = $1",
				arena_printf(a, "%lld", ta)),
			 1);
}
END_TEST

START_TEST(generate_is_limited_per_tenant)
{
	cfg.generate_per_hour = 2;
	generate(key_a, "one");
	generate(key_a, "two");
	answer_t ans = call("POST", "/api/v1/workflows/generate", key_a,
			    "{\"prompt\":\"three\"}");
	ck_assert_int_eq(ans.status, 429);
	ck_assert_str_eq(error_code(&ans), "rate_limited");
	long ra = strtol(header(&ans, "Retry-After"), NULL, 10);
	ck_assert_int_ge(ra, 3500);
	ck_assert_int_le(ra, 3600);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM workflows WHERE tenant_id = $1",
				arena_printf(a, "%lld", ta)),
			 2);
	/* another tenant has its own budget */
	generate(key_b, "b's first");
	/* jobs older than the hour no longer count */
	sql("UPDATE jobs SET created_at = now() - interval '61 minutes'"
	    " WHERE tenant_id = $1",
	    arena_printf(a, "%lld", ta));
	generate(key_a, "three, later");
	cfg.generate_per_hour = 0;
	ans = call("POST", "/api/v1/workflows/generate", key_b, "{\"prompt\":\"x\"}");
	ck_assert_int_eq(ans.status, 429);
}
END_TEST

START_TEST(put_validates_and_keeps_versions)
{
	long long id = generate(key_a, "a flow");
	put_valid(key_a, id, 1);
	put_valid(key_a, id, 2);
	answer_t ans = call("GET", wf_uri(id, NULL), key_a, NULL);
	json_t *w = json_object_get(ans.body, "workflow");
	json_t *graph = json_load_file(VALID_GRAPH, 0, NULL);
	ck_assert(json_equal(json_object_get(w, "graph"), graph));
	ck_assert_str_eq(json_string_value(json_object_get(w, "name")),
			 json_string_value(json_object_get(graph, "name")));
	ck_assert_int_eq(strlen(json_string_value(json_object_get(w, "graph_hash"))), 64);
	json_decref(graph);

	ans = call("GET", wf_uri(id, "/versions"), key_a, NULL);
	ck_assert_int_eq(ans.status, 200);
	json_t *vs = json_object_get(ans.body, "versions");
	ck_assert_int_eq(json_array_size(vs), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(vs, 0), "version")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(vs, 1), "source")), "api");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(vs, 1), "request_id")),
			 "check-api");
	ans = call("GET", wf_uri(id, "/versions?limit=1"), key_a, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(ans.body, "versions")), 1);
	ans = call("GET", wf_uri(id, "/versions?limit=0"), key_a, NULL);
	ck_assert_int_eq(ans.status, 400);

	/* a graph that is not JSON, or not ours */
	ans = call("PUT", wf_uri(id, NULL), key_a, "nope");
	ck_assert_int_eq(ans.status, 400);
	ans = call("PUT", wf_uri(id, NULL), key_a, "[]");
	ck_assert_int_eq(ans.status, 422);
	ck_assert_str_eq(error_code(&ans), "invalid_graph");
}
END_TEST

static long long golden_id;
static int golden_count;

static void put_invalid_file(const char *path)
{
	json_t *doc = json_load_file(path, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	char *graph = json_dumps(json_object_get(doc, "graph"), JSON_COMPACT);
	answer_t ans = call("PUT", wf_uri(golden_id, NULL), key_a, graph);
	free(graph);
	ck_assert_msg(ans.status == 422, "%s: %d", path, ans.status);
	ck_assert_str_eq(error_code(&ans), "invalid_graph");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(doc, "expect"), i, p)
	{
		ck_assert_msg(has_pointer(details(&ans), json_string_value(p)),
			      "%s: no problem at %s in %s", path,
			      json_string_value(p), buf_cstr(&ans.resp.body));
	}
	json_t *e;
	json_array_foreach(details(&ans), i, e)
	{
		ck_assert(json_is_string(json_object_get(e, "message")));
	}
	json_decref(doc);
	golden_count++;
}

static void put_valid_file(const char *path)
{
	char *graph = read_file(path);
	answer_t ans = call("PUT", wf_uri(golden_id, NULL), key_a, graph);
	free(graph);
	ck_assert_msg(ans.status == 200, "%s: %d %s", path, ans.status,
		      buf_cstr(&ans.resp.body));
	golden_count++;
}

static void each_json(const char *dir, void (*fn)(const char *path))
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		if (len > 5 && strcmp(names[i]->d_name + len - 5, ".json") == 0)
			fn(arena_printf(a, "%s/%s", dir, names[i]->d_name));
		free(names[i]);
	}
	free(names);
}

START_TEST(golden_graphs_through_the_api)
{
	golden_id = generate(key_a, "golden");
	golden_count = 0;
	each_json(GOLDEN "/invalid", put_invalid_file);
	ck_assert_int_ge(golden_count, 30);
	/* none of them became a version */
	ck_assert_int_eq(sql_ll("SELECT version FROM workflows WHERE id = $1",
				arena_printf(a, "%lld", golden_id)),
			 0);
	golden_count = 0;
	each_json(GOLDEN "/valid", put_valid_file);
	ck_assert_int_ge(golden_count, 4);
}
END_TEST

START_TEST(hostile_nesting)
{
	long long id = generate(key_a, "nest");
	/* deep but parseable: the schema stops at its depth limit */
	size_t depth = 1000;
	char *deep = calloc(1, 2 * depth + 64);
	memcpy(deep, "{\"name\":", 8);
	memset(deep + 8, '[', depth);
	memset(deep + 8 + depth, ']', depth);
	deep[8 + 2 * depth] = '}';
	answer_t ans = call("PUT", wf_uri(id, NULL), key_a, deep);
	ck_assert_int_eq(ans.status, 422);
	ck_assert(json_array_size(details(&ans)) > 0);
	free(deep);
	/* deeper than the parser allows: not JSON to us */
	depth = 5000;
	deep = calloc(1, 2 * depth + 64);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	ans = call("PUT", wf_uri(id, NULL), key_a, deep);
	ck_assert_int_eq(ans.status, 400);
	free(deep);
}
END_TEST

START_TEST(another_tenants_workflow_is_not_found)
{
	long long id = generate(key_a, "mine");
	put_valid(key_a, id, 1);
	long long missing = id + 1000000;
	char *graph = read_file(VALID_GRAPH);
	struct {
		const char *method, *rest, *body;
	} routes[] = {
		{"GET", NULL, NULL},         {"PUT", NULL, graph},
		{"DELETE", NULL, NULL},      {"GET", "/versions", NULL},
		{"POST", "/deploy", NULL},   {"GET", "/status", NULL},
	};
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		answer_t theirs = call(routes[i].method, wf_uri(id, routes[i].rest),
				       key_b, routes[i].body);
		answer_t none = call(routes[i].method, wf_uri(missing, routes[i].rest),
				     key_b, routes[i].body);
		ck_assert_msg(theirs.status == 404, "%s %s: %d", routes[i].method,
			      routes[i].rest ? routes[i].rest : "", theirs.status);
		ck_assert_str_eq(buf_cstr(&theirs.resp.body), buf_cstr(&none.resp.body));
	}
	free(graph);
	answer_t ans = call("GET", "/api/v1/workflows", key_b, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(ans.body, "workflows")), 0);
	/* and A's workflow is as it was */
	ans = call("GET", wf_uri(id, "/status"), key_a, NULL);
	ck_assert_int_eq(ans.status, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(ans.body, "version")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(ans.body, "status")), "generating");
}
END_TEST

START_TEST(deploy_is_idempotent_per_graph)
{
	long long id = generate(key_a, "deploy me");
	answer_t ans = call("POST", wf_uri(id, "/deploy"), key_a, NULL);
	ck_assert_int_eq(ans.status, 409);
	ck_assert_str_eq(error_code(&ans), "no_graph");
	put_valid(key_a, id, 1);
	/* still generating: a graph is on its way */
	ans = call("POST", wf_uri(id, "/deploy"), key_a, NULL);
	ck_assert_int_eq(ans.status, 409);
	ck_assert_str_eq(error_code(&ans), "busy");
	sql("UPDATE workflows SET status = 'idle' WHERE id = $1",
	    arena_printf(a, "%lld", id));

	ans = call("POST", wf_uri(id, "/deploy"), key_a, NULL);
	ck_assert_int_eq(ans.status, 202);
	long long job = json_integer_value(json_object_get(ans.body, "job_id"));
	ck_assert(json_is_false(json_object_get(ans.body, "duplicate")));
	const char *hash = json_string_value(json_object_get(ans.body, "graph_hash"));
	ck_assert_int_eq(strlen(hash), 64);
	ans = call("POST", wf_uri(id, "/deploy"), key_a, NULL);
	ck_assert_int_eq(ans.status, 202);
	ck_assert_int_eq(json_integer_value(json_object_get(ans.body, "job_id")), job);
	ck_assert(json_is_true(json_object_get(ans.body, "duplicate")));
	PGresult *r = sql("SELECT kind, payload->>'graph_hash', payload->>'workflow_id',"
			  " idempotency_key, tenant_id FROM jobs WHERE id = $1",
			  arena_printf(a, "%lld", job));
	ck_assert_str_eq(db_value(r, 0, 0), "workflow.deploy");
	ck_assert_str_eq(db_value(r, 0, 1), hash);
	ck_assert_int_eq(db_value_ll(r, 0, 2), id);
	ck_assert_str_eq(db_value(r, 0, 3),
			 arena_printf(a, "deploy:%lld:%lld:%s", ta, id, hash));
	ck_assert_int_eq(db_value_ll(r, 0, 4), ta);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM jobs WHERE kind = 'workflow.deploy'", NULL), 1);

	ans = call("GET", wf_uri(id, "/status"), key_a, NULL);
	ck_assert_int_eq(ans.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(ans.body, "status")), "deploying");
	ck_assert(json_is_null(json_object_get(ans.body, "reason")));
	ck_assert(json_is_null(json_object_get(ans.body, "url")));
	ck_assert(json_is_null(json_object_get(ans.body, "editor_url")));
	ck_assert_int_eq(json_integer_value(json_object_get(ans.body, "version")), 1);
	ck_assert(json_is_string(json_object_get(ans.body, "updated_at")));

	/* once that job has finished, the same graph may be deployed again */
	sql("UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE id = $1",
	    arena_printf(a, "%lld", job));
	ans = call("POST", wf_uri(id, "/deploy"), key_a, NULL);
	ck_assert_int_eq(ans.status, 202);
	ck_assert_int_ne(json_integer_value(json_object_get(ans.body, "job_id")), job);
	ck_assert(json_is_false(json_object_get(ans.body, "duplicate")));
}
END_TEST

START_TEST(list_and_delete)
{
	long long id1 = generate(key_a, "one");
	long long id2 = generate(key_a, "two");
	generate(key_b, "b's");
	answer_t ans = call("GET", "/api/v1/workflows", key_a, NULL);
	ck_assert_int_eq(ans.status, 200);
	json_t *list = json_object_get(ans.body, "workflows");
	ck_assert_int_eq(json_array_size(list), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "id")), id1);
	ck_assert_ptr_null(json_object_get(json_array_get(list, 0), "graph"));
	ans = call("GET", "/api/v1/workflows?limit=1", key_a, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(ans.body, "workflows")), 1);
	ans = call("GET", "/api/v1/workflows?limit=x", key_a, NULL);
	ck_assert_int_eq(ans.status, 400);
	ck_assert_str_eq(error_code(&ans), "invalid_parameter");

	ans = call("DELETE", wf_uri(id2, NULL), key_a, NULL);
	ck_assert_int_eq(ans.status, 204);
	ck_assert_uint_eq(ans.resp.body.len, 0);
	ans = call("GET", wf_uri(id2, NULL), key_a, NULL);
	ck_assert_int_eq(ans.status, 404);
	ans = call("DELETE", wf_uri(id2, NULL), key_a, NULL);
	ck_assert_int_eq(ans.status, 404);
	ans = call("GET", "/api/v1/workflows", key_a, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(ans.body, "workflows")), 1);
}
END_TEST

/* Every route names a scope: GETs read, everything else writes. */
START_TEST(every_route_requires_one_scope)
{
	size_t n;
	const api_route_t *r = api_routes(&n);
	ck_assert_uint_ge(n, 8);
	for (size_t i = 0; i < n; i++) {
		bool get = strcmp(r[i].route.method, "GET") == 0;
		ck_assert_msg(r[i].scope == (get ? APIKEY_SCOPE_WORKFLOWS_READ
						 : APIKEY_SCOPE_WORKFLOWS_WRITE),
			      "%s %s: scope %u", r[i].route.method, r[i].route.pattern,
			      r[i].scope);
		ck_assert(strncmp(r[i].route.pattern, "/api/v1/", 8) == 0);
	}
}
END_TEST

/* A key answers only what its scopes allow: 403 insufficient_scope in
 * the API's error shape otherwise, and nothing changes. */
START_TEST(keys_are_held_to_their_scopes)
{
	const char *reader, *writer;
	ck_assert_int_eq(apikey_create(db, a, ta, "reader", APIKEY_SCOPE_WORKFLOWS_READ,
				       NULL, &reader), 0);
	ck_assert_int_eq(apikey_create(db, a, ta, "writer", APIKEY_SCOPE_WORKFLOWS_WRITE,
				       NULL, &writer), 0);
	long long id = generate(key_a, "scoped");
	put_valid(key_a, id, 1);
	char *graph = read_file(VALID_GRAPH);
	struct {
		const char *method, *uri, *body;
		bool write;
	} routes[] = {
		{"POST", "/api/v1/workflows/generate", "{\"prompt\":\"no\"}", true},
		{"GET", "/api/v1/workflows", NULL, false},
		{"GET", wf_uri(id, NULL), NULL, false},
		{"PUT", wf_uri(id, NULL), graph, true},
		{"DELETE", wf_uri(id, NULL), NULL, true},
		{"GET", wf_uri(id, "/versions"), NULL, false},
		{"POST", wf_uri(id, "/deploy"), NULL, true},
		{"GET", wf_uri(id, "/status"), NULL, false},
	};
	size_t nr;
	(void)api_routes(&nr);
	ck_assert_uint_eq(nr, sizeof routes / sizeof routes[0]); /* all tried */
	long long jobs_before = sql_ll("SELECT count(*) FROM jobs", NULL);
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const char *key = routes[i].write ? reader : writer;
		const char *need = routes[i].write ? "workflows:write" : "workflows:read";
		answer_t ans = call(routes[i].method, routes[i].uri, key, routes[i].body);
		ck_assert_msg(ans.status == 403, "%s %s: %d", routes[i].method,
			      routes[i].uri, ans.status);
		ck_assert_str_eq(error_code(&ans), "insufficient_scope");
		const char *msg = json_string_value(
			json_object_get(json_object_get(ans.body, "error"), "message"));
		ck_assert_ptr_nonnull(msg);
		ck_assert_ptr_nonnull(strstr(msg, need));
		const char *www = header(&ans, "WWW-Authenticate");
		ck_assert_ptr_nonnull(www);
		ck_assert_ptr_nonnull(strstr(www, "insufficient_scope"));
		ck_assert_ptr_nonnull(strstr(www, need));
	}
	free(graph);
	/* nothing moved: no job, the workflow is there at version 1 */
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM jobs", NULL), jobs_before);
	ck_assert_int_eq(sql_ll("SELECT version FROM workflows WHERE id = $1",
				arena_printf(a, "%lld", id)), 1);
	/* and each key does what it may */
	answer_t ans = call("GET", wf_uri(id, "/status"), reader, NULL);
	ck_assert_int_eq(ans.status, 200);
	ans = call("POST", "/api/v1/workflows/generate", writer, "{}");
	ck_assert_int_eq(ans.status, 422);
	ans = call("DELETE", wf_uri(id, NULL), writer, NULL);
	ck_assert_int_eq(ans.status, 204);
	/* the scope is checked after the route: an unknown path stays 404 */
	ans = call("GET", "/api/v1/nothing-here", reader, NULL);
	ck_assert_int_eq(ans.status, 404);
}
END_TEST

START_TEST(no_database_is_503)
{
	http_request_t req;
	char *env[] = {heap("REQUEST_METHOD=GET"), heap("REQUEST_URI=/api/v1/workflows"),
		       heap("HTTP_HOST=canopy.localhost"), NULL};
	ck_assert_int_eq(http_request_init(&req, a, env), 0);
	http_response_t resp;
	http_response_init(&resp, a, 1 << 16);
	ck_assert_int_eq(api_serve(api, NULL, &req, &resp, read_cb, NULL), 0);
	ck_assert_int_eq(resp.status, 503);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&resp.body), "\"unavailable\""));
	/* tenant hosts and other paths are not the API's */
	char *site[] = {heap("REQUEST_METHOD=GET"), heap("REQUEST_URI=/api/v1/workflows"),
			heap("HTTP_HOST=demo.canopy.localhost"), heap("CANOPY_SLUG=demo"),
			NULL};
	ck_assert_int_eq(http_request_init(&req, a, site), 0);
	ck_assert(!api_owns(&req));
	char *home[] = {heap("REQUEST_METHOD=GET"), heap("REQUEST_URI=/apiary"),
			heap("HTTP_HOST=canopy.localhost"), NULL};
	ck_assert_int_eq(http_request_init(&req, a, home), 0);
	ck_assert(!api_owns(&req));
}
END_TEST

START_TEST(bad_configuration_is_refused_at_start)
{
	config_t bad = cfg;
	char err[256] = "";
	bad.schema_dir = "/nonexistent";
	ck_assert_ptr_null(api_new(&bad, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "CANOPY_SCHEMA_DIR"));
	bad = cfg;
	bad.allowed_outbound_hosts = "bad host!";
	ck_assert_ptr_null(api_new(&bad, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "ALLOWED_OUTBOUND_HOSTS"));
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("db");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, requests_need_a_valid_key);
	tcase_add_test(tc, unknown_paths_and_methods);
	tcase_add_test(tc, generate_creates_a_workflow_and_a_job);
	tcase_add_test(tc, generate_checks_its_input);
	tcase_add_test(tc, generate_is_limited_per_tenant);
	tcase_add_test(tc, put_validates_and_keeps_versions);
	tcase_add_test(tc, golden_graphs_through_the_api);
	tcase_add_test(tc, hostile_nesting);
	tcase_add_test(tc, another_tenants_workflow_is_not_found);
	tcase_add_test(tc, deploy_is_idempotent_per_graph);
	tcase_add_test(tc, list_and_delete);
	tcase_add_test(tc, every_route_requires_one_scope);
	tcase_add_test(tc, keys_are_held_to_their_scopes);
	tcase_add_test(tc, no_database_is_503);
	tcase_add_test(tc, bad_configuration_is_refused_at_start);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_DB_SUITE(make_suite)
