#include "admin_site.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin_screen.h"
#include "audit.h"
#include "log.h"
#include "page.h"
#include "site.h"
#include "theme.h"

typedef admin_ctx_t ctx_t;
typedef admin_tenant_t tenant_t;

/* ------------------------------------------------------------ the form */

/* The page form's fields outside the feature items, in form order. */
typedef struct {
	const char *path;
	const char *label;
	int max;        /* characters, for maxlength */
	bool required;  /* kept as "" when empty, so page_check names it */
	bool long_text; /* a textarea */
	const char *hint;
} spec_t;

static const spec_t specs[] = {
	{"hero.eyebrow", "Eyebrow", 60, false, false,
	 "A short label above the headline (optional)."},
	{"hero.headline", "Headline", 120, true, false, NULL},
	{"hero.subheadline", "Subheadline", 300, false, true, NULL},
	{"hero.primary_cta.label", "Primary button label", 40, true, false, NULL},
	{"hero.primary_cta.href", "Primary button link", 2048, true, false,
	 "https://…, mailto:…, tel:…, /path or #cta"},
	{"hero.secondary_cta.label", "Secondary button label", 40, false,
	 false, "Leave both empty for no second button."},
	{"hero.secondary_cta.href", "Secondary button link", 2048, false,
	 false, NULL},
	{"features.eyebrow", "Eyebrow", 60, false, false, NULL},
	{"features.title", "Title", 120, true, false, NULL},
	{"features.subtitle", "Subtitle", 300, false, true, NULL},
	{"status.eyebrow", "Eyebrow", 60, false, false, NULL},
	{"status.title", "Title", 120, false, false, NULL},
	{"status.subtitle", "Subtitle", 300, false, true, NULL},
	{"cta.headline", "Headline", 120, true, false, NULL},
	{"cta.body", "Text", 300, false, true, NULL},
	{"cta.button.label", "Button label", 40, true, false, NULL},
	{"cta.button.href", "Button link", 2048, true, false, NULL},
	{"seo.title", "Title", 120, false, false,
	 "For search results and the browser tab; defaults to the headline."},
	{"seo.description", "Description", 300, false, true, NULL},
	{"footer.tagline", "Footer tagline", 200, false, false, NULL},
};
#define NSPECS (sizeof specs / sizeof specs[0])

static const char *const item_keys[] = {"icon", "title", "body"};

/* Sets value at a dotted path below obj, making the objects on the way. */
static void set_path(json_t *obj, const char *path, json_t *value)
{
	char key[64];
	const char *dot;
	while ((dot = strchr(path, '.')) != NULL) {
		size_t n = (size_t)(dot - path);
		if (n >= sizeof key)
			n = sizeof key - 1;
		memcpy(key, path, n);
		key[n] = '\0';
		json_t *next = json_object_get(obj, key);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(obj, key, next);
		}
		obj = next;
		path = dot + 1;
	}
	json_object_set_new(obj, path, value);
}

/* The value at a dotted path, or NULL. */
static const json_t *get_path(const json_t *obj, const char *path)
{
	char key[64];
	const char *dot;
	while (obj && (dot = strchr(path, '.')) != NULL) {
		size_t n = (size_t)(dot - path);
		if (n >= sizeof key)
			n = sizeof key - 1;
		memcpy(key, path, n);
		key[n] = '\0';
		obj = json_object_get(obj, key);
		path = dot + 1;
	}
	return obj ? json_object_get(obj, path) : NULL;
}

/* A posted value as JSON: trimmed; NULL when empty and optional. */
static json_t *form_value(str_t v, bool required)
{
	v = v.p ? str_trim(v) : STR("");
	if (v.len == 0)
		return required ? json_string("") : NULL;
	if (!str_is_valid_utf8(v))
		return json_null();
	json_t *s = json_stringn(v.p, v.len);
	return s ? s : json_null();
}

static void drop_if_empty(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_object(v) && json_object_size(v) == 0)
		json_object_del(obj, key);
}

json_t *admin_site_page_from_form(admin_site_get_fn get, void *ctx)
{
	json_t *page = json_object();
	for (size_t i = 0; i < NSPECS; i++) {
		json_t *v = form_value(get(ctx, specs[i].path), specs[i].required);
		if (v)
			set_path(page, specs[i].path, v);
	}
	json_t *items = json_array();
	for (int i = 0; i < ADMIN_SITE_ITEMS_MAX + 1; i++) {
		char name[64];
		snprintf(name, sizeof name, "features.items[%d].title", i);
		if (!get(ctx, name).p)
			break;
		json_t *item = json_object();
		for (size_t k = 0; k < 3; k++) {
			snprintf(name, sizeof name, "features.items[%d].%s", i,
				 item_keys[k]);
			json_object_set_new(item, item_keys[k],
					    form_value(get(ctx, name), true));
		}
		json_array_append_new(items, item);
	}
	set_path(page, "features.items", items);
	drop_if_empty(json_object_get(page, "hero"), "secondary_cta");
	drop_if_empty(page, "status");
	drop_if_empty(page, "seo");
	drop_if_empty(page, "footer");
	return page;
}

int admin_site_items_op(json_t *page, str_t op)
{
	json_t *items = json_object_get(json_object_get(page, "features"),
					"items");
	if (!json_is_array(items))
		return ERR_INVALID;
	long n = (long)json_array_size(items);
	if (str_eq_c(op, "add")) {
		if (n >= ADMIN_SITE_ITEMS_MAX)
			return ERR_INVALID;
		json_array_append_new(items,
				      json_pack("{s:s, s:s, s:s}", "icon",
						page_icons[0], "title", "",
						"body", ""));
		return 0;
	}
	str_t verb, arg = str_cut(op, ':', &verb);
	long i;
	if (verb.p == NULL || str_to_long(arg, 0, n - 1, &i) != 0)
		return ERR_INVALID;
	if (str_eq_c(verb, "remove")) {
		if (n <= 1)
			return ERR_INVALID;
		return json_array_remove(items, (size_t)i) ? ERR_INVALID : 0;
	}
	long j;
	if (str_eq_c(verb, "up"))
		j = i - 1;
	else if (str_eq_c(verb, "down"))
		j = i + 1;
	else
		return ERR_INVALID;
	if (j < 0 || j >= n)
		return ERR_INVALID;
	json_t *a = json_incref(json_array_get(items, (size_t)i));
	json_t *b = json_incref(json_array_get(items, (size_t)j));
	json_array_set_new(items, (size_t)i, b);
	json_array_set_new(items, (size_t)j, a);
	return 0;
}

/* ------------------------------------------------------------ the view */

/* "hero.primary_cta.href" -> "f-hero-primary_cta-href", an HTML id. */
static const char *field_id(arena_t *a, const char *path)
{
	char *id = arena_printf(a, "f-%s", path);
	for (char *p = id; *p; p++)
		if (*p == '.' || *p == '[' || *p == ']')
			*p = '-';
	return id;
}

/* The message for path, taken out of errs (what is left over is shown
 * at the top of the form). */
static json_t *take_error(json_t *errs, const char *path)
{
	json_t *e = json_object_get(errs, path);
	if (!e)
		return NULL;
	json_incref(e);
	json_object_del(errs, path);
	return e;
}

static json_t *field_view(arena_t *a, const char *path, const char *label,
			  int max, bool required, bool long_text,
			  const char *hint, const json_t *value, json_t *errs)
{
	const char *v = json_string_value(value);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:b, s:s?}",
			      "name", path, "id", field_id(a, path), "label",
			      label, "value", v ? v : "", "max", max,
			      "required", required, "long", long_text, "hint",
			      hint);
	json_t *e = take_error(errs, path);
	if (e)
		json_object_set_new(f, "error", e);
	return f;
}

/* problems ([{field, message}] or NULL) as {field: message}: the first
 * message of a field, or with join all of them (several contrast
 * failures of one colour). */
static json_t *errors_by_field(arena_t *a, const json_t *problems,
			       bool join)
{
	json_t *errs = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(problems, i, p) {
		const char *field = json_string_value(json_object_get(p, "field"));
		json_t *msg = json_object_get(p, "message");
		if (!field || !json_is_string(msg))
			continue;
		json_t *have = json_object_get(errs, field);
		if (!have)
			json_object_set(errs, field, msg);
		else if (join)
			json_object_set_new(
				errs, field,
				json_string(arena_printf(a, "%s %s",
							 json_string_value(have),
							 json_string_value(msg))));
	}
	return errs;
}

/* The template's view of page (as saved or as posted) with problems
 * ([{field, message}] or NULL) placed next to their fields. */
static json_t *page_view(arena_t *a, const json_t *page,
			 const json_t *problems)
{
	json_t *errs = errors_by_field(a, problems, false);
	json_t *f = json_object();
	for (size_t k = 0; k < NSPECS; k++) {
		const spec_t *s = &specs[k];
		char *id = arena_strdup(a, s->path);
		for (char *c = id; *c; c++)
			if (*c == '.')
				*c = '_';
		json_object_set_new(f, id,
				    field_view(a, s->path, s->label, s->max,
					       s->required, s->long_text,
					       s->hint, get_path(page, s->path),
					       errs));
	}
	json_t *items = json_array();
	const json_t *src = get_path(page, "features.items");
	size_t n = json_array_size(src);
	for (size_t i = 0; i < n; i++) {
		const json_t *it = json_array_get(src, i);
		const char *path = arena_printf(a, "features.items[%zu]", i);
		const char *icon_path = arena_printf(a, "%s.icon", path);
		const char *icon = json_string_value(json_object_get(it, "icon"));
		json_t *icons = json_array();
		for (const char *const *ic = page_icons; *ic; ic++)
			json_array_append_new(
				icons, json_pack("{s:s, s:b}", "name", *ic,
						 "selected",
						 icon && strcmp(icon, *ic) == 0));
		json_t *icon_f = field_view(a, icon_path, "Icon", 0, true, false,
					    NULL, json_object_get(it, "icon"),
					    errs);
		json_object_set_new(icon_f, "options", icons);
		json_t *e = take_error(errs, path);
		json_array_append_new(
			items,
			json_pack("{s:i, s:i, s:b, s:b, s:b, s:o, s:o, s:o, s:o?}",
				  "index", (int)i, "n", (int)i + 1, "first",
				  i == 0, "last", i + 1 == n, "only", n == 1,
				  "icon", icon_f, "title",
				  field_view(a, arena_printf(a, "%s.title", path),
					     "Title", 80, true, false, NULL,
					     json_object_get(it, "title"), errs),
				  "body",
				  field_view(a, arena_printf(a, "%s.body", path),
					     "Text", 400, true, true, NULL,
					     json_object_get(it, "body"), errs),
				  "item_error", e));
	}
	/* Problems with no field of their own (a whole section, the list). */
	json_t *general = json_array();
	const char *field;
	json_t *msg;
	json_object_foreach(errs, field, msg)
		json_array_append_new(general,
				      json_pack("{s:s, s:O}", "field", field,
						"message", msg));
	json_decref(errs);
	return json_pack("{s:o, s:o, s:b, s:b, s:o}", "f", f, "items", items,
			 "can_add", n < ADMIN_SITE_ITEMS_MAX, "has_general",
			 json_array_size(general) > 0, "general", general);
}

/* ------------------------------------------------------------ database */

static const db_stmt_t q_page = {
	"admin_site_page",
	"SELECT id, json::text, is_published,"
	"       to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
	"  FROM pages WHERE tenant_id = $1::bigint",
	1};

static const db_stmt_t q_page_lock = {
	"admin_site_page_lock",
	"SELECT id, json::text, is_published FROM pages"
	" WHERE tenant_id = $1::bigint FOR UPDATE",
	1};

static const db_stmt_t q_page_save = {
	"admin_site_page_save",
	"INSERT INTO pages (tenant_id, json) VALUES ($1::bigint, $2::jsonb)"
	" ON CONFLICT (tenant_id) DO UPDATE"
	"   SET json = EXCLUDED.json, updated_at = now()"
	" RETURNING id",
	2};

static const db_stmt_t q_version_add = {
	"admin_site_version_add",
	"INSERT INTO page_versions (tenant_id, page_id, json)"
	" VALUES ($1::bigint, $2::bigint, $3::jsonb) RETURNING id",
	3};

static const db_stmt_t q_publish = {
	"admin_site_publish",
	"UPDATE pages SET is_published = $2::boolean, updated_at = now()"
	" WHERE tenant_id = $1::bigint AND is_published <> $2::boolean"
	" RETURNING id::text",
	2};

static const db_stmt_t q_versions = {
	"admin_site_versions",
	"SELECT id, to_char(created_at AT TIME ZONE 'UTC',"
	"                   'YYYY-MM-DD HH24:MI:SS'),"
	"       json->'hero'->>'headline'"
	"  FROM page_versions WHERE tenant_id = $1::bigint"
	" ORDER BY id DESC LIMIT 200",
	1};

static const db_stmt_t q_version = {
	"admin_site_version",
	"SELECT json::text, to_char(created_at AT TIME ZONE 'UTC',"
	"                           'YYYY-MM-DD HH24:MI:SS')"
	"  FROM page_versions WHERE tenant_id = $1::bigint AND id = $2::bigint",
	2};

static json_t *parse(const char *text)
{
	json_error_t e;
	return text ? json_loads(text, 0, &e) : NULL;
}

static char *dump(arena_t *a, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return NULL;
	char *copy = arena_strdup(a, s);
	free(s);
	return copy;
}

/* Saves page (checked) as the tenant's page, a new version and an audit
 * entry, in one transaction.  *version_out (may be NULL) gets the new
 * version's id. */
static int save_page(ctx_t *c, const tenant_t *t, const json_t *page,
		     const char *action, long long *version_out)
{
	const char *tid = db_param_ll(c->arena, t->id);
	const char *text = dump(c->arena, page);
	if (!text)
		return ERR_INTERNAL;
	PGresult *r;
	json_t *before = NULL;
	int rc;
	if ((rc = db_begin(c->db)))
		return rc;
	const char *p1[] = {tid};
	if ((rc = db_exec(c->db, c->arena, &q_page_lock, p1, &r)))
		goto out;
	if (db_rows(r) == 1)
		before = parse(db_value(r, 0, 1));
	const char *p2[] = {tid, text};
	if ((rc = db_exec(c->db, c->arena, &q_page_save, p2, &r)))
		goto out;
	const char *page_id = db_value(r, 0, 0);
	const char *p3[] = {tid, page_id, text};
	if ((rc = db_exec(c->db, c->arena, &q_version_add, p3, &r)))
		goto out;
	if (version_out)
		*version_out = db_value_ll(r, 0, 0);
	if ((rc = audit_write(c->db, c->arena, t->id, c->session.user.id,
			      action, "page", page_id, before, page)) ||
	    (rc = db_commit(c->db)))
		goto out;
	json_decref(before);
	return 0;
out:
	json_decref(before);
	db_rollback(c->db);
	return rc;
}

/* ------------------------------------------------------------ handlers */

/* The tenant of the path, if the person may do action in it. */
static int tenant_for(ctx_t *c, tenant_t *t, auth_action_t action)
{
	int rc = admin_load_tenant(c, t);
	if (rc)
		return rc;
	return auth_can(t->role, action) ? 0 : ERR_NOT_FOUND;
}

static const char *notice_text(str_t n)
{
	static const char *const notices[][2] = {
		{"saved", "Saved. The change is live if the page is published."},
		{"published", "Published: the page is public now."},
		{"unpublished", "Unpublished: the page answers 404 now."},
		{"restored", "Restored as a new version."},
	};
	for (size_t i = 0; i < sizeof notices / sizeof notices[0]; i++)
		if (str_eq_c(n, notices[i][0]))
			return notices[i][1];
	return NULL;
}

static json_t *tenant_view(ctx_t *c, const tenant_t *t, bool published)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b}", "slug", t->slug,
			 "name", t->name, "url", admin_site_url(c, t->slug),
			 "published", published, "can_edit",
			 auth_can(t->role, AUTH_EDIT), "can_publish",
			 auth_can(t->role, AUTH_PUBLISH));
}

static int render_editor(ctx_t *c, int status, const tenant_t *t,
			 const json_t *page, const json_t *problems,
			 bool published, const char *updated,
			 const char *notice)
{
	json_t *view = page_view(c->arena, page, problems);
	bool invalid = json_array_size(problems) > 0;
	json_object_set_new(view, "tenant", tenant_view(c, t, published));
	json_object_set_new(view, "invalid", json_boolean(invalid));
	json_object_set_new(view, "readonly",
			    json_boolean(!auth_can(t->role, AUTH_EDIT)));
	if (updated)
		json_object_set_new(view, "updated", json_string(updated));
	if (notice)
		json_object_set_new(view, "notice", json_string(notice));
	return admin_render(c, status, "admin/page", view);
}

static int h_page(http_request_t *req, http_response_t *resp, void *app)
{
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_READ);
	if (rc)
		return rc;
	const char *p[] = {db_param_ll(c->arena, t.id)};
	PGresult *r;
	if ((rc = db_exec(c->db, c->arena, &q_page, p, &r)))
		return rc;
	json_t *page = db_rows(r) == 1 ? parse(db_value(r, 0, 1)) : NULL;
	if (!page)
		page = json_object();
	str_t notice = http_query(req, "notice");
	rc = render_editor(c, 200, &t, page, NULL,
			   db_rows(r) == 1 && strcmp(db_value(r, 0, 2), "t") == 0,
			   db_rows(r) == 1 ? db_value(r, 0, 3) : NULL,
			   notice.p ? notice_text(notice) : NULL);
	json_decref(page);
	return rc;
}

static str_t form_get(void *ctx, const char *name)
{
	return http_form(((ctx_t *)ctx)->req, name);
}

static const char *page_url(ctx_t *c, const tenant_t *t, const char *rest)
{
	return arena_printf(c->arena, "/admin/tenants/%s/page%s", t->slug, rest);
}

static int h_page_save(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_EDIT);
	if (rc)
		return rc;
	json_t *page = admin_site_page_from_form(form_get, c);
	str_t op = admin_form(c, "op");
	if (op.len && !str_eq_c(op, "save")) {
		/* An item button: the form again, changed, nothing saved. */
		const char *note = admin_site_items_op(page, op) == 0
					   ? "Not saved yet: press Save to keep "
					     "the change."
					   : "That change is not possible.";
		rc = render_editor(c, 200, &t, page, NULL, t.published, NULL,
				   note);
		json_decref(page);
		return rc;
	}
	json_t *problems = NULL;
	if (page_check(page, &problems) != 0) {
		rc = render_editor(c, 422, &t, page, problems, t.published,
				   NULL, NULL);
		json_decref(problems);
		json_decref(page);
		return rc;
	}
	json_decref(problems);
	rc = save_page(c, &t, page, "page.update", NULL);
	json_decref(page);
	if (rc)
		return rc;
	return admin_redirect(c, page_url(c, &t, "?notice=saved"));
}

static int publish(ctx_t *c, bool on)
{
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_PUBLISH);
	if (rc)
		return rc;
	if (!t.has_page)
		return ERR_NOT_FOUND;
	const char *p[] = {db_param_ll(c->arena, t.id), on ? "true" : "false"};
	PGresult *r;
	if ((rc = db_begin(c->db)) ||
	    (rc = db_exec(c->db, c->arena, &q_publish, p, &r)))
		goto out;
	if (db_rows(r) > 0) { /* it changed: the page's id, as page.update */
		json_t *before = json_pack("{s:b}", "published", !on);
		json_t *after = json_pack("{s:b}", "published", on);
		rc = audit_write(c->db, c->arena, t.id, c->session.user.id,
				 on ? "page.publish" : "page.unpublish", "page",
				 db_value(r, 0, 0), before, after);
		json_decref(before);
		json_decref(after);
		if (rc)
			goto out;
	}
	if ((rc = db_commit(c->db)))
		goto out;
	return admin_redirect(c, page_url(c, &t, on ? "?notice=published"
						     : "?notice=unpublished"));
out:
	db_rollback(c->db);
	return rc;
}

static int h_publish(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	return publish(app, true);
}

static int h_unpublish(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	return publish(app, false);
}

static int h_versions(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_READ);
	if (rc)
		return rc;
	const char *p[] = {db_param_ll(c->arena, t.id)};
	PGresult *r;
	if ((rc = db_exec(c->db, c->arena, &q_versions, p, &r)))
		return rc;
	json_t *list = json_array();
	for (int i = 0; i < db_rows(r); i++)
		json_array_append_new(
			list, json_pack("{s:s, s:s, s:s?, s:b}", "id",
					db_value(r, i, 0), "created",
					db_value(r, i, 1), "headline",
					db_value(r, i, 2), "latest", i == 0));
	return admin_render(c, 200, "admin/page_versions",
			    json_pack("{s:o, s:o, s:b}", "tenant",
				      tenant_view(c, &t, t.published),
				      "versions", list, "empty",
				      json_array_size(list) == 0));
}

/* Loads version {n} of the tenant; ERR_NOT_FOUND for another tenant's. */
static int load_version(ctx_t *c, const tenant_t *t, long long *id,
			json_t **json, const char **created)
{
	int rc = router_param_id(c->req, "n", id);
	if (rc)
		return rc;
	const char *p[] = {db_param_ll(c->arena, t->id),
			   db_param_ll(c->arena, *id)};
	PGresult *r;
	if ((rc = db_exec(c->db, c->arena, &q_version, p, &r)))
		return rc;
	if (db_rows(r) != 1)
		return ERR_NOT_FOUND;
	*json = parse(db_value(r, 0, 0));
	if (created)
		*created = db_value(r, 0, 1);
	return *json ? 0 : ERR_INTERNAL;
}

/* A JSON value as one line of text for the diff table. */
static const char *show(arena_t *a, const json_t *v)
{
	if (!v)
		return NULL;
	if (json_is_string(v))
		return arena_strdup(a, json_string_value(v));
	return dump(a, v);
}

static int h_version(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_READ);
	if (rc)
		return rc;
	long long id;
	json_t *old = NULL;
	const char *created = NULL;
	if ((rc = load_version(c, &t, &id, &old, &created)))
		return rc;
	const char *p[] = {db_param_ll(c->arena, t.id)};
	PGresult *r;
	if ((rc = db_exec(c->db, c->arena, &q_page, p, &r))) {
		json_decref(old);
		return rc;
	}
	json_t *cur = db_rows(r) == 1 ? parse(db_value(r, 0, 1)) : NULL;
	/* What restoring would change: from the current page to this one. */
	json_t *diff = audit_diff_new(cur, old);
	json_t *changes = json_array();
	const char *path;
	json_t *d;
	json_object_foreach(diff, path, d)
		json_array_append_new(
			changes,
			json_pack("{s:s, s:s?, s:s?}", "field",
				  *path == '/' ? path + 1 : path, "current",
				  show(c->arena, json_object_get(d, "old")),
				  "version",
				  show(c->arena, json_object_get(d, "new"))));
	json_decref(diff);
	json_decref(cur);
	json_decref(old);
	return admin_render(
		c, 200, "admin/page_version",
		json_pack("{s:o, s:I, s:s, s:o, s:b}", "tenant",
			  tenant_view(c, &t, t.published), "id", (json_int_t)id,
			  "created", created, "changes", changes, "same",
			  json_array_size(changes) == 0));
}

static int h_restore(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_EDIT);
	if (rc)
		return rc;
	long long id;
	json_t *old = NULL;
	if ((rc = load_version(c, &t, &id, &old, NULL)))
		return rc;
	json_t *problems = NULL;
	/* A version saved before today's rules may not pass them. */
	if (page_check(old, &problems) != 0) {
		json_decref(problems);
		json_decref(old);
		return admin_error_page(c, 422, "Cannot restore",
					"This version does not pass today's "
					"checks; copy what you need from it "
					"instead.");
	}
	json_decref(problems);
	rc = save_page(c, &t, old, "page.restore", NULL);
	json_decref(old);
	if (rc)
		return rc;
	return admin_redirect(c, page_url(c, &t, "?notice=restored"));
}

static int h_preview(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	ctx_t *c = app;
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_READ);
	if (rc)
		return rc;
	site_t *site = site_new(admin_config(c), admin_templates(c),
				admin_assets(c));
	site_page_t *pg = NULL;
	rc = site_render_preview(site, c->db, c->arena, str_c(t.slug), &pg);
	site_free(site);
	if (rc)
		return rc;
	/* The page, with a banner at the top of its body saying what it is. */
	buf_clear(&resp->body);
	const char *body = pg->body, *open = strstr(body, "<body");
	const char *gt = open ? strchr(open, '>') : NULL;
	size_t head = gt ? (size_t)(gt + 1 - body) : 0;
	const char *css = assets_url(admin_assets(c), "admin.css");
	if (buf_append(&resp->body, body, head) != 0 ||
	    buf_puts(&resp->body, "<link rel=\"stylesheet\" href=\"") != 0 ||
	    buf_puts(&resp->body, css ? css : "") != 0 ||
	    buf_puts(&resp->body,
		     "\"><p role=\"status\" class=\"preview-banner\"><strong>"
		     "Preview</strong> of the saved page") != 0 ||
	    buf_puts(&resp->body, t.published ? " (published)"
					       : " (not published: only you "
						 "see it)") != 0 ||
	    buf_puts(&resp->body, ". <a href=\"") != 0 ||
	    buf_puts(&resp->body, page_url(c, &t, "")) != 0 ||
	    buf_puts(&resp->body, "\">Back to the editor</a></p>") != 0 ||
	    buf_append(&resp->body, body + head, pg->body_len - head) != 0) {
		site_page_free(pg);
		return ERR_TOO_LARGE;
	}
	resp->status = pg->status; /* 404 for a tenant without a page */
	rc = http_set_header(resp, STR("Content-Type"),
			     str_c("text/html; charset=utf-8"));
	if (rc == 0)
		rc = http_set_header(resp, STR("Content-Security-Policy"),
				     str_c(pg->csp));
	site_page_free(pg);
	return rc;
}

/* ------------------------------------------------------------ theme */

static const struct {
	const char *key, *label, *hint;
} colors[] = {
	{"primary", "Primary", "Buttons, links and labels."},
	{"on_primary", "Text on primary", "Button text and the hero's text on the gradient."},
	{"background", "Background", "The page."},
	{"surface", "Surface", "Cards and bands."},
	{"text", "Text", "Body text and headings."},
	{"muted", "Muted text", "Secondary text."},
};
#define NCOLORS (sizeof colors / sizeof colors[0])

static const char *const roundings[] = {"none", "sm", "md", "lg", "xl",
					"full", NULL};

/* A posted value, trimmed, as a new JSON string (null if not UTF-8). */
static json_t *posted(str_t v)
{
	v = v.p ? str_trim(v) : STR("");
	json_t *s = str_is_valid_utf8(v) ? json_stringn(v.p, v.len) : NULL;
	return s ? s : json_null();
}

/* Whether the picker's value differs from what it showed for was (a
 * picker shows black for a value that is not a colour). */
static bool picker_moved(str_t pick, str_t was)
{
	uint32_t a, b = 0;
	if (theme_parse_color(pick.p, pick.len, &a) != 0)
		return false;
	if (theme_parse_color(was.p, was.len, &b) != 0)
		b = 0;
	return a != b;
}

json_t *admin_site_theme_from_form(const json_t *current,
				   admin_site_get_fn get, void *ctx)
{
	json_t *theme = json_is_object(current) ? json_deep_copy(current)
						: json_object();
	for (size_t i = 0; i < NCOLORS; i++) {
		char name[64], pick[64], was[64];
		snprintf(name, sizeof name, "colors.%s", colors[i].key);
		snprintf(pick, sizeof pick, "pick.colors.%s", colors[i].key);
		snprintf(was, sizeof was, "was.colors.%s", colors[i].key);
		str_t text = get(ctx, name), p = get(ctx, pick), w = get(ctx, was);
		/* Without script the two inputs cannot agree: the one the
		 * person changed wins, the text when both were. */
		str_t v = text;
		if (p.p && (!text.p || (w.p && str_eq(str_trim(text), str_trim(w)) &&
					 picker_moved(str_trim(p), str_trim(w)))))
			v = p;
		if (v.p)
			set_path(theme, name, posted(v));
	}
	static const char *const plain[] = {"gradients.primary", "font.family",
					    "font.heading", "rounded"};
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		str_t v = get(ctx, plain[i]);
		if (v.p)
			set_path(theme, plain[i], posted(v));
	}
	return theme;
}

static json_t *options(const char *const *names, const char *selected)
{
	json_t *list = json_array();
	for (const char *const *n = names; *n; n++)
		json_array_append_new(
			list, json_pack("{s:s, s:b}", "name", *n, "selected",
					selected && strcasecmp(selected, *n) == 0));
	return list;
}

static json_t *theme_view(arena_t *a, const json_t *theme,
			  const json_t *problems)
{
	json_t *errs = errors_by_field(a, problems, true);
	json_t *list = json_array();
	for (size_t k = 0; k < NCOLORS; k++) {
		const char *path = arena_printf(a, "colors.%s", colors[k].key);
		const json_t *v = get_path(theme, path);
		json_t *f = field_view(a, path, colors[k].label, 7, true, false,
				       colors[k].hint, v, errs);
		uint32_t rgb = 0;
		const char *s = json_string_value(v);
		if (s && theme_parse_color(s, strlen(s), &rgb) != 0)
			rgb = 0;
		json_object_set_new(f, "pick",
				    json_string(arena_printf(a, "#%06x",
							     (unsigned)rgb)));
		json_array_append_new(list, f);
	}
	/* A sample of the colours (SVG presentation attributes, which the
	 * CSP allows, unlike inline styles), when all of them parse. */
	json_t *swatch = json_object();
	for (size_t k = 0; k < NCOLORS && swatch; k++) {
		const char *path = arena_printf(a, "colors.%s", colors[k].key);
		const char *s = json_string_value(get_path(theme, path));
		uint32_t rgb;
		if (!s || theme_parse_color(s, strlen(s), &rgb) != 0) {
			json_decref(swatch);
			swatch = NULL;
			break;
		}
		json_object_set_new(swatch, colors[k].key,
				    json_string(arena_printf(a, "#%06x",
							     (unsigned)rgb)));
	}
	const char *rounded_s = json_string_value(json_object_get(theme, "rounded"));
	static const char *const radii[][2] = {{"none", "0"}, {"sm", "4"},
					       {"md", "8"},   {"lg", "12"},
					       {"xl", "16"},  {"full", "15"}};
	for (size_t k = 0; swatch && k < sizeof radii / sizeof radii[0]; k++)
		if (strcmp(rounded_s ? rounded_s : "lg", radii[k][0]) == 0)
			json_object_set_new(swatch, "radius",
					    json_string(radii[k][1]));
	const char *family = json_string_value(get_path(theme, "font.family"));
	const char *heading = json_string_value(get_path(theme, "font.heading"));
	const char *rounded = json_string_value(json_object_get(theme, "rounded"));
	json_t *view = json_pack(
		"{s:o, s:o, s:o, s:o, s:o}", "colors", list, "gradient",
		field_view(a, "gradients.primary", "Gradient", 200, true, false,
			   "linear-gradient(135deg, #4338ca 0%, #7c3aed 100%): "
			   "2 to 4 stops; the hero and call to action use it.",
			   get_path(theme, "gradients.primary"), errs),
		"family", options(theme_font_names, family ? family : "system-ui"),
		"heading", options(theme_font_names, heading ? heading : family),
		"rounded", options(roundings, rounded ? rounded : "lg"));
	static const char *const selects[] = {"font.family", "font.heading",
					      "rounded"};
	for (size_t k = 0; k < 3; k++) {
		json_t *e = take_error(errs, selects[k]);
		if (e)
			json_object_set_new(view,
					    k == 0 ? "family_error"
					    : k == 1 ? "heading_error"
						     : "rounded_error",
					    e);
	}
	if (swatch)
		json_object_set_new(view, "swatch", swatch);
	json_t *general = json_array();
	const char *field;
	json_t *msg;
	json_object_foreach(errs, field, msg)
		json_array_append_new(general,
				      json_pack("{s:s, s:O}", "field", field,
						"message", msg));
	json_decref(errs);
	json_object_set_new(view, "has_general",
			    json_boolean(json_array_size(general) > 0));
	json_object_set_new(view, "general", general);
	return view;
}

static const db_stmt_t q_theme = {
	"admin_site_theme",
	"SELECT t.theme_id, th.json::text,"
	"       (SELECT count(*) FROM tenants o WHERE o.theme_id = t.theme_id)"
	"  FROM tenants t LEFT JOIN themes th ON th.id = t.theme_id"
	" WHERE t.id = $1::bigint",
	1};

static const db_stmt_t q_theme_lock = {
	"admin_site_theme_lock",
	"SELECT t.theme_id, th.json::text,"
	"       (SELECT count(*) FROM tenants o WHERE o.theme_id = t.theme_id)"
	"  FROM tenants t LEFT JOIN themes th ON th.id = t.theme_id"
	" WHERE t.id = $1::bigint FOR UPDATE OF t",
	1};

static const db_stmt_t q_theme_update = {
	"admin_site_theme_update",
	"UPDATE themes SET json = $2::jsonb WHERE id = $1::bigint",
	2};

/* A theme of the tenant's own (its old one was shared, or it had none). */
static const db_stmt_t q_theme_own = {
	"admin_site_theme_own",
	"WITH th AS (INSERT INTO themes (json) VALUES ($2::jsonb) RETURNING id)"
	" UPDATE tenants SET theme_id = th.id FROM th"
	" WHERE tenants.id = $1::bigint RETURNING th.id",
	2};

static int render_theme(ctx_t *c, int status, const tenant_t *t,
			const json_t *theme, const json_t *problems,
			bool shared, const char *notice)
{
	json_t *view = theme_view(c->arena, theme, problems);
	json_object_set_new(view, "tenant", tenant_view(c, t, t->published));
	json_object_set_new(view, "invalid",
			    json_boolean(json_array_size(problems) > 0));
	json_object_set_new(view, "readonly",
			    json_boolean(!auth_can(t->role, AUTH_EDIT)));
	json_object_set_new(view, "shared", json_boolean(shared));
	const char *js = assets_url(admin_assets(c), "admin-theme.js");
	if (js)
		json_object_set_new(view, "script", json_string(js));
	if (notice)
		json_object_set_new(view, "notice", json_string(notice));
	return admin_render(c, status, "admin/theme", view);
}

/* The tenant's theme (the default when it has none) and whether other
 * tenants use it too. */
static int load_theme(ctx_t *c, const tenant_t *t, const db_stmt_t *q,
		      json_t **theme, const char **theme_id, bool *shared)
{
	const char *p[] = {db_param_ll(c->arena, t->id)};
	PGresult *r;
	int rc = db_exec(c->db, c->arena, q, p, &r);
	if (rc)
		return rc;
	if (db_rows(r) != 1)
		return ERR_NOT_FOUND;
	*theme_id = db_value(r, 0, 0);
	*theme = *theme_id ? parse(db_value(r, 0, 1)) : theme_default_new();
	*shared = *theme_id && db_value_ll(r, 0, 2) > 1;
	return *theme ? 0 : ERR_INTERNAL;
}

static int h_theme(http_request_t *req, http_response_t *resp, void *app)
{
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_READ);
	if (rc)
		return rc;
	json_t *theme;
	const char *id;
	bool shared;
	if ((rc = load_theme(c, &t, &q_theme, &theme, &id, &shared)))
		return rc;
	str_t n = http_query(req, "notice");
	rc = render_theme(c, 200, &t, theme, NULL, shared,
			  n.p && str_eq_c(n, "saved")
				  ? "Saved. The site uses the new theme now."
				  : NULL);
	json_decref(theme);
	return rc;
}

static int h_theme_save(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = tenant_for(c, &t, AUTH_EDIT);
	if (rc)
		return rc;
	json_t *before = NULL, *theme = NULL, *problems = NULL;
	const char *id;
	bool shared;
	if ((rc = db_begin(c->db)) ||
	    (rc = load_theme(c, &t, &q_theme_lock, &before, &id, &shared)))
		goto out;
	theme = admin_site_theme_from_form(before, form_get, c);
	if (theme_check(theme, &problems) != 0) {
		db_rollback(c->db);
		rc = render_theme(c, 422, &t, theme, problems, shared, NULL);
		goto done;
	}
	const char *text = dump(c->arena, theme);
	PGresult *r;
	if (!text) {
		rc = ERR_INTERNAL;
		goto out;
	}
	if (id && !shared) {
		const char *p[] = {id, text};
		rc = db_exec(c->db, c->arena, &q_theme_update, p, &r);
	} else {
		const char *p[] = {db_param_ll(c->arena, t.id), text};
		if ((rc = db_exec(c->db, c->arena, &q_theme_own, p, &r)) == 0)
			id = db_value(r, 0, 0);
	}
	if (rc || (rc = audit_write(c->db, c->arena, t.id, c->session.user.id,
				    "theme.update", "theme", id, before,
				    theme)) ||
	    (rc = db_commit(c->db)))
		goto out;
	rc = admin_redirect(c, arena_printf(c->arena,
					    "/admin/tenants/%s/theme?notice=saved",
					    t.slug));
	goto done;
out:
	db_rollback(c->db);
done:
	json_decref(problems);
	json_decref(theme);
	json_decref(before);
	return rc;
}

static const router_route_t routes[] = {
	{"GET", "/admin/tenants/{slug}/page", ROUTER_PLATFORM, h_page,
	 "admin.page"},
	{"POST", "/admin/tenants/{slug}/page", ROUTER_PLATFORM, h_page_save,
	 "admin.page_save"},
	{"POST", "/admin/tenants/{slug}/page/publish", ROUTER_PLATFORM,
	 h_publish, "admin.page_publish"},
	{"POST", "/admin/tenants/{slug}/page/unpublish", ROUTER_PLATFORM,
	 h_unpublish, "admin.page_unpublish"},
	{"GET", "/admin/tenants/{slug}/page/preview", ROUTER_PLATFORM,
	 h_preview, "admin.page_preview"},
	{"GET", "/admin/tenants/{slug}/page/versions", ROUTER_PLATFORM,
	 h_versions, "admin.page_versions"},
	{"GET", "/admin/tenants/{slug}/page/versions/{n}", ROUTER_PLATFORM,
	 h_version, "admin.page_version"},
	{"POST", "/admin/tenants/{slug}/page/versions/{n}/restore",
	 ROUTER_PLATFORM, h_restore, "admin.page_restore"},
	{"GET", "/admin/tenants/{slug}/theme", ROUTER_PLATFORM, h_theme,
	 "admin.theme"},
	{"POST", "/admin/tenants/{slug}/theme", ROUTER_PLATFORM, h_theme_save,
	 "admin.theme_save"},
};

const router_route_t *admin_site_routes(size_t *n)
{
	*n = sizeof routes / sizeof routes[0];
	return routes;
}
