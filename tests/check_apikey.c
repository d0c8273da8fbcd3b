/* lib/apikey against a private copy of the migrations (see
 * check_private_db.h): keys are shown once, stored hashed, bound to one
 * tenant, refused once revoked, and carry the scopes they were made with
 * (keys made before scopes had names keep all of them). */
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "apikey.h"
#include "check_private_db.h"
#include "log.h"

static db_t *db;
static arena_t *a;
static char schema[64];
static long long ta, tb;
static char slug_a[64], slug_b[64];

static PGresult *sql(const char *q, const char *p1)
{
	PGresult *res;
	const char *p[] = {p1};
	int rc = db_query(db, a, q, p1 ? 1 : 0, p1 ? p : NULL, &res);
	ck_assert_msg(rc == 0, "%s: %s", q, db_error(db));
	return res;
}

static long long make_tenant(char *slug, size_t n, const char *tag)
{
	snprintf(slug, n, "key-%d-%s", (int)getpid(), tag);
	return db_value_ll(sql("INSERT INTO tenants (slug, name) VALUES ($1, 'Key"
			       " test') RETURNING id",
			       slug),
			   0, 0);
}

static void setup(void)
{
	log_init("check_apikey", LOG_ERROR);
	snprintf(schema, sizeof schema, "keytest_%d", (int)getpid());
	db = private_db_open(schema, (const char *const[]){
		"0001_core.sql", "0003_workflows.sql", "0005_api_key_scopes.sql",
		NULL});
	a = arena_new(0);
	ta = make_tenant(slug_a, sizeof slug_a, "a");
	tb = make_tenant(slug_b, sizeof slug_b, "b");
}

static void teardown(void)
{
	private_db_close(db, schema);
	arena_free(a);
}

static str_t bearer(const char *key)
{
	return str_c(arena_printf(a, "Bearer %s", key));
}

static const char *id_text(long long id)
{
	return arena_printf(a, "%lld", id);
}

START_TEST(well_formed_keys)
{
	ck_assert(apikey_well_formed(
		STR("cnp_0123456789ab_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234")));
	const char *bad[] = {
		"",
		"cnp_0123456789ab_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_0123",   /* short */
		"cnp_0123456789ab_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_012345", /* long */
		"cnx_0123456789ab_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234",
		"cnp_0123456789AB_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234", /* hex case */
		"cnp_0123456789ab-abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234",
		"cnp_0123456789ab_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ+/01234",
		"cnp_0123456789ab_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_0123=",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!apikey_well_formed(str_c(bad[i])), "accepted %s", bad[i]);
}
END_TEST

START_TEST(create_shows_the_key_once_and_stores_its_hash)
{
	long long id, id2;
	const char *key, *key2;
	ck_assert_int_eq(apikey_create(db, a, ta, "ci", APIKEY_SCOPES_ALL, &id, &key), 0);
	ck_assert_int_eq(apikey_create(db, a, ta, NULL, APIKEY_SCOPES_ALL, &id2, &key2), 0);
	ck_assert_str_ne(key, key2);
	regex_t re;
	ck_assert_int_eq(regcomp(&re, "^cnp_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$",
				 REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, key, 0, NULL, 0) == 0, "%s", key);
	regfree(&re);
	ck_assert(apikey_well_formed(str_c(key)));

	PGresult *r = sql("SELECT name, prefix, key_hash, tenant_id, scopes::text"
			  " FROM api_keys WHERE id = $1", id_text(id));
	ck_assert_str_eq(db_value(r, 0, 0), "ci");
	ck_assert(strncmp(key + 4, db_value(r, 0, 1), 12) == 0);
	ck_assert_int_eq(strlen(db_value(r, 0, 2)), 64);
	ck_assert(strstr(key, db_value(r, 0, 2)) == NULL);
	/* the stored hash is sha256(key), computed independently */
	PGresult *h = sql("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", key);
	ck_assert_str_eq(db_value(r, 0, 2), db_value(h, 0, 0));
	ck_assert_int_eq(db_value_ll(r, 0, 3), ta);
	ck_assert_str_eq(db_value(r, 0, 4), "{workflows:read,workflows:write}");
	/* the plaintext is nowhere in the table */
	ck_assert_int_eq(db_value_ll(sql("SELECT count(*) FROM api_keys k WHERE"
					 " to_jsonb(k)::text LIKE '%' || $1 || '%'",
					 key + 17),
				     0, 0),
			 0);
	r = sql("SELECT name FROM api_keys WHERE id = $1", id_text(id2));
	ck_assert_str_eq(db_value(r, 0, 0), "default");

	ck_assert_int_eq(apikey_create(db, a, ta, "", APIKEY_SCOPES_ALL, &id, &key), ERR_INVALID);
	ck_assert_int_eq(apikey_create(db, a, ta, "bad\nname", APIKEY_SCOPES_ALL, &id, &key), ERR_INVALID);
	ck_assert_int_eq(apikey_create(db, a, 0, "x", APIKEY_SCOPES_ALL, &id, &key), ERR_INVALID);
	ck_assert_int_eq(apikey_create(db, a, 999999999999LL, "x", APIKEY_SCOPES_ALL, &id, &key),
			 ERR_INVALID);
	/* no scope, or one that does not exist */
	ck_assert_int_eq(apikey_create(db, a, ta, "x", 0, &id, &key), ERR_INVALID);
	ck_assert_int_eq(apikey_create(db, a, ta, "x", 0x80u, &id, &key), ERR_INVALID);
	ck_assert_int_eq(apikey_create(db, a, ta, "x",
				       APIKEY_SCOPE_WORKFLOWS_READ | 0x100u, &id, &key),
			 ERR_INVALID);
}
END_TEST

START_TEST(scopes_are_stored_and_given_back)
{
	long long id;
	const char *key;
	apikey_t k;
	ck_assert_int_eq(apikey_create(db, a, ta, "reader", APIKEY_SCOPE_WORKFLOWS_READ,
				       &id, &key), 0);
	ck_assert_str_eq(db_value(sql("SELECT scopes::text FROM api_keys WHERE id = $1",
				      id_text(id)), 0, 0),
			 "{workflows:read}");
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(key), &k), 0);
	ck_assert_uint_eq(k.scopes, APIKEY_SCOPE_WORKFLOWS_READ);
	ck_assert(apikey_allows(&k, APIKEY_SCOPE_WORKFLOWS_READ));
	ck_assert(!apikey_allows(&k, APIKEY_SCOPE_WORKFLOWS_WRITE));
	ck_assert(!apikey_allows(&k, APIKEY_SCOPES_ALL));

	ck_assert_int_eq(apikey_create(db, a, ta, "writer", APIKEY_SCOPE_WORKFLOWS_WRITE,
				       &id, &key), 0);
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(key), &k), 0);
	ck_assert_uint_eq(k.scopes, APIKEY_SCOPE_WORKFLOWS_WRITE);
	ck_assert(!apikey_allows(&k, APIKEY_SCOPE_WORKFLOWS_READ));

	/* the list shows them too */
	apikey_t *rows;
	int n;
	ck_assert_int_eq(apikey_list(db, a, ta, 10, &rows, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(rows[0].scopes, APIKEY_SCOPE_WORKFLOWS_WRITE);
	ck_assert_uint_eq(rows[1].scopes, APIKEY_SCOPE_WORKFLOWS_READ);

	/* the database refuses a name it does not know */
	PGresult *res;
	const char *p[] = {id_text(id)};
	ck_assert_int_ne(db_query(db, a, "UPDATE api_keys SET scopes = '{admin}'"
				  " WHERE id = $1", 1, p, &res), 0);
	/* a key whose scopes were all taken away authenticates, may nothing */
	sql("UPDATE api_keys SET scopes = '{}' WHERE id = $1", id_text(id));
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(key), &k), 0);
	ck_assert_uint_eq(k.scopes, 0);
	ck_assert(!apikey_allows(&k, APIKEY_SCOPE_WORKFLOWS_WRITE));
	ck_assert(apikey_allows(&k, 0));
}
END_TEST

START_TEST(scope_names)
{
	size_t n;
	const apikey_scope_t *all = apikey_scopes(&n);
	ck_assert_uint_eq(n, 2);
	unsigned seen = 0;
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(apikey_scope_parse(str_c(all[i].name)), all[i].bit);
		ck_assert_uint_eq(seen & all[i].bit, 0); /* one bit each */
		seen |= all[i].bit;
		ck_assert(strlen(all[i].what) > 10);
	}
	ck_assert_uint_eq(seen, APIKEY_SCOPES_ALL);
	ck_assert_uint_eq(apikey_scope_parse(STR("workflows:read")),
			  APIKEY_SCOPE_WORKFLOWS_READ);
	ck_assert_uint_eq(apikey_scope_parse(STR("workflows")), 0);
	ck_assert_uint_eq(apikey_scope_parse(STR("Workflows:read")), 0);
	ck_assert_uint_eq(apikey_scope_parse(STR("")), 0);

	unsigned m = 99;
	ck_assert_int_eq(apikey_scopes_parse(STR("workflows:write"), &m), 0);
	ck_assert_uint_eq(m, APIKEY_SCOPE_WORKFLOWS_WRITE);
	ck_assert_int_eq(apikey_scopes_parse(STR(" workflows:write , workflows:read"), &m), 0);
	ck_assert_uint_eq(m, APIKEY_SCOPES_ALL);
	ck_assert_int_eq(apikey_scopes_parse(STR("workflows:read,workflows:read"), &m), 0);
	ck_assert_uint_eq(m, APIKEY_SCOPE_WORKFLOWS_READ);
	ck_assert_int_eq(apikey_scopes_parse(STR(""), &m), ERR_INVALID);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(apikey_scopes_parse(STR("workflows:read,,workflows:write"), &m),
			 ERR_INVALID);
	ck_assert_int_eq(apikey_scopes_parse(STR("workflows:read,admin"), &m), ERR_INVALID);
	ck_assert_int_eq(apikey_scopes_parse(STR("workflows"), &m), ERR_INVALID);

	ck_assert_str_eq(apikey_scopes_text(a, APIKEY_SCOPES_ALL, ","),
			 "workflows:read,workflows:write");
	ck_assert_str_eq(apikey_scopes_text(a, APIKEY_SCOPE_WORKFLOWS_WRITE, ", "),
			 "workflows:write");
	ck_assert_str_eq(apikey_scopes_text(a, 0, ","), "");
	ck_assert_str_eq(apikey_scopes_text(a, 0x80u, ","), "");
}
END_TEST

/* sql/0005 gives keys made with the old single scope "workflows" both
 * new names, so they keep doing what they did. */
START_TEST(old_keys_keep_working_after_the_migration)
{
	char mschema[64];
	snprintf(mschema, sizeof mschema, "keymig_%d", (int)getpid());
	db_t *mdb = private_db_open(mschema, (const char *const[]){
		"0001_core.sql", "0003_workflows.sql", NULL});
	PGresult *res;
	const char *slug = arena_printf(a, "mig-%d", (int)getpid());
	const char *p1[] = {slug};
	ck_assert_int_eq(db_query(mdb, a, "INSERT INTO tenants (slug, name)"
				  " VALUES ($1, 'Old') RETURNING id", 1, p1, &res), 0);
	long long tid = db_value_ll(res, 0, 0);
	/* apikey_create names scopes explicitly; make the rows look old */
	long long old_id, none_id, odd_id;
	const char *old_key, *none_key, *odd_key;
	ck_assert_int_eq(apikey_create(mdb, a, tid, "old", APIKEY_SCOPES_ALL, &old_id,
				       &old_key), 0);
	ck_assert_int_eq(apikey_create(mdb, a, tid, "none", APIKEY_SCOPES_ALL, &none_id,
				       &none_key), 0);
	ck_assert_int_eq(apikey_create(mdb, a, tid, "odd", APIKEY_SCOPES_ALL, &odd_id,
				       &odd_key), 0);
	const char *q = "UPDATE api_keys SET scopes = $2::text[] WHERE id = $1";
	const char *pa[] = {id_text(old_id), "{workflows}"};
	const char *pb[] = {id_text(none_id), "{}"};
	const char *pc[] = {id_text(odd_id), "{billing,workflows:read}"};
	ck_assert_int_eq(db_query(mdb, a, q, 2, pa, NULL), 0);
	ck_assert_int_eq(db_query(mdb, a, q, 2, pb, NULL), 0);
	ck_assert_int_eq(db_query(mdb, a, q, 2, pc, NULL), 0);
	apikey_t k;
	/* before: this build sees no scope it knows in "workflows" */
	ck_assert_int_eq(apikey_authenticate(mdb, a, bearer(old_key), &k), 0);
	ck_assert_uint_eq(k.scopes, 0);

	private_db_apply(mdb, "0005_api_key_scopes.sql");

	ck_assert_int_eq(apikey_authenticate(mdb, a, bearer(old_key), &k), 0);
	ck_assert_uint_eq(k.scopes, APIKEY_SCOPES_ALL);
	ck_assert_int_eq(apikey_authenticate(mdb, a, bearer(none_key), &k), 0);
	ck_assert_uint_eq(k.scopes, 0);
	ck_assert_int_eq(apikey_authenticate(mdb, a, bearer(odd_key), &k), 0);
	ck_assert_uint_eq(k.scopes, APIKEY_SCOPE_WORKFLOWS_READ);
	ck_assert_int_eq(db_query(mdb, a, "SELECT scopes::text FROM api_keys"
				  " ORDER BY id", 0, NULL, &res), 0);
	ck_assert_str_eq(db_value(res, 0, 0), "{workflows:read,workflows:write}");
	ck_assert_str_eq(db_value(res, 1, 0), "{}");
	ck_assert_str_eq(db_value(res, 2, 0), "{workflows:read}");
	/* a row written without scopes gets both (the column's default) */
	const char *pd[] = {id_text(tid)};
	ck_assert_int_eq(db_query(mdb, a, "INSERT INTO api_keys (tenant_id, name,"
				  " prefix, key_hash) VALUES ($1, 'd', 'abcdefabcdef',"
				  " repeat('0', 64)) RETURNING scopes::text", 1, pd,
				  &res), 0);
	ck_assert_str_eq(db_value(res, 0, 0), "{workflows:read,workflows:write}");
	/* and the old name is no longer accepted */
	ck_assert_int_ne(db_query(mdb, a, q, 2, pa, NULL), 0);
	private_db_close(mdb, mschema);
}
END_TEST

START_TEST(authenticate_gives_the_keys_tenant)
{
	long long id;
	const char *key;
	ck_assert_int_eq(apikey_create(db, a, tb, "b", APIKEY_SCOPES_ALL, &id, &key), 0);
	apikey_t k;
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(key), &k), 0);
	ck_assert_int_eq(k.id, id);
	ck_assert_int_eq(k.tenant_id, tb);
	ck_assert_str_eq(k.tenant_slug, slug_b);
	ck_assert_str_eq(k.name, "b");
	/* scheme case-insensitive, spaces tolerated */
	ck_assert_int_eq(apikey_authenticate(db, a,
					     str_c(arena_printf(a, "  bearer   %s ", key)),
					     &k), 0);
	ck_assert_int_eq(k.tenant_id, tb);
}
END_TEST

START_TEST(bad_keys_are_refused)
{
	long long id;
	const char *key;
	ck_assert_int_eq(apikey_create(db, a, ta, "a", APIKEY_SCOPES_ALL, &id, &key), 0);
	apikey_t k;
	ck_assert_int_eq(apikey_authenticate(db, a, STR_NULL, &k), ERR_UNAUTHORIZED);
	ck_assert_int_eq(apikey_authenticate(db, a, STR(""), &k), ERR_UNAUTHORIZED);
	ck_assert_int_eq(apikey_authenticate(db, a, str_c(key), &k),
			 ERR_UNAUTHORIZED); /* no scheme */
	ck_assert_int_eq(apikey_authenticate(db, a,
					     str_c(arena_printf(a, "Basic %s", key)),
					     &k),
			 ERR_UNAUTHORIZED);
	ck_assert_int_eq(apikey_authenticate(db, a, STR("Bearer nope"), &k),
			 ERR_UNAUTHORIZED);
	/* right prefix, wrong secret */
	char *forged = arena_strdup(a, key);
	forged[APIKEY_LEN - 1] = forged[APIKEY_LEN - 1] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(forged), &k),
			 ERR_UNAUTHORIZED);
	ck_assert_int_eq(k.tenant_id, 0);
	/* unknown prefix */
	char *unknown = arena_strdup(a, key);
	memcpy(unknown + 4, "ffffffffffff", 12);
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(unknown), &k),
			 ERR_UNAUTHORIZED);
	/* still fine */
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(key), &k), 0);
}
END_TEST

START_TEST(revoked_keys_and_suspended_tenants)
{
	long long id, idb;
	const char *key, *keyb;
	ck_assert_int_eq(apikey_create(db, a, ta, "a", APIKEY_SCOPES_ALL, &id, &key), 0);
	ck_assert_int_eq(apikey_create(db, a, tb, "b", APIKEY_SCOPES_ALL, &idb, &keyb), 0);
	apikey_t k;
	/* another tenant's key id is not found through a tenant */
	ck_assert_int_eq(apikey_revoke(db, a, tb, id, &k), ERR_NOT_FOUND);
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(key), &k), 0);
	ck_assert_int_eq(apikey_revoke(db, a, ta, id, &k), 0);
	ck_assert_ptr_nonnull(k.revoked_at);
	const char *first = k.revoked_at;
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(key), &k),
			 ERR_UNAUTHORIZED);
	usleep(20000);
	ck_assert_int_eq(apikey_revoke(db, a, 0, id, &k), 0); /* operator, again */
	ck_assert_str_eq(k.revoked_at, first);
	ck_assert_int_eq(apikey_revoke(db, a, 0, 999999999999LL, &k), ERR_NOT_FOUND);
	/* B's key is untouched */
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(keyb), &k), 0);

	/* a suspended tenant's key */
	sql("UPDATE tenants SET status = 'suspended' WHERE id = $1", id_text(tb));
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(keyb), &k),
			 ERR_FORBIDDEN);
}
END_TEST

START_TEST(last_used_moves_at_most_once_a_minute)
{
	long long id;
	const char *key;
	ck_assert_int_eq(apikey_create(db, a, ta, "a", APIKEY_SCOPES_ALL, &id, &key), 0);
	const char *q = "SELECT last_used_at::text FROM api_keys WHERE id = $1";
	ck_assert_ptr_null(db_value(sql(q, id_text(id)), 0, 0));
	apikey_t k;
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(key), &k), 0);
	const char *t1 = db_value(sql(q, id_text(id)), 0, 0);
	ck_assert_ptr_nonnull(t1);
	usleep(20000);
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(key), &k), 0);
	ck_assert_str_eq(db_value(sql(q, id_text(id)), 0, 0), t1);
	sql("UPDATE api_keys SET last_used_at = now() - interval '2 minutes'"
	    " WHERE id = $1", id_text(id));
	const char *old = db_value(sql(q, id_text(id)), 0, 0);
	ck_assert_int_eq(apikey_authenticate(db, a, bearer(key), &k), 0);
	ck_assert_str_ne(db_value(sql(q, id_text(id)), 0, 0), old);
}
END_TEST

START_TEST(list_is_per_tenant_newest_first)
{
	long long id1, id2, idb;
	const char *key;
	ck_assert_int_eq(apikey_create(db, a, ta, "first", APIKEY_SCOPES_ALL, &id1, &key), 0);
	ck_assert_int_eq(apikey_create(db, a, ta, "second", APIKEY_SCOPES_ALL, &id2, &key), 0);
	ck_assert_int_eq(apikey_create(db, a, tb, "other", APIKEY_SCOPES_ALL, &idb, &key), 0);
	ck_assert_int_eq(apikey_revoke(db, a, ta, id1, NULL), 0);
	apikey_t *keys;
	int n;
	ck_assert_int_eq(apikey_list(db, a, ta, 100, &keys, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(keys[0].id, id2);
	ck_assert_str_eq(keys[0].name, "second");
	ck_assert_ptr_null(keys[0].revoked_at);
	ck_assert_int_eq(keys[1].id, id1);
	ck_assert_ptr_nonnull(keys[1].revoked_at);
	ck_assert_int_eq(strlen(keys[1].prefix), APIKEY_PREFIX_LEN);
	ck_assert_int_eq(apikey_list(db, a, tb, 100, &keys, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(keys[0].id, idb);
	ck_assert_int_eq(apikey_list(db, a, ta, 0, &keys, &n), ERR_INVALID);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("apikey");
	TCase *tc = tcase_create("db");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, well_formed_keys);
	tcase_add_test(tc, create_shows_the_key_once_and_stores_its_hash);
	tcase_add_test(tc, scopes_are_stored_and_given_back);
	tcase_add_test(tc, scope_names);
	tcase_add_test(tc, old_keys_keep_working_after_the_migration);
	tcase_add_test(tc, authenticate_gives_the_keys_tenant);
	tcase_add_test(tc, bad_keys_are_refused);
	tcase_add_test(tc, revoked_keys_and_suspended_tenants);
	tcase_add_test(tc, last_used_moves_at_most_once_a_minute);
	tcase_add_test(tc, list_is_per_tenant_newest_first);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_DB_SUITE(make_suite)
