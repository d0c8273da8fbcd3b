#include "admin.h"
#include "admin_analytics.h"
#include "admin_media.h"
#include "admin_screen.h"
#include "admin_site.h"
#include "admin_team.h"
#include "admin_workflows.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "auth.h"
#include "buf.h"
#include "log.h"
#include "mustache_json.h"
#include "router.h"
#include "theme.h"

#define LOGIN_URL "/admin/login"
#define HOME_URL "/admin/"

struct admin {
	const config_t *cfg;
	const mustache_set_t *templates;
	const assets_t *assets;
	char origin[300]; /* https://DOMAIN[:port]: what Origin must be */
	router_route_t *routes; /* this file's, then every screen module's */
	size_t nroutes;
};

const config_t *admin_config(const admin_ctx_t *c)
{
	return c->admin->cfg;
}

const mustache_set_t *admin_templates(const admin_ctx_t *c)
{
	return c->admin->templates;
}

const assets_t *admin_assets(const admin_ctx_t *c)
{
	return c->admin->assets;
}

typedef admin_ctx_t ctx_t;

/* ------------------------------------------------------------ slugs */

/* Names of ours, or of things people would take for ours. */
static const char *const reserved[] = {
	"admin", "api", "app", "assets", "auth", "billing", "blog", "canopy",
	"cdn", "dashboard", "dev", "docs", "events", "ftp", "help", "imap",
	"login", "mail", "media", "new", "ns1", "ns2", "pop", "root", "smtp",
	"static", "status", "support", "test", "www", NULL};

bool admin_slug_reserved(str_t slug)
{
	for (const char *const *r = reserved; *r; r++)
		if (str_eq_c(slug, *r))
			return true;
	return false;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int why_invalid(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return ERR_INVALID;
}

int admin_slug_check(str_t s, const char **why)
{
	if (s.len == 0)
		return why_invalid(why, "Enter a slug: it becomes the site's "
					"address.");
	if (s.len > ADMIN_SLUG_MAX)
		return why_invalid(why, "Use at most 63 characters.");
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!is_lower_alnum(c) && c != '-')
			return why_invalid(why, "Use only lower-case letters "
						"a-z, digits and hyphens.");
		if (c == '-' && i + 1 < s.len && s.p[i + 1] == '-')
			return why_invalid(why, "Do not use two hyphens in a "
						"row.");
	}
	if (!is_lower_alnum(s.p[0]) || !is_lower_alnum(s.p[s.len - 1]))
		return why_invalid(why, "Start and end with a letter or a "
					"digit.");
	if (admin_slug_reserved(s))
		return why_invalid(why, "This name is reserved for the "
					"platform; choose another.");
	return 0;
}

/* ------------------------------------------------------------ output */

static void set_header(http_response_t *resp, const char *name,
		       const char *value)
{
	if (http_set_header(resp, str_c(name), str_c(value)) != 0)
		log_error("admin: header %s refused", name);
}

static const char *asset(const admin_t *ad, const char *file)
{
	const char *url = assets_url(ad->assets, file);
	return url ? url : "";
}

/* Renders templates/<name> with data (stolen) plus what every admin page
 * needs: assets, the person, the CSRF token, the year. */
int admin_render(ctx_t *c, int status, const char *name, json_t *data)
{
	admin_t *ad = c->admin;
	if (!data)
		return ERR_INTERNAL;
	json_object_set_new(
		data, "assets",
		json_pack("{s:s, s:s, s:s, s:s}", "css", asset(ad, "site.css"),
			  "admin_css", asset(ad, "admin.css"), "js",
			  asset(ad, "site.js"), "favicon",
			  asset(ad, "favicon.svg")));
	if (c->signed_in) {
		json_object_set_new(
			data, "me",
			json_pack("{s:s, s:s, s:b}", "name",
				  c->session.user.name ? c->session.user.name : "",
				  "email",
				  c->session.user.email ? c->session.user.email : "",
				  "is_admin", c->session.user.is_admin));
		json_object_set_new(data, "csrf", json_string(c->csrf));
	}
	json_object_set_new(data, "domain",
			    json_string(ad->cfg->domain ? ad->cfg->domain : ""));
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	json_object_set_new(data, "year", json_integer(tm.tm_year + 1900));

	http_response_t *resp = c->resp;
	buf_clear(&resp->body);
	int rc = mustache_json_render(ad->templates, name, data, &resp->body);
	json_decref(data);
	if (rc) {
		log_line_t *l = log_begin(LOG_ERROR, "admin template failed");
		log_str(l, "template", name);
		log_int(l, "err", rc);
		log_end(l);
		return ERR_INTERNAL;
	}
	resp->status = status;
	set_header(resp, "Content-Type", "text/html; charset=utf-8");
	return 0;
}

int admin_error_page(ctx_t *c, int status, const char *title,
		      const char *message)
{
	return admin_render(c, status, "admin/error",
		      json_pack("{s:i, s:s, s:s}", "status", status, "title",
				title, "message", message));
}

int admin_redirect(ctx_t *c, const char *location)
{
	buf_clear(&c->resp->body);
	return http_redirect(c->resp, 303, str_c(location));
}

static int set_session_cookie(ctx_t *c, const char *value, bool clear)
{
	http_cookie_opts_t o = {.path = "/admin",
				.http_only = true,
				.secure = true,
				.same_site = HTTP_SAMESITE_LAX,
				.max_age = clear ? -1 : 0};
	return http_set_cookie(c->resp, ADMIN_COOKIE, value, &o);
}

/* A field of a form as re-rendered: {"value", "error"?}. */
json_t *admin_field(str_t value, const char *error)
{
	json_t *f = json_object();
	json_object_set_new(f, "value",
			    value.p && str_is_valid_utf8(value)
				    ? json_stringn(value.p, value.len)
				    : json_string(""));
	if (error)
		json_object_set_new(f, "error", json_string(error));
	return f;
}

str_t admin_form(const ctx_t *c, const char *name)
{
	if (c->multipart) {
		for (size_t i = 0; i < c->nparts; i++)
			if (!c->parts[i].filename.p &&
			    str_eq_c(c->parts[i].name, name))
				return c->parts[i].data;
		return STR("");
	}
	str_t v = http_form(c->req, name);
	return v.p ? v : STR("");
}

const multipart_part_t *admin_file(const ctx_t *c, const char *name)
{
	for (size_t i = 0; i < c->nparts; i++)
		if (c->parts[i].filename.p && str_eq_c(c->parts[i].name, name))
			return &c->parts[i];
	return NULL;
}

/* ------------------------------------------------------------ tenants */

typedef admin_tenant_t tenant_t;

static const db_stmt_t q_tenant_by_slug = {
	"admin_tenant_by_slug",
	"SELECT t.id, t.slug, t.name, t.status,"
	"       to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
	"       p.id IS NOT NULL, coalesce(p.is_published, false)"
	"  FROM tenants t LEFT JOIN pages p ON p.tenant_id = t.id"
	" WHERE t.slug = $1",
	1};

/* The tenant of the path's {slug} and the person's role in it;
 * ERR_NOT_FOUND when there is none or the person has no role (the same
 * answer, so a guessed slug reveals nothing). */
int admin_load_tenant(ctx_t *c, tenant_t *t)
{
	str_t slug = router_param(c->req, "slug");
	if (admin_slug_check(slug, NULL) != 0 && !admin_slug_reserved(slug))
		return ERR_NOT_FOUND;
	const char *p[] = {str_dup(c->arena, slug)};
	PGresult *r;
	int rc = db_exec(c->db, c->arena, &q_tenant_by_slug, p, &r);
	if (rc)
		return rc == ERR_INVALID ? ERR_NOT_FOUND : rc;
	if (db_rows(r) != 1)
		return ERR_NOT_FOUND;
	*t = (tenant_t){
		.id = db_value_ll(r, 0, 0),
		.slug = db_value(r, 0, 1),
		.name = db_value(r, 0, 2),
		.status = db_value(r, 0, 3),
		.created = db_value(r, 0, 4),
		.has_page = strcmp(db_value(r, 0, 5), "t") == 0,
		.published = strcmp(db_value(r, 0, 6), "t") == 0,
	};
	if ((rc = auth_role_for(c->db, c->arena, &c->session.user, t->id,
				&t->role)))
		return rc;
	return t->role == AUTH_ROLE_NONE ? ERR_NOT_FOUND : 0;
}

/* Two decimal digits at s, or -1. */
static int two_digits(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

const char *admin_time(ctx_t *c, const char *iso)
{
	if (!iso)
		return NULL;
	struct tm tm = {0};
	const char *end = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return iso;
	while (*end == '.' || (*end >= '0' && *end <= '9'))
		end++; /* fractions of a second */
	long offset = 0; /* seconds east of UTC */
	if (*end == '+' || *end == '-') {
		int hh = two_digits(end + 1);
		int mm = end[3] == ':' ? two_digits(end + 4) : -1;
		if (hh < 0 || mm < 0)
			return iso;
		offset = (*end == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
	} else if (*end != 'Z') {
		return iso;
	}
	time_t t = timegm(&tm) - offset;
	struct tm utc;
	char out[32];
	if (!gmtime_r(&t, &utc) ||
	    !strftime(out, sizeof out, "%Y-%m-%d %H:%M", &utc))
		return iso;
	return arena_strdup(c->arena, out);
}

const char *admin_site_url(ctx_t *c, const char *slug)
{
	char host[320], origin[400];
	snprintf(host, sizeof host, "%s.%s", slug, c->admin->cfg->domain);
	return arena_printf(c->arena, "%s/",
			    config_origin(c->admin->cfg, host, origin,
					  sizeof origin));
}

/* ------------------------------------------------------------ handlers */

static int h_admin_root(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	return admin_redirect(app, HOME_URL);
}

static int login_form(ctx_t *c, int status, str_t email, const char *error)
{
	return admin_render(c, status, "admin/login",
		      json_pack("{s:o, s:s?}", "email", admin_field(email, NULL),
				"error", error));
}

static int h_login_form(http_request_t *req, http_response_t *resp, void *app)
{
	(void)resp;
	ctx_t *c = app;
	auth_session_t s;
	str_t cookie = http_cookie(req, ADMIN_COOKIE);
	if (http_found(cookie) &&
	    auth_session_check(c->db, c->arena, cookie, &s) == 0)
		return admin_redirect(c, HOME_URL);
	return login_form(c, 200, STR(""), NULL);
}

static int h_login(http_request_t *req, http_response_t *resp, void *app)
{
	ctx_t *c = app;
	str_t email = str_trim(admin_form(c, "email")), pw = admin_form(c, "password");
	if (email.len == 0 || pw.len == 0)
		return login_form(c, 422, email,
				  "Enter your e-mail address and your "
				  "password.");
	auth_login_t in = {.email = email,
			   .password = pw,
			   .client_key = req->remote_addr,
			   .old_token = http_cookie(req, ADMIN_COOKIE),
			   .user_agent = http_header(req, STR("User-Agent"))};
	auth_session_t s;
	int wait = 0;
	int rc = auth_login(c->db, c->arena, &in, &s, &wait);
	if (rc == ERR_UNAUTHORIZED)
		return login_form(c, 422, email,
				  "Wrong e-mail address or password.");
	if (rc == ERR_RATE_LIMITED) {
		set_header(resp, "Retry-After",
			   arena_printf(c->arena, "%d", wait));
		int minutes = (wait + 59) / 60;
		return login_form(
			c, 429, email,
			arena_printf(c->arena,
				     "Too many attempts. For your safety, "
				     "signing in is paused; try again in %d "
				     "minute%s.",
				     minutes, minutes == 1 ? "" : "s"));
	}
	if (rc)
		return rc;
	if ((rc = set_session_cookie(c, s.token, false)))
		return rc;
	return admin_redirect(c, HOME_URL);
}

static int h_logout(http_request_t *req, http_response_t *resp, void *app)
{
	(void)resp;
	ctx_t *c = app;
	int rc = auth_logout(c->db, c->arena, http_cookie(req, ADMIN_COOKIE));
	if (rc)
		return rc;
	if ((rc = set_session_cookie(c, "", true)))
		return rc;
	return admin_redirect(c, LOGIN_URL);
}

static const db_stmt_t q_tenants_all = {
	"admin_tenants_all",
	"SELECT t.slug, t.name, t.status, 'admin',"
	"       coalesce(p.is_published, false), t.id"
	"  FROM tenants t LEFT JOIN pages p ON p.tenant_id = t.id"
	" WHERE ($1 = '' OR strpos(t.slug, lower($1)) > 0"
	"        OR strpos(lower(t.name), lower($1)) > 0)"
	"   AND ($3 = '' OR t.status = $3)"
	"   AND t.slug > $4"
	" ORDER BY t.slug LIMIT $2::int",
	4};

static const db_stmt_t q_tenants_member = {
	"admin_tenants_member",
	"SELECT t.slug, t.name, t.status, m.role,"
	"       coalesce(p.is_published, false), t.id"
	"  FROM memberships m JOIN tenants t ON t.id = m.tenant_id"
	"  LEFT JOIN pages p ON p.tenant_id = t.id"
	" WHERE m.user_id = $5::bigint"
	"   AND ($1 = '' OR strpos(t.slug, lower($1)) > 0"
	"        OR strpos(lower(t.name), lower($1)) > 0)"
	"   AND ($3 = '' OR t.status = $3)"
	"   AND t.slug > $4"
	" ORDER BY t.slug LIMIT $2::int",
	5};

static int h_dashboard(http_request_t *req, http_response_t *resp, void *app)
{
	(void)resp;
	ctx_t *c = app;
	str_t q = http_query(req, "q");
	q = str_trim(q.p ? q : STR(""));
	const char *note = NULL;
	if (q.len > ADMIN_QUERY_MAX || !str_is_valid_utf8(q)) {
		note = "The search was too long or unreadable; showing all.";
		q = STR("");
	}
	/* ?status=active|suspended; anything else shows every status. */
	str_t st_in = http_query(req, "status");
	const char *status = str_eq_c(st_in, "active")      ? "active"
			     : str_eq_c(st_in, "suspended") ? "suspended"
							    : "";
	/* ?after=<slug>: the next page of the list, which is in slug order
	 * (a slug's characters all sort below any that are not in one). */
	str_t after = http_query(req, "after");
	if (!after.p || after.len > 63)
		after = STR("");
	const char *p[] = {str_dup(c->arena, q),
			   db_param_ll(c->arena, ADMIN_LIST_MAX + 1), status,
			   str_dup(c->arena, after),
			   db_param_ll(c->arena, c->session.user.id)};
	PGresult *r;
	int rc = db_exec(c->db, c->arena,
			 c->session.user.is_admin ? &q_tenants_all
						  : &q_tenants_member,
			 p, &r);
	if (rc)
		return rc;
	json_t *list = json_array();
	int n = db_rows(r);
	long long *ids = arena_calloc(c->arena, ADMIN_LIST_MAX, sizeof *ids);
	for (int i = 0; i < n && i < ADMIN_LIST_MAX; i++) {
		const char *st = db_value(r, i, 2);
		ids[i] = db_value_ll(r, i, 5);
		json_array_append_new(
			list,
			json_pack("{s:s, s:s, s:s, s:b, s:s, s:b, s:s}", "slug",
				  db_value(r, i, 0), "name", db_value(r, i, 1),
				  "status", st, "suspended",
				  strcmp(st, "suspended") == 0, "role",
				  db_value(r, i, 3), "published",
				  strcmp(db_value(r, i, 4), "t") == 0, "url",
				  admin_site_url(c, db_value(r, i, 0))));
	}
	if ((rc = admin_analytics_totals(c, ids, list))) {
		json_decref(list);
		return rc;
	}
	const char *next = n > ADMIN_LIST_MAX
				   ? db_value(r, ADMIN_LIST_MAX - 1, 0)
				   : NULL;
	return admin_render(c, 200, "admin/dashboard",
		      json_pack("{s:o, s:b, s:s%, s:s, s:b, s:s?, s:b, s:b, s:s?, s:{s:b, s:b, s:b}}",
				"tenants", list, "empty", n == 0, "q", q.p,
				q.len, "status_value", status, "searched",
				q.len > 0 || *status, "next_after", next,
				"paged", after.len > 0, "pager",
				next || after.len > 0, "note", note,
				"status", "any", !*status, "active",
				strcmp(status, "active") == 0, "suspended",
				strcmp(status, "suspended") == 0));
}

static const db_stmt_t q_workflows = {
	"admin_tenant_workflows",
	"SELECT id, name, status, status_reason,"
	"       to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
	"  FROM workflows WHERE tenant_id = $1::bigint ORDER BY id LIMIT 100",
	1};

static const db_stmt_t q_members = {
	"admin_tenant_members",
	"SELECT u.name, u.email, m.role"
	"  FROM memberships m JOIN users u ON u.id = m.user_id"
	" WHERE m.tenant_id = $1::bigint"
	" ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'editor' THEN 1"
	"          ELSE 2 END, u.email LIMIT 200",
	1};

/* Owners rename their tenant; operators also move it (see below). */
static bool may_rename(const tenant_t *t)
{
	return t->role >= AUTH_ROLE_OWNER;
}

static int h_tenant(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = admin_load_tenant(c, &t);
	if (rc)
		return rc;
	if (!auth_can(t.role, AUTH_READ))
		return ERR_NOT_FOUND;
	const char *p[] = {db_param_ll(c->arena, t.id)};
	PGresult *wr, *mr;
	if ((rc = db_exec(c->db, c->arena, &q_workflows, p, &wr)) ||
	    (rc = db_exec(c->db, c->arena, &q_members, p, &mr)))
		return rc;
	json_t *stats; /* views and clicks, last 30 days */
	if ((rc = admin_analytics_tenant(c, t.id, &stats)))
		return rc;
	json_t *wfs = json_array(), *members = json_array();
	for (int i = 0; i < db_rows(wr); i++)
		json_array_append_new(
			wfs, json_pack("{s:s, s:s, s:s, s:s?, s:s}", "id",
				       db_value(wr, i, 0), "name",
				       db_value(wr, i, 1), "status",
				       db_value(wr, i, 2), "reason",
				       db_value(wr, i, 3), "updated",
				       db_value(wr, i, 4)));
	for (int i = 0; i < db_rows(mr); i++)
		json_array_append_new(
			members, json_pack("{s:s, s:s, s:s}", "name",
					   db_value(mr, i, 0), "email",
					   db_value(mr, i, 1), "role",
					   db_value(mr, i, 2)));
	bool suspended = strcmp(t.status, "suspended") == 0;
	return admin_render(
		c, 200, "admin/tenant",
		json_pack("{s:{s:s, s:s, s:s, s:b, s:s, s:s, s:b, s:b}, s:s,"
			  " s:b, s:b, s:b, s:o, s:b, s:o, s:b, s:o}",
			  "tenant", "slug", t.slug, "name", t.name, "status",
			  t.status, "suspended", suspended, "created", t.created,
			  "url", admin_site_url(c, t.slug), "has_page", t.has_page,
			  "published", t.published, "role",
			  auth_role_name(t.role), "can_rename", may_rename(&t),
			  "can_operate",
			  t.role == AUTH_ROLE_ADMIN, "can_manage",
			  auth_can(t.role, AUTH_MANAGE_MEMBERS), "workflows", wfs,
			  "no_workflows", json_array_size(wfs) == 0, "members",
			  members, "no_members", json_array_size(members) == 0,
			  "analytics", stats));
}

static const db_stmt_t q_set_status = {
	"admin_tenant_set_status",
	"UPDATE tenants SET status = $2 WHERE id = $1::bigint AND status <> $2",
	2};

static int suspend(ctx_t *c, const char *to)
{
	/* Operator-only: for everyone else the address does not exist. */
	if (!c->session.user.is_admin)
		return ERR_NOT_FOUND;
	tenant_t t;
	int rc = admin_load_tenant(c, &t);
	if (rc)
		return rc;
	const char *p[] = {db_param_ll(c->arena, t.id), to};
	PGresult *r;
	if ((rc = db_begin(c->db)) ||
	    (rc = db_exec(c->db, c->arena, &q_set_status, p, &r)))
		goto out;
	if (PQcmdTuples(r)[0] != '0') {
		json_t *before = json_pack("{s:s}", "status", t.status);
		json_t *after = json_pack("{s:s}", "status", to);
		rc = audit_write(c->db, c->arena, t.id, c->session.user.id,
				 strcmp(to, "suspended") == 0
					 ? "tenant.suspend"
					 : "tenant.unsuspend",
				 "tenant", db_param_ll(c->arena, t.id), before,
				 after);
		json_decref(before);
		json_decref(after);
		if (rc)
			goto out;
	}
	if ((rc = db_commit(c->db)))
		goto out;
	return admin_redirect(c, arena_printf(c->arena, "/admin/tenants/%s", t.slug));
out:
	db_rollback(c->db);
	return rc;
}

static int h_suspend(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	return suspend(app, "suspended");
}

static int h_unsuspend(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	return suspend(app, "active");
}

/* Renaming: owners change the display name; platform admins also the
 * slug (the site's address), under the rules of a new tenant's.  The old
 * slug is free at once.  The tenants trigger (sql/0001_core.sql) notifies
 * site_changed on the UPDATE, and every responder then drops its whole
 * page cache, so neither address serves a stale page. */
static int rename_form(ctx_t *c, int status, const tenant_t *t, str_t name,
		       const char *name_err, str_t slug, const char *slug_err)
{
	return admin_render(
		c, status, "admin/tenant_rename",
		json_pack("{s:{s:s, s:s, s:s}, s:{s:o, s:o}, s:b, s:b}",
			  "tenant", "slug", t->slug, "name", t->name, "url",
			  admin_site_url(c, t->slug), "fields", "name",
			  admin_field(name, name_err), "slug",
			  admin_field(slug, slug_err), "can_slug",
			  c->session.user.is_admin, "invalid",
			  name_err || slug_err));
}

static int h_tenant_rename_form(http_request_t *req, http_response_t *resp,
				void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = admin_load_tenant(c, &t);
	if (rc)
		return rc;
	if (!may_rename(&t))
		return ERR_NOT_FOUND;
	return rename_form(c, 200, &t, str_c(t.name), NULL, str_c(t.slug), NULL);
}

static const db_stmt_t q_tenant_rename = {
	"admin_tenant_rename",
	"UPDATE tenants SET name = $2, slug = $3 WHERE id = $1::bigint",
	3};

static int h_tenant_rename(http_request_t *req, http_response_t *resp,
			   void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = admin_load_tenant(c, &t);
	if (rc)
		return rc;
	if (!may_rename(&t))
		return ERR_NOT_FOUND;
	str_t name_in = admin_form(c, "name");
	/* Only operators move a site: for anyone else the slug stays, and a
	 * posted one is not looked at. */
	str_t slug = c->session.user.is_admin ? str_trim(admin_form(c, "slug"))
					      : str_c(t.slug);
	const char *name = NULL, *name_err = NULL, *slug_err = NULL;
	if (auth_name_check(c->arena, name_in, &name, &name_err) != 0 &&
	    !name_err)
		name_err = "Enter a name.";
	if (!str_eq_c(slug, t.slug))
		(void)!admin_slug_check(slug, &slug_err);
	if (name_err || slug_err)
		return rename_form(c, 422, &t, name_in, name_err, slug, slug_err);
	const char *slug_c = str_dup(c->arena, slug);
	const char *where = arena_printf(c->arena, "/admin/tenants/%s", slug_c);
	if (strcmp(name, t.name) == 0 && strcmp(slug_c, t.slug) == 0)
		return admin_redirect(c, where);
	const char *p[] = {db_param_ll(c->arena, t.id), name, slug_c};
	json_t *before = json_pack("{s:s, s:s}", "name", t.name, "slug", t.slug);
	json_t *after = json_pack("{s:s, s:s}", "name", name, "slug", slug_c);
	if ((rc = db_begin(c->db)) ||
	    (rc = db_exec(c->db, c->arena, &q_tenant_rename, p, NULL)) ||
	    (rc = audit_write(c->db, c->arena, t.id, c->session.user.id,
			      "tenant.rename", "tenant",
			      db_param_ll(c->arena, t.id), before, after)) ||
	    (rc = db_commit(c->db)))
		db_rollback(c->db);
	json_decref(before);
	json_decref(after);
	if (rc == ERR_CONFLICT)
		return rename_form(c, 422, &t, name_in, NULL, slug,
				   "This slug is taken; choose another.");
	if (rc)
		return rc;
	return admin_redirect(c, where);
}

static int new_tenant_form(ctx_t *c, int status, str_t slug, const char *slug_err,
			   str_t name, const char *name_err)
{
	return admin_render(c, status, "admin/tenant_new",
		      json_pack("{s:{s:o, s:o}, s:b}", "fields", "slug",
				admin_field(slug, slug_err), "name",
				admin_field(name, name_err), "invalid",
				slug_err || name_err));
}

static int h_tenant_new(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	if (!c->session.user.is_admin)
		return ERR_NOT_FOUND;
	return new_tenant_form(c, 200, STR(""), NULL, STR(""), NULL);
}

/* The page a new tenant starts with: its name, a hint of what to do next,
 * valid under page_check, unpublished until someone publishes it. */
static json_t *starter_page(const char *name)
{
	return json_pack(
		"{s:{s:s, s:s, s:{s:s, s:s}},"
		" s:{s:s, s:[{s:s, s:s, s:s}]},"
		" s:{s:s, s:{s:s, s:s}}}",
		"hero", "headline", name, "subheadline",
		"Welcome! This is your new page; edit it in the Canopy admin.",
		"primary_cta", "label", "Get in touch", "href", "#cta",
		"features", "title", "What we do", "items", "icon", "sparkles",
		"title", "Something great", "body",
		"Describe what you offer here.",
		"cta", "headline", "Say hello", "button", "label", "Contact us",
		"href", "#top");
}

static const db_stmt_t q_tenant_create = {
	"admin_tenant_create",
	"WITH th AS (INSERT INTO themes (json) VALUES ($3::jsonb) RETURNING id),"
	"     ten AS (INSERT INTO tenants (slug, name, theme_id)"
	"             SELECT $1, $2, id FROM th RETURNING id)"
	" INSERT INTO pages (tenant_id, json, is_published)"
	" SELECT id, $4::jsonb, false FROM ten RETURNING tenant_id",
	4};

static int h_tenant_create(http_request_t *req, http_response_t *resp,
			   void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	if (!c->session.user.is_admin)
		return ERR_NOT_FOUND;
	str_t slug = str_trim(admin_form(c, "slug")), name_in = admin_form(c, "name");
	const char *slug_err = NULL, *name_err = NULL, *name = NULL;
	(void)!admin_slug_check(slug, &slug_err);
	if (auth_name_check(c->arena, name_in, &name, &name_err) != 0 &&
	    !name_err)
		name_err = "Enter a name.";
	if (slug_err || name_err)
		return new_tenant_form(c, 422, slug, slug_err, name_in, name_err);

	json_t *theme = theme_default_new();
	json_t *page = starter_page(name);
	char *theme_s = json_dumps(theme, JSON_COMPACT);
	char *page_s = json_dumps(page, JSON_COMPACT);
	json_decref(theme);
	json_decref(page);
	const char *slug_c = str_dup(c->arena, slug);
	const char *p[] = {slug_c, name, arena_strdup(c->arena, theme_s),
			   arena_strdup(c->arena, page_s)};
	free(theme_s);
	free(page_s);
	PGresult *r;
	int rc;
	if ((rc = db_begin(c->db)) ||
	    (rc = db_exec(c->db, c->arena, &q_tenant_create, p, &r)))
		goto out;
	long long id = db_value_ll(r, 0, 0);
	json_t *after = json_pack("{s:s, s:s, s:s, s:b}", "slug", slug_c,
				  "name", name, "status", "active",
				  "published", 0);
	rc = audit_write(c->db, c->arena, id, c->session.user.id,
			 "tenant.create", "tenant", db_param_ll(c->arena, id),
			 NULL, after);
	json_decref(after);
	if (rc || (rc = db_commit(c->db)))
		goto out;
	return admin_redirect(c, arena_printf(c->arena, "/admin/tenants/%s", slug_c));
out:
	db_rollback(c->db);
	if (rc == ERR_CONFLICT)
		return new_tenant_form(c, 422, slug,
				       "This slug is taken; choose another.",
				       name_in, NULL);
	return rc;
}

static int password_form(ctx_t *c, int status, const char *cur_err,
			 const char *new_err, const char *confirm_err,
			 const char *done)
{
	/* Passwords are never echoed back into the page. */
	return admin_render(c, status, "admin/password",
		      json_pack("{s:{s:o, s:o, s:o}, s:s?, s:b}", "fields",
				"current", admin_field(STR(""), cur_err), "new",
				admin_field(STR(""), new_err), "confirm",
				admin_field(STR(""), confirm_err), "done", done,
				"invalid", cur_err || new_err || confirm_err));
}

static int h_password_form(http_request_t *req, http_response_t *resp,
			   void *app)
{
	(void)req;
	(void)resp;
	return password_form(app, 200, NULL, NULL, NULL, NULL);
}

static int h_password(http_request_t *req, http_response_t *resp, void *app)
{
	ctx_t *c = app;
	str_t cur = admin_form(c, "current"), pw = admin_form(c, "new"),
	      confirm = admin_form(c, "confirm");
	const char *new_err = NULL, *confirm_err = NULL;
	if (auth_password_check(pw, &new_err) != 0 && !new_err)
		new_err = "Choose another password.";
	if (!new_err && !str_eq(pw, confirm))
		confirm_err = "The two new passwords differ.";
	if (cur.len == 0)
		return password_form(c, 422, "Enter your current password.",
				     new_err, confirm_err, NULL);
	int wait = 0;
	int rc = auth_password_confirm(c->db, c->arena, &c->session.user, cur,
				       req->remote_addr, &wait);
	if (rc == ERR_RATE_LIMITED) {
		set_header(resp, "Retry-After", arena_printf(c->arena, "%d", wait));
		return password_form(c, 429,
				     "Too many wrong attempts; try again "
				     "later.",
				     NULL, NULL, NULL);
	}
	if (rc == ERR_UNAUTHORIZED)
		return password_form(c, 422,
				     "This is not your current password.",
				     new_err, confirm_err, NULL);
	if (rc)
		return rc;
	if (new_err || confirm_err)
		return password_form(c, 422, NULL, new_err, confirm_err, NULL);
	if ((rc = db_begin(c->db)) ||
	    (rc = auth_user_set_password(c->db, c->arena, c->session.user.id,
					 pw, c->session.id)) ||
	    (rc = audit_write(c->db, c->arena, 0, c->session.user.id,
			      "user.password", "user",
			      db_param_ll(c->arena, c->session.user.id), NULL,
			      NULL)) ||
	    (rc = db_commit(c->db))) {
		db_rollback(c->db);
		return rc;
	}
	return password_form(c, 200, NULL, NULL, NULL,
			     "Your password was changed. Every other session "
			     "of yours was signed out.");
}

static const router_route_t base_routes[] = {
	{"GET", "/admin", ROUTER_PLATFORM, h_admin_root, "admin.root"},
	{"GET", "/admin/login", ROUTER_PLATFORM, h_login_form, "admin.login_form"},
	{"POST", "/admin/login", ROUTER_PLATFORM, h_login, "admin.login"},
	{"POST", "/admin/logout", ROUTER_PLATFORM, h_logout, "admin.logout"},
	{"GET", "/admin/", ROUTER_PLATFORM, h_dashboard, "admin.dashboard"},
	{"GET", "/admin/password", ROUTER_PLATFORM, h_password_form,
	 "admin.password_form"},
	{"POST", "/admin/password", ROUTER_PLATFORM, h_password,
	 "admin.password"},
	{"GET", "/admin/tenants/new", ROUTER_PLATFORM, h_tenant_new,
	 "admin.tenant_new"},
	{"POST", "/admin/tenants/new", ROUTER_PLATFORM, h_tenant_create,
	 "admin.tenant_create"},
	{"GET", "/admin/tenants/{slug}", ROUTER_PLATFORM, h_tenant,
	 "admin.tenant"},
	{"POST", "/admin/tenants/{slug}/suspend", ROUTER_PLATFORM, h_suspend,
	 "admin.tenant_suspend"},
	{"POST", "/admin/tenants/{slug}/unsuspend", ROUTER_PLATFORM,
	 h_unsuspend, "admin.tenant_unsuspend"},
	{"GET", "/admin/tenants/{slug}/rename", ROUTER_PLATFORM,
	 h_tenant_rename_form, "admin.tenant_rename_form"},
	{"POST", "/admin/tenants/{slug}/rename", ROUTER_PLATFORM,
	 h_tenant_rename, "admin.tenant_rename"},
};
#define NBASE (sizeof base_routes / sizeof base_routes[0])

/* The screen modules (see admin_screen.h), one line each. */
static const router_route_t *(*const screens[])(size_t *n) = {
	admin_site_routes,
	admin_team_routes,
	admin_media_routes,
	admin_workflows_routes,
};

/* Routes of screen modules named "public.*" (an invitation link) are
 * answered without a session, but see the person when one is signed in
 * (and then check the CSRF token of a POST, as everywhere). */
static bool is_public_screen(const router_route_t *r)
{
	return strncmp(r->name, "public.", 7) == 0;
}

/* Routes answered without a session. */
static bool is_public(const router_route_t *r)
{
	return r->handler == h_admin_root || r->handler == h_login_form ||
	       r->handler == h_login || is_public_screen(r);
}

bool admin_route_public(const router_route_t *r)
{
	return is_public(r);
}

router_route_t *admin_routes_new(size_t *n)
{
	size_t nroutes = NBASE;
	router_route_t *routes = xmalloc(sizeof base_routes);
	memcpy(routes, base_routes, sizeof base_routes);
	for (size_t i = 0; i < sizeof screens / sizeof screens[0]; i++) {
		size_t more_n = 0;
		const router_route_t *more = screens[i] ? screens[i](&more_n) : NULL;
		routes = xrealloc(routes, (nroutes + more_n) * sizeof *routes);
		if (more_n)
			memcpy(routes + nroutes, more, more_n * sizeof *routes);
		nroutes += more_n;
	}
	*n = nroutes;
	return routes;
}

/* ------------------------------------------------------------ admin */

admin_t *admin_new(const config_t *cfg, const mustache_set_t *templates,
		   const assets_t *assets, char *err, size_t errlen)
{
	size_t nroutes = 0;
	router_route_t *routes = admin_routes_new(&nroutes);
	if (router_check(routes, nroutes) != 0) {
		free(routes);
		snprintf(err, errlen, "admin: the route table is invalid");
		return NULL;
	}
	static const char *const needed[] = {
		"admin/login", "admin/dashboard", "admin/tenant",
		"admin/tenant_new", "admin/tenant_rename", "admin/password",
		"admin/error"};
	for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
		if (!mustache_set_has(templates, needed[i])) {
			snprintf(err, errlen,
				 "CANOPY_TEMPLATE_DIR: template %s is missing",
				 needed[i]);
			free(routes);
			return NULL;
		}
	}
	admin_t *ad = xcalloc(1, sizeof *ad);
	ad->cfg = cfg;
	ad->templates = templates;
	ad->assets = assets;
	ad->routes = routes;
	ad->nroutes = nroutes;
	config_origin(cfg, cfg->domain ? cfg->domain : "localhost", ad->origin,
		      sizeof ad->origin);
	return ad;
}

void admin_free(admin_t *admin)
{
	if (admin)
		free(admin->routes);
	free(admin);
}

bool admin_owns(const http_request_t *req)
{
	return req->slug.len == 0 &&
	       (str_starts_with(req->path, STR(ADMIN_PREFIX)) ||
		str_eq_c(req->path, "/admin"));
}

static long no_body(void *ctx, char *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return 0;
}

/* Routes named "upload.*" take a file: a multipart/form-data body of up
 * to ADMIN_UPLOAD_MAX bytes.  Every other body, multipart or not, stops
 * at ADMIN_BODY_MAX. */
static bool is_upload(const router_route_t *r)
{
	return strncmp(r->name, "upload.", 7) == 0;
}

static bool is_multipart(str_t content_type)
{
	str_t type;
	str_cut(content_type, ';', &type);
	return str_case_eq(str_trim(type), STR("multipart/form-data"));
}

/* A multipart body's parts, for admin_form and admin_file.  A plain field
 * with a NUL byte is refused, as http_form refuses one in a urlencoded
 * form. */
static int parse_multipart(ctx_t *c)
{
	multipart_part_t *parts;
	size_t n;
	const char *why = NULL;
	int rc = multipart_parse(c->arena, c->req->content_type, c->req->body,
				 NULL, &parts, &n, &why);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!parts[i].filename.p &&
		    memchr(parts[i].data.p, '\0', parts[i].data.len)) {
			rc = ERR_INVALID;
			why = "a form field holds a NUL byte";
		}
	if (rc) {
		log_line_t *l = log_begin(LOG_WARN, "admin: multipart refused");
		log_str(l, "why", why);
		log_end(l);
		return rc == ERR_TOO_LARGE ? rc : ERR_INVALID;
	}
	c->multipart = true;
	c->parts = parts;
	c->nparts = n;
	return 0;
}

/* A POST's body read and its origin checked.  Browsers send Origin with
 * every POST; one that names another site is a cross-site form. */
static int read_post(ctx_t *c, const router_route_t *route, http_read_fn fn,
		     void *fn_ctx)
{
	str_t origin = http_header(c->req, STR("Origin"));
	if (http_found(origin) && !str_eq_c(origin, c->admin->origin))
		return ERR_FORBIDDEN;
	bool multipart = is_multipart(c->req->content_type);
	int rc = http_request_read_body(c->req, fn ? fn : no_body, fn_ctx,
					multipart && is_upload(route)
						? ADMIN_UPLOAD_MAX
						: ADMIN_BODY_MAX);
	if (rc == ERR_TOO_LARGE)
		return rc;
	if (rc)
		return ERR_INVALID;
	return multipart ? parse_multipart(c) : 0;
}

static int serve(ctx_t *c, http_read_fn read_fn, void *read_ctx)
{
	http_request_t *req = c->req;
	const router_route_t *route = NULL;
	int match = router_match(c->admin->routes, c->admin->nroutes, req, &route);
	bool public_route = match == 0 && is_public(route);
	bool post = req->method_id == HTTP_POST;
	if (!public_route || is_public_screen(route)) {
		str_t cookie = http_cookie(req, ADMIN_COOKIE);
		int rc = http_found(cookie)
				 ? auth_session_check(c->db, c->arena, cookie,
						      &c->session)
				 : ERR_UNAUTHORIZED;
		if (rc == ERR_UNAUTHORIZED && !public_route)
			return admin_redirect(c, LOGIN_URL);
		if (rc && rc != ERR_UNAUTHORIZED)
			return rc;
		c->signed_in = rc == 0;
	}
	if (c->signed_in) {
		if (auth_csrf_token(&c->session, NULL, c->csrf) != 0)
			return ERR_INTERNAL;
	}
	if (match)
		return match;
	if (post) {
		int rc = read_post(c, route, read_fn, read_ctx);
		if (rc)
			return rc;
		if (c->signed_in &&
		    auth_csrf_verify(&c->session, NULL, admin_form(c, "csrf")) != 0)
			return ERR_FORBIDDEN;
	}
	return route->handler(req, c->resp, c);
}

int admin_serve(admin_t *admin, db_t *db, http_request_t *req,
		http_response_t *resp, http_read_fn read_fn, void *read_ctx)
{
	ctx_t c = {.admin = admin,
		   .db = db,
		   .arena = resp->arena,
		   .req = req,
		   .resp = resp};
	resp->status = 0;
	int rc = db ? serve(&c, read_fn, read_ctx) : ERR_DB;
	if (db && db_in_transaction(db))
		db_rollback(db); /* a handler's error path left one open */
	if (rc == 0 && !resp->status)
		rc = ERR_INTERNAL;
	if (rc) {
		int status = err_http_status(rc);
		const char *title = http_status_text(status), *msg;
		switch (rc) {
		case ERR_NOT_FOUND:
			title = "Not found";
			msg = "There is nothing at this address, or it is not "
			      "yours to see.";
			break;
		case ERR_METHOD:
			msg = "This address does not accept that method.";
			if (req->allow.p)
				set_header(resp, "Allow",
					   str_dup(c.arena, req->allow));
			break;
		case ERR_FORBIDDEN:
			title = "Not allowed";
			msg = "This form has expired or did not come from this "
			      "site. Go back, reload the page and try again.";
			break;
		case ERR_TOO_LARGE:
			msg = "What was sent is too large.";
			break;
		case ERR_INVALID:
		case ERR_MEDIA_TYPE:
			msg = "What was sent could not be read.";
			break;
		case ERR_DB:
			set_header(resp, "Retry-After", "5");
			msg = "The admin is briefly unavailable. Please try "
			      "again in a moment.";
			break;
		default:
			msg = "Something went wrong on our side.";
			break;
		}
		if (status >= 500) {
			log_line_t *l = log_begin(LOG_WARN, "admin request failed");
			log_str(l, "route", req->route_name);
			log_str(l, "code", err_code_name(rc));
			log_end(l);
		}
		if (admin_error_page(&c, status, title, msg) != 0) {
			buf_clear(&resp->body);
			buf_puts(&resp->body, msg);
			resp->status = status;
			set_header(resp, "Content-Type",
				   "text/plain; charset=utf-8");
		}
	}
	set_header(resp, "Cache-Control", "no-store");
	return resp->status ? 0 : ERR_INTERNAL;
}
