/* audit: the JSON diff without a database; writing entries inside (and
 * refusing outside) a transaction against a real PostgreSQL, in a private
 * schema holding sql/0001_core.sql and sql/0004_accounts.sql, only when
 * DATABASE_URL is set. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "check_private_db.h"
#include "log.h"


static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
	ck_assert_msg(j != NULL, "%s: %s", text, e.text);
	return j;
}

/* Asserts that the diff of before and after (JSON texts, or NULL) equals
 * want (a JSON text). */
static void diff_is(const char *before, const char *after, const char *want)
{
	json_t *b = before ? J(before) : NULL;
	json_t *a = after ? J(after) : NULL;
	json_t *d = audit_diff_new(b, a);
	json_t *w = J(want);
	char *got = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	ck_assert_msg(d && json_equal(d, w), "diff(%s, %s) = %s, want %s", before,
		      after, got ? got : "NULL", want);
	free(got);
	json_decref(b);
	json_decref(a);
	json_decref(d);
	json_decref(w);
}

START_TEST(equal_documents_give_an_empty_diff)
{
	diff_is("{}", "{}", "{}");
	diff_is("{\"a\":1,\"b\":{\"c\":[1,2]}}", "{\"b\":{\"c\":[1,2]},\"a\":1}", "{}");
	diff_is("[1,2]", "[1,2]", "{}");
	ck_assert_ptr_null(audit_diff_new(NULL, NULL));
}
END_TEST

START_TEST(changed_added_and_removed_keys)
{
	diff_is("{\"a\":1,\"b\":\"x\"}", "{\"a\":2,\"b\":\"x\"}",
		"{\"/a\":{\"old\":1,\"new\":2}}");
	diff_is("{\"a\":1}", "{\"a\":1,\"b\":true}", "{\"/b\":{\"new\":true}}");
	diff_is("{\"a\":1,\"b\":null}", "{\"a\":1}", "{\"/b\":{\"old\":null}}");
	/* null is a value, unlike absence */
	diff_is("{\"a\":null}", "{\"a\":0}", "{\"/a\":{\"old\":null,\"new\":0}}");
	/* integer and real differ in type */
	diff_is("{\"n\":1}", "{\"n\":1.5}", "{\"/n\":{\"old\":1,\"new\":1.5}}");
}
END_TEST

START_TEST(nested_objects_are_compared_by_path)
{
	diff_is("{\"hero\":{\"headline\":\"Hi\",\"sub\":\"s\"},\"seo\":{\"t\":1}}",
		"{\"hero\":{\"headline\":\"Hello\",\"sub\":\"s\"},\"seo\":{\"t\":1}}",
		"{\"/hero/headline\":{\"old\":\"Hi\",\"new\":\"Hello\"}}");
	diff_is("{\"a\":{\"b\":{\"c\":1,\"d\":2}}}", "{\"a\":{\"b\":{\"c\":1,\"e\":3}}}",
		"{\"/a/b/d\":{\"old\":2},\"/a/b/e\":{\"new\":3}}");
	/* an object replaced by something else is one entry */
	diff_is("{\"a\":{\"b\":1}}", "{\"a\":\"flat\"}",
		"{\"/a\":{\"old\":{\"b\":1},\"new\":\"flat\"}}");
}
END_TEST

START_TEST(arrays_are_compared_whole)
{
	diff_is("{\"features\":[{\"t\":\"a\"},{\"t\":\"b\"}]}",
		"{\"features\":[{\"t\":\"b\"},{\"t\":\"a\"}]}",
		"{\"/features\":{\"old\":[{\"t\":\"a\"},{\"t\":\"b\"}],"
		"\"new\":[{\"t\":\"b\"},{\"t\":\"a\"}]}}");
}
END_TEST

START_TEST(creation_deletion_and_non_objects)
{
	diff_is(NULL, "{\"name\":\"Acme\",\"slug\":\"acme\"}",
		"{\"/name\":{\"new\":\"Acme\"},\"/slug\":{\"new\":\"acme\"}}");
	diff_is("{\"role\":\"owner\"}", NULL, "{\"/role\":{\"old\":\"owner\"}}");
	diff_is("\"x\"", "\"y\"", "{\"\":{\"old\":\"x\",\"new\":\"y\"}}");
	diff_is(NULL, "[1]", "{\"\":{\"new\":[1]}}");
	diff_is("{\"a\":1}", "[1]", "{\"\":{\"old\":{\"a\":1},\"new\":[1]}}");
}
END_TEST

START_TEST(keys_are_escaped_as_json_pointers)
{
	diff_is("{\"a/b\":1,\"m~n\":{\"x\":1}}", "{\"a/b\":2,\"m~n\":{\"x\":2}}",
		"{\"/a~1b\":{\"old\":1,\"new\":2},\"/m~0n/x\":{\"old\":1,\"new\":2}}");
	diff_is("{\"\":1}", "{\"\":2}", "{\"/\":{\"old\":1,\"new\":2}}");
}
END_TEST

START_TEST(secrets_are_redacted)
{
	diff_is("{\"password\":\"old-secret\"}", "{\"password\":\"new-secret\"}",
		"{\"/password\":{\"old\":\"[redacted]\",\"new\":\"[redacted]\"}}");
	/* nested in a whole value */
	json_t *after = J("{\"cred\":{\"name\":\"slack\",\"Secret\":\"s3cr3t\","
			  "\"list\":[{\"api_key\":\"k3y\"}]},"
			  "\"graph_hash\":\"abc\",\"client_secret\":\"cs\"}");
	json_t *d = audit_diff_new(NULL, after);
	char *text = json_dumps(d, JSON_COMPACT);
	ck_assert_ptr_null(strstr(text, "s3cr3t"));
	ck_assert_ptr_null(strstr(text, "k3y"));
	ck_assert_ptr_null(strstr(text, "\"cs\""));
	ck_assert_ptr_nonnull(strstr(text, "slack"));
	ck_assert_ptr_nonnull(strstr(text, "abc")); /* not a secret */
	free(text);
	json_decref(d);
	json_decref(after);
	/* a secret object changed inside is one redacted entry */
	diff_is("{\"token\":{\"v\":1}}", "{\"token\":{\"v\":2}}",
		"{\"/token\":{\"old\":\"[redacted]\",\"new\":\"[redacted]\"}}");
	/* unchanged secrets do not appear at all */
	diff_is("{\"token\":\"t\",\"a\":1}", "{\"token\":\"t\",\"a\":2}",
		"{\"/a\":{\"old\":1,\"new\":2}}");
	diff_is("{\"a\":1}", "{\"a\":1,\"sealed\":\"v1.x\"}",
		"{\"/sealed\":{\"new\":\"[redacted]\"}}");
}
END_TEST

/* --------------------------------------------------- with database */

static db_t *db;
static arena_t *arena;
static char schema[64];

static PGresult *q(const char *sql)
{
	PGresult *r;
	int rc = db_query(db, arena, sql, 0, NULL, &r);
	ck_assert_msg(rc == 0, "%s: %s", sql, db_error(db));
	return r;
}

static void db_setup(void)
{
	log_init("check_audit", LOG_ERROR);
	snprintf(schema, sizeof schema, "audittest_%d", (int)getpid());
	db = private_db_open(schema, (const char *[]){"0001_core.sql",
						  "0004_accounts.sql", NULL});
	arena = arena_new(0);
}

static void db_teardown(void)
{
	arena_free(arena);
	private_db_close(db, schema);
}

START_TEST(entries_are_written_only_inside_a_transaction)
{
	json_t *before = J("{\"hero\":{\"headline\":\"Hi\"},\"password\":\"p1\"}");
	json_t *after = J("{\"hero\":{\"headline\":\"Hello\"},\"password\":\"p2\"}");
	ck_assert_int_eq(audit_write(db, arena, 7, 3, "page.update", "page", "42",
				     before, after),
			 ERR_INTERNAL);
	ck_assert_int_eq(db_value_ll(q("SELECT count(*) FROM audit_log"), 0, 0), 0);

	log_set_request_id("req-123");
	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(audit_write(db, arena, 7, 3, "page.update", "page", "42",
				     before, after),
			 0);
	ck_assert_int_eq(db_commit(db), 0);
	PGresult *r = q("SELECT tenant_id, user_id, actor, action, object_type,"
			" object_id, request_id,"
			" diff #>> '{/hero/headline,new}', diff::text"
			" FROM audit_log");
	ck_assert_int_eq(db_rows(r), 1);
	ck_assert_str_eq(db_value(r, 0, 0), "7");
	ck_assert_str_eq(db_value(r, 0, 1), "3");
	ck_assert_ptr_null(db_value(r, 0, 2));
	ck_assert_str_eq(db_value(r, 0, 3), "page.update");
	ck_assert_str_eq(db_value(r, 0, 4), "page");
	ck_assert_str_eq(db_value(r, 0, 5), "42");
	ck_assert_str_eq(db_value(r, 0, 6), "req-123");
	ck_assert_str_eq(db_value(r, 0, 7), "Hello");
	ck_assert_ptr_null(strstr(db_value(r, 0, 8), "p1"));
	ck_assert_ptr_null(strstr(db_value(r, 0, 8), "p2"));

	/* rolled back with the change it describes */
	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(audit_write(db, arena, 7, 3, "page.publish", "page", "42",
				     NULL, NULL),
			 0);
	db_rollback(db);
	ck_assert_int_eq(db_value_ll(q("SELECT count(*) FROM audit_log"), 0, 0), 1);
	log_set_request_id(NULL);
	json_decref(before);
	json_decref(after);
}
END_TEST

START_TEST(platform_actions_and_actors)
{
	ck_assert_int_eq(db_begin(db), 0);
	audit_entry_t e = {.actor = "cli", .action = "tenant.create",
			   .object_type = "tenant", .object_id = "9"};
	json_t *after = J("{\"slug\":\"acme\"}");
	ck_assert_int_eq(audit_write_entry(db, arena, &e, NULL, after), 0);
	ck_assert_int_eq(audit_write(db, arena, 0, 0, "session.login", NULL, NULL,
				     NULL, NULL),
			 0);
	ck_assert_int_eq(db_commit(db), 0);
	json_decref(after);
	PGresult *r = q("SELECT tenant_id IS NULL, user_id IS NULL, actor,"
			" diff IS NULL, request_id IS NULL FROM audit_log ORDER BY id");
	ck_assert_int_eq(db_rows(r), 2);
	ck_assert_str_eq(db_value(r, 0, 0), "t");
	ck_assert_str_eq(db_value(r, 0, 1), "t");
	ck_assert_str_eq(db_value(r, 0, 2), "cli");
	ck_assert_str_eq(db_value(r, 0, 3), "f");
	ck_assert_str_eq(db_value(r, 1, 3), "t"); /* no documents, no diff */
	ck_assert_str_eq(db_value(r, 1, 4), "t");
}
END_TEST

START_TEST(malformed_entries_are_refused)
{
	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(audit_write(db, arena, 1, 1, "Page.Update", NULL, NULL, NULL, NULL),
			 ERR_INVALID);
	ck_assert_int_eq(audit_write(db, arena, 1, 1, "", NULL, NULL, NULL, NULL),
			 ERR_INVALID);
	ck_assert_int_eq(audit_write(db, arena, 1, 1, NULL, NULL, NULL, NULL, NULL),
			 ERR_INVALID);
	ck_assert_int_eq(audit_write(db, arena, 1, 1, "page.update", "pa ge", NULL,
				     NULL, NULL),
			 ERR_INVALID);
	char id[300];
	memset(id, '1', sizeof id - 1);
	id[sizeof id - 1] = '\0';
	ck_assert_int_eq(audit_write(db, arena, 1, 1, "page.update", "page", id, NULL,
				     NULL),
			 ERR_INVALID);
	ck_assert_int_eq(audit_write(db, arena, -1, 1, "page.update", "page", "1", NULL,
				     NULL),
			 ERR_INVALID);
	db_rollback(db);
}
END_TEST

START_TEST(huge_diffs_keep_only_the_paths)
{
	size_t n = AUDIT_DIFF_MAX + 1000;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	json_t *before = json_pack("{s:s,s:i}", "body", "small", "n", 1);
	json_t *after = json_pack("{s:s,s:i}", "body", big, "n", 2);
	free(big);
	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(audit_write(db, arena, 1, 1, "page.update", "page", "1",
				     before, after),
			 0);
	ck_assert_int_eq(db_commit(db), 0);
	json_decref(before);
	json_decref(after);
	PGresult *r = q("SELECT diff::text, length(diff::text) FROM audit_log");
	ck_assert_int_eq(db_rows(r), 1);
	ck_assert_int_lt(db_value_ll(r, 0, 1), 200);
	json_t *d = J(db_value(r, 0, 0));
	json_t *w = J("{\"/body\":{\"changed\":true},\"/n\":{\"changed\":true}}");
	ck_assert(json_equal(d, w));
	json_decref(d);
	json_decref(w);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("diff");
	tcase_add_test(tc, equal_documents_give_an_empty_diff);
	tcase_add_test(tc, changed_added_and_removed_keys);
	tcase_add_test(tc, nested_objects_are_compared_by_path);
	tcase_add_test(tc, arrays_are_compared_whole);
	tcase_add_test(tc, creation_deletion_and_non_objects);
	tcase_add_test(tc, keys_are_escaped_as_json_pointers);
	tcase_add_test(tc, secrets_are_redacted);
	suite_add_tcase(s, tc);

	TCase *td = db_tcase(s, db_setup, db_teardown, 30);
	if (!td)
		return s;
	tcase_add_test(td, entries_are_written_only_inside_a_transaction);
	tcase_add_test(td, platform_actions_and_actors);
	tcase_add_test(td, malformed_entries_are_refused);
	tcase_add_test(td, huge_diffs_keep_only_the_paths);
	return s;
}

CK_RUN_SUITE(make_suite)
