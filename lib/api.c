#include "api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "buf.h"
#include "cors.h"
#include "log.h"
#include "router.h"
#include "schema.h"
#include "workflow.h"
#include "workflow_jobs.h"
#include "workflow_store.h"

#define LIST_DEFAULT 100
#define VERSIONS_DEFAULT 50

struct api {
	const config_t *cfg;
	router_route_t *routes; /* table's, in its order */
	workflow_ctx_t *wctx; /* the schema and the outbound allowlist */
};

/* One request.  code/message, when set, say what a failing handler's
 * error answer carries instead of the defaults for its ERR_*. */
typedef struct {
	api_t *api;
	db_t *db;
	arena_t *arena;
	apikey_t key;
	http_read_fn read_fn;
	void *read_ctx;
	const char *code;
	const char *message;
} ctx_t;

/* ------------------------------------------------------------ output */

static void drop_json(void *j)
{
	json_decref(j);
}

static int dump_to_buf(const char *data, size_t n, void *b)
{
	return buf_append(b, data, n) == 0 ? 0 : -1;
}

static void set_header(http_response_t *resp, const char *name,
		       const char *value)
{
	if (http_set_header(resp, str_c(name), str_c(value)) != 0)
		log_error("api: header %s refused", name);
}

/* Replaces the body with doc (stolen) as compact JSON. */
static int send_json(http_response_t *resp, int status, json_t *doc)
{
	buf_clear(&resp->body);
	int rc = json_dump_callback(doc, dump_to_buf, &resp->body,
				    JSON_COMPACT) == 0
			 ? 0
			 : ERR_TOO_LARGE;
	json_decref(doc);
	if (rc) {
		/* Over the response cap: no partial JSON ever goes out. */
		buf_clear(&resp->body);
		return rc;
	}
	resp->status = status;
	set_header(resp, "Content-Type", "application/json");
	return 0;
}

/* A string, or null for NULL (and for text jansson refuses). */
static json_t *jstr(const char *s)
{
	json_t *v = s ? json_string(s) : NULL;
	return v ? v : json_null();
}

/* {"error":{"code","message","details"?}}; details is stolen. */
static int send_error(http_response_t *resp, int status, const char *code,
		      const char *message, json_t *details)
{
	json_t *e = json_object();
	json_object_set_new(e, "code", jstr(code));
	json_object_set_new(e, "message", jstr(message));
	if (details)
		json_object_set_new(e, "details", details);
	int rc = send_json(resp, status, json_pack("{s:o}", "error", e));
	if (rc) {
		/* Too many details for the cap: the code alone still helps. */
		buf_clear(&resp->body);
		buf_printf(&resp->body,
			   "{\"error\":{\"code\":\"%s\",\"message\":\"The "
			   "error list is too long to send.\"}}",
			   code);
		resp->status = status;
		set_header(resp, "Content-Type", "application/json");
	}
	return 0;
}

static int fail(ctx_t *c, int rc, const char *code, const char *message)
{
	c->code = code;
	c->message = message;
	return rc;
}

/* The answer for an error a handler returned. */
static void send_failure(ctx_t *c, http_request_t *req, http_response_t *resp,
			 int rc)
{
	const char *code = c->code, *msg = c->message;
	switch (rc) {
	case ERR_NOT_FOUND:
		if (!code) {
			code = "not_found";
			msg = req->route_name ? "No such workflow."
					      : "There is no API endpoint at "
						"this address.";
		}
		break;
	case ERR_METHOD:
		code = "method_not_allowed";
		msg = "This address does not accept that method.";
		if (req->allow.p)
			set_header(resp, "Allow", str_dup(c->arena, req->allow));
		break;
	case ERR_UNAUTHORIZED: {
		bool sent = http_found(http_header(req, STR("Authorization")));
		set_header(resp, "WWW-Authenticate",
			   sent ? "Bearer realm=\"canopy\", error=\"invalid_token\""
				: "Bearer realm=\"canopy\"");
		code = "unauthorized";
		msg = sent ? "The API key is not valid."
			   : "Send an API key: Authorization: Bearer <key>.";
		break;
	}
	case ERR_FORBIDDEN:
		if (!code) {
			code = "forbidden";
			msg = "This API key may not do that.";
		}
		break;
	case ERR_DB:
		code = "unavailable";
		msg = "The service is briefly unavailable; try again.";
		set_header(resp, "Retry-After", "1");
		break;
	default:
		if (!code) {
			code = err_code_name(rc);
			msg = NULL;
		}
		break;
	}
	int status = err_http_status(rc);
	if (status >= 500) {
		log_line_t *l = log_begin(LOG_WARN, "api request failed");
		log_str(l, "route", req->route_name);
		log_str(l, "code", code);
		log_int(l, "status", status);
		log_end(l);
	}
	(void)send_error(resp, status, code, msg ? msg : http_status_text(status),
			 NULL);
}

/* ------------------------------------------------------------ input */

/* application/json, parameters (charset) allowed. */
static bool is_json_type(str_t ct)
{
	str_t type;
	str_cut(ct, ';', &type);
	return str_case_eq(str_trim(type), STR("application/json"));
}

static int read_json(ctx_t *c, http_request_t *req, json_t **out)
{
	*out = NULL;
	if (!is_json_type(req->content_type))
		return fail(c, ERR_MEDIA_TYPE, "unsupported_media_type",
			    "Send the body as application/json.");
	int rc = http_request_read_body(req, c->read_fn, c->read_ctx,
					API_BODY_MAX);
	if (rc == ERR_TOO_LARGE)
		return fail(c, rc, "too_large",
			    "The body is larger than 256 KiB.");
	if (rc)
		return fail(c, ERR_INVALID, "bad_request",
			    "The body could not be read.");
	json_error_t je;
	json_t *j = json_loadb(req->body.p, req->body.len,
			       JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		bool text_ok = str_is_valid_utf8(str_c(je.text));
		return fail(c, ERR_INVALID, "invalid_json",
			    arena_printf(c->arena,
					 "The body is not valid JSON: %s "
					 "(line %d, column %d).",
					 text_ok ? je.text : "bad input",
					 je.line, je.column));
	}
	arena_on_reset(c->arena, drop_json, j);
	*out = j;
	return 0;
}

static void add_problem(json_t *details, const char *pointer,
			const char *message)
{
	json_array_append_new(details, json_pack("{s:s, s:s}", "pointer",
						 pointer, "message", message));
}

/* Code points in a valid UTF-8 string. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* A limit from the query string, or dflt when absent. */
static int query_limit(ctx_t *c, const http_request_t *req, int dflt,
		       int *out)
{
	str_t v = http_query(req, "limit");
	long n = dflt;
	if (http_found(v) && str_to_long(v, 1, API_LIST_MAX, &n) != 0)
		return fail(c, ERR_INVALID, "invalid_parameter",
			    arena_printf(c->arena,
					 "limit must be a number from 1 to %d.",
					 API_LIST_MAX));
	*out = (int)n;
	return 0;
}

/* ------------------------------------------------------------ views */

static json_t *workflow_json(const workflow_row_t *r, bool with_graph)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "name", jstr(r->name));
	json_object_set_new(o, "status",
			    jstr(workflow_store_status_name(r->status)));
	json_object_set_new(o, "status_reason", jstr(r->status_reason));
	json_object_set_new(o, "prompt", jstr(r->prompt));
	json_object_set_new(o, "version", json_integer(r->version));
	json_object_set_new(o, "graph_hash", jstr(r->graph_hash));
	json_object_set_new(o, "deployed_hash", jstr(r->deployed_hash));
	json_object_set_new(o, "builder_kind", jstr(r->builder_kind));
	json_object_set_new(o, "url", jstr(r->last_run_url));
	json_object_set_new(o, "editor_url", jstr(r->editor_url));
	json_object_set_new(o, "created_at", jstr(r->created_at));
	json_object_set_new(o, "updated_at", jstr(r->updated_at));
	if (with_graph) {
		json_t *g = r->json ? json_loads(r->json, 0, NULL) : NULL;
		json_object_set_new(o, "graph", g ? g : json_null());
	}
	return o;
}

static int path_id(ctx_t *c, const http_request_t *req, long long *id)
{
	int rc = router_param_id(req, "id", id);
	return rc == ERR_NOT_FOUND ? fail(c, rc, "not_found", "No such workflow.")
				   : rc;
}

/* ------------------------------------------------------------ handlers */

/* Checks the generate body; fills *prompt and *name or the details. */
static void generate_input(json_t *body, json_t *details,
			   const char **prompt, const char **name, bool *deploy)
{
	*prompt = *name = NULL;
	*deploy = true;
	if (!json_is_object(body)) {
		add_problem(details, "", "must be an object with \"prompt\"");
		return;
	}
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "prompt") != 0 && strcmp(key, "name") != 0 &&
		    strcmp(key, "deploy") != 0) {
			buf_t ptr;
			buf_init(&ptr, NULL, 4096);
			(void)!schema_pointer_push(&ptr, key, strlen(key));
			add_problem(details, buf_cstr(&ptr), "unknown field");
			buf_free(&ptr);
		}
	}
	v = json_object_get(body, "prompt");
	str_t p = str_trim(str_c(json_string_value(v)));
	if (!json_is_string(v) || p.len == 0)
		add_problem(details, "/prompt", "must be a non-empty string");
	else if (utf8_chars(json_string_value(v)) > API_PROMPT_MAX)
		add_problem(details, "/prompt",
			    "must be at most 4000 characters");
	else
		*prompt = json_string_value(v);
	v = json_object_get(body, "name");
	if (v && !json_is_null(v)) {
		str_t n = str_trim(str_c(json_string_value(v)));
		if (!json_is_string(v) || n.len == 0)
			add_problem(details, "/name",
				    "must be a non-empty string or null");
		else if (utf8_chars(json_string_value(v)) > API_NAME_MAX)
			add_problem(details, "/name",
				    "must be at most 200 characters");
		else
			*name = json_string_value(v);
	}
	v = json_object_get(body, "deploy");
	if (v && !json_is_null(v) && !json_is_boolean(v))
		add_problem(details, "/deploy", "must be true, false or null");
	else if (json_is_false(v))
		*deploy = false;
}

static int h_generate(http_request_t *req, http_response_t *resp, void *app)
{
	ctx_t *c = app;
	json_t *body;
	int rc = read_json(c, req, &body);
	if (rc)
		return rc;
	json_t *details = json_array();
	const char *prompt, *name;
	bool deploy;
	generate_input(body, details, &prompt, &name, &deploy);
	if (json_array_size(details))
		return send_error(resp, 422, "invalid_request",
				  "The request has problems; see details.",
				  details);
	json_decref(details);

	long long tid = c->key.tenant_id;
	int limit = c->api->cfg->generate_per_hour;
	workflow_jobs_generate_t gen = {
		.name = name, .prompt = prompt, .deploy = deploy};
	workflow_jobs_started_t st;
	workflow_row_t row;
	if ((rc = db_begin(c->db)))
		return rc;
	rc = workflow_jobs_start_generate(c->db, c->arena, c->api->cfg, tid,
					  &gen, &st);
	if (rc == ERR_RATE_LIMITED) {
		db_rollback(c->db);
		set_header(resp, "Retry-After",
			   arena_printf(c->arena, "%ld", st.retry_after));
		return send_error(resp, 429, "rate_limited",
				  arena_printf(c->arena,
					       "At most %d generations an hour; "
					       "try again in %ld seconds.",
					       limit, st.retry_after),
				  NULL);
	}
	/* The answer shows the workflow as committed: the deployer may move
	 * it on as soon as the job is visible. */
	if (rc ||
	    (rc = workflow_store_get(c->db, c->arena, tid, st.workflow_id,
				     &row)) ||
	    (rc = db_commit(c->db))) {
		db_rollback(c->db);
		return rc;
	}
	/* "generating", even if the deployer has moved it on already:
	 * pages order the messages by updated_at. */
	workflow_store_publish_change(&st.change);
	set_header(resp, "Location",
		   arena_printf(c->arena, "/api/v1/workflows/%lld",
				st.workflow_id));
	return send_json(resp, 202,
			 json_pack("{s:o, s:I}", "workflow",
				   workflow_json(&row, false), "job_id",
				   (json_int_t)st.job_id));
}

static int h_list(http_request_t *req, http_response_t *resp, void *app)
{
	ctx_t *c = app;
	int limit, n, rc;
	workflow_row_t *rows;
	if ((rc = query_limit(c, req, LIST_DEFAULT, &limit)) ||
	    (rc = workflow_store_list(c->db, c->arena, c->key.tenant_id, limit,
				      &rows, &n)))
		return rc;
	json_t *list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, workflow_json(&rows[i], false));
	return send_json(resp, 200, json_pack("{s:o}", "workflows", list));
}

static int h_get(http_request_t *req, http_response_t *resp, void *app)
{
	ctx_t *c = app;
	long long id;
	workflow_row_t row;
	int rc;
	if ((rc = path_id(c, req, &id)) ||
	    (rc = workflow_store_get(c->db, c->arena, c->key.tenant_id, id,
				     &row)))
		return rc;
	return send_json(resp, 200,
			 json_pack("{s:o}", "workflow", workflow_json(&row, true)));
}

static int h_put(http_request_t *req, http_response_t *resp, void *app)
{
	ctx_t *c = app;
	long long id;
	workflow_row_t row;
	json_t *graph;
	int rc;
	/* Another tenant's id is a 404 before anything about the body. */
	if ((rc = path_id(c, req, &id)) ||
	    (rc = workflow_store_get(c->db, c->arena, c->key.tenant_id, id,
				     &row)) ||
	    (rc = read_json(c, req, &graph)))
		return rc;
	json_t *errors = NULL;
	if (workflow_validate(c->api->wctx, graph, &errors) != 0) {
		size_t n = json_array_size(errors);
		return send_error(resp, 422, "invalid_graph",
				  arena_printf(c->arena,
					       "The graph has %zu problem%s; "
					       "see details.",
					       n, n == 1 ? "" : "s"),
				  errors ? errors : json_array());
	}
	json_decref(errors);
	int version = 0;
	if ((rc = workflow_store_save_graph(c->db, c->arena, c->key.tenant_id,
					    id, graph, "api", &version)) ||
	    (rc = workflow_store_get(c->db, c->arena, c->key.tenant_id, id,
				     &row)))
		return rc;
	return send_json(resp, 200,
			 json_pack("{s:o}", "workflow", workflow_json(&row, true)));
}

static int h_delete(http_request_t *req, http_response_t *resp, void *app)
{
	ctx_t *c = app;
	long long id;
	int rc;
	if ((rc = path_id(c, req, &id)) ||
	    (rc = workflow_store_delete(c->db, c->arena, c->key.tenant_id, id)))
		return rc;
	buf_clear(&resp->body);
	resp->status = 204;
	return 0;
}

static int h_versions(http_request_t *req, http_response_t *resp, void *app)
{
	ctx_t *c = app;
	long long id;
	int limit, n, rc;
	workflow_version_t *rows;
	if ((rc = path_id(c, req, &id)) ||
	    (rc = query_limit(c, req, VERSIONS_DEFAULT, &limit)) ||
	    (rc = workflow_store_versions(c->db, c->arena, c->key.tenant_id, id,
					  limit, &rows, &n)))
		return rc;
	/* Without the graphs: fifty of them could pass the response cap. */
	json_t *list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(
			list, json_pack("{s:i, s:o, s:o, s:o, s:o}", "version",
					rows[i].version, "graph_hash",
					jstr(rows[i].graph_hash), "source",
					jstr(rows[i].source), "request_id",
					jstr(rows[i].request_id), "created_at",
					jstr(rows[i].created_at)));
	return send_json(resp, 200,
			 json_pack("{s:I, s:o}", "workflow_id", (json_int_t)id,
				   "versions", list));
}

static int h_deploy(http_request_t *req, http_response_t *resp, void *app)
{
	ctx_t *c = app;
	long long id, tid = c->key.tenant_id;
	workflow_row_t row;
	int rc;
	if ((rc = path_id(c, req, &id)) ||
	    (rc = workflow_store_get(c->db, c->arena, tid, id, &row)))
		return rc;
	const char *why;
	if (workflow_jobs_deploy_check(&row, &why) != 0)
		return strcmp(why, "busy") == 0
			       ? fail(c, ERR_CONFLICT, "busy",
				      "A generation is running; deploy when it "
				      "has finished.")
			       : fail(c, ERR_CONFLICT, "no_graph",
				      "This workflow has no graph yet: generate "
				      "one or PUT it first.");
	workflow_jobs_started_t st;
	/* One transaction: the deployer cannot see the job before the
	 * status says deploying, so its own later status is never
	 * overwritten by ours. */
	if ((rc = db_begin(c->db)) ||
	    (rc = workflow_jobs_start_deploy(c->db, c->arena, c->api->cfg, &row,
					     &st)) ||
	    (rc = db_commit(c->db))) {
		db_rollback(c->db);
		return rc;
	}
	workflow_store_publish_change(&st.change);
	set_header(resp, "Location",
		   arena_printf(c->arena, "/api/v1/workflows/%lld/status", id));
	return send_json(resp, 202,
			 json_pack("{s:I, s:b, s:I, s:s, s:s}", "job_id",
				   (json_int_t)st.job_id, "duplicate", !st.created,
				   "workflow_id", (json_int_t)id, "graph_hash",
				   row.graph_hash, "status", "deploying"));
}

static int h_status(http_request_t *req, http_response_t *resp, void *app)
{
	ctx_t *c = app;
	long long id;
	workflow_row_t r;
	int rc;
	if ((rc = path_id(c, req, &id)) ||
	    (rc = workflow_store_get(c->db, c->arena, c->key.tenant_id, id, &r)))
		return rc;
	return send_json(
		resp, 200,
		json_pack("{s:I, s:o, s:o, s:o, s:o, s:i, s:o, s:o}",
			  "workflow_id", (json_int_t)id, "status",
			  jstr(workflow_store_status_name(r.status)), "reason",
			  jstr(r.status_reason), "url", jstr(r.last_run_url),
			  "editor_url", jstr(r.editor_url), "version", r.version,
			  "deployed_hash", jstr(r.deployed_hash), "updated_at",
			  jstr(r.updated_at)));
}

#define READ APIKEY_SCOPE_WORKFLOWS_READ
#define WRITE APIKEY_SCOPE_WORKFLOWS_WRITE
static const api_route_t table[] = {
	{{"POST", "/api/v1/workflows/generate", ROUTER_PLATFORM, h_generate,
	  "api.workflows.generate"}, WRITE},
	{{"GET", "/api/v1/workflows", ROUTER_PLATFORM, h_list,
	  "api.workflows.list"}, READ},
	{{"GET", "/api/v1/workflows/{id}", ROUTER_PLATFORM, h_get,
	  "api.workflows.get"}, READ},
	{{"PUT", "/api/v1/workflows/{id}", ROUTER_PLATFORM, h_put,
	  "api.workflows.put"}, WRITE},
	{{"DELETE", "/api/v1/workflows/{id}", ROUTER_PLATFORM, h_delete,
	  "api.workflows.delete"}, WRITE},
	{{"GET", "/api/v1/workflows/{id}/versions", ROUTER_PLATFORM, h_versions,
	  "api.workflows.versions"}, READ},
	{{"POST", "/api/v1/workflows/{id}/deploy", ROUTER_PLATFORM, h_deploy,
	  "api.workflows.deploy"}, WRITE},
	{{"GET", "/api/v1/workflows/{id}/status", ROUTER_PLATFORM, h_status,
	  "api.workflows.status"}, READ},
};
#undef READ
#undef WRITE
#define NROUTES (sizeof table / sizeof table[0])

const api_route_t *api_routes(size_t *n)
{
	*n = NROUTES;
	return table;
}

/* One known scope bit. */
static bool one_scope(unsigned scope)
{
	size_t n;
	const apikey_scope_t *all = apikey_scopes(&n);
	for (size_t i = 0; i < n; i++)
		if (all[i].bit == scope)
			return true;
	return false;
}


/* ------------------------------------------------------------ api */

/* 403 unless the key has scope (RFC 6750's insufficient_scope). */
static int need_scope(ctx_t *c, http_response_t *resp, unsigned scope)
{
	if (apikey_allows(&c->key, scope))
		return 0;
	const char *name = apikey_scopes_text(c->arena, scope, " ");
	set_header(resp, "WWW-Authenticate",
		   arena_printf(c->arena,
				"Bearer realm=\"canopy\", error=\"insufficient_scope\", "
				"scope=\"%s\"",
				name));
	return fail(c, ERR_FORBIDDEN, "insufficient_scope",
		    arena_printf(c->arena,
				 "This API key lacks the scope %s; an owner can "
				 "make a key with it in the admin.",
				 name));
}

api_t *api_new(const config_t *cfg, char *err, size_t errlen)
{
	router_route_t *routes = xmalloc(sizeof(router_route_t) * NROUTES);
	for (size_t i = 0; i < NROUTES; i++) {
		routes[i] = table[i].route;
		if (!one_scope(table[i].scope)) {
			snprintf(err, errlen, "api: route %s names no scope",
				 table[i].route.name);
			free(routes);
			return NULL;
		}
	}
	if (router_check(routes, NROUTES) != 0) {
		snprintf(err, errlen, "api: the route table is invalid");
		free(routes);
		return NULL;
	}
	api_t *api = xcalloc(1, sizeof *api);
	api->cfg = cfg;
	api->routes = routes;
	api->wctx = workflow_ctx_new(cfg->schema_dir, cfg->allowed_outbound_hosts,
				     false, err, errlen);
	if (!api->wctx) {
		api_free(api);
		return NULL;
	}
	return api;
}

void api_free(api_t *api)
{
	if (!api)
		return;
	workflow_ctx_free(api->wctx);
	free(api->routes);
	free(api);
}

bool api_owns(const http_request_t *req)
{
	return req->slug.len == 0 &&
	       (str_starts_with(req->path, STR(API_PREFIX)) ||
		str_eq_c(req->path, "/api"));
}

int api_serve(api_t *api, db_t *db, http_request_t *req,
	      http_response_t *resp, http_read_fn read_fn, void *read_ctx)
{
	ctx_t c = {.api = api,
		   .db = db,
		   .arena = resp->arena,
		   .read_fn = read_fn,
		   .read_ctx = read_ctx};
	resp->status = 0;
	int rc;
	/* A browser asks before a cross-origin call, without the key: the
	 * answer says only whether our origins may call at all. */
	if (cors_is_preflight(req)) {
		if (cors_preflight(api->cfg, req, resp, API_CORS_METHODS,
				   API_CORS_HEADERS) != 0)
			send_failure(&c, req, resp, ERR_INTERNAL);
		set_header(resp, "Cache-Control", "no-store");
		return resp->status ? 0 : ERR_INTERNAL;
	}
	/* A key first: without one nothing, not even which paths exist. */
	if (!db)
		rc = ERR_DB;
	else
		rc = apikey_authenticate(db, c.arena,
					 http_header(req, STR("Authorization")),
					 &c.key);
	const router_route_t *route = NULL;
	if (rc == 0)
		rc = router_match(api->routes, NROUTES, req, &route);
	if (rc == 0)
		rc = need_scope(&c, resp, table[route - api->routes].scope);
	if (rc == 0)
		rc = route->handler(req, resp, &c);
	if (db && db_in_transaction(db))
		db_rollback(db); /* a handler's error path left one open */
	if (rc) {
		send_failure(&c, req, resp, rc);
	} else if (!resp->status) {
		send_failure(&c, req, resp, ERR_INTERNAL);
	}
	set_header(resp, "Cache-Control", "no-store");
	if (cors_headers(api->cfg, req, resp, API_CORS_EXPOSE) != 0)
		log_error("api: CORS headers refused");
	return resp->status ? 0 : ERR_INTERNAL;
}
