/* credential against a real PostgreSQL: a tenant made for the run and
 * dropped at the end (its credentials go with it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_db_util.h"
#include "credential.h"
#include "log.h"

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"

static db_t *db;
static arena_t *a;
static long long tenant, other;
static crypto_key_t key, wrong;
static char slug[48], slug2[56];

static long long make_tenant(const char *s)
{
	const char *p[] = {s};
	PGresult *r;
	ck_assert_int_eq(db_query(db, a, "DELETE FROM tenants WHERE slug = $1", 1, p, NULL), 0);
	ck_assert_int_eq(db_query(db, a,
				  "INSERT INTO tenants (slug, name) VALUES ($1, 'Cred test')"
				  " RETURNING id", 1, p, &r), 0);
	return db_value_ll(r, 0, 0);
}

/* Another test program dropping a schema whose tables reference tenants
 * may pick this delete as a deadlock victim: try again. */
static void drop_tenant(const char *s)
{
	const char *p[] = {s};
	int rc = ERR_DB;
	for (int i = 0; i < 3 && rc; i++)
		rc = db_query(db, a, "DELETE FROM tenants WHERE slug = $1", 1, p, NULL);
	ck_assert_msg(rc == 0, "deleting the tenant: %s", db_error(db));
}

static void setup(void)
{
	log_init("check_credential", LOG_ERROR);
	char *url = test_url_with_schema("public");
	db = db_open(url);
	free(url);
	ck_assert(db && db_ok(db));
	a = arena_new(0);
	snprintf(slug, sizeof slug, "cred-%d", (int)getpid());
	snprintf(slug2, sizeof slug2, "%s-b", slug);
	tenant = make_tenant(slug);
	other = make_tenant(slug2);
	ck_assert_int_eq(crypto_key_parse(KEY_A, &key), 0);
	ck_assert_int_eq(crypto_key_parse(KEY_B, &wrong), 0);
}

static void teardown(void)
{
	drop_tenant(slug);
	drop_tenant(slug2);
	arena_free(a);
	db_close(db);
}

static json_t *secret(const char *token)
{
	return json_pack("{s:s}", "accessToken", token);
}

START_TEST(put_seals_and_open_reads_back)
{
	json_t *s = secret("xoxb-1234-secret");
	ck_assert_int_eq(credential_put(db, a, &key, tenant, "slack_main", "slackApi", s), 0);
	json_decref(s);
	credential_row_t row;
	ck_assert_int_eq(credential_get(db, a, tenant, "slack_main", &row), 0);
	ck_assert_str_eq(row.kind, "slackApi");
	ck_assert(strncmp(row.sealed, "v1.", 3) == 0);
	ck_assert_ptr_null(strstr(row.sealed, "xoxb"));
	ck_assert_str_eq(row.external_ids, "{}");
	json_t *plain;
	ck_assert_int_eq(credential_open(a, &key, &row, &plain), 0);
	ck_assert_str_eq(json_string_value(json_object_get(plain, "accessToken")),
			 "xoxb-1234-secret");
	/* another key opens nothing */
	ck_assert_int_eq(credential_open(a, &wrong, &row, &plain), ERR_INVALID);
	ck_assert_ptr_null(plain);
}
END_TEST

START_TEST(external_ids_are_kept_until_the_secret_changes)
{
	json_t *s = secret("one");
	ck_assert_int_eq(credential_put(db, a, &key, tenant, "mail", "smtp", s), 0);
	credential_row_t row;
	ck_assert_int_eq(credential_get(db, a, tenant, "mail", &row), 0);
	ck_assert_ptr_null(credential_external_id(a, &row, "n8n"));
	ck_assert_int_eq(credential_set_external_id(db, a, tenant, "mail", "n8n", "17"), 0);
	ck_assert_int_eq(credential_set_external_id(db, a, tenant, "mail", "builder", "b-9"), 0);
	ck_assert_int_eq(credential_get(db, a, tenant, "mail", &row), 0);
	ck_assert_str_eq(credential_external_id(a, &row, "n8n"), "17");
	ck_assert_str_eq(credential_external_id(a, &row, "builder"), "b-9");
	/* a new secret: the builders' copies are stale, forget them */
	ck_assert_int_eq(credential_put(db, a, &key, tenant, "mail", "smtp", s), 0);
	json_decref(s);
	ck_assert_int_eq(credential_get(db, a, tenant, "mail", &row), 0);
	ck_assert_ptr_null(credential_external_id(a, &row, "n8n"));
	ck_assert_int_eq(credential_set_external_id(db, a, tenant, "nope", "n8n", "1"),
			 ERR_NOT_FOUND);
}
END_TEST

START_TEST(tenants_never_see_each_other)
{
	json_t *s = secret("mine");
	ck_assert_int_eq(credential_put(db, a, &key, tenant, "shared_name", "slackApi", s), 0);
	credential_row_t row;
	ck_assert_int_eq(credential_get(db, a, other, "shared_name", &row), ERR_NOT_FOUND);
	ck_assert_int_eq(credential_delete(db, a, other, "shared_name"), ERR_NOT_FOUND);
	ck_assert_int_eq(credential_set_external_id(db, a, other, "shared_name", "n8n", "1"),
			 ERR_NOT_FOUND);
	/* the same name for the other tenant is its own */
	ck_assert_int_eq(credential_put(db, a, &key, other, "shared_name", "smtp", s), 0);
	json_decref(s);
	ck_assert_int_eq(credential_get(db, a, tenant, "shared_name", &row), 0);
	ck_assert_str_eq(row.kind, "slackApi");
	credential_row_t *rows;
	int n;
	ck_assert_int_eq(credential_list(db, a, tenant, 100, &rows, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(credential_delete(db, a, tenant, "shared_name"), 0);
	ck_assert_int_eq(credential_get(db, a, tenant, "shared_name", &row), ERR_NOT_FOUND);
	ck_assert_int_eq(credential_get(db, a, other, "shared_name", &row), 0);
}
END_TEST

START_TEST(bad_input_is_refused)
{
	json_t *s = secret("x");
	ck_assert_int_eq(credential_put(db, a, &key, tenant, "9bad", "slackApi", s), ERR_INVALID);
	ck_assert_int_eq(credential_put(db, a, &key, tenant, "ok", "slack-api", s), ERR_INVALID);
	ck_assert_int_eq(credential_put(db, a, &key, tenant, "ok", "slackApi", NULL), ERR_INVALID);
	json_t *arr = json_array();
	ck_assert_int_eq(credential_put(db, a, &key, tenant, "ok", "slackApi", arr), ERR_INVALID);
	json_decref(arr);
	json_decref(s);
	char big[CREDENTIAL_SECRET_MAX + 10];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	s = secret(big);
	ck_assert_int_eq(credential_put(db, a, &key, tenant, "big", "slackApi", s), ERR_TOO_LARGE);
	json_decref(s);
	ck_assert(credential_name_ok("slack_main.v2-a"));
	ck_assert(!credential_name_ok(""));
	ck_assert(!credential_name_ok("a b"));
	credential_row_t *rows;
	int n;
	ck_assert_int_eq(credential_list(db, a, tenant, 0, &rows, &n), ERR_INVALID);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("credential");
	TCase *tc = tcase_create("db");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, put_seals_and_open_reads_back);
	tcase_add_test(tc, external_ids_are_kept_until_the_secret_changes);
	tcase_add_test(tc, tenants_never_see_each_other);
	tcase_add_test(tc, bad_input_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_DB_SUITE(make_suite)
