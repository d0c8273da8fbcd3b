/* lib/workflow_store against a private copy of the migrations (see
 * check_private_db.h).  Each test makes two tenants, A and B, and checks
 * that B can never reach A's rows. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_listener.h"
#include "check_private_db.h"
#include "http_client.h"
#include "log.h"
#include "publish.h"
#include "workflow.h"
#include "workflow_store.h"

#define GRAPH TOP_SRCDIR "/tests/workflows/valid/webhook-to-slack.json"

static db_t *db;
static arena_t *a;
static char schema[64];
static long long ta, tb;
static char slug_a[64], slug_b[64];

static long long sql_ll(const char *sql, const char *p1)
{
	PGresult *res;
	const char *p[] = {p1};
	int rc = db_query(db, a, sql, p1 ? 1 : 0, p1 ? p : NULL, &res);
	ck_assert_msg(rc == 0, "%s: %s", sql, db_error(db));
	return db_value_ll(res, 0, 0);
}

static const char *sql_text(const char *sql, const char *p1)
{
	PGresult *res;
	const char *p[] = {p1};
	int rc = db_query(db, a, sql, p1 ? 1 : 0, p1 ? p : NULL, &res);
	ck_assert_msg(rc == 0, "%s: %s", sql, db_error(db));
	return db_rows(res) ? db_value(res, 0, 0) : NULL;
}

static long long make_tenant(char *slug, size_t n, const char *tag)
{
	snprintf(slug, n, "wfs-%d-%s", (int)getpid(), tag);
	return sql_ll("INSERT INTO tenants (slug, name) VALUES ($1, 'Store test')"
		      " RETURNING id",
		      slug);
}

static void setup(void)
{
	log_init("check_workflow_store", LOG_ERROR);
	snprintf(schema, sizeof schema, "wfstest_%d", (int)getpid());
	db = private_db_open(schema, (const char *const[]){
		"0001_core.sql", "0003_workflows.sql", NULL});
	a = arena_new(0);
	ta = make_tenant(slug_a, sizeof slug_a, "a");
	tb = make_tenant(slug_b, sizeof slug_b, "b");
}

static void teardown(void)
{
	private_db_close(db, schema);
	arena_free(a);
}

static json_t *load_graph(void)
{
	json_error_t je;
	json_t *g = json_load_file(GRAPH, 0, &je);
	ck_assert_msg(g != NULL, "%s: %s", GRAPH, je.text);
	return g;
}

static const char *id_text(long long id)
{
	return arena_printf(a, "%lld", id);
}

/* ------------------------------------------------------------ pure */

START_TEST(status_names_round_trip)
{
	const char *names[] = {"idle", "generating", "deploying", "live", "error"};
	for (int i = 0; i < 5; i++) {
		ck_assert_str_eq(workflow_store_status_name((workflow_status_t)i),
				 names[i]);
		ck_assert_int_eq(workflow_store_status_parse(names[i]), i);
	}
	ck_assert_int_eq(workflow_store_status_parse("Live"), -1);
	ck_assert_int_eq(workflow_store_status_parse(""), -1);
	ck_assert_int_eq(workflow_store_status_parse(NULL), -1);
	ck_assert_ptr_null(workflow_store_status_name((workflow_status_t)5));
	ck_assert_ptr_null(workflow_store_status_name((workflow_status_t)-1));
}
END_TEST

START_TEST(hash_is_of_the_canonical_form)
{
	char h1[65], h2[65], h3[65], h4[65];
	json_t *g1 = json_loads("{\"b\": {\"d\": null, \"c\": \"x\"},\n \"a\": [1, 2]}",
				0, NULL);
	json_t *g2 = json_loads("{\"a\":[1,2],\"b\":{\"c\":\"x\",\"d\":null}}", 0,
				NULL);
	json_t *g3 = json_loads("{\"a\":[2,1],\"b\":{\"c\":\"x\",\"d\":null}}", 0,
				NULL);
	ck_assert_int_eq(workflow_store_hash(g1, h1), 0);
	ck_assert_int_eq(workflow_store_hash(g2, h2), 0);
	ck_assert_int_eq(workflow_store_hash(g3, h3), 0);
	/* sha256 of {"a":[1,2],"b":{"c":"x","d":null}} */
	ck_assert_str_eq(h1, "160815c245387ce7afdcd0a470dedf2f40a97b1642dbccf8d6e493523fbe3d93");
	ck_assert_str_eq(h1, h2);
	ck_assert_str_ne(h1, h3); /* array order matters */
	/* the same as the workflow module's identity */
	ck_assert_int_eq(workflow_hash(g3, h4), 0);
	ck_assert_str_eq(h3, h4);
	json_t *arr = json_array();
	ck_assert_int_eq(workflow_store_hash(arr, h4), ERR_INVALID);
	json_decref(arr);
	json_decref(g1);
	json_decref(g2);
	json_decref(g3);
}
END_TEST

START_TEST(status_message_shape)
{
	workflow_row_t row = {.id = 7, .name = "Flow", .status = WORKFLOW_ERROR,
			      .status_reason = "builder said no", .version = 3,
			      .updated_at = "2024-01-01T00:00:00+00:00"};
	json_t *m = workflow_store_status_message(&row);
	json_t *want = json_loads(
		"{\"type\":\"workflow.status\",\"workflow_id\":7,\"name\":\"Flow\","
		"\"status\":\"error\",\"reason\":\"builder said no\",\"url\":null,"
		"\"editor_url\":null,\"version\":3,"
		"\"updated_at\":\"2024-01-01T00:00:00+00:00\"}",
		0, NULL);
	ck_assert_msg(json_equal(m, want), "%s", json_dumps(m, JSON_COMPACT));
	json_decref(m);
	json_decref(want);
}
END_TEST

/* ------------------------------------------------------------ database */

START_TEST(create_get_list_scoped_by_tenant)
{
	long long id, id2;
	ck_assert_int_eq(workflow_store_create(db, a, ta, "  Lead router ",
					       "post leads to slack", &id), 0);
	ck_assert_int_eq(workflow_store_create(db, a, ta, NULL, NULL, &id2), 0);
	workflow_row_t r;
	ck_assert_int_eq(workflow_store_get(db, a, ta, id, &r), 0);
	ck_assert_int_eq(r.id, id);
	ck_assert_int_eq(r.tenant_id, ta);
	ck_assert_str_eq(r.name, "Lead router");
	ck_assert_str_eq(r.prompt, "post leads to slack");
	ck_assert_ptr_null(r.json);
	ck_assert_ptr_null(r.graph_hash);
	ck_assert_int_eq(r.version, 0);
	ck_assert_int_eq(r.status, WORKFLOW_IDLE);
	ck_assert_ptr_nonnull(r.created_at);
	ck_assert_ptr_nonnull(strchr(r.created_at, 'T'));
	ck_assert_int_eq(workflow_store_get(db, a, ta, id2, &r), 0);
	ck_assert_str_eq(r.name, "Untitled automation");

	/* B sees nothing of A's */
	ck_assert_int_eq(workflow_store_get(db, a, tb, id, &r), ERR_NOT_FOUND);
	workflow_row_t *rows;
	int n;
	ck_assert_int_eq(workflow_store_list(db, a, tb, 100, &rows, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(workflow_store_list(db, a, ta, 100, &rows, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(rows[0].id, id); /* oldest first */
	ck_assert_int_eq(rows[1].id, id2);
	ck_assert_int_eq(workflow_store_list(db, a, ta, 1, &rows, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(workflow_store_list(db, a, ta, 0, &rows, &n), ERR_INVALID);
	ck_assert_int_eq(workflow_store_get(db, a, ta, 999999999999LL, &r),
			 ERR_NOT_FOUND);
}
END_TEST

START_TEST(other_tenant_cannot_change_or_delete)
{
	long long id;
	ck_assert_int_eq(workflow_store_create(db, a, ta, "A's", NULL, &id), 0);
	json_t *g = load_graph();
	int v = -1;
	ck_assert_int_eq(workflow_store_save_graph(db, a, tb, id, g, "api", &v),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(v, -1);
	ck_assert_int_eq(workflow_store_set_status(db, a, tb, id, WORKFLOW_ERROR,
						   "x"),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(workflow_store_set_live(db, a, tb, id, "n8n", "1",
						 "http://e", NULL, NULL),
			 ERR_NOT_FOUND);
	workflow_version_t *vs;
	int n;
	ck_assert_int_eq(workflow_store_versions(db, a, tb, id, 10, &vs, &n),
			 ERR_NOT_FOUND);
	long long dep;
	ck_assert_int_eq(workflow_store_deployment_begin(db, a, tb, id, 0, 1, "n8n",
							 "0000000000000000000000000000000000000000000000000000000000000000",
							 &dep),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(workflow_store_publish(db, a, tb, id), ERR_NOT_FOUND);
	ck_assert_int_eq(workflow_store_delete(db, a, tb, id), ERR_NOT_FOUND);

	workflow_row_t r;
	ck_assert_int_eq(workflow_store_get(db, a, ta, id, &r), 0);
	ck_assert_int_eq(r.version, 0);
	ck_assert_int_eq(r.status, WORKFLOW_IDLE);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM deployments WHERE workflow_id = $1",
				id_text(id)), 0);
	json_decref(g);
}
END_TEST

START_TEST(versions_are_numbered_per_workflow)
{
	long long id, other;
	ck_assert_int_eq(workflow_store_create(db, a, ta, "old name", NULL, &id), 0);
	ck_assert_int_eq(workflow_store_create(db, a, ta, "other", NULL, &other), 0);
	workflow_version_t *vs;
	int n = -1;
	ck_assert_int_eq(workflow_store_versions(db, a, ta, id, 10, &vs, &n), 0);
	ck_assert_int_eq(n, 0);

	json_t *g = load_graph();
	log_set_request_id("req-store-1");
	int v = 0;
	ck_assert_int_eq(workflow_store_save_graph(db, a, ta, id, g, "generate", &v), 0);
	ck_assert_int_eq(v, 1);
	json_object_set_new(g, "name", json_string("Renamed by graph"));
	log_set_request_id(NULL);
	ck_assert_int_eq(workflow_store_save_graph(db, a, ta, id, g, "api", &v), 0);
	ck_assert_int_eq(v, 2);
	ck_assert_int_eq(workflow_store_save_graph(db, a, ta, other, g, "admin", &v), 0);
	ck_assert_int_eq(v, 1);

	char hex[65];
	ck_assert_int_eq(workflow_store_hash(g, hex), 0);
	workflow_row_t r;
	ck_assert_int_eq(workflow_store_get(db, a, ta, id, &r), 0);
	ck_assert_int_eq(r.version, 2);
	ck_assert_str_eq(r.graph_hash, hex);
	ck_assert_str_eq(r.name, "Renamed by graph");
	json_t *stored = json_loads(r.json, 0, NULL);
	ck_assert(json_equal(stored, g));
	json_decref(stored);

	ck_assert_int_eq(workflow_store_versions(db, a, ta, id, 10, &vs, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(vs[0].version, 2); /* newest first */
	ck_assert_str_eq(vs[0].source, "api");
	ck_assert_str_eq(vs[0].graph_hash, hex);
	ck_assert_ptr_null(vs[0].request_id);
	ck_assert_int_eq(vs[1].version, 1);
	ck_assert_str_eq(vs[1].source, "generate");
	ck_assert_str_eq(vs[1].request_id, "req-store-1");
	ck_assert_str_ne(vs[1].graph_hash, hex);
	ck_assert_int_eq(workflow_store_versions(db, a, ta, id, 1, &vs, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(vs[0].version, 2);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM workflow_versions WHERE tenant_id = $1",
				id_text(ta)), 3);

	/* a bad source changes nothing */
	ck_assert_int_eq(workflow_store_save_graph(db, a, ta, id, g, "web", &v),
			 ERR_INVALID);
	ck_assert_int_eq(workflow_store_get(db, a, ta, id, &r), 0);
	ck_assert_int_eq(r.version, 2);
	json_decref(g);
}
END_TEST

START_TEST(save_is_all_or_nothing)
{
	long long id;
	ck_assert_int_eq(workflow_store_create(db, a, ta, "x", NULL, &id), 0);
	/* A version 1 already there makes the version insert fail after the
	 * workflow's update: the update must roll back with it. */
	const char *p[] = {id_text(ta), id_text(id)};
	ck_assert_int_eq(db_query(db, a,
				  "INSERT INTO workflow_versions (tenant_id, workflow_id,"
				  " version, json, graph_hash, source) VALUES ($1, $2, 1,"
				  " '{}', repeat('a', 64), 'api')",
				  2, p, NULL),
			 0);
	json_t *g = load_graph();
	ck_assert_int_eq(workflow_store_save_graph(db, a, ta, id, g, "api", NULL),
			 ERR_CONFLICT);
	ck_assert(!db_in_transaction(db));
	workflow_row_t r;
	ck_assert_int_eq(workflow_store_get(db, a, ta, id, &r), 0);
	ck_assert_int_eq(r.version, 0);
	ck_assert_ptr_null(r.json);
	ck_assert_str_eq(r.name, "x");
	json_decref(g);
}
END_TEST

START_TEST(status_and_live)
{
	long long id;
	ck_assert_int_eq(workflow_store_create(db, a, ta, "s", NULL, &id), 0);
	workflow_row_t r;
	ck_assert_int_eq(workflow_store_set_status(db, a, ta, id, WORKFLOW_ERROR,
						   "the builder refused it"), 0);
	ck_assert_int_eq(workflow_store_get(db, a, ta, id, &r), 0);
	ck_assert_int_eq(r.status, WORKFLOW_ERROR);
	ck_assert_str_eq(r.status_reason, "the builder refused it");
	ck_assert_int_eq(workflow_store_set_status(db, a, ta, id,
						   WORKFLOW_DEPLOYING, NULL), 0);
	ck_assert_int_eq(workflow_store_get(db, a, ta, id, &r), 0);
	ck_assert_int_eq(r.status, WORKFLOW_DEPLOYING);
	ck_assert_ptr_null(r.status_reason);
	ck_assert_int_eq(workflow_store_set_status(db, a, ta, id,
						   (workflow_status_t)9, NULL),
			 ERR_INVALID);
	const char *hash = "abababababababababababababababababababababababababababababababab";
	ck_assert_int_eq(workflow_store_set_live(db, a, ta, id, "n8n", "wf-12",
						 "http://n8n/workflow/wf-12",
						 "http://n8n/webhook/x", hash), 0);
	ck_assert_int_eq(workflow_store_get(db, a, ta, id, &r), 0);
	ck_assert_int_eq(r.status, WORKFLOW_LIVE);
	ck_assert_str_eq(r.builder_kind, "n8n");
	ck_assert_str_eq(r.external_id, "wf-12");
	ck_assert_str_eq(r.editor_url, "http://n8n/workflow/wf-12");
	ck_assert_str_eq(r.last_run_url, "http://n8n/webhook/x");
	ck_assert_str_eq(r.deployed_hash, hash);
}
END_TEST

START_TEST(status_changes_are_published_after_commit)
{
	listener_t l;
	ck_assert_int_eq(listener_start(&l, 201), 0);
	config_t cfg = {0};
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/pub/", l.port);
	cfg.nchan_publish_url = url;
	publish_init(&cfg);

	long long id;
	ck_assert_int_eq(workflow_store_create(db, a, ta, "pub", NULL, &id), 0);
	ck_assert_int_eq(workflow_store_set_status(db, a, ta, id, WORKFLOW_ERROR,
						   "no credential"), 0);
	ck_assert_int_eq(listener_wait(&l, 1, 2000), 1);
	ck_assert_str_eq(l.req[0].path, arena_printf(a, "/pub/%s", slug_a));
	json_t *m = json_loads(l.req[0].body, 0, NULL);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "workflow.status");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "workflow_id")), id);
	ck_assert_str_eq(json_string_value(json_object_get(m, "status")), "error");
	ck_assert_str_eq(json_string_value(json_object_get(m, "reason")), "no credential");
	ck_assert(json_is_null(json_object_get(m, "url")));
	json_decref(m);

	/* inside the caller's transaction: nothing until publish */
	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(workflow_store_set_status(db, a, ta, id,
						   WORKFLOW_DEPLOYING, NULL), 0);
	workflow_store_change_t change;
	ck_assert_int_eq(workflow_store_update_status(db, a, ta, id,
						      WORKFLOW_LIVE, NULL,
						      &change), 0);
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert_int_eq(listener_wait(&l, 2, 300), 1);
	/* someone else moves it on before we publish: the message still
	 * says what our change set */
	ck_assert_int_eq(workflow_store_update_status(db, a, ta, id,
						      WORKFLOW_ERROR, "x",
						      NULL), 0);
	workflow_store_publish_change(&change);
	ck_assert_int_eq(listener_wait(&l, 2, 2000), 2);
	m = json_loads(l.req[1].body, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(m, "status")), "live");
	json_decref(m);
	ck_assert_int_eq(workflow_store_publish(db, a, ta, id), 0);
	ck_assert_int_eq(listener_wait(&l, 3, 2000), 3);
	m = json_loads(l.req[2].body, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(m, "status")), "error");
	ck_assert_str_eq(json_string_value(json_object_get(m, "reason")), "x");
	json_decref(m);

	ck_assert_int_eq(workflow_store_set_live(db, a, ta, id, "builder", "p1",
						 "http://b/p1", "http://b/run", NULL), 0);
	ck_assert_int_eq(listener_wait(&l, 4, 2000), 4);
	m = json_loads(l.req[3].body, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(m, "status")), "live");
	ck_assert_str_eq(json_string_value(json_object_get(m, "url")), "http://b/run");
	ck_assert_str_eq(json_string_value(json_object_get(m, "editor_url")), "http://b/p1");
	json_decref(m);

	ck_assert_int_eq(workflow_store_delete(db, a, ta, id), 0);
	ck_assert_int_eq(listener_wait(&l, 5, 2000), 5);
	m = json_loads(l.req[4].body, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "workflow.deleted");
	json_decref(m);

	/* a dead publisher never fails the change */
	listener_stop(&l);
	long long id2;
	ck_assert_int_eq(workflow_store_create(db, a, ta, "pub2", NULL, &id2), 0);
	ck_assert_int_eq(workflow_store_set_status(db, a, ta, id2, WORKFLOW_LIVE,
						   NULL), 0);
	publish_init(NULL);
	http_client_clear_allowed();
}
END_TEST

START_TEST(create_as_and_delete)
{
	long long id;
	workflow_store_change_t change;
	ck_assert_int_eq(workflow_store_create_as(db, a, ta, "g", "p",
						  WORKFLOW_GENERATING, &id,
						  &change), 0);
	ck_assert_str_eq(json_string_value(json_object_get(change.message,
							   "status")),
			 "generating");
	workflow_row_t r;
	ck_assert_int_eq(workflow_store_get(db, a, ta, id, &r), 0);
	ck_assert_int_eq(r.status, WORKFLOW_GENERATING);
	json_t *g = load_graph();
	ck_assert_int_eq(workflow_store_save_graph(db, a, ta, id, g, "generate", NULL), 0);
	long long dep;
	ck_assert_int_eq(workflow_store_deployment_begin(db, a, ta, id, 0, 1, "n8n",
							 "abababababababababababababababababababababababababababababababab",
							 &dep), 0);
	ck_assert_int_eq(workflow_store_delete(db, a, ta, id), 0);
	ck_assert_int_eq(workflow_store_get(db, a, ta, id, &r), ERR_NOT_FOUND);
	ck_assert_int_eq(workflow_store_delete(db, a, ta, id), ERR_NOT_FOUND);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM workflow_versions WHERE workflow_id = $1",
				id_text(id)), 0);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM deployments WHERE workflow_id = $1",
				id_text(id)), 0);
	json_decref(g);
}
END_TEST

START_TEST(deployments_record_attempts)
{
	long long id, d1, d2;
	ck_assert_int_eq(workflow_store_create(db, a, ta, "d", NULL, &id), 0);
	const char *hash = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
	log_set_request_id("req-dep");
	ck_assert_int_eq(workflow_store_deployment_begin(db, a, ta, id, 77, 1,
							 "builder", hash, &d1), 0);
	log_set_request_id(NULL);
	ck_assert_int_eq(workflow_store_deployment_begin(db, a, ta, id, 77, 2,
							 "builder", hash, &d2), 0);
	ck_assert_int_ne(d1, d2);
	ck_assert_str_eq(sql_text("SELECT status || ' ' || job_id || ' ' || request_id"
				  " FROM deployments WHERE id = $1", id_text(d1)),
			 "running 77 req-dep");
	/* B cannot finish A's deployment */
	ck_assert_int_eq(workflow_store_deployment_end(db, a, tb, d1, true, "x", NULL,
						       200, NULL),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(workflow_store_deployment_end(db, a, ta, d1, false, NULL,
						       NULL, 500, "builder: 500"), 0);
	ck_assert_int_eq(workflow_store_deployment_end(db, a, ta, d2, true, "p-9",
						       "http://b/p-9", 201, NULL), 0);
	ck_assert_str_eq(sql_text("SELECT status || ' ' || http_status || ' ' || error"
				  " FROM deployments WHERE id = $1", id_text(d1)),
			 "failed 500 builder: 500");
	ck_assert_str_eq(sql_text("SELECT status || ' ' || external_id || ' ' || url ||"
				  " ' ' || (finished_at IS NOT NULL)"
				  " FROM deployments WHERE id = $1", id_text(d2)),
			 "succeeded p-9 http://b/p-9 true");
	ck_assert_int_eq(workflow_store_deployment_begin(db, a, ta, id, 0, 0,
							 "builder", hash, &d1),
			 ERR_INVALID); /* attempt >= 1 */
	ck_assert_int_eq(workflow_store_deployment_begin(db, a, ta, id, 0, 1,
							 "zapier", hash, &d1),
			 ERR_INVALID);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("workflow_store");
	TCase *pure = tcase_create("pure");
	tcase_add_test(pure, status_names_round_trip);
	tcase_add_test(pure, hash_is_of_the_canonical_form);
	tcase_add_test(pure, status_message_shape);
	suite_add_tcase(s, pure);
	TCase *tc = tcase_create("db");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, create_get_list_scoped_by_tenant);
	tcase_add_test(tc, other_tenant_cannot_change_or_delete);
	tcase_add_test(tc, versions_are_numbered_per_workflow);
	tcase_add_test(tc, save_is_all_or_nothing);
	tcase_add_test(tc, status_and_live);
	tcase_add_test(tc, status_changes_are_published_after_commit);
	tcase_add_test(tc, create_as_and_delete);
	tcase_add_test(tc, deployments_record_attempts);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_DB_SUITE(make_suite)
