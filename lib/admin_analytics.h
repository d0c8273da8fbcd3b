/* admin_analytics: what the admin shows of first-party analytics
 * (lib/analytics): a tenant's views and call-to-action clicks per day on
 * its overview (totals, a bar chart drawn as inline SVG on the server, and
 * the same numbers as a table), and 30-day totals on the tenant list.
 *
 * No routes of its own: lib/admin.c's overview and dashboard call these
 * after their own role checks, so only tenants the person may see are
 * read. */
#ifndef CANOPY_ADMIN_ANALYTICS_H
#define CANOPY_ADMIN_ANALYTICS_H

#include <jansson.h>

#include "admin_screen.h"
#include "err.h"

#define ADMIN_ANALYTICS_DAYS 30

/* The overview's section for tenant_id, the last ADMIN_ANALYTICS_DAYS
 * days ending today (UTC): {ndays, from, to, views, clicks, rate?
 * ("12.5%" of views that led to a click; absent without views), empty,
 * max, chart {width, height, baseline, bars [{x, y, width, height, kind,
 * title}]}, days [{day, views, clicks}] newest first}.  *out is the
 * caller's.  ERR_DB. */
int admin_analytics_tenant(admin_ctx_t *c, long long tenant_id, json_t **out)
	WARN_UNUSED;

/* Adds "views" and "clicks" (the last ADMIN_ANALYTICS_DAYS days) to each
 * object of list, whose i-th object is the tenant ids[i].  ERR_DB;
 * ERR_INVALID when list holds more than ANALYTICS_TENANTS_MAX. */
int admin_analytics_totals(admin_ctx_t *c, const long long *ids,
			   json_t *list) WARN_UNUSED;

#endif
