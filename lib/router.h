/* router: one static, declarative route table.
 *
 *   static const router_route_t routes[] = {
 *       {"GET",  "/",                       ROUTER_SITE,     site_home, "site.home"},
 *       {"GET",  "/api/v1/workflows/{id}",  ROUTER_PLATFORM, wf_show,   "wf.show"},
 *       {"POST", "/api/v1/workflows",       ROUTER_PLATFORM, wf_create, "wf.create"},
 *   };
 *
 * A pattern is a literal path whose segments may be "{name}" (a whole,
 * non-empty segment, captured as a path param).  Matching walks the
 * pattern and the decoded request path in lockstep, so there is nothing
 * to precompile: router_check() validates the table once at start-up and
 * router_match() then costs a few comparisons per route and no
 * allocation on success.  The first matching route in table order wins
 * (put "/workflows/new" before "/workflows/{id}").  Paths match exactly:
 * "/admin/" is not "/admin". */
#ifndef CANOPY_ROUTER_H
#define CANOPY_ROUTER_H

#include <stddef.h>

#include "err.h"
#include "http.h"

#define ROUTER_SITE 1u     /* a tenant host: <slug>.DOMAIN (req->slug set) */
#define ROUTER_PLATFORM 2u /* the bare DOMAIN (req->slug empty) */
#define ROUTER_ANY (ROUTER_SITE | ROUTER_PLATFORM)

#define ROUTER_PARAM_NAME_MAX 32

typedef int (*router_handler_fn)(http_request_t *req, http_response_t *resp,
				 void *app);

typedef struct {
	const char *method;  /* "GET", "POST", ...; GET also answers HEAD */
	const char *pattern; /* "/api/v1/workflows/{id}" */
	unsigned hosts;      /* ROUTER_SITE | ROUTER_PLATFORM */
	router_handler_fn handler;
	const char *name;    /* for logs and metrics */
} router_route_t;

/* Validates a table at start-up: methods are upper-case tokens, patterns
 * start with '/', have no empty segment, params are whole segments named
 * [a-z_][a-z0-9_]* (<= 32 chars, unique, <= HTTP_MAX_PATH_PARAMS per
 * route), hosts is non-zero within ROUTER_ANY, handler and name are set,
 * no two routes share method, pattern and a host kind.  Returns 0, or
 * ERR_INVALID after logging the offending route. */
int router_check(const router_route_t *routes, size_t n) WARN_UNUSED;

/* Finds the route for req (its host kind, method and path).  On success
 * returns 0, sets *out, req->route_name and req->path_params (views into
 * the pattern and req->path).  ERR_NOT_FOUND when no route of this host
 * kind has a matching path; ERR_METHOD when some do but none for this
 * method, with req->allow set to e.g. "GET, HEAD, POST" (arena) for the
 * Allow header.  *out is NULL on error. */
int router_match(const router_route_t *routes, size_t n, http_request_t *req,
		 const router_route_t **out) WARN_UNUSED;

/* The path param name captured by the matched route; p == NULL when the
 * route declares no such param. */
str_t router_param(const http_request_t *req, const char *name);

/* Path param name as a positive 64-bit id: digits only, no sign, no
 * leading zero, 1..INT64_MAX.  ERR_NOT_FOUND when the segment is not such
 * a number (no object has that id, so 404 is the honest answer);
 * ERR_INTERNAL when the route declares no such param (a bug). */
int router_param_id(const http_request_t *req, const char *name,
		    long long *out) WARN_UNUSED;

#endif
