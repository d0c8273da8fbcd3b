#include "http_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "log.h"

#define DEFAULT_ATTEMPTS 3
#define DEFAULT_BACKOFF_BASE_MS 500
#define DEFAULT_BACKOFF_MAX_MS 8000
#define DEFAULT_RETRY_AFTER_MAX_MS 30000
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define MAX_ATTEMPTS 10
#define HEADERS_MAX_BYTES (64 * 1024) /* response header block cap */
#define ALLOW_MAX 64
#define HOST_MAX 256

/* ---------------------------------------------------------------- setup */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_client_init(void)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		log_error("curl_global_init failed: %s",
			  curl_easy_strerror(global_rc));
		return ERR_INTERNAL;
	}
	return 0;
}

/* ------------------------------------------------------------ allowlist */

static pthread_mutex_t allow_lock = PTHREAD_MUTEX_INITIALIZER;
static char *allowed[ALLOW_MAX];
static size_t n_allowed;

void http_client_allow_host(const char *host)
{
	if (!host || !*host)
		return;
	pthread_mutex_lock(&allow_lock);
	bool have = false;
	for (size_t i = 0; i < n_allowed; i++)
		if (strcasecmp(allowed[i], host) == 0)
			have = true;
	if (!have && n_allowed < ALLOW_MAX)
		allowed[n_allowed++] = xstrdup(host);
	else if (!have)
		log_error("http_client allowlist full; %s not added", host);
	pthread_mutex_unlock(&allow_lock);
}

void http_client_allow_hosts(const char *list)
{
	str_t rest = str_c(list);
	while (rest.len) {
		str_t item;
		rest = str_cut(rest, ',', &item);
		item = str_trim(item);
		if (item.len && item.len < HOST_MAX) {
			char host[HOST_MAX];
			memcpy(host, item.p, item.len);
			host[item.len] = '\0';
			http_client_allow_host(host);
		}
	}
}

void http_client_clear_allowed(void)
{
	pthread_mutex_lock(&allow_lock);
	for (size_t i = 0; i < n_allowed; i++)
		free(allowed[i]);
	n_allowed = 0;
	pthread_mutex_unlock(&allow_lock);
}

static bool host_allowed(const char *host)
{
	bool ok = false;
	pthread_mutex_lock(&allow_lock);
	for (size_t i = 0; i < n_allowed && !ok; i++)
		ok = strcasecmp(allowed[i], host) == 0;
	pthread_mutex_unlock(&allow_lock);
	return ok;
}

/* The parts of a URL this module looks at, copied into fixed buffers so
 * no CURLU string outlives the parse. */
typedef struct {
	char scheme[16];
	char host[HOST_MAX];
	char path[512];
} url_parts_t;

static int url_copy_part(CURLU *u, CURLUPart part, char *out, size_t outlen)
{
	char *v = NULL;
	if (curl_url_get(u, part, &v, 0) != CURLUE_OK || !v)
		return ERR_INVALID;
	size_t n = strlen(v);
	if (n >= outlen) {
		curl_free(v);
		return ERR_INVALID;
	}
	memcpy(out, v, n + 1);
	curl_free(v);
	return 0;
}

static int url_parse(const char *url, url_parts_t *p)
{
	if (!url)
		return ERR_INVALID;
	CURLU *u = curl_url();
	if (!u)
		arena_oom(0);
	int rc = ERR_INVALID;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    url_copy_part(u, CURLUPART_SCHEME, p->scheme, sizeof p->scheme) ==
		    0 &&
	    url_copy_part(u, CURLUPART_HOST, p->host, sizeof p->host) == 0) {
		/* The path is only for logs; a long one is cut, not refused. */
		if (url_copy_part(u, CURLUPART_PATH, p->path, sizeof p->path) <
		    0)
			snprintf(p->path, sizeof p->path, "%s", "/...");
		rc = 0;
	}
	curl_url_cleanup(u);
	if (rc == 0 && strcasecmp(p->scheme, "http") != 0 &&
	    strcasecmp(p->scheme, "https") != 0)
		rc = ERR_INVALID;
	return rc;
}

int http_client_allow_url(const char *url)
{
	url_parts_t p;
	if (http_client_init() < 0)
		return ERR_INTERNAL;
	if (url_parse(url, &p) < 0)
		return ERR_INVALID;
	http_client_allow_host(p.host);
	return 0;
}

void http_client_allow_config(const config_t *cfg)
{
	const char *urls[] = {cfg->openai_base_url, cfg->builder_api_url,
			      cfg->nchan_publish_url};
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
		if (urls[i] && *urls[i] && http_client_allow_url(urls[i]) < 0)
			log_warn("not an http(s) URL, host not allowed: %s",
				 urls[i]);
}

bool http_client_url_allowed(const char *url)
{
	url_parts_t p;
	if (http_client_init() < 0 || url_parse(url, &p) < 0)
		return false;
	return host_allowed(p.host);
}

/* ---------------------------------------------------------- conversions */

int http_client_status_err(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400:
		return ERR_INVALID;
	case 401:
	case 403:
		return ERR_UNAUTHORIZED;
	case 404:
		return ERR_NOT_FOUND;
	case 408:
		return ERR_TIMEOUT;
	case 409:
		return ERR_CONFLICT;
	case 413:
		return ERR_TOO_LARGE;
	case 422:
		return ERR_UNPROCESSABLE;
	case 429:
		return ERR_RATE_LIMITED;
	default:
		return ERR_UPSTREAM; /* 5xx, other 4xx, 1xx and 3xx */
	}
}

static int curl_err(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return ERR_TIMEOUT;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return ERR_INVALID;
	case CURLE_OUT_OF_MEMORY:
		return ERR_INTERNAL;
	default:
		return ERR_UPSTREAM;
	}
}

/* Failures that another attempt may cure: the peer was unreachable, slow,
 * or dropped the answer half way. */
static bool curl_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return true;
	default:
		return false;
	}
}

static bool status_retryable(long status)
{
	return status == 429 ||
	       (status >= 500 && status != 501 && status != 505);
}

long http_client_parse_retry_after(str_t v)
{
	v = str_trim(v);
	if (!v.len || v.len > 64)
		return -1;
	long secs;
	if (str_to_long(v, 0, 365L * 24 * 3600, &secs) == 0)
		return secs;
	char date[65];
	memcpy(date, v.p, v.len);
	date[v.len] = '\0';
	time_t t = curl_getdate(date, NULL);
	if (t == (time_t)-1)
		return -1;
	time_t now = time(NULL);
	return t > now ? (long)(t - now) : 0;
}

/* ------------------------------------------------------------ callbacks */

typedef struct {
	arena_t *arena;
	http_client_response_t *resp;
	size_t cap_headers;
	size_t header_bytes;
	bool too_large;
} call_ctx_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	call_ctx_t *c = userp;
	size_t n = size * nmemb;
	if (buf_append(&c->resp->body, data, n) < 0) {
		c->too_large = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	call_ctx_t *c = userp;
	http_client_response_t *r = c->resp;
	size_t n = size * nmemb;
	c->header_bytes += n;
	if (c->header_bytes > HEADERS_MAX_BYTES) {
		c->too_large = true;
		return 0;
	}
	str_t line = str_trim((str_t){data, n});
	/* A status line starts a new header block (100 Continue, then the
	 * real answer): keep only the last block's headers. */
	if (str_starts_with(line, STR("HTTP/"))) {
		r->n_headers = 0;
		return n;
	}
	str_t name;
	str_t value = str_cut(line, ':', &name);
	if (!value.p || !name.len)
		return n;
	if (r->n_headers == c->cap_headers) {
		size_t cap = c->cap_headers ? c->cap_headers * 2 : 16;
		http_client_header_t *h =
			arena_calloc(c->arena, cap, sizeof *h);
		if (r->n_headers)
			memcpy(h, r->headers, r->n_headers * sizeof *h);
		r->headers = h;
		c->cap_headers = cap;
	}
	http_client_header_t *h = &r->headers[r->n_headers++];
	name = str_trim(name);
	value = str_trim(value);
	h->name = (str_t){arena_strndup(c->arena, name.p, name.len), name.len};
	h->value = (str_t){arena_strndup(c->arena, value.p, value.len),
			   value.len};
	return n;
}

str_t http_client_header(const http_client_response_t *resp, const char *name)
{
	str_t want = str_c(name);
	for (size_t i = resp->n_headers; i-- > 0;)
		if (str_case_eq(resp->headers[i].name, want))
			return resp->headers[i].value;
	return STR_NULL;
}

static void drop_json(void *j)
{
	json_decref(j);
}

int http_client_json(arena_t *a, const http_client_response_t *resp,
		     json_t **out)
{
	json_error_t jerr;
	*out = NULL;
	if (!resp->body.data || !resp->body.len)
		return ERR_UPSTREAM;
	json_t *j = json_loadb(resp->body.data, resp->body.len, 0, &jerr);
	if (!j)
		return ERR_UPSTREAM;
	arena_on_reset(a, drop_json, j);
	*out = j;
	return 0;
}

/* --------------------------------------------------------------- timing */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static __thread unsigned jitter_seed;

/* Exponential backoff with "equal jitter": half the delay is fixed, half
 * random, so many clients failing together do not retry together. */
static long backoff_ms(const http_client_retry_t *r, int attempt)
{
	long d = r->backoff_base_ms;
	for (int i = 1; i < attempt && d < r->backoff_max_ms; i++)
		d *= 2;
	if (d > r->backoff_max_ms)
		d = r->backoff_max_ms;
	if (!jitter_seed)
		jitter_seed = (unsigned)time(NULL) ^
			      (unsigned)(size_t)&jitter_seed;
	long half = d / 2;
	return half + (half > 0 ? rand_r(&jitter_seed) % (half + 1) : 0);
}

/* ----------------------------------------------------------------- call */

static bool header_named(const char *const *headers, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; headers && headers[i]; i++)
		if (strncasecmp(headers[i], name, n) == 0 &&
		    headers[i][n] == ':')
			return true;
	return false;
}

static bool header_line_ok(const char *h)
{
	const char *colon = strchr(h, ':');
	if (!colon || colon == h)
		return false;
	for (const char *p = h; *p; p++)
		if (*p == '\r' || *p == '\n')
			return false;
	return true;
}

static bool request_id_ok(const char *id)
{
	if (!id || !*id)
		return false;
	for (const char *p = id; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return true;
}

static int add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *n = curl_slist_append(*list, line);
	if (!n)
		return ERR_INTERNAL;
	*list = n;
	return 0;
}

static int build_headers(arena_t *a, const http_client_request_t *req,
			 bool has_body, bool empty_body,
			 struct curl_slist **out)
{
	struct curl_slist *list = NULL;
	int rc = 0;
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		if (!header_line_ok(req->headers[i]))
			return ERR_INVALID;
	if (has_body && !header_named(req->headers, "Content-Type"))
		rc = add_header(&list, "Content-Type: application/json");
	/* curl would label an empty POST as a form; say nothing instead. */
	if (!rc && empty_body &&
	    !header_named(req->headers, "Content-Type"))
		rc = add_header(&list, "Content-Type:");
	if (!rc && !header_named(req->headers, "Accept"))
		rc = add_header(&list, "Accept: application/json");
	/* No "Expect: 100-continue" round trip before large bodies. */
	if (!rc)
		rc = add_header(&list, "Expect:");
	const char *rid = log_request_id();
	if (!rc && request_id_ok(rid) &&
	    !header_named(req->headers, "X-Request-Id"))
		rc = add_header(&list,
				arena_printf(a, "X-Request-Id: %s", rid));
	for (size_t i = 0; !rc && req->headers && req->headers[i]; i++)
		rc = add_header(&list, req->headers[i]);
	if (rc) {
		curl_slist_free_all(list);
		return rc;
	}
	*out = list;
	return 0;
}

typedef struct {
	CURLcode first;
} setopt_t;

#define SETOPT(s, h, opt, val)                                           \
	do {                                                             \
		CURLcode cc_ = curl_easy_setopt((h), (opt), (val));      \
		if (cc_ != CURLE_OK && (s)->first == CURLE_OK)           \
			(s)->first = cc_;                                \
	} while (0)

static void log_attempt(const char *method, const url_parts_t *u,
			const http_client_response_t *resp, int attempt,
			double ms, int rc, const char *errbuf, long wait_ms)
{
	log_line_t *l = log_begin(rc ? LOG_WARN : LOG_INFO, "outbound http");
	log_str(l, "method", method);
	log_str(l, "host", u->host);
	log_str(l, "path", u->path);
	log_int(l, "status", resp->status);
	log_int(l, "attempt", attempt);
	log_double(l, "latency_ms", ms);
	if (rc) {
		log_str(l, "err", err_code_name(rc));
		if (errbuf && *errbuf)
			log_str(l, "curl", errbuf);
	}
	if (wait_ms >= 0)
		log_int(l, "retry_in_ms", wait_ms);
	log_end(l);
}

static void set_error(http_client_response_t *resp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_error(http_client_response_t *resp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(resp->error, sizeof resp->error, fmt, ap);
	va_end(ap);
}

static http_client_retry_t retry_defaults(http_client_retry_t r)
{
	if (r.max_attempts <= 0)
		r.max_attempts = DEFAULT_ATTEMPTS;
	if (r.max_attempts > MAX_ATTEMPTS)
		r.max_attempts = MAX_ATTEMPTS;
	if (r.backoff_base_ms <= 0)
		r.backoff_base_ms = DEFAULT_BACKOFF_BASE_MS;
	if (r.backoff_max_ms <= 0)
		r.backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
	if (r.retry_after_max_ms <= 0)
		r.retry_after_max_ms = DEFAULT_RETRY_AFTER_MAX_MS;
	return r;
}

static void describe_failure(http_client_response_t *resp,
			     const url_parts_t *u, int rc, CURLcode cc,
			     const char *errbuf, long timeout_ms)
{
	if (rc == ERR_TOO_LARGE && cc != CURLE_OK)
		set_error(resp, "answer from %s over the size limit", u->host);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		set_error(resp, "%s did not answer within %ld ms", u->host,
			  timeout_ms);
	else if (cc != CURLE_OK)
		set_error(resp, "request to %s failed: %s", u->host,
			  *errbuf ? errbuf : curl_easy_strerror(cc));
	else
		set_error(resp, "%s answered HTTP %ld", u->host,
			  resp->status);
}

int http_client_do(arena_t *a, const http_client_request_t *req,
		   http_client_response_t *resp)
{
	memset(resp, 0, sizeof *resp);
	resp->retry_after_s = -1;
	double start = now_ms();
	const char *method = req->method ? req->method : "GET";
	size_t max_body = req->max_body ? req->max_body : HTTP_CLIENT_MAX_BODY;
	buf_init(&resp->body, a, max_body);

	int rc = http_client_init();
	if (rc < 0) {
		set_error(resp, "libcurl could not start");
		return rc;
	}
	url_parts_t u;
	if (url_parse(req->url, &u) < 0) {
		set_error(resp, "not an absolute http(s) URL");
		return ERR_INVALID;
	}
	if (!host_allowed(u.host)) {
		set_error(resp, "host %s is not on the outbound allowlist",
			  u.host);
		log_line_t *l = log_begin(LOG_WARN, "outbound host refused");
		log_str(l, "method", method);
		log_str(l, "host", u.host);
		log_end(l);
		return ERR_FORBIDDEN;
	}

	const char *body = req->body;
	size_t body_len = req->body_len;
	if (!body && req->json) {
		char *s = json_dumps(req->json, JSON_COMPACT);
		if (!s) {
			set_error(resp, "request JSON could not be serialised");
			return ERR_INVALID;
		}
		body_len = strlen(s);
		body = arena_memdup(a, s, body_len + 1);
		free(s);
	} else if (body && !body_len) {
		body_len = strlen(body);
	}
	/* A bodyless POST/PUT/PATCH still says Content-Length: 0; some
	 * servers answer 411 otherwise. */
	bool empty_body = !body && (strcmp(method, "POST") == 0 ||
				    strcmp(method, "PUT") == 0 ||
				    strcmp(method, "PATCH") == 0);

	struct curl_slist *headers = NULL;
	rc = build_headers(a, req, body != NULL, empty_body, &headers);
	if (rc < 0) {
		set_error(resp, "invalid request header");
		return rc;
	}
	CURL *h = curl_easy_init();
	if (!h) {
		curl_slist_free_all(headers);
		set_error(resp, "libcurl could not make a handle");
		return ERR_INTERNAL;
	}

	http_client_retry_t retry = retry_defaults(req->retry);
	long timeout_ms = req->timeout_ms > 0 ? req->timeout_ms
					      : DEFAULT_TIMEOUT_MS;
	long connect_ms = req->connect_timeout_ms > 0
				  ? req->connect_timeout_ms
				  : DEFAULT_CONNECT_TIMEOUT_MS;
	char errbuf[CURL_ERROR_SIZE];
	call_ctx_t ctx = {.arena = a, .resp = resp};
	setopt_t s = {CURLE_OK};

	SETOPT(&s, h, CURLOPT_URL, req->url);
	SETOPT(&s, h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(&s, h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(&s, h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(&s, h, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
	SETOPT(&s, h, CURLOPT_USERAGENT, "canopy/1.0");
	SETOPT(&s, h, CURLOPT_HTTPHEADER, headers);
	SETOPT(&s, h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	SETOPT(&s, h, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(&s, h, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(&s, h, CURLOPT_WRITEDATA, &ctx);
	SETOPT(&s, h, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(&s, h, CURLOPT_HEADERDATA, &ctx);
	if (strcmp(method, "HEAD") == 0)
		SETOPT(&s, h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 || body)
		SETOPT(&s, h, CURLOPT_CUSTOMREQUEST, method);
	if (body || empty_body) {
		SETOPT(&s, h, CURLOPT_POSTFIELDS, body ? body : "");
		SETOPT(&s, h, CURLOPT_POSTFIELDSIZE_LARGE,
		       (curl_off_t)body_len);
	}
	if (s.first != CURLE_OK) {
		set_error(resp, "libcurl refused an option: %s",
			  curl_easy_strerror(s.first));
		curl_easy_cleanup(h);
		curl_slist_free_all(headers);
		return ERR_INTERNAL;
	}

	for (int attempt = 1;; attempt++) {
		long this_timeout = timeout_ms;
		if (req->deadline_ms > 0) {
			long left = req->deadline_ms -
				    (long)(now_ms() - start);
			if (left < this_timeout)
				this_timeout = left > 1 ? left : 1;
		}
		errbuf[0] = '\0';
		buf_init(&resp->body, a, max_body);
		resp->n_headers = 0;
		resp->status = 0;
		ctx.too_large = false;
		ctx.header_bytes = 0;
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, this_timeout);

		double t0 = now_ms();
		CURLcode cc = curl_easy_perform(h);
		double ms = now_ms() - t0;
		resp->attempts = attempt;
		resp->curl_code = cc;
		/* Known even when the body failed half way (0 if none). */
		if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE,
				      &resp->status) != CURLE_OK)
			resp->status = 0;

		if (ctx.too_large)
			rc = ERR_TOO_LARGE;
		else if (cc != CURLE_OK)
			rc = curl_err(cc);
		else
			rc = http_client_status_err(resp->status);

		bool retryable = !ctx.too_large &&
				 (cc != CURLE_OK ? curl_retryable(cc)
						 : status_retryable(
							   resp->status));
		long wait = -1;
		long ra_s = -1;
		if (cc == CURLE_OK && (resp->status == 429 ||
				       resp->status == 503)) {
			str_t ra = http_client_header(resp, "Retry-After");
			ra_s = ra.p ? http_client_parse_retry_after(ra) : -1;
			resp->retry_after_s = ra_s;
		}
		if (rc && retryable && attempt < retry.max_attempts) {
			if (ra_s >= 0) {
				wait = ra_s * 1000;
				/* Waiting less than asked is not honouring it:
				 * past the cap the caller reschedules. */
				if (wait > retry.retry_after_max_ms)
					wait = -1;
			} else {
				wait = backoff_ms(&retry, attempt);
			}
			if (wait >= 0 && req->deadline_ms > 0 &&
			    now_ms() - start + (double)wait >=
				    (double)req->deadline_ms)
				wait = -1;
		}
		log_attempt(method, &u, resp, attempt, ms, rc, errbuf, wait);
		if (!rc || wait < 0) {
			if (rc)
				describe_failure(resp, &u, rc, cc, errbuf,
						 this_timeout);
			break;
		}
		sleep_ms(wait);
	}
	resp->latency_ms = now_ms() - start;
	curl_easy_cleanup(h);
	curl_slist_free_all(headers);
	return rc;
}
