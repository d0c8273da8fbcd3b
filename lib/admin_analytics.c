#include "admin_analytics.h"

#include <stdio.h>

#include "analytics.h"

/* The chart's geometry, in SVG user units (it scales to its box): one
 * slot per day holding a views bar and a clicks bar side by side. */
#define SLOT 20
#define BAR 7
#define TOP 8       /* room above the tallest bar */
#define PLOT 100    /* height of the tallest bar */
#define BELOW 4     /* room under the baseline */

/* A bar's height for value on a scale whose tallest bar is max: never 0
 * for a non-zero value, so a single click still shows. */
static long long bar_height(long long value, long long max)
{
	if (value <= 0 || max <= 0)
		return 0;
	long long h = (value * PLOT + max / 2) / max;
	return h < 1 ? 1 : h;
}

static json_t *bar(long long x, long long value, long long max,
		   const char *kind, const char *title)
{
	long long h = bar_height(value, max);
	return json_pack("{s:I, s:I, s:i, s:I, s:s, s:s}", "x", (json_int_t)x,
			 "y", (json_int_t)(TOP + PLOT - h), "width", BAR,
			 "height", (json_int_t)h, "kind", kind, "title", title);
}

int admin_analytics_tenant(admin_ctx_t *c, long long tenant_id, json_t **out)
{
	analytics_series_t s;
	int rc = analytics_days(c->db, c->arena, &tenant_id, 1,
				ADMIN_ANALYTICS_DAYS, &s);
	if (rc)
		return rc;
	json_t *bars = json_array(), *days = json_array();
	for (int i = 0; i < s.ndays; i++) {
		const analytics_day_t *d = &s.days[i];
		long long x = (long long)i * SLOT + (SLOT - 2 * BAR) / 2;
		/* Bars without height are left out: nothing to see or hover. */
		if (d->views)
			json_array_append_new(
				bars, bar(x, d->views, s.max, "views",
					  arena_printf(c->arena, "%s: %lld view%s",
						       d->day, d->views,
						       d->views == 1 ? "" : "s")));
		if (d->clicks)
			json_array_append_new(
				bars, bar(x + BAR, d->clicks, s.max, "clicks",
					  arena_printf(c->arena,
						       "%s: %lld click%s", d->day,
						       d->clicks,
						       d->clicks == 1 ? "" : "s")));
		/* the table reads newest first */
		json_array_insert_new(days, 0,
				      json_pack("{s:s, s:I, s:I}", "day", d->day,
						"views", (json_int_t)d->views,
						"clicks", (json_int_t)d->clicks));
	}
	json_t *o = json_pack(
		"{s:i, s:s, s:s, s:I, s:I, s:b, s:I,"
		" s:{s:i, s:i, s:i, s:o}, s:o}",
		"ndays", s.ndays, "from", s.days[0].day, "to",
		s.days[s.ndays - 1].day, "views", (json_int_t)s.views, "clicks",
		(json_int_t)s.clicks, "empty", s.views == 0 && s.clicks == 0,
		"max", (json_int_t)s.max, "chart", "width", s.ndays * SLOT,
		"height", TOP + PLOT + BELOW, "baseline", TOP + PLOT, "bars",
		bars, "days", days);
	if (!o)
		return ERR_INTERNAL;
	if (s.views > 0) {
		char rate[32];
		snprintf(rate, sizeof rate, "%.1f%%",
			 100.0 * (double)s.clicks / (double)s.views);
		json_object_set_new(o, "rate", json_string(rate));
	}
	*out = o;
	return 0;
}

int admin_analytics_totals(admin_ctx_t *c, const long long *ids, json_t *list)
{
	size_t n = json_array_size(list);
	if (n == 0)
		return 0;
	analytics_series_t *s = arena_calloc(c->arena, n, sizeof *s);
	int rc = analytics_days(c->db, c->arena, ids, n, ADMIN_ANALYTICS_DAYS, s);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(list, i);
		json_object_set_new(o, "views", json_integer(s[i].views));
		json_object_set_new(o, "clicks", json_integer(s[i].clicks));
	}
	return 0;
}
