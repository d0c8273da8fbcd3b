#include "audit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "log.h"
#include "str.h"

#define PATH_MAX_BYTES (64 * 1024)
#define ID_MAX 200

/* Keys whose values never enter the log, compared without case: a caller
 * that hands over a row as it is (a credential, a user) leaks nothing. */
static const char *const secret_keys[] = {
	"password", "passwd", "secret", "token", "sealed", "key_hash",
	"token_hash", "password_hash", "api_key", "apikey", "private_key",
	"authorization", "cookie", NULL,
};
static const char *const secret_suffixes[] = {
	"_secret", "_token", "_password", NULL,
};

static bool is_secret_key(const char *k)
{
	for (int i = 0; secret_keys[i]; i++)
		if (strcasecmp(k, secret_keys[i]) == 0)
			return true;
	size_t n = strlen(k);
	for (int i = 0; secret_suffixes[i]; i++) {
		size_t m = strlen(secret_suffixes[i]);
		if (n > m && strcasecmp(k + n - m, secret_suffixes[i]) == 0)
			return true;
	}
	return false;
}

/* A copy of v with the values under secret keys replaced, at any depth. */
static json_t *redacted_copy(const json_t *v)
{
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
			json_object_set_new(o, k,
					    is_secret_key(k)
						    ? json_string(AUDIT_REDACTED)
						    : redacted_copy(x));
		return o;
	}
	if (json_is_array(v)) {
		json_t *arr = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			json_array_append_new(arr, redacted_copy(x));
		return arr;
	}
	return json_deep_copy(v);
}

/* One changed path: old and/or new (NULL: absent on that side). */
static void add_entry(json_t *diff, const char *path, const json_t *old,
		      const json_t *new, bool secret)
{
	json_t *e = json_object();
	if (old)
		json_object_set_new(e, "old", secret ? json_string(AUDIT_REDACTED)
						     : redacted_copy(old));
	if (new)
		json_object_set_new(e, "new", secret ? json_string(AUDIT_REDACTED)
						     : redacted_copy(new));
	json_object_set_new(diff, path, e);
}

/* Appends "/" and key with ~ and / escaped (RFC 6901). */
static int push_key(buf_t *path, const char *key)
{
	int rc = buf_putc(path, '/');
	for (const char *c = key; rc == 0 && *c; c++) {
		if (*c == '~')
			rc = buf_puts(path, "~0");
		else if (*c == '/')
			rc = buf_puts(path, "~1");
		else
			rc = buf_putc(path, *c);
	}
	return rc;
}

static void pop_to(buf_t *path, size_t len)
{
	path->len = len;
	if (path->data)
		path->data[len] = '\0';
	path->err = 0;
}

/* Compares two objects key by key under path. */
static void walk(json_t *diff, buf_t *path, const json_t *a, const json_t *b)
{
	size_t base = path->len;
	const char *k;
	json_t *va, *vb;
	json_object_foreach((json_t *)a, k, va) {
		vb = json_object_get(b, k);
		if (vb && json_equal(va, vb))
			continue;
		if (push_key(path, k) < 0) {
			/* absurdly deep: record the parent as a whole */
			pop_to(path, base);
			add_entry(diff, buf_cstr(path), a, b, false);
			return;
		}
		bool secret = is_secret_key(k);
		if (!vb)
			add_entry(diff, buf_cstr(path), va, NULL, secret);
		else if (!secret && json_is_object(va) && json_is_object(vb))
			walk(diff, path, va, vb);
		else
			add_entry(diff, buf_cstr(path), va, vb, secret);
		pop_to(path, base);
	}
	json_object_foreach((json_t *)b, k, vb) {
		if (json_object_get(a, k))
			continue;
		if (push_key(path, k) < 0) {
			pop_to(path, base);
			add_entry(diff, buf_cstr(path), a, b, false);
			return;
		}
		add_entry(diff, buf_cstr(path), NULL, vb, is_secret_key(k));
		pop_to(path, base);
	}
}

json_t *audit_diff_new(const json_t *before, const json_t *after)
{
	if (!before && !after)
		return NULL;
	json_t *diff = json_object();
	json_t *empty = json_object();
	const json_t *a = before ? before : (json_is_object(after) ? empty : NULL);
	const json_t *b = after ? after : (json_is_object(before) ? empty : NULL);
	if (json_is_object(a) && json_is_object(b)) {
		buf_t path;
		buf_init(&path, NULL, PATH_MAX_BYTES);
		walk(diff, &path, a, b);
		buf_free(&path);
	} else if (!a || !b || !json_equal(a, b)) {
		add_entry(diff, "", a, b, false);
	}
	json_decref(empty);
	return diff;
}

/* The diff as stored: when too large, only which paths changed. */
static char *diff_text(arena_t *a, json_t *diff)
{
	char *s = json_dumps(diff, JSON_COMPACT);
	if (s && strlen(s) > AUDIT_DIFF_MAX) {
		free(s);
		json_t *slim = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(diff, k, v)
			json_object_set_new(slim, k,
					    json_pack("{s:b}", "changed", 1));
		s = json_dumps(slim, JSON_COMPACT);
		if (s && strlen(s) > AUDIT_DIFF_MAX) {
			free(s);
			json_decref(slim);
			slim = json_pack("{s:{s:b,s:I}}", "", "changed", 1,
					 "paths", (json_int_t)json_object_size(diff));
			s = json_dumps(slim, JSON_COMPACT);
		}
		json_decref(slim);
	}
	if (!s)
		arena_oom(0);
	char *copy = arena_strdup(a, s);
	free(s);
	return copy;
}

static bool name_ok(const char *s, bool dots)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 64 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || (dots && c == '.')))
			return false;
	}
	return true;
}

static const db_stmt_t q_audit_insert = {
	"audit_insert",
	"INSERT INTO audit_log (tenant_id, user_id, actor, action, object_type,"
	" object_id, request_id, diff)"
	" VALUES (NULLIF($1::bigint, 0), NULLIF($2::bigint, 0), $3, $4, $5,"
	" $6, $7, $8::jsonb)",
	8};

int audit_write_entry(db_t *db, arena_t *a, const audit_entry_t *e,
		      const json_t *before, const json_t *after)
{
	if (!db_in_transaction(db)) {
		log_line_t *l = log_begin(LOG_ERROR,
					  "audit_write outside a transaction");
		log_str(l, "action", e->action);
		log_end(l);
		return ERR_INTERNAL;
	}
	if (!name_ok(e->action, true) ||
	    (e->object_type && !name_ok(e->object_type, false)) ||
	    (e->object_id && strlen(e->object_id) > ID_MAX) ||
	    (e->actor && strlen(e->actor) > ID_MAX) || e->tenant_id < 0 ||
	    e->user_id < 0)
		return ERR_INVALID;
	const char *diff = NULL;
	json_t *d = audit_diff_new(before, after);
	if (d) {
		diff = diff_text(a, d);
		json_decref(d);
	}
	const char *req = log_request_id();
	if (req && !*req)
		req = NULL;
	if (req && strlen(req) > ID_MAX)
		req = arena_strndup(a, req, ID_MAX);
	const char *p[] = {arena_printf(a, "%lld", e->tenant_id),
			   arena_printf(a, "%lld", e->user_id),
			   e->actor,
			   e->action,
			   e->object_type,
			   e->object_id,
			   req,
			   diff};
	return db_exec(db, a, &q_audit_insert, p, NULL);
}

int audit_write(db_t *db, arena_t *a, long long tenant_id, long long user_id,
		const char *action, const char *object_type,
		const char *object_id, const json_t *before,
		const json_t *after)
{
	audit_entry_t e = {
		.tenant_id = tenant_id,
		.user_id = user_id,
		.action = action,
		.object_type = object_type,
		.object_id = object_id,
	};
	return audit_write_entry(db, a, &e, before, after);
}
