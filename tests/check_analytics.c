/* analytics: beacon bodies without a database; recording, the checks of
 * a beacon request and the zero-filled per-day series against a real
 * PostgreSQL, in a private schema holding sql/0001_core.sql and
 * sql/0004_accounts.sql, only when DATABASE_URL is set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analytics.h"
#include "check_private_db.h"
#include "log.h"

/* --------------------------------------------------- without database */

static bool parses(const char *body, analytics_kind_t want)
{
	analytics_kind_t k = (analytics_kind_t)99;
	return analytics_beacon_parse(str_c(body), &k) == 0 && k == want;
}

static bool refused(const char *body)
{
	analytics_kind_t k = (analytics_kind_t)99;
	return analytics_beacon_parse(str_c(body), &k) == ERR_INVALID &&
	       k == (analytics_kind_t)99;
}

START_TEST(beacon_bodies)
{
	ck_assert(parses("kind=page_view", ANALYTICS_PAGE_VIEW));
	ck_assert(parses("kind=cta_click", ANALYTICS_CTA_CLICK));
	ck_assert(parses("kind=page_view\n", ANALYTICS_PAGE_VIEW));
	ck_assert(parses("kind=cta_click\r\n", ANALYTICS_CTA_CLICK));
	static const char *const bad[] = {
		"", "kind=", "kind", "page_view", "kind=page_view2",
		"kind=page_vie", "KIND=page_view", "kind=PAGE_VIEW",
		"kind=page_view&x=1", "x=1&kind=page_view", " kind=page_view",
		"kind=page_view ", "kind=page_view\n\n", "kind=page%5Fview",
		"{\"kind\":\"page_view\"}", "kind=signup",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(refused(bad[i]), "'%s' accepted", bad[i]);
	/* a NUL inside is not the end of the body */
	analytics_kind_t k;
	ck_assert_int_eq(analytics_beacon_parse((str_t){"kind=page_view\0x", 16},
						&k),
			 ERR_INVALID);
}
END_TEST

START_TEST(kind_names)
{
	ck_assert_str_eq(analytics_kind_name(ANALYTICS_PAGE_VIEW), "page_view");
	ck_assert_str_eq(analytics_kind_name(ANALYTICS_CTA_CLICK), "cta_click");
	ck_assert_ptr_null(analytics_kind_name((analytics_kind_t)2));
	ck_assert_ptr_null(analytics_kind_name((analytics_kind_t)-1));
}
END_TEST

/* --------------------------------------------------- with database */

static db_t *db;
static arena_t *arena;
static char schema[64];
static long long t_live, t_draft, t_suspended, t_nopage, t_other;

static PGresult *q(const char *sql, const char *p1, const char *p2)
{
	PGresult *r;
	const char *p[] = {p1, p2};
	int n = p2 ? 2 : p1 ? 1 : 0;
	int rc = db_query(db, arena, sql, n, n ? p : NULL, &r);
	ck_assert_msg(rc == 0, "%s: %s", sql, db_error(db));
	return r;
}

static long long q_ll(const char *sql, const char *p1, const char *p2)
{
	return db_value_ll(q(sql, p1, p2), 0, 0);
}

static long long tenant(const char *slug, const char *status, int page)
{
	long long id = q_ll("INSERT INTO tenants (slug, name, status)"
			    " VALUES ($1, 'Analytics test', $2) RETURNING id",
			    slug, status);
	if (page >= 0)
		(void)q("INSERT INTO pages (tenant_id, json, is_published)"
			" VALUES ($1::bigint, '{}', $2::boolean)",
			db_param_ll(arena, id), page ? "t" : "f");
	return id;
}

static void db_setup(void)
{
	log_init("check_analytics", LOG_ERROR);
	snprintf(schema, sizeof schema, "analyticstest_%d", (int)getpid());
	db = private_db_open(schema, (const char *[]){"0001_core.sql",
						  "0004_accounts.sql", NULL});
	arena = arena_new(0);
	t_live = tenant("live", "active", 1);
	t_draft = tenant("draft", "active", 0);
	t_suspended = tenant("gone", "suspended", 1);
	t_nopage = tenant("nopage", "active", -1);
	t_other = tenant("other", "active", 1);
}

static void db_teardown(void)
{
	arena_free(arena);
	private_db_close(db, schema);
}

/* The count of (tenant, kind) today in UTC; 0 when there is no row. */
static long long today_count(long long tenant_id, const char *kind)
{
	return q_ll("SELECT coalesce(sum(count), 0) FROM events"
		    " WHERE tenant_id = $1::bigint AND kind = $2"
		    "   AND day = (now() AT TIME ZONE 'UTC')::date",
		    db_param_ll(arena, tenant_id), kind);
}

START_TEST(record_counts_per_tenant_day_and_kind)
{
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(analytics_record(db, arena, STR("live"),
						  ANALYTICS_PAGE_VIEW),
				 0);
	ck_assert_int_eq(analytics_record(db, arena, STR("live"),
					  ANALYTICS_CTA_CLICK),
			 0);
	ck_assert_int_eq(analytics_record(db, arena, STR("other"),
					  ANALYTICS_PAGE_VIEW),
			 0);
	ck_assert_int_eq(today_count(t_live, "page_view"), 3);
	ck_assert_int_eq(today_count(t_live, "cta_click"), 1);
	ck_assert_int_eq(today_count(t_other, "page_view"), 1);
	ck_assert_int_eq(today_count(t_other, "cta_click"), 0);
	/* one row per (tenant, day, kind), nothing else stored */
	ck_assert_int_eq(q_ll("SELECT count(*) FROM events", NULL, NULL), 3);
	ck_assert(!db_in_transaction(db));
}
END_TEST

START_TEST(record_refuses_sites_that_are_not_up)
{
	static const char *const slugs[] = {"draft", "gone", "nopage",
					    "nobody", "", "LIVE", "live "};
	for (size_t i = 0; i < sizeof slugs / sizeof slugs[0]; i++)
		ck_assert_msg(analytics_record(db, arena, str_c(slugs[i]),
					       ANALYTICS_PAGE_VIEW) ==
				      ERR_NOT_FOUND,
			      "'%s' counted", slugs[i]);
	ck_assert_int_eq(analytics_record(db, arena, STR("live"),
					  (analytics_kind_t)7),
			 ERR_INVALID);
	ck_assert_int_eq(q_ll("SELECT count(*) FROM events", NULL, NULL), 0);
	(void)t_draft;
	(void)t_suspended;
	(void)t_nopage;
}
END_TEST

/* Events of tenant id on the day `ago` days before today (UTC). */
static void put(long long id, int ago, const char *kind, long long count)
{
	char sql[256];
	snprintf(sql, sizeof sql,
		 "INSERT INTO events (tenant_id, day, kind, count)"
		 " VALUES ($1::bigint, (now() AT TIME ZONE 'UTC')::date - %d,"
		 " $2, %lld)",
		 ago, count);
	(void)q(sql, db_param_ll(arena, id), kind);
}

static void utc_day(int ago, char out[11])
{
	/* the database's today, which may differ from ours near midnight */
	PGresult *r = q("SELECT to_char((now() AT TIME ZONE 'UTC')::date - "
			"$1::int, 'YYYY-MM-DD')",
			db_param_ll(arena, ago), NULL);
	snprintf(out, 11, "%s", db_value(r, 0, 0));
}

START_TEST(days_are_zero_filled_oldest_first)
{
	put(t_live, 0, "page_view", 7);
	put(t_live, 0, "cta_click", 2);
	put(t_live, 1, "page_view", 11);
	put(t_live, 5, "cta_click", 3);
	put(t_live, 6, "page_view", 100); /* outside a 6-day window */
	put(t_live, -1, "page_view", 50); /* tomorrow: never shown */
	put(t_other, 2, "page_view", 4);

	analytics_series_t s;
	const long long ids[] = {t_live};
	ck_assert_int_eq(analytics_days(db, arena, ids, 1, 6, &s), 0);
	ck_assert_int_eq(s.tenant_id, t_live);
	ck_assert_int_eq(s.ndays, 6);
	char want[11];
	for (int i = 0; i < 6; i++) {
		utc_day(5 - i, want);
		ck_assert_str_eq(s.days[i].day, want);
	}
	long long views[] = {0, 0, 0, 0, 11, 7}, clicks[] = {3, 0, 0, 0, 0, 2};
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(s.days[i].views, views[i]);
		ck_assert_int_eq(s.days[i].clicks, clicks[i]);
	}
	ck_assert_int_eq(s.views, 18);
	ck_assert_int_eq(s.clicks, 5);
	ck_assert_int_eq(s.max, 11);

	/* one day: today only */
	ck_assert_int_eq(analytics_days(db, arena, ids, 1, 1, &s), 0);
	ck_assert_int_eq(s.views, 7);
	ck_assert_int_eq(s.clicks, 2);
	utc_day(0, want);
	ck_assert_str_eq(s.days[0].day, want);
}
END_TEST

START_TEST(days_of_several_tenants_keep_their_order)
{
	put(t_live, 3, "page_view", 5);
	put(t_other, 3, "page_view", 9);
	put(t_other, 29, "cta_click", 1);
	/* t_draft has nothing: a row of zeros, not a missing entry */
	const long long ids[] = {t_other, t_draft, t_live, t_other};
	analytics_series_t s[4];
	ck_assert_int_eq(analytics_days(db, arena, ids, 4, 30, s), 0);
	ck_assert_int_eq(s[0].tenant_id, t_other);
	ck_assert_int_eq(s[0].views, 9);
	ck_assert_int_eq(s[0].clicks, 1);
	ck_assert_int_eq(s[0].days[26].views, 9);
	ck_assert_int_eq(s[0].days[0].clicks, 1);
	ck_assert_int_eq(s[1].tenant_id, t_draft);
	ck_assert_int_eq(s[1].views + s[1].clicks + s[1].max, 0);
	ck_assert_int_eq(s[1].ndays, 30);
	ck_assert_int_eq(s[2].views, 5);
	ck_assert_int_eq(s[3].views, 9); /* a repeated id is read again */
	/* the series do not share their days */
	ck_assert_ptr_ne(s[0].days, s[3].days);

	/* nothing at all in the table still gives today's dates */
	(void)q("DELETE FROM events", NULL, NULL);
	ck_assert_int_eq(analytics_days(db, arena, ids, 1, 3, s), 0);
	char want[11];
	utc_day(0, want);
	ck_assert_str_eq(s[0].days[2].day, want);
	ck_assert_int_eq(s[0].views, 0);
}
END_TEST

START_TEST(days_limits)
{
	const long long ids[] = {t_live};
	analytics_series_t s;
	ck_assert_int_eq(analytics_days(db, arena, ids, 1, 0, &s), ERR_INVALID);
	ck_assert_int_eq(analytics_days(db, arena, ids, 1, -3, &s), ERR_INVALID);
	ck_assert_int_eq(analytics_days(db, arena, ids, 1,
					ANALYTICS_DAYS_MAX + 1, &s),
			 ERR_INVALID);
	ck_assert_int_eq(analytics_days(db, arena, ids,
					ANALYTICS_TENANTS_MAX + 1, 5, &s),
			 ERR_INVALID);
	ck_assert_int_eq(analytics_days(db, arena, ids, 0, 5, &s), 0);
	ck_assert_int_eq(analytics_days(db, arena, ids, 1, ANALYTICS_DAYS_MAX,
					&s),
			 0);
	/* a year of dates, one day apart, across month ends */
	for (int i = 1; i < s.ndays; i++) {
		struct tm a = {0}, b = {0};
		ck_assert_ptr_nonnull(strptime(s.days[i - 1].day, "%Y-%m-%d", &a));
		ck_assert_ptr_nonnull(strptime(s.days[i].day, "%Y-%m-%d", &b));
		ck_assert_int_eq((long)(timegm(&b) - timegm(&a)), 86400);
	}
}
END_TEST

static long long user(const char *email, bool is_admin)
{
	return q_ll("INSERT INTO users (email, name, password_hash, is_admin)"
		    " VALUES ($1, 'U', '$argon2id$x', $2::boolean) RETURNING id",
		    email, is_admin ? "t" : "f");
}

START_TEST(days_for_a_person_cover_their_tenants)
{
	long long ann = user("ann@example.com", false);
	long long ops = user("ops@example.com", true);
	long long nobody = user("no@example.com", false);
	(void)q("INSERT INTO memberships (user_id, tenant_id, role)"
		" VALUES ($1::bigint, $2::bigint, 'viewer')",
		db_param_ll(arena, ann), db_param_ll(arena, t_other));
	(void)q("INSERT INTO memberships (user_id, tenant_id, role)"
		" VALUES ($1::bigint, $2::bigint, 'owner')",
		db_param_ll(arena, ann), db_param_ll(arena, t_draft));
	put(t_other, 0, "page_view", 3);
	put(t_live, 0, "page_view", 8);

	analytics_series_t *s;
	const char **slugs;
	size_t n;
	ck_assert_int_eq(analytics_days_for_user(db, arena, ann, false, 7, 100,
						 &s, &slugs, &n),
			 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(slugs[0], "draft");
	ck_assert_str_eq(slugs[1], "other");
	ck_assert_int_eq(s[0].tenant_id, t_draft);
	ck_assert_int_eq(s[0].views, 0);
	ck_assert_int_eq(s[1].views, 3);
	ck_assert_int_eq(s[1].days[6].views, 3);

	/* an operator sees every tenant, in slug order, up to max */
	ck_assert_int_eq(analytics_days_for_user(db, arena, ops, true, 7, 100,
						 &s, &slugs, &n),
			 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(slugs[0], "draft");
	ck_assert_str_eq(slugs[2], "live");
	ck_assert_int_eq(s[2].views, 8);
	ck_assert_int_eq(analytics_days_for_user(db, arena, ops, true, 7, 2, &s,
						 NULL, &n),
			 0);
	ck_assert_uint_eq(n, 2);

	/* no memberships: nothing, and no error */
	ck_assert_int_eq(analytics_days_for_user(db, arena, nobody, false, 7, 100,
						 &s, &slugs, &n),
			 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(analytics_days_for_user(db, arena, ann, false, 7,
						 ANALYTICS_TENANTS_MAX + 1, &s,
						 &slugs, &n),
			 ERR_INVALID);
}
END_TEST

/* ------------------------------------------------- beacon requests */

typedef struct {
	const char *data;
	size_t len, pos;
} reader_t;

static long read_cb(void *ctx, char *buf, size_t n)
{
	reader_t *r = ctx;
	size_t k = r->len - r->pos < n ? r->len - r->pos : n;
	memcpy(buf, r->data + r->pos, k);
	r->pos += k;
	return (long)k;
}

/* A beacon for slug with the body, content type and Origin given (NULL:
 * header absent), read and handed to analytics_beacon. */
static int beacon(const char *slug, const char *body, const char *ctype,
		  const char *origin)
{
	config_t cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.domain = "canopy.test";
	cfg.https_port = 8443;
	char **env = arena_calloc(arena, 16, sizeof *env);
	int n = 0;
	env[n++] = arena_strdup(arena, "REQUEST_METHOD=POST");
	env[n++] = arena_strdup(arena, "REQUEST_URI=/_e");
	env[n++] = arena_printf(arena, "HTTP_HOST=%s.canopy.test", slug);
	env[n++] = arena_printf(arena, "CANOPY_SLUG=%s", slug);
	env[n++] = arena_printf(arena, "CONTENT_LENGTH=%zu", strlen(body));
	env[n++] = arena_strdup(arena, "REMOTE_ADDR=192.0.2.7");
	if (ctype)
		env[n++] = arena_printf(arena, "CONTENT_TYPE=%s", ctype);
	if (origin)
		env[n++] = arena_printf(arena, "HTTP_ORIGIN=%s", origin);
	http_request_t req;
	ck_assert_int_eq(http_request_init(&req, arena, env), 0);
	reader_t r = {body, strlen(body), 0};
	ck_assert_int_eq(http_request_read_body(&req, read_cb, &r,
						ANALYTICS_BODY_MAX),
			 0);
	return analytics_beacon(&cfg, db, arena, &req);
}

START_TEST(beacon_requests)
{
	const char *own = "https://live.canopy.test:8443";
	ck_assert_int_eq(beacon("live", "kind=page_view", "text/plain;charset=UTF-8",
				own),
			 0);
	ck_assert_int_eq(beacon("live", "kind=page_view", NULL, NULL), 0);
	ck_assert_int_eq(beacon("live", "kind=cta_click",
				"application/x-www-form-urlencoded", own),
			 0);
	ck_assert_int_eq(beacon("live", "kind=cta_click", "Text/Plain", NULL), 0);
	ck_assert_int_eq(today_count(t_live, "page_view"), 2);
	ck_assert_int_eq(today_count(t_live, "cta_click"), 2);

	/* refused, and nothing counted */
	ck_assert_int_eq(beacon("live", "kind=nope", "text/plain", own),
			 ERR_INVALID);
	ck_assert_int_eq(beacon("live", "kind=page_view", "application/json", own),
			 ERR_MEDIA_TYPE);
	ck_assert_int_eq(beacon("live", "kind=page_view", "text/plain",
				"https://evil.example"),
			 ERR_FORBIDDEN);
	/* another tenant's page, and the platform, are not this site */
	ck_assert_int_eq(beacon("live", "kind=page_view", "text/plain",
				"https://other.canopy.test:8443"),
			 ERR_FORBIDDEN);
	ck_assert_int_eq(beacon("live", "kind=page_view", "text/plain",
				"https://canopy.test:8443"),
			 ERR_FORBIDDEN);
	ck_assert_int_eq(beacon("live", "kind=page_view", "text/plain", "null"),
			 ERR_FORBIDDEN);
	ck_assert_int_eq(beacon("draft", "kind=page_view", "text/plain",
				"https://draft.canopy.test:8443"),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(beacon("nobody", "kind=page_view", NULL, NULL),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(today_count(t_live, "page_view"), 2);
	ck_assert_int_eq(q_ll("SELECT count(*) FROM events", NULL, NULL), 2);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("analytics");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, beacon_bodies);
	tcase_add_test(tc, kind_names);
	suite_add_tcase(s, tc);

	TCase *td = db_tcase(s, db_setup, db_teardown, 30);
	if (!td)
		return s;
	tcase_add_test(td, record_counts_per_tenant_day_and_kind);
	tcase_add_test(td, record_refuses_sites_that_are_not_up);
	tcase_add_test(td, days_are_zero_filled_oldest_first);
	tcase_add_test(td, days_of_several_tenants_keep_their_order);
	tcase_add_test(td, days_limits);
	tcase_add_test(td, days_for_a_person_cover_their_tenants);
	tcase_add_test(td, beacon_requests);
	return s;
}

CK_RUN_SUITE(make_suite)
