#include "admin_workflows.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_screen.h"
#include "audit.h"
#include "log.h"
#include "workflow.h"
#include "workflow_jobs.h"
#include "workflow_store.h"
#include "workflow_svg.h"

typedef admin_ctx_t ctx_t;
typedef admin_tenant_t tenant_t;

#define PROMPT_MAX 4000 /* characters: the API's limit and the column's */
#define NAME_CHARS_MAX 200
#define SCRIPT "admin-workflow.js"

/* ------------------------------------------------------------ checks */

/* The graph checks' context (the schema and the outbound allowlist),
 * loaded on first use: screen modules have no start-up hook, and the
 * API has already refused to start when the files are wrong, so a
 * failure here is logged and answered 500 rather than expected. */
static pthread_mutex_t checker_lock = PTHREAD_MUTEX_INITIALIZER;
static workflow_ctx_t *checker;

static const workflow_ctx_t *get_checker(ctx_t *c)
{
	pthread_mutex_lock(&checker_lock);
	if (!checker) {
		const config_t *cfg = admin_config(c);
		char err[512] = "";
		checker = workflow_ctx_new(cfg->schema_dir,
					   cfg->allowed_outbound_hosts, false,
					   err, sizeof err);
		if (!checker)
			log_error("admin workflows: %s", err);
	}
	const workflow_ctx_t *w = checker;
	pthread_mutex_unlock(&checker_lock);
	return w;
}

static size_t utf8_chars(str_t s)
{
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++)
		n += ((unsigned char)s.p[i] & 0xc0) != 0x80;
	return n;
}

/* Why a posted prompt cannot be used, or NULL. */
static const char *prompt_problem(str_t p)
{
	if (p.len == 0)
		return "Describe what the workflow should do.";
	if (!str_is_valid_utf8(p))
		return "The text is not valid UTF-8.";
	if (utf8_chars(p) > PROMPT_MAX)
		return "At most 4000 characters.";
	return NULL;
}

json_t *admin_workflows_parse(str_t text, json_t **problems)
{
	*problems = NULL;
	char msg[300];
	json_t *g = NULL;
	if (!text.p || str_trim(text).len == 0) {
		snprintf(msg, sizeof msg,
			 "Write or paste the workflow's JSON graph here.");
	} else if (!str_is_valid_utf8(text)) {
		snprintf(msg, sizeof msg, "The text is not valid UTF-8.");
	} else {
		json_error_t e;
		g = json_loadb(text.p, text.len, JSON_REJECT_DUPLICATES, &e);
		if (!g)
			snprintf(msg, sizeof msg,
				 "Not valid JSON at line %d, column %d: %s.",
				 e.line, e.column, e.text);
		else if (!json_is_object(g)) {
			json_decref(g);
			g = NULL;
			snprintf(msg, sizeof msg,
				 "The graph must be a JSON object: {\"name\": "
				 "..., \"nodes\": [...], ...}.");
		}
	}
	if (!g)
		*problems = json_pack("[{s:s, s:s}]", "pointer", "", "message",
				      msg);
	return g;
}

const char *admin_workflows_short_time(arena_t *a, const char *iso)
{
	if (!iso || strlen(iso) < 19 || iso[10] != 'T')
		return iso;
	char *s = arena_strndup(a, iso, 19);
	s[10] = ' ';
	return s;
}

/* ------------------------------------------------------------ views */

static json_t *parse_saved(const char *text)
{
	json_error_t e;
	return text ? json_loads(text, 0, &e) : NULL;
}

static const char *pretty(arena_t *a, const json_t *graph)
{
	char *s = graph ? json_dumps(graph, JSON_INDENT(2)) : NULL;
	if (!s)
		return "";
	char *copy = arena_strdup(a, s);
	free(s);
	return copy;
}

static const char *wf_url(ctx_t *c, const tenant_t *t, long long id,
			  const char *rest)
{
	return arena_printf(c->arena, "/admin/tenants/%s/workflows/%lld%s",
			    t->slug, id, rest);
}

static const char *short_hash(ctx_t *c, const char *h)
{
	return h ? arena_strndup(c->arena, h, 12) : NULL;
}

/* Only web addresses become links; anything else a builder sent is
 * shown as text. */
static bool web_url(const char *u)
{
	return u && (strncmp(u, "https://", 8) == 0 ||
		     strncmp(u, "http://", 7) == 0);
}

static json_t *tenant_view(const tenant_t *t)
{
	return json_pack("{s:s, s:s, s:b, s:b}", "slug", t->slug, "name",
			 t->name, "can_edit", auth_can(t->role, AUTH_EDIT),
			 "can_deploy", auth_can(t->role, AUTH_PUBLISH));
}

static bool busy(workflow_status_t s)
{
	return s == WORKFLOW_GENERATING || s == WORKFLOW_DEPLOYING;
}

static int render_list(ctx_t *c, int status, const tenant_t *t, str_t name,
		       const char *name_err, str_t prompt,
		       const char *prompt_err)
{
	workflow_row_t *rows;
	int n, rc = workflow_store_list(c->db, c->arena, t->id,
					ADMIN_WORKFLOWS_LIST_MAX, &rows, &n);
	if (rc)
		return rc;
	json_t *list = json_array();
	for (int i = 0; i < n; i++) {
		const workflow_row_t *w = &rows[i];
		json_array_append_new(
			list,
			json_pack("{s:I, s:s, s:s, s:s?, s:s, s:i, s:s}", "id",
				  (json_int_t)w->id, "name", w->name, "status",
				  workflow_store_status_name(w->status), "reason",
				  w->status_reason, "updated",
				  admin_workflows_short_time(c->arena,
							     w->updated_at),
				  "version", w->version, "url",
				  wf_url(c, t, w->id, "")));
	}
	return admin_render(
		c, status, "admin/workflows",
		json_pack("{s:o, s:o, s:b, s:o, s:o, s:b}", "tenant",
			  tenant_view(t), "workflows", list, "empty", n == 0,
			  "name", admin_field(name, name_err), "prompt",
			  admin_field(prompt, prompt_err), "invalid",
			  name_err || prompt_err));
}

/* What a workflow's page shows besides the saved workflow. */
typedef struct {
	int status;             /* HTTP status of the answer */
	str_t json_text;        /* the editor's text; p == NULL: the saved graph */
	const json_t *problems; /* [{pointer, message}] about json_text */
	const char *alert;      /* a sentence at the top, as an error */
	str_t prompt;           /* the generate form's text; p == NULL: saved */
	const char *prompt_err;
	const char *notice;
} page_t;

static json_t *deployments_view(ctx_t *c, const tenant_t *t,
				const workflow_row_t *w, int *rc)
{
	workflow_deployment_t *d;
	int n;
	json_t *list = json_array();
	*rc = workflow_store_deployments(c->db, c->arena, t->id, w->id,
					 ADMIN_WORKFLOWS_HISTORY, &d, &n);
	for (int i = 0; *rc == 0 && i < n; i++)
		json_array_append_new(
			list,
			json_pack("{s:I, s:s, s:b, s:i, s:s, s:s, s:s?, s:s,"
				  " s:s?, s:b, s:s?, s:o?}",
				  "id", (json_int_t)d[i].id, "status",
				  d[i].status, "ok",
				  strcmp(d[i].status, "succeeded") == 0,
				  "attempt", d[i].attempt, "driver",
				  d[i].driver, "started",
				  admin_workflows_short_time(c->arena,
							     d[i].started_at),
				  "finished",
				  admin_workflows_short_time(c->arena,
							     d[i].finished_at),
				  "hash", short_hash(c, d[i].graph_hash), "url",
				  d[i].url, "link", web_url(d[i].url), "error",
				  d[i].error, "http_status",
				  d[i].http_status
					  ? json_integer(d[i].http_status)
					  : NULL));
	return list;
}

static const char *notice_text(str_t n)
{
	static const char *const notices[][2] = {
		{"saved", "Saved as a new version. Deploy it to ship the "
			  "change."},
		{"unchanged", "Nothing to save: the graph is the same as the "
			      "saved one."},
		{"generating", "Generation started. The graph appears here "
			       "when the model has written it."},
		{"deploying", "Deployment started."},
	};
	for (size_t i = 0; n.p && i < sizeof notices / sizeof notices[0]; i++)
		if (str_eq_c(n, notices[i][0]))
			return notices[i][1];
	return NULL;
}

static int render_page(ctx_t *c, const tenant_t *t, const workflow_row_t *w,
		       const page_t *pg)
{
	json_t *graph = parse_saved(w->json);
	const char *svg = NULL, *svg_error = NULL;
	if (graph) {
		buf_t b;
		buf_init(&b, c->arena, WORKFLOW_SVG_MAX_BYTES);
		int rc = workflow_svg_render(graph, &b);
		if (rc == 0)
			svg = buf_cstr(&b);
		else
			svg_error = rc == ERR_TOO_LARGE
					    ? "The graph is too large to draw."
					    : "The saved graph cannot be drawn "
					      "(it does not pass today's checks).";
	}
	/* admin_field shows text that is not UTF-8 as empty: the page must
	 * render whatever was posted. */
	json_t *text = admin_field(pg->json_text.p ? pg->json_text
						   : str_c(pretty(c->arena, graph)),
				   NULL);
	json_decref(graph);

	json_t *problems = json_array();
	size_t i;
	const json_t *p;
	json_array_foreach(pg->problems, i, p) {
		const char *ptr = json_string_value(json_object_get(p, "pointer"));
		const char *msg = json_string_value(json_object_get(p, "message"));
		json_array_append_new(
			problems,
			json_pack("{s:s, s:s}", "pointer",
				  ptr && *ptr ? ptr : "(the whole graph)",
				  "message", msg ? msg : "is not valid"));
	}
	int rc;
	json_t *deps = deployments_view(c, t, w, &rc);
	if (rc) {
		json_decref(problems);
		json_decref(deps);
		return rc;
	}
	bool is_busy = busy(w->status);
	bool changed = w->deployed_hash && w->graph_hash &&
		       strcmp(w->deployed_hash, w->graph_hash) != 0;
	const char *gen_url = wf_url(c, t, w->id, "/generate");
	json_t *wf = json_pack(
		"{s:I, s:s, s:s, s:s?, s:b, s:b, s:b, s:b, s:i, s:s, s:s?,"
		" s:b, s:s?, s:b, s:s?, s:b, s:s?, s:s?, s:b, s:s, s:s, s:s,"
		" s:s, s:b}",
		"id", (json_int_t)w->id, "name", w->name, "status",
		workflow_store_status_name(w->status), "reason",
		w->status_reason, "busy", is_busy, "generating",
		w->status == WORKFLOW_GENERATING, "deploying",
		w->status == WORKFLOW_DEPLOYING, "failed",
		w->status == WORKFLOW_ERROR, "version", w->version, "updated",
		admin_workflows_short_time(c->arena, w->updated_at), "prompt",
		w->prompt, "has_graph", w->json != NULL, "run_url",
		w->last_run_url, "run_link", web_url(w->last_run_url),
		"editor_url", w->editor_url, "editor_link",
		web_url(w->editor_url), "hash", short_hash(c, w->graph_hash),
		"deployed_hash", short_hash(c, w->deployed_hash), "changed",
		changed, "url", wf_url(c, t, w->id, ""), "status_url",
		wf_url(c, t, w->id, "/status"), "deploy_url",
		wf_url(c, t, w->id, "/deploy"), "generate_url", gen_url,
		"deployable", w->json != NULL && w->status != WORKFLOW_GENERATING);
	str_t prompt = pg->prompt.p ? pg->prompt : str_c(w->prompt ? w->prompt : "");
	json_t *view = json_pack(
		"{s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:b, s:b}", "tenant",
		tenant_view(t), "wf", wf, "json", text, "problems",
		problems, "has_problems", json_array_size(problems) > 0,
		"prompt", admin_field(prompt, pg->prompt_err), "deployments", deps,
		"no_deployments", json_array_size(deps) == 0, "readonly",
		!auth_can(t->role, AUTH_EDIT));
	if (svg)
		json_object_set_new(view, "svg", json_string(svg));
	if (svg_error)
		json_object_set_new(view, "svg_error", json_string(svg_error));
	if (pg->alert)
		json_object_set_new(view, "alert", json_string(pg->alert));
	if (pg->notice)
		json_object_set_new(view, "notice", json_string(pg->notice));
	const char *js = assets_url(admin_assets(c), SCRIPT);
	if (is_busy && js)
		json_object_set_new(view, "script", json_string(js));
	return admin_render(c, pg->status ? pg->status : 200, "admin/workflow",
			    view);
}

/* ------------------------------------------------------------ loading */

/* The tenant of the path, if the person may do action in it. */
static int tenant_for(ctx_t *c, tenant_t *t, auth_action_t action)
{
	int rc = admin_load_tenant(c, t);
	if (rc)
		return rc;
	return auth_can(t->role, action) ? 0 : ERR_NOT_FOUND;
}

/* The tenant and the path's workflow {id}, which must be the tenant's. */
static int load(ctx_t *c, tenant_t *t, auth_action_t action,
		workflow_row_t *w)
{
	long long id;
	int rc;
	if ((rc = tenant_for(c, t, action)) ||
	    (rc = router_param_id(c->req, "id", &id)))
		return rc;
	return workflow_store_get(c->db, c->arena, t->id, id, w);
}

static const char *id_text(ctx_t *c, long long id)
{
	return db_param_ll(c->arena, id);
}

static void retry_after(ctx_t *c, long seconds)
{
	if (http_set_header(c->resp, STR("Retry-After"),
			    str_c(arena_printf(c->arena, "%ld", seconds))) != 0)
		log_error("admin workflows: Retry-After refused");
}

static const char *rate_message(ctx_t *c, long seconds)
{
	return arena_printf(c->arena,
			    "This team has used its %d generations for the "
			    "hour; try again in %ld minute%s.",
			    admin_config(c)->generate_per_hour,
			    (seconds + 59) / 60,
			    (seconds + 59) / 60 == 1 ? "" : "s");
}

/* ------------------------------------------------------------ handlers */

static int h_list(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_READ);
	if (rc)
		return rc;
	return render_list(c, 200, &t, STR(""), NULL, STR(""), NULL);
}

static int h_create(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_EDIT);
	if (rc)
		return rc;
	str_t name = str_trim(admin_form(c, "name"));
	str_t prompt = str_trim(admin_form(c, "prompt"));
	const char *name_err = NULL, *prompt_err = prompt_problem(prompt);
	if (!str_is_valid_utf8(name))
		name_err = "The name is not valid UTF-8.";
	else if (utf8_chars(name) > NAME_CHARS_MAX)
		name_err = "At most 200 characters.";
	if (name_err || prompt_err)
		return render_list(c, 422, &t, name, name_err, prompt,
				   prompt_err);
	workflow_jobs_generate_t gen = {
		.name = name.len ? str_dup(c->arena, name) : NULL,
		.prompt = str_dup(c->arena, prompt),
		.deploy = false,
	};
	workflow_jobs_started_t st;
	if ((rc = db_begin(c->db)))
		return rc;
	rc = workflow_jobs_start_generate(c->db, c->arena, admin_config(c),
					  t.id, &gen, &st);
	if (rc == ERR_RATE_LIMITED) {
		db_rollback(c->db);
		retry_after(c, st.retry_after);
		return render_list(c, 429, &t, name, NULL, prompt,
				   rate_message(c, st.retry_after));
	}
	json_t *after = json_pack("{s:s?, s:s}", "name", gen.name, "prompt",
				  gen.prompt);
	if (rc == 0)
		rc = audit_write(c->db, c->arena, t.id, c->session.user.id,
				 "workflow.create", "workflow",
				 id_text(c, st.workflow_id), NULL, after);
	json_decref(after);
	if (rc || (rc = db_commit(c->db))) {
		db_rollback(c->db);
		return rc;
	}
	workflow_store_publish_change(&st.change);
	return admin_redirect(c, wf_url(c, &t, st.workflow_id,
					"?notice=generating"));
}

static int h_show(http_request_t *req, http_response_t *resp, void *app)
{
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	workflow_row_t w;
	int rc = load(c, &t, AUTH_READ, &w);
	if (rc)
		return rc;
	page_t pg = {.notice = notice_text(http_query(req, "notice"))};
	return render_page(c, &t, &w, &pg);
}

static int h_save(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	workflow_row_t w, cur;
	int rc = load(c, &t, AUTH_EDIT, &w);
	if (rc)
		return rc;
	str_t text = admin_form(c, "json");
	long seen = -1;
	if (str_to_long(str_trim(admin_form(c, "version")), 0, INT_MAX, &seen))
		seen = -1;
	page_t pg = {.status = 422, .json_text = text};
	json_t *problems = NULL;
	json_t *graph = admin_workflows_parse(text, &problems);
	const workflow_ctx_t *chk = get_checker(c);
	if (graph && !chk) {
		json_decref(graph);
		return ERR_INTERNAL;
	}
	if (graph && workflow_validate(chk, graph, &problems) == 0) {
		json_decref(problems);
		problems = NULL;
	}
	if (problems) {
		size_t n = json_array_size(problems);
		pg.problems = problems;
		pg.alert = graph ? arena_printf(c->arena,
						"Nothing was saved: the graph "
						"has %zu problem%s, listed under "
						"the text.",
						n, n == 1 ? "" : "s")
				 : "Nothing was saved: the text is not a "
				   "workflow graph.";
		rc = render_page(c, &t, &w, &pg);
		json_decref(problems);
		json_decref(graph);
		return rc;
	}
	char hex[65];
	json_t *before = NULL;
	if ((rc = workflow_store_hash(graph, hex)) || (rc = db_begin(c->db)) ||
	    (rc = workflow_store_get_locked(c->db, c->arena, t.id, w.id, &cur)))
		goto out;
	if (cur.status == WORKFLOW_GENERATING || cur.version != seen) {
		db_rollback(c->db);
		pg.status = 409;
		pg.alert = cur.status == WORKFLOW_GENERATING
				   ? "Nothing was saved: a generation is "
				     "running and will replace the graph. Wait "
				     "for it to finish, then edit."
				   : arena_printf(
					     c->arena,
					     "Nothing was saved: the workflow "
					     "changed while you were editing (it "
					     "is at version %d now). Your text is "
					     "kept below; compare it with the "
					     "diagram, which shows the new "
					     "version, before saving again.",
					     cur.version);
		rc = render_page(c, &t, &cur, &pg);
		json_decref(graph);
		return rc;
	}
	if (cur.graph_hash && strcmp(cur.graph_hash, hex) == 0) {
		db_rollback(c->db);
		json_decref(graph);
		return admin_redirect(c, wf_url(c, &t, w.id, "?notice=unchanged"));
	}
	before = parse_saved(cur.json);
	if ((rc = workflow_store_save_graph(c->db, c->arena, t.id, w.id, graph,
					    "admin", NULL)) ||
	    (rc = audit_write(c->db, c->arena, t.id, c->session.user.id,
			      "workflow.update", "workflow", id_text(c, w.id),
			      before, graph)) ||
	    (rc = db_commit(c->db)))
		goto out;
	json_decref(before);
	json_decref(graph);
	return admin_redirect(c, wf_url(c, &t, w.id, "?notice=saved"));
out:
	db_rollback(c->db);
	json_decref(before);
	json_decref(graph);
	return rc;
}

/* The end of starting a generation or a deploy (rc: how the start
 * went, in the open transaction): the audit entry, the commit, the
 * status change published after it, and back to the workflow's page.
 * Takes before and after. */
static int finish_start(ctx_t *c, const tenant_t *t, long long wf_id, int rc,
			const char *action, json_t *before, json_t *after,
			const workflow_jobs_started_t *st, const char *notice)
{
	if (rc == 0)
		rc = audit_write(c->db, c->arena, t->id, c->session.user.id,
				 action, "workflow", id_text(c, wf_id), before,
				 after);
	json_decref(before);
	json_decref(after);
	if (rc || (rc = db_commit(c->db))) {
		db_rollback(c->db);
		return rc;
	}
	workflow_store_publish_change(&st->change);
	return admin_redirect(c, wf_url(c, t, wf_id, notice));
}

static int h_generate(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	workflow_row_t w, cur;
	int rc = load(c, &t, AUTH_EDIT, &w);
	if (rc)
		return rc;
	str_t prompt = str_trim(admin_form(c, "prompt"));
	page_t pg = {.status = 422, .prompt = prompt,
		     .prompt_err = prompt_problem(prompt)};
	if (pg.prompt_err)
		return render_page(c, &t, &w, &pg);
	if ((rc = db_begin(c->db)) ||
	    (rc = workflow_store_get_locked(c->db, c->arena, t.id, w.id, &cur))) {
		db_rollback(c->db);
		return rc;
	}
	if (busy(cur.status)) {
		db_rollback(c->db);
		pg.status = 409;
		pg.prompt_err = cur.status == WORKFLOW_GENERATING
					? "A generation is already running."
					: "Wait until the deployment has "
					  "finished.";
		return render_page(c, &t, &cur, &pg);
	}
	workflow_jobs_generate_t gen = {.workflow_id = w.id,
					.prompt = str_dup(c->arena, prompt)};
	workflow_jobs_started_t st;
	rc = workflow_jobs_start_generate(c->db, c->arena, admin_config(c),
					  t.id, &gen, &st);
	if (rc == ERR_RATE_LIMITED) {
		db_rollback(c->db);
		retry_after(c, st.retry_after);
		pg.status = 429;
		pg.prompt_err = rate_message(c, st.retry_after);
		return render_page(c, &t, &cur, &pg);
	}
	return finish_start(c, &t, w.id, rc, "workflow.generate",
			    json_pack("{s:s?}", "prompt", cur.prompt),
			    json_pack("{s:s}", "prompt", gen.prompt), &st,
			    "?notice=generating");
}

static int h_deploy(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	workflow_row_t w, cur;
	int rc = load(c, &t, AUTH_PUBLISH, &w);
	if (rc)
		return rc;
	if ((rc = db_begin(c->db)) ||
	    (rc = workflow_store_get_locked(c->db, c->arena, t.id, w.id, &cur))) {
		db_rollback(c->db);
		return rc;
	}
	const char *code = NULL;
	if (workflow_jobs_deploy_check(&cur, &code) != 0) {
		db_rollback(c->db);
		page_t pg = {
			.status = 409,
			.alert = code && strcmp(code, "busy") == 0
					 ? "A generation is running; deploy "
					   "when it has finished."
					 : "There is no graph to deploy yet: "
					   "generate one or save one first.",
		};
		return render_page(c, &t, &cur, &pg);
	}
	workflow_jobs_started_t st;
	rc = workflow_jobs_start_deploy(c->db, c->arena, admin_config(c), &cur,
					&st);
	return finish_start(c, &t, w.id, rc, "workflow.deploy",
			    json_pack("{s:s, s:s?}", "status",
				      workflow_store_status_name(cur.status),
				      "deployed_hash", cur.deployed_hash),
			    json_pack("{s:s, s:s, s:i}", "status", "deploying",
				      "graph_hash", cur.graph_hash, "version",
				      cur.version),
			    &st, "?notice=deploying");
}

static int send_body(ctx_t *c, const char *type, const char *body,
		     size_t len)
{
	http_response_t *resp = c->resp;
	buf_clear(&resp->body);
	int rc = buf_append(&resp->body, body, len);
	if (rc)
		return rc;
	resp->status = 200;
	return http_set_header(resp, STR("Content-Type"), str_c(type));
}

static int h_status(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	workflow_row_t w;
	int rc = load(c, &t, AUTH_READ, &w);
	if (rc)
		return rc;
	json_t *j = json_pack("{s:I, s:s, s:s?, s:b, s:i, s:s?}", "id",
			      (json_int_t)w.id, "status",
			      workflow_store_status_name(w.status), "reason",
			      w.status_reason, "busy", busy(w.status),
			      "version", w.version, "updated_at", w.updated_at);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return ERR_INTERNAL;
	rc = send_body(c, "application/json", text, strlen(text));
	free(text);
	return rc;
}

static int h_diagram(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	workflow_row_t w;
	int rc = load(c, &t, AUTH_READ, &w);
	if (rc)
		return rc;
	json_t *graph = parse_saved(w.json);
	if (!graph)
		return ERR_NOT_FOUND; /* nothing generated or saved yet */
	buf_t b;
	buf_init(&b, c->arena, WORKFLOW_SVG_MAX_BYTES);
	rc = workflow_svg_render(graph, &b);
	json_decref(graph);
	if (rc)
		return rc == ERR_TOO_LARGE ? rc : ERR_UNPROCESSABLE;
	return send_body(c, "image/svg+xml; charset=utf-8", b.data, b.len);
}

static const router_route_t routes[] = {
	{"GET", "/admin/tenants/{slug}/workflows", ROUTER_PLATFORM, h_list,
	 "admin.workflows"},
	{"POST", "/admin/tenants/{slug}/workflows", ROUTER_PLATFORM, h_create,
	 "admin.workflows_create"},
	{"GET", "/admin/tenants/{slug}/workflows/{id}", ROUTER_PLATFORM, h_show,
	 "admin.workflow"},
	{"POST", "/admin/tenants/{slug}/workflows/{id}", ROUTER_PLATFORM,
	 h_save, "admin.workflow_save"},
	{"POST", "/admin/tenants/{slug}/workflows/{id}/generate",
	 ROUTER_PLATFORM, h_generate, "admin.workflow_generate"},
	{"POST", "/admin/tenants/{slug}/workflows/{id}/deploy", ROUTER_PLATFORM,
	 h_deploy, "admin.workflow_deploy"},
	{"GET", "/admin/tenants/{slug}/workflows/{id}/status", ROUTER_PLATFORM,
	 h_status, "admin.workflow_status"},
	{"GET", "/admin/tenants/{slug}/workflows/{id}/diagram.svg",
	 ROUTER_PLATFORM, h_diagram, "admin.workflow_diagram"},
};

const router_route_t *admin_workflows_routes(size_t *n)
{
	*n = sizeof routes / sizeof routes[0];
	return routes;
}
