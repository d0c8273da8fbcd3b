/* api: the JSON API under /api/v1 on the platform host.
 *
 *   POST   /api/v1/workflows/generate      {"prompt", "name"?, "deploy"?}
 *                                          -> 202 {"workflow", "job_id"};
 *                                          at most CANOPY_GENERATE_PER_HOUR
 *                                          per tenant an hour, else 429
 *   GET    /api/v1/workflows               list
 *   GET    /api/v1/workflows/{id}          one, with its graph
 *   PUT    /api/v1/workflows/{id}          body: a graph; a new version
 *   DELETE /api/v1/workflows/{id}          204
 *   GET    /api/v1/workflows/{id}/versions
 *   POST   /api/v1/workflows/{id}/deploy   -> 202 {"job_id", "duplicate", ...}:
 *                                          while a deploy of the same graph
 *                                          is pending or running, its job
 *                                          (key deploy:<tenant>:<id>:<hash>:
 *                                          two workflows may share a graph)
 *   GET    /api/v1/workflows/{id}/status
 *
 * Every request carries "Authorization: Bearer <api key>" (lib/apikey);
 * the key's tenant scopes everything, so another tenant's workflow id is
 * a 404 exactly like one that does not exist.  Each route requires one
 * key scope (the GETs workflows:read, the rest workflows:write; see
 * api_routes): a key without it gets 403 "insufficient_scope".  Every answer is JSON with
 * Cache-Control: no-store; errors are
 * {"error":{"code","message","details"?}}, details being
 * [{"pointer","message"}] for the fields at fault.  Slow work (generation,
 * deployment) becomes a job; a handler only reads and writes rows, and
 * never holds a stream (status streams are nchan's, see lib/publish).
 *
 * CORS: an answer to an Origin of Canopy's own (cors_origin_allowed)
 * echoes it in Access-Control-Allow-Origin; every answer says
 * Vary: Origin.  A preflight (OPTIONS with Access-Control-Request-Method)
 * is answered before any key is asked for: 204 for our origins, 403
 * without CORS headers for any other.
 *
 * No FastCGI here: the responder hands over the request, a way to read
 * its body, its database connection and a response to fill. */
#ifndef CANOPY_API_H
#define CANOPY_API_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "db.h"
#include "err.h"
#include "http.h"
#include "router.h"

#define API_PREFIX "/api/"
#define API_BODY_MAX (256u * 1024u) /* request bodies; nginx allows 1 MB */
#define API_PROMPT_MAX 4000
#define API_NAME_MAX 200
#define API_LIST_MAX 500
/* CORS (lib/cors): Canopy's own origins may call the API from a browser
 * with these; every other origin gets no CORS header. */
#define API_CORS_METHODS "GET, POST, PUT, DELETE"
#define API_CORS_HEADERS "Authorization, Content-Type"
#define API_CORS_EXPOSE "Location, Retry-After, WWW-Authenticate, X-Request-Id"

typedef struct api api_t;

/* A route of the API and the key scope it requires. */
typedef struct {
	router_route_t route;
	unsigned scope; /* one APIKEY_SCOPE_* bit */
} api_route_t;

/* Every route of the API (a static table; *n gets its length), for
 * tools that list them (canopy routes). */
const api_route_t *api_routes(size_t *n);

/* Loads what the API needs, once at start: the workflow schema
 * (cfg->schema_dir/workflow.schema.json) and the outbound host allowlist
 * (ALLOWED_OUTBOUND_HOSTS) that graphs are checked against.  cfg is
 * borrowed for the api's lifetime.  Returns an api the caller owns
 * (api_free), or NULL with one line in err. */
api_t *api_new(const config_t *cfg, char *err, size_t errlen);
void api_free(api_t *api);

/* Whether req is the API's: the platform host and a path under
 * API_PREFIX. */
bool api_owns(const http_request_t *req);

/* Answers req (one api_owns accepted) into resp, which the caller has
 * initialised and writes afterwards: routing, authentication, the body
 * (read with read_fn/read_ctx, at most API_BODY_MAX), the handler, the
 * JSON error.  Always leaves resp complete with a status; returns 0, or
 * ERR_INTERNAL when even the error answer could not be made (resp then
 * holds a bare 500). */
int api_serve(api_t *api, db_t *db, http_request_t *req,
	      http_response_t *resp, http_read_fn read_fn, void *read_ctx)
	WARN_UNUSED;

#endif
