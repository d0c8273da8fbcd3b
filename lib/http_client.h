/* http_client: the one libcurl wrapper for every outbound HTTP call.
 *
 *   http_client_request_t req = {.method = "POST", .url = url,
 *                                .headers = hdrs, .body = json};
 *   http_client_response_t resp;
 *   int rc = http_client_do(arena, &req, &resp);
 *   if (rc < 0) -> resp.error says why, resp.status/body the last answer
 *
 * What it does for every caller, so no caller does it differently:
 * - refuses any URL whose host is not on the allowlist (empty by default:
 *   a program allows its OpenAI / builder / nchan hosts at start);
 * - passes the thread's log request id on as X-Request-Id;
 * - a total and a connect timeout per attempt, no redirects, http(s) only;
 * - captures status, headers and body, the body into a capped buffer
 *   (over the cap: ERR_TOO_LARGE, never retried);
 * - retries 429, 5xx, timeouts and connection failures with exponential
 *   backoff and jitter, honouring Retry-After (seconds or HTTP date); never
 *   retries another 4xx.  A timed-out POST may have been done: a call that
 *   is not idempotent sends an idempotency key or sets max_attempts = 1;
 * - converts CURLcode and status to ERR_* here, once: 401/403 ->
 *   ERR_UNAUTHORIZED, 429 -> ERR_RATE_LIMITED, 5xx -> ERR_UPSTREAM, timeout
 *   -> ERR_TIMEOUT, 400 -> ERR_INVALID, 404 -> ERR_NOT_FOUND, 409 ->
 *   ERR_CONFLICT, 422 -> ERR_UNPROCESSABLE, a refused host -> ERR_FORBIDDEN;
 * - logs each attempt as one JSON line (method, host, path without query,
 *   status, attempt, latency_ms; the request id comes with every log line).
 *   Header values and bodies are never logged, so keys stay out of logs.
 *
 * Thread-safe: each call uses its own CURL handle; curl_global_init runs
 * once.  The allowlist is meant to be filled at start-up but is guarded by
 * a lock, so changing it later is safe too. */
#ifndef CANOPY_HTTP_CLIENT_H
#define CANOPY_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "err.h"

#define HTTP_CLIENT_MAX_BODY (4u * 1024u * 1024u) /* default body cap */
#define HTTP_CLIENT_ERROR_MAX 256

/* Retry policy; a zero field takes its default. */
typedef struct {
	int max_attempts;        /* total attempts, 1 = no retry (default 3) */
	long backoff_base_ms;    /* delay before the 2nd attempt (default 500) */
	long backoff_max_ms;     /* cap on one backoff delay (default 8000) */
	long retry_after_max_ms; /* longest Retry-After waited (default 30000);
				  * a longer one ends the call with
				  * ERR_RATE_LIMITED and retry_after_s set */
} http_client_retry_t;

typedef struct {
	const char *method; /* "GET", "POST", "PUT", "DELETE", ...; NULL: GET */
	const char *url;    /* absolute http(s) URL */
	/* NULL-terminated "Name: value" strings; may be NULL.  A header named
	 * here replaces the default of the same name (Content-Type,
	 * Accept, X-Request-Id). */
	const char *const *headers;
	const char *body;   /* request body, or NULL for none */
	size_t body_len;    /* 0 with a body: strlen(body) */
	json_t *json;       /* alternative to body: sent compact as JSON */
	long timeout_ms;         /* total per attempt (default 30000) */
	long connect_timeout_ms; /* default 5000 */
	long deadline_ms;   /* budget for all attempts and waits; 0: none */
	size_t max_body;    /* response body cap (default 4 MB) */
	http_client_retry_t retry;
} http_client_request_t;

typedef struct {
	str_t name;
	str_t value;
} http_client_header_t;

typedef struct {
	long status;        /* HTTP status of the last attempt; 0 if none */
	buf_t body;         /* body of the last attempt (arena, capped) */
	http_client_header_t *headers; /* of the last attempt, in order */
	size_t n_headers;
	int attempts;       /* attempts made */
	long retry_after_s; /* last Retry-After seen, in seconds; -1: none */
	double latency_ms;  /* whole call, waits included */
	int curl_code;      /* CURLcode of the last attempt */
	char error[HTTP_CLIENT_ERROR_MAX]; /* why it failed; "" on success */
} http_client_response_t;

/* Initialises libcurl (once, thread-safe).  Called by http_client_do; a
 * program may call it early, before starting threads.  ERR_INTERNAL when
 * libcurl cannot start. */
int http_client_init(void) WARN_UNUSED;

/* Adds host (case-insensitive, exact match, no port) to the allowlist. */
void http_client_allow_host(const char *host);
/* Adds the host of url; ERR_INVALID when url has none. */
int http_client_allow_url(const char *url) WARN_UNUSED;
/* Adds every host of a comma-separated list (spaces ignored). */
void http_client_allow_hosts(const char *list);
/* Allows the hosts of OPENAI_BASE_URL, BUILDER_API_URL and
 * CANOPY_NCHAN_PUBLISH_URL (those that are set). */
void http_client_allow_config(const config_t *cfg);
/* Empties the allowlist (tests). */
void http_client_clear_allowed(void);
/* Whether url is http(s) and its host is on the allowlist. */
bool http_client_url_allowed(const char *url);

/* Performs req, retrying as described above.  Everything in resp is
 * allocated from a (body, headers) and stays valid until the arena is
 * reset.  Returns 0 for a 2xx answer, else a negative ERR_* with a short
 * human reason in resp->error (never containing a header value). */
int http_client_do(arena_t *a, const http_client_request_t *req,
		   http_client_response_t *resp) WARN_UNUSED;

/* The value of the last response's header name (case-insensitive), or a
 * view with p == NULL. */
str_t http_client_header(const http_client_response_t *resp,
			 const char *name);

/* Parses the response body as JSON into *out, owned by the arena (its
 * reference is dropped when the arena is reset).  ERR_UPSTREAM when the
 * body is not JSON. */
int http_client_json(arena_t *a, const http_client_response_t *resp,
		     json_t **out) WARN_UNUSED;

/* The ERR_* that answers an HTTP status (0 for 2xx). */
int http_client_status_err(long status);

/* Parses a Retry-After value (delta seconds or an HTTP date) into seconds
 * from now (>= 0), or -1 when it is neither. */
long http_client_parse_retry_after(str_t value);

#endif
