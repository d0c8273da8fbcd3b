#include "admin_team.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "admin_screen.h"
#include "apikey.h"
#include "audit.h"
#include "auth.h"
#include "credential.h"
#include "crypto.h"
#include "log.h"

typedef admin_ctx_t ctx_t;
typedef admin_tenant_t tenant_t;

/* ------------------------------------------------------------ pure */

static const char *const kinds[] = {"slackApi",       "gmailOAuth2",
				    "smtp",           "httpBearerAuth",
				    "httpBasicAuth",  "httpHeaderAuth",
				    NULL};

bool admin_team_kind_ok(const char *kind)
{
	if (!kind)
		return false;
	for (const char *const *k = kinds; *k; k++)
		if (strcmp(*k, kind) == 0)
			return true;
	return false;
}

static void put_dump(json_t *row, const char *key, const json_t *v)
{
	if (!v)
		return;
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_object_set_new(row, key, json_string(s ? s : ""));
	free(s);
}

json_t *admin_team_diff_rows_new(const json_t *diff)
{
	json_t *rows = json_array();
	if (!diff)
		return rows;
	if (!json_is_object(diff)) {
		json_t *row = json_pack("{s:s}", "path", "");
		put_dump(row, "new", diff);
		json_array_append_new(rows, row);
		return rows;
	}
	const char *path;
	json_t *v;
	json_object_foreach((json_t *)diff, path, v) {
		json_t *row = json_pack("{s:s}", "path", path);
		if (json_is_object(v)) {
			put_dump(row, "old", json_object_get(v, "old"));
			put_dump(row, "new", json_object_get(v, "new"));
		} else {
			put_dump(row, "new", v);
		}
		json_array_append_new(rows, row);
	}
	return rows;
}

/* ------------------------------------------------------------ shared */

/* The tenant, if the person may do action there; 404 otherwise. */
static int load(ctx_t *c, tenant_t *t, auth_action_t action)
{
	int rc = admin_load_tenant(c, t);
	if (rc)
		return rc;
	return auth_can(t->role, action) ? 0 : ERR_NOT_FOUND;
}

static json_t *tenant_json(const tenant_t *t)
{
	return json_pack("{s:s, s:s, s:s}", "slug", t->slug, "name", t->name,
			 "role", auth_role_name(t->role));
}

static const char *tenant_path(ctx_t *c, const tenant_t *t, const char *tail)
{
	return arena_printf(c->arena, "/admin/tenants/%s/%s", t->slug, tail);
}

/* Writes an audit entry of the signed-in person. */
static int audit(ctx_t *c, long long tenant_id, const char *action,
		 const char *type, const char *id, json_t *before,
		 json_t *after)
{
	int rc = audit_write(c->db, c->arena, tenant_id, c->session.user.id,
			     action, type, id, before, after);
	json_decref(before);
	json_decref(after);
	return rc;
}

/* A path parameter as a positive id; 0 when it is not one. */
static long long param_id(ctx_t *c, const char *name)
{
	long v = 0;
	if (str_to_long(router_param(c->req, name), 1, LONG_MAX,
			&v) != 0)
		return 0;
	return v;
}

static int fail(ctx_t *c, int rc)
{
	db_rollback(c->db);
	return rc;
}

/* ------------------------------------------------------------ members */

static const db_stmt_t q_members = {
	"team_members",
	"SELECT u.id, u.name, u.email, m.role"
	"  FROM memberships m JOIN users u ON u.id = m.user_id"
	" WHERE m.tenant_id = $1::bigint"
	" ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'editor' THEN 1"
	"          ELSE 2 END, u.email LIMIT 500",
	1};

static const db_stmt_t q_invites_pending = {
	"team_invites_pending",
	"SELECT email, role,"
	"       to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), id"
	"  FROM invitations WHERE tenant_id = $1::bigint"
	"   AND accepted_at IS NULL AND revoked_at IS NULL"
	"   AND expires_at > now() ORDER BY id DESC LIMIT 100",
	1};

/* The members page; form errors and the invitation link shown once. */
static int members_page(ctx_t *c, const tenant_t *t, int status,
			const char *message, str_t email, const char *email_err,
			const char *role, const char *link)
{
	const char *p[] = {db_param_ll(c->arena, t->id)};
	PGresult *mr, *ir;
	int rc;
	if ((rc = db_exec(c->db, c->arena, &q_members, p, &mr)) ||
	    (rc = db_exec(c->db, c->arena, &q_invites_pending, p, &ir)))
		return rc;
	bool manage = auth_can(t->role, AUTH_MANAGE_MEMBERS);
	json_t *members = json_array(), *invites = json_array();
	for (int i = 0; i < db_rows(mr); i++) {
		const char *r = db_value(mr, i, 3);
		json_array_append_new(
			members,
			json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b}",
				  "id", db_value(mr, i, 0), "name",
				  db_value(mr, i, 1), "email", db_value(mr, i, 2),
				  "role", r, "is_owner", strcmp(r, "owner") == 0,
				  "is_editor", strcmp(r, "editor") == 0,
				  "is_viewer", strcmp(r, "viewer") == 0,
				  "manage", manage));
	}
	for (int i = 0; i < db_rows(ir); i++)
		json_array_append_new(
			invites, json_pack("{s:s, s:s, s:s, s:s}", "email",
					   db_value(ir, i, 0), "role",
					   db_value(ir, i, 1), "expires",
					   db_value(ir, i, 2), "id",
					   db_value(ir, i, 3)));
	if (!role)
		role = "editor";
	return admin_render(
		c, status, "admin/team_members",
		json_pack("{s:o, s:o, s:o, s:b, s:b, s:s?, s:s?, s:o,"
			  " s:{s:b, s:b, s:b}}",
			  "tenant", tenant_json(t), "members", members,
			  "invites", invites, "has_invites",
			  json_array_size(invites) > 0, "manage", manage,
			  "message", message, "link", link, "email",
			  admin_field(email, email_err), "invite_role", "owner",
			  strcmp(role, "owner") == 0, "editor",
			  strcmp(role, "editor") == 0, "viewer",
			  strcmp(role, "viewer") == 0));
}

static int h_members(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = load(c, &t, AUTH_READ);
	if (rc)
		return rc;
	return members_page(c, &t, 200, NULL, STR(""), NULL, NULL, NULL);
}

static const db_stmt_t q_invite_insert = {
	"team_invite_insert",
	"INSERT INTO invitations (tenant_id, email, role, token_hash,"
	"                         invited_by, expires_at)"
	" VALUES ($1::bigint, $2, $3, $4, $5::bigint,"
	"         now() + make_interval(days => $6::int)) RETURNING id",
	6};

static int h_invite_create(http_request_t *req, http_response_t *resp,
			   void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = load(c, &t, AUTH_MANAGE_MEMBERS);
	if (rc)
		return rc;
	str_t email_in = str_trim(admin_form(c, "email"));
	str_t role_in = admin_form(c, "role");
	auth_role_t role;
	const char *email = NULL, *why = NULL;
	if (auth_role_parse(role_in, &role) != 0 || role == AUTH_ROLE_ADMIN ||
	    role == AUTH_ROLE_NONE)
		role = AUTH_ROLE_NONE;
	if (auth_email_normalize(c->arena, email_in, &email, &why) != 0)
		return members_page(c, &t, 422, NULL, email_in,
				    why ? why : "Enter an e-mail address.",
				    role ? auth_role_name(role) : NULL, NULL);
	if (role == AUTH_ROLE_NONE)
		return members_page(c, &t, 422,
				    "Choose a role: owner, editor or viewer.",
				    email_in, NULL, NULL, NULL);
	char token[CRYPTO_TOKEN_SIZE(AUTH_TOKEN_BYTES)];
	char hash[CRYPTO_SHA256_HEX_SIZE];
	if (crypto_random_token(token, sizeof token, AUTH_TOKEN_BYTES) != 0)
		return ERR_INTERNAL;
	crypto_sha256_hex(token, strlen(token), hash);
	const char *p[] = {db_param_ll(c->arena, t.id), email,
			   auth_role_name(role), hash,
			   db_param_ll(c->arena, c->session.user.id),
			   db_param_ll(c->arena, ADMIN_TEAM_INVITE_DAYS)};
	PGresult *r;
	if ((rc = db_begin(c->db)) ||
	    (rc = db_exec(c->db, c->arena, &q_invite_insert, p, &r)) ||
	    (rc = audit(c, t.id, "member.invite", "invitation",
			db_value(r, 0, 0), NULL,
			json_pack("{s:s, s:s}", "email", email, "role",
				  auth_role_name(role)))) ||
	    (rc = db_commit(c->db)))
		return fail(c, rc);
	char origin[400];
	const char *link = arena_printf(
		c->arena, "%s/admin/invite/%s",
		config_origin(admin_config(c), admin_config(c)->domain, origin,
			      sizeof origin),
		token);
	crypto_wipe(token, sizeof token);
	return members_page(
		c, &t, 200,
		arena_printf(c->arena,
			     "%s is invited as %s. Copy the link below and "
			     "send it to them: it is shown only now and works "
			     "once, for %d days.",
			     email, auth_role_name(role), ADMIN_TEAM_INVITE_DAYS),
		STR(""), NULL, NULL, link);
}

static const db_stmt_t q_member_of = {
	"team_member_of",
	"SELECT role FROM memberships"
	" WHERE tenant_id = $1::bigint AND user_id = $2::bigint",
	2};

/* Locks the tenant's owner rows so two changes cannot each remove
 * "another" owner and leave none. */
static const db_stmt_t q_owners_lock = {
	"team_owners_lock",
	"SELECT user_id FROM memberships"
	" WHERE tenant_id = $1::bigint AND role = 'owner' FOR UPDATE",
	1};

/* Changes (to, or removes when to is NONE) the membership of the path's
 * {user} in the tenant, never leaving it without an owner. */
static int member_change(ctx_t *c, auth_role_t to)
{
	tenant_t t;
	int rc = load(c, &t, AUTH_MANAGE_MEMBERS);
	if (rc)
		return rc;
	long long uid = param_id(c, "user");
	if (!uid)
		return ERR_NOT_FOUND;
	const char *p[] = {db_param_ll(c->arena, t.id),
			   db_param_ll(c->arena, uid)};
	PGresult *r, *owners;
	if ((rc = db_begin(c->db)) ||
	    (rc = db_exec(c->db, c->arena, &q_owners_lock, p, &owners)) ||
	    (rc = db_exec(c->db, c->arena, &q_member_of, p, &r)))
		return fail(c, rc);
	if (db_rows(r) != 1)
		return fail(c, ERR_NOT_FOUND);
	bool is_owner = strcmp(db_value(r, 0, 0), "owner") == 0;
	if (is_owner && to != AUTH_ROLE_OWNER && db_rows(owners) <= 1) {
		db_rollback(c->db);
		return members_page(
			c, &t, 422,
			to == AUTH_ROLE_NONE
				? "The last owner cannot be removed: make "
				  "someone else an owner first."
				: "The last owner cannot be given another "
				  "role: make someone else an owner first.",
			STR(""), NULL, NULL, NULL);
	}
	auth_role_t before = AUTH_ROLE_NONE;
	const char *uid_s = db_param_ll(c->arena, uid);
	if (to == AUTH_ROLE_NONE)
		rc = auth_member_remove(c->db, c->arena, uid, t.id, &before);
	else
		rc = auth_member_set(c->db, c->arena, uid, t.id, to, &before);
	if (rc)
		return fail(c, rc);
	if (before != to &&
	    (rc = audit(c, t.id,
			to == AUTH_ROLE_NONE ? "member.remove" : "member.role",
			"user", uid_s,
			json_pack("{s:s}", "role", auth_role_name(before)),
			to == AUTH_ROLE_NONE
				? NULL
				: json_pack("{s:s}", "role", auth_role_name(to)))))
		return fail(c, rc);
	if ((rc = db_commit(c->db)))
		return fail(c, rc);
	/* Who left, or gave up owning, may no longer see the page. */
	if (uid == c->session.user.id && to != AUTH_ROLE_OWNER &&
	    t.role != AUTH_ROLE_ADMIN)
		return admin_redirect(c, to == AUTH_ROLE_NONE
						 ? "/admin/"
						 : arena_printf(c->arena,
								"/admin/tenants/%s",
								t.slug));
	return admin_redirect(c, tenant_path(c, &t, "members"));
}

static int h_member_role(http_request_t *req, http_response_t *resp,
			 void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	auth_role_t to;
	if (auth_role_parse(admin_form(c, "role"), &to) != 0 ||
	    to == AUTH_ROLE_NONE || to == AUTH_ROLE_ADMIN) {
		tenant_t t;
		int rc = load(c, &t, AUTH_MANAGE_MEMBERS);
		if (rc)
			return rc;
		return members_page(c, &t, 422,
				    "Choose a role: owner, editor or viewer.",
				    STR(""), NULL, NULL, NULL);
	}
	return member_change(c, to);
}

static int h_member_remove(http_request_t *req, http_response_t *resp,
			   void *app)
{
	(void)req;
	(void)resp;
	return member_change(app, AUTH_ROLE_NONE);
}

/* ------------------------------------------------------------ invitations */

/* Withdraws an open invitation of this tenant: its link stops working
 * (invite_load then says so).  One already used or withdrawn, or another
 * tenant's, is not found. */
static const db_stmt_t q_invite_withdraw = {
	"team_invite_withdraw",
	"UPDATE invitations SET revoked_at = now()"
	" WHERE id = $1::bigint AND tenant_id = $2::bigint"
	"   AND accepted_at IS NULL AND revoked_at IS NULL"
	" RETURNING email, role",
	2};

static int h_invite_withdraw(http_request_t *req, http_response_t *resp,
			     void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = load(c, &t, AUTH_MANAGE_MEMBERS);
	if (rc)
		return rc;
	long long id = param_id(c, "id");
	if (!id)
		return ERR_NOT_FOUND;
	const char *id_s = db_param_ll(c->arena, id);
	const char *p[] = {id_s, db_param_ll(c->arena, t.id)};
	PGresult *r;
	if ((rc = db_begin(c->db)) ||
	    (rc = db_exec(c->db, c->arena, &q_invite_withdraw, p, &r)))
		return fail(c, rc);
	if (db_rows(r) != 1)
		return fail(c, ERR_NOT_FOUND);
	if ((rc = audit(c, t.id, "member.invite_withdraw", "invitation", id_s,
			json_pack("{s:s, s:s, s:b}", "email", db_value(r, 0, 0),
				  "role", db_value(r, 0, 1), "withdrawn", 0),
			json_pack("{s:s, s:s, s:b}", "email", db_value(r, 0, 0),
				  "role", db_value(r, 0, 1), "withdrawn", 1))) ||
	    (rc = db_commit(c->db)))
		return fail(c, rc);
	return admin_redirect(c, tenant_path(c, &t, "members"));
}

static const db_stmt_t q_invite_by_hash = {
	"team_invite_by_hash",
	"SELECT i.id, i.tenant_id, i.email, i.role, t.name, t.slug,"
	"       i.accepted_at IS NOT NULL, i.revoked_at IS NOT NULL,"
	"       i.expires_at <= now(),"
	"       EXISTS (SELECT 1 FROM users u WHERE u.email = i.email)"
	"  FROM invitations i JOIN tenants t ON t.id = i.tenant_id"
	" WHERE i.token_hash = $1 FOR UPDATE OF i",
	1};

static const db_stmt_t q_invite_accept = {
	"team_invite_accept",
	"UPDATE invitations SET accepted_at = now(), accepted_by = $2::bigint"
	" WHERE id = $1::bigint",
	2};

typedef struct {
	long long id;
	long long tenant_id;
	const char *email;
	const char *role;
	const char *tenant_name;
	const char *tenant_slug;
	bool has_account;
} invite_t;

/* The invitation of the path's token, locked when in a transaction; a
 * page with the reason when it cannot be used (*shown set). */
static int invite_load(ctx_t *c, invite_t *iv, bool *shown)
{
	*shown = false;
	str_t tok = router_param(c->req, "token");
	PGresult *r = NULL;
	int rc = 0;
	if (tok.len == AUTH_TOKEN_LEN && str_is_ascii_printable(tok)) {
		char hash[CRYPTO_SHA256_HEX_SIZE];
		crypto_sha256_hex(tok.p, tok.len, hash);
		const char *p[] = {hash};
		if ((rc = db_exec(c->db, c->arena, &q_invite_by_hash, p, &r)))
			return rc;
	}
	const char *why = NULL;
	int status = 404;
	if (!r || db_rows(r) != 1) {
		why = "This invitation link is not valid. Check that it was "
		      "copied whole, or ask for a new invitation.";
	} else if (strcmp(db_value(r, 0, 6), "t") == 0) {
		why = "This invitation was used already. If it was yours, "
		      "sign in.";
		status = 410;
	} else if (strcmp(db_value(r, 0, 7), "t") == 0) {
		why = "This invitation was withdrawn. Ask for a new one.";
		status = 410;
	} else if (strcmp(db_value(r, 0, 8), "t") == 0) {
		why = "This invitation has expired. Ask the person who "
		      "invited you for a new one.";
		status = 410;
	}
	if (why) {
		*shown = true;
		db_rollback(c->db);
		return admin_error_page(c, status, "Invitation not usable", why);
	}
	*iv = (invite_t){
		.id = db_value_ll(r, 0, 0),
		.tenant_id = db_value_ll(r, 0, 1),
		.email = db_value(r, 0, 2),
		.role = db_value(r, 0, 3),
		.tenant_name = db_value(r, 0, 4),
		.tenant_slug = db_value(r, 0, 5),
		.has_account = strcmp(db_value(r, 0, 9), "t") == 0,
	};
	return 0;
}

static int invite_page(ctx_t *c, int status, const invite_t *iv,
		       str_t name, const char *name_err, const char *pw_err,
		       const char *confirm_err)
{
	bool mine = c->signed_in &&
		    strcmp(c->session.user.email, iv->email) == 0;
	return admin_render(
		c, status, "admin/team_invite",
		json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:o, s:o,"
			  " s:o, s:b}",
			  "token", str_dup(c->arena, router_param(c->req, "token")),
			  "email", iv->email, "role", iv->role, "tenant",
			  iv->tenant_name, "signed_in", c->signed_in, "mine",
			  mine, "other", c->signed_in && !mine, "sign_in_first",
			  !c->signed_in && iv->has_account, "name",
			  admin_field(name, name_err), "password",
			  admin_field(STR(""), pw_err), "confirm",
			  admin_field(STR(""), confirm_err), "invalid",
			  name_err || pw_err || confirm_err));
}

static int h_invite_form(http_request_t *req, http_response_t *resp,
			 void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	invite_t iv;
	bool shown;
	int rc = invite_load(c, &iv, &shown);
	if (rc || shown)
		return rc;
	return invite_page(c, 200, &iv, STR(""), NULL, NULL, NULL);
}

/* Sets the session cookie exactly as admin.c's sign-in does. */
static int session_cookie(ctx_t *c, const char *token)
{
	http_cookie_opts_t o = {.path = "/admin",
				.http_only = true,
				.secure = true,
				.same_site = HTTP_SAMESITE_LAX};
	return http_set_cookie(c->resp, ADMIN_COOKIE, token, &o);
}

/* The person accepts: a membership with the invited role (never lowering
 * one they have), the invitation used, an audit entry, one transaction. */
static int invite_join(ctx_t *c, const invite_t *iv, long long user_id)
{
	auth_role_t role, before = AUTH_ROLE_NONE;
	int rc;
	if ((rc = auth_role_parse(str_c(iv->role), &role)))
		return rc;
	const char *p[] = {db_param_ll(c->arena, iv->tenant_id),
			   db_param_ll(c->arena, user_id)};
	PGresult *r;
	if ((rc = db_exec(c->db, c->arena, &q_member_of, p, &r)))
		return rc;
	if (db_rows(r) == 1 &&
	    (rc = auth_role_parse(str_c(db_value(r, 0, 0)), &before)))
		return rc;
	if (before < role &&
	    (rc = auth_member_set(c->db, c->arena, user_id, iv->tenant_id,
				  role, NULL)))
		return rc;
	const char *ap[] = {db_param_ll(c->arena, iv->id),
			    db_param_ll(c->arena, user_id)};
	if ((rc = db_exec(c->db, c->arena, &q_invite_accept, ap, &r)))
		return rc;
	audit_entry_t e = {.tenant_id = iv->tenant_id,
			   .user_id = user_id,
			   .action = "member.join",
			   .object_type = "user",
			   .object_id = db_param_ll(c->arena, user_id)};
	json_t *b = json_pack("{s:s}", "role", auth_role_name(before));
	json_t *a = json_pack("{s:s, s:s}", "role",
			      auth_role_name(before < role ? role : before),
			      "invitation", db_param_ll(c->arena, iv->id));
	rc = audit_write_entry(c->db, c->arena, &e, b, a);
	json_decref(b);
	json_decref(a);
	return rc;
}

static int h_invite(http_request_t *req, http_response_t *resp, void *app)
{
	(void)resp;
	ctx_t *c = app;
	invite_t iv;
	bool shown;
	int rc;
	if ((rc = db_begin(c->db)))
		return rc;
	if ((rc = invite_load(c, &iv, &shown)) || shown)
		return rc ? fail(c, rc) : 0;
	const char *where = arena_printf(c->arena, "/admin/tenants/%s",
					 iv.tenant_slug);
	if (c->signed_in) {
		if (strcmp(c->session.user.email, iv.email) != 0) {
			db_rollback(c->db);
			return invite_page(c, 403, &iv, STR(""), NULL, NULL,
					   NULL);
		}
		if ((rc = invite_join(c, &iv, c->session.user.id)) ||
		    (rc = db_commit(c->db)))
			return fail(c, rc);
		return admin_redirect(c, where);
	}
	if (iv.has_account) {
		db_rollback(c->db);
		return invite_page(c, 409, &iv, STR(""), NULL, NULL, NULL);
	}
	str_t name_in = admin_form(c, "name"), pw = admin_form(c, "password"),
	      confirm = admin_form(c, "confirm");
	const char *name = NULL, *name_err = NULL, *pw_err = NULL,
		   *confirm_err = NULL;
	if (auth_name_check(c->arena, name_in, &name, &name_err) != 0 &&
	    !name_err)
		name_err = "Enter your name.";
	if (auth_password_check(pw, &pw_err) != 0 && !pw_err)
		pw_err = "Choose another password.";
	if (!pw_err && !str_eq(pw, confirm))
		confirm_err = "The two passwords differ.";
	if (name_err || pw_err || confirm_err) {
		db_rollback(c->db);
		return invite_page(c, 422, &iv, name_in, name_err, pw_err,
				   confirm_err);
	}
	auth_user_t u;
	if ((rc = auth_user_create(c->db, c->arena, str_c(iv.email),
				   str_c(name), pw, false, &u)) ||
	    (rc = invite_join(c, &iv, u.id)) || (rc = db_commit(c->db))) {
		db_rollback(c->db);
		if (rc == ERR_CONFLICT)
			return admin_error_page(
				c, 409, "Account exists",
				"An account with this address exists now; "
				"sign in and open the link again.");
		return rc;
	}
	auth_login_t in = {.email = str_c(iv.email),
			   .password = pw,
			   .client_key = req->remote_addr,
			   .old_token = http_cookie(req, ADMIN_COOKIE),
			   .user_agent = http_header(req, STR("User-Agent"))};
	auth_session_t s;
	int wait = 0;
	if (auth_login(c->db, c->arena, &in, &s, &wait) != 0)
		return admin_redirect(c, "/admin/login");
	if ((rc = session_cookie(c, s.token)))
		return rc;
	return admin_redirect(c, where);
}

/* ------------------------------------------------------------ API keys */

/* The keys page: the list, the create form (name and scopes as sent,
 * errors next to them), and a new key shown once. */
static int keys_page(ctx_t *c, const tenant_t *t, int status,
		     str_t name, const char *name_err, unsigned scopes,
		     const char *scope_err, const char *created,
		     const char *created_name)
{
	apikey_t *rows;
	int n, rc;
	if ((rc = apikey_list(c->db, c->arena, t->id, 200, &rows, &n)))
		return rc;
	json_t *keys = json_array();
	for (int i = 0; i < n; i++) {
		const char *sc = apikey_scopes_text(c->arena, rows[i].scopes, ", ");
		json_array_append_new(
			keys,
			json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s?, s:s}", "id",
				  (json_int_t)rows[i].id, "name", rows[i].name,
				  "prefix", rows[i].prefix, "created",
				  admin_time(c, rows[i].created_at), "last_used",
				  admin_time(c, rows[i].last_used_at), "revoked",
				  admin_time(c, rows[i].revoked_at), "scopes",
				  *sc ? sc : "none"));
	}
	size_t ns;
	const apikey_scope_t *all = apikey_scopes(&ns);
	json_t *choices = json_array();
	for (size_t i = 0; i < ns; i++)
		json_array_append_new(
			choices,
			json_pack("{s:s, s:s, s:s, s:b}", "name", all[i].name,
				  "what", all[i].what, "id",
				  arena_printf(c->arena, "scope-%zu", i),
				  "checked", (scopes & all[i].bit) != 0));
	return admin_render(
		c, status, "admin/team_keys",
		json_pack("{s:o, s:o, s:b, s:o, s:o, s:s?, s:b, s:s?, s:s?}",
			  "tenant", tenant_json(t), "keys", keys, "no_keys",
			  n == 0, "name", admin_field(name, name_err), "scopes",
			  choices, "scope_error", scope_err, "invalid",
			  name_err || scope_err, "created", created,
			  "created_name", created_name));
}

/* The scopes ticked in the form ("scope", once per box).  *bad gets
 * whether a value named no scope. */
static unsigned form_scopes(ctx_t *c, bool *bad)
{
	const http_pair_t *items;
	size_t n;
	unsigned mask = 0;
	*bad = false;
	if (http_form_parse(c->req, &items, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!str_eq_c(items[i].name, "scope"))
			continue;
		unsigned bit = apikey_scope_parse(items[i].value);
		*bad |= bit == 0;
		mask |= bit;
	}
	return mask;
}

static int h_keys(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = load(c, &t, AUTH_MANAGE_KEYS);
	if (rc)
		return rc;
	return keys_page(c, &t, 200, STR(""), NULL, APIKEY_SCOPES_ALL, NULL,
			 NULL, NULL);
}

static int h_key_create(http_request_t *req, http_response_t *resp,
			void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = load(c, &t, AUTH_MANAGE_KEYS);
	if (rc)
		return rc;
	str_t name = str_trim(admin_form(c, "name"));
	const char *name_err = NULL, *scope_err = NULL;
	bool bad_scope;
	unsigned scopes = form_scopes(c, &bad_scope);
	if (name.len == 0 || name.len > APIKEY_NAME_MAX ||
	    !str_is_valid_utf8(name))
		name_err = "Name the key (1 to 100 characters), e.g. after "
			   "what uses it.";
	if (bad_scope)
		scope_err = "Choose among the scopes listed.";
	else if (!scopes)
		scope_err = "Choose at least one scope: what the key may do.";
	if (name_err || scope_err)
		return keys_page(c, &t, 422, name, name_err, scopes, scope_err,
				 NULL, NULL);
	const char *name_c = str_dup(c->arena, name), *key = NULL;
	long long id = 0;
	if ((rc = db_begin(c->db)) ||
	    (rc = apikey_create(c->db, c->arena, t.id, name_c, scopes, &id,
				&key)))
		return fail(c, rc);
	json_t *scope_list = json_array();
	size_t ns;
	const apikey_scope_t *all = apikey_scopes(&ns);
	for (size_t i = 0; i < ns; i++)
		if (scopes & all[i].bit)
			json_array_append_new(scope_list, json_string(all[i].name));
	if ((rc = audit(c, t.id, "apikey.create", "api_key",
			db_param_ll(c->arena, id), NULL,
			json_pack("{s:s, s:s%, s:o}", "name", name_c, "prefix",
				  key + 4, (size_t)APIKEY_PREFIX_LEN, "scopes",
				  scope_list))) ||
	    (rc = db_commit(c->db)))
		return fail(c, rc);
	return keys_page(c, &t, 200, STR(""), NULL, APIKEY_SCOPES_ALL, NULL,
			 key, name_c);
}

static int h_key_revoke(http_request_t *req, http_response_t *resp,
			void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = load(c, &t, AUTH_MANAGE_KEYS);
	if (rc)
		return rc;
	long long id = param_id(c, "id");
	if (!id)
		return ERR_NOT_FOUND;
	apikey_t k;
	if ((rc = db_begin(c->db)) ||
	    (rc = apikey_revoke(c->db, c->arena, t.id, id, &k)) ||
	    (rc = audit(c, t.id, "apikey.revoke", "api_key",
			db_param_ll(c->arena, id), json_pack("{s:b}", "revoked", 0),
			json_pack("{s:b, s:s}", "revoked", 1, "prefix",
				  k.prefix))) ||
	    (rc = db_commit(c->db)))
		return fail(c, rc);
	return admin_redirect(c, tenant_path(c, &t, "keys"));
}

/* ------------------------------------------------------------ credentials */

static int creds_page(ctx_t *c, const tenant_t *t, int status,
		      const char *message, str_t name, const char *name_err,
		      const char *kind, const char *kind_err,
		      const char *secret_err)
{
	credential_row_t *rows;
	int n, rc;
	if ((rc = credential_list(c->db, c->arena, t->id, 500, &rows, &n)))
		return rc;
	json_t *list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(
			list, json_pack("{s:s, s:s, s:s}", "name", rows[i].name,
					"kind", rows[i].kind, "updated",
					admin_time(c, rows[i].updated_at)));
	json_t *kl = json_array();
	for (const char *const *k = kinds; *k; k++)
		json_array_append_new(
			kl, json_pack("{s:s, s:b}", "kind", *k, "selected",
				      kind && strcmp(kind, *k) == 0));
	return admin_render(
		c, status, "admin/team_credentials",
		json_pack("{s:o, s:o, s:b, s:s?, s:o, s:o, s:s?, s:o, s:b}",
			  "tenant", tenant_json(t), "credentials", list,
			  "none", n == 0, "message", message, "name",
			  admin_field(name, name_err), "kinds", kl,
			  "kind_error", kind_err, "secret",
			  admin_field(STR(""), secret_err), "invalid",
			  name_err || kind_err || secret_err));
}

static int h_creds(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = load(c, &t, AUTH_MANAGE_CREDENTIALS);
	if (rc)
		return rc;
	return creds_page(c, &t, 200, NULL, STR(""), NULL, NULL, NULL, NULL);
}

static int h_cred_add(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = load(c, &t, AUTH_MANAGE_CREDENTIALS);
	if (rc)
		return rc;
	str_t name_in = str_trim(admin_form(c, "name"));
	str_t secret_in = admin_form(c, "secret");
	const char *name = str_dup(c->arena, name_in);
	const char *kind = str_dup(c->arena, admin_form(c, "kind"));
	const char *name_err = NULL, *kind_err = NULL, *secret_err = NULL;
	if (!credential_name_ok(name))
		name_err = "Use a letter first, then letters, digits, _ . or - "
			   "(at most 64): the name a workflow's authRef uses.";
	if (!admin_team_kind_ok(kind)) {
		kind_err = "Choose the kind of service.";
		kind = NULL;
	}
	json_t *secret = NULL;
	if (secret_in.len == 0)
		secret_err = "Enter the secret's fields as a JSON object.";
	else if (secret_in.len > CREDENTIAL_SECRET_MAX)
		secret_err = "The secret is too long (8 KiB at most).";
	else {
		json_error_t je;
		secret = json_loadb(secret_in.p, secret_in.len, 0, &je);
		if (!json_is_object(secret) || json_object_size(secret) == 0)
			secret_err = "Enter a JSON object of the secret's fields, "
				     "e.g. {\"accessToken\": \"...\"}.";
	}
	crypto_key_t key;
	if (!secret_err && (!admin_config(c)->secret_key ||
			    crypto_key_parse(admin_config(c)->secret_key,
					     &key) != 0)) {
		log_error("admin: CANOPY_SECRET_KEY is missing or invalid");
		json_decref(secret);
		return ERR_INTERNAL;
	}
	if (name_err || kind_err || secret_err) {
		json_decref(secret);
		return creds_page(c, &t, 422, NULL, name_in, name_err, kind,
				  kind_err, secret_err);
	}
	credential_row_t old;
	int had = 0;
	if ((rc = db_begin(c->db)))
		goto out;
	had = credential_get(c->db, c->arena, t.id, name, &old);
	if (had != 0 && had != ERR_NOT_FOUND) {
		rc = had;
		goto out;
	}
	rc = credential_put(c->db, c->arena, &key, t.id, name, kind, secret);
	if (rc == ERR_INVALID || rc == ERR_TOO_LARGE) {
		db_rollback(c->db);
		json_decref(secret);
		crypto_wipe(&key, sizeof key);
		return creds_page(c, &t, 422, NULL, name_in, NULL, kind, NULL,
				  "These fields cannot be stored; check the "
				  "JSON.");
	}
	if (rc ||
	    (rc = audit(c, t.id, "credential.put", "credential", name,
			had == 0 ? json_pack("{s:s, s:s}", "name", name, "kind",
					     old.kind)
				 : NULL,
			json_pack("{s:s, s:s, s:s}", "name", name, "kind", kind,
				  "secret", "(replaced)"))) ||
	    (rc = db_commit(c->db)))
		goto out;
	json_decref(secret);
	crypto_wipe(&key, sizeof key);
	return creds_page(c, &t, 200,
			  arena_printf(c->arena,
				       "Credential %s is stored, encrypted. It "
				       "will not be shown again.",
				       name),
			  STR(""), NULL, NULL, NULL, NULL);
out:
	json_decref(secret);
	crypto_wipe(&key, sizeof key);
	return fail(c, rc);
}

static int h_cred_delete(http_request_t *req, http_response_t *resp,
			 void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	int rc = load(c, &t, AUTH_MANAGE_CREDENTIALS);
	if (rc)
		return rc;
	const char *name = str_dup(c->arena, router_param(c->req, "name"));
	if (!credential_name_ok(name))
		return ERR_NOT_FOUND;
	credential_row_t old;
	if ((rc = db_begin(c->db)) ||
	    (rc = credential_get(c->db, c->arena, t.id, name, &old)) ||
	    (rc = credential_delete(c->db, c->arena, t.id, name)) ||
	    (rc = audit(c, t.id, "credential.delete", "credential", name,
			json_pack("{s:s, s:s}", "name", name, "kind", old.kind),
			NULL)) ||
	    (rc = db_commit(c->db)))
		return fail(c, rc);
	return admin_redirect(c, tenant_path(c, &t, "credentials"));
}

/* ------------------------------------------------------------ audit */

static const db_stmt_t q_audit = {
	"team_audit",
	"SELECT a.id,"
	"       to_char(a.created_at AT TIME ZONE 'UTC',"
	"               'YYYY-MM-DD HH24:MI:SS'),"
	"       coalesce(u.email, a.actor, 'system'), a.action,"
	"       coalesce(a.object_type, ''), coalesce(a.object_id, ''),"
	"       coalesce(a.request_id, ''), a.diff::text, coalesce(t.slug, '')"
	"  FROM audit_log a LEFT JOIN users u ON u.id = a.user_id"
	"  LEFT JOIN tenants t ON t.id = a.tenant_id"
	" WHERE ($1::bigint = 0 OR a.tenant_id = $1::bigint)"
	"   AND ($2 = '' OR t.slug = $2)"
	"   AND ($3::bigint = 0 OR a.id < $3::bigint)"
	" ORDER BY a.id DESC LIMIT $4::int",
	4};

/* One page of the log: tenant_id 0 is every tenant's (slug filters). */
static int audit_page(ctx_t *c, const tenant_t *t, str_t slug)
{
	long limit = ADMIN_TEAM_AUDIT_PAGE, before = 0;
	str_t v = http_query(c->req, "limit");
	if (http_found(v) &&
	    str_to_long(v, 1, ADMIN_TEAM_AUDIT_MAX, &limit) != 0)
		limit = ADMIN_TEAM_AUDIT_PAGE;
	v = http_query(c->req, "before");
	if (http_found(v) && str_to_long(v, 1, LONG_MAX, &before) != 0)
		before = 0;
	const char *p[] = {db_param_ll(c->arena, t ? t->id : 0),
			   str_dup(c->arena, slug),
			   db_param_ll(c->arena, before),
			   db_param_ll(c->arena, limit + 1)};
	PGresult *r;
	int rc = db_exec(c->db, c->arena, &q_audit, p, &r);
	if (rc)
		return rc;
	int n = db_rows(r);
	json_t *rows = json_array();
	const char *last = NULL;
	for (int i = 0; i < n && i < limit; i++) {
		json_t *diff = NULL;
		const char *d = db_value(r, i, 7);
		if (d && *d)
			diff = json_loads(d, 0, NULL);
		json_t *lines = admin_team_diff_rows_new(diff);
		json_decref(diff);
		last = db_value(r, i, 0);
		json_array_append_new(
			rows,
			json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?,"
				  " s:o, s:b}",
				  "id", last, "when", db_value(r, i, 1), "who",
				  db_value(r, i, 2), "action", db_value(r, i, 3),
				  "object_type", db_value(r, i, 4), "object_id",
				  db_value(r, i, 5), "request_id",
				  db_value(r, i, 6), "tenant",
				  *db_value(r, i, 8) ? db_value(r, i, 8) : NULL,
				  "diff", lines, "has_diff",
				  json_array_size(lines) > 0));
	}
	const char *base = t ? tenant_path(c, t, "audit") : "/admin/audit";
	const char *older = NULL;
	if (n > limit && last) {
		char *enc = NULL;
		if (slug.len) {
			/* slugs are [a-z0-9-]: nothing to escape */
			enc = str_dup(c->arena, slug);
		}
		older = arena_printf(c->arena, "%s?before=%s&limit=%ld%s%s",
				     base, last, limit, enc ? "&tenant=" : "",
				     enc ? enc : "");
	}
	return admin_render(
		c, 200, "admin/team_audit",
		json_pack("{s:o?, s:b, s:o, s:b, s:s?, s:s%, s:b}", "tenant",
			  t ? tenant_json(t) : NULL, "all", t == NULL,
			  "entries", rows, "empty", json_array_size(rows) == 0,
			  "older", older, "filter", slug.p, slug.len,
			  "first_page", before == 0));
}

static int h_audit(http_request_t *req, http_response_t *resp, void *app)
{
	(void)req;
	(void)resp;
	ctx_t *c = app;
	tenant_t t;
	/* The log is for those who manage the tenant. */
	int rc = load(c, &t, AUTH_MANAGE_MEMBERS);
	if (rc)
		return rc;
	return audit_page(c, &t, STR(""));
}

static int h_audit_all(http_request_t *req, http_response_t *resp, void *app)
{
	(void)resp;
	ctx_t *c = app;
	if (!c->session.user.is_admin)
		return ERR_NOT_FOUND;
	str_t slug = http_query(req, "tenant");
	slug = str_trim(http_found(slug) ? slug : STR(""));
	if (slug.len && admin_slug_check(slug, NULL) != 0 &&
	    !admin_slug_reserved(slug))
		slug = STR("-"); /* matches nothing */
	return audit_page(c, NULL, slug);
}

/* ------------------------------------------------------------ routes */

#define T "/admin/tenants/{slug}"
static const router_route_t routes[] = {
	{"GET", T "/members", ROUTER_PLATFORM, h_members, "admin.members"},
	{"POST", T "/members/invite", ROUTER_PLATFORM, h_invite_create,
	 "admin.member_invite"},
	{"POST", T "/members/{user}/role", ROUTER_PLATFORM, h_member_role,
	 "admin.member_role"},
	{"POST", T "/members/{user}/remove", ROUTER_PLATFORM, h_member_remove,
	 "admin.member_remove"},
	{"POST", T "/members/invitations/{id}/withdraw", ROUTER_PLATFORM,
	 h_invite_withdraw, "admin.member_invite_withdraw"},
	{"GET", "/admin/invite/{token}", ROUTER_PLATFORM, h_invite_form,
	 "public.invite_form"},
	{"POST", "/admin/invite/{token}", ROUTER_PLATFORM, h_invite,
	 "public.invite"},
	{"GET", T "/keys", ROUTER_PLATFORM, h_keys, "admin.keys"},
	{"POST", T "/keys", ROUTER_PLATFORM, h_key_create, "admin.key_create"},
	{"POST", T "/keys/{id}/revoke", ROUTER_PLATFORM, h_key_revoke,
	 "admin.key_revoke"},
	{"GET", T "/credentials", ROUTER_PLATFORM, h_creds, "admin.credentials"},
	{"POST", T "/credentials", ROUTER_PLATFORM, h_cred_add,
	 "admin.credential_add"},
	{"POST", T "/credentials/{name}/delete", ROUTER_PLATFORM,
	 h_cred_delete, "admin.credential_delete"},
	{"GET", T "/audit", ROUTER_PLATFORM, h_audit, "admin.audit"},
	{"GET", "/admin/audit", ROUTER_PLATFORM, h_audit_all, "admin.audit_all"},
};
#undef T

const router_route_t *admin_team_routes(size_t *n)
{
	*n = sizeof routes / sizeof routes[0];
	return routes;
}
