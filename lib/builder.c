#include "builder.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "log.h"

#define DETAIL_MAX 300  /* bytes of an upstream message kept in a reason */
#define ID_MAX 128      /* longest external id we put in a path */
#define IKEY_MAX 200    /* longest caller idempotency key */

/* One deploy or credential call in progress. */
typedef struct {
	arena_t *a;
	const builder_conn_t *conn;
	builder_result_t *res;
	const char *svc;     /* "n8n" or "the builder", for reasons */
	long long tenant_id; /* builder API: the JWT's subject */
} call_ctx_t;

/* --------------------------------------------------------------- setup */

int builder_conn_set_url(builder_conn_t *conn, const char *url)
{
	conn->base[0] = '\0';
	if (!url || (strncmp(url, "http://", 7) != 0 &&
		     strncmp(url, "https://", 8) != 0))
		return ERR_INVALID;
	size_t n = strlen(url);
	if (n >= sizeof conn->base)
		return ERR_INVALID;
	/* Accept the root, or the root with the API prefix people copy from
	 * the service's docs. */
	while (n > 0 && url[n - 1] == '/')
		n--;
	static const char *suffixes[] = {"/api/v1", "/api"};
	for (size_t i = 0; i < 2; i++) {
		size_t sl = strlen(suffixes[i]);
		if (n > sl && memcmp(url + n - sl, suffixes[i], sl) == 0) {
			n -= sl;
			break;
		}
	}
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n <= 8) /* nothing after the scheme */
		return ERR_INVALID;
	memcpy(conn->base, url, n);
	conn->base[n] = '\0';
	return 0;
}

int builder_conn_init(builder_conn_t *conn, const config_t *cfg)
{
	memset(conn, 0, sizeof *conn);
	bool api = cfg->builder_kind &&
		   strcmp(cfg->builder_kind, "builder") == 0;
	conn->kind = api ? BUILDER_KIND_API : BUILDER_KIND_N8N;
	conn->api_key = cfg->builder_api_key;
	conn->jwt_secret = cfg->jwt_secret;
	conn->timeout_ms = BUILDER_DEFAULT_TIMEOUT_MS;
	conn->connect_timeout_ms = 5000;
	conn->deadline_ms = BUILDER_DEFAULT_DEADLINE_MS;
	return builder_conn_set_url(conn, cfg->builder_api_url);
}

/* ------------------------------------------------------------- reasons */

static const char *reasonf(arena_t *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *reasonf(arena_t *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *s = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return s;
}

static void reset_result(builder_result_t *res)
{
	memset(res, 0, sizeof *res);
}

static int fail(call_ctx_t *c, int rc, bool retryable, const char *reason)
{
	c->res->error = reason;
	c->res->retryable = retryable;
	return rc;
}

static bool contains_secret(const char *s, const char *secret)
{
	return secret && strlen(secret) >= 4 && strstr(s, secret);
}

/* The service's own words about a failure: n8n says {"message"}, the
 * builder {"error":{"message"}}.  Cut to a readable length; dropped if it
 * echoes one of our secrets. */
static const char *upstream_message(call_ctx_t *c,
				    const http_client_response_t *hr)
{
	json_t *j;
	if (http_client_json(c->a, hr, &j) < 0)
		return NULL;
	const char *m = json_string_value(json_object_get(j, "message"));
	if (!m)
		m = json_string_value(json_object_get(
			json_object_get(j, "error"), "message"));
	if (!m || !*m)
		return NULL;
	if (contains_secret(m, c->conn->api_key) ||
	    contains_secret(m, c->conn->jwt_secret) || strstr(m, "eyJ"))
		return "(message withheld: it quoted a credential)";
	return arena_strndup(c->a, m, strnlen(m, DETAIL_MAX));
}

/* Whether a failed call may succeed if made again later. */
static bool failure_retryable(int rc, const http_client_response_t *hr)
{
	/* Our configuration, our request or a size cap: the same again
	 * fails the same way. */
	if (rc == ERR_FORBIDDEN || rc == ERR_INVALID || rc == ERR_INTERNAL ||
	    rc == ERR_TOO_LARGE)
		return false;
	if (hr->curl_code != 0)
		return true; /* unreachable, timed out, cut short */
	long st = hr->status;
	return st == 408 || st == 429 || st >= 500 || st == 0;
}

static const char *plural(int n)
{
	return n == 1 ? "" : "s";
}

/* A reason a person can act on, naming the step; never a header value. */
static const char *http_reason(call_ctx_t *c, int rc, const char *step,
			       const http_client_response_t *hr)
{
	arena_t *a = c->a;
	const char *svc = c->svc;
	bool n8n = c->conn->kind == BUILDER_KIND_N8N;
	long st = hr->status;
	const char *msg = st >= 400 ? upstream_message(c, hr) : NULL;
	if (rc == ERR_FORBIDDEN && st == 0)
		return "BUILDER_API_URL's host is not on the outbound "
		       "allowlist";
	if (hr->curl_code == 0 && st == 401)
		return n8n ? reasonf(a,
				     "n8n rejected the API key (401) while %s; "
				     "check BUILDER_API_KEY",
				     step)
			   : reasonf(a,
				     "the builder refused our token (401%s%s) "
				     "while %s; check JWT_SECRET",
				     msg ? ": " : "", msg ? msg : "", step);
	if (hr->curl_code == 0 && st == 403)
		return reasonf(a, "%s refused access (403) while %s%s%s", svc,
			       step, msg ? ": " : "", msg ? msg : "");
	if (rc == ERR_RATE_LIMITED) {
		if (hr->retry_after_s >= 0)
			return reasonf(a,
				       "%s is rate limiting us (429) while %s; "
				       "retry after %ld s",
				       svc, step, hr->retry_after_s);
		return reasonf(a, "%s is rate limiting us (429) while %s", svc,
			       step);
	}
	if (rc == ERR_TIMEOUT)
		return reasonf(a, "%s did not answer in time while %s (%s; %d "
				  "attempt%s)",
			       svc, step, hr->error, hr->attempts,
			       plural(hr->attempts));
	if (rc == ERR_TOO_LARGE)
		return reasonf(a, "%s's answer was over the size limit while %s",
			       svc, step);
	if (hr->curl_code != 0)
		return reasonf(a, "could not reach %s while %s: %s (%d "
				  "attempt%s)",
			       svc, step, hr->error, hr->attempts,
			       plural(hr->attempts));
	if (st >= 500)
		return reasonf(a,
			       "%s failed with a server error (%ld) while %s, "
			       "after %d attempt%s%s%s",
			       svc, st, step, hr->attempts,
			       plural(hr->attempts), msg ? ": " : "",
			       msg ? msg : "");
	if (st >= 400)
		return reasonf(a, "%s refused the request (%ld) while %s%s%s",
			       svc, st, step, msg ? ": " : "", msg ? msg : "");
	return reasonf(a, "could not call %s while %s: %s", svc, step,
		       hr->error);
}

/* -------------------------------------------------------------- calls */

static bool id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n < 1 || n > ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

static void note(call_ctx_t *c, const http_client_response_t *hr)
{
	builder_result_t *res = c->res;
	res->http_status = hr->status;
	res->latency_ms += hr->latency_ms;
	if (hr->attempts > res->attempts)
		res->attempts = hr->attempts;
}

/* One HTTP call to the service.  With out set, a 2xx answer must be a
 * JSON object (owned by the arena).  A 404 is returned without a reason
 * when quiet_404, so the caller can take another path; any other failure
 * sets res->error and res->retryable. */
static int call(call_ctx_t *c, const char *method, const char *path,
		json_t *body, const char *ikey, const char *step,
		bool quiet_404, json_t **out)
{
	const builder_conn_t *conn = c->conn;
	const char *headers[3] = {NULL, NULL, NULL};
	if (conn->kind == BUILDER_KIND_N8N) {
		headers[0] = arena_printf(c->a, "X-N8N-API-KEY: %s",
					  conn->api_key);
	} else {
		const char *tok;
		int trc = builder_api_token(c->a, conn, c->tenant_id,
					    time(NULL), &tok);
		if (trc < 0)
			return fail(c, trc, false,
				    "could not sign the builder token; check "
				    "JWT_SECRET");
		headers[0] = arena_printf(c->a, "Authorization: Bearer %s", tok);
		if (ikey)
			headers[1] = arena_printf(c->a, "Idempotency-Key: %s",
						  ikey);
	}
	http_client_request_t req = {
		.method = method,
		.url = arena_printf(c->a, "%s%s", conn->base, path),
		.headers = headers,
		.json = body,
		.timeout_ms = conn->timeout_ms,
		.connect_timeout_ms = conn->connect_timeout_ms,
		.deadline_ms = conn->deadline_ms,
		.retry = conn->retry,
	};
	http_client_response_t hr;
	int rc = http_client_do(c->a, &req, &hr);
	note(c, &hr);
	if (rc == ERR_NOT_FOUND && quiet_404)
		return rc;
	if (rc < 0)
		return fail(c, rc, failure_retryable(rc, &hr),
			    http_reason(c, rc, step, &hr));
	if (!out)
		return 0;
	json_t *j;
	if (http_client_json(c->a, &hr, &j) < 0 || !json_is_object(j))
		return fail(c, ERR_UPSTREAM, true,
			    reasonf(c->a,
				    "%s answered HTTP %ld with malformed JSON "
				    "while %s",
				    c->svc, hr.status, step));
	*out = j;
	return 0;
}

/* A string member of an answer, copied to the arena; an answer without it
 * is the service's fault. */
static int answer_str(call_ctx_t *c, json_t *j, const char *key,
		      const char *step, const char **out)
{
	const char *v = json_string_value(json_object_get(j, key));
	if (!v || !*v)
		return fail(c, ERR_UPSTREAM, true,
			    reasonf(c->a, "%s's answer has no %s while %s",
				    c->svc, key, step));
	*out = arena_strdup(c->a, v);
	return 0;
}

static void log_outcome(call_ctx_t *c, const char *what, int rc)
{
	const builder_result_t *res = c->res;
	log_line_t *l = log_begin(rc ? LOG_WARN : LOG_INFO, what);
	log_str(l, "driver",
		c->conn->kind == BUILDER_KIND_N8N ? "n8n" : "builder");
	log_str(l, "outcome", rc ? err_code_name(rc) : "ok");
	if (res->external_id)
		log_str(l, "external_id", res->external_id);
	log_int(l, "status", res->http_status);
	log_int(l, "attempts", res->attempts);
	log_double(l, "latency_ms", res->latency_ms);
	if (rc) {
		log_str(l, "error", res->error);
		log_bool(l, "retryable", res->retryable);
	}
	log_end(l);
}

/* ---------------------------------------------------------------- n8n */

/* Fields n8n's public API refuses in a request body: it sets them. */
static const char *const n8n_read_only[] = {
	"id", "active", "createdAt", "updatedAt", "isArchived", "versionId",
	"triggerCount", "meta", "tags", "shared", "activeVersion",
	"activeVersionId", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* A new object with wf's members minus the read-only ones (and projectId,
 * which only a create takes); the members are shared, not copied. */
static json_t *n8n_body(const json_t *wf, bool creating)
{
	json_t *src = (json_t *)wf; /* read only: jansson's iterators are
				      * not const-qualified */
	json_t *body = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(src, k, v)
	{
		if (in_list(n8n_read_only, k))
			continue;
		if (!creating && strcmp(k, "projectId") == 0)
			continue;
		json_object_set(body, k, v);
	}
	return body;
}

static int n8n_checks(call_ctx_t *c)
{
	if (!c->conn->base[0])
		return fail(c, ERR_INVALID, false,
			    "BUILDER_API_URL is not set or not an http(s) URL");
	if (!c->conn->api_key || !*c->conn->api_key)
		return fail(c, ERR_INVALID, false,
			    "BUILDER_API_KEY is not set: n8n needs an API key");
	return 0;
}

/* Whether prior names a workflow n8n still has and can update.  0 with
 * *use set or not; an error when n8n could not say. */
static int n8n_find_prior(call_ctx_t *c, const char *id, bool *use)
{
	*use = false;
	const char *step = arena_printf(c->a, "looking up workflow %s", id);
	json_t *wf;
	int rc = call(c, "GET", arena_printf(c->a, "/api/v1/workflows/%s", id),
		      NULL, NULL, step, true, &wf);
	if (rc == ERR_NOT_FOUND) {
		log_info("n8n workflow %s is gone; creating a new one", id);
		return 0;
	}
	if (rc < 0)
		return rc;
	if (json_is_true(json_object_get(wf, "isArchived"))) {
		log_info("n8n workflow %s is archived; creating a new one", id);
		return 0;
	}
	*use = true;
	return 0;
}

static int n8n_deploy(call_ctx_t *c, const json_t *wf, const char *webhook_path,
		      const builder_prior_t *prior)
{
	int rc = n8n_checks(c);
	if (rc < 0)
		return rc;
	if (!json_is_object(wf))
		return fail(c, ERR_INVALID, false,
			    "the n8n workflow to deploy is not a JSON object");
	const char *prior_id = prior ? prior->external_id : NULL;
	bool update = false;
	if (prior_id && *prior_id) {
		if (!id_ok(prior_id))
			return fail(c, ERR_INVALID, false,
				    "the stored n8n workflow id is not valid");
		rc = n8n_find_prior(c, prior_id, &update);
		if (rc < 0)
			return rc;
	}

	json_t *answer = NULL;
	if (update) {
		json_t *body = n8n_body(wf, false);
		const char *step =
			arena_printf(c->a, "updating workflow %s", prior_id);
		rc = call(c, "PUT",
			  arena_printf(c->a, "/api/v1/workflows/%s", prior_id),
			  body, NULL, step, true, &answer);
		json_decref(body);
		if (rc == ERR_NOT_FOUND) /* deleted since the lookup */
			update = false;
		else if (rc < 0)
			return rc;
	}
	const char *id;
	if (update) {
		id = arena_strdup(c->a, prior_id);
	} else {
		json_t *body = n8n_body(wf, true);
		rc = call(c, "POST", "/api/v1/workflows", body, NULL,
			  "creating the workflow", false, &answer);
		json_decref(body);
		if (rc < 0)
			return rc;
		rc = answer_str(c, answer, "id", "creating the workflow", &id);
		if (rc < 0)
			return rc;
		if (!id_ok(id))
			return fail(c, ERR_UPSTREAM, false,
				    "n8n gave the new workflow an id we cannot "
				    "use");
	}
	c->res->external_id = id;
	c->res->editor_url = arena_printf(c->a, "%s/workflow/%s",
					  c->conn->base, id);

	const char *step = arena_printf(c->a, "activating workflow %s", id);
	rc = call(c, "POST",
		  arena_printf(c->a, "/api/v1/workflows/%s/activate", id), NULL,
		  NULL, step, false, &answer);
	if (rc < 0)
		return rc;
	if (json_is_false(json_object_get(answer, "active")))
		return fail(c, ERR_UPSTREAM, true,
			    reasonf(c->a,
				    "n8n answered but left workflow %s "
				    "inactive",
				    id));
	if (webhook_path) {
		while (*webhook_path == '/')
			webhook_path++;
		if (*webhook_path)
			c->res->run_url = arena_printf(c->a, "%s/webhook/%s",
						       c->conn->base,
						       webhook_path);
	}
	return 0;
}

int builder_n8n_deploy(arena_t *a, const builder_conn_t *conn,
		       const json_t *n8n_workflow, const char *webhook_path,
		       const builder_prior_t *prior, builder_result_t *res)
{
	reset_result(res);
	call_ctx_t c = {.a = a, .conn = conn, .res = res, .svc = "n8n"};
	builder_conn_t n8n = *conn;
	n8n.kind = BUILDER_KIND_N8N;
	c.conn = &n8n;
	int rc = n8n_deploy(&c, n8n_workflow, webhook_path, prior);
	log_outcome(&c, "builder deploy", rc);
	return rc;
}

int builder_n8n_create_credential(arena_t *a, const builder_conn_t *conn,
				  const char *name, const char *type,
				  const json_t *data, const char **id,
				  builder_result_t *res)
{
	reset_result(res);
	*id = NULL;
	builder_conn_t n8n = *conn;
	n8n.kind = BUILDER_KIND_N8N;
	call_ctx_t c = {.a = a, .conn = &n8n, .res = res, .svc = "n8n"};
	int rc = n8n_checks(&c);
	if (rc == 0 && (!name || !*name || !type || !*type ||
			!json_is_object(data)))
		rc = fail(&c, ERR_INVALID, false,
			  "a credential needs a name, a type and an object of "
			  "data");
	if (rc == 0) {
		json_t *body = json_object();
		json_object_set_new(body, "name", json_string(name));
		json_object_set_new(body, "type", json_string(type));
		json_object_set(body, "data", (json_t *)data);
		json_t *answer;
		const char *step = arena_printf(
			a, "creating credential '%.64s' of type %.64s", name,
			type);
		rc = call(&c, "POST", "/api/v1/credentials", body, NULL, step,
			  false, &answer);
		json_decref(body);
		if (rc == 0)
			rc = answer_str(&c, answer, "id", step, id);
		if (rc == 0)
			res->external_id = *id;
	}
	log_outcome(&c, "builder credential created", rc);
	return rc;
}

int builder_n8n_delete_credential(arena_t *a, const builder_conn_t *conn,
				  const char *id, builder_result_t *res)
{
	reset_result(res);
	builder_conn_t n8n = *conn;
	n8n.kind = BUILDER_KIND_N8N;
	call_ctx_t c = {.a = a, .conn = &n8n, .res = res, .svc = "n8n"};
	int rc = n8n_checks(&c);
	if (rc == 0 && !id_ok(id))
		rc = fail(&c, ERR_INVALID, false,
			  "the n8n credential id is not valid");
	if (rc == 0) {
		const char *step =
			arena_printf(a, "deleting credential %s", id);
		rc = call(&c, "DELETE",
			  arena_printf(a, "/api/v1/credentials/%s", id), NULL,
			  NULL, step, true, NULL);
		if (rc == ERR_NOT_FOUND)
			rc = 0; /* gone is what we wanted */
		if (rc == 0)
			res->external_id = arena_strdup(a, id);
	}
	log_outcome(&c, "builder credential deleted", rc);
	return rc;
}

/* -------------------------------------------------------- builder API */

int builder_api_token(arena_t *a, const builder_conn_t *conn,
		      long long tenant_id, time_t now, const char **token)
{
	*token = NULL;
	if (!conn->jwt_secret || !*conn->jwt_secret)
		return ERR_INVALID;
	char jti[CRYPTO_TOKEN_SIZE(12)];
	if (crypto_random_token(jti, sizeof jti, 12) < 0)
		return ERR_INTERNAL;
	json_t *claims = json_object();
	json_object_set_new(claims, "iss", json_string("canopy"));
	json_object_set_new(claims, "aud", json_string("builder"));
	const char *sub = arena_printf(a, "tenant:%lld", tenant_id);
	json_object_set_new(claims, "sub", json_string(sub));
	json_object_set_new(claims, "iat", json_integer((json_int_t)now));
	json_object_set_new(claims, "exp",
			    json_integer((json_int_t)now +
					 BUILDER_JWT_LIFETIME_S));
	json_object_set_new(claims, "jti", json_string(jti));
	buf_t b;
	buf_init(&b, a, 4096);
	int rc = crypto_jwt_hs256(conn->jwt_secret, claims, &b);
	json_decref(claims);
	if (rc < 0)
		return rc;
	*token = buf_cstr(&b);
	return 0;
}

/* Idempotency keys go into a header: printable ASCII only. */
static bool ikey_ok(const char *k)
{
	size_t n = strlen(k);
	if (n < 1 || n > IKEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			return false;
	return true;
}

static int api_deploy(call_ctx_t *c, const json_t *graph,
		      const builder_prior_t *prior)
{
	const builder_conn_t *conn = c->conn;
	if (!conn->base[0])
		return fail(c, ERR_INVALID, false,
			    "BUILDER_API_URL is not set or not an http(s) URL");
	if (!conn->jwt_secret || !*conn->jwt_secret)
		return fail(c, ERR_INVALID, false,
			    "JWT_SECRET is not set: the builder API needs it");
	if (!json_is_object(graph))
		return fail(c, ERR_INVALID, false,
			    "the workflow graph to deploy is not a JSON object");

	/* Keys: the caller's (stable across job retries) or a fresh one
	 * (stable across http_client's retries of this call). */
	const char *ikey = prior ? prior->idempotency_key : NULL;
	if (ikey && !ikey_ok(ikey))
		return fail(c, ERR_INVALID, false,
			    "the idempotency key is not printable ASCII of "
			    "1..200 characters");
	if (!ikey) {
		char rnd[CRYPTO_TOKEN_SIZE(16)];
		if (crypto_random_token(rnd, sizeof rnd, 16) < 0)
			return fail(c, ERR_INTERNAL, false,
				    "no random key could be made");
		ikey = arena_strdup(c->a, rnd);
	}
	char *canon = json_dumps(graph, JSON_COMPACT | JSON_SORT_KEYS);
	if (!canon)
		return fail(c, ERR_INVALID, false,
			    "the workflow graph cannot be serialised");
	char hash[CRYPTO_SHA256_HEX_SIZE];
	crypto_sha256_hex(canon, strlen(canon), hash);
	free(canon);
	hash[16] = '\0'; /* enough to tell graphs apart in a key */

	const char *pid = NULL, *purl = NULL;
	const char *prior_id = prior ? prior->external_id : NULL;
	json_t *answer;
	int rc;
	if (prior_id && *prior_id) {
		if (!id_ok(prior_id))
			return fail(c, ERR_INVALID, false,
				    "the stored builder project id is not "
				    "valid");
		const char *step =
			arena_printf(c->a, "looking up project %s", prior_id);
		rc = call(c, "GET",
			  arena_printf(c->a, "/api/projects/%s", prior_id),
			  NULL, NULL, step, true, &answer);
		if (rc == 0) {
			pid = arena_strdup(c->a, prior_id);
			const char *u =
				json_string_value(json_object_get(answer, "url"));
			purl = u ? arena_strdup(c->a, u) : NULL;
		} else if (rc == ERR_NOT_FOUND) {
			log_info("builder project %s is gone; creating a new "
				 "one",
				 prior_id);
		} else {
			return rc;
		}
	}
	if (!pid) {
		json_t *body = json_object();
		json_t *name = json_object_get(graph, "name");
		if (json_is_string(name))
			json_object_set(body, "name", name);
		rc = call(c, "POST", "/api/projects", body,
			  arena_printf(c->a, "%s:project", ikey),
			  "creating a project", false, &answer);
		json_decref(body);
		if (rc < 0)
			return rc;
		rc = answer_str(c, answer, "projectId", "creating a project",
				&pid);
		if (rc < 0)
			return rc;
		if (!id_ok(pid))
			return fail(c, ERR_UPSTREAM, false,
				    "the builder gave the project an id we "
				    "cannot use");
		const char *u =
			json_string_value(json_object_get(answer, "url"));
		purl = u ? arena_strdup(c->a, u) : NULL;
	}
	c->res->external_id = pid;
	c->res->editor_url = purl;

	const char *step = arena_printf(c->a, "uploading the workflow to "
					      "project %s",
					pid);
	/* The graph is only read: the request's json member is not const. */
	rc = call(c, "POST",
		  arena_printf(c->a, "/api/projects/%s/workflows", pid),
		  (json_t *)graph,
		  arena_printf(c->a, "%s:workflow:%s", ikey, hash), step, false,
		  &answer);
	if (rc < 0)
		return rc;

	step = arena_printf(c->a, "starting a run of project %s", pid);
	json_t *empty = json_object();
	rc = call(c, "POST", arena_printf(c->a, "/api/projects/%s/run", pid),
		  empty, arena_printf(c->a, "%s:run:%s", ikey, hash), step,
		  false, &answer);
	json_decref(empty);
	if (rc < 0)
		return rc;
	const char *u = json_string_value(json_object_get(answer, "url"));
	c->res->run_url = u ? arena_strdup(c->a, u) : NULL;
	return 0;
}

int builder_api_deploy(arena_t *a, const builder_conn_t *conn,
		       long long tenant_id, const json_t *graph,
		       const builder_prior_t *prior, builder_result_t *res)
{
	reset_result(res);
	builder_conn_t api = *conn;
	api.kind = BUILDER_KIND_API;
	call_ctx_t c = {.a = a, .conn = &api, .res = res,
			.svc = "the builder", .tenant_id = tenant_id};
	int rc = api_deploy(&c, graph, prior);
	log_outcome(&c, "builder deploy", rc);
	return rc;
}
