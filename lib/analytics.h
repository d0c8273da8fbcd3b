/* analytics: first-party page views and call-to-action clicks.
 *
 * A tenant page's script sends a beacon to its own host (POST /_e, body
 * "kind=page_view" or "kind=cta_click"); each one adds 1 to the row
 * (tenant, UTC day, kind) of `events`.  Nothing else is kept: no address,
 * no cookie, no user agent, no path (see sql/0004_accounts.sql), so
 * there is no personal data to protect, export or delete.  The admin
 * reads the rows back as per-day series, zero-filled.
 *
 * The count is what browsers that ran the script reported: bots, blocked
 * scripts and people who send nothing are not in it, and anyone can post
 * a beacon; it is a trend, not an audit. */
#ifndef CANOPY_ANALYTICS_H
#define CANOPY_ANALYTICS_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "http.h"
#include "str.h"

#define ANALYTICS_PATH "/_e"
#define ANALYTICS_BODY_MAX 256 /* bytes of a beacon; nginx allows 1 KiB */
#define ANALYTICS_DAYS_MAX 366 /* longest series analytics_days reads */
#define ANALYTICS_TENANTS_MAX 1000 /* tenants per analytics_days call */

typedef enum {
	ANALYTICS_PAGE_VIEW = 0,
	ANALYTICS_CTA_CLICK,
} analytics_kind_t;

/* The stored name of kind ("page_view", "cta_click"); NULL if unknown. */
const char *analytics_kind_name(analytics_kind_t kind);

/* Parses a beacon body: exactly "kind=page_view" or "kind=cta_click"
 * (one trailing newline tolerated).  ERR_INVALID for anything else. */
int analytics_beacon_parse(str_t body, analytics_kind_t *kind) WARN_UNUSED;

/* Adds one event of kind for the tenant slug today (UTC) in one
 * statement (INSERT ... ON CONFLICT DO UPDATE, so concurrent beacons all
 * count).  ERR_NOT_FOUND when no active tenant with a published page has
 * that slug (its site answers 404 too); ERR_INVALID for an unknown kind;
 * ERR_DB when the database fails. */
int analytics_record(db_t *db, arena_t *arena, str_t slug,
		     analytics_kind_t kind) WARN_UNUSED;

/* Checks and records the beacon req (its body already read, at most
 * ANALYTICS_BODY_MAX) for the tenant req->slug: a Content-Type, when
 * sent, must be text/plain or application/x-www-form-urlencoded
 * (ERR_MEDIA_TYPE); an Origin, when sent, must be the tenant's own site
 * (ERR_FORBIDDEN: another page cannot inflate the counts from a visitor's
 * browser); then analytics_beacon_parse and analytics_record.  Reads
 * nothing else of the request: not its address, cookies or user agent. */
int analytics_beacon(const config_t *cfg, db_t *db, arena_t *arena,
		     const http_request_t *req) WARN_UNUSED;

/* One day of a series. */
typedef struct {
	char day[11]; /* YYYY-MM-DD, UTC */
	long long views;
	long long clicks;
} analytics_day_t;

/* One tenant's last ndays days, oldest first, ending today (UTC); days
 * without events are zeros. */
typedef struct {
	long long tenant_id;
	analytics_day_t *days; /* ndays entries, arena */
	int ndays;
	long long views;  /* sums over the days */
	long long clicks;
	long long max;    /* the largest daily views or clicks (for charts) */
} analytics_series_t;

/* Reads the last ndays (1..ANALYTICS_DAYS_MAX) days of the tenants ids
 * (n of them, 0..ANALYTICS_TENANTS_MAX) into out[0..n), out[i] for
 * ids[i]; every array belongs to arena.  The caller has checked that the
 * reader may see these tenants.  ERR_INVALID for a bad ndays or n;
 * ERR_DB. */
int analytics_days(db_t *db, arena_t *arena, const long long *ids, size_t n,
		   int ndays, analytics_series_t *out) WARN_UNUSED;

/* As analytics_days for every tenant the person user_id may see: all of
 * them for a platform admin (is_admin), else those they are a member of;
 * at most max tenants (<= ANALYTICS_TENANTS_MAX), ordered by slug.
 * *out (arena) holds *n series; slugs[i] (arena) names out[i]'s tenant
 * when slugs is not NULL.  ERR_INVALID, ERR_DB as analytics_days. */
int analytics_days_for_user(db_t *db, arena_t *arena, long long user_id,
			    bool is_admin, int ndays, size_t max,
			    analytics_series_t **out, const char ***slugs,
			    size_t *n) WARN_UNUSED;

#endif
