#include "openai.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define REASON_DETAIL_MAX 300 /* bytes of an upstream message kept */

static const char *outcome_names[] = {
	"ok", "http_error", "refused", "incomplete", "failed",
	"invalid_json", "bad_response",
};

void openai_config_init(openai_config_t *oc, const config_t *cfg)
{
	memset(oc, 0, sizeof *oc);
	oc->base_url = cfg->openai_base_url;
	oc->api_key = cfg->openai_api_key;
	oc->model = cfg->openai_model;
	oc->timeout_ms = OPENAI_DEFAULT_TIMEOUT_MS;
	oc->connect_timeout_ms = 5000;
}

void openai_request_init(openai_request_t *rq)
{
	memset(rq, 0, sizeof *rq);
	rq->temperature = -1;
}

bool openai_model_accepts_temperature(const char *model)
{
	if (!model)
		return false;
	/* The o-series (o1, o3, o4-mini, ...) and gpt-5 are reasoning
	 * models: they answer 400 unsupported_parameter to a temperature. */
	if (model[0] == 'o' && isdigit((unsigned char)model[1]))
		return false;
	if (strncmp(model, "gpt-5", 5) == 0)
		return false;
	return true;
}

static bool schema_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-')
			return false;
	return true;
}

json_t *openai_request_body(const openai_config_t *oc,
			    const openai_request_t *rq)
{
	json_t *format = json_object();
	json_object_set_new(format, "type", json_string("json_schema"));
	json_object_set_new(format, "name", json_string(rq->schema_name));
	json_object_set(format, "schema", rq->schema);
	json_object_set_new(format, "strict", json_true());

	json_t *body = json_object();
	json_object_set_new(body, "model", json_string(oc->model));
	if (rq->instructions)
		json_object_set_new(body, "instructions",
				    json_string(rq->instructions));
	json_object_set_new(body, "input", json_string(rq->input));
	json_t *text = json_object();
	json_object_set_new(text, "format", format);
	json_object_set_new(body, "text", text);
	json_object_set_new(body, "store", json_false());
	json_object_set_new(body, "max_output_tokens",
			    json_integer(rq->max_output_tokens > 0
						 ? rq->max_output_tokens
						 : OPENAI_DEFAULT_MAX_OUTPUT_TOKENS));
	if (rq->temperature >= 0)
		json_object_set_new(body, "temperature",
				    json_real(rq->temperature));
	return body;
}

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

/* error.message of an OpenAI error body, cut to a readable length, or "". */
static const char *upstream_message(arena_t *a,
				    const http_client_response_t *hr)
{
	json_t *j;
	if (http_client_json(a, hr, &j) < 0)
		return "";
	const char *m = json_string_value(
		json_object_get(json_object_get(j, "error"), "message"));
	if (!m)
		return "";
	return arena_strndup(a, m, strnlen(m, REASON_DETAIL_MAX));
}

/* The reason for an HTTP-level failure, in words a person can act on. */
static const char *http_reason(arena_t *a, int rc,
			       const http_client_response_t *hr)
{
	long st = hr->status;
	switch (rc) {
	case ERR_FORBIDDEN:
		return "OPENAI_BASE_URL's host is not on the outbound "
		       "allowlist";
	case ERR_UNAUTHORIZED:
		if (st == 401)
			return "OpenAI rejected the API key (401)";
		return reasonf(a, "OpenAI refused access (%ld): %s", st,
			       upstream_message(a, hr));
	case ERR_RATE_LIMITED:
		if (hr->retry_after_s >= 0)
			return reasonf(a,
				       "rate limited by OpenAI; retry after "
				       "%ld s",
				       hr->retry_after_s);
		return "rate limited by OpenAI";
	case ERR_TIMEOUT:
		return reasonf(a,
			       "OpenAI did not answer in time (%d attempt%s)",
			       hr->attempts, hr->attempts == 1 ? "" : "s");
	case ERR_TOO_LARGE:
		return "OpenAI's answer was over the size limit";
	default:
		break;
	}
	if (hr->curl_code != 0) /* no complete answer, whatever the status */
		return reasonf(a, "could not reach OpenAI: %s", hr->error);
	if (st >= 500)
		return reasonf(a, "OpenAI server error (%ld) after %d attempt%s",
			       st, hr->attempts, hr->attempts == 1 ? "" : "s");
	if (st >= 400)
		return reasonf(a, "OpenAI rejected the request (%ld): %s", st,
			       upstream_message(a, hr));
	if (st == 0)
		return reasonf(a, "could not call OpenAI: %s", hr->error);
	return reasonf(a, "OpenAI answered HTTP %ld", st);
}

static int fail(openai_result_t *res, openai_outcome_t outcome, int rc,
		const char *reason)
{
	res->outcome = outcome;
	res->reason = reason;
	return rc;
}

/* Reads a completed Responses API object into res. */
static int read_response(arena_t *a, json_t *r, openai_result_t *res)
{
	if (!json_is_object(r))
		return fail(res, OPENAI_BAD_RESPONSE, ERR_UPSTREAM,
			    "OpenAI sent something that is not a response");
	const char *id = json_string_value(json_object_get(r, "id"));
	const char *model = json_string_value(json_object_get(r, "model"));
	res->response_id = id ? arena_strdup(a, id) : NULL;
	res->model = model ? arena_strdup(a, model) : NULL;
	json_t *usage = json_object_get(r, "usage");
	res->input_tokens =
		(long)json_integer_value(json_object_get(usage, "input_tokens"));
	res->output_tokens = (long)json_integer_value(
		json_object_get(usage, "output_tokens"));

	/* Walk output[] for the assistant message; reasoning items (and any
	 * other kind) that come before it are skipped. */
	json_t *output = json_object_get(r, "output");
	json_t *message = NULL;
	size_t i;
	json_t *item;
	json_array_foreach(output, i, item)
	{
		const char *type =
			json_string_value(json_object_get(item, "type"));
		if (type && strcmp(type, "message") == 0) {
			message = item;
			break;
		}
	}
	buf_t text;
	buf_init(&text, a, HTTP_CLIENT_MAX_BODY);
	bool have_text = false;
	json_t *part;
	json_array_foreach(json_object_get(message, "content"), i, part)
	{
		const char *type =
			json_string_value(json_object_get(part, "type"));
		if (!type)
			continue;
		if (strcmp(type, "refusal") == 0) {
			const char *why = json_string_value(
				json_object_get(part, "refusal"));
			return fail(res, OPENAI_REFUSED, ERR_UNPROCESSABLE,
				    reasonf(a, "refused: %.*s",
					    REASON_DETAIL_MAX,
					    why ? why : "(no reason given)"));
		}
		if (strcmp(type, "output_text") == 0) {
			const char *t = json_string_value(
				json_object_get(part, "text"));
			if (t && buf_puts(&text, t) == 0)
				have_text = true;
		}
	}
	if (have_text)
		res->text = buf_cstr(&text);

	const char *status = json_string_value(json_object_get(r, "status"));
	if (status && strcmp(status, "incomplete") == 0) {
		const char *why = json_string_value(json_object_get(
			json_object_get(r, "incomplete_details"), "reason"));
		return fail(res, OPENAI_INCOMPLETE, ERR_UPSTREAM,
			    reasonf(a, "incomplete: %s",
				    why ? why : "unknown reason"));
	}
	if (status && strcmp(status, "failed") == 0) {
		const char *why = json_string_value(json_object_get(
			json_object_get(r, "error"), "message"));
		return fail(res, OPENAI_FAILED, ERR_UPSTREAM,
			    reasonf(a, "failed: %.*s", REASON_DETAIL_MAX,
				    why ? why : "no reason given"));
	}
	if (!status || strcmp(status, "completed") != 0)
		return fail(res, OPENAI_BAD_RESPONSE, ERR_UPSTREAM,
			    reasonf(a, "unexpected response status '%.40s'",
				    status ? status : "(none)"));
	if (!message)
		return fail(res, OPENAI_BAD_RESPONSE, ERR_UPSTREAM,
			    "OpenAI answered without a message");
	if (!have_text)
		return fail(res, OPENAI_BAD_RESPONSE, ERR_UPSTREAM,
			    "OpenAI's message has no output_text");

	json_error_t jerr;
	json_t *j = json_loadb(text.data, text.len, 0, &jerr);
	if (!j)
		return fail(res, OPENAI_INVALID_JSON, ERR_UPSTREAM,
			    reasonf(a,
				    "invalid JSON from the model: %s at "
				    "position %d",
				    jerr.text, jerr.position));
	if (!json_is_object(j)) {
		json_decref(j);
		return fail(res, OPENAI_INVALID_JSON, ERR_UPSTREAM,
			    "invalid JSON from the model: not an object");
	}
	res->json = j;
	return 0;
}

static void drop_json(void *j)
{
	json_decref(j);
}

static void log_call(const openai_config_t *oc, const openai_result_t *res,
		     int rc)
{
	log_line_t *l = log_begin(rc ? LOG_WARN : LOG_INFO, "openai call");
	log_str(l, "model", oc->model);
	log_int(l, "status", res->http_status);
	log_str(l, "outcome", outcome_names[res->outcome]);
	log_double(l, "latency_ms", res->latency_ms);
	log_int(l, "input_tokens", res->input_tokens);
	log_int(l, "output_tokens", res->output_tokens);
	log_int(l, "attempts", res->attempts);
	if (res->response_id)
		log_str(l, "response_id", res->response_id);
	if (rc) {
		log_str(l, "err", err_code_name(rc));
		log_str(l, "reason", res->reason);
	}
	log_end(l);
}

static int check_args(const openai_config_t *oc, const openai_request_t *rq,
		      openai_result_t *res)
{
	const char *why = NULL;
	if (!oc->base_url || !*oc->base_url)
		why = "OPENAI_BASE_URL is not set";
	else if (!oc->api_key || !*oc->api_key)
		why = "OPENAI_API_KEY is not set";
	else if (!oc->model || !*oc->model)
		why = "OPENAI_MODEL is not set";
	else if (!rq->input || !*rq->input)
		why = "no input text";
	else if (!json_is_object(rq->schema))
		why = "no JSON schema object";
	else if (!schema_name_ok(rq->schema_name))
		why = "schema name must be 1-64 of [A-Za-z0-9_-]";
	else if (rq->max_output_tokens != 0 && rq->max_output_tokens < 16)
		why = "max_output_tokens must be at least 16";
	else if (rq->temperature > 2)
		why = "temperature must be between 0 and 2";
	if (why)
		return fail(res, OPENAI_HTTP_ERROR, ERR_INVALID, why);
	return 0;
}

int openai_generate_json(arena_t *a, const openai_config_t *oc,
			 const openai_request_t *rq, openai_result_t *res)
{
	memset(res, 0, sizeof *res);
	res->retry_after_s = -1;
	int rc = check_args(oc, rq, res);
	if (rc < 0) {
		log_call(oc, res, rc);
		return rc;
	}

	json_t *body = openai_request_body(oc, rq);
	arena_on_reset(a, drop_json, body);
	size_t blen = strlen(oc->base_url);
	while (blen && oc->base_url[blen - 1] == '/')
		blen--;
	const char *url =
		arena_printf(a, "%.*s/responses", (int)blen, oc->base_url);
	/* The only place the key is put anywhere: a request header, which
	 * http_client never logs. */
	const char *headers[] = {
		arena_printf(a, "Authorization: Bearer %s", oc->api_key),
		NULL,
	};
	http_client_request_t hreq = {
		.method = "POST",
		.url = url,
		.headers = headers,
		.json = body,
		.timeout_ms = oc->timeout_ms > 0 ? oc->timeout_ms
						 : OPENAI_DEFAULT_TIMEOUT_MS,
		.connect_timeout_ms = oc->connect_timeout_ms,
		.deadline_ms = oc->deadline_ms,
		.retry = oc->retry,
	};
	http_client_response_t hr;
	rc = http_client_do(a, &hreq, &hr);
	res->http_status = hr.status;
	res->attempts = hr.attempts;
	res->retry_after_s = hr.retry_after_s;
	res->latency_ms = hr.latency_ms;
	if (rc < 0) {
		fail(res, OPENAI_HTTP_ERROR, rc, http_reason(a, rc, &hr));
	} else {
		json_t *r;
		if (http_client_json(a, &hr, &r) < 0)
			rc = fail(res, OPENAI_BAD_RESPONSE, ERR_UPSTREAM,
				  "OpenAI sent a malformed response");
		else
			rc = read_response(a, r, res);
		if (res->json)
			arena_on_reset(a, drop_json, res->json);
	}
	log_call(oc, res, rc);
	return rc;
}
