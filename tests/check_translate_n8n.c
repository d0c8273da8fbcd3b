/* translate_n8n: every vocabulary type's n8n node, connections, layout,
 * credentials, webhook paths, determinism, and the golden graphs
 * accepted (created, activated, webhook served) by the n8n fake. */
#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "check_util.h"
#include "fakes/fake_util.h"
#include "http_client.h"
#include "translate_n8n.h"
#include "workflow.h"

#define WORKFLOW_SCHEMA TOP_SRCDIR "/schema/workflow.schema.json"
#define GOLDEN TOP_SRCDIR "/tests/workflows/valid"
#define TEST_HOSTS "api.example.com, *.hooks.example.org"
#define N8N_KEY "n8n-test-api-key"

static schema_t *schema;
static workflow_hosts_t *hosts;
static workflow_ctx_t ctx;

static void setup(void)
{
	char err[256] = "";
	schema = schema_load_file(WORKFLOW_SCHEMA, err, sizeof err);
	ck_assert_msg(schema != NULL, "%s", err);
	ck_assert_int_eq(workflow_hosts_parse(TEST_HOSTS, &hosts, err, sizeof err), 0);
	ctx = (workflow_ctx_t){.schema = schema, .hosts = hosts};
}

static void teardown(void)
{
	schema_free(schema);
	workflow_hosts_free(hosts);
}

/* ------------------------------------------------------------ helpers */

/* JSON written with ' for " (the texts below hold no apostrophes). */
static json_t *jq(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *jq(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
	va_end(ap);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);
	ck_assert_msg(j != NULL, "bad test JSON (%s): %s", je.text, s);
	free(s);
	return j;
}

/* The graph must pass workflow_validate: the translator relies on it. */
static json_t *valid(json_t *g)
{
	json_t *errors = NULL;
	int rc = workflow_validate(&ctx, g, &errors);
	char *dump = json_dumps(errors, JSON_INDENT(1));
	ck_assert_msg(rc == 0, "test graph is not valid: %s", dump);
	free(dump);
	json_decref(errors);
	return g;
}

#define WEBHOOK_START                                                   \
	"{'id':'start','type':'webhook','config':[{'key':'path','value':'in'}]}"

/* A webhook trigger "start" and one node "n" behind it. */
static json_t *one_node(const char *type, const char *action,
			const char *inputs, const char *outputs,
			const char *auth_ref)
{
	char auth[80];
	snprintf(auth, sizeof auth, auth_ref ? "'%s'" : "null", auth_ref);
	return valid(jq("{'name':'T','description':'','env':[],"
			"'triggers':[" WEBHOOK_START "],"
			"'nodes':[{'id':'n','type':'%s','action':'%s','inputs':%s,"
			"'outputs':%s,'authRef':%s}],"
			"'edges':[{'fromNodeId':'start','fromPort':'main',"
			"'toNodeId':'n','toPort':'main'}]}",
			type, action, inputs, outputs, auth));
}

/* One trigger "t" (type, config) and a wait node behind it. */
static json_t *one_trigger(const char *type, const char *config)
{
	return valid(jq("{'name':'T','description':'','env':[],"
			"'triggers':[{'id':'t','type':'%s','config':%s}],"
			"'nodes':[{'id':'w','type':'wait','action':'delay','inputs':"
			"[{'key':'amount','value':1},{'key':'unit','value':'seconds'}],"
			"'outputs':['main'],'authRef':null}],"
			"'edges':[{'fromNodeId':'t','fromPort':'main',"
			"'toNodeId':'w','toPort':'main'}]}",
			type, config));
}

/* Credentials the callback knows: authRef -> id; every call is logged. */
static json_t *known_creds;
static json_t *cred_calls;

static int lookup(void *c, const char *auth_ref, const char *type,
		  translate_n8n_cred_t *out)
{
	json_t *calls = c;
	json_array_append_new(calls, json_pack("[s,s]", auth_ref, type));
	const char *id = json_string_value(json_object_get(known_creds, auth_ref));
	if (!id)
		return ERR_NOT_FOUND;
	out->id = id;
	out->name = auth_ref;
	return 0;
}

static json_t *tr(const json_t *g, const char *prefix)
{
	translate_n8n_opts_t o = {.credential = lookup, .ctx = cred_calls,
				  .webhook_path_prefix = prefix};
	json_t *wf = NULL;
	char err[256] = "";
	int rc = translate_n8n(g, &o, &wf, err, sizeof err);
	ck_assert_msg(rc == 0, "translate failed (%d): %s", rc, err);
	ck_assert_ptr_nonnull(wf);
	return wf;
}

static void cred_fixture(void)
{
	setup();
	known_creds = json_pack("{s:s,s:s,s:s,s:s,s:s}", "slack_main", "c-slack",
				"gmail_boss", "c-gmail", "smtp_relay", "c-smtp",
				"api_key", "c-api", "partner-api", "c-partner");
	cred_calls = json_array();
}

static void cred_teardown(void)
{
	json_decref(known_creds);
	json_decref(cred_calls);
	teardown();
}

static json_t *node_named(const json_t *wf, const char *name)
{
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(wf, "nodes"), i, n)
	{
		if (strcmp(json_string_value(json_object_get(n, "name")), name) == 0)
			return n;
	}
	ck_abort_msg("no node named %s", name);
	return NULL;
}

static bool is_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return true;
}

/* A copy of v without "id" members, each checked to be a UUID. */
static json_t *strip_ids(const json_t *v)
{
	json_t *c = json_deep_copy(v);
	json_t *stack[256];
	size_t sp = 0;
	stack[sp++] = c;
	while (sp) {
		json_t *x = stack[--sp];
		if (json_is_object(x)) {
			json_t *id = json_object_get(x, "id");
			if (id) {
				ck_assert_msg(is_uuid(json_string_value(id)),
					      "id is not a UUID");
				json_object_del(x, "id");
			}
			const char *k;
			json_t *e;
			json_object_foreach(x, k, e)
			{
				if (sp < 256)
					stack[sp++] = e;
			}
		} else if (json_is_array(x)) {
			size_t i;
			json_t *e;
			json_array_foreach(x, i, e)
			{
				if (sp < 256)
					stack[sp++] = e;
			}
		}
	}
	return c;
}

static void expect_json(const json_t *got, json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
		char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
		ck_abort_msg("got  %s\nwant %s", g, w);
	}
	json_decref(want);
}

/* Checks a node's n8n type, exact typeVersion and [x, y] position, and
 * returns its parameters with the ids stripped (caller decrefs). */
static json_t *check_node(const json_t *node, const char *type, double version)
{
	ck_assert_str_eq(json_string_value(json_object_get(node, "type")), type);
	const json_t *v = json_object_get(node, "typeVersion");
	ck_assert_msg(json_is_number(v) && json_number_value(v) == version,
		      "%s: typeVersion %g, want %g", type, json_number_value(v),
		      version);
	const json_t *pos = json_object_get(node, "position");
	ck_assert_uint_eq(json_array_size(pos), 2);
	ck_assert(json_is_integer(json_array_get(pos, 0)));
	ck_assert(json_is_integer(json_array_get(pos, 1)));
	ck_assert(is_uuid(json_string_value(json_object_get(node, "id"))));
	return strip_ids(json_object_get(node, "parameters"));
}

static const char *param_str(const json_t *node, const char *key)
{
	return json_string_value(json_object_get(json_object_get(node, "parameters"), key));
}

/* ------------------------------------------------------------ triggers */

START_TEST(webhook_trigger)
{
	json_t *g = one_trigger("webhook",
				"[{'key':'path','value':'contact-form'},"
				"{'key':'method','value':'PUT'}]");
	json_t *wf = tr(g, "t42/");
	json_t *n = node_named(wf, "T");
	json_t *p = check_node(n, "n8n-nodes-base.webhook", 2);
	expect_json(p, jq("{'httpMethod':'PUT','path':'t42/contact-form',"
			  "'responseMode':'onReceived','options':{}}"));
	json_decref(p);
	/* n8n serves <path> itself only for a node with a webhookId. */
	ck_assert(is_uuid(json_string_value(json_object_get(n, "webhookId"))));
	ck_assert_str_eq(translate_n8n_webhook_path(wf), "t42/contact-form");
	ck_assert_ptr_null(json_object_get(n, "credentials"));
	json_decref(wf);

	wf = tr(g, NULL);
	ck_assert_str_eq(translate_n8n_webhook_path(wf), "contact-form");
	json_decref(wf);
	wf = tr(g, "/x/");
	ck_assert_str_eq(translate_n8n_webhook_path(wf), "x/contact-form");
	json_decref(wf);
	json_decref(g);

	g = one_trigger("webhook", "[{'key':'path','value':'a/b'}]");
	wf = tr(g, "t1/");
	ck_assert_str_eq(param_str(node_named(wf, "T"), "httpMethod"), "POST");
	json_decref(wf);
	json_decref(g);
}
END_TEST

START_TEST(schedule_trigger)
{
	json_t *g = one_trigger("schedule",
				"[{'key':'cron','value':'30 8 * * MON-FRI'},"
				"{'key':'timezone','value':'Europe/Paris'}]");
	json_t *wf = tr(g, NULL);
	json_t *p = check_node(node_named(wf, "T"), "n8n-nodes-base.scheduleTrigger", 1.2);
	expect_json(p, jq("{'rule':{'interval':[{'field':'cronExpression',"
			  "'expression':'30 8 * * MON-FRI'}]}}"));
	json_decref(p);
	/* n8n runs schedules in the workflow's time zone. */
	expect_json(json_object_get(wf, "settings"),
		    jq("{'executionOrder':'v1','timezone':'Europe/Paris'}"));
	ck_assert_ptr_null(translate_n8n_webhook_path(wf));
	json_decref(wf);
	json_decref(g);

	g = one_trigger("schedule", "[{'key':'cron','value':'0 * * * *'}]");
	wf = tr(g, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(wf, "settings"),
							   "timezone")),
			 "UTC");
	json_decref(wf);
	json_decref(g);
}
END_TEST

START_TEST(schedules_in_two_time_zones_are_refused)
{
	json_t *g = valid(jq(
		"{'name':'T','description':'','env':[],'triggers':["
		"{'id':'a','type':'schedule','config':[{'key':'cron','value':'0 9 * * *'},"
		"{'key':'timezone','value':'Europe/Paris'}]},"
		"{'id':'b','type':'schedule','config':[{'key':'cron','value':'0 9 * * *'}]}],"
		"'nodes':[{'id':'w','type':'wait','action':'delay','inputs':"
		"[{'key':'amount','value':1},{'key':'unit','value':'seconds'}],"
		"'outputs':['main'],'authRef':null}],'edges':["
		"{'fromNodeId':'a','fromPort':'main','toNodeId':'w','toPort':'main'},"
		"{'fromNodeId':'b','fromPort':'main','toNodeId':'w','toPort':'main'}]}"));
	json_t *wf = NULL;
	char err[256] = "";
	ck_assert_int_eq(translate_n8n(g, NULL, &wf, err, sizeof err), ERR_INVALID);
	ck_assert_ptr_null(wf);
	ck_assert_msg(strstr(err, "time zone") && strstr(err, "Europe/Paris"), "%s", err);
	json_decref(g);
}
END_TEST

START_TEST(event_triggers)
{
	json_t *g = one_trigger("event", "[{'key':'event','value':'manual'}]");
	json_t *wf = tr(g, "t9/");
	json_t *p = check_node(node_named(wf, "T"), "n8n-nodes-base.manualTrigger", 1);
	expect_json(p, jq("{}"));
	json_decref(p);
	ck_assert_ptr_null(translate_n8n_webhook_path(wf));
	expect_json(json_object_get(wf, "settings"), jq("{'executionOrder':'v1'}"));
	json_decref(wf);
	json_decref(g);

	/* Any other Canopy event is delivered to a webhook under events/. */
	g = one_trigger("event", "[{'key':'event','value':'form.submitted'}]");
	wf = tr(g, "t9/");
	p = check_node(node_named(wf, "T"), "n8n-nodes-base.webhook", 2);
	expect_json(p, jq("{'httpMethod':'POST','path':'t9/events/form.submitted',"
			  "'responseMode':'onReceived','options':{}}"));
	json_decref(p);
	ck_assert_str_eq(translate_n8n_webhook_path(wf), "t9/events/form.submitted");
	json_decref(wf);
	json_decref(g);
}
END_TEST

/* ------------------------------------------------------------ nodes */

START_TEST(http_request_full)
{
	json_t *g = one_node(
		"http", "request",
		"[{'key':'method','value':'POST'},"
		"{'key':'url','value':'https://api.example.com/v1/items?day={{ $now }}'},"
		"{'key':'headers','value':{'fields':[{'key':'Content-Type','value':'application/json'},"
		"{'key':'X-Count','value':3}]}},"
		"{'key':'query','value':{'fields':[{'key':'format','value':'json'},"
		"{'key':'page','value':'{{ $json.page }}'}]}},"
		"{'key':'body','value':{'fields':[{'key':'name','value':'{{ $json.name }}'},"
		"{'key':'tags','value':['a','{b}']},{'key':'n','value':1.5},"
		"{'key':'deep','value':{'fields':[{'key':'x','value':null},"
		"{'key':'ok','value':true}]}}]}},"
		"{'key':'authentication','value':'header'},"
		"{'key':'timeoutSeconds','value':45}]",
		"['main']", "api_key");
	json_t *wf = tr(g, NULL);
	json_t *n = node_named(wf, "N");
	json_t *p = check_node(n, "n8n-nodes-base.httpRequest", 4.2);
	/* The body is an expression building the object, so {{ }} values keep
	 * their type and no quoting breaks; braces in text are escaped so
	 * nothing ends n8n's {{ }} early. */
	ck_assert_str_eq(json_string_value(json_object_get(p, "jsonBody")),
			 "={{ { \"name\": ($json.name), \"tags\": [\"a\", "
			 "\"\\u007bb\\u007d\"], \"n\": 1.5, \"deep\": { \"x\": null, "
			 "\"ok\": true } } }}");
	json_object_del(p, "jsonBody");
	expect_json(p, jq("{'method':'POST',"
			  "'url':'=https://api.example.com/v1/items?day={{ $now }}',"
			  "'authentication':'genericCredentialType',"
			  "'genericAuthType':'httpHeaderAuth',"
			  "'sendQuery':true,'specifyQuery':'keypair',"
			  "'queryParameters':{'parameters':[{'name':'format','value':'json'},"
			  "{'name':'page','value':'={{ $json.page }}'}]},"
			  "'sendHeaders':true,'specifyHeaders':'keypair',"
			  "'headerParameters':{'parameters':[{'name':'Content-Type',"
			  "'value':'application/json'},{'name':'X-Count','value':'3'}]},"
			  "'sendBody':true,'contentType':'json','specifyBody':'json',"
			  "'options':{'timeout':45000}}"));
	json_decref(p);
	expect_json(json_object_get(n, "credentials"),
		    jq("{'httpHeaderAuth':{'id':'c-api','name':'api_key'}}"));
	expect_json(cred_calls, jq("[['api_key','httpHeaderAuth']]"));
	json_decref(wf);
	json_decref(g);
}
END_TEST

START_TEST(http_request_plain)
{
	json_t *g = one_node("http", "request",
			     "[{'key':'method','value':'PUT'},"
			     "{'key':'url','value':'https://api.example.com/x'},"
			     "{'key':'headers','value':{'fields':[{'key':'content-type',"
			     "'value':'text/csv'}]}},"
			     "{'key':'body','value':'a,b'},"
			     "{'key':'authentication','value':'none'}]",
			     "['main']", NULL);
	json_t *wf = tr(g, NULL);
	json_t *n = node_named(wf, "N");
	json_t *p = check_node(n, "n8n-nodes-base.httpRequest", 4.2);
	expect_json(p, jq("{'method':'PUT','url':'https://api.example.com/x',"
			  "'authentication':'none','sendHeaders':true,"
			  "'specifyHeaders':'keypair','headerParameters':{'parameters':"
			  "[{'name':'content-type','value':'text/csv'}]},"
			  "'sendBody':true,'contentType':'raw','rawContentType':'text/csv',"
			  "'body':'a,b','options':{}}"));
	json_decref(p);
	ck_assert_ptr_null(json_object_get(n, "credentials"));
	ck_assert_uint_eq(json_array_size(cred_calls), 0);
	json_decref(wf);
	json_decref(g);

	/* A literal map body is plain JSON text. */
	g = one_node("http", "request",
		     "[{'key':'method','value':'POST'},"
		     "{'key':'url','value':'https://api.example.com/x'},"
		     "{'key':'body','value':{'fields':[{'key':'a','value':[1,2]},"
		     "{'key':'b','value':'=x'}]}},"
		     "{'key':'timeoutSeconds','value':'{{ $json.t }}'}]",
		     "['main']", NULL);
	wf = tr(g, NULL);
	p = json_object_get(node_named(wf, "N"), "parameters");
	ck_assert_str_eq(json_string_value(json_object_get(p, "jsonBody")),
			 "{\"a\":[1,2],\"b\":\"=x\"}");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "options"),
							   "timeout")),
			 "={{ Number(($json.t)) * 1000 }}");
	ck_assert_str_eq(json_string_value(json_object_get(p, "authentication")), "none");
	json_decref(wf);
	json_decref(g);
}
END_TEST

START_TEST(set_fields)
{
	json_t *g = one_node(
		"set", "set",
		"[{'key':'fields','value':{'fields':["
		"{'key':'total','value':'{{ $json.total }}'},"
		"{'key':'source','value':'report'},"
		"{'key':'count','value':3},"
		"{'key':'ok','value':true},"
		"{'key':'list','value':[1,'x']},"
		"{'key':'obj','value':{'fields':[{'key':'k','value':'Hi {{ $json.k }}!'}]}},"
		"{'key':'eq','value':'=x'}]}},"
		"{'key':'keepOnlySet','value':true}]",
		"['main']", NULL);
	json_t *wf = tr(g, NULL);
	json_t *p = check_node(node_named(wf, "N"), "n8n-nodes-base.set", 3.4);
	expect_json(p, jq(
		"{'mode':'manual','duplicateItem':false,'assignments':{'assignments':["
		"{'name':'total','value':'={{ $json.total }}','type':'string'},"
		"{'name':'source','value':'report','type':'string'},"
		"{'name':'count','value':3,'type':'number'},"
		"{'name':'ok','value':true,'type':'boolean'},"
		"{'name':'list','value':'[1,\\'x\\']','type':'array'},"
		"{'name':'obj','value':'={{ { \\'k\\': (\\'Hi \\' + ($json.k) + \\'!\\') } }}',"
		"'type':'object'},"
		"{'name':'eq','value':'==x','type':'string'}]},"
		"'includeOtherFields':false,'options':{'ignoreConversionErrors':true}}"));
	json_decref(p);
	/* Each assignment has its own id. */
	json_t *as = json_object_get(json_object_get(json_object_get(node_named(wf, "N"),
								    "parameters"),
						     "assignments"),
				     "assignments");
	ck_assert_str_ne(json_string_value(json_object_get(json_array_get(as, 0), "id")),
			 json_string_value(json_object_get(json_array_get(as, 1), "id")));
	json_decref(wf);
	json_decref(g);

	g = one_node("set", "set",
		     "[{'key':'fields','value':{'fields':[{'key':'a','value':'b'}]}}]",
		     "['main']", NULL);
	wf = tr(g, NULL);
	ck_assert(json_is_true(json_object_get(json_object_get(node_named(wf, "N"),
							       "parameters"),
					       "includeOtherFields")));
	json_decref(wf);
	json_decref(g);
}
END_TEST

START_TEST(if_conditions)
{
	json_t *g = one_node(
		"if", "condition",
		"[{'key':'conditions','value':["
		"{'fields':[{'key':'left','value':'{{ $json.budget }}'},"
		"{'key':'operator','value':'gte'},{'key':'right','value':10000}]},"
		"{'fields':[{'key':'left','value':'{{ $json.name }}'},"
		"{'key':'operator','value':'isEmpty'}]}]},"
		"{'key':'combinator','value':'or'}]",
		"['true','false']", NULL);
	json_t *wf = tr(g, NULL);
	json_t *p = check_node(node_named(wf, "N"), "n8n-nodes-base.if", 2);
	expect_json(p, jq(
		"{'conditions':{'options':{'caseSensitive':true,'leftValue':'',"
		"'typeValidation':'loose'},'conditions':["
		"{'leftValue':'={{ $json.budget }}','rightValue':10000,"
		"'operator':{'type':'number','operation':'gte'}},"
		"{'leftValue':'={{ $json.name }}','rightValue':'',"
		"'operator':{'type':'string','operation':'empty','singleValue':true}}],"
		"'combinator':'or'},"
		"'options':{'ignoreCase':false,'looseTypeValidation':true}}"));
	json_decref(p);
	json_decref(wf);
	json_decref(g);
}
END_TEST

/* Every operator the checks accept has an n8n filter operation. */
START_TEST(if_every_operator)
{
	static const struct {
		const char *ours, *right, *type, *operation;
	} want[] = {
		{"equals", "'x'", "string", "equals"},
		{"equals", "5", "number", "equals"},
		{"equals", "true", "boolean", "equals"},
		{"notEquals", "'x'", "string", "notEquals"},
		{"contains", "'x'", "string", "contains"},
		{"notContains", "'x'", "string", "notContains"},
		{"startsWith", "'x'", "string", "startsWith"},
		{"endsWith", "'x'", "string", "endsWith"},
		{"gt", "1", "number", "gt"},
		{"gte", "1", "number", "gte"},
		{"lt", "1", "number", "lt"},
		{"lte", "1", "number", "lte"},
		{"isEmpty", NULL, "string", "empty"},
		{"isNotEmpty", NULL, "string", "notEmpty"},
	};
	const char *const *ops = workflow_condition_operators();
	for (size_t k = 0; ops[k]; k++) {
		bool covered = false;
		for (size_t i = 0; i < sizeof want / sizeof *want; i++)
			covered |= strcmp(want[i].ours, ops[k]) == 0;
		ck_assert_msg(covered, "operator %s has no expectation here", ops[k]);
	}
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		char inputs[512];
		snprintf(inputs, sizeof inputs,
			 "[{'key':'conditions','value':[{'fields':["
			 "{'key':'left','value':'{{ $json.a }}'},"
			 "{'key':'operator','value':'%s'}%s%s%s]}]}]",
			 want[i].ours, want[i].right ? ",{'key':'right','value':" : "",
			 want[i].right ? want[i].right : "", want[i].right ? "}" : "");
		json_t *g = one_node("if", "condition", inputs, "['true','false']", NULL);
		json_t *wf = tr(g, NULL);
		const json_t *params = json_object_get(node_named(wf, "N"), "parameters");
		const json_t *c = json_array_get(
			json_object_get(json_object_get(params, "conditions"), "conditions"), 0);
		const json_t *op = json_object_get(c, "operator");
		ck_assert_msg(strcmp(json_string_value(json_object_get(op, "type")),
				     want[i].type) == 0 &&
				      strcmp(json_string_value(json_object_get(op, "operation")),
					     want[i].operation) == 0,
			      "%s/%s gave %s/%s", want[i].ours, want[i].right,
			      json_string_value(json_object_get(op, "type")),
			      json_string_value(json_object_get(op, "operation")));
		ck_assert(json_is_true(json_object_get(op, "singleValue")) == !want[i].right);
		json_decref(wf);
		json_decref(g);
	}
}
END_TEST

START_TEST(slack_post)
{
	json_t *g = one_node("slack", "postMessage",
			     "[{'key':'channel','value':'#sales'},"
			     "{'key':'text','value':'New lead: {{ $json.body.email }}'},"
			     "{'key':'threadTs','value':'{{ $json.ts }}'}]",
			     "['main']", "slack_main");
	json_t *wf = tr(g, NULL);
	json_t *n = node_named(wf, "N");
	json_t *p = check_node(n, "n8n-nodes-base.slack", 2.2);
	expect_json(p, jq("{'resource':'message','operation':'post','select':'channel',"
			  "'channelId':{'__rl':true,'mode':'name','value':'#sales'},"
			  "'messageType':'text','text':'=New lead: {{ $json.body.email }}',"
			  "'otherOptions':{'thread_ts':{'replyValues':"
			  "{'thread_ts':'={{ $json.ts }}'}}}}"));
	json_decref(p);
	expect_json(json_object_get(n, "credentials"),
		    jq("{'slackApi':{'id':'c-slack','name':'slack_main'}}"));
	json_decref(wf);
	json_decref(g);

	g = one_node("slack", "postMessage",
		     "[{'key':'channel','value':'C0123ABCD'},{'key':'text','value':'hi'}]",
		     "['main']", "slack_main");
	wf = tr(g, NULL);
	p = json_object_get(node_named(wf, "N"), "parameters");
	expect_json(json_object_get(p, "channelId"),
		    jq("{'__rl':true,'mode':'id','value':'C0123ABCD'}"));
	expect_json(json_object_get(p, "otherOptions"), jq("{}"));
	json_decref(wf);
	json_decref(g);
}
END_TEST

START_TEST(gmail_send)
{
	json_t *g = one_node("gmail", "send",
			     "[{'key':'to','value':'boss@example.com'},"
			     "{'key':'subject','value':'Big'},"
			     "{'key':'body','value':'<b>{{ $json.name }}</b>'},"
			     "{'key':'cc','value':'log@example.com'},"
			     "{'key':'bodyType','value':'html'}]",
			     "['main']", "gmail_boss");
	json_t *wf = tr(g, NULL);
	json_t *n = node_named(wf, "N");
	json_t *p = check_node(n, "n8n-nodes-base.gmail", 2.1);
	expect_json(p, jq("{'resource':'message','operation':'send',"
			  "'sendTo':'boss@example.com','subject':'Big','emailType':'html',"
			  "'message':'=<b>{{ $json.name }}</b>',"
			  "'options':{'appendAttribution':false,'ccList':'log@example.com'}}"));
	json_decref(p);
	expect_json(json_object_get(n, "credentials"),
		    jq("{'gmailOAuth2':{'id':'c-gmail','name':'gmail_boss'}}"));
	json_decref(wf);
	json_decref(g);
}
END_TEST

START_TEST(smtp_send)
{
	json_t *g = one_node("smtp", "send",
			     "[{'key':'from','value':'noreply@example.com'},"
			     "{'key':'to','value':'team@example.com'},"
			     "{'key':'subject','value':'Lead'},"
			     "{'key':'body','value':'Hi {{ $json.name }}'},"
			     "{'key':'bcc','value':'audit@example.com'}]",
			     "['main']", "smtp_relay");
	json_t *wf = tr(g, NULL);
	json_t *n = node_named(wf, "N");
	json_t *p = check_node(n, "n8n-nodes-base.emailSend", 2.1);
	expect_json(p, jq("{'fromEmail':'noreply@example.com','toEmail':'team@example.com',"
			  "'subject':'Lead','emailFormat':'text','text':'=Hi {{ $json.name }}',"
			  "'options':{'appendAttribution':false,'bccEmail':'audit@example.com'}}"));
	json_decref(p);
	expect_json(json_object_get(n, "credentials"),
		    jq("{'smtp':{'id':'c-smtp','name':'smtp_relay'}}"));
	json_decref(wf);
	json_decref(g);

	g = one_node("smtp", "send",
		     "[{'key':'from','value':'a@example.com'},{'key':'to','value':'b@example.com'},"
		     "{'key':'subject','value':'S'},{'key':'body','value':'<p>x</p>'},"
		     "{'key':'bodyType','value':'html'}]",
		     "['main']", "smtp_relay");
	wf = tr(g, NULL);
	p = json_object_get(node_named(wf, "N"), "parameters");
	ck_assert_str_eq(json_string_value(json_object_get(p, "emailFormat")), "html");
	ck_assert_str_eq(json_string_value(json_object_get(p, "html")), "<p>x</p>");
	ck_assert_ptr_null(json_object_get(p, "text"));
	json_decref(wf);
	json_decref(g);
}
END_TEST

START_TEST(wait_delay)
{
	json_t *g = one_node("wait", "delay",
			     "[{'key':'amount','value':10},{'key':'unit','value':'minutes'}]",
			     "['main']", NULL);
	json_t *wf = tr(g, NULL);
	json_t *n = node_named(wf, "N");
	json_t *p = check_node(n, "n8n-nodes-base.wait", 1.1);
	expect_json(p, jq("{'resume':'timeInterval','amount':10,'unit':'minutes'}"));
	json_decref(p);
	ck_assert(is_uuid(json_string_value(json_object_get(n, "webhookId"))));
	json_decref(wf);
	json_decref(g);
}
END_TEST

/* A sample of every vocabulary type: a new type without a translation
 * (or without a sample here) fails this test. */
START_TEST(every_vocabulary_type_translates)
{
	static const struct {
		const char *type, *action, *inputs, *outputs, *auth;
	} samples[] = {
		{"http", "request", "[{'key':'method','value':'GET'},"
		 "{'key':'url','value':'https://api.example.com/'}]", "['main']", NULL},
		{"set", "set", "[{'key':'fields','value':{'fields':[]}}]", "['main']", NULL},
		{"if", "condition", "[{'key':'conditions','value':[{'fields':["
		 "{'key':'left','value':1},{'key':'operator','value':'isEmpty'}]}]}]",
		 "['true','false']", NULL},
		{"slack", "postMessage", "[{'key':'channel','value':'#a'},"
		 "{'key':'text','value':'t'}]", "['main']", "slack_main"},
		{"gmail", "send", "[{'key':'to','value':'a@example.com'},"
		 "{'key':'subject','value':'s'},{'key':'body','value':'b'}]", "['main']",
		 "gmail_boss"},
		{"smtp", "send", "[{'key':'from','value':'a@example.com'},"
		 "{'key':'to','value':'b@example.com'},{'key':'subject','value':'s'},"
		 "{'key':'body','value':'b'}]", "['main']", "smtp_relay"},
		{"wait", "delay", "[{'key':'amount','value':1},{'key':'unit','value':'days'}]",
		 "['main']", NULL},
	};
	static const struct {
		const char *type, *config;
	} trig[] = {
		{"webhook", "[{'key':'path','value':'p'}]"},
		{"schedule", "[{'key':'cron','value':'* * * * *'}]"},
		{"event", "[{'key':'event','value':'manual'}]"},
	};
	size_t nv;
	const workflow_type_t *v = workflow_vocab(&nv);
	for (size_t k = 0; k < nv; k++) {
		json_t *g = NULL;
		for (size_t i = 0; !v[k].trigger && i < sizeof samples / sizeof *samples; i++)
			if (strcmp(samples[i].type, v[k].type) == 0)
				g = one_node(samples[i].type, samples[i].action,
					     samples[i].inputs, samples[i].outputs,
					     samples[i].auth);
		for (size_t i = 0; v[k].trigger && i < sizeof trig / sizeof *trig; i++)
			if (strcmp(trig[i].type, v[k].type) == 0)
				g = one_trigger(trig[i].type, trig[i].config);
		ck_assert_msg(g != NULL, "no sample for vocabulary type %s", v[k].type);
		json_t *wf = tr(g, NULL);
		const char *type = json_string_value(json_object_get(
			node_named(wf, v[k].trigger ? "T" : "N"), "type"));
		ck_assert_msg(type && strncmp(type, "n8n-nodes-base.", 15) == 0,
			      "%s became %s", v[k].type, type);
		/* Credential types follow the vocabulary's authRef rule. */
		const char *ct = translate_n8n_credential_type(v[k].type, NULL);
		if (v[k].auth == WORKFLOW_AUTH_REQUIRED)
			ck_assert_msg(ct != NULL, "%s needs a credential type", v[k].type);
		else
			ck_assert_msg(ct == NULL, "%s takes no credential", v[k].type);
		json_decref(wf);
		json_decref(g);
	}
}
END_TEST

START_TEST(credential_types)
{
	ck_assert_str_eq(translate_n8n_credential_type("slack", NULL), "slackApi");
	ck_assert_str_eq(translate_n8n_credential_type("gmail", NULL), "gmailOAuth2");
	ck_assert_str_eq(translate_n8n_credential_type("smtp", NULL), "smtp");
	ck_assert_ptr_null(translate_n8n_credential_type("wait", NULL));
	ck_assert_ptr_null(translate_n8n_credential_type(NULL, NULL));
	json_t *in = jq("[{'key':'authentication','value':'bearer'}]");
	ck_assert_str_eq(translate_n8n_credential_type("http", in), "httpBearerAuth");
	json_decref(in);
	in = jq("[{'key':'authentication','value':'basic'}]");
	ck_assert_str_eq(translate_n8n_credential_type("http", in), "httpBasicAuth");
	json_decref(in);
	in = jq("{'authentication':'header'}");
	ck_assert_str_eq(translate_n8n_credential_type("http", in), "httpHeaderAuth");
	json_decref(in);
	in = jq("[{'key':'authentication','value':'none'}]");
	ck_assert_ptr_null(translate_n8n_credential_type("http", in));
	json_decref(in);
	ck_assert_ptr_null(translate_n8n_credential_type("http", NULL));
}
END_TEST

/* ------------------------------------------------------------ graph */

#define IF_NODE(id)                                                          \
	"{'id':'" id "','type':'if','action':'condition','inputs':[{'key':"  \
	"'conditions','value':[{'fields':[{'key':'left','value':'{{ $json.a }}'}," \
	"{'key':'operator','value':'isEmpty'}]}]}],'outputs':['true','false'],"  \
	"'authRef':null}"
#define WAIT_NODE(id)                                                        \
	"{'id':'" id "','type':'wait','action':'delay','inputs':[{'key':'amount'," \
	"'value':1},{'key':'unit','value':'seconds'}],'outputs':['main'],"      \
	"'authRef':null}"
#define EDGE(f, fp, t)                                                       \
	"{'fromNodeId':'" f "','fromPort':'" fp "','toNodeId':'" t            \
	"','toPort':'main'}"

START_TEST(connections_branch_and_chain)
{
	json_t *g = valid(jq("{'name':'T','description':'','env':[],"
			     "'triggers':[" WEBHOOK_START "],"
			     "'nodes':[" IF_NODE("check") "," WAIT_NODE("yes") ","
			     WAIT_NODE("no") "," WAIT_NODE("after") "],"
			     "'edges':[" EDGE("start", "main", "check") ","
			     EDGE("check", "false", "no") "," EDGE("check", "true", "yes") ","
			     EDGE("yes", "main", "after") "," EDGE("no", "main", "after") "]}"));
	json_t *wf = tr(g, NULL);
	expect_json(json_object_get(wf, "connections"), jq(
		"{'Start':{'main':[[{'node':'Check','type':'main','index':0}]]},"
		"'Check':{'main':[[{'node':'Yes','type':'main','index':0}],"
		"[{'node':'No','type':'main','index':0}]]},"
		"'Yes':{'main':[[{'node':'After','type':'main','index':0}]]},"
		"'No':{'main':[[{'node':'After','type':'main','index':0}]]}}"));
	/* Left to right by depth, a column centred on y = 0. */
	expect_json(json_object_get(node_named(wf, "Start"), "position"), jq("[0,0]"));
	expect_json(json_object_get(node_named(wf, "Check"), "position"), jq("[220,0]"));
	expect_json(json_object_get(node_named(wf, "Yes"), "position"), jq("[440,-80]"));
	expect_json(json_object_get(node_named(wf, "No"), "position"), jq("[440,80]"));
	expect_json(json_object_get(node_named(wf, "After"), "position"), jq("[660,0]"));
	json_decref(wf);
	json_decref(g);

	/* Only the false branch used: output 0 stays an empty list. */
	g = valid(jq("{'name':'T','description':'','env':[],"
		     "'triggers':[" WEBHOOK_START "],"
		     "'nodes':[" IF_NODE("check") "," WAIT_NODE("no") "],"
		     "'edges':[" EDGE("start", "main", "check") ","
		     EDGE("check", "false", "no") "]}"));
	wf = tr(g, NULL);
	expect_json(json_object_get(json_object_get(wf, "connections"), "Check"),
		    jq("{'main':[[],[{'node':'No','type':'main','index':0}]]}"));
	ck_assert_ptr_null(json_object_get(json_object_get(wf, "connections"), "No"));
	json_decref(wf);
	json_decref(g);
}
END_TEST

START_TEST(names_are_unique_and_human)
{
	json_t *g = valid(jq("{'name':'T','description':'','env':[],"
			     "'triggers':[" WEBHOOK_START "],"
			     "'nodes':[" WAIT_NODE("send-mail") "," WAIT_NODE("send_mail") ","
			     WAIT_NODE("x") "],"
			     "'edges':[" EDGE("start", "main", "send-mail") ","
			     EDGE("send-mail", "main", "send_mail") ","
			     EDGE("send_mail", "main", "x") "]}"));
	json_t *wf = tr(g, NULL);
	json_t *nodes = json_object_get(wf, "nodes");
	ck_assert_uint_eq(json_array_size(nodes), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(nodes, 1), "name")),
			 "Send mail");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(nodes, 2), "name")),
			 "Send mail 2");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(nodes, 3), "name")),
			 "X");
	expect_json(json_object_get(json_object_get(wf, "connections"), "Send mail"),
		    jq("{'main':[[{'node':'Send mail 2','type':'main','index':0}]]}"));
	/* Node ids differ and are stable. */
	ck_assert_str_ne(json_string_value(json_object_get(json_array_get(nodes, 1), "id")),
			 json_string_value(json_object_get(json_array_get(nodes, 2), "id")));
	json_decref(wf);
	json_decref(g);
}
END_TEST

START_TEST(top_level_shape)
{
	/* n8n takes 128 UTF-16 units: 120 ASCII and 20 two-byte characters
	 * keep 120 + 8 of them; an emoji (two units) at unit 128 is left out
	 * whole. */
	char name[200], emoji[200];
	memset(name, 'a', 120);
	for (int i = 0; i < 20; i++)
		memcpy(name + 120 + 2 * i, "\xc3\xa9", 2);
	name[160] = '\0';
	memset(emoji, 'b', 127);
	memcpy(emoji + 127, "\xf0\x9f\x8c\xb3xyz", 7);
	emoji[134] = '\0';
	json_t *g = one_node("wait", "delay",
			     "[{'key':'amount','value':1},{'key':'unit','value':'hours'}]",
			     "['main']", NULL);
	json_object_set_new(g, "name", json_string(name));
	valid(g);
	json_t *wf = tr(g, NULL);
	ck_assert_uint_eq(json_object_size(wf), 4);
	ck_assert(json_is_array(json_object_get(wf, "nodes")));
	ck_assert(json_is_object(json_object_get(wf, "connections")));
	expect_json(json_object_get(wf, "settings"), jq("{'executionOrder':'v1'}"));
	ck_assert_uint_eq(json_string_length(json_object_get(wf, "name")), 136);
	ck_assert(strncmp(json_string_value(json_object_get(wf, "name")), name, 136) == 0);
	json_decref(wf);
	json_object_set_new(g, "name", json_string(emoji));
	wf = tr(g, NULL);
	ck_assert_uint_eq(json_string_length(json_object_get(wf, "name")), 127);
	static const char *const node_keys[] = {"id", "name", "type", "typeVersion",
						"position", "parameters", "webhookId",
						"credentials"};
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(wf, "nodes"), i, n)
	{
		const char *k;
		json_t *x;
		json_object_foreach(n, k, x)
		{
			bool ok = false;
			for (size_t j = 0; j < sizeof node_keys / sizeof *node_keys; j++)
				ok |= strcmp(k, node_keys[j]) == 0;
			ck_assert_msg(ok, "unexpected node key %s", k);
		}
	}
	json_decref(wf);
	json_decref(g);
}
END_TEST

START_TEST(credentials_missing_and_failing)
{
	json_t *g = one_node("slack", "postMessage",
			     "[{'key':'channel','value':'#a'},{'key':'text','value':'t'}]",
			     "['main']", "nobody");
	json_t *wf = NULL;
	char err[256] = "";
	translate_n8n_opts_t o = {.credential = lookup, .ctx = cred_calls};
	ck_assert_int_eq(translate_n8n(g, &o, &wf, err, sizeof err), ERR_NOT_FOUND);
	ck_assert_ptr_null(wf);
	ck_assert_msg(strstr(err, "\"nobody\"") && strstr(err, "slackApi"), "%s", err);
	expect_json(cred_calls, jq("[['nobody','slackApi']]"));
	/* No callback at all: every authRef is missing. */
	ck_assert_int_eq(translate_n8n(g, NULL, &wf, err, sizeof err), ERR_NOT_FOUND);
	ck_assert_ptr_null(wf);
	json_decref(g);
}
END_TEST

static int broken(void *c, const char *auth_ref, const char *type,
		  translate_n8n_cred_t *out)
{
	(void)c;
	(void)auth_ref;
	(void)type;
	(void)out;
	return ERR_DB;
}

START_TEST(credential_callback_errors_pass_through)
{
	json_t *g = one_node("smtp", "send",
			     "[{'key':'from','value':'a@example.com'},{'key':'to','value':'b@example.com'},"
			     "{'key':'subject','value':'S'},{'key':'body','value':'x'}]",
			     "['main']", "smtp_relay");
	translate_n8n_opts_t o = {.credential = broken};
	json_t *wf = NULL;
	char err[256] = "";
	ck_assert_int_eq(translate_n8n(g, &o, &wf, err, sizeof err), ERR_DB);
	ck_assert_ptr_null(wf);
	ck_assert_msg(strstr(err, "smtp_relay") != NULL, "%s", err);
	json_decref(g);
}
END_TEST

static json_t *load_golden(const char *file)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", GOLDEN, file);
	json_error_t je;
	json_t *g = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	ck_assert_msg(g != NULL, "%s: %s", path, je.text);
	return g;
}

START_TEST(deterministic)
{
	json_t *g = load_golden("event-if-email.json");
	json_t *a = tr(g, "t3/");
	json_t *b = tr(g, "t3/");
	char *sa = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT);
	char *sb = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(sa, sb);
	/* Insertion order is stable too, not only the sorted form. */
	char *ua = json_dumps(a, JSON_COMPACT), *ub = json_dumps(b, JSON_COMPACT);
	ck_assert_str_eq(ua, ub);
	/* Another prefix is another webhook: its id changes with it. */
	json_t *c = tr(g, "t4/");
	ck_assert_str_ne(json_string_value(json_object_get(json_array_get(
				 json_object_get(a, "nodes"), 0), "webhookId")),
			 json_string_value(json_object_get(json_array_get(
				 json_object_get(c, "nodes"), 0), "webhookId")));
	free(sa);
	free(sb);
	free(ua);
	free(ub);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(g);
}
END_TEST

START_TEST(unvalidated_input_is_refused)
{
	json_t *wf = NULL;
	char err[256] = "";
	json_t *g = json_string("x");
	ck_assert_int_eq(translate_n8n(g, NULL, &wf, err, sizeof err), ERR_INVALID);
	json_decref(g);
	g = jq("{'name':'T','triggers':[" WEBHOOK_START "],'nodes':[" WAIT_NODE("w") "],"
	       "'edges':[" EDGE("start", "main", "ghost") "]}");
	ck_assert_int_eq(translate_n8n(g, NULL, &wf, err, sizeof err), ERR_INVALID);
	ck_assert_ptr_null(wf);
	json_decref(g);
	g = jq("{'name':'T','triggers':[" WEBHOOK_START "],'nodes':[" WAIT_NODE("w") "],"
	       "'edges':[" EDGE("start", "nope", "w") "]}");
	ck_assert_int_eq(translate_n8n(g, NULL, &wf, err, sizeof err), ERR_INVALID);
	json_decref(g);
	g = jq("{'name':'T','triggers':[" WEBHOOK_START "],'nodes':[{'id':'w','type':'code'}],"
	       "'edges':[]}");
	ck_assert_int_eq(translate_n8n(g, NULL, &wf, err, sizeof err), ERR_INVALID);
	json_decref(g);
	g = jq("{'name':'T','triggers':[" WEBHOOK_START "],'nodes':[" WAIT_NODE("start") "],"
	       "'edges':[]}");
	ck_assert_int_eq(translate_n8n(g, NULL, &wf, err, sizeof err), ERR_INVALID);
	ck_assert_msg(strstr(err, "duplicate") != NULL, "%s", err);
	json_decref(g);
}
END_TEST

/* ------------------------------------------------------------ n8n fake */

static fake_t fake;
static arena_t *arena;
static json_t *fake_creds; /* "<authRef>/<type>" -> id in the fake */

static void start_fake(void)
{
	if (fake_start(&fake, "n8n_fake.py", NULL) < 0)
		abort();
	http_client_clear_allowed();
	if (http_client_allow_url(fake.base) < 0)
		abort();
}

static void stop_fake(void)
{
	fake_stop(&fake);
}

static void fake_setup(void)
{
	setup();
	fake_reset(&fake);
	arena = arena_new(0);
	fake_creds = json_object();
}

static void fake_teardown(void)
{
	json_decref(fake_creds);
	arena_free(arena);
	teardown();
}

static long n8n(const char *method, const char *path, json_t *body,
		json_t **answer)
{
	static const char *const headers[] = {"X-N8N-API-KEY: " N8N_KEY, NULL};
	char url[512];
	snprintf(url, sizeof url, "%s%s", fake.base, path);
	http_client_request_t req = {.method = method, .url = url,
				     .headers = headers, .json = body,
				     .retry = {.max_attempts = 1}};
	http_client_response_t resp;
	(void)!http_client_do(arena, &req, &resp);
	if (answer)
		*answer = json_loads(buf_cstr(&resp.body), 0, NULL);
	return resp.status;
}

/* The deploy job's part: each authRef becomes an n8n credential once. */
static int create_in_fake(void *c, const char *auth_ref, const char *type,
			  translate_n8n_cred_t *out)
{
	(void)c;
	char key[256];
	snprintf(key, sizeof key, "%s/%s", auth_ref, type);
	if (!json_object_get(fake_creds, key)) {
		json_t *body = json_pack("{s:s,s:s,s:{}}", "name", auth_ref, "type", type,
					 "data");
		json_t *ans = NULL;
		long st = n8n("POST", "/api/v1/credentials", body, &ans);
		json_decref(body);
		ck_assert_msg(st == 200, "creating credential %s: %ld", key, st);
		json_object_set(fake_creds, key, json_object_get(ans, "id"));
		json_decref(ans);
	}
	out->id = json_string_value(json_object_get(fake_creds, key));
	out->name = auth_ref;
	return 0;
}

static bool only_manual(const json_t *graph)
{
	size_t i;
	const json_t *t;
	json_array_foreach(json_object_get(graph, "triggers"), i, t)
	{
		const json_t *ev = workflow_entry(json_object_get(t, "config"), "event");
		if (!json_is_string(ev) || strcmp(json_string_value(ev), "manual") != 0)
			return false;
	}
	return true;
}

START_TEST(golden_graphs_accepted_by_n8n_fake)
{
	struct dirent **names;
	int n = scandir(GOLDEN, &names, NULL, alphasort);
	ck_assert_int_ge(n, 0);
	int done = 0;
	for (int k = 0; k < n; k++) {
		const char *file = names[k]->d_name;
		size_t len = strlen(file);
		if (len <= 5 || strcmp(file + len - 5, ".json") != 0) {
			free(names[k]);
			continue;
		}
		json_t *g = valid(load_golden(file));
		translate_n8n_opts_t o = {.credential = create_in_fake,
					  .webhook_path_prefix = "t7/"};
		json_t *wf = NULL;
		char err[256] = "";
		ck_assert_msg(translate_n8n(g, &o, &wf, err, sizeof err) == 0, "%s: %s",
			      file, err);
		json_t *made = NULL;
		long st = n8n("POST", "/api/v1/workflows", wf, &made);
		char *dump = json_dumps(made, JSON_COMPACT);
		ck_assert_msg(st == 200, "%s: create answered %ld %s", file, st, dump);
		free(dump);
		const char *id = json_string_value(json_object_get(made, "id"));
		ck_assert_ptr_nonnull(id);
		char path[256];
		snprintf(path, sizeof path, "/api/v1/workflows/%s/activate", id);
		json_t *ans = NULL;
		st = n8n("POST", path, NULL, &ans);
		dump = json_dumps(ans, JSON_COMPACT);
		if (only_manual(g))
			/* n8n cannot activate a workflow only run by hand. */
			ck_assert_msg(st == 400, "%s: activate answered %ld", file, st);
		else
			ck_assert_msg(st == 200, "%s: activate answered %ld %s", file, st, dump);
		free(dump);
		json_decref(ans);
		const char *hook = translate_n8n_webhook_path(wf);
		if (hook && st == 200) {
			/* The production URL the deploy job records answers. */
			char url[300];
			snprintf(url, sizeof url, "/webhook/%s", hook);
			ck_assert_int_eq(fake_call(&fake, "POST", url, "{}", NULL), 200);
		}
		json_decref(made);
		json_decref(wf);
		json_decref(g);
		free(names[k]);
		done++;
	}
	free(names);
	ck_assert_int_ge(done, 4);
}
END_TEST

START_TEST(fake_refuses_what_n8n_refuses)
{
	/* The check is only as good as the fake: a workflow with a bad
	 * credential reference or an unknown key is refused. */
	json_t *g = load_golden("webhook-to-slack.json");
	translate_n8n_opts_t o = {.credential = lookup, .ctx = cred_calls};
	json_t *wf = NULL;
	char err[256] = "";
	ck_assert_int_eq(translate_n8n(g, &o, &wf, err, sizeof err), 0);
	json_t *made = NULL;
	ck_assert_int_eq(n8n("POST", "/api/v1/workflows", wf, &made), 200);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/workflows/%s/activate",
		 json_string_value(json_object_get(made, "id")));
	ck_assert_int_eq(n8n("POST", path, NULL, NULL), 400); /* c-slack unknown */
	json_object_set_new(wf, "active", json_true());
	ck_assert_int_eq(n8n("POST", "/api/v1/workflows", wf, NULL), 400);
	json_decref(made);
	json_decref(wf);
	json_decref(g);
}
END_TEST

static void fake_cred_setup(void)
{
	fake_setup();
	known_creds = json_pack("{s:s}", "slack_main", "c-slack");
	cred_calls = json_array();
}

static void fake_cred_teardown(void)
{
	json_decref(known_creds);
	json_decref(cred_calls);
	fake_teardown();
}

static Suite *make_suite(bool with_fake)
{
	Suite *s = suite_create("translate_n8n");
	TCase *tc = tcase_create("translation");
	tcase_add_checked_fixture(tc, cred_fixture, cred_teardown);
	tcase_add_test(tc, webhook_trigger);
	tcase_add_test(tc, schedule_trigger);
	tcase_add_test(tc, schedules_in_two_time_zones_are_refused);
	tcase_add_test(tc, event_triggers);
	tcase_add_test(tc, http_request_full);
	tcase_add_test(tc, http_request_plain);
	tcase_add_test(tc, set_fields);
	tcase_add_test(tc, if_conditions);
	tcase_add_test(tc, if_every_operator);
	tcase_add_test(tc, slack_post);
	tcase_add_test(tc, gmail_send);
	tcase_add_test(tc, smtp_send);
	tcase_add_test(tc, wait_delay);
	tcase_add_test(tc, every_vocabulary_type_translates);
	tcase_add_test(tc, credential_types);
	tcase_add_test(tc, connections_branch_and_chain);
	tcase_add_test(tc, names_are_unique_and_human);
	tcase_add_test(tc, top_level_shape);
	tcase_add_test(tc, credentials_missing_and_failing);
	tcase_add_test(tc, credential_callback_errors_pass_through);
	tcase_add_test(tc, deterministic);
	tcase_add_test(tc, unvalidated_input_is_refused);
	suite_add_tcase(s, tc);
	if (with_fake) {
		TCase *tf = tcase_create("against the n8n fake");
		tcase_add_unchecked_fixture(tf, start_fake, stop_fake);
		tcase_add_checked_fixture(tf, fake_cred_setup, fake_cred_teardown);
		tcase_set_timeout(tf, 30);
		tcase_add_test(tf, golden_graphs_accepted_by_n8n_fake);
		tcase_add_test(tf, fake_refuses_what_n8n_refuses);
		suite_add_tcase(s, tf);
	}
	return s;
}

int main(void)
{
	bool py = fake_python_available();
	int rc = ck_run_suite(make_suite(py));
	if (rc == EXIT_SUCCESS && !py) {
		fprintf(stderr, "python3 not found: the n8n fake checks were skipped\n");
		return 77;
	}
	return rc;
}
