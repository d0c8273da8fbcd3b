#include "publish.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http_client.h"
#include "log.h"

/* Set once at start, read by every thread afterwards. */
static _Atomic(const config_t *) default_cfg;

void publish_init(const config_t *cfg)
{
	if (cfg && cfg->nchan_publish_url && *cfg->nchan_publish_url &&
	    http_client_allow_url(cfg->nchan_publish_url) < 0)
		log_warn("CANOPY_NCHAN_PUBLISH_URL has no host; publishing off");
	atomic_store(&default_cfg, cfg);
}

const config_t *publish_default(void)
{
	const config_t *cfg = atomic_load(&default_cfg);
	if (!cfg || !cfg->nchan_publish_url || !*cfg->nchan_publish_url)
		return NULL;
	return cfg;
}

/* The channel name goes into the URL path: exactly the tenant slug
 * syntax of sql/0001_core.sql, so nothing else can be addressed. */
static bool valid_slug(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return false;
	return true;
}

int publish_tenant(const config_t *cfg, const char *slug,
		   const json_t *message)
{
	if (!cfg || !cfg->nchan_publish_url || !*cfg->nchan_publish_url ||
	    !valid_slug(slug) || !json_is_object(message))
		return ERR_INVALID;
	char *body = json_dumps(message, JSON_COMPACT);
	if (!body)
		return ERR_INVALID;
	size_t len = strlen(body);
	if (len > PUBLISH_MESSAGE_MAX) {
		free(body);
		return ERR_TOO_LARGE;
	}
	arena_t *a = arena_new(4096);
	char *url = arena_printf(a, "%s%s", cfg->nchan_publish_url, slug);
	if (!http_client_url_allowed(url) &&
	    http_client_allow_url(cfg->nchan_publish_url) < 0) {
		free(body);
		arena_free(a);
		return ERR_INVALID;
	}
	/* One short attempt: a retry would hold the caller's request for
	 * nothing that a page reload cannot give. */
	http_client_request_t req = {
		.method = "POST",
		.url = url,
		.body = body,
		.body_len = len,
		.timeout_ms = PUBLISH_TIMEOUT_MS,
		.connect_timeout_ms = PUBLISH_TIMEOUT_MS / 2,
		.deadline_ms = PUBLISH_TIMEOUT_MS,
		.max_body = 16 * 1024,
		.retry = {.max_attempts = 1},
	};
	http_client_response_t resp;
	int rc = http_client_do(a, &req, &resp);
	if (rc < 0) {
		log_line_t *l = log_begin(LOG_WARN, "publish failed");
		log_str(l, "slug", slug);
		log_int(l, "status", resp.status);
		log_str(l, "error", resp.error);
		log_end(l);
	}
	free(body);
	arena_free(a);
	return rc;
}
