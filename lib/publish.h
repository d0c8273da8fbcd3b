/* publish: messages on a tenant's live channel, through nginx's nchan.
 *
 * nginx runs an nchan publisher on loopback (nginx/canopy.conf.in):
 * a POST to CANOPY_NCHAN_PUBLISH_URL + <slug> reaches every subscriber of
 * https://<slug>.DOMAIN/events (channel "tenant-<slug>").  A responder or
 * a job only POSTs one small message and moves on; nchan holds the
 * streams.  Publishing is best effort: the same state is always readable
 * with a plain GET, so a lost message only delays a page's update until
 * its next load.  The timeouts are short (a second in all) because the
 * caller is often answering a request. */
#ifndef CANOPY_PUBLISH_H
#define CANOPY_PUBLISH_H

#include <jansson.h>

#include "config.h"
#include "err.h"

#define PUBLISH_TIMEOUT_MS 1000
#define PUBLISH_MESSAGE_MAX (16 * 1024)

/* Remembers cfg (borrowed: it must live as long as the process) as the
 * configuration publish_default() gives, for modules that publish without
 * a config at hand (lib/workflow_store), and adds the publish URL's host
 * to the http_client allowlist.  Call once at start, before threads. */
void publish_init(const config_t *cfg);

/* The configuration given to publish_init, or NULL when publishing is
 * off (never initialised, or no CANOPY_NCHAN_PUBLISH_URL). */
const config_t *publish_default(void);

/* POSTs message (compact JSON, at most PUBLISH_MESSAGE_MAX bytes) to
 * cfg->nchan_publish_url + slug, one attempt of at most
 * PUBLISH_TIMEOUT_MS.  The publish URL's host is allowed on first use if
 * publish_init did not.  Returns 0 when nchan took it; ERR_INVALID when
 * publishing is not configured, the slug is not a tenant slug or the
 * message is not a JSON object; ERR_TOO_LARGE; else the http_client error
 * (ERR_TIMEOUT, ERR_UPSTREAM, ...), already logged. */
int publish_tenant(const config_t *cfg, const char *slug,
		   const json_t *message) WARN_UNUSED;

#endif
