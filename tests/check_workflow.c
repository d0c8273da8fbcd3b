#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "workflow.h"

#define WORKFLOW_SCHEMA TOP_SRCDIR "/schema/workflow.schema.json"
#define GOLDEN TOP_SRCDIR "/tests/workflows"
#define TEST_HOSTS "api.example.com, *.hooks.example.org ,127.0.0.1"

static schema_t *schema;
static workflow_hosts_t *hosts;
static workflow_ctx_t ctx;

static void setup(void)
{
	char err[256] = "";
	schema = schema_load_file(WORKFLOW_SCHEMA, err, sizeof err);
	ck_assert_msg(schema != NULL, "%s", err);
	ck_assert_int_eq(workflow_hosts_parse(TEST_HOSTS, &hosts, err, sizeof err), 0);
	ctx = (workflow_ctx_t){.schema = schema, .hosts = hosts,
			       .allow_loopback_http = true};
}

static void teardown(void)
{
	schema_free(schema);
	workflow_hosts_free(hosts);
}

static json_t *load_json(const char *path)
{
	json_error_t je;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	ck_assert_msg(j != NULL, "%s:%d: %s", path, je.line, je.text);
	return j;
}

static bool has_pointer(const json_t *errors, const char *ptr)
{
	size_t i;
	const json_t *e;
	json_array_foreach(errors, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "pointer")), ptr) == 0)
			return true;
	}
	return false;
}

/* Calls fn for each *.json file in dir, in name order. */
static size_t each_json(const char *dir, void (*fn)(const char *path))
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	ck_assert_msg(n >= 0, "cannot read %s", dir);
	size_t count = 0;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		if (len > 5 && strcmp(names[i]->d_name + len - 5, ".json") == 0) {
			char path[1024];
			snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
			fn(path);
			count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

static json_t *seen_types; /* node and trigger types in the valid graphs */

static void expect_valid_file(const char *path)
{
	json_t *graph = load_json(path);
	json_t *errors = NULL;
	int rc = workflow_validate(&ctx, graph, &errors);
	char *dump = json_dumps(errors, JSON_INDENT(1));
	ck_assert_msg(rc == 0, "%s should be valid: %s", path, dump);
	free(dump);
	ck_assert_uint_eq(json_array_size(errors), 0);
	static const char *const lists[] = {"nodes", "triggers"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(graph, lists[l]), i, x)
		{
			json_object_set(seen_types,
					json_string_value(json_object_get(x, "type")),
					json_true());
		}
	}
	json_decref(errors);
	json_decref(graph);
}

static void expect_invalid_file(const char *path)
{
	json_t *c = load_json(path);
	const json_t *graph = json_object_get(c, "graph");
	const json_t *expect = json_object_get(c, "expect");
	ck_assert_msg(graph && json_array_size(expect) > 0,
		      "%s needs \"graph\" and \"expect\" (pointers)", path);
	json_t *errors = NULL;
	int rc = workflow_validate(&ctx, graph, &errors);
	char *dump = json_dumps(errors, JSON_INDENT(1));
	ck_assert_msg(rc == ERR_INVALID, "%s was accepted", path);
	size_t i;
	const json_t *p;
	json_array_foreach(expect, i, p)
	{
		ck_assert_msg(has_pointer(errors, json_string_value(p)),
			      "%s: no error at %s; got %s", path,
			      json_string_value(p), dump);
	}
	free(dump);
	json_decref(errors);
	json_decref(c);
}

START_TEST(golden_valid_graphs_pass_and_cover_the_vocabulary)
{
	seen_types = json_object();
	ck_assert_uint_ge(each_json(GOLDEN "/valid", expect_valid_file), 1);
	size_t n;
	const workflow_type_t *v = workflow_vocab(&n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(json_object_get(seen_types, v[i].type),
			      "no valid golden graph uses %s", v[i].type);
	json_decref(seen_types);
}
END_TEST

START_TEST(golden_invalid_graphs_fail_at_the_right_pointers)
{
	ck_assert_uint_ge(each_json(GOLDEN "/invalid", expect_invalid_file), 10);
}
END_TEST

/* The schema's enums and the C table must list the same types. */
START_TEST(vocabulary_matches_the_schema)
{
	const json_t *doc = schema_document(schema);
	const json_t *defs = json_object_get(doc, "$defs");
	const json_t *node_enum = json_object_get(
		json_object_get(json_object_get(json_object_get(defs, "node"),
						"properties"),
				"type"),
		"enum");
	const json_t *trig_enum = json_object_get(
		json_object_get(json_object_get(json_object_get(defs, "trigger"),
						"properties"),
				"type"),
		"enum");
	ck_assert(json_is_array(node_enum) && json_is_array(trig_enum));
	size_t n, nodes = 0, triggers = 0;
	const workflow_type_t *v = workflow_vocab(&n);
	for (size_t i = 0; i < n; i++) {
		const json_t *list = v[i].trigger ? trig_enum : node_enum;
		bool found = false;
		size_t k;
		const json_t *e;
		json_array_foreach(list, k, e)
		{
			if (strcmp(json_string_value(e), v[i].type) == 0)
				found = true;
		}
		ck_assert_msg(found, "%s missing from the schema enum", v[i].type);
		if (v[i].trigger)
			triggers++;
		else
			nodes++;
		/* every type is documented and has an output port */
		ck_assert_ptr_nonnull(v[i].doc);
		ck_assert_ptr_nonnull(v[i].out_ports[0]);
		ck_assert(v[i].trigger ? v[i].actions[0] == NULL
				       : v[i].actions[0] != NULL);
		ck_assert_ptr_eq(workflow_vocab_find(v[i].type), &v[i]);
	}
	ck_assert_uint_eq(json_array_size(node_enum), nodes);
	ck_assert_uint_eq(json_array_size(trig_enum), triggers);
	ck_assert_ptr_null(workflow_vocab_find("ftp"));
	/* if has two outputs */
	const workflow_type_t *cond = workflow_vocab_find("if");
	ck_assert_str_eq(cond->out_ports[0], "true");
	ck_assert_str_eq(cond->out_ports[1], "false");
}
END_TEST

START_TEST(cron_expressions)
{
	static const char *const good[] = {
		"* * * * *", "0 9 * * MON-FRI", "*/15 0-6,22,23 * * *",
		"30 8 1,15 jan,jul *", "0 0 * * 7", "5/10 * * * *",
		"0 12 29 2 *", "0-59/30 * 1-31/2 */3 SUN,sat", "0\t0 1 1 *",
	};
	static const char *const bad[] = {
		"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
		"* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
		"5-1 * * * *", "1,,2 * * * *", "a * * * *", "* * * FOO *",
		"* * * * MON-", "@daily", "0 0 31 4,6,9,11 *", "0 0 30 2 *",
		"*/61 * * * *", "1-2-3 * * * *", "100 * * * *",
	};
	char err[256];
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ck_assert_msg(workflow_cron_check(good[i], err, sizeof err) == 0,
			      "refused \"%s\": %s", good[i], err);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(workflow_cron_check(bad[i], err, sizeof err) == ERR_INVALID,
			      "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(workflow_cron_check("61 * * * *", err, sizeof err), ERR_INVALID);
	ck_assert(strstr(err, "minute") != NULL);
	/* With a weekday set, a day of month that never exists is OR'ed. */
	ck_assert_int_eq(workflow_cron_check("0 0 30 2 MON", err, sizeof err), 0);
}
END_TEST

START_TEST(outbound_hosts)
{
	ck_assert(workflow_hosts_allow(hosts, "api.example.com", 15));
	ck_assert(workflow_hosts_allow(hosts, "API.Example.COM", 15));
	ck_assert(!workflow_hosts_allow(hosts, "xapi.example.com", 16));
	ck_assert(!workflow_hosts_allow(hosts, "api.example.com.evil.net", 24));
	ck_assert(workflow_hosts_allow(hosts, "a.hooks.example.org", 19));
	ck_assert(workflow_hosts_allow(hosts, "a.b.hooks.example.org", 21));
	ck_assert(!workflow_hosts_allow(hosts, "hooks.example.org", 17));
	ck_assert(!workflow_hosts_allow(hosts, "evilhooks.example.org", 21));
	ck_assert(!workflow_hosts_allow(NULL, "api.example.com", 15));

	workflow_hosts_t *h = NULL;
	char err[256];
	ck_assert_int_eq(workflow_hosts_parse("", &h, err, sizeof err), 0);
	ck_assert(!workflow_hosts_allow(h, "api.example.com", 15));
	workflow_hosts_free(h);
	ck_assert_int_eq(workflow_hosts_parse("ok.com,bad host", &h, err, sizeof err),
			 ERR_INVALID);
	ck_assert(strstr(err, "bad host") != NULL);
	ck_assert_int_eq(workflow_hosts_parse("*", &h, err, sizeof err), ERR_INVALID);
	ck_assert_int_eq(workflow_hosts_parse("a..b", &h, err, sizeof err), ERR_INVALID);

	static const struct {
		const char *url;
		bool ok;
	} urls[] = {
		{"https://api.example.com/x?y=1", true},
		{"https://api.example.com", true},
		{"HTTPS://api.example.com:8443/", true},
		{"https://x.hooks.example.org/a#b", true},
		{"http://127.0.0.1:9000/fake", true}, /* loopback, allowed in tests */
		{"http://api.example.com/", false},
		{"ftp://api.example.com/", false},
		{"https://evil.com/", false},
		{"https://api.example.com@evil.com/", false},
		{"https://u:p@api.example.com/", false},
		{"https://api.example.com:0/", false},
		{"https://api.example.com:99999/", false},
		{"https://api.example.com:x/", false},
		{"https://api.example.com /", false},
		{"https:///path", false},
		{"https://{{ $json.h }}/", false},
		{"api.example.com/x", false},
	};
	for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
		int rc = workflow_url_check(&ctx, urls[i].url, strlen(urls[i].url),
					    err, sizeof err);
		ck_assert_msg((rc == 0) == urls[i].ok, "%s: want %s (%s)", urls[i].url,
			      urls[i].ok ? "ok" : "refused", err);
	}
	workflow_ctx_t strict = ctx;
	strict.allow_loopback_http = false;
	ck_assert_int_eq(workflow_url_check(&strict, "http://127.0.0.1/", 17, err,
					    sizeof err),
			 ERR_INVALID);
}
END_TEST

static json_t *valid_graph(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, GOLDEN "/valid/%s.json", name);
	return load_json(path);
}

START_TEST(ten_megabytes_of_nesting_is_refused)
{
	/* Built in memory: jansson's parser stops text at depth 2048, but
	 * graphs also arrive built by code. */
	json_t *graph = valid_graph("schedule-http-set");
	size_t n = 1u << 20; /* ~10 MB of "[" and "]" as text */
	json_t **levels = malloc(n * sizeof *levels);
	ck_assert_ptr_nonnull(levels);
	for (size_t i = 0; i < n; i++)
		levels[i] = json_array();
	for (size_t i = 0; i + 1 < n; i++)
		json_array_append(levels[i], levels[i + 1]);
	json_t *inputs = json_object_get(json_array_get(json_object_get(graph, "nodes"), 1),
					 "inputs");
	json_array_append_new(inputs, json_pack("{s:s,s:O}", "key", "deep", "value",
						levels[0]));
	json_t *errors = NULL;
	ck_assert_int_eq(workflow_validate(&ctx, graph, &errors), ERR_INVALID);
	ck_assert_uint_ge(json_array_size(errors), 1);
	const char *ptr = json_string_value(
		json_object_get(json_array_get(errors, 0), "pointer"));
	ck_assert_msg(strncmp(ptr, "/nodes/1/inputs/2/value", 23) == 0, "%s", ptr);
	json_decref(errors);

	buf_t b;
	buf_init(&b, NULL, 1u << 20);
	ck_assert_int_eq(workflow_canonical(graph, &b), ERR_INVALID);
	buf_free(&b);
	char hex[WORKFLOW_HASH_HEX + 1];
	ck_assert_int_eq(workflow_hash(graph, hex), ERR_INVALID);
	ck_assert_ptr_null(workflow_plain(levels[0], false));

	/* Unlink the chain before freeing so no free recurses 1M deep. */
	json_array_remove(inputs, 2);
	for (size_t i = 0; i < n; i++) {
		json_array_clear(levels[i]);
		json_decref(levels[i]);
	}
	free(levels);
	json_decref(graph);
}
END_TEST

START_TEST(errors_are_capped)
{
	json_t *graph = valid_graph("webhook-to-slack");
	json_t *edges = json_object_get(graph, "edges");
	for (int i = 0; i < 400; i++)
		json_array_append_new(edges, json_pack("{s:s,s:s,s:s,s:s}", "fromNodeId",
						       "post", "fromPort", "main",
						       "toNodeId", "nowhere", "toPort",
						       "main"));
	json_t *errors = NULL;
	ck_assert_int_eq(workflow_validate(&ctx, graph, &errors), ERR_INVALID);
	ck_assert_uint_eq(json_array_size(errors), SCHEMA_MAX_ERRORS + 1);
	json_decref(errors);
	json_decref(graph);
}
END_TEST

START_TEST(allowlist_comes_from_the_context)
{
	json_t *graph = valid_graph("schedule-http-set");
	workflow_ctx_t none = ctx;
	none.hosts = NULL;
	json_t *errors = NULL;
	ck_assert_int_eq(workflow_validate(&none, graph, &errors), ERR_INVALID);
	ck_assert(has_pointer(errors, "/nodes/0/inputs/1/value"));
	json_decref(errors);
	ck_assert_int_eq(workflow_validate(&ctx, graph, NULL), 0);
	json_decref(graph);
}
END_TEST

START_TEST(canonical_form_and_hash)
{
	json_t *a = json_loads("{\"b\": [1, {\"y\": 2, \"x\": \"\xc3\xa9\"}], \"a\": null}", 0, NULL);
	json_t *b = json_loads("{\"a\":null,\"b\":[1,{\"x\":\"\xc3\xa9\",\"y\":2}]}", 0, NULL);
	buf_t out;
	buf_init(&out, NULL, 4096);
	ck_assert_int_eq(workflow_canonical(a, &out), 0);
	ck_assert_str_eq(buf_cstr(&out), "{\"a\":null,\"b\":[1,{\"x\":\"\xc3\xa9\",\"y\":2}]}");
	buf_free(&out);
	char ha[WORKFLOW_HASH_HEX + 1], hb[WORKFLOW_HASH_HEX + 1];
	ck_assert_int_eq(workflow_hash(a, ha), 0);
	ck_assert_int_eq(workflow_hash(b, hb), 0);
	ck_assert_str_eq(ha, hb);
	json_object_set_new(b, "a", json_integer(0));
	ck_assert_int_eq(workflow_hash(b, hb), 0);
	ck_assert_str_ne(ha, hb);
	json_decref(a);
	json_decref(b);

	json_t *empty = json_object();
	ck_assert_int_eq(workflow_hash(empty, ha), 0);
	/* sha256("{}") */
	ck_assert_str_eq(ha, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
	json_decref(empty);

	buf_init(&out, NULL, 4);
	json_t *big = json_pack("{s:s}", "k", "long value");
	ck_assert_int_eq(workflow_canonical(big, &out), ERR_TOO_LARGE);
	buf_free(&out);
	json_decref(big);
	json_t *arr = json_array();
	buf_init(&out, NULL, 64);
	ck_assert_int_eq(workflow_canonical(arr, &out), ERR_INVALID);
	buf_free(&out);
	json_decref(arr);
}
END_TEST

START_TEST(plain_values_for_translators)
{
	json_t *graph = valid_graph("manual-wait-http-auth");
	const json_t *inputs = json_object_get(
		json_array_get(json_object_get(graph, "nodes"), 1), "inputs");
	ck_assert_str_eq(json_string_value(workflow_entry(inputs, "method")), "POST");
	ck_assert_ptr_null(workflow_entry(inputs, "nope"));
	json_t *all = workflow_plain(inputs, true);
	char *s = json_dumps(json_object_get(all, "body"), JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(s, "{\"items\":[1,2,{\"deep\":{\"x\":null}}],\"mode\":\"full\"}");
	free(s);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(all, "headers"), "Content-Type")),
			 "application/json");
	json_decref(all);
	json_decref(graph);
}
END_TEST

START_TEST(secrets_are_refused_but_expressions_are_not)
{
	json_t *graph = valid_graph("schedule-http-set");
	json_t *set_fields = json_object_get(
		json_object_get(json_array_get(json_object_get(json_array_get(
							     json_object_get(graph, "nodes"), 1),
						     "inputs"),
					       0),
				"value"),
		"fields");
	static const struct {
		const char *key, *value;
		bool refused;
	} cases[] = {
		{"password", "hunter2", true},
		{"db_password", "{{ $json.pw }}", false},
		{"Authorization", "Bearer {{ $json.t }}", false},
		{"X-Api-Key", "k", true},
		{"session_cookie", "abc", true},
		{"note", "ghp_abcdefghijklmnopqrstuvwxyz0123", true},
		{"note", "token=ask-me-later", false},
		{"note", "key AKIAABCDEFGHIJKLMNOP here", true},
		{"note", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig", true},
		{"note", "-----BEGIN RSA PRIVATE KEY-----", true},
		{"note", "see https://a:b@x.com/", true},
		{"note", "task-force meeting", false},
		{"tokenizer", "", false},
		{"description", "plain words", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		json_array_append_new(set_fields, json_pack("{s:s,s:s}", "key", cases[i].key,
							    "value", cases[i].value));
		size_t idx = json_array_size(set_fields) - 1;
		char ptr[128];
		snprintf(ptr, sizeof ptr, "/nodes/1/inputs/0/value/fields/%zu/value", idx);
		json_t *errors = NULL;
		(void)!workflow_validate(&ctx, graph, &errors);
		char *dump = json_dumps(errors, 0);
		ck_assert_msg(has_pointer(errors, ptr) == cases[i].refused,
			      "%s=%s: want %s, got %s", cases[i].key, cases[i].value,
			      cases[i].refused ? "refused" : "accepted", dump);
		free(dump);
		json_decref(errors);
		json_array_remove(set_fields, idx);
	}
	json_decref(graph);
}
END_TEST

static Suite *workflow_suite(void)
{
	Suite *s = suite_create("workflow");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, golden_valid_graphs_pass_and_cover_the_vocabulary);
	tcase_add_test(tc, golden_invalid_graphs_fail_at_the_right_pointers);
	tcase_add_test(tc, vocabulary_matches_the_schema);
	tcase_add_test(tc, cron_expressions);
	tcase_add_test(tc, outbound_hosts);
	tcase_add_test(tc, ten_megabytes_of_nesting_is_refused);
	tcase_add_test(tc, errors_are_capped);
	tcase_add_test(tc, allowlist_comes_from_the_context);
	tcase_add_test(tc, canonical_form_and_hash);
	tcase_add_test(tc, plain_values_for_translators);
	tcase_add_test(tc, secrets_are_refused_but_expressions_are_not);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(workflow_suite)
