/* openai against the OpenAI fake, started once per test case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "fakes/fake_util.h"
#include "log.h"
#include "openai.h"

#define KEY "sk-test-canopy-0123456789"

static fake_t fake;
static arena_t *a;
static char base_url[128];
static json_t *schema;

static void start_fake(void)
{
	if (fake_start(&fake, "openai_fake.py", NULL) < 0)
		abort();
	snprintf(base_url, sizeof base_url, "%s/v1/", fake.base);
	http_client_clear_allowed();
	if (http_client_allow_url(base_url) < 0)
		abort();
	schema = json_loads(
		"{\"type\":\"object\",\"additionalProperties\":false,"
		"\"required\":[\"name\",\"nodes\"],\"properties\":{"
		"\"name\":{\"type\":\"string\"},"
		"\"nodes\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
		"\"additionalProperties\":false,\"required\":[\"id\"],"
		"\"properties\":{\"id\":{\"type\":\"string\"}}}}}}",
		0, NULL);
	if (!schema)
		abort();
}

static void stop_fake(void)
{
	fake_stop(&fake);
	json_decref(schema);
}

static void setup(void)
{
	a = arena_new(0);
	fake_reset(&fake);
}

static void teardown(void)
{
	arena_free(a);
}

static openai_config_t config(const char *model)
{
	openai_config_t oc = {
		.base_url = base_url,
		.api_key = KEY,
		.model = model,
		.timeout_ms = 3000,
		.retry = {.max_attempts = 3, .backoff_base_ms = 10,
			  .backoff_max_ms = 40, .retry_after_max_ms = 3000},
	};
	return oc;
}

static openai_request_t request(void)
{
	openai_request_t rq;
	openai_request_init(&rq);
	rq.instructions = "You are the Workflow Architect.";
	rq.input = "When a form is submitted, post it to Slack.";
	rq.schema_name = "workflow_graph";
	rq.schema = schema;
	rq.max_output_tokens = 2048;
	return rq;
}

/* The JSON body of the last request the fake received (borrowed from
 * *all, which the caller releases). */
static json_t *last_request(json_t **all)
{
	*all = fake_requests(&fake);
	size_t n = json_array_size(*all);
	ck_assert_uint_ge(n, 1);
	return json_array_get(*all, n - 1);
}

static int generate(const char *model, openai_request_t *rq,
		    openai_result_t *res)
{
	openai_config_t oc = config(model);
	return openai_generate_json(a, &oc, rq, res);
}

START_TEST(success_walks_past_the_reasoning_item)
{
	log_set_request_id("rid-openai-1");
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), 0);
	ck_assert_int_eq(res.outcome, OPENAI_OK);
	ck_assert_ptr_null(res.reason);
	ck_assert(json_is_object(res.json));
	ck_assert_str_eq(json_string_value(json_object_get(res.json, "name")),
			 "Form to Slack");
	ck_assert_ptr_nonnull(res.text);
	ck_assert(strncmp(res.response_id, "resp_", 5) == 0);
	ck_assert_int_gt(res.input_tokens, 0);
	ck_assert_int_gt(res.output_tokens, 0);
	ck_assert_int_eq(res.http_status, 200);
	ck_assert_int_eq(res.attempts, 1);

	/* The fake put a reasoning item first: the client walked past it. */
	json_t *all;
	json_t *r = last_request(&all);
	json_t *body = json_object_get(r, "body");
	ck_assert_str_eq(json_string_value(json_object_get(r, "path")),
			 "/v1/responses");
	ck_assert_str_eq(fake_req_header(r, "Authorization"), "Bearer " KEY);
	ck_assert_str_eq(fake_req_header(r, "X-Request-Id"), "rid-openai-1");
	ck_assert_str_eq(json_string_value(json_object_get(body, "model")),
			 "gpt-4.1-mini");
	ck_assert_str_eq(
		json_string_value(json_object_get(body, "instructions")),
		rq.instructions);
	ck_assert_str_eq(json_string_value(json_object_get(body, "input")),
			 rq.input);
	ck_assert(json_is_false(json_object_get(body, "store")));
	ck_assert_int_eq(json_integer_value(
				 json_object_get(body, "max_output_tokens")),
			 2048);
	ck_assert_ptr_null(json_object_get(body, "temperature"));
	json_t *fmt = json_object_get(json_object_get(body, "text"), "format");
	ck_assert_str_eq(json_string_value(json_object_get(fmt, "type")),
			 "json_schema");
	ck_assert_str_eq(json_string_value(json_object_get(fmt, "name")),
			 "workflow_graph");
	ck_assert(json_is_true(json_object_get(fmt, "strict")));
	ck_assert(json_equal(json_object_get(fmt, "schema"), schema));
	json_decref(all);
}
END_TEST

START_TEST(answer_without_reasoning_item_and_custom_text)
{
	fake_call(&fake, "POST", "/_fake/config", "{\"reasoning_item\":false}",
		  NULL);
	fake_call(&fake, "POST", "/_fake/answer",
		  "{\"name\":\"Custom\",\"nodes\":[{\"id\":\"a\"}]}", NULL);
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), 0);
	ck_assert_str_eq(json_string_value(json_object_get(res.json, "name")),
			 "Custom");
	ck_assert_uint_eq(json_array_size(json_object_get(res.json, "nodes")),
			  1);
}
END_TEST

START_TEST(temperature_is_sent_only_when_set)
{
	ck_assert(openai_model_accepts_temperature("gpt-4.1-mini"));
	ck_assert(openai_model_accepts_temperature("gpt-4o"));
	ck_assert(!openai_model_accepts_temperature("o4-mini"));
	ck_assert(!openai_model_accepts_temperature("o3"));
	ck_assert(!openai_model_accepts_temperature("gpt-5-mini"));

	openai_request_t rq = request();
	rq.temperature = 0.2;
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), 0);
	json_t *all;
	json_t *body = json_object_get(last_request(&all), "body");
	ck_assert_double_eq_tol(
		json_number_value(json_object_get(body, "temperature")), 0.2,
		1e-9);
	json_decref(all);

	/* A reasoning model refuses it: the caller must leave it out... */
	ck_assert_int_eq(generate("o4-mini", &rq, &res), ERR_INVALID);
	ck_assert_int_eq(res.http_status, 400);
	ck_assert_int_eq(res.attempts, 1);
	ck_assert_ptr_nonnull(strstr(res.reason, "temperature"));
	/* ...and then it works. */
	rq.temperature = -1;
	ck_assert_int_eq(generate("o4-mini", &rq, &res), 0);
}
END_TEST

START_TEST(wrong_key_is_unauthorized_without_retry)
{
	openai_config_t oc = config("gpt-4.1-mini");
	oc.api_key = "sk-wrong-key-000000";
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(openai_generate_json(a, &oc, &rq, &res),
			 ERR_UNAUTHORIZED);
	ck_assert_int_eq(res.outcome, OPENAI_HTTP_ERROR);
	ck_assert_str_eq(res.reason, "OpenAI rejected the API key (401)");
	ck_assert_int_eq(res.attempts, 1);
}
END_TEST

START_TEST(rate_limit_waits_for_retry_after_then_succeeds)
{
	fake_mode(&fake, "{\"mode\":\"429\",\"count\":1,\"retry_after\":1}");
	openai_request_t rq = request();
	openai_result_t res;
	double t0 = fake_now_ms();
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), 0);
	ck_assert(fake_now_ms() - t0 >= 950);
	ck_assert_int_eq(res.attempts, 2);
}
END_TEST

START_TEST(rate_limit_beyond_cap_gives_the_wait)
{
	fake_mode(&fake, "{\"mode\":\"429\",\"count\":3,\"retry_after\":20}");
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res),
			 ERR_RATE_LIMITED);
	ck_assert_int_eq(res.retry_after_s, 20);
	ck_assert_str_eq(res.reason, "rate limited by OpenAI; retry after 20 s");
}
END_TEST

START_TEST(server_error_then_success)
{
	fake_mode(&fake, "{\"mode\":\"500\",\"count\":1}");
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), 0);
	ck_assert_int_eq(res.attempts, 2);
}
END_TEST

START_TEST(server_errors_exhaust_retries)
{
	fake_mode(&fake, "{\"mode\":\"503\",\"count\":5,\"retry_after\":null}");
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), ERR_UPSTREAM);
	ck_assert_str_eq(res.reason,
			 "OpenAI server error (503) after 3 attempts");
	json_t *all = fake_requests(&fake);
	ck_assert_uint_eq(json_array_size(all), 3);
	json_decref(all);
}
END_TEST

START_TEST(hang_is_a_timeout)
{
	fake_mode(&fake, "{\"mode\":\"hang\",\"count\":2,\"seconds\":5}");
	openai_config_t oc = config("gpt-4.1-mini");
	oc.timeout_ms = 300;
	oc.retry.max_attempts = 2;
	openai_request_t rq = request();
	openai_result_t res;
	double t0 = fake_now_ms();
	ck_assert_int_eq(openai_generate_json(a, &oc, &rq, &res), ERR_TIMEOUT);
	ck_assert(fake_now_ms() - t0 < 2000);
	ck_assert_str_eq(res.reason, "OpenAI did not answer in time (2 attempts)");
}
END_TEST

START_TEST(refusal_is_reported)
{
	fake_mode(&fake, "{\"mode\":\"refusal\"}");
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res),
			 ERR_UNPROCESSABLE);
	ck_assert_int_eq(res.outcome, OPENAI_REFUSED);
	ck_assert_ptr_null(res.json);
	ck_assert(strncmp(res.reason, "refused: ", 9) == 0);
	ck_assert_ptr_nonnull(strstr(res.reason, "can't help"));
}
END_TEST

START_TEST(incomplete_is_reported)
{
	fake_mode(&fake, "{\"mode\":\"incomplete\"}");
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), ERR_UPSTREAM);
	ck_assert_int_eq(res.outcome, OPENAI_INCOMPLETE);
	ck_assert_str_eq(res.reason, "incomplete: max_output_tokens");
	ck_assert_ptr_null(res.json);
	ck_assert_ptr_nonnull(res.text); /* the partial text, for the record */
}
END_TEST

START_TEST(invalid_json_is_reported)
{
	fake_mode(&fake, "{\"mode\":\"invalid_json\"}");
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), ERR_UPSTREAM);
	ck_assert_int_eq(res.outcome, OPENAI_INVALID_JSON);
	ck_assert(strncmp(res.reason, "invalid JSON from the model", 27) == 0);
	ck_assert_ptr_nonnull(res.text);
}
END_TEST

START_TEST(schema_violation_is_left_to_the_validator)
{
	/* Valid JSON that breaks the schema comes back as JSON: validating
	 * (and the one repair attempt) is the caller's job. */
	fake_mode(&fake, "{\"mode\":\"schema_violation\"}");
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), 0);
	ck_assert(json_is_true(json_object_get(res.json, "unexpected")));
	/* The next call is back to a valid answer. */
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), 0);
	ck_assert_ptr_null(json_object_get(res.json, "unexpected"));
}
END_TEST

START_TEST(malformed_and_truncated_bodies)
{
	fake_mode(&fake, "{\"mode\":\"malformed\"}");
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), ERR_UPSTREAM);
	ck_assert_int_eq(res.outcome, OPENAI_BAD_RESPONSE);
	ck_assert_str_eq(res.reason, "OpenAI sent a malformed response");

	fake_mode(&fake, "{\"mode\":\"truncated\",\"count\":3}");
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), ERR_UPSTREAM);
	ck_assert_int_eq(res.outcome, OPENAI_HTTP_ERROR);
	ck_assert_int_eq(res.attempts, 3);
	ck_assert(strncmp(res.reason, "could not reach OpenAI", 22) == 0);
}
END_TEST

START_TEST(failed_and_messageless_responses)
{
	fake_mode(&fake, "{\"mode\":\"failed\"}");
	openai_request_t rq = request();
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), ERR_UPSTREAM);
	ck_assert_int_eq(res.outcome, OPENAI_FAILED);
	ck_assert(strncmp(res.reason, "failed: ", 8) == 0);

	fake_mode(&fake, "{\"mode\":\"no_message\"}");
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), ERR_UPSTREAM);
	ck_assert_int_eq(res.outcome, OPENAI_BAD_RESPONSE);
	ck_assert_str_eq(res.reason, "OpenAI answered without a message");
}
END_TEST

START_TEST(non_strict_schema_is_refused_upstream)
{
	json_t *loose = json_pack("{s:s, s:{s:{s:s}}}", "type", "object",
				  "properties", "a", "type", "string");
	openai_request_t rq = request();
	rq.schema = loose;
	openai_result_t res;
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(res.reason, "Invalid schema"));
	ck_assert_ptr_nonnull(strstr(res.reason, "additionalProperties"));
	json_decref(loose);
}
END_TEST

START_TEST(bad_arguments_never_call)
{
	openai_request_t rq = request();
	openai_result_t res;
	openai_config_t oc = config("gpt-4.1-mini");
	oc.api_key = "";
	ck_assert_int_eq(openai_generate_json(a, &oc, &rq, &res), ERR_INVALID);
	ck_assert_str_eq(res.reason, "OPENAI_API_KEY is not set");
	oc = config("gpt-4.1-mini");
	rq.schema_name = "has space";
	ck_assert_int_eq(openai_generate_json(a, &oc, &rq, &res), ERR_INVALID);
	rq = request();
	rq.schema = NULL;
	ck_assert_int_eq(openai_generate_json(a, &oc, &rq, &res), ERR_INVALID);
	rq = request();
	rq.temperature = 3;
	ck_assert_int_eq(openai_generate_json(a, &oc, &rq, &res), ERR_INVALID);
	json_t *all = fake_requests(&fake);
	ck_assert_uint_eq(json_array_size(all), 0);
	json_decref(all);

	/* A base URL off the allowlist is refused before any traffic. */
	oc.base_url = "https://api.openai.com/v1";
	rq = request();
	ck_assert_int_eq(openai_generate_json(a, &oc, &rq, &res),
			 ERR_FORBIDDEN);
	ck_assert_ptr_nonnull(strstr(res.reason, "allowlist"));
}
END_TEST

START_TEST(calls_are_logged_without_the_key)
{
	char path[] = "/tmp/canopy-openai-log-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	log_set_fd(fd);
	log_set_request_id("rid-openai-log");

	openai_request_t rq = request();
	openai_result_t res;
	fake_mode(&fake, "{\"mode\":\"500\",\"count\":1}");
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res), 0);
	openai_config_t oc = config("gpt-4.1-mini");
	oc.api_key = "sk-wrong-but-secret-999";
	ck_assert_int_eq(openai_generate_json(a, &oc, &rq, &res),
			 ERR_UNAUTHORIZED);
	fake_mode(&fake, "{\"mode\":\"refusal\"}");
	ck_assert_int_eq(generate("gpt-4.1-mini", &rq, &res),
			 ERR_UNPROCESSABLE);
	log_set_fd(-1);

	char *log = fake_slurp_fd(fd);
	close(fd);
	ck_assert_ptr_nonnull(strstr(log, "\"msg\":\"openai call\""));
	ck_assert_ptr_nonnull(strstr(log, "\"model\":\"gpt-4.1-mini\""));
	ck_assert_ptr_nonnull(strstr(log, "\"input_tokens\":"));
	ck_assert_ptr_nonnull(strstr(log, "\"output_tokens\":"));
	ck_assert_ptr_nonnull(strstr(log, "\"latency_ms\":"));
	ck_assert_ptr_nonnull(strstr(log, "\"req\":\"rid-openai-log\""));
	ck_assert_ptr_nonnull(strstr(log, "\"outcome\":\"refused\""));
	ck_assert_ptr_null(strstr(log, KEY));
	ck_assert_ptr_null(strstr(log, "sk-wrong-but-secret-999"));
	ck_assert_ptr_null(strstr(log, "Bearer"));
	free(log);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("openai");
	TCase *tc = tcase_create("against the OpenAI fake");
	tcase_add_unchecked_fixture(tc, start_fake, stop_fake);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, success_walks_past_the_reasoning_item);
	tcase_add_test(tc, answer_without_reasoning_item_and_custom_text);
	tcase_add_test(tc, temperature_is_sent_only_when_set);
	tcase_add_test(tc, wrong_key_is_unauthorized_without_retry);
	tcase_add_test(tc, rate_limit_waits_for_retry_after_then_succeeds);
	tcase_add_test(tc, rate_limit_beyond_cap_gives_the_wait);
	tcase_add_test(tc, server_error_then_success);
	tcase_add_test(tc, server_errors_exhaust_retries);
	tcase_add_test(tc, hang_is_a_timeout);
	tcase_add_test(tc, refusal_is_reported);
	tcase_add_test(tc, incomplete_is_reported);
	tcase_add_test(tc, invalid_json_is_reported);
	tcase_add_test(tc, schema_violation_is_left_to_the_validator);
	tcase_add_test(tc, malformed_and_truncated_bodies);
	tcase_add_test(tc, failed_and_messageless_responses);
	tcase_add_test(tc, non_strict_schema_is_refused_upstream);
	tcase_add_test(tc, bad_arguments_never_call);
	tcase_add_test(tc, calls_are_logged_without_the_key);
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
