#include "analytics.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"

#define DAY_SECONDS 86400

static const char *const kind_names[] = {
	[ANALYTICS_PAGE_VIEW] = "page_view",
	[ANALYTICS_CTA_CLICK] = "cta_click",
};
#define NKINDS (sizeof kind_names / sizeof kind_names[0])

const char *analytics_kind_name(analytics_kind_t kind)
{
	return (unsigned)kind < NKINDS ? kind_names[kind] : NULL;
}

int analytics_beacon_parse(str_t body, analytics_kind_t *kind)
{
	/* curl and hand-made requests end a line; sendBeacon does not. */
	if (str_ends_with(body, STR("\r\n")))
		body.len -= 2;
	else if (str_ends_with(body, STR("\n")))
		body.len -= 1;
	if (!str_starts_with(body, STR("kind=")))
		return ERR_INVALID;
	str_t name = str_sub(body, 5, body.len);
	for (size_t i = 0; i < NKINDS; i++) {
		if (str_eq_c(name, kind_names[i])) {
			*kind = (analytics_kind_t)i;
			return 0;
		}
	}
	return ERR_INVALID;
}

/* The day is the database's, in UTC, so every responder agrees on where
 * a day ends whatever its own clock or zone.  Only a tenant whose site
 * is up (active, published) counts: the same rows the site shows. */
static const db_stmt_t q_record = {
	"analytics_record",
	"INSERT INTO events (tenant_id, day, kind, count)"
	" SELECT t.id, (now() AT TIME ZONE 'UTC')::date, $2, 1"
	"   FROM tenants t"
	"   JOIN pages p ON p.tenant_id = t.id AND p.is_published"
	"  WHERE t.slug = $1 AND t.status = 'active'"
	" ON CONFLICT (tenant_id, day, kind)"
	" DO UPDATE SET count = events.count + 1",
	2};

int analytics_record(db_t *db, arena_t *arena, str_t slug,
		     analytics_kind_t kind)
{
	const char *name = analytics_kind_name(kind);
	if (!name)
		return ERR_INVALID;
	if (slug.len == 0)
		return ERR_NOT_FOUND;
	const char *p[] = {str_dup(arena, slug), name};
	PGresult *r;
	int rc = db_exec(db, arena, &q_record, p, &r);
	if (rc)
		return rc == ERR_INVALID ? ERR_NOT_FOUND : ERR_DB;
	return PQcmdTuples(r)[0] == '1' ? 0 : ERR_NOT_FOUND;
}

/* The media type of a Content-Type value, without parameters. */
static str_t media_type(str_t ct)
{
	str_t type;
	(void)str_cut(ct, ';', &type);
	return str_trim(type);
}

int analytics_beacon(const config_t *cfg, db_t *db, arena_t *arena,
		     const http_request_t *req)
{
	/* sendBeacon with a string sends text/plain: a "simple" request,
	 * which needs no preflight and so no CORS header. */
	str_t type = media_type(req->content_type);
	if (type.len && !str_case_eq(type, STR("text/plain")) &&
	    !str_case_eq(type, STR("application/x-www-form-urlencoded")))
		return ERR_MEDIA_TYPE;
	str_t origin = http_header(req, STR("Origin"));
	if (http_found(origin)) {
		char host[320], own[400];
		snprintf(host, sizeof host, "%.*s.%s", STR_FMT(req->slug),
			 cfg->domain ? cfg->domain : "");
		if (!str_eq_c(origin, config_origin(cfg, host, own, sizeof own)))
			return ERR_FORBIDDEN;
	}
	analytics_kind_t kind;
	int rc = analytics_beacon_parse(req->body, &kind);
	if (rc)
		return rc;
	return analytics_record(db, arena, req->slug, kind);
}

/* ------------------------------------------------------------ reading */

/* Rows only where there were events (at most tenants x days x kinds),
 * each naming its tenant by its position in $1 and its day by how many
 * days before today it is; the days between are zero-filled in C.  The
 * one row with a NULL position carries today when nothing matched.  A
 * row for a day after today (a clock set back) is left out. */
static const db_stmt_t q_days = {
	"analytics_days",
	"WITH today AS (SELECT (now() AT TIME ZONE 'UTC')::date AS d)"
	" SELECT to_char(t.d, 'YYYY-MM-DD'), u.ord, t.d - e.day, e.kind,"
	"        e.count"
	"   FROM today t"
	"   LEFT JOIN (unnest($1::bigint[]) WITH ORDINALITY AS u(id, ord)"
	"              JOIN events e ON e.tenant_id = u.id)"
	"     ON e.day > t.d - $2::int AND e.day <= t.d",
	2};

/* The days of the series ending on today ("YYYY-MM-DD"), oldest first. */
static int fill_days(const char *today, analytics_day_t *days, int ndays)
{
	struct tm tm = {0};
	const char *end = today ? strptime(today, "%Y-%m-%d", &tm) : NULL;
	if (!end || *end)
		return ERR_INTERNAL;
	time_t t = timegm(&tm);
	for (int i = 0; i < ndays; i++) {
		time_t d = t - (time_t)(ndays - 1 - i) * DAY_SECONDS;
		struct tm dtm;
		gmtime_r(&d, &dtm);
		if (strftime(days[i].day, sizeof days[i].day, "%Y-%m-%d",
			     &dtm) != 10)
			return ERR_INTERNAL;
	}
	return 0;
}

int analytics_days(db_t *db, arena_t *arena, const long long *ids, size_t n,
		   int ndays, analytics_series_t *out)
{
	if (ndays < 1 || ndays > ANALYTICS_DAYS_MAX ||
	    n > ANALYTICS_TENANTS_MAX)
		return ERR_INVALID;
	if (n == 0)
		return 0;
	buf_t list;
	buf_init(&list, arena, n * 21 + 3);
	buf_putc(&list, '{');
	for (size_t i = 0; i < n; i++)
		buf_printf(&list, "%s%lld", i ? "," : "", ids[i]);
	buf_putc(&list, '}');
	if (list.err)
		return ERR_INTERNAL;
	const char *p[] = {buf_cstr(&list), db_param_ll(arena, ndays)};
	PGresult *r;
	if (db_exec(db, arena, &q_days, p, &r) != 0 || db_rows(r) < 1)
		return ERR_DB;

	analytics_day_t proto[ANALYTICS_DAYS_MAX];
	memset(proto, 0, sizeof proto);
	if (fill_days(db_value(r, 0, 0), proto, ndays) != 0) {
		log_error("analytics: the database's date is unreadable");
		return ERR_INTERNAL;
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = (analytics_series_t){
			.tenant_id = ids[i],
			.days = arena_memdup(arena, proto,
					     sizeof proto[0] * (size_t)ndays),
			.ndays = ndays,
		};
	}
	for (int row = 0; row < db_rows(r); row++) {
		if (!db_value(r, row, 1))
			continue; /* nothing matched */
		long long ord = db_value_ll(r, row, 1);
		long long ago = db_value_ll(r, row, 2);
		if (ord < 1 || (size_t)ord > n || ago < 0 || ago >= ndays)
			continue;
		analytics_series_t *s = &out[ord - 1];
		analytics_day_t *d = &s->days[ndays - 1 - ago];
		long long count = db_value_ll(r, row, 4);
		const char *kind = db_value(r, row, 3);
		if (strcmp(kind, kind_names[ANALYTICS_PAGE_VIEW]) == 0) {
			d->views += count;
			s->views += count;
		} else if (strcmp(kind, kind_names[ANALYTICS_CTA_CLICK]) == 0) {
			d->clicks += count;
			s->clicks += count;
		}
	}
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < ndays; k++) {
			const analytics_day_t *d = &out[i].days[k];
			if (d->views > out[i].max)
				out[i].max = d->views;
			if (d->clicks > out[i].max)
				out[i].max = d->clicks;
		}
	}
	return 0;
}

static const db_stmt_t q_user_tenants = {
	"analytics_user_tenants",
	"SELECT t.id, t.slug FROM tenants t"
	" WHERE $2::boolean"
	"    OR EXISTS (SELECT 1 FROM memberships m"
	"                WHERE m.tenant_id = t.id AND m.user_id = $1::bigint)"
	" ORDER BY t.slug LIMIT $3::int",
	3};

int analytics_days_for_user(db_t *db, arena_t *arena, long long user_id,
			    bool is_admin, int ndays, size_t max,
			    analytics_series_t **out, const char ***slugs,
			    size_t *n)
{
	*out = NULL;
	*n = 0;
	if (slugs)
		*slugs = NULL;
	if (max > ANALYTICS_TENANTS_MAX || ndays < 1 ||
	    ndays > ANALYTICS_DAYS_MAX)
		return ERR_INVALID;
	const char *p[] = {db_param_ll(arena, user_id), is_admin ? "t" : "f",
			   db_param_ll(arena, (long long)max)};
	PGresult *r;
	if (db_exec(db, arena, &q_user_tenants, p, &r) != 0)
		return ERR_DB;
	size_t rows = (size_t)db_rows(r);
	long long *ids = arena_calloc(arena, rows ? rows : 1, sizeof *ids);
	const char **names = arena_calloc(arena, rows ? rows : 1, sizeof *names);
	for (size_t i = 0; i < rows; i++) {
		ids[i] = db_value_ll(r, (int)i, 0);
		names[i] = db_value(r, (int)i, 1);
	}
	analytics_series_t *series =
		arena_calloc(arena, rows ? rows : 1, sizeof *series);
	int rc = analytics_days(db, arena, ids, rows, ndays, series);
	if (rc)
		return rc;
	*out = series;
	*n = rows;
	if (slugs)
		*slugs = names;
	return 0;
}
