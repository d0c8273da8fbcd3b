/* http: the request/response model shared by every handler.
 *
 * A request is built from the FastCGI parameter array ("NAME=value"
 * strings, as FCGX_Accept_r hands them over) without any FastCGI code
 * here: the responder passes envp plus read/write callbacks.  Fields are
 * str_t views into envp or into the request arena, so envp must stay
 * valid (libfcgi keeps it until FCGX_Finish_r) as long as the request is
 * used.  Nothing here allocates from libc: every copy comes from the
 * request arena, and most requests need none (views into envp).
 *
 * Absent versus empty: functions returning a str_t for something that may
 * be missing (a header, a query/form field, a cookie) return a view with
 * p == NULL when it is absent and p != NULL (possibly len 0) when it is
 * present but empty; http_found() tests that.
 *
 * Typical responder flow:
 *
 *   http_request_t req;
 *   if (http_request_init(&req, arena, envp) < 0) -> 400, log req.error
 *   http_response_t resp;
 *   http_response_init(&resp, arena, BODY_MAX);
 *   resp.head_only = req.method_id == HTTP_HEAD;
 *   ... router_match, handler ...
 *   http_response_write(&resp, write_cb, fcgx_out);
 */
#ifndef CANOPY_HTTP_H
#define CANOPY_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "str.h"

#define HTTP_MAX_URI 8192           /* longer REQUEST_URI: ERR_INVALID */
#define HTTP_MAX_PARAMS 256         /* query / form pairs kept */
#define HTTP_MAX_PATH_PARAMS 8      /* {name} captures per route */
#define HTTP_MAX_RESPONSE_HEADERS 32
#define HTTP_REQUEST_ID_MAX 64

typedef enum {
	HTTP_OTHER = 0, /* a syntactically valid method we do not route */
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_OPTIONS
} http_method_t;

/* A name/value pair: headers, query/form fields, path params. */
typedef struct {
	str_t name;
	str_t value;
} http_pair_t;

struct http_lazy; /* query/form parse caches, private to http.c */

typedef struct {
	arena_t *arena;
	char **envp;         /* the FastCGI params, borrowed */

	str_t method;        /* "GET", validated [A-Z]{1,16} */
	http_method_t method_id;
	str_t uri;           /* raw REQUEST_URI (path + '?' + query) */
	str_t path;          /* decoded, starts with '/', no NUL/CTL, valid
	                      * UTF-8, no "." or ".." segment, "//" merged;
	                      * NUL-terminated */
	str_t query;         /* raw query string, without '?' */
	str_t host;          /* lower-cased, port and final dot stripped,
	                      * [a-z0-9.-], labels 1..63, total <= 253 */
	str_t slug;          /* tenant slug from CANOPY_SLUG; empty (len 0)
	                      * for the platform host */
	str_t request_id;    /* REQUEST_ID / HTTP_X_REQUEST_ID if valid
	                      * ([A-Za-z0-9-]{1,64}), else 32 random hex;
	                      * NUL-terminated */
	str_t remote_addr;   /* REMOTE_ADDR as given */
	str_t content_type;  /* CONTENT_TYPE as given (empty when none) */
	size_t content_length;
	bool has_content_length; /* CONTENT_LENGTH was present, non-empty */
	bool https;          /* HTTPS=on */

	str_t body;          /* after http_request_read_body; NUL-terminated */
	bool body_read;

	/* Filled by router_match. */
	http_pair_t path_params[HTTP_MAX_PATH_PARAMS];
	size_t npath_params;
	const char *route_name; /* matched route's name, for logs */
	str_t allow;         /* after ERR_METHOD: "GET, HEAD, POST" */

	const char *error;   /* static reason of the last ERR_* (for logs) */
	struct http_lazy *lazy;
} http_request_t;

/* True when a looked-up value is present (see "absent versus empty"). */
static inline bool http_found(str_t v)
{
	return v.p != NULL;
}

/* Builds req from the FastCGI params envp (NULL-terminated array of
 * "NAME=value").  Reads REQUEST_METHOD, REQUEST_URI (QUERY_STRING when
 * the URI has no '?'), HTTP_HOST, CANOPY_SLUG, REQUEST_ID or
 * HTTP_X_REQUEST_ID, REMOTE_ADDR, CONTENT_TYPE, CONTENT_LENGTH, HTTPS.
 * Returns 0, or ERR_INVALID when the method, URI/path, host, slug or
 * content length is bad; req->error then names the reason (a static
 * string) and request_id is still set, so the caller can answer 400 and
 * log.  Copies go to arena; envp is borrowed. */
int http_request_init(http_request_t *req, arena_t *arena, char **envp)
	WARN_UNUSED;

/* Value of a request header by its usual name, case-insensitive
 * ("User-Agent" reads HTTP_USER_AGENT; "Content-Type"/"Content-Length"
 * read CONTENT_TYPE/CONTENT_LENGTH).  p == NULL when absent. */
str_t http_header(const http_request_t *req, str_t name);

/* Whether an If-None-Match value matches our entity tag etag (quoted,
 * e.g. "\"abc\""): "*", or a comma-separated list with an equal tag under
 * the weak comparison of RFC 9110 8.8.3.2, so W/"abc" matches too (nginx's
 * gzip filter weakens the tags it passes on). */
bool http_etag_matches(str_t if_none_match, const char *etag);

/* Any FastCGI param by its exact name ("SERVER_NAME"); p == NULL when
 * absent. */
str_t http_fcgi_param(const http_request_t *req, const char *name);

/* Iterates the request headers: start with *pos = 0; each call gives the
 * CGI name without "HTTP_" ("USER_AGENT") and the value, false at end. */
bool http_header_next(const http_request_t *req, size_t *pos, str_t *name,
		      str_t *value);

/* Reads data from fn ("bytes read, 0 at end of input, < 0 on error"),
 * until end of input, into req->body (arena, NUL-terminated).
 * ERR_TOO_LARGE when CONTENT_LENGTH or the data actually sent exceeds
 * max (CONTENT_LENGTH is checked first, so an oversized declared body is
 * refused without reading it); ERR_INVALID when fn fails or the data
 * sent does not match CONTENT_LENGTH.  A second call is a no-op. */
typedef long (*http_read_fn)(void *ctx, char *buf, size_t n);
int http_request_read_body(http_request_t *req, http_read_fn fn, void *ctx,
			   size_t max) WARN_UNUSED;

/* ---------------------------------------------------------------- query,
 * form */

/* Parses an application/x-www-form-urlencoded string ('&'-separated,
 * '+' is a space, empty segments skipped, a name without '=' has an empty
 * value) into *items (arena), duplicates kept in order.  ERR_INVALID on a
 * malformed escape or a NUL, ERR_TOO_LARGE over max_pairs pairs. */
int http_urlencoded_parse(arena_t *arena, str_t s, size_t max_pairs,
			  http_pair_t **items, size_t *n) WARN_UNUSED;

/* Parses the query string (once; the result is cached in the request)
 * and gives all pairs.  Errors as http_urlencoded_parse, with
 * HTTP_MAX_PARAMS pairs at most. */
int http_query_parse(const http_request_t *req, const http_pair_t **items,
		     size_t *n) WARN_UNUSED;

/* First decoded value of query parameter name; p == NULL when absent or
 * when the query string is malformed (call http_query_parse to tell). */
str_t http_query(const http_request_t *req, const char *name);

/* As http_query_parse for an application/x-www-form-urlencoded body
 * (parsed once).  ERR_MEDIA_TYPE when the request has another content
 * type, ERR_INTERNAL when the body was not read first. */
int http_form_parse(const http_request_t *req, const http_pair_t **items,
		    size_t *n) WARN_UNUSED;

/* First decoded value of form field name; p == NULL when absent or when
 * the form cannot be parsed (call http_form_parse first to tell). */
str_t http_form(const http_request_t *req, const char *name);

/* Percent-decodes in ('+' as space when plus_is_space).  *out is a view
 * of in when nothing needed decoding, else an arena copy (NUL-terminated).
 * ERR_INVALID on a malformed escape ("%zz", "%4") or a decoded or literal
 * NUL byte (no field of ours may contain one). */
int http_url_decode(arena_t *arena, str_t in, bool plus_is_space,
		    str_t *out) WARN_UNUSED;

/* Appends in to out with every byte but A-Z a-z 0-9 - . _ ~ escaped as
 * %XX (upper-case hex): safe for a path segment or a query value.
 * Returns 0 or the buffer's ERR_TOO_LARGE. */
int http_url_encode(buf_t *out, str_t in);

/* ---------------------------------------------------------------- cookies */

/* Value of cookie name from the Cookie header (RFC 6265, tolerant: pairs
 * without '=' are skipped, spaces trimmed, one pair of surrounding
 * double quotes removed, names case-sensitive, first match wins).  A view
 * into envp; p == NULL when absent. */
str_t http_cookie(const http_request_t *req, const char *name);

/* Whether s is a tenant slug as nginx's server_name captures it: one DNS
 * label of a-z, 0-9 and '-', 1..63 long, not starting or ending with
 * '-' (the admin's rules for new slugs are stricter: admin_slug_check). */
bool http_slug_valid(str_t s);

/* ---------------------------------------------------------------- response */

typedef struct {
	arena_t *arena;
	int status;          /* 200 after init */
	http_pair_t headers[HTTP_MAX_RESPONSE_HEADERS]; /* arena copies */
	size_t nheaders;
	buf_t body;          /* capped at init */
	bool head_only;      /* HEAD: send headers and Content-Length only */
} http_response_t;

/* Status 200, no headers, an empty body capped at body_max bytes. */
void http_response_init(http_response_t *resp, arena_t *arena,
			size_t body_max);

/* Sets header name to value, replacing every earlier one of that name
 * (case-insensitive).  Both are copied to the arena.  ERR_INVALID when
 * name is not an RFC 9110 token, value holds CR, LF, NUL or another
 * control byte but tab, or name is Status or Content-Length (the writer
 * owns those); ERR_TOO_LARGE past HTTP_MAX_RESPONSE_HEADERS headers. */
int http_set_header(http_response_t *resp, str_t name, str_t value)
	WARN_UNUSED;

/* As http_set_header, but appends (Set-Cookie, Vary, Link ...). */
int http_add_header(http_response_t *resp, str_t name, str_t value)
	WARN_UNUSED;

/* The first response header named name (case-insensitive); p == NULL
 * when absent. */
str_t http_response_header(const http_response_t *resp, str_t name);

typedef enum {
	HTTP_SAMESITE_LAX = 0,
	HTTP_SAMESITE_STRICT,
	HTTP_SAMESITE_NONE /* requires secure */
} http_samesite_t;

typedef struct {
	const char *path;   /* NULL: "/" */
	const char *domain; /* NULL: host-only cookie */
	long long max_age;  /* > 0: Max-Age; 0: session cookie; < 0: Max-Age=0
	                     * (delete) */
	bool http_only;
	bool secure;
	http_samesite_t same_site;
} http_cookie_opts_t;

/* Appends a Set-Cookie header.  opts NULL means Path=/; HttpOnly;
 * SameSite=Lax, session (note: a zeroed struct has http_only false).
 * ERR_INVALID when name is not a token, value holds a byte outside
 * RFC 6265 cookie-octet (no space, '"', ',', ';', '\\', CTL), path or
 * domain hold ';' or control bytes, or SameSite=None without secure. */
int http_set_cookie(http_response_t *resp, const char *name,
		    const char *value, const http_cookie_opts_t *opts)
	WARN_UNUSED;

/* Status (301, 302, 303, 307 or 308, else ERR_INVALID) with a Location
 * header (validated as http_set_header) and an empty body. */
int http_redirect(http_response_t *resp, int status, str_t location)
	WARN_UNUSED;

/* Replaces the body with {"error":{"code":"not_found","message":"...",
 * "field":"..."}} ("field" only when field is non-NULL; message NULL uses
 * the status text), sets the status from err_http_status(err) and
 * Content-Type application/json.  Returns 0 or ERR_TOO_LARGE when the
 * body cap is too small. */
int http_json_error(http_response_t *resp, int err, const char *message,
		    const char *field) WARN_UNUSED;

/* The reason phrase of status ("Not Found"), "Unknown" when unlisted. */
const char *http_status_text(int status);

/* Writes the response CGI style: "Status: 404 Not Found\r\n", the headers
 * in order, Content-Type text/plain; charset=utf-8 when a non-empty body
 * has none, Content-Length (not for 1xx, 204, 304), a blank line and the
 * body (unless head_only or the status has no body): two fn calls at
 * most.  fn returns bytes written (short writes are retried) or < 0.
 * Returns 0, ERR_INTERNAL when fn fails or the body buffer hit its cap
 * (resp->body.err: the handler's output was cut, never send it). */
typedef long (*http_write_fn)(void *ctx, const char *buf, size_t n);
int http_response_write(const http_response_t *resp, http_write_fn fn,
			void *ctx) WARN_UNUSED;

#endif
