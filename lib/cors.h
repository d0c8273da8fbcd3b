/* cors: which origins may read Canopy's JSON API from a browser.
 *
 * Only Canopy's own origins: the platform, https://DOMAIN, and every
 * tenant site, https://<slug>.DOMAIN, each with ":port" exactly when the
 * public HTTPS port (CANOPY_HTTPS_PORT) is not 443, as browsers write an
 * origin.  Everything else -- http://, another port, "null", a deeper
 * subdomain, a look-alike suffix -- gets no CORS header at all, so the
 * browser keeps the answer from the page that asked.
 *
 * Only lib/api uses this: the admin (cookie sessions) and the analytics
 * beacon (a simple request the browser sends without asking) carry no
 * CORS headers. */
#ifndef CANOPY_CORS_H
#define CANOPY_CORS_H

#include <stdbool.h>

#include "config.h"
#include "err.h"
#include "http.h"
#include "str.h"

#define CORS_MAX_AGE 600 /* seconds a browser may cache a preflight */

/* Whether origin (an Origin header's value) is one of Canopy's own, per
 * cfg->domain and cfg->https_port.  False for an absent origin or when
 * no domain is configured. */
bool cors_origin_allowed(const config_t *cfg, str_t origin);

/* Whether req is a CORS preflight: OPTIONS with an Origin and an
 * Access-Control-Request-Method header. */
bool cors_is_preflight(const http_request_t *req);

/* Adds the CORS headers of an ordinary answer to req: always
 * "Vary: Origin" (the answer depends on it, even when it names no
 * origin); with an allowed Origin also Access-Control-Allow-Origin (the
 * origin echoed) and Access-Control-Expose-Headers (expose, may be
 * NULL).  No credentials header: the API authenticates with a bearer key,
 * never a cookie.  Returns 0 or http_add_header's error. */
int cors_headers(const config_t *cfg, const http_request_t *req,
		 http_response_t *resp, const char *expose) WARN_UNUSED;

/* Answers the preflight req (cors_is_preflight) into resp.  Allowed when
 * the origin is ours, the requested method is in methods and every
 * requested header is in headers (comma-separated lists, header names
 * compared without regard to case): 204 with Access-Control-Allow-Origin,
 * -Allow-Methods, -Allow-Headers, -Max-Age and Vary.  Otherwise 403 with
 * a JSON error body and no Access-Control-* header, so the browser
 * refuses the real request.  Returns 0, or ERR_INTERNAL when resp could
 * not be filled. */
int cors_preflight(const config_t *cfg, const http_request_t *req,
		   http_response_t *resp, const char *methods,
		   const char *headers) WARN_UNUSED;

#endif
