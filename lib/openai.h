/* openai: strict JSON generation through OpenAI's Responses API.
 *
 *   openai_config_t oc;
 *   openai_config_init(&oc, &cfg);          (OPENAI_* settings)
 *   openai_request_t rq = {.instructions = system_prompt, .input = prompt,
 *                          .schema_name = "workflow", .schema = schema,
 *                          .temperature = 0.2};
 *   if (!openai_model_accepts_temperature(oc.model)) rq.temperature = -1;
 *   openai_result_t res;
 *   int rc = openai_generate_json(arena, &oc, &rq, &res);
 *   rc == 0: res.json is the parsed answer; else res.reason says why.
 *
 * One call is one POST {base}/responses with model, instructions, input,
 * text.format {type: json_schema, name, schema, strict: true}, store false,
 * max_output_tokens and, only when asked for, temperature; sent through
 * http_client (allowlist, retries, Retry-After, X-Request-Id).  The answer
 * is read by walking output[] for the assistant message (a reasoning item
 * may come first) and its output_text; the top-level output_text of the
 * SDKs is not part of the raw API.  Each call is logged as one JSON line
 * (model, status, outcome, latency, tokens, response id; the request id
 * comes with every log line); the key is never logged. */
#ifndef CANOPY_OPENAI_H
#define CANOPY_OPENAI_H

#include <stdbool.h>

#include <jansson.h>

#include "arena.h"
#include "config.h"
#include "err.h"
#include "http_client.h"

#define OPENAI_DEFAULT_MAX_OUTPUT_TOKENS 8192
#define OPENAI_DEFAULT_TIMEOUT_MS 120000

/* Where and how to call.  Strings are borrowed. */
typedef struct {
	const char *base_url; /* OPENAI_BASE_URL, e.g. https://api.openai.com/v1 */
	const char *api_key;  /* OPENAI_API_KEY: secret, never logged */
	const char *model;    /* OPENAI_MODEL */
	long timeout_ms;      /* per attempt (default 120 s) */
	long connect_timeout_ms; /* default 5 s */
	long deadline_ms;     /* all attempts and waits; 0: none */
	http_client_retry_t retry; /* zero fields: http_client defaults */
} openai_config_t;

/* One generation.  Strings and schema are borrowed. */
typedef struct {
	const char *instructions; /* system prompt, or NULL */
	const char *input;        /* user text (required) */
	const char *schema_name;  /* text.format.name: [A-Za-z0-9_-]{1,64} */
	json_t *schema;           /* the strict JSON Schema (required) */
	int max_output_tokens;    /* 0: OPENAI_DEFAULT_MAX_OUTPUT_TOKENS */
	double temperature;       /* sent only when >= 0; 0 is a valid value,
				   * so set -1 to omit it */
} openai_request_t;

/* What became of a call, beyond the ERR_* code. */
typedef enum {
	OPENAI_OK = 0,
	OPENAI_HTTP_ERROR,   /* no usable HTTP answer: see the ERR_* code */
	OPENAI_REFUSED,      /* the model refused (ERR_UNPROCESSABLE) */
	OPENAI_INCOMPLETE,   /* status "incomplete" (ERR_UPSTREAM) */
	OPENAI_FAILED,       /* status "failed" (ERR_UPSTREAM) */
	OPENAI_INVALID_JSON, /* output_text is not JSON (ERR_UPSTREAM) */
	OPENAI_BAD_RESPONSE  /* not a Responses API object (ERR_UPSTREAM) */
} openai_outcome_t;

typedef struct {
	openai_outcome_t outcome;
	json_t *json;        /* the parsed answer; owned by the arena */
	const char *text;    /* the raw output_text (arena), or NULL; kept for
			      * a repair prompt after a schema violation */
	const char *reason;  /* human reason on failure (arena), else NULL */
	const char *response_id; /* "resp_..." (arena), or NULL */
	const char *model;   /* the model that answered (arena), or NULL */
	long http_status;
	int attempts;
	long retry_after_s;  /* when rate limited: seconds to wait, or -1 */
	long input_tokens;
	long output_tokens;
	double latency_ms;
} openai_result_t;

/* Fills oc from the loaded configuration with default timeouts. */
void openai_config_init(openai_config_t *oc, const config_t *cfg);

/* Zeroes rq and sets temperature to -1 (omitted): a request built from
 * zero would otherwise send temperature 0. */
void openai_request_init(openai_request_t *rq);

/* Whether model takes a temperature: reasoning models (o1, o3, o4-mini,
 * gpt-5...) refuse the parameter. */
bool openai_model_accepts_temperature(const char *model);

/* The request body for rq (new reference, the caller owns it); exposed
 * for tests and for logging the shape without calling. */
json_t *openai_request_body(const openai_config_t *oc,
			    const openai_request_t *rq);

/* Calls the Responses API and fills *res (everything in it belongs to the
 * arena).  Returns 0 with res->json set, or:
 *   ERR_INVALID       bad arguments, or OpenAI answered 400
 *   ERR_UNAUTHORIZED  401/403 ("OpenAI rejected the API key (401)")
 *   ERR_RATE_LIMITED  429 after retries; res->retry_after_s when known
 *   ERR_UPSTREAM      5xx, connection failure, malformed answer,
 *                     incomplete or failed response, invalid JSON text
 *   ERR_TIMEOUT       no answer in time
 *   ERR_UNPROCESSABLE the model refused ("refused: ...")
 *   ERR_FORBIDDEN     OPENAI_BASE_URL's host is not on the allowlist
 * with res->outcome and res->reason saying which, in words a job can
 * store and a person can read. */
int openai_generate_json(arena_t *a, const openai_config_t *oc,
			 const openai_request_t *rq,
			 openai_result_t *res) WARN_UNUSED;

#endif
