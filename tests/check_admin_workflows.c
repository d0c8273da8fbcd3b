/* lib/admin_workflows without a database: reading the JSON editor's
 * text, the problems a posted graph gets (with the same checks the API
 * uses, loaded by workflow_ctx_new), the route table, and the templates'
 * contract (a viewer's page has no forms; an editor's re-render keeps
 * the text and lists each problem by JSON pointer; hostile text stays
 * text).  The screens themselves are driven through nginx by
 * tests/integration/43-admin-workflows.sh. */
#include <jansson.h>
#include <string.h>

#include "admin_workflows.h"
#include "arena.h"
#include "buf.h"
#include "check_util.h"
#include "mustache.h"
#include "mustache_json.h"
#include "workflow.h"
#include "workflow_svg.h"

#define ANSWER TOP_SRCDIR "/tests/fakes/workflow_answer.json"

static char *slurp(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s", path, e.text);
	char *s = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	return s;
}

static const char *problem_message(const json_t *problems)
{
	ck_assert_uint_eq(json_array_size(problems), 1);
	const json_t *p = json_array_get(problems, 0);
	ck_assert_str_eq(json_string_value(json_object_get(p, "pointer")), "");
	return json_string_value(json_object_get(p, "message"));
}

START_TEST(parse_text)
{
	json_t *problems = NULL;
	char *text = slurp(ANSWER);
	json_t *g = admin_workflows_parse(str_c(text), &problems);
	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_null(problems);
	ck_assert_str_eq(json_string_value(json_object_get(g, "name")),
			 "Lead form follow-up");
	json_decref(g);
	free(text);

	/* where the text stops being JSON: line and column */
	g = admin_workflows_parse(STR("{\n  \"name\": \"x\",\n  \"nodes\": [,]\n}"),
				  &problems);
	ck_assert_ptr_null(g);
	const char *m = problem_message(problems);
	ck_assert_msg(strstr(m, "line 3") != NULL, "%s", m);
	ck_assert_msg(strstr(m, "column") != NULL, "%s", m);
	json_decref(problems);

	g = admin_workflows_parse(STR("[1, 2]"), &problems);
	ck_assert_ptr_null(g);
	ck_assert(strstr(problem_message(problems), "JSON object") != NULL);
	json_decref(problems);

	/* a key twice: refused, not "the last one wins" */
	g = admin_workflows_parse(STR("{\"name\": \"a\", \"name\": \"b\"}"),
				  &problems);
	ck_assert_ptr_null(g);
	ck_assert(strstr(problem_message(problems), "duplicate") != NULL);
	json_decref(problems);

	g = admin_workflows_parse(STR("  \n "), &problems);
	ck_assert_ptr_null(g);
	problem_message(problems);
	json_decref(problems);

	g = admin_workflows_parse((str_t){"{\"name\": \"\xff\"}", 13}, &problems);
	ck_assert_ptr_null(g);
	ck_assert(strstr(problem_message(problems), "UTF-8") != NULL);
	json_decref(problems);

	g = admin_workflows_parse((str_t){NULL, 0}, &problems);
	ck_assert_ptr_null(g);
	json_decref(problems);
}
END_TEST

START_TEST(problems_have_pointers)
{
	char err[512] = "";
	workflow_ctx_t *ctx = workflow_ctx_new(TOP_SRCDIR "/schema",
					       "api.example.com", false, err,
					       sizeof err);
	ck_assert_msg(ctx != NULL, "%s", err);
	json_t *problems = NULL;
	char *text = slurp(ANSWER);
	json_t *g = admin_workflows_parse(str_c(text), &problems);
	free(text);
	ck_assert_int_eq(workflow_validate(ctx, g, &problems), 0);
	json_decref(problems);

	/* an edit that breaks it: an edge to a node that is not there, and a
	 * node type outside the vocabulary */
	json_t *edge = json_array_get(json_object_get(g, "edges"), 0);
	json_object_set_new(edge, "toNodeId", json_string("nowhere"));
	json_object_set_new(json_array_get(json_object_get(g, "nodes"), 2),
			    "type", json_string("teleport"));
	ck_assert_int_eq(workflow_validate(ctx, g, &problems), ERR_INVALID);
	bool edge_seen = false, type_seen = false;
	size_t i;
	json_t *p;
	json_array_foreach(problems, i, p) {
		const char *ptr = json_string_value(json_object_get(p, "pointer"));
		ck_assert_ptr_nonnull(ptr);
		ck_assert_ptr_nonnull(json_string_value(json_object_get(p, "message")));
		edge_seen |= strncmp(ptr, "/edges/0", 8) == 0;
		type_seen |= strncmp(ptr, "/nodes/2", 8) == 0;
	}
	ck_assert(edge_seen);
	ck_assert(type_seen);
	json_decref(problems);
	json_decref(g);
	workflow_ctx_free(ctx);

	/* the settings at fault are named */
	ck_assert_ptr_null(workflow_ctx_new("/nonexistent-canopy", NULL, false,
					    err, sizeof err));
	ck_assert(strstr(err, "CANOPY_SCHEMA_DIR") != NULL);
	ck_assert_ptr_null(workflow_ctx_new(TOP_SRCDIR "/schema", "bad host!",
					    false, err, sizeof err));
	ck_assert(strstr(err, "ALLOWED_OUTBOUND_HOSTS") != NULL);
	workflow_ctx_free(NULL);
}
END_TEST

START_TEST(short_time)
{
	arena_t *a = arena_new(0);
	ck_assert_str_eq(admin_workflows_short_time(a, "2024-05-01T12:34:56.789+00:00"),
			 "2024-05-01 12:34:56");
	ck_assert_str_eq(admin_workflows_short_time(a, "yesterday"), "yesterday");
	ck_assert_ptr_null(admin_workflows_short_time(a, NULL));
	arena_free(a);
}
END_TEST

START_TEST(routes)
{
	size_t n;
	const router_route_t *r = admin_workflows_routes(&n);
	ck_assert_uint_ge(n, 8);
	ck_assert_int_eq(router_check(r, n), 0);
	int posts = 0;
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(strncmp(r[i].pattern,
				      "/admin/tenants/{slug}/workflows", 31) == 0,
			      "%s", r[i].pattern);
		/* none is public: every one needs a session */
		ck_assert(strncmp(r[i].name, "admin.", 6) == 0);
		posts += strcmp(r[i].method, "POST") == 0;
	}
	ck_assert_int_eq(posts, 4); /* create, save, generate, deploy */
}
END_TEST

/* ------------------------------------------------------------ templates */

static mustache_set_t *templates;

static void setup(void)
{
	templates = mustache_set_new();
	mustache_error_t terr;
	ck_assert_msg(mustache_set_load_dir(templates, TOP_SRCDIR "/templates",
					    &terr) == 0,
		      "%s:%d:%d %s", terr.name, terr.line, terr.column,
		      terr.message);
}

static void teardown(void)
{
	mustache_set_free(templates);
}

/* A workflow page's context as admin_workflows builds it. */
static json_t *page_view(bool editor, const char *text, json_t *problems)
{
	char *answer = slurp(ANSWER);
	json_t *g = json_loads(answer, 0, NULL);
	free(answer);
	buf_t svg;
	buf_init(&svg, NULL, WORKFLOW_SVG_MAX_BYTES);
	ck_assert_int_eq(workflow_svg_render(g, &svg), 0);
	json_decref(g);
	json_t *v = json_pack(
		"{s:{s:s, s:s, s:b, s:b},"
		" s:{s:i, s:s, s:s, s:b, s:b, s:b, s:b, s:i, s:s, s:s, s:b,"
		"    s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b},"
		" s:s, s:{s:s}, s:o, s:b, s:{s:s}, s:[{s:i, s:s, s:b, s:i,"
		" s:s, s:s, s:s, s:s, s:b}], s:b, s:b, s:s, s:{s:s, s:s},"
		" s:{s:s, s:s, s:s, s:s}}",
		"tenant", "slug", "acme", "name", "Acme", "can_edit", editor,
		"can_deploy", editor,
		"wf", "id", 7, "name", "Lead <b>form</b>", "status", "live",
		"busy", 0, "generating", 0, "deploying", 0, "failed", 0,
		"version", 3, "updated", "2024-05-01 12:00:00", "prompt",
		"When </textarea><script>x()</script>", "has_graph", 1, "url",
		"/admin/tenants/acme/workflows/7", "status_url",
		"/admin/tenants/acme/workflows/7/status", "deploy_url",
		"/admin/tenants/acme/workflows/7/deploy", "generate_url",
		"/admin/tenants/acme/workflows/7/generate", "deployable", 1,
		"changed", 0, "run_link", 0, "editor_link", 0,
		"svg", buf_cstr(&svg), "json", "value", text, "problems",
		problems ? problems : json_array(), "has_problems",
		json_array_size(problems) > 0, "prompt", "value",
		"When </textarea><script>x()</script>", "deployments", "id", 1,
		"status", "succeeded", "ok", 1, "attempt", 1, "driver", "n8n",
		"started", "2024-05-01 12:00:01", "finished",
		"2024-05-01 12:00:02", "hash", "0123456789ab", "link", 0,
		"no_deployments", 0, "readonly", !editor, "csrf", "TOKEN",
		"me", "name", "Ann", "email", "ann@example.com", "assets", "css",
		"/a.css", "admin_css", "/b.css", "js", "/c.js", "favicon",
		"/d.svg");
	buf_free(&svg);
	ck_assert_ptr_nonnull(v);
	return v;
}

static char *render(json_t *view)
{
	buf_t out;
	buf_init(&out, NULL, 1u << 20);
	int rc = mustache_json_render(templates, "admin/workflow", view, &out);
	json_decref(view);
	ck_assert_int_eq(rc, 0);
	return buf_take(&out, NULL);
}

START_TEST(viewer_page_has_no_forms)
{
	char *html = render(page_view(false, "{\"name\": \"x\"}", NULL));
	/* the only form is the layout's sign-out */
	size_t forms = 0;
	for (const char *p = html; (p = strstr(p, "<form")) != NULL; p++)
		forms++;
	ck_assert_uint_eq(forms, 1);
	ck_assert_ptr_nonnull(strstr(html, "action=\"/admin/logout\""));
	ck_assert_ptr_null(strstr(html, "<textarea"));
	ck_assert_ptr_null(strstr(html, "/deploy\""));
	/* it still shows the diagram, the JSON and the history */
	ck_assert_ptr_nonnull(strstr(html, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	ck_assert_ptr_nonnull(strstr(html, "<pre class=\"wf-json\"><code>{&quot;name&quot;"));
	ck_assert_ptr_nonnull(strstr(html, "data-deployment-id=\"1\""));
	ck_assert_ptr_null(strstr(html, "<script>x()"));
	ck_assert_ptr_null(strstr(html, "<b>form"));
	free(html);
}
END_TEST

START_TEST(editor_rerender_keeps_text_and_problems)
{
	json_t *problems = json_pack("[{s:s, s:s}, {s:s, s:s}]", "pointer",
				     "/edges/0/toNodeId", "message",
				     "names no trigger or node", "pointer",
				     "(the whole graph)", "message",
				     "<i>bad</i>");
	const char *typed = "{\"name\": \"</textarea><script>y()</script>\"}";
	char *html = render(page_view(true, typed, problems));
	ck_assert_ptr_nonnull(strstr(html, "<textarea id=\"wf-json\" name=\"json\""));
	ck_assert_ptr_nonnull(strstr(html, "aria-invalid=\"true\">{&quot;name&quot;: &quot;&lt;/textarea&gt;&lt;script&gt;y()"));
	ck_assert_ptr_null(strstr(html, "<script>y()"));
	ck_assert_ptr_nonnull(strstr(html, "<li><code>/edges/0/toNodeId</code>: names no trigger or node</li>"));
	ck_assert_ptr_nonnull(strstr(html, "&lt;i&gt;bad&lt;/i&gt;"));
	ck_assert_ptr_nonnull(strstr(html, "aria-describedby=\"wf-json-hint wf-json-errors\""));
	ck_assert_ptr_nonnull(strstr(html, "name=\"version\" value=\"3\""));
	ck_assert_ptr_nonnull(strstr(html, "action=\"/admin/tenants/acme/workflows/7/deploy\""));
	ck_assert_ptr_nonnull(strstr(html, "action=\"/admin/tenants/acme/workflows/7/generate\""));
	ck_assert_ptr_nonnull(strstr(html, "name=\"csrf\" value=\"TOKEN\""));
	free(html);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("admin_workflows");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, parse_text);
	tcase_add_test(tc, problems_have_pointers);
	tcase_add_test(tc, short_time);
	tcase_add_test(tc, routes);
	suite_add_tcase(s, tc);
	TCase *tt = tcase_create("templates");
	tcase_add_checked_fixture(tt, setup, teardown);
	tcase_add_test(tt, viewer_page_has_no_forms);
	tcase_add_test(tt, editor_rerender_keeps_text_and_problems);
	suite_add_tcase(s, tt);
	return s;
}

CK_RUN_SUITE(make_suite)
